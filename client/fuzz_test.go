package client

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/heraldpush/herald"
)

// FuzzDecodeServerFrame checks that any input is either refused with
// ErrBadFrame, skipped as unknown, or a valid frame that survives a round
// trip.
func FuzzDecodeServerFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"welcome","welcome":{"session_id":"s","ping_interval_ms":30000,"server_time_ms":1,"registrations":[{"token":"t","status":"ok"}]}}`,
		`{"type":"messages","messages":[{"id":"m","seq":1,"token":"t","from":"p","sent_at_ms":1,"ttl_s":60,"priority":"high","data":{"k":"v"},"notification":{"title":"T"}}]}`,
		`{"type":"deleted","deleted":{"token":"t","seq":2,"count":100}}`,
		`{"type":"token_refresh","token_refresh":{"old":"a","new":"b"}}`,
		`{"type":"goaway","goaway":{"reason":"shutdown","reconnect_after_ms":1500}}`,
		`{"type":"pong"}`,
		`{"type":"future","x":1}`,
		`{"type":"messages","messages":[]}`,
		`{}`, `[]`, `null`, `{"type":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, known, err := new(frameDecoder).serverFrame(b)
		if err != nil {
			if !errors.Is(err, herald.ErrBadFrame) {
				t.Fatalf("error %v does not wrap ErrBadFrame", err)
			}
			return
		}
		if !known {
			return
		}
		if err := fr.Validate(); err != nil {
			t.Fatalf("accepted an invalid frame: %v", err)
		}
		enc, err := json.Marshal(fr)
		if err != nil {
			t.Fatal(err)
		}
		again, known2, err := new(frameDecoder).serverFrame(enc)
		if err != nil || !known2 || again.Type != fr.Type {
			t.Fatalf("round trip of %s: %v, known %t", enc, err, known2)
		}
	})
}

// FuzzReadMessage feeds arbitrary bytes to the WebSocket reader, seeded with
// valid frames split into fragments and interleaved with control frames.
// The reader must return the same messages and errors whether a message
// fits its read buffer (returned in place) or not (copied), and however
// the bytes arrive.
func FuzzReadMessage(f *testing.F) {
	var seed bytes.Buffer
	_ = wsutil.WriteServerText(&seed, []byte(`{"type":"pong"}`))
	f.Add(seed.Bytes())
	seed.Reset()
	_ = ws.WriteFrame(&seed, ws.NewFrame(ws.OpText, false, []byte(`{"type":`)))
	_ = ws.WriteFrame(&seed, ws.NewPingFrame([]byte("hi")))
	_ = ws.WriteFrame(&seed, ws.NewFrame(ws.OpContinuation, true, []byte(`"pong"}`)))
	f.Add(seed.Bytes())
	seed.Reset()
	_ = ws.WriteFrame(&seed, ws.NewCloseFrame(ws.NewCloseFrameBody(4001, "who")))
	f.Add(seed.Bytes())
	seed.Reset()
	_ = wsutil.WriteServerText(&seed, []byte(`{"type":"messages","messages":[]}`))
	_ = wsutil.WriteServerText(&seed, bytes.Repeat([]byte("x"), 40))
	_ = wsutil.WriteServerBinary(&seed, bytes.Repeat([]byte("y"), 300))
	f.Add(seed.Bytes())
	f.Add(seed.Bytes()[:seed.Len()-7]) // the last frame cut short
	f.Fuzz(func(t *testing.T, b []byte) {
		// The smallest buffer bufio allows, fed a byte at a time, and the
		// SDK's.
		small := &conn{nc: discardConn{}, br: bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(b)), 16)}
		large := &conn{nc: discardConn{}, br: bufio.NewReaderSize(bytes.NewReader(b), 4096)}
		for range 8 {
			want, wantErr := small.readMessage()
			got, err := large.readMessage()
			if fmt.Sprint(err) != fmt.Sprint(wantErr) || !bytes.Equal(got, want) {
				t.Fatalf("with a large buffer: %q, %v; with a small one: %q, %v", got, err, want, wantErr)
			}
			if err != nil {
				return
			}
			if len(got) > MaxServerFrameSize {
				t.Fatalf("message of %d bytes over the limit", len(got))
			}
		}
	})
}

// discardConn is a net.Conn whose writes vanish (the reader's pong and close
// answers) and whose reads end at once.
type discardConn struct{}

func (discardConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (discardConn) Close() error                     { return nil }
func (discardConn) LocalAddr() net.Addr              { return nil }
func (discardConn) RemoteAddr() net.Addr             { return nil }
func (discardConn) SetDeadline(time.Time) error      { return nil }
func (discardConn) SetReadDeadline(time.Time) error  { return nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }
