package dispatch

import (
	"context"
	"fmt"

	"github.com/heraldpush/herald/internal/provider"
	"github.com/heraldpush/herald/internal/store"
)

// Topic and condition messages to registrations of the vendor platforms.
// The message is written once to the project's topic log, as for Herald
// devices; the relay keeps the set of vendor registrations of each project
// that have topic state (subscriptions), and a topic message wakes them
// all. A worker that finished a registration's queue then reads the log
// after the registration's cursor, sends every entry that matches its
// subscriptions (as they were at the entry: Since before it) to the
// vendor, one call per subscriber, and moves the cursor past it. A
// transient failure leaves the cursor before the entry (retried later, in
// order); a permanent one skips it. Delivered entries count in the topic
// message's status (AddDelivered).

// topicBatch is how many log entries a worker reads at a time.
const topicBatch = 64

// NotifyTopic tells the relay that a project's topic log has a new entry:
// its vendor subscribers are served.
func (r *Relay) NotifyTopic(project string) {
	if r == nil {
		return
	}
	r.topicMu.Lock()
	tokens := make(map[string]string, len(r.topicRegs[project]))
	for tok, platform := range r.topicRegs[project] {
		tokens[tok] = platform
	}
	r.topicMu.Unlock()
	for tok, platform := range tokens {
		r.Notify(platform, tok)
	}
}

// TopicsChanged re-reads whether a registration of a vendor platform has
// topic subscriptions, after they changed. Herald registrations and
// unknown tokens are ignored.
func (r *Relay) TopicsChanged(ctx context.Context, token string) error {
	if r == nil {
		return nil
	}
	reg, err := r.store.Registration(ctx, token)
	if err != nil {
		return fmt.Errorf("looking up registration: %w", err)
	}
	if reg.PlatformOf() == store.PlatformHerald || !r.Serves(reg.PlatformOf()) {
		return nil
	}
	return r.loadTopics(ctx, reg)
}

// loadTopics puts a live vendor registration with subscriptions into the
// set (and takes one without out of it).
func (r *Relay) loadTopics(ctx context.Context, reg store.Registration) error {
	if reg.Deleted() {
		r.forgetTopics(reg)
		return nil
	}
	subs, err := r.store.Subscriptions(ctx, reg.Token)
	if err != nil {
		return fmt.Errorf("reading subscriptions: %w", err)
	}
	if len(subs) == 0 {
		r.forgetTopics(reg)
		return nil
	}
	r.topicMu.Lock()
	if r.topicRegs[reg.ProjectID] == nil {
		r.topicRegs[reg.ProjectID] = map[string]string{}
	}
	r.topicRegs[reg.ProjectID][reg.Token] = reg.PlatformOf()
	r.topicMu.Unlock()
	return nil
}

func (r *Relay) forgetTopics(reg store.Registration) {
	r.topicMu.Lock()
	defer r.topicMu.Unlock()
	if m := r.topicRegs[reg.ProjectID]; m != nil {
		delete(m, reg.Token)
		if len(m) == 0 {
			delete(r.topicRegs, reg.ProjectID)
		}
	}
}

// deliverTopics sends the registration's topic log entries after its
// cursor that match its subscriptions.
func (r *Relay) deliverTopics(ctx context.Context, platform string, p provider.Provider, creds store.Credentials, reg store.Registration) retryAfter {
	subs, err := r.store.Subscriptions(ctx, reg.Token)
	if err != nil || len(subs) == 0 {
		if err != nil && ctx.Err() == nil {
			r.logger.Error("relay: reading subscriptions", "token", shortToken(reg.Token), "err", err)
			return -1
		}
		return 0
	}
	since := newTopicSubs(subs)
	cursor, err := r.store.TopicCursor(ctx, reg.Token)
	if err != nil {
		if ctx.Err() == nil {
			r.logger.Error("relay: reading topic cursor", "token", shortToken(reg.Token), "err", err)
		}
		return -1
	}
	for {
		entries, head, err := r.store.TopicLog(ctx, reg.ProjectID, cursor, r.now(), topicBatch)
		if err != nil {
			if ctx.Err() == nil {
				r.logger.Error("relay: reading the topic log", "project", reg.ProjectID, "err", err)
			}
			return -1
		}
		if len(entries) == 0 {
			if head > cursor { // only expired entries were left
				r.ackTopic(ctx, reg.Token, head)
			}
			return 0
		}
		for i := range entries {
			e, err := newTopicEntry(&entries[i])
			if err != nil {
				r.logger.Error("relay: a topic log entry with a bad condition", "project", reg.ProjectID, "seq", entries[i].Seq, "err", err)
			} else if e.matches(since) {
				m := e.TopicMessage
				v := r.send(ctx, platform, p, creds, reg, provider.Message{
					ID: m.ID, ProjectID: m.ProjectID, AcceptedAt: m.AcceptedAt, ExpiresAt: m.ExpiresAt, TTL: m.TTL,
					CollapseKey: m.CollapseKey, High: m.High, Payload: m.Payload, Platform: m.Platform,
				})
				if v.stop {
					if v.unregistered {
						return r.unregister(ctx, platform, reg)
					}
					return v.retry
				}
				if v.delivered {
					if err := r.store.AddDelivered(context.WithoutCancel(ctx), map[string]int64{m.ID: 1}, r.now()); err != nil {
						r.logger.Warn("relay: counting a topic delivery", "err", err)
					}
				}
			}
			cursor = entries[i].Seq
			r.ackTopic(ctx, reg.Token, cursor)
		}
	}
}

func (r *Relay) ackTopic(ctx context.Context, token string, upTo uint64) {
	ctx = context.WithoutCancel(ctx) // as ack
	if err := r.store.AckTopic(ctx, token, upTo); err != nil && ctx.Err() == nil {
		r.logger.Warn("relay: moving a topic cursor", "token", shortToken(token), "err", err)
	}
}
