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
