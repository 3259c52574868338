//! Connection and server commands: PING ECHO QUIT RESET HELLO AUTH INFO CONFIG COMMAND TIME
//! LASTSAVE SHUTDOWN MONITOR, and the scripting stubs client fixtures call in teardown.

use super::{Args, COMMANDS, Command, Ctx, flags, help, sub_arity, unknown_subcommand};
use crate::error::{CmdError, CmdResult};
use crate::server::Shutdown;

/// The Redis version ferrokv answers as: clients gate features on it.
pub const REDIS_VERSION: &str = "7.0.15";
pub const FERROKV_VERSION: &str = env!("CARGO_PKG_VERSION");

/// PING [message].
pub fn ping(c: &mut Ctx, a: &Args) -> CmdResult {
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
    c.srv.unwatch_all(c.slot, c.cl);
    if c.cl.monitor {
        c.cl.monitor = false;
        let slot = c.slot;
        c.srv.monitors.retain(|&m| m != slot);
    }
    c.cl.db = 0;
    c.cl.resp3 = false;
    c.out.resp3 = false;
    c.cl.name.clear();
    c.cl.authenticated = c.srv.config.requirepass.is_none();
    c.out.simple("RESET");
    Ok(())
}

fn check_password(c: &Ctx, user: Option<&[u8]>, pass: &[u8]) -> bool {
    let user_ok = user.is_none_or(|u| u == b"default");
    match &c.srv.config.requirepass {
        Some(p) => user_ok && p.as_bytes() == pass,
        None => user_ok,
    }
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// AUTH [username] password.
pub fn auth(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if a.len() == 2 && c.srv.config.requirepass.is_none() {
        return Err(CmdError::err(
            "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    let (user, pass) = if a.len() == 3 {
        (Some(a.get(1)), a.get(2))
    } else {
        (None, a.get(1))
    };
    if !check_password(c, user, pass) {
        return Err(CmdError::Custom(WRONGPASS.into()));
    }
    c.cl.authenticated = true;
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
        if !check_password(c, Some(u), p) {
            return Err(CmdError::Custom(WRONGPASS.into()));
        }
        c.cl.authenticated = true;
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
    let text = crate::info::render(c, &sections);
    c.out.verbatim(text.as_bytes());
    Ok(())
}

/// CONFIG GET|SET|RESETSTAT|REWRITE|HELP.
pub fn config(c: &mut Ctx, a: &Args) -> CmdResult {
    let sub = a.text(1).to_ascii_lowercase();
    match sub.as_str() {
        "get" => {
            sub_arity(a, -3)?;
            let pats: Vec<&[u8]> = a.iter().skip(2).collect();
            let found = c.srv.config.matching(&pats);
            c.out.map(found.len());
            for (n, v) in found {
                c.out.bulk_str(n);
                c.out.bulk_str(&v);
            }
        }
        "set" => {
            sub_arity(a, -4)?;
            if !a.len().is_multiple_of(2) {
                return Err(CmdError::Arity("config|set".into()));
            }
            let texts: Vec<String> = (2..a.len()).map(|i| a.text(i)).collect();
            let pairs: Vec<(&str, &str)> = texts
                .chunks(2)
                .map(|p| (p[0].as_str(), p[1].as_str()))
                .collect();
            for (i, (n, _)) in pairs.iter().enumerate() {
                if pairs[..i].iter().any(|(m, _)| m.eq_ignore_ascii_case(n)) {
                    return Err(CmdError::err(format!(
                        "CONFIG SET failed (possibly related to argument '{n}') - duplicate parameter"
                    )));
                }
            }
            let (was_on, was_policy) = (c.srv.config.appendonly, c.srv.config.appendfsync);
            c.srv.config.set_many(&pairs)?;
            log::set_max_level(c.srv.config.loglevel);
            if c.srv.config.appendfsync != was_policy {
                c.srv.aof.set_policy(c.srv.config.appendfsync);
            }
            if c.srv.config.appendonly != was_on {
                let r = if c.srv.config.appendonly {
                    c.srv.enable_aof()
                } else {
                    c.srv.disable_aof();
                    Ok(())
                };
                if let Err(e) = r {
                    c.srv.config.set_many(&[("appendonly", "no")])?;
                    return Err(CmdError::err(format!(
                        "CONFIG SET failed (possibly related to argument 'appendonly') - {e}"
                    )));
                }
            }
            c.out.ok();
        }
        "resetstat" => {
            sub_arity(a, 2)?;
            c.srv.stats = Default::default();
            for s in &mut c.srv.cmdstats {
                *s = Default::default();
            }
            c.srv.substats.clear();
            c.srv.ks.stats = Default::default();
            c.out.ok();
        }
        "rewrite" => {
            sub_arity(a, 2)?;
            return Err(CmdError::err(
                "CONFIG REWRITE is not supported by ferrokv; edit the config file instead",
            ));
        }
        "help" => {
            help(
                c,
                &[
                    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "GET <pattern>",
                    "    Return parameters matching the glob-like <pattern> and their values.",
                    "SET <directive> <value>",
                    "    Set the configuration <directive> to <value>.",
                    "RESETSTAT",
                    "    Reset statistics reported by the INFO command.",
                    "HELP",
                    "    Print this help.",
                ],
            )?;
        }
        _ => return Err(unknown_subcommand(a, "CONFIG")),
    }
    Ok(())
}

/// Writes a COMMAND INFO entry for `cmd`.
fn command_info(c: &mut Ctx, cmd: &Command) {
    let out = &mut c.out;
    out.array(10);
    out.bulk_str(cmd.name);
    out.int(cmd.arity as i64);
    let names: Vec<&str> = flags::NAMES
        .iter()
        .filter(|(f, _)| cmd.flags & f != 0)
        .map(|(_, n)| *n)
        .collect();
    out.set(names.len());
    for n in names {
        out.simple(n);
    }
    out.int(cmd.first_key as i64);
    out.int(cmd.last_key as i64);
    out.int(cmd.step as i64);
    let cats = acl_categories(cmd);
    out.set(cats.len());
    for cat in cats {
        out.simple(cat);
    }
    out.array(0);
    if cmd.first_key > 0 {
        out.array(1);
        write_key_spec(out, cmd);
    } else {
        out.array(0);
    }
    out.array(0);
}

/// ACL categories of a command, in the order Redis lists them.
pub fn acl_categories(cmd: &Command) -> Vec<&'static str> {
    let keyspace =
        cmd.group == "generic" || matches!(cmd.name, "dbsize" | "flushdb" | "flushall" | "swapdb");
    let admin = cmd.flags & flags::ADMIN != 0;
    let dangerous = admin
        || matches!(
            cmd.name,
            "flushdb" | "flushall" | "keys" | "info" | "swapdb"
        );
    let fast = cmd.flags & flags::FAST != 0;
    let wanted = [
        ("@keyspace", keyspace),
        ("@read", cmd.flags & flags::READONLY != 0),
        ("@write", cmd.flags & flags::WRITE != 0),
        ("@hash", cmd.group == "hash"),
        ("@string", cmd.group == "string"),
        ("@admin", admin),
        ("@fast", fast),
        ("@slow", !fast),
        ("@dangerous", dangerous),
        ("@connection", cmd.group == "connection"),
        ("@transaction", cmd.group == "transactions"),
        ("@scripting", cmd.group == "scripting"),
    ];
    wanted
        .iter()
        .filter(|(_, on)| *on)
        .map(|(c, _)| *c)
        .collect()
}

/// One key specification from the table's key positions: where the keys start and how to
/// step through them, with read-only/read-write access flags.
fn write_key_spec(out: &mut crate::resp::reply::Reply, cmd: &Command) {
    let write = cmd.flags & flags::WRITE != 0;
    out.map(3);
    out.bulk_str("flags");
    out.set(2);
    out.simple(if write { "RW" } else { "RO" });
    out.simple(if write { "update" } else { "access" });
    out.bulk_str("begin_search");
    out.map(2);
    out.bulk_str("type");
    out.bulk_str("index");
    out.bulk_str("spec");
    out.map(1);
    out.bulk_str("index");
    out.int(cmd.first_key as i64);
    out.bulk_str("find_keys");
    out.map(2);
    out.bulk_str("type");
    out.bulk_str("range");
    out.bulk_str("spec");
    out.map(3);
    out.bulk_str("lastkey");
    out.int(if cmd.last_key < 0 {
        cmd.last_key as i64
    } else {
        (cmd.last_key - cmd.first_key) as i64
    });
    out.bulk_str("keystep");
    out.int(cmd.step as i64);
    out.bulk_str("limit");
    out.int(0);
}

/// Writes a COMMAND DOCS entry (name then its map) for `cmd`.
fn command_docs(c: &mut Ctx, cmd: &Command) {
    let args = super::docs::parse_usage(super::docs::usage_of(cmd.name));
    let out = &mut c.out;
    out.bulk_str(cmd.name);
    out.map(if args.is_empty() { 3 } else { 4 });
    out.bulk_str("summary");
    out.bulk_str(cmd.summary);
    out.bulk_str("since");
    out.bulk_str("1.0.0");
    out.bulk_str("group");
    out.bulk_str(cmd.group);
    if !args.is_empty() {
        out.bulk_str("arguments");
        out.array(args.len());
        for a in &args {
            super::docs::write_arg(out, a, cmd.first_key > 0);
        }
    }
}

/// COMMAND [COUNT | INFO name... | DOCS name... | LIST | HELP].
pub fn command(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() == 1 {
        c.out.array(COMMANDS.len());
        for cmd in COMMANDS {
            command_info(c, cmd);
        }
        return Ok(());
    }
    let sub = a.text(1).to_ascii_lowercase();
    match sub.as_str() {
        "count" => {
            sub_arity(a, 2)?;
            c.out.int(COMMANDS.len() as i64);
        }
        "info" => {
            if a.len() == 2 {
                c.out.array(COMMANDS.len());
                for cmd in COMMANDS {
                    command_info(c, cmd);
                }
            } else {
                c.out.array(a.len() - 2);
                for i in 2..a.len() {
                    match super::lookup(a.get(i)) {
                        Some(cmd) => command_info(c, cmd),
                        None => c.out.null(),
                    }
                }
            }
        }
        "docs" => {
            let picked: Vec<&Command> = if a.len() == 2 {
                COMMANDS.iter().collect()
            } else {
                (2..a.len())
                    .filter_map(|i| super::lookup(a.get(i)))
                    .collect()
            };
            c.out.map(picked.len());
            for cmd in picked {
                command_docs(c, cmd);
            }
        }
        "list" => {
            // COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]
            let filter = match a.len() {
                2 => None,
                5 if a.is(2, "filterby") => Some((a.text(3).to_ascii_lowercase(), a.get(4))),
                _ => return Err(CmdError::Syntax),
            };
            let names = COMMANDS
                .iter()
                .map(|c| (c.name, Some(c)))
                .chain(super::SUBCOMMANDS.iter().map(|s| (s.full, None)));
            let mut picked: Vec<&str> = Vec::new();
            for (name, cmd) in names {
                let keep = match &filter {
                    None => true,
                    Some((kind, v)) => match kind.as_str() {
                        "pattern" => crate::glob::glob_match(v, name.as_bytes(), true),
                        "aclcat" => cmd.is_some_and(|c| {
                            acl_categories(c)
                                .iter()
                                .any(|cat| cat.as_bytes()[1..].eq_ignore_ascii_case(v))
                        }),
                        "module" => false,
                        _ => return Err(CmdError::Syntax),
                    },
                };
                if keep {
                    picked.push(name);
                }
            }
            c.out.array(picked.len());
            for n in picked {
                c.out.bulk_str(n);
            }
        }
        "getkeys" => {
            sub_arity(a, -3)?;
            let Some(cmd) = super::lookup(a.get(2)) else {
                return Err(CmdError::err("Invalid command specified"));
            };
            let inner = Args {
                buf: a.buf,
                ranges: &a.ranges[2..],
            };
            if !super::arity_ok(cmd.arity, inner.len()) {
                return Err(CmdError::err(
                    "Invalid number of arguments specified for command",
                ));
            }
            let mut keys = Vec::new();
            super::command_keys(cmd, &inner, &mut keys);
            if keys.is_empty() {
                return Err(CmdError::err("The command has no key arguments"));
            }
            c.out.array(keys.len());
            for k in keys {
                c.out.bulk(k);
            }
        }
        "help" => {
            help(
                c,
                &[
                    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "(no subcommand)",
                    "    Return details about all commands.",
                    "COUNT",
                    "    Return the total number of commands in this server.",
                    "LIST",
                    "    Return a list of all commands in this server.",
                    "INFO [<command-name> ...]",
                    "    Return details about multiple commands.",
                    "DOCS [<command-name> ...]",
                    "    Return documentation details about multiple commands.",
                    "GETKEYS <full-command>",
                    "    Return the keys from a full command.",
                    "HELP",
                    "    Print this help.",
                ],
            )?;
        }
        _ => return Err(unknown_subcommand(a, "COMMAND")),
    }
    Ok(())
}

/// TIME -> [seconds, microseconds].
pub fn time(c: &mut Ctx, _a: &Args) -> CmdResult {
    let us = crate::server::unix_us();
    c.out.array(2);
    c.out.bulk_i64(us / 1_000_000);
    c.out.bulk_i64(us % 1_000_000);
    Ok(())
}

/// LASTSAVE -> Unix time of the last successful save (start time: nothing saves yet).
/// BGREWRITEAOF: starts compacting the AOF (in slices of the event loop, no fork).
pub fn bgrewriteaof(c: &mut Ctx, _a: &Args) -> CmdResult {
    if c.srv.rewrite.is_some() {
        return Err(CmdError::err(
            "Background append only file rewriting already in progress",
        ));
    }
    if !c.srv.aof.logging() {
        return Err(CmdError::err(
            "ferrokv rewrites the AOF only while appendonly is yes",
        ));
    }
    c.srv.start_rewrite().map_err(CmdError::err)?;
    c.out
        .simple("Background append only file rewriting started");
    Ok(())
}

pub fn lastsave(c: &mut Ctx, _a: &Args) -> CmdResult {
    c.out.int(c.srv.lastsave);
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
    log::warn!("User requested shutdown...");
    c.srv.shutdown = Some(Shutdown::Command);
    c.cl.close_after_reply = true;
    Ok(())
}

/// MONITOR: from now on this client receives every command the server runs.
pub fn monitor(c: &mut Ctx, _a: &Args) -> CmdResult {
    if c.cl.multi.is_some() {
        return Err(CmdError::err("MONITOR isn't allowed in MULTI"));
    }
    if !c.cl.monitor {
        c.cl.monitor = true;
        c.srv.monitors.push(c.slot);
    }
    c.out.ok();
    Ok(())
}

fn flush_mode_ok(a: &Args) -> CmdResult {
    match a.len() {
        2 => Ok(()),
        3 if a.is(2, "async") || a.is(2, "sync") => Ok(()),
        // Redis's two texts differ by one letter; clients match on them.
        _ if a.is(0, "script") => Err(CmdError::err("SCRIPT FLUSH only support SYNC|ASYNC option")),
        _ => Err(CmdError::err(
            "FUNCTION FLUSH only supports SYNC|ASYNC option",
        )),
    }
}

const NO_SCRIPTING: &str = "ERR scripting is not supported by ferrokv";

/// SCRIPT and FUNCTION: FLUSH succeeds (nothing is ever cached or loaded), SCRIPT EXISTS
/// says no to every sha, FUNCTION LIST is empty, KILL finds nothing to kill; anything else
/// is refused. Client test fixtures call the flushes in teardown.
pub fn scripting_stub(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.is(1, "flush") {
        flush_mode_ok(a)?;
        c.out.ok();
    } else if a.is(0, "script") && a.is(1, "exists") {
        c.out.array(a.len() - 2);
        for _ in 2..a.len() {
            c.out.int(0);
        }
    } else if a.is(0, "function") && a.is(1, "list") {
        c.out.array(0);
    } else if a.is(1, "kill") {
        return Err(CmdError::Custom(
            "NOTBUSY No scripts in execution right now.".into(),
        ));
    } else {
        return Err(CmdError::Custom(NO_SCRIPTING.into()));
    }
    Ok(())
}

/// EVAL, EVALSHA, FCALL: not supported.
pub fn eval(_c: &mut Ctx, _a: &Args) -> CmdResult {
    Err(CmdError::Custom(NO_SCRIPTING.into()))
}
