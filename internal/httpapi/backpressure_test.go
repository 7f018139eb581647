package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald/internal/auth"
	"github.com/heraldpush/herald/internal/dispatch"
	"github.com/heraldpush/herald/internal/metrics"
	"github.com/heraldpush/herald/internal/quota"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/pebblestore"
)

// heldStore is a real store whose Enqueue waits, once entered, until the
// test releases it: a send held in flight without any timing.
type heldStore struct {
	store.Store
	entered chan struct{} // receives when an Enqueue starts
	release chan struct{} // closed to let Enqueues go on
}

func (s *heldStore) Enqueue(ctx context.Context, msgs []store.Message) ([]store.Outcome, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.Store.Enqueue(ctx, msgs)
}

// answer is what a send answered.
type answer struct {
	Status     int
	RetryAfter string
	Error      string // status and FcmError errorCode
}

func TestBackpressure(t *testing.T) {
	ctx := context.Background()
	st, err := pebblestore.Open(filepath.Join(t.TempDir(), "store"), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	held := &heldStore{Store: st, entered: make(chan struct{}, 1), release: make(chan struct{})}
	logger := slog.New(slog.DiscardHandler)
	m := metrics.New()
	limiter := quota.New(quota.Config{MaxInFlight: 1})
	hub := dispatch.New(held, dispatch.Config{PingInterval: time.Minute, SendQueue: 16, Limiter: limiter}, m, logger)
	if err := st.CreateProject(ctx, store.Project{ID: "demo"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateApp(ctx, store.App{Key: "app-key", ProjectID: "demo"}); err != nil {
		t.Fatal(err)
	}
	reg, err := hub.Register(ctx, "app-key", nil)
	if err != nil {
		t.Fatal(err)
	}
	const admin = "admin-token-for-the-test"
	var ready atomic.Bool
	ready.Store(true)
	api := &API{Store: held, Hub: hub, Admin: auth.NewAdmin(admin), Metrics: m, Logger: logger, Ready: &ready, Limiter: limiter,
		Connect: http.NotFoundHandler()}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)

	send := func(data string) answer {
		body := `{"message":{"token":"` + reg.Token + `","data":{"d":"` + data + `"}}}`
		req, err := http.NewRequest("POST", srv.URL+"/v1/projects/demo/messages:send", strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return answer{}
		}
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Error(err)
			return answer{}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		a := answer{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
		if resp.StatusCode != http.StatusOK {
			var e struct {
				Error struct {
					Status  string
					Details []struct{ ErrorCode string }
				}
			}
			if err := json.Unmarshal(b, &e); err != nil || len(e.Error.Details) != 1 {
				t.Errorf("error body %s", b)
			}
			a.Error = e.Error.Status + " " + e.Error.Details[0].ErrorCode
		}
		return a
	}

	// One send waits for the store: the in-flight limit (1) is reached.
	first := make(chan answer, 1)
	go func() { first <- send("first") }()
	<-held.entered

	// The next is refused at once, and stores nothing.
	want := answer{Status: http.StatusServiceUnavailable, RetryAfter: "1", Error: "UNAVAILABLE UNAVAILABLE"}
	if diff := cmp.Diff(want, send("refused")); diff != "" {
		t.Errorf("send while one is in flight (-want +got):\n%s", diff)
	}
	if got := metricLines(t, srv.URL, "herald_sends_in_flight", `herald_send_refusals_total{limit="in_flight"}`); !cmp.Equal(got, []string{
		"herald_sends_in_flight 1", `herald_send_refusals_total{limit="in_flight"} 1`,
	}) {
		t.Errorf("metrics while held: %q", got)
	}

	close(held.release)
	if diff := cmp.Diff(answer{Status: http.StatusOK}, <-first); diff != "" {
		t.Errorf("the held send (-want +got):\n%s", diff)
	}
	// The slot is free again.
	go func() { <-held.entered }()
	if diff := cmp.Diff(answer{Status: http.StatusOK}, send("after")); diff != "" {
		t.Errorf("send after the held one (-want +got):\n%s", diff)
	}
	msgs, _, err := st.Pending(ctx, reg.Token, 0, time.Now(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, msg := range msgs {
		var body dispatch.Body
		if err := json.Unmarshal([]byte("{"+string(msg.Payload)+"}"), &body); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, body.Data["d"])
	}
	if diff := cmp.Diff([]string{"first", "after"}, stored); diff != "" {
		t.Errorf("stored messages (-want +got):\n%s", diff)
	}
	if n := limiter.InFlight(); n != 0 {
		t.Errorf("%d sends still in flight", n)
	}
}

// metricLines returns the lines of /metrics that start with the given
// prefixes, in the order of the prefixes.
func metricLines(t *testing.T, base string, prefixes ...string) []string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out []string
	for _, p := range prefixes {
		for line := range strings.Lines(string(b)) {
			if strings.HasPrefix(line, p+" ") {
				out = append(out, strings.TrimSpace(line))
			}
		}
	}
	return out
}
