package vendortest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/provider/apns"
	"github.com/heraldpush/herald/internal/vendortest"
)

type apnsAnswer struct {
	status    int
	reason    string
	timestamp int64
}

func postAPNs(t *testing.T, c *http.Client, url string, header map[string]string, body string) apnsAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct {
		Reason    string `json:"reason"`
		Timestamp int64  `json:"timestamp"`
	}
	if resp.StatusCode != http.StatusOK {
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%d answer %q: %v", resp.StatusCode, b, err)
		}
	}
	return apnsAnswer{resp.StatusCode, r.Reason, r.Timestamp}
}

// The fake refuses what APNs refuses, with Apple's statuses and reasons.
func TestAPNsChecks(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { return now }
	f := vendortest.NewAPNs(t, vendortest.WithClock(clock))
	creds := f.NewKey(t, "TEAM0000AA")
	key, err := apns.ParseKey(creds.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(kid, iss string, iat time.Time) string {
		tok, err := apns.SignToken(key, kid, iss, iat)
		if err != nil {
			t.Fatal(err)
		}
		return "bearer " + tok
	}
	good := sign(creds.KeyID, creds.TeamID, now)
	dev := f.NewDevice("com.example.app")
	gone := f.NewDevice("com.example.app")
	f.Unregister(gone.DeviceToken)
	url := f.URL + "/3/device/" + dev.DeviceToken
	base := map[string]string{"authorization": good, "apns-topic": "com.example.app", "apns-push-type": "alert"}
	payload := `{"aps":{"alert":"hi"}}`
	for _, tc := range []struct {
		name   string
		url    string
		header map[string]string
		body   string
		want   apnsAnswer
	}{
		{"accepted", url, base, payload, apnsAnswer{status: 200}},
		{"no token", url, with(base, "authorization", ""), payload, apnsAnswer{403, "MissingProviderToken", 0}},
		{"unknown key", url, with(base, "authorization", sign("NOSUCHKEY0", creds.TeamID, now)), payload, apnsAnswer{403, "InvalidProviderToken", 0}},
		{"wrong team", url, with(base, "authorization", sign(creds.KeyID, "OTHERTEAM0", now)), payload, apnsAnswer{403, "InvalidProviderToken", 0}},
		{"token over an hour old", url, with(base, "authorization", sign(creds.KeyID, creds.TeamID, now.Add(-61*time.Minute))), payload, apnsAnswer{403, "ExpiredProviderToken", 0}},
		{"new token within 20 minutes", url, with(base, "authorization", sign(creds.KeyID, creds.TeamID, now.Add(time.Second))), payload, apnsAnswer{429, "TooManyProviderTokenUpdates", 0}},
		{"no topic", url, with(base, "apns-topic", ""), payload, apnsAnswer{400, "MissingTopic", 0}},
		{"topic of another app", url, with(base, "apns-topic", "com.other"), payload, apnsAnswer{400, "DeviceTokenNotForTopic", 0}},
		{"voip topic", url, with(base, "apns-topic", "com.example.app.voip"), payload, apnsAnswer{status: 200}},
		{"bad push type", url, with(base, "apns-push-type", "loud"), payload, apnsAnswer{400, "InvalidPushType", 0}},
		{"bad priority", url, with(base, "apns-priority", "7"), payload, apnsAnswer{400, "BadPriority", 0}},
		{"bad expiration", url, with(base, "apns-expiration", "tomorrow"), payload, apnsAnswer{400, "BadExpirationDate", 0}},
		{"long collapse id", url, with(base, "apns-collapse-id", strings.Repeat("c", 65)), payload, apnsAnswer{400, "BadCollapseId", 0}},
		{"bad apns-id", url, with(base, "apns-id", "123"), payload, apnsAnswer{400, "BadMessageId", 0}},
		{"empty payload", url, base, "", apnsAnswer{400, "PayloadEmpty", 0}},
		{"payload over 4096", url, base, `{"aps":{},"x":"` + strings.Repeat("x", 4090) + `"}`, apnsAnswer{413, "PayloadTooLarge", 0}},
		{"unknown device", f.URL + "/3/device/" + strings.Repeat("ab", 32), base, payload, apnsAnswer{400, "BadDeviceToken", 0}},
		{"not hex", f.URL + "/3/device/xyz", base, payload, apnsAnswer{400, "BadDeviceToken", 0}},
		{"unregistered", f.URL + "/3/device/" + gone.DeviceToken, base, payload, apnsAnswer{410, "Unregistered", now.UnixMilli()}},
		{"bad path", f.URL + "/2/device/" + dev.DeviceToken, base, payload, apnsAnswer{404, "BadPath", 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := postAPNs(t, f.Client(), tc.url, tc.header, tc.body); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if n := len(f.Received()); n != 2 {
		t.Errorf("recorded %d requests, want the 2 accepted", n)
	}

	// HTTP/1.1 is refused: APNs is HTTP/2 only.
	h1 := &http.Client{Transport: f.Client().Transport.(*http.Transport).Clone()}
	h1.Transport.(*http.Transport).ForceAttemptHTTP2 = false
	h1.Transport.(*http.Transport).TLSClientConfig.NextProtos = []string{"http/1.1"}
	if got := postAPNs(t, h1, url, base, payload); got.status != http.StatusHTTPVersionNotSupported {
		t.Errorf("HTTP/1.1 request: got %+v", got)
	}
}

// with returns a copy of header with k set to v, or without k when v is "".
func with(header map[string]string, k, v string) map[string]string {
	h := map[string]string{}
	for hk, hv := range header {
		h[hk] = hv
	}
	if v == "" {
		delete(h, k)
	} else {
		h[k] = v
	}
	return h
}
