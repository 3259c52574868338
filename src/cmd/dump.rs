//! DUMP and RESTORE: one key's value as a Redis DUMP payload (see `rdb::dump`), which
//! moves keys between ferrokv and Redis in either direction.
//!
//! RESTORE is logged in one canonical form, whatever the client sent: `RESTORE key
//! <deadline or 0> payload REPLACE ABSTTL`. The deadline is absolute, so replay and
//! replicas restore the same key however late they run it, and REPLACE makes the record
//! apply even where the log's earlier records left a key of that name.

use super::table::{Command, KeySpec, ROW, acl, flags::*, ks::*};
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

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "dump", arity: 2, flags: READONLY, keys: &[KeySpec::one(RO | ACCESS)], tips: &["nondeterministic_output"], handler: dump_, usage: "key", summary: "Returns a serialized representation of the value stored at a key.", ..GENERIC },
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
