package herald_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald"
)

// A Web Push message round-trips with its endpoint ID and body; the
// SDK's decrypted Raw never goes on the wire; a webpush member without an
// endpoint ID is a bad frame.
func TestWebPushMessageFrame(t *testing.T) {
	m := herald.Message{ID: "m", Seq: 1, Token: "t", From: "p", Priority: herald.PriorityNormal,
		WebPush: &herald.WebPush{EndpointID: "ep", Body: "AAEC"}, Raw: []byte("secret plaintext")}
	b, err := json.Marshal(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{m}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "secret") {
		t.Errorf("Raw is on the wire: %s", b)
	}
	got, err := herald.DecodeFrame(b)
	if err != nil {
		t.Fatalf("DecodeFrame(%s): %v", b, err)
	}
	m.Raw = nil
	if diff := cmp.Diff([]herald.Message{m}, got.Messages); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	bad := `{"type":"messages","messages":[{"id":"m","seq":1,"token":"t","from":"p","sent_at_ms":0,"ttl_s":0,"priority":"normal","webpush":{"body":"AAEC"}}]}`
	if _, err := herald.DecodeFrame([]byte(bad)); !errors.Is(err, herald.ErrBadFrame) {
		t.Errorf("webpush without endpoint_id: got %v, want ErrBadFrame", err)
	}
}
