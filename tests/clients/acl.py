#!/usr/bin/env python3
"""redis-py logging in as an ACL user (username + password), in RESP2 (AUTH user pass)
and RESP3 (HELLO 3 AUTH user pass), with the hiredis and pure-Python parsers: allowed
commands run, refused ones raise NoPermissionError, a wrong password AuthenticationError.

Usage: acl.py PORT. The server must have the user `app` with password `app-pw`, keys
`app:*` and `+@all -@dangerous`. Exits non-zero if any check failed; last line:
"acl.py: N passed, N failed".
"""

import sys

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


def raises(what, exc, fn):
    global passed, failed
    try:
        fn()
    except exc:
        passed += 1
        return
    except Exception as e:  # noqa: BLE001 - any other error is a failure
        failed += 1
        print(f"FAIL {what}: raised {type(e).__name__}: {e}")
        return
    failed += 1
    print(f"FAIL {what}: did not raise {exc.__name__}")


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
            port=PORT, username="app", password="app-pw", decode_responses=True,
            socket_timeout=10, **kw,
        )
    )
    check(f"{name} whoami", r.acl_whoami(), "app")
    check(f"{name} hset", r.hset("app:1", mapping={"name": "Alice"}), 1)
    check(f"{name} hget", r.hget("app:1", "name"), "Alice")
    raises(f"{name} other key", redis.exceptions.NoPermissionError, lambda: r.get("other"))
    raises(f"{name} flushall", redis.exceptions.NoPermissionError, lambda: r.flushall())
    r.delete("app:1")
    r.close()
    bad = redis.Redis(
        connection_pool=redis.ConnectionPool(
            port=PORT, username="app", password="nope", socket_timeout=10, **kw
        )
    )
    raises(f"{name} wrong password", redis.exceptions.AuthenticationError, lambda: bad.ping())
    bad.close()

print(f"acl.py: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
