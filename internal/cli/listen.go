package cli

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/client"
)

// listenOptions are the flags of herald listen.
type listenOptions struct {
	server     serverFlags
	appKey     string
	project    string
	stateDir   string
	pretty     bool
	background bool
	topics     *topicList
	webPush    bool
	webPushKey string
}

// topicList is the value of a repeatable --topic.
type topicList []string

func (l *topicList) String() string { return strings.Join(*l, ",") }

func (l *topicList) Set(s string) error {
	if s == "" {
		return errors.New("want a topic name")
	}
	*l = append(*l, s)
	return nil
}

func parseListen(env *Env, args []string) (listenOptions, error) {
	const name = "listen"
	o := listenOptions{topics: &topicList{}}
	f := newFlagSet(name, "herald listen --app-key KEY [flags]",
		"Act as a device: register an app with its app key, print the token, then print every\n"+
			"message sent to that token, until interrupted. The token comes first, on its own\n"+
			"line (\"token: T\"); then each message is one JSON line (the device protocol's\n"+
			"message, docs/protocol.md) on stdout; progress goes to stderr. The state directory\n"+
			"keeps the device: a second run with the same --state is the same device, with the\n"+
			"same token, and receives what was sent while it was away, without duplicates.\n"+
			"With --topic, the registration is also subscribed to topics (kept by the server:\n"+
			"later runs stay subscribed) and receives what is sent to them from then on.\n"+
			"With --webpush, it also creates a Web Push subscription for the registration and\n"+
			"prints it on one line after the token (\"webpush: {\"endpoint\":…,\"keys\":{\"p256dh\":…,\n"+
			"\"auth\":…}}\", the JSON of a browser's PushSubscription), so that any Web Push library\n"+
			"can send to this device; their messages are decrypted here and printed with the\n"+
			"plaintext in \"text\" (or \"text_base64\" when it is not UTF-8). A later run with the\n"+
			"same --state prints the same subscription (a new one once the token changed).",
		"herald listen --app-key KEY\n"+
			"herald listen --app-key KEY --pretty --background\n"+
			"herald listen --app-key KEY --state /tmp/device2 | jq .data\n"+
			"herald listen --app-key KEY --topic news --topic weather\n"+
			"herald listen --app-key KEY --webpush")
	o.server.register(f)
	f.String(&o.appKey, "app-key", "", "HERALD_APP_KEY", "app `KEY` to register, from herald app create (required)")
	f.String(&o.project, "project", "", "HERALD_PROJECT", "project `ID` the app key must belong to (a check)")
	f.String(&o.stateDir, "state", "", "", "`DIR` that keeps the device credential, its tokens and what it has received")
	f.note("state", "default: herald/listen in the user config dir")
	f.Var(o.topics, "topic", "", "subscribe to `TOPIC` after registering; repeat for more")
	f.Bool(&o.webPush, "webpush", false, "", "create a Web Push subscription and print it (\"webpush: {…}\")")
	f.String(&o.webPushKey, "webpush-key", "", "",
		"restrict the Web Push subscription to the application server with VAPID public `KEY` (base64url); implies --webpush")
	f.Bool(&o.pretty, "pretty", false, "", "print messages for people instead of JSON lines")
	f.Bool(&o.background, "background", false, "",
		"run as an app in the background: notifications also pop up with notify-send, if installed")
	rest, err := f.parse(env, args)
	if err != nil {
		return o, err
	}
	if err := positionalArgs(name, rest); err != nil {
		return o, err
	}
	if o.webPushKey != "" {
		o.webPush = true
	}
	if o.appKey == "" {
		return o, usageErrorf(name, "--app-key is required (herald app create --project ID prints one)")
	}
	if o.stateDir == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return o, usageErrorf(name, "no user config directory (%v): set --state", err)
		}
		o.stateDir = filepath.Join(dir, "herald", "listen")
	}
	return o, nil
}

// runListen runs herald listen.
func runListen(ctx context.Context, env *Env, args []string) error {
	o, err := parseListen(env, args)
	if err != nil {
		return err
	}
	base, err := o.server.baseURL("listen")
	if err != nil {
		return err
	}
	p := &listenPrinter{out: env.Stdout, pretty: o.pretty}
	cfg := client.Config{
		Server:     base,
		StateDir:   o.stateDir,
		Logger:     slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
		HTTPClient: env.HTTPClient,
		OnMessage:  func(_ context.Context, m herald.Message) { p.message(m) },
		OnNewToken: func(appKey, token string) {
			if appKey == o.appKey {
				fmt.Fprintln(env.Stderr, "The server gave this app a new token; send it to your app server.")
				fmt.Fprintf(env.Stdout, "token: %s\n", token)
			}
		},
		OnDeletedMessages: func(_ string, count int) {
			fmt.Fprintf(env.Stderr, "%d pending messages were dropped by the server while this device was away (pending limit).\n", count)
		},
	}
	connected := false
	cfg.OnConnected = func() {
		if !connected {
			connected = true
			fmt.Fprintf(env.Stderr, "Connected to %s; waiting for messages (interrupt to stop).\n", base)
			return
		}
		fmt.Fprintln(env.Stderr, "Reconnected.")
	}
	if o.background {
		cfg.OnBackgroundMessage = cfg.OnMessage
		cfg.Notifier = p.notifier(env)
	}
	c, err := client.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()

	token, err := c.Register(ctx, o.appKey)
	if err != nil {
		return explainRegister(err, base)
	}
	if project, _ := c.ProjectID(o.appKey); o.project != "" && project != o.project {
		return withHint(fmt.Errorf("app key %s belongs to project %q, not %q", o.appKey, project, o.project),
			"list the app keys of a project with herald app list --project %s", o.project)
	}
	fmt.Fprintf(env.Stdout, "token: %s\n", token)
	for _, topic := range *o.topics {
		if err := c.Subscribe(ctx, o.appKey, topic); err != nil {
			return err // the server says what is wrong with the name
		}
		fmt.Fprintf(env.Stderr, "Subscribed to topic %s.\n", topic)
	}
	if o.webPush {
		sub, saved := c.SavedWebPushSubscription(o.appKey, o.webPushKey)
		if !saved {
			if sub, err = c.WebPushSubscribe(ctx, o.appKey, o.webPushKey); err != nil {
				return err // the server says what is wrong with the key
			}
		}
		b, err := json.Marshal(sub)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "webpush: %s\n", b)
		if saved {
			fmt.Fprintln(env.Stderr, "Web Push subscription of the previous run: give the webpush line to a Web Push library (keep the endpoint secret).")
		} else {
			fmt.Fprintln(env.Stderr, "Web Push subscription created: give the webpush line to a Web Push library (keep the endpoint secret).")
		}
	}
	if o.background {
		if err := c.SetAppState(ctx, herald.Background); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.Stderr, "State in %s (the same --state is the same device next time).\n", o.stateDir)
	if err := c.Run(ctx); err != nil {
		if errors.Is(err, client.ErrReplaced) {
			return withHint(err, "another herald listen uses %s; give each listener its own --state", o.stateDir)
		}
		return err
	}
	if err := c.Close(); err != nil {
		return err
	}
	return ctx.Err() // Run ends only with ctx: the user interrupted
}

// explainRegister adds to a registration error what the user can do.
func explainRegister(err error, base string) error {
	var apiErr *client.APIError
	var netErr *net.OpError
	var unknownCA x509.UnknownAuthorityError
	switch {
	case errors.As(err, &apiErr) && (apiErr.StatusCode == 403 || apiErr.StatusCode == 404):
		return withHint(err, "check --app-key: herald app list --project ID shows the app keys")
	case errors.As(err, &apiErr) && apiErr.StatusCode == 401:
		return withHint(err, "the device in --state is unknown to this server; use another --state")
	case errors.As(err, &unknownCA):
		return withHint(err, "the certificate of %s is signed by an authority this machine does not trust:\n"+
			"add your CA to the system's trust store, or point SSL_CERT_FILE at its PEM file", base)
	case errors.As(err, &netErr):
		return withHint(err, "is a Herald server running at %s? Start one with herald serve, or set --server", base)
	}
	return err
}

// listenPrinter writes messages to stdout, as JSON lines or for people.
type listenPrinter struct {
	out    io.Writer
	pretty bool
}

// webPushLine is how a Web Push message prints as a JSON line: the
// protocol's message without the ciphertext, with the plaintext the SDK
// decrypted.
type webPushLine struct {
	herald.Message
	Text       *string `json:"text,omitempty"`
	TextBase64 string  `json:"text_base64,omitempty"`
}

func (p *listenPrinter) message(m herald.Message) {
	if !p.pretty {
		var v any = m
		if m.WebPush != nil {
			line := webPushLine{Message: m}
			line.WebPush = &herald.WebPush{EndpointID: m.WebPush.EndpointID}
			if utf8.Valid(m.Raw) {
				text := string(m.Raw)
				line.Text = &text
			} else {
				line.TextBase64 = base64.StdEncoding.EncodeToString(m.Raw)
			}
			v = line
		}
		b, err := json.Marshal(v)
		if err != nil {
			return // a Message is strings and numbers; Marshal cannot fail
		}
		b = append(b, '\n')
		_, _ = p.out.Write(b)
		return
	}
	var sb strings.Builder
	at := time.UnixMilli(m.SentAtMillis).Format(time.DateTime)
	switch {
	case m.Topic != "":
		fmt.Fprintf(&sb, "— topic message %d to %s from %s, %s priority, sent %s (id %s)\n", m.TopicSeq, m.Topic, m.From, m.Priority, at, m.ID)
	case m.Condition != "":
		fmt.Fprintf(&sb, "— topic message %d to %s from %s, %s priority, sent %s (id %s)\n", m.TopicSeq, m.Condition, m.From, m.Priority, at, m.ID)
	case m.WebPush != nil:
		fmt.Fprintf(&sb, "— web push message %d, %s priority, sent %s (id %s)\n", m.Seq, m.Priority, at, m.ID)
	default:
		fmt.Fprintf(&sb, "— message %d from %s, %s priority, sent %s (id %s)\n", m.Seq, m.From, m.Priority, at, m.ID)
	}
	if m.WebPush != nil {
		if utf8.Valid(m.Raw) {
			fmt.Fprintf(&sb, "  %s\n", m.Raw)
		} else {
			fmt.Fprintf(&sb, "  (%d bytes, base64) %s\n", len(m.Raw), base64.StdEncoding.EncodeToString(m.Raw))
		}
	}
	if m.CollapseKey != "" {
		fmt.Fprintf(&sb, "  collapse key: %s\n", m.CollapseKey)
	}
	if n := m.Notification; n != nil {
		fmt.Fprintf(&sb, "  %s\n", strings.TrimSpace(n.Title+"  "+n.Body))
		if n.Image != "" {
			fmt.Fprintf(&sb, "  image: %s\n", n.Image)
		}
	}
	keys := make([]string, 0, len(m.Data))
	for k := range m.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&sb, "  %s = %s\n", k, m.Data[k])
	}
	_, _ = io.WriteString(p.out, sb.String())
}

// notifier prints every background notification and, when notify-send is
// installed, also shows it on the desktop. A desktop failure is reported
// once.
func (p *listenPrinter) notifier(env *Env) client.Notifier {
	path, err := exec.LookPath("notify-send")
	if err != nil {
		fmt.Fprintln(env.Stderr, "notify-send not found: notifications are printed only.")
		return client.NotifierFunc(func(_ context.Context, m herald.Message) error {
			p.message(m)
			return nil
		})
	}
	desktop := client.NotifySend{Path: path, AppName: "herald listen"}
	warned := false
	return client.NotifierFunc(func(ctx context.Context, m herald.Message) error {
		p.message(m)
		if err := desktop.Notify(ctx, m); err != nil && !warned {
			warned = true
			fmt.Fprintf(env.Stderr, "Desktop notifications fail (%v); printing only.\n", err)
		}
		return nil
	})
}
