package fcm

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// errorCases are the error constructors, each with its golden file name.
func errorCases() []struct {
	name string
	err  *Error
} {
	return []struct {
		name string
		err  *Error
	}{
		{"invalid_argument", InvalidArgument("message.data.from", "Invalid data payload key %q.", "from")},
		{"invalid_argument_no_field", InvalidArgument("", "Invalid JSON payload received. Unexpected end of input.")},
		{"unregistered", Unregistered()},
		{"sender_id_mismatch", SenderIDMismatch()},
		{"unauthenticated", Unauthenticated("")},
		{"third_party_auth_error", ThirdPartyAuthError("")},
		{"permission_denied", PermissionDenied("")},
		{"not_found", NotFound("")},
		{"internal", Internal()},
		{"unavailable", Unavailable(30 * time.Second)},
		{"quota_exceeded", QuotaExceeded(time.Minute)},
	}
}

func TestErrorGolden(t *testing.T) {
	for _, tc := range errorCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(tc.err)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON: %s", got)
			}
			path := filepath.Join("testdata", "errors", tc.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
		})
	}
}

// TestErrorShape checks what both Admin SDKs read: code, status and the
// FcmError detail, parsed as they parse it.
func TestErrorShape(t *testing.T) {
	type detail struct {
		Type            string           `json:"@type"`
		ErrorCode       string           `json:"errorCode"`
		FieldViolations []FieldViolation `json:"fieldViolations"`
	}
	type body struct {
		Error struct {
			Code    int      `json:"code"`
			Message string   `json:"message"`
			Status  string   `json:"status"`
			Details []detail `json:"details"`
		} `json:"error"`
	}
	tests := []struct {
		err        *Error
		code       int
		status     string
		errorCode  string
		violations bool
	}{
		{InvalidArgument("message", "x"), 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", true},
		{Unregistered(), 404, "NOT_FOUND", "UNREGISTERED", false},
		{SenderIDMismatch(), 403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", false},
		{Unauthenticated("expired"), 401, "UNAUTHENTICATED", "", false},
		{ThirdPartyAuthError("apns"), 401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR", false},
		{PermissionDenied("other project"), 403, "PERMISSION_DENIED", "", false},
		{NotFound("no project"), 404, "NOT_FOUND", "", false},
		{Internal(), 500, "INTERNAL", "INTERNAL", false},
		{Unavailable(0), 503, "UNAVAILABLE", "UNAVAILABLE", false},
		{QuotaExceeded(0), 429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", false},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.err)
		if err != nil {
			t.Fatal(err)
		}
		var got body
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		errorCode, violations := "", false
		for _, d := range got.Error.Details {
			switch d.Type {
			case "type.googleapis.com/google.firebase.fcm.v1.FcmError":
				errorCode = d.ErrorCode
			case "type.googleapis.com/google.rpc.BadRequest":
				violations = len(d.FieldViolations) > 0
			default:
				t.Errorf("%s: unexpected detail %q", b, d.Type)
			}
		}
		if got.Error.Code != tt.code || got.Error.Status != tt.status || errorCode != tt.errorCode ||
			violations != tt.violations || got.Error.Message != tt.err.Message {
			t.Errorf("%s: got code %d status %s errorCode %q violations %v; want %d %s %q %v",
				b, got.Error.Code, got.Error.Status, errorCode, violations, tt.code, tt.status, tt.errorCode, tt.violations)
		}
	}
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		err    *Error
		header http.Header
	}{{
		err: Unregistered(),
		header: http.Header{
			"Content-Type":           {"application/json; charset=UTF-8"},
			"X-Content-Type-Options": {"nosniff"},
		},
	}, {
		err: Unavailable(1500 * time.Millisecond),
		header: http.Header{
			"Content-Type":           {"application/json; charset=UTF-8"},
			"X-Content-Type-Options": {"nosniff"},
			"Retry-After":            {"2"}, // rounded up
		},
	}, {
		err: QuotaExceeded(time.Minute),
		header: http.Header{
			"Content-Type":           {"application/json; charset=UTF-8"},
			"X-Content-Type-Options": {"nosniff"},
			"Retry-After":            {"60"},
		},
	}, {
		err: Unauthenticated(""),
		header: http.Header{
			"Content-Type":           {"application/json; charset=UTF-8"},
			"X-Content-Type-Options": {"nosniff"},
			"Www-Authenticate":       {`Bearer realm="herald"`},
		},
	}}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		WriteError(rec, tt.err)
		res := rec.Result()
		if res.StatusCode != tt.err.HTTPStatus {
			t.Errorf("%s: status %d, want %d", tt.err.Status, res.StatusCode, tt.err.HTTPStatus)
		}
		want, _ := json.Marshal(tt.err)
		if !bytes.Equal(rec.Body.Bytes(), want) {
			t.Errorf("%s: body %s, want %s", tt.err.Status, rec.Body.Bytes(), want)
		}
		res.Header.Del("Content-Length")
		if diff := cmp.Diff(tt.header, res.Header); diff != "" {
			t.Errorf("%s: headers (-want +got):\n%s", tt.err.Status, diff)
		}
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{Unregistered(), "fcm: 404 NOT_FOUND (UNREGISTERED): Requested entity was not found."},
		{InvalidArgument("message", "bad"), "fcm: 400 INVALID_ARGUMENT: bad"},
		{NotFound("no such project"), "fcm: 404 NOT_FOUND: no such project"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestInvalidArgumentFormat(t *testing.T) {
	if got, want := InvalidArgument("f", "plain").Message, "plain"; got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
	if got, want := InvalidArgument("f", "%d%%", 5).Message, "5%"; got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
}
