//! Replication commands, master side: the replica's handshake (REPLCONF, PSYNC, SYNC),
//! ROLE, and WAIT. What follows a PSYNC is the loop's work (`Engine::repl_pump`).

use super::table::{Command, ROW, acl, flags::*};
use super::{Args, Ctx};
use crate::engine::repl::{ReplicaInfo, SyncStart};
use crate::error::{CmdError, CmdResult};
use crate::num::arg_i64;

const REPL: Command = Command {
    group: "server",
    ..ROW
};

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "sync", arity: 1, flags: ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI, handler: sync, summary: "An internal command used in replication.", ..REPL },
    Command { name: "psync", arity: -3, flags: ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI, handler: psync, usage: "replicationid offset", summary: "An internal command used in replication.", ..REPL },
    Command { name: "replconf", arity: -1, flags: ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY, handler: replconf, summary: "An internal command for configuring the replication stream.", ..REPL },
    Command { name: "role", arity: 1, flags: NOSCRIPT | LOADING | STALE | FAST, acl: acl::ADMIN | acl::DANGEROUS, handler: role, summary: "Returns the replication role.", ..REPL },
    Command { name: "replicaof", arity: 3, flags: ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING, handler: replicaof, usage: "host port", summary: "Configures a server as replica of another, or promotes it to a master.", ..REPL },
    Command { name: "slaveof", arity: 3, flags: ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING, handler: replicaof, usage: "host port", summary: "Sets a Redis server as a replica of another, or promotes it to being a master.", ..REPL },
    Command { name: "wait", arity: 3, flags: NOSCRIPT, acl: acl::CONNECTION, group: "generic", tips: &["request_policy:all_shards", "response_policy:agg_min"], handler: wait, usage: "numreplicas timeout", summary: "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.", ..REPL },
];

/// REPLCONF <option> <value> ...: what a replica announces before PSYNC (listening-port,
/// ip-address, capa, rdb-only...), and `ACK <offset>` from a replica afterwards (no
/// reply).
fn replconf(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let mut i = 1;
    while i < a.len() {
        let v = a.get(i + 1);
        if a.is(i, "getack") && c.cl.is_master {
            // Our master asks where we are: the one command of the stream answered.
            let off = c.eng.replica.as_ref().map_or(0, |r| r.offset.max(0));
            c.out.array(3);
            c.out.bulk(b"REPLCONF");
            c.out.bulk(b"ACK");
            c.out.bulk(off.to_string().as_bytes());
            c.cl.keep_reply = true;
            return Ok(());
        }
        if a.is(i, "ack") {
            // Sent by replicas: never answered.
            let off = arg_i64(v).unwrap_or(0).max(0) as u64;
            if c.cl.replica
                && let Some(l) = c.eng.master.link_mut(c.cl.id)
            {
                l.ack = l.ack.max(off);
                l.ack_time = std::time::Instant::now();
                l.acked_rdb();
            }
            return Ok(());
        }
        let info = c.cl.repl_info.get_or_insert_with(Default::default);
        if a.is(i, "listening-port") {
            let p = arg_i64(v)?;
            info.port = u16::try_from(p).unwrap_or(0);
        } else if a.is(i, "ip-address") {
            info.ip = String::from_utf8_lossy(v).into_owned();
        } else if a.is(i, "capa") {
            if v.eq_ignore_ascii_case(b"eof") {
                info.capa_eof = true;
            } else if v.eq_ignore_ascii_case(b"psync2") {
                info.capa_psync2 = true;
            }
        } else if a.is(i, "rdb-only") {
            info.rdb_only = arg_i64(v)? == 1;
        } else if a.is(i, "rdb-filter-only") || a.is(i, "getack") {
            // Nothing to filter (no functions); GETACK is for replicas.
        } else {
            return Err(CmdError::err(format!(
                "Unrecognized REPLCONF option: {}",
                a.text(i)
            )));
        }
        i += 2;
    }
    c.out.ok();
    Ok(())
}

/// PSYNC replid offset: continues from the backlog (`+CONTINUE`) or starts a full
/// sync (`+FULLRESYNC replid offset`, then the RDB).
fn psync(c: &mut Ctx, a: &Args) -> CmdResult {
    if c.cl.replica {
        return Ok(());
    }
    let id = String::from_utf8_lossy(a.get(1)).into_owned();
    let from = arg_i64(a.get(2)).unwrap_or(-1);
    let info = replica_info(c);
    let psync = (from >= 0).then_some((id.as_str(), from as u64));
    let start = c.eng.attach_replica(c.cl.id, psync, &info);
    c.cl.replica = true;
    match start {
        SyncStart::Continue(replid) if info.capa_psync2 => {
            c.out.simple(&format!("CONTINUE {replid}"));
        }
        SyncStart::Continue(_) => c.out.simple("CONTINUE"),
        SyncStart::Full(replid, offset) => c.out.simple(&format!("FULLRESYNC {replid} {offset}")),
    }
    Ok(())
}

/// SYNC: the pre-2.8 handshake, still what some tools send: a full sync, no reply line.
fn sync(c: &mut Ctx, _a: &Args) -> CmdResult {
    if c.cl.replica {
        return Ok(());
    }
    let info = replica_info(c);
    c.eng.attach_replica(c.cl.id, None, &info);
    c.cl.replica = true;
    Ok(())
}

/// REPLICAOF host port: follow that master (the data is replaced by its copy once the
/// sync is done). REPLICAOF NO ONE: stop following and accept writes, keeping the data.
fn replicaof(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.is(1, "no") && a.is(2, "one") {
        if let Some(r) = c.eng.replica.take() {
            if let Some(slot) = r.slot {
                c.eng.closing_master_slots.push(slot);
            }
            c.eng.promote(&r);
            log::info!(
                "MASTER MODE enabled (user request from 'id={} addr={}')",
                c.cl.id,
                c.cl.addr
            );
        }
        c.out.ok();
        return Ok(());
    }
    let port = arg_i64(a.get(2))?;
    if !(0..=65535).contains(&port) {
        return Err(CmdError::err("Invalid master port"));
    }
    let host = String::from_utf8_lossy(a.get(1)).into_owned();
    if let Some(r) = &c.eng.replica
        && r.host.eq_ignore_ascii_case(&host)
        && r.port == port as u16
    {
        log::info!(
            "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed."
        );
        c.out.simple("OK Already connected to specified master");
        return Ok(());
    }
    c.eng.follow(host.clone(), port as u16);
    log::info!(
        "REPLICAOF {host}:{port} enabled (user request from 'id={} addr={}')",
        c.cl.id,
        c.cl.addr
    );
    c.out.ok();
    Ok(())
}

/// ROLE -> ["master", offset, [[ip, port, acked offset] ...]], or for a replica
/// ["slave", host, port, link state, offset].
fn role(c: &mut Ctx, _a: &Args) -> CmdResult {
    if let Some(r) = &c.eng.replica {
        c.out.array(5);
        c.out.bulk_str("slave");
        c.out.bulk_str(&r.host);
        c.out.int(r.port as i64);
        c.out.bulk_str(r.state_name());
        c.out.int(r.offset);
        return Ok(());
    }
    let m = &c.eng.master;
    let online: Vec<_> = m.links.iter().filter(|l| l.online()).collect();
    c.out.array(3);
    c.out.bulk_str("master");
    c.out.int(m.offset as i64);
    c.out.array(online.len());
    for l in online {
        c.out.array(3);
        c.out.bulk_str(&l.ip);
        c.out.bulk_str(&l.port.to_string());
        c.out.bulk_str(&l.ack.to_string());
    }
    Ok(())
}

/// WAIT numreplicas timeout: waits until `numreplicas` replicas acknowledged every
/// write this client made, or `timeout` ms pass (0: forever); replies how many did.
fn wait(c: &mut Ctx, a: &Args) -> CmdResult {
    if c.eng.replica.is_some() {
        return Err(CmdError::err(
            "WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.",
        ));
    }
    let n = arg_i64(a.get(1))?;
    let timeout = crate::num::parse_i64(a.get(2))
        .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    // The client's writes reach the replicas' stream now; WAIT waits for the offset
    // just after the last of them, so a PING or GETACK fed since does not count.
    c.eng.flush_stream();
    let target = c.cl.woff.min(c.eng.master.offset);
    if c.cl.multi.is_some() || c.eng.in_exec {
        // Inside a transaction nothing can wait: the count as it stands.
        c.out.int(c.eng.master.acked(target) as i64);
        return Ok(());
    }
    let acked = c.eng.master.acked(target);
    // Without replicas too it waits the timeout out, as Redis does.
    if acked as i64 >= n {
        c.out.int(acked as i64);
        return Ok(());
    }
    c.eng.master.getack_wanted = true;
    c.cl.wait_repl = Some(crate::client::WaitRepl {
        offset: target,
        replicas: n as usize,
        deadline: (timeout > 0)
            .then(|| std::time::Instant::now() + std::time::Duration::from_millis(timeout as u64)),
    });
    Ok(())
}

/// What the client announced with REPLCONF, its address standing in for an IP it did
/// not announce.
fn replica_info(c: &mut Ctx) -> ReplicaInfo {
    let mut info = c.cl.repl_info.take().map(|b| *b).unwrap_or_default();
    if info.ip.is_empty() {
        let addr = &c.cl.addr;
        info.ip = addr
            .rsplit_once(':')
            .map_or(addr.as_str(), |(h, _)| h)
            .to_string();
    }
    info
}
