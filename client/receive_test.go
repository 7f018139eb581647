package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldpush/herald"
)

// BenchmarkReceive measures the SDK's receive path per message: topic
// messages as a Herald server writes them (internal/dispatch/frames.go),
// one per frame, through loopback WebSockets into running Clients whose
// app reads each message's data. "fanout" is a topic fan-out as an agent
// of herald bench topic sees it: many devices in one process, each
// receiving a frame while idle, the next device's frame only after the
// app handled this one. "stream" writes one device's frames back to back
// (the SDK's own work, the syscalls amortised). The fake server's side
// costs the same in every run: it builds frames by appending and discards
// the acks unread. cpu-ns/op is the CPU time of the whole process (both
// ends) per message; on a shared machine it moves less than ns/op.
func BenchmarkReceive(b *testing.B) {
	for _, ackDelay := range []time.Duration{time.Second, 0} {
		f := newReceiveFixture(b, 1000, ackDelay)
		b.Run(fmt.Sprintf("fanout/devices=1000/ack-delay=%v", ackDelay), f.fanout)
	}
	f := newReceiveFixture(b, 1, time.Second)
	b.Run("stream/ack-delay=1s", f.stream)
}

// receiveFixture is connected devices, and the server's end of each.
type receiveFixture struct {
	devices []*benchDevice
	// handled receives when the app has handled the want-th message
	// counted since the run started.
	handled     chan struct{}
	count, want atomic.Int64
	frame       []byte
}

type benchDevice struct {
	token string
	sc    *serverConn
	tseq  uint64 // the last position sent
}

func newReceiveFixture(b *testing.B, devices int, ackDelay time.Duration) *receiveFixture {
	fs := newFakeServer(b)
	f := &receiveFixture{handled: make(chan struct{}, 1)}
	for range devices {
		c := mustNew(b, Config{
			Server:   fs.URL(),
			AckDelay: ackDelay,
			OnMessage: func(_ context.Context, m herald.Message) {
				if m.Data["n"] == "" {
					b.Error("message without data")
				}
				if f.count.Add(1) == f.want.Load() {
					f.handled <- struct{}{}
				}
			},
		})
		d := &benchDevice{token: mustRegister(b, c, "app-1")}
		stop := startRun(b, c)
		d.sc = fs.accept()
		d.sc.handshake(noPing)
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, d.sc.r) // the acks, until the client closes
		}()
		b.Cleanup(func() {
			if err := stop(); err != nil {
				b.Error(err)
			}
			<-drained
		})
		f.devices = append(f.devices, d)
	}
	return f
}

// send writes the next message of d.
func (f *receiveFixture) send(b *testing.B, d *benchDevice) {
	d.tseq++
	f.frame = appendTopicFrame(f.frame[:0], d.token, d.tseq)
	if _, err := d.sc.nc.Write(f.frame); err != nil {
		b.Fatal(err)
	}
}

func (f *receiveFixture) fanout(b *testing.B) {
	f.count.Store(0)
	cpu := processCPU()
	b.ResetTimer()
	for i := range b.N {
		f.want.Store(int64(i) + 1)
		f.send(b, f.devices[i%len(f.devices)])
		<-f.handled
	}
	f.report(b, cpu)
}

func (f *receiveFixture) stream(b *testing.B) {
	f.count.Store(0)
	f.want.Store(int64(b.N))
	cpu := processCPU()
	b.ResetTimer()
	for range b.N {
		f.send(b, f.devices[0])
	}
	<-f.handled
	f.report(b, cpu)
}

// report stops the timer and reports the CPU time used since cpu.
func (f *receiveFixture) report(b *testing.B, cpu time.Duration) {
	b.StopTimer()
	if cpu := processCPU() - cpu; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// appendTopicFrame appends a WebSocket text frame (server side: unmasked)
// holding a messages frame with one topic message for token at position
// tseq, as internal/dispatch writes it.
func appendTopicFrame(dst []byte, token string, tseq uint64) []byte {
	var p [512]byte
	sent := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(tseq) * time.Millisecond)
	b := append(p[:0], `{"type":"messages","messages":[{"id":"5f1c2a9b3d4e`...)
	b = strconv.AppendUint(b, 1e11+tseq, 10)
	b = append(b, `","tseq":`...)
	b = strconv.AppendUint(b, tseq, 10)
	b = append(b, `,"token":"`...)
	b = append(b, token...)
	b = append(b, `","from":"bench-1234","topic":"bench-5678","sent_at_ms":`...)
	b = strconv.AppendInt(b, sent.UnixMilli(), 10)
	b = append(b, `,"ttl_s":2419200,"priority":"high","data":{"n":"`...)
	b = strconv.AppendUint(b, tseq, 10)
	b = append(b, `","t":"`...)
	b = strconv.AppendInt(b, sent.UnixNano(), 10)
	b = append(b, `","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}]}`...)
	dst = append(dst, 0x81) // FIN, text
	switch {
	case len(b) < 126:
		dst = append(dst, byte(len(b)))
	default:
		dst = binary.BigEndian.AppendUint16(append(dst, 126), uint16(len(b)))
	}
	return append(dst, b...)
}

// BenchmarkHandleFrame measures the SDK's own work per received message,
// without sockets or goroutine hand-offs: a topic message frame as a
// Herald server writes it, read from the connection's buffer, decoded,
// deduplicated, delivered to OnMessage and owed an ack, as session's loop
// does (readFrame, handle, settle), acks held (AckDelay 30s: written
// every 50 messages, to a connection that discards them). With
// devices=10000 each message goes to the next of 10,000 devices, as a
// topic fan-out reaches a bench agent's devices: each device's data has
// left the caches since its previous message, which costs more than the
// work itself.
func BenchmarkHandleFrame(b *testing.B) {
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("devices=%d", n), func(b *testing.B) {
			benchmarkHandleFrame(b, n)
		})
	}
}

// frameDevice is a Client whose connection reads from src.
type frameDevice struct {
	c     *Client
	cn    *conn
	src   *nextFrame
	dec   frameDecoder
	ack   *acker
	owed  ackBatch
	end   sessionEnd
	token string
}

// nextFrame is a reader that returns b once.
type nextFrame struct{ b []byte }

func (r *nextFrame) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func benchmarkHandleFrame(b *testing.B, devices int) {
	handled := 0
	devs := make([]*frameDevice, devices)
	for i := range devs {
		d := &frameDevice{src: &nextFrame{}, token: fmt.Sprintf("tok-%036d", i)}
		d.c = mustNew(b, Config{
			Server:   "http://127.0.0.1:1",
			AckDelay: 30 * time.Second,
			OnMessage: func(_ context.Context, m herald.Message) {
				if m.Data["n"] != "" {
					handled++
				}
			},
		})
		d.c.st.put("app-1", &registration{Token: d.token})
		d.cn = &conn{nc: discardConn{}, br: bufio.NewReaderSize(d.src, 4096)}
		d.ack = &acker{c: d.c, cn: d.cn, delay: d.c.cfg.AckDelay}
		b.Cleanup(d.ack.stop)
		devs[i] = d
	}
	// Each round (a message to every device) has its frame, the token
	// written in for each device: the tokens have the same length.
	var frame []byte
	var at int
	var tseq uint64
	first := []byte(devs[0].token)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d := devs[i%devices]
		if i%devices == 0 {
			tseq++
			frame = appendTopicFrame(frame[:0], devs[0].token, tseq)
			at = bytes.Index(frame, first)
		}
		copy(frame[at:], d.token)
		d.src.b = frame
		f, err := d.c.readFrame(d.cn, &d.dec)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.c.handle(ctx, d.ack, f, &d.end, &d.owed); err != nil {
			b.Fatal(err)
		}
		if err := d.ack.settle(ctx, &d.owed, false); err != nil {
			b.Fatal(err)
		}
	}
	if handled != b.N {
		b.Fatalf("%d messages handled of %d", handled, b.N)
	}
}
