// Package fcmrelay is the provider for Android devices with Google Play
// services: it relays a message to an FCM registration token of the
// project's own Firebase project through the FCM HTTP v1 API, with the
// project's service account (OAuth2 JWT-bearer grant). How the relayed
// message is built is described in docs/platforms.md, "How each
// platform's message is built".
package fcmrelay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/store"
)

// DefaultBaseURL is FCM's API host.
const DefaultBaseURL = "https://fcm.googleapis.com"

// Options configure a Provider.
type Options struct {
	// BaseURL is where the send API is, without /v1. Default
	// DefaultBaseURL.
	BaseURL string
	// Client sends the requests, to FCM and to the token endpoint.
	// Default: a client of its own with a 30 s timeout.
	Client *http.Client
	// Now is the clock of assertions and token expiry. Default time.Now.
	Now func() time.Time
	// Logger receives a line when an access token is refused and
	// replaced. Default: discarded.
	Logger *slog.Logger
}

// Provider relays to FCM. It is safe for concurrent use; it keeps one
// access token per service account until shortly before it expires.
type Provider struct {
	base   string
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
	tokens *tokenCache
}

var _ provider.Provider = (*Provider)(nil)

// New returns a Provider.
func New(o Options) *Provider {
	p := &Provider{base: strings.TrimRight(o.BaseURL, "/"), client: o.Client, now: o.Now, log: o.Logger}
	if p.base == "" {
		p.base = DefaultBaseURL
	}
	p.client, p.now, p.log = provider.Defaults(p.client, p.now, p.log)
	p.tokens = newTokenCache(p.client, p.now)
	return p
}

// Platform returns store.PlatformFCM.
func (p *Provider) Platform() string { return store.PlatformFCM }

// Send relays m to to.FCM's token with creds.FCM.
func (p *Provider) Send(ctx context.Context, creds store.Credentials, to store.Registration, m provider.Message) error {
	if creds.FCM == nil || len(creds.FCM.ServiceAccountJSON) == 0 {
		return fmt.Errorf("%w: project %s has no FCM service account", provider.ErrCredentials, creds.ProjectID)
	}
	if to.FCM == nil || to.FCM.Token == "" {
		return fmt.Errorf("%w: registration has no FCM token", provider.ErrUnregistered)
	}
	e, err := p.tokens.entry(*creds.FCM)
	if err != nil {
		return err
	}
	body, err := Build(m, to.FCM.Token, p.now())
	if err != nil {
		return err
	}
	u := p.base + "/v1/projects/" + url.PathEscape(e.sa.ProjectID) + "/messages:send"
	for attempt := 0; ; attempt++ {
		tok, err := p.tokens.token(ctx, e)
		if err != nil {
			return err
		}
		st, fe, after, err := p.post(ctx, u, body, tok)
		if err != nil {
			return err
		}
		if st == http.StatusUnauthorized && fe.ErrorCode == "" && attempt == 0 {
			// The access token was refused (revoked, expired early): get
			// a new one, once.
			p.log.Info("fcm: access token refused; fetching a new one",
				slog.String("project", creds.ProjectID), slog.String("client_email", e.sa.ClientEmail))
			p.tokens.drop(e, tok)
			continue
		}
		return p.classify(st, fe, after, m.ID)
	}
}

func (p *Provider) post(ctx context.Context, u string, body []byte, token string) (int, Error, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, Error{}, 0, fmt.Errorf("%w: FCM request: %v", provider.ErrCredentials, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, Error{}, 0, fmt.Errorf("fcm: %w", ctx.Err())
		}
		return 0, Error{}, 0, &provider.RetryError{Err: fmt.Errorf("fcm: %w", err)}
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil && resp.StatusCode != http.StatusOK {
		return 0, Error{}, 0, &provider.RetryError{Err: fmt.Errorf("fcm: reading the answer: %w", err)}
	}
	var fe Error
	if resp.StatusCode != http.StatusOK {
		fe = ParseError(rb)
	}
	return resp.StatusCode, fe, provider.RetryAfter(resp.Header, p.now()), nil
}

// classify maps FCM's answer to the provider's errors.
func (p *Provider) classify(st int, fe Error, after time.Duration, msgID string) error {
	err := fmt.Errorf("fcm: %d %s %s: %s (message %s)", st, fe.Status, fe.ErrorCode, fe.Message, msgID)
	switch {
	case st == http.StatusOK:
		return nil
	case fe.ErrorCode == "UNREGISTERED", fe.ErrorCode == "SENDER_ID_MISMATCH",
		st == http.StatusBadRequest && fe.aboutToken():
		return fmt.Errorf("%w: %w", provider.ErrUnregistered, err)
	case fe.ErrorCode == "THIRD_PARTY_AUTH_ERROR", fe.ErrorCode == "APNS_AUTH_ERROR",
		st == http.StatusUnauthorized, st == http.StatusForbidden, st == http.StatusNotFound:
		return fmt.Errorf("%w: %w", provider.ErrCredentials, err)
	case st == http.StatusTooManyRequests, st >= 500:
		return &provider.RetryError{After: after, Err: err}
	default:
		return fmt.Errorf("%w: %w", provider.ErrRejected, err)
	}
}

// Build returns the send request relaying m to token: {"message":{token,
// data, notification, android, apns, webpush, fcm_options}}, the blocks as
// stored, with android's ttl, priority and collapse_key set from the
// message (ttl = whole seconds left until the expiry). now decides
// whether the message has expired (an error wrapping
// provider.ErrRejected).
func Build(m provider.Message, token string, now time.Time) ([]byte, error) {
	left, err := m.TimeLeft(now)
	if err != nil {
		return nil, err
	}
	c, err := m.Decode()
	if err != nil {
		return nil, err
	}
	var blocks map[string]json.RawMessage
	if len(bytes.TrimSpace(m.Platform)) > 0 {
		if err := json.Unmarshal(m.Platform, &blocks); err != nil {
			return nil, fmt.Errorf("%w: message %s: platform blocks: %v", provider.ErrRejected, m.ID, err)
		}
	}
	android := map[string]json.RawMessage{}
	if a := blocks["android"]; len(a) > 0 {
		if err := json.Unmarshal(a, &android); err != nil || android == nil {
			return nil, fmt.Errorf("%w: message %s: android block is not an object", provider.ErrRejected, m.ID)
		}
	}
	android["ttl"] = json.RawMessage(`"` + strconv.FormatInt(int64(left/time.Second), 10) + `s"`)
	if m.High {
		android["priority"] = json.RawMessage(`"high"`)
	} else {
		android["priority"] = json.RawMessage(`"normal"`)
	}
	delete(android, "collapse_key")
	if m.CollapseKey != "" {
		k, _ := json.Marshal(m.CollapseKey) // a string always encodes
		android["collapse_key"] = k
	}
	ab, err := json.Marshal(android)
	if err != nil {
		return nil, fmt.Errorf("%w: message %s: android block: %v", provider.ErrRejected, m.ID, err)
	}
	msg := struct {
		Token        string                 `json:"token"`
		Data         map[string]string      `json:"data,omitempty"`
		Notification *provider.Notification `json:"notification,omitempty"`
		Android      json.RawMessage        `json:"android"`
		APNs         json.RawMessage        `json:"apns,omitempty"`
		Webpush      json.RawMessage        `json:"webpush,omitempty"`
		FCMOptions   json.RawMessage        `json:"fcm_options,omitempty"`
	}{token, c.Data, c.Notification, ab, blocks["apns"], blocks["webpush"], blocks["fcm_options"]}
	b, err := json.Marshal(struct {
		Message any `json:"message"`
	}{msg})
	if err != nil {
		return nil, fmt.Errorf("%w: message %s: %v", provider.ErrRejected, m.ID, err)
	}
	return b, nil
}

// Error is what the relay reads of FCM's error body, a google.rpc.Status
// with an FcmError detail.
type Error struct {
	Code      int
	Status    string // google.rpc.Code name, such as "NOT_FOUND"
	Message   string
	ErrorCode string // FcmError errorCode, such as "UNREGISTERED"; "" without that detail
	Fields    []string
}

// aboutToken reports whether an INVALID_ARGUMENT is about the
// registration token (FCM: "The registration token is not a valid FCM
// registration token"), which means the token is unusable.
func (e Error) aboutToken() bool {
	for _, f := range e.Fields {
		if f == "message.token" {
			return true
		}
	}
	return strings.Contains(strings.ToLower(e.Message), "registration token")
}

// ParseError reads an FCM error body. A body that is not one gives the
// zero Error.
func ParseError(body []byte) Error {
	var b struct {
		Error struct {
			Code    int               `json:"code"`
			Message string            `json:"message"`
			Status  string            `json:"status"`
			Details []json.RawMessage `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &b) != nil {
		return Error{}
	}
	e := Error{Code: b.Error.Code, Status: b.Error.Status, Message: b.Error.Message}
	for _, raw := range b.Error.Details {
		var d struct {
			Type            string `json:"@type"`
			ErrorCode       string `json:"errorCode"`
			FieldViolations []struct {
				Field string `json:"field"`
			} `json:"fieldViolations"`
		}
		if json.Unmarshal(raw, &d) != nil {
			continue
		}
		switch d.Type {
		case "type.googleapis.com/google.firebase.fcm.v1.FcmError":
			e.ErrorCode = d.ErrorCode
		case "type.googleapis.com/google.rpc.BadRequest":
			for _, v := range d.FieldViolations {
				e.Fields = append(e.Fields, v.Field)
			}
		}
	}
	return e
}
