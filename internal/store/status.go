package store

import (
	"context"
	"time"
)

// Message status (DESIGN.md §2 "Status"): every accepted message has a
// status record, readable by the app server that sent it.
//
// A token message moves from StateAccepted to one end state: delivered
// (acked by a Herald device, or accepted by the vendor for a registration
// of another platform), collapsed, dropped (pending limit), failed (the
// vendor refused it for good; or its registration token was replaced
// while it was pending: ReplaceRegistration writes that in its batch) or
// expired. DeleteRegistration leaves the status of what it drops to its
// caller (the relay records the vendor's reason), else it expires. Expiry is not written: a record
// still StateAccepted at or after ExpiresAt reads as StateExpired
// (Status.At).
//
// A topic or condition message counts: Targeted (subscribers matching it
// when it was sent), Delivered (acks so far). Pending and expired follow
// from them and the clock (Status.Counts).

// State is a message's state.
type State string

// Message states.
const (
	StateAccepted  State = "accepted"
	StateDelivered State = "delivered"
	StateExpired   State = "expired"
	StateCollapsed State = "collapsed"
	StateDropped   State = "dropped"
	StateFailed    State = "failed"
)

// Status is one message's status record.
type Status struct {
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`
	// Exactly one target: Token for a token message, Topic or Condition
	// for a topic-log message.
	Token     string `json:"token,omitempty"`
	Topic     string `json:"topic,omitempty"`
	Condition string `json:"condition,omitempty"`

	AcceptedAt time.Time `json:"accepted_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	// UpdatedAt is when State (or Delivered) last changed.
	UpdatedAt time.Time `json:"updated_at"`
	// State is the token message's state as written (never StateExpired:
	// use At). Topic messages stay StateAccepted.
	State State `json:"state"`
	// Reason says why a message failed or was dropped, for people.
	Reason string `json:"reason,omitempty"`

	// Targeted is negative when it was not counted (see
	// TopicMessage.Targeted).
	Targeted  int64 `json:"targeted,omitempty"`  // topic messages
	Delivered int64 `json:"delivered,omitempty"` // topic messages
}

// At returns the token message's state at now: StateExpired for an
// accepted message past its expiry.
func (s Status) At(now time.Time) State {
	if s.State == StateAccepted && !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt) {
		return StateExpired
	}
	return s.State
}

// Counts returns a topic message's pending and expired counts at now:
// subscribers targeted and not yet delivered are pending until the
// message expires, expired after. Both are 0 when Targeted was not
// counted.
func (s Status) Counts(now time.Time) (pending, expired int64) {
	rest := max(s.Targeted-s.Delivered, 0)
	if !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt) {
		return 0, rest
	}
	return rest, 0
}

// StatusUpdate changes a token message's state.
type StatusUpdate struct {
	ID     string
	State  State
	Reason string
}

// StatusStore keeps message status records. Enqueue writes a
// StateAccepted record for every message it stores and marks the
// messages it collapses or drops in the same write; AppendTopic writes one
// for every log entry with TopicMessage.Targeted.
type StatusStore interface {
	// MessageStatus returns a message's status; ErrNotFound for an
	// unknown (or purged) ID.
	MessageStatus(ctx context.Context, id string) (Status, error)
	// UpdateStatus records end states of token messages at `at`. Unknown
	// IDs are skipped; a record already in an end state keeps it. Need not
	// be durable before returning (like Ack).
	UpdateStatus(ctx context.Context, updates []StatusUpdate, at time.Time) error
	// AddDelivered adds deliveries to topic messages' Delivered counts
	// (message ID → count). Unknown IDs are skipped. Need not be durable
	// before returning.
	AddDelivered(ctx context.Context, counts map[string]int64, at time.Time) error
	// PurgeStatus removes records whose message ended (reached an end
	// state, or expired) before `before`, at most limit; it returns how
	// many. An expired token message may count as ended only once
	// PurgeExpired removed it from its queue (Hub.Purge calls both).
	PurgeStatus(ctx context.Context, before time.Time, limit int) (int, error)
}
