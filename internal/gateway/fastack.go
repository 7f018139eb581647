package gateway

import (
	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/jsonscan"
)

// decodeFrame decodes a frame from a device. Ack frames, one per device
// and burst of messages, go by the thousand during a fan-out: their plain
// shape is read without reflection (decodeAckFast), everything else by
// herald.DecodeFrame, with the same result and the same errors.
func decodeFrame(b []byte) (herald.Frame, error) {
	if f, ok := decodeAckFast(b); ok {
		if err := f.Validate(); err != nil {
			return herald.Frame{}, err
		}
		return f, nil
	}
	return herald.DecodeFrame(b)
}

// decodeAckFast decodes {"type":"ack","acks":[{"token":…,"seq":…,
// "tseq":…},…]} with members in any order. Anything else — unknown or
// repeated members, escapes, other frame types — is left to
// herald.DecodeFrame (ok false). FuzzDecodeAckFast checks that what it
// accepts decodes as herald.DecodeFrame decodes it.
func decodeAckFast(b []byte) (f herald.Frame, ok bool) {
	s := &jsonscan.Scanner{B: b}
	var seenType, seenAcks bool
	ok = s.Members(func(key []byte) bool {
		switch string(key) {
		case "type":
			v, ok := s.Bytes()
			if !ok || seenType || string(v) != string(herald.FrameAck) {
				return false
			}
			f.Type, seenType = herald.FrameAck, true
			return true
		case "acks":
			if seenAcks {
				return false
			}
			seenAcks = true
			if s.Null() {
				return true
			}
			f.Acks = []herald.Ack{}
			return s.Elements(func() bool {
				var a herald.Ack
				var seenTok, seenSeq, seenTseq bool
				ok := s.Members(func(key []byte) bool {
					ok := false
					switch string(key) {
					case "token":
						ok, seenTok = !seenTok, true
						if ok {
							a.Token, ok = s.String()
						}
					case "seq":
						ok, seenSeq = !seenSeq, true
						if ok {
							a.Seq, ok = s.Uint()
						}
					case "tseq":
						ok, seenTseq = !seenTseq, true
						if ok {
							a.TopicSeq, ok = s.Uint()
						}
					}
					return ok
				})
				f.Acks = append(f.Acks, a)
				return ok
			})
		}
		return false
	})
	return f, ok && seenType && s.End()
}
