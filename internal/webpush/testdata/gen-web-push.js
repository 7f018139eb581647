// gen-web-push.js writes web-push-3.6.7.json: bodies encrypted and VAPID
// headers signed by the real npm package web-push 3.6.7 (and its http_ece),
// which the Go tests decrypt and verify. It is run by hand, not by the tests:
//
//	(mkdir /tmp/wpgen && cd /tmp/wpgen && npm init -y && npm install web-push@3.6.7)
//	NODE_PATH=/tmp/wpgen/node_modules node gen-web-push.js > web-push-3.6.7.json
//
// Every run draws new keys and salts, so the output differs each time; the
// tests only need it to be self-consistent.
'use strict';

const crypto = require('crypto');
const webpush = require('web-push');

const version = require('web-push/package.json').version;
if (version !== '3.6.7') {
  throw new Error('expected web-push 3.6.7, have ' + version);
}

// The receiver: what a browser keeps (private key) and what it hands out
// (p256dh, auth).
const ua = crypto.createECDH('prime256v1');
ua.generateKeys();
const p256dh = ua.getPublicKey().toString('base64url');
const auth = crypto.randomBytes(16).toString('base64url');

// Payload sizes: empty, one byte, the RFC's example length, the Web Push
// maximum in one 4096-byte body, and 4080 bytes, which web-push splits into
// two records (4096 + 18 bytes of ciphertext).
const bodies = [0, 1, 41, 3993, 4080].map((n) => {
  const plaintext = Buffer.alloc(n);
  for (let i = 0; i < n; i++) plaintext[i] = (i * 7 + 3) & 0xff;
  const out = webpush.encrypt(p256dh, auth, plaintext, 'aes128gcm');
  return {
    plaintext: plaintext.toString('base64url'),
    body: out.cipherText.toString('base64url'),
  };
});

// VAPID: a key pair in web-push's own format, and the headers it sends for
// both content encodings (aes128gcm: "vapid t=…, k=…"; aesgcm: the legacy
// "WebPush <jwt>" with the key in Crypto-Key).
const vapid = webpush.generateVAPIDKeys();
const now = Math.floor(Date.now() / 1000);
const exp = now + 12 * 60 * 60;
const audience = 'https://127.0.0.1:35749';
const subject = 'mailto:ops@example.com';
const modern = webpush.getVapidHeaders(audience, subject, vapid.publicKey, vapid.privateKey, 'aes128gcm', exp);
const legacy = webpush.getVapidHeaders(audience, subject, vapid.publicKey, vapid.privateKey, 'aesgcm', exp);

process.stdout.write(JSON.stringify({
  generator: 'web-push ' + version + ' (node ' + process.version + ')',
  receiver: {
    private: ua.getPrivateKey().toString('base64url'),
    p256dh: p256dh,
    auth: auth,
  },
  bodies: bodies,
  vapid: {
    public: vapid.publicKey,
    private: vapid.privateKey,
    audience: audience,
    subject: subject,
    now: now,
    exp: exp,
    authorization: modern.Authorization,
    legacyAuthorization: legacy.Authorization,
    legacyCryptoKey: legacy['Crypto-Key'],
  },
}, null, 2) + '\n');
