package fcm

// Platform returns the message's platform blocks as one compact JSON
// object in the canonical form of MarshalJSON:
//
//	{"android":{…},"apns":{…},"webpush":{…},"fcm_options":{…},"android_v2":{…}}
//
// with only the members the message has, in that order, or nil when it has
// none. The android block is re-encoded from the decoded Android (snake_case
// names, lower-case priority, protobuf duration); the others are the
// normalised blocks as decoded. It is what is stored with the message so
// that the providers of other platforms (APNs, Web Push, an FCM relay) get
// the options meant for them.
func (m *Message) Platform() []byte {
	if m.Android == nil && m.APNS == nil && m.Webpush == nil && m.FCMOptions == nil && m.AndroidV2 == nil {
		return nil
	}
	o := object{b: make([]byte, 0, 256)}
	o.b = append(o.b, '{')
	if a := m.Android; a != nil {
		o.name("android")
		o.b = a.appendJSON(o.b)
	}
	o.raw("apns", m.APNS)
	o.raw("webpush", m.Webpush)
	o.raw("fcm_options", m.FCMOptions)
	o.raw("android_v2", m.AndroidV2)
	return append(o.b, '}')
}
