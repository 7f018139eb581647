package pebblestore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// copyDir copies a store's directory while it is open: opening the copy is
// opening after a crash (the copy was never cleanly closed).
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// After a crash, sequences continue in a new epoch, past anything the
// crashed run could have shown a device; after a clean close they continue
// where they were.
func TestSequencesSkipAheadAfterACrash(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	enqueue := func(s store.Store) uint64 {
		t.Helper()
		now := time.Unix(1_700_000_000, 0)
		outs, err := s.Enqueue(ctx, []store.Message{{Token: "tok", ID: "m", AcceptedAt: now, ExpiresAt: now.Add(time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		return outs[0].Seq
	}
	if got := enqueue(s); got != 1 {
		t.Fatalf("first seq %d, want 1", got)
	}
	crashed := copyDir(t, dir)
	if got := enqueue(s); got != 2 {
		t.Fatalf("second seq %d, want 2", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	clean := open(t, dir)
	defer clean.Close()
	if got := enqueue(clean); got != 3 {
		t.Fatalf("after a clean close: seq %d, want 3", got)
	}

	after := open(t, crashed)
	defer after.Close()
	if got, floor := enqueue(after), uint64(1)<<32; got != floor+1 {
		t.Fatalf("after a crash: seq %d, want %d (the next epoch)", got, floor+1)
	}
}
