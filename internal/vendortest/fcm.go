package vendortest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/auth"
	"github.com/heraldpush/herald/internal/fcm"
	"github.com/heraldpush/herald/internal/store"
)

// maxFCMRequest bounds a send request body.
const maxFCMRequest = 64 << 10

// FCM is a local FCM HTTP v1 API with Google's OAuth2 token endpoint: it
// issues service accounts (ServiceAccount), exchanges their RFC 7523
// assertions at /token, and accepts POST /v1/projects/{p}/messages:send
// with an access token of project p, validating the message with Herald's
// FCM decoder (the same rules as Google's) and answering FCM's error JSON
// (google.rpc.Status with an FcmError detail). The send API is under
// URL/v1 (a relay's base URL is URL), the token endpoint is URL/token.
type FCM struct {
	server

	authority *auth.Authority

	mu     sync.Mutex
	keys   map[string]store.Key
	tokens map[string]*fcmToken
	rec    recorder[FCMMessage]
}

type fcmToken struct {
	project      string
	unregistered bool
}

// FCMMessage is a message the server accepted.
type FCMMessage struct {
	// Project is the project in the path.
	Project string
	// Message is the message as decoded; Body is the request body as sent.
	Message fcm.Message
	Body    []byte
	// Header holds the request headers.
	Header http.Header
}

// NewFCM starts an FCM server for the test.
func NewFCM(t testing.TB, opts ...Option) *FCM {
	t.Helper()
	f := &FCM{server: server{cfg: newConfig(opts)}, keys: map[string]store.Key{}, tokens: map[string]*fcmToken{}}
	secret := make([]byte, 32)
	rand.Read(secret)
	a, err := auth.NewAuthority(secret, fcmKeys{f}, f.cfg.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.authority = a
	f.start(t, f)
	return f
}

// fcmKeys is the server's key lookup for the Authority.
type fcmKeys struct{ f *FCM }

func (k fcmKeys) Key(_ context.Context, id string) (store.Key, error) {
	k.f.mu.Lock()
	defer k.f.mu.Unlock()
	key, ok := k.f.keys[id]
	if !ok {
		return store.Key{}, fmt.Errorf("service-account key %s: %w", id, store.ErrNotFound)
	}
	return key, nil
}

// ServiceAccount issues a service account of the Firebase project
// projectID and returns its JSON file, whose token_uri is this server's
// token endpoint.
func (f *FCM) ServiceAccount(t testing.TB, projectID string) []byte {
	t.Helper()
	key, js, err := auth.NewServiceAccount(projectID, f.URL+auth.TokenPath, f.cfg.now())
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.keys[key.ID] = key
	f.mu.Unlock()
	return js
}

// Credentials is ServiceAccount as a project stores it.
func (f *FCM) Credentials(t testing.TB, projectID string) store.FCMCredentials {
	t.Helper()
	return store.FCMCredentials{ServiceAccountJSON: f.ServiceAccount(t, projectID)}
}

// RevokeServiceAccount revokes the key of a service-account file: its
// assertions and the access tokens already issued for it are refused.
func (f *FCM) RevokeServiceAccount(t testing.TB, serviceAccountJSON []byte) {
	t.Helper()
	var sa auth.ServiceAccount
	if err := json.Unmarshal(serviceAccountJSON, &sa); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[sa.PrivateKeyID]
	if !ok {
		t.Fatalf("no key %s", sa.PrivateKeyID)
	}
	k.Revoked = true
	f.keys[sa.PrivateKeyID] = k
}

// NewToken creates a registration token of an app of projectID.
func (f *FCM) NewToken(projectID string) store.FCMDevice {
	b := make([]byte, 48)
	rand.Read(b)
	tok := "fk" + hex.EncodeToString(b[:8]) + ":APA91b" + hex.EncodeToString(b[8:])
	f.mu.Lock()
	f.tokens[tok] = &fcmToken{project: projectID}
	f.mu.Unlock()
	return store.FCMDevice{Token: tok}
}

// Unregister makes a token stale (app uninstalled): sends to it get 404
// UNREGISTERED.
func (f *FCM) Unregister(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if tk := f.tokens[token]; tk != nil {
		tk.unregistered = true
	}
}

// Received returns the messages accepted so far, oldest first.
func (f *FCM) Received() []FCMMessage { return f.rec.all() }

// WaitReceived waits until the server has accepted at least n messages
// in all, and returns them all, oldest first; or ctx's error.
func (f *FCM) WaitReceived(ctx context.Context, n int) ([]FCMMessage, error) {
	return f.rec.wait(ctx, n)
}

// fcmFault is the FCM error that a FailNext status is answered with.
func fcmFault(status int, after time.Duration) *fcm.Error {
	switch status {
	case http.StatusTooManyRequests:
		return fcm.QuotaExceeded(after)
	case http.StatusServiceUnavailable:
		return fcm.Unavailable(after)
	case http.StatusInternalServerError:
		e := fcm.Internal()
		e.RetryAfter = after
		return e
	case http.StatusUnauthorized:
		return fcm.ThirdPartyAuthError("")
	}
	return &fcm.Error{HTTPStatus: status, Status: "UNKNOWN", Message: http.StatusText(status), RetryAfter: after}
}

// ServeHTTP routes /token and /v1/projects/{p}/messages:send.
func (f *FCM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if status, after := f.intercept(r); status != 0 {
		if status > 0 {
			fcm.WriteError(w, fcmFault(status, after))
		}
		return
	}
	if r.URL.Path == auth.TokenPath {
		f.authority.ServeHTTP(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/projects/")
	project, ok2 := strings.CutSuffix(rest, "/messages:send")
	if !ok || !ok2 || project == "" || strings.Contains(project, "/") {
		fcm.WriteError(w, fcm.NotFound(""))
		return
	}
	if r.Method != http.MethodPost {
		fcm.WriteError(w, &fcm.Error{HTTPStatus: http.StatusMethodNotAllowed, Status: "UNIMPLEMENTED", Message: "send accepts POST only"})
		return
	}
	bearer, ok := auth.BearerToken(r)
	if !ok {
		fcm.WriteError(w, fcm.Unauthenticated(""))
		return
	}
	who, err := f.authority.Verify(r.Context(), bearer)
	if err != nil {
		fcm.WriteError(w, fcm.Unauthenticated(""))
		return
	}
	if who.ProjectID != project {
		fcm.WriteError(w, fcm.PermissionDenied(fmt.Sprintf("Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/%s'", project)))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFCMRequest+1))
	if err != nil {
		return
	}
	if len(body) > maxFCMRequest {
		fcm.WriteError(w, fcm.InvalidArgument("", "Request payload size exceeds the limit: %d bytes.", maxFCMRequest))
		return
	}
	req, err := fcm.DecodeSendRequest(body)
	if err != nil {
		if e, ok := err.(*fcm.Error); ok {
			fcm.WriteError(w, e)
			return
		}
		fcm.WriteError(w, fcm.InvalidArgument("", "%v", err))
		return
	}
	m := req.Message
	if m.Token == "" {
		fcm.WriteError(w, fcm.InvalidArgument("message", "vendortest: only token targets are served."))
		return
	}
	f.mu.Lock()
	tk := f.tokens[m.Token]
	var e *fcm.Error
	switch {
	case tk == nil:
		e = fcm.InvalidArgument("message.token", "The registration token is not a valid FCM registration token")
	case tk.project != project:
		e = fcm.SenderIDMismatch()
	case tk.unregistered:
		e = fcm.Unregistered()
	}
	if e != nil {
		f.mu.Unlock()
		fcm.WriteError(w, e)
		return
	}
	id := make([]byte, 8)
	rand.Read(id)
	name := "projects/" + project + "/messages/0:" + hex.EncodeToString(id)
	if req.ValidateOnly {
		name = "projects/" + project + "/messages/fake_message_id"
	} else {
		f.rec.add(FCMMessage{Project: project, Message: m, Body: body, Header: r.Header.Clone()})
	}
	f.mu.Unlock()
	b, _ := json.Marshal(map[string]string{"name": name})
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(b) // the client went away
}
