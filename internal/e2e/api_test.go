package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"firebase.google.com/go/v4/messaging"
	"golang.org/x/oauth2/google"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/heraldtest"
)

// call makes an HTTP request and returns the status and the decoded
// google.rpc.Status (if the answer is an error).
func call(t *testing.T, method, url string, body string, header map[string]string) (int, herald.Status, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e herald.ErrorResponse
	if resp.StatusCode != http.StatusOK {
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s %s: %d with a body that is not a google.rpc.Status: %s", method, url, resp.StatusCode, b)
		}
		if e.Error.Code != resp.StatusCode || e.Error.Message == "" {
			t.Fatalf("%s %s: error body %s does not match status %d", method, url, b, resp.StatusCode)
		}
	}
	return resp.StatusCode, e.Error, b
}

func TestDeviceAPIErrors(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	d := newDevice(t, srv, p.appKey, "")
	other := newDevice(t, srv, p.appKey, "")
	reg := srv.URL + herald.PathRegister

	for _, tc := range []struct {
		name   string
		method string
		url    string
		header map[string]string
		code   int
		status string
	}{
		{"no app key", "POST", reg, nil, 400, "INVALID_ARGUMENT"},
		{"unknown app key", "POST", reg, map[string]string{herald.AppKeyHeader: "nope"}, 403, "PERMISSION_DENIED"},
		{"malformed credential", "POST", reg, map[string]string{herald.AppKeyHeader: p.appKey, "Authorization": "Device x"}, 401, "UNAUTHENTICATED"},
		{"wrong secret", "POST", reg, map[string]string{herald.AppKeyHeader: p.appKey, "Authorization": "Device a:b"}, 401, "UNAUTHENTICATED"},
		{"delete without credential", "DELETE", reg + "/" + d.token, nil, 401, "UNAUTHENTICATED"},
		{"refresh unknown token", "POST", reg + "/nope:refresh", map[string]string{"Authorization": "Device a:b"}, 401, "UNAUTHENTICATED"},
		{"bad refresh path", "POST", reg + "/" + d.token + ":renew", nil, 404, "NOT_FOUND"},
		{"unknown endpoint", "GET", srv.URL + "/nope", nil, 404, "NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, st, _ := call(t, tc.method, tc.url, "", tc.header)
			if code != tc.code || st.Status != tc.status {
				t.Fatalf("got %d %s (%s), want %d %s", code, st.Status, st.Message, tc.code, tc.status)
			}
		})
	}

	// A device cannot delete another device's token.
	err := other.c.DeleteToken(context.Background(), p.appKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.fcm.Send(context.Background(), &messaging.Message{Token: d.token, Data: map[string]string{"still": "there"}}); err != nil {
		t.Fatalf("the first device's token must still work: %v", err)
	}
}

func TestRefreshTellsTheConnectedDevice(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	d := newDevice(t, srv, p.appKey, "")
	d.run(t)
	old := d.token
	fresh, err := d.c.RefreshToken(context.Background(), p.appKey)
	if err != nil || fresh == old {
		t.Fatalf("refresh: %q, %v", fresh, err)
	}
	// The live session serves the new token without a reconnect; the old
	// one, within its grace period, reaches it too (lifecycle_test.go).
	p.send(t, &messaging.Message{Token: old, Data: map[string]string{"n": "old"}})
	p.send(t, &messaging.Message{Token: fresh, Data: map[string]string{"n": "fresh"}})
	for _, n := range []string{"old", "fresh"} {
		if m := d.next(t); m.Token != fresh || m.Data["n"] != n {
			t.Fatalf("got %+v, want %q on the new token", m, n)
		}
	}
}

func TestAdminAPIAndCredentials(t *testing.T) {
	srv := heraldtest.Start(t)
	admin := map[string]string{"Authorization": "Bearer " + srv.AdminToken}
	for _, tc := range []struct {
		name, method, path, body string
		header                   map[string]string
		code                     int
		status                   string
	}{
		{"no admin credential", "GET", "/admin/v1/projects", "", nil, 401, "UNAUTHENTICATED"},
		{"wrong admin credential", "GET", "/admin/v1/projects", "", map[string]string{"Authorization": "Bearer x"}, 401, "UNAUTHENTICATED"},
		{"bad project id", "POST", "/admin/v1/projects", `{"id":"Bad_ID"}`, admin, 400, "INVALID_ARGUMENT"},
		{"unknown member", "POST", "/admin/v1/projects", `{"id":"ok","x":1}`, admin, 400, "INVALID_ARGUMENT"},
		{"app of a missing project", "POST", "/admin/v1/projects/missing/apps", `{}`, admin, 404, "NOT_FOUND"},
		{"keys of a missing project", "GET", "/admin/v1/projects/missing/keys", "", admin, 404, "NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, st, _ := call(t, tc.method, srv.URL+tc.path, tc.body, tc.header)
			if code != tc.code || st.Status != tc.status {
				t.Fatalf("got %d %s (%s), want %d %s", code, st.Status, st.Message, tc.code, tc.status)
			}
		})
	}

	p := newProject(t, srv, "demo")
	if code, st, _ := call(t, "POST", srv.URL+"/admin/v1/projects", `{"id":"demo"}`, admin); code != 409 || st.Status != "ALREADY_EXISTS" {
		t.Fatalf("duplicate project: %d %s", code, st.Status)
	}
	d := newDevice(t, srv, p.appKey, "")

	// The service account of one project cannot send for another.
	srv.CreateProject(t, "other")
	code, st, body := call(t, "POST", srv.URL+"/v1/projects/other/messages:send", `{"message":{"token":"x"}}`, map[string]string{"Authorization": "Bearer " + projectAccessToken(t, p)})
	if code != 403 || st.Status != "PERMISSION_DENIED" {
		t.Fatalf("send for another project: %d %s", code, body)
	}
	if code, st, _ := call(t, "POST", srv.URL+"/v1/projects/demo/messages:send", `{"message":{"token":"x"}}`, nil); code != 401 || st.Status != "UNAUTHENTICATED" {
		t.Fatalf("send without credential: %d %s", code, st.Status)
	}
	if code, st, _ := call(t, "POST", srv.URL+"/v1/projects/nope/messages:send", `{"message":{"token":"x"}}`, admin); code != 404 || st.Status != "NOT_FOUND" {
		t.Fatalf("send to a missing project: %d %s", code, st.Status)
	}
	huge := `{"message":{"token":"x","data":{"k":"` + strings.Repeat("x", 70<<10) + `"}}}`
	if code, st, _ := call(t, "POST", srv.URL+"/v1/projects/demo/messages:send", huge, admin); code != 400 || st.Status != "INVALID_ARGUMENT" {
		t.Fatalf("oversize body: %d %s", code, st.Status)
	}

	// Revoking the key stops its access tokens at once.
	var keys struct {
		Keys []struct {
			ID string `json:"id"`
		} `json:"keys"`
	}
	srv.Admin(t, "GET", "/admin/v1/projects/demo/keys", nil, &keys)
	if len(keys.Keys) != 1 {
		t.Fatalf("keys: %+v", keys)
	}
	p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"before": "revoke"}})
	srv.Admin(t, "DELETE", "/admin/v1/projects/demo/keys/"+keys.Keys[0].ID, nil, nil)
	if _, err := p.fcm.Send(context.Background(), &messaging.Message{Token: d.token, Data: map[string]string{"after": "revoke"}}); err == nil {
		t.Fatal("send with a revoked key succeeded")
	}
}

// projectAccessToken gets an access token for the project's service account from
// Herald's token endpoint, with Google's OAuth2 library.
func projectAccessToken(t *testing.T, p project) string {
	t.Helper()
	b, err := os.ReadFile(p.sa)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := google.CredentialsFromJSONWithType(context.Background(), b, google.ServiceAccount, "https://www.googleapis.com/auth/cloud-platform")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := creds.TokenSource.Token()
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func TestOperationsEndpoints(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	d := newDevice(t, srv, p.appKey, "")
	d.run(t)
	p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"a": "b"}})
	d.next(t)

	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _, _ := call(t, "GET", srv.URL+path, "", nil); code != 200 {
			t.Errorf("%s: %d", path, code)
		}
	}
	// A writer counts its deliveries after a round of writes, so the
	// device may read the message before it is counted.
	want := []string{
		`herald_sends_total{result="accepted"} 1`,
		`herald_connected_devices 1`,
		`herald_deliveries_total 1`,
		`herald_store_operation_seconds_count{op="enqueue"} 1`,
	}
	var body []byte
	lacks := func() (missing []string) {
		_, _, body = call(t, "GET", srv.URL+"/metrics", "", nil)
		for _, w := range want {
			if !strings.Contains(string(body), w) {
				missing = append(missing, w)
			}
		}
		return missing
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitTimeout)
	for missing := lacks(); len(missing) > 0; missing = lacks() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("/metrics lacks %q:\n%s", missing, body)
		}
	}
}
