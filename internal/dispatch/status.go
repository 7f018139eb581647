package dispatch

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/heraldpush/herald/internal/condition"
	"github.com/heraldpush/herald/internal/store"
)

// Message status (DESIGN.md §2 "Status"). The store writes a message's
// accepted record with the message, and its collapsed and dropped marks
// with the message that caused them. The hub records deliveries: it
// remembers, per registration, the IDs of the messages written to its
// device and not yet acked (token stream by sequence, topic stream by log
// position); an ack up to N turns those at or below N into deliveries.
// The memory is per token, not per session, so that the acks a device
// states in its hello after a reconnect count too.
//
// Deliveries are not written one by one: a topic message to 20,000
// connected devices brings 20,000 acks within milliseconds. They collect
// in memory and go to the store in one UpdateStatus and one AddDelivered
// call every statusFlushInterval, or sooner once statusFlushItems are
// waiting. Like acks, they need not be durable at once: a lost delivery
// only leaves a message reading "accepted" (then "expired").

const (
	// statusFlushInterval is how long deliveries collect before a flush.
	statusFlushInterval = 100 * time.Millisecond
	// statusFlushItems flushes at once when this many are waiting.
	statusFlushItems = 4096
	// statusMaxWaiting bounds what waits for a flush; beyond it (the store
	// is stuck) deliveries are dropped and counted in the log.
	statusMaxWaiting = 1 << 18

	// sentShards splits the written-not-acked memory to keep its locks
	// short under a fan-out.
	sentShards = 64
	// sentPerToken bounds what is remembered per registration and stream:
	// the oldest go first (a device that does not ack for that long).
	sentPerToken = 1024
	// sentPerShard bounds one generation of a shard, in entries: when a
	// shard's current generation holds more, it becomes the old one and
	// the previous old one is forgotten (devices that went away without
	// acking). Every access moves a token to the current generation.
	sentPerShard = 1 << 14

	// maxConditionScan bounds the subscriptions read to count a
	// condition's targets at send time (the send waits for the count).
	maxConditionScan = 100_000
)

// sentRef is a message written to a device: its sequence in the token
// stream, or its position in the topic stream (topic).
type sentRef struct {
	seq   uint64
	id    string
	topic bool
}

// sentLog is one registration's written-not-acked messages, in order.
type sentLog struct {
	msgs, topics []sentRef
}

func (l *sentLog) size() int { return len(l.msgs) + len(l.topics) }

// add remembers r unless it is there already (a redelivery).
func add(list []sentRef, r sentRef) []sentRef {
	if n := len(list); n == 0 || list[n-1].seq < r.seq {
		list = append(list, r) // in order, as nearly always
	} else {
		i, found := slices.BinarySearchFunc(list, r.seq, func(e sentRef, seq uint64) int { return cmp.Compare(e.seq, seq) })
		if found {
			return list
		}
		list = slices.Insert(list, i, r)
	}
	if len(list) > sentPerToken {
		list = slices.Delete(list, 0, len(list)-sentPerToken)
	}
	return list
}

// take removes the entries at or below upTo and appends them to dst.
func take(list []sentRef, upTo uint64, dst []sentRef) (rest, acked []sentRef) {
	n := 0
	for n < len(list) && list[n].seq <= upTo {
		n++
	}
	if n == 0 {
		return list, dst
	}
	acked = append(dst, list[:n]...)
	return slices.Delete(list, 0, n), acked
}

// freeLogs is how many emptied logs a shard keeps for reuse: in steady
// state a delivery then allocates nothing.
const freeLogs = 64

type sentShard struct {
	mu       sync.Mutex
	cur, old map[string]*sentLog
	curSize  int        // entries in cur
	free     []*sentLog // emptied logs, for reuse
}

// release forgets token's emptied log, keeping it for reuse.
func (s *sentShard) release(token string, l *sentLog) {
	delete(s.cur, token)
	clear(l.msgs)
	clear(l.topics)
	l.msgs, l.topics = l.msgs[:0], l.topics[:0]
	if len(s.free) < freeLogs {
		s.free = append(s.free, l)
	}
}

// get returns token's log, moving it to the current generation; nil if
// create is false and there is none.
func (s *sentShard) get(token string, create bool) *sentLog {
	if l := s.cur[token]; l != nil {
		return l
	}
	l := s.old[token]
	if l != nil {
		delete(s.old, token)
	} else if !create {
		return nil
	} else if n := len(s.free); n > 0 {
		l, s.free = s.free[n-1], s.free[:n-1]
	} else {
		l = &sentLog{}
	}
	if s.cur == nil || s.curSize >= sentPerShard {
		s.old, s.cur, s.curSize = s.cur, map[string]*sentLog{}, 0
	}
	s.cur[token] = l
	s.curSize += l.size()
	return l
}

// statusRecorder is the hub's delivery memory and its pending writes. The
// zero value is ready; closeStatus flushes it at shutdown.
type statusRecorder struct {
	seed   maphash.Seed
	seeded sync.Once
	shards [sentShards]sentShard

	mu        sync.Mutex
	updates   []store.StatusUpdate
	delivered map[string]int64
	waiting   int
	lost      int // deliveries dropped since the last flush (statusMaxWaiting)
	timer     *time.Timer
	urgent    bool // timer is the immediate flush of a full batch
	closed    bool

	flushMu sync.Mutex // one flush at a time
}

func (r *statusRecorder) shard(token string) *sentShard {
	r.seeded.Do(func() { r.seed = maphash.MakeSeed() })
	return &r.shards[maphash.String(r.seed, token)%sentShards]
}

// take removes from l what acks up to upTo (token stream) and topicUpTo
// (topic stream) cover, and appends it to dst.
func (l *sentLog) take(upTo, topicUpTo uint64, dst []sentRef) []sentRef {
	l.msgs, dst = take(l.msgs, upTo, dst)
	l.topics, dst = take(l.topics, topicUpTo, dst)
	return dst
}

// handOverStatus keeps what a session wrote to token and was not acked
// when the session ended (l, emptied), until a later session adopts it
// or an ack in a hello covers it.
func (h *Hub) handOverStatus(token string, l *sentLog) {
	if l.size() == 0 {
		return
	}
	sh := h.status.shard(token)
	sh.mu.Lock()
	kept := sh.get(token, true)
	before := kept.size()
	for _, r := range l.msgs {
		kept.msgs = add(kept.msgs, r)
	}
	for _, r := range l.topics {
		kept.topics = add(kept.topics, r)
	}
	sh.curSize += kept.size() - before
	sh.mu.Unlock()
	*l = sentLog{}
}

// adoptStatus returns (and forgets) what earlier sessions wrote to token
// and was not acked: the token's new session keeps it.
func (h *Hub) adoptStatus(token string) sentLog {
	sh := h.status.shard(token)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	l := sh.get(token, false)
	if l == nil {
		return sentLog{}
	}
	out := sentLog{msgs: slices.Clone(l.msgs), topics: slices.Clone(l.topics)}
	sh.curSize -= l.size()
	sh.release(token, l)
	return out
}

// ackedStatus turns what the hub keeps for token (written by a session
// that has ended) up to upTo in its token stream and topicUpTo in its
// topic stream into deliveries.
func (h *Hub) ackedStatus(token string, upTo, topicUpTo uint64) {
	sh := h.status.shard(token)
	sh.mu.Lock()
	l := sh.get(token, false)
	var buf [4]sentRef
	acked := buf[:0]
	if l != nil {
		before := l.size()
		acked = l.take(upTo, topicUpTo, acked)
		sh.curSize += l.size() - before
		if l.size() == 0 {
			sh.release(token, l)
		}
	}
	sh.mu.Unlock()
	h.recordDelivered(acked)
}

// recordDelivered collects deliveries for the next flush.
func (h *Hub) recordDelivered(acked []sentRef) {
	if len(acked) == 0 {
		return
	}
	r := &h.status
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	for _, a := range acked {
		if r.waiting >= statusMaxWaiting {
			r.lost++
			continue
		}
		r.waiting++
		if a.topic {
			if r.delivered == nil {
				r.delivered = map[string]int64{}
			}
			r.delivered[a.id]++
		} else {
			r.updates = append(r.updates, store.StatusUpdate{ID: a.id, State: store.StateDelivered})
		}
	}
	switch {
	case r.waiting >= statusFlushItems && !r.urgent:
		r.urgent = true
		if r.timer != nil {
			r.timer.Stop()
		}
		r.timer = time.AfterFunc(0, func() { h.flushStatus(context.Background()) })
	case r.timer == nil:
		r.timer = time.AfterFunc(statusFlushInterval, func() { h.flushStatus(context.Background()) })
	}
}

// flushStatus writes the collected deliveries: one UpdateStatus, one
// AddDelivered.
func (h *Hub) flushStatus(ctx context.Context) {
	r := &h.status
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	updates, delivered, lost := r.updates, r.delivered, r.lost
	r.updates, r.delivered, r.waiting, r.lost, r.timer, r.urgent = nil, nil, 0, 0, nil, false
	r.mu.Unlock()
	if lost > 0 {
		h.logger.Warn("message deliveries not recorded: too many waiting for the store", "lost", lost)
	}
	now := h.now()
	h.writeStatus("update_status", len(updates), func() error { return h.store.UpdateStatus(ctx, updates, now) })
	h.writeStatus("add_delivered", len(delivered), func() error { return h.store.AddDelivered(ctx, delivered, now) })
}

// writeStatus makes one timed store call for n messages, if any; a
// failure is logged (the deliveries are lost, not the messages).
func (h *Hub) writeStatus(op string, n int, call func() error) {
	if n == 0 {
		return
	}
	start := time.Now()
	err := call()
	h.metrics.StoreSeconds.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil {
		h.logger.Error("recording message deliveries", "op", op, "messages", n, "err", err)
	}
}

// closeStatus writes what is collected and stops collecting.
func (h *Hub) closeStatus(ctx context.Context) {
	r := &h.status
	r.mu.Lock()
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
	}
	r.mu.Unlock()
	h.flushStatus(ctx)
}

// DefaultStatusRetention is the default Config.StatusRetention.
const DefaultStatusRetention = 7 * 24 * time.Hour

// purgeStatus removes the status records of messages that ended more than
// the retention ago.
func (h *Hub) purgeStatus(ctx context.Context) error {
	retention := h.cfg.StatusRetention
	if retention <= 0 {
		retention = DefaultStatusRetention
	}
	before := h.now().Add(-retention)
	for {
		n, err := h.store.PurgeStatus(ctx, before, 10000)
		if err != nil {
			return err
		}
		if n < 10000 {
			return nil
		}
	}
}

// MessageStatus returns a message's status record and the hub's time,
// at which to read it (Status.At, Status.Counts); store.ErrNotFound for an
// unknown (or purged) ID.
func (h *Hub) MessageStatus(ctx context.Context, id string) (store.Status, time.Time, error) {
	st, err := h.store.MessageStatus(ctx, id)
	if err != nil {
		return store.Status{}, time.Time{}, fmt.Errorf("reading message status: %w", err)
	}
	return st, h.now(), nil
}

// targetedBy counts the targets of a topic message about to be sent.
func (h *Hub) targetedBy(ctx context.Context, o OutgoingTopic) (int64, error) {
	if o.Condition == "" {
		return h.targeted(ctx, o.ProjectID, o.Topic, nil)
	}
	c, err := condition.Parse(o.Condition)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrBadCondition, err)
	}
	return h.targeted(ctx, o.ProjectID, "", c)
}

// targeted counts the registrations a topic or condition message is for
// when it is sent, for its status: a topic's subscribers; for a condition,
// the subscribers of its topics whose subscriptions satisfy it, each
// once. It returns -1 (not counted) for a condition that holds for a
// registration subscribed to none of its topics (such as
// "!('a' in topics)"): it reaches registrations outside the subscriber
// lists, which are not indexed by project; and for a condition whose
// topics have more than maxConditionScan subscriptions between them.
func (h *Hub) targeted(ctx context.Context, project, topic string, cond *condition.Condition) (int64, error) {
	if cond == nil {
		_, total, err := h.store.TopicSubscribers(ctx, project, topic, "", 1)
		if err != nil {
			return 0, fmt.Errorf("counting subscribers: %w", err)
		}
		return int64(total), nil
	}
	if cond.Eval(func(string) bool { return false }) {
		return -1, nil
	}
	topics := cond.Topics()
	sum := 0
	for _, t := range topics {
		_, total, err := h.store.TopicSubscribers(ctx, project, t, "", 1)
		if err != nil {
			return 0, fmt.Errorf("counting subscribers: %w", err)
		}
		sum += total
	}
	if sum > maxConditionScan {
		return -1, nil
	}
	// Each token's subscriptions among the condition's topics, as a bit
	// set (a condition has at most 5 topics).
	has := map[string]uint32{}
	const page = 4096
	for i, t := range topics {
		after := ""
		for {
			subs, _, err := h.store.TopicSubscribers(ctx, project, t, after, page)
			if err != nil {
				return 0, fmt.Errorf("listing subscribers: %w", err)
			}
			for _, s := range subs {
				has[s.Token] |= 1 << i
			}
			if len(subs) < page {
				break
			}
			after = subs[len(subs)-1].Token
		}
	}
	var n int64
	for _, bits := range has {
		if cond.Eval(func(t string) bool {
			i := slices.Index(topics, t)
			return i >= 0 && bits&(1<<i) != 0
		}) {
			n++
		}
	}
	return n, nil
}
