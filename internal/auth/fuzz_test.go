package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParseJWT feeds arbitrary assertions to the parser and to Exchange.
// Neither may panic; a parsed JWT must re-encode to its input; and only the
// one properly signed seed may ever be exchanged for a token (strict
// base64url gives each signature a single encoding).
func FuzzParseJWT(f *testing.F) {
	acc := newAccount(f, "demo", "https://push.example.com/token")
	clk := newClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	a, _ := newTestAuthority(f, newKeyMap(acc.key), clk.Now)
	valid := signRS256(f, acc.priv, goodHeader(acc), goodClaims(acc, clk.Now()))
	h, c := goodHeader(acc), goodClaims(acc, clk.Now())

	f.Add(valid)
	f.Add(signRS256(f, acc.priv, map[string]any{"alg": "RS256"}, map[string]any{"iss": acc.sa.ClientEmail, "aud": []string{"x", acc.sa.TokenURI}, "iat": 1.5e9, "exp": "x"}))
	f.Add(encodeSegment(f, map[string]any{"alg": "none"}) + "." + encodeSegment(f, c) + ".")
	f.Add(signHS256(f, []byte(acc.key.PublicKeyPEM), map[string]any{"alg": "HS256", "kid": acc.key.ID}, c))
	f.Add(encodeSegment(f, h) + "." + encodeSegment(f, map[string]any{"iat": nil, "exp": 1e300, "aud": nil}) + ".AAAA")
	f.Add("")
	f.Add("..")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.")
	f.Add("e30.e30.e30.e30")
	f.Add(strings.Repeat("A", maxAssertionLen+1))

	f.Fuzz(func(t *testing.T, s string) {
		tok, err := parseJWT(s)
		if err == nil {
			sig := jwtEncoding.EncodeToString(tok.signature)
			if tok.signingInput+"."+sig != s {
				t.Fatalf("parsed %q but it re-encodes as %q.%q", s, tok.signingInput, sig)
			}
			_ = tok.checkHeader()
			_ = checkClaims(&tok.claims, acc.key, clk.Now())
		} else if !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("parseJWT error %v does not wrap ErrInvalidToken", err)
		}

		access, _, err := a.Exchange(t.Context(), s)
		if err == nil && s != valid {
			t.Fatalf("Exchange accepted a forged assertion %q", s)
		}
		if err != nil && !errors.Is(err, ErrInvalidToken) && !errors.Is(err, ErrExpired) && !errors.Is(err, ErrInvalidScope) {
			t.Fatalf("Exchange error %v wraps no sentinel", err)
		}
		if err == nil {
			if _, err := a.Verify(t.Context(), access); err != nil {
				t.Fatalf("Verify(issued token): %v", err)
			}
		}
	})
}

// FuzzVerify feeds arbitrary access tokens to Verify: no panic, a sentinel
// on every refusal, and only the token actually issued is accepted.
func FuzzVerify(f *testing.F) {
	acc := newAccount(f, "demo", "https://push.example.com/token")
	clk := newClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	a, _ := newTestAuthority(f, newKeyMap(acc.key), clk.Now)
	issued, _, err := a.Exchange(f.Context(), signRS256(f, acc.priv, goodHeader(acc), goodClaims(acc, clk.Now())))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(issued)
	f.Add(issued[:len(issued)-1] + "B")
	f.Add(accessPrefix)
	f.Add(accessPrefix + strings.Repeat("A", 100))
	f.Add("")
	f.Add("ya29.a0AfH6SMB")

	f.Fuzz(func(t *testing.T, s string) {
		p, err := a.Verify(t.Context(), s)
		switch {
		case err == nil && s != issued:
			t.Fatalf("Verify accepted %q as %+v", s, p)
		case err != nil && !errors.Is(err, ErrInvalidToken):
			t.Fatalf("Verify(%q): %v, want ErrInvalidToken", s, err)
		}
	})
}
