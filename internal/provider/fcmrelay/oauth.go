package fcmrelay

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/store"
)

// OAuth2 constants of Google's service-account flow.
const (
	// DefaultTokenURI is Google's token endpoint, used when a
	// service-account file has no token_uri.
	DefaultTokenURI = "https://oauth2.googleapis.com/token"
	// Scope is the OAuth2 scope asked for.
	Scope = "https://www.googleapis.com/auth/firebase.messaging"

	grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	// assertionLifetime is exp - iat of an assertion (Google: at most 1 h).
	assertionLifetime = time.Hour
	// refreshBefore: an access token is replaced this long before it
	// expires.
	refreshBefore = 5 * time.Minute
)

// serviceAccount is what the relay reads of a service-account file.
type serviceAccount struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`

	key *rsa.PrivateKey
}

// parseServiceAccount reads and checks a service-account file.
func parseServiceAccount(js []byte) (*serviceAccount, error) {
	var sa serviceAccount
	if err := json.Unmarshal(js, &sa); err != nil {
		return nil, fmt.Errorf("service-account JSON: %w", err)
	}
	if sa.Type != "" && sa.Type != "service_account" {
		return nil, fmt.Errorf("service-account JSON: type %q, want service_account", sa.Type)
	}
	if sa.ProjectID == "" || sa.ClientEmail == "" || sa.PrivateKey == "" {
		return nil, fmt.Errorf("service-account JSON: project_id, client_email and private_key are required")
	}
	if sa.TokenURI == "" {
		sa.TokenURI = DefaultTokenURI
	}
	if u, err := url.Parse(sa.TokenURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("service-account JSON: token_uri is not an http(s) URL")
	}
	block, _ := pem.Decode([]byte(sa.PrivateKey))
	if block == nil {
		return nil, fmt.Errorf("service-account JSON: private_key holds no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if k1, err1 := x509.ParsePKCS1PrivateKey(block.Bytes); err1 == nil {
			k, err = k1, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("service-account JSON: private_key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("service-account JSON: private_key is %T, want RSA", k)
	}
	sa.key = rk
	return &sa, nil
}

// assertion returns the RFC 7523 JWT that asks sa's token endpoint for an
// access token: RS256, kid = private_key_id, iss = client_email, aud =
// token_uri, scope, iat = now, exp = now + 1 h.
func (sa *serviceAccount) assertion(now time.Time) (string, error) {
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid,omitempty"`
	}{"RS256", "JWT", sa.PrivateKeyID})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(struct {
		Iss   string `json:"iss"`
		Scope string `json:"scope"`
		Aud   string `json:"aud"`
		Exp   int64  `json:"exp"`
		Iat   int64  `json:"iat"`
	}{sa.ClientEmail, Scope, sa.TokenURI, now.Add(assertionLifetime).Unix(), now.Unix()})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, sa.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("signing the assertion: %w", err)
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// tokenCache keeps one access token per service account.
type tokenCache struct {
	client *http.Client
	now    func() time.Time

	mu sync.Mutex
	m  map[[32]byte]*tokenEntry
}

type tokenEntry struct {
	used time.Time // the last call of entry for it; guarded by tokenCache.mu
	sa   *serviceAccount
	lock chan struct{} // held while fetching; a channel so that waiting honours ctx
	tok  string
	exp  time.Time
}

func newTokenCache(client *http.Client, now func() time.Time) *tokenCache {
	return &tokenCache{client: client, now: now, m: map[[32]byte]*tokenEntry{}}
}

// entry returns the cache entry of a service-account file, parsing it
// the first time.
func (c *tokenCache) entry(creds store.FCMCredentials) (*tokenEntry, error) {
	k := sha256.Sum256(creds.ServiceAccountJSON)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[k]; e != nil {
		e.used = now
		return e, nil
	}
	for old, e := range c.m {
		if now.Sub(e.used) > 2*time.Hour {
			delete(c.m, old) // a service account no longer in use
		}
	}
	sa, err := parseServiceAccount(creds.ServiceAccountJSON)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", provider.ErrCredentials, err)
	}
	e := &tokenEntry{used: now, sa: sa, lock: make(chan struct{}, 1)}
	c.m[k] = e
	return e, nil
}

// token returns a valid access token of e, fetching one when there is
// none or it expires within refreshBefore.
func (c *tokenCache) token(ctx context.Context, e *tokenEntry) (string, error) {
	select {
	case e.lock <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("fcm: %w", ctx.Err())
	}
	defer func() { <-e.lock }()
	now := c.now()
	if e.tok != "" && e.exp.Sub(now) > refreshBefore {
		return e.tok, nil
	}
	tok, life, err := c.fetch(ctx, e.sa, now)
	if err != nil {
		return "", err
	}
	e.tok, e.exp = tok, now.Add(life)
	return tok, nil
}

// drop forgets tok if it is still e's token.
func (c *tokenCache) drop(e *tokenEntry, tok string) {
	select {
	case e.lock <- struct{}{}:
		if e.tok == tok {
			e.tok = ""
		}
		<-e.lock
	default: // being refreshed already
	}
}

// fetch exchanges an assertion for an access token at the token_uri.
func (c *tokenCache) fetch(ctx context.Context, sa *serviceAccount, now time.Time) (string, time.Duration, error) {
	jwt, err := sa.assertion(now)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", provider.ErrCredentials, err)
	}
	form := url.Values{"grant_type": {grantType}, "assertion": {jwt}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sa.TokenURI, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("%w: token_uri: %v", provider.ErrCredentials, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", 0, fmt.Errorf("fcm: %w", ctx.Err())
		}
		return "", 0, &provider.RetryError{Err: fmt.Errorf("fcm: token endpoint: %w", err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", 0, &provider.RetryError{Err: fmt.Errorf("fcm: token endpoint: %w", err)}
	}
	switch st := resp.StatusCode; {
	case st == http.StatusOK:
	case st == http.StatusTooManyRequests, st >= 500:
		return "", 0, &provider.RetryError{After: provider.RetryAfter(resp.Header, c.now()), Err: fmt.Errorf("fcm: token endpoint answered %d", st)}
	default:
		var oe struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &oe) // the status says enough without it
		return "", 0, fmt.Errorf("%w: token endpoint of %s answered %d %s: %s", provider.ErrCredentials, sa.ClientEmail, st, oe.Error, oe.Description)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return "", 0, &provider.RetryError{Err: fmt.Errorf("fcm: token endpoint answered 200 without an access token")}
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "Bearer") {
		return "", 0, fmt.Errorf("%w: token endpoint gave a %q token, want Bearer", provider.ErrCredentials, tr.TokenType)
	}
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Hour
	}
	return tr.AccessToken, life, nil
}
