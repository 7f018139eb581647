// Package vendortest runs local servers that speak the push vendors'
// protocols, for tests of Herald's providers and end-to-end tests of the
// relay: an APNs provider API ([NewAPNs]), FCM's HTTP v1 API with its OAuth2
// token endpoint ([NewFCM]), and a browser push service ([NewWebPush]).
//
// Each server listens on a real socket of 127.0.0.1 with TLS (HTTP/2 by
// ALPN), checks requests the way the vendor documents it, answers the
// vendor's statuses and error bodies, and records what it accepted. Every
// server uses the same test certificate (net/http/httptest's), so the
// *http.Client of any of them trusts all of them.
//
// A test can make the next requests fail ([Faults.FailNext]) or hold them
// until released ([Faults.Hold]), to exercise retries and cancellation.
// The servers are closed when the test ends.
package vendortest

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Option configures a server.
type Option func(*config)

type config struct {
	now     func() time.Time
	sandbox bool
}

// WithClock sets the clock a server checks token times against (default
// time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// Sandbox makes an APNs server play api.sandbox.push.apple.com: the
// devices it creates have Sandbox set. Other servers ignore it.
func Sandbox() Option {
	return func(c *config) { c.sandbox = true }
}

func newConfig(opts []Option) config {
	c := config{now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// server is what every fake has: an address, a client, a clock and
// faults.
type server struct {
	// URL is the server's base URL, https://127.0.0.1:port.
	URL string
	Faults

	cfg    config
	client *http.Client
	cert   *x509.Certificate
}

// Client returns an HTTP/2 client that trusts the server's certificate
// (and that of every other server of this package).
func (s *server) Client() *http.Client { return s.client }

// CertificatePEM returns the server's certificate, self-signed, as PEM:
// the CA file to give a client that is not built from Client (such as
// herald serve --vendor-ca). It is the same for every server.
func (s *server) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.cert.Raw})
}

// start serves h on 127.0.0.1 with TLS and HTTP/2 until the end of the
// test.
func (s *server) start(t testing.TB, h http.Handler) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s.URL, s.client, s.cert = srv.URL, srv.Client(), srv.Certificate()
}

// Faults makes a server misbehave on purpose. The zero value does nothing.
// It is safe for concurrent use.
type Faults struct {
	mu       sync.Mutex
	failLeft int
	status   int
	after    time.Duration
	held     chan struct{} // closed by the release func; nil when not holding
	arrivals chan struct{}
}

// FailNext makes the next n requests fail with status (429, 500, 503, …)
// in the vendor's error format, with a Retry-After header of whole seconds
// when retryAfter is positive.
func (f *Faults) FailNext(n, status int, retryAfter time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failLeft, f.status, f.after = n, status, retryAfter
}

// Hold makes requests wait, before anything is checked, until release is
// called or the client goes away. arrived receives one value for each
// request that starts waiting (buffered up to 64).
func (f *Faults) Hold() (arrived <-chan struct{}, release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	held := make(chan struct{})
	f.held, f.arrivals = held, make(chan struct{}, 64)
	var once sync.Once
	return f.arrivals, func() {
		once.Do(func() {
			f.mu.Lock()
			if f.held == held {
				f.held = nil
			}
			f.mu.Unlock()
			close(held)
		})
	}
}

// intercept applies the faults to one request. It returns the status and
// Retry-After to fail with, or 0 to go on; it returns -1 when the client
// went away while held.
func (f *Faults) intercept(r *http.Request) (status int, retryAfter time.Duration) {
	f.mu.Lock()
	held, arrivals := f.held, f.arrivals
	f.mu.Unlock()
	if held != nil {
		select {
		case arrivals <- struct{}{}:
		default:
		}
		select {
		case <-held:
		case <-r.Context().Done():
			return -1, 0
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failLeft > 0 {
		f.failLeft--
		return f.status, f.after
	}
	return 0, 0
}

// setRetryAfter writes Retry-After in whole seconds, rounded up.
func setRetryAfter(h http.Header, d time.Duration) {
	if d > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
}

// recorder keeps what a server accepted and wakes those waiting for it.
type recorder[T any] struct {
	mu      sync.Mutex
	items   []T
	changed chan struct{} // closed and replaced on every add
}

func (r *recorder[T]) add(v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, v)
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
}

func (r *recorder[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.items...)
}

// wait returns the items once there are at least n, or ctx's error.
func (r *recorder[T]) wait(ctx context.Context, n int) ([]T, error) {
	for {
		r.mu.Lock()
		if len(r.items) >= n {
			items := append([]T(nil), r.items...)
			r.mu.Unlock()
			return items, nil
		}
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("vendortest: waiting for %d requests: %w", n, ctx.Err())
		}
	}
}
