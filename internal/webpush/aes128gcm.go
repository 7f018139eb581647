package webpush

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Sizes of the aes128gcm body (RFC 8188 §2, RFC 8291 §4).
const (
	// MaxPayload is the largest body that every push service must accept
	// (RFC 8030 §7.2: no 413 for 4096 bytes or less); Herald's own push
	// service accepts exactly this much, and [Encrypt] produces no more.
	MaxPayload = 4096
	// HeaderLen is the length of a Web Push header: salt (16), record size
	// (4), key id length (1) and the sender's public key (65).
	HeaderLen = saltLen + 4 + 1 + PublicKeyLen
	// TagLen is the length of the AES-GCM authentication tag that ends
	// every record.
	TagLen = 16
	// MaxPlaintext is the most plaintext that fits a MaxPayload body: 4096
	// minus the header, the padding delimiter and the tag, 3993 bytes
	// (RFC 8291 §4).
	MaxPlaintext = MaxPayload - HeaderLen - 1 - TagLen
	// DefaultRecordSize is the record size [Encrypt] writes unless told
	// otherwise, the value browsers' libraries use.
	DefaultRecordSize = 4096
	// MinRecordSize is the smallest valid record size (RFC 8188 §2.1): a
	// full record holds at least one byte of content, its delimiter and the
	// tag. (The last record may be shorter: a delimiter and the tag.)
	MinRecordSize = 1 + TagLen + 1

	saltLen = 16
)

// The errors of [Encrypt], [Decrypt] and [ParseHeader]. Each returned
// error wraps exactly one of these (or [ErrInvalidKeys] for bad keys), and
// its message says what was wrong and where.
var (
	// ErrPayloadTooLarge: the body would exceed MaxPayload.
	ErrPayloadTooLarge = errors.New("webpush: payload too large")
	// ErrTruncated: the body ends inside the header or inside a record, or
	// its last record is marked as not the last one.
	ErrTruncated = errors.New("webpush: truncated body")
	// ErrKeyID: the key id is not the sender's 65-byte uncompressed P-256
	// public key.
	ErrKeyID = errors.New("webpush: invalid key id")
	// ErrRecordSize: the record size is below MinRecordSize, or (when
	// encrypting) too small for the plaintext to fit one record.
	ErrRecordSize = errors.New("webpush: invalid record size")
	// ErrDecrypt: a record failed authentication: wrong private key or auth
	// secret, or a body modified on the way.
	ErrDecrypt = errors.New("webpush: decryption failed")
	// ErrPadding: a record has no padding delimiter or the wrong one.
	ErrPadding = errors.New("webpush: invalid padding")
)

// EncryptOptions adjust [Encrypt]. The zero value (or a nil pointer) is
// right for every real message.
type EncryptOptions struct {
	// Salt is the 16-byte salt. Default: 16 fresh random bytes. Reusing a
	// salt with the same sender key reuses the AES-GCM key and nonce, which
	// breaks the encryption: set it only to reproduce test vectors.
	Salt []byte
	// SenderKey is the application server's ephemeral ECDH key, whose
	// public half becomes the key id. Default: a fresh P-256 key per
	// message. Like Salt, set it only for test vectors.
	SenderKey *ecdh.PrivateKey
	// RecordSize is the "rs" field. Default: DefaultRecordSize (4096). It
	// must be at least MinRecordSize and, because Web Push sends a single
	// record, greater than plaintext + 1 + Padding + TagLen (RFC 8291 §4).
	RecordSize int
	// Padding is the number of zero bytes added after the delimiter, to
	// hide the length of the plaintext from the push service. Default: 0.
	// MaxPlaintext - len(plaintext) pads every body to MaxPayload bytes.
	Padding int
}

// Encrypt seals plaintext for the receiver that published to, producing
// the body of a Web Push message: the RFC 8188 header (salt, record size,
// key id = the sender's ephemeral public key) and a single aes128gcm record
// (RFC 8291 §4). Send it with "Content-Encoding: aes128gcm". Bodies larger
// than MaxPayload are refused with ErrPayloadTooLarge.
func Encrypt(plaintext []byte, to Keys, opts *EncryptOptions) ([]byte, error) {
	uaPublic, err := to.publicKey()
	if err != nil {
		return nil, err
	}
	var o EncryptOptions
	if opts != nil {
		o = *opts
	}
	rs := o.RecordSize
	if rs == 0 {
		rs = DefaultRecordSize
	}
	if rs < MinRecordSize || rs > math.MaxUint32 {
		return nil, fmt.Errorf("%w: %d is outside [%d, 2^32)", ErrRecordSize, rs, MinRecordSize)
	}
	if o.Padding < 0 {
		return nil, fmt.Errorf("webpush: negative padding %d", o.Padding)
	}
	if len(plaintext) > MaxPayload || o.Padding > MaxPayload || HeaderLen+len(plaintext)+1+o.Padding+TagLen > MaxPayload {
		return nil, fmt.Errorf("%w: %d bytes of plaintext and %d of padding make a body over %d bytes (at most %d bytes of plaintext fit)",
			ErrPayloadTooLarge, len(plaintext), o.Padding, MaxPayload, MaxPlaintext)
	}
	recordLen := len(plaintext) + 1 + o.Padding + TagLen
	if recordLen >= rs {
		return nil, fmt.Errorf("%w: a %d-byte record needs a record size above %d, have %d", ErrRecordSize, recordLen, recordLen, rs)
	}

	salt := o.Salt
	if salt == nil {
		salt = make([]byte, saltLen)
		rand.Read(salt) // never fails (crypto/rand, Go 1.24+)
	} else if len(salt) != saltLen {
		return nil, fmt.Errorf("webpush: salt is %d bytes, want %d", len(salt), saltLen)
	}
	sender := o.SenderKey
	if sender == nil {
		if sender, err = ecdh.P256().GenerateKey(rand.Reader); err != nil {
			return nil, fmt.Errorf("webpush: generating the sender key: %w", err)
		}
	} else if sender.Curve() != ecdh.P256() {
		return nil, errors.New("webpush: the sender key is not a P-256 key")
	}

	secret, err := sender.ECDH(uaPublic)
	if err != nil {
		return nil, fmt.Errorf("webpush: ECDH: %w", err)
	}
	asPublic := sender.PublicKey().Bytes()
	d, err := derive(secret, to.Auth, to.P256DH, asPublic, salt)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(d.cek)
	if err != nil {
		return nil, err
	}

	body := make([]byte, HeaderLen, HeaderLen+recordLen)
	copy(body, salt)
	binary.BigEndian.PutUint32(body[saltLen:], uint32(rs))
	body[saltLen+4] = PublicKeyLen
	copy(body[saltLen+5:], asPublic)

	record := make([]byte, recordLen-TagLen) // plaintext, 0x02, zeros
	copy(record, plaintext)
	record[len(plaintext)] = lastDelimiter
	return aead.Seal(body, d.nonce, record, nil), nil
}

// Padding delimiters (RFC 8188 §2): the first non-zero byte from the end
// of a record's plaintext.
const (
	moreDelimiter = 0x01 // a record other than the last
	lastDelimiter = 0x02 // the last record
)

// Decrypt opens a Web Push body with the receiver's private key and auth
// secret and returns the plaintext.
//
// It validates the header ([ParseHeader]), repeats the sender's key
// derivation, and opens the records. Web Push senders use a single record
// (RFC 8291 §4), but some libraries (npm web-push) split plaintext larger
// than a record, so Decrypt follows RFC 8188: the body after the header is
// cut into records of exactly rs bytes, the last one possibly shorter;
// every record but the last must end its plaintext with the delimiter 0x01
// and the last with 0x02, followed only by zeros. A last record marked 0x01
// means the body was cut at a record boundary (ErrTruncated); a 0x02 before
// the end means records were appended (ErrPadding). Record i is sealed with
// the derived nonce XOR i, so reordered records fail authentication.
func Decrypt(body []byte, priv *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if priv == nil || priv.Curve() != ecdh.P256() {
		return nil, fmt.Errorf("%w: the private key is not a P-256 key", ErrInvalidKeys)
	}
	if len(auth) != AuthLen {
		return nil, fmt.Errorf("%w: auth is %d bytes, want %d", ErrInvalidKeys, len(auth), AuthLen)
	}
	h, err := ParseHeader(body)
	if err != nil {
		return nil, err
	}
	records := body[HeaderLen:]
	if len(records) == 0 {
		return nil, fmt.Errorf("%w: no record after the %d-byte header", ErrTruncated, HeaderLen)
	}

	sender, err := ecdh.P256().NewPublicKey(h.KeyID)
	if err != nil { // ParseHeader checked it; kept for safety
		return nil, fmt.Errorf("%w: not a P-256 point", ErrKeyID)
	}
	secret, err := priv.ECDH(sender)
	if err != nil {
		return nil, fmt.Errorf("%w: ECDH with the key id: %v", ErrKeyID, err)
	}
	d, err := derive(secret, auth, priv.PublicKey().Bytes(), h.KeyID, h.Salt)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(d.cek)
	if err != nil {
		return nil, err
	}

	rs := uint64(h.RecordSize)
	out := make([]byte, 0, len(records))
	nonce := make([]byte, len(d.nonce))
	for i := uint64(0); len(records) > 0; i++ {
		n := len(records)
		if uint64(n) > rs {
			n = int(rs)
		}
		record := records[:n]
		records = records[n:]
		last := len(records) == 0
		if n < 1+TagLen {
			return nil, fmt.Errorf("%w: record %d is %d bytes, less than a delimiter and a %d-byte tag", ErrTruncated, i, n, TagLen)
		}
		recordNonce(nonce, d.nonce, i)
		start := len(out)
		out, err = aead.Open(out, nonce, record, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: record %d does not authenticate (wrong private key or auth secret, or a modified body)", ErrDecrypt, i)
		}
		j := len(out) - 1
		for j >= start && out[j] == 0 {
			j--
		}
		switch {
		case j < start:
			return nil, fmt.Errorf("%w: record %d has no delimiter (its plaintext is all zeros)", ErrPadding, i)
		case out[j] == lastDelimiter && !last:
			return nil, fmt.Errorf("%w: record %d is marked last (0x02) but more records follow", ErrPadding, i)
		case out[j] == moreDelimiter && last:
			return nil, fmt.Errorf("%w: the final record %d is marked non-final (0x01): the body ends early", ErrTruncated, i)
		case out[j] != lastDelimiter && out[j] != moreDelimiter:
			return nil, fmt.Errorf("%w: record %d ends with 0x%02x, want the delimiter 0x01 or 0x02", ErrPadding, i, out[j])
		}
		out = out[:j]
	}
	return out, nil
}

// Header is the clear-text start of an aes128gcm body (RFC 8188 §2.1), as
// Web Push fills it in (RFC 8291 §4). A push service can read it without
// any key: to refuse bodies that are not Web Push messages, or to compare
// the key id with the VAPID key (RFC 8292 §3.2: they must differ).
type Header struct {
	// Salt is 16 random bytes chosen by the sender for this message.
	Salt []byte
	// RecordSize is "rs", the size of each record but the last.
	RecordSize uint32
	// KeyID is the sender's ephemeral public key, a 65-byte uncompressed
	// P-256 point.
	KeyID []byte
}

// ParseHeader reads and validates the HeaderLen-byte header at the start
// of body: a record size of at least MinRecordSize (ErrRecordSize) and a
// key id that is a 65-byte uncompressed P-256 point (ErrKeyID). It does not
// look at the records. The returned slices alias body.
func ParseHeader(body []byte) (Header, error) {
	const fixed = saltLen + 4 + 1
	if len(body) < fixed {
		return Header{}, fmt.Errorf("%w: %d bytes, shorter than the %d bytes of salt, record size and key id length", ErrTruncated, len(body), fixed)
	}
	h := Header{Salt: body[:saltLen], RecordSize: binary.BigEndian.Uint32(body[saltLen:])}
	if h.RecordSize < MinRecordSize {
		return Header{}, fmt.Errorf("%w: %d, below the minimum %d", ErrRecordSize, h.RecordSize, MinRecordSize)
	}
	if idlen := int(body[fixed-1]); idlen != PublicKeyLen {
		return Header{}, fmt.Errorf("%w: key id length %d, want %d (the sender's uncompressed P-256 public key)", ErrKeyID, idlen, PublicKeyLen)
	}
	if len(body) < HeaderLen {
		return Header{}, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrTruncated, len(body), HeaderLen)
	}
	h.KeyID = body[fixed:HeaderLen]
	if _, err := ecdh.P256().NewPublicKey(h.KeyID); err != nil {
		return Header{}, fmt.Errorf("%w: not an uncompressed P-256 point", ErrKeyID)
	}
	return h, nil
}

// derivation holds every value of the RFC 8291 §3.3–3.4 key schedule.
// Encrypt and Decrypt need only cek and nonce; the others are kept so that
// the tests can compare each step with RFC 8291 Appendix A.
type derivation struct {
	prkKey  []byte // HKDF-Extract(salt=auth secret, IKM=ECDH secret)
	keyInfo []byte // "WebPush: info" 0x00 || ua_public || as_public
	ikm     []byte // HKDF-Expand(prkKey, keyInfo, 32)
	prk     []byte // HKDF-Extract(salt, ikm)
	cek     []byte // HKDF-Expand(prk, cekInfo, 16): the AES-128 key
	nonce   []byte // HKDF-Expand(prk, nonceInfo, 12): the base nonce
}

// The HKDF info strings of RFC 8291 §3.4 and RFC 8188 §2.2–2.3.
const (
	keyInfoPrefix = "WebPush: info\x00"
	cekInfo       = "Content-Encoding: aes128gcm\x00"
	nonceInfo     = "Content-Encoding: nonce\x00"
)

// derive runs the key schedule. Two HKDF-SHA-256 rounds: the first binds
// the ECDH secret to the auth secret and both public keys, so only this
// receiver and this sender get the same input keying material; the second
// mixes in the per-message salt and yields the content key and nonce.
func derive(ecdhSecret, auth, uaPublic, asPublic, salt []byte) (derivation, error) {
	var d derivation
	var err error
	if d.prkKey, err = hkdf.Extract(sha256.New, ecdhSecret, auth); err != nil {
		return d, fmt.Errorf("webpush: HKDF: %w", err)
	}
	d.keyInfo = make([]byte, 0, len(keyInfoPrefix)+2*PublicKeyLen)
	d.keyInfo = append(append(append(d.keyInfo, keyInfoPrefix...), uaPublic...), asPublic...)
	if d.ikm, err = hkdf.Expand(sha256.New, d.prkKey, string(d.keyInfo), 32); err != nil {
		return d, fmt.Errorf("webpush: HKDF: %w", err)
	}
	if d.prk, err = hkdf.Extract(sha256.New, d.ikm, salt); err != nil {
		return d, fmt.Errorf("webpush: HKDF: %w", err)
	}
	if d.cek, err = hkdf.Expand(sha256.New, d.prk, cekInfo, 16); err != nil {
		return d, fmt.Errorf("webpush: HKDF: %w", err)
	}
	if d.nonce, err = hkdf.Expand(sha256.New, d.prk, nonceInfo, 12); err != nil {
		return d, fmt.Errorf("webpush: HKDF: %w", err)
	}
	return d, nil
}

// newAEAD returns AES-128-GCM with the standard 12-byte nonce and 16-byte
// tag.
func newAEAD(cek []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, fmt.Errorf("webpush: AES: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("webpush: GCM: %w", err)
	}
	return aead, nil
}

// recordNonce writes the nonce of record i into dst: the base nonce with i,
// as a 96-bit big-endian number, XORed in (RFC 8188 §2.3). Record 0 uses
// the base nonce itself.
func recordNonce(dst, base []byte, i uint64) {
	copy(dst, base)
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], i)
	for k, b := range seq {
		dst[len(dst)-8+k] ^= b
	}
}
