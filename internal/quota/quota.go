// Package quota limits sends as FCM does: a message quota per project, a
// rate limit per registration (per minute and per hour), and a bound on the
// sends waiting for the durable write (backpressure).
//
// The rate limits are token buckets kept as GCRA ("generic cell rate
// algorithm") state: one theoretical arrival time per bucket, computed from
// the clock, so that a check is a few arithmetic operations. A project's
// bucket is one atomic integer (no lock on the hot path); registrations
// live in a sharded map with a mutex per shard.
package quota

import (
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Limit names the limit that refused a send.
type Limit string

// The limits.
const (
	LimitProject      Limit = "project"
	LimitDeviceMinute Limit = "device_minute"
	LimitDeviceHour   Limit = "device_hour"
)

// ErrOverloaded is returned by Acquire when too many sends are waiting for
// the store.
var ErrOverloaded = errors.New("too many sends are waiting for the store")

// ExceededError is the refusal of a send by a rate limit.
type ExceededError struct {
	// Limit is the limit that refused it.
	Limit Limit
	// RetryAfter is how long until the limit accepts one more message.
	RetryAfter time.Duration
}

func (e *ExceededError) Error() string {
	return fmt.Sprintf("%s quota exceeded; retry after %v", e.Limit, e.RetryAfter)
}

// DefaultMaxDevices is the default bound of Config.MaxDevices.
const DefaultMaxDevices = 1 << 20

// Config sets the limits. A zero limit means unlimited.
type Config struct {
	// ProjectPerMinute is the most messages per project per minute
	// (FCM: 600,000). 0: unlimited.
	ProjectPerMinute int
	// DevicePerMinute and DevicePerHour are the most messages per
	// registration token per minute and per hour (FCM: 240 and 5,000).
	// 0: unlimited.
	DevicePerMinute, DevicePerHour int
	// MaxInFlight is the most sends waiting for the durable write at once;
	// Acquire refuses more. 0: unlimited.
	MaxInFlight int
	// MaxDevices bounds the registrations whose rate state is kept. State
	// that has fully refilled is dropped first (that changes nothing);
	// beyond the bound, arbitrary entries are forgotten (their buckets
	// start full again). Default DefaultMaxDevices.
	MaxDevices int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Limiter applies a Config. Its methods are safe for concurrent use, and
// a nil *Limiter limits nothing.
type Limiter struct {
	now   func() time.Time
	epoch time.Time

	project  gcra // zero interval: unlimited
	projects sync.Map

	minute, hour gcra
	seed         maphash.Seed
	shards       [deviceShards]deviceShard
	shardCap     int

	maxInFlight int64
	inFlight    atomic.Int64
}

// New returns a limiter for cfg. Negative limits count as 0 (unlimited).
func New(cfg Config) *Limiter {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	maxDevices := cfg.MaxDevices
	if maxDevices <= 0 {
		maxDevices = DefaultMaxDevices
	}
	l := &Limiter{
		now:         now,
		epoch:       now().Add(-epochLead),
		project:     newGCRA(cfg.ProjectPerMinute, time.Minute),
		minute:      newGCRA(cfg.DevicePerMinute, time.Minute),
		hour:        newGCRA(cfg.DevicePerHour, time.Hour),
		seed:        maphash.MakeSeed(),
		shardCap:    max(1, maxDevices/deviceShards),
		maxInFlight: int64(max(0, cfg.MaxInFlight)),
	}
	for i := range l.shards {
		l.shards[i].m = map[string]deviceState{}
		l.shards[i].sweepAt = min(l.shardCap, minSweep)
	}
	return l
}

// epochLead puts the limiter's epoch a day before its creation, so that an
// empty bucket (tat 0) is full even if the clock later steps back a little.
const epochLead = 24 * time.Hour

// clock returns the time since the limiter's epoch, in nanoseconds. With
// time.Now it is monotonic: wall clock steps do not move it.
func (l *Limiter) clock() int64 { return int64(l.now().Sub(l.epoch)) }

// gcra is a token bucket of n tokens refilled over a period, as the
// generic cell rate algorithm keeps it: a request at time now is allowed
// when the bucket's theoretical arrival time tat is at most now+tau, and
// then moves tat on by one interval.
type gcra struct {
	interval int64 // period / n; 0: unlimited
	tau      int64 // burst tolerance: (n-1) intervals, so n at once
}

func newGCRA(n int, period time.Duration) gcra {
	if n <= 0 {
		return gcra{}
	}
	iv := max(1, int64(period)/int64(n))
	return gcra{interval: iv, tau: iv * int64(n-1)}
}

func (g gcra) unlimited() bool { return g.interval == 0 }

// take returns the bucket's next tat if one token is available at now, or
// how long until one is.
func (g gcra) take(tat, now int64) (next int64, wait time.Duration) {
	tat = max(tat, now)
	if w := tat - now - g.tau; w > 0 {
		return 0, time.Duration(w)
	}
	return tat + g.interval, 0
}

// bucket is a project's state: its tat.
type bucket struct{ tat atomic.Int64 }

// Project takes one message from the project's quota. It returns nil, or
// an *ExceededError when the quota is spent.
func (l *Limiter) Project(id string) error {
	if l == nil || l.project.unlimited() {
		return nil
	}
	b := l.bucket(id)
	now := l.clock()
	for {
		old := b.tat.Load()
		next, wait := l.project.take(old, now)
		if wait > 0 {
			return &ExceededError{Limit: LimitProject, RetryAfter: wait}
		}
		if b.tat.CompareAndSwap(old, next) {
			return nil
		}
	}
}

// RefundProject gives back a message that Project took, for a request that
// does not count after all.
func (l *Limiter) RefundProject(id string) {
	if l == nil || l.project.unlimited() {
		return
	}
	l.bucket(id).tat.Add(-l.project.interval)
}

func (l *Limiter) bucket(id string) *bucket {
	if b, ok := l.projects.Load(id); ok {
		return b.(*bucket)
	}
	b, _ := l.projects.LoadOrStore(id, &bucket{})
	return b.(*bucket)
}

// Acquire takes a slot for a send about to wait for the durable write, or
// returns ErrOverloaded when all are taken. Every nil return must be
// followed by one Release.
func (l *Limiter) Acquire() error {
	if l == nil {
		return nil
	}
	if n := l.inFlight.Add(1); l.maxInFlight > 0 && n > l.maxInFlight {
		l.inFlight.Add(-1)
		return ErrOverloaded
	}
	return nil
}

// Release gives back a slot taken by Acquire.
func (l *Limiter) Release() {
	if l != nil {
		l.inFlight.Add(-1)
	}
}

// InFlight returns the number of slots taken.
func (l *Limiter) InFlight() int {
	if l == nil {
		return 0
	}
	return int(l.inFlight.Load())
}
