// Package herald holds the types shared by the Herald server, the Go client SDK
// and the CLI: the device protocol (frames exchanged over the device WebSocket),
// the message a device receives, and the registration API's JSON shapes.
//
// It depends on the standard library only. The protocol is documented for
// implementers of other SDKs in docs/protocol.md.
package herald
