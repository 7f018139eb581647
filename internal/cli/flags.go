package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// flagSet wraps flag.FlagSet with what the herald commands share: flags may
// follow positional arguments, a flag may fall back to an environment
// variable (flag > env > default), and --help prints a page with the usage
// line, the flags with their defaults and variables, and an example.
type flagSet struct {
	fs      *flag.FlagSet
	name    string   // command name as typed, e.g. "project create"
	usage   string   // e.g. "herald project create ID [flags]"
	about   string   // what the command does, a few lines
	example string   // one or more example lines
	order   []string // flag names in declaration order
	envs    map[string]string
	notes   map[string]string // extra words after the default, e.g. "default: read DATA/admin-token"
	set     map[string]bool   // flags given on the command line or by the environment
}

// newFlagSet returns an empty flag set for the command name.
func newFlagSet(name, usage, about, example string) *flagSet {
	fs := flag.NewFlagSet("herald "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{
		fs: fs, name: name, usage: usage, about: about, example: example,
		envs: map[string]string{}, notes: map[string]string{}, set: map[string]bool{},
	}
}

func (f *flagSet) add(name, env string) {
	f.order = append(f.order, name)
	if env != "" {
		f.envs[name] = env
	}
}

// String defines a string flag; env, if not empty, names its variable.
// Put a `word` in backquotes in usage to name the value in the help.
func (f *flagSet) String(p *string, name, value, env, usage string) {
	f.fs.StringVar(p, name, value, usage)
	f.add(name, env)
}

// Bool defines a boolean flag.
func (f *flagSet) Bool(p *bool, name string, value bool, env, usage string) {
	f.fs.BoolVar(p, name, value, usage)
	f.add(name, env)
}

// Int defines an integer flag.
func (f *flagSet) Int(p *int, name string, value int, env, usage string) {
	*p = value
	f.fs.Var((*intValue)(p), name, usage)
	f.add(name, env)
}

// Duration defines a duration flag (Go syntax: 90s, 1h30m).
func (f *flagSet) Duration(p *time.Duration, name string, value time.Duration, env, usage string) {
	*p = value
	f.fs.Var((*durationValue)(p), name, usage)
	f.add(name, env)
}

// intValue is an int flag whose errors say what is expected.
type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("want a whole number")
	}
	*v = intValue(n)
	return nil
}

// durationValue is a duration flag whose errors say what is expected.
type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 30s, 5m or 1h30m")
	}
	*v = durationValue(d)
	return nil
}

// Var defines a flag with a custom value.
func (f *flagSet) Var(v flag.Value, name, env, usage string) {
	f.fs.Var(v, name, usage)
	f.add(name, env)
}

// note adds words shown in the help after a flag's default.
func (f *flagSet) note(name, text string) { f.notes[name] = text }

// isSet reports whether the flag was given on the command line or through
// its environment variable.
func (f *flagSet) isSet(name string) bool { return f.set[name] }

// errHelpShown is returned by parse after it printed the help on request;
// the command then ends with status 0.
var errHelpShown = errors.New("help shown")

// parse parses args, allowing flags before, between and after positional
// arguments ("--" ends the flags), then fills unset flags from their
// environment variables. It returns the positional arguments. Errors are
// usage errors; on -h/--help it prints the help to env.Stdout and returns
// errHelpShown.
func (f *flagSet) parse(env *Env, args []string) ([]string, error) {
	var positional []string
	for {
		err := f.fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			f.help(env.Stdout)
			return nil, errHelpShown
		}
		if err != nil {
			return nil, f.usageError(err)
		}
		rest := f.fs.Args()
		if len(rest) == 0 {
			break
		}
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	f.fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	for _, name := range f.order {
		v := f.envs[name]
		if v == "" || f.set[name] || env.Getenv == nil {
			continue
		}
		val := env.Getenv(v)
		if val == "" {
			continue
		}
		if err := f.fs.Set(name, val); err != nil {
			return nil, usageErrorf(f.name, "invalid %s=%q: %v", v, val, err)
		}
		f.set[name] = true
	}
	return positional, nil
}

// usageError rewrites the flag package's messages into ours, naming flags
// with two dashes and suggesting a near match.
func (f *flagSet) usageError(err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name = strings.TrimLeft(name, "-")
		if s := f.suggest(name); s != "" {
			return usageErrorf(f.name, "unknown flag --%s (did you mean --%s?)", name, s)
		}
		return usageErrorf(f.name, "unknown flag --%s", name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return usageErrorf(f.name, "flag --%s needs a value", strings.TrimLeft(name, "-"))
	}
	if rest, ok := strings.CutPrefix(msg, "invalid value "); ok {
		// invalid value "x" for flag -ttl: parse error
		return usageErrorf(f.name, "invalid value %s", strings.Replace(rest, "for flag -", "for --", 1))
	}
	if rest, ok := strings.CutPrefix(msg, "invalid boolean value "); ok {
		return usageErrorf(f.name, "invalid boolean value %s", strings.Replace(rest, "for -", "for --", 1))
	}
	return usageErrorf(f.name, "%s", msg)
}

// suggest returns the defined flag closest to name, or "".
func (f *flagSet) suggest(name string) string {
	best, bestDist := "", 3
	for _, cand := range f.order {
		if d := editDistance(name, cand); d < bestDist {
			best, bestDist = cand, d
		}
	}
	return best
}

// help writes the command's help page.
func (f *flagSet) help(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nUsage:\n  %s\n", strings.TrimSpace(f.about), f.usage)
	if len(f.order) > 0 {
		fmt.Fprintf(w, "\nFlags:\n")
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		for _, name := range f.order {
			fl := f.fs.Lookup(name)
			word, usage := flag.UnquoteUsage(fl)
			left := "  --" + name
			if word != "" {
				left += " " + word
			}
			var extra []string
			if !isZeroDefault(fl) {
				extra = append(extra, "default "+quoteDefault(fl))
			}
			if n := f.notes[name]; n != "" {
				extra = append(extra, n)
			}
			if e := f.envs[name]; e != "" {
				extra = append(extra, "env "+e)
			}
			fmt.Fprintf(tw, "%s\t%s\n", left, usage)
			if len(extra) > 0 {
				fmt.Fprintf(tw, "\t%s\n", strings.Join(extra, "; "))
			}
		}
		tw.Flush()
	}
	if f.example != "" {
		fmt.Fprintf(w, "\nExample:\n")
		for _, line := range strings.Split(strings.TrimSpace(f.example), "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
}

func isZeroDefault(fl *flag.Flag) bool {
	switch fl.DefValue {
	case "", "false", "0", "0s", "[]":
		return true
	}
	return false
}

// quoteDefault quotes string defaults so that spaces and empty values show.
func quoteDefault(fl *flag.Flag) string {
	if g, ok := fl.Value.(flag.Getter); ok {
		if _, isString := g.Get().(string); isString {
			return fmt.Sprintf("%q", fl.DefValue)
		}
	}
	return fl.DefValue
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
