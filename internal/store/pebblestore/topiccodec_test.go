package pebblestore

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/heraldpush/herald/internal/store"
)

// FuzzTopicCodec round-trips topic log entries and subscriptions and feeds
// arbitrary bytes to their decoders, which must fail cleanly.
func FuzzTopicCodec(f *testing.F) {
	f.Add(int64(1_900_000_000_000_000_000), int64(3600e9), "news", false, "id", "key", []byte(`{"a":1}`), []byte(nil), true, uint64(7))
	f.Add(int64(0), int64(0), "'a' in topics && !('b' in topics)", true, "", "", []byte(nil), []byte(`{"apns":{}}`), false, uint64(0))
	f.Add(int64(-5), int64(-1), "é", false, "\x00", "k", []byte{0, 1, 2}, []byte{0xff}, false, uint64(1)<<40)
	f.Fuzz(func(t *testing.T, accepted, ttl int64, target string, condition bool, id, collapse string, payload, platform []byte, high bool, since uint64) {
		if target == "" {
			target = "t"
		}
		m := store.TopicMessage{
			ID: id, CollapseKey: collapse, TTL: time.Duration(ttl), High: high, Payload: payload, Platform: platform,
		}
		if condition {
			m.Condition = target
		} else {
			m.Topic = target
		}
		var created time.Time
		if accepted != 0 {
			m.AcceptedAt = time.Unix(0, accepted)
			m.ExpiresAt = m.AcceptedAt.Add(m.TTL)
			created = m.AcceptedAt
		}
		v := appendTopicMessage(nil, &m)
		if len(v) != topicEncodedLen(&m) {
			t.Fatalf("topicEncodedLen %d, encoded %d bytes", topicEncodedLen(&m), len(v))
		}
		var got store.TopicMessage
		pl, p, err := decodeTopicMessage(v, &got)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		got.Platform, got.Payload = pl, p
		if diff := cmp.Diff(m, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		for i := range v {
			_, _, _ = decodeTopicMessage(v[:i], &got)
		}
		_, _, _ = decodeTopicMessage(payload, &got)

		sv := appendSubscription(nil, since, created)
		var sub store.Subscription
		if err := decodeSubscription(sv, &sub); err != nil {
			t.Fatalf("decode subscription: %v", err)
		}
		if sub.Since != since || !sub.CreatedAt.Equal(created) {
			t.Fatalf("subscription round trip: got %d %v, want %d %v", sub.Since, sub.CreatedAt, since, created)
		}
		_ = decodeSubscription(payload, &sub)
	})
}
