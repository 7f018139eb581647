package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/heraldtest"
)

// herald serve --tls-cert --tls-key serves https on its one listener:
// HTTP/2 for clients that offer it by ALPN, HTTP/1.1 for the others.
func TestServeTLS(t *testing.T) {
	files := heraldtest.NewTLSFiles(t)
	stderr := newLines()
	env := &Env{Stdout: newLines(), Stderr: stderr, Getenv: func(k string) string {
		return map[string]string{"HERALD_TLS_KEY": files.KeyFile}[k] // a variable and a flag
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- env.Run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data"),
			"--tls-cert", files.CertFile, "--log-level", "warn"})
	}()
	defer func() {
		cancel()
		if code := <-done; code != exitOK && code != exitInterrupted {
			t.Errorf("serve exited with %d", code)
		}
	}()
	var addr string
	for addr == "" {
		line := stderr.next(t)
		addr, _ = strings.CutPrefix(line, "herald: listening on https://")
	}

	// One config each: an HTTP/2 transport adds "h2" to its config's ALPN list.
	roots := func() *tls.Config { return &tls.Config{RootCAs: files.Pool} }
	for _, tt := range []struct {
		name  string
		tr    *http.Transport
		proto string
	}{
		{"HTTP/2 by ALPN", &http.Transport{TLSClientConfig: roots(), ForceAttemptHTTP2: true}, "HTTP/2.0"},
		{"HTTP/1.1 only", &http.Transport{TLSClientConfig: roots()}, "HTTP/1.1"},
	} {
		resp, err := (&http.Client{Transport: tt.tr}).Get("https://" + addr + "/healthz")
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		resp.Body.Close()
		tt.tr.CloseIdleConnections()
		if resp.StatusCode != http.StatusOK || resp.Proto != tt.proto {
			t.Errorf("%s: %s over %s, want 200 over %s", tt.name, resp.Status, resp.Proto, tt.proto)
		}
	}
}

func TestServeTLSErrors(t *testing.T) {
	a, b := heraldtest.NewTLSFiles(t), heraldtest.NewTLSFiles(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{
			"certificate without key", []string{"--tls-cert", a.CertFile}, exitUsage,
			"herald serve: invalid settings:\n  TLS needs both a certificate and a key (set --tls-cert and --tls-key, or neither)\n" +
				"Run 'herald serve --help' for usage.\n",
		},
		{
			"key without certificate", []string{"--tls-key", a.KeyFile}, exitUsage,
			"herald serve: invalid settings:\n  TLS needs both a certificate and a key (set --tls-cert and --tls-key, or neither)\n" +
				"Run 'herald serve --help' for usage.\n",
		},
		{
			"unreadable key", []string{"--tls-cert", a.CertFile, "--tls-key", missing}, exitFailure,
			"herald: reading the TLS key (--tls-key): open " + missing + ": no such file or directory\n",
		},
		{
			"unreadable certificate", []string{"--tls-cert", missing, "--tls-key", a.KeyFile}, exitFailure,
			"herald: reading the TLS certificate (--tls-cert): open " + missing + ": no such file or directory\n",
		},
		{
			"key of another certificate", []string{"--tls-cert", a.CertFile, "--tls-key", b.KeyFile}, exitFailure,
			"herald: TLS certificate " + a.CertFile + " with key " + b.KeyFile + ": tls: private key does not match public key\n",
		},
		{
			"files swapped", []string{"--tls-cert", a.KeyFile, "--tls-key", a.CertFile}, exitFailure,
			"herald: TLS certificate " + a.KeyFile + " with key " + a.CertFile +
				": tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data", data}, tt.args...)
			r := runCLI(t, nil, nil, args...)
			if r.code != tt.code {
				t.Errorf("exit status %d, want %d", r.code, tt.code)
			}
			if diff := cmp.Diff(tt.stderr, r.stderr); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

// herald listen --server https://… connects over wss:// (HTTP/1.1 by ALPN
// for the upgrade) and prints what is sent; a server whose certificate the
// machine does not trust gets an explanation.
func TestListenOverTLS(t *testing.T) {
	srv := heraldtest.StartTLS(t)
	srv.CreateProject(t, "demo")
	key := srv.CreateApp(t, "demo")

	out, stderr := newLines(), newLines()
	env := &Env{Stdout: out, Stderr: stderr, Getenv: func(string) string { return "" }, HTTPClient: srv.Client()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runListen(ctx, env, []string{"--server", srv.URL, "--app-key", key, "--state", t.TempDir()})
	}()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("listen ended with %v, want context.Canceled", err)
		}
	}()
	token, ok := strings.CutPrefix(out.next(t), "token: ")
	if !ok {
		t.Fatal("first line is not the token")
	}
	waitConnected(t, stderr)
	srv.Admin(t, http.MethodPost, "/v1/projects/demo/messages:send", map[string]any{"message": map[string]any{
		"token": token, "data": map[string]string{"over": "wss"},
	}}, nil)
	var m herald.Message
	if err := json.Unmarshal([]byte(out.next(t)), &m); err != nil {
		t.Fatal(err)
	}
	if m.Token != token || m.Data["over"] != "wss" {
		t.Errorf("listen printed %+v", m)
	}

	// Without the test CA: the system's roots do not know it.
	env = &Env{Stdout: newLines(), Stderr: newLines(), Getenv: func(string) string { return "" }}
	err := runListen(t.Context(), env, []string{"--server", srv.URL, "--app-key", key, "--state", t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") ||
		!strings.Contains(hintOf(err), "SSL_CERT_FILE") {
		t.Fatalf("runListen without the CA = %v (hint %q)", err, hintOf(err))
	}
}
