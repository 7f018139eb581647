package pebblestore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/heraldpush/herald/internal/store"
)

// Enqueue implements store.Store. Messages with a zero ExpiresAt never
// expire. A message whose ExpiresAt is at or before a Pending or
// PurgeExpired call's now is expired for it. A marker written for the
// pending limit expires with the longest-lived entry it replaces (or the
// new message, if later).
//
// If ctx ends while the call waits for the writer, Enqueue returns ctx's
// error and the messages may or may not have been stored.
func (s *Store) Enqueue(ctx context.Context, msgs []store.Message) ([]store.Outcome, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	o := s.newOp(opEnqueue)
	o.msgs = msgs
	if err := s.submit(ctx, o); err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	outs := o.outs
	s.freeOp(o)
	return outs, nil
}

// Ack implements store.Store. It returns once the deletion is committed,
// without waiting for an fsync.
func (s *Store) Ack(ctx context.Context, token string, upTo uint64) error {
	if upTo == 0 {
		return nil
	}
	o := s.newOp(opAck)
	o.token, o.upTo = token, upTo
	if err := s.submit(ctx, o); err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	s.freeOp(o)
	return nil
}

// Pending implements store.Store. A limit <= 0 means no limit.
func (s *Store) Pending(ctx context.Context, token string, after uint64, now time.Time, limit int) ([]store.Message, uint64, error) {
	if err := s.enter(ctx); err != nil {
		return nil, 0, fmt.Errorf("pending: %w", err)
	}
	defer s.mu.RUnlock()
	if err := checkID("token", token); err != nil {
		return nil, 0, fmt.Errorf("pending: %w", err)
	}
	lower, upper := queueRange(token)
	// One iterator reads the last sequence and the entries from the same
	// point in time.
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, 0, fmt.Errorf("pending: %w", err)
	}
	var last uint64
	if it.Last() {
		last = queueKeySeq(it.Key())
	}
	if it.SeekGE(lower) && queueKeySeq(it.Key()) == 0 {
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return nil, 0, fmt.Errorf("pending: %w", err)
		}
		last = max(last, decodeLastSeq(v))
	}
	var msgs []store.Message
	nowNanos := now.UnixNano()
	if after < math.MaxUint64 {
		for valid := it.SeekGE(appendQueueKey(nil, token, after+1)); valid && (limit <= 0 || len(msgs) < limit); valid = it.Next() {
			v, err := it.ValueAndErr()
			if err != nil {
				_ = it.Close()
				return nil, 0, fmt.Errorf("pending: %w", err)
			}
			m := store.Message{Token: token, Seq: queueKeySeq(it.Key())}
			platform, payload, err := decodeMessage(v, &m)
			if err != nil {
				_ = it.Close()
				return nil, 0, fmt.Errorf("pending entry %d: %w", m.Seq, err)
			}
			if expNanos(m.ExpiresAt) <= nowNanos {
				continue
			}
			if len(payload) > 0 {
				m.Payload = append([]byte(nil), payload...)
			}
			if platform != nil {
				m.Platform = append([]byte(nil), platform...)
			}
			msgs = append(msgs, m)
		}
	}
	if err := it.Close(); err != nil {
		return nil, 0, fmt.Errorf("pending: %w", err)
	}
	return msgs, last, nil
}

// PurgeExpired implements store.Store. A limit <= 0 means no limit.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time, limit int) ([]store.Message, error) {
	cands, err := s.expired(ctx, now, limit)
	if err != nil || len(cands) == 0 {
		return nil, err
	}
	o := s.newOp(opPurge)
	o.candidates = cands
	if err := s.submit(ctx, o); err != nil {
		return nil, fmt.Errorf("purge expired: %w", err)
	}
	purged := o.purged
	s.freeOp(o)
	return purged, nil
}

// expired scans the expiry index for entries expired at now.
func (s *Store) expired(ctx context.Context, now time.Time, limit int) ([]purgeCandidate, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("purge expired: %w", err)
	}
	defer s.mu.RUnlock()
	lower, _ := prefixRange(prefixExpiry)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: expiryUpper(now.UnixNano())})
	if err != nil {
		return nil, fmt.Errorf("purge expired: %w", err)
	}
	var cands []purgeCandidate
	for valid := it.First(); valid && (limit <= 0 || len(cands) < limit); valid = it.Next() {
		k := it.Key()
		exp, token, seq, ok := parseExpiryKey(k)
		if !ok {
			continue
		}
		c := purgeCandidate{token: token, seq: seq, exp: exp}
		m, err := s.entry(token, seq)
		if err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("purge expired: %w", err)
		}
		c.msg = m
		cands = append(cands, c)
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("purge expired: %w", err)
	}
	return cands, nil
}

// entry reads one queue entry without its payload and platform blocks; nil
// if it is gone.
func (s *Store) entry(token string, seq uint64) (*store.Message, error) {
	v, closer, err := s.db.Get(appendQueueKey(nil, token, seq))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	m := &store.Message{Token: token, Seq: seq}
	if _, _, err := decodeMessage(v, m); err != nil {
		return nil, fmt.Errorf("entry %d: %w", seq, err)
	}
	return m, nil
}

// DeleteRegistration implements store.Store.
func (s *Store) DeleteRegistration(ctx context.Context, token string, at time.Time) error {
	o := s.newOp(opDeleteRegistration)
	o.token, o.deletedAt = token, at
	if err := s.submit(ctx, o); err != nil {
		return fmt.Errorf("delete registration: %w", err)
	}
	s.freeOp(o)
	return nil
}
