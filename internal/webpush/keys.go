package webpush

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Sizes fixed by RFC 8291 §3.
const (
	// PublicKeyLen is the length of an uncompressed P-256 point: 0x04, then
	// the 32-byte X and Y coordinates.
	PublicKeyLen = 65
	// AuthLen is the length of a subscription's authentication secret.
	AuthLen = 16
)

// ErrInvalidKeys is returned for subscription keys that are not a 65-byte
// uncompressed P-256 point and a 16-byte authentication secret.
var ErrInvalidKeys = errors.New("webpush: invalid subscription keys")

// Keys are the public half of a receiver's subscription: what
// PushSubscription.toJSON() gives as "keys" in a browser. An application
// server needs them, and only them, to encrypt to the receiver.
type Keys struct {
	// P256DH is the receiver's ECDH public key, an uncompressed P-256 point
	// (PublicKeyLen bytes).
	P256DH []byte
	// Auth is the receiver's authentication secret (AuthLen bytes). It is
	// not a key by itself, but whoever knows it and P256DH can send to the
	// receiver, so it is kept like a credential.
	Auth []byte
}

// GenerateKeys creates a new subscription for a receiver: the private key
// it keeps for [Decrypt] and the Keys it hands to application servers.
func GenerateKeys() (*ecdh.PrivateKey, Keys, error) {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, Keys{}, fmt.Errorf("webpush: generating a subscription key: %w", err)
	}
	auth := make([]byte, AuthLen)
	rand.Read(auth) // never fails (crypto/rand, Go 1.24+)
	return priv, Keys{P256DH: priv.PublicKey().Bytes(), Auth: auth}, nil
}

// ParseKeys decodes and validates the "p256dh" and "auth" strings of a
// subscription. Both are base64url; padding is tolerated because some
// application servers store them padded. p256dh must be a point on P-256
// in uncompressed form, and auth must be exactly 16 bytes (RFC 8291 §3.2).
func ParseKeys(p256dh, auth string) (Keys, error) {
	pub, err := decodeURL(p256dh)
	if err != nil {
		return Keys{}, fmt.Errorf("%w: p256dh is not base64url: %v", ErrInvalidKeys, err)
	}
	sec, err := decodeURL(auth)
	if err != nil {
		return Keys{}, fmt.Errorf("%w: auth is not base64url: %v", ErrInvalidKeys, err)
	}
	k := Keys{P256DH: pub, Auth: sec}
	if _, err := k.publicKey(); err != nil {
		return Keys{}, err
	}
	return k, nil
}

// publicKey validates k and returns the receiver's public key.
func (k Keys) publicKey() (*ecdh.PublicKey, error) {
	if len(k.P256DH) != PublicKeyLen {
		return nil, fmt.Errorf("%w: p256dh is %d bytes, want %d", ErrInvalidKeys, len(k.P256DH), PublicKeyLen)
	}
	pub, err := ecdh.P256().NewPublicKey(k.P256DH)
	if err != nil {
		return nil, fmt.Errorf("%w: p256dh is not an uncompressed P-256 point", ErrInvalidKeys)
	}
	if len(k.Auth) != AuthLen {
		return nil, fmt.Errorf("%w: auth is %d bytes, want %d", ErrInvalidKeys, len(k.Auth), AuthLen)
	}
	return pub, nil
}

// keysJSON is the "keys" object of PushSubscription.toJSON().
type keysJSON struct {
	P256DH string `json:"p256dh"`
	Auth   string `json:"auth"`
}

// MarshalJSON writes k as browsers do: {"p256dh":"…","auth":"…"}, unpadded
// base64url.
func (k Keys) MarshalJSON() ([]byte, error) {
	return json.Marshal(keysJSON{
		P256DH: base64.RawURLEncoding.EncodeToString(k.P256DH),
		Auth:   base64.RawURLEncoding.EncodeToString(k.Auth),
	})
}

// UnmarshalJSON reads the browser form and validates it as [ParseKeys]
// does.
func (k *Keys) UnmarshalJSON(b []byte) error {
	var j keysJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidKeys, err)
	}
	parsed, err := ParseKeys(j.P256DH, j.Auth)
	if err != nil {
		return err
	}
	*k = parsed
	return nil
}

// decodeURL decodes base64url, unpadded or correctly padded. Strict
// decoding refuses non-zero trailing bits, and line breaks (which
// encoding/base64 skips) are refused here, so every key has one encoding.
func decodeURL(s string) ([]byte, error) {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return nil, fmt.Errorf("line break at input byte %d", i)
	}
	if strings.HasSuffix(s, "=") {
		return base64.URLEncoding.Strict().DecodeString(s)
	}
	return base64.RawURLEncoding.Strict().DecodeString(s)
}
