package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/client"
)

// A device with one app: register, hand the token to the app server, and
// receive messages until interrupted.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	c, err := client.New(client.Config{
		Server:   "http://127.0.0.1:8080",
		StateDir: "/var/lib/myapp/herald", // same device, same tokens, no duplicates after a restart
		OnMessage: func(ctx context.Context, m herald.Message) {
			fmt.Printf("message %s: %v\n", m.ID, m.Data)
		},
		OnNewToken: func(appKey, token string) {
			// The server replaced the token: tell the app server.
			fmt.Println("new token:", token)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	token, err := c.Register(ctx, "APP_KEY")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("token:", token) // send it to the app server
	if err := c.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

// In the background, messages with a notification go to the Notifier (here
// the Linux desktop's notification server) and data-only messages to
// OnBackgroundMessage.
func ExampleNotifySend() {
	ctx := context.Background()
	c, err := client.New(client.Config{
		Server:   "http://127.0.0.1:8080",
		Notifier: client.NotifySend{AppName: "Chat"},
		OnBackgroundMessage: func(ctx context.Context, m herald.Message) {
			fmt.Println("sync requested:", m.Data["what"])
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.SetAppState(ctx, herald.Background); err != nil {
		log.Fatal(err)
	}
}

// Errors of the registration API carry the HTTP status and the server's
// message.
func ExampleAPIError() {
	ctx := context.Background()
	c, err := client.New(client.Config{Server: "http://127.0.0.1:8080"})
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.Register(ctx, "not-a-key")
	var apiErr *client.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden {
		fmt.Println("unknown app key:", apiErr.Message)
	}
}

// A token can be replaced (for example when the user signs out) or deleted
// (no more messages for this app on this device).
func ExampleClient_RefreshToken() {
	ctx := context.Background()
	c, err := client.New(client.Config{Server: "http://127.0.0.1:8080"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Register(ctx, "APP_KEY"); err != nil {
		log.Fatal(err)
	}
	token, err := c.RefreshToken(ctx, "APP_KEY")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("new token:", token)
	if err := c.DeleteToken(ctx, "APP_KEY"); err != nil {
		log.Fatal(err)
	}
}
