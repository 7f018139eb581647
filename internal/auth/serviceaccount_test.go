package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"maps"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/heraldpush/herald/internal/store"
	"golang.org/x/oauth2/google"
)

func TestNewServiceAccount(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	key, js, err := NewServiceAccount("demo-1", "https://push.example.com/token", now)
	if err != nil {
		t.Fatal(err)
	}

	// The file has exactly Google's members.
	var members map[string]string
	if err := json.Unmarshal(js, &members); err != nil {
		t.Fatal(err)
	}
	names := slices.Sorted(maps.Keys(members))
	wantNames := []string{"auth_uri", "client_email", "client_id", "private_key", "private_key_id", "project_id", "token_uri", "type"}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}

	var sa ServiceAccount
	if err := json.Unmarshal(js, &sa); err != nil {
		t.Fatal(err)
	}
	email := "herald-" + key.ID + "@demo-1.iam.herald.dev"
	wantKey := store.Key{ID: key.ID, ProjectID: "demo-1", ClientEmail: email, PublicKeyPEM: key.PublicKeyPEM, CreatedAt: now}
	if diff := cmp.Diff(wantKey, key); diff != "" {
		t.Errorf("key (-want +got):\n%s", diff)
	}
	wantSA := ServiceAccount{
		Type:         "service_account",
		ProjectID:    "demo-1",
		PrivateKeyID: key.ID,
		PrivateKey:   sa.PrivateKey,
		ClientEmail:  email,
		ClientID:     sa.ClientID,
		AuthURI:      "https://push.example.com/auth",
		TokenURI:     "https://push.example.com/token",
	}
	if diff := cmp.Diff(wantSA, sa); diff != "" {
		t.Errorf("service account (-want +got):\n%s", diff)
	}
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(key.ID) {
		t.Errorf("key id %q, want 40 hex digits like Google's private_key_id", key.ID)
	}
	if !regexp.MustCompile(`^[1-9][0-9]{20}$`).MatchString(sa.ClientID) {
		t.Errorf("client_id %q, want 21 digits like Google's", sa.ClientID)
	}
	if id, ok := keyIDFromEmail(sa.ClientEmail); !ok || id != key.ID {
		t.Errorf("keyIDFromEmail(%q) = %q, %v; want %q", sa.ClientEmail, id, ok, key.ID)
	}

	// The private key in the file is the public key in the record.
	other := newAccount(t, "demo-1", "https://push.example.com/token")
	pub, err := publicKey(other.key)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(&other.priv.PublicKey) || other.priv.N.BitLen() != 2048 {
		t.Errorf("private key of %d bits does not match the stored public key", other.priv.N.BitLen())
	}

	// Google's library reads it as a service account.
	cfg, err := google.JWTConfigFromJSON(js, ScopeCloudPlatform)
	if err != nil {
		t.Fatalf("JWTConfigFromJSON: %v", err)
	}
	if cfg.Email != email || cfg.PrivateKeyID != key.ID || cfg.TokenURL != "https://push.example.com/token" {
		t.Errorf("Google's library read email %q, key %q, token URL %q", cfg.Email, cfg.PrivateKeyID, cfg.TokenURL)
	}

	// Two accounts never share a key or an id.
	if other.key.ID == key.ID || other.sa.PrivateKey == sa.PrivateKey {
		t.Error("two service accounts share a key")
	}
}

func TestNewServiceAccountRefuses(t *testing.T) {
	for _, tc := range []struct{ project, tokenURI string }{
		{"", "https://push.example.com/token"},
		{"d", "https://push.example.com/token"},
		{"Demo", "https://push.example.com/token"},
		{"1demo", "https://push.example.com/token"},
		{"demo.evil", "https://push.example.com/token"},
		{"demo@x", "https://push.example.com/token"},
		{"a" + string(make([]byte, 63)), "https://push.example.com/token"},
		{"demo", ""},
		{"demo", "/token"},
		{"demo", "push.example.com/token"},
		{"demo", "ftp://push.example.com/token"},
		{"demo", "https://push.example.com/"},
		{"demo", "https://push.example.com/oauth/token"},
		{"demo", "https://push.example.com/token?x=1"},
		{"demo", "https://push.example.com/token#x"},
	} {
		if _, _, err := NewServiceAccount(tc.project, tc.tokenURI, time.Now()); err == nil {
			t.Errorf("NewServiceAccount(%q, %q) succeeded, want an error", tc.project, tc.tokenURI)
		}
	}
}

func TestPublicKeyRefusesBadRecords(t *testing.T) {
	acc := newAccount(t, "demo", "https://push.example.com/token")
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for name, pemText := range map[string]string{
		"empty":       "",
		"private key": acc.sa.PrivateKey,
		"garbage":     "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
		"1024 bits":   pemPublic(t, &small.PublicKey),
	} {
		k := acc.key
		k.PublicKeyPEM = pemText
		if _, err := publicKey(k); err == nil {
			t.Errorf("%s: publicKey accepted it", name)
		}
	}
}

func TestKeyIDFromEmail(t *testing.T) {
	for email, want := range map[string]string{
		"herald-abc@demo.iam.herald.dev":          "abc",
		"herald-@demo.iam.herald.dev":             "",
		"robot@demo.iam.gserviceaccount.com":      "",
		"herald-abc@demo.iam.gserviceaccount.com": "",
		"herald-abc": "",
		"":           "",
	} {
		got, ok := keyIDFromEmail(email)
		if got != want || ok != (want != "") {
			t.Errorf("keyIDFromEmail(%q) = %q, %v; want %q", email, got, ok, want)
		}
	}
}

// pemPublic encodes a public key as the store keeps it.
func pemPublic(t *testing.T, pub *rsa.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}
