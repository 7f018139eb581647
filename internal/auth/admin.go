package auth

import (
	"crypto/sha256"
	"crypto/subtle"
)

// Admin checks the admin credential. It keeps only the SHA-256 of the
// token, and compares hashes in constant time, so neither the token's
// contents nor its length leak through timing.
type Admin struct {
	hash [sha256.Size]byte
	set  bool
}

// NewAdmin returns a checker for token. An empty token accepts nothing.
func NewAdmin(token string) Admin {
	if token == "" {
		return Admin{}
	}
	return Admin{hash: sha256.Sum256([]byte(token)), set: true}
}

// Check reports whether bearer is the admin token.
func (a Admin) Check(bearer string) bool {
	h := sha256.Sum256([]byte(bearer))
	return subtle.ConstantTimeCompare(h[:], a.hash[:]) == 1 && a.set
}
