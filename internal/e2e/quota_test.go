package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"firebase.google.com/go/v4/messaging"
	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald/internal/config"
	"github.com/heraldpush/herald/internal/heraldtest"
)

// frozenClock is a clock that moves only when told, so that rate limits
// see exactly the time the test says.
type frozenClock struct{ t atomic.Int64 }

func newFrozenClock() *frozenClock {
	c := &frozenClock{}
	c.t.Store(time.Now().UnixNano())
	return c
}
func (c *frozenClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *frozenClock) advance(d time.Duration) { c.t.Add(int64(d)) }

// refusal is what a plain HTTP send answered.
type refusal struct {
	Status     int
	RetryAfter string
	Body       string // status and FcmError errorCode
}

// sendRaw sends a message to token with a plain HTTP request and returns
// the status, the Retry-After header and the error's status and code.
func sendRaw(t *testing.T, srv *heraldtest.Server, p project, token string) refusal {
	t.Helper()
	body := `{"message":{"token":"` + token + `","data":{"raw":"1"}}}`
	req, err := http.NewRequest("POST", srv.URL+"/v1/projects/"+p.id+"/messages:send", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+projectAccessToken(t, p))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := refusal{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Status  string `json:"status"`
				Details []struct {
					ErrorCode string `json:"errorCode"`
				} `json:"details"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &e); err != nil || len(e.Error.Details) != 1 {
			t.Fatalf("error body %s", b)
		}
		r.Body = e.Error.Status + " " + e.Error.Details[0].ErrorCode
	}
	return r
}

// refusals returns herald_send_refusals_total by limit.
func refusals(t *testing.T, srv *heraldtest.Server) map[string]int {
	t.Helper()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), `herald_send_refusals_total{limit="`)
		if !ok {
			continue
		}
		limit, value, _ := strings.Cut(rest, `"} `)
		n, err := strconv.Atoi(value)
		if err != nil {
			t.Fatalf("metric line %q", sc.Text())
		}
		got[limit] = n
	}
	return got
}

func TestProjectQuota(t *testing.T) {
	c := newFrozenClock()
	srv := heraldtest.Start(t, func(cfg *config.Config) { cfg.ProjectQuota = 5; cfg.Clock = c.now })
	p := newProject(t, srv, "demo")
	other := newProject(t, srv, "other")
	d := newDevice(t, srv, p.appKey, "")
	od := newDevice(t, srv, other.appKey, "")
	ctx := context.Background()
	msg := func(i int) *messaging.Message {
		return &messaging.Message{Token: d.token, Data: map[string]string{"i": strconv.Itoa(i)}}
	}

	// Under the quota nothing is refused; a dry run and a client error
	// count, as FCM counts requests.
	for i := range 3 {
		p.send(t, msg(i))
	}
	if _, err := p.fcm.SendDryRun(ctx, msg(3)); err != nil {
		t.Fatalf("dry run under the quota: %v", err)
	}
	if _, err := p.fcm.Send(ctx, &messaging.Message{Token: "no-such-token"}); !messaging.IsUnregistered(err) {
		t.Fatalf("send to an unknown token: %v, want UNREGISTERED", err)
	}

	// The 6th message of the minute is refused; the Go SDK does not retry 429.
	if _, err := p.fcm.Send(ctx, msg(5)); !messaging.IsQuotaExceeded(err) {
		t.Fatalf("6th send in a minute: %v, want QUOTA_EXCEEDED", err)
	}
	// 5 per minute is one message every 12 s: the next is in 12 s.
	want := refusal{Status: 429, RetryAfter: "12", Body: "RESOURCE_EXHAUSTED QUOTA_EXCEEDED"}
	if diff := cmp.Diff(want, sendRaw(t, srv, p, d.token)); diff != "" {
		t.Errorf("refused send (-want +got):\n%s", diff)
	}
	// Refusals do not count, and other projects have their own quota.
	other.send(t, &messaging.Message{Token: od.token})

	c.advance(7 * time.Second)
	want.RetryAfter = "5"
	if diff := cmp.Diff(want, sendRaw(t, srv, p, d.token)); diff != "" {
		t.Errorf("refused send 7 s later (-want +got):\n%s", diff)
	}
	c.advance(5 * time.Second) // one message back
	p.send(t, msg(6))
	if _, err := p.fcm.Send(ctx, msg(7)); !messaging.IsQuotaExceeded(err) {
		t.Fatalf("second send after one interval: %v, want QUOTA_EXCEEDED", err)
	}
	c.advance(time.Minute) // full again: 5 more
	for i := range 5 {
		p.send(t, msg(10+i))
	}
	if _, err := p.fcm.Send(ctx, msg(15)); !messaging.IsQuotaExceeded(err) {
		t.Fatalf("6th send of the next minute: %v, want QUOTA_EXCEEDED", err)
	}
	if diff := cmp.Diff(map[string]int{"project": 5}, refusals(t, srv)); diff != "" {
		t.Errorf("herald_send_refusals_total (-want +got):\n%s", diff)
	}
}

func TestDeviceRateLimit(t *testing.T) {
	c := newFrozenClock()
	srv := heraldtest.Start(t, func(cfg *config.Config) {
		cfg.DeviceRateMinute, cfg.DeviceRateHour = 3, 5
		cfg.Clock = c.now
	})
	p := newProject(t, srv, "demo")
	a := newDevice(t, srv, p.appKey, "")
	b := newDevice(t, srv, p.appKey, "")
	a.run(t)
	ctx := context.Background()
	n := 0
	accepted := func() {
		t.Helper()
		n++
		p.send(t, &messaging.Message{Token: a.token, Data: map[string]string{"n": strconv.Itoa(n)}})
	}
	refused := func(retryAfter string) {
		t.Helper()
		_, err := p.fcm.Send(ctx, &messaging.Message{Token: a.token, Data: map[string]string{"n": "refused"}})
		if !messaging.IsQuotaExceeded(err) {
			t.Fatalf("after %d messages: %v, want QUOTA_EXCEEDED", n, err)
		}
		want := refusal{Status: 429, RetryAfter: retryAfter, Body: "RESOURCE_EXHAUSTED QUOTA_EXCEEDED"}
		if diff := cmp.Diff(want, sendRaw(t, srv, p, a.token)); diff != "" {
			t.Errorf("after %d messages (-want +got):\n%s", n, diff)
		}
	}

	// 3 per minute: 3 at once, then one every 20 s.
	accepted()
	accepted()
	accepted()
	refused("20")
	// Dry runs deliver nothing and do not count; other devices have their
	// own limit.
	if _, err := p.fcm.SendDryRun(ctx, &messaging.Message{Token: a.token}); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	p.send(t, &messaging.Message{Token: b.token})
	c.advance(20 * time.Second)
	accepted()
	refused("20")
	// 5 per hour: one every 12 minutes; the 5th went out at 1 min 20 s,
	// so the next one may at 12 min.
	c.advance(time.Minute)
	accepted()
	refused(strconv.Itoa(int((12*time.Minute - 80*time.Second) / time.Second)))
	c.advance(time.Hour)
	accepted()

	// The device got exactly the accepted messages, in order: nothing
	// refused was stored.
	var got []string
	for range n {
		got = append(got, a.next(t).Data["n"])
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4", "5", "6"}, got); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	wantRefusals := map[string]int{"device_minute": 4, "device_hour": 2}
	if diff := cmp.Diff(wantRefusals, refusals(t, srv)); diff != "" {
		t.Errorf("herald_send_refusals_total (-want +got):\n%s", diff)
	}
}
