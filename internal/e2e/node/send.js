// send.js drives the real firebase-admin Node SDK against a Herald server.
// It is run by TestNodeFirebaseAdmin (../node_test.go), which starts the
// server, creates the project, the service-account file and the devices,
// and checks everything this script prints.
//
// Input (environment):
//   HERALD_ADDR           host:port of the Herald server
//   HERALD_TLS_CA         if set, the server speaks https: the PEM file of the CA
//                         that signed its certificate (issued for "localhost")
//   HERALD_SA             path of the service-account JSON file Herald issued
//   HERALD_TOKEN          a registered token of the project
//   HERALD_DELETED_TOKEN  a token of the project whose device deleted it
//   HERALD_FOREIGN_TOKEN  a token of another project
//   HERALD_MODE           "send" (default): the send calls; "topics": the
//                         topic management calls (subscribeToTopic,
//                         unsubscribeFromTopic), which firebase-admin 14.5
//                         makes one token at a time on FCM's
//                         topicSubscriptions API
//
// Output: one JSON line per SDK call on stdout ({"op":..., ...}), then one
// {"op":"wire"} line listing every HTTP request the SDK made. Exit status 0
// unless the script itself failed (SDK errors are results, not failures).
//
// The SDK hard-codes https://fcm.googleapis.com and, for the OAuth2
// JWT-bearer exchange of cert(), https://oauth2.googleapis.com/token (it
// ignores token_uri). An https.Agent whose createConnection returns a
// connection to Herald (plain TCP, or TLS verified against HERALD_TLS_CA)
// sends every one of those requests to Herald, which routes on the path
// only. enableLegacyHttpTransport() keeps sendEach and sendEachForMulticast
// on HTTP/1.1, where the agent applies: their default HTTP/2 transport dials
// fcm.googleapis.com itself, and sends the pseudo-header ':scheme: https:',
// which Go's HTTP/2 server rejects.
'use strict';

const fs = require('fs');
const https = require('https');
const net = require('net');
const tls = require('tls');
const { initializeApp, cert, deleteApp } = require('firebase-admin/app');
const { getMessaging } = require('firebase-admin/messaging');

function env(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`environment variable ${name} is not set`);
  }
  return v;
}

const addr = env('HERALD_ADDR');
const saPath = env('HERALD_SA');
const good = env('HERALD_TOKEN');
const deleted = env('HERALD_DELETED_TOKEN');
const foreign = env('HERALD_FOREIGN_TOKEN');
const caFile = process.env.HERALD_TLS_CA || '';
const mode = process.env.HERALD_MODE || 'send';

const sep = addr.lastIndexOf(':');
const host = addr.slice(0, sep);
const port = Number(addr.slice(sep + 1));

// wire lists the request line and Host of every HTTP request the SDK wrote.
const wire = [];

// sniff records the requests written to a socket.
function sniff(socket) {
  const write = socket.write;
  socket.write = function (chunk, ...rest) {
    const text = Buffer.isBuffer(chunk) ? chunk.toString('latin1') : String(chunk);
    const m = /^([A-Z]+) (\S+) HTTP\/1\.1\r\n/.exec(text);
    if (m) {
      const h = /\r\nhost: *([^\r]*)\r\n/i.exec(text);
      const a = /\r\nauthorization: *(\S+)/i.exec(text);
      wire.push({ method: m[1], path: m[2], host: h ? h[1] : '', auth: a ? a[1] : '' });
    }
    return write.call(this, chunk, ...rest);
  };
}

// ToHerald hands the SDK a connection to Herald for every https:// request
// it makes: plain TCP, or with HERALD_TLS_CA a TLS connection that checks
// Herald's certificate against that CA (as "localhost", whatever host the
// SDK asked for) and asks for HTTP/1.1 by ALPN.
class ToHerald extends https.Agent {
  createConnection(options, callback) {
    let socket;
    let ready;
    if (caFile) {
      socket = tls.connect({
        host, port, servername: 'localhost', ca: fs.readFileSync(caFile), ALPNProtocols: ['http/1.1'],
      });
      ready = 'secureConnect';
    } else {
      socket = net.connect(port, host);
      ready = 'connect';
    }
    sniff(socket);
    socket.once(ready, () => callback && callback(null, socket));
    return socket;
  }
}

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function errorResult(err) {
  return { ok: false, code: err.code || String(err), message: err.message };
}

// call prints the outcome of one single-message SDK call.
async function call(op, fn) {
  try {
    print({ op, ok: true, name: await fn() });
  } catch (err) {
    print({ op, ...errorResult(err) });
  }
}

// batch prints the outcome of one sendEach/sendEachForMulticast call.
async function batch(op, fn) {
  try {
    const r = await fn();
    print({
      op,
      successCount: r.successCount,
      failureCount: r.failureCount,
      responses: r.responses.map((x) => (x.success ? { ok: true, name: x.messageId } : errorResult(x.error))),
    });
  } catch (err) {
    print({ op, thrown: errorResult(err) });
  }
}

// topics prints the outcome of one subscribeToTopic/unsubscribeFromTopic call.
async function topics(op, fn) {
  try {
    const r = await fn();
    print({
      op,
      successCount: r.successCount,
      failureCount: r.failureCount,
      errors: r.errors.map((e) => ({ index: e.index, code: e.error.code })),
    });
  } catch (err) {
    print({ op, thrown: errorResult(err) });
  }
}

// topicCalls subscribes and unsubscribes: new, existing (409) and missing
// subscriptions, tokens deleted, of another project and unknown.
async function topicCalls(messaging) {
  await topics('subscribe', () => messaging.subscribeToTopic(good, 'news'));
  await topics('subscribeMixed', () => messaging.subscribeToTopic([good, deleted, foreign, 'no-such-token'], 'news'));
  await topics('unsubscribe', () => messaging.unsubscribeFromTopic([good, deleted], 'news'));
  await topics('unsubscribeMissing', () => messaging.unsubscribeFromTopic(good, 'never-subscribed'));
  await topics('subscribePrefixed', () => messaging.subscribeToTopic([good], '/topics/50%off'));
}

async function main() {
  const agent = new ToHerald({ keepAlive: true });
  // cert(path, agent): the real service-account credential; its token
  // requests (to oauth2.googleapis.com) go through the agent too. It must be
  // the file's path: with a parsed object, cert(object, agent) builds the
  // google-auth-library client without the agent (firebase-admin 14.5.1
  // passes no options to GoogleAuth.fromJSON) and the exchange goes to
  // Google.
  const app = initializeApp({ credential: cert(saPath, agent), httpAgent: agent }, 'herald-e2e');
  const messaging = getMessaging(app);
  messaging.enableLegacyHttpTransport();

  if (mode === 'topics') {
    await topicCalls(messaging);
    await deleteApp(app);
    agent.destroy();
    print({ op: 'wire', requests: wire });
    return;
  }

  // A message as real apps send it: every platform block at once.
  const full = {
    token: good,
    data: { kind: 'full', k: 'v', unicode: 'héllo ✓' },
    notification: { title: 'Hello', body: 'World', imageUrl: 'https://example.com/i.png' },
    android: {
      ttl: 90 * 1000, // milliseconds in the Node SDK
      priority: 'high',
      collapseKey: 'greeting',
      restrictedPackageName: 'com.example.app',
      notification: { channelId: 'news', color: '#ff0000', clickAction: 'OPEN', tag: 't1' },
      fcmOptions: { analyticsLabel: 'android-label' },
    },
    apns: {
      headers: { 'apns-priority': '10', 'apns-expiration': '0' },
      payload: { aps: { sound: 'default', badge: 1, mutableContent: true }, custom: 'x' },
      fcmOptions: { analyticsLabel: 'apns-label', imageUrl: 'https://example.com/a.png' },
    },
    webpush: {
      headers: { TTL: '90', Urgency: 'high' },
      data: { web: '1' },
      notification: { title: 'Web hello', icon: 'https://example.com/icon.png', requireInteraction: true },
      fcmOptions: { link: 'https://example.com/open' },
    },
    fcmOptions: { analyticsLabel: 'node-e2e' },
  };
  await call('send', () => messaging.send(full));
  await call('dryRun', () => messaging.send({ token: good, data: { kind: 'dry' } }, true));
  await call('dryRunDeleted', () => messaging.send({ token: deleted, data: { kind: 'dry' } }, true));
  await call('sendDeleted', () => messaging.send({ token: deleted, data: { kind: 'x' } }));
  await call('sendForeign', () => messaging.send({ token: foreign, data: { kind: 'x' } }));
  await call('sendReservedKey', () => messaging.send({ token: good, data: { from: 'me' } }));
  await call('sendTooBig', () => messaging.send({ token: good, data: { big: 'x'.repeat(4097) } }));

  await batch('sendEach', () => messaging.sendEach([
    { token: good, data: { kind: 'each', i: '0' } },
    { token: deleted, data: { kind: 'each', i: '1' } },
    { token: foreign, data: { kind: 'each', i: '2' } },
    { token: good, data: { kind: 'each', i: '3', from: 'me' } },
    { token: good, data: { kind: 'each', i: '4', big: 'x'.repeat(4097) } },
    { token: good, notification: { title: 'each', body: '5' }, android: { priority: 'normal', ttl: 60 * 1000 } },
  ]));
  await batch('sendEachForMulticast', () => messaging.sendEachForMulticast({
    tokens: [good, deleted, foreign],
    data: { kind: 'multicast' },
    android: { collapseKey: 'mc', ttl: 120500 },
  }));

  await deleteApp(app);
  agent.destroy();
  print({ op: 'wire', requests: wire });
}

main().catch((err) => {
  process.stderr.write(`send.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
