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
	"strings"
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
//
// With HoldConnect (the topic bench), the agent registers and subscribes
// its devices without connecting them, writes registered, and connects
// them only when the parent writes connect: the parent reads the server's
// memory in between. With RawURL (the raw baseline), the agent registers
// nothing and connects plain WebSocket clients to the raw server.

// Message types of the agent protocol.
const (
	msgProgress   = "progress"
	msgRegistered = "registered"
	msgConnect    = "connect"
	msgReady      = "ready"
	msgReport     = "report"
	msgError      = "error"
	msgFinish     = "finish"
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
	// AckDelayMS is the devices' client.Config.AckDelay in milliseconds.
	AckDelayMS int `json:"ack_delay_ms,omitempty"`
	// Topic, when set, is subscribed to by every device after its
	// registration; messages of another target count as bad data.
	Topic string `json:"topic,omitempty"`
	// HoldConnect makes the agent connect its devices only when the parent
	// says connect (after registered).
	HoldConnect bool `json:"hold_connect,omitempty"`
	// Messages, when above 0, makes the agent record the last receipt of
	// each message number 0 … Messages−1 (data field "n").
	Messages int `json:"messages,omitempty"`
	// RawURL, when set, is the ws:// URL of a raw WebSocket server (the
	// baseline): the agent connects Devices plain WebSocket clients to it
	// instead of Herald devices; AppKey is not needed.
	RawURL string `json:"raw_url,omitempty"`
	// DeviceMode is what runs the Herald devices (default DevicesSDK).
	DeviceMode DeviceMode `json:"device_mode,omitempty"`
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
	// Dropped counts wire devices whose connection the server ended.
	Dropped int64 `json:"dropped,omitempty"`
	// FirstRecvNS and LastRecvNS are the unix nanos of the first and last
	// receipt (0 without any).
	FirstRecvNS int64     `json:"first_recv_ns"`
	LastRecvNS  int64     `json:"last_recv_ns"`
	Latency     Histogram `json:"latency"`
	// PerMessage has, when the start message asked for it, the agent's
	// receipts of each message number.
	PerMessage []msgReceipts `json:"per_message,omitempty"`
}

// msgReceipts are an agent's receipts of one message number: how many of
// its devices received it and when the last of them did (unix nanos).
type msgReceipts struct {
	Count  int64 `json:"count"`
	LastNS int64 `json:"last_ns"`
}

// agentStats are the counters an agent's devices update.
type agentStats struct {
	registered atomic.Int64
	connected  atomic.Int64
	reconnects atomic.Int64
	dropped    atomic.Int64
	delivered  atomic.Int64
	badData    atomic.Int64
	firstRecv  atomic.Int64
	lastRecv   atomic.Int64
	latency    *liveHistogram
	// perCount and perLast are the receipts by message number (empty
	// unless the start message asked for them).
	perCount []atomic.Int64
	perLast  []atomic.Int64
	topic    string // the expected topic, if any

	devices      int64         // how many devices the agent runs
	allConnected chan struct{} // closed when every device has had a session
}

// newAgentStats returns the counters of an agent started with start.
func newAgentStats(start agentStart) *agentStats {
	s := &agentStats{latency: newLiveHistogram(), devices: int64(start.Devices), allConnected: make(chan struct{}), topic: start.Topic}
	if start.Messages > 0 {
		s.perCount = make([]atomic.Int64, start.Messages)
		s.perLast = make([]atomic.Int64, start.Messages)
	}
	return s
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

// onMessage records one message received by an SDK device.
func (s *agentStats) onMessage(m herald.Message) {
	s.onData(time.Now().UnixNano(), m.Topic, m.Data[dataSentAt], m.Data[dataNumber])
}

// onData records one message of topic received at now (unix nanos) with
// data fields t (the send time, unix nanos: its latency is now − t) and n
// (the message number); a message of another topic, or without readable
// fields, counts as bad data.
func (s *agentStats) onData(now int64, topic, t, n string) {
	sent, err := strconv.ParseInt(t, 10, 64)
	if err != nil || (s.topic != "" && topic != s.topic) {
		s.badData.Add(1)
		return
	}
	num := int64(-1)
	if len(s.perCount) > 0 {
		if num, err = strconv.ParseInt(n, 10, 64); err != nil {
			s.badData.Add(1)
			return
		}
	}
	s.record(now, sent, num)
}

// record counts one receipt at now (unix nanos) of message number n (−1:
// not tracked) sent at sent.
func (s *agentStats) record(now, sent, n int64) {
	if n >= int64(len(s.perCount)) {
		s.badData.Add(1)
		return
	}
	s.latency.record(now - sent)
	s.delivered.Add(1)
	s.firstRecv.CompareAndSwap(0, now)
	storeMax(&s.lastRecv, now)
	if n >= 0 {
		s.perCount[n].Add(1)
		storeMax(&s.perLast[n], now)
	}
}

// storeMax sets a to v if v is larger.
func storeMax(a *atomic.Int64, v int64) {
	for cur := a.Load(); v > cur && !a.CompareAndSwap(cur, v); cur = a.Load() {
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
	// The parent's next messages are connect (with HoldConnect) and
	// finish; EOF or anything else means it is gone.
	connect, finish := make(chan struct{}), make(chan struct{})
	go func() {
		connected := false
		for {
			var m agentMsg
			if err := dec.Decode(&m); err != nil {
				cancel()
				return
			}
			switch {
			case m.Type == msgConnect && !connected:
				connected = true
				close(connect)
			case m.Type == msgFinish:
				close(finish)
				return
			default:
				cancel()
				return
			}
		}
	}()

	stats := newAgentStats(start)
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

	// failed ends the agent: a raw client that cannot connect, or a wire
	// device that never had a session.
	failed := func(err error) { _ = fail(err); cancel() }
	var tokens []string
	if start.RawURL != "" {
		running.Go(func() { connectRaw(ctx, runCtx, start, stats, failed, logger) })
	} else {
		var devs []*device
		var err error
		tokens, devs, err = registerDevices(ctx, runCtx, start, stats, &running, failed, logger)
		if err != nil {
			return fail(err)
		}
		if start.HoldConnect {
			if err := write(agentMsg{Type: msgRegistered, Registered: stats.registered.Load()}); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("bench agent: %w", ctx.Err())
			case <-connect:
			}
			runDevices(ctx, runCtx, devs, start.Concurrency, &running, failed, logger)
		}
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
		Dropped:     stats.dropped.Load(),
		FirstRecvNS: stats.firstRecv.Load(),
		LastRecvNS:  stats.lastRecv.Load(),
		Latency:     stats.latency.snapshot(),
	}
	if len(stats.perCount) > 0 {
		rep.PerMessage = make([]msgReceipts, len(stats.perCount))
		for i := range rep.PerMessage {
			rep.PerMessage[i] = msgReceipts{Count: stats.perCount[i].Load(), LastNS: stats.perLast[i].Load()}
		}
	}
	return write(agentMsg{Type: msgReport, Delivered: rep.Delivered, Report: rep})
}

// maxAgentMessages bounds the message numbers an agent tracks one by one.
const maxAgentMessages = 1_000_000

// check validates a start message.
func (s *agentStart) check() error {
	switch {
	case (s.Server == "" || s.AppKey == "") && s.RawURL == "":
		return errors.New("bench agent: start message without server or app key")
	case s.Devices < 1 || s.Devices > MaxDevicesPerAgent:
		return fmt.Errorf("bench agent: %d devices: want 1 to %d", s.Devices, MaxDevicesPerAgent)
	case s.SourceFrom < 1 || s.SourceTo > 254 || s.SourceFrom > s.SourceTo:
		return fmt.Errorf("bench agent: source range 127.0.0.%d–127.0.0.%d is not within 127.0.0.1–254", s.SourceFrom, s.SourceTo)
	case s.Messages < 0 || s.Messages > maxAgentMessages:
		return fmt.Errorf("bench agent: %d messages to track: want 0 to %d", s.Messages, maxAgentMessages)
	}
	if s.DeviceMode == "" {
		s.DeviceMode = DevicesSDK
	}
	if _, err := ParseDeviceMode(string(s.DeviceMode)); err != nil {
		return fmt.Errorf("bench agent: %w", err)
	}
	if s.RawURL != "" {
		if err := CheckLoopback("http" + strings.TrimPrefix(s.RawURL, "ws")); err != nil || !strings.HasPrefix(s.RawURL, "ws://") {
			return fmt.Errorf("bench agent: raw server %q is not a ws:// URL on 127.0.0.0/8", s.RawURL)
		}
	}
	if s.Concurrency < 1 {
		s.Concurrency = 64
	}
	if s.ProgressMS < 1 {
		s.ProgressMS = 200
	}
	return nil
}

// device is one registered device of an agent.
type device struct {
	// run runs the device until ctx ends.
	run func(ctx context.Context) error
	// release is called once, at the device's first session or when its
	// run ends, to let the next device connect (HoldConnect only).
	release func()
}

// runUntil runs the device until ctx ends; a wire device that never had
// a session is reported to failed, other ends are logged.
func (d *device) runUntil(ctx context.Context, failed func(error), logger *slog.Logger) {
	defer d.release()
	err := d.run(ctx)
	switch {
	case err == nil || ctx.Err() != nil:
	case errors.Is(err, errNoSession):
		failed(err)
	default:
		logger.Warn("bench agent: device stopped", "err", err)
	}
}

// registerDevices creates start.Devices in-memory devices, registers them
// (and subscribes them to start.Topic) with at most start.Concurrency
// registrations in flight, and runs each (until runCtx ends) as soon as it
// is registered, unless start.HoldConnect: then runDevices runs them. It
// returns their tokens and the devices.
func registerDevices(ctx, runCtx context.Context, start agentStart, stats *agentStats, running *sync.WaitGroup,
	failed func(error), logger *slog.Logger) ([]string, []*device, error) {
	hc := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: start.Concurrency,
			IdleConnTimeout:     30 * time.Second,
		},
	}
	defer hc.CloseIdleConnections()
	tokens := make([]string, start.Devices)
	devs := make([]*device, start.Devices)
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
				tok, d, err := newDevice(regCtx, start, src, hc, stats, logger)
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("bench agent: device %d: %w", i, err) })
					stopReg()
					return
				}
				stats.registered.Add(1)
				tokens[i], devs[i] = tok, d
				if !start.HoldConnect {
					running.Go(func() { d.runUntil(runCtx, failed, logger) })
				}
			}
		})
	}
	workers.Wait()
	if firstErr != nil {
		return nil, nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("bench agent: %w", err)
	}
	return tokens, devs, nil
}

// runDevices runs the devices until runCtx ends, with at most concurrency
// of them connecting at a time (a device stops counting once it has had
// its first session): 15,000 simultaneous dials would overflow the
// server's accept backlog and wait for SYN retransmissions.
func runDevices(ctx, runCtx context.Context, devs []*device, concurrency int, running *sync.WaitGroup,
	failed func(error), logger *slog.Logger) {
	slots := make(chan struct{}, concurrency)
	for _, d := range devs {
		select {
		case <-ctx.Done():
			return
		case slots <- struct{}{}:
		}
		var once sync.Once
		d.release = func() { once.Do(func() { <-slots }) }
		running.Go(func() { d.runUntil(runCtx, failed, logger) })
	}
}

// registerAttempts bounds the tries of one registration or subscription
// (the server may answer 503 while busy).
const registerAttempts = 5

// retry calls f up to registerAttempts times, waiting a little longer after
// each failure.
func retry(ctx context.Context, what string, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		if attempt == registerAttempts || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

// newDevice registers one device and subscribes it to start.Topic if
// set: an SDK device, or a wire device (start.DeviceMode).
func newDevice(ctx context.Context, start agentStart, src *net.TCPAddr, hc *http.Client,
	stats *agentStats, logger *slog.Logger) (string, *device, error) {
	d := &device{release: func() {}}
	// onSession counts a session of the device and lets the next device
	// connect after its first.
	var connectedOnce atomic.Bool
	onSession := func() {
		first := connectedOnce.CompareAndSwap(false, true)
		stats.onConnected(first)
		if first {
			d.release()
		}
	}
	ackDelay := time.Duration(start.AckDelayMS) * time.Millisecond
	if start.DeviceMode == DevicesWire {
		var tok string
		var cred herald.DeviceCredential
		err := retry(ctx, "register", func() (err error) { tok, cred, err = registerWire(ctx, hc, start.Server, start.AppKey); return err })
		if err != nil {
			return "", nil, err
		}
		if start.Topic != "" {
			if err := retry(ctx, "subscribe", func() error { return subscribeWire(ctx, hc, start.Server, tok, cred, start.Topic) }); err != nil {
				return "", nil, err
			}
		}
		w := &wireDevice{url: wsURL(start.Server), src: src, token: tok, cred: cred, delay: ackDelay, stats: stats, onSession: onSession}
		d.run = w.run
		return tok, d, nil
	}
	dialer := &net.Dialer{LocalAddr: src, Timeout: 30 * time.Second}
	c, err := client.New(client.Config{
		Server:      start.Server,
		Logger:      logger,
		HTTPClient:  hc,
		Dial:        dialer.DialContext,
		AckDelay:    ackDelay,
		OnMessage:   func(_ context.Context, m herald.Message) { stats.onMessage(m) },
		OnConnected: onSession,
	})
	if err != nil {
		return "", nil, fmt.Errorf("new client: %w", err)
	}
	d.run = c.Run
	var tok string
	if err := retry(ctx, "register", func() (err error) { tok, err = c.Register(ctx, start.AppKey); return err }); err != nil {
		return "", nil, err
	}
	if start.Topic != "" {
		if err := retry(ctx, "subscribe", func() error { return c.Subscribe(ctx, start.AppKey, start.Topic) }); err != nil {
			return "", nil, err
		}
	}
	return tok, d, nil
}
