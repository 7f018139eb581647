package client

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/heraldpush/herald"
)

// fakeServer plays the server side of the device HTTP API and protocol
// (docs/protocol.md) on a real loopback socket. Registration is automatic;
// each WebSocket connection is handed to the test, which then plays the
// server's frames step by step.
type fakeServer struct {
	t     testing.TB
	srv   *httptest.Server
	conns chan *serverConn

	mu       sync.Mutex
	n        int
	devices  map[string]string   // device id → secret
	tokens   map[string]*fakeReg // token → registration
	requests []string            // "METHOD path auth?" of every HTTP call
}

type fakeReg struct {
	device, appKey string
	deleted        bool
}

// projectOf is the project every fake app key belongs to.
const fakeProject = "demo"

func newFakeServer(t testing.TB) *fakeServer {
	t.Helper()
	fs := &fakeServer{
		t:       t,
		conns:   make(chan *serverConn, 8),
		devices: make(map[string]string),
		tokens:  make(map[string]*fakeReg),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+herald.PathRegister, fs.register)
	mux.HandleFunc("POST "+herald.PathRegistration+"/{rest}", fs.refresh)
	mux.HandleFunc("DELETE "+herald.PathRegistration+"/{token}", fs.delete)
	mux.HandleFunc("POST "+herald.PathRegistration+"/{token}"+herald.PathTopics+"/{topic}", fs.topic)
	mux.HandleFunc("DELETE "+herald.PathRegistration+"/{token}"+herald.PathTopics+"/{topic}", fs.topic)
	mux.HandleFunc("GET "+herald.PathConnect, fs.connect)
	fs.srv = httptest.NewServer(mux)
	t.Cleanup(fs.srv.Close)
	return fs
}

func (fs *fakeServer) URL() string { return fs.srv.URL }

func writeError(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(herald.ErrorResponse{Error: herald.Status{Code: code, Status: status, Message: msg}})
}

// auth returns the device of the request's credential; ok is false (and an
// error written) when a credential is present but unknown.
func (fs *fakeServer) auth(w http.ResponseWriter, r *http.Request) (dev string, present, ok bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false, true
	}
	id, secret, _ := strings.Cut(strings.TrimPrefix(h, herald.DeviceAuthScheme+" "), ":")
	if s, found := fs.devices[id]; !found || s != secret {
		writeError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "unknown device")
		return "", true, false
	}
	return id, true, true
}

func (fs *fakeServer) record(r *http.Request) {
	auth := ""
	if r.Header.Get("Authorization") != "" {
		auth = " auth"
	}
	fs.requests = append(fs.requests, r.Method+" "+r.URL.Path+auth)
}

func (fs *fakeServer) register(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.record(r)
	appKey := r.Header.Get(herald.AppKeyHeader)
	if !strings.HasPrefix(appKey, "app-") {
		writeError(w, http.StatusForbidden, "PERMISSION_DENIED", "unknown app key")
		return
	}
	dev, present, ok := fs.auth(w, r)
	if !ok {
		return
	}
	var ans herald.RegisterResponse
	if !present {
		fs.n++
		dev = fmt.Sprintf("dev-%d", fs.n)
		cred := &herald.DeviceCredential{ID: dev, Secret: "secret-" + dev}
		fs.devices[dev] = cred.Secret
		ans.Device = cred
	}
	fs.n++
	ans.Token = fmt.Sprintf("tok-%d-%s", fs.n, appKey)
	ans.ProjectID = fakeProject
	fs.tokens[ans.Token] = &fakeReg{device: dev, appKey: appKey}
	_ = json.NewEncoder(w).Encode(ans)
}

func (fs *fakeServer) refresh(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.record(r)
	old, ok := strings.CutSuffix(r.PathValue("rest"), ":refresh")
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such route")
		return
	}
	dev, _, ok := fs.auth(w, r)
	if !ok {
		return
	}
	reg := fs.tokens[old]
	if reg == nil || reg.deleted || reg.device != dev {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "unknown token")
		return
	}
	reg.deleted = true
	fs.n++
	tok := fmt.Sprintf("tok-%d-%s", fs.n, reg.appKey)
	fs.tokens[tok] = &fakeReg{device: dev, appKey: reg.appKey}
	_ = json.NewEncoder(w).Encode(herald.RegisterResponse{Token: tok, ProjectID: fakeProject})
}

func (fs *fakeServer) delete(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.record(r)
	dev, _, ok := fs.auth(w, r)
	if !ok {
		return
	}
	reg := fs.tokens[r.PathValue("token")]
	if reg == nil || reg.deleted || reg.device != dev {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "unknown token")
		return
	}
	reg.deleted = true
	_, _ = io.WriteString(w, "{}")
}

// topic subscribes (POST) or unsubscribes (DELETE) an owned live token; it
// records the topic as the server decoded it from the path.
func (fs *fakeServer) topic(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.requests = append(fs.requests, r.Method+" topic "+r.PathValue("topic"))
	dev, _, ok := fs.auth(w, r)
	if !ok {
		return
	}
	reg := fs.tokens[r.PathValue("token")]
	if reg == nil || reg.deleted || reg.device != dev {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "unknown token")
		return
	}
	_, _ = io.WriteString(w, "{}")
}

// forgetDevices makes every device credential unknown (a wiped server).
func (fs *fakeServer) forgetDevices() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	clear(fs.devices)
}

// httpRequests returns the HTTP calls received so far.
func (fs *fakeServer) httpRequests() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]string(nil), fs.requests...)
}

func (fs *fakeServer) connect(w http.ResponseWriter, r *http.Request) {
	nc, rw, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		return
	}
	fs.conns <- &serverConn{t: fs.t, nc: nc, r: rw.Reader}
}

// accept returns the next WebSocket connection of a client.
func (fs *fakeServer) accept() *serverConn {
	fs.t.Helper()
	select {
	case sc := <-fs.conns:
		fs.t.Cleanup(func() { sc.nc.Close() })
		return sc
	case <-time.After(testTimeout):
		fs.t.Fatal("no connection from the client")
		return nil
	}
}

// testTimeout bounds every wait of a test for the other side; it is a
// safety net against hangs, never a synchronisation.
const testTimeout = 10 * time.Second

// serverConn is the server's end of one device connection.
type serverConn struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
}

// read returns the next frame from the device, decoded with the strict
// herald.DecodeFrame: the SDK must send only valid frames.
func (sc *serverConn) read() herald.Frame {
	sc.t.Helper()
	f, err := sc.tryRead()
	if err != nil {
		sc.t.Fatalf("server read: %v", err)
	}
	return f
}

func (sc *serverConn) tryRead() (herald.Frame, error) {
	if err := sc.nc.SetReadDeadline(time.Now().Add(testTimeout)); err != nil {
		return herald.Frame{}, err
	}
	b, err := wsutil.ReadClientText(struct {
		io.Reader
		io.Writer
	}{sc.r, sc.nc})
	if err != nil {
		return herald.Frame{}, err
	}
	return herald.DecodeFrame(b)
}

// readSkippingPings returns the next frame that is not a ping.
func (sc *serverConn) readSkippingPings() herald.Frame {
	sc.t.Helper()
	for {
		f := sc.read()
		if f.Type != herald.FramePing {
			return f
		}
	}
}

// send writes a frame to the device.
func (sc *serverConn) send(f herald.Frame) {
	sc.t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		sc.t.Fatal(err)
	}
	sc.sendRaw(b)
}

func (sc *serverConn) sendRaw(b []byte) {
	sc.t.Helper()
	if err := wsutil.WriteServerText(sc.nc, b); err != nil {
		sc.t.Fatalf("server write: %v", err)
	}
}

// closeWith sends a close frame with code and closes the connection.
func (sc *serverConn) closeWith(code int, reason string) {
	sc.t.Helper()
	_ = ws.WriteFrame(sc.nc, ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusCode(code), reason)))
	sc.nc.Close()
}

// handshake reads the hello, answers welcome (statuses default to ok) and
// returns the hello.
func (sc *serverConn) handshake(pingInterval time.Duration, unregistered ...string) *herald.Hello {
	sc.t.Helper()
	return sc.handshakeWith(herald.Welcome{PingIntervalMillis: pingInterval.Milliseconds()}, unregistered...)
}

// handshakeWith is handshake with the welcome's intervals of w.
func (sc *serverConn) handshakeWith(w herald.Welcome, unregistered ...string) *herald.Hello {
	sc.t.Helper()
	f := sc.read()
	if f.Type != herald.FrameHello {
		sc.t.Fatalf("first frame %q, want hello", f.Type)
	}
	w.SessionID, w.ServerTimeMillis = "s1", time.Now().UnixMilli()
	for _, r := range f.Hello.Registrations {
		st := herald.StatusOK
		for _, u := range unregistered {
			if u == r.Token {
				st = herald.StatusUnregistered
			}
		}
		w.Registrations = append(w.Registrations, herald.RegistrationStatus{Token: r.Token, Status: st})
	}
	sc.send(herald.Frame{Type: herald.FrameWelcome, Welcome: &w})
	return f.Hello
}

// newPlainServer answers every request with status and a text body.
func newPlainServer(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
