package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/heraldpush/herald/internal/config"
	"github.com/heraldpush/herald/internal/heraldtest"
)

// BenchmarkSendHTTP measures the send API through real HTTP with 64
// concurrent keep-alive clients in the same process, beside a trivial JSON
// handler measured the same way (DESIGN.md §8 compares the two):
//
//	go test -run XXX -bench SendHTTP -benchtime 20000x ./internal/e2e/
func BenchmarkSendHTTP(b *testing.B) {
	// 100 devices take more than 240 messages a minute each in long runs:
	// lift the rate limit per device (the checks still run; the project
	// quota keeps its default, whose 600,000-message burst no run reaches).
	srv := heraldtest.Start(b, func(c *config.Config) { c.DeviceRateMinute, c.DeviceRateHour = 1<<40, 1<<40 })
	srv.CreateProject(b, "demo")
	appKey := srv.CreateApp(b, "demo")
	var tokens []string
	for range 100 {
		d := newBenchDevice(b, srv, appKey)
		tokens = append(tokens, d)
	}
	trivial := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		_ = json.NewDecoder(r.Body).Decode(&v)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"name": "projects/demo/messages/1"})
	}))
	defer trivial.Close()
	for _, c := range []struct {
		name, base   string
		validateOnly bool
	}{
		{"trivial-handler", trivial.URL, false},
		{"validate-only", srv.URL, true},
		{"durable", srv.URL, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
			defer hc.CloseIdleConnections()
			var i atomic.Int64
			b.SetParallelism(32) // 64 clients on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := i.Add(1)
					body := `{"message":{"token":"` + tokens[n%int64(len(tokens))] + `","data":{"i":"` + strconv.FormatInt(n, 10) +
						`"}},"validate_only":` + strconv.FormatBool(c.validateOnly) + `}`
					req, _ := http.NewRequest("POST", c.base+"/v1/projects/demo/messages:send", bytes.NewBufferString(body))
					req.Header.Set("Authorization", "Bearer "+srv.AdminToken)
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// newBenchDevice registers a device over the device API and returns its token.
func newBenchDevice(b *testing.B, srv *heraldtest.Server, appKey string) string {
	req, _ := http.NewRequest("POST", srv.URL+"/device/v1/registrations", nil)
	req.Header.Set("X-Herald-App-Key", appKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		b.Fatal(err)
	}
	return r.Token
}
