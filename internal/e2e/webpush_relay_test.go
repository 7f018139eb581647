package e2e

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/heraldtest"
)

// Herald to Herald: a registration of the webpush platform whose
// subscription is a push endpoint of a Herald device. The app server sends
// through the FCM API; Herald's relay encrypts and signs with the
// project's VAPID key and posts to the endpoint (the push service side,
// restricted to that key); the device's SDK decrypts the plaintext the
// relay wrote. Both directions of Web Push, each checking the other.
func TestWebPushRelayToHeraldEndpoint(t *testing.T) {
	srv := heraldtest.Start(t)
	srv.CreateProject(t, "demo")
	appKey := srv.CreateApp(t, "demo")
	var vapid struct {
		PublicKey string `json:"public_key"`
	}
	srv.Admin(t, "POST", "/admin/v1/projects/demo/credentials/vapid", map[string]string{"subject": "mailto:ops@example.com"}, &vapid)
	if vapid.PublicKey == "" {
		t.Fatal("no VAPID public key")
	}

	d := newDevice(t, srv, appKey, t.TempDir())
	sub, err := d.c.WebPushSubscribe(context.Background(), appKey, vapid.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	d.run(t)

	// The "browser": a webpush registration with the device's subscription.
	browser := mustRegister(t, srv, appKey, map[string]any{"platform": "webpush", "webpush": sub})

	send := map[string]any{"message": map[string]any{"token": browser, "data": map[string]string{"k": "relayed"}}}
	srv.Admin(t, "POST", "/v1/projects/demo/messages:send", send, nil)
	m := d.next(t)
	var plain struct {
		MessageID string            `json:"message_id"`
		Data      map[string]string `json:"data"`
	}
	if err := json.Unmarshal(m.Raw, &plain); err != nil || plain.Data["k"] != "relayed" || plain.MessageID == "" {
		t.Fatalf("device got Raw %q (%v), want the relay's plaintext with data k=relayed", m.Raw, err)
	}
	if m.Token != d.token || m.WebPush == nil || m.Priority != herald.PriorityNormal {
		t.Errorf("device got %+v, want a Web Push message of its own token", m)
	}
}
