//! DUMP, RESTORE and MIGRATE: one key's value as a Redis DUMP payload (see `rdb::dump`),
//! which moves keys between ferrokv and Redis in either direction.
//!
//! RESTORE is logged in one canonical form, whatever the client sent: `RESTORE key
//! <deadline or 0> payload REPLACE ABSTTL`. The deadline is absolute, so replay and
//! replicas restore the same key however late they run it, and REPLACE makes the record
//! apply even where the log's earlier records left a key of that name.

use super::table::{BeginSearch, Command, FindKeys, KeySpec, ROW, acl, flags::*, ks::*};
use super::{Args, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::entry::{lfu, lru_clock};
use crate::num::{arg_i64, fmt_i64};
use crate::rdb::dump::{self, PayloadError};

const GENERIC: Command = Command {
    acl: acl::KEYSPACE,
    group: "generic",
    ..ROW
};

/// MIGRATE's keys: the one at argument 3 (empty when KEYS is used), or those after KEYS.
const MIGRATE_KEYS: &[KeySpec] = &[
    KeySpec::at(3, RW | ACCESS | DELETE),
    KeySpec {
        flags: RW | ACCESS | DELETE | INCOMPLETE,
        begin: BeginSearch::Keyword {
            keyword: "KEYS",
            startfrom: -2,
        },
        find: FindKeys::Range {
            lastkey: -1,
            step: 1,
            limit: 0,
        },
    },
];

/// MIGRATE's keys as Redis's `migrateGetKeys` finds them: after KEYS (skipping the
/// arguments of AUTH and AUTH2 on the way), else the one at argument 3.
fn migrate_keys(a: &Args, key: &mut dyn FnMut(usize, u32)) -> bool {
    const FLAGS: u32 = RW | ACCESS | DELETE;
    let mut i = 6;
    while i < a.len() {
        if a.is(i, "auth") {
            i += 1;
        } else if a.is(i, "auth2") {
            i += 2;
        } else if a.is(i, "keys") {
            if !a.get(3).is_empty() {
                // KEYS needs the key argument empty: the command will fail.
                return false;
            }
            for k in i + 1..a.len() {
                key(k, FLAGS);
            }
            return true;
        }
        i += 1;
    }
    key(3, FLAGS);
    true
}

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "dump", arity: 2, flags: READONLY, keys: &[KeySpec::one(RO | ACCESS)], tips: &["nondeterministic_output"], handler: dump_, usage: "key", summary: "Returns a serialized representation of the value stored at a key.", ..GENERIC },
    Command { name: "migrate", arity: -6, flags: WRITE | MOVABLE_KEYS, acl: acl::KEYSPACE | acl::DANGEROUS, keys: MIGRATE_KEYS, keys_fn: Some(migrate_keys), tips: &["nondeterministic_output"], handler: migrate, usage: "host port <key | \"\"> destination-db timeout [COPY] [REPLACE] [AUTH password | AUTH2 username password] [KEYS key [key ...]]", summary: "Atomically transfers a key from one Redis instance to another.", ..GENERIC },
    Command { name: "restore", arity: -4, flags: WRITE | DENYOOM, acl: acl::KEYSPACE | acl::DANGEROUS, keys: &[KeySpec::one(OW | UPDATE)], handler: restore, usage: "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]", summary: "Creates a key from the serialized representation of a value.", ..GENERIC },
];

/// DUMP key -> the payload, or nil.
fn dump_(c: &mut Ctx, a: &Args) -> CmdResult {
    let now = c.eng.now_ms.max(0) as u64;
    let (mut db, out) = c.db_out();
    match db.get_read(a.get(1)) {
        Some(e) => out.bulk(&dump::payload(&e.val, now)),
        None => out.null(),
    }
    Ok(())
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency].
/// Checks in Redis's order: options, an existing key, the TTL, the payload.
fn restore(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut i = 4;
    while i < a.len() {
        let more = i + 1 < a.len();
        if a.is(i, "replace") {
            replace = true;
        } else if a.is(i, "absttl") {
            absttl = true;
        } else if a.is(i, "idletime") && more && freq.is_none() {
            let v = arg_i64(a.get(i + 1))?;
            if v < 0 {
                return Err(CmdError::err("Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(v);
            i += 1;
        } else if a.is(i, "freq") && more && idle.is_none() {
            let v = arg_i64(a.get(i + 1))?;
            if !(0..=255).contains(&v) {
                return Err(CmdError::err("Invalid FREQ value, must be >= 0 and <= 255"));
            }
            freq = Some(v);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let key = a.get(1);
    let exists = c.db().peek(key).is_some();
    if exists && !replace {
        return Err(CmdError::Custom(
            "BUSYKEY Target key name already exists.".into(),
        ));
    }
    let ttl = arg_i64(a.get(2))?;
    if ttl < 0 {
        return Err(CmdError::err("Invalid TTL value, must be >= 0"));
    }
    let lim = c.eng.rdb_limits();
    let val = match dump::value_of(a.get(3), &lim) {
        Ok(v) => v,
        Err(PayloadError::VersionOrChecksum) => {
            return Err(CmdError::err("DUMP payload version or checksum are wrong"));
        }
        Err(PayloadError::BadFormat(e)) => {
            log::debug!("RESTORE of a bad payload: {e:?}");
            return Err(CmdError::err("Bad data format"));
        }
    };
    let at = match (ttl, absttl) {
        (0, _) => 0,
        (t, true) => t,
        (t, false) => c.eng.now_ms.saturating_add(t),
    };
    if exists {
        c.db().db.delete_server(key);
    }
    if at != 0 && c.already_expired(at) {
        // Born expired: the old key (if any) is gone and nothing takes its place.
        if exists {
            c.propagate(&[b"DEL", key]);
            c.dirty(1);
        }
        c.out.ok();
        return Ok(());
    }
    let mm = c.eng.config.maxmemory;
    let now = c.eng.now_ms;
    c.db().db.set(key, val, at);
    if let Some(e) = c.db().peek(key) {
        if let (Some(f), true) = (freq, mm.policy.lfu()) {
            e.set_clock(lfu::pack(lfu::minutes(now), f as u8));
        } else if let (Some(s), false) = (idle, mm.policy.lfu()) {
            let clock = lru_clock(now.saturating_sub(s.saturating_mul(1000)));
            e.set_clock(clock);
        }
    }
    let mut t = [0u8; 20];
    c.propagate(&[
        b"RESTORE",
        key,
        fmt_i64(at, &mut t),
        a.get(3),
        b"REPLACE",
        b"ABSTTL",
    ]);
    c.dirty(1);
    c.out.ok();
    Ok(())
}

/// MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw]
/// [KEYS key ...]: sends the keys to another server as RESTORE commands (AUTH and SELECT
/// first, all pipelined), then deletes them here unless COPY. Like Redis's, it waits for
/// the target (at most `timeout` ms per step) with the loop held: it is meant for moving
/// keys between servers, not for the request path.
fn migrate(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut copy, mut replace) = (false, false);
    let mut auth: Option<(Option<Vec<u8>>, Vec<u8>)> = None;
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut i = 6;
    while i < a.len() {
        if a.is(i, "copy") {
            copy = true;
        } else if a.is(i, "replace") {
            replace = true;
        } else if a.is(i, "auth") && i + 1 < a.len() {
            auth = Some((None, a.get(i + 1).to_vec()));
            i += 1;
        } else if a.is(i, "auth2") && i + 2 < a.len() {
            auth = Some((Some(a.get(i + 1).to_vec()), a.get(i + 2).to_vec()));
            i += 2;
        } else if a.is(i, "keys") {
            if !a.get(3).is_empty() {
                return Err(CmdError::err(
                    "When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            keys.extend((i + 1..a.len()).map(|j| a.get(j).to_vec()));
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if keys.is_empty() {
        keys.push(a.get(3).to_vec());
    }
    let timeout = arg_i64(a.get(5))?;
    let db = arg_i64(a.get(4))?;
    let timeout =
        std::time::Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    // The keys that exist, with their payloads and remaining TTLs.
    let now = c.eng.now_ms;
    let mut found = Vec::new();
    {
        let (mut view, _) = c.db_out();
        for k in &keys {
            if let Some(e) = view.get(k) {
                let ttl = if e.exp() == 0 {
                    0
                } else {
                    (e.exp() - now).max(1)
                };
                found.push((k.clone(), dump::payload(&e.val, now.max(0) as u64), ttl));
            }
        }
    }
    if found.is_empty() {
        c.out.simple("NOKEY");
        return Ok(());
    }
    let host = String::from_utf8_lossy(a.get(1)).into_owned();
    let port = String::from_utf8_lossy(a.get(2)).into_owned();
    let mut req = Vec::new();
    let mut expect = 0;
    if let Some((user, pw)) = &auth {
        match user {
            Some(u) => push(&mut req, &[b"AUTH", u, pw]),
            None => push(&mut req, &[b"AUTH", pw]),
        }
        expect += 1;
    }
    push(&mut req, &[b"SELECT", db.to_string().as_bytes()]);
    expect += 1;
    for (k, p, ttl) in &found {
        let ttl = ttl.to_string();
        if replace {
            push(&mut req, &[b"RESTORE", k, ttl.as_bytes(), p, b"REPLACE"]);
        } else {
            push(&mut req, &[b"RESTORE", k, ttl.as_bytes(), p]);
        }
    }
    let replies = exchange(&host, &port, &req, expect + found.len(), timeout)?;
    let mut first_error = None;
    let mut moved = Vec::new();
    for (n, r) in replies.iter().enumerate() {
        if let Some(e) = r.strip_prefix(b"-") {
            first_error.get_or_insert_with(|| String::from_utf8_lossy(e).into_owned());
        } else if n >= expect {
            moved.push(found[n - expect].0.clone());
        }
    }
    if !copy {
        for k in &moved {
            if c.db().db.delete_server(k) {
                c.propagate(&[b"DEL", k]);
                c.notify(crate::notify::class::GENERIC, "del", k);
                c.dirty(1);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(CmdError::err(format!(
            "Target instance replied with error: {e}"
        )));
    }
    c.out.ok();
    Ok(())
}

fn push(out: &mut Vec<u8>, args: &[&[u8]]) {
    crate::resp::encode::push_record(out, args.iter().copied());
}

/// Sends `req` to host:port and reads `n` one-line replies (simple strings or errors).
fn exchange(
    host: &str,
    port: &str,
    req: &[u8],
    n: usize,
    timeout: std::time::Duration,
) -> Result<Vec<Vec<u8>>, CmdError> {
    use std::io::{BufRead, BufReader, Write};
    use std::net::ToSocketAddrs;
    let conn_err = || CmdError::Custom("IOERR error or timeout connecting to the client".into());
    let addr = format!("{host}:{port}")
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(conn_err)?;
    let write_err = || CmdError::Custom("IOERR error or timeout writing to target instance".into());
    // Redis connects without blocking, so a refused connection only shows when it
    // writes: it reports that one as a write error.
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
        if e.kind() == std::io::ErrorKind::ConnectionRefused {
            write_err()
        } else {
            conn_err()
        }
    })?;
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    let _ = s.set_nodelay(true);
    s.write_all(req).map_err(|_| {
        CmdError::Custom("IOERR error or timeout writing to target instance".into())
    })?;
    let mut r = BufReader::new(s);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut line = Vec::new();
        match r.read_until(b'\n', &mut line) {
            Ok(k) if k > 0 => {}
            _ => {
                return Err(CmdError::Custom(
                    "IOERR error or timeout reading to target instance".into(),
                ));
            }
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        out.push(line);
    }
    Ok(out)
}
