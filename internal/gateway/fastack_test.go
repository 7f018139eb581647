package gateway

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/heraldpush/herald"
)

var ackSeeds = []string{
	`{"type":"ack","acks":[{"token":"tok","seq":3}]}`,
	`{"type":"ack","acks":[{"token":"a","tseq":9},{"token":"b","seq":1,"tseq":2}]}`,
	` { "acks" : [ { "tseq" : 4 , "token" : "t" } ] , "type" : "ack" } `,
	`{"type":"ack","acks":[]}`,
	`{"type":"ack","acks":null}`,
	`{"type":"ack","acks":[{"token":"t","seq":0}]}`,
	`{"type":"ack","acks":[{"token":"t","seq":1,"seq":2}]}`,
	`{"type":"ack","acks":[{"token":"t","SEQ":1}]}`,
	`{"type":"ack","acks":[{"token":"t\u0041","seq":1}]}`,
	`{"type":"ack","acks":[{"token":"t","seq":1}],"extra":1}`,
	`{"type":"ping"}`,
	`{"type":"ack","acks":[{"token":"t","seq":-1}]}`,
	`{"type":"ack","acks":[{"token":"t","seq":1}]} {}`,
}

// FuzzDecodeAckFast checks the fast path against herald.DecodeFrame:
// whatever it accepts, DecodeFrame decodes to the same frame, and
// decodeFrame answers exactly as DecodeFrame does.
func FuzzDecodeAckFast(f *testing.F) {
	for _, s := range ackSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gotErr := decodeFrame(b)
		want, wantErr := herald.DecodeFrame(b)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: decodeFrame error %v, DecodeFrame error %v", b, gotErr, wantErr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%q decodes differently (-DecodeFrame +decodeFrame):\n%s", b, diff)
		}
		fast, ok := decodeAckFast(b)
		if !ok {
			return
		}
		plain, err := herald.DecodeFrame(b)
		if err != nil && fast.Validate() == nil {
			t.Fatalf("%q: fast path accepted a frame DecodeFrame refuses: %v", b, err)
		}
		if err == nil {
			if diff := cmp.Diff(plain, fast); diff != "" {
				t.Fatalf("%q: fast path decodes differently (-DecodeFrame +fast):\n%s", b, diff)
			}
		}
	})
}

// The acks the SDK writes take the fast path.
func TestDecodeAckFast(t *testing.T) {
	wantFast := map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true, 5: true}
	for i, s := range ackSeeds {
		if _, ok := decodeAckFast([]byte(s)); ok != wantFast[i] {
			t.Errorf("seed %d: fast path ok = %v, want %v: %s", i, ok, wantFast[i], s)
		}
	}
	f, err := decodeFrame([]byte(ackSeeds[1]))
	if err != nil {
		t.Fatal(err)
	}
	want := herald.Frame{Type: herald.FrameAck, Acks: []herald.Ack{{Token: "a", TopicSeq: 9}, {Token: "b", Seq: 1, TopicSeq: 2}}}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("frame (-want +got):\n%s", diff)
	}
	if _, err := decodeFrame([]byte(ackSeeds[5])); err == nil {
		t.Error("an ack of seq 0 without tseq was accepted") // as DecodeFrame refuses it
	}
}
