// Package e2e holds Herald's end-to-end tests: a real server
// (heraldtest.Start), real devices (the Go client SDK over WebSocket) and
// real app servers (the Go Firebase Admin SDK over HTTP).
package e2e

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/client"
	"github.com/heraldpush/herald/internal/config"
	"github.com/heraldpush/herald/internal/heraldtest"
)

// waitTimeout bounds every wait for an event; it is a failsafe, not a
// synchronisation: tests wait on channels fed by the SDK's callbacks.
const waitTimeout = 15 * time.Second

// device is a client SDK instance whose callbacks feed channels.
type device struct {
	c         *client.Client
	token     string
	msgs      chan herald.Message
	deleted   chan int
	connected chan struct{}
	tokens    chan string
	handled   atomic.Int64
	stop      context.CancelFunc
	done      chan error
}

// newDevice creates a device with the given state directory ("" = in
// memory), registers appKey and starts its connection.
func newDevice(t *testing.T, srv *heraldtest.Server, appKey, stateDir string) *device {
	t.Helper()
	d := &device{
		msgs:      make(chan herald.Message, 10000),
		deleted:   make(chan int, 16),
		connected: make(chan struct{}, 16),
		tokens:    make(chan string, 16),
	}
	c, err := client.New(client.Config{
		Server:    srv.URL,
		TLSConfig: srv.ClientTLSConfig(), // nil without TLS
		StateDir:  stateDir,
		OnMessage: func(_ context.Context, m herald.Message) {
			d.handled.Add(1)
			d.msgs <- m
		},
		OnDeletedMessages: func(_ string, n int) { d.deleted <- n },
		OnConnected:       func() { d.connected <- struct{}{} },
		OnNewToken:        func(_, tok string) { d.tokens <- tok },
		Backoff:           client.BackoffConfig{Min: 10 * time.Millisecond, Max: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	d.c = c
	d.token, err = c.Register(context.Background(), appKey)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	t.Cleanup(d.close)
	return d
}

// run connects the device and waits for its session.
func (d *device) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d.stop = cancel
	d.done = make(chan error, 1)
	go func() { d.done <- d.c.Run(ctx) }()
	select {
	case <-d.connected:
	case <-time.After(waitTimeout):
		t.Fatal("device did not connect")
	}
}

// close stops the connection and saves the SDK state.
func (d *device) close() {
	if d.stop != nil {
		d.stop()
		<-d.done
		d.stop = nil
	}
	_ = d.c.Close()
}

// next returns the next message delivered to the app.
func (d *device) next(t *testing.T) herald.Message {
	t.Helper()
	select {
	case m := <-d.msgs:
		return m
	case <-time.After(waitTimeout):
		t.Fatal("no message reached the app")
		return herald.Message{}
	}
}

// nextDeleted returns the count of the next deleted-messages event.
func (d *device) nextDeleted(t *testing.T) int {
	t.Helper()
	select {
	case n := <-d.deleted:
		return n
	case <-time.After(waitTimeout):
		t.Fatal("no deleted-messages event reached the app")
		return 0
	}
}

// project is a project with an app and a Firebase Admin SDK client.
type project struct {
	id     string
	appKey string
	sa     string // service-account file
	fcm    *messaging.Client
}

// newProject creates a project, an app and a service-account key, and a
// Firebase Admin SDK messaging client that authenticates through Herald's
// token endpoint (token_uri of the service-account file) and sends to
// Herald's endpoint.
func newProject(t *testing.T, srv *heraldtest.Server, id string) project {
	t.Helper()
	srv.CreateProject(t, id)
	appKey := srv.CreateApp(t, id)
	sa := srv.CreateServiceAccount(t, id)
	ctx := context.Background()
	app, err := firebase.NewApp(ctx, nil, option.WithCredentialsFile(sa), option.WithEndpoint(srv.URL+"/v1"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := app.Messaging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return project{id: id, appKey: appKey, sa: sa, fcm: m}
}

// send sends a message with the Firebase Admin SDK and fails the test on error.
func (p project) send(t *testing.T, m *messaging.Message) string {
	t.Helper()
	name, err := p.fcm.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return name
}

func ttl(d time.Duration) *time.Duration { return &d }

// clock is a settable clock for message expiry.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time            { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration)   { c.offset.Add(int64(d)) }
func withClock(c *clock) heraldtest.Option { return func(cfg *config.Config) { cfg.Clock = c.now } }
