package httpapi

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/auth"
	"github.com/heraldpush/herald/internal/dispatch"
	"github.com/heraldpush/herald/internal/metrics"
	"github.com/heraldpush/herald/internal/quota"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/pebblestore"
	"github.com/heraldpush/herald/internal/webpush"
)

// The push service's wire behaviour over a real store and dispatcher:
// endpoint creation, every status of RFC 8030/8292, and that a refused
// push stores nothing. Delivery to the Go SDK (decryption) and the real
// Web Push libraries are tested in internal/e2e.

// pushNow is the hub's clock; VAPID expiry is checked against it.
var pushNow = time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)

type pushFixture struct {
	url    string
	st     *pebblestore.Store
	hub    *dispatch.Hub
	token  string
	device herald.DeviceCredential
	// keys is the subscription the test encrypts to (the device's keys).
	keys webpush.Keys
	priv *ecdh.PrivateKey
}

// newPushFixture starts the API with a registered device; perMinute > 0
// sets the per-device rate limit.
func newPushFixture(t *testing.T, perMinute int) *pushFixture {
	t.Helper()
	ctx := context.Background()
	st, err := pebblestore.Open(filepath.Join(t.TempDir(), "store"), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logger := slog.New(slog.DiscardHandler)
	m := metrics.New()
	clock := func() time.Time { return pushNow }
	var limiter *quota.Limiter
	if perMinute > 0 {
		limiter = quota.New(quota.Config{DevicePerMinute: perMinute, Now: clock})
	}
	hub := dispatch.New(st, dispatch.Config{PingInterval: time.Minute, SendQueue: 16, Limiter: limiter, Now: clock}, m, logger)
	if err := st.CreateProject(ctx, store.Project{ID: "demo"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateApp(ctx, store.App{Key: "key-demo", ProjectID: "demo"}); err != nil {
		t.Fatal(err)
	}
	reg, err := hub.Register(ctx, "key-demo", nil)
	if err != nil {
		t.Fatal(err)
	}
	priv, keys, err := webpush.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	var ready atomic.Bool
	ready.Store(true)
	api := &API{Store: st, Hub: hub, Admin: auth.NewAdmin("admin"), Metrics: m, Logger: logger, Ready: &ready,
		Connect: http.NotFoundHandler(), Limiter: limiter}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &pushFixture{url: srv.URL, st: st, hub: hub, token: reg.Token, device: *reg.Device, keys: keys, priv: priv}
}

// do makes a request and returns the response with its body read.
func (f *pushFixture) do(t *testing.T, method, path string, header http.Header, body []byte) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// createEndpoint creates a push endpoint for the fixture's token and
// returns its ID.
func (f *pushFixture) createEndpoint(t *testing.T, appServerKey string) string {
	t.Helper()
	body, _ := json.Marshal(herald.WebPushRequest{ApplicationServerKey: appServerKey})
	resp, b := f.do(t, "POST", herald.PathRegistration+"/"+f.token+herald.PathWebPush,
		http.Header{"Authorization": {"Device " + f.device.ID + ":" + f.device.Secret}}, body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create endpoint: %s: %s", resp.Status, b)
	}
	var ans herald.WebPushResponse
	if err := json.Unmarshal([]byte(b), &ans); err != nil {
		t.Fatal(err)
	}
	id, ok := strings.CutPrefix(ans.Endpoint, f.url+herald.PathPush)
	if !ok || len(id) < 22 {
		t.Fatalf("endpoint %q: want %s%s<random id>", ans.Endpoint, f.url, herald.PathPush)
	}
	return id
}

// body encrypts plaintext to the fixture's subscription.
func (f *pushFixture) body(t *testing.T, plaintext string) []byte {
	t.Helper()
	b, err := webpush.Encrypt([]byte(plaintext), f.keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pending returns the registration's stored messages.
func (f *pushFixture) pending(t *testing.T) []store.Message {
	t.Helper()
	msgs, _, err := f.st.Pending(context.Background(), f.token, 0, pushNow, 0)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// vapid signs a VAPID authorization for the fixture's origin.
func (f *pushFixture) vapid(t *testing.T, key *ecdsa.PrivateKey, exp time.Time) string {
	t.Helper()
	h, err := webpush.SignVAPID(key, f.url, "mailto:ops@example.com", exp)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func pushHeader(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestPushAccepted(t *testing.T) {
	f := newPushFixture(t, 0)
	id := f.createEndpoint(t, "")
	body := f.body(t, "hello")
	resp, b := f.do(t, "POST", herald.PathPush+id,
		pushHeader("TTL", "999999999999999999999", "Urgency", "high", "Content-Encoding", "aes128gcm", "Topic", "news-1"), body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push: %s: %s", resp.Status, b)
	}
	if got, want := resp.Header.Get("TTL"), strconv.Itoa(int(maxPushTTL/time.Second)); got != want {
		t.Errorf("TTL answered %q, want the granted %s (28 days)", got, want)
	}
	loc, ok := strings.CutPrefix(resp.Header.Get("Location"), f.url+herald.PathPushMessage)
	if !ok || loc == "" {
		t.Errorf("Location %q, want %s%s<message id>", resp.Header.Get("Location"), f.url, herald.PathPushMessage)
	}
	msgs := f.pending(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored, want 1", len(msgs))
	}
	m := msgs[0]
	if m.ID != loc || !m.High || m.TTL != maxPushTTL || m.CollapseKey != dispatch.WebPushCollapseKey(id, "news-1") {
		t.Errorf("stored message %+v: want ID %s, high, TTL 28 days, the Topic's collapse key", m, loc)
	}
	var payload herald.Message
	if err := json.Unmarshal([]byte("{"+string(m.Payload)+"}"), &payload); err != nil {
		t.Fatal(err)
	}
	want := &herald.WebPush{EndpointID: id, Body: base64.RawURLEncoding.EncodeToString(body)}
	if diff := cmp.Diff(want, payload.WebPush); diff != "" {
		t.Errorf("stored payload (-want +got):\n%s", diff)
	}
	// The body is stored exactly as sent, and the device's key opens it.
	raw, _ := base64.RawURLEncoding.DecodeString(payload.WebPush.Body)
	if plain, err := webpush.Decrypt(raw, f.priv, f.keys.Auth); err != nil || string(plain) != "hello" {
		t.Errorf("stored body decrypts to %q, %v", plain, err)
	}

	// 4096 bytes is accepted (webpush-go pads every body to it), and a
	// push without payload needs no Content-Encoding.
	full, err := webpush.Encrypt([]byte("x"), f.keys, &webpush.EncryptOptions{Padding: webpush.MaxPlaintext - 1})
	if err != nil || len(full) != webpush.MaxPayload {
		t.Fatalf("padded body: %d bytes, %v", len(full), err)
	}
	for _, tc := range []struct {
		name string
		h    http.Header
		body []byte
	}{
		{"4096 bytes", pushHeader("TTL", "60", "Content-Encoding", "aes128gcm"), full},
		{"no payload", pushHeader("TTL", "60"), nil},
	} {
		if resp, b := f.do(t, "POST", herald.PathPush+id, tc.h, tc.body); resp.StatusCode != http.StatusCreated {
			t.Errorf("%s: %s: %s", tc.name, resp.Status, b)
		}
	}
	if n := len(f.pending(t)); n != 3 {
		t.Errorf("%d messages stored, want 3", n)
	}
}

// Every refusal answers its RFC status and stores nothing.
func TestPushRefused(t *testing.T) {
	f := newPushFixture(t, 0)
	open := f.createEndpoint(t, "")
	vapidKey, err := webpush.GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := webpush.GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := webpush.EncodeVAPIDKey(vapidKey)
	if err != nil {
		t.Fatal(err)
	}
	restricted := f.createEndpoint(t, pub)
	body := f.body(t, "hello")
	good := func(kv ...string) http.Header {
		return pushHeader(append([]string{"TTL", "60", "Content-Encoding", "aes128gcm"}, kv...)...)
	}
	tooBig := append(f.body(t, strings.Repeat("x", webpush.MaxPlaintext)), 0)
	expired := f.vapid(t, vapidKey, pushNow.Add(-time.Minute))
	tooLong := f.vapid(t, vapidKey, pushNow.Add(25*time.Hour))
	for _, tc := range []struct {
		name     string
		endpoint string
		h        http.Header
		body     []byte
		status   int
	}{
		{"unknown endpoint", "AAAAAAAAAAAAAAAAAAAAAAAAAAA", good(), body, http.StatusNotFound},
		{"missing TTL", open, pushHeader("Content-Encoding", "aes128gcm"), body, http.StatusBadRequest},
		{"negative TTL", open, pushHeader("TTL", "-1", "Content-Encoding", "aes128gcm"), body, http.StatusBadRequest},
		{"two TTLs", open, pushHeader("TTL", "1", "TTL", "2", "Content-Encoding", "aes128gcm"), body, http.StatusBadRequest},
		{"two urgencies", open, good("Urgency", "high, low"), body, http.StatusBadRequest},
		{"bad urgency", open, good("Urgency", "urgent"), body, http.StatusBadRequest},
		{"long topic", open, good("Topic", strings.Repeat("a", 33)), body, http.StatusBadRequest},
		{"topic outside base64url", open, good("Topic", "a/b"), body, http.StatusBadRequest},
		{"4097 bytes", open, good(), tooBig, http.StatusRequestEntityTooLarge},
		{"no Content-Encoding", open, pushHeader("TTL", "60"), body, http.StatusUnsupportedMediaType},
		{"aesgcm", open, pushHeader("TTL", "60", "Content-Encoding", "aesgcm"), body, http.StatusUnsupportedMediaType},
		{"not aes128gcm", open, good(), []byte("plain text, not encrypted"), http.StatusBadRequest},
		{"header without a record", open, good(), body[:webpush.HeaderLen+webpush.TagLen], http.StatusBadRequest},
		{"invalid VAPID on an open endpoint", open, good("Authorization", "vapid t=x.y.z, k="+pub), body, http.StatusForbidden},
		{"restricted, no VAPID", restricted, good(), body, http.StatusUnauthorized},
		{"restricted, another key", restricted, good("Authorization", f.vapid(t, otherKey, pushNow.Add(time.Hour))), body, http.StatusForbidden},
		{"restricted, expired", restricted, good("Authorization", expired), body, http.StatusForbidden},
		{"restricted, exp beyond 24 h", restricted, good("Authorization", tooLong), body, http.StatusForbidden},
	} {
		resp, b := f.do(t, "POST", herald.PathPush+tc.endpoint, tc.h, tc.body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %s: %s, want %d", tc.name, resp.Status, b, tc.status)
			continue
		}
		var e herald.ErrorResponse
		if err := json.Unmarshal([]byte(b), &e); err != nil || e.Error.Code != tc.status || e.Error.Message == "" {
			t.Errorf("%s: body %s is not a google.rpc.Status with code %d", tc.name, b, tc.status)
		}
		if tc.status == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") != "vapid" {
			t.Errorf("%s: WWW-Authenticate %q, want vapid", tc.name, resp.Header.Get("WWW-Authenticate"))
		}
	}
	if msgs := f.pending(t); len(msgs) != 0 {
		t.Fatalf("refused pushes stored %d messages", len(msgs))
	}

	// The right key is accepted, with the token's aud our origin.
	if resp, b := f.do(t, "POST", herald.PathPush+restricted, good("Authorization", f.vapid(t, vapidKey, pushNow.Add(12*time.Hour))), body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("restricted, right key: %s: %s", resp.Status, b)
	}

	// The registration goes: its endpoints answer 410 Gone.
	if err := f.hub.Delete(context.Background(), f.device, f.token); err != nil {
		t.Fatal(err)
	}
	if resp, b := f.do(t, "POST", herald.PathPush+open, good(), body); resp.StatusCode != http.StatusGone {
		t.Errorf("deleted registration: %s: %s, want 410", resp.Status, b)
	}
}

func TestPushDiscoveryAndMethods(t *testing.T) {
	f := newPushFixture(t, 0)
	id := f.createEndpoint(t, "")
	resp, b := f.do(t, "GET", herald.PathPush+id, nil, nil)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(b) != `{"unifiedpush":{"version":1}}` {
		t.Errorf("GET: %s: %s", resp.Status, b)
	}
	if resp, b := f.do(t, "GET", herald.PathPush+"nope", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET unknown: %s: %s", resp.Status, b)
	}
	for _, m := range []string{"PUT", "DELETE", "PATCH"} {
		resp, b := f.do(t, m, herald.PathPush+id, nil, nil)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" {
			t.Errorf("%s: %s (Allow %q): %s", m, resp.Status, resp.Header.Get("Allow"), b)
		}
	}
	if resp, b := f.do(t, "DELETE", herald.PathPushMessage+"some-id", nil, nil); resp.StatusCode != http.StatusNotImplemented {
		t.Errorf("DELETE message: %s: %s", resp.Status, b)
	}
}

func TestCreatePushEndpointRefused(t *testing.T) {
	f := newPushFixture(t, 0)
	path := herald.PathRegistration + "/" + f.token + herald.PathWebPush
	cred := "Device " + f.device.ID + ":" + f.device.Secret
	for _, tc := range []struct {
		name, path, auth, body string
		status                 int
	}{
		{"no credential", path, "", `{}`, http.StatusUnauthorized},
		{"wrong secret", path, "Device " + f.device.ID + ":nope", `{}`, http.StatusUnauthorized},
		{"unknown token", herald.PathRegistration + "/nope" + herald.PathWebPush, cred, `{}`, http.StatusNotFound},
		{"unknown member", path, cred, `{"vapid":"x"}`, http.StatusBadRequest},
		{"key not base64", path, cred, `{"application_server_key":"***"}`, http.StatusBadRequest},
		{"key not a point", path, cred, `{"application_server_key":"BAAA"}`, http.StatusBadRequest},
	} {
		resp, b := f.do(t, "POST", tc.path, pushHeader("Authorization", tc.auth), []byte(tc.body))
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %s: %s, want %d", tc.name, resp.Status, b, tc.status)
		}
	}
	// Two endpoints of one registration have different IDs.
	if a, b := f.createEndpoint(t, ""), f.createEndpoint(t, ""); a == b {
		t.Errorf("two endpoints share the ID %s", a)
	}
}

// The per-device rate limit applies to pushes: 429 with Retry-After, and
// the refused push is not stored.
func TestPushRateLimited(t *testing.T) {
	f := newPushFixture(t, 1)
	id := f.createEndpoint(t, "")
	h := pushHeader("TTL", "60", "Content-Encoding", "aes128gcm")
	if resp, b := f.do(t, "POST", herald.PathPush+id, h, f.body(t, "one")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("first push: %s: %s", resp.Status, b)
	}
	resp, b := f.do(t, "POST", herald.PathPush+id, h, f.body(t, "two"))
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second push: %s: %s, want 429", resp.Status, b)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Errorf("Retry-After %q, want 1 to 60 seconds", resp.Header.Get("Retry-After"))
	}
	if n := len(f.pending(t)); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

// TTL 0 to a device that is not connected is answered 201 and dropped:
// deliver now or never.
func TestPushTTLZeroOffline(t *testing.T) {
	f := newPushFixture(t, 0)
	id := f.createEndpoint(t, "")
	resp, b := f.do(t, "POST", herald.PathPush+id, pushHeader("TTL", "0", "Content-Encoding", "aes128gcm"), f.body(t, "now or never"))
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("TTL") != "0" {
		t.Fatalf("TTL 0: %s (TTL %q): %s", resp.Status, resp.Header.Get("TTL"), b)
	}
	if n := len(f.pending(t)); n != 0 {
		t.Errorf("TTL 0 to an offline device stored %d messages", n)
	}
}

func TestParsePushHeaders(t *testing.T) {
	for _, tc := range []struct {
		h    http.Header
		want pushHeaders
		ok   bool
	}{
		{pushHeader("TTL", "0"), pushHeaders{}, true},
		{pushHeader("TTL", "86400", "Urgency", "HIGH", "Topic", "a-Z_9"), pushHeaders{TTL: 24 * time.Hour, High: true, Topic: "a-Z_9"}, true},
		{pushHeader("TTL", "2419201", "Urgency", "very-low"), pushHeaders{TTL: maxPushTTL}, true},
		{pushHeader("TTL", "2147483648"), pushHeaders{TTL: maxPushTTL}, true},
		{pushHeader("TTL", "1", "Topic", strings.Repeat("t", 32)), pushHeaders{TTL: time.Second, Topic: strings.Repeat("t", 32)}, true},
		{pushHeader(), pushHeaders{}, false},
		{pushHeader("TTL", ""), pushHeaders{}, false},
		{pushHeader("TTL", "1.5"), pushHeaders{}, false},
		{pushHeader("TTL", "+1"), pushHeaders{}, false},
		{pushHeader("TTL", "1", "Urgency", "low", "Urgency", "high"), pushHeaders{}, false},
		{pushHeader("TTL", "1", "Topic", "a=="), pushHeaders{}, false},
	} {
		got, err := parsePushHeaders(tc.h)
		if (err == nil) != tc.ok {
			t.Errorf("%v: error %v, want ok=%v", tc.h, err, tc.ok)
			continue
		}
		if tc.ok && got != tc.want {
			t.Errorf("%v: %+v, want %+v", tc.h, got, tc.want)
		}
	}
}

// FuzzPushHeaders: any header values either parse into a TTL within the
// bounds and a valid Topic, or are refused with errPushHeader.
func FuzzPushHeaders(f *testing.F) {
	f.Add("60", "high", "topic-1")
	f.Add("", "", "")
	f.Add("99999999999999999999999", "very-low", strings.Repeat("x", 33))
	f.Add("1,2", "low, high", "a b")
	f.Fuzz(func(t *testing.T, ttl, urgency, topic string) {
		h := http.Header{}
		for name, v := range map[string]string{"TTL": ttl, "Urgency": urgency, "Topic": topic} {
			if v != "" {
				h.Set(name, v)
			}
		}
		p, err := parsePushHeaders(h)
		if err != nil {
			if !strings.Contains(err.Error(), errPushHeader.Error()) {
				t.Fatalf("error %v does not wrap errPushHeader", err)
			}
			return
		}
		if p.TTL < 0 || p.TTL > maxPushTTL || p.TTL%time.Second != 0 {
			t.Fatalf("TTL %v out of bounds", p.TTL)
		}
		if p.Topic != "" && !validTopic(p.Topic) {
			t.Fatalf("invalid topic %q accepted", p.Topic)
		}
	})
}

// Push endpoints deliver over Herald's connection: a registration of a
// vendor platform gets none.
func TestCreatePushEndpointVendorPlatform(t *testing.T) {
	f := newPushFixture(t, 0)
	ctx := context.Background()
	reg := store.Registration{Token: "tok-fcm", ProjectID: "demo", AppKey: "key-demo", DeviceID: f.device.ID,
		CreatedAt: pushNow, Platform: store.PlatformFCM, FCM: &store.FCMDevice{Token: "fcm-token"}}
	if err := f.st.CreateRegistration(ctx, reg); err != nil {
		t.Fatal(err)
	}
	resp, b := f.do(t, "POST", herald.PathRegistration+"/"+reg.Token+herald.PathWebPush,
		pushHeader("Authorization", "Device "+f.device.ID+":"+f.device.Secret), []byte(`{}`))
	var e herald.ErrorResponse
	if resp.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(b), &e) != nil || e.Error.Status != "FAILED_PRECONDITION" {
		t.Errorf("endpoint for an FCM registration: %s: %s, want 400 FAILED_PRECONDITION", resp.Status, b)
	}
}
