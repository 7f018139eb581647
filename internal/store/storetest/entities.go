package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/heraldpush/herald/internal/store"
)

func testProjects(t *testing.T, s store.Store) {
	ctx := context.Background()
	want := []store.Project{{ID: "alpha", CreatedAt: t0}, {ID: "beta", CreatedAt: t0.Add(time.Second)}}
	for _, p := range want {
		must(t, "CreateProject", s.CreateProject(ctx, p))
	}
	wantErr(t, "CreateProject(duplicate)", s.CreateProject(ctx, store.Project{ID: "alpha", CreatedAt: t0}), store.ErrExists)

	got, err := s.Project(ctx, "beta")
	must(t, "Project", err)
	if diff := cmp.Diff(want[1], got); diff != "" {
		t.Errorf("Project(beta) (-want +got):\n%s", diff)
	}
	_, err = s.Project(ctx, "gamma")
	wantErr(t, "Project(missing)", err, store.ErrNotFound)

	all, err := s.Projects(ctx)
	must(t, "Projects", err)
	if diff := cmp.Diff(want, all, cmpopts.SortSlices(func(a, b store.Project) bool { return a.ID < b.ID })); diff != "" {
		t.Errorf("Projects (-want +got):\n%s", diff)
	}
}

func testApps(t *testing.T, s store.Store) {
	ctx := context.Background()
	wantErr(t, "CreateApp(missing project)", s.CreateApp(ctx, store.App{Key: "k0", ProjectID: "nope", CreatedAt: t0}), store.ErrNotFound)
	must(t, "CreateProject", s.CreateProject(ctx, store.Project{ID: "p1", CreatedAt: t0}))
	must(t, "CreateProject", s.CreateProject(ctx, store.Project{ID: "p2", CreatedAt: t0}))
	apps := []store.App{
		{Key: "key-a", ProjectID: "p1", Name: "android", CreatedAt: t0},
		{Key: "key-b", ProjectID: "p1", Name: "web", CreatedAt: t0.Add(time.Minute)},
		{Key: "key-c", ProjectID: "p2", Name: "ios", CreatedAt: t0},
	}
	for _, a := range apps {
		must(t, "CreateApp", s.CreateApp(ctx, a))
	}
	wantErr(t, "CreateApp(duplicate)", s.CreateApp(ctx, store.App{Key: "key-a", ProjectID: "p2"}), store.ErrExists)

	got, err := s.App(ctx, "key-b")
	must(t, "App", err)
	if diff := cmp.Diff(apps[1], got); diff != "" {
		t.Errorf("App (-want +got):\n%s", diff)
	}
	_, err = s.App(ctx, "key-z")
	wantErr(t, "App(missing)", err, store.ErrNotFound)

	byKey := cmpopts.SortSlices(func(a, b store.App) bool { return a.Key < b.Key })
	list, err := s.Apps(ctx, "p1")
	must(t, "Apps", err)
	if diff := cmp.Diff(apps[:2], list, byKey); diff != "" {
		t.Errorf("Apps(p1) (-want +got):\n%s", diff)
	}
	list, err = s.Apps(ctx, "p3")
	must(t, "Apps(unknown project)", err)
	if len(list) != 0 {
		t.Errorf("Apps(unknown project) = %v, want none", list)
	}
}

func testKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	k1 := store.Key{ID: "kid-1", ProjectID: "p1", ClientEmail: "sa@p1.example", PublicKeyPEM: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", CreatedAt: t0}
	wantErr(t, "CreateKey(missing project)", s.CreateKey(ctx, k1), store.ErrNotFound)
	must(t, "CreateProject", s.CreateProject(ctx, store.Project{ID: "p1", CreatedAt: t0}))
	must(t, "CreateProject", s.CreateProject(ctx, store.Project{ID: "p2", CreatedAt: t0}))
	k2 := k1
	k2.ID = "kid-2"
	k3 := k1
	k3.ID, k3.ProjectID = "kid-3", "p2"
	for _, k := range []store.Key{k1, k2, k3} {
		must(t, "CreateKey", s.CreateKey(ctx, k))
	}
	wantErr(t, "CreateKey(duplicate)", s.CreateKey(ctx, k1), store.ErrExists)

	must(t, "RevokeKey", s.RevokeKey(ctx, "kid-2"))
	must(t, "RevokeKey(again)", s.RevokeKey(ctx, "kid-2"))
	wantErr(t, "RevokeKey(missing)", s.RevokeKey(ctx, "kid-9"), store.ErrNotFound)
	k2.Revoked = true

	got, err := s.Key(ctx, "kid-2")
	must(t, "Key", err)
	if diff := cmp.Diff(k2, got); diff != "" {
		t.Errorf("Key (-want +got):\n%s", diff)
	}
	_, err = s.Key(ctx, "kid-9")
	wantErr(t, "Key(missing)", err, store.ErrNotFound)

	list, err := s.Keys(ctx, "p1")
	must(t, "Keys", err)
	if diff := cmp.Diff([]store.Key{k1, k2}, list, cmpopts.SortSlices(func(a, b store.Key) bool { return a.ID < b.ID })); diff != "" {
		t.Errorf("Keys(p1) (-want +got):\n%s", diff)
	}
}

func testDevices(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := store.Device{ID: "dev-1", SecretHash: []byte{1, 2, 3, 0, 255}, CreatedAt: t0}
	must(t, "CreateDevice", s.CreateDevice(ctx, d))
	wantErr(t, "CreateDevice(duplicate)", s.CreateDevice(ctx, d), store.ErrExists)
	got, err := s.Device(ctx, "dev-1")
	must(t, "Device", err)
	if diff := cmp.Diff(d, got); diff != "" {
		t.Errorf("Device (-want +got):\n%s", diff)
	}
	_, err = s.Device(ctx, "dev-2")
	wantErr(t, "Device(missing)", err, store.ErrNotFound)
}

func testRegistrations(t *testing.T, s store.Store) {
	ctx := context.Background()
	regs := []store.Registration{
		{Token: "tok-1", ProjectID: "p1", AppKey: "app-1", DeviceID: "dev-1", CreatedAt: t0},
		{Token: "tok-2", ProjectID: "p2", AppKey: "app-2", DeviceID: "dev-1", CreatedAt: t0},
		{Token: "tok-3", ProjectID: "p1", AppKey: "app-1", DeviceID: "dev-2", CreatedAt: t0},
	}
	for _, r := range regs {
		must(t, "CreateRegistration", s.CreateRegistration(ctx, r))
	}
	wantErr(t, "CreateRegistration(duplicate)", s.CreateRegistration(ctx, regs[0]), store.ErrExists)

	got, err := s.Registration(ctx, "tok-3")
	must(t, "Registration", err)
	if diff := cmp.Diff(regs[2], got); diff != "" {
		t.Errorf("Registration (-want +got):\n%s", diff)
	}
	_, err = s.Registration(ctx, "tok-9")
	wantErr(t, "Registration(missing)", err, store.ErrNotFound)

	byToken := cmpopts.SortSlices(func(a, b store.Registration) bool { return a.Token < b.Token })
	list, err := s.DeviceRegistrations(ctx, "dev-1")
	must(t, "DeviceRegistrations", err)
	if diff := cmp.Diff(regs[:2], list, byToken); diff != "" {
		t.Errorf("DeviceRegistrations(dev-1) (-want +got):\n%s", diff)
	}

	deletedAt := t0.Add(time.Hour)
	must(t, "DeleteRegistration", s.DeleteRegistration(ctx, "tok-1", deletedAt))
	must(t, "DeleteRegistration(again)", s.DeleteRegistration(ctx, "tok-1", deletedAt.Add(time.Hour)))
	wantErr(t, "DeleteRegistration(missing)", s.DeleteRegistration(ctx, "tok-9", deletedAt), store.ErrNotFound)

	got, err = s.Registration(ctx, "tok-1")
	must(t, "Registration(deleted)", err)
	want := regs[0]
	want.DeletedAt = deletedAt // the first deletion's time is kept
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Registration(deleted) (-want +got):\n%s", diff)
	}
	if !got.Deleted() {
		t.Errorf("Registration(deleted).Deleted() = false")
	}
	list, err = s.DeviceRegistrations(ctx, "dev-1")
	must(t, "DeviceRegistrations", err)
	if diff := cmp.Diff(regs[1:2], list, byToken); diff != "" {
		t.Errorf("DeviceRegistrations(dev-1) after delete (-want +got):\n%s", diff)
	}
	list, err = s.DeviceRegistrations(ctx, "dev-9")
	must(t, "DeviceRegistrations(unknown device)", err)
	if len(list) != 0 {
		t.Errorf("DeviceRegistrations(unknown device) = %v, want none", list)
	}
}
