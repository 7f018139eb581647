package apns

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/store"
)

// MaxCollapseID is the longest apns-collapse-id APNs accepts, in bytes.
// Longer collapse keys are replaced by a hash of 43 characters.
const MaxCollapseID = 64

// Request is an APNs notification request without its authorization:
// the apns-* headers and the JSON payload.
type Request struct {
	Header  http.Header
	Payload []byte
}

// Build turns a message into the APNs request for dev, the way FCM maps a
// message to APNs: the alert from the notification's title and body, the
// apns.payload "aps" members merged over it (an "alert" object member by
// member, an "alert" string in place of it), the data as custom top-level
// keys (apns.payload's other keys win), and the headers derived from the
// message, overridden by apns.headers. now decides whether the message
// has expired (an error wrapping provider.ErrRejected).
func Build(c provider.Content, m provider.Message, dev store.APNsDevice, now time.Time) (Request, error) {
	if _, err := m.TimeLeft(now); err != nil {
		return Request{}, err
	}
	payload := map[string]json.RawMessage{}
	for k, v := range c.Data {
		payload[k] = mustJSON(v)
	}
	aps := map[string]json.RawMessage{}
	alert := map[string]json.RawMessage{}
	var alertText json.RawMessage // an "alert" string from apns.payload
	image := ""
	if n := c.Notification; n != nil {
		if n.Title != "" {
			alert["title"] = mustJSON(n.Title)
		}
		if n.Body != "" {
			alert["body"] = mustJSON(n.Body)
		}
		image = n.Image
	}
	if c.APNs != nil && c.APNs.FCMOptions != nil && c.APNs.FCMOptions.Image != "" {
		image = c.APNs.FCMOptions.Image
	}
	if image != "" {
		// As FCM does: the app's notification service extension downloads
		// the image named in fcm_options.image.
		aps["mutable-content"] = json.RawMessage("1")
		payload["fcm_options"] = mustJSON(map[string]string{"image": image})
	}
	if c.APNs != nil && len(bytes.TrimSpace(c.APNs.Payload)) > 0 {
		var custom map[string]json.RawMessage
		if err := json.Unmarshal(c.APNs.Payload, &custom); err != nil {
			return Request{}, fmt.Errorf("%w: message %s: apns.payload is not an object: %v", provider.ErrRejected, m.ID, err)
		}
		for k, v := range custom {
			if k != "aps" {
				payload[k] = v
				continue
			}
			var a map[string]json.RawMessage
			if err := json.Unmarshal(v, &a); err != nil {
				return Request{}, fmt.Errorf("%w: message %s: apns.payload.aps is not an object: %v", provider.ErrRejected, m.ID, err)
			}
			for ak, av := range a {
				if ak != "alert" {
					aps[ak] = av
					continue
				}
				var obj map[string]json.RawMessage
				if json.Unmarshal(av, &obj) == nil && obj != nil {
					for k2, v2 := range obj {
						alert[k2] = v2
					}
					alertText = nil
				} else {
					alertText, alert = av, map[string]json.RawMessage{}
				}
			}
		}
	}
	switch {
	case alertText != nil:
		aps["alert"] = alertText
	case len(alert) > 0:
		aps["alert"] = mustJSON(alert)
	}
	_, hasAlert := aps["alert"]
	_, hasSound := aps["sound"]
	_, hasBadge := aps["badge"]
	pushType := "background"
	if hasAlert || hasSound || hasBadge {
		pushType = "alert"
	}
	if v, ok := c.APNs.Header("apns-push-type"); ok {
		pushType = v
	}
	if _, ok := aps["content-available"]; pushType == "background" && !ok {
		aps["content-available"] = json.RawMessage("1")
	}
	payload["aps"] = mustJSON(aps)
	body, err := json.Marshal(payload)
	if err != nil {
		return Request{}, fmt.Errorf("%w: message %s: payload: %v", provider.ErrRejected, m.ID, err)
	}

	h := http.Header{}
	h.Set("apns-push-type", pushType)
	switch {
	case pushType == "background" || !m.High:
		h.Set("apns-priority", "5")
	default:
		h.Set("apns-priority", "10")
	}
	if m.TTL == 0 {
		h.Set("apns-expiration", "0")
	} else {
		h.Set("apns-expiration", itoa(m.ExpiresAt.Unix()))
	}
	if m.CollapseKey != "" {
		h.Set("apns-collapse-id", CollapseID(m.CollapseKey))
	}
	h.Set("apns-topic", dev.BundleID)
	h.Set("apns-id", apnsID(m.ID))
	if c.APNs != nil {
		for k, v := range c.APNs.Headers {
			if strings.HasPrefix(strings.ToLower(k), "apns-") {
				h.Set(k, v)
			}
		}
	}
	return Request{Header: h, Payload: body}, nil
}

// CollapseID is the apns-collapse-id of a collapse key: the key itself
// when it fits MaxCollapseID bytes, otherwise the unpadded base64url
// SHA-256 of it.
func CollapseID(key string) string {
	if len(key) <= MaxCollapseID {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// mustJSON encodes strings and maps of them, which cannot fail.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Reason is an APNs error body.
type Reason struct {
	// Reason is Apple's reason string, such as "BadDeviceToken".
	Reason string `json:"reason"`
	// Timestamp is, with 410, when APNs last confirmed the token invalid
	// (milliseconds since the epoch).
	Timestamp int64 `json:"timestamp"`
}

// ParseReason reads an APNs error body. A body that is not one gives an
// empty Reason.
func ParseReason(body []byte) Reason {
	var r Reason
	if json.Unmarshal(body, &r) != nil {
		return Reason{}
	}
	return r
}
