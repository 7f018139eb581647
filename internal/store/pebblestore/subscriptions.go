package pebblestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/heraldpush/herald/internal/store"
)

// A subscription is two keys with the same value (since, created): ts/ by
// registration, for Subscriptions and for the limit, and tt/ by topic, for
// TopicSubscribers. Each range starts with its count (keys.go), which the
// writer updates in the batch that adds or removes a subscription, so
// neither the limit check nor a topic's total costs a scan. Subscriptions
// are written through the writer like the registrations they belong to.

// Subscribe implements store.TopicStore. Topic names must be non-empty
// and free of NUL bytes; a name given twice is created once.
func (s *Store) Subscribe(ctx context.Context, token string, topics []string, at time.Time) ([]bool, error) {
	if err := checkTopics(token, topics); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	created := make([]bool, len(topics))
	err := s.writeMeta(ctx, "subscribe", func(w *writer) error {
		r, err := w.liveRegistration(token)
		if err != nil {
			return err
		}
		n, err := w.count(subKey(token, ""))
		if err != nil {
			return err
		}
		added := 0
		for i, topic := range topics {
			if slices.Contains(topics[:i], topic) {
				continue
			}
			found, err := w.exists(subKey(token, topic))
			if err != nil {
				return err
			}
			if !found {
				created[i] = true
				added++
			}
		}
		if n+uint64(added) > store.MaxTopicsPerRegistration {
			return fmt.Errorf("registration %q has %d topics, %d more: %w", token, n, added, store.ErrTooManyTopics)
		}
		if added == 0 {
			return nil
		}
		head, err := w.topicHead(r.ProjectID)
		if err != nil {
			return err
		}
		cursorKey := entityKey(prefixCursor, token)
		hasCursor, err := w.exists(cursorKey)
		if err != nil {
			return err
		}
		counts, err := w.topicCounts(r.ProjectID, topics, created)
		if err != nil {
			return err
		}
		// Only writes from here on.
		v := appendSubscription(nil, head, at)
		for i, topic := range topics {
			if created[i] {
				w.set(subKey(token, topic), v)
				w.set(topicTokenKey(r.ProjectID, topic, token), v)
				w.setCount(topicTokenKey(r.ProjectID, topic, ""), counts[i]+1)
			}
		}
		w.setCount(subKey(token, ""), n+uint64(added))
		if !hasCursor {
			w.set(cursorKey, appendCount(nil, head))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return created, nil
}

// Unsubscribe implements store.TopicStore. A deleted registration has no
// subscriptions left: every existed[i] is false.
func (s *Store) Unsubscribe(ctx context.Context, token string, topics []string) ([]bool, error) {
	if err := checkTopics(token, topics); err != nil {
		return nil, fmt.Errorf("unsubscribe: %w", err)
	}
	existed := make([]bool, len(topics))
	err := s.writeMeta(ctx, "unsubscribe", func(w *writer) error {
		var r store.Registration
		if err := w.getJSON("registration", token, entityKey(prefixReg, token), &r); err != nil {
			return err
		}
		n, err := w.count(subKey(token, ""))
		if err != nil {
			return err
		}
		removed := 0
		for i, topic := range topics {
			if slices.Contains(topics[:i], topic) {
				continue
			}
			found, err := w.exists(subKey(token, topic))
			if err != nil {
				return err
			}
			if found {
				existed[i] = true
				removed++
			}
		}
		if removed == 0 {
			return nil
		}
		counts, err := w.topicCounts(r.ProjectID, topics, existed)
		if err != nil {
			return err
		}
		for i, topic := range topics {
			if existed[i] {
				w.removeSubscription(r.ProjectID, token, topic, counts[i])
			}
		}
		w.setCount(subKey(token, ""), n-min(n, uint64(removed)))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return existed, nil
}

// Subscriptions implements store.TopicStore. An unknown registration has
// none.
func (s *Store) Subscriptions(ctx context.Context, token string) ([]store.Subscription, error) {
	if err := checkID("token", token); err != nil {
		return nil, fmt.Errorf("subscriptions: %w", err)
	}
	lower, upper := indexRange(prefixTopicSubs, token)
	var subs []store.Subscription
	err := s.scan(ctx, "subscriptions", lower, upper, func(k, v []byte) error {
		if len(k) == len(lower) {
			return nil // the count
		}
		sub := store.Subscription{Token: token, Topic: string(k[len(lower):])}
		if err := decodeSubscription(v, &sub); err != nil {
			return err
		}
		subs = append(subs, sub)
		return nil
	})
	return subs, err
}

// TopicSubscribers implements store.TopicStore. The page and the total
// are read from the same point in time.
func (s *Store) TopicSubscribers(ctx context.Context, projectID, topic, after string, limit int) ([]store.Subscription, int, error) {
	if err := s.enter(ctx); err != nil {
		return nil, 0, fmt.Errorf("topic subscribers: %w", err)
	}
	defer s.mu.RUnlock()
	if err := errors.Join(checkID("project id", projectID), checkID("topic", topic)); err != nil {
		return nil, 0, fmt.Errorf("topic subscribers: %w", err)
	}
	lower, upper := topicTokenRange(projectID, topic)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, 0, fmt.Errorf("topic subscribers: %w", err)
	}
	subs, total, err := readSubscribers(it, lower, topic, after, limit)
	if cerr := it.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, 0, fmt.Errorf("topic subscribers: %w", err)
	}
	return subs, total, nil
}

// readSubscribers reads a topic's count and a page of its subscribers.
func readSubscribers(it *pebble.Iterator, lower []byte, topic, after string, limit int) ([]store.Subscription, int, error) {
	var total uint64
	if it.SeekGE(lower) && len(it.Key()) == len(lower) {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, 0, err
		}
		if total, err = decodeCount(v); err != nil {
			return nil, 0, err
		}
	}
	// The first token after `after`: tokens hold no NUL byte, so
	// after+"\x00" is the least key above it.
	start := append(append(append([]byte(nil), lower...), after...), 0)
	if after == "" {
		start = start[:len(lower)+1]
	}
	var subs []store.Subscription
	for valid := it.SeekGE(start); valid && (limit <= 0 || len(subs) < limit); valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, 0, err
		}
		sub := store.Subscription{Token: string(it.Key()[len(lower):]), Topic: topic}
		if err := decodeSubscription(v, &sub); err != nil {
			return nil, 0, err
		}
		subs = append(subs, sub)
	}
	return subs, int(total), it.Error()
}

// checkTopics refuses a token or topic names the key layout cannot hold.
func checkTopics(token string, topics []string) error {
	if err := checkID("token", token); err != nil {
		return err
	}
	for _, t := range topics {
		if err := checkID("topic", t); err != nil {
			return err
		}
	}
	return nil
}

// liveRegistration reads a registration as of this batch: ErrNotFound if
// it is missing or deleted.
func (w *writer) liveRegistration(token string) (store.Registration, error) {
	var r store.Registration
	if err := w.getJSON("registration", token, entityKey(prefixReg, token), &r); err != nil {
		return r, err
	}
	if r.Deleted() {
		return r, fmt.Errorf("registration %q was deleted: %w", token, store.ErrNotFound)
	}
	return r, nil
}

// count reads a count key as of this batch (0 if absent).
func (w *writer) count(key []byte) (uint64, error) {
	v, _, err := w.get(key)
	if err != nil {
		return 0, err
	}
	return decodeCount(v)
}

// setCount writes a count key, deleting it at 0.
func (w *writer) setCount(key []byte, n uint64) {
	if n == 0 {
		w.del(key)
		return
	}
	w.set(key, appendCount(nil, n))
}

// topicCounts reads the subscriber counts of the topics i of project for
// which which[i] is set (the others stay 0).
func (w *writer) topicCounts(project string, topics []string, which []bool) ([]uint64, error) {
	counts := make([]uint64, len(topics))
	for i, topic := range topics {
		if !which[i] {
			continue
		}
		n, err := w.count(topicTokenKey(project, topic, ""))
		if err != nil {
			return nil, err
		}
		counts[i] = n
	}
	return counts, nil
}

// removeSubscription deletes one subscription's keys and counts it out of
// its topic, whose count was n; the caller updates the registration's
// count.
func (w *writer) removeSubscription(project, token, topic string, n uint64) {
	w.del(subKey(token, topic))
	w.del(topicTokenKey(project, topic, token))
	w.setCount(topicTokenKey(project, topic, ""), n-min(n, 1))
}

// scanMeta returns the keys and values in [lower, upper) as of this batch:
// what is on disk, overlaid with what this batch staged. Its cost is the
// range plus the batch's staged keys, so it serves rare operations
// (deleting or replacing a registration), not sends.
func (w *writer) scanMeta(lower, upper []byte) (keys, values [][]byte, err error) {
	found := map[string][]byte{}
	it, err := w.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, nil, err
	}
	for valid := it.First(); valid; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return nil, nil, err
		}
		found[string(it.Key())] = append([]byte(nil), v...)
	}
	if err := it.Close(); err != nil {
		return nil, nil, err
	}
	for k, v := range w.staged {
		if k < string(lower) || k >= string(upper) {
			continue
		}
		if v == nil {
			delete(found, k)
		} else {
			found[k] = v
		}
	}
	for k := range found {
		keys = append(keys, []byte(k))
	}
	slices.SortFunc(keys, bytes.Compare)
	for _, k := range keys {
		values = append(values, found[string(k)])
	}
	return keys, values, nil
}

// topicState is a registration's subscriptions and cursor as of this
// batch, read before a delete or a replace changes anything.
type topicState struct {
	topics []string // subscribed topics, by name
	values [][]byte // their subscriptions' values
	counts []uint64 // their subscriber counts (read by readTopicState)
	cursor []byte   // nil: no cursor
}

// readTopicState reads token's subscriptions, their topics' counts in
// project, and token's cursor.
func (w *writer) readTopicState(project, token string) (*topicState, error) {
	lower, upper := indexRange(prefixTopicSubs, token)
	keys, values, err := w.scanMeta(lower, upper)
	if err != nil {
		return nil, fmt.Errorf("read subscriptions: %w", err)
	}
	st := &topicState{}
	for i, k := range keys {
		if len(k) == len(lower) {
			continue // the count
		}
		st.topics = append(st.topics, string(k[len(lower):]))
		st.values = append(st.values, values[i])
	}
	all := make([]bool, len(st.topics))
	for i := range all {
		all[i] = true
	}
	if st.counts, err = w.topicCounts(project, st.topics, all); err != nil {
		return nil, err
	}
	cur, found, err := w.get(entityKey(prefixCursor, token))
	if err != nil {
		return nil, err
	}
	if found {
		st.cursor = cur
	}
	return st, nil
}

// dropTopicState deletes token's subscriptions (both keys, counted out of
// their topics), its count and its cursor.
func (w *writer) dropTopicState(project, token string, st *topicState) {
	for i, topic := range st.topics {
		w.removeSubscription(project, token, topic, st.counts[i])
	}
	if len(st.topics) > 0 {
		w.del(subKey(token, ""))
	}
	if st.cursor != nil {
		w.del(entityKey(prefixCursor, token))
	}
}

// moveTopicState moves oldToken's subscriptions (same Since and
// CreatedAt), count and cursor to newToken, in the same project; the
// topics' counts do not change.
func (w *writer) moveTopicState(project, oldToken, newToken string, st *topicState) {
	for i, topic := range st.topics {
		w.del(subKey(oldToken, topic))
		w.del(topicTokenKey(project, topic, oldToken))
		w.set(subKey(newToken, topic), st.values[i])
		w.set(topicTokenKey(project, topic, newToken), st.values[i])
	}
	if len(st.topics) > 0 {
		w.del(subKey(oldToken, ""))
		w.setCount(subKey(newToken, ""), uint64(len(st.topics)))
	}
	if st.cursor != nil {
		w.del(entityKey(prefixCursor, oldToken))
		w.set(entityKey(prefixCursor, newToken), st.cursor)
	}
}
