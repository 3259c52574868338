//! RDB interoperability with the real servers, both ways: redis-server 7.0 (RDB 10) and
//! Redis 8 (RDB 12, hash field deadlines) write files and DUMP payloads that ferrokv must
//! load, and ferrokv writes files and payloads that they must load.
//!
//! - `redis7_dump_rdb_loads_into_ferrokv`: redis-server 7 writes every type in every
//!   encoding it produces (int-encoded, plain, LZF-compressed and incompressible strings;
//!   listpack and hashtable hashes; quicklists with one node, many nodes, 8 KB+ elements and
//!   plain nodes; intsets and hashtable sets; listpack and skiplist sorted sets with odd
//!   scores; ms deadlines; databases 0, 5 and 15) and SAVEs. ferrokv loads a copy with
//!   `appendonly no`, then a fresh copy with `appendonly yes` (the first AOF base is written
//!   from it), is killed with -9 and restarts from the AOF alone.
//! - `redis7_aof_dir_with_rdb_base_loads_into_ferrokv`: the same dataset in a redis-server 7
//!   AOF directory with an RDB base (BGREWRITEAOF, `aof-use-rdb-preamble yes`) and more
//!   writes in the incr file.
//! - `redis8_rdb_with_field_deadlines_loads_into_ferrokv`: Redis 8's dump.rdb (RDB 12) with
//!   hashes with field deadlines in both encodings (listpackex, hashtable) and listpack sets.
//! - `ferrokv_save_loads_into_redis`: ferrokv's SAVE and BGSAVE files pass `redis-check-rdb`
//!   and load into redis-server 7; with field deadlines (RDB 12), into Redis 8.
//! - `bgsave_is_a_snapshot_while_writes_continue`: ~200k keys (four hashes of 50k fields);
//!   writes, deletes and expiries run while BGSAVE does; the file loaded into redis-server
//!   holds the dataset of the moment BGSAVE was answered, as the test's own model says.
//! - `dump_payloads_cross_both_ways`: DUMP on one server, RESTORE on the other (ABSTTL and
//!   relative TTL), for every key of the dataset, Redis 7 -> ferrokv -> Redis 7 and, with
//!   field deadlines, Redis 8 -> ferrokv -> Redis 8; RESTORE's error replies byte for byte
//!   against redis-server 7; a stream's payload is refused with an error, not a crash.
//! - `rdb_load_errors_are_clear`: a truncated file, a flipped byte and a stream key make
//!   ferrokv exit non-zero with a log line naming the problem (and the stream's key),
//!   leaving the file as it was and, with `appendonly yes`, writing no AOF directory.
//! - `migrate_moves_keys_both_ways`: MIGRATE ... KEYS of the whole dataset from
//!   redis-server 7 to ferrokv and from ferrokv (COPY, then REPLACE, AUTH) to a
//!   password-protected redis-server; deadlines within a second (MIGRATE sends relative
//!   TTLs); error replies (BUSYKEY, NOKEY, syntax, IOERR) byte for byte against
//!   redis-server's MIGRATE.
//! - `save_points_and_shutdown_save`: `save 1 1` saves by itself after a write (not
//!   before); SHUTDOWN SAVE saves without save points; SHUTDOWN NOSAVE does not save
//!   despite them; plain SHUTDOWN saves only with them.
//!
//! What is compared (a "snapshot"): for every database, DBSIZE and every key: TYPE, the
//! value (GET; HGETALL as a field -> value map, and in HGETALL order too when the hash is
//! listpack-encoded; LRANGE 0 -1; SMEMBERS as a set; ZRANGE 0 -1 WITHSCORES, scores as
//! the doubles they spell, since Redis 7.2+ prints them shorter than 7.0 and ferrokv do; -0
//! and 0 stay apart), PEXPIRETIME exactly, OBJECT ENCODING (lists excepted: Redis 7.0 calls
//! every list a quicklist; a set Redis 7.0 calls hashtable may be a listpack, as in Redis
//! 7.2+), and where field deadlines exist, HPEXPIRETIME of every field. A mismatch panics
//! with a per-key diff.
//!
//! redis-server 7 is required when `CI` is set, Redis 8 (tests/.redis8, see
//! scripts/setup-redis8) too; elsewhere a missing server skips the test.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::diff::{R, bulk_payload, bytes_of, esc, int_of, parse_all, show_cmd};
use common::{Client, Rng, Server, TempDir, free_port, now_ms, which};

type Cmd = Vec<Vec<u8>>;

/// Builds an argument vector from anything byte-like.
macro_rules! a {
    ($($x:expr),* $(,)?) => { vec![$(AsRef::<[u8]>::as_ref(&$x).to_vec()),*] };
}

/// Commands per pipelined write.
const PIPE_CHUNK: usize = 1000;
/// Keys read per pipelined round of a snapshot.
const SNAP_CHUNK: usize = 500;
const ALL_DBS: std::ops::Range<usize> = 0..16;

// ---------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------

fn error_in(r: &R) -> Option<String> {
    match r {
        R::Leaf(b) if b.first() == Some(&b'-') => Some(String::from_utf8_lossy(b).into_owned()),
        R::Agg(_, kids) => kids.iter().find_map(error_in),
        _ => None,
    }
}

/// Sends `cmds` pipelined (in chunks) and returns the replies; an error reply panics.
fn pipe(c: &mut Client, cmds: &[Cmd]) -> Vec<R> {
    let mut replies = Vec::with_capacity(cmds.len());
    for chunk in cmds.chunks(PIPE_CHUNK) {
        let mut out = Vec::new();
        for cmd in chunk {
            let refs: Vec<&[u8]> = cmd.iter().map(|x| x.as_slice()).collect();
            out.extend(Client::encode(&refs));
        }
        c.send_raw(&out);
        for cmd in chunk {
            let raw = c.read_reply();
            let r = parse_all(&raw).expect("one well-formed reply");
            if let Some(e) = error_in(&r) {
                panic!("{} failed: {e}", show_cmd(cmd));
            }
            replies.push(r);
        }
    }
    replies
}

/// One command; its raw reply bytes.
fn raw(c: &mut Client, args: &[&[u8]]) -> Vec<u8> {
    c.cmd_bytes(args)
}

fn one(c: &mut Client, cmd: Cmd) -> R {
    pipe(c, &[cmd]).pop().unwrap()
}

fn show(r: &R) -> String {
    common::diff::show_reply(&bytes_of(r))
}

fn bulk(r: &R) -> Vec<u8> {
    bulk_payload(r).unwrap_or_else(|| panic!("expected a bulk string, got {}", show(r)))
}

fn bulks(r: &R) -> Vec<Vec<u8>> {
    match r {
        R::Agg(_, kids) => kids.iter().map(bulk).collect(),
        _ => panic!("expected an array, got {}", show(r)),
    }
}

fn int(r: &R) -> i64 {
    match r {
        R::Leaf(b) => int_of(b),
        _ => None,
    }
    .unwrap_or_else(|| panic!("expected an integer, got {}", show(r)))
}

/// The text of a simple-string reply.
fn status(r: &R) -> String {
    match r {
        R::Leaf(b) if b.first() == Some(&b'+') => {
            String::from_utf8_lossy(&b[1..b.len() - 2]).into()
        }
        _ => panic!("expected a status reply, got {}", show(r)),
    }
}

/// Bytes shown escaped, long ones cut.
fn short(b: &[u8]) -> String {
    let s = esc(&b[..b.len().min(60)]);
    if b.len() > 60 {
        format!("\"{s}\"...({} bytes)", b.len())
    } else {
        format!("\"{s}\"")
    }
}

/// A field of INFO's text.
fn info_field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("INFO has no {name}:\n{info}"))
        .trim()
        .to_string()
}

fn info(c: &mut Client, section: &str) -> String {
    String::from_utf8(bulk(&one(c, a!["INFO", section]))).unwrap()
}

// ---------------------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Str(Vec<u8>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    List(Vec<Vec<u8>>),
    Set(BTreeSet<Vec<u8>>),
    /// ZRANGE order: member and score (see `score`).
    ZSet(Vec<(Vec<u8>, Vec<u8>)>),
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Key {
    val: Val,
    /// PEXPIRETIME: Unix ms, -1 without a deadline.
    expire_at: i64,
    /// OBJECT ENCODING; empty in a model, where any encoding matches.
    encoding: String,
    /// HGETALL's field order, for listpack(ex) hashes.
    order: Option<Vec<Vec<u8>>>,
    /// HPEXPIRETIME of every field (-1: none), when the snapshot asked for them.
    field_deadlines: Option<BTreeMap<Vec<u8>, i64>>,
}

impl Key {
    /// A model's key: any encoding, no order or field deadlines to check.
    fn model(val: Val, expire_at: i64) -> Key {
        Key {
            val,
            expire_at,
            encoding: String::new(),
            order: None,
            field_deadlines: None,
        }
    }
}

#[derive(Debug, Default)]
struct Snap {
    dbsize: BTreeMap<usize, i64>,
    keys: BTreeMap<(usize, Vec<u8>), Key>,
}

impl Snap {
    fn get(&self, db: usize, key: &str) -> Option<&Key> {
        self.keys.get(&(db, key.as_bytes().to_vec()))
    }

    /// (type, encoding) pairs present.
    fn encodings(&self) -> BTreeSet<(String, String)> {
        self.keys
            .values()
            .map(|k| (type_name(&k.val).to_string(), k.encoding.clone()))
            .collect()
    }
}

fn type_name(v: &Val) -> &'static str {
    match v {
        Val::Str(_) => "string",
        Val::Hash(_) => "hash",
        Val::List(_) => "list",
        Val::Set(_) => "set",
        Val::ZSet(_) => "zset",
        Val::Other(_) => "other",
    }
}

/// The command that reads a whole value of type `ty`.
fn read_cmd(ty: &str, key: &[u8]) -> Cmd {
    match ty {
        "string" => a!["GET", key],
        "hash" => a!["HGETALL", key],
        "list" => a!["LRANGE", key, "0", "-1"],
        "set" => a!["SMEMBERS", key],
        "zset" => a!["ZRANGE", key, "0", "-1", "WITHSCORES"],
        _ => a!["TYPE", key],
    }
}

fn pairs_of(r: &R) -> Vec<(Vec<u8>, Vec<u8>)> {
    let flat = bulks(r);
    assert!(flat.len().is_multiple_of(2), "odd pair list {}", show(r));
    flat.chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect()
}

/// A score in one spelling: Redis 7.0 (and ferrokv) print 17 significant digits
/// ("0.10000000000000001"), Redis 7.2+ the shortest form that reads back the same
/// ("0.1"); both mean one double.
fn score(text: &[u8]) -> Vec<u8> {
    let f: f64 = std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("score {} is not a number", short(text)));
    format!("{f:?}").into_bytes()
}

fn val_of(ty: &str, r: &R) -> Val {
    match ty {
        "string" => Val::Str(bulk(r)),
        "hash" => Val::Hash(pairs_of(r).into_iter().collect()),
        "list" => Val::List(bulks(r)),
        "set" => Val::Set(bulks(r).into_iter().collect()),
        "zset" => Val::ZSet(
            pairs_of(r)
                .into_iter()
                .map(|(m, s)| (m, score(&s)))
                .collect(),
        ),
        t => Val::Other(format!("type {t}")),
    }
}

/// Reads every key of databases `dbs`; `hfe`: also HPEXPIRETIME of every hash field (a
/// server with hash field expiry). Leaves the connection in database 0.
fn snapshot(c: &mut Client, who: &str, dbs: std::ops::Range<usize>, hfe: bool) -> Snap {
    let mut snap = Snap::default();
    for db in dbs {
        let r = pipe(
            c,
            &[a!["SELECT", db.to_string()], a!["DBSIZE"], a!["KEYS", "*"]],
        );
        let (size, keys) = (int(&r[1]), bulks(&r[2]));
        assert_eq!(
            keys.len() as i64,
            size,
            "{who}: db {db}: KEYS * and DBSIZE disagree"
        );
        snap.dbsize.insert(db, size);
        for chunk in keys.chunks(SNAP_CHUNK) {
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
            let meta = pipe(c, &meta);
            let types: Vec<String> = (0..chunk.len()).map(|i| status(&meta[3 * i])).collect();
            let reads: Vec<Cmd> = chunk
                .iter()
                .zip(&types)
                .map(|(k, t)| read_cmd(t, k))
                .collect();
            let vals = pipe(c, &reads);
            let mut ttl_cmds = Vec::new();
            for (i, k) in chunk.iter().enumerate() {
                let val = val_of(&types[i], &vals[i]);
                let encoding = String::from_utf8(bulk(&meta[3 * i + 2])).unwrap();
                let order = match (&val, encoding.starts_with("listpack")) {
                    (Val::Hash(_), true) => {
                        Some(pairs_of(&vals[i]).into_iter().map(|p| p.0).collect())
                    }
                    _ => None,
                };
                if let (Val::Hash(h), true) = (&val, hfe) {
                    let mut cmd = a!["HPEXPIRETIME", k, "FIELDS", h.len().to_string()];
                    cmd.extend(h.keys().cloned());
                    ttl_cmds.push((k.clone(), cmd));
                }
                let expire_at = int(&meta[3 * i + 1]);
                assert_ne!(expire_at, -2, "{who}: key {} vanished", short(k));
                let key = Key {
                    val,
                    expire_at,
                    encoding,
                    order,
                    field_deadlines: None,
                };
                snap.keys.insert((db, k.clone()), key);
            }
            let cmds: Vec<Cmd> = ttl_cmds.iter().map(|x| x.1.clone()).collect();
            for ((k, cmd), r) in ttl_cmds.iter().zip(pipe(c, &cmds)) {
                let R::Agg(_, kids) = &r else {
                    panic!("{who}: HPEXPIRETIME {} replied {}", short(k), show(&r))
                };
                let fields = cmd[4..].iter().cloned();
                let deadlines = fields.zip(kids.iter().map(int)).collect();
                snap.keys.get_mut(&(db, k.clone())).unwrap().field_deadlines = Some(deadlines);
            }
        }
    }
    pipe(c, &[a!["SELECT", "0"]]);
    snap
}

/// "len a vs b; first difference at #i: x vs y", or None if equal.
fn first_diff<T: PartialEq>(x: &[T], y: &[T], f: impl Fn(&T) -> String) -> Option<String> {
    if x == y {
        return None;
    }
    let i = x
        .iter()
        .zip(y)
        .position(|(a, b)| a != b)
        .unwrap_or(x.len().min(y.len()));
    let at = |v: &[T]| v.get(i).map_or("(end)".to_string(), &f);
    Some(format!(
        "lengths {} vs {}; first difference at #{i}: {} vs {}",
        x.len(),
        y.len(),
        at(x),
        at(y)
    ))
}

fn val_diff(x: &Val, y: &Val) -> Option<String> {
    let pair = |p: &(Vec<u8>, Vec<u8>)| format!("{}={}", short(&p.0), short(&p.1));
    match (x, y) {
        (Val::Str(a), Val::Str(b)) => (a != b).then(|| format!("{} vs {}", short(a), short(b))),
        (Val::Hash(a), Val::Hash(b)) => {
            let a: Vec<_> = a.clone().into_iter().collect();
            let b: Vec<_> = b.clone().into_iter().collect();
            first_diff(&a, &b, pair)
        }
        (Val::List(a), Val::List(b)) => first_diff(a, b, |e| short(e)),
        (Val::Set(a), Val::Set(b)) => {
            let a: Vec<_> = a.iter().collect();
            let b: Vec<_> = b.iter().collect();
            first_diff(&a, &b, |e| short(e))
        }
        (Val::ZSet(a), Val::ZSet(b)) => first_diff(a, b, pair),
        (a, b) => (a != b).then(|| format!("{} vs {}", type_name(a), type_name(b))),
    }
}

/// Encodings that mean the same here: any, in a model; any list encoding; a set Redis 7.0
/// keeps as a hashtable and Redis 7.2+ (and ferrokv) as a listpack.
fn same_encoding(v: &Val, a: &str, b: &str) -> bool {
    let loose = ["hashtable", "listpack"];
    a == b
        || a.is_empty()
        || b.is_empty()
        || matches!(v, Val::List(_))
        || (matches!(v, Val::Set(_)) && loose.contains(&a) && loose.contains(&b))
}

fn key_diffs(name: &str, ln: &str, l: &Key, rn: &str, r: &Key, out: &mut Vec<String>) {
    if l.expire_at != r.expire_at {
        out.push(format!(
            "{name}: PEXPIRETIME {ln} {} vs {rn} {}",
            l.expire_at, r.expire_at
        ));
    }
    if !same_encoding(&l.val, &l.encoding, &r.encoding) {
        out.push(format!(
            "{name}: OBJECT ENCODING {ln} {} vs {rn} {}",
            l.encoding, r.encoding
        ));
    }
    if let Some(d) = val_diff(&l.val, &r.val) {
        out.push(format!(
            "{name}: {} value, {ln} vs {rn}: {d}",
            type_name(&l.val)
        ));
    } else if let (Some(a), Some(b)) = (&l.order, &r.order)
        && let Some(d) = first_diff(a, b, |f| short(f))
    {
        out.push(format!("{name}: HGETALL order, {ln} vs {rn}: {d}"));
    }
    if let (Some(a), Some(b)) = (&l.field_deadlines, &r.field_deadlines) {
        let a: Vec<_> = a.iter().collect();
        let b: Vec<_> = b.iter().collect();
        if let Some(d) = first_diff(&a, &b, |(f, t)| format!("{}@{t}", short(f))) {
            out.push(format!("{name}: HPEXPIRETIME of fields, {ln} vs {rn}: {d}"));
        }
    }
}

/// Panics with a per-key diff unless the snapshots hold the same data.
fn assert_same(what: &str, ln: &str, l: &Snap, rn: &str, r: &Snap) {
    let mut out = Vec::new();
    if l.dbsize != r.dbsize {
        out.push(format!(
            "DBSIZE: {ln} {:?} vs {rn} {:?}",
            l.dbsize, r.dbsize
        ));
    }
    let names: BTreeSet<&(usize, Vec<u8>)> = l.keys.keys().chain(r.keys.keys()).collect();
    for k in names {
        let name = format!("db {} key {}", k.0, short(&k.1));
        match (l.keys.get(k), r.keys.get(k)) {
            (Some(a), Some(b)) => key_diffs(&name, ln, a, rn, b, &mut out),
            (Some(_), None) => out.push(format!("{name}: only in {ln}")),
            (None, _) => out.push(format!("{name}: only in {rn}")),
        }
    }
    if !out.is_empty() {
        let total = out.len();
        out.truncate(40);
        panic!(
            "{what}: {total} difference(s) between {ln} ({} keys) and {rn} ({} keys):\n  {}",
            l.keys.len(),
            r.keys.len(),
            out.join("\n  ")
        );
    }
}

// ---------------------------------------------------------------------------------------
// Servers and files
// ---------------------------------------------------------------------------------------

fn skip_or_fail(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{why}, but CI is set: the RDB interop tests must run in CI");
    }
    eprintln!("SKIPPED: {why} (run scripts/setup-test-deps)");
}

/// redis-server 7's path, if installed (`CI` makes a missing one a failure).
fn redis7() -> Option<String> {
    let Some(bin) = which("redis-server") else {
        skip_or_fail("redis-server not found on PATH");
        return None;
    };
    let out = std::process::Command::new(&bin)
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if text.contains("v=7.") {
        return Some(bin);
    }
    skip_or_fail(&format!("redis-server 7 needed, found {text:?}"));
    None
}

/// The Redis 8 server (tests/.redis8), if installed (`CI` makes a missing one a failure).
fn redis8() -> Option<String> {
    let bin = common::redis8_bin();
    if bin.is_none() {
        skip_or_fail("Redis 8 not installed (scripts/setup-redis8, or REDIS8_SERVER)");
    }
    bin
}

/// Starts redis-server `bin` on `dir` (the caller owns it), DEBUG allowed, `extra` last.
fn start_redis(bin: &str, dir: &Path, extra: &[&str]) -> Server {
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port();
        let fixed = format!(
            "--port {port} --bind 127.0.0.1 --save {{}} --appendonly no --enable-debug-command yes"
        );
        let mut args: Vec<String> = fixed
            .split(' ')
            .map(|s| {
                if s == "{}" {
                    String::new()
                } else {
                    s.to_string()
                }
            })
            .collect();
        args.extend(["--dir".to_string(), dir.to_str().unwrap().to_string()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        match Server::spawn(bin, &args, port) {
            Ok(s) => return s,
            Err(e) => last = e,
        }
    }
    panic!("{bin} did not start on {}: {last}", dir.display());
}

/// Starts `bin` on a new directory `name` under `tmp`; returns the server, a connection
/// and the directory.
fn fresh_redis(bin: &str, tmp: &TempDir, name: &str, extra: &[&str]) -> (Server, Client, PathBuf) {
    let dir = tmp.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let s = start_redis(bin, &dir, extra);
    let c = s.connect();
    (s, c, dir)
}

/// ferrokv on `dir` with `appendonly no` (it loads dbfilename).
fn start_ferrokv_rdb(dir: &Path) -> Server {
    Server::start_in(dir, &["--appendonly", "no"])
}

/// ferrokv (`appendonly no`) on a new directory `ferrokv` under `tmp`; returns the
/// server, a connection and the directory.
fn fresh_ferrokv(tmp: &TempDir) -> (Server, Client, PathBuf) {
    let dir = tmp.path().join("ferrokv");
    std::fs::create_dir_all(&dir).unwrap();
    let s = start_ferrokv_rdb(&dir);
    let c = s.connect();
    (s, c, dir)
}

/// SHUTDOWN with `how` (empty, SAVE, NOSAVE) and a clean exit.
fn shutdown(s: &mut Server, who: &str, how: &str) {
    let mut c = s.connect();
    let mut cmd: Vec<&[u8]> = vec![b"SHUTDOWN"];
    if !how.is_empty() {
        cmd.push(how.as_bytes());
    }
    c.send_raw(&Client::encode(&cmd));
    let rest = c.read_to_close();
    assert!(
        rest.is_empty(),
        "{who}: SHUTDOWN {how} replied {}",
        String::from_utf8_lossy(&rest)
    );
    let code = s.wait_exit(20);
    assert_eq!(
        code,
        Some(0),
        "{who} did not exit cleanly:\n{}",
        s.log_text()
    );
}

/// A new directory `name` under `tmp` holding `dump.rdb` = `rdb`.
fn dir_with_rdb(tmp: &TempDir, name: &str, rdb: &[u8]) -> PathBuf {
    let d = tmp.path().join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("dump.rdb"), rdb).unwrap();
    d
}

/// Lines of a redis-server log that report trouble.
fn complaints(log: &str) -> Vec<String> {
    const BAD: [&str; 8] = [
        "error",
        "corrupt",
        "short read",
        "wrong",
        "bad",
        "fatal",
        "unexpected",
        "!!!",
    ];
    log.lines()
        .filter(|l| BAD.iter().any(|b| l.to_ascii_lowercase().contains(b)))
        .map(str::to_string)
        .collect()
}

/// Checks that redis-server loaded its dump.rdb, with `keys` keys, without complaint.
fn assert_redis_loaded(s: &Server, who: &str, keys: usize) {
    let log = s.log_text();
    assert!(
        log.contains("DB loaded from disk"),
        "{who} did not load the file:\n{log}"
    );
    assert!(
        log.contains(&format!(
            "Done loading RDB, keys loaded: {keys}, keys expired: 0"
        )),
        "{who} did not report loading {keys} keys:\n{log}"
    );
    let bad = complaints(&log);
    assert!(bad.is_empty(), "{who} complained:\n{}", bad.join("\n"));
}

fn save(c: &mut Client) {
    assert_eq!(status(&one(c, a!["SAVE"])), "OK");
}

/// Waits for the running BGSAVE to end; returns INFO persistence then.
fn wait_bgsave(c: &mut Client, who: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = info(c, "persistence");
        if info_field(&text, "rdb_bgsave_in_progress") == "0" {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{who}: BGSAVE did not end:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn lastsave(c: &mut Client) -> i64 {
    int(&one(c, a!["LASTSAVE"]))
}

/// Sleeps until the wall clock's second is past `secs`.
fn sleep_past_second(secs: i64) {
    while now_ms() / 1000 <= secs {
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------------------
// The dataset
// ---------------------------------------------------------------------------------------

const PLAIN_THRESHOLD: usize = 1000;
/// Quicklist nodes of `l:plain` on Redis 7 with plain nodes: its three big elements on
/// their own, two listpacks for the small ones between them.
const PLAIN_LIST_NODES: usize = 5;

/// A list element of `n` bytes that LZF cannot shrink much.
fn noise(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.next() as u8).collect()
}

/// Every type in every encoding Redis 7 writes, deadlines at ms precision, databases 0, 5
/// and 15. `debug`: the server takes `DEBUG QUICKLIST-PACKED-THRESHOLD`, so `l:plain`'s
/// big elements become plain quicklist nodes.
fn dataset(t0: i64, debug: bool) -> Vec<Cmd> {
    let mut rng = Rng::new(0x0dd_ba11);
    let mut v: Vec<Cmd> = vec![a!["SELECT", "0"]];
    // Strings: ints that RDB int-encodes (8, 16, 32 bits), ints too big for that, numbers
    // that are not canonical ints, text LZF compresses, bytes it cannot.
    for (k, val) in [
        ("s:i8", "12"),
        ("s:neg", "-5"),
        ("s:i16", "-30000"),
        ("s:i32", "2147483647"),
        ("s:i64max", "9223372036854775807"),
        ("s:i64min", "-9223372036854775808"),
        ("s:over", "18446744073709551616"),
        ("s:lead0", "007"),
        ("s:plus", "+1"),
        ("s:float", "3.14"),
        ("s:plain", "hello world"),
        ("s:empty", ""),
    ] {
        v.push(a!["SET", k, val]);
    }
    v.push(a!["SET", "s:bin", b"a\x00b\r\nc\xff\x00"]);
    v.push(a!["SET", b"key\x00with\r\nbytes", "binary key name"]);
    v.push(a![
        "SET",
        "s:lzf",
        "ferrokv speaks RDB both ways. ".repeat(300)
    ]);
    v.push(a!["SET", "s:noise", noise(&mut rng, 6000)]);
    // Hashes: listpacks (field order matters), hashtables by size and by value length.
    let names: [&[u8]; 7] = [b"zeta", b"alpha", b"mid", b"0", b"-1", b"b\x00in", b""];
    for i in 0..20usize {
        let mut cmd = a!["HSET", format!("h:lp:{i}")];
        for (j, f) in names.iter().enumerate().take(i % 7 + 1) {
            cmd.push(f.to_vec());
            cmd.push(match (i + j) % 4 {
                0 => Vec::new(),
                1 => (i * 1000 + j).to_string().into_bytes(),
                2 => b"x\r\n\x00y".to_vec(),
                _ => format!("v{i}.{j}").into_bytes(),
            });
        }
        v.push(cmd);
    }
    v.push(a!["HSET", "h:lp:order", "z", "1", "a", "2", "m", "3"]);
    v.push(a!["HDEL", "h:lp:order", "a"]);
    v.push(a!["HSET", "h:lp:order", "a", "4", "b", "-99"]);
    let mut many = a!["HSET", "h:ht:many"];
    for j in 0..600 {
        many.push(format!("field:{j}").into_bytes());
        many.push(format!("{}", j * 7 - 300).into_bytes());
    }
    v.push(many);
    v.push(a![
        "HSET",
        "h:ht:long",
        "short",
        "x",
        "long",
        "y".repeat(100)
    ]);
    // Lists: one small node, many nodes, elements over 8 KB, plain nodes.
    v.push(a!["RPUSH", "l:small", "a", "", "1", "-2", b"bin\x00\r\n"]);
    for chunk in 0..10 {
        let mut cmd = a!["RPUSH", "l:big"];
        for i in chunk * 500..(chunk + 1) * 500 {
            cmd.push(match i % 3 {
                0 => i.to_string().into_bytes(),
                1 => format!("element-{i}").into_bytes(),
                _ => format!("{}", -(i as i64) * 1_000_003).into_bytes(),
            });
        }
        v.push(cmd);
    }
    v.push(a![
        "RPUSH",
        "l:huge",
        "head",
        "x".repeat(10_000),
        "mid",
        noise(&mut rng, 20_000),
        "tail"
    ]);
    if debug {
        v.push(a![
            "DEBUG",
            "QUICKLIST-PACKED-THRESHOLD",
            PLAIN_THRESHOLD.to_string()
        ]);
    }
    v.push(a![
        "RPUSH",
        "l:plain",
        "p".repeat(PLAIN_THRESHOLD + 500),
        "a",
        noise(&mut rng, 3 * PLAIN_THRESHOLD),
        "b",
        "c",
        "r".repeat(PLAIN_THRESHOLD + 200)
    ]);
    if debug {
        v.push(a!["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"]);
    }
    // Sets: intset, integers past set-max-intset-entries, strings.
    v.push(a![
        "SADD",
        "set:int",
        "1",
        "2",
        "3",
        "-7",
        "100000",
        "-2147483649"
    ]);
    let mut bigint = a!["SADD", "set:bigint"];
    bigint.extend((0..600).map(|i| (i * 3 - 500).to_string().into_bytes()));
    v.push(bigint);
    v.push(a![
        "SADD", "set:str", "apple", "banana", "", b"bin\x00", "42"
    ]);
    let mut bigstr = a!["SADD", "set:bigstr"];
    bigstr.extend((0..300).map(|i| format!("member:{i}").into_bytes()));
    v.push(bigstr);
    // Sorted sets: listpack with odd scores, skiplist by size and by member length.
    v.push(a![
        "ZADD", "z:small", "1", "one", "-0", "negzero", "0.5", "half", "1e300", "huge", "inf",
        "pinf", "-inf", "ninf", "3.25", "frac", "-2.5e-10", "tiny", "1", "tie"
    ]);
    let mut zbig = a!["ZADD", "z:big"];
    for i in 0..200 {
        zbig.push(format!("{}", i as f64 * 1.5 - 100.0).into_bytes());
        zbig.push(format!("m{i}").into_bytes());
    }
    v.push(zbig);
    v.push(a![
        "ZADD", "z:skip", "-0", "negzero", "inf", "pinf", "0.1", "tenth"
    ]);
    v.push(a!["ZADD", "z:skip", "2", "L".repeat(100)]);
    // Deadlines at ms precision, on every type.
    for (k, dt) in [
        ("s:i8", 3_600_123),
        ("h:lp:3", 3_700_456),
        ("h:ht:many", 3_750_001),
        ("l:small", 3_800_789),
        ("set:int", 3_900_002),
        ("set:bigstr", 3_950_999),
        ("z:small", 4_000_017),
        ("z:big", 4_100_100),
    ] {
        v.push(a!["PEXPIREAT", k, (t0 + dt).to_string()]);
    }
    // Database 5 (1..4 stay empty), then 15.
    v.push(a!["SELECT", "5"]);
    v.push(a!["SET", "s:plain", "the same name in db 5"]);
    v.push(a!["HSET", "db5:h", "f", "v", "g", "w"]);
    v.push(a!["RPUSH", "db5:l", "a", "b"]);
    v.push(a!["SADD", "db5:set", "1", "x"]);
    v.push(a!["ZADD", "db5:z", "1", "a", "2", "b"]);
    v.push(a![
        "SET",
        "db5:ttl",
        "x",
        "PXAT",
        (t0 + 5_000_003).to_string()
    ]);
    v.push(a!["SELECT", "15"]);
    v.push(a!["SET", "db15:s", "the last database"]);
    v.push(a!["HSET", "db15:h", "a", "b"]);
    v.push(a!["PEXPIREAT", "db15:h", (t0 + 6_000_006).to_string()]);
    v.push(a!["SELECT", "0"]);
    v
}

/// Changes after `dataset` (the incr file of `redis7_aof_dir_with_rdb_base...`).
fn dataset_changes(t0: i64) -> Vec<Cmd> {
    vec![
        a!["DEL", "s:plain"],
        a!["SET", "s:after", "written after the rewrite"],
        a!["APPEND", "s:lzf", "+more"],
        a!["HSET", "h:lp:3", "new", "field"],
        a!["HDEL", "h:ht:many", "field:1", "field:2"],
        a!["RPUSH", "l:big", "tail"],
        a!["LPOP", "l:small"],
        a!["SREM", "set:int", "2"],
        a!["ZADD", "z:small", "7", "seven"],
        a!["ZINCRBY", "z:big", "1000", "m1"],
        a!["PEXPIREAT", "s:neg", (t0 + 9_000_009).to_string()],
        a!["PERSIST", "s:i8"],
        a!["SELECT", "5"],
        a!["DEL", "db5:h"],
        a!["SET", "db5:new", "v"],
        a!["SELECT", "0"],
    ]
}

/// Fields of `hfe:big`: over hash-max-listpack-entries (Redis 8: 512).
const HFE_BIG_FIELDS: usize = 700;

/// Hashes with field deadlines in both encodings (listpackex: small; hashtable: more
/// than Redis 8's 512 fields), one with a key deadline too, and a listpack set (Redis 7.2+).
fn hfe_dataset(t0: i64) -> Vec<Cmd> {
    let at = |ms: i64| (t0 + ms).to_string();
    let mut v = vec![
        a!["SELECT", "0"],
        a![
            "HSET",
            "hfe:small",
            "a",
            "1",
            "b",
            "2",
            "c",
            "3",
            "d",
            "4",
            "e",
            "5"
        ],
        a!["HPEXPIREAT", "hfe:small", at(3_600_300), "FIELDS", "1", "d"],
        a![
            "HPEXPIREAT",
            "hfe:small",
            at(3_600_100),
            "FIELDS",
            "2",
            "e",
            "b"
        ],
        a!["HSET", "hfe:keyttl", "x", "1", "y", "2"],
        a![
            "HPEXPIREAT",
            "hfe:keyttl",
            at(4_000_004),
            "FIELDS",
            "1",
            "x"
        ],
        a!["PEXPIREAT", "hfe:keyttl", at(5_000_005)],
        a!["SADD", "set:lp", "apple", "banana", "cherry pie"],
    ];
    let mut big = a!["HSET", "hfe:big"];
    for i in 0..HFE_BIG_FIELDS {
        big.push(format!("f{i}").into_bytes());
        big.push(format!("value {i}").into_bytes());
    }
    v.push(big);
    for i in (0..HFE_BIG_FIELDS as i64).step_by(3) {
        v.push(a![
            "HPEXPIREAT",
            "hfe:big",
            at(3_600_000 + i * 7),
            "FIELDS",
            "1",
            format!("f{i}")
        ]);
    }
    v.push(a!["SELECT", "5"]);
    v.push(a!["HSET", "hfe:db5", "f", "v", "g", "w"]);
    v.push(a![
        "HPEXPIREAT",
        "hfe:db5",
        at(4_100_000),
        "FIELDS",
        "1",
        "g"
    ]);
    v.push(a!["SELECT", "0"]);
    v
}

/// Checks that the dataset reached the encodings it is meant to cover.
fn check_coverage(s: &Snap, who: &str, want: &[(&str, &str)]) {
    let have = s.encodings();
    for (t, e) in want {
        assert!(
            have.contains(&(t.to_string(), e.to_string())),
            "{who}: no {t} with encoding {e} in the dataset: {have:?}"
        );
    }
    for db in [0, 5, 15] {
        assert!(s.dbsize[&db] > 0, "{who}: database {db} is empty");
    }
}

const REDIS7_ENCODINGS: [(&str, &str); 10] = [
    ("string", "int"),
    ("string", "embstr"),
    ("string", "raw"),
    ("hash", "listpack"),
    ("hash", "hashtable"),
    ("list", "quicklist"),
    ("set", "intset"),
    ("set", "hashtable"),
    ("zset", "listpack"),
    ("zset", "skiplist"),
];

/// Redis wrote `l:plain` with plain quicklist nodes (DEBUG OBJECT counts its nodes).
fn check_plain_nodes(c: &mut Client) {
    let text = show(&one(c, a!["DEBUG", "OBJECT", "l:plain"]));
    assert!(
        text.contains(&format!("ql_nodes:{PLAIN_LIST_NODES} ")),
        "l:plain has no plain nodes: {text}"
    );
}

// ---------------------------------------------------------------------------------------
// 1-3: Redis's files into ferrokv
// ---------------------------------------------------------------------------------------

/// Has redis-server 7 write the dataset and SAVE; returns its snapshot and the file.
fn redis7_dump(bin: &str, tmp: &TempDir, t0: i64) -> (Snap, Vec<u8>) {
    let (mut redis, mut c, rdir) = fresh_redis(bin, tmp, "redis7", &[]);
    pipe(&mut c, &dataset(t0, true));
    check_plain_nodes(&mut c);
    let snap = snapshot(&mut c, "redis 7", ALL_DBS, false);
    check_coverage(&snap, "redis 7", &REDIS7_ENCODINGS);
    save(&mut c);
    drop(c);
    shutdown(&mut redis, "redis 7", "");
    let rdb = std::fs::read(rdir.join("dump.rdb")).unwrap();
    assert!(rdb.starts_with(b"REDIS0010"), "not RDB 10: {}", short(&rdb));
    (snap, rdb)
}

#[test]
fn redis7_dump_rdb_loads_into_ferrokv() {
    let Some(bin) = redis7() else { return };
    let tmp = TempDir::new("rdbi-r7");
    let (want, rdb) = redis7_dump(&bin, &tmp, now_ms());
    let from = ("redis 7", &want);

    let d1 = dir_with_rdb(&tmp, "fkv-no-aof", &rdb);
    let no_aof = ["--appendonly", "no"];
    let (mut f, _) = ferrokv_holds(&d1, &no_aof, "dump.rdb", from, "dump.rdb, appendonly no");
    f.kill9();
    let same = std::fs::read(d1.join("dump.rdb")).unwrap() == rdb;
    assert!(same, "dump.rdb changed");

    // appendonly yes, no AOF yet: the file is loaded and becomes the first AOF base.
    let d2 = dir_with_rdb(&tmp, "fkv-aof", &rdb);
    let aof = ["--appendonly", "yes"];
    let (mut f, _) = ferrokv_holds(&d2, &aof, "dump.rdb", from, "dump.rdb, appendonly yes");
    assert!(d2.join("appendonlydir").is_dir(), "no AOF directory");
    f.kill9();
    // The restart must find everything in the AOF alone.
    std::fs::remove_file(d2.join("dump.rdb")).unwrap();
    let what = "the AOF written from dump.rdb, after kill -9";
    let (mut f, _) = ferrokv_holds(&d2, &aof, "append only file", from, what);
    f.kill9();
}

/// Starts ferrokv on `dir` with `extra`; checks that its log names `file` and that it
/// holds what `from` (a name and its snapshot) held. Returns it and its snapshot.
fn ferrokv_holds(
    dir: &Path,
    extra: &[&str],
    file: &str,
    from: (&str, &Snap),
    what: &str,
) -> (Server, Snap) {
    let f = Server::start_in(dir, extra);
    let log = f.log_text();
    assert!(
        log.contains(file),
        "{what}: ferrokv's log does not name {file}:\n{log}"
    );
    let hfe = from.1.keys.values().any(|k| k.field_deadlines.is_some());
    let got = snapshot(&mut f.connect(), "ferrokv", ALL_DBS, hfe);
    assert_same(what, from.0, from.1, "ferrokv", &got);
    (f, got)
}

/// Waits for redis-server's AOF rewrite to end well.
fn wait_aof_rewrite(c: &mut Client) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = info(c, "persistence");
        if info_field(&text, "aof_rewrite_in_progress") == "0"
            && info_field(&text, "aof_rewrite_scheduled") == "0"
        {
            assert_eq!(info_field(&text, "aof_last_bgrewrite_status"), "ok");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "BGREWRITEAOF did not end:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn redis7_aof_dir_with_rdb_base_loads_into_ferrokv() {
    let Some(bin) = redis7() else { return };
    let t0 = now_ms();
    let tmp = TempDir::new("rdbi-r7aof");
    let aof = ["--appendonly", "yes", "--aof-use-rdb-preamble", "yes"];
    let (mut redis, mut c, rdir) = fresh_redis(&bin, &tmp, "redis7", &aof);
    pipe(&mut c, &dataset(t0, true));
    check_plain_nodes(&mut c);
    wait_aof_rewrite(&mut c);
    one(&mut c, a!["BGREWRITEAOF"]);
    wait_aof_rewrite(&mut c);
    pipe(&mut c, &dataset_changes(t0));
    let want = snapshot(&mut c, "redis 7", ALL_DBS, false);
    check_coverage(&want, "redis 7", &REDIS7_ENCODINGS);
    drop(c);
    shutdown(&mut redis, "redis 7", "");

    let aof_dir = rdir.join("appendonlydir");
    let mut files: Vec<(String, u64)> = std::fs::read_dir(&aof_dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    files.sort();
    let big_base = files
        .iter()
        .any(|(n, len)| n.ends_with(".base.rdb") && *len > 20_000);
    let incr = files
        .iter()
        .any(|(n, len)| n.ends_with(".incr.aof") && *len > 100);
    assert!(
        big_base && incr,
        "expected an RDB base with the dataset and an incr file: {files:?}"
    );

    let fdir = tmp.path().join("ferrokv");
    std::fs::create_dir_all(fdir.join("appendonlydir")).unwrap();
    for (name, _) in &files {
        let to = fdir.join("appendonlydir").join(name);
        std::fs::copy(aof_dir.join(name), to).unwrap();
    }
    let aof = ["--appendonly", "yes"];
    let what = "redis 7's AOF dir with an RDB base";
    let (mut f, got) = ferrokv_holds(&fdir, &aof, ".base.rdb", ("redis 7", &want), what);
    assert!(got.get(0, "s:after").is_some() && got.get(0, "s:plain").is_none());
    f.kill9();
}

#[test]
fn redis8_rdb_with_field_deadlines_loads_into_ferrokv() {
    let Some(bin) = redis8() else { return };
    let t0 = now_ms();
    let tmp = TempDir::new("rdbi-r8");
    let (mut redis, mut c, rdir) = fresh_redis(&bin, &tmp, "redis8", &[]);
    pipe(&mut c, &dataset(t0, true));
    pipe(&mut c, &hfe_dataset(t0));
    let want = snapshot(&mut c, "redis 8", ALL_DBS, true);
    check_coverage(
        &want,
        "redis 8",
        &[
            ("hash", "listpackex"),
            ("hash", "hashtable"),
            ("set", "listpack"),
        ],
    );
    assert_eq!(want.get(0, "hfe:big").unwrap().encoding, "hashtable");
    save(&mut c);
    drop(c);
    shutdown(&mut redis, "redis 8", "");
    let rdb = std::fs::read(rdir.join("dump.rdb")).unwrap();
    assert!(rdb.starts_with(b"REDIS0012"), "not RDB 12: {}", short(&rdb));

    let d = dir_with_rdb(&tmp, "ferrokv", &rdb);
    let no_aof = ["--appendonly", "no"];
    let from = ("redis 8", &want);
    let (mut f, got) = ferrokv_holds(&d, &no_aof, "dump.rdb", from, "redis 8's dump.rdb");
    let small = got.get(0, "hfe:small").unwrap();
    assert_eq!(
        small.field_deadlines.as_ref().unwrap()[b"d".as_slice()],
        t0 + 3_600_300
    );
    f.kill9();
}

// ---------------------------------------------------------------------------------------
// 4-5: ferrokv's files into Redis
// ---------------------------------------------------------------------------------------

/// Loads `rdb` into `bin` (a fresh directory under `tmp`) and returns its snapshot.
fn load_into_redis(bin: &str, tmp: &TempDir, name: &str, rdb: &[u8], hfe: bool) -> Snap {
    let d = dir_with_rdb(tmp, name, rdb);
    let mut redis = start_redis(bin, &d, &[]);
    let mut c = redis.connect();
    let snap = snapshot(&mut c, name, ALL_DBS, hfe);
    assert_redis_loaded(&redis, name, snap.keys.len());
    drop(c);
    redis.kill9();
    snap
}

#[test]
fn ferrokv_save_loads_into_redis() {
    let Some(bin7) = redis7() else { return };
    let t0 = now_ms();
    let tmp = TempDir::new("rdbi-f2r");
    let (mut f, mut c, fdir) = fresh_ferrokv(&tmp);
    pipe(&mut c, &dataset(t0, false));
    save(&mut c);
    let first = std::fs::read(fdir.join("dump.rdb")).unwrap();
    assert!(
        first.starts_with(b"REDIS0010"),
        "not RDB 10: {}",
        short(&first)
    );

    // More writes, then BGSAVE, a second later so that LASTSAVE moves.
    pipe(&mut c, &dataset_changes(t0));
    let before = lastsave(&mut c);
    sleep_past_second(before);
    assert_eq!(
        status(&one(&mut c, a!["BGSAVE"])),
        "Background saving started"
    );
    let text = wait_bgsave(&mut c, "ferrokv");
    assert_eq!(info_field(&text, "rdb_last_bgsave_status"), "ok", "{text}");
    assert_eq!(
        info_field(&text, "rdb_changes_since_last_save"),
        "0",
        "{text}"
    );
    assert!(lastsave(&mut c) > before, "LASTSAVE did not move");
    let want = snapshot(&mut c, "ferrokv", ALL_DBS, false);
    let rdb = std::fs::read(fdir.join("dump.rdb")).unwrap();
    assert_ne!(rdb, first, "BGSAVE did not write the changes");

    let check = std::process::Command::new("redis-check-rdb")
        .arg(fdir.join("dump.rdb"))
        .output()
        .expect("redis-check-rdb");
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && said.contains("RDB looks OK"),
        "redis-check-rdb:\n{said}"
    );
    let got = load_into_redis(&bin7, &tmp, "redis7", &rdb, false);
    assert_same("ferrokv's BGSAVE file", "ferrokv", &want, "redis 7", &got);

    // Field deadlines: RDB 12, for Redis 8.
    let Some(bin8) = redis8() else { return };
    pipe(&mut c, &hfe_dataset(t0));
    save(&mut c);
    let want = snapshot(&mut c, "ferrokv", ALL_DBS, true);
    let rdb = std::fs::read(fdir.join("dump.rdb")).unwrap();
    assert!(rdb.starts_with(b"REDIS0012"), "not RDB 12: {}", short(&rdb));
    let got = load_into_redis(&bin8, &tmp, "redis8", &rdb, true);
    assert_same(
        "ferrokv's file with field deadlines",
        "ferrokv",
        &want,
        "redis 8",
        &got,
    );
    drop(c);
    f.kill9();
}

/// Keys and fields of the big dataset.
const BIG_STRINGS: usize = 150_000;
const BIG_HASHES: usize = 4;
const BIG_HASH_FIELDS: usize = 50_000;
const SMALL_EACH: usize = 10_000;

/// ~200k keys (four hashes of 50k fields in db 0; small collections and keys with
/// deadlines in db 3) and the model of what they hold.
fn big_dataset(t0: i64) -> (Vec<Cmd>, Snap) {
    let mut cmds = vec![a!["SELECT", "0"]];
    let mut m = Snap::default();
    let mut put = |db: usize, k: String, val: Val, exp: i64| {
        m.keys.insert((db, k.into_bytes()), Key::model(val, exp));
    };
    for chunk in (0..BIG_STRINGS).collect::<Vec<_>>().chunks(200) {
        let mut cmd = a!["MSET"];
        for &i in chunk {
            let val = format!("value-{i}-{}", "x".repeat(i % 50));
            cmd.push(format!("s:{i}").into_bytes());
            cmd.push(val.clone().into_bytes());
            put(0, format!("s:{i}"), Val::Str(val.into_bytes()), -1);
        }
        cmds.push(cmd);
    }
    for h in 0..BIG_HASHES {
        let mut map = BTreeMap::new();
        for chunk in (0..BIG_HASH_FIELDS).collect::<Vec<_>>().chunks(1000) {
            let mut cmd = a!["HSET", format!("bh:{h}")];
            for &i in chunk {
                let (f, v) = (
                    format!("f{i}").into_bytes(),
                    format!("{h}:{i}").into_bytes(),
                );
                cmd.push(f.clone());
                cmd.push(v.clone());
                map.insert(f, v);
            }
            cmds.push(cmd);
        }
        put(0, format!("bh:{h}"), Val::Hash(map), -1);
    }
    cmds.push(a!["SELECT", "3"]);
    for i in 0..SMALL_EACH {
        let n = i.to_string();
        cmds.push(a!["HSET", format!("sh:{i}"), "a", &n, "b", "2"]);
        let h = [
            (b"a".to_vec(), n.clone().into_bytes()),
            (b"b".to_vec(), b"2".to_vec()),
        ];
        put(3, format!("sh:{i}"), Val::Hash(h.into_iter().collect()), -1);
        cmds.push(a!["RPUSH", format!("sl:{i}"), "x", &n, "z"]);
        let l = vec![b"x".to_vec(), n.clone().into_bytes(), b"z".to_vec()];
        put(3, format!("sl:{i}"), Val::List(l), -1);
        cmds.push(a!["SADD", format!("ss:{i}"), "a", &n]);
        let s = [b"a".to_vec(), n.clone().into_bytes()];
        put(3, format!("ss:{i}"), Val::Set(s.into_iter().collect()), -1);
        cmds.push(a!["ZADD", format!("sz:{i}"), "1", "a", "2", "b"]);
        let z = vec![(b"a".to_vec(), score(b"1")), (b"b".to_vec(), score(b"2"))];
        put(3, format!("sz:{i}"), Val::ZSet(z), -1);
        let at = t0 + 10_000_000 + i as i64;
        cmds.push(a!["SET", format!("t:{i}"), &n, "PXAT", at.to_string()]);
        put(3, format!("t:{i}"), Val::Str(n.into_bytes()), at);
    }
    cmds.push(a!["SELECT", "0"]);
    for db in ALL_DBS {
        let n = m.keys.keys().filter(|k| k.0 == db).count();
        m.dbsize.insert(db, n as i64);
    }
    (cmds, m)
}

/// Round `r` of the changes made while BGSAVE runs: overwrites, deletes, deadlines
/// (future and past), new keys, changed and deleted big hashes, in both databases.
fn changes_round(r: usize, t0: i64) -> Vec<Cmd> {
    let mut v = vec![a!["SELECT", "0"]];
    for i in (r * 1000..(r + 1) * 1000).step_by(4) {
        v.push(a!["SET", format!("s:{i}"), "changed"]);
        v.push(a!["DEL", format!("s:{}", i + 1)]);
        v.push(a![
            "PEXPIREAT",
            format!("s:{}", i + 2),
            (t0 + 20_000_000).to_string()
        ]);
        v.push(a!["PEXPIREAT", format!("s:{}", i + 3), "1"]);
        v.push(a![
            "HSET",
            "bh:0",
            format!("f{i}"),
            "changed",
            format!("new{i}"),
            "x"
        ]);
        v.push(a!["HDEL", "bh:1", format!("f{i}")]);
    }
    match r {
        1 => v.push(a!["DEL", "bh:2"]),
        2 => v.push(a!["RENAME", "bh:3", "bh:renamed"]),
        _ => {}
    }
    v.push(a!["SELECT", "3"]);
    for i in (r * 300..(r + 1) * 300).filter(|i| *i < SMALL_EACH) {
        v.push(a!["HSET", format!("sh:{i}"), "a", "changed"]);
        v.push(a!["RPUSH", format!("sl:{i}"), "more"]);
        v.push(a!["SREM", format!("ss:{i}"), "a"]);
        v.push(a!["ZADD", format!("sz:{i}"), "99", "a"]);
        v.push(a!["DEL", format!("t:{i}")]);
        v.push(a!["SET", format!("new:{i}"), "born during the save"]);
    }
    v.push(a!["SELECT", "0"]);
    v
}

#[test]
fn bgsave_is_a_snapshot_while_writes_continue() {
    let Some(bin) = redis7() else { return };
    let t0 = now_ms();
    let tmp = TempDir::new("rdbi-bg");
    let (mut f, mut c, fdir) = fresh_ferrokv(&tmp);
    let (cmds, model) = big_dataset(t0);
    pipe(&mut c, &cmds);

    assert_eq!(
        status(&one(&mut c, a!["BGSAVE"])),
        "Background saving started"
    );
    let started = Instant::now();
    let (mut seen_running, mut rounds_while_running) = (0, 0);
    for r in 0..30 {
        let running = info_field(&info(&mut c, "persistence"), "rdb_bgsave_in_progress") == "1";
        if running {
            seen_running += 1;
            rounds_while_running = r + 1;
        }
        pipe(&mut c, &changes_round(r, t0));
    }
    let text = wait_bgsave(&mut c, "ferrokv");
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(info_field(&text, "rdb_last_bgsave_status"), "ok", "{text}");
    assert!(
        seen_running > 0 && rounds_while_running >= 2,
        "BGSAVE ended too early ({secs:.2} s, {rounds_while_running} rounds of changes \
         while it ran): make the dataset bigger"
    );
    eprintln!(
        "BGSAVE ran {secs:.2} s, {rounds_while_running} of 30 rounds of changes while it ran"
    );
    // The changes did land in the live dataset.
    assert_eq!(bulk(&one(&mut c, a!["GET", "s:0"])), b"changed");
    assert_eq!(int(&one(&mut c, a!["EXISTS", "bh:2"])), 0);
    drop(c);

    let rdb = std::fs::read(fdir.join("dump.rdb")).unwrap();
    let got = load_into_redis(&bin, &tmp, "redis7", &rdb, false);
    assert_same(
        "ferrokv's BGSAVE under writes",
        "the dataset when BGSAVE was answered",
        &model,
        "redis 7",
        &got,
    );
    f.kill9();
}

// ---------------------------------------------------------------------------------------
// 6: DUMP / RESTORE
// ---------------------------------------------------------------------------------------

/// DUMPs every key of `keys` on `from` and RESTOREs it on `to` with its own deadline
/// (ABSTTL), or under `prefix` + name with a relative TTL of `ttl_ms` if given.
fn move_keys(from: &mut Client, to: &mut Client, keys: &Snap, prefix: &str, ttl_ms: Option<i64>) {
    let dbs: BTreeSet<usize> = keys.keys.keys().map(|k| k.0).collect();
    for db in dbs {
        let names: Vec<(&Vec<u8>, &Key)> = keys
            .keys
            .iter()
            .filter(|(k, _)| k.0 == db)
            .map(|(k, v)| (&k.1, v))
            .collect();
        let sel = a!["SELECT", db.to_string()];
        let mut dumps = vec![sel.clone()];
        dumps.extend(names.iter().map(|(k, _)| a!["DUMP", k]));
        let payloads = pipe(from, &dumps);
        let mut restores = vec![sel];
        for ((k, key), p) in names.iter().zip(&payloads[1..]) {
            let mut name = prefix.as_bytes().to_vec();
            name.extend_from_slice(k);
            restores.push(match ttl_ms {
                Some(ttl) => a!["RESTORE", name, ttl.to_string(), bulk(p)],
                None => {
                    let at = key.expire_at.max(0).to_string();
                    a!["RESTORE", name, at, bulk(p), "ABSTTL"]
                }
            });
        }
        pipe(to, &restores);
    }
    pipe(from, &[a!["SELECT", "0"]]);
    pipe(to, &[a!["SELECT", "0"]]);
}

/// Redis's CRC-64 (Jones polynomial, reflected), as DUMP payloads end with.
fn crc64(data: &[u8]) -> u64 {
    const POLY: u64 = 0x95ac_9329_ac4b_c9b5;
    let mut crc = 0u64;
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// `p` with its body changed by `edit` and the checksum made right again.
fn reforged(p: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut body = p[..p.len() - 8].to_vec();
    edit(&mut body);
    let crc = crc64(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    body
}

/// RESTORE's error replies, byte for byte against redis-server 7.
fn restore_errors_match(redis: &mut Client, fkv: &mut Client) {
    let mut payloads = Vec::new();
    for c in [&mut *redis, &mut *fkv] {
        pipe(c, &[a!["SET", "exists", "v"], a!["SET", "src", "payload"]]);
        payloads.push(bulk(&one(c, a!["DUMP", "src"])));
    }
    assert_eq!(payloads[0], payloads[1], "DUMP of a short string differs");
    let p = payloads.pop().unwrap();
    assert_eq!(
        crc64(&p[..p.len() - 8]).to_le_bytes(),
        p[p.len() - 8..],
        "the test's CRC-64"
    );
    let mut bad_crc = p.clone();
    *bad_crc.last_mut().unwrap() ^= 1;
    let bad_type = reforged(&p, |b| b[0] = 200);
    let cut = reforged(&p, |b| b.truncate(3));
    let cases: Vec<Cmd> = vec![
        a!["RESTORE", "exists", "0", &p],
        a!["RESTORE", "exists", "-1", &p],
        a!["RESTORE", "exists", "0", &bad_crc],
        a!["RESTORE", "new", "0", &bad_crc],
        a!["RESTORE", "new", "0", "short"],
        a!["RESTORE", "new", "-1", &p],
        a!["RESTORE", "new", "abc", &p],
        a!["RESTORE", "new", "0", &p, "IDLETIME", "-1"],
        a!["RESTORE", "new", "0", &p, "IDLETIME", "abc"],
        a!["RESTORE", "new", "0", &p, "IDLETIME"],
        a!["RESTORE", "new", "0", &p, "FREQ", "256"],
        a!["RESTORE", "new", "0", &p, "FREQ", "-1"],
        a!["RESTORE", "new", "0", &p, "IDLETIME", "1", "FREQ", "1"],
        a!["RESTORE", "new", "0", &p, "FREQ", "1", "IDLETIME", "1"],
        a!["RESTORE", "new", "0", &p, "BOGUS"],
        a!["RESTORE", "exists", "0", &p, "REPLACE", "IDLETIME", "-1"],
        a!["RESTORE", "new", "0", &bad_type],
        a!["RESTORE", "new", "0", &cut],
        a!["RESTORE", "new"],
        a![
            "RESTORE", "new", "0", &p, "REPLACE", "ABSTTL", "IDLETIME", "10"
        ],
        a!["RESTORE", "new", "1", &p, "REPLACE", "ABSTTL"],
        a!["EXISTS", "new"],
        a!["RESTORE", "exists", "0", &p, "REPLACE", "FREQ", "5"],
        a!["GET", "exists"],
        a!["DUMP", "nosuchkey"],
    ];
    let mut diffs = Vec::new();
    for cmd in &cases {
        let args: Vec<&[u8]> = cmd.iter().map(|x| x.as_slice()).collect();
        let (want, got) = (raw(redis, &args), raw(fkv, &args));
        if want != got {
            diffs.push(format!(
                "{}\n    redis 7: {}\n    ferrokv: {}",
                show_cmd(cmd),
                short(&want),
                short(&got)
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "RESTORE replies differ:\n  {}",
        diffs.join("\n  ")
    );
}

#[test]
fn dump_payloads_cross_both_ways() {
    let Some(bin) = redis7() else { return };
    let t0 = now_ms();
    let tmp = TempDir::new("rdbi-dump");
    let (mut redis, mut rc, _) = fresh_redis(&bin, &tmp, "redis7", &[]);
    pipe(&mut rc, &dataset(t0, true));
    check_plain_nodes(&mut rc);
    let want = snapshot(&mut rc, "redis 7", ALL_DBS, false);
    let (mut f, mut fc, _) = fresh_ferrokv(&tmp);

    // Redis 7 -> ferrokv, deadlines as they are.
    move_keys(&mut rc, &mut fc, &want, "", None);
    let got = snapshot(&mut fc, "ferrokv", ALL_DBS, false);
    assert_same(
        "payloads of redis 7 restored by ferrokv",
        "redis 7",
        &want,
        "ferrokv",
        &got,
    );
    // And with a relative TTL, under other names.
    let ttl = 600_000;
    move_keys(&mut rc, &mut fc, &want, "rel:", Some(ttl));
    let (lo, hi) = (now_ms() - 60_000 + ttl, now_ms() + ttl);
    for ((db, k), key) in &want.keys {
        let mut name = b"rel:".to_vec();
        name.extend_from_slice(k);
        let r = pipe(
            &mut fc,
            &[
                a!["SELECT", db.to_string()],
                a!["PEXPIRETIME", &name],
                a!["TYPE", &name],
            ],
        );
        let at = int(&r[1]);
        assert!(
            lo <= at && at <= hi,
            "db {db} {}: PEXPIRETIME {at} not in [{lo}, {hi}]",
            short(&name)
        );
        assert_eq!(status(&r[2]), type_name(&key.val));
        pipe(&mut fc, &[a!["DEL", &name]]);
    }
    pipe(&mut fc, &[a!["SELECT", "0"]]);

    // ferrokv -> Redis 7.
    one(&mut rc, a!["FLUSHALL"]);
    move_keys(&mut fc, &mut rc, &want, "", None);
    let back = snapshot(&mut rc, "redis 7", ALL_DBS, false);
    assert_same(
        "payloads of ferrokv restored by redis 7",
        "redis 7 before",
        &want,
        "redis 7 after",
        &back,
    );

    restore_errors_match(&mut rc, &mut fc);

    // A stream's payload: an error reply, and the connection goes on.
    one(&mut rc, a!["XADD", "stream", "1-1", "field", "value"]);
    let p = bulk(&one(&mut rc, a!["DUMP", "stream"]));
    let r = raw(&mut fc, &[b"RESTORE", b"stream", b"0", &p]);
    assert_eq!(r, b"-ERR Bad data format\r\n", "{}", short(&r));
    assert_eq!(raw(&mut fc, &[b"PING"]), b"+PONG\r\n");
    assert_eq!(raw(&mut fc, &[b"EXISTS", b"stream"]), b":0\r\n");

    // Redis 8 payloads with field deadlines -> ferrokv -> Redis 8.
    let Some(bin8) = redis8() else { return };
    let (mut redis8, mut c8, _) = fresh_redis(&bin8, &tmp, "redis8", &[]);
    pipe(&mut c8, &hfe_dataset(t0));
    let want8 = snapshot(&mut c8, "redis 8", ALL_DBS, true);
    pipe(&mut fc, &[a!["FLUSHALL"]]);
    move_keys(&mut c8, &mut fc, &want8, "", None);
    let got8 = snapshot(&mut fc, "ferrokv", ALL_DBS, true);
    assert_same(
        "payloads of redis 8 restored by ferrokv",
        "redis 8",
        &want8,
        "ferrokv",
        &got8,
    );
    one(&mut c8, a!["FLUSHALL"]);
    move_keys(&mut fc, &mut c8, &want8, "", None);
    let back8 = snapshot(&mut c8, "redis 8", ALL_DBS, true);
    assert_same(
        "payloads of ferrokv restored by redis 8",
        "redis 8 before",
        &want8,
        "redis 8 after",
        &back8,
    );
    f.kill9();
    redis.kill9();
    redis8.kill9();
}

// ---------------------------------------------------------------------------------------
// 7-8: load errors, save points
// ---------------------------------------------------------------------------------------

/// Starts ferrokv on `dir` (extra arguments `extra`) expecting it to refuse to start:
/// returns its exit code and log.
fn ferrokv_fails(dir: &Path, extra: &[&str]) -> (i32, String) {
    match Server::start_at(dir, free_port(), extra) {
        Ok(mut s) => {
            s.kill9();
            panic!("ferrokv started on a bad file; log:\n{}", s.log_text());
        }
        Err(e) => {
            let code = e
                .split("exit status: ")
                .nth(1)
                .and_then(|x| x.split_whitespace().next())
                .and_then(|x| x.parse().ok())
                .unwrap_or_else(|| panic!("ferrokv did not exit with a status: {e}"));
            (code, e)
        }
    }
}

#[test]
fn rdb_load_errors_are_clear() {
    let Some(bin) = redis7() else { return };
    let tmp = TempDir::new("rdbi-err");
    let (mut redis, mut c, rdir) = fresh_redis(&bin, &tmp, "redis7", &[]);
    let mut rng = Rng::new(7);
    let marker = noise(&mut rng, 4000);
    pipe(
        &mut c,
        &[
            a!["SET", "a", "1"],
            a!["SET", "noise", &marker],
            a!["HSET", "h", "f", "v"],
        ],
    );
    save(&mut c);
    let good = std::fs::read(rdir.join("dump.rdb")).unwrap();
    pipe(&mut c, &[a!["XADD", "my:stream", "1-1", "f", "v"]]);
    save(&mut c);
    let with_stream = std::fs::read(rdir.join("dump.rdb")).unwrap();
    drop(c);
    redis.kill9();

    let at = good
        .windows(16)
        .position(|w| w == &marker[..16])
        .expect("the noise in the file");
    let mut flipped = good.clone();
    flipped[at + 2000] ^= 0x20;
    let cases: [(&str, Vec<u8>, &[&str]); 3] = [
        (
            "truncated",
            good[..good.len() / 2].to_vec(),
            &["dump.rdb", "end of file"],
        ),
        ("flipped", flipped, &["dump.rdb", "checksum"]),
        ("stream", with_stream, &["dump.rdb", "my:stream", "stream"]),
    ];
    for (name, bytes, words) in cases {
        for aof in ["no", "yes"] {
            let d = dir_with_rdb(&tmp, &format!("{name}-{aof}"), &bytes);
            let (code, log) = ferrokv_fails(&d, &["--appendonly", aof]);
            assert_ne!(code, 0, "{name}, appendonly {aof}: exit status 0:\n{log}");
            let line = log.lines().find(|l| words.iter().all(|w| l.contains(w)));
            assert!(
                line.is_some(),
                "{name}, appendonly {aof}: no log line with {words:?}:\n{log}"
            );
            assert!(
                std::fs::read(d.join("dump.rdb")).unwrap() == bytes,
                "{name}: file changed"
            );
            let left: Vec<_> = std::fs::read_dir(&d)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(
                left.len(),
                1,
                "{name}, appendonly {aof}: files left: {left:?}"
            );
        }
    }
}

/// Polls `cond` for up to `secs`.
fn wait_until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The value of `key` in the dump.rdb of `dir`, as ferrokv loads it.
fn key_in_rdb(dir: &Path, key: &str) -> Option<Vec<u8>> {
    let mut f = start_ferrokv_rdb(dir);
    let r = one(&mut f.connect(), a!["GET", key]);
    f.kill9();
    bulk_payload(&r)
}

#[test]
fn save_points_and_shutdown_save() {
    // save 1 1: a write is saved about a second later.
    let tmp = TempDir::new("rdbi-points");
    let d = tmp.path().join("auto");
    std::fs::create_dir_all(&d).unwrap();
    let mut f = Server::start_in(&d, &["--appendonly", "no", "--save", "1 1"]);
    let mut c = f.connect();
    let before = lastsave(&mut c);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!d.join("dump.rdb").exists(), "saved without a change");
    assert_eq!(lastsave(&mut c), before, "LASTSAVE moved without a save");
    pipe(&mut c, &[a!["SET", "k", "auto"]]);
    let written = Instant::now();
    wait_until("save point 1 1", 3, || lastsave(&mut c) > before);
    assert!(written.elapsed() < Duration::from_millis(2500));
    wait_until("dump.rdb", 2, || d.join("dump.rdb").exists());
    let text = info(&mut c, "persistence");
    assert_eq!(
        info_field(&text, "rdb_changes_since_last_save"),
        "0",
        "{text}"
    );
    assert_eq!(info_field(&text, "rdb_last_bgsave_status"), "ok", "{text}");
    drop(c);
    f.kill9();
    assert_eq!(key_in_rdb(&d, "k").as_deref(), Some(b"auto".as_slice()));

    // SHUTDOWN SAVE without save points writes the file; plain SHUTDOWN does not.
    for (how, saves) in [("SAVE", true), ("", false)] {
        let d = tmp.path().join(format!("shutdown-{how}"));
        std::fs::create_dir_all(&d).unwrap();
        let mut f = Server::start_in(&d, &["--appendonly", "no", "--save", ""]);
        pipe(&mut f.connect(), &[a!["SET", "k", how]]);
        shutdown(&mut f, "ferrokv", how);
        assert_eq!(
            d.join("dump.rdb").exists(),
            saves,
            "SHUTDOWN {how}, no save points"
        );
    }
    let d = tmp.path().join("shutdown-SAVE");
    assert_eq!(key_in_rdb(&d, "k").as_deref(), Some(b"SAVE".as_slice()));

    // With save points: SHUTDOWN NOSAVE does not save; plain SHUTDOWN does.
    for (how, saves) in [("NOSAVE", false), ("", true)] {
        let d = tmp.path().join(format!("points-{how}"));
        std::fs::create_dir_all(&d).unwrap();
        let mut f = Server::start_in(&d, &["--appendonly", "no", "--save", "3600 1"]);
        pipe(&mut f.connect(), &[a!["SET", "k", "v"]]);
        shutdown(&mut f, "ferrokv", how);
        assert_eq!(
            d.join("dump.rdb").exists(),
            saves,
            "SHUTDOWN {how} with save points"
        );
    }
}

/// `want` with the deadlines of `got` where they are within a second of its own: MIGRATE
/// sends relative TTLs (as Redis's does), so a deadline moves by the milliseconds the
/// transfer took. A missing or added deadline still shows as a difference.
fn with_deadlines_of(want: &Snap, got: &Snap) -> Snap {
    let mut keys = want.keys.clone();
    for (k, w) in keys.iter_mut() {
        if let Some(g) = got.keys.get(k)
            && w.expire_at > 0
            && g.expire_at > 0
            && (w.expire_at - g.expire_at).abs() <= 1000
        {
            w.expire_at = g.expire_at;
        }
    }
    Snap {
        dbsize: want.dbsize.clone(),
        keys,
    }
}

/// Moves every key of `by_db` from `from` to the server on `port`, one MIGRATE ... KEYS
/// per database with `opts` before KEYS; then (unless `to` is empty, for a COPY) checks
/// that nothing is left behind.
fn migrate_all(
    from: &mut Client,
    port: &str,
    by_db: &BTreeMap<usize, Vec<Vec<u8>>>,
    opts: &[&str],
    to: &str,
) {
    for (db, keys) in by_db {
        let mut cmd = a!["MIGRATE", "127.0.0.1", port, "", db.to_string(), "5000"];
        cmd.extend(opts.iter().map(|o| o.as_bytes().to_vec()));
        cmd.push(b"KEYS".to_vec());
        cmd.extend(keys.iter().cloned());
        let r = pipe(from, &[a!["SELECT", db.to_string()], cmd]);
        assert_eq!(status(&r[1]), "OK", "MIGRATE of db {db}: {}", show(&r[1]));
        if !to.is_empty() {
            assert_eq!(
                int(&one(from, a!["DBSIZE"])),
                0,
                "MIGRATE to {to} left keys in db {db}"
            );
        }
    }
}

/// MIGRATE in both directions: every key of the Redis 7 dataset goes from redis-server
/// to ferrokv (KEYS form, one database at a time, into another database number) and all
/// of them back from ferrokv to a second redis-server that wants a password (AUTH),
/// with deadlines kept; COPY leaves the source, REPLACE overwrites, BUSYKEY, NOKEY and
/// IOERR answer as redis-server's MIGRATE does.
#[test]
fn migrate_moves_keys_both_ways() {
    let Some(bin) = redis7() else { return };
    let t0 = now_ms();
    let tmp = TempDir::new("rdbi-migrate");
    let (_redis, mut rc, _) = fresh_redis(&bin, &tmp, "redis7", &[]);
    pipe(&mut rc, &dataset(t0, false));
    let want = snapshot(&mut rc, "redis 7", ALL_DBS, false);
    let (_f, mut fc, _) = fresh_ferrokv(&tmp);
    let fport = fc.stream.peer_addr().unwrap().port().to_string();
    let (_r2, mut r2c, _) = fresh_redis(&bin, &tmp, "redis7b", &["--requirepass", "pw"]);
    let r2port = r2c.stream.peer_addr().unwrap().port().to_string();

    // Redis -> ferrokv, each database's keys in one MIGRATE ... KEYS.
    let mut by_db: BTreeMap<usize, Vec<Vec<u8>>> = BTreeMap::new();
    for (db, k) in want.keys.keys() {
        by_db.entry(*db).or_default().push(k.clone());
    }
    migrate_all(&mut rc, &fport, &by_db, &[], "ferrokv");
    let got = snapshot(&mut fc, "ferrokv", ALL_DBS, false);
    let want = with_deadlines_of(&want, &got);
    assert_same(
        "keys migrated to ferrokv",
        "redis 7",
        &want,
        "ferrokv",
        &got,
    );

    // ferrokv -> the password-protected redis-server, COPY first, then for real.
    migrate_all(&mut fc, &r2port, &by_db, &["COPY", "AUTH", "pw"], "");
    migrate_all(
        &mut fc,
        &r2port,
        &by_db,
        &["REPLACE", "AUTH", "pw"],
        "redis",
    );
    one(&mut r2c, a!["AUTH", "pw"]);
    let back = snapshot(&mut r2c, "redis 7 (2)", ALL_DBS, false);
    let want = with_deadlines_of(&want, &back);
    assert_same(
        "keys migrated back to redis",
        "redis 7",
        &want,
        "redis 7 (2)",
        &back,
    );

    // Replies to compare with redis-server's own MIGRATE, byte for byte.
    one(&mut fc, a!["SELECT", "0"]);
    one(&mut rc, a!["SELECT", "0"]);
    for c in [&mut fc, &mut rc] {
        pipe(c, &[a!["SET", "busy", "1"], a!["SET", "busy2", "1"]]);
    }
    one(&mut r2c, a!["SET", "busy", "there"]);
    let cases: Vec<Cmd> = vec![
        a![
            "MIGRATE",
            "127.0.0.1",
            &r2port,
            "busy",
            "0",
            "5000",
            "COPY",
            "AUTH",
            "pw"
        ],
        a!["MIGRATE", "127.0.0.1", &r2port, "nosuch", "0", "5000"],
        a![
            "MIGRATE",
            "127.0.0.1",
            &r2port,
            "",
            "0",
            "5000",
            "KEYS",
            "nosuch"
        ],
        a![
            "MIGRATE",
            "127.0.0.1",
            &r2port,
            "busy",
            "0",
            "5000",
            "KEYS",
            "busy"
        ],
        a![
            "MIGRATE",
            "127.0.0.1",
            &r2port,
            "busy",
            "0",
            "5000",
            "COPY",
            "FOO"
        ],
        a!["MIGRATE", "127.0.0.1", &r2port, "busy", "x", "5000"],
        a!["MIGRATE", "127.0.0.1", "1", "busy2", "0", "100"],
    ];
    for cmd in cases {
        let ours = raw(&mut fc, &cmd.iter().map(|x| &x[..]).collect::<Vec<_>>());
        let theirs = raw(&mut rc, &cmd.iter().map(|x| &x[..]).collect::<Vec<_>>());
        assert_eq!(
            short(&ours),
            short(&theirs),
            "{:?}",
            cmd.iter().map(|x| short(x)).collect::<Vec<_>>()
        );
    }
}
