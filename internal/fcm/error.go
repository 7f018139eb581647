package fcm

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// google.rpc.Code names used on the FCM surface.
const (
	StatusInvalidArgument   = "INVALID_ARGUMENT"
	StatusUnauthenticated   = "UNAUTHENTICATED"
	StatusPermissionDenied  = "PERMISSION_DENIED"
	StatusNotFound          = "NOT_FOUND"
	StatusResourceExhausted = "RESOURCE_EXHAUSTED"
	StatusInternal          = "INTERNAL"
	StatusUnavailable       = "UNAVAILABLE"
)

// FcmError error codes (google.firebase.fcm.v1.FcmError.errorCode).
const (
	CodeInvalidArgument     = "INVALID_ARGUMENT"
	CodeUnregistered        = "UNREGISTERED"
	CodeSenderIDMismatch    = "SENDER_ID_MISMATCH"
	CodeQuotaExceeded       = "QUOTA_EXCEEDED"
	CodeUnavailable         = "UNAVAILABLE"
	CodeInternal            = "INTERNAL"
	CodeThirdPartyAuthError = "THIRD_PARTY_AUTH_ERROR"
)

// Type URLs of the error details.
const (
	fcmErrorType   = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
	badRequestType = "type.googleapis.com/google.rpc.BadRequest"
)

// Error is a google.rpc.Status as FCM answers it: an HTTP status, a
// canonical status name, a message, and optionally an FcmError detail
// (ErrorCode) and a google.rpc.BadRequest detail (FieldViolations).
//
// The Firebase Admin SDKs key off ErrorCode first, then Status, then the
// HTTP status, so all three must agree with FCM's.
type Error struct {
	// HTTPStatus is the HTTP status code, also the body's "code".
	HTTPStatus int
	// Status is the google.rpc.Code name, such as "INVALID_ARGUMENT".
	Status string
	// ErrorCode is the FcmError errorCode; "" leaves the detail out.
	ErrorCode string
	// Message is the human-readable message.
	Message string
	// RetryAfter, when positive, is sent as a Retry-After header in whole
	// seconds, rounded up.
	RetryAfter time.Duration
	// FieldViolations, when any, are sent as a google.rpc.BadRequest detail.
	FieldViolations []FieldViolation
}

// FieldViolation names a bad request field, such as "message.android.ttl".
type FieldViolation struct {
	Field       string
	Description string
}

// Error returns the status, the FCM error code when set, and the message.
func (e *Error) Error() string {
	if e.ErrorCode != "" && e.ErrorCode != e.Status {
		return fmt.Sprintf("fcm: %d %s (%s): %s", e.HTTPStatus, e.Status, e.ErrorCode, e.Message)
	}
	return fmt.Sprintf("fcm: %d %s: %s", e.HTTPStatus, e.Status, e.Message)
}

// MarshalJSON returns the error body: {"error":{"code","message","status","details"}}.
// Details come in a fixed order: FcmError, then BadRequest; "details" is
// left out when there are none, as Google does.
func (e *Error) MarshalJSON() ([]byte, error) {
	return e.appendJSON(make([]byte, 0, 256)), nil
}

func (e *Error) appendJSON(b []byte) []byte {
	b = append(b, `{"error":{"code":`...)
	b = strconv.AppendInt(b, int64(e.HTTPStatus), 10)
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	b = append(b, `,"status":`...)
	b = appendString(b, e.Status)
	if e.ErrorCode != "" || len(e.FieldViolations) > 0 {
		b = append(b, `,"details":[`...)
		if e.ErrorCode != "" {
			b = append(b, `{"@type":"`+fcmErrorType+`","errorCode":`...)
			b = appendString(b, e.ErrorCode)
			b = append(b, '}')
			if len(e.FieldViolations) > 0 {
				b = append(b, ',')
			}
		}
		if len(e.FieldViolations) > 0 {
			b = append(b, `{"@type":"`+badRequestType+`","fieldViolations":[`...)
			for i, v := range e.FieldViolations {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"field":`...)
				b = appendString(b, v.Field)
				b = append(b, `,"description":`...)
				b = appendString(b, v.Description)
				b = append(b, '}')
			}
			b = append(b, "]}"...)
		}
		b = append(b, ']')
	}
	return append(b, "}}"...)
}

// WriteError writes e as FCM does: its HTTP status, a JSON body,
// Content-Type "application/json; charset=UTF-8", Retry-After when
// e.RetryAfter is positive, and a WWW-Authenticate challenge on 401.
func WriteError(w http.ResponseWriter, e *Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.RetryAfter > 0 {
		secs := (e.RetryAfter + time.Second - 1) / time.Second
		h.Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	if e.HTTPStatus == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="herald"`)
	}
	body := e.appendJSON(make([]byte, 0, 256))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.HTTPStatus)
	_, _ = w.Write(body) // the client went away; nothing left to tell it
}

// InvalidArgument is 400 INVALID_ARGUMENT with the FcmError code
// INVALID_ARGUMENT and, when field is not empty, a BadRequest detail naming
// it (for example "message.android.ttl").
func InvalidArgument(field, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	e := &Error{
		HTTPStatus: http.StatusBadRequest,
		Status:     StatusInvalidArgument,
		ErrorCode:  CodeInvalidArgument,
		Message:    msg,
	}
	if field != "" {
		e.FieldViolations = []FieldViolation{{Field: field, Description: msg}}
	}
	return e
}

// Unregistered is 404 NOT_FOUND / UNREGISTERED: the token was deleted or
// never existed. Senders delete such tokens.
func Unregistered() *Error {
	return &Error{
		HTTPStatus: http.StatusNotFound,
		Status:     StatusNotFound,
		ErrorCode:  CodeUnregistered,
		Message:    "Requested entity was not found.",
	}
}

// SenderIDMismatch is 403 PERMISSION_DENIED / SENDER_ID_MISMATCH: the token
// belongs to another project than the sender's.
func SenderIDMismatch() *Error {
	return &Error{
		HTTPStatus: http.StatusForbidden,
		Status:     StatusPermissionDenied,
		ErrorCode:  CodeSenderIDMismatch,
		Message:    "SenderId mismatch",
	}
}

// Unauthenticated is 401 UNAUTHENTICATED for a missing, expired or revoked
// access token; msg "" gives Google's standard text.
//
// It carries no FcmError detail, as Google's front end answers a bad OAuth
// token. A THIRD_PARTY_AUTH_ERROR detail would be wrong for the Go SDK:
// messaging.IsThirdPartyAuthError tests only that detail and means "your
// APNs or Web Push credential is broken", so the sender would chase the
// wrong credential, while without it errorutils.IsUnauthenticated holds.
// The Node SDK maps a bare UNAUTHENTICATED status to
// messaging/third-party-auth-error either way. See ThirdPartyAuthError for
// provider credential failures.
func Unauthenticated(msg string) *Error {
	if msg == "" {
		msg = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."
	}
	return &Error{
		HTTPStatus: http.StatusUnauthorized,
		Status:     StatusUnauthenticated,
		Message:    msg,
	}
}

// ThirdPartyAuthError is 401 UNAUTHENTICATED / THIRD_PARTY_AUTH_ERROR: the
// project's APNs or Web Push credential is missing or was refused.
func ThirdPartyAuthError(msg string) *Error {
	if msg == "" {
		msg = "Auth error from APNS or Web Push Service"
	}
	return &Error{
		HTTPStatus: http.StatusUnauthorized,
		Status:     StatusUnauthenticated,
		ErrorCode:  CodeThirdPartyAuthError,
		Message:    msg,
	}
}

// PermissionDenied is 403 PERMISSION_DENIED without an FcmError detail: a
// valid credential for another project; msg "" gives Google's standard text.
func PermissionDenied(msg string) *Error {
	if msg == "" {
		msg = "The caller does not have permission"
	}
	return &Error{
		HTTPStatus: http.StatusForbidden,
		Status:     StatusPermissionDenied,
		Message:    msg,
	}
}

// NotFound is 404 NOT_FOUND without an FcmError detail, for an unknown
// project; msg "" gives Google's standard text.
func NotFound(msg string) *Error {
	if msg == "" {
		msg = "Requested entity was not found."
	}
	return &Error{
		HTTPStatus: http.StatusNotFound,
		Status:     StatusNotFound,
		Message:    msg,
	}
}

// Internal is 500 INTERNAL / INTERNAL. The cause is logged by the caller,
// never sent.
func Internal() *Error {
	return &Error{
		HTTPStatus: http.StatusInternalServerError,
		Status:     StatusInternal,
		ErrorCode:  CodeInternal,
		Message:    "Internal error encountered.",
	}
}

// Unavailable is 503 UNAVAILABLE / UNAVAILABLE: overloaded or shutting down.
// Both SDKs retry 503, honouring Retry-After when retryAfter is positive.
func Unavailable(retryAfter time.Duration) *Error {
	return &Error{
		HTTPStatus: http.StatusServiceUnavailable,
		Status:     StatusUnavailable,
		ErrorCode:  CodeUnavailable,
		Message:    "The service is currently unavailable.",
		RetryAfter: retryAfter,
	}
}

// QuotaExceeded is 429 RESOURCE_EXHAUSTED / QUOTA_EXCEEDED, with Retry-After
// when retryAfter is positive.
func QuotaExceeded(retryAfter time.Duration) *Error {
	return &Error{
		HTTPStatus: http.StatusTooManyRequests,
		Status:     StatusResourceExhausted,
		ErrorCode:  CodeQuotaExceeded,
		Message:    "Quota exceeded for sending messages.",
		RetryAfter: retryAfter,
	}
}
