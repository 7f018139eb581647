package client_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldpush/herald/client"
	"github.com/heraldpush/herald/internal/heraldtest"
	"github.com/heraldpush/herald/internal/webpush"
)

// pushTo encrypts plaintext to sub (RFC 8291) and posts it to its endpoint
// as an application server would; it returns the HTTP status.
func pushTo(t *testing.T, srv *heraldtest.Server, sub client.WebPushSubscription, plaintext string) int {
	t.Helper()
	keys, err := webpush.ParseKeys(sub.Keys.P256DH, sub.Keys.Auth)
	if err != nil {
		t.Fatal(err)
	}
	body, err := webpush.Encrypt([]byte(plaintext), keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	return postPush(t, srv, sub.Endpoint, body)
}

func postPush(t *testing.T, srv *heraldtest.Server, endpoint string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("TTL", "3600")
	req.Header.Set("Content-Encoding", "aes128gcm")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A subscription made by the SDK receives messages that any sender
// encrypted to it: the app gets the plaintext in Raw. Its keys live in the
// state file (mode 0600), so the next process with the same StateDir
// decrypts what arrived while it was away. A body that does not decrypt
// is dropped and does not hold up the messages after it.
func TestWebPushAgainstServer(t *testing.T) {
	srv := heraldtest.Start(t)
	srv.CreateProject(t, "demo")
	appKey := srv.CreateApp(t, "demo")
	dir := t.TempDir()
	ctx := context.Background()

	d := newDevice(t, srv, dir)
	if _, err := d.c.WebPushSubscribe(ctx, appKey, ""); !errors.Is(err, client.ErrNotRegistered) {
		t.Fatalf("subscribe before registering = %v, want ErrNotRegistered", err)
	}
	tok, err := d.c.Register(ctx, appKey)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := d.c.WebPushSubscribe(ctx, appKey, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sub.Endpoint, srv.URL+"/push/") || strings.Contains(sub.Endpoint, tok) {
		t.Errorf("endpoint %q: want %s/push/<id>, not the token", sub.Endpoint, srv.URL)
	}
	// The JSON shape of PushSubscription.toJSON().
	j, _ := json.Marshal(sub)
	var shape struct {
		Endpoint string
		Keys     struct{ P256DH, Auth string }
	}
	if err := json.Unmarshal(j, &shape); err != nil || shape.Keys.P256DH == "" || shape.Keys.Auth == "" ||
		!strings.Contains(string(j), `"keys":{"p256dh":`) {
		t.Errorf("subscription JSON %s", j)
	}
	info, err := os.Stat(filepath.Join(dir, "state.json"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state.json: %v, mode %v; want 0600", err, info.Mode().Perm())
	}

	d.run(t)
	if got := pushTo(t, srv, sub, "hello, encrypted"); got != http.StatusCreated {
		t.Fatalf("push: %d", got)
	}
	m := d.next(t)
	if string(m.Raw) != "hello, encrypted" || m.WebPush == nil || m.Token != tok || m.Data != nil {
		t.Fatalf("got %+v (Raw %q), want the plaintext in Raw", m, m.Raw)
	}

	// A body for other keys does not decrypt: dropped, the next one comes.
	_, other, err := webpush.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := webpush.Encrypt([]byte("for someone else"), other, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := postPush(t, srv, sub.Endpoint, wrong); got != http.StatusCreated {
		t.Fatalf("push: %d", got)
	}
	pushTo(t, srv, sub, "after the bad one")
	if m := d.next(t); string(m.Raw) != "after the bad one" {
		t.Fatalf("got Raw %q, want the message after the undecryptable one", m.Raw)
	}
	d.stop(t)

	// Away: the next process with the same state decrypts with the kept keys.
	pushTo(t, srv, sub, "while away")
	d2 := newDevice(t, srv, dir)
	d2.run(t)
	if m := d2.next(t); string(m.Raw) != "while away" {
		t.Fatalf("after restart got Raw %q", m.Raw)
	}
	select {
	case m := <-d2.msgs:
		t.Fatalf("unexpected message %+v (Raw %q)", m, m.Raw)
	default:
	}

	// The private key is in the state file, not in the subscription.
	st, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var saved struct {
		Registrations map[string]struct {
			WebPush map[string]struct{ Endpoint, Private, Auth string }
		}
	}
	if err := json.Unmarshal(st, &saved); err != nil {
		t.Fatal(err)
	}
	var found bool
	for id, k := range saved.Registrations[appKey].WebPush {
		scalar, _ := base64.RawURLEncoding.DecodeString(k.Private)
		priv, err := ecdh.P256().NewPrivateKey(scalar)
		if err != nil {
			t.Fatalf("stored key of %s: %v", id, err)
		}
		if base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()) == sub.Keys.P256DH &&
			k.Auth == sub.Keys.Auth && k.Endpoint == sub.Endpoint && strings.HasSuffix(sub.Endpoint, "/"+id) {
			found = true
		}
	}
	if !found {
		t.Errorf("state.json holds no keys matching the subscription: %s", st)
	}

	// The next process finds the subscription again, for the same
	// restriction and the current token only.
	if got, ok := d2.c.SavedWebPushSubscription(appKey, ""); !ok || got != sub {
		t.Errorf("SavedWebPushSubscription = %+v, %v; want %+v", got, ok, sub)
	}
	if got, ok := d2.c.SavedWebPushSubscription(appKey, "BOtherKey"); ok {
		t.Errorf("SavedWebPushSubscription with another key = %+v", got)
	}
	if _, err := d2.c.RefreshToken(ctx, appKey); err != nil {
		t.Fatal(err)
	}
	if got, ok := d2.c.SavedWebPushSubscription(appKey, ""); ok {
		t.Errorf("SavedWebPushSubscription after a refresh = %+v, want none (its endpoint is the old token's)", got)
	}
}
