package client

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldpush/herald"
)

// Config configures a Client. Only Server is required.
type Config struct {
	// Server is the base URL of the Herald server, e.g.
	// "http://127.0.0.1:8080" or "https://push.example.com". The WebSocket
	// URL is derived from it (http→ws, https→wss).
	Server string
	// StateDir holds state.json: the device credential, the registrations
	// and the dedupe marks. With the same StateDir, a new Client is the same
	// device and drops messages its previous incarnation already handled.
	// "" keeps everything in memory (a new device on every start).
	StateDir string
	// Logger receives the SDK's logs. Default: discard.
	Logger *slog.Logger

	// OnMessage receives every message while the app is in the foreground,
	// and background messages that neither Notifier nor
	// OnBackgroundMessage takes.
	OnMessage func(ctx context.Context, m herald.Message)
	// OnBackgroundMessage receives data-only messages (no notification)
	// while the app is in the background. Nil: they go to OnMessage.
	OnBackgroundMessage func(ctx context.Context, m herald.Message)
	// Notifier shows messages that carry a notification while the app is in
	// the background, as the system tray does on Android; the data travels
	// with the message. Nil: they go to OnBackgroundMessage, else OnMessage.
	Notifier Notifier
	// OnNewToken is called when the token of an app key changed without the
	// app asking: the server replaced it (token_refresh), or the server
	// forgot the token or the whole device and the SDK registered the app
	// again. Tokens returned by Register and RefreshToken are not reported
	// here: the caller already has them. Send the new token to your app
	// server.
	OnNewToken func(appKey, token string)
	// OnDeletedMessages is called when the server dropped count pending
	// messages of token (more than the pending limit while the device was
	// away, as FCM's onDeletedMessages): do a full sync with your server.
	OnDeletedMessages func(token string, count int)
	// OnConnected is called each time a session is established (after the
	// welcome frame was received and processed).
	OnConnected func()

	// Dial opens the TCP connection for the WebSocket. Default: a
	// net.Dialer. A load generator sets it to pick source addresses.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// HTTPClient makes the registration calls. Default: a client with a 30s
	// timeout (never http.DefaultClient) that uses TLSConfig.
	HTTPClient *http.Client
	// TLSConfig is for https:// servers, e.g. to trust a private CA
	// (RootCAs). The WebSocket connection always uses it with ALPN
	// "http/1.1" (an upgrade needs HTTP/1.1); the registration calls use
	// it when HTTPClient is nil. Default nil: the TLS settings of
	// HTTPClient's Transport if it is an *http.Transport, else the
	// system's roots (on Unix, Go honours SSL_CERT_FILE and SSL_CERT_DIR).
	TLSConfig *tls.Config
	// Backoff paces reconnections; see BackoffConfig for the defaults.
	Backoff BackoffConfig
	// AckDelay lets the SDK hold its acknowledgements for about this long
	// after handling a frame, and then send one for everything handled
	// meanwhile: fewer packets for the device's radio and less work for
	// the server when messages come in bursts (a topic fan-out). Messages
	// reach the app at once either way, and the dedupe marks are saved at
	// once; a held ack only delays the server forgetting the message (a
	// connection lost meanwhile means a resend, which the marks drop). The
	// hold is drawn between half and one and a half times AckDelay, so
	// that the devices a fan-out reached together do not all answer
	// together. Acks go out at once when 50 entries are owed, and when Run
	// is stopped. Default 0: each frame, or burst of frames already
	// received, is acknowledged as soon as it is handled.
	//
	// Acks of topic and condition messages alone are held longer if the
	// server asks (its --topic-ack-hold, 30s by default), and go out with
	// the next ping if that comes first: the server needs them only to
	// count deliveries.
	AckDelay time.Duration
}

// defaultHTTPTimeout bounds each registration call of the default client.
const defaultHTTPTimeout = 30 * time.Second

// A Client is one device: one credential, the registrations of its apps,
// and one connection to the server shared by all of them (run by Run).
//
// Callbacks run one at a time, in delivery order, on the goroutine that
// called Run. Each message reaches the app once: duplicates sent by the
// server (at-least-once) are recognised by their per-token sequence (or,
// for topic and condition messages, their topic log position, a second
// stream per token) and dropped, and the dedupe marks survive restarts
// through StateDir. The one
// exception is a crash in the middle of a frame: messages of that frame
// whose callbacks ran before the crash are delivered again on restart.
//
// The methods of a Client are safe for concurrent use.
type Client struct {
	cfg     Config
	log     *slog.Logger
	http    *http.Client
	wsURL   string
	wsTLS   *tls.Config // nil: the dialer's default
	httpURL string
	store   stateStore
	backoff BackoffConfig

	// regMu serialises registration calls (so that two first Registers do
	// not create two devices, and one app key never gets two tokens).
	regMu sync.Mutex
	// saveMu orders state writes so that an older snapshot never lands
	// after a newer one.
	saveMu sync.Mutex

	mu       sync.Mutex
	st       *state
	appState herald.AppState
	sess     *conn         // the live connection, nil between sessions
	changed  chan struct{} // signalled when a registration appears

	running atomic.Bool
}

// New returns a client with the state found in cfg.StateDir (if any). It
// does not connect: call Register for each app, then Run.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("client: server URL: %w", err)
	}
	var wsScheme string
	switch u.Scheme {
	case "http":
		wsScheme = "ws"
	case "https":
		wsScheme = "wss"
	default:
		return nil, fmt.Errorf("client: server URL %q: scheme must be http or https", cfg.Server)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("client: server URL %q has no host", cfg.Server)
	}
	base := strings.TrimSuffix(u.Path, "/")
	c := &Client{
		cfg:      cfg,
		log:      cfg.Logger,
		http:     cfg.HTTPClient,
		httpURL:  u.Scheme + "://" + u.Host + base,
		wsURL:    wsScheme + "://" + u.Host + base + herald.PathConnect,
		store:    stateStore{dir: cfg.StateDir},
		backoff:  cfg.Backoff.withDefaults(),
		appState: herald.Foreground,
		changed:  make(chan struct{}, 1),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: defaultHTTPTimeout}
		if cfg.TLSConfig != nil {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.TLSClientConfig = cfg.TLSConfig.Clone()
			tr.ForceAttemptHTTP2 = true
			c.http.Transport = tr
		}
	}
	c.wsTLS = websocketTLS(cfg.TLSConfig, c.http)
	c.st, err = c.store.load()
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return c, nil
}

// websocketTLS returns the TLS settings of the WebSocket dial: cfg, else
// those of hc's transport, with ALPN limited to HTTP/1.1 so that a server
// offering HTTP/2 does not pick it for the upgrade. Nil: the defaults.
func websocketTLS(cfg *tls.Config, hc *http.Client) *tls.Config {
	if cfg == nil {
		if tr, ok := hc.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
			cfg = tr.TLSClientConfig
		}
	}
	if cfg == nil {
		return nil
	}
	cfg = cfg.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	return cfg
}

// Token returns the token of appKey, if the app is registered.
func (c *Client) Token(appKey string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.st.Registrations[appKey]
	if r == nil || r.Token == "" {
		return "", false
	}
	return r.Token, true
}

// ProjectID returns the project that the registration of appKey belongs to
// (the project of the app key), if the app is registered.
func (c *Client) ProjectID(appKey string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.st.Registrations[appKey]
	if r == nil || r.Token == "" {
		return "", false
	}
	return r.ProjectID, true
}

// SetAppState tells the SDK whether the app is visible, which decides where
// messages go (see Config). The default is herald.Foreground. When
// connected, the server is told too (a state frame), so that it may hold
// normal-priority messages of a background app.
func (c *Client) SetAppState(ctx context.Context, s herald.AppState) error {
	if s != herald.Foreground && s != herald.Background {
		return fmt.Errorf("client: app state must be %q or %q, not %q", herald.Foreground, herald.Background, s)
	}
	c.mu.Lock()
	if c.appState == s {
		c.mu.Unlock()
		return nil
	}
	c.appState = s
	cn := c.sess
	c.mu.Unlock()
	if cn == nil {
		return nil // the next hello carries it
	}
	if err := cn.writeFrame(ctx, herald.Frame{Type: herald.FrameState, State: s}); err != nil {
		// The session is broken; the next hello carries the state.
		c.log.Debug("herald: state frame not sent", "err", err)
	}
	return nil
}

// Close saves the state and closes the idle connections of the
// registration calls' HTTP client if the SDK made it (Config.HTTPClient
// nil). Run stops with its context, not with Close.
func (c *Client) Close() error {
	if c.cfg.HTTPClient == nil {
		c.http.CloseIdleConnections()
	}
	if err := c.save(); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	return nil
}

// save writes the current state to StateDir.
func (c *Client) save() error {
	if c.store.dir == "" {
		return nil
	}
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	c.mu.Lock()
	b, err := json.Marshal(c.st)
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return c.store.save(b)
}

// signalChanged wakes a Run waiting for its first registration.
func (c *Client) signalChanged() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// errRunning is returned by a second concurrent Run.
var errRunning = errors.New("client: Run is already running")

// shortToken shortens a token or secret for logs.
func shortToken(t string) string {
	if len(t) <= 8 {
		return "…"
	}
	return t[:6] + "…"
}
