package dispatch

import (
	"context"
	"sync"
)

// maxWriters is how many goroutines write to devices at once.
const maxWriters = 128

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
	w := &h.writers
	w.mu.Lock()
	w.queue = append(w.queue, s)
	start := w.active < maxWriters
	if start {
		w.active++
	}
	w.mu.Unlock()
	if start {
		go h.writer()
	}
}

// writer runs write passes of queued sessions until none waits. A session
// with more to write after a pass goes to the back of the queue.
func (h *Hub) writer() {
	ctx := context.Background()
	var out batch
	w := &h.writers
	for {
		w.mu.Lock()
		if w.head == len(w.queue) {
			w.queue, w.head = w.queue[:0], 0
			w.active--
			w.mu.Unlock()
			return
		}
		s := w.queue[w.head]
		w.queue[w.head] = nil
		w.head++
		w.mu.Unlock()
		if s.writePass(ctx, &out) {
			w.mu.Lock()
			w.queue = append(w.queue, s)
			w.mu.Unlock()
		}
	}
}
