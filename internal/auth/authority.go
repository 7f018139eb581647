package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// Sentinel errors wrapped by Exchange and Verify. Every other error they
// return is the server's fault (a store failure, a corrupt stored key).
var (
	// ErrInvalidToken: the assertion or access token is malformed, not
	// signed by a known key, or its claims are wrong.
	ErrInvalidToken = errors.New("invalid token")
	// ErrExpired: the assertion or access token is past its expiry.
	ErrExpired = errors.New("token expired")
	// ErrRevoked: the service-account key was revoked (or no longer exists).
	ErrRevoked = errors.New("key revoked")
	// ErrInvalidScope: the assertion asks for no scope that grants sending.
	ErrInvalidScope = errors.New("invalid scope")
)

// Scopes that grant access to Herald. Google's Go libraries ask for
// cloud-platform (and not firebase.messaging); Node's ask for both.
const (
	ScopeCloudPlatform = "https://www.googleapis.com/auth/cloud-platform"
	ScopeMessaging     = "https://www.googleapis.com/auth/firebase.messaging"
)

// Assertion rules.
const (
	// MaxAssertionLifetime is the most exp may be after iat.
	MaxAssertionLifetime = time.Hour
	// ClockSkew is the tolerance on iat and exp.
	ClockSkew = time.Minute

	maxKeyIDLen = 128
)

// MinSecretSize is the shortest server secret NewAuthority accepts.
const MinSecretSize = 16

// KeyLookup finds a service-account key by id. It returns an error
// wrapping store.ErrNotFound for an unknown id. store.Store satisfies it.
type KeyLookup interface {
	Key(ctx context.Context, id string) (store.Key, error)
}

// Principal is who an access token speaks for: a service-account key of a
// project.
type Principal struct {
	ProjectID string
	KeyID     string
}

// Authority is the OAuth2 authorization server of Herald: it exchanges
// service-account assertions for access tokens (RFC 7523) and verifies
// those tokens. It is safe for concurrent use.
type Authority struct {
	macKey []byte
	keys   KeyLookup
	now    func() time.Time
	log    *slog.Logger
}

// NewAuthority returns an Authority that signs access tokens with a key
// derived from secret (see LoadOrCreateSecret; at least MinSecretSize
// bytes) and finds service-account keys with keys. now is the clock
// (time.Now if nil); log receives one line per refused or failed exchange
// (discarded if nil).
func NewAuthority(secret []byte, keys KeyLookup, now func() time.Time, log *slog.Logger) (*Authority, error) {
	if len(secret) < MinSecretSize {
		return nil, fmt.Errorf("server secret of %d bytes: want at least %d", len(secret), MinSecretSize)
	}
	if keys == nil {
		return nil, errors.New("no key lookup")
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Authority{macKey: deriveMACKey(secret), keys: keys, now: now, log: log}, nil
}

// Exchange checks an RFC 7523 assertion, a JWT signed by a service-account
// key, and issues an access token for that key's project, valid for
// expiresIn. Errors wrap ErrInvalidToken, ErrExpired, ErrRevoked or
// ErrInvalidScope with a description of what to fix; any other error is
// the server's.
func (a *Authority) Exchange(ctx context.Context, assertion string) (accessToken string, expiresIn time.Duration, err error) {
	t, err := parseJWT(assertion)
	if err != nil {
		return "", 0, err
	}
	if err := t.checkHeader(); err != nil {
		return "", 0, err
	}
	key, err := a.assertionKey(ctx, &t)
	if err != nil {
		return "", 0, err
	}
	if key.Revoked {
		return "", 0, fmt.Errorf("%w: service-account key %s was revoked; create a new key for project %s", ErrRevoked, key.ID, key.ProjectID)
	}
	pub, err := publicKey(key)
	if err != nil {
		return "", 0, fmt.Errorf("stored key: %w", err)
	}
	if err := t.verifySignature(pub, key.ID); err != nil {
		return "", 0, err
	}
	if err := checkClaims(&t.claims, key, a.now()); err != nil {
		return "", 0, err
	}
	exp := a.now().Add(AccessTokenTTL).Truncate(time.Second)
	return a.mint(accessClaims{keyID: key.ID, projectID: key.ProjectID, expires: exp}), AccessTokenTTL, nil
}

// Verify checks an access token: its signature, its expiry, and that its
// key still exists and is not revoked. Errors wrap ErrInvalidToken,
// ErrExpired or ErrRevoked; any other error is the server's.
func (a *Authority) Verify(ctx context.Context, accessToken string) (Principal, error) {
	c, err := a.open(accessToken)
	if err != nil {
		return Principal{}, err
	}
	if !a.now().Before(c.expires) {
		return Principal{}, fmt.Errorf("%w: access token expired at %s; get a new one from the token endpoint", ErrExpired, c.expires.UTC().Format(time.RFC3339))
	}
	key, err := a.keys.Key(ctx, c.keyID)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, fmt.Errorf("%w: service-account key %s no longer exists", ErrRevoked, c.keyID)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up key %s: %w", c.keyID, err)
	}
	if key.Revoked {
		return Principal{}, fmt.Errorf("%w: service-account key %s was revoked", ErrRevoked, c.keyID)
	}
	if key.ProjectID != c.projectID {
		return Principal{}, fmt.Errorf("%w: access token names project %q, key %s belongs to %q", ErrInvalidToken, c.projectID, c.keyID, key.ProjectID)
	}
	return Principal{ProjectID: key.ProjectID, KeyID: key.ID}, nil
}

// assertionKey finds the key an assertion names: its kid, else the key id
// that its iss (a client_email) encodes.
func (a *Authority) assertionKey(ctx context.Context, t *jwt) (store.Key, error) {
	id := t.header.Kid
	if id == "" {
		var ok bool
		if id, ok = keyIDFromEmail(t.claims.Iss); !ok {
			return store.Key{}, fmt.Errorf("%w: the JWT has no kid and its iss %q is not a Herald client_email; set kid to private_key_id and iss to client_email from the service-account file", ErrInvalidToken, truncate(t.claims.Iss))
		}
	}
	if len(id) > maxKeyIDLen {
		return store.Key{}, fmt.Errorf("%w: kid is %d bytes long; use private_key_id from the service-account file", ErrInvalidToken, len(id))
	}
	key, err := a.keys.Key(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Key{}, fmt.Errorf("%w: no service-account key %q on this server; use a service-account file this server issued", ErrInvalidToken, truncate(id))
	}
	if err != nil {
		return store.Key{}, fmt.Errorf("look up key %s: %w", truncate(id), err)
	}
	return key, nil
}

// checkClaims applies the assertion rules of docs/api.md §2.
func checkClaims(c *jwtClaims, key store.Key, now time.Time) error {
	if c.Iss != key.ClientEmail {
		return fmt.Errorf("%w: iss is %q; it must be the client_email of key %s, %s", ErrInvalidToken, truncate(c.Iss), key.ID, key.ClientEmail)
	}
	if c.Sub != "" && c.Sub != c.Iss {
		return fmt.Errorf("%w: sub %q asks to act as another account, which is not supported; leave sub out", ErrInvalidToken, truncate(c.Sub))
	}
	if !slices.ContainsFunc(c.Aud, isTokenURL) {
		return fmt.Errorf("%w: aud %q must be the token_uri of the service-account file, a URL with path %s", ErrInvalidToken, truncate(strings.Join(c.Aud, " ")), TokenPath)
	}
	if !c.Iat.set || !c.Exp.set {
		return fmt.Errorf("%w: the JWT needs both iat and exp (seconds since 1970)", ErrInvalidToken)
	}
	iat, exp := time.Unix(c.Iat.unix, 0), time.Unix(c.Exp.unix, 0)
	if !exp.After(iat) {
		return fmt.Errorf("%w: exp (%d) must be after iat (%d)", ErrInvalidToken, c.Exp.unix, c.Iat.unix)
	}
	if life := exp.Sub(iat); life > MaxAssertionLifetime {
		return fmt.Errorf("%w: exp is %v after iat; at most %v is accepted", ErrInvalidToken, life, MaxAssertionLifetime)
	}
	if now.Before(iat.Add(-ClockSkew)) {
		return fmt.Errorf("%w: iat %s is in the future (server time %s); check the client's clock", ErrInvalidToken, iat.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if now.After(exp.Add(ClockSkew)) {
		return fmt.Errorf("%w: the assertion expired at %s (server time %s); sign a new one, and check the client's clock", ErrExpired, exp.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	scopes := strings.Fields(c.Scope)
	if !slices.Contains(scopes, ScopeCloudPlatform) && !slices.Contains(scopes, ScopeMessaging) {
		return fmt.Errorf("%w: scope %q grants nothing here; ask for %s or %s", ErrInvalidScope, truncate(c.Scope), ScopeCloudPlatform, ScopeMessaging)
	}
	return nil
}

// isTokenURL reports whether s is an absolute http(s) URL with path /token.
func isTokenURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Path == TokenPath
}

// truncate bounds how much of a client's value an error message quotes.
func truncate(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
