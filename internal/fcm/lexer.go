package fcm

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of free-form JSON (APNs payloads, Web Push
// notifications) so that a hostile body cannot recurse without end.
const maxDepth = 64

// maxQuoted bounds how much of a name or value an error message quotes.
const maxQuoted = 64

// lexer reads one JSON text held in a string, so that names and string
// values without escapes are substrings of the body and cost no allocation.
// Every method that fails returns an INVALID_ARGUMENT *Error naming path,
// the field being read.
type lexer struct {
	s string
	i int
	// name is where the last name read by member starts (its '"').
	name int
}

func (l *lexer) skipWS() {
	for l.i < len(l.s) {
		switch l.s[l.i] {
		case ' ', '\t', '\n', '\r':
			l.i++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, or 0 at the end.
func (l *lexer) peek() byte {
	l.skipWS()
	if l.i < len(l.s) {
		return l.s[l.i]
	}
	return 0
}

// unexpected reports a syntax error at the current position.
func (l *lexer) unexpected(path string) *Error {
	if l.i >= len(l.s) {
		return InvalidArgument(path, "Invalid JSON payload received. Unexpected end of input.")
	}
	r, _ := utf8.DecodeRuneInString(l.s[l.i:])
	return InvalidArgument(path, "Invalid JSON payload received. Unexpected character %q at byte %d.", r, l.i)
}

// null consumes a null literal if one comes next.
func (l *lexer) null() bool {
	if l.peek() == 'n' && strings.HasPrefix(l.s[l.i:], "null") {
		l.i += len("null")
		return true
	}
	return false
}

// boolean reads true or false; ok is false when neither comes next.
func (l *lexer) boolean() (v, ok bool) {
	switch l.peek() {
	case 't':
		if strings.HasPrefix(l.s[l.i:], "true") {
			l.i += len("true")
			return true, true
		}
	case 'f':
		if strings.HasPrefix(l.s[l.i:], "false") {
			l.i += len("false")
			return false, true
		}
	}
	return false, false
}

// str reads a string; the next byte must be '"'.
func (l *lexer) str(path string) (string, *Error) {
	raw, esc, err := l.rawString(path)
	if err != nil {
		return "", err
	}
	if !esc {
		return raw, nil
	}
	return unescape(raw), nil
}

// rawString validates the string token at l.i (a '"') and returns what lies
// between its quotes, escapes undone or not, and whether it has escapes.
// Strings must be valid UTF-8 without raw control characters.
func (l *lexer) rawString(path string) (raw string, esc bool, err *Error) {
	start := l.i + 1
	i := start
	for i < len(l.s) {
		c := l.s[i]
		switch {
		case c == '"':
			l.i = i + 1
			return l.s[start:i], esc, nil
		case c == '\\':
			esc = true
			if i+1 >= len(l.s) {
				i = len(l.s)
				continue
			}
			switch l.s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(l.s) || !isHex4(l.s[i+2:i+6]) {
					l.i = i
					return "", false, InvalidArgument(path, "Invalid JSON payload received. Invalid \\u escape at byte %d.", i)
				}
				i += 6
			default:
				l.i = i
				return "", false, InvalidArgument(path, "Invalid JSON payload received. Invalid escape at byte %d.", i)
			}
		case c < 0x20:
			l.i = i
			return "", false, InvalidArgument(path, "Invalid JSON payload received. Control character in string at byte %d.", i)
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRuneInString(l.s[i:])
			if r == utf8.RuneError && n == 1 {
				l.i = i
				return "", false, InvalidArgument(path, "Invalid JSON payload received. Invalid UTF-8 at byte %d.", i)
			}
			i += n
		}
	}
	l.i = len(l.s)
	return "", false, l.unexpected(path)
}

func isHex4(s string) bool {
	for i := range 4 {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func hexVal(s string) rune {
	var r rune
	for i := range 4 {
		c := s[i]
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unescape undoes the escapes of a string validated by rawString. A lone
// surrogate becomes U+FFFD, as in encoding/json.
func unescape(raw string) string {
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hexVal(raw[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					r2 = utf16.DecodeRune(r, hexVal(raw[i+2:]))
				}
				if r2 != utf8.RuneError {
					i += 6
				}
				r = r2
			}
			b = utf8.AppendRune(b, r)
			continue
		default: // '"', '\\', '/'
			b = append(b, raw[i+1])
		}
		i += 2
	}
	return string(b)
}

// number reads a JSON number and returns its text.
func (l *lexer) number(path string) (string, *Error) {
	start := l.i
	i := l.i
	if i < len(l.s) && l.s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(l.s) && '0' <= l.s[i] && l.s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(l.s) && l.s[i] == '0':
		i++
	case digits() == 0:
		l.i = i
		return "", l.unexpected(path)
	}
	if i < len(l.s) && l.s[i] == '.' {
		i++
		if digits() == 0 {
			l.i = i
			return "", l.unexpected(path)
		}
	}
	if i < len(l.s) && (l.s[i] == 'e' || l.s[i] == 'E') {
		i++
		if i < len(l.s) && (l.s[i] == '+' || l.s[i] == '-') {
			i++
		}
		if digits() == 0 {
			l.i = i
			return "", l.unexpected(path)
		}
	}
	l.i = i
	return l.s[start:i], nil
}

// member reads the next member name of an object whose '{' was consumed,
// and the ':' after it; more is false once the closing '}' is consumed.
func (l *lexer) member(path string, first bool) (name string, more bool, err *Error) {
	c := l.peek()
	if !first {
		switch c {
		case ',':
			l.i++
			c = l.peek()
		case '}':
			l.i++
			return "", false, nil
		default:
			return "", false, l.unexpected(path)
		}
	} else if c == '}' {
		l.i++
		return "", false, nil
	}
	if c != '"' {
		return "", false, l.unexpected(path)
	}
	l.name = l.i
	if name, err = l.str(path); err != nil {
		return "", false, err
	}
	if l.peek() != ':' {
		return "", false, l.unexpected(path)
	}
	l.i++
	l.skipWS()
	return name, true, nil
}

// element is member's counterpart for arrays whose '[' was consumed: it
// consumes the ',' before an element and reports whether one follows.
func (l *lexer) element(path string, first bool) (more bool, err *Error) {
	c := l.peek()
	if c == ']' {
		l.i++
		return false, nil
	}
	if first {
		return true, nil
	}
	if c != ',' {
		return false, l.unexpected(path)
	}
	l.i++
	l.skipWS()
	return true, nil
}

// appendValue validates one JSON value of any type and appends it to b in
// compact form, strings and numbers as sent. Objects must not repeat a name.
func (l *lexer) appendValue(b []byte, path string, depth int) ([]byte, *Error) {
	switch c := l.peek(); {
	case c == '"':
		start := l.i
		if _, _, err := l.rawString(path); err != nil {
			return b, err
		}
		return append(b, l.s[start:l.i]...), nil
	case c == '-' || '0' <= c && c <= '9':
		n, err := l.number(path)
		return append(b, n...), err
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return b, InvalidArgument(path, "Invalid JSON payload received. Nesting deeper than %d levels.", maxDepth)
		}
		if c == '[' {
			return l.appendArray(b, path, depth+1)
		}
		return l.appendObject(b, path, depth+1)
	default:
		if l.null() {
			return append(b, "null"...), nil
		}
		if v, ok := l.boolean(); ok {
			if v {
				return append(b, "true"...), nil
			}
			return append(b, "false"...), nil
		}
		return b, l.unexpected(path)
	}
}

func (l *lexer) appendArray(b []byte, path string, depth int) ([]byte, *Error) {
	l.i++
	b = append(b, '[')
	for first := true; ; first = false {
		more, err := l.element(path, first)
		if err != nil {
			return b, err
		}
		if !more {
			return append(b, ']'), nil
		}
		if !first {
			b = append(b, ',')
		}
		if b, err = l.appendValue(b, path, depth); err != nil {
			return b, err
		}
	}
}

func (l *lexer) appendObject(b []byte, path string, depth int) ([]byte, *Error) {
	l.i++
	b = append(b, '{')
	var names nameSet
	for first := true; ; first = false {
		name, more, err := l.member(path, first)
		if err != nil {
			return b, err
		}
		if !more {
			return append(b, '}'), nil
		}
		if !names.add(name) {
			return b, duplicateName(path, name)
		}
		if !first {
			b = append(b, ',')
		}
		b = appendRawName(b, l.s[l.name:])
		if b, err = l.appendValue(b, path, depth); err != nil {
			return b, err
		}
	}
}

// appendRawName appends the quoted name at the start of s, as sent, and a ':'.
func appendRawName(b []byte, s string) []byte {
	i := 1
	for s[i] != '"' {
		if s[i] == '\\' {
			i++
		}
		i++
	}
	b = append(b, s[:i+1]...)
	return append(b, ':')
}

// nameSet finds repeated names in one object: a linear scan for the few
// names objects usually have, a map beyond.
type nameSet struct {
	few  [8]string
	n    int
	many map[string]struct{}
}

// add records name and reports whether it was new.
func (s *nameSet) add(name string) bool {
	if s.many != nil {
		if _, dup := s.many[name]; dup {
			return false
		}
		s.many[name] = struct{}{}
		return true
	}
	for _, seen := range s.few[:s.n] {
		if seen == name {
			return false
		}
	}
	if s.n < len(s.few) {
		s.few[s.n] = name
		s.n++
		return true
	}
	s.many = make(map[string]struct{}, 2*len(s.few))
	for _, seen := range s.few {
		s.many[seen] = struct{}{}
	}
	s.many[name] = struct{}{}
	return true
}

// describe returns how an error message shows the value at l.i, as Google
// does: the token itself, or what starting an object or array means.
func (l *lexer) describe(path string) string {
	switch l.peek() {
	case '{':
		return "Starting an object on a scalar field"
	case '[':
		return "Starting an array on a scalar field"
	}
	start := l.i
	if _, err := l.appendValue(nil, path, maxDepth); err != nil {
		return "(malformed)"
	}
	return quoteLimit(l.s[start:l.i])
}

// typeError reports a value of the wrong JSON type for path, whose protobuf
// type is typ (such as "TYPE_STRING").
func (l *lexer) typeError(path, typ string) *Error {
	return InvalidArgument(path, "Invalid value at '%s' (%s), %s", path, typ, l.describe(path))
}

// quoteLimit shortens s for an error message.
func quoteLimit(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func unknownName(path, name string) *Error {
	if path == "" {
		return InvalidArgument("", "Invalid JSON payload received. Unknown name %s: Cannot find field.", quoteName(name))
	}
	return InvalidArgument(path, "Invalid JSON payload received. Unknown name %s at '%s': Cannot find field.", quoteName(name), path)
}

func duplicateName(path, name string) *Error {
	if path == "" {
		return InvalidArgument("", "Invalid JSON payload received. Duplicate name %s.", quoteName(name))
	}
	return InvalidArgument(path, "Invalid JSON payload received. Duplicate name %s at '%s'.", quoteName(name), path)
}

func quoteName(name string) string {
	return fmt.Sprintf("%q", quoteLimit(name))
}
