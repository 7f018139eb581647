package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald/internal/store"
)

// testDurability writes every kind of record, reopens the store and reads
// them back; queue state (sequences, collapse keys, pending counts) must
// carry over too.
func testDurability(t *testing.T, s store.Store, reopen func(t *testing.T, s store.Store) store.Store) {
	ctx := context.Background()
	p := store.Project{ID: "p1", CreatedAt: t0}
	a := store.App{Key: "app-1", ProjectID: "p1", Name: "android", CreatedAt: t0}
	k := store.Key{ID: "kid-1", ProjectID: "p1", ClientEmail: "sa@p1.example", PublicKeyPEM: "pem", CreatedAt: t0}
	d := store.Device{ID: "dev-1", SecretHash: []byte("hash"), CreatedAt: t0}
	r1 := store.Registration{Token: "tok-1", ProjectID: "p1", AppKey: "app-1", DeviceID: "dev-1", CreatedAt: t0}
	r2 := store.Registration{Token: "tok-2", ProjectID: "p1", AppKey: "app-1", DeviceID: "dev-1", CreatedAt: t0}
	must(t, "CreateProject", s.CreateProject(ctx, p))
	must(t, "CreateApp", s.CreateApp(ctx, a))
	must(t, "CreateKey", s.CreateKey(ctx, k))
	must(t, "RevokeKey", s.RevokeKey(ctx, k.ID))
	must(t, "CreateDevice", s.CreateDevice(ctx, d))
	must(t, "CreateRegistration", s.CreateRegistration(ctx, r1))
	must(t, "CreateRegistration", s.CreateRegistration(ctx, r2))
	must(t, "DeleteRegistration", s.DeleteRegistration(ctx, r2.Token, t0.Add(time.Minute)))

	// tok-1: five messages, two acked. tok-3: everything acked, so only its
	// last sequence remains. tok-4: a full queue and a collapse key.
	var want1 []store.Message
	for i := range 5 {
		m := msg("tok-1", id("m", i), time.Hour)
		enqueue(t, s, m)
		want1 = append(want1, stored(m, uint64(i+1)))
	}
	ack(t, s, "tok-1", 2)
	for i := range 3 {
		enqueue(t, s, msg("tok-3", id("n", i), time.Hour))
	}
	ack(t, s, "tok-3", 3)
	enqueue(t, s, collapsible("tok-4", "c", "k", time.Hour))
	full := make([]store.Message, store.DefaultLimits.MaxPending)
	for i := range full {
		full[i] = msg("tok-4", id("f", i), time.Hour)
	}
	enqueue(t, s, full...)

	s = reopen(t, s)

	gotP, err := s.Project(ctx, p.ID)
	must(t, "Project", err)
	gotA, err := s.App(ctx, a.Key)
	must(t, "App", err)
	gotK, err := s.Key(ctx, k.ID)
	must(t, "Key", err)
	gotD, err := s.Device(ctx, d.ID)
	must(t, "Device", err)
	k.Revoked = true
	if diff := cmp.Diff([]any{p, a, k, d}, []any{gotP, gotA, gotK, gotD}); diff != "" {
		t.Errorf("entities after reopen (-want +got):\n%s", diff)
	}
	regs, err := s.DeviceRegistrations(ctx, d.ID)
	must(t, "DeviceRegistrations", err)
	if diff := cmp.Diff([]store.Registration{r1}, regs); diff != "" {
		t.Errorf("DeviceRegistrations after reopen (-want +got):\n%s", diff)
	}
	gotR2, err := s.Registration(ctx, r2.Token)
	must(t, "Registration", err)
	if !gotR2.DeletedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("deleted registration after reopen: DeletedAt %v", gotR2.DeletedAt)
	}
	wantErr(t, "CreateProject(duplicate) after reopen", s.CreateProject(ctx, p), store.ErrExists)

	msgs, last := pending(t, s, "tok-1", 0, t0)
	if diff := cmp.Diff(want1[2:], msgs, diffOpts...); diff != "" {
		t.Errorf("Pending(tok-1) after reopen (-want +got):\n%s", diff)
	}
	if last != 5 {
		t.Errorf("lastSeq(tok-1) = %d, want 5", last)
	}
	msgs, last = pending(t, s, "tok-3", 0, t0)
	if len(msgs) != 0 || last != 3 {
		t.Errorf("Pending(tok-3) after reopen = %v, %d; want none, 3", msgs, last)
	}
	// Sequences never repeat, even for a registration whose queue was empty.
	if got := enqueue(t, s, msg("tok-3", "n-3", time.Hour))[0].Seq; got != 4 {
		t.Errorf("Enqueue(tok-3) after reopen: seq %d, want 4", got)
	}
	if got := enqueue(t, s, msg("tok-1", "m-5", time.Hour))[0].Seq; got != 6 {
		t.Errorf("Enqueue(tok-1) after reopen: seq %d, want 6", got)
	}
	// Collapse keys and the pending count survive.
	got := enqueue(t, s, collapsible("tok-4", "c2", "k", time.Hour))[0]
	if diff := cmp.Diff(store.Outcome{Seq: 102, Collapsed: []uint64{1}}, got, diffOpts...); diff != "" {
		t.Errorf("collapse after reopen (-want +got):\n%s", diff)
	}
	got = enqueue(t, s, msg("tok-4", "over", time.Hour))[0]
	if got.Dropped != store.DefaultLimits.MaxPending || got.Marker == nil || got.Seq != 104 {
		t.Errorf("pending limit after reopen: %+v, want %d dropped, marker 103, seq 104", got, store.DefaultLimits.MaxPending)
	}
}

// testCloseWhileBusy closes the store while writers enqueue: each call
// either succeeds, and its message is there after reopening with the same
// sequence, or fails with store.ErrClosed.
func testCloseWhileBusy(t *testing.T, s store.Store, reopen func(t *testing.T, s store.Store) store.Store) {
	const writers, perToken = 8, 50 // each writer moves to a new token every perToken messages
	ctx := context.Background()
	started := make(chan struct{}, writers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := map[string]store.Message{} // by ID, with the sequence it got
	tokens := map[string]bool{}
	var unexpected []error
	busy := s // the writers keep the store being closed; s becomes the reopened one
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				m := msg(id("tok", w*100_000+i/perToken), id(id("m", w), i), time.Hour)
				outs, err := busy.Enqueue(ctx, []store.Message{m})
				if i == 0 {
					started <- struct{}{}
				}
				mu.Lock()
				tokens[m.Token] = true
				switch {
				case err == nil:
					accepted[m.ID] = stored(m, outs[0].Seq)
				case !errors.Is(err, store.ErrClosed):
					unexpected = append(unexpected, err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	for range writers {
		<-started
	}
	s = reopen(t, s)
	wg.Wait()
	for _, err := range unexpected {
		t.Errorf("Enqueue during Close: %v, want success or ErrClosed", err)
	}
	found := map[string]store.Message{}
	for tok := range tokens {
		msgs, _ := pending(t, s, tok, 0, t0)
		for _, m := range msgs {
			found[m.ID] = m
		}
	}
	for mid, want := range accepted {
		got, ok := found[mid]
		if !ok {
			t.Errorf("message %s (seq %d) was accepted before Close and is lost", mid, want.Seq)
			continue
		}
		if diff := cmp.Diff(want, got, diffOpts...); diff != "" {
			t.Errorf("message %s after reopen (-want +got):\n%s", mid, diff)
		}
	}
	if len(accepted) == 0 {
		t.Errorf("no Enqueue succeeded before Close")
	}
}

// testClosed checks that every method returns store.ErrClosed after Close.
func testClosed(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, "Close", s.Close())
	check := func(name string, err error) {
		t.Helper()
		wantErr(t, name, err, store.ErrClosed)
	}
	check("Close", s.Close())
	check("CreateProject", s.CreateProject(ctx, store.Project{ID: "p"}))
	_, err := s.Project(ctx, "p")
	check("Project", err)
	_, err = s.Projects(ctx)
	check("Projects", err)
	check("CreateApp", s.CreateApp(ctx, store.App{Key: "a", ProjectID: "p"}))
	_, err = s.App(ctx, "a")
	check("App", err)
	_, err = s.Apps(ctx, "p")
	check("Apps", err)
	check("CreateKey", s.CreateKey(ctx, store.Key{ID: "k", ProjectID: "p"}))
	_, err = s.Key(ctx, "k")
	check("Key", err)
	_, err = s.Keys(ctx, "p")
	check("Keys", err)
	check("RevokeKey", s.RevokeKey(ctx, "k"))
	check("CreateDevice", s.CreateDevice(ctx, store.Device{ID: "d"}))
	_, err = s.Device(ctx, "d")
	check("Device", err)
	check("CreateRegistration", s.CreateRegistration(ctx, store.Registration{Token: "t", DeviceID: "d"}))
	_, err = s.Registration(ctx, "t")
	check("Registration", err)
	_, err = s.DeviceRegistrations(ctx, "d")
	check("DeviceRegistrations", err)
	check("DeleteRegistration", s.DeleteRegistration(ctx, "t", t0))
	_, err = s.Enqueue(ctx, []store.Message{msg("t", "m", time.Hour)})
	check("Enqueue", err)
	_, _, err = s.Pending(ctx, "t", 0, t0, 10)
	check("Pending", err)
	check("Ack", s.Ack(ctx, "t", 1))
	_, err = s.PurgeExpired(ctx, t0, 10)
	check("PurgeExpired", err)
}
