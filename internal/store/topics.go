package store

import (
	"context"
	"errors"
	"time"
)

// Topics (DESIGN.md §4): a message to a topic or a condition is written
// once, to its project's topic log, never copied per subscriber. Each
// registration has subscriptions (topic → the log position when it was
// made) and one cursor in its project's log: the position up to which its
// device has handled the log. Connected devices get new entries from the
// dispatcher's in-memory index; a device that was away catches up by
// reading the log after its cursor, keeping the entries that match its
// subscriptions as they were at each entry's position.

// MaxTopicsPerRegistration is FCM's limit of topics per app instance.
const MaxTopicsPerRegistration = 2000

// ErrTooManyTopics is returned when a subscription would exceed
// MaxTopicsPerRegistration.
var ErrTooManyTopics = errors.New("too many topics for this registration")

// Subscription is a registration's subscription to a topic.
type Subscription struct {
	Token string `json:"token"`
	Topic string `json:"topic"`
	// Since is the project's topic log head when the subscription was
	// made: only entries after it are for this subscriber.
	Since     uint64    `json:"since"`
	CreatedAt time.Time `json:"created_at"`
}

// TopicMessage is one entry of a project's topic log.
type TopicMessage struct {
	ProjectID string `json:"project_id"`
	// Seq is the entry's position in the project's log: 1, 2, 3…,
	// assigned by AppendTopic in commit order, never reused (not even
	// after a crash, as Enqueue's sequences).
	Seq uint64 `json:"seq"`
	// Exactly one of Topic and Condition is set.
	Topic     string `json:"topic,omitempty"`
	Condition string `json:"condition,omitempty"`

	ID          string        `json:"id"`
	AcceptedAt  time.Time     `json:"accepted_at"`
	ExpiresAt   time.Time     `json:"expires_at"`
	TTL         time.Duration `json:"ttl"`
	CollapseKey string        `json:"collapse_key,omitempty"`
	High        bool          `json:"high,omitempty"`
	Payload     []byte        `json:"payload,omitempty"`  // as Message.Payload
	Platform    []byte        `json:"platform,omitempty"` // as Message.Platform
	// Targeted is how many subscribers the entry matched when it was
	// sent; AppendTopic writes it into the entry's status record. A
	// negative value means the sender did not count them.
	Targeted int64 `json:"targeted,omitempty"`
}

// TopicStore is the topic part of the storage contract. Every method is
// safe for concurrent use; writes are durable when they return unless the
// method says otherwise.
type TopicStore interface {
	// Subscribe subscribes a live registration to topics (names already
	// validated by the caller). created[i] reports whether topics[i] was
	// new (false: already subscribed, nothing changed). New subscriptions
	// get Since = the project's current log head, and a registration
	// without a cursor gets its cursor set to that head. ErrNotFound for
	// a missing or deleted registration; ErrTooManyTopics (nothing
	// written) if the registration would exceed MaxTopicsPerRegistration.
	Subscribe(ctx context.Context, token string, topics []string, at time.Time) (created []bool, err error)
	// Unsubscribe removes subscriptions; existed[i] reports whether
	// topics[i] was subscribed. ErrNotFound for a missing registration.
	Unsubscribe(ctx context.Context, token string, topics []string) (existed []bool, err error)
	// Subscriptions lists a registration's subscriptions, by topic name.
	Subscriptions(ctx context.Context, token string) ([]Subscription, error)
	// TopicSubscribers lists the subscriptions to a topic of a project
	// whose token sorts after `after`, at most limit (<= 0: all), by
	// token, and the total number of subscribers.
	TopicSubscribers(ctx context.Context, projectID, topic, after string, limit int) (subs []Subscription, total int, err error)

	// AppendTopic appends entries to their projects' logs, assigning each
	// its Seq; it returns them after the write is durable. Concurrent
	// calls are ordered as Enqueue's.
	AppendTopic(ctx context.Context, msgs []TopicMessage) ([]uint64, error)
	// TopicLog returns up to limit entries of a project's log with Seq >
	// after, in order, skipping entries expired at now, and the log's head
	// (the highest Seq ever assigned in the project).
	TopicLog(ctx context.Context, projectID string, after uint64, now time.Time, limit int) (msgs []TopicMessage, head uint64, err error)
	// TopicCursor returns a registration's cursor (0 if it has none).
	TopicCursor(ctx context.Context, token string) (uint64, error)
	// AckTopic moves a registration's cursor forward to upTo (never
	// back). A registration without a cursor (it never subscribed, or it
	// was deleted) is skipped. Like Ack it need not be durable before
	// returning.
	AckTopic(ctx context.Context, token string, upTo uint64) error
	// AckTopics is AckTopic for many registrations in one write: each
	// token's cursor moves forward to its value.
	AckTopics(ctx context.Context, acks map[string]uint64) error
	// PurgeTopicLog removes log entries expired at or before now, at most
	// limit, and returns how many it removed.
	PurgeTopicLog(ctx context.Context, now time.Time, limit int) (int, error)
}
