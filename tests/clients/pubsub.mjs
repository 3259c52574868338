// Pub/sub through ioredis: subscribe, psubscribe, ssubscribe and their 'message',
// 'pmessage' and 'smessage' events, publish's receiver counts, unsubscribing, in RESP2
// and RESP3, and keyspace notifications.
//
// Usage: node pubsub.mjs PORT. Exits non-zero if any check failed; the last line is
// "pubsub.mjs: N passed, N failed".

import Redis from 'ioredis';
import { isDeepStrictEqual, inspect } from 'node:util';

const PORT = Number(process.argv[2]);
const SAFETY = { connectTimeout: 10000, commandTimeout: 10000, maxRetriesPerRequest: 1, retryStrategy: () => null };
setTimeout(() => {
  console.error('pubsub.mjs: timed out after 60 s');
  process.exit(3);
}, 60000).unref();

let passed = 0;
let failed = 0;
function check(what, got, want) {
  if (isDeepStrictEqual(got, want)) {
    passed++;
  } else {
    failed++;
    console.log(`FAIL ${what}: got ${inspect(got)}, want ${inspect(want)}`);
  }
}

/** Resolves with the first `n` events `event` emits on `r` (each as its argument list). */
function collect(r, event, n) {
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => reject(new Error(`${event}: ${got.length} of ${n} events`)), 5000);
    r.on(event, (...args) => {
      got.push(args);
      if (got.length === n) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

for (const [name, opts] of [['resp2', {}], ['resp3', { protocol: 3 }]]) {
  const sub = new Redis({ host: '127.0.0.1', port: PORT, ...SAFETY, ...opts });
  const pub = new Redis({ host: '127.0.0.1', port: PORT, ...SAFETY });
  check(`${name} subscribe`, await sub.subscribe('news', 'sport'), 2);
  check(`${name} psubscribe`, await sub.psubscribe('n*'), 3);
  check(`${name} ssubscribe`, await sub.ssubscribe('shard'), 1);
  const messages = collect(sub, 'message', 2);
  const pmessages = collect(sub, 'pmessage', 1);
  const smessages = collect(sub, 'smessage', 1);
  check(`${name} publish`, await pub.publish('news', 'hello'), 2);
  check(`${name} publish other`, await pub.publish('sport', 'goal'), 1);
  check(`${name} spublish`, await pub.spublish('shard', 's'), 1);
  check(`${name} message`, await messages, [['news', 'hello'], ['sport', 'goal']]);
  check(`${name} pmessage`, await pmessages, [['n*', 'news', 'hello']]);
  check(`${name} smessage`, await smessages, [['shard', 's']]);
  check(`${name} numsub`, await pub.pubsub('NUMSUB', 'news', 'none'), ['news', 1, 'none', 0]);
  check(`${name} unsubscribe`, await sub.unsubscribe('news'), 2);
  check(`${name} punsubscribe`, await sub.punsubscribe('n*'), 1);
  check(`${name} sunsubscribe`, await sub.sunsubscribe('shard'), 0);
  check(`${name} publish after`, await pub.publish('news', 'x'), 0);
  sub.disconnect();

  // Keyspace notifications.
  await pub.config('SET', 'notify-keyspace-events', 'KEA');
  const ks = new Redis({ host: '127.0.0.1', port: PORT, ...SAFETY, ...opts });
  await ks.psubscribe('__key*@0__:*');
  const events = collect(ks, 'pmessage', 4);
  await pub.hset('user:1', 'name', 'ann');
  await pub.del('user:1');
  check(`${name} notifications`, (await events).map(([, ch, msg]) => [ch, msg]), [
    ['__keyspace@0__:user:1', 'hset'],
    ['__keyevent@0__:hset', 'user:1'],
    ['__keyspace@0__:user:1', 'del'],
    ['__keyevent@0__:del', 'user:1'],
  ]);
  await pub.config('SET', 'notify-keyspace-events', '');
  ks.disconnect();
  pub.disconnect();
}

console.log(`pubsub.mjs: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
