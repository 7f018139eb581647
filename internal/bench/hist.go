package bench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// The latency histogram is log-linear, as HdrHistogram: values below
// 2·subBuckets nanoseconds have a bucket each, larger values fall into
// subBuckets buckets per power of two, so a bucket's width is under 1/128
// of its values (< 0.8 % error) from 1 ns to the largest int64.
const (
	subBucketBits = 7
	subBuckets    = 1 << subBucketBits // 128
	// numBuckets covers every non-negative int64.
	numBuckets = (64-subBucketBits-1)*subBuckets + 2*subBuckets
)

// bucketOf returns the bucket of a value in nanoseconds (negative values
// count as 0).
func bucketOf(v int64) int {
	if v < 2*subBuckets {
		return int(max(v, 0))
	}
	shift := bits.Len64(uint64(v)) - subBucketBits - 1 // v>>shift is in [128, 256)
	return shift*subBuckets + int(v>>shift)
}

// bucketRange returns the smallest and largest value of bucket b.
func bucketRange(b int) (lo, hi int64) {
	if b < 2*subBuckets {
		return int64(b), int64(b)
	}
	shift := b/subBuckets - 1
	lo = int64(b-shift*subBuckets) << shift
	return lo, lo + (int64(1) << shift) - 1
}

// liveHistogram records latencies from many goroutines without locks.
type liveHistogram struct {
	counts [numBuckets]atomic.Uint64
	n      atomic.Int64
	min    atomic.Int64 // valid when n > 0
	max    atomic.Int64
}

func newLiveHistogram() *liveHistogram {
	h := &liveHistogram{}
	h.min.Store(int64(^uint64(0) >> 1))
	return h
}

// record adds one latency in nanoseconds.
func (h *liveHistogram) record(v int64) {
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	for cur := h.min.Load(); v < cur && !h.min.CompareAndSwap(cur, v); cur = h.min.Load() {
	}
	for cur := h.max.Load(); v > cur && !h.max.CompareAndSwap(cur, v); cur = h.max.Load() {
	}
}

// snapshot returns the histogram in its compact, mergeable form.
func (h *liveHistogram) snapshot() Histogram {
	var s Histogram
	for b := range h.counts {
		if c := h.counts[b].Load(); c > 0 {
			s.Buckets = append(s.Buckets, [2]int64{int64(b), int64(c)})
			s.Count += int64(c)
		}
	}
	if s.Count > 0 {
		s.MinNS, s.MaxNS = h.min.Load(), h.max.Load()
	}
	return s
}

// Histogram is a latency histogram in the compact form agents send to the
// parent: the non-empty buckets as [bucket, count] pairs.
type Histogram struct {
	Buckets [][2]int64 `json:"buckets,omitempty"`
	Count   int64      `json:"count"`
	MinNS   int64      `json:"min_ns"`
	MaxNS   int64      `json:"max_ns"`
}

// merge adds o to h.
func (h *Histogram) merge(o Histogram) {
	if o.Count == 0 {
		return
	}
	counts := map[int64]int64{}
	for _, b := range h.Buckets {
		counts[b[0]] += b[1]
	}
	for _, b := range o.Buckets {
		counts[b[0]] += b[1]
	}
	h.Buckets = h.Buckets[:0]
	for b := range int64(numBuckets) {
		if c := counts[b]; c > 0 {
			h.Buckets = append(h.Buckets, [2]int64{b, c})
		}
	}
	if h.Count == 0 || o.MinNS < h.MinNS {
		h.MinNS = o.MinNS
	}
	h.MaxNS = max(h.MaxNS, o.MaxNS)
	h.Count += o.Count
}

// quantile returns the latency below which the fraction q of the samples
// lie (the upper end of the bucket holding that rank, capped by the
// maximum), or 0 without samples.
func (h *Histogram) quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	rank := int64(q*float64(h.Count) + 0.5)
	rank = min(max(rank, 1), h.Count)
	var seen int64
	for _, b := range h.Buckets {
		seen += b[1]
		if seen >= rank {
			_, hi := bucketRange(int(b[0]))
			return time.Duration(min(max(hi, h.MinNS), h.MaxNS))
		}
	}
	return time.Duration(h.MaxNS)
}
