package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"firebase.google.com/go/v4/messaging"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/config"
	"github.com/heraldpush/herald/internal/heraldtest"
)

func TestSendWithFirebaseAdminSDKReachesTheApp(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	d := newDevice(t, srv, p.appKey, "")
	d.run(t)

	name := p.send(t, &messaging.Message{
		Token:        d.token,
		Data:         map[string]string{"k": "v"},
		Notification: &messaging.Notification{Title: "Hello", Body: "World"},
		Android:      &messaging.AndroidConfig{Priority: "high", CollapseKey: "greeting", TTL: ttl(90 * time.Second)},
	})
	if !strings.HasPrefix(name, "projects/demo/messages/") {
		t.Fatalf("name = %q, want projects/demo/messages/ID", name)
	}
	m := d.next(t)
	if got, want := "projects/demo/messages/"+m.ID, name; got != want {
		t.Errorf("message id: got %q, want %q", got, want)
	}
	if m.Token != d.token || m.From != "demo" || m.Seq != 1 || m.Priority != herald.PriorityHigh ||
		m.CollapseKey != "greeting" || m.TTLSeconds != 90 || m.Data["k"] != "v" ||
		m.Notification == nil || m.Notification.Title != "Hello" || m.Notification.Body != "World" {
		t.Errorf("delivered message = %+v", m)
	}
}

func TestOfflineDeviceGetsMessagesOnReconnect(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	state := t.TempDir()
	d := newDevice(t, srv, p.appKey, state)
	token := d.token
	d.close() // registered, never connected

	for i := range 3 {
		p.send(t, &messaging.Message{Token: token, Data: map[string]string{"i": strconv.Itoa(i)}})
	}
	srv.Restart(t) // the messages survive a restart too

	d2 := newDevice(t, srv, p.appKey, state)
	if d2.token != token {
		t.Fatalf("same state directory gave another token: %q vs %q", d2.token, token)
	}
	d2.run(t)
	for i := range 3 {
		m := d2.next(t)
		if m.Data["i"] != strconv.Itoa(i) || m.Seq != uint64(i+1) {
			t.Fatalf("message %d = %+v", i, m)
		}
	}
}

func TestExpiredMessagesAreNotDelivered(t *testing.T) {
	var clk clock
	srv := heraldtest.Start(t, withClock(&clk))
	p := newProject(t, srv, "demo")
	d := newDevice(t, srv, p.appKey, "")

	p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"n": "short"}, Android: &messaging.AndroidConfig{TTL: ttl(10 * time.Second)}})
	p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"n": "long"}, Android: &messaging.AndroidConfig{TTL: ttl(time.Hour)}})
	clk.advance(11 * time.Second)

	d.run(t)
	if m := d.next(t); m.Data["n"] != "long" {
		t.Fatalf("first delivered = %+v, want the unexpired one", m)
	}
}

func TestTTLZeroIsNowOrNever(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	d := newDevice(t, srv, p.appKey, "")

	// Offline: accepted, never delivered.
	p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"n": "offline"}, Android: &messaging.AndroidConfig{TTL: ttl(0)}})
	d.run(t)
	p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"n": "marker"}})
	if m := d.next(t); m.Data["n"] != "marker" {
		t.Fatalf("got %+v, want the marker (the TTL 0 message sent while offline must be dropped)", m)
	}
	// Online: delivered at once.
	p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"n": "online"}, Android: &messaging.AndroidConfig{TTL: ttl(0)}})
	if m := d.next(t); m.Data["n"] != "online" || m.TTLSeconds != 0 {
		t.Fatalf("got %+v, want the TTL 0 message sent while online", m)
	}
}

func TestCollapseKeepsTheLatestPerKey(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	d := newDevice(t, srv, p.appKey, "")

	send := func(key, v string) {
		var a *messaging.AndroidConfig
		if key != "" {
			a = &messaging.AndroidConfig{CollapseKey: key}
		}
		p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"v": v}, Android: a})
	}
	send("score", "1-0")
	send("", "plain")
	send("score", "2-0")
	send("score", "2-1")
	for k := 1; k <= 4; k++ { // k4 is a fifth key: the oldest key ("score") goes
		send("k"+strconv.Itoa(k), "k"+strconv.Itoa(k))
	}
	d.run(t)
	var got []string
	for range 5 {
		got = append(got, d.next(t).Data["v"])
	}
	if want := []string{"plain", "k1", "k2", "k3", "k4"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
}

func TestPendingLimitDropsAndReportsDeleted(t *testing.T) {
	srv := heraldtest.Start(t, func(c *config.Config) { c.MaxPending = 5 })
	p := newProject(t, srv, "demo")
	d := newDevice(t, srv, p.appKey, "")
	for i := range 7 {
		p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"i": strconv.Itoa(i)}})
	}
	d.run(t)
	if n := d.nextDeleted(t); n != 5 {
		t.Fatalf("deleted count = %d, want 5", n)
	}
	for _, want := range []string{"5", "6"} {
		if m := d.next(t); m.Data["i"] != want {
			t.Fatalf("got %+v, want message %s", m, want)
		}
	}
}

func TestOrderUnderConcurrentSends(t *testing.T) {
	// 400 messages in a burst may all be pending (sent, not yet acked) at
	// once, and exceed the rate limit per device (240 a minute): lift both
	// limits, which are not what this test is about.
	srv := heraldtest.Start(t, func(c *config.Config) {
		c.MaxPending = 1000
		c.DeviceRateMinute, c.DeviceRateHour = 0, 0
	})
	p := newProject(t, srv, "demo")
	d := newDevice(t, srv, p.appKey, "")
	d.run(t)

	const senders, each = 16, 25
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, err := p.fcm.Send(context.Background(), &messaging.Message{Token: d.token,
					Data: map[string]string{"s": strconv.Itoa(s), "i": strconv.Itoa(i)}})
				if err != nil {
					t.Errorf("send: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	next := make([]int, senders)
	var lastSeq uint64
	for range senders * each {
		m := d.next(t)
		s, _ := strconv.Atoi(m.Data["s"])
		i, _ := strconv.Atoi(m.Data["i"])
		if m.Seq != lastSeq+1 {
			t.Fatalf("seq %d after %d", m.Seq, lastSeq)
		}
		lastSeq = m.Seq
		if i != next[s] {
			t.Fatalf("sender %d: got message %d, want %d (acceptance order broken)", s, i, next[s])
		}
		next[s]++
	}
}

func TestDeleteTokenThenSendIsUnregistered(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	d := newDevice(t, srv, p.appKey, "")
	token := d.token
	if err := d.c.DeleteToken(context.Background(), p.appKey); err != nil {
		t.Fatal(err)
	}
	_, err := p.fcm.Send(context.Background(), &messaging.Message{Token: token, Data: map[string]string{"a": "b"}})
	if !messaging.IsUnregistered(err) {
		t.Fatalf("send to a deleted token: err = %v, want UNREGISTERED", err)
	}
	_, err = p.fcm.Send(context.Background(), &messaging.Message{Token: "never-issued", Data: map[string]string{"a": "b"}})
	if !messaging.IsUnregistered(err) {
		t.Fatalf("send to an unknown token: err = %v, want UNREGISTERED", err)
	}
}

func TestTokenOfAnotherProjectIsSenderIDMismatch(t *testing.T) {
	srv := heraldtest.Start(t)
	a := newProject(t, srv, "alpha")
	b := newProject(t, srv, "beta")
	d := newDevice(t, srv, a.appKey, "")
	_, err := b.fcm.Send(context.Background(), &messaging.Message{Token: d.token, Data: map[string]string{"a": "b"}})
	if !messaging.IsSenderIDMismatch(err) {
		t.Fatalf("err = %v, want SENDER_ID_MISMATCH", err)
	}
}

func TestBadRequestsStoreNothing(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	d := newDevice(t, srv, p.appKey, "")

	big := strings.Repeat("x", 4097)
	for _, m := range []*messaging.Message{
		{Token: d.token, Data: map[string]string{"big": big}},
		{Token: d.token, Data: map[string]string{"from": "me"}},
	} {
		if _, err := p.fcm.Send(context.Background(), m); !messaging.IsInvalidArgument(err) {
			t.Errorf("err = %v, want INVALID_ARGUMENT", err)
		}
	}
	if _, err := p.fcm.Send(context.Background(), &messaging.Message{Token: "bad token", Data: map[string]string{"a": "b"}}); !messaging.IsUnregistered(err) {
		t.Errorf("bad token: err = %v, want UNREGISTERED", err)
	}
	// Nothing of the above was stored: the first message the device sees
	// is the good one, with sequence 1.
	p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"n": "good"}})
	d.run(t)
	if m := d.next(t); m.Data["n"] != "good" || m.Seq != 1 {
		t.Fatalf("first delivered = %+v, want the good message with seq 1", m)
	}
}

func TestDedupeAcrossSDKRestart(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	state := t.TempDir()
	d := newDevice(t, srv, p.appKey, state)
	for i := range 3 {
		p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"i": strconv.Itoa(i)}})
	}
	// Stop the server from inside the app's callback: the device handles
	// the messages but its acks cannot reach the server.
	stopped := make(chan struct{})
	go func() {
		<-d.msgs
		srv.Stop(t)
		close(stopped)
	}()
	d.run(t)
	<-stopped
	d.close()
	handled := d.handled.Load()
	if handled < 1 {
		t.Fatalf("handled %d messages before the stop", handled)
	}

	srv.Restart(t)
	p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"i": "3"}})
	d2 := newDevice(t, srv, p.appKey, state) // the SDK restarts on the same state
	d2.run(t)
	var got []string
	for range 3 - handled + 1 {
		got = append(got, d2.next(t).Data["i"])
	}
	want := []string{}
	for i := handled; i <= 3; i++ {
		want = append(want, strconv.Itoa(int(i)))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after restart the app got %v, want %v: each message exactly once", got, want)
	}
}
