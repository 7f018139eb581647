package dispatch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/metrics"
	"github.com/heraldpush/herald/internal/store"
)

func seqsOf(list []sentRef) []uint64 {
	out := make([]uint64, len(list))
	for i, r := range list {
		out[i] = r.seq
	}
	return out
}

// The per-registration memory keeps sequence order, ignores a
// redelivery, forgets the oldest beyond its bound and hands out what an
// ack covers.
func TestSentLog(t *testing.T) {
	var list []sentRef
	for _, seq := range []uint64{1, 2, 4, 2, 3} { // 2 again: a redelivery; 3 late: a fetch
		list = add(list, sentRef{seq: seq, id: fmt.Sprint("m", seq)})
	}
	if got := fmt.Sprint(seqsOf(list)); got != "[1 2 3 4]" {
		t.Fatalf("remembered %s, want [1 2 3 4]", got)
	}
	rest, acked := take(list, 2, nil)
	if fmt.Sprint(seqsOf(acked)) != "[1 2]" || fmt.Sprint(seqsOf(rest)) != "[3 4]" || acked[0].id != "m1" {
		t.Fatalf("take(2) = %v acked, %v left", seqsOf(acked), seqsOf(rest))
	}
	if rest, acked = take(rest, 2, nil); len(acked) != 0 || len(rest) != 2 {
		t.Fatalf("a repeated ack took %v", seqsOf(acked))
	}

	list = nil
	for seq := range uint64(sentPerToken + 10) {
		list = add(list, sentRef{seq: seq + 1, id: "x"})
	}
	if len(list) != sentPerToken || list[0].seq != 11 {
		t.Fatalf("bound: %d remembered from %d, want %d from 11", len(list), list[0].seq, sentPerToken)
	}
}

// A shard forgets the registrations of two generations ago, not the ones
// still in use.
func TestSentShardGenerations(t *testing.T) {
	var sh sentShard
	keep := sh.get("kept", true)
	keep.msgs = add(keep.msgs, sentRef{seq: 1, id: "k"})
	sh.curSize++
	gone := sh.get("gone", true)
	gone.msgs = add(gone.msgs, sentRef{seq: 1, id: "g"})
	sh.curSize++
	for round := range 2 {
		// Fill a generation with others; "kept" is used in between.
		for i := range sentPerShard {
			l := sh.get(fmt.Sprint("other-", round, "-", i), true)
			l.msgs = add(l.msgs, sentRef{seq: 1, id: "o"})
			sh.curSize++
		}
		if sh.get("kept", false) == nil {
			t.Fatalf("round %d: a registration in use was forgotten", round)
		}
	}
	if sh.get("gone", false) != nil {
		t.Fatal("a registration unused for two generations is still remembered")
	}
}

// Acks become deliveries in the store: token messages delivered, topic
// messages counted, in one flush; an ack of what was never written (or
// already counted) adds nothing.
func TestStatusRecorderFlushes(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clk := &testClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	h := New(st, Config{SendQueue: 16, Now: clk.Now}, metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)))

	now := clk.Now()
	msgs := []store.Message{
		{Token: "tok-a", ID: "tm-1", ProjectID: "p", AcceptedAt: now, ExpiresAt: now.Add(time.Hour)},
		{Token: "tok-a", ID: "tm-2", ProjectID: "p", AcceptedAt: now, ExpiresAt: now.Add(time.Hour)},
	}
	outs, err := st.Enqueue(ctx, msgs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendTopic(ctx, []store.TopicMessage{{ProjectID: "p", Topic: "news", ID: "topic-1",
		AcceptedAt: now, ExpiresAt: now.Add(time.Hour), Targeted: 2}}); err != nil {
		t.Fatal(err)
	}

	// What sessions wrote to tok-a and tok-b and left to the hub.
	h.handOverStatus("tok-a", &sentLog{
		msgs:   []sentRef{{seq: outs[0].Seq, id: "tm-1"}, {seq: outs[1].Seq, id: "tm-2"}},
		topics: []sentRef{{seq: 7, id: "topic-1", topic: true}},
	})
	h.handOverStatus("tok-b", &sentLog{topics: []sentRef{{seq: 7, id: "topic-1", topic: true}}})
	clk.advance(time.Second)
	h.ackedStatus("tok-a", outs[0].Seq, 0) // tm-2 not yet
	h.ackedStatus("tok-a", 0, 7)
	h.ackedStatus("tok-b", 0, 7)
	h.ackedStatus("tok-b", 0, 7)   // again: nothing more
	h.ackedStatus("tok-c", 0, 100) // never written to
	h.closeStatus(ctx)

	for id, want := range map[string]store.State{"tm-1": store.StateDelivered, "tm-2": store.StateAccepted} {
		got, _, err := h.MessageStatus(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != want {
			t.Errorf("%s: %s, want %s", id, got.State, want)
		}
	}
	got, _, err := h.MessageStatus(ctx, "topic-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Delivered != 2 || !got.UpdatedAt.Equal(clk.Now()) {
		t.Errorf("topic-1: %d delivered at %v, want 2 at %v", got.Delivered, got.UpdatedAt, clk.Now())
	}
	// Closed: later acks are not recorded.
	h.ackedStatus("tok-a", outs[1].Seq, 0)
	h.flushStatus(ctx)
	if got, _, _ := h.MessageStatus(ctx, "tm-2"); got.State != store.StateAccepted {
		t.Errorf("an ack after close was recorded: %s", got.State)
	}
}

// A connected device's deliveries are counted from the session's own
// memory, and what a session wrote but the device did not ack before the
// connection ended is counted when the device acks it later: in the
// hello of its next connection, or in an ack on that connection.
func TestStatusAcrossSessions(t *testing.T) {
	e := newRelayEnv(t, t.TempDir())
	ctx := context.Background()
	resp, err := e.hub.Register(ctx, e.appKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	state := func(id string) store.State {
		t.Helper()
		e.hub.flushStatus(ctx)
		st, _, err := e.hub.MessageStatus(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return st.State
	}
	// connect attaches the device with its hello acks and waits for the
	// welcome and the n messages it must get.
	connect := func(acked uint64, n int) (*Session, []uint64) {
		t.Helper()
		conn := &recordConn{frames: make(chan []byte, 16)}
		s, err := e.hub.Attach(ctx, &herald.Hello{Version: herald.ProtocolVersion, DeviceID: resp.Device.ID,
			DeviceSecret: resp.Device.Secret, Registrations: []herald.Resume{{Token: resp.Token, Acked: acked}}}, conn)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint64
		for len(seqs) < n {
			f, err := herald.DecodeFrame(<-conn.frames)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range f.Messages {
				seqs = append(seqs, m.Seq)
			}
		}
		return s, seqs
	}
	ack := func(s *Session, seq uint64) {
		t.Helper()
		if err := s.Ack(ctx, []herald.Ack{{Token: resp.Token, Seq: seq}}); err != nil {
			t.Fatal(err)
		}
	}

	ids := []string{e.send(t, resp.Token, "one"), e.send(t, resp.Token, "two"), e.send(t, resp.Token, "three")}
	s1, seqs := connect(0, 3)
	ack(s1, seqs[0])
	if got := state(ids[0]); got != store.StateDelivered {
		t.Fatalf("acked on the connection: %s, want delivered", got)
	}
	e.hub.Detach(ctx, s1) // two and three written, not acked

	// The next hello acks "two"; "three" comes again and is acked on the
	// connection.
	s2, seqs2 := connect(seqs[1], 1)
	t.Cleanup(func() { e.hub.Detach(ctx, s2) })
	if got := state(ids[1]); got != store.StateDelivered {
		t.Errorf("acked in the next hello: %s, want delivered", got)
	}
	if got := state(ids[2]); got != store.StateAccepted {
		t.Errorf("not acked yet: %s, want accepted", got)
	}
	ack(s2, seqs2[0])
	if got := state(ids[2]); got != store.StateDelivered {
		t.Errorf("acked on the next connection: %s, want delivered", got)
	}
}
