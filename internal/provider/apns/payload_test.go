package apns_test

import (
	"encoding/json"
	"flag"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/provider/apns"
	"github.com/heraldpush/herald/internal/provider/providertest"
	"github.com/heraldpush/herald/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The request built for messages using every block FCM defines for APNs.
func TestBuildGolden(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	dev := store.APNsDevice{DeviceToken: "ab12", BundleID: "com.example.app"}
	for _, tc := range []struct {
		name string
		m    provider.Message
	}{
		{name: "every-block", m: provider.Message{
			ID: "msg-1", AcceptedAt: now, ExpiresAt: now.Add(2 * time.Hour), TTL: 2 * time.Hour, High: true,
			CollapseKey: "score",
			Payload:     []byte(`"data":{"match":"42","score":"3-1"},"notification":{"title":"Goal","body":"3-1 at 89'","image":"https://img.example/goal.png"}`),
			Platform: []byte(`{"android":{"priority":"high"},"apns":{"headers":{"apns-expiration":"1800000000","x-ignored":"1"},` +
				`"payload":{"aps":{"alert":{"subtitle":"Final minutes","title":"GOAL"},"sound":"default","badge":3,"thread-id":"match-42"},"match":"override","custom":{"deep":true}},` +
				`"fcm_options":{"image":"https://img.example/ios.png","analytics_label":"l"}},"webpush":{"headers":{"Urgency":"low"}},"fcm_options":{"analytics_label":"l"}}`),
		}},
		{name: "data-only", m: provider.Message{
			ID: "msg-2", AcceptedAt: now, ExpiresAt: now, TTL: 0, High: true,
			CollapseKey: "a-collapse-key-that-is-far-longer-than-the-sixty-four-bytes-apns-accepts",
			Payload:     []byte(`"data":{"sync":"1"}`),
		}},
		{name: "alert-string", m: provider.Message{
			ID: "msg-3", AcceptedAt: now, ExpiresAt: now.Add(time.Minute), TTL: time.Minute,
			Payload:  []byte(`"notification":{"title":"ignored","body":"ignored"}`),
			Platform: []byte(`{"apns":{"headers":{"apns-priority":"10","apns-push-type":"alert"},"payload":{"aps":{"alert":"Plain text"}}}}`),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.m.Decode()
			if err != nil {
				t.Fatal(err)
			}
			req, err := apns.Build(c, tc.m, dev, now)
			if err != nil {
				t.Fatal(err)
			}
			h := map[string]string{}
			for k := range req.Header {
				h[k] = req.Header.Get(k)
			}
			out, err := json.MarshalIndent(struct {
				Header  map[string]string `json:"header"`
				Payload json.RawMessage   `json:"payload"`
			}{h, req.Payload}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			providertest.Golden(t, tc.name+".json", append(out, '\n'), *update)
		})
	}
}

func FuzzParseReason(f *testing.F) {
	f.Add([]byte(`{"reason":"Unregistered","timestamp":1764072000000}`))
	f.Add([]byte(`{"reason":"BadDeviceToken"}`))
	f.Add([]byte(`<html>`))
	f.Add([]byte(`{"reason":5}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := apns.ParseReason(body)
		if r.Reason != "" && !json.Valid(body) {
			t.Errorf("reason %q from invalid JSON %q", r.Reason, body)
		}
	})
}
