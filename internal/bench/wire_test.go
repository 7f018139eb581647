package bench

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gobwas/ws"
	"github.com/google/go-cmp/cmp"
	"github.com/heraldpush/herald"
)

// The wire device's session against a scripted server over net.Pipe, in
// a synctest bubble: what it writes must pass the server's strict decoder
// (herald.DecodeFrame).

// readDeviceFrame reads a frame the device wrote: masked, as RFC 6455
// asks of clients.
func readDeviceFrame(t *testing.T, server net.Conn) (ws.OpCode, []byte) {
	t.Helper()
	f, err := ws.ReadFrame(server)
	if err != nil {
		t.Fatalf("read the device's frame: %v", err)
	}
	if !f.Header.Masked || !f.Header.Fin {
		t.Fatalf("device frame %+v: want FIN and masked", f.Header)
	}
	f = ws.UnmaskFrameInPlace(f)
	return f.Header.OpCode, f.Payload
}

// readDeviceProtocolFrame reads a device frame that must be a valid
// protocol frame.
func readDeviceProtocolFrame(t *testing.T, server net.Conn) herald.Frame {
	t.Helper()
	op, p := readDeviceFrame(t, server)
	if op != ws.OpText {
		t.Fatalf("device frame of opcode %v, want text", op)
	}
	f, err := herald.DecodeFrame(p)
	if err != nil {
		t.Fatalf("the server refuses the device's frame %s: %v", p, err)
	}
	return f
}

func writeServerFrame(t *testing.T, server net.Conn, p string) {
	t.Helper()
	if err := ws.WriteFrame(server, ws.NewTextFrame([]byte(p))); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
}

// topicMsg is a topic message for token as the server writes it, message
// number n sent now.
func topicMsg(tseq uint64, token string, n int) string {
	return fmt.Sprintf(`{"id":"m%d","tseq":%d,"token":%q,"from":"p","topic":"news","sent_at_ms":1,"ttl_s":60,"priority":"high",`+
		`"data":{"n":"%d","pad":"x","t":"%d"}}`, tseq, tseq, token, n, time.Now().UnixNano())
}

func messagesFrame(msgs ...string) string {
	return `{"type":"messages","messages":[` + strings.Join(msgs, ",") + `]}`
}

// testWireConn returns the connection nc of a device holding "tok",
// subscribed to "news", tracking messages message numbers.
func testWireConn(nc net.Conn, delay time.Duration, messages int) (*wireConn, *agentStats) {
	stats := newAgentStats(agentStart{Devices: 1, Topic: "news", Messages: messages})
	return newWireConn(nc, bufio.NewReader(nc), "tok", delay, stats), stats
}

// pipeWireConn is testWireConn over net.Pipe; it returns the server's end.
func pipeWireConn(t *testing.T, delay time.Duration, messages int) (net.Conn, *wireConn, *agentStats) {
	server, dev := net.Pipe()
	c, stats := testWireConn(dev, delay, messages)
	t.Cleanup(func() {
		c.stop()
		server.Close()
	})
	return server, c, stats
}

func TestWireSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		server, c, stats := pipeWireConn(t, time.Second, 4)
		ended := make(chan error, 1)
		go func() {
			if err := c.handshake(herald.DeviceCredential{ID: "d1", Secret: "s3cr3t"}); err != nil {
				ended <- err
				return
			}
			ended <- c.serve()
		}()

		hello := readDeviceProtocolFrame(t, server)
		want := &herald.Hello{Version: herald.ProtocolVersion, DeviceID: "d1", DeviceSecret: "s3cr3t", Registrations: []herald.Resume{{Token: "tok"}}}
		if hello.Type != herald.FrameHello || !cmp.Equal(hello.Hello, want) {
			t.Fatalf("first frame %+v, hello %+v; want hello %+v", hello, hello.Hello, want)
		}
		writeServerFrame(t, server, `{"type":"welcome","welcome":{"session_id":"s","ping_interval_ms":1000,"server_time_ms":1,"registrations":[{"token":"tok","status":"ok"}]}}`)
		start := time.Now()
		// Two frames: new messages, a duplicate within the frame and one
		// across frames, a message of another token (neither handled nor
		// acknowledged), and a message of another topic (bad data).
		writeServerFrame(t, server, messagesFrame(topicMsg(1, "tok", 0), topicMsg(2, "tok", 1), topicMsg(2, "tok", 1), topicMsg(9, "other", 3)))
		writeServerFrame(t, server, messagesFrame(topicMsg(2, "tok", 1), topicMsg(3, "tok", 2),
			strings.Replace(topicMsg(4, "tok", 3), `"news"`, `"sports"`, 1)))

		// The ack is held for 0.5 to 1.5 s, one for both frames; pings
		// come every second, and the device answers the server's pings.
		var acks [][]herald.Ack
		for pings := 0; len(acks) == 0 || pings < 2; {
			if time.Since(start) > 3*time.Second {
				t.Fatalf("after %d pings, acks %v; want one ack within 1.5 s", pings, acks)
			}
			f := readDeviceProtocolFrame(t, server)
			switch f.Type {
			case herald.FramePing:
				pings++
				writeServerFrame(t, server, `{"type":"pong"}`)
			case herald.FrameAck:
				if d := time.Since(start); d < 500*time.Millisecond || d > 1500*time.Millisecond {
					t.Errorf("ack after %v, want within 0.5-1.5 s (ack delay 1 s)", d)
				}
				acks = append(acks, f.Acks)
			default:
				t.Fatalf("unexpected %s frame", f.Type)
			}
		}
		if diff := cmp.Diff([][]herald.Ack{{{Token: "tok", TopicSeq: 4}}}, acks); diff != "" {
			t.Errorf("acks (-want +got):\n%s", diff)
		}
		if err := ws.WriteFrame(server, ws.NewPingFrame([]byte("hi"))); err != nil {
			t.Fatal(err)
		}
		if op, p := readDeviceFrame(t, server); op != ws.OpPong || string(p) != "hi" {
			t.Errorf("answer to a ping: opcode %v %q, want a pong with the ping's payload", op, p)
		}

		// A close ends the session, echoed.
		if err := ws.WriteFrame(server, ws.NewCloseFrame(ws.NewCloseFrameBody(herald.CloseGoingAway, "bye"))); err != nil {
			t.Fatal(err)
		}
		if op, _ := readDeviceFrame(t, server); op != ws.OpClose {
			t.Errorf("answer to a close: opcode %v, want the close echoed", op)
		}
		if err := <-ended; err == nil || !strings.Contains(err.Error(), "closed the connection: 1001 bye") {
			t.Errorf("session ended with %v, want the server's close", err)
		}
		if got, bad := stats.delivered.Load(), stats.badData.Load(); got != 3 || bad != 1 {
			t.Errorf("delivered %d, bad data %d; want 3 (tseq 1-3, once each), 1 (another topic)", got, bad)
		}
		for n := range 3 {
			if got := stats.perCount[n].Load(); got != 1 {
				t.Errorf("message %d received %d times, want 1", n, got)
			}
		}
	})
}

func TestWireAcks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		server, c, _ := pipeWireConn(t, time.Hour, 100)
		// Within the ack delay, 50 entries owed go out at once.
		msgs := make([]string, wireMaxOwed)
		for i := range msgs {
			msgs[i] = topicMsg(uint64(i+1), "tok", i)
		}
		handled := make(chan error, 1)
		go func() { handled <- c.handle([]byte(messagesFrame(msgs...))) }()
		start := time.Now()
		if f := readDeviceProtocolFrame(t, server); time.Since(start) != 0 || !cmp.Equal(f.Acks, []herald.Ack{{Token: "tok", TopicSeq: wireMaxOwed}}) {
			t.Errorf("ack %+v after %v; want tseq %d at once", f.Acks, time.Since(start), wireMaxOwed)
		}
		if err := <-handled; err != nil {
			t.Fatal(err)
		}

		// Without a delay, each frame is acknowledged at once: a token
		// message's seq and a deleted marker's.
		c.delay = 0
		go func() {
			handled <- c.handle([]byte(`{"type":"messages","messages":[{"id":"a","seq":3,"token":"tok","data":{"n":"60","t":"1"}}]}`))
		}()
		if f := readDeviceProtocolFrame(t, server); !cmp.Equal(f.Acks, []herald.Ack{{Token: "tok", Seq: 3}}) {
			t.Errorf("ack %+v, want seq 3", f.Acks)
		}
		if err := <-handled; err != nil {
			t.Fatal(err)
		}
		go func() { handled <- c.handle([]byte(`{"type":"deleted","deleted":{"token":"tok","seq":7,"count":3}}`)) }()
		if f := readDeviceProtocolFrame(t, server); !cmp.Equal(f.Acks, []herald.Ack{{Token: "tok", Seq: 7}}) {
			t.Errorf("ack %+v, want seq 7", f.Acks)
		}
		if err := <-handled; err != nil {
			t.Fatal(err)
		}

		// Stopping sends what is held, then a close 1000.
		c.delay = time.Hour
		if err := c.handle([]byte(messagesFrame(topicMsg(51, "tok", 50)))); err != nil {
			t.Fatal(err)
		}
		go c.shutdown()
		if f := readDeviceProtocolFrame(t, server); !cmp.Equal(f.Acks, []herald.Ack{{Token: "tok", TopicSeq: 51}}) {
			t.Errorf("ack at shutdown %+v, want tseq 51", f.Acks)
		}
		op, p := readDeviceFrame(t, server)
		if code, _ := ws.ParseCloseFrameData(p); op != ws.OpClose || code != ws.StatusNormalClosure {
			t.Errorf("after the acks: opcode %v %q, want a close 1000", op, p)
		}
	})
}

func TestWireRefusesBadFrames(t *testing.T) {
	for _, frame := range []string{
		`{"type":"messages","messages":[{"id":"a","seq":1,"tseq":2,"token":"tok"}]}`,
		`{"type":"messages","messages":[{"id":"a","token":"tok"}]}`,
		`{"type":"messages","messages":[]}`,
		`{"messages":[]}`,
		`{"type":"messages","messages":[{"tseq":"1"}]}`,
		`{"type":"deleted","deleted":{"token":"tok"}}`,
	} {
		c, _ := testWireConn(nil, 0, 1)
		if err := c.handle([]byte(frame)); err == nil {
			t.Errorf("handle(%s) accepted it", frame)
		}
	}
}

// BenchmarkWireHandle handles a frame of one topic message, as a device
// receiving one message at a time does (the ack held: no write).
func BenchmarkWireHandle(b *testing.B) {
	c, _ := testWireConn(nil, time.Hour, 10)
	defer c.stop()
	frame := []byte(messagesFrame(topicMsg(1, "tok", 3)))
	b.ReportAllocs()
	for b.Loop() {
		c.lastTseq, c.owed = 0, 0
		if err := c.handle(frame); err != nil {
			b.Fatal(err)
		}
	}
}
