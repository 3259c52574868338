//! Hardening (issue 11): no single command may hold the loop, and Redis's answers where a
//! client misbehaves. The glob patterns here froze ferrokv for minutes before the matcher
//! became linear; now they must answer while another client's PING still gets through.

mod common;

use common::{Client, Rng, Server};
use std::time::{Duration, Instant};

/// A request on a second connection gets answered within `limit` while `c` runs
/// `args`: the loop was not held. Returns `args`' reply.
fn answers_while(srv: &Server, c: &mut Client, args: &[&[u8]], limit: Duration) -> Vec<u8> {
    let mut other = srv.connect();
    let start = Instant::now();
    c.send_raw(&Client::encode(args));
    let reply = c.read_reply();
    let ping = other.cmd("PING");
    assert_eq!(ping, "+PONG\r\n");
    let took = start.elapsed();
    assert!(
        took < limit,
        "{:?} took {took:?}",
        String::from_utf8_lossy(args[0])
    );
    reply
}

#[test]
fn pathological_patterns_answer_at_once() {
    let srv = Server::start(&["--appendonly", "no"]);
    let mut c = srv.connect();
    let long = "a".repeat(40);
    assert_eq!(c.cmdv(&["SET", &long, "1"]), "+OK\r\n");
    let huge = "a".repeat(200_000);
    assert_eq!(c.cmdv(&["SET", &huge, "1"]), "+OK\r\n");
    assert_eq!(c.cmdv(&["HSET", "h", &huge, "1", &long, "2"]), ":2\r\n");

    let mut patterns: Vec<Vec<u8>> = vec![
        b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b".to_vec(),
        [b"*".to_vec(), b"a*".repeat(400), b"b".to_vec()].concat(),
        [b"[a-z]*".repeat(300), b"[^a]".to_vec()].concat(),
        [b"*\\a*\\a".repeat(200), b"\\b".to_vec()].concat(),
        [b"*[".to_vec(), b"xyzxyz-w".repeat(2000), b"]*b".to_vec()].concat(),
        [b"?*".repeat(500), b"?b".to_vec()].concat(),
    ];
    // Over Redis's nesting limit: never matches, answers just as fast.
    patterns.push([b"a*".repeat(1200), b"a".to_vec()].concat());

    // Generous bounds: a loaded CI machine is slow, the old matcher took minutes.
    let limit = Duration::from_secs(2);
    for p in &patterns {
        let keys = answers_while(&srv, &mut c, &[b"KEYS", p], limit);
        assert_eq!(keys, b"*0\r\n");
        let scan = answers_while(
            &srv,
            &mut c,
            &[b"SCAN", b"0", b"MATCH", p, b"COUNT", b"100"],
            limit,
        );
        assert!(
            scan.ends_with(b"*0\r\n"),
            "{}",
            String::from_utf8_lossy(&scan)
        );
        let hscan = answers_while(&srv, &mut c, &[b"HSCAN", b"h", b"0", b"MATCH", p], limit);
        assert!(hscan.ends_with(b"*0\r\n"));
        let conf = answers_while(&srv, &mut c, &[b"CONFIG", b"GET", p], limit);
        assert_eq!(conf, b"*0\r\n");
    }
    // The matcher still matches.
    let start = Instant::now();
    assert_eq!(
        c.cmd("KEYS a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a")
            .len(),
        62 + 200_000
    );
    let elapsed = start.elapsed();
    assert!(elapsed < limit, "{elapsed:?}");
}

/// Random patterns from the glob alphabet against random keys: KEYS answers exactly as
/// redis-server's.
#[test]
fn glob_matches_like_redis() {
    let Some(redis) = Server::start_redis() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server missing in CI"
        );
        return;
    };
    let srv = Server::start(&["--appendonly", "no"]);
    let (mut a, mut b) = (srv.connect(), redis.connect());
    let mut rng = Rng::new(0x61_0b5);
    let alphabet: &[u8] = b"abAB*?[]^-\\";
    let word = |rng: &mut Rng, n: u64| -> Vec<u8> {
        (0..rng.below(n) + 1)
            .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
            .collect()
    };
    for _ in 0..300 {
        let k = word(&mut rng, 8);
        for c in [&mut a, &mut b] {
            c.cmd_bytes(&[b"SET", &k, b"1"]);
        }
    }
    // CONFIG GET matches without case: compared over the directives both servers know.
    let names = |c: &mut Client, p: &[u8]| -> Vec<Vec<u8>> {
        let mut r: Vec<Vec<u8>> = common::diff::bulk_items(&c.cmd_bytes(&[b"CONFIG", b"GET", p]))
            .into_iter()
            .step_by(2)
            .collect();
        r.sort();
        r
    };
    let known_a = names(&mut a, b"*");
    let known_b = names(&mut b, b"*");
    let shared: Vec<Vec<u8>> = known_a
        .into_iter()
        .filter(|n| known_b.contains(n))
        .collect();
    assert!(shared.len() > 50);
    for round in 0..3000 {
        let p = word(&mut rng, 10);
        if round % 4 == 0 {
            let p = [b"*".as_slice(), &p.to_ascii_uppercase()].concat();
            let keep = |v: Vec<Vec<u8>>| -> Vec<Vec<u8>> {
                v.into_iter().filter(|n| shared.contains(n)).collect()
            };
            let (na, nb) = (keep(names(&mut a, &p)), keep(names(&mut b, &p)));
            assert_eq!(na, nb, "CONFIG GET {:?}", String::from_utf8_lossy(&p));
            continue;
        }
        let mut ra = common::diff::bulk_items(&a.cmd_bytes(&[b"KEYS", &p]));
        let mut rb = common::diff::bulk_items(&b.cmd_bytes(&[b"KEYS", &p]));
        ra.sort();
        rb.sort();
        assert_eq!(ra, rb, "KEYS {:?}", String::from_utf8_lossy(&p));
    }
}

/// EXEC refused before it runs (bad arity, no auth) discards the transaction with
/// Redis 7's EXECABORT text, in and out of MULTI.
#[test]
fn refused_exec_aborts_the_transaction() {
    let srv = Server::start(&["--appendonly", "no"]);
    let mut c = srv.connect();
    assert_eq!(
        c.cmd("EXEC foo"),
        "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"
    );
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd("SET a 1"), "+QUEUED\r\n");
    assert_eq!(
        c.cmd("EXEC foo"),
        "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"
    );
    assert_eq!(c.cmd("EXEC"), "-ERR EXEC without MULTI\r\n");
    assert_eq!(c.cmd("GET a"), "$-1\r\n");
    // WATCH is dropped with the transaction.
    assert_eq!(c.cmd("WATCH w"), "+OK\r\n");
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    c.cmd("EXEC x");
    let mut other = srv.connect();
    other.cmd("SET w 1");
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd("SET b 1"), "+QUEUED\r\n");
    assert_eq!(c.cmd("EXEC"), "*1\r\n+OK\r\n");
    assert_eq!(c.cmd("CONFIG SET requirepass pw"), "+OK\r\n");
    let mut anon = srv.connect();
    assert_eq!(
        anon.cmd("EXEC"),
        "-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n"
    );
    let stats = c.cmd("INFO commandstats");
    assert!(stats.contains("cmdstat_exec:calls=2,"), "{stats}");
    assert!(stats.contains("rejected_calls=4,failed_calls=1"), "{stats}");
}

/// `lazyfreed_objects` from INFO memory.
fn lazyfreed(c: &mut Client) -> u64 {
    let info = c.cmd("INFO memory");
    info.lines()
        .find_map(|l| l.strip_prefix("lazyfreed_objects:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("lazyfreed_objects in INFO memory")
}

/// Waits until `lazyfreed_objects` reaches `n` (the thread frees in its own time).
fn wait_lazyfreed(c: &mut Client, n: u64) {
    let start = Instant::now();
    while lazyfreed(c) < n {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "lazyfreed_objects stuck below {n}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A hash of `fields` fields at `key`, sent in pipelined batches.
fn big_hash(c: &mut Client, key: &str, fields: usize) {
    for start in (0..fields).step_by(1000) {
        let mut args = vec!["HSET".to_string(), key.to_string()];
        for i in start..(start + 1000).min(fields) {
            args.push(format!("field:{i}"));
            args.push(format!("value:{i}"));
        }
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        assert!(c.cmdv(&refs).starts_with(':'));
    }
}

/// UNLINK, FLUSHALL ASYNC and the lazyfree-lazy-* directives hand big values to the
/// lazy-free thread (INFO counts them); small ones and plain DEL free on the spot.
#[test]
fn big_values_are_freed_off_the_loop() {
    let srv = Server::start(&["--appendonly", "no"]);
    let mut c = srv.connect();
    assert_eq!(lazyfreed(&mut c), 0);
    big_hash(&mut c, "big", 20_000);
    assert_eq!(c.cmd("SET small v"), "+OK\r\n");
    assert_eq!(c.cmd("UNLINK big small nothing"), ":2\r\n");
    wait_lazyfreed(&mut c, 1);
    assert_eq!(c.cmd("EXISTS big small"), ":0\r\n");

    // DEL frees in place by default, lazily once lazyfree-lazy-user-del says so.
    big_hash(&mut c, "big", 20_000);
    assert_eq!(c.cmd("DEL big"), ":1\r\n");
    assert_eq!(lazyfreed(&mut c), 1);
    assert_eq!(c.cmd("CONFIG SET lazyfree-lazy-user-del yes"), "+OK\r\n");
    assert_eq!(
        c.cmd("CONFIG GET lazyfree-lazy-user-del"),
        "*2\r\n$22\r\nlazyfree-lazy-user-del\r\n$3\r\nyes\r\n"
    );
    big_hash(&mut c, "big", 20_000);
    assert_eq!(c.cmd("DEL big"), ":1\r\n");
    wait_lazyfreed(&mut c, 2);

    // Overwriting a big value: lazyfree-lazy-server-del.
    assert_eq!(c.cmd("CONFIG SET lazyfree-lazy-server-del yes"), "+OK\r\n");
    big_hash(&mut c, "big", 20_000);
    assert_eq!(c.cmd("SET big now-a-string"), "+OK\r\n");
    wait_lazyfreed(&mut c, 3);

    // FLUSHALL ASYNC hands whole databases over; SYNC and a plain FLUSHALL do not.
    for i in 0..3000 {
        c.cmdv(&["SET", &format!("k{i}"), "v"]);
    }
    assert_eq!(c.cmd("FLUSHALL ASYNC"), "+OK\r\n");
    assert_eq!(c.cmd("DBSIZE"), ":0\r\n");
    // 3001 keys: the 3000 and "big".
    wait_lazyfreed(&mut c, 3 + 3001);
    for i in 0..3000 {
        c.cmdv(&["SET", &format!("k{i}"), "v"]);
    }
    assert_eq!(c.cmd("FLUSHDB SYNC"), "+OK\r\n");
    assert_eq!(lazyfreed(&mut c), 3 + 3001);
    assert_eq!(c.cmd("FLUSHALL BOTH"), "-ERR syntax error\r\n");
    let info = c.cmd("INFO memory");
    assert!(info.contains("lazyfree_pending_objects:0\r\n"), "{info}");
}

/// A big hash whose fields all expire together leaves with one DEL record and is freed on
/// the lazy-free thread; when most (not all) expire, one HDEL names exactly those.
#[test]
fn mass_field_expiry_is_reclaimed_in_one_pass() {
    let srv = Server::start(&["--appendonly", "no", "--enable-debug-command", "yes"]);
    let mut c = srv.connect();
    assert_eq!(c.cmd("DEBUG SET-ACTIVE-EXPIRE 0"), "+OK\r\n");
    let n = 20_000;
    for key in ["all", "most"] {
        big_hash(&mut c, key, n);
    }
    let at = common::now_ms() + 1500;
    for start in (0..n).step_by(1000) {
        let fields: Vec<String> = (start..start + 1000)
            .map(|i| format!("field:{i}"))
            .collect();
        for (key, pick) in [("all", 1), ("most", 10)] {
            let chosen: Vec<&str> = fields
                .iter()
                .enumerate()
                .filter(|(i, _)| pick == 1 || i % pick != 0)
                .map(|(_, f)| f.as_str())
                .collect();
            let count = chosen.len().to_string();
            let at = at.to_string();
            let mut args = vec!["HPEXPIREAT", key, &at, "FIELDS", &count];
            args.extend(chosen);
            assert!(c.cmdv(&args).starts_with('*'));
        }
    }
    assert_eq!(c.cmd("DEBUG WRITE-STREAM START"), "+OK\r\n");
    while common::now_ms() <= at + 20 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = lazyfreed(&mut c);
    assert_eq!(c.cmd("HGET all field:0"), "$-1\r\n");
    assert_eq!(c.cmd("EXISTS all"), ":0\r\n");
    assert_eq!(c.cmd("HGET most field:0"), "$7\r\nvalue:0\r\n");
    assert_eq!(c.cmd("HLEN most"), format!(":{}\r\n", n / 10));
    let stream = c.cmd_bytes(&[b"DEBUG", b"WRITE-STREAM", b"READ"]);
    let text = String::from_utf8_lossy(&stream);
    assert!(
        text.contains("*2\r\n$3\r\nDEL\r\n$3\r\nall\r\n"),
        "{}",
        &text[..300.min(text.len())]
    );
    let hdel = format!("*{}\r\n$4\r\nHDEL\r\n$4\r\nmost\r\n", 2 + n - n / 10);
    assert!(text.contains(&hdel), "{}", &text[..300.min(text.len())]);
    assert_eq!(text.matches("HDEL").count(), 1);
    wait_lazyfreed(&mut c, before + 1);
    let info = c.cmd("INFO stats");
    assert!(
        info.contains(&format!("expired_subkeys:{}\r\n", n + n - n / 10)),
        "{info}"
    );
}

/// Connects to `port` on 127.0.0.1 from the source address 127.0.0.2, which Redis 7.0's
/// protected mode counts as a non-loopback peer, and reads until the server closes or
/// `wait` passes.
fn from_127_0_0_2(port: u16, send: &[u8], wait: Duration) -> Vec<u8> {
    use socket2::{Domain, Socket, Type};
    use std::io::{Read, Write};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.bind(
        &"127.0.0.2:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    s.connect(&std::net::SocketAddr::from(([127, 0, 0, 1], port)).into())
        .unwrap();
    let mut t: std::net::TcpStream = s.into();
    t.set_read_timeout(Some(wait)).unwrap();
    if !send.is_empty() {
        t.write_all(send).unwrap();
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match t.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
        if !send.is_empty() && got.ends_with(b"\r\n") {
            break;
        }
    }
    got
}

/// protected-mode yes with no password: a peer other than 127.0.0.1 / ::1 gets Redis's
/// -DENIED text (byte for byte, checked against redis-server when it is installed) and
/// is closed; a password, `protected-mode no` or a loopback peer let it in.
#[test]
fn protected_mode_denies_outside_peers_without_a_password() {
    let srv = Server::start(&["--appendonly", "no"]);
    let wait = Duration::from_secs(5);
    let denied = from_127_0_0_2(srv.port, b"", wait);
    assert!(
        denied.starts_with(b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user."),
        "{}",
        String::from_utf8_lossy(&denied)
    );
    assert!(denied.ends_with(b"accepting connections from the outside.\r\n"));
    if let Some(redis) = Server::start_redis() {
        assert_eq!(denied, from_127_0_0_2(redis.port, b"", wait));
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server missing in CI"
        );
    }
    let mut c = srv.connect();
    let info = c.cmd("INFO stats");
    assert!(info.contains("rejected_connections:1\r\n"), "{info}");
    // Off at run time: let in.
    assert_eq!(c.cmd("CONFIG SET protected-mode no"), "+OK\r\n");
    assert_eq!(from_127_0_0_2(srv.port, b"PING\r\n", wait), b"+PONG\r\n");
    // On again, with a password: let in, and asked to authenticate.
    assert_eq!(
        c.cmd("CONFIG SET protected-mode yes requirepass pw"),
        "+OK\r\n"
    );
    assert_eq!(
        from_127_0_0_2(srv.port, b"GET k\r\n", wait),
        b"-NOAUTH Authentication required.\r\n"
    );
    // From the start, by config: outside peers welcome.
    let open = Server::start(&["--appendonly", "no", "--protected-mode", "no"]);
    assert_eq!(from_127_0_0_2(open.port, b"PING\r\n", wait), b"+PONG\r\n");
}

/// Before AUTH a client may send at most 10 arguments of at most 16 KB each (Redis's
/// limits, same texts), and is closed otherwise; after AUTH the usual limits apply, even
/// later in the same pipeline.
#[test]
fn unauthenticated_clients_send_only_small_requests() {
    let srv = Server::start(&["--appendonly", "no", "--requirepass", "pw"]);
    let mut c = srv.connect();
    c.send_raw(b"*11\r\n");
    assert_eq!(
        c.read_to_close(),
        b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    );
    let mut c = srv.connect();
    c.send_raw(b"*2\r\n$3\r\nGET\r\n$16385\r\n");
    assert_eq!(
        c.read_to_close(),
        b"-ERR Protocol error: unauthenticated bulk length\r\n"
    );
    // 16 KB exactly is fine (and answered NOAUTH).
    let mut c = srv.connect();
    let big = "x".repeat(16 * 1024);
    assert_eq!(
        c.cmdv(&["GET", &big]),
        "-NOAUTH Authentication required.\r\n"
    );
    // AUTH then a big command in one write.
    let mut c = srv.connect();
    let mut batch = Client::encode(&[b"AUTH", b"pw"]);
    let args: Vec<Vec<u8>> = (0..20).map(|i| format!("f{i}").into_bytes()).collect();
    let mut hset: Vec<&[u8]> = vec![b"HSET", b"h"];
    for a in &args {
        hset.push(a);
        hset.push(big.as_bytes());
    }
    batch.extend(Client::encode(&hset));
    c.send_raw(&batch);
    assert_eq!(c.read_reply(), b"+OK\r\n");
    assert_eq!(c.read_reply(), b":20\r\n");
    let redis = common::which("redis-server")
        .and_then(|bin| Server::start_redis_bin(&bin, &["--requirepass", "pw"]));
    if let Some(redis) = redis {
        let mut r = redis.connect();
        r.send_raw(b"*11\r\n");
        assert_eq!(
            r.read_to_close(),
            b"-ERR Protocol error: unauthenticated multibulk length\r\n"
        );
    }
}

/// Reads until the server closes the connection (a reset counts: it closed with our
/// requests unread); returns how many bytes arrived. Panics after 10 s of silence.
fn bytes_until_closed(c: &mut Client) -> usize {
    use std::io::Read;
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0;
    loop {
        match c.stream.read(&mut buf) {
            Ok(0) => return n,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("still open after {n} bytes: {e}"),
        }
    }
}

/// `client-output-buffer-limit`: CONFIG SET/GET speak Redis's format and errors; a normal
/// client past the hard limit, or over the soft limit for longer than its seconds, is
/// closed and logged, while a client that reads its replies is not.
#[test]
fn output_buffer_limits_close_clients_that_do_not_read() {
    let srv = Server::start(&["--appendonly", "no"]);
    let mut c = srv.connect();
    let get = |c: &mut Client| c.cmd("CONFIG GET client-output-buffer-limit");
    assert_eq!(
        get(&mut c),
        "*2\r\n$26\r\nclient-output-buffer-limit\r\n$67\r\nnormal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60\r\n"
    );
    let err = |what: &str| {
        format!(
            "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - {what}\r\n"
        )
    };
    for (value, want) in [
        (
            "foo 1 2 3",
            err("Invalid client class specified in buffer limit configuration."),
        ),
        (
            "normal 1 2",
            err("Wrong number of arguments in buffer limit configuration."),
        ),
        (
            "normal x 2 3",
            err("Error in hard, soft or soft_seconds setting in buffer limit configuration."),
        ),
        (
            "normal -1 2 3",
            err("Error in hard, soft or soft_seconds setting in buffer limit configuration."),
        ),
        ("replica 1 2 3", "+OK\r\n".to_string()),
        ("normal 64mb 8mb 1", "+OK\r\n".to_string()),
    ] {
        assert_eq!(
            c.cmdv(&["CONFIG", "SET", "client-output-buffer-limit", value]),
            want,
            "{value}"
        );
    }
    assert!(
        get(&mut c).contains("normal 67108864 8388608 1 slave 1 2 3 pubsub 33554432 8388608 60")
    );

    let mb = "v".repeat(1 << 20);
    assert_eq!(c.cmdv(&["SET", "big", &mb]), "+OK\r\n");
    // Reading each 1 MB reply: fine.
    for _ in 0..10 {
        assert_eq!(c.cmd("GET big").len(), (1 << 20) + 12);
    }
    // 80 replies pipelined and never read pass the 64 MB hard limit.
    let mut greedy = srv.connect();
    greedy.send_raw(&b"GET big\r\n".repeat(80));
    std::thread::sleep(Duration::from_millis(300));
    let got = bytes_until_closed(&mut greedy);
    assert!(got < 65 << 20, "closed before its replies: {got} bytes");
    // 30 replies left unread (more than the kernel's socket buffers take, so over the
    // 8 MB soft limit): a command within the second is fine, one after it closes.
    let mut slow = srv.connect();
    slow.send_raw(&b"GET big\r\n".repeat(30));
    std::thread::sleep(Duration::from_millis(200));
    slow.send_raw(b"PING\r\n");
    std::thread::sleep(Duration::from_millis(2200));
    slow.send_raw(b"PING\r\n");
    let got = bytes_until_closed(&mut slow);
    assert!(got < 30 * ((1 << 20) + 12), "{got} bytes");
    assert!(
        srv.log_text()
            .contains("scheduled to be closed ASAP for overcoming of output buffer limits."),
        "{}",
        srv.log_text()
    );
    // Back to no limit: a client that does not read is paused, not closed.
    assert_eq!(
        c.cmdv(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 0 0 0"
        ]),
        "+OK\r\n"
    );
    let mut paused = srv.connect();
    paused.send_raw(&b"GET big\r\n".repeat(8));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.cmd("PING"), "+PONG\r\n");
    let mut n = 0;
    for _ in 0..8 {
        n += paused.read_reply().len();
    }
    assert_eq!(n, 8 * ((1 << 20) + 12));
}

/// The kernel's view of the server side of a connection (`/proc/net/tcp`): the timer
/// kind and seconds left (`tr:tm->when`; kind 2 is the keepalive timer). None if the
/// socket is not listed.
fn server_side_timer(srv_port: u16, client: &Client) -> Option<(u32, u64)> {
    let client_port = client.stream.local_addr().unwrap().port();
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let local = format!("0100007F:{srv_port:04X}");
    let remote = format!("0100007F:{client_port:04X}");
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.get(1) != Some(&local.as_str()) || f.get(2) != Some(&remote.as_str()) {
            return None;
        }
        let (kind, when) = f.get(5)?.split_once(':')?;
        Some((
            u32::from_str_radix(kind, 16).ok()?,
            u64::from_str_radix(when, 16).ok()? / 100,
        ))
    })
}

/// maxclients, timeout, tcp-keepalive, client-query-buffer-limit: each does what Redis's
/// does.
/// A burst of connections larger than one iteration accepts (1000, as Redis) is taken in
/// over the next iterations: the listener is edge-triggered, so the rest must not wait
/// for some later connection to wake it.
#[test]
fn a_connection_burst_is_accepted_over_several_iterations() {
    let srv = Server::start(&[
        "--appendonly",
        "no",
        "--enable-debug-command",
        "yes",
        "--tcp-backlog",
        "2048",
    ]);
    let mut sleeper = srv.connect();
    // While the loop sleeps, the kernel completes 1010 handshakes (within the listen
    // backlog of 2048) that the loop then finds waiting at once.
    sleeper.send_raw(&Client::encode(&[b"DEBUG", b"SLEEP", b"1"]));
    std::thread::sleep(Duration::from_millis(100));
    let t = std::time::Instant::now();
    let mut burst: Vec<Client> = (0..1010).map(|_| srv.connect()).collect();
    // Beyond the listen queue a connect waits a second for the SYN retry.
    assert!(
        t.elapsed() < Duration::from_millis(800),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(sleeper.read_reply(), b"+OK\r\n");
    for c in burst.iter_mut() {
        c.stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        c.send_raw(b"PING\r\n");
    }
    for (i, c) in burst.iter_mut().enumerate() {
        assert_eq!(c.read_reply(), b"+PONG\r\n", "connection {i}");
    }
}

#[test]
fn connection_limits_and_timers() {
    // maxclients: the third client is told and closed.
    let srv = Server::start(&["--appendonly", "no", "--maxclients", "2"]);
    let (mut a, _b) = (srv.connect(), srv.connect());
    let mut third = srv.connect();
    assert_eq!(
        third.read_to_close(),
        b"-ERR max number of clients reached\r\n"
    );
    assert_eq!(a.cmd("PING"), "+PONG\r\n");
    assert!(a.cmd("INFO stats").contains("rejected_connections:1\r\n"));
    drop(srv);

    // timeout: an idle client is closed after about a second; a busy one is not.
    let srv = Server::start(&["--appendonly", "no", "--timeout", "1"]);
    let (mut idle, mut busy) = (srv.connect(), srv.connect());
    assert_eq!(idle.cmd("PING"), "+PONG\r\n");
    for _ in 0..12 {
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(busy.cmd("PING"), "+PONG\r\n");
    }
    assert!(idle.is_closed());
    drop(srv);

    // tcp-keepalive: the server side of a connection carries a keepalive timer of the
    // configured seconds (300 by default), none with 0.
    for (secs, want) in [("300", Some(300)), ("45", Some(45)), ("0", None)] {
        let srv = Server::start(&["--appendonly", "no", "--tcp-keepalive", secs]);
        let mut c = srv.connect();
        assert_eq!(c.cmd("PING"), "+PONG\r\n");
        let timer = server_side_timer(srv.port, &c).expect("socket in /proc/net/tcp");
        match want {
            Some(s) => assert!(
                timer.0 == 2 && timer.1 <= s && timer.1 + 5 >= s,
                "{timer:?}"
            ),
            None => assert_eq!(timer.0, 0, "{timer:?}"),
        }
    }

    // client-query-buffer-limit: a request growing past it closes the client unanswered.
    let srv = Server::start(&["--appendonly", "no", "--client-query-buffer-limit", "1mb"]);
    let mut c = srv.connect();
    c.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n");
    c.send_raw(&vec![b'x'; 1_500_000]);
    assert_eq!(bytes_until_closed(&mut c), 0);
    let mut c = srv.connect();
    let almost = "x".repeat(900_000);
    assert_eq!(c.cmdv(&["SET", "k", &almost]), "+OK\r\n");
    assert!(
        srv.log_text()
            .contains("Closing client that reached max query buffer length")
    );
}

/// Clients that send their last bytes (half a command, or a whole one) and hang up at
/// once are closed: data and FIN arriving together raise one event only.
#[test]
fn clients_hanging_up_right_after_sending_are_closed() {
    let srv = Server::start(&["--appendonly", "no"]);
    let mut c = srv.connect();
    for i in 0..50 {
        let mut q = srv.connect();
        if i % 2 == 0 {
            q.send_raw(b"*3\r\n$3\r\nSET\r\n$4\r\nhalf");
        } else {
            q.send_raw(b"PING\r\n");
        }
        q.stream.shutdown(std::net::Shutdown::Write).unwrap();
    }
    let start = Instant::now();
    loop {
        let info = c.cmd("INFO clients");
        if info.contains("connected_clients:1\r\n") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{info}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
