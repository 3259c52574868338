//! COMMAND: introspection of the command table, rendered from the rows the way Redis 7
//! renders its own (COMMAND INFO's ten fields, key specs, subcommands; COMMAND DOCS
//! argument trees; GETKEYS and GETKEYSANDFLAGS from the key specs). redis-cli reads these
//! for hints, cluster clients for key positions.

use super::docs::{parse_usage, write_arg};
use super::table::{BeginSearch, Command, FindKeys, KeySpec, ROW, acl, flags, flags::*, ks, names};
use super::{Args, Ctx, help};
use crate::error::{CmdError, CmdResult};
use crate::resp::reply::Reply;

const INTROSPECTION: Command = Command {
    flags: LOADING | STALE,
    acl: acl::CONNECTION,
    group: "server",
    ..ROW
};
const ORDER: &[&str] = &["nondeterministic_output_order"];

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "command", arity: -1, tips: ORDER, handler: command, summary: "Describes the commands.", subcommands: SUBCOMMANDS, ..INTROSPECTION },
];

#[rustfmt::skip]
static SUBCOMMANDS: &[Command] = &[
    Command { name: "command|count", arity: 2, handler: count, summary: "Returns the number of commands.", ..INTROSPECTION },
    Command { name: "command|info", arity: -2, tips: ORDER, handler: info, usage: "[command-name [command-name ...]]", summary: "Describes commands: arity, flags, keys, ACL categories.", ..INTROSPECTION },
    Command { name: "command|docs", arity: -2, tips: ORDER, handler: docs, usage: "[command-name [command-name ...]]", summary: "Documents commands: summary and arguments.", ..INTROSPECTION },
    Command { name: "command|list", arity: -2, tips: ORDER, handler: list, usage: "[FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern]", summary: "Lists command names, optionally filtered.", ..INTROSPECTION },
    Command { name: "command|getkeys", arity: -4, handler: getkeys, usage: "command [arg [arg ...]]", summary: "Extracts the keys of a full command.", ..INTROSPECTION },
    Command { name: "command|getkeysandflags", arity: -4, handler: getkeysandflags, usage: "command [arg [arg ...]]", summary: "Extracts the keys of a full command, with how each is used.", ..INTROSPECTION },
    Command { name: "command|help", arity: 2, handler: command_help, summary: "Lists the COMMAND subcommands.", ..INTROSPECTION },
];

/// A set of names (flags, categories, key-spec flags) as simple strings.
fn name_set(out: &mut Reply, list: impl Iterator<Item = &'static str> + Clone) {
    out.set(list.clone().count());
    for n in list {
        out.simple(n);
    }
}

/// One COMMAND INFO entry: name, arity, flags, first/last/step, categories, tips, key
/// specs, subcommands.
fn command_info(out: &mut Reply, cmd: &Command) {
    let (first, last, step, _) = cmd.legacy_range();
    out.array(10);
    out.bulk_str(cmd.name);
    out.int(cmd.arity as i64);
    name_set(out, names(cmd.flags_reported(), flags::NAMES));
    out.int(first as i64);
    out.int(last as i64);
    out.int(step as i64);
    let cats = names(cmd.categories(), acl::NAMES);
    out.set(cats.clone().count());
    for cat in cats {
        out.simple(&format!("@{cat}"));
    }
    out.set(cmd.tips.len());
    for t in cmd.tips {
        out.bulk_str(t);
    }
    out.set(cmd.keys.len());
    for spec in cmd.keys {
        key_spec(out, spec);
    }
    out.set(cmd.subcommands.len());
    for sub in cmd.subcommands {
        command_info(out, sub);
    }
}

/// One key specification as COMMAND INFO describes it.
fn key_spec(out: &mut Reply, spec: &KeySpec) {
    out.map(3);
    out.bulk_str("flags");
    name_set(out, names(spec.flags, ks::NAMES));
    out.bulk_str("begin_search");
    out.map(2);
    out.bulk_str("type");
    match spec.begin {
        BeginSearch::Index(i) => {
            out.bulk_str("index");
            out.bulk_str("spec");
            out.map(1);
            out.bulk_str("index");
            out.int(i as i64);
        }
        BeginSearch::Keyword { keyword, startfrom } => {
            out.bulk_str("keyword");
            out.bulk_str("spec");
            out.map(2);
            out.bulk_str("keyword");
            out.bulk_str(keyword);
            out.bulk_str("startfrom");
            out.int(startfrom as i64);
        }
        BeginSearch::Unknown => {
            out.bulk_str("unknown");
            out.bulk_str("spec");
            out.map(0);
        }
    }
    out.bulk_str("find_keys");
    out.map(2);
    out.bulk_str("type");
    match spec.find {
        FindKeys::Range {
            lastkey,
            step,
            limit,
        } => {
            out.bulk_str("range");
            out.bulk_str("spec");
            out.map(3);
            out.bulk_str("lastkey");
            out.int(lastkey as i64);
            out.bulk_str("keystep");
            out.int(step as i64);
            out.bulk_str("limit");
            out.int(limit as i64);
        }
        FindKeys::KeyNum {
            keynumidx,
            firstkey,
            step,
        } => {
            out.bulk_str("keynum");
            out.bulk_str("spec");
            out.map(3);
            out.bulk_str("keynumidx");
            out.int(keynumidx as i64);
            out.bulk_str("firstkey");
            out.int(firstkey as i64);
            out.bulk_str("keystep");
            out.int(step as i64);
        }
        FindKeys::Unknown => {
            out.bulk_str("unknown");
            out.bulk_str("spec");
            out.map(0);
        }
    }
}

/// One COMMAND DOCS entry (name, then its map), subcommands nested.
fn command_docs(out: &mut Reply, cmd: &Command) {
    let args = parse_usage(cmd.usage);
    out.bulk_str(cmd.name);
    out.map(3 + !args.is_empty() as usize + !cmd.subcommands.is_empty() as usize);
    out.bulk_str("summary");
    out.bulk_str(cmd.summary);
    out.bulk_str("since");
    out.bulk_str("1.0.0");
    out.bulk_str("group");
    out.bulk_str(cmd.group);
    if !args.is_empty() {
        out.bulk_str("arguments");
        out.array(args.len());
        let mut key_args = 0;
        for a in &args {
            write_arg(out, a, cmd.keys.len(), &mut key_args);
        }
    }
    if !cmd.subcommands.is_empty() {
        out.bulk_str("subcommands");
        out.map(cmd.subcommands.len());
        for sub in cmd.subcommands {
            command_docs(out, sub);
        }
    }
}

/// COMMAND: every command's INFO entry.
fn command(c: &mut Ctx, _a: &Args) -> CmdResult {
    let all: Vec<&Command> = super::top_level().collect();
    c.out.array(all.len());
    for cmd in all {
        command_info(&mut c.out, cmd);
    }
    Ok(())
}

/// COMMAND COUNT.
fn count(c: &mut Ctx, _a: &Args) -> CmdResult {
    c.out.int(super::top_level().count() as i64);
    Ok(())
}

/// COMMAND INFO [name ...]: names may be full subcommand names (`config|get`).
fn info(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() == 2 {
        return command(c, a);
    }
    c.out.array(a.len() - 2);
    for i in 2..a.len() {
        match super::lookup_full(a.get(i)) {
            Some(r) => command_info(&mut c.out, r.cmd),
            None => c.out.null(),
        }
    }
    Ok(())
}

/// COMMAND DOCS [name ...]: unknown names are left out.
fn docs(c: &mut Ctx, a: &Args) -> CmdResult {
    let picked: Vec<&Command> = if a.len() == 2 {
        super::top_level().collect()
    } else {
        (2..a.len())
            .filter_map(|i| super::lookup_full(a.get(i)).map(|r| r.cmd))
            .collect()
    };
    c.out.map(picked.len());
    for cmd in picked {
        command_docs(&mut c.out, cmd);
    }
    Ok(())
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]: every command
/// and subcommand name.
fn list(c: &mut Ctx, a: &Args) -> CmdResult {
    let filter = match a.len() {
        2 => None,
        5 if a.is(2, "filterby") => Some((a.text(3).to_ascii_lowercase(), a.get(4))),
        _ => return Err(CmdError::Syntax),
    };
    let mut picked: Vec<&str> = Vec::new();
    for (_, cmd) in super::all() {
        let keep = match &filter {
            None => true,
            Some((kind, v)) => match kind.as_str() {
                "pattern" => crate::glob::glob_match(v, cmd.name.as_bytes(), true),
                "aclcat" => names(cmd.categories(), acl::NAMES)
                    .any(|n| n.as_bytes().eq_ignore_ascii_case(v)),
                "module" => false,
                _ => return Err(CmdError::Syntax),
            },
        };
        if keep {
            picked.push(cmd.name);
        }
    }
    c.out.array(picked.len());
    for n in picked {
        c.out.bulk_str(n);
    }
    Ok(())
}

/// The keys of the command in `a` from argument 2 on, with Redis's errors; an empty list
/// for a command whose keys are optional.
fn keys_of(a: &Args) -> Result<Vec<(usize, u32)>, CmdError> {
    let inner = a.tail(2);
    let found = super::find(&inner).map_err(|_| CmdError::err("Invalid command specified"))?;
    let cmd = found.cmd;
    if !cmd.has_keys() {
        return Err(CmdError::err("The command has no key arguments"));
    }
    if !cmd.arity_ok(inner.len()) {
        return Err(CmdError::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let mut keys = Vec::new();
    cmd.for_each_key(&inner, &mut |pos, fl| keys.push((pos + 2, fl)));
    if keys.is_empty() && cmd.flags & NO_MANDATORY_KEYS == 0 {
        return Err(CmdError::err("Invalid arguments specified for command"));
    }
    Ok(keys)
}

/// COMMAND GETKEYS command [arg ...].
fn getkeys(c: &mut Ctx, a: &Args) -> CmdResult {
    let keys = keys_of(a)?;
    c.out.array(keys.len());
    for (pos, _) in keys {
        c.out.bulk(a.get(pos));
    }
    Ok(())
}

/// COMMAND GETKEYSANDFLAGS command [arg ...]: each key with its key-spec flags.
fn getkeysandflags(c: &mut Ctx, a: &Args) -> CmdResult {
    let keys = keys_of(a)?;
    c.out.array(keys.len());
    for (pos, fl) in keys {
        c.out.array(2);
        c.out.bulk(a.get(pos));
        name_set(&mut c.out, names(fl, ks::NAMES));
    }
    Ok(())
}

/// COMMAND HELP.
fn command_help(c: &mut Ctx, _a: &Args) -> CmdResult {
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
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full command.",
            "HELP",
            "    Print this help.",
        ],
    )
}
