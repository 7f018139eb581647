package auth

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// TestGoogleClientLibrary gets access tokens with Google's own client
// library, exactly as an app server holding the service-account file would,
// and checks that Verify accepts them until the key is revoked.
func TestGoogleClientLibrary(t *testing.T) {
	keys := newKeyMap()
	a, _ := newTestAuthority(t, keys, nil)
	srv := serve(t, a)
	acc := newAccount(t, "demo", srv.URL+"/token")
	keys.put(acc.key)
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, srv.Client())
	want := Principal{ProjectID: "demo", KeyID: acc.key.ID}

	creds, err := google.CredentialsFromJSON(ctx, acc.json, ScopeCloudPlatform)
	if err != nil {
		t.Fatalf("CredentialsFromJSON: %v", err)
	}
	if creds.ProjectID != "demo" {
		t.Errorf("ProjectID = %q, want demo", creds.ProjectID)
	}
	tok, err := creds.TokenSource.Token()
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if tok.Type() != "Bearer" {
		t.Errorf("token type %q, want Bearer", tok.Type())
	}
	if life := time.Until(tok.Expiry); life < 59*time.Minute || life > time.Hour {
		t.Errorf("token expires in %v, want about 1h", life)
	}
	got, err := a.Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Verify (-want +got):\n%s", diff)
	}

	t.Run("firebase.messaging scope, no kid", func(t *testing.T) {
		cfg, err := google.JWTConfigFromJSON(acc.json, ScopeMessaging)
		if err != nil {
			t.Fatal(err)
		}
		cfg.PrivateKeyID = "" // the key is found from iss = client_email
		tok, err := cfg.TokenSource(ctx).Token()
		if err != nil {
			t.Fatalf("Token: %v", err)
		}
		got, err := a.Verify(ctx, tok.AccessToken)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Verify (-want +got):\n%s", diff)
		}
	})

	t.Run("scope that grants nothing", func(t *testing.T) {
		creds, err := google.CredentialsFromJSON(ctx, acc.json, "https://www.googleapis.com/auth/userinfo.email")
		if err != nil {
			t.Fatal(err)
		}
		_, err = creds.TokenSource.Token()
		checkRetrieveError(t, err, "invalid_scope", ScopeCloudPlatform)
	})

	t.Run("revoked", func(t *testing.T) {
		keys.revoke(acc.key.ID)
		if _, err := a.Verify(ctx, tok.AccessToken); !errors.Is(err, ErrRevoked) {
			t.Errorf("Verify after revocation: %v, want ErrRevoked", err)
		}
		creds, err := google.CredentialsFromJSON(ctx, acc.json, ScopeCloudPlatform)
		if err != nil {
			t.Fatal(err)
		}
		_, err = creds.TokenSource.Token()
		checkRetrieveError(t, err, "invalid_grant", "revoked")
	})
}

// checkRetrieveError checks the OAuth error Google's library reports.
func checkRetrieveError(t *testing.T, err error, code, inDescription string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want an oauth2.RetrieveError", err)
	}
	// The JWT flow leaves the body unparsed.
	var body ErrorResponse
	if err := json.Unmarshal(re.Body, &body); err != nil {
		t.Fatalf("error body %q: %v", re.Body, err)
	}
	if re.Response.StatusCode != 400 || body.Error != code {
		t.Errorf("got %d %q, want 400 %q", re.Response.StatusCode, body.Error, code)
	}
	if !strings.Contains(body.Description, inDescription) {
		t.Errorf("error_description %q does not mention %q", body.Description, inDescription)
	}
}

// exchangeAt gets an access token with an assertion made at the clock's time.
func exchangeAt(t *testing.T, a *Authority, acc account, now time.Time) string {
	t.Helper()
	tok, expiresIn, err := a.Exchange(t.Context(), signRS256(t, acc.priv, goodHeader(acc), goodClaims(acc, now)))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if expiresIn != AccessTokenTTL {
		t.Errorf("expiresIn = %v, want %v", expiresIn, AccessTokenTTL)
	}
	return tok
}

func TestAccessTokenExpiry(t *testing.T) {
	acc := newAccount(t, "demo", "https://push.example.com/token")
	clk := newClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	a, _ := newTestAuthority(t, newKeyMap(acc.key), clk.Now)
	tok := exchangeAt(t, a, acc, clk.Now())

	clk.Advance(AccessTokenTTL - time.Second)
	if _, err := a.Verify(t.Context(), tok); err != nil {
		t.Fatalf("Verify 1s before expiry: %v", err)
	}
	clk.Advance(time.Second)
	if _, err := a.Verify(t.Context(), tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("Verify at expiry: %v, want ErrExpired", err)
	}
}

func TestAccessTokenSurvivesRestart(t *testing.T) {
	acc := newAccount(t, "demo", "https://push.example.com/token")
	keys := newKeyMap(acc.key)
	a, secret := newTestAuthority(t, keys, nil)
	tok := exchangeAt(t, a, acc, time.Now())

	restarted, err := NewAuthority(secret, keys, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := restarted.Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("Verify after restart: %v", err)
	}
	if diff := cmp.Diff(Principal{ProjectID: "demo", KeyID: acc.key.ID}, got); diff != "" {
		t.Errorf("Verify (-want +got):\n%s", diff)
	}

	other, _ := newTestAuthority(t, keys, nil)
	if _, err := other.Verify(t.Context(), tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify with another secret: %v, want ErrInvalidToken", err)
	}
}

func TestAccessTokenTampered(t *testing.T) {
	acc := newAccount(t, "demo", "https://push.example.com/token")
	keys := newKeyMap(acc.key)
	a, _ := newTestAuthority(t, keys, nil)
	tok := exchangeAt(t, a, acc, time.Now())

	// Every single-character change is refused.
	for i := range len(tok) {
		for _, c := range []byte{'A', '_', '.'} {
			if tok[i] == c {
				continue
			}
			bad := tok[:i] + string(c) + tok[i+1:]
			if _, err := a.Verify(t.Context(), bad); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify(token with %q at %d): %v, want ErrInvalidToken", c, i, err)
			}
		}
	}
	for name, bad := range map[string]string{
		"empty":        "",
		"prefix only":  accessPrefix,
		"truncated":    tok[:len(tok)-1],
		"shortened":    tok[:len(tok)/2],
		"extended":     tok + "AA",
		"other scheme": "ya29." + tok[len(accessPrefix):],
		"huge":         accessPrefix + strings.Repeat("A", 4096),
		"padded":       tok + "=",
	} {
		if _, err := a.Verify(t.Context(), bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Verify(%s): %v, want ErrInvalidToken", name, err)
		}
	}
}

func TestVerifyChecksTheKey(t *testing.T) {
	acc := newAccount(t, "demo", "https://push.example.com/token")
	keys := newKeyMap(acc.key)
	a, secret := newTestAuthority(t, keys, nil)
	tok := exchangeAt(t, a, acc, time.Now())

	moved := acc.key
	moved.ProjectID = "other"
	keys.put(moved)
	if _, err := a.Verify(t.Context(), tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify with the key in another project: %v, want ErrInvalidToken", err)
	}

	b, err := NewAuthority(secret, newKeyMap(), nil, nil) // a store without the key
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(t.Context(), tok); !errors.Is(err, ErrRevoked) {
		t.Errorf("Verify with the key gone from the store: %v, want ErrRevoked", err)
	}

	storeDown := errors.New("disk on fire")
	keys.put(acc.key)
	keys.fail(storeDown)
	if _, err := a.Verify(t.Context(), tok); !errors.Is(err, storeDown) || errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrRevoked) {
		t.Errorf("Verify with a failing store: %v, want the store's error and no sentinel", err)
	}
}

func TestNewAuthorityRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		secret []byte
		keys   KeyLookup
	}{
		"no secret":    {nil, newKeyMap()},
		"short secret": {make([]byte, MinSecretSize-1), newKeyMap()},
		"no keys":      {make([]byte, SecretSize), nil},
	} {
		if a, err := NewAuthority(tc.secret, tc.keys, nil, nil); err == nil {
			t.Errorf("%s: NewAuthority = %v, want an error", name, a)
		}
	}
}
