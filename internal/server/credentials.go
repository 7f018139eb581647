package server

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"

	"github.com/heraldpush/herald/internal/store/pebblestore"
)

// credentialKeyLabel is the HKDF info of the key that encrypts the
// projects' vendor credentials in the store; the server key's other uses
// (the access-token MAC) have labels of their own, so the keys are
// independent.
const credentialKeyLabel = "herald vendor credentials at rest v1"

// credentialKey derives the store's credential key from the server key
// (DATA/server.key): losing or replacing that file makes the stored vendor
// credentials unreadable, as it makes issued access tokens invalid.
func credentialKey(secret []byte) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, secret, nil, credentialKeyLabel, pebblestore.CredentialKeySize)
	if err != nil {
		return nil, fmt.Errorf("deriving the credential key: %w", err)
	}
	return k, nil
}
