#!/usr/bin/env python3
"""Runs the Python (redis-py) examples of the hashes tutorial against a server and checks
the results.

Usage: tutorial.py PORT   (or FERROKV_PORT=PORT tutorial.py)

The tutorial's functions below are copied as written (same bodies, same global `r`); only
the connection is pointed at 127.0.0.1:PORT. They are run once per client configuration:
redis-py's default protocol (RESP3 in redis-py 8), explicit protocol=3 and protocol=2, each
with the hiredis parser (which redis-py picks automatically when hiredis is installed), and
RESP2/RESP3 with redis-py's pure-Python parsers. Pipelines are run with transaction=True
(MULTI/EXEC) and transaction=False.

The script expects the keys the tutorial uses to be free (it deletes them first) and exits
non-zero if any check failed. Last line: "tutorial.py: N passed, N failed".
"""

import os
import sys
import time
import traceback

import redis
from redis._parsers import _RESP2Parser, _RESP3Parser
from redis._parsers.hiredis import _HiredisParser
from redis.exceptions import ResponseError, WatchError

# ---------------------------------------------------------------------------------------
# Connection set-up (the only deviation from the tutorial).
# ---------------------------------------------------------------------------------------

if len(sys.argv) > 1:
    PORT = int(sys.argv[1])
elif os.environ.get("FERROKV_PORT"):
    PORT = int(os.environ["FERROKV_PORT"])
else:
    sys.exit("usage: tutorial.py PORT (or set FERROKV_PORT)")

HOST = "127.0.0.1"
# Timeouts so that a server that stops answering fails the run instead of hanging it.
SAFETY = dict(socket_timeout=10, socket_connect_timeout=10)

r = None  # the tutorial's global client; rebound for every configuration below

# ---------------------------------------------------------------------------------------
# The tutorial's Python code, as written.
# ---------------------------------------------------------------------------------------

from datetime import datetime


def create_user_profile(user_id: int, profile: dict):
    r.hset(f"user:{user_id}", mapping={
        'username': profile['username'],
        'email': profile['email'],
        'first_name': profile.get('first_name', ''),
        'last_name': profile.get('last_name', ''),
        'joined': datetime.now().isoformat(),
        'avatar': profile.get('avatar', ''),
        'verified': 'false',
        'bio': profile.get('bio', '')
    })


def get_user_profile(user_id: int) -> dict | None:
    profile = r.hgetall(f"user:{user_id}")
    return profile if profile else None


def update_user_profile(user_id: int, updates: dict):
    r.hset(f"user:{user_id}", mapping=updates)


def create_product(product_id: int, product: dict):
    r.hset(f"product:{product_id}", mapping={
        'name': product['name'],
        'price': str(product['price']),
        'stock': str(product['stock']),
        'category': product['category'],
        'sku': product['sku'],
        'description': product.get('description', ''),
        'rating': str(product.get('rating', 0))
    })


def get_product(product_id: int) -> dict | None:
    product = r.hgetall(f"product:{product_id}")
    if not product:
        return None
    return {
        **product,
        'price': float(product['price']),
        'stock': int(product['stock']),
        'rating': float(product['rating'])
    }


def purchase_product(product_id: int, quantity: int = 1) -> dict:
    stock = r.hget(f"product:{product_id}", 'stock')
    if int(stock) < quantity:
        raise ValueError("Insufficient stock")
    new_stock = r.hincrby(f"product:{product_id}", 'stock', -quantity)
    return {'remaining_stock': new_stock}


import secrets
from datetime import datetime


def create_session(user_id: str, username: str, ip_address: str, user_agent: str = '') -> str:
    session_id = secrets.token_hex(32)
    now = datetime.now().isoformat()
    r.hset(f"session:{session_id}", mapping={
        'user_id': user_id,
        'username': username,
        'login_time': now,
        'last_activity': now,
        'ip_address': ip_address,
        'user_agent': user_agent
    })
    r.expire(f"session:{session_id}", 86400)  # 24 hours
    return session_id


def validate_session(session_id: str) -> dict | None:
    if not r.hexists(f"session:{session_id}", 'user_id'):
        return None
    # Update last activity and refresh TTL
    r.hset(f"session:{session_id}", 'last_activity', datetime.now().isoformat())
    r.expire(f"session:{session_id}", 86400)
    return r.hgetall(f"session:{session_id}")


def destroy_session(session_id: str):
    r.delete(f"session:{session_id}")


def add_to_cart(user_id: int, product_id: int, quantity: int = 1):
    r.hincrby(f"cart:user:{user_id}", f"product:{product_id}", quantity)
    r.expire(f"cart:user:{user_id}", 86400 * 7)  # 7 days


def get_cart(user_id: int) -> list:
    cart = r.hgetall(f"cart:user:{user_id}")
    return [
        {'product_id': key.replace('product:', ''), 'quantity': int(qty)}
        for key, qty in cart.items()
    ]


def update_cart_item(user_id: int, product_id: int, quantity: int):
    if quantity <= 0:
        r.hdel(f"cart:user:{user_id}", f"product:{product_id}")
    else:
        r.hset(f"cart:user:{user_id}", f"product:{product_id}", quantity)


def remove_from_cart(user_id: int, product_id: int):
    r.hdel(f"cart:user:{user_id}", f"product:{product_id}")


def clear_cart(user_id: int):
    r.delete(f"cart:user:{user_id}")


# ---------------------------------------------------------------------------------------
# Checks.
# ---------------------------------------------------------------------------------------

KEYS = ["user:1", "user:2", "product:1001", "cart:user:1", "str:1", "float:1",
        "float:2", "bulk:1"]


class CheckFailed(Exception):
    pass


def eq(what, got, want):
    if got != want:
        raise CheckFailed(f"{what}: got {got!r}, want {want!r}")


def ok(what, cond, detail=""):
    if not cond:
        raise CheckFailed(f"{what}{': ' + detail if detail else ''}")


def raises(what, exc_type, fn, msg_prefix=None):
    try:
        fn()
    except exc_type as e:
        if msg_prefix is not None and not str(e).startswith(msg_prefix):
            raise CheckFailed(f"{what}: error {str(e)!r} does not start with {msg_prefix!r}")
        return e
    except Exception as e:  # noqa: BLE001
        raise CheckFailed(f"{what}: raised {type(e).__name__}: {e!r}, want {exc_type.__name__}")
    raise CheckFailed(f"{what}: no {exc_type.__name__} raised")


def iso_ok(s):
    try:
        datetime.fromisoformat(s)
        return True
    except (TypeError, ValueError):
        return False


def check_connection(cfg):
    eq("PING", r.ping(), True)
    conn = r.connection_pool.get_connection()
    try:
        eq("connection protocol", conn.protocol, cfg["want_protocol"])
        eq("parser class", type(conn._parser).__name__, cfg["want_parser"].__name__)
        if cfg["want_protocol"] == 3:
            hello = conn.handshake_metadata
            ok("HELLO 3 reply is a map", isinstance(hello, dict), repr(hello))
            proto = hello.get("proto", hello.get(b"proto"))
            eq("HELLO 3 reply 'proto'", proto, 3)
    finally:
        r.connection_pool.release(conn)


def check_user_profiles(cfg):
    before = datetime.now()
    # Usage (as in the tutorial)
    create_user_profile(1, {'username': 'alice', 'email': 'alice@example.com'})
    profile = get_user_profile(1)
    update_user_profile(1, {'avatar': 'https://example.com/alice.jpg'})

    order = ['username', 'email', 'first_name', 'last_name', 'joined', 'avatar',
             'verified', 'bio']
    ok("get_user_profile returned a dict", isinstance(profile, dict), repr(profile))
    eq("HGETALL field order (insertion order)", list(profile.keys()), order)
    eq("username", profile['username'], 'alice')
    eq("email", profile['email'], 'alice@example.com')
    for f in ('first_name', 'last_name', 'avatar', 'bio'):
        eq(f"empty field {f}", profile[f], '')
    eq("verified", profile['verified'], 'false')
    ok("joined is an ISO timestamp", iso_ok(profile['joined']), repr(profile['joined']))
    ok("joined is now", abs((datetime.fromisoformat(profile['joined']) - before).total_seconds()) < 60)

    after = get_user_profile(1)
    eq("field order after updating avatar", list(after.keys()), order)
    eq("avatar after update", after['avatar'], 'https://example.com/alice.jpg')
    eq("other fields unchanged by update", {k: v for k, v in after.items() if k != 'avatar'},
       {k: v for k, v in profile.items() if k != 'avatar'})
    eq("get_user_profile(missing)", get_user_profile(999), None)

    # The tutorial's "Basic Commands" on the same kind of hash.
    r.delete("user:2")
    eq("HSET new fields count", r.hset("user:2", mapping={"name": "Alice", "age": 25, "city": "NYC"}), 3)
    eq("HGET", r.hget("user:2", "name"), "Alice")
    eq("HGET missing field", r.hget("user:2", "nope"), None)
    eq("HKEYS", r.hkeys("user:2"), ["name", "age", "city"])
    eq("HVALS", r.hvals("user:2"), ["Alice", "25", "NYC"])
    eq("HLEN", r.hlen("user:2"), 3)
    eq("HMGET", r.hmget("user:2", ["name", "age", "nope"]), ["Alice", "25", None])
    eq("HEXISTS name", r.hexists("user:2", "name"), True)
    eq("HDEL city", r.hdel("user:2", "city"), 1)
    eq("HDEL city again", r.hdel("user:2", "city"), 0)
    eq("HEXISTS city after HDEL", r.hexists("user:2", "city"), False)
    eq("HSET existing field count", r.hset("user:2", "age", 26), 0)
    eq("HINCRBY age", r.hincrby("user:2", "age", 1), 27)
    eq("HSET re-added field count", r.hset("user:2", "city", "LA"), 1)
    eq("HGETALL after HDEL + re-add (goes last)", r.hgetall("user:2"),
       {"name": "Alice", "age": "27", "city": "LA"})
    eq("HGETALL order after HDEL + re-add", list(r.hgetall("user:2").keys()),
       ["name", "age", "city"])
    eq("HDEL several", r.hdel("user:2", "name", "age", "city"), 3)
    eq("hash removed when empty", r.exists("user:2"), 0)
    eq("HGETALL missing key", r.hgetall("user:2"), {})


def check_products(cfg):
    # Usage (as in the tutorial)
    create_product(1001, {'name': 'MacBook Pro', 'price': 1999.99, 'stock': 5,
                          'category': 'electronics', 'sku': 'MB-2024'})
    product = get_product(1001)
    purchase_product(1001, 1)

    eq("get_product", product, {
        'name': 'MacBook Pro', 'price': 1999.99, 'stock': 5, 'category': 'electronics',
        'sku': 'MB-2024', 'description': '', 'rating': 0.0})
    eq("product field order", list(product.keys()),
       ['name', 'price', 'stock', 'category', 'sku', 'description', 'rating'])
    eq("raw price", r.hget("product:1001", "price"), "1999.99")
    eq("stock after purchase", r.hget("product:1001", "stock"), "4")
    eq("purchase_product(1001, 2)", purchase_product(1001, 2), {'remaining_stock': 2})
    raises("purchase_product(1001, 3) with stock 2", ValueError,
           lambda: purchase_product(1001, 3))
    eq("stock unchanged after refused purchase", get_product(1001)['stock'], 2)

    # HINCRBYFLOAT product:1001 price -99.99  # Apply discount
    eq("HINCRBYFLOAT price -99.99", r.hincrbyfloat("product:1001", "price", -99.99), 1900.0)
    eq("price stored as '1900'", r.hget("product:1001", "price"), "1900")
    eq("HINCRBYFLOAT rating 4.8", r.hincrbyfloat("product:1001", "rating", 4.8), 4.8)
    eq("rating stored as '4.8'", r.hget("product:1001", "rating"), "4.8")
    # Redis documentation examples for HINCRBYFLOAT.
    r.hset("float:1", "field", "10.50")
    eq("HINCRBYFLOAT 10.50 + 0.1", r.hincrbyfloat("float:1", "field", 0.1), 10.6)
    eq("'10.6' stored", r.hget("float:1", "field"), "10.6")
    r.hset("float:2", "field", "5.0e3")
    eq("HINCRBYFLOAT 5.0e3 + 2.0e2", r.hincrbyfloat("float:2", "field", 2.0e2), 5200.0)
    eq("'5200' stored", r.hget("float:2", "field"), "5200")
    eq("HINCRBYFLOAT on missing key", r.hincrbyfloat("float:2", "new", 9.99), 9.99)
    eq("get_product(missing)", get_product(424242), None)


def check_sessions(cfg):
    # Usage (as in the tutorial)
    session_id = create_session("user:1", "alice", "192.168.1.1", "Chrome/120")
    key = f"session:{session_id}"
    ttl_created = r.ttl(key)
    stored = r.hgetall(key)
    time.sleep(0.01)
    session = validate_session(session_id)
    ttl_validated = r.ttl(key)
    destroy_session(session_id)

    eq("session id length", len(session_id), 64)
    ok("session TTL set after create_session", 86390 <= ttl_created <= 86400, f"TTL={ttl_created}")
    ok("session TTL refreshed by validate_session", 86390 <= ttl_validated <= 86400,
       f"TTL={ttl_validated}")
    eq("session field order", list(stored.keys()),
       ['user_id', 'username', 'login_time', 'last_activity', 'ip_address', 'user_agent'])
    eq("session user_id", stored['user_id'], 'user:1')
    eq("session username", stored['username'], 'alice')
    eq("session ip_address", stored['ip_address'], '192.168.1.1')
    eq("session user_agent", stored['user_agent'], 'Chrome/120')
    eq("login_time == last_activity at creation", stored['login_time'], stored['last_activity'])
    ok("validate_session returned the session", isinstance(session, dict), repr(session))
    eq("validated session field order", list(session.keys()), list(stored.keys()))
    ok("last_activity moved forward",
       datetime.fromisoformat(session['last_activity']) > datetime.fromisoformat(stored['login_time']),
       f"{session['last_activity']!r} vs {stored['login_time']!r}")
    eq("session gone after destroy_session", r.exists(key), 0)
    eq("validate_session after destroy", validate_session(session_id), None)
    eq("TTL of destroyed session", r.ttl(key), -2)
    eq("PERSIST-free key TTL", (r.hset("user:2", "x", "1"), r.ttl("user:2")), (1, -1))
    r.delete("user:2")


def check_cart(cfg):
    # Usage (as in the tutorial)
    add_to_cart(1, 101, 2)
    add_to_cart(1, 202, 1)
    cart = get_cart(1)
    update_cart_item(1, 101, 5)
    cart_updated = get_cart(1)
    remove_from_cart(1, 202)
    cart_removed = get_cart(1)

    eq("get_cart", cart, [{'product_id': '101', 'quantity': 2},
                          {'product_id': '202', 'quantity': 1}])
    ttl = r.ttl("cart:user:1")
    ok("cart TTL (7 days)", 86400 * 7 - 10 <= ttl <= 86400 * 7, f"TTL={ttl}")
    eq("cart after update_cart_item(1, 101, 5)", cart_updated,
       [{'product_id': '101', 'quantity': 5}, {'product_id': '202', 'quantity': 1}])
    eq("cart after remove_from_cart(1, 202)", cart_removed, [{'product_id': '101', 'quantity': 5}])
    add_to_cart(1, 101, 2)
    eq("HINCRBY existing cart item", get_cart(1), [{'product_id': '101', 'quantity': 7}])
    update_cart_item(1, 101, 0)
    eq("cart key removed when last item deleted", r.exists("cart:user:1"), 0)
    eq("get_cart on empty cart", get_cart(1), [])
    add_to_cart(1, 303, 1)
    clear_cart(1)
    eq("cart gone after clear_cart", r.exists("cart:user:1"), 0)


def check_errors(cfg):
    r.set("str:1", "Alice")
    raises("HGET on a string key", ResponseError, lambda: r.hget("str:1", "f"),
           "WRONGTYPE Operation against a key holding the wrong kind of value")
    raises("HSET on a string key", ResponseError, lambda: r.hset("str:1", "f", "v"),
           "WRONGTYPE Operation against a key holding the wrong kind of value")
    r.hset("user:2", mapping={"name": "Alice"})
    raises("HINCRBY on a non-integer field", ResponseError,
           lambda: r.hincrby("user:2", "name", 1), "hash value is not an integer")
    raises("HINCRBYFLOAT on a non-float field", ResponseError,
           lambda: r.hincrbyfloat("user:2", "name", 1.5), "hash value is not a float")
    raises("HSET with odd field/value count", ResponseError,
           lambda: r.execute_command("HSET", "user:2", "a", "1", "b"),
           "wrong number of arguments for 'hset' command")
    eq("client still usable after errors", r.hget("user:2", "name"), "Alice")
    r.delete("str:1", "user:2")


def check_pipeline_transaction(cfg):
    pipe = r.pipeline()  # transaction=True: MULTI ... EXEC
    pipe.hset("user:2", mapping={"username": "bob", "score": "10"})
    pipe.hincrby("user:2", "score", 5)
    pipe.hincrbyfloat("user:2", "score", 0.5)
    pipe.hgetall("user:2")
    pipe.expire("user:2", 3600)
    pipe.ttl("user:2")
    pipe.hget("user:2", "nope")
    pipe.hexists("user:2", "username")
    res = pipe.execute()
    ok("TTL inside MULTI", 3599 <= res[5] <= 3600, repr(res[5]))
    res[5] = 3600
    eq("MULTI/EXEC results", res,
       [2, 15, 15.5, {"username": "bob", "score": "15.5"}, True, 3600, None, True])

    # An error inside the transaction: EXEC still runs the other commands.
    pipe = r.pipeline()
    pipe.hset("user:2", "level", "1")
    pipe.hincrby("user:2", "username", 1)  # not an integer
    pipe.hincrby("user:2", "level", 1)
    res = pipe.execute(raise_on_error=False)
    eq("EXEC result count with a failing command", len(res), 3)
    eq("EXEC result 0", res[0], 1)
    ok("EXEC result 1 is the error", isinstance(res[1], ResponseError)
       and "hash value is not an integer" in str(res[1]), repr(res[1]))
    eq("EXEC result 2", res[2], 2)
    pipe = r.pipeline()
    pipe.hincrby("user:2", "username", 1)
    raises("execute() raises on a failing command", ResponseError, pipe.execute,
           "Command # 1 (HINCRBY user:2 username 1) of pipeline caused error: hash value is not an integer")

    # The optimistic-locking form of purchase_product: WATCH + MULTI/EXEC.
    r.hset("product:1001", mapping={"name": "MacBook Pro", "stock": "5"})
    with r.pipeline() as pipe:
        pipe.watch("product:1001")
        stock = int(pipe.hget("product:1001", "stock"))
        pipe.multi()
        pipe.hincrby("product:1001", "stock", -1)
        res = pipe.execute()
    eq("WATCH/MULTI/EXEC purchase", (stock, res), (5, [4]))
    other = make_client(cfg)
    try:
        with r.pipeline() as pipe:
            pipe.watch("product:1001")
            pipe.hget("product:1001", "stock")
            other.hincrby("product:1001", "stock", -1)  # another client buys one first
            pipe.multi()
            pipe.hincrby("product:1001", "stock", -1)
            raises("EXEC after the watched key changed", WatchError, pipe.execute)
    finally:
        close_client(other)
    eq("stock after the aborted transaction", r.hget("product:1001", "stock"), "3")
    r.delete("user:2", "product:1001")


def check_pipeline_plain(cfg):
    pipe = r.pipeline(transaction=False)
    pipe.hset("user:2", mapping={"username": "bob", "score": "10"})
    pipe.hincrby("user:2", "score", 5)
    pipe.hincrbyfloat("user:2", "score", 0.5)
    pipe.hgetall("user:2")
    pipe.expire("user:2", 3600)
    pipe.hincrby("user:2", "username", 1)  # error in the middle of the pipeline
    pipe.hget("user:2", "nope")
    pipe.hkeys("user:2")
    res = pipe.execute(raise_on_error=False)
    ok("error reply in the pipeline", isinstance(res[5], ResponseError)
       and "hash value is not an integer" in str(res[5]), repr(res[5]))
    res[5] = "ERR"
    eq("pipeline results", res,
       [2, 15, 15.5, {"username": "bob", "score": "15.5"}, True, "ERR", None,
        ["username", "score"]])

    # A large pipeline: 2000 commands written before any reply is read.
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        pipe.hset("bulk:1", f"field:{i}", "x" * (i % 50))
    for i in range(0, 1000, 100):
        pipe.hget("bulk:1", f"field:{i}")
    pipe.hlen("bulk:1")
    res = pipe.execute()
    eq("large pipeline HSET replies", res[:1000], [1] * 1000)
    eq("large pipeline HGET replies", res[1000:1010], [""] * 10)
    eq("large pipeline HLEN", res[1010], 1000)
    # (1000 fields is past hash-max-listpack-entries: no order guarantee any more)
    eq("large hash HKEYS", sorted(r.hkeys("bulk:1")), sorted(f"field:{i}" for i in range(1000)))
    r.delete("user:2", "bulk:1")


CHECKS = [
    ("connection", check_connection),
    ("user profiles", check_user_profiles),
    ("product inventory", check_products),
    ("sessions", check_sessions),
    ("shopping cart", check_cart),
    ("error replies", check_errors),
    ("pipeline transaction=True (MULTI/EXEC)", check_pipeline_transaction),
    ("pipeline transaction=False", check_pipeline_plain),
]

CONFIGS = [
    # name, extra kwargs, expected protocol, expected parser
    {"name": "default protocol (RESP3), hiredis", "kwargs": {},
     "want_protocol": 3, "want_parser": _HiredisParser},
    {"name": "protocol=3, hiredis", "kwargs": {"protocol": 3},
     "want_protocol": 3, "want_parser": _HiredisParser},
    {"name": "protocol=2, hiredis", "kwargs": {"protocol": 2},
     "want_protocol": 2, "want_parser": _HiredisParser},
    {"name": "protocol=3, Python parser", "kwargs": {"protocol": 3, "parser_class": _RESP3Parser},
     "want_protocol": 3, "want_parser": _RESP3Parser},
    {"name": "protocol=2, Python parser", "kwargs": {"protocol": 2, "parser_class": _RESP2Parser},
     "want_protocol": 2, "want_parser": _RESP2Parser},
]


def make_client(cfg):
    """redis.Redis(host=..., port=..., decode_responses=True) for configuration `cfg`.
    parser_class is a connection-pool option, so that case builds the pool itself."""
    kwargs = dict(host=HOST, port=PORT, decode_responses=True, **SAFETY, **cfg["kwargs"])
    if "parser_class" in kwargs:
        return redis.Redis(connection_pool=redis.ConnectionPool(**kwargs))
    return redis.Redis(**kwargs)


def close_client(c):
    c.close()
    c.connection_pool.disconnect()


def main():
    global r
    passed = failed = 0
    failures = []

    def record(name, fn):
        nonlocal passed, failed
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            failed += 1
            detail = str(e) if isinstance(e, CheckFailed) else traceback.format_exc().rstrip()
            failures.append(f"{name}: {detail}")
            print(f"FAIL {name}: {detail}", flush=True)
        else:
            passed += 1
            print(f"ok   {name}", flush=True)

    print(f"redis-py {redis.__version__}, hiredis available: {redis.utils.HIREDIS_AVAILABLE}, "
          f"server 127.0.0.1:{PORT}", flush=True)

    def hiredis_check():
        eq("redis.utils.HIREDIS_AVAILABLE", redis.utils.HIREDIS_AVAILABLE, True)
        ok("redis-py is 8.x", redis.__version__.startswith("8."), redis.__version__)

    record("hiredis installed and used", hiredis_check)

    for cfg in CONFIGS:
        r = make_client(cfg)
        try:
            r.delete(*KEYS)
        except Exception as e:  # noqa: BLE001
            failed += 1
            msg = f"[{cfg['name']}] connect: {type(e).__name__}: {e}"
            failures.append(msg)
            print(f"FAIL {msg}", flush=True)
            close_client(r)
            continue
        for name, fn in CHECKS:
            record(f"[{cfg['name']}] {name}", lambda fn=fn: fn(cfg))
            try:
                r.delete(*KEYS)
            except Exception:  # noqa: BLE001
                pass
        close_client(r)

    if failures:
        print(f"\n{len(failures)} failure(s); first: {failures[0]}", file=sys.stderr)
    print(f"tutorial.py: {passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
