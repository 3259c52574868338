"""redis-py's Sentinel client against ferrokv nodes after a failover.

Usage: sentinel.py <sentinel port> <expected master port> <expected replica port...>

Asks Sentinel for the master and the replicas, checks they include the nodes the test
says, writes through master_for and reads the write back through master_for and
slave_for (once the replica has it), in RESP2 and RESP3.
"""
import sys
import time

from redis.sentinel import Sentinel

sport, master_port = int(sys.argv[1]), int(sys.argv[2])
replica_ports = sorted(int(p) for p in sys.argv[3:])
failures = 0
checks = 0


def check(what, ok):
    global failures, checks
    checks += 1
    if not ok:
        failures += 1
        print("FAIL:", what)


for protocol in (2, 3):
    s = Sentinel([("127.0.0.1", sport)], socket_timeout=2, protocol=protocol)
    # Right after a failover Sentinel may still report the new master as down for a
    # moment: ask until it answers (as a client retrying its connection would).
    deadline = time.time() + 15
    while True:
        try:
            host, port = s.discover_master("mymaster")
            break
        except Exception:
            if time.time() > deadline:
                print(s.sentinels[0].sentinel_masters())
                raise
            time.sleep(0.2)
    check(f"RESP{protocol} discover_master gives port {master_port}, got {port}", port == master_port)
    # The old master may be listed too (Sentinel makes it a replica of the new one).
    found = sorted(p for _, p in s.discover_slaves("mymaster"))
    check(
        f"RESP{protocol} discover_slaves lists {replica_ports}, got {found}",
        set(replica_ports) <= set(found),
    )
    m = s.master_for("mymaster", socket_timeout=2, protocol=protocol)
    key = f"sentinel:py:{protocol}"
    m.set(key, "written through master_for")
    m.hset(f"{key}:h", mapping={"a": "1", "b": "2"})
    check("read back through master_for", m.get(key) == b"written through master_for")
    check("role is master", m.execute_command("ROLE")[0] in (b"master", "master"))
    r = s.slave_for("mymaster", socket_timeout=2, protocol=protocol)
    deadline = time.time() + 10
    got = None
    while time.time() < deadline:
        got = r.get(key)
        if got is not None:
            break
        time.sleep(0.05)
    check(f"read through slave_for, got {got!r}", got == b"written through master_for")
    check("hash through slave_for", r.hgetall(f"{key}:h") == {b"a": b"1", b"b": b"2"})
    try:
        r.set("nope", "1")
        check("a write through slave_for is refused", False)
    except Exception as e:  # redis.exceptions.ReadOnlyError
        check(f"READONLY from the replica, got {e}", "READONLY" in str(e) or "read only" in str(e))

print(f"{checks - failures}/{checks} checks passed")
sys.exit(1 if failures else 0)
