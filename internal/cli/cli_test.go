package cli

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// result is what one herald invocation printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs herald with args, the variables in vars and client hc (nil:
// the default client).
func runCLI(t *testing.T, hc *http.Client, vars map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &Env{
		Stdin:      strings.NewReader(""),
		Stdout:     &stdout,
		Stderr:     &stderr,
		Getenv:     func(k string) string { return vars[k] },
		HTTPClient: hc,
	}
	code := env.Run(t.Context(), args)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

func TestHelpGolden(t *testing.T) {
	cases := map[string][]string{
		"herald":      {"--help"},
		"project":     {"project", "--help"},
		"app":         {"help", "app"},
		"key":         {"key", "-h"},
		"credentials": {"credentials", "--help"},
	}
	for _, c := range commands() {
		if c.name == "listen" || c.name == "bench" {
			continue // their owners test their help
		}
		cases[strings.ReplaceAll(c.name, " ", "-")] = append(strings.Fields(c.name), "--help")
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, nil, nil, args...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("herald %v: code %d, stderr %q", args, r.code, r.stderr)
			}
			checkGolden(t, filepath.Join("help", name+".golden"), r.stdout)
		})
	}
}

func TestHelpCommandMatchesFlag(t *testing.T) {
	for _, c := range commands() {
		if c.name == "help" {
			continue
		}
		viaFlag := runCLI(t, nil, nil, append(strings.Fields(c.name), "--help")...)
		viaHelp := runCLI(t, nil, nil, append([]string{"help"}, strings.Fields(c.name)...)...)
		if diff := cmp.Diff(viaFlag, viaHelp, cmp.AllowUnexported(result{})); diff != "" {
			t.Errorf("herald help %s differs from --help (-flag +help):\n%s", c.name, diff)
		}
	}
}

func TestNoArgumentsShowsHelpAndFails(t *testing.T) {
	r := runCLI(t, nil, nil)
	help := runCLI(t, nil, nil, "help")
	if r.code != exitUsage || r.stdout != "" || r.stderr != help.stdout {
		t.Errorf("herald: code %d, stdout %q; stderr is the help: %v", r.code, r.stdout, r.stderr == help.stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args   []string
		vars   map[string]string
		stderr string
	}{
		{[]string{"projet"}, nil,
			"herald: unknown command \"projet\" (did you mean \"project\"?)\nRun 'herald help' for the list of commands.\n"},
		{[]string{"frobnicate"}, nil,
			"herald: unknown command \"frobnicate\"\nRun 'herald help' for the list of commands.\n"},
		{[]string{"--server", "x"}, nil,
			"herald: unknown flag --server: flags go after the command (herald COMMAND [flags])\nRun 'herald help' for the list of commands.\n"},
		{[]string{"project"}, nil,
			"herald: herald project needs a subcommand: create, list\nRun 'herald help' for the list of commands.\n"},
		{[]string{"project", "creat", "demo"}, nil,
			"herald: unknown command \"project creat\" (did you mean \"project create\"?); herald project has: create, list\nRun 'herald help' for the list of commands.\n"},
		{[]string{"project", "create", "demo", "--jsn"}, nil,
			"herald project create: unknown flag --jsn (did you mean --json?)\nRun 'herald project create --help' for usage.\n"},
		{[]string{"project", "create"}, nil,
			"herald project create: missing project ID\nRun 'herald project create --help' for usage.\n"},
		{[]string{"project", "create", "a", "b"}, nil,
			"herald project create: unexpected argument \"b\"\nRun 'herald project create --help' for usage.\n"},
		{[]string{"project", "list", "--server"}, nil,
			"herald project list: flag --server needs a value\nRun 'herald project list --help' for usage.\n"},
		{[]string{"project", "list", "--server", "localhost:8080"}, nil,
			"herald project list: server \"localhost:8080\" is not an http(s) URL such as http://127.0.0.1:8080\nRun 'herald project list --help' for usage.\n"},
		{[]string{"app", "create"}, nil,
			"herald app create: --project is required (see herald project list)\nRun 'herald app create --help' for usage.\n"},
		{[]string{"key", "create", "--project", "demo"}, nil,
			"herald key create: --out is required: the file to write the service account to, e.g. --out sa.json\nRun 'herald key create --help' for usage.\n"},
		{[]string{"key", "revoke", "--project", "demo"}, nil,
			"herald key revoke: missing KEY_ID (see herald key list)\nRun 'herald key revoke --help' for usage.\n"},
		{[]string{"send", "--project", "demo"}, nil,
			"herald send: give exactly one of --token, --topic or --condition\nRun 'herald send --help' for usage.\n"},
		{[]string{"send", "--project", "demo", "--token", "t", "--topic", "news"}, nil,
			"herald send: give exactly one of --token, --topic or --condition\nRun 'herald send --help' for usage.\n"},
		{[]string{"send", "--token", "t"}, nil,
			"herald send: --project is required without --credentials\nRun 'herald send --help' for usage.\n"},
		{[]string{"send", "--project", "demo", "--token", "t", "--priority", "urgent"}, nil,
			"herald send: --priority \"urgent\": want high or normal\nRun 'herald send --help' for usage.\n"},
		{[]string{"send", "--project", "demo", "--token", "t", "--ttl", "5w"}, nil,
			"herald send: invalid value \"5w\" for --ttl: want a duration such as 30s, 5m or 1h30m\nRun 'herald send --help' for usage.\n"},
		{[]string{"send", "--project", "demo", "--token", "t", "--ttl", "700h"}, nil,
			"herald send: --ttl 700h0m0s is outside 0 to 672h (28 days)\nRun 'herald send --help' for usage.\n"},
		{[]string{"send", "--project", "demo", "--token", "t", "--data", "novalue"}, nil,
			"herald send: invalid value \"novalue\" for --data: want KEY=VALUE\nRun 'herald send --help' for usage.\n"},
		{[]string{"send", "--project", "demo", "--token", "t", "--data", "a=1", "--data", "a=2"}, nil,
			"herald send: invalid value \"a=2\" for --data: key \"a\" given twice\nRun 'herald send --help' for usage.\n"},
		{[]string{"project", "list"}, map[string]string{"HERALD_SERVER": "ftp://x"},
			"herald project list: server \"ftp://x\" is not an http(s) URL such as http://127.0.0.1:8080\nRun 'herald project list --help' for usage.\n"},
		{[]string{"version", "extra"}, nil,
			"herald version: unexpected argument \"extra\"\nRun 'herald version --help' for usage.\n"},
		{[]string{"help", "nothing"}, nil,
			"herald: unknown command \"nothing\"\nRun 'herald help' for the list of commands.\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, nil, tt.vars, tt.args...)
			if r.code != exitUsage {
				t.Errorf("exit status %d, want %d", r.code, exitUsage)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if diff := cmp.Diff(tt.stderr, r.stderr); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runCLI(t, nil, nil, args...)
		// Test binaries carry no module version, so the default shows.
		if diff := cmp.Diff(result{stdout: "herald devel\n"}, r, cmp.AllowUnexported(result{})); diff != "" {
			t.Errorf("herald %v (-want +got):\n%s", args, diff)
		}
	}
}

func TestInterruptedExitStatus(t *testing.T) {
	// A server that never answers; the context ends the call.
	block := make(chan struct{})
	srv := newBlockingServer(t, block)
	ctx, cancel := context.WithCancel(t.Context())
	var stderr bytes.Buffer
	env := &Env{Stdout: &bytes.Buffer{}, Stderr: &stderr, Getenv: func(string) string { return "" }}
	done := make(chan int)
	go func() {
		done <- env.Run(ctx, []string{"project", "list", "--server", srv.URL, "--admin-token", "x"})
	}()
	<-srv.arrived // the request reached the server
	cancel()
	code := <-done
	close(block)
	if code != exitInterrupted || stderr.String() != "herald: interrupted\n" {
		t.Errorf("code %d, stderr %q; want %d, \"herald: interrupted\\n\"", code, stderr.String(), exitInterrupted)
	}
}
