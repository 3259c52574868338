//! Connection and server commands: PING ECHO QUIT RESET HELLO AUTH INFO TIME LASTSAVE
//! SHUTDOWN MONITOR BGREWRITEAOF. CONFIG, COMMAND, CLIENT, DEBUG and the scripting stubs
//! have modules of their own.

use super::table::{Command, ROW, acl, flags::*};
use super::{Args, Ctx};
use crate::REDIS_VERSION;
use crate::engine::Shutdown;
use crate::error::{CmdError, CmdResult};

const CONNECTION: Command = Command {
    acl: acl::CONNECTION,
    group: "connection",
    ..ROW
};
const SERVER: Command = Command {
    group: "server",
    ..ROW
};
/// Connection state commands: they run before AUTH, inside MULTI, while loading.
const HANDSHAKE: u32 = NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY;
const RANDOM: &[&str] = &["nondeterministic_output"];

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "ping", arity: -1, flags: FAST | DENY_ON_DISK_ERROR, tips: &["request_policy:all_shards", "response_policy:all_succeeded"], handler: ping, usage: "[message]", summary: "Answers PONG.", ..CONNECTION },
    Command { name: "echo", arity: 2, flags: LOADING | STALE | FAST, handler: echo, usage: "message", summary: "Returns its argument.", ..CONNECTION },
    Command { name: "quit", arity: -1, flags: HANDSHAKE | TX_CONTROL, handler: quit, summary: "Closes the connection.", ..CONNECTION },
    Command { name: "reset", arity: 1, flags: HANDSHAKE | TX_CONTROL, handler: reset, summary: "Resets the connection state.", ..CONNECTION },
    Command { name: "hello", arity: -1, flags: HANDSHAKE, handler: hello, usage: "[protover [AUTH username password] [SETNAME clientname]]", summary: "Handshake: protocol version, auth, name.", ..CONNECTION },
    Command { name: "auth", arity: -2, flags: HANDSHAKE, handler: auth, usage: "[username] password", summary: "Authenticates the connection.", ..CONNECTION },
    Command { name: "info", arity: -1, flags: LOADING | STALE, acl: acl::DANGEROUS, tips: &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"], handler: info, usage: "[section [section ...]]", summary: "Returns server information.", ..SERVER },
    Command { name: "time", arity: 1, flags: LOADING | STALE | FAST, tips: RANDOM, handler: time, summary: "Returns the server time.", ..SERVER },
    Command { name: "lastsave", arity: 1, flags: LOADING | STALE | FAST, acl: acl::ADMIN | acl::DANGEROUS, tips: RANDOM, handler: lastsave, summary: "Returns the time of the last save.", ..SERVER },
    Command { name: "save", arity: 1, flags: ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI, handler: save, summary: "Synchronously saves the database(s) to disk.", ..SERVER },
    Command { name: "bgsave", arity: -1, flags: ADMIN | NOSCRIPT | NO_ASYNC_LOADING, handler: bgsave, usage: "[SCHEDULE]", summary: "Asynchronously saves the database(s) to disk (without fork).", ..SERVER },
    Command { name: "bgrewriteaof", arity: 1, flags: ADMIN | NOSCRIPT | NO_ASYNC_LOADING, handler: bgrewriteaof, summary: "Compacts the append-only file in the background.", ..SERVER },
    Command { name: "shutdown", arity: -1, flags: ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY, handler: shutdown, usage: "[NOSAVE | SAVE] [NOW] [FORCE] [ABORT]", summary: "Stops the server.", ..SERVER },
    Command { name: "monitor", arity: 1, flags: ADMIN | NOSCRIPT | LOADING | STALE, handler: monitor, summary: "Streams every command the server runs.", ..SERVER },
];

/// PING [message]. A subscribed RESP2 client gets `[pong, message or ""]`, as in Redis.
pub fn ping(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() <= 2 && c.cl.subs.active() && !c.cl.resp3 {
        c.out.array(2);
        c.out.bulk(b"pong");
        c.out.bulk(if a.len() == 2 { a.get(1) } else { b"" });
        return Ok(());
    }
    match a.len() {
        1 => c.out.raw(crate::resp::reply::PONG),
        2 => c.out.bulk(a.get(1)),
        _ => return Err(CmdError::Arity("ping".into())),
    }
    Ok(())
}

/// ECHO message.
pub fn echo(c: &mut Ctx, a: &Args) -> CmdResult {
    c.out.bulk(a.get(1));
    Ok(())
}

/// QUIT: replies OK and closes once the reply is written.
pub fn quit(c: &mut Ctx, _a: &Args) -> CmdResult {
    c.out.ok();
    c.cl.close_after_reply = true;
    Ok(())
}

/// RESET: back to a fresh connection's state.
pub fn reset(c: &mut Ctx, _a: &Args) -> CmdResult {
    c.cl.multi = None;
    c.eng.unwatch_all(c.cl);
    c.eng.pubsub.drop_client(&mut c.cl.subs, c.cl.id);
    // The loop takes the client off its MONITOR list when it sees the flag cleared.
    c.cl.monitor = false;
    c.cl.db = 0;
    c.cl.resp3 = false;
    c.out.resp3 = false;
    c.cl.name.clear();
    c.cl.user = crate::acl::UserRef::DEFAULT;
    c.cl.authenticated = c.eng.acl.default_open();
    c.out.simple("RESET");
    Ok(())
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Logs the client in as `user` if the password matches (AUTH, HELLO AUTH); a failure
/// is recorded in the ACL log under the command's name as typed.
fn log_in(c: &mut Ctx, cmd_name: &[u8], user: &[u8], pass: &[u8]) -> CmdResult {
    match c.eng.acl.authenticate(user, pass) {
        Some(r) => {
            c.cl.user = r;
            c.cl.authenticated = true;
            Ok(())
        }
        None => {
            super::acl::log_denial(c.eng, c.cl, crate::acl::Reason::Auth, cmd_name, user);
            Err(CmdError::Custom(WRONGPASS.into()))
        }
    }
}

/// AUTH [username] password.
pub fn auth(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if a.len() == 2 && c.eng.acl.default_nopass() {
        return Err(CmdError::err(
            "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    let (user, pass): (&[u8], &[u8]) = if a.len() == 3 {
        (a.get(1), a.get(2))
    } else {
        (b"default", a.get(1))
    };
    log_in(c, a.get(0), user, pass)?;
    c.out.ok();
    Ok(())
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]].
pub fn hello(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut ver = None;
    if a.len() >= 2 {
        let v = crate::num::parse_i64(a.get(1))
            .ok_or_else(|| CmdError::err("Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::Custom(
                "NOPROTO unsupported protocol version".into(),
            ));
        }
        ver = Some(v);
    }
    let mut auth: Option<(&[u8], &[u8])> = None;
    let mut name: Option<&[u8]> = None;
    let mut i = 2;
    while i < a.len() {
        let left = a.len() - i - 1;
        if a.is(i, "auth") && left >= 2 {
            auth = Some((a.get(i + 1), a.get(i + 2)));
            i += 3;
        } else if a.is(i, "setname") && left >= 1 {
            name = Some(a.get(i + 1));
            i += 2;
        } else {
            return Err(CmdError::err(format!(
                "Syntax error in HELLO option '{}'",
                a.text(i)
            )));
        }
    }
    if let Some((u, p)) = auth {
        log_in(c, a.get(0), u, p)?;
    }
    if !c.cl.authenticated {
        return Err(CmdError::Custom("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into()));
    }
    if let Some(n) = name {
        if !n.iter().all(|&ch| (b'!'..=b'~').contains(&ch)) {
            return Err(CmdError::err(
                "Client names cannot contain spaces, newlines or special characters.",
            ));
        }
        c.cl.name = n.to_vec();
    }
    if let Some(v) = ver {
        c.cl.resp3 = v == 3;
        c.out.resp3 = v == 3;
    }
    let out = &mut c.out;
    out.map(7);
    out.bulk_str("server");
    out.bulk_str("redis");
    out.bulk_str("version");
    out.bulk_str(REDIS_VERSION);
    out.bulk_str("proto");
    out.int(if c.cl.resp3 { 3 } else { 2 });
    out.bulk_str("id");
    out.int(c.cl.id as i64);
    out.bulk_str("mode");
    out.bulk_str("standalone");
    out.bulk_str("role");
    out.bulk_str("master");
    out.bulk_str("modules");
    out.array(0);
    Ok(())
}

/// INFO [section ...].
pub fn info(c: &mut Ctx, a: &Args) -> CmdResult {
    let sections: Vec<String> = a
        .iter()
        .skip(1)
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    let text = super::info::render(c, &sections);
    c.out.verbatim(text.as_bytes());
    Ok(())
}

/// TIME -> [seconds, microseconds].
pub fn time(c: &mut Ctx, _a: &Args) -> CmdResult {
    let us = crate::engine::unix_us();
    c.out.array(2);
    c.out.bulk_i64(us / 1_000_000);
    c.out.bulk_i64(us % 1_000_000);
    Ok(())
}

/// BGREWRITEAOF: starts compacting the AOF (in slices of the event loop, no fork).
pub fn bgrewriteaof(c: &mut Ctx, _a: &Args) -> CmdResult {
    if c.eng.rewrite.is_some() {
        return Err(CmdError::err(
            "Background append only file rewriting already in progress",
        ));
    }
    if !c.eng.aof.logging() {
        return Err(CmdError::err(
            "ferrokv rewrites the AOF only while appendonly is yes",
        ));
    }
    if c.eng.in_exec {
        // Started here, the rewrite's snapshot point would split the transaction's
        // records between the old and the new file: it starts on the next tick instead.
        c.eng.aof.rewrites.scheduled = true;
        c.out
            .simple("Background append only file rewriting scheduled");
        return Ok(());
    }
    c.eng.start_rewrite().map_err(CmdError::err)?;
    c.out
        .simple("Background append only file rewriting started");
    Ok(())
}

/// SAVE: writes `dbfilename` now, blocking every client until it is done, as Redis's
/// SAVE does (BGSAVE is the one to use on a live server).
pub fn save(c: &mut Ctx, _a: &Args) -> CmdResult {
    c.eng.save_now().map_err(CmdError::err)?;
    c.out.ok();
    Ok(())
}

/// BGSAVE [SCHEDULE]: starts a fork-less background save. Nothing has to wait for an AOF
/// rewrite (both are snapshot consumers and run side by side), so SCHEDULE changes
/// nothing but is accepted.
pub fn bgsave(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() > 2 || (a.len() == 2 && !a.is(1, "schedule")) {
        return Err(CmdError::Syntax);
    }
    c.eng.start_bgsave().map_err(CmdError::err)?;
    c.out.simple("Background saving started");
    Ok(())
}

/// LASTSAVE -> Unix time of the last successful save (start time: nothing saves yet).
pub fn lastsave(c: &mut Ctx, _a: &Args) -> CmdResult {
    c.out.int(c.eng.lastsave);
    Ok(())
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: stops the server; no reply on success.
pub fn shutdown(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut save, mut nosave, mut abort) = (false, false, false);
    for i in 1..a.len() {
        if a.is(i, "nosave") {
            nosave = true;
        } else if a.is(i, "save") {
            save = true;
        } else if a.is(i, "now") || a.is(i, "force") {
        } else if a.is(i, "abort") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if (save && nosave) || (abort && a.len() > 2) {
        return Err(CmdError::Syntax);
    }
    if abort {
        return Err(CmdError::err("No shutdown in progress."));
    }
    c.eng.shutdown_save = if save {
        Some(true)
    } else if nosave {
        Some(false)
    } else {
        None
    };
    log::warn!("User requested shutdown...");
    c.eng.shutdown = Some(Shutdown::Command);
    c.cl.close_after_reply = true;
    Ok(())
}

/// MONITOR: from now on this client receives every command the server runs.
pub fn monitor(c: &mut Ctx, _a: &Args) -> CmdResult {
    if c.cl.multi.is_some() {
        return Err(CmdError::err("MONITOR isn't allowed in MULTI"));
    }
    // The loop adds the client to its MONITOR list when it sees the flag.
    c.cl.monitor = true;
    c.out.ok();
    Ok(())
}
