package bench

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/heraldtest"
)

// buildHerald builds the herald binary (the agents' executable) into a
// temporary directory and returns its path.
func buildHerald(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "herald")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "./cmd/herald")
	cmd.Dir = filepath.Join("..", "..") // the module root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/herald: %v\n%s", err, out)
	}
	return bin
}

// logWriter sends the agents' stderr to the test log.
type logWriter struct {
	t *testing.T
}

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log("agent: " + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestBenchEndToEnd(t *testing.T) {
	bin := buildHerald(t)
	srv := heraldtest.Start(t)
	var progress bytes.Buffer
	rep, err := Run(t.Context(), Config{
		Server:           srv.URL,
		AdminToken:       srv.AdminToken,
		Devices:          20,
		Messages:         200,
		Senders:          8,
		Agents:           1,
		AgentCommand:     []string{bin, "bench", "agent"},
		AgentStderr:      logWriter{t},
		Progress:         &progress,
		ProgressInterval: 50 * time.Millisecond,
		DrainTimeout:     30 * time.Second,
	})
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", text.String())
	if rep.Sent != 200 || rep.Accepted != 200 || len(rep.Errors) != 0 {
		t.Errorf("sent %d, accepted %d, errors %v; want 200, 200, none", rep.Sent, rep.Accepted, rep.Errors)
	}
	if rep.Delivered != 200 || rep.Lost != 0 || rep.DrainTimedOut || rep.BadData != 0 {
		t.Errorf("delivered %d, lost %d, drain timed out %v, bad data %d; want 200, 0, false, 0",
			rep.Delivered, rep.Lost, rep.DrainTimedOut, rep.BadData)
	}
	l := rep.Latency
	if l.Samples != 200 || l.Min <= 0 || l.P50 < l.Min || l.P90 < l.P50 || l.P99 < l.P90 || l.Max < l.P99 {
		t.Errorf("latency %+v: want 200 samples, 0 < min ≤ p50 ≤ p90 ≤ p99 ≤ max", l)
	}
	if rep.AcceptedPerSecond <= 0 || rep.DeliveredPerSecond <= 0 {
		t.Errorf("accepted/s %v, delivered/s %v: want > 0", rep.AcceptedPerSecond, rep.DeliveredPerSecond)
	}
	if !strings.HasPrefix(rep.Project, "bench-") {
		t.Errorf("project %q: want bench-<random>", rep.Project)
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8080", "http://127.4.5.6:1", "http://localhost:8080/"} {
		if err := CheckLoopback(ok); err != nil {
			t.Errorf("CheckLoopback(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.1:8080", "http://example.com", "http://[::1]:8080", "https://127.0.0.1", "127.0.0.1:8080", "http://128.0.0.1"} {
		if err := CheckLoopback(bad); err == nil {
			t.Errorf("CheckLoopback(%q) = nil, want an error", bad)
		}
	}
}

func TestConfigRefusesTooManyDevicesPerAgent(t *testing.T) {
	_, err := Config{Server: "http://127.0.0.1:1", AdminToken: "x", AgentCommand: []string{"x"}, Devices: 40000, Agents: 2}.withDefaults()
	if err == nil || !strings.Contains(err.Error(), "at least 3 agents") {
		t.Errorf("40000 devices on 2 agents: %v, want 'use at least 3 agents'", err)
	}
	cfg, err := Config{Server: "http://127.0.0.1:1", AdminToken: "x", AgentCommand: []string{"x"}, Devices: 40000}.withDefaults()
	if err != nil || cfg.Agents != 3 {
		t.Errorf("40000 devices: %d agents, %v; want 3 by default", cfg.Agents, err)
	}
}

func TestHistogramBuckets(t *testing.T) {
	prevHi := int64(-1)
	for b := range numBuckets {
		lo, hi := bucketRange(b)
		if lo != prevHi+1 || hi < lo {
			t.Fatalf("bucket %d = [%d, %d], previous ended at %d", b, lo, hi, prevHi)
		}
		if bucketOf(lo) != b || bucketOf(hi) != b {
			t.Fatalf("bucket %d = [%d, %d] but bucketOf gives %d, %d", b, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		if lo >= 2*subBuckets && float64(hi-lo+1)/float64(lo) > 1.0/subBuckets {
			t.Fatalf("bucket %d = [%d, %d] is wider than 1/%d of its values", b, lo, hi, subBuckets)
		}
		prevHi = hi
		if hi < 0 || hi == int64(^uint64(0)>>1) {
			break
		}
	}
}

func TestHistogramQuantilesAndMerge(t *testing.T) {
	a, b := newLiveHistogram(), newLiveHistogram()
	for i := int64(1); i <= 1000; i++ {
		h := a
		if i%2 == 0 {
			h = b
		}
		h.record(i * int64(time.Millisecond))
	}
	var m Histogram
	m.merge(a.snapshot())
	m.merge(b.snapshot())
	if m.Count != 1000 || m.MinNS != int64(time.Millisecond) || m.MaxNS != int64(time.Second) {
		t.Fatalf("merged count %d, min %d, max %d", m.Count, m.MinNS, m.MaxNS)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := m.quantile(c.q)
		if got < c.want || float64(got-c.want) > float64(c.want)/subBuckets {
			t.Errorf("quantile(%v) = %v, want %v within 1/%d", c.q, got, c.want, subBuckets)
		}
	}
}
