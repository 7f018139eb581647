package vendortest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/messaging"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"

	"github.com/heraldpush/herald/internal/vendortest"
)

// sdkClient is Google's own client stack against the fake: x/oauth2's
// service-account grant at the file's token_uri, and the Firebase Admin
// SDK's send.
func sdkClient(t *testing.T, f *vendortest.FCM, sa []byte, project string) *messaging.Client {
	t.Helper()
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, f.Client())
	creds, err := google.CredentialsFromJSON(ctx, sa, "https://www.googleapis.com/auth/firebase.messaging")
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &oauth2.Transport{Source: creds.TokenSource, Base: f.Client().Transport}}
	app, err := firebase.NewApp(t.Context(), &firebase.Config{ProjectID: project},
		option.WithEndpoint(f.URL+"/v1"), option.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.Messaging(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFCMWithGoogleClients(t *testing.T) {
	f := vendortest.NewFCM(t)
	sa := f.ServiceAccount(t, "demo-a")
	c := sdkClient(t, f, sa, "demo-a")
	ctx := t.Context()
	tok := f.NewToken("demo-a").Token

	name, err := c.Send(ctx, &messaging.Message{Token: tok, Data: map[string]string{"k": "v"},
		Android: &messaging.AndroidConfig{Priority: "high", TTL: ptr(90 * time.Second)}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := f.Received()
	if len(got) != 1 || got[0].Message.Data["k"] != "v" || !got[0].Message.HighPriority() || got[0].Message.TTL() != 90*time.Second {
		t.Fatalf("received %+v (name %s)", got, name)
	}

	other := f.NewToken("demo-b").Token
	f.Unregister(tok)
	for _, tc := range []struct {
		name  string
		token string
		is    func(error) bool
	}{
		{"unregistered", tok, messaging.IsUnregistered},
		{"another project's token", other, messaging.IsSenderIDMismatch},
		{"never issued", "garbage", messaging.IsInvalidArgument},
	} {
		_, err := c.Send(ctx, &messaging.Message{Token: tc.token, Data: map[string]string{"k": "v"}})
		if err == nil || !tc.is(err) {
			t.Errorf("%s: Send = %v", tc.name, err)
		}
	}
	f.FailNext(1, http.StatusTooManyRequests, time.Minute)
	if _, err := c.Send(ctx, &messaging.Message{Token: other, Data: map[string]string{"k": "v"}}); !messaging.IsQuotaExceeded(err) {
		t.Errorf("Send during a quota failure = %v", err)
	}

	// The send API refuses an access token of another project.
	wrong := sdkClient(t, f, f.ServiceAccount(t, "demo-c"), "demo-a")
	if _, err := wrong.Send(ctx, &messaging.Message{Token: other, Data: map[string]string{"k": "v"}}); err == nil {
		t.Error("Send with another project's access token succeeded")
	}
	// A revoked service account gets no access token.
	revoked := f.ServiceAccount(t, "demo-a")
	f.RevokeServiceAccount(t, revoked)
	if _, err := sdkClient(t, f, revoked, "demo-a").Send(ctx, &messaging.Message{Token: other}); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("Send with a revoked key = %v, want the token endpoint's refusal", err)
	}
}

func ptr[T any](v T) *T { return &v }
