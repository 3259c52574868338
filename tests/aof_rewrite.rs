//! AOF rewrite (compaction without fork) against the real binary, under load and under
//! crashes. Every server runs with `appendfsync always`, so an acknowledged write is on
//! disk and kill -9 may lose nothing.
//!
//! * `rewrite_under_load_is_an_exact_snapshot`: 120k keys (strings, hashes, TTLs, four
//!   databases, thousands of keys whose TTL runs out during the rewrite), BGREWRITEAOF
//!   while two connections keep writing (HSET, HDEL, DEL, UNLINK, EXPIRE, PEXPIREAT in the
//!   past, SET/SETEX/GETSET/MSET/MSETNX, INCR/INCRBYFLOAT/HINCRBY*, APPEND, SETRANGE,
//!   GETDEL, GETEX, PERSIST, RENAME(NX), COPY DB, MOVE, MULTI/EXEC with SELECT, and reads
//!   that expire keys lazily). The new base is parsed (checksums included) and must hold
//!   exactly the dataset of the moment the rewrite started (copy-before-write); the
//!   manifest must name the new base and incr only, old files must be gone, and the live
//!   dataset must survive kill -9 + restart and DEBUG RELOAD (digest, and key by key).
//! * `crash_at_*`: the server aborts (`FERROKV_REWRITE_CRASH`) at each step of a rewrite;
//!   the files on disk must be in the state that step implies, a restart must load the
//!   same digest, accept writes, and rewrite again successfully.
//! * `kill9_at_random_moments_during_rewrite_keeps_acked_writes`: kill -9 after a random
//!   number of keys written by rewrites running under concurrent writers; every
//!   acknowledged write must be there after the restart, and nothing else may change.
//! * `auto_rewrite_triggers_and_survives_restart`: auto-aof-rewrite-min-size/percentage.
//! * `flushall_and_swapdb_during_rewrite_restart_it`: the rewrite is abandoned and started
//!   again, and its base holds the data after the FLUSHALL / SWAPDB, not before.
//! * `replay_matches_live_after_ttls_ran_out`: regression for what the load test found:
//!   COPY / MOVE / RANDOMKEY on keys whose TTL runs out before the restart.
//!
//! `AOF_REWRITE_SEED=<n>` repeats the random choices of a run (printed with --nocapture).

mod common;

use common::{Client, Rng, Server, TempDir, ferrokv_bin, now_ms, reply_len, which};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const MANIFEST: &str = "appendonly.aof.manifest";

// ---------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------

fn args_with(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "--enable-debug-command".into(),
        "yes".into(),
        "--appendonly".into(),
        "yes".into(),
        "--appendfsync".into(),
        "always".into(),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// ferrokv on `dir` with AOF on, `appendfsync always` and DEBUG enabled.
fn start(dir: &Path, extra: &[&str]) -> Server {
    let a = args_with(extra);
    let a: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
    Server::start_in(dir, &a)
}

/// Like `start`, with `FERROKV_REWRITE_CRASH=<point>` in the environment (through
/// `env`, which execs the server, so the pid and kill9 are the server's).
fn start_crashing(dir: &Path, point: &str) -> Server {
    let env = which("env").expect("env(1) in PATH");
    let mut last = String::new();
    for _ in 0..5 {
        let port = common::free_port();
        let mut a: Vec<String> = vec![
            format!("FERROKV_REWRITE_CRASH={point}"),
            ferrokv_bin().into(),
            "--port".into(),
            port.to_string(),
            "--dir".into(),
            dir.to_str().unwrap().into(),
            "--save".into(),
            "".into(),
        ];
        a.extend(args_with(&[]));
        match Server::spawn(&env, &a, port) {
            Ok(s) => return s,
            Err(e) => last = e,
        }
    }
    panic!("ferrokv did not start: {last}");
}

fn info_field(c: &mut Client, name: &str) -> String {
    field(&c.cmd("INFO persistence"), name)
}

/// The value of `name` in an INFO reply.
fn field(info: &str, name: &str) -> String {
    let key = format!("{name}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&key))
        .unwrap_or_else(|| panic!("no {name} in INFO: {info}"))
        .trim()
        .to_string()
}

fn info_u64(c: &mut Client, name: &str) -> u64 {
    info_field(c, name).parse().unwrap()
}

fn digest(c: &mut Client) -> String {
    let r = c.cmd("DEBUG DIGEST");
    let hex = r
        .strip_prefix("$40\r\n")
        .and_then(|s| s.strip_suffix("\r\n"))
        .unwrap_or_else(|| panic!("bad DEBUG DIGEST reply {r:?}"));
    hex.to_string()
}

fn ok(r: String) {
    assert_eq!(r, "+OK\r\n");
}

fn enc(args: &[&[u8]]) -> Vec<u8> {
    Client::encode(args)
}

fn encs(args: &[&str]) -> Vec<u8> {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    Client::encode(&a)
}

/// Sends `cmds` on a fresh connection from a writer thread while this thread reads the
/// replies (so neither side can stall the other); returns the replies.
fn pipeline(port: u16, cmds: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut w = s.try_clone().unwrap();
    std::thread::scope(|sc| {
        sc.spawn(move || {
            let mut buf = Vec::with_capacity(1 << 20);
            for c in cmds {
                buf.extend_from_slice(c);
                if buf.len() >= 1 << 20 {
                    w.write_all(&buf).unwrap();
                    buf.clear();
                }
            }
            w.write_all(&buf).unwrap();
        });
        let mut out = Vec::with_capacity(cmds.len());
        let mut buf: Vec<u8> = Vec::new();
        let mut pos = 0;
        let mut tmp = vec![0u8; 1 << 16];
        while out.len() < cmds.len() {
            match reply_len(&buf[pos..]) {
                Some(n) => {
                    out.push(buf[pos..pos + n].to_vec());
                    pos += n;
                }
                None => {
                    buf.drain(..pos);
                    pos = 0;
                    let n = s.read(&mut tmp).unwrap();
                    assert!(n > 0, "server closed the pipeline");
                    buf.extend_from_slice(&tmp[..n]);
                }
            }
        }
        out
    })
}

/// `pipeline`, asserting that no reply is an error.
fn pipeline_ok(port: u16, cmds: &[Vec<u8>]) {
    for (i, r) in pipeline(port, cmds).iter().enumerate() {
        assert!(
            r[0] != b'-',
            "command {i} {:?} failed: {:?}",
            String::from_utf8_lossy(&cmds[i]),
            String::from_utf8_lossy(r)
        );
    }
}

fn seed() -> u64 {
    let s = std::env::var("AOF_REWRITE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("seed {s} (AOF_REWRITE_SEED={s} to repeat)");
    s
}

// ---------------------------------------------------------------------------------------
// Dataset model, and a reader for the AOF files
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Val {
    Str(Vec<u8>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
}

/// (db, key) -> (value, absolute expiry in ms or 0).
type Data = HashMap<(usize, Vec<u8>), (Val, i64)>;

const DBS: usize = 4;

/// A deterministic dataset of `n` keys over `DBS` databases: strings (some numeric) and
/// hashes of 1..8 fields; one key in ten expires at `exp_at`.
fn gen_dataset(n: usize, exp_at: i64) -> Data {
    let mut d = Data::new();
    for i in 0..n {
        let db = i % DBS;
        let key = format!("k:{i}").into_bytes();
        let val = if i % 3 == 0 {
            if i % 9 == 0 {
                Val::Str(i.to_string().into_bytes())
            } else {
                Val::Str(format!("value-{i}-{}", "x".repeat(i % 40)).into_bytes())
            }
        } else {
            let mut h = BTreeMap::new();
            for j in 0..(i % 8 + 1) {
                h.insert(
                    format!("f{j}").into_bytes(),
                    format!("{i}:{j}").into_bytes(),
                );
            }
            Val::Hash(h)
        };
        let exp = if i % 10 == 1 { exp_at } else { 0 };
        d.insert((db, key), (val, exp));
    }
    d
}

/// Commands that create `data` (ordered by database).
fn load_cmds(data: &Data) -> Vec<Vec<u8>> {
    let mut keys: Vec<&(usize, Vec<u8>)> = data.keys().collect();
    keys.sort();
    let mut out = Vec::new();
    let mut cur = usize::MAX;
    for k in keys {
        let (db, key) = k;
        if *db != cur {
            out.push(encs(&["SELECT", &db.to_string()]));
            cur = *db;
        }
        let (v, exp) = &data[k];
        match v {
            Val::Str(s) => out.push(enc(&[b"SET", key, s])),
            Val::Hash(h) => {
                let mut a: Vec<&[u8]> = vec![b"HSET", key];
                for (f, x) in h {
                    a.push(f);
                    a.push(x);
                }
                out.push(enc(&a));
            }
        }
        if *exp != 0 {
            out.push(enc(&[b"PEXPIREAT", key, exp.to_string().as_bytes()]));
        }
    }
    out.push(encs(&["SELECT", "0"]));
    out
}

fn load(port: u16, data: &Data) {
    pipeline_ok(port, &load_cmds(data));
}

fn aof_dir(dir: &Path) -> PathBuf {
    dir.join("appendonlydir")
}

/// (name, seq, type) of every file line of the manifest.
fn manifest(dir: &Path) -> Vec<(String, u64, char)> {
    let text = std::fs::read_to_string(aof_dir(dir).join(MANIFEST)).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            assert!(
                w.len() == 6 && w[0] == "file" && w[2] == "seq" && w[4] == "type",
                "manifest line {l:?}"
            );
            (
                w[1].to_string(),
                w[3].parse().unwrap(),
                w[5].chars().next().unwrap(),
            )
        })
        .collect()
}

fn base_of(m: &[(String, u64, char)]) -> Option<String> {
    let b: Vec<&String> = m.iter().filter(|f| f.2 == 'b').map(|f| &f.0).collect();
    assert!(b.len() <= 1, "several bases: {m:?}");
    b.first().map(|s| s.to_string())
}

fn dir_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(aof_dir(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Parses a multibulk record at `pos`; returns its arguments and the next position.
fn parse_record(b: &[u8], mut pos: usize) -> (Vec<Vec<u8>>, usize) {
    let line = |pos: usize| {
        let e = pos
            + b[pos..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("CRLF");
        (
            std::str::from_utf8(&b[pos + 1..e]).unwrap().to_string(),
            e + 2,
        )
    };
    assert_eq!(b[pos], b'*', "record expected at {pos}");
    let (n, p) = line(pos);
    pos = p;
    let n: usize = n.parse().unwrap();
    let mut args = Vec::with_capacity(n);
    for _ in 0..n {
        assert_eq!(b[pos], b'$', "bulk expected at {pos}");
        let (len, p) = line(pos);
        let len: usize = len.parse().unwrap();
        args.push(b[p..p + len].to_vec());
        assert_eq!(&b[p + len..p + len + 2], b"\r\n");
        pos = p + len + 2;
    }
    (args, pos)
}

/// Reads a base file written by a rewrite: every batch must carry a correct `#crc32`
/// annotation, and only SELECT / SET / HSET / PEXPIREAT may appear. Returns the dataset.
fn read_base(path: &Path) -> Data {
    let b = std::fs::read(path).unwrap();
    let mut d = Data::new();
    let mut db = 0usize;
    let mut pos = 0;
    let mut batches = 0;
    while pos < b.len() {
        assert!(
            b[pos..].starts_with(b"#crc32 "),
            "annotation expected at {pos}"
        );
        let e = pos + b[pos..].windows(2).position(|w| w == b"\r\n").unwrap();
        let head = std::str::from_utf8(&b[pos + 7..e]).unwrap().to_string();
        let (crc, len) = head.split_once(' ').unwrap();
        let len: usize = len.parse().unwrap();
        let body = &b[e + 2..e + 2 + len];
        assert_eq!(
            format!("{:08x}", crc32fast::hash(body)),
            crc,
            "checksum of the batch at {pos} of {}",
            path.display()
        );
        let mut p = 0;
        while p < body.len() {
            let (a, np) = parse_record(body, p);
            p = np;
            let cmd = String::from_utf8_lossy(&a[0]).to_ascii_uppercase();
            match cmd.as_str() {
                "SELECT" => db = String::from_utf8_lossy(&a[1]).parse().unwrap(),
                "SET" => {
                    assert_eq!(a.len(), 3);
                    let old = d.insert((db, a[1].clone()), (Val::Str(a[2].clone()), 0));
                    assert!(old.is_none(), "key {:?} twice in the base", a[1]);
                }
                "HSET" => {
                    let e = d
                        .entry((db, a[1].clone()))
                        .or_insert_with(|| (Val::Hash(BTreeMap::new()), 0));
                    let Val::Hash(h) = &mut e.0 else {
                        panic!("HSET on a string in the base")
                    };
                    for fv in a[2..].chunks(2) {
                        assert!(h.insert(fv[0].clone(), fv[1].clone()).is_none());
                    }
                }
                "PEXPIREAT" => {
                    let e = d
                        .get_mut(&(db, a[1].clone()))
                        .expect("PEXPIREAT of a known key");
                    assert_eq!(e.1, 0);
                    e.1 = String::from_utf8_lossy(&a[2]).parse().unwrap();
                }
                other => panic!("unexpected {other} in the base"),
            }
        }
        pos = e + 2 + len;
        batches += 1;
    }
    eprintln!(
        "base {}: {} bytes, {batches} batches, {} keys",
        path.display(),
        b.len(),
        d.len()
    );
    d
}

/// Parses an array-of-bulks reply.
fn bulks(r: &[u8]) -> Vec<Vec<u8>> {
    let (a, _) = parse_record(r, 0);
    a
}

/// (db, key) -> (DEBUG DIGEST-VALUE, PEXPIRETIME) of every key, to show what differs when
/// two digests do not match.
fn dump(port: u16) -> BTreeMap<(usize, Vec<u8>), (String, String)> {
    let mut out = BTreeMap::new();
    for db in 0..DBS {
        let sel = encs(&["SELECT", &db.to_string()]);
        let keys = bulks(&pipeline(port, &[sel.clone(), encs(&["KEYS", "*"])])[1]);
        let mut cmds = vec![sel];
        for k in &keys {
            cmds.push(enc(&[b"DEBUG", b"DIGEST-VALUE", k]));
            cmds.push(enc(&[b"PEXPIRETIME", k]));
        }
        let reps = pipeline(port, &cmds);
        for (i, k) in keys.into_iter().enumerate() {
            let d = String::from_utf8_lossy(&reps[1 + 2 * i]).into_owned();
            let t = String::from_utf8_lossy(&reps[2 + 2 * i]).into_owned();
            out.insert((db, k), (d, t));
        }
    }
    out
}

/// Asserts two dumps are equal, listing the first differences.
fn assert_same(
    a: &BTreeMap<(usize, Vec<u8>), (String, String)>,
    b: &BTreeMap<(usize, Vec<u8>), (String, String)>,
    what: &str,
) {
    let mut diffs = Vec::new();
    for (k, v) in a {
        if b.get(k) != Some(v) {
            diffs.push(format!(
                "db {} {}: {v:?} -> {:?}",
                k.0,
                String::from_utf8_lossy(&k.1),
                b.get(k)
            ));
        }
    }
    for (k, v) in b {
        if !a.contains_key(k) {
            diffs.push(format!(
                "db {} {}: missing -> {v:?}",
                k.0,
                String::from_utf8_lossy(&k.1)
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{what}: {} keys differ, e.g.\n{}",
        diffs.len(),
        diffs[..diffs.len().min(20)].join("\n")
    );
}

fn dbsize_all(c: &mut Client) -> u64 {
    let mut n = 0;
    for db in 0..DBS {
        ok(c.cmd(&format!("SELECT {db}")));
        let r = c.cmd("DBSIZE");
        n += r[1..r.len() - 2].parse::<u64>().unwrap();
    }
    ok(c.cmd("SELECT 0"));
    n
}

// ---------------------------------------------------------------------------------------
// 1. Rewrite under load
// ---------------------------------------------------------------------------------------

/// Keys `k:i` with `i % VOL_STEP == 5` get short TTLs just before the rewrite starts.
const VOL_STEP: usize = 17;

/// EXISTS on `count` volatile keys of `db` (i = 5 + 17m is in db (1 + m) % 4), which
/// expires them lazily once their time is up, whether the rewrite wrote them yet or not.
fn volatile_reads(r: &mut Rng, n: usize, db: usize, count: usize) -> Vec<String> {
    let mut a = vec!["EXISTS".to_string()];
    for _ in 0..count {
        let m = 4 * r.below(((n - 5) / VOL_STEP / 4 - 1) as u64) as usize + (db + 3) % 4;
        let k = 5 + VOL_STEP * m;
        assert_eq!(k % DBS, db);
        a.push(format!("k:{k}"));
    }
    a
}

/// One writer: random modifications of existing and new keys until `stop`, sent in
/// pipelined batches (under `appendfsync always` one fsync covers a batch).
fn writer(port: u16, id: usize, n: usize, seed: u64, stop: &AtomicBool, ops: &AtomicU64) {
    let mut r = Rng::new(seed ^ (id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let mut cmds: Vec<Vec<u8>> = Vec::new();
        // Database 3 is walked last: most of its keys are pending for most of the rewrite.
        cmds.push(encs(&["SELECT", "3"]));
        let v = volatile_reads(&mut r, n, 3, 16);
        cmds.push(encs(&v.iter().map(String::as_str).collect::<Vec<_>>()));
        let mut push = |v: &[&str]| cmds.push(encs(v));
        for _ in 0..32 {
            i += 1;
            let db = r.below(DBS as u64) as usize;
            // A key of `db` from the initial dataset.
            let k = (r.below((n / DBS) as u64) as usize) * DBS + db;
            let key = format!("k:{k}");
            let newkey = format!("w{id}:{i}");
            let it = i.to_string();
            push(&["SELECT", &db.to_string()]);
            let k2 = format!("k:{}", k ^ 4); // another key of `db`
            match if r.below(4) == 0 { 11 } else { r.below(32) } {
                0 | 1 => push(&[
                    "HSET",
                    &key,
                    "f0",
                    &format!("w{id}-{i}"),
                    &format!("nf{id}"),
                    &it,
                ]),
                2 => push(&["HDEL", &key, "f0", "f1"]),
                3 => push(&["DEL", &key]),
                4 => push(&["EXPIRE", &key, "7200"]),
                5 => push(&["SET", &key, &format!("s{id}-{i}")]),
                6 => {
                    // A numeric string of this database: i % 9 == 0 and i % 4 == db.
                    let m = r.below((n / 36) as u64) as usize;
                    push(&["INCR", &format!("k:{}", 36 * m + [0, 9, 18, 27][db])])
                }
                7 => push(&["INCR", &format!("ctr{id}")]),
                8 => {
                    push(&["MULTI"]);
                    push(&["HSET", &key, "mf", &it]);
                    push(&["SET", &newkey, &format!("m{i}")]);
                    push(&["SELECT", &((db + 1) % DBS).to_string()]);
                    // (k + 1) lives in database db + 1.
                    push(&["HSET", &format!("k:{}", (k + 1) % n), "mx", &it]);
                    push(&["INCR", &format!("mctr{id}")]);
                    push(&["EXEC"]);
                }
                9 => push(&["PEXPIRE", &key, &(20 + r.below(300)).to_string()]),
                10 => push(&[
                    "SET",
                    &newkey,
                    "short",
                    "PX",
                    &(10 + r.below(300)).to_string(),
                ]),
                11 => {
                    let v = volatile_reads(&mut r, n, db, 8);
                    push(&v.iter().map(String::as_str).collect::<Vec<_>>());
                }
                12 => push(&["RENAME", &key, &newkey]),
                // k ^ 2 is a key of database db + 2.
                13 => push(&[
                    "COPY",
                    &key,
                    &format!("k:{}", k ^ 2),
                    "DB",
                    &((db + 2) % DBS).to_string(),
                    "REPLACE",
                ]),
                14 => push(&["MOVE", &key, &((db + 1) % DBS).to_string()]),
                15 => push(&["HSET", &format!("h{id}:{}", i % 500), "a", &it]),
                16 => push(&["MSET", &key, &it, &k2, &it, &newkey, &it]),
                17 => push(&["MSETNX", &newkey, &it, &format!("{newkey}b"), &it]),
                18 => push(&["UNLINK", &key, &k2]),
                19 => push(&["GETDEL", &key]),
                20 => push(&["GETEX", &key, "PX", &(10 + r.below(300)).to_string()]),
                21 => push(&["APPEND", &key, "+app"]),
                22 => push(&["SETRANGE", &key, "3", "RANGE"]),
                23 => push(&["INCRBYFLOAT", &format!("fl{id}"), "1.5"]),
                24 => push(&["HINCRBY", &key, "f0", "3"]),
                25 => push(&["HINCRBYFLOAT", &key, "hf", "0.25"]),
                26 => push(&["HSETNX", &key, "f1", &it]),
                27 => push(&["PERSIST", &key]),
                28 => push(&["RENAMENX", &key, &k2]),
                29 => push(&["GETSET", &key, &it]),
                30 => push(&["SETEX", &key, "5000", &it]),
                // A deadline already past deletes the key.
                _ => push(&["PEXPIREAT", &key, "1"]),
            }
        }
        for (j, rep) in pipeline(port, &cmds).iter().enumerate() {
            // Type errors (INCR on a hash, RENAME of a key deleted earlier) are expected;
            // refused writes, unknown commands or aborted transactions are not.
            let rep = String::from_utf8_lossy(rep);
            assert!(
                !rep.starts_with("-MISCONF")
                    && !rep.starts_with("-ERR unknown")
                    && !rep.starts_with("-EXECABORT")
                    && !rep.starts_with("-ERR syntax")
                    && !rep.starts_with("*-1"),
                "{:?} -> {rep}",
                String::from_utf8_lossy(&cmds[j])
            );
            if cmds[j].starts_with(b"*1\r\n$4\r\nEXEC") {
                assert!(rep.starts_with("*5\r\n"), "EXEC -> {rep}");
            }
        }
        ops.fetch_add(32, Ordering::Relaxed);
    }
}

#[test]
fn rewrite_under_load_is_an_exact_snapshot() {
    let t0 = Instant::now();
    let seed = seed();
    let dir = TempDir::new("rw-load");
    let mut srv = start(dir.path(), &[]);
    let port = srv.port;
    const N: usize = 120_000;
    let exp_at = now_ms() + 3_600_000;
    let data = gen_dataset(N, exp_at);
    load(port, &data);
    let mut c = srv.connect();
    assert_eq!(dbsize_all(&mut c), N as u64);
    let m0 = manifest(dir.path());
    assert!(
        base_of(&m0).is_none(),
        "no base before the first rewrite: {m0:?}"
    );
    eprintln!("loaded {N} keys in {:?}", t0.elapsed());

    // Keys that will expire while the rewrite runs, most without anyone touching them
    // (the rewrite must move them aside or skip them, not lose or resurrect them).
    let mut r = Rng::new(seed);
    let mut volatile = HashSet::new();
    let mut cmds = Vec::new();
    for i in (5..N).step_by(VOL_STEP) {
        let db = i % DBS;
        cmds.push(encs(&["SELECT", &db.to_string()]));
        cmds.push(encs(&[
            "PEXPIRE",
            &format!("k:{i}"),
            &(10 + r.below(200)).to_string(),
        ]));
        volatile.insert((db, format!("k:{i}").into_bytes()));
    }
    let vol_from = now_ms();
    pipeline_ok(port, &cmds);
    let vol_to = now_ms();

    // BGREWRITEAOF twice and INFO in one packet: the second and INFO run while the first
    // is certainly in progress.
    c.send_raw(
        &[
            encs(&["BGREWRITEAOF"]),
            encs(&["BGREWRITEAOF"]),
            encs(&["INFO", "persistence"]),
        ]
        .concat(),
    );
    assert_eq!(
        String::from_utf8(c.read_reply()).unwrap(),
        "+Background append only file rewriting started\r\n"
    );
    assert_eq!(
        String::from_utf8(c.read_reply()).unwrap(),
        "-ERR Background append only file rewriting already in progress\r\n"
    );
    let info = String::from_utf8(c.read_reply()).unwrap();
    assert!(info.contains("aof_rewrite_in_progress:1\r\n"), "{info}");
    let rw_start = Instant::now();

    let stop = AtomicBool::new(false);
    let ops = AtomicU64::new(0);
    let (ops_during, seen_in_progress) = std::thread::scope(|sc| {
        for id in 0..2 {
            let (stop, ops) = (&stop, &ops);
            sc.spawn(move || writer(port, id, N, seed, stop, ops));
        }
        let mut seen = 0;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if info_field(&mut c, "aof_rewrite_in_progress") == "1" {
                seen += 1;
            } else {
                break;
            }
            assert!(Instant::now() < deadline, "rewrite did not finish");
            std::thread::sleep(Duration::from_millis(5));
        }
        let during = ops.load(Ordering::Relaxed);
        // Some more writes after the rewrite, into the new incr file only.
        std::thread::sleep(Duration::from_millis(100));
        stop.store(true, Ordering::Relaxed);
        (during, seen)
    });
    eprintln!(
        "rewrite took ~{:?}; {ops_during} writes during it, {} in all; in progress seen {seen_in_progress} times",
        rw_start.elapsed(),
        ops.load(Ordering::Relaxed)
    );
    assert!(seen_in_progress >= 1);
    assert!(
        ops_during >= 64,
        "too few writes overlapped the rewrite: {ops_during}"
    );
    common::wait_rewrites(&mut c, 1, 10);
    let log = srv.log_text();
    assert!(
        log.contains("Background AOF rewrite finished successfully"),
        "{log}"
    );

    // Files: the manifest names the new base and the incr opened at the start; the
    // old incr file and the temp file are gone.
    let m1 = manifest(dir.path());
    let base = base_of(&m1).expect("a base after the rewrite");
    let incrs: Vec<&(String, u64, char)> = m1.iter().filter(|f| f.2 == 'i').collect();
    assert_eq!(incrs.len(), 1, "{m1:?}");
    assert!(
        incrs[0].1 < m1.iter().find(|f| f.2 == 'b').unwrap().1,
        "{m1:?}"
    );
    for (name, _, _) in &m0 {
        assert!(
            !aof_dir(dir.path()).join(name).exists(),
            "old {name} still there"
        );
    }
    let mut want: Vec<String> = m1.iter().map(|f| f.0.clone()).collect();
    want.push(MANIFEST.into());
    want.sort();
    assert_eq!(dir_files(dir.path()), want);
    let on_disk: u64 = m1
        .iter()
        .map(|f| {
            std::fs::metadata(aof_dir(dir.path()).join(&f.0))
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(info_u64(&mut c, "aof_current_size"), on_disk);

    // The base is exactly the dataset at the start of the rewrite.
    let b = read_base(&aof_dir(dir.path()).join(&base));
    let mut missing_volatile = 0;
    for (k, v) in &data {
        match b.get(k) {
            Some(bv) if volatile.contains(k) => {
                assert_eq!(bv.0, v.0, "value of {k:?} in the base");
                assert!(
                    bv.1 >= vol_from + 10 && bv.1 <= vol_to + 210,
                    "expiry of volatile {k:?}: {}",
                    bv.1
                );
            }
            Some(bv) => assert_eq!(bv, v, "{k:?} in the base differs from the snapshot"),
            None if volatile.contains(k) => missing_volatile += 1,
            None => panic!("{k:?} missing from the base"),
        }
    }
    for k in b.keys() {
        assert!(
            data.contains_key(k),
            "{k:?} is in the base but was created after the start"
        );
    }
    eprintln!(
        "{missing_volatile} of {} volatile keys had expired before being written",
        volatile.len()
    );

    // Short TTLs all run out, then the digest must survive kill -9 and DEBUG RELOAD.
    std::thread::sleep(Duration::from_millis(500));
    let d = digest(&mut c);
    let before = dump(srv.port);
    drop(c);
    srv.kill9();
    let srv = start(dir.path(), &[]);
    let mut c = srv.connect();
    assert_same(
        &before,
        &dump(srv.port),
        "dataset after restart differs from the live one",
    );
    assert_eq!(
        digest(&mut c),
        d,
        "dataset after restart differs from the live one"
    );
    ok(c.cmd("DEBUG RELOAD"));
    assert_eq!(digest(&mut c), d, "dataset after DEBUG RELOAD differs");
    assert_eq!(info_u64(&mut c, "aof_rewrites"), 1);
    assert!(base_of(&manifest(dir.path())).unwrap() != base);
    eprintln!("rewrite_under_load: {:?}", t0.elapsed());
}

// ---------------------------------------------------------------------------------------
// 2. Crashes during a rewrite
// ---------------------------------------------------------------------------------------

fn crash_at(point: &str) {
    let dir = TempDir::new(&format!("rw-crash-{point}"));
    let aofd = aof_dir(dir.path());
    let mut srv = start_crashing(dir.path(), point);
    let port = srv.port;
    const N: usize = 30_000;
    let data = gen_dataset(N, now_ms() + 3_600_000);
    load(port, &data);
    let mut c = srv.connect();
    // A first rewrite cannot happen here (it would crash): the base will be the first.
    assert_eq!(info_u64(&mut c, "aof_rewrites"), 0);
    let d1 = digest(&mut c);
    let m0 = manifest(dir.path());
    assert_eq!(base_of(&m0), None);
    // Writes in the same packet run after the snapshot point, some of them on keys the
    // rewrite has not written yet (copy-before-write); they reach the new incr file (and
    // the disk) at the end of this loop iteration, long before the rewrite ends. The
    // replies may or may not get out before the abort.
    c.send_raw(
        &[
            encs(&["BGREWRITEAOF"]),
            encs(&["SET", "during", "1"]),
            encs(&["HSET", "k:4", "f0", "during"]),
            encs(&["DEL", "k:8"]),
            encs(&["SELECT", "3"]),
            encs(&["RENAME", "k:7", "k7-renamed"]),
        ]
        .concat(),
    );
    let code = srv.wait_exit(30);
    assert!(code.is_some(), "server did not abort at {point}");
    assert!(
        code != Some(0),
        "server exited normally instead of aborting at {point}"
    );
    let log = srv.log_text();
    assert!(
        log.contains(&format!("FERROKV_REWRITE_CRASH={point}: aborting as asked")),
        "{log}"
    );

    // The files are in the state the crash point implies.
    let m = manifest(dir.path());
    let files = dir_files(dir.path());
    let temps: Vec<&String> = files
        .iter()
        .filter(|f| f.starts_with("temp-rewriteaof-"))
        .collect();
    let bases: Vec<&String> = files.iter().filter(|f| f.ends_with(".base.aof")).collect();
    let new_incr = m.iter().filter(|f| f.2 == 'i').map(|f| f.1).max().unwrap();
    match point {
        "before-fsync" | "before-rename" => {
            assert_eq!(temps.len(), 1, "{files:?}");
            assert!(bases.is_empty(), "{files:?}");
            // The temp base is complete: it holds the whole snapshot.
            let t = read_base(&aofd.join(temps[0]));
            assert_eq!(t.len(), N);
            assert_eq!(base_of(&m), None, "{m:?}");
        }
        "before-manifest" => {
            assert!(temps.is_empty(), "{files:?}");
            assert_eq!(bases.len(), 1, "{files:?}");
            assert_eq!(
                base_of(&m),
                None,
                "manifest must still be the old one: {m:?}"
            );
            assert_eq!(read_base(&aofd.join(bases[0])).len(), N);
        }
        "after-manifest" => {
            assert!(temps.is_empty(), "{files:?}");
            let b = base_of(&m).expect("new manifest names the base");
            assert_eq!(read_base(&aofd.join(&b)).len(), N);
            // The old incr file is not deleted yet.
            for (name, _, _) in &m0 {
                assert!(
                    files.contains(name),
                    "{name} deleted before the crash point"
                );
                assert!(
                    !m.iter().any(|f| &f.0 == name),
                    "{name} still in the new manifest"
                );
            }
        }
        _ => unreachable!(),
    }
    // The incr file opened at the start of the rewrite is named in every case.
    assert!(
        new_incr > m0.iter().map(|f| f.1).max().unwrap(),
        "{m0:?} -> {m:?}"
    );

    // Restart without the fault: nothing lost, writes work, a rewrite works.
    let mut srv = start(dir.path(), &[]);
    let mut c = srv.connect();
    // The writes made during the rewrite are there; undone, the dataset is as before.
    assert_eq!(c.cmd("GET during"), "$1\r\n1\r\n", "crash at {point}");
    assert_eq!(c.cmd("HGET k:4 f0"), "$6\r\nduring\r\n", "crash at {point}");
    assert_eq!(c.cmd("EXISTS k:8"), ":0\r\n", "crash at {point}");
    ok(c.cmd("SELECT 3"));
    assert_eq!(c.cmd("EXISTS k:7"), ":0\r\n", "crash at {point}");
    ok(c.cmd("RENAME k7-renamed k:7"));
    ok(c.cmd("SELECT 0"));
    assert_eq!(c.cmd("DEL during"), ":1\r\n");
    assert_eq!(c.cmd("HSET k:4 f0 4:0"), ":0\r\n");
    pipeline_ok(
        srv.port,
        &load_cmds(
            &data
                .iter()
                .filter(|(k, _)| k.1 == b"k:8")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
    );
    assert_eq!(digest(&mut c), d1, "data lost after a crash at {point}");
    assert_eq!(dbsize_all(&mut c), N as u64);
    ok(c.cmd("SET after-crash 1"));
    ok(c.cmd("SELECT 1"));
    assert_eq!(c.cmd("HSET k:1 f0 changed"), ":0\r\n");
    assert_eq!(c.cmd("DEL k:5 k:6"), ":1\r\n"); // k:6 lives in db 2
    let d2 = digest(&mut c);
    assert_ne!(d2, d1);
    assert_eq!(
        c.cmd("BGREWRITEAOF"),
        "+Background append only file rewriting started\r\n"
    );
    common::wait_rewrites(&mut c, 1, 30);
    let m2 = manifest(dir.path());
    let b2 = base_of(&m2).expect("base after the second rewrite");
    assert!(m2.iter().all(|f| aofd.join(&f.0).exists()), "{m2:?}");
    let based = read_base(&aofd.join(&b2));
    assert_eq!(based.len(), N); // -1 (k:5) +1 (after-crash)
    assert!(based.contains_key(&(0, b"after-crash".to_vec())));
    assert!(!based.contains_key(&(1, b"k:5".to_vec())));
    assert_eq!(
        based.get(&(1, b"k:1".to_vec())).map(|v| v.0.clone()),
        Some(Val::Hash(BTreeMap::from([
            (b"f0".to_vec(), b"changed".to_vec()),
            (b"f1".to_vec(), b"1:1".to_vec())
        ])))
    );
    // Files of the crashed rewrite that no manifest names were removed at the restart.
    let stray: Vec<String> = dir_files(dir.path())
        .into_iter()
        .filter(|f| f != MANIFEST && !m2.iter().any(|x| &x.0 == f))
        .collect();
    assert!(
        stray.is_empty(),
        "crash at {point}: files left behind: {stray:?}"
    );
    srv.kill9();
    let srv = start(dir.path(), &[]);
    let mut c = srv.connect();
    assert_eq!(
        digest(&mut c),
        d2,
        "data lost after the rewrite that followed a crash at {point}"
    );
    drop(c);
    drop(srv);
}

#[test]
fn crash_at_before_fsync() {
    crash_at("before-fsync");
}

#[test]
fn crash_at_before_rename() {
    crash_at("before-rename");
}

#[test]
fn crash_at_before_manifest() {
    crash_at("before-manifest");
}

#[test]
fn crash_at_after_manifest() {
    crash_at("after-manifest");
}

// ---------------------------------------------------------------------------------------
// 2b. kill -9 at random moments of rewrites under concurrent writes
// ---------------------------------------------------------------------------------------

/// A command sent whose reply never came back.
#[derive(Debug, Clone, Copy)]
enum Op {
    Set,
    Incr,
    /// HSET k:<idx> w<id> <value>
    Hset(usize, u64),
}

/// What a writer had acknowledged when the server died.
#[derive(Default, Debug)]
struct Acked {
    /// Keys `r<round>w<id>:<n>` were SET to `n` and acknowledged for every n < sets.
    sets: u64,
    /// Acknowledged INCRs of `r<round>w<id>:ctr`.
    incrs: u64,
    /// Last acknowledged value of field `w<id>` of preloaded hash `k:<idx>` (db 0).
    hfields: HashMap<usize, u64>,
    inflight: Option<Op>,
}

/// Reads one reply from `s`; None once the connection is gone.
fn read_reply_raw(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut tmp = [0u8; 4096];
    loop {
        if let Some(n) = reply_len(buf) {
            return Some(buf.drain(..n).collect());
        }
        match s.read(&mut tmp) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
}

/// Sends one write at a time (waiting for each reply) until the server dies.
fn acked_writer(
    port: u16,
    round: usize,
    id: usize,
    n: usize,
    seed: u64,
    acks: &AtomicU64,
) -> Acked {
    let mut a = Acked::default();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = Vec::new();
    let mut r = Rng::new(seed);
    let mut seq = 0u64;
    loop {
        seq += 1;
        let (op, cmd) = match r.below(3) {
            0 => (
                Op::Set,
                encs(&[
                    "SET",
                    &format!("r{round}w{id}:{}", a.sets),
                    &a.sets.to_string(),
                ]),
            ),
            1 => (Op::Incr, encs(&["INCR", &format!("r{round}w{id}:ctr")])),
            _ => {
                // A preloaded hash of db 0: index a multiple of DBS and not of 3.
                let mut idx = r.below((n / DBS - 1) as u64) as usize * DBS;
                if idx.is_multiple_of(3) {
                    idx += DBS;
                }
                (
                    Op::Hset(idx, seq),
                    encs(&[
                        "HSET",
                        &format!("k:{idx}"),
                        &format!("w{id}"),
                        &seq.to_string(),
                    ]),
                )
            }
        };
        a.inflight = Some(op);
        if s.write_all(&cmd).is_err() {
            return a;
        }
        let Some(rep) = read_reply_raw(&mut s, &mut buf) else {
            return a;
        };
        assert!(rep[0] != b'-', "{}", String::from_utf8_lossy(&rep));
        match op {
            Op::Set => a.sets += 1,
            Op::Incr => a.incrs += 1,
            Op::Hset(idx, v) => {
                a.hfields.insert(idx, v);
            }
        }
        a.inflight = None;
        acks.fetch_add(1, Ordering::Relaxed);
    }
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

#[test]
fn kill9_at_random_moments_during_rewrite_keeps_acked_writes() {
    let t0 = Instant::now();
    let seed = seed();
    let mut r = Rng::new(seed);
    let dir = TempDir::new("rw-kill");
    let mut srv = start(dir.path(), &[]);
    const N: usize = 60_000;
    let data = gen_dataset(N, now_ms() + 3_600_000);
    load(srv.port, &data);
    let mut c = srv.connect();
    let d0 = digest(&mut c);
    drop(c);
    let mut killed_mid_rewrite = 0;
    const ROUNDS: usize = 5;
    for round in 0..ROUNDS {
        let port = srv.port;
        let acks = Arc::new(AtomicU64::new(0));
        let handles: Vec<_> = (0..2)
            .map(|id| {
                let ws = seed ^ ((round * 2 + id) as u64 + 7).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let acks = acks.clone();
                std::thread::spawn(move || acked_writer(port, round, id, N, ws, &acks))
            })
            .collect();
        // Both writers are under way before the rewrite starts.
        let t = Instant::now();
        while acks.load(Ordering::Relaxed) < 10 {
            assert!(t.elapsed() < Duration::from_secs(10), "writers are stuck");
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut c = srv.connect();
        assert_eq!(
            c.cmd("BGREWRITEAOF"),
            "+Background append only file rewriting started\r\n"
        );
        // Kill at a random moment of the rewrite: once it has written a random number of
        // keys (sometimes more than there are: then during the fsync/rename/manifest
        // steps or just after them).
        let target = r.below(N as u64 * 21 / 20);
        let mut mid;
        let mut written;
        loop {
            let info = c.cmd("INFO persistence");
            mid = field(&info, "aof_rewrite_in_progress") == "1";
            written = field(&info, "current_save_keys_processed")
                .parse::<u64>()
                .unwrap();
            if !mid || written >= target {
                break;
            }
        }
        srv.kill9();
        killed_mid_rewrite += usize::from(mid);
        let acked: Vec<Acked> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        eprintln!(
            "round {round}: killed at {written}/{N} keys written (target {target}, rewrite in progress: {mid}); acked {:?}",
            acked
                .iter()
                .map(|a| (a.sets, a.incrs, a.hfields.len(), a.inflight))
                .collect::<Vec<_>>()
        );
        let total: u64 = acked
            .iter()
            .map(|a| a.sets + a.incrs + a.hfields.len() as u64)
            .sum();
        assert!(total >= 10, "the writers got almost nothing done: {total}");

        srv = start(dir.path(), &[]);
        let mut c = srv.connect();
        for (id, a) in acked.iter().enumerate() {
            for n in 0..a.sets {
                assert_eq!(
                    c.cmd(&format!("GET r{round}w{id}:{n}")),
                    bulk(&n.to_string()),
                    "acked SET lost (round {round}, writer {id})"
                );
            }
            if !matches!(a.inflight, Some(Op::Set)) {
                assert_eq!(
                    c.cmd(&format!("GET r{round}w{id}:{}", a.sets)),
                    "$-1\r\n",
                    "a SET that was never sent exists"
                );
            }
            let ctr = c.cmd(&format!("GET r{round}w{id}:ctr"));
            let v: u64 = if ctr == "$-1\r\n" {
                0
            } else {
                ctr.lines().nth(1).unwrap().parse().unwrap()
            };
            let max = a.incrs + u64::from(matches!(a.inflight, Some(Op::Incr)));
            assert!(
                v >= a.incrs && v <= max,
                "counter {v}, acked {} (round {round}, writer {id})",
                a.incrs
            );
            for (idx, val) in &a.hfields {
                let got = c.cmd(&format!("HGET k:{idx} w{id}"));
                let ok_vals = match a.inflight {
                    Some(Op::Hset(i, v)) if i == *idx => {
                        vec![bulk(&val.to_string()), bulk(&v.to_string())]
                    }
                    _ => vec![bulk(&val.to_string())],
                };
                assert!(
                    ok_vals.contains(&got),
                    "acked HSET k:{idx} w{id} {val} lost: {got:?} (round {round})"
                );
            }
            // Undo this round's writes: the digest must then be the initial one again.
            let mut cmds = vec![encs(&["DEL", &format!("r{round}w{id}:ctr")])];
            for n in 0..=a.sets {
                cmds.push(encs(&["DEL", &format!("r{round}w{id}:{n}")]));
            }
            let mut idxs: Vec<usize> = a.hfields.keys().copied().collect();
            if let Some(Op::Hset(i, _)) = a.inflight {
                idxs.push(i);
            }
            for idx in idxs {
                cmds.push(encs(&["HDEL", &format!("k:{idx}"), &format!("w{id}")]));
            }
            pipeline_ok(srv.port, &cmds);
        }
        assert_eq!(
            digest(&mut c),
            d0,
            "round {round}: data not written by the writers changed"
        );
    }
    eprintln!("{killed_mid_rewrite} of {ROUNDS} kills hit a rewrite in progress");
    assert!(killed_mid_rewrite >= 3, "the kills missed the rewrites");
    eprintln!("kill9 rounds: {:?}", t0.elapsed());
}

// ---------------------------------------------------------------------------------------
// 3. Automatic rewrite
// ---------------------------------------------------------------------------------------

#[test]
fn auto_rewrite_triggers_and_survives_restart() {
    let dir = TempDir::new("rw-auto");
    let mut srv = start(dir.path(), &[]);
    let mut c = srv.connect();
    ok(c.cmd("CONFIG SET auto-aof-rewrite-min-size 100kb"));
    ok(c.cmd("CONFIG SET auto-aof-rewrite-percentage 100"));
    let batch = |i: usize| -> Vec<Vec<u8>> {
        (0..200)
            .map(|j| {
                encs(&[
                    "SET",
                    &format!("a:{}", (i * 200 + j) % 3000),
                    &format!("{i}-{j}-{}", "y".repeat(80)),
                ])
            })
            .collect()
    };
    // Below the minimum size: no rewrite.
    pipeline_ok(srv.port, &batch(0));
    std::thread::sleep(Duration::from_millis(300));
    assert!(info_u64(&mut c, "aof_current_size") < 100 * 1024);
    assert_eq!(info_u64(&mut c, "aof_rewrites"), 0);
    let mut i = 1;
    while info_u64(&mut c, "aof_rewrites") == 0 {
        assert!(i < 500, "no automatic rewrite after {i} batches");
        pipeline_ok(srv.port, &batch(i));
        i += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    common::wait_rewrites(&mut c, 1, 10);
    assert!(
        srv.log_text()
            .contains("Starting automatic rewriting of AOF")
    );
    let m = manifest(dir.path());
    assert!(base_of(&m).is_some(), "{m:?}");
    let base = info_u64(&mut c, "aof_base_size");
    let cur = info_u64(&mut c, "aof_current_size");
    // Compacted: at most the 3000 keys, not every overwrite.
    assert!(
        base > 0 && cur >= base && base < 3000 * 160,
        "base {base} current {cur}"
    );
    // More writes grow it again and a second automatic rewrite follows.
    let mut j = 0;
    while info_u64(&mut c, "aof_rewrites") < 2 {
        assert!(j < 500, "no second automatic rewrite");
        pipeline_ok(srv.port, &batch(i + j));
        j += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    common::wait_rewrites(&mut c, 2, 10);
    let d = digest(&mut c);
    srv.kill9();
    let srv = start(dir.path(), &[]);
    let mut c = srv.connect();
    assert_eq!(digest(&mut c), d);
    let keys = ((i + j) * 200).min(3000);
    assert_eq!(c.cmd("DBSIZE"), format!(":{keys}\r\n"));
}

// ---------------------------------------------------------------------------------------
// 4. FLUSHALL / SWAPDB during a rewrite
// ---------------------------------------------------------------------------------------

#[test]
fn flushall_and_swapdb_during_rewrite_restart_it() {
    let dir = TempDir::new("rw-flush");
    let aofd = aof_dir(dir.path());
    let mut srv = start(dir.path(), &[]);
    let port = srv.port;
    let data = gen_dataset(60_000, now_ms() + 3_600_000);
    load(port, &data);
    let mut c = srv.connect();

    // FLUSHALL in the same packet as BGREWRITEAOF: certainly during the rewrite. The
    // 1000 keys after it are there before the rewrite starts over (on the next tick).
    let mut pkt = [
        encs(&["BGREWRITEAOF"]),
        encs(&["INFO", "persistence"]),
        encs(&["FLUSHALL"]),
    ]
    .concat();
    for i in 0..1000 {
        pkt.extend(encs(&[
            "HSET",
            &format!("n:{}", 100_000 + i * DBS),
            "a",
            "1",
        ]));
    }
    c.send_raw(&pkt);
    assert_eq!(
        String::from_utf8(c.read_reply()).unwrap(),
        "+Background append only file rewriting started\r\n"
    );
    let info = String::from_utf8(c.read_reply()).unwrap();
    assert!(info.contains("aof_rewrite_in_progress:1\r\n"), "{info}");
    ok(String::from_utf8(c.read_reply()).unwrap());
    for _ in 0..1000 {
        assert_eq!(c.read_reply(), b":1\r\n");
    }
    // New data while the rewrite starts over.
    let mut cmds = Vec::new();
    for i in 0..20_000 {
        cmds.push(encs(&["SELECT", &(i % DBS).to_string()]));
        cmds.push(encs(&[
            "HSET",
            &format!("n:{i}"),
            "a",
            &i.to_string(),
            "b",
            "x",
        ]));
    }
    pipeline_ok(port, &cmds);
    common::wait_rewrites(&mut c, 1, 30);
    let log = srv.log_text();
    assert!(
        log.contains("flushed or swapped during the AOF rewrite: starting it again"),
        "{log}"
    );
    let m = manifest(dir.path());
    let b = read_base(&aofd.join(base_of(&m).unwrap()));
    assert!(
        b.keys().all(|(_, k)| k.starts_with(b"n:")),
        "pre-FLUSHALL keys in the base"
    );
    assert!(b.len() >= 1000 && b.len() <= 21_000, "{}", b.len());
    let mut want: Vec<String> = m.iter().map(|f| f.0.clone()).collect();
    want.push(MANIFEST.into());
    want.sort();
    assert_eq!(dir_files(dir.path()), want, "abandoned rewrite left files");

    // SWAPDB during a rewrite: keys must end up under their new database index.
    c.send_raw(&[encs(&["BGREWRITEAOF"]), encs(&["SWAPDB", "1", "2"])].concat());
    assert_eq!(
        String::from_utf8(c.read_reply()).unwrap(),
        "+Background append only file rewriting started\r\n"
    );
    ok(String::from_utf8(c.read_reply()).unwrap());
    common::wait_rewrites(&mut c, 2, 30);
    let m = manifest(dir.path());
    let b = read_base(&aofd.join(base_of(&m).unwrap()));
    assert_eq!(b.len(), 21_000);
    for (db, k) in b.keys() {
        let i: usize = std::str::from_utf8(&k[2..]).unwrap().parse().unwrap();
        let want = match i % DBS {
            1 => 2,
            2 => 1,
            x => x,
        };
        assert_eq!(
            *db,
            want,
            "key {} in db {db} of the base",
            String::from_utf8_lossy(k)
        );
    }
    ok(c.cmd("SELECT 2"));
    assert_eq!(c.cmd("HGET n:1 a"), "$1\r\n1\r\n");
    let d = digest(&mut c);
    srv.kill9();
    let srv = start(dir.path(), &[]);
    let mut c = srv.connect();
    assert_eq!(digest(&mut c), d);
    assert_eq!(dbsize_all(&mut c), 21_000);
}

// ---------------------------------------------------------------------------------------
// 5. Replay of keys that expired between being logged and the restart
// ---------------------------------------------------------------------------------------

/// Found by the load test above: replaying the AOF must give the live dataset even for
/// keys whose TTL ran out after the commands that used them were logged. COPY and MOVE
/// looked their source up with the wall clock during replay (so a source expired by then
/// was not copied/moved), and RANDOMKEY removed expired keys without logging a DEL (so a
/// later HSET was replayed on top of the stale value). Active expiry is off so the keys
/// are still in memory, unlogged, at the kill.
#[test]
fn replay_matches_live_after_ttls_ran_out() {
    let dir = TempDir::new("rw-ttl");
    let mut srv = start(dir.path(), &[]);
    let mut c = srv.connect();
    ok(c.cmd("DEBUG SET-ACTIVE-EXPIRE 0"));
    // COPY of a key that expires later; the copy is made persistent.
    ok(c.cmd("SET src v PX 300"));
    assert_eq!(c.cmd("COPY src dst"), ":1\r\n");
    assert_eq!(c.cmd("PERSIST dst"), ":1\r\n");
    // COPY REPLACE over an old value, then the copy expires: the old value is gone.
    ok(c.cmd("SET src2 v2 PX 300"));
    ok(c.cmd("SET dst2 old"));
    assert_eq!(c.cmd("COPY src2 dst2 REPLACE"), ":1\r\n");
    // MOVE of a key that expires later; made persistent in its new database.
    ok(c.cmd("SET m v PX 300"));
    assert_eq!(c.cmd("MOVE m 1"), ":1\r\n");
    ok(c.cmd("SELECT 1"));
    assert_eq!(c.cmd("PERSIST m"), ":1\r\n");
    // RANDOMKEY meets an expired key (the only one of db 3), then the name is reused.
    ok(c.cmd("SELECT 3"));
    ok(c.cmd("SET r old PX 100"));
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(c.cmd("RANDOMKEY"), "$-1\r\n");
    assert_eq!(c.cmd("HSET r f v"), ":1\r\n");
    ok(c.cmd("SELECT 0"));
    let before = dump(srv.port);
    assert_eq!(before.len(), 3, "{before:?}"); // dst, m (db 1), r (db 3)
    let d = digest(&mut c);
    srv.kill9();
    let srv = start(dir.path(), &[]);
    let mut c = srv.connect();
    assert_same(&before, &dump(srv.port), "replayed dataset");
    assert_eq!(digest(&mut c), d);
    ok(c.cmd("DEBUG LOADAOF"));
    assert_eq!(digest(&mut c), d, "after DEBUG LOADAOF");
}

// ---------------------------------------------------------------------------------------
// 6. Big values written in pieces
// ---------------------------------------------------------------------------------------

/// Every record of a base file (checksums checked).
fn base_records(path: &Path) -> Vec<Vec<Vec<u8>>> {
    let b = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        assert!(b[pos..].starts_with(b"#crc32 "), "annotation expected");
        let e = pos + b[pos..].windows(2).position(|w| w == b"\r\n").unwrap();
        let head = std::str::from_utf8(&b[pos + 7..e]).unwrap().to_string();
        let (crc, len) = head.split_once(' ').unwrap();
        let len: usize = len.parse().unwrap();
        let body = &b[e + 2..e + 2 + len];
        assert_eq!(format!("{:08x}", crc32fast::hash(body)), crc);
        let mut p = 0;
        while p < body.len() {
            let (a, np) = parse_record(body, p);
            out.push(a);
            p = np;
        }
        pos = e + 2 + len;
    }
    out
}

/// Keys of tens of thousands of elements of every type (and a 5 MB string) are written in
/// pieces across many slices while a client keeps changing, deleting and expiring them:
/// the base must still be exactly the dataset of the start (loaded alone into a second
/// server), made of records of at most 64 elements and 1 MB, and the live dataset must
/// survive kill -9 and replay.
#[test]
fn big_values_are_written_in_pieces_and_stay_exact() {
    let seed = seed();
    let dir = TempDir::new("rw-big");
    let mut srv = start(dir.path(), &[]);
    let port = srv.port;
    const N: usize = 60_000;
    let far = now_ms() + 3_600_000;
    let mut cmds = Vec::new();
    for i in 0..2000 {
        cmds.push(encs(&["SET", &format!("s:{i}"), &i.to_string()]));
    }
    many(&mut cmds, &["HSET", "big:hash"], N, &|i| {
        vec![format!("f{i}"), format!("v{i}")]
    });
    // Field deadlines far off, in runs of equal ones, every seventh field.
    field_deadlines(&mut cmds, "big:hash", N, 7, far);
    many(&mut cmds, &["RPUSH", "big:list"], N, &|i| {
        vec![format!("e{i}")]
    });
    cmds.push(encs(&["PEXPIREAT", "big:list", &far.to_string()]));
    many(&mut cmds, &["HSET", "big:del"], N / 2, &|i| {
        vec![format!("f{i}"), "x".into()]
    });
    // Fields that run out while the rewrite is writing the hash.
    many(&mut cmds, &["HSET", "big:fx"], N / 2, &|i| {
        vec![format!("f{i}"), "y".into()]
    });
    let mut a = vec![
        "HPEXPIRE".to_string(),
        "big:fx".into(),
        "150".into(),
        "FIELDS".into(),
    ];
    a.push((N / 4).to_string());
    a.extend((0..N / 4).map(|i| format!("f{}", 2 * i)));
    let r: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
    cmds.push(encs(&r));
    cmds.push(encs(&["SET", "big:str", ""]));
    for i in 0..5 {
        cmds.push(encs(&[
            "APPEND",
            "big:str",
            &format!("{i}").repeat(1 << 20),
        ]));
    }
    cmds.push(encs(&["SELECT", "1"]));
    many(&mut cmds, &["SADD", "big:set"], N, &|i| {
        vec![format!("m{i}")]
    });
    many(&mut cmds, &["SADD", "big:ints"], N, &|i| {
        vec![(i as i64 * 7919 - 99_999).to_string()]
    });
    many(&mut cmds, &["ZADD", "big:zset"], N, &|i| {
        vec![format!("{}.5", i % 997), format!("z{i}")]
    });
    many(&mut cmds, &["ZADD", "big:exp"], N / 2, &|i| {
        vec![i.to_string(), format!("x{i}")]
    });
    pipeline_ok(port, &cmds);

    let mut c = srv.connect();
    let before = dump(port);
    assert_eq!(before.len(), 2000 + 9);
    assert_eq!(
        c.cmd("BGREWRITEAOF"),
        "+Background append only file rewriting started\r\n"
    );

    // The writer: changes to every big key, some of them held by the rewrite, some still
    // pending, some written already; one DEL, one expiry.
    let stop = AtomicBool::new(false);
    let ops = AtomicU64::new(0);
    let in_progress_seen = std::thread::scope(|sc| {
        let (stop, ops) = (&stop, &ops);
        sc.spawn(move || {
            let mut r = Rng::new(seed);
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // A few changes at a time, a millisecond apart, so that many land on a
                // key while the rewrite is half-way through it.
                let mut cmds = Vec::new();
                for _ in 0..2 {
                    let i = r.below(N as u64 + 100);
                    let (db, cmd): (u8, Vec<String>) = match r.below(11) {
                        0 => (
                            0,
                            vec![
                                "HSET".into(),
                                "big:hash".into(),
                                format!("f{i}"),
                                format!("w{round}"),
                            ],
                        ),
                        1 => (0, vec!["HDEL".into(), "big:hash".into(), format!("f{i}")]),
                        2 => (
                            0,
                            vec!["RPUSH".into(), "big:list".into(), format!("n{round}")],
                        ),
                        3 => (0, vec!["LPOP".into(), "big:list".into(), "2".into()]),
                        4 => (
                            0,
                            vec![
                                "LSET".into(),
                                "big:list".into(),
                                (i % 1000).to_string(),
                                "set".into(),
                            ],
                        ),
                        5 => (0, vec!["APPEND".into(), "big:str".into(), "tail".into()]),
                        6 => (1, vec!["SREM".into(), "big:set".into(), format!("m{i}")]),
                        7 => (
                            1,
                            vec!["SADD".into(), "big:ints".into(), format!("{}", i * 3)],
                        ),
                        8 => (
                            1,
                            vec![
                                "ZINCRBY".into(),
                                "big:zset".into(),
                                "1".into(),
                                format!("z{i}"),
                            ],
                        ),
                        9 => (1, vec!["ZREM".into(), "big:zset".into(), format!("z{i}")]),
                        _ => (0, vec!["HGET".into(), "big:fx".into(), format!("f{i}")]),
                    };
                    cmds.push(encs(&["SELECT", &db.to_string()]));
                    let a: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
                    cmds.push(encs(&a));
                }
                if round == 10 {
                    cmds.push(encs(&["SELECT", "0"]));
                    cmds.push(encs(&["DEL", "big:del"]));
                }
                if round == 20 {
                    cmds.push(encs(&["SELECT", "1"]));
                    cmds.push(encs(&["PEXPIRE", "big:exp", "5"]));
                }
                pipeline_ok(port, &cmds);
                ops.fetch_add(2, Ordering::Relaxed);
                round += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let mut seen = 0;
        while info_field(&mut c, "aof_rewrite_in_progress") == "1" {
            seen += 1;
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(50));
        stop.store(true, Ordering::Relaxed);
        seen
    });
    common::wait_rewrites(&mut c, 1, 30);
    eprintln!(
        "{} writes; rewrite in progress seen {in_progress_seen} times",
        ops.load(Ordering::Relaxed)
    );
    assert!(
        in_progress_seen >= 1,
        "the rewrite ended before the writer started"
    );

    // The base, alone, is the dataset of the start.
    let m = manifest(dir.path());
    let base = base_of(&m).expect("a base");
    let recs = base_records(&aof_dir(dir.path()).join(&base));
    let mut appends = 0;
    for r in &recs {
        let cmd = String::from_utf8_lossy(&r[0]).to_ascii_uppercase();
        let elems = match cmd.as_str() {
            "HSET" | "ZADD" => (r.len() - 2) / 2,
            "RPUSH" | "SADD" => r.len() - 2,
            "HPEXPIREAT" => r.len() - 5,
            _ => 0,
        };
        assert!(elems <= 64, "{cmd} record of {elems} elements");
        assert!(
            r.iter().all(|a| a.len() <= 1 << 20),
            "{cmd} argument over 1 MB"
        );
        appends += (cmd == "APPEND") as usize;
    }
    assert_eq!(appends, 4, "the 5 MB string as SET + 4 APPENDs");
    let from_base = dump_of_base(dir.path(), &base);
    // big:fx lost fields to expiry during the rewrite; big:exp may have run out before
    // the rewrite reached it. Both are checked after the restart below.
    let unsure = |k: &(usize, Vec<u8>)| k.1 == b"big:fx" || k.1 == b"big:exp";
    let want: BTreeMap<_, _> = before
        .iter()
        .filter(|(k, _)| !unsure(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let got: BTreeMap<_, _> = from_base.into_iter().filter(|(k, _)| !unsure(k)).collect();
    assert_same(
        &want,
        &got,
        "the base differs from the dataset at the start",
    );

    // The live dataset survives kill -9.
    let live = dump(port);
    assert!(
        !live.contains_key(&(0, b"big:del".to_vec())),
        "DEL was sent"
    );
    drop(c);
    srv.kill9();
    let srv = start(dir.path(), &[]);
    assert_same(
        &live,
        &dump(srv.port),
        "dataset after restart differs from the live one",
    );
}

/// Commands `head item(0) item(1) ...` for items 0..n, 500 items per command.
fn many(cmds: &mut Vec<Vec<u8>>, head: &[&str], n: usize, item: &dyn Fn(usize) -> Vec<String>) {
    for lo in (0..n).step_by(500) {
        let mut a: Vec<String> = head.iter().map(|s| s.to_string()).collect();
        for i in lo..(lo + 500).min(n) {
            a.extend(item(i));
        }
        let r: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
        cmds.push(encs(&r));
    }
}

/// Deadlines at `far` and later for every `step`-th of fields f0..f<n> of `key`, in runs
/// of ten equal ones.
fn field_deadlines(cmds: &mut Vec<Vec<u8>>, key: &str, n: usize, step: usize, far: i64) {
    for i in (0..n).step_by(step) {
        let at = far + (i / (10 * step)) as i64;
        cmds.push(encs(&[
            "HPEXPIREAT",
            key,
            &at.to_string(),
            "FIELDS",
            "1",
            &format!("f{i}"),
        ]));
    }
}

/// `dump` of a second server that loads only the base `base` of `dir`.
fn dump_of_base(dir: &Path, base: &str) -> BTreeMap<(usize, Vec<u8>), (String, String)> {
    let dir2 = TempDir::new("rw-base-alone");
    std::fs::create_dir(aof_dir(dir2.path())).unwrap();
    std::fs::copy(aof_dir(dir).join(base), aof_dir(dir2.path()).join(base)).unwrap();
    std::fs::write(
        aof_dir(dir2.path()).join(MANIFEST),
        format!("file {base} seq 1 type b\n"),
    )
    .unwrap();
    let alone = start(dir2.path(), &[]);
    dump(alone.port)
}

/// Elements of `key` in the records of a base: fields, members or list elements (bytes
/// for a string), and the field deadlines.
fn base_count(recs: &[Vec<Vec<u8>>], key: &[u8]) -> (usize, usize) {
    let (mut elems, mut ttls) = (0, 0);
    for r in recs.iter().filter(|r| r.len() > 1 && r[1] == key) {
        match String::from_utf8_lossy(&r[0]).to_ascii_uppercase().as_str() {
            "HSET" | "ZADD" => elems += (r.len() - 2) / 2,
            "RPUSH" | "SADD" => elems += r.len() - 2,
            "SET" | "APPEND" => elems += r[2].len(),
            "HPEXPIREAT" => ttls += r.len() - 5,
            _ => {}
        }
    }
    (elems, ttls)
}

/// One rewrite per case: the big key it writes first (the newest, made so by RENAME) is
/// changed, deleted or expired right after the rewrite starts, while it is being written
/// in pieces. The base must hold that key exactly as it was at the start (checked by
/// loading the base alone into a second server, or, for keys that expire meanwhile, by
/// counting its elements in the base), and after kill -9 the live dataset comes back.
#[test]
fn big_value_being_written_hands_over_its_current_form() {
    let dir = TempDir::new("rw-held");
    let mut srv = start(dir.path(), &["--loglevel", "debug"]);
    let port = srv.port;
    const N: usize = 100_000;
    let far = now_ms() + 3_600_000;
    let mut cmds = Vec::new();
    for i in 0..200 {
        cmds.push(encs(&["HSET", &format!("small:{i}"), "a", &i.to_string()]));
    }
    many(&mut cmds, &["HSET", "hash"], N, &|i| {
        vec![format!("f{i}"), format!("v{i}")]
    });
    field_deadlines(&mut cmds, "hash", N, 5, far);
    many(&mut cmds, &["RPUSH", "list"], N, &|i| vec![format!("e{i}")]);
    many(&mut cmds, &["ZADD", "zset"], N, &|i| {
        vec![(i % 1000).to_string(), format!("z{i}")]
    });
    many(&mut cmds, &["SADD", "set"], N, &|i| vec![format!("m{i}")]);
    many(&mut cmds, &["HSET", "fx"], N, &|i| {
        vec![format!("f{i}"), "y".into()]
    });
    cmds.push(encs(&["SET", "str", &"s".repeat(6 << 20)]));
    pipeline_ok(port, &cmds);
    let mut c = srv.connect();
    ok(c.cmd("DEBUG SET-ACTIVE-EXPIRE 0"));

    // (key to write first, commands sent once the rewrite runs (a second big key changed
    // too is still pending then), what expires during the rewrite: "" nothing, "key" the
    // key, "fields" half of its fields)
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, Vec<Vec<&str>>, &str)> = vec![
        (
            "hash",
            vec![
                vec!["HSET", "hash", "f1", "new"],
                vec!["HDEL", "hash", "f99999"],
            ],
            "",
        ),
        (
            "list",
            vec![vec!["LPOP", "list", "3"], vec!["RPUSH", "list", "x"]],
            "",
        ),
        ("zset", vec![vec!["DEL", "zset"]], ""),
        ("str", vec![vec!["APPEND", "str", "tail"]], ""),
        (
            "set",
            vec![vec!["SREM", "set", "m5"], vec!["SADD", "hash", "nope"]],
            "",
        ),
        ("list", vec![vec!["EXISTS", "list"]], "key"),
        ("fx", vec![vec!["HGET", "fx", "f0"]], "fields"),
    ];
    let mut handed_over = 0;
    for (round, (key, changes, expires)) in cases.into_iter().enumerate() {
        // The newest key is the first one the rewrite writes.
        let name = format!("{key}:{round}");
        let old = match c.cmd(&format!("EXISTS {key}")).as_str() {
            ":1\r\n" => key.to_string(),
            _ => format!("{key}:{}", round - 1),
        };
        let old = if c.cmd(&format!("EXISTS {old}")) == ":1\r\n" {
            old
        } else {
            // Deleted in an earlier round: use the list of round 1 instead.
            "list:1".into()
        };
        ok(c.cmd(&format!("RENAME {old} {name}")));
        let before = dump(port);
        let card = match c.cmd(&format!("TYPE {name}")).as_str() {
            "+string\r\n" => c.cmd(&format!("STRLEN {name}")),
            "+list\r\n" => c.cmd(&format!("LLEN {name}")),
            "+set\r\n" => c.cmd(&format!("SCARD {name}")),
            "+zset\r\n" => c.cmd(&format!("ZCARD {name}")),
            _ => c.cmd(&format!("HLEN {name}")),
        };
        let card: usize = card.trim_start_matches(':').trim().parse().unwrap();
        let log_before = srv.log_text().matches("written in pieces").count();
        // What expires runs out a few milliseconds into the rewrite, and the command sent
        // then (EXISTS, HGET) removes it.
        let mut first = vec![];
        if expires == "key" {
            first.push(encs(&["PEXPIRE", &name, "5"]));
        } else if expires == "fields" {
            let mut a = vec![
                "HPEXPIRE".to_string(),
                name.clone(),
                "5".into(),
                "FIELDS".into(),
            ];
            a.push((N / 2).to_string());
            a.extend((0..N / 2).map(|i| format!("f{}", 2 * i)));
            first.push(Client::encode(
                &a.iter().map(|s| s.as_bytes()).collect::<Vec<_>>(),
            ));
        }
        first.push(encs(&["BGREWRITEAOF"]));
        let r = pipeline(port, &first);
        assert_eq!(
            r.last().unwrap(),
            b"+Background append only file rewriting started\r\n"
        );
        if !expires.is_empty() {
            std::thread::sleep(Duration::from_millis(6));
        }
        let mut batch = Vec::new();
        for ch in &changes {
            let ch: Vec<String> = ch
                .iter()
                .map(|a| {
                    if *a == key {
                        name.clone()
                    } else {
                        a.to_string()
                    }
                })
                .collect();
            let a: Vec<&str> = ch.iter().map(|s| s.as_str()).collect();
            batch.push(encs(&a));
        }
        let replies = pipeline(port, &batch);
        common::wait_rewrites(&mut c, round as u64 + 1, 30);
        handed_over += srv.log_text().matches("written in pieces").count() - log_before;

        let m = manifest(dir.path());
        let base = base_of(&m).expect("a base");
        let recs = base_records(&aof_dir(dir.path()).join(&base));
        let (elems, ttls) = base_count(&recs, name.as_bytes());
        if expires == "fields" {
            // Every field if the rewrite got to the hash before the deadline (then half
            // have one), else only the other half, without deadlines.
            assert!(
                (elems, ttls) == (card, N / 2) || (elems, ttls) == (card - N / 2, 0),
                "round {round}: {elems} fields, {ttls} deadlines of {name} in the base"
            );
            continue;
        }
        assert_eq!(
            elems, card,
            "round {round}: elements of {name} in the base ({replies:?})"
        );
        if !expires.is_empty() {
            continue;
        }
        assert_same(
            &before,
            &dump_of_base(dir.path(), &base),
            &format!("round {round}: the base differs from the start"),
        );
    }
    eprintln!("the key being written was handed over in {handed_over} of 7 rounds");
    assert!(
        handed_over >= 1,
        "no change reached a value while it was written in pieces"
    );

    let live = dump(port);
    drop(c);
    srv.kill9();
    let srv = start(dir.path(), &[]);
    assert_same(
        &live,
        &dump(srv.port),
        "dataset after restart differs from the live one",
    );
}
