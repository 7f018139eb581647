package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald/internal/store"
)

// status reads a message's status and fails the test on error.
func status(t *testing.T, s store.Store, id string) store.Status {
	t.Helper()
	st, err := s.MessageStatus(context.Background(), id)
	if err != nil {
		t.Fatalf("MessageStatus(%s): %v", id, err)
	}
	return st
}

// accepted is the status record Enqueue writes for m.
func accepted(m store.Message) store.Status {
	return store.Status{
		ID: m.ID, ProjectID: m.ProjectID, Token: m.Token, State: store.StateAccepted,
		AcceptedAt: m.AcceptedAt, ExpiresAt: m.ExpiresAt, UpdatedAt: m.AcceptedAt,
	}
}

// testStatus covers the StatusStore part of the contract.
func testStatus(t *testing.T, s store.Store) {
	ctx := context.Background()

	t.Run("AcceptedByEnqueue", func(t *testing.T) {
		m := msg("st-tok-a", "st-a1", time.Hour)
		enqueue(t, s, m)
		if diff := cmp.Diff(accepted(m), status(t, s, m.ID), diffOpts...); diff != "" {
			t.Errorf("status after Enqueue (-want +got):\n%s", diff)
		}
		_, err := s.MessageStatus(ctx, "st-never-sent")
		wantErr(t, "MessageStatus(unknown)", err, store.ErrNotFound)
	})

	t.Run("ExpiredReadsAt", func(t *testing.T) {
		m := msg("st-tok-b", "st-b1", time.Hour)
		enqueue(t, s, m)
		st := status(t, s, m.ID)
		if got := st.At(t0.Add(59 * time.Minute)); got != store.StateAccepted {
			t.Errorf("At(before expiry) = %s, want accepted", got)
		}
		if got := st.At(t0.Add(time.Hour)); got != store.StateExpired {
			t.Errorf("At(expiry) = %s, want expired", got)
		}
		// Purging the expired entry from the queue does not touch status.
		if _, err := s.PurgeExpired(ctx, t0.Add(2*time.Hour), 0); err != nil {
			t.Fatal(err)
		}
		if got := status(t, s, m.ID).At(t0.Add(2 * time.Hour)); got != store.StateExpired {
			t.Errorf("after PurgeExpired: At = %s, want expired", got)
		}
	})

	t.Run("CollapsedInTheSameWrite", func(t *testing.T) {
		first := collapsible("st-tok-c", "st-c1", "k", time.Hour)
		second := collapsible("st-tok-c", "st-c2", "k", time.Hour)
		second.AcceptedAt = t0.Add(time.Minute)
		// Both in one call: the second collapses the first within one
		// batch; then a third in its own call collapses the second.
		enqueue(t, s, first, second)
		third := collapsible("st-tok-c", "st-c3", "k", time.Hour)
		third.AcceptedAt = t0.Add(2 * time.Minute)
		enqueue(t, s, third)
		for _, c := range []struct {
			m  store.Message
			at time.Time
		}{{first, second.AcceptedAt}, {second, third.AcceptedAt}} {
			st := status(t, s, c.m.ID)
			if st.State != store.StateCollapsed || !st.UpdatedAt.Equal(c.at) || st.Reason == "" {
				t.Errorf("%s: state %s at %v (reason %q), want collapsed at %v with a reason", c.m.ID, st.State, st.UpdatedAt, st.Reason, c.at)
			}
		}
		if got := status(t, s, third.ID).State; got != store.StateAccepted {
			t.Errorf("the collapsing message is %s, want accepted", got)
		}
	})

	t.Run("DroppedByThePendingLimit", func(t *testing.T) {
		limit := store.DefaultLimits.MaxPending
		var msgs []store.Message
		for i := range limit {
			msgs = append(msgs, msg("st-tok-d", id("st-d", i), time.Hour))
		}
		enqueue(t, s, msgs...)
		over := msg("st-tok-d", "st-d-over", time.Hour)
		over.AcceptedAt = t0.Add(time.Minute)
		outs := enqueue(t, s, over)
		if outs[0].Dropped != limit {
			t.Fatalf("Dropped = %d, want %d", outs[0].Dropped, limit)
		}
		for _, m := range msgs {
			st := status(t, s, m.ID)
			if st.State != store.StateDropped || !st.UpdatedAt.Equal(over.AcceptedAt) || st.Reason == "" {
				t.Fatalf("%s: state %s at %v (reason %q), want dropped at %v with a reason", m.ID, st.State, st.UpdatedAt, st.Reason, over.AcceptedAt)
			}
		}
		if got := status(t, s, over.ID).State; got != store.StateAccepted {
			t.Errorf("the message over the limit is %s, want accepted", got)
		}
	})

	t.Run("EndStatesStick", func(t *testing.T) {
		m := msg("st-tok-e", "st-e1", time.Hour)
		enqueue(t, s, m)
		at := t0.Add(time.Minute)
		must(t, "UpdateStatus", s.UpdateStatus(ctx, []store.StatusUpdate{
			{ID: m.ID, State: store.StateDelivered},
			{ID: "st-unknown", State: store.StateDelivered}, // skipped
		}, at))
		must(t, "UpdateStatus again", s.UpdateStatus(ctx, []store.StatusUpdate{{ID: m.ID, State: store.StateFailed, Reason: "too late"}}, at.Add(time.Minute)))
		want := accepted(m)
		want.State, want.UpdatedAt = store.StateDelivered, at
		if diff := cmp.Diff(want, status(t, s, m.ID), diffOpts...); diff != "" {
			t.Errorf("status (-want +got):\n%s", diff)
		}
		if got := status(t, s, m.ID).At(t0.Add(2 * time.Hour)); got != store.StateDelivered {
			t.Errorf("a delivered message reads %s after its expiry", got)
		}
		if _, err := s.MessageStatus(ctx, "st-unknown"); err == nil {
			t.Error("UpdateStatus created a record for an unknown ID")
		}

		f := msg("st-tok-e", "st-e2", time.Hour)
		enqueue(t, s, f)
		must(t, "UpdateStatus failed", s.UpdateStatus(ctx, []store.StatusUpdate{{ID: f.ID, State: store.StateFailed, Reason: "vendor said no"}}, at))
		if st := status(t, s, f.ID); st.State != store.StateFailed || st.Reason != "vendor said no" {
			t.Errorf("failed message: %+v", st)
		}
		err := s.UpdateStatus(ctx, []store.StatusUpdate{{ID: f.ID, State: store.StateAccepted}}, at)
		if err == nil {
			t.Error("UpdateStatus to accepted: no error")
		}
	})

	t.Run("FailedWithAReplacedToken", func(t *testing.T) {
		old := register(t, s, "st-tok-r", "proj")
		m := msg("st-tok-r", "st-r1", time.Hour)
		enqueue(t, s, m)
		at := t0.Add(time.Minute)
		repl := old
		repl.Token = "st-tok-r2"
		must(t, "ReplaceRegistration", s.ReplaceRegistration(ctx, old.Token, repl, at))
		st := status(t, s, m.ID)
		if st.State != store.StateFailed || !st.UpdatedAt.Equal(at) || st.Reason == "" {
			t.Errorf("a message pending when its token was replaced: %+v", st)
		}
		// DeleteRegistration leaves the status to its caller.
		register(t, s, "st-tok-r3", "proj")
		d := msg("st-tok-r3", "st-r3", time.Hour)
		enqueue(t, s, d)
		must(t, "DeleteRegistration", s.DeleteRegistration(ctx, "st-tok-r3", at))
		must(t, "UpdateStatus", s.UpdateStatus(ctx, []store.StatusUpdate{{ID: d.ID, State: store.StateFailed, Reason: "vendor: gone"}}, at))
		if st := status(t, s, d.ID); st.State != store.StateFailed || st.Reason != "vendor: gone" {
			t.Errorf("after DeleteRegistration and the caller's update: %+v", st)
		}
	})

	t.Run("TopicCounts", func(t *testing.T) {
		tm := topicMsg("proj", "news", "st-t1", time.Hour)
		tm.Targeted = 3
		cm := topicMsg("proj", "", "st-t2", time.Hour)
		cm.Condition = "'a' in topics || 'b' in topics"
		appendTopic(t, s, tm, cm)
		st := status(t, s, tm.ID)
		want := store.Status{
			ID: tm.ID, ProjectID: "proj", Topic: "news", State: store.StateAccepted,
			AcceptedAt: tm.AcceptedAt, ExpiresAt: tm.ExpiresAt, UpdatedAt: tm.AcceptedAt, Targeted: 3,
		}
		if diff := cmp.Diff(want, st, diffOpts...); diff != "" {
			t.Errorf("topic status (-want +got):\n%s", diff)
		}
		if got := status(t, s, cm.ID); got.Condition != cm.Condition || got.Topic != "" || got.Targeted != 0 {
			t.Errorf("condition status: %+v", got)
		}
		at := t0.Add(time.Minute)
		must(t, "AddDelivered", s.AddDelivered(ctx, map[string]int64{tm.ID: 1, "st-unknown": 5}, at))
		must(t, "AddDelivered", s.AddDelivered(ctx, map[string]int64{tm.ID: 1}, at.Add(time.Second)))
		st = status(t, s, tm.ID)
		if st.Delivered != 2 || !st.UpdatedAt.Equal(at.Add(time.Second)) || st.State != store.StateAccepted {
			t.Errorf("after two deliveries: %+v", st)
		}
		if p, e := st.Counts(at); p != 1 || e != 0 {
			t.Errorf("Counts before expiry = %d pending, %d expired; want 1, 0", p, e)
		}
		if p, e := st.Counts(tm.ExpiresAt); p != 0 || e != 1 {
			t.Errorf("Counts at expiry = %d pending, %d expired; want 0, 1", p, e)
		}
		if _, err := s.MessageStatus(ctx, "st-unknown"); err == nil {
			t.Error("AddDelivered created a record for an unknown ID")
		}
	})

	t.Run("Purge", func(t *testing.T) {
		done := msg("st-tok-p", "st-p1", time.Hour)
		live := msg("st-tok-p", "st-p2", time.Hour)
		// Acked, but its delivery never recorded: it ends at its expiry.
		acked := msg("st-tok-p2", "st-p3", time.Hour)
		outs := enqueue(t, s, done, live, acked)
		ack(t, s, acked.Token, outs[2].Seq)
		must(t, "UpdateStatus", s.UpdateStatus(ctx, []store.StatusUpdate{{ID: done.ID, State: store.StateDelivered}}, t0.Add(time.Minute)))

		// Ended before t0+2m: the delivered one (and none of those still
		// accepted, which end at their expiry, t0+1h).
		n, err := s.PurgeStatus(ctx, t0.Add(2*time.Minute), 0)
		must(t, "PurgeStatus", err)
		if _, err := s.MessageStatus(ctx, done.ID); err == nil {
			t.Errorf("the delivered message's status survived a purge after it ended")
		}
		if n < 1 {
			t.Errorf("PurgeStatus = %d, want at least 1", n)
		}
		status(t, s, live.ID)
		// A bound: at most limit per call.
		if n, err := s.PurgeStatus(ctx, t0.Add(time.Hour), 1); err != nil || n > 1 {
			t.Errorf("PurgeStatus(limit 1) = %d, %v", n, err)
		}
		// An accepted message ends at its expiry: not purged before it,
		// purged after.
		for {
			n, err := s.PurgeStatus(ctx, t0.Add(time.Hour), 100)
			must(t, "PurgeStatus", err)
			if n == 0 {
				break
			}
		}
		status(t, s, live.ID)
		// Once the queue's purge removed the expired entry.
		if _, err := s.PurgeExpired(ctx, t0.Add(time.Hour), 0); err != nil {
			t.Fatal(err)
		}
		_, err = s.PurgeStatus(ctx, t0.Add(time.Hour+time.Nanosecond), 0)
		must(t, "PurgeStatus", err)
		for _, id := range []string{live.ID, acked.ID} {
			_, err = s.MessageStatus(ctx, id)
			wantErr(t, "MessageStatus(purged "+id+")", err, store.ErrNotFound)
		}
		if n, err := s.PurgeStatus(ctx, t0.Add(48*time.Hour), 0); err != nil {
			t.Errorf("PurgeStatus: %v", err)
		} else if _, err := s.MessageStatus(ctx, "st-t1"); err == nil {
			t.Errorf("a topic message's status survived a purge after its expiry (%d purged)", n)
		}
	})
}
