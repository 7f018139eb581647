package e2e

import (
	"context"
	"strconv"
	"testing"
	"time"

	"firebase.google.com/go/v4/messaging"

	"github.com/heraldpush/herald/internal/heraldtest"
)

// subscribe subscribes a device's registration to topics through the
// device API (the Go client SDK).
func (d *device) subscribe(t *testing.T, appKey string, topics ...string) {
	t.Helper()
	for _, topic := range topics {
		if err := d.c.Subscribe(context.Background(), appKey, topic); err != nil {
			t.Fatalf("subscribe %s: %v", topic, err)
		}
	}
}

// nothingBut checks that the next message the device gets is the marker
// sent now to its token: nothing else was delivered before it.
func (d *device) nothingBut(t *testing.T, p project, why string) {
	t.Helper()
	p.send(t, &messaging.Message{Token: d.token, Data: map[string]string{"marker": why}})
	if m := d.next(t); m.Data["marker"] != why {
		t.Fatalf("%s: got %+v before the marker", why, m)
	}
}

func TestTopicMessagesReachTheirSubscribersOnly(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	news := newDevice(t, srv, p.appKey, "")
	sports := newDevice(t, srv, p.appKey, "")
	none := newDevice(t, srv, p.appKey, "")
	news.subscribe(t, p.appKey, "news")
	sports.subscribe(t, p.appKey, "sports")
	for _, d := range []*device{news, sports, none} {
		d.run(t)
	}

	name := p.send(t, &messaging.Message{Topic: "news", Data: map[string]string{"h": "headline"},
		Android: &messaging.AndroidConfig{Priority: "high"}})
	m := news.next(t)
	if "projects/demo/messages/"+m.ID != name || m.Topic != "news" || m.TopicSeq == 0 || m.Seq != 0 ||
		m.Token != news.token || m.Data["h"] != "headline" {
		t.Fatalf("news subscriber got %+v (name %s)", m, name)
	}
	sports.nothingBut(t, p, "sports")
	none.nothingBut(t, p, "none")
}

func TestOfflineSubscriberCatchesUpFromItsSubscription(t *testing.T) {
	var clk clock
	srv := heraldtest.Start(t, withClock(&clk))
	p := newProject(t, srv, "demo")
	early := newDevice(t, srv, p.appKey, "")
	early.subscribe(t, p.appKey, "news")

	sendNews := func(n string, ttl time.Duration) {
		p.send(t, &messaging.Message{Topic: "news", Data: map[string]string{"n": n},
			Android: &messaging.AndroidConfig{TTL: &ttl}})
	}
	sendNews("1", time.Hour)
	late := newDevice(t, srv, p.appKey, "")
	late.subscribe(t, p.appKey, "news") // after message 1: it must not get it
	sendNews("2-short", 10*time.Second)
	sendNews("3", time.Hour)
	clk.advance(time.Minute) // 2-short expires

	early.run(t)
	late.run(t)
	for _, c := range []struct {
		d    *device
		want []string
	}{{early, []string{"1", "3"}}, {late, []string{"3"}}} {
		for _, want := range c.want {
			if m := c.d.next(t); m.Data["n"] != want {
				t.Fatalf("got %+v, want message %s", m, want)
			}
		}
		c.d.nothingBut(t, p, "end")
	}
}

func TestConditionsAndOneCopyPerDevice(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	abc := newDevice(t, srv, p.appKey, "")
	abc.subscribe(t, p.appKey, "a", "b", "c")
	a := newDevice(t, srv, p.appKey, "")
	a.subscribe(t, p.appKey, "a")
	abc.run(t)
	a.run(t)

	p.send(t, &messaging.Message{Condition: "'a' in topics || 'b' in topics || 'c' in topics", Data: map[string]string{"n": "any"}})
	p.send(t, &messaging.Message{Condition: "'a' in topics && !('c' in topics)", Data: map[string]string{"n": "a-not-c"}})
	if m := abc.next(t); m.Data["n"] != "any" || m.Condition == "" {
		t.Fatalf("abc got %+v", m)
	}
	abc.nothingBut(t, p, "abc: one copy, and not a-not-c")
	for _, want := range []string{"any", "a-not-c"} {
		if m := a.next(t); m.Data["n"] != want {
			t.Fatalf("a got %+v, want %s", m, want)
		}
	}

	_, err := p.fcm.Send(context.Background(), &messaging.Message{Condition: "'a' in topics &&", Data: map[string]string{"n": "x"}})
	if !messaging.IsInvalidArgument(err) {
		t.Fatalf("bad condition: %v, want INVALID_ARGUMENT", err)
	}
}

func TestUnsubscribeStopsDeliveryAndAckedTopicMessagesStayDelivered(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	state := t.TempDir()
	d := newDevice(t, srv, p.appKey, state)
	d.subscribe(t, p.appKey, "news")
	d.run(t)
	for i := range 3 {
		p.send(t, &messaging.Message{Topic: "news", Data: map[string]string{"n": strconv.Itoa(i)}})
	}
	for i := range 3 {
		if m := d.next(t); m.Data["n"] != strconv.Itoa(i) {
			t.Fatalf("got %+v, want %d", m, i)
		}
	}
	// Reconnect (an SDK restart on the same state): nothing comes again.
	d.close()
	d2 := newDevice(t, srv, p.appKey, state)
	d2.run(t)
	d2.nothingBut(t, p, "after restart")

	if err := d2.c.Unsubscribe(context.Background(), p.appKey, "news"); err != nil {
		t.Fatal(err)
	}
	p.send(t, &messaging.Message{Topic: "news", Data: map[string]string{"n": "after unsubscribe"}})
	d2.nothingBut(t, p, "after unsubscribe")
}

// The app server's whole topic flow with the Go Firebase Admin SDK:
// SubscribeToTopic (Instance ID API, host rewritten to Herald), then Send to
// the topic and to a condition; a connected device gets them at once, a
// device that was away when they were sent gets them when it comes back.
func TestGoAdminSDKSubscribeThenSendToTopic(t *testing.T) {
	srv := heraldtest.Start(t)
	p := newProject(t, srv, "demo")
	admin := topicAdminClient(t, srv, p.id, p.sa)
	online := newDevice(t, srv, p.appKey, "")
	away := newDevice(t, srv, p.appKey, "")
	online.run(t)
	resp, err := admin.SubscribeToTopic(context.Background(), []string{online.token, away.token}, "weather")
	if err != nil || resp.SuccessCount != 2 {
		t.Fatalf("SubscribeToTopic: %+v, %v", resp, err)
	}
	p.send(t, &messaging.Message{Topic: "weather", Data: map[string]string{"n": "topic"}})
	p.send(t, &messaging.Message{Condition: "'weather' in topics && !('news' in topics)", Data: map[string]string{"n": "condition"}})
	for _, d := range []*device{online, away} {
		if d == away {
			d.run(t)
		}
		for _, want := range []string{"topic", "condition"} {
			if m := d.next(t); m.Data["n"] != want || m.TopicSeq == 0 {
				t.Fatalf("got %+v, want the %s message", m, want)
			}
		}
	}
	if _, err := admin.UnsubscribeFromTopic(context.Background(), []string{online.token}, "weather"); err != nil {
		t.Fatal(err)
	}
	p.send(t, &messaging.Message{Topic: "weather", Data: map[string]string{"n": "after"}})
	online.nothingBut(t, p, "unsubscribed")
	if m := away.next(t); m.Data["n"] != "after" {
		t.Fatalf("still subscribed device got %+v", m)
	}
}
