package fcm

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlatform(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       string // "" for nil
	}{
		{
			name: "no platform block",
			body: `{"message":{"token":"t","data":{"k":"v"},"notification":{"title":"x"}}}`,
		},
		{
			name: "every block, Node's lowerCamelCase, upper-case enum, 9-digit duration",
			body: `{"message":{"token":"t","data":{"k":"v"},` +
				`"android":{"ttl":"3.500000000s","priority":"HIGH","collapseKey":"ck","restrictedPackageName":"com.x",` +
				`"data":{"a":"b"},"notification":{"channelId":"news","clickAction":"OPEN"},"fcmOptions":{"analyticsLabel":"al"},"directBootOk":true},` +
				`"apns":{"headers":{"apns-priority":"5"},"payload":{"aps":{"content-available":1}},"fcmOptions":{"image":"https://x/i.png"}},` +
				`"webpush":{"headers":{"TTL":"90"},"data":{"w":"1"},"notification":{"requireInteraction":true},"fcmOptions":{"link":"https://x"}},` +
				`"fcmOptions":{"analyticsLabel":"lbl"}}}`,
			want: `{"android":{"collapse_key":"ck","priority":"high","ttl":"3.500s","restricted_package_name":"com.x",` +
				`"data":{"a":"b"},"notification":{"channel_id":"news","click_action":"OPEN"},"fcm_options":{"analytics_label":"al"},"direct_boot_ok":true},` +
				`"apns":{"headers":{"apns-priority":"5"},"payload":{"aps":{"content-available":1}},"fcm_options":{"image":"https://x/i.png"}},` +
				`"webpush":{"headers":{"TTL":"90"},"data":{"w":"1"},"notification":{"requireInteraction":true},"fcm_options":{"link":"https://x"}},` +
				`"fcm_options":{"analytics_label":"lbl"}}`,
		},
		{
			name: "webpush only",
			body: `{"message":{"token":"t","webpush":{"headers":{"Urgency":"high"}}}}`,
			want: `{"webpush":{"headers":{"Urgency":"high"}}}`,
		},
		{
			name: "empty android block",
			body: `{"message":{"token":"t","android":{}}}`,
			want: `{"android":{}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := DecodeSendRequest([]byte(tc.body))
			if err != nil {
				t.Fatalf("DecodeSendRequest: %v", err)
			}
			got := req.Message.Platform()
			if tc.want == "" {
				if got != nil {
					t.Fatalf("Platform() = %s, want nil", got)
				}
				return
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("Platform() (-want +got):\n%s", diff)
			}
		})
	}
}
