package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gobwas/ws"
	"github.com/heraldpush/herald"
)

// defaultPingInterval is used when a welcome frame gives no ping interval.
const defaultPingInterval = 30 * time.Second

// pingJSON is the ping frame; it never changes.
const pingJSON = `{"type":"ping"}`

// Run connects the device and keeps it connected until ctx ends, then
// returns nil. It waits for a first registration (Register) if there is
// none, reconnects after failures with BackoffConfig's delays, and resumes
// where the device left off: the hello frame tells the server the last
// sequence handled for each token, and the server resends the rest.
//
// A connection on which nothing arrives for twice the server's ping
// interval (up to a sixteenth more) is taken for dead: Run closes it and
// reconnects.
//
// Run also keeps the registrations alive: if the server forgot the device
// (close code 4001) or a token (welcome status "unregistered"), it
// registers the apps again and reports each new token through OnNewToken.
//
// Run returns an error only when reconnecting cannot help: ErrReplaced when
// another process connected as the same device, or the server refusing the
// protocol version. Only one Run may be active per Client.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errRunning
	}
	defer c.running.Store(false)

	failures := 0
	for {
		if !c.waitForApps(ctx) {
			return nil
		}
		end := c.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if end.fatal {
			return end.err
		}
		var delay time.Duration
		if end.established {
			failures = 0
			delay = c.backoff.delay(0)
		} else {
			delay = c.backoff.delay(failures)
			failures++
		}
		if end.goAway >= 0 {
			delay = end.goAway
		}
		c.log.Info("herald: disconnected; reconnecting", "err", end.err, "after", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// waitForApps blocks until the client has at least one app to connect for,
// or ctx ends (false).
func (c *Client) waitForApps(ctx context.Context) bool {
	for {
		c.mu.Lock()
		n := len(c.st.Registrations)
		c.mu.Unlock()
		if n > 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-c.changed:
		}
	}
}

// sessionEnd says how a session ended.
type sessionEnd struct {
	err         error
	established bool          // a welcome was received
	fatal       bool          // Run must return err
	goAway      time.Duration // the server's reconnect delay, or -1
}

// session runs one connection: re-registration of lost tokens, hello,
// welcome, then frames until the connection ends.
func (c *Client) session(ctx context.Context) (end sessionEnd) {
	end.goAway = -1
	if err := c.registerLost(ctx); err != nil {
		end.err = err
		return end
	}
	hello, helloState, err := c.hello()
	if err != nil {
		end.err = err
		return end
	}
	cn, err := dial(ctx, c.wsURL, c.cfg.Dial, c.wsTLS)
	if err != nil {
		end.err = err
		return end
	}
	defer cn.close()
	ack := &acker{c: c, cn: cn, delay: c.cfg.AckDelay, topicDelay: c.cfg.AckDelay}
	defer ack.stop()
	var owed ackBatch
	var dec frameDecoder
	// Ending ctx interrupts a blocked read (a read deadline in the past;
	// whoever sets the deadline checks ctx after). The session then sends
	// the acks it owes and holds (the server may forget those messages),
	// including those of a frame handled meanwhile, and says goodbye.
	stopAfter := context.AfterFunc(ctx, func() { _ = cn.nc.SetReadDeadline(time.Unix(1, 0)) })
	defer func() {
		stopAfter()
		if ctx.Err() != nil {
			_ = ack.settle(context.Background(), &owed, true)
			_ = cn.writeClose(ws.StatusNormalClosure, "")
		}
	}()

	if err := cn.writeFrame(ctx, hello); err != nil {
		end.err = fmt.Errorf("send hello: %w", err)
		return end
	}
	if err := cn.nc.SetReadDeadline(time.Now().Add(welcomeTimeout)); err != nil {
		end.err = err
		return end
	}
	if err := ctx.Err(); err != nil {
		end.err = err
		return end
	}
	f, err := c.readFrame(cn, &dec)
	if err != nil {
		return c.ended(ctx, end, err)
	}
	if f.Type != herald.FrameWelcome {
		_ = cn.writeClose(herald.CloseBadFrame, "expected welcome")
		end.err = fmt.Errorf("first frame is %q, not welcome", f.Type)
		return end
	}
	end.established = true
	interval := msDuration(f.Welcome.PingIntervalMillis)
	if interval <= 0 {
		interval = defaultPingInterval
	}
	ack.setTopicHold(msDuration(f.Welcome.TopicAckMillis))
	c.log.Debug("herald: connected", "session", f.Welcome.SessionID, "ping_interval", interval)
	if err := c.reregisterUnregistered(ctx, f.Welcome.Registrations); err != nil {
		end.err = err
		return end
	}

	c.mu.Lock()
	c.sess = cn
	nowState := c.appState
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.sess = nil
		c.mu.Unlock()
	}()
	if nowState != helloState {
		// SetAppState ran between hello and now; the server missed it.
		if err := cn.writeFrame(ctx, herald.Frame{Type: herald.FrameState, State: nowState}); err != nil {
			end.err = err
			return end
		}
	}

	// Pings until the session ends, and none after its goodbye.
	ack.startPings(interval)
	defer ack.stopPings()

	if c.cfg.OnConnected != nil {
		c.cfg.OnConnected()
	}

	// Twice the ping interval without a frame (the server answers every
	// ping) means the connection is dead. Moving the read deadline costs a
	// timer update, and a fan-out brings frames by the thousand: it is set
	// a sixteenth of the silence further out, and moved only once it has
	// aged by that much. A wait for a frame thus ends after between 2 and
	// 2⅛ intervals of silence.
	silence := 2 * interval
	var readBy time.Time
	for {
		if now := time.Now(); readBy.Sub(now) < silence {
			readBy = now.Add(silence + silence/16)
			if err := cn.nc.SetReadDeadline(readBy); err != nil {
				end.err = err
				return end
			}
		}
		if err := ctx.Err(); err != nil {
			end.err = err
			return end
		}
		f, err := c.readFrame(cn, &dec)
		if err != nil {
			return c.ended(ctx, end, err)
		}
		if err := c.handle(ctx, ack, f, &end, &owed); err != nil {
			end.err = err
			return end
		}
		// Frames already received are handled before the acks go out:
		// one ack (and one save of the dedupe marks) for a burst.
		if cn.br.Buffered() > 0 {
			continue
		}
		if err := ack.settle(ctx, &owed, false); err != nil {
			end.err = err
			return end
		}
	}
}

// readFrame reads and decodes the next frame, skipping frames of unknown
// types (a newer server may send them; a v1 device ignores them).
func (c *Client) readFrame(cn *conn, dec *frameDecoder) (herald.Frame, error) {
	for {
		b, err := cn.readMessage()
		if err != nil {
			return herald.Frame{}, err
		}
		f, known, err := dec.serverFrame(b)
		if err != nil {
			_ = cn.writeClose(herald.CloseBadFrame, "bad frame")
			return herald.Frame{}, err
		}
		if known {
			return f, nil
		}
		c.log.Debug("herald: ignoring a frame of unknown type", "type", f.Type)
	}
}

// ended classifies the error that ended a session's reading.
func (c *Client) ended(ctx context.Context, end sessionEnd, err error) sessionEnd {
	end.err = err
	var ce *closeError
	if !errors.As(err, &ce) {
		return end
	}
	switch int(ce.code) {
	case herald.CloseUnauthorized:
		// The server does not know this device: forget it; the next session
		// registers every app again (new tokens → OnNewToken).
		c.log.Warn("herald: device credential refused; the device will register again")
		c.mu.Lock()
		c.st.forgetDevice()
		c.mu.Unlock()
		if serr := c.save(); serr != nil {
			end.err = errors.Join(err, serr)
		}
	case herald.CloseReplaced:
		end.fatal = true
		end.err = fmt.Errorf("client: %w (%s)", ErrReplaced, ce.reason)
	case herald.CloseUnsupportedVersion:
		end.fatal = true
		end.err = fmt.Errorf("client: the server does not speak device protocol v%d: %w", herald.ProtocolVersion, err)
	}
	return end
}

// hello builds the hello frame from the state, and returns the app state it
// announces.
func (c *Client) hello() (herald.Frame, herald.AppState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.Device == nil {
		return herald.Frame{}, "", errors.New("no device credential")
	}
	h := &herald.Hello{
		Version:       herald.ProtocolVersion,
		DeviceID:      c.st.Device.ID,
		DeviceSecret:  c.st.Device.Secret,
		State:         c.appState,
		Registrations: make([]herald.Resume, 0, len(c.st.Registrations)),
	}
	for _, r := range c.st.Registrations {
		if r.Token != "" {
			h.Registrations = append(h.Registrations, herald.Resume{Token: r.Token, Acked: r.LastHandled, TopicAcked: r.LastHandledTopic})
		}
	}
	return herald.Frame{Type: herald.FrameHello, Hello: h}, c.appState, nil
}

// registerLost registers again every app whose token was lost, and reports
// the new tokens through OnNewToken.
func (c *Client) registerLost(ctx context.Context) error {
	type fresh struct{ appKey, token string }
	var news []fresh
	c.regMu.Lock()
	c.mu.Lock()
	if c.st.Device == nil {
		c.st.forgetDevice() // tokens without a device are worthless
	}
	var lost []string
	for k, r := range c.st.Registrations {
		if r.Token == "" {
			lost = append(lost, k)
		}
	}
	c.mu.Unlock()
	var err error
	for _, k := range lost {
		tok, isNew, rerr := c.registerLocked(ctx, k)
		if rerr != nil {
			err = fmt.Errorf("register %s again: %w", k, rerr)
			break
		}
		if isNew {
			news = append(news, fresh{k, tok})
		}
	}
	c.regMu.Unlock()
	for _, n := range news {
		c.log.Info("herald: app registered again", "app_key", n.appKey, "token", shortToken(n.token))
		if c.cfg.OnNewToken != nil {
			c.cfg.OnNewToken(n.appKey, n.token)
		}
	}
	return err
}

// reregisterUnregistered forgets the tokens a welcome reported as
// unregistered, and registers their apps again. The live session receives
// the new registrations without reconnecting.
func (c *Client) reregisterUnregistered(ctx context.Context, statuses []herald.RegistrationStatus) error {
	lost := false
	c.mu.Lock()
	for _, s := range statuses {
		if s.Status != herald.StatusUnregistered {
			continue
		}
		if k, r := c.st.byToken(s.Token); r != nil {
			c.st.lose(k)
			lost = true
		}
	}
	c.mu.Unlock()
	if !lost {
		return nil
	}
	return c.registerLost(ctx)
}
