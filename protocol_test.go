package herald_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald"
)

func TestDecodeFrameAcceptsEveryFrameType(t *testing.T) {
	for _, f := range []herald.Frame{
		{Type: herald.FrameHello, Hello: &herald.Hello{Version: 1, DeviceID: "d", DeviceSecret: "s", State: herald.Background,
			Registrations: []herald.Resume{{Token: "t", Acked: 3}}}},
		{Type: herald.FrameAck, Acks: []herald.Ack{{Token: "t", Seq: 4}}},
		{Type: herald.FrameState, State: herald.Foreground},
		{Type: herald.FramePing},
		{Type: herald.FramePong},
		{Type: herald.FrameWelcome, Welcome: &herald.Welcome{SessionID: "x", PingIntervalMillis: 30000,
			Registrations: []herald.RegistrationStatus{{Token: "t", Status: herald.StatusOK}}}},
		{Type: herald.FrameMessages, Messages: []herald.Message{{ID: "m", Seq: 1, Token: "t", From: "p", Priority: herald.PriorityHigh,
			Data: map[string]string{"k": "v"}, Notification: &herald.Notification{Title: "hi"}}}},
		{Type: herald.FrameDeleted, Deleted: &herald.Deleted{Token: "t", Seq: 9, Count: 100}},
		{Type: herald.FrameTokenRefresh, TokenRefresh: &herald.TokenRefresh{Old: "a", New: "b"}},
		{Type: herald.FrameGoAway, GoAway: &herald.GoAway{Reason: "bye", ReconnectAfterMillis: 10}},
	} {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := herald.DecodeFrame(b)
		if err != nil {
			t.Errorf("%s: %v", b, err)
			continue
		}
		if diff := cmp.Diff(f, got); diff != "" {
			t.Errorf("%s: round trip (-want +got):\n%s", f.Type, diff)
		}
	}
}

func TestDecodeFrameRefusesBadFrames(t *testing.T) {
	for _, tc := range []struct{ in, wantErr string }{
		{``, "EOF"},
		{`[]`, "cannot unmarshal"},
		{`{}`, "missing type"},
		{`{"type":"nope"}`, `unknown type "nope"`},
		{`{"type":"ping","x":1}`, `unknown field "x"`},
		{`{"type":"ping"} {}`, "trailing data"},
		{`{"type":"hello"}`, "missing hello"},
		{`{"type":"hello","hello":{"v":1,"device_id":"d"}}`, "device_id and device_secret are required"},
		{`{"type":"hello","hello":{"v":1,"device_id":"d","device_secret":"s","state":"asleep"}}`, "state must be"},
		{`{"type":"hello","hello":{"v":1,"device_id":"d","device_secret":"s","registrations":[{"token":""}]}}`, "empty registration token"},
		{`{"type":"ack"}`, "no acks"},
		{`{"type":"ack","acks":[{"token":"t","seq":0}]}`, "seq > 0"},
		{`{"type":"state","state":"x"}`, "state must be"},
		{`{"type":"messages","messages":[{"id":"m","token":"t"}]}`, "seq > 0"},
		{`{"type":"deleted","deleted":{"token":"t"}}`, "needs token and seq"},
		{`{"type":"token_refresh","token_refresh":{"old":"a"}}`, "needs old and new"},
		{`{"type":"` + strings.Repeat("x", 100) + `"}`, "…"},
	} {
		_, err := herald.DecodeFrame([]byte(tc.in))
		if err == nil || !errors.Is(err, herald.ErrBadFrame) || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("DecodeFrame(%s) = %v, want ErrBadFrame mentioning %q", tc.in, err, tc.wantErr)
		}
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","hello":{"v":1,"device_id":"d","device_secret":"s","registrations":[{"token":"t","acked":2}]}}`,
		`{"type":"ack","acks":[{"token":"t","seq":4}]}`,
		`{"type":"state","state":"background"}`,
		`{"type":"ping"}`,
		`{"type":"messages","messages":[{"id":"m","seq":1,"token":"t","from":"p","sent_at_ms":1,"ttl_s":0,"priority":"high","data":{"k":"v"}}]}`,
		`{"type":"deleted","deleted":{"token":"t","seq":2,"count":100}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := herald.DecodeFrame(b)
		if err != nil {
			if !errors.Is(err, herald.ErrBadFrame) {
				t.Fatalf("error %v does not wrap ErrBadFrame", err)
			}
			return
		}
		// An accepted frame re-encodes to a frame that decodes the same.
		again, err := json.Marshal(fr)
		if err != nil {
			t.Fatal(err)
		}
		fr2, err := herald.DecodeFrame(again)
		if err != nil {
			t.Fatalf("re-encoded frame %s refused: %v", again, err)
		}
		if diff := cmp.Diff(fr, fr2); diff != "" {
			t.Fatalf("round trip changed the frame:\n%s", diff)
		}
	})
}
