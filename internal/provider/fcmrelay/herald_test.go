package fcmrelay_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/client"
	"github.com/heraldpush/herald/internal/heraldtest"
	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/provider/fcmrelay"
	"github.com/heraldpush/herald/internal/store"
)

// Herald is itself an FCM: the relay, given a service account that a real
// Herald server issued (token_uri = its /token), relays to a Herald token
// through the server's FCM HTTP v1 API, and the Go SDK on the device gets
// the message with its data, notification, priority, TTL and collapse key.
// A second, independent implementation of FCM's wire format (Herald's
// send API, itself tested against the Firebase Admin SDKs) accepts what
// the relay writes.
func TestHeraldAsFCM(t *testing.T) {
	srv := heraldtest.Start(t)
	srv.CreateProject(t, "demo")
	appKey := srv.CreateApp(t, "demo")
	sa, err := os.ReadFile(srv.CreateServiceAccount(t, "demo"))
	if err != nil {
		t.Fatal(err)
	}
	msgs := make(chan herald.Message, 4)
	connected := make(chan struct{}, 4)
	c, err := client.New(client.Config{
		Server:      srv.URL,
		OnMessage:   func(_ context.Context, m herald.Message) { msgs <- m },
		OnConnected: func() { connected <- struct{}{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	token, err := c.Register(ctx, appKey)
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

	p := fcmrelay.New(fcmrelay.Options{BaseURL: srv.URL, Client: srv.Client()})
	creds := store.Credentials{ProjectID: "relaying-project", FCM: &store.FCMCredentials{ServiceAccountJSON: sa}}
	now := time.Now()
	m := provider.Message{
		ID: "relay-1", AcceptedAt: now, ExpiresAt: now.Add(10 * time.Minute), TTL: 10 * time.Minute, High: true, CollapseKey: "score",
		Payload:  []byte(`"data":{"match":"42"},"notification":{"title":"Goal","body":"3-1"}`),
		Platform: []byte(`{"android":{"notification":{"channel_id":"goals"}},"webpush":{"headers":{"Urgency":"high"}}}`),
	}
	if err := p.Send(ctx, creds, store.Registration{Platform: store.PlatformFCM, FCM: &store.FCMDevice{Token: token}}, m); err != nil {
		t.Fatalf("relay to Herald: %v", err)
	}
	var got herald.Message
	select {
	case got = <-msgs:
	case <-time.After(20 * time.Second):
		t.Fatal("the device got nothing")
	}
	if diff := cmp.Diff(map[string]string{"match": "42"}, got.Data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
	if got.Notification == nil || got.Notification.Title != "Goal" || got.Notification.Body != "3-1" ||
		got.Priority != herald.PriorityHigh || got.CollapseKey != "score" || got.TTLSeconds < 590 || got.TTLSeconds > 600 {
		t.Errorf("device got %+v", got)
	}

	// A token Herald does not know: FCM's answer for it means unregistered.
	err = p.Send(ctx, creds, store.Registration{FCM: &store.FCMDevice{Token: "no-such-token"}}, m)
	if !errors.Is(err, provider.ErrUnregistered) {
		t.Errorf("relay to an unknown token = %v, want ErrUnregistered", err)
	}
}
