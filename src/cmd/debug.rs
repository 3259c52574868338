//! DEBUG: the operator's tools Redis 7 keeps behind `enable-debug-command`, the ones that
//! matter for persistence: reload the dataset from the AOF (LOADAOF, RELOAD), a digest of
//! the whole dataset that is equal before and after a restart (DIGEST, DIGEST-VALUE), and
//! knobs for tests (SLEEP, SET-ACTIVE-EXPIRE, OBJECT).

use std::hash::{Hash as _, Hasher};

use super::table::{Command, ROW, flags::*};
use super::{Args, Ctx, help};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Entry;
use crate::types::Value;

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "debug", arity: -2, flags: ADMIN | NOSCRIPT | LOADING | STALE, group: "server", handler: debug, usage: "subcommand [argument ...]", summary: "Debugging and persistence tools (needs enable-debug-command).", ..ROW },
];

/// DEBUG <subcommand> ...
pub fn debug(c: &mut Ctx, a: &Args) -> CmdResult {
    if !allowed(c) {
        return Err(CmdError::err(
            "DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
        ));
    }
    let sub = a.text(1).to_ascii_lowercase();
    match sub.as_str() {
        "help" => help(
            c,
            &[
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DIGEST",
                "    Output a hex signature representing the current DB content.",
                "DIGEST-VALUE <key> [<key> ...]",
                "    Output a hex signature of the values of all the specified keys.",
                "LOADAOF",
                "    Flush the AOF buffers on disk and reload the AOF in memory.",
                "OBJECT <key>",
                "    Show low level info about the value stored at <key>.",
                "RELOAD",
                "    Rewrite the AOF, then empty the dataset and load it again from the AOF.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not",
                "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
                "    default.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
                "WRITE-STREAM <START|READ|STOP>",
                "    Copy every record of the write stream (what the AOF and replicas get) to a",
                "    tap, read what it collected since the last READ, or remove it.",
                "HELP",
                "    Print this help.",
            ],
        ),
        "digest" if a.len() == 2 => {
            let d = dataset_digest(c);
            c.out.bulk(hex(&d).as_bytes());
            Ok(())
        }
        "digest-value" => {
            let now = c.eng.now_ms;
            let db = c.cl.db;
            c.out.array(a.len() - 2);
            for k in a.iter().skip(2) {
                let ks = &mut c.eng.ks;
                let d = match ks.dbs[db].get(k, now, &mut ks.stats) {
                    Some(e) => value_digest(&e.val),
                    None => [0; 20],
                };
                c.out.simple(&hex(&d));
            }
            Ok(())
        }
        "sleep" if a.len() == 3 => {
            // try_from: a number too big for a Duration (1e30) is an error, not a panic.
            let d = std::str::from_utf8(a.get(2))
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
                .ok_or(CmdError::NotFloat)?;
            std::thread::sleep(d);
            c.out.ok();
            Ok(())
        }
        "set-active-expire" if a.len() == 3 => {
            let on = crate::num::arg_i64(a.get(2))?;
            c.eng.active_expire_enabled = on != 0;
            c.out.ok();
            Ok(())
        }
        "object" if a.len() == 3 => {
            let fill = c.eng.config.list_limits.fill;
            let (mut db, out) = c.db_out();
            let Some(e) = db.get(a.get(2)) else {
                return Err(CmdError::err("no such key"));
            };
            let ser = serialized_len(a.get(2), e);
            let mut line = format!(
                "Value at:0x{:x} refcount:1 encoding:{} serializedlength:{ser} lru:0 lru_seconds_idle:0",
                e as *const Entry as usize,
                e.val.encoding_name()
            );
            if let Value::List(l) = &e.val {
                // Redis 7.0's quicklist fields, then ferrokv's own form: a small list is
                // one packed buffer (what Redis 7.2 calls a listpack).
                let (nodes, bytes) = l.nodes();
                line.push_str(&format!(
                    " ql_nodes:{nodes} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:0 ql_uncompressed_size:{bytes} internal_encoding:{}",
                    l.len() as f64 / nodes as f64,
                    fill,
                    if l.is_packed() { "listpack" } else { "quicklist" }
                ));
            }
            out.simple(&line);
            Ok(())
        }
        "loadaof" if a.len() == 2 => {
            if !c.eng.aof.logging() {
                return Err(CmdError::err("AOF is off"));
            }
            super::replay::reload(c.eng).map_err(CmdError::err)?;
            c.out.ok();
            Ok(())
        }
        "reload" if a.len() == 2 => {
            if !c.eng.aof.logging() {
                return Err(CmdError::err("AOF is off"));
            }
            c.eng.rewrite_now().map_err(CmdError::err)?;
            super::replay::reload(c.eng).map_err(CmdError::err)?;
            c.out.ok();
            Ok(())
        }
        "write-stream" if a.len() == 3 => write_stream(c, a),
        _ => Err(super::unknown_subcommand(a)),
    }
}

/// DEBUG WRITE-STREAM START|READ|STOP: a tap on the write stream, so tests can see the
/// records writes produce whether or not the AOF is on.
fn write_stream(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.is(2, "start") {
        c.eng.tap_start();
        c.out.ok();
    } else if a.is(2, "stop") {
        c.eng.tap_stop();
        c.out.ok();
    } else if a.is(2, "read") {
        match c.eng.tap_read() {
            Some(records) => c.out.bulk(&records),
            None => {
                return Err(CmdError::err(
                    "no write stream tap: DEBUG WRITE-STREAM START first",
                ));
            }
        }
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

/// `enable-debug-command`: yes, or local for loopback clients.
fn allowed(c: &Ctx) -> bool {
    match c.eng.config.get("enable-debug-command") {
        Some("yes") => true,
        Some("local") => {
            let addr = c.cl.addr.as_str();
            addr.starts_with("127.") || addr.starts_with("[::1]") || addr.starts_with("::1")
        }
        _ => false,
    }
}

/// Bytes the key would take in the AOF base (DEBUG OBJECT's serializedlength).
fn serialized_len(key: &[u8], e: &Entry) -> usize {
    let mut buf = Vec::new();
    crate::aof::rewrite::write_value(&mut buf, key, e, 0);
    buf.len()
}

fn hex(d: &[u8; 20]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A 160-bit hash of `parts` (SipHash with five different seeds).
fn hash160(parts: &[&[u8]]) -> [u8; 20] {
    let mut out = [0u8; 20];
    for lane in 0..5u8 {
        #[allow(deprecated)]
        let mut h = std::hash::SipHasher::new_with_keys(
            0x6665_7272_6f6b_7600 | lane as u64,
            0x6469_6765_7374,
        );
        for p in parts {
            p.hash(&mut h);
        }
        out[lane as usize * 4..lane as usize * 4 + 4]
            .copy_from_slice(&(h.finish() as u32).to_be_bytes());
    }
    out
}

fn xor_into(acc: &mut [u8; 20], d: &[u8; 20]) {
    for (a, b) in acc.iter_mut().zip(d) {
        *a ^= b;
    }
}

/// Digest of a value. Hash fields (with their deadlines) are combined order-independently,
/// since the order of a large hash is not part of its content.
fn value_digest(v: &Value) -> [u8; 20] {
    match v {
        Value::Str(s) => hash160(&[b"string", s.bytes()]),
        Value::Hash(h) => {
            let mut acc = hash160(&[b"hash"]);
            for (f, x, at) in h.iter_ttl() {
                let d = if at == 0 {
                    hash160(&[f, &x])
                } else {
                    hash160(&[f, &x, &at.to_be_bytes()])
                };
                xor_into(&mut acc, &d);
            }
            acc
        }
        // A list's order is its content: each element is chained into the digest.
        Value::List(l) => {
            let mut acc = hash160(&[b"list"]);
            for x in l.iter() {
                acc = hash160(&[&acc, &x]);
            }
            acc
        }
        Value::Set(s) => {
            let mut acc = hash160(&[b"set"]);
            for m in s.iter() {
                xor_into(&mut acc, &hash160(&[&m]));
            }
            acc
        }
        Value::ZSet(z) => {
            let mut acc = hash160(&[b"zset"]);
            for (m, score) in z.iter() {
                xor_into(&mut acc, &hash160(&[&m, &score.to_bits().to_be_bytes()]));
            }
            acc
        }
    }
}

/// Digest of the whole dataset: XOR over keys of hash(db, key, value digest, expiry), so
/// it does not depend on the order keys are stored in. All zeros for an empty dataset,
/// as in Redis.
fn dataset_digest(c: &mut Ctx) -> [u8; 20] {
    let now = c.eng.now_ms;
    let mut acc = [0u8; 20];
    for (i, db) in c.eng.ks.dbs.iter().enumerate() {
        let idx = (i as u32).to_be_bytes();
        for (k, e) in db.iter() {
            if e.expired(now) {
                continue;
            }
            let vd = value_digest(&e.val);
            let exp = e.exp().to_be_bytes();
            xor_into(&mut acc, &hash160(&[&idx, k, &vd, &exp]));
        }
    }
    acc
}
