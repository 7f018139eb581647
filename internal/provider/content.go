package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Content is a message's app part and platform blocks, decoded once so
// that each provider can build its vendor's request from them.
type Content struct {
	// Data is the message's "data" (nil when absent).
	Data map[string]string
	// Notification is the message's "notification" (nil when absent).
	Notification *Notification
	// Android is the "android" block as stored: snake_case members
	// (collapse_key, priority, ttl, data, notification, …); nil when absent.
	Android json.RawMessage
	// APNs is the "apns" block; nil when absent.
	APNs *APNsConfig
	// Webpush is the "webpush" block; nil when absent.
	Webpush *WebpushConfig
	// FCMOptions is the message-wide "fcm_options" block; nil when absent.
	FCMOptions json.RawMessage
}

// Notification is FCM's basic notification.
type Notification struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
	Image string `json:"image,omitempty"`
}

// APNsConfig is FCM's ApnsConfig as internal/fcm normalises it.
type APNsConfig struct {
	// Headers are APNs request headers (apns-priority, apns-expiration, …).
	Headers map[string]string `json:"headers,omitempty"`
	// Payload is the APNs payload object ("aps" and custom keys), as sent.
	Payload json.RawMessage `json:"payload,omitempty"`
	// FCMOptions holds image and analytics_label.
	FCMOptions *APNsFCMOptions `json:"fcm_options,omitempty"`
}

// APNsFCMOptions is FCM's ApnsFcmOptions.
type APNsFCMOptions struct {
	AnalyticsLabel string `json:"analytics_label,omitempty"`
	Image          string `json:"image,omitempty"`
}

// WebpushConfig is FCM's WebpushConfig as internal/fcm normalises it.
type WebpushConfig struct {
	// Headers are RFC 8030 headers (TTL, Urgency, Topic), names as sent.
	Headers map[string]string `json:"headers,omitempty"`
	// Data replaces the message's data for Web Push when present.
	Data map[string]string `json:"data,omitempty"`
	// Notification is a Web Notification options object, as sent.
	Notification json.RawMessage `json:"notification,omitempty"`
	// FCMOptions holds link and analytics_label.
	FCMOptions *WebpushFCMOptions `json:"fcm_options,omitempty"`
}

// WebpushFCMOptions is FCM's WebpushFcmOptions.
type WebpushFCMOptions struct {
	Link           string `json:"link,omitempty"`
	AnalyticsLabel string `json:"analytics_label,omitempty"`
}

// Header returns the value of the header named name (case-insensitive)
// and whether it is present.
func (c *WebpushConfig) Header(name string) (string, bool) {
	if c == nil {
		return "", false
	}
	return headerFold(c.Headers, name)
}

// Header returns the value of the APNs header named name
// (case-insensitive) and whether it is present.
func (c *APNsConfig) Header(name string) (string, bool) {
	if c == nil {
		return "", false
	}
	return headerFold(c.Headers, name)
}

func headerFold(h map[string]string, name string) (string, bool) {
	if v, ok := h[name]; ok {
		return v, true
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// Decode reads m's Payload and Platform. A message that does not decode
// was stored corrupt: the error wraps ErrRejected.
func (m Message) Decode() (Content, error) {
	var c Content
	if len(bytes.TrimSpace(m.Payload)) > 0 {
		var app struct {
			Data         map[string]string `json:"data"`
			Notification *Notification     `json:"notification"`
		}
		body := make([]byte, 0, len(m.Payload)+2)
		body = append(append(append(body, '{'), m.Payload...), '}')
		if err := json.Unmarshal(body, &app); err != nil {
			return Content{}, fmt.Errorf("%w: message %s: payload: %v", ErrRejected, m.ID, err)
		}
		c.Data, c.Notification = app.Data, app.Notification
	}
	if len(bytes.TrimSpace(m.Platform)) > 0 {
		var p struct {
			Android    json.RawMessage `json:"android"`
			APNs       *APNsConfig     `json:"apns"`
			Webpush    *WebpushConfig  `json:"webpush"`
			FCMOptions json.RawMessage `json:"fcm_options"`
		}
		if err := json.Unmarshal(m.Platform, &p); err != nil {
			return Content{}, fmt.Errorf("%w: message %s: platform blocks: %v", ErrRejected, m.ID, err)
		}
		c.Android, c.APNs, c.Webpush, c.FCMOptions = p.Android, p.APNs, p.Webpush, p.FCMOptions
	}
	return c, nil
}

// TimeLeft is how long the vendor may keep m from now on: 0 for a message
// sent with TTL 0 (deliver now or drop), otherwise the whole seconds left
// until ExpiresAt, at least 1. A message already past ExpiresAt gives an
// error wrapping ErrRejected: it must not be sent.
func (m Message) TimeLeft(now time.Time) (time.Duration, error) {
	if m.TTL == 0 {
		return 0, nil
	}
	left := m.ExpiresAt.Sub(now).Truncate(time.Second)
	if !m.ExpiresAt.After(now) {
		return 0, fmt.Errorf("%w: message %s expired at %s", ErrRejected, m.ID, m.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return max(left, time.Second), nil
}

// RetryAfter reads a Retry-After header: delay-seconds or an HTTP-date
// (RFC 9110 §10.2.3), capped at a day. It returns 0 when the header is
// absent, malformed or in the past.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil || !t.After(now) {
		return 0
	}
	return min(t.Sub(now), maxRetryAfter)
}

// maxRetryAfter caps what a vendor may ask a sender to wait.
const maxRetryAfter = 24 * time.Hour

// Defaults fills in the options every provider takes: a client of its own
// with HTTP/2 and a 30 s timeout, time.Now, and a logger that discards.
func Defaults(client *http.Client, now func() time.Time, log *slog.Logger) (*http.Client, func() time.Time, *slog.Logger) {
	if client == nil {
		client = &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true}, Timeout: 30 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return client, now, log
}
