package webpush

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/binary"
	"errors"
	mrand "math/rand/v2"
	"strings"
	"testing"
)

// TestRoundTripEverySize encrypts every plaintext length from 0 to the Web
// Push maximum, with fresh sender keys and salts, and decrypts it again.
func TestRoundTripEverySize(t *testing.T) {
	priv, keys, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	if MaxPlaintext != 3993 {
		t.Fatalf("MaxPlaintext = %d, want 4096 - 86 (header) - 1 (delimiter) - 16 (tag) = 3993", MaxPlaintext)
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	all := make([]byte, MaxPlaintext)
	for i := range all {
		all[i] = byte(rng.Uint32())
	}
	for n := 0; n <= MaxPlaintext; n++ {
		body, err := Encrypt(all[:n], keys, nil)
		if err != nil {
			t.Fatalf("Encrypt(%d bytes): %v", n, err)
		}
		if len(body) != n+103 {
			t.Fatalf("Encrypt(%d bytes) = %d bytes, want %d (86 + n + 1 + 16)", n, len(body), n+103)
		}
		got, err := Decrypt(body, priv, keys.Auth)
		if err != nil {
			t.Fatalf("Decrypt(%d bytes): %v", n, err)
		}
		if !bytes.Equal(got, all[:n]) {
			t.Fatalf("round trip of %d bytes changed the plaintext", n)
		}
	}
	if _, err := Encrypt(make([]byte, MaxPlaintext+1), keys, nil); !errors.Is(err, ErrPayloadTooLarge) {
		t.Errorf("Encrypt(%d bytes) error = %v, want ErrPayloadTooLarge", MaxPlaintext+1, err)
	}
}

// TestRoundTripOptions covers random receivers, padding (up to a full
// 4096-byte body, as webpush-go sends) and record sizes.
func TestRoundTripOptions(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	tests := []struct {
		name string
		size int
		opts EncryptOptions
		want int // body length
	}{
		{"empty", 0, EncryptOptions{}, 103},
		{"padded to 4096 like webpush-go", 100, EncryptOptions{Padding: MaxPlaintext - 100}, 4096},
		{"max plaintext", MaxPlaintext, EncryptOptions{}, 4096},
		{"small record size", 10, EncryptOptions{RecordSize: 28}, 113},
		{"smallest record size", 0, EncryptOptions{RecordSize: MinRecordSize}, 103},
		{"padding", 41, EncryptOptions{Padding: 23}, 167},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 8 {
				priv, keys, err := GenerateKeys()
				if err != nil {
					t.Fatal(err)
				}
				msg := make([]byte, tt.size)
				for i := range msg {
					msg[i] = byte(rng.Uint32())
				}
				body, err := Encrypt(msg, keys, &tt.opts)
				if err != nil {
					t.Fatal(err)
				}
				if len(body) != tt.want {
					t.Errorf("body is %d bytes, want %d", len(body), tt.want)
				}
				h, err := ParseHeader(body)
				if err != nil {
					t.Fatal(err)
				}
				wantRS := uint32(tt.opts.RecordSize)
				if wantRS == 0 {
					wantRS = DefaultRecordSize
				}
				if h.RecordSize != wantRS {
					t.Errorf("rs = %d, want %d", h.RecordSize, wantRS)
				}
				got, err := Decrypt(body, priv, keys.Auth)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, msg) {
					t.Fatalf("round trip changed the plaintext")
				}
			}
		})
	}
}

// TestEncryptFreshness checks that, without options, two encryptions of
// the same message share neither salt nor sender key.
func TestEncryptFreshness(t *testing.T) {
	_, keys, _ := rfcKeys(t)
	a, err := Encrypt([]byte("x"), keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encrypt([]byte("x"), keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	ha, _ := ParseHeader(a)
	hb, _ := ParseHeader(b)
	if bytes.Equal(ha.Salt, hb.Salt) || bytes.Equal(ha.KeyID, hb.KeyID) {
		t.Errorf("two messages reuse a salt or a sender key")
	}
}

// TestEncryptRefuses lists the inputs Encrypt turns down.
func TestEncryptRefuses(t *testing.T) {
	_, keys, as := rfcKeys(t)
	p384, err := ecdh.P384().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		size    int
		keys    Keys
		opts    EncryptOptions
		wantErr error
		wantMsg string
	}{
		{"too large", MaxPlaintext + 1, keys, EncryptOptions{}, ErrPayloadTooLarge, "at most 3993 bytes"},
		{"padding makes it too large", 100, keys, EncryptOptions{Padding: MaxPlaintext - 99}, ErrPayloadTooLarge, "100 bytes of plaintext and 3894 of padding"},
		{"huge padding", 0, keys, EncryptOptions{Padding: 1 << 62}, ErrPayloadTooLarge, ""},
		{"negative padding", 0, keys, EncryptOptions{Padding: -1}, nil, "negative padding"},
		{"record size below 18", 0, keys, EncryptOptions{RecordSize: 17}, ErrRecordSize, "outside [18, 2^32)"},
		{"record size above 2^32-1", 0, keys, EncryptOptions{RecordSize: 1 << 32}, ErrRecordSize, ""},
		{"record equal to rs", 1, keys, EncryptOptions{RecordSize: 18}, ErrRecordSize, "above 18, have 18"},
		{"short salt", 1, keys, EncryptOptions{Salt: make([]byte, 15)}, nil, "salt is 15 bytes"},
		{"sender key on P-384", 1, keys, EncryptOptions{SenderKey: p384}, nil, "not a P-256 key"},
		{"p256dh too short", 1, Keys{P256DH: keys.P256DH[:64], Auth: keys.Auth}, EncryptOptions{}, ErrInvalidKeys, "p256dh is 64 bytes"},
		{"p256dh off the curve", 1, Keys{P256DH: flipped(keys.P256DH, 64), Auth: keys.Auth}, EncryptOptions{}, ErrInvalidKeys, "not an uncompressed P-256 point"},
		{"auth too short", 1, Keys{P256DH: keys.P256DH, Auth: keys.Auth[:15]}, EncryptOptions{}, ErrInvalidKeys, "auth is 15 bytes"},
		{"no keys", 1, Keys{}, EncryptOptions{SenderKey: as}, ErrInvalidKeys, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := Encrypt(make([]byte, tt.size), tt.keys, &tt.opts)
			if err == nil {
				t.Fatalf("Encrypt succeeded with a %d-byte body", len(body))
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

// flipped returns a copy of b with byte i inverted.
func flipped(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0xff
	return c
}

// sealRecords builds an aes128gcm body from record plaintexts given
// whole (content, delimiter, padding), so that tests can write what
// Encrypt never would: several records, wrong or missing delimiters.
func sealRecords(t testing.TB, to Keys, sender *ecdh.PrivateKey, rs int, records ...[]byte) []byte {
	t.Helper()
	uaPublic, err := to.publicKey()
	if err != nil {
		t.Fatal(err)
	}
	secret, err := sender.ECDH(uaPublic)
	if err != nil {
		t.Fatal(err)
	}
	salt := b64(t, rfcSalt)
	d, err := derive(secret, to.Auth, to.P256DH, sender.PublicKey().Bytes(), salt)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := newAEAD(d.cek)
	if err != nil {
		t.Fatal(err)
	}
	body := append([]byte(nil), salt...)
	body = binary.BigEndian.AppendUint32(body, uint32(rs))
	body = append(body, PublicKeyLen)
	body = append(body, sender.PublicKey().Bytes()...)
	nonce := make([]byte, 12)
	for i, r := range records {
		recordNonce(nonce, d.nonce, uint64(i))
		body = aead.Seal(body, nonce, r, nil)
	}
	return body
}

// rec is a record plaintext: content, then the delimiter, then zeros.
func rec(content string, delimiter byte, zeros int) []byte {
	return append(append([]byte(content), delimiter), make([]byte, zeros)...)
}

// TestDecryptRefuses lists malformed bodies and the error each gets.
// Every one is refused; none yields a partial plaintext.
func TestDecryptRefuses(t *testing.T) {
	ua, keys, as := rfcKeys(t)
	good := b64(t, rfcBody)
	other, otherKeys, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	otherSender, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// withByte returns good with body[i] = v.
	withByte := func(i int, v byte) []byte { c := bytes.Clone(good); c[i] = v; return c }
	withRS := func(rs uint32) []byte {
		c := bytes.Clone(good)
		binary.BigEndian.PutUint32(c[16:], rs)
		return c
	}
	otherKeyID := bytes.Clone(good)
	copy(otherKeyID[21:], otherSender.PublicKey().Bytes())
	compressed := bytes.Clone(good)
	compressed[21] = 0x02

	tests := []struct {
		name    string
		body    []byte
		priv    *ecdh.PrivateKey
		auth    []byte
		wantErr error
		wantMsg string
	}{
		{"empty", nil, ua, keys.Auth, ErrTruncated, "0 bytes"},
		{"cut in the fixed header", good[:20], ua, keys.Auth, ErrTruncated, "20 bytes"},
		{"cut in the key id", good[:85], ua, keys.Auth, ErrTruncated, "85 bytes, shorter than the 86-byte header"},
		{"header only", good[:86], ua, keys.Auth, ErrTruncated, "no record"},
		{"record shorter than a tag and delimiter", good[:86+16], ua, keys.Auth, ErrTruncated, "record 0 is 16 bytes"},
		{"cut inside the record (the tag cannot tell)", good[:len(good)-1], ua, keys.Auth, ErrDecrypt, "record 0"},
		{"key id length 64", withByte(20, 64), ua, keys.Auth, ErrKeyID, "key id length 64"},
		{"key id length 0", withByte(20, 0), ua, keys.Auth, ErrKeyID, "key id length 0"},
		{"key id length 66", withByte(20, 66), ua, keys.Auth, ErrKeyID, "key id length 66"},
		{"key id off the curve", withByte(84, good[84]^1), ua, keys.Auth, ErrKeyID, "not an uncompressed P-256 point"},
		{"key id compressed", compressed, ua, keys.Auth, ErrKeyID, "not an uncompressed P-256 point"},
		{"key id of another sender", otherKeyID, ua, keys.Auth, ErrDecrypt, "does not authenticate"},
		{"record size 0", withRS(0), ua, keys.Auth, ErrRecordSize, "0, below the minimum 18"},
		{"record size 17", withRS(17), ua, keys.Auth, ErrRecordSize, "17, below the minimum 18"},
		{"record size smaller than the record", withRS(18), ua, keys.Auth, ErrDecrypt, "record 0"},
		{"tampered tag", withByte(len(good)-1, good[len(good)-1]^1), ua, keys.Auth, ErrDecrypt, "record 0"},
		{"tampered ciphertext", withByte(90, good[90]^0x80), ua, keys.Auth, ErrDecrypt, ""},
		{"tampered salt", withByte(0, good[0]^1), ua, keys.Auth, ErrDecrypt, ""},
		{"wrong auth secret", good, ua, otherKeys.Auth, ErrDecrypt, "wrong private key or auth secret"},
		{"wrong private key", good, other, keys.Auth, ErrDecrypt, ""},
		{"auth secret of 15 bytes", good, ua, keys.Auth[:15], ErrInvalidKeys, "auth is 15 bytes"},
		{"no private key", good, nil, keys.Auth, ErrInvalidKeys, "not a P-256 key"},
		{"no delimiter", sealRecords(t, keys, as, 4096, make([]byte, 30)), ua, keys.Auth, ErrPadding, "no delimiter (its plaintext is all zeros)"},
		{"record of only a tag", sealRecords(t, keys, as, 4096, nil), ua, keys.Auth, ErrTruncated, "record 0 is 16 bytes"},
		{"delimiter 0x03", sealRecords(t, keys, as, 4096, rec("hi", 3, 0)), ua, keys.Auth, ErrPadding, "ends with 0x03"},
		{"data after the padding", sealRecords(t, keys, as, 4096, append(rec("hi", 2, 3), 'x')), ua, keys.Auth, ErrPadding, "ends with 0x78"},
		{"single record marked non-final", sealRecords(t, keys, as, 4096, rec("hi", 1, 0)), ua, keys.Auth, ErrTruncated, "marked non-final"},
		{"two records, the first marked final", sealRecords(t, keys, as, 20, rec("abc", 2, 0), rec("d", 2, 0)), ua, keys.Auth, ErrPadding, "record 0 is marked last"},
		{"two records, the last marked non-final", sealRecords(t, keys, as, 20, rec("abc", 1, 0), rec("d", 1, 0)), ua, keys.Auth, ErrTruncated, "final record 1"},
		{"second record dropped", sealRecords(t, keys, as, 20, rec("abc", 1, 0), rec("d", 2, 0))[:86+20], ua, keys.Auth, ErrTruncated, "final record 0 is marked non-final"},
		{"record appended after the final one", append(sealRecords(t, keys, as, 20, rec("abc", 2, 0)), sealRecords(t, keys, as, 20, rec("abc", 2, 0), rec("d", 2, 0))[86+20:]...), ua, keys.Auth, ErrPadding, "record 0 is marked last"},
		{"records swapped", swapRecords(sealRecords(t, keys, as, 20, rec("abc", 1, 0), rec("def", 2, 0)), 20), ua, keys.Auth, ErrDecrypt, "record 0"},
		{"last record too short", append(sealRecords(t, keys, as, 20, rec("abc", 1, 0), rec("def", 2, 0))[:86+20], make([]byte, 5)...), ua, keys.Auth, ErrTruncated, "record 1 is 5 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decrypt(tt.body, tt.priv, tt.auth)
			if err == nil {
				t.Fatalf("Decrypt = %q, want an error", got)
			}
			if got != nil {
				t.Errorf("Decrypt returned %d bytes with its error", len(got))
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

// swapRecords exchanges the two records of a body whose first record is
// rs bytes.
func swapRecords(body []byte, rs int) []byte {
	first := body[HeaderLen : HeaderLen+rs]
	second := body[HeaderLen+rs:]
	out := append([]byte(nil), body[:HeaderLen]...)
	return append(append(out, second...), first...)
}

// TestDecryptRecords shows the multi-record bodies Decrypt accepts, as
// RFC 8188 defines them: every record but the last exactly rs bytes and
// marked 0x01, the last marked 0x02, each with its own padding.
func TestDecryptRecords(t *testing.T) {
	ua, keys, as := rfcKeys(t)
	tests := []struct {
		name    string
		rs      int
		records [][]byte
		want    string
	}{
		{"one record", 4096, [][]byte{rec("hello", 2, 0)}, "hello"},
		{"one record with padding", 4096, [][]byte{rec("hello", 2, 100)}, "hello"},
		{"one record of exactly rs", 22, [][]byte{rec("hello", 2, 0)}, "hello"},
		{"empty message", 18, [][]byte{rec("", 2, 0)}, ""},
		{"two records", 20, [][]byte{rec("abc", 1, 0), rec("d", 2, 0)}, "abcd"},
		{"two records, the first padded", 20, [][]byte{rec("a", 1, 2), rec("bcd", 2, 0)}, "abcd"},
		{"a non-final record of only padding", 20, [][]byte{rec("", 1, 3), rec("xyz", 2, 0)}, "xyz"},
		{"three records, final of exactly rs", 20, [][]byte{rec("abc", 1, 0), rec("def", 1, 0), rec("ghi", 2, 0)}, "abcdefghi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := sealRecords(t, keys, as, tt.rs, tt.records...)
			got, err := Decrypt(body, ua, keys.Auth)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Decrypt = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestParseHeader reads the RFC body's header, which a push service can do
// without any key.
func TestParseHeader(t *testing.T) {
	h, err := ParseHeader(b64(t, rfcBody))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h.Salt, b64(t, rfcSalt)) || h.RecordSize != 4096 || !bytes.Equal(h.KeyID, b64(t, rfcASPublic)) {
		t.Errorf("ParseHeader = salt %x, rs %d, keyid %x; want the RFC's salt, 4096 and as_public", h.Salt, h.RecordSize, h.KeyID)
	}
}
