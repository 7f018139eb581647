package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	webpushgo "github.com/SherClockHolmes/webpush-go"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/client"
	"github.com/heraldpush/herald/internal/heraldtest"
	"github.com/heraldpush/herald/internal/webpush"
)

// Herald as a Web Push push service, end to end: real Web Push libraries
// (npm web-push over https, Go webpush-go) send to endpoints that the Go
// SDK created, and the SDK's app receives the decrypted payloads.

// webPushJSDir holds the Node project of the npm web-push test:
// package.json pins web-push, package-lock.json the dependency tree.
const webPushJSDir = "webpushjs"

// installWebPushJS makes sure webpushjs/node_modules holds the web-push
// version package.json pins (npm ci otherwise) and returns node's path.
func installWebPushJS(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("this test needs Node.js (node and npm on PATH): %v", err)
	}
	var pkg, have struct {
		Version      string            `json:"version"`
		Dependencies map[string]string `json:"dependencies"`
	}
	readJSON(t, filepath.Join(webPushJSDir, "package.json"), &pkg)
	want := pkg.Dependencies["web-push"]
	if b, err := os.ReadFile(filepath.Join(webPushJSDir, "node_modules", "web-push", "package.json")); err == nil &&
		json.Unmarshal(b, &have) == nil && have.Version == want {
		return node
	}
	ctx, cancel := context.WithTimeout(context.Background(), npmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = webPushJSDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v (context: %v)\n%s", webPushJSDir, err, ctx.Err(), out)
	}
	return node
}

// webPushJSResult is one line of webpushjs/send.js.
type webPushJSResult struct {
	OK         bool   `json:"ok"`
	StatusCode int    `json:"statusCode"`
	Location   string `json:"location"`
	TTL        string `json:"ttl"`
	Body       string `json:"body"`
	Message    string `json:"message"`
}

// vapidKeys is an application server's VAPID key pair in web-push's format.
type vapidKeys struct{ public, private string }

func newVAPIDKeys(t *testing.T) vapidKeys {
	t.Helper()
	key, err := webpush.GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, err := webpush.EncodeVAPIDKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return vapidKeys{pub, priv}
}

// The real npm web-push sends over https (heraldtest.StartTLS, the test CA
// given to an https.Agent) to a subscription restricted to its VAPID key:
// the device gets the plaintext; a payload over 4096 bytes of body (413),
// another application server's key (403) and no VAPID (401) are refused
// and never delivered; a push without payload arrives with an empty Raw.
func TestWebPushFromNodeWebPush(t *testing.T) {
	node := installWebPushJS(t)
	srv := heraldtest.StartTLS(t)
	srv.CreateProject(t, "demo")
	appKey := srv.CreateApp(t, "demo")
	d := newDevice(t, srv, appKey, t.TempDir())
	app, stranger := newVAPIDKeys(t), newVAPIDKeys(t)
	sub, err := d.c.WebPushSubscribe(context.Background(), appKey, app.public)
	if err != nil {
		t.Fatal(err)
	}
	d.run(t)

	vapid := func(k vapidKeys) map[string]any {
		return map[string]any{"vapidDetails": map[string]string{
			"subject": "mailto:ops@example.com", "publicKey": k.public, "privateKey": k.private}}
	}
	with := func(opts map[string]any, kv ...any) map[string]any {
		for i := 0; i < len(kv); i += 2 {
			opts[kv[i].(string)] = kv[i+1]
		}
		return opts
	}
	type send struct {
		Subscription client.WebPushSubscription `json:"subscription"`
		Payload      any                        `json:"payload"` // a string, or nil for a push without payload
		Options      map[string]any             `json:"options"`
	}
	sends := []send{
		{sub, "from npm web-push ✓", with(vapid(app), "TTL", 600, "urgency", "high", "topic", "greeting")},
		{sub, strings.Repeat("x", webpush.MaxPlaintext+1), vapid(app)}, // 4097-byte body
		{sub, "signed by a stranger", vapid(stranger)},
		{sub, "not signed", map[string]any{}},
		{sub, nil, with(vapid(app), "TTL", 60)}, // no body, no Content-Encoding
		{sub, "the last one", with(vapid(app), "TTL", 60)},
	}
	job, err := json.Marshal(map[string]any{"ca": srv.TLS.CAFile, "sends": sends})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "send.js", string(job))
	cmd.Dir = webPushJSDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node send.js: %v\n%s", err, stderr.String())
	}
	var results []webPushJSResult
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r webPushJSResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("send.js printed %q: %v", line, err)
		}
		results = append(results, r)
	}
	wantStatus := []int{http.StatusCreated, http.StatusRequestEntityTooLarge, http.StatusForbidden, http.StatusUnauthorized,
		http.StatusCreated, http.StatusCreated}
	if len(results) != len(wantStatus) {
		t.Fatalf("send.js printed %d results, want %d:\n%s", len(results), len(wantStatus), out)
	}
	for i, r := range results {
		if r.StatusCode != wantStatus[i] {
			t.Errorf("send %d: %+v, want status %d", i, r, wantStatus[i])
		}
	}
	if r := results[0]; !r.OK || r.TTL != "600" || !strings.HasPrefix(r.Location, srv.URL+herald.PathPushMessage) {
		t.Errorf("accepted send: %+v, want TTL 600 and a Location under %s%s", r, srv.URL, herald.PathPushMessage)
	}

	m := d.next(t)
	if string(m.Raw) != "from npm web-push ✓" || m.Priority != herald.PriorityHigh || m.CollapseKey != "" {
		t.Fatalf("device got %+v (Raw %q), want the first payload, high priority, no Topic", m, m.Raw)
	}
	if m := d.next(t); m.Raw == nil || len(m.Raw) != 0 || m.WebPush == nil {
		t.Fatalf("device got %+v (Raw %q), want the push without payload (empty Raw)", m, m.Raw)
	}
	if m := d.next(t); string(m.Raw) != "the last one" {
		t.Fatalf("device got Raw %q, want the last payload (the refused ones are not delivered)", m.Raw)
	}
}

// webPushGo sends with the real webpush-go through srv's client.
func webPushGo(t *testing.T, srv *heraldtest.Server, sub client.WebPushSubscription, k vapidKeys, payload string, o webpushgo.Options) int {
	t.Helper()
	o.HTTPClient = srv.Client()
	o.Subscriber = "ops@example.com"
	o.VAPIDPublicKey, o.VAPIDPrivateKey = k.public, k.private
	s := &webpushgo.Subscription{Endpoint: sub.Endpoint, Keys: webpushgo.Keys{P256dh: sub.Keys.P256DH, Auth: sub.Keys.Auth}}
	resp, err := webpushgo.SendNotificationWithContext(context.Background(), []byte(payload), s, &o)
	if err != nil {
		t.Fatalf("webpush-go: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The real Go webpush-go (which pads every body to 4096 bytes) sends to an
// unrestricted endpoint over plain http; the device gets the plaintext.
// Then the rules of the push service with a device away: TTL 0 is never
// delivered, the second of two messages with the same Topic replaces the
// first; and the endpoint's other answers through the real server.
func TestWebPushFromWebPushGo(t *testing.T) {
	srv := heraldtest.Start(t)
	srv.CreateProject(t, "demo")
	appKey := srv.CreateApp(t, "demo")
	d := newDevice(t, srv, appKey, t.TempDir())
	sub, err := d.c.WebPushSubscribe(context.Background(), appKey, "")
	if err != nil {
		t.Fatal(err)
	}
	keys := newVAPIDKeys(t)
	d.run(t)
	if got := webPushGo(t, srv, sub, keys, "from webpush-go", webpushgo.Options{TTL: 60}); got != http.StatusCreated {
		t.Fatalf("webpush-go: %d", got)
	}
	if m := d.next(t); string(m.Raw) != "from webpush-go" || m.Priority != herald.PriorityNormal {
		t.Fatalf("device got %+v (Raw %q)", m, m.Raw)
	}

	// A device that is away (not connected yet): TTL 0 is dropped;
	// "second" replaces "first" (same Topic).
	away := newDevice(t, srv, appKey, "")
	awaySub, err := away.c.WebPushSubscribe(context.Background(), appKey, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		payload string
		o       webpushgo.Options
	}{
		{"now or never", webpushgo.Options{TTL: 0}},
		{"first", webpushgo.Options{TTL: 600, Topic: "score"}},
		{"second", webpushgo.Options{TTL: 600, Topic: "score", Urgency: webpushgo.UrgencyHigh}},
		{"untopical", webpushgo.Options{TTL: 600}},
	} {
		if got := webPushGo(t, srv, awaySub, keys, s.payload, s.o); got != http.StatusCreated {
			t.Fatalf("webpush-go %q: %d", s.payload, got)
		}
	}
	away.run(t)
	if m := away.next(t); string(m.Raw) != "second" || m.Priority != herald.PriorityHigh {
		t.Fatalf("first message after reconnecting: Raw %q, %s priority; want the Topic's replacement, high", m.Raw, m.Priority)
	}
	if m := away.next(t); string(m.Raw) != "untopical" {
		t.Fatalf("second message after reconnecting: Raw %q, want untopical (TTL 0 and the replaced one never arrive)", m.Raw)
	}

	// The endpoint's other answers, through the real server.
	do := func(method, url string, h http.Header) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = h
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := do("GET", sub.Endpoint, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET (discovery): %s", resp.Status)
	}
	if resp := do("POST", sub.Endpoint, http.Header{}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no TTL: %s, want 400", resp.Status)
	}
	if resp := do("POST", srv.URL+herald.PathPush+"AAAAAAAAAAAAAAAAAAAAAAAAAAA", http.Header{"Ttl": {"60"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown endpoint: %s, want 404", resp.Status)
	}
	if err := d.c.DeleteToken(context.Background(), appKey); err != nil {
		t.Fatal(err)
	}
	if got := webPushGo(t, srv, sub, keys, "too late", webpushgo.Options{TTL: 60}); got != http.StatusGone {
		t.Errorf("after the registration was deleted: %d, want 410", got)
	}
}

// herald listen --webpush through the real CLI: its webpush line is a
// subscription webpush-go can send to, and the payload is printed.
func TestWebPushListenCLI(t *testing.T) {
	srv := heraldtest.Start(t)
	srv.CreateProject(t, "demo")
	appKey := srv.CreateApp(t, "demo")
	env := map[string]string{"HERALD_SERVER": srv.URL}
	state := t.TempDir()
	l := startListen(t, func(k string) string { return env[k] }, "--app-key", appKey, "--state", state, "--webpush")
	sub := webPushLine(t, l)
	if got := webPushGo(t, srv, sub, newVAPIDKeys(t), `{"hello":"from webpush-go"}`, webpushgo.Options{TTL: 60}); got != http.StatusCreated {
		t.Fatalf("webpush-go: %d", got)
	}
	select {
	case line := <-l.lines:
		var printed struct {
			Token   string
			WebPush *herald.WebPush
			Text    string
		}
		if err := json.Unmarshal([]byte(line), &printed); err != nil || printed.Text != `{"hello":"from webpush-go"}` ||
			printed.Token != l.token || printed.WebPush == nil || printed.WebPush.Body != "" {
			t.Fatalf("listen printed %q, want the message with the plaintext in text (and no ciphertext)", line)
		}
	case <-time.After(waitTimeout):
		t.Fatal("listen printed no message")
	}
	l.stop(t)

	// The next run with the same state gives out the same subscription.
	l2 := startListen(t, func(k string) string { return env[k] }, "--app-key", appKey, "--state", state, "--webpush")
	if again := webPushLine(t, l2); again != sub {
		t.Errorf("second run printed %+v, want the first run's %+v", again, sub)
	}
	l2.stop(t)
}

// webPushLine reads listen's "webpush: {…}" line.
func webPushLine(t *testing.T, l *listener) client.WebPushSubscription {
	t.Helper()
	var sub client.WebPushSubscription
	select {
	case line := <-l.lines:
		j, ok := strings.CutPrefix(line, "webpush: ")
		if !ok || json.Unmarshal([]byte(j), &sub) != nil || sub.Endpoint == "" || sub.Keys.P256DH == "" || sub.Keys.Auth == "" {
			t.Fatalf("listen's second line %q, want webpush: {\"endpoint\":…,\"keys\":{…}}", line)
		}
	case <-time.After(waitTimeout):
		t.Fatal("listen printed no webpush line")
	}
	return sub
}

// An endpoint whose registration went stale (its device away longer than
// --stale-after) answers 410 Gone, as a deleted one does, and the
// registration is expired by that push.
func TestWebPushStaleRegistrationGone(t *testing.T) {
	var clk clock
	srv := heraldtest.Start(t, withClock(&clk))
	srv.CreateProject(t, "demo")
	appKey := srv.CreateApp(t, "demo")
	d := newDevice(t, srv, appKey, "") // registered, never connected
	sub, err := d.c.WebPushSubscribe(context.Background(), appKey, "")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := webpush.ParseKeys(sub.Keys.P256DH, sub.Keys.Auth)
	if err != nil {
		t.Fatal(err)
	}
	push := func() int {
		t.Helper()
		body, err := webpush.Encrypt([]byte("anyone there?"), keys, nil)
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest("POST", sub.Endpoint, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("TTL", "60")
		req.Header.Set("Content-Encoding", "aes128gcm")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	clk.advance(staleAfter - day)
	if got := push(); got != http.StatusCreated {
		t.Fatalf("push before the stale period: %d, want 201", got)
	}
	clk.advance(2 * day)
	if got := push(); got != http.StatusGone {
		t.Fatalf("push after the stale period: %d, want 410", got)
	}
	if code, _ := iidInfo(t, srv, d.token, "", srv.AdminToken); code != http.StatusNotFound {
		t.Errorf("iid info of the expired token: %d, want 404", code)
	}
}
