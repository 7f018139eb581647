// Package server is the composition root: it opens the store, builds the
// HTTP surfaces, the dispatcher and the gateway, and runs them until the
// context ends, then shuts down gracefully.
package server

import (
	"context"
	"log/slog"

	"github.com/heraldpush/herald/internal/config"
)

// Run runs a server until ctx is done. Ready, if not nil, is called once the
// listener accepts connections, with its address.
func Run(ctx context.Context, cfg config.Config, logger *slog.Logger, ready func(addr string)) error {
	panic("not yet")
}
