package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/heraldpush/herald"
)

// A Web Push message prints with its plaintext (as text, or base64 when it
// is not UTF-8) and without the ciphertext, in both output formats.
func TestListenPrintsWebPush(t *testing.T) {
	wp := herald.Message{ID: "m1", Seq: 3, Token: "tok", From: "demo", Priority: herald.PriorityNormal,
		WebPush: &herald.WebPush{EndpointID: "ep", Body: "CIPHERTEXT"}}
	text, binary := wp, wp
	text.Raw = []byte(`{"k":"v"} ✓`)
	binary.Raw = []byte{0xff, 0x00, 0x01}

	var out bytes.Buffer
	p := &listenPrinter{out: &out}
	p.message(text)
	p.message(binary)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || strings.Contains(out.String(), "CIPHERTEXT") {
		t.Fatalf("printed:\n%s", out.String())
	}
	var got []map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		got = append(got, m)
	}
	if got[0]["text"] != `{"k":"v"} ✓` || got[0]["token"] != "tok" || got[0]["webpush"].(map[string]any)["endpoint_id"] != "ep" {
		t.Errorf("text message printed %v", got[0])
	}
	if got[1]["text_base64"] != "/wAB" || got[1]["text"] != nil {
		t.Errorf("binary message printed %v", got[1])
	}

	out.Reset()
	p.pretty = true
	p.message(text)
	if s := out.String(); !strings.Contains(s, "web push message 3") || !strings.Contains(s, `  {"k":"v"} ✓`) || strings.Contains(s, "CIPHERTEXT") {
		t.Errorf("pretty:\n%s", s)
	}
}

func TestListenWebPushKeyImpliesWebPush(t *testing.T) {
	env := &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Getenv: func(string) string { return "" }}
	o, err := parseListen(env, []string{"--app-key", "k", "--state", t.TempDir(), "--webpush-key", "BKEY"})
	if err != nil || !o.webPush || o.webPushKey != "BKEY" {
		t.Fatalf("parseListen = %+v, %v", o, err)
	}
}
