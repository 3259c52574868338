// ioredis logging in as an ACL user (username + password), in RESP2 and RESP3: allowed
// commands run, refused ones reject with NOPERM, a wrong password with WRONGPASS.
//
// Usage: node acl.mjs PORT. The server must have the user `app` with password `app-pw`,
// keys `app:*` and `+@all -@dangerous`. Exits non-zero if any check failed; the last line
// is "acl.mjs: N passed, N failed".

import Redis from 'ioredis';
import { isDeepStrictEqual, inspect } from 'node:util';

const PORT = Number(process.argv[2]);
const SAFETY = { connectTimeout: 10000, commandTimeout: 10000, maxRetriesPerRequest: 1, retryStrategy: () => null };
setTimeout(() => {
  console.error('acl.mjs: timed out after 60 s');
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
async function rejects(what, promise, prefix) {
  try {
    await promise;
    failed++;
    console.log(`FAIL ${what}: did not reject`);
  } catch (e) {
    check(what, String(e.message).startsWith(prefix), true);
  }
}

for (const protocol of [2, 3]) {
  const name = `resp${protocol}`;
  // The ready check runs INFO, which -@dangerous refuses.
  const r = new Redis({ host: '127.0.0.1', port: PORT, username: 'app', password: 'app-pw', protocol, enableReadyCheck: false, ...SAFETY });
  check(`${name} whoami`, await r.call('ACL', 'WHOAMI'), 'app');
  check(`${name} hset`, await r.hset('app:1', { name: 'Alice' }), 1);
  check(`${name} hget`, await r.hget('app:1', 'name'), 'Alice');
  await rejects(`${name} other key`, r.get('other'), 'NOPERM');
  await rejects(`${name} flushall`, r.flushall(), 'NOPERM');
  await r.del('app:1');
  r.disconnect();
  // ioredis reports a failed AUTH / HELLO as an 'error' event, then closes.
  const bad = new Redis({ host: '127.0.0.1', port: PORT, username: 'app', password: 'nope', protocol, lazyConnect: true, ...SAFETY });
  const errors = [];
  bad.on('error', (e) => errors.push(String(e.message)));
  await bad.connect().catch(() => {});
  check(`${name} wrong password`, errors.some((m) => m.startsWith('WRONGPASS')), true);
  bad.disconnect();
}

console.log(`acl.mjs: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
