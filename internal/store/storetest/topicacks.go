package storetest

import (
	"context"
	"testing"

	"github.com/heraldpush/herald/internal/store"
)

// testAckTopics: one AckTopics call moves many cursors forward, never
// back, and skips registrations without a cursor (never subscribed,
// deleted, unknown).
func testAckTopics(t *testing.T, s store.Store) {
	ctx := context.Background()
	register(t, s, "tok-a", "p1")
	register(t, s, "tok-b", "p1")
	register(t, s, "tok-gone", "p1")
	subscribe(t, s, "tok-a", t0, "news")
	must(t, "AckTopic(tok-a)", s.AckTopic(ctx, "tok-a", 5))
	must(t, "DeleteRegistration", s.DeleteRegistration(ctx, "tok-gone", t0))

	must(t, "AckTopics", s.AckTopics(ctx, map[string]uint64{
		"tok-a":    3, // behind its cursor: unchanged
		"tok-b":    7, // never subscribed: no cursor, none made
		"tok-gone": 9, // deleted: no cursor comes back
		"tok-none": 4, // unknown: skipped
	}))
	for token, want := range map[string]uint64{"tok-a": 5, "tok-b": 0, "tok-gone": 0, "tok-none": 0} {
		if c := cursor(t, s, token); c != want {
			t.Errorf("cursor of %s after AckTopics = %d, want %d", token, c, want)
		}
	}
	subscribe(t, s, "tok-b", t0, "news")
	must(t, "AckTopics", s.AckTopics(ctx, map[string]uint64{"tok-a": 6, "tok-b": 7}))
	must(t, "AckTopics", s.AckTopics(ctx, map[string]uint64{"tok-a": 0}))
	if c := cursor(t, s, "tok-a"); c != 6 {
		t.Errorf("cursor of tok-a = %d, want 6 (an ack of 0 changes nothing)", c)
	}
	if c := cursor(t, s, "tok-b"); c != 7 {
		t.Errorf("cursor of tok-b after subscribing and AckTopics = %d, want 7", c)
	}
	must(t, "AckTopics(empty)", s.AckTopics(ctx, nil))

	must(t, "Close", s.Close())
	wantErr(t, "AckTopics after Close", s.AckTopics(ctx, map[string]uint64{"tok-a": 8}), store.ErrClosed)
}
