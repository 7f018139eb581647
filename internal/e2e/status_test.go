package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"firebase.google.com/go/v4/messaging"

	"github.com/heraldpush/herald/internal/cli"
	"github.com/heraldpush/herald/internal/config"
	"github.com/heraldpush/herald/internal/heraldtest"
	"github.com/heraldpush/herald/internal/httpapi"
)

// Message status (docs/api.md "Message status"), read the way an app
// server reads it: GET /v1/{name} with the project's service-account
// access token.

// statusReader reads message status through the FCM-side API.
type statusReader struct {
	srv    *heraldtest.Server
	bearer string
}

func newStatusReader(t *testing.T, srv *heraldtest.Server, p project) statusReader {
	return statusReader{srv: srv, bearer: projectAccessToken(t, p)}
}

// get reads a message's status; it fails the test unless the answer is
// 200.
func (r statusReader) get(t *testing.T, name string) httpapi.MessageStatus {
	t.Helper()
	code, _, body := call(t, "GET", r.srv.URL+"/v1/"+name, "", map[string]string{"Authorization": "Bearer " + r.bearer})
	if code != 200 {
		t.Fatalf("status of %s: %d %s", name, code, body)
	}
	var st httpapi.MessageStatus
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("status of %s: %v in %s", name, err, body)
	}
	if st.Name != name {
		t.Fatalf("status of %s names %s", name, st.Name)
	}
	return st
}

// await reads the status until ok accepts it. Deliveries reach the status
// after the device's ack, which the SDK sends on its own after the app's
// callback, and the server's batching of deliveries: the helper watches
// the observable state (bounded by waitTimeout) instead of assuming how
// long that takes.
func (r statusReader) await(t *testing.T, name, what string, ok func(httpapi.MessageStatus) bool) httpapi.MessageStatus {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		st := r.get(t, name)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("status of %s never became %s; last %+v (counts %+v)", name, what, st, st.Counts)
		}
		<-tick.C
	}
}

func state(want string) func(httpapi.MessageStatus) bool {
	return func(st httpapi.MessageStatus) bool { return st.State == want }
}

// counts renders a status's counts, absent ones as "-".
func counts(st httpapi.MessageStatus) string {
	c := st.Counts
	if c == nil {
		return "no counts"
	}
	n := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return itoa(*p)
	}
	return "targeted " + n(c.Targeted) + " delivered " + itoa(c.Delivered) + " pending " + n(c.Pending) + " expired " + n(c.Expired)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestTokenMessageStatusAcceptedThenDelivered(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	r := newStatusReader(t, srv, p)
	d := newDevice(t, srv, p.appKey, "")

	name := p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"n": "1"}})
	st := r.get(t, name)
	if st.State != "accepted" || st.Counts != nil || st.Target.Token == "" || st.Target.Topic != "" ||
		st.AcceptTime == "" || st.ExpireTime == "" || st.Reason != "" {
		t.Fatalf("status after send: %+v", st)
	}
	if st.Target.Token == d.token || !strings.HasPrefix(d.token, strings.TrimSuffix(st.Target.Token, "…")) {
		t.Fatalf("target token %q: want a prefix of the token, not all of it", st.Target.Token)
	}

	// Status is on disk with the message: a restart keeps it.
	srv.Restart(t)
	r = newStatusReader(t, srv, p)
	if st := r.get(t, name); st.State != "accepted" {
		t.Fatalf("status after a restart: %+v", st)
	}

	d.run(t)
	if m := d.next(t); m.Data["n"] != "1" {
		t.Fatalf("device got %+v", m)
	}
	st = r.await(t, name, "delivered", state("delivered"))
	if st.UpdateTime == st.AcceptTime || st.UpdateTime == "" {
		t.Errorf("delivered status keeps update_time %q (accepted %q)", st.UpdateTime, st.AcceptTime)
	}

	// A message acked in the hello of a later connection (the device
	// handled it, then went away before its ack frame left) counts too.
	second := p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"n": "2"}})
	if m := d.next(t); m.Data["n"] != "2" {
		t.Fatalf("device got %+v", m)
	}
	d.close()
	d.run(t)
	r.await(t, second, "delivered", state("delivered"))
}

func TestCollapsedAndDroppedStatus(t *testing.T) {
	srv := heraldtest.Start(t, func(c *config.Config) { c.MaxPending = 2 })
	p := newProject(t, srv, "demo")
	r := newStatusReader(t, srv, p)
	d := newDevice(t, srv, p.appKey, "")

	score := func(v string) string {
		return p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"v": v},
			Android: &messaging.AndroidConfig{CollapseKey: "score"}})
	}
	first := score("1-0")
	second := score("2-0")
	plain := make([]string, 3)
	for i := range plain {
		plain[i] = p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"i": itoa(int64(i))}})
	}

	for _, c := range []struct{ name, want string }{
		{first, "collapsed"}, {second, "accepted"},
		{plain[0], "dropped"}, {plain[1], "dropped"}, {plain[2], "accepted"},
	} {
		st := r.get(t, c.name)
		if st.State != c.want {
			t.Errorf("%s: state %s, want %s", c.name, st.State, c.want)
		}
		if c.want != "accepted" && (st.Reason == "" || st.UpdateTime == st.AcceptTime) {
			t.Errorf("%s: %s without a reason or an update time: %+v", c.name, st.State, st)
		}
	}
}

func TestExpiredStatusReadsByTheClock(t *testing.T) {
	var clk clock
	srv := heraldtest.Start(t, withClock(&clk))
	p := newProject(t, srv, "demo")
	r := newStatusReader(t, srv, p)
	d := newDevice(t, srv, p.appKey, "")

	name := p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"n": "short"},
		Android: &messaging.AndroidConfig{TTL: ttl(10 * time.Second)}})
	if st := r.get(t, name); st.State != "accepted" {
		t.Fatalf("before expiry: %+v", st)
	}
	clk.advance(11 * time.Second)
	st := r.get(t, name)
	if st.State != "expired" || st.UpdateTime != st.ExpireTime {
		t.Fatalf("after expiry: %+v", st)
	}
	// The purge does not change it, and the device never gets it.
	d.run(t)
	d.nothingBut(t, p, "after expiry")
	if st := r.get(t, name); st.State != "expired" {
		t.Fatalf("after the device connected: %+v", st)
	}
}

// The devices hold their topic acks as by default (the server's 30 s
// topic ack hold) and send them with their pings, every second here: the
// counts come from those.
func TestTopicMessageCounts(t *testing.T) {
	var clk clock
	srv := heraldtest.Start(t, withClock(&clk), func(c *config.Config) {
		c.TopicAckHold, c.PingInterval = config.Default().TopicAckHold, time.Second
	})
	p := newProject(t, srv, "demo")
	r := newStatusReader(t, srv, p)
	devs := make([]*device, 3)
	for i := range devs {
		devs[i] = newDevice(t, srv, p.appKey, "")
		devs[i].subscribe(t, p.appKey, "news")
	}
	devs[0].run(t)
	devs[1].run(t)

	name := p.send(t, &messaging.Message{Topic: "news", Data: map[string]string{"n": "1"}})
	st := r.get(t, name)
	if st.Target.Topic != "news" || st.Target.Token != "" || st.Counts == nil || st.Counts.Targeted == nil || *st.Counts.Targeted != 3 {
		t.Fatalf("status after send: %+v (%s)", st, counts(st))
	}
	devs[0].next(t)
	devs[1].next(t)
	want := "targeted 3 delivered 2 pending 1 expired 0"
	st = r.await(t, name, want, func(st httpapi.MessageStatus) bool { return counts(st) == want })
	if st.State != "accepted" {
		t.Errorf("with one pending: state %s, want accepted", st.State)
	}

	devs[2].run(t)
	devs[2].next(t)
	want = "targeted 3 delivered 3 pending 0 expired 0"
	st = r.await(t, name, want, func(st httpapi.MessageStatus) bool { return counts(st) == want })
	if st.State != "completed" {
		t.Errorf("all delivered: state %s, want completed", st.State)
	}

	// The third device goes away; a message it misses expires for it.
	devs[2].close()
	short := p.send(t, &messaging.Message{Topic: "news", Data: map[string]string{"n": "2"},
		Android: &messaging.AndroidConfig{TTL: ttl(time.Minute)}})
	devs[0].next(t)
	devs[1].next(t)
	want = "targeted 3 delivered 2 pending 1 expired 0"
	r.await(t, short, want, func(st httpapi.MessageStatus) bool { return counts(st) == want })
	clk.advance(2 * time.Minute)
	st = r.get(t, short)
	if got := counts(st); got != "targeted 3 delivered 2 pending 0 expired 1" || st.State != "expired" {
		t.Fatalf("after expiry: state %s, %s", st.State, got)
	}
}

func TestConditionCountsEachDeviceOnce(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	r := newStatusReader(t, srv, p)
	ab := newDevice(t, srv, p.appKey, "")
	ab.subscribe(t, p.appKey, "a", "b")
	a := newDevice(t, srv, p.appKey, "")
	a.subscribe(t, p.appKey, "a")
	c := newDevice(t, srv, p.appKey, "")
	c.subscribe(t, p.appKey, "c")
	for _, d := range []*device{ab, a, c} {
		d.run(t)
	}

	name := p.send(t, &messaging.Message{Condition: "'a' in topics || 'b' in topics", Data: map[string]string{"n": "ab"}})
	ab.next(t)
	a.next(t)
	want := "targeted 2 delivered 2 pending 0 expired 0"
	st := r.await(t, name, want, func(st httpapi.MessageStatus) bool { return counts(st) == want })
	if st.State != "completed" || st.Target.Condition != "'a' in topics || 'b' in topics" {
		t.Fatalf("condition status: %+v", st)
	}

	// True for a registration with none of its topics: reaches devices
	// outside the subscriber lists, which are not counted.
	neg := p.send(t, &messaging.Message{Condition: "!('a' in topics)", Data: map[string]string{"n": "not-a"}})
	if m := c.next(t); m.Data["n"] != "not-a" {
		t.Fatalf("c got %+v", m)
	}
	st = r.await(t, neg, "delivered 1, uncounted", func(st httpapi.MessageStatus) bool {
		return counts(st) == "targeted - delivered 1 pending - expired -"
	})
	if st.State != "accepted" {
		t.Errorf("uncounted condition: state %s, want accepted until it expires", st.State)
	}
}

func TestMessageStatusErrors(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	other := newProject(t, srv, "other")
	d := newDevice(t, srv, p.appKey, "")
	name := p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"n": "1"}})
	id := name[strings.LastIndex(name, "/")+1:]
	bearer := func(p project) map[string]string {
		return map[string]string{"Authorization": "Bearer " + projectAccessToken(t, p)}
	}
	admin := map[string]string{"Authorization": "Bearer " + srv.AdminToken}

	for _, tc := range []struct {
		what, path string
		header     map[string]string
		code       int
		status     string
	}{
		{"unknown ID", "/v1/projects/demo/messages/nosuchmessage", bearer(p), 404, "NOT_FOUND"},
		{"validate_only ID", "/v1/projects/demo/messages/fake_message_id", bearer(p), 404, "NOT_FOUND"},
		{"another project's message", "/v1/projects/other/messages/" + id, bearer(other), 404, "NOT_FOUND"},
		{"another project's credentials", "/v1/" + name, bearer(other), 403, "PERMISSION_DENIED"},
		{"no credentials", "/v1/" + name, nil, 401, "UNAUTHENTICATED"},
		{"missing project", "/v1/projects/nope/messages/" + id, admin, 404, "NOT_FOUND"},
		{"admin: unknown ID", "/admin/v1/projects/demo/messages/nosuchmessage", admin, 404, "NOT_FOUND"},
		{"admin: another project's message", "/admin/v1/projects/other/messages/" + id, admin, 404, "NOT_FOUND"},
		{"admin: no credential", "/admin/v1/" + name, nil, 401, "UNAUTHENTICATED"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			code, st, body := call(t, "GET", srv.URL+tc.path, "", tc.header)
			if code != tc.code || st.Status != tc.status {
				t.Fatalf("got %d %s", code, body)
			}
		})
	}
	var st httpapi.MessageStatus
	srv.Admin(t, "GET", "/admin/v1/"+name, nil, &st)
	if st.Name != name || st.State != "accepted" {
		t.Fatalf("admin status: %+v", st)
	}
}

func TestStatusThroughTheCLI(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	r := newStatusReader(t, srv, p)
	d := newDevice(t, srv, p.appKey, "")
	d.subscribe(t, p.appKey, "news")
	d.run(t)
	env := map[string]string{"HERALD_SERVER": srv.URL, "HERALD_DATA": srv.DataDir}
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := cli.Run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("herald %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
		}
		return out.String()
	}

	name := p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"n": "1"}})
	d.next(t)
	r.await(t, name, "delivered", state("delivered"))
	out := run("status", name)
	if !strings.Contains(out, "name: "+name+"\nstate: delivered\ntarget: token ") || !strings.Contains(out, "\naccepted: ") {
		t.Fatalf("herald status printed:\n%s", out)
	}
	id := name[strings.LastIndex(name, "/")+1:]
	var raw httpapi.MessageStatus
	if err := json.Unmarshal([]byte(run("status", id, "--project", "demo", "--json")), &raw); err != nil || raw.State != "delivered" {
		t.Fatalf("herald status --json: %+v, %v", raw, err)
	}

	topic := p.send(t, &messaging.Message{Topic: "news", Data: map[string]string{"n": "2"}})
	d.next(t)
	r.await(t, topic, "completed", state("completed"))
	out = run("status", topic)
	if !strings.Contains(out, "state: completed\ntarget: topic news\n") || !strings.Contains(out, "targeted: 1\ndelivered: 1\npending: 0\nexpired: 0\n") {
		t.Fatalf("herald status of a topic message printed:\n%s", out)
	}

	var out2, errb bytes.Buffer
	code := cli.Run(context.Background(), []string{"status", "nosuchmessage", "--project", "demo"}, func(k string) string { return env[k] }, strings.NewReader(""), &out2, &errb)
	if code != 1 || !strings.Contains(errb.String(), "NOT_FOUND") {
		t.Fatalf("status of an unknown message: exit %d, stderr %q", code, errb.String())
	}
}
