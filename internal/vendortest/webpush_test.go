package vendortest_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/vendortest"
	"github.com/heraldpush/herald/internal/webpush"
)

// The fake push service refuses what RFC 8030/8291/8292 let a push
// service refuse, and decrypts what it accepts.
func TestWebPushChecks(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	f := vendortest.NewWebPush(t, vendortest.WithClock(func() time.Time { return now }))
	vkey, err := webpush.GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := webpush.EncodeVAPIDKey(vkey)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := webpush.GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	vapid := func(k any) string {
		h, err := webpush.SignVAPID(vkey, f.URL, "mailto:a@example.com", now.Add(time.Hour))
		if k != nil {
			h, err = webpush.SignVAPID(otherKey, f.URL, "mailto:a@example.com", now.Add(time.Hour))
		}
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	restricted := f.NewSubscription(t, pub)
	open := f.NewSubscription(t, "")
	expired := f.NewSubscription(t, "")
	f.Expire(expired.Endpoint)
	keys, err := webpush.ParseKeys(restricted.P256DH, restricted.Auth)
	if err != nil {
		t.Fatal(err)
	}
	body, err := webpush.Encrypt([]byte(`{"hello":"world"}`), keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	good := map[string]string{"Authorization": vapid(nil), "TTL": "60", "Content-Encoding": "aes128gcm"}
	for _, tc := range []struct {
		name     string
		endpoint string
		header   map[string]string
		body     string
		want     int
	}{
		{"accepted", restricted.Endpoint, good, string(body), 201},
		{"tickle without a body", open.Endpoint, map[string]string{"TTL": "0"}, "", 201},
		{"restricted without VAPID", restricted.Endpoint, with(good, "Authorization", ""), string(body), 401},
		{"restricted, another key", restricted.Endpoint, with(good, "Authorization", vapid(1)), string(body), 403},
		{"bad VAPID", open.Endpoint, with(good, "Authorization", "vapid t=a.b.c, k=xyz"), "", 403},
		{"no TTL", restricted.Endpoint, with(good, "TTL", ""), string(body), 400},
		{"bad Urgency", restricted.Endpoint, with(good, "Urgency", "urgent"), string(body), 400},
		{"bad Topic", restricted.Endpoint, with(good, "Topic", "not a topic!"), string(body), 400},
		{"other encoding", restricted.Endpoint, with(good, "Content-Encoding", "aesgcm"), string(body), 400},
		{"not for this subscription", open.Endpoint, good, string(body), 400},
		{"over 4096 bytes", restricted.Endpoint, good, strings.Repeat("x", 4097), 413},
		{"unknown", f.URL + "/push/nope", good, string(body), 404},
		{"expired", expired.Endpoint, good, string(body), 410},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, tc.endpoint, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := f.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == 201 && resp.Header.Get("Location") == "" {
				t.Error("201 without Location")
			}
		})
	}
	got := f.Received()
	if len(got) != 2 || string(got[0].Plaintext) != `{"hello":"world"}` || got[0].TTL != 60 {
		t.Errorf("received %+v", got)
	}
}

// CertificatePEM is a CA file that a client of its own trusts.
func TestCertificatePEM(t *testing.T) {
	f := vendortest.NewWebPush(t)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(f.CertificatePEM()) {
		t.Fatal("no certificate in CertificatePEM")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := c.Post(f.URL+"/push/unknown", "application/octet-stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.ProtoMajor != 2 {
		t.Errorf("got %s %d, want HTTP/2 404", resp.Proto, resp.StatusCode)
	}
}
