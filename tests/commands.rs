//! Integration tests for hash, string and keyspace commands. Every exact expected reply
//! below was checked byte for byte against a real redis-server 7.0.15 (except options
//! Redis 7.0 lacks, such as HSCAN NOVALUES, which are marked).
//!
//! Assertions are "soft": each test records every mismatch and fails at the end with the
//! full list, so one run shows all the differences in a family.

mod common;

use common::{Client, Server};
use std::collections::{HashMap, HashSet};
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

/// A client on a fresh ferrokv that records mismatching replies instead of stopping.
struct T {
    _server: Server,
    c: Client,
    fails: Vec<String>,
}

impl Deref for T {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.c
    }
}

impl DerefMut for T {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.c
    }
}

impl T {
    fn new() -> T {
        let server = Server::start(&[]);
        let c = server.connect();
        T {
            _server: server,
            c,
            fails: Vec::new(),
        }
    }

    #[track_caller]
    fn check(&mut self, what: String, got: &[u8], want: &[u8]) {
        if got != want {
            let loc = std::panic::Location::caller();
            self.fails.push(format!(
                "line {}: {}\n    want {:?}\n    got  {:?}",
                loc.line(),
                what,
                String::from_utf8_lossy(want),
                String::from_utf8_lossy(got)
            ));
        }
    }

    /// Sends `line` (split on spaces) and checks the exact reply.
    #[track_caller]
    fn is(&mut self, line: &str, want: &str) {
        let got = self.c.cmd(line);
        self.check(line.to_string(), got.as_bytes(), want.as_bytes());
    }

    /// Sends the arguments as given and checks the exact reply.
    #[track_caller]
    fn isv(&mut self, args: &[&str], want: &str) {
        let got = self.c.cmdv(args);
        self.check(format!("{args:?}"), got.as_bytes(), want.as_bytes());
    }

    /// Binary-safe variant of `isv`.
    #[track_caller]
    fn isb(&mut self, args: &[&[u8]], want: &[u8]) {
        let got = self.c.cmd_bytes(args);
        let what: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        self.check(format!("{what:?}"), &got, want);
    }

    /// Checks a condition computed by the test itself.
    #[track_caller]
    fn ok(&mut self, cond: bool, what: &str) {
        if !cond {
            let loc = std::panic::Location::caller();
            self.fails.push(format!("line {}: {}", loc.line(), what));
        }
    }
}

impl Drop for T {
    fn drop(&mut self) {
        if !self.fails.is_empty() && !std::thread::panicking() {
            panic!(
                "{} mismatching replies:\n{}",
                self.fails.len(),
                self.fails.join("\n")
            );
        }
    }
}

/// Parses a flat RESP2 reply (array of bulk strings / nulls, possibly nested one level)
/// into its elements; nested arrays are flattened.
fn parse_bulks(reply: &[u8]) -> Vec<Option<Vec<u8>>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < reply.len() {
        let end = pos + reply[pos..].windows(2).position(|w| w == b"\r\n").unwrap();
        let head = std::str::from_utf8(&reply[pos + 1..end]).unwrap();
        match reply[pos] {
            b'*' => pos = end + 2,
            b'$' => {
                let n: i64 = head.parse().unwrap();
                if n < 0 {
                    out.push(None);
                    pos = end + 2;
                } else {
                    let s = end + 2;
                    out.push(Some(reply[s..s + n as usize].to_vec()));
                    pos = s + n as usize + 2;
                }
            }
            _ => panic!("unexpected reply {:?}", String::from_utf8_lossy(reply)),
        }
    }
    out
}

/// Elements of an array-of-bulks reply as Strings (nulls become "<nil>").
fn strs(reply: &str) -> Vec<String> {
    parse_bulks(reply.as_bytes())
        .into_iter()
        .map(|b| b.map_or("<nil>".to_string(), |b| String::from_utf8(b).unwrap()))
        .collect()
}

/// Parses an integer reply ":N\r\n".
fn int(reply: &str) -> i64 {
    reply
        .strip_prefix(':')
        .and_then(|r| r.strip_suffix("\r\n"))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("not an integer reply: {reply:?}"))
}

/// Splits a SCAN-style reply into (cursor, elements).
fn scan_reply(reply: &str) -> (String, Vec<String>) {
    let all = strs(reply);
    assert!(!all.is_empty(), "bad scan reply {reply:?}");
    (all[0].clone(), all[1..].to_vec())
}

#[test]
fn hash_basic() {
    let mut t = T::new();
    // HSET / HGET / HLEN
    t.is("HSET h f1 v1", ":1\r\n");
    t.is("HSET h f2 v2 f3 v3", ":2\r\n");
    t.is("HSET h f1 new f4 v4", ":1\r\n");
    t.is(
        "HSET h f1",
        "-ERR wrong number of arguments for 'hset' command\r\n",
    );
    t.is(
        "HSET h f1 v1 f2",
        "-ERR wrong number of arguments for 'hset' command\r\n",
    );
    t.is("HGET h f1", "$3\r\nnew\r\n");
    t.is("HGET h nofield", "$-1\r\n");
    t.is("HGET nokey f1", "$-1\r\n");
    t.is(
        "HGET h",
        "-ERR wrong number of arguments for 'hget' command\r\n",
    );
    t.is("HLEN h", ":4\r\n");
    t.is("HLEN nokey", ":0\r\n");
    // HSETNX
    t.is("HSETNX h f1 other", ":0\r\n");
    t.is("HSETNX h f5 v5", ":1\r\n");
    t.is("HGET h f5", "$2\r\nv5\r\n");
    t.is(
        "HSETNX h f6",
        "-ERR wrong number of arguments for 'hsetnx' command\r\n",
    );
    // HMSET
    t.is("HMSET h2 a 1 b 2", "+OK\r\n");
    t.is(
        "HMSET h2 a",
        "-ERR wrong number of arguments for 'hmset' command\r\n",
    );
    t.is(
        "HMSET h2 a 1 b",
        "-ERR wrong number of arguments for 'hmset' command\r\n",
    );
    t.is(
        "HMGET h2 a nofield b",
        "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n",
    );
    t.is("HMGET nokey a b", "*2\r\n$-1\r\n$-1\r\n");
    t.is(
        "HMGET h2",
        "-ERR wrong number of arguments for 'hmget' command\r\n",
    );
    // HGETALL order: update keeps position, delete then re-add goes to end
    t.is("HSET o x 1 y 2 z 3", ":3\r\n");
    t.is(
        "HGETALL o",
        "*6\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n",
    );
    t.is("HSET o x 10", ":0\r\n");
    t.is(
        "HGETALL o",
        "*6\r\n$1\r\nx\r\n$2\r\n10\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n",
    );
    t.is("HDEL o x", ":1\r\n");
    t.is("HSET o x 100", ":1\r\n");
    t.is(
        "HGETALL o",
        "*6\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n$1\r\nx\r\n$3\r\n100\r\n",
    );
    t.is("HKEYS o", "*3\r\n$1\r\ny\r\n$1\r\nz\r\n$1\r\nx\r\n");
    t.is("HVALS o", "*3\r\n$1\r\n2\r\n$1\r\n3\r\n$3\r\n100\r\n");
    t.is("HGETALL nokey", "*0\r\n");
    t.is("HKEYS nokey", "*0\r\n");
    t.is("HVALS nokey", "*0\r\n");
    // HDEL
    t.is("HDEL o y nofield z", ":2\r\n");
    t.is("HDEL o nofield", ":0\r\n");
    t.is(
        "HDEL o",
        "-ERR wrong number of arguments for 'hdel' command\r\n",
    );
    t.is("HDEL o x", ":1\r\n");
    t.is("EXISTS o", ":0\r\n");
    t.is("HDEL o x", ":0\r\n");
    t.is("HLEN o", ":0\r\n");
    // HEXISTS
    t.is("HSET e f v", ":1\r\n");
    t.is("HEXISTS e f", ":1\r\n");
    t.is("HEXISTS e g", ":0\r\n");
    t.is("HEXISTS nokey f", ":0\r\n");
    t.is(
        "HEXISTS e",
        "-ERR wrong number of arguments for 'hexists' command\r\n",
    );
    // HSTRLEN
    t.is("HSET s f hello num 12345 empty x", ":3\r\n");
    t.isv(&["HSET", "s", "empty", ""], ":0\r\n");
    t.is("HSTRLEN s f", ":5\r\n");
    t.is("HSTRLEN s num", ":5\r\n");
    t.is("HSTRLEN s empty", ":0\r\n");
    t.is("HSTRLEN s nofield", ":0\r\n");
    t.is("HSTRLEN nokey f", ":0\r\n");
    t.is(
        "HSTRLEN s",
        "-ERR wrong number of arguments for 'hstrlen' command\r\n",
    );
    // HINCRBY
    t.is("HINCRBY i n 5", ":5\r\n");
    t.is("HINCRBY i n -3", ":2\r\n");
    t.is("HINCRBY i n 0", ":2\r\n");
    t.is("HGET i n", "$1\r\n2\r\n");
    t.is(
        "HSET i big 9223372036854775807 small -9223372036854775808 s abc fl 1.5 sp 1x",
        ":5\r\n",
    );
    t.is(
        "HINCRBY i big 1",
        "-ERR increment or decrement would overflow\r\n",
    );
    t.is(
        "HINCRBY i small -1",
        "-ERR increment or decrement would overflow\r\n",
    );
    t.is("HINCRBY i big 0", ":9223372036854775807\r\n");
    t.is("HINCRBY i s 1", "-ERR hash value is not an integer\r\n");
    t.is("HINCRBY i fl 1", "-ERR hash value is not an integer\r\n");
    t.is("HINCRBY i sp 1", "-ERR hash value is not an integer\r\n");
    t.is(
        "HINCRBY i n abc",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "HINCRBY i n 1.5",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "HINCRBY i n 9223372036854775808",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "HINCRBY i n",
        "-ERR wrong number of arguments for 'hincrby' command\r\n",
    );
    t.is(
        "HINCRBY i",
        "-ERR wrong number of arguments for 'hincrby' command\r\n",
    );
    t.is("HGET i n", "$1\r\n2\r\n");
    // HINCRBYFLOAT
    t.is("HSET f a 10.5 b 1999.99 c 5.0e3 d abc inf 1", ":5\r\n");
    t.is("HINCRBYFLOAT f a 0.1", "$4\r\n10.6\r\n");
    t.is("HINCRBYFLOAT f b -99.99", "$4\r\n1900\r\n");
    t.is("HGET f b", "$4\r\n1900\r\n");
    t.is("HINCRBYFLOAT f c 0", "$4\r\n5000\r\n");
    t.is("HGET f c", "$4\r\n5000\r\n");
    t.is("HINCRBYFLOAT f new 3", "$1\r\n3\r\n");
    t.is("HINCRBYFLOAT f new 2.5e2", "$3\r\n253\r\n");
    t.is("HINCRBYFLOAT f d 1", "-ERR hash value is not a float\r\n");
    t.is(
        "HINCRBYFLOAT f a abc",
        "-ERR value is not a valid float\r\n",
    );
    t.is("HINCRBYFLOAT f a inf", "-ERR value is NaN or Infinity\r\n");
    t.is(
        "HINCRBYFLOAT f a nan",
        "-ERR value is not a valid float\r\n",
    );
    t.is(
        "HINCRBYFLOAT f a",
        "-ERR wrong number of arguments for 'hincrbyfloat' command\r\n",
    );
    t.is("HINCRBYFLOAT f n2 -0.5", "$4\r\n-0.5\r\n");
    t.is("HSET f big 1.7e308", ":1\r\n");
    t.is("HINCRBYFLOAT f big 1.7e308", "$309\r\n340000000000000000006273556050395193590540427779388267466087171526404912102411641988123739177800600673957047683771263425322806997836001586961457274820033393094901317200013624802610872515245814124760542925564488876540887382670905522638137419003805178364056052028734561012664811529831035124023358619554802565120\r\n");
    t.is("HINCRBYFLOAT nokey x 1.25", "$4\r\n1.25\r\n");
}

#[test]
fn hash_random_scan_encoding() {
    let mut t = T::new();
    t.is("HSET h a 1", ":1\r\n");
    t.is("HRANDFIELD h", "$1\r\na\r\n");
    t.is("HRANDFIELD h 1", "*1\r\n$1\r\na\r\n");
    t.is("HRANDFIELD h 1 WITHVALUES", "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    t.is("HRANDFIELD h 0", "*0\r\n");
    t.is("HRANDFIELD h 0 WITHVALUES", "*0\r\n");
    t.is("HRANDFIELD h -2", "*2\r\n$1\r\na\r\n$1\r\na\r\n");
    t.is(
        "HRANDFIELD h -2 WITHVALUES",
        "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n1\r\n",
    );
    t.is("HRANDFIELD nokey", "$-1\r\n");
    t.is("HRANDFIELD nokey 5", "*0\r\n");
    t.is("HRANDFIELD nokey -5 WITHVALUES", "*0\r\n");
    t.is(
        "HRANDFIELD h abc",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is("HRANDFIELD h 1 WITHVAL", "-ERR syntax error\r\n");
    t.is("HRANDFIELD h 1 WITHVALUES x", "-ERR syntax error\r\n");
    t.is(
        "HRANDFIELD",
        "-ERR wrong number of arguments for 'hrandfield' command\r\n",
    );
    t.is("HSCAN nokey 0", "*2\r\n$1\r\n0\r\n*0\r\n");
    t.is("HSCAN h 0", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    t.is("HSCAN h abc", "-ERR invalid cursor\r\n");
    t.is("HSCAN h 0 COUNT 0", "-ERR syntax error\r\n");
    t.is("HSCAN h 0 COUNT -1", "-ERR syntax error\r\n");
    t.is(
        "HSCAN h 0 COUNT abc",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is("HSCAN h 0 MATCH", "-ERR syntax error\r\n");
    t.is("HSCAN h 0 FOO bar", "-ERR syntax error\r\n");
    t.is(
        "HSCAN h -1",
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
    );
    t.is(
        "HSCAN h 18446744073709551615",
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
    );
    t.is("HSCAN h 18446744073709551616", "-ERR invalid cursor\r\n");
    t.is("HSCAN h 0 MATCH b*", "*2\r\n$1\r\n0\r\n*0\r\n");
    t.is(
        "HSCAN h",
        "-ERR wrong number of arguments for 'hscan' command\r\n",
    );
    t.is("HSET h b 2 c 3 bb 4", ":3\r\n");
    t.is(
        "HSCAN h 0 MATCH b*",
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$2\r\nbb\r\n$1\r\n4\r\n",
    );
    t.is(
        "HSCAN h 0 MATCH b* COUNT 100",
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$2\r\nbb\r\n$1\r\n4\r\n",
    );
    t.is("HSCAN h 0 COUNT 1", "*2\r\n$1\r\n0\r\n*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$2\r\nbb\r\n$1\r\n4\r\n");
    t.is(
        "HSCAN h 0 MATCH *b COUNT 1 MATCH b*",
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$2\r\nbb\r\n$1\r\n4\r\n",
    );

    // HRANDFIELD on a 10-field hash.
    let fields: Vec<String> = (0..10).map(|i| format!("f{i}")).collect();
    for f in &fields {
        t.is(&format!("HSET r {f} v{f}"), ":1\r\n");
    }
    let all: HashSet<String> = fields.iter().cloned().collect();
    for _ in 0..20 {
        let one = t.cmd("HRANDFIELD r");
        let got = strs(&one);
        t.ok(
            got.len() == 1 && all.contains(&got[0]),
            &format!("HRANDFIELD r -> {one:?}"),
        );
    }
    // 0 < count < size: exactly count distinct fields.
    for _ in 0..20 {
        let got = strs(&t.cmd("HRANDFIELD r 5"));
        let set: HashSet<String> = got.iter().cloned().collect();
        t.ok(
            got.len() == 5 && set.len() == 5 && set.is_subset(&all),
            &format!("HRANDFIELD r 5 -> {got:?}"),
        );
    }
    // count >= size: every field once.
    for n in [10, 11, 100] {
        let got = strs(&t.cmd(&format!("HRANDFIELD r {n}")));
        let set: HashSet<String> = got.iter().cloned().collect();
        t.ok(
            got.len() == 10 && set == all,
            &format!("HRANDFIELD r {n} -> {got:?}"),
        );
    }
    // Negative count: exactly |count| fields, repeats allowed.
    let got = strs(&t.cmd("HRANDFIELD r -30"));
    t.ok(
        got.len() == 30 && got.iter().all(|f| all.contains(f)),
        &format!("HRANDFIELD r -30 -> {got:?}"),
    );
    let got = strs(&t.cmd("HRANDFIELD r -3"));
    t.ok(
        got.len() == 3 && got.iter().all(|f| all.contains(f)),
        "HRANDFIELD r -3",
    );
    // WITHVALUES: field/value pairs that match the hash.
    for arg in ["3", "10", "50", "-25"] {
        let got = strs(&t.cmd(&format!("HRANDFIELD r {arg} WITHVALUES")));
        let want_len = match arg {
            "3" => 6,
            "-25" => 50,
            _ => 20,
        };
        let pairs_ok = got
            .chunks(2)
            .all(|p| p.len() == 2 && all.contains(&p[0]) && p[1] == format!("v{}", p[0]));
        t.ok(
            got.len() == want_len && pairs_ok,
            &format!("HRANDFIELD r {arg} WITHVALUES -> {got:?}"),
        );
        if !arg.starts_with('-') {
            let names: HashSet<&String> = got.iter().step_by(2).collect();
            t.ok(
                names.len() * 2 == got.len(),
                "WITHVALUES positive count: distinct fields",
            );
        }
    }
    t.is("HRANDFIELD r 0", "*0\r\n");
    t.is("HRANDFIELD r 0 WITHVALUES", "*0\r\n");

    // HSCAN over a 1000-field hash (hashtable encoding): iterate to cursor 0.
    for chunk in 0..10 {
        let mut args: Vec<String> = vec!["HSET".into(), "big".into()];
        for i in chunk * 100..chunk * 100 + 100 {
            args.push(format!("field:{i}"));
            args.push(format!("{i}"));
        }
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        t.isv(&args, ":100\r\n");
    }
    t.is("HLEN big", ":1000\r\n");
    t.is("OBJECT ENCODING big", "$9\r\nhashtable\r\n");
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut cursor = "0".to_string();
    let mut rounds = 0;
    loop {
        let reply = t.cmd(&format!("HSCAN big {cursor} COUNT 50"));
        let (next, items) = scan_reply(&reply);
        for p in items.chunks(2) {
            seen.insert(p[0].clone(), p[1].clone());
        }
        cursor = next;
        rounds += 1;
        if cursor == "0" || rounds > 10_000 {
            break;
        }
    }
    t.ok(
        rounds > 1,
        "HSCAN COUNT 50 over 1000 fields took more than one call",
    );
    t.ok(
        seen.len() == 1000,
        &format!("HSCAN saw {} distinct fields", seen.len()),
    );
    t.ok(
        (0..1000).all(|i| seen.get(&format!("field:{i}")) == Some(&i.to_string())),
        "HSCAN returned every field with its value",
    );
    // MATCH on the big hash: only matching fields come back, all of them eventually.
    let mut matched = HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let reply = t.cmd(&format!("HSCAN big {cursor} MATCH field:99* COUNT 100"));
        let (next, items) = scan_reply(&reply);
        for p in items.chunks(2) {
            matched.insert(p[0].clone());
        }
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    let want: HashSet<String> = ["field:99".to_string()]
        .into_iter()
        .chain((990..1000).map(|i| format!("field:{i}")))
        .collect();
    t.ok(
        matched == want,
        &format!("HSCAN MATCH field:99* -> {matched:?}"),
    );

    // NOVALUES (a Redis 7.4 option, not in 7.0): field names only.
    t.is("HSET nv a 1 b 2", ":2\r\n");
    let got = strs(&t.cmd("HSCAN nv 0 NOVALUES"));
    let mut names = got[1..].to_vec();
    names.sort();
    t.ok(
        got[0] == "0" && names == ["a", "b"],
        &format!("HSCAN nv 0 NOVALUES -> {got:?}"),
    );
    let mut cursor = "0".to_string();
    let mut names = HashSet::new();
    let mut count = 0;
    loop {
        let reply = t.cmd(&format!("HSCAN big {cursor} NOVALUES COUNT 100"));
        let (next, items) = scan_reply(&reply);
        count += items.len();
        names.extend(items);
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    t.ok(
        names.len() == 1000 && names.iter().all(|n| n.starts_with("field:")) && count >= 1000,
        "HSCAN big NOVALUES returned every field name and no values",
    );

    // Encoding conversion: 512 fields stay listpack, the 513th converts.
    for i in 0..512 {
        t.is(&format!("HSET enc f{i} v"), ":1\r\n");
    }
    t.is("OBJECT ENCODING enc", "$8\r\nlistpack\r\n");
    t.is("HSET enc f512 v", ":1\r\n");
    t.is("OBJECT ENCODING enc", "$9\r\nhashtable\r\n");
    t.is("HDEL enc f512 f1", ":2\r\n");
    t.is("OBJECT ENCODING enc", "$9\r\nhashtable\r\n");
    let v64 = "x".repeat(64);
    let v65 = "x".repeat(65);
    t.isv(&["HSET", "val", "a", &v64], ":1\r\n");
    t.is("OBJECT ENCODING val", "$8\r\nlistpack\r\n");
    t.isv(&["HSET", "val", "b", &v65], ":1\r\n");
    t.is("OBJECT ENCODING val", "$9\r\nhashtable\r\n");
    t.isv(&["HSET", "fld", &v65, "1"], ":1\r\n");
    t.is("OBJECT ENCODING fld", "$9\r\nhashtable\r\n");
    t.isv(&["HSETNX", "nx", "a", &v65], ":1\r\n");
    t.is("OBJECT ENCODING nx", "$9\r\nhashtable\r\n");
    t.is("HINCRBYFLOAT flt a 1", "$1\r\n1\r\n");
    t.is("OBJECT ENCODING flt", "$8\r\nlistpack\r\n");

    // HRANDFIELD on the 1000-field hashtable-encoded hash.
    let big: HashSet<String> = (0..1000).map(|i| format!("field:{i}")).collect();
    let got = strs(&t.cmd("HRANDFIELD big 100"));
    t.ok(
        got.len() == 100
            && got.iter().collect::<HashSet<_>>().len() == 100
            && got.iter().all(|f| big.contains(f)),
        "HRANDFIELD big 100: 100 distinct fields",
    );
    let got = strs(&t.cmd("HRANDFIELD big 900"));
    t.ok(
        got.len() == 900 && got.iter().collect::<HashSet<_>>().len() == 900,
        "HRANDFIELD big 900: 900 distinct fields",
    );
    let got = strs(&t.cmd("HRANDFIELD big 2000"));
    t.ok(
        got.len() == 1000 && got.iter().cloned().collect::<HashSet<_>>() == big,
        "HRANDFIELD big 2000: every field once",
    );
    let got = strs(&t.cmd("HRANDFIELD big -2000"));
    t.ok(
        got.len() == 2000 && got.iter().all(|f| big.contains(f)),
        "HRANDFIELD big -2000: 2000 fields",
    );
    let got = strs(&t.cmd("HRANDFIELD big 300 WITHVALUES"));
    t.ok(
        got.len() == 600
            && got.chunks(2).all(|p| p[0] == format!("field:{}", p[1]))
            && got.iter().step_by(2).collect::<HashSet<_>>().len() == 300,
        "HRANDFIELD big 300 WITHVALUES: 300 distinct matching pairs",
    );
    let got = strs(&t.cmd("HRANDFIELD big -5 WITHVALUES"));
    t.ok(
        got.len() == 10 && got.chunks(2).all(|p| p[0] == format!("field:{}", p[1])),
        "HRANDFIELD big -5 WITHVALUES: 5 matching pairs",
    );
    let one = strs(&t.cmd("HRANDFIELD big"));
    t.ok(
        one.len() == 1 && big.contains(&one[0]),
        "HRANDFIELD big: one field",
    );
}

#[test]
fn hash_wrongtype() {
    let mut t = T::new();
    // every hash command against a string key
    t.is("SET s v", "+OK\r\n");
    t.is(
        "HSET s f v",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HSETNX s f v",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HMSET s f v",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HGET s f",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HMGET s f g",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HGETALL s",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HDEL s f",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HLEN s",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HEXISTS s f",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HKEYS s",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HVALS s",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HSTRLEN s f",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HINCRBY s f 1",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HINCRBYFLOAT s f 1.5",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HRANDFIELD s",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HRANDFIELD s 2",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HRANDFIELD s -2 WITHVALUES",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "HSCAN s 0",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is("GET s", "$1\r\nv\r\n");
    // every string command against a hash key
    t.is("HSET h f v", ":1\r\n");
    t.is(
        "GET h",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "SET h v GET",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "GETSET h v",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "GETDEL h",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "GETEX h",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "GETEX h PERSIST",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is("MGET h s", "*2\r\n$-1\r\n$1\r\nv\r\n");
    t.is(
        "INCR h",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "DECR h",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "INCRBY h 2",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "DECRBY h 2",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "INCRBYFLOAT h 1.5",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "APPEND h x",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "STRLEN h",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "GETRANGE h 0 -1",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "SETRANGE h 0 x",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is("SETNX h v", ":0\r\n");
    t.is("MSETNX h v x y", ":0\r\n");
    t.is("TYPE h", "+hash\r\n");
    t.is("HGETALL h", "*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    t.is("SET h v", "+OK\r\n");
    t.is("TYPE h", "+string\r\n");
    t.is("GET h", "$1\r\nv\r\n");
    t.is("HSET h2 f v", ":1\r\n");
    t.isv(
        &["SETRANGE", "h2", "0", ""],
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is("SET h2 v NX", "$-1\r\n");
    t.is(
        "SET h2 v NX GET",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is(
        "SET h2 v XX GET",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.is("TYPE h2", "+hash\r\n");
    t.is(
        "GETEX h2 EX 10",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
}

#[test]
fn strings() {
    let mut t = T::new();
    // SET / GET basics
    t.is("SET k v", "+OK\r\n");
    t.is("GET k", "$1\r\nv\r\n");
    t.is("GET nokey", "$-1\r\n");
    t.isv(&["SET", "sp", "a b"], "+OK\r\n");
    t.is("GET sp", "$3\r\na b\r\n");
    t.isv(&["SET", "empty", ""], "+OK\r\n");
    t.is("GET empty", "$0\r\n\r\n");
    t.is("STRLEN empty", ":0\r\n");
    t.is(
        "SET k",
        "-ERR wrong number of arguments for 'set' command\r\n",
    );
    t.is(
        "GET",
        "-ERR wrong number of arguments for 'get' command\r\n",
    );
    t.is(
        "GET a b",
        "-ERR wrong number of arguments for 'get' command\r\n",
    );
    // SET options: NX XX GET
    t.is("SET k v2 NX", "$-1\r\n");
    t.is("SET n v NX", "+OK\r\n");
    t.is("SET nx2 v XX", "$-1\r\n");
    t.is("EXISTS nx2", ":0\r\n");
    t.is("SET n v3 XX", "+OK\r\n");
    t.is("GET n", "$2\r\nv3\r\n");
    t.is("SET n v4 GET", "$2\r\nv3\r\n");
    t.is("SET nk v GET", "$-1\r\n");
    t.is("GET nk", "$1\r\nv\r\n");
    t.is("SET n v5 NX GET", "$2\r\nv4\r\n");
    t.is("SET n v6 XX GET", "$2\r\nv4\r\n");
    t.is("SET n2 v NX GET", "$-1\r\n");
    t.is("EXISTS n2", ":1\r\n");
    t.is("SET n v NX XX", "-ERR syntax error\r\n");
    t.is("SET n v XX NX", "-ERR syntax error\r\n");
    t.is("SET n v FOO", "-ERR syntax error\r\n");
    t.is("SET n v EX", "-ERR syntax error\r\n");
    t.is("SET n v EX 10 PX 100", "-ERR syntax error\r\n");
    t.is("SET n v EX 10 KEEPTTL", "-ERR syntax error\r\n");
    t.is("SET n v KEEPTTL EX 10", "-ERR syntax error\r\n");
    t.is("SET n v PX 10 EXAT 100", "-ERR syntax error\r\n");
    t.is(
        "SET n v EX 0",
        "-ERR invalid expire time in 'set' command\r\n",
    );
    t.is(
        "SET n v EX -1",
        "-ERR invalid expire time in 'set' command\r\n",
    );
    t.is(
        "SET n v PX 0",
        "-ERR invalid expire time in 'set' command\r\n",
    );
    t.is(
        "SET n v EXAT 0",
        "-ERR invalid expire time in 'set' command\r\n",
    );
    t.is(
        "SET n v PXAT -5",
        "-ERR invalid expire time in 'set' command\r\n",
    );
    t.is(
        "SET n v EX abc",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "SET n v EX 1.5",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "SET n v EX 9223372036854775807",
        "-ERR invalid expire time in 'set' command\r\n",
    );
    t.is(
        "SET n v PX 9223372036854775807",
        "-ERR invalid expire time in 'set' command\r\n",
    );
    t.is(
        "SET n v EXAT 9223372036854775807",
        "-ERR invalid expire time in 'set' command\r\n",
    );
    t.is("SET n v EX 10 EX 20", "+OK\r\n");
    t.is("SET n v NX NX", "$-1\r\n");
    t.is("GET n", "$1\r\nv\r\n");
    // SET with expiry options
    t.is("SET e v EX 100", "+OK\r\n");
    t.is("TTL e", ":100\r\n");
    t.is("SET e v PX 100000", "+OK\r\n");
    t.is("TTL e", ":100\r\n");
    t.is("SET e v EXAT 4102444800", "+OK\r\n");
    t.is("EXPIRETIME e", ":4102444800\r\n");
    t.is("SET e v PXAT 4102444800123", "+OK\r\n");
    t.is("PEXPIRETIME e", ":4102444800123\r\n");
    t.is("EXPIRETIME e", ":4102444800\r\n");
    t.is("SET e v2 KEEPTTL", "+OK\r\n");
    t.is("PEXPIRETIME e", ":4102444800123\r\n");
    t.is("GET e", "$2\r\nv2\r\n");
    t.is("SET e v3", "+OK\r\n");
    t.is("TTL e", ":-1\r\n");
    t.is("SET e v EX 100 NX", "$-1\r\n");
    t.is("SET e v4 EX 100 XX GET", "$2\r\nv3\r\n");
    t.is("TTL e", ":100\r\n");
    t.is("SET e v5 KEEPTTL GET", "$2\r\nv4\r\n");
    t.is("TTL e", ":100\r\n");
    t.is("SET e v6 ex 50 xx", "+OK\r\n");
    t.is("TTL e", ":50\r\n");
    // GETSET
    t.is("GETSET gs a", "$-1\r\n");
    t.is("GETSET gs b", "$1\r\na\r\n");
    t.is("GET gs", "$1\r\nb\r\n");
    t.is(
        "GETSET gs",
        "-ERR wrong number of arguments for 'getset' command\r\n",
    );
    t.is("SET gse v EX 100", "+OK\r\n");
    t.is("GETSET gse w", "$1\r\nv\r\n");
    t.is("TTL gse", ":-1\r\n");
    // GETDEL
    t.is("SET gd v", "+OK\r\n");
    t.is("GETDEL gd", "$1\r\nv\r\n");
    t.is("GETDEL gd", "$-1\r\n");
    t.is("EXISTS gd", ":0\r\n");
    t.is(
        "GETDEL",
        "-ERR wrong number of arguments for 'getdel' command\r\n",
    );
    // GETEX
    t.is("SET gx v", "+OK\r\n");
    t.is("GETEX gx", "$1\r\nv\r\n");
    t.is("TTL gx", ":-1\r\n");
    t.is("GETEX gx EX 100", "$1\r\nv\r\n");
    t.is("TTL gx", ":100\r\n");
    t.is("GETEX gx PERSIST", "$1\r\nv\r\n");
    t.is("TTL gx", ":-1\r\n");
    t.is("GETEX gx PX 100000", "$1\r\nv\r\n");
    t.is("TTL gx", ":100\r\n");
    t.is("GETEX gx EXAT 4102444800", "$1\r\nv\r\n");
    t.is("EXPIRETIME gx", ":4102444800\r\n");
    t.is("GETEX gx PXAT 4102444800123", "$1\r\nv\r\n");
    t.is("PEXPIRETIME gx", ":4102444800123\r\n");
    t.is("GETEX nokey EX 10", "$-1\r\n");
    t.is(
        "GETEX gx EX 0",
        "-ERR invalid expire time in 'getex' command\r\n",
    );
    t.is(
        "GETEX gx EX -1",
        "-ERR invalid expire time in 'getex' command\r\n",
    );
    t.is(
        "GETEX gx EX abc",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is("GETEX gx EX", "-ERR syntax error\r\n");
    t.is("GETEX gx PERSIST EX 10", "-ERR syntax error\r\n");
    t.is("GETEX gx EX 10 PX 100", "-ERR syntax error\r\n");
    t.is("GETEX gx FOO", "-ERR syntax error\r\n");
    t.is("GETEX gx KEEPTTL", "-ERR syntax error\r\n");
    t.is(
        "GETEX gx EX 9223372036854775807",
        "-ERR invalid expire time in 'getex' command\r\n",
    );
    t.is("GET gx", "$1\r\nv\r\n");
    // SETNX / SETEX / PSETEX
    t.is("SETNX sn a", ":1\r\n");
    t.is("SETNX sn b", ":0\r\n");
    t.is("GET sn", "$1\r\na\r\n");
    t.is(
        "SETNX sn",
        "-ERR wrong number of arguments for 'setnx' command\r\n",
    );
    t.is("SETEX se 100 v", "+OK\r\n");
    t.is("TTL se", ":100\r\n");
    t.is("GET se", "$1\r\nv\r\n");
    t.is(
        "SETEX se 0 v",
        "-ERR invalid expire time in 'setex' command\r\n",
    );
    t.is(
        "SETEX se -10 v",
        "-ERR invalid expire time in 'setex' command\r\n",
    );
    t.is(
        "SETEX se abc v",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "SETEX se 1.5 v",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "SETEX se 100",
        "-ERR wrong number of arguments for 'setex' command\r\n",
    );
    t.is(
        "SETEX se 9223372036854775807 v",
        "-ERR invalid expire time in 'setex' command\r\n",
    );
    t.is("PSETEX pe 100000 v", "+OK\r\n");
    t.is("TTL pe", ":100\r\n");
    t.is("GET pe", "$1\r\nv\r\n");
    t.is(
        "PSETEX pe 0 v",
        "-ERR invalid expire time in 'psetex' command\r\n",
    );
    t.is(
        "PSETEX pe -1 v",
        "-ERR invalid expire time in 'psetex' command\r\n",
    );
    t.is(
        "PSETEX pe abc v",
        "-ERR value is not an integer or out of range\r\n",
    );
    // MSET / MSETNX / MGET
    t.is("MSET a 1 b 2 c 3", "+OK\r\n");
    t.is(
        "MGET a b c nokey",
        "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$-1\r\n",
    );
    t.is(
        "MSET a",
        "-ERR wrong number of arguments for 'mset' command\r\n",
    );
    t.is(
        "MSET a 1 b",
        "-ERR wrong number of arguments for 'mset' command\r\n",
    );
    t.is("MSET a 10 a 11", "+OK\r\n");
    t.is("GET a", "$2\r\n11\r\n");
    t.is("MSETNX a 1 z 2", ":0\r\n");
    t.is("EXISTS z", ":0\r\n");
    t.is("MSETNX y 1 z 2", ":1\r\n");
    t.is("MGET y z", "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    t.is("MSETNX q 1 q 2", ":1\r\n");
    t.is("GET q", "$1\r\n2\r\n");
    t.is(
        "MSETNX q",
        "-ERR wrong number of arguments for 'msetnx' command\r\n",
    );
    t.is(
        "MSETNX q 1 r",
        "-ERR wrong number of arguments for 'msetnx' command\r\n",
    );
    t.is(
        "MGET",
        "-ERR wrong number of arguments for 'mget' command\r\n",
    );
    t.is("MGET nokey", "*1\r\n$-1\r\n");
    // INCR / DECR / INCRBY / DECRBY
    t.is("INCR i", ":1\r\n");
    t.is("INCR i", ":2\r\n");
    t.is("DECR i", ":1\r\n");
    t.is("DECR i", ":0\r\n");
    t.is("DECR i", ":-1\r\n");
    t.is("INCRBY i 10", ":9\r\n");
    t.is("INCRBY i -20", ":-11\r\n");
    t.is("DECRBY i 5", ":-16\r\n");
    t.is("DECRBY i -5", ":-11\r\n");
    t.is("GET i", "$3\r\n-11\r\n");
    t.is("SET i 9223372036854775806", "+OK\r\n");
    t.is("INCR i", ":9223372036854775807\r\n");
    t.is("INCR i", "-ERR increment or decrement would overflow\r\n");
    t.is("INCRBY i 0", ":9223372036854775807\r\n");
    t.is("SET i -9223372036854775807", "+OK\r\n");
    t.is("DECR i", ":-9223372036854775808\r\n");
    t.is("DECR i", "-ERR increment or decrement would overflow\r\n");
    t.is(
        "INCRBY i -1",
        "-ERR increment or decrement would overflow\r\n",
    );
    t.is(
        "DECRBY i 1",
        "-ERR increment or decrement would overflow\r\n",
    );
    t.is("SET i 0", "+OK\r\n");
    t.is(
        "DECRBY i -9223372036854775808",
        "-ERR decrement would overflow\r\n",
    );
    t.is("DECRBY i 9223372036854775807", ":-9223372036854775807\r\n");
    t.is(
        "INCRBY i -9223372036854775808",
        "-ERR increment or decrement would overflow\r\n",
    );
    t.is("SET i 5", "+OK\r\n");
    t.is(
        "INCRBY i abc",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "INCRBY i 1.5",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "INCRBY i 9223372036854775808",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "INCRBY i",
        "-ERR wrong number of arguments for 'incrby' command\r\n",
    );
    t.is(
        "DECRBY i abc",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is("SET x abc", "+OK\r\n");
    t.is("INCR x", "-ERR value is not an integer or out of range\r\n");
    t.is("DECR x", "-ERR value is not an integer or out of range\r\n");
    t.is(
        "INCRBY x 1",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is("SET x 1.5", "+OK\r\n");
    t.is("INCR x", "-ERR value is not an integer or out of range\r\n");
    t.is("SET x 12a", "+OK\r\n");
    t.is("INCR x", "-ERR value is not an integer or out of range\r\n");
    t.is("SET x 01", "+OK\r\n");
    t.is("INCR x", "-ERR value is not an integer or out of range\r\n");
    t.is("SET x +1", "+OK\r\n");
    t.is("INCR x", "-ERR value is not an integer or out of range\r\n");
    t.is("SET x -0", "+OK\r\n");
    t.is("INCR x", "-ERR value is not an integer or out of range\r\n");
    t.isv(&["SET", "x", " 1"], "+OK\r\n");
    t.is("INCR x", "-ERR value is not an integer or out of range\r\n");
    t.is("SET x 9223372036854775808", "+OK\r\n");
    t.is("INCR x", "-ERR value is not an integer or out of range\r\n");
    t.is(
        "INCR",
        "-ERR wrong number of arguments for 'incr' command\r\n",
    );
    t.is(
        "INCR a b",
        "-ERR wrong number of arguments for 'incr' command\r\n",
    );
    t.is("SET x 10", "+OK\r\n");
    t.is("EXPIRE x 100", ":1\r\n");
    t.is("INCR x", ":11\r\n");
    t.is("TTL x", ":100\r\n");
    // INCRBYFLOAT
    t.is("SET f 10.5", "+OK\r\n");
    t.is("INCRBYFLOAT f 0.1", "$4\r\n10.6\r\n");
    t.is("SET f 1999.99", "+OK\r\n");
    t.is("INCRBYFLOAT f -99.99", "$4\r\n1900\r\n");
    t.is("SET f 5.0e3", "+OK\r\n");
    t.is("INCRBYFLOAT f 0", "$4\r\n5000\r\n");
    t.is("GET f", "$4\r\n5000\r\n");
    t.is("INCRBYFLOAT nf 3", "$1\r\n3\r\n");
    t.is("INCRBYFLOAT nf 2.5e2", "$3\r\n253\r\n");
    t.is("INCRBYFLOAT nf -253.5", "$4\r\n-0.5\r\n");
    t.is("INCRBYFLOAT nf 1.5", "$1\r\n1\r\n");
    t.is("INCRBYFLOAT nf 3", "$1\r\n4\r\n");
    t.is("SET f abc", "+OK\r\n");
    t.is("INCRBYFLOAT f 1", "-ERR value is not a valid float\r\n");
    t.is("SET f 1", "+OK\r\n");
    t.is("INCRBYFLOAT f abc", "-ERR value is not a valid float\r\n");
    t.is(
        "INCRBYFLOAT f inf",
        "-ERR increment would produce NaN or Infinity\r\n",
    );
    t.is(
        "INCRBYFLOAT f -inf",
        "-ERR increment would produce NaN or Infinity\r\n",
    );
    t.is("INCRBYFLOAT f nan", "-ERR value is not a valid float\r\n");
    t.is(
        "INCRBYFLOAT f",
        "-ERR wrong number of arguments for 'incrbyfloat' command\r\n",
    );
    t.is(
        "INCRBYFLOAT f 1 2",
        "-ERR wrong number of arguments for 'incrbyfloat' command\r\n",
    );
    t.is("SET f 1.7e308", "+OK\r\n");
    t.is("INCRBYFLOAT f 1.7e308", "$309\r\n340000000000000000006273556050395193590540427779388267466087171526404912102411641988123739177800600673957047683771263425322806997836001586961457274820033393094901317200013624802610872515245814124760542925564488876540887382670905522638137419003805178364056052028734561012664811529831035124023358619554802565120\r\n");
    t.is("SET f 10", "+OK\r\n");
    t.is("INCRBYFLOAT f .5", "$4\r\n10.5\r\n");
    t.is("INCRBYFLOAT f 5.", "$4\r\n15.5\r\n");
    t.is("INCRBYFLOAT f 1e2", "$5\r\n115.5\r\n");
    t.is("INCRBYFLOAT f -1E2", "$4\r\n15.5\r\n");
    t.is("SET f 3", "+OK\r\n");
    t.is("INCRBYFLOAT f 0.0000001", "$9\r\n3.0000001\r\n");
    t.is("SET f 1", "+OK\r\n");
    t.is("INCRBYFLOAT f 1.1", "$3\r\n2.1\r\n");
    t.is("SET f 17179869184", "+OK\r\n");
    t.is("INCRBYFLOAT f 1.5", "$13\r\n17179869185.5\r\n");
    t.is("SET f 10", "+OK\r\n");
    t.is("EXPIRE f 100", ":1\r\n");
    t.is("INCRBYFLOAT f 1", "$2\r\n11\r\n");
    t.is("TTL f", ":100\r\n");
    // APPEND / STRLEN
    t.is("APPEND ap hello", ":5\r\n");
    t.isv(&["APPEND", "ap", " world"], ":11\r\n");
    t.is("GET ap", "$11\r\nhello world\r\n");
    t.is("STRLEN ap", ":11\r\n");
    t.is("STRLEN nokey", ":0\r\n");
    t.is("SET num 123", "+OK\r\n");
    t.is("APPEND num 45", ":5\r\n");
    t.is("GET num", "$5\r\n12345\r\n");
    t.isv(&["APPEND", "ap", ""], ":11\r\n");
    t.is("STRLEN ap", ":11\r\n");
    t.is(
        "APPEND ap",
        "-ERR wrong number of arguments for 'append' command\r\n",
    );
    t.is(
        "STRLEN",
        "-ERR wrong number of arguments for 'strlen' command\r\n",
    );
    t.is(
        "STRLEN a b",
        "-ERR wrong number of arguments for 'strlen' command\r\n",
    );
    t.is("SET num 12345", "+OK\r\n");
    t.is("STRLEN num", ":5\r\n");
    // GETRANGE
    t.isv(&["SET", "r", "Hello World"], "+OK\r\n");
    t.is("GETRANGE r 0 4", "$5\r\nHello\r\n");
    t.is("GETRANGE r -5 -1", "$5\r\nWorld\r\n");
    t.is("GETRANGE r 0 -1", "$11\r\nHello World\r\n");
    t.is("GETRANGE r -100 100", "$11\r\nHello World\r\n");
    t.is("GETRANGE r 6 4", "$0\r\n\r\n");
    t.is("GETRANGE r 5 5", "$1\r\n \r\n");
    t.is("GETRANGE r 100 200", "$0\r\n\r\n");
    t.is("GETRANGE r -1 -5", "$0\r\n\r\n");
    t.is("GETRANGE r 0 -100", "$1\r\nH\r\n");
    t.is("GETRANGE r -3 -2", "$2\r\nrl\r\n");
    t.is("GETRANGE r 0 0", "$1\r\nH\r\n");
    t.is("GETRANGE nokey 0 -1", "$0\r\n\r\n");
    t.is(
        "GETRANGE r a 1",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "GETRANGE r 0 b",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "GETRANGE r 0",
        "-ERR wrong number of arguments for 'getrange' command\r\n",
    );
    t.is("SET num 12345", "+OK\r\n");
    t.is("GETRANGE num 1 2", "$2\r\n23\r\n");
    t.is("GETRANGE num -2 -1", "$2\r\n45\r\n");
    t.isv(&["SET", "e2", ""], "+OK\r\n");
    t.is("GETRANGE e2 0 -1", "$0\r\n\r\n");
    t.is("GETRANGE e2 0 0", "$0\r\n\r\n");
    // SETRANGE
    t.isv(&["SET", "sr", "Hello World"], "+OK\r\n");
    t.is("SETRANGE sr 6 Redis", ":11\r\n");
    t.is("GET sr", "$11\r\nHello Redis\r\n");
    t.is("SETRANGE sr 20 X", ":21\r\n");
    t.is("GET sr", "$21\r\nHello Redis\0\0\0\0\0\0\0\0\0X\r\n");
    t.is("SETRANGE pad 3 ab", ":5\r\n");
    t.is("GET pad", "$5\r\n\0\0\0ab\r\n");
    t.is("STRLEN pad", ":5\r\n");
    t.isv(&["SETRANGE", "nokey2", "5", ""], ":0\r\n");
    t.is("EXISTS nokey2", ":0\r\n");
    t.isv(&["SETRANGE", "sr", "100", ""], ":21\r\n");
    t.is("STRLEN sr", ":21\r\n");
    t.is("SETRANGE sr -1 x", "-ERR offset is out of range\r\n");
    t.is(
        "SETRANGE sr abc x",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "SETRANGE sr 536870912 x",
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
    );
    t.is("DEL sr", ":1\r\n");
    t.is(
        "SETRANGE sr 0",
        "-ERR wrong number of arguments for 'setrange' command\r\n",
    );
    t.is("SET num 12345", "+OK\r\n");
    t.is("SETRANGE num 1 x", ":5\r\n");
    t.is("GET num", "$5\r\n1x345\r\n");
    t.is("SETRANGE num 0 99", ":5\r\n");
    t.is("GET num", "$5\r\n99345\r\n");

    // Binary-safe keys, values and fields.
    t.isb(&[b"SET", b"bin\x00key", b"\x00\xff\r\n\x01"], b"+OK\r\n");
    t.isb(&[b"GET", b"bin\x00key"], b"$5\r\n\x00\xff\r\n\x01\r\n");
    t.isb(&[b"STRLEN", b"bin\x00key"], b":5\r\n");
    t.isb(&[b"APPEND", b"bin\x00key", b"\xfe"], b":6\r\n");
    t.isb(
        &[b"GETRANGE", b"bin\x00key", b"1", b"-2"],
        b"$4\r\n\xff\r\n\x01\r\n",
    );
    t.isb(&[b"EXISTS", b"bin"], b":0\r\n");
    t.isb(&[b"SETRANGE", b"bin\x00key", b"1", b"\x00"], b":6\r\n");
    t.isb(&[b"GET", b"bin\x00key"], b"$6\r\n\x00\x00\r\n\x01\xfe\r\n");
    t.isb(&[b"KEYS", b"bin?key"], b"*1\r\n$7\r\nbin\x00key\r\n");
    t.isb(&[b"TYPE", b"bin\x00key"], b"+string\r\n");
    t.isb(&[b"HSET", b"hb", b"\xff\x00", b"\r\n"], b":1\r\n");
    t.isb(
        &[b"HGETALL", b"hb"],
        b"*2\r\n$2\r\n\xff\x00\r\n$2\r\n\r\n\r\n",
    );
    t.isb(&[b"HSTRLEN", b"hb", b"\xff\x00"], b":2\r\n");
}

#[test]
fn keys_basic() {
    let mut t = T::new();
    // DEL / UNLINK / EXISTS / TOUCH / TYPE
    t.is("MSET a 1 b 2 c 3 d 4", "+OK\r\n");
    t.is("HSET h f v", ":1\r\n");
    t.is("EXISTS a", ":1\r\n");
    t.is("EXISTS a b nokey", ":2\r\n");
    t.is("EXISTS a a a", ":3\r\n");
    t.is("EXISTS nokey nokey", ":0\r\n");
    t.is(
        "EXISTS",
        "-ERR wrong number of arguments for 'exists' command\r\n",
    );
    t.is("DEL a nokey b", ":2\r\n");
    t.is("DEL a", ":0\r\n");
    t.is(
        "DEL",
        "-ERR wrong number of arguments for 'del' command\r\n",
    );
    t.is("EXISTS a b", ":0\r\n");
    t.is("UNLINK c nokey d h", ":3\r\n");
    t.is("UNLINK c", ":0\r\n");
    t.is(
        "UNLINK",
        "-ERR wrong number of arguments for 'unlink' command\r\n",
    );
    t.is("EXISTS c d h", ":0\r\n");
    t.is("MSET a 1 b 2", "+OK\r\n");
    t.is("TOUCH a b nokey", ":2\r\n");
    t.is("TOUCH a a", ":2\r\n");
    t.is("TOUCH nokey", ":0\r\n");
    t.is(
        "TOUCH",
        "-ERR wrong number of arguments for 'touch' command\r\n",
    );
    t.is("HSET h f v", ":1\r\n");
    t.is("TYPE a", "+string\r\n");
    t.is("TYPE h", "+hash\r\n");
    t.is("TYPE nokey", "+none\r\n");
    t.is(
        "TYPE",
        "-ERR wrong number of arguments for 'type' command\r\n",
    );
    t.is(
        "TYPE a b",
        "-ERR wrong number of arguments for 'type' command\r\n",
    );
    // KEYS (single result or empty)
    t.is("KEYS nomatch*", "*0\r\n");
    t.is("KEYS h", "*1\r\n$1\r\nh\r\n");
    t.is("KEYS [h]", "*1\r\n$1\r\nh\r\n");
    t.is("KEYS a?", "*0\r\n");
    t.is(
        "KEYS",
        "-ERR wrong number of arguments for 'keys' command\r\n",
    );
    // RENAME / RENAMENX
    t.is("SET src v", "+OK\r\n");
    t.is("RENAME src dst", "+OK\r\n");
    t.is("EXISTS src", ":0\r\n");
    t.is("GET dst", "$1\r\nv\r\n");
    t.is("RENAME nokey x", "-ERR no such key\r\n");
    t.is("RENAME dst dst", "+OK\r\n");
    t.is("GET dst", "$1\r\nv\r\n");
    t.is("SET other o", "+OK\r\n");
    t.is("RENAME dst other", "+OK\r\n");
    t.is("GET other", "$1\r\nv\r\n");
    t.is(
        "RENAME other",
        "-ERR wrong number of arguments for 'rename' command\r\n",
    );
    t.is("SET ex1 v EX 100", "+OK\r\n");
    t.is("RENAME ex1 ex2", "+OK\r\n");
    t.is("TTL ex2", ":100\r\n");
    t.is("RENAMENX nokey x", "-ERR no such key\r\n");
    t.is("SET rn1 a", "+OK\r\n");
    t.is("SET rn2 b", "+OK\r\n");
    t.is("RENAMENX rn1 rn2", ":0\r\n");
    t.is("RENAMENX rn1 rn3", ":1\r\n");
    t.is("GET rn3", "$1\r\na\r\n");
    t.is("EXISTS rn1", ":0\r\n");
    t.is("RENAMENX rn3 rn3", ":0\r\n");
    t.is("RENAME h h2", "+OK\r\n");
    t.is("TYPE h2", "+hash\r\n");
    // COPY
    t.is("SET cs v", "+OK\r\n");
    t.is("COPY cs cd", ":1\r\n");
    t.is("GET cd", "$1\r\nv\r\n");
    t.is("COPY cs cd", ":0\r\n");
    t.is("COPY cs cd REPLACE", ":1\r\n");
    t.is(
        "COPY cs cs",
        "-ERR source and destination objects are the same\r\n",
    );
    t.is(
        "COPY cs cs REPLACE",
        "-ERR source and destination objects are the same\r\n",
    );
    t.is("COPY nokey cd", ":0\r\n");
    t.is("COPY nokey cd REPLACE", ":0\r\n");
    t.is("COPY cs cd DB 1", ":1\r\n");
    t.is("COPY cs cd DB 1", ":0\r\n");
    t.is("COPY cs cd DB 1 REPLACE", ":1\r\n");
    t.is("COPY cs cd DB 16", "-ERR DB index is out of range\r\n");
    t.is("COPY cs cd DB -1", "-ERR DB index is out of range\r\n");
    t.is(
        "COPY cs cd DB abc",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is("COPY cs cd FOO", "-ERR syntax error\r\n");
    t.is("COPY cs cd DB", "-ERR syntax error\r\n");
    t.is(
        "COPY cs",
        "-ERR wrong number of arguments for 'copy' command\r\n",
    );
    t.is("COPY cs cs DB 1", ":1\r\n");
    t.is(
        "COPY cs cs DB 0",
        "-ERR source and destination objects are the same\r\n",
    );
    t.is(
        "COPY cs cs DB 0 REPLACE",
        "-ERR source and destination objects are the same\r\n",
    );
    t.is("SELECT 1", "+OK\r\n");
    t.is("GET cd", "$1\r\nv\r\n");
    t.is("GET cs", "$1\r\nv\r\n");
    t.is("SELECT 0", "+OK\r\n");
    t.is("HSET hc a 1 b 2", ":2\r\n");
    t.is("COPY hc hc2", ":1\r\n");
    t.is(
        "HGETALL hc2",
        "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    t.is("HSET hc2 c 3", ":1\r\n");
    t.is("HLEN hc", ":2\r\n");
    t.is("SET ce v EX 100", "+OK\r\n");
    t.is("COPY ce ce2", ":1\r\n");
    t.is("TTL ce2", ":100\r\n");
    // MOVE
    t.is("SET mv v", "+OK\r\n");
    t.is("MOVE mv 1", ":1\r\n");
    t.is("EXISTS mv", ":0\r\n");
    t.is("MOVE mv 1", ":0\r\n");
    t.is("SELECT 1", "+OK\r\n");
    t.is("GET mv", "$1\r\nv\r\n");
    t.is("SET mv2 here", "+OK\r\n");
    t.is("SELECT 0", "+OK\r\n");
    t.is("SET mv2 zero", "+OK\r\n");
    t.is("MOVE mv2 1", ":0\r\n");
    t.is("GET mv2", "$4\r\nzero\r\n");
    t.is("MOVE nokey 1", ":0\r\n");
    t.is(
        "MOVE mv2 0",
        "-ERR source and destination objects are the same\r\n",
    );
    t.is("MOVE mv2 16", "-ERR DB index is out of range\r\n");
    t.is("MOVE mv2 -1", "-ERR DB index is out of range\r\n");
    t.is(
        "MOVE mv2 abc",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "MOVE mv2",
        "-ERR wrong number of arguments for 'move' command\r\n",
    );
    t.is("SET mve v EX 100", "+OK\r\n");
    t.is("MOVE mve 2", ":1\r\n");
    t.is("SELECT 2", "+OK\r\n");
    t.is("TTL mve", ":100\r\n");
    t.is("SELECT 0", "+OK\r\n");
    // EXPIRE family and TTL/PTTL/EXPIRETIME/PEXPIRETIME/PERSIST
    t.is("SET k v", "+OK\r\n");
    t.is("TTL k", ":-1\r\n");
    t.is("PTTL k", ":-1\r\n");
    t.is("EXPIRETIME k", ":-1\r\n");
    t.is("PEXPIRETIME k", ":-1\r\n");
    t.is("TTL nokey", ":-2\r\n");
    t.is("PTTL nokey", ":-2\r\n");
    t.is("EXPIRETIME nokey", ":-2\r\n");
    t.is("PEXPIRETIME nokey", ":-2\r\n");
    t.is("EXPIRE nokey 100", ":0\r\n");
    t.is("EXPIRE k 100", ":1\r\n");
    t.is("TTL k", ":100\r\n");
    t.is("EXPIRE k 100 NX", ":0\r\n");
    t.is("EXPIRE k 200 XX", ":1\r\n");
    t.is("TTL k", ":200\r\n");
    t.is("EXPIRE k 50 GT", ":0\r\n");
    t.is("EXPIRE k 300 GT", ":1\r\n");
    t.is("TTL k", ":300\r\n");
    t.is("EXPIRE k 400 LT", ":0\r\n");
    t.is("EXPIRE k 150 LT", ":1\r\n");
    t.is("TTL k", ":150\r\n");
    t.is(
        "EXPIRE k 100 NX XX",
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
    );
    t.is(
        "EXPIRE k 100 GT LT",
        "-ERR GT and LT options at the same time are not compatible\r\n",
    );
    t.is(
        "EXPIRE k 100 NX GT",
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
    );
    t.is("EXPIRE k 100 FOO", "-ERR Unsupported option FOO\r\n");
    t.is(
        "EXPIRE k abc",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "EXPIRE k 1.5",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "EXPIRE k",
        "-ERR wrong number of arguments for 'expire' command\r\n",
    );
    t.is("PERSIST k", ":1\r\n");
    t.is("PERSIST k", ":0\r\n");
    t.is("PERSIST nokey", ":0\r\n");
    t.is("TTL k", ":-1\r\n");
    t.is("EXPIRE k 100 XX", ":0\r\n");
    t.is("EXPIRE k 100 GT", ":0\r\n");
    t.is("EXPIRE k 100 LT", ":1\r\n");
    t.is("TTL k", ":100\r\n");
    t.is("PERSIST k", ":1\r\n");
    t.is("EXPIRE k 100 NX", ":1\r\n");
    t.is("TTL k", ":100\r\n");
    t.is("PEXPIRE k 50000", ":1\r\n");
    t.is("TTL k", ":50\r\n");
    t.is("PEXPIRE k 60000 NX", ":0\r\n");
    t.is("PEXPIRE k 60000 XX", ":1\r\n");
    t.is("PEXPIRE k 10000 GT", ":0\r\n");
    t.is("PEXPIRE k 10000 LT", ":1\r\n");
    t.is("TTL k", ":10\r\n");
    t.is("EXPIREAT k 4102444800", ":1\r\n");
    t.is("EXPIRETIME k", ":4102444800\r\n");
    t.is("PEXPIRETIME k", ":4102444800000\r\n");
    t.is("EXPIREAT k 4102444801 GT", ":1\r\n");
    t.is("EXPIRETIME k", ":4102444801\r\n");
    t.is("EXPIREAT k 4102444900 LT", ":0\r\n");
    t.is("EXPIREAT k 4102444700 NX", ":0\r\n");
    t.is("EXPIREAT k 4102444700 XX", ":1\r\n");
    t.is("EXPIRETIME k", ":4102444700\r\n");
    t.is("PEXPIREAT k 4102444800555", ":1\r\n");
    t.is("PEXPIRETIME k", ":4102444800555\r\n");
    t.is("EXPIRETIME k", ":4102444801\r\n");
    t.is("PEXPIREAT k 4102444800556 LT", ":0\r\n");
    t.is("PEXPIREAT k 4102444800554 LT", ":1\r\n");
    t.is("PEXPIRETIME k", ":4102444800554\r\n");
    t.is("EXPIREAT nokey 4102444800", ":0\r\n");
    t.is("PEXPIREAT nokey 4102444800000", ":0\r\n");
    t.is("PEXPIRE nokey 100", ":0\r\n");
    t.is(
        "EXPIREAT k abc",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "PEXPIREAT k abc",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "PEXPIRE k abc",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "EXPIRE k 9223372036854775807",
        "-ERR invalid expire time in 'expire' command\r\n",
    );
    t.is(
        "PEXPIRE k 9223372036854775807",
        "-ERR invalid expire time in 'pexpire' command\r\n",
    );
    t.is(
        "EXPIREAT k 9223372036854775807",
        "-ERR invalid expire time in 'expireat' command\r\n",
    );
    t.is("PEXPIREAT k 9223372036854775807", ":1\r\n");
    t.is(
        "EXPIRE k -9223372036854775808",
        "-ERR invalid expire time in 'expire' command\r\n",
    );
    t.is("EXISTS k", ":1\r\n");
    // a non-positive TTL or a past time deletes the key
    t.is("SET d1 v", "+OK\r\n");
    t.is("EXPIRE d1 0", ":1\r\n");
    t.is("EXISTS d1", ":0\r\n");
    t.is("SET d2 v", "+OK\r\n");
    t.is("EXPIRE d2 -5", ":1\r\n");
    t.is("EXISTS d2", ":0\r\n");
    t.is("SET d3 v", "+OK\r\n");
    t.is("PEXPIRE d3 -1", ":1\r\n");
    t.is("EXISTS d3", ":0\r\n");
    t.is("SET d4 v", "+OK\r\n");
    t.is("EXPIREAT d4 1", ":1\r\n");
    t.is("EXISTS d4", ":0\r\n");
    t.is("SET d5 v", "+OK\r\n");
    t.is("PEXPIREAT d5 1000", ":1\r\n");
    t.is("EXISTS d5", ":0\r\n");
    t.is("SET d6 v", "+OK\r\n");
    t.is("EXPIRE d6 0 NX", ":1\r\n");
    t.is("EXISTS d6", ":0\r\n");
    t.is("SET d7 v", "+OK\r\n");
    t.is("EXPIRE d7 0 XX", ":0\r\n");
    t.is("EXISTS d7", ":1\r\n");
    t.is("SET d8 v EX 100", "+OK\r\n");
    t.is("EXPIRE d8 0 GT", ":0\r\n");
    t.is("EXISTS d8", ":1\r\n");
    t.is("EXPIRE d8 0 LT", ":1\r\n");
    t.is("EXISTS d8", ":0\r\n");
    t.is("HSET dh f v", ":1\r\n");
    t.is("EXPIRE dh 100", ":1\r\n");
    t.is("TTL dh", ":100\r\n");
    // OBJECT ENCODING for strings
    t.is("SET s1 12345", "+OK\r\n");
    t.is("OBJECT ENCODING s1", "$3\r\nint\r\n");
    t.is("SET s2 -9223372036854775808", "+OK\r\n");
    t.is("OBJECT ENCODING s2", "$3\r\nint\r\n");
    t.is("SET s3 9223372036854775808", "+OK\r\n");
    t.is("OBJECT ENCODING s3", "$6\r\nembstr\r\n");
    t.is("SET s4 hello", "+OK\r\n");
    t.is("OBJECT ENCODING s4", "$6\r\nembstr\r\n");
    t.is("SET s5 012", "+OK\r\n");
    t.is("OBJECT ENCODING s5", "$6\r\nembstr\r\n");
    t.is(
        "SET s6 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "+OK\r\n",
    );
    t.is("OBJECT ENCODING s6", "$6\r\nembstr\r\n");
    t.is(
        "SET s7 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "+OK\r\n",
    );
    t.is("OBJECT ENCODING s7", "$3\r\nraw\r\n");
    t.is("SET s8 hi", "+OK\r\n");
    t.is("APPEND s8 x", ":3\r\n");
    t.is("OBJECT ENCODING s8", "$3\r\nraw\r\n");
    t.is("SET s9 12", "+OK\r\n");
    t.is("APPEND s9 3", ":3\r\n");
    t.is("OBJECT ENCODING s9", "$3\r\nraw\r\n");
    t.is("GET s9", "$3\r\n123\r\n");
    t.is("INCR s9", ":124\r\n");
    t.is("OBJECT ENCODING s9", "$3\r\nint\r\n");
    t.is("SET s10 5", "+OK\r\n");
    t.is("INCRBYFLOAT s10 1.5", "$3\r\n6.5\r\n");
    t.is("OBJECT ENCODING s10", "$6\r\nembstr\r\n");
    t.is("SETRANGE s11 0 abc", ":3\r\n");
    t.is("OBJECT ENCODING s11", "$3\r\nraw\r\n");
    t.is("SET s12 abc", "+OK\r\n");
    t.is("SETRANGE s12 0 x", ":3\r\n");
    t.is("OBJECT ENCODING s12", "$3\r\nraw\r\n");
    t.is("SET s13 1.5", "+OK\r\n");
    t.is("OBJECT ENCODING s13", "$6\r\nembstr\r\n");
    t.is("OBJECT ENCODING nokey", "$-1\r\n");
    t.is("HSET oh f v", ":1\r\n");
    t.is("OBJECT ENCODING oh", "$8\r\nlistpack\r\n");
    t.is(
        "OBJECT ENCODING",
        "-ERR wrong number of arguments for 'object|encoding' command\r\n",
    );
    t.is(
        "OBJECT FOO x",
        "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n",
    );
    // MEMORY USAGE error/missing cases
    t.is("MEMORY USAGE nokey", "$-1\r\n");
    t.is(
        "MEMORY USAGE",
        "-ERR wrong number of arguments for 'memory|usage' command\r\n",
    );
    t.is("MEMORY USAGE s1 SAMPLES", "-ERR syntax error\r\n");
    t.is(
        "MEMORY USAGE s1 SAMPLES abc",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is("MEMORY USAGE s1 FOO 1", "-ERR syntax error\r\n");
    t.is("MEMORY USAGE nokey SAMPLES 5", "$-1\r\n");
}

#[test]
fn keys_scan_random_expire() {
    let mut t = T::new();
    // SCAN argument errors and small cases
    t.is("SCAN 0", "*2\r\n$1\r\n0\r\n*0\r\n");
    t.is("SET a 1", "+OK\r\n");
    t.is("SCAN 0", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n");
    t.is("SCAN 0 MATCH b*", "*2\r\n$1\r\n0\r\n*0\r\n");
    t.is("SCAN 0 TYPE string", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n");
    t.is("SCAN 0 TYPE hash", "*2\r\n$1\r\n0\r\n*0\r\n");
    t.is("SCAN 0 TYPE nosuchtype", "*2\r\n$1\r\n0\r\n*0\r\n");
    t.is("SCAN abc", "-ERR invalid cursor\r\n");
    t.is("SCAN 18446744073709551616", "-ERR invalid cursor\r\n");
    t.is("SCAN 0 COUNT 0", "-ERR syntax error\r\n");
    t.is("SCAN 0 COUNT -5", "-ERR syntax error\r\n");
    t.is(
        "SCAN 0 COUNT abc",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is("SCAN 0 MATCH", "-ERR syntax error\r\n");
    t.is("SCAN 0 TYPE", "-ERR syntax error\r\n");
    t.is("SCAN 0 FOO bar", "-ERR syntax error\r\n");
    t.is(
        "SCAN",
        "-ERR wrong number of arguments for 'scan' command\r\n",
    );

    // KEYS with several matches: order is unspecified, so sort before comparing.
    t.is("FLUSHALL", "+OK\r\n");
    t.is(
        "MSET hello 1 hallo 2 hxllo 3 hllo 4 heeeello 5 h*llo 6 foo 7",
        "+OK\r\n",
    );
    t.is("HSET hash f v", ":1\r\n");
    for (pat, want) in [
        ("h?llo", vec!["h*llo", "hallo", "hello", "hxllo"]),
        (
            "h*llo",
            vec!["h*llo", "hallo", "heeeello", "hello", "hllo", "hxllo"],
        ),
        ("h[ae]llo", vec!["hallo", "hello"]),
        ("h[^e]llo", vec!["h*llo", "hallo", "hxllo"]),
        ("h[a-b]llo", vec!["hallo"]),
        ("h\\*llo", vec!["h*llo"]),
        (
            "*",
            vec![
                "foo", "h*llo", "hallo", "hash", "heeeello", "hello", "hllo", "hxllo",
            ],
        ),
        ("f*", vec!["foo"]),
        (
            "*o",
            vec![
                "foo", "h*llo", "hallo", "heeeello", "hello", "hllo", "hxllo",
            ],
        ),
        ("nomatch", vec![]),
    ] {
        let mut got = strs(&t.cmdv(&["KEYS", pat]));
        got.sort();
        t.ok(
            got == want,
            &format!("KEYS {pat} -> {got:?}, want {want:?}"),
        );
    }

    // RANDOMKEY: null on an empty db, otherwise an existing key.
    t.is("FLUSHALL", "+OK\r\n");
    t.is("RANDOMKEY", "$-1\r\n");
    t.is("SET only v", "+OK\r\n");
    t.is("RANDOMKEY", "$4\r\nonly\r\n");
    t.is("MSET r1 1 r2 2 r3 3", "+OK\r\n");
    let keys: HashSet<String> = ["only", "r1", "r2", "r3"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let got = strs(&t.cmd("RANDOMKEY"));
        t.ok(
            got.len() == 1 && keys.contains(&got[0]),
            &format!("RANDOMKEY -> {got:?}"),
        );
        seen.extend(got);
    }
    t.ok(
        seen.len() >= 2,
        "RANDOMKEY returns different keys over 200 calls",
    );
    t.is(
        "RANDOMKEY x",
        "-ERR wrong number of arguments for 'randomkey' command\r\n",
    );

    // SCAN over 500 keys: iterate to cursor 0, every key returned at least once.
    t.is("FLUSHALL", "+OK\r\n");
    for chunk in 0..5 {
        let mut args: Vec<String> = vec!["MSET".into()];
        for i in chunk * 100..chunk * 100 + 100 {
            args.push(format!("key:{i}"));
            args.push(i.to_string());
        }
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        t.isv(&args, "+OK\r\n");
    }
    for i in 0..20 {
        t.is(&format!("HSET hkey:{i} f v"), ":1\r\n");
    }
    t.is("DBSIZE", ":520\r\n");
    let scan_all = |t: &mut T, extra: &str| -> (Vec<String>, usize) {
        let mut all = Vec::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let reply = t.cmd(&format!("SCAN {cursor}{extra}"));
            let (next, items) = scan_reply(&reply);
            all.extend(items);
            cursor = next;
            calls += 1;
            if cursor == "0" || calls > 100_000 {
                return (all, calls);
            }
        }
    };
    let (all, calls) = scan_all(&mut t, "");
    let set: HashSet<&String> = all.iter().collect();
    t.ok(
        calls > 1,
        "SCAN with default COUNT needs several calls for 520 keys",
    );
    t.ok(
        set.len() == 520
            && (0..500).all(|i| set.contains(&format!("key:{i}")))
            && (0..20).all(|i| set.contains(&format!("hkey:{i}"))),
        &format!("SCAN returned {} distinct keys, want all 520", set.len()),
    );
    let (all, _) = scan_all(&mut t, " COUNT 1000");
    t.ok(
        all.iter().collect::<HashSet<_>>().len() == 520,
        "SCAN COUNT 1000",
    );
    let (all, calls3) = scan_all(&mut t, " COUNT 3");
    t.ok(
        all.iter().collect::<HashSet<_>>().len() == 520 && calls3 > calls,
        "SCAN COUNT 3 returns everything in more calls",
    );
    let (all, _) = scan_all(&mut t, " MATCH key:1?");
    let got: HashSet<String> = all.into_iter().collect();
    let want: HashSet<String> = (10..20).map(|i| format!("key:{i}")).collect();
    t.ok(got == want, &format!("SCAN MATCH key:1? -> {got:?}"));
    let (all, _) = scan_all(&mut t, " TYPE hash");
    let got: HashSet<String> = all.into_iter().collect();
    let want: HashSet<String> = (0..20).map(|i| format!("hkey:{i}")).collect();
    t.ok(got == want, &format!("SCAN TYPE hash -> {got:?}"));
    let (all, _) = scan_all(&mut t, " TYPE string COUNT 50");
    t.ok(
        all.len() >= 500 && all.iter().all(|k| k.starts_with("key:")),
        "SCAN TYPE string returns only the strings",
    );
    let (all, _) = scan_all(&mut t, " MATCH hkey:1* TYPE hash COUNT 7");
    let got: HashSet<String> = all.into_iter().collect();
    let want: HashSet<String> = ["hkey:1".to_string()]
        .into_iter()
        .chain((10..20).map(|i| format!("hkey:{i}")))
        .collect();
    t.ok(
        got == want,
        &format!("SCAN MATCH hkey:1* TYPE hash -> {got:?}"),
    );
    let (all, _) = scan_all(&mut t, " TYPE list");
    t.ok(all.is_empty(), "SCAN TYPE list finds nothing");

    // PX 100: gone after 200 ms. PTTL is in milliseconds, with a tolerance.
    t.is("SET short v PX 100", "+OK\r\n");
    let pttl = int(&t.cmd("PTTL short"));
    t.ok(
        (50..=100).contains(&pttl),
        &format!("PTTL after PX 100 = {pttl}"),
    );
    t.is("SET long v PX 5000", "+OK\r\n");
    let pttl = int(&t.cmd("PTTL long"));
    t.ok(
        (4800..=5000).contains(&pttl),
        &format!("PTTL after PX 5000 = {pttl}"),
    );
    t.is("TTL long", ":5\r\n");
    t.is("PEXPIRE long 2500", ":1\r\n");
    let ttl = int(&t.cmd("TTL long"));
    t.ok(
        ttl == 2 || ttl == 3,
        &format!("TTL after PEXPIRE 2500 = {ttl}"),
    );
    let pttl = int(&t.cmd("PTTL long"));
    t.ok(
        (2300..=2500).contains(&pttl),
        &format!("PTTL after PEXPIRE 2500 = {pttl}"),
    );
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    t.is(&format!("PEXPIREAT at {}", now_ms + 10_000), ":0\r\n");
    t.is("SET at v", "+OK\r\n");
    t.is(&format!("PEXPIREAT at {}", now_ms + 10_000), ":1\r\n");
    let pttl = int(&t.cmd("PTTL at"));
    t.ok(
        (9800..=10_000).contains(&pttl),
        &format!("PTTL after PEXPIREAT now+10s = {pttl}"),
    );
    t.is("PEXPIRETIME at", &format!(":{}\r\n", now_ms + 10_000));
    t.is(&format!("EXPIREAT at {}", now_ms / 1000 + 20), ":1\r\n");
    t.is("EXPIRETIME at", &format!(":{}\r\n", now_ms / 1000 + 20));
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(200));
    t.is("GET short", "$-1\r\n");
    t.is("EXISTS short", ":0\r\n");
    t.is("TTL short", ":-2\r\n");
    t.is("PTTL short", ":-2\r\n");
    t.ok(
        start.elapsed() < Duration::from_secs(4),
        "test ran quickly enough for TTL checks",
    );
    // An expired key is not seen by DBSIZE-independent reads, KEYS or SCAN either.
    t.is("SET gone v PX 50", "+OK\r\n");
    std::thread::sleep(Duration::from_millis(120));
    t.is("KEYS gone", "*0\r\n");
    t.is("SCAN 0 MATCH gone COUNT 10000", "*2\r\n$1\r\n0\r\n*0\r\n");
    t.is("TYPE gone", "+none\r\n");
    t.is("RENAME gone x", "-ERR no such key\r\n");

    // MEMORY USAGE: a positive integer for an existing key.
    t.is("SET mem hello", "+OK\r\n");
    for key in ["mem", "key:1", "hkey:1"] {
        let reply = t.cmd(&format!("MEMORY USAGE {key}"));
        t.ok(
            reply.starts_with(':') && int(&reply) > 0,
            &format!("MEMORY USAGE {key} -> {reply:?}"),
        );
    }
    let reply = t.cmd("MEMORY USAGE mem SAMPLES 0");
    t.ok(
        reply.starts_with(':') && int(&reply) > 0,
        &format!("MEMORY USAGE mem SAMPLES 0 -> {reply:?}"),
    );
    t.is("MEMORY USAGE nokey", "$-1\r\n");
}

#[test]
fn keys_databases() {
    let mut t = T::new();
    // DBSIZE / SELECT / SWAPDB / FLUSHDB / FLUSHALL
    t.is("DBSIZE", ":0\r\n");
    t.is("MSET a 1 b 2 c 3", "+OK\r\n");
    t.is("DBSIZE", ":3\r\n");
    t.is("SELECT 16", "-ERR DB index is out of range\r\n");
    t.is("SELECT -1", "-ERR DB index is out of range\r\n");
    t.is(
        "SELECT abc",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "SELECT 1.5",
        "-ERR value is not an integer or out of range\r\n",
    );
    t.is(
        "SELECT",
        "-ERR wrong number of arguments for 'select' command\r\n",
    );
    t.is(
        "SELECT 0 1",
        "-ERR wrong number of arguments for 'select' command\r\n",
    );
    t.is("SELECT 1", "+OK\r\n");
    t.is("DBSIZE", ":0\r\n");
    t.is("GET a", "$-1\r\n");
    t.is("SET x1 inone", "+OK\r\n");
    t.is("HSET hx f v", ":1\r\n");
    t.is("DBSIZE", ":2\r\n");
    t.is("SELECT 15", "+OK\r\n");
    t.is("DBSIZE", ":0\r\n");
    t.is("SELECT 0", "+OK\r\n");
    t.is("SWAPDB 0 1", "+OK\r\n");
    t.is("DBSIZE", ":2\r\n");
    t.is("GET x1", "$5\r\ninone\r\n");
    t.is("GET a", "$-1\r\n");
    t.is("SELECT 1", "+OK\r\n");
    t.is("DBSIZE", ":3\r\n");
    t.is("GET a", "$1\r\n1\r\n");
    t.is("SELECT 0", "+OK\r\n");
    t.is("SWAPDB 0 0", "+OK\r\n");
    t.is("DBSIZE", ":2\r\n");
    t.is("SWAPDB 0 16", "-ERR DB index is out of range\r\n");
    t.is("SWAPDB 0 -1", "-ERR DB index is out of range\r\n");
    t.is("SWAPDB abc 1", "-ERR invalid first DB index\r\n");
    t.is("SWAPDB 0 abc", "-ERR invalid second DB index\r\n");
    t.is(
        "SWAPDB 0",
        "-ERR wrong number of arguments for 'swapdb' command\r\n",
    );
    t.is("SWAPDB 1 0", "+OK\r\n");
    t.is("DBSIZE", ":3\r\n");
    t.is("FLUSHDB", "+OK\r\n");
    t.is("DBSIZE", ":0\r\n");
    t.is("SELECT 1", "+OK\r\n");
    t.is("DBSIZE", ":2\r\n");
    t.is("FLUSHDB ASYNC", "+OK\r\n");
    t.is("DBSIZE", ":0\r\n");
    t.is("MSET a 1 b 2", "+OK\r\n");
    t.is("SELECT 2", "+OK\r\n");
    t.is("SET z 1", "+OK\r\n");
    t.is("SELECT 0", "+OK\r\n");
    t.is("SET y 1", "+OK\r\n");
    t.is("FLUSHDB FOO", "-ERR syntax error\r\n");
    t.is("FLUSHDB SYNC", "+OK\r\n");
    t.is("DBSIZE", ":0\r\n");
    t.is("SELECT 1", "+OK\r\n");
    t.is("DBSIZE", ":2\r\n");
    t.is("FLUSHALL", "+OK\r\n");
    t.is("DBSIZE", ":0\r\n");
    t.is("SELECT 2", "+OK\r\n");
    t.is("DBSIZE", ":0\r\n");
    t.is("SELECT 0", "+OK\r\n");
    t.is("SET a 1", "+OK\r\n");
    t.is("FLUSHALL SYNC", "+OK\r\n");
    t.is("FLUSHALL FOO", "-ERR syntax error\r\n");
    t.is("DBSIZE", ":0\r\n");
    t.is("SET a 1", "+OK\r\n");
    t.is("FLUSHALL ASYNC", "+OK\r\n");
    t.is("DBSIZE", ":0\r\n");
    t.is(
        "DBSIZE x",
        "-ERR wrong number of arguments for 'dbsize' command\r\n",
    );
}
