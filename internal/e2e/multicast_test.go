package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/messaging"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/client"
	"github.com/heraldpush/herald/internal/heraldtest"
)

// sdkTransport is a way for the Go Firebase Admin SDK to reach Herald.
type sdkTransport struct {
	name string
	tls  bool   // start the server with TLS (heraldtest.StartTLS)
	h2c  bool   // speak HTTP/2 with prior knowledge over plain TCP
	want string // the protocol every SDK request must arrive with
}

func sdkTransports() []sdkTransport {
	return []sdkTransport{
		// The SDK as README shows it: its own transport, http:// endpoint.
		{name: "http1", want: "HTTP/1.1"},
		// A Go client that speaks h2c (HTTP/2 without TLS).
		{name: "h2c", h2c: true, want: "HTTP/2.0"},
		// https with a private CA: HTTP/2 negotiated by ALPN, as the SDK's
		// default transport does against fcm.googleapis.com.
		{name: "tls", tls: true, want: "HTTP/2.0"},
	}
}

func (tr sdkTransport) start(t *testing.T) *heraldtest.Server {
	if tr.tls {
		return heraldtest.StartTLS(t)
	}
	return heraldtest.Start(t)
}

// base returns the round tripper that the SDK (and the test's own calls
// that must not disturb the protocol counts) use for this transport.
func (tr sdkTransport) base(t *testing.T, srv *heraldtest.Server) http.RoundTripper {
	if tr.h2c {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true) // and nothing else: no fallback to HTTP/1.1
		rt := &http.Transport{Protocols: &p}
		// Before the server stops: an idle HTTP/2 connection holds a
		// graceful shutdown for a second.
		t.Cleanup(rt.CloseIdleConnections)
		return rt
	}
	return srv.Client().Transport
}

// messagingClient returns a Go Firebase Admin SDK client of the project
// whose service-account file is sa. For http1 it is the README's setup
// (WithCredentialsFile + WithEndpoint). Otherwise the SDK gets an HTTP
// client on the transport's round tripper: WithHTTPClient replaces the
// SDK's authentication, so the client carries an oauth2.Transport whose
// token source is the same service-account file, exchanged at its
// token_uri (Herald's /token) over the same round tripper.
func (tr sdkTransport) messagingClient(t *testing.T, srv *heraldtest.Server, base http.RoundTripper, projectID, sa string) *messaging.Client {
	t.Helper()
	ctx := context.Background()
	opts := []option.ClientOption{option.WithEndpoint(srv.URL + "/v1")}
	if tr.name == "http1" {
		opts = append(opts, option.WithCredentialsFile(sa))
	} else {
		key, err := os.ReadFile(sa)
		if err != nil {
			t.Fatal(err)
		}
		tokenCtx := context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: base})
		creds, err := google.CredentialsFromJSONWithType(tokenCtx, key, google.ServiceAccount,
			"https://www.googleapis.com/auth/firebase.messaging")
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, option.WithHTTPClient(&http.Client{
			Transport: &oauth2.Transport{Source: creds.TokenSource, Base: base},
		}))
	}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: projectID}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := app.Messaging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// httpRequests reads herald_http_requests_total by protocol from /metrics.
func httpRequests(t *testing.T, srv *heraldtest.Server, rt http.RoundTripper) map[string]int {
	t.Helper()
	resp, err := (&http.Client{Transport: rt, Timeout: waitTimeout}).Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), `herald_http_requests_total{proto="`)
		if !ok {
			continue
		}
		proto, n, ok := strings.Cut(rest, `"} `)
		v, err := strconv.ParseFloat(n, 64)
		if !ok || err != nil {
			t.Fatalf("metrics line %q", sc.Text())
		}
		got[proto] = int(v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// outcome classifies one SendResponse: "sent", "dry run", or the error
// predicates of the SDK that hold for its error, joined by "+" (so that an
// error matching several is visible).
func outcome(project string, r *messaging.SendResponse) string {
	if r.Success {
		id, ok := strings.CutPrefix(r.MessageID, "projects/"+project+"/messages/")
		switch {
		case !ok || id == "":
			return "malformed name " + r.MessageID
		case id == "fake_message_id":
			return "dry run"
		}
		return "sent"
	}
	var is []string
	for _, p := range []struct {
		name string
		f    func(error) bool
	}{
		{"unregistered", messaging.IsUnregistered},
		{"sender id mismatch", messaging.IsSenderIDMismatch},
		{"invalid argument", messaging.IsInvalidArgument},
		{"quota exceeded", messaging.IsQuotaExceeded},
		{"internal", messaging.IsInternal},
		{"unavailable", messaging.IsUnavailable},
	} {
		if p.f(r.Error) {
			is = append(is, p.name)
		}
	}
	if len(is) == 0 {
		return "unclassified error: " + r.Error.Error()
	}
	return strings.Join(is, "+")
}

// batchResult is what the tests compare of a BatchResponse.
type batchResult struct {
	Success, Failure int
	Outcomes         []string
}

func resultOf(t *testing.T, project string, br *messaging.BatchResponse, err error) batchResult {
	t.Helper()
	if err != nil {
		t.Fatalf("batch call failed as a whole: %v", err)
	}
	r := batchResult{Success: br.SuccessCount, Failure: br.FailureCount}
	for _, resp := range br.Responses {
		r.Outcomes = append(r.Outcomes, outcome(project, resp))
	}
	return r
}

// messageID is the ID a device sees for a message the SDK named.
func messageID(project, name string) string {
	return strings.TrimPrefix(name, "projects/"+project+"/messages/")
}

// TestGoAdminSDKMulticast runs SendEachDryRun, SendEachForMulticastDryRun,
// SendEach and SendEachForMulticast of the real Go Firebase Admin SDK with
// good, deleted, foreign-project and invalid messages, over HTTP/1.1, h2c
// and TLS with HTTP/2: every response at its index, the SDK's error
// predicates, the protocol the requests arrived with (Herald's
// herald_http_requests_total), and what the devices receive.
func TestGoAdminSDKMulticast(t *testing.T) {
	for _, tr := range sdkTransports() {
		t.Run(tr.name, func(t *testing.T) {
			srv := tr.start(t)
			p := newProject(t, srv, "demo")
			other := newProject(t, srv, "other")
			base := tr.base(t, srv)
			fcm := tr.messagingClient(t, srv, base, p.id, p.sa)
			ctx := context.Background()

			good1 := newDevice(t, srv, p.appKey, "")
			good1.run(t)
			good2 := newDevice(t, srv, p.appKey, "")
			good2.run(t)
			gone := newDevice(t, srv, p.appKey, "")
			if err := gone.c.DeleteToken(ctx, p.appKey); err != nil {
				t.Fatalf("DeleteToken: %v", err)
			}
			foreign := newDevice(t, srv, other.appKey, "")

			before := httpRequests(t, srv, base)

			each := []*messaging.Message{
				{Token: good1.token, Data: map[string]string{"i": "0"}},
				{Token: gone.token, Data: map[string]string{"i": "1"}},
				{Token: foreign.token, Data: map[string]string{"i": "2"}},
				{Token: good2.token, Notification: &messaging.Notification{Title: "three"}},
				{Token: good1.token, Data: map[string]string{"i": "4", "from": "me"}}, // reserved key
				{Token: good1.token, Data: map[string]string{"i": "5"}, Android: &messaging.AndroidConfig{TTL: ttl(time.Minute)}},
			}
			multicast := &messaging.MulticastMessage{
				Tokens: []string{good1.token, gone.token, foreign.token, good2.token},
				Data:   map[string]string{"kind": "multicast"},
			}
			// Dry runs first: had one stored anything, the devices would
			// receive it before the real messages.
			br, err := fcm.SendEachDryRun(ctx, each)
			gotDryEach := resultOf(t, p.id, br, err)
			br, err = fcm.SendEachForMulticastDryRun(ctx, multicast)
			gotDryMulticast := resultOf(t, p.id, br, err)
			brEach, err := fcm.SendEach(ctx, each)
			gotEach := resultOf(t, p.id, brEach, err)
			brMulticast, err := fcm.SendEachForMulticast(ctx, multicast)
			gotMulticast := resultOf(t, p.id, brMulticast, err)

			const (
				sent, dry, unreg, mismatch, invalid = "sent", "dry run", "unregistered", "sender id mismatch", "invalid argument"
			)
			tests := []struct {
				call      string
				got, want batchResult
			}{
				{"SendEachDryRun", gotDryEach, batchResult{3, 3, []string{dry, unreg, mismatch, dry, invalid, dry}}},
				{"SendEachForMulticastDryRun", gotDryMulticast, batchResult{2, 2, []string{dry, unreg, mismatch, dry}}},
				{"SendEach", gotEach, batchResult{3, 3, []string{sent, unreg, mismatch, sent, invalid, sent}}},
				{"SendEachForMulticast", gotMulticast, batchResult{2, 2, []string{sent, unreg, mismatch, sent}}},
			}
			for _, tt := range tests {
				if diff := cmp.Diff(tt.want, tt.got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", tt.call, diff)
				}
			}

			after := httpRequests(t, srv, base)
			const sdkRequests = 6 + 4 + 6 + 4
			otherProto := map[string]string{"HTTP/1.1": "HTTP/2.0", "HTTP/2.0": "HTTP/1.1"}[tr.want]
			if n := after[tr.want] - before[tr.want]; n < sdkRequests {
				t.Errorf("%d requests arrived over %s during the SDK calls, want at least the SDK's %d", n, tr.want, sdkRequests)
			}
			if n := after[otherProto] - before[otherProto]; n != 0 {
				t.Errorf("%d requests arrived over %s during the SDK calls, want none (only %s)", n, otherProto, tr.want)
			}
			if t.Failed() {
				t.FailNow() // the deliveries below depend on the results above
			}

			// Each device gets its accepted messages, the multicast last
			// (SendEach sends concurrently: its own messages in any
			// order), then the marker sent at the end: nothing else was
			// stored (not the dry runs, not the refused messages).
			marker := func(d *device) string {
				name, err := fcm.Send(ctx, &messaging.Message{Token: d.token, Data: map[string]string{"end": "1"}})
				if err != nil {
					t.Fatalf("send: %v", err)
				}
				return messageID(p.id, name)
			}
			id := func(br *messaging.BatchResponse, i int) string { return messageID(p.id, br.Responses[i].MessageID) }
			for _, dev := range []struct {
				name      string
				d         *device
				fromEach  []string
				multicast string
			}{
				{"good1", good1, []string{id(brEach, 0), id(brEach, 5)}, id(brMulticast, 0)},
				{"good2", good2, []string{id(brEach, 3)}, id(brMulticast, 3)},
			} {
				end := marker(dev.d)
				var got []string
				for range len(dev.fromEach) + 2 {
					m := dev.d.next(t)
					if m.Token != dev.d.token || m.From != p.id {
						t.Errorf("%s got message %s for token %q from %q", dev.name, m.ID, m.Token, m.From)
					}
					got = append(got, m.ID)
				}
				slices.Sort(got[:len(dev.fromEach)])
				want := append(slices.Sorted(slices.Values(dev.fromEach)), dev.multicast, end)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s received (-want +got):\n%s", dev.name, diff)
				}
			}
		})
	}
}

// TestGoAdminSDKMulticast500 sends one SendEachForMulticast to 500 devices
// that are registered but offline, over HTTP/1.1 and over TLS with HTTP/2:
// all 500 are accepted (durably: a 200 means on disk), and devices spread
// over the batch connect afterwards and each receive its message.
func TestGoAdminSDKMulticast500(t *testing.T) {
	for _, tr := range sdkTransports() {
		if tr.h2c {
			continue // the transport itself is covered by TestGoAdminSDKMulticast
		}
		t.Run(tr.name, func(t *testing.T) {
			srv := tr.start(t)
			p := newProject(t, srv, "demo")
			fcm := tr.messagingClient(t, srv, tr.base(t, srv), p.id, p.sa)
			ctx := context.Background()

			const n = 500
			type delivery struct {
				i int
				m herald.Message
			}
			received := make(chan delivery, n)
			devices := make([]*client.Client, n)
			tokens := make([]string, n)
			var wg sync.WaitGroup
			errs := make(chan error, n)
			work := make(chan int)
			for range 8 {
				wg.Go(func() {
					for i := range work {
						c, err := client.New(client.Config{
							Server:    srv.URL,
							TLSConfig: srv.ClientTLSConfig(),
							OnMessage: func(_ context.Context, m herald.Message) { received <- delivery{i, m} },
							Backoff:   client.BackoffConfig{Min: 10 * time.Millisecond, Max: 200 * time.Millisecond},
						})
						if err == nil {
							devices[i] = c
							tokens[i], err = c.Register(ctx, p.appKey)
						}
						if err != nil {
							errs <- fmt.Errorf("device %d: %w", i, err)
						}
					}
				})
			}
			for i := range n {
				work <- i
			}
			close(work)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				for _, c := range devices {
					_ = c.Close()
				}
			})

			br, err := fcm.SendEachForMulticast(ctx, &messaging.MulticastMessage{
				Tokens: tokens, Data: map[string]string{"kind": "500"},
			})
			if err != nil {
				t.Fatalf("SendEachForMulticast: %v", err)
			}
			if br.SuccessCount != n || br.FailureCount != 0 || len(br.Responses) != n {
				t.Fatalf("SendEachForMulticast: %d successes, %d failures, %d responses; want %d, 0, %d",
					br.SuccessCount, br.FailureCount, len(br.Responses), n, n)
			}
			ids := map[string]bool{}
			for i, r := range br.Responses {
				if got := outcome(p.id, r); got != "sent" {
					t.Fatalf("response %d: %s", i, got)
				}
				ids[r.MessageID] = true
			}
			if len(ids) != n {
				t.Fatalf("%d distinct message names for %d messages", len(ids), n)
			}

			// Devices spread over the batch connect now and get the
			// message stored for them.
			sample := []int{0, 1, 99, 250, 251, 377, 498, 499}
			runCtx, stop := context.WithCancel(ctx)
			var running sync.WaitGroup
			t.Cleanup(func() { stop(); running.Wait() })
			for _, i := range sample {
				running.Go(func() { _ = devices[i].Run(runCtx) })
			}
			got := map[int]string{}
			timeout := time.After(waitTimeout)
			for len(got) < len(sample) {
				select {
				case d := <-received:
					if _, dup := got[d.i]; dup || !slices.Contains(sample, d.i) {
						t.Fatalf("device %d got an unexpected message %s", d.i, d.m.ID)
					}
					if d.m.Token != tokens[d.i] || d.m.Data["kind"] != "500" {
						t.Errorf("device %d got %+v", d.i, d.m)
					}
					got[d.i] = d.m.ID
				case <-timeout:
					t.Fatalf("%d of %d connected devices received their message", len(got), len(sample))
				}
			}
			for i, msgID := range got {
				if want := messageID(p.id, br.Responses[i].MessageID); msgID != want {
					t.Errorf("device %d got message %s, want %s (response %d)", i, msgID, want, i)
				}
			}
		})
	}
}
