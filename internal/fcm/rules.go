package fcm

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// This file holds the value rules of the Message fields that FCM documents
// beyond their JSON types (fcm.md §1.2–§1.4): analytics labels, URLs,
// colors, enum names, durations, timestamps, APNs and Web Push headers,
// the aps dictionary and the Web Push notification options. The rules run
// on the normalised platform blocks (compact JSON, snake_case names at the
// schema levels, no null members there), after the decoder checked their
// shape; free-form parts (APNs payload, Web Push notification) keep their
// names as sent and may hold nulls, which mean "unset" here too.
//
// Every rule answers an INVALID_ARGUMENT naming the field by its path,
// "Invalid value at '<path>': <what is expected>, not <what was sent>.".
// An empty string is an unset field, as in proto3, and passes every rule.

// MaxAnalyticsLabel is the longest analytics label, in bytes.
const MaxAnalyticsLabel = 50

// invalidValue is the error of every value rule.
func invalidValue(path, format string, args ...any) *Error {
	return InvalidArgument(path, "Invalid value at '"+path+"': "+format, args...)
}

// quoteValue quotes a value for an error message, shortened.
func quoteValue(s string) string {
	return strconv.Quote(quoteLimit(s))
}

// checkLabel applies the analytics label rule, [a-zA-Z0-9-_.~%]{1,50}.
func checkLabel(path, label string) *Error {
	if label == "" {
		return nil
	}
	if len(label) > MaxAnalyticsLabel || !ValidTopic(label) {
		return invalidValue(path, "an analytics label must match [a-zA-Z0-9-_.~%%]{1,%d}, not %s.", MaxAnalyticsLabel, quoteValue(label))
	}
	return nil
}

// checkURL requires an absolute http or https URL, or only https.
func checkURL(path, s string, httpsOnly bool) *Error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	ok := err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http" && !httpsOnly)
	if ok {
		return nil
	}
	if httpsOnly {
		return invalidValue(path, "expected an absolute https URL, not %s.", quoteValue(s))
	}
	return invalidValue(path, "expected an absolute http or https URL, not %s.", quoteValue(s))
}

// checkPackageName requires a plausible Java package name: dot-separated
// identifiers of ASCII letters, digits and '_', none starting with a digit.
// One segment is enough (Android itself asks for two in an application ID,
// but FCM does not say it checks that).
func checkPackageName(path, s string) *Error {
	if s == "" {
		return nil
	}
	start := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
			start = false
			continue
		case '0' <= c && c <= '9' && !start:
			continue
		case c == '.' && !start && i != len(s)-1:
			start = true
			continue
		}
		return invalidValue(path, "expected a Java package name such as \"com.example.app\", not %s.", quoteValue(s))
	}
	return nil
}

// enumType names an enum and lists its values in number order.
type enumType struct {
	typ   string // the full proto type name
	names []string
}

var (
	notificationPriorityEnum = &enumType{"google.firebase.fcm.v1.AndroidNotification.NotificationPriority",
		[]string{"PRIORITY_UNSPECIFIED", "PRIORITY_MIN", "PRIORITY_LOW", "PRIORITY_DEFAULT", "PRIORITY_HIGH", "PRIORITY_MAX"}}
	visibilityEnum = &enumType{"google.firebase.fcm.v1.AndroidNotification.Visibility",
		[]string{"VISIBILITY_UNSPECIFIED", "PRIVATE", "PUBLIC", "SECRET"}}
	proxyEnum = &enumType{"google.firebase.fcm.v1.AndroidNotification.Proxy",
		[]string{"PROXY_UNSPECIFIED", "ALLOW", "DENY", "IF_PRIORITY_LOWERED"}}
)

// checkEnum reads an enum value: one of its names in any letter case, or
// its number.
func (l *lexer) checkEnum(path string, e *enumType) *Error {
	start := l.i
	if l.peek() == '"' {
		s, err := l.str(path)
		if err != nil {
			return err
		}
		for _, n := range e.names {
			if strings.EqualFold(s, n) {
				return nil
			}
		}
	} else if n, err := l.number(path); err == nil {
		if v, err := strconv.Atoi(n); err == nil && 0 <= v && v < len(e.names) {
			return nil
		}
	}
	l.i = start
	return InvalidArgument(path, "Invalid value at '%s' (type.googleapis.com/%s), %s: expected one of %s.",
		path, e.typ, l.describe(path), strings.Join(e.names, ", "))
}

// fieldAt is the path of a member or an array element, joined only when an
// error names it: the rules run on every send and most values are good.
type fieldAt struct {
	parent string
	name   string // "" for an element
	index  int
}

// memberAt is the path of member name of parent.
func memberAt(parent, name string) fieldAt { return fieldAt{parent: parent, name: name} }

// elementAt is the path of element i of parent.
func elementAt(parent string, i int) fieldAt { return fieldAt{parent: parent, index: i} }

func (f fieldAt) String() string {
	if f.name == "" {
		return indexPath(f.parent, f.index)
	}
	return f.parent + "." + f.name
}

// readInt reads an integer sent as a JSON number or as a string holding
// one (proto3 JSON), in the int32 range.
func (l *lexer) readInt(at fieldAt) (int64, *Error) {
	start := l.i
	var s string
	var err *Error
	if l.peek() == '"' {
		s, err = l.str(at.parent)
	} else {
		s, err = l.number(at.parent)
	}
	if err != nil {
		return 0, err
	}
	v, perr := strconv.ParseInt(s, 10, 32)
	if perr != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
			l.i = start
			return 0, l.typeError(at.String(), typeNames[kInt])
		}
		v = int64(f)
	}
	return v, nil
}

// readFloat reads a float sent as a JSON number or as a string holding one.
func (l *lexer) readFloat(at fieldAt) (float64, *Error) {
	start := l.i
	var s string
	var err *Error
	if l.peek() == '"' {
		s, err = l.str(at.parent)
	} else {
		s, err = l.number(at.parent)
	}
	if err != nil {
		return 0, err
	}
	f, perr := strconv.ParseFloat(s, 64)
	if perr != nil {
		l.i = start
		return 0, l.typeError(at.String(), typeNames[kFloat])
	}
	return f, nil
}

// readDuration reads a google.protobuf.Duration that must not be negative.
func (l *lexer) readDuration(at fieldAt) *Error {
	start := l.i
	s, err := l.str(at.parent)
	if err != nil {
		return err
	}
	d, ok := parseDuration(s)
	if !ok {
		l.i = start
		return l.typeError(at.String(), typeNames[kDuration])
	}
	if d.negative && (d.seconds != 0 || d.nanos != 0) {
		return invalidValue(at.String(), "a duration must not be negative, not %s.", quoteValue(s))
	}
	return nil
}

// shown describes the value at l for a rule's message: "an object", "an
// array", or the value itself (shortened).
func (l *lexer) shown(path string) string {
	switch l.peek() {
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return l.describe(path)
}

// skip steps over one valid JSON value.
func (l *lexer) skip() {
	depth := 0
	for {
		switch c := l.peek(); c {
		case '"':
			_, _, _ = l.rawString("") // already validated
		case '{', '[':
			depth++
			l.i++
		case '}', ']':
			depth--
			l.i++
		case ',', ':':
			l.i++
			continue // inside a container: more follows
		case 0:
			return
		default:
			for l.i < len(l.s) && !strings.ContainsRune(",:}] \t\r\n", rune(l.s[l.i])) {
				l.i++
			}
		}
		if depth == 0 {
			return
		}
	}
}

// members calls fn for each member of the object that comes next, with l
// at its value; fn must consume the value. The object is known valid.
func (l *lexer) members(path string, fn func(name string) *Error) *Error {
	l.i++ // '{'
	for first := true; ; first = false {
		name, more, err := l.member(path, first)
		if err != nil || !more {
			return err
		}
		if err := fn(name); err != nil {
			return err
		}
	}
}

// readString reads a string member of a free-form object.
func (l *lexer) readString(at fieldAt) (string, *Error) {
	if l.peek() != '"' {
		return "", l.typeError(at.String(), typeNames[kString])
	}
	return l.str(at.parent)
}

// checkFCMOptions checks message.fcm_options, android.fcm_options and the
// apns and webpush fcm_options (analytics_label, image, link). Paths are
// built only for an error: this runs on most sends.
func (l *lexer) checkFCMOptions(path string) *Error {
	return l.members(path, func(name string) *Error {
		s, err := l.str(path)
		if err != nil || s == "" {
			return err
		}
		switch name {
		case "analytics_label":
			if len(s) > MaxAnalyticsLabel || !ValidTopic(s) {
				return checkLabel(path+".analytics_label", s)
			}
		case "image": // apns
			return checkURL(path+".image", s, false)
		case "link": // webpush
			return checkURL(path+".link", s, true)
		}
		return nil
	})
}

// checkRawFCMOptions checks a normalised fcm_options block at path.
func checkRawFCMOptions(path string, raw []byte) *Error {
	if raw == nil {
		return nil
	}
	l := lexer{s: string(raw)}
	return l.checkFCMOptions(path)
}

const androidNotificationPath = "message.android.notification"

// checkAndroidNotification applies the AndroidNotification rules.
func checkAndroidNotification(raw []byte) *Error {
	if raw == nil {
		return nil
	}
	const path = androidNotificationPath
	l := lexer{s: string(raw)}
	var bodyKey, titleKey, bodyArgs, titleArgs bool
	err := l.members(path, func(name string) *Error {
		switch name {
		case "color":
			s, err := l.str(path + ".color")
			if err != nil {
				return err
			}
			if s != "" && !isHexColor(s) {
				return invalidValue(path+".color", "expected a color in the form #rrggbb, not %s.", quoteValue(s))
			}
		case "image":
			s, err := l.str(path + ".image")
			if err != nil {
				return err
			}
			return checkURL(path+".image", s, false)
		case "body_loc_key", "title_loc_key":
			s, err := l.str(path)
			if err != nil {
				return err
			}
			if name == "body_loc_key" {
				bodyKey = s != ""
			} else {
				titleKey = s != ""
			}
		case "body_loc_args", "title_loc_args":
			n := l.countElements()
			if name == "body_loc_args" {
				bodyArgs = n > 0
			} else {
				titleArgs = n > 0
			}
		case "event_time":
			p := path + ".event_time"
			start := l.i
			s, err := l.str(p)
			if err != nil {
				return err
			}
			if _, perr := time.Parse(time.RFC3339Nano, s); perr != nil {
				l.i = start
				return InvalidArgument(p, "Invalid value at '%s' (%s), %s: expected an RFC 3339 timestamp such as \"2006-01-02T15:04:05.000Z\".",
					p, typeNames[kTimestamp], l.describe(p))
			}
		case "notification_priority":
			return l.checkEnum(path+".notification_priority", notificationPriorityEnum)
		case "visibility":
			return l.checkEnum(path+".visibility", visibilityEnum)
		case "proxy":
			return l.checkEnum(path+".proxy", proxyEnum)
		case "notification_count":
			const p = path + ".notification_count"
			n, err := l.readInt(memberAt(path, "notification_count"))
			if err != nil {
				return err
			}
			if n < 0 {
				return invalidValue(p, "the notification count must not be negative, not %d.", n)
			}
		case "vibrate_timings":
			return l.checkDurations(path + ".vibrate_timings")
		case "light_settings":
			return l.checkLightSettings()
		default:
			l.skip()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if bodyArgs && !bodyKey {
		return invalidValue(path+".body_loc_args", "body_loc_key is required when body_loc_args is set.")
	}
	if titleArgs && !titleKey {
		return invalidValue(path+".title_loc_args", "title_loc_key is required when title_loc_args is set.")
	}
	return nil
}

// countElements steps over an array (known valid) and counts its elements.
func (l *lexer) countElements() int {
	if l.peek() != '[' {
		l.skip()
		return 0
	}
	l.i++
	n := 0
	for {
		if more, _ := l.element("", n == 0); !more {
			return n
		}
		l.skip()
		n++
	}
}

// checkDurations reads an array of non-negative durations.
func (l *lexer) checkDurations(path string) *Error {
	l.i++ // '['
	for n := 0; ; n++ {
		if more, _ := l.element(path, n == 0); !more {
			return nil
		}
		if err := l.readDuration(elementAt(path, n)); err != nil {
			return err
		}
	}
}

// checkLightSettings requires color, light_on_duration and
// light_off_duration, the color's components in [0, 1], the durations
// non-negative.
func (l *lexer) checkLightSettings() *Error {
	const path = androidNotificationPath + ".light_settings"
	var color, on, off bool
	err := l.members(path, func(name string) *Error {
		switch name {
		case "color":
			color = true
			const p = path + ".color"
			return l.members(p, func(c string) *Error {
				q := memberAt(p, c)
				f, err := l.readFloat(q)
				if err != nil {
					return err
				}
				if !(0 <= f && f <= 1) {
					return invalidValue(q.String(), "a color component must be between 0 and 1, not %s.", strconv.FormatFloat(f, 'g', -1, 64))
				}
				return nil
			})
		case "light_on_duration":
			on = true
			return l.readDuration(memberAt(path, "light_on_duration"))
		case "light_off_duration":
			off = true
			return l.readDuration(memberAt(path, "light_off_duration"))
		}
		l.skip()
		return nil
	})
	switch {
	case err != nil:
		return err
	case !color:
		return invalidValue(path+".color", "the color is required when light_settings is set.")
	case !on:
		return invalidValue(path+".light_on_duration", "light_on_duration is required when light_settings is set.")
	case !off:
		return invalidValue(path+".light_off_duration", "light_off_duration is required when light_settings is set.")
	}
	return nil
}

// isHexColor reports whether s is #rrggbb.
func isHexColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for i := 1; i < 7; i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// apnsPushTypes are the apns-push-type values Apple documents.
var apnsPushTypes = []string{
	"alert", "background", "location", "voip", "complication", "fileprovider",
	"mdm", "liveactivity", "pushtotalk", "widgets", "controls",
}

// apnsFacts is what the APNs block says about the message's priority and
// visible content, for the data-only rule.
type apnsFacts struct {
	priority10 bool // apns-priority: 10
	visible    bool // aps has alert, sound or badge
}

const apnsPath = "message.apns"

// checkAPNS applies the ApnsConfig rules.
func checkAPNS(raw []byte) (apnsFacts, *Error) {
	var facts apnsFacts
	if raw == nil {
		return facts, nil
	}
	l := lexer{s: string(raw)}
	err := l.members(apnsPath, func(name string) *Error {
		switch name {
		case "headers":
			return l.members(apnsPath+".headers", func(h string) *Error {
				v, err := l.str(apnsPath + ".headers")
				if err != nil {
					return err
				}
				return checkAPNSHeader(h, v, &facts)
			})
		case "payload":
			return l.members(apnsPath+".payload", func(k string) *Error {
				if k != "aps" { // custom keys beside aps are the app's
					l.skip()
					return nil
				}
				return l.checkAps(apnsPath+".payload.aps", &facts)
			})
		case "fcm_options":
			return l.checkFCMOptions(apnsPath + ".fcm_options")
		}
		l.skip()
		return nil
	})
	return facts, err
}

// checkAPNSHeader applies the rules of one APNs request header. Header
// names are matched in any letter case, as HTTP does.
func checkAPNSHeader(name, v string, facts *apnsFacts) *Error {
	at := func() string { return apnsPath + ".headers." + name } // for an error only
	switch {
	case strings.EqualFold(name, "apns-priority"):
		switch v {
		case "10":
			facts.priority10 = true
		case "5", "1":
		default:
			return invalidValue(at(), "apns-priority must be \"10\", \"5\" or \"1\", not %s.", quoteValue(v))
		}
	case strings.EqualFold(name, "apns-expiration"):
		if !isDigits(v) {
			return invalidValue(at(), "apns-expiration must be a UNIX time in seconds (an integer, 0 for at most once), not %s.", quoteValue(v))
		}
	case strings.EqualFold(name, "apns-push-type"):
		for _, t := range apnsPushTypes {
			if v == t {
				return nil
			}
		}
		return invalidValue(at(), "apns-push-type must be one of %s, not %s.", strings.Join(apnsPushTypes, ", "), quoteValue(v))
	case strings.EqualFold(name, "apns-collapse-id"):
		if len(v) > 64 {
			return invalidValue(at(), "apns-collapse-id must not exceed 64 bytes, not %d.", len(v))
		}
	}
	return nil
}

// interruptionLevels are the aps interruption-level values Apple documents.
var interruptionLevels = []string{"passive", "active", "time-sensitive", "critical"}

// checkAps applies the rules of the aps dictionary: an object; alert a
// string or an object whose *loc-args need their *loc-key; sound a string
// or a critical-sound dictionary; badge a non-negative integer;
// content-available and mutable-content 0 or 1; thread-id and category
// strings; interruption-level one of Apple's values; relevance-score in
// [0, 1]. Other keys are left to APNs.
func (l *lexer) checkAps(path string, facts *apnsFacts) *Error {
	switch l.peek() {
	case 'n':
		l.null()
		return nil
	case '{':
	default:
		return l.typeError(path, "type.googleapis.com/google.protobuf.Struct")
	}
	return l.members(path, func(k string) *Error {
		p := memberAt(path, k)
		if l.null() {
			return nil
		}
		switch k {
		case "alert":
			facts.visible = true
			switch l.peek() {
			case '"':
				l.skip()
				return nil
			case '{':
				return l.checkAlert(p.String())
			}
			return invalidValue(p.String(), "alert must be a string or a dictionary, not %s.", l.shown(p.String()))
		case "sound":
			facts.visible = true
			switch l.peek() {
			case '"':
				l.skip()
				return nil
			case '{':
				return l.checkSound(p.String())
			}
			return invalidValue(p.String(), "sound must be a sound name or a critical-sound dictionary, not %s.", l.shown(p.String()))
		case "badge":
			facts.visible = true
			return l.checkNumberRange(p, "badge must be a non-negative integer", 0, math.MaxInt32, true)
		case "content-available", "mutable-content":
			if k == "content-available" {
				return l.checkNumberRange(p, "content-available must be 0 or 1", 0, 1, true)
			}
			return l.checkNumberRange(p, "mutable-content must be 0 or 1", 0, 1, true)
		case "relevance-score":
			return l.checkNumberRange(p, "relevance-score must be a number between 0 and 1", 0, 1, false)
		case "thread-id", "category", "target-content-id":
			_, err := l.readString(p)
			return err
		case "interruption-level":
			s, err := l.readString(p)
			if err != nil {
				return err
			}
			for _, v := range interruptionLevels {
				if s == v {
					return nil
				}
			}
			return invalidValue(p.String(), "interruption-level must be one of %s, not %s.", strings.Join(interruptionLevels, ", "), quoteValue(s))
		}
		l.skip()
		return nil
	})
}

// checkNumberRange reads a JSON number in [lo, hi], integral if asked.
func (l *lexer) checkNumberRange(at fieldAt, what string, lo, hi float64, integer bool) *Error {
	if c := l.peek(); c == '-' || '0' <= c && c <= '9' {
		start := l.i
		n, err := l.number(at.parent)
		if err != nil {
			return err
		}
		f, perr := strconv.ParseFloat(n, 64)
		if perr == nil && lo <= f && f <= hi && (!integer || f == math.Trunc(f)) {
			return nil
		}
		l.i = start
	}
	return invalidValue(at.String(), "%s, not %s.", what, l.shown(at.String()))
}

// checkAlert applies the alert dictionary's rules: loc-args, title-loc-args
// and subtitle-loc-args are arrays of strings that need loc-key,
// title-loc-key and subtitle-loc-key.
func (l *lexer) checkAlert(path string) *Error {
	var keys, args [3]bool // loc, title-loc, subtitle-loc
	err := l.members(path, func(k string) *Error {
		p := memberAt(path, k)
		if l.null() {
			return nil
		}
		i := -1
		base, isArgs := strings.CutSuffix(k, "-args")
		if !isArgs {
			base, _ = strings.CutSuffix(k, "-key")
		}
		switch base {
		case "loc":
			i = 0
		case "title-loc":
			i = 1
		case "subtitle-loc":
			i = 2
		}
		if i < 0 || base == k {
			l.skip()
			return nil
		}
		if !isArgs {
			s, err := l.readString(p)
			keys[i] = s != ""
			return err
		}
		if l.peek() != '[' {
			return invalidValue(p.String(), "%s must be an array of strings, not %s.", k, l.shown(p.String()))
		}
		l.i++
		for n := 0; ; n++ {
			if more, _ := l.element(p.parent, n == 0); !more {
				return nil
			}
			if l.peek() != '"' {
				return l.typeError(indexPath(p.String(), n), typeNames[kString])
			}
			l.skip()
			args[i] = true
		}
	})
	if err != nil {
		return err
	}
	for i, prefix := range [...]string{"loc", "title-loc", "subtitle-loc"} {
		if args[i] && !keys[i] {
			return invalidValue(path+"."+prefix+"-args", "%s-key is required when %s-args is set.", prefix, prefix)
		}
	}
	return nil
}

// checkSound applies the critical-sound dictionary's rules: name a
// non-empty string, critical 0 or 1, volume between 0 and 1.
func (l *lexer) checkSound(path string) *Error {
	named := false
	err := l.members(path, func(k string) *Error {
		p := memberAt(path, k)
		if l.null() {
			return nil
		}
		switch k {
		case "name":
			s, err := l.readString(p)
			named = s != ""
			return err
		case "critical":
			return l.checkNumberRange(p, "critical must be 0 or 1", 0, 1, true)
		case "volume":
			return l.checkNumberRange(p, "volume must be a number between 0 and 1", 0, 1, false)
		}
		l.skip()
		return nil
	})
	if err == nil && !named {
		err = invalidValue(path+".name", "a sound dictionary needs the name of a sound file, or \"default\".")
	}
	return err
}

const webpushPath = "message.webpush"

// webpushUrgencies are RFC 8030's Urgency values.
var webpushUrgencies = []string{"very-low", "low", "normal", "high"}

// checkWebpush applies the WebpushConfig rules.
func checkWebpush(raw []byte) *Error {
	if raw == nil {
		return nil
	}
	l := lexer{s: string(raw)}
	return l.members(webpushPath, func(name string) *Error {
		switch name {
		case "headers":
			return l.members(webpushPath+".headers", func(h string) *Error {
				v, err := l.str(webpushPath + ".headers")
				if err != nil {
					return err
				}
				return checkWebpushHeader(h, v)
			})
		case "notification":
			return l.checkWebNotification(webpushPath + ".notification")
		case "fcm_options":
			return l.checkFCMOptions(webpushPath + ".fcm_options")
		}
		l.skip()
		return nil
	})
}

// checkWebpushHeader applies RFC 8030's rules to TTL, Urgency and Topic,
// their names matched in any letter case.
func checkWebpushHeader(name, v string) *Error {
	at := func() string { return webpushPath + ".headers." + name } // for an error only
	switch {
	case strings.EqualFold(name, "TTL"):
		if !isDigits(v) {
			return invalidValue(at(), "TTL must be a non-negative integer number of seconds, not %s.", quoteValue(v))
		}
	case strings.EqualFold(name, "Urgency"):
		for _, u := range webpushUrgencies {
			if v == u {
				return nil
			}
		}
		return invalidValue(at(), "Urgency must be one of %s, not %s.", strings.Join(webpushUrgencies, ", "), quoteValue(v))
	case strings.EqualFold(name, "Topic"):
		ok := len(v) <= 32
		for i := 0; ok && i < len(v); i++ {
			c := v[i]
			ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
		}
		if !ok {
			return invalidValue(at(), "Topic must be at most 32 characters of the URL-safe base64 alphabet [A-Za-z0-9_-], not %s.", quoteValue(v))
		}
	}
	return nil
}

// webDirections are the Notification API's dir values.
var webDirections = []string{"auto", "ltr", "rtl"}

// checkWebNotification applies the Web Notification options' rules: the
// text and URL members strings, the flags booleans, dir one of auto, ltr,
// rtl, actions an array of objects with a string action and title,
// timestamp a number, vibrate a number or an array of numbers. Other
// members are left to the browser.
func (l *lexer) checkWebNotification(path string) *Error {
	return l.members(path, func(k string) *Error {
		p := memberAt(path, k)
		if l.null() {
			return nil
		}
		switch k {
		case "title", "body", "icon", "image", "badge", "lang", "tag":
			_, err := l.readString(p)
			return err
		case "renotify", "requireInteraction", "silent":
			if _, ok := l.boolean(); !ok {
				return l.typeError(p.String(), typeNames[kBool])
			}
		case "dir":
			s, err := l.readString(p)
			if err != nil {
				return err
			}
			for _, d := range webDirections {
				if s == d {
					return nil
				}
			}
			return invalidValue(p.String(), "dir must be one of auto, ltr, rtl, not %s.", quoteValue(s))
		case "timestamp":
			return l.checkNumberRange(p, "timestamp must be a number of milliseconds", math.Inf(-1), math.Inf(1), false)
		case "vibrate":
			if l.peek() != '[' {
				return l.checkNumberRange(p, "vibrate must be a number of milliseconds or an array of them", 0, math.Inf(1), false)
			}
			l.i++
			for n := 0; ; n++ {
				if more, _ := l.element(p.parent, n == 0); !more {
					return nil
				}
				if err := l.checkNumberRange(elementAt(p.String(), n), "vibrate must be a number of milliseconds or an array of them", 0, math.Inf(1), false); err != nil {
					return err
				}
			}
		case "actions":
			if l.peek() != '[' {
				return invalidValue(p.String(), "actions must be an array of {\"action\", \"title\"} objects, not %s.", l.shown(p.String()))
			}
			l.i++
			for n := 0; ; n++ {
				if more, _ := l.element(p.parent, n == 0); !more {
					return nil
				}
				if err := l.checkWebAction(indexPath(p.String(), n)); err != nil {
					return err
				}
			}
		default:
			l.skip()
		}
		return nil
	})
}

// checkWebAction applies the rules of one notification action: an object
// with non-empty action and title strings and optionally an icon string.
func (l *lexer) checkWebAction(path string) *Error {
	if l.peek() != '{' {
		return invalidValue(path, "an action must be an object with action and title, not %s.", l.shown(path))
	}
	var action, title bool
	err := l.members(path, func(k string) *Error {
		p := memberAt(path, k)
		switch k {
		case "action", "title", "icon":
			s, err := l.readString(p)
			if k == "action" {
				action = s != ""
			} else if k == "title" {
				title = s != ""
			}
			return err
		}
		l.skip()
		return nil
	})
	switch {
	case err != nil:
		return err
	case !action:
		return invalidValue(path+".action", "an action needs a non-empty action string.")
	case !title:
		return invalidValue(path+".title", "an action needs a non-empty title string.")
	}
	return nil
}
