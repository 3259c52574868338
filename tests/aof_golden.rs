//! The AOF's exact bytes for a fixed workload, and the write stream without the AOF.
//!
//! `workload` runs every kind of write ferrokv logs, one command at a time under
//! `appendfsync always` (so each command is its own checksummed batch): plain and canonical
//! records (absolute expiry times, float results, HSETEX/HPEXPIREAT forms), deletions by a
//! past deadline, keys and hash fields that expire lazily (logged as DEL/HDEL), MULTI/EXEC
//! wrapping with a SELECT inside, FLUSHDB/SWAPDB, then a fork-less rewrite and writes after
//! it. Every file the manifest names must equal `tests/golden/aof/` byte for byte, except
//! clock-derived times (now plus a relative TTL) and the CRC of the batches holding them,
//! which are masked after the CRC of every batch has been checked. The golden files were
//! written by the binary before the command table, write stream and engine were rebuilt
//! (issue 10), so they pin the AOF format across refactors. `FERROKV_WRITE_GOLDEN=1`
//! rewrites them.
//!
//! With `appendonly no`, the write stream still carries every record: a tap
//! (`DEBUG WRITE-STREAM`) reads the same records the AOF gets for the same workload.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Client, Server, TempDir, now_ms};

/// 2100-01-01 in Unix ms: a deadline that is fixed and always in the future.
const FAR: &str = "4102444800000";
/// The same instant in seconds.
const FAR_S: &str = "4102444800";

fn t(c: &mut Client, line: &str, want: &str) {
    let got = c.cmd(line);
    assert_eq!(got, format!("{want}\r\n"), "{line}");
}

/// The workload up to the rewrite.
fn workload(c: &mut Client) {
    t(c, "DEBUG SET-ACTIVE-EXPIRE 0", "+OK");
    // Data FLUSHALL wipes.
    t(c, "SET gone v", "+OK");
    t(c, "FLUSHALL", "+OK");

    // Strings: plain, conditional, relative and absolute expiry, canonical forms.
    t(c, "SET s1 v", "+OK");
    t(c, &format!("SET s2 v PXAT {FAR}"), "+OK");
    t(c, "SET s2 w KEEPTTL", "+OK");
    t(c, "SET s3 v EX 100", "+OK");
    t(c, "SET s1 x NX", "$-1");
    t(c, "SET s1 y XX GET", "$1\r\nv");
    t(c, "GETSET s1 z", "$1\r\ny");
    t(c, "SET gd v", "+OK");
    t(c, "GETDEL gd", "$1\r\nv");
    t(c, "GETEX s2 PERSIST", "$1\r\nw");
    t(c, &format!("GETEX s1 PXAT {FAR}"), "$1\r\nz");
    t(c, &format!("GETEX s1 EXAT {FAR_S}"), "$1\r\nz");
    t(c, "GETEX s1 EXAT 1", "$1\r\nz"); // A past deadline deletes.
    t(c, "SETNX s4 v", ":1");
    t(c, "SETNX s4 w", ":0");
    t(c, "SETEX s5 100 v", "+OK");
    t(c, "PSETEX s6 100000 v", "+OK");
    t(c, "MSET m1 1 m2 2 m3 3", "+OK");
    t(c, "MSETNX m4 4 m5 5", ":1");
    t(c, "MSETNX m5 x m6 6", ":0");
    t(c, "INCR n", ":1");
    t(c, "DECR n", ":0");
    t(c, "INCRBY n 10", ":10");
    t(c, "DECRBY n 3", ":7");
    t(c, "INCRBYFLOAT f 1.1", "$3\r\n1.1");
    t(c, &format!("SET f2 2.5 PXAT {FAR}"), "+OK");
    t(c, "INCRBYFLOAT f2 0.5", "$1\r\n3");
    t(c, "APPEND a xyz", ":3");
    t(c, "SETRANGE a 5 Q", ":6");

    // Hashes and field deadlines.
    t(c, "HSET h a 1 b 2 c 3", ":3");
    t(c, "HSETNX h d 4", ":1");
    t(c, "HSETNX h d 5", ":0");
    t(c, "HMSET h2 x 1", "+OK");
    t(c, "HDEL h2 x", ":1");
    t(c, "HINCRBY h a 5", ":6");
    t(c, "HINCRBYFLOAT h f 1.5", "$3\r\n1.5");
    t(
        c,
        &format!("HPEXPIREAT h {FAR} FIELDS 2 a b"),
        "*2\r\n:1\r\n:1",
    );
    t(c, "HINCRBYFLOAT h a 0.5", "$3\r\n6.5");
    t(c, "HEXPIRE h 100 FIELDS 1 c", "*1\r\n:1");
    t(c, "HPERSIST h FIELDS 1 b", "*1\r\n:1");
    t(c, "HPEXPIREAT h 1 FIELDS 1 d", "*1\r\n:2");
    t(c, "HGETDEL h FIELDS 1 c", "*1\r\n$1\r\n3");
    t(c, "HSET h3 a 1 b 2 c 3", ":3");
    t(
        c,
        &format!("HGETEX h3 PXAT {FAR} FIELDS 1 a"),
        "*1\r\n$1\r\n1",
    );
    t(c, "HGETEX h3 PERSIST FIELDS 1 a", "*1\r\n$1\r\n1");
    t(c, "HGETEX h3 EXAT 1 FIELDS 1 b", "*1\r\n$1\r\n2");
    t(c, &format!("HSETEX h4 PXAT {FAR} FIELDS 2 a 1 b 2"), ":1");
    t(c, "HSETEX h4 KEEPTTL FIELDS 1 a 9", ":1");
    t(c, "HSETEX h4 FIELDS 1 c 3", ":1");
    t(c, "HSETEX h4 FNX FIELDS 1 a 0", ":0");
    t(c, "HSETEX h4 PXAT 1 FIELDS 1 c x", ":1");
    t(c, "HSETEX h5 EX 100 FIELDS 1 a 1", ":1");

    // Key space.
    t(c, "DEL m1 nosuch", ":1");
    t(c, "UNLINK m2", ":1");
    t(c, "RENAME m3 r1", "+OK");
    t(c, "RENAMENX m4 r1", ":0");
    t(c, "RENAMENX m4 r2", ":1");
    t(c, "COPY r2 c1", ":1");
    t(c, "COPY h c2 DB 2", ":1");
    t(c, "MOVE c1 3", ":1");
    t(c, "EXPIRE r1 100", ":1");
    t(c, &format!("PEXPIREAT r2 {FAR}"), ":1");
    t(c, "EXPIRE r2 50 GT", ":0");
    t(c, "PERSIST r2", ":1");
    t(c, "SET e1 v", "+OK");
    t(c, "PEXPIRE e1 0", ":1"); // Deletes.

    // Transactions: several records (wrapped), one record (not wrapped), a failure.
    t(c, "MULTI", "+OK");
    t(c, "SET t1 a", "+QUEUED");
    t(c, "HSET t2 f v", "+QUEUED");
    t(c, "SELECT 4", "+QUEUED");
    t(c, "SET t3 v", "+QUEUED");
    t(c, "EXEC", "*4\r\n+OK\r\n:1\r\n+OK\r\n+OK");
    t(c, "SELECT 0", "+OK");
    t(c, "MULTI", "+OK");
    t(c, "INCR one", "+QUEUED");
    t(c, "GET one", "+QUEUED");
    t(c, "EXEC", "*2\r\n:1\r\n$1\r\n1");
    t(c, "MULTI", "+OK");
    t(c, "SET tx 1", "+QUEUED");
    t(c, "HINCRBY tx f 1", "+QUEUED");
    t(c, "APPEND tx 2", "+QUEUED");
    t(
        c,
        "EXEC",
        "*3\r\n+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n:2",
    );

    // Other databases.
    t(c, "SELECT 5", "+OK");
    t(c, "SET d5 v", "+OK");
    t(c, "FLUSHDB", "+OK");
    t(c, "SET d5b v", "+OK");
    t(c, "SWAPDB 4 6", "+OK");
    t(c, "SELECT 0", "+OK");

    // Lazy expiry: a key and a hash field expire between commands and are logged as
    // DEL / HDEL when something next looks at them (a read, a WATCH).
    t(c, "SET lz v PX 40", "+OK");
    t(c, "HSET lzh f v g w", ":2");
    t(c, "HPEXPIRE lzh 40 FIELDS 1 f", "*1\r\n:1");
    t(c, "SET wz v PX 40", "+OK");
    std::thread::sleep(Duration::from_millis(120));
    t(c, "GET lz", "$-1");
    t(c, "HGETALL lzh", "*2\r\n$1\r\ng\r\n$1\r\nw");
    t(c, "WATCH wz", "+OK");
    t(c, "UNWATCH", "+OK");
    t(c, "SET last v", "+OK");
}

/// A rewrite, then writes that go to the incr file opened by it.
fn rewrite_and_more(c: &mut Client) {
    t(
        c,
        "BGREWRITEAOF",
        "+Background append only file rewriting started",
    );
    common::wait_rewrites(c, 1, 20);
    t(c, "SET after v", "+OK");
    t(c, "HSET after2 f v", ":1");
    t(c, "SELECT 3", "+OK");
    t(c, "DEL c1", ":1");
}

/// Splits AOF bytes into (annotation, records) per checksummed batch, checking each CRC
/// (but a masked one).
fn batches(data: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut p = 0;
    while p < data.len() {
        assert!(
            data[p..].starts_with(b"#crc32 "),
            "no annotation at {p}: {:?}",
            String::from_utf8_lossy(&data[p..])
        );
        let nl = p + data[p..].iter().position(|&b| b == b'\n').unwrap();
        let line = std::str::from_utf8(&data[p..nl - 1]).unwrap();
        let mut parts = line.split(' ').skip(1);
        let crc = parts.next().unwrap();
        let len: usize = parts.next().unwrap().parse().unwrap();
        let body = &data[nl + 1..nl + 1 + len];
        // A golden file's masked CRC (its batch holds a masked time) cannot be checked.
        if crc != "XXXXXXXX" {
            let crc = u32::from_str_radix(crc, 16).unwrap();
            assert_eq!(crc32(body), crc, "batch at {p} fails its CRC");
        }
        out.push((data[p..nl + 1].to_vec(), body.to_vec()));
        p = nl + 1 + len;
    }
    out
}

/// CRC-32 (IEEE), bitwise: the tests carry no crc crate.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// Replaces clock-derived times (13-digit bulks within `lo..=hi` ms) with `T`s.
fn mask_times(records: &[u8], lo: i64, hi: i64) -> Vec<u8> {
    let mut out = records.to_vec();
    let mut i = 0;
    while i + 13 <= out.len() {
        let run = &out[i..i + 13];
        let bounded = (i == 0 || out[i - 1] == b'\n') && out.get(i + 13) == Some(&b'\r');
        if bounded && run.iter().all(u8::is_ascii_digit) {
            let v: i64 = std::str::from_utf8(run).unwrap().parse().unwrap();
            if (lo..=hi).contains(&v) {
                out[i..i + 13].fill(b'T');
            }
            i += 13;
        } else {
            i += 1;
        }
    }
    out
}

/// A file's bytes with times masked, and the CRC of batches with a masked time masked too.
fn masked_file(data: &[u8], lo: i64, hi: i64) -> Vec<u8> {
    let mut out = Vec::new();
    for (head, body) in batches(data) {
        let m = mask_times(&body, lo, hi);
        if m != body {
            out.extend_from_slice(b"#crc32 XXXXXXXX");
            out.extend_from_slice(&head[15..]);
        } else {
            out.extend_from_slice(&head);
        }
        out.extend_from_slice(&m);
    }
    out
}

/// The manifest, then every file it names, in its order; names get `tag` in front.
fn aof_files(dir: &Path, tag: &str) -> Vec<(String, Vec<u8>)> {
    let aof = dir.join("appendonlydir");
    let manifest = std::fs::read_to_string(aof.join("appendonly.aof.manifest")).unwrap();
    let mut out = vec![(format!("{tag}manifest"), manifest.clone().into_bytes())];
    for line in manifest.lines() {
        let name = line.split(' ').nth(1).unwrap().to_string();
        let data = std::fs::read(aof.join(&name)).unwrap();
        out.push((format!("{tag}{name}"), data));
    }
    out
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/aof")
}

#[test]
fn aof_bytes_for_a_fixed_workload_are_unchanged() {
    let dir = TempDir::new("golden");
    let lo = now_ms();
    let files = {
        let mut srv = Server::start_in(
            dir.path(),
            &["--appendfsync", "always", "--enable-debug-command", "yes"],
        );
        let mut c = srv.connect();
        workload(&mut c);
        let mut files = aof_files(dir.path(), "1-");
        rewrite_and_more(&mut c);
        files.extend(aof_files(dir.path(), "2-"));
        srv.kill9();
        files
    };
    let hi = now_ms() + 200_000;
    let golden = golden_dir();
    if std::env::var("FERROKV_WRITE_GOLDEN").is_ok() {
        let _ = std::fs::remove_dir_all(&golden);
        std::fs::create_dir_all(&golden).unwrap();
    }
    for (name, data) in &files {
        let masked = if name.ends_with("manifest") {
            data.clone()
        } else {
            masked_file(data, lo, hi)
        };
        let path = golden.join(name);
        if std::env::var("FERROKV_WRITE_GOLDEN").is_ok() {
            std::fs::write(&path, &masked).unwrap();
            continue;
        }
        let want =
            std::fs::read(&path).unwrap_or_else(|e| panic!("golden file {}: {e}", path.display()));
        assert!(
            masked == want,
            "{name} differs from {}:\n--- got\n{}\n--- want\n{}",
            path.display(),
            String::from_utf8_lossy(&masked),
            String::from_utf8_lossy(&want)
        );
    }
    let listed: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let mut in_golden: Vec<String> = std::fs::read_dir(&golden)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    in_golden.sort();
    let mut want: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(in_golden, want, "files in the AOF directory");
}

/// The records of a file: its batches' bodies, in order, annotations left out.
fn records_of(file: &[u8]) -> Vec<u8> {
    batches(file)
        .into_iter()
        .flat_map(|(_, body)| body)
        .collect()
}

#[test]
fn write_stream_carries_the_same_records_without_the_aof() {
    let lo = now_ms();
    let srv = Server::start(&["--appendonly", "no", "--enable-debug-command", "yes"]);
    let mut c = srv.connect();
    t(&mut c, "DEBUG WRITE-STREAM START", "+OK");
    workload(&mut c);
    let reply = c.cmd_bytes(&[b"DEBUG", b"WRITE-STREAM", b"READ"]);
    let hi = now_ms() + 200_000;
    let nl = reply.iter().position(|&b| b == b'\n').unwrap();
    assert_eq!(reply[0], b'$', "{:?}", String::from_utf8_lossy(&reply));
    let records = &reply[nl + 1..reply.len() - 2];
    let got = mask_times(records, lo, hi);
    let golden = std::fs::read(golden_dir().join("1-appendonly.aof.1.incr.aof")).unwrap();
    let want = records_of(&golden);
    assert!(
        got == want,
        "the write stream differs from the AOF's records:\n--- stream\n{}\n--- AOF\n{}",
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want)
    );
    // A second read starts where the first ended; the tap can be removed.
    t(&mut c, "SET one-more v", "+OK");
    let reply = c.cmd("DEBUG WRITE-STREAM READ");
    assert!(
        reply.ends_with("*3\r\n$3\r\nSET\r\n$8\r\none-more\r\n$1\r\nv\r\n\r\n"),
        "{reply:?}"
    );
    t(&mut c, "DEBUG WRITE-STREAM STOP", "+OK");
    let reply = c.cmd("DEBUG WRITE-STREAM READ");
    assert!(reply.starts_with("-ERR no write stream tap"), "{reply:?}");
}

/// Attaching the tap changes nothing for the AOF: no SELECT appears in the file because of
/// it; the tap starts with the SELECT in effect.
#[test]
fn tap_leaves_the_aof_alone() {
    let dir = TempDir::new("tap-aof");
    let srv = Server::start_in(
        dir.path(),
        &["--appendfsync", "always", "--enable-debug-command", "yes"],
    );
    let mut c = srv.connect();
    t(&mut c, "SET a 1", "+OK");
    t(&mut c, "DEBUG WRITE-STREAM START", "+OK");
    t(&mut c, "SET b 2", "+OK");
    let tap = c.cmd("DEBUG WRITE-STREAM READ");
    assert!(
        tap.ends_with(
            "\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n\r\n"
        ),
        "{tap:?}"
    );
    let files = aof_files(dir.path(), "");
    let incr = &files.last().unwrap().1;
    assert_eq!(
        String::from_utf8_lossy(&records_of(incr)),
        "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n\
         *3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
}

/// CONFIG SET appendonly yes with a tap attached: records of the same loop iteration that
/// came before it belong to the base (the dataset), never also to the new incr file.
#[test]
fn turning_the_aof_on_with_a_tap_attached() {
    let dir = TempDir::new("tap-enable");
    let mut srv = Server::start_in(
        dir.path(),
        &["--appendonly", "no", "--enable-debug-command", "yes"],
    );
    let mut c = srv.connect();
    t(&mut c, "DEBUG WRITE-STREAM START", "+OK");
    // One write, then the AOF turned on, in one pipeline: one loop iteration.
    c.send_raw(&Client::encode(&[b"INCR", b"c"]));
    c.send_raw(&Client::encode(&[b"CONFIG", b"SET", b"appendonly", b"yes"]));
    assert_eq!(c.read_reply(), b":1\r\n");
    assert_eq!(c.read_reply(), b"+OK\r\n");
    common::wait_rewrites(&mut c, 1, 20);
    t(&mut c, "INCR c", ":2");
    srv.kill9();
    let srv = Server::start_in(dir.path(), &["--appendonly", "yes"]);
    t(&mut srv.connect(), "GET c", "$1\r\n2");
}

/// BGREWRITEAOF inside a transaction is scheduled: the transaction's records stay
/// together, after the snapshot point, and nothing is applied twice.
#[test]
fn bgrewriteaof_inside_exec_is_scheduled() {
    let dir = TempDir::new("rewrite-in-exec");
    let mut srv = Server::start_in(dir.path(), &["--appendfsync", "always"]);
    let mut c = srv.connect();
    t(&mut c, "MULTI", "+OK");
    t(&mut c, "INCR a", "+QUEUED");
    t(&mut c, "INCR b", "+QUEUED");
    t(&mut c, "BGREWRITEAOF", "+QUEUED");
    t(&mut c, "INCR a", "+QUEUED");
    t(
        &mut c,
        "EXEC",
        "*4\r\n:1\r\n:1\r\n+Background append only file rewriting scheduled\r\n:2",
    );
    common::wait_rewrites(&mut c, 1, 20);
    srv.kill9();
    let srv = Server::start_in(dir.path(), &[]);
    let mut c = srv.connect();
    t(&mut c, "GET a", "$1\r\n2");
    t(&mut c, "GET b", "$1\r\n1");
}
