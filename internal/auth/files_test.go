package auth

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkMode fails unless path is a regular file readable by its owner only.
func checkMode(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o600 {
		t.Errorf("%s has mode %v, want -rw-------", path, fi.Mode())
	}
}

func TestSecretFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // created on demand
	first, err := LoadOrCreateSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != SecretSize || bytes.Equal(first, make([]byte, SecretSize)) {
		t.Fatalf("secret %x, want %d random bytes", first, SecretSize)
	}
	checkMode(t, filepath.Join(dir, SecretFile))
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v, %v; want mode 0700", fi.Mode(), err)
	}

	again, err := LoadOrCreateSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) {
		t.Errorf("second load gave another secret")
	}
	other, err := LoadOrCreateSecret(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first, other) {
		t.Errorf("two data directories got the same secret")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("data directory holds %d entries, want only %s (no temporary files left)", len(entries), SecretFile)
	}

	if err := os.WriteFile(filepath.Join(dir, SecretFile), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateSecret(dir); err == nil || !strings.Contains(err.Error(), "5 bytes") {
		t.Errorf("corrupt secret: %v, want an error saying its size", err)
	}
}

func TestAdminTokenFile(t *testing.T) {
	dir := t.TempDir()
	tok, created, err := LoadOrCreateAdminToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !created || len(tok) != 43 {
		t.Fatalf("first load: %q created=%v, want a new 43-character token", tok, created)
	}
	path := filepath.Join(dir, AdminTokenFile)
	checkMode(t, path)

	again, created, err := LoadOrCreateAdminToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if created || again != tok {
		t.Errorf("second load: %q created=%v, want %q not created", again, created, tok)
	}

	// An operator's own token, with the newline an editor adds.
	if err := os.WriteFile(path, []byte("  my-own-admin-token-0123456789\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	own, created, err := LoadOrCreateAdminToken(dir)
	if err != nil || created || own != "my-own-admin-token-0123456789" {
		t.Errorf("operator's token: %q created=%v err=%v", own, created, err)
	}

	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateAdminToken(dir); err == nil {
		t.Error("a 5-character admin token was accepted")
	}
}

func TestFilesUnreadable(t *testing.T) {
	dir := t.TempDir()
	// A directory where the file should be cannot be read as one.
	if err := os.Mkdir(filepath.Join(dir, SecretFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateSecret(dir); err == nil {
		t.Error("LoadOrCreateSecret read a directory")
	}
	// A data directory path that is a file.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateAdminToken(file); err == nil {
		t.Error("LoadOrCreateAdminToken used a file as the data directory")
	}
}
