package auth

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxAssertionLen bounds the JWTs the token endpoint reads. Google's
// assertions are under 1 KiB.
const maxAssertionLen = 8 << 10

// jwtEncoding is the JWS base64url: no padding, and strict, so that a
// signature has exactly one encoding.
var jwtEncoding = base64.RawURLEncoding.Strict()

// jwt is a JWS compact serialization, split and decoded but not verified.
type jwt struct {
	header       jwtHeader
	claims       jwtClaims
	signingInput string // base64url(header) "." base64url(claims)
	signature    []byte
}

// jwtHeader is the JOSE header of an assertion.
type jwtHeader struct {
	Alg  string   `json:"alg"`
	Typ  string   `json:"typ"`
	Kid  string   `json:"kid"`
	Crit []string `json:"crit"`
}

// jwtClaims are the claims of an RFC 7523 assertion as Google's client
// libraries write them.
type jwtClaims struct {
	Iss   string      `json:"iss"`
	Sub   string      `json:"sub"`
	Aud   audience    `json:"aud"`
	Scope string      `json:"scope"`
	Iat   numericDate `json:"iat"`
	Exp   numericDate `json:"exp"`
}

// audience is the "aud" claim: one string or an array of strings (RFC 7519
// §4.1.3).
type audience []string

// UnmarshalJSON accepts a string or an array of strings.
func (a *audience) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("aud must be a string or an array of strings")
	}
	*a = list
	return nil
}

// numericDate is a JWT NumericDate: seconds since the epoch, possibly with
// a fraction, which is dropped.
type numericDate struct {
	unix int64
	set  bool
}

// UnmarshalJSON accepts a JSON number in the range of ±2^53 seconds.
func (d *numericDate) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) == 0 || b[0] == '"' {
		return errors.New("iat and exp must be numbers of seconds since 1970")
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.Abs(f) > 1<<53 {
		return errors.New("iat and exp must be numbers of seconds since 1970")
	}
	*d = numericDate{unix: int64(math.Floor(f)), set: true}
	return nil
}

// parseJWT splits and decodes a compact JWS. It checks the syntax only:
// neither the algorithm, the signature nor the claims.
func parseJWT(s string) (jwt, error) {
	if len(s) > maxAssertionLen {
		return jwt{}, fmt.Errorf("%w: the assertion is %d bytes long, more than %d", ErrInvalidToken, len(s), maxAssertionLen)
	}
	h, rest, ok1 := strings.Cut(s, ".")
	c, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig, ".") {
		return jwt{}, fmt.Errorf("%w: the assertion is not a JWT: want three base64url parts separated by '.'", ErrInvalidToken)
	}
	var t jwt
	hb, err := jwtEncoding.DecodeString(h)
	if err != nil {
		return jwt{}, fmt.Errorf("%w: JWT header is not unpadded base64url: %v", ErrInvalidToken, err)
	}
	if err := json.Unmarshal(hb, &t.header); err != nil {
		return jwt{}, fmt.Errorf("%w: JWT header is not a JSON object with string members alg, typ, kid: %v", ErrInvalidToken, err)
	}
	cb, err := jwtEncoding.DecodeString(c)
	if err != nil {
		return jwt{}, fmt.Errorf("%w: JWT claims are not unpadded base64url: %v", ErrInvalidToken, err)
	}
	if err := json.Unmarshal(cb, &t.claims); err != nil {
		return jwt{}, fmt.Errorf("%w: JWT claims are not a JSON object with iss, aud, scope, iat, exp: %v", ErrInvalidToken, err)
	}
	if t.signature, err = jwtEncoding.DecodeString(sig); err != nil {
		return jwt{}, fmt.Errorf("%w: JWT signature is not unpadded base64url: %v", ErrInvalidToken, err)
	}
	t.signingInput = s[:len(h)+1+len(c)]
	return t, nil
}

// checkHeader accepts RS256 JWTs without critical extensions.
func (t *jwt) checkHeader() error {
	if t.header.Alg != "RS256" {
		return fmt.Errorf("%w: JWT alg is %q; only RS256 is accepted: sign with the service account's RSA private key", ErrInvalidToken, t.header.Alg)
	}
	if t.header.Typ != "" && !strings.EqualFold(t.header.Typ, "JWT") {
		return fmt.Errorf("%w: JWT typ is %q, want JWT", ErrInvalidToken, t.header.Typ)
	}
	if len(t.header.Crit) > 0 {
		return fmt.Errorf("%w: JWT header has critical extensions %q, which are not supported", ErrInvalidToken, t.header.Crit)
	}
	if len(t.signature) == 0 {
		return fmt.Errorf("%w: the JWT is not signed", ErrInvalidToken)
	}
	return nil
}

// verifySignature checks the RS256 signature with pub.
func (t *jwt) verifySignature(pub *rsa.PublicKey, keyID string) error {
	digest := sha256.Sum256([]byte(t.signingInput))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], t.signature); err != nil {
		return fmt.Errorf("%w: the JWT signature does not verify with key %s: sign with that key's private_key from the service-account file", ErrInvalidToken, keyID)
	}
	return nil
}
