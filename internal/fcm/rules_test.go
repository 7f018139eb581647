package fcm

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tokenMsg is a send request to token "t" with the given members added to
// the message.
func tokenMsg(members string) string {
	return `{"message":{"token":"t",` + members + `}}`
}

// ruleCases are the value rules' rejections: every row names the field
// FCM names and a part of the message saying what is expected. Their wire
// bodies are in testdata/rules.golden.
var ruleCases = []struct {
	name  string
	body  string
	field string
	text  string
}{
	// Analytics labels, on every block that has one.
	{"label bad character", tokenMsg(`"fcm_options":{"analytics_label":"a b"}`), "message.fcm_options.analytics_label", `an analytics label must match [a-zA-Z0-9-_.~%]{1,50}, not "a b".`},
	{"label too long", tokenMsg(`"fcmOptions":{"analyticsLabel":"` + strings.Repeat("a", 51) + `"}`), "message.fcm_options.analytics_label", `[a-zA-Z0-9-_.~%]{1,50}`},
	{"label non-ascii", tokenMsg(`"fcm_options":{"analytics_label":"é"}`), "message.fcm_options.analytics_label", `not "é"`},
	{"android label", tokenMsg(`"android":{"fcm_options":{"analytics_label":"a/b"}}`), "message.android.fcm_options.analytics_label", `not "a/b"`},
	{"apns label", tokenMsg(`"apns":{"fcmOptions":{"analyticsLabel":"a:b"}}`), "message.apns.fcm_options.analytics_label", `not "a:b"`},
	{"webpush label", tokenMsg(`"webpush":{"fcm_options":{"analytics_label":"a+b"}}`), "message.webpush.fcm_options.analytics_label", `not "a+b"`},

	// URLs.
	{"link http", tokenMsg(`"webpush":{"fcm_options":{"link":"http://example.com/"}}`), "message.webpush.fcm_options.link", `expected an absolute https URL, not "http://example.com/".`},
	{"link relative", tokenMsg(`"webpush":{"fcmOptions":{"link":"/open"}}`), "message.webpush.fcm_options.link", `absolute https URL`},
	{"link no host", tokenMsg(`"webpush":{"fcm_options":{"link":"https:///x"}}`), "message.webpush.fcm_options.link", `absolute https URL`},
	{"notification image relative", tokenMsg(`"notification":{"image":"img.png"}`), "message.notification.image", `expected an absolute http or https URL, not "img.png".`},
	{"notification image ftp", tokenMsg(`"notification":{"image":"ftp://x/i.png"}`), "message.notification.image", `http or https`},
	{"notification image unparsable", tokenMsg(`"notification":{"image":"http://[::1"}`), "message.notification.image", `http or https`},
	{"android image", tokenMsg(`"android":{"notification":{"image":"data:image/png;base64,AA"}}`), "message.android.notification.image", `http or https`},
	{"apns image", tokenMsg(`"apns":{"fcm_options":{"image":"file:///i.png"}}`), "message.apns.fcm_options.image", `http or https`},

	// AndroidConfig.
	{"package name digit first", tokenMsg(`"android":{"restricted_package_name":"com.1x"}`), "message.android.restricted_package_name", `expected a Java package name such as "com.example.app", not "com.1x".`},
	{"package name trailing dot", tokenMsg(`"android":{"restrictedPackageName":"com."}`), "message.android.restricted_package_name", `Java package name`},
	{"package name dash", tokenMsg(`"android":{"restricted_package_name":"com.my-app"}`), "message.android.restricted_package_name", `Java package name`},

	// AndroidNotification.
	{"color name", tokenMsg(`"android":{"notification":{"color":"red"}}`), "message.android.notification.color", `expected a color in the form #rrggbb, not "red".`},
	{"color short", tokenMsg(`"android":{"notification":{"color":"#fff"}}`), "message.android.notification.color", `#rrggbb`},
	{"color with alpha", tokenMsg(`"android":{"notification":{"color":"#ff0000ff"}}`), "message.android.notification.color", `#rrggbb`},
	{"color not hex", tokenMsg(`"android":{"notification":{"color":"#gg0000"}}`), "message.android.notification.color", `#rrggbb`},
	{"body loc args without key", tokenMsg(`"android":{"notification":{"body_loc_args":["a"]}}`), "message.android.notification.body_loc_args", `body_loc_key is required when body_loc_args is set.`},
	{"title loc args without key", tokenMsg(`"android":{"notification":{"titleLocArgs":["a"],"bodyLocKey":"k"}}`), "message.android.notification.title_loc_args", `title_loc_key is required`},
	{"title loc args empty key", tokenMsg(`"android":{"notification":{"title_loc_key":"","title_loc_args":["a"]}}`), "message.android.notification.title_loc_args", `title_loc_key is required`},
	{"notification priority unknown", tokenMsg(`"android":{"notification":{"notification_priority":"URGENT"}}`), "message.android.notification.notification_priority", `Invalid value at 'message.android.notification.notification_priority' (type.googleapis.com/google.firebase.fcm.v1.AndroidNotification.NotificationPriority), "URGENT": expected one of PRIORITY_UNSPECIFIED, PRIORITY_MIN, PRIORITY_LOW, PRIORITY_DEFAULT, PRIORITY_HIGH, PRIORITY_MAX.`},
	{"notification priority short name", tokenMsg(`"android":{"notification":{"notificationPriority":"HIGH"}}`), "message.android.notification.notification_priority", `"HIGH": expected one of`},
	{"notification priority number", tokenMsg(`"android":{"notification":{"notification_priority":6}}`), "message.android.notification.notification_priority", `NotificationPriority), 6`},
	{"visibility unknown", tokenMsg(`"android":{"notification":{"visibility":"HIDDEN"}}`), "message.android.notification.visibility", `(type.googleapis.com/google.firebase.fcm.v1.AndroidNotification.Visibility), "HIDDEN": expected one of VISIBILITY_UNSPECIFIED, PRIVATE, PUBLIC, SECRET.`},
	{"visibility negative", tokenMsg(`"android":{"notification":{"visibility":-1}}`), "message.android.notification.visibility", `Visibility), -1`},
	{"proxy unknown", tokenMsg(`"android":{"notification":{"proxy":"MAYBE"}}`), "message.android.notification.proxy", `(type.googleapis.com/google.firebase.fcm.v1.AndroidNotification.Proxy), "MAYBE": expected one of PROXY_UNSPECIFIED, ALLOW, DENY, IF_PRIORITY_LOWERED.`},
	{"notification count negative", tokenMsg(`"android":{"notification":{"notification_count":-1}}`), "message.android.notification.notification_count", `the notification count must not be negative, not -1.`},
	{"notification count string", tokenMsg(`"android":{"notification":{"notificationCount":"three"}}`), "message.android.notification.notification_count", `(TYPE_INT32), "three"`},
	{"notification count fraction", tokenMsg(`"android":{"notification":{"notification_count":1.5}}`), "message.android.notification.notification_count", `(TYPE_INT32), 1.5`},
	{"notification count over int32", tokenMsg(`"android":{"notification":{"notification_count":2147483648}}`), "message.android.notification.notification_count", `(TYPE_INT32), 2147483648`},
	{"event time not RFC 3339", tokenMsg(`"android":{"notification":{"event_time":"2006-01-02 15:04:05"}}`), "message.android.notification.event_time", `Invalid value at 'message.android.notification.event_time' (type.googleapis.com/google.protobuf.Timestamp), "2006-01-02 15:04:05": expected an RFC 3339 timestamp`},
	{"event time no zone", tokenMsg(`"android":{"notification":{"eventTime":"2006-01-02T15:04:05"}}`), "message.android.notification.event_time", `RFC 3339`},
	{"vibrate timing negative", tokenMsg(`"android":{"notification":{"vibrate_timings":["1s","-0.5s"]}}`), "message.android.notification.vibrate_timings[1]", `a duration must not be negative, not "-0.5s".`},
	{"vibrate timing malformed", tokenMsg(`"android":{"notification":{"vibrateTimings":["1000"]}}`), "message.android.notification.vibrate_timings[0]", `(type.googleapis.com/google.protobuf.Duration), "1000"`},
	{"light settings empty", tokenMsg(`"android":{"notification":{"light_settings":{}}}`), "message.android.notification.light_settings.color", `the color is required when light_settings is set.`},
	{"light settings no on duration", tokenMsg(`"android":{"notification":{"light_settings":{"color":{"red":1},"light_off_duration":"1s"}}}`), "message.android.notification.light_settings.light_on_duration", `light_on_duration is required`},
	{"light settings no off duration", tokenMsg(`"android":{"notification":{"lightSettings":{"color":{},"lightOnDuration":"1s"}}}`), "message.android.notification.light_settings.light_off_duration", `light_off_duration is required`},
	{"light settings null color", tokenMsg(`"android":{"notification":{"light_settings":{"color":null,"light_on_duration":"1s","light_off_duration":"1s"}}}`), "message.android.notification.light_settings.color", `the color is required`},
	{"light color over 1", tokenMsg(`"android":{"notification":{"light_settings":{"color":{"red":255},"light_on_duration":"1s","light_off_duration":"1s"}}}`), "message.android.notification.light_settings.color.red", `a color component must be between 0 and 1, not 255.`},
	{"light color negative", tokenMsg(`"android":{"notification":{"light_settings":{"color":{"alpha":-0.1},"light_on_duration":"1s","light_off_duration":"1s"}}}`), "message.android.notification.light_settings.color.alpha", `between 0 and 1, not -0.1.`},
	{"light color NaN", tokenMsg(`"android":{"notification":{"light_settings":{"color":{"green":"NaN"},"light_on_duration":"1s","light_off_duration":"1s"}}}`), "message.android.notification.light_settings.color.green", `not NaN.`},
	{"light color not a number", tokenMsg(`"android":{"notification":{"light_settings":{"color":{"blue":"x"},"light_on_duration":"1s","light_off_duration":"1s"}}}`), "message.android.notification.light_settings.color.blue", `(TYPE_FLOAT), "x"`},
	{"light duration negative", tokenMsg(`"android":{"notification":{"light_settings":{"color":{},"light_on_duration":"-1s","light_off_duration":"1s"}}}`), "message.android.notification.light_settings.light_on_duration", `must not be negative`},
	{"light duration malformed", tokenMsg(`"android":{"notification":{"light_settings":{"color":{},"light_on_duration":"1s","light_off_duration":"1 s"}}}`), "message.android.notification.light_settings.light_off_duration", `Duration), "1 s"`},

	// APNs headers.
	{"apns priority 7", tokenMsg(`"apns":{"headers":{"apns-priority":"7"}}`), "message.apns.headers.apns-priority", `apns-priority must be "10", "5" or "1", not "7".`},
	{"apns priority any case name", tokenMsg(`"apns":{"headers":{"APNs-Priority":"high"}}`), "message.apns.headers.APNs-Priority", `not "high"`},
	{"apns expiration date", tokenMsg(`"apns":{"headers":{"apns-expiration":"2030-01-01"}}`), "message.apns.headers.apns-expiration", `apns-expiration must be a UNIX time in seconds`},
	{"apns expiration negative", tokenMsg(`"apns":{"headers":{"apns-expiration":"-1"}}`), "message.apns.headers.apns-expiration", `not "-1"`},
	{"apns push type unknown", tokenMsg(`"apns":{"headers":{"apns-push-type":"silent"}}`), "message.apns.headers.apns-push-type", `apns-push-type must be one of alert, background, location, voip, complication, fileprovider, mdm, liveactivity, pushtotalk, widgets, controls, not "silent".`},
	{"apns push type upper case", tokenMsg(`"apns":{"headers":{"apns-push-type":"ALERT"}}`), "message.apns.headers.apns-push-type", `not "ALERT"`},
	{"apns collapse id too long", tokenMsg(`"apns":{"headers":{"apns-collapse-id":"` + strings.Repeat("c", 65) + `"}}`), "message.apns.headers.apns-collapse-id", `apns-collapse-id must not exceed 64 bytes, not 65.`},
	{"apns header not a string", tokenMsg(`"apns":{"headers":{"apns-priority":10}}`), "message.apns.headers[0].value", `(TYPE_STRING), 10`},
	{"data-only with priority 10", tokenMsg(`"data":{"k":"v"},"apns":{"headers":{"apns-priority":"10"},"payload":{"aps":{"content-available":1}}}`), "message.apns.headers.apns-priority", `iOS data-only messages must use apns-priority 5`},
	{"data-only with priority 10, no payload", tokenMsg(`"apns":{"headers":{"apns-priority":"10"}}`), "message.apns.headers.apns-priority", `iOS data-only messages must use apns-priority 5`},
	{"data-only with priority 10, image only", tokenMsg(`"notification":{"image":"https://x/i.png"},"apns":{"headers":{"apns-priority":"10"},"payload":{"aps":{"alert":null}}}`), "message.apns.headers.apns-priority", `iOS data-only`},

	// The aps dictionary.
	{"aps not an object", tokenMsg(`"apns":{"payload":{"aps":"alert"}}`), "message.apns.payload.aps", `Invalid value at 'message.apns.payload.aps' (type.googleapis.com/google.protobuf.Struct), "alert"`},
	{"aps alert number", tokenMsg(`"apns":{"payload":{"aps":{"alert":1}}}`), "message.apns.payload.aps.alert", `alert must be a string or a dictionary, not 1.`},
	{"aps loc args without key", tokenMsg(`"apns":{"payload":{"aps":{"alert":{"loc-args":["a"]}}}}`), "message.apns.payload.aps.alert.loc-args", `loc-key is required when loc-args is set.`},
	{"aps title loc args without key", tokenMsg(`"apns":{"payload":{"aps":{"alert":{"title-loc-args":["a"],"loc-key":"k"}}}}`), "message.apns.payload.aps.alert.title-loc-args", `title-loc-key is required when title-loc-args is set.`},
	{"aps subtitle loc args without key", tokenMsg(`"apns":{"payload":{"aps":{"alert":{"subtitle-loc-args":["a"]}}}}`), "message.apns.payload.aps.alert.subtitle-loc-args", `subtitle-loc-key is required`},
	{"aps loc args not strings", tokenMsg(`"apns":{"payload":{"aps":{"alert":{"loc-key":"k","loc-args":["a",2]}}}}`), "message.apns.payload.aps.alert.loc-args[1]", `(TYPE_STRING), 2`},
	{"aps loc args not an array", tokenMsg(`"apns":{"payload":{"aps":{"alert":{"loc-key":"k","loc-args":"a"}}}}`), "message.apns.payload.aps.alert.loc-args", `loc-args must be an array of strings, not "a".`},
	{"aps loc key not a string", tokenMsg(`"apns":{"payload":{"aps":{"alert":{"loc-key":1}}}}`), "message.apns.payload.aps.alert.loc-key", `(TYPE_STRING), 1`},
	{"aps sound number", tokenMsg(`"apns":{"payload":{"aps":{"sound":1}}}`), "message.apns.payload.aps.sound", `sound must be a sound name or a critical-sound dictionary, not 1.`},
	{"aps critical volume over 1", tokenMsg(`"apns":{"payload":{"aps":{"sound":{"critical":1,"name":"default","volume":1.5}}}}`), "message.apns.payload.aps.sound.volume", `volume must be a number between 0 and 1, not 1.5.`},
	{"aps critical volume string", tokenMsg(`"apns":{"payload":{"aps":{"sound":{"name":"default","volume":"1"}}}}`), "message.apns.payload.aps.sound.volume", `between 0 and 1, not "1".`},
	{"aps critical 2", tokenMsg(`"apns":{"payload":{"aps":{"sound":{"critical":2,"name":"default"}}}}`), "message.apns.payload.aps.sound.critical", `critical must be 0 or 1, not 2.`},
	{"aps critical sound without name", tokenMsg(`"apns":{"payload":{"aps":{"sound":{"critical":1,"volume":0.5}}}}`), "message.apns.payload.aps.sound.name", `a sound dictionary needs the name of a sound file, or "default".`},
	{"aps content-available true", tokenMsg(`"apns":{"payload":{"aps":{"content-available":true}}}`), "message.apns.payload.aps.content-available", `content-available must be 0 or 1, not true.`},
	{"aps content-available 2", tokenMsg(`"apns":{"payload":{"aps":{"content-available":2}}}`), "message.apns.payload.aps.content-available", `must be 0 or 1, not 2.`},
	{"aps mutable-content string", tokenMsg(`"apns":{"payload":{"aps":{"mutable-content":"1"}}}`), "message.apns.payload.aps.mutable-content", `mutable-content must be 0 or 1, not "1".`},
	{"aps badge negative", tokenMsg(`"apns":{"payload":{"aps":{"badge":-1}}}`), "message.apns.payload.aps.badge", `badge must be a non-negative integer, not -1.`},
	{"aps badge fraction", tokenMsg(`"apns":{"payload":{"aps":{"badge":1.5}}}`), "message.apns.payload.aps.badge", `not 1.5.`},
	{"aps thread-id number", tokenMsg(`"apns":{"payload":{"aps":{"thread-id":7}}}`), "message.apns.payload.aps.thread-id", `(TYPE_STRING), 7`},
	{"aps interruption level", tokenMsg(`"apns":{"payload":{"aps":{"interruption-level":"urgent"}}}`), "message.apns.payload.aps.interruption-level", `interruption-level must be one of passive, active, time-sensitive, critical, not "urgent".`},
	{"aps relevance score", tokenMsg(`"apns":{"payload":{"aps":{"relevance-score":2}}}`), "message.apns.payload.aps.relevance-score", `relevance-score must be a number between 0 and 1, not 2.`},
	{"aps duplicate key", tokenMsg(`"apns":{"payload":{"aps":{"sound":"a","sound":{"name":"b"}}}}`), "message.apns.payload", `Duplicate name "sound"`},

	// Web Push headers.
	{"webpush TTL not a number", tokenMsg(`"webpush":{"headers":{"TTL":"1h"}}`), "message.webpush.headers.TTL", `TTL must be a non-negative integer number of seconds, not "1h".`},
	{"webpush TTL negative", tokenMsg(`"webpush":{"headers":{"ttl":"-5"}}`), "message.webpush.headers.ttl", `not "-5"`},
	{"webpush urgency", tokenMsg(`"webpush":{"headers":{"Urgency":"urgent"}}`), "message.webpush.headers.Urgency", `Urgency must be one of very-low, low, normal, high, not "urgent".`},
	{"webpush urgency case", tokenMsg(`"webpush":{"headers":{"urgency":"HIGH"}}`), "message.webpush.headers.urgency", `not "HIGH"`},
	{"webpush topic too long", tokenMsg(`"webpush":{"headers":{"Topic":"` + strings.Repeat("a", 33) + `"}}`), "message.webpush.headers.Topic", `Topic must be at most 32 characters of the URL-safe base64 alphabet`},
	{"webpush topic bad character", tokenMsg(`"webpush":{"headers":{"Topic":"a+b"}}`), "message.webpush.headers.Topic", `not "a+b"`},

	// The Web Push notification.
	{"web dir", tokenMsg(`"webpush":{"notification":{"dir":"up"}}`), "message.webpush.notification.dir", `dir must be one of auto, ltr, rtl, not "up".`},
	{"web title number", tokenMsg(`"webpush":{"notification":{"title":1}}`), "message.webpush.notification.title", `(TYPE_STRING), 1`},
	{"web requireInteraction string", tokenMsg(`"webpush":{"notification":{"requireInteraction":"yes"}}`), "message.webpush.notification.requireInteraction", `(TYPE_BOOL), "yes"`},
	{"web actions object", tokenMsg(`"webpush":{"notification":{"actions":{"action":"a","title":"A"}}}`), "message.webpush.notification.actions", `actions must be an array of {"action", "title"} objects, not an object.`},
	{"web action string", tokenMsg(`"webpush":{"notification":{"actions":["a"]}}`), "message.webpush.notification.actions[0]", `an action must be an object with action and title, not "a".`},
	{"web action without title", tokenMsg(`"webpush":{"notification":{"actions":[{"action":"a","title":"A"},{"action":"b"}]}}`), "message.webpush.notification.actions[1].title", `an action needs a non-empty title string.`},
	{"web action without action", tokenMsg(`"webpush":{"notification":{"actions":[{"title":"A"}]}}`), "message.webpush.notification.actions[0].action", `an action needs a non-empty action string.`},
	{"web action icon number", tokenMsg(`"webpush":{"notification":{"actions":[{"action":"a","title":"A","icon":1}]}}`), "message.webpush.notification.actions[0].icon", `(TYPE_STRING), 1`},
	{"web vibrate negative", tokenMsg(`"webpush":{"notification":{"vibrate":[100,-1]}}`), "message.webpush.notification.vibrate[1]", `vibrate must be a number of milliseconds or an array of them, not -1.`},
	{"web timestamp string", tokenMsg(`"webpush":{"notification":{"timestamp":"now"}}`), "message.webpush.notification.timestamp", `timestamp must be a number of milliseconds, not "now".`},
	{"web duplicate key", tokenMsg(`"webpush":{"notification":{"title":"a","title":"b"}}`), "message.webpush.notification", `Duplicate name "title"`},
}

func TestValidateRules(t *testing.T) {
	var golden bytes.Buffer
	for _, tt := range ruleCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeSendRequest([]byte(tt.body))
			checkInvalid(t, err, tt.field, tt.text)
			if diff := cmp.Diff(SendRequest{}, got); diff != "" {
				t.Errorf("result on error (-want +got):\n%s", diff)
			}
			var e *Error
			if errors.As(err, &e) {
				golden.WriteString(tt.name + ": ")
				golden.Write(e.appendJSON(nil))
				golden.WriteByte('\n')
			}
		})
	}
	path := filepath.Join("testdata", "rules.golden")
	if *update {
		if err := os.WriteFile(path, golden.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), golden.String()); diff != "" {
		t.Errorf("%s: the wire bodies changed (-want +got):\n%s", path, diff)
	}
}

// fullMessage uses every block and every member a rule applies to, each
// at a value the rules accept.
var fullMessage = `{"validate_only":true,"message":{"token":"t",` +
	`"data":{"k":"v"},` +
	`"notification":{"title":"T","body":"B","image":"http://example.com/i.png"},` +
	`"android":{"collapse_key":"ck","priority":"HIGH","ttl":"60s","restricted_package_name":"com.example.app_2",` +
	`"data":{"a":"b"},"fcm_options":{"analytics_label":"a-b_c.d~e%f"},"direct_boot_ok":true,` +
	`"notification":{"title":"t","body":"b","icon":"ic","color":"#A0b1C2","sound":"default","tag":"tg","click_action":"OPEN",` +
	`"body_loc_key":"bk","body_loc_args":["1","2"],"title_loc_key":"tk","title_loc_args":["x"],"channel_id":"ch","ticker":"tick",` +
	`"sticky":true,"event_time":"2026-01-02T15:04:05.123456789+02:00","local_only":true,"notification_priority":"priority_max",` +
	`"default_sound":false,"default_vibrate_timings":false,"default_light_settings":false,"vibrate_timings":["0s","0.5s","1.000000001s"],` +
	`"visibility":2,"light_settings":{"color":{"red":0,"green":"0.5","blue":1,"alpha":1e0},"light_on_duration":"0.1s","light_off_duration":"0s"},` +
	`"image":"https://example.com/a.png","notification_count":"2147483647","proxy":"if_priority_lowered","bypass_proxy_notification":false}},` +
	`"apns":{"headers":{"apns-priority":"10","APNS-EXPIRATION":"0","apns-push-type":"alert","apns-collapse-id":"` + "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc" + `","apns-topic":"com.example"},` +
	`"payload":{"aps":{"alert":{"title":"t","loc-key":"lk","loc-args":["a"],"title-loc-key":"tk","title-loc-args":[],"subtitle-loc-args":null},` +
	`"sound":{"critical":1,"name":"default","volume":0.75},"badge":0,"content-available":1,"mutable-content":0,"thread-id":"th",` +
	`"category":"c","target-content-id":"x","interruption-level":"time-sensitive","relevance-score":0.5,"custom-in-aps":{"any":[1]}},` +
	`"custom":{"aps":"custom keys beside aps are the app's"}},` +
	`"fcm_options":{"analytics_label":"apns","image":"https://example.com/i.png"},"live_activity_token":"lat"},` +
	`"webpush":{"headers":{"TTL":"0","Urgency":"very-low","Topic":"` + `Az09_-Az09_-Az09_-Az09_-Az09_-ab","Content-Encoding":"x"},` +
	`"data":{"w":"1"},"notification":{"title":"t","body":"b","icon":"/rel/icon.png","image":"i","badge":"b","lang":"en","tag":"t",` +
	`"dir":"rtl","renotify":false,"requireInteraction":true,"silent":null,"timestamp":-1.5e3,"vibrate":[200,0,200],` +
	`"actions":[{"action":"open","title":"Open","icon":"i"},{"action":"x","title":"X","extra":1}],"data":{"any":"thing"}},` +
	`"fcm_options":{"link":"HTTPS://example.com/open?a=b#c","analytics_label":"web"}},` +
	`"fcm_options":{"analytics_label":"` + "%7E" + strings.Repeat("l", 47) + `"}}}`

func TestValidateRulesAccept(t *testing.T) {
	for _, body := range []string{
		fullMessage,
		goSDKSample,
		nodeSDKSample,
		// Empty strings are unset fields and pass every rule.
		tokenMsg(`"notification":{"image":""},"android":{"restricted_package_name":"","notification":{"color":"","image":"","title_loc_key":"","title_loc_args":[]}},"fcm_options":{"analytics_label":""},"webpush":{"fcm_options":{"link":""}}`),
		// Enums by number, in any case; a one-segment package name.
		tokenMsg(`"android":{"restricted_package_name":"_app","notification":{"notification_priority":0,"visibility":"secret","proxy":3,"notification_count":0}}`),
		// Data-only at apns-priority 5 or unset, and high priority with a visible part.
		tokenMsg(`"data":{"k":"v"},"apns":{"headers":{"apns-priority":"5"},"payload":{"aps":{"content-available":1}}}`),
		tokenMsg(`"data":{"k":"v"},"apns":{"payload":{"aps":{"content-available":1}}}`),
		tokenMsg(`"notification":{"body":"b"},"apns":{"headers":{"apns-priority":"10"}}`),
		tokenMsg(`"apns":{"headers":{"apns-priority":"10"},"payload":{"aps":{"alert":"hi"}}}`),
		tokenMsg(`"apns":{"headers":{"apns-priority":"10"},"payload":{"aps":{"badge":3}}}`),
		tokenMsg(`"apns":{"headers":{"apns-priority":"10"},"payload":{"aps":{"sound":"default"}}}`),
		// aps may be absent or null; a plain string sound; apns-priority 1.
		tokenMsg(`"apns":{"headers":{"apns-priority":"1"},"payload":{"custom":1}}`),
		tokenMsg(`"apns":{"payload":{"aps":null,"x":{"aps":1}}}`),
		// Web Push vibrate as one number, an empty Topic header, a bare object notification.
		tokenMsg(`"webpush":{"headers":{"Topic":""},"notification":{"vibrate":300,"actions":[]}}`),
	} {
		if _, err := DecodeSendRequest([]byte(body)); err != nil {
			t.Errorf("DecodeSendRequest(%s): %v", body, err)
		}
	}
}

// TestValidateDecoded checks that Validate holds for a decoded message (so
// also for one read back from the store) and that a message whose raw
// blocks are changed after decoding is checked again.
func TestValidateDecoded(t *testing.T) {
	req, err := DecodeSendRequest([]byte(fullMessage))
	if err != nil {
		t.Fatal(err)
	}
	m := req.Message
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate of a decoded message: %v", err)
	}
	m.FCMOptions = []byte(`{"analytics_label":"a b"}`)
	checkInvalid(t, m.Validate(), "message.fcm_options.analytics_label", "an analytics label must match")
}

func BenchmarkDecodeFull(b *testing.B) {
	body := []byte(fullMessage)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeSendRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}
