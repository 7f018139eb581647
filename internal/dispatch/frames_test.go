package dispatch

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/store"
)

// The hand-written frame encoder must produce frames that the protocol's
// decoder reads back exactly.
func TestBatchFramesDecode(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	body := func(b Body) []byte {
		p, err := EncodeBody(b)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	msgs := []*store.Message{
		{Token: "tok", Seq: 1, ID: "id1", ProjectID: "demo", AcceptedAt: at, TTL: time.Hour, High: true,
			Payload: body(Body{Data: map[string]string{"k": "v \"quoted\" \u2028 <tag> \x01"}})},
		{Token: "tok", Seq: 2, ID: "id2", ProjectID: "demo", AcceptedAt: at, CollapseKey: "weird\"key\\\n",
			Payload: body(Body{Notification: &herald.Notification{Title: "Hi", Body: "there", Image: "https://x/y.png"}})},
		{Token: "tok", Seq: 3, Kind: store.KindDeleted, Dropped: 100},
		{Token: "tok", Seq: 4, ID: "id4", ProjectID: "demo", AcceptedAt: at, Payload: body(Body{})},
	}
	var b batch
	b.addFrame(pongFrame)
	for _, m := range msgs {
		b.addMsg(m)
	}
	var got []herald.Frame
	for _, f := range b.frames() {
		fr, err := herald.DecodeFrame(f)
		if err != nil {
			t.Fatalf("frame %s: %v", f, err)
		}
		got = append(got, fr)
	}
	msg := func(m *store.Message, p herald.Priority, data map[string]string, n *herald.Notification) herald.Message {
		return herald.Message{ID: m.ID, Seq: m.Seq, Token: m.Token, From: m.ProjectID, SentAtMillis: at.UnixMilli(),
			TTLSeconds: int64(m.TTL.Seconds()), CollapseKey: m.CollapseKey, Priority: p, Data: data, Notification: n}
	}
	want := []herald.Frame{
		{Type: herald.FramePong},
		{Type: herald.FrameMessages, Messages: []herald.Message{
			msg(msgs[0], herald.PriorityHigh, map[string]string{"k": "v \"quoted\" \u2028 <tag> \x01"}, nil),
			msg(msgs[1], herald.PriorityNormal, nil, &herald.Notification{Title: "Hi", Body: "there", Image: "https://x/y.png"}),
		}},
		{Type: herald.FrameDeleted, Deleted: &herald.Deleted{Token: "tok", Seq: 3, Count: 100}},
		{Type: herald.FrameMessages, Messages: []herald.Message{msg(msgs[3], herald.PriorityNormal, nil, nil)}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("frames (-want +got):\n%s", diff)
	}
	if b.delivered != 3 {
		t.Errorf("delivered = %d, want 3", b.delivered)
	}
}

func TestBatchSplitsLargeFrames(t *testing.T) {
	var b batch
	for i := range 250 {
		b.addMsg(&store.Message{Token: "t", Seq: uint64(i + 1), ID: "x", ProjectID: "p"})
	}
	frames := b.frames()
	if len(frames) != 3 {
		t.Fatalf("%d frames for 250 messages, want 3 (at most %d per frame)", len(frames), maxMessagesPerFrame)
	}
	n := 0
	for _, f := range frames {
		fr, err := herald.DecodeFrame(f)
		if err != nil {
			t.Fatal(err)
		}
		n += len(fr.Messages)
	}
	if n != 250 {
		t.Fatalf("%d messages in the frames, want 250", n)
	}
}

// A published topic entry's encoded parts around a token make the same
// bytes as encoding the message for that token.
func TestTopicEntryPartsMatchTheEncoder(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	p, err := EncodeBody(Body{Data: map[string]string{"k": "v \"q\" <x>"}})
	if err != nil {
		t.Fatal(err)
	}
	msgs := []*store.TopicMessage{
		{ProjectID: "demo", Seq: 7, ID: "id7", Topic: "news", AcceptedAt: at, TTL: time.Hour, High: true, Payload: p},
		{ProjectID: "demo", Seq: 8, ID: "id8", Condition: "'a' in topics && !('b' in topics)", AcceptedAt: at, CollapseKey: "k\"ey", Payload: p},
		{ProjectID: "demo", Seq: 9, ID: "id9", Topic: "t"},
	}
	for _, m := range msgs {
		e, err := newTopicEntry(m)
		if err != nil {
			t.Fatal(err)
		}
		e.encode()
		for _, tok := range []string{"tok-1", "odd\"token"} {
			var b batch
			b.addTopicEntry(tok, e)
			want := `{"type":"messages","messages":[` + string(appendTopicMessage(nil, tok, m)) + "]}"
			if got := string(b.frames()[0]); got != want {
				t.Errorf("seq %d, token %q:\n got %s\nwant %s", m.Seq, tok, got, want)
			}
		}
	}
}
