package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/heraldpush/herald/internal/bench"
)

// benchAgentArg is the hidden first argument that makes `herald bench` an
// agent process: `herald bench agent` runs devices for a parent bench,
// talking JSON lines over stdin and stdout. It is not in the help.
const benchAgentArg = "agent"

// benchRawServerArg is the hidden first argument that makes `herald bench`
// the raw baseline server of `herald bench topic --baseline`.
const benchRawServerArg = "raw-server"

// benchTopicArg is the first argument of `herald bench topic`.
const benchTopicArg = "topic"

// benchOptions is the parsed bench command line.
type benchOptions struct {
	admin   adminFlags
	cfg     bench.Config
	rate    int
	jsonOut bool
}

// parseBench turns the bench command line into options.
func parseBench(env *Env, args []string) (benchOptions, error) {
	const name = "bench"
	var o benchOptions
	f := newFlagSet(name, "herald bench [flags]",
		"Measure a Herald server on this machine: connect --devices devices (client SDK,\n"+
			"in agent child processes of at most 15,000 devices each, from source addresses\n"+
			"spread over 127.0.0.2-254), send --messages messages to them round robin through\n"+
			"the FCM HTTP v1 API, and report accepted/s, delivered/s, the send→device latency\n"+
			"and the messages lost. It creates a project bench-<random> with the admin\n"+
			"credential and talks only to loopback servers (127.0.0.0/8, localhost).\n"+
			"Progress goes to stderr every second, the report to stdout. See docs/bench.md.\n"+
			"`herald bench topic` measures topic fan-out instead (herald bench topic --help).",
		"herald bench --devices 2000 --messages 20000\n"+
			"herald bench --devices 10000 --messages 50000 --rate 10000 --json")
	f.Int(&o.cfg.Devices, "devices", 1000, "", "`N` devices to connect")
	f.Int(&o.cfg.Messages, "messages", 10000, "", "`M` messages to send")
	f.Int(&o.rate, "rate", 0, "", "target send `RATE` in messages/s; 0: as fast as possible")
	f.Int(&o.cfg.Senders, "senders", 64, "", "`S` concurrent HTTP senders")
	f.Int(&o.cfg.Agents, "agents", 0, "", "`K` agent processes for the devices")
	f.note("agents", fmt.Sprintf("default: N/%d rounded up", bench.MaxDevicesPerAgent))
	f.Duration(&o.cfg.DrainTimeout, "drain", 10*time.Second, "", "wait up to `DURATION` after the last send for deliveries")
	o.admin.register(f)
	f.Bool(&o.jsonOut, "json", false, "", "print the report as JSON")
	rest, err := f.parse(env, args)
	if err != nil {
		return benchOptions{}, err
	}
	if err := positionalArgs(name, rest); err != nil {
		return benchOptions{}, err
	}
	switch {
	case o.cfg.Devices < 1:
		return benchOptions{}, usageErrorf(name, "--devices %d: want at least 1", o.cfg.Devices)
	case o.cfg.Messages < 1:
		return benchOptions{}, usageErrorf(name, "--messages %d: want at least 1", o.cfg.Messages)
	case o.rate < 0:
		return benchOptions{}, usageErrorf(name, "--rate %d: want 0 (as fast as possible) or more", o.rate)
	case o.cfg.Senders < 1:
		return benchOptions{}, usageErrorf(name, "--senders %d: want at least 1", o.cfg.Senders)
	case o.cfg.Agents < 0 || o.cfg.Agents > o.cfg.Devices:
		return benchOptions{}, usageErrorf(name, "--agents %d: want 1 to --devices (%d)", o.cfg.Agents, o.cfg.Devices)
	case o.cfg.Agents > 0 && (o.cfg.Devices+o.cfg.Agents-1)/o.cfg.Agents > bench.MaxDevicesPerAgent:
		return benchOptions{}, usageErrorf(name, "--agents %d: an agent runs at most %d devices (open-file limit); use at least %d",
			o.cfg.Agents, bench.MaxDevicesPerAgent, (o.cfg.Devices+bench.MaxDevicesPerAgent-1)/bench.MaxDevicesPerAgent)
	case o.cfg.DrainTimeout <= 0:
		return benchOptions{}, usageErrorf(name, "--drain %v: want a positive duration", o.cfg.DrainTimeout)
	}
	o.cfg.Rate = float64(o.rate)
	base, err := o.admin.baseURL(name)
	if err != nil {
		return benchOptions{}, err
	}
	if err := bench.CheckLoopback(base); err != nil {
		return benchOptions{}, usageErrorf(name, "%v", err)
	}
	o.cfg.Server = base
	return o, nil
}

func runBench(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && args[0] == benchAgentArg {
		logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		return bench.RunAgent(ctx, env.Stdin, env.Stdout, logger)
	}
	if len(args) > 0 && args[0] == benchRawServerArg {
		logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		return bench.RunRawServer(ctx, env.Stdin, env.Stdout, logger)
	}
	if len(args) > 0 && args[0] == benchTopicArg {
		return runBenchTopic(ctx, env, args[1:])
	}
	o, err := parseBench(env, args)
	if err != nil {
		return err
	}
	tok, exe, err := benchSetup(&o.admin, "bench")
	if err != nil {
		return err
	}
	o.cfg.AdminToken = tok
	o.cfg.AgentCommand = []string{exe, "bench", benchAgentArg}
	o.cfg.AgentStderr = env.Stderr
	o.cfg.Progress = env.Stderr
	rep, err := bench.Run(ctx, o.cfg)
	if err != nil {
		return err
	}
	if o.jsonOut {
		return rep.WriteJSON(env.Stdout)
	}
	return rep.WriteText(env.Stdout)
}

// benchTopicOptions is the parsed `herald bench topic` command line.
type benchTopicOptions struct {
	admin   adminFlags
	cfg     bench.TopicConfig
	rate    int
	devices string
	jsonOut bool
}

// parseBenchTopic turns the `herald bench topic` command line into options.
func parseBenchTopic(env *Env, args []string) (benchTopicOptions, error) {
	const name = "bench topic"
	var o benchTopicOptions
	f := newFlagSet(name, "herald bench topic [flags]",
		"Measure topic fan-out on this machine: register --subscribers devices (client SDK,\n"+
			"in agent child processes of at most 15,000 devices each, from source addresses\n"+
			"spread over 127.0.0.2-254), subscribe each to one topic bench-<random>, connect\n"+
			"them, send --messages topic messages through the FCM HTTP v1 API (--senders calls\n"+
			"in flight, default one at a time), and report the send call's latency, the time\n"+
			"from each send call to the last subscriber's receipt (p50/p99 over messages), the\n"+
			"per-device latency, deliveries/s, the deliveries lost and the server's memory per\n"+
			"connection (its /metrics before and after connecting). With --baseline, the same\n"+
			"subscribers then connect to a minimal raw WebSocket server that writes one\n"+
			"precompiled frame per message to every connection, and the report compares the\n"+
			"two. With --devices wire, Herald's devices are protocol-level clients (read,\n"+
			"dedupe, ack, ping; no SDK) about as lean as the baseline's, so that the\n"+
			"comparison compares the servers. Loopback servers only (127.0.0.0/8, localhost).\n"+
			"See docs/bench.md.",
		"herald bench topic --subscribers 5000 --messages 20 --baseline\n"+
			"herald bench topic --subscribers 5000 --messages 20 --devices wire --baseline\n"+
			"herald bench topic --subscribers 19500 --messages 20 --agents 2 --baseline --json")
	f.Int(&o.cfg.Subscribers, "subscribers", 1000, "", "`N` devices subscribed to the topic")
	f.Int(&o.cfg.Messages, "messages", 20, "", "`K` topic messages to send")
	f.Int(&o.rate, "rate", 0, "", "target send `RATE` in messages/s; 0: back to back")
	f.Int(&o.cfg.Senders, "senders", 1, "", "`S` send calls in flight at once (1: the next call once the previous answered)")
	f.String(&o.devices, "devices", string(bench.DevicesSDK), "", "`MODE` of Herald's devices: sdk (Go client SDK) or wire (protocol-level clients)")
	f.Duration(&o.cfg.AckDelay, "ack-delay", time.Second, "", "subscribers hold their acks up to `DURATION` (client.Config.AckDelay; 0: ack at once)")
	f.Int(&o.cfg.Agents, "agents", 0, "", "`A` agent processes for the devices")
	f.note("agents", fmt.Sprintf("default: N/%d rounded up", bench.MaxDevicesPerAgent))
	f.Bool(&o.cfg.Baseline, "baseline", false, "", "also measure the raw WebSocket baseline, after Herald")
	f.Duration(&o.cfg.DrainTimeout, "drain", 10*time.Second, "", "wait up to `DURATION` after the last send for deliveries")
	o.admin.register(f)
	f.Bool(&o.jsonOut, "json", false, "", "print the report as JSON")
	rest, err := f.parse(env, args)
	if err != nil {
		return benchTopicOptions{}, err
	}
	if err := positionalArgs(name, rest); err != nil {
		return benchTopicOptions{}, err
	}
	n := o.cfg.Subscribers
	if o.cfg.Devices, err = bench.ParseDeviceMode(o.devices); err != nil {
		return benchTopicOptions{}, usageErrorf(name, "--devices %q: want sdk or wire", o.devices)
	}
	switch {
	case n < 1:
		return benchTopicOptions{}, usageErrorf(name, "--subscribers %d: want at least 1", n)
	case o.cfg.Messages < 1:
		return benchTopicOptions{}, usageErrorf(name, "--messages %d: want at least 1", o.cfg.Messages)
	case o.rate < 0:
		return benchTopicOptions{}, usageErrorf(name, "--rate %d: want 0 (back to back) or more", o.rate)
	case o.cfg.Senders < 1 || o.cfg.Senders > o.cfg.Messages:
		return benchTopicOptions{}, usageErrorf(name, "--senders %d: want 1 to --messages (%d)", o.cfg.Senders, o.cfg.Messages)
	case o.cfg.Agents < 0 || o.cfg.Agents > n:
		return benchTopicOptions{}, usageErrorf(name, "--agents %d: want 1 to --subscribers (%d)", o.cfg.Agents, n)
	case o.cfg.Agents > 0 && (n+o.cfg.Agents-1)/o.cfg.Agents > bench.MaxDevicesPerAgent:
		return benchTopicOptions{}, usageErrorf(name, "--agents %d: an agent runs at most %d devices (open-file limit); use at least %d",
			o.cfg.Agents, bench.MaxDevicesPerAgent, (n+bench.MaxDevicesPerAgent-1)/bench.MaxDevicesPerAgent)
	case o.cfg.DrainTimeout <= 0:
		return benchTopicOptions{}, usageErrorf(name, "--drain %v: want a positive duration", o.cfg.DrainTimeout)
	case o.cfg.AckDelay < 0:
		return benchTopicOptions{}, usageErrorf(name, "--ack-delay %v: want 0 or more", o.cfg.AckDelay)
	}
	o.cfg.Rate = float64(o.rate)
	base, err := o.admin.baseURL(name)
	if err != nil {
		return benchTopicOptions{}, err
	}
	if err := bench.CheckLoopback(base); err != nil {
		return benchTopicOptions{}, usageErrorf(name, "%v", err)
	}
	o.cfg.Server = base
	return o, nil
}

// benchSetup returns what both benches need before they start: the admin
// credential, and this binary, which runs their agent processes.
func benchSetup(admin *adminFlags, cmd string) (token, exe string, err error) {
	if token, err = admin.credential(); err != nil {
		return "", "", err
	}
	if exe, err = os.Executable(); err != nil {
		return "", "", fmt.Errorf("%s: find the herald binary for the agents: %w", cmd, err)
	}
	return token, exe, nil
}

func runBenchTopic(ctx context.Context, env *Env, args []string) error {
	o, err := parseBenchTopic(env, args)
	if err != nil {
		return err
	}
	tok, exe, err := benchSetup(&o.admin, "bench topic")
	if err != nil {
		return err
	}
	o.cfg.AdminToken = tok
	o.cfg.AgentCommand = []string{exe, "bench", benchAgentArg}
	o.cfg.RawServerCommand = []string{exe, "bench", benchRawServerArg}
	o.cfg.AgentStderr = env.Stderr
	o.cfg.Progress = env.Stderr
	rep, err := bench.RunTopic(ctx, o.cfg)
	if err != nil {
		return err
	}
	if o.jsonOut {
		return rep.WriteJSON(env.Stdout)
	}
	return rep.WriteText(env.Stdout)
}
