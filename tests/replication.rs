//! Replication against real servers: ferrokv as a master of redis-server 7, as a replica
//! of redis-server 7, and of itself; each time under concurrent writes, and each time the
//! two datasets compared key by key.
//!
//! - `redis_replica_of_ferrokv_converges`: redis-server 7 `--replicaof` a ferrokv master
//!   that holds a varied dataset (every type, small and big encodings, expiries, databases
//!   0/3/9), while writer threads hammer the master during the full sync and after. Then a
//!   partial resync (`CLIENT KILL TYPE replica` while the writers run: both logs must say
//!   so), and a replica away for longer than a 16 KB backlog covers (a full resync).
//! - `ferrokv_replica_of_redis_converges`: the mirror image: two ferrokv replicas of
//!   redis-server 7, one synced diskless (`$EOF:` framing), one from disk (`$<len>`); a
//!   forced partial resync; Redis's `WAIT` counts ferrokv's acks; writes to a replica get
//!   Redis's `-READONLY` bytes; a replica killed with SIGKILL comes back from its own AOF
//!   and converges again.
//! - `ferrokv_replica_of_ferrokv_and_promotion`: ferrokv to ferrokv, then `REPLICAOF NO
//!   ONE`: the promoted replica keeps the data, takes writes, says `master` in ROLE, and its
//!   INFO shows a new replication ID with the old one as `master_replid2`.
//! - `redis_cli_rdb_backup_loads`: `redis-cli --rdb` from ferrokv, checked by
//!   `redis-check-rdb` and loaded by redis-server 7; also a bare `SYNC` (no `capa eof`), which
//!   gets the RDB with a `$<len>` header.
//! - `wait_counts_acks`: WAIT with no replica, with one, inside MULTI, on a replica, and its
//!   argument errors, against redis-server's replies.
//! - `min_replicas_to_write_refuses_like_redis`: `-NOREPLICAS` byte for byte against
//!   redis-server with no replica (writes and EXEC refused, reads served), writes accepted
//!   once a replica is online and counted by INFO.
//! - `replica_serve_stale_data_and_readonly`: a replica whose master died: link down,
//!   `replica-serve-stale-data no` answers like a redis-server replica byte for byte, and the
//!   restarted master (same port, same directory) is followed again.
//!
//! A "snapshot" is every key of every database with its TYPE, its PEXPIRETIME (absolute
//! milliseconds: both sides must agree exactly) and its value: strings byte for byte, hashes
//! as field maps (and HGETALL's field order when both sides keep the hash as a listpack),
//! lists in order, sets as sets, sorted sets as ZRANGE WITHSCORES. A mismatch panics with a
//! per-key diff. Convergence is polled (INFO offsets) with deadlines, never slept for.
//!
//! Needs redis-server >= 7, redis-cli and redis-check-rdb; skipped (SKIPPED printed) without
//! them, unless CI is set.

#[macro_use]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::diff::{R, bulk_payload, parse_all};
use common::{Client, Rng, Server, TempDir, free_port, now_ms, redis7_available, show, which};

/// The databases the dataset and the writers use.
const DBS: [usize; 3] = [0, 3, 9];
/// The masters' backlog: the writers' stream for the seconds a replica takes to come
/// back, so a cut link resumes with a partial resync.
const BACKLOG: &str = "64mb";
/// How long a convergence may take before the test fails.
const CONVERGE_SECS: u64 = 20;

// ---------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------

type Cmd = Vec<Vec<u8>>;

fn show_cmd(cmd: &Cmd) -> String {
    cmd.iter().map(|a| show(a)).collect::<Vec<_>>().join(" ")
}

/// The first error in a reply (errors inside an EXEC reply count).
fn error_in(r: &R) -> Option<String> {
    match r {
        R::Leaf(b) if b.first() == Some(&b'-') => Some(String::from_utf8_lossy(b).into_owned()),
        R::Agg(_, kids) => kids.iter().find_map(error_in),
        _ => None,
    }
}

/// Sends `cmds` as one pipeline and returns the parsed replies.
fn pipeline(c: &mut Client, cmds: &[Cmd]) -> Vec<R> {
    let mut out = Vec::new();
    for cmd in cmds {
        let refs: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
        out.extend(Client::encode(&refs));
    }
    c.send_raw(&out);
    cmds.iter()
        .map(|cmd| {
            let bytes = c.read_reply();
            parse_all(&bytes)
                .unwrap_or_else(|| panic!("{}: unparsable reply {}", show_cmd(cmd), show(&bytes)))
        })
        .collect()
}

/// `pipeline`, panicking on any error reply.
fn pipeline_ok(c: &mut Client, cmds: &[Cmd]) -> Vec<R> {
    let replies = pipeline(c, cmds);
    for (cmd, r) in cmds.iter().zip(&replies) {
        if let Some(e) = error_in(r) {
            panic!("{} failed: {e}", show_cmd(cmd));
        }
    }
    replies
}

fn bulks(r: &R) -> Vec<Vec<u8>> {
    match r {
        R::Agg(_, kids) => kids
            .iter()
            .map(|k| bulk_payload(k).expect("a bulk string"))
            .collect(),
        other => panic!("expected an array, got {other:?}"),
    }
}

fn int(r: &R) -> i64 {
    match r {
        R::Leaf(b) if b.first() == Some(&b':') => std::str::from_utf8(&b[1..b.len() - 2])
            .unwrap()
            .parse()
            .unwrap(),
        other => panic!("expected an integer, got {other:?}"),
    }
}

/// Status or bulk text of a leaf.
fn text(r: &R) -> String {
    match r {
        R::Leaf(b) if b.first() == Some(&b'+') => {
            String::from_utf8_lossy(&b[1..b.len() - 2]).into_owned()
        }
        other => bulk_payload(other)
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_else(|| panic!("expected a string, got {other:?}")),
    }
}

/// One INFO section's `field:value` lines.
fn info(c: &mut Client, section: &str) -> BTreeMap<String, String> {
    let r = c.cmd_bytes(&[b"INFO", section.as_bytes()]);
    let body = bulk_payload(&parse_all(&r).unwrap()).expect("INFO is a bulk string");
    String::from_utf8_lossy(&body)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn repl_field(c: &mut Client, field: &str) -> String {
    let i = info(c, "replication");
    i.get(field)
        .cloned()
        .unwrap_or_else(|| panic!("INFO replication has no {field}: {i:?}"))
}

/// Polls `f` until it returns Ok, for at most `secs`; panics with its last Err.
fn poll<T>(secs: u64, what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if Instant::now() > deadline => panic!("{what}: not within {secs}s: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(25)),
        }
    }
}

/// Prints the end of each server's log if the test panics while it is alive.
struct LogsOnPanic<'a>(Vec<(&'a str, &'a Server)>);

impl Drop for LogsOnPanic<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for (who, s) in &self.0 {
            let log = s.log_text();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            eprintln!("---- the end of {who}'s log:\n{tail}");
        }
    }
}

/// How many lines of a server's log contain `needle`.
fn log_count(s: &Server, needle: &str) -> usize {
    s.log_text().lines().filter(|l| l.contains(needle)).count()
}

fn wait_log(s: &Server, who: &str, needle: &str, n: usize) {
    poll(CONVERGE_SECS, &format!("{who} logging {needle:?}"), || {
        let got = log_count(s, needle);
        if got >= n {
            Ok(())
        } else {
            Err(format!("{got} of {n} times; log:\n{}", s.log_text()))
        }
    });
}

// ---------------------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(Vec<u8>),
    /// Fields, and HGETALL's order when the hash is a listpack (insertion order).
    Hash(BTreeMap<Vec<u8>, Vec<u8>>, Option<Vec<Vec<u8>>>),
    List(Vec<Vec<u8>>),
    Set(BTreeSet<Vec<u8>>),
    /// ZRANGE 0 -1 WITHSCORES: (member, score as the server formats it).
    ZSet(Vec<(Vec<u8>, Vec<u8>)>),
    Other(String),
}

#[derive(Debug, Clone)]
struct KeyState {
    value: Value,
    /// PEXPIRETIME: absolute unix ms, -1 without an expiry.
    expire_at: i64,
}

type Snapshot = BTreeMap<(usize, Vec<u8>), KeyState>;

/// Reads every key of every database. A key that disappears while it is read (its
/// expiry passed) is left out, as a server that already reclaimed it would leave it out.
fn snapshot(c: &mut Client) -> Snapshot {
    let mut snap = Snapshot::new();
    for db in 0..16usize {
        let r = pipeline_ok(c, &[a!["SELECT", db.to_string()], a!["KEYS", "*"]]);
        let keys = bulks(&r[1]);
        for chunk in keys.chunks(100) {
            let meta: Vec<Cmd> = chunk
                .iter()
                .flat_map(|k| {
                    [
                        a!["TYPE", k],
                        a!["PEXPIRETIME", k],
                        a!["OBJECT", "ENCODING", k],
                    ]
                })
                .collect();
            let meta = pipeline(c, &meta);
            let types: Vec<String> = (0..chunk.len()).map(|i| text(&meta[3 * i])).collect();
            let reads: Vec<Cmd> = chunk
                .iter()
                .zip(&types)
                .map(|(k, t)| match t.as_str() {
                    "string" => a!["GET", k],
                    "hash" => a!["HGETALL", k],
                    "list" => a!["LRANGE", k, "0", "-1"],
                    "set" => a!["SMEMBERS", k],
                    "zset" => a!["ZRANGE", k, "0", "-1", "WITHSCORES"],
                    _ => a!["EXISTS", k],
                })
                .collect();
            let vals = pipeline_ok(c, &reads);
            for (i, k) in chunk.iter().enumerate() {
                let expire_at = int(&meta[3 * i + 1]);
                if types[i] == "none" || expire_at == -2 {
                    continue;
                }
                let encoding = bulk_payload(&meta[3 * i + 2]);
                let value = match types[i].as_str() {
                    "string" => match bulk_payload(&vals[i]) {
                        Some(v) => Value::Str(v),
                        None => continue,
                    },
                    "hash" => {
                        let flat = bulks(&vals[i]);
                        let fields: BTreeMap<_, _> = flat
                            .chunks(2)
                            .map(|p| (p[0].clone(), p[1].clone()))
                            .collect();
                        let order = (encoding.as_deref() == Some(b"listpack"))
                            .then(|| flat.iter().step_by(2).cloned().collect());
                        Value::Hash(fields, order)
                    }
                    "list" => Value::List(bulks(&vals[i])),
                    "set" => Value::Set(bulks(&vals[i]).into_iter().collect()),
                    "zset" => Value::ZSet(
                        bulks(&vals[i])
                            .chunks(2)
                            .map(|p| (p[0].clone(), p[1].clone()))
                            .collect(),
                    ),
                    t => Value::Other(t.to_string()),
                };
                snap.insert((db, k.clone()), KeyState { value, expire_at });
            }
        }
    }
    pipeline_ok(c, &[a!["SELECT", "0"]]);
    snap
}

/// What differs between two values, in a line or a few.
fn value_diff(l: &Value, r: &Value, ln: &str, rn: &str) -> Vec<String> {
    let mut out = Vec::new();
    match (l, r) {
        (Value::Hash(lf, lo), Value::Hash(rf, ro)) => {
            for f in lf.keys().chain(rf.keys()).collect::<BTreeSet<_>>() {
                let (a, b) = (lf.get(f), rf.get(f));
                if a != b {
                    let s = |v: Option<&Vec<u8>>| v.map_or("(none)".into(), |v| show(v));
                    out.push(format!("field {}: {ln} {} vs {rn} {}", show(f), s(a), s(b)));
                }
            }
            // The order is only defined while both keep the hash as a listpack.
            if out.is_empty()
                && let (Some(lo), Some(ro)) = (lo, ro)
                && lo != ro
            {
                let names = |o: &Vec<Vec<u8>>| o.iter().map(|f| show(f)).collect::<Vec<_>>();
                out.push(format!(
                    "HGETALL order {ln} {:?} vs {rn} {:?}",
                    names(lo),
                    names(ro)
                ));
            }
        }
        (Value::List(a), Value::List(b)) if a != b => {
            let at = a
                .iter()
                .zip(b)
                .position(|(x, y)| x != y)
                .unwrap_or(a.len().min(b.len()));
            out.push(format!(
                "list lengths {ln} {} vs {rn} {}, first difference at index {at}",
                a.len(),
                b.len()
            ));
        }
        (Value::Set(a), Value::Set(b)) if a != b => {
            let only_l: Vec<_> = a.difference(b).take(5).map(|m| show(m)).collect();
            let only_r: Vec<_> = b.difference(a).take(5).map(|m| show(m)).collect();
            out.push(format!(
                "set members only in {ln} {only_l:?}, only in {rn} {only_r:?}"
            ));
        }
        (Value::ZSet(a), Value::ZSet(b)) if a != b => {
            let at = a.iter().zip(b).position(|(x, y)| x != y);
            let s = |z: Option<&(Vec<u8>, Vec<u8>)>| {
                z.map_or("(end)".into(), |(m, sc)| {
                    format!("{}={}", show(m), show(sc))
                })
            };
            let at = at.unwrap_or(a.len().min(b.len()));
            out.push(format!(
                "zset sizes {ln} {} vs {rn} {}, at rank {at}: {ln} {} vs {rn} {}",
                a.len(),
                b.len(),
                s(a.get(at)),
                s(b.get(at))
            ));
        }
        (Value::Str(a), Value::Str(b)) if a != b => {
            out.push(format!("value {ln} {} vs {rn} {}", show(a), show(b)))
        }
        (a, b) if std::mem::discriminant(a) != std::mem::discriminant(b) => {
            out.push(format!("{ln} {a:?} vs {rn} {b:?}"))
        }
        _ => {}
    }
    out
}

/// Panics with a per-key diff unless the snapshots hold the same keys, values and expiries.
fn assert_same(what: &str, ln: &str, l: &Snapshot, rn: &str, r: &Snapshot) {
    let mut diffs = Vec::new();
    for k in l.keys().chain(r.keys()).collect::<BTreeSet<_>>() {
        let name = format!("db {} key {}", k.0, show(&k.1));
        match (l.get(k), r.get(k)) {
            (Some(_), None) => diffs.push(format!("{name}: only in {ln}")),
            (None, Some(_)) => diffs.push(format!("{name}: only in {rn}")),
            (Some(a), Some(b)) => {
                if a.expire_at != b.expire_at {
                    diffs.push(format!(
                        "{name}: PEXPIRETIME {ln} {} vs {rn} {}",
                        a.expire_at, b.expire_at
                    ));
                }
                for d in value_diff(&a.value, &b.value, ln, rn) {
                    diffs.push(format!("{name}: {d}"));
                }
            }
            (None, None) => unreachable!(),
        }
    }
    if !diffs.is_empty() {
        let total = diffs.len();
        diffs.truncate(40);
        panic!(
            "{what}: {total} difference(s) between {ln} ({} keys) and {rn} ({} keys):\n  {}",
            l.len(),
            r.len(),
            diffs.join("\n  ")
        );
    }
}

/// Key counts per type, to check a snapshot covers what the test means to compare.
fn assert_covers(s: &Snapshot, who: &str) {
    let mut types: BTreeMap<&str, usize> = BTreeMap::new();
    for st in s.values() {
        let t = match &st.value {
            Value::Str(_) => "string",
            Value::Hash(..) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Other(_) => "other",
        };
        *types.entry(t).or_default() += 1;
    }
    let dbs: BTreeSet<usize> = s.keys().map(|k| k.0).collect();
    let ttls = s.values().filter(|k| k.expire_at > 0).count();
    for t in ["string", "hash", "list", "set", "zset"] {
        assert!(
            types.get(t).copied().unwrap_or(0) >= 5,
            "{who}: few {t}s: {types:?}"
        );
    }
    assert!(
        DBS.iter().all(|d| dbs.contains(d)),
        "{who}: databases {dbs:?}"
    );
    assert!(ttls >= 20, "{who}: only {ttls} keys with an expiry");
}

// ---------------------------------------------------------------------------------------
// The dataset and the writers
// ---------------------------------------------------------------------------------------

/// A varied dataset in databases 0, 3 and 9: every type in its small and its big
/// encoding, binary names and values, absolute expiries from `t0` (all far off).
fn preload(c: &mut Client, t0: i64) {
    for &db in &DBS {
        let mut b: Vec<Cmd> = vec![a!["SELECT", db.to_string()]];
        let p = |s: &str| format!("{s}:{db}");
        // Strings: integers, binary, empty, big.
        for i in 0..300 {
            let v = match i % 5 {
                0 => i.to_string().into_bytes(),
                1 => vec![0, 255, b'\r', b'\n', i as u8],
                2 => Vec::new(),
                3 => vec![b'x'; 1000 + i],
                _ => format!("value {i} in {db}").into_bytes(),
            };
            b.push(a!["SET", format!("s:{i}"), v]);
        }
        b.push(a!["SET", p("big"), vec![7u8; 300_000]]);
        b.push(a!["SET", b"bin\x00key\xff", "binary name"]);
        b.push(a!["INCRBYFLOAT", p("float"), "3.0e-3"]);
        // Hashes: listpacks (order matters), a hashtable by size and one by value length.
        for i in 0..40 {
            let mut cmd = a!["HSET", format!("h:{i}")];
            for j in 0..=(i % 7) {
                cmd.push(format!("f{}", (j * 7 + i) % 11).into_bytes());
                cmd.push(format!("v{i}.{j}").into_bytes());
            }
            b.push(cmd);
        }
        let mut big = a!["HSET", p("hbig")];
        for j in 0..600 {
            big.push(format!("field:{j}").into_bytes());
            big.push(format!("{}", j * 3).into_bytes());
        }
        b.push(big);
        b.push(a!["HSET", p("hlong"), "a", "1", "b", "y".repeat(100)]);
        b.push(a!["HINCRBYFLOAT", p("hlong"), "c", "1.5"]);
        // Lists: small, big, with long elements.
        for i in 0..30 {
            let mut cmd = a!["RPUSH", format!("l:{i}")];
            for j in 0..=(i % 6) {
                cmd.push(format!("e{j}").into_bytes());
            }
            b.push(cmd);
        }
        let mut big = a!["RPUSH", p("lbig")];
        for j in 0..3000 {
            big.push(if j % 100 == 0 {
                vec![b'L'; 200]
            } else {
                j.to_string().into_bytes()
            });
        }
        b.push(big);
        b.push(a!["LPUSH", p("lbig"), "head"]);
        // Sets: integers (intset), short strings, big.
        for i in 0..30 {
            let mut cmd = a!["SADD", format!("t:{i}")];
            for j in 0..=(i % 5) {
                cmd.push(if i % 2 == 0 {
                    (j * 1000 - 7).to_string().into_bytes()
                } else {
                    format!("m{j}").into_bytes()
                });
            }
            b.push(cmd);
        }
        let mut big = a!["SADD", p("tbig")];
        for j in 0..1000 {
            big.push(format!("member:{j}").into_bytes());
        }
        b.push(big);
        let mut ints = a!["SADD", p("tints")];
        for j in 0..1000 {
            ints.push((j * 37).to_string().into_bytes());
        }
        b.push(ints);
        // Sorted sets: small, big, odd scores.
        for i in 0..30 {
            let mut cmd = a!["ZADD", format!("z:{i}")];
            for j in 0..=(i % 6) {
                cmd.push(format!("{}.{}", j as i64 - 2, i).into_bytes());
                cmd.push(format!("zm{j}").into_bytes());
            }
            b.push(cmd);
        }
        b.push(a![
            "ZADD",
            p("zodd"),
            "-inf",
            "lo",
            "inf",
            "hi",
            "0.1",
            "tenth",
            "1e300",
            "huge"
        ]);
        b.push(a!["ZINCRBY", p("zodd"), "0.2", "tenth"]);
        let mut big = a!["ZADD", p("zbig")];
        for j in 0..500 {
            big.push(format!("{}", (j * 7919) % 1000).into_bytes());
            big.push(format!("zmember:{j}").into_bytes());
        }
        b.push(big);
        // Expiries on every type, absolute and relative, all far off.
        for (i, k) in ["s:3", "h:4", "l:5", "t:6", "z:7", "s:8"]
            .iter()
            .enumerate()
        {
            b.push(a![
                "PEXPIREAT",
                k,
                (t0 + 5_000_000 + i as i64 * 1111).to_string()
            ]);
        }
        for i in (10..300).step_by(25) {
            b.push(a!["EXPIRE", format!("s:{i}"), (1000 + i).to_string()]);
        }
        b.push(a!["SET", p("ttl:ex"), "v", "EX", "3000"]);
        b.push(a![
            "SET",
            p("ttl:pxat"),
            "v",
            "PXAT",
            (t0 + 7_777_777).to_string()
        ]);
        b.push(a!["EXPIRE", p("hbig"), "9000"]);
        b.push(a!["EXPIRE", p("zbig"), "9000"]);
        pipeline_ok(c, &b);
    }
    pipeline_ok(c, &[a!["SELECT", "0"]]);
}

/// Threads sending mixed writes, in pipelined batches over databases 0, 3 and 9, until
/// stopped.
struct Writers {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<u64>>,
}

impl Writers {
    /// `short_ttls`: during their first half second, writers also set expiries of a few
    /// hundred ms (they expire and are deleted by the master well before any comparison).
    fn start(port: u16, n: usize, seed: u64, short_ttls: bool) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|t| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut c = Client::connect(port);
                    let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(t as u64 + 1));
                    let started = Instant::now();
                    let mut sent = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let short = short_ttls && started.elapsed() < Duration::from_millis(500);
                        let batch = random_batch(&mut rng, short);
                        sent += batch.len() as u64;
                        pipeline_ok(&mut c, &batch);
                        // Leave the servers some CPU: two cores run all of this.
                        std::thread::sleep(Duration::from_micros(500));
                    }
                    sent
                })
            })
            .collect();
        Writers { stop, threads }
    }

    /// Stops the writers; returns how many commands they sent.
    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.threads.into_iter().map(|t| t.join().unwrap()).sum()
    }
}

/// Key namespaces of the writers, one type each (so no command meets a wrong type).
const KINDS: [&str; 7] = ["s", "c", "h", "l", "t", "z", "e"];

fn wkey(rng: &mut Rng, kind: &str) -> Vec<u8> {
    format!("w:{kind}:{}", rng.below(48)).into_bytes()
}

fn wvalue(rng: &mut Rng) -> Vec<u8> {
    match rng.below(6) {
        0 => Vec::new(),
        1 => vec![b'v'; 80],
        2 => vec![0, 1, 255, b'\n'],
        3 => rng.below(100_000).to_string().into_bytes(),
        _ => format!("val{}", rng.below(1000)).into_bytes(),
    }
}

/// One write (never an error on keys of the writers' namespaces).
fn random_write(rng: &mut Rng, short: bool) -> Cmd {
    let kind = KINDS[rng.below(KINDS.len() as u64) as usize];
    let any = wkey(rng, kind);
    match rng.below(17) {
        0 => a!["SET", wkey(rng, "s"), wvalue(rng)],
        1 => a![
            "SET",
            wkey(rng, "e"),
            wvalue(rng),
            "EX",
            (2000 + rng.below(5000)).to_string()
        ],
        2 => a![
            "INCRBY",
            wkey(rng, "c"),
            (rng.below(200) as i64 - 100).to_string()
        ],
        3 => a![
            "HSET",
            wkey(rng, "h"),
            format!("f{}", rng.below(12)),
            wvalue(rng)
        ],
        4 => a!["HDEL", wkey(rng, "h"), format!("f{}", rng.below(12)), "f0"],
        5 => {
            let by = ["1.25", "-0.5", "3e-3", "10"][rng.below(4) as usize];
            a!["HINCRBYFLOAT", wkey(rng, "h"), "num", by]
        }
        6 => a![
            "RPUSH",
            wkey(rng, "l"),
            wvalue(rng),
            format!("x{}", rng.below(9))
        ],
        7 => a!["LPOP", wkey(rng, "l")],
        8 => a![
            "SADD",
            wkey(rng, "t"),
            rng.below(30).to_string(),
            format!("m{}", rng.below(30))
        ],
        9 => a!["SREM", wkey(rng, "t"), rng.below(30).to_string()],
        10 => a![
            "ZADD",
            wkey(rng, "z"),
            format!("{}.5", rng.below(100)),
            format!("zm{}", rng.below(20))
        ],
        11 => {
            let by = ["0.1", "-2", "1e-5", "7"][rng.below(4) as usize];
            a![
                "ZINCRBY",
                wkey(rng, "z"),
                by,
                format!("zm{}", rng.below(20))
            ]
        }
        12 if short => a!["PEXPIRE", any, (100 + rng.below(300)).to_string()],
        12 | 13 => a!["EXPIRE", any, (1000 + rng.below(100_000)).to_string()],
        14 => a!["DEL", any],
        15 => a!["PERSIST", any],
        _ => a!["LPOP", wkey(rng, "l"), "2"],
    }
}

/// A SELECT of one of the databases, then writes, some inside MULTI/EXEC.
fn random_batch(rng: &mut Rng, short: bool) -> Vec<Cmd> {
    let db = DBS[rng.below(DBS.len() as u64) as usize];
    let mut b = vec![a!["SELECT", db.to_string()]];
    for _ in 0..(10 + rng.below(20)) {
        if rng.below(12) == 0 {
            b.push(a!["MULTI"]);
            for _ in 0..(1 + rng.below(3)) {
                b.push(random_write(rng, short));
            }
            b.push(a!["EXEC"]);
        } else {
            b.push(random_write(rng, short));
        }
    }
    b
}

// ---------------------------------------------------------------------------------------
// Servers and convergence
// ---------------------------------------------------------------------------------------

/// True if redis-server >= 7, redis-cli and redis-check-rdb are installed (else SKIPPED,
/// or a panic under CI).
fn tools_available() -> bool {
    if !redis7_available("the replication tests") {
        return false;
    }
    for tool in ["redis-cli", "redis-check-rdb"] {
        if which(tool).is_none() {
            assert!(std::env::var_os("CI").is_none(), "{tool} is needed in CI");
            eprintln!("SKIPPED: {tool} not found (run scripts/setup-test-deps)");
            return false;
        }
    }
    true
}

fn redis_bin() -> String {
    which("redis-server").unwrap()
}

fn replicaof(port: u16) -> String {
    format!("127.0.0.1 {port}")
}

/// Starts redis-server 7 with `extra`; panics if it does not start.
fn start_redis(extra: &[&str]) -> Server {
    Server::start_redis_bin(&redis_bin(), extra).expect("redis-server starts")
}

/// Starts ferrokv on `port` (not a free one: a restart where replicas expect it) in `dir`.
fn start_ferrokv_at(dir: &Path, port: u16, extra: &[&str]) -> Server {
    Server::start_at(dir, port, extra).unwrap_or_else(|e| panic!("{e}"))
}

/// Waits until the replica's link to its master is up.
fn wait_link_up(c: &mut Client, who: &str) {
    poll(CONVERGE_SECS, &format!("{who}: master link up"), || {
        let i = info(c, "replication");
        match i.get("master_link_status").map(String::as_str) {
            Some("up") => Ok(()),
            _ => Err(format!("{i:?}")),
        }
    });
}

/// Stops the writers, then: WAIT on the master counts every replica, the replicas'
/// offsets reach the master's, and every replica holds the master's dataset. Returns the
/// master's snapshot.
fn converge(
    what: &str,
    writers: Option<Writers>,
    master: (&str, &mut Client),
    replicas: &mut [(&str, &mut Client)],
) -> Snapshot {
    if let Some(w) = writers {
        let sent = w.stop();
        assert!(sent > 1000, "{what}: the writers sent only {sent} commands");
    }
    let (mn, m) = master;
    let n = replicas.len();
    let waited = m.cmd(&format!("WAIT {n} 5000"));
    assert_eq!(waited, format!(":{n}\r\n"), "{what}: WAIT {n} 5000 on {mn}");
    for (rn, r) in replicas.iter_mut() {
        poll(
            CONVERGE_SECS,
            &format!("{what}: {rn} reaching {mn}'s offset"),
            || {
                let want = repl_field(m, "master_repl_offset");
                let ri = info(r, "replication");
                match (ri.get("slave_repl_offset"), ri.get("master_link_status")) {
                    (Some(got), Some(up)) if *got == want && up == "up" => Ok(()),
                    _ => Err(format!("{mn} at {want}, {rn}: {ri:?}")),
                }
            },
        );
    }
    let ms = snapshot(m);
    for (rn, r) in replicas.iter_mut() {
        assert_same(what, mn, &ms, rn, &snapshot(r));
    }
    ms
}

/// Preloads the master `m`, starts writers, then the replica (`start_replica(m's port)`)
/// while they write: its full sync runs under writes, and a second of the stream after.
/// Then `converge`. Returns the replica and the master's snapshot.
fn sync_under_writes(
    what: &str,
    (mn, m): (&str, &Server),
    (rn, start_replica): (&str, &dyn Fn(u16) -> Server),
    seed: u64,
) -> (Server, Snapshot) {
    let mut mc = m.connect();
    preload(&mut mc, now_ms());
    let writers = Writers::start(m.port, 3, seed, true);
    std::thread::sleep(Duration::from_millis(200));
    let r = start_replica(m.port);
    let snap = {
        let _logs = LogsOnPanic(vec![(mn, m), (rn, &r)]);
        let mut rc = r.connect();
        wait_link_up(&mut rc, rn);
        std::thread::sleep(Duration::from_millis(1000));
        converge(what, Some(writers), (mn, &mut mc), &mut [(rn, &mut rc)])
    };
    assert_covers(&snap, mn);
    (r, snap)
}

/// The replies of `cmds` sent one by one.
fn answers(c: &mut Client, cmds: &[&[&str]]) -> Vec<String> {
    cmds.iter().map(|cmd| c.cmdv(cmd)).collect()
}

/// Writes a replica refuses, and reads it serves, with the transaction cases.
const ON_A_REPLICA: &[&[&str]] = &[
    &["SET", "k", "v"],
    &["DEL", "nokey"],
    &["INCR", "nokey"],
    &["HSET", "nokey", "f", "v"],
    &["GET", "nokey"],
    &["MULTI"],
    &["SET", "k", "v"],
    &["EXEC"],
    &["MULTI"],
    &["GET", "nokey"],
    &["EXEC"],
    &["PING"],
];

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn redis_replica_of_ferrokv_converges() {
    if !tools_available() {
        return;
    }
    let seed = now_ms() as u64;
    eprintln!("seed {seed}");
    let m = Server::start(&["--repl-backlog-size", BACKLOG]);
    let (r, _) = sync_under_writes(
        "after the full sync",
        ("ferrokv", &m),
        ("redis", &|port| {
            start_redis(&["--replicaof", &replicaof(port)])
        }),
        seed,
    );
    let _logs = LogsOnPanic(vec![("ferrokv", &m), ("redis", &r)]);
    let (mut mc, mut rc) = (m.connect(), r.connect());
    assert_eq!(
        log_count(&r, "MASTER <-> REPLICA sync: Finished with success"),
        1
    );
    assert!(
        m.log_text().contains("Synchronization with replica"),
        "{}",
        m.log_text()
    );

    // A cut link resumes from the backlog.
    let writers = Writers::start(m.port, 2, seed + 1, false);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(mc.cmd("CLIENT KILL TYPE replica"), ":1\r\n");
    wait_log(
        &r,
        "redis replica",
        "Successful partial resynchronization",
        1,
    );
    wait_log(
        &m,
        "ferrokv",
        "Partial resynchronization request from replica",
        1,
    );
    wait_link_up(&mut rc, "redis replica");
    std::thread::sleep(Duration::from_millis(500));
    converge(
        "after a partial resync",
        Some(writers),
        ("ferrokv", &mut mc),
        &mut [("redis", &mut rc)],
    );
    assert!(
        m.log_text()
            .contains("Partial resynchronization request from replica")
            && m.log_text().contains("accepted"),
        "{}",
        m.log_text()
    );

    // Away for longer than the backlog covers: a full resync.
    assert_eq!(mc.cmd("CONFIG SET repl-backlog-size 16384"), "+OK\r\n");
    poll(5, "the backlog shrinking", || {
        let size = repl_field(&mut mc, "repl_backlog_size");
        (size == "16384").then_some(()).ok_or(size)
    });
    let fulls = log_count(&m, "Starting full resynchronization");
    r.signal("-STOP");
    assert_eq!(mc.cmd("CLIENT KILL TYPE replica"), ":1\r\n");
    let mut b = vec![a!["SELECT", "3"]];
    for i in 0..100 {
        b.push(a!["SET", format!("away:{i}"), vec![b'a'; 400]]);
    }
    pipeline_ok(&mut mc, &b);
    pipeline_ok(&mut mc, &[a!["SELECT", "0"]]);
    r.signal("-CONT");
    wait_log(&m, "ferrokv", "Starting full resynchronization", fulls + 1);
    wait_log(
        &r,
        "redis replica",
        "MASTER <-> REPLICA sync: Finished with success",
        2,
    );
    assert_eq!(
        log_count(&r, "Successful partial resynchronization"),
        1,
        "the backlog no longer held the missing bytes: {}",
        r.log_text()
    );
    converge(
        "after a full resync",
        None,
        ("ferrokv", &mut mc),
        &mut [("redis", &mut rc)],
    );
}

#[test]
fn ferrokv_replica_of_redis_converges() {
    if !tools_available() {
        return;
    }
    let seed = now_ms() as u64;
    eprintln!("seed {seed}");
    let m = start_redis(&[
        "--repl-diskless-sync",
        "yes",
        "--repl-diskless-sync-delay",
        "0",
        "--repl-backlog-size",
        BACKLOG,
    ]);
    let mut mc = m.connect();
    preload(&mut mc, now_ms());
    let writers = Writers::start(m.port, 3, seed, true);
    std::thread::sleep(Duration::from_millis(200));

    // Replica A syncs diskless ($EOF: framing), replica B from disk ($<len>).
    let a_srv = Server::start(&["--replicaof", &replicaof(m.port)]);
    let mut ac = a_srv.connect();
    wait_link_up(&mut ac, "ferrokv A");
    assert_eq!(mc.cmd("CONFIG SET repl-diskless-sync no"), "+OK\r\n");
    let mut b_srv = Server::start(&["--replicaof", &replicaof(m.port)]);
    let mut bc = b_srv.connect();
    wait_link_up(&mut bc, "ferrokv B");
    let log = m.log_text();
    assert!(
        log.contains("Starting BGSAVE for SYNC with target: replicas sockets"),
        "{log}"
    );
    assert!(
        log.contains("Starting BGSAVE for SYNC with target: disk"),
        "{log}"
    );
    std::thread::sleep(Duration::from_millis(1000));
    let snap = converge(
        "after the full syncs",
        Some(writers),
        ("redis", &mut mc),
        &mut [("ferrokv A", &mut ac), ("ferrokv B", &mut bc)],
    );
    assert_covers(&snap, "redis");

    // A cut link resumes from Redis's backlog, in the database the stream had selected
    // (the master selects nothing again): the SET after the cut goes to database 9.
    pipeline_ok(&mut mc, &[a!["SELECT", "9"], a!["SET", "probe", "1"]]);
    assert_eq!(mc.cmd("WAIT 2 5000"), ":2\r\n");
    assert_eq!(mc.cmd("CLIENT KILL TYPE replica"), ":2\r\n");
    pipeline_ok(&mut mc, &[a!["SET", "probe", "2"], a!["SELECT", "0"]]);
    let writers = Writers::start(m.port, 2, seed + 1, false);
    wait_log(
        &a_srv,
        "ferrokv A",
        "Successful partial resynchronization",
        1,
    );
    wait_log(
        &b_srv,
        "ferrokv B",
        "Successful partial resynchronization",
        1,
    );
    wait_log(&m, "redis", "Partial resynchronization request from", 2);
    std::thread::sleep(Duration::from_millis(500));
    converge(
        "after a partial resync",
        Some(writers),
        ("redis", &mut mc),
        &mut [("ferrokv A", &mut ac), ("ferrokv B", &mut bc)],
    );
    for c in [&mut ac, &mut bc] {
        let i = info(c, "replication");
        assert_eq!(i["role"], "slave", "{i:?}");
        assert_eq!(i["master_link_status"], "up", "{i:?}");
        assert_eq!(
            i["master_replid"],
            repl_field(&mut mc, "master_replid"),
            "{i:?}"
        );
    }

    // A replica refuses writes with the bytes a redis-server replica sends.
    let dead = start_redis(&["--replicaof", &replicaof(free_port())]);
    let want = answers(&mut dead.connect(), ON_A_REPLICA);
    assert!(want[0].starts_with("-READONLY"), "{want:?}");
    assert_eq!(answers(&mut ac, ON_A_REPLICA), want);

    // SIGKILL, and a restart on the same directory: its AOF, then the master again.
    let dir = b_srv.dir.take().unwrap();
    b_srv.kill9();
    drop(b_srv);
    let writers = Writers::start(m.port, 2, seed + 2, false);
    let b_srv = Server::start_in(dir.path(), &["--replicaof", &replicaof(m.port)]);
    assert!(
        b_srv.log_text().contains("DB loaded from append only file"),
        "{}",
        b_srv.log_text()
    );
    let mut bc = b_srv.connect();
    wait_link_up(&mut bc, "ferrokv B restarted");
    std::thread::sleep(Duration::from_millis(500));
    converge(
        "after a restart of replica B",
        Some(writers),
        ("redis", &mut mc),
        &mut [("ferrokv A", &mut ac), ("ferrokv B", &mut bc)],
    );
}

#[test]
fn ferrokv_replica_of_ferrokv_and_promotion() {
    if !tools_available() {
        return;
    }
    let seed = now_ms() as u64;
    eprintln!("seed {seed}");
    let m = Server::start(&[]);
    let (r, snap) = sync_under_writes(
        "ferrokv to ferrokv",
        ("master", &m),
        ("replica", &|port| {
            Server::start(&["--replicaof", &replicaof(port)])
        }),
        seed,
    );
    let _logs = LogsOnPanic(vec![("master", &m), ("replica", &r)]);
    let (mut mc, mut rc) = (m.connect(), r.connect());
    let old = info(&mut mc, "replication");
    assert_eq!(repl_field(&mut rc, "master_replid"), old["master_replid"]);
    assert_eq!(old["connected_slaves"], "1", "{old:?}");
    let role = parse_all(&rc.cmd_bytes(&[b"ROLE"])).unwrap();
    let R::Agg(_, parts) = &role else {
        panic!("ROLE {role:?}")
    };
    assert_eq!(text(&parts[0]), "slave");
    assert_eq!(text(&parts[3]), "connected");

    // Promotion keeps the data and takes writes; the old master no longer reaches it.
    assert_eq!(rc.cmd("REPLICAOF NO ONE"), "+OK\r\n");
    let role = rc.cmd_bytes(&[b"ROLE"]);
    assert!(
        role.starts_with(b"*3\r\n$6\r\nmaster\r\n"),
        "{}",
        show(&role)
    );
    let i = info(&mut rc, "replication");
    assert_eq!(i["role"], "master", "{i:?}");
    assert_ne!(i["master_replid"], old["master_replid"], "{i:?}");
    assert_eq!(i["master_replid2"], old["master_replid"], "{i:?}");
    assert!(!i.contains_key("master_link_status"), "{i:?}");
    assert_same(
        "after the promotion",
        "old master",
        &snap,
        "promoted",
        &snapshot(&mut rc),
    );
    assert_eq!(rc.cmd("SET promoted yes"), "+OK\r\n");
    assert_eq!(rc.cmd("GET promoted"), "$3\r\nyes\r\n");
    assert_eq!(mc.cmd("SET after-promotion 1"), "+OK\r\n");
    poll(5, "the old master losing its replica", || {
        let n = repl_field(&mut mc, "connected_slaves");
        (n == "0").then_some(()).ok_or(n)
    });
    assert_eq!(rc.cmd("EXISTS after-promotion"), ":0\r\n");
}

/// After REPLICAOF NO ONE the old master's connection is closed on the next timer tick.
/// If the master hung up first, its slot was freed and the next client got it; that
/// client must not be closed in the master link's place (it was, every time).
#[test]
fn promotion_does_not_close_the_client_that_reused_the_masters_slot() {
    if !tools_available() {
        return;
    }
    let m = Server::start(&[]);
    let r = Server::start(&["--replicaof", &replicaof(m.port)]);
    let _logs = LogsOnPanic(vec![("master", &m), ("replica", &r)]);
    let (mut mc, mut rc) = (m.connect(), r.connect());
    for round in 0..3 {
        wait_link_up(&mut rc, "replica");
        assert_eq!(rc.cmd("REPLICAOF NO ONE"), "+OK\r\n");
        assert_eq!(
            mc.cmd("CLIENT KILL TYPE replica"),
            ":1\r\n",
            "round {round}"
        );
        std::thread::sleep(Duration::from_millis(5));
        let mut fresh = r.connect();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            fresh.cmd("PING"),
            "+PONG\r\n",
            "round {round}: the new client was closed"
        );
        assert_eq!(
            rc.cmd(&format!("REPLICAOF 127.0.0.1 {}", m.port)),
            "+OK\r\n"
        );
    }
}

/// The master's stream obeys no client rule (Redis's mustObeyClient, and
/// `replica-ignore-maxmemory yes`): a replica over its own `maxmemory` still applies
/// every write and evicts nothing itself, so it stays equal to its master.
#[test]
fn replica_applies_the_stream_past_its_own_maxmemory() {
    if !tools_available() {
        return;
    }
    let m = Server::start(&[]);
    let r = Server::start(&[
        "--replicaof",
        &replicaof(m.port),
        "--maxmemory-policy",
        "allkeys-lru",
    ]);
    let _logs = LogsOnPanic(vec![("master", &m), ("replica", &r)]);
    let (mut mc, mut rc) = (m.connect(), r.connect());
    wait_link_up(&mut rc, "replica");
    assert_eq!(mc.cmd("SET a 1"), "+OK\r\n");
    assert_eq!(mc.cmd("WAIT 1 5000"), ":1\r\n");
    assert_eq!(rc.cmd("CONFIG SET maxmemory 1"), "+OK\r\n");
    assert_eq!(mc.cmd("SET b 2"), "+OK\r\n");
    assert_eq!(mc.cmd("INCR a"), ":2\r\n");
    assert_eq!(mc.cmd("WAIT 1 5000"), ":1\r\n");
    assert_eq!(rc.cmd("GET a"), "$1\r\n2\r\n");
    assert_eq!(rc.cmd("GET b"), "$1\r\n2\r\n");
    assert_eq!(rc.cmd("DBSIZE"), ":2\r\n");
}

/// An idle link stays up: the master's PINGs (every `repl-ping-replica-period`) move the
/// replica's offset and count as traffic for its `repl-timeout`, so a quiet master is not
/// taken for a dead one (the replica used to drop its link every `repl-timeout`).
#[test]
fn idle_link_stays_up_past_repl_timeout() {
    if !tools_available() {
        return;
    }
    let m = Server::start(&["--repl-ping-replica-period", "1"]);
    let r = Server::start(&["--replicaof", &replicaof(m.port), "--repl-timeout", "2"]);
    let _logs = LogsOnPanic(vec![("master", &m), ("replica", &r)]);
    let (mut mc, mut rc) = (m.connect(), r.connect());
    wait_link_up(&mut rc, "replica");
    let start = repl_field(&mut rc, "slave_repl_offset");
    std::thread::sleep(Duration::from_millis(4500));
    let i = info(&mut rc, "replication");
    assert_eq!(i["master_link_status"], "up", "{i:?}");
    let io: u64 = i["master_last_io_seconds_ago"].parse().unwrap();
    assert!(
        io <= 1,
        "master_last_io_seconds_ago {io} with PINGs every second"
    );
    assert_ne!(
        i["slave_repl_offset"], start,
        "the PINGs did not move the offset"
    );
    assert_eq!(log_count(&r, "MASTER timeout"), 0, "{}", r.log_text());
    assert_eq!(
        log_count(&m, "Connection with replica"),
        0,
        "{}",
        m.log_text()
    );
    assert_eq!(repl_field(&mut mc, "connected_slaves"), "1");
}

#[test]
fn redis_cli_rdb_backup_loads() {
    if !tools_available() {
        return;
    }
    let m = Server::start(&[]);
    let mut mc = m.connect();
    preload(&mut mc, now_ms());
    let ms = snapshot(&mut mc);
    assert_covers(&ms, "ferrokv");

    let dir = TempDir::new("rdb-backup");
    let file = dir.path().join("backup.rdb");
    let out = std::process::Command::new(which("redis-cli").unwrap())
        .args(["-p", &m.port.to_string(), "--rdb", file.to_str().unwrap()])
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "redis-cli --rdb failed: {said}");
    let check = std::process::Command::new(which("redis-check-rdb").unwrap())
        .arg(&file)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(
        check.status.success() && report.contains("RDB looks OK"),
        "{report}"
    );
    // The RDB-only link ends with the transfer.
    poll(5, "the RDB-only link closing", || {
        let i = info(&mut mc, "replication");
        (i["connected_slaves"] == "0")
            .then_some(())
            .ok_or(format!("{i:?}"))
    });

    let r = start_redis(&[
        "--dir",
        dir.path().to_str().unwrap(),
        "--dbfilename",
        "backup.rdb",
    ]);
    assert_same(
        "redis-cli --rdb",
        "ferrokv",
        &ms,
        "redis",
        &snapshot(&mut r.connect()),
    );

    // SYNC without `capa eof` gets `$<len>`: the same RDB, length-framed.
    let mut raw = m.connect();
    raw.send_raw(&Client::encode(&[b"SYNC"]));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n") || head == b"\n" {
        std::io::Read::read_exact(&mut raw.stream, &mut byte).unwrap();
        if head.is_empty() && byte[0] == b'\n' {
            continue; // A keepalive newline.
        }
        head.push(byte[0]);
    }
    let len: usize = std::str::from_utf8(&head[1..head.len() - 2])
        .ok()
        .filter(|_| head[0] == b'$')
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("SYNC header {}", show(&head)));
    let mut rdb = vec![0u8; len];
    std::io::Read::read_exact(&mut raw.stream, &mut rdb).unwrap();
    assert!(
        rdb.starts_with(b"REDIS"),
        "{}",
        show(&rdb[..rdb.len().min(20)])
    );
    let dir2 = TempDir::new("rdb-sync");
    std::fs::write(dir2.path().join("dump.rdb"), &rdb).unwrap();
    let r2 = start_redis(&["--dir", dir2.path().to_str().unwrap()]);
    assert_same(
        "SYNC",
        "ferrokv",
        &ms,
        "redis",
        &snapshot(&mut r2.connect()),
    );
}

#[test]
fn wait_counts_acks() {
    if !tools_available() {
        return;
    }
    let m = Server::start(&[]);
    let mut mc = m.connect();
    let plain = start_redis(&[]);
    let mut pc = plain.connect();

    // No replica.
    let t = Instant::now();
    assert_eq!(mc.cmd("WAIT 0 0"), ":0\r\n");
    assert!(
        t.elapsed() < Duration::from_millis(150),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(mc.cmd("SET k v"), "+OK\r\n");
    let t = Instant::now();
    assert_eq!(mc.cmd("WAIT 1 200"), ":0\r\n");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_millis(1500),
        "WAIT 1 200 with no replica took {took:?}"
    );
    // Argument errors and transactions, as redis-server answers them.
    let cases: &[&[&str]] = &[
        &["WAIT", "a", "0"],
        &["WAIT", "0", "-1"],
        &["WAIT", "0", "a"],
        &["WAIT", "0", "1.5"],
        &["WAIT", "-1", "0"],
        &["WAIT", "1"],
        &["MULTI"],
        &["SET", "k", "v"],
        &["WAIT", "1", "100"],
        &["EXEC"],
    ];
    assert_eq!(answers(&mut mc, cases), answers(&mut pc, cases));

    // One replica (redis-server 7) acknowledges.
    let r = start_redis(&["--replicaof", &replicaof(m.port)]);
    let mut rc = r.connect();
    wait_link_up(&mut rc, "redis replica");
    assert_eq!(mc.cmd("SET k v2"), "+OK\r\n");
    let t = Instant::now();
    assert_eq!(mc.cmd("WAIT 1 1000"), ":1\r\n");
    assert!(
        t.elapsed() < Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(rc.cmd("GET k"), "$2\r\nv2\r\n");
    let t = Instant::now();
    assert_eq!(mc.cmd("WAIT 2 300"), ":1\r\n");
    assert!(
        t.elapsed() >= Duration::from_millis(290),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(
        mc.cmd("WAIT 0 0"),
        ":1\r\n",
        "the GETACK since the write is not waited for"
    );
    // A client that wrote nothing waits for nothing.
    let t = Instant::now();
    assert_eq!(m.connect().cmd("WAIT 1 5000"), ":1\r\n");
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    let multi: &[&[&str]] = &[
        &["MULTI"],
        &["SET", "k", "v3"],
        &["WAIT", "1", "0"],
        &["EXEC"],
    ];
    let got = answers(&mut mc, multi);
    assert_eq!(
        got[3], "*2\r\n+OK\r\n:0\r\n",
        "WAIT inside MULTI counts without blocking"
    );

    // WAIT on a replica is refused, as redis-server refuses it.
    let fr = Server::start(&["--replicaof", &replicaof(m.port)]);
    let mut frc = fr.connect();
    wait_link_up(&mut frc, "ferrokv replica");
    let on_replica: &[&[&str]] = &[&["WAIT", "0", "0"], &["WAIT", "1", "10"]];
    assert_eq!(answers(&mut frc, on_replica), answers(&mut rc, on_replica));
    assert_eq!(mc.cmd("WAIT 2 2000"), ":2\r\n");
}

#[test]
fn replica_serve_stale_data_and_readonly() {
    if !tools_available() {
        return;
    }
    let mdir = TempDir::new("stale-master");
    let mport = free_port();
    let mut m = start_ferrokv_at(mdir.path(), mport, &[]);
    let mut mc = m.connect();
    preload(&mut mc, now_ms());
    let stale = ["--replica-serve-stale-data", "no"];
    let f = Server::start(&[&["--replicaof", &replicaof(mport)][..], &stale].concat());
    let r = start_redis(&[&["--replicaof", &replicaof(mport)][..], &stale].concat());
    let (mut fc, mut rc) = (f.connect(), r.connect());
    wait_link_up(&mut fc, "ferrokv replica");
    wait_link_up(&mut rc, "redis replica");
    converge(
        "before the master dies",
        None,
        ("master", &mut mc),
        &mut [("ferrokv", &mut fc), ("redis", &mut rc)],
    );

    m.kill9();
    for (who, c) in [("ferrokv", &mut fc), ("redis", &mut rc)] {
        poll(CONVERGE_SECS, &format!("{who}: link down"), || {
            let i = info(c, "replication");
            match i.get("master_link_status").map(String::as_str) {
                Some("down") => Ok(()),
                _ => Err(format!("{i:?}")),
            }
        });
    }
    let cmds: &[&[&str]] = &[
        &["GET", "s:1"],
        &["SET", "k", "v"],
        &["DBSIZE"],
        &["EXISTS", "s:1"],
        &["PING"],
        &["ECHO", "hi"],
        &["MULTI"],
        &["GET", "s:1"],
        &["EXEC"],
        &["REPLCONF", "listening-port", "1"],
    ];
    let want = answers(&mut rc, cmds);
    assert!(want[0].starts_with("-MASTERDOWN"), "{want:?}");
    assert_eq!(answers(&mut fc, cmds), want);
    let i = info(&mut fc, "replication");
    assert_eq!(i["role"], "slave", "{i:?}");
    let i = info(&mut fc, "server");
    assert_eq!(i["tcp_port"], f.port.to_string(), "{i:?}");
    // With stale data allowed, the refusals are the read-only ones.
    for c in [&mut fc, &mut rc] {
        assert_eq!(c.cmd("CONFIG SET replica-serve-stale-data yes"), "+OK\r\n");
    }
    assert_eq!(
        answers(&mut fc, ON_A_REPLICA),
        answers(&mut rc, ON_A_REPLICA)
    );

    // The master comes back on its port and directory; both follow it again.
    let m = start_ferrokv_at(mdir.path(), mport, &[]);
    let mut mc = m.connect();
    pipeline_ok(
        &mut mc,
        &[
            a!["SELECT", "9"],
            a!["SET", "after-restart", "1"],
            a!["SELECT", "0"],
        ],
    );
    wait_link_up(&mut fc, "ferrokv replica");
    wait_link_up(&mut rc, "redis replica");
    let snap = converge(
        "after the master's restart",
        None,
        ("master", &mut mc),
        &mut [("ferrokv", &mut fc), ("redis", &mut rc)],
    );
    assert!(snap.contains_key(&(9, b"after-restart".to_vec())));
    assert_covers(&snap, "master");
}

/// `min-replicas-to-write`: with fewer good replicas than asked, a ferrokv master refuses
/// writes (and an EXEC holding one) with redis-server's `-NOREPLICAS` bytes and serves
/// reads; with a ferrokv replica online it writes again; INFO counts the good replicas.
#[test]
fn min_replicas_to_write_refuses_like_redis() {
    if !tools_available() {
        return;
    }
    let redis = start_redis(&["--min-replicas-to-write", "1"]);
    let tmp = TempDir::new("repl-minrep");
    let port = free_port();
    let master = start_ferrokv_at(tmp.path(), port, &["--min-replicas-to-write", "1"]);
    let mut mc = master.connect();
    let cmds: &[&[&str]] = &[
        &["SET", "k", "v"],
        &["GET", "k"],
        &["MULTI"],
        &["SET", "k", "v"],
        &["EXEC"],
        &["MULTI"],
        &["GET", "k"],
        &["EXEC"],
    ];
    assert_eq!(
        answers(&mut mc, cmds),
        answers(&mut redis.connect(), cmds),
        "no replica: ferrokv vs redis-server"
    );
    let rdir = TempDir::new("repl-minrep-r");
    let replica = Server::start_in(rdir.path(), &["--replicaof", &replicaof(port)]);
    wait_link_up(&mut replica.connect(), "ferrokv replica");
    poll(CONVERGE_SECS, "a good replica", || {
        let i = info(&mut mc, "replication");
        match i.get("min_slaves_good_slaves").map(String::as_str) {
            Some("1") => Ok(()),
            _ => Err(format!("{i:?}")),
        }
    });
    assert_eq!(mc.cmdv(&["SET", "k", "v"]), "+OK\r\n");
    drop(redis);
}
