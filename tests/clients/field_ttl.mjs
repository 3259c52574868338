// Hash field expiration through ioredis's own command methods (hexpire, httl, hpexpiretime,
// hpersist, hgetex, hsetex, hgetdel), with its defaults and with auto-pipelining, so the
// replies parse as ioredis expects them from Redis 8.
//
// Usage: node field_ttl.mjs PORT. Exits non-zero if any check failed; the last line is
// "field_ttl.mjs: N passed, N failed".

import Redis from 'ioredis';
import { isDeepStrictEqual, inspect } from 'node:util';

const PORT = Number(process.argv[2]);
const SAFETY = { connectTimeout: 10000, commandTimeout: 10000, maxRetriesPerRequest: 1, retryStrategy: () => null };
setTimeout(() => {
  console.error('field_ttl.mjs: timed out after 60 s');
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

for (const [name, opts] of [['defaults', {}], ['autopipelining', { enableAutoPipelining: true }]]) {
  const r = new Redis({ host: '127.0.0.1', port: PORT, ...SAFETY, ...opts });
  await r.del('session:42', 'ratelimit:alice');
  await r.hset('session:42', { user: 'alice', csrf: 'x9f2', cart: '3' });
  check(`${name} hexpire`, await r.hexpire('session:42', 1800, 'FIELDS', 2, 'csrf', 'nope'), [1, -2]);
  check(`${name} hexpire nx`, await r.hexpire('session:42', 60, 'NX', 'FIELDS', 1, 'csrf'), [0]);
  check(`${name} httl`, await r.httl('session:42', 'FIELDS', 3, 'csrf', 'user', 'nope'), [1800, -1, -2]);
  const [at] = await r.hpexpiretime('session:42', 'FIELDS', 1, 'csrf');
  check(`${name} hpexpiretime`, Math.abs(at - (Date.now() + 1800000)) < 5000, true);
  check(`${name} order`, Object.keys(await r.hgetall('session:42')), ['csrf', 'user', 'cart']);
  check(`${name} hpersist`, await r.hpersist('session:42', 'FIELDS', 2, 'csrf', 'user'), [1, -1]);
  check(`${name} hgetex`, await r.hgetex('session:42', 'PX', 600000, 'FIELDS', 2, 'user', 'nope'), ['alice', null]);
  check(`${name} hsetex`, await r.hsetex('ratelimit:alice', 'EX', 60, 'FIELDS', 2, '/search', 1, '/cart', 1), 1);
  check(`${name} hsetex fnx`, await r.hsetex('ratelimit:alice', 'FNX', 'FIELDS', 1, '/search', 5), 0);
  check(`${name} hgetdel`, await r.hgetdel('session:42', 'FIELDS', 1, 'cart'), ['3']);
  check(`${name} past deletes`, await r.hexpireat('session:42', 1, 'FIELDS', 1, 'csrf'), [2]);
  check(`${name} hgetall`, await r.hgetall('session:42'), { user: 'alice' });
  await r.hpexpire('ratelimit:alice', 50, 'FIELDS', 1, '/cart');
  await new Promise((resolve) => setTimeout(resolve, 200));
  check(`${name} expired`, [await r.hlen('ratelimit:alice'), await r.hget('ratelimit:alice', '/cart')], [1, null]);
  r.disconnect();
}

console.log(`field_ttl.mjs: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
