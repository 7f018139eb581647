package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a bench run. Durations are in seconds, latencies
// in milliseconds.
type Report struct {
	Server  string `json:"server"`
	Project string `json:"project"`
	// Devices were connected from Agents processes.
	Devices int `json:"devices"`
	Agents  int `json:"agents"`
	// ConnectSeconds is the time from starting the agents to every device
	// connected (registration included).
	ConnectSeconds float64 `json:"connect_seconds"`
	// Messages were asked for, from Senders concurrent senders at
	// TargetRate messages/s (0: as fast as possible).
	Messages   int     `json:"messages"`
	Senders    int     `json:"senders"`
	TargetRate float64 `json:"target_rate"`
	// Sent counts the requests made, Accepted those answered 200 (stored
	// durably), Errors the others by kind.
	Sent     int64            `json:"sent"`
	Accepted int64            `json:"accepted"`
	Errors   map[string]int64 `json:"errors"`
	// SendSeconds runs from the first send to the last answer.
	SendSeconds       float64 `json:"send_seconds"`
	AcceptedPerSecond float64 `json:"accepted_per_second"`
	// Delivered counts the messages the devices received; DeliverSeconds
	// runs from the first send to the last receipt.
	Delivered          int64   `json:"delivered"`
	DeliverSeconds     float64 `json:"deliver_seconds"`
	DeliveredPerSecond float64 `json:"delivered_per_second"`
	// Lost is Accepted − Delivered once the drain ended; DrainTimedOut says
	// the drain timeout ended it.
	Lost          int64 `json:"lost"`
	DrainTimedOut bool  `json:"drain_timed_out"`
	// BadData counts received messages without the bench's timestamp;
	// Reconnects counts device sessions beyond each device's first.
	BadData    int64 `json:"bad_data"`
	Reconnects int64 `json:"reconnects"`
	// RunSeconds is the whole run: setup, connections, sends, drain.
	RunSeconds float64 `json:"run_seconds"`
	// CPU is the processor time the bench itself used: it shares the
	// machine with the server.
	CPU CPU `json:"cpu_seconds"`
	// Latency is send → device: the receive time minus the time the sender
	// wrote into the message, over the delivered messages.
	Latency Latency `json:"latency_ms"`
}

// CPU is processor time (user + system) in seconds.
type CPU struct {
	// Bench is the bench process's own (setup, senders, progress) during
	// the run; 0 where not measured. In a test it includes everything else
	// the test process does.
	Bench float64 `json:"bench"`
	// Agents is the agent processes' total.
	Agents float64 `json:"agents"`
}

// Latency summarises the send → device latencies in milliseconds.
type Latency struct {
	Samples int64   `json:"samples"`
	Min     float64 `json:"min"`
	P50     float64 `json:"p50"`
	P90     float64 `json:"p90"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
}

// latencyOf summarises a histogram.
func latencyOf(h *Histogram) Latency {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	if h.Count == 0 {
		return Latency{}
	}
	return Latency{
		Samples: h.Count,
		Min:     ms(time.Duration(h.MinNS)),
		P50:     ms(h.quantile(0.50)),
		P90:     ms(h.quantile(0.90)),
		P99:     ms(h.quantile(0.99)),
		Max:     ms(time.Duration(h.MaxNS)),
	}
}

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("bench: write report: %w", err)
	}
	return nil
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	plural := func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	rate := "as fast as possible"
	if r.TargetRate > 0 {
		rate = fmt.Sprintf("target %.0f/s", r.TargetRate)
	}
	fmt.Fprintf(tw, "server\t%s (project %s)\n", r.Server, r.Project)
	fmt.Fprintf(tw, "devices\t%d in %s, connected in %.2fs\n", r.Devices, plural(r.Agents, "agent process", "agent processes"), r.ConnectSeconds)
	fmt.Fprintf(tw, "messages\t%d from %s, %s\n", r.Messages, plural(r.Senders, "sender", "senders"), rate)
	fmt.Fprintf(tw, "accepted\t%d (HTTP 200) in %.2fs: %.0f/s\n", r.Accepted, r.SendSeconds, r.AcceptedPerSecond)
	fmt.Fprintf(tw, "errors\t%s\n", errorsText(r.Errors))
	fmt.Fprintf(tw, "delivered\t%d in %.2fs (first send to last receipt): %.0f/s\n", r.Delivered, r.DeliverSeconds, r.DeliveredPerSecond)
	lost := fmt.Sprintf("%d (accepted − delivered)", r.Lost)
	if r.DrainTimedOut {
		lost += ", still missing at the end of the drain timeout"
	}
	fmt.Fprintf(tw, "lost\t%s\n", lost)
	l := r.Latency
	fmt.Fprintf(tw, "latency\tp50 %s  p90 %s  p99 %s  max %s (send → device, %d samples)\n",
		msText(l.P50), msText(l.P90), msText(l.P99), msText(l.Max), l.Samples)
	fmt.Fprintf(tw, "bench cpu\t%.2fs main process + %.2fs agents in a %.2fs run (setup and connections included)\n",
		r.CPU.Bench, r.CPU.Agents, r.RunSeconds)
	if r.Reconnects > 0 || r.BadData > 0 {
		fmt.Fprintf(tw, "other\t%d reconnects, %d messages without a timestamp\n", r.Reconnects, r.BadData)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: write report: %w", err)
	}
	return nil
}

// msText formats milliseconds with three significant digits or so.
func msText(ms float64) string {
	switch {
	case ms < 1:
		return fmt.Sprintf("%.3fms", ms)
	case ms < 100:
		return fmt.Sprintf("%.2fms", ms)
	}
	return fmt.Sprintf("%.0fms", ms)
}

// errorsText lists the error kinds, most frequent first.
func errorsText(errs map[string]int64) string {
	if len(errs) == 0 {
		return "none"
	}
	kinds := make([]string, 0, len(errs))
	for k := range errs {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(a, b string) int {
		if errs[a] != errs[b] {
			return int(errs[b] - errs[a])
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s: %d", k, errs[k])
	}
	return strings.Join(parts, ", ")
}

// answerErrorKind names an error answer of the send API: the HTTP status
// and FCM's error code (or the google.rpc status).
func answerErrorKind(code int, body []byte) string {
	var env struct {
		Error struct {
			Status  string `json:"status"`
			Details []struct {
				ErrorCode string `json:"errorCode"`
			} `json:"details"`
		} `json:"error"`
	}
	name := ""
	if json.Unmarshal(body, &env) == nil {
		name = env.Error.Status
		for _, d := range env.Error.Details {
			if d.ErrorCode != "" {
				name = d.ErrorCode
			}
		}
	}
	if name == "" {
		return fmt.Sprintf("HTTP %d", code)
	}
	return fmt.Sprintf("HTTP %d %s", code, name)
}

// transportErrorKind names a failed request without the details (ports,
// addresses) that would make every error a kind of its own.
func transportErrorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local address or port free"
	case errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the server"
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "timeout"
	}
	return "transport error"
}
