// Package client is Herald's Go device SDK: it registers apps with a Herald
// server, keeps the device's one connection open, and hands each message to
// the app exactly once.
//
// A device is one Client. Each app on it registers with its public app key
// and gets a token, which the app sends to its own server; that server sends
// messages to the token through Herald's FCM-compatible API. All the apps of
// a device share one WebSocket connection, run by Client.Run:
//
//	c, err := client.New(client.Config{
//		Server:   "https://push.example.com",
//		StateDir: dir, // keeps the device, its tokens and the dedupe state
//		OnMessage: func(ctx context.Context, m herald.Message) {
//			fmt.Println(m.Data["text"])
//		},
//	})
//	token, err := c.Register(ctx, appKey) // send token to your app server
//	err = c.Run(ctx)                      // until ctx ends
//
// Delivery is at least once on the wire and exactly once to the app: every
// message has a per-token sequence number, the SDK remembers the highest one
// handled (in StateDir, across restarts) and drops what it has already seen.
// Messages reach the callbacks in the order the server accepted them.
// Messages to topics (Subscribe) form a second stream per token, numbered by
// their position in the project's topic log and deduplicated the same way;
// they carry Message.Topic or Message.Condition.
//
// A registration can also receive Web Push messages (RFC 8030) from any
// Web Push library: WebPushSubscribe returns a subscription (endpoint
// and keys, the shape of a browser's PushSubscription.toJSON()) for the
// app's server. Messages posted to it are end-to-end encrypted; the SDK
// decrypts them (RFC 8291) with keys it keeps in StateDir, and the
// callback receives the plaintext in Message.Raw (Message.WebPush is set,
// Data and Notification are empty; Raw is empty, not nil, for a push
// without payload). A message that does not decrypt is dropped with a
// logged error and never reaches the app. SavedWebPushSubscription finds
// a subscription again after a restart, so that the app server's copy
// stays valid.
//
// The wire protocol is documented in docs/protocol.md, for implementers of
// SDKs in other languages.
package client
