package dispatch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/metrics"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/pebblestore"
)

// BenchmarkTopicFanOut is the server's own work in a topic fan-out, the
// part that is not the kernel's: one op is one topic message sent (stored,
// fsync'd) and offered, queued, encoded and written to every one of N
// connected subscribers, whose connections count the frames and discard
// them (no syscall). With acked, every device then acks it, as the SDK
// does, and the ack is read as the gateway reads it (Session.Ack). The
// figure to read is ns/delivery; `herald bench topic` measures the whole,
// sockets included.
func BenchmarkTopicFanOut(b *testing.B) {
	for _, n := range []int{1_000, 19_500} {
		for _, acked := range []bool{false, true} {
			b.Run(fmt.Sprintf("subscribers=%d/acked=%v", n, acked), func(b *testing.B) {
				benchFanOut(b, n, acked)
			})
		}
	}
}

// countConn is a device connection that counts the messages frames
// written to it.
type countConn struct {
	frames *atomic.Int64
	done   chan struct{} // receives when frames reaches want
	want   *atomic.Int64
}

func (c countConn) WriteFrames(fs ...[]byte) error {
	if c.frames.Add(int64(len(fs))) == c.want.Load() {
		c.done <- struct{}{}
	}
	return nil
}
func (countConn) Close(int, string) {}
func (countConn) Opened() time.Time { return time.Time{} }

func benchFanOut(b *testing.B, n int, acked bool) {
	ctx := context.Background()
	st := storeWithApp(b)
	h := New(st, Config{PingInterval: time.Hour, SendQueue: 256}, metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer h.closeStatus(ctx)

	// Register N devices (64 at a time: the store shares fsyncs).
	regs := make([]herald.RegisterResponse, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				r, err := h.Register(ctx, "app-1", nil)
				if err != nil {
					errs <- err
					return
				}
				regs[i] = r
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	tokens := make([]string, n)
	for i, r := range regs {
		tokens[i] = r.Token
	}
	for i := 0; i < n; i += 1000 {
		for _, r := range h.Subscribe(ctx, "p1", "bench", tokens[i:min(i+1000, n)]) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}

	var frames, want atomic.Int64
	done := make(chan struct{}, 1)
	conn := countConn{frames: &frames, done: done, want: &want}
	sessions := make([]*Session, n)
	want.Store(int64(n)) // the welcomes
	for i, r := range regs {
		s, err := h.Attach(ctx, &herald.Hello{Version: herald.ProtocolVersion, DeviceID: r.Device.ID, DeviceSecret: r.Device.Secret,
			Registrations: []herald.Resume{{Token: r.Token}}}, conn)
		if err != nil {
			b.Fatal(err)
		}
		sessions[i] = s
	}
	<-done
	defer func() {
		for _, s := range sessions {
			h.Detach(ctx, s)
		}
	}()

	body := Body{Data: map[string]string{"n": "1", "t": "1700000000000000000", "pad": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}
	b.ResetTimer()
	for range b.N {
		want.Add(int64(n))
		if _, err := h.SendTopic(ctx, OutgoingTopic{ProjectID: "p1", Topic: "bench", TTL: time.Hour, High: true, Body: body}); err != nil {
			b.Fatal(err)
		}
		<-done
		if !acked {
			continue
		}
		// Every device acks the message, from two goroutines as the
		// gateway's readers would on two cores.
		var aw sync.WaitGroup
		for half := range 2 {
			aw.Go(func() {
				acks := []herald.Ack{{}}
				for j := half; j < n; j += 2 {
					// Up to what was written to it (Ack caps it there).
					acks[0] = herald.Ack{Token: tokens[j], TopicSeq: 1 << 62}
					if err := sessions[j].Ack(ctx, acks); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		aw.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
}

// openStore opens an embedded store in a temporary directory, closed at
// the end of the test.
func openStore(tb testing.TB) *pebblestore.Store {
	tb.Helper()
	st, err := pebblestore.Open(tb.TempDir(), pebblestore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// storeWithApp is openStore with project p1 and its app app-1.
func storeWithApp(tb testing.TB) *pebblestore.Store {
	tb.Helper()
	ctx := context.Background()
	st := openStore(tb)
	if err := st.CreateProject(ctx, store.Project{ID: "p1"}); err != nil {
		tb.Fatal(err)
	}
	if err := st.CreateApp(ctx, store.App{Key: "app-1", ProjectID: "p1"}); err != nil {
		tb.Fatal(err)
	}
	return st
}
