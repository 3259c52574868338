//! Scripting stubs: ferrokv runs no Lua and loads no functions, but client test fixtures
//! call SCRIPT FLUSH and FUNCTION FLUSH in set-up and teardown, and tools ask SCRIPT
//! EXISTS and FUNCTION LIST. Those answer as an empty cache would; KILL finds nothing to
//! kill; everything else is refused with one clear error. The rows are Redis 7's, so
//! COMMAND INFO, key extraction (EVAL's `numkeys`) and MISCONF refusals match.

use super::table::{Command, KeySpec, ROW, acl, flags::*, ks::*};
use super::{Args, Ctx};
use crate::error::{CmdError, CmdResult};

const NO_SCRIPTING: &str = "ERR scripting is not supported by ferrokv";

const SCRIPTING: Command = Command {
    acl: acl::SCRIPTING,
    group: "scripting",
    handler: not_supported,
    ..ROW
};
const ALL_NODES_OK: &[&str] = &["request_policy:all_nodes", "response_policy:all_succeeded"];
const ALL_SHARDS_OK: &[&str] = &["request_policy:all_shards", "response_policy:all_succeeded"];
const ONE_OK: &[&str] = &["request_policy:all_shards", "response_policy:one_succeeded"];
/// EVAL's keys: `numkeys` at argument 2, then that many keys. How a script uses them is
/// unknown, so Redis assumes the worst.
const SCRIPT_KEYS: &[KeySpec] = &[KeySpec::keynum(2, 0, 1, 1, RW | ACCESS | UPDATE)];
const EVAL_FLAGS: u32 = NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS;

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "script", arity: -2, acl: 0, summary: "Script cache commands (nothing is cached).", subcommands: SCRIPT, ..SCRIPTING },
    Command { name: "function", arity: -2, acl: 0, summary: "Function library commands (none exist).", subcommands: FUNCTION, ..SCRIPTING },
    Command { name: "eval", arity: -3, flags: EVAL_FLAGS, keys: SCRIPT_KEYS, handler: eval, usage: "script numkeys [key [key ...]] [arg [arg ...]]", summary: "Runs a Lua script (not supported).", ..SCRIPTING },
    Command { name: "evalsha", arity: -3, flags: EVAL_FLAGS, keys: SCRIPT_KEYS, handler: eval, usage: "sha1 numkeys [key [key ...]] [arg [arg ...]]", summary: "Runs a cached Lua script (not supported).", ..SCRIPTING },
    Command { name: "fcall", arity: -3, flags: EVAL_FLAGS, keys: SCRIPT_KEYS, handler: eval, usage: "function numkeys [key [key ...]] [arg [arg ...]]", summary: "Calls a function (not supported).", ..SCRIPTING },
];

#[rustfmt::skip]
static SCRIPT: &[Command] = &[
    Command { name: "script|flush", arity: -2, flags: NOSCRIPT, tips: ALL_NODES_OK, handler: script_flush, usage: "[ASYNC | SYNC]", summary: "Empties the script cache (always empty).", ..SCRIPTING },
    Command { name: "script|exists", arity: -3, flags: NOSCRIPT, tips: &["request_policy:all_shards", "response_policy:agg_logical_and"], handler: script_exists, usage: "sha1 [sha1 ...]", summary: "Tells which scripts are cached (none).", ..SCRIPTING },
    Command { name: "script|load", arity: 3, flags: NOSCRIPT | STALE, tips: ALL_NODES_OK, usage: "script", summary: "Caches a script (not supported).", ..SCRIPTING },
    Command { name: "script|kill", arity: 2, flags: NOSCRIPT | ALLOW_BUSY, tips: ONE_OK, handler: kill, summary: "Stops a running script (none runs).", ..SCRIPTING },
    Command { name: "script|help", arity: 2, flags: LOADING | STALE, summary: "Lists the SCRIPT subcommands (not supported).", ..SCRIPTING },
];

#[rustfmt::skip]
static FUNCTION: &[Command] = &[
    Command { name: "function|flush", arity: -2, flags: WRITE | NOSCRIPT, tips: ALL_SHARDS_OK, handler: function_flush, usage: "[ASYNC | SYNC]", summary: "Deletes every function library (there are none).", ..SCRIPTING },
    Command { name: "function|list", arity: -2, flags: NOSCRIPT, tips: &["nondeterministic_output_order"], handler: function_list, usage: "[LIBRARYNAME library-name-pattern] [WITHCODE]", summary: "Lists the function libraries (none).", ..SCRIPTING },
    Command { name: "function|load", arity: -3, flags: WRITE | DENYOOM | NOSCRIPT, tips: ALL_SHARDS_OK, usage: "[REPLACE] function-code", summary: "Loads a function library (not supported).", ..SCRIPTING },
    Command { name: "function|delete", arity: 3, flags: WRITE | NOSCRIPT, tips: ALL_SHARDS_OK, usage: "library-name", summary: "Deletes a function library (not supported).", ..SCRIPTING },
    Command { name: "function|dump", arity: 2, flags: NOSCRIPT, summary: "Serializes the function libraries (not supported).", ..SCRIPTING },
    Command { name: "function|restore", arity: -3, flags: WRITE | DENYOOM | NOSCRIPT, tips: ALL_SHARDS_OK, usage: "serialized-value [FLUSH | APPEND | REPLACE]", summary: "Restores function libraries (not supported).", ..SCRIPTING },
    Command { name: "function|stats", arity: 2, flags: NOSCRIPT | ALLOW_BUSY, tips: &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"], summary: "Reports the running function (not supported).", ..SCRIPTING },
    Command { name: "function|kill", arity: 2, flags: NOSCRIPT | ALLOW_BUSY, tips: ONE_OK, handler: kill, summary: "Stops a running function (none runs).", ..SCRIPTING },
    Command { name: "function|help", arity: 2, flags: LOADING | STALE, summary: "Lists the FUNCTION subcommands (not supported).", ..SCRIPTING },
];

/// Anything that would need a script engine.
fn not_supported(_c: &mut Ctx, _a: &Args) -> CmdResult {
    Err(CmdError::Custom(NO_SCRIPTING.into()))
}

/// EVAL, EVALSHA, FCALL: shown to MONITOR as Redis shows a script call (before it runs;
/// SKIP_MONITOR keeps the commands a script runs out), then refused.
fn eval(c: &mut Ctx, a: &Args) -> CmdResult {
    super::feed_monitors(c.clients, c.cl, a);
    not_supported(c, a)
}

/// SCRIPT FLUSH [ASYNC|SYNC]: nothing to flush.
fn script_flush(c: &mut Ctx, a: &Args) -> CmdResult {
    // Redis's two texts differ by one letter; clients match on them.
    flush(c, a, "SCRIPT FLUSH only support SYNC|ASYNC option")
}

/// FUNCTION FLUSH [ASYNC|SYNC]: nothing to flush.
fn function_flush(c: &mut Ctx, a: &Args) -> CmdResult {
    flush(c, a, "FUNCTION FLUSH only supports SYNC|ASYNC option")
}

fn flush(c: &mut Ctx, a: &Args, bad_mode: &str) -> CmdResult {
    match a.len() {
        2 => {}
        3 if a.is(2, "async") || a.is(2, "sync") => {}
        _ => return Err(CmdError::err(bad_mode)),
    }
    c.out.ok();
    Ok(())
}

/// SCRIPT EXISTS sha1...: no script is cached.
fn script_exists(c: &mut Ctx, a: &Args) -> CmdResult {
    c.out.array(a.len() - 2);
    for _ in 2..a.len() {
        c.out.int(0);
    }
    Ok(())
}

/// FUNCTION LIST: no library is loaded.
fn function_list(c: &mut Ctx, _a: &Args) -> CmdResult {
    c.out.array(0);
    Ok(())
}

/// SCRIPT KILL / FUNCTION KILL: nothing runs.
fn kill(_c: &mut Ctx, _a: &Args) -> CmdResult {
    Err(CmdError::Custom(
        "NOTBUSY No scripts in execution right now.".into(),
    ))
}
