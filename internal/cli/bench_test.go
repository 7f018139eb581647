package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchHelpGolden(t *testing.T) {
	r := runCLI(t, nil, nil, "bench", "--help")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("herald bench --help: code %d, stderr %q", r.code, r.stderr)
	}
	checkGolden(t, filepath.Join("help", "bench.golden"), r.stdout)
	if top := runCLI(t, nil, nil, "help"); strings.Contains(top.stdout, benchAgentArg) {
		t.Errorf("the top-level help mentions the hidden agent command:\n%s", top.stdout)
	}
}

func TestBenchRefusesNonLoopbackServers(t *testing.T) {
	for _, server := range []string{"http://10.1.2.3:8080", "http://push.example.com", "http://[::1]:8080"} {
		r := runCLI(t, nil, map[string]string{"HERALD_ADMIN_TOKEN": "secret"}, "bench", "--server", server)
		if r.code != exitUsage || !strings.Contains(r.stderr, "only talks to loopback servers") {
			t.Errorf("bench --server %s: code %d, stderr %q; want a usage error about loopback", server, r.code, r.stderr)
		}
	}
}

func TestBenchUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--devices", "0"}, "--devices 0: want at least 1"},
		{[]string{"--messages", "-1"}, "--messages -1: want at least 1"},
		{[]string{"--rate", "-5"}, "--rate -5"},
		{[]string{"--devices", "40000", "--agents", "2"}, "use at least 3"},
		{[]string{"--devices", "10", "--agents", "11"}, "want 1 to --devices"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		r := runCLI(t, nil, nil, append([]string{"bench"}, tt.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("bench %v: code %d, stderr %q; want usage error with %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}

func TestBenchTopicHelpGolden(t *testing.T) {
	r := runCLI(t, nil, nil, "bench", "topic", "--help")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("herald bench topic --help: code %d, stderr %q", r.code, r.stderr)
	}
	checkGolden(t, filepath.Join("help", "bench-topic.golden"), r.stdout)
	if strings.Contains(r.stdout, benchRawServerArg) {
		t.Errorf("the help mentions the hidden raw-server command:\n%s", r.stdout)
	}
}

func TestBenchTopicUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--subscribers", "0"}, "--subscribers 0: want at least 1"},
		{[]string{"--messages", "0"}, "--messages 0: want at least 1"},
		{[]string{"--rate", "-1"}, "--rate -1"},
		{[]string{"--subscribers", "19500", "--agents", "1"}, "use at least 2"},
		{[]string{"--subscribers", "10", "--agents", "11"}, "want 1 to --subscribers"},
		{[]string{"--drain", "0s"}, "--drain 0s"},
		{[]string{"--devices", "raw"}, `--devices "raw": want sdk or wire`},
		{[]string{"--server", "http://10.1.2.3:8080"}, "only talks to loopback servers"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		r := runCLI(t, nil, map[string]string{"HERALD_ADMIN_TOKEN": "secret"}, append([]string{"bench", "topic"}, tt.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("bench topic %v: code %d, stderr %q; want usage error with %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}
