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

// register creates a live registration of project.
func register(t *testing.T, s store.Store, token, project string) store.Registration {
	t.Helper()
	r := store.Registration{Token: token, ProjectID: project, AppKey: "app", DeviceID: "dev-" + token, CreatedAt: t0}
	must(t, "CreateRegistration", s.CreateRegistration(context.Background(), r))
	return r
}

// topicMsg is a message to a topic of project accepted at t0 that lives
// for ttl, with a payload and platform blocks.
func topicMsg(project, topic, id string, ttl time.Duration) store.TopicMessage {
	return store.TopicMessage{
		ProjectID:  project,
		Topic:      topic,
		ID:         id,
		AcceptedAt: t0,
		ExpiresAt:  t0.Add(ttl),
		TTL:        ttl,
		Payload:    []byte(`{"data":{"id":"` + id + `"}}`),
		Platform:   []byte(`{"android":{"priority":"high"}}`),
	}
}

// appendTopic appends msgs and fails the test on error.
func appendTopic(t *testing.T, s store.Store, msgs ...store.TopicMessage) []uint64 {
	t.Helper()
	seqs, err := s.AppendTopic(context.Background(), msgs)
	if err != nil {
		t.Fatalf("AppendTopic: %v", err)
	}
	if len(seqs) != len(msgs) {
		t.Fatalf("AppendTopic returned %d sequences for %d messages", len(seqs), len(msgs))
	}
	return seqs
}

// subscribe subscribes and fails the test on error.
func subscribe(t *testing.T, s store.Store, token string, at time.Time, topics ...string) []bool {
	t.Helper()
	created, err := s.Subscribe(context.Background(), token, topics, at)
	if err != nil {
		t.Fatalf("Subscribe(%s, %v): %v", token, topics, err)
	}
	return created
}

// subscriptions lists a registration's subscriptions.
func subscriptions(t *testing.T, s store.Store, token string) []store.Subscription {
	t.Helper()
	subs, err := s.Subscriptions(context.Background(), token)
	if err != nil {
		t.Fatalf("Subscriptions(%s): %v", token, err)
	}
	return subs
}

// cursor returns a registration's topic cursor.
func cursor(t *testing.T, s store.Store, token string) uint64 {
	t.Helper()
	c, err := s.TopicCursor(context.Background(), token)
	if err != nil {
		t.Fatalf("TopicCursor(%s): %v", token, err)
	}
	return c
}

// subscribers returns every subscriber of a topic and the total.
func subscribers(t *testing.T, s store.Store, project, topic string) ([]store.Subscription, int) {
	t.Helper()
	subs, total, err := s.TopicSubscribers(context.Background(), project, topic, "", 0)
	if err != nil {
		t.Fatalf("TopicSubscribers(%s, %s): %v", project, topic, err)
	}
	return subs, total
}

// topicLog returns every live entry of project's log after `after`.
func topicLog(t *testing.T, s store.Store, project string, after uint64, now time.Time) ([]store.TopicMessage, uint64) {
	t.Helper()
	msgs, head, err := s.TopicLog(context.Background(), project, after, now, 0)
	if err != nil {
		t.Fatalf("TopicLog(%s, %d): %v", project, after, err)
	}
	return msgs, head
}

// logSeqs lists the sequences of msgs.
func logSeqs(msgs []store.TopicMessage) []uint64 {
	out := make([]uint64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

func testSubscribe(t *testing.T, s store.Store) {
	ctx := context.Background()
	register(t, s, "tok", "p1")
	at := t0.Add(time.Minute)
	if diff := cmp.Diff([]bool{true, true, false}, subscribe(t, s, "tok", at, "news", "sport", "news")); diff != "" {
		t.Errorf("Subscribe(news, sport, news) created (-want +got):\n%s", diff)
	}
	// Idempotent: an existing subscription is kept as it was.
	if diff := cmp.Diff([]bool{false, true}, subscribe(t, s, "tok", at.Add(time.Hour), "sport", "arts")); diff != "" {
		t.Errorf("Subscribe(sport, arts) created (-want +got):\n%s", diff)
	}
	want := []store.Subscription{
		{Token: "tok", Topic: "arts", CreatedAt: at.Add(time.Hour)},
		{Token: "tok", Topic: "news", CreatedAt: at},
		{Token: "tok", Topic: "sport", CreatedAt: at},
	}
	if diff := cmp.Diff(want, subscriptions(t, s, "tok"), diffOpts...); diff != "" {
		t.Errorf("Subscriptions (-want +got):\n%s", diff)
	}

	existed, err := s.Unsubscribe(ctx, "tok", []string{"news", "weather", "news"})
	must(t, "Unsubscribe", err)
	if diff := cmp.Diff([]bool{true, false, false}, existed); diff != "" {
		t.Errorf("Unsubscribe(news, weather, news) existed (-want +got):\n%s", diff)
	}
	existed, err = s.Unsubscribe(ctx, "tok", []string{"news"})
	must(t, "Unsubscribe(again)", err)
	if diff := cmp.Diff([]bool{false}, existed); diff != "" {
		t.Errorf("Unsubscribe(news) again existed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]store.Subscription{want[0], want[2]}, subscriptions(t, s, "tok"), diffOpts...); diff != "" {
		t.Errorf("Subscriptions after Unsubscribe (-want +got):\n%s", diff)
	}
	// Unsubscribed, then subscribed again: created anew.
	if diff := cmp.Diff([]bool{true}, subscribe(t, s, "tok", at, "news")); diff != "" {
		t.Errorf("Subscribe(news) after Unsubscribe created (-want +got):\n%s", diff)
	}

	_, err = s.Subscribe(ctx, "tok-missing", []string{"news"}, at)
	wantErr(t, "Subscribe(missing registration)", err, store.ErrNotFound)
	_, err = s.Unsubscribe(ctx, "tok-missing", []string{"news"})
	wantErr(t, "Unsubscribe(missing registration)", err, store.ErrNotFound)
	register(t, s, "tok-deleted", "p1")
	must(t, "DeleteRegistration", s.DeleteRegistration(ctx, "tok-deleted", t0))
	_, err = s.Subscribe(ctx, "tok-deleted", []string{"news"}, at)
	wantErr(t, "Subscribe(deleted registration)", err, store.ErrNotFound)
	if subs := subscriptions(t, s, "tok-missing"); len(subs) != 0 {
		t.Errorf("Subscriptions(missing) = %v, want none", subs)
	}
	if subs := subscriptions(t, s, "tok-deleted"); len(subs) != 0 {
		t.Errorf("Subscriptions(deleted) = %v, want none", subs)
	}
}

func testTopicLimit(t *testing.T, s store.Store) {
	ctx := context.Background()
	register(t, s, "tok", "p1")
	const limit = store.MaxTopicsPerRegistration
	topics := make([]string, limit-1)
	for i := range topics {
		topics[i] = id("t", i)
	}
	if created := subscribe(t, s, "tok", t0, topics...); slices.Contains(created, false) {
		t.Fatalf("Subscribe of %d new topics did not create them all", limit-1)
	}
	// Two more would exceed the limit: nothing is written.
	_, err := s.Subscribe(ctx, "tok", []string{"over-a", "over-b"}, t0)
	wantErr(t, "Subscribe(over the limit)", err, store.ErrTooManyTopics)
	if got := len(subscriptions(t, s, "tok")); got != limit-1 {
		t.Errorf("%d subscriptions after a refused Subscribe, want %d", got, limit-1)
	}
	for _, topic := range []string{"over-a", "over-b"} {
		if subs, total := subscribers(t, s, "p1", topic); len(subs) != 0 || total != 0 {
			t.Errorf("TopicSubscribers(%s) after a refused Subscribe: %v, %d", topic, subs, total)
		}
	}
	// Existing topics do not count again; one more reaches the limit.
	if diff := cmp.Diff([]bool{false, true}, subscribe(t, s, "tok", t0, topics[0], "last")); diff != "" {
		t.Errorf("Subscribe(existing, last) created (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{false}, subscribe(t, s, "tok", t0, "last")); diff != "" {
		t.Errorf("Subscribe(last) at the limit (-want +got):\n%s", diff)
	}
	_, err = s.Subscribe(ctx, "tok", []string{"over-a"}, t0)
	wantErr(t, "Subscribe(one over the limit)", err, store.ErrTooManyTopics)
	// Unsubscribing makes room.
	_, err = s.Unsubscribe(ctx, "tok", []string{topics[0]})
	must(t, "Unsubscribe", err)
	if diff := cmp.Diff([]bool{true}, subscribe(t, s, "tok", t0, "over-a")); diff != "" {
		t.Errorf("Subscribe after Unsubscribe at the limit (-want +got):\n%s", diff)
	}
	// The limit is per registration.
	register(t, s, "tok-2", "p1")
	subscribe(t, s, "tok-2", t0, "over-b")
}

// testSinceAndCursor: a subscription starts at the log's head; the cursor
// is set by the first subscription only and moves forward only.
func testSinceAndCursor(t *testing.T, s store.Store) {
	ctx := context.Background()
	register(t, s, "tok", "p1")
	if c := cursor(t, s, "tok"); c != 0 {
		t.Errorf("cursor before any subscription = %d, want 0", c)
	}
	appendTopic(t, s, topicMsg("p1", "news", "m1", time.Hour), topicMsg("p1", "news", "m2", time.Hour))
	appendTopic(t, s, topicMsg("p2", "news", "other", time.Hour)) // another project's log
	subscribe(t, s, "tok", t0, "news")
	if c := cursor(t, s, "tok"); c != 2 {
		t.Errorf("cursor after Subscribe = %d, want the head 2", c)
	}
	appendTopic(t, s, topicMsg("p1", "news", "m3", time.Hour), topicMsg("p1", "sport", "m4", time.Hour))
	subscribe(t, s, "tok", t0, "sport")
	want := []store.Subscription{
		{Token: "tok", Topic: "news", Since: 2, CreatedAt: t0},
		{Token: "tok", Topic: "sport", Since: 4, CreatedAt: t0},
	}
	if diff := cmp.Diff(want, subscriptions(t, s, "tok"), diffOpts...); diff != "" {
		t.Errorf("Subscriptions (-want +got):\n%s", diff)
	}
	if c := cursor(t, s, "tok"); c != 2 {
		t.Errorf("cursor after a second Subscribe = %d, want 2 (set once)", c)
	}

	for _, step := range []struct{ upTo, want uint64 }{
		{3, 3},
		{3, 3}, // idempotent
		{1, 3}, // behind: nothing
		{0, 3},
		{4, 4},
	} {
		must(t, "AckTopic", s.AckTopic(ctx, "tok", step.upTo))
		if c := cursor(t, s, "tok"); c != step.want {
			t.Errorf("cursor after AckTopic(%d) = %d, want %d", step.upTo, c, step.want)
		}
	}
	// An ack moves only an existing cursor: a registration that never
	// subscribed has none (an unknown token neither), and gets the log
	// head as its cursor when it subscribes.
	register(t, s, "tok-2", "p1")
	must(t, "AckTopic(tok-2)", s.AckTopic(ctx, "tok-2", 3))
	if c := cursor(t, s, "tok-2"); c != 0 {
		t.Errorf("cursor of tok-2 after AckTopic(3) without a subscription = %d, want 0", c)
	}
	subscribe(t, s, "tok-2", t0, "news")
	_, head, err := s.TopicLog(ctx, "p1", 0, t0, 1)
	must(t, "TopicLog", err)
	if c := cursor(t, s, "tok-2"); c != head {
		t.Errorf("cursor of tok-2 after Subscribe = %d, want the head %d", c, head)
	}
	must(t, "AckTopic(tok-2)", s.AckTopic(ctx, "tok-2", head+1))
	if c := cursor(t, s, "tok-2"); c != head+1 {
		t.Errorf("cursor of tok-2 after AckTopic(%d) = %d", head+1, c)
	}
	if c := cursor(t, s, "tok-unknown"); c != 0 {
		t.Errorf("cursor of an unknown token = %d, want 0", c)
	}
}

func testTopicLog(t *testing.T, s store.Store) {
	ms := []store.TopicMessage{
		topicMsg("p1", "news", "m1", time.Hour),
		topicMsg("p1", "news", "m2", time.Minute),
		topicMsg("p1", "", "m3", time.Hour),
		topicMsg("p1", "sport", "m4", 0), // expires at once
		topicMsg("p1", "news", "m5", time.Hour),
	}
	ms[2].Condition = "'news' in topics && !('sport' in topics)"
	ms[2].High = true
	ms[2].CollapseKey = "score"
	ms[2].Platform = nil // none: stays nil
	ms[4].Payload = nil  // platform blocks without a payload
	ms[4].ExpiresAt, ms[4].TTL = time.Time{}, 0
	if diff := cmp.Diff([]uint64{1, 2, 3, 4, 5}, appendTopic(t, s, ms...)); diff != "" {
		t.Errorf("AppendTopic sequences (-want +got):\n%s", diff)
	}
	if ms[0].Seq != 0 {
		t.Errorf("AppendTopic modified the caller's message: Seq = %d", ms[0].Seq)
	}
	other := appendTopic(t, s, topicMsg("p2", "news", "o1", time.Hour))
	if other[0] != 1 {
		t.Errorf("first sequence of another project's log = %d, want 1", other[0])
	}
	want := make([]store.TopicMessage, len(ms))
	for i, m := range ms {
		m.Seq = uint64(i + 1)
		want[i] = m
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		after uint64
		now   time.Time
		limit int
		want  []store.TopicMessage
	}{
		{"all live at t0 (expiry at now counts as expired)", 0, t0, 100, []store.TopicMessage{want[0], want[1], want[2], want[4]}},
		{"no limit", 0, t0, 0, []store.TopicMessage{want[0], want[1], want[2], want[4]}},
		{"one expired later", 0, t0.Add(2 * time.Minute), 100, []store.TopicMessage{want[0], want[2], want[4]}},
		{"after", 2, t0, 100, []store.TopicMessage{want[2], want[4]}},
		{"limit", 0, t0, 2, []store.TopicMessage{want[0], want[1]}},
		{"after and limit skip the expired", 1, t0.Add(2 * time.Minute), 1, []store.TopicMessage{want[2]}},
		{"after the head", 5, t0, 100, nil},
		{"a zero expiry never expires", 0, t0.Add(1000 * time.Hour), 100, []store.TopicMessage{want[4]}},
	} {
		msgs, head, err := s.TopicLog(ctx, "p1", tc.after, tc.now, tc.limit)
		must(t, tc.name, err)
		if diff := cmp.Diff(tc.want, msgs, diffOpts...); diff != "" {
			t.Errorf("%s: TopicLog (-want +got):\n%s", tc.name, diff)
		}
		if head != 5 {
			t.Errorf("%s: head = %d, want 5", tc.name, head)
		}
	}
	msgs, head := topicLog(t, s, "p-unknown", 0, t0)
	if len(msgs) != 0 || head != 0 {
		t.Errorf("TopicLog(unknown project) = %v, %d; want none, 0", msgs, head)
	}
	// Entries expired at now are skipped, but the head still counts them.
	if msgs, head := topicLog(t, s, "p1", 4, t0.Add(1000*time.Hour)); len(msgs) != 1 || head != 5 {
		t.Errorf("TopicLog(after 4, much later) = %v, %d; want m5, 5", msgs, head)
	}
}

// testConcurrentAppendTopic checks the ordering promise of AppendTopic as
// testConcurrentEnqueue does for Enqueue: a call that starts after another
// returned gets a higher sequence, and sequences have no gaps or
// duplicates in each project's log.
func testConcurrentAppendTopic(t *testing.T, s store.Store) {
	const writers, each, projects = 16, 25, 4
	perProject := writers * each / projects
	var returned [projects]atomic.Uint64
	var mu sync.Mutex
	all := make([][]uint64, projects)
	var wg sync.WaitGroup
	errs := make(chan string, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				p := (w + i) % projects
				before := returned[p].Load()
				m := topicMsg(id("p", p), "news", id("w", w*each+i), time.Hour)
				seqs, err := s.AppendTopic(context.Background(), []store.TopicMessage{m})
				if err != nil {
					errs <- err.Error()
					return
				}
				seq := seqs[0]
				if seq <= before {
					errs <- fmt.Sprintf("%s: a call that started after sequence %d returned got %d", m.ProjectID, before, seq)
				}
				for {
					cur := returned[p].Load()
					if seq <= cur || returned[p].CompareAndSwap(cur, seq) {
						break
					}
				}
				mu.Lock()
				all[p] = append(all[p], seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	want := make([]uint64, perProject)
	for i := range want {
		want[i] = uint64(i + 1)
	}
	for p := range projects {
		slices.Sort(all[p])
		if diff := cmp.Diff(want, all[p]); diff != "" {
			t.Errorf("%s: sequences (-want +got):\n%s", id("p", p), diff)
		}
		msgs, head := topicLog(t, s, id("p", p), 0, t0)
		if diff := cmp.Diff(want, logSeqs(msgs)); diff != "" {
			t.Errorf("%s: TopicLog sequences (-want +got):\n%s", id("p", p), diff)
		}
		if head != uint64(perProject) {
			t.Errorf("%s: head = %d, want %d", id("p", p), head, perProject)
		}
	}
}

func testTopicSubscribers(t *testing.T, s store.Store) {
	ctx := context.Background()
	var want []store.Subscription
	for i := range 7 {
		tok := id("tok", i)
		register(t, s, tok, "p1")
		subscribe(t, s, tok, t0.Add(time.Duration(i)*time.Second), "news")
		want = append(want, store.Subscription{Token: tok, Topic: "news", CreatedAt: t0.Add(time.Duration(i) * time.Second)})
	}
	register(t, s, "tok-other", "p2") // same topic name, another project
	subscribe(t, s, "tok-other", t0, "news")
	subscribe(t, s, id("tok", 0), t0, "sport")

	for _, tc := range []struct {
		after string
		limit int
		want  []store.Subscription
	}{
		{"", 0, want},
		{"", 3, want[:3]},
		{id("tok", 2), 3, want[3:6]},
		{id("tok", 5), 3, want[6:]},
		{id("tok", 6), 3, nil},
		{"tok-0002x", 2, want[3:5]}, // `after` need not be a subscriber
		{"a", 1, want[:1]},
	} {
		subs, total, err := s.TopicSubscribers(ctx, "p1", "news", tc.after, tc.limit)
		must(t, "TopicSubscribers", err)
		if diff := cmp.Diff(tc.want, subs, diffOpts...); diff != "" {
			t.Errorf("TopicSubscribers(after %q, limit %d) (-want +got):\n%s", tc.after, tc.limit, diff)
		}
		if total != 7 {
			t.Errorf("TopicSubscribers(after %q, limit %d): total %d, want 7", tc.after, tc.limit, total)
		}
	}
	if subs, total := subscribers(t, s, "p2", "news"); total != 1 || len(subs) != 1 || subs[0].Token != "tok-other" {
		t.Errorf("TopicSubscribers(p2, news) = %v, %d; want tok-other, 1", subs, total)
	}
	if subs, total := subscribers(t, s, "p1", "nobody"); len(subs) != 0 || total != 0 {
		t.Errorf("TopicSubscribers(p1, nobody) = %v, %d; want none, 0", subs, total)
	}
	_, err := s.Unsubscribe(ctx, id("tok", 3), []string{"news", "news"})
	must(t, "Unsubscribe", err)
	subs, total := subscribers(t, s, "p1", "news")
	if total != 6 || len(subs) != 6 {
		t.Errorf("after one Unsubscribe: %d subscribers, total %d; want 6, 6", len(subs), total)
	}
	if subs, total := subscribers(t, s, "p1", "sport"); total != 1 || len(subs) != 1 {
		t.Errorf("TopicSubscribers(p1, sport) = %v, %d; want one", subs, total)
	}
}

func testPurgeTopicLog(t *testing.T, s store.Store) {
	ctx := context.Background()
	appendTopic(t, s,
		topicMsg("p1", "a", "m1", time.Minute),
		topicMsg("p1", "a", "m2", time.Hour),
		topicMsg("p1", "a", "m3", 2*time.Minute),
	)
	forever := topicMsg("p2", "a", "forever", 0)
	forever.ExpiresAt, forever.TTL = time.Time{}, 0
	appendTopic(t, s, topicMsg("p2", "a", "o1", 30*time.Second), forever)

	n, err := s.PurgeTopicLog(ctx, t0.Add(time.Minute), 100) // m1 expires exactly then
	must(t, "PurgeTopicLog", err)
	if n != 2 {
		t.Errorf("PurgeTopicLog at +1m removed %d, want 2 (m1, o1)", n)
	}
	// Removed, not just hidden: gone at an earlier now too.
	msgs, head := topicLog(t, s, "p1", 0, t0)
	if diff := cmp.Diff([]uint64{2, 3}, logSeqs(msgs)); diff != "" {
		t.Errorf("TopicLog(p1) after purge (-want +got):\n%s", diff)
	}
	if head != 3 {
		t.Errorf("head = %d, want 3", head)
	}
	if n, err := s.PurgeTopicLog(ctx, t0.Add(time.Minute), 100); err != nil || n != 0 {
		t.Errorf("PurgeTopicLog again = %d, %v; want 0", n, err)
	}

	// The limit bounds one call; the rest comes with the next.
	for i := range 5 {
		appendTopic(t, s, topicMsg("p3", "a", id("c", i), time.Duration(i+1)*time.Second))
	}
	n1, err := s.PurgeTopicLog(ctx, t0.Add(3*time.Minute), 2)
	must(t, "PurgeTopicLog(limit 2)", err)
	n2, err := s.PurgeTopicLog(ctx, t0.Add(3*time.Minute), 0)
	must(t, "PurgeTopicLog(no limit)", err)
	if n1 != 2 || n2 != 4 {
		t.Errorf("PurgeTopicLog with limit 2 then none: %d then %d, want 2 then 4 (p1/3 and p3)", n1, n2)
	}

	// Purging every entry keeps the head; sequences continue after it.
	n, err = s.PurgeTopicLog(ctx, t0.Add(time.Hour), 0)
	must(t, "PurgeTopicLog(+1h)", err)
	if n != 1 {
		t.Errorf("PurgeTopicLog at +1h removed %d, want 1 (m2)", n)
	}
	msgs, head = topicLog(t, s, "p1", 0, t0)
	if len(msgs) != 0 || head != 3 {
		t.Errorf("TopicLog(p1) after purging everything = %v, %d; want none, 3", msgs, head)
	}
	if seqs := appendTopic(t, s, topicMsg("p1", "a", "m4", time.Hour)); seqs[0] != 4 {
		t.Errorf("AppendTopic after purging everything: seq %d, want 4", seqs[0])
	}
	if msgs, _ := topicLog(t, s, "p2", 0, t0.Add(1000*time.Hour)); len(msgs) != 1 || msgs[0].ID != "forever" {
		t.Errorf("TopicLog(p2) = %v, want the entry without expiry", msgs)
	}
}

// testDeleteRegistrationTopics: deleting a registration deletes its
// subscriptions and cursor.
func testDeleteRegistrationTopics(t *testing.T, s store.Store) {
	ctx := context.Background()
	register(t, s, "tok", "p1")
	register(t, s, "tok-2", "p1")
	subscribe(t, s, "tok", t0, "news", "sport")
	subscribe(t, s, "tok-2", t0, "news")
	must(t, "AckTopic", s.AckTopic(ctx, "tok", 5))
	must(t, "DeleteRegistration", s.DeleteRegistration(ctx, "tok", t0))

	if subs := subscriptions(t, s, "tok"); len(subs) != 0 {
		t.Errorf("Subscriptions after delete = %v, want none", subs)
	}
	if c := cursor(t, s, "tok"); c != 0 {
		t.Errorf("cursor after delete = %d, want 0", c)
	}
	subs, total := subscribers(t, s, "p1", "news")
	if total != 1 || len(subs) != 1 || subs[0].Token != "tok-2" {
		t.Errorf("TopicSubscribers(news) after delete = %v, %d; want tok-2, 1", subs, total)
	}
	if subs, total := subscribers(t, s, "p1", "sport"); len(subs) != 0 || total != 0 {
		t.Errorf("TopicSubscribers(sport) after delete = %v, %d; want none, 0", subs, total)
	}
	// A late ack does not bring the cursor back; a second delete is fine.
	must(t, "AckTopic(deleted)", s.AckTopic(ctx, "tok", 7))
	if c := cursor(t, s, "tok"); c != 0 {
		t.Errorf("cursor after an ack of a deleted registration = %d, want 0", c)
	}
	must(t, "DeleteRegistration(again)", s.DeleteRegistration(ctx, "tok", t0.Add(time.Minute)))
	if _, total := subscribers(t, s, "p1", "news"); total != 1 {
		t.Errorf("TopicSubscribers(news) total after a second delete = %d, want 1", total)
	}
}

// testReplaceRegistrationTopics: a refresh moves the subscriptions, with
// their Since, and the cursor to the new token.
func testReplaceRegistrationTopics(t *testing.T, s store.Store) {
	ctx := context.Background()
	old := register(t, s, "tok-old", "p1")
	appendTopic(t, s, topicMsg("p1", "news", "m1", time.Hour))
	subscribe(t, s, "tok-old", t0, "news")
	appendTopic(t, s, topicMsg("p1", "news", "m2", time.Hour))
	subscribe(t, s, "tok-old", t0.Add(time.Second), "sport")
	must(t, "AckTopic", s.AckTopic(ctx, "tok-old", 2))
	before := subscriptions(t, s, "tok-old")

	r := old
	r.Token, r.CreatedAt = "tok-new", t0.Add(time.Hour)
	must(t, "ReplaceRegistration", s.ReplaceRegistration(ctx, "tok-old", r, t0.Add(time.Hour)))

	want := slices.Clone(before)
	for i := range want {
		want[i].Token = "tok-new"
	}
	if diff := cmp.Diff(want, subscriptions(t, s, "tok-new"), diffOpts...); diff != "" {
		t.Errorf("Subscriptions of the new token (-want +got):\n%s", diff)
	}
	if len(want) != 2 || want[0].Since != 1 || want[1].Since != 2 {
		t.Errorf("Subscriptions before the refresh = %v, want news since 1, sport since 2", before)
	}
	if subs := subscriptions(t, s, "tok-old"); len(subs) != 0 {
		t.Errorf("Subscriptions of the old token = %v, want none", subs)
	}
	if c := cursor(t, s, "tok-new"); c != 2 {
		t.Errorf("cursor of the new token = %d, want 2", c)
	}
	if c := cursor(t, s, "tok-old"); c != 0 {
		t.Errorf("cursor of the old token = %d, want 0", c)
	}
	subs, total := subscribers(t, s, "p1", "news")
	if diff := cmp.Diff(want[:1], subs, diffOpts...); diff != "" || total != 1 {
		t.Errorf("TopicSubscribers(news) after the refresh, total %d (want 1) (-want +got):\n%s", total, diff)
	}
	// The new token goes on from there.
	if diff := cmp.Diff([]bool{false, true}, subscribe(t, s, "tok-new", t0, "news", "arts")); diff != "" {
		t.Errorf("Subscribe(new token) created (-want +got):\n%s", diff)
	}
}

// testTopicDurability: subscriptions, counts, cursors, the log and its
// head survive a reopen, and sequences go on after the head even when
// every entry was purged.
func testTopicDurability(t *testing.T, s store.Store, reopen func(t *testing.T, s store.Store) store.Store) {
	ctx := context.Background()
	register(t, s, "tok-1", "p1")
	register(t, s, "tok-2", "p1")
	ms := []store.TopicMessage{topicMsg("p1", "news", "m1", time.Hour), topicMsg("p1", "news", "m2", time.Hour)}
	appendTopic(t, s, ms...)
	subscribe(t, s, "tok-1", t0, "news", "sport")
	subscribe(t, s, "tok-2", t0, "news")
	must(t, "AckTopic", s.AckTopic(ctx, "tok-2", 2))
	appendTopic(t, s, topicMsg("p2", "x", "short", time.Second))
	n, err := s.PurgeTopicLog(ctx, t0.Add(time.Minute), 0)
	must(t, "PurgeTopicLog", err)
	if n != 1 {
		t.Fatalf("PurgeTopicLog removed %d, want 1", n)
	}
	subs1, subs2 := subscriptions(t, s, "tok-1"), subscriptions(t, s, "tok-2")

	s = reopen(t, s)

	msgs, head := topicLog(t, s, "p1", 0, t0)
	want := []store.TopicMessage{ms[0], ms[1]}
	want[0].Seq, want[1].Seq = 1, 2
	if diff := cmp.Diff(want, msgs, diffOpts...); diff != "" {
		t.Errorf("TopicLog after reopen (-want +got):\n%s", diff)
	}
	if head != 2 {
		t.Errorf("head after reopen = %d, want 2", head)
	}
	if diff := cmp.Diff(subs1, subscriptions(t, s, "tok-1"), diffOpts...); diff != "" {
		t.Errorf("Subscriptions(tok-1) after reopen (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(subs2, subscriptions(t, s, "tok-2"), diffOpts...); diff != "" {
		t.Errorf("Subscriptions(tok-2) after reopen (-want +got):\n%s", diff)
	}
	if _, total := subscribers(t, s, "p1", "news"); total != 2 {
		t.Errorf("TopicSubscribers(news) total after reopen = %d, want 2", total)
	}
	if c1, c2 := cursor(t, s, "tok-1"), cursor(t, s, "tok-2"); c1 != 2 || c2 != 2 {
		t.Errorf("cursors after reopen = %d, %d; want 2, 2", c1, c2)
	}
	if seqs := appendTopic(t, s, topicMsg("p1", "news", "m3", time.Hour)); seqs[0] != 3 {
		t.Errorf("AppendTopic(p1) after reopen: seq %d, want 3", seqs[0])
	}
	if seqs := appendTopic(t, s, topicMsg("p2", "x", "again", time.Hour)); seqs[0] != 2 {
		t.Errorf("AppendTopic(p2) after reopen, its only entry purged: seq %d, want 2", seqs[0])
	}
	if _, head := topicLog(t, s, "p2", 0, t0); head != 2 {
		t.Errorf("head(p2) = %d, want 2", head)
	}
}

// testTopicsClosed checks that every topic method returns store.ErrClosed
// after Close.
func testTopicsClosed(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, "Close", s.Close())
	check := func(name string, err error) {
		t.Helper()
		wantErr(t, name, err, store.ErrClosed)
	}
	_, err := s.Subscribe(ctx, "t", []string{"a"}, t0)
	check("Subscribe", err)
	_, err = s.Unsubscribe(ctx, "t", []string{"a"})
	check("Unsubscribe", err)
	_, err = s.Subscriptions(ctx, "t")
	check("Subscriptions", err)
	_, _, err = s.TopicSubscribers(ctx, "p", "a", "", 10)
	check("TopicSubscribers", err)
	_, err = s.AppendTopic(ctx, []store.TopicMessage{topicMsg("p", "a", "m", time.Hour)})
	check("AppendTopic", err)
	_, _, err = s.TopicLog(ctx, "p", 0, t0, 10)
	check("TopicLog", err)
	_, err = s.TopicCursor(ctx, "t")
	check("TopicCursor", err)
	check("AckTopic", s.AckTopic(ctx, "t", 1))
	_, err = s.PurgeTopicLog(ctx, t0, 10)
	check("PurgeTopicLog", err)
}
