package vendortest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// APNs limits and token rules (Apple, "Sending notification requests to
// APNs" and "Establishing a token-based connection to APNs").
const (
	// APNsMaxPayload is the largest payload APNs accepts (VoIP: 5120).
	APNsMaxPayload = 4096
	// APNsMaxVoIPPayload is the largest payload of a voip push.
	APNsMaxVoIPPayload = 5120
	// APNsTokenMaxAge: a provider token whose iat is older is refused with
	// 403 ExpiredProviderToken.
	APNsTokenMaxAge = time.Hour
	// APNsTokenMinRefresh: a provider token whose iat is newer than the
	// previous one of its team on the same connection by less than this is
	// refused with 429 TooManyProviderTokenUpdates (Apple: "no more than
	// once every 20 minutes").
	APNsTokenMinRefresh = 20 * time.Minute
)

// APNs is a local APNs provider API (HTTP/2 over TLS, token-based
// authentication). Register signing keys with NewKey and device tokens
// with NewDevice; point a provider's base URL at URL and use Client.
type APNs struct {
	server

	mu      sync.Mutex
	keys    map[string]*apnsKey // by key id
	lastIat map[string]int64    // by connection and team id
	devices map[string]*apnsDevice
	rec     recorder[APNsRequest]
}

type apnsKey struct {
	teamID  string
	pub     *ecdsa.PublicKey
	revoked bool
}

type apnsDevice struct {
	bundleID     string
	unregistered time.Time // zero while valid
}

// APNsRequest is a notification request the server accepted.
type APNsRequest struct {
	// DeviceToken is the token in the path.
	DeviceToken string
	// The apns-* headers as received ("" when absent).
	Topic, PushType, Priority, Expiration, CollapseID, ID string
	// Header holds all request headers.
	Header http.Header
	// Payload is the JSON body.
	Payload []byte
	// Proto is the HTTP protocol the request came over ("HTTP/2.0").
	Proto string
}

// NewAPNs starts an APNs server for the test.
func NewAPNs(t testing.TB, opts ...Option) *APNs {
	t.Helper()
	a := &APNs{
		server:  server{cfg: newConfig(opts)},
		keys:    map[string]*apnsKey{},
		lastIat: map[string]int64{},
		devices: map[string]*apnsDevice{},
	}
	a.start(t, a)
	return a
}

// NewKey creates a token signing key (.p8) of teamID, registers its public
// half, and returns it as a project would store it. Key ids are 10
// upper-case characters, as Apple's.
func (a *APNs) NewKey(t testing.TB, teamID string) store.APNsCredentials {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	id := randomAlnum(10)
	a.mu.Lock()
	a.keys[id] = &apnsKey{teamID: teamID, pub: &priv.PublicKey}
	a.mu.Unlock()
	return store.APNsCredentials{
		KeyID:  id,
		TeamID: teamID,
		KeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	}
}

// RevokeKey makes the server refuse tokens signed by the key (403
// InvalidProviderToken), as after revoking it in the developer account.
func (a *APNs) RevokeKey(keyID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if k := a.keys[keyID]; k != nil {
		k.revoked = true
	}
}

// NewDevice creates a device token (64 hex digits) valid for bundleID.
// Sandbox is set when the server was started with the Sandbox option.
func (a *APNs) NewDevice(bundleID string) store.APNsDevice {
	b := make([]byte, 32)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	a.mu.Lock()
	a.devices[tok] = &apnsDevice{bundleID: bundleID}
	a.mu.Unlock()
	return store.APNsDevice{DeviceToken: tok, BundleID: bundleID, Sandbox: a.cfg.sandbox}
}

// Unregister makes the device token inactive: requests to it get 410
// Unregistered with the time of this call as timestamp.
func (a *APNs) Unregister(deviceToken string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if d := a.devices[deviceToken]; d != nil {
		d.unregistered = a.cfg.now()
	}
}

// Received returns the requests accepted so far, oldest first.
func (a *APNs) Received() []APNsRequest { return a.rec.all() }

// WaitReceived waits until the server has accepted at least n requests
// in all, and returns them all, oldest first; or ctx's error.
func (a *APNs) WaitReceived(ctx context.Context, n int) ([]APNsRequest, error) {
	return a.rec.wait(ctx, n)
}

// apnsReasons are the reasons the server answers a FailNext status with.
var apnsReasons = map[int]string{
	http.StatusBadRequest:          "BadPath",
	http.StatusForbidden:           "Forbidden",
	http.StatusGone:                "Unregistered",
	http.StatusTooManyRequests:     "TooManyRequests",
	http.StatusInternalServerError: "InternalServerError",
	http.StatusServiceUnavailable:  "ServiceUnavailable",
}

var (
	hexToken = regexp.MustCompile(`^[0-9a-fA-F]{64,200}$`)
	uuidRE   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// apnsPushTypes are the values of apns-push-type Apple documents.
var apnsPushTypes = map[string]bool{
	"alert": true, "background": true, "location": true, "voip": true, "complication": true,
	"fileprovider": true, "mdm": true, "liveactivity": true, "pushtotalk": true, "widgets": true,
}

// ServeHTTP answers POST /3/device/<token> as APNs does.
func (a *APNs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status, after := a.intercept(r)
	if status < 0 {
		return
	}
	if status > 0 {
		setRetryAfter(w.Header(), after)
		apnsError(w, status, apnsReasons[status], 0)
		return
	}
	if r.ProtoMajor != 2 {
		// APNs speaks HTTP/2 only; an HTTP/1.1 client never gets this far.
		apnsError(w, http.StatusHTTPVersionNotSupported, "HTTP2Required", 0)
		return
	}
	if r.Method != http.MethodPost {
		apnsError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", 0)
		return
	}
	tok, ok := strings.CutPrefix(r.URL.Path, "/3/device/")
	if !ok {
		apnsError(w, http.StatusNotFound, "BadPath", 0)
		return
	}
	if tok == "" {
		apnsError(w, http.StatusBadRequest, "MissingDeviceToken", 0)
		return
	}
	if reason, st := a.checkAuth(r.Header.Get("Authorization"), r.RemoteAddr); reason != "" {
		apnsError(w, st, reason, 0)
		return
	}
	h := r.Header
	req := APNsRequest{
		DeviceToken: tok,
		Topic:       h.Get("apns-topic"),
		PushType:    h.Get("apns-push-type"),
		Priority:    h.Get("apns-priority"),
		Expiration:  h.Get("apns-expiration"),
		CollapseID:  h.Get("apns-collapse-id"),
		ID:          h.Get("apns-id"),
		Header:      h.Clone(),
		Proto:       r.Proto,
	}
	if reason := checkAPNsHeaders(&req); reason != "" {
		apnsError(w, http.StatusBadRequest, reason, 0)
		return
	}
	limit := APNsMaxPayload
	if req.PushType == "voip" {
		limit = APNsMaxVoIPPayload
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return
	}
	switch {
	case len(body) == 0:
		apnsError(w, http.StatusBadRequest, "PayloadEmpty", 0)
		return
	case len(body) > limit:
		apnsError(w, http.StatusRequestEntityTooLarge, "PayloadTooLarge", 0)
		return
	}
	req.Payload = body

	a.mu.Lock()
	d := a.devices[strings.ToLower(tok)]
	switch {
	case !hexToken.MatchString(tok) || d == nil:
		a.mu.Unlock()
		apnsError(w, http.StatusBadRequest, "BadDeviceToken", 0)
		return
	case !topicFor(req.Topic, d.bundleID):
		a.mu.Unlock()
		apnsError(w, http.StatusBadRequest, "DeviceTokenNotForTopic", 0)
		return
	case !d.unregistered.IsZero():
		ts := d.unregistered.UnixMilli()
		a.mu.Unlock()
		apnsError(w, http.StatusGone, "Unregistered", ts)
		return
	}
	if req.ID == "" {
		req.ID = newUUID()
	}
	a.rec.add(req)
	a.mu.Unlock()
	w.Header().Set("apns-id", req.ID)
	if a.cfg.sandbox {
		w.Header().Set("apns-unique-id", newUUID())
	}
	w.WriteHeader(http.StatusOK)
}

// checkAPNsHeaders applies Apple's header rules; it returns the reason of
// a 400, or "".
func checkAPNsHeaders(req *APNsRequest) string {
	switch {
	case req.Topic == "":
		return "MissingTopic"
	case req.PushType != "" && !apnsPushTypes[req.PushType]:
		return "InvalidPushType"
	case req.Priority != "" && req.Priority != "10" && req.Priority != "5" && req.Priority != "1":
		return "BadPriority"
	case req.Expiration != "" && !isDigits(req.Expiration):
		return "BadExpirationDate"
	case len(req.CollapseID) > 64:
		return "BadCollapseId"
	case req.ID != "" && !uuidRE.MatchString(strings.ToLower(req.ID)):
		return "BadMessageId"
	}
	for _, name := range []string{"apns-topic", "apns-push-type", "apns-priority", "apns-expiration", "apns-collapse-id", "apns-id", "Authorization"} {
		if len(req.Header.Values(name)) > 1 {
			return "DuplicateHeaders"
		}
	}
	return ""
}

// topicFor reports whether an apns-topic addresses an app: its bundle id,
// or the bundle id with one of Apple's suffixes.
func topicFor(topic, bundleID string) bool {
	if topic == bundleID {
		return true
	}
	rest, ok := strings.CutPrefix(topic, bundleID)
	switch rest {
	case ".voip", ".complication", ".pushkit.fileprovider", ".push-type.liveactivity":
		return ok
	}
	return false
}

// checkAuth verifies a provider token: "bearer <JWT>", ES256 with the key
// named by kid, iss its team, iat at most an hour old and not a refresh
// within 20 minutes of the team's previous one on the same connection
// (conn, the client's address). It returns the reason and status of the
// refusal, or "".
func (a *APNs) checkAuth(authz, conn string) (string, int) {
	scheme, token, _ := strings.Cut(authz, " ")
	if authz == "" || !strings.EqualFold(scheme, "bearer") {
		return "MissingProviderToken", http.StatusForbidden
	}
	hb, cb, sig, ok := splitJWS(strings.TrimSpace(token))
	if !ok {
		return "InvalidProviderToken", http.StatusForbidden
	}
	var head struct{ Alg, Kid string }
	var claims struct {
		Iss string `json:"iss"`
		Iat *int64 `json:"iat"`
	}
	if json.Unmarshal(hb, &head) != nil || json.Unmarshal(cb, &claims) != nil || head.Alg != "ES256" || claims.Iat == nil {
		return "InvalidProviderToken", http.StatusForbidden
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	k := a.keys[head.Kid]
	if k == nil || k.revoked || k.teamID != claims.Iss || !verifyES256(token, k.pub, sig) {
		return "InvalidProviderToken", http.StatusForbidden
	}
	iat := time.Unix(*claims.Iat, 0)
	now := a.cfg.now()
	switch {
	case iat.After(now.Add(time.Minute)):
		return "InvalidProviderToken", http.StatusForbidden
	case now.Sub(iat) > APNsTokenMaxAge:
		return "ExpiredProviderToken", http.StatusForbidden
	}
	ck := conn + " " + k.teamID
	last, seen := a.lastIat[ck]
	switch {
	case !seen || *claims.Iat > last && time.Duration(*claims.Iat-last)*time.Second >= APNsTokenMinRefresh:
		a.lastIat[ck] = *claims.Iat
	case *claims.Iat > last:
		return "TooManyProviderTokenUpdates", http.StatusTooManyRequests
	}
	return "", 0
}

// splitJWS decodes the parts of a compact JWS.
func splitJWS(token string) (header, claims, sig []byte, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, nil, false
	}
	dec := base64.RawURLEncoding.Strict()
	var err1, err2, err3 error
	header, err1 = dec.DecodeString(parts[0])
	claims, err2 = dec.DecodeString(parts[1])
	sig, err3 = dec.DecodeString(parts[2])
	return header, claims, sig, err1 == nil && err2 == nil && err3 == nil
}

// verifyES256 checks a JWS ES256 signature (r || s, 32 bytes each).
func verifyES256(token string, pub *ecdsa.PublicKey, sig []byte) bool {
	if len(sig) != 64 {
		return false
	}
	input := token[:strings.LastIndexByte(token, '.')]
	digest := sha256.Sum256([]byte(input))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(pub, digest[:], r, s)
}

// apnsError writes APNs's error body {"reason":…}, with "timestamp" (ms)
// for 410.
func apnsError(w http.ResponseWriter, status int, reason string, timestampMS int64) {
	body := map[string]any{"reason": reason}
	if status == http.StatusGone {
		body["timestamp"] = timestampMS
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("apns-id", newUUID())
	w.WriteHeader(status)
	_, _ = w.Write(b) // the client went away
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// newUUID returns a random version 4 UUID in canonical lower-case form.
func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// randomAlnum returns n random characters of [0-9A-Z].
func randomAlnum(n int) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
