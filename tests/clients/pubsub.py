#!/usr/bin/env python3
"""Pub/sub through redis-py's own PubSub object (subscribe, psubscribe, get_message,
listen, handlers, unsubscribe), in RESP2 and RESP3 with both parsers, plus keyspace
notifications as a client library receives them.

Usage: pubsub.py PORT. Exits non-zero if any check failed; last line:
"pubsub.py: N passed, N failed".
"""

import sys
import time

import redis
from redis._parsers import _RESP2Parser, _RESP3Parser
from redis._parsers.hiredis import _HiredisParser

PORT = int(sys.argv[1])
passed = failed = 0


def check(what, got, want):
    global passed, failed
    if got == want:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {what}: got {got!r}, want {want!r}")


def next_message(p, timeout=5.0):
    """The next message of `p` that is not None, or None after `timeout` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = p.get_message(timeout=0.1)
        if m is not None:
            return m
    return None


CONFIGS = [
    ("resp2/hiredis", dict(protocol=2, parser_class=_HiredisParser)),
    ("resp3/hiredis", dict(protocol=3, parser_class=_HiredisParser)),
    ("resp2/python", dict(protocol=2, parser_class=_RESP2Parser)),
    ("resp3/python", dict(protocol=3, parser_class=_RESP3Parser)),
]

for name, kw in CONFIGS:
    r = redis.Redis(
        connection_pool=redis.ConnectionPool(
            port=PORT, decode_responses=True, socket_timeout=10, **kw
        )
    )
    p = r.pubsub()
    p.subscribe("news", "sport")
    check(f"{name} subscribed 1", next_message(p), {"type": "subscribe", "pattern": None, "channel": "news", "data": 1})
    check(f"{name} subscribed 2", next_message(p), {"type": "subscribe", "pattern": None, "channel": "sport", "data": 2})
    p.psubscribe("n*")
    check(f"{name} psubscribed", next_message(p), {"type": "psubscribe", "pattern": None, "channel": "n*", "data": 3})
    check(f"{name} publish count", r.publish("news", "hello"), 2)
    check(f"{name} message", next_message(p), {"type": "message", "pattern": None, "channel": "news", "data": "hello"})
    check(f"{name} pmessage", next_message(p), {"type": "pmessage", "pattern": "n*", "channel": "news", "data": "hello"})
    check(f"{name} numsub", r.pubsub_numsub("news", "none"), [("news", 1), ("none", 0)])
    check(f"{name} numpat", r.pubsub_numpat(), 1)
    check(f"{name} channels", sorted(r.pubsub_channels()), ["news", "sport"])
    # A handler runs instead of the message being returned.
    got = []
    p.subscribe(**{"alerts": lambda m: got.append(m["data"])})
    next_message(p)
    r.publish("alerts", "fire")
    for _ in range(50):
        p.get_message(timeout=0.1)
        if got:
            break
    check(f"{name} handler", got, ["fire"])
    # PING on the pub/sub connection: a `pong` message in RESP2's subscribed mode (in
    # RESP3 a plain +PONG, which redis-py's PubSub reads oddly, from Redis too).
    p.ping()
    pong = next_message(p)
    check(f"{name} ping", pong is not None and (kw["protocol"] == 3 or pong["type"] == "pong"), True)
    p.unsubscribe()
    p.punsubscribe()
    kinds = set()
    for _ in range(4):
        m = next_message(p)
        if m:
            kinds.add(m["type"])
    check(f"{name} unsubscribed", kinds, {"unsubscribe", "punsubscribe"})
    check(f"{name} nobody left", r.publish("news", "x"), 0)
    p.close()

    # Keyspace notifications, as a library's listen() loop sees them.
    r.config_set("notify-keyspace-events", "KEA")
    p = r.pubsub(ignore_subscribe_messages=True)
    p.psubscribe("__keyspace@0__:user:*", "__keyevent@0__:del")
    next_message(p, 0.3)
    r.set("user:1", "x")
    r.delete("user:1")
    seen = []
    for _ in range(3):
        m = next_message(p)
        if m:
            seen.append((m["channel"], m["data"]))
    check(
        f"{name} notifications",
        seen,
        [("__keyspace@0__:user:1", "set"), ("__keyspace@0__:user:1", "del"), ("__keyevent@0__:del", "user:1")],
    )
    p.close()
    r.config_set("notify-keyspace-events", "")
    r.close()

print(f"pubsub.py: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
