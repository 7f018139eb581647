package pebblestore_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/pebblestore"
)

// testCredentialKey is the credential key of the conformance stores.
var testCredentialKey = bytes.Repeat([]byte{7}, pebblestore.CredentialKeySize)

// TestCredentialsEncryptedAtRest writes credentials, closes the store and
// reads every file of its directory (WAL, tables, manifest): none holds the
// private keys or the service account. Reopened with the same key the
// credentials come back; with another key they do not open; without a key
// the store refuses to store them.
func TestCredentialsEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.CreateProject(ctx, store.Project{ID: "p1", CreatedAt: time.Unix(1, 0).UTC()}); err != nil {
		t.Fatal(err)
	}
	secrets := [][]byte{
		[]byte("VAPID-PRIVATE-SCALAR-do-not-leak"),
		[]byte("MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg-apns-do-not-leak"),
		[]byte("fcm-service-account-private-key-do-not-leak"),
	}
	c := store.Credentials{
		ProjectID: "p1",
		VAPID:     &store.VAPIDCredentials{PublicKey: "BPUB", PrivateKey: string(secrets[0]), Subject: "mailto:a@example.com"},
		APNs:      &store.APNsCredentials{KeyID: "K", TeamID: "T", KeyPEM: "-----BEGIN PRIVATE KEY-----\n" + string(secrets[1]) + "\n-----END PRIVATE KEY-----\n"},
		FCM:       &store.FCMCredentials{ServiceAccountJSON: []byte(`{"private_key":"` + string(secrets[2]) + `"}`)},
		UpdatedAt: time.Unix(2, 0).UTC(),
	}
	if err := s.PutCredentials(ctx, c); err != nil {
		t.Fatalf("PutCredentials: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, sec := range secrets {
			if bytes.Contains(b, sec) {
				t.Errorf("%s holds a private key in clear", path)
			}
		}
		if bytes.Contains(b, []byte("mailto:a@example.com")) {
			t.Errorf("%s holds the credentials' JSON in clear", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no files in the store directory")
	}

	s = open(t, dir)
	got, err := s.Credentials(ctx, "p1")
	if err != nil {
		t.Fatalf("Credentials after reopen: %v", err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("Credentials after reopen (-want +got):\n%s", diff)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	other, err := pebblestore.Open(dir, pebblestore.Options{CredentialKey: bytes.Repeat([]byte{8}, pebblestore.CredentialKeySize)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Credentials(ctx, "p1"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Credentials with another key: err = %v, want a decryption error", err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}

	keyless, err := pebblestore.Open(dir, pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer keyless.Close()
	if err := keyless.PutCredentials(ctx, store.Credentials{ProjectID: "p1"}); !errors.Is(err, pebblestore.ErrNoCredentialKey) {
		t.Errorf("PutCredentials without a key: err = %v, want ErrNoCredentialKey", err)
	}
	if _, err := keyless.Credentials(ctx, "p1"); !errors.Is(err, pebblestore.ErrNoCredentialKey) {
		t.Errorf("Credentials without a key: err = %v, want ErrNoCredentialKey", err)
	}
}

func TestCredentialKeySize(t *testing.T) {
	if _, err := pebblestore.Open(t.TempDir(), pebblestore.Options{CredentialKey: []byte("short")}); err == nil {
		t.Fatal("Open with a 5-byte credential key succeeded")
	}
}
