package dispatch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/metrics"
	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/pebblestore"
)

// The relay's unit tests run the real store and hub with scripted
// providers: each vendor call is handed to the test, which answers it.
// The end-to-end tests (internal/e2e) run the real providers against the
// vendortest servers.

// relayWait bounds every wait; a failsafe, not a synchronisation.
const relayWait = 10 * time.Second

// vendorCall is one call of a scripted provider, waiting for its answer.
type vendorCall struct {
	to    store.Registration
	creds store.Credentials
	m     provider.Message
	reply chan error
}

// scriptedProvider hands every call to the test through calls.
type scriptedProvider struct {
	platform string
	calls    chan vendorCall
}

func newScripted(platform string) *scriptedProvider {
	return &scriptedProvider{platform: platform, calls: make(chan vendorCall)}
}

func (p *scriptedProvider) Platform() string { return p.platform }

func (p *scriptedProvider) Send(ctx context.Context, creds store.Credentials, to store.Registration, m provider.Message) error {
	c := vendorCall{to: to, creds: creds, m: m, reply: make(chan error, 1)}
	select {
	case p.calls <- c:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-c.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// next returns the provider's next call.
func (p *scriptedProvider) next(t *testing.T) vendorCall {
	t.Helper()
	select {
	case c := <-p.calls:
		return c
	case <-time.After(relayWait):
		t.Fatalf("%s: no vendor call", p.platform)
		return vendorCall{}
	}
}

// relayEnv is a store, a hub and a relay over them.
type relayEnv struct {
	st     *pebblestore.Store
	dir    string
	hub    *Hub
	relay  *Relay
	m      *metrics.Metrics
	appKey string
	turns  chan string // tokens whose worker turn ended
	stop   func()
}

func newRelayEnv(t *testing.T, dir string, providers ...provider.Provider) *relayEnv {
	t.Helper()
	ctx := context.Background()
	st, err := pebblestore.Open(dir, pebblestore.Options{CredentialKey: make([]byte, pebblestore.CredentialKeySize)})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New()
	relay := NewRelay(st, RelayConfig{Providers: providers, Workers: 2, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}, m, logger)
	hub := New(st, Config{PingInterval: time.Second, SendQueue: 16, StaleAfter: 270 * 24 * time.Hour, Relay: relay}, m, logger)
	e := &relayEnv{st: st, dir: dir, hub: hub, relay: relay, m: m, turns: make(chan string, 1024)}
	relay.turnDone = func(token string) {
		select {
		case e.turns <- token:
		default:
		}
	}
	if _, err := st.Project(ctx, "p1"); errors.Is(err, store.ErrNotFound) {
		if err := st.CreateProject(ctx, store.Project{ID: "p1"}); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateApp(ctx, store.App{Key: "app-1", ProjectID: "p1"}); err != nil {
			t.Fatal(err)
		}
	}
	e.appKey = "app-1"
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- relay.Run(runCtx) }()
	e.stop = func() {
		if cancel == nil {
			return
		}
		cancel()
		cancel = nil
		<-done
		_ = st.Close()
	}
	t.Cleanup(e.stop)
	return e
}

func (e *relayEnv) register(t *testing.T, addr Address) string {
	t.Helper()
	resp, err := e.hub.RegisterAt(context.Background(), e.appKey, nil, addr)
	if err != nil {
		t.Fatalf("RegisterAt: %v", err)
	}
	return resp.Token
}

func (e *relayEnv) send(t *testing.T, token, text string) string {
	t.Helper()
	id, err := e.hub.Send(context.Background(), Outgoing{ProjectID: "p1", Token: token, TTL: time.Hour,
		Body: Body{Data: map[string]string{"text": text}}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	return id
}

func (e *relayEnv) pending(t *testing.T, token string) int {
	t.Helper()
	msgs, _, err := e.st.Pending(context.Background(), token, 0, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(msgs)
}

func apnsAddr(n int) Address {
	return Address{Platform: store.PlatformAPNs, APNs: &store.APNsDevice{DeviceToken: fmt.Sprintf("%064x", n), BundleID: "com.example"}}
}

func fcmAddr(n int) Address {
	return Address{Platform: store.PlatformFCM, FCM: &store.FCMDevice{Token: fmt.Sprintf("fcm-%d", n)}}
}

// Messages reach the vendor in order, with the registration's address and
// the project's credentials, and are acked once the vendor accepted them.
func TestRelayDeliversInOrder(t *testing.T) {
	apns := newScripted(store.PlatformAPNs)
	e := newRelayEnv(t, t.TempDir(), apns)
	ctx := context.Background()
	creds := store.Credentials{ProjectID: "p1", APNs: &store.APNsCredentials{KeyID: "K", TeamID: "T", KeyPEM: "pem"}}
	if err := e.st.PutCredentials(ctx, creds); err != nil {
		t.Fatal(err)
	}
	tok := e.register(t, apnsAddr(1))
	var ids []string
	for i := range 3 {
		ids = append(ids, e.send(t, tok, fmt.Sprint(i)))
	}
	for i := range 3 {
		c := apns.next(t)
		if c.m.ID != ids[i] {
			t.Fatalf("call %d: message %s, want %s (order)", i, c.m.ID, ids[i])
		}
		if c.to.Token != tok || c.to.APNs == nil || c.to.APNs.DeviceToken != apnsAddr(1).APNs.DeviceToken {
			t.Fatalf("call %d: registration %+v", i, c.to)
		}
		if c.creds.APNs == nil || c.creds.APNs.KeyID != "K" {
			t.Fatalf("call %d: credentials %+v", i, c.creds)
		}
		if want := `"data":{"text":"` + fmt.Sprint(i) + `"}`; string(c.m.Payload) != want {
			t.Fatalf("call %d: payload %s, want %s", i, c.m.Payload, want)
		}
		c.reply <- nil
	}
	// One more message: during its call the others are acked already.
	e.send(t, tok, "last")
	c := apns.next(t)
	if n := e.pending(t, tok); n != 1 {
		t.Fatalf("%d entries pending during the last call, want 1", n)
	}
	c.reply <- nil
	e.sentinel(t, apns, tok)
}

// waitTurn waits until a worker's turn with token ends.
func (e *relayEnv) waitTurn(t *testing.T, token string) {
	t.Helper()
	for {
		select {
		case tok := <-e.turns:
			if tok == token {
				return
			}
		case <-time.After(relayWait):
			t.Fatal("the relay's turn did not end")
		}
	}
}

// sentinel sends one more message and answers its call: every message
// sent before it was handled (acked or given up) by then.
func (e *relayEnv) sentinel(t *testing.T, p *scriptedProvider, token string) {
	t.Helper()
	id := e.send(t, token, "sentinel")
	c := p.next(t)
	if c.m.ID != id {
		t.Fatalf("call for %s, want the sentinel %s", c.m.ID, id)
	}
	if n := e.pending(t, token); n != 1 {
		t.Fatalf("%d entries pending besides the sentinel, want none", n-1)
	}
	c.reply <- nil
}

// A vendor that answers "retry" gets the message again after the backoff,
// until it accepts it; then it is delivered once.
func TestRelayRetries(t *testing.T) {
	fcm := newScripted(store.PlatformFCM)
	e := newRelayEnv(t, t.TempDir(), fcm)
	tok := e.register(t, fcmAddr(1))
	id := e.send(t, tok, "x")
	for range 3 {
		c := fcm.next(t)
		if c.m.ID != id {
			t.Fatalf("call for %s, want %s", c.m.ID, id)
		}
		c.reply <- &provider.RetryError{Err: errors.New("503")}
	}
	c := fcm.next(t)
	c.reply <- nil
	e.sentinel(t, fcm, tok) // and not the delivered message again
}

// A message whose next try would come after its expiry is given up: the
// vendor asked for a wait longer than the message lives.
func TestRelayGivesUpAtExpiry(t *testing.T) {
	fcm := newScripted(store.PlatformFCM)
	e := newRelayEnv(t, t.TempDir(), fcm)
	tok := e.register(t, fcmAddr(1))
	e.send(t, tok, "short-lived")
	second := e.send(t, tok, "next")
	c := fcm.next(t)
	c.reply <- &provider.RetryError{After: 2 * time.Hour, Err: errors.New("429")}
	// The first is dropped at once; the second is tried without waiting.
	c = fcm.next(t)
	if c.m.ID != second {
		t.Fatalf("call for %s, want the second message %s", c.m.ID, second)
	}
	c.reply <- nil
	e.sentinel(t, fcm, tok)
}

// A vendor that says the device is gone makes the relay delete the
// registration: later sends answer UNREGISTERED.
func TestRelayUnregistered(t *testing.T) {
	apns := newScripted(store.PlatformAPNs)
	e := newRelayEnv(t, t.TempDir(), apns)
	tok := e.register(t, apnsAddr(1))
	id := e.send(t, tok, "x")
	c := apns.next(t)
	c.reply <- fmt.Errorf("410 Unregistered: %w", provider.ErrUnregistered)
	e.waitTurn(t, tok)
	if st, err := e.st.MessageStatus(context.Background(), id); err != nil || st.State != store.StateFailed || !strings.HasPrefix(st.Reason, "unregistered:") {
		t.Errorf("status %+v, %v; want failed, unregistered", st, err)
	}
	_, err := e.hub.Send(context.Background(), Outgoing{ProjectID: "p1", Token: tok, TTL: time.Hour, Body: Body{Data: map[string]string{"a": "b"}}})
	if !errors.Is(err, ErrUnregistered) {
		t.Fatalf("Send after the vendor's 410: err = %v, want ErrUnregistered", err)
	}
}

// Refused credentials and rejected messages fail that message, which is
// acked: the next one goes out.
func TestRelayFailuresDoNotBlock(t *testing.T) {
	web := newScripted(store.PlatformWebPush)
	e := newRelayEnv(t, t.TempDir(), web)
	tok := e.register(t, Address{Platform: store.PlatformWebPush, WebPush: &store.WebPushSubscription{Endpoint: "https://push.example/1", P256DH: "p", Auth: "a"}})
	ids := []string{e.send(t, tok, "a"), e.send(t, tok, "b"), e.send(t, tok, "c")}
	for i, reply := range []error{
		fmt.Errorf("no VAPID key: %w", provider.ErrCredentials),
		fmt.Errorf("413: %w", provider.ErrRejected),
		nil,
	} {
		c := web.next(t)
		if c.m.ID != ids[i] {
			t.Fatalf("call %d for %s, want %s", i, c.m.ID, ids[i])
		}
		c.reply <- reply
	}
	e.sentinel(t, web, tok)
	for i, want := range []struct {
		state  store.State
		reason string
	}{{store.StateFailed, "credentials: no VAPID key"}, {store.StateFailed, "rejected: 413"}, {store.StateDelivered, ""}} {
		st, err := e.st.MessageStatus(context.Background(), ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if st.State != want.state || !strings.HasPrefix(st.Reason, want.reason) {
			t.Errorf("message %d: status %s %q, want %s %q…", i, st.State, st.Reason, want.state, want.reason)
		}
	}
}

// One vendor down (its calls never answered) does not hold another
// vendor's deliveries, nor a Herald device's.
func TestRelayOutageIsolated(t *testing.T) {
	fcm, apns := newScripted(store.PlatformFCM), newScripted(store.PlatformAPNs)
	e := newRelayEnv(t, t.TempDir(), fcm, apns)
	ctx := context.Background()
	// Keep more FCM registrations busy than there are FCM workers.
	var held []vendorCall
	for i := range 4 {
		e.send(t, e.register(t, fcmAddr(i)), "stuck")
	}
	for range 2 { // Workers: 2
		held = append(held, fcm.next(t))
	}
	rec := httptest.NewRecorder()
	e.m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if want := `herald_relay_backlog{platform="fcm"} 4`; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("metrics lack %s (2 served, 2 queued)", want)
	}
	tok := e.register(t, apnsAddr(1))
	id := e.send(t, tok, "through")
	if c := apns.next(t); c.m.ID != id {
		t.Fatalf("APNs call for %s, want %s", c.m.ID, id)
	} else {
		c.reply <- nil
	}
	// A Herald device too.
	resp, err := e.hub.Register(ctx, e.appKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn := e.attach(t, resp)
	e.send(t, resp.Token, "herald")
	for {
		select {
		case f := <-conn.frames:
			if bytes.Contains(f, []byte(`"herald"`)) {
				for _, c := range held {
					c.reply <- nil
				}
				return
			}
		case <-time.After(relayWait):
			t.Fatal("the Herald device got nothing while FCM was down")
		}
	}
}

// A restart with pending vendor messages resumes them.
func TestRelayResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	e := newRelayEnv(t, dir) // no provider: the message stays stored
	tok := e.register(t, fcmAddr(1))
	id := e.send(t, tok, "kept")
	e.stop()

	fcm := newScripted(store.PlatformFCM)
	newRelayEnv(t, dir, fcm)
	c := fcm.next(t)
	if c.m.ID != id || c.to.Token != tok {
		t.Fatalf("resumed call for %s to %s, want %s to %s", c.m.ID, c.to.Token, id, tok)
	}
	c.reply <- nil
}

// attach connects the device of resp with its token; it is detached at
// the end of the test.
func (e *relayEnv) attach(t *testing.T, resp herald.RegisterResponse) *recordConn {
	t.Helper()
	ctx := context.Background()
	conn := &recordConn{frames: make(chan []byte, 16)}
	s, err := e.hub.Attach(ctx, &herald.Hello{DeviceID: resp.Device.ID, DeviceSecret: resp.Device.Secret,
		Registrations: []herald.Resume{{Token: resp.Token}}}, conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.hub.Detach(ctx, s) })
	return conn
}

// recordConn is a device connection that hands written frames to the test.
type recordConn struct{ frames chan []byte }

func (c *recordConn) WriteFrames(fs ...[]byte) error {
	for _, f := range fs {
		c.frames <- append([]byte(nil), f...)
	}
	return nil
}
func (c *recordConn) Close(int, string) {}
func (c *recordConn) Opened() time.Time { return time.Now() }

// A hello presenting a token of a vendor platform is told it is
// unregistered on this connection: its messages go through the vendor.
func TestHelloRefusesVendorToken(t *testing.T) {
	apns := newScripted(store.PlatformAPNs)
	e := newRelayEnv(t, t.TempDir(), apns)
	ctx := context.Background()
	resp, err := e.hub.RegisterAt(ctx, e.appKey, nil, apnsAddr(1))
	if err != nil {
		t.Fatal(err)
	}
	conn := e.attach(t, resp)
	select {
	case f := <-conn.frames:
		if !bytes.Contains(f, []byte(`"status":"unregistered"`)) {
			t.Fatalf("welcome %s, want the vendor token unregistered", f)
		}
	case <-time.After(relayWait):
		t.Fatal("no welcome")
	}
}

// Topic and condition messages reach vendor subscribers: one call per
// matching subscriber, in log order, nothing for topics it does not
// follow, and the topic message's status counts the delivery.
func TestRelayTopics(t *testing.T) {
	fcm := newScripted(store.PlatformFCM)
	e := newRelayEnv(t, t.TempDir(), fcm)
	ctx := context.Background()
	tok := e.register(t, fcmAddr(1))
	for _, r := range e.hub.Subscribe(ctx, "p1", "news", []string{tok}) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	sendTopic := func(topic, cond string) string {
		t.Helper()
		id, err := e.hub.SendTopic(ctx, OutgoingTopic{ProjectID: "p1", Topic: topic, Condition: cond, TTL: time.Hour,
			Body: Body{Data: map[string]string{"t": topic + cond}}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	sendTopic("sports", "")
	news := sendTopic("news", "")
	cond := sendTopic("", "'news' in topics && !('sports' in topics)")
	for _, want := range []string{news, cond} {
		c := fcm.next(t)
		if c.m.ID != want || c.to.Token != tok {
			t.Fatalf("call for %s to %s, want %s to %s", c.m.ID, shortToken(c.to.Token), want, shortToken(tok))
		}
		c.reply <- nil
	}
	e.sentinel(t, fcm, tok) // nothing else was sent (not the sports message)
	st, err := e.st.MessageStatus(ctx, news)
	if err != nil {
		t.Fatal(err)
	}
	if st.Delivered != 1 {
		t.Errorf("topic message status %+v, want 1 delivered", st)
	}
}

// Registrations of vendor platforms never go stale: their devices never
// connect here, and their vendor says when they are gone.
func TestVendorRegistrationsDoNotGoStale(t *testing.T) {
	ctx := context.Background()
	st := storeWithApp(t)
	clk := &testClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	h := New(st, Config{PingInterval: time.Second, SendQueue: 16, StaleAfter: 24 * time.Hour, Now: clk.Now},
		metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	vendor, err := h.RegisterAt(ctx, "app-1", nil, fcmAddr(1))
	if err != nil {
		t.Fatal(err)
	}
	own, err := h.Register(ctx, "app-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	clk.advance(48 * time.Hour)
	send := func(token string) error {
		_, err := h.Send(ctx, Outgoing{ProjectID: "p1", Token: token, TTL: time.Hour, Body: Body{Data: map[string]string{"a": "b"}}})
		return err
	}
	if err := send(vendor.Token); err != nil {
		t.Errorf("send to an FCM registration 48 h old: %v", err)
	}
	if err := send(own.Token); !errors.Is(err, ErrUnregistered) {
		t.Errorf("send to a Herald registration unseen for 48 h: %v, want ErrUnregistered", err)
	}
}
