package httpapi

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/heraldpush/herald/internal/dispatch"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

// registerRequest is the optional body of POST /device/v1/registrations:
// the platform of the new registration and the device's address there. No
// body (or {"platform":"herald"}) registers for Herald's own connection.
type registerRequest struct {
	Platform string `json:"platform"`
	// WebPush is the browser's PushSubscription.toJSON().
	WebPush *struct {
		Endpoint       string   `json:"endpoint"`
		ExpirationTime *float64 `json:"expirationTime"` // accepted (null or ms since the epoch), not used
		Keys           struct {
			P256DH string `json:"p256dh"`
			Auth   string `json:"auth"`
		} `json:"keys"`
	} `json:"webpush"`
	APNs *struct {
		DeviceToken string `json:"device_token"`
		BundleID    string `json:"bundle_id"`
		Sandbox     bool   `json:"sandbox"`
	} `json:"apns"`
	FCM *struct {
		Token string `json:"token"`
	} `json:"fcm"`
}

// Limits of device addresses.
const (
	maxEndpointLen  = 2048
	minAPNsTokenLen = 64
	maxAPNsTokenLen = 200
	maxBundleIDLen  = 255
	maxFCMTokenLen  = 4096
)

// fieldError is a bad field of a request body.
type fieldError struct {
	field, msg string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func badField(field, format string, args ...any) error {
	return &fieldError{field: field, msg: fmt.Sprintf(format, args...)}
}

// address validates a registration request and returns the address to
// register.
func (req *registerRequest) address() (dispatch.Address, error) {
	platform := req.Platform
	if platform == "" {
		platform = store.PlatformHerald
	}
	given := map[string]bool{store.PlatformWebPush: req.WebPush != nil, store.PlatformAPNs: req.APNs != nil, store.PlatformFCM: req.FCM != nil}
	switch platform {
	case store.PlatformHerald, store.PlatformWebPush, store.PlatformAPNs, store.PlatformFCM:
	default:
		return dispatch.Address{}, badField("platform", "unknown platform %q: want herald, webpush, apns or fcm", req.Platform)
	}
	for p, ok := range given {
		if ok && p != platform {
			return dispatch.Address{}, badField(p, "given for platform %q: send only the %s member", platform, platform)
		}
	}
	if platform != store.PlatformHerald && !given[platform] {
		return dispatch.Address{}, badField(platform, "missing: platform %q needs the device's address in the %q member", platform, platform)
	}
	a := dispatch.Address{Platform: platform}
	switch platform {
	case store.PlatformWebPush:
		w := req.WebPush
		if err := checkEndpoint(w.Endpoint); err != nil {
			return dispatch.Address{}, err
		}
		keys, err := parseSubscriptionKeys(w.Keys.P256DH, w.Keys.Auth)
		if err != nil {
			return dispatch.Address{}, err
		}
		a.WebPush = &store.WebPushSubscription{
			Endpoint: w.Endpoint,
			P256DH:   base64.RawURLEncoding.EncodeToString(keys.P256DH),
			Auth:     base64.RawURLEncoding.EncodeToString(keys.Auth),
		}
	case store.PlatformAPNs:
		d := req.APNs
		if n := len(d.DeviceToken); n < minAPNsTokenLen || n > maxAPNsTokenLen || !isHex(d.DeviceToken) {
			return dispatch.Address{}, badField("apns.device_token", "want the device token as %d to %d hexadecimal digits (got %d characters)", minAPNsTokenLen, maxAPNsTokenLen, n)
		}
		if d.BundleID == "" || len(d.BundleID) > maxBundleIDLen || strings.ContainsAny(d.BundleID, " \t\r\n/") {
			return dispatch.Address{}, badField("apns.bundle_id", "want the app's bundle ID, e.g. com.example.app (the apns-topic)")
		}
		a.APNs = &store.APNsDevice{DeviceToken: strings.ToLower(d.DeviceToken), BundleID: d.BundleID, Sandbox: d.Sandbox}
	case store.PlatformFCM:
		tok := req.FCM.Token
		if tok == "" || len(tok) > maxFCMTokenLen || strings.ContainsAny(tok, " \t\r\n") {
			return dispatch.Address{}, badField("fcm.token", "want the FCM registration token the Firebase SDK gave the app")
		}
		a.FCM = &store.FCMDevice{Token: tok}
	}
	return a, nil
}

// checkEndpoint accepts an https push endpoint, or an http one on a
// loopback host (tests, local UnifiedPush distributors).
func checkEndpoint(endpoint string) error {
	const field = "webpush.endpoint"
	if endpoint == "" {
		return badField(field, "missing: want the subscription's endpoint URL")
	}
	if len(endpoint) > maxEndpointLen {
		return badField(field, "longer than %d bytes", maxEndpointLen)
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return badField(field, "not an absolute URL without user info or fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return badField(field, "must be https (http only for loopback hosts)")
	default:
		return badField(field, "scheme %q: must be https (http only for loopback hosts)", u.Scheme)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validAuth stands in for the auth secret while p256dh is checked alone.
var validAuth = base64.RawURLEncoding.EncodeToString(make([]byte, webpush.AuthLen))

// parseSubscriptionKeys checks p256dh and auth one by one, so that the
// error names the field.
func parseSubscriptionKeys(p256dh, auth string) (webpush.Keys, error) {
	if _, err := webpush.ParseKeys(p256dh, validAuth); err != nil {
		return webpush.Keys{}, badField("webpush.keys.p256dh", "want the subscription's P-256 public key, 65 bytes in base64url (%v)", trimPrefix(err))
	}
	keys, err := webpush.ParseKeys(p256dh, auth)
	if err != nil {
		return webpush.Keys{}, badField("webpush.keys.auth", "want the subscription's 16-byte auth secret in base64url (%v)", trimPrefix(err))
	}
	return keys, nil
}

func trimPrefix(err error) string {
	return strings.TrimPrefix(strings.TrimPrefix(err.Error(), webpush.ErrInvalidKeys.Error()+": "), "webpush: ")
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// iidPlatformOf is the Instance ID "platform" of a registration: FCM's
// names for the vendor platforms, HERALD for Herald's own connection.
func iidPlatformOf(r store.Registration) string {
	switch r.PlatformOf() {
	case store.PlatformWebPush:
		return "WEB"
	case store.PlatformAPNs:
		return "IOS"
	case store.PlatformFCM:
		return "ANDROID"
	}
	return iidPlatform
}
