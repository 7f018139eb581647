package dispatch

import (
	"context"
	"sync"
	"time"
)

// topicAckInterval is how long topic acks collect in memory before store
// writes move all their cursors (DESIGN.md §4: acks advance cursors in
// batches). A topic message to N connected subscribers brings N acks
// within milliseconds; written one by one they would cost the store more
// than the fan-out itself. Cursors need not be durable at once: a lost
// advance only makes a device read entries again, which its SDK drops as
// duplicates, and a reconnecting device states its own position.
const topicAckInterval = 5 * time.Second

// topicAckChunk is how many cursors one store write moves: sends queue
// behind a write in the store's writer, so a flush of 19,500 cursors goes
// in chunks that sends can pass between.
const topicAckChunk = 512

// topicAcks collects topic cursor advances for the store.
type topicAcks struct {
	mu      sync.Mutex
	pending map[string]uint64 // token → highest acked log position
	timer   *time.Timer       // the scheduled flush, nil if none
	closed  bool

	flushMu sync.Mutex // one flush at a time, so cursors are written in order
}

// ackTopic records that a registration's device handled its topic stream
// up to upTo; the cursor reaches the store with the next flush.
func (h *Hub) ackTopic(token string, upTo uint64) {
	a := &h.topicAcks
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	if a.pending == nil {
		a.pending = map[string]uint64{}
	}
	if upTo > a.pending[token] {
		a.pending[token] = upTo
	}
	if a.timer == nil {
		a.timer = time.AfterFunc(topicAckInterval, func() { h.flushTopicAcks(context.Background()) })
	}
	h.metrics.Acks.Inc()
}

// flushTopicAcks writes the collected cursor advances in one store call.
func (h *Hub) flushTopicAcks(ctx context.Context) {
	a := &h.topicAcks
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	a.mu.Lock()
	acks := a.pending
	a.pending, a.timer = nil, nil
	a.mu.Unlock()
	if len(acks) == 0 {
		return
	}
	chunk := make(map[string]uint64, min(len(acks), topicAckChunk))
	write := func() {
		start := time.Now()
		err := h.store.AckTopics(ctx, chunk)
		h.metrics.StoreSeconds.WithLabelValues("ack_topics").Observe(time.Since(start).Seconds())
		if err != nil {
			h.logger.Error("writing topic cursors", "registrations", len(chunk), "err", err)
		}
		clear(chunk)
	}
	for token, upTo := range acks {
		chunk[token] = upTo
		if len(chunk) == topicAckChunk {
			write()
		}
	}
	if len(chunk) > 0 {
		write()
	}
}

// closeTopicAcks writes what is collected and stops collecting.
func (h *Hub) closeTopicAcks(ctx context.Context) {
	a := &h.topicAcks
	a.mu.Lock()
	a.closed = true
	if a.timer != nil {
		a.timer.Stop()
	}
	a.mu.Unlock()
	h.flushTopicAcks(ctx)
}
