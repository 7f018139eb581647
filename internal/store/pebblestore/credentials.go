package pebblestore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/heraldpush/herald/internal/store"
)

// Vendor credentials (store.CredentialStore) are kept encrypted at rest:
// cr/<project> holds a random 12-byte nonce followed by the AES-256-GCM
// seal of the credentials' JSON, with the record's key as additional data
// so that a value moved to another project's key does not open.

// CredentialKeySize is the size of Options.CredentialKey.
const CredentialKeySize = 32

// ErrNoCredentialKey is returned by PutCredentials, and by Credentials for
// a stored record, when the store was opened without a credential key.
var ErrNoCredentialKey = errors.New("the store was opened without a credential key: vendor credentials cannot be stored or read")

// credentialCipher returns the AEAD of key, nil for no key.
func credentialCipher(key []byte) (cipher.AEAD, error) {
	if key == nil {
		return nil, nil
	}
	if len(key) != CredentialKeySize {
		return nil, fmt.Errorf("credential key of %d bytes: want %d", len(key), CredentialKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("credential key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("credential key: %w", err)
	}
	return aead, nil
}

// PutCredentials implements store.CredentialStore.
func (s *Store) PutCredentials(ctx context.Context, c store.Credentials) error {
	if err := checkID("project id", c.ProjectID); err != nil {
		return fmt.Errorf("put credentials: %w", err)
	}
	if s.creds == nil {
		return fmt.Errorf("put credentials: %w", ErrNoCredentialKey)
	}
	plain, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("put credentials: %w", err)
	}
	key := entityKey(prefixCredentials, c.ProjectID)
	nonce := make([]byte, s.creds.NonceSize(), s.creds.NonceSize()+len(plain)+s.creds.Overhead())
	_, _ = rand.Read(nonce) // never fails (crypto/rand, Go 1.24+)
	sealed := s.creds.Seal(nonce, nonce, plain, key)
	clear(plain)
	return s.writeMeta(ctx, "put credentials", func(w *writer) error {
		if err := w.mustExist("project", c.ProjectID, entityKey(prefixProject, c.ProjectID)); err != nil {
			return err
		}
		w.set(key, sealed)
		return nil
	})
}

// Credentials implements store.CredentialStore.
func (s *Store) Credentials(ctx context.Context, projectID string) (store.Credentials, error) {
	if err := s.enter(ctx); err != nil {
		return store.Credentials{}, fmt.Errorf("get credentials: %w", err)
	}
	defer s.mu.RUnlock()
	key := entityKey(prefixCredentials, projectID)
	sealed, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return store.Credentials{}, fmt.Errorf("credentials of project %q: %w", projectID, store.ErrNotFound)
	}
	if err != nil {
		return store.Credentials{}, fmt.Errorf("get credentials of project %q: %w", projectID, err)
	}
	defer closer.Close()
	if s.creds == nil {
		return store.Credentials{}, fmt.Errorf("get credentials of project %q: %w", projectID, ErrNoCredentialKey)
	}
	n := s.creds.NonceSize()
	if len(sealed) < n {
		return store.Credentials{}, fmt.Errorf("get credentials of project %q: record of %d bytes is too short", projectID, len(sealed))
	}
	plain, err := s.creds.Open(nil, sealed[:n], sealed[n:], key)
	if err != nil {
		return store.Credentials{}, fmt.Errorf("get credentials of project %q: cannot decrypt them (was the server key replaced?): %w", projectID, err)
	}
	defer clear(plain)
	var c store.Credentials
	if err := json.Unmarshal(plain, &c); err != nil {
		return store.Credentials{}, fmt.Errorf("decode credentials of project %q: %w", projectID, err)
	}
	return c, nil
}

// VendorRegistrations implements store.Store: it walks the rv/ index and
// skips deleted registrations.
func (s *Store) VendorRegistrations(ctx context.Context, after string, limit int) ([]store.Registration, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("list vendor registrations: %w", err)
	}
	defer s.mu.RUnlock()
	lower, upper := prefixRange(prefixVendorRegs)
	if after != "" {
		lower = append(entityKey(prefixVendorRegs, after), 0)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("list vendor registrations: %w", err)
	}
	defer it.Close()
	var out []store.Registration
	for valid := it.First(); valid && (limit <= 0 || len(out) < limit); valid = it.Next() {
		token := string(it.Key()[len(prefixVendorRegs):])
		var r store.Registration
		found, err := s.getLocked(entityKey(prefixReg, token), &r)
		if err != nil {
			return nil, fmt.Errorf("list vendor registrations: %q: %w", token, err)
		}
		if found && !r.Deleted() && r.PlatformOf() != store.PlatformHerald {
			out = append(out, r)
		}
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("list vendor registrations: %w", err)
	}
	return out, nil
}

// checkPlatform refuses a registration whose platform is unknown or whose
// address does not match it.
func checkPlatform(r store.Registration) error {
	var ok bool
	switch r.PlatformOf() {
	case store.PlatformHerald:
		ok = r.WebPush == nil && r.APNs == nil && r.FCM == nil
	case store.PlatformWebPush:
		ok = r.WebPush != nil && r.APNs == nil && r.FCM == nil
	case store.PlatformAPNs:
		ok = r.APNs != nil && r.WebPush == nil && r.FCM == nil
	case store.PlatformFCM:
		ok = r.FCM != nil && r.WebPush == nil && r.APNs == nil
	default:
		return fmt.Errorf("%w: unknown platform %q", errBadID, r.Platform)
	}
	if !ok {
		return fmt.Errorf("%w: a registration of platform %q needs its address, and only that one", errBadID, r.PlatformOf())
	}
	return nil
}

// indexVendor adds a live registration of a vendor platform to rv/.
func (w *writer) indexVendor(r store.Registration) {
	if !r.Deleted() && r.PlatformOf() != store.PlatformHerald {
		w.set(entityKey(prefixVendorRegs, r.Token), nil)
	}
}
