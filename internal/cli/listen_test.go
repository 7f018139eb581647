package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/heraldtest"
)

func TestListenHelpGolden(t *testing.T) {
	var stdout bytes.Buffer
	env := &Env{Stdout: &stdout, Stderr: &bytes.Buffer{}}
	if err := runListen(t.Context(), env, []string{"--help"}); !errors.Is(err, errHelpShown) {
		t.Fatalf("runListen --help = %v", err)
	}
	checkGolden(t, "help/listen.golden", stdout.String())
}

func TestListenUsage(t *testing.T) {
	env := &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Getenv: func(string) string { return "" }}
	for _, args := range [][]string{
		{},
		{"--app-key", "k", "extra"},
		{"--app-key", "k", "--server", "localhost:8080"},
	} {
		var ue *usageError
		if err := runListen(t.Context(), env, args); !errors.As(err, &ue) {
			t.Errorf("runListen %q = %v, want a usage error", args, err)
		}
	}
}

// lines is a writer that hands each complete line to a channel.
type lines struct {
	mu  sync.Mutex
	buf []byte
	ch  chan string
}

func newLines() *lines { return &lines{ch: make(chan string, 100)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.ch <- string(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
}

func (l *lines) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-l.ch:
		return s
	case <-time.After(15 * time.Second):
		t.Fatal("no line on stdout")
		return ""
	}
}

// startListen runs herald listen until stop is called; stop returns its error.
func startListen(t *testing.T, args ...string) (out *lines, stderr *lines, stop func() error) {
	t.Helper()
	out, stderr = newLines(), newLines()
	env := &Env{Stdout: out, Stderr: stderr, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runListen(ctx, env, args) }()
	stopped := false
	var err error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-done
		}
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return out, stderr, stop
}

// waitConnected waits for the "Connected" progress line.
func waitConnected(t *testing.T, stderr *lines) {
	t.Helper()
	for {
		if strings.HasPrefix(stderr.next(t), "Connected to ") {
			return
		}
	}
}

func TestListenPrintsTokenThenMessagesAndResumes(t *testing.T) {
	srv := heraldtest.Start(t)
	srv.CreateProject(t, "demo")
	key := srv.CreateApp(t, "demo")
	state := t.TempDir()
	send := func(token, text string) {
		t.Helper()
		srv.Admin(t, http.MethodPost, "/v1/projects/demo/messages:send", map[string]any{"message": map[string]any{
			"token": token, "data": map[string]string{"text": text}, "notification": map[string]string{"title": "T"},
		}}, nil)
	}
	args := []string{"--server", srv.URL, "--app-key", key, "--project", "demo", "--state", state}

	out, stderr, stop := startListen(t, args...)
	first := out.next(t)
	token, ok := strings.CutPrefix(first, "token: ")
	if !ok || token == "" {
		t.Fatalf("first stdout line %q, want token: T", first)
	}
	waitConnected(t, stderr)
	send(token, "one")
	var m herald.Message
	if err := json.Unmarshal([]byte(out.next(t)), &m); err != nil {
		t.Fatal(err)
	}
	want := herald.Message{ID: m.ID, Seq: 1, Token: token, From: "demo", SentAtMillis: m.SentAtMillis, TTLSeconds: m.TTLSeconds,
		Priority: herald.PriorityNormal, Data: map[string]string{"text": "one"}, Notification: &herald.Notification{Title: "T"}}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Fatalf("message line (-want +got):\n%s", diff)
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("listen ended with %v, want context.Canceled (interrupted)", err)
	}

	// Away: the next run with the same state is the same device and gets it.
	send(token, "two")
	out2, _, _ := startListen(t, append(args, "--pretty", "--background")...)
	if got := out2.next(t); got != first {
		t.Fatalf("second run printed %q, want the same %q", got, first)
	}
	if got := out2.next(t); !strings.HasPrefix(got, "— message 2 from demo, normal priority") {
		t.Fatalf("pretty line %q", got)
	}
	if got := out2.next(t); got != "  T" {
		t.Fatalf("pretty notification line %q", got)
	}
	if got := out2.next(t); got != "  text = two" {
		t.Fatalf("pretty data line %q", got)
	}
}

func TestListenChecksTheProject(t *testing.T) {
	srv := heraldtest.Start(t)
	srv.CreateProject(t, "demo")
	key := srv.CreateApp(t, "demo")
	env := &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Getenv: func(string) string { return "" }}
	err := runListen(t.Context(), env, []string{"--server", srv.URL, "--app-key", key, "--project", "other", "--state", t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), `belongs to project "demo", not "other"`) {
		t.Fatalf("runListen = %v", err)
	}
	err = runListen(t.Context(), env, []string{"--server", srv.URL, "--app-key", "wrong", "--state", t.TempDir()})
	if err == nil || !strings.Contains(hintOf(err), "herald app list") {
		t.Fatalf("runListen with a wrong key = %v (hint %q)", err, hintOf(err))
	}
}

// herald listen --topic subscribes the registration after registering;
// the server keeps the subscriptions (GET /iid/info lists them).
func TestListenSubscribesToTopics(t *testing.T) {
	srv := heraldtest.Start(t)
	srv.CreateProject(t, "demo")
	key := srv.CreateApp(t, "demo")
	out, stderr, stop := startListen(t, "--server", srv.URL, "--app-key", key, "--state", t.TempDir(),
		"--topic", "news", "--topic", "/topics/50%off")
	token, ok := strings.CutPrefix(out.next(t), "token: ")
	if !ok {
		t.Fatal("listen printed no token first")
	}
	var progress []string
	for {
		line := stderr.next(t)
		if strings.HasPrefix(line, "Connected to ") {
			break
		}
		if strings.HasPrefix(line, "Subscribed") {
			progress = append(progress, line)
		}
	}
	if diff := cmp.Diff([]string{"Subscribed to topic news.", "Subscribed to topic /topics/50%off."}, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	var info struct {
		Rel struct {
			Topics map[string]struct{ AddDate string }
		}
	}
	srv.Admin(t, http.MethodGet, "/iid/info/"+token+"?details=true", nil, &info)
	var topics []string
	for name := range info.Rel.Topics {
		topics = append(topics, name)
	}
	slices.Sort(topics)
	if diff := cmp.Diff([]string{"50%off", "news"}, topics); diff != "" {
		t.Errorf("subscriptions (-want +got):\n%s", diff)
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("listen ended with %v, want context.Canceled", err)
	}

	env := &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Getenv: func(string) string { return "" }}
	err := runListen(t.Context(), env, []string{"--server", srv.URL, "--app-key", key, "--state", t.TempDir(), "--topic", "a b"})
	if err == nil || !strings.Contains(err.Error(), "invalid topic name") {
		t.Fatalf("listen --topic 'a b' = %v, want the server's invalid topic name error", err)
	}
}
