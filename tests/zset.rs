//! Sorted sets end to end: replies and error texts (each expected reply is also checked
//! against redis-server 7 when it is installed), WRONGTYPE, RESP3 shapes, encoding
//! conversions both ways with contents intact, AOF replay after kill -9 (and what is
//! logged: ZMPOP as ZPOPMIN/ZPOPMAX), BGREWRITEAOF and restart, ZRANDMEMBER's bounds, and a
//! property test of the (score, member) order across conversions, restarts and rewrites.

mod common;

use common::{Client, Rng, Server, TempDir};
use std::collections::BTreeMap;
use std::path::Path;

fn start_aof(dir: &Path) -> Server {
    Server::start_in(
        dir,
        &[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--enable-debug-command",
            "yes",
        ],
    )
}

fn send(c: &mut Client, args: &[&str]) -> String {
    c.cmdv(args)
}

/// Splits a reply into its bulk strings (a flat array of bulks).
fn bulks(r: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = r.split("\r\n");
    while let Some(l) = lines.next() {
        if l.starts_with('$') && l != "$-1" {
            out.push(lines.next().unwrap_or("").to_string());
        }
    }
    out
}

/// (command, expected reply) on RESP2; checked on ferrokv and, when installed, Redis 7.
const CASES: &[(&[&str], &str)] = &[
    (&["ZADD", "z", "1", "a", "2", "b", "0.1", "c"], ":3\r\n"),
    (&["ZSCORE", "z", "c"], "$19\r\n0.10000000000000001\r\n"),
    (&["ZADD", "z", "1.5e-7", "d"], ":1\r\n"),
    (&["ZSCORE", "z", "d"], "$22\r\n1.4999999999999999e-07\r\n"),
    (&["ZADD", "z", "1e300", "e", "3", "f"], ":2\r\n"),
    (
        &["ZMSCORE", "z", "e", "f", "nope"],
        "*3\r\n$23\r\n1.0000000000000001e+300\r\n$1\r\n3\r\n$-1\r\n",
    ),
    (&["ZADD", "z", "+inf", "g", "-inf", "h"], ":2\r\n"),
    (
        &["ZRANGE", "z", "0", "1", "WITHSCORES"],
        "*4\r\n$1\r\nh\r\n$4\r\n-inf\r\n$1\r\nd\r\n$22\r\n1.4999999999999999e-07\r\n",
    ),
    (
        &["ZADD", "z", "nan", "x"],
        "-ERR value is not a valid float\r\n",
    ),
    (
        &["ZADD", "z", "1e400", "x"],
        "-ERR value is not a valid float\r\n",
    ),
    (
        &["ZADD", "z", " 1", "x"],
        "-ERR value is not a valid float\r\n",
    ),
    (&["ZADD", "z", "0x10", "hex"], ":1\r\n"),
    (&["ZSCORE", "z", "hex"], "$2\r\n16\r\n"),
    (&["ZADD", "z", "1", "a", "2"], "-ERR syntax error\r\n"),
    (
        &["ZADD", "z", "NX", "XX", "1", "a"],
        "-ERR XX and NX options at the same time are not compatible\r\n",
    ),
    (
        &["ZADD", "z", "GT", "LT", "1", "a"],
        "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
    ),
    (
        &["ZADD", "z", "GT", "NX", "1", "a"],
        "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
    ),
    (
        &["ZADD", "z", "INCR", "1", "a", "2", "b"],
        "-ERR INCR option supports a single increment-element pair\r\n",
    ),
    (
        &["ZADD", "z", "CH", "GT", "5", "a", "0", "b", "9", "new"],
        ":2\r\n",
    ),
    (&["ZADD", "z", "XX", "INCR", "1", "nope"], "$-1\r\n"),
    (&["ZADD", "z", "INCR", "LT", "1", "a"], "$-1\r\n"),
    (&["ZADD", "z", "INCR", "-1", "a"], "$1\r\n4\r\n"),
    (&["ZADD", "inf", "INCR", "inf", "m"], "$3\r\ninf\r\n"),
    (
        &["ZINCRBY", "inf", "-inf", "m"],
        "-ERR resulting score is not a number (NaN)\r\n",
    ),
    (
        &["ZINCRBY", "z", "abc", "a"],
        "-ERR value is not a valid float\r\n",
    ),
    (&["ZINCRBY", "z", "NX", "a"], "-ERR syntax error\r\n"),
    (&["ZINCRBY", "z", "0.5", "a"], "$3\r\n4.5\r\n"),
    (&["ZCARD", "z"], ":10\r\n"),
    (&["ZCOUNT", "z", "(1", "+inf"], ":7\r\n"),
    (&["ZCOUNT", "z", "-inf", "(0.1"], ":2\r\n"),
    (
        &["ZCOUNT", "z", "nan", "1"],
        "-ERR min or max is not a float\r\n",
    ),
    (&["ZCOUNT", "z", "", "(1"], ":2\r\n"),
    (&["ZRANK", "z", "a"], ":5\r\n"),
    (&["ZREVRANK", "z", "a"], ":4\r\n"),
    (&["ZRANK", "z", "nope"], "$-1\r\n"),
    (
        &["ZRANK", "z", "a", "WITHSCORE"],
        "-ERR wrong number of arguments for 'zrank' command\r\n",
    ),
    (
        &["ZRANGE", "z", "2", "4"],
        "*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\nf\r\n",
    ),
    (
        &["ZRANGE", "z", "-2", "-1", "REV"],
        "*2\r\n$1\r\nd\r\n$1\r\nh\r\n",
    ),
    (
        &["ZRANGE", "z", "(1", "10", "BYSCORE", "LIMIT", "1", "2"],
        "*2\r\n$1\r\nf\r\n$1\r\na\r\n",
    ),
    (
        &["ZRANGE", "z", "+inf", "(3", "BYSCORE", "REV", "WITHSCORES"],
        "*10\r\n$1\r\ng\r\n$3\r\ninf\r\n$1\r\ne\r\n$23\r\n1.0000000000000001e+300\r\n$3\r\nhex\r\n$2\r\n16\r\n$3\r\nnew\r\n$1\r\n9\r\n$1\r\na\r\n$3\r\n4.5\r\n",
    ),
    (
        &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
        "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n",
    ),
    (
        &["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"],
        "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n",
    ),
    (&["ZRANGE", "z", "0", "1", "FOO"], "-ERR syntax error\r\n"),
    (
        &["ZRANGE", "z", "a", "1"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "5"],
        "*0\r\n",
    ),
    (
        &[
            "ZRANGEBYSCORE",
            "z",
            "3",
            "(9",
            "WITHSCORES",
            "LIMIT",
            "0",
            "-1",
        ],
        "*4\r\n$1\r\nf\r\n$1\r\n3\r\n$1\r\na\r\n$3\r\n4.5\r\n",
    ),
    (
        &["ZREVRANGEBYSCORE", "z", "3", "1"],
        "*2\r\n$1\r\nf\r\n$1\r\nb\r\n",
    ),
    (
        &["ZREVRANGE", "z", "0", "0", "WITHSCORES"],
        "*2\r\n$1\r\ng\r\n$3\r\ninf\r\n",
    ),
    (
        &[
            "ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e",
        ],
        ":5\r\n",
    ),
    (
        &["ZRANGEBYLEX", "lex", "[b", "(d"],
        "*2\r\n$1\r\nb\r\n$1\r\nc\r\n",
    ),
    (
        &["ZREVRANGEBYLEX", "lex", "+", "(c", "LIMIT", "1", "5"],
        "*1\r\n$1\r\nd\r\n",
    ),
    (
        &["ZRANGEBYLEX", "lex", "b", "d"],
        "-ERR min or max not valid string range item\r\n",
    ),
    (&["ZLEXCOUNT", "lex", "-", "+"], ":5\r\n"),
    (&["ZLEXCOUNT", "lex", "+", "-"], ":0\r\n"),
    (&["ZREMRANGEBYLEX", "lex", "[a", "[b"], ":2\r\n"),
    (&["ZREMRANGEBYRANK", "lex", "-1", "-1"], ":1\r\n"),
    (&["ZREMRANGEBYSCORE", "lex", "0", "0"], ":2\r\n"),
    (&["EXISTS", "lex"], ":0\r\n"),
    (&["ZRANGESTORE", "dst", "z", "0", "2"], ":3\r\n"),
    (
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        "*6\r\n$1\r\nh\r\n$4\r\n-inf\r\n$1\r\nd\r\n$22\r\n1.4999999999999999e-07\r\n$1\r\nc\r\n$19\r\n0.10000000000000001\r\n",
    ),
    (
        &["ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES"],
        "-ERR syntax error\r\n",
    ),
    (&["ZRANGESTORE", "dst", "nope", "0", "-1"], ":0\r\n"),
    (&["EXISTS", "dst"], ":0\r\n"),
    (&["ZPOPMIN", "z"], "*2\r\n$1\r\nh\r\n$4\r\n-inf\r\n"),
    (
        &["ZPOPMAX", "z", "2"],
        "*4\r\n$1\r\ng\r\n$3\r\ninf\r\n$1\r\ne\r\n$23\r\n1.0000000000000001e+300\r\n",
    ),
    (
        &["ZPOPMIN", "z", "-1"],
        "-ERR value is out of range, must be positive\r\n",
    ),
    (&["ZPOPMIN", "z", "1", "2"], "-ERR syntax error\r\n"),
    (&["ZPOPMIN", "nope"], "*0\r\n"),
    (
        &["ZMPOP", "2", "nope", "z", "MIN", "COUNT", "2"],
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nd\r\n$22\r\n1.4999999999999999e-07\r\n*2\r\n$1\r\nc\r\n$19\r\n0.10000000000000001\r\n",
    ),
    (&["ZMPOP", "1", "nope", "MAX"], "*-1\r\n"),
    (
        &["ZMPOP", "0", "z", "MAX"],
        "-ERR numkeys should be greater than 0\r\n",
    ),
    (
        &["ZMPOP", "1", "z", "MAX", "COUNT", "0"],
        "-ERR count should be greater than 0\r\n",
    ),
    (&["ZMPOP", "1", "z", "MID"], "-ERR syntax error\r\n"),
    (&["ZMPOP", "5", "z", "MIN"], "-ERR syntax error\r\n"),
    (&["ZREM", "z", "b", "nope", "b"], ":1\r\n"),
    (&["ZADD", "u1", "1", "a", "2", "b"], ":2\r\n"),
    (&["ZADD", "u2", "10", "b", "20", "c"], ":2\r\n"),
    (
        &["ZUNION", "2", "u1", "u2", "WITHSCORES"],
        "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n12\r\n$1\r\nc\r\n$2\r\n20\r\n",
    ),
    (
        &[
            "ZINTER",
            "2",
            "u1",
            "u2",
            "WEIGHTS",
            "2",
            "0.5",
            "WITHSCORES",
        ],
        "*2\r\n$1\r\nb\r\n$1\r\n9\r\n",
    ),
    (
        &["ZINTER", "2", "u1", "u2", "AGGREGATE", "MAX", "WITHSCORES"],
        "*2\r\n$1\r\nb\r\n$2\r\n10\r\n",
    ),
    (&["ZDIFF", "2", "u1", "u2"], "*1\r\n$1\r\na\r\n"),
    (
        &["ZDIFF", "2", "u1", "u2", "WEIGHTS", "1", "1"],
        "-ERR syntax error\r\n",
    ),
    (
        &["ZUNION", "0", "u1"],
        "-ERR at least 1 input key is needed for 'zunion' command\r\n",
    ),
    (
        &["ZUNIONSTORE", "out", "3", "u1", "u2"],
        "-ERR syntax error\r\n",
    ),
    (
        &["ZUNION", "2", "u1", "u2", "WEIGHTS", "1", "x"],
        "-ERR weight value is not a float\r\n",
    ),
    (
        &["ZUNION", "2", "u1", "u2", "AGGREGATE", "AVG"],
        "-ERR syntax error\r\n",
    ),
    (
        &["ZUNIONSTORE", "out", "2", "u1", "u2", "WITHSCORES"],
        "-ERR syntax error\r\n",
    ),
    (
        &[
            "ZUNIONSTORE",
            "out",
            "2",
            "u1",
            "u2",
            "WEIGHTS",
            "inf",
            "-inf",
        ],
        ":3\r\n",
    ),
    (
        &["ZRANGE", "out", "0", "-1", "WITHSCORES"],
        "*6\r\n$1\r\nc\r\n$4\r\n-inf\r\n$1\r\nb\r\n$1\r\n0\r\n$1\r\na\r\n$3\r\ninf\r\n",
    ),
    (&["ZINTERSTORE", "out", "2", "u1", "nope"], ":0\r\n"),
    (&["EXISTS", "out"], ":0\r\n"),
    (&["ZDIFFSTORE", "out", "1", "u2"], ":2\r\n"),
    (&["ZINTERCARD", "2", "u1", "u2"], ":1\r\n"),
    (&["ZINTERCARD", "1", "u1", "LIMIT", "1"], ":1\r\n"),
    (
        &["ZINTERCARD", "1", "u1", "LIMIT", "-1"],
        "-ERR LIMIT can't be negative\r\n",
    ),
    (
        &["ZINTERCARD", "1", "u1", "WITHSCORES"],
        "-ERR syntax error\r\n",
    ),
    (&["ZRANDMEMBER", "nope"], "$-1\r\n"),
    (&["ZRANDMEMBER", "nope", "5"], "*0\r\n"),
    (
        &["ZRANDMEMBER", "u1", "5", "WITHSCORES"],
        "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n",
    ),
    (
        &["ZRANDMEMBER", "u1", "-9223372036854775808"],
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
    ),
    (
        &["ZRANDMEMBER", "u1", "-4611686018427387904", "WITHSCORES"],
        "-ERR value is out of range\r\n",
    ),
    (&["ZRANDMEMBER", "u1", "1", "FOO"], "-ERR syntax error\r\n"),
    (
        &["ZSCAN", "u1", "0"],
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
    ),
    (
        &["ZSCAN", "u1", "0", "MATCH", "b*"],
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    ),
    (&["ZSCAN", "u1", "x"], "-ERR invalid cursor\r\n"),
    (&["ZSCAN", "u1", "0", "COUNT", "0"], "-ERR syntax error\r\n"),
    (&["ZSCAN", "u1", "0", "NOVALUES"], "-ERR syntax error\r\n"),
    (&["ZSCAN", "nope", "0"], "*2\r\n$1\r\n0\r\n*0\r\n"),
    (&["ZADD", "neg", "-0", "a"], ":1\r\n"),
    (&["ZSCORE", "neg", "a"], "$1\r\n0\r\n"),
    (&["ZINCRBY", "neg", "-0", "a"], "$1\r\n0\r\n"),
    (&["ZADD", "big", "1e17", "a"], ":1\r\n"),
    (
        &["ZSCAN", "big", "0"],
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$18\r\n100000000000000000\r\n",
    ),
    (
        &["ZRANGE", "big", "0", "-1", "WITHSCORES"],
        "*2\r\n$1\r\na\r\n$5\r\n1e+17\r\n",
    ),
    (&["SET", "str", "x"], "+OK\r\n"),
    (
        &["ZADD", "str", "1", "a"],
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (
        &["ZADD", "str", "bad", "a"],
        "-ERR value is not a valid float\r\n",
    ),
    (
        &["ZRANGE", "str", "0", "-1", "FOO"],
        "-ERR syntax error\r\n",
    ),
    (
        &["ZUNION", "2", "u1", "str", "WEIGHTS", "x", "y"],
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (
        &["ZMPOP", "2", "nope", "str", "MIN"],
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
];

/// RESP3 cases (after HELLO 3).
const CASES3: &[(&[&str], &str)] = &[
    (&["ZADD", "r", "1", "a", "2.5", "b", "inf", "c"], ":3\r\n"),
    (&["ZSCORE", "r", "b"], ",2.5\r\n"),
    (&["ZSCORE", "r", "nope"], "_\r\n"),
    (&["ZMSCORE", "r", "c", "nope"], "*2\r\n,inf\r\n_\r\n"),
    (&["ZINCRBY", "r", "0.1", "a"], ",1.1000000000000001\r\n"),
    (
        &["ZRANGE", "r", "0", "1", "WITHSCORES"],
        "*2\r\n*2\r\n$1\r\na\r\n,1.1000000000000001\r\n*2\r\n$1\r\nb\r\n,2.5\r\n",
    ),
    (&["ZRANGE", "r", "0", "0"], "*1\r\n$1\r\na\r\n"),
    (
        &["ZPOPMIN", "r"],
        "*2\r\n$1\r\na\r\n,1.1000000000000001\r\n",
    ),
    (&["ZPOPMAX", "r", "1"], "*1\r\n*2\r\n$1\r\nc\r\n,inf\r\n"),
    (&["ZADD", "r", "1", "a", "-inf", "d"], ":2\r\n"),
    (
        &["ZMPOP", "1", "r", "MIN"],
        "*2\r\n$1\r\nr\r\n*1\r\n*2\r\n$1\r\nd\r\n,-inf\r\n",
    ),
    (&["ZMPOP", "1", "nope", "MIN"], "_\r\n"),
    (
        &["ZUNION", "1", "r", "WITHSCORES"],
        "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n",
    ),
    (
        &["ZRANDMEMBER", "r", "3", "WITHSCORES"],
        "*2\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\na\r\n,1\r\n",
    ),
    (&["ZADD", "r", "INCR", "1", "nope2"], ",1\r\n"),
    (&["ZADD", "r", "XX", "INCR", "1", "nope3"], "_\r\n"),
    (
        &["ZSCAN", "r", "0"],
        "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$5\r\nnope2\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n",
    ),
];

fn check_cases(c: &mut Client, cases: &[(&[&str], &str)], who: &str) {
    let mut bad = Vec::new();
    for (cmd, want) in cases {
        let got = send(c, cmd);
        if &got != want {
            bad.push(format!("{cmd:?}\n   got  {got:?}\n   want {want:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{who}: {} replies differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn replies_and_error_texts() {
    // The expectations are Redis 7's own replies.
    if let Some(r) = Server::start_redis() {
        check_cases(&mut r.connect(), CASES, "redis");
        let mut c3 = r.connect();
        c3.cmd("HELLO 3");
        check_cases(&mut c3, CASES3, "redis RESP3");
    }
    let srv = Server::start(&["--appendonly", "no"]);
    check_cases(&mut srv.connect(), CASES, "ferrokv");
    let mut c3 = srv.connect();
    c3.cmd("HELLO 3");
    check_cases(&mut c3, CASES3, "ferrokv RESP3");
}

#[test]
fn every_command_answers_wrongtype() {
    let srv = Server::start(&["--appendonly", "no"]);
    let mut c = srv.connect();
    c.cmd("SET s v");
    let wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    for cmd in [
        "ZADD s 1 a",
        "ZINCRBY s 1 a",
        "ZREM s a",
        "ZSCORE s a",
        "ZMSCORE s a",
        "ZCARD s",
        "ZCOUNT s 0 1",
        "ZLEXCOUNT s - +",
        "ZRANK s a",
        "ZREVRANK s a",
        "ZRANGE s 0 -1",
        "ZRANGESTORE d s 0 -1",
        "ZREVRANGE s 0 -1",
        "ZRANGEBYSCORE s 0 1",
        "ZREVRANGEBYSCORE s 1 0",
        "ZRANGEBYLEX s - +",
        "ZREVRANGEBYLEX s + -",
        "ZREMRANGEBYRANK s 0 1",
        "ZREMRANGEBYSCORE s 0 1",
        "ZREMRANGEBYLEX s - +",
        "ZPOPMIN s",
        "ZPOPMAX s 2",
        "ZPOPMIN s 0",
        "ZMPOP 1 s MIN",
        "ZRANDMEMBER s",
        "ZRANDMEMBER s 2",
        "ZUNION 1 s",
        "ZINTER 1 s",
        "ZDIFF 1 s",
        "ZUNIONSTORE d 1 s",
        "ZINTERSTORE d 1 s",
        "ZDIFFSTORE d 1 s",
        "ZINTERCARD 1 s",
        "ZSCAN s 0",
    ] {
        assert_eq!(c.cmd(cmd), wt, "{cmd}");
    }
    assert_eq!(c.cmd("GET s"), "$1\r\nv\r\n");
    assert_eq!(c.cmd("EXISTS d"), ":0\r\n");
}

fn encoding(c: &mut Client, k: &str) -> String {
    c.cmd(&format!("OBJECT ENCODING {k}"))
}

fn contents(c: &mut Client, k: &str) -> Vec<String> {
    bulks(&c.cmd(&format!("ZRANGE {k} 0 -1 WITHSCORES")))
}

#[test]
fn encodings_convert_both_ways_with_contents_intact() {
    let srv = Server::start(&["--appendonly", "no"]);
    let mut c = srv.connect();
    // 128 members stay a listpack; the 129th converts.
    let mut args = vec!["ZADD".to_string(), "z".to_string()];
    for i in 0..128 {
        args.push(format!("{}.5", i % 7));
        args.push(format!("m{i:03}"));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    assert_eq!(c.cmdv(&a), ":128\r\n");
    assert_eq!(encoding(&mut c, "z"), "$8\r\nlistpack\r\n");
    let before = contents(&mut c, "z");
    assert_eq!(c.cmd("ZADD z 3.5 m128"), ":1\r\n");
    assert_eq!(encoding(&mut c, "z"), "$8\r\nskiplist\r\n");
    let after = contents(&mut c, "z");
    assert_eq!(after.len(), before.len() + 2);
    let mut want = before.clone();
    // m128 at 3.5 sorts after the other 3.5 members (m003, m010, ...).
    let pos = (0..want.len() / 2)
        .find(|&i| want[2 * i + 1].parse::<f64>().unwrap() > 3.5)
        .unwrap_or(want.len() / 2);
    want.insert(2 * pos, "3.5".into());
    want.insert(2 * pos, "m128".into());
    assert_eq!(after, want);
    // Removing members never converts back.
    for i in 0..120 {
        c.cmd(&format!("ZREM z m{i:03}"));
    }
    assert_eq!(encoding(&mut c, "z"), "$8\r\nskiplist\r\n");
    // A small result of a store command is a listpack again, with the same contents.
    assert_eq!(c.cmd("ZUNIONSTORE u 1 z"), ":9\r\n");
    assert_eq!(encoding(&mut c, "u"), "$8\r\nlistpack\r\n");
    assert_eq!(contents(&mut c, "u"), contents(&mut c, "z"));
    assert_eq!(c.cmd("ZRANGESTORE r z 0 -1"), ":9\r\n");
    assert_eq!(encoding(&mut c, "r"), "$8\r\nlistpack\r\n");
    assert_eq!(contents(&mut c, "r"), contents(&mut c, "z"));
    // A member longer than zset-max-listpack-value converts.
    let long = "x".repeat(65);
    assert_eq!(c.cmdv(&["ZADD", "l", "1", "a", "2", &long]), ":2\r\n");
    assert_eq!(encoding(&mut c, "l"), "$8\r\nskiplist\r\n");
    assert_eq!(c.cmdv(&["ZADD", "l2", "1", &"x".repeat(64)]), ":1\r\n");
    assert_eq!(encoding(&mut c, "l2"), "$8\r\nlistpack\r\n");
    // The thresholds are configurable, under both names.
    assert_eq!(c.cmd("CONFIG SET zset-max-ziplist-entries 2"), "+OK\r\n");
    assert_eq!(
        c.cmd("CONFIG GET zset-max-listpack-entries"),
        "*2\r\n$25\r\nzset-max-listpack-entries\r\n$1\r\n2\r\n"
    );
    c.cmd("ZADD t 1 a 2 b");
    assert_eq!(encoding(&mut c, "t"), "$8\r\nlistpack\r\n");
    c.cmd("ZADD t 3 c");
    assert_eq!(encoding(&mut c, "t"), "$8\r\nskiplist\r\n");
    assert_eq!(contents(&mut c, "t"), ["a", "1", "b", "2", "c", "3"]);
    assert_eq!(c.cmd("CONFIG SET zset-max-listpack-value 3"), "+OK\r\n");
    c.cmd("ZADD v 1 abcd");
    assert_eq!(encoding(&mut c, "v"), "$8\r\nskiplist\r\n");
    assert_eq!(
        c.cmd("CONFIG SET zset-max-listpack-entries -1"),
        "-ERR CONFIG SET failed (possibly related to argument 'zset-max-listpack-entries') - argument must be between 0 and 9223372036854775807 inclusive\r\n"
    );
}

/// Every key's (type, encoding, ZRANGE WITHSCORES).
fn dump(c: &mut Client) -> BTreeMap<String, (String, Vec<String>)> {
    let mut keys = bulks(&c.cmd("KEYS *"));
    keys.sort();
    keys.into_iter()
        .map(|k| {
            let e = encoding(c, &k);
            let v = contents(c, &k);
            (k, (e, v))
        })
        .collect()
}

/// A mix of writes whose replay must rebuild the same sets, bit for bit.
fn write_mix(c: &mut Client) {
    for cmd in [
        "ZADD a 1 x 2 y 3 z 0.1 w",
        "ZADD a INCR 0.2 w",
        "ZINCRBY a 1e-9 x",
        "ZADD a -0 nz",
        "ZADD b 5 x 6 y inf z -inf q",
        "ZUNIONSTORE c 2 a b WEIGHTS 0.3 3",
        "ZINTERSTORE d 2 a b AGGREGATE MAX",
        "ZDIFFSTORE e 2 b a",
        "ZRANGESTORE f a 1 2",
        "ZPOPMIN b",
        "ZMPOP 2 nope a MAX COUNT 2",
        "ZREMRANGEBYSCORE c (0 1",
        "ZREMRANGEBYLEX d - [x",
        "ZADD g 0 a 0 b 0 c 0 d",
        "ZREMRANGEBYRANK g 1 2",
        "ZREM b q",
    ] {
        let r = c.cmd(cmd);
        assert!(!r.starts_with('-'), "{cmd}: {r}");
    }
    // A big set, converted, with scores that need all 17 digits.
    let mut r = Rng::new(7);
    let mut args = vec!["ZADD".to_string(), "big".to_string()];
    for i in 0..400 {
        let s = (r.next() % 1_000_000) as f64 / 7.0 - 50_000.0;
        args.push(format!("{s:e}"));
        args.push(format!("member:{i}"));
    }
    args.extend(["-0".into(), "negzero".into(), "inf".into(), "top".into()]);
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    assert_eq!(c.cmdv(&a), ":402\r\n");
    c.cmd("ZINCRBY big 0.1 member:5");
    c.cmd("ZPOPMAX big 3");
}

#[test]
fn aof_replay_after_kill9_rebuilds_the_same_sets() {
    let dir = TempDir::new("zset-aof");
    let mut srv = start_aof(dir.path());
    let mut c = srv.connect();
    write_mix(&mut c);
    let before = dump(&mut c);
    let digest = c.cmd("DEBUG DIGEST");
    assert_eq!(before["big"].0, "$8\r\nskiplist\r\n");
    assert!(before["big"].1.contains(&"-0".to_string()));
    srv.kill9();
    // ZMPOP is logged as what it did: ZPOPMAX a 2.
    let aof_dir = dir.path().join("appendonlydir");
    let mut log = Vec::new();
    for e in std::fs::read_dir(&aof_dir).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with(".incr.aof") {
            log.extend(std::fs::read(p).unwrap());
        }
    }
    let log = String::from_utf8_lossy(&log);
    assert!(!log.contains("ZMPOP"), "{log}");
    assert!(
        log.contains("$7\r\nZPOPMAX\r\n$1\r\na\r\n$1\r\n2\r\n"),
        "{log}"
    );
    drop(srv);
    let srv = start_aof(dir.path());
    let mut c = srv.connect();
    assert_eq!(dump(&mut c), before);
    assert_eq!(c.cmd("DEBUG DIGEST"), digest);
}

#[test]
fn bgrewriteaof_and_restart_keep_every_score() {
    let dir = TempDir::new("zset-rewrite");
    let srv = start_aof(dir.path());
    let mut c = srv.connect();
    write_mix(&mut c);
    let before = dump(&mut c);
    let digest = c.cmd("DEBUG DIGEST");
    c.cmd("BGREWRITEAOF");
    common::wait_rewrites(&mut c, 1, 30);
    // More writes after the rewrite go to the new incr file.
    c.cmd("ZADD after 1.25 x");
    let mut before = before;
    before.insert(
        "after".into(),
        ("$8\r\nlistpack\r\n".into(), vec!["x".into(), "1.25".into()]),
    );
    let digest2 = c.cmd("DEBUG DIGEST");
    assert_ne!(digest, digest2);
    drop(srv);
    let srv = start_aof(dir.path());
    let mut c = srv.connect();
    assert_eq!(dump(&mut c), before);
    assert_eq!(c.cmd("DEBUG DIGEST"), digest2);
}

#[test]
fn zrandmember_counts_are_bounded() {
    let srv = Server::start(&["--appendonly", "no"]);
    let mut c = srv.connect();
    c.cmd("ZADD z 1 a 2 b 3 c");
    assert_eq!(
        c.cmd("ZRANDMEMBER z -20000000"),
        "-ERR value is out of range\r\n"
    );
    let r = c.cmd("ZRANDMEMBER z -7 WITHSCORES");
    assert!(r.starts_with("*14\r\n"), "{r}");
    let r = c.cmd("ZRANDMEMBER z 2");
    let got = bulks(&r);
    assert_eq!(got.len(), 2);
    assert_ne!(got[0], got[1]);
    // A big set: distinct picks, negative counts with repeats.
    let mut args = vec!["ZADD".to_string(), "big".to_string()];
    for i in 0..1000 {
        args.push(i.to_string());
        args.push(format!("m{i}"));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    c.cmdv(&a);
    let got = bulks(&c.cmd("ZRANDMEMBER big 900"));
    let set: std::collections::HashSet<_> = got.iter().collect();
    assert_eq!(set.len(), 900);
    assert_eq!(bulks(&c.cmd("ZRANDMEMBER big -3000")).len(), 3000);
    let single = c.cmd("ZRANDMEMBER big");
    assert!(single.starts_with("$"), "{single}");
}

/// Random operations against a model sorted by (score, member), checked after every batch,
/// across conversions (small thresholds), a kill -9 replay and a rewrite + restart.
#[test]
fn order_holds_across_conversions_and_restarts() {
    let dir = TempDir::new("zset-prop");
    let mut srv = start_aof(dir.path());
    let mut c = srv.connect();
    c.cmd("CONFIG SET zset-max-listpack-entries 16");
    let seed = std::env::var("ZSET_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let mut r = Rng::new(seed);
    const SCORES: &[&str] = &[
        "0", "-0", "1", "1.5", "-2", "inf", "-inf", "0.1", "1e300", "3",
    ];
    let mut model: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let check = |c: &mut Client, model: &BTreeMap<String, BTreeMap<String, String>>, when: &str| {
        for k in ["p0", "p1", "p2"] {
            let got = contents(c, k);
            let mut want: Vec<(f64, String, String)> = model
                .get(k)
                .map(|m| {
                    m.iter()
                        .map(|(mem, s)| (s.parse::<f64>().unwrap(), mem.clone(), s.clone()))
                        .collect()
                })
                .unwrap_or_default();
            want.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then_with(|| a.1.cmp(&b.1)));
            let got_pairs: Vec<(String, f64)> = got
                .chunks(2)
                .map(|p| (p[0].clone(), p[1].parse::<f64>().unwrap()))
                .collect();
            let want_pairs: Vec<(String, f64)> = want.iter().map(|w| (w.1.clone(), w.0)).collect();
            assert_eq!(got_pairs, want_pairs, "{k} {when} (seed {seed})");
        }
    };
    for round in 0..6 {
        for _ in 0..400 {
            let k = format!("p{}", r.below(3));
            let m = format!("m{}", r.below(40));
            let s = SCORES[r.below(SCORES.len() as u64) as usize];
            match r.below(10) {
                0..=5 => {
                    c.cmdv(&["ZADD", &k, s, &m]);
                    let e = model.entry(k.clone()).or_default();
                    // -0 and 0 are equal scores: an update to an equal score changes nothing.
                    let eq = e.get(&m).is_some_and(|old| {
                        old.parse::<f64>().unwrap() == s.parse::<f64>().unwrap()
                    });
                    if !eq {
                        e.insert(m, s.to_string());
                    }
                }
                6 | 7 => {
                    c.cmdv(&["ZREM", &k, &m]);
                    if let Some(e) = model.get_mut(&k) {
                        e.remove(&m);
                        if e.is_empty() {
                            model.remove(&k);
                        }
                    }
                }
                8 => {
                    let rep = c.cmdv(&["ZPOPMIN", &k]);
                    if let Some(e) = model.get_mut(&k) {
                        let popped = bulks(&rep);
                        e.remove(&popped[0]);
                        if e.is_empty() {
                            model.remove(&k);
                        }
                    }
                }
                _ => {
                    let rep = c.cmdv(&["ZRANGE", &k, "0", "-1", "WITHSCORES"]);
                    let n = model.get(&k).map_or(0, |m| m.len());
                    assert_eq!(bulks(&rep).len(), 2 * n);
                }
            }
        }
        // Scores are compared as numbers: a listpack stores -0 as 0, as Redis does.
        check(&mut c, &model, &format!("round {round}"));
        match round {
            1 => {
                srv.kill9();
                drop(srv);
                srv = start_aof(dir.path());
                c = srv.connect();
                c.cmd("CONFIG SET zset-max-listpack-entries 16");
                check(&mut c, &model, "after kill -9");
            }
            3 => {
                c.cmd("BGREWRITEAOF");
                common::wait_rewrites(&mut c, 1, 30);
                drop(srv);
                srv = start_aof(dir.path());
                c = srv.connect();
                c.cmd("CONFIG SET zset-max-listpack-entries 16");
                check(&mut c, &model, "after rewrite and restart");
            }
            _ => {}
        }
    }
}

#[test]
fn memory_usage_and_types() {
    let srv = Server::start(&["--appendonly", "no"]);
    let mut c = srv.connect();
    c.cmd("ZADD z 1 a");
    assert_eq!(c.cmd("TYPE z"), "+zset\r\n");
    let small: i64 = c.cmd("MEMORY USAGE z")[1..].trim().parse().unwrap();
    let mut args = vec!["ZADD".to_string(), "z".to_string()];
    for i in 0..5000 {
        args.push(i.to_string());
        args.push(format!("member:{i}"));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    c.cmdv(&a);
    let big: i64 = c.cmd("MEMORY USAGE z")[1..].trim().parse().unwrap();
    assert!(small < 200, "{small}");
    // About 50 bytes a member, not hundreds.
    assert!(big > 5000 * 30 && big < 5000 * 120, "{big}");
    assert_eq!(c.cmd("ZCARD z"), ":5001\r\n");
    assert_eq!(c.cmd("ZRANK z member:4999"), ":5000\r\n");
}
