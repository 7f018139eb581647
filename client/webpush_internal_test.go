package client

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"

	"github.com/heraldpush/herald"
)

// The SDK's decryption (openWebPush, as deliver calls it) against RFC 8291
// Appendix A: the receiver's private key and auth secret open the RFC's
// body to its plaintext. Verbatim from the RFC (base64url, no padding).
func TestOpenWebPushRFC8291AppendixA(t *testing.T) {
	const (
		uaPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
		auth      = "BTBZMqHH6r4Tts7J_aSIgg"
		body      = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
		plaintext = "When I grow up, I want to be a watermelon"
	)
	keys := webPushKeys{Private: uaPrivate, Auth: auth}
	got, err := openWebPush(keys, &herald.WebPush{EndpointID: "ep", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != plaintext {
		t.Errorf("plaintext %q, want %q", got, plaintext)
	}
	// One flipped ciphertext bit, another auth secret, no keys: refused.
	raw, _ := base64.RawURLEncoding.DecodeString(body)
	raw[len(raw)-20] ^= 1
	for name, tc := range map[string]struct {
		k webPushKeys
		b string
	}{
		"modified body": {keys, base64.RawURLEncoding.EncodeToString(raw)},
		"wrong auth":    {webPushKeys{Private: uaPrivate, Auth: "AAAAAAAAAAAAAAAAAAAAAA"}, body},
		"no keys":       {webPushKeys{}, body},
		"not base64":    {keys, "***"},
	} {
		if got, err := openWebPush(tc.k, &herald.WebPush{EndpointID: "ep", Body: tc.b}); err == nil {
			t.Errorf("%s: decrypted to %q, want an error", name, got)
		}
	}
}

// Bodies encrypted by the real npm web-push 3.6.7 (the vectors of
// internal/webpush, including multi-record ones) open in the SDK.
func TestOpenWebPushNPMVectors(t *testing.T) {
	b, err := os.ReadFile("../internal/webpush/testdata/web-push-3.6.7.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Receiver struct{ Private, Auth string }
		Bodies   []struct{ Plaintext, Body string }
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	keys := webPushKeys{Private: v.Receiver.Private, Auth: v.Receiver.Auth}
	for _, tc := range v.Bodies {
		want, _ := base64.RawURLEncoding.DecodeString(tc.Plaintext)
		got, err := openWebPush(keys, &herald.WebPush{EndpointID: "ep", Body: tc.Body})
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("body of %d bytes: %q, %v", len(want), got, err)
		}
	}
}
