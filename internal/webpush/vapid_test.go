package webpush

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The example of RFC 8292 §2.4 and §3.1, verbatim: a token for
// https://push.example.net that expired at 2016-01-23T04:36:08Z.
const (
	rfcVAPIDToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE0NTM1MjM3NjgsInN1YiI6Im1haWx0bzpwdXNoQGV4YW1wbGUuY29tIn0.i3CYb7t4xfxCDquptFOepC9GAu_HLGkMlMuCGSK2rpiUfnK9ojFwDXb1JrErtmysazNjjvW2L9OkSSHzvoD1oA"
	rfcVAPIDKey   = "BA1Hxzyi1RUM1b5wjxsn7nGxAszw2u61m164i3MrAIxHF6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmClBPs"
	rfcVAPIDExp   = 1453523768
)

// TestRFC8292Example verifies the RFC's token with the RFC's key at a time
// when it was valid, and refuses it once it has expired.
func TestRFC8292Example(t *testing.T) {
	header := "vapid t=" + rfcVAPIDToken + ", k=" + rfcVAPIDKey
	valid := time.Unix(rfcVAPIDExp, 0).Add(-time.Hour)
	pub, err := VerifyVAPID(header, "", "https://push.example.net", valid)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pub, b64(t, rfcVAPIDKey)) {
		t.Errorf("VerifyVAPID returned %x, want the RFC's k", pub)
	}
	// The JWK of §2.4 names the same point.
	if x, y := b64(t, "DUfHPKLVFQzVvnCPGyfucbECzPDa7rWbXriLcysAjEc"), b64(t, "F6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmClBPs"); !bytes.Equal(pub[1:33], x) || !bytes.Equal(pub[33:], y) {
		t.Errorf("k does not match the RFC's JWK x and y")
	}
	_, err = VerifyVAPID(header, "", "https://push.example.net", time.Unix(rfcVAPIDExp, 0))
	if !errors.Is(err, ErrInvalidVAPID) || !strings.Contains(err.Error(), "expired at 2016-01-23T04:36:08Z") {
		t.Errorf("at exp: error %v, want expiry", err)
	}
}

// TestSignVAPID signs a token, looks inside it, and verifies it.
func TestSignVAPID(t *testing.T) {
	key, err := GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	header, err := SignVAPID(key, "https://Push.Example.net:443/push/JzLQ3raZJfFBR0aqvOMsLrt54w4rJUsV", "mailto:ops@example.com", now.Add(12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	token, k, ok := strings.Cut(strings.TrimPrefix(header, "vapid t="), ", k=")
	if !ok || !strings.HasPrefix(header, "vapid t=") {
		t.Fatalf("header %q is not \"vapid t=…, k=…\"", header)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	got := map[string]string{"header": string(b64(t, parts[0])), "claims": string(b64(t, parts[1]))}
	want := map[string]string{
		"header": `{"typ":"JWT","alg":"ES256"}`,
		"claims": fmt.Sprintf(`{"aud":"https://push.example.net","exp":%d,"sub":"mailto:ops@example.com"}`, now.Add(12*time.Hour).Unix()),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("token contents (-want +got):\n%s", diff)
	}
	if sig := b64(t, parts[2]); len(sig) != 64 {
		t.Errorf("signature is %d bytes, want 64 (r||s)", len(sig))
	}
	pubBytes, err := key.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if k != base64.RawURLEncoding.EncodeToString(pubBytes) {
		t.Errorf("k = %q, want the key's public key", k)
	}
	pub, err := VerifyVAPID(header, "", "https://push.example.net", now)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pub, pubBytes) {
		t.Errorf("VerifyVAPID returned another key")
	}
}

func TestSignVAPIDRefuses(t *testing.T) {
	key, err := GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Unix(1.9e9, 0)
	tests := []struct {
		name     string
		key      *ecdsa.PrivateKey
		aud, sub string
		exp      time.Time
		wantMsg  string
	}{
		{"no key", nil, "https://a.example", "mailto:x@example.com", exp, "not an ECDSA P-256 key"},
		{"P-384 key", p384, "https://a.example", "mailto:x@example.com", exp, "not an ECDSA P-256 key"},
		{"aud not http", key, "wss://a.example", "mailto:x@example.com", exp, "not an http or https URL"},
		{"aud without host", key, "/push/x", "mailto:x@example.com", exp, "not an http or https URL"},
		{"sub without scheme", key, "https://a.example", "x@example.com", exp, "not a mailto: or https: URI"},
		{"sub http", key, "https://a.example", "http://example.com", exp, "not a mailto: or https: URI"},
		{"sub empty mailto", key, "https://a.example", "mailto:", exp, "not a mailto: or https: URI"},
		{"zero exp", key, "https://a.example", "mailto:x@example.com", time.Time{}, "zero time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SignVAPID(tt.key, tt.aud, tt.sub, tt.exp)
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("SignVAPID error = %v, want one saying %q", err, tt.wantMsg)
			}
		})
	}
}

// vapidFixture signs arbitrary tokens for the verification tables.
type vapidFixture struct {
	key   *ecdsa.PrivateKey
	k     string // base64url public key
	other *ecdsa.PrivateKey
	now   time.Time
}

func newVAPIDFixture(t testing.TB) *vapidFixture {
	t.Helper()
	// A fixed key, so that fuzzing workers (each of which runs the fuzz
	// function's setup again) agree on it with the seed corpus.
	scalar := sha256.Sum256([]byte("herald webpush test VAPID key"))
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar[:])
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	k, _, err := EncodeVAPIDKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &vapidFixture{key: key, k: k, other: other, now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// token returns a JWS of header and claims (JSON text) signed with key.
func signToken(t testing.TB, key *ecdsa.PrivateKey, header, claims string) string {
	t.Helper()
	input := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// claims returns VAPID claims for aud with exp = now + d.
func (f *vapidFixture) claims(aud string, d time.Duration) string {
	return fmt.Sprintf(`{"aud":%q,"exp":%d,"sub":"mailto:ops@example.com"}`, aud, f.now.Add(d).Unix())
}

// good is a valid token for https://push.example.net.
func (f *vapidFixture) good(t testing.TB) string {
	return signToken(t, f.key, `{"typ":"JWT","alg":"ES256"}`, f.claims("https://push.example.net", 12*time.Hour))
}

// with signs header and claims with the fixture's key.
func (f *vapidFixture) with(t testing.TB, header, claims string) string {
	return "vapid t=" + signToken(t, f.key, header, claims) + ", k=" + f.k
}

const es256 = `{"typ":"JWT","alg":"ES256"}`

// TestVerifyVAPIDAccepts lists the forms real senders use that must pass.
func TestVerifyVAPIDAccepts(t *testing.T) {
	f := newVAPIDFixture(t)
	good := f.good(t)
	kStd := base64.StdEncoding.EncodeToString(b64(t, f.k))
	tests := []struct {
		name                string
		authorization, ckey string
		origin              string
	}{
		{"RFC 8292 form", "vapid t=" + good + ", k=" + f.k, "", "https://push.example.net"},
		{"scheme in capitals", "VAPID t=" + good + ", k=" + f.k, "", "https://push.example.net"},
		{"k before t, no space", "vapid k=" + f.k + ",t=" + good, "", "https://push.example.net"},
		{"extra spaces and tabs", "vapid   t=" + good + " ,\tk=" + f.k + " ", "", "https://push.example.net"},
		{"unknown parameters ignored", "vapid realm=\"x\", t=" + good + ", k=" + f.k + ", foo=bar", "", "https://push.example.net"},
		{"quoted values", "vapid t=\"" + good + "\", k=\"" + f.k + "\"", "", "https://push.example.net"},
		{"k in standard base64, padded", "vapid t=" + good + ", k=" + kStd, "", "https://push.example.net"},
		{"a Crypto-Key is ignored for vapid", "vapid t=" + good + ", k=" + f.k, "p256ecdsa=AAAA", "https://push.example.net"},
		{"legacy WebPush + Crypto-Key", "WebPush " + good, "dh=BAAA;p256ecdsa=" + f.k, "https://push.example.net"},
		{"legacy with comma-separated Crypto-Key", "webpush " + good, "dh=BAAA, p256ecdsa=" + f.k, "https://push.example.net"},
		{"origin given as the push resource URL", "vapid t=" + good + ", k=" + f.k, "", "https://push.example.net/push/abc?x=1"},
		{"aud with a trailing slash", f.with(t, es256, f.claims("https://push.example.net/", time.Hour)), "", "https://push.example.net"},
		{"aud with the default port", f.with(t, es256, f.claims("https://push.example.net:443", time.Hour)), "", "https://push.example.net"},
		{"aud in capitals", f.with(t, es256, f.claims("HTTPS://PUSH.EXAMPLE.NET", time.Hour)), "", "https://push.example.net"},
		{"aud with a port (loopback tests)", f.with(t, es256, f.claims("http://127.0.0.1:44871", time.Hour)), "", "http://127.0.0.1:44871"},
		{"aud as an array", f.with(t, es256, fmt.Sprintf(`{"aud":["https://x.example","https://push.example.net"],"exp":%d,"sub":"https://example.com/contact"}`, f.now.Add(time.Hour).Unix())), "", "https://push.example.net"},
		{"exp exactly 24h ahead", f.with(t, es256, f.claims("https://push.example.net", 24*time.Hour)), "", "https://push.example.net"},
		{"exp 24h + 30s ahead (clock skew)", f.with(t, es256, f.claims("https://push.example.net", 24*time.Hour+30*time.Second)), "", "https://push.example.net"},
		{"exp one second ahead", f.with(t, es256, f.claims("https://push.example.net", time.Second)), "", "https://push.example.net"},
		{"exp with a fraction", f.with(t, es256, fmt.Sprintf(`{"aud":"https://push.example.net","exp":%d.75,"sub":"mailto:a@b"}`, f.now.Add(time.Hour).Unix())), "", "https://push.example.net"},
		{"header without typ, extra claims", f.with(t, `{"alg":"ES256"}`, fmt.Sprintf(`{"aud":"https://push.example.net","exp":%d,"sub":"mailto:a@b","iat":1,"jti":"x"}`, f.now.Add(time.Hour).Unix())), "", "https://push.example.net"},
		{"nbf in the past", f.with(t, es256, fmt.Sprintf(`{"aud":"https://push.example.net","exp":%d,"nbf":%d,"sub":"mailto:a@b"}`, f.now.Add(time.Hour).Unix(), f.now.Add(-time.Hour).Unix())), "", "https://push.example.net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := VerifyVAPID(tt.authorization, tt.ckey, tt.origin, f.now)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pub, b64(t, f.k)) {
				t.Errorf("VerifyVAPID returned %x, want the sender's key", pub)
			}
		})
	}
}

// TestVerifyVAPIDRefuses lists the authorizations a push service must
// refuse, and the error each gets.
func TestVerifyVAPIDRefuses(t *testing.T) {
	f := newVAPIDFixture(t)
	good := f.good(t)
	otherK, _, err := EncodeVAPIDKey(f.other)
	if err != nil {
		t.Fatal(err)
	}
	kBytes := b64(t, f.k)
	offCurve := base64.RawURLEncoding.EncodeToString(flipped(kBytes, 64))
	compressed := base64.RawURLEncoding.EncodeToString(append([]byte{2 + kBytes[64]&1}, kBytes[1:33]...))
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(f.claims("https://push.example.net", 13*time.Hour))) + "." + parts[2]
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	der, err := ecdsa.SignASN1(rand.Reader, f.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	derToken := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(der)
	claimsWith := func(extra string) string {
		return fmt.Sprintf(`{"aud":"https://push.example.net",%s}`, extra)
	}
	exp := f.now.Add(time.Hour).Unix()
	vapid := func(tok string) string { return "vapid t=" + tok + ", k=" + f.k }

	tests := []struct {
		name                string
		authorization, ckey string
		wantErr             error
		wantMsg             string
	}{
		{"no header", "", "", ErrNoVAPID, "no Authorization header"},
		{"blank header", "  ", "", ErrNoVAPID, "no Authorization header"},
		{"bearer scheme", "Bearer " + good, "", ErrNoVAPID, `scheme "Bearer" is not vapid`},
		{"GCM key", "key=AAAA", "", ErrNoVAPID, `scheme "key=AAAA"`},
		{"no t", "vapid k=" + f.k, "", ErrInvalidVAPID, "no t parameter"},
		{"no k", "vapid t=" + good, "", ErrInvalidVAPID, "no k parameter"},
		{"nothing after the scheme", "vapid", "", ErrInvalidVAPID, "no t parameter"},
		{"parameter without value", "vapid t, k=" + f.k, "", ErrInvalidVAPID, `parameter "t" has no value`},
		{"two t", "vapid t=" + good + ", t=" + good + ", k=" + f.k, "", ErrInvalidVAPID, "two t parameters"},
		{"two k", "vapid t=" + good + ", k=" + f.k + ", k=" + f.k, "", ErrInvalidVAPID, "two k parameters"},
		{"legacy without Crypto-Key", "WebPush " + good, "", ErrInvalidVAPID, "Crypto-Key: p256ecdsa="},
		{"legacy Crypto-Key without p256ecdsa", "WebPush " + good, "dh=" + f.k, ErrInvalidVAPID, "Crypto-Key: p256ecdsa="},
		{"k not base64", "vapid t=" + good + ", k=!!!", "", ErrInvalidVAPID, "k is not base64"},
		{"k compressed (33 bytes)", "vapid t=" + good + ", k=" + compressed, "", ErrInvalidVAPID, "k is 33 bytes, want 65"},
		{"k off the curve", "vapid t=" + good + ", k=" + offCurve, "", ErrInvalidVAPID, "k is not an uncompressed P-256 point"},
		{"k of another key", "vapid t=" + good + ", k=" + otherK, "", ErrInvalidVAPID, "signature does not verify with k"},
		{"signed by another key", "vapid t=" + signToken(t, f.other, es256, f.claims("https://push.example.net", time.Hour)) + ", k=" + f.k, "", ErrInvalidVAPID, "signature does not verify with k"},
		{"claims changed after signing", vapid(tampered), "", ErrInvalidVAPID, "signature does not verify with k"},
		{"DER signature", vapid(derToken), "", ErrInvalidVAPID, "want 64 (ES256 is r||s, not DER)"},
		{"empty signature", vapid(parts[0] + "." + parts[1] + "."), "", ErrInvalidVAPID, "signature is 0 bytes"},
		{"two parts", vapid(parts[0] + "." + parts[1]), "", ErrInvalidVAPID, "t has 2 dot-separated parts"},
		{"four parts", vapid(good + ".x"), "", ErrInvalidVAPID, "t has 4 dot-separated parts"},
		{"header not base64url", vapid("e30=." + parts[1] + "." + parts[2]), "", ErrInvalidVAPID, "JWT header is not base64url"},
		{"header not JSON", vapid(signToken(t, f.key, `[]`, f.claims("https://push.example.net", time.Hour))), "", ErrInvalidVAPID, "JWT header is not a JSON object"},
		{"alg HS256", f.with(t, `{"typ":"JWT","alg":"HS256"}`, f.claims("https://push.example.net", time.Hour)), "", ErrInvalidVAPID, `JWT alg "HS256", want ES256`},
		{"alg none", vapid(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."), "", ErrInvalidVAPID, `JWT alg "none"`},
		{"alg es256 (case matters)", f.with(t, `{"alg":"es256"}`, f.claims("https://push.example.net", time.Hour)), "", ErrInvalidVAPID, `JWT alg "es256"`},
		{"no alg", f.with(t, `{"typ":"JWT"}`, f.claims("https://push.example.net", time.Hour)), "", ErrInvalidVAPID, `JWT alg ""`},
		{"crit", f.with(t, `{"alg":"ES256","crit":["b64"],"b64":false}`, f.claims("https://push.example.net", time.Hour)), "", ErrInvalidVAPID, "crit"},
		{"claims not JSON", f.with(t, es256, `not json`), "", ErrInvalidVAPID, "JWT claims are not a JSON object"},
		{"wrong aud", f.with(t, es256, f.claims("https://other.example", time.Hour)), "", ErrInvalidVAPID, `aud "https://other.example" is not this push service's origin "https://push.example.net"`},
		{"aud http for an https service", f.with(t, es256, f.claims("http://push.example.net", time.Hour)), "", ErrInvalidVAPID, "is not this push service's origin"},
		{"aud with another port", f.with(t, es256, f.claims("https://push.example.net:8443", time.Hour)), "", ErrInvalidVAPID, "is not this push service's origin"},
		{"aud with a path", f.with(t, es256, f.claims("https://push.example.net/push/abc", time.Hour)), "", ErrInvalidVAPID, "is not this push service's origin"},
		{"aud a subdomain", f.with(t, es256, f.claims("https://evil.push.example.net", time.Hour)), "", ErrInvalidVAPID, "is not this push service's origin"},
		{"no aud", f.with(t, es256, fmt.Sprintf(`{"exp":%d,"sub":"mailto:a@b"}`, exp)), "", ErrInvalidVAPID, "no aud claim"},
		{"aud a number", f.with(t, es256, fmt.Sprintf(`{"aud":1,"exp":%d,"sub":"mailto:a@b"}`, exp)), "", ErrInvalidVAPID, "no aud claim"},
		{"expired a second ago", f.with(t, es256, f.claims("https://push.example.net", -time.Second)), "", ErrInvalidVAPID, "expired at 2029-12-31T23:59:59Z, now is 2030-01-01T00:00:00Z"},
		{"expiring now", f.with(t, es256, f.claims("https://push.example.net", 0)), "", ErrInvalidVAPID, "expired at 2030-01-01T00:00:00Z"},
		{"exp more than 24h ahead", f.with(t, es256, f.claims("https://push.example.net", 24*time.Hour+2*time.Minute)), "", ErrInvalidVAPID, "exp 2030-01-02T00:02:00Z is more than 24h after now"},
		{"exp a year ahead", f.with(t, es256, f.claims("https://push.example.net", 365*24*time.Hour)), "", ErrInvalidVAPID, "more than 24h after now"},
		{"no exp", f.with(t, es256, claimsWith(`"sub":"mailto:a@b"`)), "", ErrInvalidVAPID, "no exp claim"},
		{"exp null", f.with(t, es256, claimsWith(`"exp":null,"sub":"mailto:a@b"`)), "", ErrInvalidVAPID, "exp: null is not a JSON number"},
		{"exp a string", f.with(t, es256, claimsWith(fmt.Sprintf(`"exp":"%d","sub":"mailto:a@b"`, exp))), "", ErrInvalidVAPID, "is not a JSON number"},
		{"exp huge", f.with(t, es256, claimsWith(`"exp":1e300,"sub":"mailto:a@b"`)), "", ErrInvalidVAPID, "1e300 is not a time"},
		{"exp negative", f.with(t, es256, claimsWith(`"exp":-5,"sub":"mailto:a@b"`)), "", ErrInvalidVAPID, "-5 is not a time"},
		{"nbf in the future", f.with(t, es256, claimsWith(fmt.Sprintf(`"exp":%d,"nbf":%d,"sub":"mailto:a@b"`, exp, f.now.Add(10*time.Minute).Unix()))), "", ErrInvalidVAPID, "not valid before 2030-01-01T00:10:00Z"},
		{"no sub", f.with(t, es256, claimsWith(fmt.Sprintf(`"exp":%d`, exp))), "", ErrInvalidVAPID, "no sub claim"},
		{"empty sub", f.with(t, es256, claimsWith(fmt.Sprintf(`"exp":%d,"sub":""`, exp))), "", ErrInvalidVAPID, "no sub claim"},
		{"sub not a string", f.with(t, es256, claimsWith(fmt.Sprintf(`"exp":%d,"sub":7`, exp))), "", ErrInvalidVAPID, "no sub claim"},
		{"sub a bare address", f.with(t, es256, claimsWith(fmt.Sprintf(`"exp":%d,"sub":"ops@example.com"`, exp))), "", ErrInvalidVAPID, `sub "ops@example.com" is not a mailto: or https: URI`},
		{"sub http", f.with(t, es256, claimsWith(fmt.Sprintf(`"exp":%d,"sub":"http://example.com"`, exp))), "", ErrInvalidVAPID, "is not a mailto: or https: URI"},
		{"line break in the signature", "vapid t=" + good[:len(good)-4] + "\n" + good[len(good)-4:] + ", k=" + f.k, "", ErrInvalidVAPID, "line break"},
		{"header too long", "vapid t=" + good + ", k=" + f.k + ", x=" + strings.Repeat("a", 5000), "", ErrInvalidVAPID, "longer than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := VerifyVAPID(tt.authorization, tt.ckey, "https://push.example.net", f.now)
			if err == nil {
				t.Fatalf("VerifyVAPID accepted it (key %x)", pub)
			}
			if pub != nil {
				t.Errorf("VerifyVAPID returned a key with its error")
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}

	if _, err := VerifyVAPID(vapid(good), "", "push.example.net", f.now); err == nil || errors.Is(err, ErrInvalidVAPID) || errors.Is(err, ErrNoVAPID) {
		t.Errorf("a bad origin from the caller: error %v, want one that blames the origin, not the sender", err)
	}
}

func TestOrigin(t *testing.T) {
	tests := []struct {
		in, want string // want "" for an error
	}{
		{"https://push.example.net", "https://push.example.net"},
		{"https://push.example.net/push/abc?x=1#f", "https://push.example.net"},
		{"HTTPS://Push.Example.NET:443/", "https://push.example.net"},
		{"http://push.example.net:80/x", "http://push.example.net"},
		{"http://push.example.net:443/x", "http://push.example.net:443"},
		{"https://127.0.0.1:35749/wpush/v2/x", "https://127.0.0.1:35749"},
		{"http://[::1]:8080/p", "http://[::1]:8080"},
		{"https://[2001:DB8::1]/p", "https://[2001:db8::1]"},
		{"wss://push.example.net", ""},
		{"push.example.net", ""},
		{"https://", ""},
		{"https://user:pw@push.example.net", ""},
		{"https://push.example.net:port", ""},
		{"https:push.example.net", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := Origin(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("Origin(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Origin(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestVAPIDKeyEncoding(t *testing.T) {
	key, err := GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, err := EncodeVAPIDKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if len(pub) != 87 || len(priv) != 43 {
		t.Errorf("encoded key is %d and %d characters, web-push writes 87 and 43", len(pub), len(priv))
	}
	back, err := ParseVAPIDKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(key) {
		t.Errorf("ParseVAPIDKey(EncodeVAPIDKey(key)) is another key")
	}
	for _, bad := range []string{"", "!!", base64.RawURLEncoding.EncodeToString(make([]byte, 31)), base64.RawURLEncoding.EncodeToString(make([]byte, 32))} {
		if _, err := ParseVAPIDKey(bad); err == nil {
			t.Errorf("ParseVAPIDKey(%q) succeeded", bad)
		}
	}
}
