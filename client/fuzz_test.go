package client

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
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
// answers), or go to sent if set, and whose reads end at once.
type discardConn struct{ sent *bytes.Buffer }

func (discardConn) Read([]byte) (int, error) { return 0, io.EOF }
func (c discardConn) Write(p []byte) (int, error) {
	if c.sent != nil {
		return c.sent.Write(p)
	}
	return len(p), nil
}
func (discardConn) Close() error                     { return nil }
func (discardConn) LocalAddr() net.Addr              { return nil }
func (discardConn) RemoteAddr() net.Addr             { return nil }
func (discardConn) SetDeadline(time.Time) error      { return nil }
func (discardConn) SetReadDeadline(time.Time) error  { return nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }

// The reader refuses the frames RFC 6455 says a client must fail the
// connection on, with a protocol error close.
func TestReadMessageRefusesBadFrames(t *testing.T) {
	frame := func(f ws.Frame) []byte {
		var b bytes.Buffer
		if err := ws.WriteFrame(&b, f); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	compressed := ws.NewTextFrame([]byte(`{"type":"pong"}`))
	compressed.Header.Rsv = ws.Rsv(true, false, false) // permessage-deflate, never negotiated
	masked := ws.MaskFrame(ws.NewTextFrame([]byte(`{"type":"pong"}`)))
	tests := []struct {
		name, reason string
		b            []byte
	}{
		{"reserved bits", "reserved bits set", frame(compressed)},
		{"masked", "masked server frame", frame(masked)},
		{"reserved opcode", "reserved opcode", frame(ws.NewFrame(ws.OpCode(0x3), true, nil))},
		{"continuation first", "continuation without a message", frame(ws.NewFrame(ws.OpContinuation, true, []byte("x")))},
		{"fragmented ping", "bad control frame", frame(ws.NewFrame(ws.OpPing, false, nil))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent bytes.Buffer
			c := &conn{nc: discardConn{sent: &sent}, br: bufio.NewReader(bytes.NewReader(tt.b))}
			if _, err := c.readMessage(); !errors.Is(err, errProtocol) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("readMessage = %v, want a protocol error: %s", err, tt.reason)
			}
			f, err := ws.ReadFrame(&sent)
			if err != nil {
				t.Fatal(err)
			}
			if code, _ := ws.ParseCloseFrameData(ws.UnmaskFrame(f).Payload); f.Header.OpCode != ws.OpClose || code != ws.StatusProtocolError {
				t.Fatalf("sent %v frame with code %d, want a close with %d", f.Header.OpCode, code, ws.StatusProtocolError)
			}
		})
	}
}
