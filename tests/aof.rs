//! Persistence through the append-only file, against the real binary: every write command
//! is replayed to exactly the state it left (values, types and absolute expiry times, in
//! every database) after kill -9, SHUTDOWN and SIGTERM; expiries are logged as absolute
//! times (a 100 s TTL restarted after 3 s has about 97 s left, a TTL that ends while the
//! server is down is gone, a key that expired while running had its DEL logged); a torn
//! tail cut at every byte offset of the last batch (a MULTI/EXEC) is cut off with a
//! warning and never leaves half a transaction; a flipped byte anywhere in a middle batch
//! (two flips per byte) makes startup refuse, naming the file and the batch's offset, and
//! `--check-aof --fix` repairs it (keeping a `.bak`); `aof-load-truncated no` refuses a torn
//! tail; an empty incr file, a data directory that does not exist yet and a manifest naming
//! a missing base file are handled.
//!
//! Every run uses `--appendfsync always` unless it tests the shutdown path, so each
//! acknowledged write is in the file before the process is killed.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Client, Server, TempDir, now_ms};

/// Databases the snapshot walks (ferrokv's default `databases 16`).
const DBS: usize = 16;
const ALWAYS: &[&str] = &["--appendfsync", "always"];

// ---------------------------------------------------------------------------------------
// Helpers: RESP decoding, snapshots, AOF file layout, processes that must fail to start.
// ---------------------------------------------------------------------------------------

/// Position just after the CRLF that ends the line starting at `p`.
fn line_end(b: &[u8], p: usize) -> (usize, usize) {
    let nl = b[p..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or_else(|| panic!("no CRLF in {:?}", String::from_utf8_lossy(b)));
    (p + nl, p + nl + 2)
}

/// Decodes an integer reply (`:N`).
fn int(reply: &[u8]) -> i64 {
    assert_eq!(
        reply[0],
        b':',
        "not an integer: {:?}",
        String::from_utf8_lossy(reply)
    );
    let (e, _) = line_end(reply, 0);
    std::str::from_utf8(&reply[1..e]).unwrap().parse().unwrap()
}

/// Decodes a bulk string at `p`: (value, position after it).
fn bulk_at(reply: &[u8], p: usize) -> (Option<Vec<u8>>, usize) {
    assert_eq!(
        reply[p],
        b'$',
        "not a bulk: {:?}",
        String::from_utf8_lossy(reply)
    );
    let (e, after) = line_end(reply, p);
    let n: i64 = std::str::from_utf8(&reply[p + 1..e])
        .unwrap()
        .parse()
        .unwrap();
    if n < 0 {
        return (None, after);
    }
    let n = n as usize;
    (Some(reply[after..after + n].to_vec()), after + n + 2)
}

/// Decodes an array of bulk strings (`*N` then N bulks).
fn bulks(reply: &[u8]) -> Vec<Vec<u8>> {
    assert_eq!(
        reply[0],
        b'*',
        "not an array: {:?}",
        String::from_utf8_lossy(reply)
    );
    let (e, mut p) = line_end(reply, 0);
    let n: usize = std::str::from_utf8(&reply[1..e]).unwrap().parse().unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let (v, next) = bulk_at(reply, p);
        out.push(v.expect("nil inside array"));
        p = next;
    }
    assert_eq!(p, reply.len(), "trailing bytes in array reply");
    out
}

fn b(s: &str) -> &[u8] {
    s.as_bytes()
}

/// What one key holds: type, value (string bytes, or sorted field/value pairs of a hash),
/// absolute expiry (PEXPIRETIME, -1 for none) and PTTL at snapshot time.
#[derive(Debug, Clone)]
struct KeyState {
    kind: String,
    value: Vec<Vec<u8>>,
    expire_at: i64,
    pttl: i64,
}

/// The whole dataset: (db, key) -> state, plus when it was taken.
#[derive(Debug, Clone)]
struct Snapshot {
    keys: BTreeMap<(usize, Vec<u8>), KeyState>,
    taken_ms: i64,
}

impl Snapshot {
    fn get(&self, db: usize, key: &str) -> Option<&KeyState> {
        self.keys.get(&(db, key.as_bytes().to_vec()))
    }
}

/// Reads every key of every database (the client is left in db 0).
fn snapshot(c: &mut Client) -> Snapshot {
    let taken_ms = now_ms();
    let mut keys = BTreeMap::new();
    for db in 0..DBS {
        assert_eq!(c.cmd(&format!("SELECT {db}")), "+OK\r\n");
        let mut names = bulks(&c.cmd_bytes(&[b"KEYS", b"*"]));
        names.sort();
        for k in names {
            let kind = String::from_utf8(c.cmd_bytes(&[b"TYPE", &k])).unwrap();
            let value = match kind.as_str() {
                "+string\r\n" => vec![bulk_at(&c.cmd_bytes(&[b"GET", &k]), 0).0.unwrap()],
                "+hash\r\n" => {
                    let flat = bulks(&c.cmd_bytes(&[b"HGETALL", &k]));
                    let mut pairs: Vec<Vec<u8>> = flat
                        .chunks(2)
                        .map(|p| [p[0].clone(), b"=".to_vec(), p[1].clone()].concat())
                        .collect();
                    pairs.sort();
                    pairs
                }
                other => panic!("unexpected type {other:?} of key {k:?}"),
            };
            let expire_at = int(&c.cmd_bytes(&[b"PEXPIRETIME", &k]));
            let pttl = int(&c.cmd_bytes(&[b"PTTL", &k]));
            keys.insert(
                (db, k),
                KeyState {
                    kind,
                    value,
                    expire_at,
                    pttl,
                },
            );
        }
    }
    assert_eq!(c.cmd("SELECT 0"), "+OK\r\n");
    Snapshot { keys, taken_ms }
}

/// Asserts two snapshots hold the same data: same keys, types, values and absolute
/// expiry times; each PTTL went down by about the time between the snapshots.
fn assert_same(before: &Snapshot, after: &Snapshot, what: &str) {
    let show = |s: &Snapshot| {
        s.keys
            .iter()
            .map(|((db, k), v)| format!("{db}:{} {:?}", String::from_utf8_lossy(k), v))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let kb: Vec<_> = before.keys.keys().collect();
    let ka: Vec<_> = after.keys.keys().collect();
    assert_eq!(
        kb,
        ka,
        "{what}: different key sets\nbefore:\n{}\nafter:\n{}",
        show(before),
        show(after)
    );
    let elapsed = after.taken_ms - before.taken_ms;
    for ((db, k), x) in &before.keys {
        let y = &after.keys[&(*db, k.clone())];
        let name = format!("{what}: db {db} key {}", String::from_utf8_lossy(k));
        assert_eq!(x.kind, y.kind, "{name}: type");
        assert_eq!(x.value, y.value, "{name}: value");
        assert_eq!(x.expire_at, y.expire_at, "{name}: PEXPIRETIME");
        if x.pttl < 0 {
            assert_eq!(x.pttl, y.pttl, "{name}: PTTL");
        } else {
            // The TTL kept running while the server was down, and no more than that.
            assert!(
                y.pttl <= x.pttl && y.pttl >= x.pttl - elapsed - 1000,
                "{name}: PTTL {} before, {} after, {elapsed} ms apart",
                x.pttl,
                y.pttl
            );
        }
    }
}

/// Sends `line` and asserts the reply. `want` is the reply without its final CRLF.
fn t(c: &mut Client, line: &str, want: &str) {
    let got = c.cmd(line);
    assert_eq!(got, format!("{want}\r\n"), "reply to {line:?}");
}

fn aof_dir(dir: &Path) -> PathBuf {
    dir.join("appendonlydir")
}

fn incr_path(dir: &Path) -> PathBuf {
    aof_dir(dir).join("appendonly.aof.1.incr.aof")
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

/// One `#crc32` batch of an incr file: where it starts, where its body starts and ends.
#[derive(Debug, Clone, Copy)]
struct Batch {
    start: usize,
    body: usize,
    end: usize,
}

/// Splits an incr file into its batches; panics on anything but back-to-back batches.
fn batches(data: &[u8]) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut p = 0;
    while p < data.len() {
        assert!(
            data[p..].starts_with(b"#crc32 "),
            "no batch annotation at offset {p}: {:?}",
            String::from_utf8_lossy(&data[p..])
        );
        let (e, body) = line_end(data, p);
        let line = std::str::from_utf8(&data[p..e]).unwrap();
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "annotation {line:?}");
        assert_eq!(parts[1].len(), 8, "annotation {line:?}");
        let len: usize = parts[2].parse().unwrap();
        assert!(body + len <= data.len(), "batch at {p} runs past the end");
        out.push(Batch {
            start: p,
            body,
            end: body + len,
        });
        p = body + len;
    }
    out
}

/// True if `data` holds the RESP record made of `args` (command name matched in any case).
fn has_record(data: &[u8], args: &[&str]) -> bool {
    let enc = Client::encode(&args.iter().map(|a| a.as_bytes()).collect::<Vec<_>>());
    let lower = |v: &[u8]| v.to_ascii_lowercase();
    lower(data)
        .windows(enc.len())
        .any(|w| w == lower(&enc).as_slice())
}

/// Copies the files of `from` (one level of subdirectories) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

/// Runs ferrokv on `dir` expecting it to refuse to start: (exit code, everything it
/// printed). Panics if it is still running after 5 s (it started when it should not).
fn start_must_fail(dir: &Path, extra: &[&str]) -> (i32, String) {
    // No TCP listener (`port 0`): a process that fails to start never holds a port another
    // test's server was given.
    let mut args = vec!["--port", "0", "--dir", dir.to_str().unwrap(), "--save", ""];
    args.extend_from_slice(extra);
    let mut child = Command::new(common::ferrokv_bin())
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let mut out = String::new();
            let _ = child.stdout.take().unwrap().read_to_string(&mut out);
            panic!(
                "ferrokv kept running on {}; it printed:\n{out}",
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    (status.code().unwrap_or(-1), out)
}

/// Runs `ferrokv --check-aof [args]`: (exit code, stdout + stderr).
fn check_aof(args: &[&str]) -> (i32, String) {
    let out = Command::new(common::ferrokv_bin())
        .arg("--check-aof")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// A server on `dir` whose data is built by `steps`, each step in its own round trips (so
/// its own batch). Returns the server, the incr file's length and a snapshot after each step.
fn build_in_batches(dir: &Path, steps: &[&[&str]]) -> (Server, Vec<u64>, Vec<Snapshot>) {
    let s = Server::start_in(dir, ALWAYS);
    let mut c = s.connect();
    let mut lens = Vec::new();
    let mut snaps = Vec::new();
    for step in steps {
        for line in *step {
            let r = c.cmd(line);
            assert!(!r.starts_with('-'), "{line}: {r}");
        }
        lens.push(file_len(&incr_path(dir)));
        snaps.push(snapshot(&mut c));
    }
    (s, lens, snaps)
}

// ---------------------------------------------------------------------------------------
// 1. Replay of every write command.
// ---------------------------------------------------------------------------------------

/// Runs one write of every kind (and the option variants), leaving data in several
/// databases. Every reply is checked, so the state is the one intended.
fn every_write_command(c: &mut Client) {
    let now = now_ms();
    let (at_s, at_ms) = (now / 1000 + 1000, now + 900_000);
    // Data that FLUSHALL / FLUSHDB must wipe: it would reappear if they were not replayed.
    t(c, "SELECT 5", "+OK");
    t(c, "SET gone1 x", "+OK");
    t(c, "HSET gone2 f v", ":1");
    t(c, "SELECT 0", "+OK");
    t(c, "SET gone3 x EX 1000", "+OK");
    t(c, "FLUSHALL", "+OK");

    // Hashes.
    t(c, "HSET h a 1 b 2", ":2");
    t(c, "HSET h a 1", ":0");
    t(c, "HSETNX h a 9", ":0");
    t(c, "HSETNX h c 3", ":1");
    t(c, "HMSET h2 x 1 y 2", "+OK");
    t(c, "HDEL h b", ":1");
    t(c, "HDEL h zz", ":0");
    t(c, "HDEL h2 x y", ":2"); // The last field: the key goes away.
    t(c, "HINCRBY h a 5", ":6");
    t(c, "HINCRBY h n -7", ":-7");
    t(c, "HINCRBYFLOAT h f 1.5", "$3\r\n1.5");
    t(c, "HINCRBYFLOAT h f 0.25", "$4\r\n1.75");
    t(c, "HINCRBYFLOAT h g 3.0e2", "$3\r\n300");

    // SET and its options.
    t(c, "SET s1 v NX", "+OK");
    t(c, "SET s1 w NX", "$-1");
    t(c, "SET s1 w XX GET", "$1\r\nv");
    t(c, "SET nx1 v XX", "$-1");
    t(c, "SET newget v GET", "$-1");
    t(c, "SET s2 v EX 100", "+OK");
    t(c, "SET s2 z KEEPTTL", "+OK");
    t(c, "SET s3 v PX 100000", "+OK");
    t(c, &format!("SET s4 v EXAT {at_s}"), "+OK");
    t(c, &format!("SET s5 v PXAT {at_ms}"), "+OK");
    t(c, "SET s6 v EX 100", "+OK");
    t(c, "SET s6 w", "+OK"); // Drops the TTL.
    t(c, "SET past v PXAT 1", "+OK");
    t(c, "GETSET s1 g", "$1\r\nw");
    t(c, "GETSET gs new", "$-1");
    t(c, "SET gd v", "+OK");
    t(c, "GETDEL gd", "$1\r\nv");
    t(c, "GETDEL gd", "$-1");
    t(c, "GETEX s3 EX 200", "$1\r\nv");
    t(c, "GETEX s2 PERSIST", "$1\r\nz");
    t(c, "GETEX s4 PX 300000", "$1\r\nv");
    t(c, &format!("GETEX s1 PXAT {}", at_ms + 1), "$1\r\ng");
    t(c, "SETNX s7 v", ":1");
    t(c, "SETNX s7 w", ":0");
    t(c, "SETEX s8 100 v", "+OK");
    t(c, "PSETEX s9 100000 v", "+OK");
    t(c, "MSET m1 1 m2 2 m3 3", "+OK");
    t(c, "MSETNX m4 4 m5 5", ":1");
    t(c, "MSETNX m5 x m6 6", ":0");

    // Counters and string edits.
    t(c, "INCR n", ":1");
    t(c, "DECR n2", ":-1");
    t(c, "INCRBY n 10", ":11");
    t(c, "DECRBY n 3", ":8");
    t(c, "INCRBYFLOAT fl 1.1", "$3\r\n1.1");
    t(c, "SET fl2 2.5 EX 100", "+OK");
    t(c, "INCRBYFLOAT fl2 0.5", "$1\r\n3"); // Keeps the TTL.
    t(c, "APPEND s7 xyz", ":4");
    t(c, "APPEND app abc", ":3");
    t(c, "SETRANGE s7 6 Q", ":7"); // Pads with a zero byte.
    t(c, "SETRANGE sr 2 ab", ":4");

    // Key space.
    t(c, "DEL m1 nosuchkey", ":1");
    t(c, "DEL nosuchkey", ":0");
    t(c, "UNLINK m2", ":1");
    t(c, "RENAME m3 r1", "+OK");
    t(c, "SET t1 v EX 500", "+OK");
    t(c, "RENAME t1 t2", "+OK"); // The TTL moves along.
    t(c, "RENAMENX m4 r1", ":0");
    t(c, "RENAMENX m4 r2", ":1");
    t(c, "COPY r2 c1", ":1");
    t(c, "COPY s8 c2 DB 2", ":1"); // With its TTL.
    t(c, "COPY h c3 DB 2", ":1");
    t(c, "COPY r1 c1", ":0");
    t(c, "COPY r1 c1 REPLACE", ":1");
    t(c, "MOVE c1 3", ":1");
    t(c, "SET mv v PX 700000", "+OK");
    t(c, "MOVE mv 3", ":1");

    // Expiry commands and their conditions.
    t(c, "HSET e1 f v", ":1");
    t(c, "EXPIRE e1 100 NX", ":1");
    t(c, "EXPIRE e1 50 NX", ":0");
    t(c, "PEXPIRE e1 200000 XX", ":1");
    t(c, "PEXPIRE n 1000 XX", ":0");
    t(c, "EXPIRE e1 300 GT", ":1");
    t(c, "EXPIRE e1 10 GT", ":0");
    t(c, "EXPIRE e1 250 LT", ":1");
    t(c, "SET e2 v", "+OK");
    t(c, &format!("EXPIREAT e2 {at_s}"), ":1");
    t(c, &format!("PEXPIREAT e2 {} LT", at_ms - 5), ":1");
    t(c, &format!("PEXPIREAT e2 {} LT", at_ms + 999_999), ":0");
    t(c, "SET e6 v", "+OK");
    t(c, &format!("EXPIREAT e6 {} GT", at_s + 7), ":0"); // No TTL counts as infinite.
    t(c, &format!("PEXPIREAT e6 {} NX", at_ms + 3), ":1");
    t(c, "SET e3 v", "+OK");
    t(c, "EXPIRE e3 -1", ":1"); // Deletes.
    t(c, "HSET e4 f v", ":1");
    t(c, "PEXPIREAT e4 1000", ":1"); // Deletes.
    t(c, "SET e5 v", "+OK");
    t(c, "EXPIREAT e5 1", ":1"); // Deletes.
    t(c, "SET e7 v EX 100", "+OK");
    t(c, "PEXPIRE e7 0", ":1"); // Deletes.
    t(c, "PERSIST e2", ":1");
    t(c, "PERSIST e2", ":0");

    // Transactions, including SELECT inside one and a command that fails at EXEC.
    t(c, "MULTI", "+OK");
    t(c, "SET tx1 a", "+QUEUED");
    t(c, "HSET txh f v", "+QUEUED");
    t(c, "SELECT 4", "+QUEUED");
    t(c, "SET tx4 v EX 1000", "+QUEUED");
    t(c, "INCR tx4n", "+QUEUED");
    t(c, "EXEC", "*5\r\n+OK\r\n:1\r\n+OK\r\n+OK\r\n:1");
    t(c, "SET in4 v", "+OK"); // Still in db 4 after EXEC.
    t(c, "MULTI", "+OK");
    t(c, "SET txa 1", "+QUEUED");
    t(c, "HINCRBY txa f 1", "+QUEUED");
    t(c, "APPEND txa 2", "+QUEUED");
    t(
        c,
        "EXEC",
        "*3\r\n+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n:2",
    );
    t(c, "MULTI", "+OK");
    t(c, "INCR one", "+QUEUED");
    t(c, "EXEC", "*1\r\n:1");
    t(c, "MULTI", "+OK");
    t(c, "SET notrun v", "+QUEUED");
    t(c, "DISCARD", "+OK");

    // Other databases, FLUSHDB, SWAPDB.
    t(c, "SELECT 1", "+OK");
    t(c, "SET d1 one", "+OK");
    t(c, "HSET d1h a b", ":1");
    t(c, "SELECT 2", "+OK");
    t(c, "SET d2 two EX 800", "+OK");
    t(c, "SELECT 3", "+OK");
    t(c, "SET d3 three", "+OK");
    t(c, "SELECT 6", "+OK");
    t(c, "SET gone6 v", "+OK");
    t(c, "HSET gone6h f v", ":1");
    t(c, "FLUSHDB", "+OK");
    t(c, "SET d6 after", "+OK");
    t(c, "SELECT 7", "+OK");
    t(c, "SET d7 x", "+OK");
    t(c, "SWAPDB 2 3", "+OK");
    t(c, "SWAPDB 1 8", "+OK"); // db 8 was empty: db 1 ends up empty.
    t(c, "SELECT 2", "+OK");
    t(c, "SET after-swap v", "+OK"); // Lands next to d3.
    t(c, "SELECT 0", "+OK");
    // A value with every byte, and an empty one.
    let all: Vec<u8> = (0..=255u8).collect();
    assert_eq!(c.cmd_bytes(&[b"SET", b"bin", &all]), b"+OK\r\n");
    assert_eq!(c.cmd_bytes(&[b"HSET", b"binh", &all, b""]), b":1\r\n");
    assert_eq!(c.cmd_bytes(&[b"SET", b"", b""]), b"+OK\r\n");
}

/// Spot checks that the snapshot holds what `every_write_command` meant to leave, so the
/// replay comparison is not between two empty or wrong datasets.
fn assert_expected_state(s: &Snapshot) {
    let has = |db, k: &str| s.get(db, k).is_some();
    for gone in [
        "gone1", "gone2", "gone3", "gd", "e3", "e4", "e5", "e7", "past", "h2", "m1", "m2", "m3",
        "m4", "nx1", "notrun",
    ] {
        for db in 0..DBS {
            assert!(!has(db, gone), "{gone} in db {db}");
        }
    }
    let val = |db, k: &str| {
        s.get(db, k)
            .unwrap_or_else(|| panic!("{k} missing in db {db}"))
            .value
            .clone()
    };
    let ttl = |db, k: &str| {
        s.get(db, k)
            .unwrap_or_else(|| panic!("{k} missing in db {db}"))
            .expire_at
    };
    assert_eq!(
        val(0, "h"),
        vec![b("a=6"), b("c=3"), b("f=1.75"), b("g=300"), b("n=-7")]
    );
    assert_eq!(val(0, "s7"), vec![b"vxyz\0\0Q".to_vec()]);
    assert_eq!(val(0, "sr"), vec![b"\0\0ab".to_vec()]);
    assert_eq!(val(0, "fl2"), vec![b("3")]);
    assert!(ttl(0, "fl2") > 0, "INCRBYFLOAT dropped the TTL");
    assert_eq!(ttl(0, "s6"), -1);
    assert_eq!(ttl(0, "s2"), -1);
    assert!(ttl(0, "t2") > 0 && ttl(0, "s8") > 0 && ttl(0, "e1") > 0 && ttl(0, "e6") > 0);
    assert_eq!(ttl(3, "c2"), ttl(0, "s8")); // COPY DB 2, then SWAPDB 2 3.
    assert!(ttl(2, "mv") > 0); // MOVE to 3, then SWAPDB 2 3.
    assert_eq!(val(2, "c1"), vec![b("3")]);
    assert_eq!(val(2, "d3"), vec![b("three")]);
    assert!(has(2, "after-swap") && has(3, "c2") && has(3, "c3") && has(3, "d2"));
    assert!(has(8, "d1") && has(8, "d1h") && !has(1, "d1"));
    assert_eq!(val(6, "d6"), vec![b("after")]);
    assert!(!has(6, "gone6") && !has(6, "gone6h"));
    assert!(has(0, "tx1") && has(0, "txh") && has(4, "tx4") && has(4, "tx4n") && has(4, "in4"));
    assert!(ttl(4, "tx4") > 0);
    assert_eq!(val(4, "txa"), vec![b("12")]);
    assert_eq!(val(4, "one"), vec![b("1")]);
    assert_eq!(val(0, "n"), vec![b("8")]);
    assert_eq!(val(0, ""), vec![b("")]);
    assert_eq!(s.get(0, "bin").unwrap().value[0].len(), 256);
    assert!(s.keys.len() > 40, "only {} keys", s.keys.len());
}

#[test]
fn every_write_command_survives_kill9() {
    let dir = TempDir::new("aof-all");
    let mut s = Server::start_in(dir.path(), ALWAYS);
    let mut c = s.connect();
    every_write_command(&mut c);
    let before = snapshot(&mut c);
    assert_expected_state(&before);
    s.kill9();

    // The log holds the canonical forms, not the relative or derived ones.
    let data = std::fs::read(incr_path(dir.path())).unwrap();
    assert!(data.starts_with(b"#crc32 "), "no batch annotation first");
    let first = batches(&data)[0];
    // The first write ran in db 5.
    assert!(data[first.body..].starts_with(b"*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n"));
    let text = String::from_utf8_lossy(&data).to_ascii_lowercase();
    for relative in [
        "$6\r\nexpire\r\n",
        "$7\r\npexpire\r\n",
        "$5\r\nsetex\r\n",
        "$6\r\npsetex\r\n",
        "$11\r\nincrbyfloat\r\n",
        "$12\r\nhincrbyfloat\r\n",
        "$6\r\ngetdel\r\n",
        "$5\r\ngetex\r\n",
    ] {
        assert!(!text.contains(relative), "{relative:?} logged as is");
    }

    let s = Server::start_in(dir.path(), ALWAYS);
    let mut c = s.connect();
    let after = snapshot(&mut c);
    assert_same(&before, &after, "after kill -9");
    // The restarted server keeps logging where it left off.
    t(&mut c, "SET late v", "+OK");
    t(&mut c, "HDEL h a", ":1");
    let before2 = snapshot(&mut c);
    drop(s);
    let s = Server::start_in(dir.path(), ALWAYS);
    let after2 = snapshot(&mut s.connect());
    assert_same(&before2, &after2, "second restart");
    assert!(after2.get(0, "late").is_some());
}

/// Under the default `appendfsync everysec`, SHUTDOWN and SIGTERM flush and sync the
/// last writes before exiting.
#[test]
fn shutdown_and_sigterm_keep_every_write() {
    let dir = TempDir::new("aof-shutdown");
    let mut s = Server::start_in(dir.path(), &[]);
    let mut c = s.connect();
    t(&mut c, "HSET h a 1 b 2", ":2");
    t(&mut c, "SET k v EX 1000", "+OK");
    t(&mut c, "SELECT 3", "+OK");
    t(&mut c, "INCRBY n 41", ":41");
    t(&mut c, "SELECT 0", "+OK");
    let before = snapshot(&mut c);
    assert_eq!(before.keys.len(), 3);
    c.send_raw(b"SHUTDOWN\r\n");
    assert_eq!(s.wait_exit(10), Some(0), "SHUTDOWN; log:\n{}", s.log_text());

    let mut s = Server::start_in(dir.path(), &[]);
    let mut c = s.connect();
    assert_same(&before, &snapshot(&mut c), "after SHUTDOWN");
    t(&mut c, "HINCRBY h a 10", ":11");
    t(&mut c, "PERSIST k", ":1");
    t(&mut c, "SELECT 3", "+OK");
    t(&mut c, "INCR n", ":42");
    t(&mut c, "SELECT 0", "+OK");
    let before = snapshot(&mut c);
    s.signal("-TERM");
    assert_eq!(s.wait_exit(10), Some(0), "SIGTERM; log:\n{}", s.log_text());

    let s = Server::start_in(dir.path(), &[]);
    let after = snapshot(&mut s.connect());
    assert_same(&before, &after, "after SIGTERM");
    assert_eq!(after.get(3, "n").unwrap().value, vec![b("42")]);
    assert_eq!(after.get(0, "k").unwrap().expire_at, -1);
}

// ---------------------------------------------------------------------------------------
// 2. Expiry times across restarts.
// ---------------------------------------------------------------------------------------

#[test]
fn ttls_keep_running_while_the_server_is_down() {
    let dir = TempDir::new("aof-ttl");
    let mut s = Server::start_in(dir.path(), ALWAYS);
    let mut c = s.connect();
    // Keys that expire while the server runs: the active cycle or a lazy GET deletes them.
    t(&mut c, "SET lazy v PX 100", "+OK");
    t(&mut c, "SET active v PX 100", "+OK");
    t(&mut c, "HSET activeh f v", ":1");
    t(&mut c, "PEXPIRE activeh 100", ":1");
    // Relative TTLs of 100 s, set every way there is.
    t(&mut c, "SET k v EX 100", "+OK");
    t(&mut c, "HSET h f v", ":1");
    t(&mut c, "EXPIRE h 100", ":1");
    t(&mut c, "SETEX sx 100 v", "+OK");
    t(&mut c, "PSETEX psx 100000 v", "+OK");
    t(&mut c, "SET g v", "+OK");
    t(&mut c, "GETEX g EX 100", "$1\r\nv");
    t(&mut c, "SET p v", "+OK");
    t(&mut c, "PEXPIRE p 100000", ":1");
    t(&mut c, "SET f 1 PX 100000", "+OK");
    t(&mut c, "INCRBYFLOAT f 1", "$1\r\n2");
    let ttl_keys = ["k", "h", "sx", "psx", "g", "p", "f"];
    std::thread::sleep(Duration::from_millis(150));
    t(&mut c, "GET lazy", "$-1");
    let deadline = Instant::now() + Duration::from_secs(5);
    // DBSIZE does not expire keys itself: it drops only through the active cycle.
    while c.cmd("DBSIZE") != format!(":{}\r\n", ttl_keys.len()) {
        assert!(Instant::now() < deadline, "active expiry did not run");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(2900));
    // One that ends while the server is down.
    t(&mut c, "SET short v PX 300", "+OK");
    assert!(int(&c.cmd_bytes(&[b"PTTL", b"short"])) > 0);
    s.kill9();
    let data = std::fs::read(incr_path(dir.path())).unwrap();
    for k in ["lazy", "active", "activeh"] {
        assert!(
            has_record(&data, &["DEL", k]),
            "no DEL of expired {k} in the AOF"
        );
    }
    assert!(!has_record(&data, &["DEL", "short"]));
    std::thread::sleep(Duration::from_millis(500));

    let s = Server::start_in(dir.path(), ALWAYS);
    let mut c = s.connect();
    for k in ttl_keys {
        let pttl = int(&c.cmd_bytes(&[b"PTTL", b(k)]));
        assert!(
            (95_000..=97_000).contains(&pttl),
            "{k}: PTTL {pttl} after 3 s"
        );
        let ttl = int(&c.cmd_bytes(&[b"TTL", b(k)]));
        assert!((95..=97).contains(&ttl), "{k}: TTL {ttl} after 3 s");
    }
    assert_eq!(c.cmd("GET f"), "$1\r\n2\r\n");
    for k in ["short", "lazy", "active", "activeh"] {
        assert_eq!(c.cmd(&format!("EXISTS {k}")), ":0\r\n", "{k} came back");
    }
    assert_eq!(c.cmd("GET short"), "$-1\r\n");
    assert_eq!(bulks(&c.cmd_bytes(&[b"KEYS", b"*"])).len(), ttl_keys.len());
}

// ---------------------------------------------------------------------------------------
// 3. Torn tail at every byte offset of the last batch.
// ---------------------------------------------------------------------------------------

#[test]
fn torn_tail_at_every_offset_of_the_last_batch() {
    let src = TempDir::new("aof-torn-src");
    let (s, lens, snaps) = build_in_batches(
        src.path(),
        &[
            &["SET a 1"],
            &["HSET h f 1 g 2"],
            &["SET b 2 PX 1000000"],
            &[
                "MULTI",
                "SET c 3",
                "HSET h g 3 x 4",
                "INCR a",
                "SELECT 2",
                "SET d 4",
                "EXEC",
            ],
        ],
    );
    drop(s);
    let path = incr_path(src.path());
    let data = std::fs::read(&path).unwrap();
    let bs = batches(&data);
    assert_eq!(bs.len(), 4, "one batch per round trip");
    let last = *bs.last().unwrap();
    let keep = lens[2] as usize;
    assert_eq!(last.start, keep);
    assert_eq!(last.end, data.len());
    let body = &data[last.body..last.end];
    assert!(
        body.starts_with(b"*1\r\n$5\r\nMULTI\r\n"),
        "{:?}",
        String::from_utf8_lossy(body)
    );
    assert!(body.ends_with(b"*1\r\n$4\r\nEXEC\r\n"));
    let (before, full) = (&snaps[2], &snaps[3]);
    assert_eq!(full.get(0, "a").unwrap().value, vec![b("2")]);
    assert!(full.get(2, "d").is_some());

    let work = TempDir::new("aof-torn");
    let shown = path.file_name().unwrap().to_str().unwrap();
    for cut in keep..=data.len() {
        let dir = work.path().join(format!("cut{cut}"));
        copy_tree(src.path(), &dir);
        let file = incr_path(&dir);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(cut as u64)
            .unwrap();
        let s = Server::start_in(&dir, ALWAYS);
        let mut c = s.connect();
        let got = snapshot(&mut c);
        let log = s.log_text();
        let torn = cut > keep && cut < data.len();
        if torn {
            assert_same(before, &got, &format!("cut at {cut}"));
            assert!(
                log.contains("torn write")
                    && log.contains(shown)
                    && log.contains(&format!("at offset {keep} of {cut} bytes")),
                "cut at {cut}: no torn-tail warning:\n{log}"
            );
            assert_eq!(
                file_len(&file),
                keep as u64,
                "cut at {cut}: file not truncated"
            );
        } else {
            let want = if cut == keep { before } else { full };
            assert_same(want, &got, &format!("cut at {cut}"));
            assert!(
                !log.contains("torn"),
                "cut at {cut}: warned on a whole file:\n{log}"
            );
            assert_eq!(file_len(&file), cut as u64);
        }
        // For one cut in the middle: the cut file takes new writes and replays them after
        // another kill -9 (they were appended at the cut, not behind the torn bytes).
        if cut == keep + (data.len() - keep) / 2 {
            t(&mut c, "SET after-cut v", "+OK");
            let want = snapshot(&mut c);
            drop(s);
            let s = Server::start_in(&dir, ALWAYS);
            let got = snapshot(&mut s.connect());
            assert_same(&want, &got, "write after a cut tail");
            assert!(got.get(0, "after-cut").is_some());
            assert!(!s.log_text().contains("torn"));
        }
        drop(c);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

// ---------------------------------------------------------------------------------------
// 4. A flipped byte in the middle; aof-load-truncated no.
// ---------------------------------------------------------------------------------------

#[test]
fn flipped_byte_in_a_middle_batch_refuses_and_check_aof_fixes_it() {
    let dir = TempDir::new("aof-flip");
    let (s, _lens, snaps) = build_in_batches(
        dir.path(),
        &[
            &["SET a 1"],
            &["HSET h f 1 g 2"],
            &["SET b hello-world"],
            &["INCR a"],
            &["SET c 3"],
        ],
    );
    drop(s);
    let path = incr_path(dir.path());
    let adir = aof_dir(dir.path());
    let adir_s = adir.to_str().unwrap();
    let good = std::fs::read(&path).unwrap();
    let bs = batches(&good);
    assert_eq!(bs.len(), 5);
    // The healthy file checks out, with its counts.
    let (code, out) = check_aof(&[adir_s]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "{}: {} bytes, 5 batches, 6 records: OK",
            path.display(),
            good.len()
        )),
        "{out}"
    );

    let mid = bs[2];
    let want_offset = format!("at offset {}", mid.start);
    // Every byte of the middle batch, from its annotation to its last byte, each flipped
    // two ways (a low bit; the ASCII case bit, which also tests the lowercase-hex rule).
    assert_eq!(&good[mid.body - 2..mid.body], b"\r\n");
    for i in mid.start..mid.end {
        for mask in [0x01u8, 0x20] {
            let mut bad = good.clone();
            bad[i] ^= mask;
            std::fs::write(&path, &bad).unwrap();
            let what = format!(
                "flip {mask:#04x} at {i} ({:?} -> {:?})",
                good[i] as char, bad[i] as char
            );
            let (code, out) = start_must_fail(dir.path(), &[]);
            assert_eq!(code, 1, "{what}: exit code; output:\n{out}");
            assert!(
                out.contains(&path.display().to_string()) && out.contains(&want_offset),
                "{what}: the error does not name the file and {want_offset}:\n{out}"
            );
            assert!(!out.contains("Ready to accept"), "{what}:\n{out}");
            assert_eq!(
                std::fs::read(&path).unwrap(),
                bad,
                "{what}: the file was changed"
            );
            let (code, out) = check_aof(&[adir_s]);
            assert_eq!(code, 1, "{what}: --check-aof exit code:\n{out}");
            assert!(
                out.contains(&format!("corrupt {want_offset}")),
                "{what}:\n{out}"
            );
        }
    }

    // Repair one damaged file (a flip inside the value "hello-world").
    let i = mid.body + (mid.end - mid.body) / 2;
    let mut bad = good.clone();
    bad[i] ^= 0x01;
    std::fs::write(&path, &bad).unwrap();
    let (code, out) = check_aof(&["--fix", adir_s]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("Successfully truncated AOF {}", path.display())),
        "{out}"
    );
    let mut bak = path.clone().into_os_string();
    bak.push(".bak");
    assert_eq!(
        std::fs::read(&bak).unwrap(),
        bad,
        ".bak does not hold the original bytes"
    );
    assert_eq!(std::fs::read(&path).unwrap(), &good[..mid.start]);
    let (code, out) = check_aof(&[adir_s]);
    assert_eq!(code, 0, "after --fix: {out}");
    assert!(out.contains("2 batches, 3 records: OK"), "{out}");

    let s = Server::start_in(dir.path(), ALWAYS);
    assert_same(
        &snaps[1],
        &snapshot(&mut s.connect()),
        "after --check-aof --fix",
    );
    assert!(!s.log_text().contains("torn"), "{}", s.log_text());
}

#[test]
fn torn_tail_with_aof_load_truncated_no_refuses() {
    let dir = TempDir::new("aof-notrunc");
    let (s, lens, snaps) =
        build_in_batches(dir.path(), &[&["SET a 1"], &["HSET h f v"], &["SET b 2"]]);
    drop(s);
    let path = incr_path(dir.path());
    let full = file_len(&path);
    let torn = full - 5;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(torn)
        .unwrap();
    let (code, out) = start_must_fail(dir.path(), &["--aof-load-truncated", "no"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&path.display().to_string())
            && out.contains(&format!("truncated at offset {}", lens[1])),
        "{out}"
    );
    assert_eq!(file_len(&path), torn, "refused, yet the file was cut");
    let (code, out) = check_aof(&[path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("torn tail at offset {}", lens[1])),
        "{out}"
    );
    // The default (aof-load-truncated yes) cuts it and starts.
    let s = Server::start_in(dir.path(), ALWAYS);
    assert_same(&snaps[1], &snapshot(&mut s.connect()), "torn tail cut");
    assert_eq!(file_len(&path), lens[1]);
}

// ---------------------------------------------------------------------------------------
// 5. Empty file, missing directory, missing base file.
// ---------------------------------------------------------------------------------------

#[test]
fn empty_incr_file_starts_empty_and_logs_from_there() {
    let dir = TempDir::new("aof-empty");
    let adir = aof_dir(dir.path());
    std::fs::create_dir_all(&adir).unwrap();
    std::fs::write(
        adir.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    std::fs::write(incr_path(dir.path()), b"").unwrap();
    let (code, out) = check_aof(&[adir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 bytes, 0 batches, 0 records: OK"), "{out}");

    let s = Server::start_in(dir.path(), ALWAYS);
    let mut c = s.connect();
    assert!(snapshot(&mut c).keys.is_empty());
    assert!(!s.log_text().contains("torn"), "{}", s.log_text());
    t(&mut c, "SELECT 2", "+OK");
    t(&mut c, "HSET h f v", ":1");
    let before = snapshot(&mut c);
    drop(s);
    let data = std::fs::read(incr_path(dir.path())).unwrap();
    let first = batches(&data)[0];
    assert!(data[first.body..].starts_with(b"*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n"));
    let s = Server::start_in(dir.path(), ALWAYS);
    let after = snapshot(&mut s.connect());
    assert_same(&before, &after, "after an empty start");
    assert!(after.get(2, "h").is_some());
}

#[test]
fn missing_data_dir_is_created() {
    let root = TempDir::new("aof-nodir");
    let dir = root.path().join("sub").join("dir");
    assert!(!dir.exists());
    let s = Server::start_in(&dir, ALWAYS);
    let mut c = s.connect();
    assert!(snapshot(&mut c).keys.is_empty());
    assert!(aof_dir(&dir).join("appendonly.aof.manifest").is_file());
    t(&mut c, "SET k v", "+OK");
    let before = snapshot(&mut c);
    drop(s);
    let s = Server::start_in(&dir, ALWAYS);
    assert_same(&before, &snapshot(&mut s.connect()), "new dir");
}

#[test]
fn manifest_naming_a_missing_base_refuses() {
    let dir = TempDir::new("aof-nobase");
    let (s, _, _) = build_in_batches(dir.path(), &[&["SET a 1"]]);
    drop(s);
    let adir = aof_dir(dir.path());
    std::fs::write(
        adir.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    let (code, out) = start_must_fail(dir.path(), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("appendonly.aof.1.base.aof") && out.contains("missing"),
        "no clear error:\n{out}"
    );
    let (code, out) = check_aof(&[adir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("appendonly.aof.1.base.aof"), "{out}");
}

/// The AOF accepts back every command the server accepted: a client may send more than
/// 2^20 arguments (Redis allows INT_MAX), and such a command is logged as sent.
#[test]
fn command_with_more_than_a_million_arguments_replays() {
    let dir = TempDir::new("aof-bigargs");
    let mut s = Server::start_in(dir.path(), ALWAYS);
    let mut c = s.connect();
    let n = 600_000;
    let fields: Vec<Vec<u8>> = (0..n).map(|i| format!("f{i}").into_bytes()).collect();
    let mut args: Vec<&[u8]> = vec![b"HSET", b"big"];
    for f in &fields {
        args.push(f);
        args.push(b"v");
    }
    assert_eq!(c.cmd_bytes(&args), format!(":{n}\r\n").into_bytes());
    s.kill9();
    let s = Server::start_in(dir.path(), ALWAYS);
    assert_eq!(s.connect().cmd("HLEN big"), format!(":{n}\r\n"));
}
