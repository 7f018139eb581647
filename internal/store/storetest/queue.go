package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald/internal/store"
)

func testEnqueueSequences(t *testing.T, s store.Store) {
	var want []store.Message
	var got []uint64
	for i := range 3 {
		m := msg("tok-a", id("m", i), time.Hour)
		outs := enqueue(t, s, m)
		got = append(got, outs[0].Seq)
		want = append(want, stored(m, uint64(i+1)))
	}
	// One call with several messages, two registrations interleaved.
	batch := []store.Message{msg("tok-a", "m-3", time.Hour), msg("tok-b", "b-0", time.Hour), msg("tok-a", "m-4", time.Hour)}
	outs := enqueue(t, s, batch...)
	for _, o := range outs {
		got = append(got, o.Seq)
	}
	want = append(want, stored(batch[0], 4), stored(batch[2], 5))
	if diff := cmp.Diff([]uint64{1, 2, 3, 4, 1, 5}, got); diff != "" {
		t.Errorf("sequences (-want +got):\n%s", diff)
	}
	for _, o := range outs {
		if len(o.Collapsed) != 0 || o.Dropped != 0 || o.Marker != nil {
			t.Errorf("outcome %+v: want only a sequence", o)
		}
	}
	msgs, last := pending(t, s, "tok-a", 0, t0)
	if diff := cmp.Diff(want, msgs, diffOpts...); diff != "" {
		t.Errorf("Pending(tok-a) (-want +got):\n%s", diff)
	}
	if last != 5 {
		t.Errorf("lastSeq = %d, want 5", last)
	}
	if batch[0].Seq != 0 {
		t.Errorf("Enqueue modified the caller's message: Seq = %d", batch[0].Seq)
	}
}

// testConcurrentEnqueue checks the ordering promise: a call that starts
// after another returned gets a higher sequence, and sequences have no gaps
// or duplicates. Many writers share a few registrations, each of which gets
// exactly MaxPending messages.
func testConcurrentEnqueue(t *testing.T, s store.Store) {
	const writers, each, tokens = 16, 25, 4
	perToken := writers * each / tokens
	var returned [tokens]atomic.Uint64 // highest sequence whose call has returned
	var mu sync.Mutex
	all := make([][]uint64, tokens)
	var wg sync.WaitGroup
	errs := make(chan string, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				tok := (w + i) % tokens
				before := returned[tok].Load()
				m := msg(id("tok", tok), id("w", w*each+i), time.Hour)
				outs, err := s.Enqueue(context.Background(), []store.Message{m})
				if err != nil {
					errs <- err.Error()
					return
				}
				seq := outs[0].Seq
				if seq <= before {
					errs <- fmt.Sprintf("%s: a call that started after sequence %d returned got %d", m.Token, before, seq)
				}
				for {
					cur := returned[tok].Load()
					if seq <= cur || returned[tok].CompareAndSwap(cur, seq) {
						break
					}
				}
				mu.Lock()
				all[tok] = append(all[tok], seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	want := make([]uint64, perToken)
	for i := range want {
		want[i] = uint64(i + 1)
	}
	for tok := range tokens {
		slices.Sort(all[tok])
		if diff := cmp.Diff(want, all[tok]); diff != "" {
			t.Errorf("%s: sequences (-want +got):\n%s", id("tok", tok), diff)
		}
		msgs, last := pending(t, s, id("tok", tok), 0, t0)
		if diff := cmp.Diff(want, seqs(msgs)); diff != "" {
			t.Errorf("%s: Pending sequences (-want +got):\n%s", id("tok", tok), diff)
		}
		if last != uint64(perToken) {
			t.Errorf("%s: lastSeq = %d, want %d", id("tok", tok), last, perToken)
		}
	}
}

func testPending(t *testing.T, s store.Store) {
	ms := []store.Message{
		msg("tok", "m1", time.Hour),
		msg("tok", "m2", time.Minute),
		msg("tok", "m3", time.Hour),
		msg("tok", "m4", 0), // expires at once: deliver now or drop
		msg("tok", "m5", time.Hour),
	}
	ms[2].High = true
	ms[2].Platform = nil // none: stays nil
	ms[4].Payload = nil  // platform blocks without a payload
	enqueue(t, s, ms...)
	want := make([]store.Message, len(ms))
	for i := range ms {
		want[i] = stored(ms[i], uint64(i+1))
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		after uint64
		now   time.Time
		limit int
		want  []store.Message
	}{
		{"all live at t0 (expiry at now counts as expired)", 0, t0, 100, []store.Message{want[0], want[1], want[2], want[4]}},
		{"one expired later", 0, t0.Add(2 * time.Minute), 100, []store.Message{want[0], want[2], want[4]}},
		{"after", 2, t0, 100, []store.Message{want[2], want[4]}},
		{"limit", 0, t0, 2, []store.Message{want[0], want[1]}},
		{"after and limit", 1, t0.Add(2 * time.Minute), 1, []store.Message{want[2]}},
		{"after the last", 5, t0, 100, nil},
		{"all expired", 0, t0.Add(time.Hour), 100, nil},
	} {
		msgs, last, err := s.Pending(ctx, "tok", tc.after, tc.now, tc.limit)
		must(t, tc.name, err)
		if diff := cmp.Diff(tc.want, msgs, diffOpts...); diff != "" {
			t.Errorf("%s: Pending (-want +got):\n%s", tc.name, diff)
		}
		if last != 5 {
			t.Errorf("%s: lastSeq = %d, want 5", tc.name, last)
		}
	}
	msgs, last := pending(t, s, "tok-unknown", 0, t0)
	if len(msgs) != 0 || last != 0 {
		t.Errorf("Pending(unknown) = %v, %d; want none, 0", msgs, last)
	}
}

func testAck(t *testing.T, s store.Store) {
	for i := range 5 {
		enqueue(t, s, msg("tok", id("m", i), time.Hour))
	}
	enqueue(t, s, msg("other", "o", time.Hour))
	for _, step := range []struct {
		upTo uint64
		want []uint64
	}{
		{3, []uint64{4, 5}},
		{3, []uint64{4, 5}}, // idempotent
		{2, []uint64{4, 5}}, // behind: nothing
		{10, nil},           // beyond the last: everything
	} {
		ack(t, s, "tok", step.upTo)
		msgs, last := pending(t, s, "tok", 0, t0)
		if diff := cmp.Diff(step.want, seqs(msgs), diffOpts...); diff != "" {
			t.Errorf("after Ack(%d) (-want +got):\n%s", step.upTo, diff)
		}
		if last != 5 {
			t.Errorf("after Ack(%d): lastSeq = %d, want 5", step.upTo, last)
		}
	}
	ack(t, s, "never-used", 7)
	if outs := enqueue(t, s, msg("tok", "m5", time.Hour)); outs[0].Seq != 6 {
		t.Errorf("Enqueue after acking everything: seq %d, want 6", outs[0].Seq)
	}
	if msgs, _ := pending(t, s, "other", 0, t0); len(msgs) != 1 {
		t.Errorf("Ack of one registration touched another: %v", msgs)
	}
}

func testCollapse(t *testing.T, s store.Store) {
	check := func(m store.Message, wantSeq uint64, wantCollapsed ...uint64) {
		t.Helper()
		got := enqueue(t, s, m)[0]
		want := store.Outcome{Seq: wantSeq, Collapsed: wantCollapsed}
		if diff := cmp.Diff(want, got, diffOpts...); diff != "" {
			t.Errorf("Enqueue(%s, key %q) (-want +got):\n%s", m.ID, m.CollapseKey, diff)
		}
	}
	check(collapsible("tok", "a1", "k1", time.Hour), 1)
	check(msg("tok", "plain", time.Hour), 2)
	check(collapsible("tok", "a2", "k1", time.Hour), 3, 1) // same key replaces
	check(collapsible("tok", "b", "k2", time.Hour), 4)
	check(collapsible("tok", "c", "k3", time.Hour), 5)
	check(collapsible("tok", "d", "k4", time.Hour), 6)
	check(collapsible("tok", "e", "k5", time.Hour), 7, 3) // a fifth key evicts the oldest (k1)
	check(collapsible("tok", "b2", "k2", time.Hour), 8, 4)

	msgs, last := pending(t, s, "tok", 0, t0)
	if diff := cmp.Diff([]uint64{2, 5, 6, 7, 8}, seqs(msgs)); diff != "" {
		t.Errorf("Pending (-want +got):\n%s", diff)
	}
	if last != 8 {
		t.Errorf("lastSeq = %d, want 8", last)
	}
	// An acked entry no longer collapses anything.
	ack(t, s, "tok", 5)
	check(collapsible("tok", "c2", "k3", time.Hour), 9)
	// Keys of another registration are separate.
	check(collapsible("tok-2", "x", "k2", time.Hour), 1)
}

func testPendingLimit(t *testing.T, s store.Store) {
	const limit = 100 // store.DefaultLimits.MaxPending
	plain := func(n, from int) []store.Message {
		ms := make([]store.Message, n)
		for i := range ms {
			ms[i] = msg("tok", id("m", from+i), time.Hour)
		}
		return ms
	}
	c1 := collapsible("tok", "c1", "k1", 2*time.Hour)
	enqueue(t, s, c1)                         // seq 1
	outs := enqueue(t, s, plain(limit, 0)...) // seqs 2..101
	c2 := collapsible("tok", "c2", "k2", time.Hour)
	outs = append(outs, enqueue(t, s, c2)...) // seq 102: collapsible ones do not count
	for _, o := range outs {
		if o.Dropped != 0 || o.Marker != nil {
			t.Fatalf("outcome %+v before the limit: want nothing dropped", o)
		}
	}

	// The 101st non-collapsible message drops the 100 and gets a marker.
	next := msg("tok", "m-over", time.Hour)
	got := enqueue(t, s, next)[0]
	if got.Seq != 104 || got.Dropped != limit || got.Marker == nil {
		t.Fatalf("outcome of the 101st: %+v, want seq 104, 100 dropped, a marker", got)
	}
	checkMarker(t, *got.Marker, 103, limit)
	msgs, last := pending(t, s, "tok", 0, t0)
	if diff := cmp.Diff([]uint64{1, 102, 103, 104}, seqs(msgs)); diff != "" {
		t.Errorf("Pending after the drop (-want +got):\n%s", diff)
	}
	if last != 104 {
		t.Errorf("lastSeq = %d, want 104", last)
	}
	if diff := cmp.Diff(*got.Marker, msgs[2], diffOpts...); diff != "" {
		t.Errorf("stored marker differs from Outcome.Marker (-outcome +stored):\n%s", diff)
	}
	if diff := cmp.Diff(stored(next, 104), msgs[3], diffOpts...); diff != "" {
		t.Errorf("message after the marker (-want +got):\n%s", diff)
	}

	// Another overflow while the marker pends merges it.
	enqueue(t, s, plain(limit-1, 200)...) // 105..203: with 104, 100 pending
	got = enqueue(t, s, msg("tok", "m-over-2", time.Hour))[0]
	if got.Seq != 205 || got.Dropped != limit || got.Marker == nil {
		t.Fatalf("second overflow: %+v, want seq 205, 100 dropped, a marker", got)
	}
	checkMarker(t, *got.Marker, 204, 2*limit)
	msgs, _ = pending(t, s, "tok", 0, t0)
	if diff := cmp.Diff([]uint64{1, 102, 204, 205}, seqs(msgs)); diff != "" {
		t.Errorf("Pending after the second drop (-want +got):\n%s", diff)
	}

	// Once the marker is acked, the next overflow starts a new count.
	ack(t, s, "tok", 204)
	enqueue(t, s, plain(limit-1, 300)...) // 206..304
	got = enqueue(t, s, msg("tok", "m-over-3", time.Hour))[0]
	if got.Marker == nil {
		t.Fatalf("third overflow: no marker")
	}
	checkMarker(t, *got.Marker, 305, limit)
}

// checkMarker checks a KindDeleted marker.
func checkMarker(t *testing.T, m store.Message, seq uint64, dropped int) {
	t.Helper()
	if m.Kind != store.KindDeleted || m.Seq != seq || m.Dropped != dropped || m.Token != "tok" {
		t.Errorf("marker %+v: want kind deleted, token tok, seq %d, dropped %d", m, seq, dropped)
	}
	if !m.ExpiresAt.IsZero() && !m.ExpiresAt.After(t0) {
		t.Errorf("marker expires at %v, before the messages it stands for", m.ExpiresAt)
	}
}

func testPurgeExpired(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := []store.Message{msg("tok-a", "a1", time.Minute), msg("tok-a", "a2", time.Hour), msg("tok-a", "a3", 2*time.Minute)}
	b := []store.Message{msg("tok-b", "b1", 30*time.Second)}
	enqueue(t, s, a...)
	enqueue(t, s, b...)
	withoutPayload := func(m store.Message, seq uint64) store.Message {
		m = stored(m, seq)
		m.Payload, m.Platform = nil, nil
		return m
	}
	bySeq := func(ms []store.Message) []store.Message {
		slices.SortFunc(ms, func(x, y store.Message) int {
			if x.Token != y.Token {
				if x.Token < y.Token {
					return -1
				}
				return 1
			}
			return int(x.Seq) - int(y.Seq)
		})
		return ms
	}

	got, err := s.PurgeExpired(ctx, t0.Add(time.Minute), 100) // a1 expires exactly then
	must(t, "PurgeExpired", err)
	want := []store.Message{withoutPayload(a[0], 1), withoutPayload(b[0], 1)}
	if diff := cmp.Diff(want, bySeq(got), diffOpts...); diff != "" {
		t.Errorf("PurgeExpired at +1m (-want +got):\n%s", diff)
	}
	// Removed, not just hidden: visible at an earlier now they are gone.
	msgs, last := pending(t, s, "tok-a", 0, t0)
	if diff := cmp.Diff([]uint64{2, 3}, seqs(msgs)); diff != "" {
		t.Errorf("Pending(tok-a) after purge (-want +got):\n%s", diff)
	}
	if last != 3 {
		t.Errorf("lastSeq = %d, want 3", last)
	}
	got, err = s.PurgeExpired(ctx, t0.Add(time.Minute), 100)
	must(t, "PurgeExpired(again)", err)
	if len(got) != 0 {
		t.Errorf("PurgeExpired again returned %v, want none", got)
	}

	// The limit bounds one call; the rest comes with the next.
	for i := range 5 {
		enqueue(t, s, msg("tok-c", id("c", i), time.Duration(i+1)*time.Second))
	}
	got, err = s.PurgeExpired(ctx, t0.Add(3*time.Minute), 2)
	must(t, "PurgeExpired(limit 2)", err)
	rest, err := s.PurgeExpired(ctx, t0.Add(3*time.Minute), 100)
	must(t, "PurgeExpired(rest)", err)
	if len(got) != 2 || len(rest) != 4 {
		t.Errorf("PurgeExpired with limit 2 then 100: %d then %d, want 2 then 4 (tok-a/3 and tok-c)", len(got), len(rest))
	}
	all := bySeq(append(got, rest...))
	var names []string
	for _, m := range all {
		names = append(names, m.ID)
	}
	if diff := cmp.Diff([]string{"a3", "c-0000", "c-0001", "c-0002", "c-0003", "c-0004"}, names); diff != "" {
		t.Errorf("purged (-want +got):\n%s", diff)
	}

	// An acked message is not purged; sequences continue after a purge.
	enqueue(t, s, msg("tok-b", "b2", time.Second))
	ack(t, s, "tok-b", 2)
	got, err = s.PurgeExpired(ctx, t0.Add(time.Hour), 100)
	must(t, "PurgeExpired(after ack)", err)
	if diff := cmp.Diff([]store.Message{withoutPayload(a[1], 2)}, got, diffOpts...); diff != "" {
		t.Errorf("PurgeExpired at +1h (-want +got):\n%s", diff)
	}
	if outs := enqueue(t, s, msg("tok-a", "a4", time.Hour)); outs[0].Seq != 4 {
		t.Errorf("Enqueue after purging everything: seq %d, want 4", outs[0].Seq)
	}
}

func testDeleteRegistrationDropsQueue(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, "CreateRegistration", s.CreateRegistration(ctx, store.Registration{Token: "tok", ProjectID: "p", AppKey: "a", DeviceID: "d", CreatedAt: t0}))
	enqueue(t, s, msg("tok", "m1", time.Minute), collapsible("tok", "m2", "k", time.Hour), msg("tok", "m3", time.Hour))
	must(t, "DeleteRegistration", s.DeleteRegistration(ctx, "tok", t0))
	msgs, last := pending(t, s, "tok", 0, t0)
	if len(msgs) != 0 || last != 3 {
		t.Errorf("Pending after delete = %v, %d; want none, 3", msgs, last)
	}
	got, err := s.PurgeExpired(ctx, t0.Add(2*time.Hour), 100)
	must(t, "PurgeExpired", err)
	if len(got) != 0 {
		t.Errorf("PurgeExpired returned dropped messages: %v", got)
	}
}
