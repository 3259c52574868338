//! maxmemory (issue 11): each of the eight policies evicts what Redis's would, evictions
//! are logged as DEL and counted, denyoom commands get Redis's -OOM text when nothing can
//! be evicted, and OBJECT IDLETIME / FREQ report real access clocks.

mod common;

use common::{Client, Server};
use std::time::Duration;

fn info_field(c: &mut Client, section: &str, name: &str) -> String {
    let info = c.cmd(&format!("INFO {section}"));
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("{name} missing in INFO {section}"))
        .trim()
        .to_string()
}

fn int(reply: &str) -> i64 {
    reply.trim_start_matches(':').trim().parse().unwrap()
}

fn used(c: &mut Client) -> u64 {
    info_field(c, "memory", "used_memory").parse().unwrap()
}

fn evicted(c: &mut Client) -> u64 {
    info_field(c, "stats", "evicted_keys").parse().unwrap()
}

const VALUE: usize = 1000;

/// Sets `n` keys `prefix<i>` to 1000-byte values, with a far deadline if `ttl` (the
/// i-th key's deadline is i seconds later than the first's). Returns the replies.
fn fill(c: &mut Client, prefix: &str, n: usize, ttl: bool) -> Vec<String> {
    let v = "x".repeat(VALUE);
    (0..n)
        .map(|i| {
            let k = format!("{prefix}{i}");
            if ttl {
                c.cmdv(&["SET", &k, &v, "EX", &(100_000 + i).to_string()])
            } else {
                c.cmdv(&["SET", &k, &v])
            }
        })
        .collect()
}

fn exists(c: &mut Client, prefix: &str, n: usize) -> usize {
    (0..n)
        .filter(|i| int(&c.cmd(&format!("EXISTS {prefix}{i}"))) == 1)
        .count()
}

/// A server with room for about `keys` of our keys above what it uses empty.
fn limited(c: &mut Client, policy: &str, keys: u64) {
    assert_eq!(c.cmd("FLUSHALL"), "+OK\r\n");
    let limit = used(c) + keys * 1200;
    assert_eq!(
        c.cmdv(&["CONFIG", "SET", "maxmemory", &limit.to_string()]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmdv(&["CONFIG", "SET", "maxmemory-policy", policy]),
        "+OK\r\n"
    );
}

#[test]
fn noeviction_refuses_writes_but_serves_reads() {
    let srv = Server::start(&["--appendonly", "no"]);
    let mut c = srv.connect();
    limited(&mut c, "noeviction", 1000);
    let replies = fill(&mut c, "k", 3000, false);
    let oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
    let first_oom = replies
        .iter()
        .position(|r| r == oom)
        .expect("writes refused");
    assert!(first_oom > 500, "refused after {first_oom} keys");
    assert!(replies[first_oom..].iter().all(|r| r == oom));
    assert_eq!(c.cmd("GET k0").len(), VALUE + 9);
    assert_eq!(c.cmd("HSET h f v"), oom);
    // Inside MULTI everything but the transaction's own commands is refused.
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd("GET k0"), oom);
    assert_eq!(
        c.cmd("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    // Deleting is allowed and makes room.
    for i in 0..first_oom {
        c.cmd(&format!("DEL k{i}"));
    }
    assert_eq!(c.cmd("SET again v"), "+OK\r\n");
    assert_eq!(evicted(&mut c), 0);
    assert_eq!(
        info_field(&mut c, "memory", "maxmemory_policy"),
        "noeviction"
    );
}

#[test]
fn allkeys_policies_stay_under_the_limit_and_log_evictions_as_del() {
    let srv = Server::start(&["--appendonly", "no", "--enable-debug-command", "yes"]);
    let mut c = srv.connect();
    for policy in ["allkeys-random", "allkeys-lru", "allkeys-lfu"] {
        limited(&mut c, policy, 1000);
        let limit: u64 = info_field(&mut c, "memory", "maxmemory").parse().unwrap();
        assert_eq!(c.cmd("DEBUG WRITE-STREAM START"), "+OK\r\n");
        let before = evicted(&mut c);
        let replies = fill(&mut c, "k", 3000, false);
        let bad = replies.iter().find(|r| *r != "+OK\r\n");
        assert!(bad.is_none(), "{policy}: {bad:?}");
        // The timer may evict too, between any two of our commands: bracket the stream
        // read with the counter, and read the count with DBSIZE atomically.
        let gone = evicted(&mut c) - before;
        assert!(gone > 1000, "{policy}: {gone} evicted");
        let stream = c.cmd_bytes(&[b"DEBUG", b"WRITE-STREAM", b"READ"]);
        let gone_after = evicted(&mut c) - before;
        let dels = String::from_utf8_lossy(&stream)
            .matches("*2\r\n$3\r\nDEL\r\n")
            .count() as u64;
        assert!(
            (gone..=gone_after).contains(&dels),
            "{policy}: one DEL per eviction ({dels} DELs, {gone}..{gone_after} evicted)"
        );
        assert_eq!(c.cmd("DEBUG WRITE-STREAM STOP"), "+OK\r\n");
        drop(stream);
        let now = used(&mut c);
        let buffers: u64 = info_field(&mut c, "memory", "mem_not_counted_for_evict")
            .parse()
            .unwrap();
        assert!(
            now - buffers <= limit + 64 * 1024,
            "{policy}: {now} - {buffers} over the limit {limit}"
        );
        c.cmd("MULTI");
        c.cmd("DBSIZE");
        c.cmd("INFO stats");
        let both = c.cmd("EXEC");
        let size: u64 = both
            .split("\r\n")
            .nth(1)
            .unwrap()
            .trim_start_matches(':')
            .parse()
            .unwrap();
        let total: u64 = both
            .lines()
            .find_map(|l| l.strip_prefix("evicted_keys:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(size, 3000 - (total - before), "{policy}");
    }
}

#[test]
fn lru_and_lfu_evict_the_cold_keys() {
    let srv = Server::start(&["--appendonly", "no"]);
    let mut c = srv.connect();

    // LRU: cold keys written, two seconds pass, hot keys used; new writes evict cold ones.
    limited(&mut c, "allkeys-lru", 1000);
    fill(&mut c, "cold", 400, false);
    fill(&mut c, "hot", 400, false);
    std::thread::sleep(Duration::from_millis(2200));
    assert!(int(&c.cmd("OBJECT IDLETIME cold0")) >= 2);
    for i in 0..400 {
        c.cmd(&format!("GET hot{i}"));
    }
    assert_eq!(c.cmd("OBJECT IDLETIME hot0"), ":0\r\n");
    assert_eq!(
        c.cmd("OBJECT FREQ hot0"),
        "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    fill(&mut c, "new", 600, false);
    let (hot, cold) = (exists(&mut c, "hot", 400), exists(&mut c, "cold", 400));
    assert!(hot > 350 && cold < 200, "lru kept hot {hot}, cold {cold}");

    // LFU: hot keys read 20 times each; the counters say so; cold keys go first.
    limited(&mut c, "allkeys-lfu", 1000);
    fill(&mut c, "cold", 400, false);
    fill(&mut c, "hot", 400, false);
    for _ in 0..20 {
        for i in 0..400 {
            c.cmd(&format!("GET hot{i}"));
        }
    }
    assert!(int(&c.cmd("OBJECT FREQ hot0")) > int(&c.cmd("OBJECT FREQ cold0")));
    assert!(
        c.cmd("OBJECT IDLETIME hot0")
            .starts_with("-ERR An LFU maxmemory policy is selected, idle time not tracked.")
    );
    fill(&mut c, "new", 600, false);
    let (hot, cold) = (exists(&mut c, "hot", 400), exists(&mut c, "cold", 400));
    // New keys start with the counter cold keys have, so both make way for them.
    assert!(hot > 380 && cold < 350, "lfu kept hot {hot}, cold {cold}");
}

#[test]
fn volatile_policies_evict_only_keys_with_a_deadline() {
    let srv = Server::start(&["--appendonly", "no"]);
    let mut c = srv.connect();
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        limited(&mut c, policy, 1000);
        fill(&mut c, "keep", 300, false);
        fill(&mut c, "ttl", 600, true);
        let replies = fill(&mut c, "more", 400, false);
        assert!(replies.iter().all(|r| r == "+OK\r\n"), "{policy}");
        assert_eq!(
            exists(&mut c, "keep", 300),
            300,
            "{policy}: keys without deadline kept"
        );
        let ttl_left = exists(&mut c, "ttl", 600);
        assert!(ttl_left < 600, "{policy}");
        if policy == "volatile-ttl" {
            // The nearest deadlines went first (by sampling, so mostly): the later half
            // lost far fewer keys than the earlier half.
            let early = (0..300)
                .filter(|i| int(&c.cmd(&format!("EXISTS ttl{i}"))) == 1)
                .count();
            let (early_gone, late_gone) = (300 - early, 300 - (ttl_left - early));
            assert!(
                late_gone * 4 <= early_gone,
                "{policy}: {early_gone} early, {late_gone} late gone"
            );
        }
        // Once every volatile key is gone, writes are refused.
        let replies = fill(&mut c, "flood", 2000, false);
        assert!(
            replies.iter().any(|r| r.starts_with("-OOM")),
            "{policy}: never refused"
        );
        assert_eq!(exists(&mut c, "ttl", 600), 0, "{policy}");
        assert_eq!(exists(&mut c, "keep", 300), 300, "{policy}");
    }
}

#[test]
fn evictions_reach_the_aof_and_replay() {
    let srv_dir = common::TempDir::new("maxmem-aof");
    let mut srv = Server::start_in(
        srv_dir.path(),
        &["--appendonly", "yes", "--appendfsync", "always"],
    );
    let mut c = srv.connect();
    limited(&mut c, "allkeys-random", 500);
    fill(&mut c, "k", 1500, false);
    let size = int(&c.cmd("DBSIZE"));
    assert!(size < 1500 && evicted(&mut c) as i64 == 1500 - size);
    drop(c);
    srv.kill9();
    let srv = Server::start_in(srv_dir.path(), &["--appendonly", "yes"]);
    let mut c = srv.connect();
    assert_eq!(
        int(&c.cmd("DBSIZE")),
        size,
        "replay removes what was evicted"
    );
}

/// Keys evicted while a fork-less rewrite has them pending are first copied to the new
/// base, and that copy waits in the rewrite's batch: it must not count as used memory
/// (Redis leaves its fork's copy-on-write out too), or each eviction frees almost
/// nothing and the evictor empties the keyspace to make room for a few writes.
#[test]
fn evictions_during_a_rewrite_free_what_they_evict() {
    let srv = Server::start(&["--appendonly", "yes", "--appendfsync", "no"]);
    let mut c = srv.connect();
    while info_field(&mut c, "persistence", "aof_rewrite_in_progress") != "0" {
        std::thread::sleep(Duration::from_millis(20));
    }
    limited(&mut c, "allkeys-random", 20_000);
    let v = "x".repeat(VALUE);
    let pipelined = |c: &mut Client, prefix: &str, n: usize| {
        for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
            let mut req = Vec::new();
            for i in chunk {
                let k = format!("{prefix}{i}");
                req.extend(Client::encode(&[b"SET", k.as_bytes(), v.as_bytes()]));
            }
            c.send_raw(&req);
            for _ in chunk {
                assert_eq!(String::from_utf8_lossy(&c.read_reply()), "+OK\r\n");
            }
        }
    };
    pipelined(&mut c, "a", 24_000);
    let before = evicted(&mut c);
    assert!(before > 0, "the fill reached maxmemory");
    let rewrites: u64 = info_field(&mut c, "persistence", "aof_rewrites")
        .parse()
        .unwrap();
    assert!(c.cmd("BGREWRITEAOF").starts_with('+'));
    pipelined(&mut c, "b", 4_000);
    let during = info_field(&mut c, "persistence", "aof_rewrite_in_progress");
    common::wait_rewrites(&mut c, rewrites + 1, 30);
    let n = evicted(&mut c) - before;
    assert!(
        (3_000..=6_000).contains(&n),
        "4000 writes of one key's size evicted {n} keys (rewrite still running after them: {during})"
    );
}
