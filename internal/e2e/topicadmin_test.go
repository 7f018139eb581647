package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"

	"github.com/heraldpush/herald/client"
	"github.com/heraldpush/herald/internal/heraldtest"
)

// Topic management as app servers and devices do it: the Go Admin SDK
// (Instance ID batch calls), the Node Admin SDK (topicSubscriptions, one
// token at a time), the Go device SDK. Delivery of topic messages is
// tested apart.

// toHerald sends every request to the test server, whatever host the SDK
// addressed: the Go Admin SDK's Instance ID host is a constant
// (https://iid.googleapis.com).
type toHerald struct {
	addr string
	base http.RoundTripper
}

func (t toHerald) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host = "http", t.addr
	return t.base.RoundTrip(r)
}

// topicAdminClient returns a Go Admin SDK client of the project whose
// service-account file is sa, with every request sent to srv. The HTTP
// client replaces the SDK's authentication, so it carries an
// oauth2.Transport whose tokens come from the file's token_uri (Herald's
// /token).
func topicAdminClient(t *testing.T, srv *heraldtest.Server, projectID, sa string) *messaging.Client {
	t.Helper()
	ctx := context.Background()
	rt := toHerald{addr: srv.Addr, base: http.DefaultTransport}
	key, err := os.ReadFile(sa)
	if err != nil {
		t.Fatal(err)
	}
	tokenCtx := context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: rt})
	creds, err := google.CredentialsFromJSONWithType(tokenCtx, key, google.ServiceAccount,
		"https://www.googleapis.com/auth/firebase.messaging")
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &oauth2.Transport{Source: creds.TokenSource, Base: rt}}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: projectID}, option.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	m, err := app.Messaging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// subscribedTopics returns the topics GET /iid/info?details=true lists for
// token, and checks that each was added on one of the given dates.
func subscribedTopics(t *testing.T, srv *heraldtest.Server, token string, dates ...string) []string {
	t.Helper()
	code, info := iidInfo(t, srv, token, "?details=true", srv.AdminToken)
	if code != http.StatusOK {
		t.Fatalf("iid info: %d %v", code, info)
	}
	rel, _ := info["rel"].(map[string]any)
	topics, ok := rel["topics"].(map[string]any)
	if !ok {
		t.Fatalf("iid info without rel.topics: %v", info)
	}
	names := []string{}
	for name, v := range topics {
		added, _ := v.(map[string]any)["addDate"].(string)
		if !slices.Contains(dates, added) {
			t.Errorf("topic %s: addDate %q, want one of %q", name, added, dates)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func today() string { return time.Now().UTC().Format(time.DateOnly) }

func TestTopicManagementGoAdminSDK(t *testing.T) {
	day0 := today()
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	other := newProject(t, srv, "other")
	ctx := context.Background()

	connected := newDevice(t, srv, p.appKey, "")
	connected.run(t) // its subscriptions also reach the live index
	away := newDevice(t, srv, p.appKey, "")
	gone := newDevice(t, srv, p.appKey, "")
	if err := gone.c.DeleteToken(ctx, p.appKey); err != nil {
		t.Fatal(err)
	}
	foreign := newDevice(t, srv, other.appKey, "")

	m := topicAdminClient(t, srv, p.id, p.sa)
	got, err := m.SubscribeToTopic(ctx, []string{connected.token, gone.token, away.token, foreign.token, "no-such-token"}, "news")
	if err != nil {
		t.Fatalf("SubscribeToTopic: %v", err)
	}
	want := &messaging.TopicManagementResponse{SuccessCount: 2, FailureCount: 3, Errors: []*messaging.ErrorInfo{
		{Index: 1, Reason: "NOT_FOUND"}, {Index: 3, Reason: "INVALID_ARGUMENT"}, {Index: 4, Reason: "NOT_FOUND"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("SubscribeToTopic (-want +got):\n%s", diff)
	}
	// Subscribing again succeeds; "/topics/" is the SDK's own prefix.
	got, err = m.SubscribeToTopic(ctx, []string{connected.token}, "/topics/news")
	if err != nil || got.SuccessCount != 1 || got.FailureCount != 0 {
		t.Fatalf("SubscribeToTopic again = %+v, %v; want 1 success", got, err)
	}
	if _, err := m.SubscribeToTopic(ctx, []string{connected.token}, "sport"); err != nil {
		t.Fatal(err)
	}
	day1 := today()
	if diff := cmp.Diff([]string{"news", "sport"}, subscribedTopics(t, srv, connected.token, day0, day1)); diff != "" {
		t.Errorf("topics of the connected device (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"news"}, subscribedTopics(t, srv, away.token, day0, day1)); diff != "" {
		t.Errorf("topics of the device away (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{}, subscribedTopics(t, srv, foreign.token)); diff != "" {
		t.Errorf("topics of the other project's device (-want +got):\n%s", diff)
	}

	got, err = m.UnsubscribeFromTopic(ctx, []string{connected.token, gone.token, away.token}, "news")
	if err != nil {
		t.Fatalf("UnsubscribeFromTopic: %v", err)
	}
	want = &messaging.TopicManagementResponse{SuccessCount: 2, FailureCount: 1, Errors: []*messaging.ErrorInfo{{Index: 1, Reason: "NOT_FOUND"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("UnsubscribeFromTopic (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"sport"}, subscribedTopics(t, srv, connected.token, day0, today())); diff != "" {
		t.Errorf("topics after unsubscribing (-want +got):\n%s", diff)
	}

	// The other project's credential reaches only its own tokens.
	got, err = topicAdminClient(t, srv, other.id, other.sa).SubscribeToTopic(ctx, []string{connected.token, foreign.token}, "news")
	want = &messaging.TopicManagementResponse{SuccessCount: 1, FailureCount: 1, Errors: []*messaging.ErrorInfo{{Index: 0, Reason: "INVALID_ARGUMENT"}}}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SubscribeToTopic with the other project's credential (-want +got):\n%s", diff)
	}

	// A request-level failure is an error, not a response.
	bad := &http.Client{Transport: &oauth2.Transport{
		Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "not-a-herald-token"}),
		Base:   toHerald{addr: srv.Addr, base: http.DefaultTransport},
	}}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: p.id}, option.WithHTTPClient(bad))
	if err != nil {
		t.Fatal(err)
	}
	badClient, err := app.Messaging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = badClient.SubscribeToTopic(ctx, []string{connected.token}, "news")
	if !errorutils.IsUnauthenticated(err) || !strings.Contains(err.Error(), "UNAUTHENTICATED") {
		t.Errorf("SubscribeToTopic with a bad access token = %v, want an unauthenticated error from the iid service", err)
	}
}

// The device subscribes itself through the Go device SDK.
func TestDeviceSubscribesThroughTheSDK(t *testing.T) {
	day0 := today()
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	ctx := context.Background()
	d := newDevice(t, srv, p.appKey, t.TempDir())
	d.run(t)
	for _, topic := range []string{"news", "/topics/sport", "news"} {
		if err := d.c.Subscribe(ctx, p.appKey, topic); err != nil {
			t.Fatalf("Subscribe(%q): %v", topic, err)
		}
	}
	if err := d.c.Unsubscribe(ctx, p.appKey, "sport"); err != nil {
		t.Fatal(err)
	}
	if err := d.c.Unsubscribe(ctx, p.appKey, "never-subscribed"); err != nil {
		t.Fatalf("Unsubscribe from a topic not subscribed: %v", err)
	}
	if diff := cmp.Diff([]string{"news"}, subscribedTopics(t, srv, d.token, day0, today())); diff != "" {
		t.Errorf("topics (-want +got):\n%s", diff)
	}

	err := d.c.Subscribe(ctx, p.appKey, "a/b")
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Status != "INVALID_ARGUMENT" {
		t.Errorf("Subscribe to an invalid name = %v, want a 400 INVALID_ARGUMENT APIError", err)
	}
	if err := d.c.Subscribe(ctx, "no-such-app", "news"); !errors.Is(err, client.ErrNotRegistered) {
		t.Errorf("Subscribe of an app not registered = %v, want ErrNotRegistered", err)
	}
}

// nodeTopicLine is one line of node/send.js in topics mode.
type nodeTopicLine struct {
	Op           string           `json:"op"`
	SuccessCount int              `json:"successCount"`
	FailureCount int              `json:"failureCount"`
	Errors       []nodeTopicError `json:"errors"`
	Thrown       *nodeResult      `json:"thrown"`
	Requests     []wireRequest    `json:"requests"`
}

type nodeTopicError struct {
	Index int    `json:"index"`
	Code  string `json:"code"`
}

// TestNodeFirebaseAdminTopics runs subscribeToTopic and
// unsubscribeFromTopic of the real firebase-admin Node SDK (node/send.js
// in topics mode): firebase-admin 14.5 calls FCM's topicSubscriptions API
// once per token, takes 409 ALREADY_EXISTS as success and deletes with
// allow_missing=true.
func TestNodeFirebaseAdminTopics(t *testing.T) {
	node := installNodeSDK(t)
	day0 := today()
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	other := newProject(t, srv, "other")
	d := newDevice(t, srv, p.appKey, "")
	d.run(t)
	gone := newDevice(t, srv, p.appKey, "")
	if err := gone.c.DeleteToken(context.Background(), p.appKey); err != nil {
		t.Fatal(err)
	}
	foreign := newDevice(t, srv, other.appKey, "")

	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "send.js")
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(),
		"HERALD_MODE=topics",
		"HERALD_ADDR="+srv.Addr,
		"HERALD_SA="+p.sa,
		"HERALD_TOKEN="+d.token,
		"HERALD_DELETED_TOKEN="+gone.token,
		"HERALD_FOREIGN_TOKEN="+foreign.token,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node send.js: %v (context: %v)\nstdout:\n%s\nstderr:\n%s", err, ctx.Err(), stdout.Bytes(), stderr.Bytes())
	}
	var lines []nodeTopicLine
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		t.Logf("node: %s", sc.Bytes())
		var l nodeTopicLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("node printed a line that is not JSON: %q: %v", sc.Bytes(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 || lines[len(lines)-1].Op != "wire" {
		t.Fatalf("node output ends without the wire line")
	}
	wire := lines[len(lines)-1].Requests
	lines = lines[:len(lines)-1]

	const (
		notRegistered = "messaging/registration-token-not-registered"
		invalidToken  = "messaging/invalid-registration-token"
	)
	want := []nodeTopicLine{
		{Op: "subscribe", SuccessCount: 1, Errors: []nodeTopicError{}},
		// good is subscribed already (409), then deleted, foreign, unknown.
		{Op: "subscribeMixed", SuccessCount: 1, FailureCount: 3, Errors: []nodeTopicError{
			{Index: 1, Code: notRegistered}, {Index: 2, Code: invalidToken}, {Index: 3, Code: notRegistered},
		}},
		{Op: "unsubscribe", SuccessCount: 1, FailureCount: 1, Errors: []nodeTopicError{{Index: 1, Code: notRegistered}}},
		{Op: "unsubscribeMissing", SuccessCount: 1, Errors: []nodeTopicError{}},
		{Op: "subscribePrefixed", SuccessCount: 1, Errors: []nodeTopicError{}},
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("node results (-want +got):\n%s", diff)
	}

	// The wire: the token exchange, then one request per token on the
	// topicSubscriptions API, in the order the script makes them (the SDK
	// runs them concurrently within one call, so each call is compared as
	// a set).
	base := "/v1/projects/demo/registrations/"
	sub := func(tok, topic string) wireRequest {
		return wireRequest{Method: "POST", Path: base + tok + "/topicSubscriptions?topic_name=" + topic, Host: "fcm.googleapis.com", Auth: "Bearer"}
	}
	unsub := func(tok, topic string) wireRequest {
		return wireRequest{Method: "DELETE", Path: base + tok + "/topicSubscriptions/" + topic + "?allow_missing=true", Host: "fcm.googleapis.com", Auth: "Bearer"}
	}
	wantWire := []wireRequest{
		{Method: "POST", Path: "/token", Host: "oauth2.googleapis.com"},
		sub(d.token, "news"),
		sub(d.token, "news"), sub(gone.token, "news"), sub(foreign.token, "news"), sub("no-such-token", "news"),
		unsub(d.token, "news"), unsub(gone.token, "news"),
		unsub(d.token, "never-subscribed"),
		sub(d.token, "50%25off"),
	}
	byCall := func(w []wireRequest) [][]wireRequest {
		if len(w) != len(wantWire) {
			return [][]wireRequest{w}
		}
		var out [][]wireRequest
		for _, n := range []int{1, 1, 4, 2, 1, 1} {
			call := slices.Clone(w[:n])
			slices.SortFunc(call, func(a, b wireRequest) int { return strings.Compare(a.Path, b.Path) })
			out = append(out, call)
			w = w[n:]
		}
		return out
	}
	if diff := cmp.Diff(byCall(wantWire), byCall(wire)); diff != "" {
		t.Errorf("HTTP requests of the SDK (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"50%off"}, subscribedTopics(t, srv, d.token, day0, today())); diff != "" {
		t.Errorf("topics (-want +got):\n%s", diff)
	}
	// What Node subscribed it to, the device now receives (and only that).
	p.send(t, &messaging.Message{Topic: "news", Data: map[string]string{"n": "unsubscribed topic"}})
	p.send(t, &messaging.Message{Topic: "50%off", Data: map[string]string{"n": "sale"}})
	if m := d.next(t); m.Topic != "50%off" || m.Data["n"] != "sale" {
		t.Fatalf("device got %+v, want the 50%%off topic message", m)
	}
}
