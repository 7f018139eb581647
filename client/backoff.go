package client

import (
	"math/rand/v2"
	"time"
)

// Backoff defaults.
const (
	DefaultBackoffMin = 250 * time.Millisecond
	DefaultBackoffMax = 30 * time.Second
)

// BackoffConfig says how long Run waits before connecting again after a
// failed attempt or a lost connection.
//
// The n-th consecutive failure (n = 0, 1, 2…) waits a delay drawn uniformly
// from [Min, min(Max, Min·2^(n+1))]: never less than Min, never more than
// Max, and spread over the whole range so that thousands of devices dropped
// by the same server restart do not come back in the same instant ("full
// jitter" above a floor). A session that reached welcome resets n to 0. A
// goaway frame overrides the delay with the server's own.
type BackoffConfig struct {
	// Min is the shortest delay. Default DefaultBackoffMin (250ms).
	Min time.Duration
	// Max is the longest delay. Default DefaultBackoffMax (30s).
	Max time.Duration
	// Rand returns a uniform random integer in [0, n) for n > 0. Default
	// math/rand/v2.Int64N. Tests inject a deterministic one.
	Rand func(n int64) int64
}

// withDefaults fills the zero fields.
func (b BackoffConfig) withDefaults() BackoffConfig {
	if b.Min <= 0 {
		b.Min = DefaultBackoffMin
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoffMax
	}
	if b.Max < b.Min {
		b.Max = b.Min
	}
	if b.Rand == nil {
		b.Rand = rand.Int64N
	}
	return b
}

// delay returns the delay before the attempt that follows n consecutive
// failures (n ≥ 0). The receiver must have been through withDefaults.
func (b BackoffConfig) delay(n int) time.Duration {
	ceil := b.Max
	// Min·2^(n+1), without overflowing.
	if n < 62 {
		if d := b.Min << (n + 1); d > 0 && d < ceil && d>>(n+1) == b.Min {
			ceil = d
		}
	}
	span := int64(ceil - b.Min)
	if span <= 0 {
		return b.Min
	}
	return b.Min + time.Duration(b.Rand(span+1))
}
