package webpushrelay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/client"
	"github.com/heraldpush/herald/internal/heraldtest"
	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/provider/webpushrelay"
	"github.com/heraldpush/herald/internal/store"
)

// Herald is itself a push service: the provider sends to the push
// endpoint of a real Herald server over https (its VAPID, encryption and
// headers checked by a second, independent push service implementation),
// and the Go SDK on the device decrypts the plaintext the service worker
// of a browser would get.
func TestHeraldPushService(t *testing.T) {
	srv := heraldtest.StartTLS(t)
	srv.CreateProject(t, "demo")
	appKey := srv.CreateApp(t, "demo")
	msgs := make(chan herald.Message, 4)
	connected := make(chan struct{}, 4)
	c, err := client.New(client.Config{
		Server:      srv.URL,
		TLSConfig:   srv.ClientTLSConfig(),
		OnMessage:   func(_ context.Context, m herald.Message) { msgs <- m },
		OnConnected: func() { connected <- struct{}{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := c.Register(ctx, appKey); err != nil {
		t.Fatal(err)
	}
	v := newVAPID(t)
	sub, err := c.WebPushSubscribe(ctx, appKey, v.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	select {
	case <-connected:
	case <-time.After(20 * time.Second):
		t.Fatal("the device did not connect")
	}

	p := webpushrelay.New(webpushrelay.Options{Client: srv.Client()})
	now := time.Now()
	m := provider.Message{
		ID: "relay-1", AcceptedAt: now, ExpiresAt: now.Add(time.Hour), TTL: time.Hour, High: true, CollapseKey: "score",
		Payload:  []byte(`"data":{"match":"42"},"notification":{"title":"Goal","body":"3-1"}`),
		Platform: []byte(`{"webpush":{"fcm_options":{"link":"https://example.com/42"}}}`),
	}
	reg := store.Registration{Platform: store.PlatformWebPush, WebPush: &store.WebPushSubscription{
		Endpoint: sub.Endpoint, P256DH: sub.Keys.P256DH, Auth: sub.Keys.Auth}}
	if err := p.Send(ctx, store.Credentials{ProjectID: "demo", VAPID: v}, reg, m); err != nil {
		t.Fatalf("Send to Herald's push endpoint: %v", err)
	}
	var got herald.Message
	select {
	case got = <-msgs:
	case <-time.After(20 * time.Second):
		t.Fatal("the device got nothing")
	}
	want := `{"message_id":"relay-1","data":{"match":"42"},"notification":{"body":"3-1","title":"Goal"},"fcm_options":{"link":"https://example.com/42"}}`
	if string(got.Raw) != want || got.Priority != herald.PriorityHigh {
		t.Errorf("device got %s (priority %s), want %s, high", got.Raw, got.Priority, want)
	}

	// Another application server's key is refused: credentials.
	other := newVAPID(t)
	if err := p.Send(ctx, store.Credentials{ProjectID: "demo", VAPID: other}, reg, m); !errors.Is(err, provider.ErrCredentials) {
		t.Errorf("Send with a key the endpoint is not restricted to = %v, want ErrCredentials", err)
	}
}
