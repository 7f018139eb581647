package fcm

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// MarshalJSON writes the request in FCM's canonical form: snake_case
// names, lower-case priority, protobuf durations, unset members left out,
// map keys sorted. DecodeSendRequest reads it back to an equal value, so
// it is also how a request is forwarded to FCM or stored.
func (r SendRequest) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 512)
	b = append(b, '{')
	if r.ValidateOnly {
		b = append(b, `"validate_only":true,`...)
	}
	b = append(b, `"message":`...)
	b = r.Message.appendJSON(b)
	return append(b, '}'), nil
}

// MarshalJSON writes the message as SendRequest.MarshalJSON does.
func (m *Message) MarshalJSON() ([]byte, error) {
	return m.appendJSON(make([]byte, 0, 512)), nil
}

// object writes the members of one JSON object, placing the commas.
type object struct {
	b    []byte
	used bool
}

func (o *object) name(n string) {
	if o.used {
		o.b = append(o.b, ',')
	}
	o.used = true
	o.b = append(o.b, '"')
	o.b = append(o.b, n...)
	o.b = append(o.b, `":`...)
}

func (o *object) str(n, v string) {
	if v != "" {
		o.name(n)
		o.b = appendString(o.b, v)
	}
}

func (o *object) boolean(n string, v bool) {
	if v {
		o.name(n)
		o.b = append(o.b, "true"...)
	}
}

func (o *object) raw(n string, v json.RawMessage) {
	if v != nil {
		o.name(n)
		o.b = append(o.b, v...)
	}
}

func (o *object) strMap(n string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	o.name(n)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	o.b = append(o.b, '{')
	for i, k := range keys {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = appendString(o.b, k)
		o.b = append(o.b, ':')
		o.b = appendString(o.b, m[k])
	}
	o.b = append(o.b, '}')
}

func (m *Message) appendJSON(b []byte) []byte {
	o := object{b: append(b, '{')}
	o.str("token", m.Token)
	o.str("fid", m.Fid)
	o.str("topic", m.Topic)
	o.str("condition", m.Condition)
	o.strMap("data", m.Data)
	if n := m.Notification; n != nil {
		o.name("notification")
		no := object{b: append(o.b, '{')}
		no.str("title", n.Title)
		no.str("body", n.Body)
		no.str("image", n.Image)
		o.b = append(no.b, '}')
	}
	if a := m.Android; a != nil {
		o.name("android")
		o.b = a.appendJSON(o.b)
	}
	o.raw("apns", m.APNS)
	o.raw("webpush", m.Webpush)
	o.raw("fcm_options", m.FCMOptions)
	o.raw("android_v2", m.AndroidV2)
	return append(o.b, '}')
}

func (a *Android) appendJSON(b []byte) []byte {
	o := object{b: append(b, '{')}
	o.str("collapse_key", a.CollapseKey)
	o.str("priority", a.Priority)
	if a.TTL != nil {
		o.name("ttl")
		o.b = append(o.b, '"')
		o.b = appendDuration(o.b, *a.TTL)
		o.b = append(o.b, '"')
	}
	o.str("restricted_package_name", a.RestrictedPackageName)
	o.strMap("data", a.Data)
	o.raw("notification", a.Notification)
	o.raw("fcm_options", a.FCMOptions)
	o.boolean("direct_boot_ok", a.DirectBootOK)
	o.boolean("bandwidth_constrained_ok", a.BandwidthConstrainedOK)
	o.boolean("restricted_satellite_ok", a.RestrictedSatelliteOK)
	return append(o.b, '}')
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += n
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendDuration appends d in protobuf JSON form without the quotes: whole
// seconds, then 3, 6 or 9 fractional digits when needed, then "s".
func appendDuration(b []byte, d time.Duration) []byte {
	if d < 0 {
		b = append(b, '-')
		d = -d // MaxTTL is far from the minimum duration
	}
	b = strconv.AppendInt(b, int64(d/time.Second), 10)
	if ns := int64(d % time.Second); ns != 0 {
		frac := strconv.AppendInt(nil, ns+1e9, 10)[1:] // nine digits, leading zeros kept
		switch {
		case ns%1e6 == 0:
			frac = frac[:3]
		case ns%1e3 == 0:
			frac = frac[:6]
		}
		b = append(b, '.')
		b = append(b, frac...)
	}
	return append(b, 's')
}
