package webpush

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseKeys(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	pub, auth := b64(t, rfcUAPublic), b64(t, rfcAuthSecret)
	tests := []struct {
		name         string
		p256dh, auth string
		wantMsg      string // "" for success
	}{
		{"browser form (unpadded)", rfcUAPublic, rfcAuthSecret, ""},
		{"padded", rfcUAPublic + "=", rfcAuthSecret + "==", ""},
		{"wrong padding", rfcUAPublic + "==", rfcAuthSecret, "p256dh is not base64url"},
		{"standard alphabet", strings.ReplaceAll(strings.ReplaceAll(rfcUAPublic, "_", "/"), "-", "+"), rfcAuthSecret, "p256dh is not base64url"},
		{"line break", rfcUAPublic[:40] + "\n" + rfcUAPublic[40:], rfcAuthSecret, "p256dh is not base64url: line break at input byte 40"},
		{"auth not base64", rfcUAPublic, "BTBZMqHH6r4Tts7J_aSI!g", "auth is not base64url"},
		{"empty", "", "", "p256dh is 0 bytes"},
		{"p256dh 64 bytes", enc(pub[:64]), rfcAuthSecret, "p256dh is 64 bytes"},
		{"p256dh compressed prefix", "Ai" + rfcUAPublic[2:], rfcAuthSecret, "not an uncompressed P-256 point"},
		{"p256dh off the curve", rfcUAPublic[:80] + "AAAAAAA", rfcAuthSecret, "not an uncompressed P-256 point"},
		{"auth 15 bytes", rfcUAPublic, enc(auth[:15]), "auth is 15 bytes"},
		{"auth 32 bytes", rfcUAPublic, enc(append(auth, auth...)), "auth is 32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKeys(tt.p256dh, tt.auth)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(k.P256DH, b64(t, rfcUAPublic)) || !bytes.Equal(k.Auth, b64(t, rfcAuthSecret)) {
					t.Errorf("ParseKeys = %x, %x; want the RFC's keys", k.P256DH, k.Auth)
				}
				return
			}
			if !errors.Is(err, ErrInvalidKeys) {
				t.Fatalf("error %v does not wrap ErrInvalidKeys", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

// TestKeysJSON writes and reads the "keys" object of
// PushSubscription.toJSON().
func TestKeysJSON(t *testing.T) {
	_, keys, _ := rfcKeys(t)
	b, err := json.Marshal(keys)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"p256dh":"` + rfcUAPublic + `","auth":"` + rfcAuthSecret + `"}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("json.Marshal (-want +got):\n%s", diff)
	}
	var back Keys
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(keys, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{"p256dh":"x","auth":"y"}`, `[]`, `{"p256dh":1}`} {
		if err := json.Unmarshal([]byte(bad), &back); !errors.Is(err, ErrInvalidKeys) {
			t.Errorf("json.Unmarshal(%s) error = %v, want ErrInvalidKeys", bad, err)
		}
	}
}

func TestGenerateKeys(t *testing.T) {
	priv, keys, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(priv.PublicKey().Bytes(), keys.P256DH) {
		t.Errorf("P256DH is not the private key's public key")
	}
	enc, err := json.Marshal(keys)
	if err != nil {
		t.Fatal(err)
	}
	var j struct{ P256DH, Auth string }
	if err := json.Unmarshal(enc, &j); err != nil {
		t.Fatal(err)
	}
	if len(j.P256DH) != 87 || len(j.Auth) != 22 {
		t.Errorf("encoded keys are %d and %d characters, browsers give 87 and 22", len(j.P256DH), len(j.Auth))
	}
	if _, err := ParseKeys(j.P256DH, j.Auth); err != nil {
		t.Errorf("ParseKeys of generated keys: %v", err)
	}
}
