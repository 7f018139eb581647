// Package webpush is the cryptography of Web Push, in both directions: the
// message encryption of RFC 8291 (the "aes128gcm" content coding of RFC 8188)
// and the VAPID application-server identification of RFC 8292.
//
// # Who holds which key
//
// Three parties take part, and each holds different secrets:
//
//   - The receiver (a browser, or Herald's Go SDK on a device) creates a
//     subscription: a P-256 key pair and a 16-byte authentication secret
//     ([GenerateKeys]). It keeps the private key and publishes the public key
//     and the secret as the subscription's "p256dh" and "auth" ([Keys]),
//     together with the endpoint URL that its push service gave it.
//   - The application server knows the endpoint and [Keys]. For every
//     message it draws a fresh P-256 key pair and a 16-byte salt, agrees on a
//     secret with the receiver's public key (ECDH), mixes in the auth secret
//     and the salt (HKDF-SHA-256), and seals the plaintext with AES-128-GCM
//     ([Encrypt]). The body carries the salt and its fresh public key in the
//     clear, so the receiver can repeat the derivation ([Decrypt]).
//     Separately, it holds a long-lived VAPID signing key ([GenerateVAPIDKey])
//     and signs a short-lived token naming the push service's origin
//     ([SignVAPID]), so the push service can tell who is sending.
//   - The push service (FCM, Mozilla's autopush, or Herald itself) stores and
//     forwards the body. It sees the salt, the sender's ephemeral public key
//     and the ciphertext ([ParseHeader]) but never the private keys or the
//     auth secret, so it cannot read the message; the length of the body is
//     all it learns about the plaintext (padding, [EncryptOptions].Padding,
//     can hide even that). It checks the VAPID token ([VerifyVAPID]) and, for
//     a subscription restricted to one application server key, compares the
//     key the token was verified with against the one given at subscription
//     time.
//
// # The body
//
//	salt (16) | rs (uint32) | idlen (1) = 65 | keyid (65) = sender's public key | record
//
// The 86-byte header is followed by one AES-128-GCM record holding
// plaintext || 0x02 || zero or more 0x00, plus a 16-byte tag. A push service
// must accept bodies of up to [MaxPayload] bytes, which leaves room for
// [MaxPlaintext] bytes of plaintext.
//
// Nothing in this package logs, and no error message contains a key, a
// secret or plaintext.
package webpush
