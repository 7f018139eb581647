package vendortest_test

import (
	"context"
	"errors"
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
	send := func(pub, priv string) (int, error) {
		s := &webpushgo.Subscription{Endpoint: sub.Endpoint, Keys: webpushgo.Keys{P256dh: sub.P256DH, Auth: sub.Auth}}
		resp, err := webpushgo.SendNotificationWithContext(t.Context(), []byte(`{"hello":"browser"}`), s, &webpushgo.Options{
			HTTPClient: f.Client(), Subscriber: "ops@example.com", VAPIDPublicKey: pub, VAPIDPrivateKey: priv,
			TTL: 120, Urgency: webpushgo.UrgencyHigh, Topic: "greeting",
		})
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.WaitReceived(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitReceived with nothing received and a canceled context = %v", err)
	}
	sent := make(chan int, 1)
	go func() {
		st, err := send(pub, priv)
		if err != nil {
			t.Errorf("webpush-go: %v", err)
		}
		sent <- st
	}()
	got, err := f.WaitReceived(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if st := <-sent; st != http.StatusCreated {
		t.Fatalf("webpush-go got %d, want 201", st)
	}
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
	if st, err := send(opub, opriv); err != nil || st != http.StatusForbidden {
		t.Errorf("another key: %d, %v; want 403", st, err)
	}
}
