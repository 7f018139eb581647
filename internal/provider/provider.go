// Package provider is the contract between Herald's dispatcher and the
// vendors' push channels (DESIGN.md §5): Web Push, APNs and FCM. A provider
// turns one stored message into one request to the vendor, for one
// registration, with its project's credentials, and says how it went in
// the contract's error vocabulary. Implementations live one level below
// (webpush, apns, fcm) and pass providertest.Run against a local server
// that speaks the vendor's protocol.
package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// Sentinel errors. A provider's error wraps exactly one of them, or is a
// *RetryError; anything else counts as a failure of this one message.
var (
	// ErrUnregistered: the vendor says the device address is gone for good
	// (APNs 410 Unregistered, 400 BadDeviceToken; FCM UNREGISTERED; Web
	// Push 404/410). The dispatcher deletes the registration.
	ErrUnregistered = errors.New("provider: device address no longer valid")
	// ErrCredentials: the project's credentials are missing or refused by
	// the vendor (APNs 403 InvalidProviderToken, FCM 401/403, Web Push
	// VAPID refused). Nothing is wrong with the registration.
	ErrCredentials = errors.New("provider: credentials missing or refused")
	// ErrRejected: the vendor refused this message for good (bad payload,
	// too large, bad topic): retrying cannot help.
	ErrRejected = errors.New("provider: message rejected")
)

// RetryError is a transient failure (429, 5xx, network): try again after
// After (0: the caller's backoff decides).
type RetryError struct {
	After time.Duration
	Err   error
}

func (e *RetryError) Error() string {
	if e.After > 0 {
		return fmt.Sprintf("provider: retry after %s: %v", e.After, e.Err)
	}
	return fmt.Sprintf("provider: retry: %v", e.Err)
}

func (e *RetryError) Unwrap() error { return e.Err }

// Message is what a provider needs of a stored message.
type Message struct {
	ID          string
	ProjectID   string
	AcceptedAt  time.Time
	ExpiresAt   time.Time // the vendor's expiry (APNs apns-expiration, Web Push TTL = ExpiresAt - now)
	TTL         time.Duration
	CollapseKey string
	High        bool
	// Payload is the app's part as stored (store.Message.Payload): the JSON
	// members "data" and "notification" without enclosing braces.
	Payload []byte
	// Platform is the message's platform blocks (store.Message.Platform):
	// {"android":…,"apns":…,"webpush":…,"fcm_options":…} members present.
	Platform []byte
}

// Provider delivers messages to the registrations of one platform.
type Provider interface {
	// Platform names the platform served (store.PlatformWebPush, …).
	Platform() string
	// Send delivers m to the registration (its WebPush, APNs or FCM field
	// holds the address) with its project's credentials. A nil error means
	// the vendor accepted the message.
	Send(ctx context.Context, creds store.Credentials, to store.Registration, m Message) error
}
