package pebblestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/heraldpush/herald/internal/store"
)

// Projects, apps, keys, devices and registrations are stored as JSON (see
// keys.go for the layout). They are written through the writer like the
// queues, so existence checks and writes are atomic, and synced.

// CreateProject implements store.Store.
func (s *Store) CreateProject(ctx context.Context, p store.Project) error {
	if err := checkID("project id", p.ID); err != nil {
		return fmt.Errorf("create project: %w", err)
	}
	v, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("create project: %w", err)
	}
	return s.writeMeta(ctx, "create project", func(w *writer) error {
		return w.create("project", p.ID, entityKey(prefixProject, p.ID), v)
	})
}

// Project implements store.Store.
func (s *Store) Project(ctx context.Context, id string) (store.Project, error) {
	var p store.Project
	err := s.getJSON(ctx, "project", id, entityKey(prefixProject, id), &p)
	return p, err
}

// Projects implements store.Store. They come in ID order.
func (s *Store) Projects(ctx context.Context) ([]store.Project, error) {
	var ps []store.Project
	lower, upper := prefixRange(prefixProject)
	err := s.scan(ctx, "list projects", lower, upper, func(_, v []byte) error {
		var p store.Project
		if err := json.Unmarshal(v, &p); err != nil {
			return err
		}
		ps = append(ps, p)
		return nil
	})
	return ps, err
}

// CreateApp implements store.Store.
func (s *Store) CreateApp(ctx context.Context, a store.App) error {
	if err := errors.Join(checkID("app key", a.Key), checkID("project id", a.ProjectID)); err != nil {
		return fmt.Errorf("create app: %w", err)
	}
	v, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("create app: %w", err)
	}
	return s.writeMeta(ctx, "create app", func(w *writer) error {
		if err := w.mustExist("project", a.ProjectID, entityKey(prefixProject, a.ProjectID)); err != nil {
			return err
		}
		if err := w.create("app", a.Key, entityKey(prefixApp, a.Key), v); err != nil {
			return err
		}
		w.set(indexKey(prefixProjectApps, a.ProjectID, a.Key), nil)
		return nil
	})
}

// App implements store.Store.
func (s *Store) App(ctx context.Context, key string) (store.App, error) {
	var a store.App
	err := s.getJSON(ctx, "app", key, entityKey(prefixApp, key), &a)
	return a, err
}

// Apps implements store.Store. They come in key order.
func (s *Store) Apps(ctx context.Context, projectID string) ([]store.App, error) {
	return listIndexed[store.App](ctx, s, "list apps", prefixProjectApps, projectID, prefixApp, nil)
}

// CreateKey implements store.Store.
func (s *Store) CreateKey(ctx context.Context, k store.Key) error {
	if err := errors.Join(checkID("key id", k.ID), checkID("project id", k.ProjectID)); err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	v, err := json.Marshal(k)
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	return s.writeMeta(ctx, "create key", func(w *writer) error {
		if err := w.mustExist("project", k.ProjectID, entityKey(prefixProject, k.ProjectID)); err != nil {
			return err
		}
		if err := w.create("key", k.ID, entityKey(prefixKey, k.ID), v); err != nil {
			return err
		}
		w.set(indexKey(prefixProjectKeys, k.ProjectID, k.ID), nil)
		return nil
	})
}

// Key implements store.Store.
func (s *Store) Key(ctx context.Context, id string) (store.Key, error) {
	var k store.Key
	err := s.getJSON(ctx, "key", id, entityKey(prefixKey, id), &k)
	return k, err
}

// Keys implements store.Store. They come in ID order.
func (s *Store) Keys(ctx context.Context, projectID string) ([]store.Key, error) {
	return listIndexed[store.Key](ctx, s, "list keys", prefixProjectKeys, projectID, prefixKey, nil)
}

// RevokeKey implements store.Store. Revoking a revoked key is not an error.
func (s *Store) RevokeKey(ctx context.Context, id string) error {
	if err := checkID("key id", id); err != nil {
		return fmt.Errorf("revoke key: %w", err)
	}
	return s.writeMeta(ctx, "revoke key", func(w *writer) error {
		key := entityKey(prefixKey, id)
		var k store.Key
		if err := w.getJSON("key", id, key, &k); err != nil {
			return err
		}
		if k.Revoked {
			return nil
		}
		k.Revoked = true
		v, err := json.Marshal(k)
		if err != nil {
			return err
		}
		w.set(key, v)
		return nil
	})
}

// CreateDevice implements store.Store.
func (s *Store) CreateDevice(ctx context.Context, d store.Device) error {
	if err := checkID("device id", d.ID); err != nil {
		return fmt.Errorf("create device: %w", err)
	}
	v, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("create device: %w", err)
	}
	return s.writeMeta(ctx, "create device", func(w *writer) error {
		return w.create("device", d.ID, entityKey(prefixDevice, d.ID), v)
	})
}

// Device implements store.Store.
func (s *Store) Device(ctx context.Context, id string) (store.Device, error) {
	var d store.Device
	err := s.getJSON(ctx, "device", id, entityKey(prefixDevice, id), &d)
	return d, err
}

// CreateRegistration implements store.Store. It does not check that the
// project, app or device exist; the caller does.
func (s *Store) CreateRegistration(ctx context.Context, r store.Registration) error {
	if err := errors.Join(checkID("token", r.Token), checkID("device id", r.DeviceID), checkPlatform(r)); err != nil {
		return fmt.Errorf("create registration: %w", err)
	}
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("create registration: %w", err)
	}
	return s.writeMeta(ctx, "create registration", func(w *writer) error {
		if err := w.create("registration", r.Token, entityKey(prefixReg, r.Token), v); err != nil {
			return err
		}
		if !r.Deleted() {
			w.set(indexKey(prefixDeviceRegs, r.DeviceID, r.Token), nil)
		}
		w.indexVendor(r)
		return nil
	})
}

// Registration implements store.Store.
func (s *Store) Registration(ctx context.Context, token string) (store.Registration, error) {
	var r store.Registration
	err := s.getJSON(ctx, "registration", token, entityKey(prefixReg, token), &r)
	return r, err
}

// DeviceRegistrations implements store.Store. They come in token order.
func (s *Store) DeviceRegistrations(ctx context.Context, deviceID string) ([]store.Registration, error) {
	return listIndexed(ctx, s, "list device registrations", prefixDeviceRegs, deviceID, prefixReg,
		func(r store.Registration) bool { return !r.Deleted() })
}

// deleteRegistration applies DeleteRegistration: it marks the registration
// deleted, drops its queue, keeping its last sequence, and deletes its
// topic subscriptions and cursor.
func (w *writer) deleteRegistration(o *op) error {
	if err := checkID("token", o.token); err != nil {
		return err
	}
	key := entityKey(prefixReg, o.token)
	var r store.Registration
	if err := w.getJSON("registration", o.token, key, &r); err != nil {
		return err
	}
	q, err := w.queue(o.token)
	if err != nil {
		return err
	}
	st, err := w.readTopicState(r.ProjectID, o.token)
	if err != nil {
		return err
	}
	w.dropTopicState(r.ProjectID, o.token, st)
	if !r.Deleted() {
		r.DeletedAt = o.deletedAt
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		w.set(key, v)
		w.del(indexKey(prefixDeviceRegs, r.DeviceID, r.Token))
		w.del(entityKey(prefixVendorRegs, r.Token))
	}
	w.dropAll(q, o.deletedAt, "")
	return nil
}

// writeMeta runs fn in the writer and waits for the synced commit.
func (s *Store) writeMeta(ctx context.Context, what string, fn func(*writer) error) error {
	o := s.newOp(opMeta)
	o.meta = fn
	if err := s.submit(ctx, o); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	s.freeOp(o)
	return nil
}

// create writes key unless it exists (store.ErrExists).
func (w *writer) create(what, id string, key, value []byte) error {
	found, err := w.exists(key)
	if err != nil {
		return err
	}
	if found {
		return fmt.Errorf("%s %q: %w", what, id, store.ErrExists)
	}
	w.set(key, value)
	return nil
}

// mustExist returns store.ErrNotFound unless key exists.
func (w *writer) mustExist(what, id string, key []byte) error {
	found, err := w.exists(key)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%s %q: %w", what, id, store.ErrNotFound)
	}
	return nil
}

// getJSON reads and decodes a metadata value as of this batch.
func (w *writer) getJSON(what, id string, key []byte, v any) error {
	b, found, err := w.get(key)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%s %q: %w", what, id, store.ErrNotFound)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s %q: %w", what, id, err)
	}
	return nil
}

// getJSON reads and decodes one metadata value.
func (s *Store) getJSON(ctx context.Context, what, id string, key []byte, v any) error {
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("get %s: %w", what, err)
	}
	defer s.mu.RUnlock()
	found, err := s.getLocked(key, v)
	if err != nil {
		return fmt.Errorf("get %s %q: %w", what, id, err)
	}
	if !found {
		return fmt.Errorf("%s %q: %w", what, id, store.ErrNotFound)
	}
	return nil
}

// getLocked reads and decodes one value; the caller holds s.mu.
func (s *Store) getLocked(key []byte, v any) (bool, error) {
	b, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer closer.Close()
	return true, json.Unmarshal(b, v)
}

// scan calls fn for every key in [lower, upper).
func (s *Store) scan(ctx context.Context, what string, lower, upper []byte, fn func(k, v []byte) error) error {
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer s.mu.RUnlock()
	if err := s.scanLocked(lower, upper, fn); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func (s *Store) scanLocked(lower, upper []byte, fn func(k, v []byte) error) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	for valid := it.First(); valid; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err == nil {
			err = fn(it.Key(), v)
		}
		if err != nil {
			_ = it.Close()
			return err
		}
	}
	return it.Close()
}

// listIndexed lists the entities named by the index range
// indexPrefix + parent + NUL, read from entityPrefix + child, keeping those
// keep accepts (all if keep is nil).
func listIndexed[T any](ctx context.Context, s *Store, what, indexPrefix, parent, entityPrefix string, keep func(T) bool) ([]T, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer s.mu.RUnlock()
	lower, upper := indexRange(indexPrefix, parent)
	var ids []string
	err := s.scanLocked(lower, upper, func(k, _ []byte) error {
		ids = append(ids, string(k[len(lower):]))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	var out []T
	for _, id := range ids {
		var v T
		found, err := s.getLocked(entityKey(entityPrefix, id), &v)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", what, id, err)
		}
		if found && (keep == nil || keep(v)) {
			out = append(out, v)
		}
	}
	return out, nil
}
