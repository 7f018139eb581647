package fcm

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/api/option"
)

// sdkServer answers the Go Admin SDK's sends: it decodes each body with
// DecodeSendRequest, hands the result to the test, and answers with the
// error the token names, or with a message name.
type sdkServer struct {
	t    *testing.T
	reqs chan SendRequest
}

func (s *sdkServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/projects/demo/messages:send" || r.Method != http.MethodPost {
		WriteError(w, NotFound(""))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		WriteError(w, Internal())
		return
	}
	req, err := DecodeSendRequest(body)
	if err != nil {
		s.t.Errorf("DecodeSendRequest(%s): %v", body, err)
		WriteError(w, err.(*Error))
		return
	}
	s.reqs <- req
	switch req.Message.Token {
	case "unregistered":
		WriteError(w, Unregistered())
	case "mismatch":
		WriteError(w, SenderIDMismatch())
	case "invalid":
		WriteError(w, InvalidArgument("message.token", "The registration token is not a valid FCM registration token"))
	case "unauthenticated":
		WriteError(w, Unauthenticated(""))
	case "apns-auth":
		WriteError(w, ThirdPartyAuthError(""))
	case "quota":
		WriteError(w, QuotaExceeded(time.Minute))
	case "internal":
		WriteError(w, Internal())
	default:
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_, _ = io.WriteString(w, `{"name":"projects/demo/messages/1"}`)
	}
}

func newSDKClient(t *testing.T) (*messaging.Client, *sdkServer) {
	t.Helper()
	s := &sdkServer{t: t, reqs: make(chan SendRequest, 1)}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	ctx := t.Context()
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: "demo"},
		option.WithEndpoint(srv.URL+"/v1"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return client, s
}

// TestGoSDKWire sends messages with every feature of firebase-admin-go
// v4.21.0 and checks what the decoder made of them.
func TestGoSDKWire(t *testing.T) {
	client, s := newSDKClient(t)
	ttl := 3500 * time.Millisecond
	count := 2
	event := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	badge := 1
	full := &messaging.Message{
		Token:        "tok1",
		Data:         map[string]string{"k": "v"},
		Notification: &messaging.Notification{Title: "t", Body: "b", ImageURL: "https://img"},
		Android: &messaging.AndroidConfig{
			CollapseKey:           "ck",
			Priority:              "high",
			TTL:                   &ttl,
			RestrictedPackageName: "com.x",
			Data:                  map[string]string{"a": "1"},
			Notification: &messaging.AndroidNotification{
				Title: "t", Body: "b", Icon: "i", Color: "#112233", Sound: "s", Tag: "tag",
				ClickAction: "OPEN", BodyLocKey: "bk", BodyLocArgs: []string{"x"}, TitleLocKey: "tk",
				TitleLocArgs: []string{"y"}, ChannelID: "ch", ImageURL: "https://img", Ticker: "tick",
				Sticky: true, EventTimestamp: &event, LocalOnly: true,
				Priority: messaging.PriorityHigh, VibrateTimingMillis: []int64{100, 1500},
				DefaultVibrateTimings: true, DefaultSound: true, DefaultLightSettings: true,
				LightSettings: &messaging.LightSettings{
					Color: "#11223344", LightOnDurationMillis: 100, LightOffDurationMillis: 200,
				},
				Visibility: messaging.VisibilityPublic, NotificationCount: &count,
				Proxy: messaging.ProxyDeny,
			},
			FCMOptions:             &messaging.AndroidFCMOptions{AnalyticsLabel: "al"},
			DirectBootOK:           true,
			BandwidthConstrainedOK: true,
			RestrictedSatelliteOK:  true,
		},
		Webpush: &messaging.WebpushConfig{
			Headers: map[string]string{"TTL": "15", "Urgency": "high"},
			Data:    map[string]string{"w": "1"},
			Notification: &messaging.WebpushNotification{
				Actions: []*messaging.WebpushNotificationAction{{Action: "a", Title: "A", Icon: "https://i"}},
				Title:   "t", Body: "b", Icon: "https://i", Badge: "https://b", Direction: "ltr",
				Data: map[string]any{"x": 1}, Image: "https://img", Language: "en", Renotify: true,
				RequireInteraction: true, Silent: true, Tag: "tag", Vibrate: []int{100},
				CustomData: map[string]any{"custom": "c"},
			},
			FCMOptions: &messaging.WebpushFCMOptions{Link: "https://link"},
		},
		APNS: &messaging.APNSConfig{
			Headers: map[string]string{"apns-priority": "10"},
			Payload: &messaging.APNSPayload{
				Aps: &messaging.Aps{
					Alert: &messaging.ApsAlert{Title: "t", SubTitle: "s", Body: "b", LocKey: "lk",
						LocArgs: []string{"a"}, TitleLocKey: "tlk", TitleLocArgs: []string{"b"},
						ActionLocKey: "alk", LaunchImage: "li"},
					Badge:            &badge,
					CriticalSound:    &messaging.CriticalSound{Critical: true, Name: "n", Volume: 0.5},
					ContentAvailable: true, MutableContent: true, Category: "cat", ThreadID: "th",
					CustomData: map[string]any{"ac": 1},
				},
				CustomData: map[string]any{"pc": "x"},
			},
			FCMOptions:        &messaging.APNSFCMOptions{AnalyticsLabel: "al", ImageURL: "https://img"},
			LiveActivityToken: "lat",
		},
		FCMOptions: &messaging.FCMOptions{AnalyticsLabel: "lbl"},
	}
	if _, err := client.Send(t.Context(), full); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := <-s.reqs
	want := Message{
		Token:        "tok1",
		Data:         map[string]string{"k": "v"},
		Notification: &Notification{Title: "t", Body: "b", Image: "https://img"},
		Android: &Android{
			CollapseKey: "ck", Priority: PriorityHigh, TTL: &ttl, RestrictedPackageName: "com.x",
			Data: map[string]string{"a": "1"}, DirectBootOK: true, BandwidthConstrainedOK: true, RestrictedSatelliteOK: true,
		},
	}
	ignoreRaw := cmp.Options{
		cmpopts.IgnoreFields(Message{}, "APNS", "Webpush", "FCMOptions"),
		cmpopts.IgnoreFields(Android{}, "Notification", "FCMOptions"),
	}
	if diff := cmp.Diff(SendRequest{Message: want}, got, ignoreRaw); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	for name, raw := range map[string]json.RawMessage{
		"apns": got.Message.APNS, "webpush": got.Message.Webpush, "fcm_options": got.Message.FCMOptions,
		"android.notification": got.Message.Android.Notification, "android.fcm_options": got.Message.Android.FCMOptions,
	} {
		if !json.Valid(raw) || len(raw) < 3 {
			t.Errorf("%s = %s, want a non-empty JSON object", name, raw)
		}
	}
	if s := string(got.Message.Android.Notification); !strings.Contains(s, `"vibrate_timings":["0.100000000s","1.500000000s"]`) ||
		!strings.Contains(s, `"notification_priority":"PRIORITY_HIGH"`) {
		t.Errorf("android.notification = %s", s)
	}

	targets := []struct {
		msg  *messaging.Message
		want Message
	}{
		{&messaging.Message{Topic: "/topics/news"}, Message{Topic: "news"}},
		{&messaging.Message{Topic: "news"}, Message{Topic: "news"}},
		{&messaging.Message{Condition: "'a' in topics || 'b' in topics"}, Message{Condition: "'a' in topics || 'b' in topics"}},
		{&messaging.Message{Fid: "fid1"}, Message{Fid: "fid1"}},
	}
	for _, tt := range targets {
		if _, err := client.SendDryRun(t.Context(), tt.msg); err != nil {
			t.Fatalf("SendDryRun: %v", err)
		}
		if diff := cmp.Diff(SendRequest{ValidateOnly: true, Message: tt.want}, <-s.reqs); diff != "" {
			t.Errorf("decoded (-want +got):\n%s", diff)
		}
	}
}

// TestGoSDKErrors checks that firebase-admin-go classifies each error as
// FCM's own.
func TestGoSDKErrors(t *testing.T) {
	client, s := newSDKClient(t)
	tests := []struct {
		token string
		is    func(error) bool
		not   func(error) bool
	}{
		{"unregistered", messaging.IsUnregistered, messaging.IsInvalidArgument},
		{"mismatch", messaging.IsSenderIDMismatch, messaging.IsUnregistered},
		{"invalid", messaging.IsInvalidArgument, messaging.IsInternal},
		{"unauthenticated", errorutils.IsUnauthenticated, messaging.IsThirdPartyAuthError},
		{"apns-auth", messaging.IsThirdPartyAuthError, messaging.IsInternal},
		{"quota", messaging.IsQuotaExceeded, messaging.IsUnavailable},
		{"internal", messaging.IsInternal, messaging.IsUnavailable},
	}
	for _, tt := range tests {
		_, err := client.Send(t.Context(), &messaging.Message{Token: tt.token})
		<-s.reqs
		if err == nil || !tt.is(err) || tt.not(err) {
			t.Errorf("token %q: error %v not classified as expected", tt.token, err)
		}
	}
}
