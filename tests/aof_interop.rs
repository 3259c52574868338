//! AOF interoperability with a real `redis-server` 7: the same append-only files must mean the
//! same data to both servers.
//!
//! - `redis_aof_dir_loads_into_ferrokv`: redis-server writes a varied dataset with
//!   `aof-use-rdb-preamble no`, runs BGREWRITEAOF, writes more (so the directory holds a RESP
//!   base and a non-empty incr file) and shuts down; ferrokv starts on that directory. Then
//!   ferrokv appends to redis's incr file and redis-server loads the result back.
//! - `ferrokv_aof_dir_loads_into_redis`: the reverse, ferrokv writes (relative TTLs,
//!   INCRBYFLOAT, HINCRBYFLOAT, MULTI/EXEC, several databases, deletes) and redis-server loads
//!   its directory (checksum annotations, manifest) without complaint.
//! - `single_file_aof_loads_like_redis`: an old single-file `appendonly.aof` (plain RESP, as
//!   Redis < 7 wrote it) is loaded by ferrokv and by redis-server; both must agree, and
//!   redis-server must also load the directory ferrokv upgraded it into.
//! - `rdb_preamble_base_loads`: a directory with an RDB base (redis-server's default)
//!   loads, base then incr file, and the base is left untouched.
//! - `keys_expired_since_written_replay_like_redis` and
//!   `rdb_preamble_single_file_loads_and_is_not_cut`: regressions for two bugs this file
//!   found (COPY/MOVE expiring keys during replay; `--check-aof --fix` cutting RDB data).
//!
//! What is compared (a "snapshot"): for every database 0..15, DBSIZE and every key (KEYS *):
//! its TYPE; its value byte for byte (strings with GET; hashes with HGETALL, compared as
//! field -> value maps, since field order in a hashtable-encoded hash is not defined); its
//! expiry as PEXPIRETIME, compared exactly (both servers store and log absolute milliseconds,
//! so any drift is a bug; this is stricter than comparing PTTL with a tolerance); and, for
//! hashes, OBJECT ENCODING (listpack vs hashtable), which the dataset keeps deterministic.
//! A mismatch panics with a per-key diff.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Client, Server, TempDir, free_port, now_ms, redis7_available, show, which};

// ---------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------

/// A parsed RESP2 reply.
#[derive(Debug, Clone, PartialEq)]
enum R {
    Simple(String),
    Err(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Arr(Option<Vec<R>>),
}

fn parse(b: &[u8]) -> (R, usize) {
    let end = b
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("reply without CRLF");
    let line = std::str::from_utf8(&b[1..end]).unwrap();
    let after = end + 2;
    match b[0] {
        b'+' => (R::Simple(line.to_string()), after),
        b'-' => (R::Err(line.to_string()), after),
        b':' => (R::Int(line.parse().unwrap()), after),
        b'$' => {
            let n: i64 = line.parse().unwrap();
            if n < 0 {
                return (R::Bulk(None), after);
            }
            let n = n as usize;
            (R::Bulk(Some(b[after..after + n].to_vec())), after + n + 2)
        }
        b'*' => {
            let n: i64 = line.parse().unwrap();
            if n < 0 {
                return (R::Arr(None), after);
            }
            let mut pos = after;
            let mut v = Vec::new();
            for _ in 0..n {
                let (r, used) = parse(&b[pos..]);
                v.push(r);
                pos += used;
            }
            (R::Arr(Some(v)), pos)
        }
        t => panic!("unexpected reply type {:?}", t as char),
    }
}

fn has_error(r: &R) -> Option<&str> {
    match r {
        R::Err(e) => Some(e),
        R::Arr(Some(v)) => v.iter().find_map(has_error),
        _ => None,
    }
}

fn call(c: &mut Client, args: &[&[u8]]) -> R {
    parse(&c.cmd_bytes(args)).0
}

fn int(r: R) -> i64 {
    match r {
        R::Int(n) => n,
        other => panic!("expected an integer reply, got {other:?}"),
    }
}

/// Commands sent as one pipeline (one write, one fsync under `appendfsync always`); every
/// reply must be a non-error (errors inside an EXEC reply count).
#[derive(Default)]
struct Batch {
    cmds: Vec<Vec<Vec<u8>>>,
}

impl Batch {
    fn push(&mut self, args: Vec<Vec<u8>>) -> &mut Self {
        self.cmds.push(args);
        self
    }

    fn run(&mut self, c: &mut Client) -> Vec<R> {
        let mut out = Vec::new();
        for cmd in &self.cmds {
            let refs: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
            out.extend(Client::encode(&refs));
        }
        c.send_raw(&out);
        let mut replies = Vec::new();
        for cmd in std::mem::take(&mut self.cmds) {
            let (r, _) = parse(&c.read_reply());
            if let Some(e) = has_error(&r) {
                let shown: Vec<String> = cmd.iter().map(|a| show(a)).collect();
                panic!("command {} failed: {e}", shown.join(" "));
            }
            replies.push(r);
        }
        replies
    }
}

// ---------------------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(Vec<u8>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    /// A type this test does not write (would itself be a difference).
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
struct KeyState {
    value: Value,
    /// PEXPIRETIME: absolute unix ms, -1 without expiry.
    expire_at: i64,
    /// OBJECT ENCODING, hashes only.
    encoding: Option<String>,
    /// HGETALL's field order, for listpack hashes only (insertion order, which ferrokv
    /// reproduces; a hashtable's order is arbitrary).
    order: Option<Vec<Vec<u8>>>,
}

#[derive(Debug, Default)]
struct Snapshot {
    dbsize: Vec<i64>,
    keys: BTreeMap<(usize, Vec<u8>), KeyState>,
}

impl Snapshot {
    fn key_count(&self) -> usize {
        self.keys.len()
    }

    fn get(&self, db: usize, key: &str) -> Option<&KeyState> {
        self.keys.get(&(db, key.as_bytes().to_vec()))
    }
}

/// Reads every key of every database. Leaves the connection in database 0.
fn snapshot(c: &mut Client, who: &str) -> Snapshot {
    let mut snap = Snapshot::default();
    for db in 0..16usize {
        // DBSIZE also counts keys that expired but were not reclaimed yet (both servers load
        // a past PEXPIREAT that way), so give active expiry a moment before comparing.
        let deadline = Instant::now() + Duration::from_secs(3);
        let (keys, dbsize) = loop {
            let mut b = Batch::default();
            b.push(a!["SELECT", db.to_string()]);
            b.push(a!["DBSIZE"]);
            b.push(a!["KEYS", "*"]);
            let r = b.run(c);
            let dbsize = match &r[1] {
                R::Int(n) => *n,
                other => panic!("{who}: DBSIZE replied {other:?}"),
            };
            let keys: Vec<Vec<u8>> = match &r[2] {
                R::Arr(Some(v)) => v
                    .iter()
                    .map(|k| match k {
                        R::Bulk(Some(k)) => k.clone(),
                        other => panic!("{who}: KEYS element {other:?}"),
                    })
                    .collect(),
                other => panic!("{who}: KEYS replied {other:?}"),
            };
            if keys.len() as i64 == dbsize || Instant::now() > deadline {
                break (keys, dbsize);
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(
            keys.len() as i64,
            dbsize,
            "{who}: db {db}: KEYS * lists {} keys but DBSIZE stays {dbsize}",
            keys.len()
        );
        snap.dbsize.push(dbsize);
        for chunk in keys.chunks(64) {
            let mut b = Batch::default();
            for k in chunk {
                b.push(a!["TYPE", k]);
                b.push(a!["PEXPIRETIME", k]);
                b.push(a!["OBJECT", "ENCODING", k]);
            }
            let meta = b.run(c);
            let mut b = Batch::default();
            let mut types = Vec::new();
            for (i, k) in chunk.iter().enumerate() {
                let ty = match &meta[3 * i] {
                    R::Simple(t) => t.clone(),
                    other => panic!("{who}: TYPE {} replied {other:?}", show(k)),
                };
                match ty.as_str() {
                    "string" => b.push(a!["GET", k]),
                    "hash" => b.push(a!["HGETALL", k]),
                    _ => b.push(a!["EXISTS", k]),
                };
                types.push(ty);
            }
            let vals = b.run(c);
            for (i, k) in chunk.iter().enumerate() {
                let mut order = None;
                let value = match (types[i].as_str(), &vals[i]) {
                    ("string", R::Bulk(Some(v))) => Value::Str(v.clone()),
                    ("hash", R::Arr(Some(v))) => {
                        assert!(v.len() % 2 == 0, "{who}: odd HGETALL reply for {}", show(k));
                        let mut m = BTreeMap::new();
                        for p in v.chunks(2) {
                            match (&p[0], &p[1]) {
                                (R::Bulk(Some(f)), R::Bulk(Some(v))) => {
                                    let dup = m.insert(f.clone(), v.clone());
                                    assert!(
                                        dup.is_none(),
                                        "{who}: HGETALL {} repeats field {}",
                                        show(k),
                                        show(f)
                                    );
                                }
                                other => panic!("{who}: HGETALL element {other:?}"),
                            }
                        }
                        assert!(!m.is_empty(), "{who}: empty hash {} exists", show(k));
                        order = Some(
                            v.iter()
                                .step_by(2)
                                .map(|f| match f {
                                    R::Bulk(Some(f)) => f.clone(),
                                    _ => unreachable!(),
                                })
                                .collect(),
                        );
                        Value::Hash(m)
                    }
                    (t, r) => {
                        // A key that vanished between KEYS and GET shows up here too.
                        Value::Other(format!("type {t}, read back as {r:?}"))
                    }
                };
                let expire_at = match &meta[3 * i + 1] {
                    R::Int(n) => *n,
                    other => panic!("{who}: PEXPIRETIME {} replied {other:?}", show(k)),
                };
                assert!(
                    expire_at != -2,
                    "{who}: key {} vanished during the snapshot",
                    show(k)
                );
                let encoding = match (&value, &meta[3 * i + 2]) {
                    (Value::Hash(_), R::Bulk(Some(e))) => {
                        Some(String::from_utf8_lossy(e).into_owned())
                    }
                    (Value::Hash(_), other) => {
                        panic!("{who}: OBJECT ENCODING {} replied {other:?}", show(k))
                    }
                    _ => None,
                };
                if encoding.as_deref() != Some("listpack") {
                    order = None;
                }
                snap.keys.insert(
                    (db, k.clone()),
                    KeyState {
                        value,
                        expire_at,
                        encoding,
                        order,
                    },
                );
            }
        }
    }
    let mut b = Batch::default();
    b.push(a!["SELECT", "0"]);
    b.run(c);
    snap
}

/// Panics with a readable per-key diff unless the snapshots are identical.
fn assert_same(what: &str, left_name: &str, left: &Snapshot, right_name: &str, right: &Snapshot) {
    let mut diffs = Vec::new();
    if left.dbsize != right.dbsize {
        diffs.push(format!(
            "DBSIZE per db: {left_name} {:?}, {right_name} {:?}",
            left.dbsize, right.dbsize
        ));
    }
    let all: std::collections::BTreeSet<&(usize, Vec<u8>)> =
        left.keys.keys().chain(right.keys.keys()).collect();
    for k in all {
        let name = format!("db {} key {}", k.0, show(&k.1));
        match (left.keys.get(k), right.keys.get(k)) {
            (Some(_), None) => diffs.push(format!("{name}: only in {left_name}")),
            (None, Some(_)) => diffs.push(format!("{name}: only in {right_name}")),
            (Some(l), Some(r)) => {
                if l.expire_at != r.expire_at {
                    diffs.push(format!(
                        "{name}: PEXPIRETIME {left_name} {} vs {right_name} {} (diff {} ms)",
                        l.expire_at,
                        r.expire_at,
                        r.expire_at - l.expire_at
                    ));
                }
                if l.encoding != r.encoding {
                    diffs.push(format!(
                        "{name}: OBJECT ENCODING {left_name} {:?} vs {right_name} {:?}",
                        l.encoding, r.encoding
                    ));
                }
                if l.value == r.value && l.order != r.order {
                    let names = |o: &Option<Vec<Vec<u8>>>| match o {
                        Some(v) => v.iter().map(|f| show(f)).collect::<Vec<_>>().join(" "),
                        None => "(not listpack)".into(),
                    };
                    diffs.push(format!(
                        "{name}: HGETALL field order {left_name} [{}] vs {right_name} [{}]",
                        names(&l.order),
                        names(&r.order)
                    ));
                }
                match (&l.value, &r.value) {
                    (Value::Hash(lm), Value::Hash(rm)) if lm != rm => {
                        let fields: std::collections::BTreeSet<&Vec<u8>> =
                            lm.keys().chain(rm.keys()).collect();
                        let mut n = 0;
                        for f in fields {
                            let (lv, rv) = (lm.get(f), rm.get(f));
                            if lv != rv && n < 5 {
                                n += 1;
                                diffs.push(format!(
                                    "{name}: hash field {}: {left_name} {} vs {right_name} {}",
                                    show(f),
                                    lv.map_or("(none)".into(), |v| show(v)),
                                    rv.map_or("(none)".into(), |v| show(v))
                                ));
                            }
                        }
                        if lm.len() != rm.len() {
                            diffs.push(format!(
                                "{name}: HLEN {left_name} {} vs {right_name} {}",
                                lm.len(),
                                rm.len()
                            ));
                        }
                    }
                    (Value::Str(lv), Value::Str(rv)) if lv != rv => diffs.push(format!(
                        "{name}: value {left_name} {} vs {right_name} {}",
                        show(lv),
                        show(rv)
                    )),
                    (lv, rv) if lv != rv => {
                        diffs.push(format!("{name}: {left_name} {lv:?} vs {right_name} {rv:?}"))
                    }
                    _ => {}
                }
            }
            (None, None) => unreachable!(),
        }
    }
    if !diffs.is_empty() {
        let total = diffs.len();
        diffs.truncate(40);
        panic!(
            "{what}: {total} difference(s) between {left_name} ({} keys) and {right_name} ({} keys):\n  {}{}",
            left.key_count(),
            right.key_count(),
            diffs.join("\n  "),
            if total > 40 { "\n  ..." } else { "" }
        );
    }
}

// ---------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------

/// Starts redis-server on `dir` (the caller owns it) with `extra` directives.
fn start_redis_in(dir: &Path, extra: &[&str]) -> Server {
    let bin = which("redis-server").unwrap();
    let mut last = String::new();
    for _ in 0..5 {
        let port = free_port();
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--dir",
            dir.to_str().unwrap(),
            "--save",
            "",
            "--bind",
            "127.0.0.1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        match Server::spawn(&bin, &args, port) {
            Ok(s) => return s,
            Err(e) => last = e,
        }
    }
    panic!("redis-server did not start on {}: {last}", dir.display());
}

/// SHUTDOWN and wait for a clean exit.
fn shutdown(s: &mut Server, who: &str) {
    let mut c = s.connect();
    c.send_raw(&Client::encode(&[b"SHUTDOWN"]));
    // No reply on success: the connection just closes.
    let rest = c.read_to_close();
    assert!(
        rest.is_empty(),
        "{who}: SHUTDOWN replied {:?}",
        String::from_utf8_lossy(&rest)
    );
    assert_eq!(
        s.wait_exit(15),
        Some(0),
        "{who} did not exit cleanly; log:\n{}",
        s.log_text()
    );
}

/// Files in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Lines of a redis-server log that report a problem with loading or writing the AOF.
fn redis_aof_complaints(log: &str) -> Vec<&str> {
    const BAD: &[&str] = &[
        "bad file format",
        "unrecoverable",
        "unexpected end of file",
        "unknown command",
        "short read",
        "revert incomplete",
        "truncat",
        "corrupt",
        "fatal",
        "error",
        "can't",
        "!!!",
    ];
    log.lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            BAD.iter().any(|b| l.contains(b))
        })
        .collect()
}

fn assert_loaded(s: &Server, who: &str) {
    let log = s.log_text();
    assert!(
        log.contains("DB loaded from append only file"),
        "{who} did not report loading the AOF; log:\n{log}"
    );
}

// ---------------------------------------------------------------------------------------
// The dataset
// ---------------------------------------------------------------------------------------

const BIG_FIELDS: usize = 700;

/// First part of the dataset, written the same way to either server. `t0` is the base for
/// absolute expiry times (unix ms).
fn write_part1(c: &mut Client, t0: i64) {
    let mut b = Batch::default();
    b.push(a!["SELECT", "0"]);
    // Many small hashes (listpack): binary field names and values, empty values.
    for i in 0..150 {
        let key = format!("h:{i}");
        let mut cmd = a!["HSET", key];
        for j in 0..=(i % 9) {
            cmd.push(format!("f{j}").into_bytes());
            cmd.push(match (i + j) % 6 {
                0 => Vec::new(),
                1 => vec![0, 255, b'\r', b'\n', i as u8, b' ', 0x80],
                2 => (i * 1000 + j).to_string().into_bytes(),
                3 => format!("-{}.{}", i, j).into_bytes(),
                _ => format!("value {i}/{j}").into_bytes(),
            });
        }
        if i % 10 == 0 {
            cmd.push(b"\x00\xff\r\n field".to_vec());
            cmd.push(b"bin\x00val".to_vec());
            cmd.push(Vec::new()); // empty field name
            cmd.push(b"empty-name".to_vec());
        }
        b.push(cmd);
    }
    // One large hash (hashtable encoding), written in several commands.
    for chunk in 0..(BIG_FIELDS / 100) {
        let mut cmd = a!["HSET", "bighash"];
        for j in chunk * 100..(chunk + 1) * 100 {
            cmd.push(format!("field:{j}").into_bytes());
            cmd.push(format!("value:{}", j * 7).into_bytes());
        }
        b.push(cmd);
    }
    // A value over hash-max-listpack-value (64) makes a small hash a hashtable.
    b.push(a!["HSET", "hlong", "short", "x", "long", "y".repeat(100)]);
    // Hash counters.
    b.push(a!["HINCRBY", "hnum", "count", "5"]);
    b.push(a!["HINCRBY", "hnum", "count", "-12"]);
    b.push(a!["HINCRBYFLOAT", "hnum", "price", "10.5"]);
    b.push(a!["HINCRBYFLOAT", "hnum", "price", "0.1"]);
    b.push(a!["HINCRBYFLOAT", "hnum", "tiny", "1.5e-7"]);
    b.push(a!["HINCRBYFLOAT", "hnum", "big", "3.0e5"]);
    b.push(a!["HSETNX", "hnum", "count", "99"]);
    b.push(a!["HSETNX", "hnum", "new", "1"]);
    b.push(a!["HMSET", "hm", "a", "1", "b", "2", "c", "3"]);
    b.push(a!["HDEL", "hm", "b", "zzz"]);
    // Strings: integers, floats, binary, empty, large, edited in place.
    b.push(a!["SET", "s:int", "12345"]);
    b.push(a!["SET", "s:neg", "-42"]);
    b.push(a!["SET", "s:max", "9223372036854775807"]);
    b.push(a!["SET", "s:lead0", "007"]);
    b.push(a!["INCR", "counter"]);
    b.push(a!["INCRBY", "counter", "100"]);
    b.push(a!["DECRBY", "counter", "7"]);
    b.push(a!["DECR", "counter"]);
    b.push(a!["INCRBYFLOAT", "fl", "3.14159"]);
    b.push(a!["INCRBYFLOAT", "fl", "-0.00159"]);
    b.push(a!["INCRBYFLOAT", "fl2", "5.0e3"]);
    for _ in 0..3 {
        b.push(a!["INCRBYFLOAT", "fl3", "0.1"]);
    }
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    b.push(a!["SET", "s:bin", all_bytes]);
    b.push(a!["SET", "s:empty", ""]);
    let large: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    b.push(a!["SET", "s:large", large]);
    b.push(a!["SET", b"k\x00\xff\r\n bin key", "binary key name"]);
    b.push(a!["SET", "", "the empty key"]);
    b.push(a!["APPEND", "s:app", "hello"]);
    b.push(a!["APPEND", "s:app", " world"]);
    b.push(a!["SETRANGE", "s:app", "0", "J"]);
    b.push(a!["SETRANGE", "s:rng", "10", "abc"]);
    b.push(a!["MSET", "m1", "a", "m2", "b", "m3", "c"]);
    b.push(a!["MSETNX", "m1", "x", "m9", "y"]);
    b.push(a!["SETNX", "m4", "d"]);
    b.push(a!["SETNX", "m4", "e"]);
    b.push(a!["GETSET", "m2", "bb"]);
    b.push(a!["SET", "m1", "z", "GET"]);
    b.push(a!["HSET", "hdup", "f", "1", "g", "2", "f", "3"]);
    b.push(a!["HSET", "horder", "z", "1", "a", "2", "m", "3", "b", "4"]);
    b.push(a!["HDEL", "horder", "a"]);
    b.push(a!["HSET", "horder", "a", "5", "z", "6"]);
    // Expiries, relative and absolute, on strings and hashes.
    b.push(a!["SET", "ttl:exp", "v"]);
    b.push(a!["EXPIRE", "ttl:exp", "1000"]);
    b.push(a!["SET", "ttl:ex", "v", "EX", "2000"]);
    b.push(a!["SET", "ttl:px", "v", "PX", "3000000"]);
    b.push(a!["SET", "ttl:at", "v"]);
    b.push(a!["PEXPIREAT", "ttl:at", (t0 + 5_000_123).to_string()]);
    b.push(a![
        "SET",
        "ttl:exat",
        "v",
        "EXAT",
        (t0 / 1000 + 4000).to_string()
    ]);
    b.push(a!["SETEX", "ttl:setex", "1500", "v"]);
    b.push(a!["PSETEX", "ttl:psetex", "1600000", "v"]);
    b.push(a!["SET", "ttl:getex", "v"]);
    b.push(a!["GETEX", "ttl:getex", "PX", "2500000"]);
    b.push(a!["SET", "ttl:nx", "v", "NX", "EX", "600"]);
    b.push(a!["SET", "ttl:getex2", "v", "EX", "600"]);
    b.push(a!["GETEX", "ttl:getex2", "PERSIST"]);
    b.push(a!["HSET", "ttl:hash", "f", "v", "g", ""]);
    b.push(a!["EXPIRE", "ttl:hash", "1200"]);
    b.push(a!["PEXPIRE", "h:7", "3600000"]);
    b.push(a!["SET", "ttl:persist", "v", "EX", "100"]);
    b.push(a!["PERSIST", "ttl:persist"]);
    b.push(a!["SET", "ttl:keep", "v", "EX", "900"]);
    b.push(a!["SET", "ttl:keep", "v2", "KEEPTTL"]);
    b.push(a!["SET", "ttl:fl", "1.5", "EX", "800"]);
    b.push(a!["INCRBYFLOAT", "ttl:fl", "2.25"]);
    b.push(a!["HSET", "ttl:hfl", "x", "1"]);
    b.push(a!["EXPIRE", "ttl:hfl", "850"]);
    b.push(a!["HINCRBYFLOAT", "ttl:hfl", "x", "0.5"]);
    b.push(a!["SET", "ttl:over", "v", "EX", "100"]);
    b.push(a!["SET", "ttl:over", "v2"]);
    // Expiries that delete at once.
    b.push(a!["SET", "gone:past", "v"]);
    b.push(a!["PEXPIREAT", "gone:past", (t0 - 1000).to_string()]);
    b.push(a!["HSET", "gone:neg", "f", "v"]);
    b.push(a!["EXPIRE", "gone:neg", "-1"]);
    b.push(a!["SET", "gone:short", "v", "PX", "1"]);
    // Deletes and overwrites (including type changes).
    b.push(a!["SET", "del:a", "v"]);
    b.push(a!["DEL", "del:a"]);
    b.push(a!["SET", "del:u", "v"]);
    b.push(a!["UNLINK", "del:u"]);
    b.push(a!["HSET", "del:h", "f", "v", "g", "w"]);
    b.push(a!["HDEL", "del:h", "f", "g"]);
    b.push(a!["SET", "del:getdel", "v"]);
    b.push(a!["GETDEL", "del:getdel"]);
    b.push(a!["DEL", "h:5", "h:6", "nonexistent"]);
    b.push(a!["HSET", "ow:1", "f", "v"]);
    b.push(a!["SET", "ow:1", "now a string"]);
    b.push(a!["SET", "ow:2", "s"]);
    b.push(a!["DEL", "ow:2"]);
    b.push(a!["HSET", "ow:2", "f", "now a hash"]);
    b.push(a!["SET", "s:int", "54321"]);
    // Renames (the TTL moves with the key), copies.
    b.push(a!["SET", "ren:src", "moved", "EX", "3000"]);
    b.push(a!["RENAME", "ren:src", "ren:dst"]);
    b.push(a!["HSET", "ren:h", "a", "1"]);
    b.push(a!["RENAME", "ren:h", "m3"]);
    b.push(a!["SET", "ren:nx", "1"]);
    b.push(a!["RENAMENX", "ren:nx", "m1"]);
    b.push(a!["RENAMENX", "ren:nx", "ren:nx2"]);
    b.push(a!["COPY", "h:1", "copy:h1"]);
    b.push(a!["COPY", "ttl:ex", "copy:ttl"]);
    b.push(a!["COPY", "h:2", "h:2", "DB", "7"]);
    // A transaction.
    b.push(a!["MULTI"]);
    b.push(a!["HSET", "tx:h", "a", "1", "b", "2"]);
    b.push(a!["INCR", "tx:n"]);
    b.push(a!["SET", "tx:s", "x", "EX", "5000"]);
    b.push(a!["HINCRBYFLOAT", "tx:h", "a", "0.25"]);
    b.push(a!["DEL", "h:3"]);
    b.push(a!["EXEC"]);
    // Other databases.
    b.push(a!["SELECT", "1"]);
    for i in 0..20 {
        b.push(a!["HSET", format!("h:{i}"), "db", "1", "i", i.to_string()]);
        b.push(a!["SET", format!("s:{i}"), format!("db1-{i}")]);
    }
    b.push(a!["EXPIRE", "s:3", "4321"]);
    b.push(a!["DEL", "s:4"]);
    b.push(a!["SELECT", "2"]);
    b.push(a!["HSET", "mv:h", "f", "v"]);
    b.push(a!["SET", "mv:s", "v", "EX", "7777"]);
    b.push(a!["MOVE", "mv:h", "3"]);
    b.push(a!["MOVE", "mv:s", "3"]);
    b.push(a!["SET", "stay", "in db 2"]);
    b.push(a!["SELECT", "5"]);
    b.push(a!["SET", "flushed", "v"]);
    b.push(a!["HSET", "flushed:h", "f", "v"]);
    b.push(a!["FLUSHDB"]);
    b.push(a!["SET", "after-flush", "v"]);
    b.push(a!["SELECT", "9"]);
    b.push(a!["SET", "was-db9", "v"]);
    b.push(a!["HSET", "was-db9:h", "f", "v"]);
    b.push(a!["SELECT", "10"]);
    b.push(a!["SET", "was-db10", "v"]);
    b.push(a!["SWAPDB", "9", "10"]);
    b.push(a!["SELECT", "15"]);
    b.push(a!["HSET", "last-db", "f", "v"]);
    b.push(a!["SET", "h:1", "a string named like a db-0 hash"]);
    b.push(a!["SELECT", "0"]);
    b.run(c);
    wait_gone(c, "gone:short");
}

/// Second part: changes to keys of the first part and new keys.
fn write_part2(c: &mut Client, t0: i64) {
    let mut b = Batch::default();
    b.push(a!["SELECT", "0"]);
    b.push(a!["HSET", "h:1", "added", "after rewrite", "f0", "changed"]);
    b.push(a!["HDEL", "h:2", "f0"]);
    b.push(a!["HINCRBYFLOAT", "h:4", "fnum", "1.5"]);
    b.push(a!["HINCRBYFLOAT", "h:4", "fnum", "-0.25"]);
    b.push(a!["HINCRBY", "h:8", "n", "-3"]);
    b.push(a![
        "HDEL", "h:9", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9"
    ]);
    let mut cmd = a!["HDEL", "bighash"];
    for j in 0..10 {
        cmd.push(format!("field:{j}").into_bytes());
    }
    b.push(cmd);
    b.push(a![
        "HSET", "bighash", "field:3", "back", "extra", "\x00\r\n"
    ]);
    b.push(a!["DEL", "h:10"]);
    b.push(a!["SET", "h:11", "now a string"]);
    b.push(a!["EXPIRE", "h:12", "7000"]);
    b.push(a!["PERSIST", "ttl:exp"]);
    b.push(a!["PEXPIREAT", "ttl:at", (t0 + 6_000_456).to_string()]);
    b.push(a!["INCRBYFLOAT", "fl", "1"]);
    b.push(a!["INCRBYFLOAT", "fl2", "-5000"]);
    b.push(a!["INCR", "counter"]);
    b.push(a!["APPEND", "s:bin", "\r\n"]);
    b.push(a!["SET", "gone:later", "v"]);
    b.push(a!["PEXPIREAT", "gone:later", "1"]);
    b.push(a!["SET", "new:ex", "v", "EX", "1234"]);
    b.push(a!["RENAME", "copy:h1", "copy:h1:renamed"]);
    b.push(a!["MULTI"]);
    b.push(a!["SET", "tx2:a", "1"]);
    b.push(a!["HSET", "tx2:h", "f", "v"]);
    b.push(a!["SELECT", "4"]);
    b.push(a!["SET", "tx2:in-db4", "v", "PX", "4000000"]);
    b.push(a!["EXEC"]);
    b.push(a!["SELECT", "1"]);
    b.push(a!["RENAME", "h:0", "h:renamed"]);
    b.push(a!["HSET", "h:1", "db", "one"]);
    b.push(a!["SELECT", "12"]);
    b.push(a!["HSET", "db12", "f", "v"]);
    b.push(a!["SELECT", "0"]);
    b.run(c);
}

/// A third, smaller part, written by the server that loaded the other's files.
fn write_part3(c: &mut Client) {
    let mut b = Batch::default();
    b.push(a!["SELECT", "0"]);
    b.push(a!["HSET", "h:1", "part3", "yes"]);
    b.push(a!["DEL", "h:12"]);
    b.push(a!["SET", "p3:s", "v", "EX", "999"]);
    b.push(a!["INCRBYFLOAT", "fl", "0.5"]);
    b.push(a!["HINCRBYFLOAT", "hnum", "price", "2"]);
    b.push(a!["SELECT", "6"]);
    b.push(a!["HSET", "p3:h", "a", "b"]);
    b.push(a!["SELECT", "0"]);
    b.run(c);
}

/// Waits until `key` (in the current database) has expired away.
fn wait_gone(c: &mut Client, key: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while int(call(c, &[b"EXISTS", key.as_bytes()])) != 0 {
        assert!(Instant::now() < deadline, "{key} did not expire");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Checks that a snapshot holds what the dataset is meant to exercise, so a test cannot
/// pass by comparing two empty (or equally truncated) datasets.
fn check_coverage(s: &Snapshot, who: &str, after_part2: bool) {
    let enc = |k: &str| s.get(0, k).and_then(|e| e.encoding.clone());
    assert_eq!(
        enc("bighash").as_deref(),
        Some("hashtable"),
        "{who}: bighash encoding"
    );
    assert_eq!(
        enc("hlong").as_deref(),
        Some("hashtable"),
        "{who}: hlong encoding"
    );
    assert_eq!(
        enc("h:20").as_deref(),
        Some("listpack"),
        "{who}: h:20 encoding"
    );
    let bighash = match s.get(0, "bighash").map(|e| &e.value) {
        Some(Value::Hash(m)) => m.len(),
        other => panic!("{who}: bighash is {other:?}"),
    };
    assert!(bighash > 512, "{who}: bighash has only {bighash} fields");
    let hashes = s
        .keys
        .values()
        .filter(|e| matches!(e.value, Value::Hash(_)))
        .count();
    let strings = s
        .keys
        .values()
        .filter(|e| matches!(e.value, Value::Str(_)))
        .count();
    let with_ttl = s.keys.values().filter(|e| e.expire_at > 0).count();
    let dbs = s.dbsize.iter().filter(|&&n| n > 0).count();
    assert!(
        hashes > 150 && strings > 50 && with_ttl > 15 && dbs >= 8,
        "{who}: dataset too small: {hashes} hashes, {strings} strings, {with_ttl} with TTL, {dbs} databases"
    );
    for k in [
        "gone:past",
        "gone:neg",
        "gone:short",
        "del:a",
        "del:h",
        "h:3",
        "h:5",
    ] {
        assert!(s.get(0, k).is_none(), "{who}: deleted key {k} exists");
    }
    assert_eq!(s.dbsize[5], 1, "{who}: db 5 was flushed then given one key");
    assert!(
        s.get(10, "was-db9").is_some() && s.get(9, "was-db10").is_some(),
        "{who}: SWAPDB"
    );
    assert!(
        s.get(0, "ttl:persist").is_some_and(|e| e.expire_at == -1),
        "{who}: PERSIST"
    );
    assert!(
        s.get(0, "ttl:keep").is_some_and(|e| e.expire_at > 0),
        "{who}: KEEPTTL"
    );
    assert!(
        s.get(0, "ttl:fl").is_some_and(|e| e.expire_at > 0),
        "{who}: INCRBYFLOAT keeps TTL"
    );
    assert!(
        s.get(0, "ren:dst").is_some_and(|e| e.expire_at > 0),
        "{who}: RENAME keeps TTL"
    );
    assert_eq!(
        s.get(0, "fl").map(|e| e.value.clone()),
        Some(Value::Str(if after_part2 {
            b"4.14".to_vec()
        } else {
            b"3.14".to_vec()
        })),
        "{who}: INCRBYFLOAT result"
    );
    if after_part2 {
        assert!(
            s.get(4, "tx2:in-db4").is_some(),
            "{who}: SELECT inside MULTI"
        );
        assert!(s.get(0, "gone:later").is_none(), "{who}: gone:later exists");
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

fn aof_files(dir: &Path) -> (PathBuf, Vec<String>) {
    let aof_dir = dir.join("appendonlydir");
    let files = listing(&aof_dir);
    (aof_dir, files)
}

#[test]
fn redis_aof_dir_loads_into_ferrokv() {
    if !redis7_available("the AOF interop tests") {
        return;
    }
    let t0 = now_ms();
    let tmp = TempDir::new("interop-r2f");
    let redis_dir = tmp.path().join("redis");
    std::fs::create_dir_all(&redis_dir).unwrap();
    let redis_args = [
        "--appendonly",
        "yes",
        "--aof-use-rdb-preamble",
        "no",
        "--appendfsync",
        "always",
        // `#TS:` annotation lines, which readers must skip.
        "--aof-timestamp-enabled",
        "yes",
    ];
    let mut redis = start_redis_in(&redis_dir, &redis_args);
    let mut c = redis.connect();
    write_part1(&mut c, t0);
    // A copy of the directory as it is now: a base holding only a `#TS:` line and an incr
    // file holding part 1 as redis logged each command (the rewrite below turns it into
    // canonical SET/HMSET/PEXPIREAT).
    let redis_part1 = snapshot(&mut c, "redis");
    check_coverage(&redis_part1, "redis", false);
    let part1_dir = tmp.path().join("redis-part1");
    copy_dir(&redis_dir, &part1_dir);

    // Rewrite: the part-1 data goes into a RESP base file.
    let r = call(&mut c, &[b"BGREWRITEAOF"]);
    assert!(
        matches!(&r, R::Simple(s) if s.contains("rewriting")),
        "BGREWRITEAOF: {r:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = match call(&mut c, &[b"INFO", b"persistence"]) {
            R::Bulk(Some(b)) => String::from_utf8(b).unwrap(),
            other => panic!("INFO: {other:?}"),
        };
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            assert!(
                info.contains("aof_last_bgrewrite_status:ok"),
                "rewrite failed:\n{info}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "BGREWRITEAOF did not finish:\n{info}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // A new second, so that redis annotates the part-2 writes with a `#TS:` line.
    let second = now_ms() / 1000;
    while now_ms() / 1000 == second {
        std::thread::sleep(Duration::from_millis(10));
    }
    write_part2(&mut c, t0);
    let from_redis = snapshot(&mut c, "redis");
    check_coverage(&from_redis, "redis", true);
    drop(c);
    shutdown(&mut redis, "redis");

    // The directory holds a RESP base (the rewrite) and the part-2 writes in an incr file.
    let (aof_dir, files) = aof_files(&redis_dir);
    let base: Vec<&String> = files.iter().filter(|f| f.ends_with(".base.aof")).collect();
    let incr: Vec<&String> = files.iter().filter(|f| f.ends_with(".incr.aof")).collect();
    assert!(
        base.len() == 1 && incr.len() == 1,
        "unexpected AOF files: {files:?}"
    );
    assert!(
        !files.iter().any(|f| f.ends_with(".rdb")),
        "RDB base despite preamble off: {files:?}"
    );
    let base_text = std::fs::read(aof_dir.join(base[0])).unwrap();
    assert!(
        base_text.starts_with(b"#TS:") && contains(&base_text, b"*2\r\n$6\r\nSELECT\r\n"),
        "base is not a RESP file with a timestamp annotation"
    );
    assert!(
        base_text.len() > 100_000,
        "base too small: {} bytes",
        base_text.len()
    );
    let incr_text = std::fs::read(aof_dir.join(incr[0])).unwrap();
    assert!(
        incr_text.len() > 500,
        "incr holds {} bytes only",
        incr_text.len()
    );
    assert!(
        contains(&incr_text, b"#TS:"),
        "no timestamp annotation in the incr file"
    );
    let manifest = std::fs::read_to_string(aof_dir.join("appendonly.aof.manifest")).unwrap();
    assert!(
        manifest.contains("type b") && manifest.contains("type i"),
        "manifest:\n{manifest}"
    );

    // Part 1 as logged command by command.
    let (_, files) = aof_files(&part1_dir);
    let incr: Vec<&String> = files.iter().filter(|f| f.ends_with(".incr.aof")).collect();
    assert_eq!(incr.len(), 1, "{files:?}");
    let incr_text = std::fs::read(part1_dir.join("appendonlydir").join(incr[0])).unwrap();
    let base = files
        .iter()
        .find(|f| f.ends_with(".base.aof"))
        .expect("part-1 base");
    let base_text = std::fs::read(part1_dir.join("appendonlydir").join(base)).unwrap();
    assert!(
        base_text.starts_with(b"#TS:"),
        "part-1 base: {}",
        show(&base_text)
    );
    for what in [
        &b"SWAPDB"[..],
        b"FLUSHDB",
        b"MULTI",
        b"RENAME",
        b"KEEPTTL",
        b"PXAT",
        b"PEXPIREAT",
    ] {
        assert!(
            contains(&incr_text, what),
            "redis's part-1 incr file has no {}",
            show(what)
        );
    }
    let fkv1 = Server::start_in(&part1_dir, &["--appendfsync", "always"]);
    assert_loaded(&fkv1, "ferrokv");
    let mut c = fkv1.connect();
    let from_fkv1 = snapshot(&mut c, "ferrokv");
    assert_same(
        "redis part-1 AOF (commands as logged) loaded by ferrokv",
        "redis",
        &redis_part1,
        "ferrokv",
        &from_fkv1,
    );
    drop((c, fkv1));

    // Base (rewrite) + incr.
    let mut fkv = Server::start_in(&redis_dir, &["--appendfsync", "always"]);
    assert_loaded(&fkv, "ferrokv");
    let mut c = fkv.connect();
    let from_fkv = snapshot(&mut c, "ferrokv");
    assert_same(
        "redis AOF dir loaded by ferrokv",
        "redis",
        &from_redis,
        "ferrokv",
        &from_fkv,
    );
    check_coverage(&from_fkv, "ferrokv", true);

    // Round trip: ferrokv appends to redis's incr file, and redis-server loads it again.
    write_part3(&mut c);
    let fkv_after = snapshot(&mut c, "ferrokv");
    drop(c);
    shutdown(&mut fkv, "ferrokv");
    let mut redis = start_redis_in(&redis_dir, &redis_args);
    assert_loaded(&redis, "redis");
    let complaints = redis_aof_complaints(&redis.log_text()).join("\n");
    assert!(
        complaints.is_empty(),
        "redis-server complained:\n{complaints}"
    );
    let mut c = redis.connect();
    let redis_again = snapshot(&mut c, "redis");
    assert_same(
        "redis AOF dir + ferrokv's appends, loaded by redis",
        "ferrokv",
        &fkv_after,
        "redis",
        &redis_again,
    );
    assert!(redis_again.get(6, "p3:h").is_some(), "part 3 missing");
    drop(c);
    shutdown(&mut redis, "redis");
}

#[test]
fn ferrokv_aof_dir_loads_into_redis() {
    if !redis7_available("the AOF interop tests") {
        return;
    }
    let t0 = now_ms();
    let tmp = TempDir::new("interop-f2r");
    let dir = tmp.path();
    let mut fkv = Server::start_in(dir, &["--appendfsync", "always"]);
    let mut c = fkv.connect();
    write_part1(&mut c, t0);
    write_part2(&mut c, t0);
    let from_fkv = snapshot(&mut c, "ferrokv");
    check_coverage(&from_fkv, "ferrokv", true);
    drop(c);
    shutdown(&mut fkv, "ferrokv");

    let (aof_dir, files) = aof_files(dir);
    assert!(
        files.contains(&"appendonly.aof.manifest".to_string()),
        "no manifest: {files:?}"
    );
    let incr_bytes: u64 = files
        .iter()
        .filter(|f| f.ends_with(".incr.aof"))
        .map(|f| std::fs::metadata(aof_dir.join(f)).unwrap().len())
        .sum();
    assert!(
        incr_bytes > 100_000,
        "ferrokv's incr files hold {incr_bytes} bytes only"
    );

    let mut redis = start_redis_in(
        dir,
        &[
            "--appendonly",
            "yes",
            "--appenddirname",
            "appendonlydir",
            "--appendfilename",
            "appendonly.aof",
        ],
    );
    assert_loaded(&redis, "redis");
    let complaints = redis_aof_complaints(&redis.log_text()).join("\n");
    assert!(
        complaints.is_empty(),
        "redis-server complained about ferrokv's AOF:\n{complaints}"
    );
    let mut c = redis.connect();
    let from_redis = snapshot(&mut c, "redis");
    assert_same(
        "ferrokv AOF dir loaded by redis",
        "ferrokv",
        &from_fkv,
        "redis",
        &from_redis,
    );
    check_coverage(&from_redis, "redis", true);

    // Round trip: redis appends (unannotated) to ferrokv's incr file, ferrokv loads it again.
    write_part3(&mut c);
    let redis_after = snapshot(&mut c, "redis");
    drop(c);
    shutdown(&mut redis, "redis");
    let mut fkv = Server::start_in(dir, &["--appendfsync", "always"]);
    assert_loaded(&fkv, "ferrokv");
    let mut c = fkv.connect();
    let fkv_again = snapshot(&mut c, "ferrokv");
    assert_same(
        "ferrokv AOF dir + redis's appends, loaded by ferrokv",
        "redis",
        &redis_after,
        "ferrokv",
        &fkv_again,
    );
    assert!(fkv_again.get(6, "p3:h").is_some(), "part 3 missing");
    drop(c);
    shutdown(&mut fkv, "ferrokv");
}

/// An AOF as Redis 6 wrote it: one file, plain RESP, commands as clients sent them (any
/// case), relative expiries already turned into PEXPIREAT, no annotations.
fn old_style_aof(t0: i64) -> Vec<u8> {
    let cmds: Vec<Vec<Vec<u8>>> = vec![
        a!["SELECT", "0"],
        a!["set", "old:s", "v1"],
        a!["SET", "old:s", "v2"],
        a!["hset", "old:h", "a", "1", "b", b"\x00\xff"],
        a!["HMSET", "old:h", "c", "", "d", "4"],
        a!["hdel", "old:h", "a"],
        a!["SET", "old:ttl", "x"],
        a!["PEXPIREAT", "old:ttl", (t0 + 9_000_000).to_string()],
        a!["SET", "old:past", "x"],
        a!["PEXPIREAT", "old:past", (t0 - 60_000).to_string()],
        a!["SET", "old:fl", "3.5", "KEEPTTL"],
        a!["incrby", "old:n", "41"],
        a!["Incr", "old:n"],
        a!["append", "old:s", "+"],
        a!["MULTI"],
        a!["HSET", "old:tx", "f", "v"],
        a!["SET", "old:tx2", "w"],
        a!["EXEC"],
        a!["DEL", "old:tx2"],
        a!["SELECT", "3"],
        a!["HSET", "old:db3", "f", "v"],
        a!["SET", "old:db3:s", "v"],
        a!["PEXPIREAT", "old:db3:s", (t0 + 8_000_000).to_string()],
        a!["RENAME", "old:db3:s", "old:db3:renamed"],
        a!["SELECT", "0"],
        a!["SET", "old:last", "in db 0 again"],
    ];
    let mut out = Vec::new();
    for cmd in &cmds {
        let refs: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
        out.extend(Client::encode(&refs));
    }
    // A larger part, as a rewrite would have written it.
    for i in 0..100 {
        let mut cmd = a!["HMSET", format!("old:many:{i}")];
        for j in 0..(i % 7 + 1) {
            cmd.push(format!("f{j}").into_bytes());
            cmd.push(format!("{}", i * j).into_bytes());
        }
        let refs: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
        out.extend(Client::encode(&refs));
    }
    out
}

#[test]
fn single_file_aof_loads_like_redis() {
    if !redis7_available("the AOF interop tests") {
        return;
    }
    let t0 = now_ms();
    let aof = old_style_aof(t0);
    let tmp = TempDir::new("interop-old");
    let fdir = tmp.path().join("ferrokv");
    let rdir = tmp.path().join("redis");
    for d in [&fdir, &rdir] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("appendonly.aof"), &aof).unwrap();
    }

    let mut fkv = Server::start_in(&fdir, &["--appendfsync", "always"]);
    assert_loaded(&fkv, "ferrokv");
    let mut c = fkv.connect();
    let from_fkv = snapshot(&mut c, "ferrokv");
    drop(c);
    shutdown(&mut fkv, "ferrokv");

    let mut redis = start_redis_in(&rdir, &["--appendonly", "yes"]);
    assert_loaded(&redis, "redis");
    let mut c = redis.connect();
    let from_redis = snapshot(&mut c, "redis");
    drop(c);
    shutdown(&mut redis, "redis");

    assert_same(
        "old single-file AOF",
        "redis",
        &from_redis,
        "ferrokv",
        &from_fkv,
    );
    assert_eq!(from_fkv.key_count(), 109, "keys loaded from the old AOF");
    assert!(from_fkv.get(0, "old:past").is_none(), "expired key loaded");
    assert!(
        from_fkv
            .get(0, "old:ttl")
            .is_some_and(|e| e.expire_at == t0 + 9_000_000),
        "old:ttl"
    );
    assert_eq!(
        from_fkv.get(0, "old:s").map(|e| e.value.clone()),
        Some(Value::Str(b"v2+".to_vec()))
    );

    // ferrokv moved the file into a Redis 7 directory, which redis-server loads too.
    assert!(
        !fdir.join("appendonly.aof").exists(),
        "single file left in place"
    );
    let (_, files) = aof_files(&fdir);
    assert!(
        files.contains(&"appendonly.aof.manifest".to_string()),
        "no manifest: {files:?}"
    );
    let mut redis = start_redis_in(&fdir, &["--appendonly", "yes"]);
    assert_loaded(&redis, "redis");
    let complaints = redis_aof_complaints(&redis.log_text()).join("\n");
    assert!(
        complaints.is_empty(),
        "redis-server complained about the upgraded dir:\n{complaints}"
    );
    let mut c = redis.connect();
    let again = snapshot(&mut c, "redis");
    assert_same(
        "single file upgraded by ferrokv, loaded by redis",
        "ferrokv",
        &from_fkv,
        "redis",
        &again,
    );
    drop(c);
    shutdown(&mut redis, "redis");
}

/// Has redis-server write `dir/appendonlydir` with an RDB base (its default preamble) and
/// one key in the incr file; three keys in all.
fn write_rdb_preamble_dir(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut redis = start_redis_in(
        dir,
        &["--appendonly", "yes", "--aof-use-rdb-preamble", "yes"],
    );
    let mut c = redis.connect();
    Batch::default()
        .push(a!["HSET", "h", "f", "v"])
        .push(a!["SET", "s", "in the rdb base"])
        .run(&mut c);
    assert!(matches!(call(&mut c, &[b"BGREWRITEAOF"]), R::Simple(_)));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !listing(&dir.join("appendonlydir"))
        .iter()
        .any(|f| f.ends_with(".base.rdb"))
    {
        assert!(Instant::now() < deadline, "no RDB base after BGREWRITEAOF");
        std::thread::sleep(Duration::from_millis(20));
    }
    let rewrite_done = |c: &mut Client| match call(c, &[b"INFO", b"persistence"]) {
        R::Bulk(Some(b)) => contains(&b, b"aof_rewrite_in_progress:0"),
        other => panic!("INFO: {other:?}"),
    };
    while !rewrite_done(&mut c) {
        assert!(Instant::now() < deadline, "BGREWRITEAOF did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    Batch::default()
        .push(a!["SET", "t", "in the incr file"])
        .run(&mut c);
    drop(c);
    shutdown(&mut redis, "redis");
}

/// Checks that ferrokv serves the three keys `write_rdb_preamble_dir` wrote.
fn assert_preamble_keys(c: &mut Client) {
    assert_eq!(int(call(c, &[b"DBSIZE"])), 3);
    assert_eq!(
        call(c, &[b"HGET", b"h", b"f"]),
        R::Bulk(Some(b"v".to_vec()))
    );
    assert_eq!(
        call(c, &[b"GET", b"s"]),
        R::Bulk(Some(b"in the rdb base".to_vec()))
    );
    assert_eq!(
        call(c, &[b"GET", b"t"]),
        R::Bulk(Some(b"in the incr file".to_vec()))
    );
}

/// A directory whose base is an RDB file (redis-server's default, `aof-use-rdb-preamble
/// yes`) loads: the base's keys and the incr file's after them. The RDB base is not
/// changed by loading it.
#[test]
fn rdb_preamble_base_loads() {
    if !redis7_available("the AOF interop tests") {
        return;
    }
    let tmp = TempDir::new("interop-rdb");
    let dir = tmp.path();
    write_rdb_preamble_dir(dir);
    let aof_dir = dir.join("appendonlydir");
    let base = listing(&aof_dir)
        .into_iter()
        .find(|f| f.ends_with(".base.rdb"))
        .expect("an RDB base");
    let before = std::fs::read(aof_dir.join(&base)).unwrap();
    let mut f = Server::start_in(dir, &[]);
    assert_preamble_keys(&mut f.connect());
    assert!(
        f.log_text().contains(".base.rdb"),
        "the log does not name the RDB base it loaded:\n{}",
        f.log_text()
    );
    assert_eq!(std::fs::read(aof_dir.join(&base)).unwrap(), before);
    // A write after the load lands in the incr file and survives a kill -9.
    assert_eq!(
        call(&mut f.connect(), &[b"SET", b"u", b"after"]),
        R::Simple("OK".into())
    );
    f.kill9();
    let mut f = Server::start_in(dir, &[]);
    let mut c = f.connect();
    assert_eq!(int(call(&mut c, &[b"DBSIZE"])), 4);
    assert_eq!(
        call(&mut c, &[b"GET", b"u"]),
        R::Bulk(Some(b"after".to_vec()))
    );
    f.kill9();
}

/// Commands logged while a key was alive must replay even if its TTL has passed by load
/// time: Redis expires nothing while loading, so e.g. `SET k v PX 300`, `COPY k k2`,
/// `PERSIST k2` leaves k2 alive after a restart a second later.
#[test]

fn keys_expired_since_written_replay_like_redis() {
    if !redis7_available("the AOF interop tests") {
        return;
    }
    let tmp = TempDir::new("interop-exp");
    let dir = tmp.path();
    let mut redis = start_redis_in(
        dir,
        &[
            "--appendonly",
            "yes",
            "--aof-use-rdb-preamble",
            "no",
            "--appendfsync",
            "always",
        ],
    );
    let mut c = redis.connect();
    let ttl_ms = 300;
    let px = ttl_ms.to_string();
    let start = Instant::now();
    let mut b = Batch::default();
    for (key, then) in [
        ("copy", a!["COPY", "copy", "copy:dst"]),
        ("copydb", a!["COPY", "copydb", "copydb", "DB", "2"]),
        ("rename", a!["RENAME", "rename", "rename:dst"]),
        ("append", a!["APPEND", "append", "+more"]),
        ("incr", a!["INCR", "incr"]),
        ("keepttl", a!["SET", "keepttl", "new", "KEEPTTL"]),
        ("persist", a!["GET", "persist"]),
    ] {
        b.push(a!["SET", key, "10", "PX", px]);
        b.push(then);
    }
    b.push(a!["SET", "move", "v", "PX", px]);
    b.push(a!["MOVE", "move", "1"]);
    b.push(a!["HSET", "hash", "f", "v"]);
    b.push(a!["PEXPIRE", "hash", px]);
    b.push(a!["HSET", "hash", "g", "w"]);
    for key in [
        "copy:dst",
        "rename:dst",
        "append",
        "incr",
        "keepttl",
        "persist",
        "hash",
    ] {
        b.push(a!["PERSIST", key]);
    }
    b.push(a!["SELECT", "1"]);
    b.push(a!["PERSIST", "move"]);
    b.push(a!["SELECT", "2"]);
    b.push(a!["PERSIST", "copydb"]);
    b.push(a!["SELECT", "0"]);
    b.run(&mut c);
    assert!(
        start.elapsed() < Duration::from_millis(ttl_ms / 2),
        "too slow to test expiry"
    );
    std::thread::sleep(Duration::from_millis(ttl_ms + 200));
    let from_redis = snapshot(&mut c, "redis");
    for (db, k) in [
        (0, "copy:dst"),
        (1, "move"),
        (2, "copydb"),
        (0, "hash"),
        (0, "incr"),
    ] {
        assert!(
            from_redis.get(db, k).is_some_and(|e| e.expire_at == -1),
            "redis: {k} in db {db}"
        );
    }
    drop(c);
    shutdown(&mut redis, "redis");
    let fkv = Server::start_in(dir, &["--appendfsync", "always"]);
    assert_loaded(&fkv, "ferrokv");
    let from_fkv = snapshot(&mut fkv.connect(), "ferrokv");
    assert_same(
        "keys expired since they were written",
        "redis",
        &from_redis,
        "ferrokv",
        &from_fkv,
    );
}

/// A Redis 5/6 single-file AOF with an RDB preamble (their default): redis-server 7 and
/// ferrokv both load it (the RDB part, then the AOF records after it), and `ferrokv
/// --check-aof --fix` must not "repair" it by cutting the RDB part away.
#[test]

fn rdb_preamble_single_file_loads_and_is_not_cut() {
    if !redis7_available("the AOF interop tests") {
        return;
    }
    let tmp = TempDir::new("interop-rdb1");
    let src = tmp.path().join("redis7");
    write_rdb_preamble_dir(&src);
    let aof_dir = src.join("appendonlydir");
    let files = listing(&aof_dir);
    let mut old = Vec::new();
    for suffix in [".base.rdb", ".incr.aof"] {
        let f = files.iter().find(|f| f.ends_with(suffix)).expect(suffix);
        old.extend(std::fs::read(aof_dir.join(f)).unwrap());
    }
    assert!(old.starts_with(b"REDIS"));
    // redis-server reads it: 3 keys.
    let rdir = tmp.path().join("redis-reads");
    std::fs::create_dir_all(&rdir).unwrap();
    std::fs::write(rdir.join("appendonly.aof"), &old).unwrap();
    let mut redis = start_redis_in(&rdir, &["--appendonly", "yes"]);
    assert_eq!(
        int(call(&mut redis.connect(), &[b"DBSIZE"])),
        3,
        "redis-server read the old file"
    );
    shutdown(&mut redis, "redis");

    let fdir = tmp.path().join("ferrokv");
    std::fs::create_dir_all(&fdir).unwrap();
    std::fs::write(fdir.join("appendonly.aof"), &old).unwrap();
    {
        // The RDB preamble, then the AOF records after it, as redis-server read them.
        let mut f = Server::start_in(&fdir, &[]);
        assert_preamble_keys(&mut f.connect());
        f.kill9();
    }
    // Whether or not ferrokv moved it into appendonlydir, the fix tool must leave it whole.
    let moved = fdir.join("appendonlydir").join("appendonly.aof");
    let path = if moved.exists() {
        moved
    } else {
        fdir.join("appendonly.aof")
    };
    let out = std::process::Command::new(common::ferrokv_bin())
        .args(["--check-aof", "--fix", path.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        old,
        "--check-aof --fix changed the RDB-preamble AOF; it said:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
