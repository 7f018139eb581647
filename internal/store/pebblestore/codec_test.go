package pebblestore

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/heraldpush/herald/internal/store"
)

// FuzzCodec round-trips queue entries and feeds arbitrary bytes to the
// decoder, which must fail cleanly.
func FuzzCodec(f *testing.F) {
	f.Add(int64(1_900_000_000_000_000_000), int64(3600e9), "id", "proj", "key", []byte(`{"a":1}`), uint8(0), true, 0)
	f.Add(int64(0), int64(0), "", "", "", []byte(nil), uint8(1), false, 100)
	f.Add(int64(-5), int64(-1), "é", "\x00", "k", []byte{0, 1, 2}, uint8(7), false, -3)
	f.Fuzz(func(t *testing.T, accepted, ttl int64, id, project, collapse string, payload []byte, kind uint8, high bool, dropped int) {
		m := store.Message{
			Kind: store.Kind(kind), ID: id, ProjectID: project, CollapseKey: collapse,
			TTL: time.Duration(ttl), High: high, Dropped: max(dropped, 0), Payload: payload,
		}
		if accepted != 0 {
			m.AcceptedAt = time.Unix(0, accepted)
			m.ExpiresAt = m.AcceptedAt.Add(m.TTL)
		}
		v := appendMessage(nil, &m)
		if len(v) != encodedLen(&m) {
			t.Fatalf("encodedLen %d, encoded %d bytes", encodedLen(&m), len(v))
		}
		var got store.Message
		p, err := decodeMessage(v, &got)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		got.Payload = p
		if diff := cmp.Diff(m, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		// Any prefix and any bytes decode or fail, without panicking.
		for i := range v {
			_, _ = decodeMessage(v[:i], &got)
		}
		_, _ = decodeMessage(payload, &got)
	})
}
