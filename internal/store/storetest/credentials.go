package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald/internal/store"
)

// testCredentials: a round trip of every kind of vendor credential,
// replacement, ErrNotFound for a project without credentials and for a
// missing project (nothing stored).
func testCredentials(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, "CreateProject", s.CreateProject(ctx, store.Project{ID: "p1", CreatedAt: t0}))
	must(t, "CreateProject", s.CreateProject(ctx, store.Project{ID: "p2", CreatedAt: t0}))

	_, err := s.Credentials(ctx, "p1")
	wantErr(t, "Credentials(none yet)", err, store.ErrNotFound)

	c := store.Credentials{
		ProjectID: "p1",
		VAPID:     &store.VAPIDCredentials{PublicKey: "BPub", PrivateKey: "priv-scalar", Subject: "mailto:ops@example.com"},
		APNs:      &store.APNsCredentials{KeyID: "ABCDE12345", TeamID: "TEAM123456", KeyPEM: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"},
		FCM:       &store.FCMCredentials{ServiceAccountJSON: []byte(`{"type":"service_account","project_id":"fb"}`)},
		UpdatedAt: t0,
	}
	must(t, "PutCredentials", s.PutCredentials(ctx, c))
	got, err := s.Credentials(ctx, "p1")
	must(t, "Credentials", err)
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("Credentials(p1) (-want +got):\n%s", diff)
	}
	_, err = s.Credentials(ctx, "p2")
	wantErr(t, "Credentials(other project)", err, store.ErrNotFound)

	// A put replaces the whole record.
	c2 := store.Credentials{ProjectID: "p1", FCM: c.FCM, UpdatedAt: t0.Add(time.Minute)}
	must(t, "PutCredentials(replace)", s.PutCredentials(ctx, c2))
	got, err = s.Credentials(ctx, "p1")
	must(t, "Credentials", err)
	if diff := cmp.Diff(c2, got); diff != "" {
		t.Errorf("Credentials(p1) after replace (-want +got):\n%s", diff)
	}

	wantErr(t, "PutCredentials(missing project)", s.PutCredentials(ctx, store.Credentials{ProjectID: "nope", VAPID: c.VAPID}), store.ErrNotFound)
	_, err = s.Credentials(ctx, "nope")
	wantErr(t, "Credentials(missing project)", err, store.ErrNotFound)
}

// testVendorRegistrations: live registrations of vendor platforms are
// listed in token order, with paging; Herald's own, deleted and replaced
// ones are not; a registration whose address does not match its platform
// is refused and nothing is stored.
func testVendorRegistrations(t *testing.T, s store.Store) {
	ctx := context.Background()
	regs := []store.Registration{
		{Token: "v-apns", ProjectID: "p1", AppKey: "a", DeviceID: "d1", CreatedAt: t0,
			Platform: store.PlatformAPNs, APNs: &store.APNsDevice{DeviceToken: "ab12", BundleID: "com.example", Sandbox: true}},
		{Token: "v-fcm", ProjectID: "p1", AppKey: "a", DeviceID: "d2", CreatedAt: t0,
			Platform: store.PlatformFCM, FCM: &store.FCMDevice{Token: "fcm-token"}},
		{Token: "v-herald", ProjectID: "p1", AppKey: "a", DeviceID: "d3", CreatedAt: t0},
		{Token: "v-web", ProjectID: "p1", AppKey: "a", DeviceID: "d4", CreatedAt: t0,
			Platform: store.PlatformWebPush, WebPush: &store.WebPushSubscription{Endpoint: "https://push.example/x", P256DH: "BP", Auth: "au"}},
		{Token: "v-web2", ProjectID: "p1", AppKey: "a", DeviceID: "d5", CreatedAt: t0,
			Platform: store.PlatformWebPush, WebPush: &store.WebPushSubscription{Endpoint: "https://push.example/y", P256DH: "BP", Auth: "au"}},
	}
	for _, r := range regs {
		must(t, "CreateRegistration", s.CreateRegistration(ctx, r))
	}
	for _, bad := range []store.Registration{
		{Token: "bad-1", ProjectID: "p1", AppKey: "a", DeviceID: "d9", CreatedAt: t0, Platform: "carrier-pigeon"},
		{Token: "bad-2", ProjectID: "p1", AppKey: "a", DeviceID: "d9", CreatedAt: t0, Platform: store.PlatformAPNs},
		{Token: "bad-3", ProjectID: "p1", AppKey: "a", DeviceID: "d9", CreatedAt: t0, Platform: store.PlatformFCM,
			APNs: &store.APNsDevice{DeviceToken: "ab", BundleID: "b"}},
	} {
		if err := s.CreateRegistration(ctx, bad); err == nil {
			t.Errorf("CreateRegistration(%s, platform %q) succeeded, want an error", bad.Token, bad.Platform)
		}
		_, err := s.Registration(ctx, bad.Token)
		wantErr(t, "Registration(refused)", err, store.ErrNotFound)
	}

	list := func(after string, limit int) []string {
		t.Helper()
		rs, err := s.VendorRegistrations(ctx, after, limit)
		must(t, "VendorRegistrations", err)
		var tokens []string
		for _, r := range rs {
			tokens = append(tokens, r.Token)
		}
		return tokens
	}
	if diff := cmp.Diff([]string{"v-apns", "v-fcm", "v-web", "v-web2"}, list("", 0)); diff != "" {
		t.Errorf("VendorRegistrations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"v-fcm", "v-web"}, list("v-apns", 2)); diff != "" {
		t.Errorf("VendorRegistrations(after v-apns, 2) (-want +got):\n%s", diff)
	}
	got, err := s.VendorRegistrations(ctx, "", 1)
	must(t, "VendorRegistrations", err)
	if diff := cmp.Diff(regs[:1], got, diffOpts...); diff != "" {
		t.Errorf("VendorRegistrations(1) (-want +got):\n%s", diff)
	}

	must(t, "DeleteRegistration", s.DeleteRegistration(ctx, "v-fcm", t0.Add(time.Hour)))
	repl := regs[3]
	repl.Token = "v-web3"
	must(t, "ReplaceRegistration", s.ReplaceRegistration(ctx, "v-web", repl, t0.Add(time.Hour)))
	if diff := cmp.Diff([]string{"v-apns", "v-web2", "v-web3"}, list("", 0)); diff != "" {
		t.Errorf("VendorRegistrations after delete and replace (-want +got):\n%s", diff)
	}
}
