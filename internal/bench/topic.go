package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// dataNumber is the data field carrying the message number.
const dataNumber = "n"

// TopicConfig describes one `herald bench topic` run: Subscribers devices
// subscribed to one topic, Messages topic messages, and optionally the raw
// baseline with the same figures. Server, AdminToken and AgentCommand are
// required (RawServerCommand too with Baseline); zero values of the others
// take the defaults in their comments.
type TopicConfig struct {
	// Server is the base URL of the server, an http URL on 127.0.0.0/8 or
	// localhost.
	Server string
	// AdminToken is the server's admin credential.
	AdminToken string
	// Subscribers is the number of devices subscribed to the topic
	// (default 1000).
	Subscribers int
	// Messages is the number of topic messages to send (default 20).
	Messages int
	// Rate is the target send rate in messages per second; 0 sends them
	// back to back (the next call as soon as the previous one answered).
	Rate float64
	// AckDelay is the subscribers' client.Config.AckDelay: they may hold
	// their acks this long, so that a fan-out is not slowed by the acks
	// of the devices it reached first (default 0).
	AckDelay time.Duration
	// Devices is what runs Herald's devices (default DevicesSDK): the Go
	// client SDK, or DevicesWire, protocol-level clients as lean as the
	// raw baseline's.
	Devices DeviceMode
	// Senders is the number of send calls in flight at once (default 1):
	// with more than one, message n+1 may be sent before n is answered, as
	// an app server with several workers does.
	Senders int
	// Agents is the number of agent processes (default: enough for at most
	// MaxDevicesPerAgent devices each).
	Agents int
	// Baseline also runs the raw baseline, after Herald, with the same
	// subscribers, messages and agents.
	Baseline bool
	// AgentCommand is the command line of an agent process (RunAgent).
	AgentCommand []string
	// RawServerCommand is the command line of the raw baseline server
	// (RunRawServer), e.g. the herald binary and "bench", "raw-server".
	RawServerCommand []string
	// AgentStderr receives the agents' and the raw server's logs (default:
	// discarded).
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
	// IdleWait is how long the connected devices stay idle before the
	// server's memory is read (default 2 s).
	IdleWait time.Duration
	// RegisterConcurrency bounds each agent's registrations and connection
	// attempts in flight (default 64).
	RegisterConcurrency int
	// Logger receives the bench's own logs (default: discarded).
	Logger *slog.Logger
}

// config checks the topic configuration and returns the agent-side
// configuration it shares with the token bench.
func (c *TopicConfig) config() (Config, error) {
	if c.Subscribers == 0 {
		c.Subscribers = 1000
	}
	if c.Messages == 0 {
		c.Messages = 20
	}
	if c.IdleWait <= 0 {
		c.IdleWait = 2 * time.Second
	}
	if c.Senders == 0 {
		c.Senders = 1
	}
	if c.Devices == "" {
		c.Devices = DevicesSDK
	}
	if _, err := ParseDeviceMode(string(c.Devices)); err != nil {
		return Config{}, err
	}
	switch {
	case c.Messages < 1 || c.Messages > maxAgentMessages:
		return Config{}, fmt.Errorf("%d messages: want 1 to %d", c.Messages, maxAgentMessages)
	case c.Senders < 1 || c.Senders > c.Messages:
		return Config{}, fmt.Errorf("%d senders: want 1 to the number of messages (%d)", c.Senders, c.Messages)
	case c.Baseline && len(c.RawServerCommand) == 0:
		return Config{}, errors.New("a baseline without a raw server command")
	}
	cfg, err := Config{
		Server: c.Server, AdminToken: c.AdminToken, Devices: c.Subscribers, Messages: c.Messages,
		Rate: c.Rate, Senders: c.Senders, AckDelay: c.AckDelay, Agents: c.Agents, AgentCommand: c.AgentCommand,
		AgentStderr: c.AgentStderr, Progress: c.Progress, ProgressInterval: c.ProgressInterval,
		ConnectTimeout: c.ConnectTimeout, DrainTimeout: c.DrainTimeout,
		RegisterConcurrency: c.RegisterConcurrency, Logger: c.Logger,
	}.withDefaults()
	if err != nil {
		return Config{}, err
	}
	if c.Subscribers < 1 {
		return Config{}, fmt.Errorf("%d subscribers: want at least 1", c.Subscribers)
	}
	return cfg, nil
}

// TopicReport is the outcome of a topic bench run. Durations are in
// seconds, latencies in milliseconds.
type TopicReport struct {
	Server  string `json:"server"`
	Project string `json:"project"`
	Topic   string `json:"topic"`
	// Subscribers were connected from Agents processes.
	Subscribers int `json:"subscribers"`
	Agents      int `json:"agents"`
	// Messages were sent at TargetRate messages/s (0: back to back), by
	// Senders calls in flight at once; Herald's subscribers held their
	// acks up to AckDelayMS.
	Messages   int     `json:"messages"`
	TargetRate float64 `json:"target_rate"`
	Senders    int     `json:"senders"`
	AckDelayMS int64   `json:"ack_delay_ms"`
	// Devices is what ran Herald's devices: "sdk" or "wire".
	Devices DeviceMode `json:"devices"`
	// Herald is the server's run, Baseline the raw baseline's (nil without
	// --baseline), Ratio compares them (nil without a baseline).
	Herald   TopicRun    `json:"herald"`
	Baseline *TopicRun   `json:"baseline,omitempty"`
	Ratio    *TopicRatio `json:"herald_to_baseline,omitempty"`
	// RunSeconds is the whole run, both parts.
	RunSeconds float64 `json:"run_seconds"`
}

// TopicRun is the figures of one part of a topic bench run.
type TopicRun struct {
	// ConnectSeconds runs from telling the agents to connect to every
	// device connected.
	ConnectSeconds float64 `json:"connect_seconds"`
	// Sent counts the send calls, Accepted those answered 200, Errors the
	// others by kind.
	Sent     int64            `json:"sent"`
	Accepted int64            `json:"accepted"`
	Errors   map[string]int64 `json:"errors"`
	// SendCall is the send call's own latency, over the calls.
	SendCall Latency `json:"send_call_ms"`
	// FanOut is, per message, the time from its send call to the last
	// subscriber's receipt, over the messages that reached anyone;
	// Complete counts the messages every subscriber received.
	FanOut   Latency `json:"fan_out_ms"`
	Complete int64   `json:"complete"`
	// DeviceLatency is send → device over every receipt.
	DeviceLatency Latency `json:"device_latency_ms"`
	// Expected is subscribers × accepted; Lost is Expected − Delivered once
	// the drain ended; DrainTimedOut says the drain timeout ended it.
	Expected      int64 `json:"expected"`
	Delivered     int64 `json:"delivered"`
	Lost          int64 `json:"lost"`
	DrainTimedOut bool  `json:"drain_timed_out"`
	// DeliverSeconds runs from the first send call to the last receipt.
	DeliverSeconds      float64 `json:"deliver_seconds"`
	DeliveriesPerSecond float64 `json:"deliveries_per_second"`
	// Memory is the server's resident memory before the devices connected
	// and once they were all connected and idle.
	Memory Memory `json:"memory"`
	// BadData counts receipts of something else than the bench's messages;
	// Reconnects counts sessions beyond each device's first; Dropped
	// counts wire devices whose connection the server ended (they do not
	// reconnect).
	BadData    int64 `json:"bad_data"`
	Reconnects int64 `json:"reconnects"`
	Dropped    int64 `json:"dropped_connections"`
	// AgentCPU is the agents' processor time in seconds.
	AgentCPU float64 `json:"agent_cpu_seconds"`

	// names are the accepted messages' names (projects/P/messages/ID) by
	// message number, for tests; "" for the others and the baseline.
	names []string
}

// Memory is a server's resident memory around connecting the devices.
type Memory struct {
	BeforeBytes int64 `json:"before_bytes"`
	AfterBytes  int64 `json:"after_bytes"`
	// PerConnectionKiB is (after − before) / connections.
	PerConnectionKiB float64 `json:"per_connection_kib"`
}

// TopicRatio is Herald's figure divided by the baseline's.
type TopicRatio struct {
	FanOutP50           float64 `json:"fan_out_p50"`
	FanOutP99           float64 `json:"fan_out_p99"`
	DeliveriesPerSecond float64 `json:"deliveries_per_second"`
}

// RunTopic runs the topic bench described by cfg: Herald first, then the
// raw baseline if asked for, and returns the figures. Progress goes to
// cfg.Progress.
func RunTopic(ctx context.Context, tc TopicConfig) (*TopicReport, error) {
	cfg, err := tc.config()
	if err != nil {
		return nil, fmt.Errorf("bench topic: %w", err)
	}
	runStart := time.Now()
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("bench topic: random topic name: %w", err)
	}
	rep := &TopicReport{
		Server: cfg.Server, Topic: "bench-" + hex.EncodeToString(rnd[:]), Subscribers: cfg.Devices,
		Agents: cfg.Agents, Messages: cfg.Messages, TargetRate: cfg.Rate, Senders: cfg.Senders, AckDelayMS: cfg.AckDelay.Milliseconds(),
		Devices: tc.Devices,
	}
	project, err := runHeraldTopic(ctx, cfg, tc.IdleWait, rep.Topic, tc.Devices, &rep.Herald)
	rep.Project = project
	if err != nil {
		return nil, err
	}
	if tc.Baseline {
		rep.Baseline = &TopicRun{}
		if err := runRawTopic(ctx, cfg, tc, rep.Baseline); err != nil {
			return nil, err
		}
		h, b := &rep.Herald, rep.Baseline
		rep.Ratio = &TopicRatio{
			FanOutP50:           ratio(h.FanOut.P50, b.FanOut.P50),
			FanOutP99:           ratio(h.FanOut.P99, b.FanOut.P99),
			DeliveriesPerSecond: ratio(h.DeliveriesPerSecond, b.DeliveriesPerSecond),
		}
	}
	rep.RunSeconds = time.Since(runStart).Seconds()
	return rep, nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// runHeraldTopic is the Herald part: setup, register and subscribe,
// memory, connect, memory, send, drain. It returns the project.
func runHeraldTopic(ctx context.Context, cfg Config, idle time.Duration, topic string, devices DeviceMode, out *TopicRun) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b := &run{cfg: cfg, progressed: make(chan struct{}, 1), events: make(chan agentEvent, 4*cfg.Agents)}
	hc := &http.Client{Timeout: 30 * time.Second}
	s, err := prepare(ctx, hc, cfg.Server, cfg.AdminToken)
	if err != nil {
		return "", fmt.Errorf("bench topic: setup: %w", err)
	}
	b.setup = s
	b.tune = func(a *agentStart) {
		a.Topic, a.HoldConnect, a.Messages, a.DeviceMode = topic, true, cfg.Messages, devices
	}
	fmt.Fprintf(cfg.Progress, "bench topic: project %s, topic %s: registering and subscribing %d devices\n", s.project, topic, cfg.Devices)
	defer b.stopAgents()
	if err := b.startAgents(ctx); err != nil {
		return s.project, err
	}
	if err := b.waitRegistered(ctx); err != nil {
		return s.project, err
	}
	if out.Memory.BeforeBytes, err = serverRSS(ctx, hc, cfg.Server); err != nil {
		return s.project, err
	}
	connectStart := time.Now()
	for _, a := range b.agents {
		if err := json.NewEncoder(a.stdin).Encode(agentMsg{Type: msgConnect}); err != nil {
			return s.project, fmt.Errorf("bench topic: agent %d: send connect: %w", a.idx, err)
		}
	}
	if _, err := b.waitReady(ctx); err != nil {
		return s.project, err
	}
	out.ConnectSeconds = time.Since(connectStart).Seconds()
	fmt.Fprintf(cfg.Progress, "bench topic: %d devices connected in %.1fs; idle for %v, then reading the server's memory\n", cfg.Devices, out.ConnectSeconds, idle)
	if err := sleepCtx(ctx, idle); err != nil {
		return s.project, err
	}
	if out.Memory.AfterBytes, err = serverRSS(ctx, hc, cfg.Server); err != nil {
		return s.project, err
	}
	out.Memory.PerConnectionKiB = float64(out.Memory.AfterBytes-out.Memory.BeforeBytes) / float64(cfg.Devices) / 1024

	out.names = make([]string, cfg.Messages)
	senders := make([]*topicSender, cfg.Senders)
	for i := range senders {
		senders[i] = newTopicSender(cfg, s, topic, out.names)
		defer senders[i].hc.CloseIdleConnections()
	}
	return s.project, b.topicPhase(ctx, func(i int) sendFunc { return senders[i].send }, out)
}

// runRawTopic is the baseline part: raw server, connect, send, drain.
func runRawTopic(ctx context.Context, cfg Config, tc TopicConfig, out *TopicRun) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rs, err := startRawServer(ctx, tc.RawServerCommand, cfg.AgentStderr)
	if err != nil {
		return err
	}
	defer rs.stop()
	fmt.Fprintf(cfg.Progress, "bench topic: baseline: raw server on %s; connecting %d clients\n", rs.addr, cfg.Devices)
	b := &run{cfg: cfg, progressed: make(chan struct{}, 1), events: make(chan agentEvent, 4*cfg.Agents), raw: true}
	b.tune = func(a *agentStart) {
		a.AppKey, a.RawURL, a.Messages = "", "ws://"+rs.addr+"/", cfg.Messages
	}
	before, err := rs.call(ctx, rawMsg{Type: rawStats})
	if err != nil {
		return err
	}
	out.Memory.BeforeBytes = before.RSSBytes
	defer b.stopAgents()
	connectStart := time.Now()
	if err := b.startAgents(ctx); err != nil {
		return err
	}
	if _, err := b.waitReady(ctx); err != nil {
		return err
	}
	out.ConnectSeconds = time.Since(connectStart).Seconds()
	if err := sleepCtx(ctx, tc.IdleWait); err != nil {
		return err
	}
	after, err := rs.call(ctx, rawMsg{Type: rawStats})
	if err != nil {
		return err
	}
	if after.Conns != int64(cfg.Devices) {
		return fmt.Errorf("bench topic: baseline: the raw server holds %d connections, want %d", after.Conns, cfg.Devices)
	}
	out.Memory.AfterBytes = after.RSSBytes
	out.Memory.PerConnectionKiB = float64(after.RSSBytes-before.RSSBytes) / float64(cfg.Devices) / 1024
	var callMu sync.Mutex // one command at a time on the raw server's pipe
	send := func(ctx context.Context, n int64, sentAt int64) (string, error) {
		callMu.Lock()
		defer callMu.Unlock()
		m, err := rs.call(ctx, rawMsg{Type: rawSend, N: n, T: sentAt})
		if err != nil {
			return "", err
		}
		if m.Type != rawSent || m.N != n {
			return "", fmt.Errorf("bench topic: baseline: the raw server answered %+v to send %d", m, n)
		}
		return "", nil
	}
	return b.topicPhase(ctx, func(int) sendFunc { return send }, out)
}

// sendFunc makes send call n with send time sentAt (unix nanos): it
// returns an error kind for a refused call, an error for a failure that
// ends the run.
type sendFunc func(ctx context.Context, n int64, sentAt int64) (kind string, err error)

// topicPhase sends cfg.Messages messages through cfg.Senders senders
// (sender i calls senderFor(i)), back to back or at cfg.Rate, drains,
// collects the agents' reports and fills in out.
func (b *run) topicPhase(ctx context.Context, senderFor func(i int) sendFunc, out *TopicRun) error {
	cfg := b.cfg
	k := cfg.Messages
	sentAt := make([]int64, k)
	callNS := make([]int64, k)
	accepted := make([]bool, k)
	var mu sync.Mutex // errs
	errs := map[string]int64{}
	var sent, acc, next atomic.Int64
	delivered := func() int64 { return b.sum(func(a *agentProc) *atomic.Int64 { return &a.delivered }) }

	done := make(chan error, 1)
	start := time.Now()
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	go func() {
		var wg sync.WaitGroup
		failed := make(chan error, cfg.Senders)
		for i := range cfg.Senders {
			send := senderFor(i)
			wg.Go(func() {
				for {
					n := int(next.Add(1) - 1)
					if n >= k {
						return
					}
					if cfg.Rate > 0 {
						if err := sleepCtx(sendCtx, time.Until(start.Add(time.Duration(float64(n)*float64(time.Second)/cfg.Rate)))); err != nil {
							failed <- err
							return
						}
					}
					t := time.Now().UnixNano()
					sentAt[n] = t
					sent.Add(1)
					kind, err := send(sendCtx, int64(n), t)
					if err != nil {
						failed <- err
						stopSending()
						return
					}
					callNS[n] = time.Now().UnixNano() - t
					if kind != "" {
						mu.Lock()
						errs[kind]++
						mu.Unlock()
						continue
					}
					accepted[n] = true
					acc.Add(1)
				}
			})
		}
		wg.Wait()
		select {
		case err := <-failed:
			done <- err
		default:
			done <- nil
		}
	}()
	ticker := time.NewTicker(cfg.ProgressInterval)
	defer ticker.Stop()
	for sending := true; sending; {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("bench topic: send: %w", err)
			}
			sending = false
		case ev := <-b.events:
			if ev.kind == msgError {
				stopSending()
				<-done
				return ev.err
			}
		case <-ticker.C:
			fmt.Fprintf(cfg.Progress, "bench topic: sent %d/%d, accepted %d, delivered %d of %d\n",
				sent.Load(), k, acc.Load(), delivered(), acc.Load()*int64(cfg.Devices))
		}
	}
	out.Sent, out.Accepted, out.Errors = sent.Load(), acc.Load(), errs
	out.Expected = out.Accepted * int64(cfg.Devices)
	out.SendCall = exactLatency(callNS[:out.Sent])
	drained, err := b.drain(ctx, out.Expected)
	if err != nil {
		return err
	}
	out.DrainTimedOut = !drained
	reports, err := b.finish(ctx)
	if err != nil {
		return err
	}
	b.stopAgents()
	for _, a := range b.agents {
		if ps := a.cmd.ProcessState; ps != nil {
			out.AgentCPU += (ps.UserTime() + ps.SystemTime()).Seconds()
		}
	}
	var hist Histogram
	var lastRecv int64
	counts, last := make([]int64, k), make([]int64, k)
	for _, r := range reports {
		out.Delivered += r.Delivered
		out.BadData += r.BadData
		out.Reconnects += r.Reconnects
		out.Dropped += r.Dropped
		lastRecv = max(lastRecv, r.LastRecvNS)
		hist.merge(r.Latency)
		for n, pm := range r.PerMessage {
			if n < k {
				counts[n] += pm.Count
				last[n] = max(last[n], pm.LastNS)
			}
		}
	}
	var fanOut []int64
	for n := range k {
		if counts[n] == int64(cfg.Devices) {
			out.Complete++
		}
		if last[n] > 0 {
			fanOut = append(fanOut, last[n]-sentAt[n])
		}
	}
	out.FanOut = exactLatency(fanOut)
	out.DeviceLatency = latencyOf(&hist)
	out.Lost = out.Expected - out.Delivered
	if lastRecv > 0 {
		out.DeliverSeconds = time.Unix(0, lastRecv).Sub(time.Unix(0, sentAt[0])).Seconds()
		if out.DeliverSeconds > 0 {
			out.DeliveriesPerSecond = float64(out.Delivered) / out.DeliverSeconds
		}
	}
	return nil
}

// waitRegistered waits for every agent to have registered (and
// subscribed) its devices.
func (b *run) waitRegistered(ctx context.Context) error {
	ticker := time.NewTicker(b.cfg.ProgressInterval)
	defer ticker.Stop()
	timeout := time.NewTimer(b.cfg.ConnectTimeout)
	defer timeout.Stop()
	start := time.Now()
	for done := 0; done < len(b.agents); {
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: %w", ctx.Err())
		case <-timeout.C:
			return fmt.Errorf("bench: only %d of %d devices registered within %v",
				b.sum(func(a *agentProc) *atomic.Int64 { return &a.registered }), b.cfg.Devices, b.cfg.ConnectTimeout)
		case ev := <-b.events:
			switch ev.kind {
			case msgError:
				return ev.err
			case msgRegistered:
				done++
			}
		case <-ticker.C:
			fmt.Fprintf(b.cfg.Progress, "bench topic: registered and subscribed %d/%d (%.0fs)\n",
				b.sum(func(a *agentProc) *atomic.Int64 { return &a.registered }), b.cfg.Devices, time.Since(start).Seconds())
		}
	}
	return nil
}

// exactLatency summarises a few latencies in nanoseconds exactly (nearest
// rank).
func exactLatency(ns []int64) Latency {
	if len(ns) == 0 {
		return Latency{}
	}
	s := slices.Clone(ns)
	slices.Sort(s)
	ms := func(v int64) float64 { return float64(v) / float64(time.Millisecond) }
	q := func(p float64) float64 {
		i := int(p*float64(len(s))+0.999999) - 1
		return ms(s[min(max(i, 0), len(s)-1)])
	}
	return Latency{Samples: int64(len(s)), Min: ms(s[0]), P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: ms(s[len(s)-1])}
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("bench: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}

// residentMetric is the process collector's resident memory metric.
const residentMetric = "process_resident_memory_bytes"

// serverRSS reads the server's resident memory from its /metrics.
func serverRSS(ctx context.Context, hc *http.Client, server string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"/metrics", nil)
	if err != nil {
		return 0, fmt.Errorf("bench: metrics: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("bench: read the server's /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("bench: the server's /metrics answered HTTP %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, residentMetric+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("bench: %s %q: %w", residentMetric, v, err)
			}
			return int64(f), nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("bench: read the server's /metrics: %w", err)
	}
	return 0, fmt.Errorf("bench: the server's /metrics has no %s", residentMetric)
}

// topicSender sends the Herald part's topic messages through the FCM v1
// API, one call at a time.
type topicSender struct {
	hc     *http.Client
	url    string
	header http.Header
	topic  []byte // JSON-quoted
	body   []byte
	ans    []byte
	// names receives the name of accepted message n at n (shared by the
	// senders; each message is sent by one).
	names []string
}

func newTopicSender(cfg Config, s setup, topic string, names []string) *topicSender {
	q, _ := json.Marshal(topic) // a string always marshals
	return &topicSender{
		hc: &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second, DisableCompression: true},
		},
		url: cfg.Server + "/v1/projects/" + s.project + "/messages:send",
		header: http.Header{
			"Authorization": {"Bearer " + s.accessToken},
			"Content-Type":  {"application/json"},
		},
		topic: q,
		body:  make([]byte, 0, 512),
		ans:   make([]byte, 4096),
		names: names,
	}
}

// send posts topic message n with send time sentAt; a refusal or a
// transport failure is an error kind, not an error.
func (s *topicSender) send(ctx context.Context, n int64, sentAt int64) (string, error) {
	b := append(s.body[:0], `{"message":{"topic":`...)
	b = append(b, s.topic...)
	b = append(b, `,"android":{"priority":"high"},"data":{"`+dataNumber+`":"`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `","`+dataSentAt+`":"`...)
	b = strconv.AppendInt(b, sentAt, 10)
	b = append(b, `","pad":"`+pad+`"}}}`...)
	s.body = b
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("request: %w", err)
	}
	req.Header = s.header
	resp, err := s.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return transportErrorKind(err), nil
	}
	defer resp.Body.Close()
	k, _ := io.ReadFull(resp.Body, s.ans)
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode == http.StatusOK {
		s.names[n] = answerName(s.ans[:k])
		return "", nil
	}
	return answerErrorKind(resp.StatusCode, s.ans[:k]), nil
}

// answerName returns the "name" of a send answer ({"name":"projects/P/
// messages/ID"}), "" if it has none.
func answerName(ans []byte) string {
	_, rest, ok := bytes.Cut(ans, []byte(`"name":"`))
	if !ok {
		return ""
	}
	name, _, ok := bytes.Cut(rest, []byte(`"`))
	if !ok {
		return ""
	}
	return string(name)
}

// rawServerProc is the parent's side of the raw baseline server.
type rawServerProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	enc     *json.Encoder
	answers chan rawMsg
	exited  chan struct{}
	addr    string
}

// startRawServer starts the raw server and waits for its address.
func startRawServer(ctx context.Context, command []string, stderr io.Writer) (*rawServerProc, error) {
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Stderr = stderr
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("bench topic: raw server: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bench topic: raw server: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench topic: start the raw server (%s): %w", command[0], err)
	}
	rs := &rawServerProc{cmd: cmd, stdin: stdin, enc: json.NewEncoder(stdin), answers: make(chan rawMsg), exited: make(chan struct{})}
	go func() {
		defer close(rs.exited)
		dec := json.NewDecoder(stdout)
		for {
			var m rawMsg
			if dec.Decode(&m) != nil {
				break
			}
			select {
			case rs.answers <- m:
			case <-ctx.Done():
			}
		}
		_ = cmd.Wait()
	}()
	m, err := rs.next(ctx)
	if err != nil {
		rs.stop()
		return nil, err
	}
	if m.Type != rawListening || m.Addr == "" {
		rs.stop()
		return nil, fmt.Errorf("bench topic: the raw server said %+v, want its address", m)
	}
	rs.addr = m.Addr
	return rs, nil
}

// next returns the raw server's next message.
func (rs *rawServerProc) next(ctx context.Context) (rawMsg, error) {
	select {
	case <-ctx.Done():
		return rawMsg{}, fmt.Errorf("bench topic: raw server: %w", ctx.Err())
	case <-rs.exited:
		return rawMsg{}, errors.New("bench topic: the raw server ended")
	case m := <-rs.answers:
		if m.Type == rawError {
			return rawMsg{}, fmt.Errorf("bench topic: raw server: %s", m.Error)
		}
		return m, nil
	}
}

// call sends m to the raw server and returns its answer.
func (rs *rawServerProc) call(ctx context.Context, m rawMsg) (rawMsg, error) {
	if err := rs.enc.Encode(m); err != nil {
		return rawMsg{}, fmt.Errorf("bench topic: raw server: %w", err)
	}
	return rs.next(ctx)
}

// stop closes the raw server's stdin and waits for it to end (killing it
// after agentStopTimeout).
func (rs *rawServerProc) stop() {
	_ = rs.stdin.Close()
	t := time.NewTimer(agentStopTimeout)
	defer t.Stop()
	select {
	case <-rs.exited:
	case <-t.C:
		_ = rs.cmd.Process.Kill()
		<-rs.exited
	}
}
