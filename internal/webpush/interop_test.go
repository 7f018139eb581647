package webpush

import (
	"bytes"
	"crypto/ecdh"
	"encoding/json"
	"os"
	"testing"
	"time"
)

// webPushVectors is testdata/web-push-3.6.7.json, written by
// testdata/gen-web-push.js with the real npm package web-push 3.6.7.
type webPushVectors struct {
	Generator string
	Receiver  struct{ Private, P256DH, Auth string }
	Bodies    []struct{ Plaintext, Body string }
	VAPID     struct {
		Public, Private, Audience, Subject string
		Now, Exp                           int64
		Authorization                      string
		LegacyAuthorization                string
		LegacyCryptoKey                    string
	}
}

func loadWebPushVectors(t testing.TB) *webPushVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/web-push-3.6.7.json")
	if err != nil {
		t.Fatal(err)
	}
	var v webPushVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

// TestWebPushNPMBodies decrypts bodies that npm web-push encrypted,
// including its two-record body for a plaintext larger than one record.
func TestWebPushNPMBodies(t *testing.T) {
	v := loadWebPushVectors(t)
	priv, err := ecdh.P256().NewPrivateKey(b64(t, v.Receiver.Private))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParseKeys(v.Receiver.P256DH, v.Receiver.Auth)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(priv.PublicKey().Bytes(), keys.P256DH) {
		t.Fatal("the receiver's private key does not match its p256dh")
	}
	if len(v.Bodies) != 5 {
		t.Fatalf("%d bodies in the vectors, want 5", len(v.Bodies))
	}
	for _, tc := range v.Bodies {
		want, body := b64(t, tc.Plaintext), b64(t, tc.Body)
		got, err := Decrypt(body, priv, keys.Auth)
		if err != nil {
			t.Errorf("%d-byte plaintext: %v", len(want), err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%d-byte plaintext: Decrypt returned %d other bytes", len(want), len(got))
		}
		// web-push sends len+103 bytes for one record; above 4079 bytes
		// of plaintext it starts a second 4096-byte record.
		wantLen := len(want) + 103
		if len(want) > DefaultRecordSize-TagLen-1 {
			wantLen += TagLen + 1
		}
		if len(body) != wantLen {
			t.Errorf("%d-byte plaintext: web-push body is %d bytes, expected %d", len(want), len(body), wantLen)
		}
	}
}

// TestWebPushNPMVAPID verifies the Authorization headers npm web-push
// sends, in both the RFC 8292 form and the legacy form, and reads its key
// format.
func TestWebPushNPMVAPID(t *testing.T) {
	v := loadWebPushVectors(t)
	now := time.Unix(v.VAPID.Now, 0)
	for _, tc := range []struct{ name, authorization, cryptoKey string }{
		{"vapid", v.VAPID.Authorization, ""},
		{"WebPush + Crypto-Key", v.VAPID.LegacyAuthorization, v.VAPID.LegacyCryptoKey},
	} {
		pub, err := VerifyVAPID(tc.authorization, tc.cryptoKey, v.VAPID.Audience+"/wpush/v2/abc", now)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !bytes.Equal(pub, b64(t, v.VAPID.Public)) {
			t.Errorf("%s: returned key %x, want web-push's public key", tc.name, pub)
		}
		if _, err := VerifyVAPID(tc.authorization, tc.cryptoKey, v.VAPID.Audience, time.Unix(v.VAPID.Exp, 0)); err == nil {
			t.Errorf("%s: accepted at its exp", tc.name)
		}
	}

	key, err := ParseVAPIDKey(v.VAPID.Private)
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, err := EncodeVAPIDKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if pub != v.VAPID.Public || priv != v.VAPID.Private {
		t.Errorf("EncodeVAPIDKey(ParseVAPIDKey(web-push's private key)) = %q, %q; want web-push's pair", pub, priv)
	}
	// A token we sign with web-push's key verifies like web-push's own.
	header, err := SignVAPID(key, v.VAPID.Audience, v.VAPID.Subject, time.Unix(v.VAPID.Exp, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyVAPID(header, "", v.VAPID.Audience, now); err != nil {
		t.Error(err)
	}
}
