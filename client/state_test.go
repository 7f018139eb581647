package client

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/heraldpush/herald"
)

func TestStateSurvivesARestart(t *testing.T) {
	fs := newFakeServer(t)
	dir := filepath.Join(t.TempDir(), "nested", "state")
	c1 := mustNew(t, Config{Server: fs.URL(), StateDir: dir})
	tok1 := mustRegister(t, c1, "app-1")
	tok2 := mustRegister(t, c1, "app-2")
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}

	want := state{
		Device: &herald.DeviceCredential{ID: "dev-1", Secret: "secret-dev-1"},
		Registrations: map[string]*registration{
			"app-1": {Token: tok1, ProjectID: fakeProject},
			"app-2": {Token: tok2, ProjectID: fakeProject},
		},
	}
	if diff := cmp.Diff(want, readStateFile(t, dir), cmpopts.IgnoreUnexported(state{})); diff != "" {
		t.Fatalf("state.json (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(filepath.Join(dir, stateFileName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("state.json mode %v, want 0600 (it holds the device secret)", perm)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("state dir holds %d files, want only state.json (no temporary left)", len(entries))
	}

	c2 := mustNew(t, Config{Server: fs.URL(), StateDir: dir})
	// Registered already: no network call.
	before := len(fs.httpRequests())
	if p, ok := c2.ProjectID("app-2"); p != fakeProject || !ok {
		t.Fatalf("ProjectID after restart = %q, %t", p, ok)
	}
	if got := mustRegister(t, c2, "app-1"); got != tok1 {
		t.Fatalf("Register after restart = %q, want %q", got, tok1)
	}
	if n := len(fs.httpRequests()); n != before {
		t.Fatalf("Register of a known app made %d HTTP calls", n-before)
	}
}

func TestInMemoryStateWritesNothing(t *testing.T) {
	fs := newFakeServer(t)
	wd := t.TempDir()
	t.Chdir(wd)
	c := mustNew(t, Config{Server: fs.URL()})
	mustRegister(t, c, "app-1")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(wd)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("StateDir \"\" wrote %d files", len(entries))
	}
}

func TestCorruptStateIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, stateFileName), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Server: "http://127.0.0.1:1", StateDir: dir}); err == nil {
		t.Fatal("New accepted a corrupt state file")
	}
}

func TestNewChecksTheServerURL(t *testing.T) {
	for _, s := range []string{"", "127.0.0.1:8080", "ftp://x", "http://", "::"} {
		if _, err := New(Config{Server: s}); err == nil {
			t.Errorf("New(Server: %q) succeeded", s)
		}
	}
	c, err := New(Config{Server: "https://push.example.com/base/"})
	if err != nil {
		t.Fatal(err)
	}
	if c.wsURL != "wss://push.example.com/base"+herald.PathConnect {
		t.Errorf("wsURL = %q", c.wsURL)
	}
}

func TestRegisterErrorsCarryStatusAndMessage(t *testing.T) {
	fs := newFakeServer(t)
	c := mustNew(t, Config{Server: fs.URL()})
	_, err := c.Register(context.Background(), "nope")
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("Register = %v, want an *APIError", err)
	}
	want := &APIError{StatusCode: http.StatusForbidden, Status: "PERMISSION_DENIED", Message: "unknown app key"}
	if diff := cmp.Diff(want, apiErr); diff != "" {
		t.Fatalf("APIError (-want +got):\n%s", diff)
	}
	if _, ok := c.Token("nope"); ok {
		t.Fatal("a failed registration left a token")
	}
}

func TestAPIErrorWithoutAStatusBody(t *testing.T) {
	srv := newPlainServer(t, http.StatusBadGateway, "upstream down\n")
	c := mustNew(t, Config{Server: srv})
	_, err := c.Register(context.Background(), "app-1")
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("Register = %v, want an *APIError", err)
	}
	if diff := cmp.Diff(&APIError{StatusCode: http.StatusBadGateway, Message: "upstream down"}, apiErr); diff != "" {
		t.Fatalf("APIError (-want +got):\n%s", diff)
	}
	if got := apiErr.Error(); got != "herald: 502 Bad Gateway: upstream down" {
		t.Fatalf("Error() = %q", got)
	}
}

func TestRefreshAndDeleteToken(t *testing.T) {
	fs := newFakeServer(t)
	dir := t.TempDir()
	ctx := context.Background()
	c := mustNew(t, Config{Server: fs.URL(), StateDir: dir})
	old := mustRegister(t, c, "app-1")
	mustRegister(t, c, "app-2")
	c.st.Registrations["app-1"].LastHandled = 9

	tok, err := c.RefreshToken(ctx, "app-1")
	if err != nil {
		t.Fatal(err)
	}
	if tok == old {
		t.Fatal("refresh returned the old token")
	}
	if got := readStateFile(t, dir).Registrations["app-1"]; got.Token != tok || got.LastHandled != 0 {
		t.Fatalf("after refresh, state = %+v", got)
	}
	if _, err := c.RefreshToken(ctx, "app-unknown"); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("refresh of an unknown app = %v, want ErrNotRegistered", err)
	}

	if err := c.DeleteToken(ctx, "app-1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Token("app-1"); ok {
		t.Fatal("token still held after DeleteToken")
	}
	if _, ok := readStateFile(t, dir).Registrations["app-1"]; ok {
		t.Fatal("deleted app still in state.json")
	}
	// Deleting twice, or an unknown app, is not an error.
	if err := c.DeleteToken(ctx, "app-1"); err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{
		"POST /device/v1/registrations",
		"POST /device/v1/registrations auth",
		"POST /device/v1/registrations/" + old + ":refresh auth",
		"DELETE /device/v1/registrations/" + tok + " auth",
	}
	if diff := cmp.Diff(wantCalls, fs.httpRequests()); diff != "" {
		t.Fatalf("HTTP calls (-want +got):\n%s", diff)
	}
}

func TestRegisterWithAnUnknownDeviceStartsANewDevice(t *testing.T) {
	fs := newFakeServer(t)
	c := mustNew(t, Config{Server: fs.URL()})
	tok1 := mustRegister(t, c, "app-1")
	fs.forgetDevices()
	mustRegister(t, c, "app-2")
	if _, ok := c.Token("app-1"); ok {
		t.Fatal("app-1 keeps a token of the forgotten device")
	}
	c.mu.Lock()
	dev := c.st.Device.ID
	_, kept := c.st.Registrations["app-1"]
	c.mu.Unlock()
	if dev == "dev-1" || !kept {
		t.Fatalf("device %q, app-1 kept for re-registration %t (old token %s)", dev, kept, tok1)
	}
}

// The token index follows every change of the registrations: register,
// refresh (the app's and the server's), re-registration of lost tokens,
// a forgotten device, delete, and a restart from StateDir.
func TestTokenIndexFollowsTheRegistrations(t *testing.T) {
	fs := newFakeServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	c := mustNew(t, Config{Server: fs.URL(), StateDir: dir})
	tok1 := mustRegister(t, c, "app-1")
	tok2 := mustRegister(t, c, "app-2")
	checkTokenIndex(t, c, tok1, tok2)

	tok1b, err := c.RefreshToken(ctx, "app-1")
	if err != nil {
		t.Fatal(err)
	}
	checkTokenIndex(t, c, tok1, tok2, tok1b)

	if err := c.handleTokenRefresh(herald.TokenRefresh{Old: tok2, New: "tok-from-server"}); err != nil {
		t.Fatal(err)
	}
	checkTokenIndex(t, c, tok1, tok2, tok1b, "tok-from-server")

	if err := c.reregisterUnregistered(ctx, []herald.RegistrationStatus{{Token: tok1b, Status: herald.StatusUnregistered}}); err != nil {
		t.Fatal(err)
	}
	tok1c, _ := c.Token("app-1")
	checkTokenIndex(t, c, tok1, tok2, tok1b, "tok-from-server", tok1c)

	// A new device for app-3 forgets every token; Run registers the others
	// again.
	fs.forgetDevices()
	tok3 := mustRegister(t, c, "app-3")
	checkTokenIndex(t, c, tok1, tok2, tok1b, "tok-from-server", tok1c, tok3)
	if err := c.registerLost(ctx); err != nil {
		t.Fatal(err)
	}
	tok1d, _ := c.Token("app-1")
	tok2d, _ := c.Token("app-2")
	checkTokenIndex(t, c, tok1, tok2, tok1b, "tok-from-server", tok1c, tok3, tok1d, tok2d)

	if err := c.DeleteToken(ctx, "app-3"); err != nil {
		t.Fatal(err)
	}
	checkTokenIndex(t, c, tok3, tok1d, tok2d)

	c2 := mustNew(t, Config{Server: fs.URL(), StateDir: dir})
	checkTokenIndex(t, c2, tok3, tok1d, tok2d)
}

// checkTokenIndex checks that c's index holds exactly the tokens of its
// registrations, and that each of tokens leads to the app key holding it
// now, or to nothing.
func checkTokenIndex(t *testing.T, c *Client, tokens ...string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	holder := map[string]string{}
	for k, r := range c.st.Registrations {
		if r.Token != "" {
			holder[r.Token] = k
		}
	}
	if diff := cmp.Diff(holder, c.st.tokens); diff != "" {
		t.Fatalf("token index (-registrations +index):\n%s", diff)
	}
	for _, tok := range tokens {
		for range 2 { // the second from byToken's memo
			k, r := c.st.byToken(tok)
			if k != holder[tok] || (r == nil) != (k == "") || (r != nil && r != c.st.Registrations[k]) {
				t.Errorf("byToken(%s) = %q, %v; held by %q", tok, k, r, holder[tok])
			}
		}
	}
}

// byToken's memo of its last answer is forgotten by every change of the
// registrations: the token just looked up then leads to its new holder,
// or to nothing.
func TestByTokenForgetsItsMemoOnChanges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(s *state)
		now    string // the token of app-1 after the change ("": none)
	}{
		{"setToken", func(s *state) { s.setToken("app-1", "t2") }, "t2"},
		{"put", func(s *state) { s.put("app-1", &registration{Token: "t2"}) }, "t2"},
		{"lose", func(s *state) { s.lose("app-1") }, ""},
		{"remove", func(s *state) { s.remove("app-1") }, ""},
		{"forgetDevice", func(s *state) { s.forgetDevice() }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newState()
			s.put("app-1", &registration{Token: "t1"})
			s.put("app-2", &registration{Token: "t3"})
			if k, r := s.byToken("t1"); k != "app-1" || r != s.Registrations["app-1"] {
				t.Fatalf("byToken(t1) = %q, %v before the change", k, r)
			}
			tc.change(s)
			if k, r := s.byToken("t1"); r != nil {
				t.Errorf("byToken(t1) = %q, %+v after the change, want nothing", k, r)
			}
			if tc.now != "" {
				if k, r := s.byToken(tc.now); k != "app-1" || r != s.Registrations["app-1"] {
					t.Errorf("byToken(%s) = %q, %+v", tc.now, k, r)
				}
			}
		})
	}
}
