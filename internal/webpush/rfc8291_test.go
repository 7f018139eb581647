package webpush

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"testing"
)

// The example of RFC 8291 §5 and the intermediate values of its Appendix
// A, verbatim (base64url without padding).
const (
	rfcPlaintext  = "V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24"
	rfcASPublic   = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
	rfcASPrivate  = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
	rfcUAPublic   = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
	rfcUAPrivate  = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
	rfcSalt       = "DGv6ra1nlYgDCS1FRnbzlw"
	rfcAuthSecret = "BTBZMqHH6r4Tts7J_aSIgg"

	rfcECDHSecret = "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs"
	rfcPRKKey     = "Snr3JMxaHVDXHWJn5wdC52WjpCtd2EIEGBykDcZW32k"
	rfcKeyInfo    = "V2ViUHVzaDogaW5mbwAEJXGyvs3942BVGq8e0PTNNmwR" +
		"zr5VX4m8t7GGpTM5FzFo7OLr4BhZe9MEebhuPI-OztV3" +
		"ylkYfpJGmQ22ggCLDgT-M_SrDepxkU21WCP3O1SUj0Ew" +
		"bZIHMtu5pZpTKGSCIA5Zent7wmC6HCJ5mFgJkuk5cwAv" +
		"MBKiiujwa7t45ewP"
	rfcIKM        = "S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg"
	rfcPRK        = "09_eUZGrsvxChDCGRCdkLiDXrReGOEVeSCdCcPBSJSc"
	rfcCEKInfo    = "Q29udGVudC1FbmNvZGluZzogYWVzMTI4Z2NtAA"
	rfcCEK        = "oIhVW04MRdy2XN9CiKLxTg"
	rfcNonceInfo  = "Q29udGVudC1FbmNvZGluZzogbm9uY2UA"
	rfcNonce      = "4h_95klXJ5E_qnoN"
	rfcHeader     = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
	rfcPadded     = "V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24C"
	rfcCiphertext = "8pfeW0KbunFT06SuDKoJH9Ql87S1QUrdirN6GcG7sFz1y1sqLgVi1VhjVkHsUoEsbI_0LpXMuGvnzQ"
	rfcBody       = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"

	// rfcExampleBody is the body of the HTTP request of RFC 8291 §5,
	// wrapped over three lines there. It is the same as rfcBody.
	rfcExampleBody = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml" +
		"mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT" +
		"pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)

// b64 decodes unpadded base64url test data.
func b64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("test data %q: %v", s, err)
	}
	return b
}

// rfcKeys returns the RFC's receiver (private key and subscription keys)
// and sender key.
func rfcKeys(t testing.TB) (ua *ecdh.PrivateKey, keys Keys, as *ecdh.PrivateKey) {
	t.Helper()
	ua, err := ecdh.P256().NewPrivateKey(b64(t, rfcUAPrivate))
	if err != nil {
		t.Fatal(err)
	}
	as, err = ecdh.P256().NewPrivateKey(b64(t, rfcASPrivate))
	if err != nil {
		t.Fatal(err)
	}
	keys, err = ParseKeys(rfcUAPublic, rfcAuthSecret)
	if err != nil {
		t.Fatal(err)
	}
	return ua, keys, as
}

// TestRFC8291Keys checks that the RFC's private keys have the RFC's public
// keys, so that the other tests start from consistent inputs.
func TestRFC8291Keys(t *testing.T) {
	ua, keys, as := rfcKeys(t)
	if !bytes.Equal(ua.PublicKey().Bytes(), b64(t, rfcUAPublic)) || !bytes.Equal(keys.P256DH, b64(t, rfcUAPublic)) {
		t.Errorf("receiver public key does not match RFC 8291 §5")
	}
	if !bytes.Equal(as.PublicKey().Bytes(), b64(t, rfcASPublic)) {
		t.Errorf("sender public key does not match RFC 8291 §5")
	}
	if rfcExampleBody != rfcBody {
		t.Errorf("the §5 request body and the Appendix A final body differ")
	}
}

// TestRFC8291Derivation compares every step of the key schedule, from both
// sides of the ECDH, with RFC 8291 Appendix A.
func TestRFC8291Derivation(t *testing.T) {
	ua, keys, as := rfcKeys(t)
	fromSender, err := as.ECDH(ua.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	fromReceiver, err := ua.ECDH(as.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	d, err := derive(fromSender, keys.Auth, keys.P256DH, as.PublicKey().Bytes(), b64(t, rfcSalt))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"ecdh_secret (sender side)", fromSender, rfcECDHSecret},
		{"ecdh_secret (receiver side)", fromReceiver, rfcECDHSecret},
		{"PRK_key", d.prkKey, rfcPRKKey},
		{"key_info", d.keyInfo, rfcKeyInfo},
		{"IKM", d.ikm, rfcIKM},
		{"PRK", d.prk, rfcPRK},
		{"cek_info", []byte(cekInfo), rfcCEKInfo},
		{"CEK", d.cek, rfcCEK},
		{"nonce_info", []byte(nonceInfo), rfcNonceInfo},
		{"NONCE", d.nonce, rfcNonce},
	}
	for _, tt := range tests {
		if want := b64(t, tt.want); !bytes.Equal(tt.got, want) {
			t.Errorf("%s = %x, want %x", tt.name, tt.got, want)
		}
	}
}

// TestRFC8291Encrypt encrypts the RFC's plaintext with the RFC's salt and
// sender key and expects the RFC's body byte for byte.
func TestRFC8291Encrypt(t *testing.T) {
	_, keys, as := rfcKeys(t)
	body, err := Encrypt(b64(t, rfcPlaintext), keys, &EncryptOptions{Salt: b64(t, rfcSalt), SenderKey: as})
	if err != nil {
		t.Fatal(err)
	}
	want := b64(t, rfcBody)
	if !bytes.Equal(body, want) {
		t.Fatalf("body:\n got %x\nwant %x", body, want)
	}
	// The parts, for a readable failure if the whole ever differs.
	if !bytes.Equal(body[:HeaderLen], b64(t, rfcHeader)) {
		t.Errorf("header = %x, want %x", body[:HeaderLen], b64(t, rfcHeader))
	}
	if !bytes.Equal(body[HeaderLen:], b64(t, rfcCiphertext)) {
		t.Errorf("ciphertext = %x, want %x", body[HeaderLen:], b64(t, rfcCiphertext))
	}
	if len(want) != 144 {
		t.Errorf("the RFC body is %d bytes, want 86 + 41 + 1 + 16 = 144", len(want))
	}
}

// TestRFC8291Decrypt decrypts the RFC's body with the receiver's private
// key and auth secret, and checks the padded plaintext the record holds.
func TestRFC8291Decrypt(t *testing.T) {
	ua, keys, _ := rfcKeys(t)
	got, err := Decrypt(b64(t, rfcBody), ua, keys.Auth)
	if err != nil {
		t.Fatal(err)
	}
	if want := b64(t, rfcPlaintext); !bytes.Equal(got, want) {
		t.Fatalf("Decrypt = %q, want %q", got, want)
	}
	if string(got) != "When I grow up, I want to be a watermelon" {
		t.Errorf("plaintext %q is not the RFC's sentence", got)
	}

	// The record's plaintext is the message and the delimiter 0x02.
	d, err := derive(b64(t, rfcECDHSecret), keys.Auth, keys.P256DH, b64(t, rfcASPublic), b64(t, rfcSalt))
	if err != nil {
		t.Fatal(err)
	}
	aead, err := newAEAD(d.cek)
	if err != nil {
		t.Fatal(err)
	}
	padded, err := aead.Open(nil, d.nonce, b64(t, rfcCiphertext), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := b64(t, rfcPadded); !bytes.Equal(padded, want) {
		t.Errorf("record plaintext = %x, want %x", padded, want)
	}
}
