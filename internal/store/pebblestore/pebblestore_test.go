package pebblestore_test

import (
	"testing"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/pebblestore"
	"github.com/heraldpush/herald/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, newStore, reopen)
}

// opened remembers which directory a store lives in, for reopen.
type opened struct {
	*pebblestore.Store
	dir string
}

func newStore(t *testing.T) store.Store {
	t.Helper()
	dir := t.TempDir()
	return opened{open(t, dir), dir}
}

func reopen(t *testing.T, s store.Store) store.Store {
	t.Helper()
	o := s.(opened)
	if err := o.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return opened{open(t, o.dir), o.dir}
}

func open(t *testing.T, dir string) *pebblestore.Store {
	t.Helper()
	s, err := pebblestore.Open(dir, pebblestore.Options{MemTableSize: 4 << 20})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}
