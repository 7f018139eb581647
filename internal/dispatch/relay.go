package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldpush/herald/internal/metrics"
	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/store"
)

// The relay delivers the messages of registrations of the vendor platforms
// (webpush, apns, fcm: DESIGN.md §5). Such a message is stored exactly as a
// message to a Herald device (Hub.Send answers once it is on disk); then,
// instead of a session, the relay takes it: one lane per platform, each
// with its own bounded pool of workers, so that one vendor's outage never
// holds another's deliveries, nor those of Herald devices. A worker takes
// one registration at a time, reads its pending entries in order and hands
// each to the platform's provider with the project's credentials:
//
//   - accepted: the entry is acked and the message is delivered;
//   - *provider.RetryError: the registration waits (exponential backoff
//     with jitter, at least the vendor's Retry-After) and is tried again;
//     an entry that would expire before the next try is given up (it
//     reads as expired);
//   - provider.ErrUnregistered: the registration is deleted, as a stale
//     token is (later sends answer UNREGISTERED), and the message failed;
//   - provider.ErrCredentials, provider.ErrRejected or any other error:
//     the message failed with the reason and is acked, so that it does not
//     hold the registration's queue; logged once per project and reason.
//
// At start the relay lists the live vendor registrations and resumes those
// with pending entries: nothing is lost across a restart.

// Relay defaults.
const (
	defaultRelayWorkers = 8
	defaultMinBackoff   = time.Second
	defaultMaxBackoff   = 5 * time.Minute
	defaultSendTimeout  = 30 * time.Second
	// relayBatch is how many pending entries a worker reads at a time.
	relayBatch = 32
	// recoveryPage is how many registrations recovery lists at a time.
	recoveryPage = 1000
)

// RelayConfig configures the relay.
type RelayConfig struct {
	// Providers serve the vendor platforms, one per platform. A platform
	// without a provider keeps its messages stored, undelivered.
	Providers []provider.Provider
	// Workers is the number of concurrent vendor calls per platform.
	// Default 8.
	Workers int
	// MinBackoff and MaxBackoff bound the wait before a transient failure
	// is retried; it doubles from MinBackoff with every failure in a row.
	// Defaults 1s and 5m.
	MinBackoff, MaxBackoff time.Duration
	// SendTimeout bounds one vendor call. Default 30s.
	SendTimeout time.Duration
	// Now is the clock for expiry; nil means time.Now.
	Now func() time.Time
}

// Relay hands the messages of vendor registrations to their providers.
// Create it with NewRelay, give it to the hub (Config.Relay) and run it
// with Run.
type Relay struct {
	store   store.Store
	metrics *metrics.Metrics
	logger  *slog.Logger
	cfg     RelayConfig
	now     func() time.Time
	lanes   map[string]*lane

	logMu  sync.Mutex
	logged map[string]bool // project + reason already logged

	topicMu   sync.Mutex
	topicRegs map[string]map[string]string // project → vendor token with subscriptions → platform

	// turnDone, if set (by tests, before Run), is called when a worker's
	// turn with a registration ended.
	turnDone func(token string)
}

// NewRelay creates a relay over a store.
func NewRelay(st store.Store, cfg RelayConfig, m *metrics.Metrics, logger *slog.Logger) *Relay {
	if cfg.Workers <= 0 {
		cfg.Workers = defaultRelayWorkers
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = defaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(defaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = defaultSendTimeout
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	r := &Relay{store: st, metrics: m, logger: logger, cfg: cfg, now: now,
		lanes: map[string]*lane{}, logged: map[string]bool{}, topicRegs: map[string]map[string]string{}}
	for _, p := range cfg.Providers {
		r.lanes[p.Platform()] = &lane{p: p, state: map[string]*tokenState{}, wake: make(chan struct{}, 1),
			backlog: m.RelayBacklog.WithLabelValues(p.Platform())}
	}
	return r
}

// Serves reports whether the relay has a provider for platform.
func (r *Relay) Serves(platform string) bool {
	if r == nil {
		return false
	}
	_, ok := r.lanes[platform]
	return ok
}

// Notify tells the relay that a registration of platform has new pending
// entries. It never blocks.
func (r *Relay) Notify(platform, token string) {
	if r == nil {
		return
	}
	if l := r.lanes[platform]; l != nil {
		l.notify(token)
	}
}

// Run runs the workers of every platform and resumes the registrations
// left with pending entries, until ctx ends; then it waits for the
// workers' vendor calls to end (they see ctx's end).
func (r *Relay) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for platform, l := range r.lanes {
		for range r.cfg.Workers {
			wg.Go(func() { r.work(ctx, platform, l) })
		}
	}
	if err := r.recover(ctx); err != nil && ctx.Err() == nil {
		r.logger.Error("resuming vendor deliveries", "err", err)
	}
	<-ctx.Done()
	wg.Wait()
	for _, l := range r.lanes {
		l.stopTimers()
	}
	return nil
}

// recover notifies the lanes of every live vendor registration with
// pending entries.
func (r *Relay) recover(ctx context.Context) error {
	after, resumed := "", 0
	for {
		regs, err := r.store.VendorRegistrations(ctx, after, recoveryPage)
		if err != nil {
			return fmt.Errorf("listing vendor registrations: %w", err)
		}
		for _, reg := range regs {
			after = reg.Token
			if !r.Serves(reg.PlatformOf()) {
				continue
			}
			msgs, _, err := r.store.Pending(ctx, reg.Token, 0, r.now(), 1)
			if err != nil {
				return fmt.Errorf("reading pending messages: %w", err)
			}
			if err := r.loadTopics(ctx, reg); err != nil {
				return err
			}
			// Every registration with subscriptions catches up on its topics.
			r.topicMu.Lock()
			_, topics := r.topicRegs[reg.ProjectID][reg.Token]
			r.topicMu.Unlock()
			if len(msgs) > 0 || topics {
				r.Notify(reg.PlatformOf(), reg.Token)
				resumed++
			}
		}
		if len(regs) < recoveryPage {
			if resumed > 0 {
				r.logger.Info("resumed vendor deliveries", "registrations", resumed)
			}
			return nil
		}
	}
}

// work is one worker of a platform's lane.
func (r *Relay) work(ctx context.Context, platform string, l *lane) {
	for {
		token, ok := l.take(ctx)
		if !ok {
			return
		}
		retry := r.deliver(ctx, platform, l.p, token)
		l.done(token, retry, r.cfg.MinBackoff, r.cfg.MaxBackoff)
		if r.turnDone != nil {
			r.turnDone(token)
		}
	}
}

// retryAfter is a worker's answer: 0 when the registration's queue was
// handled, else how long the vendor asked it to wait (-1: the backoff
// decides).
type retryAfter = time.Duration

// deliver sends the registration's pending entries in order. It returns a
// non-zero retryAfter when the registration must be tried again later.
func (r *Relay) deliver(ctx context.Context, platform string, p provider.Provider, token string) retryAfter {
	reg, err := r.store.Registration(ctx, token)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0
	case err != nil:
		if ctx.Err() == nil {
			r.logger.Error("relay: reading registration", "platform", platform, "token", shortToken(token), "err", err)
		}
		return -1
	case reg.Deleted():
		r.forgetTopics(reg) // deleted by its device or the app
		return 0
	}
	creds, err := r.store.Credentials(ctx, reg.ProjectID)
	if errors.Is(err, store.ErrNotFound) {
		creds, err = store.Credentials{ProjectID: reg.ProjectID}, nil // the provider answers ErrCredentials
	}
	if err != nil {
		if ctx.Err() == nil {
			r.logger.Error("relay: reading credentials", "project", reg.ProjectID, "err", err)
		}
		return -1
	}
	for {
		now := r.now()
		msgs, _, err := r.store.Pending(ctx, token, 0, now, relayBatch)
		if err != nil {
			if ctx.Err() == nil {
				r.logger.Error("relay: reading pending messages", "platform", platform, "token", shortToken(token), "err", err)
			}
			return -1
		}
		if len(msgs) == 0 {
			return r.deliverTopics(ctx, platform, p, creds, reg)
		}
		for i := range msgs {
			m := &msgs[i]
			if m.Kind != store.KindMessage {
				// A vendor has no deleted-messages event: the marker ends here.
				if err := r.ack(ctx, token, m.Seq); err != nil {
					return -1
				}
				continue
			}
			v := r.send(ctx, platform, p, creds, reg, providerMessage(m))
			if v.stop {
				if v.reason != "" {
					// Before an unregistered registration is deleted, which
					// would mark the message failed with its own reason.
					r.status(ctx, m.ID, store.StateFailed, v.reason)
				}
				if v.unregistered {
					return r.unregister(ctx, platform, reg)
				}
				return v.retry
			}
			if r.ack(ctx, token, m.Seq) != nil {
				return -1
			}
			switch {
			case v.delivered:
				r.status(ctx, m.ID, store.StateDelivered, "")
			case v.reason != "":
				r.status(ctx, m.ID, store.StateFailed, v.reason)
			}
		}
	}
}

// verdict is what the relay does after one vendor call.
type verdict struct {
	delivered bool
	reason    string // why it failed for good ("" when delivered or given up)
	// stop: the registration's turn ends here, the entry not handled;
	// retry is then 0 (nothing more to do: deleted, shutting down) or
	// the wait before the next try (-1: the backoff decides).
	stop  bool
	retry retryAfter
	// unregistered: the vendor says the device is gone; the caller
	// records the message's status, then calls unregister.
	unregistered bool
}

// unregister deletes a registration the vendor no longer knows, as a
// stale token is deleted: later sends answer UNREGISTERED.
func (r *Relay) unregister(ctx context.Context, platform string, reg store.Registration) retryAfter {
	if err := r.store.DeleteRegistration(ctx, reg.Token, r.now()); err != nil {
		if ctx.Err() == nil {
			r.logger.Error("relay: deleting an unregistered registration", "platform", platform, "token", shortToken(reg.Token), "err", err)
		}
		return -1
	}
	r.forgetTopics(reg)
	r.logger.Info("registration deleted: the vendor no longer knows the device", "platform", platform, "token", shortToken(reg.Token))
	return 0
}

// send hands one message to the provider and judges the answer.
func (r *Relay) send(ctx context.Context, platform string, p provider.Provider, creds store.Credentials, reg store.Registration, m provider.Message) verdict {
	sctx, cancel := context.WithTimeout(ctx, r.cfg.SendTimeout)
	err := p.Send(sctx, creds, reg, m)
	cancel()
	if err != nil && ctx.Err() != nil {
		return verdict{stop: true, retry: -1} // shutting down: the entry stays for the next run
	}
	var re *provider.RetryError
	switch {
	case err == nil:
		r.count(platform, "delivered")
		return verdict{delivered: true}
	case errors.As(err, &re):
		r.count(platform, "retry")
		wait := max(re.After, 0)
		if !m.ExpiresAt.IsZero() && !r.now().Add(max(wait, r.cfg.MinBackoff)).Before(m.ExpiresAt) {
			// It would expire before the next try: give it up.
			r.count(platform, "expired")
			return verdict{}
		}
		if wait == 0 {
			wait = -1
		}
		return verdict{stop: true, retry: wait}
	case errors.Is(err, provider.ErrUnregistered):
		r.count(platform, "unregistered")
		return verdict{stop: true, unregistered: true, reason: "unregistered: the vendor says the device address is gone"}
	default:
		result, reason := "failed", "failed: "+err.Error()
		switch {
		case errors.Is(err, provider.ErrCredentials):
			result, reason = "credentials", "credentials: "+err.Error()
		case errors.Is(err, provider.ErrRejected):
			result, reason = "rejected", "rejected: "+err.Error()
		}
		r.count(platform, result)
		r.logOnce(reg.ProjectID, platform, result, err)
		return verdict{reason: reason}
	}
}

// ack removes handled entries. It does not stop at shutdown: a message
// the vendor accepted is acked even if the relay is stopping meanwhile (the
// store closes after the relay).
func (r *Relay) ack(ctx context.Context, token string, seq uint64) error {
	ctx = context.WithoutCancel(ctx)
	if err := r.store.Ack(ctx, token, seq); err != nil {
		if ctx.Err() == nil {
			r.logger.Error("relay: acking", "token", shortToken(token), "err", err)
		}
		return err
	}
	return nil
}

// status records a message's end state.
func (r *Relay) status(ctx context.Context, id string, state store.State, reason string) {
	if id == "" {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if err := r.store.UpdateStatus(ctx, []store.StatusUpdate{{ID: id, State: state, Reason: reason}}, r.now()); err != nil && ctx.Err() == nil {
		r.logger.Warn("relay: recording message status", "err", err)
	}
}

func (r *Relay) count(platform, result string) {
	r.metrics.RelayDeliveries.WithLabelValues(platform, result).Inc()
}

// logOnce logs a failure once per project, platform and kind of failure.
func (r *Relay) logOnce(project, platform, result string, err error) {
	key := project + "\x00" + platform + "\x00" + result
	r.logMu.Lock()
	seen := r.logged[key]
	r.logged[key] = true
	r.logMu.Unlock()
	if !seen {
		r.logger.Warn("relay: the vendor refused a message (logged once per project, platform and kind; see herald_relay_deliveries_total)",
			"project", project, "platform", platform, "result", result, "err", err)
	}
}

// providerMessage is what a provider needs of a stored message.
func providerMessage(m *store.Message) provider.Message {
	return provider.Message{
		ID: m.ID, ProjectID: m.ProjectID, AcceptedAt: m.AcceptedAt, ExpiresAt: m.ExpiresAt, TTL: m.TTL,
		CollapseKey: m.CollapseKey, High: m.High, Payload: m.Payload, Platform: m.Platform,
	}
}

// lane is one platform's queue of registrations to serve: each token is
// queued at most once, served by one worker at a time (so its messages
// keep their order), and parked while it waits for a retry.
type lane struct {
	p       provider.Provider
	wake    chan struct{}    // a token was queued
	backlog prometheus.Gauge // len(state)

	mu     sync.Mutex
	queue  []string
	state  map[string]*tokenState
	timers map[string]*time.Timer
}

type tokenState struct {
	queued  bool // in queue
	busy    bool // a worker serves it
	dirty   bool // notified while busy: serve it again
	waiting bool // parked until its retry timer fires
	fails   int  // transient failures in a row
}

func (l *lane) notify(token string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.state[token]
	if st == nil {
		st = &tokenState{}
		l.state[token] = st
		l.backlog.Inc()
	}
	switch {
	case st.waiting, st.queued:
	case st.busy:
		st.dirty = true
	default:
		l.enqueueLocked(token, st)
	}
}

func (l *lane) enqueueLocked(token string, st *tokenState) {
	st.queued = true
	l.queue = append(l.queue, token)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// take returns the next token to serve, waiting for one until ctx ends.
func (l *lane) take(ctx context.Context) (string, bool) {
	for {
		l.mu.Lock()
		if len(l.queue) > 0 {
			token := l.queue[0]
			l.queue[0] = ""
			l.queue = l.queue[1:]
			st := l.state[token]
			st.queued, st.busy, st.dirty = false, true, false
			if len(l.queue) > 0 {
				select { // pass the wake-up on to another worker
				case l.wake <- struct{}{}:
				default:
				}
			}
			l.mu.Unlock()
			return token, true
		}
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", false
		case <-l.wake:
		}
	}
}

// done ends a worker's turn with token: forgotten, queued again, or
// parked for a retry after the vendor's wait or the backoff.
func (l *lane) done(token string, retry retryAfter, minBackoff, maxBackoff time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.state[token]
	st.busy = false
	if retry == 0 {
		st.fails = 0
		if st.dirty {
			l.enqueueLocked(token, st)
			return
		}
		delete(l.state, token)
		l.backlog.Dec()
		return
	}
	st.fails++
	wait := backoff(st.fails, minBackoff, maxBackoff)
	if retry > wait {
		wait = retry
	}
	st.waiting = true
	if l.timers == nil {
		l.timers = map[string]*time.Timer{}
	}
	l.timers[token] = time.AfterFunc(wait, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.timers, token)
		if st := l.state[token]; st != nil && st.waiting {
			st.waiting = false
			l.enqueueLocked(token, st)
		}
	})
}

func (l *lane) stopTimers() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range l.timers {
		t.Stop()
	}
	clear(l.timers)
}

// backoff is the wait after the n-th failure in a row: min doubled n-1
// times, at most max, with up to 50 % jitter taken off so that
// registrations failing together do not retry together.
func backoff(n int, min, max time.Duration) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d - rand.N(d/2+1)
}
