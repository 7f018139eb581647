package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald"
)

// clientFrame is a frame as a device writes it: masked.
func clientFrame(t testing.TB, fin bool, op ws.OpCode, payload []byte) []byte {
	t.Helper()
	f := ws.NewFrame(op, fin, bytes.Clone(payload))
	f = ws.MaskFrameInPlace(f)
	var b bytes.Buffer
	if err := ws.WriteFrame(&b, f); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// feedAll feeds data to a frameReader in chunks of the given sizes
// (cycled; 0 means all at once), as the poller would with what each read
// returns, and records what it reports.
func feedAll(data []byte, chunks []int) (events []string, err error) {
	var r frameReader
	var pending []byte
	onControl := func(op ws.OpCode, p []byte) error {
		events = append(events, fmt.Sprintf("control %d %q", op, p))
		return nil
	}
	onMessage := func(op ws.OpCode, p []byte) error {
		events = append(events, fmt.Sprintf("message %d %q", op, p))
		return nil
	}
	for i := 0; len(data) > 0; i++ {
		n := len(data)
		if len(chunks) > 0 && chunks[i%len(chunks)] > 0 {
			n = min(n, chunks[i%len(chunks)])
		}
		pending = append(pending, data[:n]...)
		data = data[n:]
		used, err := r.feed(pending, onControl, onMessage)
		if err != nil {
			return events, err
		}
		pending = append(pending[:0], pending[used:]...)
	}
	if len(pending) > 0 {
		events = append(events, fmt.Sprintf("incomplete %d", len(pending)))
	}
	return events, nil
}

// The frames a device sends are read whole, however the bytes arrive:
// data messages in one frame or fragmented (with control frames between
// the fragments), control frames as they come.
func TestFrameReaderReadsWhateverTheSplit(t *testing.T) {
	long := bytes.Repeat([]byte("x"), herald.MaxFrameSize) // 65,536: a 64-bit length
	var data []byte
	data = append(data, clientFrame(t, true, ws.OpText, []byte(`{"type":"ping"}`))...)
	data = append(data, clientFrame(t, false, ws.OpText, []byte(`{"type":`))...)
	data = append(data, clientFrame(t, true, ws.OpPing, []byte("are you there"))...)
	data = append(data, clientFrame(t, true, ws.OpContinuation, []byte(`"ack"}`))...)
	data = append(data, clientFrame(t, true, ws.OpBinary, bytes.Repeat([]byte("y"), 300))...) // a 16-bit length
	data = append(data, clientFrame(t, true, ws.OpText, long)...)
	want := []string{
		`message 1 "{\"type\":\"ping\"}"`,
		`control 9 "are you there"`,
		`message 1 "{\"type\":\"ack\"}"`,
		fmt.Sprintf("message 2 %q", bytes.Repeat([]byte("y"), 300)),
		fmt.Sprintf("message 1 %q", long),
	}
	for _, chunks := range [][]int{{0}, {1}, {2, 3}, {7}, {100, 1}, {4096}} {
		got, err := feedAll(bytes.Clone(data), chunks)
		if err != nil {
			t.Fatalf("chunks %v: %v", chunks, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("chunks %v (-want +got):\n%s", chunks, diff)
		}
	}
}

// What the goroutine reader refuses, the poller's reader refuses.
func TestFrameReaderRefusesWhatTheProtocolForbids(t *testing.T) {
	unmasked := func(op ws.OpCode, p []byte) []byte {
		var b bytes.Buffer
		_ = ws.WriteFrame(&b, ws.NewFrame(op, true, p))
		return b.Bytes()
	}
	withRSV := clientFrame(t, true, ws.OpText, []byte("{}"))
	withRSV[0] |= 0x40
	bigHeader := clientFrame(t, true, ws.OpText, []byte("x"))[:2]
	bigHeader[1] = 0x80 | 127
	bigHeader = append(bigHeader, 0, 0, 0, 0, 0, 0x10, 0, 0) // 1 MiB
	for name, tc := range map[string]struct {
		data []byte
		want error
	}{
		"unmasked":                 {unmasked(ws.OpText, []byte("{}")), errProtocol},
		"reserved bits":            {withRSV, errProtocol},
		"reserved opcode":          {clientFrame(t, true, ws.OpCode(3), []byte("x")), errProtocol},
		"fragmented control":       {clientFrame(t, false, ws.OpPing, nil), errProtocol},
		"long control":             {clientFrame(t, true, ws.OpPing, bytes.Repeat([]byte("p"), 126)), errProtocol},
		"continuation of nothing":  {clientFrame(t, true, ws.OpContinuation, []byte("x")), errProtocol},
		"message within a message": {append(clientFrame(t, false, ws.OpText, []byte("a")), clientFrame(t, true, ws.OpText, []byte("b"))...), errProtocol},
		"invalid UTF-8":            {clientFrame(t, true, ws.OpText, []byte{'"', 0xff, '"'}), errProtocol},
		"frame too large":          {bigHeader, wsutil.ErrFrameTooLarge},
		"message too large": {append(clientFrame(t, false, ws.OpText, bytes.Repeat([]byte("a"), herald.MaxFrameSize)),
			clientFrame(t, true, ws.OpContinuation, []byte("b"))...), wsutil.ErrMessageTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := feedAll(tc.data, nil); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzFrameReaderSplit: whatever the bytes and however they are split, the
// reader never panics, and reads the same as when they come at once.
func FuzzFrameReaderSplit(f *testing.F) {
	f.Add(clientFrame(f, true, ws.OpText, []byte(`{"type":"ack","acks":[{"token":"t","tseq":3}]}`)), uint8(1))
	f.Add(append(clientFrame(f, false, ws.OpText, []byte("ab")), clientFrame(f, true, ws.OpContinuation, []byte("cd"))...), uint8(3))
	f.Add(clientFrame(f, true, ws.OpClose, []byte{3, 232}), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		whole, errWhole := feedAll(bytes.Clone(data), nil)
		split, errSplit := feedAll(bytes.Clone(data), []int{int(chunk) + 1})
		if (errWhole == nil) != (errSplit == nil) {
			t.Fatalf("at once: %v; split by %d: %v", errWhole, chunk+1, errSplit)
		}
		if errWhole == nil && !cmp.Equal(whole, split) {
			t.Fatalf("at once %q, split by %d %q", whole, chunk+1, split)
		}
	})
}
