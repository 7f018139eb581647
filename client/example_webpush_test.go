package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/client"
)

// A device that any Web Push library can send to: the subscription's JSON
// is what a browser's PushSubscription.toJSON() gives, and the app gets
// the decrypted payload in Message.Raw.
func ExampleClient_WebPushSubscribe() {
	ctx := context.Background()
	c, err := client.New(client.Config{
		Server:   "https://push.example.com",
		StateDir: "/var/lib/myapp/herald", // keeps the subscription's private key
		OnMessage: func(_ context.Context, m herald.Message) {
			if m.WebPush != nil {
				fmt.Printf("web push: %s\n", m.Raw)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Register(ctx, "APP_KEY"); err != nil {
		log.Fatal(err)
	}
	// "" accepts any sender; pass the application server's VAPID public
	// key to accept only pushes it signed.
	sub, err := c.WebPushSubscribe(ctx, "APP_KEY", "")
	if err != nil {
		log.Fatal(err)
	}
	b, _ := json.Marshal(sub) // {"endpoint":"https://push.example.com/push/…","keys":{"p256dh":…,"auth":…}}
	fmt.Printf("give this to the app server: %s\n", b)
	log.Fatal(c.Run(ctx))
}
