package vendortest

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

// WebPush is a local browser push service (RFC 8030, 8291, 8292), as a
// browser vendor runs one: NewSubscription plays the browser's
// pushManager.subscribe and returns what PushSubscription.toJSON() gives;
// the server keeps the subscription's private key and auth secret, so it
// can decrypt what it receives and record the plaintext, which a real
// push service cannot.
type WebPush struct {
	server

	mu   sync.Mutex
	subs map[string]*wpSub // by endpoint path id
	rec  recorder[WebPushMessage]
}

type wpSub struct {
	priv    *ecdh.PrivateKey
	auth    []byte
	appKey  []byte // the applicationServerKey; nil when unrestricted
	expired bool
}

// WebPushMessage is a push message the server accepted.
type WebPushMessage struct {
	// Endpoint is the subscription's endpoint.
	Endpoint string
	// TTL is the TTL header; Urgency and Topic are the headers as sent
	// ("" when absent).
	TTL            int
	Urgency, Topic string
	// Header holds all request headers.
	Header http.Header
	// Body is the encrypted body; Plaintext is what the browser's service
	// worker gets after decrypting it.
	Body, Plaintext []byte
}

// NewWebPush starts a push service for the test.
func NewWebPush(t testing.TB, opts ...Option) *WebPush {
	t.Helper()
	w := &WebPush{server: server{cfg: newConfig(opts)}, subs: map[string]*wpSub{}}
	w.start(t, w)
	return w
}

// NewSubscription creates a subscription with a fresh endpoint, P-256 key
// and auth secret. applicationServerKey, when not "", is the VAPID public
// key (base64url) the subscription is restricted to: messages must then
// carry VAPID signed with its private half.
func (w *WebPush) NewSubscription(t testing.TB, applicationServerKey string) store.WebPushSubscription {
	t.Helper()
	priv, keys, err := webpush.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	s := &wpSub{priv: priv, auth: keys.Auth}
	if applicationServerKey != "" {
		if s.appKey, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(applicationServerKey, "=")); err != nil {
			t.Fatalf("applicationServerKey: %v", err)
		}
	}
	id := make([]byte, 24)
	rand.Read(id)
	path := hex.EncodeToString(id)
	w.mu.Lock()
	w.subs[path] = s
	w.mu.Unlock()
	return store.WebPushSubscription{
		Endpoint: w.URL + "/push/" + path,
		P256DH:   base64.RawURLEncoding.EncodeToString(keys.P256DH),
		Auth:     base64.RawURLEncoding.EncodeToString(keys.Auth),
	}
}

// Expire ends a subscription (the user revoked the permission): messages
// to it get 410 Gone.
func (w *WebPush) Expire(endpoint string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s := w.subs[w.subID(endpoint)]; s != nil {
		s.expired = true
	}
}

func (w *WebPush) subID(endpoint string) string {
	id, _ := strings.CutPrefix(endpoint, w.URL+"/push/")
	return id
}

// Received returns the messages accepted so far, oldest first.
func (w *WebPush) Received() []WebPushMessage { return w.rec.all() }

// WaitReceived waits until the server has accepted at least n messages
// in all, and returns them all, oldest first; or ctx's error.
func (w *WebPush) WaitReceived(ctx context.Context, n int) ([]WebPushMessage, error) {
	return w.rec.wait(ctx, n)
}

var topicRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ServeHTTP answers POST /push/<id> as a push service does.
func (w *WebPush) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if status, after := w.intercept(r); status != 0 {
		if status > 0 {
			setRetryAfter(rw.Header(), after)
			wpError(rw, status, "injected failure")
		}
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/push/")
	if r.Method != http.MethodPost {
		wpError(rw, http.StatusMethodNotAllowed, "push resources accept POST only")
		return
	}
	w.mu.Lock()
	s := w.subs[id]
	w.mu.Unlock()
	switch {
	case !ok || s == nil:
		wpError(rw, http.StatusNotFound, "no such subscription")
		return
	case s.expired:
		wpError(rw, http.StatusGone, "subscription expired")
		return
	}
	h := r.Header
	key, err := webpush.VerifyVAPID(h.Get("Authorization"), h.Get("Crypto-Key"), w.URL, w.cfg.now())
	switch {
	case s.appKey != nil && errors.Is(err, webpush.ErrNoVAPID):
		wpError(rw, http.StatusUnauthorized, "this subscription requires VAPID")
		return
	case err != nil && !errors.Is(err, webpush.ErrNoVAPID):
		wpError(rw, http.StatusForbidden, err.Error())
		return
	case s.appKey != nil && subtle.ConstantTimeCompare(key, s.appKey) != 1:
		wpError(rw, http.StatusForbidden, "VAPID key does not match the subscription's applicationServerKey")
		return
	}
	ttls := h.Values("TTL")
	if len(ttls) != 1 || !isDigits(ttls[0]) {
		wpError(rw, http.StatusBadRequest, "TTL header missing or not a number")
		return
	}
	ttl, err := strconv.Atoi(ttls[0])
	if err != nil {
		ttl = 1 << 31
	}
	msg := WebPushMessage{Endpoint: w.URL + "/push/" + id, TTL: ttl, Urgency: h.Get("Urgency"), Topic: h.Get("Topic"), Header: h.Clone()}
	if u := h.Values("Urgency"); len(u) > 1 || len(u) == 1 && u[0] != "very-low" && u[0] != "low" && u[0] != "normal" && u[0] != "high" {
		wpError(rw, http.StatusBadRequest, "Urgency must be one of very-low, low, normal, high")
		return
	}
	if tp := h.Values("Topic"); len(tp) > 1 || len(tp) == 1 && !topicRE.MatchString(tp[0]) {
		wpError(rw, http.StatusBadRequest, "Topic must be at most 32 characters of the URL-safe base64 alphabet")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, webpush.MaxPayload+1))
	if err != nil {
		return
	}
	if len(body) > webpush.MaxPayload {
		wpError(rw, http.StatusRequestEntityTooLarge, "body larger than 4096 bytes")
		return
	}
	if len(body) > 0 {
		if ce := h.Values("Content-Encoding"); len(ce) != 1 || ce[0] != "aes128gcm" {
			wpError(rw, http.StatusBadRequest, "Content-Encoding must be aes128gcm")
			return
		}
		pt, err := webpush.Decrypt(body, s.priv, s.auth)
		if err != nil {
			wpError(rw, http.StatusBadRequest, "vendortest: the body does not decrypt for this subscription: "+err.Error())
			return
		}
		msg.Body, msg.Plaintext = body, pt
	}
	w.rec.add(msg)
	loc := make([]byte, 16)
	rand.Read(loc)
	rw.Header().Set("Location", w.URL+"/m/"+hex.EncodeToString(loc))
	rw.Header().Set("TTL", strconv.Itoa(ttl))
	rw.WriteHeader(http.StatusCreated)
}

// wpError answers as autopush does: {code, errno, error, message}.
func wpError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]any{
		"code": status, "errno": 999, "error": http.StatusText(status), "message": msg,
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b) // the client went away
}
