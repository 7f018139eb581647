package fcmrelay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/fcm"
	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/provider/fcmrelay"
	"github.com/heraldpush/herald/internal/provider/providertest"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/vendortest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const firebaseProject = "demo-firebase"

func TestConformance(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { return now }
	fake := vendortest.NewFCM(t, vendortest.WithClock(clock))
	p := fcmrelay.New(fcmrelay.Options{BaseURL: fake.URL, Client: fake.Client(), Now: clock})
	providertest.Run(t, providertest.Harness{
		Provider: p,
		Now:      now,
		NewTarget: func(t *testing.T) (store.Credentials, store.Registration) {
			c := fake.Credentials(t, firebaseProject)
			dev := fake.NewToken(firebaseProject)
			return store.Credentials{ProjectID: "p", FCM: &c}, store.Registration{Platform: store.PlatformFCM, FCM: &dev}
		},
		Unregister: func(t *testing.T, r store.Registration) { fake.Unregister(r.FCM.Token) },
		RefuseCredentials: func(t *testing.T, c store.Credentials) store.Credentials {
			fake.RevokeServiceAccount(t, c.FCM.ServiceAccountJSON)
			return c
		},
		FailNext: fake.FailNext,
		Hold:     fake.Hold,
		Last: func(t *testing.T, r store.Registration) providertest.Delivery {
			got := fake.Received()
			for i := len(got) - 1; i >= 0; i-- {
				m := got[i].Message
				if m.Token != r.FCM.Token {
					continue
				}
				d := providertest.Delivery{Data: m.Data, High: m.HighPriority(), TTL: m.TTL(), CollapseKey: m.CollapseKey()}
				if m.Notification != nil {
					d.Title, d.Body = m.Notification.Title, m.Notification.Body
				}
				return d
			}
			t.Fatalf("nothing received for %s", r.FCM.Token)
			return providertest.Delivery{}
		},
	})
}

// The relayed request of a message using every block; the fake FCM
// decodes it back, so it is valid FCM.
func TestBuildGolden(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		m    provider.Message
	}{
		{name: "every-block", m: provider.Message{
			ID: "msg-1", AcceptedAt: now.Add(-time.Hour), ExpiresAt: now.Add(2 * time.Hour), TTL: 3 * time.Hour, High: true,
			CollapseKey: "score",
			Payload:     []byte(`"data":{"match":"42"},"notification":{"title":"Goal","body":"3-1","image":"https://img.example/goal.png"}`),
			Platform: []byte(`{"android":{"collapse_key":"score","priority":"high","ttl":"10800s","restricted_package_name":"com.example",` +
				`"notification":{"channel_id":"goals","click_action":"OPEN"},"direct_boot_ok":true},` +
				`"apns":{"headers":{"apns-priority":"10"},"payload":{"aps":{"sound":"default"}},"live_activity_token":"lat"},` +
				`"webpush":{"headers":{"Urgency":"high"},"fcm_options":{"link":"https://example.com"}},"fcm_options":{"analytics_label":"goals"}}`),
		}},
		{name: "data-only-ttl0", m: provider.Message{
			ID: "msg-2", AcceptedAt: now, ExpiresAt: now, TTL: 0,
			Payload: []byte(`"data":{"sync":"1"}`),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := fcmrelay.Build(tc.m, "tok-1", now)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fcm.DecodeSendRequest(b); err != nil {
				t.Errorf("the relayed request is not valid FCM: %v", err)
			}
			var out bytes.Buffer
			if err := json.Indent(&out, b, "", "  "); err != nil {
				t.Fatal(err)
			}
			out.WriteByte('\n')
			providertest.Golden(t, tc.name+".json", out.Bytes(), *update)
		})
	}
}

func message(id string, now time.Time) provider.Message {
	return provider.Message{ID: id, AcceptedAt: now, ExpiresAt: now.Add(time.Hour), TTL: time.Hour, Payload: []byte(`"data":{"k":"v"}`)}
}

// One access token serves sends until five minutes before it expires; a
// token the server stops accepting is replaced once.
func TestAccessTokenCache(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	clk := providertest.NewClock(start)
	fake := vendortest.NewFCM(t, vendortest.WithClock(clk.Now))
	p := fcmrelay.New(fcmrelay.Options{BaseURL: fake.URL, Client: fake.Client(), Now: clk.Now})
	c := fake.Credentials(t, firebaseProject)
	creds := store.Credentials{FCM: &c}
	dev := fake.NewToken(firebaseProject)
	reg := store.Registration{FCM: &dev}
	for _, at := range []time.Duration{0, 30 * time.Minute, 54 * time.Minute, 56 * time.Minute} {
		clk.Set(start.Add(at))
		if err := p.Send(context.Background(), creds, reg, message("m", start.Add(at))); err != nil {
			t.Fatalf("Send at +%v: %v", at, err)
		}
	}
	got := fake.Received()
	auth := func(i int) string { return got[i].Header.Get("Authorization") }
	if auth(0) != auth(1) || auth(1) != auth(2) {
		t.Error("the access token was not reused")
	}
	if auth(2) == auth(3) {
		t.Error("the access token was used within 5 minutes of its expiry")
	}

	// The server clock runs ahead: it finds the cached token expired (401
	// UNAUTHENTICATED), and the relay fetches a new one.
	clk2 := providertest.NewClock(start.Add(58 * time.Minute))
	fake2 := vendortest.NewFCM(t, vendortest.WithClock(clk2.Now))
	p2 := fcmrelay.New(fcmrelay.Options{BaseURL: fake2.URL, Client: fake2.Client(), Now: clk.Now})
	c2 := fake2.Credentials(t, firebaseProject)
	dev2 := fake2.NewToken(firebaseProject)
	clk.Set(start)
	clk2.Set(start)
	if err := p2.Send(context.Background(), store.Credentials{FCM: &c2}, store.Registration{FCM: &dev2}, message("m1", start)); err != nil {
		t.Fatal(err)
	}
	clk.Set(start.Add(50 * time.Minute))
	clk2.Set(start.Add(61 * time.Minute))
	if err := p2.Send(context.Background(), store.Credentials{FCM: &c2}, store.Registration{FCM: &dev2}, message("m2", start.Add(50*time.Minute))); err != nil {
		t.Fatalf("Send with a token the server finds expired: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clk := func() time.Time { return now }
	fake := vendortest.NewFCM(t, vendortest.WithClock(clk))
	p := fcmrelay.New(fcmrelay.Options{BaseURL: fake.URL, Client: fake.Client(), Now: clk})
	c := fake.Credentials(t, firebaseProject)
	other := fake.Credentials(t, "other-firebase")
	otherDev := fake.NewToken("other-firebase")
	for _, tc := range []struct {
		name  string
		creds store.FCMCredentials
		token string
		plat  string
		want  error
	}{
		{name: "token never issued (400 INVALID_ARGUMENT)", creds: c, token: "not-a-token", want: provider.ErrUnregistered},
		{name: "token of another project (SENDER_ID_MISMATCH)", creds: c, token: otherDev.Token, want: provider.ErrUnregistered},
		{name: "unparsable service account", creds: store.FCMCredentials{ServiceAccountJSON: []byte(`{"type":"service_account"}`)}, token: otherDev.Token, want: provider.ErrCredentials},
		{name: "invalid platform block (400)", creds: other, token: otherDev.Token, plat: `{"webpush":{"headers":{"Urgency":"soon"}}}`, want: provider.ErrRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := message("m", now)
			m.Platform = []byte(tc.plat)
			creds := tc.creds
			err := p.Send(context.Background(), store.Credentials{FCM: &creds}, store.Registration{FCM: &store.FCMDevice{Token: tc.token}}, m)
			if !errors.Is(err, tc.want) {
				t.Errorf("Send = %v, want %v", err, tc.want)
			}
		})
	}
	// A 401 from FCM itself with a THIRD_PARTY_AUTH_ERROR detail is about
	// the Firebase project's APNs or Web Push credential.
	fake.FailNext(1, http.StatusUnauthorized, 0)
	dev := fake.NewToken(firebaseProject)
	if err := p.Send(context.Background(), store.Credentials{FCM: &c}, store.Registration{FCM: &dev}, message("m", now)); !errors.Is(err, provider.ErrCredentials) {
		t.Errorf("Send after THIRD_PARTY_AUTH_ERROR = %v, want ErrCredentials", err)
	}
}

func FuzzParseError(f *testing.F) {
	for _, e := range []*fcm.Error{fcm.Unregistered(), fcm.InvalidArgument("message.token", "The registration token is not a valid FCM registration token"), fcm.QuotaExceeded(time.Minute)} {
		b, _ := e.MarshalJSON()
		f.Add(b)
	}
	f.Add([]byte(`{"error":"invalid_grant"}`))
	f.Add([]byte(`<html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e := fcmrelay.ParseError(body)
		if (e.ErrorCode != "" || e.Status != "") && !json.Valid(body) {
			t.Errorf("parsed %+v from invalid JSON", e)
		}
	})
}
