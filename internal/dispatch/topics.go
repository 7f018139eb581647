package dispatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/heraldpush/herald/internal/condition"
	"github.com/heraldpush/herald/internal/store"
)

// Topic delivery (DESIGN.md §4). A topic or condition message is written
// once to its project's topic log. Then the hub publishes it, in log
// order, to the connected registrations whose subscriptions match; each
// session writes it in its registration's topic stream (Message.TopicSeq).
// A registration that was away catches up from the log after its cursor.
//
// The hub keeps, for connected registrations only, their subscriptions
// (topic → the log position of the subscription) and an index from
// project topic to tokens. Registrations without topic state (never
// subscribed in their project) are not in it.

// topicState is what the hub knows of a connected registration's topics.
type topicState struct {
	token   string // set by topics.set
	project string
	// session is the session that served the token when its state was
	// loaded: a fan-out offers to it without a lookup by token (and looks
	// the token up only if that session has closed meanwhile).
	session *Session
	rs      *regState // the token's state in session
	subs    topicSubs
}

// topicSubs are a registration's subscriptions, sorted by topic: a
// handful in most cases (up to 2,000), where a map would cost an idle
// connection several times their size.
type topicSubs []topicSub

// topicSub is a subscription: its topic and the log position it was made
// at (store.Subscription.Since).
type topicSub struct {
	topic string
	since uint64
}

// newTopicSubs sorts the store's subscriptions.
func newTopicSubs(subs []store.Subscription) topicSubs {
	out := make(topicSubs, len(subs))
	for i, sub := range subs {
		out[i] = topicSub{topic: sub.Topic, since: sub.Since}
	}
	slices.SortFunc(out, func(a, b topicSub) int { return cmp.Compare(a.topic, b.topic) })
	return out
}

// since returns the position of the subscription to topic, if any.
func (ss topicSubs) since(topic string) (uint64, bool) {
	i, ok := slices.BinarySearchFunc(ss, topic, func(s topicSub, t string) int { return cmp.Compare(s.topic, t) })
	if !ok {
		return 0, false
	}
	return ss[i].since, true
}

// topicEntry is a published log entry with its parsed condition.
type topicEntry struct {
	*store.TopicMessage
	cond *condition.Condition // nil for a topic message
	// head and tail are the message's JSON before and after the token
	// (encode), set by fanOut; nil for entries read to catch up.
	head, tail []byte
}

// matches reports whether the entry is for a registration with these
// subscriptions: subscribed to its topic before it, or satisfying its
// condition with the topics subscribed before it.
func (e *topicEntry) matches(subs topicSubs) bool {
	has := func(t string) bool {
		since, ok := subs.since(t)
		return ok && since < e.Seq
	}
	if e.cond == nil {
		return has(e.Topic)
	}
	return e.cond.Eval(has)
}

func newTopicEntry(m *store.TopicMessage) (*topicEntry, error) {
	e := &topicEntry{TopicMessage: m}
	if m.Condition != "" {
		c, err := condition.Parse(m.Condition)
		if err != nil {
			return nil, err
		}
		e.cond = c
	}
	return e, nil
}

// topics is the hub's topic index and its per-project publishers.
type topics struct {
	mu   sync.RWMutex
	regs map[string]*topicState // token → state, connected registrations
	// byTopic has, for each project topic (project\x00topic), the states
	// of its subscribers with the log position of their subscription; a
	// fan-out walks it without a lookup by token.
	byTopic map[string]map[*topicState]uint64
	byProj  map[string]map[*topicState]struct{} // project → states

	pubMu sync.Mutex
	pubs  map[string]*publisher // project → publisher
}

func newTopics() *topics {
	return &topics{
		regs: map[string]*topicState{}, byTopic: map[string]map[*topicState]uint64{},
		byProj: map[string]map[*topicState]struct{}{}, pubs: map[string]*publisher{},
	}
}

func topicKey(project, topic string) string { return project + "\x00" + topic }

// set replaces a registration's subscriptions in the index (nil removes it).
func (t *topics) set(token string, st *topicState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.regs[token]; old != nil {
		for _, sub := range old.subs {
			k := topicKey(old.project, sub.topic)
			delete(t.byTopic[k], old)
			if len(t.byTopic[k]) == 0 {
				delete(t.byTopic, k)
			}
		}
		delete(t.byProj[old.project], old)
		if len(t.byProj[old.project]) == 0 {
			delete(t.byProj, old.project)
		}
		delete(t.regs, token)
	}
	if st == nil {
		return
	}
	st.token = token
	t.regs[token] = st
	for _, sub := range st.subs {
		k := topicKey(st.project, sub.topic)
		if t.byTopic[k] == nil {
			t.byTopic[k] = map[*topicState]uint64{}
		}
		t.byTopic[k][st] = sub.since
	}
	if t.byProj[st.project] == nil {
		t.byProj[st.project] = map[*topicState]struct{}{}
	}
	t.byProj[st.project][st] = struct{}{}
}

// subsOf returns a registration's subscriptions as the hub knows them.
func (t *topics) subsOf(token string) topicSubs {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if st := t.regs[token]; st != nil {
		return st.subs
	}
	return nil
}

// target is a connected registration and the entries of a run that are
// for it, in log order.
type target struct {
	st      *topicState
	entries []*topicEntry
}

// sameTarget reports whether two entries go to the same topic or
// condition.
func sameTarget(a, b *topicEntry) bool {
	return a.ProjectID == b.ProjectID && a.Topic == b.Topic && a.Condition == b.Condition
}

// targets appends to out the connected registrations a run of entries (in
// log order, all with the same topic or condition) is for, each with the
// entries it matches: all of them, except for a registration that
// subscribed in the middle of the run (or, for a condition, changed its
// topics then).
func (t *topics) targets(run []*topicEntry, out []target) []target {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e := run[0]
	if e.cond == nil {
		// One step per subscriber for the run: the entries after the
		// subscription's position.
		for st, since := range t.byTopic[topicKey(e.ProjectID, e.Topic)] {
			i := 0
			for i < len(run) && run[i].Seq <= since {
				i++
			}
			if i < len(run) {
				out = append(out, target{st: st, entries: run[i:]})
			}
		}
		return out
	}
	var candidates map[*topicState]struct{}
	if e.cond.Eval(func(string) bool { return false }) {
		// True without any topic: every registration with topic state.
		candidates = t.byProj[e.ProjectID]
	} else {
		candidates = map[*topicState]struct{}{}
		for _, topic := range e.cond.Topics() {
			for st := range t.byTopic[topicKey(e.ProjectID, topic)] {
				candidates[st] = struct{}{}
			}
		}
	}
	for st := range candidates {
		var mine []*topicEntry
		for _, re := range run {
			if re.matches(st.subs) {
				mine = append(mine, re)
			}
		}
		if len(mine) == len(run) {
			mine = run // all of them: share the run
		}
		if len(mine) > 0 {
			out = append(out, target{st: st, entries: mine})
		}
	}
	return out
}

// loadTopics reads a registration's topic state from the store and puts
// it in the index, served by session s. It returns the registration's
// cursor, and whether it has topic state at all (a cursor of 0 is a
// cursor: the log was empty).
func (h *Hub) loadTopics(ctx context.Context, s *Session, token, project string) (uint64, bool, error) {
	subs, err := h.store.Subscriptions(ctx, token)
	if err != nil {
		return 0, false, fmt.Errorf("reading subscriptions: %w", err)
	}
	cursor, err := h.store.TopicCursor(ctx, token)
	if err != nil {
		return 0, false, fmt.Errorf("reading topic cursor: %w", err)
	}
	if len(subs) == 0 && cursor == 0 {
		h.topics.set(token, nil)
		return 0, false, nil
	}
	st := &topicState{project: project, session: s, rs: s.regOf(token), subs: newTopicSubs(subs)}
	h.topics.set(token, st)
	return cursor, true, nil
}

// TopicsChanged re-reads the subscriptions of a registration after they
// changed, so that a connected device gets the messages of its new topics
// at once (and no more of the old ones).
func (h *Hub) TopicsChanged(ctx context.Context, token string) error {
	s := h.sessionFor(token)
	if s == nil {
		return nil
	}
	reg, err := h.store.Registration(ctx, token)
	if err != nil {
		return fmt.Errorf("looking up registration: %w", err)
	}
	cursor, on, err := h.loadTopics(ctx, s, token, reg.ProjectID)
	if err != nil {
		return err
	}
	if on {
		s.topicCursor(token, cursor)
	}
	return nil
}

// publisher publishes one project's log entries to the connected
// registrations, in log order. Committed entries wait in pending until
// its one drain goroutine takes them: all that arrived meanwhile go out
// together, so that a session queues them at once and writes them in one
// frame (several topic messages sent back to back cost one write per
// device, not one each).
type publisher struct {
	mu      sync.Mutex
	pending []*topicEntry
	running bool   // a drain goroutine is publishing
	next    uint64 // the next log position to publish; the drain goroutine's

	// The drain goroutine's buffers, reused by fanOut.
	targets []target
	kick    []*Session
}

// publisherFor returns the project's publisher, creating it (with the
// log's current head) before this process appends to the project's log.
func (h *Hub) publisherFor(ctx context.Context, project string) (*publisher, error) {
	h.topics.pubMu.Lock()
	defer h.topics.pubMu.Unlock()
	if p := h.topics.pubs[project]; p != nil {
		return p, nil
	}
	_, head, err := h.store.TopicLog(ctx, project, ^uint64(0)-1, h.now(), 1)
	if err != nil {
		return nil, fmt.Errorf("reading topic log head: %w", err)
	}
	p := &publisher{next: head + 1}
	h.topics.pubs[project] = p
	return p, nil
}

// publish hands a committed entry to the project's publisher, starting
// its drain goroutine if it is idle.
func (h *Hub) publish(ctx context.Context, p *publisher, e *topicEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending = append(p.pending, e)
	if !p.running {
		p.running = true
		go h.drain(ctx, p)
	}
}

// drain publishes pending entries until there are none. Entries are
// published in log order: an entry whose sender has not handed it over
// yet (its goroutine was slower, or it failed after the commit) is read
// from the log when a later one arrives — every entry below a committed
// one is committed too.
func (h *Hub) drain(ctx context.Context, p *publisher) {
	for {
		p.mu.Lock()
		batch := p.pending
		p.pending = nil
		if len(batch) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		slices.SortFunc(batch, func(a, b *topicEntry) int { return cmp.Compare(a.Seq, b.Seq) })
		var out []*topicEntry
		for _, e := range batch {
			if e.Seq < p.next {
				continue // published already, read from the log
			}
			out = append(out, h.missingBefore(ctx, p, e)...)
			out = append(out, e)
			p.next = e.Seq + 1
		}
		h.fanOut(p, out)
	}
}

// missingBefore reads from the log the entries between p.next and e, and
// moves p.next past them.
func (h *Hub) missingBefore(ctx context.Context, p *publisher, e *topicEntry) []*topicEntry {
	var out []*topicEntry
	for p.next < e.Seq {
		missing, _, err := h.store.TopicLog(ctx, e.ProjectID, p.next-1, h.now(), 256)
		if err != nil {
			h.logger.Error("reading topic log to publish in order", "project", e.ProjectID, "err", err)
			break // devices catch up from the log when they reconnect
		}
		progressed := false
		for i := range missing {
			if missing[i].Seq >= e.Seq {
				break
			}
			if me, err := newTopicEntry(&missing[i]); err != nil {
				h.logger.Error("stored condition does not parse", "seq", missing[i].Seq, "err", err)
			} else {
				out = append(out, me)
			}
			p.next, progressed = missing[i].Seq+1, true
		}
		if !progressed {
			break // nothing below e: expired entries, or a new epoch after a crash
		}
	}
	return out
}

// fanOutChunk is how many sessions a fan-out schedules at once: the
// writers start on the first ones while it offers to the next.
const fanOutChunk = 256

// fanOut offers entries, in log order, to the connected registrations
// they are for. Consecutive entries with the same topic or condition form
// a run: its targets are found once, and each registration gets its
// entries of the run in one offer. p's buffers are reused from one
// fan-out to the next (its drain goroutine is the only caller).
func (h *Hub) fanOut(p *publisher, entries []*topicEntry) {
	for _, e := range entries {
		e.encode()
	}
	for len(entries) > 0 {
		n := 1
		for n < len(entries) && sameTarget(entries[0], entries[n]) {
			n++
		}
		p.targets = h.topics.targets(entries[:n], p.targets[:0])
		kick := p.kick[:0]
		for _, tg := range p.targets {
			s := tg.st.session
			if s == nil {
				continue
			}
			schedule, live := s.offerTopics(tg.st.token, tg.st.rs, tg.entries)
			if !live {
				// That session closed: the token may be served by a
				// newer one already (whose own state replaces this).
				if s2 := h.sessionFor(tg.st.token); s2 != nil && s2 != s {
					s = s2
					schedule, _ = s.offerTopics(tg.st.token, nil, tg.entries)
				}
			}
			if schedule {
				kick = append(kick, s)
				if len(kick) == fanOutChunk {
					h.scheduleAll(kick)
					kick = kick[:0]
				}
			}
		}
		h.scheduleAll(kick)
		clear(p.targets)
		clear(kick)
		p.kick = kick[:0]
		entries = entries[n:]
	}
}

// ErrBadCondition wraps a condition that does not parse.
var ErrBadCondition = errors.New("invalid condition")

// OutgoingTopic is a message to a topic or a condition.
type OutgoingTopic struct {
	ProjectID    string
	Topic        string // exactly one of Topic and Condition
	Condition    string
	TTL          time.Duration
	CollapseKey  string
	High         bool
	Body         Body
	Platform     []byte
	ValidateOnly bool
}

// SendTopic writes a topic or condition message once to the project's
// topic log and publishes it to the connected subscribers; the others get
// it when they come back. It returns the message ID once it is on disk,
// without waiting for the fan-out.
func (h *Hub) SendTopic(ctx context.Context, o OutgoingTopic) (string, error) {
	var cond string
	if o.Condition != "" {
		c, err := condition.Parse(o.Condition)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrBadCondition, err)
		}
		cond = c.String()
	}
	if o.ValidateOnly {
		return ValidateOnlyID, nil
	}
	payload, err := EncodeBody(o.Body)
	if err != nil {
		return "", fmt.Errorf("encoding message body: %w", err)
	}
	p, err := h.publisherFor(ctx, o.ProjectID)
	if err != nil {
		return "", err
	}
	now := h.now()
	expires := now.Add(o.TTL)
	if o.TTL == 0 {
		expires = now.Add(zeroTTLWindow)
	}
	m := &store.TopicMessage{
		ProjectID: o.ProjectID, Topic: o.Topic, Condition: cond,
		ID: h.newID(), AcceptedAt: now, ExpiresAt: expires, TTL: o.TTL,
		CollapseKey: o.CollapseKey, High: o.High, Payload: payload, Platform: o.Platform,
	}
	if m.Targeted, err = h.targetedBy(ctx, o); err != nil {
		return "", err // status.go: the count goes into the message's status
	}
	start := time.Now()
	seqs, err := h.store.AppendTopic(ctx, []store.TopicMessage{*m})
	h.metrics.StoreSeconds.WithLabelValues("append_topic").Observe(time.Since(start).Seconds())
	if err != nil {
		return "", fmt.Errorf("storing topic message: %w", err)
	}
	m.Seq = seqs[0]
	h.cfg.Relay.NotifyTopic(o.ProjectID) // its vendor subscribers (relay_topics.go)
	e, err := newTopicEntry(m)
	if err != nil {
		return "", err
	}
	// The answer does not wait for the fan-out. Publishing goroutines may
	// run in any order: publish keeps log order by catching up from the
	// log (every entry below a committed one is committed).
	go h.publish(context.WithoutCancel(ctx), p, e)
	return m.ID, nil
}
