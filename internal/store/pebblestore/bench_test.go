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

// The shape of reference/libbench.md §2: 64 writers, 10,000 registrations,
// 500-byte incompressible payloads, every enqueue fsync'd (group commit).
const (
	benchWriters = 64
	benchTokens  = 10_000
	benchPayload = 500
)

// BenchmarkEnqueueAck: each op enqueues one message durably, then acks it.
func BenchmarkEnqueueAck(b *testing.B) { benchQueue(b, true) }

// BenchmarkEnqueue: each op enqueues one message durably.
func BenchmarkEnqueue(b *testing.B) { benchQueue(b, false) }

func benchQueue(b *testing.B, withAck bool) {
	s, err := pebblestore.Open(b.TempDir(), pebblestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	tokens := make([]string, benchTokens)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("tok-%016x", i*7919)
	}
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
			// Writer w owns tokens w, w+64, …, so its acks never cover
			// another writer's messages.
			owned := (benchTokens - w + benchWriters - 1) / benchWriters
			for i := 0; ; i++ {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				m := store.Message{
					Token:      tokens[w+benchWriters*(i%owned)],
					ID:         fmt.Sprintf("msg-%018d", n),
					ProjectID:  "bench",
					AcceptedAt: now,
					ExpiresAt:  now.Add(28 * 24 * time.Hour),
					TTL:        28 * 24 * time.Hour,
					Payload:    payload,
				}
				t := time.Now()
				outs, err := s.Enqueue(ctx, []store.Message{m})
				lat[w] = append(lat[w], time.Since(t))
				if err == nil && withAck {
					err = s.Ack(ctx, m.Token, outs[0].Seq)
				}
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
	// CPU per message (the whole process: writers, store, Pebble's
	// goroutines) varies less than msgs/s on a shared machine.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
