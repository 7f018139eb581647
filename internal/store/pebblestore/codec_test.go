package pebblestore

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/heraldpush/herald/internal/store"
)

// FuzzCodec round-trips queue entries and feeds arbitrary bytes to the
// decoder, which must fail cleanly.
func FuzzCodec(f *testing.F) {
	f.Add(int64(1_900_000_000_000_000_000), int64(3600e9), "id", "proj", "key", []byte(`{"a":1}`), []byte(nil), uint8(0), true, 0)
	f.Add(int64(0), int64(0), "", "", "", []byte(nil), []byte(nil), uint8(1), false, 100)
	f.Add(int64(-5), int64(-1), "é", "\x00", "k", []byte{0, 1, 2}, []byte{0xff}, uint8(7), false, -3)
	f.Add(int64(1_900_000_000_000_000_000), int64(90e9), "id", "proj", "ck", []byte(`{"data":{"k":"v"}}`),
		[]byte(`{"android":{"priority":"high","ttl":"90s"},"apns":{"headers":{"apns-priority":"10"}},"webpush":{"headers":{"TTL":"90"}},"fcm_options":{"analytics_label":"l"}}`),
		uint8(0), true, 0)
	f.Add(int64(1), int64(1), "id", "proj", "", []byte(nil), []byte(`{"webpush":{}}`), uint8(0), false, 0)
	f.Fuzz(func(t *testing.T, accepted, ttl int64, id, project, collapse string, payload, platform []byte, kind uint8, high bool, dropped int) {
		m := store.Message{
			Kind: store.Kind(kind), ID: id, ProjectID: project, CollapseKey: collapse,
			TTL: time.Duration(ttl), High: high, Dropped: max(dropped, 0), Payload: payload, Platform: platform,
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
		pl, p, err := decodeMessage(v, &got)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		got.Platform, got.Payload = pl, p
		if diff := cmp.Diff(m, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		// Any prefix and any bytes decode or fail, without panicking.
		for i := range v {
			_, _, _ = decodeMessage(v[:i], &got)
		}
		_, _, _ = decodeMessage(payload, &got)
		_, _, _ = decodeMessage(platform, &got)
	})
}

// TestCodecVersion1 reads a value written before platform blocks were
// stored: everything after the collapse key is the payload.
func TestCodecVersion1(t *testing.T) {
	at := time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)
	v := []byte{codecVersionNoPlatform, byte(store.KindMessage), flagHigh | flagAccepted | flagExpires}
	v = binary.AppendVarint(v, at.UnixNano())
	v = binary.AppendVarint(v, at.Add(time.Hour).UnixNano())
	v = binary.AppendVarint(v, int64(time.Hour))
	v = binary.AppendUvarint(v, 0)
	v = appendString(v, "id")
	v = appendString(v, "proj")
	v = appendString(v, "ck")
	v = append(v, `{"data":{"k":"v"}}`...)

	var got store.Message
	platform, payload, err := decodeMessage(v, &got)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	got.Platform, got.Payload = platform, payload
	want := store.Message{
		ID: "id", ProjectID: "proj", CollapseKey: "ck", High: true,
		AcceptedAt: at, ExpiresAt: at.Add(time.Hour), TTL: time.Hour,
		Payload: []byte(`{"data":{"k":"v"}}`),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("version 1 value (-want +got):\n%s", diff)
	}
	if v := appendMessage(nil, &want); v[0] != codecVersion {
		t.Errorf("new values are written with version %d, want %d", v[0], codecVersion)
	}
}
