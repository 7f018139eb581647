// Package pebblestore is Herald's embedded store: the store.Store contract
// on Pebble v2 in a local directory.
//
// Reads go straight to Pebble. Every write goes through one goroutine owned
// by the Store (the writer, see writer.go) that folds whatever operations
// are waiting into one batch and commits it with a single fsync (group
// commit). The writer assigns sequences in commit order and keeps each
// registration's queue state in memory (queue.go), so Enqueue applies the
// collapse and pending-limit rules without reading the disk.
package pebblestore

import (
	"context"
	"crypto/cipher"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/heraldpush/herald/internal/store"
)

// Options configure a Store. The zero value is valid.
type Options struct {
	// Limits are the queue rules. Zero fields take store.DefaultLimits.
	Limits store.Limits
	// MemTableSize is Pebble's memtable size in bytes. Default 64 MiB:
	// sustained fsync'd writes stall on flushes with Pebble's 4 MiB.
	MemTableSize uint64
	// Logger receives the store's and Pebble's logs. Default: discarded.
	Logger *slog.Logger
	// CredentialKey is the 32-byte AES-256 key that encrypts the projects'
	// vendor credentials at rest (see credentials.go). Default: none, and
	// PutCredentials refuses to store credentials.
	CredentialKey []byte
}

// DefaultMemTableSize is the default Options.MemTableSize.
const DefaultMemTableSize = 64 << 20

// Store is the Pebble-backed store.Store. Create it with Open.
type Store struct {
	db     *pebble.DB
	limits store.Limits
	log    *slog.Logger
	creds  cipher.AEAD // nil without Options.CredentialKey

	// mu guards closed. Every method holds it for reading while it uses
	// the database; Close takes it for writing, so it waits for them.
	mu     sync.RWMutex
	closed bool

	ops        chan *op      // to the writer
	quit       chan struct{} // closed by Close: the writer stops
	writerDone chan struct{} // closed by the writer when it has stopped
	opPool     sync.Pool

	// seqFloor is the lowest sequence a queue may continue from in this
	// run, epoch the run's epoch (see epoch.go).
	seqFloor uint64
	epoch    uint64
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.TopicStore = (*Store)(nil)
)

// Open opens the store in dir, creating the directory if needed.
func Open(dir string, opts Options) (*Store, error) {
	return open(dir, opts, idleCacheSize)
}

// open is Open with the size of one generation of the writer's idle cache.
func open(dir string, opts Options, idleSize int) (*Store, error) {
	if opts.Limits.MaxPending <= 0 {
		opts.Limits.MaxPending = store.DefaultLimits.MaxPending
	}
	if opts.Limits.MaxCollapseKeys <= 0 {
		opts.Limits.MaxCollapseKeys = store.DefaultLimits.MaxCollapseKeys
	}
	if opts.MemTableSize == 0 {
		opts.MemTableSize = DefaultMemTableSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	creds, err := credentialCipher(opts.CredentialKey)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create store directory: %w", err)
	}
	db, err := pebble.Open(dir, &pebble.Options{
		MemTableSize:       opts.MemTableSize,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             pebbleLogger{opts.Logger},
	})
	if err != nil {
		return nil, fmt.Errorf("open pebble in %s: %w", dir, err)
	}
	floor, epoch, err := startEpoch(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{
		seqFloor:   floor,
		epoch:      epoch,
		db:         db,
		limits:     opts.Limits,
		log:        opts.Logger,
		creds:      creds,
		ops:        make(chan *op, maxOpsPerBatch),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	s.opPool.New = func() any { return &op{done: make(chan struct{}, 1)} }
	w := newWriter(s, idleSize)
	go w.run()
	return s, nil
}

// Close stops the writer, waits for running calls and closes Pebble. Calls
// after Close return store.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("close: %w", store.ErrClosed)
	}
	s.closed = true
	close(s.quit)
	s.mu.Unlock()
	<-s.writerDone
	// Everything handed out is durable now: the next open keeps the epoch.
	if err := writeEpoch(s.db, s.epoch, true); err != nil {
		s.db.Close()
		return err
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close pebble: %w", err)
	}
	return nil
}

// enter starts a call; the caller must call s.mu.RUnlock when it returns
// without error.
func (s *Store) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

// submit hands o to the writer and waits for its answer. If ctx ends
// first, the operation may still be applied.
func (s *Store) submit(ctx context.Context, o *op) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	select {
	case s.ops <- o:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	select {
	case <-o.done:
		return o.err
	case <-ctx.Done():
		// The writer still owns o; it is not reused.
		return ctx.Err()
	}
}

// newOp takes an op from the pool.
func (s *Store) newOp(kind opKind) *op {
	o := s.opPool.Get().(*op)
	o.kind = kind
	return o
}

// freeOp returns an answered op to the pool.
func (s *Store) freeOp(o *op) {
	*o = op{done: o.done}
	s.opPool.Put(o)
}

// pebbleLogger adapts slog to Pebble's logger.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error(msg, "component", "pebble")
	panic("pebble: " + msg)
}
