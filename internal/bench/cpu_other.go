//go:build !unix

package bench

import "time"

// selfCPU returns 0 where the process's CPU time is not measured.
func selfCPU() time.Duration { return 0 }
