// Package fcm is the FCM HTTP v1 wire format: it decodes and validates send
// requests exactly as the Firebase Admin SDKs write them, and writes FCM's
// google.rpc.Status error bodies.
//
// Decoding follows the protobuf JSON mapping that Google's front end applies:
// member names in snake_case or lowerCamelCase, enums in any letter case,
// durations as "3.5s", null meaning unset. It is a single pass over the body
// without reflection. Routing, authentication and storage live elsewhere
// (internal/httpapi calls this package).
package fcm

import (
	"encoding/json"
	"time"
)

// MaxPayloadBytes bounds the delivered payload: the UTF-8 bytes of the data
// keys and values plus the notification title, body and image (FCM: 4096).
const MaxPayloadBytes = 4096

// MaxTTL is the longest time to live a message may ask for, and the default
// (FCM: 28 days, 2,419,200 s).
const MaxTTL = 28 * 24 * time.Hour

// MaxTokenLength bounds a registration token or FID, in characters.
const MaxTokenLength = 4096

// MaxTopicLength bounds a topic name, in bytes (FCM's topic API: 900).
const MaxTopicLength = 900

// Android message priorities, as Android.Priority holds them.
const (
	PriorityNormal = "normal"
	PriorityHigh   = "high"
)

// SendRequest is the body of POST /v1/projects/{p}/messages:send.
type SendRequest struct {
	// ValidateOnly asks for validation without delivery (the SDKs' dry run).
	ValidateOnly bool
	// Message is the message to send.
	Message Message
}

// Message is FCM's Message resource as sent by app servers.
//
// Exactly one of Token, Fid, Topic and Condition is set. The members kept
// as json.RawMessage are checked for shape (known member names, JSON types)
// and normalised to compact JSON with snake_case member names; the
// free-form parts inside them (APNs payload, headers, Web Push notification)
// are kept as sent.
type Message struct {
	// Token is a registration token.
	Token string
	// Fid is a Firebase Installation ID, the successor of Token.
	Fid string
	// Topic is a topic name, without the "/topics/" prefix (stripped when sent).
	Topic string
	// Condition is a topic condition such as "'a' in topics && 'b' in topics".
	// It is not parsed here.
	Condition string

	// Data is the custom key-value payload; nil when absent or empty.
	Data map[string]string
	// Notification is the basic notification shown on every platform.
	Notification *Notification
	// Android holds the Android-specific options.
	Android *Android

	// APNS is the ApnsConfig object, normalised.
	APNS json.RawMessage
	// Webpush is the WebpushConfig object, normalised.
	Webpush json.RawMessage
	// FCMOptions is the FcmOptions object (analytics_label), normalised.
	FCMOptions json.RawMessage
	// AndroidV2 is the preview AndroidConfigV2 object, kept compact but
	// otherwise as sent: its schema is not published yet.
	AndroidV2 json.RawMessage
}

// Notification is the basic notification template.
type Notification struct {
	Title string
	Body  string
	// Image is the URL of an image the device downloads and shows.
	Image string
}

// Android is FCM's AndroidConfig.
type Android struct {
	// CollapseKey identifies a group of messages of which only the last
	// undelivered one is kept.
	CollapseKey string
	// Priority is PriorityNormal, PriorityHigh or "" (unset), lower case
	// whatever the case sent.
	Priority string
	// TTL is how long the message is kept while the device is offline, as
	// sent (with its fraction of a second); nil when unset. See Message.TTL.
	TTL *time.Duration
	// RestrictedPackageName is the package name the app must have.
	RestrictedPackageName string
	// Data replaces Message.Data for Android when set; nil when absent or empty.
	Data map[string]string
	// Notification is the AndroidNotification object, normalised.
	Notification json.RawMessage
	// FCMOptions is the AndroidFcmOptions object, normalised.
	FCMOptions json.RawMessage
	// DirectBootOK allows delivery while the device is in direct boot mode.
	DirectBootOK bool
	// BandwidthConstrainedOK allows delivery over bandwidth-constrained networks.
	BandwidthConstrainedOK bool
	// RestrictedSatelliteOK allows delivery over restricted satellite networks.
	RestrictedSatelliteOK bool
}

// TTL is the message's effective time to live: android.ttl rounded down to
// whole seconds, MaxTTL when unset.
func (m *Message) TTL() time.Duration {
	if m.Android == nil || m.Android.TTL == nil {
		return MaxTTL
	}
	return m.Android.TTL.Truncate(time.Second)
}

// HighPriority reports whether android.priority is high. Unset means normal.
func (m *Message) HighPriority() bool {
	return m.Android != nil && m.Android.Priority == PriorityHigh
}

// CollapseKey is android.collapse_key, or "" for a non-collapsible message.
func (m *Message) CollapseKey() string {
	if m.Android == nil {
		return ""
	}
	return m.Android.CollapseKey
}

// DeliveryData is the data delivered to the device: android.data when set,
// otherwise data. The map is shared, not copied.
func (m *Message) DeliveryData() map[string]string {
	if m.Android != nil && m.Android.Data != nil {
		return m.Android.Data
	}
	return m.Data
}

// PayloadSize is the size that MaxPayloadBytes bounds: the UTF-8 bytes of
// the delivered data's keys and values plus the notification's title, body
// and image.
func (m *Message) PayloadSize() int {
	n := 0
	for k, v := range m.DeliveryData() {
		n += len(k) + len(v)
	}
	if m.Notification != nil {
		n += len(m.Notification.Title) + len(m.Notification.Body) + len(m.Notification.Image)
	}
	return n
}
