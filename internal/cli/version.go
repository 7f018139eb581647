package cli

import (
	"context"
	"fmt"
	"runtime/debug"
)

// Version is the herald version. Release builds set it with
// -ldflags "-X github.com/heraldpush/herald/internal/cli.Version=v1.2.3";
// when empty, the main module's version from the build information is used
// (set by `go install module@version`), else "devel".
var Version = ""

// version returns the version to show.
func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func runVersion(_ context.Context, env *Env, args []string) error {
	f := newFlagSet("version", "herald version", "Print the version of herald.", "herald version")
	rest, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("version", "unexpected argument %q", rest[0])
	}
	fmt.Fprintf(env.Stdout, "herald %s\n", version())
	return nil
}
