//! Hash field expiration (Redis 8) against the real binary: HEXPIRE HPEXPIRE HEXPIREAT
//! HPEXPIREAT (NX XX GT LT), HTTL HPTTL HEXPIRETIME HPEXPIRETIME, HPERSIST, HGETDEL,
//! HGETEX and HSETEX, their exact replies and error texts (RESP2, and RESP3 after HELLO 3),
//! the listpack / listpackex / hashtable encodings and the listpackex field order, fields
//! that really expire (lazily on every read, and actively with no access at all), and
//! durability: exact deadlines and deleted fields across kill -9, with and without
//! BGREWRITEAOF, and the canonical AOF records (absolute HPEXPIREAT, HPERSIST, HDEL,
//! HSETEX PXAT / KEEPTTL).
//!
//! Every expected command reply below was checked byte for byte against redis-server
//! 8.0.2, except where ferrokv deliberately differs: it removes an expired field on any
//! lookup of its key, so right after the deadline HLEN, EXISTS, TYPE and DBSIZE already
//! leave it out, HDEL of it replies 0 and HEXPIRE of it -2 (Redis 8, until the field is
//! reclaimed, counts it in HLEN and HDEL and lets HEXPIRE revive it).
//!
//! A test waiting for a deadline sleeps until the deadline the server reports
//! (HPEXPIRETIME) has passed, or polls with a generous timeout. Deadlines meant to pass
//! only while a server is down leave it at least a second to be killed.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Client, Server, TempDir, now_ms};

const DEBUG: &[&str] = &["--enable-debug-command", "yes"];
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NUMFIELDS_GT0: &str = "-ERR Parameter `numFields` should be greater than 0\r\n";
const NUMFIELDS_POS: &str = "-ERR Number of fields must be a positive integer\r\n";
const MISMATCH: &str = "-ERR The `numfields` parameter must match the number of arguments\r\n";
const NO_FIELDS: &str =
    "-ERR Mandatory argument FIELDS is missing or not at the right position\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const NEGATIVE: &str = "-ERR invalid expire time, must be >= 0\r\n";
/// Latest deadline Redis 8 accepts, in Unix ms (2^46 - 1).
const MAX_MS: i64 = 70_368_744_177_663;

// Fixed absolute deadlines far in the future (year 2096), so nothing here expires.
const T1: i64 = 4_000_000_001_000;
const T2: i64 = 4_000_000_002_000;
const T3: i64 = 4_000_000_003_000;
const T4: i64 = 4_000_000_004_000;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn arity(cmd: &str) -> String {
    format!("-ERR wrong number of arguments for '{cmd}' command\r\n")
}

fn bad_time(cmd: &str) -> String {
    format!("-ERR invalid expire time in '{cmd}' command\r\n")
}

/// An array of integers.
fn ints(v: &[i64]) -> String {
    let mut s = format!("*{}\r\n", v.len());
    for x in v {
        s.push_str(&format!(":{x}\r\n"));
    }
    s
}

/// An array of bulk strings; None is a RESP2 null bulk.
fn bulks(v: &[Option<&str>]) -> String {
    let mut s = format!("*{}\r\n", v.len());
    for x in v {
        match x {
            Some(x) => s.push_str(&format!("${}\r\n{x}\r\n", x.len())),
            None => s.push_str("$-1\r\n"),
        }
    }
    s
}

/// An array of bulk strings, none null.
fn strs(v: &[&str]) -> String {
    bulks(&v.iter().map(|s| Some(*s)).collect::<Vec<_>>())
}

/// Decodes an array of integers.
fn int_array(r: &str) -> Vec<i64> {
    let mut lines = r.split("\r\n");
    let n: usize = lines
        .next()
        .and_then(|l| l.strip_prefix('*'))
        .unwrap_or_else(|| panic!("not an array: {r:?}"))
        .parse()
        .unwrap();
    let v: Vec<i64> = lines
        .take(n)
        .map(|l| {
            l.strip_prefix(':')
                .unwrap_or_else(|| panic!("not an integer in {r:?}"))
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(v.len(), n, "{r:?}");
    v
}

/// Decodes a flat array of bulk strings (no nulls).
fn bulk_array(r: &[u8]) -> Vec<Vec<u8>> {
    let line = |p: usize| {
        let e = p + r[p..].windows(2).position(|w| w == b"\r\n").unwrap();
        (
            std::str::from_utf8(&r[p + 1..e]).unwrap().to_string(),
            e + 2,
        )
    };
    assert!(
        r[0] == b'*' || r[0] == b'%',
        "{:?}",
        String::from_utf8_lossy(r)
    );
    let (n, mut p) = line(0);
    let n: usize = n.parse::<usize>().unwrap() * if r[0] == b'%' { 2 } else { 1 };
    let mut out = Vec::new();
    for _ in 0..n {
        assert_eq!(r[p], b'$', "{:?}", String::from_utf8_lossy(r));
        let (len, q) = line(p);
        let len: usize = len.parse().unwrap();
        out.push(r[q..q + len].to_vec());
        p = q + len + 2;
    }
    out
}

/// HGETALL as a sorted field -> value map (for encodings whose order is not defined).
fn hgetall_map(c: &mut Client, key: &str) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let v = bulk_array(&c.cmd_bytes(&[b"HGETALL", key.as_bytes()]));
    v.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect()
}

/// The value of `name` in the INFO `section` reply.
fn info_field(c: &mut Client, section: &str, name: &str) -> String {
    let info = c.cmd(&format!("INFO {section}"));
    let key = format!("{name}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&key))
        .unwrap_or_else(|| panic!("no {name} in INFO {section}: {info}"))
        .trim()
        .to_string()
}

fn info_int(c: &mut Client, section: &str, name: &str) -> i64 {
    info_field(c, section, name).parse().unwrap()
}

/// Polls `cond` every 10 ms for up to `secs` seconds.
#[track_caller]
fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sleeps until the local clock (the server's clock too) is past `at` (Unix ms).
fn sleep_past(at: i64) {
    let left = at + 30 - now_ms();
    if left > 0 {
        std::thread::sleep(Duration::from_millis(left as u64));
    }
}

/// The deadline of one field (HPEXPIRETIME), in Unix ms.
fn deadline(c: &mut Client, key: &str, field: &str) -> i64 {
    int_array(&c.cmd(&format!("HPEXPIRETIME {key} FIELDS 1 {field}")))[0]
}

/// A client on a server that records mismatching replies and reports them all at once.
struct T {
    c: Client,
    fails: Vec<String>,
}

impl T {
    fn new(server: &Server) -> T {
        T {
            c: server.connect(),
            fails: Vec::new(),
        }
    }

    /// Sends `line` (split on spaces) and checks the exact reply bytes.
    #[track_caller]
    fn t(&mut self, line: &str, want: &str) {
        let got = self.c.cmd(line);
        self.check(line, &got, want);
    }

    /// Like `t`, with the arguments given one by one (for empty or spaced arguments).
    #[track_caller]
    fn tv(&mut self, args: &[&str], want: &str) {
        let got = self.c.cmdv(args);
        self.check(&format!("{args:?}"), &got, want);
    }

    #[track_caller]
    fn check(&mut self, what: &str, got: &str, want: &str) {
        if got != want {
            let line = std::panic::Location::caller().line();
            self.fails.push(format!(
                "line {line}: {what}\n    want {want:?}\n    got  {got:?}"
            ));
        }
    }

    fn cmd(&mut self, line: &str) -> String {
        self.c.cmd(line)
    }
}

impl Drop for T {
    fn drop(&mut self) {
        if !self.fails.is_empty() && !std::thread::panicking() {
            panic!(
                "{} mismatches:\n{}",
                self.fails.len(),
                self.fails.join("\n")
            );
        }
    }
}

/// Two keys both durability tests check after a restart: `kttl` has a key deadline beside
/// a field deadline; in `ran`, field p expired while the server ran and was re-created
/// without a deadline, so replay must not bring back the old value (its HDEL must be in
/// the log).
fn key_deadline_and_recreated_field(c: &mut T) {
    c.t("HSET kttl a 1 b 2", ":2\r\n");
    c.t(&format!("PEXPIREAT kttl {T4}"), ":1\r\n");
    c.t(&format!("HPEXPIREAT kttl {T1} FIELDS 1 a"), &ints(&[1]));
    c.t("HSET ran p 1 q 2", ":2\r\n");
    c.t("HPEXPIRE ran 100 FIELDS 1 p", &ints(&[1]));
    wait_for("ran.p to expire", 5, || c.cmd("HEXISTS ran p") == ":0\r\n");
    c.t("HSETNX ran p new", ":1\r\n");
}

/// Every record of the AOF in `dir`, in manifest order (base first), as strings, with the
/// `#crc32` batch annotations skipped.
fn aof_records(dir: &Path) -> Vec<Vec<String>> {
    let ad = dir.join("appendonlydir");
    let manifest = std::fs::read_to_string(ad.join("appendonly.aof.manifest")).unwrap();
    let mut files: Vec<(char, u64, String)> = manifest
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (
                w[5].chars().next().unwrap(),
                w[3].parse().unwrap(),
                w[1].to_string(),
            )
        })
        .collect();
    files.sort_by_key(|f| (f.0 != 'b', f.1));
    let mut out = Vec::new();
    for (_, _, name) in files {
        out.extend(parse_records(&std::fs::read(ad.join(name)).unwrap()));
    }
    out
}

/// The records in the base file only.
fn base_records(dir: &Path) -> Vec<Vec<String>> {
    let ad = dir.join("appendonlydir");
    let manifest = std::fs::read_to_string(ad.join("appendonly.aof.manifest")).unwrap();
    let base = manifest
        .lines()
        .find(|l| l.ends_with("type b"))
        .expect("a base file");
    let name = base.split_whitespace().nth(1).unwrap();
    parse_records(&std::fs::read(ad.join(name)).unwrap())
}

fn parse_records(b: &[u8]) -> Vec<Vec<String>> {
    let line = |p: usize| {
        let e = p + b[p..].windows(2).position(|w| w == b"\r\n").unwrap();
        (String::from_utf8_lossy(&b[p..e]).into_owned(), e + 2)
    };
    let mut out = Vec::new();
    let mut p = 0;
    while p < b.len() {
        let (l, next) = line(p);
        if l.starts_with('#') {
            p = next;
            continue;
        }
        let n: usize = l
            .strip_prefix('*')
            .unwrap_or_else(|| panic!("record expected at {p}: {l:?}"))
            .parse()
            .unwrap();
        p = next;
        let mut rec = Vec::with_capacity(n);
        for _ in 0..n {
            let (l, q) = line(p);
            let len: usize = l.strip_prefix('$').unwrap().parse().unwrap();
            rec.push(String::from_utf8_lossy(&b[q..q + len]).into_owned());
            p = q + len + 2;
        }
        out.push(rec);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Commands: replies and errors
// ---------------------------------------------------------------------------------------

/// HEXPIRE / HPEXPIRE / HEXPIREAT / HPEXPIREAT: per-field codes, NX XX GT LT, missing
/// fields and keys, the largest deadline, and deadlines already past (field deleted, 2;
/// the key goes with its last field).
#[test]
fn hexpire_family_replies() {
    let s = Server::start(&[]);
    let mut c = T::new(&s);
    c.t("HSET h a 1 b 2 c 3 d 4", ":4\r\n");
    c.t(
        &format!("HPEXPIREAT h {T2} NX FIELDS 2 a b"),
        &ints(&[1, 1]),
    );
    c.t(
        &format!("HPEXPIREAT h {T1} NX FIELDS 2 a c"),
        &ints(&[0, 1]),
    );
    c.t(
        &format!("HPEXPIREAT h {T3} XX FIELDS 3 a c d"),
        &ints(&[1, 1, 0]),
    );
    c.t(
        &format!("HPEXPIREAT h {T1} GT FIELDS 3 a d zz"),
        &ints(&[0, 0, -2]),
    );
    c.t(&format!("HPEXPIREAT h {T4} GT FIELDS 1 a"), &ints(&[1]));
    c.t(&format!("HPEXPIREAT h {T4} GT FIELDS 1 a"), &ints(&[0]));
    c.t(&format!("HPEXPIREAT h {T4} LT FIELDS 1 a"), &ints(&[0]));
    // No deadline counts as infinite: LT sets one, GT and XX do not.
    c.t(
        &format!("HPEXPIREAT h {T1} LT FIELDS 2 a d"),
        &ints(&[1, 1]),
    );
    c.t(
        "HPEXPIRETIME h FIELDS 5 a b c d zz",
        &ints(&[T1, T2, T3, T1, -2]),
    );
    // Keywords in any case; a field named twice is set twice.
    c.t(&format!("hpexpireat h {T2} fields 2 a a"), &ints(&[1, 1]));
    c.t(&format!("HPEXPIREAT h {T2} gT FiElDs 1 b"), &ints(&[0]));
    // Seconds: HEXPIREAT stores seconds * 1000.
    c.t("HEXPIREAT h 4000000005 FIELDS 1 c", &ints(&[1]));
    c.t("HPEXPIRETIME h FIELDS 1 c", &ints(&[4_000_000_005_000]));
    // Relative forms: the deadline is now + the time.
    let before = now_ms();
    c.t("HEXPIRE h 100 FIELDS 1 a", &ints(&[1]));
    c.t("HPEXPIRE h 5000 FIELDS 1 b", &ints(&[1]));
    let after = now_ms();
    let (da, db) = (deadline(&mut c.c, "h", "a"), deadline(&mut c.c, "h", "b"));
    assert!(
        (before + 100_000..=after + 100_000).contains(&da),
        "HEXPIRE 100 gave {da}, now {before}..{after}"
    );
    assert!(
        (before + 5000..=after + 5000).contains(&db),
        "HPEXPIRE 5000 gave {db}, now {before}..{after}"
    );
    // The largest accepted deadline, in both units.
    c.t(&format!("HPEXPIREAT h {MAX_MS} FIELDS 1 d"), &ints(&[1]));
    c.t("HPEXPIRETIME h FIELDS 1 d", &ints(&[MAX_MS]));
    c.t("HEXPIREAT h 70368744177 FIELDS 1 d", &ints(&[1]));
    c.t("HPEXPIRETIME h FIELDS 1 d", &ints(&[70_368_744_177_000]));
    c.t("OBJECT ENCODING h", "$10\r\nlistpackex\r\n");

    // A missing key: -2 per field, and the key is not created.
    c.t("HEXPIRE nokey 100 FIELDS 2 a b", &ints(&[-2, -2]));
    c.t("HPEXPIREAT nokey 0 FIELDS 1 a", &ints(&[-2]));
    c.t("EXISTS nokey", ":0\r\n");

    // Deadlines already past delete the field (2); a second mention of it is -2; a refused
    // condition wins over the deletion (0, the field stays).
    c.t("HSET p a 1 b 2 c 3 d 4 e 5", ":5\r\n");
    c.t("HPEXPIREAT p 0 FIELDS 2 a a", &ints(&[2, -2]));
    c.t("HPEXPIRE p 0 GT FIELDS 1 b", &ints(&[0]));
    c.t("HPEXPIRE p 0 XX FIELDS 1 b", &ints(&[0]));
    c.t("HEXISTS p b", ":1\r\n");
    c.t("HPEXPIRE p 0 NX FIELDS 1 b", &ints(&[2]));
    c.t("HEXPIRE p 0 FIELDS 2 c zz", &ints(&[2, -2]));
    c.t("HEXPIREAT p 1 LT FIELDS 1 d", &ints(&[2]));
    c.t("HLEN p", ":1\r\n");
    c.t("HGETALL p", &strs(&["e", "5"]));
    let past = now_ms() - 1000;
    c.t(&format!("HPEXPIREAT p {past} FIELDS 1 e"), &ints(&[2]));
    c.t("EXISTS p", ":0\r\n");
    c.t("TYPE p", "+none\r\n");
    c.t("HPEXPIREAT p 0 FIELDS 1 e", &ints(&[-2]));
    // Now (0 ms from now) is already past.
    c.t("HSET q a 1", ":1\r\n");
    c.t("HPEXPIRE q 0 FIELDS 1 a", &ints(&[2]));
    c.t("EXISTS q", ":0\r\n");
}

/// Error texts of the HEXPIRE family, and which check wins.
#[test]
fn hexpire_family_errors() {
    let s = Server::start(&[]);
    let mut c = T::new(&s);
    c.t("HSET h a 1", ":1\r\n");
    c.t("SET s v", "+OK\r\n");
    for cmd in ["hexpire", "hpexpire", "hexpireat", "hpexpireat"] {
        for n in ["0", "-1", "x", "1.0", "9223372036854775808"] {
            c.t(&format!("{cmd} h 100 FIELDS {n} a"), NUMFIELDS_GT0);
        }
        c.t(&format!("{cmd} nokey 100 FIELDS 0 a"), NUMFIELDS_GT0);
        c.t(&format!("{cmd} h 100 FIELDS 2 a"), MISMATCH);
        c.t(&format!("{cmd} h 100 FIELDS 1 a b"), MISMATCH);
        c.t(&format!("{cmd} h 100 NX FIELDS 1"), MISMATCH);
        c.t(&format!("{cmd} nokey 100 FIELDS 2 a"), MISMATCH);
        c.t(
            &format!("{cmd} h 100 FIELDS 9223372036854775807 a"),
            MISMATCH,
        );
        c.t(&format!("{cmd} h 100 FIELD 1 a"), NO_FIELDS);
        c.t(&format!("{cmd} h 100 FOO FIELDS 1 a"), NO_FIELDS);
        c.t(&format!("{cmd} h 100 NX XX FIELDS 1 a"), NO_FIELDS);
        c.t(&format!("{cmd} h 100 NX bad 1 a"), NO_FIELDS);
        c.t(&format!("{cmd} nokey 100 bad 1 a"), NO_FIELDS);
        c.t(&format!("{cmd} h -1 FIELDS 1 a"), NEGATIVE);
        c.t(&format!("{cmd} nokey -1 FIELDS 1 a"), NEGATIVE);
        c.t(&format!("{cmd} h x FIELDS 1 a"), NOT_INT);
        c.t(&format!("{cmd} h 1.5 FIELDS 1 a"), NOT_INT);
        c.tv(&[cmd, "h", "", "FIELDS", "1", "a"], NOT_INT);
        c.t(&format!("{cmd} h 9223372036854775808 FIELDS 1 a"), NOT_INT);
        c.t(
            &format!("{cmd} h 9223372036854775807 FIELDS 1 a"),
            &bad_time(cmd),
        );
        c.t(&format!("{cmd} h"), &arity(cmd));
        c.t(&format!("{cmd} h 100"), &arity(cmd));
        c.t(&format!("{cmd} h 100 FIELDS"), &arity(cmd));
        c.t(&format!("{cmd} h 100 FIELDS 1"), &arity(cmd));
        c.t(&format!("{cmd} h 100 NX FIELDS"), &arity(cmd));
        c.t(&format!("{cmd} h 100 NX"), &arity(cmd));
        // The type is checked before anything else.
        c.t(&format!("{cmd} s 100 FIELDS 1 a"), WRONGTYPE);
        c.t(&format!("{cmd} s -1 FIELDS 1 a"), WRONGTYPE);
        c.t(&format!("{cmd} s 100 FIELDS 0 a"), WRONGTYPE);
    }
    // The largest deadline is 2^46 - 1 ms, absolute; relative forms add now.
    c.t(
        &format!("HPEXPIREAT h {} FIELDS 1 a", MAX_MS + 1),
        &bad_time("hpexpireat"),
    );
    c.t("HEXPIREAT h 70368744178 FIELDS 1 a", &bad_time("hexpireat"));
    c.t(
        &format!("HPEXPIRE h {MAX_MS} FIELDS 1 a"),
        &bad_time("hpexpire"),
    );
    c.t("HEXPIRE h 70368744177 FIELDS 1 a", &bad_time("hexpire"));
    // The error names the command as typed, lowercased.
    c.t("HeXpIrE h 70368744177 FIELDS 1 a", &bad_time("hexpire"));
    // Nothing was changed by any of the above.
    c.t("HTTL h FIELDS 1 a", &ints(&[-1]));
    c.t("OBJECT ENCODING h", "$8\r\nlistpack\r\n");
    c.t("GET s", "$1\r\nv\r\n");
}

/// HTTL / HPTTL / HEXPIRETIME / HPEXPIRETIME: -1 no deadline, -2 no field or key, seconds
/// rounded up, and the errors of the family.
#[test]
fn ttl_family_replies_and_errors() {
    let s = Server::start(&[]);
    let mut c = T::new(&s);
    c.t("HSET h a 1 b 2 c 3", ":3\r\n");
    for cmd in ["HTTL", "HPTTL", "HEXPIRETIME", "HPEXPIRETIME"] {
        c.t(&format!("{cmd} h FIELDS 3 a b zz"), &ints(&[-1, -1, -2]));
        c.t(&format!("{cmd} nokey FIELDS 2 a b"), &ints(&[-2, -2]));
    }
    // Reading deadlines does not change the encoding.
    c.t("OBJECT ENCODING h", "$8\r\nlistpack\r\n");
    c.t("HPEXPIREAT h 4000000000500 FIELDS 1 a", &ints(&[1]));
    c.t(
        "HPEXPIRETIME h FIELDS 2 a b",
        &ints(&[4_000_000_000_500, -1]),
    );
    c.t("HEXPIRETIME h FIELDS 2 a b", &ints(&[4_000_000_001, -1]));
    c.t("HPEXPIREAT h 4000000000001 FIELDS 1 a", &ints(&[1]));
    c.t("HEXPIRETIME h FIELDS 1 a", &ints(&[4_000_000_001]));
    c.t("HPEXPIREAT h 4000000000000 FIELDS 1 a", &ints(&[1]));
    c.t("HEXPIRETIME h FIELDS 1 a", &ints(&[4_000_000_000]));
    // HTTL rounds up: 1500 ms (less what has elapsed) is 2 s.
    c.t("HPEXPIRE h 1500 FIELDS 1 b", &ints(&[1]));
    c.t("HTTL h FIELDS 1 b", &ints(&[2]));
    let left = int_array(&c.cmd("HPTTL h FIELDS 1 b"))[0];
    assert!(
        (1000..=1500).contains(&left),
        "HPTTL after HPEXPIRE 1500: {left}"
    );
    c.t("HEXPIRE h 100 FIELDS 1 c", &ints(&[1]));
    c.t("HTTL h FIELDS 1 c", &ints(&[100]));
    let left = int_array(&c.cmd("HPTTL h FIELDS 1 c"))[0];
    assert!(
        (99_000..=100_000).contains(&left),
        "HPTTL after HEXPIRE 100: {left}"
    );
    let at = int_array(&c.cmd("HPEXPIRETIME h FIELDS 1 c"))[0];
    c.t("HEXPIRETIME h FIELDS 1 c", &ints(&[(at + 999) / 1000]));

    c.t("SET s v", "+OK\r\n");
    for cmd in ["httl", "hpttl", "hexpiretime", "hpexpiretime"] {
        for n in ["0", "-1", "x", "1.0", "9223372036854775808"] {
            c.t(&format!("{cmd} h FIELDS {n} a"), NUMFIELDS_POS);
        }
        c.t(&format!("{cmd} nokey FIELDS 0 a"), NUMFIELDS_POS);
        c.t(&format!("{cmd} h FIELDS 2 a"), MISMATCH);
        c.t(&format!("{cmd} h FIELDS 1 a b"), MISMATCH);
        c.t(&format!("{cmd} nokey FIELDS 2 a"), MISMATCH);
        c.t(&format!("{cmd} h FIELD 1 a"), NO_FIELDS);
        c.t(&format!("{cmd} nokey bad 1 a"), NO_FIELDS);
        c.t(&format!("{cmd} h"), &arity(cmd));
        c.t(&format!("{cmd} h FIELDS"), &arity(cmd));
        c.t(&format!("{cmd} h FIELDS 1"), &arity(cmd));
        c.t(&format!("{cmd} s FIELDS 1 a"), WRONGTYPE);
        c.t(&format!("{cmd} s FIELDS 0 a"), WRONGTYPE);
    }
}

/// HPERSIST: 1 deadline removed, -1 none, -2 no field or key; the errors.
#[test]
fn hpersist_replies_and_errors() {
    let s = Server::start(&[]);
    let mut c = T::new(&s);
    c.t("HSET h a 1 b 2 c 3", ":3\r\n");
    c.t("HPERSIST h FIELDS 1 a", &ints(&[-1]));
    c.t("OBJECT ENCODING h", "$8\r\nlistpack\r\n");
    c.t(&format!("HPEXPIREAT h {T1} FIELDS 2 a b"), &ints(&[1, 1]));
    c.t("HPERSIST h FIELDS 3 a c zz", &ints(&[1, -1, -2]));
    c.t("HPERSIST h FIELDS 1 a", &ints(&[-1]));
    c.t("HPEXPIRETIME h FIELDS 2 a b", &ints(&[-1, T1]));
    c.t("HPERSIST h fields 2 b b", &ints(&[1, -1]));
    c.t("HPEXPIRETIME h FIELDS 3 a b c", &ints(&[-1, -1, -1]));
    // The encoding stays listpackex once a field had a deadline.
    c.t("OBJECT ENCODING h", "$10\r\nlistpackex\r\n");
    c.t("HGETALL h", &strs(&["c", "3", "a", "1", "b", "2"]));
    c.t("HPERSIST nokey FIELDS 2 a b", &ints(&[-2, -2]));
    c.t("EXISTS nokey", ":0\r\n");
    c.t("SET s v", "+OK\r\n");
    for n in ["0", "-1", "x"] {
        c.t(&format!("HPERSIST h FIELDS {n} a"), NUMFIELDS_POS);
    }
    c.t("HPERSIST nokey FIELDS 0 a", NUMFIELDS_POS);
    c.t("HPERSIST h FIELDS 2 a", MISMATCH);
    c.t("HPERSIST h bad 1 a", NO_FIELDS);
    c.t("HPERSIST h FIELDS 1", &arity("hpersist"));
    c.t("HPERSIST h", &arity("hpersist"));
    c.t("HPERSIST s FIELDS 1 a", WRONGTYPE);
}

/// HGETDEL: the values (nulls for missing fields), the fields deleted, the key with the
/// last one; a deleted field loses its deadline; the errors.
#[test]
fn hgetdel_replies_and_errors() {
    let s = Server::start(&[]);
    let mut c = T::new(&s);
    c.t("HSET h a 1 b 2 c 3 d 4", ":4\r\n");
    c.t(&format!("HPEXPIREAT h {T1} FIELDS 1 a"), &ints(&[1]));
    c.t("HGETDEL h FIELDS 2 a zz", &bulks(&[Some("1"), None]));
    c.t("HGETDEL h FIELDS 1 a", &bulks(&[None]));
    c.t("HSET h a 9", ":1\r\n");
    c.t("HPEXPIRETIME h FIELDS 1 a", &ints(&[-1]));
    c.t("HGETDEL h FIELDS 2 b b", &bulks(&[Some("2"), None]));
    c.t("HLEN h", ":3\r\n");
    c.t("HGETDEL nokey FIELDS 2 a b", &bulks(&[None, None]));
    c.t("EXISTS nokey", ":0\r\n");
    c.t(
        "HGETDEL h FIELDS 3 c d a",
        &bulks(&[Some("3"), Some("4"), Some("9")]),
    );
    c.t("EXISTS h", ":0\r\n");
    c.t("HSET h a 1", ":1\r\n");
    c.t("SET s v", "+OK\r\n");
    for n in ["0", "-1", "x", "1.0"] {
        c.t(&format!("HGETDEL h FIELDS {n} a"), NUMFIELDS_POS);
    }
    c.t("HGETDEL nokey FIELDS 0 a", NUMFIELDS_POS);
    c.t("HGETDEL h FIELDS 2 a", MISMATCH);
    c.t("HGETDEL h FIELD 1 a", NO_FIELDS);
    c.t("HGETDEL h x 1 a", NO_FIELDS);
    c.t("HGETDEL h FIELDS 1", &arity("hgetdel"));
    c.t("HGETDEL h", &arity("hgetdel"));
    c.t("HGETDEL s FIELDS 1 a", WRONGTYPE);
    c.t("HGET h a", "$1\r\n1\r\n");
}

/// HGETEX: values plus EX PX EXAT PXAT PERSIST on the fields that exist; past deadlines
/// delete after returning the value; the errors.
#[test]
fn hgetex_replies_and_errors() {
    let s = Server::start(&[]);
    let mut c = T::new(&s);
    c.t("HSET h a 1 b 2 c 3", ":3\r\n");
    c.t("HGETEX h FIELDS 2 a zz", &bulks(&[Some("1"), None]));
    c.t("OBJECT ENCODING h", "$8\r\nlistpack\r\n");
    c.t("HGETEX h EX 100 FIELDS 2 a zz", &bulks(&[Some("1"), None]));
    c.t("HTTL h FIELDS 3 a b zz", &ints(&[100, -1, -2]));
    c.t("HGETEX h PX 100000 FIELDS 1 b", &bulks(&[Some("2")]));
    let left = int_array(&c.cmd("HPTTL h FIELDS 1 b"))[0];
    assert!((99_000..=100_000).contains(&left), "HPTTL after PX: {left}");
    c.t("HGETEX h EXAT 4000000000 FIELDS 1 a", &bulks(&[Some("1")]));
    c.t("HPEXPIRETIME h FIELDS 1 a", &ints(&[4_000_000_000_000]));
    c.t(
        "HGETEX h PXAT 4000000000001 FIELDS 1 a",
        &bulks(&[Some("1")]),
    );
    c.t("HPEXPIRETIME h FIELDS 1 a", &ints(&[4_000_000_000_001]));
    c.t(
        &format!("HGETEX h PXAT {MAX_MS} FIELDS 1 c"),
        &bulks(&[Some("3")]),
    );
    c.t("HPEXPIRETIME h FIELDS 1 c", &ints(&[MAX_MS]));
    c.t(
        "HGETEX h PERSIST FIELDS 3 a zz c",
        &bulks(&[Some("1"), None, Some("3")]),
    );
    let b_at = deadline(&mut c.c, "h", "b");
    assert!(b_at > now_ms(), "field b lost its deadline: {b_at}");
    c.t("HPEXPIRETIME h FIELDS 3 a b c", &ints(&[-1, b_at, -1]));
    c.t("HGETEX h PERSIST FIELDS 1 a", &bulks(&[Some("1")]));
    c.t(
        "HGETEX h px 100000 FIELDS 2 a a",
        &bulks(&[Some("1"), Some("1")]),
    );
    // Past deadlines: the value is returned, then the field is gone.
    c.t("HGETEX h EX 0 FIELDS 2 a a", &bulks(&[Some("1"), None]));
    c.t("HEXISTS h a", ":0\r\n");
    c.t(
        "HGETEX h EXAT 1 FIELDS 2 b c",
        &bulks(&[Some("2"), Some("3")]),
    );
    c.t("EXISTS h", ":0\r\n");
    c.t("HGETEX nokey EX 100 FIELDS 2 a b", &bulks(&[None, None]));
    c.t("HGETEX nokey FIELDS 1 a", &bulks(&[None]));
    c.t("EXISTS nokey", ":0\r\n");

    c.t("HSET h a 1 b 2", ":2\r\n");
    c.t("SET s v", "+OK\r\n");
    for opt in ["", "PX 100 ", "PERSIST "] {
        for n in ["0", "-1", "x"] {
            c.t(&format!("HGETEX h {opt}FIELDS {n} a"), NUMFIELDS_POS);
        }
        c.t(&format!("HGETEX h {opt}FIELDS 2 a"), MISMATCH);
    }
    c.t("HGETEX nokey FIELDS 0 a", NUMFIELDS_POS);
    c.t("HGETEX h EX -1 FIELDS 1 a", NEGATIVE);
    c.t("HGETEX nokey EX -1 FIELDS 1 a", NEGATIVE);
    c.t("HGETEX h EX x FIELDS 1 a", NOT_INT);
    c.t("HGETEX h EX 1.5 FIELDS 1 a", NOT_INT);
    c.t("HGETEX h EX FIELDS 1 a", NOT_INT);
    c.t("HGETEX h PX 70368744177664 FIELDS 1 a", &bad_time("hgetex"));
    c.t(
        &format!("HGETEX h PXAT {} FIELDS 1 a", MAX_MS + 1),
        &bad_time("hgetex"),
    );
    c.t("HGETEX h EXAT 70368744178 FIELDS 1 a", &bad_time("hgetex"));
    c.t("HGETEX h FOO FIELDS 1 a", NO_FIELDS);
    c.t("HGETEX h EX 100 FOO FIELDS 1 a", NO_FIELDS);
    c.t("HGETEX h EX 100 PX 100 FIELDS 1 a", NO_FIELDS);
    c.t("HGETEX h EX 100 PERSIST FIELDS 1 a", NO_FIELDS);
    c.t("HGETEX h PERSIST EX 100 FIELDS 1 a", NO_FIELDS);
    c.t("HGETEX h EX 10 FIELDS 1", MISMATCH);
    c.t("HGETEX h FIELDS 1", &arity("hgetex"));
    c.t("HGETEX h", &arity("hgetex"));
    c.t("HGETEX h PERSIST 1", &arity("hgetex"));
    c.t("HGETEX h EX 1", &arity("hgetex"));
    c.t("HGETEX s FIELDS 1 a", WRONGTYPE);
    c.t("HGETEX s EX -1 FIELDS 1 a", WRONGTYPE);
    // None of the errors touched the hash.
    c.t("HPEXPIRETIME h FIELDS 2 a b", &ints(&[-1, -1]));
}

/// HSETEX: FNX / FXX all-or-nothing, EX PX EXAT PXAT KEEPTTL, plain (drops deadlines),
/// past deadlines, and the errors with their exact texts.
#[test]
fn hsetex_replies_and_errors() {
    let s = Server::start(&[]);
    let mut c = T::new(&s);
    c.t("HSETEX h FIELDS 2 a 1 b 2", ":1\r\n");
    c.t("OBJECT ENCODING h", "$8\r\nlistpack\r\n");
    c.t("HGETALL h", &strs(&["a", "1", "b", "2"]));
    c.t("HSETEX h FNX FIELDS 1 a 9", ":0\r\n");
    c.t("HSETEX h FNX FIELDS 2 c 3 a 9", ":0\r\n");
    c.t("HGETALL h", &strs(&["a", "1", "b", "2"]));
    c.t("HSETEX h FNX FIELDS 1 c 3", ":1\r\n");
    c.t("HSETEX h FXX FIELDS 2 a 10 zz 1", ":0\r\n");
    c.t("HEXISTS h zz", ":0\r\n");
    c.t("HSETEX h FXX FIELDS 2 a 10 b 20", ":1\r\n");
    c.t("HMGET h a b c", &strs(&["10", "20", "3"]));
    c.t("HSETEX nokey FXX FIELDS 1 a 1", ":0\r\n");
    c.t("EXISTS nokey", ":0\r\n");
    c.t("HSETEX new FNX FIELDS 1 a 1", ":1\r\n");
    c.t("HGETALL new", &strs(&["a", "1"]));
    // Deadlines.
    c.t("HSETEX h PX 100000 FIELDS 1 a 11", ":1\r\n");
    c.t("OBJECT ENCODING h", "$10\r\nlistpackex\r\n");
    let left = int_array(&c.cmd("HPTTL h FIELDS 1 a"))[0];
    assert!((99_000..=100_000).contains(&left), "HPTTL after PX: {left}");
    c.t("HSETEX h EX 100 FIELDS 1 b 21", ":1\r\n");
    c.t("HTTL h FIELDS 1 b", &ints(&[100]));
    c.t("HSETEX h EXAT 4000000000 FIELDS 1 c 31", ":1\r\n");
    c.t("HPEXPIRETIME h FIELDS 1 c", &ints(&[4_000_000_000_000]));
    c.t("HSETEX h PXAT 4000000000001 FIELDS 2 a 12 d 4", ":1\r\n");
    c.t(
        "HPEXPIRETIME h FIELDS 3 a c d",
        &ints(&[4_000_000_000_001, 4_000_000_000_000, 4_000_000_000_001]),
    );
    c.t(
        "HGETALL h",
        &strs(&["b", "21", "c", "31", "d", "4", "a", "12"]),
    );
    c.t("HSETEX h KEEPTTL FIELDS 1 a 13", ":1\r\n");
    c.t("HPEXPIRETIME h FIELDS 1 a", &ints(&[4_000_000_000_001]));
    c.t("HSETEX h FIELDS 1 a 14", ":1\r\n");
    c.t("HPEXPIRETIME h FIELDS 1 a", &ints(&[-1]));
    c.t(
        "HGETALL h",
        &strs(&["b", "21", "c", "31", "d", "4", "a", "14"]),
    );
    c.t("HSETEX h FNX EX 100 FIELDS 1 e 5", ":1\r\n");
    c.t("HSETEX h FXX KEEPTTL FIELDS 1 e 6", ":1\r\n");
    c.t("HTTL h FIELDS 1 e", &ints(&[100]));
    c.t("HSETEX h ex 10 fnx FIELDS 1 e 7", ":0\r\n");
    c.t(&format!("HSETEX h PXAT {MAX_MS} FIELDS 1 e 7"), ":1\r\n");
    c.t("HPEXPIRETIME h FIELDS 1 e", &ints(&[MAX_MS]));
    // A field named twice: the last value wins.
    c.t("HSETEX h FIELDS 2 z 1 z 2", ":1\r\n");
    c.t("HGET h z", "$1\r\n2\r\n");
    // Past deadlines delete (the reply is still 1).
    c.t("HSETEX h EX 0 FIELDS 1 e 8", ":1\r\n");
    c.t("HSETEX h PXAT 1 FIELDS 1 d 7", ":1\r\n");
    c.t("HMGET h d e", &bulks(&[None, None]));
    c.t("HSETEX tmp EX 0 FIELDS 1 x 1", ":1\r\n");
    c.t("EXISTS tmp", ":0\r\n");

    c.t("SET s v", "+OK\r\n");
    let fxx = "-ERR Only one of FXX or FNX arguments can be specified\r\n";
    let one = "-ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified\r\n";
    let nf = "-ERR invalid number of fields\r\n";
    c.t("HSETEX h FNX FXX FIELDS 1 a 1", fxx);
    c.t("HSETEX h FXX FNX FIELDS 1 a 1", fxx);
    c.t("HSETEX h FNX FNX FIELDS 1 a 1", fxx);
    c.t("HSETEX h EX 10 PX 10 FIELDS 1 a 1", one);
    c.t("HSETEX h KEEPTTL EX 10 FIELDS 1 a 1", one);
    c.t("HSETEX h EX 10 EX 10 FIELDS 1 a 1", one);
    c.t("HSETEX h EXAT 10 PXAT 10 FIELDS 1 a 1", one);
    c.t("HSETEX h KEEPTTL KEEPTTL FIELDS 1 a 1", one);
    c.t(
        "HSETEX h FOO FIELDS 1 a 1",
        "-ERR unknown argument: FOO\r\n",
    );
    c.t(
        "HSETEX h FNX foo FIELDS 1 a 1",
        "-ERR unknown argument: foo\r\n",
    );
    c.t(
        "HSETEX h PX 100 FOO FIELDS 1 a 1",
        "-ERR unknown argument: FOO\r\n",
    );
    for n in ["0", "-1", "x", "1.0", "2147483648", "9223372036854775807"] {
        c.t(&format!("HSETEX h FIELDS {n} a 1"), nf);
    }
    c.t("HSETEX nokey FIELDS 0 a 1", nf);
    c.t("HSETEX h EX -1 FIELDS 1 a 1", NEGATIVE);
    c.t("HSETEX nokey EX -1 FIELDS 1 a 1", NEGATIVE);
    c.t("HSETEX h EX x FIELDS 1 a 1", NOT_INT);
    c.t("HSETEX h EX FIELDS 1 a 1", NOT_INT);
    c.t("HSETEX h EX 70368744178 FIELDS 1 a 1", &bad_time("hsetex"));
    c.t(
        &format!("HSETEX h PXAT {} FIELDS 1 a 1", MAX_MS + 1),
        &bad_time("hsetex"),
    );
    // A count that does not match the pairs is an arity error for HSETEX.
    for args in [
        "FIELDS 2 a 1",
        "FIELDS 1 a 1 b",
        "FIELDS 1 a",
        "FIELDS 1",
        "FIELDS",
        "FIELDS 1 a 1 FOO",
        "FIELDS 2147483647 a 1",
        "a 1",
        "EX 10",
        "EX 10 FIELDS",
        "FNX",
        "FNX EX",
        "EX 10 FNX",
    ] {
        c.t(&format!("HSETEX h {args}"), &arity("hsetex"));
    }
    c.t("HSETEX h", &arity("hsetex"));
    c.t("HSETEX s FIELDS 1 a b", WRONGTYPE);
    c.t("HSETEX s FXX FIELDS 1 a b", WRONGTYPE);
    c.t("GET s", "$1\r\nv\r\n");
}

/// The same commands after HELLO 3: null values are `_`, HGETALL is a map, codes and
/// errors are unchanged.
#[test]
fn resp3_replies() {
    let s = Server::start(&[]);
    let mut c = T::new(&s);
    assert!(c.cmd("HELLO 3").starts_with('%'));
    c.t("HSET h a 1 b 2", ":2\r\n");
    c.t("HEXPIRE h 100 FIELDS 2 a zz", &ints(&[1, -2]));
    c.t("HTTL h FIELDS 3 a b zz", &ints(&[100, -1, -2]));
    c.t(&format!("HPEXPIREAT h {T1} FIELDS 1 b"), &ints(&[1]));
    c.t("HPEXPIRETIME h FIELDS 2 b zz", &ints(&[T1, -2]));
    c.t("HEXPIRETIME h FIELDS 1 b", &ints(&[T1 / 1000]));
    c.t("HPERSIST h FIELDS 2 b zz", &ints(&[1, -2]));
    c.t("HGETEX h FIELDS 2 a zz", "*2\r\n$1\r\n1\r\n_\r\n");
    c.t("HGETEX h PERSIST FIELDS 2 a zz", "*2\r\n$1\r\n1\r\n_\r\n");
    c.t("HGETDEL h FIELDS 2 b zz", "*2\r\n$1\r\n2\r\n_\r\n");
    c.t("HGETDEL nokey FIELDS 1 a", "*1\r\n_\r\n");
    c.t("HGETEX nokey EX 10 FIELDS 2 a b", "*2\r\n_\r\n_\r\n");
    c.t("HSETEX h FNX FIELDS 1 a 1", ":0\r\n");
    c.t("HSETEX h PX 100000 FIELDS 1 c 3", ":1\r\n");
    c.t(
        "HGETALL h",
        "%2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\na\r\n$1\r\n1\r\n",
    );
    c.t("HTTL nokey FIELDS 1 a", &ints(&[-2]));
    c.t("HEXPIRE h 100 FIELDS 0 a", NUMFIELDS_GT0);
    c.t("HTTL h FIELDS 0 a", NUMFIELDS_POS);
    c.t(
        "HSETEX h FOO FIELDS 1 a 1",
        "-ERR unknown argument: FOO\r\n",
    );
}

// ---------------------------------------------------------------------------------------
// Encodings and field order
// ---------------------------------------------------------------------------------------

/// listpack becomes listpackex when a field-expiry command touches it (even if nothing is
/// set), and listpackex keeps fields with a deadline first, soonest first, a tie putting
/// the field set last first; HSET over such a field and HPERSIST move it to the end.
#[test]
fn listpackex_encoding_and_order() {
    let s = Server::start(&[]);
    let mut c = T::new(&s);
    let lp = "$8\r\nlistpack\r\n";
    let lpex = "$10\r\nlistpackex\r\n";
    // Conversions, as Redis 8 does them.
    for (setup, op, enc) in [
        ("HSET e a 1", "HPERSIST e FIELDS 1 a", lp),
        ("HSET e a 1", "HTTL e FIELDS 1 a", lp),
        ("HSET e a 1", "HEXPIRE e 100 FIELDS 1 zz", lpex),
        ("HSET e a 1", "HEXPIRE e 100 XX FIELDS 1 a", lpex),
        ("HSET e a 1", "HGETEX e PERSIST FIELDS 1 a", lpex),
        ("HSET e a 1", "HGETEX e PX 100000 FIELDS 1 zz", lpex),
        ("HSET e a 1", "HGETEX e FIELDS 1 a", lp),
        ("HSET e a 1", "HSETEX e KEEPTTL FIELDS 1 a 2", lp),
        ("HSET e a 1", "HSETEX e FIELDS 1 b 2", lp),
        ("HSET e a 1", "HSETEX e FNX PX 100000 FIELDS 1 a 2", lp),
        ("HSET e a 1 b 2", "HGETDEL e FIELDS 1 a", lp),
        ("HSET e a 1 b 2", "HPEXPIREAT e 1 FIELDS 1 a", lpex),
        ("HSET e a 1 b 2", "HGETEX e PX 0 FIELDS 1 a", lpex),
    ] {
        c.cmd("DEL e");
        c.cmd(setup);
        c.cmd(op);
        c.t("OBJECT ENCODING e", enc);
    }
    c.t("DEL e", ":1\r\n");
    c.t("HSETEX e PX 100000 FIELDS 1 a 1", ":1\r\n");
    c.t("OBJECT ENCODING e", lpex);
    // listpackex stays listpackex after its deadlines are gone...
    c.t("HSET e b 2", ":1\r\n");
    c.t("HPERSIST e FIELDS 1 a", &ints(&[1]));
    c.t("HDEL e a", ":1\r\n");
    c.t("OBJECT ENCODING e", lpex);
    // ...but a new key is plain listpack again.
    c.t("HPEXPIREAT e 0 FIELDS 1 b", &ints(&[2]));
    c.t("EXISTS e", ":0\r\n");
    c.t("HSET e x 1", ":1\r\n");
    c.t("OBJECT ENCODING e", lp);

    // Order.
    let all = |v: &[(&str, &str)]| {
        let flat: Vec<&str> = v.iter().flat_map(|(f, x)| [*f, *x]).collect();
        strs(&flat)
    };
    c.t("HSET o a 1 b 2 c 3 d 4 e 5 f 6", ":6\r\n");
    c.t(&format!("HPEXPIREAT o {T2} FIELDS 2 a b"), &ints(&[1, 1]));
    c.t(
        "HGETALL o",
        &all(&[
            ("b", "2"),
            ("a", "1"),
            ("c", "3"),
            ("d", "4"),
            ("e", "5"),
            ("f", "6"),
        ]),
    );
    c.t(&format!("HPEXPIREAT o {T1} FIELDS 1 c"), &ints(&[1]));
    c.t(&format!("HPEXPIREAT o {T2} FIELDS 1 d"), &ints(&[1]));
    c.t("HSET o e 55", ":0\r\n");
    c.t(&format!("HPEXPIREAT o {T3} FIELDS 1 f"), &ints(&[1]));
    c.t(
        "HGETALL o",
        &all(&[
            ("c", "3"),
            ("d", "4"),
            ("b", "2"),
            ("a", "1"),
            ("f", "6"),
            ("e", "55"),
        ]),
    );
    // Setting the same deadline again moves the field to the front of its ties.
    c.t(&format!("HPEXPIREAT o {T2} FIELDS 1 a"), &ints(&[1]));
    c.t(
        "HGETALL o",
        &all(&[
            ("c", "3"),
            ("a", "1"),
            ("d", "4"),
            ("b", "2"),
            ("f", "6"),
            ("e", "55"),
        ]),
    );
    // A new field goes to the end; HPERSIST moves a field to the end.
    c.t("HSET o g 7", ":1\r\n");
    c.t("HPERSIST o FIELDS 1 d", &ints(&[1]));
    c.t(
        "HGETALL o",
        &all(&[
            ("c", "3"),
            ("a", "1"),
            ("b", "2"),
            ("f", "6"),
            ("e", "55"),
            ("g", "7"),
            ("d", "4"),
        ]),
    );
    // HSET over a field with a deadline drops it and moves the field to the end.
    c.t("HSET o c 33", ":0\r\n");
    c.t("HPEXPIRETIME o FIELDS 1 c", &ints(&[-1]));
    // HINCRBY and HSETEX KEEPTTL update in place, keeping the deadline.
    c.t("HINCRBY o b 1", ":3\r\n");
    c.t("HSETEX o KEEPTTL FIELDS 1 a 11", ":1\r\n");
    c.t(
        "HGETALL o",
        &all(&[
            ("a", "11"),
            ("b", "3"),
            ("f", "6"),
            ("e", "55"),
            ("g", "7"),
            ("d", "4"),
            ("c", "33"),
        ]),
    );
    c.t(&format!("HSETEX o PXAT {T2} FIELDS 1 e 5"), ":1\r\n");
    c.t(
        "HGETALL o",
        &all(&[
            ("e", "5"),
            ("a", "11"),
            ("b", "3"),
            ("f", "6"),
            ("g", "7"),
            ("d", "4"),
            ("c", "33"),
        ]),
    );
    c.t("HKEYS o", &strs(&["e", "a", "b", "f", "g", "d", "c"]));
    c.t("HVALS o", &strs(&["5", "11", "3", "6", "7", "4", "33"]));
    c.t("HPEXPIRETIME o FIELDS 3 e a b", &ints(&[T2, T2, T2]));
}

/// Growing past `hash-max-listpack-entries` or `hash-max-listpack-value` (set at startup
/// or with CONFIG SET) converts to hashtable with every field, value and deadline; the
/// commands work the same on the table.
#[test]
fn conversion_to_hashtable_keeps_fields_and_deadlines() {
    let s = Server::start(&[
        "--hash-max-listpack-entries",
        "4",
        "--hash-max-listpack-value",
        "8",
    ]);
    let mut c = T::new(&s);
    let ht = "$9\r\nhashtable\r\n";
    // By entries.
    c.t("HSET e a 1 b 2 c 3 d 4", ":4\r\n");
    c.t(&format!("HPEXPIREAT e {T2} FIELDS 1 a"), &ints(&[1]));
    c.t(&format!("HPEXPIREAT e {T1} FIELDS 1 c"), &ints(&[1]));
    c.t("OBJECT ENCODING e", "$10\r\nlistpackex\r\n");
    c.t("HSET e x 5", ":1\r\n");
    c.t("OBJECT ENCODING e", ht);
    c.t("HLEN e", ":5\r\n");
    c.t(
        "HPEXPIRETIME e FIELDS 6 a b c d x zz",
        &ints(&[T2, -1, T1, -1, -1, -2]),
    );
    let want: BTreeMap<Vec<u8>, Vec<u8>> =
        [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("x", "5")]
            .iter()
            .map(|(f, v)| (f.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
    assert_eq!(hgetall_map(&mut c.c, "e"), want);
    // The commands on a table.
    c.t(
        &format!("HPEXPIREAT e {T3} GT FIELDS 3 a b c"),
        &ints(&[1, 0, 1]),
    );
    c.t(
        &format!("HPEXPIREAT e {T1} LT FIELDS 2 b d"),
        &ints(&[1, 1]),
    );
    c.t(
        &format!("HPEXPIREAT e {T4} NX FIELDS 2 b x"),
        &ints(&[0, 1]),
    );
    c.t("HPERSIST e FIELDS 2 d zz", &ints(&[1, -2]));
    c.t(
        "HPEXPIRETIME e FIELDS 5 a b c d x",
        &ints(&[T3, T1, T3, -1, T4]),
    );
    c.t("HEXPIRETIME e FIELDS 1 a", &ints(&[T3 / 1000]));
    c.t("HGETEX e PERSIST FIELDS 1 x", &bulks(&[Some("5")]));
    c.t("HGETDEL e FIELDS 1 d", &bulks(&[Some("4")]));
    c.t("HSET e b 22", ":0\r\n");
    c.t("HPEXPIRETIME e FIELDS 2 b x", &ints(&[-1, -1]));
    c.t("HINCRBY e a 10", ":11\r\n");
    c.t("HPEXPIRETIME e FIELDS 1 a", &ints(&[T3]));
    c.t("HPEXPIREAT e 1 FIELDS 2 c zz", &ints(&[2, -2]));
    c.t("HLEN e", ":3\r\n");
    c.t("OBJECT ENCODING e", ht);
    c.t("HSETEX e FNX PXAT 1 FIELDS 1 n 1", ":1\r\n");
    c.t("HEXISTS e n", ":0\r\n");

    // By value length, and by field name length.
    c.t("HSET v a 1 b 2", ":2\r\n");
    c.t(&format!("HPEXPIREAT v {T1} FIELDS 1 b"), &ints(&[1]));
    c.t("HSET v c 123456789", ":1\r\n");
    c.t("OBJECT ENCODING v", ht);
    c.t("HPEXPIRETIME v FIELDS 3 a b c", &ints(&[-1, T1, -1]));
    c.t("HMGET v a b c", &strs(&["1", "2", "123456789"]));
    c.t("HSET f a 1", ":1\r\n");
    c.t(&format!("HPEXPIREAT f {T2} FIELDS 1 a"), &ints(&[1]));
    c.t("HSET f longfieldname 1", ":1\r\n");
    c.t("OBJECT ENCODING f", ht);
    c.t("HPEXPIRETIME f FIELDS 2 a longfieldname", &ints(&[T2, -1]));
    // HSETEX and HINCRBYFLOAT converting.
    c.t(
        &format!("HSETEX s PXAT {T1} FIELDS 5 a 1 b 2 c 3 d 4 e 5"),
        ":1\r\n",
    );
    c.t("OBJECT ENCODING s", ht);
    c.t("HPEXPIRETIME s FIELDS 5 a b c d e", &ints(&[T1; 5]));
    c.t("HSET i a 1", ":1\r\n");
    c.t(&format!("HPEXPIREAT i {T1} FIELDS 1 a"), &ints(&[1]));
    c.t("HINCRBYFLOAT i a 0.123456789", "$11\r\n1.123456789\r\n");
    c.t("OBJECT ENCODING i", ht);
    c.t("HPEXPIRETIME i FIELDS 1 a", &ints(&[T1]));
    c.t("HSETEX k PX 100000 FIELDS 1 f 0123456789", ":1\r\n");
    c.t("OBJECT ENCODING k", ht);

    // CONFIG SET at runtime.
    c.t("CONFIG SET hash-max-listpack-entries 2", "+OK\r\n");
    c.t("HSET r a 1 b 2", ":2\r\n");
    c.t(&format!("HPEXPIREAT r {T1} FIELDS 1 a"), &ints(&[1]));
    c.t(&format!("HPEXPIREAT r {T2} FIELDS 1 b"), &ints(&[1]));
    c.t("OBJECT ENCODING r", "$10\r\nlistpackex\r\n");
    c.t("HSETEX r KEEPTTL FIELDS 1 c 3", ":1\r\n");
    c.t("OBJECT ENCODING r", ht);
    c.t("HPEXPIRETIME r FIELDS 3 a b c", &ints(&[T1, T2, -1]));
    c.t("HMGET r a b c", &strs(&["1", "2", "3"]));
}

// ---------------------------------------------------------------------------------------
// Real expiry
// ---------------------------------------------------------------------------------------

/// With the active cycle off, the first read of a key after the deadline already leaves
/// the expired fields out, whatever the read command and the encoding; the key goes with
/// its last field; the removals count in `expired_subkeys`. (HLEN, HEXPIRE, HDEL, EXISTS
/// and TYPE reply differently in Redis 8, which reclaims the fields later.)
#[test]
fn expired_fields_vanish_on_every_read() {
    let s = Server::start(DEBUG);
    let mut c = T::new(&s);
    c.t("DEBUG SET-ACTIVE-EXPIRE 0", "+OK\r\n");
    let long = "v".repeat(70);
    let reads: &[(&str, &str)] = &[
        ("HGET {k} a", "$-1\r\n"),
        ("HMGET {k} a b c", "*3\r\n$-1\r\n$-1\r\n$1\r\n3\r\n"),
        ("HEXISTS {k} a", ":0\r\n"),
        ("HSTRLEN {k} a", ":0\r\n"),
        ("HGETALL {k}", "*2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
        ("HKEYS {k}", "*1\r\n$1\r\nc\r\n"),
        ("HVALS {k}", "*1\r\n$1\r\n3\r\n"),
        ("HLEN {k}", ":1\r\n"),
        (
            "HSCAN {k} 0",
            "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n",
        ),
        ("HRANDFIELD {k} 5", "*1\r\n$1\r\nc\r\n"),
        (
            "HRANDFIELD {k} -3",
            "*3\r\n$1\r\nc\r\n$1\r\nc\r\n$1\r\nc\r\n",
        ),
        (
            "HRANDFIELD {k} 5 WITHVALUES",
            "*2\r\n$1\r\nc\r\n$1\r\n3\r\n",
        ),
        ("HRANDFIELD {k}", "$1\r\nc\r\n"),
        ("HTTL {k} FIELDS 3 a b c", "*3\r\n:-2\r\n:-2\r\n:-1\r\n"),
        ("HPERSIST {k} FIELDS 1 a", "*1\r\n:-2\r\n"),
        ("HEXPIRE {k} 100 FIELDS 1 a", "*1\r\n:-2\r\n"),
        ("HGETEX {k} PERSIST FIELDS 1 a", "*1\r\n$-1\r\n"),
        ("HGETDEL {k} FIELDS 1 a", "*1\r\n$-1\r\n"),
        ("HSETNX {k} a x", ":1\r\n"),
        ("HINCRBY {k} a 5", ":5\r\n"),
        ("HSETEX {k} FNX FIELDS 2 a 1 b 2", ":1\r\n"),
        ("HSETEX {k} FXX FIELDS 1 a 1", ":0\r\n"),
        ("HDEL {k} a b", ":0\r\n"),
        ("EXISTS {k}", ":1\r\n"),
    ];
    // One key per read, in both encodings (a long value converts to hashtable, which
    // stays after the value is deleted), so each read is the first to see the key after
    // the deadline.
    let mut keys = Vec::new();
    for (i, _) in reads.iter().enumerate() {
        c.t(&format!("HSET k{i} a 1 b 2 c 3"), ":3\r\n");
        keys.push((i, format!("k{i}")));
        let t = format!("k{i}t");
        c.tv(
            &["HSET", &t, "a", "1", "b", "2", "c", "3", "x", &long],
            ":4\r\n",
        );
        c.t(&format!("HDEL {t} x"), ":1\r\n");
        keys.push((i, t));
    }
    // Keys whose every field expires.
    for k in ["all1", "all2", "all3"] {
        c.t(&format!("HSET {k} a 1 b 2"), ":2\r\n");
    }
    let before = info_int(&mut c.c, "stats", "expired_subkeys");
    let mut last = 0;
    for (_, k) in &keys {
        c.t(&format!("HPEXPIRE {k} 100 FIELDS 2 a b"), &ints(&[1, 1]));
        last = last.max(deadline(&mut c.c, k, "a"));
    }
    for k in ["all1", "all2", "all3"] {
        c.t(&format!("HPEXPIRE {k} 100 FIELDS 2 a b"), &ints(&[1, 1]));
        last = last.max(deadline(&mut c.c, k, "b"));
    }
    for (_, k) in keys.iter().filter(|(_, k)| k.ends_with('t')) {
        c.t(&format!("OBJECT ENCODING {k}"), "$9\r\nhashtable\r\n");
    }
    sleep_past(last);
    for (i, k) in &keys {
        let (read, want) = reads[*i];
        c.t(&read.replace("{k}", k), want);
    }
    c.t("EXISTS all1", ":0\r\n");
    c.t("TYPE all2", "+none\r\n");
    c.t("HGETALL all3", "*0\r\n");
    c.t("HLEN all3", ":0\r\n");
    c.t("DBSIZE", &format!(":{}\r\n", keys.len()));
    let after = info_int(&mut c.c, "stats", "expired_subkeys");
    assert_eq!(
        after - before,
        2 * (keys.len() as i64 + 3),
        "expired_subkeys counts every field removed by expiry"
    );
}

/// With no access at all, the active cycle reclaims expired fields and the hashes they
/// empty: 2000 hashes of 3 fields go, 300 keep their field without a deadline, 100 keep a
/// far deadline; `expired_subkeys` and INFO keyspace `subexpiry` follow.
#[test]
fn active_reclaim_without_access() {
    let s = Server::start(&[]);
    let mut c = s.connect();
    let mut cmds: Vec<String> = Vec::new();
    for i in 0..2000 {
        cmds.push(format!("HSETEX gone:{i} PX 200 FIELDS 3 a 1 b 2 c 3"));
    }
    for i in 0..300 {
        cmds.push(format!("HSET mixed:{i} p 1"));
        cmds.push(format!("HSETEX mixed:{i} PX 200 FIELDS 2 a 1 b 2"));
    }
    for i in 0..100 {
        cmds.push(format!("HSET far:{i} p 1"));
        cmds.push(format!("HSETEX far:{i} PX 100000 FIELDS 1 a 1"));
        cmds.push(format!("SET str:{i} v"));
    }
    for chunk in cmds.chunks(500) {
        let mut buf = Vec::new();
        for line in chunk {
            let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
            buf.extend(Client::encode(&args));
        }
        c.send_raw(&buf);
        for line in chunk {
            let r = c.read_reply();
            assert!(r[0] == b':' || r[0] == b'+', "{line}: {:?}", r);
        }
    }
    let settled = |c: &mut Client| {
        c.cmd("DBSIZE") == ":500\r\n" && info_int(c, "stats", "expired_subkeys") == 6600
    };
    let start = Instant::now();
    wait_for("the active cycle to reclaim 6600 fields", 10, || {
        settled(&mut c)
    });
    eprintln!("reclaimed in {:?}", start.elapsed());
    assert_eq!(info_int(&mut c, "stats", "expired_keys"), 0);
    assert_eq!(
        info_field(&mut c, "keyspace", "db0"),
        "keys=500,expires=0,avg_ttl=0,subexpiry=100"
    );
    for i in [0, 150, 299] {
        assert_eq!(c.cmd(&format!("HGETALL mixed:{i}")), strs(&["p", "1"]));
        assert_eq!(
            c.cmd(&format!("HPEXPIRETIME mixed:{i} FIELDS 1 p")),
            ints(&[-1])
        );
    }
    for i in [0, 99] {
        assert_eq!(c.cmd(&format!("HLEN far:{i}")), ":2\r\n");
    }
    assert_eq!(c.cmd("EXISTS gone:0 gone:1999"), ":0\r\n");
}

/// HINCRBY, HINCRBYFLOAT and HSETEX KEEPTTL keep a field's deadline (and it still
/// expires); HSET, HMSET and HSETEX without an expiry drop it; HSETNX leaves it.
#[test]
fn increments_keep_deadline_and_hset_drops_it() {
    let s = Server::start(&[]);
    let mut c = T::new(&s);
    c.t("HSET h n 10 f 1.5 x 1 y 1 z 1", ":5\r\n");
    c.t(
        &format!("HPEXPIREAT h {T1} FIELDS 5 n f x y z"),
        &ints(&[1; 5]),
    );
    c.t("HINCRBY h n 5", ":15\r\n");
    c.t("HINCRBYFLOAT h f 1", "$3\r\n2.5\r\n");
    c.t("HSETNX h x 9", ":0\r\n");
    c.t("HPEXPIRETIME h FIELDS 3 n f x", &ints(&[T1, T1, T1]));
    c.t("HSET h x 2", ":0\r\n");
    c.t("HMSET h y 2", "+OK\r\n");
    c.t("HSETEX h FIELDS 1 z 2", ":1\r\n");
    c.t("HPEXPIRETIME h FIELDS 3 x y z", &ints(&[-1, -1, -1]));
    c.t("HMGET h n f x y z", &strs(&["15", "2.5", "2", "2", "2"]));
    // The kept deadline is real: an incremented field still expires.
    c.t("HSET r c 1 d 1", ":2\r\n");
    c.t("HPEXPIRE r 1000 FIELDS 1 c", &ints(&[1]));
    c.t("HINCRBY r c 1", ":2\r\n");
    c.t("HINCRBYFLOAT r c 0.5", "$3\r\n2.5\r\n");
    let at = deadline(&mut c.c, "r", "c");
    assert!(at > now_ms(), "the increment dropped the deadline: {at}");
    wait_for("field c to expire", 5, || c.cmd("HEXISTS r c") == ":0\r\n");
    c.t("HGETALL r", &strs(&["d", "1"]));
    c.t("HINCRBY r c 1", ":1\r\n");
    c.t("HPEXPIRETIME r FIELDS 1 c", &ints(&[-1]));
}

// ---------------------------------------------------------------------------------------
// Durability
// ---------------------------------------------------------------------------------------

/// Everything a test compares across a restart: exact replies of reads for `keys`.
fn snapshot(c: &mut Client, keys: &[(&str, &[&str])]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, fields) in keys {
        let table = c.cmd(&format!("OBJECT ENCODING {key}")) == "$9\r\nhashtable\r\n";
        let mut lines = vec![
            format!("OBJECT ENCODING {key}"),
            format!("HLEN {key}"),
            format!("PEXPIRETIME {key}"),
            format!(
                "HPEXPIRETIME {key} FIELDS {} {}",
                fields.len(),
                fields.join(" ")
            ),
            format!("HMGET {key} {}", fields.join(" ")),
        ];
        if !table {
            // Compact encodings have a defined order: compare it exactly.
            lines.push(format!("HGETALL {key}"));
        }
        for line in lines {
            let r = c.cmd(&line);
            out.push((line, r));
        }
    }
    out
}

#[track_caller]
fn assert_same(before: &[(String, String)], after: &[(String, String)]) {
    for (b, a) in before.iter().zip(after) {
        assert_eq!(b.1, a.1, "reply to {:?} changed across the restart", b.0);
    }
    assert_eq!(before.len(), after.len());
}

/// kill -9 and restart from the incr file alone: every deadline is exact, the listpackex
/// order and the encodings are the same, fields deleted by expiry while running stay
/// deleted (even one re-created since), fields that expired while the server was down are
/// gone (actively reclaimed with no access, with HDEL logged), and a second kill -9 and
/// restart changes nothing.
#[test]
fn restart_keeps_exact_deadlines_and_deleted_fields() {
    let dir = TempDir::new("httl-restart");
    let args = [
        "--appendfsync",
        "always",
        "--hash-max-listpack-entries",
        "16",
    ];
    let mut srv = Server::start_in(dir.path(), &args);
    let mut c = T::new(&srv);
    let t0 = now_ms();
    c.t("HSET keep a 1 b 2 c 3 d 4 e 5 g 7 h 8 j 10", ":8\r\n");
    let hour = now_ms() + 3_600_000;
    c.t(&format!("HPEXPIREAT keep {hour} FIELDS 1 a"), &ints(&[1]));
    c.t("HEXPIRE keep 1000 FIELDS 1 b", &ints(&[1]));
    c.t("HPEXPIRE keep 500000 NX FIELDS 2 c b", &ints(&[1, 0]));
    c.t("HGETEX keep EX 2000 FIELDS 1 d", &bulks(&[Some("4")]));
    c.t("HSETEX keep PX 700000 FIELDS 1 f 6", ":1\r\n");
    c.t("HSETEX keep KEEPTTL FIELDS 1 a 11", ":1\r\n");
    c.t("HINCRBYFLOAT keep d 1.5", "$3\r\n5.5\r\n");
    c.t("HINCRBY keep a 1", ":12\r\n");
    c.t("HPEXPIRE keep 1000 FIELDS 1 e", &ints(&[1]));
    c.t("HPERSIST keep FIELDS 1 e", &ints(&[1]));
    let dc = deadline(&mut c.c, "keep", "c");
    c.t(&format!("HPEXPIREAT keep {dc} FIELDS 1 h"), &ints(&[1]));
    c.t("HEXPIRE keep 0 FIELDS 1 g", &ints(&[2]));
    c.t("HGETDEL keep FIELDS 1 j", &bulks(&[Some("10")]));
    c.t("OBJECT ENCODING keep", "$10\r\nlistpackex\r\n");
    // A table.
    let mut hset = vec!["HSET".to_string(), "table".to_string()];
    for i in 0..20 {
        hset.extend([format!("f{i}"), format!("v{i}")]);
    }
    c.t(&hset.join(" "), ":20\r\n");
    c.t(
        &format!("HPEXPIREAT table {T1} FIELDS 5 f0 f1 f2 f3 f4"),
        &ints(&[1; 5]),
    );
    c.t("HEXPIRE table 3000 FIELDS 1 f5", &ints(&[1]));
    c.t("HPERSIST table FIELDS 1 f0", &ints(&[1]));
    c.t("HDEL table f19", ":1\r\n");
    c.t("OBJECT ENCODING table", "$9\r\nhashtable\r\n");
    key_deadline_and_recreated_field(&mut c);
    // Fields that expire while the server is down.
    // Of the fields given a short deadline, w loses it (HPERSIST) and v is overwritten
    // (HSET drops it) before it passes: replay must not expire them.
    c.t("HSET short x 1 y 2 z 3 w 4 v 5", ":5\r\n");
    c.t("HPEXPIRE short 1000 FIELDS 4 x y w v", &ints(&[1, 1, 1, 1]));
    c.t("HPERSIST short FIELDS 1 w", &ints(&[1]));
    c.t("HSET short v 55", ":0\r\n");
    c.t("HSET gone only 1", ":1\r\n");
    c.t("HPEXPIRE gone 1000 FIELDS 1 only", &ints(&[1]));
    let down = deadline(&mut c.c, "gone", "only").max(deadline(&mut c.c, "short", "x"));

    let table_fields: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
    let tf: Vec<&str> = table_fields.iter().map(String::as_str).collect();
    let keys: &[(&str, &[&str])] = &[
        ("keep", &["a", "b", "c", "d", "e", "f", "g", "h", "j"]),
        ("table", &tf),
        ("kttl", &["a", "b"]),
        ("ran", &["p", "q"]),
    ];
    let before = snapshot(&mut c.c, keys);
    let table_before = hgetall_map(&mut c.c, "table");
    let t1 = now_ms();
    let d = int_array(&c.cmd("HPEXPIRETIME keep FIELDS 9 a b c d e f g h j"));
    let near = |got: i64, ms: i64| (t0 + ms..=t1 + ms).contains(&got);
    assert!(
        d[0] == hour
            && near(d[1], 1_000_000)
            && d[2] == dc
            && near(d[2], 500_000)
            && near(d[3], 2_000_000)
            && d[4] == -1
            && near(d[5], 700_000)
            && d[6] == -2
            && d[7] == dc
            && d[8] == -2,
        "deadlines of keep: {d:?} (now {t0}..{t1})"
    );
    drop(c);
    srv.kill9();
    sleep_past(down);

    srv = Server::start_in(dir.path(), &args);
    let mut c = T::new(&srv);
    // No access to `gone` or `short`: the active cycle must reclaim them.
    wait_for("gone and short.x/y to be reclaimed", 5, || {
        c.cmd("DBSIZE") == ":5\r\n" && info_int(&mut c.c, "stats", "expired_subkeys") == 3
    });
    assert_same(&before, &snapshot(&mut c.c, keys));
    assert_eq!(hgetall_map(&mut c.c, "table"), table_before);
    c.t("HGETALL ran", &strs(&["q", "2", "p", "new"]));
    c.t("HGETALL short", &strs(&["z", "3", "w", "4", "v", "55"]));
    c.t("EXISTS gone", ":0\r\n");
    // The reclaims are logged as HDEL.
    wait_for("HDEL records of the reclaimed fields", 5, || {
        let recs = aof_records(dir.path());
        let deleted = |key: &str| -> Vec<String> {
            recs.iter()
                .filter(|r| r[0].eq_ignore_ascii_case("HDEL") && r[1] == key)
                .flat_map(|r| r[2..].to_vec())
                .collect()
        };
        let mut short = deleted("short");
        short.sort();
        deleted("gone") == ["only"] && short == ["x", "y"] && deleted("ran") == ["p"]
    });
    drop(c);
    srv.kill9();

    srv = Server::start_in(dir.path(), &args);
    let mut c = T::new(&srv);
    c.t("DBSIZE", ":5\r\n");
    assert_same(&before, &snapshot(&mut c.c, keys));
    assert_eq!(hgetall_map(&mut c.c, "table"), table_before);
    c.t("HGETALL short", &strs(&["z", "3", "w", "4", "v", "55"]));
    c.t("EXISTS gone", ":0\r\n");
}

/// BGREWRITEAOF then kill -9: the base holds absolute HPEXPIREAT records; after the
/// restart every deadline and the listpackex order are exact, tables that shrank load
/// compact again (listpackex with their deadlines, or listpack), a key deadline survives
/// beside field deadlines, fields deleted by expiry stay deleted, and fields that expired
/// while the server was down are gone.
#[test]
fn rewrite_keeps_deadlines_and_order_and_compacts() {
    let dir = TempDir::new("httl-rewrite");
    let args = [
        "--appendfsync",
        "always",
        "--hash-max-listpack-entries",
        "8",
        "--hash-max-listpack-value",
        "16",
    ];
    let mut srv = Server::start_in(dir.path(), &args);
    let mut c = T::new(&srv);
    let lpex = "$10\r\nlistpackex\r\n";
    let ht = "$9\r\nhashtable\r\n";
    // Listpackex order with ties.
    c.t("HSET ord a 1 b 2 c 3 d 4 e 5 f 6", ":6\r\n");
    c.t(&format!("HPEXPIREAT ord {T2} FIELDS 2 a b"), &ints(&[1, 1]));
    c.t(&format!("HPEXPIREAT ord {T1} FIELDS 1 c"), &ints(&[1]));
    c.t(&format!("HPEXPIREAT ord {T2} FIELDS 1 d"), &ints(&[1]));
    c.t("HSET ord e 55", ":0\r\n");
    c.t(&format!("HPEXPIREAT ord {T3} FIELDS 1 f"), &ints(&[1]));
    c.t(&format!("HPEXPIREAT ord {T2} FIELDS 1 a"), &ints(&[1]));
    c.t("HKEYS ord", &strs(&["c", "a", "d", "b", "f", "e"]));
    // Tables that shrink back to a few fields.
    c.t(
        "HSET big f0 0 f1 1 f2 2 f3 3 f4 4 f5 5 f6 6 f7 7 f8 8 f9 9",
        ":10\r\n",
    );
    c.t(
        &format!("HPEXPIREAT big {T1} FIELDS 3 f0 f1 f2"),
        &ints(&[1; 3]),
    );
    c.t(&format!("HPEXPIREAT big {T2} FIELDS 1 f9"), &ints(&[1]));
    c.t("HDEL big f3 f4 f5 f6 f7 f8", ":6\r\n");
    c.t("OBJECT ENCODING big", ht);
    c.t("HSET long a 1 b 0123456789abcdefXYZ", ":2\r\n");
    c.t(&format!("HPEXPIREAT long {T1} FIELDS 1 a"), &ints(&[1]));
    c.t("HDEL long b", ":1\r\n");
    c.t("OBJECT ENCODING long", ht);
    c.t(
        "HSET plain f0 0 f1 1 f2 2 f3 3 f4 4 f5 5 f6 6 f7 7 f8 8 f9 9",
        ":10\r\n",
    );
    c.t("HDEL plain f2 f3 f4 f5 f6 f7 f8 f9", ":8\r\n");
    c.t("OBJECT ENCODING plain", ht);
    key_deadline_and_recreated_field(&mut c);
    // Expiring while the server is down (after the rewrite).
    c.t("HSET soon a 1 b 2", ":2\r\n");
    c.t("HPEXPIRE soon 1500 FIELDS 1 a", &ints(&[1]));
    c.t("HSET soongone a 1", ":1\r\n");
    c.t("HPEXPIRE soongone 1500 FIELDS 1 a", &ints(&[1]));
    let down = deadline(&mut c.c, "soon", "a").max(deadline(&mut c.c, "soongone", "a"));

    c.t(
        "BGREWRITEAOF",
        "+Background append only file rewriting started\r\n",
    );
    wait_for("the rewrite to finish", 10, || {
        info_field(&mut c.c, "persistence", "aof_rewrite_in_progress") == "0"
            && info_field(&mut c.c, "persistence", "aof_rewrite_scheduled") == "0"
    });
    // The base: absolute deadlines only, one record per run of equal deadlines.
    let base = base_records(dir.path());
    for r in &base {
        let cmd = r[0].to_ascii_uppercase();
        assert!(
            ["SELECT", "HSET", "HPEXPIREAT", "PEXPIREAT"].contains(&cmd.as_str()),
            "unexpected record in the base: {r:?}"
        );
    }
    let timed = |key: &str| -> BTreeMap<String, i64> {
        let mut m = BTreeMap::new();
        for r in base.iter().filter(|r| r[0] == "HPEXPIREAT" && r[1] == key) {
            assert_eq!(r[3], "FIELDS", "{r:?}");
            assert_eq!(r[4].parse::<usize>().unwrap(), r.len() - 5, "{r:?}");
            for f in &r[5..] {
                assert!(
                    m.insert(f.clone(), r[2].parse().unwrap()).is_none(),
                    "{r:?}"
                );
            }
        }
        m
    };
    let m = |v: &[(&str, i64)]| -> BTreeMap<String, i64> {
        v.iter().map(|(f, t)| (f.to_string(), *t)).collect()
    };
    assert_eq!(
        timed("ord"),
        m(&[("a", T2), ("b", T2), ("c", T1), ("d", T2), ("f", T3)])
    );
    assert_eq!(
        timed("big"),
        m(&[("f0", T1), ("f1", T1), ("f2", T1), ("f9", T2)])
    );
    assert_eq!(timed("long"), m(&[("a", T1)]));
    assert_eq!(timed("plain"), m(&[]));
    assert_eq!(timed("kttl"), m(&[("a", T1)]));
    assert_eq!(timed("ran"), m(&[]));
    let soon_a = deadline(&mut c.c, "soon", "a");
    assert_eq!(timed("soon"), m(&[("a", soon_a)]));
    assert!(
        base.iter()
            .any(|r| r[0] == "PEXPIREAT" && r[1] == "kttl" && r[2] == T4.to_string()),
        "no PEXPIREAT kttl in the base"
    );
    // A write after the rewrite goes to the new incr file.
    c.t(&format!("HPEXPIREAT ord {T4} FIELDS 1 e"), &ints(&[1]));
    c.t("HSET ord g 7", ":1\r\n");

    let keys: &[(&str, &[&str])] = &[
        ("ord", &["a", "b", "c", "d", "e", "f", "g"]),
        ("kttl", &["a", "b"]),
    ];
    let before = snapshot(&mut c.c, keys);
    let big_before = hgetall_map(&mut c.c, "big");
    drop(c);
    srv.kill9();
    sleep_past(down);

    srv = Server::start_in(dir.path(), &args);
    let mut c = T::new(&srv);
    // `soongone` is reclaimed without being touched.
    wait_for("soongone to be reclaimed", 5, || {
        c.cmd("DBSIZE") == ":7\r\n"
    });
    assert_same(&before, &snapshot(&mut c.c, keys));
    c.t("HKEYS ord", &strs(&["c", "a", "d", "b", "f", "e", "g"]));
    // Compact again, with every value and deadline.
    c.t("OBJECT ENCODING big", lpex);
    assert_eq!(hgetall_map(&mut c.c, "big"), big_before);
    c.t(
        "HPEXPIRETIME big FIELDS 4 f0 f1 f2 f9",
        &ints(&[T1, T1, T1, T2]),
    );
    c.t("OBJECT ENCODING long", lpex);
    c.t("HGETALL long", &strs(&["a", "1"]));
    c.t("HPEXPIRETIME long FIELDS 1 a", &ints(&[T1]));
    c.t("OBJECT ENCODING plain", "$8\r\nlistpack\r\n");
    c.t("HGETALL plain", &strs(&["f0", "0", "f1", "1"]));
    c.t("PEXPIRETIME kttl", &format!(":{T4}\r\n"));
    c.t("HGETALL ran", &strs(&["q", "2", "p", "new"]));
    c.t("HGETALL soon", &strs(&["b", "2"]));
    c.t("EXISTS soongone", ":0\r\n");
}

/// The AOF gets canonical records: absolute HPEXPIREAT for every relative form, HPERSIST,
/// HSETEX with PXAT or KEEPTTL (plain HSET without an expiry), HDEL for deletions by a
/// past deadline and by expiry, and nothing for commands that changed nothing. The
/// replay after kill -9 gives the same hash.
#[test]
fn aof_records_are_canonical() {
    let dir = TempDir::new("httl-records");
    let args = ["--appendfsync", "always", "--enable-debug-command", "yes"];
    let mut srv = Server::start_in(dir.path(), &args);
    let mut c = T::new(&srv);
    c.t("DEBUG SET-ACTIVE-EXPIRE 0", "+OK\r\n");
    c.t("HSET h a 1 b 2 c 3 d 4 e 5", ":5\r\n");
    c.t("HEXPIRE h 100 FIELDS 1 a", &ints(&[1]));
    let da = deadline(&mut c.c, "h", "a");
    c.t("HEXPIRE h 100 NX FIELDS 1 a", &ints(&[0]));
    c.t("HEXPIRE h 100 FIELDS 1 zz", &ints(&[-2]));
    c.t("HEXPIRE nokey 100 FIELDS 1 a", &ints(&[-2]));
    c.t("HPEXPIRE h 5000 FIELDS 2 b zz", &ints(&[1, -2]));
    let db = deadline(&mut c.c, "h", "b");
    c.t("HEXPIREAT h 4000000000 FIELDS 1 c", &ints(&[1]));
    c.t("HGETEX h PX 7000 FIELDS 1 d", &bulks(&[Some("4")]));
    let dd = deadline(&mut c.c, "h", "d");
    c.t(
        "HGETEX h PERSIST FIELDS 2 d e",
        &bulks(&[Some("4"), Some("5")]),
    );
    c.t("HGETEX h FIELDS 1 a", &bulks(&[Some("1")]));
    c.t("HPERSIST h FIELDS 2 c e", &ints(&[1, -1]));
    c.t("HSETEX h FNX PX 9000 FIELDS 1 f 6", ":1\r\n");
    let df = deadline(&mut c.c, "h", "f");
    c.t("HSETEX h FXX KEEPTTL FIELDS 1 f 7", ":1\r\n");
    c.t("HSETEX h FXX FIELDS 1 zz 1", ":0\r\n");
    c.t("HSETEX h FIELDS 1 g 8", ":1\r\n");
    c.t("HINCRBYFLOAT h f 0.5", "$3\r\n7.5\r\n");
    c.t("HINCRBYFLOAT h g 0.5", "$3\r\n8.5\r\n");
    c.t("HGETDEL h FIELDS 2 g zz", &bulks(&[Some("8.5"), None]));
    c.t("HEXPIRE h 0 FIELDS 1 e", &ints(&[2]));
    c.t("HGETEX h EXAT 1 FIELDS 1 f", &bulks(&[Some("7.5")]));
    c.t("HSETEX h PXAT 1 FIELDS 1 n 1", ":1\r\n");
    c.t("HPEXPIRE h 100 FIELDS 1 b", &ints(&[1]));
    let db2 = deadline(&mut c.c, "h", "b");
    sleep_past(db2);
    c.t("HGET h b", "$-1\r\n");
    c.t("HPEXPIREAT h 1 FIELDS 3 zz a zz", &ints(&[-2, 2, -2]));
    c.t("HGETALL h", &strs(&["d", "4", "c", "3"]));

    let want: Vec<String> = vec![
        "HSET h a 1 b 2 c 3 d 4 e 5".to_string(),
        format!("HPEXPIREAT h {da} FIELDS 1 a"),
        format!("HPEXPIREAT h {db} FIELDS 1 b"),
        "HPEXPIREAT h 4000000000000 FIELDS 1 c".to_string(),
        format!("HPEXPIREAT h {dd} FIELDS 1 d"),
        "HPERSIST h FIELDS 1 d".to_string(),
        "HPERSIST h FIELDS 1 c".to_string(),
        format!("HSETEX h PXAT {df} FIELDS 1 f 6"),
        "HSETEX h KEEPTTL FIELDS 1 f 7".to_string(),
        "HSET h g 8".to_string(),
        "HSETEX h KEEPTTL FIELDS 1 f 7.5".to_string(),
        "HSET h g 8.5".to_string(),
        "HDEL h g".to_string(),
        "HDEL h e".to_string(),
        "HDEL h f".to_string(),
        "HDEL h n".to_string(),
        format!("HPEXPIREAT h {db2} FIELDS 1 b"),
        "HDEL h b".to_string(),
        "HDEL h a".to_string(),
    ];
    let got: Vec<String> = aof_records(dir.path())
        .into_iter()
        .filter(|r| !r[0].eq_ignore_ascii_case("SELECT"))
        .map(|mut r| {
            r[0] = r[0].to_ascii_uppercase();
            r.join(" ")
        })
        .collect();
    assert_eq!(got, want, "AOF records");
    let before = snapshot(
        &mut c.c,
        &[("h", &["a", "b", "c", "d", "e", "f", "g", "n"])],
    );
    drop(c);
    srv.kill9();
    srv = Server::start_in(dir.path(), &args);
    let mut c = srv.connect();
    assert_same(
        &before,
        &snapshot(&mut c, &[("h", &["a", "b", "c", "d", "e", "f", "g", "n"])]),
    );
}

// ---------------------------------------------------------------------------------------
// Bookkeeping that once differed from redis-server 8.0.2.
// ---------------------------------------------------------------------------------------

/// INFO keyspace `subexpiry`, as in Redis 8, stops counting a hash with field deadlines
/// once it is deleted (DEL, UNLINK, overwritten by SET), loses its last timed field (HDEL,
/// HGETDEL), or is renamed (counted once, under the new name). An earlier ferrokv kept a
/// stale index entry per old key name until the old deadline passed, so the count (and
/// the memory behind it) grew with every such key.
#[test]
fn subexpiry_forgets_deleted_hashes() {
    let s = Server::start(&[]);
    let mut c = T::new(&s);
    let line = |keys: u32, sub: u32| format!("keys={keys},expires=0,avg_ttl=0,subexpiry={sub}");
    c.t("SET x 1", "+OK\r\n");
    let mut keys = 1;
    for (setup, undo, kept) in [
        ("HSETEX a EX 100000 FIELDS 1 f 1", "DEL a", 0),
        ("HSETEX u EX 100000 FIELDS 1 f 1", "UNLINK u", 0),
        ("HSETEX e EX 100000 FIELDS 1 f 1", "SET e str", 1),
        ("HSETEX c EX 100000 FIELDS 1 f 1", "HSET c g 2", 1),
        ("HSETEX g EX 100000 FIELDS 1 f 1", "RENAME g g2", 1),
    ] {
        c.t(setup, ":1\r\n");
        c.cmd(undo);
        if setup.starts_with("HSETEX c") {
            c.t("HDEL c f", ":1\r\n");
        }
        keys += kept;
        let sub = u32::from(setup.starts_with("HSETEX g"));
        let got = info_field(&mut c.c, "keyspace", "db0");
        c.check(&format!("{setup}; {undo}"), &got, &line(keys, sub));
    }
    c.t("HGETDEL g2 FIELDS 1 f", &bulks(&[Some("1")]));
    for i in 0..2000 {
        c.cmd(&format!("HSETEX k{i} EX 86400 FIELDS 1 f v"));
        c.cmd(&format!("DEL k{i}"));
    }
    let got = info_field(&mut c.c, "keyspace", "db0");
    c.check("2000 x (HSETEX, DEL)", &got, &line(3, 0));
}

/// A field deleted because its new deadline is already past (HEXPIRE family, HGETEX,
/// HSETEX) counts in INFO `expired_subkeys`, as in Redis 8.
#[test]
fn past_deadline_deletions_count_as_expired_subkeys() {
    let s = Server::start(&[]);
    let mut c = T::new(&s);
    c.t("HSET h a 1 b 2 c 3 d 4", ":4\r\n");
    c.t("HPEXPIREAT h 0 FIELDS 1 a", &ints(&[2]));
    c.t("HGETEX h PX 0 FIELDS 1 b", &bulks(&[Some("2")]));
    c.t("HSETEX h PX 0 FIELDS 1 c 1", ":1\r\n");
    c.t("HSETEX n PXAT 1 FIELDS 1 c 1", ":1\r\n");
    let got = info_field(&mut c.c, "stats", "expired_subkeys");
    c.check("expired_subkeys", &got, "4");
}

/// A rewrite leaves out fields that expired but were not reclaimed yet (active expiry off,
/// nobody read the keys): a table whose live fields fit the compact encoding reloads
/// compact, and a hash whose fields all expired is not written at all.
#[test]
fn rewrite_leaves_out_expired_fields() {
    let dir = TempDir::new("httl-rewrite-expired");
    let args = [
        "--appendfsync",
        "always",
        "--hash-max-listpack-entries",
        "4",
        "--enable-debug-command",
        "yes",
    ];
    let mut srv = Server::start_in(dir.path(), &args);
    let mut c = T::new(&srv);
    c.t("DEBUG SET-ACTIVE-EXPIRE 0", "+OK\r\n");
    c.t("HSET big a 1 b 2 c 3 d 4 e 5 f 6", ":6\r\n");
    c.t("OBJECT ENCODING big", "$9\r\nhashtable\r\n");
    c.t("HPEXPIRE big 50 FIELDS 3 a b c", &ints(&[1, 1, 1]));
    c.t("HSET gone x 1 y 2", ":2\r\n");
    c.t("HPEXPIRE gone 50 FIELDS 2 x y", &ints(&[1, 1]));
    c.t(&format!("HPEXPIREAT big {T1} FIELDS 1 d"), &ints(&[1]));
    sleep_past(now_ms() + 60);
    c.t(
        "BGREWRITEAOF",
        "+Background append only file rewriting started\r\n",
    );
    wait_for("the rewrite to finish", 10, || {
        info_field(&mut c.c, "persistence", "aof_rewrite_in_progress") == "0"
            && info_field(&mut c.c, "persistence", "aof_rewrite_scheduled") == "0"
    });
    let base = base_records(dir.path());
    assert!(
        base.iter().all(|r| r.get(1).is_none_or(|k| k != "gone")),
        "a hash with only expired fields was written: {base:?}"
    );
    srv.kill9();
    let srv = Server::start_in(dir.path(), &args);
    let mut c = T::new(&srv);
    c.t("EXISTS gone", ":0\r\n");
    c.t("DBSIZE", ":1\r\n");
    c.t("OBJECT ENCODING big", "$10\r\nlistpackex\r\n");
    c.t("HGETALL big", &strs(&["d", "4", "e", "5", "f", "6"]));
    c.t("HPEXPIRETIME big FIELDS 1 d", &ints(&[T1]));
}
