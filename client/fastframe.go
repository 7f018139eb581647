package client

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/jsonscan"
)

// frameDecoder decodes the frames of one connection, as they are read one
// after the other. It reuses what the app never sees from one frame to
// the next (the array of messages: the app gets copies), and allocates
// little per message: strings that repeat from message to message (token,
// project, topic, data keys) are interned, and the others of a message
// (its ID and data values) share one allocation, so that they keep each
// other alive, but nothing of other messages.
type frameDecoder struct {
	msgs   []herald.Message
	intern map[string]string
	// last holds, per slot (a string member of a message, or a data key
	// by its position), the string the previous message had there: the
	// next one nearly always repeats it, which a comparison finds without
	// hashing into intern.
	last [lastSlots]string
	// prevLen is how many messages the previous messages frame had.
	prevLen int
	// The data of the message being decoded: its keys, and its values
	// (within the frame).
	keys []string
	vals [][]byte
}

// keptMessages is the largest array of messages a decoder keeps for the
// next frame: a burst's array (a frame may carry 100 messages) kept by
// each of thousands of connections made a large heap for the collector
// to scan (a back-to-back topic bench's SDK agents: +20% CPU).
const keptMessages = 8

// Bounds of the intern table: it starts over when full, and longer
// strings are not interned.
const (
	maxInterned    = 256
	maxInternedLen = 128
)

// messagesFast decodes a messages frame as Herald servers write it,
// without encoding/json's reflection: on a device receiving bursts of
// topic messages, decoding was most of the SDK's work. It accepts any
// member order and whitespace, and gives up (ok false, and the caller
// uses encoding/json) on anything outside the plain shape: escapes in
// strings, members it does not know, repeated members, numbers with a
// fraction or an exponent. Whatever it accepts decodes exactly as
// json.Unmarshal would decode it (FuzzFastMessagesFrame checks this).
// The messages are valid until the next call.
func (d *frameDecoder) messagesFast(b []byte) (f herald.Frame, ok bool) {
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
			msgs := d.msgs[:0]
			if d.prevLen > cap(msgs) {
				// The frames of a burst carry many messages: one array
				// the size of the previous frame's, not one grown by
				// doubling (a fifth of a back-to-back bench agent's
				// allocations, and their page faults).
				msgs = make([]herald.Message, 0, d.prevLen)
			}
			ok := s.Elements(func() bool {
				msgs = append(msgs, herald.Message{})
				return d.message(s, &msgs[len(msgs)-1])
			})
			d.prevLen = len(msgs)
			if cap(msgs) > cap(d.msgs) && cap(msgs) <= keptMessages {
				d.msgs = msgs[:0]
			}
			if msgs == nil {
				msgs = []herald.Message{} // [], not null
			}
			f.Messages = msgs
			return ok
		}
		return false
	})
	return f, ok && seenType && s.End()
}

// Slots of decoder.last.
const (
	slotToken = iota
	slotFrom
	slotTopic
	slotCondition
	slotCollapse
	slotDataKeys // the first data key; the next ones follow
	lastSlots    = slotDataKeys + 8
)

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

// message decodes one message into m, which is zero.
func (d *frameDecoder) message(s *jsonscan.Scanner, m *herald.Message) bool {
	d.vals, d.keys = d.vals[:0], d.keys[:0]
	var id []byte
	seen := 0
	ok := s.Members(func(key []byte) bool {
		var bit int
		ok := false
		switch string(key) {
		case "id":
			bit = mID
			id, ok = s.Bytes()
		case "seq":
			bit = mSeq
			m.Seq, ok = s.Uint()
		case "tseq":
			bit = mTseq
			m.TopicSeq, ok = s.Uint()
		case "token":
			bit = mToken
			m.Token, ok = d.string(s, slotToken)
		case "from":
			bit = mFrom
			m.From, ok = d.string(s, slotFrom)
		case "topic":
			bit = mTopic
			m.Topic, ok = d.string(s, slotTopic)
		case "condition":
			bit = mCondition
			m.Condition, ok = d.string(s, slotCondition)
		case "sent_at_ms":
			bit = mSentAt
			m.SentAtMillis, ok = s.Int()
		case "ttl_s":
			bit = mTTL
			m.TTLSeconds, ok = s.Int()
		case "collapse_key":
			bit = mCollapse
			m.CollapseKey, ok = d.string(s, slotCollapse)
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
			ok = d.data(s)
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
	if !ok {
		return false
	}
	// One string holds the ID and the data values.
	n := len(id)
	for _, v := range d.vals {
		n += len(v)
	}
	var sb strings.Builder
	sb.Grow(n)
	sb.Write(id)
	for _, v := range d.vals {
		sb.Write(v)
	}
	all := sb.String()
	m.ID, all = all[:len(id)], all[len(id):]
	if seen&mData != 0 {
		m.Data = make(map[string]string, len(d.keys))
		for i, k := range d.keys {
			m.Data[k] = all[:len(d.vals[i])]
			all = all[len(d.vals[i]):]
		}
		if len(m.Data) != len(d.keys) {
			return false // a repeated key
		}
	}
	return true
}

// data reads a string → string object: the keys into d.keys, the values
// into d.vals.
func (d *frameDecoder) data(s *jsonscan.Scanner) bool {
	return s.Members(func(key []byte) bool {
		k := d.interned(key, slotDataKeys+len(d.keys))
		v, ok := s.Bytes()
		d.keys, d.vals = append(d.keys, k), append(d.vals, v)
		return ok
	})
}

// string reads a string that is likely to repeat in the next messages
// at slot.
func (d *frameDecoder) string(s *jsonscan.Scanner, slot int) (string, bool) {
	b, ok := s.Bytes()
	if !ok {
		return "", false
	}
	return d.interned(b, slot), true
}

// interned returns b as a string: the one in d.last at slot if it is
// the same (a slot past d.last: none), else the same string each time
// while it is in the intern table.
func (d *frameDecoder) interned(b []byte, slot int) string {
	if slot < len(d.last) && d.last[slot] == string(b) {
		return d.last[slot]
	}
	if v, ok := d.intern[string(b)]; ok {
		if slot < len(d.last) {
			d.last[slot] = v
		}
		return v
	}
	v := string(b)
	if len(v) > maxInternedLen {
		return v
	}
	if d.intern == nil || len(d.intern) >= maxInterned {
		// Not sized for maxInterned: a connection interns a handful of
		// strings, and a device's first message allocating room for
		// hundreds cost a fan-out to 19,500 SDK devices seconds of
		// allocation and GC.
		d.intern = map[string]string{}
	}
	d.intern[v] = v
	if slot < len(d.last) {
		d.last[slot] = v
	}
	return v
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
		dst = jsonscan.AppendString(dst, a.Token)
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
