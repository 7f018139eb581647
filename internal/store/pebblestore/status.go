package pebblestore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/heraldpush/herald/internal/store"
)

// Message status records (store.StatusStore). Each accepted message has a
// record s/<id>, written in the same batch as the message (Enqueue,
// AppendTopic), and a key in the status end index
// sx/<end BE64>/<id>\x00<0 BE64>: the time the message ended, which is its
// expiry while it is accepted and the time it reached an end state after
// that (the key moves then). PurgeStatus walks the index in end order.
//
// A token message's end key is not written by Enqueue (one key fewer on
// the send path) but when its queue entry leaves the queue: acked,
// purged at expiry, collapsed, dropped, or with its registration. Every
// entry leaves the queue in the end, so every record gets its key. A
// topic message's is written with it.
//
// A record's value is a small binary record (the ID is in the key):
//
//	version   byte (1)
//	state     byte (statusCodes)
//	target    byte: 0 token, 1 topic, 2 condition
//	project, target: uvarint length + bytes each
//	accepted, expires, updated: varint unix nanos, 0 for the zero time
//	reason    uvarint length + bytes
//	targeted  varint (negative: not counted)
//	delivered uvarint

const statusVersion = 1

// Target kinds of a status record.
const (
	targetToken byte = iota
	targetTopic
	targetCondition
)

// statusCodes maps states to their stored byte; the index is the code.
var statusCodes = [...]store.State{
	store.StateAccepted, store.StateDelivered, store.StateExpired,
	store.StateCollapsed, store.StateDropped, store.StateFailed,
}

func stateCode(st store.State) (byte, bool) {
	for i, s := range statusCodes {
		if s == st {
			return byte(i), true
		}
	}
	return 0, false
}

// statusKey is s/<id>.
func statusKey(id string) []byte { return entityKey(prefixStatus, id) }

// statusEndKey is the end index key of a record ending at end (unix nanos).
func statusEndKey(dst []byte, end int64, id string) []byte {
	return appendExpiryKeyIn(dst, prefixStatusEnd, end, id, 0)
}

// nanos is t in unix nanos, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is nanos' inverse, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// appendStatus appends st's value encoding.
func appendStatus(dst []byte, st *store.Status) []byte {
	code, _ := stateCode(st.State)
	kind, target := targetToken, st.Token
	switch {
	case st.Topic != "":
		kind, target = targetTopic, st.Topic
	case st.Condition != "":
		kind, target = targetCondition, st.Condition
	}
	dst = append(dst, statusVersion, code, kind)
	dst = appendString(dst, st.ProjectID)
	dst = appendString(dst, target)
	dst = binary.AppendVarint(dst, nanos(st.AcceptedAt))
	dst = binary.AppendVarint(dst, nanos(st.ExpiresAt))
	dst = binary.AppendVarint(dst, nanos(st.UpdatedAt))
	dst = appendString(dst, st.Reason)
	dst = binary.AppendVarint(dst, st.Targeted)
	return binary.AppendUvarint(dst, uint64(max(st.Delivered, 0)))
}

// statusLenHint bounds the length appendStatus produces for st, so that
// it allocates once.
func statusLenHint(st *store.Status) int {
	return 3 + 3*binary.MaxVarintLen64 + 4*binary.MaxVarintLen32 +
		len(st.ProjectID) + len(st.Token) + len(st.Topic) + len(st.Condition) + len(st.Reason) + 2*binary.MaxVarintLen64
}

// decodeStatus decodes a value written by appendStatus; ID is not set.
func decodeStatus(v []byte, st *store.Status) error {
	d := decoder{b: v}
	if ver := d.byte(); d.err == nil && ver != statusVersion {
		return fmt.Errorf("%w: status version %d", errCorrupt, ver)
	}
	code, kind := d.byte(), d.byte()
	st.ProjectID = d.string()
	target := d.string()
	st.AcceptedAt = fromNanos(d.varint())
	st.ExpiresAt = fromNanos(d.varint())
	st.UpdatedAt = fromNanos(d.varint())
	st.Reason = d.string()
	st.Targeted = d.varint()
	st.Delivered = int64(d.uvarint())
	if d.err != nil {
		return d.err
	}
	if int(code) >= len(statusCodes) {
		return fmt.Errorf("%w: status state %d", errCorrupt, code)
	}
	st.State = statusCodes[code]
	switch kind {
	case targetToken:
		st.Token = target
	case targetTopic:
		st.Topic = target
	case targetCondition:
		st.Condition = target
	default:
		return fmt.Errorf("%w: status target %d", errCorrupt, kind)
	}
	return nil
}

// statusEnd is when a record's message ended, in unix nanos: when it
// reached an end state, else its expiry (noExpiry: not yet known).
func statusEnd(st *store.Status) int64 {
	if st.State != store.StateAccepted {
		return st.UpdatedAt.UnixNano()
	}
	return expNanos(st.ExpiresAt)
}

// putStatus writes a record, and its end index key if withEnd, in this
// batch. The record is staged so that later operations of the batch (a
// collapse by the next message) read it.
func (w *writer) putStatus(st *store.Status, withEnd bool) {
	w.set(statusKey(st.ID), appendStatus(make([]byte, 0, statusLenHint(st)), st))
	if end := statusEnd(st); withEnd && end != noExpiry {
		w.key = statusEndKey(w.key[:0], end, st.ID)
		_ = w.batch.Set(w.key, nil, nil)
	}
}

// readStatus reads a record as of this batch; found is false for an
// unknown ID.
func (w *writer) readStatus(id string) (st store.Status, found bool, err error) {
	v, found, err := w.get(statusKey(id))
	if err != nil || !found {
		return st, false, err
	}
	if err := decodeStatus(v, &st); err != nil {
		return st, false, fmt.Errorf("status %s: %w", id, err)
	}
	st.ID = id
	return st, true, nil
}

// endStatus moves an accepted record to an end state at `at`, moving its
// end index key; records already in an end state keep it.
func (w *writer) endStatus(id string, state store.State, reason string, at time.Time) error {
	st, found, err := w.readStatus(id)
	if err != nil || !found || st.State != store.StateAccepted {
		return err
	}
	if old := statusEnd(&st); old != noExpiry {
		w.key = statusEndKey(w.key[:0], old, id)
		_ = w.batch.Delete(w.key, nil)
	}
	st.State, st.Reason, st.UpdatedAt = state, reason, at
	w.putStatus(&st, true)
	return nil
}

// markQueued records the fate of a queue entry that Enqueue removed
// (collapsed or dropped). A failed read leaves the record as it was (it
// reads as expired in time) and is logged: the enqueue it is part of has
// already changed the queue.
func (w *writer) markQueued(e *entry, state store.State, reason string, at time.Time) {
	if e.id == "" || e.kind != store.KindMessage {
		return
	}
	if err := w.endStatus(e.id, state, reason, at); err != nil {
		w.s.log.Error("recording a message's status", "state", state, "err", err)
	}
}

// Reasons recorded with the end states Enqueue writes.
const (
	reasonCollapsed     = "replaced by a newer message with the same collapse key"
	reasonCollapseLimit = "replaced: a message with a new collapse key arrived while the registration had the most collapse keys pending"
	reasonDropped       = "dropped: the registration had the most undelivered messages pending"
	// ReplaceRegistration drops what is pending.
	reasonRegistrationReplaced = "the registration token was replaced (refreshed) before the message was delivered"
)

// MessageStatus implements store.StatusStore.
func (s *Store) MessageStatus(ctx context.Context, id string) (store.Status, error) {
	if err := s.enter(ctx); err != nil {
		return store.Status{}, fmt.Errorf("message status: %w", err)
	}
	defer s.mu.RUnlock()
	if err := checkID("message id", id); err != nil {
		return store.Status{}, fmt.Errorf("message status: %w", err)
	}
	v, closer, err := s.db.Get(statusKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return store.Status{}, fmt.Errorf("message status %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Status{}, fmt.Errorf("message status: %w", err)
	}
	defer closer.Close()
	st := store.Status{ID: id}
	if err := decodeStatus(v, &st); err != nil {
		return store.Status{}, fmt.Errorf("message status %s: %w", id, err)
	}
	return st, nil
}

// UpdateStatus implements store.StatusStore in one writer operation that
// is answered once applied, without waiting for an fsync. Updates to
// unknown or invalid states are refused before anything is written.
func (s *Store) UpdateStatus(ctx context.Context, updates []store.StatusUpdate, at time.Time) error {
	if len(updates) == 0 {
		return nil
	}
	for _, u := range updates {
		if _, ok := stateCode(u.State); !ok || u.State == store.StateAccepted || u.State == store.StateExpired {
			return fmt.Errorf("update status: %w: state %q is not an end state that can be written", errBadID, u.State)
		}
	}
	o := s.newOp(opTouch)
	o.meta = func(w *writer) error {
		for _, u := range updates {
			if checkID("message id", u.ID) != nil {
				continue
			}
			if err := w.endStatus(u.ID, u.State, u.Reason, at); err != nil {
				return err
			}
		}
		return nil
	}
	if err := s.submit(ctx, o); err != nil {
		return fmt.Errorf("update status: %w", err)
	}
	s.freeOp(o)
	return nil
}

// AddDelivered implements store.StatusStore in one writer operation that
// is answered once applied, without waiting for an fsync.
func (s *Store) AddDelivered(ctx context.Context, counts map[string]int64, at time.Time) error {
	if len(counts) == 0 {
		return nil
	}
	o := s.newOp(opTouch)
	o.meta = func(w *writer) error {
		for id, n := range counts {
			if n <= 0 || checkID("message id", id) != nil {
				continue
			}
			st, found, err := w.readStatus(id)
			if err != nil {
				return err
			}
			if !found {
				continue
			}
			st.Delivered += n
			st.UpdatedAt = at
			// The end (expiry, for a topic message) is unchanged: only
			// the record is rewritten.
			w.set(statusKey(id), appendStatus(nil, &st))
		}
		return nil
	}
	if err := s.submit(ctx, o); err != nil {
		return fmt.Errorf("add delivered: %w", err)
	}
	s.freeOp(o)
	return nil
}

// statusCandidate is an end index key found by PurgeStatus's scan.
type statusCandidate struct {
	id  string
	end int64
}

// PurgeStatus implements store.StatusStore. It walks the end index up to
// before (at most limit keys; <= 0: no limit), then deletes the records in
// one writer operation, answered without waiting for an fsync (a lost
// purge is done again by the next one). A record whose end moved since
// the scan is kept.
func (s *Store) PurgeStatus(ctx context.Context, before time.Time, limit int) (int, error) {
	cands, err := s.endedStatus(ctx, before, limit)
	if err != nil || len(cands) == 0 {
		return 0, err
	}
	removed := 0
	o := s.newOp(opTouch)
	o.meta = func(w *writer) error {
		sts := make([]store.Status, len(cands))
		found := make([]bool, len(cands))
		for i, c := range cands {
			st, ok, err := w.readStatus(c.id)
			if err != nil {
				return err
			}
			sts[i], found[i] = st, ok
		}
		for i, c := range cands {
			_ = w.batch.Delete(statusEndKey(nil, c.end, c.id), nil)
			if found[i] && statusEnd(&sts[i]) == c.end {
				w.del(statusKey(c.id))
				removed++
			}
		}
		return nil
	}
	if err := s.submit(ctx, o); err != nil {
		return 0, fmt.Errorf("purge status: %w", err)
	}
	s.freeOp(o)
	return removed, nil
}

// endedStatus scans the end index for records that ended before `before`.
func (s *Store) endedStatus(ctx context.Context, before time.Time, limit int) ([]statusCandidate, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("purge status: %w", err)
	}
	defer s.mu.RUnlock()
	lower, _ := prefixRange(prefixStatusEnd)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: expiryUpperIn(prefixStatusEnd, before.UnixNano()-1)})
	if err != nil {
		return nil, fmt.Errorf("purge status: %w", err)
	}
	var cands []statusCandidate
	for valid := it.First(); valid && (limit <= 0 || len(cands) < limit); valid = it.Next() {
		end, id, _, ok := parseExpiryKeyIn(prefixStatusEnd, it.Key())
		if ok {
			cands = append(cands, statusCandidate{id: id, end: end})
		}
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("purge status: %w", err)
	}
	return cands, nil
}
