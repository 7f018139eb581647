package webpushrelay_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/provider/providertest"
	"github.com/heraldpush/herald/internal/provider/webpushrelay"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/vendortest"
	"github.com/heraldpush/herald/internal/webpush"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func newVAPID(t *testing.T) *store.VAPIDCredentials {
	t.Helper()
	key, err := webpush.GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, err := webpush.EncodeVAPIDKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &store.VAPIDCredentials{PublicKey: pub, PrivateKey: priv, Subject: "mailto:ops@example.com"}
}

func TestConformance(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { return now }
	fake := vendortest.NewWebPush(t, vendortest.WithClock(clock))
	p := webpushrelay.New(webpushrelay.Options{Client: fake.Client(), Now: clock})
	providertest.Run(t, providertest.Harness{
		Provider: p,
		Now:      now,
		NewTarget: func(t *testing.T) (store.Credentials, store.Registration) {
			v := newVAPID(t)
			sub := fake.NewSubscription(t, v.PublicKey)
			return store.Credentials{ProjectID: "p", VAPID: v}, store.Registration{Platform: store.PlatformWebPush, WebPush: &sub}
		},
		Unregister: func(t *testing.T, r store.Registration) { fake.Expire(r.WebPush.Endpoint) },
		RefuseCredentials: func(t *testing.T, c store.Credentials) store.Credentials {
			c.VAPID = newVAPID(t) // not the key the subscription was created with
			return c
		},
		FailNext: fake.FailNext,
		Hold:     fake.Hold,
		Last: func(t *testing.T, r store.Registration) providertest.Delivery {
			got := fake.Received()
			for i := len(got) - 1; i >= 0; i-- {
				msg := got[i]
				if msg.Endpoint != r.WebPush.Endpoint {
					continue
				}
				var pl struct {
					Data         map[string]string `json:"data"`
					Notification struct{ Title, Body string }
				}
				if err := json.Unmarshal(msg.Plaintext, &pl); err != nil {
					t.Fatalf("plaintext %q: %v", msg.Plaintext, err)
				}
				return providertest.Delivery{
					Title: pl.Notification.Title, Body: pl.Notification.Body, Data: pl.Data,
					High: msg.Urgency == "high", TTL: time.Duration(msg.TTL) * time.Second, CollapseKey: msg.Topic,
				}
			}
			t.Fatalf("nothing received for %s", r.WebPush.Endpoint)
			return providertest.Delivery{}
		},
	})
}

// The plaintext and headers of a message using every block that applies
// to Web Push.
func TestGolden(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		m    provider.Message
	}{
		{name: "every-block", m: provider.Message{
			ID: "msg-1", AcceptedAt: now, ExpiresAt: now.Add(2 * time.Hour), TTL: 2 * time.Hour, High: true,
			CollapseKey: "score update for match #42",
			Payload:     []byte(`"data":{"match":"42"},"notification":{"title":"Goal","body":"3-1","image":"https://img.example/goal.png"}`),
			Platform: []byte(`{"android":{"priority":"high"},"apns":{"headers":{"apns-priority":"5"}},` +
				`"webpush":{"headers":{"TTL":"600","Urgency":"low","Topic":"match42"},"data":{"web":"1"},` +
				`"notification":{"title":"GOAL!","requireInteraction":true,"actions":[{"action":"open","title":"Open"}]},` +
				`"fcm_options":{"link":"https://example.com/match/42","analytics_label":"l"}},"fcm_options":{"analytics_label":"l"}}`),
		}},
		{name: "plain", m: provider.Message{
			ID: "msg-2", AcceptedAt: now, ExpiresAt: now, TTL: 0,
			CollapseKey: "score-42",
			Payload:     []byte(`"data":{"k":"v"},"notification":{"title":"Hi"}`),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.m.Decode()
			if err != nil {
				t.Fatal(err)
			}
			pt, err := webpushrelay.Plaintext(c, tc.m)
			if err != nil {
				t.Fatal(err)
			}
			left, err := tc.m.TimeLeft(now)
			if err != nil {
				t.Fatal(err)
			}
			hdr := webpushrelay.Headers(c, tc.m, left)
			h := map[string]string{}
			for k := range hdr {
				h[k] = hdr[k][0]
			}
			out, err := json.MarshalIndent(struct {
				Header    map[string]string `json:"header"`
				Plaintext json.RawMessage   `json:"plaintext"`
			}{h, pt}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			providertest.Golden(t, tc.name+".json", append(out, '\n'), *update)
		})
	}
}

// A subscription created without applicationServerKey takes any VAPID
// key; one whose keys are not a P-256 point is unusable.
func TestSubscriptions(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { return now }
	fake := vendortest.NewWebPush(t, vendortest.WithClock(clock))
	p := webpushrelay.New(webpushrelay.Options{Client: fake.Client(), Now: clock})
	creds := store.Credentials{VAPID: newVAPID(t)}
	m := provider.Message{ID: "m", AcceptedAt: now, ExpiresAt: now.Add(time.Minute), TTL: time.Minute, Payload: []byte(`"data":{"k":"v"}`)}

	open := fake.NewSubscription(t, "")
	if err := p.Send(context.Background(), creds, store.Registration{WebPush: &open}, m); err != nil {
		t.Errorf("Send to an unrestricted subscription: %v", err)
	}
	got := fake.Received()
	if len(got) != 1 || !strings.HasPrefix(got[0].Header.Get("Authorization"), "vapid t=") || got[0].Header.Get("Content-Encoding") != "aes128gcm" {
		t.Fatalf("received %+v", got)
	}
	if want := `{"message_id":"m","data":{"k":"v"}}`; string(got[0].Plaintext) != want {
		t.Errorf("plaintext %s, want %s", got[0].Plaintext, want)
	}

	big := m
	big.Payload = []byte(`"data":{"d":"` + strings.Repeat("x", 3980) + `"}`)
	if err := p.Send(context.Background(), creds, store.Registration{WebPush: &open}, big); !errors.Is(err, provider.ErrRejected) {
		t.Errorf("Send of a plaintext over 3993 bytes = %v, want ErrRejected", err)
	}
	if n := len(fake.Received()); n != 1 {
		t.Errorf("the push service got %d messages, want only the first (an oversize one is refused before sending)", n)
	}

	bad := open
	bad.P256DH = "AAAA"
	if err := p.Send(context.Background(), creds, store.Registration{WebPush: &bad}, m); !errors.Is(err, provider.ErrUnregistered) {
		t.Errorf("Send with bad keys = %v, want ErrUnregistered", err)
	}
	unknown := open
	unknown.Endpoint = fake.URL + "/push/unknown"
	if err := p.Send(context.Background(), creds, store.Registration{WebPush: &unknown}, m); !errors.Is(err, provider.ErrUnregistered) {
		t.Errorf("Send to an unknown endpoint = %v, want ErrUnregistered (404)", err)
	}
	noSubject := store.Credentials{VAPID: &store.VAPIDCredentials{PublicKey: creds.VAPID.PublicKey, PrivateKey: creds.VAPID.PrivateKey}}
	if err := p.Send(context.Background(), noSubject, store.Registration{WebPush: &open}, m); !errors.Is(err, provider.ErrCredentials) {
		t.Errorf("Send without a VAPID subject = %v, want ErrCredentials", err)
	}
}
