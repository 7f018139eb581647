package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/heraldpush/herald/internal/config"
	"github.com/heraldpush/herald/internal/server"
)

// serveOptions is what `herald serve` runs with: the server's config and
// how to log.
type serveOptions struct {
	Config    config.Config
	LogLevel  slog.Level
	LogFormat string // "text" or "json"
}

// runServerFunc is the signature of server.Run.
type runServerFunc func(ctx context.Context, cfg config.Config, logger *slog.Logger, ready func(addr string)) error

func runServe(ctx context.Context, env *Env, args []string) error {
	return serve(ctx, env, args, server.Run)
}

// serve parses the serve command line and runs a server with run.
func serve(ctx context.Context, env *Env, args []string, run runServerFunc) error {
	opts, err := parseServe(env, args)
	if err != nil {
		return err
	}
	logger := newLogger(env.Stderr, opts.LogLevel, opts.LogFormat)
	scheme := "http"
	if opts.Config.TLSCert != "" {
		scheme = "https"
	}
	ready := func(addr string) {
		fmt.Fprintf(env.Stderr, "herald: listening on %s://%s\n", scheme, addr)
	}
	return run(ctx, opts.Config, logger, ready)
}

// parseServe turns the serve command line and HERALD_* variables into
// options: defaults < environment < flags. The config is validated.
func parseServe(env *Env, args []string) (serveOptions, error) {
	const name = "serve"
	cfg := config.Default()
	var level, format string
	f := newFlagSet(name, "herald serve [flags]",
		"Run a Herald server: the FCM-compatible send API, the OAuth2 token endpoint,\n"+
			"the admin API and the device connections, all on one listener.\n"+
			"On first start it creates the data directory and an admin token in it\n"+
			"(DATA/admin-token), which the other commands read when run on this host.\n"+
			"It stops gracefully on SIGINT or SIGTERM.",
		"herald serve\n"+
			"herald serve --listen 127.0.0.1:9000 --data /var/lib/herald --public-url https://push.example.com\n"+
			"herald serve --listen :443 --tls-cert /etc/herald/fullchain.pem --tls-key /etc/herald/key.pem")
	f.String(&cfg.Listen, "listen", cfg.Listen, "HERALD_LISTEN", "TCP `ADDR` to listen on, host:port")
	f.String(&cfg.DataDir, "data", cfg.DataDir, "HERALD_DATA", "data `DIR`: the store, the server key and the admin token")
	f.String(&cfg.PublicURL, "public-url", cfg.PublicURL, "HERALD_PUBLIC_URL",
		"`URL` app servers and devices reach this server at, written into service-account files")
	f.note("public-url", "default: the URL each admin request came to")
	f.String(&cfg.TLSCert, "tls-cert", cfg.TLSCert, "HERALD_TLS_CERT",
		"serve https with the PEM certificate (chain) in `FILE`; needs --tls-key")
	f.note("tls-cert", "default: plain HTTP (HTTP/1.1 and h2c)")
	f.String(&cfg.TLSKey, "tls-key", cfg.TLSKey, "HERALD_TLS_KEY", "PEM private key `FILE` of --tls-cert")
	f.note("tls-key", "default: none")
	f.Duration(&cfg.PingInterval, "ping-interval", cfg.PingInterval, "HERALD_PING_INTERVAL",
		"`INTERVAL` between device pings; a device silent twice as long is disconnected")
	f.Duration(&cfg.TopicAckHold, "topic-ack-hold", cfg.TopicAckHold, "HERALD_TOPIC_ACK_HOLD",
		"devices may hold the acks of topic messages up to `DURATION` (or their next ping): fewer ack frames, topic delivered counts that lag as long; 0: ack at once")
	f.Duration(&cfg.NormalBatchWindow, "normal-batch-window", cfg.NormalBatchWindow, "HERALD_NORMAL_BATCH_WINDOW",
		"normal-priority messages to a background device may wait up to `DURATION` to go out together; 0: at once")
	f.Int(&cfg.MaxPending, "max-pending", cfg.MaxPending, "HERALD_MAX_PENDING",
		"keep at most `N` undelivered non-collapsible messages per registration")
	f.Int(&cfg.ProjectQuota, "project-quota", cfg.ProjectQuota, "HERALD_PROJECT_QUOTA",
		"each project may send `N` messages per minute, then gets 429 QUOTA_EXCEEDED; 0: unlimited")
	f.Int(&cfg.DeviceRateMinute, "device-rate-minute", cfg.DeviceRateMinute, "HERALD_DEVICE_RATE_MINUTE",
		"each registration token may receive `N` messages per minute; 0: unlimited")
	f.Int(&cfg.DeviceRateHour, "device-rate-hour", cfg.DeviceRateHour, "HERALD_DEVICE_RATE_HOUR",
		"each registration token may receive `N` messages per hour; 0: unlimited")
	f.Int(&cfg.MaxSendsInFlight, "max-sends-in-flight", cfg.MaxSendsInFlight, "HERALD_MAX_SENDS_IN_FLIGHT",
		"with `N` sends waiting for the store, more get 503 UNAVAILABLE at once; 0: unlimited")
	f.Duration(&cfg.StaleAfter, "stale-after", cfg.StaleAfter, "HERALD_STALE_AFTER",
		"tokens of a device not connected for `DURATION` expire (sends answer UNREGISTERED); 0: never; FCM: 270 days")
	f.Duration(&cfg.RefreshGrace, "refresh-grace", cfg.RefreshGrace, "HERALD_REFRESH_GRACE",
		"a refreshed token still accepts sends for `DURATION`, delivered with the new token; 0: none")
	f.Duration(&cfg.StatusRetention, "status-retention", cfg.StatusRetention, "HERALD_STATUS_RETENTION",
		"keep a message's status readable for `DURATION` after the message ended (delivered, expired…)")
	f.String(&cfg.VendorCA, "vendor-ca", cfg.VendorCA, "HERALD_VENDOR_CA",
		"trust the PEM certificate authorities in `FILE` too, for TLS to APNs, FCM and Web Push services")
	f.note("vendor-ca", "default: the system's only")
	f.String(&cfg.APNsURL, "apns-url", cfg.APNsURL, "HERALD_APNS_URL", "base `URL` of the APNs provider API for production devices")
	f.String(&cfg.APNsSandboxURL, "apns-sandbox-url", cfg.APNsSandboxURL, "HERALD_APNS_SANDBOX_URL",
		"base `URL` of the APNs provider API for sandbox (development) devices")
	f.String(&cfg.FCMURL, "fcm-url", cfg.FCMURL, "HERALD_FCM_URL", "base `URL` of the FCM HTTP v1 API, for registrations of platform fcm")
	f.Int(&cfg.RelayWorkers, "relay-workers", cfg.RelayWorkers, "HERALD_RELAY_WORKERS",
		"make at most `N` calls at once to each vendor (webpush, apns, fcm)")
	f.String(&cfg.PprofListen, "pprof-listen", cfg.PprofListen, "HERALD_PPROF_LISTEN",
		"also serve Go's profiles (/debug/pprof/) on TCP `ADDR`, e.g. 127.0.0.1:6060; keep it private")
	f.String(&level, "log-level", "info", "HERALD_LOG_LEVEL", "`LEVEL` of the logs: debug, info, warn or error")
	f.String(&format, "log-format", "text", "HERALD_LOG_FORMAT", "`FORMAT` of the logs on stderr: text or json")
	rest, err := f.parse(env, args)
	if err != nil {
		return serveOptions{}, err
	}
	if err := positionalArgs(name, rest); err != nil {
		return serveOptions{}, err
	}
	opts := serveOptions{Config: cfg, LogFormat: format}
	switch level {
	case "debug":
		opts.LogLevel = slog.LevelDebug
	case "info":
		opts.LogLevel = slog.LevelInfo
	case "warn":
		opts.LogLevel = slog.LevelWarn
	case "error":
		opts.LogLevel = slog.LevelError
	default:
		return serveOptions{}, usageErrorf(name, "--log-level %q: want debug, info, warn or error", level)
	}
	if format != "text" && format != "json" {
		return serveOptions{}, usageErrorf(name, "--log-format %q: want text or json", format)
	}
	if err := cfg.Validate(); err != nil {
		return serveOptions{}, usageErrorf(name, "invalid settings:\n  %s", indentLines(err.Error()))
	}
	return opts, nil
}

// newLogger returns a logger writing to w.
func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	o := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// indentLines indents every line of s after the first by two spaces.
func indentLines(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }
