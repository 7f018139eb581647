package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// CheckLoopback returns an error unless server is an http URL whose host is
// an address of 127.0.0.0/8 or "localhost": the bench generates load, and
// only ever against this machine.
func CheckLoopback(server string) error {
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("server %q is not an http URL such as http://127.0.0.1:8080", server)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() == nil || ip.To4()[0] != 127 {
		return fmt.Errorf("server %q: the bench only talks to loopback servers (127.0.0.0/8 or localhost), not to %s", server, host)
	}
	return nil
}

// cloudPlatformScope is the scope the bench's service account asks for.
const cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// setup is what the bench creates on the server before it starts.
type setup struct {
	project     string
	appKey      string
	accessToken string
}

// prepare creates a project bench-<random>, an app and a service-account
// key through the admin API, and gets an access token for the key from the
// token endpoint, as an app server would.
func prepare(ctx context.Context, hc *http.Client, base, adminToken string) (setup, error) {
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return setup{}, fmt.Errorf("random project id: %w", err)
	}
	s := setup{project: "bench-" + hex.EncodeToString(rnd[:])}
	admin := func(path string, in, out any) error {
		return adminCall(ctx, hc, base+path, adminToken, in, out)
	}
	if err := admin("/admin/v1/projects", map[string]string{"id": s.project}, nil); err != nil {
		return setup{}, fmt.Errorf("create project %s: %w", s.project, err)
	}
	var app struct {
		Key string `json:"key"`
	}
	if err := admin("/admin/v1/projects/"+s.project+"/apps", map[string]string{"name": "bench"}, &app); err != nil {
		return setup{}, fmt.Errorf("create app: %w", err)
	}
	if app.Key == "" {
		return setup{}, fmt.Errorf("create app: the answer has no key")
	}
	s.appKey = app.Key
	var key struct {
		ServiceAccount json.RawMessage `json:"service_account"`
	}
	if err := admin("/admin/v1/projects/"+s.project+"/keys", struct{}{}, &key); err != nil {
		return setup{}, fmt.Errorf("create service-account key: %w", err)
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, hc)
	creds, err := google.CredentialsFromJSONWithType(octx, key.ServiceAccount, google.ServiceAccount, cloudPlatformScope)
	if err != nil {
		return setup{}, fmt.Errorf("service-account JSON: %w", err)
	}
	tok, err := creds.TokenSource.Token()
	if err != nil {
		return setup{}, fmt.Errorf("get an access token: %w", err)
	}
	s.accessToken = tok.AccessToken
	return s, nil
}

// adminCall posts in as JSON with the admin credential and decodes a 200
// answer into out (if not nil).
func adminCall(ctx context.Context, hc *http.Client, u, adminToken string, in, out any) error {
	return postJSON(ctx, hc, u, http.Header{"Authorization": {"Bearer " + adminToken}}, in, out)
}

// postJSON posts in as JSON with header and decodes a 200 answer into out
// (if not nil).
func postJSON(ctx context.Context, hc *http.Client, u string, header http.Header, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the server: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decode the answer: %w", err)
		}
	}
	return nil
}
