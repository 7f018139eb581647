package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/heraldpush/herald"
)

// Wire devices (`herald bench topic --devices wire`): Herald devices as
// lean as the raw baseline's clients, so that comparing the two compares
// the servers and not Herald's SDK with a client that only reads. A wire
// device registers and subscribes through the device API, then speaks the
// device protocol (docs/protocol.md) itself: hello, welcome, and per
// messages frame a byte scan (wirescan.go) for each message's place in
// its stream, token, topic and data fields "n" and "t"; it drops
// duplicates, records the receipts as the SDK devices do, acknowledges
// (held as the SDK holds them: up to the ack delay, acks of topic
// messages alone up to the welcome's topic_ack_ms or the next ping) and
// pings every ping interval. It does not reconnect: a connection the server drops
// ends the device, logged and counted (agentReport.Dropped).

// DeviceMode says what runs the Herald devices of `herald bench topic`.
type DeviceMode string

// Device modes.
const (
	// DevicesSDK runs each device with the Go client SDK (client.Client).
	DevicesSDK DeviceMode = "sdk"
	// DevicesWire runs each device as a protocol-level client (wire.go).
	DevicesWire DeviceMode = "wire"
)

// ParseDeviceMode reads a device mode's name.
func ParseDeviceMode(s string) (DeviceMode, error) {
	switch m := DeviceMode(s); m {
	case DevicesSDK, DevicesWire:
		return m, nil
	}
	return "", fmt.Errorf("devices %q: want %s or %s", s, DevicesSDK, DevicesWire)
}

// String describes the mode for the report.
func (m DeviceMode) String() string {
	if m == DevicesWire {
		return "wire (protocol-level: read, dedupe, ack; no SDK)"
	}
	return "sdk (Go client SDK)"
}

// errNoSession marks a wire device that never had a session: the agent
// cannot go on without it.
var errNoSession = errors.New("no session")

// welcomeTimeout bounds the wait for the welcome (docs/protocol.md §4).
const welcomeTimeout = 30 * time.Second

// wireWriteTimeout bounds one write of a wire device.
const wireWriteTimeout = 10 * time.Second

// wireMaxOwed is how many entries a wire device acknowledges at once even
// within the ack delay, as the SDK does: the server counts
// unacknowledged messages against its pending limit.
const wireMaxOwed = 50

// wireDevice is one registered wire device.
type wireDevice struct {
	url   string // the WebSocket URL
	src   *net.TCPAddr
	token string
	cred  herald.DeviceCredential
	delay time.Duration // the ack delay
	stats *agentStats
	// onSession is called when the welcome has been read.
	onSession func()
}

// registerWire registers a device through the device API, as
// client.Client's Register does: the SDK keeps the device credential to
// itself, and a wire device needs it for its hello.
func registerWire(ctx context.Context, hc *http.Client, server, appKey string) (string, herald.DeviceCredential, error) {
	var ans herald.RegisterResponse
	err := postJSON(ctx, hc, server+herald.PathRegister, http.Header{herald.AppKeyHeader: {appKey}}, struct{}{}, &ans)
	if err != nil {
		return "", herald.DeviceCredential{}, fmt.Errorf("register: %w", err)
	}
	if ans.Token == "" || ans.Device == nil {
		return "", herald.DeviceCredential{}, errors.New("register: the answer has no token or no device credential")
	}
	return ans.Token, *ans.Device, nil
}

// subscribeWire subscribes a wire device's token to topic through the
// device API, as client.Client's Subscribe does.
func subscribeWire(ctx context.Context, hc *http.Client, server, token string, cred herald.DeviceCredential, topic string) error {
	path := herald.PathRegistration + "/" + url.PathEscape(token) + herald.PathTopics + "/" + url.PathEscape(topic)
	auth := http.Header{"Authorization": {herald.DeviceAuthScheme + " " + cred.ID + ":" + cred.Secret}}
	if err := postJSON(ctx, hc, server+path, auth, struct{}{}, nil); err != nil {
		return fmt.Errorf("subscribe to %q: %w", topic, err)
	}
	return nil
}

// wsURL is the WebSocket URL of a server's device connections.
func wsURL(server string) string {
	return "ws" + strings.TrimPrefix(server, "http") + herald.PathConnect
}

// dialWS opens a WebSocket connection to u from src, trying up to
// registerAttempts times, and returns it with a reader of its frames
// (including what the handshake read ahead) buffering size bytes.
func dialWS(ctx context.Context, src *net.TCPAddr, u string, size int) (net.Conn, *bufio.Reader, error) {
	nd := &net.Dialer{LocalAddr: src, Timeout: 30 * time.Second}
	d := ws.Dialer{Timeout: 30 * time.Second, NetDial: nd.DialContext}
	var conn net.Conn
	var br *bufio.Reader
	err := retry(ctx, "connect", func() (err error) { conn, br, _, err = d.Dial(ctx, u); return err })
	if err != nil {
		return nil, nil, err
	}
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	return conn, bufio.NewReaderSize(r, size), nil
}

// run connects the device and serves its connection until ctx ends (nil)
// or the connection does: an error wrapping errNoSession if it never had
// a session, else the reason the server's connection ended.
func (d *wireDevice) run(ctx context.Context) error {
	nc, br, err := dialWS(ctx, d.src, d.url, 4096)
	if err != nil {
		return fmt.Errorf("%w: %w", errNoSession, err)
	}
	defer nc.Close()
	c := newWireConn(nc, br, d.token, d.delay, d.stats)
	defer c.stop()
	// Ending ctx interrupts a blocked read: send the acks held back (the
	// server forgets those messages), say goodbye and close, as the SDK.
	stopAfter := context.AfterFunc(ctx, c.shutdown)
	defer stopAfter()
	if err := c.handshake(d.cred); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%w: %w", errNoSession, err)
	}
	d.onSession()
	err = c.serve()
	if ctx.Err() != nil {
		return nil
	}
	d.stats.dropped.Add(1)
	return fmt.Errorf("connection dropped (wire devices do not reconnect): %w", err)
}

// wireConn is a wire device's connection. The reading goroutine owns the
// frame, the dedupe marks and the token; mu guards the writes and the
// acks owed, which the ack and ping timers also use.
type wireConn struct {
	nc        net.Conn
	fr        frameReader
	frame     wireFrame
	token     string
	tokenJSON []byte // token as a JSON string
	// delay holds token acks, topicDelay (at least delay, from the
	// welcome) acks of topic messages alone.
	delay, topicDelay time.Duration
	stats             *agentStats
	silence           time.Duration // twice the ping interval
	// lastSeq and lastTseq are the dedupe marks of the token's two
	// streams: the highest seq and tseq handled.
	lastSeq, lastTseq uint64

	mu        sync.Mutex
	closed    bool
	interval  time.Duration
	pingTimer *time.Timer
	// ackSeq and ackTseq are the highest seq and tseq owed an ack, owed
	// the entries they cover; ackTimer (armed: ackArmed) sends them at
	// ackDue.
	ackSeq, ackTseq uint64
	owed            int
	ackTimer        *time.Timer
	ackDue          time.Time
	ackArmed        bool
	payload, wbuf   []byte
}

// newWireConn returns the connection nc, read through br, of a device
// holding token.
func newWireConn(nc net.Conn, br *bufio.Reader, token string, delay time.Duration, stats *agentStats) *wireConn {
	c := &wireConn{nc: nc, fr: frameReader{r: br}, token: token, delay: delay, topicDelay: delay, stats: stats}
	c.tokenJSON, _ = json.Marshal(token) // a string always marshals
	return c
}

// handshake sends the hello, reads the welcome and starts the pings.
func (c *wireConn) handshake(cred herald.DeviceCredential) error {
	hello, err := json.Marshal(herald.Frame{Type: herald.FrameHello, Hello: &herald.Hello{
		Version: herald.ProtocolVersion, DeviceID: cred.ID, DeviceSecret: cred.Secret,
		Registrations: []herald.Resume{{Token: c.token, Acked: c.lastSeq, TopicAcked: c.lastTseq}},
	}})
	if err != nil {
		return fmt.Errorf("encode hello: %w", err)
	}
	c.mu.Lock()
	err = c.writeLocked(ws.OpText, hello)
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	if err := c.nc.SetReadDeadline(time.Now().Add(welcomeTimeout)); err != nil {
		return err
	}
	p, err := c.readText()
	if err != nil {
		return fmt.Errorf("read welcome: %w", err)
	}
	var f herald.Frame
	if err := json.Unmarshal(p, &f); err != nil || f.Type != herald.FrameWelcome || f.Welcome == nil {
		c.fail("expected welcome")
		return fmt.Errorf("first frame is not a welcome: %.100s", p)
	}
	for _, r := range f.Welcome.Registrations {
		if r.Token == c.token && r.Status != herald.StatusOK {
			return fmt.Errorf("welcome: the token is %s", r.Status)
		}
	}
	interval := time.Duration(f.Welcome.PingIntervalMillis) * time.Millisecond
	if interval <= 0 {
		interval = 30 * time.Second // docs/protocol.md §7
	}
	c.silence = 2 * interval
	c.mu.Lock()
	c.topicDelay = max(c.delay, time.Duration(f.Welcome.TopicAckMillis)*time.Millisecond)
	c.interval = interval
	c.pingTimer = time.AfterFunc(interval, c.ping)
	c.mu.Unlock()
	return nil
}

// serve reads frames until the connection ends.
func (c *wireConn) serve() error {
	var deadlineSet time.Time
	for {
		// Twice the ping interval without a frame (the server answers
		// every ping) is a dead connection. The deadline moves once a
		// quarter of it has passed, not on every frame (a timer update
		// each): the device gives up after 2 to 2.5 intervals of silence.
		if now := time.Now(); now.Sub(deadlineSet) > c.silence/4 {
			if err := c.nc.SetReadDeadline(now.Add(c.silence + c.silence/4)); err != nil {
				return err
			}
			deadlineSet = now
		}
		p, err := c.readText()
		if err != nil {
			return err
		}
		if err := c.handle(p); err != nil {
			c.fail("bad frame")
			return err
		}
	}
}

// handle acts on one text frame.
func (c *wireConn) handle(p []byte) error {
	now := time.Now().UnixNano()
	if err := c.frame.scan(p); err != nil {
		return fmt.Errorf("bad frame: %w", err)
	}
	switch herald.FrameType(c.frame.typ) {
	case herald.FrameMessages:
		if err := c.messages(now); err != nil {
			return err
		}
		// Frames already received are handled before the ack goes out:
		// one ack for a burst, as the SDK.
		if c.fr.r.Buffered() > 0 {
			return nil
		}
		return c.settle(false)
	case herald.FrameDeleted, herald.FrameTokenRefresh:
		return c.rare(p)
	case "":
		return errors.New("bad frame: no type")
	}
	return nil // pong, goaway (the close follows), or a type a v1 device ignores
}

// messages handles the messages of a messages frame: records the new
// ones, drops the duplicates and owes an ack for all of them. Messages of
// another token are neither handled nor acknowledged (docs/protocol.md §5).
func (c *wireConn) messages(now int64) error {
	if len(c.frame.msgs) == 0 {
		return errors.New("bad frame: messages frame without messages")
	}
	var seq, tseq uint64
	n := 0
	for i := range c.frame.msgs {
		m := &c.frame.msgs[i]
		if (m.seq == 0) == (m.tseq == 0) {
			return fmt.Errorf("bad frame: a message with seq %d and tseq %d", m.seq, m.tseq)
		}
		if string(m.token) != c.token {
			continue
		}
		if m.tseq > c.lastTseq || (m.tseq == 0 && m.seq > c.lastSeq) {
			c.stats.onData(now, string(m.topic), string(m.t), string(m.n))
			c.lastTseq, c.lastSeq = max(c.lastTseq, m.tseq), max(c.lastSeq, m.seq)
		}
		seq, tseq = max(seq, m.seq), max(tseq, m.tseq)
		n++
	}
	c.owe(seq, tseq, n)
	return nil
}

// rare handles the frames a bench device hardly ever gets, with
// encoding/json: deleted (pending messages were dropped; it takes a place
// in the sequence) and token_refresh.
func (c *wireConn) rare(p []byte) error {
	var f herald.Frame
	if err := json.Unmarshal(p, &f); err != nil {
		return fmt.Errorf("bad frame: %w", err)
	}
	if err := f.Validate(); err != nil {
		return err
	}
	switch {
	case f.Deleted != nil && f.Deleted.Token == c.token:
		c.lastSeq = max(c.lastSeq, f.Deleted.Seq)
		c.owe(f.Deleted.Seq, 0, 1)
		return c.settle(false)
	case f.TokenRefresh != nil && f.TokenRefresh.Old == c.token:
		// The new token starts its own sequence; topic positions are
		// the project's and carry over (docs/protocol.md §5-6).
		if err := c.settle(true); err != nil {
			return err
		}
		c.token, c.lastSeq = f.TokenRefresh.New, 0
		c.tokenJSON, _ = json.Marshal(c.token)
	}
	return nil
}

// owe adds n handled entries, up to seq and tseq, to the acks owed.
func (c *wireConn) owe(seq, tseq uint64, n int) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	c.ackSeq, c.ackTseq = max(c.ackSeq, seq), max(c.ackTseq, tseq)
	c.owed += n
	c.mu.Unlock()
}

// settle sends the acks owed now if now is set, there is no hold or
// wireMaxOwed entries are owed, else arms the ack timer: half to one and
// a half times the hold (topicDelay if only topic messages are owed), as
// the SDK does.
func (c *wireConn) settle(now bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	hold := c.topicDelay
	if c.ackSeq > 0 {
		hold = c.delay
	}
	switch {
	case c.owed == 0:
		return nil
	case now || hold <= 0 || c.owed >= wireMaxOwed:
		return c.ackLocked()
	}
	due := time.Now().Add(hold/2 + rand.N(hold))
	if c.ackArmed && !due.Before(c.ackDue) {
		return nil
	}
	if c.ackTimer == nil {
		c.ackTimer = time.AfterFunc(time.Until(due), c.fireAck)
	} else {
		c.ackTimer.Stop()
		c.ackTimer.Reset(time.Until(due))
	}
	c.ackDue, c.ackArmed = due, true
	return nil
}

// fireAck sends the held acks when the delay ends; a failure closes the
// connection, which ends the read.
func (c *wireConn) fireAck() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ackArmed = false
	if c.owed > 0 && c.ackLocked() != nil {
		_ = c.nc.Close()
	}
}

// ackLocked writes {"type":"ack","acks":[{"token":T,"seq":S,"tseq":N}]}
// for what is owed (seq or tseq left out when 0). The caller holds mu.
func (c *wireConn) ackLocked() error {
	c.appendAckLocked()
	if err := c.writeLocked(ws.OpText, c.payload); err != nil {
		return fmt.Errorf("send ack: %w", err)
	}
	return nil
}

// appendAckLocked makes the ack frame's JSON of what is owed in payload,
// and owes nothing more. The caller holds mu.
func (c *wireConn) appendAckLocked() {
	if c.ackArmed {
		c.ackTimer.Stop()
		c.ackArmed = false
	}
	b := append(c.payload[:0], `{"type":"ack","acks":[{"token":`...)
	b = append(b, c.tokenJSON...)
	if c.ackSeq > 0 {
		b = strconv.AppendUint(append(b, `,"seq":`...), c.ackSeq, 10)
	}
	if c.ackTseq > 0 {
		b = strconv.AppendUint(append(b, `,"tseq":`...), c.ackTseq, 10)
	}
	c.payload = append(b, "}]}"...)
	c.ackSeq, c.ackTseq, c.owed = 0, 0, 0
}

// ping sends a ping frame, after the acks owed if any in the same write,
// and schedules the next; a failure closes the connection.
func (c *wireConn) ping() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.wbuf = c.wbuf[:0]
	if c.owed > 0 {
		c.appendAckLocked()
		c.wbuf = appendClientFrame(c.wbuf, ws.OpText, c.payload)
	}
	c.wbuf = appendClientFrame(c.wbuf, ws.OpText, []byte(`{"type":"ping"}`))
	if err := c.writeBufLocked(); err != nil {
		_ = c.nc.Close()
		return
	}
	c.pingTimer.Reset(c.interval)
}

// shutdown ends the connection when the device stops: the acks held
// back, a close frame (1000), and the socket closed.
func (c *wireConn) shutdown() {
	c.mu.Lock()
	if c.owed > 0 {
		_ = c.ackLocked()
	}
	_ = c.writeLocked(ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
	c.mu.Unlock()
	_ = c.nc.Close()
}

// fail sends a close frame for a protocol error (4000).
func (c *wireConn) fail(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.writeLocked(ws.OpClose, ws.NewCloseFrameBody(herald.CloseBadFrame, reason))
}

// stop stops the timers; nothing is written afterwards.
func (c *wireConn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.pingTimer != nil {
		c.pingTimer.Stop()
	}
	if c.ackTimer != nil {
		c.ackTimer.Stop()
	}
}

// writeLocked writes p as one masked frame of kind op, header and payload
// in one write call. The caller holds mu.
func (c *wireConn) writeLocked(op ws.OpCode, p []byte) error {
	c.wbuf = appendClientFrame(c.wbuf[:0], op, p)
	return c.writeBufLocked()
}

// writeBufLocked writes the frames in wbuf. The caller holds mu.
func (c *wireConn) writeBufLocked() error {
	if c.closed {
		return net.ErrClosed
	}
	if err := c.nc.SetWriteDeadline(time.Now().Add(wireWriteTimeout)); err != nil {
		return err
	}
	_, err := c.nc.Write(c.wbuf)
	return err
}

// appendClientFrame appends p as a client frame (FIN, masked, RFC 6455
// §5.2) of kind op to dst.
func appendClientFrame(dst []byte, op ws.OpCode, p []byte) []byte {
	dst = append(dst, 0x80|byte(op))
	switch l := len(p); {
	case l < 126:
		dst = append(dst, 0x80|byte(l))
	case l <= 0xFFFF:
		dst = binary.BigEndian.AppendUint16(append(dst, 0x80|126), uint16(l))
	default:
		dst = binary.BigEndian.AppendUint64(append(dst, 0x80|127), uint64(l))
	}
	mask := ws.NewMask()
	dst = append(dst, mask[:]...)
	n := len(dst)
	dst = append(dst, p...)
	ws.Cipher(dst[n:], mask, 0)
	return dst
}

// readText returns the next text frame, answering pings, treating pongs
// as liveness and a close frame (echoed) as the end.
func (c *wireConn) readText() ([]byte, error) {
	for {
		h, p, err := c.fr.next()
		if err != nil {
			return nil, err
		}
		if !h.Fin || h.OpCode == ws.OpContinuation {
			return nil, errors.New("fragmented frame (Herald servers do not fragment)")
		}
		switch h.OpCode {
		case ws.OpText:
			return p, nil
		case ws.OpPing:
			c.mu.Lock()
			err = c.writeLocked(ws.OpPong, p)
			c.mu.Unlock()
			if err != nil {
				return nil, err
			}
		case ws.OpClose:
			code, reason := ws.ParseCloseFrameData(p)
			c.mu.Lock()
			_ = c.writeLocked(ws.OpClose, p)
			c.mu.Unlock()
			return nil, fmt.Errorf("the server closed the connection: %d %s", code, reason)
		}
	}
}

// maxServerFrame bounds a server frame (docs/protocol.md §2).
const maxServerFrame = 1 << 20

// frameReader reads a server's WebSocket frames into a buffer it reuses.
type frameReader struct {
	r   *bufio.Reader
	buf []byte
}

// next reads a frame: its header and payload (valid until the next call).
func (fr *frameReader) next() (ws.Header, []byte, error) {
	h, err := ws.ReadHeader(fr.r)
	if err != nil {
		return h, nil, fmt.Errorf("read frame header: %w", err)
	}
	if h.Length < 0 || h.Length > maxServerFrame {
		return h, nil, fmt.Errorf("frame of %d bytes", h.Length)
	}
	if int(h.Length) > cap(fr.buf) {
		fr.buf = make([]byte, h.Length)
	}
	p := fr.buf[:h.Length]
	if _, err := io.ReadFull(fr.r, p); err != nil {
		return h, nil, fmt.Errorf("read frame: %w", err)
	}
	if h.Masked {
		ws.Cipher(p, h.Mask, 0)
	}
	return h, p, nil
}
