package dispatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/store"
)

// Topic management: subscriptions made by the app server (for tokens of
// its project) and by devices (for their own tokens). Each change is
// durable in the store before it returns, and then reaches the live topic
// index (TopicsChanged), so that a connected device gets the messages of a
// new topic at once and no more of a topic it left.

// topicWorkers bounds the store calls of one batch running at once; the
// store's group commit turns them into few fsyncs.
const topicWorkers = 32

// TopicResult is the outcome of one token of a batch subscribe or
// unsubscribe.
type TopicResult struct {
	// Err is nil, ErrUnregistered (unknown, deleted or stale token),
	// ErrSenderIDMismatch (a token of another project), an error wrapping
	// store.ErrTooManyTopics, or another failure.
	Err error
	// Changed reports that the subscription was made (Subscribe) or
	// removed (Unsubscribe); false when it already was so.
	Changed bool
	// Token is the registration the change applied to: the token given,
	// or within the refresh grace period the token that replaced it.
	Token string
	// At is when the change was made (a new subscription's CreatedAt).
	At time.Time
}

// Subscribe subscribes registrations of project to a topic (already
// validated), on behalf of the app server; project "" accepts tokens of
// any project (the admin credential). Each token gets its own result, in
// order. A token replaced by a refresh within the grace period stands for
// its replacement, as it does for sends.
func (h *Hub) Subscribe(ctx context.Context, project, topic string, tokens []string) []TopicResult {
	return h.eachToken(ctx, project, tokens, func(token string, at time.Time) (bool, error) {
		created, err := h.store.Subscribe(ctx, token, []string{topic}, at)
		if err != nil {
			return false, err
		}
		return created[0], nil
	})
}

// Unsubscribe removes subscriptions of registrations of project to a
// topic, as Subscribe adds them.
func (h *Hub) Unsubscribe(ctx context.Context, project, topic string, tokens []string) []TopicResult {
	return h.eachToken(ctx, project, tokens, func(token string, _ time.Time) (bool, error) {
		existed, err := h.store.Unsubscribe(ctx, token, []string{topic})
		if err != nil {
			return false, err
		}
		return existed[0], nil
	})
}

// eachToken resolves each token, checks its project, applies change to
// the live registration and updates the live index, a few tokens at once.
func (h *Hub) eachToken(ctx context.Context, project string, tokens []string, change func(token string, at time.Time) (bool, error)) []TopicResult {
	results := make([]TopicResult, len(tokens))
	one := func(token string) TopicResult {
		reg, err := h.Lookup(ctx, token)
		if err != nil {
			return TopicResult{Err: err}
		}
		if project != "" && reg.ProjectID != project {
			return TopicResult{Err: ErrSenderIDMismatch}
		}
		at := h.now()
		changed, err := change(reg.Token, at)
		if errors.Is(err, store.ErrNotFound) {
			return TopicResult{Err: ErrUnregistered} // deleted meanwhile
		} else if err != nil {
			return TopicResult{Err: fmt.Errorf("changing subscriptions: %w", err)}
		}
		if changed {
			h.topicsChanged(ctx, reg.Token)
		}
		return TopicResult{Changed: changed, Token: reg.Token, At: at}
	}
	if len(tokens) == 1 {
		results[0] = one(tokens[0])
		return results
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(topicWorkers, len(tokens)) {
		wg.Go(func() {
			for i := range next {
				results[i] = one(tokens[i])
			}
		})
	}
	for i := range tokens {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// DeviceSubscribe subscribes a token of the device to a topic (already
// validated). Subscribing again is not an error.
func (h *Hub) DeviceSubscribe(ctx context.Context, cred herald.DeviceCredential, token, topic string) error {
	if _, err := h.ownRegistration(ctx, cred, token); err != nil {
		return err
	}
	created, err := h.store.Subscribe(ctx, token, []string{topic}, h.now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrUnregistered
	} else if err != nil {
		return fmt.Errorf("subscribing: %w", err)
	}
	if created[0] {
		h.topicsChanged(ctx, token)
	}
	return nil
}

// DeviceUnsubscribe unsubscribes a token of the device from a topic.
// Unsubscribing from a topic not subscribed is not an error.
func (h *Hub) DeviceUnsubscribe(ctx context.Context, cred herald.DeviceCredential, token, topic string) error {
	if _, err := h.ownRegistration(ctx, cred, token); err != nil {
		return err
	}
	existed, err := h.store.Unsubscribe(ctx, token, []string{topic})
	if errors.Is(err, store.ErrNotFound) {
		return ErrUnregistered
	} else if err != nil {
		return fmt.Errorf("unsubscribing: %w", err)
	}
	if existed[0] {
		h.topicsChanged(ctx, token)
	}
	return nil
}

// Subscriptions lists a registration's subscriptions, by topic name.
func (h *Hub) Subscriptions(ctx context.Context, token string) ([]store.Subscription, error) {
	subs, err := h.store.Subscriptions(ctx, token)
	if err != nil {
		return nil, fmt.Errorf("listing subscriptions: %w", err)
	}
	return subs, nil
}

// topicsChanged brings a durable subscription change to the live index.
// On failure the change still holds: the device gets the topic's messages
// from the log when it next connects.
func (h *Hub) topicsChanged(ctx context.Context, token string) {
	if err := h.TopicsChanged(context.WithoutCancel(ctx), token); err != nil {
		h.logger.Error("updating the live topic index", "token", shortToken(token), "err", err)
	}
	if h.cfg.Relay != nil && h.sessionFor(token) == nil {
		if err := h.cfg.Relay.TopicsChanged(context.WithoutCancel(ctx), token); err != nil {
			h.logger.Error("updating the relay's topic subscribers", "token", shortToken(token), "err", err)
		}
	}
}
