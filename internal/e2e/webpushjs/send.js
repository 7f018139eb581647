// send.js sends Web Push messages with the real npm web-push library, as
// any application server would, and prints one JSON line per message. It
// is driven by ../webpush_test.go, which passes one JSON argument:
//
//	{"ca": "<path of the test CA>", "sends": [{"subscription": {endpoint, keys},
//	  "payload": "…", "options": {TTL, topic, urgency, vapidDetails}}, …]}
//
// Each line is {"ok":true,"statusCode","location","ttl"} or
// {"ok":false,"statusCode","body","message"}.
'use strict';

const fs = require('fs');
const https = require('https');
const webpush = require('web-push');

const version = require('web-push/package.json').version;
const want = require('./package.json').dependencies['web-push'];
if (version !== want) {
  throw new Error(`web-push ${want} expected, ${version} installed`);
}

async function main() {
  const job = JSON.parse(process.argv[2]);
  // web-push speaks https only; trust the test server's CA through an agent.
  const agent = new https.Agent({ ca: fs.readFileSync(job.ca) });
  for (const s of job.sends) {
    try {
      const res = await webpush.sendNotification(s.subscription, s.payload, { ...s.options, agent });
      console.log(JSON.stringify({
        ok: true, statusCode: res.statusCode, location: res.headers.location, ttl: res.headers.ttl,
      }));
    } catch (err) {
      console.log(JSON.stringify({
        ok: false, statusCode: err.statusCode || 0, body: err.body || '', message: err.message,
      }));
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
