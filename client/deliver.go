package client

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/heraldpush/herald"
)

// serverFrame decodes a server→device frame. Unlike herald.DecodeFrame it
// is lenient, as a client must be towards a newer server: unknown members
// are ignored, and a frame of an unknown type is reported with known false
// (and no error) so that the caller can skip it. Known frames are
// validated. A messages frame is valid until the next call.
func (d *frameDecoder) serverFrame(b []byte) (herald.Frame, bool, error) {
	if f, ok := d.messagesFast(b); ok {
		if err := f.Validate(); err != nil {
			return herald.Frame{}, false, err
		}
		return f, true, nil
	}
	return decodeFrameJSON(b)
}

// decodeFrameJSON is serverFrame with encoding/json, for the frames
// outside the fast path.
func decodeFrameJSON(b []byte) (f herald.Frame, known bool, err error) {
	if err := json.Unmarshal(b, &f); err != nil {
		return herald.Frame{}, false, fmt.Errorf("%w: %v", herald.ErrBadFrame, err)
	}
	switch f.Type {
	case herald.FrameWelcome, herald.FrameMessages, herald.FrameDeleted,
		herald.FrameTokenRefresh, herald.FramePong, herald.FrameGoAway:
	default:
		if f.Type == "" {
			return herald.Frame{}, false, fmt.Errorf("%w: missing type", herald.ErrBadFrame)
		}
		return f, false, nil
	}
	if err := f.Validate(); err != nil {
		return herald.Frame{}, false, err
	}
	return f, true, nil
}

// handle acts on one frame of an established session.
func (c *Client) handle(ctx context.Context, ack *acker, f herald.Frame, end *sessionEnd, owed *ackBatch) error {
	switch f.Type {
	case herald.FrameMessages:
		c.handleMessages(ctx, f.Messages, owed)
		return nil
	case herald.FrameDeleted:
		c.handleDeleted(*f.Deleted, owed)
		return nil
	case herald.FramePong, herald.FrameWelcome:
		// A pong only proves the connection is alive (the read deadline
		// moved). A second welcome is out of place and ignored.
		return nil
	}
	// Anything else may change the registrations: settle what is owed
	// first.
	if err := ack.settle(ctx, owed, true); err != nil {
		return err
	}
	switch f.Type {
	case herald.FrameTokenRefresh:
		return c.handleTokenRefresh(*f.TokenRefresh)
	case herald.FrameGoAway:
		end.goAway = max(0, msDuration(f.GoAway.ReconnectAfterMillis))
		c.log.Info("herald: server going away", "reason", f.GoAway.Reason, "reconnect_after", end.goAway)
	}
	return nil
}

// handleMessages delivers the new messages of a frame to the app, drops the
// duplicates, saves the dedupe marks, then acknowledges the frame: for each
// token, the highest sequence seen (cumulative). A token has two streams,
// deduplicated and acknowledged separately: its own messages (Seq) and the
// messages of its topics and conditions (TopicSeq). Messages for a token
// this device does not hold (deleted by the app, or not yet stored) are
// neither delivered nor acknowledged.
func (c *Client) handleMessages(ctx context.Context, msgs []herald.Message, out *ackBatch) {
	for i := range msgs {
		m := &msgs[i]
		topic := m.TopicSeq != 0
		c.mu.Lock()
		_, r := c.st.byToken(m.Token)
		isNew := r != nil && r.isNew(topic, m.Seq, m.TopicSeq)
		background := c.appState == herald.Background
		c.mu.Unlock()
		if r == nil {
			c.log.Debug("herald: message for an unknown token", "token", shortToken(m.Token), "seq", m.Seq, "tseq", m.TopicSeq)
			continue
		}
		if isNew {
			if c.decryptWebPush(r, m) {
				c.deliver(ctx, m, background)
			}
			c.mu.Lock()
			if r.Token == m.Token && r.isNew(topic, m.Seq, m.TopicSeq) {
				if topic {
					r.LastHandledTopic = m.TopicSeq
				} else {
					r.LastHandled = m.Seq
				}
				out.changed = true
			}
			c.mu.Unlock()
		}
		out.acks = addAck(out.acks, herald.Ack{Token: m.Token, Seq: m.Seq, TopicSeq: m.TopicSeq})
		out.n++
	}
}

// isNew reports whether a message is above the dedupe mark of its stream.
func (r *registration) isNew(topic bool, seq, tseq uint64) bool {
	if topic {
		return tseq > r.LastHandledTopic
	}
	return seq > r.LastHandled
}

// handleDeleted reports dropped messages to the app. The marker has its own
// place in the token's sequence: it is deduplicated and acknowledged as a
// message is.
func (c *Client) handleDeleted(d herald.Deleted, out *ackBatch) {
	c.mu.Lock()
	_, r := c.st.byToken(d.Token)
	isNew := r != nil && d.Seq > r.LastHandled
	c.mu.Unlock()
	if r == nil {
		return
	}
	if isNew {
		if c.cfg.OnDeletedMessages != nil {
			c.cfg.OnDeletedMessages(d.Token, d.Count)
		}
		c.mu.Lock()
		if r.Token == d.Token && d.Seq > r.LastHandled {
			r.LastHandled = d.Seq
			out.changed = true
		}
		c.mu.Unlock()
	}
	out.acks = addAck(out.acks, herald.Ack{Token: d.Token, Seq: d.Seq})
	out.n++
}

// ackBatch is what the device owes the server for the frames handled
// since the last settle: acks, how many entries they cover, and whether
// the dedupe marks changed since they were last saved.
type ackBatch struct {
	acks    []herald.Ack
	n       int
	changed bool
}

// maxOwed is how many entries the SDK acknowledges at once even within
// a hold: the server counts unacknowledged messages against the pending
// limit (100).
const maxOwed = 50

// acker sends a session's acks and its pings. Acks go at once, or are
// held a little and then one goes for everything handled meanwhile. Acks
// of the token stream are held for Config.AckDelay; acks of topic
// messages only, for the welcome's topic_ack_ms if that is longer (the
// server forgets nothing on a topic ack: the hello's tacked resumes the
// stream, so it only asks for the ack to count the delivery), and they go
// out with the next ping if that comes first: a device that gets topic
// messages then sends about one ack frame per ping, in the ping's own
// write.
type acker struct {
	c  *Client
	cn *conn
	// delay holds token acks (Config.AckDelay), topicDelay topic acks
	// (at least delay); set before the session's frames are read.
	delay, topicDelay time.Duration

	mu   sync.Mutex
	acks []herald.Ack
	n    int
	// payload and frame are the ack frame's JSON and the frames being
	// written, reused.
	payload, frame []byte
	err            error // a delayed write failed: the session ends
	// timer runs fire at due; made on the first hold and reused (Reset)
	// for the next ones. armed says a delayed write is due.
	timer *time.Timer
	due   time.Time
	armed bool
	// pinger sends a ping every pingEvery (with the acks held) until
	// pingsOff; a timer, not a goroutine per connection.
	pinger    *time.Timer
	pingEvery time.Duration
	pingsOff  bool
}

// setTopicHold applies the welcome's topic ack hold (never shorter than
// the token acks').
func (a *acker) setTopicHold(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.topicDelay = max(a.delay, d)
}

// settle saves the dedupe marks of b if they changed, then hands its acks
// over: written now if now is set, there is no hold or maxOwed entries
// are owed, else when the hold ends (the shorter hold if token acks are
// among them). The order matters: once acknowledged, the server forgets a
// message, so the mark must already be on disk for a resend after a lost
// ack to be dropped.
func (a *acker) settle(ctx context.Context, b *ackBatch, now bool) error {
	if b.changed {
		if err := a.c.save(); err != nil {
			return err
		}
		b.changed = false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	hold := a.topicDelay
	for _, x := range b.acks {
		if x.Seq > 0 {
			hold = a.delay
		}
		a.acks = addAck(a.acks, x)
	}
	a.n += b.n
	b.acks, b.n = b.acks[:0], 0
	if a.err != nil {
		return a.err
	}
	if len(a.acks) == 0 {
		return nil
	}
	if now || hold <= 0 || a.n >= maxOwed {
		return a.writeLocked(ctx, false)
	}
	// Half to one and a half times the hold: devices that got the same
	// fan-out do not all answer at the same moment.
	due := time.Now().Add(hold/2 + rand.N(hold))
	if a.armed && !due.Before(a.due) {
		return nil // an earlier write is due already
	}
	a.disarmLocked()
	if a.timer == nil {
		a.timer = time.AfterFunc(time.Until(due), a.fire)
	} else {
		a.timer.Reset(time.Until(due))
	}
	a.due, a.armed = due, true
	return nil
}

// fire writes the delayed acks; a failure closes the connection, which
// ends the session's read. A fire stopped too late (already started,
// waiting for mu) finds no write armed, or one due later, and does
// nothing: a timer never fires before its due time.
func (a *acker) fire() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.armed || time.Now().Before(a.due) {
		return
	}
	a.armed = false
	if len(a.acks) == 0 {
		return
	}
	if err := a.writeLocked(context.Background(), false); err != nil && a.err == nil {
		a.err = err
		_ = a.cn.close()
	}
}

// startPings sends a ping every interval, after the acks held if there
// are any, in one write, until stopPings; a failed write closes the
// connection, which ends the session's read.
func (a *acker) startPings(interval time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pingEvery = interval
	a.pinger = time.AfterFunc(interval, a.ping)
}

func (a *acker) ping() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pingsOff {
		return
	}
	if err := a.writeLocked(context.Background(), true); err != nil {
		a.pingsOff = true
		_ = a.cn.close()
		return
	}
	a.pinger.Reset(a.pingEvery)
}

// stopPings stops the pings: none is written after it returns (a ping
// due meanwhile finds pingsOff).
func (a *acker) stopPings() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pingsOff = true
	if a.pinger != nil {
		a.pinger.Stop()
	}
}

// writeLocked writes the acks held, and a ping after them if ping is set.
// If ctx is done it writes nothing and keeps them: Run is stopping, and
// the session's goodbye sends them.
func (a *acker) writeLocked(ctx context.Context, ping bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.disarmLocked()
	a.frame = a.frame[:0]
	if len(a.acks) > 0 {
		a.payload = appendAckFrame(a.payload[:0], a.acks)
		a.frame = appendMasked(a.frame, ws.OpText, a.payload)
	}
	if ping {
		a.frame = appendMasked(a.frame, ws.OpText, []byte(pingJSON))
	}
	err := a.cn.write(a.frame)
	a.acks, a.n = a.acks[:0], 0
	if err != nil {
		if ping {
			return fmt.Errorf("send ping: %w", err)
		}
		return fmt.Errorf("send ack: %w", err)
	}
	return nil
}

// disarmLocked cancels the delayed write, if one is due (a fire already
// started finds it disarmed).
func (a *acker) disarmLocked() {
	if a.armed {
		a.timer.Stop()
	}
	a.armed = false
}

// stop cancels a delayed write (the session is over; unsent acks mean
// redeliveries, which the dedupe marks drop).
func (a *acker) stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.disarmLocked()
}

// addAck raises the ack of a's token to a's Seq and TopicSeq, keeping
// first-seen order.
func addAck(acks []herald.Ack, a herald.Ack) []herald.Ack {
	for i := range acks {
		if acks[i].Token == a.Token {
			acks[i].Seq = max(acks[i].Seq, a.Seq)
			acks[i].TopicSeq = max(acks[i].TopicSeq, a.TopicSeq)
			return acks
		}
	}
	return append(acks, a)
}

// deliver hands one message to the app according to the app state (see
// Config): background or not.
func (c *Client) deliver(ctx context.Context, m *herald.Message, background bool) {
	if background {
		if m.Notification != nil && c.cfg.Notifier != nil {
			if err := c.cfg.Notifier.Notify(ctx, *m); err != nil {
				// The message counts as handled: retrying a notifier that
				// fails would redeliver it forever.
				c.log.Warn("herald: notifier failed", "id", m.ID, "err", err)
			}
			return
		}
		if c.cfg.OnBackgroundMessage != nil {
			c.cfg.OnBackgroundMessage(ctx, *m)
			return
		}
	}
	if c.cfg.OnMessage != nil {
		c.cfg.OnMessage(ctx, *m)
	}
}

// handleTokenRefresh moves an app from the old token to the new one and
// tells the app. A refresh the device asked for itself (RefreshToken) has
// already been applied and is not reported again.
func (c *Client) handleTokenRefresh(tr herald.TokenRefresh) error {
	c.mu.Lock()
	appKey, r := c.st.byToken(tr.Old)
	if r != nil {
		c.st.setToken(appKey, tr.New)
	}
	c.mu.Unlock()
	if r == nil {
		return nil
	}
	if err := c.save(); err != nil {
		return err
	}
	c.log.Info("herald: token replaced by the server", "app_key", appKey, "token", shortToken(tr.New))
	if c.cfg.OnNewToken != nil {
		c.cfg.OnNewToken(appKey, tr.New)
	}
	return nil
}

// msDuration converts milliseconds to a Duration.
func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }
