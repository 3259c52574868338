//! SORT and SORT_RO (issue 12), compared byte for byte with redis-server: numeric and
//! ALPHA sorting, BY weights in strings and hash fields, BY nosort, LIMIT, GET, DESC,
//! STORE, over lists, sets and sorted sets, errors included, RESP2 and RESP3.

mod common;

use common::{Client, Server};

/// The same data in both servers.
const SETUP: &[&[&str]] = &[
    &["RPUSH", "nums", "3", "1", "2", "10", "-1.5", "1e2", "2"],
    &["RPUSH", "words", "pear", "apple", "fig", "banana", "apple"],
    &["RPUSH", "mixed", "1", "x", "2"],
    &["RPUSH", "ids", "1", "2", "3", "4"],
    &[
        "MSET", "w_1", "40", "w_2", "10", "w_3", "30", "name_1", "one", "name_3", "three",
    ],
    &["SET", "w_4", "bad"],
    &["HSET", "u_1", "age", "31", "nick", "ann"],
    &["HSET", "u_2", "age", "7", "nick", "bob"],
    &["HSET", "u_3", "age", "19"],
    &["SADD", "s", "5", "3", "9", "1"],
    &["SADD", "sw", "kiwi", "apple", "melon"],
    &["ZADD", "z", "3", "c", "1", "a", "2", "b", "2", "bb"],
    &["SET", "str", "v"],
];

const CASES: &[&[&str]] = &[
    &["SORT", "nums"],
    &["SORT", "nums", "DESC"],
    &["SORT", "nums", "LIMIT", "1", "3"],
    &["SORT", "nums", "LIMIT", "-5", "2"],
    &["SORT", "nums", "LIMIT", "5", "100"],
    &["SORT", "nums", "LIMIT", "100", "1"],
    &["SORT", "nums", "LIMIT", "0", "0"],
    &["SORT", "nums", "LIMIT", "2", "-1"],
    &["SORT", "words"],
    &["SORT", "words", "ALPHA"],
    &["SORT", "words", "ALPHA", "DESC", "LIMIT", "1", "2"],
    &["SORT", "mixed"],
    &["SORT", "mixed", "ALPHA"],
    &["SORT", "ids", "BY", "w_*"],
    &["SORT", "ids", "BY", "w_*", "DESC"],
    &["SORT", "ids", "BY", "w_*", "LIMIT", "0", "2"],
    &["SORT", "ids", "BY", "name_*", "ALPHA"],
    &["SORT", "ids", "BY", "u_*->age"],
    &["SORT", "ids", "BY", "u_*->nick", "ALPHA"],
    &["SORT", "ids", "BY", "u_*->", "ALPHA"],
    &["SORT", "ids", "BY", "nosort"],
    &["SORT", "ids", "BY", "nosort", "DESC"],
    &["SORT", "ids", "BY", "nosort", "LIMIT", "1", "2"],
    &["SORT", "ids", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
    &["SORT", "ids", "GET", "#", "GET", "w_*", "GET", "name_*"],
    &[
        "SORT",
        "ids",
        "GET",
        "u_*->nick",
        "GET",
        "u_*->age",
        "GET",
        "nostar",
    ],
    &[
        "SORT", "ids", "BY", "w_*", "GET", "name_*", "LIMIT", "1", "5",
    ],
    &["SORT", "s"],
    &["SORT", "s", "DESC", "LIMIT", "0", "2"],
    &["SORT", "sw", "ALPHA"],
    &["SORT", "z"],
    &["SORT", "z", "ALPHA"],
    &["SORT", "z", "BY", "nosort"],
    &["SORT", "z", "BY", "nosort", "DESC"],
    &["SORT", "z", "BY", "nosort", "LIMIT", "1", "2"],
    &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
    &["SORT", "bigz", "BY", "nosort", "LIMIT", "100", "5"],
    &["SORT", "bigz", "BY", "nosort", "DESC", "LIMIT", "290", "20"],
    &["SORT", "bigz", "BY", "nosort", "LIMIT", "-1", "3"],
    &["SORT", "missing"],
    &["SORT", "missing", "STORE", "dst"],
    &["SORT", "str"],
    &["SORT", "nums", "BY"],
    &["SORT", "nums", "LIMIT", "1"],
    &["SORT", "nums", "LIMIT", "x", "1"],
    &["SORT", "nums", "FOO"],
    &["SORT", "ids", "BY", "w_*", "STORE"],
    &["SORT_RO", "nums", "STORE", "dst"],
    &["SORT_RO", "nums", "DESC"],
    &["SORT_RO", "ids", "BY", "u_*->age", "GET", "u_*->nick"],
    &["SORT", "words"],
    &["SORT", "ids", "BY", "w_*", "GET", "#"],
    &["SORT", "nums", "STORE", "out"],
    &["LRANGE", "out", "0", "-1"],
    &["SORT", "ids", "GET", "name_*", "STORE", "out"],
    &["LRANGE", "out", "0", "-1"],
    &["SORT", "s", "BY", "nosort", "STORE", "out"],
    &["LRANGE", "out", "0", "-1"],
    &["SORT", "sw", "BY", "nosort", "STORE", "out"],
    &["LRANGE", "out", "0", "-1"],
    &["SORT", "z", "BY", "nosort", "STORE", "str"],
    &["TYPE", "str"],
    &["LRANGE", "str", "0", "-1"],
    &["SORT", "missing", "STORE", "out"],
    &["EXISTS", "out"],
    &["COMMAND", "GETKEYS", "SORT", "k", "BY", "x", "STORE", "d"],
    &["COMMAND", "GETKEYS", "SORT_RO", "k"],
];

#[test]
fn sort_matches_redis() {
    let Some(redis) = Server::start_redis() else {
        return;
    };
    let ours = Server::start(&["--appendonly", "no"]);
    let (mut r, mut f): (Client, Client) = (redis.connect(), ours.connect());
    let mut diffs = Vec::new();
    for resp in ["2", "3"] {
        for c in [&mut r, &mut f] {
            c.cmdv(&["FLUSHALL"]);
            c.cmdv(&["HELLO", resp]);
            for cmd in SETUP {
                c.cmdv(cmd);
            }
            // A sorted set past zset-max-listpack-entries (the tree, with rank access).
            let mut big = vec!["ZADD".to_string(), "bigz".into()];
            for i in 0..300 {
                big.extend([(i % 37).to_string(), format!("m{i}")]);
            }
            c.cmdv(&big.iter().map(|s| s.as_str()).collect::<Vec<_>>());
        }
        for cmd in CASES {
            let (ours, theirs) = (f.cmdv(cmd), r.cmdv(cmd));
            if ours != theirs {
                diffs.push(format!(
                    "RESP{resp} {cmd:?}:\n  ferrokv {ours:?}\n  redis   {theirs:?}"
                ));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn sort_store_replays_and_wakes_waiters() {
    let dir = common::TempDir::new("sort-store");
    let mut srv = Server::start_in(
        dir.path(),
        &["--appendonly", "yes", "--appendfsync", "always"],
    );
    let mut c = srv.connect();
    let mut w = srv.connect();
    c.cmd("RPUSH src 3 1 2");
    w.send_raw(&Client::encode(&[b"BLPOP", b"sorted", b"0"]));
    while !c.cmd("INFO clients").contains("blocked_clients:1") {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(c.cmd("SORT src STORE sorted"), ":3\r\n");
    assert_eq!(w.read_reply(), b"*2\r\n$6\r\nsorted\r\n$1\r\n1\r\n");
    drop((c, w));
    srv.kill9();
    let srv = Server::start_in(dir.path(), &["--appendonly", "yes"]);
    let mut c = srv.connect();
    assert_eq!(c.cmd("LRANGE sorted 0 -1"), "*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
}
