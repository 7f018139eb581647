// Package gateway serves device connections: the WebSocket upgrade, the
// hello handshake, the read loop with its heartbeat deadline, and frame
// writes (each batch of frames with one write call). What to send is decided
// by dispatch; the gateway only moves frames.
package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/dispatch"
)

// Timeouts of a connection.
const (
	helloTimeout = 10 * time.Second
	writeTimeout = 10 * time.Second
	readBuffer   = 1 << 10
	// After closing because of the device's input, what it still sends is
	// read and dropped for at most this long and this much.
	lingerTimeout = 2 * time.Second
	lingerBytes   = 1 << 20
)

// Handler is the http.Handler of the device connection endpoint.
type Handler struct {
	hub          *dispatch.Hub
	logger       *slog.Logger
	pingInterval time.Duration

	mu    sync.Mutex
	conns map[*conn]struct{}
	done  bool

	// small holds buffers for the small frames devices send (acks, pings,
	// state), read without an allocation each.
	small sync.Pool // wbufs holds the buffers connections write from.
	wbufs sync.Pool

	// poller reads the connections whose session is attached (Linux,
	// plain TCP); nil: each connection's own goroutine reads it.
	poller *poller
}

// maxPooledWrite is the largest write buffer put back in the pool.
const maxPooledWrite = 64 << 10

// smallFrame is the size of the buffers in Handler.small.
const smallFrame = 1024

// New returns the connection handler.
func New(hub *dispatch.Hub, pingInterval time.Duration, logger *slog.Logger) *Handler {
	h := &Handler{hub: hub, logger: logger, pingInterval: pingInterval, conns: map[*conn]struct{}{}}
	h.small.New = func() any { b := make([]byte, smallFrame); return &b }
	h.wbufs.New = func() any { b := make([]byte, 0, 4<<10); return &b }
	h.poller = newPoller(h)
	return h
}

// Stop stops reading the connections handed to the poller and waits for
// its goroutines; call it after the hub has closed the sessions.
func (h *Handler) Stop() {
	if h.poller != nil {
		h.poller.close()
	}
}

// ServeHTTP upgrades the request to a WebSocket and serves it on its own
// goroutine, so that net/http's per-request state is released.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Taken before the upgrade's answer: a device that connects again
	// once its first connection is established gets a later time, even
	// if this goroutine is held up after the answer.
	opened := time.Now()
	nc, rw, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		h.logger.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	var src io.Reader = nc
	var early *bytes.Reader
	if n := rw.Reader.Buffered(); n > 0 {
		b, _ := rw.Reader.Peek(n)
		early = bytes.NewReader(bytes.Clone(b))
		src = io.MultiReader(early, nc)
	}
	c := &conn{nc: nc, br: bufio.NewReaderSize(src, readBuffer), early: early, opened: opened, wbufs: &h.wbufs}
	h.mu.Lock()
	if h.done {
		h.mu.Unlock()
		c.Close(herald.CloseGoingAway, "server shutting down")
		return
	}
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	go h.serve(c)
}

// Close closes every connection that has not reached a session yet; the hub
// closes the others (Hub.Shutdown).
func (h *Handler) Close() {
	h.mu.Lock()
	h.done = true
	conns := h.conns
	h.conns = map[*conn]struct{}{}
	h.mu.Unlock()
	for c := range conns {
		c.Close(herald.CloseGoingAway, "server shutting down")
	}
}

func (h *Handler) serve(c *conn) {
	defer func() {
		h.mu.Lock()
		delete(h.conns, c)
		h.mu.Unlock()
	}()
	ctx := context.Background()
	rd := &wsutil.Reader{
		Source: c.br, State: ws.StateServerSide, CheckUTF8: true,
		MaxFrameSize: herald.MaxFrameSize, MaxMessageSize: herald.MaxFrameSize,
	}
	rd.OnIntermediate = c.control

	_ = c.nc.SetReadDeadline(time.Now().Add(helloTimeout))
	first, err := c.readFrame(rd, &h.small)
	if err != nil {
		c.fail(err)
		return
	}
	if first.Type != herald.FrameHello {
		c.closeFromReader(herald.CloseBadFrame, "the first frame must be hello")
		return
	}
	if first.Hello.Version != herald.ProtocolVersion {
		c.closeFromReader(herald.CloseUnsupportedVersion, fmt.Sprintf("protocol version %d is not supported; this server speaks %d", first.Hello.Version, herald.ProtocolVersion))
		return
	}
	// From here the hub closes it once attached (with a goaway at
	// shutdown), and this goroutine if attaching fails: Close must not
	// close it, even if the device already has its welcome.
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	s, err := h.hub.Attach(ctx, first.Hello, c)
	switch {
	case errors.Is(err, dispatch.ErrUnauthorized):
		c.closeFromReader(herald.CloseUnauthorized, "unknown device or wrong secret: register again")
		return
	case errors.Is(err, dispatch.ErrSuperseded):
		c.closeFromReader(herald.CloseReplaced, "a newer connection of this device is open")
		return
	case errors.Is(err, dispatch.ErrShuttingDown):
		c.closeFromReader(herald.CloseGoingAway, "server shutting down")
		return
	case err != nil:
		h.logger.Error("attaching session", "err", err)
		c.closeFromReader(herald.CloseGoingAway, "server error")
		return
	}
	if h.poller != nil && h.poller.add(c, s) {
		return // the poller reads it from now on, and detaches s at the end
	}
	defer h.hub.Detach(ctx, s)

	deadline := 2 * h.pingInterval // the device pings every interval
	var readBy time.Time
	for {
		// Move the deadline when it has aged by a sixteenth: setting it
		// costs a timer update, and acks come by the thousand.
		if now := time.Now(); readBy.Sub(now) < deadline-deadline/16 {
			readBy = now.Add(deadline)
			_ = c.nc.SetReadDeadline(readBy)
		}
		f, err := c.readFrame(rd, &h.small)
		if err != nil {
			c.fail(err)
			return
		}
		if code, reason := h.handle(ctx, s, f); code != 0 {
			c.closeFromReader(code, reason)
			return
		}
	}
}

// handle acts on a frame the device sent on its attached session s. It
// returns the close code and reason if the connection must close, 0 if
// not.
func (h *Handler) handle(ctx context.Context, s *dispatch.Session, f herald.Frame) (int, string) {
	switch f.Type {
	case herald.FramePing:
		s.Pong(ctx)
	case herald.FrameAck:
		if err := s.Ack(ctx, f.Acks); err != nil {
			h.logger.Error("storing ack", "session", s.ID, "err", err)
			return herald.CloseGoingAway, "server error"
		}
	case herald.FrameState:
		s.SetState(f.State)
	default:
		return herald.CloseBadFrame, fmt.Sprintf("a device may not send %s frames here", f.Type)
	}
	return 0, ""
}

// conn is one WebSocket connection; writes are serialised by mu.
type conn struct {
	nc     net.Conn
	br     *bufio.Reader // nil once the poller reads the connection
	early  *bytes.Reader // bytes read with the upgrade request, if any (before nc in br's source)
	opened time.Time     // when the WebSocket was established

	wbufs *sync.Pool // write buffers, shared by the handler's connections

	mu     sync.Mutex
	closed bool
	// writeBy is the write deadline last set by extendWriteDeadline.
	writeBy time.Time
	// onClose, if set, runs before the connection closes (the poller
	// forgets it); closing is set when a close has begun, so that no hook
	// is set after that. Both under mu.
	onClose func()
	closing bool
}

// beforeClose marks the connection as closing and runs the onClose hook,
// if any. Called without mu.
func (c *conn) beforeClose() {
	c.mu.Lock()
	c.closing = true
	f := c.onClose
	c.mu.Unlock()
	if f != nil {
		f()
	}
}

// writeControl writes a control frame (pong, close) in one write.
func (c *conn) writeControl(op ws.OpCode, payload []byte) error {
	buf := appendHeader(make([]byte, 0, 4+len(payload)), op, len(payload))
	_, err := lockedWriter{c}.Write(append(buf, payload...))
	return err
}

// extendWriteDeadline gives the next write between half of writeTimeout
// and all of it: the deadline moves only when half of it has passed, as
// setting it costs a timer update (a device written to once a second
// would otherwise pay one per write). Called with mu held.
func (c *conn) extendWriteDeadline() {
	now := time.Now()
	if c.writeBy.Sub(now) > writeTimeout/2 {
		return
	}
	c.writeBy = now.Add(writeTimeout)
	_ = c.nc.SetWriteDeadline(c.writeBy)
}

// errClosedByPeer ends the read loop when the device closed the connection.
var errClosedByPeer = errors.New("closed by peer")

// readFrame reads the next data message and decodes it. Control frames are
// answered on the way.
func (c *conn) readFrame(rd *wsutil.Reader, small *sync.Pool) (herald.Frame, error) {
	for {
		hdr, err := rd.NextFrame()
		if err != nil {
			return herald.Frame{}, err
		}
		if hdr.OpCode.IsControl() {
			if err := c.control(hdr, rd); err != nil {
				return herald.Frame{}, err
			}
			continue
		}
		if hdr.OpCode != ws.OpText && hdr.OpCode != ws.OpBinary {
			if err := rd.Discard(); err != nil {
				return herald.Frame{}, err
			}
			continue
		}
		if hdr.Fin && hdr.Length > 0 && hdr.Length <= smallFrame {
			// A whole message in one small frame: read it into a pooled
			// buffer (decoding copies what it keeps).
			bp := small.Get().(*[]byte)
			defer small.Put(bp)
			b := (*bp)[:hdr.Length]
			if _, err := io.ReadFull(rd, b); err != nil {
				return herald.Frame{}, err
			}
			return decodeFrame(b)
		}
		data, err := io.ReadAll(rd)
		if err != nil {
			return herald.Frame{}, err
		}
		return decodeFrame(data)
	}
}

// control answers a control frame (ping → pong, close → close).
func (c *conn) control(hdr ws.Header, r io.Reader) error {
	h := wsutil.ControlHandler{Src: r, Dst: lockedWriter{c}, State: ws.StateServerSide, DisableSrcCiphering: true}
	err := h.Handle(hdr)
	var closed wsutil.ClosedError
	if errors.As(err, &closed) {
		c.closeConn()
		return errClosedByPeer
	}
	return err
}

// fail closes the connection with the close code that matches err.
func (c *conn) fail(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, errClosedByPeer), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		c.closeConn()
	case errors.Is(err, herald.ErrBadFrame):
		c.closeFromReader(herald.CloseBadFrame, truncate(err.Error()))
	case errors.Is(err, wsutil.ErrFrameTooLarge), errors.Is(err, wsutil.ErrMessageTooLarge):
		c.closeFromReader(herald.CloseFrameTooLarge, fmt.Sprintf("frames are limited to %d bytes", herald.MaxFrameSize))
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		c.closeFromReader(herald.CloseHeartbeatTimeout, "no frame within the heartbeat deadline")
	default:
		c.closeFromReader(herald.CloseBadFrame, truncate(err.Error()))
	}
}

// truncate keeps a close reason within the 123 bytes a close frame allows.
func truncate(s string) string {
	if len(s) > 120 {
		return s[:120]
	}
	return s
}

// Opened reports when the WebSocket was established.
func (c *conn) Opened() time.Time { return c.opened }

// WriteFrames writes the frames as text messages with one write call.
func (c *conn) WriteFrames(frames ...[]byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	// Headers and frames go out in one write from a pooled buffer: a
	// connection keeps none between writes (a burst's buffer held by each
	// of 19,500 connections was the largest part of the server's heap).
	bp := c.wbufs.Get().(*[]byte)
	buf := (*bp)[:0]
	for _, f := range frames {
		buf = appendHeader(buf, ws.OpText, len(f))
		buf = append(buf, f...)
	}
	c.extendWriteDeadline()
	_, err := c.nc.Write(buf)
	if cap(buf) <= maxPooledWrite {
		*bp = buf[:0]
		c.wbufs.Put(bp)
	}
	return err
}

// Close sends a close frame and closes the connection.
func (c *conn) Close(code int, reason string) {
	c.beforeClose()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	body := ws.NewCloseFrameBody(ws.StatusCode(code), reason)
	buf := appendHeader(nil, ws.OpClose, len(body))
	buf = append(buf, body...)
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.nc.Write(buf)
	c.closed = true
	_ = c.nc.Close()
}

// closeFromReader closes the connection from the read goroutine: after the
// close frame it stops writing and discards what the device still sends for
// a moment, so that unread input does not turn the close into a TCP reset
// that would destroy the close frame (and its reason) on the device's side.
func (c *conn) closeFromReader(code int, reason string) {
	c.beforeClose()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	body := ws.NewCloseFrameBody(ws.StatusCode(code), reason)
	buf := appendHeader(nil, ws.OpClose, len(body))
	buf = append(buf, body...)
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.nc.Write(buf)
	c.closed = true
	c.mu.Unlock()
	if tc, ok := c.nc.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		_ = c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
		var src io.Reader = c.nc // the poller's connections (poller.add)
		if c.br != nil {
			src = c.br
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(src, lingerBytes))
	}
	_ = c.nc.Close()
}

func (c *conn) closeConn() {
	c.beforeClose()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	_ = c.nc.Close()
}

type lockedWriter struct{ c *conn }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	if w.c.closed {
		return 0, net.ErrClosed
	}
	w.c.extendWriteDeadline()
	return w.c.nc.Write(p)
}

// appendHeader appends an unmasked (server-to-client) frame header.
func appendHeader(dst []byte, op ws.OpCode, n int) []byte {
	dst = append(dst, 0x80|byte(op))
	switch {
	case n < 126:
		return append(dst, byte(n))
	case n <= 0xffff:
		return append(dst, 126, byte(n>>8), byte(n))
	default:
		return append(dst, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}
