// Package dispatch routes messages to devices: it accepts sends (store
// first, then the live session if any), keeps the index of connected devices
// and their registrations, runs each session's ordered delivery, handles
// acks, registrations, expiry and shutdown.
package dispatch

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/metrics"
	"github.com/heraldpush/herald/internal/quota"
	"github.com/heraldpush/herald/internal/store"
)

// Errors returned by the hub; the HTTP and WebSocket surfaces translate them.
var (
	ErrUnauthorized     = errors.New("unknown device or wrong device secret")
	ErrUnknownApp       = errors.New("unknown app key")
	ErrUnregistered     = errors.New("registration token is not registered")
	ErrSenderIDMismatch = errors.New("registration token belongs to another project")
	ErrNotYourToken     = errors.New("registration token belongs to another device")
	ErrShuttingDown     = errors.New("server is shutting down")
	// ErrSuperseded: the device already has a connection established after
	// this one (this one's hello was read late, e.g. the device had
	// already closed it and reconnected).
	ErrSuperseded = errors.New("a newer connection of this device is attached")
)

// Config tunes delivery.
type Config struct {
	PingInterval time.Duration
	// TopicAckHold is announced in the welcome frame: how long devices
	// may hold the acks of topic messages (they send them with their next
	// ping if that comes first). 0: as token acks.
	TopicAckHold      time.Duration
	NormalBatchWindow time.Duration
	SendQueue         int
	// Limiter applies the per-device rate limit and the bound on sends
	// waiting for the store; nil limits nothing.
	Limiter *quota.Limiter
	// StaleAfter is how long a device may stay unconnected before its
	// registrations expire (sends answer UNREGISTERED); 0 never.
	StaleAfter time.Duration
	// RefreshGrace is how long a token replaced by a refresh still
	// accepts sends, delivered to its replacement; 0 none.
	RefreshGrace time.Duration
	// Now is the clock for expiry and last-seen times; nil means time.Now.
	Now func() time.Time
	// Relay delivers the messages of registrations of the vendor
	// platforms (relay.go); nil keeps them stored, undelivered.
	Relay *Relay
	// StatusRetention is how long a message's status stays readable after
	// the message ended (delivered, expired…); 0 means
	// DefaultStatusRetention.
	StatusRetention time.Duration
}

// Hub is the dispatcher of one node.
type Hub struct {
	store   store.Store
	logger  *slog.Logger
	metrics *metrics.Metrics
	cfg     Config
	now     func() time.Time

	idPrefix string
	idSeq    atomic.Uint64

	mu       sync.RWMutex
	byToken  map[string]*Session
	byDevice map[string]*Session
	closing  bool

	topics    *topics
	topicAcks topicAcks
	status    statusRecorder // status.go
	writers   writers
}

// New creates a hub over a store.
func New(st store.Store, cfg Config, m *metrics.Metrics, logger *slog.Logger) *Hub {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	var p [6]byte
	_, _ = crand.Read(p[:])
	return &Hub{
		store: st, cfg: cfg, metrics: m, logger: logger, now: now,
		idPrefix: hex.EncodeToString(p[:]),
		byToken:  map[string]*Session{}, byDevice: map[string]*Session{},
		topics: newTopics(),
	}
}

// newID returns a message ID unique across restarts: a random per-process
// prefix and a counter.
func (h *Hub) newID() string {
	return fmt.Sprintf("%s%010x", h.idPrefix, h.idSeq.Add(1))
}

// Attach authenticates a hello and opens a session for it. The returned
// session has the welcome frame queued first, then everything pending for
// its registrations. A previous session of the same device is closed.
func (h *Hub) Attach(ctx context.Context, hello *herald.Hello, conn Conn) (*Session, error) {
	if err := h.checkDevice(ctx, hello.DeviceID, hello.DeviceSecret); err != nil {
		return nil, err
	}
	state := hello.State
	if state == "" {
		state = herald.Foreground
	}
	s := newSession(h, h.newID(), hello.DeviceID, conn, state)
	welcome := herald.Welcome{
		SessionID:          s.ID,
		PingIntervalMillis: h.cfg.PingInterval.Milliseconds(),
		TopicAckMillis:     h.cfg.TopicAckHold.Milliseconds(),
		ServerTimeMillis:   h.now().UnixMilli(),
		Registrations:      make([]herald.RegistrationStatus, 0, len(hello.Registrations)),
	}
	live := map[string]herald.Resume{}
	projects := map[string]string{}
	now := h.now()
	var touch []string
	for _, r := range hello.Registrations {
		status := herald.StatusUnregistered
		reg, err := h.store.Registration(ctx, r.Token)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("looking up registration: %w", err)
		case reg.Deleted() || reg.DeviceID != hello.DeviceID, reg.PlatformOf() != store.PlatformHerald:
			// A vendor platform's token travels through its vendor (relay.go).
		case h.stale(reg, now):
			if err := h.expire(ctx, reg.Token, now); err != nil {
				return nil, err
			}
		default:
			status = herald.StatusOK
			live[r.Token] = r
			projects[r.Token] = reg.ProjectID
			if now.Sub(reg.Seen()) >= touchEvery {
				touch = append(touch, r.Token)
			}
		}
		welcome.Registrations = append(welcome.Registrations, herald.RegistrationStatus{Token: r.Token, Status: status})
	}
	if err := h.touch(ctx, touch, now); err != nil {
		return nil, err
	}
	s.lastTouch = now
	for token, r := range live {
		if r.Acked > 0 {
			if err := h.ack(ctx, token, r.Acked); err != nil {
				return nil, err
			}
		}
		if r.TopicAcked > 0 {
			h.ackTopic(token, r.TopicAcked)
		}
	}
	s.send(encodeFrame(herald.Frame{Type: herald.FrameWelcome, Welcome: &welcome}))

	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		return nil, ErrShuttingDown
	}
	old := h.byDevice[hello.DeviceID]
	if old != nil && old.conn.Opened().After(conn.Opened()) {
		h.mu.Unlock()
		return nil, ErrSuperseded
	}
	if old != nil {
		h.detachLocked(old)
	}
	h.byDevice[hello.DeviceID] = s
	for token := range live {
		h.byToken[token] = s
	}
	h.mu.Unlock()
	if old != nil {
		old.close()
		old.conn.Close(herald.CloseReplaced, "the device connected again")
	}
	for token, r := range live {
		s.addReg(token, projects[token], r.Acked)
		// The hello's acks count the deliveries of what earlier sessions
		// wrote (the session adopted that memory in addReg).
		s.ackedStatus(token, r.Acked, r.TopicAcked)
		cursor, on, err := h.loadTopics(ctx, s, token, projects[token])
		if err != nil {
			h.logger.Error("loading topics", "session", s.ID, "err", err)
			continue // the device gets its topic messages when it reconnects
		}
		if on {
			s.topicCursor(token, max(cursor, r.TopicAcked))
		}
	}
	// Only now may the writer run: the welcome goes out first, and the
	// device hears it only once its session is in the index, so that a
	// send or a second connection right after the welcome finds it.
	s.resume()
	h.metrics.Connected.Inc()
	return s, nil
}

// Detach removes a session from the index; it is idempotent. The
// session's registrations are first marked as seen now, so that a send
// finds the device either connected or recently seen.
func (h *Hub) Detach(ctx context.Context, s *Session) {
	if h.deviceSession(s.DeviceID) == s {
		if err := h.touch(ctx, s.tokens(), h.now()); err != nil {
			h.logger.Warn("recording last-seen times", "session", s.ID, "err", err)
		}
	}
	h.mu.Lock()
	removed := h.detachLocked(s)
	h.mu.Unlock()
	if removed {
		s.close()
	}
}

func (h *Hub) detachLocked(s *Session) bool {
	if h.byDevice[s.DeviceID] != s {
		return false
	}
	delete(h.byDevice, s.DeviceID)
	for _, t := range s.tokens() {
		if h.byToken[t] == s {
			delete(h.byToken, t)
			h.topics.set(t, nil)
		}
	}
	h.metrics.Connected.Dec()
	return true
}

func (h *Hub) sessionFor(token string) *Session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.byToken[token]
}

func (h *Hub) deviceSession(deviceID string) *Session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.byDevice[deviceID]
}

// notify hands a committed entry to the session serving its token, if any.
func (h *Hub) notify(m *store.Message) {
	if s := h.sessionFor(m.Token); s != nil {
		s.offer(m)
	}
}

func (h *Hub) pending(ctx context.Context, token string, after uint64, now time.Time) ([]*store.Message, uint64, error) {
	start := time.Now()
	msgs, last, err := h.store.Pending(ctx, token, after, now, fetchLimit)
	h.metrics.StoreSeconds.WithLabelValues("pending").Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, 0, err
	}
	out := make([]*store.Message, len(msgs))
	for i := range msgs {
		out[i] = &msgs[i]
	}
	return out, last, nil
}

func (h *Hub) ack(ctx context.Context, token string, upTo uint64) error {
	start := time.Now()
	err := h.store.Ack(ctx, token, upTo)
	h.metrics.StoreSeconds.WithLabelValues("ack").Observe(time.Since(start).Seconds())
	if err != nil {
		return fmt.Errorf("acking %d: %w", upTo, err)
	}
	h.metrics.Acks.Inc()
	return nil
}

// Run purges expired messages every interval until ctx ends.
func (h *Hub) Run(ctx context.Context, purgeInterval time.Duration) error {
	t := time.NewTicker(purgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := h.Purge(ctx); err != nil && ctx.Err() == nil {
				h.logger.Error("purging expired messages", "err", err)
			}
		}
	}
}

// Purge removes every message expired by now.
func (h *Hub) Purge(ctx context.Context) error {
	for {
		gone, err := h.store.PurgeExpired(ctx, h.now(), 10000)
		if err != nil {
			return err
		}
		h.metrics.Fates.WithLabelValues("expired").Add(float64(len(gone)))
		if len(gone) < 10000 {
			break
		}
	}
	for {
		n, err := h.store.PurgeTopicLog(ctx, h.now(), 10000)
		if err != nil {
			return err
		}
		if n < 10000 {
			break
		}
	}
	return h.purgeStatus(ctx)
}

// Shutdown tells every connected device to go away and reconnect later,
// spreading their reconnects over spread, and closes the sessions.
func (h *Hub) Shutdown(spread time.Duration) {
	h.mu.Lock()
	h.closing = true
	sessions := make([]*Session, 0, len(h.byDevice))
	tokens := make([]string, 0, len(h.byToken))
	for _, s := range h.byDevice {
		sessions = append(sessions, s)
	}
	for t := range h.byToken {
		tokens = append(tokens, t)
	}
	h.mu.Unlock()
	// One batch records every connected device as seen now.
	if err := h.touch(context.Background(), tokens, h.now()); err != nil {
		h.logger.Warn("recording last-seen times at shutdown", "err", err)
	}
	// Goodbyes go out in parallel: one stuck device must not hold up the
	// others (each write has the gateway's write deadline).
	var wg sync.WaitGroup
	sem := make(chan struct{}, shutdownWriters)
	for _, s := range sessions {
		delay := time.Duration(0)
		if spread > 0 {
			delay = rand.N(spread)
		}
		h.mu.Lock()
		removed := h.detachLocked(s)
		h.mu.Unlock()
		if removed {
			s.close()
		}
		frame := encodeFrame(herald.Frame{Type: herald.FrameGoAway, GoAway: &herald.GoAway{
			Reason: "server shutting down", ReconnectAfterMillis: delay.Milliseconds(),
		}})
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			_ = s.conn.WriteFrames(frame)
			s.conn.Close(herald.CloseGoingAway, "server shutting down")
		}()
	}
	wg.Wait()
	h.closeTopicAcks(context.Background())
	h.closeStatus(context.Background())
}

// shutdownWriters bounds the goroutines saying goodbye at shutdown.
const shutdownWriters = 64
