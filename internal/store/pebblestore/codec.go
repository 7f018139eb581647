package pebblestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// A queue entry's value is a small binary record; Token and Seq are in the
// key. Layout:
//
//	version  byte (1)
//	kind     byte
//	flags    byte: 1 high, 2 AcceptedAt set, 4 ExpiresAt set
//	accepted varint unix nanos (if set)
//	expires  varint unix nanos (if set)
//	ttl      varint nanos
//	dropped  uvarint
//	id, project id, collapse key: uvarint length + bytes each
//	platform uvarint length + bytes (version 2 on)
//	payload  the rest
//
// Binary rather than JSON: the writer encodes one per send and the loader
// decodes the headers of whole queues, so both must be cheap. Version 1
// values (without platform) are still read.
const codecVersion = 2

// codecVersionNoPlatform is the first version, whose values have no
// platform field.
const codecVersionNoPlatform = 1

const (
	flagHigh     = 1
	flagAccepted = 2
	flagExpires  = 4
)

// errCorrupt is wrapped when a stored value cannot be decoded.
var errCorrupt = errors.New("corrupt queue entry")

// encodedLen is the exact length appendMessage produces for m.
func encodedLen(m *store.Message) int {
	n := 3
	if !m.AcceptedAt.IsZero() {
		n += varintLen(m.AcceptedAt.UnixNano())
	}
	if !m.ExpiresAt.IsZero() {
		n += varintLen(m.ExpiresAt.UnixNano())
	}
	n += varintLen(int64(m.TTL))
	n += uvarintLen(uint64(m.Dropped))
	n += uvarintLen(uint64(len(m.ID))) + len(m.ID)
	n += uvarintLen(uint64(len(m.ProjectID))) + len(m.ProjectID)
	n += uvarintLen(uint64(len(m.CollapseKey))) + len(m.CollapseKey)
	n += uvarintLen(uint64(len(m.Platform))) + len(m.Platform)
	return n + len(m.Payload)
}

// appendMessage appends m's value encoding.
func appendMessage(dst []byte, m *store.Message) []byte {
	var flags byte
	if m.High {
		flags |= flagHigh
	}
	if !m.AcceptedAt.IsZero() {
		flags |= flagAccepted
	}
	if !m.ExpiresAt.IsZero() {
		flags |= flagExpires
	}
	dst = append(dst, codecVersion, byte(m.Kind), flags)
	if flags&flagAccepted != 0 {
		dst = binary.AppendVarint(dst, m.AcceptedAt.UnixNano())
	}
	if flags&flagExpires != 0 {
		dst = binary.AppendVarint(dst, m.ExpiresAt.UnixNano())
	}
	dst = binary.AppendVarint(dst, int64(m.TTL))
	dst = binary.AppendUvarint(dst, uint64(m.Dropped))
	dst = appendString(dst, m.ID)
	dst = appendString(dst, m.ProjectID)
	dst = appendString(dst, m.CollapseKey)
	dst = appendString(dst, m.Platform)
	return append(dst, m.Payload...)
}

func appendString[S string | []byte](dst []byte, s S) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decodeMessage decodes a value into m, Token, Seq, Platform and Payload
// aside. It returns the platform blocks and the payload, which alias v
// (platform is nil when empty).
func decodeMessage(v []byte, m *store.Message) (platform, payload []byte, err error) {
	d := decoder{b: v}
	version := d.byte()
	if version != codecVersion && version != codecVersionNoPlatform {
		return nil, nil, fmt.Errorf("%w: unknown version", errCorrupt)
	}
	m.Kind = store.Kind(d.byte())
	flags := d.byte()
	m.High = flags&flagHigh != 0
	m.AcceptedAt, m.ExpiresAt = time.Time{}, time.Time{}
	if flags&flagAccepted != 0 {
		m.AcceptedAt = time.Unix(0, d.varint()).UTC()
	}
	if flags&flagExpires != 0 {
		m.ExpiresAt = time.Unix(0, d.varint()).UTC()
	}
	m.TTL = time.Duration(d.varint())
	m.Dropped = int(d.uvarint())
	m.ID = d.string()
	m.ProjectID = d.string()
	m.CollapseKey = d.string()
	if version != codecVersionNoPlatform {
		platform = d.bytes()
	}
	m.Platform, m.Payload = nil, nil
	if d.err != nil {
		return nil, nil, d.err
	}
	if len(platform) == 0 {
		platform = nil
	}
	return platform, d.b, nil
}

// decoder reads a value, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated", errCorrupt)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	return string(d.bytes())
}

// bytes reads a length-prefixed field; the result aliases the value.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if uint64(len(d.b)) < n {
		d.fail()
		return nil
	}
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func varintLen(v int64) int {
	u := uint64(v) << 1
	if v < 0 {
		u = ^u
	}
	return uvarintLen(u)
}

// A topic log entry's value; ProjectID and Seq are in the key. Layout:
//
//	version  byte (1)
//	flags    byte: 1 high, 2 AcceptedAt set, 4 ExpiresAt set,
//	         8 the target is a condition (else a topic)
//	accepted varint unix nanos (if set)
//	expires  varint unix nanos (if set)
//	ttl      varint nanos
//	target, id, collapse key, platform: uvarint length + bytes each
//	payload  the rest
const topicCodecVersion = 1

const flagCondition = 8

// topicEncodedLen is the exact length appendTopicMessage produces for m.
func topicEncodedLen(m *store.TopicMessage) int {
	n := 2
	if !m.AcceptedAt.IsZero() {
		n += varintLen(m.AcceptedAt.UnixNano())
	}
	if !m.ExpiresAt.IsZero() {
		n += varintLen(m.ExpiresAt.UnixNano())
	}
	n += varintLen(int64(m.TTL))
	target := m.Topic + m.Condition // exactly one is set
	n += uvarintLen(uint64(len(target))) + len(target)
	n += uvarintLen(uint64(len(m.ID))) + len(m.ID)
	n += uvarintLen(uint64(len(m.CollapseKey))) + len(m.CollapseKey)
	n += uvarintLen(uint64(len(m.Platform))) + len(m.Platform)
	return n + len(m.Payload)
}

// appendTopicMessage appends m's value encoding. Exactly one of m.Topic
// and m.Condition must be set.
func appendTopicMessage(dst []byte, m *store.TopicMessage) []byte {
	var flags byte
	if m.High {
		flags |= flagHigh
	}
	if !m.AcceptedAt.IsZero() {
		flags |= flagAccepted
	}
	if !m.ExpiresAt.IsZero() {
		flags |= flagExpires
	}
	target := m.Topic
	if m.Condition != "" {
		flags |= flagCondition
		target = m.Condition
	}
	dst = append(dst, topicCodecVersion, flags)
	if flags&flagAccepted != 0 {
		dst = binary.AppendVarint(dst, m.AcceptedAt.UnixNano())
	}
	if flags&flagExpires != 0 {
		dst = binary.AppendVarint(dst, m.ExpiresAt.UnixNano())
	}
	dst = binary.AppendVarint(dst, int64(m.TTL))
	dst = appendString(dst, target)
	dst = appendString(dst, m.ID)
	dst = appendString(dst, m.CollapseKey)
	dst = appendString(dst, m.Platform)
	return append(dst, m.Payload...)
}

// decodeTopicMessage decodes a value into m, ProjectID, Seq, Platform and
// Payload aside. It returns the platform blocks and the payload, which
// alias v (platform is nil when empty).
func decodeTopicMessage(v []byte, m *store.TopicMessage) (platform, payload []byte, err error) {
	d := decoder{b: v}
	if d.byte() != topicCodecVersion {
		return nil, nil, fmt.Errorf("%w: unknown topic entry version", errCorrupt)
	}
	flags := d.byte()
	m.High = flags&flagHigh != 0
	m.AcceptedAt, m.ExpiresAt = time.Time{}, time.Time{}
	if flags&flagAccepted != 0 {
		m.AcceptedAt = time.Unix(0, d.varint()).UTC()
	}
	if flags&flagExpires != 0 {
		m.ExpiresAt = time.Unix(0, d.varint()).UTC()
	}
	m.TTL = time.Duration(d.varint())
	m.Topic, m.Condition = "", ""
	if target := d.string(); flags&flagCondition != 0 {
		m.Condition = target
	} else {
		m.Topic = target
	}
	m.ID = d.string()
	m.CollapseKey = d.string()
	platform = d.bytes()
	m.Platform, m.Payload = nil, nil
	if d.err != nil {
		return nil, nil, d.err
	}
	if len(platform) == 0 {
		platform = nil
	}
	return platform, d.b, nil
}

// A subscription's value (under both ts/ and tt/): since uvarint, then
// CreatedAt as varint unix nanos if it is set.

// appendSubscription appends the value of a subscription.
func appendSubscription(dst []byte, since uint64, created time.Time) []byte {
	dst = binary.AppendUvarint(dst, since)
	if !created.IsZero() {
		dst = binary.AppendVarint(dst, created.UnixNano())
	}
	return dst
}

// decodeSubscription decodes a subscription's value into sub's Since and
// CreatedAt.
func decodeSubscription(v []byte, sub *store.Subscription) error {
	d := decoder{b: v}
	sub.Since = d.uvarint()
	sub.CreatedAt = time.Time{}
	if len(d.b) > 0 {
		sub.CreatedAt = time.Unix(0, d.varint()).UTC()
	}
	if d.err == nil && len(d.b) > 0 {
		return fmt.Errorf("%w: trailing bytes in a subscription", errCorrupt)
	}
	return d.err
}

// appendCount appends a count or cursor value (8 bytes, big-endian).
func appendCount(dst []byte, n uint64) []byte { return binary.BigEndian.AppendUint64(dst, n) }

// decodeCount decodes a count or cursor value; a missing one (nil) is 0.
func decodeCount(v []byte) (uint64, error) {
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(v), nil
	}
	return 0, fmt.Errorf("%w: count of %d bytes", errCorrupt, len(v))
}
