package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/heraldpush/herald"
)

// scanned is a scanned frame in comparable form: what a wire device reads.
type scanned struct {
	Type string
	Msgs []scannedMsg
}

type scannedMsg struct {
	Seq, Tseq    uint64
	Token, Topic string
	N, T         *string // nil: absent from data
}

func scanView(f *wireFrame) scanned {
	v := scanned{Type: string(f.typ)}
	for _, m := range f.msgs {
		sm := scannedMsg{Seq: m.seq, Tseq: m.tseq, Token: string(m.token), Topic: string(m.topic)}
		if m.hasN {
			sm.N = new(string(m.n))
		}
		if m.hasT {
			sm.T = new(string(m.t))
		}
		v.Msgs = append(v.Msgs, sm)
	}
	return v
}

// jsonView is the same view of a frame decoded by encoding/json.
func jsonView(f herald.Frame) scanned {
	v := scanned{Type: string(f.Type)}
	for _, m := range f.Messages {
		sm := scannedMsg{Seq: m.Seq, Tseq: m.TopicSeq, Token: m.Token, Topic: m.Topic}
		if n, ok := m.Data[dataNumber]; ok {
			sm.N = new(n)
		}
		if t, ok := m.Data[dataSentAt]; ok {
			sm.T = new(t)
		}
		v.Msgs = append(v.Msgs, sm)
	}
	return v
}

func TestWireFrameScan(t *testing.T) {
	tests := []struct {
		name, frame string
		want        scanned
	}{{
		name: "several messages in one frame, as the server writes them",
		frame: `{"type":"messages","messages":[` +
			`{"id":"a1","tseq":41,"token":"tok","from":"p","topic":"news","sent_at_ms":1,"ttl_s":60,"priority":"high","data":{"n":"0","pad":"xx","t":"1700000000000000000"}},` +
			`{"id":"a2","tseq":42,"token":"tok","from":"p","topic":"news","sent_at_ms":2,"ttl_s":60,"priority":"high","data":{"t":"1700000000000000001","n":"1"},"notification":{"title":"T","body":"{\"n\":\"9\"}"}},` +
			`{"id":"a3","seq":7,"token":"tok","from":"p","sent_at_ms":3,"ttl_s":60,"priority":"normal","data":{"n":"2","t":"5"}}]}`,
		want: scanned{Type: "messages", Msgs: []scannedMsg{
			{Tseq: 41, Token: "tok", Topic: "news", N: new("0"), T: new("1700000000000000000")},
			{Tseq: 42, Token: "tok", Topic: "news", N: new("1"), T: new("1700000000000000001")},
			{Seq: 7, Token: "tok", N: new("2"), T: new("5")},
		}},
	}, {
		name: "escaped strings, in keys and values",
		frame: `{"type":"mess\u0061ges","messages":[{"\u0074seq":3,"token":"t\"o\\k\/\u00e9\ud83d\ude00",` +
			`"topic":"a\u0062c","data":{"\u006e":"\u0031\u0037","t":"12\u0033","x\"y":"\\"}}]}`,
		want: scanned{Type: "messages", Msgs: []scannedMsg{
			{Tseq: 3, Token: "t\"o\\k/é😀", Topic: "abc", N: new("17"), T: new("123")},
		}},
	}, {
		name:  "a message without data",
		frame: `{"type":"messages","messages":[{"id":"a","tseq":9,"token":"tok","topic":"news","notification":{"title":"hi"}}]}`,
		want:  scanned{Type: "messages", Msgs: []scannedMsg{{Tseq: 9, Token: "tok", Topic: "news"}}},
	}, {
		name:  "whitespace, keys in other cases, nulls, unknown members",
		frame: " {\n\"TYPE\" : \"messages\" ,\"future\":[1,{\"a\":[true,false,null,-1.5e3]}],\"Messages\":[ null ,{\"SEQ\":1,\"token\":null,\"data\":null}] } \t",
		want:  scanned{Type: "messages", Msgs: []scannedMsg{{}, {Seq: 1}}},
	}, {
		name:  "a pong",
		frame: `{"type":"pong"}`,
		want:  scanned{Type: "pong"},
	}, {
		name:  "null",
		frame: `null`,
		want:  scanned{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f wireFrame
			if err := f.scan([]byte(tt.frame)); err != nil {
				t.Fatalf("scan: %v", err)
			}
			if diff := cmp.Diff(tt.want, scanView(&f)); diff != "" {
				t.Errorf("scan (-want +got):\n%s", diff)
			}
			var jf herald.Frame
			if err := json.Unmarshal([]byte(tt.frame), &jf); err != nil {
				t.Fatalf("encoding/json: %v", err)
			}
			if diff := cmp.Diff(jsonView(jf), scanView(&f)); diff != "" {
				t.Errorf("scan differs from encoding/json (-json +scan):\n%s", diff)
			}
		})
	}
}

func TestWireFrameScanRefuses(t *testing.T) {
	for _, frame := range []string{
		``, `{`, `{"type":"messages"`, `{"type":"messages",}`, `{"type":"messages"} x`,
		`{"type":"messages","messages":[{"tseq":-1}]}`, `{"type":"messages","messages":[{"tseq":1.5}]}`,
		`{"type":"messages","messages":[{"tseq":18446744073709551616}]}`,
		`{"type":"messages","messages":[{"token":"a` + "\n" + `"}]}`,
		`{"type":"messages","messages":[{"token":"\x"}]}`, `{"type":"messages","messages":[{"token":"\u12"}]}`,
		`{"type":"messages","messages":[{"data":{"n":1}}]}`, `{"x":[1,]}`, `{"x":tru}`, `{"x":01}`,
		`{"x":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`,
	} {
		var f wireFrame
		if err := f.scan([]byte(frame)); err == nil {
			t.Errorf("scan(%q) accepted it", frame)
		}
	}
	var f wireFrame
	if err := f.scan([]byte(`{"messages":[],"messages":[]}`)); !errors.Is(err, errRepeated) {
		t.Errorf("repeated messages: %v, want errRepeated", err)
	}
}

// FuzzWireFrame checks that the scanner never panics, refuses what is not
// JSON, and reads every frame encoding/json decodes exactly as it does
// (a repeated messages member excepted: errRepeated).
func FuzzWireFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"messages","messages":[{"id":"a","tseq":41,"token":"tok","from":"p","topic":"news","sent_at_ms":1,"ttl_s":60,"priority":"high","data":{"n":"0","t":"17","pad":"x"}},{"id":"b","seq":2,"token":"tok","data":{"n":"1"}}]}`,
		`{"type":"messages","messages":[{"\u0074seq":3,"token":"t\"o\\k\ud83d\ude00","data":{"\u006e":"\u0031"}}]}`,
		`{"type":"pong"}`, `{"type":"welcome","welcome":{"session_id":"s","ping_interval_ms":30000}}`,
		`{"Messages":[null,{"SEQ":1,"data":null,"Data":{"t":null}}]}`, `null`, `{}`, `[]`, `{"x":[{"y":-0.5e+3}]}`,
		"{\"type\":\"\xff\xfe\",\"messages\":[{\"token\":\"\xed\xa0\x80\"}]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var wf wireFrame
		err := wf.scan(b)
		var jf herald.Frame
		jerr := json.Unmarshal(b, &jf)
		var syn *json.SyntaxError
		switch {
		case errors.As(jerr, &syn):
			if err == nil {
				t.Fatalf("scan accepted %q, which is not JSON (%v)", b, jerr)
			}
		case jerr != nil:
			// JSON, but not a frame encoding/json can decode (a member of
			// another type); the scanner may not read that member.
		case errors.Is(err, errRepeated):
		case err != nil:
			t.Fatalf("scan refused %q (%v), encoding/json decodes it", b, err)
		default:
			if diff := cmp.Diff(jsonView(jf), scanView(&wf)); diff != "" {
				t.Fatalf("scan of %q differs from encoding/json (-json +scan):\n%s", b, diff)
			}
		}
	})
}

// BenchmarkWireFrameScan scans a frame of 20 topic messages as the server
// writes them.
func BenchmarkWireFrameScan(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"type":"messages","messages":[`)
	for i := range 20 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":"9f2c01a4b7e3%010d","tseq":%d,"token":"dGhpcyBpcyBhIHRva2VuIG9mIGEgZGV2aWNl","from":"bench-1234abcd","topic":"bench-abcd1234",`+
			`"sent_at_ms":1767225600000,"ttl_s":2419200,"priority":"high","data":{"n":"%d","pad":"%s","t":"1767225600000000000"}}`, i, 1000+i, i, pad)
	}
	sb.WriteString(`]}`)
	frame := []byte(sb.String())
	var f wireFrame
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if err := f.scan(frame); err != nil || len(f.msgs) != 20 {
			b.Fatal(err)
		}
	}
}
