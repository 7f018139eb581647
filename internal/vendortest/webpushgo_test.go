package vendortest_test

import (
	"net/http"
	"testing"

	webpushgo "github.com/SherClockHolmes/webpush-go"

	"github.com/heraldpush/herald/internal/vendortest"
	"github.com/heraldpush/herald/internal/webpush"
)

// The fake push service with a real Web Push library (webpush-go v1.4.0,
// which pads every body to 4096 bytes): its VAPID passes the check of a
// restricted subscription, its body decrypts, and its headers are
// recorded; another library key is refused as a browser's push service
// refuses it.
func TestWebPushWithWebPushGo(t *testing.T) {
	f := vendortest.NewWebPush(t)
	key, err := webpush.GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, err := webpush.EncodeVAPIDKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sub := f.NewSubscription(t, pub)
	send := func(pub, priv string) int {
		t.Helper()
		s := &webpushgo.Subscription{Endpoint: sub.Endpoint, Keys: webpushgo.Keys{P256dh: sub.P256DH, Auth: sub.Auth}}
		resp, err := webpushgo.SendNotificationWithContext(t.Context(), []byte(`{"hello":"browser"}`), s, &webpushgo.Options{
			HTTPClient: f.Client(), Subscriber: "ops@example.com", VAPIDPublicKey: pub, VAPIDPrivateKey: priv,
			TTL: 120, Urgency: webpushgo.UrgencyHigh, Topic: "greeting",
		})
		if err != nil {
			t.Fatalf("webpush-go: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := send(pub, priv); st != http.StatusCreated {
		t.Fatalf("webpush-go got %d, want 201", st)
	}
	got := f.Received()
	if len(got) != 1 || string(got[0].Plaintext) != `{"hello":"browser"}` || len(got[0].Body) != webpush.MaxPayload ||
		got[0].TTL != 120 || got[0].Urgency != "high" || got[0].Topic != "greeting" {
		t.Errorf("recorded %+v", got)
	}
	other, err := webpush.GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	opub, opriv, err := webpush.EncodeVAPIDKey(other)
	if err != nil {
		t.Fatal(err)
	}
	if st := send(opub, opriv); st != http.StatusForbidden {
		t.Errorf("another key: %d, want 403", st)
	}
}
