package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteJSON writes the report as one indented JSON object.
func (r *TopicReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("bench topic: write report: %w", err)
	}
	return nil
}

// WriteText writes the report for people: one column for Herald, and with
// a baseline one for it and one for the ratio Herald/baseline.
func (r *TopicReport) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	calls := "one send call at a time"
	if r.Senders > 1 {
		calls = fmt.Sprintf("%d send calls at a time", r.Senders)
	}
	rate := "back to back (" + calls + ")"
	if r.TargetRate > 0 {
		rate = fmt.Sprintf("target %.0f/s (%s)", r.TargetRate, calls)
	}
	agents := "agent processes"
	if r.Agents == 1 {
		agents = "agent process"
	}
	fmt.Fprintf(tw, "server\t%s (project %s, topic %s)\n", r.Server, r.Project, r.Topic)
	fmt.Fprintf(tw, "subscribers\t%d in %d %s\n", r.Subscribers, r.Agents, agents)
	fmt.Fprintf(tw, "messages\t%d, %s, high priority, ~100 bytes of data\n", r.Messages, rate)
	fmt.Fprintf(tw, "devices\t%s\n", r.Devices.String())
	fmt.Fprintf(tw, "acks\tHerald's subscribers hold their acks up to %d ms (client.Config.AckDelay), topic acks up to the server's --topic-ack-hold or their next ping\n", r.AckDelayMS)
	runs := []*TopicRun{&r.Herald}
	fmt.Fprint(tw, "\therald")
	if r.Baseline != nil {
		runs = append(runs, r.Baseline)
		fmt.Fprint(tw, "\traw baseline\therald/baseline")
	}
	fmt.Fprintln(tw)
	row := func(label string, f func(t *TopicRun) string, ratio string) {
		fmt.Fprint(tw, label)
		for _, t := range runs {
			fmt.Fprint(tw, "\t"+f(t))
		}
		if r.Baseline != nil {
			fmt.Fprint(tw, "\t"+ratio)
		}
		fmt.Fprintln(tw)
	}
	var ra TopicRatio
	if r.Ratio != nil {
		ra = *r.Ratio
	}
	row("connected in", func(t *TopicRun) string { return fmt.Sprintf("%.2fs", t.ConnectSeconds) }, "")
	row("send call", func(t *TopicRun) string {
		return fmt.Sprintf("p50 %s  p99 %s  max %s", msText(t.SendCall.P50), msText(t.SendCall.P99), msText(t.SendCall.Max))
	}, "")
	row("send → last device", func(t *TopicRun) string {
		return fmt.Sprintf("p50 %s  p99 %s  max %s", msText(t.FanOut.P50), msText(t.FanOut.P99), msText(t.FanOut.Max))
	}, fmt.Sprintf("p50 %.2f×  p99 %.2f×", ra.FanOutP50, ra.FanOutP99))
	row("per device", func(t *TopicRun) string {
		return fmt.Sprintf("p50 %s  p99 %s  max %s", msText(t.DeviceLatency.P50), msText(t.DeviceLatency.P99), msText(t.DeviceLatency.Max))
	}, "")
	row("deliveries", func(t *TopicRun) string {
		return fmt.Sprintf("%d of %d in %.3fs: %.0f/s", t.Delivered, t.Expected, t.DeliverSeconds, t.DeliveriesPerSecond)
	}, fmt.Sprintf("%.2f×", ra.DeliveriesPerSecond))
	row("lost", func(t *TopicRun) string {
		s := fmt.Sprintf("%d, %d of %d messages reached every subscriber", t.Lost, t.Complete, t.Accepted)
		if t.DrainTimedOut {
			s += " (drain timed out)"
		}
		return s
	}, "")
	row("errors", func(t *TopicRun) string {
		s := errorsText(t.Errors)
		if t.Dropped > 0 {
			s += fmt.Sprintf("; %d device connections dropped by the server", t.Dropped)
		}
		return s
	}, "")
	row("memory/connection", func(t *TopicRun) string {
		return fmt.Sprintf("%.1f KiB (RSS %.0f → %.0f MiB)", t.Memory.PerConnectionKiB,
			float64(t.Memory.BeforeBytes)/(1<<20), float64(t.Memory.AfterBytes)/(1<<20))
	}, "")
	row("agent cpu", func(t *TopicRun) string { return fmt.Sprintf("%.2fs", t.AgentCPU) }, "")
	if r.Herald.Reconnects > 0 || r.Herald.BadData > 0 || (r.Baseline != nil && r.Baseline.BadData > 0) {
		row("other", func(t *TopicRun) string {
			return fmt.Sprintf("%d reconnects, %d bad receipts", t.Reconnects, t.BadData)
		}, "")
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench topic: write report: %w", err)
	}
	return nil
}
