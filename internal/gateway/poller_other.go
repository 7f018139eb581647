//go:build !linux

package gateway

import "github.com/heraldpush/herald/internal/dispatch"

// poller is Linux only (epoll): elsewhere each connection's own
// goroutine reads it.
type poller struct{}

func newPoller(*Handler) *poller                  { return nil }
func (*poller) close()                            {}
func (*poller) add(*conn, *dispatch.Session) bool { return false }
