package webpush

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The errors of [VerifyVAPID]. RFC 8292 §4.2 asks a push service to answer
// 401 for a message to a restricted subscription without VAPID and 403 (or
// 401, as autopush does) for one with invalid VAPID.
var (
	// ErrNoVAPID: no Authorization header, or one of another scheme.
	ErrNoVAPID = errors.New("webpush: no VAPID authorization")
	// ErrInvalidVAPID: a vapid (or legacy WebPush) authorization that does
	// not hold: malformed, badly signed, for another origin, expired, too
	// long-lived or without a contact.
	ErrInvalidVAPID = errors.New("webpush: invalid VAPID authorization")
)

const (
	// MaxVAPIDLifetime is how far in the future a token's exp may lie
	// (RFC 8292 §2: "MUST NOT be more than 24 hours from the time of the
	// request"). Senders commonly use 12 hours.
	MaxVAPIDLifetime = 24 * time.Hour
	// vapidSkew is the clock difference tolerated where a sender's clock
	// running ahead would otherwise fail a valid token: on the 24-hour
	// bound and on nbf. An exp in the past is never tolerated.
	vapidSkew = time.Minute
	// maxAuthorizationLen bounds the header VerifyVAPID reads; real ones are
	// about 250 bytes.
	maxAuthorizationLen = 4 << 10
)

// GenerateVAPIDKey creates an application server's long-lived VAPID
// signing key (ECDSA P-256). Its public key is what browsers take as
// applicationServerKey to restrict a subscription to this server.
func GenerateVAPIDKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("webpush: generating a VAPID key: %w", err)
	}
	return key, nil
}

// EncodeVAPIDKey returns a VAPID key in the format of npm web-push's
// generate-vapid-keys: the 65-byte uncompressed public key and the 32-byte
// private scalar, both unpadded base64url.
func EncodeVAPIDKey(key *ecdsa.PrivateKey) (public, private string, err error) {
	if err := checkP256(key); err != nil {
		return "", "", err
	}
	pub, err := key.PublicKey.Bytes()
	if err != nil {
		return "", "", fmt.Errorf("webpush: VAPID public key: %w", err)
	}
	priv, err := key.Bytes()
	if err != nil {
		return "", "", fmt.Errorf("webpush: VAPID private key: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(pub), base64.RawURLEncoding.EncodeToString(priv), nil
}

// ParseVAPIDKey reads a private key written by [EncodeVAPIDKey] (or by
// web-push generate-vapid-keys): 32 bytes of base64url.
func ParseVAPIDKey(private string) (*ecdsa.PrivateKey, error) {
	b, err := decodeURL(private)
	if err != nil {
		return nil, fmt.Errorf("webpush: VAPID private key is not base64url: %w", err)
	}
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), b)
	if err != nil {
		return nil, fmt.Errorf("webpush: VAPID private key is not a P-256 scalar (%d bytes)", len(b))
	}
	return key, nil
}

// vapidHeader is the JOSE header SignVAPID writes, in the member order npm
// web-push uses.
const vapidHeader = `{"typ":"JWT","alg":"ES256"}`

// vapidClaims are the claims of RFC 8292 §2.
type vapidClaims struct {
	Aud string `json:"aud"`
	Exp int64  `json:"exp"`
	Sub string `json:"sub"`
}

// SignVAPID returns the Authorization header value that identifies the
// application server holding key to a push service (RFC 8292 §3):
//
//	vapid t=<JWT>, k=<base64url uncompressed public key>
//
// The JWT is ES256-signed with the claims aud (the origin of audience,
// which may be the push resource URL itself: the token is valid for every
// endpoint of that origin), exp, and sub, the contact address push service
// operators may use, which must be a mailto: or https: URI. exp should be
// at most [MaxVAPIDLifetime] ahead of the time the message is sent; the
// token can be reused until then.
func SignVAPID(key *ecdsa.PrivateKey, audience, subject string, exp time.Time) (string, error) {
	if err := checkP256(key); err != nil {
		return "", err
	}
	aud, err := Origin(audience)
	if err != nil {
		return "", err
	}
	if err := checkSubject(subject); err != nil {
		return "", fmt.Errorf("webpush: %w", err)
	}
	if exp.IsZero() {
		return "", errors.New("webpush: VAPID exp is the zero time")
	}
	claims, err := json.Marshal(vapidClaims{Aud: aud, Exp: exp.Unix(), Sub: subject})
	if err != nil {
		return "", fmt.Errorf("webpush: VAPID claims: %w", err)
	}
	input := base64.RawURLEncoding.EncodeToString([]byte(vapidHeader)) + "." + base64.RawURLEncoding.EncodeToString(claims)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", fmt.Errorf("webpush: signing the VAPID token: %w", err)
	}
	// JWS ES256 (RFC 7518 §3.4) is r and s as two 32-byte big-endian
	// numbers, not the DER SEQUENCE that X.509 uses.
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	pub, err := key.PublicKey.Bytes()
	if err != nil {
		return "", fmt.Errorf("webpush: VAPID public key: %w", err)
	}
	return "vapid t=" + input + "." + base64.RawURLEncoding.EncodeToString(sig) +
		", k=" + base64.RawURLEncoding.EncodeToString(pub), nil
}

// VerifyVAPID checks the VAPID authorization of a push message sent to a
// push resource whose origin is origin (scheme://host[:port]; a full URL is
// reduced to its origin), and returns the application server's public key
// (65 bytes, uncompressed) for comparison with the key a restricted
// subscription was created with (which is the caller's job, with
// crypto/subtle).
//
// authorization is the Authorization header, in the form of RFC 8292 §3,
// "vapid t=<JWT>, k=<key>" (scheme case-insensitive, parameters in any
// order, unknown ones ignored), or in the older form that npm web-push
// still sends for the aesgcm encoding and autopush still accepts,
// "WebPush <JWT>", with the key in cryptoKey, the Crypto-Key header
// ("p256ecdsa=<key>", possibly among other parameters). cryptoKey is
// ignored for the vapid scheme. The key is accepted in base64url or
// standard base64, padded or not, as autopush does, because real senders
// get this wrong.
//
// The token must be an ES256 JWS whose signature (64 bytes, r||s)
// verifies with the key; its aud must be origin; its exp must be after now
// and at most [MaxVAPIDLifetime] (plus a minute of clock skew) after it;
// an nbf, if present, must not be in the future; and sub must be a mailto:
// or https: URI (RFC 8292 says SHOULD; npm web-push and webpush-go always
// send one). Claims are only looked at once the signature holds.
//
// The error wraps [ErrNoVAPID] when there is no VAPID authorization at all
// and [ErrInvalidVAPID] otherwise; its message says which check failed.
func VerifyVAPID(authorization, cryptoKey, origin string, now time.Time) ([]byte, error) {
	want, err := Origin(origin)
	if err != nil {
		return nil, fmt.Errorf("webpush: the push service origin: %w", err)
	}
	if strings.TrimSpace(authorization) == "" {
		return nil, fmt.Errorf("%w: no Authorization header", ErrNoVAPID)
	}
	if len(authorization) > maxAuthorizationLen || len(cryptoKey) > maxAuthorizationLen {
		return nil, fmt.Errorf("%w: header longer than %d bytes", ErrInvalidVAPID, maxAuthorizationLen)
	}
	// encoding/base64 skips line breaks; a header field never has them.
	if strings.ContainsAny(authorization, "\r\n") || strings.ContainsAny(cryptoKey, "\r\n") {
		return nil, fmt.Errorf("%w: line break in the header", ErrInvalidVAPID)
	}
	scheme, rest, _ := strings.Cut(strings.TrimLeft(authorization, " \t"), " ")
	var token, key string
	switch {
	case strings.EqualFold(scheme, "vapid"):
		token, key, err = vapidParams(rest)
	case strings.EqualFold(scheme, "WebPush"):
		token = strings.TrimSpace(rest)
		key, err = cryptoKeyParam(cryptoKey)
	default:
		return nil, fmt.Errorf("%w: Authorization scheme %q is not vapid", ErrNoVAPID, truncate(scheme))
	}
	if err != nil {
		return nil, err
	}
	pubBytes, pub, err := parseVAPIDPublic(key)
	if err != nil {
		return nil, err
	}
	claims, err := verifyES256(token, pub)
	if err != nil {
		return nil, err
	}
	if err := claims.check(want, now); err != nil {
		return nil, err
	}
	return pubBytes, nil
}

// vapidParams splits the auth-params of the vapid scheme (RFC 7235
// name=value pairs separated by commas) and returns t and k.
func vapidParams(s string) (token, key string, err error) {
	var haveT, haveK bool
	for p := range strings.SplitSeq(s, ",") {
		p = strings.Trim(p, " \t")
		if p == "" {
			continue
		}
		name, value, ok := strings.Cut(p, "=")
		if !ok {
			return "", "", fmt.Errorf("%w: parameter %q has no value", ErrInvalidVAPID, truncate(p))
		}
		name = strings.ToLower(strings.Trim(name, " \t"))
		value = unquote(strings.Trim(value, " \t"))
		switch name {
		case "t":
			if haveT {
				return "", "", fmt.Errorf("%w: two t parameters", ErrInvalidVAPID)
			}
			token, haveT = value, true
		case "k":
			if haveK {
				return "", "", fmt.Errorf("%w: two k parameters", ErrInvalidVAPID)
			}
			key, haveK = value, true
		}
	}
	if !haveT {
		return "", "", fmt.Errorf("%w: no t parameter (the JWT)", ErrInvalidVAPID)
	}
	if !haveK {
		return "", "", fmt.Errorf("%w: no k parameter (the public key)", ErrInvalidVAPID)
	}
	return token, key, nil
}

// cryptoKeyParam finds p256ecdsa in a Crypto-Key header, whose parameters
// are separated by ";" (and several keys by ",").
func cryptoKeyParam(h string) (string, error) {
	for p := range strings.FieldsFuncSeq(h, func(r rune) bool { return r == ';' || r == ',' }) {
		name, value, _ := strings.Cut(strings.Trim(p, " \t"), "=")
		if strings.EqualFold(strings.Trim(name, " \t"), "p256ecdsa") {
			return unquote(strings.Trim(value, " \t")), nil
		}
	}
	return "", fmt.Errorf("%w: the WebPush scheme needs the key in Crypto-Key: p256ecdsa=…", ErrInvalidVAPID)
}

// unquote removes the quotes of an RFC 7230 quoted-string. JWTs and base64
// never need escapes, so none are interpreted.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// parseVAPIDPublic decodes k: base64url or standard base64, padded or not,
// of an uncompressed P-256 point.
func parseVAPIDPublic(k string) ([]byte, *ecdsa.PublicKey, error) {
	k = strings.NewReplacer("+", "-", "/", "_").Replace(strings.TrimRight(k, "="))
	b, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: k is not base64", ErrInvalidVAPID)
	}
	if len(b) != PublicKeyLen {
		return nil, nil, fmt.Errorf("%w: k is %d bytes, want %d (an uncompressed P-256 point)", ErrInvalidVAPID, len(b), PublicKeyLen)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), b)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: k is not an uncompressed P-256 point", ErrInvalidVAPID)
	}
	return b, pub, nil
}

// tokenClaims are the claims VerifyVAPID reads, kept raw so that types are
// checked precisely (a NumericDate is a JSON number, not a string).
type tokenClaims struct {
	Aud json.RawMessage `json:"aud"`
	Exp json.RawMessage `json:"exp"`
	Nbf json.RawMessage `json:"nbf"`
	Sub json.RawMessage `json:"sub"`
}

// verifyES256 checks the JWS compact serialization token (RFC 7515 §7.1)
// with pub and returns its claims, which are not decoded before the
// signature holds.
func verifyES256(token string, pub *ecdsa.PublicKey) (*tokenClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: t has %d dot-separated parts, a JWS has 3", ErrInvalidVAPID, len(parts))
	}
	enc := base64.RawURLEncoding.Strict()
	rawHeader, err := enc.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("%w: JWT header is not base64url", ErrInvalidVAPID)
	}
	var header struct {
		Alg  string          `json:"alg"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(rawHeader, &header); err != nil {
		return nil, fmt.Errorf("%w: JWT header is not a JSON object", ErrInvalidVAPID)
	}
	if header.Alg != "ES256" {
		return nil, fmt.Errorf("%w: JWT alg %q, want ES256", ErrInvalidVAPID, truncate(header.Alg))
	}
	if header.Crit != nil {
		return nil, fmt.Errorf("%w: JWT header has crit extensions, which VAPID does not define", ErrInvalidVAPID)
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("%w: JWT signature is not base64url", ErrInvalidVAPID)
	}
	if len(sig) != 64 {
		return nil, fmt.Errorf("%w: JWT signature is %d bytes, want 64 (ES256 is r||s, not DER)", ErrInvalidVAPID, len(sig))
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return nil, fmt.Errorf("%w: JWT signature does not verify with k", ErrInvalidVAPID)
	}
	rawClaims, err := enc.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: JWT claims are not base64url", ErrInvalidVAPID)
	}
	var c tokenClaims
	if err := json.Unmarshal(rawClaims, &c); err != nil {
		return nil, fmt.Errorf("%w: JWT claims are not a JSON object", ErrInvalidVAPID)
	}
	return &c, nil
}

// check applies RFC 8292 §2 to verified claims.
func (c *tokenClaims) check(origin string, now time.Time) error {
	var auds []string
	if err := json.Unmarshal(c.Aud, &auds); err != nil {
		var one string
		if err := json.Unmarshal(c.Aud, &one); err != nil {
			return fmt.Errorf("%w: no aud claim (a string: the push service's origin)", ErrInvalidVAPID)
		}
		auds = []string{one}
	}
	if !slices.ContainsFunc(auds, func(a string) bool { return audOrigin(a) == origin }) {
		return fmt.Errorf("%w: aud %q is not this push service's origin %q", ErrInvalidVAPID, truncate(strings.Join(auds, " ")), origin)
	}

	if c.Exp == nil {
		return fmt.Errorf("%w: no exp claim", ErrInvalidVAPID)
	}
	exp, err := numericDate(c.Exp)
	if err != nil {
		return fmt.Errorf("%w: exp: %v", ErrInvalidVAPID, err)
	}
	if !exp.After(now) {
		return fmt.Errorf("%w: expired at %s, now is %s", ErrInvalidVAPID, exp.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if exp.Sub(now) > MaxVAPIDLifetime+vapidSkew {
		return fmt.Errorf("%w: exp %s is more than 24h after now (%s)", ErrInvalidVAPID, exp.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if c.Nbf != nil {
		nbf, err := numericDate(c.Nbf)
		if err != nil {
			return fmt.Errorf("%w: nbf: %v", ErrInvalidVAPID, err)
		}
		if nbf.After(now.Add(vapidSkew)) {
			return fmt.Errorf("%w: not valid before %s", ErrInvalidVAPID, nbf.UTC().Format(time.RFC3339))
		}
	}

	var sub string
	if c.Sub == nil || json.Unmarshal(c.Sub, &sub) != nil || sub == "" {
		return fmt.Errorf("%w: no sub claim (a mailto: or https: contact)", ErrInvalidVAPID)
	}
	if err := checkSubject(sub); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidVAPID, err)
	}
	return nil
}

// numericDate parses a JWT NumericDate (RFC 7519 §2): a JSON number of
// seconds since the epoch; a fraction is dropped.
func numericDate(raw json.RawMessage) (time.Time, error) {
	s := string(raw)
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return time.Time{}, fmt.Errorf("%s is not a JSON number", truncate(s))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < 0 || f >= 1<<40 {
		return time.Time{}, fmt.Errorf("%s is not a time in seconds since 1970", truncate(s))
	}
	return time.Unix(int64(f), 0), nil
}

// checkSubject requires a mailto: or https: URI with something after the
// scheme.
func checkSubject(sub string) error {
	scheme, rest, ok := strings.Cut(sub, ":")
	if !ok || rest == "" || !(strings.EqualFold(scheme, "mailto") || strings.EqualFold(scheme, "https")) {
		return fmt.Errorf("VAPID sub %q is not a mailto: or https: URI", truncate(sub))
	}
	return nil
}

// Origin returns the origin of an http or https URL in its serialized
// form (RFC 6454): lower-case scheme and host, and the port only when it
// is not the scheme's default. This is the VAPID aud of every push
// resource under that origin.
func Origin(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("webpush: %q is not a URL", truncate(rawURL))
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", fmt.Errorf("webpush: %q is not an http or https URL", truncate(rawURL))
	}
	if u.Host == "" || u.User != nil {
		return "", fmt.Errorf("webpush: %q has no host, or has user info", truncate(rawURL))
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	switch port := u.Port(); {
	case port == "", scheme == "https" && port == "443", scheme == "http" && port == "80":
		return scheme + "://" + host, nil
	default:
		return scheme + "://" + host + ":" + port, nil
	}
}

// audOrigin is the origin an aud claim names, or "" if it is not an origin
// (a path, query or fragment beyond "/" means it names something else).
func audOrigin(aud string) string {
	u, err := url.Parse(aud)
	if err != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return ""
	}
	o, err := Origin(aud)
	if err != nil {
		return ""
	}
	return o
}

// checkP256 refuses nil keys and keys on other curves.
func checkP256(key *ecdsa.PrivateKey) error {
	if key == nil || key.Curve != elliptic.P256() {
		return errors.New("webpush: the VAPID key is not an ECDSA P-256 key")
	}
	return nil
}

// truncate shortens attacker-supplied text quoted in error messages.
func truncate(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
