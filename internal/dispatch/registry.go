package dispatch

import (
	"context"
	"errors"
	"fmt"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/auth"
	"github.com/heraldpush/herald/internal/store"
)

// Token and secret sizes: 256 bits for registration tokens and device
// secrets, 128 bits for device IDs.
const (
	tokenBytes    = 32
	secretBytes   = 32
	deviceIDBytes = 16
)

// Address is where a registration's messages travel: the zero value for
// Herald's own connection, or a vendor platform (store.PlatformWebPush,
// PlatformAPNs, PlatformFCM) and the device's address there. The caller
// validates it; the store refuses a platform without its address.
type Address struct {
	Platform string
	WebPush  *store.WebPushSubscription
	APNs     *store.APNsDevice
	FCM      *store.FCMDevice
}

// Register creates a registration token for an app on a device. With a nil
// credential a new device is created and its credential returned (once).
// If the device is connected, its session starts serving the new token.
func (h *Hub) Register(ctx context.Context, appKey string, cred *herald.DeviceCredential) (herald.RegisterResponse, error) {
	return h.RegisterAt(ctx, appKey, cred, Address{})
}

// RegisterAt is Register for a registration of any platform: the token's
// messages travel as addr says (a vendor platform's through the relay).
func (h *Hub) RegisterAt(ctx context.Context, appKey string, cred *herald.DeviceCredential, addr Address) (herald.RegisterResponse, error) {
	app, err := h.store.App(ctx, appKey)
	if errors.Is(err, store.ErrNotFound) {
		return herald.RegisterResponse{}, ErrUnknownApp
	} else if err != nil {
		return herald.RegisterResponse{}, fmt.Errorf("looking up app: %w", err)
	}
	var resp herald.RegisterResponse
	if cred == nil {
		cred = &herald.DeviceCredential{ID: auth.RandomToken(deviceIDBytes), Secret: auth.RandomToken(secretBytes)}
		d := store.Device{ID: cred.ID, SecretHash: auth.HashSecret(cred.Secret), CreatedAt: h.now()}
		if err := h.store.CreateDevice(ctx, d); err != nil {
			return herald.RegisterResponse{}, fmt.Errorf("creating device: %w", err)
		}
		resp.Device = cred
	} else if err := h.checkDevice(ctx, cred.ID, cred.Secret); err != nil {
		return herald.RegisterResponse{}, err
	}
	now := h.now()
	reg := store.Registration{
		Token: auth.RandomToken(tokenBytes), ProjectID: app.ProjectID, AppKey: app.Key,
		DeviceID: cred.ID, CreatedAt: now, LastSeenAt: now,
	}
	addr.to(&reg)
	if err := h.store.CreateRegistration(ctx, reg); err != nil {
		return herald.RegisterResponse{}, fmt.Errorf("creating registration: %w", err)
	}
	if reg.PlatformOf() == store.PlatformHerald {
		h.attachToken(ctx, cred.ID, reg.Token, reg.ProjectID)
	}
	resp.Token, resp.ProjectID = reg.Token, reg.ProjectID
	return resp, nil
}

// Refresh replaces a token of the device by a new one for the same app, in
// one durable step. The old token's pending messages are dropped; sends to
// it during the refresh grace period are stored for the new token, later
// ones answer UNREGISTERED. A connected device gets a token_refresh frame.
func (h *Hub) Refresh(ctx context.Context, cred herald.DeviceCredential, token string) (herald.RegisterResponse, error) {
	old, err := h.ownRegistration(ctx, cred, token)
	if err != nil {
		return herald.RegisterResponse{}, err
	}
	now := h.now()
	reg := store.Registration{
		Token: auth.RandomToken(tokenBytes), ProjectID: old.ProjectID, AppKey: old.AppKey,
		DeviceID: old.DeviceID, CreatedAt: now, LastSeenAt: now,
		Platform: old.Platform, WebPush: old.WebPush, APNs: old.APNs, FCM: old.FCM,
	}
	err = h.store.ReplaceRegistration(ctx, token, reg, now)
	if errors.Is(err, store.ErrNotFound) {
		return herald.RegisterResponse{}, ErrUnregistered // deleted meanwhile
	} else if err != nil {
		return herald.RegisterResponse{}, fmt.Errorf("replacing registration: %w", err)
	}
	h.detachToken(token)
	if reg.PlatformOf() != store.PlatformHerald {
		// The subscriptions moved to the new token.
		for _, t := range []string{token, reg.Token} {
			if err := h.cfg.Relay.TopicsChanged(ctx, t); err != nil {
				h.logger.Error("updating the relay's topic subscribers", "token", shortToken(t), "err", err)
			}
		}
		return herald.RegisterResponse{Token: reg.Token, ProjectID: reg.ProjectID}, nil
	}
	if s := h.attachToken(ctx, cred.ID, reg.Token, reg.ProjectID); s != nil {
		s.send(encodeFrame(herald.Frame{Type: herald.FrameTokenRefresh, TokenRefresh: &herald.TokenRefresh{Old: token, New: reg.Token}}))
	}
	return herald.RegisterResponse{Token: reg.Token, ProjectID: reg.ProjectID}, nil
}

// Delete deletes a token of the device; later sends answer UNREGISTERED.
func (h *Hub) Delete(ctx context.Context, cred herald.DeviceCredential, token string) error {
	if _, err := h.ownRegistration(ctx, cred, token); err != nil {
		return err
	}
	if err := h.store.DeleteRegistration(ctx, token, h.now()); err != nil {
		return fmt.Errorf("deleting registration: %w", err)
	}
	h.detachToken(token)
	return nil
}

// to writes the address into a registration.
func (a Address) to(r *store.Registration) {
	if a.Platform != store.PlatformHerald {
		r.Platform = a.Platform
	}
	r.WebPush, r.APNs, r.FCM = a.WebPush, a.APNs, a.FCM
}

func (h *Hub) ownRegistration(ctx context.Context, cred herald.DeviceCredential, token string) (store.Registration, error) {
	if err := h.checkDevice(ctx, cred.ID, cred.Secret); err != nil {
		return store.Registration{}, err
	}
	reg, err := h.store.Registration(ctx, token)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Registration{}, ErrUnregistered
	case err != nil:
		return store.Registration{}, fmt.Errorf("looking up registration: %w", err)
	case reg.DeviceID != cred.ID:
		return store.Registration{}, ErrNotYourToken
	case reg.Deleted():
		return store.Registration{}, ErrUnregistered
	}
	return reg, nil
}

func (h *Hub) checkDevice(ctx context.Context, id, secret string) error {
	d, err := h.store.Device(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrUnauthorized
	} else if err != nil {
		return fmt.Errorf("looking up device: %w", err)
	}
	if !auth.CheckSecret(secret, d.SecretHash) {
		return ErrUnauthorized
	}
	return nil
}

// attachToken makes the device's live session, if any, serve token (and
// its topics: a refreshed token keeps the subscriptions of the old one).
func (h *Hub) attachToken(ctx context.Context, deviceID, token, project string) *Session {
	h.mu.Lock()
	s := h.byDevice[deviceID]
	if s != nil {
		h.byToken[token] = s
	}
	h.mu.Unlock()
	if s == nil {
		return nil
	}
	s.addReg(token, project, 0)
	if cursor, on, err := h.loadTopics(ctx, s, token, project); err != nil {
		h.logger.Error("loading topics", "err", err)
	} else if on {
		s.topicCursor(token, cursor)
	}
	return s
}

func (h *Hub) detachToken(token string) {
	h.mu.Lock()
	s := h.byToken[token]
	delete(h.byToken, token)
	h.mu.Unlock()
	h.topics.set(token, nil)
	if s != nil {
		s.removeReg(token)
	}
}
