//go:build linux

package gateway

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/dispatch"
)

// poller reads what devices send once their session is attached, with a
// few goroutines blocked in epoll_wait (DESIGN.md §4) instead of one
// goroutine per connection blocked in a read: the wave of acks that
// follows a fan-out is read many connections per wake-up, and an idle
// connection keeps no goroutine and no read buffer. Writes are not its
// business (they go through the conn, from the hub's writers).
//
// A frame is handled on the loop's goroutine when that cannot wait for
// the store (topic acks, most pings, state changes); one that may (an
// ack of a token stream, an hourly last-seen refresh) goes, with every
// frame after it on that connection, to a goroutine of the connection's
// own, so that one device waiting for the store holds up no other.
type poller struct {
	h     *Handler
	loops []*pollLoop
	next  atomic.Uint32
	stop  chan struct{}
	// wake is a pipe in every loop's epoll set: close writes to it, and
	// every loop wakes and ends.
	wake [2]int
	wg   sync.WaitGroup
	once sync.Once
}

// pollLoop is one epoll instance and the goroutine that waits on it.
type pollLoop struct {
	p    *poller
	epfd int
	buf  []byte // what one read returns, reused

	mu    sync.Mutex
	conns map[int32]*pconn // by file descriptor
}

// pconn is a connection the poller reads.
type pconn struct {
	c    *conn
	s    *dispatch.Session
	rc   syscall.RawConn
	fd   int32
	loop *pollLoop

	fr       frameReader
	pending  []byte       // the start of an incomplete frame
	lastRead atomic.Int64 // unix nanos of the last read, for the heartbeat
	removed  atomic.Bool

	mu      sync.Mutex
	queue   []herald.Frame // frames for the connection's goroutine, in order
	running bool           // that goroutine is handling the queue
}

// pollReadSize is how much one read takes from a connection; more stays
// in the socket for the next round (epoll is level-triggered).
const pollReadSize = 64 << 10

// newPoller starts one loop for every two cores (at least one) and the
// heartbeat sweeper; nil if epoll is not available.
func newPoller(h *Handler) *poller {
	p := &poller{h: h, stop: make(chan struct{})}
	if err := syscall.Pipe2(p.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		h.logger.Warn("epoll unavailable: one goroutine reads each connection", "err", err)
		return nil
	}
	for range max(1, runtime.GOMAXPROCS(0)/2) {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err == nil {
			ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p.wake[0])}
			if err = syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); err != nil {
				_ = syscall.Close(epfd)
			}
		}
		if err != nil {
			h.logger.Warn("epoll unavailable: one goroutine reads each connection", "err", err)
			for _, l := range p.loops {
				_ = syscall.Close(l.epfd)
			}
			_ = syscall.Close(p.wake[0])
			_ = syscall.Close(p.wake[1])
			return nil
		}
		p.loops = append(p.loops, &pollLoop{p: p, epfd: epfd, buf: make([]byte, pollReadSize), conns: map[int32]*pconn{}})
	}
	for _, l := range p.loops {
		p.wg.Go(l.run)
	}
	p.wg.Go(p.sweep)
	return p
}

// close stops the loops and the sweeper and waits for them; the
// connections stay open (the hub closes them).
func (p *poller) close() {
	p.once.Do(func() {
		close(p.stop)
		_, _ = syscall.Write(p.wake[1], []byte{0})
		p.wg.Wait()
		for _, l := range p.loops {
			l.mu.Lock()
			_ = syscall.Close(l.epfd)
			l.epfd = -1 // remove has nothing to do any more
			l.mu.Unlock()
		}
		_ = syscall.Close(p.wake[0])
		_ = syscall.Close(p.wake[1])
	})
}

// add makes the poller read c, whose session s is attached; it reports
// false (the caller keeps reading) if c cannot be polled: not a plain
// TCP connection (TLS), or bytes it sent are still in the reader's
// upgrade buffer.
func (p *poller) add(c *conn, s *dispatch.Session) bool {
	tc, ok := c.nc.(*net.TCPConn)
	if !ok || (c.early != nil && c.early.Len() > 0) {
		return false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	var fd int32
	if err := rc.Control(func(u uintptr) { fd = int32(u) }); err != nil {
		return false
	}
	// The read deadline would fail the raw reads once passed; the sweeper
	// keeps the heartbeat instead.
	if err := c.nc.SetReadDeadline(time.Time{}); err != nil {
		return false
	}
	l := p.loops[p.next.Add(1)%uint32(len(p.loops))]
	pc := &pconn{c: c, s: s, rc: rc, fd: fd, loop: l}
	pc.lastRead.Store(time.Now().UnixNano())
	// From here every close of c runs pc.remove first, or has begun
	// already and c is left to its goroutine.
	c.mu.Lock()
	closing := c.closed || c.closing
	if !closing {
		c.onClose = pc.remove
	}
	c.mu.Unlock()
	if closing {
		return false
	}
	// Frames already read past the hello go first, on this goroutine.
	// The reader's buffer goes: the poller reads the socket itself (and
	// a close's linger too), and its 1 KiB was a third of an idle
	// connection's memory.
	var early []byte
	if n := c.br.Buffered(); n > 0 {
		b, _ := c.br.Peek(n)
		early = bytes.Clone(b)
	}
	c.br = nil
	if early != nil && !pc.consume(early) {
		return true
	}
	l.mu.Lock()
	err = syscall.EBADF // the poller has stopped: the server is stopping
	if pc.removed.Load() {
		// Closing meanwhile (remove waits for l.mu before the
		// descriptor closes): nothing to add.
		err = nil
	} else if l.epfd >= 0 {
		l.conns[fd] = pc
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: fd}
		if err = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev); err != nil {
			delete(l.conns, fd)
		}
	}
	l.mu.Unlock()
	if err != nil {
		p.h.logger.Warn("adding a connection to epoll", "err", err)
		go pc.c.closeFromReader(herald.CloseGoingAway, "server error")
	}
	return true
}

// remove stops polling the connection, once, and detaches its session. It
// runs before the connection's descriptor is closed (conn.onClose), so
// that a new connection given the same number is never confused with it.
func (pc *pconn) remove() {
	if pc.removed.Swap(true) {
		return
	}
	l := pc.loop
	l.mu.Lock()
	if l.conns[pc.fd] == pc {
		delete(l.conns, pc.fd)
		if l.epfd >= 0 {
			_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, int(pc.fd), nil)
		}
	}
	l.mu.Unlock()
	go l.p.h.hub.Detach(context.Background(), pc.s)
}

// run waits for readable connections and reads each once per round,
// until the poller closes.
func (l *pollLoop) run() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(l.epfd, events, -1)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			l.p.h.logger.Error("epoll wait failed: connections are no longer read", "err", err)
			return
		}
		now := time.Now().UnixNano()
		for i := range n {
			if int(events[i].Fd) == l.p.wake[0] {
				return // the poller is closing
			}
			l.mu.Lock()
			pc := l.conns[events[i].Fd]
			l.mu.Unlock()
			if pc != nil {
				l.read(pc, now)
			}
		}
		if n == len(events) {
			runtime.Gosched() // more are ready: let the rest of the server run too
		}
	}
}

// read reads what pc's device sent and handles its complete frames.
func (l *pollLoop) read(pc *pconn, now int64) {
	var n int
	var rerr error
	err := pc.rc.Read(func(fd uintptr) bool {
		n, rerr = syscall.Read(int(fd), l.buf)
		return true
	})
	switch {
	case err != nil: // closed meanwhile by another goroutine
		pc.remove()
		return
	case errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EINTR):
		return
	case rerr != nil || n == 0: // the device closed the connection, or it broke
		pc.c.closeConn()
		return
	}
	pc.lastRead.Store(now)
	data := l.buf[:n]
	if len(pc.pending) > 0 {
		data = append(pc.pending, data...)
	}
	pc.consume(data)
}

// consume handles the complete frames at the start of data and keeps the
// rest; it reports false when the connection ended.
func (pc *pconn) consume(data []byte) bool {
	used, err := pc.fr.feed(data, pc.control, pc.message)
	if err != nil {
		pc.fail(err)
		return false
	}
	if rest := data[used:]; len(rest) > 0 {
		pc.pending = append(pc.pending[:0], rest...)
	} else {
		pc.pending = nil // an idle connection keeps no buffer
	}
	return true
}

// errPeerClosing ends a parse at the device's close frame.
var errPeerClosing = errors.New("close frame received")

// control answers a control frame: a ping with a pong, a close with a
// close (then the connection ends).
func (pc *pconn) control(op ws.OpCode, payload []byte) error {
	switch op {
	case ws.OpPing:
		return pc.c.writeControl(ws.OpPong, payload)
	case ws.OpClose:
		echo := payload
		if len(echo) > 2 {
			echo = echo[:2] // the status code, without the reason
		}
		_ = pc.c.writeControl(ws.OpClose, echo)
		pc.c.closeConn()
		return errPeerClosing
	}
	return nil // a pong
}

// message decodes and handles a data message, on the loop or, if it may
// wait for the store (or others wait before it), on the connection's
// goroutine.
func (pc *pconn) message(_ ws.OpCode, msg []byte) error {
	f, err := decodeFrame(msg)
	if err != nil {
		return err
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.running || (f.Type != herald.FrameState && pc.s.AckMayBlock(f.Acks)) {
		pc.queue = append(pc.queue, f)
		if !pc.running {
			pc.running = true
			go pc.drain()
		}
		return nil
	}
	if !pc.handle(f) {
		return errHandled
	}
	return nil
}

// errHandled ends a parse after handle closed the connection.
var errHandled = errors.New("connection closing")

// drain handles the queued frames in order, then ends.
func (pc *pconn) drain() {
	for {
		pc.mu.Lock()
		if len(pc.queue) == 0 || pc.removed.Load() {
			pc.queue, pc.running = nil, false
			pc.mu.Unlock()
			return
		}
		f := pc.queue[0]
		pc.queue = pc.queue[1:]
		pc.mu.Unlock()
		if !pc.handle(f) {
			return
		}
	}
}

// handle acts on a device's frame as the goroutine reader does
// (Handler.handle); false when the connection is closing.
func (pc *pconn) handle(f herald.Frame) bool {
	code, reason := pc.loop.p.h.handle(context.Background(), pc.s, f)
	if code == 0 {
		return true
	}
	pc.remove()
	go pc.c.closeFromReader(code, reason) // it lingers: not on the loop
	return false
}

// fail closes the connection after what the device sent broke the
// protocol, with the close code the goroutine reader would use.
func (pc *pconn) fail(err error) {
	if errors.Is(err, errPeerClosing) || errors.Is(err, errHandled) {
		return
	}
	pc.remove()
	go pc.c.fail(err)
}

// sweep closes the connections that sent nothing for two ping intervals
// (a device pings every interval), checking every quarter interval.
func (p *poller) sweep() {
	if p.h.pingInterval <= 0 {
		return
	}
	limit := 2 * p.h.pingInterval
	t := time.NewTicker(max(p.h.pingInterval/4, 10*time.Millisecond))
	defer t.Stop()
	var silent []*pconn
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			before := now.Add(-limit).UnixNano()
			for _, l := range p.loops {
				l.mu.Lock()
				for _, pc := range l.conns {
					if pc.lastRead.Load() < before {
						silent = append(silent, pc)
					}
				}
				l.mu.Unlock()
			}
			for _, pc := range silent {
				pc.remove()
				go pc.c.closeFromReader(herald.CloseHeartbeatTimeout, "no frame within the heartbeat deadline")
			}
			clear(silent)
			silent = silent[:0]
		}
	}
}
