package fcm

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeSendRequest checks that decoding never panics, that every
// rejection is a 400 INVALID_ARGUMENT *Error, and that every accepted
// request re-encodes to JSON that decodes to the same value.
func FuzzDecodeSendRequest(f *testing.F) {
	for _, seed := range []string{
		goSDKSample,
		nodeSDKSample,
		`{"validateOnly":true,"message":{"topic":"/topics/news","android":{"priority":"NORMAL","ttl":"0.000000001s","directBootOk":true}}}`,
		`{"message":{"condition":"'a' in topics","android":{"notification":{"light_settings":{"color":{"red":1},"light_on_duration":"1s","light_off_duration":"1s"},"vibrate_timings":["1s"]}},"webpush":{"headers":{"TTL":"1"},"notification":{"a":[1,{"b":null}]}}}}`,
		`{"message":{"fid":"f\u00e9\ud83d\ude00","data":{"\"k":"\\v\n"},"androidV2":{}}}`,
		`{"message":{"token":"t","data":{"from":"x"}}}`,
		fullMessage, // every block, every member a value rule applies to
		tokenMsg(`"apns":{"headers":{"apns-priority":"10"},"payload":{"aps":{"alert":{"loc-args":["a"]},"sound":{"volume":2}}}},"webpush":{"notification":{"actions":[{"action":"a"}]}}`),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeSendRequest(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is a %T, want *Error", err, err)
			}
			if e.HTTPStatus != 400 || e.Status != StatusInvalidArgument || e.ErrorCode != CodeInvalidArgument {
				t.Fatalf("error %v: want 400 INVALID_ARGUMENT", e)
			}
			if b, _ := json.Marshal(e); !json.Valid(b) {
				t.Fatalf("error body is not JSON: %s", b)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON: %q", body)
		}
		for _, raw := range []json.RawMessage{req.Message.APNS, req.Message.Webpush, req.Message.FCMOptions, req.Message.AndroidV2} {
			if raw != nil && !json.Valid(raw) {
				t.Fatalf("raw member is not JSON: %q", raw)
			}
		}
		if ttl := req.Message.TTL(); ttl < 0 || ttl > MaxTTL || ttl%time.Second != 0 {
			t.Fatalf("TTL() = %v", ttl)
		}
		enc, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeSendRequest(enc)
		if err != nil {
			t.Fatalf("re-encoded request %s refused: %v", enc, err)
		}
		if diff := cmp.Diff(req, again); diff != "" {
			t.Fatalf("re-decoded request differs (-first +second):\n%s\nencoded: %s", diff, enc)
		}
	})
}
