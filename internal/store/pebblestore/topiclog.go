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

// A project's topic log is the range tl/<project>\x00<seq> (keys.go). The
// writer assigns sequences in commit order from the log's head, which it
// keeps in memory (w.heads, loaded on first use) and writes to the log's
// seq-0 record in every batch that appends to the log, so the head
// survives the purge of every entry. Like queue sequences, a log's next
// sequence is never below the run's floor (epoch.go): after a crash,
// entries that readers saw before their fsync are never given again.
//
// Each entry with an expiry time has a key in the topic expiry index
// tx/<expires>/<project>\x00<seq>, which PurgeTopicLog walks in expiry
// order: it never reads live entries.

// AppendTopic implements store.TopicStore. Each message needs a project
// and exactly one of Topic and Condition. If ctx ends while the call waits
// for the writer, AppendTopic returns ctx's error and the messages may or
// may not have been stored.
func (s *Store) AppendTopic(ctx context.Context, msgs []store.TopicMessage) ([]uint64, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	for i := range msgs {
		m := &msgs[i]
		if err := checkID("project id", m.ProjectID); err != nil {
			return nil, fmt.Errorf("append topic: %w", err)
		}
		if (m.Topic == "") == (m.Condition == "") {
			return nil, fmt.Errorf("append topic: %w: want exactly one of topic and condition", errBadID)
		}
	}
	seqs := make([]uint64, len(msgs))
	o := s.newOp(opMeta)
	o.meta = func(w *writer) error {
		for i := range msgs {
			if _, err := w.topicHead(msgs[i].ProjectID); err != nil {
				return err
			}
		}
		for i := range msgs {
			seqs[i] = w.appendTopic(&msgs[i])
		}
		return nil
	}
	if err := s.submit(ctx, o); err != nil {
		return nil, fmt.Errorf("append topic: %w", err)
	}
	s.freeOp(o)
	return seqs, nil
}

// topicHead returns project's log head, loading it on first use.
func (w *writer) topicHead(project string) (uint64, error) {
	if head, ok := w.heads[project]; ok {
		return head, nil
	}
	head, err := readHead(w.db, project)
	if err != nil {
		return 0, err
	}
	w.heads[project] = head
	return head, nil
}

// appendTopic writes m with the next sequence of its project's log, whose
// head topicHead has loaded.
func (w *writer) appendTopic(m *store.TopicMessage) uint64 {
	project := m.ProjectID
	seq := max(w.heads[project], w.s.seqFloor) + 1
	w.heads[project] = seq
	w.dirtyHeads[project] = struct{}{}
	op := w.batch.SetDeferred(logKeyLen(project), topicEncodedLen(m))
	appendLogKey(op.Key[:0], project, seq)
	appendTopicMessage(op.Value[:0], m)
	_ = op.Finish()
	if exp := expNanos(m.ExpiresAt); exp != noExpiry {
		w.key = appendExpiryKeyIn(w.key[:0], prefixTopicExpiry, exp, project, seq)
		_ = w.batch.Set(w.key, nil, nil)
	}
	if m.ID != "" {
		w.putStatus(&store.Status{
			ID: m.ID, ProjectID: project, Topic: m.Topic, Condition: m.Condition, State: store.StateAccepted,
			AcceptedAt: m.AcceptedAt, ExpiresAt: m.ExpiresAt, UpdatedAt: m.AcceptedAt, Targeted: m.Targeted,
		}, true)
	}
	return seq
}

// writeHead writes project's head to its log's seq-0 record.
func (w *writer) writeHead(project string) {
	w.key = appendLogKey(w.key[:0], project, 0)
	_ = w.batch.Set(w.key, appendCount(nil, w.heads[project]), nil)
}

// readHead reads project's log head from disk: the higher of the seq-0
// record and the last entry's sequence.
func readHead(r pebble.Reader, project string) (uint64, error) {
	lower, upper := logRange(project)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return 0, fmt.Errorf("read topic log head: %w", err)
	}
	head, err := iterHead(it, lower)
	if cerr := it.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("read topic log head: %w", cerr)
	}
	return head, err
}

// iterHead reads the head with an iterator over a log's range.
func iterHead(it *pebble.Iterator, lower []byte) (uint64, error) {
	var head uint64
	if it.Last() {
		head = queueKeySeq(it.Key())
	}
	if it.SeekGE(lower) && queueKeySeq(it.Key()) == 0 {
		v, err := it.ValueAndErr()
		if err != nil {
			return 0, fmt.Errorf("read topic log head: %w", err)
		}
		n, err := decodeCount(v)
		if err != nil {
			return 0, fmt.Errorf("read topic log head: %w", err)
		}
		head = max(head, n)
	}
	return head, it.Error()
}

// TopicLog implements store.TopicStore. An entry is expired when its
// ExpiresAt is at or before now; a zero ExpiresAt never expires. A limit
// <= 0 means no limit. An unknown project has an empty log and head 0.
func (s *Store) TopicLog(ctx context.Context, projectID string, after uint64, now time.Time, limit int) ([]store.TopicMessage, uint64, error) {
	if err := s.enter(ctx); err != nil {
		return nil, 0, fmt.Errorf("topic log: %w", err)
	}
	defer s.mu.RUnlock()
	if err := checkID("project id", projectID); err != nil {
		return nil, 0, fmt.Errorf("topic log: %w", err)
	}
	lower, upper := logRange(projectID)
	// One iterator reads the head and the entries from the same point in
	// time.
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, 0, fmt.Errorf("topic log: %w", err)
	}
	msgs, head, err := readLog(it, lower, projectID, after, now.UnixNano(), limit)
	if cerr := it.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, 0, fmt.Errorf("topic log: %w", err)
	}
	return msgs, head, nil
}

// readLog reads a log's head and its live entries after `after`.
func readLog(it *pebble.Iterator, lower []byte, project string, after uint64, nowNanos int64, limit int) ([]store.TopicMessage, uint64, error) {
	head, err := iterHead(it, lower)
	if err != nil || after == math.MaxUint64 {
		return nil, head, err
	}
	var msgs []store.TopicMessage
	for valid := it.SeekGE(appendLogKey(nil, project, after+1)); valid && (limit <= 0 || len(msgs) < limit); valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, 0, err
		}
		m := store.TopicMessage{ProjectID: project, Seq: queueKeySeq(it.Key())}
		platform, payload, err := decodeTopicMessage(v, &m)
		if err != nil {
			return nil, 0, fmt.Errorf("entry %d: %w", m.Seq, err)
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
	return msgs, head, it.Error()
}

// TopicCursor implements store.TopicStore. It does not check that the
// registration exists: an unknown one has no cursor (0).
func (s *Store) TopicCursor(ctx context.Context, token string) (uint64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, fmt.Errorf("topic cursor: %w", err)
	}
	defer s.mu.RUnlock()
	if err := checkID("token", token); err != nil {
		return 0, fmt.Errorf("topic cursor: %w", err)
	}
	v, closer, err := s.db.Get(entityKey(prefixCursor, token))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("topic cursor: %w", err)
	}
	defer closer.Close()
	cur, err := decodeCount(v)
	if err != nil {
		return 0, fmt.Errorf("topic cursor: %w", err)
	}
	return cur, nil
}

// AckTopic implements store.TopicStore. It returns once the cursor is
// committed, without waiting for an fsync (a lost ack means the device
// reads those entries again and drops them as duplicates). Acks for a
// missing or deleted registration are ignored: its cursor went with it.
func (s *Store) AckTopic(ctx context.Context, token string, upTo uint64) error {
	if upTo == 0 {
		return nil
	}
	return s.AckTopics(ctx, map[string]uint64{token: upTo})
}

// AckTopics implements store.TopicStore, in one writer operation, with
// AckTopic's durability.
func (s *Store) AckTopics(ctx context.Context, acks map[string]uint64) error {
	for token := range acks {
		if err := checkID("token", token); err != nil {
			return fmt.Errorf("ack topic: %w", err)
		}
	}
	o := s.newOp(opTouch)
	o.meta = func(w *writer) error {
		for token, upTo := range acks {
			if upTo == 0 {
				continue
			}
			// A cursor exists from the first Subscribe until the
			// registration is deleted.
			key := entityKey(prefixCursor, token)
			v, found, err := w.get(key)
			if err != nil {
				return err
			}
			if !found {
				continue
			}
			cur, err := decodeCount(v)
			if err != nil {
				return err
			}
			if upTo > cur {
				w.set(key, appendCount(nil, upTo))
			}
		}
		return nil
	}
	if err := s.submit(ctx, o); err != nil {
		return fmt.Errorf("ack topic: %w", err)
	}
	s.freeOp(o)
	return nil
}

// logCandidate is a topic expiry index key found by PurgeTopicLog's scan.
type logCandidate struct {
	project string
	seq     uint64
	exp     int64
}

// PurgeTopicLog implements store.TopicStore. It walks the topic expiry
// index up to now (at most limit keys; <= 0: no limit), then deletes the
// entries it found in one durable batch. An entry removed by a concurrent
// purge is counted once, by the purge whose batch removed it.
func (s *Store) PurgeTopicLog(ctx context.Context, now time.Time, limit int) (int, error) {
	cands, err := s.expiredTopics(ctx, now, limit)
	if err != nil || len(cands) == 0 {
		return 0, err
	}
	removed := 0
	o := s.newOp(opMeta)
	o.meta = func(w *writer) error {
		// Reads first: a failed read leaves no trace in the batch.
		present := make([]bool, len(cands))
		for i, c := range cands {
			found, err := w.exists(appendLogKey(nil, c.project, c.seq))
			if err != nil {
				return err
			}
			present[i] = found
		}
		for i, c := range cands {
			if present[i] {
				w.del(appendLogKey(nil, c.project, c.seq))
				removed++
			}
			_ = w.batch.Delete(appendExpiryKeyIn(nil, prefixTopicExpiry, c.exp, c.project, c.seq), nil)
		}
		return nil
	}
	if err := s.submit(ctx, o); err != nil {
		return 0, fmt.Errorf("purge topic log: %w", err)
	}
	s.freeOp(o)
	return removed, nil
}

// expiredTopics scans the topic expiry index for entries expired at now.
func (s *Store) expiredTopics(ctx context.Context, now time.Time, limit int) ([]logCandidate, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("purge topic log: %w", err)
	}
	defer s.mu.RUnlock()
	lower, _ := prefixRange(prefixTopicExpiry)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: expiryUpperIn(prefixTopicExpiry, now.UnixNano())})
	if err != nil {
		return nil, fmt.Errorf("purge topic log: %w", err)
	}
	var cands []logCandidate
	for valid := it.First(); valid && (limit <= 0 || len(cands) < limit); valid = it.Next() {
		exp, project, seq, ok := parseExpiryKeyIn(prefixTopicExpiry, it.Key())
		if ok {
			cands = append(cands, logCandidate{project: project, seq: seq, exp: exp})
		}
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("purge topic log: %w", err)
	}
	return cands, nil
}
