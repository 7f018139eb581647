package pebblestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Key layout. Every key starts with a short prefix so that each kind of
// record, and each registration's queue, is one contiguous range:
//
//	p/<project>                      Project (JSON)
//	a/<app key>                      App (JSON)
//	pa/<project>\x00<app key>        index: apps of a project
//	k/<key id>                       Key (JSON)
//	pk/<project>\x00<key id>         index: keys of a project
//	d/<device>                       Device (JSON)
//	r/<token>                        Registration (JSON)
//	rd/<device>\x00<token>           index: registrations of a device
//	q/<token>\x00<seq BE64>          queue entry (binary, see codec.go);
//	                                 the last assigned sequence is the
//	                                 higher of the last entry's and the
//	                                 value of seq 0, written when the
//	                                 newest entry is removed
//	x/<expires BE64>/<token>\x00<seq BE64>
//	                                 expiry index (empty value)
//
// Topics (topics.go, topiclog.go):
//
//	ts/<token>\x00<topic>            subscription by registration: since
//	                                 and created (see codec.go)
//	ts/<token>\x00                   the registration's subscription count
//	tt/<project>\x00<topic>\x00<token>
//	                                 subscription by topic (same value)
//	tt/<project>\x00<topic>\x00      the topic's subscriber count
//	tl/<project>\x00<seq BE64>       topic log entry (binary, codec.go)
//	tl/<project>\x00<0 BE64>         the log's head, rewritten by every
//	                                 batch that appends to the log
//	tx/<expires BE64>/<project>\x00<seq BE64>
//	                                 topic log expiry index (empty value)
//	tk/<token>                       the registration's cursor (BE64)
//
// Vendor platforms (credentials.go):
//
//	cr/<project>                     the project's vendor credentials:
//	                                 12-byte nonce, then AES-256-GCM of
//	                                 their JSON, the key as extra data
//	rv/<token>                       index: registrations of a vendor
//	                                 platform (empty value); entries of
//	                                 deleted ones are skipped on reading
//
// Message status (status.go):
//
//	s/<message id>                   the message's status (binary)
//	sx/<end BE64>/<message id>\x00<0 BE64>
//	                                 status end index (empty value)
//
// Web Push endpoints (pushendpoints.go):
//
//	we/<endpoint id>                 PushEndpoint (JSON)
//
// A count key is the empty member of its range (topics and tokens are
// never empty), so it sorts first and is read with the same iterator.
//
// Identifiers may not contain a NUL byte, which separates them from what
// follows in composite keys.
const (
	prefixProject     = "p/"
	prefixApp         = "a/"
	prefixProjectApps = "pa/"
	prefixKey         = "k/"
	prefixProjectKeys = "pk/"
	prefixDevice      = "d/"
	prefixReg         = "r/"
	prefixDeviceRegs  = "rd/"
	prefixQueue       = "q/"
	prefixExpiry      = "x/"
	prefixTopicSubs   = "ts/"
	prefixTopicTokens = "tt/"
	prefixTopicLog    = "tl/"
	prefixTopicExpiry = "tx/"
	prefixCursor      = "tk/"
	prefixStatus      = "s/"
	prefixStatusEnd   = "sx/"
	prefixCredentials = "cr/"
	prefixVendorRegs  = "rv/"
)

// prefixPushEndpoint is the prefix of push endpoints (pushendpoints.go).
const prefixPushEndpoint = "we/"

// errBadID is wrapped when an identifier cannot be stored.
var errBadID = errors.New("invalid identifier")

// checkID refuses identifiers the key layout cannot hold.
func checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty %s", errBadID, what)
	}
	if strings.IndexByte(id, 0) >= 0 {
		return fmt.Errorf("%w: %s contains a NUL byte", errBadID, what)
	}
	return nil
}

// entityKey is prefix + id.
func entityKey(prefix, id string) []byte {
	k := make([]byte, 0, len(prefix)+len(id))
	k = append(k, prefix...)
	return append(k, id...)
}

// indexKey is prefix + parent + NUL + child.
func indexKey(prefix, parent, child string) []byte {
	k := make([]byte, 0, len(prefix)+len(parent)+1+len(child))
	k = append(k, prefix...)
	k = append(k, parent...)
	k = append(k, 0)
	return append(k, child...)
}

// indexRange returns the bounds of every prefix + parent + NUL + … key.
func indexRange(prefix, parent string) (lower, upper []byte) {
	lower = indexKey(prefix, parent, "")
	upper = append([]byte(nil), lower...)
	upper[len(upper)-1] = 1
	return lower, upper
}

// prefixRange returns the bounds of every key starting with prefix.
func prefixRange(prefix string) (lower, upper []byte) {
	lower = []byte(prefix)
	upper = []byte(prefix)
	upper[len(upper)-1]++
	return lower, upper
}

// queueKeyLen is the length of a queue key of token.
func queueKeyLen(token string) int { return len(prefixQueue) + len(token) + 1 + 8 }

// appendQueueKey appends q/<token>\x00<seq>.
func appendQueueKey(dst []byte, token string, seq uint64) []byte {
	dst = append(dst, prefixQueue...)
	dst = append(dst, token...)
	dst = append(dst, 0)
	return binary.BigEndian.AppendUint64(dst, seq)
}

// queueRange returns the bounds of token's queue, seq 0 (the last-sequence
// record) included.
func queueRange(token string) (lower, upper []byte) {
	lower = appendQueueKey(nil, token, 0)
	upper = append([]byte(nil), lower[:len(lower)-8]...)
	upper[len(upper)-1] = 1
	return lower, upper
}

// queueKeySeq extracts the sequence of a queue key.
func queueKeySeq(k []byte) uint64 {
	return binary.BigEndian.Uint64(k[len(k)-8:])
}

// noExpiry marks an entry without an expiry time (a zero ExpiresAt).
const noExpiry = math.MaxInt64

// sortableNanos maps signed nanoseconds to unsigned ones that sort the same.
func sortableNanos(n int64) uint64 { return uint64(n) ^ (1 << 63) }

// expiryKeyLen is the length of an expiry index key of token.
func expiryKeyLen(token string) int { return len(prefixExpiry) + 8 + 1 + len(token) + 1 + 8 }

// appendExpiryKey appends x/<expires>/<token>\x00<seq>.
func appendExpiryKey(dst []byte, expires int64, token string, seq uint64) []byte {
	return appendExpiryKeyIn(dst, prefixExpiry, expires, token, seq)
}

// appendExpiryKeyIn appends <prefix><expires>/<owner>\x00<seq>, the shape
// of both expiry indexes (owner: a token or a project).
func appendExpiryKeyIn(dst []byte, prefix string, expires int64, owner string, seq uint64) []byte {
	dst = append(dst, prefix...)
	dst = binary.BigEndian.AppendUint64(dst, sortableNanos(expires))
	dst = append(dst, '/')
	dst = append(dst, owner...)
	dst = append(dst, 0)
	return binary.BigEndian.AppendUint64(dst, seq)
}

// expiryUpper is the exclusive upper bound of index keys expiring at or
// before nanos.
func expiryUpper(nanos int64) []byte { return expiryUpperIn(prefixExpiry, nanos) }

// expiryUpperIn is expiryUpper for the index under prefix.
func expiryUpperIn(prefix string, nanos int64) []byte {
	k := append([]byte(nil), prefix...)
	if nanos == math.MaxInt64 {
		k[len(k)-1]++
		return k
	}
	return binary.BigEndian.AppendUint64(k, sortableNanos(nanos+1))
}

// parseExpiryKey splits an expiry index key.
func parseExpiryKey(k []byte) (expires int64, token string, seq uint64, ok bool) {
	return parseExpiryKeyIn(prefixExpiry, k)
}

// parseExpiryKeyIn splits a key of the expiry index under prefix.
func parseExpiryKeyIn(prefix string, k []byte) (expires int64, owner string, seq uint64, ok bool) {
	head := len(prefix) + 8 + 1
	if len(k) < head+1+8 || k[len(k)-9] != 0 {
		return 0, "", 0, false
	}
	expires = int64(binary.BigEndian.Uint64(k[len(prefix):]) ^ (1 << 63))
	return expires, string(k[head : len(k)-9]), binary.BigEndian.Uint64(k[len(k)-8:]), true
}

// subKey is ts/<token>\x00<topic>; with an empty topic, the count key.
func subKey(token, topic string) []byte { return indexKey(prefixTopicSubs, token, topic) }

// topicTokenKey is tt/<project>\x00<topic>\x00<token>; with an empty
// token, the count key.
func topicTokenKey(project, topic, token string) []byte {
	k := make([]byte, 0, len(prefixTopicTokens)+len(project)+1+len(topic)+1+len(token))
	k = append(k, prefixTopicTokens...)
	k = append(k, project...)
	k = append(k, 0)
	k = append(k, topic...)
	k = append(k, 0)
	return append(k, token...)
}

// topicTokenRange returns the bounds of a topic's tt keys, count included.
func topicTokenRange(project, topic string) (lower, upper []byte) {
	lower = topicTokenKey(project, topic, "")
	upper = append([]byte(nil), lower...)
	upper[len(upper)-1] = 1
	return lower, upper
}

// logKeyLen is the length of a topic log key of project.
func logKeyLen(project string) int { return len(prefixTopicLog) + len(project) + 1 + 8 }

// appendLogKey appends tl/<project>\x00<seq>.
func appendLogKey(dst []byte, project string, seq uint64) []byte {
	dst = append(dst, prefixTopicLog...)
	dst = append(dst, project...)
	dst = append(dst, 0)
	return binary.BigEndian.AppendUint64(dst, seq)
}

// logRange returns the bounds of project's log, the head record included.
func logRange(project string) (lower, upper []byte) {
	lower = appendLogKey(nil, project, 0)
	upper = append([]byte(nil), lower[:len(lower)-8]...)
	upper[len(upper)-1] = 1
	return lower, upper
}
