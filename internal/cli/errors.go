package cli

import (
	"errors"
	"fmt"
)

// usageError is a mistake in the command line: Run prints it with a pointer
// to the command's help and exits with status 2.
type usageError struct {
	cmd string // command name as typed ("project create"), "" for herald itself
	msg string
}

func (e *usageError) Error() string { return e.msg }

// usageErrorf returns a usage error of command cmd.
func usageErrorf(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// hinted is an error that knows what the user can do about it.
type hinted interface {
	error
	Hint() string
}

// hintError adds a hint to an error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }
func (e *hintError) Hint() string  { return e.hint }

// withHint returns err with a hint printed after it on failure.
func withHint(err error, format string, args ...any) error {
	return &hintError{err: err, hint: fmt.Sprintf(format, args...)}
}

// hintOf returns the hint of the first error in err's chain that has one.
func hintOf(err error) string {
	var h hinted
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}
