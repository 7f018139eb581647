package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/client"
	"github.com/heraldpush/herald/internal/heraldtest"
)

// These tests run the SDK against a real Herald server (heraldtest.Start):
// the protocol as the server implements it, not as our fake plays it.

const waitTimeout = 15 * time.Second

// device is a Client whose messages feed a channel.
type device struct {
	c         *client.Client
	msgs      chan herald.Message
	connected chan struct{}
	cancel    context.CancelFunc
	done      chan error
}

func newDevice(t *testing.T, srv *heraldtest.Server, stateDir string) *device {
	t.Helper()
	d := &device{msgs: make(chan herald.Message, 100), connected: make(chan struct{}, 100)}
	c, err := client.New(client.Config{
		Server:      srv.URL,
		StateDir:    stateDir,
		OnMessage:   func(_ context.Context, m herald.Message) { d.msgs <- m },
		OnConnected: func() { d.connected <- struct{}{} },
		Backoff:     client.BackoffConfig{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	d.c = c
	return d
}

func (d *device) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done = cancel, make(chan error, 1)
	go func() { d.done <- d.c.Run(ctx) }()
	t.Cleanup(func() { d.stop(t) })
	select {
	case <-d.connected:
	case <-time.After(waitTimeout):
		t.Fatal("device did not connect")
	}
}

func (d *device) stop(t *testing.T) {
	t.Helper()
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.cancel = nil
	if err := <-d.done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if err := d.c.Close(); err != nil {
		t.Error(err)
	}
}

func (d *device) next(t *testing.T) herald.Message {
	t.Helper()
	select {
	case m := <-d.msgs:
		return m
	case <-time.After(waitTimeout):
		t.Fatal("no message")
		return herald.Message{}
	}
}

// send sends a data message to token through the FCM-compatible API.
func send(t *testing.T, srv *heraldtest.Server, token, text string) {
	t.Helper()
	body := map[string]any{"message": map[string]any{"token": token, "data": map[string]string{"text": text}}}
	srv.Admin(t, http.MethodPost, "/v1/projects/demo/messages:send", body, nil)
}

func TestAgainstServerDeliversInOrderAndResumesAfterRestart(t *testing.T) {
	srv := heraldtest.Start(t)
	srv.CreateProject(t, "demo")
	appKey := srv.CreateApp(t, "demo")
	dir := t.TempDir()
	ctx := context.Background()

	d := newDevice(t, srv, dir)
	tok, err := d.c.Register(ctx, appKey)
	if err != nil {
		t.Fatal(err)
	}
	d.run(t)
	for i := range 3 {
		send(t, srv, tok, fmt.Sprint(i))
	}
	var got []string
	for range 3 {
		got = append(got, d.next(t).Data["text"])
	}
	if diff := cmp.Diff([]string{"0", "1", "2"}, got); diff != "" {
		t.Fatalf("messages (-want +got):\n%s", diff)
	}
	d.stop(t)

	// Sent while the device is away: the next process with the same state
	// is the same device and receives exactly these.
	send(t, srv, tok, "3")
	send(t, srv, tok, "4")
	d2 := newDevice(t, srv, dir)
	if got, _ := d2.c.Token(appKey); got != tok {
		t.Fatalf("token after restart = %q, want %q", got, tok)
	}
	d2.run(t)
	m3, m4 := d2.next(t), d2.next(t)
	if m3.Data["text"] != "3" || m4.Data["text"] != "4" || m3.Seq != 4 || m4.Seq != 5 {
		t.Fatalf("after restart got %+v, %+v", m3, m4)
	}
	select {
	case m := <-d2.msgs:
		t.Fatalf("unexpected message %+v", m)
	default:
	}
}

func TestAgainstServerRefreshAndDelete(t *testing.T) {
	srv := heraldtest.Start(t)
	srv.CreateProject(t, "demo")
	appKey := srv.CreateApp(t, "demo")
	ctx := context.Background()

	d := newDevice(t, srv, "")
	old, err := d.c.Register(ctx, appKey)
	if err != nil {
		t.Fatal(err)
	}
	d.run(t)
	tok, err := d.c.RefreshToken(ctx, appKey)
	if err != nil {
		t.Fatal(err)
	}
	if tok == old {
		t.Fatal("refresh kept the token")
	}
	send(t, srv, tok, "after refresh")
	if m := d.next(t); m.Token != tok || m.Seq != 1 {
		t.Fatalf("got %+v, want seq 1 of the new token", m)
	}

	if err := d.c.DeleteToken(ctx, appKey); err != nil {
		t.Fatal(err)
	}
	if _, err := d.c.RefreshToken(ctx, appKey); !errors.Is(err, client.ErrNotRegistered) {
		t.Fatalf("refresh after delete = %v, want ErrNotRegistered", err)
	}
	_, err = d.c.Register(ctx, "no-such-key")
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden || apiErr.Status != "PERMISSION_DENIED" {
		t.Fatalf("register with an unknown key = %v, want a 403 PERMISSION_DENIED APIError", err)
	}
}
