package auth

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File names in the data directory.
const (
	// SecretFile holds the server secret that signs access tokens.
	SecretFile = "server.key"
	// AdminTokenFile holds the admin credential, one line of text.
	AdminTokenFile = "admin-token"
)

// SecretSize is the size of the server secret in bytes.
const SecretSize = 32

// minAdminTokenLen is the shortest admin token accepted from the file (an
// operator may write their own): 16 characters.
const minAdminTokenLen = 16

// LoadOrCreateSecret returns the server secret kept in
// <dataDir>/server.key, creating the directory (0700) and the file (0600,
// 32 random bytes) the first time. Access tokens signed with it stay valid
// across restarts that use the same data directory.
func LoadOrCreateSecret(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, SecretFile)
	b, err := loadOrCreate(path, func() []byte { return randomBytes(SecretSize) })
	if err != nil {
		return nil, fmt.Errorf("server secret: %w", err)
	}
	if len(b) != SecretSize {
		return nil, fmt.Errorf("server secret: %s holds %d bytes, want %d; restore it from a backup or delete it (every access token issued so far then stops working)", path, len(b), SecretSize)
	}
	return b, nil
}

// LoadOrCreateAdminToken returns the admin token kept in
// <dataDir>/admin-token, creating the directory (0700) and the file (0600, a
// random 256-bit token) the first time; created reports that it did. An
// operator may replace the file's contents with a token of their own (at
// least 16 characters; surrounding white space is ignored).
func LoadOrCreateAdminToken(dataDir string) (token string, created bool, err error) {
	path := filepath.Join(dataDir, AdminTokenFile)
	var fresh string
	b, err := loadOrCreate(path, func() []byte {
		fresh = RandomToken(32)
		return []byte(fresh + "\n")
	})
	if err != nil {
		return "", false, fmt.Errorf("admin token: %w", err)
	}
	token = string(bytes.TrimSpace(b))
	if len(token) < minAdminTokenLen {
		return "", false, fmt.Errorf("admin token: %s holds a token of %d characters, want at least %d; delete it to have a new one created", path, len(token), minAdminTokenLen)
	}
	return token, fresh != "" && token == fresh, nil
}

// loadOrCreate reads path, or creates it with the contents from make when
// it does not exist. Creation is atomic and never overwrites: the contents
// go to a temporary file (0600) that is synced and then hard-linked to
// path, so a crash leaves either no file or a complete one, and when two
// processes race the loser reads the winner's file.
func loadOrCreate(path string, contents func() []byte) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	defer os.Remove(tmp.Name())
	want := contents()
	if _, err := tmp.Write(want); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("read: %w", err)
			}
			return b, nil
		}
		return nil, fmt.Errorf("create: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	return want, nil
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open data directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync data directory: %w", err)
	}
	return nil
}
