// Package bench is `herald bench`: a load generator that measures a Herald
// server through its public APIs only. It connects devices (client SDK) in
// agent child processes, sends messages through the FCM HTTP v1 API from
// concurrent HTTP senders, and reports accepted/s, delivered/s, the
// send→device latency and the messages lost. It talks only to loopback
// servers (127.0.0.0/8) and spreads the devices' source addresses over
// 127.0.0.2–127.0.0.254 so that no address runs out of ephemeral ports.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxDevicesPerAgent is the most devices one agent process runs: each
// device holds a socket, and every process here may open 20,000 files.
const MaxDevicesPerAgent = 15000

// Source addresses of the devices: the last octet of 127.0.0.x.
const (
	firstSource = 2
	lastSource  = 254
)

// dataSentAt is the data field carrying the send time in unix nanos.
const dataSentAt = "t"

// Config describes one bench run. Server, AdminToken and AgentCommand are
// required; zero values of the others take the defaults in their comments.
type Config struct {
	// Server is the base URL of the server, an http URL on 127.0.0.0/8 or
	// localhost.
	Server string
	// AdminToken is the server's admin credential, used to create the
	// bench's project, app and service-account key.
	AdminToken string
	// Devices is the number of devices to connect (default 1000).
	Devices int
	// Messages is the number of messages to send (default 10000).
	Messages int
	// AckDelay is the devices' client.Config.AckDelay (default 0).
	AckDelay time.Duration
	// Rate is the target send rate in messages per second; 0 sends as
	// fast as the senders can.
	Rate float64
	// Senders is the number of concurrent HTTP senders (default 64).
	Senders int
	// Agents is the number of agent processes (default: enough for at most
	// MaxDevicesPerAgent devices each).
	Agents int
	// AgentCommand is the command line of an agent process, e.g. the herald
	// binary and "bench", "agent": it must run RunAgent on its stdin and
	// stdout.
	AgentCommand []string
	// AgentStderr receives the agents' logs (default: discarded).
	AgentStderr io.Writer
	// Progress receives a progress line every ProgressInterval (default:
	// discarded).
	Progress io.Writer
	// ProgressInterval defaults to 1 s.
	ProgressInterval time.Duration
	// ConnectTimeout bounds registering and connecting the devices
	// (default 60 s plus 10 ms per device).
	ConnectTimeout time.Duration
	// DrainTimeout bounds the wait for deliveries after the last send
	// (default 10 s).
	DrainTimeout time.Duration
	// RegisterConcurrency bounds each agent's registrations in flight
	// (default 64).
	RegisterConcurrency int
	// Logger receives the bench's own logs (default: discarded).
	Logger *slog.Logger
}

// withDefaults fills in the defaults and checks the configuration.
func (c Config) withDefaults() (Config, error) {
	if err := CheckLoopback(c.Server); err != nil {
		return c, err
	}
	c.Server = strings.TrimRight(c.Server, "/")
	if c.AdminToken == "" {
		return c, errors.New("no admin credential")
	}
	if len(c.AgentCommand) == 0 {
		return c, errors.New("no agent command")
	}
	if c.Devices == 0 {
		c.Devices = 1000
	}
	if c.Messages == 0 {
		c.Messages = 10000
	}
	if c.Senders == 0 {
		c.Senders = 64
	}
	if c.Agents == 0 {
		c.Agents = max(1, (c.Devices+MaxDevicesPerAgent-1)/MaxDevicesPerAgent)
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = time.Minute + time.Duration(c.Devices)*10*time.Millisecond
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 10 * time.Second
	}
	if c.RegisterConcurrency <= 0 {
		c.RegisterConcurrency = 64
	}
	if c.AgentStderr == nil {
		c.AgentStderr = io.Discard
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.Devices < 1:
		return c, fmt.Errorf("%d devices: want at least 1", c.Devices)
	case c.Messages < 1:
		return c, fmt.Errorf("%d messages: want at least 1", c.Messages)
	case c.Rate < 0:
		return c, fmt.Errorf("rate %v: want 0 (as fast as possible) or more", c.Rate)
	case c.Senders < 1:
		return c, fmt.Errorf("%d senders: want at least 1", c.Senders)
	case c.Agents < 1 || c.Agents > c.Devices:
		return c, fmt.Errorf("%d agents for %d devices: want 1 to %d", c.Agents, c.Devices, c.Devices)
	case (c.Devices+c.Agents-1)/c.Agents > MaxDevicesPerAgent:
		return c, fmt.Errorf("%d agents for %d devices: an agent runs at most %d devices (open-file limit), use at least %d agents",
			c.Agents, c.Devices, MaxDevicesPerAgent, (c.Devices+MaxDevicesPerAgent-1)/MaxDevicesPerAgent)
	case c.Agents > lastSource-firstSource+1:
		return c, fmt.Errorf("%d agents: at most %d (one source address each at least)", c.Agents, lastSource-firstSource+1)
	}
	return c, nil
}

// Run runs the bench described by cfg: setup, devices, sends, drain, and
// returns the figures. Progress goes to cfg.Progress.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cpuStart, runStart := selfCPU(), time.Now()
	b := &run{cfg: cfg, progressed: make(chan struct{}, 1), events: make(chan agentEvent, 4*cfg.Agents)}

	setupClient := &http.Client{Timeout: 30 * time.Second}
	setupStart := time.Now()
	s, err := prepare(ctx, setupClient, cfg.Server, cfg.AdminToken)
	if err != nil {
		return nil, fmt.Errorf("bench: setup: %w", err)
	}
	b.setup = s
	cfg.Logger.Info("bench: setup done", "project", s.project, "took", time.Since(setupStart))

	defer b.stopAgents()
	if err := b.startAgents(ctx); err != nil {
		return nil, err
	}
	connectStart := time.Now()
	tokens, err := b.waitReady(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{
		Server: cfg.Server, Project: s.project, Devices: cfg.Devices, Agents: cfg.Agents,
		Senders: cfg.Senders, TargetRate: cfg.Rate, Messages: cfg.Messages,
		ConnectSeconds: time.Since(connectStart).Seconds(),
	}
	fmt.Fprintf(cfg.Progress, "bench: %d devices connected in %.1fs; sending %d messages\n", cfg.Devices, rep.ConnectSeconds, cfg.Messages)

	sendStart := time.Now()
	ss, err := b.send(ctx, tokens, sendStart)
	if err != nil {
		return nil, err
	}
	sendEnd := time.Unix(0, ss.lastDone.Load())
	rep.Sent = ss.sent.Load()
	rep.Accepted = ss.accepted.Load()
	rep.Errors = ss.errorKinds()
	rep.SendSeconds = sendEnd.Sub(sendStart).Seconds()
	if rep.SendSeconds > 0 {
		rep.AcceptedPerSecond = float64(rep.Accepted) / rep.SendSeconds
	}

	drained, err := b.drain(ctx, rep.Accepted)
	if err != nil {
		return nil, err
	}
	rep.DrainTimedOut = !drained
	reports, err := b.finish(ctx)
	if err != nil {
		return nil, err
	}
	b.stopAgents()
	rep.CPU.Bench = (selfCPU() - cpuStart).Seconds()
	rep.RunSeconds = time.Since(runStart).Seconds()
	for _, a := range b.agents {
		if ps := a.cmd.ProcessState; ps != nil {
			rep.CPU.Agents += (ps.UserTime() + ps.SystemTime()).Seconds()
		}
	}
	var hist Histogram
	var lastRecv int64
	for _, r := range reports {
		rep.Delivered += r.Delivered
		rep.BadData += r.BadData
		rep.Reconnects += r.Reconnects
		lastRecv = max(lastRecv, r.LastRecvNS)
		hist.merge(r.Latency)
	}
	if lastRecv > 0 {
		rep.DeliverSeconds = time.Unix(0, lastRecv).Sub(sendStart).Seconds()
		if rep.DeliverSeconds > 0 {
			rep.DeliveredPerSecond = float64(rep.Delivered) / rep.DeliverSeconds
		}
	}
	rep.Lost = rep.Accepted - rep.Delivered
	rep.Latency = latencyOf(&hist)
	return rep, nil
}

// run is the state of one bench run.
type run struct {
	cfg    Config
	setup  setup
	agents []*agentProc
	// events carries the agents' ready, report and error messages.
	events chan agentEvent
	// progressed is signalled (without blocking) on each progress message.
	progressed chan struct{}
	// tune, if set, adjusts each agent's start message (the topic bench).
	tune func(*agentStart)
	// raw says the agents run raw WebSocket clients, without tokens.
	raw bool
}

// agentProc is the parent's side of one agent process.
type agentProc struct {
	idx        int
	devices    int
	cmd        *exec.Cmd
	stdin      io.WriteCloser
	registered atomic.Int64
	connected  atomic.Int64
	delivered  atomic.Int64
	exited     chan struct{} // closed when the process has been waited for
	// stopping is closed when the parent stops the agent: its events are
	// no longer waited for.
	stopping chan struct{}
	stopOnce sync.Once
}

// emit passes an agent's event to the parent, unless the parent has
// stopped the agent and waits for nothing more.
func (b *run) emit(a *agentProc, ev agentEvent) {
	select {
	case b.events <- ev:
	case <-a.stopping:
	}
}

// agentEvent is a message of an agent that the parent waits for.
type agentEvent struct {
	agent  int
	kind   string // msgRegistered, msgReady, msgReport or msgError
	tokens []string
	report *agentReport
	err    error
}

// startAgents starts the agent processes and gives each its share of the
// devices and of the source addresses.
func (b *run) startAgents(ctx context.Context) error {
	k := b.cfg.Agents
	span := lastSource - firstSource + 1
	for i := range k {
		n := b.cfg.Devices/k + boolInt(i < b.cfg.Devices%k)
		start := agentStart{
			Server: b.cfg.Server, AppKey: b.setup.appKey, Devices: n,
			SourceFrom:  firstSource + i*span/k,
			SourceTo:    firstSource + (i+1)*span/k - 1,
			Concurrency: b.cfg.RegisterConcurrency,
			ProgressMS:  200,
			AckDelayMS:  int(b.cfg.AckDelay.Milliseconds()),
		}
		if b.tune != nil {
			b.tune(&start)
		}
		cmd := exec.CommandContext(ctx, b.cfg.AgentCommand[0], b.cfg.AgentCommand[1:]...)
		cmd.Stderr = b.cfg.AgentStderr
		cmd.WaitDelay = 5 * time.Second
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return fmt.Errorf("bench: agent %d: %w", i, err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return fmt.Errorf("bench: agent %d: %w", i, err)
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("bench: start agent %d (%s): %w", i, b.cfg.AgentCommand[0], err)
		}
		a := &agentProc{idx: i, devices: n, cmd: cmd, stdin: stdin, exited: make(chan struct{}), stopping: make(chan struct{})}
		b.agents = append(b.agents, a)
		go b.readAgent(a, stdout)
		if err := json.NewEncoder(stdin).Encode(start); err != nil {
			return fmt.Errorf("bench: agent %d: send the start message: %w", i, err)
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// readAgent reads an agent's messages until its stdout closes, then waits
// for the process.
func (b *run) readAgent(a *agentProc, stdout io.Reader) {
	defer close(a.exited)
	dec := json.NewDecoder(stdout)
	reported := false
	var readErr error
	for {
		var m agentMsg
		if err := dec.Decode(&m); err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		switch m.Type {
		case msgProgress:
			a.registered.Store(m.Registered)
			a.connected.Store(m.Connected)
			a.delivered.Store(m.Delivered)
			select {
			case b.progressed <- struct{}{}:
			default:
			}
		case msgRegistered:
			a.registered.Store(m.Registered)
			b.emit(a, agentEvent{agent: a.idx, kind: msgRegistered})
		case msgReady:
			a.registered.Store(m.Registered)
			a.connected.Store(m.Connected)
			b.emit(a, agentEvent{agent: a.idx, kind: msgReady, tokens: m.Tokens})
		case msgReport:
			reported = true
			a.delivered.Store(m.Delivered)
			b.emit(a, agentEvent{agent: a.idx, kind: msgReport, report: m.Report})
		case msgError:
			b.emit(a, agentEvent{agent: a.idx, kind: msgError, err: fmt.Errorf("bench: agent %d: %s", a.idx, m.Error)})
		}
	}
	waitErr := a.cmd.Wait()
	if !reported {
		err := errors.Join(readErr, waitErr)
		if err == nil {
			err = errors.New("ended before its report")
		}
		b.emit(a, agentEvent{agent: a.idx, kind: msgError, err: fmt.Errorf("bench: agent %d: %w", a.idx, err)})
	}
}

// stopAgents closes the agents' stdin (they end) and waits for them; the
// run's context kills those that do not. Calling it again does nothing
// more.
func (b *run) stopAgents() {
	for _, a := range b.agents {
		a.stopOnce.Do(func() { close(a.stopping) })
		_ = a.stdin.Close()
	}
	grace, cancel := context.WithTimeout(context.Background(), agentStopTimeout)
	defer cancel()
	for _, a := range b.agents {
		select {
		case <-a.exited:
			continue
		case <-grace.Done():
		}
		b.cfg.Logger.Warn("bench: agent did not stop; killing it", "agent", a.idx)
		_ = a.cmd.Process.Kill()
		<-a.exited
	}
}

// agentStopTimeout bounds the wait for agents to end once their stdin is
// closed.
const agentStopTimeout = 10 * time.Second

// sum adds up a counter over the agents.
func (b *run) sum(f func(a *agentProc) *atomic.Int64) int64 {
	var n int64
	for _, a := range b.agents {
		n += f(a).Load()
	}
	return n
}

// waitReady waits for every agent's devices to be connected and returns
// their tokens, interleaved across agents so that consecutive messages go
// to different processes.
func (b *run) waitReady(ctx context.Context) ([]string, error) {
	ticker := time.NewTicker(b.cfg.ProgressInterval)
	defer ticker.Stop()
	timeout := time.NewTimer(b.cfg.ConnectTimeout)
	defer timeout.Stop()
	start := time.Now()
	perAgent := make([][]string, len(b.agents))
	ready := 0
	for ready < len(b.agents) {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("bench: %w", ctx.Err())
		case <-timeout.C:
			return nil, fmt.Errorf("bench: only %d of %d devices connected within %v",
				b.sum(func(a *agentProc) *atomic.Int64 { return &a.connected }), b.cfg.Devices, b.cfg.ConnectTimeout)
		case ev := <-b.events:
			if ev.kind == msgError {
				return nil, ev.err
			}
			if ev.kind == msgReady {
				if len(ev.tokens) != b.agents[ev.agent].devices && !b.raw {
					return nil, fmt.Errorf("bench: agent %d reported %d tokens for %d devices", ev.agent, len(ev.tokens), b.agents[ev.agent].devices)
				}
				perAgent[ev.agent] = ev.tokens
				ready++
			}
		case <-ticker.C:
			fmt.Fprintf(b.cfg.Progress, "bench: registered %d/%d, connected %d/%d (%.0fs)\n",
				b.sum(func(a *agentProc) *atomic.Int64 { return &a.registered }), b.cfg.Devices,
				b.sum(func(a *agentProc) *atomic.Int64 { return &a.connected }), b.cfg.Devices,
				time.Since(start).Seconds())
		}
	}
	if b.raw {
		return nil, nil
	}
	tokens := make([]string, 0, b.cfg.Devices)
	for i := 0; len(tokens) < b.cfg.Devices; i++ {
		for _, ts := range perAgent {
			if i < len(ts) {
				tokens = append(tokens, ts[i])
			}
		}
	}
	return tokens, nil
}

// drain waits until the agents have received accepted messages, or for
// the drain timeout; it reports whether everything arrived.
func (b *run) drain(ctx context.Context, accepted int64) (bool, error) {
	delivered := func() int64 { return b.sum(func(a *agentProc) *atomic.Int64 { return &a.delivered }) }
	ticker := time.NewTicker(b.cfg.ProgressInterval)
	defer ticker.Stop()
	timeout := time.NewTimer(b.cfg.DrainTimeout)
	defer timeout.Stop()
	start := time.Now()
	for delivered() < accepted {
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("bench: %w", ctx.Err())
		case <-timeout.C:
			return false, nil
		case ev := <-b.events:
			if ev.kind == msgError {
				return false, ev.err
			}
		case <-b.progressed:
		case <-ticker.C:
			fmt.Fprintf(b.cfg.Progress, "bench: draining: delivered %d of %d accepted (%.0fs of %v)\n",
				delivered(), accepted, time.Since(start).Seconds(), b.cfg.DrainTimeout)
		}
	}
	return true, nil
}

// agentReportTimeout bounds the wait for the agents' reports.
const agentReportTimeout = 30 * time.Second

// finish asks every agent for its report and returns the reports.
func (b *run) finish(ctx context.Context) ([]*agentReport, error) {
	for _, a := range b.agents {
		if err := json.NewEncoder(a.stdin).Encode(agentMsg{Type: msgFinish}); err != nil {
			return nil, fmt.Errorf("bench: agent %d: send finish: %w", a.idx, err)
		}
	}
	timeout := time.NewTimer(agentReportTimeout)
	defer timeout.Stop()
	reports := make([]*agentReport, 0, len(b.agents))
	for len(reports) < len(b.agents) {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("bench: %w", ctx.Err())
		case <-timeout.C:
			return nil, fmt.Errorf("bench: %d of %d agents reported within %v", len(reports), len(b.agents), agentReportTimeout)
		case ev := <-b.events:
			switch ev.kind {
			case msgError:
				return nil, ev.err
			case msgReport:
				if ev.report == nil {
					return nil, fmt.Errorf("bench: agent %d sent an empty report", ev.agent)
				}
				reports = append(reports, ev.report)
			}
		}
	}
	return reports, nil
}

// sendStats are the senders' counters.
type sendStats struct {
	sent     atomic.Int64 // requests made
	accepted atomic.Int64 // answered 200
	failed   atomic.Int64
	lastDone atomic.Int64 // unix nanos of the last answer

	mu   sync.Mutex
	errs map[string]int64
}

func (s *sendStats) addError(kind string) {
	s.failed.Add(1)
	s.mu.Lock()
	s.errs[kind]++
	s.mu.Unlock()
}

func (s *sendStats) errorKinds() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.errs))
	for k, v := range s.errs {
		out[k] = v
	}
	return out
}

// send sends cfg.Messages messages from cfg.Senders goroutines, printing
// progress, and returns the senders' counters.
func (b *run) send(ctx context.Context, tokens []string, start time.Time) (*sendStats, error) {
	quoted := make([][]byte, len(tokens))
	for i, t := range tokens {
		q, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("bench: token: %w", err)
		}
		quoted[i] = q
	}
	hc := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        b.cfg.Senders * 2,
			MaxIdleConnsPerHost: b.cfg.Senders * 2,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
	defer hc.CloseIdleConnections()
	ss := &sendStats{errs: map[string]int64{}}
	ss.lastDone.Store(start.UnixNano())
	sendCtx, stop := context.WithCancel(ctx)
	defer stop()
	var next atomic.Int64
	var wg sync.WaitGroup
	url := b.cfg.Server + "/v1/projects/" + b.setup.project + "/messages:send"
	for range b.cfg.Senders {
		wg.Go(func() {
			sd := sender{
				hc: hc, url: url, tokens: quoted, stats: ss, next: &next,
				total: int64(b.cfg.Messages), rate: b.cfg.Rate, start: start,
				header: http.Header{
					"Authorization": {"Bearer " + b.setup.accessToken},
					"Content-Type":  {"application/json"},
				},
			}
			sd.run(sendCtx)
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	ticker := time.NewTicker(b.cfg.ProgressInterval)
	defer ticker.Stop()
	lastAccepted, lastTick := int64(0), start
	for {
		select {
		case <-done:
			return ss, nil
		case <-ctx.Done():
			stop()
			<-done
			return nil, fmt.Errorf("bench: %w", ctx.Err())
		case ev := <-b.events:
			if ev.kind == msgError {
				stop()
				<-done
				return nil, ev.err
			}
		case now := <-ticker.C:
			acc := ss.accepted.Load()
			rate := float64(acc-lastAccepted) / now.Sub(lastTick).Seconds()
			lastAccepted, lastTick = acc, now
			fmt.Fprintf(b.cfg.Progress, "bench: sent %d/%d, accepted %d (%.0f/s), errors %d, delivered %d\n",
				ss.sent.Load(), b.cfg.Messages, acc, rate, ss.failed.Load(),
				b.sum(func(a *agentProc) *atomic.Int64 { return &a.delivered }))
		}
	}
}

// pad fills the data payload to about 100 bytes of JSON.
const pad = "herald-bench-payload-0123456789abcdefghijklmnopqrstuvwxyz"

// sender is one HTTP sender: one request at a time, with its own reused
// buffers.
type sender struct {
	hc     *http.Client
	url    string
	tokens [][]byte // JSON-quoted
	stats  *sendStats
	next   *atomic.Int64 // the next message number, shared
	total  int64
	rate   float64
	start  time.Time
	header http.Header

	body []byte
	rd   bytes.Reader
	ans  []byte
}

// run sends messages until all are taken or ctx ends.
func (s *sender) run(ctx context.Context) {
	var timer *time.Timer
	s.body = make([]byte, 0, 512)
	s.ans = make([]byte, 4096)
	for {
		n := s.next.Add(1) - 1
		if n >= s.total || ctx.Err() != nil {
			return
		}
		if s.rate > 0 {
			due := s.start.Add(time.Duration(float64(n) * float64(time.Second) / s.rate))
			if d := time.Until(due); d > 0 {
				if timer == nil {
					timer = time.NewTimer(d)
				} else {
					timer.Reset(d)
				}
				select {
				case <-ctx.Done():
					timer.Stop()
					return
				case <-timer.C:
				}
			}
		}
		s.sendOne(ctx, n)
	}
}

// sendOne posts message n to token n mod len(tokens).
func (s *sender) sendOne(ctx context.Context, n int64) {
	b := append(s.body[:0], `{"message":{"token":`...)
	b = append(b, s.tokens[n%int64(len(s.tokens))]...)
	b = append(b, `,"android":{"priority":"high"},"data":{"n":"`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `","`+dataSentAt+`":"`...)
	b = strconv.AppendInt(b, time.Now().UnixNano(), 10)
	b = append(b, `","pad":"`+pad+`"}}}`...)
	s.body = b
	s.rd.Reset(b)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, &s.rd)
	if err != nil {
		s.stats.addError("request: " + err.Error())
		return
	}
	req.Header = s.header
	s.stats.sent.Add(1)
	resp, err := s.hc.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			s.stats.addError(transportErrorKind(err))
		}
		return
	}
	var kind string
	if resp.StatusCode == http.StatusOK {
		_, err = io.CopyBuffer(io.Discard, resp.Body, s.ans)
	} else {
		var k int
		k, err = io.ReadFull(resp.Body, s.ans)
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			err = nil
		}
		kind = answerErrorKind(resp.StatusCode, s.ans[:k])
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	for cur, now := s.stats.lastDone.Load(), time.Now().UnixNano(); now > cur && !s.stats.lastDone.CompareAndSwap(cur, now); cur = s.stats.lastDone.Load() {
	}
	switch {
	case kind != "":
		s.stats.addError(kind)
	case err != nil:
		s.stats.addError(transportErrorKind(err))
	default:
		s.stats.accepted.Add(1)
	}
}
