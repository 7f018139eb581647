// Package apns is the provider for Apple devices: it sends a message to a
// device token through the APNs provider API (HTTP/2, token-based
// authentication with the project's .p8 key). How a message becomes an
// APNs request is described in docs/platforms.md, "How each platform's
// message is built".
package apns

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/store"
)

// APNs hosts.
const (
	ProductionURL = "https://api.push.apple.com"
	SandboxURL    = "https://api.sandbox.push.apple.com"
)

// maxResponse bounds how much of an APNs answer is read.
const maxResponse = 16 << 10

// Options configure a Provider. The zero value talks to Apple.
type Options struct {
	// ProductionURL is the base URL for devices without Sandbox. Default
	// ProductionURL.
	ProductionURL string
	// SandboxURL is the base URL for Sandbox devices. Default SandboxURL.
	SandboxURL string
	// Client sends the requests; it must speak HTTP/2 (APNs refuses
	// HTTP/1.1). Default: a client of its own with HTTP/2 and a 30 s
	// timeout.
	Client *http.Client
	// Now is the clock of the provider tokens. Default time.Now.
	Now func() time.Time
	// Logger receives a line when a provider token is replaced early.
	// Default: discarded.
	Logger *slog.Logger
}

// Provider sends to APNs. It is safe for concurrent use, and keeps one
// provider token per signing key for up to TokenLifetime.
type Provider struct {
	prod, sandbox string
	client        *http.Client
	now           func() time.Time
	log           *slog.Logger
	tokens        *tokenCache
}

var _ provider.Provider = (*Provider)(nil)

// New returns a Provider.
func New(o Options) *Provider {
	p := &Provider{prod: o.ProductionURL, sandbox: o.SandboxURL, client: o.Client, now: o.Now, log: o.Logger}
	if p.prod == "" {
		p.prod = ProductionURL
	}
	if p.sandbox == "" {
		p.sandbox = SandboxURL
	}
	p.client, p.now, p.log = provider.Defaults(p.client, p.now, p.log)
	p.tokens = newTokenCache(p.now)
	return p
}

// Platform returns store.PlatformAPNs.
func (p *Provider) Platform() string { return store.PlatformAPNs }

// Send posts m to the device of to.APNs with creds.APNs.
func (p *Provider) Send(ctx context.Context, creds store.Credentials, to store.Registration, m provider.Message) error {
	if creds.APNs == nil {
		return fmt.Errorf("%w: project %s has no APNs key", provider.ErrCredentials, creds.ProjectID)
	}
	if to.APNs == nil || to.APNs.DeviceToken == "" {
		return fmt.Errorf("%w: registration has no APNs device token", provider.ErrUnregistered)
	}
	c, err := m.Decode()
	if err != nil {
		return err
	}
	req, err := Build(c, m, *to.APNs, p.now())
	if err != nil {
		return err
	}
	base := p.prod
	if to.APNs.Sandbox {
		base = p.sandbox
	}
	url := base + "/3/device/" + to.APNs.DeviceToken
	for attempt := 0; ; attempt++ {
		tok, err := p.tokens.get(*creds.APNs)
		if err != nil {
			return err
		}
		res, err := p.post(ctx, url, req, tok)
		if err != nil {
			return err
		}
		if res.reason == "ExpiredProviderToken" && attempt == 0 {
			p.log.Info("apns: provider token refused as expired; signing a new one",
				slog.String("project", creds.ProjectID), slog.String("key_id", creds.APNs.KeyID))
			p.tokens.drop(*creds.APNs, tok)
			continue
		}
		if err := p.classify(res, to.APNs.DeviceToken, m.ID); err != nil {
			return err
		}
		return nil
	}
}

// response is what Send needs of an APNs answer.
type response struct {
	status     int
	reason     string
	retryAfter time.Duration
}

func (p *Provider) post(ctx context.Context, url string, r Request, token string) (response, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(r.Payload))
	if err != nil {
		return response{}, fmt.Errorf("%w: APNs request: %v", provider.ErrRejected, err)
	}
	for k, v := range r.Header {
		hreq.Header[k] = v
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Authorization", "bearer "+token)
	resp, err := p.client.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return response{}, fmt.Errorf("apns: %w", ctx.Err())
		}
		return response{}, &provider.RetryError{Err: fmt.Errorf("apns: %w", err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil && resp.StatusCode != http.StatusOK {
		return response{}, &provider.RetryError{Err: fmt.Errorf("apns: reading the answer: %w", err)}
	}
	res := response{status: resp.StatusCode, retryAfter: provider.RetryAfter(resp.Header, p.now())}
	if resp.StatusCode != http.StatusOK {
		res.reason = ParseReason(body).Reason
	}
	return res, nil
}

// classify maps an APNs answer to the provider's errors.
func (p *Provider) classify(res response, deviceToken, msgID string) error {
	st, reason := res.status, res.reason
	err := fmt.Errorf("apns: %d %s (device %s, message %s)", st, reason, redact(deviceToken), msgID)
	switch {
	case st == http.StatusOK:
		return nil
	case st == http.StatusGone,
		st == http.StatusBadRequest && (reason == "BadDeviceToken" || reason == "DeviceTokenNotForTopic"):
		return fmt.Errorf("%w: %w", provider.ErrUnregistered, err)
	case st == http.StatusForbidden && (reason == "InvalidProviderToken" || reason == "ExpiredProviderToken" ||
		reason == "MissingProviderToken" || reason == "BadCertificate" || reason == "BadCertificateEnvironment" || reason == "Forbidden"):
		return fmt.Errorf("%w: %w", provider.ErrCredentials, err)
	case st == http.StatusTooManyRequests, st >= 500:
		return &provider.RetryError{After: res.retryAfter, Err: err}
	default:
		return fmt.Errorf("%w: %w", provider.ErrRejected, err)
	}
}

// redact shortens a device token for messages: its first 8 characters.
func redact(s string) string {
	if len(s) > 8 {
		return s[:8] + "…"
	}
	return s
}

// apnsID derives the apns-id from the message id: the same for every
// attempt of a message, a canonical lower-case UUID (version 8, RFC 9562).
func apnsID(msgID string) string {
	sum := sha256.Sum256([]byte("herald apns-id " + msgID))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// errNoKey is wrapped when the stored .p8 key cannot be used.
var errNoKey = errors.New("APNs signing key unusable")

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
