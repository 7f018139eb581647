package bench

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The wire devices' frame scanner: what a device must read of a server
// frame to receive, deduplicate and acknowledge messages (the frame's
// type; per message its seq or tseq, token and topic; the data fields "n"
// and "t"), found by walking the bytes once, without encoding/json's
// reflection or allocations. It reads what encoding/json would read into a
// herald.Frame, down to the corners (escapes, invalid UTF-8, keys matched
// without regard to case, null members, repeated members) and refuses what
// encoding/json refuses; the one valid frame it declines is one with a
// repeated "messages" member, whose decoding by encoding/json depends on
// the capacity of the slice it grows (errRepeated). FuzzWireFrame checks
// both.

// errRepeated refuses a frame with a second "messages" member.
var errRepeated = errors.New("repeated messages member")

// wireMsg is what a wire device reads of one message. The byte slices
// point into the frame or into the scanner's buffer of unescaped strings:
// they are valid until the next scan.
type wireMsg struct {
	seq, tseq    uint64
	token, topic []byte
	// n and t are the data fields of those names; hasN and hasT say they
	// are present.
	n, t       []byte
	hasN, hasT bool
}

// wireFrame is a scanned server frame, reused from frame to frame.
type wireFrame struct {
	typ  []byte
	msgs []wireMsg
	r    jsonReader
}

// scan reads frame b. On an error the frame's fields mean nothing.
func (f *wireFrame) scan(b []byte) error {
	f.typ, f.msgs = nil, f.msgs[:0]
	r := &f.r
	r.reset(b)
	if !r.null() {
		seenMsgs := false
		err := r.object(func(key []byte) error {
			switch fieldOf(key, "type", "messages") {
			case "type":
				if r.null() {
					return nil
				}
				v, err := r.str()
				f.typ = v
				return err
			case "messages":
				if seenMsgs {
					return errRepeated
				}
				seenMsgs = true
				if r.null() {
					return nil
				}
				return r.array(func() error {
					f.msgs = append(f.msgs, wireMsg{})
					if r.null() {
						return nil
					}
					return f.message(&f.msgs[len(f.msgs)-1])
				})
			}
			return r.skip()
		})
		if err != nil {
			return err
		}
	}
	return r.end()
}

// message reads one message object into m.
func (f *wireFrame) message(m *wireMsg) error {
	r := &f.r
	return r.object(func(key []byte) error {
		var err error
		switch fieldOf(key, "seq", "tseq", "token", "topic", "data") {
		case "seq":
			if !r.null() {
				m.seq, err = r.uint()
			}
		case "tseq":
			if !r.null() {
				m.tseq, err = r.uint()
			}
		case "token":
			if !r.null() {
				m.token, err = r.str()
			}
		case "topic":
			if !r.null() {
				m.topic, err = r.str()
			}
		case "data":
			if r.null() {
				m.hasN, m.hasT = false, false // a nil map
				return nil
			}
			// A second data member adds to the first, as encoding/json
			// decodes into the map it already made.
			err = r.object(func(key []byte) error {
				v := []byte(nil)
				if !r.null() {
					var err error
					if v, err = r.str(); err != nil {
						return err
					}
				}
				switch string(key) {
				case dataNumber:
					m.n, m.hasN = v, true
				case dataSentAt:
					m.t, m.hasT = v, true
				}
				return nil
			})
		default:
			err = r.skip()
		}
		return err
	})
}

// fieldOf returns the name among names that key selects as encoding/json
// selects a struct field: the same name, else one equal under Unicode
// case folding; "" for none.
func fieldOf(key []byte, names ...string) string {
	for _, n := range names {
		if string(key) == n {
			return n
		}
	}
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return n
		}
	}
	return ""
}

// jsonReader walks a JSON document.
type jsonReader struct {
	b     []byte
	i     int
	esc   []byte // unescaped strings of the current document
	depth int    // containers open in object and array
	stack []byte // containers open in skip
}

// maxDepth is encoding/json's bound on nesting.
const maxDepth = 10000

// errSyntax reports JSON that encoding/json would refuse.
var errSyntax = errors.New("invalid JSON")

func (r *jsonReader) reset(b []byte) {
	r.b, r.i, r.esc, r.depth = b, 0, r.esc[:0], 0
}

func (r *jsonReader) syntax(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errSyntax, what, r.i)
}

// space skips whitespace and returns the next byte (0 at the end).
func (r *jsonReader) space() byte {
	for ; r.i < len(r.b); r.i++ {
		switch c := r.b[r.i]; c {
		case ' ', '\t', '\n', '\r':
		default:
			return c
		}
	}
	return 0
}

// consume consumes c, after whitespace, if it is next.
func (r *jsonReader) consume(c byte) bool {
	if r.space() == c && r.i < len(r.b) {
		r.i++
		return true
	}
	return false
}

// null consumes a null literal if one is next.
func (r *jsonReader) null() bool {
	if r.space() == 'n' && bytes.HasPrefix(r.b[r.i:], []byte("null")) {
		r.i += 4
		return true
	}
	return false
}

// end checks that only whitespace is left.
func (r *jsonReader) end() error {
	if r.space(); r.i != len(r.b) {
		return r.syntax("data after the value")
	}
	return nil
}

// object reads an object, calling member for each member with its key
// (unescaped); member reads the value.
func (r *jsonReader) object(member func(key []byte) error) error {
	if !r.consume('{') {
		return r.syntax("want an object")
	}
	r.depth++
	defer func() { r.depth-- }()
	if r.consume('}') {
		return nil
	}
	for {
		key, err := r.key()
		if err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		if r.consume(',') {
			continue
		}
		if r.consume('}') {
			return nil
		}
		return r.syntax("want , or }")
	}
}

// key reads a member's key and the colon after it.
func (r *jsonReader) key() ([]byte, error) {
	if r.space() != '"' {
		return nil, r.syntax("want a key")
	}
	key, err := r.str()
	if err != nil {
		return nil, err
	}
	if !r.consume(':') {
		return nil, r.syntax("want :")
	}
	return key, nil
}

// array reads an array, calling elem for each element; elem reads it.
func (r *jsonReader) array(elem func() error) error {
	if !r.consume('[') {
		return r.syntax("want an array")
	}
	r.depth++
	defer func() { r.depth-- }()
	if r.consume(']') {
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		if r.consume(',') {
			continue
		}
		if r.consume(']') {
			return nil
		}
		return r.syntax("want , or ]")
	}
}

// uint reads a number into a uint64 as encoding/json does: digits only.
func (r *jsonReader) uint() (uint64, error) {
	r.space()
	start := r.i
	if err := r.number(); err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(string(r.b[start:r.i]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("number %s: want an unsigned integer", r.b[start:r.i])
	}
	return v, nil
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *jsonReader) number() error {
	digits := func() int {
		n := 0
		for ; r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9'; r.i++ {
			n++
		}
		return n
	}
	if r.i < len(r.b) && r.b[r.i] == '-' {
		r.i++
	}
	switch {
	case r.i < len(r.b) && r.b[r.i] == '0':
		r.i++
	case digits() == 0:
		return r.syntax("want a value")
	}
	if r.i < len(r.b) && r.b[r.i] == '.' {
		r.i++
		if digits() == 0 {
			return r.syntax("want digits after .")
		}
	}
	if r.i < len(r.b) && (r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.i++
		if r.i < len(r.b) && (r.b[r.i] == '+' || r.b[r.i] == '-') {
			r.i++
		}
		if digits() == 0 {
			return r.syntax("want an exponent")
		}
	}
	return nil
}

// str reads a string and returns its value as encoding/json decodes it:
// escapes resolved, invalid UTF-8 and unpaired surrogates replaced by
// U+FFFD. A plain string is returned in place, others in r.esc.
func (r *jsonReader) str() ([]byte, error) {
	if !r.consume('"') {
		return nil, r.syntax("want a string")
	}
	start := r.i
	for ; r.i < len(r.b); r.i++ {
		switch c := r.b[r.i]; {
		case c == '"':
			r.i++
			return r.b[start : r.i-1], nil
		case c == '\\' || c >= utf8.RuneSelf:
			return r.unescape(start)
		case c < 0x20:
			return nil, r.syntax("control character in a string")
		}
	}
	return nil, r.syntax("unterminated string")
}

// unescape continues reading the string that started at start, from r.i,
// into r.esc.
func (r *jsonReader) unescape(start int) ([]byte, error) {
	from := len(r.esc)
	r.esc = append(r.esc, r.b[start:r.i]...)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return r.esc[from:], nil
		case c < 0x20:
			return nil, r.syntax("control character in a string")
		case c >= utf8.RuneSelf:
			ru, size := utf8.DecodeRune(r.b[r.i:])
			r.esc = utf8.AppendRune(r.esc, ru) // RuneError for invalid bytes
			r.i += size
		case c != '\\':
			r.esc = append(r.esc, c)
			r.i++
		default:
			if r.i+1 >= len(r.b) {
				return nil, r.syntax("unterminated string")
			}
			e := r.b[r.i+1]
			r.i += 2
			switch e {
			case '"', '\\', '/':
				r.esc = append(r.esc, e)
			case 'b':
				r.esc = append(r.esc, '\b')
			case 'f':
				r.esc = append(r.esc, '\f')
			case 'n':
				r.esc = append(r.esc, '\n')
			case 'r':
				r.esc = append(r.esc, '\r')
			case 't':
				r.esc = append(r.esc, '\t')
			case 'u':
				ru := r.hex4()
				if ru < 0 {
					return nil, r.syntax("bad \\u escape")
				}
				if utf16.IsSurrogate(ru) {
					// A pair makes one rune; anything else is U+FFFD and
					// the next escape is read on its own.
					if r.i+1 < len(r.b) && r.b[r.i] == '\\' && r.b[r.i+1] == 'u' {
						save := r.i
						r.i += 2
						if lo := r.hex4(); lo >= 0 {
							if pair := utf16.DecodeRune(ru, lo); pair != utf8.RuneError {
								r.esc = utf8.AppendRune(r.esc, pair)
								continue
							}
						}
						r.i = save
					}
					ru = utf8.RuneError
				}
				r.esc = utf8.AppendRune(r.esc, ru)
			default:
				return nil, r.syntax("bad escape")
			}
		}
	}
	return nil, r.syntax("unterminated string")
}

// hex4 reads four hex digits; −1 if they are not.
func (r *jsonReader) hex4() rune {
	if len(r.b)-r.i < 4 {
		return -1
	}
	var v rune
	for _, c := range r.b[r.i : r.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		v = v<<4 | rune(c)
	}
	r.i += 4
	return v
}

// skip reads over one value of any kind, checking its syntax, without
// recursion (a deeply nested value costs no stack).
func (r *jsonReader) skip() error {
	r.stack = r.stack[:0]
	for {
		// A value.
		switch c := r.space(); c {
		case '{', '[':
			r.i++
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			if r.depth+len(r.stack)+1 > maxDepth {
				return r.syntax("nested too deep")
			}
			if r.consume(closer) {
				break
			}
			r.stack = append(r.stack, closer)
			if c == '{' {
				if err := r.skipKey(); err != nil {
					return err
				}
			}
			continue
		case '"':
			if err := r.skipString(); err != nil {
				return err
			}
		case 't', 'f', 'n':
			lit := "null"
			switch c {
			case 't':
				lit = "true"
			case 'f':
				lit = "false"
			}
			if !bytes.HasPrefix(r.b[r.i:], []byte(lit)) {
				return r.syntax("want a value")
			}
			r.i += len(lit)
		default:
			if err := r.number(); err != nil {
				return err
			}
		}
		// After a value: the next one, or the ends of containers.
		for {
			if len(r.stack) == 0 {
				return nil
			}
			closer := r.stack[len(r.stack)-1]
			if r.consume(',') {
				if closer == '}' {
					if err := r.skipKey(); err != nil {
						return err
					}
				}
				break
			}
			if !r.consume(closer) {
				return r.syntax("want , or " + string(closer))
			}
			r.stack = r.stack[:len(r.stack)-1]
		}
	}
}

// skipKey reads over a member's key and the colon after it.
func (r *jsonReader) skipKey() error {
	if r.space() != '"' {
		return r.syntax("want a key")
	}
	if err := r.skipString(); err != nil {
		return err
	}
	if !r.consume(':') {
		return r.syntax("want :")
	}
	return nil
}

// skipString reads over a string, checking its escapes.
func (r *jsonReader) skipString() error {
	r.i++ // the opening quote
	for r.i < len(r.b) {
		switch c := r.b[r.i]; {
		case c == '"':
			r.i++
			return nil
		case c < 0x20:
			return r.syntax("control character in a string")
		case c == '\\':
			if r.i+1 >= len(r.b) {
				return r.syntax("unterminated string")
			}
			r.i += 2
			switch r.b[r.i-1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if r.hex4() < 0 {
					return r.syntax("bad \\u escape")
				}
			default:
				return r.syntax("bad escape")
			}
		default:
			r.i++
		}
	}
	return r.syntax("unterminated string")
}
