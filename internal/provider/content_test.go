package provider

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecode(t *testing.T) {
	m := Message{
		ID:      "m",
		Payload: []byte(`"data":{"k":"v"},"notification":{"title":"T","body":"B","image":"https://i"}`),
		Platform: []byte(`{"android":{"priority":"high"},"apns":{"headers":{"apns-priority":"5"},"payload":{"aps":{}},"fcm_options":{"image":"https://a"}},` +
			`"webpush":{"headers":{"urgency":"low"},"data":{"w":"1"},"notification":{"dir":"rtl"},"fcm_options":{"link":"https://l"}},"fcm_options":{"analytics_label":"x"}}`),
	}
	c, err := m.Decode()
	if err != nil {
		t.Fatal(err)
	}
	want := Content{
		Data:         map[string]string{"k": "v"},
		Notification: &Notification{Title: "T", Body: "B", Image: "https://i"},
		Android:      []byte(`{"priority":"high"}`),
		APNs:         &APNsConfig{Headers: map[string]string{"apns-priority": "5"}, Payload: []byte(`{"aps":{}}`), FCMOptions: &APNsFCMOptions{Image: "https://a"}},
		Webpush: &WebpushConfig{Headers: map[string]string{"urgency": "low"}, Data: map[string]string{"w": "1"},
			Notification: []byte(`{"dir":"rtl"}`), FCMOptions: &WebpushFCMOptions{Link: "https://l"}},
		FCMOptions: []byte(`{"analytics_label":"x"}`),
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Decode (-want +got):\n%s", diff)
	}
	if v, ok := c.Webpush.Header("Urgency"); !ok || v != "low" {
		t.Errorf("Header(Urgency) = %q, %v", v, ok)
	}
	if _, ok := (*APNsConfig)(nil).Header("apns-priority"); ok {
		t.Error("a nil block has headers")
	}
	if c, err := (Message{}).Decode(); err != nil || c.Data != nil || c.APNs != nil {
		t.Errorf("empty message: %+v, %v", c, err)
	}
	for _, bad := range []Message{{Payload: []byte(`"data":5`)}, {Platform: []byte(`[`)}} {
		if _, err := bad.Decode(); !errors.Is(err, ErrRejected) {
			t.Errorf("Decode(%s%s) = %v, want ErrRejected", bad.Payload, bad.Platform, err)
		}
	}
}

func TestTimeLeft(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		ttl, left time.Duration
		want      time.Duration
		err       bool
	}{
		{ttl: 0, left: 0, want: 0},
		{ttl: time.Hour, left: time.Hour, want: time.Hour},
		{ttl: time.Hour, left: 1500 * time.Millisecond, want: time.Second},
		{ttl: time.Hour, left: 300 * time.Millisecond, want: time.Second},
		{ttl: time.Hour, left: 0, err: true},
		{ttl: time.Hour, left: -time.Second, err: true},
	} {
		got, err := Message{TTL: tc.ttl, ExpiresAt: now.Add(tc.left)}.TimeLeft(now)
		if tc.err != errors.Is(err, ErrRejected) || got != tc.want {
			t.Errorf("TTL %v, %v left: got %v, %v", tc.ttl, tc.left, got, err)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		" 30 ":                          30 * time.Second,
		"0":                             0,
		"-5":                            0,
		"soon":                          0,
		"99999999999":                   24 * time.Hour,
		"Thu, 01 Jan 2026 00:02:00 GMT": 2 * time.Minute,
		"Wed, 31 Dec 2025 23:00:00 GMT": 0,
	} {
		h := http.Header{}
		if v != "" {
			h.Set("Retry-After", v)
		}
		if got := RetryAfter(h, now); got != want {
			t.Errorf("RetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"7", "Thu, 01 Jan 2026 00:02:00 GMT", "-1", "1e9"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{"Retry-After": {v}}
		if d := RetryAfter(h, now); d < 0 {
			t.Errorf("RetryAfter(%q) = %v", v, d)
		}
	})
}
