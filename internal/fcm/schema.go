package fcm

// The objects this package keeps raw (AndroidNotification, ApnsConfig,
// WebpushConfig and their options) are described by the tables below:
// their members' proto names and JSON types. Reading one checks the names
// (snake_case or lowerCamelCase, each at most once) and the JSON types, and
// writes it back compactly with snake_case names. The value rules
// (colors, URLs, enum names, headers, the aps dictionary) run afterwards on
// the normalised blocks: see rules.go.

// kind is the JSON shape a member must have.
type kind uint8

const (
	kString    kind = iota
	kBool           // true or false
	kInt            // int32/int64: a number, or a string holding one
	kFloat          // float/double: a number, or a string ("NaN", "1.5")
	kEnum           // an enum: its name in a string, or its number
	kDuration       // google.protobuf.Duration: a string such as "1.5s"
	kTimestamp      // google.protobuf.Timestamp: an RFC 3339 string
	kStrings        // repeated string
	kDurations      // repeated google.protobuf.Duration
	kStringMap      // map<string, string>
	kStruct         // google.protobuf.Struct: any JSON object, kept as sent
	kMessage        // a nested message, described by its own schema
)

// typeNames are the type names error messages quote, as Google's do.
var typeNames = [...]string{
	kString:    "TYPE_STRING",
	kBool:      "TYPE_BOOL",
	kInt:       "TYPE_INT32",
	kFloat:     "TYPE_FLOAT",
	kEnum:      "TYPE_ENUM",
	kDuration:  "type.googleapis.com/google.protobuf.Duration",
	kTimestamp: "type.googleapis.com/google.protobuf.Timestamp",
	kStrings:   "TYPE_STRING",
	kDurations: "type.googleapis.com/google.protobuf.Duration",
	kStringMap: "TYPE_STRING",
	kStruct:    "type.googleapis.com/google.protobuf.Struct",
}

// field is one member of a schema.
type field struct {
	name string // the proto name, snake_case
	kind kind
	msg  *schema // for kMessage
}

// schema describes a message kept raw. The tables are read-only.
type schema struct {
	typ    string // the full proto type name, for error messages
	fields []field
}

// lookup returns the index of the field that name (proto or JSON name)
// denotes, or -1.
func (s *schema) lookup(name string) int {
	for i := range s.fields {
		if isFieldName(name, s.fields[i].name) {
			return i
		}
	}
	return -1
}

// isFieldName reports whether name is the snake_case proto name or its
// lowerCamelCase JSON name ("collapse_key" or "collapseKey", "android_v2"
// or "androidV2"), without allocating.
func isFieldName(name, proto string) bool {
	if name == proto {
		return true
	}
	j := 0
	for i := 0; i < len(proto); i++ {
		c := proto[i]
		if c == '_' && i+1 < len(proto) {
			i++
			c = proto[i]
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
		}
		if j >= len(name) || name[j] != c {
			return false
		}
		j++
	}
	return j == len(name)
}

var colorSchema = &schema{typ: "google.type.Color", fields: []field{
	{name: "red", kind: kFloat},
	{name: "green", kind: kFloat},
	{name: "blue", kind: kFloat},
	{name: "alpha", kind: kFloat},
}}

var lightSettingsSchema = &schema{typ: "google.firebase.fcm.v1.LightSettings", fields: []field{
	{name: "color", kind: kMessage, msg: colorSchema},
	{name: "light_on_duration", kind: kDuration},
	{name: "light_off_duration", kind: kDuration},
}}

var androidNotificationSchema = &schema{typ: "google.firebase.fcm.v1.AndroidNotification", fields: []field{
	{name: "title", kind: kString},
	{name: "body", kind: kString},
	{name: "icon", kind: kString},
	{name: "color", kind: kString},
	{name: "sound", kind: kString},
	{name: "tag", kind: kString},
	{name: "click_action", kind: kString},
	{name: "body_loc_key", kind: kString},
	{name: "body_loc_args", kind: kStrings},
	{name: "title_loc_key", kind: kString},
	{name: "title_loc_args", kind: kStrings},
	{name: "channel_id", kind: kString},
	{name: "ticker", kind: kString},
	{name: "sticky", kind: kBool},
	{name: "event_time", kind: kTimestamp},
	{name: "local_only", kind: kBool},
	{name: "notification_priority", kind: kEnum},
	{name: "default_sound", kind: kBool},
	{name: "default_vibrate_timings", kind: kBool},
	{name: "default_light_settings", kind: kBool},
	{name: "vibrate_timings", kind: kDurations},
	{name: "visibility", kind: kEnum},
	{name: "light_settings", kind: kMessage, msg: lightSettingsSchema},
	{name: "image", kind: kString},
	{name: "notification_count", kind: kInt},
	{name: "proxy", kind: kEnum},
	{name: "bypass_proxy_notification", kind: kBool},
}}

var androidFCMOptionsSchema = &schema{typ: "google.firebase.fcm.v1.AndroidFcmOptions", fields: []field{
	{name: "analytics_label", kind: kString},
}}

var apnsFCMOptionsSchema = &schema{typ: "google.firebase.fcm.v1.ApnsFcmOptions", fields: []field{
	{name: "analytics_label", kind: kString},
	{name: "image", kind: kString},
}}

var apnsConfigSchema = &schema{typ: "google.firebase.fcm.v1.ApnsConfig", fields: []field{
	{name: "headers", kind: kStringMap},
	{name: "payload", kind: kStruct},
	{name: "fcm_options", kind: kMessage, msg: apnsFCMOptionsSchema},
	{name: "live_activity_token", kind: kString},
}}

var webpushFCMOptionsSchema = &schema{typ: "google.firebase.fcm.v1.WebpushFcmOptions", fields: []field{
	{name: "link", kind: kString},
	{name: "analytics_label", kind: kString},
}}

var webpushConfigSchema = &schema{typ: "google.firebase.fcm.v1.WebpushConfig", fields: []field{
	{name: "headers", kind: kStringMap},
	{name: "data", kind: kStringMap},
	{name: "notification", kind: kStruct},
	{name: "fcm_options", kind: kMessage, msg: webpushFCMOptionsSchema},
}}

var fcmOptionsSchema = &schema{typ: "google.firebase.fcm.v1.FcmOptions", fields: []field{
	{name: "analytics_label", kind: kString},
}}

// appendMessage reads an object of schema s at path and appends it to b
// compactly, with snake_case names and without null members.
func (l *lexer) appendMessage(b []byte, path string, s *schema) ([]byte, *Error) {
	if l.peek() != '{' {
		return b, l.typeError(path, "type.googleapis.com/"+s.typ)
	}
	l.i++
	b = append(b, '{')
	var seen uint64
	written := false
	for first := true; ; first = false {
		name, more, err := l.member(path, first)
		if err != nil {
			return b, err
		}
		if !more {
			return append(b, '}'), nil
		}
		k := s.lookup(name)
		if k < 0 {
			return b, unknownName(path, name)
		}
		if seen&(1<<k) != 0 {
			return b, duplicateName(path, name)
		}
		seen |= 1 << k
		if l.null() {
			continue
		}
		f := &s.fields[k]
		if written {
			b = append(b, ',')
		}
		written = true
		b = append(b, '"')
		b = append(b, f.name...)
		b = append(b, '"', ':')
		if b, err = l.appendField(b, path+"."+f.name, f); err != nil {
			return b, err
		}
	}
}

// appendField reads the value of f at path and appends it to b.
func (l *lexer) appendField(b []byte, path string, f *field) ([]byte, *Error) {
	c := l.peek()
	switch f.kind {
	case kMessage:
		return l.appendMessage(b, path, f.msg)
	case kStruct:
		if c != '{' {
			return b, l.typeError(path, typeNames[f.kind])
		}
		return l.appendValue(b, path, 0)
	case kBool:
		if c == 't' || c == 'f' {
			return l.appendValue(b, path, 0)
		}
	case kInt, kFloat, kEnum:
		if c == '"' || c == '-' || '0' <= c && c <= '9' {
			return l.appendValue(b, path, 0)
		}
	case kString, kDuration, kTimestamp:
		if c == '"' {
			return l.appendValue(b, path, 0)
		}
	case kStrings, kDurations:
		if c == '[' {
			return l.appendStrings(b, path, typeNames[f.kind])
		}
	case kStringMap:
		if c == '{' {
			return l.appendStringMap(b, path)
		}
	}
	return b, l.typeError(path, typeNames[f.kind])
}

// appendStrings reads an array of strings.
func (l *lexer) appendStrings(b []byte, path, typ string) ([]byte, *Error) {
	l.i++
	b = append(b, '[')
	for n := 0; ; n++ {
		more, err := l.element(path, n == 0)
		if err != nil {
			return b, err
		}
		if !more {
			return append(b, ']'), nil
		}
		if l.peek() != '"' {
			return b, l.typeError(indexPath(path, n), typ)
		}
		if n > 0 {
			b = append(b, ',')
		}
		if b, err = l.appendValue(b, path, 0); err != nil {
			return b, err
		}
	}
}

// appendStringMap reads a map<string, string> kept raw (headers).
func (l *lexer) appendStringMap(b []byte, path string) ([]byte, *Error) {
	l.i++
	b = append(b, '{')
	var names nameSet
	for n := 0; ; n++ {
		name, more, err := l.member(path, n == 0)
		if err != nil {
			return b, err
		}
		if !more {
			return append(b, '}'), nil
		}
		if !names.add(name) {
			return b, duplicateName(path, name)
		}
		if l.peek() != '"' {
			return b, l.typeError(indexPath(path, n)+".value", typeNames[kString])
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = appendRawName(b, l.s[l.name:])
		if b, err = l.appendValue(b, path, 0); err != nil {
			return b, err
		}
	}
}
