package dispatch

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/metrics"
	"github.com/heraldpush/herald/internal/store"
)

// nullConn is a device connection that discards what is written to it.
type nullConn struct{}

func (nullConn) WriteFrames(...[]byte) error { return nil }
func (nullConn) Close(int, string)           {}
func (nullConn) Opened() time.Time           { return time.Time{} }

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// A device that stays connected has its last-seen time recorded about
// hourly, on its pings and acks, so that it stays fresh even if the node
// stops without ending its session (a crash records no disconnection).
func TestConnectedDeviceIsTouchedHourly(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clk := &testClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := New(st, Config{PingInterval: time.Second, SendQueue: 16, StaleAfter: 270 * 24 * time.Hour, Now: clk.Now}, metrics.New(), logger)

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateProject(ctx, store.Project{ID: "demo"}))
	must(st.CreateApp(ctx, store.App{Key: "app", ProjectID: "demo"}))
	reg, err := h.Register(ctx, "app", nil)
	must(err)
	lastSeen := func() time.Time {
		t.Helper()
		r, err := st.Registration(ctx, reg.Token)
		must(err)
		return r.LastSeenAt
	}
	if got := lastSeen(); !got.Equal(clk.Now()) {
		t.Fatalf("LastSeenAt after registration = %v, want %v", got, clk.Now())
	}

	registered := clk.Now()
	clk.advance(30 * time.Minute)
	s, err := h.Attach(ctx, &herald.Hello{Version: herald.ProtocolVersion, DeviceID: reg.Device.ID, DeviceSecret: reg.Device.Secret,
		Registrations: []herald.Resume{{Token: reg.Token}}}, nullConn{})
	must(err)
	if got := lastSeen(); !got.Equal(registered) {
		t.Errorf("a hello within the hour wrote LastSeenAt %v, want it kept at %v", got, registered)
	}

	clk.advance(59 * time.Minute) // 59 minutes since the session started
	s.Pong(ctx)
	if got := lastSeen(); !got.Equal(registered) {
		t.Errorf("a ping within the hour wrote LastSeenAt %v, want it kept at %v", got, registered)
	}
	clk.advance(time.Minute)
	s.Pong(ctx)
	if got, want := lastSeen(), clk.Now(); !got.Equal(want) {
		t.Errorf("LastSeenAt after a ping an hour into the session = %v, want %v", got, want)
	}
	clk.advance(300 * 24 * time.Hour)
	must(s.Ack(ctx, nil))
	if got, want := lastSeen(), clk.Now(); !got.Equal(want) {
		t.Errorf("LastSeenAt after an ack = %v, want %v", got, want)
	}

	// The session ends: the disconnection time is recorded.
	clk.advance(10 * time.Minute)
	h.Detach(ctx, s)
	if got, want := lastSeen(), clk.Now(); !got.Equal(want) {
		t.Errorf("LastSeenAt after the disconnection = %v, want %v", got, want)
	}
}
