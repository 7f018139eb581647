package dispatch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/metrics"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/pebblestore"
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
	st, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
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

	h.wroteStatus([]sentRef{
		{token: "tok-a", seq: outs[0].Seq, id: "tm-1"},
		{token: "tok-a", seq: outs[1].Seq, id: "tm-2"},
		{token: "tok-a", seq: 7, id: "topic-1", topic: true},
		{token: "tok-b", seq: 7, id: "topic-1", topic: true},
	})
	clk.advance(time.Second)
	h.ackedStatus("tok-a", outs[0].Seq, false) // tm-2 not yet
	h.ackedStatus("tok-a", 7, true)
	h.ackedStatus("tok-b", 7, true)
	h.ackedStatus("tok-b", 7, true)   // again: nothing more
	h.ackedStatus("tok-c", 100, true) // never written to
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
	h.ackedStatus("tok-a", outs[1].Seq, false)
	h.flushStatus(ctx)
	if got, _, _ := h.MessageStatus(ctx, "tm-2"); got.State != store.StateAccepted {
		t.Errorf("an ack after close was recorded: %s", got.State)
	}
}

// BenchmarkStatusMemory is what message status adds to a delivery on the
// fan-out path: remembering the message written to one registration, then
// turning its ack into a counted delivery (the store write is batched;
// its time, on another goroutine, is included). One op = one delivery,
// over 19,500 registrations.
func BenchmarkStatusMemory(b *testing.B) {
	st, err := pebblestore.Open(b.TempDir(), pebblestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h := New(st, Config{}, metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer h.closeStatus(context.Background())
	tokens := make([]string, 19_500)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("token-%08d-abcdefghijklmnopqrstuvwxyz", i)
	}
	refs := make([]sentRef, 1)
	b.ResetTimer()
	for i := range b.N {
		tok := tokens[i%len(tokens)]
		seq := uint64(i/len(tokens) + 1)
		refs[0] = sentRef{token: tok, seq: seq, id: "message", topic: true}
		h.wroteStatus(refs)
		h.ackedStatus(tok, seq, true)
	}
}
