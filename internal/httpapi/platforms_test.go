package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

// validSubscription is a browser subscription's keys.
func validSubscription(t testing.TB) (p256dh, auth string) {
	t.Helper()
	_, keys, err := webpush.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(keys.P256DH), base64.RawURLEncoding.EncodeToString(keys.Auth)
}

func decodeRegister(t testing.TB, body string) (*registerRequest, error) {
	t.Helper()
	var req registerRequest
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, err
	}
	return &req, nil
}

func TestRegisterRequestAddress(t *testing.T) {
	p, a := validSubscription(t)
	hex64 := strings.Repeat("ab", 32)
	cases := []struct {
		body  string
		field string // "" when valid
		want  string // the address's platform when valid
	}{
		{`{}`, "", store.PlatformHerald},
		{`{"platform":"herald"}`, "", store.PlatformHerald},
		{`{"platform":"webpush","webpush":{"endpoint":"https://push.example.com/x","expirationTime":null,"keys":{"p256dh":"` + p + `","auth":"` + a + `"}}}`, "", store.PlatformWebPush},
		{`{"platform":"webpush","webpush":{"endpoint":"https://push.example.com/x","expirationTime":1735689600000.5,"keys":{"p256dh":"` + p + `","auth":"` + a + `"}}}`, "", store.PlatformWebPush},
		{`{"platform":"webpush","webpush":{"endpoint":"http://localhost:8080/x","keys":{"p256dh":"` + p + `","auth":"` + a + `"}}}`, "", store.PlatformWebPush},
		{`{"platform":"webpush","webpush":{"endpoint":"http://[::1]:8080/x","keys":{"p256dh":"` + p + `","auth":"` + a + `"}}}`, "", store.PlatformWebPush},
		{`{"platform":"webpush","webpush":{"endpoint":"http://10.0.0.1/x","keys":{"p256dh":"` + p + `","auth":"` + a + `"}}}`, "webpush.endpoint", ""},
		{`{"platform":"webpush","webpush":{"endpoint":"ftp://push.example.com/x","keys":{"p256dh":"` + p + `","auth":"` + a + `"}}}`, "webpush.endpoint", ""},
		{`{"platform":"webpush","webpush":{"endpoint":"https://u:p@push.example.com/x","keys":{"p256dh":"` + p + `","auth":"` + a + `"}}}`, "webpush.endpoint", ""},
		{`{"platform":"webpush","webpush":{"endpoint":"https://push.example.com/x","keys":{"p256dh":"` + a + `","auth":"` + a + `"}}}`, "webpush.keys.p256dh", ""},
		{`{"platform":"webpush","webpush":{"endpoint":"https://push.example.com/x","keys":{"p256dh":"` + p + `","auth":"` + p + `"}}}`, "webpush.keys.auth", ""},
		{`{"platform":"apns","apns":{"device_token":"` + strings.ToUpper(hex64) + `","bundle_id":"com.example"}}`, "", store.PlatformAPNs},
		{`{"platform":"apns","apns":{"device_token":"` + hex64[:62] + `","bundle_id":"com.example"}}`, "apns.device_token", ""},
		{`{"platform":"apns","apns":{"device_token":"` + strings.Repeat("a", 202) + `","bundle_id":"com.example"}}`, "apns.device_token", ""},
		{`{"platform":"apns","apns":{"device_token":"` + hex64 + `","bundle_id":"com example"}}`, "apns.bundle_id", ""},
		{`{"platform":"fcm","fcm":{"token":"abc:APA91b"}}`, "", store.PlatformFCM},
		{`{"platform":"fcm","fcm":{"token":"a b"}}`, "fcm.token", ""},
		{`{"platform":"fcm"}`, "fcm", ""},
		{`{"webpush":{"endpoint":"https://push.example.com/x"}}`, "webpush", ""},
		{`{"platform":"FCM","fcm":{"token":"t"}}`, "platform", ""},
	}
	for _, tc := range cases {
		req, err := decodeRegister(t, tc.body)
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		addr, err := req.address()
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.body, err)
		case tc.field == "" && addr.Platform != tc.want:
			t.Errorf("%s: platform %q, want %q", tc.body, addr.Platform, tc.want)
		case tc.field != "":
			fe, ok := err.(*fieldError)
			if !ok || fe.field != tc.field {
				t.Errorf("%s: err = %v, want an error on %s", tc.body, err, tc.field)
			}
		}
	}
	// APNs tokens are kept lower case; Web Push keys unpadded base64url.
	req, _ := decodeRegister(t, `{"platform":"apns","apns":{"device_token":"`+strings.ToUpper(hex64)+`","bundle_id":"b","sandbox":true}}`)
	if addr, _ := req.address(); addr.APNs.DeviceToken != hex64 || !addr.APNs.Sandbox {
		t.Errorf("APNs address %+v", addr.APNs)
	}
}

// FuzzRegisterRequest: whatever the body, address either refuses it with
// a field error or returns an address the store accepts (its platform's
// member only, keys that parse).
func FuzzRegisterRequest(f *testing.F) {
	p, a := validSubscription(f)
	f.Add(`{}`)
	f.Add(`{"platform":"webpush","webpush":{"endpoint":"https://push.example.com/x","keys":{"p256dh":"` + p + `","auth":"` + a + `"}}}`)
	f.Add(`{"platform":"apns","apns":{"device_token":"` + strings.Repeat("0f", 32) + `","bundle_id":"b"}}`)
	f.Add(`{"platform":"fcm","fcm":{"token":"t"}}`)
	f.Fuzz(func(t *testing.T, body string) {
		var req registerRequest
		if json.Unmarshal([]byte(body), &req) != nil {
			return
		}
		addr, err := req.address()
		if err != nil {
			if _, ok := err.(*fieldError); !ok {
				t.Fatalf("error %v is not a field error", err)
			}
			return
		}
		r := store.Registration{Platform: addr.Platform, WebPush: addr.WebPush, APNs: addr.APNs, FCM: addr.FCM}
		n := 0
		for _, given := range []bool{r.WebPush != nil, r.APNs != nil, r.FCM != nil} {
			if given {
				n++
			}
		}
		if (r.PlatformOf() == store.PlatformHerald) != (n == 0) || n > 1 {
			t.Fatalf("address %+v: platform and members disagree", addr)
		}
		if r.WebPush != nil {
			if _, err := webpush.ParseKeys(r.WebPush.P256DH, r.WebPush.Auth); err != nil {
				t.Fatalf("accepted keys do not parse: %v", err)
			}
		}
	})
}
