package auth

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// keyMap is an in-memory KeyLookup.
type keyMap struct {
	mu   sync.Mutex
	keys map[string]store.Key
	err  error // returned by every lookup when set
}

func newKeyMap(keys ...store.Key) *keyMap {
	m := &keyMap{keys: map[string]store.Key{}}
	for _, k := range keys {
		m.put(k)
	}
	return m
}

func (m *keyMap) Key(_ context.Context, id string) (store.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return store.Key{}, m.err
	}
	k, ok := m.keys[id]
	if !ok {
		return store.Key{}, fmt.Errorf("key %s: %w", id, store.ErrNotFound)
	}
	return k, nil
}

func (m *keyMap) put(k store.Key) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[k.ID] = k
}

func (m *keyMap) revoke(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.keys[id]
	k.Revoked = true
	m.keys[id] = k
}

func (m *keyMap) fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// account is a service account issued by NewServiceAccount, decoded.
type account struct {
	key  store.Key
	json []byte
	sa   ServiceAccount
	priv *rsa.PrivateKey
}

// newAccount issues a service account for project with the given token URI.
func newAccount(t testing.TB, project, tokenURI string) account {
	t.Helper()
	key, js, err := NewServiceAccount(project, tokenURI, time.Now())
	if err != nil {
		t.Fatalf("NewServiceAccount: %v", err)
	}
	var sa ServiceAccount
	if err := json.Unmarshal(js, &sa); err != nil {
		t.Fatalf("service account JSON: %v", err)
	}
	block, _ := pem.Decode([]byte(sa.PrivateKey))
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("private_key is not a PKCS#8 PEM block: %q", sa.PrivateKey)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("private_key: %v", err)
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("private_key is %T, want RSA", k)
	}
	return account{key: key, json: js, sa: sa, priv: priv}
}

// newTestAuthority returns an Authority with a fresh secret.
func newTestAuthority(t testing.TB, keys KeyLookup, now func() time.Time) (*Authority, []byte) {
	t.Helper()
	secret := randomBytes(SecretSize)
	a, err := NewAuthority(secret, keys, now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("NewAuthority: %v", err)
	}
	return a, secret
}

// serve runs the Authority's token endpoint at /token of a test server.
func serve(t testing.TB, a http.Handler) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/token", a)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// encodeSegment is one base64url JWT part of a JSON value.
func encodeSegment(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// signRS256 builds a JWT signed with priv, whatever header says.
func signRS256(t testing.TB, priv *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	in := encodeSegment(t, header) + "." + encodeSegment(t, claims)
	d := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// signHS256 builds a JWT authenticated with HMAC-SHA256 under key.
func signHS256(t testing.TB, key []byte, header, claims map[string]any) string {
	t.Helper()
	in := encodeSegment(t, header) + "." + encodeSegment(t, claims)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// goodClaims are the claims Google's Go library writes, at now.
func goodClaims(acc account, now time.Time) map[string]any {
	iat := now.Add(-10 * time.Second).Unix()
	return map[string]any{
		"iss":   acc.sa.ClientEmail,
		"scope": ScopeCloudPlatform + " https://www.googleapis.com/auth/userinfo.email",
		"aud":   acc.sa.TokenURI,
		"iat":   iat,
		"exp":   iat + 3600,
	}
}

// goodHeader is the header Google's Go library writes.
func goodHeader(acc account) map[string]any {
	return map[string]any{"alg": "RS256", "typ": "JWT", "kid": acc.sa.PrivateKeyID}
}
