package quota

import (
	"hash/maphash"
	"sync"
	"time"
)

// deviceShards is the number of independently locked parts of the
// per-registration state.
const deviceShards = 64

// minSweep is the shard size below which no sweep runs.
const minSweep = 256

// deviceState is a registration's two buckets (tats).
type deviceState struct{ minute, hour int64 }

// refilled reports whether both buckets are full at now: the state is then
// the same as no state at all.
func (s deviceState) refilled(now int64) bool { return s.minute <= now && s.hour <= now }

type deviceShard struct {
	mu      sync.Mutex
	m       map[string]deviceState
	sweepAt int // sweep when len(m) reaches it
}

// Device takes one message from the registration's per-minute and
// per-hour limits: both or neither. It returns nil, or an *ExceededError
// naming the limit that refused (the hourly one when both did).
func (l *Limiter) Device(token string) error {
	if l == nil || (l.minute.unlimited() && l.hour.unlimited()) {
		return nil
	}
	now := l.clock()
	sh := &l.shards[maphash.String(l.seed, token)%deviceShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := sh.m[token]
	next := st
	var minuteWait, hourWait time.Duration
	if !l.minute.unlimited() {
		next.minute, minuteWait = l.minute.take(st.minute, now)
	}
	if !l.hour.unlimited() {
		next.hour, hourWait = l.hour.take(st.hour, now)
	}
	switch {
	case hourWait > 0 && hourWait >= minuteWait:
		return &ExceededError{Limit: LimitDeviceHour, RetryAfter: hourWait}
	case minuteWait > 0:
		return &ExceededError{Limit: LimitDeviceMinute, RetryAfter: minuteWait}
	}
	if _, ok := sh.m[token]; !ok && len(sh.m) >= sh.sweepAt {
		l.sweep(sh, now)
	}
	sh.m[token] = next
	return nil
}

// sweep drops the shard's refilled entries, then, if it is still full,
// arbitrary ones down to 7/8 of its capacity. It runs again when the shard
// has doubled (or reached its capacity), so its cost is amortised.
func (l *Limiter) sweep(sh *deviceShard, now int64) {
	for k, st := range sh.m {
		if st.refilled(now) {
			delete(sh.m, k)
		}
	}
	if len(sh.m) >= l.shardCap {
		keep := l.shardCap - l.shardCap/8 - 1
		for k := range sh.m {
			if len(sh.m) <= keep {
				break
			}
			delete(sh.m, k)
		}
	}
	sh.sweepAt = min(l.shardCap, max(minSweep, 2*len(sh.m)))
}

// Devices returns the number of registrations whose rate state is kept.
func (l *Limiter) Devices() int {
	if l == nil {
		return 0
	}
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
