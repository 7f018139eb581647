package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
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
	body, _ := json.Marshal(map[string]any{"platform": "webpush", "webpush": sub})
	req, err := http.NewRequest("POST", srv.URL+herald.PathRegister, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(herald.AppKeyHeader, appKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var reg herald.RegisterResponse
	err = json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || reg.Token == "" {
		t.Fatalf("webpush registration: %s, %v", resp.Status, err)
	}

	send := map[string]any{"message": map[string]any{"token": reg.Token, "data": map[string]string{"k": "relayed"}}}
	srv.Admin(t, "POST", "/v1/projects/demo/messages:send", send, nil)
	m := d.next(t)
	var plain struct {
		MessageID string            `json:"message_id"`
		Data      map[string]string `json:"data"`
	}
	if err := json.Unmarshal(m.Raw, &plain); err != nil || plain.Data["k"] != "relayed" || plain.MessageID == "" {
		t.Fatalf("device got Raw %q (%v), want the relay's plaintext with data k=relayed", m.Raw, err)
	}
	if m.Token != d.token || m.WebPush == nil {
		t.Errorf("device got %+v, want a Web Push message of its own token", m)
	}
}
