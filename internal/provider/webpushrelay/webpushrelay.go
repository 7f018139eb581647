// Package webpushrelay is the provider for browsers: it encrypts a message
// for a Web Push subscription (RFC 8291, aes128gcm) and posts it to the
// subscription's push service with the project's VAPID key (RFC 8292).
// What the service worker receives is described in docs/platforms.md,
// "How each platform's message is built".
package webpushrelay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

// VAPID token lifetimes: a token is signed for vapidLifetime and reused
// until less than vapidRenew of it is left.
const (
	vapidLifetime = 12 * time.Hour
	vapidRenew    = time.Hour
)

// Options configure a Provider.
type Options struct {
	// Client sends the requests. Default: a client of its own with a 30 s
	// timeout.
	Client *http.Client
	// Now is the clock (TTL and VAPID expiry). Default time.Now.
	Now func() time.Time
	// Logger receives a debug line per VAPID token signed. Default:
	// discarded.
	Logger *slog.Logger
}

// Provider sends to browsers' push services. It is safe for concurrent
// use.
type Provider struct {
	client *http.Client
	now    func() time.Time
	log    *slog.Logger

	mu    sync.Mutex
	vapid map[vapidKey]vapidToken
}

type vapidKey struct{ origin, private, subject string }

type vapidToken struct {
	header string
	exp    time.Time
}

var _ provider.Provider = (*Provider)(nil)

// New returns a Provider.
func New(o Options) *Provider {
	p := &Provider{client: o.Client, now: o.Now, log: o.Logger, vapid: map[vapidKey]vapidToken{}}
	p.client, p.now, p.log = provider.Defaults(p.client, p.now, p.log)
	return p
}

// Platform returns store.PlatformWebPush.
func (p *Provider) Platform() string { return store.PlatformWebPush }

// Send encrypts m for to.WebPush and posts it with creds.VAPID.
func (p *Provider) Send(ctx context.Context, creds store.Credentials, to store.Registration, m provider.Message) error {
	if creds.VAPID == nil {
		return fmt.Errorf("%w: project %s has no VAPID key", provider.ErrCredentials, creds.ProjectID)
	}
	sub := to.WebPush
	if sub == nil {
		return fmt.Errorf("%w: registration has no Web Push subscription", provider.ErrUnregistered)
	}
	keys, err := webpush.ParseKeys(sub.P256DH, sub.Auth)
	if err != nil {
		return fmt.Errorf("%w: subscription keys: %w", provider.ErrUnregistered, err)
	}
	origin, err := webpush.Origin(sub.Endpoint)
	if err != nil {
		return fmt.Errorf("%w: subscription endpoint: %w", provider.ErrUnregistered, err)
	}
	c, err := m.Decode()
	if err != nil {
		return err
	}
	now := p.now()
	left, err := m.TimeLeft(now)
	if err != nil {
		return err
	}
	plaintext, err := Plaintext(c, m)
	if err != nil {
		return err
	}
	if len(plaintext) > webpush.MaxPlaintext {
		return fmt.Errorf("%w: message %s: %d bytes to encrypt, a push service takes at most %d", provider.ErrRejected, m.ID, len(plaintext), webpush.MaxPlaintext)
	}
	body, err := webpush.Encrypt(plaintext, keys, nil)
	if err != nil {
		return fmt.Errorf("%w: message %s: %w", provider.ErrRejected, m.ID, err)
	}
	authz, err := p.authorization(origin, creds.VAPID, now)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: subscription endpoint: %v", provider.ErrUnregistered, err)
	}
	for k, v := range Headers(c, m, left) {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", authz)
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("webpush: %w", ctx.Err())
		}
		return &provider.RetryError{Err: fmt.Errorf("webpush: %w", err)}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 16<<10)) // reuse the connection
	return p.classify(resp, origin, m.ID)
}

// classify maps a push service's answer to the provider's errors.
func (p *Provider) classify(resp *http.Response, origin, msgID string) error {
	st := resp.StatusCode
	err := fmt.Errorf("webpush: %s answered %d (message %s)", origin, st, msgID)
	switch {
	case st >= 200 && st < 300:
		return nil
	case st == http.StatusNotFound, st == http.StatusGone:
		return fmt.Errorf("%w: %w", provider.ErrUnregistered, err)
	case st == http.StatusUnauthorized, st == http.StatusForbidden:
		return fmt.Errorf("%w: %w", provider.ErrCredentials, err)
	case st == http.StatusTooManyRequests, st == http.StatusRequestTimeout, st >= 500:
		return &provider.RetryError{After: provider.RetryAfter(resp.Header, p.now()), Err: err}
	default:
		return fmt.Errorf("%w: %w", provider.ErrRejected, err)
	}
}

// authorization returns the VAPID Authorization header for origin,
// reusing a token until less than an hour of it is left.
func (p *Provider) authorization(origin string, v *store.VAPIDCredentials, now time.Time) (string, error) {
	if v.Subject == "" {
		return "", fmt.Errorf("%w: the VAPID key has no subject (mailto: or https: contact)", provider.ErrCredentials)
	}
	k := vapidKey{origin, v.PrivateKey, v.Subject}
	p.mu.Lock()
	defer p.mu.Unlock()
	if tok, ok := p.vapid[k]; ok && tok.exp.Sub(now) > vapidRenew && tok.exp.Sub(now) <= vapidLifetime {
		return tok.header, nil
	}
	key, err := webpush.ParseVAPIDKey(v.PrivateKey)
	if err != nil {
		return "", fmt.Errorf("%w: %w", provider.ErrCredentials, err)
	}
	exp := now.Add(vapidLifetime)
	h, err := webpush.SignVAPID(key, origin, v.Subject, exp)
	if err != nil {
		return "", fmt.Errorf("%w: %w", provider.ErrCredentials, err)
	}
	for old, tok := range p.vapid {
		if !tok.exp.After(now) {
			delete(p.vapid, old) // an origin or key no longer in use
		}
	}
	p.vapid[k] = vapidToken{header: h, exp: exp}
	p.log.Debug("webpush: VAPID token signed", slog.String("origin", origin), slog.Time("exp", exp))
	return h, nil
}

// Payload is the JSON object a browser's service worker receives (after
// decryption) as event.data.json().
type Payload struct {
	// MessageID is Herald's message id, the same on every attempt.
	MessageID string `json:"message_id"`
	// Data is webpush.data when the message has it, otherwise data.
	Data map[string]string `json:"data,omitempty"`
	// Notification holds title, body and image of the notification, with
	// the members of webpush.notification (Web Notification options)
	// merged over them.
	Notification map[string]json.RawMessage `json:"notification,omitempty"`
	// FCMOptions holds the link of webpush.fcm_options.
	FCMOptions *Link `json:"fcm_options,omitempty"`
}

// Link is the page to open when the notification is clicked.
type Link struct {
	Link string `json:"link"`
}

// Plaintext builds the Payload of a message and encodes it.
func Plaintext(c provider.Content, m provider.Message) ([]byte, error) {
	pl := Payload{MessageID: m.ID, Data: c.Data}
	n := map[string]json.RawMessage{}
	if c.Notification != nil {
		for k, v := range map[string]string{"title": c.Notification.Title, "body": c.Notification.Body, "image": c.Notification.Image} {
			if v != "" {
				b, _ := json.Marshal(v) // a string always encodes
				n[k] = b
			}
		}
	}
	if w := c.Webpush; w != nil {
		if w.Data != nil {
			pl.Data = w.Data
		}
		if len(bytes.TrimSpace(w.Notification)) > 0 {
			var extra map[string]json.RawMessage
			if err := json.Unmarshal(w.Notification, &extra); err != nil {
				return nil, fmt.Errorf("%w: message %s: webpush.notification is not an object: %v", provider.ErrRejected, m.ID, err)
			}
			for k, v := range extra {
				n[k] = v
			}
		}
		if w.FCMOptions != nil && w.FCMOptions.Link != "" {
			pl.FCMOptions = &Link{Link: w.FCMOptions.Link}
		}
	}
	if len(n) > 0 {
		pl.Notification = n
	}
	b, err := json.Marshal(pl)
	if err != nil {
		return nil, fmt.Errorf("%w: message %s: %v", provider.ErrRejected, m.ID, err)
	}
	return b, nil
}

var topicRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Headers returns the RFC 8030 headers of a message with left to live:
// TTL (seconds; a webpush.headers TTL may shorten it), Urgency (high or
// normal from the priority; a valid webpush.headers Urgency wins) and
// Topic (from the collapse key; a valid webpush.headers Topic wins).
func Headers(c provider.Content, m provider.Message, left time.Duration) http.Header {
	h := http.Header{}
	ttl := int64(left / time.Second)
	if v, ok := c.Webpush.Header("TTL"); ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n >= 0 && n < ttl {
			ttl = n
		}
	}
	h["TTL"] = []string{strconv.FormatInt(ttl, 10)} // RFC 8030's spelling
	urgency := "normal"
	if m.High {
		urgency = "high"
	}
	if v, ok := c.Webpush.Header("Urgency"); ok {
		switch v = strings.ToLower(strings.TrimSpace(v)); v {
		case "very-low", "low", "normal", "high":
			urgency = v
		}
	}
	h.Set("Urgency", urgency)
	topic := ""
	if m.CollapseKey != "" {
		topic = Topic(m.CollapseKey)
	}
	if v, ok := c.Webpush.Header("Topic"); ok && topicRE.MatchString(v) {
		topic = v
	}
	if topic != "" {
		h.Set("Topic", topic)
	}
	return h
}

// Topic is the Topic header of a collapse key: the key itself when it is
// at most 32 characters of the URL-safe base64 alphabet, otherwise the
// first 32 characters of the unpadded base64url SHA-256 of it.
func Topic(collapseKey string) string {
	if topicRE.MatchString(collapseKey) {
		return collapseKey
	}
	sum := sha256.Sum256([]byte(collapseKey))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:32]
}
