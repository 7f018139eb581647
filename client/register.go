package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/heraldpush/herald"
)

// maxAnswerBody bounds a registration answer.
const maxAnswerBody = 64 << 10

// Register returns the token of appKey, registering the app with the server
// if this device holds no token for it yet. It is idempotent: once
// registered, it returns the stored token without a network call.
//
// The first registration of a device also creates the device credential
// that the connection uses. Registering another app while Run is connected
// needs no reconnection: the server adds the new token to the live session.
func (c *Client) Register(ctx context.Context, appKey string) (string, error) {
	if appKey == "" {
		return "", errors.New("client: register: empty app key")
	}
	if tok, ok := c.Token(appKey); ok {
		return tok, nil
	}
	c.regMu.Lock()
	defer c.regMu.Unlock()
	tok, _, err := c.registerLocked(ctx, appKey)
	if err != nil {
		return "", fmt.Errorf("client: register: %w", err)
	}
	return tok, nil
}

// registerLocked registers appKey unless it already has a token, stores and
// saves the result. fresh reports a new token. The caller holds regMu.
func (c *Client) registerLocked(ctx context.Context, appKey string) (token string, fresh bool, err error) {
	if tok, ok := c.Token(appKey); ok {
		return tok, false, nil
	}
	c.mu.Lock()
	dev := c.st.Device
	c.mu.Unlock()

	ans, err := c.postRegister(ctx, appKey, dev)
	var apiErr *APIError
	if dev != nil && errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized {
		// The server does not know this device: every token is gone with it.
		c.log.Warn("herald: device credential refused; registering a new device", "device", dev.ID)
		c.mu.Lock()
		c.st.forgetDevice()
		c.mu.Unlock()
		ans, err = c.postRegister(ctx, appKey, nil)
	}
	if err != nil {
		return "", false, err
	}
	if ans.Token == "" {
		return "", false, errors.New("server answered without a token")
	}
	c.mu.Lock()
	if ans.Device != nil {
		if c.st.Device != nil && c.st.Device.ID != ans.Device.ID {
			// A new device: the tokens of the old one belong to nobody now.
			c.st.forgetDevice()
		}
		c.st.Device = ans.Device
	}
	if c.st.Device == nil {
		c.mu.Unlock()
		return "", false, errors.New("server created no device credential")
	}
	c.st.put(appKey, &registration{Token: ans.Token, ProjectID: ans.ProjectID})
	c.mu.Unlock()
	c.signalChanged()
	if err := c.save(); err != nil {
		return "", false, err
	}
	return ans.Token, true, nil
}

// postRegister calls POST /device/v1/registrations.
func (c *Client) postRegister(ctx context.Context, appKey string, dev *herald.DeviceCredential) (herald.RegisterResponse, error) {
	req, err := c.newRequest(ctx, http.MethodPost, herald.PathRegister, dev)
	if err != nil {
		return herald.RegisterResponse{}, err
	}
	req.Header.Set(herald.AppKeyHeader, appKey)
	var ans herald.RegisterResponse
	return ans, c.do(req, &ans)
}

// RefreshToken replaces the token of appKey by a new one and returns it. The
// old token stops being the app's: during the server's refresh grace period
// (default 1 h) messages sent to it arrive as messages of the new token,
// afterwards sends to it answer UNREGISTERED. The new token starts its own
// sequence, so its dedupe mark starts at zero.
func (c *Client) RefreshToken(ctx context.Context, appKey string) (string, error) {
	c.regMu.Lock()
	defer c.regMu.Unlock()
	c.mu.Lock()
	r, dev := c.st.Registrations[appKey], c.st.Device
	var old string
	if r != nil {
		old = r.Token
	}
	c.mu.Unlock()
	if old == "" || dev == nil {
		return "", fmt.Errorf("client: refresh %q: %w", appKey, ErrNotRegistered)
	}
	req, err := c.newRequest(ctx, http.MethodPost, herald.PathRegistration+"/"+url.PathEscape(old)+":refresh", dev)
	if err != nil {
		return "", fmt.Errorf("client: refresh: %w", err)
	}
	var ans herald.RegisterResponse
	if err := c.do(req, &ans); err != nil {
		return "", fmt.Errorf("client: refresh: %w", err)
	}
	if ans.Token == "" {
		return "", errors.New("client: refresh: server answered without a token")
	}
	c.mu.Lock()
	if r := c.st.Registrations[appKey]; r != nil && r.Token == old {
		c.st.setToken(appKey, ans.Token)
		if ans.ProjectID != "" {
			r.ProjectID = ans.ProjectID
		}
	}
	c.mu.Unlock()
	if err := c.save(); err != nil {
		return "", fmt.Errorf("client: refresh: %w", err)
	}
	return ans.Token, nil
}

// DeleteToken deletes the registration of appKey on the server and forgets
// it: no more messages for that app, and Run will not register it again.
// Deleting an app key that is not registered does nothing. A token the
// server no longer knows (404) counts as deleted.
func (c *Client) DeleteToken(ctx context.Context, appKey string) error {
	c.regMu.Lock()
	defer c.regMu.Unlock()
	c.mu.Lock()
	r, dev := c.st.Registrations[appKey], c.st.Device
	var tok string
	if r != nil {
		tok = r.Token
	}
	c.mu.Unlock()
	if r == nil {
		return nil
	}
	if tok != "" && dev != nil {
		req, err := c.newRequest(ctx, http.MethodDelete, herald.PathRegistration+"/"+url.PathEscape(tok), dev)
		if err != nil {
			return fmt.Errorf("client: delete token: %w", err)
		}
		err = c.do(req, nil)
		var apiErr *APIError
		if err != nil && !(errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound) {
			return fmt.Errorf("client: delete token: %w", err)
		}
	}
	c.mu.Lock()
	c.st.remove(appKey)
	c.mu.Unlock()
	if err := c.save(); err != nil {
		return fmt.Errorf("client: delete token: %w", err)
	}
	return nil
}

// newRequest builds a device API request, with the device credential when
// dev is set.
func (c *Client) newRequest(ctx context.Context, method, path string, dev *herald.DeviceCredential) (*http.Request, error) {
	var body io.Reader
	if method == http.MethodPost {
		body = bytes.NewReader([]byte("{}"))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.httpURL+path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if dev != nil {
		req.Header.Set("Authorization", herald.DeviceAuthScheme+" "+dev.ID+":"+dev.Secret)
	}
	return req, nil
}

// do sends req and decodes a 2xx JSON answer into out (if not nil); other
// answers become an *APIError.
func (c *Client) do(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return readAPIError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerBody))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswerBody)).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s answer: %w", req.Method, req.URL.Path, err)
	}
	return nil
}
