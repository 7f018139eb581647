package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/heraldpush/herald"
)

// MaxServerFrameSize bounds a server→device message (a messages frame may
// carry many messages). The SDK closes the connection with status 1009 on a
// larger one.
const MaxServerFrameSize = 1 << 20

// Timeouts of the connection.
const (
	dialTimeout    = 15 * time.Second // TCP connect and WebSocket handshake
	welcomeTimeout = 30 * time.Second // hello sent → welcome received
	writeTimeout   = 10 * time.Second // one frame written
)

// closeError is a close frame received from the server.
type closeError struct {
	code   ws.StatusCode
	reason string
}

func (e *closeError) Error() string {
	return fmt.Sprintf("server closed the connection: %d %s", e.code, e.reason)
}

// conn is one WebSocket connection, client side. Reads happen on one
// goroutine; writes are serialised by mu and each frame goes out in a single
// write call.
type conn struct {
	nc net.Conn
	br *bufio.Reader

	msg []byte                     // a fragmented or large message being read; reused
	ctl []byte                     // a control frame's payload; reused
	hdr [ws.MaxHeaderSize - 2]byte // a frame header being read

	mu   sync.Mutex
	wbuf []byte // the frame being written; reused
}

// dial opens a WebSocket connection to url.
// tlsCfg (nil: the defaults) is used for wss:// URLs.
func dial(ctx context.Context, url string, netDial func(ctx context.Context, network, addr string) (net.Conn, error), tlsCfg *tls.Config) (*conn, error) {
	d := ws.Dialer{Timeout: dialTimeout, NetDial: netDial, TLSConfig: tlsCfg}
	nc, br, _, err := d.Dial(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", url, err)
	}
	if br == nil {
		br = bufio.NewReaderSize(nc, 4096)
	}
	return &conn{nc: nc, br: br}, nil
}

// readMessage returns the next text or binary message, answering pings and
// reporting a close frame as a *closeError. The returned slice is valid until
// the next call; it may be the read buffer's own bytes.
func (c *conn) readMessage() ([]byte, error) {
	if cap(c.msg) > 64<<10 {
		c.msg = nil // do not pin a large buffer on an idle connection
	}
	c.msg = c.msg[:0]
	inMessage := false
	for {
		h, err := ws.ReadHeaderBuffer(c.br, c.hdr[:])
		if err != nil {
			return nil, err
		}
		if h.Length < 0 {
			return nil, c.fail(ws.StatusProtocolError, "bad frame length")
		}
		if h.Masked {
			return nil, c.fail(ws.StatusProtocolError, "masked server frame")
		}
		if h.Rsv != 0 {
			// RFC 6455 §5.2: no extension was negotiated.
			return nil, c.fail(ws.StatusProtocolError, "reserved bits set")
		}
		if h.OpCode.IsControl() {
			if h.Length > ws.MaxControlFramePayloadSize || !h.Fin {
				return nil, c.fail(ws.StatusProtocolError, "bad control frame")
			}
			c.ctl = growTo(c.ctl, int(h.Length))
			if _, err := io.ReadFull(c.br, c.ctl); err != nil {
				return nil, err
			}
			switch h.OpCode {
			case ws.OpPing:
				if err := c.writeRaw(ws.OpPong, c.ctl); err != nil {
					return nil, err
				}
			case ws.OpClose:
				code, reason := ws.ParseCloseFrameData(c.ctl)
				// Echo the close as RFC 6455 asks; the server closes the TCP
				// connection next.
				_ = c.writeRaw(ws.OpClose, c.ctl)
				return nil, &closeError{code: code, reason: reason}
			}
			continue
		}
		switch {
		case h.OpCode == ws.OpContinuation && !inMessage:
			return nil, c.fail(ws.StatusProtocolError, "continuation without a message")
		case h.OpCode != ws.OpContinuation && inMessage:
			return nil, c.fail(ws.StatusProtocolError, "new message inside a fragmented one")
		case h.OpCode != ws.OpContinuation && h.OpCode != ws.OpText && h.OpCode != ws.OpBinary:
			return nil, c.fail(ws.StatusProtocolError, "reserved opcode")
		}
		if int64(len(c.msg))+h.Length > MaxServerFrameSize {
			return nil, c.fail(ws.StatusMessageTooBig, "frame too large")
		}
		if !inMessage && h.Fin && h.Length <= int64(c.br.Size()) {
			// A message in one frame that fits the read buffer (a server's
			// frames nearly always): its bytes where they are, not a copy.
			return c.readBuffered(int(h.Length))
		}
		inMessage = true
		n := len(c.msg)
		c.msg = growTo(c.msg, n+int(h.Length))
		if _, err := io.ReadFull(c.br, c.msg[n:]); err != nil {
			return nil, err
		}
		if h.Fin {
			return c.msg, nil
		}
	}
}

// readBuffered returns the next n bytes, at most the read buffer's size,
// within the read buffer: valid until the next read.
func (c *conn) readBuffered(n int) ([]byte, error) {
	p, err := c.br.Peek(n)
	if err != nil {
		if err == io.EOF && len(p) > 0 {
			err = io.ErrUnexpectedEOF // as io.ReadFull says it
		}
		return nil, err
	}
	_, _ = c.br.Discard(n) // cannot fail: n bytes are buffered
	return p, nil
}

// growTo returns b resized to n bytes, reallocating only when needed.
func growTo(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	nb := make([]byte, n, max(n, 2*cap(b)))
	copy(nb, b)
	return nb
}

// fail sends a close frame and returns an error saying why.
func (c *conn) fail(code ws.StatusCode, reason string) error {
	_ = c.writeClose(code, reason)
	return fmt.Errorf("%w: %s", errProtocol, reason)
}

// errProtocol marks a WebSocket-level violation by the server.
var errProtocol = errors.New("websocket protocol error")

// writeFrame encodes f and writes it as one text message. ctx bounds the
// write together with writeTimeout.
func (c *conn) writeFrame(ctx context.Context, f herald.Frame) error {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode %s frame: %w", f.Type, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.writeRaw(ws.OpText, b)
}

// writeClose sends a close frame with code and reason.
func (c *conn) writeClose(code ws.StatusCode, reason string) error {
	return c.writeRaw(ws.OpClose, ws.NewCloseFrameBody(code, reason))
}

// writeRaw writes one masked frame (header and payload) with a single write
// call. p is not modified.
func (c *conn) writeRaw(op ws.OpCode, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wbuf = appendMasked(c.wbuf[:0], op, p)
	err := c.writeLocked(c.wbuf)
	if cap(c.wbuf) > 64<<10 {
		c.wbuf = nil // do not pin a large buffer on an idle connection
	}
	return err
}

// write writes frames made with appendMasked, in a single write call.
func (c *conn) write(frames []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeLocked(frames)
}

func (c *conn) writeLocked(b []byte) error {
	if err := c.nc.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	_, err := c.nc.Write(b)
	return err
}

// appendMasked appends a final frame of op with payload p, masked with a
// new key as a client's frames must be, to dst. p is not modified.
func appendMasked(dst []byte, op ws.OpCode, p []byte) []byte {
	mask := ws.NewMask()
	var hdr [ws.MaxHeaderSize]byte
	hdr[0] = 0x80 | byte(op) // FIN
	n := 2
	switch l := len(p); {
	case l < 126:
		hdr[1] = 0x80 | byte(l)
	case l <= 0xFFFF:
		hdr[1] = 0x80 | 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(l))
		n = 4
	default:
		hdr[1] = 0x80 | 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(l))
		n = 10
	}
	copy(hdr[n:], mask[:])
	n += 4
	dst = append(dst, hdr[:n]...)
	start := len(dst)
	dst = append(dst, p...)
	ws.Cipher(dst[start:], mask, 0)
	return dst
}

// close closes the TCP connection.
func (c *conn) close() error { return c.nc.Close() }
