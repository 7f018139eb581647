package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/auth"
	"github.com/heraldpush/herald/internal/dispatch"
	"github.com/heraldpush/herald/internal/metrics"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/pebblestore"
)

// The wire answers of the three topic management surfaces, over a real
// store. The SDKs' view of them is tested in internal/e2e.

// topicFixture is a server with two projects and tokens in every state.
type topicFixture struct {
	url   string
	admin string
	st    *pebblestore.Store
	// good and other are live tokens of demo (on two devices), deleted a
	// deleted one, full one with the most topics allowed, foreign a token
	// of project "other".
	good, other, deleted, full, foreign string
	goodDevice, otherDevice             herald.DeviceCredential
}

// topicNow is the hub's clock: create_time and addDate come from it.
var topicNow = time.Date(2026, 11, 25, 10, 30, 0, 123456789, time.UTC)

func newTopicFixture(t *testing.T) *topicFixture {
	t.Helper()
	ctx := context.Background()
	st, err := pebblestore.Open(filepath.Join(t.TempDir(), "store"), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logger := slog.New(slog.DiscardHandler)
	m := metrics.New()
	hub := dispatch.New(st, dispatch.Config{PingInterval: time.Minute, SendQueue: 16, Now: func() time.Time { return topicNow }}, m, logger)
	for _, p := range []string{"demo", "other"} {
		if err := st.CreateProject(ctx, store.Project{ID: p}); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateApp(ctx, store.App{Key: "key-" + p, ProjectID: p}); err != nil {
			t.Fatal(err)
		}
	}
	register := func(appKey string) herald.RegisterResponse {
		t.Helper()
		r, err := hub.Register(ctx, appKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	f := &topicFixture{admin: "admin-token-for-the-test", st: st}
	good, other := register("key-demo"), register("key-demo")
	f.good, f.goodDevice = good.Token, *good.Device
	f.other, f.otherDevice = other.Token, *other.Device
	deleted := register("key-demo")
	if err := hub.Delete(ctx, *deleted.Device, deleted.Token); err != nil {
		t.Fatal(err)
	}
	f.deleted = deleted.Token
	f.full = register("key-demo").Token
	topics := make([]string, store.MaxTopicsPerRegistration)
	for i := range topics {
		topics[i] = fmt.Sprintf("t%d", i)
	}
	if _, err := st.Subscribe(ctx, f.full, topics, topicNow); err != nil {
		t.Fatal(err)
	}
	f.foreign = register("key-other").Token

	var ready atomic.Bool
	ready.Store(true)
	api := &API{Store: st, Hub: hub, Admin: auth.NewAdmin(f.admin), Metrics: m, Logger: logger, Ready: &ready,
		Connect: http.NotFoundHandler()}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// call makes a request and returns the status and the body, compacted.
func (f *topicFixture) call(t *testing.T, method, path, authorization, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func (f *topicFixture) bearer() string { return "Bearer " + f.admin }

func (f *topicFixture) topics(t *testing.T, token string) []string {
	t.Helper()
	subs, err := f.st.Subscriptions(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range subs {
		names = append(names, s.Topic)
	}
	return names
}

func TestIIDBatchAnswersPerTokenInOrder(t *testing.T) {
	f := newTopicFixture(t)
	batch := func(op, query string, tokens ...string) (int, string) {
		b, _ := json.Marshal(map[string]any{"to": "/topics/news", "registration_tokens": tokens})
		return f.call(t, "POST", "/iid/v1:"+op+query, f.bearer(), string(b))
	}
	code, body := batch("batchAdd", "?project=demo", f.good, "no-such-token", f.deleted, f.foreign, "bad token", f.full, f.good)
	want := `{"results":[{},{"error":"NOT_FOUND"},{"error":"NOT_FOUND"},{"error":"INVALID_ARGUMENT"},{"error":"INVALID_ARGUMENT"},{"error":"TOO_MANY_TOPICS"},{}]}`
	if code != http.StatusOK || body != want {
		t.Fatalf("batchAdd: %d %s\nwant 200 %s", code, body, want)
	}
	if diff := cmp.Diff([]string{"news"}, f.topics(t, f.good)); diff != "" {
		t.Fatalf("subscriptions (-want +got):\n%s", diff)
	}
	// Without ?project= the admin credential acts on tokens of any project.
	if code, body := batch("batchAdd", "", f.foreign); code != http.StatusOK || body != `{"results":[{}]}` {
		t.Fatalf("admin batchAdd of another project's token: %d %s", code, body)
	}
	// Removing a subscription that does not exist is a success.
	code, body = batch("batchRemove", "?project=demo", f.good, f.other, "no-such-token")
	if want := `{"results":[{},{},{"error":"NOT_FOUND"}]}`; code != http.StatusOK || body != want {
		t.Fatalf("batchRemove: %d %s\nwant 200 %s", code, body, want)
	}
	if got := f.topics(t, f.good); len(got) != 0 {
		t.Fatalf("subscriptions after batchRemove: %v", got)
	}
}

func TestIIDBatchRequestErrors(t *testing.T) {
	f := newTopicFixture(t)
	tooMany := make([]string, maxBatchTokens+1)
	for i := range tooMany {
		tooMany[i] = f.good
	}
	tooManyBody, _ := json.Marshal(map[string]any{"to": "/topics/news", "registration_tokens": tooMany})
	for _, tc := range []struct {
		name, auth, body string
		code             int
		want             string
	}{
		{"no credential", "", `{"to":"/topics/news","registration_tokens":["x"]}`, 401, `{"error":"UNAUTHENTICATED"}`},
		{"bad credential", "Bearer nope", `{"to":"/topics/news","registration_tokens":["x"]}`, 401, `{"error":"UNAUTHENTICATED"}`},
		{"not JSON", f.bearer(), `{"to":`, 400, `{"error":"INVALID_ARGUMENT"}`},
		{"bad topic", f.bearer(), `{"to":"/topics/a b","registration_tokens":["x"]}`, 400, `{"error":"INVALID_ARGUMENT"}`},
		{"no topic", f.bearer(), `{"registration_tokens":["x"]}`, 400, `{"error":"INVALID_ARGUMENT"}`},
		{"topic too long", f.bearer(), `{"to":"/topics/` + strings.Repeat("a", 901) + `","registration_tokens":["x"]}`, 400, `{"error":"INVALID_ARGUMENT"}`},
		{"no tokens", f.bearer(), `{"to":"/topics/news","registration_tokens":[]}`, 400, `{"error":"INVALID_ARGUMENT"}`},
		{"1001 tokens", f.bearer(), string(tooManyBody), 400, `{"error":"INVALID_ARGUMENT"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.call(t, "POST", "/iid/v1:batchAdd", tc.auth, tc.body)
			if code != tc.code || body != tc.want {
				t.Fatalf("got %d %s, want %d %s", code, body, tc.code, tc.want)
			}
		})
	}
	// A name without the /topics/ prefix is accepted too.
	code, body := f.call(t, "POST", "/iid/v1:batchAdd", f.bearer(), `{"to":"a-b_c.d~e%f","registration_tokens":["`+f.good+`"]}`)
	if code != http.StatusOK || body != `{"results":[{}]}` {
		t.Fatalf("bare topic name: %d %s", code, body)
	}
	if diff := cmp.Diff([]string{"a-b_c.d~e%f"}, f.topics(t, f.good)); diff != "" {
		t.Fatalf("subscriptions (-want +got):\n%s", diff)
	}
}

func TestTopicSubscriptionsAPI(t *testing.T) {
	f := newTopicFixture(t)
	base := func(token string) string { return "/v1/projects/demo/registrations/" + token + "/topicSubscriptions" }
	for _, tc := range []struct {
		name, method, path string
		code               int
		want               string
	}{
		{"create", "POST", base(f.good) + "?topic_name=news", 200,
			`{"name":"projects/demo/registrations/` + f.good + `/topicSubscriptions/news","topic_name":"news","create_time":"2026-11-25T10:30:00.123456789Z"}`},
		{"create again", "POST", base(f.good) + "?topic_name=news", 409,
			`{"error":{"code":409,"message":"The registration is already subscribed to topic \"news\".","status":"ALREADY_EXISTS"}}`},
		{"unknown token", "POST", base("no-such-token") + "?topic_name=news", 404,
			`{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}`},
		{"deleted token", "POST", base(f.deleted) + "?topic_name=news", 404,
			`{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}`},
		{"token of another project", "POST", base(f.foreign) + "?topic_name=news", 400,
			`{"error":{"code":400,"message":"The registration token belongs to another project.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"},{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"registration","description":"The registration token belongs to another project."}]}]}}`},
		{"too many topics", "POST", base(f.full) + "?topic_name=news", 400,
			`{"error":{"code":400,"message":"The registration is subscribed to 2000 topics, the most allowed.","status":"FAILED_PRECONDITION","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"TOO_MANY_TOPICS"}]}}`},
		{"bad topic", "POST", base(f.good) + "?topic_name=a%2Fb", 400,
			`{"error":{"code":400,"message":"Invalid topic name \"a/b\": it must match [a-zA-Z0-9-_.~%]{1,900}.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"},{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"topic_name","description":"Invalid topic name \"a/b\": it must match [a-zA-Z0-9-_.~%]{1,900}."}]}]}}`},
		{"get is not served", "GET", base(f.good) + "/news", 501,
			`{"error":{"code":501,"message":"Herald serves create (POST) and delete (DELETE) of topicSubscriptions only.","status":"UNIMPLEMENTED"}}`},
		{"delete", "DELETE", base(f.good) + "/news", 200, `{}`},
		{"delete missing", "DELETE", base(f.good) + "/news", 404,
			`{"error":{"code":404,"message":"The registration is not subscribed to topic \"news\".","status":"NOT_FOUND"}}`},
		{"delete missing, allowed", "DELETE", base(f.good) + "/news?allow_missing=true", 200, `{}`},
		{"delete of an unknown token", "DELETE", base("no-such-token") + "/news?allow_missing=true", 404,
			`{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}`},
		{"percent in the name", "POST", base(f.good) + "?topic_name=50%25off", 200,
			`{"name":"projects/demo/registrations/` + f.good + `/topicSubscriptions/50%off","topic_name":"50%off","create_time":"2026-11-25T10:30:00.123456789Z"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := ""
			if tc.method == "POST" {
				body = "{}"
			}
			code, got := f.call(t, tc.method, tc.path, f.bearer(), body)
			if code != tc.code || got != tc.want {
				t.Fatalf("%s %s:\ngot  %d %s\nwant %d %s", tc.method, tc.path, code, got, tc.code, tc.want)
			}
		})
	}
	if diff := cmp.Diff([]string{"50%off"}, f.topics(t, f.good)); diff != "" {
		t.Fatalf("subscriptions (-want +got):\n%s", diff)
	}
	code, body := f.call(t, "POST", base(f.good)+"?topic_name=news", "", "{}")
	if code != http.StatusUnauthorized || !strings.Contains(body, `"status":"UNAUTHENTICATED"`) {
		t.Fatalf("without a credential: %d %s", code, body)
	}
}

func TestDeviceTopics(t *testing.T) {
	f := newTopicFixture(t)
	device := func(c herald.DeviceCredential) string { return herald.DeviceAuthScheme + " " + c.ID + ":" + c.Secret }
	path := func(token, topic string) string {
		return herald.PathRegistration + "/" + token + herald.PathTopics + "/" + topic
	}
	for _, tc := range []struct {
		name, method, path, auth string
		code                     int
		want                     string
	}{
		{"subscribe", "POST", path(f.good, "news"), device(f.goodDevice), 200, `{}`},
		{"subscribe again", "POST", path(f.good, "news"), device(f.goodDevice), 200, `{}`},
		{"another device's token", "POST", path(f.good, "sport"), device(f.otherDevice), 403,
			`{"error":{"code":403,"message":"this registration token belongs to another device","status":"PERMISSION_DENIED"}}`},
		{"no credential", "POST", path(f.good, "sport"), "", 401,
			`{"error":{"code":401,"message":"missing device credential: want Authorization: Device \u003cid\u003e:\u003csecret\u003e","status":"UNAUTHENTICATED"}}`},
		{"bad topic", "POST", path(f.good, "a%20b"), device(f.goodDevice), 400,
			`{"error":{"code":400,"message":"invalid topic name \"a b\": it must match [a-zA-Z0-9-_.~%]{1,900}","status":"INVALID_ARGUMENT"}}`},
		{"unsubscribe", "DELETE", path(f.good, "news"), device(f.goodDevice), 200, `{}`},
		{"unsubscribe again", "DELETE", path(f.good, "news"), device(f.goodDevice), 200, `{}`},
		{"subscribe percent", "POST", path(f.good, "50%25off"), device(f.goodDevice), 200, `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, got := f.call(t, tc.method, tc.path, tc.auth, "")
			if code != tc.code || got != tc.want {
				t.Fatalf("%s %s:\ngot  %d %s\nwant %d %s", tc.method, tc.path, code, got, tc.code, tc.want)
			}
		})
	}
	if diff := cmp.Diff([]string{"50%off"}, f.topics(t, f.good)); diff != "" {
		t.Fatalf("subscriptions (-want +got):\n%s", diff)
	}
}
