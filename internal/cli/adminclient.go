package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// apiClient calls a Herald server's HTTP APIs (docs/api.md) with one bearer
// credential: the admin token, or an OAuth2 access token for sends.
type apiClient struct {
	base   string // server URL without a trailing slash
	bearer string
	http   *http.Client
}

// Project is a project as the admin API returns it.
type Project struct {
	ID        string `json:"id"`
	CreatedAt string `json:"created_at"`
}

// App is an app as the admin API returns it.
type App struct {
	Key       string `json:"key"`
	ProjectID string `json:"project_id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
}

// Key is a service-account key as the admin API returns it.
type Key struct {
	ID          string `json:"id"`
	ClientEmail string `json:"client_email"`
	CreatedAt   string `json:"created_at"`
	Revoked     bool   `json:"revoked"`
}

// NewKey answers a key creation: the key and its service-account JSON,
// kept verbatim because it holds the only copy of the private key.
type NewKey struct {
	Key            Key             `json:"key"`
	ServiceAccount json.RawMessage `json:"service_account"`
}

func (c *apiClient) createProject(ctx context.Context, id string) (Project, []byte, error) {
	var p Project
	raw, err := c.do(ctx, http.MethodPost, "/admin/v1/projects", map[string]string{"id": id}, &p)
	return p, raw, err
}

func (c *apiClient) listProjects(ctx context.Context) ([]Project, []byte, error) {
	var out struct {
		Projects []Project `json:"projects"`
	}
	raw, err := c.do(ctx, http.MethodGet, "/admin/v1/projects", nil, &out)
	return out.Projects, raw, err
}

func (c *apiClient) createApp(ctx context.Context, project, name string) (App, []byte, error) {
	body := map[string]string{}
	if name != "" {
		body["name"] = name
	}
	var a App
	raw, err := c.do(ctx, http.MethodPost, "/admin/v1/projects/"+url.PathEscape(project)+"/apps", body, &a)
	return a, raw, err
}

func (c *apiClient) listApps(ctx context.Context, project string) ([]App, []byte, error) {
	var out struct {
		Apps []App `json:"apps"`
	}
	raw, err := c.do(ctx, http.MethodGet, "/admin/v1/projects/"+url.PathEscape(project)+"/apps", nil, &out)
	return out.Apps, raw, err
}

func (c *apiClient) createKey(ctx context.Context, project string) (NewKey, []byte, error) {
	var k NewKey
	raw, err := c.do(ctx, http.MethodPost, "/admin/v1/projects/"+url.PathEscape(project)+"/keys", struct{}{}, &k)
	if err == nil && (k.Key.ID == "" || len(k.ServiceAccount) == 0) {
		err = errors.New("the server's answer has no key id or no service_account")
	}
	return k, raw, err
}

func (c *apiClient) listKeys(ctx context.Context, project string) ([]Key, []byte, error) {
	var out struct {
		Keys []Key `json:"keys"`
	}
	raw, err := c.do(ctx, http.MethodGet, "/admin/v1/projects/"+url.PathEscape(project)+"/keys", nil, &out)
	return out.Keys, raw, err
}

func (c *apiClient) revokeKey(ctx context.Context, project, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/admin/v1/projects/"+url.PathEscape(project)+"/keys/"+url.PathEscape(id), nil, nil)
	return err
}

// sendMessage posts an FCM v1 SendMessageRequest and returns the message
// name.
func (c *apiClient) sendMessage(ctx context.Context, project string, req any) (string, []byte, error) {
	var out struct {
		Name string `json:"name"`
	}
	raw, err := c.do(ctx, http.MethodPost, "/v1/projects/"+url.PathEscape(project)+"/messages:send", req, &out)
	if err == nil && out.Name == "" {
		err = errors.New("the server's answer has no message name")
	}
	return out.Name, raw, err
}

// maxAnswer bounds what is read of an answer.
const maxAnswer = 4 << 20

// do sends a request with a JSON body (when in is not nil), decodes a 2xx
// answer into out (when not nil) and returns the raw answer. Non-2xx
// answers become *APIError; transport failures say whether a server runs.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("build request for %s: %w", c.base, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, withHint(fmt.Errorf("cannot reach the server at %s: %w", c.base, err),
			"is `herald serve` running at %s? Point to it with --server or HERALD_SERVER.", c.base)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("read the answer of %s %s: %w", method, c.base+path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return raw, parseAPIError(resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return raw, fmt.Errorf("%s %s answered %d with unexpected JSON: %w", method, c.base+path, resp.StatusCode, err)
		}
	}
	return raw, nil
}

// APIError is an error answer of a Herald API: a google.rpc.Status, with
// FCM's errorCode on the send API.
type APIError struct {
	HTTPStatus int
	// Status is the google.rpc.Status code name, e.g. "NOT_FOUND".
	Status string
	// ErrorCode is FCM's errorCode detail, e.g. "UNREGISTERED"; "" when absent.
	ErrorCode string
	Message   string
}

// Error reads "STATUS: message", or "STATUS (ERRORCODE): message" when the
// answer carries an FCM error code that differs from the status.
func (e *APIError) Error() string {
	s := e.Status
	if e.ErrorCode != "" && e.ErrorCode != e.Status {
		s += " (" + e.ErrorCode + ")"
	}
	if e.Message == "" {
		return s
	}
	return s + ": " + e.Message
}

// parseAPIError decodes a google.rpc.Status envelope; an answer that is not
// one (a proxy's page, say) keeps the HTTP status and the start of the body.
func parseAPIError(code int, raw []byte) *APIError {
	e := &APIError{HTTPStatus: code}
	var env struct {
		Error struct {
			Message string `json:"message"`
			Status  string `json:"status"`
			Details []struct {
				Type      string `json:"@type"`
				ErrorCode string `json:"errorCode"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &env) == nil && env.Error.Status != "" {
		e.Status = env.Error.Status
		e.Message = env.Error.Message
		for _, d := range env.Error.Details {
			if strings.HasSuffix(d.Type, "google.firebase.fcm.v1.FcmError") {
				e.ErrorCode = d.ErrorCode
			}
		}
		return e
	}
	e.Status = fmt.Sprintf("HTTP %d", code)
	msg := strings.TrimSpace(string(raw))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	e.Message = msg
	if e.Message == "" {
		e.Message = http.StatusText(code)
	}
	return e
}
