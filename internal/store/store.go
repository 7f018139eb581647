// Package store defines Herald's storage contract: projects, apps,
// service-account keys, devices, registrations and the per-registration
// message queue with FCM's delivery rules (sequence, TTL, collapse, pending
// limit). Implementations live one level below (pebblestore; pgstore comes
// with the cluster) and must pass storetest.Run.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Implementations wrap them; callers test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrClosed   = errors.New("store closed")
)

// Project is a tenant: apps, keys and registrations belong to one project.
type Project struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
}

// App is an app of a project. Key is public (like Firebase's API key): it
// lets an app installation register, nothing more.
type App struct {
	Key       string    `json:"key"`
	ProjectID string    `json:"project_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Key is a service-account key: the public half of the RSA key whose private
// half the app server holds in its service-account JSON.
type Key struct {
	ID           string    `json:"id"` // private_key_id, the JWT "kid"
	ProjectID    string    `json:"project_id"`
	ClientEmail  string    `json:"client_email"`
	PublicKeyPEM string    `json:"public_key_pem"`
	CreatedAt    time.Time `json:"created_at"`
	Revoked      bool      `json:"revoked"`
}

// Device is one installation of Herald's connection on a device (one
// connection serves all of its registrations).
type Device struct {
	ID         string    `json:"id"`
	SecretHash []byte    `json:"secret_hash"` // SHA-256 of the secret
	CreatedAt  time.Time `json:"created_at"`
}

// Registration ties a token to an app of a project on a device.
type Registration struct {
	Token     string    `json:"token"`
	ProjectID string    `json:"project_id"`
	AppKey    string    `json:"app_key"`
	DeviceID  string    `json:"device_id"`
	CreatedAt time.Time `json:"created_at"`
	// LastSeenAt is when the device was last known to be connected with
	// this token (set at registration, refreshed by TouchRegistrations).
	// Zero in records written before it existed: CreatedAt stands in.
	LastSeenAt time.Time `json:"last_seen_at,omitzero"`
	// DeletedAt is set once the token is deleted (by the app or replaced by
	// a refresh); sends to it answer UNREGISTERED.
	DeletedAt time.Time `json:"deleted_at,omitzero"`
	// ReplacedBy is the token that replaced this one (ReplaceRegistration);
	// empty unless the registration was deleted by a refresh.
	ReplacedBy string `json:"replaced_by,omitempty"`

	// Platform is how the registration's messages travel (platform.go):
	// "" or PlatformHerald for Herald's own connection, or one of the
	// vendor platforms, whose address is in the matching field below.
	Platform string               `json:"platform,omitempty"`
	WebPush  *WebPushSubscription `json:"webpush,omitempty"`
	APNs     *APNsDevice          `json:"apns,omitempty"`
	FCM      *FCMDevice           `json:"fcm,omitempty"`
}

// Deleted reports whether the registration was deleted.
func (r Registration) Deleted() bool { return !r.DeletedAt.IsZero() }

// Seen returns when the device was last seen with this token: LastSeenAt,
// or CreatedAt for records that predate it.
func (r Registration) Seen() time.Time {
	if r.LastSeenAt.IsZero() {
		return r.CreatedAt
	}
	return r.LastSeenAt
}

// Kind says what a queue entry is.
type Kind uint8

// Queue entry kinds.
const (
	KindMessage Kind = iota // a message for the app
	KindDeleted             // marker: Dropped messages were dropped before it
)

// Message is one queue entry of a registration.
type Message struct {
	Token string `json:"token"`
	Seq   uint64 `json:"seq"` // assigned by Enqueue: 1, 2, 3… per registration
	Kind  Kind   `json:"kind,omitempty"`

	ID          string        `json:"id,omitempty"` // globally unique message ID
	ProjectID   string        `json:"project_id,omitempty"`
	AcceptedAt  time.Time     `json:"accepted_at"`
	ExpiresAt   time.Time     `json:"expires_at"` // AcceptedAt + TTL
	TTL         time.Duration `json:"ttl"`
	CollapseKey string        `json:"collapse_key,omitempty"`
	High        bool          `json:"high,omitempty"` // high priority
	// Payload is the message body as the device will receive it (data,
	// notification); opaque to the store.
	Payload []byte `json:"payload,omitempty"`
	// Platform is the message's platform blocks as normalised JSON,
	// {"android":{…},"apns":{…},"webpush":{…},"fcm_options":{…}} with only
	// the members present (see fcm.Message.Platform), kept for the
	// providers of other platforms; nil when there are none. Opaque to the
	// store, which keeps it as it keeps Payload.
	Platform []byte `json:"platform,omitempty"`

	Dropped int `json:"dropped,omitempty"` // KindDeleted: how many were dropped
}

// Outcome is what Enqueue did with one message.
type Outcome struct {
	Seq uint64 // the sequence it was given
	// Collapsed lists the sequences of pending messages it replaced (same
	// collapse key, or the oldest collapse key when a fifth one arrived).
	Collapsed []uint64
	// Dropped is how many pending messages were dropped because the
	// pending limit was reached; Marker is then the KindDeleted entry
	// written just before this message.
	Dropped int
	Marker  *Message
}

// Limits are the queue rules Enqueue applies.
type Limits struct {
	// MaxPending is the most non-collapsible messages pending per
	// registration. When one more arrives, all pending non-collapsible
	// messages are dropped and a KindDeleted marker takes their place.
	// Default 100 (FCM).
	MaxPending int
	// MaxCollapseKeys is the most distinct collapse keys pending per
	// registration; a new key beyond it replaces the oldest. Default 4.
	MaxCollapseKeys int
}

// DefaultLimits are FCM's.
var DefaultLimits = Limits{MaxPending: 100, MaxCollapseKeys: 4}

// Store is the storage contract. Every method is safe for concurrent use.
// Writes that return without error are durable (fsync'd, group commit
// allowed) unless the method says otherwise.
type Store interface {
	TopicStore
	PushEndpointStore
	StatusStore
	CredentialStore

	CreateProject(ctx context.Context, p Project) error // ErrExists
	Project(ctx context.Context, id string) (Project, error)
	Projects(ctx context.Context) ([]Project, error)

	CreateApp(ctx context.Context, a App) error // ErrNotFound for a missing project
	App(ctx context.Context, key string) (App, error)
	Apps(ctx context.Context, projectID string) ([]App, error)

	CreateKey(ctx context.Context, k Key) error
	Key(ctx context.Context, id string) (Key, error)
	Keys(ctx context.Context, projectID string) ([]Key, error)
	RevokeKey(ctx context.Context, id string) error

	CreateDevice(ctx context.Context, d Device) error
	Device(ctx context.Context, id string) (Device, error)

	CreateRegistration(ctx context.Context, r Registration) error
	// Registration returns a registration, deleted ones included.
	Registration(ctx context.Context, token string) (Registration, error)
	// DeviceRegistrations lists a device's live (not deleted) registrations.
	DeviceRegistrations(ctx context.Context, deviceID string) ([]Registration, error)
	// DeleteRegistration marks the registration deleted at `at` and drops
	// its pending messages; its last sequence is kept. Its topic
	// subscriptions (counted out of their topics) and its topic cursor are
	// deleted in the same write. Deleting a deleted
	// registration is not an error and keeps the first DeletedAt; deleting
	// one that never existed is ErrNotFound.
	DeleteRegistration(ctx context.Context, token string, at time.Time) error
	// ReplaceRegistration atomically creates r and deletes the live
	// registration oldToken as DeleteRegistration does, recording
	// r.Token as its ReplacedBy; oldToken's topic subscriptions (with
	// their Since and CreatedAt) and topic cursor move to r.Token, unless
	// r is of another project. ErrNotFound if oldToken does not exist
	// or is already deleted; ErrExists if r.Token exists. Durable.
	ReplaceRegistration(ctx context.Context, oldToken string, r Registration, at time.Time) error
	// TouchRegistrations records that the devices of the given
	// registrations were connected at `at`: LastSeenAt becomes `at`
	// unless it is already later. Unknown and deleted tokens are skipped
	// without error. Touches need not be durable before returning (they
	// must be visible to Registration): a lost touch only makes a device
	// look idle since its previous one.
	TouchRegistrations(ctx context.Context, tokens []string, at time.Time) error
	// VendorRegistrations lists live registrations of the vendor platforms
	// (any but PlatformHerald) in token order, those with a token greater
	// than after, at most limit (<= 0: no limit). The relay resumes their
	// queues at start.
	VendorRegistrations(ctx context.Context, after string, limit int) ([]Registration, error)

	// Enqueue appends messages to their registrations' queues, in slice
	// order, assigns each its sequence and applies collapse and the pending
	// limit. It returns one Outcome per message, after the write is
	// durable. A sequence is never given twice for a token, not even after
	// a crash that lost entries readers had already seen (a device may
	// have received them): implementations move past every sequence the
	// crashed run could have handed out. Concurrent Enqueue calls are
	// ordered: a message whose call returned first has the lower sequence.
	// It does not check that the registration exists; the caller does.
	Enqueue(ctx context.Context, msgs []Message) ([]Outcome, error)
	// Pending returns up to limit entries of a registration with Seq >
	// after, in sequence order, skipping entries expired at `now` (an entry
	// is expired when ExpiresAt <= now; a zero ExpiresAt never expires).
	// lastSeq is the highest sequence ever assigned to the registration (0
	// if none). A limit <= 0 means no limit. Acked entries are never
	// returned once Ack has returned.
	Pending(ctx context.Context, token string, after uint64, now time.Time, limit int) (msgs []Message, lastSeq uint64, err error)
	// Ack removes the registration's entries with Seq <= upTo. Acks need
	// not be durable before returning (they must be visible to Pending):
	// a lost ack means a redelivery, which the client SDK drops as a
	// duplicate.
	Ack(ctx context.Context, token string, upTo uint64) error
	// PurgeExpired removes entries that expired at or before now and
	// returns them (Payload and Platform omitted) so the caller can record
	// their fate.
	PurgeExpired(ctx context.Context, now time.Time, limit int) ([]Message, error)

	Close() error
}
