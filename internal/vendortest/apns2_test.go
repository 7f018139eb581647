package vendortest_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/token"

	"github.com/heraldpush/herald/internal/vendortest"
)

// The fake APNs with the APNs client gorush uses (sideshow/apns2): its
// .p8 loader takes the key NewKey gives, its provider token passes, and
// it reads the fake's answers (apns-id, the sandbox's apns-unique-id,
// reasons, the 410 timestamp) as it reads Apple's.
func TestAPNsWithAPNs2(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	f := vendortest.NewAPNs(t, vendortest.WithClock(func() time.Time { return now }), vendortest.Sandbox())
	creds := f.NewKey(t, "TEAM0000BB")
	key, err := token.AuthKeyFromBytes([]byte(creds.KeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	c := apns2.NewTokenClient(&token.Token{AuthKey: key, KeyID: creds.KeyID, TeamID: creds.TeamID})
	c.Host, c.HTTPClient = f.URL, f.Client()
	dev := f.NewDevice("com.example.app")

	n := &apns2.Notification{
		DeviceToken: dev.DeviceToken, Topic: "com.example.app", PushType: apns2.PushTypeAlert,
		Priority: apns2.PriorityHigh, CollapseID: "score", Expiration: now.Add(time.Hour),
		ApnsID:  "8c4d8f6f-5e1a-4c7e-9a0b-2f1d3e4c5b6a",
		Payload: []byte(`{"aps":{"alert":{"title":"Goal","body":"3-1"}},"match":"42"}`),
	}
	res, err := c.PushWithContext(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Sent() || res.ApnsID != n.ApnsID || res.ApnsUniqueID == "" {
		t.Fatalf("push: %+v", res)
	}
	got := f.Received()
	if len(got) != 1 || got[0].Priority != "10" || got[0].CollapseID != "score" || got[0].PushType != "alert" ||
		got[0].Expiration != strconv.FormatInt(now.Add(time.Hour).Unix(), 10) || string(got[0].Payload) != string(n.Payload.([]byte)) {
		t.Errorf("recorded %+v", got)
	}

	n.Topic = "com.other"
	if res, err := c.PushWithContext(t.Context(), n); err != nil || res.StatusCode != 400 || res.Reason != apns2.ReasonDeviceTokenNotForTopic {
		t.Errorf("push to another topic: %+v, %v", res, err)
	}
	n.Topic = "com.example.app"
	f.Unregister(dev.DeviceToken)
	res, err = c.PushWithContext(t.Context(), n)
	if err != nil || res.StatusCode != 410 || res.Reason != apns2.ReasonUnregistered || res.Timestamp.Unix() != now.Unix() {
		t.Errorf("push to an unregistered token: %+v, %v", res, err)
	}
	f.FailNext(1, 503, 0)
	if res, err := c.PushWithContext(t.Context(), n); err != nil || res.StatusCode != 503 || res.Reason != apns2.ReasonServiceUnavailable {
		t.Errorf("push during an outage: %+v, %v", res, err)
	}
}
