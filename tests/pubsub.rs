//! Pub/sub: SUBSCRIBE and friends, PUBLISH, PUBSUB, subscribed-mode rules in RESP2 and
//! RESP3, cleanup on RESET and disconnect, the pubsub output buffer limit, ACL channel
//! rules, and keyspace notifications.
//!
//! Scenarios run on several connections at once. Where a redis-server is installed they
//! run against it too and every step's bytes, on every connection, must be the same
//! (without one the test is skipped, unless CI is set, where it fails); the tests that
//! need no reference assert bytes verified against redis-server 7.0.15.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Client, Server};

/// How long a connection must stay quiet before a step's output counts as complete.
const QUIET: Duration = Duration::from_millis(25);

/// Several raw connections to one server.
struct Conns(Vec<TcpStream>);

impl Conns {
    fn open(port: u16, n: usize) -> Conns {
        Conns(
            (0..n)
                .map(|_| {
                    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                    s.set_nodelay(true).unwrap();
                    s
                })
                .collect(),
        )
    }

    /// Sends `line` (split on spaces) on connection `i`, waits for its first reply
    /// bytes, then returns everything every connection received until all are quiet.
    /// `WAIT ms` sends nothing: it waits, then collects what arrived meanwhile (events
    /// of the expiry timer).
    fn step(&mut self, i: usize, line: &str) -> Vec<Vec<u8>> {
        if let Some(ms) = line.strip_prefix("WAIT ") {
            std::thread::sleep(Duration::from_millis(ms.parse().unwrap()));
            let mut got = vec![Vec::new(); self.0.len()];
            self.drain(&mut got);
            return got;
        }
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        self.0[i].write_all(&Client::encode(&args)).unwrap();
        let mut got = vec![Vec::new(); self.0.len()];
        let deadline = Instant::now() + Duration::from_secs(5);
        while got[i].is_empty() && Instant::now() < deadline {
            read_some(&mut self.0[i], &mut got[i], Duration::from_millis(100));
        }
        self.drain(&mut got);
        got
    }

    /// Adds what arrives on every connection to `got` until none has had anything for
    /// `QUIET`.
    fn drain(&mut self, got: &mut [Vec<u8>]) {
        let mut last = Instant::now();
        while last.elapsed() < QUIET {
            for (c, buf) in self.0.iter_mut().zip(got.iter_mut()) {
                c.set_nonblocking(true).unwrap();
                let mut tmp = [0u8; 65536];
                while let Ok(n) = c.read(&mut tmp) {
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&tmp[..n]);
                    last = Instant::now();
                }
                c.set_nonblocking(false).unwrap();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Reads what arrives on `s` within `wait`; true if anything did.
fn read_some(s: &mut TcpStream, buf: &mut Vec<u8>, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut tmp = [0u8; 65536];
    match s.read(&mut tmp) {
        Ok(n) if n > 0 => {
            buf.extend_from_slice(&tmp[..n]);
            true
        }
        Ok(_) => false,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
        Err(e) => panic!("read: {e}"),
    }
}

/// Runs `steps` (connection, command) on ferrokv and, if installed, on redis-server,
/// and compares every step's output on every connection. Returns ferrokv's outputs.
/// `hello` lines are compared without their (differing) client ids.
fn differential(test: &str, conns: usize, extra: &[&str], steps: &[(usize, &str)]) -> bool {
    let Some(redis) = reference(test, extra) else {
        return false;
    };
    differential_with(test, conns, extra, steps, redis)
}

/// `differential` against the given reference server.
fn differential_with(
    test: &str,
    conns: usize,
    extra: &[&str],
    steps: &[(usize, &str)],
    redis: Server,
) -> bool {
    let fk = Server::start(&[&["--appendonly", "no"], extra].concat());
    let (mut a, mut b) = (Conns::open(fk.port, conns), Conns::open(redis.port, conns));
    for (n, &(i, line)) in steps.iter().enumerate() {
        let (ours, theirs) = (a.step(i, line), b.step(i, line));
        if line.starts_with("HELLO") {
            continue;
        }
        for c in 0..conns {
            assert_eq!(
                String::from_utf8_lossy(&ours[c]),
                String::from_utf8_lossy(&theirs[c]),
                "{test}: step {n} (`{line}` on connection {i}): output of connection {c} differs (left ferrokv, right redis)"
            );
        }
    }
    true
}

/// A redis-server with `extra` arguments, or None (skipped) when none is installed
/// outside CI.
fn reference(test: &str, extra: &[&str]) -> Option<Server> {
    if common::which("redis-server").is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: redis-server is missing but CI is set"
        );
        eprintln!("SKIPPED {test}: redis-server not found");
        return None;
    }
    Some(Server::start_redis_bin(&common::which("redis-server").unwrap(), extra).unwrap())
}

#[test]
fn resp2_subscriptions_match_redis() {
    differential(
        "resp2_subscriptions_match_redis",
        3,
        &[],
        &[
            (0, "UNSUBSCRIBE"),
            (0, "PUNSUBSCRIBE"),
            (0, "SUNSUBSCRIBE"),
            (0, "SUBSCRIBE news news"),
            (0, "PSUBSCRIBE n*"),
            (1, "PSUBSCRIBE ?ews"),
            (1, "SSUBSCRIBE news"),
            (2, "PUBLISH news hello"),
            (2, "PUBLISH nothing x"),
            (2, "PUBLISH other x"),
            (2, "SPUBLISH news shard"),
            (2, "PUBSUB NUMSUB news nothing"),
            (2, "PUBSUB SHARDNUMSUB news"),
            (2, "PUBSUB NUMPAT"),
            (2, "PUBSUB CHANNELS"),
            (2, "PUBSUB CHANNELS n?ws"),
            (2, "PUBSUB CHANNELS x*"),
            (2, "PUBSUB SHARDCHANNELS"),
            (2, "PUBSUB CHANNELS a b"),
            (2, "PUBSUB NUMPAT x"),
            (2, "PUBSUB HELP"),
            (2, "PUBSUB nope"),
            // Subscribed mode: only the subscription commands, PING, QUIT and RESET.
            (0, "GET k"),
            (0, "CONFIG GET maxmemory"),
            (0, "PUBLISH news x"),
            (0, "MULTI"),
            (0, "EXEC"),
            (0, "PING"),
            (0, "PING hi"),
            (0, "PING a b"),
            (0, "SUBSCRIBE"),
            (0, "UNSUBSCRIBE nothing"),
            (0, "UNSUBSCRIBE news"),
            (0, "PUNSUBSCRIBE n*"),
            (0, "PUNSUBSCRIBE"),
            (0, "GET k"),
            (0, "PING"),
            (1, "SUNSUBSCRIBE news"),
            (1, "PING"),
            (1, "PUNSUBSCRIBE ?ews"),
            (2, "PUBLISH news bye"),
            (1, "RESET"),
            (1, "PING"),
            (2, "PUBSUB NUMPAT"),
            (2, "PUBLISH news nobody"),
            // SUBSCRIBE inside a transaction is allowed, SSUBSCRIBE is not (Redis 7.0).
            (2, "MULTI"),
            (2, "SUBSCRIBE t"),
            (2, "SSUBSCRIBE u"),
            (2, "EXEC"),
            (0, "PUBLISH t after-exec"),
            (2, "UNSUBSCRIBE"),
            (2, "GET k"),
        ],
    );
}

#[test]
fn resp3_subscriptions_match_redis() {
    differential(
        "resp3_subscriptions_match_redis",
        3,
        &[],
        &[
            (0, "HELLO 3"),
            (1, "HELLO 3"),
            (0, "UNSUBSCRIBE"),
            (0, "SUBSCRIBE news"),
            (0, "PSUBSCRIBE n*"),
            (0, "SSUBSCRIBE s"),
            // Anything goes while subscribed in RESP3, and PING is PONG.
            (0, "PING"),
            (0, "SET k v"),
            (0, "GET k"),
            (0, "GET nothing"),
            (1, "SUBSCRIBE news"),
            (2, "PUBLISH news hello"),
            (2, "SPUBLISH s x"),
            // The publisher hears its own message.
            (0, "PUBLISH news mine"),
            (1, "PUBLISH nx via-pattern"),
            (0, "SPUBLISH s mine"),
            (0, "UNSUBSCRIBE news"),
            (0, "PUNSUBSCRIBE"),
            (0, "SUNSUBSCRIBE s nothing"),
            (0, "UNSUBSCRIBE"),
            (2, "PUBLISH news last"),
            (1, "RESET"),
            (1, "GET k"),
            (2, "PUBSUB NUMSUB news"),
            // A transaction's subscription arrives as a push inside EXEC's array.
            (0, "MULTI"),
            (0, "SUBSCRIBE t"),
            (0, "GET k"),
            (0, "EXEC"),
        ],
    );
}

#[test]
fn acl_channel_rules_match_redis() {
    differential(
        "acl_channel_rules_match_redis",
        2,
        &[],
        &[
            (
                1,
                "ACL SETUSER u on nopass +@all ~* resetchannels &chan* &lit",
            ),
            (0, "AUTH u x"),
            (0, "PUBLISH other x"),
            (0, "PUBLISH chanx x"),
            (0, "SUBSCRIBE chan1 other"),
            (0, "PSUBSCRIBE ch*"),
            (0, "PSUBSCRIBE chan*"),
            (0, "PSUBSCRIBE lit"),
            (0, "SSUBSCRIBE other"),
            (0, "UNSUBSCRIBE other"),
            (0, "PUBLISH other x"),
            (1, "ACL DRYRUN u publish other x"),
            (1, "ACL DRYRUN u psubscribe ch*"),
            (1, "ACL DRYRUN u subscribe chan1 other"),
            (1, "ACL DRYRUN u spublish chanx m"),
            (1, "ACL SETUSER w on nopass +@all ~* allchannels"),
            (1, "ACL DRYRUN w psubscribe *"),
            (1, "ACL LOG RESET"),
        ],
    );
}

/// The bytes Redis 7.0.15 sends, asserted without a reference server.
#[test]
fn subscribed_mode_bytes() {
    let fk = Server::start(&["--appendonly", "no"]);
    let mut c = Conns::open(fk.port, 2);
    let s = |v: &[Vec<u8>], i: usize| String::from_utf8_lossy(&v[i]).into_owned();
    assert_eq!(
        s(&c.step(0, "UNSUBSCRIBE"), 0),
        "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    );
    assert_eq!(
        s(&c.step(0, "SUBSCRIBE a b"), 0),
        "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"
    );
    assert_eq!(
        s(&c.step(0, "GET x"), 0),
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
    assert_eq!(s(&c.step(0, "PING"), 0), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    let out = c.step(1, "PUBLISH b hi");
    assert_eq!(s(&out, 1), ":1\r\n");
    assert_eq!(s(&out, 0), "*3\r\n$7\r\nmessage\r\n$1\r\nb\r\n$2\r\nhi\r\n");
    // Unsubscribing from everything counts down, in subscription order.
    assert_eq!(
        s(&c.step(0, "UNSUBSCRIBE"), 0),
        "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n"
    );
    assert_eq!(s(&c.step(0, "PING"), 0), "+PONG\r\n");
    c.step(1, "HELLO 3");
    let out = c.step(1, "PSUBSCRIBE *");
    assert_eq!(s(&out, 1), ">3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n");
    let out = c.step(0, "PUBLISH ch m");
    assert_eq!(s(&out, 0), ":1\r\n");
    assert_eq!(
        s(&out, 1),
        ">4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$2\r\nch\r\n$1\r\nm\r\n"
    );
}

fn info_field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {info}"))
        .trim()
        .to_string()
}

/// CLIENT LIST / INFO count subscriptions and flag the client `P`; TYPE picks pubsub
/// clients; INFO stats counts live channels and patterns.
#[test]
fn introspection_counts_subscriptions() {
    let fk = Server::start(&["--appendonly", "no"]);
    let mut sub = fk.connect();
    let mut c = fk.connect();
    sub.cmd("HELLO 3");
    sub.cmd("SUBSCRIBE a");
    sub.cmd("SUBSCRIBE b");
    sub.cmd("PSUBSCRIBE p*");
    sub.cmd("SSUBSCRIBE s");
    let info = sub.cmd("CLIENT INFO");
    assert!(
        info.contains(" flags=P db=0 sub=2 psub=1 ssub=1 "),
        "{info}"
    );
    sub.cmd("MULTI");
    let list = c.cmd("CLIENT LIST");
    assert!(
        list.contains(" flags=Px db=0 sub=2 psub=1 ssub=1 "),
        "{list}"
    );
    sub.cmd("DISCARD");
    let list = c.cmd("CLIENT LIST TYPE pubsub");
    assert_eq!(list.matches("id=").count(), 1, "{list}");
    assert!(list.contains("flags=P "), "{list}");
    let normal = c.cmd("CLIENT LIST TYPE normal");
    assert!(normal.contains("cmd=client|list"), "{normal}");
    assert!(!normal.contains("flags=P"), "{normal}");
    let stats = c.cmd("INFO stats");
    assert_eq!(info_field(&stats, "pubsub_channels"), "2");
    assert_eq!(info_field(&stats, "pubsub_patterns"), "1");
    assert_eq!(info_field(&stats, "pubsubshard_channels"), "1");
    assert_eq!(c.cmd("CLIENT KILL TYPE pubsub"), ":1\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.cmd("PUBSUB NUMPAT") != ":0\r\n" {
        assert!(
            Instant::now() < deadline,
            "the killed subscriber kept its pattern"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = c.cmd("INFO stats");
    assert_eq!(info_field(&stats, "pubsub_channels"), "0");
    assert_eq!(info_field(&stats, "pubsubshard_channels"), "0");
}

/// A disconnected subscriber leaves nothing behind, and RESET leaves subscribed mode.
#[test]
fn disconnect_and_reset_drop_subscriptions() {
    let fk = Server::start(&["--appendonly", "no"]);
    let mut c = fk.connect();
    {
        let mut gone = fk.connect();
        gone.cmd("SUBSCRIBE x y");
        gone.cmd("PSUBSCRIBE *");
        gone.cmd("SSUBSCRIBE z");
        assert_eq!(c.cmd("PUBLISH x m"), ":2\r\n");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.cmd("PUBLISH x m") != ":0\r\n" {
        assert!(
            Instant::now() < deadline,
            "subscriptions outlived their client"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(c.cmd("PUBSUB CHANNELS"), "*0\r\n");
    assert_eq!(c.cmd("PUBSUB SHARDCHANNELS"), "*0\r\n");
    assert_eq!(c.cmd("PUBSUB NUMPAT"), ":0\r\n");
    let mut r = fk.connect();
    r.cmd("SUBSCRIBE x");
    assert_eq!(r.cmd("RESET"), "+RESET\r\n");
    assert_eq!(r.cmd("GET k"), "$-1\r\n");
    assert_eq!(c.cmd("PUBLISH x m"), ":0\r\n");
}

/// PUBLISH is a command like any other for statistics and MONITOR, but never reaches the
/// write stream (the AOF).
#[test]
fn publish_is_not_persisted() {
    let fk = Server::start(&["--appendonly", "no", "--enable-debug-command", "yes"]);
    let mut c = fk.connect();
    assert_eq!(c.cmd("DEBUG WRITE-STREAM START"), "+OK\r\n");
    c.cmd("PUBLISH ch m");
    c.cmd("SPUBLISH ch m");
    c.cmd("SET k v");
    let tap = c.cmd("DEBUG WRITE-STREAM READ");
    assert!(tap.contains("SET"), "{tap}");
    assert!(!tap.contains("PUBLISH") && !tap.contains("ch"), "{tap}");
    let stats = c.cmd("INFO commandstats");
    assert!(stats.contains("cmdstat_publish:calls=1,"), "{stats}");
}

/// A subscriber that does not read is disconnected once its unsent output passes the
/// pubsub class's hard limit; the publisher is unaffected.
#[test]
fn slow_subscriber_hits_hard_limit() {
    let fk = Server::start(&[
        "--appendonly",
        "no",
        "--client-output-buffer-limit",
        "pubsub 1mb 0 0",
    ]);
    let mut sub = fk.connect();
    sub.cmd("SUBSCRIBE big");
    let mut publ = fk.connect();
    let payload = vec![b'x'; 256 * 1024];
    // Far more than the limit and the kernel's socket buffers together.
    let mut last = Vec::new();
    for _ in 0..400 {
        last = publ.cmd_bytes(&[b"PUBLISH", b"big", &payload]);
        if last == b":0\r\n" {
            break;
        }
    }
    assert_eq!(last, b":0\r\n", "the subscriber was never disconnected");
    assert_eq!(publ.cmd("PUBSUB NUMSUB big"), "*2\r\n$3\r\nbig\r\n:0\r\n");
    assert!(
        fk.log_text()
            .contains("for overcoming of output buffer limits"),
        "{}",
        fk.log_text()
    );
    // What it had been sent, then the end of the stream.
    let got = sub.read_to_close();
    assert!(got.len() < 64 * 1024 * 1024, "{} bytes", got.len());
}

/// Over the soft limit for longer than its seconds also disconnects; under it, never.
#[test]
fn slow_subscriber_hits_soft_limit() {
    let fk = Server::start(&[
        "--appendonly",
        "no",
        "--client-output-buffer-limit",
        "pubsub 0 1mb 0",
    ]);
    let mut sub = fk.connect();
    sub.cmd("SUBSCRIBE big");
    let mut publ = fk.connect();
    let payload = vec![b'x'; 256 * 1024];
    // Well past the soft limit and the kernel's socket buffers, quickly: still connected.
    for i in 0..80 {
        let r = publ.cmd_bytes(&[b"PUBLISH", b"big", &payload]);
        assert_eq!(r, b":1\r\n", "message {i}");
    }
    // Whole seconds later (Redis's clock), the next message finds it still over.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(publ.cmd_bytes(&[b"PUBLISH", b"big", &payload]), b":1\r\n");
    assert_eq!(publ.cmd("PUBLISH big x"), ":0\r\n");
    assert_eq!(publ.cmd("PUBSUB NUMSUB big"), "*2\r\n$3\r\nbig\r\n:0\r\n");
}

#[test]
fn output_limit_config_round_trip() {
    let fk = Server::start(&["--appendonly", "no"]);
    let mut c = fk.connect();
    assert_eq!(
        c.cmd("CONFIG GET client-output-buffer-limit"),
        "*2\r\n$26\r\nclient-output-buffer-limit\r\n$67\r\nnormal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60\r\n"
    );
    assert_eq!(
        c.cmdv(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1mb 512kb 5"
        ]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmd("CONFIG GET client-output-buffer-limit"),
        "*2\r\n$26\r\nclient-output-buffer-limit\r\n$64\r\nnormal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 5\r\n"
    );
}

/// Events of a representative command of every type, as Redis 7 publishes them, seen by
/// a pattern subscriber (RESP2) and a RESP3 client listening to one key's channel.
#[test]
fn keyspace_events_match_redis() {
    let mut steps: Vec<(usize, &str)> = vec![
        (2, "HELLO 3"),
        (0, "PSUBSCRIBE __key*@*__:*"),
        (2, "SUBSCRIBE __keyspace@0__:k"),
        (1, "CONFIG SET notify-keyspace-events KEAn"),
    ];
    let commands = [
        "SET k v",
        "SET k v2 EX 100",
        "SETEX k 100 v",
        "GETSET k v3",
        "APPEND k x",
        "SETRANGE k 1 yy",
        "INCR n",
        "INCRBY n 5",
        "INCRBYFLOAT n 1.5",
        "MSET a 1 b 2",
        "MSETNX a 1 c 3",
        "GETDEL c",
        "DEL a b nope",
        "RENAME k k2",
        "COPY k2 k3",
        "COPY k2 k3 DB 1",
        "MOVE k3 1",
        "EXPIRE k2 100",
        "PERSIST k2",
        "EXPIRE k2 0",
        "GETEX n PX 100000",
        "GETEX n PERSIST",
        "LPUSH l a b c",
        "RPUSH l d",
        "LPUSHX nolist x",
        "LPOP l",
        "RPOP l 2",
        "LSET l 0 z",
        "LINSERT l BEFORE z y",
        "LREM l 0 y",
        "LTRIM l 0 -1",
        "RPUSH l2 1 2",
        "LMOVE l2 l LEFT RIGHT",
        "RPOPLPUSH l2 l",
        "SORT l ALPHA STORE sorted",
        "SORT nothing STORE sorted",
        "LTRIM l 5 4",
        "SADD s a b c d",
        "SADD s a",
        "SREM s a",
        "SADD one x",
        "SPOP one",
        "SMOVE s s2 d",
        "SADD t x",
        "SINTERSTORE dst s t",
        "SUNIONSTORE dst s2 t",
        "SDIFFSTORE dst nothing",
        "ZADD z 1 a 2 b 3 c",
        "ZADD z 1 a",
        "ZINCRBY z 5 a",
        "ZREM z a",
        "ZREMRANGEBYSCORE z 0 2",
        "ZADD z 1 d",
        "ZPOPMIN z",
        "ZUNIONSTORE zd 1 z",
        "ZPOPMAX z",
        "ZADD z 1 a 2 b",
        "ZMPOP 1 z MIN COUNT 5",
        "ZADD z 1 a",
        "ZRANGESTORE zd z 0 -1",
        "ZINTERSTORE zd 2 z nothing",
        "HSET h f 1 g 2",
        "HSETNX h f 9",
        "HINCRBY h f 2",
        "HINCRBYFLOAT h f 0.5",
        "HDEL h f g",
        "SET e v PX 100",
    ];
    for cmd in commands {
        steps.push((1, cmd));
    }
    // Expires while nobody looks: the expiry timer reports it.
    steps.push((0, "WAIT 500"));
    steps.push((1, "GET e"));
    // Expires unseen by the timer (turned off): the read that finds it reports it.
    steps.push((1, "DEBUG SET-ACTIVE-EXPIRE 0"));
    steps.push((1, "SET e v PX 1"));
    steps.push((0, "WAIT 50"));
    steps.push((1, "GET e"));
    steps.push((1, "DEBUG SET-ACTIVE-EXPIRE 1"));
    steps.push((1, "CONFIG SET notify-keyspace-events Elg"));
    steps.push((1, "LPUSH l x"));
    steps.push((1, "DEL l"));
    steps.push((1, "CONFIG GET notify-keyspace-events"));
    steps.push((1, "CONFIG SET notify-keyspace-events K"));
    steps.push((1, "SET k v"));
    steps.push((1, "CONFIG SET notify-keyspace-events Q"));
    differential(
        "keyspace_events_match_redis",
        3,
        &["--enable-debug-command", "yes"],
        &steps,
    );
}

/// Hash field expiry's events (`hexpire`, `hexpired`, `hpersist`, `hdel`, and `del` when
/// the last field goes) as Redis 8 publishes them (Redis 7 has no field expiry).
#[test]
fn hash_field_events_match_redis8() {
    let test = "hash_field_events_match_redis8";
    let Some(bin) = common::redis8_bin() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: Redis 8 is missing but CI is set (scripts/setup-test-deps)"
        );
        eprintln!("SKIPPED {test}: Redis 8 not installed (scripts/setup-redis8)");
        return;
    };
    let redis = Server::start_redis_bin(&bin, &[]).expect("Redis 8 did not start");
    differential_with(
        test,
        2,
        &[],
        &[
            (0, "PSUBSCRIBE __keyspace@0__:*"),
            (1, "CONFIG SET notify-keyspace-events Kgh"),
            (1, "HSET h f v g w x y"),
            (1, "HPEXPIRE h 150 FIELDS 1 f"),
            (0, "WAIT 500"),
            (1, "HPEXPIRE h 100000 FIELDS 2 g nope"),
            (1, "HPERSIST h FIELDS 1 g"),
            (1, "HEXPIRE h 0 FIELDS 1 x"),
            (1, "HPEXPIRE h 150 FIELDS 1 g"),
            (0, "WAIT 500"),
            (1, "HSET h2 a 1"),
            (1, "HGETDEL h2 FIELDS 1 a"),
            (1, "HSETEX h3 PX 100000 FIELDS 1 a 1"),
            (1, "HGETEX h3 PERSIST FIELDS 1 a"),
        ],
        redis,
    );
}

/// A key evicted under `maxmemory` is reported (`evicted`, class e).
#[test]
fn evicted_keys_are_reported() {
    let fk = Server::start(&["--appendonly", "no"]);
    let mut c = Conns::open(fk.port, 2);
    let s = |v: &[Vec<u8>], i: usize| String::from_utf8_lossy(&v[i]).into_owned();
    c.step(0, "PSUBSCRIBE __key*@0__:*");
    c.step(1, "CONFIG SET notify-keyspace-events KEe");
    c.step(1, "SET big 0123456789");
    c.step(1, "CONFIG SET maxmemory-policy allkeys-lru");
    c.step(1, "CONFIG SET maxmemory 1");
    let out = c.step(1, "GET big");
    let mut events = s(&out, 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while events.is_empty() && Instant::now() < deadline {
        events = s(&c.step(1, "PING"), 0);
    }
    assert_eq!(
        events,
        "*4\r\n$8\r\npmessage\r\n$12\r\n__key*@0__:*\r\n$18\r\n__keyspace@0__:big\r\n$7\r\nevicted\r\n\
         *4\r\n$8\r\npmessage\r\n$12\r\n__key*@0__:*\r\n$22\r\n__keyevent@0__:evicted\r\n$3\r\nbig\r\n"
    );
    c.step(1, "CONFIG SET maxmemory 0");
}

/// With notifications off (the default) nothing is published, and a subscriber to
/// every channel hears only PUBLISH.
#[test]
fn no_events_by_default() {
    let fk = Server::start(&["--appendonly", "no"]);
    let mut c = Conns::open(fk.port, 2);
    c.step(0, "PSUBSCRIBE *");
    for cmd in [
        "SET k v",
        "DEL k",
        "HSET h f v",
        "LPUSH l a",
        "SET e v PX 1",
    ] {
        assert!(c.step(1, cmd)[0].is_empty(), "{cmd} published something");
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(c.step(1, "GET e")[0].is_empty());
    assert_eq!(
        String::from_utf8_lossy(&c.step(1, "CONFIG GET notify-keyspace-events")[1]),
        "*2\r\n$22\r\nnotify-keyspace-events\r\n$0\r\n\r\n"
    );
}

/// Loading (here DEBUG RELOAD, an AOF replay) publishes nothing: Redis's loads send no
/// `new` per loaded key. And
/// MIGRATE reports each key it deletes with `del`, as DEL does.
#[test]
fn loading_is_silent_and_migrate_reports_del() {
    let fk = Server::start(&["--appendonly", "yes", "--enable-debug-command", "yes"]);
    let target = Server::start(&["--appendonly", "no"]);
    let mut c = Conns::open(fk.port, 2);
    c.step(1, "MSET a 1 b 2 c 3");
    c.step(0, "PSUBSCRIBE __keyevent@0__:*");
    c.step(1, "CONFIG SET notify-keyspace-events KEAn");
    let out = c.step(1, "DEBUG RELOAD");
    assert_eq!(String::from_utf8_lossy(&out[1]), "+OK\r\n");
    assert!(
        out[0].is_empty(),
        "DEBUG RELOAD published {}",
        String::from_utf8_lossy(&out[0])
    );
    let out = c.step(1, &format!("MIGRATE 127.0.0.1 {} a 0 5000", target.port));
    assert_eq!(String::from_utf8_lossy(&out[1]), "+OK\r\n");
    assert_eq!(
        String::from_utf8_lossy(&out[0]),
        "*4\r\n$8\r\npmessage\r\n$16\r\n__keyevent@0__:*\r\n$18\r\n__keyevent@0__:del\r\n$1\r\na\r\n"
    );
}
