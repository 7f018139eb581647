package pebblestore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/pebblestore"
	"github.com/heraldpush/herald/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, newStore, reopen)
}

// opened remembers which directory a store lives in, for reopen.
type opened struct {
	*pebblestore.Store
	dir string
}

func newStore(t *testing.T) store.Store {
	t.Helper()
	dir := t.TempDir()
	return opened{open(t, dir), dir}
}

func reopen(t *testing.T, s store.Store) store.Store {
	t.Helper()
	o := s.(opened)
	if err := o.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return opened{open(t, o.dir), o.dir}
}

func open(t *testing.T, dir string) *pebblestore.Store {
	t.Helper()
	s, err := pebblestore.Open(dir, pebblestore.Options{MemTableSize: 4 << 20, CredentialKey: testCredentialKey})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestIdleCacheRotation(t *testing.T) {
	// With two entries per generation, most emptied queues fall out of the
	// cache and their last sequence must come back from disk.
	s, err := pebblestore.OpenWithIdleCache(t.TempDir(), pebblestore.Options{}, 2)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	for round := uint64(1); round <= 3; round++ {
		for i := range 10 {
			tok := fmt.Sprintf("tok-%d", i)
			outs, err := s.Enqueue(ctx, []store.Message{{Token: tok, ID: "m", Payload: []byte("x")}})
			if err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			if outs[0].Seq != round {
				t.Errorf("%s round %d: seq %d", tok, round, outs[0].Seq)
			}
			if err := s.Ack(ctx, tok, outs[0].Seq); err != nil {
				t.Fatalf("Ack: %v", err)
			}
		}
	}
}

func TestLimitsOption(t *testing.T) {
	s, err := pebblestore.Open(t.TempDir(), pebblestore.Options{Limits: store.Limits{MaxPending: 3, MaxCollapseKeys: 1}})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	m := func(key string) store.Message { return store.Message{Token: "tok", ID: "m", CollapseKey: key} }
	outs, err := s.Enqueue(ctx, []store.Message{m(""), m(""), m(""), m("a"), m("b"), m("")})
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	// The fourth non-collapsible message (after 1, 2, 3 and keys a, b)
	// drops three; key b evicts key a.
	want := []store.Outcome{
		{Seq: 1}, {Seq: 2}, {Seq: 3}, {Seq: 4},
		{Seq: 5, Collapsed: []uint64{4}},
		{Seq: 7, Dropped: 3, Marker: &store.Message{Token: "tok", Seq: 6, Kind: store.KindDeleted, Dropped: 3}},
	}
	if diff := cmp.Diff(want, outs, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

func TestCanceledContext(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Enqueue(ctx, []store.Message{{Token: "tok"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue with a canceled context: %v", err)
	}
	if _, err := s.Project(ctx, "p"); !errors.Is(err, context.Canceled) {
		t.Errorf("Project with a canceled context: %v", err)
	}
	_, last, err := s.Pending(context.Background(), "tok", 0, time.Now(), 10)
	if err != nil || last != 0 {
		t.Errorf("Pending after a canceled Enqueue: last %d, err %v; want 0, nil", last, err)
	}
}

func TestBadIdentifiers(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Enqueue(ctx, []store.Message{{Token: "a\x00b"}}); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Enqueue to a token with a NUL byte: %v, want an invalid-identifier error", err)
	}
	if err := s.CreateProject(ctx, store.Project{}); err == nil {
		t.Errorf("CreateProject without an ID succeeded")
	}
}
