package client

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/heraldpush/herald"
)

// Frames as Herald servers write them (internal/dispatch/frames.go), and
// variations the fast path must decode or leave to encoding/json.
var fastFrameSeeds = []string{
	`{"type":"messages","messages":[{"id":"m1","seq":1,"token":"tok","from":"p","sent_at_ms":1700000000000,"ttl_s":2419200,"priority":"high","data":{"n":"1","t":"17"}}]}`,
	`{"type":"messages","messages":[{"id":"m2","tseq":7,"token":"tok","from":"p","topic":"news","sent_at_ms":1,"ttl_s":0,"collapse_key":"k","priority":"normal","notification":{"title":"Hi","body":"there"}},{"id":"m3","tseq":8,"token":"tok","from":"p","condition":"'a' in topics","sent_at_ms":2,"ttl_s":60,"priority":"normal","data":{}}]}`,
	`{"type":"messages","messages":[{"id":"m4","seq":3,"token":"tok","from":"p","sent_at_ms":5,"ttl_s":5,"priority":"high","webpush":{"endpoint_id":"e","body":"AAAA"}}]}`,
	" { \"messages\" : [ { \"priority\":\"high\" , \"ttl_s\":-1,\"id\":\"x\",\"seq\":9,\"token\":\"t\",\"from\":\"p\",\"sent_at_ms\":0 } ] , \"type\" : \"messages\" } \n",
	`{"type":"messages","messages":[{"id":"é","seq":1,"token":"t","from":"p","sent_at_ms":0,"ttl_s":0,"priority":"high","data":{"k":"ünï ✓"}}]}`,
	`{"type":"messages","messages":[{"id":"a\"b","seq":1,"token":"t","from":"p","sent_at_ms":0,"ttl_s":0,"priority":"high"}]}`,
	`{"type":"messages","messages":[{"id":"a","ID":"b","seq":1,"token":"t","from":"p","sent_at_ms":0,"ttl_s":0,"priority":"high"}]}`,
	`{"type":"messages","messages":[{"id":"a","seq":1.5,"token":"t","from":"p","sent_at_ms":0,"ttl_s":0,"priority":"high"}]}`,
	`{"type":"messages","messages":[{"id":"a","seq":01,"token":"t","from":"p","sent_at_ms":0,"ttl_s":0,"priority":"high"}]}`,
	`{"type":"messages","messages":[{"id":"a","seq":1,"seq":2,"token":"t","from":"p","sent_at_ms":0,"ttl_s":0,"priority":"high"}]}`,
	`{"type":"messages","messages":[{"id":"a","seq":1,"token":"t","from":"p","sent_at_ms":0,"ttl_s":0,"priority":"high","data":{"k":"1","k":"2"}}]}`,
	`{"type":"messages","messages":null}`,
	`{"type":"messages","messages":[]}`,
	`{"type":"pong"}`,
	`{"type":"messages","messages":[{"id":"a","seq":18446744073709551616,"token":"t","from":"p","sent_at_ms":0,"ttl_s":0,"priority":"high"}]}`,
	`{"type":"messages","messages":[{"id":"a","seq":1,"token":"t","from":"p","sent_at_ms":0,"ttl_s":0,"priority":"high","notification":{"title":"a}b\"{","body":"[x"}}]}`,
	`{"type":"messages","messages":[{"id":"a","seq":1}]}x`,
}

// FuzzFastMessagesFrame checks the fast decoder against encoding/json:
// whatever it accepts, json.Unmarshal decodes to the same frame, whether
// the decoder is fresh or has decoded other frames before (it reuses its
// message array and interned strings).
func FuzzFastMessagesFrame(f *testing.F) {
	for _, s := range fastFrameSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var slow herald.Frame
		slowErr := json.Unmarshal(b, &slow)
		var d frameDecoder
		d.messagesFast([]byte(fastFrameSeeds[1])) // a used decoder
		for range 2 {                             // then one that saw b
			fast, ok := d.messagesFast(b)
			if !ok {
				return
			}
			if slowErr != nil {
				t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", b, slowErr)
			}
			if diff := cmp.Diff(slow, fast); diff != "" {
				t.Fatalf("fast path decodes %q differently (-json +fast):\n%s", b, diff)
			}
		}
	})
}

// The frames Herald servers write take the fast path; the others fall
// back to encoding/json, which decodes them all the same.
func TestFastMessagesFrame(t *testing.T) {
	wantFast := map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true, 11: true, 12: true, 15: true}
	for i, s := range fastFrameSeeds {
		_, ok := new(frameDecoder).messagesFast([]byte(s))
		if ok != wantFast[i] {
			t.Errorf("seed %d: fast path ok = %v, want %v: %s", i, ok, wantFast[i], s)
		}
	}
	f, known, err := new(frameDecoder).serverFrame([]byte(fastFrameSeeds[1]))
	if err != nil || !known {
		t.Fatalf("decodeServerFrame = %v, %v", known, err)
	}
	want := []herald.Message{
		{ID: "m2", TopicSeq: 7, Token: "tok", From: "p", Topic: "news", SentAtMillis: 1, CollapseKey: "k",
			Priority: herald.PriorityNormal, Notification: &herald.Notification{Title: "Hi", Body: "there"}},
		{ID: "m3", TopicSeq: 8, Token: "tok", From: "p", Condition: "'a' in topics", SentAtMillis: 2, TTLSeconds: 60,
			Priority: herald.PriorityNormal, Data: map[string]string{}},
	}
	if diff := cmp.Diff(want, f.Messages); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	// A frame that breaks the protocol's rules is refused either way.
	if _, _, err := new(frameDecoder).serverFrame([]byte(`{"type":"messages","messages":[{"id":"","seq":1,"token":"t","from":"p","sent_at_ms":0,"ttl_s":0,"priority":"high"}]}`)); err == nil {
		t.Error("a message without an id was accepted")
	}
}

// BenchmarkDecodeMessagesFrame compares the fast path, with a decoder
// used frame after frame as a connection's is, with encoding/json on a
// frame of ten topic messages as the server batches them.
func BenchmarkDecodeMessagesFrame(b *testing.B) {
	msg := `{"id":"5f1c2a9b3d4e000000a1b2","tseq":%d,"token":"tok-0123456789abcdef0123456789abcdef0123456789abcdef","from":"bench-1234","topic":"bench-5678","sent_at_ms":1764000000000,"ttl_s":2419200,"priority":"high","data":{"n":"12","t":"1764000000000000000","pad":"0123456789012345678901234567890123456789012345678901234567890123456789"}}`
	frame := `{"type":"messages","messages":[`
	for i := range 10 {
		if i > 0 {
			frame += ","
		}
		frame += fmt.Sprintf(msg, i+1)
	}
	frame += "]}"
	b.Run("fast", func(b *testing.B) {
		var d frameDecoder
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := d.messagesFast([]byte(frame)); !ok {
				b.Fatal("not fast")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var f herald.Frame
			if err := json.Unmarshal([]byte(frame), &f); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzAckFrame checks the hand-written ack frame against encoding/json:
// the same bytes for up to three acks of any tokens and positions.
func FuzzAckFrame(f *testing.F) {
	f.Add(uint8(1), "tok-3-app-1", uint64(7), uint64(0), "", uint64(0), uint64(0))
	f.Add(uint8(2), "tok-1", uint64(0), uint64(18446744073709551615), "tok-2", uint64(3), uint64(4))
	f.Add(uint8(3), "a\"b\\c<d>&e", uint64(1), uint64(1), "ünï\u2028\u2029\x00\x1f\x7f\xff", uint64(9), uint64(0))
	f.Add(uint8(0), "", uint64(0), uint64(0), "", uint64(0), uint64(0))
	f.Fuzz(func(t *testing.T, n uint8, tok1 string, seq1, tseq1 uint64, tok2 string, seq2, tseq2 uint64) {
		all := []herald.Ack{{Token: tok1, Seq: seq1, TopicSeq: tseq1}, {Token: tok2, Seq: seq2, TopicSeq: tseq2}, {Token: tok1 + tok2, Seq: seq2, TopicSeq: tseq1}}
		acks := all[:int(n)%(len(all)+1)]
		want, err := json.Marshal(herald.Frame{Type: herald.FrameAck, Acks: acks})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendAckFrame([]byte("x"), acks); string(got) != "x"+string(want) {
			t.Fatalf("ack frame of %+v:\n got %s\nwant x%s", acks, got, want)
		}
	})
}
