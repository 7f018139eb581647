package pebblestore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/pebblestore"
)

// BenchmarkAppendTopic: 64 writers append one 500-byte topic message each
// per op to one project's log, every append fsync'd (group commit), as
// benchQueue does for Enqueue.
func BenchmarkAppendTopic(b *testing.B) {
	s, err := pebblestore.Open(b.TempDir(), pebblestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	var next atomic.Int64
	lat := make([][]time.Duration, benchWriters)
	errs := make(chan error, benchWriters)
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := cpuTime(b)
	start := time.Now()
	for w := range benchWriters {
		payload := make([]byte, benchPayload)
		_, _ = rand.Read(payload)
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				m := store.TopicMessage{
					ProjectID:  "bench",
					Topic:      fmt.Sprintf("topic-%d", n%16),
					ID:         fmt.Sprintf("msg-%018d", n),
					AcceptedAt: now,
					ExpiresAt:  now.Add(28 * 24 * time.Hour),
					TTL:        28 * 24 * time.Hour,
					Payload:    payload,
				}
				t := time.Now()
				_, err := s.AppendTopic(ctx, []store.TopicMessage{m})
				lat[w] = append(lat[w], time.Since(t))
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime(b) - cpu0
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(ms(all[len(all)/2]), "p50-ms")
	b.ReportMetric(ms(all[len(all)*99/100]), "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
}

// BenchmarkTopicLog: each op reads 1,000 entries of 500 bytes from a
// project's log (a device catching up), with a live expiry check on each.
func BenchmarkTopicLog(b *testing.B) {
	const entries = 1000
	s, err := pebblestore.Open(b.TempDir(), pebblestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	payload := make([]byte, benchPayload)
	_, _ = rand.Read(payload)
	msgs := make([]store.TopicMessage, entries)
	for i := range msgs {
		msgs[i] = store.TopicMessage{
			ProjectID: "bench", Topic: "news", ID: fmt.Sprintf("msg-%d", i),
			AcceptedAt: now, ExpiresAt: now.Add(time.Hour), TTL: time.Hour, Payload: payload,
		}
	}
	if _, err := s.AppendTopic(ctx, msgs); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		got, _, err := s.TopicLog(ctx, "bench", 0, now, entries)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != entries {
			b.Fatalf("read %d entries, want %d", len(got), entries)
		}
	}
	b.ReportMetric(float64(b.N*entries)/b.Elapsed().Seconds(), "entries/s")
}
