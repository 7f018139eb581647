package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/cli"
	"github.com/heraldpush/herald/internal/heraldtest"
)

// The README's quick start, step by step, through the real CLI against a
// real server: project, app, key, listen, send, and a second listen run on
// the same state that gets what was sent while it was away.
func TestQuickStartThroughTheCLI(t *testing.T) {
	srv := heraldtest.Start(t)
	env := map[string]string{"HERALD_SERVER": srv.URL, "HERALD_DATA": srv.DataDir}
	getenv := func(k string) string { return env[k] }
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := cli.Run(context.Background(), args, getenv, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("herald %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
		}
		return out.String()
	}

	run("project", "create", "demo")
	appKey := regexp.MustCompile(`(?m)^app_key: (\S+)$`).FindStringSubmatch(run("app", "create", "--project", "demo"))
	if appKey == nil {
		t.Fatal("app create printed no app_key line")
	}
	sa := filepath.Join(t.TempDir(), "sa.json")
	run("key", "create", "--project", "demo", "--out", sa)
	state := t.TempDir()

	l := startListen(t, getenv, "--app-key", appKey[1], "--state", state)
	token := l.token
	run("send", "--credentials", sa, "--token", token, "--title", "Hello", "--body", "from Herald", "--data", "k=v")
	m := l.message(t)
	if m.Notification == nil || m.Notification.Title != "Hello" || m.Notification.Body != "from Herald" || m.Data["k"] != "v" || m.Token != token {
		t.Fatalf("listen printed %+v", m)
	}
	l.stop(t)

	run("send", "--credentials", sa, "--token", token, "--data", "while=away")
	l2 := startListen(t, getenv, "--app-key", appKey[1], "--state", state)
	if l2.token != token {
		t.Fatalf("second run has token %q, want %q (same state, same device)", l2.token, token)
	}
	if m := l2.message(t); m.Data["while"] != "away" {
		t.Fatalf("second run printed %+v, want the message sent while away", m)
	}
	l2.stop(t)
}

type listener struct {
	token  string
	lines  chan string
	cancel context.CancelFunc
	done   chan int
}

func startListen(t *testing.T, getenv func(string) string, args ...string) *listener {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	l := &listener{lines: make(chan string, 100), cancel: cancel, done: make(chan int, 1)}
	var stderr bytes.Buffer
	go func() {
		code := cli.Run(ctx, append([]string{"listen"}, args...), getenv, strings.NewReader(""), pw, &stderr)
		pw.Close()
		l.done <- code
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			l.lines <- sc.Text()
		}
		close(l.lines)
	}()
	select {
	case line, ok := <-l.lines:
		tok, found := strings.CutPrefix(line, "token: ")
		if !ok || !found {
			t.Fatalf("listen's first line %q, want token: T", line)
		}
		l.token = tok
	case <-time.After(waitTimeout):
		t.Fatal("listen printed no token")
	}
	t.Cleanup(func() { l.cancel() })
	return l
}

func (l *listener) message(t *testing.T) herald.Message {
	t.Helper()
	select {
	case line := <-l.lines:
		var m herald.Message
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("listen printed %q: %v", line, err)
		}
		return m
	case <-time.After(waitTimeout):
		t.Fatal("listen printed no message")
		return herald.Message{}
	}
}

// stop interrupts listen as Ctrl-C does; it exits with status 130.
func (l *listener) stop(t *testing.T) {
	t.Helper()
	l.cancel()
	if code := <-l.done; code != 130 {
		t.Fatalf("listen exited %d after an interrupt, want 130", code)
	}
}
