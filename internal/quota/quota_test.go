package quota

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct{ t atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.t.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *fakeClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(int64(d)) }

// refusal returns the limit and wait of an *ExceededError, or "ok".
func refusal(err error) string {
	var e *ExceededError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &e):
		return fmt.Sprintf("%s %v", e.Limit, e.RetryAfter)
	default:
		return err.Error()
	}
}

func TestProjectQuota(t *testing.T) {
	c := newFakeClock()
	l := New(Config{ProjectPerMinute: 5, Now: c.now})
	var got []string
	take := func(n int) {
		for range n {
			got = append(got, refusal(l.Project("p")))
		}
	}
	take(6)                    // a full bucket: 5 at once, the 6th waits one interval (12 s)
	c.advance(5 * time.Second) // not yet
	take(1)
	c.advance(7 * time.Second) // one token back
	take(2)
	c.advance(time.Minute) // full again, not more
	take(6)
	want := []string{
		"ok", "ok", "ok", "ok", "ok", "project 12s",
		"project 7s",
		"ok", "project 12s",
		"ok", "ok", "ok", "ok", "ok", "project 12s",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
	if err := l.Project("other"); err != nil {
		t.Errorf("another project shares the quota: %v", err)
	}
}

func TestProjectRefund(t *testing.T) {
	c := newFakeClock()
	l := New(Config{ProjectPerMinute: 2, Now: c.now})
	for range 2 {
		if err := l.Project("p"); err != nil {
			t.Fatal(err)
		}
	}
	l.RefundProject("p")
	if err := l.Project("p"); err != nil {
		t.Errorf("after a refund: %v", err)
	}
	if err := l.Project("p"); err == nil {
		t.Error("a third message in the minute was accepted")
	}
}

func TestDeviceLimits(t *testing.T) {
	c := newFakeClock()
	l := New(Config{DevicePerMinute: 3, DevicePerHour: 5, Now: c.now})
	var got []string
	take := func(n int) {
		for range n {
			got = append(got, refusal(l.Device("a")))
		}
	}
	take(4) // 3 at once, then one every 20 s
	c.advance(20 * time.Second)
	take(2)
	c.advance(time.Minute) // the minute bucket is full; the hour has 1 left
	take(2)
	c.advance(time.Hour)
	take(1)
	want := []string{
		"ok", "ok", "ok", "device_minute 20s",
		"ok", "device_minute 20s",
		"ok", "device_hour 10m40s", // 5 per hour = one per 12 min; 5 sent since t=0, so one more at t=12m
		"ok",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
	if err := l.Device("b"); err != nil {
		t.Errorf("another device shares the limit: %v", err)
	}
}

func TestDeviceRefusalTakesNothing(t *testing.T) {
	// The hourly limit refuses while the minute one would accept: the
	// minute bucket must not lose a token to the refused message.
	c := newFakeClock()
	l := New(Config{DevicePerMinute: 2, DevicePerHour: 2, Now: c.now})
	for range 2 {
		if err := l.Device("a"); err != nil {
			t.Fatal(err)
		}
	}
	c.advance(time.Minute)
	for range 10 {
		if err := l.Device("a"); refusal(err) != "device_hour 29m0s" {
			t.Fatalf("got %v, want the hourly limit", err)
		}
	}
	c.advance(time.Hour)
	for range 2 {
		if err := l.Device("a"); err != nil {
			t.Fatalf("refusals took tokens: %v", err)
		}
	}
}

func TestUnlimited(t *testing.T) {
	var nilLimiter *Limiter
	for name, l := range map[string]*Limiter{"zero config": New(Config{}), "nil": nilLimiter} {
		for range 100_000 {
			if err := l.Project("p"); err != nil {
				t.Fatalf("%s: project: %v", name, err)
			}
			if err := l.Device("a"); err != nil {
				t.Fatalf("%s: device: %v", name, err)
			}
		}
		for range 1000 {
			if err := l.Acquire(); err != nil {
				t.Fatalf("%s: acquire: %v", name, err)
			}
		}
	}
}

func TestDeviceStateIsBounded(t *testing.T) {
	c := newFakeClock()
	l := New(Config{DevicePerMinute: 240, DevicePerHour: 5000, MaxDevices: 64 * 512, Now: c.now})
	// Busy devices: all hold state; the map stays within its bound.
	for i := range 200_000 {
		if err := l.Device(fmt.Sprint("busy-", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.Devices(); n > 64*512 {
		t.Errorf("%d devices tracked, bound 32768", n)
	}
	// Once their buckets refill, their state is dropped first: a busy
	// device keeps its own while new devices arrive.
	c.advance(time.Hour)
	for range 240 {
		if err := l.Device("keep"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 64 * 128 {
		if err := l.Device(fmt.Sprint("later-", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Device("keep"); refusal(err) != "device_minute 250ms" {
		t.Errorf("241st message in a minute: %v, want device_minute 250ms", err)
	}
	if n := l.Devices(); n > 64*128+1+64*minSweep {
		t.Errorf("%d devices tracked after the refilled ones could go", n)
	}
}

func TestInFlight(t *testing.T) {
	l := New(Config{MaxInFlight: 2})
	for range 2 {
		if err := l.Acquire(); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Acquire(); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("third acquire: %v, want ErrOverloaded", err)
	}
	if n := l.InFlight(); n != 2 {
		t.Errorf("in flight %d, want 2", n)
	}
	l.Release()
	if err := l.Acquire(); err != nil {
		t.Errorf("after a release: %v", err)
	}
}

func TestConcurrentProjectQuotaIsExact(t *testing.T) {
	// With the clock stopped, exactly the quota is accepted however many
	// goroutines race for it.
	c := newFakeClock()
	l := New(Config{ProjectPerMinute: 1000, DevicePerMinute: 100, Now: c.now})
	var ok, okDevice atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				if l.Project("p") == nil {
					ok.Add(1)
				}
				if l.Device("a") == nil {
					okDevice.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1000 || okDevice.Load() != 100 {
		t.Errorf("accepted %d project and %d device messages, want 1000 and 100", ok.Load(), okDevice.Load())
	}
}

// BenchmarkProject is the cost of a project quota check on the hot path,
// from all Ps at once on one project (the worst case: one contended word).
func BenchmarkProject(b *testing.B) {
	l := New(Config{ProjectPerMinute: 1 << 40})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Project("demo"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDevice is the cost of a device rate check over 100,000
// registrations, from all Ps at once.
func BenchmarkDevice(b *testing.B) {
	l := New(Config{DevicePerMinute: 1 << 40, DevicePerHour: 1 << 40})
	tokens := make([]string, 100_000)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("token-%043d", i)
	}
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) * 7919
		for pb.Next() {
			i++
			if err := l.Device(tokens[i%len(tokens)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSendChecks is everything a send pays: project, device, and an
// in-flight slot.
func BenchmarkSendChecks(b *testing.B) {
	l := New(Config{ProjectPerMinute: 1 << 40, DevicePerMinute: 1 << 40, DevicePerHour: 1 << 40, MaxInFlight: 1 << 20})
	tokens := make([]string, 100_000)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("token-%043d", i)
	}
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) * 7919
		for pb.Next() {
			i++
			if l.Project("demo") != nil || l.Device(tokens[i%len(tokens)]) != nil || l.Acquire() != nil {
				b.Fatal("refused")
			}
			l.Release()
		}
	})
}
