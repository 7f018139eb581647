package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/heraldpush/herald/internal/store"
)

// testTouchRegistrations: LastSeenAt moves forward only, for live
// registrations only; unknown tokens are skipped.
func testTouchRegistrations(t *testing.T, s store.Store) {
	ctx := context.Background()
	r1 := store.Registration{Token: "tok-1", ProjectID: "p1", AppKey: "app-1", DeviceID: "dev-1", CreatedAt: t0, LastSeenAt: t0}
	r2 := store.Registration{Token: "tok-2", ProjectID: "p1", AppKey: "app-1", DeviceID: "dev-1", CreatedAt: t0}
	r3 := store.Registration{Token: "tok-3", ProjectID: "p1", AppKey: "app-1", DeviceID: "dev-2", CreatedAt: t0, LastSeenAt: t0}
	for _, r := range []store.Registration{r1, r2, r3} {
		must(t, "CreateRegistration", s.CreateRegistration(ctx, r))
	}
	must(t, "DeleteRegistration", s.DeleteRegistration(ctx, r3.Token, t0.Add(time.Minute)))
	if got := r2.Seen(); !got.Equal(t0) {
		t.Errorf("Seen() of a registration without LastSeenAt = %v, want CreatedAt %v", got, t0)
	}

	later := t0.Add(48 * time.Hour)
	must(t, "TouchRegistrations", s.TouchRegistrations(ctx, []string{"tok-1", "tok-2", "tok-3", "tok-9", "tok-1"}, later))
	must(t, "TouchRegistrations(none)", s.TouchRegistrations(ctx, nil, later))
	// An older touch (a late batch) does not move LastSeenAt back.
	must(t, "TouchRegistrations(older)", s.TouchRegistrations(ctx, []string{"tok-1"}, t0.Add(time.Hour)))

	want1, want2, want3 := r1, r2, r3
	want1.LastSeenAt, want2.LastSeenAt = later, later
	want3.DeletedAt = t0.Add(time.Minute) // deleted: not touched
	for _, want := range []store.Registration{want1, want2, want3} {
		got, err := s.Registration(ctx, want.Token)
		must(t, "Registration", err)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Registration(%s) after touches (-want +got):\n%s", want.Token, diff)
		}
	}
	if _, err := s.Registration(ctx, "tok-9"); err == nil {
		t.Errorf("TouchRegistrations created the unknown registration tok-9")
	}
	// The device index sees the touched values.
	list, err := s.DeviceRegistrations(ctx, "dev-1")
	must(t, "DeviceRegistrations", err)
	byToken := cmpopts.SortSlices(func(a, b store.Registration) bool { return a.Token < b.Token })
	if diff := cmp.Diff([]store.Registration{want1, want2}, list, byToken); diff != "" {
		t.Errorf("DeviceRegistrations after touches (-want +got):\n%s", diff)
	}
}

// testReplaceRegistration: the new registration is created and the old one
// deleted with ReplacedBy, its queue dropped, in one step.
func testReplaceRegistration(t *testing.T, s store.Store) {
	ctx := context.Background()
	old := store.Registration{Token: "tok-old", ProjectID: "p1", AppKey: "app-1", DeviceID: "dev-1", CreatedAt: t0, LastSeenAt: t0}
	other := store.Registration{Token: "tok-other", ProjectID: "p1", AppKey: "app-1", DeviceID: "dev-1", CreatedAt: t0}
	must(t, "CreateRegistration", s.CreateRegistration(ctx, old))
	must(t, "CreateRegistration", s.CreateRegistration(ctx, other))
	enqueue(t, s, msg("tok-old", "m1", time.Hour), msg("tok-old", "m2", time.Hour))

	at := t0.Add(time.Hour)
	nu := store.Registration{Token: "tok-new", ProjectID: "p1", AppKey: "app-1", DeviceID: "dev-1", CreatedAt: at, LastSeenAt: at}
	wantErr(t, "ReplaceRegistration(existing new token)", s.ReplaceRegistration(ctx, "tok-old", other, at), store.ErrExists)
	wantErr(t, "ReplaceRegistration(missing)", s.ReplaceRegistration(ctx, "tok-9", nu, at), store.ErrNotFound)
	must(t, "ReplaceRegistration", s.ReplaceRegistration(ctx, "tok-old", nu, at))
	// A deleted registration cannot be replaced again (a second refresh of
	// the same token loses the race).
	again := nu
	again.Token = "tok-newer"
	wantErr(t, "ReplaceRegistration(deleted)", s.ReplaceRegistration(ctx, "tok-old", again, at), store.ErrNotFound)
	if _, err := s.Registration(ctx, "tok-newer"); err == nil {
		t.Errorf("a failed ReplaceRegistration created its new registration")
	}

	wantOld := old
	wantOld.DeletedAt, wantOld.ReplacedBy = at, "tok-new"
	for _, want := range []store.Registration{wantOld, nu} {
		got, err := s.Registration(ctx, want.Token)
		must(t, "Registration", err)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Registration(%s) after replace (-want +got):\n%s", want.Token, diff)
		}
	}
	list, err := s.DeviceRegistrations(ctx, "dev-1")
	must(t, "DeviceRegistrations", err)
	byToken := cmpopts.SortSlices(func(a, b store.Registration) bool { return a.Token < b.Token })
	if diff := cmp.Diff([]store.Registration{nu, other}, list, byToken); diff != "" {
		t.Errorf("DeviceRegistrations after replace (-want +got):\n%s", diff)
	}
	msgs, last := pending(t, s, "tok-old", 0, t0)
	if len(msgs) != 0 || last != 2 {
		t.Errorf("Pending(tok-old) after replace = %d entries, last %d; want none, last 2", len(msgs), last)
	}
	// The new registration's queue starts fresh.
	outs := enqueue(t, s, msg("tok-new", "m3", time.Hour))
	if outs[0].Seq != 1 {
		t.Errorf("first sequence of the new registration = %d, want 1", outs[0].Seq)
	}
}
