package fcm

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The bodies the Firebase Admin SDKs sent for the same message (fcm.md §1.3).
const (
	goSDKSample   = `{"message":{"data":{"k":"v"},"notification":{"title":"t"},"android":{"ttl":"3.500000000s","collapse_key":"ck","priority":"high"},"fcm_options":{"analytics_label":"lbl"},"token":"tok1"}}`
	nodeSDKSample = `{"message":{"token":"tok1","data":{"k":"v"},"android":{"ttl":"3.500000000s","priority":"high","collapse_key":"ck","restricted_package_name":"com.x"},"fcmOptions":{"analyticsLabel":"lbl"},"webpush":{"fcmOptions":{"link":"https://x"}},"apns":{"headers":{"apns-priority":"5"},"payload":{"aps":{"content-available":1}}}}}`
)

func ptr[T any](v T) *T { return &v }

func TestDecodeSendRequestSDKSamples(t *testing.T) {
	tests := []struct {
		name string
		body string
		want SendRequest
	}{{
		name: "go",
		body: goSDKSample,
		want: SendRequest{Message: Message{
			Token:        "tok1",
			Data:         map[string]string{"k": "v"},
			Notification: &Notification{Title: "t"},
			Android: &Android{
				CollapseKey: "ck",
				Priority:    PriorityHigh,
				TTL:         ptr(3500 * time.Millisecond),
			},
			FCMOptions: json.RawMessage(`{"analytics_label":"lbl"}`),
		}},
	}, {
		name: "node",
		body: nodeSDKSample,
		want: SendRequest{Message: Message{
			Token: "tok1",
			Data:  map[string]string{"k": "v"},
			Android: &Android{
				CollapseKey:           "ck",
				Priority:              PriorityHigh,
				TTL:                   ptr(3500 * time.Millisecond),
				RestrictedPackageName: "com.x",
			},
			FCMOptions: json.RawMessage(`{"analytics_label":"lbl"}`),
			Webpush:    json.RawMessage(`{"fcm_options":{"link":"https://x"}}`),
			APNS:       json.RawMessage(`{"headers":{"apns-priority":"5"},"payload":{"aps":{"content-available":1}}}`),
		}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeSendRequest([]byte(tt.body))
			if err != nil {
				t.Fatalf("DecodeSendRequest: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeSendRequest (-want +got):\n%s", diff)
			}
			if got, want := got.Message.TTL(), 3*time.Second; got != want {
				t.Errorf("TTL() = %v, want %v", got, want)
			}
			if !got.Message.HighPriority() {
				t.Error("HighPriority() = false, want true")
			}
			if got, want := got.Message.CollapseKey(), "ck"; got != want {
				t.Errorf("CollapseKey() = %q, want %q", got, want)
			}
		})
	}
}

// decodeMessage decodes {"message":<msg>} and fails the test on error.
func decodeMessage(t *testing.T, msg string) Message {
	t.Helper()
	req, err := DecodeSendRequest([]byte(`{"message":` + msg + `}`))
	if err != nil {
		t.Fatalf("DecodeSendRequest(%s): %v", msg, err)
	}
	return req.Message
}

func TestDecodeLenient(t *testing.T) {
	tests := []struct {
		name string
		body string
		want SendRequest
	}{{
		name: "camel case everywhere",
		body: `{"validateOnly":true,"message":{"topic":"news","android":{"collapseKey":"c","restrictedPackageName":"p","directBootOk":true,"bandwidthConstrainedOk":true,"restrictedSatelliteOk":true,"fcmOptions":{"analyticsLabel":"l"},"notification":{"clickAction":"OPEN","bodyLocKey":"k","bodyLocArgs":["a"],"lightSettings":{"lightOnDuration":"1s","lightOffDuration":"2.5s","color":{"red":1}}}}}}`,
		want: SendRequest{ValidateOnly: true, Message: Message{Topic: "news", Android: &Android{
			CollapseKey: "c", RestrictedPackageName: "p", DirectBootOK: true, BandwidthConstrainedOK: true, RestrictedSatelliteOK: true,
			FCMOptions:   json.RawMessage(`{"analytics_label":"l"}`),
			Notification: json.RawMessage(`{"click_action":"OPEN","body_loc_key":"k","body_loc_args":["a"],"light_settings":{"light_on_duration":"1s","light_off_duration":"2.5s","color":{"red":1}}}`),
		}}},
	}, {
		name: "snake case and white space",
		body: " {\n\t\"validate_only\" : false , \"message\" : { \"condition\" : \"'a' in topics\" , \"android\" : { \"collapse_key\" : \"c\" } } }\r\n",
		want: SendRequest{Message: Message{Condition: "'a' in topics", Android: &Android{CollapseKey: "c"}}},
	}, {
		name: "upper-case enum",
		body: `{"message":{"token":"t","android":{"priority":"HIGH"}}}`,
		want: SendRequest{Message: Message{Token: "t", Android: &Android{Priority: PriorityHigh}}},
	}, {
		name: "mixed-case enum normal",
		body: `{"message":{"token":"t","android":{"priority":"Normal"}}}`,
		want: SendRequest{Message: Message{Token: "t", Android: &Android{Priority: PriorityNormal}}},
	}, {
		name: "enum by number",
		body: `{"message":{"token":"t","android":{"priority":1}}}`,
		want: SendRequest{Message: Message{Token: "t", Android: &Android{Priority: PriorityHigh}}},
	}, {
		name: "null means unset",
		body: `{"validate_only":null,"message":{"token":"t","topic":null,"data":null,"notification":null,"android":{"ttl":null,"priority":null,"data":null},"apns":null,"webpush":{"headers":null}}}`,
		want: SendRequest{Message: Message{Token: "t", Android: &Android{}, Webpush: json.RawMessage(`{}`)}},
	}, {
		name: "empty strings are unset targets",
		body: `{"message":{"token":"","fid":"","topic":"x"}}`,
		want: SendRequest{Message: Message{Topic: "x"}},
	}, {
		name: "topic prefix stripped",
		body: `{"message":{"topic":"/topics/a-b_c.d~e%f"}}`,
		want: SendRequest{Message: Message{Topic: "a-b_c.d~e%f"}},
	}, {
		name: "empty data is nil",
		body: `{"message":{"fid":"f","data":{},"android":{"data":{}}}}`,
		want: SendRequest{Message: Message{Fid: "f", Android: &Android{}}},
	}, {
		name: "escapes",
		body: `{"message":{"token":"t\u0031","data":{"k\"":"\ud83d\ude00 \n\/"},"notification":{"body":"\u00e9\ud800"}}}`,
		want: SendRequest{Message: Message{Token: "t1", Data: map[string]string{`k"`: "😀 \n/"}, Notification: &Notification{Body: "é\uFFFD"}}},
	}, {
		name: "escaped member name",
		body: `{"message":{"tok\u0065n":"t"}}`,
		want: SendRequest{Message: Message{Token: "t"}},
	}, {
		name: "raw members compacted, free parts kept",
		body: `{"message":{"token":"t","webpush":{ "headers" : {"TTL" : "15"} , "notification" : {"requireInteraction" : true, "actions":[ {"action":"a","title":"A"} ]}, "data":{"x":"y"}},"apns":{"liveActivityToken":"lat","payload":{"aps":{"alert":{"loc-key":"k","loc-args":["a"]}},"custom_Key":"\u00e9","list":["a", 1.5e3, null, false]},"fcmOptions":{"image":"https://i"}}}}`,
		want: SendRequest{Message: Message{
			Token:   "t",
			Webpush: json.RawMessage(`{"headers":{"TTL":"15"},"notification":{"requireInteraction":true,"actions":[{"action":"a","title":"A"}]},"data":{"x":"y"}}`),
			APNS:    json.RawMessage(`{"live_activity_token":"lat","payload":{"aps":{"alert":{"loc-key":"k","loc-args":["a"]}},"custom_Key":"\u00e9","list":["a",1.5e3,null,false]},"fcm_options":{"image":"https://i"}}`),
		}},
	}, {
		name: "android notification, all documented members",
		body: `{"message":{"token":"t","android":{"notification":{"title":"a","body":"b","icon":"i","color":"#ffffff","sound":"s","tag":"t","click_action":"c","body_loc_key":"k","body_loc_args":["x"],"title_loc_key":"k","title_loc_args":[],"channel_id":"ch","ticker":"tk","sticky":true,"event_time":"2006-01-02T15:04:05.000000000Z","local_only":false,"notification_priority":"PRIORITY_HIGH","default_sound":true,"default_vibrate_timings":true,"default_light_settings":true,"vibrate_timings":["0.1s","1s"],"visibility":"PUBLIC","light_settings":{"color":{"red":0.5,"green":0,"blue":1,"alpha":1},"light_on_duration":"1s","light_off_duration":"2s"},"image":"https://i","notification_count":"3","proxy":"DENY","bypass_proxy_notification":false}}}}`,
		want: SendRequest{Message: Message{Token: "t", Android: &Android{Notification: json.RawMessage(`{"title":"a","body":"b","icon":"i","color":"#ffffff","sound":"s","tag":"t","click_action":"c","body_loc_key":"k","body_loc_args":["x"],"title_loc_key":"k","title_loc_args":[],"channel_id":"ch","ticker":"tk","sticky":true,"event_time":"2006-01-02T15:04:05.000000000Z","local_only":false,"notification_priority":"PRIORITY_HIGH","default_sound":true,"default_vibrate_timings":true,"default_light_settings":true,"vibrate_timings":["0.1s","1s"],"visibility":"PUBLIC","light_settings":{"color":{"red":0.5,"green":0,"blue":1,"alpha":1},"light_on_duration":"1s","light_off_duration":"2s"},"image":"https://i","notification_count":"3","proxy":"DENY","bypass_proxy_notification":false}`)}}},
	}, {
		name: "output-only name ignored, android_v2 kept",
		body: `{"message":{"name":"projects/p/messages/1","token":"t","androidV2":{"remote_notification":{"x":1}}}}`,
		want: SendRequest{Message: Message{Token: "t", AndroidV2: json.RawMessage(`{"remote_notification":{"x":1}}`)}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeSendRequest([]byte(tt.body))
			if err != nil {
				t.Fatalf("DecodeSendRequest: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeSendRequest (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeTTL(t *testing.T) {
	tests := []struct {
		ttl       string
		want      time.Duration // as stored
		effective time.Duration // Message.TTL
	}{
		{`"0s"`, 0, 0},
		{`"-0s"`, 0, 0},
		{`"3s"`, 3 * time.Second, 3 * time.Second},
		{`"3.5s"`, 3500 * time.Millisecond, 3 * time.Second},
		{`"3.500000000s"`, 3500 * time.Millisecond, 3 * time.Second},
		{`"0.999999999s"`, 999999999, 0},
		{`"2419200s"`, MaxTTL, MaxTTL},
		{`"2419199.9s"`, MaxTTL - 100*time.Millisecond, MaxTTL - time.Second},
	}
	for _, tt := range tests {
		m := decodeMessage(t, `{"token":"t","android":{"ttl":`+tt.ttl+`}}`)
		if diff := cmp.Diff(&tt.want, m.Android.TTL); diff != "" {
			t.Errorf("ttl %s (-want +got):\n%s", tt.ttl, diff)
		}
		if got := m.TTL(); got != tt.effective {
			t.Errorf("ttl %s: TTL() = %v, want %v", tt.ttl, got, tt.effective)
		}
	}
	m := decodeMessage(t, `{"token":"t"}`)
	if got := m.TTL(); got != MaxTTL {
		t.Errorf("no ttl: TTL() = %v, want %v", got, MaxTTL)
	}
}

func TestMessageEffectiveValues(t *testing.T) {
	m := decodeMessage(t, `{"token":"t","data":{"a":"1"}}`)
	if diff := cmp.Diff(map[string]string{"a": "1"}, m.DeliveryData()); diff != "" {
		t.Errorf("DeliveryData without android.data (-want +got):\n%s", diff)
	}
	if m.HighPriority() || m.CollapseKey() != "" {
		t.Errorf("HighPriority() = %v, CollapseKey() = %q; want false, empty", m.HighPriority(), m.CollapseKey())
	}
	m = decodeMessage(t, `{"token":"t","data":{"a":"1"},"android":{"data":{"b":"2"},"priority":"normal"}}`)
	if diff := cmp.Diff(map[string]string{"b": "2"}, m.DeliveryData()); diff != "" {
		t.Errorf("DeliveryData with android.data (-want +got):\n%s", diff)
	}
	if m.HighPriority() {
		t.Error("HighPriority() = true for normal priority")
	}
}

func TestDecodePayloadLimit(t *testing.T) {
	// 4096 bytes exactly: key "k" + value 4082 + title "ab" + body "c" + image "http://x/y".
	at := func(valueLen int) string {
		return `{"token":"t","data":{"k":"` + strings.Repeat("é", valueLen/2) + strings.Repeat("x", valueLen%2) +
			`"},"notification":{"title":"ab","body":"c","image":"http://x/y"}}`
	}
	m := decodeMessage(t, at(4082))
	if got := m.PayloadSize(); got != MaxPayloadBytes {
		t.Fatalf("PayloadSize() = %d, want %d", got, MaxPayloadBytes)
	}
	_, err := DecodeSendRequest([]byte(`{"message":` + at(4083) + `}`))
	checkInvalid(t, err, "message", "Message is too big")
	// android.data replaces data, so only it counts.
	big := strings.Repeat("x", 4000)
	decodeMessage(t, `{"token":"t","data":{"k":"`+big+`"},"android":{"data":{"k":"small"}}}`)
}

// checkInvalid checks that err is a 400 INVALID_ARGUMENT *Error naming
// field in a BadRequest violation, its message containing text.
func checkInvalid(t *testing.T, err error, field, text string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *Error", err, err)
	}
	if e.HTTPStatus != 400 || e.Status != StatusInvalidArgument || e.ErrorCode != CodeInvalidArgument {
		t.Errorf("error = %d %s %s, want 400 INVALID_ARGUMENT INVALID_ARGUMENT", e.HTTPStatus, e.Status, e.ErrorCode)
	}
	if !strings.Contains(e.Message, text) {
		t.Errorf("message = %q, want it to contain %q", e.Message, text)
	}
	var want []FieldViolation
	if field != "" {
		want = []FieldViolation{{Field: field, Description: e.Message}}
	}
	if diff := cmp.Diff(want, e.FieldViolations); diff != "" {
		t.Errorf("field violations (-want +got):\n%s", diff)
	}
}

func TestDecodeRejects(t *testing.T) {
	long := strings.Repeat("a", MaxTokenLength+1)
	tests := []struct {
		name  string
		body  string
		field string // the BadRequest field, "" for none
		text  string // in the message
	}{
		// The body.
		{"empty body", ``, "", "The request body must be a JSON object"},
		{"array body", `[]`, "", "must be a JSON object"},
		{"no message", `{}`, "message", "The message is required"},
		{"null message", `{"message":null}`, "message", "The message is required"},
		{"message not an object", `{"message":"x"}`, "message", `Invalid value at 'message' (type.googleapis.com/google.firebase.fcm.v1.Message), "x"`},
		{"trailing garbage", `{"message":{"token":"t"}} x`, "", "Unexpected data after the request object"},
		{"trailing NUL", "{\"message\":{\"token\":\"t\"}}\x00", "", "Unexpected data after the request object"},
		{"two objects", `{"message":{"token":"t"}}{}`, "", "Unexpected data after the request object"},
		{"truncated", `{"message":{"token":"t"`, "message", "Unexpected end of input"},
		{"missing colon", `{"message" {}}`, "", "Unexpected character"},
		{"trailing comma", `{"message":{"token":"t",}}`, "message", "Unexpected character '}'"},
		{"single quotes", `{'message':{}}`, "", "Unexpected character"},
		{"control char in string", "{\"message\":{\"token\":\"a\tb\"}}", "message.token", "Control character in string"},
		{"bad escape", `{"message":{"token":"a\xb"}}`, "message.token", "Invalid escape"},
		{"bad unicode escape", `{"message":{"token":"a\u12g4"}}`, "message.token", `Invalid \u escape`},
		{"invalid utf-8", "{\"message\":{\"token\":\"a\xffb\"}}", "message.token", "Invalid UTF-8"},
		{"bad number", `{"message":{"token":"t","apns":{"payload":{"n":01}}}}`, "message.apns.payload", "Unexpected character '1'"},
		{"bad literal", `{"message":{"token":"t","apns":{"payload":{"n":nul}}}}`, "message.apns.payload", "Unexpected character 'n'"},
		{"too deep", `{"message":{"token":"t","apns":{"payload":{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}}}`, "message.apns.payload", "Nesting deeper than 64 levels"},

		// Names.
		{"unknown top-level name", `{"message":{"token":"t"},"x":1}`, "", `Invalid JSON payload received. Unknown name "x": Cannot find field.`},
		{"unknown message name", `{"message":{"token":"t","x":1}}`, "message", `Invalid JSON payload received. Unknown name "x" at 'message': Cannot find field.`},
		{"unknown android name", `{"message":{"token":"t","android":{"ttl_seconds":1}}}`, "message.android", `Unknown name "ttl_seconds" at 'message.android'`},
		{"unknown notification name", `{"message":{"token":"t","notification":{"subtitle":"s"}}}`, "message.notification", `Unknown name "subtitle" at 'message.notification'`},
		{"unknown android.notification name", `{"message":{"token":"t","android":{"notification":{"badge":1}}}}`, "message.android.notification", `Unknown name "badge" at 'message.android.notification'`},
		{"unknown apns name", `{"message":{"token":"t","apns":{"aps":{}}}}`, "message.apns", `Unknown name "aps" at 'message.apns'`},
		{"unknown webpush.fcm_options name", `{"message":{"token":"t","webpush":{"fcm_options":{"url":"u"}}}}`, "message.webpush.fcm_options", `Unknown name "url" at 'message.webpush.fcm_options'`},
		{"wrong camel case", `{"message":{"token":"t","android":{"collapsekey":"c"}}}`, "message.android", `Unknown name "collapsekey"`},
		{"camel case of a one-word name", `{"message":{"Token":"t"}}`, "message", `Unknown name "Token"`},
		{"duplicate message", `{"message":{"token":"t"},"message":{"token":"t"}}`, "", `Duplicate name "message"`},
		{"duplicate validate_only", `{"validate_only":true,"validateOnly":true,"message":{"token":"t"}}`, "", `Duplicate name "validateOnly"`},
		{"duplicate token", `{"message":{"token":"t","token":"u"}}`, "message", `Duplicate name "token" at 'message'`},
		{"camel and snake", `{"message":{"token":"t","android":{"collapse_key":"a","collapseKey":"b"}}}`, "message.android", `Duplicate name "collapseKey" at 'message.android'`},
		{"camel and snake raw", `{"message":{"token":"t","android":{"notification":{"channel_id":"a","channelId":"b"}}}}`, "message.android.notification", `Duplicate name "channelId"`},
		{"duplicate null", `{"message":{"token":"t","notification":{"title":null,"title":"x"}}}`, "message.notification", `Duplicate name "title"`},
		{"duplicate data key", `{"message":{"token":"t","data":{"a":"1","a":"2"}}}`, "message.data", `Duplicate name "a" at 'message.data'`},
		{"duplicate header", `{"message":{"token":"t","apns":{"headers":{"a":"1","\u0061":"2"}}}}`, "message.apns.headers", `Duplicate name "a"`},
		{"duplicate payload key", `{"message":{"token":"t","apns":{"payload":{"aps":{},"x":1,"aps":{}}}}}`, "message.apns.payload", `Duplicate name "aps"`},

		// Types.
		{"data value number", `{"message":{"token":"t","data":{"a":"1","b":12}}}`, "message.data[1].value", `Invalid value at 'message.data[1].value' (TYPE_STRING), 12`},
		{"data value object", `{"message":{"token":"t","data":{"a":{}}}}`, "message.data[0].value", `(TYPE_STRING), Starting an object on a scalar field`},
		{"data value null", `{"message":{"token":"t","data":{"a":null}}}`, "message.data[0].value", `(TYPE_STRING), null`},
		{"android data value", `{"message":{"token":"t","android":{"data":{"a":true}}}}`, "message.android.data[0].value", `Invalid value at 'message.android.data[0].value' (TYPE_STRING), true`},
		{"data not an object", `{"message":{"token":"t","data":["a"]}}`, "message.data", `Starting an array on a scalar field`},
		{"token number", `{"message":{"token":12}}`, "message.token", `Invalid value at 'message.token' (TYPE_STRING), 12`},
		{"validate_only string", `{"validate_only":"true","message":{"token":"t"}}`, "validate_only", `Invalid value at 'validate_only' (TYPE_BOOL), "true"`},
		{"android not an object", `{"message":{"token":"t","android":[]}}`, "message.android", `(type.googleapis.com/google.firebase.fcm.v1.AndroidConfig)`},
		{"apns not an object", `{"message":{"token":"t","apns":"x"}}`, "message.apns", `Invalid value at 'message.apns' (type.googleapis.com/google.firebase.fcm.v1.ApnsConfig), "x"`},
		{"webpush not an object", `{"message":{"token":"t","webpush":1}}`, "message.webpush", `(type.googleapis.com/google.firebase.fcm.v1.WebpushConfig), 1`},
		{"fcm_options not an object", `{"message":{"token":"t","fcm_options":true}}`, "message.fcm_options", `(type.googleapis.com/google.firebase.fcm.v1.FcmOptions), true`},
		{"android.notification not an object", `{"message":{"token":"t","android":{"notification":"n"}}}`, "message.android.notification", `(type.googleapis.com/google.firebase.fcm.v1.AndroidNotification)`},
		{"android_v2 not an object", `{"message":{"token":"t","android_v2":[]}}`, "message.android_v2", `(type.googleapis.com/google.protobuf.Struct)`},
		{"apns payload not an object", `{"message":{"token":"t","apns":{"payload":"p"}}}`, "message.apns.payload", `(type.googleapis.com/google.protobuf.Struct), "p"`},
		{"header value number", `{"message":{"token":"t","webpush":{"headers":{"TTL":15}}}}`, "message.webpush.headers[0].value", `(TYPE_STRING), 15`},
		{"loc args not strings", `{"message":{"token":"t","android":{"notification":{"body_loc_args":["a",1]}}}}`, "message.android.notification.body_loc_args[1]", `(TYPE_STRING), 1`},
		{"sticky not bool", `{"message":{"token":"t","android":{"notification":{"sticky":"yes"}}}}`, "message.android.notification.sticky", `(TYPE_BOOL), "yes"`},
		{"direct_boot_ok not bool", `{"message":{"token":"t","android":{"direct_boot_ok":1}}}`, "message.android.direct_boot_ok", `(TYPE_BOOL), 1`},
		{"color not an object", `{"message":{"token":"t","android":{"notification":{"light_settings":{"color":"#fff"}}}}}`, "message.android.notification.light_settings.color", `(type.googleapis.com/google.type.Color), "#fff"`},
		{"count not a number", `{"message":{"token":"t","android":{"notification":{"notification_count":true}}}}`, "message.android.notification.notification_count", `(TYPE_INT32), true`},
		{"bad priority", `{"message":{"token":"t","android":{"priority":"urgent"}}}`, "message.android.priority", `Invalid value at 'message.android.priority' (type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority), "urgent"`},
		{"bad priority number", `{"message":{"token":"t","android":{"priority":2}}}`, "message.android.priority", `AndroidMessagePriority), 2`},

		// TTL.
		{"ttl number", `{"message":{"token":"t","android":{"ttl":3}}}`, "message.android.ttl", `Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), 3`},
		{"ttl without unit", `{"message":{"token":"t","android":{"ttl":"3"}}}`, "message.android.ttl", `(type.googleapis.com/google.protobuf.Duration), "3"`},
		{"ttl in minutes", `{"message":{"token":"t","android":{"ttl":"3m"}}}`, "message.android.ttl", `Duration), "3m"`},
		{"ttl ten digits", `{"message":{"token":"t","android":{"ttl":"3.0000000001s"}}}`, "message.android.ttl", `Duration), "3.0000000001s"`},
		{"ttl negative", `{"message":{"token":"t","android":{"ttl":"-1s"}}}`, "message.android.ttl", `the TTL must be between 0s and 2419200s`},
		{"ttl slightly negative", `{"message":{"token":"t","android":{"ttl":"-0.000000001s"}}}`, "message.android.ttl", `the TTL must be between`},
		{"ttl over 28 days", `{"message":{"token":"t","android":{"ttl":"2419201s"}}}`, "message.android.ttl", `not "2419201s"`},
		{"ttl just over 28 days", `{"message":{"token":"t","android":{"ttl":"2419200.000000001s"}}}`, "message.android.ttl", `the TTL must be between`},
		{"ttl huge", `{"message":{"token":"t","android":{"ttl":"999999999999999999999s"}}}`, "message.android.ttl", `Duration)`},

		// Targets.
		{"no target", `{"message":{"data":{"a":"b"}}}`, "message", "Exactly one of token, fid, topic or condition must be set; none is."},
		{"empty token only", `{"message":{"token":""}}`, "message", "none is"},
		{"two targets", `{"message":{"token":"t","topic":"x"}}`, "message", "must be set, not token and topic."},
		{"four targets", `{"message":{"token":"t","fid":"f","topic":"x","condition":"c"}}`, "message", "not token and fid and topic and condition."},
		{"token too long", `{"message":{"token":"` + long + `"}}`, "message.token", "The registration token is not a valid FCM registration token"},
		{"fid too long", `{"message":{"fid":"` + long + `"}}`, "message.fid", "longer than 4096 characters"},
		{"topic bad character", `{"message":{"topic":"a b"}}`, "message.topic", `Invalid topic name "a b"`},
		{"topic private segment", `{"message":{"topic":"/topics/private/x"}}`, "message.topic", `Invalid topic name "private/x"`},
		{"topic prefix only", `{"message":{"topic":"/topics/"}}`, "message.topic", `Invalid topic name "/topics/"`},
		{"topic too long", `{"message":{"topic":"` + strings.Repeat("a", MaxTopicLength+1) + `"}}`, "message.topic", `Invalid topic name`},

		// Reserved data keys.
		{"data from", `{"message":{"token":"t","data":{"from":"x"}}}`, "message.data.from", `Invalid data payload key "from"`},
		{"data message_type", `{"message":{"token":"t","data":{"message_type":"x"}}}`, "message.data.message_type", `key "message_type"`},
		{"data gcm", `{"message":{"token":"t","data":{"gcm":"x"}}}`, "message.data.gcm", `key "gcm"`},
		{"data gcm.", `{"message":{"token":"t","data":{"gcm.n.e":"1"}}}`, "message.data.gcm.n.e", `key "gcm.n.e"`},
		{"data google", `{"message":{"token":"t","data":{"google.c.a":"1"}}}`, "message.data.google.c.a", `key "google.c.a"`},
		{"data googleplex", `{"message":{"token":"t","data":{"googleplex":"1"}}}`, "message.data.googleplex", `key "googleplex"`},
		{"first reserved key in order", `{"message":{"token":"t","data":{"gcm":"1","from":"2","google":"3"}}}`, "message.data.from", `key "from"`},
		{"android data from", `{"message":{"token":"t","android":{"data":{"from":"x"}}}}`, "message.android.data.from", `key "from"`},

		// Size.
		{"too big", `{"message":{"token":"t","data":{"k":"` + strings.Repeat("x", 4096) + `"}}}`, "message", "Message is too big"},
		{"too big with notification", `{"message":{"token":"t","data":{"k":"` + strings.Repeat("x", 4000) + `"},"notification":{"body":"` + strings.Repeat("x", 100) + `"}}}`, "message", "Message is too big: 4101 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeSendRequest([]byte(tt.body))
			checkInvalid(t, err, tt.field, tt.text)
			if diff := cmp.Diff(SendRequest{}, got); diff != "" {
				t.Errorf("result on error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeAllowed(t *testing.T) {
	for _, msg := range []string{
		`{"token":"t","data":{"collapse_key":"x","fromage":"y","gcmx":"z","Google":"w","":"empty key"}}`,
		`{"token":"` + strings.Repeat("a", MaxTokenLength) + `"}`,
		`{"token":"` + strings.Repeat("é", MaxTokenLength) + `"}`, // characters, not bytes
		`{"topic":"` + strings.Repeat("a", MaxTopicLength) + `"}`,
		`{"condition":"'a' in topics && !('b' in topics)"}`,
		`{"token":"t","android":{"ttl":"0s","priority":"NORMAL"}}`,
	} {
		decodeMessage(t, msg)
	}
}

func TestSendRequestRoundTrip(t *testing.T) {
	for _, body := range []string{goSDKSample, nodeSDKSample} {
		req, err := DecodeSendRequest([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		req.ValidateOnly = true
		enc, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeSendRequest(enc)
		if err != nil {
			t.Fatalf("decode of %s: %v", enc, err)
		}
		if diff := cmp.Diff(req, again); diff != "" {
			t.Errorf("round trip through %s (-want +got):\n%s", enc, diff)
		}
	}
	// The canonical form of the Node sample, byte for byte.
	req, err := DecodeSendRequest([]byte(nodeSDKSample))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"message":{"token":"tok1","data":{"k":"v"},"android":{"collapse_key":"ck","priority":"high","ttl":"3.500s","restricted_package_name":"com.x"},"apns":{"headers":{"apns-priority":"5"},"payload":{"aps":{"content-available":1}}},"webpush":{"fcm_options":{"link":"https://x"}},"fcm_options":{"analytics_label":"lbl"}}}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("MarshalJSON (-want +got):\n%s", diff)
	}
}

func BenchmarkDecode(b *testing.B) {
	body := []byte(goSDKSample)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeSendRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}
