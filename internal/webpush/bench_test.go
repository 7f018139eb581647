package webpush

import (
	"testing"
	"time"
)

// BenchmarkEncrypt seals a 1 KiB message with a fresh sender key and salt,
// as every real message is: one P-256 key generation and one ECDH dominate.
func BenchmarkEncrypt(b *testing.B) {
	_, keys, err := GenerateKeys()
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 1024)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := Encrypt(msg, keys, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecrypt opens a 1 KiB message: header validation (an on-curve
// check of the key id), one ECDH, HKDF and AES-GCM.
func BenchmarkDecrypt(b *testing.B) {
	priv, keys, err := GenerateKeys()
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 1024)
	body, err := Encrypt(msg, keys, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := Decrypt(body, priv, keys.Auth); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignVAPID signs one token (one ECDSA P-256 signature). Senders
// can reuse a token for every message to the same origin until near exp.
func BenchmarkSignVAPID(b *testing.B) {
	f := newVAPIDFixture(b)
	for b.Loop() {
		if _, err := SignVAPID(f.key, "https://push.example.net", "mailto:ops@example.com", f.now.Add(12*time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyVAPID is the push service's cost per message on a
// restricted subscription (one ECDSA verification), before any caching.
func BenchmarkVerifyVAPID(b *testing.B) {
	f := newVAPIDFixture(b)
	header := "vapid t=" + f.good(b) + ", k=" + f.k
	for b.Loop() {
		if _, err := VerifyVAPID(header, "", "https://push.example.net", f.now); err != nil {
			b.Fatal(err)
		}
	}
}
