package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/client"
	"github.com/heraldpush/herald/internal/config"
	"github.com/heraldpush/herald/internal/server"
)

// The whole flow, runnable: a device registers and connects; an app server
// sends to its token with one HTTP request (FCM HTTP v1); the app's callback
// gets the message. This example starts its own server in a temporary
// directory; in real use the server runs with `herald serve`.
func Example_receive() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, adminToken, appKey := exampleServer(ctx)

	got := make(chan herald.Message, 1)
	connected := make(chan struct{}, 1)
	c, err := client.New(client.Config{
		Server:      base,
		OnMessage:   func(ctx context.Context, m herald.Message) { got <- m },
		OnConnected: func() { connected <- struct{}{} },
	})
	if err != nil {
		log.Fatal(err)
	}
	token, err := c.Register(ctx, appKey)
	if err != nil {
		log.Fatal(err)
	}
	go c.Run(ctx)
	<-connected

	// The app server's side: one stateless request. (Real app servers use a
	// service-account key and the Firebase Admin SDK; the admin token
	// keeps the example short.)
	body := `{"message":{"token":"` + token + `","data":{"order":"42"},"notification":{"title":"Shipped"}}}`
	req, _ := http.NewRequest("POST", base+"/v1/projects/demo/messages:send", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("send:", resp.Status)

	m := <-got
	fmt.Println("title:", m.Notification.Title, "order:", m.Data["order"], "seq:", m.Seq)
	// Output:
	// send: 200 OK
	// title: Shipped order: 42 seq: 1
}

// exampleServer runs a server on a free loopback port until ctx ends and
// creates the project "demo" with one app. It returns the base URL, the
// admin token and the app key.
func exampleServer(ctx context.Context) (base, adminToken, appKey string) {
	dir, err := os.MkdirTemp("", "herald-example")
	if err != nil {
		log.Fatal(err)
	}
	context.AfterFunc(ctx, func() { os.RemoveAll(dir) })
	cfg := config.Default()
	cfg.Listen, cfg.DataDir = "127.0.0.1:0", filepath.Join(dir, "data")
	addr := make(chan string, 1)
	go func() {
		quiet := slog.New(slog.DiscardHandler)
		if err := server.Run(ctx, cfg, quiet, func(a string) { addr <- a }); err != nil {
			log.Fatal(err)
		}
	}()
	base = "http://" + <-addr
	tok, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin-token"))
	if err != nil {
		log.Fatal(err)
	}
	adminToken = strings.TrimSpace(string(tok))
	admin := func(path, body string, out any) {
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			log.Fatal(err)
		}
	}
	admin("/admin/v1/projects", `{"id":"demo"}`, &struct{}{})
	var app struct {
		Key string `json:"key"`
	}
	admin("/admin/v1/projects/demo/apps", `{"name":"example"}`, &app)
	return base, adminToken, app.Key
}
