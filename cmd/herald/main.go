// Command herald is a self-hosted push messaging server and its
// command-line client; see `herald help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/heraldpush/herald/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
