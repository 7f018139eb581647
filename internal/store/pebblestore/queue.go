package pebblestore

import (
	"encoding/binary"
	"fmt"
	"sort"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/heraldpush/herald/internal/store"
)

// queue is the writer's picture of one registration's queue: enough to
// apply the collapse and pending-limit rules and to delete entries (and
// their expiry index keys) without reading the disk.
type queue struct {
	token   string
	last    uint64  // highest sequence ever assigned
	entries []entry // pending, in sequence order
	nonColl int     // KindMessage entries without a collapse key
	dirty   bool    // the seq-0 record must be written in the current batch
}

// entry is one pending queue entry, without its payload.
type entry struct {
	seq      uint64
	exp      int64 // ExpiresAt in unix nanos, or noExpiry
	collapse string
	kind     store.Kind
	dropped  int
	id       string // the message ID, whose status Enqueue marks
}

// counted reports whether e counts toward Limits.MaxPending.
func (e *entry) counted() bool { return e.kind == store.KindMessage && e.collapse == "" }

// find returns the index of the entry with sequence seq, or -1.
func (q *queue) find(seq uint64) int {
	i := sort.Search(len(q.entries), func(i int) bool { return q.entries[i].seq >= seq })
	if i < len(q.entries) && q.entries[i].seq == seq {
		return i
	}
	return -1
}

// queue returns token's queue state, loading it from disk on first touch.
func (w *writer) queue(token string) (*queue, error) {
	if q, ok := w.queues[token]; ok {
		return q, nil
	}
	if last, ok := w.idle[token]; ok {
		return w.activate(token, last), nil
	}
	if last, ok := w.idleOld[token]; ok {
		return w.activate(token, last), nil
	}
	q, err := w.load(token)
	if err != nil {
		return nil, err
	}
	w.queues[token] = q
	w.maybeEmpty = append(w.maybeEmpty, q)
	return q, nil
}

// activate makes an idle queue active again.
func (w *writer) activate(token string, last uint64) *queue {
	delete(w.idle, token)
	delete(w.idleOld, token)
	q := &queue{token: token, last: last}
	w.queues[token] = q
	w.maybeEmpty = append(w.maybeEmpty, q)
	return q
}

// load reads token's last sequence and pending entries from disk.
func (w *writer) load(token string) (*queue, error) {
	lower, upper := queueRange(token)
	it, err := w.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("load queue: %w", err)
	}
	q := &queue{token: token}
	for valid := it.First(); valid; valid = it.Next() {
		seq := queueKeySeq(it.Key())
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("load queue: %w", err)
		}
		if seq == 0 {
			q.last = max(q.last, decodeLastSeq(v))
			continue
		}
		var m store.Message
		if _, _, err := decodeMessage(v, &m); err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("load queue entry %d: %w", seq, err)
		}
		e := entry{seq: seq, exp: expNanos(m.ExpiresAt), collapse: m.CollapseKey, kind: m.Kind, dropped: m.Dropped, id: m.ID}
		q.entries = append(q.entries, e)
		if e.counted() {
			q.nonColl++
		}
		q.last = max(q.last, seq)
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("load queue: %w", err)
	}
	return q, nil
}

// enqueue applies Enqueue.
func (w *writer) enqueue(o *op) error {
	for i := range o.msgs {
		if err := checkID("token", o.msgs[i].Token); err != nil {
			return err
		}
	}
	for i := range o.msgs {
		if _, err := w.queue(o.msgs[i].Token); err != nil {
			return err
		}
	}
	o.outs = make([]store.Outcome, len(o.msgs))
	for i := range o.msgs {
		m := o.msgs[i] // a copy: the caller's slice is not modified
		w.add(w.queues[m.Token], &m, &o.outs[i])
	}
	return nil
}

// add applies the queue rules to one message and writes it.
func (w *writer) add(q *queue, m *store.Message, out *store.Outcome) {
	limits := w.s.limits
	switch {
	case m.CollapseKey != "":
		keys, oldest := 0, -1
		for i := range q.entries {
			e := &q.entries[i]
			if e.collapse == "" {
				continue
			}
			if e.collapse == m.CollapseKey {
				oldest, keys = i, -1
				break
			}
			if oldest < 0 {
				oldest = i
			}
			keys++
		}
		// keys < 0: the same key pends and is replaced; otherwise the
		// oldest key goes if this one would exceed the limit.
		if keys < 0 || keys >= limits.MaxCollapseKeys {
			reason := reasonCollapsed
			if keys >= 0 {
				reason = reasonCollapseLimit
			}
			gone := q.entries[oldest]
			out.Collapsed = append(out.Collapsed, gone.seq)
			w.removeAt(q, oldest)
			w.markQueued(&gone, store.StateCollapsed, reason, m.AcceptedAt)
		}
	case m.Kind == store.KindMessage && q.nonColl >= limits.MaxPending:
		out.Dropped, out.Marker = w.dropPending(q, m)
	}
	m.Seq = w.nextSeq(q)
	out.Seq = m.Seq
	w.put(q, m)
}

// dropPending drops every pending non-collapsible message of q and merges
// them, with any pending marker, into a new KindDeleted marker written
// before m. The marker lives as long as the longest-lived entry it stands
// for (or m).
func (w *writer) dropPending(q *queue, m *store.Message) (int, *store.Message) {
	dropped, total := 0, 0
	exp := expNanos(m.ExpiresAt)
	keep := q.entries[:0]
	for _, e := range q.entries {
		switch {
		case e.counted():
			dropped++
			total++
		case e.kind == store.KindDeleted:
			total += e.dropped
		default:
			keep = append(keep, e)
			continue
		}
		exp = max(exp, e.exp)
		w.deleteEntry(q, &e)
		w.markQueued(&e, store.StateDropped, reasonDropped, m.AcceptedAt)
	}
	clear(q.entries[len(keep):])
	q.entries = keep
	q.nonColl = 0

	marker := &store.Message{
		Token:      q.token,
		Seq:        w.nextSeq(q),
		Kind:       store.KindDeleted,
		ProjectID:  m.ProjectID,
		AcceptedAt: m.AcceptedAt,
		Dropped:    total,
	}
	if exp != noExpiry {
		marker.ExpiresAt = time.Unix(0, exp).UTC()
		if !marker.AcceptedAt.IsZero() {
			marker.TTL = marker.ExpiresAt.Sub(marker.AcceptedAt)
		}
	}
	w.put(q, marker)
	return dropped, marker
}

// put writes m (its Seq assigned) and its expiry index key, and records it
// in q. A message (not a marker) with an ID gets its StateAccepted status
// record in the same batch.
func (w *writer) put(q *queue, m *store.Message) {
	op := w.batch.SetDeferred(queueKeyLen(q.token), encodedLen(m))
	appendQueueKey(op.Key[:0], q.token, m.Seq)
	appendMessage(op.Value[:0], m)
	_ = op.Finish()
	e := entry{seq: m.Seq, exp: expNanos(m.ExpiresAt), collapse: m.CollapseKey, kind: m.Kind, dropped: m.Dropped, id: m.ID}
	if m.Kind == store.KindMessage && m.ID != "" {
		w.putStatus(&store.Status{
			ID: m.ID, ProjectID: m.ProjectID, Token: q.token, State: store.StateAccepted,
			AcceptedAt: m.AcceptedAt, ExpiresAt: m.ExpiresAt, UpdatedAt: m.AcceptedAt,
		}, false) // the end key comes when the entry leaves the queue
	}
	if e.exp != noExpiry {
		w.key = appendExpiryKey(w.key[:0], e.exp, q.token, e.seq)
		_ = w.batch.Set(w.key, nil, nil)
	}
	q.entries = append(q.entries, e)
	if e.counted() {
		q.nonColl++
	}
}

// removeAt deletes q's i-th entry.
func (w *writer) removeAt(q *queue, i int) {
	e := q.entries[i]
	w.deleteEntry(q, &e)
	if e.counted() {
		q.nonColl--
	}
	copy(q.entries[i:], q.entries[i+1:])
	q.entries[len(q.entries)-1] = entry{}
	q.entries = q.entries[:len(q.entries)-1]
	if len(q.entries) == 0 {
		w.maybeEmpty = append(w.maybeEmpty, q)
	}
}

// deleteEntry deletes an entry's keys. Each was set exactly once (sequences
// never repeat), which is what SingleDelete requires; it lets compactions
// drop the pair instead of keeping a tombstone.
//
// While the newest entry pends, its key records the last sequence; the
// seq-0 record is written (at the end of the batch) only when it goes.
func (w *writer) deleteEntry(q *queue, e *entry) {
	w.key = appendQueueKey(w.key[:0], q.token, e.seq)
	_ = w.batch.SingleDelete(w.key, nil)
	if e.exp != noExpiry {
		w.key = appendExpiryKey(w.key[:0], e.exp, q.token, e.seq)
		_ = w.batch.SingleDelete(w.key, nil)
		if e.id != "" && e.kind == store.KindMessage {
			// The message's status record gets its end index key now
			// that it leaves the queue (status.go).
			w.key = statusEndKey(w.key[:0], e.exp, e.id)
			_ = w.batch.Set(w.key, nil, nil)
		}
	}
	if e.seq == q.last && !q.dirty {
		q.dirty = true
		w.dirty = append(w.dirty, q)
	}
}

// dropAll deletes every pending entry of q. With a reason, their
// messages failed at `at`; without, their status is left to the caller
// (the relay records why a vendor's registration went).
func (w *writer) dropAll(q *queue, at time.Time, reason string) {
	for i := range q.entries {
		w.deleteEntry(q, &q.entries[i])
		if reason != "" {
			w.markQueued(&q.entries[i], store.StateFailed, reason, at)
		}
	}
	clear(q.entries)
	q.entries = q.entries[:0]
	q.nonColl = 0
	w.maybeEmpty = append(w.maybeEmpty, q)
}

// writeLastSeq writes q's last sequence to its seq-0 record.
func (w *writer) writeLastSeq(q *queue) {
	w.key = appendQueueKey(w.key[:0], q.token, 0)
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], q.last)
	_ = w.batch.Set(w.key, v[:], nil)
}

func decodeLastSeq(v []byte) uint64 {
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// ack applies Ack.
func (w *writer) ack(o *op) error {
	if err := checkID("token", o.token); err != nil {
		return err
	}
	q, err := w.queue(o.token)
	if err != nil {
		return err
	}
	n := 0
	for n < len(q.entries) && q.entries[n].seq <= o.upTo {
		e := &q.entries[n]
		w.deleteEntry(q, e)
		if e.counted() {
			q.nonColl--
		}
		n++
	}
	if n > 0 {
		rest := copy(q.entries, q.entries[n:])
		clear(q.entries[rest:])
		q.entries = q.entries[:rest]
		if rest == 0 {
			w.maybeEmpty = append(w.maybeEmpty, q)
		}
	}
	return nil
}

// purgeCandidate is an expiry index key found by PurgeExpired's scan, with
// its entry (nil if the entry was gone).
type purgeCandidate struct {
	token string
	seq   uint64
	exp   int64
	msg   *store.Message
}

// purge deletes the candidates that are still pending.
func (w *writer) purge(o *op) error {
	for _, c := range o.candidates {
		if _, err := w.queue(c.token); err != nil {
			return err
		}
	}
	for _, c := range o.candidates {
		q := w.queues[c.token]
		i := q.find(c.seq)
		if i < 0 {
			// Removed since the scan (its index key went with it), or a
			// stale index key: deleting it is harmless either way.
			w.key = appendExpiryKey(w.key[:0], c.exp, c.token, c.seq)
			_ = w.batch.Delete(w.key, nil)
			continue
		}
		if c.msg == nil {
			continue // not readable at scan time; the next purge takes it
		}
		w.removeAt(q, i)
		o.purged = append(o.purged, *c.msg)
	}
	return nil
}

// expNanos is t in unix nanos, or noExpiry for the zero time.
func expNanos(t time.Time) int64 {
	if t.IsZero() {
		return noExpiry
	}
	return t.UnixNano()
}

// nextSeq gives the queue's next sequence, never below this run's floor.
func (w *writer) nextSeq(q *queue) uint64 {
	q.last = max(q.last, w.s.seqFloor) + 1
	return q.last
}
