package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// writeRaw writes an API answer as received, ending with a newline.
func writeRaw(w io.Writer, raw []byte) error {
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		raw = append(raw, '\n')
	}
	_, err := w.Write(raw)
	return err
}

// writeTable writes rows under a header, in aligned columns.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	writeRow := func(cells []string) {
		for i, c := range cells {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, c)
		}
		fmt.Fprint(tw, "\n")
	}
	writeRow(header)
	for _, r := range rows {
		writeRow(r)
	}
	return tw.Flush()
}

// positionalArgs checks the number of positional arguments: want names
// them, in order.
func positionalArgs(cmd string, got []string, want ...string) error {
	if len(got) < len(want) {
		return usageErrorf(cmd, "missing %s", want[len(got)])
	}
	if len(got) > len(want) {
		return usageErrorf(cmd, "unexpected argument %q", got[len(want)])
	}
	return nil
}
