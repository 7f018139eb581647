//go:build !unix

package pebblestore_test

import (
	"testing"
	"time"
)

// cpuTime is not measured here: the cpu-µs/msg metric reads 0.
func cpuTime(*testing.B) time.Duration { return 0 }
