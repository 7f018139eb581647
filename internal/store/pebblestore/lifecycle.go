package pebblestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// ReplaceRegistration implements store.Store: one synced batch creates the
// new registration and deletes the old one, moving the old one's topic
// subscriptions and cursor to the new one (or dropping them, should the
// new registration be of another project).
func (s *Store) ReplaceRegistration(ctx context.Context, oldToken string, r store.Registration, at time.Time) error {
	if err := errors.Join(checkID("token", oldToken), checkID("token", r.Token), checkID("device id", r.DeviceID), checkPlatform(r)); err != nil {
		return fmt.Errorf("replace registration: %w", err)
	}
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("replace registration: %w", err)
	}
	return s.writeMeta(ctx, "replace registration", func(w *writer) error {
		key := entityKey(prefixReg, oldToken)
		var old store.Registration
		if err := w.getJSON("registration", oldToken, key, &old); err != nil {
			return err
		}
		if old.Deleted() {
			return fmt.Errorf("registration %q was deleted: %w", oldToken, store.ErrNotFound)
		}
		q, err := w.queue(oldToken)
		if err != nil {
			return err
		}
		st, err := w.readTopicState(old.ProjectID, oldToken)
		if err != nil {
			return err
		}
		if err := w.create("registration", r.Token, entityKey(prefixReg, r.Token), v); err != nil {
			return err
		}
		if !r.Deleted() {
			w.set(indexKey(prefixDeviceRegs, r.DeviceID, r.Token), nil)
		}
		old.DeletedAt, old.ReplacedBy = at, r.Token
		ov, err := json.Marshal(old)
		if err != nil {
			return err
		}
		w.set(key, ov)
		w.del(indexKey(prefixDeviceRegs, old.DeviceID, old.Token))
		w.del(entityKey(prefixVendorRegs, old.Token))
		w.indexVendor(r)
		w.dropAll(q, at, reasonRegistrationReplaced)
		if r.ProjectID == old.ProjectID {
			w.moveTopicState(old.ProjectID, oldToken, r.Token, st)
		} else {
			w.dropTopicState(old.ProjectID, oldToken, st)
		}
		return nil
	})
}

// TouchRegistrations implements store.Store. The batch is committed
// without waiting for an fsync, like acks.
func (s *Store) TouchRegistrations(ctx context.Context, tokens []string, at time.Time) error {
	if len(tokens) == 0 {
		return nil
	}
	o := s.newOp(opTouch)
	o.meta = func(w *writer) error {
		// Read everything first, so that a failed read leaves no trace.
		var keys, values [][]byte
		for _, t := range tokens {
			if checkID("token", t) != nil {
				continue
			}
			key := entityKey(prefixReg, t)
			var r store.Registration
			err := w.getJSON("registration", t, key, &r)
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if r.Deleted() || !r.LastSeenAt.Before(at) {
				continue
			}
			r.LastSeenAt = at
			v, err := json.Marshal(r)
			if err != nil {
				return err
			}
			keys, values = append(keys, key), append(values, v)
		}
		for i, k := range keys {
			w.set(k, values[i])
		}
		return nil
	}
	if err := s.submit(ctx, o); err != nil {
		return fmt.Errorf("touch registrations: %w", err)
	}
	s.freeOp(o)
	return nil
}
