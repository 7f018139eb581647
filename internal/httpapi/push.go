package httpapi

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/dispatch"
	"github.com/heraldpush/herald/internal/quota"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

// The Web Push push service (RFC 8030 §5, RFC 8291, RFC 8292): application
// servers POST encrypted messages to <public URL>/push/<id>. Errors are
// RFC 8030's statuses with the google.rpc.Status body of Herald's own APIs.

// maxPushTTL is the longest TTL granted; longer requests are shortened
// and the granted value is echoed (RFC 8030 §5.2), as FCM's 28 days.
const maxPushTTL = 28 * 24 * time.Hour

// maxTopicLen is the longest Topic (RFC 8030 §5.4).
const maxTopicLen = 32

// pushHeaders are the RFC 8030 request header fields of a push.
type pushHeaders struct {
	TTL   time.Duration // granted: at most maxPushTTL
	High  bool          // Urgency: high
	Topic string
}

// errPushHeader is wrapped by every error of parsePushHeaders.
var errPushHeader = errors.New("invalid push header")

// parsePushHeaders reads TTL (required, 1*DIGIT seconds; values beyond
// maxPushTTL are shortened), Urgency (very-low, low, normal or high;
// default normal) and Topic (at most 32 characters of the base64url
// alphabet). Each may appear once.
func parsePushHeaders(h http.Header) (pushHeaders, error) {
	var p pushHeaders
	ttl, err := single(h, "TTL")
	if err != nil {
		return p, err
	}
	if ttl == "" {
		return p, fmt.Errorf("%w: the TTL header is required (RFC 8030 §5.2): seconds the push service keeps an undelivered message, 0 for deliver now or never", errPushHeader)
	}
	if p.TTL, err = parseTTL(ttl); err != nil {
		return p, err
	}
	urgency, err := single(h, "Urgency")
	if err != nil {
		return p, err
	}
	switch strings.ToLower(urgency) {
	case "", "normal", "low", "very-low":
	case "high":
		p.High = true
	default:
		return p, fmt.Errorf("%w: Urgency %q: want very-low, low, normal or high (RFC 8030 §5.3)", errPushHeader, quoteMax(urgency))
	}
	if p.Topic, err = single(h, "Topic"); err != nil {
		return p, err
	}
	if p.Topic != "" && !validTopic(p.Topic) {
		return p, fmt.Errorf("%w: Topic %q: want at most %d characters of the base64url alphabet A-Z a-z 0-9 - _ (RFC 8030 §5.4)", errPushHeader, quoteMax(p.Topic), maxTopicLen)
	}
	return p, nil
}

// single returns the one value of header name ("" if absent); several
// lines or a comma-separated list are an error.
func single(h http.Header, name string) (string, error) {
	vs := h.Values(name)
	switch {
	case len(vs) == 0:
		return "", nil
	case len(vs) > 1 || strings.Contains(vs[0], ","):
		return "", fmt.Errorf("%w: more than one %s value", errPushHeader, name)
	}
	return strings.TrimSpace(vs[0]), nil
}

// parseTTL reads 1*DIGIT seconds; anything past maxPushTTL (including
// numbers too large for any integer) is maxPushTTL.
func parseTTL(s string) (time.Duration, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: TTL %q: want a whole number of seconds, 0 or more", errPushHeader, quoteMax(s))
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > uint64(maxPushTTL/time.Second) {
		return maxPushTTL, nil // only digits: ErrRange, a very long TTL
	}
	return time.Duration(n) * time.Second, nil
}

// validTopic reports whether t is 1 to 32 characters of the URL-safe
// base64 alphabet.
func validTopic(t string) bool {
	if len(t) == 0 || len(t) > maxTopicLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// quoteMax shortens attacker-supplied text quoted in an error.
func quoteMax(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// push is POST /push/{id}: a Web Push message for the endpoint's
// registration, stored before the 201.
func (a *API) push(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ep, err := a.Hub.PushEndpoint(ctx, r.PathValue("id"))
	if err != nil {
		a.pushEndpointError(w, err)
		return
	}
	h, err := parsePushHeaders(r.Header)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
		return
	}
	tooLarge := fmt.Sprintf("the body is larger than %d bytes, the most a push service must accept (RFC 8030 §7.2); send at most %d bytes of plaintext", webpush.MaxPayload, webpush.MaxPlaintext)
	if r.ContentLength > webpush.MaxPayload {
		writeStatus(w, http.StatusRequestEntityTooLarge, "INVALID_ARGUMENT", tooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webpush.MaxPayload))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			writeStatus(w, http.StatusRequestEntityTooLarge, "INVALID_ARGUMENT", tooLarge)
			return
		}
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", "could not read the body: "+err.Error())
		return
	}
	var keyID []byte
	if enc := r.Header.Get("Content-Encoding"); len(body) > 0 || enc != "" {
		if !strings.EqualFold(strings.TrimSpace(enc), "aes128gcm") || len(r.Header.Values("Content-Encoding")) > 1 {
			writeStatus(w, http.StatusUnsupportedMediaType, "INVALID_ARGUMENT",
				fmt.Sprintf("Content-Encoding %q: a push body must be encrypted with aes128gcm (RFC 8291); the legacy aesgcm is not accepted", quoteMax(enc)))
			return
		}
		hdr, err := webpush.ParseHeader(body)
		if err != nil {
			writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", "the body is not an aes128gcm Web Push message: "+err.Error())
			return
		}
		if len(body) < webpush.HeaderLen+1+webpush.TagLen {
			writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf(
				"the body is not an aes128gcm Web Push message: %d bytes, too short for the %d-byte header and a record (a delimiter and a %d-byte tag)",
				len(body), webpush.HeaderLen, webpush.TagLen))
			return
		}
		keyID = hdr.KeyID
	}
	if !a.checkVAPID(w, r, ep, keyID) {
		return
	}
	id, err := a.Hub.SendWebPush(ctx, dispatch.PushMessage{Endpoint: ep, Body: body, TTL: h.TTL, Topic: h.Topic, High: h.High})
	if err != nil {
		a.pushSendError(w, err)
		return
	}
	w.Header().Set("Location", strings.TrimSuffix(a.publicURL(r), "/")+herald.PathPushMessage+id)
	w.Header().Set("TTL", strconv.FormatInt(int64(h.TTL/time.Second), 10))
	w.WriteHeader(http.StatusCreated)
}

// checkVAPID checks the VAPID authorization (RFC 8292) of a push: when
// present it must be valid for this push service's origin (403); a
// restricted endpoint requires it (401) and its key (403). The body's key
// id may not be the VAPID key (400, RFC 8292 §3.2). It answers and
// returns false when the push is refused.
func (a *API) checkVAPID(w http.ResponseWriter, r *http.Request, ep store.PushEndpoint, keyID []byte) bool {
	restricted := len(ep.AppServerKey) > 0
	key, err := webpush.VerifyVAPID(r.Header.Get("Authorization"), r.Header.Get("Crypto-Key"), a.publicURL(r), a.Hub.Now())
	switch {
	case errors.Is(err, webpush.ErrNoVAPID) && !restricted:
		return true
	case errors.Is(err, webpush.ErrNoVAPID):
		w.Header().Set("WWW-Authenticate", "vapid")
		writeStatus(w, http.StatusUnauthorized, "UNAUTHENTICATED",
			"this push endpoint is restricted to one application server: sign with its VAPID key (Authorization: vapid t=…, k=…, RFC 8292)")
		return false
	case errors.Is(err, webpush.ErrInvalidVAPID):
		writeStatus(w, http.StatusForbidden, "PERMISSION_DENIED", err.Error())
		return false
	case err != nil:
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", "cannot check VAPID against this request's origin: "+err.Error())
		return false
	case restricted && subtle.ConstantTimeCompare(key, ep.AppServerKey) != 1:
		writeStatus(w, http.StatusForbidden, "PERMISSION_DENIED",
			"the VAPID key (k) is not the application server key this push endpoint was created with")
		return false
	case keyID != nil && bytes.Equal(key, keyID):
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT",
			"the body's key id is the VAPID key; encrypt with a fresh key for every message (RFC 8292 §3.2)")
		return false
	}
	return true
}

// pushEndpointError answers a failed endpoint lookup.
func (a *API) pushEndpointError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, dispatch.ErrUnknownEndpoint):
		writeStatus(w, http.StatusNotFound, "NOT_FOUND", "no such push endpoint")
	case errors.Is(err, store.ErrClosed):
		w.Header().Set("Retry-After", strconv.Itoa(int(retryAfterShutdown/time.Second)))
		writeStatus(w, http.StatusServiceUnavailable, "UNAVAILABLE", "server is shutting down; retry shortly")
	default:
		a.Logger.Error("looking up push endpoint", "err", err)
		writeStatus(w, http.StatusInternalServerError, "INTERNAL", "internal error; see the server log")
	}
}

// pushSendError answers a push that the dispatcher refused.
func (a *API) pushSendError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, dispatch.ErrUnregistered):
		writeStatus(w, http.StatusGone, "NOT_FOUND",
			"this push endpoint's registration was deleted: the subscription is gone, forget it")
	case errors.Is(err, quota.ErrOverloaded), errors.As(err, new(*quota.ExceededError)):
		fe := a.refusal(err) // counts the refusal; 429 or 503 with the wait
		if fe.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(fe.RetryAfter.Seconds())), 10))
		}
		writeStatus(w, fe.HTTPStatus, fe.Status, "too many messages for this device; retry after the Retry-After delay")
	case errors.Is(err, store.ErrClosed), errors.Is(err, dispatch.ErrShuttingDown):
		w.Header().Set("Retry-After", strconv.Itoa(int(retryAfterShutdown/time.Second)))
		writeStatus(w, http.StatusServiceUnavailable, "UNAVAILABLE", "server is shutting down; retry shortly")
	default:
		a.Logger.Error("push failed", "err", err)
		writeStatus(w, http.StatusInternalServerError, "INTERNAL", "internal error; see the server log")
	}
}

// pushDiscovery is GET /push/{id}: the UnifiedPush discovery document,
// for a known endpoint.
func (a *API) pushDiscovery(w http.ResponseWriter, r *http.Request) {
	if _, err := a.Hub.PushEndpoint(r.Context(), r.PathValue("id")); err != nil {
		a.pushEndpointError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]map[string]int{"unifiedpush": {"version": 1}})
}

// pushMethodNotAllowed answers the other methods on a push endpoint.
func pushMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET, HEAD, POST")
	writeStatus(w, http.StatusMethodNotAllowed, "INVALID_ARGUMENT",
		"method "+r.Method+" not allowed on a push endpoint: POST a message (RFC 8030 §5) or GET the UnifiedPush discovery document")
}

// pushMessage answers every method on a push message resource (the
// Location of a 201): acknowledging or cancelling a message this way
// (RFC 8030 §6.2) is not implemented.
func pushMessage(w http.ResponseWriter, r *http.Request) {
	writeStatus(w, http.StatusNotImplemented, "UNIMPLEMENTED",
		"push message resources are not served: "+r.Method+" "+r.URL.Path+" (devices acknowledge on their connection)")
}
