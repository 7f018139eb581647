package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// Token lifecycle: last-seen times, the stale-token policy and the grace
// period of refreshed tokens.
//
// A registration's LastSeenAt is set when it is created and touched when a
// session with it starts (hello), at most every touchEvery while the
// device stays connected (on its pings and acks), and when the session
// ends. A registration whose device has not been seen for longer than
// Config.StaleAfter, and is not connected to this node now, is expired: a
// send answers UNREGISTERED and deletes it, and a hello presenting it is
// told it is unregistered.
//
// A token replaced by a refresh stays usable for Config.RefreshGrace: sends
// to it are stored in its replacement's queue.

// touchEvery is how often a connected device's last-seen times are
// recorded. It bounds their error when a node stops without ending its
// sessions (a crash); a clean disconnect records the exact time.
const touchEvery = time.Hour

// maxReplacements bounds how many refreshes a send to an old token follows
// (a token refreshed again within the grace period).
const maxReplacements = 8

// stale reports whether a live registration has expired at now.
// Registrations of the vendor platforms never connect here: their vendor
// says when they are gone (the relay deletes them then).
func (h *Hub) stale(reg store.Registration, now time.Time) bool {
	return h.cfg.StaleAfter > 0 && reg.PlatformOf() == store.PlatformHerald && now.Sub(reg.Seen()) > h.cfg.StaleAfter
}

// expire deletes a stale registration.
func (h *Hub) expire(ctx context.Context, token string, now time.Time) error {
	if err := h.store.DeleteRegistration(ctx, token, now); err != nil {
		return fmt.Errorf("deleting stale registration: %w", err)
	}
	h.detachToken(token)
	h.logger.Info("registration expired: device not seen within the stale-after period", "token", shortToken(token))
	return nil
}

// touch records tokens as seen at now.
func (h *Hub) touch(ctx context.Context, tokens []string, now time.Time) error {
	if len(tokens) == 0 {
		return nil
	}
	start := time.Now()
	err := h.store.TouchRegistrations(ctx, tokens, now)
	h.metrics.StoreSeconds.WithLabelValues("touch").Observe(time.Since(start).Seconds())
	if err != nil {
		return fmt.Errorf("recording last-seen times: %w", err)
	}
	return nil
}

// Lookup returns the live registration that sends to token reach: the
// token's own, or within the refresh grace period the one that replaced
// it. It answers ErrUnregistered for unknown, deleted and stale tokens,
// and changes nothing.
func (h *Hub) Lookup(ctx context.Context, token string) (store.Registration, error) {
	reg, _, err := h.resolve(ctx, token, h.now())
	return reg, err
}

// resolve is Lookup; stale also reports a live registration found stale,
// which the caller may expire (reg is then that registration and err
// ErrUnregistered).
func (h *Hub) resolve(ctx context.Context, token string, now time.Time) (reg store.Registration, stale bool, err error) {
	for range maxReplacements + 1 {
		reg, err = h.store.Registration(ctx, token)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return store.Registration{}, false, ErrUnregistered
		case err != nil:
			return store.Registration{}, false, fmt.Errorf("looking up registration: %w", err)
		case reg.Deleted():
			if reg.ReplacedBy == "" || !now.Before(reg.DeletedAt.Add(h.cfg.RefreshGrace)) {
				return store.Registration{}, false, ErrUnregistered
			}
			token = reg.ReplacedBy
			continue
		case h.stale(reg, now) && h.sessionFor(reg.Token) == nil:
			return reg, true, ErrUnregistered
		}
		return reg, false, nil
	}
	return store.Registration{}, false, ErrUnregistered
}

// shortToken is a token's prefix, for logs.
func shortToken(t string) string {
	if len(t) > 8 {
		return t[:8] + "…"
	}
	return t
}
