// Package jsonscan reads JSON documents of a known, plain shape without
// reflection: the frames of Herald's device protocol that go by the
// thousand (messages to devices, acks from them). A Scanner accepts only
// what it can decode exactly as encoding/json would: strings without
// escapes, in valid UTF-8; integers without fraction or exponent; and it
// says no (false) to anything else, so that its callers fall back to
// encoding/json for the rare document outside that shape. AppendString
// writes the strings of such documents.
package jsonscan

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Scanner reads JSON values from B from position I on.
type Scanner struct {
	B []byte
	I int
}

// Space skips whitespace.
func (s *Scanner) Space() {
	for s.I < len(s.B) {
		switch s.B[s.I] {
		case ' ', '\t', '\n', '\r':
			s.I++
		default:
			return
		}
	}
}

// Byte consumes c (after whitespace) if it is next.
func (s *Scanner) Byte(c byte) bool {
	s.Space()
	if s.I < len(s.B) && s.B[s.I] == c {
		s.I++
		return true
	}
	return false
}

// Null consumes the literal null if it is next.
func (s *Scanner) Null() bool {
	s.Space()
	if len(s.B)-s.I >= 4 && string(s.B[s.I:s.I+4]) == "null" {
		s.I += 4
		return true
	}
	return false
}

// End reports whether only whitespace is left.
func (s *Scanner) End() bool {
	s.Space()
	return s.I == len(s.B)
}

// String reads a string without escapes, of valid UTF-8 without control
// characters.
func (s *Scanner) String() (string, bool) {
	b, ok := s.Bytes()
	return string(b), ok
}

// Bytes is String without the copy: the string's bytes within B.
func (s *Scanner) Bytes() ([]byte, bool) {
	if !s.Byte('"') {
		return nil, false
	}
	start := s.I
	ascii := true
	for ; s.I < len(s.B); s.I++ {
		c := s.B[s.I]
		switch {
		case c == '"':
			b := s.B[start:s.I]
			s.I++
			if !ascii && !utf8.Valid(b) {
				return nil, false
			}
			return b, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// Uint reads a non-negative integer as encoding/json reads one into a
// uint64 (no sign, no leading zeros, no fraction or exponent).
func (s *Scanner) Uint() (uint64, bool) {
	start, ok := s.digits(false)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s.B[start:s.I]), 10, 64)
	return v, err == nil
}

// Int reads an integer that fits an int64.
func (s *Scanner) Int() (int64, bool) {
	start, ok := s.digits(true)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(string(s.B[start:s.I]), 10, 64)
	return v, err == nil
}

// digits reads an optional minus sign (if signed) and the digits of a
// JSON integer, and returns where the number starts.
func (s *Scanner) digits(signed bool) (int, bool) {
	s.Space()
	start := s.I
	if signed && s.I < len(s.B) && s.B[s.I] == '-' {
		s.I++
	}
	d := s.I
	for s.I < len(s.B) && s.B[s.I] >= '0' && s.B[s.I] <= '9' {
		s.I++
	}
	n := s.I - d
	if n == 0 || (n > 1 && s.B[d] == '0') {
		return 0, false
	}
	if s.I < len(s.B) {
		switch s.B[s.I] {
		case '.', 'e', 'E', '-', '+':
			return 0, false // a fraction or an exponent
		}
	}
	return start, true
}

// RawObject returns the bytes of the object that starts next, for
// encoding/json to decode; it does not check what is inside.
func (s *Scanner) RawObject() ([]byte, bool) {
	s.Space()
	if s.I >= len(s.B) || s.B[s.I] != '{' {
		return nil, false
	}
	start, depth, inStr := s.I, 0, false
	for ; s.I < len(s.B); s.I++ {
		c := s.B[s.I]
		switch {
		case inStr && c == '\\':
			s.I++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				s.I++
				return s.B[start:s.I], true
			}
		}
	}
	return nil, false
}

// Members calls member for each member of the object that starts next,
// with its key (valid until the next read); member reads the value. It
// stops at the first false.
func (s *Scanner) Members(member func(key []byte) bool) bool {
	if !s.Byte('{') {
		return false
	}
	for first := true; ; first = false {
		if s.Byte('}') {
			return true
		}
		if !first && !s.Byte(',') {
			return false
		}
		key, ok := s.Bytes()
		if !ok || !s.Byte(':') || !member(key) {
			return false
		}
	}
}

// Elements calls elem for each element of the array that starts next;
// elem reads the element. It stops at the first false.
func (s *Scanner) Elements(elem func() bool) bool {
	if !s.Byte('[') {
		return false
	}
	for first := true; ; first = false {
		if s.Byte(']') {
			return true
		}
		if !first && !s.Byte(',') {
			return false
		}
		if !elem() {
			return false
		}
	}
}

// AppendString appends s as a JSON string, byte for byte as
// encoding/json writes it. IDs, tokens and project IDs are plain ASCII
// and are copied; anything else goes through encoding/json (strconv's Go
// quoting is not JSON).
func AppendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			j, _ := json.Marshal(s) // a string always encodes
			return append(dst, j...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
