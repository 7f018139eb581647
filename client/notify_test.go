package client

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/heraldpush/herald"
)

// fakeNotifySend writes a script that records its arguments, one a line.
func fakeNotifySend(t *testing.T) (path, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	path = filepath.Join(dir, "notify-send")
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > " + argsFile + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, argsFile
}

func TestNotifySendArguments(t *testing.T) {
	path, argsFile := fakeNotifySend(t)
	tests := []struct {
		name string
		n    NotifySend
		m    herald.Message
		want []string
	}{
		{
			name: "title and body",
			n:    NotifySend{Path: path, AppName: "Chat"},
			m:    herald.Message{Priority: herald.PriorityNormal, Notification: &herald.Notification{Title: "Hi", Body: "there"}},
			want: []string{"--app-name=Chat", "--", "Hi", "there"},
		},
		{
			name: "a hostile title is never an option",
			n:    NotifySend{Path: path},
			m:    herald.Message{Priority: herald.PriorityHigh, Notification: &herald.Notification{Title: "--icon=/etc/passwd"}},
			want: []string{"--app-name=Herald", "--urgency=critical", "--", "--icon=/etc/passwd"},
		},
		{
			name: "no title",
			n:    NotifySend{Path: path},
			m:    herald.Message{Notification: &herald.Notification{Body: "b"}},
			want: []string{"--app-name=Herald", "--", "Herald", "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.n.Notify(context.Background(), tt.m); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(argsFile)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("arguments (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNotifySendFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notify-send")
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho 'no D-Bus session' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := NotifySend{Path: path}.Notify(context.Background(), herald.Message{})
	if err == nil || !strings.Contains(err.Error(), "no D-Bus session") {
		t.Fatalf("Notify = %v, want the tool's complaint", err)
	}
}
