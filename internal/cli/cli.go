// Package cli implements the herald command: `serve` runs a server, every
// other subcommand talks to a running server through its public HTTP APIs
// (docs/api.md).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Env is everything a subcommand may touch outside its arguments. Run builds
// one from the process; tests build their own.
type Env struct {
	// Stdin is read by commands that accept input.
	Stdin io.Reader
	// Stdout receives a command's results.
	Stdout io.Writer
	// Stderr receives progress, hints and errors.
	Stderr io.Writer
	// Getenv looks up an environment variable ("" when unset).
	Getenv func(string) string
	// HTTPClient talks to the server. Nil means a client with a 30 s
	// timeout for request/response calls; long-lived connections (listen)
	// should use HTTPClient's Transport without the timeout.
	HTTPClient *http.Client
}

// httpClient returns env.HTTPClient or a fresh default client.
func (env *Env) httpClient() *http.Client {
	if env.HTTPClient != nil {
		return env.HTTPClient
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// getenv is env.Getenv that tolerates a nil function.
func (env *Env) getenv(key string) string {
	if env.Getenv == nil {
		return ""
	}
	return env.Getenv(key)
}

// Exit statuses of Run.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// Run runs the herald command with args (without the program name) and
// returns the process exit status: 0 success, 1 failure, 2 usage error,
// 130 interrupted.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: getenv}
	return env.Run(ctx, args)
}

// Run runs the herald command with args in env and returns the exit status.
func (env *Env) Run(ctx context.Context, args []string) int {
	return env.report(ctx, env.dispatch(ctx, args))
}

// command is one entry of the command table.
type command struct {
	name    string // words typed after "herald", e.g. "project create"
	summary string // one line for the top-level help
	run     func(ctx context.Context, env *Env, args []string) error
}

// commands is the command table, in the order the top-level help shows it.
// A new subcommand is one line here.
func commands() []command {
	return []command{
		{"serve", "run a Herald server", runServe},
		{"project create", "create a project", runProjectCreate},
		{"project list", "list the projects", runProjectList},
		{"app create", "create an app of a project and print its app key", runAppCreate},
		{"app list", "list the apps of a project", runAppList},
		{"key create", "create a service-account key and write its JSON file", runKeyCreate},
		{"key list", "list the service-account keys of a project", runKeyList},
		{"key revoke", "revoke a service-account key", runKeyRevoke},
		{"credentials create-vapid", "generate a project's VAPID key for Web Push and print its public key", runCredentialsCreateVAPID},
		{"credentials set-apns", "store a project's APNs signing key (.p8)", runCredentialsSetAPNs},
		{"credentials set-fcm", "store the service account of a project's own Firebase project", runCredentialsSetFCM},
		{"credentials show", "show a project's vendor credentials (never their private keys)", runCredentialsShow},
		{"credentials delete", "delete one kind of a project's vendor credentials", runCredentialsDelete},
		{"send", "send a message through the FCM HTTP v1 API", runSend},
		{"status", "print a message's status: delivered, expired…, or a topic message's counts", runStatus},
		{"listen", "act as a device: print its token, then every message sent to it", runListen},
		{"bench", "measure a server on this machine: connect devices, send, report rates and latency", runBench},
		{"version", "print the version", runVersion},
		{"help", "show the help of a command", runHelp},
	}
}

// dispatch finds the command named by the first words of args and runs it.
func (env *Env) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		writeTopHelp(env.Stderr)
		return &usageError{} // the help says it all
	}
	switch args[0] {
	case "-h", "-help", "--help":
		writeTopHelp(env.Stdout)
		return nil
	case "-version", "--version":
		return runVersion(ctx, env, args[1:])
	}
	cmd, rest, err := lookup(args)
	if err != nil {
		return err
	}
	return cmd.run(ctx, env, rest)
}

// lookup finds the command named by the first one or two words of args.
func lookup(args []string) (command, []string, error) {
	cmds := commands()
	if len(args) >= 2 {
		for _, c := range cmds {
			if c.name == args[0]+" "+args[1] {
				return c, args[2:], nil
			}
		}
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c, args[1:], nil
		}
	}
	if strings.HasPrefix(args[0], "-") {
		return command{}, nil, usageErrorf("", "unknown flag %s: flags go after the command (herald COMMAND [flags])", args[0])
	}
	if subs := subcommands(cmds, args[0]); len(subs) > 0 {
		group := args[0]
		if len(args) == 1 {
			return command{}, nil, usageErrorf("", "herald %s needs a subcommand: %s", group, strings.Join(subs, ", "))
		}
		switch args[1] {
		case "-h", "-help", "--help":
			return command{run: func(_ context.Context, env *Env, _ []string) error {
				writeGroupHelp(env.Stdout, group)
				return nil
			}}, nil, nil
		}
		msg := fmt.Sprintf("unknown command %q", group+" "+args[1])
		if s := closest(args[1], subs); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", group+" "+s)
		}
		return command{}, nil, usageErrorf("", "%s; herald %s has: %s", msg, group, strings.Join(subs, ", "))
	}
	var names []string
	for _, c := range cmds {
		names = append(names, strings.Fields(c.name)[0])
	}
	msg := fmt.Sprintf("unknown command %q", args[0])
	if s := closest(args[0], names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return command{}, nil, usageErrorf("", "%s", msg)
}

// subcommands returns the second words of the commands in group.
func subcommands(cmds []command, group string) []string {
	var subs []string
	for _, c := range cmds {
		if sub, ok := strings.CutPrefix(c.name, group+" "); ok {
			subs = append(subs, sub)
		}
	}
	return subs
}

// closest returns the candidate within edit distance 2 of word, or "".
func closest(word string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(word, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// report prints err the way its kind asks for and returns the exit status.
func (env *Env) report(ctx context.Context, err error) int {
	if err == nil || errors.Is(err, errHelpShown) {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		if ue.msg == "" {
			return exitUsage
		}
		if ue.cmd == "" {
			fmt.Fprintf(env.Stderr, "herald: %s\nRun 'herald help' for the list of commands.\n", ue.msg)
		} else {
			fmt.Fprintf(env.Stderr, "herald %s: %s\nRun 'herald %s --help' for usage.\n", ue.cmd, ue.msg, ue.cmd)
		}
		return exitUsage
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(env.Stderr, "herald: interrupted")
		return exitInterrupted
	}
	fmt.Fprintf(env.Stderr, "herald: %v\n", err)
	if h := hintOf(err); h != "" {
		for _, line := range strings.Split(h, "\n") {
			fmt.Fprintf(env.Stderr, "  %s\n", line)
		}
	}
	return exitFailure
}
