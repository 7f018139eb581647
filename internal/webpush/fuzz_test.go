package webpush

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzDecrypt feeds arbitrary bodies to Decrypt with the RFC 8291
// receiver's keys. Decrypt must never panic; every error must wrap one of
// the package's sentinels; the valid seeds must decrypt to their
// plaintexts; and any other body that decrypts must have come from a seed
// by changing only what the tag does not cover (the record size, as long
// as the records are cut the same way).
func FuzzDecrypt(f *testing.F) {
	ua, keys, as := rfcKeys(f)
	valid := map[string]string{
		string(b64(f, rfcBody)): string(b64(f, rfcPlaintext)),
	}
	for _, msg := range []string{"", "x", strings.Repeat("long message ", 300)} {
		body, err := Encrypt([]byte(msg), keys, &EncryptOptions{SenderKey: as, Salt: b64(f, rfcSalt), Padding: 7})
		if err != nil {
			f.Fatal(err)
		}
		valid[string(body)] = msg
	}
	valid[string(sealRecords(f, keys, as, 20, rec("abc", 1, 0), rec("d", 2, 0)))] = "abcd"
	for body := range valid {
		f.Add([]byte(body))
	}
	good := b64(f, rfcBody)
	f.Add(good[:86])
	f.Add(good[:21])
	f.Add([]byte{})
	f.Add(append(bytes.Clone(good[:20]), 0x41))
	f.Add(sealRecords(f, keys, as, 4096, rec("hi", 1, 0)))

	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := Decrypt(body, ua, keys.Auth)
		if want, ok := valid[string(body)]; ok {
			if err != nil || string(got) != want {
				t.Fatalf("valid seed: Decrypt = %q, %v; want %q", got, err, want)
			}
			return
		}
		if err != nil {
			if got != nil {
				t.Fatalf("Decrypt returned %d bytes with error %v", len(got), err)
			}
			sentinels := []error{ErrTruncated, ErrKeyID, ErrRecordSize, ErrDecrypt, ErrPadding}
			found := false
			for _, s := range sentinels {
				found = found || errors.Is(err, s)
			}
			if !found {
				t.Fatalf("error %v wraps none of the sentinels", err)
			}
			return
		}
		// Only the (unauthenticated) rs field may differ from a seed.
		masked := bytes.Clone(body)
		if len(masked) >= 20 {
			copy(masked[16:20], []byte{0, 0, 0, 0})
		}
		for seed, msg := range valid {
			s := []byte(seed)
			copy(s[16:20], []byte{0, 0, 0, 0})
			if bytes.Equal(s, masked) && string(got) == msg {
				return
			}
		}
		t.Fatalf("Decrypt accepted a body that is no seed: %x → %q", body, got)
	})
}

// FuzzVerifyVAPID feeds arbitrary Authorization and Crypto-Key headers to
// VerifyVAPID. It must never panic; errors must wrap ErrNoVAPID or
// ErrInvalidVAPID; and whatever it accepts must have been signed by one of
// the two keys that signed the seeds (the fuzzer may rearrange a header
// around a seed's token, but not forge a signature), whose public key
// VerifyVAPID returns. (ECDSA signatures are randomized, so the workers of
// a fuzzing run sign different tokens; the keys are fixed.)
func FuzzVerifyVAPID(f *testing.F) {
	fx := newVAPIDFixture(f)
	rfcNow := time.Unix(rfcVAPIDExp, 0).Add(-time.Hour)
	good := fx.good(f)
	signers := [][]byte{b64(f, fx.k), b64(f, rfcVAPIDKey)}

	f.Add("vapid t="+good+", k="+fx.k, "", false)
	f.Add("vapid t="+rfcVAPIDToken+", k="+rfcVAPIDKey, "", true)
	f.Add("WebPush "+good, "dh=BAAA;p256ecdsa="+fx.k, false)
	f.Add("vapid k="+fx.k+",t=\""+good+"\", realm=x", "", false)
	f.Add("vapid t="+good, "", false)
	f.Add("Bearer x", "", false)
	f.Add("vapid t=a.b.c, k=AAAA", "", false)
	f.Add("vapid t=..., k=", "", false)
	f.Add("", "p256ecdsa=", false)
	f.Add("vapid ,,,=,t==,k==", ";;,=", true)

	f.Fuzz(func(t *testing.T, authorization, cryptoKey string, rfc bool) {
		now, origin := fx.now, "https://push.example.net"
		if rfc {
			now = rfcNow
		}
		pub, err := VerifyVAPID(authorization, cryptoKey, origin, now)
		if err != nil {
			if pub != nil {
				t.Fatal("a key returned with an error")
			}
			if !errors.Is(err, ErrNoVAPID) && !errors.Is(err, ErrInvalidVAPID) {
				t.Fatalf("error %v wraps neither sentinel", err)
			}
			return
		}
		for _, key := range signers {
			if bytes.Equal(pub, key) {
				return
			}
		}
		t.Fatalf("VerifyVAPID accepted %q / %q, signed by an unknown key %x", authorization, cryptoKey, pub)
	})
}

// FuzzParseKeys: no panic; accepted keys have the right sizes and
// re-encode to what was given (modulo padding).
func FuzzParseKeys(f *testing.F) {
	f.Add(rfcUAPublic, rfcAuthSecret)
	f.Add(rfcUAPublic+"=", rfcAuthSecret+"==")
	f.Add("", "")
	f.Add("BA", "=")
	f.Fuzz(func(t *testing.T, p256dh, auth string) {
		k, err := ParseKeys(p256dh, auth)
		if err != nil {
			if !errors.Is(err, ErrInvalidKeys) {
				t.Fatalf("error %v does not wrap ErrInvalidKeys", err)
			}
			return
		}
		if len(k.P256DH) != PublicKeyLen || len(k.Auth) != AuthLen {
			t.Fatalf("accepted keys of %d and %d bytes", len(k.P256DH), len(k.Auth))
		}
		j, err := k.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		want := `{"p256dh":"` + strings.TrimRight(p256dh, "=") + `","auth":"` + strings.TrimRight(auth, "=") + `"}`
		if string(j) != want {
			t.Fatalf("re-encoded as %s, want %s", j, want)
		}
	})
}
