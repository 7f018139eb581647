package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/heraldpush/herald"
)

// ErrNotRegistered is returned for an app key this client holds no token
// for.
var ErrNotRegistered = errors.New("app key not registered")

// ErrReplaced is returned by Run when the server closed the connection
// because the same device connected again from elsewhere (close code
// herald.CloseReplaced): two processes share one StateDir. Run does not
// reconnect, or the two would take the connection from each other forever.
var ErrReplaced = errors.New("connection replaced by another connection of the same device")

// APIError is an error answer of the device HTTP API: the HTTP status and the
// google.rpc.Status body ({"error":{"code","message","status"}}).
//
// Test for one with errors.As:
//
//	var apiErr *client.APIError
//	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden { … }
type APIError struct {
	StatusCode int    // HTTP status, e.g. 403
	Status     string // canonical code name, e.g. "PERMISSION_DENIED"; "" if the body had none
	Message    string // the server's explanation
}

func (e *APIError) Error() string {
	status := e.Status
	if status == "" {
		status = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("herald: %d %s: %s", e.StatusCode, status, e.Message)
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 16 << 10

// readAPIError turns a non-2xx answer into an *APIError.
func readAPIError(resp *http.Response) *APIError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{StatusCode: resp.StatusCode}
	var body herald.ErrorResponse
	if err := json.Unmarshal(b, &body); err == nil && (body.Error.Status != "" || body.Error.Message != "") {
		e.Status = body.Error.Status
		e.Message = body.Error.Message
		return e
	}
	msg := strings.TrimSpace(string(b))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	e.Message = msg
	return e
}
