//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP. The parameters themselves (defaults,
//! validation, globs) are `config.rs`'s; here is what a change must set in motion
//! (fsync policy, AOF on or off, log level).

use super::table::{Command, ROW, flags::*};
use super::{Args, Ctx, help};
use crate::error::{CmdError, CmdResult};

const ADMIN_CMD: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const CONFIG: Command = Command {
    flags: ADMIN_CMD,
    group: "server",
    ..ROW
};

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "config", arity: -2, flags: 0, summary: "Reads and changes the configuration.", subcommands: SUBCOMMANDS, ..CONFIG },
];

#[rustfmt::skip]
static SUBCOMMANDS: &[Command] = &[
    Command { name: "config|get", arity: -3, handler: get, usage: "parameter [parameter ...]", summary: "Returns the parameters matching glob patterns, with their values.", ..CONFIG },
    Command { name: "config|set", arity: -4, tips: &["request_policy:all_nodes", "response_policy:all_succeeded"], handler: set, usage: "parameter value [parameter value ...]", summary: "Changes parameters, all or none.", ..CONFIG },
    Command { name: "config|resetstat", arity: 2, handler: resetstat, summary: "Clears the statistics INFO reports.", ..CONFIG },
    Command { name: "config|rewrite", arity: 2, handler: rewrite, summary: "Rewrites the config file (not supported).", ..CONFIG },
    Command { name: "config|help", arity: 2, flags: LOADING | STALE, handler: config_help, summary: "Lists the CONFIG subcommands.", ..CONFIG },
];

/// CONFIG GET pattern [pattern ...].
fn get(c: &mut Ctx, a: &Args) -> CmdResult {
    let pats: Vec<&[u8]> = a.iter().skip(2).collect();
    let found = c.eng.config.matching(&pats);
    c.out.map(found.len());
    for (n, v) in found {
        c.out.bulk_str(n);
        c.out.bulk_str(&v);
    }
    Ok(())
}

/// CONFIG SET parameter value [parameter value ...]: every value is checked before any
/// is applied.
fn set(c: &mut Ctx, a: &Args) -> CmdResult {
    if !a.len().is_multiple_of(2) {
        return Err(CmdError::Arity("config|set".into()));
    }
    let texts: Vec<String> = (2..a.len()).map(|i| a.text(i)).collect();
    let pairs: Vec<(&str, &str)> = texts
        .chunks(2)
        .map(|p| (p[0].as_str(), p[1].as_str()))
        .collect();
    // Unknown names first, then repeats of a name (Redis 7.0 lets an alias and its
    // target through together), in argument order as Redis checks them; a set keeps
    // this linear in the number of names.
    let mut seen = std::collections::HashSet::new();
    for (n, _) in &pairs {
        let lower = n.to_ascii_lowercase();
        if crate::config::canonical(&lower).is_none() {
            return Err(CmdError::Custom(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{n}'"
            )));
        }
        if !seen.insert(lower) {
            return Err(CmdError::err(format!(
                "CONFIG SET failed (possibly related to argument '{n}') - duplicate parameter"
            )));
        }
    }
    let eng = &mut *c.eng;
    let (was_on, was_policy) = (eng.config.appendonly, eng.config.appendfsync);
    let was_pass = eng.config.requirepass.clone();
    eng.config.set_many(&pairs)?;
    if eng.config.requirepass != was_pass {
        // `requirepass` is the default user's password (empty: nopass), as in Redis.
        let pass = eng.config.requirepass.clone();
        eng.acl
            .set_default_password(pass.as_deref().map(str::as_bytes));
    }
    eng.acl.pubsub_all = eng.config.get("acl-pubsub-default") == Some("allchannels");
    eng.refresh_notify();
    log::set_max_level(eng.config.loglevel);
    eng.ks.set_lazy(eng.config.lazyfree);
    eng.refresh_access();
    if eng.config.appendfsync != was_policy {
        eng.set_fsync_policy(eng.config.appendfsync);
    }
    if eng.config.appendonly != was_on {
        let r = if eng.config.appendonly {
            eng.enable_aof()
        } else {
            eng.disable_aof();
            Ok(())
        };
        if let Err(e) = r {
            eng.config.set_many(&[("appendonly", "no")])?;
            return Err(CmdError::err(format!(
                "CONFIG SET failed (possibly related to argument 'appendonly') - {e}"
            )));
        }
    }
    c.out.ok();
    Ok(())
}

/// CONFIG RESETSTAT.
fn resetstat(c: &mut Ctx, _a: &Args) -> CmdResult {
    c.eng.stats = Default::default();
    for s in &mut c.eng.cmdstats {
        *s = Default::default();
    }
    c.eng.ks.stats = Default::default();
    c.out.ok();
    Ok(())
}

/// CONFIG REWRITE: ferrokv does not edit config files.
fn rewrite(_c: &mut Ctx, _a: &Args) -> CmdResult {
    Err(CmdError::err(
        "CONFIG REWRITE is not supported by ferrokv; edit the config file instead",
    ))
}

/// CONFIG HELP.
fn config_help(c: &mut Ctx, _a: &Args) -> CmdResult {
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
    )
}
