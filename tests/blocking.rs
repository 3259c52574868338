//! Blocking commands (issue 12): BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
//! BZPOPMAX and BZMPOP wait
//! for data, are served in the order they blocked right after the command that pushed
//! (MULTI/EXEC included), time out with the right null, never block inside MULTI, are
//! forgotten when their client leaves, end with CLIENT UNBLOCK, and reach the AOF as the
//! pop or move they did.

mod common;

use common::{Client, Server};
use std::io::Read;
use std::time::{Duration, Instant};

fn start() -> Server {
    Server::start(&["--appendonly", "no"])
}

/// Sends a command without waiting for its reply.
fn send(c: &mut Client, args: &[&str]) {
    let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    c.send_raw(&Client::encode(&raw));
}

/// True if nothing arrives on `c` within `ms` milliseconds.
fn silent(c: &mut Client, ms: u64) -> bool {
    c.stream
        .set_read_timeout(Some(Duration::from_millis(ms)))
        .unwrap();
    let mut b = [0u8; 1];
    let quiet = c.stream.peek(&mut b).is_err();
    c.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    quiet
}

fn reply(c: &mut Client) -> String {
    String::from_utf8_lossy(&c.read_reply()).into_owned()
}

fn info_clients(c: &mut Client, field: &str) -> String {
    let info = c.cmd("INFO clients");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap()
        .trim()
        .to_string()
}

/// Waits until the server counts `n` blocked clients (a blocking command sent by another
/// connection has arrived).
fn wait_blocked(c: &mut Client, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while info_clients(c, "blocked_clients") != n.to_string() {
        assert!(Instant::now() < deadline, "never {n} blocked clients");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn waiters_are_served_in_the_order_they_blocked() {
    let srv = start();
    let mut pusher = srv.connect();
    let mut waiters: Vec<Client> = (0..3).map(|_| srv.connect()).collect();
    for (i, w) in waiters.iter_mut().enumerate() {
        send(w, &["BLPOP", "q", "other", "0"]);
        wait_blocked(&mut pusher, i + 1);
    }
    assert!(silent(&mut waiters[0], 50));
    let list = pusher.cmd("CLIENT LIST");
    assert_eq!(list.matches("flags=b").count(), 3, "{list}");
    assert_eq!(pusher.cmd("RPUSH q a b"), ":2\r\n");
    assert_eq!(reply(&mut waiters[0]), "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    assert_eq!(reply(&mut waiters[1]), "*2\r\n$1\r\nq\r\n$1\r\nb\r\n");
    assert!(silent(&mut waiters[2], 50), "only two elements");
    assert_eq!(pusher.cmd("EXISTS q"), ":0\r\n");
    // The third waits on both keys; BRPOP serves from the tail.
    send(&mut waiters[0], &["BRPOP", "other", "1"]);
    wait_blocked(&mut pusher, 2);
    assert_eq!(pusher.cmd("RPUSH other x y"), ":2\r\n");
    assert_eq!(reply(&mut waiters[2]), "*2\r\n$5\r\nother\r\n$1\r\nx\r\n");
    assert_eq!(reply(&mut waiters[0]), "*2\r\n$5\r\nother\r\n$1\r\ny\r\n");
    assert_eq!(info_clients(&mut pusher, "blocked_clients"), "0");
    // Data already there: no wait at all.
    pusher.cmd("RPUSH q z");
    assert_eq!(pusher.cmd("BLPOP q 0"), "*2\r\n$1\r\nq\r\n$1\r\nz\r\n");
}

#[test]
fn served_right_after_the_pushing_command() {
    let srv = start();
    let mut pusher = srv.connect();
    let mut w = srv.connect();
    // A push then a pop in one pipeline: the waiter gets the element first, as in Redis.
    send(&mut w, &["BLPOP", "q", "0"]);
    wait_blocked(&mut pusher, 1);
    let mut req = Client::encode(&[b"RPUSH", b"q", b"a"]);
    req.extend(Client::encode(&[b"LPOP", b"q"]));
    pusher.send_raw(&req);
    assert_eq!(reply(&mut pusher), ":1\r\n");
    assert_eq!(reply(&mut pusher), "$-1\r\n");
    assert_eq!(reply(&mut w), "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    // Pushes inside MULTI serve the waiter after EXEC, with the first element.
    send(&mut w, &["BLPOP", "q", "0"]);
    wait_blocked(&mut pusher, 1);
    assert_eq!(pusher.cmd("MULTI"), "+OK\r\n");
    assert_eq!(pusher.cmd("RPUSH q x"), "+QUEUED\r\n");
    assert_eq!(pusher.cmd("RPUSH q y"), "+QUEUED\r\n");
    assert_eq!(pusher.cmd("EXEC"), "*2\r\n:1\r\n:2\r\n");
    assert_eq!(reply(&mut w), "*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    assert_eq!(pusher.cmd("LRANGE q 0 -1"), "*1\r\n$1\r\ny\r\n");
    // The waiter's pipelined commands run once it is served.
    let mut req = Client::encode(&[b"BLPOP", b"e", b"0"]);
    req.extend(Client::encode(&[b"PING"]));
    w.send_raw(&req);
    wait_blocked(&mut pusher, 1);
    assert!(silent(&mut w, 50), "PING waits behind BLPOP");
    pusher.cmd("LPUSH e 1");
    assert_eq!(reply(&mut w), "*2\r\n$1\r\ne\r\n$1\r\n1\r\n");
    assert_eq!(reply(&mut w), "+PONG\r\n");
}

#[test]
fn timeouts_nulls_and_transactions() {
    let srv = start();
    let mut c = srv.connect();
    let t = Instant::now();
    assert_eq!(c.cmd("BLPOP nothing 0.2"), "*-1\r\n");
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(190) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    assert_eq!(c.cmd("BRPOPLPUSH nothing dst 0.05"), "$-1\r\n");
    assert_eq!(c.cmd("BLMOVE nothing dst LEFT RIGHT 0.05"), "$-1\r\n");
    assert_eq!(c.cmd("BLMPOP 0.05 2 a b LEFT COUNT 2"), "*-1\r\n");
    assert!(!c.cmd("HELLO 3").is_empty());
    assert_eq!(c.cmd("BLPOP nothing 0.05"), "_\r\n");
    assert_eq!(c.cmd("BLMOVE nothing dst LEFT RIGHT 0.05"), "_\r\n");
    c.cmd("HELLO 2");
    // Inside MULTI nothing waits: the timeout reply comes at once.
    c.cmd("MULTI");
    c.cmd("BLPOP nothing 0");
    c.cmd("BLMOVE nothing dst LEFT LEFT 0");
    assert_eq!(c.cmd("EXEC"), "*2\r\n*-1\r\n$-1\r\n");
    assert_eq!(info_clients(&mut c, "blocked_clients"), "0");
    // Errors, in Redis's order.
    let err = |e: &str| format!("-ERR {e}\r\n");
    assert_eq!(c.cmd("BLPOP q -1"), err("timeout is negative"));
    assert_eq!(
        c.cmd("BLPOP q x"),
        err("timeout is not a float or out of range")
    );
    assert_eq!(c.cmd("BLPOP q inf"), err("timeout is negative"));
    assert_eq!(c.cmd("BLMOVE a b UP LEFT x"), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd("BLMPOP x 0 a LEFT"),
        err("numkeys should be greater than 0")
    );
    assert_eq!(
        c.cmd("BLMPOP x 1 a LEFT"),
        err("timeout is not a float or out of range")
    );
    assert_eq!(
        c.cmd("BLMPOP 0 1 a LEFT COUNT 0"),
        err("count should be greater than 0")
    );
    c.cmd("SET s v");
    assert!(c.cmd("BLPOP s 0").starts_with("-WRONGTYPE"));
    c.cmd("RPUSH l 1");
    assert!(
        c.cmd("BLPOP s l 0").starts_with("-WRONGTYPE"),
        "first key decides"
    );
    assert!(c.cmd("BLMOVE l s LEFT LEFT 0").starts_with("-WRONGTYPE"));
}

#[test]
fn moves_chain_and_types_must_match() {
    let srv = start();
    let mut pusher = srv.connect();
    let (mut mover, mut popper) = (srv.connect(), srv.connect());
    send(&mut mover, &["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"]);
    wait_blocked(&mut pusher, 1);
    send(
        &mut popper,
        &["BLMPOP", "0", "1", "dst", "LEFT", "COUNT", "5"],
    );
    wait_blocked(&mut pusher, 2);
    // One push wakes the mover, whose move wakes the popper, in the same iteration.
    pusher.cmd("RPUSH src a b");
    assert_eq!(reply(&mut mover), "$1\r\nb\r\n");
    assert_eq!(reply(&mut popper), "*2\r\n$3\r\ndst\r\n*1\r\n$1\r\nb\r\n");
    assert_eq!(pusher.cmd("LRANGE src 0 -1"), "*1\r\n$1\r\na\r\n");
    assert_eq!(pusher.cmd("EXISTS dst"), ":0\r\n");
    // A key recreated as another type does not serve a list waiter.
    send(&mut popper, &["BRPOP", "k", "0"]);
    wait_blocked(&mut pusher, 1);
    pusher.cmd("SET k v");
    assert!(silent(&mut popper, 50));
    pusher.cmd("DEL k");
    pusher.cmd("RPUSH k ok");
    assert_eq!(reply(&mut popper), "*2\r\n$1\r\nk\r\n$2\r\nok\r\n");
}

#[test]
fn leaving_and_unblocking() {
    let srv = start();
    let mut c = srv.connect();
    let mut gone = srv.connect();
    send(&mut gone, &["BLPOP", "q", "0"]);
    wait_blocked(&mut c, 1);
    drop(gone);
    wait_blocked(&mut c, 0);
    assert_eq!(c.cmd("RPUSH q kept"), ":1\r\n");
    assert_eq!(c.cmd("LLEN q"), ":1\r\n", "nobody took it");

    let mut w = srv.connect();
    let id = w.cmd("CLIENT ID");
    let id = id.trim_start_matches(':').trim().to_string();
    send(&mut w, &["BLPOP", "none", "0"]);
    wait_blocked(&mut c, 1);
    assert_eq!(info_clients(&mut c, "clients_in_timeout_table"), "0");
    assert_eq!(c.cmdv(&["CLIENT", "UNBLOCK", &id]), ":1\r\n");
    assert_eq!(reply(&mut w), "*-1\r\n");
    send(&mut w, &["BLMOVE", "none", "x", "LEFT", "LEFT", "100"]);
    wait_blocked(&mut c, 1);
    assert_eq!(info_clients(&mut c, "clients_in_timeout_table"), "1");
    assert_eq!(c.cmdv(&["CLIENT", "UNBLOCK", &id, "ERROR"]), ":1\r\n");
    assert_eq!(
        reply(&mut w),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    assert_eq!(c.cmdv(&["CLIENT", "UNBLOCK", &id]), ":0\r\n");
    assert_eq!(c.cmd("CLIENT UNBLOCK 999999"), ":0\r\n");
    assert_eq!(
        c.cmd("CLIENT UNBLOCK 1 MAYBE"),
        "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"
    );
    assert_eq!(
        c.cmd("CLIENT UNBLOCK x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(info_clients(&mut c, "clients_in_timeout_table"), "0");
    assert_eq!(w.cmd("PING"), "+PONG\r\n");
}

#[test]
fn sorted_set_pops_wait_too() {
    let srv = start();
    let mut pusher = srv.connect();
    let (mut a, mut b) = (srv.connect(), srv.connect());
    send(&mut a, &["BZPOPMIN", "z", "0"]);
    wait_blocked(&mut pusher, 1);
    send(&mut b, &["BZMPOP", "0", "2", "y", "z", "MAX", "COUNT", "5"]);
    wait_blocked(&mut pusher, 2);
    // A list at the key serves neither; the sorted set serves both, in order.
    pusher.cmd("RPUSH z 1");
    assert!(silent(&mut b, 50));
    pusher.cmd("DEL z");
    assert_eq!(pusher.cmd("ZADD z 1 one 2 two 3 three"), ":3\r\n");
    assert_eq!(reply(&mut a), "*3\r\n$1\r\nz\r\n$3\r\none\r\n$1\r\n1\r\n");
    assert_eq!(
        reply(&mut b),
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$5\r\nthree\r\n$1\r\n3\r\n*2\r\n$3\r\ntwo\r\n$1\r\n2\r\n"
    );
    assert_eq!(pusher.cmd("EXISTS z"), ":0\r\n");
    // RESP3: the score is a double; on timeout, a null.
    a.cmd("HELLO 3");
    send(&mut a, &["BZPOPMAX", "z", "5"]);
    wait_blocked(&mut pusher, 1);
    pusher.cmd("ZADD z 2.5 x");
    assert_eq!(reply(&mut a), "*3\r\n$1\r\nz\r\n$1\r\nx\r\n,2.5\r\n");
    assert_eq!(a.cmd("BZPOPMIN z 0.05"), "_\r\n");
    assert_eq!(a.cmd("BZMPOP 0.05 1 z MIN"), "_\r\n");
}

#[test]
fn the_aof_gets_the_pop_not_the_wait() {
    let dir = common::TempDir::new("blocking-aof");
    let mut srv = Server::start_in(
        dir.path(),
        &["--appendonly", "yes", "--appendfsync", "always"],
    );
    let mut c = srv.connect();
    let mut w = srv.connect();
    send(&mut w, &["BLPOP", "q", "0"]);
    wait_blocked(&mut c, 1);
    c.cmd("RPUSH q a b c");
    assert_eq!(reply(&mut w), "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    assert_eq!(w.cmd("BLMOVE q d RIGHT LEFT 0"), "$1\r\nc\r\n");
    assert_eq!(
        w.cmd("BLMPOP 0 1 q LEFT COUNT 3"),
        "*2\r\n$1\r\nq\r\n*1\r\n$1\r\nb\r\n"
    );
    send(&mut w, &["BZPOPMIN", "z", "0"]);
    wait_blocked(&mut c, 1);
    c.cmd("ZADD z 1 a 2 b");
    assert_eq!(reply(&mut w), "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n");
    drop((c, w));
    srv.kill9();
    let mut aof = Vec::new();
    for e in std::fs::read_dir(dir.path().join("appendonlydir")).unwrap() {
        std::fs::File::open(e.unwrap().path())
            .unwrap()
            .read_to_end(&mut aof)
            .unwrap();
    }
    let text = String::from_utf8_lossy(&aof).to_ascii_uppercase();
    for wait in ["BLPOP", "BLMOVE", "BLMPOP", "BZPOPMIN"] {
        assert!(!text.contains(wait), "{wait} in the AOF");
    }
    let srv = Server::start_in(dir.path(), &["--appendonly", "yes"]);
    let mut c = srv.connect();
    assert_eq!(c.cmd("EXISTS q"), ":0\r\n");
    assert_eq!(c.cmd("LRANGE d 0 -1"), "*1\r\n$1\r\nc\r\n");
    assert_eq!(c.cmd("ZRANGE z 0 -1"), "*1\r\n$1\r\nb\r\n");
}

#[test]
fn replies_match_redis_when_no_wait_is_needed() {
    let Some(redis) = Server::start_redis() else {
        return;
    };
    let ours = start();
    let script: &[&[&str]] = &[
        &["RPUSH", "a", "1", "2", "3"],
        &["BLPOP", "none", "a", "0"],
        &["BRPOP", "a", "0"],
        &["BLMOVE", "a", "b", "LEFT", "RIGHT", "0"],
        &["BRPOPLPUSH", "b", "a", "0"],
        &["BLMPOP", "0", "2", "none", "a", "RIGHT", "COUNT", "9"],
        &["BLPOP", "a", "0.01"],
        &["BLMPOP", "0.01", "1", "a", "LEFT"],
        &["BLPOP", "a", "-0.5"],
        &["BLPOP", "a", "abc"],
        &["BLPOP", "a", "1e18"],
        &["BLMPOP", "0", "0", "a", "LEFT"],
        &["BLMPOP", "0", "1", "a", "UP"],
        &["BLMPOP", "0", "1", "a", "LEFT", "COUNT"],
        &["BLMPOP", "0", "1", "a", "LEFT", "COUNT", "-1"],
        &["BLMPOP", "0", "5", "a", "LEFT"],
        &["BLPOP"],
        &["BLMOVE", "a", "b", "LEFT", "LEFT"],
        &["CLIENT", "UNBLOCK", "0"],
        &["CLIENT", "UNBLOCK", "-5", "TIMEOUT"],
        &["COMMAND", "GETKEYS", "BLMPOP", "0", "2", "k1", "k2", "LEFT"],
        &["COMMAND", "GETKEYS", "BLPOP", "k1", "k2", "0"],
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        &["BZPOPMIN", "none", "z", "0"],
        &["BZPOPMAX", "z", "0"],
        &["BZMPOP", "0", "2", "none", "z", "MIN", "COUNT", "9"],
        &["BZPOPMIN", "z", "0.01"],
        &["BZMPOP", "0.01", "1", "z", "MAX"],
        &["BZPOPMIN", "z", "-1"],
        &["BZMPOP", "x", "1", "z", "MIN"],
        &["BZMPOP", "0", "1", "z", "UP"],
        &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "0"],
        &["SET", "str", "v"],
        &["BZPOPMIN", "str", "0"],
        &["BZMPOP", "0", "1", "str", "MIN"],
        &["COMMAND", "GETKEYS", "BZMPOP", "0", "2", "k1", "k2", "MIN"],
    ];
    let (mut r, mut f) = (redis.connect(), ours.connect());
    for resp in ["2", "3"] {
        r.cmdv(&["HELLO", resp]);
        f.cmdv(&["HELLO", resp]);
        for cmd in script {
            assert_eq!(f.cmdv(cmd), r.cmdv(cmd), "RESP{resp} {cmd:?}");
        }
    }
}

/// One step of a two-client script: which client sends what, and whether it waits (so
/// the script pauses until the server counts one more blocked client).
struct Step(usize, &'static [&'static str], bool);

/// Runs `steps` on a fresh pair of connections to `srv` and returns every reply, in the
/// order the script reads them: after each non-waiting command, that client's reply, then
/// any reply a waiting client got because of it.
fn run_script(srv: &Server, steps: &[Step]) -> Vec<String> {
    let mut cs = [srv.connect(), srv.connect(), srv.connect()];
    let mut probe = srv.connect();
    let mut waiting: Vec<usize> = Vec::new();
    let mut out = Vec::new();
    for Step(who, args, waits) in steps {
        send(&mut cs[*who], args);
        if *waits {
            waiting.push(*who);
            wait_blocked(&mut probe, waiting.len());
            continue;
        }
        out.push(format!("{who}: {}", reply(&mut cs[*who])));
        // Whoever was served answers now; the rest stay silent.
        waiting.retain(|&w| {
            if silent(&mut cs[w], 30) {
                true
            } else {
                out.push(format!("{w} served: {}", reply(&mut cs[w])));
                false
            }
        });
    }
    out
}

#[test]
fn waiting_and_serving_match_redis() {
    let Some(redis) = Server::start_redis() else {
        return;
    };
    let ours = start();
    let scripts: &[&[Step]] = &[
        // FIFO across two waiters, one push of two elements.
        &[
            Step(1, &["BLPOP", "q", "0"], true),
            Step(2, &["BRPOP", "q", "0"], true),
            Step(0, &["RPUSH", "q", "a", "b", "c"], false),
            Step(0, &["LRANGE", "q", "0", "-1"], false),
        ],
        // A push inside MULTI serves after EXEC; LPUSH order.
        &[
            Step(
                1,
                &["BLMPOP", "0", "2", "x", "q", "RIGHT", "COUNT", "2"],
                true,
            ),
            Step(0, &["MULTI"], false),
            Step(0, &["LPUSH", "q", "1", "2", "3"], false),
            Step(0, &["LPUSH", "x", "9"], false),
            Step(0, &["EXEC"], false),
            Step(0, &["LRANGE", "q", "0", "-1"], false),
            Step(0, &["LRANGE", "x", "0", "-1"], false),
        ],
        // BLMOVE feeds a BLPOP waiting on the destination.
        &[
            Step(1, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"], true),
            Step(2, &["BLPOP", "dst", "0"], true),
            Step(0, &["RPUSH", "src", "m", "n"], false),
            Step(0, &["LRANGE", "src", "0", "-1"], false),
            Step(0, &["EXISTS", "dst"], false),
        ],
        // Sorted sets: BZPOPMAX then BZMPOP on the same key.
        &[
            Step(1, &["BZPOPMAX", "z", "0"], true),
            Step(2, &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "10"], true),
            Step(0, &["ZADD", "z", "1", "a", "2", "b", "3", "c"], false),
            Step(0, &["EXISTS", "z"], false),
        ],
        // A timeout, then a wait served by a push of the right type only.
        &[
            Step(1, &["BLPOP", "t", "0.05"], false),
            Step(1, &["BZPOPMIN", "t", "0"], true),
            Step(0, &["RPUSH", "t", "l"], false),
            Step(0, &["DEL", "t"], false),
            Step(0, &["ZADD", "t", "5", "e"], false),
        ],
    ];
    for (i, steps) in scripts.iter().enumerate() {
        for srv in [&redis, &ours] {
            srv.connect().cmd("FLUSHALL");
        }
        let theirs = run_script(&redis, steps);
        let mine = run_script(&ours, steps);
        assert_eq!(mine, theirs, "script {i}");
    }
}

/// WATCH hears only of keys a command changed: the list LMPOP popped from, not the other
/// keys it named; not a STORE command's sources. Compared with redis-server.
#[test]
fn watch_sees_only_changed_keys_like_redis() {
    let Some(redis) = Server::start_redis() else {
        return;
    };
    let ours = start();
    let cases: &[(&str, &[&str])] = &[
        ("a", &["LMPOP", "2", "a", "b", "LEFT"]),
        ("b", &["LMPOP", "2", "a", "b", "LEFT"]),
        ("a", &["BLPOP", "a", "b", "0"]),
        ("b", &["BLPOP", "a", "b", "0"]),
        ("z1", &["ZMPOP", "2", "z1", "z2", "MIN"]),
        ("z2", &["ZMPOP", "2", "z1", "z2", "MIN"]),
        ("s1", &["SUNIONSTORE", "d", "s1", "s2"]),
        ("d", &["SUNIONSTORE", "d", "s1", "s2"]),
        ("b", &["SORT", "b", "STORE", "d2"]),
    ];
    for (watched, cmd) in cases {
        let mut got = Vec::new();
        for srv in [&redis, &ours] {
            let (mut w, mut other) = (srv.connect(), srv.connect());
            w.cmd("FLUSHALL");
            w.cmd("RPUSH b x y");
            w.cmd("ZADD z2 1 m");
            w.cmd("SADD s1 p");
            w.cmd("SADD s2 q");
            w.cmdv(&["WATCH", watched]);
            let r = other.cmdv(cmd);
            w.cmd("MULTI");
            w.cmd("PING");
            got.push((r, w.cmd("EXEC")));
        }
        assert_eq!(got[1], got[0], "WATCH {watched}, then {cmd:?}");
    }
}
