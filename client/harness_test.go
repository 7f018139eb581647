package client

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/heraldpush/herald"
)

// recorder collects what the SDK hands to the app, for tests to wait on.
type recorder struct {
	messages   chan herald.Message
	background chan herald.Message
	notified   chan herald.Message
	newTokens  chan [2]string // app key, token
	deleted    chan deletedEvent
	connected  chan struct{}
}

type deletedEvent struct {
	token string
	count int
}

func newRecorder() *recorder {
	return &recorder{
		messages:   make(chan herald.Message, 100),
		background: make(chan herald.Message, 100),
		notified:   make(chan herald.Message, 100),
		newTokens:  make(chan [2]string, 100),
		deleted:    make(chan deletedEvent, 100),
		connected:  make(chan struct{}, 100),
	}
}

// config returns a Config that reports into r.
func (r *recorder) config(server, dir string, t *testing.T) Config {
	return Config{
		Server:   server,
		StateDir: dir,
		Logger:   slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnMessage: func(_ context.Context, m herald.Message) {
			r.messages <- m
		},
		OnBackgroundMessage: func(_ context.Context, m herald.Message) {
			r.background <- m
		},
		Notifier: NotifierFunc(func(_ context.Context, m herald.Message) error {
			r.notified <- m
			return nil
		}),
		OnNewToken:        func(appKey, token string) { r.newTokens <- [2]string{appKey, token} },
		OnDeletedMessages: func(token string, count int) { r.deleted <- deletedEvent{token, count} },
		OnConnected:       func() { r.connected <- struct{}{} },
		// Fast reconnections, so that tests of failures do not wait long.
		Backoff: BackoffConfig{Min: time.Millisecond, Max: 2 * time.Millisecond},
	}
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// wait receives one value from ch or fails the test.
func wait[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// none checks that nothing is waiting in ch.
func none[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %+v", what, v)
	default:
	}
}

// startRun runs c.Run until the test ends (or stop is called) and returns
// stop, which cancels Run and returns its error.
func startRun(t testing.TB, c *Client) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var stopped bool
	var runErr error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			runErr = wait(t, done, "Run to return")
		}
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// runResult runs c.Run and returns a channel with its error.
func runResult(t *testing.T, c *Client) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return done
}

// msg builds a data message for token.
func msg(token string, seq uint64, text string) herald.Message {
	return herald.Message{
		ID: "m" + text, Seq: seq, Token: token, From: fakeProject,
		SentAtMillis: 1700000000000, TTLSeconds: 60, Priority: herald.PriorityHigh,
		Data: map[string]string{"text": text},
	}
}

// texts returns the "text" data of messages.
func texts(ms []herald.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Data["text"])
	}
	return out
}

// mustNew builds a client or fails.
func mustNew(t testing.TB, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mustRegister registers appKey or fails.
func mustRegister(t testing.TB, c *Client, appKey string) string {
	t.Helper()
	tok, err := c.Register(context.Background(), appKey)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
