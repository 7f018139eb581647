package apns_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/provider/apns"
	"github.com/heraldpush/herald/internal/provider/providertest"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/vendortest"
)

func TestConformance(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { return now }
	fake := vendortest.NewAPNs(t, vendortest.WithClock(clock))
	p := apns.New(apns.Options{ProductionURL: fake.URL, SandboxURL: fake.URL, Client: fake.Client(), Now: clock})
	providertest.Run(t, providertest.Harness{
		Provider: p,
		Now:      now,
		NewTarget: func(t *testing.T) (store.Credentials, store.Registration) {
			key := fake.NewKey(t, "TEAM000001")
			dev := fake.NewDevice("com.example.app")
			return store.Credentials{ProjectID: "p", APNs: &key},
				store.Registration{Platform: store.PlatformAPNs, APNs: &dev}
		},
		Unregister: func(t *testing.T, r store.Registration) { fake.Unregister(r.APNs.DeviceToken) },
		RefuseCredentials: func(t *testing.T, c store.Credentials) store.Credentials {
			fake.RevokeKey(c.APNs.KeyID)
			return c
		},
		FailNext: fake.FailNext,
		Hold:     fake.Hold,
		Last: func(t *testing.T, r store.Registration) providertest.Delivery {
			return lastDelivery(t, fake, r.APNs.DeviceToken, now)
		},
	})
}

// lastDelivery reads the fake's last request to deviceToken the way an
// iOS app sees it.
func lastDelivery(t *testing.T, fake *vendortest.APNs, deviceToken string, now time.Time) providertest.Delivery {
	t.Helper()
	got := fake.Received()
	for i := len(got) - 1; i >= 0; i-- {
		r := got[i]
		if r.DeviceToken != deviceToken {
			continue
		}
		if r.Proto != "HTTP/2.0" {
			t.Errorf("request came over %s", r.Proto)
		}
		var payload map[string]json.RawMessage
		if err := json.Unmarshal(r.Payload, &payload); err != nil {
			t.Fatalf("payload %s: %v", r.Payload, err)
		}
		var aps struct {
			Alert struct{ Title, Body string } `json:"alert"`
		}
		if err := json.Unmarshal(payload["aps"], &aps); err != nil {
			t.Fatalf("aps %s: %v", payload["aps"], err)
		}
		d := providertest.Delivery{
			Title: aps.Alert.Title, Body: aps.Alert.Body,
			High: r.Priority == "10", CollapseKey: r.CollapseID,
		}
		for k, v := range payload {
			if k == "aps" || k == "fcm_options" {
				continue
			}
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				t.Fatalf("custom key %s = %s: %v", k, v, err)
			}
			if d.Data == nil {
				d.Data = map[string]string{}
			}
			d.Data[k] = s
		}
		exp, err := strconv.ParseInt(r.Expiration, 10, 64)
		if err != nil {
			t.Fatalf("apns-expiration %q", r.Expiration)
		}
		if exp != 0 {
			d.TTL = time.Unix(exp, 0).Sub(now)
		}
		return d
	}
	t.Fatalf("no request to %s", deviceToken)
	return providertest.Delivery{}
}

func message(id string, now time.Time) provider.Message {
	return provider.Message{
		ID: id, AcceptedAt: now, ExpiresAt: now.Add(time.Hour), TTL: time.Hour, High: true,
		Payload: []byte(`"notification":{"title":"t","body":"b"}`),
	}
}

func bearer(r vendortest.APNsRequest) string { return r.Header.Get("Authorization") }

// The provider token is reused for TokenLifetime, then replaced; the fake
// refuses a team's new token within 20 minutes of the previous one, so
// reuse is what lets the sends through.
func TestTokenReuse(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	provClock, fakeClock := providertest.NewClock(start), providertest.NewClock(start)
	fake := vendortest.NewAPNs(t, vendortest.WithClock(fakeClock.Now))
	p := apns.New(apns.Options{ProductionURL: fake.URL, Client: fake.Client(), Now: provClock.Now})
	key := fake.NewKey(t, "TEAM000002")
	dev := fake.NewDevice("com.example.app")
	creds := store.Credentials{ProjectID: "p", APNs: &key}
	reg := store.Registration{Platform: store.PlatformAPNs, APNs: &dev}
	send := func(at time.Time) {
		t.Helper()
		provClock.Set(at)
		fakeClock.Set(at)
		if err := p.Send(context.Background(), creds, reg, message("m", at)); err != nil {
			t.Fatalf("Send at +%v: %v", at.Sub(start), err)
		}
	}
	send(start)
	send(start.Add(10 * time.Minute))
	send(start.Add(49 * time.Minute))
	send(start.Add(51 * time.Minute))
	got := fake.Received()
	if bearer(got[0]) != bearer(got[1]) || bearer(got[1]) != bearer(got[2]) {
		t.Error("the token was not reused within its lifetime")
	}
	if bearer(got[2]) == bearer(got[3]) {
		t.Error("the token was reused after TokenLifetime")
	}
}

// On ExpiredProviderToken the provider signs a new token and retries once.
func TestExpiredProviderTokenRefreshed(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	provClock, fakeClock := providertest.NewClock(start), providertest.NewClock(start)
	fake := vendortest.NewAPNs(t, vendortest.WithClock(fakeClock.Now))
	p := apns.New(apns.Options{ProductionURL: fake.URL, Client: fake.Client(), Now: provClock.Now})
	key := fake.NewKey(t, "TEAM000003")
	dev := fake.NewDevice("com.example.app")
	creds := store.Credentials{ProjectID: "p", APNs: &key}
	reg := store.Registration{Platform: store.PlatformAPNs, APNs: &dev}
	if err := p.Send(context.Background(), creds, reg, message("m1", start)); err != nil {
		t.Fatal(err)
	}
	// The provider's clock lags: it would reuse the token, which APNs
	// finds more than an hour old.
	provClock.Set(start.Add(40 * time.Minute))
	fakeClock.Set(start.Add(70 * time.Minute))
	if err := p.Send(context.Background(), creds, reg, message("m2", start.Add(40*time.Minute))); err != nil {
		t.Fatalf("Send with an expired token: %v", err)
	}
	got := fake.Received()
	if len(got) != 2 || bearer(got[0]) == bearer(got[1]) {
		t.Fatalf("got %d requests, want 2 with different tokens", len(got))
	}
}

// Sandbox devices go to the sandbox host; production tokens are unknown
// there (BadDeviceToken), as with Apple.
func TestSandboxHost(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clk := func() time.Time { return now }
	prod := vendortest.NewAPNs(t, vendortest.WithClock(clk))
	sandbox := vendortest.NewAPNs(t, vendortest.WithClock(clk), vendortest.Sandbox())
	p := apns.New(apns.Options{ProductionURL: prod.URL, SandboxURL: sandbox.URL, Client: prod.Client(), Now: clk})
	pk, sk := prod.NewKey(t, "TEAM000004"), sandbox.NewKey(t, "TEAM000004")
	dev := sandbox.NewDevice("com.example.app")
	if !dev.Sandbox {
		t.Fatal("sandbox device without Sandbox")
	}
	reg := store.Registration{Platform: store.PlatformAPNs, APNs: &dev}
	if err := p.Send(context.Background(), store.Credentials{APNs: &sk}, reg, message("m", now)); err != nil {
		t.Fatalf("Send to a sandbox device: %v", err)
	}
	if n := len(sandbox.Received()); n != 1 {
		t.Errorf("sandbox host got %d requests, want 1", n)
	}
	dev.Sandbox = false
	err := p.Send(context.Background(), store.Credentials{APNs: &pk}, reg, message("m", now))
	if !errors.Is(err, provider.ErrUnregistered) {
		t.Errorf("Send of a sandbox token to production = %v, want ErrUnregistered (BadDeviceToken)", err)
	}
}

func TestOtherRefusals(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clk := func() time.Time { return now }
	fake := vendortest.NewAPNs(t, vendortest.WithClock(clk))
	p := apns.New(apns.Options{ProductionURL: fake.URL, Client: fake.Client(), Now: clk})
	key := fake.NewKey(t, "TEAM000005")
	dev := fake.NewDevice("com.example.app")
	creds := store.Credentials{APNs: &key}
	for _, tc := range []struct {
		name    string
		dev     store.APNsDevice
		creds   store.Credentials
		platf   string
		want    error
		payload string
	}{
		{name: "wrong topic", dev: store.APNsDevice{DeviceToken: dev.DeviceToken, BundleID: "com.other"}, creds: creds, want: provider.ErrUnregistered},
		{name: "bad priority header", dev: dev, creds: creds, platf: `{"apns":{"headers":{"apns-priority":"7"}}}`, want: provider.ErrRejected},
		{name: "unparsable key", dev: dev, creds: store.Credentials{APNs: &store.APNsCredentials{KeyID: "K", TeamID: "T", KeyPEM: "nope"}}, want: provider.ErrCredentials},
		{name: "wrong team", dev: dev, creds: store.Credentials{APNs: &store.APNsCredentials{KeyID: key.KeyID, TeamID: "OTHERTEAM0", KeyPEM: key.KeyPEM}}, want: provider.ErrCredentials},
		{name: "voip payload over 4096", dev: dev, creds: creds, platf: `{"apns":{"headers":{"apns-push-type":"voip"}}}`, payload: `"data":{"d":"` + strings.Repeat("x", 4500) + `"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := message("m", now)
			m.Platform = []byte(tc.platf)
			if tc.payload != "" {
				m.Payload = []byte(tc.payload)
			}
			d := tc.dev
			err := p.Send(context.Background(), tc.creds, store.Registration{APNs: &d}, m)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Send = %v, want %v", err, tc.want)
			}
		})
	}
}
