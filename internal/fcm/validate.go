package fcm

import (
	"strings"
	"unicode/utf8"
)

// Validate applies FCM's rules to a decoded message: exactly one target; a
// token or FID of 1 to MaxTokenLength characters; a topic of 1 to
// MaxTopicLength characters from [a-zA-Z0-9-_.~%]; no reserved data keys;
// a payload of at most MaxPayloadBytes; then the value rules of every
// field (see rules.go and docs/api.md "The Message fields"): analytics
// labels, image and link URLs, Android colors, enums, durations and
// timestamps, APNs and Web Push headers, the aps dictionary, the Web Push
// notification options, and FCM's rule that iOS data-only messages use
// apns-priority 5. The platform blocks must be normalised as
// DecodeSendRequest leaves them. DecodeSendRequest calls it; the error is
// always an INVALID_ARGUMENT *Error naming the field.
func (m *Message) Validate() error {
	if err := m.validate(); err != nil {
		return err
	}
	return nil
}

func (m *Message) validate() *Error {
	var targets []string
	for _, t := range [...]struct{ name, value string }{
		{"token", m.Token}, {"fid", m.Fid}, {"topic", m.Topic}, {"condition", m.Condition},
	} {
		if t.value != "" {
			targets = append(targets, t.name)
		}
	}
	switch len(targets) {
	case 0:
		return InvalidArgument("message", "Exactly one of token, fid, topic or condition must be set; none is.")
	case 1:
	default:
		return InvalidArgument("message", "Exactly one of token, fid, topic or condition must be set, not %s.", strings.Join(targets, " and "))
	}
	if len(m.Token) > MaxTokenLength && utf8.RuneCountInString(m.Token) > MaxTokenLength {
		return InvalidArgument("message.token", "The registration token is not a valid FCM registration token: longer than %d characters.", MaxTokenLength)
	}
	if len(m.Fid) > MaxTokenLength && utf8.RuneCountInString(m.Fid) > MaxTokenLength {
		return InvalidArgument("message.fid", "The installation ID is not valid: longer than %d characters.", MaxTokenLength)
	}
	if m.Topic != "" && !ValidTopic(m.Topic) {
		return InvalidArgument("message.topic", "Invalid topic name %s: it must match [a-zA-Z0-9-_.~%%]{1,%d}.", quoteName(m.Topic), MaxTopicLength)
	}
	if err := checkDataKeys("message.data", m.Data); err != nil {
		return err
	}
	if m.Android != nil {
		if err := checkDataKeys("message.android.data", m.Android.Data); err != nil {
			return err
		}
	}
	if n := m.PayloadSize(); n > MaxPayloadBytes {
		return InvalidArgument("message", "Message is too big: %d bytes of data and notification text, the limit is %d.", n, MaxPayloadBytes)
	}
	return m.validateValues()
}

// validateValues applies the value rules, block by block in the order of
// the Message resource.
func (m *Message) validateValues() *Error {
	if n := m.Notification; n != nil {
		if err := checkURL("message.notification.image", n.Image, false); err != nil {
			return err
		}
	}
	if a := m.Android; a != nil {
		if err := checkPackageName("message.android.restricted_package_name", a.RestrictedPackageName); err != nil {
			return err
		}
		if err := checkAndroidNotification(a.Notification); err != nil {
			return err
		}
		if err := checkRawFCMOptions("message.android.fcm_options", a.FCMOptions); err != nil {
			return err
		}
	}
	facts, err := checkAPNS(m.APNS)
	if err != nil {
		return err
	}
	if facts.priority10 && !facts.visible && !m.hasNotificationText() {
		return invalidValue("message.apns.headers.apns-priority",
			"iOS data-only messages must use apns-priority 5: this message has no notification title or body and no alert, sound or badge in aps, but apns-priority 10.")
	}
	if err := checkWebpush(m.Webpush); err != nil {
		return err
	}
	return checkRawFCMOptions("message.fcm_options", m.FCMOptions)
}

// hasNotificationText reports whether the message has a notification
// title or body, which FCM turns into an APNs alert.
func (m *Message) hasNotificationText() bool {
	return m.Notification != nil && (m.Notification.Title != "" || m.Notification.Body != "")
}

// ValidTopic reports whether name matches [a-zA-Z0-9-_.~%]{1,900}.
func ValidTopic(name string) bool {
	if len(name) == 0 || len(name) > MaxTopicLength {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == '~', c == '%':
		default:
			return false
		}
	}
	return true
}

// ReservedDataKey reports whether key may not be used in a message's data:
// "from", "message_type", "gcm", and keys starting with "google" or "gcm.",
// which Android's FCM client uses for its own fields.
func ReservedDataKey(key string) bool {
	switch key {
	case "from", "message_type", "gcm":
		return true
	}
	return strings.HasPrefix(key, "google") || strings.HasPrefix(key, "gcm.")
}

// checkDataKeys refuses reserved keys, naming the first in sort order so
// that the answer does not depend on map order.
func checkDataKeys(path string, data map[string]string) *Error {
	bad, found := "", false
	for k := range data {
		if ReservedDataKey(k) && (!found || k < bad) {
			bad, found = k, true
		}
	}
	if !found {
		return nil
	}
	return InvalidArgument(path+"."+quoteLimit(bad), "Invalid data payload key %s: \"from\", \"message_type\", \"gcm\" and keys starting with \"google\" or \"gcm.\" are reserved.", quoteName(bad))
}
