package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/heraldpush/herald/internal/config"
)

// tlsConfig loads the certificate and key files named in cfg; nil when TLS
// is off. The files are read once, at start.
func tlsConfig(cfg config.Config, now time.Time) (*tls.Config, error) {
	if cfg.TLSCert == "" && cfg.TLSKey == "" {
		return nil, nil
	}
	certPEM, err := os.ReadFile(cfg.TLSCert)
	if err != nil {
		return nil, fmt.Errorf("reading the TLS certificate (--tls-cert): %w", err)
	}
	keyPEM, err := os.ReadFile(cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("reading the TLS key (--tls-key): %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s with key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s: %w", cfg.TLSCert, err)
	}
	if now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("TLS certificate %s expired on %s", cfg.TLSCert, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	pair.Leaf = leaf
	// NextProtos is filled by http.Server.ServeTLS from Protocols: "h2"
	// then "http/1.1". Clients that ask for no protocol (WebSocket dialers)
	// or for http/1.1 get HTTP/1.1, which can be hijacked for the upgrade.
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// protocols returns what the listener speaks: HTTP/1.1 always (WebSocket
// upgrades need it), HTTP/2 over TLS by ALPN, and without TLS HTTP/2 with
// prior knowledge (h2c) for clients that open with the HTTP/2 preface.
func protocols(withTLS bool) *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	if withTLS {
		p.SetHTTP2(true)
	} else {
		p.SetUnencryptedHTTP2(true)
	}
	return p
}
