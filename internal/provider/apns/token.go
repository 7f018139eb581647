package apns

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"sync"
	"time"

	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/store"
)

// TokenLifetime is how long a provider token is reused. Apple refuses
// tokens older than an hour (ExpiredProviderToken) and new tokens more
// often than every 20 minutes (TooManyProviderTokenUpdates).
const TokenLifetime = 50 * time.Minute

// tokenCache keeps one provider token per signing key.
type tokenCache struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[[32]byte]*signer
}

type signer struct {
	key   *ecdsa.PrivateKey
	token string
	iat   time.Time
}

func newTokenCache(now func() time.Time) *tokenCache {
	return &tokenCache{now: now, m: map[[32]byte]*signer{}}
}

func cacheKey(c store.APNsCredentials) [32]byte {
	return sha256.Sum256([]byte(c.TeamID + "\x00" + c.KeyID + "\x00" + c.KeyPEM))
}

// get returns the key's current token, signing a new one when there is
// none or it is TokenLifetime old.
func (c *tokenCache) get(creds store.APNsCredentials) (string, error) {
	k := cacheKey(creds)
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.m[k]
	if s == nil {
		key, err := ParseKey(creds.KeyPEM)
		if err != nil {
			return "", fmt.Errorf("%w: key %s: %w", provider.ErrCredentials, creds.KeyID, err)
		}
		// A key whose token is two lifetimes old is no longer in use (a
		// rotated key): forget it.
		for old, o := range c.m {
			if c.now().Sub(o.iat) > 2*TokenLifetime {
				delete(c.m, old)
			}
		}
		s = &signer{key: key}
		c.m[k] = s
	}
	now := c.now()
	if s.token != "" && now.Sub(s.iat) < TokenLifetime && !now.Before(s.iat) {
		return s.token, nil
	}
	tok, err := SignToken(s.key, creds.KeyID, creds.TeamID, now)
	if err != nil {
		return "", fmt.Errorf("%w: key %s: %w", provider.ErrCredentials, creds.KeyID, err)
	}
	s.token, s.iat = tok, now
	return tok, nil
}

// drop forgets tok if it is still the key's current token.
func (c *tokenCache) drop(creds store.APNsCredentials, tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.m[cacheKey(creds)]; s != nil && s.token == tok {
		s.token = ""
	}
}

// ParseKey reads a .p8 file: a PEM "PRIVATE KEY" holding a PKCS #8 ECDSA
// P-256 key.
func ParseKey(keyPEM string) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", errNoKey)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoKey, err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: not an ECDSA P-256 key", errNoKey)
	}
	return ec, nil
}

// SignToken returns a provider token: a JWT with header {"alg":"ES256",
// "kid":keyID} and claims {"iss":teamID,"iat":now}, signed with key.
func SignToken(key *ecdsa.PrivateKey, keyID, teamID string, now time.Time) (string, error) {
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}{"ES256", keyID})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(struct {
		Iss string `json:"iss"`
		Iat int64  `json:"iat"`
	}{teamID, now.Unix()})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", fmt.Errorf("signing the provider token: %w", err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + enc.EncodeToString(sig), nil
}
