// Package cli implements the herald command: `serve` runs a server, every
// other subcommand talks to a running server through its public HTTP APIs
// (docs/api.md).
package cli

import (
	"context"
	"io"
	"net/http"
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

// Run runs the herald command with args (without the program name) and
// returns the process exit status: 0 success, 1 failure, 2 usage error.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: getenv}
	return env.run(ctx, args)
}

func (env *Env) run(ctx context.Context, args []string) int {
	_ = ctx
	_ = args
	io.WriteString(env.Stderr, "herald: not yet implemented\n")
	return 1
}
