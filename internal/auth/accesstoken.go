package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// Access tokens are self-contained: the key id, the project id and the
// expiry, authenticated with HMAC-SHA256 under a key derived from the
// server secret. Any server holding the same secret (the same data
// directory) accepts them; Verify still looks the key up, so revoking it
// ends its tokens at once.
//
//	token   = "hat1." base64url(payload || mac)
//	payload = version(1) expiry(8, unix seconds, big endian) nonce(12)
//	          len(keyID)(1) keyID projectID
//	mac     = HMAC-SHA256(HMAC-SHA256(secret, macLabel), "hat1." || payload)
const (
	// AccessTokenTTL is the lifetime of an access token.
	AccessTokenTTL = time.Hour

	accessPrefix   = "hat1."
	accessVersion  = 1
	accessNonce    = 12
	accessFixed    = 1 + 8 + accessNonce + 1
	maxAccessToken = 1024 // characters; real tokens are about 200
	macLabel       = "herald auth: access token MAC key v1"
)

// accessClaims is what an access token says.
type accessClaims struct {
	keyID, projectID string
	expires          time.Time // whole seconds
}

// deriveMACKey separates the access-token key from the server secret, so
// the secret may serve other purposes under other labels.
func deriveMACKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(macLabel))
	return m.Sum(nil)
}

// mac authenticates a payload.
func (a *Authority) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, a.macKey)
	m.Write([]byte(accessPrefix))
	m.Write(payload)
	return m.Sum(nil)
}

// mint issues an access token. The key id must be at most 255 bytes.
func (a *Authority) mint(c accessClaims) string {
	p := make([]byte, 0, accessFixed+len(c.keyID)+len(c.projectID)+sha256.Size)
	p = append(p, accessVersion)
	p = binary.BigEndian.AppendUint64(p, uint64(c.expires.Unix()))
	p = append(p, randomBytes(accessNonce)...)
	p = append(p, byte(len(c.keyID)))
	p = append(p, c.keyID...)
	p = append(p, c.projectID...)
	p = append(p, a.mac(p)...)
	return accessPrefix + base64.RawURLEncoding.EncodeToString(p)
}

// open authenticates an access token and returns its claims. It does not
// check the expiry.
func (a *Authority) open(token string) (accessClaims, error) {
	body, ok := strings.CutPrefix(token, accessPrefix)
	if !ok || len(token) > maxAccessToken {
		return accessClaims{}, fmt.Errorf("%w: not a Herald access token; get one from the token endpoint", ErrInvalidToken)
	}
	b, err := jwtEncoding.DecodeString(body) // strict: one encoding per token
	if err != nil || len(b) < accessFixed+sha256.Size {
		return accessClaims{}, fmt.Errorf("%w: malformed access token", ErrInvalidToken)
	}
	payload, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if !hmac.Equal(sum, a.mac(payload)) {
		return accessClaims{}, fmt.Errorf("%w: access token signature does not match (altered, or issued by a server with another secret)", ErrInvalidToken)
	}
	// Authentic from here on: the layout was written by mint.
	if payload[0] != accessVersion {
		return accessClaims{}, fmt.Errorf("%w: access token version %d is not supported", ErrInvalidToken, payload[0])
	}
	exp := int64(binary.BigEndian.Uint64(payload[1:9]))
	n := int(payload[accessFixed-1])
	rest := payload[accessFixed:]
	if n > len(rest) {
		return accessClaims{}, fmt.Errorf("%w: malformed access token", ErrInvalidToken)
	}
	return accessClaims{
		keyID:     string(rest[:n]),
		projectID: string(rest[n:]),
		expires:   time.Unix(exp, 0),
	}, nil
}
