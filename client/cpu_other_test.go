//go:build !unix

package client

import "time"

// processCPU is 0 where getrusage is missing: benchmarks report no
// cpu-ns/op.
func processCPU() time.Duration { return 0 }
