package auth

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// answer is what the token endpoint said.
type answer struct {
	Status       int
	ContentType  string
	CacheControl string
	Error        string
}

// post sends a form to the token endpoint and decodes the answer.
func post(t *testing.T, srv interface{ Client() *http.Client }, tokenURL, contentType, body string) (answer, ErrorResponse, TokenResponse) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, tokenURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	return do(t, srv.Client(), req)
}

func do(t *testing.T, c *http.Client, req *http.Request) (answer, ErrorResponse, TokenResponse) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var e ErrorResponse
	var ok TokenResponse
	if resp.StatusCode == http.StatusOK {
		err = json.Unmarshal(b, &ok)
	} else {
		err = json.Unmarshal(b, &e)
	}
	if err != nil {
		t.Fatalf("answer %d %q: %v", resp.StatusCode, b, err)
	}
	return answer{
		Status:       resp.StatusCode,
		ContentType:  resp.Header.Get("Content-Type"),
		CacheControl: resp.Header.Get("Cache-Control"),
		Error:        e.Error,
	}, e, ok
}

func form(assertion string) string {
	return url.Values{"grant_type": {GrantTypeJWTBearer}, "assertion": {assertion}}.Encode()
}

// TestTokenEndpointAssertions sends good and bad assertions and checks the
// OAuth error, the sentinel Exchange wraps, and that the description says
// what is wrong.
func TestTokenEndpointAssertions(t *testing.T) {
	clk := newClock(time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC))
	keys := newKeyMap()
	a, _ := newTestAuthority(t, keys, clk.Now)
	srv := serve(t, a)
	acc := newAccount(t, "demo", srv.URL+"/token")
	stranger := newAccount(t, "demo", srv.URL+"/token") // never stored
	revoked := newAccount(t, "demo", srv.URL+"/token")
	keys.put(acc.key)
	keys.put(revoked.key)
	keys.revoke(revoked.key.ID)
	now := clk.Now()

	// with returns a copy of m with the given changes; a nil value deletes.
	with := func(m map[string]any, kv ...any) map[string]any {
		c := map[string]any{}
		for k, v := range m {
			c[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	h, c := goodHeader(acc), goodClaims(acc, now)
	rs := func(h, c map[string]any) string { return signRS256(t, acc.priv, h, c) }
	iat := c["iat"].(int64)

	tests := []struct {
		name      string
		assertion string
		wantErr   error  // nil: success
		oauth     string // OAuth error code
		mentions  string // in error_description
	}{
		{name: "as Google's library writes it", assertion: rs(h, c)},
		{name: "no kid, key from iss", assertion: rs(with(h, "kid", nil), c)},
		{name: "no typ", assertion: rs(with(h, "typ", nil), c)},
		{name: "firebase.messaging only", assertion: rs(h, with(c, "scope", ScopeMessaging))},
		{name: "aud as an array", assertion: rs(h, with(c, "aud", []string{"https://other.example/x", acc.sa.TokenURI}))},
		{name: "aud of another host", assertion: rs(h, with(c, "aud", "https://oauth2.googleapis.com/token"))},
		{name: "sub = iss", assertion: rs(h, with(c, "sub", acc.sa.ClientEmail))},
		{name: "fractional times", assertion: rs(h, with(c, "iat", float64(iat)+0.5, "exp", float64(iat)+3600.25))},
		{name: "expired within skew", assertion: rs(h, with(c, "iat", now.Add(-time.Hour-59*time.Second).Unix(), "exp", now.Add(-59*time.Second).Unix()))},
		{name: "iat ahead within skew", assertion: rs(h, with(c, "iat", now.Add(59*time.Second).Unix(), "exp", now.Add(10*time.Minute).Unix()))},

		{"alg none", encodeSegment(t, with(h, "alg", "none")) + "." + encodeSegment(t, c) + ".", ErrInvalidToken, "invalid_grant", "RS256"},
		{"alg none signed", rs(with(h, "alg", "none"), c), ErrInvalidToken, "invalid_grant", "RS256"},
		{"HS256 keyed with the public key", signHS256(t, []byte(acc.key.PublicKeyPEM), with(h, "alg", "HS256"), c), ErrInvalidToken, "invalid_grant", "RS256"},
		{"RS512", rs(with(h, "alg", "RS512"), c), ErrInvalidToken, "invalid_grant", "RS256"},
		{"PS256", rs(with(h, "alg", "PS256"), c), ErrInvalidToken, "invalid_grant", "RS256"},
		{"lower-case rs256", rs(with(h, "alg", "rs256"), c), ErrInvalidToken, "invalid_grant", "RS256"},
		{"typ JWE", rs(with(h, "typ", "JWE"), c), ErrInvalidToken, "invalid_grant", "typ"},
		{"critical extension", rs(with(h, "crit", []string{"exp"}), c), ErrInvalidToken, "invalid_grant", "critical"},
		{"signed by another key", signRS256(t, stranger.priv, h, c), ErrInvalidToken, "invalid_grant", "signature"},
		{"signature cut", rs(h, c)[:len(rs(h, c))-4], ErrInvalidToken, "invalid_grant", "signature"},
		{"claims altered", func() string {
			parts := strings.Split(rs(h, c), ".")
			parts[1] = encodeSegment(t, with(c, "scope", ScopeMessaging))
			return strings.Join(parts, ".")
		}(), ErrInvalidToken, "invalid_grant", "signature"},
		{"unknown kid", signRS256(t, stranger.priv, goodHeader(stranger), goodClaims(stranger, now)), ErrInvalidToken, "invalid_grant", "no service-account key"},
		{"no kid, foreign iss", rs(with(h, "kid", nil), with(c, "iss", "robot@demo.iam.gserviceaccount.com")), ErrInvalidToken, "invalid_grant", "client_email"},
		{"revoked key", signRS256(t, revoked.priv, goodHeader(revoked), goodClaims(revoked, now)), ErrRevoked, "invalid_grant", "revoked"},
		{"iss of another key", rs(h, with(c, "iss", stranger.sa.ClientEmail)), ErrInvalidToken, "invalid_grant", "iss"},
		{"no iss", rs(h, with(c, "iss", nil)), ErrInvalidToken, "invalid_grant", "iss"},
		{"sub impersonation", rs(h, with(c, "sub", "someone@example.com")), ErrInvalidToken, "invalid_grant", "sub"},
		{"aud not a token URL", rs(h, with(c, "aud", "https://push.example.com/oauth2/v4/token")), ErrInvalidToken, "invalid_grant", "aud"},
		{"aud not a URL", rs(h, with(c, "aud", "herald")), ErrInvalidToken, "invalid_grant", "aud"},
		{"no aud", rs(h, with(c, "aud", nil)), ErrInvalidToken, "invalid_grant", "aud"},
		{"aud a number", rs(h, with(c, "aud", 7)), ErrInvalidToken, "invalid_grant", "aud"},
		{"no exp", rs(h, with(c, "exp", nil)), ErrInvalidToken, "invalid_grant", "iat and exp"},
		{"no iat", rs(h, with(c, "iat", nil)), ErrInvalidToken, "invalid_grant", "iat and exp"},
		{"exp a string", rs(h, with(c, "exp", "1893456000")), ErrInvalidToken, "invalid_grant", "numbers"},
		{"exp before iat", rs(h, with(c, "exp", iat-1)), ErrInvalidToken, "invalid_grant", "after iat"},
		{"lifetime over 1h", rs(h, with(c, "exp", iat+3601)), ErrInvalidToken, "invalid_grant", "at most 1h"},
		{"expired", rs(h, with(c, "iat", now.Add(-2*time.Hour).Unix(), "exp", now.Add(-time.Hour).Unix())), ErrExpired, "invalid_grant", "expired"},
		{"expired beyond skew", rs(h, with(c, "iat", now.Add(-time.Hour-61*time.Second).Unix(), "exp", now.Add(-61*time.Second).Unix())), ErrExpired, "invalid_grant", "expired"},
		{"iat in the future", rs(h, with(c, "iat", now.Add(2*time.Minute).Unix(), "exp", now.Add(time.Hour).Unix())), ErrInvalidToken, "invalid_grant", "future"},
		{"no scope", rs(h, with(c, "scope", nil)), ErrInvalidScope, "invalid_scope", ScopeCloudPlatform},
		{"other scopes", rs(h, with(c, "scope", "https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/firebase")), ErrInvalidScope, "invalid_scope", ScopeMessaging},
		{"scope prefix only", rs(h, with(c, "scope", "https://www.googleapis.com/auth/cloud-platform.read-only")), ErrInvalidScope, "invalid_scope", "scope"},
		{"not a JWT", "not-a-jwt", ErrInvalidToken, "invalid_grant", "three"},
		{"four parts", rs(h, c) + ".x", ErrInvalidToken, "invalid_grant", "three"},
		{"padded base64", encodeSegment(t, h) + "=." + encodeSegment(t, c) + ".AA", ErrInvalidToken, "invalid_grant", "base64url"},
		{"header not JSON", "bm90anNvbg." + encodeSegment(t, c) + ".AA", ErrInvalidToken, "invalid_grant", "JSON"},
		{"claims an array", encodeSegment(t, h) + "." + encodeSegment(t, []int{1}) + ".AA", ErrInvalidToken, "invalid_grant", "JSON"},
		{"too long", rs(h, with(c, "pad", strings.Repeat("x", maxAssertionLen))), ErrInvalidToken, "invalid_grant", "bytes long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, _, err := a.Exchange(t.Context(), tt.assertion)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Exchange: %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("Exchange: %v, want %v", err, tt.wantErr)
			case tt.wantErr == nil:
				if _, err := a.Verify(t.Context(), tok); err != nil {
					t.Fatalf("Verify: %v", err)
				}
			}

			got, e, ok := post(t, srv, srv.URL+"/token", "application/x-www-form-urlencoded", form(tt.assertion))
			want := answer{Status: 400, ContentType: "application/json", CacheControl: "no-store", Error: tt.oauth}
			if tt.wantErr == nil {
				want.Status = 200
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s\ndescription: %s", diff, e.Description)
			}
			if tt.wantErr != nil && !strings.Contains(e.Description, tt.mentions) {
				t.Errorf("error_description %q does not mention %q", e.Description, tt.mentions)
			}
			if tt.wantErr == nil {
				if ok.TokenType != "Bearer" || ok.ExpiresIn != 3600 || ok.AccessToken == "" {
					t.Errorf("token response %+v, want a Bearer token for 3600 s", ok)
				}
				if _, err := a.Verify(t.Context(), ok.AccessToken); err != nil {
					t.Errorf("Verify(issued token): %v", err)
				}
			}
		})
	}
}

// TestTokenEndpointRequests checks the OAuth request rules before any
// assertion is looked at.
func TestTokenEndpointRequests(t *testing.T) {
	keys := newKeyMap()
	a, _ := newTestAuthority(t, keys, nil)
	srv := serve(t, a)
	const formType = "application/x-www-form-urlencoded"
	jwtGrant := url.QueryEscape(GrantTypeJWTBearer)

	tests := []struct {
		name, contentType, body string
		status                  int
		oauth, mentions         string
	}{
		{"JSON body", "application/json", `{"grant_type":"x"}`, 400, "invalid_request", "x-www-form-urlencoded"},
		{"no content type", "", "grant_type=" + jwtGrant + "&assertion=x", 400, "invalid_request", "x-www-form-urlencoded"},
		{"charset parameter", formType + "; charset=utf-8", "grant_type=" + jwtGrant + "&assertion=x.y.z", 400, "invalid_grant", "base64url"},
		{"no grant_type", formType, "assertion=x", 400, "invalid_request", "grant_type"},
		{"empty grant_type", formType, "grant_type=&assertion=x", 400, "invalid_request", "grant_type"},
		{"client_credentials", formType, "grant_type=client_credentials&assertion=x", 400, "unsupported_grant_type", GrantTypeJWTBearer},
		{"refresh_token", formType, "grant_type=refresh_token&refresh_token=x", 400, "unsupported_grant_type", GrantTypeJWTBearer},
		{"no assertion", formType, "grant_type=" + jwtGrant, 400, "invalid_request", "assertion"},
		{"repeated assertion", formType, "grant_type=" + jwtGrant + "&assertion=a&assertion=b", 400, "invalid_request", "repeated"},
		{"repeated grant_type", formType, "grant_type=" + jwtGrant + "&grant_type=" + jwtGrant + "&assertion=a", 400, "invalid_request", "repeated"},
		{"bad form", formType, "grant_type=%zz", 400, "invalid_request", "form"},
		{"body too large", formType, "grant_type=" + jwtGrant + "&assertion=" + strings.Repeat("a", maxTokenRequest), 400, "invalid_request", "64 KiB"},
		{"garbage assertion", formType, "grant_type=" + jwtGrant + "&assertion=garbage", 400, "invalid_grant", "JWT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, e, _ := post(t, srv, srv.URL+"/token", tt.contentType, tt.body)
			want := answer{Status: tt.status, ContentType: "application/json", CacheControl: "no-store", Error: tt.oauth}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s\ndescription: %s", diff, e.Description)
			}
			if !strings.Contains(e.Description, tt.mentions) {
				t.Errorf("error_description %q does not mention %q", e.Description, tt.mentions)
			}
		})
	}

	t.Run("assertion in the query string", func(t *testing.T) {
		got, _, _ := post(t, srv, srv.URL+"/token?grant_type="+jwtGrant+"&assertion=x", formType, "")
		if got.Error != "invalid_request" {
			t.Errorf("got %+v, want invalid_request: parameters come from the body only", got)
		}
	})

	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		t.Run(method, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+"/token", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("got %d Allow %q, want 405 Allow POST", resp.StatusCode, resp.Header.Get("Allow"))
			}
		})
	}
}

// TestTokenEndpointStoreFailure: a failing store is the server's fault.
func TestTokenEndpointStoreFailure(t *testing.T) {
	keys := newKeyMap()
	a, _ := newTestAuthority(t, keys, nil)
	srv := serve(t, a)
	acc := newAccount(t, "demo", srv.URL+"/token")
	keys.put(acc.key)
	storeDown := errors.New("disk on fire")
	keys.fail(storeDown)
	assertion := signRS256(t, acc.priv, goodHeader(acc), goodClaims(acc, time.Now()))

	_, _, err := a.Exchange(t.Context(), assertion)
	if !errors.Is(err, storeDown) {
		t.Errorf("Exchange: %v, want the store's error", err)
	}
	for _, s := range []error{ErrInvalidToken, ErrExpired, ErrRevoked, ErrInvalidScope} {
		if errors.Is(err, s) {
			t.Errorf("Exchange: %v wraps %v, want no sentinel", err, s)
		}
	}
	got, e, _ := post(t, srv, srv.URL+"/token", "application/x-www-form-urlencoded", form(assertion))
	want := answer{Status: 500, ContentType: "application/json", CacheControl: "no-store", Error: "server_error"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	if strings.Contains(e.Description, "disk on fire") {
		t.Errorf("error_description %q leaks the internal error", e.Description)
	}
}
