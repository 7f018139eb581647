package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"firebase.google.com/go/v4/messaging"
	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald/internal/config"
	"github.com/heraldpush/herald/internal/heraldtest"
)

const day = 24 * time.Hour

// FCM's expiry of tokens whose device stayed away: Herald's default.
const staleAfter = 270 * day

func withRefreshGrace(d time.Duration) heraldtest.Option {
	return func(cfg *config.Config) { cfg.RefreshGrace = d }
}

// nextToken waits for the SDK's OnNewToken.
func (d *device) nextToken(t *testing.T) string {
	t.Helper()
	select {
	case tok := <-d.tokens:
		return tok
	case <-time.After(waitTimeout):
		t.Fatal("OnNewToken was not called")
		return ""
	}
}

// iidInfo calls GET /iid/info/{token} as an app server redirected to Herald
// would (Host iid.googleapis.com), and returns the status and JSON body.
func iidInfo(t *testing.T, srv *heraldtest.Server, token, query, bearer string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/iid/info/"+token+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "iid.googleapis.com"
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("access_token_auth", "true")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("GET /iid/info: %d with a body that is not JSON: %s", resp.StatusCode, b)
	}
	return resp.StatusCode, body
}

// A token whose device has not connected for longer than --stale-after
// answers UNREGISTERED and is deleted; the device, when it comes back, is
// told so and its SDK registers again (OnNewToken).
func TestStaleTokenIsUnregisteredAndTheDeviceRegistersAgain(t *testing.T) {
	var clk clock
	srv := heraldtest.Start(t, withClock(&clk))
	p := newProject(t, srv, "demo")
	state := t.TempDir()
	d := newDevice(t, srv, p.appKey, state)
	old := d.token
	d.close() // registered, then away

	clk.advance(staleAfter - day)
	p.send(t, &messaging.Message{Token: old, Data: map[string]string{"n": "0"}}) // still fresh: kept for the device

	clk.advance(2 * day)
	ctx := context.Background()
	if _, err := p.fcm.SendDryRun(ctx, &messaging.Message{Token: old}); !messaging.IsUnregistered(err) {
		t.Fatalf("dry run to a stale token: %v, want UNREGISTERED", err)
	}
	if _, err := p.fcm.Send(ctx, &messaging.Message{Token: old, Data: map[string]string{"n": "1"}}); !messaging.IsUnregistered(err) {
		t.Fatalf("send to a stale token: %v, want UNREGISTERED", err)
	}
	if code, _ := iidInfo(t, srv, old, "", srv.AdminToken); code != http.StatusNotFound {
		t.Fatalf("iid info of the expired token: %d, want 404", code)
	}

	d2 := newDevice(t, srv, p.appKey, state) // the app starts again on the same state
	if d2.token != old {
		t.Fatalf("the SDK state lost the old token")
	}
	d2.run(t)
	fresh := d2.nextToken(t)
	if fresh == old || fresh == "" {
		t.Fatalf("new token %q after expiry of %q", fresh, old)
	}
	if _, err := p.fcm.Send(ctx, &messaging.Message{Token: old, Data: map[string]string{"n": "2"}}); !messaging.IsUnregistered(err) {
		t.Fatalf("send to the expired token after the device came back: %v, want UNREGISTERED", err)
	}
	p.send(t, &messaging.Message{Token: fresh, Data: map[string]string{"n": "3"}})
	if m := d2.next(t); m.Token != fresh || m.Data["n"] != "3" {
		t.Fatalf("the app got %+v, want message 3 on the new token (message 0 went with the expired token)", m)
	}
}

// A device that comes back after the stale period without any send in
// between is told at once in the welcome.
func TestStaleTokenExpiresWhenTheDeviceComesBack(t *testing.T) {
	var clk clock
	srv := heraldtest.Start(t, withClock(&clk))
	p := newProject(t, srv, "demo")
	state := t.TempDir()
	d := newDevice(t, srv, p.appKey, state)
	old := d.token
	d.close()

	clk.advance(staleAfter + time.Hour)
	d2 := newDevice(t, srv, p.appKey, state)
	d2.run(t)
	fresh := d2.nextToken(t)
	if fresh == old {
		t.Fatal("the expired token was kept")
	}
	if _, err := p.fcm.Send(context.Background(), &messaging.Message{Token: old}); !messaging.IsUnregistered(err) {
		t.Fatalf("send to the expired token: %v, want UNREGISTERED", err)
	}
	p.send(t, &messaging.Message{Token: fresh, Data: map[string]string{"n": "1"}})
	if m := d2.next(t); m.Token != fresh {
		t.Fatalf("got %+v on %q, want the new token", m, m.Token)
	}
}

// The stale period counts from the device's last connection, not from its
// registration: a connected device is never stale, and its disconnection
// time is recorded (also when the server stops).
func TestLastSeenCountsFromTheLastConnection(t *testing.T) {
	var clk clock
	srv := heraldtest.Start(t, withClock(&clk))
	p := newProject(t, srv, "demo")
	d := newDevice(t, srv, p.appKey, "")
	registered := clk.now()
	d.run(t)

	clk.advance(staleAfter + 10*day) // connected all along
	p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"n": "1"}})
	if m := d.next(t); m.Data["n"] != "1" {
		t.Fatalf("got %+v", m)
	}
	lastSeen := clk.now()
	d.close()
	srv.Restart(t) // the disconnection is recorded by now, whichever saw it first

	clk.advance(100 * day)
	code, info := iidInfo(t, srv, d.token, "?details=true", srv.AdminToken)
	if code != http.StatusOK || info["connectDate"] != lastSeen.UTC().Format(time.DateOnly) {
		t.Fatalf("iid info: %d %v, want connectDate %s (registered %s)", code, info,
			lastSeen.UTC().Format(time.DateOnly), registered.UTC().Format(time.DateOnly))
	}
	if _, err := p.fcm.SendDryRun(context.Background(), &messaging.Message{Token: d.token}); err != nil {
		t.Fatalf("dry run 100 days after the last connection: %v", err)
	}

	clk.advance(staleAfter - 100*day + time.Hour)
	if _, err := p.fcm.Send(context.Background(), &messaging.Message{Token: d.token}); !messaging.IsUnregistered(err) {
		t.Fatalf("send more than %v after the last connection: %v, want UNREGISTERED", staleAfter, err)
	}
}

// After a refresh the old token keeps working for the grace period: its
// messages reach the device with the new token, in order with the new
// token's own; afterwards it answers UNREGISTERED.
func TestRefreshGracePeriod(t *testing.T) {
	var clk clock
	srv := heraldtest.Start(t, withClock(&clk)) // default grace: 1h
	p := newProject(t, srv, "demo")
	d := newDevice(t, srv, p.appKey, "")
	d.run(t)
	old := d.token
	ctx := context.Background()
	fresh, err := d.c.RefreshToken(ctx, p.appKey)
	if err != nil || fresh == old {
		t.Fatalf("refresh: %q, %v", fresh, err)
	}

	clk.advance(59 * time.Minute)
	p.send(t, &messaging.Message{Token: old, Data: map[string]string{"n": "1"}})
	p.send(t, &messaging.Message{Token: fresh, Data: map[string]string{"n": "2"}})
	p.send(t, &messaging.Message{Token: old, Data: map[string]string{"n": "3"}})
	if _, err := p.fcm.SendDryRun(ctx, &messaging.Message{Token: old}); err != nil {
		t.Fatalf("dry run to the old token within the grace period: %v", err)
	}
	type got struct {
		Token, N string
		Seq      uint64
	}
	var gots []got
	for range 3 {
		m := d.next(t)
		gots = append(gots, got{m.Token, m.Data["n"], m.Seq})
	}
	want := []got{{fresh, "1", 1}, {fresh, "2", 2}, {fresh, "3", 3}}
	if diff := cmp.Diff(want, gots); diff != "" {
		t.Fatalf("messages to the old and new tokens (-want +got):\n%s", diff)
	}
	code, info := iidInfo(t, srv, old, "", srv.AdminToken)
	if code != http.StatusOK || info["authorizedEntity"] != "demo" {
		t.Fatalf("iid info of the old token within the grace period: %d %v", code, info)
	}

	clk.advance(time.Minute)
	if _, err := p.fcm.Send(ctx, &messaging.Message{Token: old, Data: map[string]string{"n": "4"}}); !messaging.IsUnregistered(err) {
		t.Fatalf("send to the old token after the grace period: %v, want UNREGISTERED", err)
	}
	if code, _ := iidInfo(t, srv, old, "", srv.AdminToken); code != http.StatusNotFound {
		t.Fatalf("iid info of the old token after the grace period: %d, want 404", code)
	}
	p.send(t, &messaging.Message{Token: fresh, Data: map[string]string{"n": "5"}})
	if m := d.next(t); m.Token != fresh || m.Data["n"] != "5" || m.Seq != 4 {
		t.Fatalf("got %+v, want message 5 as seq 4 of the new token", m)
	}
}

// Refreshing a token twice within the grace period: the first token
// reaches the latest one.
func TestRefreshGraceFollowsSeveralRefreshes(t *testing.T) {
	var clk clock
	srv := heraldtest.Start(t, withClock(&clk), withRefreshGrace(10*time.Minute))
	p := newProject(t, srv, "demo")
	d := newDevice(t, srv, p.appKey, "")
	d.run(t)
	first := d.token
	ctx := context.Background()
	if _, err := d.c.RefreshToken(ctx, p.appKey); err != nil {
		t.Fatal(err)
	}
	clk.advance(5 * time.Minute)
	latest, err := d.c.RefreshToken(ctx, p.appKey)
	if err != nil {
		t.Fatal(err)
	}
	p.send(t, &messaging.Message{Token: first, Data: map[string]string{"n": "1"}})
	if m := d.next(t); m.Token != latest || m.Data["n"] != "1" {
		t.Fatalf("got %+v on %q, want the latest token %q", m, m.Token, latest)
	}
	clk.advance(5 * time.Minute) // the first refresh's grace is over
	if _, err := p.fcm.Send(ctx, &messaging.Message{Token: first}); !messaging.IsUnregistered(err) {
		t.Fatalf("send to the first token after its grace: %v, want UNREGISTERED", err)
	}
}

// --refresh-grace 0: the old token answers UNREGISTERED at once.
func TestRefreshWithoutGrace(t *testing.T) {
	srv := heraldtest.Start(t, withRefreshGrace(0))
	p := newProject(t, srv, "demo")
	d := newDevice(t, srv, p.appKey, "")
	old := d.token
	if _, err := d.c.RefreshToken(context.Background(), p.appKey); err != nil {
		t.Fatal(err)
	}
	if _, err := p.fcm.Send(context.Background(), &messaging.Message{Token: old}); !messaging.IsUnregistered(err) {
		t.Fatalf("send to the refreshed token: %v, want UNREGISTERED", err)
	}
}

// GET /iid/info/{token}: the Instance ID API's shape, for the project's
// service account or the admin credential; another project's credential is
// refused; unknown and deleted tokens are not found.
func TestIIDInfo(t *testing.T) {
	var clk clock
	srv := heraldtest.Start(t, withClock(&clk))
	p := newProject(t, srv, "demo")
	other := newProject(t, srv, "other")
	d := newDevice(t, srv, p.appKey, "")
	today := clk.now().UTC().Format(time.DateOnly)

	access := projectAccessToken(t, p)
	code, info := iidInfo(t, srv, d.token, "", access)
	want := map[string]any{"application": "test", // the app's name (heraldtest.CreateApp)
		"authorizedEntity": "demo", "applicationVersion": "", "platform": "HERALD"}
	if code != http.StatusOK {
		t.Fatalf("iid info: %d %v", code, info)
	}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("iid info (-want +got):\n%s", diff)
	}
	code, info = iidInfo(t, srv, d.token, "?details=true", srv.AdminToken)
	want["connectDate"] = today
	want["rel"] = map[string]any{"topics": map[string]any{}}
	if code != http.StatusOK {
		t.Fatalf("iid info with details: %d %v", code, info)
	}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("iid info with details (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		name, token, query, bearer string
		code                       int
		error                      string
	}{
		{"no credential", d.token, "", "", http.StatusUnauthorized, "UNAUTHENTICATED"},
		{"bad credential", d.token, "", "not-a-token", http.StatusUnauthorized, "UNAUTHENTICATED"},
		{"another project", d.token, "", projectAccessToken(t, other), http.StatusForbidden, "PERMISSION_DENIED"},
		{"unknown token", "no-such-token", "", access, http.StatusNotFound, "NOT_FOUND"},
		{"bad details", d.token, "?details=maybe", access, http.StatusBadRequest, "INVALID_ARGUMENT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := iidInfo(t, srv, tc.token, tc.query, tc.bearer)
			if diff := cmp.Diff(map[string]any{"error": tc.error}, body); code != tc.code || diff != "" {
				t.Errorf("got %d %v, want %d (-want +got):\n%s", code, body, tc.code, diff)
			}
		})
	}

	if err := d.c.DeleteToken(context.Background(), p.appKey); err != nil {
		t.Fatal(err)
	}
	if code, body := iidInfo(t, srv, d.token, "", access); code != http.StatusNotFound || body["error"] != "NOT_FOUND" {
		t.Errorf("iid info of a deleted token: %d %v, want 404 NOT_FOUND", code, body)
	}
}
