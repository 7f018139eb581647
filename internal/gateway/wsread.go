package gateway

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/heraldpush/herald"
)

// frameReader parses the WebSocket frames a device sends (RFC 6455 §5,
// client to server: masked) from bytes as they arrive, for the poller,
// which reads many connections without a goroutine each. It checks what
// the goroutine reader (wsutil.Reader, server side, CheckUTF8) checks:
// masking, no reserved bits, control frames whole and ≤ 125 bytes,
// continuation only within a fragmented message, text valid UTF-8, and
// frames and messages within herald.MaxFrameSize.
type frameReader struct {
	msg   []byte    // a fragmented message so far
	msgOp ws.OpCode // its opcode; 0 when none is in progress
}

// errProtocol (wrapped) is what frameReader reports of a frame that breaks
// RFC 6455 (closed with CloseBadFrame); for a frame or message beyond
// herald.MaxFrameSize it reports wsutil's errors, as the goroutine reader
// does (closed with CloseFrameTooLarge).
var errProtocol = errors.New("websocket protocol error")

// feed parses the complete frames at the start of data, unmasking them in
// place, and calls onControl for each control frame and onMessage for
// each complete data message (text or binary), in order. It returns how
// many bytes it consumed: the rest is the start of an incomplete frame,
// to be fed again with what follows. The payloads passed are valid only
// during the call. An error from a callback stops the parse and is
// returned.
func (r *frameReader) feed(data []byte, onControl func(op ws.OpCode, payload []byte) error, onMessage func(op ws.OpCode, msg []byte) error) (int, error) {
	consumed := 0
	for {
		b := data[consumed:]
		if len(b) < 2 {
			return consumed, nil
		}
		fin, rsv, op := b[0]&0x80 != 0, b[0]&0x70, ws.OpCode(b[0]&0x0f)
		masked, n := b[1]&0x80 != 0, uint64(b[1]&0x7f)
		hdr := 2
		switch n {
		case 126:
			if len(b) < 4 {
				return consumed, nil
			}
			n, hdr = uint64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return consumed, nil
			}
			n, hdr = binary.BigEndian.Uint64(b[2:]), 10
		}
		switch {
		case rsv != 0:
			return consumed, fmt.Errorf("%w: reserved bits set (no extension was negotiated)", errProtocol)
		case !masked:
			return consumed, fmt.Errorf("%w: a client frame must be masked", errProtocol)
		case op.IsControl() && (!fin || n > 125):
			return consumed, fmt.Errorf("%w: control frames must be whole and at most 125 bytes", errProtocol)
		case op.IsReserved():
			return consumed, fmt.Errorf("%w: reserved opcode %d", errProtocol, op)
		case n > herald.MaxFrameSize:
			return consumed, wsutil.ErrFrameTooLarge
		}
		if uint64(len(b)) < uint64(hdr)+4+n {
			return consumed, nil
		}
		var mask [4]byte
		copy(mask[:], b[hdr:hdr+4])
		payload := b[hdr+4 : hdr+4+int(n)]
		ws.Cipher(payload, mask, 0)
		consumed += hdr + 4 + int(n)

		if op.IsControl() {
			if err := onControl(op, payload); err != nil {
				return consumed, err
			}
			continue
		}
		var msg []byte
		switch {
		case op == ws.OpContinuation && r.msgOp == 0:
			return consumed, fmt.Errorf("%w: continuation frame without a message to continue", errProtocol)
		case op != ws.OpContinuation && r.msgOp != 0:
			return consumed, fmt.Errorf("%w: a new message began within a fragmented one", errProtocol)
		case op != ws.OpContinuation && fin:
			msg = payload // whole in one frame: no copy
		default:
			if len(r.msg)+len(payload) > herald.MaxFrameSize {
				return consumed, wsutil.ErrMessageTooLarge
			}
			if op != ws.OpContinuation {
				r.msgOp = op
			}
			r.msg = append(r.msg, payload...)
			if !fin {
				continue
			}
			msg, op = r.msg, r.msgOp
			r.msg, r.msgOp = nil, 0
		}
		if op == ws.OpText && !utf8.Valid(msg) {
			return consumed, fmt.Errorf("%w: text message is not valid UTF-8", errProtocol)
		}
		if err := onMessage(op, msg); err != nil {
			return consumed, err
		}
	}
}
