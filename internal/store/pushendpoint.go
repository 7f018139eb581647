package store

import (
	"context"
	"time"
)

// Push endpoints (DESIGN.md §5): Herald is also a Web Push push service.
// A device asks for an RFC 8030 push resource for one of its herald
// registrations; any Web Push application server then posts encrypted
// messages to <public URL>/push/<ID>, and they reach the registration's
// queue like any other message.
//
// An endpoint lives as long as its registration: it is never deleted by
// itself, and once its registration is deleted (by the app, by a refresh
// after the grace period, or as stale) the push service answers 410 Gone.
// The store keeps the endpoint record (as it keeps deleted registrations),
// so lookups still find it and the caller checks the registration.

// PushEndpoint is a push resource of a registration.
type PushEndpoint struct {
	// ID is the random, unguessable last segment of the endpoint URL
	// (at least 128 bits, base64url). It is a capability: knowing it is
	// the right to send, so it is never the registration token.
	ID string `json:"id"`
	// Token is the registration the endpoint delivers to.
	Token     string `json:"token"`
	ProjectID string `json:"project_id"`
	// AppServerKey is the application server's VAPID public key (65-byte
	// uncompressed P-256 point) that the subscription is restricted to
	// (RFC 8292 §4); nil for an unrestricted endpoint.
	AppServerKey []byte    `json:"app_server_key,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// PushEndpointStore keeps push endpoints.
type PushEndpointStore interface {
	// CreatePushEndpoint stores e. ErrExists if an endpoint e.ID exists;
	// ErrNotFound if e.Token is not a live (existing, not deleted)
	// registration. Durable.
	CreatePushEndpoint(ctx context.Context, e PushEndpoint) error
	// PushEndpoint returns the endpoint id, also when its registration
	// has been deleted since (the caller checks; see above). ErrNotFound
	// if there is none.
	PushEndpoint(ctx context.Context, id string) (PushEndpoint, error)
}
