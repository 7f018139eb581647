package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/heraldpush/herald"
)

// Subscribe subscribes the registration of appKey to topic, as FCM's
// subscribeToTopic on a device. Topic names match [a-zA-Z0-9-_.~%]{1,900};
// a "/topics/" prefix is accepted and dropped. Subscribing again to a topic
// is not an error. A connected device receives the topic's messages sent
// from now on, without reconnecting; they arrive with Message.Topic set
// (or Message.Condition, for a condition its topics satisfy).
//
// The server refuses a registration's 2001st topic (an *APIError 400
// RESOURCE_EXHAUSTED) and an invalid name (400 INVALID_ARGUMENT).
func (c *Client) Subscribe(ctx context.Context, appKey, topic string) error {
	if err := c.topicCall(ctx, http.MethodPost, appKey, topic); err != nil {
		return fmt.Errorf("client: subscribe to %q: %w", topic, err)
	}
	return nil
}

// Unsubscribe unsubscribes the registration of appKey from topic.
// Unsubscribing from a topic the registration is not subscribed to is not
// an error. Messages of the topic already on their way may still arrive.
func (c *Client) Unsubscribe(ctx context.Context, appKey, topic string) error {
	if err := c.topicCall(ctx, http.MethodDelete, appKey, topic); err != nil {
		return fmt.Errorf("client: unsubscribe from %q: %w", topic, err)
	}
	return nil
}

// topicCall is POST or DELETE /device/v1/registrations/{token}/topics/{topic}.
func (c *Client) topicCall(ctx context.Context, method, appKey, topic string) error {
	topic = strings.TrimPrefix(topic, "/topics/")
	if topic == "" {
		return fmt.Errorf("empty topic name")
	}
	tok, dev, err := c.credentials(appKey)
	if err != nil {
		return err
	}
	path := herald.PathRegistration + "/" + url.PathEscape(tok) + herald.PathTopics + "/" + url.PathEscape(topic)
	req, err := c.newRequest(ctx, method, path, dev)
	if err != nil {
		return err
	}
	return c.do(req, nil)
}
