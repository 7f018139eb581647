package client

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/jsonscan"
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
	s := &jsonscan.Scanner{B: b}
	var seenType, seenMsgs bool
	ok = s.Members(func(key []byte) bool {
		switch string(key) {
		case "type":
			v, ok := s.Bytes()
			if !ok || seenType || string(v) != string(herald.FrameMessages) {
				return false
			}
			f.Type, seenType = herald.FrameMessages, true
			return true
		case "messages":
			if seenMsgs {
				return false
			}
			seenMsgs = true
			if s.Null() {
				return true // what json.Unmarshal leaves as a nil slice
			}
			f.Messages = []herald.Message{}
			return s.Elements(func() bool {
				var m herald.Message
				if !decodeMessage(s, &m) {
					return false
				}
				f.Messages = append(f.Messages, m)
				return true
			})
		}
		return false
	})
	return f, ok && seenType && s.End()
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

func decodeMessage(s *jsonscan.Scanner, m *herald.Message) bool {
	seen := 0
	return s.Members(func(key []byte) bool {
		var bit int
		ok := false
		switch string(key) {
		case "id":
			bit = mID
			m.ID, ok = s.String()
		case "seq":
			bit = mSeq
			m.Seq, ok = s.Uint()
		case "tseq":
			bit = mTseq
			m.TopicSeq, ok = s.Uint()
		case "token":
			bit = mToken
			m.Token, ok = s.String()
		case "from":
			bit = mFrom
			m.From, ok = s.String()
		case "topic":
			bit = mTopic
			m.Topic, ok = s.String()
		case "condition":
			bit = mCondition
			m.Condition, ok = s.String()
		case "sent_at_ms":
			bit = mSentAt
			m.SentAtMillis, ok = s.Int()
		case "ttl_s":
			bit = mTTL
			m.TTLSeconds, ok = s.Int()
		case "collapse_key":
			bit = mCollapse
			m.CollapseKey, ok = s.String()
		case "priority":
			bit = mPriority
			var p []byte
			p, ok = s.Bytes()
			switch string(p) { // the two values, without a copy
			case string(herald.PriorityHigh):
				m.Priority = herald.PriorityHigh
			case string(herald.PriorityNormal):
				m.Priority = herald.PriorityNormal
			default:
				m.Priority = herald.Priority(p)
			}
		case "data":
			bit = mData
			m.Data, ok = decodeData(s)
		case "notification":
			bit = mNotification
			ok = decodeRaw(s, &m.Notification)
		case "webpush":
			bit = mWebPush
			ok = decodeRaw(s, &m.WebPush)
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	})
}

// decodeData reads a string → string object.
func decodeData(s *jsonscan.Scanner) (map[string]string, bool) {
	d := map[string]string{}
	ok := s.Members(func(key []byte) bool {
		if _, dup := d[string(key)]; dup {
			return false
		}
		k := string(key)
		v, ok := s.String()
		d[k] = v
		return ok
	})
	return d, ok
}

// decodeRaw hands the object that starts next to encoding/json.
func decodeRaw(s *jsonscan.Scanner, v any) bool {
	raw, ok := s.RawObject()
	return ok && json.Unmarshal(raw, v) == nil
}

// appendAckFrame appends the ack frame of acks, byte for byte as
// json.Marshal writes herald.Frame{Type: herald.FrameAck, Acks: acks}
// (FuzzAckFrame checks this), without its reflection: a device in a
// fan-out writes one for every frame or held batch.
func appendAckFrame(dst []byte, acks []herald.Ack) []byte {
	dst = append(dst, `{"type":"`+herald.FrameAck+`"`...)
	if len(acks) == 0 {
		return append(dst, '}')
	}
	dst = append(dst, `,"acks":[`...)
	for i, a := range acks {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"token":`...)
		dst = appendJSONString(dst, a.Token)
		if a.Seq != 0 {
			dst = strconv.AppendUint(append(dst, `,"seq":`...), a.Seq, 10)
		}
		if a.TopicSeq != 0 {
			dst = strconv.AppendUint(append(dst, `,"tseq":`...), a.TopicSeq, 10)
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// appendJSONString appends s quoted as encoding/json quotes it: printable
// ASCII other than the characters it escapes is copied, anything else
// (rare in a token) is left to encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c >= utf8.RuneSelf, c == '"', c == '\\', c == '<', c == '>', c == '&':
			b, _ := json.Marshal(s) // a string always encodes
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
