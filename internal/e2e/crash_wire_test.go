package e2e

import (
	"fmt"
	"slices"
	"strings"
)

// wireEvent is a message seen on a device's connection, or a server
// restart (id "").
type wireEvent struct {
	id          string
	seq         uint64
	incarnation int
}

// wireLog records, device by device, what the crash tests' connections
// carried, and where each new server process started. It is not safe for
// concurrent use: the ledgers call it with their lock held.
type wireLog struct {
	incarnation int                 // server process: 0, then +1 per restart
	events      map[int][]wireEvent // device → what its connections carried
}

func newWireLog() wireLog { return wireLog{events: make(map[int][]wireEvent)} }

// restarted marks that a new server process starts, for devices 0 … n-1.
func (w *wireLog) restarted(n int) {
	w.incarnation++
	for dev := range n {
		w.events[dev] = append(w.events[dev], wireEvent{incarnation: w.incarnation})
	}
}

// add records a message written by the server to device dev.
func (w *wireLog) add(dev int, id string, seq uint64) {
	w.events[dev] = append(w.events[dev], wireEvent{id: id, seq: seq, incarnation: w.incarnation})
}

// duplicates counts the messages written to a device more than once
// (at-least-once redeliveries, which the SDK must drop).
func (w *wireLog) duplicates() int {
	n := 0
	for _, evs := range w.events {
		seen := make(map[string]bool)
		for _, e := range evs {
			if e.id != "" && seen[e.id] {
				n++
			}
			seen[e.id] = true
		}
	}
	return n
}

// carried reports whether device dev's connections carried message id.
func (w *wireLog) carried(dev int, id string) bool {
	return slices.ContainsFunc(w.events[dev], func(e wireEvent) bool { return e.id == id })
}

// around describes what device dev received around the start of server
// process inc (from its first message if it has no such start): the last
// messages before it and the first after, each told by describe.
func (w *wireLog) around(dev, inc int, describe func(wireEvent) string) string {
	evs := w.events[dev]
	at := max(0, slices.IndexFunc(evs, func(e wireEvent) bool { return e.id == "" && e.incarnation == inc }))
	var b strings.Builder
	for _, e := range evs[max(0, at-8):min(len(evs), at+12)] {
		if e.id == "" {
			fmt.Fprintf(&b, "\n\t---- server process %d starts", e.incarnation)
			continue
		}
		b.WriteString("\n\t" + describe(e))
	}
	return b.String()
}
