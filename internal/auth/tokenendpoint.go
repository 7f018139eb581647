package auth

import (
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
)

// GrantTypeJWTBearer is the grant_type of RFC 7523 §2.1.
const GrantTypeJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// maxTokenRequest bounds the token endpoint's request body.
const maxTokenRequest = 64 << 10

// OAuth error codes of RFC 6749 §5.2, and server_error for our own faults.
const (
	errInvalidRequest       = "invalid_request"
	errUnsupportedGrantType = "unsupported_grant_type"
	errInvalidGrant         = "invalid_grant"
	errInvalidScope         = "invalid_scope"
	errServerError          = "server_error"
)

// TokenResponse is the token endpoint's success body (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"` // seconds
	TokenType   string `json:"token_type"` // "Bearer"
}

// ErrorResponse is the token endpoint's error body (RFC 6749 §5.2).
type ErrorResponse struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// ServeHTTP is the token endpoint, mounted at /token: a POST with the form
// grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>.
// It answers 200 with a TokenResponse, or an ErrorResponse: 400
// invalid_request, unsupported_grant_type, invalid_grant or invalid_scope;
// 405 for another method; 500 server_error when the store fails.
func (a *Authority) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, ErrorResponse{errInvalidRequest, "the token endpoint accepts POST only"})
		return
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/x-www-form-urlencoded" {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{errInvalidRequest, "send the request as Content-Type: application/x-www-form-urlencoded"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequest)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{errInvalidRequest, "the request body is not a valid form of at most 64 KiB"})
		return
	}
	form := r.PostForm
	for _, name := range []string{"grant_type", "assertion"} {
		switch n := len(form[name]); {
		case n == 0 || form.Get(name) == "":
			writeJSON(w, http.StatusBadRequest, ErrorResponse{errInvalidRequest, "missing parameter " + name + " in the request body"})
			return
		case n > 1:
			writeJSON(w, http.StatusBadRequest, ErrorResponse{errInvalidRequest, "parameter " + name + " is repeated; send it once"})
			return
		}
		if name == "grant_type" && form.Get(name) != GrantTypeJWTBearer {
			writeJSON(w, http.StatusBadRequest, ErrorResponse{errUnsupportedGrantType, "grant_type must be " + GrantTypeJWTBearer + " (RFC 7523), with a JWT signed by a service-account key as assertion"})
			return
		}
	}
	token, expiresIn, err := a.Exchange(r.Context(), form.Get("assertion"))
	if err != nil {
		a.writeGrantError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, TokenResponse{AccessToken: token, ExpiresIn: int64(expiresIn.Seconds()), TokenType: "Bearer"})
}

// writeGrantError answers a failed Exchange, and logs it without the
// assertion.
func (a *Authority) writeGrantError(w http.ResponseWriter, r *http.Request, err error) {
	code := errInvalidGrant
	switch {
	case errors.Is(err, ErrInvalidScope):
		code = errInvalidScope
	case errors.Is(err, ErrInvalidToken), errors.Is(err, ErrExpired), errors.Is(err, ErrRevoked):
	default:
		a.log.ErrorContext(r.Context(), "token exchange failed", slog.Any("err", err))
		writeJSON(w, http.StatusInternalServerError, ErrorResponse{errServerError, "the server could not check the assertion; retry later"})
		return
	}
	a.log.InfoContext(r.Context(), "token exchange refused", slog.String("error", code), slog.String("reason", err.Error()), slog.String("remote", r.RemoteAddr))
	writeJSON(w, http.StatusBadRequest, ErrorResponse{code, err.Error()})
}

// writeJSON writes a token endpoint answer; none may be cached (RFC 6749
// §5.1).
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}
