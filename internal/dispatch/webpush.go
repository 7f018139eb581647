package dispatch

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/store"
)

// Herald as a Web Push push service (DESIGN.md §5): a device creates push
// endpoints for its herald registrations; what application servers post
// to them is queued for the registration as a message whose payload is
// the encrypted body (Body.WebPush), stored and delivered like any other.

// Errors of the push endpoints.
var (
	// ErrUnknownEndpoint: no push endpoint has this ID.
	ErrUnknownEndpoint = errors.New("unknown push endpoint")
	// ErrNotHeraldPlatform: push endpoints deliver over Herald's own
	// connection; the registration is of a vendor platform.
	ErrNotHeraldPlatform = errors.New("registration is not of the herald platform")
)

// endpointIDBytes is the entropy of a push endpoint ID: 160 bits, as the
// UnifiedPush specification recommends (RFC 8030 §8 asks for at least 120).
const endpointIDBytes = 20

// webPushMember starts the payload of a Web Push message (EncodeBody of a
// Body with only WebPush set).
const webPushMember = `"webpush":`

// isWebPush reports whether a stored payload is a Web Push message's.
func isWebPush(payload []byte) bool {
	return len(payload) >= len(webPushMember) && string(payload[:len(webPushMember)]) == webPushMember
}

// CreatePushEndpoint creates a push endpoint for a live herald
// registration of the device. appServerKey, if not nil, restricts it to
// the application server with that VAPID public key (the caller checked
// that it is a P-256 point).
func (h *Hub) CreatePushEndpoint(ctx context.Context, cred herald.DeviceCredential, token string, appServerKey []byte) (store.PushEndpoint, error) {
	reg, err := h.ownRegistration(ctx, cred, token)
	if err != nil {
		return store.PushEndpoint{}, err
	}
	if reg.PlatformOf() != store.PlatformHerald {
		return store.PushEndpoint{}, ErrNotHeraldPlatform
	}
	id := make([]byte, endpointIDBytes)
	rand.Read(id) // never fails (crypto/rand, Go 1.24+)
	e := store.PushEndpoint{
		ID:           base64.RawURLEncoding.EncodeToString(id),
		Token:        reg.Token,
		ProjectID:    reg.ProjectID,
		AppServerKey: appServerKey,
		CreatedAt:    h.now().UTC(),
	}
	switch err := h.store.CreatePushEndpoint(ctx, e); {
	case errors.Is(err, store.ErrNotFound):
		return store.PushEndpoint{}, ErrUnregistered // deleted meanwhile
	case err != nil:
		return store.PushEndpoint{}, fmt.Errorf("creating push endpoint: %w", err)
	}
	return e, nil
}

// PushEndpoint returns the push endpoint id, or ErrUnknownEndpoint. The
// endpoint's registration may be gone since: SendWebPush tells.
func (h *Hub) PushEndpoint(ctx context.Context, id string) (store.PushEndpoint, error) {
	e, err := h.store.PushEndpoint(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.PushEndpoint{}, ErrUnknownEndpoint
	case err != nil:
		return store.PushEndpoint{}, fmt.Errorf("looking up push endpoint: %w", err)
	}
	return e, nil
}

// PushMessage is a message posted to a push endpoint, its headers checked.
type PushMessage struct {
	Endpoint store.PushEndpoint
	// Body is the aes128gcm request body, opaque here; empty for a push
	// without payload.
	Body []byte
	TTL  time.Duration
	// Topic, if set, replaces an undelivered message with the same Topic
	// posted to the same endpoint (RFC 8030 §5.4).
	Topic string
	High  bool
}

// SendWebPush queues a push message for the endpoint's registration
// through Send: the same checks (a deleted or stale registration answers
// ErrUnregistered), per-device rate limit, durability, TTL 0 rule and
// delivery. It returns the message ID once the message is on disk.
func (h *Hub) SendWebPush(ctx context.Context, p PushMessage) (string, error) {
	var collapse string
	if p.Topic != "" {
		collapse = WebPushCollapseKey(p.Endpoint.ID, p.Topic)
	}
	return h.Send(ctx, Outgoing{
		ProjectID:   p.Endpoint.ProjectID,
		Token:       p.Endpoint.Token,
		TTL:         p.TTL,
		CollapseKey: collapse,
		High:        p.High,
		Body: Body{WebPush: &herald.WebPush{
			EndpointID: p.Endpoint.ID,
			Body:       base64.RawURLEncoding.EncodeToString(p.Body),
		}},
	})
}

// WebPushCollapseKey is the collapse key of a push message with a Topic:
// replacement is per endpoint (RFC 8030 §5.4), so the key names the
// endpoint, by a hash, since its ID is a capability and collapse keys are
// visible to operators. The "webpush:" prefix keeps it apart from the
// collapse keys of FCM sends to the same registration.
func WebPushCollapseKey(endpointID, topic string) string {
	sum := sha256.Sum256([]byte(endpointID))
	return "webpush:" + hex.EncodeToString(sum[:8]) + ":" + topic
}

// Now is the hub's clock (Config.Now), for the surfaces that check times
// against it, such as VAPID expiry.
func (h *Hub) Now() time.Time { return h.now() }
