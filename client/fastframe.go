package client

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/heraldpush/herald"
)

// decodeMessagesFast decodes a messages frame as Herald servers write it,
// without encoding/json's reflection: on a device receiving bursts of
// topic messages, decoding was most of the SDK's work. It accepts any
// member order and whitespace, and gives up (ok false, and the caller
// uses encoding/json) on anything outside the plain shape: escapes in
// strings, members it does not know, repeated members, numbers with a
// fraction or an exponent. Whatever it accepts decodes exactly as
// json.Unmarshal would decode it (FuzzFastMessagesFrame checks this).
func decodeMessagesFast(b []byte) (f herald.Frame, ok bool) {
	p := parser{b: b}
	if !p.byte('{') {
		return f, false
	}
	var seenType, seenMsgs bool
	for first := true; ; first = false {
		if p.byte('}') {
			break
		}
		if !first && !p.byte(',') {
			return f, false
		}
		key, ok := p.bytes()
		if !ok || !p.byte(':') {
			return f, false
		}
		switch string(key) {
		case "type":
			v, ok := p.bytes()
			if !ok || seenType || string(v) != string(herald.FrameMessages) {
				return f, false
			}
			f.Type, seenType = herald.FrameMessages, true
		case "messages":
			if seenMsgs {
				return f, false
			}
			seenMsgs = true
			if f.Messages, ok = p.messages(); !ok {
				return f, false
			}
		default:
			return f, false
		}
	}
	p.space()
	return f, seenType && p.i == len(p.b)
}

// parser reads JSON values from b at i.
type parser struct {
	b []byte
	i int
}

func (p *parser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// byte consumes c (after whitespace) if it is next.
func (p *parser) byte(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string without escapes, of valid UTF-8 without control
// characters.
func (p *parser) str() (string, bool) {
	b, ok := p.bytes()
	return string(b), ok
}

// bytes is str without the copy: the bytes of the string in b.
func (p *parser) bytes() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	start := p.i
	ascii := true
	for ; p.i < len(p.b); p.i++ {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// uint reads a non-negative integer as encoding/json reads one into a
// uint64 (no sign, no leading zeros, no fraction or exponent).
func (p *parser) uint() (uint64, bool) {
	start, ok := p.digits(false)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.b[start:p.i]), 10, 64)
	return v, err == nil
}

// int reads an integer that fits an int64.
func (p *parser) int() (int64, bool) {
	start, ok := p.digits(true)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(string(p.b[start:p.i]), 10, 64)
	return v, err == nil
}

// digits reads an optional minus sign (if signed) and the digits of a
// JSON integer, and returns where the number starts.
func (p *parser) digits(signed bool) (int, bool) {
	p.space()
	start := p.i
	if signed && p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	d := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	n := p.i - d
	if n == 0 || (n > 1 && p.b[d] == '0') || p.numberGoesOn() {
		return 0, false
	}
	return start, true
}

// numberGoesOn reports a fraction or an exponent after the digits.
func (p *parser) numberGoesOn() bool {
	if p.i >= len(p.b) {
		return false
	}
	switch p.b[p.i] {
	case '.', 'e', 'E', '-', '+':
		return true
	}
	return false
}

// rawObject returns the raw bytes of the object that starts next, for
// encoding/json to decode (members the fast path leaves to it).
func (p *parser) rawObject() ([]byte, bool) {
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return nil, false
	}
	start, depth, inStr := p.i, 0, false
	for ; p.i < len(p.b); p.i++ {
		c := p.b[p.i]
		switch {
		case inStr && c == '\\':
			p.i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				p.i++
				return p.b[start:p.i], true
			}
		}
	}
	return nil, false
}

func (p *parser) messages() ([]herald.Message, bool) {
	if p.byte('n') {
		// null: what json.Unmarshal leaves as a nil slice.
		if p.i+3 <= len(p.b) && string(p.b[p.i:p.i+3]) == "ull" {
			p.i += 3
			return nil, true
		}
		return nil, false
	}
	if !p.byte('[') {
		return nil, false
	}
	msgs := []herald.Message{}
	for first := true; ; first = false {
		if p.byte(']') {
			return msgs, true
		}
		if !first && !p.byte(',') {
			return nil, false
		}
		var m herald.Message
		if !p.message(&m) {
			return nil, false
		}
		msgs = append(msgs, m)
	}
}

// Members of a message, for spotting repeats.
const (
	mID = 1 << iota
	mSeq
	mTseq
	mToken
	mFrom
	mTopic
	mCondition
	mSentAt
	mTTL
	mCollapse
	mPriority
	mData
	mNotification
	mWebPush
)

func (p *parser) message(m *herald.Message) bool {
	if !p.byte('{') {
		return false
	}
	seen := 0
	for first := true; ; first = false {
		if p.byte('}') {
			return true
		}
		if !first && !p.byte(',') {
			return false
		}
		key, ok := p.bytes()
		if !ok || !p.byte(':') {
			return false
		}
		var bit int
		switch string(key) {
		case "id":
			bit = mID
			m.ID, ok = p.str()
		case "seq":
			bit = mSeq
			m.Seq, ok = p.uint()
		case "tseq":
			bit = mTseq
			m.TopicSeq, ok = p.uint()
		case "token":
			bit = mToken
			m.Token, ok = p.str()
		case "from":
			bit = mFrom
			m.From, ok = p.str()
		case "topic":
			bit = mTopic
			m.Topic, ok = p.str()
		case "condition":
			bit = mCondition
			m.Condition, ok = p.str()
		case "sent_at_ms":
			bit = mSentAt
			m.SentAtMillis, ok = p.int()
		case "ttl_s":
			bit = mTTL
			m.TTLSeconds, ok = p.int()
		case "collapse_key":
			bit = mCollapse
			m.CollapseKey, ok = p.str()
		case "priority":
			bit = mPriority
			var s []byte
			s, ok = p.bytes()
			switch string(s) { // the two values, without a copy
			case string(herald.PriorityHigh):
				m.Priority = herald.PriorityHigh
			case string(herald.PriorityNormal):
				m.Priority = herald.PriorityNormal
			default:
				m.Priority = herald.Priority(s)
			}
		case "data":
			bit = mData
			m.Data, ok = p.data()
		case "notification":
			bit = mNotification
			ok = p.decodeRaw(&m.Notification)
		case "webpush":
			bit = mWebPush
			ok = p.decodeRaw(&m.WebPush)
		default:
			return false
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// data reads a string → string object.
func (p *parser) data() (map[string]string, bool) {
	if !p.byte('{') {
		return nil, false
	}
	d := map[string]string{}
	for first := true; ; first = false {
		if p.byte('}') {
			return d, true
		}
		if !first && !p.byte(',') {
			return nil, false
		}
		k, ok := p.str()
		if !ok || !p.byte(':') {
			return nil, false
		}
		v, ok := p.str()
		if !ok {
			return nil, false
		}
		if _, dup := d[k]; dup {
			return nil, false
		}
		d[k] = v
	}
}

// decodeRaw hands the object that starts next to encoding/json.
func (p *parser) decodeRaw(v any) bool {
	raw, ok := p.rawObject()
	return ok && json.Unmarshal(raw, v) == nil
}
