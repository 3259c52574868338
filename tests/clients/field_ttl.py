#!/usr/bin/env python3
"""Hash field expiration through redis-py's own methods (hexpire, httl, hpexpiretime,
hpersist, hgetex, hsetex, hgetdel), once per protocol and parser, so the replies parse as
redis-py expects them from Redis 8.

Usage: field_ttl.py PORT. Exits non-zero if any check failed; last line:
"field_ttl.py: N passed, N failed".
"""

import sys
import time

import redis
from redis._parsers import _RESP2Parser, _RESP3Parser
from redis._parsers.hiredis import _HiredisParser
from redis.commands.core import HashDataPersistOptions

PORT = int(sys.argv[1])
passed = failed = 0


def check(what, got, want):
    global passed, failed
    if got == want:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {what}: got {got!r}, want {want!r}")


CONFIGS = [
    ("resp3/hiredis", dict(protocol=3, parser_class=_HiredisParser)),
    ("resp2/hiredis", dict(protocol=2, parser_class=_HiredisParser)),
    ("resp3/python", dict(protocol=3, parser_class=_RESP3Parser)),
    ("resp2/python", dict(protocol=2, parser_class=_RESP2Parser)),
]

for name, kw in CONFIGS:
    # parser_class is a connection-pool option.
    r = redis.Redis(
        connection_pool=redis.ConnectionPool(
            port=PORT, decode_responses=True, socket_timeout=10, **kw
        )
    )
    r.delete("session:42", "ratelimit:alice")
    r.hset("session:42", mapping={"user": "alice", "csrf": "x9f2", "cart": "3"})
    check(f"{name} hexpire", r.hexpire("session:42", 1800, "csrf", "nope"), [1, -2])
    check(f"{name} hexpire nx", r.hexpire("session:42", 60, "csrf", nx=True), [0])
    check(f"{name} httl", r.httl("session:42", "csrf", "user", "nope"), [1800, -1, -2])
    at = r.hpexpiretime("session:42", "csrf")[0]
    check(f"{name} hpexpiretime", abs(at - (time.time() * 1000 + 1_800_000)) < 5000, True)
    check(f"{name} order", list(r.hgetall("session:42")), ["csrf", "user", "cart"])
    check(f"{name} encoding", r.object("encoding", "session:42"), "listpackex")
    check(f"{name} hpersist", r.hpersist("session:42", "csrf", "user"), [1, -1])
    check(f"{name} hgetex", r.hgetex("session:42", "user", "nope", px=600_000), ["alice", None])
    check(f"{name} hpttl", 0 < r.hpttl("session:42", "user")[0] <= 600_000, True)
    check(f"{name} hsetex", r.hsetex("ratelimit:alice", mapping={"/search": 1, "/cart": 1}, ex=60), 1)
    check(f"{name} hsetex fnx", r.hsetex("ratelimit:alice", "/search", 5, data_persist_option=HashDataPersistOptions.FNX), 0)
    check(f"{name} hgetdel", r.hgetdel("session:42", "cart"), ["3"])
    check(f"{name} past deletes", r.hexpireat("session:42", 1, "csrf"), [2])
    check(f"{name} hgetall", r.hgetall("session:42"), {"user": "alice"})
    # A field that really expires disappears from every read.
    r.hpexpire("ratelimit:alice", 50, "/cart")
    time.sleep(0.2)
    check(f"{name} expired", (r.hlen("ratelimit:alice"), r.hget("ratelimit:alice", "/cart")), (1, None))
    r.close()

print(f"field_ttl.py: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
