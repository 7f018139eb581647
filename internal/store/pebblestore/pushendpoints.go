package pebblestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/heraldpush/herald/internal/store"
)

// Push endpoints are JSON under we/<id> (keys.go). An endpoint is written
// in the same batch as the check that its registration is live. Errors
// name an endpoint by the start of its ID only (logID).

// CreatePushEndpoint implements store.Store.
func (s *Store) CreatePushEndpoint(ctx context.Context, e store.PushEndpoint) error {
	if err := errors.Join(checkID("push endpoint id", e.ID), checkID("token", e.Token)); err != nil {
		return fmt.Errorf("create push endpoint: %w", err)
	}
	v, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("create push endpoint: %w", err)
	}
	return s.writeMeta(ctx, "create push endpoint", func(w *writer) error {
		var r store.Registration
		if err := w.getJSON("registration", e.Token, entityKey(prefixReg, e.Token), &r); err != nil {
			return err
		}
		if r.Deleted() {
			return fmt.Errorf("registration %q is deleted: %w", e.Token, store.ErrNotFound)
		}
		return w.create("push endpoint", logID(e.ID), entityKey(prefixPushEndpoint, e.ID), v)
	})
}

// PushEndpoint implements store.Store.
func (s *Store) PushEndpoint(ctx context.Context, id string) (store.PushEndpoint, error) {
	var e store.PushEndpoint
	if err := checkID("push endpoint id", id); err != nil {
		return e, fmt.Errorf("get push endpoint: %w", store.ErrNotFound)
	}
	err := s.getJSON(ctx, "push endpoint", logID(id), entityKey(prefixPushEndpoint, id), &e)
	return e, err
}

// logID shortens an endpoint ID for error messages: the ID is a capability
// (whoever knows it can send), and errors end up in logs.
func logID(id string) string {
	if len(id) > 6 {
		return id[:6] + "…"
	}
	return id
}
