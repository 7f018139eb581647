package pebblestore

import (
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/heraldpush/herald/internal/store"
)

// maxOpsPerBatch caps how many waiting operations one commit folds together.
const maxOpsPerBatch = 512

// syncQueue bounds how many applied batches may wait for their fsync at
// once; beyond it the writer waits, which pushes back on callers.
const syncQueue = 16

// idleCacheSize is how many empty queues' last sequences each of the two
// generations of the idle cache holds (see writer.idle).
const idleCacheSize = 1 << 16

// opKind says what a writer operation does.
type opKind uint8

const (
	opEnqueue opKind = iota + 1
	opAck
	opDeleteRegistration
	opPurge
	opMeta
	opTouch // like opMeta, but needs no fsync
)

// durable reports whether an operation's writes must be fsync'd before it
// is answered.
func (k opKind) durable() bool { return k != opAck && k != opTouch }

// op is one call waiting for the writer. The caller fills the request
// fields, the writer the answer fields, then signals done.
type op struct {
	kind opKind
	done chan struct{} // buffered (1): the writer never blocks on it

	// Requests.
	msgs       []store.Message     // opEnqueue
	token      string              // opAck, opDeleteRegistration
	upTo       uint64              // opAck
	deletedAt  time.Time           // opDeleteRegistration
	candidates []purgeCandidate    // opPurge
	meta       func(*writer) error // opMeta, opTouch: reads with w.get, writes with w.set

	// Answers.
	err    error
	outs   []store.Outcome // opEnqueue
	purged []store.Message // opPurge
}

// writer is the single goroutine that writes. It alone touches queues.
type writer struct {
	s     *Store
	db    *pebble.DB
	batch *pebble.Batch
	ops   []*op
	// syncs carries applied batches to the syncer, which waits for their
	// fsync and then answers their durable operations, in order. The
	// writer meanwhile builds and applies the next batch, so one fsync's
	// wait overlaps the next batch's work.
	syncs chan syncing

	// queues holds the state of every queue with pending entries that was
	// touched since Open. A queue that becomes empty moves to idle, which
	// keeps only its last sequence so the next send to it needs no read.
	// idle has two generations: when idle fills, it becomes idleOld and
	// the previous idleOld is dropped, so memory stays bounded.
	queues  map[string]*queue
	idle    map[string]uint64
	idleOld map[string]uint64

	dirty      []*queue // seq-0 records to write in this batch
	maybeEmpty []*queue // lost entries in this batch
	// staged holds the metadata values written in this batch (nil: deleted)
	// so that later operations of the same batch see them.
	staged map[string][]byte
	// heads holds the head (last assigned sequence) of every project
	// topic log touched since Open; dirtyHeads the projects whose head
	// record must be written in the current batch (see topiclog.go).
	heads      map[string]uint64
	dirtyHeads map[string]struct{}
	idleSize   int    // entries per generation of idle
	key        []byte // scratch
}

func newWriter(s *Store, idleSize int) *writer {
	return &writer{
		s:          s,
		idleSize:   idleSize,
		db:         s.db,
		batch:      s.db.NewBatch(),
		queues:     make(map[string]*queue),
		idle:       make(map[string]uint64),
		idleOld:    make(map[string]uint64),
		staged:     make(map[string][]byte),
		heads:      make(map[string]uint64),
		dirtyHeads: make(map[string]struct{}),
		syncs:      make(chan syncing, syncQueue),
	}
}

// syncing is an applied batch waiting for its fsync, and the operations to
// answer once it is durable.
type syncing struct {
	batch *pebble.Batch
	ops   []*op
}

// syncer answers durable operations once their batch is fsync'd.
func (w *writer) syncer(done chan<- struct{}) {
	defer close(done)
	for sy := range w.syncs {
		err := sy.batch.SyncWait()
		if err != nil {
			w.s.log.Error("store fsync failed", "err", err, "ops", len(sy.ops))
			err = fmt.Errorf("sync: %w", err)
		}
		for _, o := range sy.ops {
			if o.err == nil {
				o.err = err
			}
			o.done <- struct{}{}
		}
		_ = sy.batch.Close()
	}
}

// run commits batches until the store is closed.
func (w *writer) run() {
	defer close(w.s.writerDone)
	syncerDone := make(chan struct{})
	go w.syncer(syncerDone)
	defer func() {
		close(w.syncs)
		<-syncerDone
		_ = w.batch.Close()
	}()
	for {
		select {
		case o := <-w.s.ops:
			w.ops = append(w.ops[:0], o)
		case <-w.s.quit:
			w.drain()
			return
		}
	fill:
		for len(w.ops) < maxOpsPerBatch {
			select {
			case o := <-w.s.ops:
				w.ops = append(w.ops, o)
			default:
				break fill
			}
		}
		w.commit()
	}
}

// drain answers the operations still queued once the store is closing. No
// new ones can arrive: Close holds the lock that senders need.
func (w *writer) drain() {
	for {
		select {
		case o := <-w.s.ops:
			o.err = store.ErrClosed
			o.done <- struct{}{}
		default:
			return
		}
	}
}

// commit applies w.ops to one batch, commits it and answers every op.
func (w *writer) commit() {
	sync := false
	for _, o := range w.ops {
		// Each apply does its reads, which may fail, before it changes
		// anything, so a failed op leaves no trace in the batch.
		switch o.kind {
		case opEnqueue:
			o.err = w.enqueue(o)
		case opAck:
			o.err = w.ack(o)
		case opDeleteRegistration:
			o.err = w.deleteRegistration(o)
		case opPurge:
			o.err = w.purge(o)
		case opMeta, opTouch:
			o.err = o.meta(w)
		default:
			o.err = fmt.Errorf("pebblestore: unknown op %d", o.kind)
		}
		if o.err == nil && o.kind.durable() {
			sync = true
		}
	}
	for _, q := range w.dirty {
		w.writeLastSeq(q)
		q.dirty = false
	}
	w.dirty = w.dirty[:0]
	for project := range w.dirtyHeads {
		w.writeHead(project)
	}
	clear(w.dirtyHeads)

	var err error
	applied := false
	if !w.batch.Empty() {
		if sync {
			err = w.db.ApplyNoSyncWait(w.batch, pebble.Sync)
			applied = err == nil
		} else {
			err = w.batch.Commit(pebble.NoSync)
		}
	}
	clear(w.staged)
	if err != nil {
		// The cached queues now describe writes that did not happen.
		w.s.log.Error("store commit failed", "err", err, "ops", len(w.ops))
		clear(w.queues)
		clear(w.idle)
		clear(w.idleOld)
		clear(w.heads)
		w.maybeEmpty = w.maybeEmpty[:0]
		err = fmt.Errorf("commit: %w", err)
		for _, o := range w.ops {
			if o.err == nil {
				o.err = err
			}
		}
	}
	for _, q := range w.maybeEmpty {
		if len(q.entries) == 0 && w.queues[q.token] == q {
			w.retire(q)
		}
	}
	w.maybeEmpty = w.maybeEmpty[:0]
	// Operations that need no fsync (acks, touches, failures) are answered now: the
	// batch is applied and visible. The others wait for the syncer.
	var durable []*op
	for i, o := range w.ops {
		if applied && o.err == nil && o.kind.durable() {
			durable = append(durable, o)
		} else {
			o.done <- struct{}{}
		}
		w.ops[i] = nil
	}
	if applied {
		w.syncs <- syncing{batch: w.batch, ops: durable}
		w.batch = w.db.NewBatch()
	} else {
		w.batch.Reset()
	}
}

// retire moves an empty queue to the idle cache.
func (w *writer) retire(q *queue) {
	delete(w.queues, q.token)
	if len(w.idle) >= w.idleSize {
		w.idleOld = w.idle
		w.idle = make(map[string]uint64, w.idleSize)
	}
	w.idle[q.token] = q.last
}

// get reads a metadata value as of this batch. The value is a copy.
func (w *writer) get(key []byte) (value []byte, found bool, err error) {
	if v, ok := w.staged[string(key)]; ok {
		return v, v != nil, nil
	}
	v, closer, err := w.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %q: %w", key[:2], err)
	}
	v = append([]byte(nil), v...)
	return v, true, closer.Close()
}

// exists reports whether a metadata key exists as of this batch.
func (w *writer) exists(key []byte) (bool, error) {
	_, found, err := w.get(key)
	return found, err
}

// set writes a metadata value in this batch.
func (w *writer) set(key, value []byte) {
	if value == nil {
		value = []byte{}
	}
	_ = w.batch.Set(key, value, nil)
	w.staged[string(key)] = value
}

// del deletes a metadata key in this batch.
func (w *writer) del(key []byte) {
	_ = w.batch.Delete(key, nil)
	w.staged[string(key)] = nil
}
