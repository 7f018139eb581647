package pebblestore_test

import (
	"context"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// After a crash, a project's topic log continues in the new epoch, past
// any entry the crashed run could have shown a device; after a clean
// close it continues where it was.
func TestTopicSequencesSkipAheadAfterACrash(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	appendOne := func(s store.Store) uint64 {
		t.Helper()
		now := time.Unix(1_700_000_000, 0)
		seqs, err := s.AppendTopic(ctx, []store.TopicMessage{{ProjectID: "p", Topic: "news", ID: "m", AcceptedAt: now, ExpiresAt: now.Add(time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		return seqs[0]
	}
	if got := appendOne(s); got != 1 {
		t.Fatalf("first seq %d, want 1", got)
	}
	crashed := copyDir(t, dir)
	if got := appendOne(s); got != 2 {
		t.Fatalf("second seq %d, want 2", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	clean := open(t, dir)
	defer clean.Close()
	if got := appendOne(clean); got != 3 {
		t.Fatalf("after a clean close: seq %d, want 3", got)
	}

	after := open(t, crashed)
	defer after.Close()
	floor := uint64(1) << 32
	if _, head, err := after.TopicLog(ctx, "p", 0, time.Unix(0, 0), 0); err != nil || head != 1 {
		t.Fatalf("head after a crash = %d, %v; want 1 (what was durable)", head, err)
	}
	if got := appendOne(after); got != floor+1 {
		t.Fatalf("after a crash: seq %d, want %d (the next epoch)", got, floor+1)
	}
}

func TestTopicBadArguments(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	for name, m := range map[string]store.TopicMessage{
		"no project":                  {Topic: "a"},
		"neither topic nor condition": {ProjectID: "p"},
		"both topic and condition":    {ProjectID: "p", Topic: "a", Condition: "'a' in topics"},
	} {
		if _, err := s.AppendTopic(ctx, []store.TopicMessage{{ProjectID: "p", Topic: "ok"}, m}); err == nil {
			t.Errorf("AppendTopic with %s succeeded", name)
		}
	}
	if _, head, err := s.TopicLog(ctx, "p", 0, time.Unix(0, 0), 0); err != nil || head != 0 {
		t.Errorf("a refused AppendTopic wrote something: head %d, %v", head, err)
	}
	if err := s.CreateRegistration(ctx, store.Registration{Token: "tok", ProjectID: "p", DeviceID: "d"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscribe(ctx, "tok", []string{"a", "b\x00c"}, time.Unix(0, 0)); err == nil {
		t.Errorf("Subscribe to a topic with a NUL byte succeeded")
	}
	if subs, err := s.Subscriptions(ctx, "tok"); err != nil || len(subs) != 0 {
		t.Errorf("a refused Subscribe wrote %v (%v)", subs, err)
	}
}
