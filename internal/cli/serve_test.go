package cli

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/heraldpush/herald/internal/config"
)

func TestParseServePrecedence(t *testing.T) {
	def := config.Default()
	with := func(edit func(*config.Config)) config.Config {
		c := def
		edit(&c)
		return c
	}
	tests := []struct {
		name   string
		args   []string
		vars   map[string]string
		want   config.Config
		level  slog.Level
		format string
	}{
		{name: "defaults", want: def, level: slog.LevelInfo, format: "text"},
		{
			name: "environment over defaults",
			vars: map[string]string{
				"HERALD_LISTEN": "127.0.0.1:9000", "HERALD_DATA": "/srv/herald",
				"HERALD_PUBLIC_URL": "https://push.example.com", "HERALD_PING_INTERVAL": "45s",
				"HERALD_NORMAL_BATCH_WINDOW": "2s", "HERALD_MAX_PENDING": "50",
				"HERALD_LOG_LEVEL": "debug", "HERALD_LOG_FORMAT": "json", "HERALD_TOPIC_ACK_HOLD": "5s",
			},
			want: with(func(c *config.Config) {
				c.Listen, c.DataDir, c.PublicURL = "127.0.0.1:9000", "/srv/herald", "https://push.example.com"
				c.PingInterval, c.NormalBatchWindow, c.MaxPending = 45*time.Second, 2*time.Second, 50
				c.TopicAckHold = 5 * time.Second
			}),
			level: slog.LevelDebug, format: "json",
		},
		{
			name: "flags over environment",
			args: []string{"--listen", ":7000", "--data=/tmp/h", "--public-url", "http://10.0.0.1:7000",
				"--ping-interval", "1m", "--normal-batch-window", "500ms", "--max-pending", "7",
				"--log-level", "warn", "--log-format", "text", "--topic-ack-hold", "0s"},
			vars: map[string]string{
				"HERALD_LISTEN": "127.0.0.1:9000", "HERALD_DATA": "/srv/herald",
				"HERALD_PUBLIC_URL": "https://push.example.com", "HERALD_PING_INTERVAL": "45s",
				"HERALD_NORMAL_BATCH_WINDOW": "2s", "HERALD_MAX_PENDING": "50",
				"HERALD_LOG_LEVEL": "debug", "HERALD_LOG_FORMAT": "json", "HERALD_TOPIC_ACK_HOLD": "5s",
			},
			want: with(func(c *config.Config) {
				c.Listen, c.DataDir, c.PublicURL = ":7000", "/tmp/h", "http://10.0.0.1:7000"
				c.PingInterval, c.NormalBatchWindow, c.MaxPending = time.Minute, 500*time.Millisecond, 7
				c.TopicAckHold = 0
			}),
			level: slog.LevelWarn, format: "text",
		},
		{
			name:  "one variable, one flag",
			args:  []string{"--log-level", "error"},
			vars:  map[string]string{"HERALD_DATA": "/srv/herald"},
			want:  with(func(c *config.Config) { c.DataDir = "/srv/herald" }),
			level: slog.LevelError, format: "text",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Getenv: func(k string) string { return tt.vars[k] }}
			got, err := parseServe(env, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			want := serveOptions{Config: tt.want, LogLevel: tt.level, LogFormat: tt.format}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServeUsageErrors(t *testing.T) {
	tests := []struct {
		args   []string
		vars   map[string]string
		stderr string
	}{
		{[]string{"--log-level", "loud"}, nil, "herald serve: --log-level \"loud\": want debug, info, warn or error\n"},
		{[]string{"--log-format", "xml"}, nil, "herald serve: --log-format \"xml\": want text or json\n"},
		{nil, map[string]string{"HERALD_MAX_PENDING": "many"}, "herald serve: invalid HERALD_MAX_PENDING=\"many\": want a whole number\n"},
		{[]string{"--ping-interval", "10"}, nil, "herald serve: invalid value \"10\" for --ping-interval: want a duration such as 30s, 5m or 1h30m\n"},
		{[]string{"--lisen", ":1"}, nil, "herald serve: unknown flag --lisen (did you mean --listen?)\n"},
		{[]string{"now"}, nil, "herald serve: unexpected argument \"now\"\n"},
		{
			[]string{"--listen", "", "--public-url", "push.example.com", "--ping-interval", "10ms", "--max-pending", "0", "--topic-ack-hold", "1h"}, nil,
			"herald serve: invalid settings:\n" +
				"  listen address is empty (set --listen, e.g. :8080)\n" +
				"  public URL \"push.example.com\" must be an absolute http(s) URL such as https://push.example.com\n" +
				"  ping interval 10ms is below 1s\n" +
				"  topic ack hold 1h0m0s must be between 0 and 10m0s\n" +
				"  max pending 0 must be at least 1\n",
		},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, nil, tt.vars, append([]string{"serve"}, tt.args...)...)
			want := tt.stderr + "Run 'herald serve --help' for usage.\n"
			if r.code != exitUsage {
				t.Errorf("exit status %d, want %d", r.code, exitUsage)
			}
			if diff := cmp.Diff(want, r.stderr); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServeRunsServerWithParsedConfig(t *testing.T) {
	var stderr bytes.Buffer
	env := &Env{Stdout: &bytes.Buffer{}, Stderr: &stderr, Getenv: func(string) string { return "" }}
	var gotCfg config.Config
	run := func(ctx context.Context, cfg config.Config, logger *slog.Logger, ready func(string)) error {
		gotCfg = cfg
		logger.Debug("hidden at info")
		logger.Info("starting", "data", cfg.DataDir)
		ready("127.0.0.1:43210")
		return nil
	}
	err := serve(t.Context(), env, []string{"--data", "/d", "--log-format", "json"}, run)
	if err != nil {
		t.Fatal(err)
	}
	if gotCfg.DataDir != "/d" {
		t.Errorf("server ran with data %q, want /d", gotCfg.DataDir)
	}
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"msg":"starting","data":"/d"`) ||
		lines[1] != "herald: listening on http://127.0.0.1:43210" {
		t.Errorf("stderr:\n%s\nwant one JSON log line then the listening line", stderr.String())
	}
}
