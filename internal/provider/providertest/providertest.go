// Package providertest is the conformance suite of provider.Provider: Run
// checks, against a local server of the provider's vendor
// (internal/vendortest), that a provider delivers what it is given, maps
// priority, lifetime and collapse keys, and translates the vendor's
// refusals into the contract's errors.
package providertest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/store"
)

// Harness connects the suite to a provider and its vendor's local server.
type Harness struct {
	// Provider is the provider under test. Its clock must return Now.
	Provider provider.Provider
	// Now is the fixed time that the provider and the server see, whole
	// seconds.
	Now time.Time
	// NewTarget sets up a project with fresh credentials and a fresh
	// device on the server, and returns both.
	NewTarget func(t *testing.T) (store.Credentials, store.Registration)
	// Unregister makes the server consider the registration's address gone
	// (an uninstalled app, an expired subscription).
	Unregister func(t *testing.T, r store.Registration)
	// RefuseCredentials returns credentials of the same project that the
	// server refuses (a revoked key, a VAPID key the subscription was not
	// created with).
	RefuseCredentials func(t *testing.T, c store.Credentials) store.Credentials
	// FailNext makes the server fail its next n requests with status, with
	// a Retry-After header when retryAfter is positive.
	FailNext func(n, status int, retryAfter time.Duration)
	// Hold makes the server hold requests until release is called;
	// arrived receives one value per held request.
	Hold func() (arrived <-chan struct{}, release func())
	// Last returns the server's view of the last message it accepted for
	// the registration.
	Last func(t *testing.T, r store.Registration) Delivery
}

// Delivery is what the vendor's server received, in the suite's terms.
type Delivery struct {
	Title, Body string
	Data        map[string]string
	High        bool
	// TTL is how long the vendor may keep the message, from Now: 0 means
	// deliver now or drop.
	TTL time.Duration
	// CollapseKey is the vendor's collapse identifier (apns-collapse-id,
	// Web Push Topic, FCM collapse_key); "" when none.
	CollapseKey string
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Run("Platform", func(t *testing.T) {
		switch p := h.Provider.Platform(); p {
		case store.PlatformWebPush, store.PlatformAPNs, store.PlatformFCM:
		default:
			t.Errorf("Platform() = %q, want a vendor platform", p)
		}
	})
	t.Run("NotificationAndData", func(t *testing.T) {
		creds, reg := h.NewTarget(t)
		m := h.message(t, `"data":{"k":"v","score":"3-1"},"notification":{"title":"Goal","body":"3-1 at 89'"}`)
		m.High = true
		mustSend(t, h, creds, reg, m)
		want := Delivery{Title: "Goal", Body: "3-1 at 89'", Data: map[string]string{"k": "v", "score": "3-1"}, High: true, TTL: time.Hour}
		if diff := cmp.Diff(want, h.Last(t, reg)); diff != "" {
			t.Errorf("delivery (-want +got):\n%s", diff)
		}
	})
	t.Run("NormalPriority", func(t *testing.T) {
		creds, reg := h.NewTarget(t)
		m := h.message(t, `"notification":{"title":"News","body":"Read on"}`)
		mustSend(t, h, creds, reg, m)
		if got := h.Last(t, reg); got.High || got.Title != "News" {
			t.Errorf("delivery = %+v, want normal priority with title News", got)
		}
	})
	t.Run("TTL", func(t *testing.T) {
		creds, reg := h.NewTarget(t)
		for _, tc := range []struct {
			ttl, left, want time.Duration
		}{
			{ttl: 0, want: 0},
			{ttl: 28 * 24 * time.Hour, want: 28 * 24 * time.Hour},
			{ttl: time.Hour, left: 90 * time.Second, want: 90 * time.Second}, // a message waiting since 58.5 min
		} {
			m := h.message(t, `"data":{"k":"v"}`)
			m.TTL = tc.ttl
			left := tc.left
			if left == 0 {
				left = tc.ttl
			}
			m.ExpiresAt = h.Now.Add(left)
			m.AcceptedAt = m.ExpiresAt.Add(-tc.ttl)
			mustSend(t, h, creds, reg, m)
			if got := h.Last(t, reg).TTL; got != tc.want {
				t.Errorf("TTL %v with %v left: vendor got %v, want %v", tc.ttl, left, got, tc.want)
			}
		}
	})
	t.Run("Expired", func(t *testing.T) {
		creds, reg := h.NewTarget(t)
		m := h.message(t, `"data":{"k":"v"}`)
		m.ExpiresAt = h.Now.Add(-time.Second)
		if err := h.Provider.Send(context.Background(), creds, reg, m); !errors.Is(err, provider.ErrRejected) {
			t.Errorf("Send(expired) = %v, want ErrRejected", err)
		}
	})
	t.Run("CollapseKey", func(t *testing.T) {
		creds, reg := h.NewTarget(t)
		m := h.message(t, `"notification":{"title":"Score"}`)
		m.CollapseKey = "score-update"
		mustSend(t, h, creds, reg, m)
		if got := h.Last(t, reg).CollapseKey; got != "score-update" {
			t.Errorf("collapse key = %q, want score-update", got)
		}
	})
	t.Run("Unregistered", func(t *testing.T) {
		creds, reg := h.NewTarget(t)
		h.Unregister(t, reg)
		err := h.Provider.Send(context.Background(), creds, reg, h.message(t, `"data":{"k":"v"}`))
		if !errors.Is(err, provider.ErrUnregistered) {
			t.Errorf("Send = %v, want ErrUnregistered", err)
		}
	})
	t.Run("CredentialsRefused", func(t *testing.T) {
		creds, reg := h.NewTarget(t)
		bad := h.RefuseCredentials(t, creds)
		err := h.Provider.Send(context.Background(), bad, reg, h.message(t, `"data":{"k":"v"}`))
		if !errors.Is(err, provider.ErrCredentials) {
			t.Errorf("Send = %v, want ErrCredentials", err)
		}
	})
	t.Run("NoCredentials", func(t *testing.T) {
		creds, reg := h.NewTarget(t)
		err := h.Provider.Send(context.Background(), store.Credentials{ProjectID: creds.ProjectID}, reg, h.message(t, `"data":{"k":"v"}`))
		if !errors.Is(err, provider.ErrCredentials) {
			t.Errorf("Send = %v, want ErrCredentials", err)
		}
	})
	t.Run("TooManyRequests", func(t *testing.T) {
		creds, reg := h.NewTarget(t)
		m := h.message(t, `"data":{"k":"v"}`)
		mustSend(t, h, creds, reg, m) // credentials exchanged, if the vendor needs that
		h.FailNext(1, http.StatusTooManyRequests, 7*time.Second)
		err := h.Provider.Send(context.Background(), creds, reg, m)
		var re *provider.RetryError
		if !errors.As(err, &re) || re.After != 7*time.Second {
			t.Fatalf("Send = %v, want a RetryError after 7s", err)
		}
		mustSend(t, h, creds, reg, m)
	})
	t.Run("ServerErrors", func(t *testing.T) {
		creds, reg := h.NewTarget(t)
		m := h.message(t, `"data":{"k":"v"}`)
		mustSend(t, h, creds, reg, m)
		for _, st := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable} {
			h.FailNext(1, st, 0)
			err := h.Provider.Send(context.Background(), creds, reg, m)
			var re *provider.RetryError
			if !errors.As(err, &re) {
				t.Errorf("status %d: Send = %v, want a RetryError", st, err)
			}
		}
		mustSend(t, h, creds, reg, m)
	})
	t.Run("Oversize", func(t *testing.T) {
		creds, reg := h.NewTarget(t)
		m := h.message(t, `"data":{"big":"`+strings.Repeat("x", 4100)+`"}`)
		if err := h.Provider.Send(context.Background(), creds, reg, m); !errors.Is(err, provider.ErrRejected) {
			t.Errorf("Send(4100 bytes of data) = %v, want ErrRejected", err)
		}
	})
	t.Run("CanceledContext", func(t *testing.T) {
		creds, reg := h.NewTarget(t)
		arrived, release := h.Hold()
		defer release()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- h.Provider.Send(ctx, creds, reg, h.message(t, `"data":{"k":"v"}`)) }()
		select {
		case <-arrived:
		case err := <-done:
			t.Fatalf("Send returned %v before reaching the server", err)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Send after cancel = %v, want context.Canceled", err)
		}
	})
}

// message returns a message accepted at Now with a TTL of one hour.
func (h Harness) message(t *testing.T, payload string) provider.Message {
	return provider.Message{
		ID:         "m-" + strings.ReplaceAll(t.Name(), "/", "-"),
		ProjectID:  "p",
		AcceptedAt: h.Now,
		ExpiresAt:  h.Now.Add(time.Hour),
		TTL:        time.Hour,
		Payload:    []byte(payload),
	}
}

func mustSend(t *testing.T, h Harness, creds store.Credentials, reg store.Registration, m provider.Message) {
	t.Helper()
	if err := h.Provider.Send(context.Background(), creds, reg, m); err != nil {
		t.Fatalf("Send: %v", err)
	}
}
