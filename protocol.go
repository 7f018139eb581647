package herald

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ProtocolVersion is the device protocol version spoken by this package.
// A device states it in its hello frame; the server refuses versions it does
// not know with close code CloseUnsupportedVersion.
const ProtocolVersion = 1

// MaxFrameSize bounds a device→server frame. Larger frames close the
// connection with CloseFrameTooLarge.
const MaxFrameSize = 64 << 10

// FrameType names a frame. Every frame is one WebSocket text message holding
// one JSON object with a "type" member.
type FrameType string

// Frames sent by the device.
const (
	FrameHello FrameType = "hello" // first frame: credentials and resume point
	FrameAck   FrameType = "ack"   // messages handled by the app, cumulative per registration
	FrameState FrameType = "state" // the app went to the foreground or the background
	FramePing  FrameType = "ping"  // heartbeat, every Welcome.PingInterval
)

// Frames sent by the server.
const (
	FrameWelcome      FrameType = "welcome"  // answer to hello
	FrameMessages     FrameType = "messages" // one or more messages, in order
	FrameDeleted      FrameType = "deleted"  // pending messages were dropped (onDeletedMessages)
	FrameTokenRefresh FrameType = "token_refresh"
	FramePong         FrameType = "pong"
	FrameGoAway       FrameType = "goaway" // the server is going away; reconnect later
)

// frameTypeUnknownMax bounds how much of an unknown type an error quotes.
const frameTypeUnknownMax = 32

// WebSocket close codes used by the protocol (4000–4999 is the private range).
const (
	CloseNormal             = 1000
	CloseGoingAway          = 1001 // server shutdown; a goaway frame came first
	CloseBadFrame           = 4000 // a frame could not be decoded or was out of place
	CloseUnauthorized       = 4001 // unknown device or wrong secret: register again
	CloseUnsupportedVersion = 4002
	CloseReplaced           = 4003 // the same device connected again elsewhere
	CloseFrameTooLarge      = 4004
	CloseHeartbeatTimeout   = 4005 // no frame within the read deadline
)

// Priority is a message's delivery priority.
type Priority string

// Priorities, as FCM names them (lower case on the device protocol).
const (
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
)

// AppState is the app's visibility on the device.
type AppState string

// App states.
const (
	Foreground AppState = "foreground"
	Background AppState = "background"
)

// Frame is one protocol frame. Type says which of the other members are set.
type Frame struct {
	Type FrameType `json:"type"`

	Hello        *Hello        `json:"hello,omitempty"`
	Welcome      *Welcome      `json:"welcome,omitempty"`
	Messages     []Message     `json:"messages,omitempty"`
	Acks         []Ack         `json:"acks,omitempty"`
	Deleted      *Deleted      `json:"deleted,omitempty"`
	TokenRefresh *TokenRefresh `json:"token_refresh,omitempty"`
	State        AppState      `json:"state,omitempty"`
	GoAway       *GoAway       `json:"goaway,omitempty"`
}

// Hello opens a session. It must be the first frame on a connection.
type Hello struct {
	Version      int      `json:"v"`
	DeviceID     string   `json:"device_id"`
	DeviceSecret string   `json:"device_secret"`
	State        AppState `json:"state,omitempty"` // default foreground
	// Registrations lists the tokens this device wants messages for, each
	// with the highest sequence the app has already handled (its resume
	// point). The server forgets pending messages at or below it.
	Registrations []Resume `json:"registrations"`
}

// Resume is a registration and the last sequence the device handled for it.
type Resume struct {
	Token string `json:"token"`
	Acked uint64 `json:"acked,omitempty"`
	// TopicAcked is the highest topic log position the app has handled
	// for this registration (see Message.TopicSeq).
	TopicAcked uint64 `json:"tacked,omitempty"`
}

// Welcome answers a valid hello.
type Welcome struct {
	SessionID string `json:"session_id"`
	// PingIntervalMillis is how often the device must send a ping. The
	// server closes a connection that sends nothing for twice this long.
	PingIntervalMillis int64 `json:"ping_interval_ms"`
	// TopicAckMillis is how long the device may hold the acks of topic
	// and condition messages (the topic stream, Ack.TopicSeq) before it
	// sends them; it sends them with its next ping if that comes first.
	// Missing or 0: as the acks of the token stream.
	TopicAckMillis   int64 `json:"topic_ack_ms,omitempty"`
	ServerTimeMillis int64 `json:"server_time_ms"`
	// Registrations reports each token of the hello: "ok", or
	// "unregistered" when the token was deleted or never existed here (the
	// SDK then registers again and reports a new token to the app).
	Registrations []RegistrationStatus `json:"registrations"`
}

// Registration statuses in a welcome frame.
const (
	StatusOK           = "ok"
	StatusUnregistered = "unregistered"
)

// RegistrationStatus is a token's status in a welcome frame.
type RegistrationStatus struct {
	Token  string `json:"token"`
	Status string `json:"status"`
}

// Message is one message as a device receives it.
//
// A message sent to the registration's token has Seq; a message sent to a
// topic or a condition has TopicSeq instead: its position in the project's
// topic log, increasing in delivery order for the registration. The two
// streams are ordered, acknowledged and deduplicated separately.
type Message struct {
	ID       string `json:"id"`             // unique; projects/P/messages/ID on the send API
	Seq      uint64 `json:"seq,omitempty"`  // per-registration sequence (token messages)
	TopicSeq uint64 `json:"tseq,omitempty"` // topic log position (topic and condition messages)
	Token    string `json:"token"`          // the registration it is delivered to
	From     string `json:"from"`           // the sending project
	// Topic or Condition is the target of a topic or condition message.
	Topic     string `json:"topic,omitempty"`
	Condition string `json:"condition,omitempty"`

	SentAtMillis int64    `json:"sent_at_ms"`
	TTLSeconds   int64    `json:"ttl_s"`
	CollapseKey  string   `json:"collapse_key,omitempty"`
	Priority     Priority `json:"priority"`

	Data         map[string]string `json:"data,omitempty"`
	Notification *Notification     `json:"notification,omitempty"`
	// WebPush is set on a message that a Web Push application server
	// posted to one of the registration's push endpoints (RFC 8030): the
	// end-to-end encrypted body, which Herald cannot read. Such a message
	// has no Data or Notification.
	WebPush *WebPush `json:"webpush,omitempty"`

	// Raw is the plaintext of a Web Push message, decrypted by the Go SDK
	// (RFC 8291) before the app's callback runs. It is never on the wire.
	Raw []byte `json:"-"`
}

// WebPush is the encrypted body of a message posted to a push endpoint.
type WebPush struct {
	// EndpointID is the last path segment of the push endpoint the
	// message was posted to: it names the subscription whose private key
	// and auth secret decrypt Body.
	EndpointID string `json:"endpoint_id"`
	// Body is the request body exactly as the application server sent it
	// (Content-Encoding aes128gcm, RFC 8188/8291), unpadded base64url. It
	// is empty for a push without payload (a "tickle").
	Body string `json:"body,omitempty"`
}

// Notification is the user-visible part of a message.
type Notification struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
	Image string `json:"image,omitempty"`
}

// Ack says the app has handled every message of Token up to and including
// Seq, and every topic message up to and including TopicSeq (either may be
// 0: nothing new in that stream).
type Ack struct {
	Token    string `json:"token"`
	Seq      uint64 `json:"seq,omitempty"`
	TopicSeq uint64 `json:"tseq,omitempty"`
}

// Deleted tells the device that Count pending messages of Token were dropped
// (too many pending, as FCM's onDeletedMessages). It takes a place in the
// registration's sequence and is acknowledged like a message.
type Deleted struct {
	Token string `json:"token"`
	Seq   uint64 `json:"seq"`
	Count int    `json:"count"`
}

// TokenRefresh tells the device that Old was replaced by New.
type TokenRefresh struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// GoAway precedes a server-initiated close; the device should reconnect after
// the given delay (spread by the server to avoid a reconnect storm).
type GoAway struct {
	Reason               string `json:"reason"`
	ReconnectAfterMillis int64  `json:"reconnect_after_ms"`
}

// ErrBadFrame is wrapped by every error DecodeFrame returns.
var ErrBadFrame = errors.New("bad frame")

// DecodeFrame parses and checks one frame. Unknown members are refused, as
// are frames whose required members are missing.
func DecodeFrame(b []byte) (Frame, error) {
	var f Frame
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Frame{}, fmt.Errorf("%w: %v", ErrBadFrame, err)
	}
	if dec.More() {
		return Frame{}, fmt.Errorf("%w: trailing data after the JSON object", ErrBadFrame)
	}
	if err := f.Validate(); err != nil {
		return Frame{}, err
	}
	return f, nil
}

// Validate checks that the members required by the frame's type are present.
func (f *Frame) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s frame: %s", ErrBadFrame, f.Type, fmt.Sprintf(format, args...))
	}
	switch f.Type {
	case FrameHello:
		if f.Hello == nil {
			return bad("missing hello")
		}
		if f.Hello.DeviceID == "" || f.Hello.DeviceSecret == "" {
			return bad("device_id and device_secret are required")
		}
		if f.Hello.State != "" && f.Hello.State != Foreground && f.Hello.State != Background {
			return bad("state must be foreground or background, not %q", f.Hello.State)
		}
		for _, r := range f.Hello.Registrations {
			if r.Token == "" {
				return bad("empty registration token")
			}
		}
	case FrameAck:
		if len(f.Acks) == 0 {
			return bad("no acks")
		}
		for _, a := range f.Acks {
			if a.Token == "" || (a.Seq == 0 && a.TopicSeq == 0) {
				return bad("each ack needs a token and a seq or tseq > 0")
			}
		}
	case FrameState:
		if f.State != Foreground && f.State != Background {
			return bad("state must be foreground or background, not %q", f.State)
		}
	case FramePing, FramePong:
	case FrameWelcome:
		if f.Welcome == nil {
			return bad("missing welcome")
		}
	case FrameMessages:
		if len(f.Messages) == 0 {
			return bad("no messages")
		}
		for _, m := range f.Messages {
			if m.ID == "" || m.Token == "" || (m.Seq == 0) == (m.TopicSeq == 0) {
				return bad("each message needs an id, a token and one of seq or tseq > 0")
			}
			if m.TopicSeq != 0 && (m.Topic == "") == (m.Condition == "") {
				return bad("a topic message needs one of topic or condition")
			}
			if m.WebPush != nil && m.WebPush.EndpointID == "" {
				return bad("a webpush message needs its endpoint_id")
			}
		}
	case FrameDeleted:
		if f.Deleted == nil || f.Deleted.Token == "" || f.Deleted.Seq == 0 {
			return bad("needs token and seq")
		}
	case FrameTokenRefresh:
		if f.TokenRefresh == nil || f.TokenRefresh.Old == "" || f.TokenRefresh.New == "" {
			return bad("needs old and new")
		}
	case FrameGoAway:
		if f.GoAway == nil {
			return bad("missing goaway")
		}
	case "":
		return fmt.Errorf("%w: missing type", ErrBadFrame)
	default:
		t := string(f.Type)
		if len(t) > frameTypeUnknownMax {
			t = t[:frameTypeUnknownMax] + "…"
		}
		return fmt.Errorf("%w: unknown type %q", ErrBadFrame, t)
	}
	return nil
}
