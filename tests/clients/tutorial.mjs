// Runs the Node.js (ioredis) examples of the hashes tutorial against a server and checks
// the results.
//
// Usage: node tutorial.mjs PORT   (or FERROKV_PORT=PORT node tutorial.mjs)
//
// The tutorial's functions below are copied as written (same bodies, same module-level
// `redis` client); only the connection is pointed at 127.0.0.1:PORT and the `req` passed to
// createSession is a stub with `ip` and `headers`. They run once with ioredis's defaults
// (which include the INFO ready check and CLIENT SETINFO on connect) and once with
// enableAutoPipelining. MULTI/EXEC (redis.multi()), WATCH and redis.pipeline() are
// exercised too. Exits non-zero if any check failed; the last line is
// "tutorial.mjs: N passed, N failed".

import Redis from 'ioredis';
import { isDeepStrictEqual, inspect } from 'node:util';
import { createRequire } from 'node:module';

// ---------------------------------------------------------------------------------------
// Connection set-up (the only deviation from the tutorial).
// ---------------------------------------------------------------------------------------

const PORT = Number(process.argv[2] || process.env.FERROKV_PORT);
if (!PORT) {
  console.error('usage: node tutorial.mjs PORT (or set FERROKV_PORT)');
  process.exit(2);
}
const HOST = '127.0.0.1';
// Fail fast instead of hanging or reconnecting forever if the server misbehaves.
const SAFETY = { connectTimeout: 10000, commandTimeout: 10000, maxRetriesPerRequest: 1, retryStrategy: () => null };

// A whole-run watchdog, so a server that stops answering cannot hang the test suite.
setTimeout(() => {
  console.error('tutorial.mjs: timed out after 120 s');
  process.exit(3);
}, 120000).unref();

let redis; // the tutorial's module-level client; rebound for each configuration below

// ---------------------------------------------------------------------------------------
// The tutorial's Node.js code, as written.
// ---------------------------------------------------------------------------------------

// Create user profile
async function createUserProfile(userId, profile) {
  await redis.hset(`user:${userId}`, {
    username: profile.username,
    email: profile.email,
    first_name: profile.firstName,
    last_name: profile.lastName,
    joined: new Date().toISOString(),
    avatar: profile.avatar || '',
    verified: 'false',
    bio: profile.bio || ''
  });
}

// Get full profile
async function getUserProfile(userId) {
  const profile = await redis.hgetall(`user:${userId}`);
  if (!Object.keys(profile).length) return null;
  return profile;
}

// Get specific fields
async function getUserEmail(userId) {
  return await redis.hget(`user:${userId}`, 'email');
}

// Update specific fields
async function updateUserProfile(userId, updates) {
  await redis.hset(`user:${userId}`, updates);
}

// Create product
async function createProduct(productId, product) {
  await redis.hset(`product:${productId}`, {
    name: product.name,
    price: product.price.toString(),
    stock: product.stock.toString(),
    category: product.category,
    sku: product.sku,
    description: product.description,
    rating: product.rating?.toString() || '0'
  });
}

// Get product for display
async function getProduct(productId) {
  const product = await redis.hgetall(`product:${productId}`);
  if (!Object.keys(product).length) return null;
  return {
    ...product,
    price: parseFloat(product.price),
    stock: parseInt(product.stock),
    rating: parseFloat(product.rating)
  };
}

// Purchase product (atomic stock decrease)
async function purchaseProduct(productId, quantity = 1) {
  const stock = await redis.hget(`product:${productId}`, 'stock');
  if (parseInt(stock) < quantity) {
    throw new Error('Insufficient stock');
  }
  const newStock = await redis.hincrby(`product:${productId}`, 'stock', -quantity);
  return { success: true, remainingStock: newStock };
}

// Apply discount
async function applyDiscount(productId, discountAmount) {
  const newPrice = await redis.hincrbyfloat(`product:${productId}`, 'price', -discountAmount);
  return { newPrice: parseFloat(newPrice) };
}

import crypto from 'crypto';

// Create session
async function createSession(userId, username, req) {
  const sessionId = crypto.randomBytes(32).toString('hex');
  const now = new Date().toISOString();
  await redis.hset(`session:${sessionId}`, {
    user_id: userId,
    username: username,
    login_time: now,
    last_activity: now,
    ip_address: req.ip,
    user_agent: req.headers['user-agent']
  });
  await redis.expire(`session:${sessionId}`, 86400); // 24 hours
  return sessionId;
}

// Validate and refresh session
async function validateSession(sessionId) {
  const exists = await redis.hexists(`session:${sessionId}`, 'user_id');
  if (!exists) return null;
  // Update last activity and refresh TTL
  await redis.hset(`session:${sessionId}`, 'last_activity', new Date().toISOString());
  await redis.expire(`session:${sessionId}`, 86400);
  return await redis.hgetall(`session:${sessionId}`);
}

// Destroy session
async function destroySession(sessionId) {
  await redis.del(`session:${sessionId}`);
}

// Add item to cart
async function addToCart(userId, productId, quantity = 1) {
  await redis.hincrby(`cart:user:${userId}`, `product:${productId}`, quantity);
  await redis.expire(`cart:user:${userId}`, 86400 * 7); // Cart expires in 7 days
}

// Get cart contents
async function getCart(userId) {
  const cart = await redis.hgetall(`cart:user:${userId}`);
  return Object.entries(cart).map(([key, quantity]) => ({
    productId: key.replace('product:', ''),
    quantity: parseInt(quantity)
  }));
}

// Update item quantity
async function updateCartItem(userId, productId, quantity) {
  if (quantity <= 0) {
    await redis.hdel(`cart:user:${userId}`, `product:${productId}`);
  } else {
    await redis.hset(`cart:user:${userId}`, `product:${productId}`, quantity);
  }
}

// Remove item from cart
async function removeFromCart(userId, productId) {
  await redis.hdel(`cart:user:${userId}`, `product:${productId}`);
}

// Clear cart
async function clearCart(userId) {
  await redis.del(`cart:user:${userId}`);
}

// ---------------------------------------------------------------------------------------
// Checks.
// ---------------------------------------------------------------------------------------

const KEYS = ['user:1', 'user:2', 'product:1001', 'cart:user:1', 'str:1', 'bulk:1'];

class CheckFailed extends Error {}

function eq(what, got, want) {
  if (!isDeepStrictEqual(got, want)) {
    throw new CheckFailed(`${what}: got ${inspect(got, { depth: 5, breakLength: Infinity })}, want ${inspect(want, { depth: 5, breakLength: Infinity })}`);
  }
}

function ok(what, cond, detail = '') {
  if (!cond) throw new CheckFailed(detail ? `${what}: ${detail}` : what);
}

async function rejects(what, promiseFn, msgPrefix) {
  let err = null;
  try {
    await promiseFn();
  } catch (e) {
    err = e;
  }
  ok(`${what}: expected an error`, err !== null, 'none thrown');
  if (msgPrefix !== undefined) {
    ok(what, String(err.message).startsWith(msgPrefix),
      `error ${inspect(err.message)} does not start with ${inspect(msgPrefix)}`);
  }
  return err;
}

const isIso = (s) => typeof s === 'string' && !Number.isNaN(Date.parse(s)) && s.includes('T');

async function checkConnection() {
  eq('status', redis.status, 'ready');
  eq('PING', await redis.ping(), 'PONG');
  const info = await redis.info();
  ok('INFO reply is a string', typeof info === 'string', inspect(info));
}

async function checkUserProfiles() {
  const before = Date.now();
  // Usage (as in the tutorial)
  await createUserProfile(1, { username: 'alice', email: 'alice@example.com', firstName: 'Alice', lastName: 'Smith' });
  const profile = await getUserProfile(1);
  await updateUserProfile(1, { avatar: 'https://example.com/alice-new.jpg', bio: 'Updated bio' });

  const order = ['username', 'email', 'first_name', 'last_name', 'joined', 'avatar', 'verified', 'bio'];
  ok('getUserProfile returned an object', profile !== null && typeof profile === 'object', inspect(profile));
  eq('HGETALL field order (insertion order)', Object.keys(profile), order);
  eq('profile without joined', { ...profile, joined: 'X' }, {
    username: 'alice', email: 'alice@example.com', first_name: 'Alice', last_name: 'Smith',
    joined: 'X', avatar: '', verified: 'false', bio: '',
  });
  ok('joined is an ISO timestamp', isIso(profile.joined), inspect(profile.joined));
  ok('joined is now', Math.abs(Date.parse(profile.joined) - before) < 60000, profile.joined);

  const after = await getUserProfile(1);
  eq('field order after update', Object.keys(after), order);
  eq('after updateUserProfile', after, { ...profile, avatar: 'https://example.com/alice-new.jpg', bio: 'Updated bio' });
  eq('getUserEmail', await getUserEmail(1), 'alice@example.com');
  eq('getUserProfile(missing)', await getUserProfile(999), null);
  eq('getUserEmail(missing)', await getUserEmail(999), null);

  // The tutorial's "Basic Commands".
  eq('HSET new fields count', await redis.hset('user:2', 'name', 'Alice', 'age', 25, 'city', 'NYC'), 3);
  eq('HKEYS', await redis.hkeys('user:2'), ['name', 'age', 'city']);
  eq('HVALS', await redis.hvals('user:2'), ['Alice', '25', 'NYC']);
  eq('HLEN', await redis.hlen('user:2'), 3);
  eq('HMGET', await redis.hmget('user:2', 'name', 'age', 'nope'), ['Alice', '25', null]);
  eq('HEXISTS', await redis.hexists('user:2', 'name'), 1);
  eq('HDEL city', await redis.hdel('user:2', 'city'), 1);
  eq('HEXISTS after HDEL', await redis.hexists('user:2', 'city'), 0);
  eq('HINCRBY age', await redis.hincrby('user:2', 'age', 1), 26);
  eq('HSET re-added field', await redis.hset('user:2', 'city', 'LA'), 1);
  eq('HGETALL after HDEL + re-add', await redis.hgetall('user:2'), { name: 'Alice', age: '26', city: 'LA' });
  eq('HDEL all fields', await redis.hdel('user:2', 'name', 'age', 'city', 'nope'), 3);
  eq('hash removed when empty', await redis.exists('user:2'), 0);
}

async function checkProducts() {
  // Usage (analogous to the tutorial's Python usage and redis-cli example)
  await createProduct(1001, {
    name: 'MacBook Pro', price: 1999.99, stock: 5, category: 'electronics',
    sku: 'MB-2024-001', description: '14-inch laptop', rating: 4.8,
  });
  const product = await getProduct(1001);
  const purchase = await purchaseProduct(1001, 1);
  const discount = await applyDiscount(1001, 99.99);

  eq('getProduct', product, {
    name: 'MacBook Pro', price: 1999.99, stock: 5, category: 'electronics',
    sku: 'MB-2024-001', description: '14-inch laptop', rating: 4.8,
  });
  eq('product field order', Object.keys(product),
    ['name', 'price', 'stock', 'category', 'sku', 'description', 'rating']);
  eq('purchaseProduct(1001, 1)', purchase, { success: true, remainingStock: 4 });
  eq('applyDiscount(1001, 99.99)', discount, { newPrice: 1900 });
  eq('raw price after discount', await redis.hget('product:1001', 'price'), '1900');
  eq('purchaseProduct(1001, 4)', await purchaseProduct(1001, 4), { success: true, remainingStock: 0 });
  await rejects('purchaseProduct with no stock', () => purchaseProduct(1001, 1), 'Insufficient stock');
  eq('stock after refused purchase', (await getProduct(1001)).stock, 0);
  eq('HINCRBYFLOAT reply', await redis.hincrbyfloat('product:1001', 'rating', 0.1), '4.9');
  eq('getProduct(missing)', await getProduct(424242), null);
}

async function checkSessions() {
  const req = { ip: '192.168.1.1', headers: { 'user-agent': 'Chrome/120' } };
  const sessionId = await createSession('user:1', 'alice', req);
  const key = `session:${sessionId}`;
  const ttlCreated = await redis.ttl(key);
  const stored = await redis.hgetall(key);
  await new Promise((res) => setTimeout(res, 5));
  const session = await validateSession(sessionId);
  const ttlValidated = await redis.ttl(key);
  await destroySession(sessionId);

  eq('session id length', sessionId.length, 64);
  ok('session TTL set by createSession', ttlCreated > 86390 && ttlCreated <= 86400, `TTL=${ttlCreated}`);
  ok('session TTL refreshed by validateSession', ttlValidated > 86390 && ttlValidated <= 86400, `TTL=${ttlValidated}`);
  eq('session field order', Object.keys(stored),
    ['user_id', 'username', 'login_time', 'last_activity', 'ip_address', 'user_agent']);
  eq('session fields', { ...stored, login_time: 'X', last_activity: 'X' }, {
    user_id: 'user:1', username: 'alice', login_time: 'X', last_activity: 'X',
    ip_address: '192.168.1.1', user_agent: 'Chrome/120',
  });
  ok('login_time is ISO', isIso(stored.login_time), stored.login_time);
  eq('login_time == last_activity at creation', stored.login_time, stored.last_activity);
  ok('validateSession returned the session', session !== null, 'null');
  eq('validated session fields', { ...session, last_activity: 'X' }, { ...stored, last_activity: 'X' });
  ok('last_activity moved forward', Date.parse(session.last_activity) > Date.parse(stored.login_time),
    `${session.last_activity} vs ${stored.login_time}`);
  eq('session gone after destroySession', await redis.exists(key), 0);
  eq('validateSession after destroy', await validateSession(sessionId), null);
  eq('TTL of destroyed session', await redis.ttl(key), -2);
}

async function checkCart() {
  await addToCart(1, 101, 2);
  await addToCart(1, 202, 1);
  const cart = await getCart(1);
  const ttl = await redis.ttl('cart:user:1');
  await updateCartItem(1, 101, 5);
  const cartUpdated = await getCart(1);
  await removeFromCart(1, 202);
  const cartRemoved = await getCart(1);

  eq('getCart', cart, [{ productId: '101', quantity: 2 }, { productId: '202', quantity: 1 }]);
  ok('cart TTL (7 days)', ttl > 86400 * 7 - 10 && ttl <= 86400 * 7, `TTL=${ttl}`);
  eq('cart after updateCartItem(1, 101, 5)', cartUpdated,
    [{ productId: '101', quantity: 5 }, { productId: '202', quantity: 1 }]);
  eq('cart after removeFromCart(1, 202)', cartRemoved, [{ productId: '101', quantity: 5 }]);
  await updateCartItem(1, 101, 0);
  eq('cart key removed with its last item', await redis.exists('cart:user:1'), 0);
  eq('getCart on empty cart', await getCart(1), []);
  await addToCart(1, 303, 3);
  await clearCart(1);
  eq('cart gone after clearCart', await redis.exists('cart:user:1'), 0);
}

async function checkErrors() {
  await redis.set('str:1', 'Alice');
  await rejects('HGET on a string key', () => redis.hget('str:1', 'f'),
    'WRONGTYPE Operation against a key holding the wrong kind of value');
  await redis.hset('user:2', 'name', 'Alice');
  await rejects('HINCRBY on a non-integer field', () => redis.hincrby('user:2', 'name', 1),
    'ERR hash value is not an integer');
  await rejects('HINCRBYFLOAT on a non-float field', () => redis.hincrbyfloat('user:2', 'name', 1.5),
    'ERR hash value is not a float');
  eq('client still usable after errors', await redis.hget('user:2', 'name'), 'Alice');
}

async function checkMulti() {
  const res = await redis.multi()
    .hset('user:2', { username: 'bob', score: '10' })
    .hincrby('user:2', 'score', 5)
    .hincrbyfloat('user:2', 'score', 0.5)
    .hgetall('user:2')
    .expire('user:2', 3600)
    .ttl('user:2')
    .hget('user:2', 'nope')
    .hexists('user:2', 'username')
    .exec();
  ok('TTL inside MULTI', Array.isArray(res) && res[5] && res[5][1] >= 3599 && res[5][1] <= 3600, inspect(res));
  res[5][1] = 3600;
  eq('multi().exec() results', res, [
    [null, 2], [null, 15], [null, '15.5'], [null, { username: 'bob', score: '15.5' }],
    [null, 1], [null, 3600], [null, null], [null, 1],
  ]);

  // An error inside the transaction: EXEC still runs the other commands.
  const res2 = await redis.multi()
    .hset('user:2', 'level', '1')
    .hincrby('user:2', 'username', 1)
    .hincrby('user:2', 'level', 1)
    .exec();
  eq('EXEC with a failing command: result count', res2.length, 3);
  eq('EXEC result 0', res2[0], [null, 1]);
  ok('EXEC result 1 is the error', res2[1][0] instanceof Error
    && res2[1][0].message === 'ERR hash value is not an integer', inspect(res2[1]));
  eq('EXEC result 2', res2[2], [null, 2]);

  // Optimistic locking (WATCH): the transaction is aborted when another client writes.
  await redis.hset('product:1001', 'stock', '5');
  const other = redis.duplicate();
  try {
    await redis.watch('product:1001');
    const stock = parseInt(await redis.hget('product:1001', 'stock'));
    await other.hincrby('product:1001', 'stock', -1);
    const aborted = await redis.multi().hset('product:1001', 'stock', stock - 1).exec();
    eq('EXEC after the watched key changed', aborted, null);
    eq('stock kept the other client\'s write', await redis.hget('product:1001', 'stock'), '4');
    await redis.watch('product:1001');
    const stock2 = parseInt(await redis.hget('product:1001', 'stock'));
    const done = await redis.multi().hset('product:1001', 'stock', stock2 - 1).exec();
    eq('EXEC with an untouched watched key', done, [[null, 0]]);
    eq('stock after the committed transaction', await redis.hget('product:1001', 'stock'), '3');
  } finally {
    other.disconnect();
  }
}

async function checkPipeline() {
  const res = await redis.pipeline()
    .hset('user:2', { username: 'bob', score: '10' })
    .hincrby('user:2', 'score', 5)
    .hincrbyfloat('user:2', 'score', 0.5)
    .hgetall('user:2')
    .hincrby('user:2', 'username', 1) // error in the middle of the pipeline
    .hget('user:2', 'nope')
    .hkeys('user:2')
    .exec();
  ok('error reply in the pipeline', res[4] && res[4][0] instanceof Error
    && res[4][0].message === 'ERR hash value is not an integer', inspect(res[4]));
  res[4] = 'ERR';
  eq('pipeline().exec() results', res, [
    [null, 2], [null, 15], [null, '15.5'], [null, { username: 'bob', score: '15.5' }],
    'ERR', [null, null], [null, ['username', 'score']],
  ]);

  // A large pipeline: 1011 commands written before any reply is read.
  const pipe = redis.pipeline();
  for (let i = 0; i < 1000; i++) pipe.hset('bulk:1', `field:${i}`, 'x'.repeat(i % 50));
  for (let i = 0; i < 1000; i += 100) pipe.hget('bulk:1', `field:${i}`);
  pipe.hlen('bulk:1');
  const big = await pipe.exec();
  eq('large pipeline HSET replies', big.slice(0, 1000).map(([e, v]) => (e ? e.message : v)), Array(1000).fill(1));
  eq('large pipeline HGET replies', big.slice(1000, 1010).map(([e, v]) => (e ? e.message : v)), Array(10).fill(''));
  eq('large pipeline HLEN', big[1010], [null, 1000]);

  // Many concurrent commands without an explicit pipeline (auto-pipelined when enabled).
  const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => redis.hincrby('user:2', 'counter', i)));
  eq('concurrent HINCRBY final value', replies.reduce((m, v) => Math.max(m, v), 0), (199 * 200) / 2);
}

const CHECKS = [
  ['connection', checkConnection],
  ['user profiles', checkUserProfiles],
  ['product inventory', checkProducts],
  ['sessions', checkSessions],
  ['shopping cart', checkCart],
  ['error replies', checkErrors],
  ['multi (MULTI/EXEC, WATCH)', checkMulti],
  ['pipeline', checkPipeline],
];

const CONFIGS = [
  ['ioredis defaults', {}],
  ['enableAutoPipelining', { enableAutoPipelining: true }],
];

let passed = 0;
let failed = 0;
const failures = [];

function record(name, err) {
  if (err === null) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    const detail = err instanceof CheckFailed ? err.message : (err && err.stack) || String(err);
    failures.push(`${name}: ${detail}`);
    console.log(`FAIL ${name}: ${detail}`);
  }
}

const pkg = createRequire(import.meta.url)('ioredis/package.json');
console.log(`ioredis ${pkg.version}, node ${process.version}, server ${HOST}:${PORT}`);

for (const [cfgName, opts] of CONFIGS) {
  let lastError = null;
  redis = new Redis({ host: HOST, port: PORT, ...SAFETY, ...opts });
  redis.on('error', (e) => { lastError = e; });
  try {
    await new Promise((resolve, reject) => {
      redis.once('ready', resolve);
      redis.once('end', () => reject(lastError || new Error('connection ended before ready')));
    });
    await redis.del(...KEYS);
  } catch (e) {
    record(`[${cfgName}] connect`, new CheckFailed(`could not connect: ${e && e.message}`));
    redis.disconnect();
    continue;
  }
  {
    // ioredis 6 sends HELLO 3 on connect: the whole run must be in RESP3.
    let err = null;
    try {
      const info = String(await redis.call('CLIENT', 'INFO'));
      if (Number(pkg.version.split('.')[0]) >= 6 && !info.includes(' resp=3')) {
        throw new CheckFailed(`expected a RESP3 connection, CLIENT INFO: ${info}`);
      }
    } catch (e) {
      err = e;
    }
    record(`[${cfgName}] protocol`, err);
  }
  for (const [name, fn] of CHECKS) {
    let err = null;
    try {
      await fn();
    } catch (e) {
      err = e;
    }
    record(`[${cfgName}] ${name}`, err);
    try {
      await redis.unwatch();
      await redis.del(...KEYS);
    } catch { /* reported by the next check */ }
  }
  await redis.quit().catch(() => redis.disconnect());
}

if (failures.length) console.error(`\n${failures.length} failure(s); first: ${failures[0]}`);
console.log(`tutorial.mjs: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
