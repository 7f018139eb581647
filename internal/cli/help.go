package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// quickStart is the shortest path from nothing to a delivered message.
const quickStart = `Quick start (one machine, two terminals):
  herald serve                                      # terminal 1; data in ./herald-data
  herald project create demo
  herald app create --project demo                  # prints app_key: KEY
  herald key create --project demo --out sa.json    # service account for app servers
  herald listen --app-key KEY                       # terminal 2; prints the device token
  herald send --credentials sa.json --token TOKEN --title Hello
`

// writeTopHelp writes the help of herald itself.
func writeTopHelp(w io.Writer) {
	fmt.Fprint(w, `Herald is a self-hosted push messaging server: an open FCM.

Usage:
  herald COMMAND [arguments] [flags]

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s\n", quickStart)
	fmt.Fprint(w, `Commands other than serve talk to a running server: --server or HERALD_SERVER
(default http://127.0.0.1:8080). Admin commands authenticate with --admin-token or
HERALD_ADMIN_TOKEN, else read DATA/admin-token (DATA: --data, HERALD_DATA, ./herald-data),
so they work without setup on the server host.

Run 'herald COMMAND --help' for a command's flags, environment variables and an example.
`)
}

// writeGroupHelp writes the help of a group of subcommands ("project").
func writeGroupHelp(w io.Writer, group string) {
	fmt.Fprintf(w, "Usage:\n  herald %s SUBCOMMAND [arguments] [flags]\n\nSubcommands:\n", group)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range commands() {
		if sub, ok := strings.CutPrefix(c.name, group+" "); ok {
			fmt.Fprintf(tw, "  %s\t%s\n", sub, c.summary)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun 'herald %s SUBCOMMAND --help' for its flags and an example.\n", group)
}

// runHelp shows the help of herald or of the command named by args.
func runHelp(ctx context.Context, env *Env, args []string) error {
	f := newFlagSet("help", "herald help [COMMAND]", "Show the help of herald, or of a command.", "herald help\nherald help key create")
	args, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		writeTopHelp(env.Stdout)
		return nil
	}
	if len(args) == 1 && len(subcommands(commands(), args[0])) > 0 {
		writeGroupHelp(env.Stdout, args[0])
		return nil
	}
	cmd, rest, err := lookup(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("help", "unexpected %q after %q", strings.Join(rest, " "), cmd.name)
	}
	return cmd.run(ctx, env, []string{"--help"})
}
