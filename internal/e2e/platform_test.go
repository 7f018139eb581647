package e2e

import (
	"context"
	"encoding/json"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"firebase.google.com/go/v4/messaging"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/heraldtest"
	"github.com/heraldpush/herald/internal/store/pebblestore"
)

// TestPlatformBlocksStored sends a message with every platform block
// through the Go Firebase Admin SDK to a device that is offline, stops the
// server, reads the message back from its store and checks the blocks kept
// for the providers of other platforms. Then the device connects and gets
// the message exactly as before: the blocks are not part of the device
// protocol.
func TestPlatformBlocksStored(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	d := newDevice(t, srv, p.appKey, t.TempDir())

	badge := 1
	name := p.send(t, &messaging.Message{
		Token:        d.token,
		Data:         map[string]string{"k": "v"},
		Notification: &messaging.Notification{Title: "Hello", Body: "World"},
		Android: &messaging.AndroidConfig{
			CollapseKey:           "ck",
			Priority:              "high",
			TTL:                   ttl(90 * time.Second),
			RestrictedPackageName: "com.example.app",
			Data:                  map[string]string{"k": "android"},
			Notification:          &messaging.AndroidNotification{ChannelID: "news", Color: "#ff0000", ClickAction: "OPEN"},
			FCMOptions:            &messaging.AndroidFCMOptions{AnalyticsLabel: "android-label"},
			DirectBootOK:          true,
		},
		APNS: &messaging.APNSConfig{
			Headers: map[string]string{"apns-priority": "10"},
			Payload: &messaging.APNSPayload{
				Aps:        &messaging.Aps{Sound: "default", Badge: &badge, MutableContent: true},
				CustomData: map[string]any{"custom": "x"},
			},
			FCMOptions: &messaging.APNSFCMOptions{AnalyticsLabel: "apns-label", ImageURL: "https://example.com/a.png"},
		},
		Webpush: &messaging.WebpushConfig{
			Headers:      map[string]string{"TTL": "90"},
			Data:         map[string]string{"web": "1"},
			Notification: &messaging.WebpushNotification{Title: "Web hello", Icon: "https://example.com/icon.png", RequireInteraction: true},
			FCMOptions:   &messaging.WebpushFCMOptions{Link: "https://example.com/open"},
		},
		FCMOptions: &messaging.FCMOptions{AnalyticsLabel: "go-e2e"},
	})

	srv.Stop(t)
	st, err := pebblestore.Open(filepath.Join(srv.DataDir, "store"), pebblestore.Options{})
	if err != nil {
		t.Fatalf("opening the server's store: %v", err)
	}
	msgs, _, err := st.Pending(context.Background(), d.token, 0, time.Now(), 0)
	if cerr := st.Close(); cerr != nil {
		t.Fatalf("closing the store: %v", cerr)
	}
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	if len(msgs) != 1 {
		t.Fatalf("the store holds %d messages for the device, want 1", len(msgs))
	}
	m := msgs[0]
	if "projects/demo/messages/"+m.ID != name {
		t.Errorf("stored message %s, the send answered %s", m.ID, name)
	}
	wantPlatform := `{
		"android": {
			"collapse_key": "ck", "priority": "high", "ttl": "90s",
			"restricted_package_name": "com.example.app",
			"data": {"k": "android"},
			"notification": {"channel_id": "news", "color": "#ff0000", "click_action": "OPEN"},
			"fcm_options": {"analytics_label": "android-label"},
			"direct_boot_ok": true
		},
		"apns": {
			"headers": {"apns-priority": "10"},
			"payload": {"aps": {"sound": "default", "badge": 1, "mutable-content": 1}, "custom": "x"},
			"fcm_options": {"analytics_label": "apns-label", "image": "https://example.com/a.png"}
		},
		"webpush": {
			"headers": {"TTL": "90"},
			"data": {"web": "1"},
			"notification": {"title": "Web hello", "icon": "https://example.com/icon.png", "requireInteraction": true},
			"fcm_options": {"link": "https://example.com/open"}
		},
		"fcm_options": {"analytics_label": "go-e2e"}
	}`
	if diff := cmp.Diff(decodeJSON(t, []byte(wantPlatform)), decodeJSON(t, m.Platform)); diff != "" {
		t.Errorf("stored platform blocks (-want +got):\n%s\nstored: %s", diff, m.Platform)
	}
	// The payload, which the device frame carries, has the data and the
	// notification only.
	var payload map[string]json.RawMessage
	if err := json.Unmarshal([]byte("{"+string(m.Payload)+"}"), &payload); err != nil {
		t.Fatalf("stored payload %s: %v", m.Payload, err)
	}
	if keys := slices.Sorted(maps.Keys(payload)); !slices.Equal(keys, []string{"data", "notification"}) {
		t.Errorf("stored payload members %v, want [data notification]", keys)
	}

	srv.Restart(t)
	d.run(t)
	want := herald.Message{
		ID: m.ID, Seq: 1, Token: d.token, From: "demo",
		TTLSeconds: 90, CollapseKey: "ck", Priority: herald.PriorityHigh,
		Data:         map[string]string{"k": "android"}, // android.data replaces data
		Notification: &herald.Notification{Title: "Hello", Body: "World"},
	}
	if diff := cmp.Diff(want, d.next(t), cmpopts.IgnoreFields(herald.Message{}, "SentAtMillis")); diff != "" {
		t.Errorf("message the device received (-want +got):\n%s", diff)
	}
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return v
}
