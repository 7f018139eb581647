package client

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/webpush"
)

// WebPushSubscription is what an application server needs to send Web
// Push messages to an app through Herald: the shape of a browser's
// PushSubscription.toJSON(), which every Web Push library takes.
type WebPushSubscription struct {
	// Endpoint is the push endpoint URL, <server>/push/<id>. Whoever knows
	// it can send to the app: give it only to the app's own server.
	Endpoint string      `json:"endpoint"`
	Keys     WebPushKeys `json:"keys"`
}

// WebPushKeys are the subscription's public keys, unpadded base64url.
type WebPushKeys struct {
	// P256DH is the device's ECDH public key (a 65-byte P-256 point).
	P256DH string `json:"p256dh"`
	// Auth is the 16-byte authentication secret.
	Auth string `json:"auth"`
}

// webPushKeys is a subscription's private half, kept in the state file
// under its registration (state.json is written atomically, mode 0600).
type webPushKeys struct {
	Endpoint string `json:"endpoint"`
	Private  string `json:"private"` // the P-256 private scalar, base64url
	Auth     string `json:"auth"`    // base64url
	// Token is the token the endpoint delivers to (a refresh gives the
	// registration another; the endpoint then lasts the grace period).
	Token string `json:"token,omitempty"`
	// AppServerKey is the VAPID key the endpoint is restricted to.
	AppServerKey string    `json:"app_server_key,omitempty"`
	CreatedAt    time.Time `json:"created_at,omitzero"`
}

// subscription returns the public subscription of k.
func (k *webPushKeys) subscription() (WebPushSubscription, error) {
	scalar, err := base64.RawURLEncoding.DecodeString(k.Private)
	if err != nil {
		return WebPushSubscription{}, err
	}
	priv, err := ecdh.P256().NewPrivateKey(scalar)
	if err != nil {
		return WebPushSubscription{}, err
	}
	return WebPushSubscription{Endpoint: k.Endpoint, Keys: WebPushKeys{
		P256DH: base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()),
		Auth:   k.Auth,
	}}, nil
}

// SavedWebPushSubscription returns the newest subscription that
// WebPushSubscribe made for the current token of appKey with the same
// applicationServerKey, kept in StateDir: a program that restarts can
// keep giving out the same endpoint instead of making a new one.
func (c *Client) SavedWebPushSubscription(appKey, applicationServerKey string) (WebPushSubscription, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.st.Registrations[appKey]
	if r == nil || r.Token == "" {
		return WebPushSubscription{}, false
	}
	var newest *webPushKeys
	for _, k := range r.WebPush {
		if k.Token == r.Token && k.AppServerKey == applicationServerKey &&
			(newest == nil || k.CreatedAt.After(newest.CreatedAt) || k.CreatedAt.Equal(newest.CreatedAt) && k.Endpoint > newest.Endpoint) {
			newest = k
		}
	}
	if newest == nil {
		return WebPushSubscription{}, false
	}
	sub, err := newest.subscription()
	if err != nil {
		c.log.Warn("herald: a saved Web Push key does not parse", "err", err)
		return WebPushSubscription{}, false
	}
	return sub, true
}

// WebPushSubscribe creates a Web Push subscription for the registration
// of appKey: it draws a P-256 key pair and an authentication secret,
// asks the server for a push endpoint, keeps the private key and the
// secret in the state (StateDir) before returning, and returns the
// subscription to hand to an application server.
//
// applicationServerKey, if not empty, is the application server's VAPID
// public key (base64url, as browsers take it): the endpoint then accepts
// only pushes signed with it (RFC 8292 §4).
//
// Messages posted to the endpoint arrive as messages of the app's token
// with Message.WebPush set; the SDK decrypts them (RFC 8291) and the
// callback gets the plaintext in Message.Raw. Each call creates a new
// endpoint with new keys; earlier ones keep working
// (SavedWebPushSubscription finds the newest again after a restart). Endpoints live as
// long as the token: after a refresh (once the server's grace period is
// over) or a new registration, subscribe again.
func (c *Client) WebPushSubscribe(ctx context.Context, appKey, applicationServerKey string) (WebPushSubscription, error) {
	sub, err := c.webPushSubscribe(ctx, appKey, applicationServerKey)
	if err != nil {
		return WebPushSubscription{}, fmt.Errorf("client: web push subscribe: %w", err)
	}
	return sub, nil
}

func (c *Client) webPushSubscribe(ctx context.Context, appKey, applicationServerKey string) (WebPushSubscription, error) {
	tok, dev, err := c.credentials(appKey)
	if err != nil {
		return WebPushSubscription{}, err
	}
	priv, keys, err := webpush.GenerateKeys()
	if err != nil {
		return WebPushSubscription{}, err
	}
	body, err := json.Marshal(herald.WebPushRequest{ApplicationServerKey: applicationServerKey})
	if err != nil {
		return WebPushSubscription{}, err
	}
	req, err := c.newRequest(ctx, http.MethodPost, herald.PathRegistration+"/"+url.PathEscape(tok)+herald.PathWebPush, dev)
	if err != nil {
		return WebPushSubscription{}, err
	}
	// newRequest's POST body is {}; this call has one.
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	var ans herald.WebPushResponse
	if err := c.do(req, &ans); err != nil {
		return WebPushSubscription{}, err
	}
	id, err := endpointID(ans.Endpoint)
	if err != nil {
		return WebPushSubscription{}, err
	}
	c.mu.Lock()
	if r := c.st.Registrations[appKey]; r != nil && r.Token == tok {
		if r.WebPush == nil {
			r.WebPush = make(map[string]*webPushKeys)
		}
		r.WebPush[id] = &webPushKeys{
			Endpoint: ans.Endpoint,
			Private:  base64.RawURLEncoding.EncodeToString(priv.Bytes()),
			Auth:     base64.RawURLEncoding.EncodeToString(keys.Auth),

			Token:        tok,
			AppServerKey: applicationServerKey,
			CreatedAt:    time.Now(),
		}
		tok = ""
	}
	c.mu.Unlock()
	if tok != "" {
		return WebPushSubscription{}, errors.New("the app's token changed meanwhile; subscribe again")
	}
	if err := c.save(); err != nil {
		return WebPushSubscription{}, err
	}
	return WebPushSubscription{Endpoint: ans.Endpoint, Keys: WebPushKeys{
		P256DH: base64.RawURLEncoding.EncodeToString(keys.P256DH),
		Auth:   base64.RawURLEncoding.EncodeToString(keys.Auth),
	}}, nil
}

// credentials returns the token of appKey and the device credential, or
// ErrNotRegistered.
func (c *Client) credentials(appKey string) (string, *herald.DeviceCredential, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, dev := c.st.Registrations[appKey], c.st.Device
	if r == nil || r.Token == "" || dev == nil {
		return "", nil, ErrNotRegistered
	}
	return r.Token, dev, nil
}

// endpointID is the last path segment of a push endpoint URL.
func endpointID(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("server answered an invalid endpoint: %w", err)
	}
	_, id, ok := strings.Cut(u.Path, herald.PathPush)
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", fmt.Errorf("server answered the endpoint %q, not …%s<id>", endpoint, herald.PathPush)
	}
	return id, nil
}

// decryptWebPush prepares a message for the app: a Web Push message gets
// its plaintext in Raw. It reports false for a body that does not decrypt
// (no keys for its endpoint, or a failed RFC 8291 decryption): the message
// is dropped, never passed on, and still counts as handled (acked).
func (c *Client) decryptWebPush(r *registration, m *herald.Message) bool {
	if m.WebPush == nil {
		return true
	}
	c.mu.Lock()
	var k webPushKeys
	if p := r.WebPush[m.WebPush.EndpointID]; p != nil {
		k = *p
	}
	c.mu.Unlock()
	raw, err := openWebPush(k, m.WebPush)
	if err != nil {
		c.log.Error("herald: dropped a Web Push message that does not decrypt", "id", m.ID, "token", shortToken(m.Token), "err", err)
		return false
	}
	m.Raw = raw
	return true
}

// openWebPush decrypts the body of a Web Push message with the keys of
// its endpoint (zero if the device has none).
func openWebPush(k webPushKeys, wp *herald.WebPush) ([]byte, error) {
	if k.Private == "" {
		return nil, errors.New("no keys for this push endpoint on this device")
	}
	body, err := base64.RawURLEncoding.DecodeString(wp.Body)
	if err != nil {
		return nil, fmt.Errorf("body is not base64url: %w", err)
	}
	if len(body) == 0 {
		return []byte{}, nil // a push without payload
	}
	scalar, err := base64.RawURLEncoding.DecodeString(k.Private)
	if err != nil {
		return nil, fmt.Errorf("stored private key: %w", err)
	}
	priv, err := ecdh.P256().NewPrivateKey(scalar)
	if err != nil {
		return nil, fmt.Errorf("stored private key: %w", err)
	}
	auth, err := base64.RawURLEncoding.DecodeString(k.Auth)
	if err != nil {
		return nil, fmt.Errorf("stored auth secret: %w", err)
	}
	return webpush.Decrypt(body, priv, auth)
}
