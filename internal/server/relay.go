package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/heraldpush/herald/internal/config"
	"github.com/heraldpush/herald/internal/dispatch"
	"github.com/heraldpush/herald/internal/metrics"
	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/provider/apns"
	"github.com/heraldpush/herald/internal/provider/fcmrelay"
	"github.com/heraldpush/herald/internal/provider/webpushrelay"
	"github.com/heraldpush/herald/internal/store"
)

// vendorTimeout bounds one request to a vendor.
const vendorTimeout = 30 * time.Second

// newRelay builds the providers of the vendor platforms and the relay that
// drives them.
func newRelay(cfg config.Config, st store.Store, m *metrics.Metrics, logger *slog.Logger) (*dispatch.Relay, error) {
	client, err := vendorClient(cfg.VendorCA)
	if err != nil {
		return nil, err
	}
	plog := logger.With("part", "provider")
	providers := []provider.Provider{
		apns.New(apns.Options{ProductionURL: cfg.APNsURL, SandboxURL: cfg.APNsSandboxURL, Client: client, Now: cfg.Clock, Logger: plog}),
		webpushrelay.New(webpushrelay.Options{Client: client, Now: cfg.Clock, Logger: plog}),
		fcmrelay.New(fcmrelay.Options{BaseURL: cfg.FCMURL, Client: client, Now: cfg.Clock, Logger: plog}),
	}
	return dispatch.NewRelay(st, dispatch.RelayConfig{
		Providers: providers, Workers: cfg.RelayWorkers, SendTimeout: vendorTimeout, Now: cfg.Clock,
		MinBackoff: cfg.RelayMinBackoff, MaxBackoff: cfg.RelayMaxBackoff,
	}, m, logger.With("part", "relay")), nil
}

// vendorClient is the HTTP client of every provider: HTTP/2 where the
// vendor offers it (APNs requires it), the system's CAs and those of
// caFile.
func vendorClient(caFile string) (*http.Client, error) {
	tr := &http.Transport{
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     5 * time.Minute,
		TLSHandshakeTimeout: 20 * time.Second,
		Proxy:               http.ProxyFromEnvironment,
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("vendor CA: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("vendor CA: %s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: vendorTimeout}, nil
}
