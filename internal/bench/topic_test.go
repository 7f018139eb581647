package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/heraldtest"
)

func TestTopicBenchEndToEnd(t *testing.T) {
	bin := buildHerald(t)
	srv := heraldtest.Start(t)
	var progress bytes.Buffer
	const n, k = 20, 5
	rep, err := RunTopic(t.Context(), TopicConfig{
		Server:           srv.URL,
		AdminToken:       srv.AdminToken,
		Subscribers:      n,
		Messages:         k,
		Agents:           2,
		Baseline:         true,
		AgentCommand:     []string{bin, "bench", "agent"},
		RawServerCommand: []string{bin, "bench", "raw-server"},
		AgentStderr:      logWriter{t},
		Progress:         &progress,
		ProgressInterval: 50 * time.Millisecond,
		DrainTimeout:     30 * time.Second,
		IdleWait:         time.Millisecond,
	})
	if err != nil {
		t.Fatalf("RunTopic: %v\nprogress:\n%s", err, progress.String())
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", text.String())
	if !strings.HasPrefix(rep.Topic, "bench-") || !strings.HasPrefix(rep.Project, "bench-") {
		t.Errorf("project %q, topic %q: want bench-<random>", rep.Project, rep.Topic)
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
