package dispatch

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/jsonscan"
	"github.com/heraldpush/herald/internal/store"
)

// Body is the part of a message that the app receives and the store keeps
// opaque: its data and notification. Encoded once at send time.
type Body struct {
	Data         map[string]string    `json:"data,omitempty"`
	Notification *herald.Notification `json:"notification,omitempty"`
	// WebPush is the encrypted body of a message posted to a push
	// endpoint (webpush.go); such a message has no Data or Notification,
	// so its payload starts with webPushMember.
	WebPush *herald.WebPush `json:"webpush,omitempty"`
}

// EncodeBody returns the payload stored with a message: the JSON members of
// Body without the enclosing braces (possibly empty), ready to be spliced
// into a message frame without decoding it again.
func EncodeBody(b Body) ([]byte, error) {
	j, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	return j[1 : len(j)-1], nil
}

func appendMessage(dst []byte, m *store.Message) []byte {
	return appendFrameMessage(dst, frameMessage{
		id: m.ID, seqName: `,"seq":`, seq: m.Seq, token: m.Token, from: m.ProjectID,
		sentAt: m.AcceptedAt, ttl: m.TTL, collapseKey: m.CollapseKey, high: m.High, payload: m.Payload,
	})
}

// appendTopicMessage appends a topic log entry as a message of the
// registration token's topic stream.
func appendTopicMessage(dst []byte, token string, m *store.TopicMessage) []byte {
	return appendFrameMessage(dst, topicFrameMessage(token, m))
}

func topicFrameMessage(token string, m *store.TopicMessage) frameMessage {
	return frameMessage{
		id: m.ID, seqName: `,"tseq":`, seq: m.Seq, token: token, from: m.ProjectID,
		topic: m.Topic, condition: m.Condition,
		sentAt: m.AcceptedAt, ttl: m.TTL, collapseKey: m.CollapseKey, high: m.High, payload: m.Payload,
	}
}

// encode makes the JSON of a published entry that is the same for every
// device: all but the token. A fan-out then copies it around each token
// instead of encoding the message once per device.
func (e *topicEntry) encode() {
	fm := topicFrameMessage("", e.TopicMessage)
	e.head = appendMessageHead(nil, fm)
	e.tail = appendMessageTail(nil, fm)
}

// frameMessage is what a message frame says of one message.
type frameMessage struct {
	id               string
	seqName          string // `,"seq":` or `,"tseq":`
	seq              uint64
	token, from      string
	topic, condition string
	sentAt           time.Time
	ttl              time.Duration
	collapseKey      string
	high             bool
	payload          []byte
}

func appendFrameMessage(dst []byte, m frameMessage) []byte {
	dst = appendMessageHead(dst, m)
	dst = jsonscan.AppendString(dst, m.token)
	return appendMessageTail(dst, m)
}

// appendMessageHead appends a message's JSON up to its token's value.
func appendMessageHead(dst []byte, m frameMessage) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonscan.AppendString(dst, m.id)
	dst = append(dst, m.seqName...)
	dst = strconv.AppendUint(dst, m.seq, 10)
	return append(dst, `,"token":`...)
}

// appendMessageTail appends a message's JSON after its token's value.
func appendMessageTail(dst []byte, m frameMessage) []byte {
	dst = append(dst, `,"from":`...)
	dst = jsonscan.AppendString(dst, m.from)
	if m.topic != "" {
		dst = append(dst, `,"topic":`...)
		dst = jsonscan.AppendString(dst, m.topic)
	}
	if m.condition != "" {
		dst = append(dst, `,"condition":`...)
		dst = jsonscan.AppendString(dst, m.condition)
	}
	dst = append(dst, `,"sent_at_ms":`...)
	dst = strconv.AppendInt(dst, m.sentAt.UnixMilli(), 10)
	dst = append(dst, `,"ttl_s":`...)
	dst = strconv.AppendInt(dst, int64(m.ttl.Seconds()), 10)
	// A Web Push message's collapse key comes from its Topic header,
	// which RFC 8030 §5.4 forbids forwarding to the device.
	if m.collapseKey != "" && !isWebPush(m.payload) {
		dst = append(dst, `,"collapse_key":`...)
		dst = jsonscan.AppendString(dst, m.collapseKey)
	}
	if m.high {
		dst = append(dst, `,"priority":"high"`...)
	} else {
		dst = append(dst, `,"priority":"normal"`...)
	}
	if len(m.payload) > 0 {
		dst = append(dst, ',')
		dst = append(dst, m.payload...)
	}
	return append(dst, '}')
}

// appendDeletedFrame appends a "deleted" frame for a KindDeleted marker.
func appendDeletedFrame(dst []byte, m *store.Message) []byte {
	dst = append(dst, `{"type":"deleted","deleted":{"token":`...)
	dst = jsonscan.AppendString(dst, m.Token)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, m.Seq, 10)
	dst = append(dst, `,"count":`...)
	dst = strconv.AppendInt(dst, int64(m.Dropped), 10)
	return append(dst, "}}"...)
}

// encodeFrame marshals a control frame (welcome, pong, token_refresh, goaway).
func encodeFrame(f herald.Frame) []byte {
	b, err := json.Marshal(f)
	if err != nil {
		// Frames are plain structs of strings and numbers; Marshal cannot fail.
		panic("dispatch: encoding a frame: " + err.Error())
	}
	return b
}
