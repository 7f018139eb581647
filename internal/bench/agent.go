package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/client"
)

// The agent protocol: JSON values, one per line. The parent writes an
// agentStart to the agent's stdin, then (after the sends and the drain) a
// finish; the agent writes agentMsg values to its stdout: progress while
// registering and receiving, ready with its tokens once every device is
// connected, a report after finish, or error when it cannot go on. The
// agent ends when it has sent its report or its stdin closes.

// Message types of the agent protocol.
const (
	msgProgress = "progress"
	msgReady    = "ready"
	msgReport   = "report"
	msgError    = "error"
	msgFinish   = "finish"
)

// agentStart tells an agent what to do.
type agentStart struct {
	Server  string `json:"server"`
	AppKey  string `json:"app_key"`
	Devices int    `json:"devices"`
	// SourceFrom and SourceTo are the inclusive range of the last octet of
	// the 127.0.0.x source addresses the devices connect from.
	SourceFrom int `json:"source_from"`
	SourceTo   int `json:"source_to"`
	// Concurrency bounds the registrations in flight.
	Concurrency int `json:"concurrency"`
	// ProgressMS is the interval of progress messages.
	ProgressMS int `json:"progress_ms"`
}

// agentMsg is what an agent writes to the parent.
type agentMsg struct {
	Type       string       `json:"type"`
	Registered int64        `json:"registered,omitempty"`
	Connected  int64        `json:"connected,omitempty"`
	Delivered  int64        `json:"delivered,omitempty"`
	Tokens     []string     `json:"tokens,omitempty"`
	Report     *agentReport `json:"report,omitempty"`
	Error      string       `json:"error,omitempty"`
}

// agentReport is an agent's final account.
type agentReport struct {
	Delivered int64 `json:"delivered"`
	// BadData counts messages without a readable send timestamp.
	BadData int64 `json:"bad_data"`
	// Reconnects counts sessions established beyond each device's first.
	Reconnects int64 `json:"reconnects"`
	// FirstRecvNS and LastRecvNS are the unix nanos of the first and last
	// receipt (0 without any).
	FirstRecvNS int64     `json:"first_recv_ns"`
	LastRecvNS  int64     `json:"last_recv_ns"`
	Latency     Histogram `json:"latency"`
}

// agentStats are the counters an agent's devices update.
type agentStats struct {
	registered atomic.Int64
	connected  atomic.Int64
	reconnects atomic.Int64
	delivered  atomic.Int64
	badData    atomic.Int64
	firstRecv  atomic.Int64
	lastRecv   atomic.Int64
	latency    *liveHistogram

	devices      int64         // how many devices the agent runs
	allConnected chan struct{} // closed when every device has had a session
}

// onConnected counts a session of a device; first says it is the device's
// first one.
func (s *agentStats) onConnected(first bool) {
	if !first {
		s.reconnects.Add(1)
		return
	}
	if s.connected.Add(1) == s.devices {
		close(s.allConnected)
	}
}

// onMessage records one received message: its latency is the receive time
// minus the send timestamp (unix nanos) the sender put in data field "t".
func (s *agentStats) onMessage(m herald.Message) {
	now := time.Now().UnixNano()
	sent, err := strconv.ParseInt(m.Data[dataSentAt], 10, 64)
	if err != nil {
		s.badData.Add(1)
		return
	}
	s.latency.record(now - sent)
	s.delivered.Add(1)
	s.firstRecv.CompareAndSwap(0, now)
	for cur := s.lastRecv.Load(); now > cur && !s.lastRecv.CompareAndSwap(cur, now); cur = s.lastRecv.Load() {
	}
}

// RunAgent runs a bench agent: it reads its orders from in and reports to
// out (see the agent protocol above). `herald bench` starts agents as child
// processes of its own binary; RunAgent returns when the report is written,
// when in closes, or when ctx ends.
func RunAgent(ctx context.Context, in io.Reader, out io.Writer, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var encMu sync.Mutex
	enc := json.NewEncoder(out)
	write := func(m agentMsg) error {
		encMu.Lock()
		defer encMu.Unlock()
		if err := enc.Encode(m); err != nil {
			return fmt.Errorf("bench agent: write to parent: %w", err)
		}
		return nil
	}
	fail := func(err error) error {
		_ = write(agentMsg{Type: msgError, Error: err.Error()})
		return err
	}

	r := bufio.NewReader(in)
	dec := json.NewDecoder(r)
	var start agentStart
	if err := dec.Decode(&start); err != nil {
		return fail(fmt.Errorf("bench agent: read the start message: %w", err))
	}
	if err := start.check(); err != nil {
		return fail(err)
	}
	// The parent's next message is finish; EOF or garbage means it is gone.
	finish := make(chan struct{})
	go func() {
		var m agentMsg
		if err := dec.Decode(&m); err != nil || m.Type != msgFinish {
			cancel()
			return
		}
		close(finish)
	}()

	stats := &agentStats{latency: newLiveHistogram(), devices: int64(start.Devices), allConnected: make(chan struct{})}
	runCtx, stopDevices := context.WithCancel(ctx)
	var running sync.WaitGroup
	defer running.Wait()
	defer stopDevices()

	progressDone := make(chan struct{})
	defer func() { <-progressDone }()
	progressCtx, stopProgress := context.WithCancel(ctx)
	defer stopProgress()
	go func() {
		defer close(progressDone)
		t := time.NewTicker(time.Duration(start.ProgressMS) * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-progressCtx.Done():
				return
			case <-t.C:
			}
			if write(agentMsg{
				Type:       msgProgress,
				Registered: stats.registered.Load(),
				Connected:  stats.connected.Load(),
				Delivered:  stats.delivered.Load(),
			}) != nil {
				cancel()
				return
			}
		}
	}()

	tokens, err := registerDevices(ctx, runCtx, start, stats, &running, logger)
	if err != nil {
		return fail(err)
	}
	// Ready once every device has a session.
	select {
	case <-ctx.Done():
		return fmt.Errorf("bench agent: %w", ctx.Err())
	case <-stats.allConnected:
	}
	if err := write(agentMsg{Type: msgReady, Registered: stats.registered.Load(), Connected: stats.connected.Load(), Tokens: tokens}); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return fmt.Errorf("bench agent: %w", ctx.Err())
	case <-finish:
	}
	stopProgress()
	<-progressDone
	rep := &agentReport{
		Delivered:   stats.delivered.Load(),
		BadData:     stats.badData.Load(),
		Reconnects:  stats.reconnects.Load(),
		FirstRecvNS: stats.firstRecv.Load(),
		LastRecvNS:  stats.lastRecv.Load(),
		Latency:     stats.latency.snapshot(),
	}
	return write(agentMsg{Type: msgReport, Delivered: rep.Delivered, Report: rep})
}

// check validates a start message.
func (s *agentStart) check() error {
	switch {
	case s.Server == "" || s.AppKey == "":
		return errors.New("bench agent: start message without server or app key")
	case s.Devices < 1 || s.Devices > MaxDevicesPerAgent:
		return fmt.Errorf("bench agent: %d devices: want 1 to %d", s.Devices, MaxDevicesPerAgent)
	case s.SourceFrom < 1 || s.SourceTo > 254 || s.SourceFrom > s.SourceTo:
		return fmt.Errorf("bench agent: source range 127.0.0.%d–127.0.0.%d is not within 127.0.0.1–254", s.SourceFrom, s.SourceTo)
	}
	if s.Concurrency < 1 {
		s.Concurrency = 64
	}
	if s.ProgressMS < 1 {
		s.ProgressMS = 200
	}
	return nil
}

// registerDevices creates start.Devices in-memory devices, registers them
// with at most start.Concurrency registrations in flight, and runs each
// (until runCtx ends) as soon as it is registered. It returns their
// tokens.
func registerDevices(ctx, runCtx context.Context, start agentStart, stats *agentStats, running *sync.WaitGroup, logger *slog.Logger) ([]string, error) {
	hc := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: start.Concurrency,
			IdleConnTimeout:     30 * time.Second,
		},
	}
	defer hc.CloseIdleConnections()
	tokens := make([]string, start.Devices)
	span := start.SourceTo - start.SourceFrom + 1
	next := atomic.Int64{}
	var firstErr error
	var errOnce sync.Once
	regCtx, stopReg := context.WithCancel(ctx)
	defer stopReg()
	var workers sync.WaitGroup
	for range min(start.Concurrency, start.Devices) {
		workers.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= start.Devices || regCtx.Err() != nil {
					return
				}
				src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(start.SourceFrom+i%span))}
				tok, err := startDevice(regCtx, runCtx, start, src, hc, stats, running, logger)
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("bench agent: device %d: %w", i, err) })
					stopReg()
					return
				}
				tokens[i] = tok
			}
		})
	}
	workers.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bench agent: %w", err)
	}
	return tokens, nil
}

// registerAttempts bounds the tries of one registration (the server may
// answer 503 while busy).
const registerAttempts = 5

// startDevice registers one device and runs it in a goroutine.
func startDevice(ctx, runCtx context.Context, start agentStart, src *net.TCPAddr, hc *http.Client,
	stats *agentStats, running *sync.WaitGroup, logger *slog.Logger) (string, error) {
	dialer := &net.Dialer{LocalAddr: src, Timeout: 30 * time.Second}
	var connectedOnce atomic.Bool
	c, err := client.New(client.Config{
		Server:      start.Server,
		Logger:      logger,
		HTTPClient:  hc,
		Dial:        dialer.DialContext,
		OnMessage:   func(_ context.Context, m herald.Message) { stats.onMessage(m) },
		OnConnected: func() { stats.onConnected(connectedOnce.CompareAndSwap(false, true)) },
	})
	if err != nil {
		return "", fmt.Errorf("new client: %w", err)
	}
	var tok string
	for attempt := 1; ; attempt++ {
		tok, err = c.Register(ctx, start.AppKey)
		if err == nil {
			break
		}
		if attempt == registerAttempts || ctx.Err() != nil {
			return "", err
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("register: %w", ctx.Err())
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
	stats.registered.Add(1)
	running.Go(func() {
		if err := c.Run(runCtx); err != nil {
			logger.Warn("bench agent: device stopped", "err", err)
		}
	})
	return tok, nil
}
