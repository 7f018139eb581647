package client

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBackoffBoundsAndGrowth(t *testing.T) {
	var asked []int64
	lowest := func(n int64) int64 { asked = append(asked, n); return 0 }
	highest := func(n int64) int64 { return n - 1 }
	b := BackoffConfig{Min: 250 * time.Millisecond, Max: 30 * time.Second, Rand: lowest}.withDefaults()
	hi := BackoffConfig{Min: 250 * time.Millisecond, Max: 30 * time.Second, Rand: highest}.withDefaults()

	var lows, highs []time.Duration
	for n := range 10 {
		lows = append(lows, b.delay(n))
		highs = append(highs, hi.delay(n))
	}
	wantLows := []time.Duration{250 * time.Millisecond, 250 * time.Millisecond, 250 * time.Millisecond, 250 * time.Millisecond,
		250 * time.Millisecond, 250 * time.Millisecond, 250 * time.Millisecond, 250 * time.Millisecond, 250 * time.Millisecond, 250 * time.Millisecond}
	if diff := cmp.Diff(wantLows, lows); diff != "" {
		t.Errorf("lowest delays (-want +got):\n%s", diff)
	}
	// The ceiling doubles from 2·Min and stops at Max.
	wantHighs := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second}
	if diff := cmp.Diff(wantHighs, highs); diff != "" {
		t.Errorf("highest delays (-want +got):\n%s", diff)
	}
	// The random draw spans the whole range [Min, ceiling], both ends included.
	if want := int64(250*time.Millisecond) + 1; asked[0] != want {
		t.Errorf("first draw over %d values, want %d", asked[0], want)
	}
}

func TestBackoffNeverOverflows(t *testing.T) {
	b := BackoffConfig{Rand: func(n int64) int64 { return n - 1 }}.withDefaults()
	for _, n := range []int{30, 61, 62, 63, 64, 1000, 1 << 30} {
		if d := b.delay(n); d != DefaultBackoffMax {
			t.Errorf("delay(%d) = %v, want %v", n, d, DefaultBackoffMax)
		}
	}
}

func TestBackoffDefaults(t *testing.T) {
	b := BackoffConfig{}.withDefaults()
	if b.Min != 250*time.Millisecond || b.Max != 30*time.Second || b.Rand == nil {
		t.Fatalf("defaults = %v, %v, rand set %t", b.Min, b.Max, b.Rand != nil)
	}
	// Max below Min is raised to Min: the delay is then fixed.
	fixed := BackoffConfig{Min: time.Second, Max: time.Millisecond}.withDefaults()
	for n := range 5 {
		if d := fixed.delay(n); d != time.Second {
			t.Errorf("delay(%d) = %v, want 1s", n, d)
		}
	}
	// With the real generator every delay stays within its bounds.
	for n := range 20 {
		for range 50 {
			ceil := min(b.Max, b.Min<<(n+1))
			if n >= 62 {
				ceil = b.Max
			}
			if d := b.delay(n); d < b.Min || d > ceil {
				t.Fatalf("delay(%d) = %v outside [%v, %v]", n, d, b.Min, ceil)
			}
		}
	}
}
