package dispatch

import (
	"context"
	"runtime"
	"sync"
)

// maxWriters is how many goroutines write to devices at once. A write to
// a device whose socket buffer is full waits (up to the gateway's write
// deadline) without holding a core, so more writers than cores keep a
// fan-out going past a few stuck devices; but every runnable writer is
// one more turn a send call waits for during a fan-out (with 128, the
// send API answered in 0.4 s, not 25 ms, while 19,500 devices were
// written to back to back).
const maxWriters = 32

// writers runs the sessions' writes on at most maxWriters goroutines, in
// the order the sessions asked: a fan-out to thousands of devices keeps a
// bounded number of goroutines runnable, so the rest of the server (the
// send API, the store's writer) is not queued behind thousands of them,
// and the goroutines, their stacks and write buffers are reused from one
// device to the next. A writer exits when no session waits: an idle
// server has none.
type writers struct {
	mu     sync.Mutex
	queue  []*Session // waiting sessions, from head on
	head   int
	active int // writer goroutines running
}

// schedule queues a session for a write pass, starting a writer if fewer
// than maxWriters run.
func (h *Hub) schedule(s *Session) {
	h.scheduleAll([]*Session{s})
}

// scheduleAll queues sessions for write passes under one lock (a fan-out
// schedules thousands), starting writers for them up to maxWriters.
func (h *Hub) scheduleAll(ss []*Session) {
	if len(ss) == 0 {
		return
	}
	w := &h.writers
	w.mu.Lock()
	w.queue = append(w.queue, ss...)
	start := min(maxWriters-w.active, len(ss))
	w.active += start
	w.mu.Unlock()
	for range start {
		go h.writer()
	}
}

// writerTake is how many sessions a writer takes from the queue at once.
const writerTake = 8

// writer runs write passes of queued sessions until none waits. A session
// with more to write after a pass goes to the back of the queue.
func (h *Hub) writer() {
	ctx := context.Background()
	var out batch
	var mine, again []*Session
	w := &h.writers
	for {
		w.mu.Lock()
		w.queue = append(w.queue, again...)
		if w.head == len(w.queue) {
			w.queue, w.head = w.queue[:0], 0
			w.active--
			w.mu.Unlock()
			return
		}
		n := min(writerTake, len(w.queue)-w.head)
		mine = append(mine[:0], w.queue[w.head:w.head+n]...)
		clear(w.queue[w.head : w.head+n])
		w.head += n
		w.mu.Unlock()
		again = again[:0]
		// One clock reading for the round (expiry checks): reading it
		// per session was 7% of the server's CPU in a fan-out.
		now := h.now()
		for _, s := range mine {
			if s.writePass(ctx, &out, now) {
				again = append(again, s)
			}
		}
		clear(mine)
		if out.written > 0 {
			h.metrics.Deliveries.Add(float64(out.written))
			out.written = 0
		}
		// A writer never waits while sessions do: without a yield it
		// would keep its core until preempted (10 ms), and a send call
		// arriving during a fan-out would wait behind every runnable
		// writer's slice (hundreds of ms at 19,500 devices).
		runtime.Gosched()
	}
}
