package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// The raw baseline: `herald bench raw-server` (RunRawServer) is the least a
// push server can do, a gobwas/ws listener with one goroutine per
// connection and no protocol, which on command writes one precompiled
// text frame to every connection, in one write each. The topic bench's
// agents connect plain WebSocket clients to it (connectRaw) and time the
// frames as they time Herald's messages.
//
// The raw server's protocol: JSON lines. It writes listening with its
// address, then answers each rawMsg of the parent on its stdin: stats with
// the connections and its resident memory, send (message n with send time
// t) with sent once the frame is queued for every connection. It ends when
// its stdin closes.

// Message types of the raw server's protocol.
const (
	rawListening = "listening"
	rawStats     = "stats"
	rawSend      = "send"
	rawSent      = "sent"
	rawError     = "error"
)

// rawMsg is a message between the parent and the raw server.
type rawMsg struct {
	Type     string `json:"type"`
	Addr     string `json:"addr,omitempty"`
	Conns    int64  `json:"conns,omitempty"`
	RSSBytes int64  `json:"rss_bytes,omitempty"`
	N        int64  `json:"n,omitempty"`
	T        int64  `json:"t,omitempty"`
	Error    string `json:"error,omitempty"`
}

// rawQueue is how many frames a raw connection's writer may have queued.
const rawQueue = 256

// rawConn is one connection of the raw server.
type rawConn struct {
	frames chan []byte
	dead   atomic.Bool
}

// rawServer is the raw server's state.
type rawServer struct {
	mu    sync.Mutex
	conns []*rawConn
}

// RunRawServer runs the raw baseline server on 127.0.0.1 (an ephemeral
// port), talking to the parent bench over in and out (see the protocol
// above). It returns when in closes or ctx ends.
func RunRawServer(ctx context.Context, in io.Reader, out io.Writer, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	enc := json.NewEncoder(out)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = enc.Encode(rawMsg{Type: rawError, Error: err.Error()})
		return fmt.Errorf("bench raw server: %w", err)
	}
	srv := &rawServer{}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	stopListener := context.AfterFunc(ctx, func() { ln.Close() })
	defer stopListener()
	wg.Go(func() { srv.accept(ctx, ln, &wg, logger) })
	if err := enc.Encode(rawMsg{Type: rawListening, Addr: ln.Addr().String()}); err != nil {
		return fmt.Errorf("bench raw server: write to parent: %w", err)
	}
	dec := json.NewDecoder(bufio.NewReader(in))
	for {
		var m rawMsg
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("bench raw server: read from parent: %w", err)
		}
		var answer rawMsg
		switch m.Type {
		case rawStats:
			srv.mu.Lock()
			n := len(srv.conns)
			srv.mu.Unlock()
			answer = rawMsg{Type: rawStats, Conns: int64(n), RSSBytes: residentBytes()}
		case rawSend:
			if err := srv.broadcast(ctx, rawPayload(m.N, m.T)); err != nil {
				return fmt.Errorf("bench raw server: %w", err)
			}
			answer = rawMsg{Type: rawSent, N: m.N}
		default:
			answer = rawMsg{Type: rawError, Error: fmt.Sprintf("unknown command %q", m.Type)}
		}
		if err := enc.Encode(answer); err != nil {
			return fmt.Errorf("bench raw server: write to parent: %w", err)
		}
	}
}

// accept accepts connections until ln closes; each gets a goroutine that
// upgrades it and writes the frames queued for it until ctx ends.
func (s *rawServer) accept(ctx context.Context, ln net.Listener, wg *sync.WaitGroup, logger *slog.Logger) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				logger.Warn("bench raw server: accept", "err", err)
			}
			return
		}
		wg.Go(func() {
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
			if _, err := ws.Upgrade(conn); err != nil {
				logger.Warn("bench raw server: upgrade", "err", err)
				return
			}
			_ = conn.SetDeadline(time.Time{})
			rc := &rawConn{frames: make(chan []byte, rawQueue)}
			s.mu.Lock()
			s.conns = append(s.conns, rc)
			s.mu.Unlock()
			for {
				select {
				case <-ctx.Done():
					return
				case f := <-rc.frames:
					if _, err := conn.Write(f); err != nil {
						rc.dead.Store(true)
						return
					}
				}
			}
		})
	}
}

// broadcast compiles payload into one text frame and queues it for every
// live connection.
func (s *rawServer) broadcast(ctx context.Context, payload []byte) error {
	frame, err := ws.CompileFrame(ws.NewTextFrame(payload))
	if err != nil {
		return fmt.Errorf("compile frame: %w", err)
	}
	s.mu.Lock()
	conns := s.conns
	s.mu.Unlock()
	for _, rc := range conns {
		if rc.dead.Load() {
			continue
		}
		select {
		case rc.frames <- frame:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// rawPayload is the raw baseline's message n sent at t (unix nanos), about
// as large as the bench's Herald data payload.
func rawPayload(n, t int64) []byte {
	b := append([]byte(`{"`+dataNumber+`":"`), strconv.FormatInt(n, 10)...)
	b = append(b, `","`+dataSentAt+`":"`...)
	b = strconv.AppendInt(b, t, 10)
	return append(b, `","pad":"`+pad+`"}`...)
}

// parseRawPayload reads n and t back from a raw payload.
func parseRawPayload(p []byte) (n, t int64, ok bool) {
	field := func(name string) (int64, bool) {
		key := []byte(`"` + name + `":"`)
		i := bytes.Index(p, key)
		if i < 0 {
			return 0, false
		}
		rest := p[i+len(key):]
		j := bytes.IndexByte(rest, '"')
		if j < 0 {
			return 0, false
		}
		v, err := strconv.ParseInt(string(rest[:j]), 10, 64)
		return v, err == nil
	}
	n, ok1 := field(dataNumber)
	t, ok2 := field(dataSentAt)
	return n, t, ok1 && ok2
}

// residentBytes is this process's resident memory (Linux /proc/self/statm),
// 0 where unknown.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// connectRaw connects start.Devices plain WebSocket clients to
// start.RawURL from the agent's source addresses, at most
// start.Concurrency connecting at a time, and records the frames they
// receive until runCtx ends. A client that cannot connect after
// registerAttempts tries calls fail.
func connectRaw(ctx, runCtx context.Context, start agentStart, stats *agentStats, fail func(error), logger *slog.Logger) {
	span := start.SourceTo - start.SourceFrom + 1
	slots := make(chan struct{}, start.Concurrency)
	var conns sync.WaitGroup
	defer conns.Wait()
	for i := range start.Devices {
		select {
		case <-ctx.Done():
			return
		case slots <- struct{}{}:
		}
		src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(start.SourceFrom+i%span))}
		conns.Go(func() {
			conn, br, err := dialWS(ctx, src, start.RawURL, 512)
			<-slots
			if err != nil {
				fail(fmt.Errorf("bench agent: raw connection %d: %w", i, err))
				return
			}
			defer conn.Close()
			stop := context.AfterFunc(runCtx, func() { conn.Close() })
			defer stop()
			stats.onConnected(true)
			if err := readRaw(br, stats); err != nil && runCtx.Err() == nil {
				logger.Warn("bench agent: raw connection ended", "err", err)
			}
		})
	}
}

// readRaw reads server frames from r until an error or a close frame,
// recording each text frame's receipt.
func readRaw(r *bufio.Reader, stats *agentStats) error {
	fr := frameReader{r: r, buf: make([]byte, 256)}
	for {
		h, p, err := fr.next()
		if err != nil {
			return err
		}
		now := time.Now().UnixNano()
		switch h.OpCode {
		case ws.OpClose:
			return nil
		case ws.OpText:
			n, t, ok := parseRawPayload(p)
			if !ok {
				stats.badData.Add(1)
				continue
			}
			stats.record(now, t, n)
		}
	}
}
