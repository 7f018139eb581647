//go:build linux

package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/dispatch"
	"github.com/heraldpush/herald/internal/metrics"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/pebblestore"
)

// polled reports how many connections the handler's poller reads.
func polled(h *Handler) int {
	n := 0
	for _, l := range h.poller.loops {
		l.mu.Lock()
		n += len(l.conns)
		l.mu.Unlock()
	}
	return n
}

// Once its session is attached, a device's connection is read by the
// poller, not by a goroutine of its own; it leaves the poller when it
// closes, from either side.
func TestPollerReadsAttachedConnections(t *testing.T) {
	ctx := context.Background()
	st, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.CreateProject(ctx, store.Project{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateApp(ctx, store.App{Key: "app-1", ProjectID: "p1"}); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	hub := dispatch.New(st, dispatch.Config{PingInterval: time.Hour, SendQueue: 16}, metrics.New(), logger)
	h := New(hub, time.Hour, logger)
	if h.poller == nil {
		t.Fatal("no poller on Linux")
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); hub.Shutdown(0); h.Stop() })
	reg, err := hub.Register(ctx, "app-1", nil)
	if err != nil {
		t.Fatal(err)
	}

	connect := func() (io.ReadWriter, func()) {
		t.Helper()
		nc, br, _, err := ws.Dial(ctx, "ws://"+strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_ = nc.SetDeadline(time.Now().Add(15 * time.Second))
		var r io.Reader = nc
		if br != nil {
			r = io.MultiReader(br, nc)
		}
		rw := struct {
			io.Reader
			io.Writer
		}{r, nc}
		hello, _ := json.Marshal(herald.Frame{Type: herald.FrameHello, Hello: &herald.Hello{Version: herald.ProtocolVersion,
			DeviceID: reg.Device.ID, DeviceSecret: reg.Device.Secret, Registrations: []herald.Resume{{Token: reg.Token}}}})
		if err := wsutil.WriteClientText(nc, hello); err != nil {
			t.Fatal(err)
		}
		expect(t, rw, herald.FrameWelcome)
		// A pong written after the hello was handled proves the poller
		// took the connection: the second ping can only be read by it.
		for range 2 {
			if err := wsutil.WriteClientText(nc, []byte(`{"type":"ping"}`)); err != nil {
				t.Fatal(err)
			}
			expect(t, rw, herald.FramePong)
		}
		return rw, func() { nc.Close() }
	}

	first, _ := connect()
	if n := polled(h); n != 1 {
		t.Fatalf("%d connections polled, want 1", n)
	}
	// A WebSocket ping is answered by the poller too.
	if err := wsutil.WriteClientMessage(first.(io.Writer), ws.OpPing, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if f, err := ws.ReadFrame(first); err != nil || f.Header.OpCode != ws.OpPong || string(f.Payload) != "hi" {
		t.Fatalf("answer to a ping: %+v %q, %v; want a pong with its payload", f.Header, f.Payload, err)
	}

	// The hub closes the first connection when the device connects
	// again: it leaves the poller, the second takes its place.
	second, closeSecond := connect()
	if _, _, err := wsutil.ReadServerData(first); err == nil {
		t.Fatal("the replaced connection is still open")
	}
	if n := polled(h); n != 1 {
		t.Fatalf("%d connections polled after a replacement, want 1", n)
	}

	// The device closes: the server answers and closes, and the
	// connection leaves the poller before its descriptor is closed.
	if err := wsutil.WriteClientMessage(second.(io.Writer), ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(second); err != nil && !strings.Contains(err.Error(), "closed") {
		t.Logf("reading to the end: %v", err)
	}
	closeSecond()
	if n := polled(h); n != 0 {
		t.Fatalf("%d connections polled after the close, want 0", n)
	}
}

// expect reads the next server data frame and checks its type.
func expect(t *testing.T, r io.ReadWriter, want herald.FrameType) {
	t.Helper()
	b, _, err := wsutil.ReadServerData(r)
	if err != nil {
		t.Fatalf("reading %s: %v", want, err)
	}
	f, err := herald.DecodeFrame(b)
	if err != nil || f.Type != want {
		t.Fatalf("got %s (%v), want %s", b, err, want)
	}
}
