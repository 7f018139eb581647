package dispatch

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/jsonscan"
	"github.com/heraldpush/herald/internal/store"
)

// Conn is the device connection a session writes to. The gateway implements
// it over a WebSocket.
type Conn interface {
	// WriteFrames writes each frame (one JSON document) as one WebSocket
	// text message, all of them with a single write.
	WriteFrames(frames ...[]byte) error
	// Close sends a close frame with code and reason, and closes.
	Close(code int, reason string)
	// Opened reports when the connection was established: of two
	// connections of one device, the later one wins.
	Opened() time.Time
}

// keptQueue is the largest queue capacity a session keeps for reuse.
const keptQueue = 16

// Frame batching limits: several messages queued for a device go out in one
// messages frame, and several frames in one write.
const (
	maxMessagesPerFrame = 100
	maxFrameBytes       = 32 << 10
	fetchLimit          = 256
)

// Session is one connected device: the registrations it serves and the
// queue of what must be written to it.
//
// Delivery keeps one rule per registration: never write a sequence at or
// below the last one written. A message arriving in order (lastSent+1) is
// written at once; anything else (a gap, a reconnect, an overflow of the
// queue) sets the registration to fetch from the store, which returns every
// committed entry after lastSent in order. Since the store assigns sequences
// in commit order and a message is offered only after its commit, a fetch
// never misses a message whose offer was already seen.
type Session struct {
	ID       string
	DeviceID string

	hub  *Hub
	conn Conn

	mu sync.Mutex
	// regs are the registrations served, few per device (its apps): a
	// slice is looked through faster than a map is hashed, and costs a
	// fraction of its memory on an idle connection.
	regs     []*regState
	queue    []queued
	spare    []queued
	held     []queued // normal-priority messages held for the batching window
	flush    bool     // the next writer pass takes the held messages too
	overflow bool
	// fetching is set when a registration may have to read the store
	// (regState.fetch or fetchTopic): write passes look for them only
	// then, not on every pass of a fan-out.
	fetching bool
	running  bool // a writer goroutine is draining the queue
	paused   bool // no writer until Attach has indexed the session
	closed   bool
	state    herald.AppState
	hold     *time.Timer // normal-priority batching window
	// lastTouch is when the registrations' last-seen times were last
	// recorded (hub clock).
	lastTouch time.Time
}

type regState struct {
	token    string
	lastSent uint64
	fetch    bool
	removed  bool // no longer served (removeReg)

	// The topic stream, the same rule over the project's topic log:
	// lastTopic is the last log position handled (written or skipped as
	// not for this registration); fetchTopic reads the log after it.
	project    string
	topicOn    bool // the registration has topic state (a cursor)
	lastTopic  uint64
	fetchTopic bool

	// sent is what was written to the device and not acked yet, for
	// message status (status.go): kept here while the device is
	// connected, handed to the hub when the session ends.
	sent sentLog
}

// remember notes a message written to the device, for its status, unless
// the session has closed (its memory went to the hub). Called with mu
// held.
func (s *Session) remember(rs *regState, r sentRef) {
	if r.id == "" || s.closed {
		return
	}
	if r.topic {
		rs.sent.topics = add(rs.sent.topics, r)
	} else {
		rs.sent.msgs = add(rs.sent.msgs, r)
	}
}

// queued is a message offered to the session, or a control frame.
type queued struct {
	msg   *store.Message
	frame []byte
	topic *topicEntry // with token: a topic log entry for that registration
	token string
	rs    *regState // the token's state, if the offer knew it (else looked up)
}

func newSession(h *Hub, id, deviceID string, conn Conn, state herald.AppState) *Session {
	return &Session{ID: id, DeviceID: deviceID, hub: h, conn: conn, state: state, paused: true}
}

// offer queues a committed message for the device. Normal-priority
// messages to a device whose app is in the background are held for the
// batching window, unless something flushes them sooner: a message that is
// not held, the app coming to the foreground, or the window's end.
func (s *Session) offer(m *store.Message) {
	s.enqueue(queued{msg: m}, !m.High && m.Kind == store.KindMessage)
}

// enqueue queues an offered message, held if it is normal priority
// (holdable) and the app is in the background.
func (s *Session) enqueue(q queued, holdable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueueLocked(q, holdable)
	s.kick()
}

// enqueueLocked queues one offered message; the caller kicks the writer.
// The queue keeps arrival order: a message that is not held first moves
// the held ones into the queue ahead of it, so everything in the queue is
// older than everything held, and a flush appends the held ones after the
// queue. Called with mu held.
func (s *Session) enqueueLocked(q queued, holdable bool) {
	if s.closed || s.overflow {
		return
	}
	if len(s.queue)+len(s.held) >= s.hub.cfg.SendQueue {
		// The device is behind: stop queueing and serve it from the store.
		s.queue, s.held = s.queue[:0], nil
		s.overflow = true
		return
	}
	if holdable && s.state == herald.Background && s.hub.cfg.NormalBatchWindow > 0 {
		s.held = append(s.held, q)
		if s.hold == nil {
			s.hold = time.AfterFunc(s.hub.cfg.NormalBatchWindow, s.flushHeld)
		}
		return
	}
	if len(s.held) > 0 {
		s.queue = append(s.queue, s.held...)
		s.held = nil
		if s.hold != nil {
			s.hold.Stop()
			s.hold = nil
		}
	}
	s.queue = append(s.queue, q)
}

// send queues a control frame; it goes out after what is already queued.
func (s *Session) send(frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.queue = append(s.queue, queued{frame: frame})
	s.kick()
}

func (s *Session) flushHeld() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = nil
	s.flush = true
	s.kick()
}

// kick schedules a write pass if none is scheduled or running. Called
// with mu held.
func (s *Session) kick() {
	if s.running || s.closed || s.paused {
		return
	}
	s.running = true
	s.hub.schedule(s)
}

// resume lets the writer run, starting with what is queued.
func (s *Session) resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paused = false
	s.kick()
}

// takeQueue returns what the writer must process now: the held messages
// first when they are flushed, then the queue. Called with mu held.
func (s *Session) takeQueue() []queued {
	items := s.queue
	s.queue = s.spare[:0]
	if s.flush && len(s.held) > 0 {
		items = append(items, s.held...)
		s.held = nil
		if s.hold != nil {
			s.hold.Stop()
			s.hold = nil
		}
	}
	s.flush = false
	return items
}

// addReg starts serving a registration, from the given resume point.
func (s *Session) addReg(token, project string, acked uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.regLocked(token) != nil {
		return
	}
	// What an earlier session wrote to this token and the device did not
	// ack yet: its acks come to this session.
	s.regs = append(s.regs, &regState{token: token, lastSent: acked, fetch: true, project: project, sent: s.hub.adoptStatus(token)})
	s.fetching = true
	s.kick()
}

// topicCursor turns on (or refreshes) a registration's topic stream from
// the given log position: the device has handled the log up to it.
func (s *Session) topicCursor(token string, from uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.regLocked(token)
	if rs == nil {
		return
	}
	rs.topicOn = true
	rs.lastTopic = max(rs.lastTopic, from)
	rs.fetchTopic = true
	s.fetching = true
	s.kick()
}

// offerTopics queues published topic log entries (in log order) for a
// registration, under one lock; rs is the registration's state in this
// session if the caller has it (regOf), else nil.
// It reports whether the session must be scheduled for a write pass (the
// caller schedules many at once, Hub.scheduleAll): it then counts as
// running; and whether the session is live (not closed).
func (s *Session) offerTopics(token string, rs *regState, entries []*topicEntry) (schedule, live bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, false
	}
	for _, e := range entries {
		s.enqueueLocked(queued{topic: e, token: token, rs: rs}, !e.High)
	}
	if s.running || s.paused {
		return false, true
	}
	s.running = true
	return true, true
}

func (s *Session) removeReg(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, rs := range s.regs {
		if rs.token == token {
			rs.removed = true
			s.regs = slices.Delete(s.regs, i, i+1)
			return
		}
	}
}

// regLocked returns the state of a registration served, nil if none.
// Called with mu held.
func (s *Session) regLocked(token string) *regState {
	for _, rs := range s.regs {
		if rs.token == token {
			return rs
		}
	}
	return nil
}

// regOf returns the session's state of a registration it serves, nil if
// none: a fan-out hands it back with each offer (offerTopics) so that the
// write pass does not look the token up.
func (s *Session) regOf(token string) *regState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.regLocked(token)
}

func (s *Session) tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.regs))
	for _, rs := range s.regs {
		out = append(out, rs.token)
	}
	return out
}

// SetState records the app's state (foreground or background).
func (s *Session) SetState(st herald.AppState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = st
	if st == herald.Foreground && len(s.held) > 0 {
		s.flush = true
		s.kick()
	}
}

// Pong answers a ping. A ping also shows that the device is still
// connected: at most every touchEvery, the session's registrations are
// marked as seen now.
func (s *Session) Pong(ctx context.Context) {
	s.send(pongFrame)
	s.seen(ctx)
}

// seen records the session's registrations as seen now if the last record
// is touchEvery old, so that a device connected for months stays fresh in
// the store even if this node later stops without saying so. A failure
// is logged: it only makes the device look idle for longer.
func (s *Session) seen(ctx context.Context) {
	now := s.hub.now()
	s.mu.Lock()
	if now.Sub(s.lastTouch) < touchEvery {
		s.mu.Unlock()
		return
	}
	s.lastTouch = now
	tokens := make([]string, 0, len(s.regs))
	for _, rs := range s.regs {
		tokens = append(tokens, rs.token)
	}
	s.mu.Unlock()
	if err := s.hub.touch(ctx, tokens, now); err != nil {
		s.hub.logger.Warn("recording last-seen times", "session", s.ID, "err", err)
	}
}

var pongFrame = encodeFrame(herald.Frame{Type: herald.FramePong})

// Ack records that the app handled everything up to each ack's sequence.
// Acks for tokens this session does not serve are ignored. Like a ping,
// an ack refreshes the last-seen times when they are touchEvery old.
func (s *Session) Ack(ctx context.Context, acks []herald.Ack) error {
	s.seen(ctx)
	var buf [4]sentRef
	for _, a := range acks {
		delivered := buf[:0]
		s.mu.Lock()
		rs := s.regLocked(a.Token)
		var upTo, topicUpTo uint64
		closed := s.closed
		if rs != nil {
			upTo = min(a.Seq, rs.lastSent) // cannot ack what was never sent
			topicUpTo = min(a.TopicSeq, rs.lastTopic)
			delivered = rs.sent.take(upTo, topicUpTo, delivered)
		}
		s.mu.Unlock()
		if upTo > 0 {
			if err := s.hub.ack(ctx, a.Token, upTo); err != nil {
				return err
			}
		}
		if topicUpTo > 0 {
			s.hub.ackTopic(a.Token, topicUpTo)
		}
		if closed {
			// The session's memory went to the hub when it closed.
			s.hub.ackedStatus(a.Token, upTo, topicUpTo)
		}
		s.hub.recordDelivered(delivered)
	}
	return nil
}

// AckMayBlock reports whether Ack(acks) may wait for the store: an ack
// of a token stream is written at once, and an ack may refresh the
// last-seen times (touchEvery). Otherwise (topic streams) an ack only
// changes memory, and the gateway's poller handles it on its own
// goroutine without holding up the other connections.
func (s *Session) AckMayBlock(acks []herald.Ack) bool {
	for _, a := range acks {
		if a.Seq > 0 {
			return true
		}
	}
	now := s.hub.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return now.Sub(s.lastTouch) >= touchEvery
}

// ackedStatus turns what was written to token up to its acks (upTo in
// its token stream, topicUpTo in its topic stream) into deliveries.
func (s *Session) ackedStatus(token string, upTo, topicUpTo uint64) {
	var buf [4]sentRef
	s.mu.Lock()
	var delivered []sentRef
	if rs := s.regLocked(token); rs != nil {
		delivered = rs.sent.take(upTo, topicUpTo, buf[:0])
	}
	s.mu.Unlock()
	s.hub.recordDelivered(delivered)
}

// writePass writes what is queued (and what the store has for
// registrations that must fetch) in one write, on one of the hub's
// writers (writers.go), now being the writer's clock reading for its
// round. It reports whether the session has more to write; otherwise it is
// no longer running.
func (s *Session) writePass(ctx context.Context, out *batch, now time.Time) bool {
	out.reset()

	s.mu.Lock()
	if s.closed {
		s.running = false
		s.mu.Unlock()
		return false
	}
	items := s.takeQueue()
	if s.overflow {
		s.overflow = false
		s.fetching = true
		for _, rs := range s.regs {
			rs.fetch = true
			rs.fetchTopic = rs.topicOn
		}
	}
	for i := range items {
		it := &items[i]
		if it.frame != nil {
			out.addFrame(it.frame)
			continue
		}
		if e := it.topic; e != nil {
			rs := it.rs
			if rs == nil {
				rs = s.regLocked(it.token)
			}
			if rs == nil || rs.removed || !rs.topicOn || rs.fetchTopic || e.Seq <= rs.lastTopic {
				continue
			}
			rs.lastTopic = e.Seq
			if e.ExpiresAt.After(now) {
				s.remember(rs, out.addTopicEntry(it.token, e))
			}
			continue
		}
		m := it.msg
		rs := s.regLocked(m.Token)
		switch {
		case rs == nil || rs.fetch || m.Seq <= rs.lastSent:
		case m.Seq == rs.lastSent+1:
			rs.lastSent = m.Seq
			if m.Kind == store.KindMessage && !m.ExpiresAt.After(now) {
				continue // expired while queued; the purge removes it
			}
			s.remember(rs, out.addMsg(m))
		default:
			rs.fetch = true // a gap: the store has what is missing
			s.fetching = true
		}
	}
	clear(items)
	if cap(items) <= keptQueue {
		s.spare = items[:0]
	} else {
		s.spare = nil // a burst's queue is not kept by an idle session
	}
	var fetches []fetch
	if s.fetching {
		for _, rs := range s.regs {
			if rs.fetch {
				fetches = append(fetches, fetch{token: rs.token, after: rs.lastSent})
			}
			if rs.topicOn && rs.fetchTopic {
				fetches = append(fetches, fetch{token: rs.token, after: rs.lastTopic, topic: true, project: rs.project})
			}
		}
		// Set again by whatever asks for a fetch; a fetch that stops
		// short of the end (fetchLimit) leaves its flag, so the next pass
		// looks again.
		s.fetching = len(fetches) > 0
	}
	if out.empty() && len(fetches) == 0 {
		s.running = false
		s.mu.Unlock()
		return false
	}
	s.mu.Unlock()

	for _, f := range fetches {
		if f.topic {
			if err := s.fetchTopic(ctx, f, now, out); err != nil {
				s.hub.logger.Error("reading the topic log", "session", s.ID, "err", err)
				s.fail(ctx, herald.CloseGoingAway, "store error")
				return false
			}
			continue
		}
		msgs, last, err := s.hub.pending(ctx, f.token, f.after, now)
		if err != nil {
			s.hub.logger.Error("reading pending messages", "session", s.ID, "err", err)
			s.fail(ctx, herald.CloseGoingAway, "store error")
			return false
		}
		s.mu.Lock()
		rs := s.regLocked(f.token)
		if rs != nil && rs.lastSent == f.after {
			for _, m := range msgs {
				s.remember(rs, out.addMsg(m))
				rs.lastSent = m.Seq
			}
			if len(msgs) < fetchLimit {
				rs.fetch = false
				if rs.lastSent > last {
					rs.lastSent = last // a resume point beyond anything ever sent
				}
			}
		}
		s.mu.Unlock()
	}

	if out.empty() {
		return true
	}
	// What it writes is remembered (remember) before the write: the
	// device may ack before WriteFrames returns.
	if err := s.conn.WriteFrames(out.frames()...); err != nil {
		s.hub.logger.Debug("writing to device", "session", s.ID, "err", err)
		s.fail(ctx, herald.CloseGoingAway, "write failed")
		return false
	}
	out.written += out.delivered
	return true
}

type fetch struct {
	token   string
	after   uint64
	topic   bool // the topic stream; project names the log
	project string
}

// fetchTopic catches a registration up from its project's topic log: the
// entries after its position that match its subscriptions (as they were at
// each entry), the latest of each collapse key.
func (s *Session) fetchTopic(ctx context.Context, f fetch, now time.Time, out *batch) error {
	msgs, head, err := s.hub.store.TopicLog(ctx, f.project, f.after, now, fetchLimit)
	if err != nil {
		return err
	}
	subs := s.hub.topics.subsOf(f.token)
	var keep []*store.TopicMessage
	for i := range msgs {
		e := &topicEntry{TopicMessage: &msgs[i]}
		if msgs[i].Condition != "" {
			if e, err = newTopicEntry(&msgs[i]); err != nil {
				continue
			}
		}
		if e.matches(subs) {
			keep = append(keep, &msgs[i])
		}
	}
	keep = latestPerCollapseKey(keep)
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.regLocked(f.token)
	if rs == nil || rs.lastTopic != f.after {
		return nil
	}
	for _, m := range keep {
		s.remember(rs, out.addTopic(f.token, m))
	}
	if len(msgs) > 0 {
		rs.lastTopic = msgs[len(msgs)-1].Seq
	}
	if len(msgs) < fetchLimit {
		rs.fetchTopic = false
		rs.lastTopic = min(rs.lastTopic, head) // a resume point beyond the log
	}
	return nil
}

// latestPerCollapseKey keeps, of entries sharing a collapse key, the last.
func latestPerCollapseKey(msgs []*store.TopicMessage) []*store.TopicMessage {
	last := map[string]uint64{}
	for _, m := range msgs {
		if m.CollapseKey != "" {
			last[m.CollapseKey] = m.Seq
		}
	}
	if len(last) == 0 {
		return msgs
	}
	out := msgs[:0]
	for _, m := range msgs {
		if m.CollapseKey == "" || last[m.CollapseKey] == m.Seq {
			out = append(out, m)
		}
	}
	return out
}

// fail closes the session after an error in the writer.
func (s *Session) fail(ctx context.Context, code int, reason string) {
	s.mu.Lock()
	s.running = false
	s.mu.Unlock()
	s.hub.Detach(ctx, s)
	s.conn.Close(code, reason)
}

// close marks the session closed; it writes nothing more.
func (s *Session) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, rs := range s.regs {
		s.hub.handOverStatus(rs.token, &rs.sent)
	}
	if s.hold != nil {
		s.hold.Stop()
		s.hold = nil
	}
	s.queue, s.held = nil, nil
}

// batch collects what one write sends: control frames, messages frames
// (several messages each) and deleted frames, in order.
type batch struct {
	buf       []byte
	ends      []int    // end offset of each frame in buf
	out       [][]byte // the frames, slices of buf (frames)
	open      int      // messages in the open messages frame, 0 if none
	openStart int
	delivered int
	// written counts the messages of successful writes since the writer
	// last added them to the metrics (writers.go).
	written int
}

func (b *batch) reset() {
	b.buf, b.ends, b.open, b.delivered = b.buf[:0], b.ends[:0], 0, 0
}

func (b *batch) empty() bool { return len(b.ends) == 0 && b.open == 0 }

func (b *batch) closeOpen() {
	if b.open > 0 {
		b.buf = append(b.buf, "]}"...)
		b.ends = append(b.ends, len(b.buf))
		b.open = 0
	}
}

func (b *batch) addFrame(f []byte) {
	b.closeOpen()
	b.buf = append(b.buf, f...)
	b.ends = append(b.ends, len(b.buf))
}

// addMsg adds a message of a token stream, or a deleted marker; it
// returns what to remember for the message's status (no ID: nothing).
func (b *batch) addMsg(m *store.Message) sentRef {
	if m.Kind == store.KindDeleted {
		b.closeOpen()
		b.buf = appendDeletedFrame(b.buf, m)
		b.ends = append(b.ends, len(b.buf))
		return sentRef{}
	}
	b.nextMessage()
	b.buf = appendMessage(b.buf, m)
	return sentRef{seq: m.Seq, id: m.ID}
}

// addTopic adds a message of token's topic stream; it returns what to
// remember for the message's status.
func (b *batch) addTopic(token string, m *store.TopicMessage) sentRef {
	b.nextMessage()
	b.buf = appendTopicMessage(b.buf, token, m)
	return sentRef{seq: m.Seq, id: m.ID, topic: true}
}

// addTopicEntry is addTopic for a published entry, from its encoded
// parts if it has them.
func (b *batch) addTopicEntry(token string, e *topicEntry) sentRef {
	if e.head == nil {
		return b.addTopic(token, e.TopicMessage)
	}
	b.nextMessage()
	b.buf = append(b.buf, e.head...)
	b.buf = jsonscan.AppendString(b.buf, token)
	b.buf = append(b.buf, e.tail...)
	return sentRef{seq: e.Seq, id: e.ID, topic: true}
}

// nextMessage makes room for one more message in the open messages frame,
// opening a new frame when there is none or the open one is full.
func (b *batch) nextMessage() {
	if b.open >= maxMessagesPerFrame || (b.open > 0 && len(b.buf)-b.openStart > maxFrameBytes) {
		b.closeOpen()
	}
	if b.open == 0 {
		b.openStart = len(b.buf)
		b.buf = append(b.buf, `{"type":"messages","messages":[`...)
	} else {
		b.buf = append(b.buf, ',')
	}
	b.open++
	b.delivered++
}

func (b *batch) frames() [][]byte {
	b.closeOpen()
	b.out = b.out[:0]
	start := 0
	for _, end := range b.ends {
		b.out = append(b.out, b.buf[start:end])
		start = end
	}
	return b.out
}
