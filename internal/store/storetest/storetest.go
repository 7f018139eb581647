// Package storetest is the conformance suite of the store contract. Every
// implementation runs it against its real engine:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, newStore, reopen)
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/heraldpush/herald/internal/store"
)

// Run runs the conformance suite. newStore returns a fresh, empty store with
// store.DefaultLimits; reopen (may be nil, which skips the durability
// checks) closes the given store and opens the same data again.
// Run closes the stores it is given.
func Run(t *testing.T, newStore func(t *testing.T) store.Store, reopen func(t *testing.T, s store.Store) store.Store) {
	open := func(t *testing.T) store.Store {
		t.Helper()
		s := newStore(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Projects", testProjects},
		{"Apps", testApps},
		{"Keys", testKeys},
		{"Devices", testDevices},
		{"Registrations", testRegistrations},
		{"EnqueueSequences", testEnqueueSequences},
		{"ConcurrentEnqueue", testConcurrentEnqueue},
		{"Pending", testPending},
		{"Ack", testAck},
		{"Collapse", testCollapse},
		{"PendingLimit", testPendingLimit},
		{"PurgeExpired", testPurgeExpired},
		{"DeleteRegistrationDropsQueue", testDeleteRegistrationDropsQueue},
		{"TouchRegistrations", testTouchRegistrations},
		{"ReplaceRegistration", testReplaceRegistration},
		{"Closed", testClosed},
		{"Subscribe", testSubscribe},
		{"TopicLimit", testTopicLimit},
		{"SinceAndCursor", testSinceAndCursor},
		{"TopicLog", testTopicLog},
		{"ConcurrentAppendTopic", testConcurrentAppendTopic},
		{"TopicSubscribers", testTopicSubscribers},
		{"PurgeTopicLog", testPurgeTopicLog},
		{"DeleteRegistrationTopics", testDeleteRegistrationTopics},
		{"ReplaceRegistrationTopics", testReplaceRegistrationTopics},
		{"TopicsClosed", testTopicsClosed},
		{"PushEndpoints", testPushEndpoints},
		{"Credentials", testCredentials},
		{"VendorRegistrations", testVendorRegistrations},
		{"AckTopics", testAckTopics},
		{"Status", testStatus},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
	if reopen == nil {
		return
	}
	reopenAndClose := func(t *testing.T, s store.Store) store.Store {
		t.Helper()
		s = reopen(t, s)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	t.Run("Durability", func(t *testing.T) { testDurability(t, open(t), reopenAndClose) })
	t.Run("TopicDurability", func(t *testing.T) { testTopicDurability(t, open(t), reopenAndClose) })
	t.Run("PushEndpointDurability", func(t *testing.T) { testPushEndpointDurability(t, open(t), reopenAndClose) })
	t.Run("CloseWhileBusy", func(t *testing.T) { testCloseWhileBusy(t, open(t), reopenAndClose) })
}

// t0 is the suite's clock: every time is an offset from it. The contract
// takes `now` as an argument, so nothing waits for real time.
var t0 = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

// diffOpts compare stored values: times by Equal (go-cmp's default for
// time.Time), nil and empty slices alike.
var diffOpts = []cmp.Option{cmpopts.EquateEmpty()}

// msg is a message to token accepted at t0 that lives for ttl, with a
// payload and platform blocks.
func msg(token, id string, ttl time.Duration) store.Message {
	return store.Message{
		Token:      token,
		ID:         id,
		ProjectID:  "proj",
		AcceptedAt: t0,
		ExpiresAt:  t0.Add(ttl),
		TTL:        ttl,
		Payload:    []byte(`{"data":{"id":"` + id + `"}}`),
		Platform:   []byte(`{"android":{"priority":"high"},"apns":{"headers":{"apns-collapse-id":"` + id + `"}}}`),
	}
}

// collapsible is msg with a collapse key.
func collapsible(token, id, key string, ttl time.Duration) store.Message {
	m := msg(token, id, ttl)
	m.CollapseKey = key
	return m
}

// stored is m as the store returns it with sequence seq.
func stored(m store.Message, seq uint64) store.Message {
	m.Seq = seq
	return m
}

// enqueue enqueues msgs and fails the test on error.
func enqueue(t *testing.T, s store.Store, msgs ...store.Message) []store.Outcome {
	t.Helper()
	outs, err := s.Enqueue(context.Background(), msgs)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if len(outs) != len(msgs) {
		t.Fatalf("Enqueue returned %d outcomes for %d messages", len(outs), len(msgs))
	}
	return outs
}

// pending returns every entry of token after `after` live at now.
func pending(t *testing.T, s store.Store, token string, after uint64, now time.Time) ([]store.Message, uint64) {
	t.Helper()
	msgs, last, err := s.Pending(context.Background(), token, after, now, 1000)
	if err != nil {
		t.Fatalf("Pending(%s, %d): %v", token, after, err)
	}
	return msgs, last
}

// seqs lists the sequences of msgs.
func seqs(msgs []store.Message) []uint64 {
	out := make([]uint64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

// ack acks and fails the test on error.
func ack(t *testing.T, s store.Store, token string, upTo uint64) {
	t.Helper()
	if err := s.Ack(context.Background(), token, upTo); err != nil {
		t.Fatalf("Ack(%s, %d): %v", token, upTo, err)
	}
}

// must fails the test on error.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantErr fails the test unless errors.Is(err, want).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

// id builds a numbered identifier.
func id(prefix string, n int) string { return fmt.Sprintf("%s-%04d", prefix, n) }
