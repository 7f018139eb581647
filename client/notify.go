package client

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/heraldpush/herald"
)

// A Notifier shows a message's notification to the user while the app is in
// the background, as the system tray does on a phone. The message's data
// travels with it, for the app to use when the user acts on it.
//
// Notify runs on the same goroutine as the other callbacks and should
// return promptly. An error is logged; the message still counts as handled.
type Notifier interface {
	Notify(ctx context.Context, m herald.Message) error
}

// NotifierFunc adapts a function to Notifier, as http.HandlerFunc does for
// http.Handler.
type NotifierFunc func(ctx context.Context, m herald.Message) error

// Notify calls f(ctx, m).
func (f NotifierFunc) Notify(ctx context.Context, m herald.Message) error { return f(ctx, m) }

// NotifySend shows notifications on a Linux desktop by running notify-send
// (from libnotify), which posts to the session's
// org.freedesktop.Notifications D-Bus service (GNOME, KDE, dunst, mako…).
// It needs a desktop session (DBUS_SESSION_BUS_ADDRESS in the environment).
//
// The notification's title is the summary (AppName when empty) and its body
// the body. Title and body come from the sender; they are passed after "--"
// so that they are never read as options. Images are not shown.
type NotifySend struct {
	// Path is the notify-send executable. Default: "notify-send", looked up
	// in PATH.
	Path string
	// AppName is the application name shown by the notification server
	// (notify-send --app-name). Default "Herald".
	AppName string
}

// Notify runs notify-send and waits for it.
func (n NotifySend) Notify(ctx context.Context, m herald.Message) error {
	path, app := n.Path, n.AppName
	if path == "" {
		path = "notify-send"
	}
	if app == "" {
		app = "Herald"
	}
	var title, body string
	if m.Notification != nil {
		title, body = m.Notification.Title, m.Notification.Body
	}
	if title == "" {
		title = app
	}
	args := []string{"--app-name=" + app}
	if m.Priority == herald.PriorityHigh {
		args = append(args, "--urgency=critical")
	}
	args = append(args, "--", title)
	if body != "" {
		args = append(args, body)
	}
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("notify-send: %w: %s", err, truncate(string(out), 200))
	}
	return nil
}

// truncate shortens s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
