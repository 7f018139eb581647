package webpush_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/webpush"
)

// The whole flow: the receiver subscribes, the application server
// encrypts and signs, the push service checks the signature and forwards
// bytes it cannot read, the receiver decrypts.
func Example() {
	// Receiver (browser or Herald's SDK): keep priv, publish keys.
	priv, keys, err := webpush.GenerateKeys()
	if err != nil {
		panic(err)
	}

	// Application server: encrypt to keys and identify itself with VAPID.
	vapidKey, err := webpush.GenerateVAPIDKey()
	if err != nil {
		panic(err)
	}
	endpoint := "https://push.example.net/push/JzLQ3raZJfFBR0aqvOMsLrt54w4rJUsV"
	now := time.Now()
	body, err := webpush.Encrypt([]byte("Your order has shipped."), keys, nil)
	if err != nil {
		panic(err)
	}
	authorization, err := webpush.SignVAPID(vapidKey, endpoint, "mailto:ops@example.com", now.Add(12*time.Hour))
	if err != nil {
		panic(err)
	}

	// Push service: check who sends, learn nothing of the content.
	if _, err := webpush.VerifyVAPID(authorization, "", endpoint, now); err != nil {
		panic(err)
	}
	h, err := webpush.ParseHeader(body)
	if err != nil {
		panic(err)
	}
	fmt.Println("push service sees", len(body), "bytes, rs", h.RecordSize, "and no plaintext:", !bytes.Contains(body, []byte("shipped")))

	// Receiver.
	msg, err := webpush.Decrypt(body, priv, keys.Auth)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(msg))
	// Output:
	// push service sees 126 bytes, rs 4096 and no plaintext: true
	// Your order has shipped.
}
