package auth

import (
	"encoding/base64"
	"net/http"
	"testing"
)

func TestRandomToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok := RandomToken(16)
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(b) != 16 || len(tok) != 22 {
			t.Fatalf("RandomToken(16) = %q (%v), want 22 base64url characters", tok, err)
		}
		if seen[tok] {
			t.Fatalf("RandomToken repeated %q", tok)
		}
		seen[tok] = true
	}
}

func TestHashSecret(t *testing.T) {
	h := HashSecret("s3cret")
	if len(h) != 32 {
		t.Fatalf("hash of %d bytes, want 32", len(h))
	}
	if !CheckSecret("s3cret", h) {
		t.Error("CheckSecret refused the right secret")
	}
	for _, wrong := range []string{"", "s3cre", "s3cret ", "S3cret"} {
		if CheckSecret(wrong, h) {
			t.Errorf("CheckSecret accepted %q", wrong)
		}
	}
	if CheckSecret("s3cret", nil) || CheckSecret("s3cret", h[:16]) {
		t.Error("CheckSecret accepted a missing or short hash")
	}
}

func TestBearerToken(t *testing.T) {
	for header, want := range map[string]string{
		"Bearer abc":      "abc",
		"bearer abc":      "abc",
		"BEARER  abc":     "abc",
		"Bearer a.b-c_d=": "a.b-c_d=",
		"":                "",
		"Bearer":          "",
		"Bearer ":         "",
		"Basic abc":       "",
		"Device id:sec":   "",
		"Bearer a b":      "",
		"Bearerabc":       "",
		"Bearer a\tb":     "",
	} {
		r, err := http.NewRequest(http.MethodGet, "http://herald.test/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		got, ok := BearerToken(r)
		if got != want || ok != (want != "") {
			t.Errorf("BearerToken(%q) = %q, %v; want %q", header, got, ok, want)
		}
	}
}

func TestAdmin(t *testing.T) {
	a := NewAdmin("the-admin-token-0123456789")
	if !a.Check("the-admin-token-0123456789") {
		t.Error("Check refused the admin token")
	}
	for _, wrong := range []string{"", "the-admin-token-012345678", "the-admin-token-01234567890", "x"} {
		if a.Check(wrong) {
			t.Errorf("Check accepted %q", wrong)
		}
	}
	var zero Admin
	if NewAdmin("").Check("") || zero.Check("") {
		t.Error("an Admin without a token accepted the empty string")
	}
}
