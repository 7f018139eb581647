// Package server is the composition root: it opens the store, builds the
// HTTP surfaces, the dispatcher and the gateway, and runs them until the
// context ends, then shuts down gracefully.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/heraldpush/herald/internal/auth"
	"github.com/heraldpush/herald/internal/config"
	"github.com/heraldpush/herald/internal/dispatch"
	"github.com/heraldpush/herald/internal/gateway"
	"github.com/heraldpush/herald/internal/httpapi"
	"github.com/heraldpush/herald/internal/metrics"
	"github.com/heraldpush/herald/internal/quota"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/pebblestore"
)

// reconnectSpread spreads the reconnects of devices told to go away at
// shutdown, so that a restart does not face them all at once.
const reconnectSpread = 5 * time.Second

// Run runs a server until ctx is done. Ready, if not nil, is called once the
// listener accepts connections, with its address.
func Run(ctx context.Context, cfg config.Config, logger *slog.Logger, ready func(addr string)) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	tlsCfg, err := tlsConfig(cfg, time.Now())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	secret, err := auth.LoadOrCreateSecret(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("server key: %w", err)
	}
	adminToken, created, err := auth.LoadOrCreateAdminToken(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("admin credential: %w", err)
	}
	adminPath := filepath.Join(cfg.DataDir, "admin-token")
	if created {
		logger.Info("created the admin credential; admin commands on this host find it with --data, elsewhere pass it with --admin-token or HERALD_ADMIN_TOKEN",
			"file", adminPath)
	}

	credKey, err := credentialKey(secret)
	if err != nil {
		return err
	}
	st, err := pebblestore.Open(filepath.Join(cfg.DataDir, "store"), pebblestore.Options{
		Limits:        store.Limits{MaxPending: cfg.MaxPending, MaxCollapseKeys: cfg.MaxCollapseKeys},
		Logger:        logger.With("part", "store"),
		CredentialKey: credKey,
	})
	if err != nil {
		return fmt.Errorf("opening the store in %s: %w", cfg.DataDir, err)
	}
	defer st.Close()

	authority, err := auth.NewAuthority(secret, st, nil, logger.With("part", "auth"))
	if err != nil {
		return err
	}
	m := metrics.New()
	limiter := quota.New(quota.Config{
		ProjectPerMinute: cfg.ProjectQuota, DevicePerMinute: cfg.DeviceRateMinute, DevicePerHour: cfg.DeviceRateHour,
		MaxInFlight: cfg.MaxSendsInFlight, Now: cfg.Clock,
	})
	relay, err := newRelay(cfg, st, m, logger)
	if err != nil {
		return err
	}
	hub := dispatch.New(st, dispatch.Config{
		PingInterval: cfg.PingInterval, TopicAckHold: cfg.TopicAckHold, NormalBatchWindow: cfg.NormalBatchWindow, SendQueue: cfg.SendQueue, Limiter: limiter,
		StaleAfter: cfg.StaleAfter, RefreshGrace: cfg.RefreshGrace, Now: cfg.Clock,
		Relay:           relay,
		StatusRetention: cfg.StatusRetention,
	}, m, logger.With("part", "dispatch"))
	gw := gateway.New(hub, cfg.PingInterval, logger.With("part", "gateway"))
	defer gw.Stop()
	var readyFlag atomic.Bool
	api := &httpapi.API{
		Store: st, Hub: hub, Authority: authority, Admin: auth.NewAdmin(adminToken),
		Metrics: m, Logger: logger.With("part", "http"), Connect: gw,
		PublicURL: cfg.PublicURL, Ready: &readyFlag, Limiter: limiter,
	}

	if cfg.PprofListen != "" {
		pln, err := listenPprof(cfg.PprofListen)
		if err != nil {
			return err
		}
		defer servePprof(pln, logger)()
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w (is another server running there? choose another address with --listen)", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           m.CountProtocols(api.Handler()),
		Protocols:         protocols(tlsCfg != nil),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	serveErr := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			serveErr <- srv.ServeTLS(ln, "", "")
			return
		}
		serveErr <- srv.Serve(ln)
	}()

	purgeCtx, stopPurge := context.WithCancel(context.Background())
	purgeDone := make(chan struct{})
	go func() {
		defer close(purgeDone)
		_ = hub.Run(purgeCtx, cfg.PurgeInterval)
	}()

	relayCtx, stopRelay := context.WithCancel(context.Background())
	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		_ = relay.Run(relayCtx)
	}()

	readyFlag.Store(true)
	logger.Info("herald is serving", "addr", ln.Addr().String(), "tls", tlsCfg != nil, "data", cfg.DataDir)
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		stopPurge()
		<-purgeDone
		stopRelay()
		<-relayDone
		return fmt.Errorf("serving HTTP: %w", err)
	}

	logger.Info("shutting down")
	readyFlag.Store(false)
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Stop accepting and let in-flight requests finish: every send
	// answered 200 is on disk before the store closes.
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("HTTP shutdown incomplete", "err", err)
	}
	gw.Close()
	hub.Shutdown(reconnectSpread)
	gw.Stop()
	stopPurge()
	<-purgeDone
	// Vendor calls in flight end now; their entries stay stored and are
	// resumed by the next start.
	stopRelay()
	<-relayDone
	if err := st.Close(); err != nil {
		return fmt.Errorf("closing the store: %w", err)
	}
	logger.Info("stopped")
	return nil
}
