package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald/internal/store"
)

// testPushEndpoints: an endpoint is created for a live registration only,
// once per ID, is read back as written (restricted or not), and outlives
// the deletion of its registration as a record, so that the caller can
// tell a gone endpoint (410) from an unknown one (404).
func testPushEndpoints(t *testing.T, s store.Store) {
	ctx := context.Background()
	reg := store.Registration{Token: "tok-wp", ProjectID: "p1", AppKey: "app-1", DeviceID: "dev-1", CreatedAt: t0}
	gone := store.Registration{Token: "tok-gone", ProjectID: "p1", AppKey: "app-1", DeviceID: "dev-1", CreatedAt: t0}
	must(t, "CreateRegistration", s.CreateRegistration(ctx, reg))
	must(t, "CreateRegistration", s.CreateRegistration(ctx, gone))
	must(t, "DeleteRegistration", s.DeleteRegistration(ctx, gone.Token, t0.Add(time.Minute)))

	open := store.PushEndpoint{ID: "ep-open", Token: reg.Token, ProjectID: "p1", CreatedAt: t0}
	key := make([]byte, 65)
	key[0] = 4
	restricted := store.PushEndpoint{ID: "ep-vapid", Token: reg.Token, ProjectID: "p1", AppServerKey: key, CreatedAt: t0.Add(time.Second)}
	must(t, "CreatePushEndpoint(open)", s.CreatePushEndpoint(ctx, open))
	must(t, "CreatePushEndpoint(restricted)", s.CreatePushEndpoint(ctx, restricted))

	dup := open
	dup.CreatedAt = t0.Add(time.Hour)
	wantErr(t, "CreatePushEndpoint(same id)", s.CreatePushEndpoint(ctx, dup), store.ErrExists)
	wantErr(t, "CreatePushEndpoint(unknown registration)",
		s.CreatePushEndpoint(ctx, store.PushEndpoint{ID: "ep-x", Token: "tok-none", ProjectID: "p1", CreatedAt: t0}), store.ErrNotFound)
	wantErr(t, "CreatePushEndpoint(deleted registration)",
		s.CreatePushEndpoint(ctx, store.PushEndpoint{ID: "ep-y", Token: gone.Token, ProjectID: "p1", CreatedAt: t0}), store.ErrNotFound)
	for _, id := range []string{"ep-x", "ep-y", "ep-none", ""} {
		_, err := s.PushEndpoint(ctx, id)
		wantErr(t, "PushEndpoint("+id+")", err, store.ErrNotFound)
	}

	for _, want := range []store.PushEndpoint{open, restricted} {
		got, err := s.PushEndpoint(ctx, want.ID)
		must(t, "PushEndpoint", err)
		if diff := cmp.Diff(want, got, diffOpts...); diff != "" {
			t.Errorf("PushEndpoint(%s) (-want +got):\n%s", want.ID, diff)
		}
	}

	// The registration goes: the endpoint record stays, pointing at a
	// deleted registration.
	must(t, "DeleteRegistration", s.DeleteRegistration(ctx, reg.Token, t0.Add(time.Hour)))
	got, err := s.PushEndpoint(ctx, open.ID)
	must(t, "PushEndpoint after DeleteRegistration", err)
	if diff := cmp.Diff(open, got, diffOpts...); diff != "" {
		t.Errorf("PushEndpoint after DeleteRegistration (-want +got):\n%s", diff)
	}
	r, err := s.Registration(ctx, got.Token)
	must(t, "Registration", err)
	if !r.Deleted() {
		t.Errorf("the endpoint's registration is not deleted")
	}
}

// testPushEndpointDurability: a created endpoint survives a reopen.
func testPushEndpointDurability(t *testing.T, s store.Store, reopen func(*testing.T, store.Store) store.Store) {
	ctx := context.Background()
	must(t, "CreateRegistration", s.CreateRegistration(ctx,
		store.Registration{Token: "tok-wp", ProjectID: "p1", AppKey: "app-1", DeviceID: "dev-1", CreatedAt: t0}))
	want := store.PushEndpoint{ID: "ep-durable", Token: "tok-wp", ProjectID: "p1", CreatedAt: t0}
	must(t, "CreatePushEndpoint", s.CreatePushEndpoint(ctx, want))
	s = reopen(t, s)
	got, err := s.PushEndpoint(ctx, want.ID)
	must(t, "PushEndpoint after reopen", err)
	if diff := cmp.Diff(want, got, diffOpts...); diff != "" {
		t.Errorf("PushEndpoint after reopen (-want +got):\n%s", diff)
	}
}
