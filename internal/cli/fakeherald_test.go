package cli

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHerald is an httptest server that speaks the admin API, the OAuth2
// token endpoint and the FCM send API of docs/api.md, with state in memory.
type fakeHerald struct {
	t          *testing.T
	srv        *httptest.Server
	adminToken string

	mu       sync.Mutex
	projects []Project
	apps     map[string][]App
	keys     map[string][]Key // by project
	pubKeys  map[string]*rsa.PublicKey
	access   map[string]string // access token → project
	devices  map[string]string // registration token → project
	sent     []sentMessage
	nextID   int
	rsaKey   *rsa.PrivateKey // generated once, shared by all keys of the fake
	tokenReq int             // requests to /token
}

// sentMessage is a send the fake accepted.
type sentMessage struct {
	Project string
	Body    map[string]any
}

var projectIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)

func newFakeHerald(t *testing.T) *fakeHerald {
	t.Helper()
	f := &fakeHerald{
		t: t, adminToken: "admin-secret-1",
		apps: map[string][]App{}, keys: map[string][]Key{}, pubKeys: map[string]*rsa.PublicKey{},
		access: map[string]string{}, devices: map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/v1/projects", f.admin(f.createProject))
	mux.HandleFunc("GET /admin/v1/projects", f.admin(f.listProjects))
	mux.HandleFunc("POST /admin/v1/projects/{p}/apps", f.admin(f.withProject(f.createApp)))
	mux.HandleFunc("GET /admin/v1/projects/{p}/apps", f.admin(f.withProject(f.listApps)))
	mux.HandleFunc("POST /admin/v1/projects/{p}/keys", f.admin(f.withProject(f.createKey)))
	mux.HandleFunc("GET /admin/v1/projects/{p}/keys", f.admin(f.withProject(f.listKeys)))
	mux.HandleFunc("DELETE /admin/v1/projects/{p}/keys/{id}", f.admin(f.withProject(f.revokeKey)))
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("POST /v1/projects/{p}/messages:send", f.send)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// addDevice registers a token in project.
func (f *fakeHerald) addDevice(project, token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.devices[token] = project
}

func (f *fakeHerald) addProject(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.projects = append(f.projects, Project{ID: id, CreatedAt: "2026-01-02T03:04:05Z"})
}

func (f *fakeHerald) sentMessages() []sentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentMessage(nil), f.sent...)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// writeStatus writes a google.rpc.Status envelope; fcmCode adds FCM's
// error detail.
func writeStatus(w http.ResponseWriter, code int, status, msg, fcmCode string) {
	e := map[string]any{"code": code, "message": msg, "status": status}
	if fcmCode != "" {
		e["details"] = []any{map[string]any{
			"@type":     "type.googleapis.com/google.firebase.fcm.v1.FcmError",
			"errorCode": fcmCode,
		}}
	}
	writeJSON(w, code, map[string]any{"error": e})
}

func bearer(r *http.Request) string {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return tok
}

func (f *fakeHerald) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if bearer(r) != f.adminToken {
			writeStatus(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", "")
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		h(w, r)
	}
}

// withProject answers 404 for an unknown project. Called with f.mu held.
func (f *fakeHerald) withProject(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, p := range f.projects {
			if p.ID == r.PathValue("p") {
				h(w, r)
				return
			}
		}
		writeStatus(w, 404, "NOT_FOUND", "Project "+r.PathValue("p")+" not found.", "")
	}
}

func decodeStrict(r *http.Request, v any) error {
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	return d.Decode(v)
}

func (f *fakeHerald) createProject(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ID string `json:"id"`
	}
	if err := decodeStrict(r, &in); err != nil || !projectIDPattern.MatchString(in.ID) {
		writeStatus(w, 400, "INVALID_ARGUMENT", "Invalid project id.", "")
		return
	}
	for _, p := range f.projects {
		if p.ID == in.ID {
			writeStatus(w, 409, "ALREADY_EXISTS", "Project "+in.ID+" already exists.", "")
			return
		}
	}
	p := Project{ID: in.ID, CreatedAt: "2026-01-02T03:04:05Z"}
	f.projects = append(f.projects, p)
	writeJSON(w, 200, p)
}

func (f *fakeHerald) listProjects(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"projects": append([]Project{}, f.projects...)})
}

func (f *fakeHerald) createApp(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeStrict(r, &in); err != nil {
		writeStatus(w, 400, "INVALID_ARGUMENT", "Invalid JSON.", "")
		return
	}
	f.nextID++
	a := App{Key: fmt.Sprintf("appkey-%d", f.nextID), ProjectID: r.PathValue("p"), Name: in.Name, CreatedAt: "2026-01-02T03:04:05Z"}
	f.apps[a.ProjectID] = append(f.apps[a.ProjectID], a)
	writeJSON(w, 200, a)
}

func (f *fakeHerald) listApps(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"apps": append([]App{}, f.apps[r.PathValue("p")]...)})
}

func (f *fakeHerald) createKey(w http.ResponseWriter, r *http.Request) {
	var in struct{}
	if err := decodeStrict(r, &in); err != nil {
		writeStatus(w, 400, "INVALID_ARGUMENT", "Invalid JSON.", "")
		return
	}
	if f.rsaKey == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			writeStatus(w, 500, "INTERNAL", err.Error(), "")
			return
		}
		f.rsaKey = k
	}
	der, err := x509.MarshalPKCS8PrivateKey(f.rsaKey)
	if err != nil {
		writeStatus(w, 500, "INTERNAL", err.Error(), "")
		return
	}
	p := r.PathValue("p")
	f.nextID++
	k := Key{
		ID:          fmt.Sprintf("key%04d", f.nextID),
		ClientEmail: fmt.Sprintf("herald-%d@%s.iam.herald", f.nextID, p),
		CreatedAt:   "2026-01-02T03:04:05Z",
	}
	f.keys[p] = append(f.keys[p], k)
	f.pubKeys[k.ID] = &f.rsaKey.PublicKey
	sa := map[string]string{
		"type":           "service_account",
		"project_id":     p,
		"private_key_id": k.ID,
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   k.ClientEmail,
		"client_id":      fmt.Sprint(f.nextID),
		"auth_uri":       f.srv.URL + "/auth",
		"token_uri":      f.srv.URL + "/token",
	}
	writeJSON(w, 200, map[string]any{"key": k, "service_account": sa})
}

func (f *fakeHerald) listKeys(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"keys": append([]Key{}, f.keys[r.PathValue("p")]...)})
}

func (f *fakeHerald) revokeKey(w http.ResponseWriter, r *http.Request) {
	ks := f.keys[r.PathValue("p")]
	for i := range ks {
		if ks[i].ID == r.PathValue("id") {
			ks[i].Revoked = true
			writeJSON(w, 200, map[string]any{})
			return
		}
	}
	writeStatus(w, 404, "NOT_FOUND", "Key "+r.PathValue("id")+" not found.", "")
}

// token implements the RFC 7523 JWT-bearer grant of docs/api.md §2.
func (f *fakeHerald) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenReq++
	fail := func(code, desc string) {
		writeJSON(w, 400, map[string]string{"error": code, "error_description": desc})
	}
	if err := r.ParseForm(); err != nil {
		fail("invalid_request", err.Error())
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		fail("unsupported_grant_type", "want the JWT bearer grant")
		return
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		fail("invalid_request", "assertion is not a JWT")
		return
	}
	var hdr struct {
		Alg, Kid string
	}
	var claims struct {
		Iss, Aud, Scope string
		Iat, Exp        int64
	}
	if decodeSegment(parts[0], &hdr) != nil || decodeSegment(parts[1], &claims) != nil || hdr.Alg != "RS256" {
		fail("invalid_request", "bad JWT header or claims")
		return
	}
	var key *Key
	var project string
	for p, ks := range f.keys {
		for i := range ks {
			if ks[i].ID == hdr.Kid {
				key, project = &ks[i], p
			}
		}
	}
	if key == nil || key.Revoked {
		fail("invalid_grant", "unknown or revoked key")
		return
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(f.pubKeys[key.ID], crypto.SHA256, sum[:], sig) != nil {
		fail("invalid_grant", "bad signature")
		return
	}
	now := time.Now().Unix()
	switch {
	case claims.Iss != key.ClientEmail:
		fail("invalid_grant", "iss is not the key's client_email")
	case claims.Aud != f.srv.URL+"/token":
		fail("invalid_grant", "aud is not this token endpoint")
	case !strings.Contains(" "+claims.Scope+" ", " https://www.googleapis.com/auth/cloud-platform "):
		fail("invalid_scope", "scope lacks cloud-platform")
	case claims.Exp-claims.Iat > 3600 || claims.Iat > now+60 || claims.Exp < now-60:
		fail("invalid_grant", "iat/exp out of range")
	default:
		f.nextID++
		tok := fmt.Sprintf("access-%d", f.nextID)
		f.access[tok] = project
		writeJSON(w, 200, map[string]any{"access_token": tok, "expires_in": 3600, "token_type": "Bearer"})
	}
}

func decodeSegment(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// send implements the FCM HTTP v1 send of docs/api.md §1 for the fields
// the CLI sets; unknown fields are INVALID_ARGUMENT.
func (f *fakeHerald) send(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := r.PathValue("p")
	tok := bearer(r)
	authProject, isAccess := f.access[tok]
	switch {
	case tok == f.adminToken:
	case !isAccess:
		writeStatus(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", "THIRD_PARTY_AUTH_ERROR")
		return
	case authProject != p:
		writeStatus(w, 403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH")
		return
	}
	var req struct {
		Message struct {
			Token        string            `json:"token"`
			Topic        string            `json:"topic"`
			Condition    string            `json:"condition"`
			Notification map[string]string `json:"notification"`
			Data         map[string]string `json:"data"`
			Android      map[string]string `json:"android"`
		} `json:"message"`
		ValidateOnly bool `json:"validate_only"`
	}
	body, err := io.ReadAll(r.Body)
	if err == nil {
		d := json.NewDecoder(strings.NewReader(string(body)))
		d.DisallowUnknownFields()
		err = d.Decode(&req)
	}
	m := req.Message
	targets := 0
	for _, s := range []string{m.Token, m.Topic, m.Condition} {
		if s != "" {
			targets++
		}
	}
	if err != nil || targets != 1 {
		writeStatus(w, 400, "INVALID_ARGUMENT", "Request contains an invalid argument.", "INVALID_ARGUMENT")
		return
	}
	if m.Token != "" {
		owner, ok := f.devices[m.Token]
		if !ok {
			writeStatus(w, 404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
			return
		}
		if owner != p {
			writeStatus(w, 403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH")
			return
		}
	}
	if req.ValidateOnly {
		writeJSON(w, 200, map[string]string{"name": "projects/" + p + "/messages/fake_message_id"})
		return
	}
	var generic map[string]any
	json.Unmarshal(body, &generic)
	f.sent = append(f.sent, sentMessage{Project: p, Body: generic})
	f.nextID++
	writeJSON(w, 200, map[string]string{"name": fmt.Sprintf("projects/%s/messages/%d", p, f.nextID)})
}

// blockingServer answers no request until block is closed; arrived gets a
// value when a request comes in.
type blockingServer struct {
	*httptest.Server
	arrived chan struct{}
}

func newBlockingServer(t *testing.T, block <-chan struct{}) *blockingServer {
	b := &blockingServer{arrived: make(chan struct{}, 1)}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case b.arrived <- struct{}{}:
		default:
		}
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(b.Close)
	return b
}
