// Package heraldtest starts real Herald servers for end-to-end tests: the
// whole server (store, gateway, HTTP API) in-process on 127.0.0.1 with a
// port chosen by the kernel and a data directory in t.TempDir().
package heraldtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/config"
	"github.com/heraldpush/herald/internal/server"
)

// Server is a running test server.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Addr is host:port of the listener.
	Addr string
	// DataDir is the server's data directory.
	DataDir string
	// AdminToken is the admin credential.
	AdminToken string
	// Config is the configuration the server runs with.
	Config config.Config
	// TLS holds the test CA and the server's certificate files when the
	// server was started with StartTLS; nil for plain HTTP.
	TLS *TLSFiles

	client *http.Client
	cancel context.CancelFunc
	done   chan error
}

// Option changes the configuration before the server starts.
type Option func(*config.Config)

// Start runs a server until the test ends. Options adjust the defaults
// (listen on 127.0.0.1:0, data in t.TempDir(), ping interval 5 s, topic
// acks not held).
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	return start(t, nil, opts)
}

func start(t testing.TB, tlsFiles *TLSFiles, opts []Option) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.PingInterval = 5 * time.Second
	// Devices ack topic messages at once, so that status counts need
	// no wait for a ping; a test of the hold sets it.
	cfg.TopicAckHold = 0
	cfg.ShutdownTimeout = 5 * time.Second
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{Config: cfg, DataDir: cfg.DataDir, TLS: tlsFiles, client: newHTTPClient(tlsFiles)}
	s.start(t)
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// Client returns an HTTP client for this server: over TLS it trusts the
// test CA and speaks HTTP/2. It is shared; do not change it.
func (s *Server) Client() *http.Client { return s.client }

func (s *Server) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	s.done = make(chan error, 1)
	s.cancel = cancel
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() {
		s.done <- server.Run(ctx, s.Config, logger, func(addr string) { addrc <- addr })
	}()
	select {
	case addr := <-addrc:
		s.Addr = addr
		s.URL = "http://" + addr
		if s.Config.TLSCert != "" {
			s.URL = "https://" + addr
		}
	case err := <-s.done:
		cancel()
		t.Fatalf("heraldtest: server did not start: %v", err)
	}
	tok, err := os.ReadFile(filepath.Join(s.DataDir, "admin-token"))
	if err != nil {
		t.Fatalf("heraldtest: reading admin token: %v", err)
	}
	s.AdminToken = strings.TrimSpace(string(tok))
}

// Stop shuts the server down gracefully; it is idempotent.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	// An idle HTTP/2 connection would hold the graceful shutdown for a
	// second (the server's GOAWAY timeout).
	s.client.CloseIdleConnections()
	s.cancel()
	s.cancel = nil
	if err := <-s.done; err != nil {
		t.Errorf("heraldtest: server stopped with error: %v", err)
	}
}

// Restart stops the server and starts it again on the same data directory
// and the same address.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.Config.Listen = s.Addr
	s.start(t)
}

// CreateProject creates a project through the admin API.
func (s *Server) CreateProject(t testing.TB, id string) {
	t.Helper()
	s.Admin(t, "POST", "/admin/v1/projects", map[string]string{"id": id}, nil)
}

// CreateApp creates an app in a project and returns its app key.
func (s *Server) CreateApp(t testing.TB, project string) string {
	t.Helper()
	var app struct {
		Key string `json:"key"`
	}
	s.Admin(t, "POST", "/admin/v1/projects/"+project+"/apps", map[string]string{"name": "test"}, &app)
	return app.Key
}

// CreateServiceAccount creates a service-account key for a project, writes
// its JSON file into a temporary directory and returns the file's path.
func (s *Server) CreateServiceAccount(t testing.TB, project string) string {
	t.Helper()
	var resp struct {
		ServiceAccount json.RawMessage `json:"service_account"`
	}
	s.Admin(t, "POST", "/admin/v1/projects/"+project+"/keys", struct{}{}, &resp)
	path := filepath.Join(t.TempDir(), project+"-sa.json")
	if err := os.WriteFile(path, resp.ServiceAccount, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Admin calls the admin API and decodes the answer into out (if not nil).
// Any status but 200 fails the test.
func (s *Server) Admin(t testing.TB, method, path string, in, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("heraldtest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("heraldtest: %s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("heraldtest: decoding %s: %v", b, err)
		}
	}
}

// testWriter sends server logs to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
