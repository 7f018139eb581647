package fcm

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// DecodeSendRequest parses a send request body the way FCM does (see the
// package comment) and validates it (see Message.Validate). The error is
// always an *Error with status 400 INVALID_ARGUMENT.
//
// Strings in the result may share memory with one copy of body; body itself
// is not retained. The caller bounds the body's size.
func DecodeSendRequest(body []byte) (SendRequest, error) {
	d := decoder{lexer: lexer{s: string(body)}}
	req, err := d.sendRequest()
	if err == nil {
		err = req.Message.validate()
	}
	if err != nil {
		return SendRequest{}, err
	}
	return req, nil
}

// decoder reads the members this package types (SendRequest, Message,
// Notification, Android) by hand, and the others through their schemas.
type decoder struct {
	lexer
	scratch []byte // reused for the raw members
}

func (d *decoder) sendRequest() (SendRequest, *Error) {
	var req SendRequest
	if d.peek() != '{' {
		return req, InvalidArgument("", "Invalid JSON payload received. The request body must be a JSON object.")
	}
	d.i++
	var seen uint
	found := false
	for first := true; ; first = false {
		name, more, err := d.member("", first)
		if err != nil {
			return req, err
		}
		if !more {
			break
		}
		switch name {
		case "message":
			if err = mark(&seen, 0, "", name); err == nil && !d.null() {
				err = d.message(&req.Message)
				found = true
			}
		case "validate_only", "validateOnly":
			if err = mark(&seen, 1, "", name); err == nil {
				req.ValidateOnly, err = d.boolValue("validate_only")
			}
		default:
			err = unknownName("", name)
		}
		if err != nil {
			return req, err
		}
	}
	if d.skipWS(); d.i != len(d.s) {
		return req, InvalidArgument("", "Invalid JSON payload received. Unexpected data after the request object at byte %d.", d.i)
	}
	if !found {
		return req, InvalidArgument("message", "The message is required.")
	}
	return req, nil
}

// mark records member bit of an object and refuses a second one (the same
// name twice, or its snake_case and lowerCamelCase forms).
func mark(seen *uint, bit uint, path, name string) *Error {
	if *seen&(1<<bit) != 0 {
		return duplicateName(path, name)
	}
	*seen |= 1 << bit
	return nil
}

func (d *decoder) message(m *Message) *Error {
	const path = "message"
	if d.peek() != '{' {
		return d.typeError(path, "type.googleapis.com/google.firebase.fcm.v1.Message")
	}
	d.i++
	var seen uint
	for first := true; ; first = false {
		name, more, err := d.member(path, first)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
		var bit uint
		switch name {
		case "token":
			bit = 0
		case "fid":
			bit = 1
		case "topic":
			bit = 2
		case "condition":
			bit = 3
		case "data":
			bit = 4
		case "notification":
			bit = 5
		case "android":
			bit = 6
		case "apns":
			bit = 7
		case "webpush":
			bit = 8
		case "fcm_options", "fcmOptions":
			bit = 9
		case "android_v2", "androidV2":
			bit = 10
		case "name":
			bit = 11
		default:
			return unknownName(path, name)
		}
		if err := mark(&seen, bit, path, name); err != nil {
			return err
		}
		switch bit {
		case 0:
			m.Token, err = d.stringValue("message.token")
		case 1:
			m.Fid, err = d.stringValue("message.fid")
		case 2:
			m.Topic, err = d.stringValue("message.topic")
			if t, ok := strings.CutPrefix(m.Topic, "/topics/"); ok && t != "" {
				m.Topic = t // "/topics/" alone stays, to be refused as a topic name
			}
		case 3:
			m.Condition, err = d.stringValue("message.condition")
		case 4:
			m.Data, err = d.stringMap("message.data")
		case 5:
			m.Notification, err = d.notification()
		case 6:
			m.Android, err = d.android()
		case 7:
			m.APNS, err = d.rawMessage("message.apns", apnsConfigSchema)
		case 8:
			m.Webpush, err = d.rawMessage("message.webpush", webpushConfigSchema)
		case 9:
			m.FCMOptions, err = d.rawMessage("message.fcm_options", fcmOptionsSchema)
		case 10:
			m.AndroidV2, err = d.rawObject("message.android_v2")
		case 11:
			_, err = d.stringValue("message.name") // output only: ignored, as Google does
		}
		if err != nil {
			return err
		}
	}
}

func (d *decoder) notification() (*Notification, *Error) {
	const path = "message.notification"
	if d.null() {
		return nil, nil
	}
	if d.peek() != '{' {
		return nil, d.typeError(path, "type.googleapis.com/google.firebase.fcm.v1.Notification")
	}
	d.i++
	n := new(Notification)
	var seen uint
	for first := true; ; first = false {
		name, more, err := d.member(path, first)
		if err != nil {
			return nil, err
		}
		if !more {
			return n, nil
		}
		switch name {
		case "title":
			if err = mark(&seen, 0, path, name); err == nil {
				n.Title, err = d.stringValue("message.notification.title")
			}
		case "body":
			if err = mark(&seen, 1, path, name); err == nil {
				n.Body, err = d.stringValue("message.notification.body")
			}
		case "image":
			if err = mark(&seen, 2, path, name); err == nil {
				n.Image, err = d.stringValue("message.notification.image")
			}
		default:
			err = unknownName(path, name)
		}
		if err != nil {
			return nil, err
		}
	}
}

func (d *decoder) android() (*Android, *Error) {
	const path = "message.android"
	if d.null() {
		return nil, nil
	}
	if d.peek() != '{' {
		return nil, d.typeError(path, "type.googleapis.com/google.firebase.fcm.v1.AndroidConfig")
	}
	d.i++
	a := new(Android)
	var seen uint
	for first := true; ; first = false {
		name, more, err := d.member(path, first)
		if err != nil {
			return nil, err
		}
		if !more {
			return a, nil
		}
		var bit uint
		switch name {
		case "collapse_key", "collapseKey":
			bit = 0
		case "priority":
			bit = 1
		case "ttl":
			bit = 2
		case "restricted_package_name", "restrictedPackageName":
			bit = 3
		case "data":
			bit = 4
		case "notification":
			bit = 5
		case "fcm_options", "fcmOptions":
			bit = 6
		case "direct_boot_ok", "directBootOk":
			bit = 7
		case "bandwidth_constrained_ok", "bandwidthConstrainedOk":
			bit = 8
		case "restricted_satellite_ok", "restrictedSatelliteOk":
			bit = 9
		default:
			return nil, unknownName(path, name)
		}
		if err := mark(&seen, bit, path, name); err != nil {
			return nil, err
		}
		switch bit {
		case 0:
			a.CollapseKey, err = d.stringValue("message.android.collapse_key")
		case 1:
			a.Priority, err = d.priority()
		case 2:
			a.TTL, err = d.ttl()
		case 3:
			a.RestrictedPackageName, err = d.stringValue("message.android.restricted_package_name")
		case 4:
			a.Data, err = d.stringMap("message.android.data")
		case 5:
			a.Notification, err = d.rawMessage("message.android.notification", androidNotificationSchema)
		case 6:
			a.FCMOptions, err = d.rawMessage("message.android.fcm_options", androidFCMOptionsSchema)
		case 7:
			a.DirectBootOK, err = d.boolValue("message.android.direct_boot_ok")
		case 8:
			a.BandwidthConstrainedOK, err = d.boolValue("message.android.bandwidth_constrained_ok")
		case 9:
			a.RestrictedSatelliteOK, err = d.boolValue("message.android.restricted_satellite_ok")
		}
		if err != nil {
			return nil, err
		}
	}
}

// priority reads an AndroidMessagePriority: its name in any case, or its
// number (NORMAL = 0, HIGH = 1).
func (d *decoder) priority() (string, *Error) {
	const path = "message.android.priority"
	start := d.i
	switch d.peek() {
	case 'n':
		if d.null() {
			return "", nil
		}
	case '"':
		s, err := d.str(path)
		if err != nil {
			return "", err
		}
		switch {
		case strings.EqualFold(s, PriorityNormal):
			return PriorityNormal, nil
		case strings.EqualFold(s, PriorityHigh):
			return PriorityHigh, nil
		}
	case '0':
		if n, err := d.number(path); err == nil && n == "0" {
			return PriorityNormal, nil
		}
	case '1':
		if n, err := d.number(path); err == nil && n == "1" {
			return PriorityHigh, nil
		}
	}
	d.i = start
	return "", d.typeError(path, "type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority")
}

// ttl reads android.ttl, a duration from 0 to MaxTTL.
func (d *decoder) ttl() (*time.Duration, *Error) {
	const path = "message.android.ttl"
	const typ = "type.googleapis.com/google.protobuf.Duration"
	if d.null() {
		return nil, nil
	}
	if d.peek() != '"' {
		return nil, d.typeError(path, typ)
	}
	start := d.i
	s, err := d.str(path)
	if err != nil {
		return nil, err
	}
	v, ok := parseDuration(s)
	if !ok {
		d.i = start
		return nil, d.typeError(path, typ)
	}
	const maxSeconds = int64(MaxTTL / time.Second)
	if v.negative && (v.seconds != 0 || v.nanos != 0) || v.seconds > maxSeconds || v.seconds == maxSeconds && v.nanos != 0 {
		return nil, InvalidArgument(path, "Invalid value at '%s': the TTL must be between 0s and %ds (28 days), not %s.", path, maxSeconds, quoteLimit(strconv.Quote(s)))
	}
	t := time.Duration(v.seconds)*time.Second + time.Duration(v.nanos)
	return &t, nil
}

func (d *decoder) stringValue(path string) (string, *Error) {
	switch d.peek() {
	case '"':
		return d.str(path)
	case 'n':
		if d.null() {
			return "", nil
		}
	}
	return "", d.typeError(path, "TYPE_STRING")
}

func (d *decoder) boolValue(path string) (bool, *Error) {
	if v, ok := d.boolean(); ok {
		return v, nil
	}
	if d.null() {
		return false, nil
	}
	return false, d.typeError(path, "TYPE_BOOL")
}

// stringMap reads a map<string, string>; empty maps read as nil, as
// protobuf has no empty map distinct from an absent one.
func (d *decoder) stringMap(path string) (map[string]string, *Error) {
	if d.null() {
		return nil, nil
	}
	if d.peek() != '{' {
		return nil, d.typeError(path, "TYPE_STRING")
	}
	d.i++
	var m map[string]string
	for n := 0; ; n++ {
		k, more, err := d.member(path, n == 0)
		if err != nil {
			return nil, err
		}
		if !more {
			return m, nil
		}
		if d.peek() != '"' {
			return nil, d.typeError(indexPath(path, n)+".value", "TYPE_STRING")
		}
		v, err := d.str(path)
		if err != nil {
			return nil, err
		}
		if m == nil {
			m = make(map[string]string, 4)
		}
		if _, dup := m[k]; dup {
			return nil, duplicateName(path, k)
		}
		m[k] = v
	}
}

// rawMessage reads an object of schema s, normalised; null reads as nil.
func (d *decoder) rawMessage(path string, s *schema) (json.RawMessage, *Error) {
	if d.null() {
		return nil, nil
	}
	b, err := d.appendMessage(d.scratch[:0], path, s)
	d.scratch = b
	if err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}

// rawObject reads any JSON object, compacted; null reads as nil.
func (d *decoder) rawObject(path string) (json.RawMessage, *Error) {
	if d.null() {
		return nil, nil
	}
	if d.peek() != '{' {
		return nil, d.typeError(path, "type.googleapis.com/google.protobuf.Struct")
	}
	b, err := d.appendValue(d.scratch[:0], path, 0)
	d.scratch = b
	if err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}

// indexPath is path[i], as Google names map entries and list elements.
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
