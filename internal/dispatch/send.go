package dispatch

import (
	"context"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// ValidateOnlyID is the message ID answered to validate_only requests, as FCM does.
const ValidateOnlyID = "fake_message_id"

// zeroTTLWindow is how long a TTL 0 message ("now or never") may wait in a
// connected device's queue before it counts as never.
const zeroTTLWindow = time.Second

// Outgoing is a message to one registration, as the send API accepted it.
type Outgoing struct {
	ProjectID    string
	Token        string
	TTL          time.Duration
	CollapseKey  string
	High         bool
	Body         Body
	Platform     []byte // platform blocks (store.Message.Platform): stored, not sent to Herald devices
	ValidateOnly bool
}

// Send checks the target, stores the message durably and hands it to the
// device's session if it is connected. It returns the message ID once the
// message is on disk. A TTL 0 message for a device that is not connected is
// answered but not stored: now or never. A token replaced by a refresh
// within the grace period reaches its replacement; a stale token is
// deleted (unless ValidateOnly) and answers ErrUnregistered.
func (h *Hub) Send(ctx context.Context, o Outgoing) (string, error) {
	now := h.now()
	reg, stale, err := h.resolve(ctx, o.Token, now)
	switch {
	case stale && reg.ProjectID != o.ProjectID:
		return "", ErrSenderIDMismatch
	case stale && !o.ValidateOnly:
		if err := h.expire(ctx, reg.Token, now); err != nil {
			return "", err
		}
		return "", ErrUnregistered
	case err != nil:
		return "", err
	case reg.ProjectID != o.ProjectID:
		return "", ErrSenderIDMismatch
	}
	token := reg.Token // the replacement of a refreshed token
	if o.ValidateOnly {
		return ValidateOnlyID, nil
	}
	// Backpressure before the rate limit, so that a send refused for
	// overload takes nothing from the device's limit.
	if err := h.cfg.Limiter.Acquire(); err != nil {
		return "", err
	}
	h.metrics.SendsInFlight.Inc()
	defer func() {
		h.metrics.SendsInFlight.Dec()
		h.cfg.Limiter.Release()
	}()
	if err := h.cfg.Limiter.Device(reg.Token); err != nil {
		return "", err
	}
	payload, err := EncodeBody(o.Body)
	if err != nil {
		return "", fmt.Errorf("encoding message body: %w", err)
	}
	id := h.newID()
	expires := now.Add(o.TTL)
	vendor := reg.PlatformOf() != store.PlatformHerald
	if o.TTL == 0 {
		// A vendor registration's TTL 0 message goes to the vendor at once,
		// which applies its own "now or never".
		if !vendor && h.sessionFor(token) == nil {
			h.metrics.Fates.WithLabelValues("ttl_zero_offline").Inc()
			return id, nil
		}
		expires = now.Add(zeroTTLWindow)
	}
	m := store.Message{
		Token: token, ID: id, ProjectID: o.ProjectID,
		AcceptedAt: now, ExpiresAt: expires, TTL: o.TTL,
		CollapseKey: o.CollapseKey, High: o.High, Payload: payload,
		Platform: o.Platform,
	}
	start := time.Now()
	outs, err := h.store.Enqueue(ctx, []store.Message{m})
	h.metrics.StoreSeconds.WithLabelValues("enqueue").Observe(time.Since(start).Seconds())
	if err != nil {
		return "", fmt.Errorf("storing message: %w", err)
	}
	out := outs[0]
	h.metrics.Fates.WithLabelValues("collapsed").Add(float64(len(out.Collapsed)))
	h.metrics.Fates.WithLabelValues("dropped").Add(float64(out.Dropped))
	if out.Marker != nil {
		h.notify(out.Marker)
	}
	m.Seq = out.Seq
	if vendor {
		h.cfg.Relay.Notify(reg.PlatformOf(), token)
		return id, nil
	}
	h.notify(&m)
	return id, nil
}
