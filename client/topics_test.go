package client

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/heraldpush/herald"
)

// topicMsg builds a message of token's topic stream.
func topicMsg(token string, tseq uint64, topic, text string) herald.Message {
	m := msg(token, 0, text)
	m.TopicSeq, m.Topic = tseq, topic
	return m
}

func TestTopicStreamIsDedupedAndAckedApartFromTheTokenStream(t *testing.T) {
	fs := newFakeServer(t)
	dir := t.TempDir()
	rec := newRecorder()
	c := mustNew(t, rec.config(fs.URL(), dir, t))
	tok := mustRegister(t, c, "app-1")
	stop := startRun(t, c)
	sc := fs.accept()
	sc.handshake(noPing)
	wait(t, rec.connected, "OnConnected")

	// Both streams in one frame: positions of the topic log are not
	// sequences of the token, and neither hides the other.
	cond := topicMsg(tok, 9, "", "c")
	cond.Condition = "'news' in topics && 'sport' in topics"
	sent := []herald.Message{msg(tok, 1, "a"), topicMsg(tok, 7, "news", "b"), cond}
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: sent})
	got := []herald.Message{wait(t, rec.messages, "a"), wait(t, rec.messages, "b"), wait(t, rec.messages, "c")}
	if diff := cmp.Diff(sent, got); diff != "" {
		t.Fatalf("messages (-want +got):\n%s", diff)
	}
	ack := sc.read()
	if diff := cmp.Diff([]herald.Ack{{Token: tok, Seq: 1, TopicSeq: 9}}, ack.Acks); diff != "" {
		t.Fatalf("acks (-want +got):\n%s", diff)
	}
	// The marks were on disk before the ack.
	reg := readStateFile(t, dir).Registrations["app-1"]
	if reg.LastHandled != 1 || reg.LastHandledTopic != 9 {
		t.Fatalf("state on disk when acked: last_handled %d, last_handled_topic %d; want 1, 9", reg.LastHandled, reg.LastHandledTopic)
	}

	// A resent topic message is acknowledged, not delivered; a token
	// message with a sequence below the topic mark is still new.
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{
		topicMsg(tok, 7, "news", "b"), msg(tok, 2, "d"), topicMsg(tok, 12, "news", "e"),
	}})
	if diff := cmp.Diff([]string{"d", "e"}, texts([]herald.Message{wait(t, rec.messages, "d"), wait(t, rec.messages, "e")})); diff != "" {
		t.Fatalf("delivered (-want +got):\n%s", diff)
	}
	ack = sc.read()
	if diff := cmp.Diff([]herald.Ack{{Token: tok, Seq: 2, TopicSeq: 12}}, ack.Acks); diff != "" {
		t.Fatalf("acks (-want +got):\n%s", diff)
	}
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{topicMsg(tok, 12, "news", "e")}})
	ack = sc.read()
	if diff := cmp.Diff([]herald.Ack{{Token: tok, TopicSeq: 12}}, ack.Acks); diff != "" {
		t.Fatalf("acks of a duplicate (-want +got):\n%s", diff)
	}
	none(t, rec.messages, "message")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// The next process resumes both streams.
	rec2 := newRecorder()
	c2 := mustNew(t, rec2.config(fs.URL(), dir, t))
	startRun(t, c2)
	sc = fs.accept()
	hello := sc.handshake(noPing)
	if diff := cmp.Diff([]herald.Resume{{Token: tok, Acked: 2, TopicAcked: 12}}, hello.Registrations); diff != "" {
		t.Fatalf("resume (-want +got):\n%s", diff)
	}
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{topicMsg(tok, 12, "news", "e"), topicMsg(tok, 13, "news", "f")}})
	if got := wait(t, rec2.messages, "f"); got.Data["text"] != "f" {
		t.Fatalf("first message after restart = %q, want f", got.Data["text"])
	}
	sc.read() // ack
	none(t, rec2.messages, "message")
}

func TestTokenRefreshKeepsTheTopicMark(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	c := mustNew(t, rec.config(fs.URL(), "", t))
	old := mustRegister(t, c, "app-1")
	startRun(t, c)
	sc := fs.accept()
	sc.handshake(noPing)
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{topicMsg(old, 40, "news", "a")}})
	wait(t, rec.messages, "a")
	sc.read() // ack

	tok, err := c.RefreshToken(context.Background(), "app-1")
	if err != nil {
		t.Fatal(err)
	}
	// Positions are the project's and the cursor moved with the token:
	// position 40 again (its ack was lost) is a duplicate, 41 is new.
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{topicMsg(tok, 40, "news", "a"), topicMsg(tok, 41, "news", "b")}})
	if got := wait(t, rec.messages, "b"); got.Token != tok || got.TopicSeq != 41 {
		t.Fatalf("got %+v, want the new token's topic message 41", got)
	}
	if diff := cmp.Diff([]herald.Ack{{Token: tok, TopicSeq: 41}}, sc.read().Acks); diff != "" {
		t.Fatalf("acks (-want +got):\n%s", diff)
	}
	none(t, rec.messages, "message")
}

func TestSubscribeAndUnsubscribeCallTheDeviceAPI(t *testing.T) {
	fs := newFakeServer(t)
	c := mustNew(t, newRecorder().config(fs.URL(), "", t))
	ctx := context.Background()
	if err := c.Subscribe(ctx, "app-1", "news"); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("Subscribe before Register = %v, want ErrNotRegistered", err)
	}
	mustRegister(t, c, "app-1")
	for _, topic := range []string{"news", "/topics/a-b_c.d~e%f"} {
		if err := c.Subscribe(ctx, "app-1", topic); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Unsubscribe(ctx, "app-1", "news"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"POST /device/v1/registrations",
		"POST topic news", "POST topic a-b_c.d~e%f", "DELETE topic news",
	}
	if diff := cmp.Diff(want, fs.httpRequests()); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}

	fs.forgetDevices()
	err := c.Subscribe(ctx, "app-1", "news")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Subscribe with a refused credential = %v, want a 401 APIError", err)
	}
}

func TestTopicAcksAreHeldAndRideThePing(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	c := mustNew(t, rec.config(fs.URL(), t.TempDir(), t))
	tok := mustRegister(t, c, "app-1")
	startRun(t, c)
	sc := fs.accept()
	// The hold is far longer than the test: only a ping (or a token ack)
	// can take the topic acks out.
	sc.handshakeWith(herald.Welcome{PingIntervalMillis: 100, TopicAckMillis: time.Hour.Milliseconds()})
	wait(t, rec.connected, "OnConnected")

	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{topicMsg(tok, 5, "news", "a")}})
	wait(t, rec.messages, "a")
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{topicMsg(tok, 8, "news", "b")}})
	wait(t, rec.messages, "b")
	// Pings may come before the ack (one was due while the messages
	// were handled); the ack comes right before a ping, both for both.
	f := sc.readSkippingPings()
	if diff := cmp.Diff([]herald.Ack{{Token: tok, TopicSeq: 8}}, f.Acks); diff != "" {
		t.Fatalf("held topic acks (-want +got):\n%s", diff)
	}
	if f := sc.read(); f.Type != herald.FramePing {
		t.Fatalf("frame after the held acks: %q, want the ping they rode with", f.Type)
	}

	// A token message is acknowledged at once (AckDelay 0), with the
	// topic acks held meanwhile.
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{topicMsg(tok, 9, "news", "c")}})
	wait(t, rec.messages, "c")
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(tok, 1, "d")}})
	wait(t, rec.messages, "d")
	if diff := cmp.Diff([]herald.Ack{{Token: tok, Seq: 1, TopicSeq: 9}}, sc.readSkippingPings().Acks); diff != "" {
		t.Fatalf("token ack with the held topic ack (-want +got):\n%s", diff)
	}
}

func TestTopicAcksGoWhenTheServersHoldEnds(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	c := mustNew(t, rec.config(fs.URL(), t.TempDir(), t))
	tok := mustRegister(t, c, "app-1")
	startRun(t, c)
	sc := fs.accept()
	sc.handshakeWith(herald.Welcome{PingIntervalMillis: noPing.Milliseconds(), TopicAckMillis: 20})
	wait(t, rec.connected, "OnConnected")

	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{topicMsg(tok, 3, "news", "a"), topicMsg(tok, 4, "news", "b")}})
	if diff := cmp.Diff([]herald.Ack{{Token: tok, TopicSeq: 4}}, sc.read().Acks); diff != "" {
		t.Fatalf("topic ack after the hold (-want +got):\n%s", diff)
	}
}
