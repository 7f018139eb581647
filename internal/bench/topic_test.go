package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/heraldtest"
	"github.com/heraldpush/herald/internal/httpapi"
)

// runTopic runs the topic bench tc against srv with the agents (and raw
// server) of bin, fast progress and idle wait, and returns the report and
// its text (logged).
func runTopic(t *testing.T, srv *heraldtest.Server, bin string, tc TopicConfig) (*TopicReport, string) {
	t.Helper()
	var progress bytes.Buffer
	tc.Server, tc.AdminToken = srv.URL, srv.AdminToken
	tc.AgentCommand = []string{bin, "bench", "agent"}
	tc.RawServerCommand = []string{bin, "bench", "raw-server"}
	tc.AgentStderr, tc.Progress, tc.ProgressInterval = logWriter{t}, &progress, 50*time.Millisecond
	tc.DrainTimeout, tc.IdleWait = 30*time.Second, time.Millisecond
	rep, err := RunTopic(t.Context(), tc)
	if err != nil {
		t.Fatalf("RunTopic: %v\nprogress:\n%s", err, progress.String())
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", text.String())
	return rep, text.String()
}

func TestTopicBenchEndToEnd(t *testing.T) {
	bin := buildHerald(t)
	srv := heraldtest.Start(t)
	const n, k = 20, 5
	rep, text := runTopic(t, srv, bin, TopicConfig{Subscribers: n, Messages: k, Agents: 2, Baseline: true})
	if !strings.HasPrefix(rep.Topic, "bench-") || !strings.HasPrefix(rep.Project, "bench-") {
		t.Errorf("project %q, topic %q: want bench-<random>", rep.Project, rep.Topic)
	}
	if rep.Devices != DevicesSDK || !strings.Contains(text, " sdk (Go client SDK)\n") {
		t.Errorf("devices %q: want the SDK's, named in the report", rep.Devices)
	}
	for _, c := range []struct {
		name string
		run  *TopicRun
	}{{"herald", &rep.Herald}, {"baseline", rep.Baseline}} {
		r := c.run
		if r == nil {
			t.Fatalf("%s: no figures", c.name)
		}
		if r.Sent != k || r.Accepted != k || len(r.Errors) != 0 {
			t.Errorf("%s: sent %d, accepted %d, errors %v; want %d, %d, none", c.name, r.Sent, r.Accepted, r.Errors, k, k)
		}
		if r.Expected != n*k || r.Delivered != n*k || r.Lost != 0 || r.DrainTimedOut || r.BadData != 0 || r.Complete != k {
			t.Errorf("%s: expected %d, delivered %d, lost %d, drain timed out %v, bad %d, complete %d; want %d, %d, 0, false, 0, %d",
				c.name, r.Expected, r.Delivered, r.Lost, r.DrainTimedOut, r.BadData, r.Complete, n*k, n*k, k)
		}
		if l := r.DeviceLatency; l.Samples != n*k || l.Min <= 0 || l.P50 < l.Min || l.P99 < l.P50 || l.Max < l.P99 {
			t.Errorf("%s: device latency %+v: want %d samples, 0 < min ≤ p50 ≤ p99 ≤ max", c.name, l, n*k)
		}
		if l := r.FanOut; l.Samples != k || l.Min <= 0 || l.P50 < l.Min || l.P99 < l.P50 || l.Max < l.P99 {
			t.Errorf("%s: fan-out %+v: want %d samples, 0 < min ≤ p50 ≤ p99 ≤ max", c.name, l, k)
		}
		if r.SendCall.Samples != k || r.SendCall.Min <= 0 {
			t.Errorf("%s: send call %+v: want %d samples > 0", c.name, r.SendCall, k)
		}
		if r.DeliveriesPerSecond <= 0 || r.Memory.BeforeBytes <= 0 || r.Memory.AfterBytes <= 0 {
			t.Errorf("%s: deliveries/s %v, memory %+v: want > 0", c.name, r.DeliveriesPerSecond, r.Memory)
		}
	}
	if rep.Ratio == nil || rep.Ratio.FanOutP50 <= 0 || rep.Ratio.DeliveriesPerSecond <= 0 {
		t.Errorf("ratio %+v: want positive figures", rep.Ratio)
	}
}

// Wire devices receive every message once, and their acks reach the
// server: each message's status counts every subscriber as delivered
// (acknowledged), acks sent at once or held (the ack delay).
func TestTopicBenchWireDevices(t *testing.T) {
	bin := buildHerald(t)
	srv := heraldtest.Start(t)
	const n, k = 20, 6
	for _, ackDelay := range []time.Duration{0, 300 * time.Millisecond} {
		t.Run("ack delay "+ackDelay.String(), func(t *testing.T) {
			rep, text := runTopic(t, srv, bin, TopicConfig{
				Subscribers: n, Messages: k, Senders: 2, AckDelay: ackDelay, Agents: 2, Devices: DevicesWire,
			})
			if !strings.Contains(text, " wire (protocol-level: read, dedupe, ack; no SDK)\n") || rep.Devices != DevicesWire {
				t.Errorf("the report does not name the wire devices (devices %q)", rep.Devices)
			}
			r := rep.Herald
			if r.Accepted != k || r.Expected != n*k || r.Delivered != n*k || r.Lost != 0 || r.Complete != k || r.DrainTimedOut {
				t.Errorf("accepted %d, expected %d, delivered %d, lost %d, complete %d, drain timed out %v; want %d, %d, %d, 0, %d, false",
					r.Accepted, r.Expected, r.Delivered, r.Lost, r.Complete, r.DrainTimedOut, k, n*k, n*k, k)
			}
			if r.BadData != 0 || r.Reconnects != 0 || r.Dropped != 0 || len(r.Errors) != 0 {
				t.Errorf("bad data %d, reconnects %d, dropped %d, errors %v; want none", r.BadData, r.Reconnects, r.Dropped, r.Errors)
			}
			if l := r.DeviceLatency; l.Samples != n*k || l.Min <= 0 {
				t.Errorf("device latency %+v: want %d samples > 0", l, n*k)
			}
			for i, name := range r.names {
				if name == "" {
					t.Fatalf("message %d: no name from the send answer", i)
				}
				awaitAcked(t, srv, name, n)
			}
		})
	}
}

// awaitAcked reads a topic message's status through the admin API until
// the acks of its n subscribers reached it (the server writes deliveries
// in batches, a moment after the acks), bounded by 10 s.
func awaitAcked(t *testing.T, srv *heraldtest.Server, name string, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var st httpapi.MessageStatus
		srv.Admin(t, "GET", "/admin/v1/"+name, nil, &st)
		c := st.Counts
		if st.State == "completed" && c != nil && c.Delivered == n && c.Targeted != nil && *c.Targeted == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status of %s: %s, counts %+v; want completed, %d targeted and delivered", name, st.State, c, n)
		}
		<-tick.C
	}
}

func TestRawPayloadRoundTrip(t *testing.T) {
	p := rawPayload(17, 1234567890123)
	n, ts, ok := parseRawPayload(p)
	if !ok || n != 17 || ts != 1234567890123 {
		t.Errorf("parseRawPayload(%s) = %d, %d, %v; want 17, 1234567890123, true", p, n, ts, ok)
	}
	if _, _, ok := parseRawPayload([]byte(`{"n":"x"}`)); ok {
		t.Error("parseRawPayload accepted a payload without numbers")
	}
}

func TestExactLatency(t *testing.T) {
	ns := make([]int64, 100)
	for i := range ns {
		ns[len(ns)-1-i] = int64(i+1) * int64(time.Millisecond)
	}
	l := exactLatency(ns)
	if l.Samples != 100 || l.Min != 1 || l.P50 != 50 || l.P90 != 90 || l.P99 != 99 || l.Max != 100 {
		t.Errorf("exactLatency(1..100 ms) = %+v", l)
	}
	if l := exactLatency(nil); l != (Latency{}) {
		t.Errorf("exactLatency(nil) = %+v, want zero", l)
	}
}
