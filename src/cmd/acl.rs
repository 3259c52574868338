//! ACL subcommands (CAT DELUSER DRYRUN GENPASS GETUSER HELP LIST LOAD LOG SAVE SETUSER
//! USERS WHOAMI), the permission check dispatch runs before a command, the ACL log
//! entries of refusals, and what the ACL table needs from the command table (`catalog`).
//! Users, rules and their texts are `crate::acl`'s.

use super::table::{Command, ROW, flags::*, ks};
use super::{Args, Ctx, Resolved, help};
use crate::acl::{Acl, Catalog, CmdInfo, Denial, LogEntry, Reason, UserRef};
use crate::client::ClientState;
use crate::config::Config;
use crate::engine::Engine;
use crate::error::{CmdError, CmdResult};

const ACL_ROW: Command = Command {
    flags: ADMIN | NOSCRIPT | LOADING | STALE,
    group: "server",
    ..ROW
};
const PLAIN: u32 = NOSCRIPT | LOADING | STALE;

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "acl", arity: -2, flags: 0, summary: "Manages ACL users.", subcommands: SUBCOMMANDS, ..ACL_ROW },
];

#[rustfmt::skip]
static SUBCOMMANDS: &[Command] = &[
    Command { name: "acl|cat", arity: -2, flags: PLAIN, handler: cat, usage: "[category]", summary: "Lists the ACL categories, or the commands of one.", ..ACL_ROW },
    Command { name: "acl|deluser", arity: -3, handler: deluser, usage: "username [username ...]", summary: "Deletes users and disconnects their clients.", ..ACL_ROW },
    Command { name: "acl|dryrun", arity: -4, handler: dryrun, usage: "username command [arg [arg ...]]", summary: "Tells whether a user could run a command.", ..ACL_ROW },
    Command { name: "acl|genpass", arity: -2, flags: PLAIN, handler: genpass, usage: "[bits]", summary: "Returns a random password.", ..ACL_ROW },
    Command { name: "acl|getuser", arity: 3, handler: getuser, usage: "username", summary: "Describes a user's rules.", ..ACL_ROW },
    Command { name: "acl|help", arity: 2, flags: LOADING | STALE, handler: acl_help, summary: "Lists the ACL subcommands.", ..ACL_ROW },
    Command { name: "acl|list", arity: 2, handler: list, summary: "Lists the users in config-file form.", ..ACL_ROW },
    Command { name: "acl|load", arity: 2, handler: load, summary: "Reloads the users from the ACL file.", ..ACL_ROW },
    Command { name: "acl|log", arity: -2, handler: log, usage: "[count | RESET]", summary: "Lists recent refusals.", ..ACL_ROW },
    Command { name: "acl|save", arity: 2, handler: save, summary: "Writes the users to the ACL file.", ..ACL_ROW },
    Command { name: "acl|setuser", arity: -3, handler: setuser, usage: "username [rule [rule ...]]", summary: "Creates or changes a user.", ..ACL_ROW },
    Command { name: "acl|users", arity: 2, handler: users, summary: "Lists the usernames.", ..ACL_ROW },
    Command { name: "acl|whoami", arity: 2, flags: PLAIN, handler: whoami, summary: "Returns the connection's username.", ..ACL_ROW },
];

/// The command table as the ACL rules see it: every id with its full name, categories
/// and subcommands.
pub fn catalog() -> Catalog {
    // The registry numbers a container's subcommands right after it.
    let cmds = super::all()
        .map(|(id, c)| CmdInfo {
            name: c.name,
            categories: c.categories(),
            subs: id + 1..id + 1 + c.subcommands.len(),
            is_sub: c.name.contains('|'),
        })
        .collect();
    Catalog {
        cmds,
        categories: super::table::acl::NAMES,
        lookup: |name| super::lookup_full(name).map(|r| r.id),
    }
}

/// The ACL table at startup: the default user with `requirepass`, then the config
/// file's `user` lines or the `aclfile` (not both, as Redis insists). The error is what
/// Redis logs before exiting.
pub fn startup(config: &Config) -> Result<Acl, String> {
    let mut acl = Acl::new(catalog());
    acl.pubsub_all = config.get("acl-pubsub-default") == Some("allchannels");
    acl.set_default_password(config.requirepass.as_deref().map(str::as_bytes));
    let aclfile = config.get("aclfile").unwrap_or("");
    if !aclfile.is_empty() && !config.users.is_empty() {
        return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
    }
    acl.load_config_users(&config.users)
        .map_err(|e| format!("{e}\nCritical error while loading ACLs. Exiting."))?;
    if !aclfile.is_empty() {
        acl.load_file(aclfile, &aclfile_path(config, aclfile))
            .map_err(|e| format!("Aborting Redis startup because of ACL errors: {e}"))?;
    }
    Ok(acl)
}

/// Where the ACL file is: a relative `aclfile` is inside `dir`, where Redis (which
/// changes into `dir`) finds it.
fn aclfile_path(config: &Config, aclfile: &str) -> std::path::PathBuf {
    config.dir.join(aclfile)
}

/// Calls `f(position, read, write)` for every key of the command, from its key specs:
/// reading needs `access`, writing `insert`, `delete` or `update` (Redis's mapping).
fn for_each_acl_key(found: Resolved, args: &Args, f: &mut dyn FnMut(usize, bool, bool)) {
    found.cmd.for_each_key(args, &mut |pos, fl| {
        let read = fl & ks::ACCESS != 0;
        let write = fl & (ks::INSERT | ks::DELETE | ks::UPDATE) != 0;
        f(pos, read, write)
    });
}

/// Checks the client's user may run `found` with `args`.
pub fn check(eng: &Engine, user: UserRef, found: Resolved, args: &Args) -> Result<(), Denial> {
    eng.acl.check(
        user,
        found.id,
        found.cmd.flags & NO_AUTH != 0,
        args,
        &mut |f| for_each_acl_key(found, args, f),
        &mut |f| super::pubsub::for_each_acl_channel(found.cmd, args, f),
    )
}

/// The `-NOPERM` reply to a refused command.
pub fn noperm(found: Resolved, d: Denial) -> CmdError {
    CmdError::Custom(match d.reason {
        Reason::Command => format!(
            "NOPERM this user has no permissions to run the '{}' command",
            found.cmd.name
        ),
        Reason::Channel => {
            "NOPERM this user has no permissions to access one of the channels used as arguments"
                .into()
        }
        _ => {
            "NOPERM this user has no permissions to access one of the keys used as arguments".into()
        }
    })
}

/// The reply when EXEC finds a queued command no longer allowed (the rules changed
/// after it was queued).
pub fn noperm_in_exec(d: Denial) -> CmdError {
    let reason = match d.reason {
        Reason::Command => "no permission to execute the command or subcommand",
        Reason::Channel => "no permission to access one of the channels used as arguments",
        _ => "no permission to touch the specified keys",
    };
    CmdError::Custom(format!(
        "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}"
    ))
}

/// Adds a refusal to the ACL log: the object is the command's full name, the key at
/// the refused position, or (authentication) `object` as given.
pub fn log_denial(
    eng: &mut Engine,
    cl: &ClientState,
    reason: Reason,
    object: &[u8],
    username: &[u8],
) {
    let max = eng
        .config
        .get("acllog-max-len")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(128);
    let cinfo = super::client::client_line(cl, eng.acl.name(cl.user), 0, 0);
    let entry = LogEntry {
        count: 1,
        reason,
        multi: cl.multi.is_some() || eng.in_exec,
        object: object.to_vec(),
        username: username.to_vec(),
        ctime: crate::engine::unix_ms(),
        cinfo,
    };
    eng.acl.log_push(entry, max);
}

/// Logs a refused command for its client's user.
pub fn log_command_denial(
    eng: &mut Engine,
    cl: &ClientState,
    found: Resolved,
    args: &Args,
    d: Denial,
) {
    let object: &[u8] = match d.reason {
        Reason::Command => found.cmd.name.as_bytes(),
        _ => args.get(d.pos),
    };
    let user = eng.acl.name(cl.user).to_vec();
    log_denial(eng, cl, d.reason, object, &user);
}

/// Disconnects every client logged in as `r` (a deleted user): the others at once, the
/// caller after its reply, as Redis does.
fn kill_user_clients(c: &mut Ctx, pick: &dyn Fn(UserRef) -> bool) {
    c.clients.kill(&|cl: &ClientState| pick(cl.user));
    if pick(c.cl.user) {
        c.cl.user = UserRef::DEFAULT;
        c.cl.authenticated = false;
        c.cl.close_after_reply = true;
    }
}

/// Redis's reply to a subcommand given too many arguments for its own parsing.
fn wrong_args(a: &Args) -> CmdError {
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.",
        a.text(1)
    ))
}

/// ACL CAT [category].
fn cat(c: &mut Ctx, a: &Args) -> CmdResult {
    let catalog = c.eng.acl.catalog();
    if a.len() == 2 {
        c.out.array(catalog.categories.len());
        for (_, name) in catalog.categories {
            c.out.bulk_str(name);
        }
        return Ok(());
    }
    if a.len() > 3 {
        return Err(wrong_args(a));
    }
    let Some(flag) = catalog.category(a.get(2)) else {
        let mut msg = b"ERR Unknown category '".to_vec();
        msg.extend_from_slice(&a.get(2)[..a.get(2).len().min(128)]);
        msg.push(b'\'');
        return Err(CmdError::Bytes(msg));
    };
    let names: Vec<&str> = catalog
        .cmds
        .iter()
        .filter(|m| m.categories & flag != 0)
        .map(|m| m.name)
        .collect();
    c.out.array(names.len());
    for n in names {
        c.out.bulk_str(n);
    }
    Ok(())
}

/// ACL DELUSER username [username ...]: the count deleted; their clients are closed.
fn deluser(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.iter().skip(2).any(|n| n == b"default") {
        return Err(CmdError::err("The 'default' user cannot be removed"));
    }
    let mut deleted = 0;
    for name in a.iter().skip(2) {
        if let Some(r) = c.eng.acl.del_user(name) {
            deleted += 1;
            kill_user_clients(c, &|u| u == r);
        }
    }
    c.out.int(deleted);
    Ok(())
}

/// ACL DRYRUN username command [arg ...]: OK, or why the user could not run it.
fn dryrun(c: &mut Ctx, a: &Args) -> CmdResult {
    let Some(user) = c.eng.acl.lookup(a.get(2)) else {
        return Err(CmdError::err(format!("User '{}' not found", a.text(2))));
    };
    let target = a.tail(3);
    let not_found = || CmdError::err(format!("Command '{}' not found", a.text(3)));
    let found = super::find(&target).map_err(|_| not_found())?;
    if !found.cmd.arity_ok(target.len()) {
        return Err(CmdError::Arity(found.cmd.name.to_string()));
    }
    match check(c.eng, user, found, &target) {
        Ok(()) => c.out.ok(),
        Err(d) => {
            let text = match d.reason {
                Reason::Command => format!(
                    "This user has no permissions to run the '{}' command",
                    found.cmd.name
                ),
                Reason::Channel => format!(
                    "This user has no permissions to access the '{}' channel",
                    target.text(d.pos)
                ),
                _ => format!(
                    "This user has no permissions to access the '{}' key",
                    target.text(d.pos)
                ),
            };
            c.out.bulk_str(&text);
        }
    }
    Ok(())
}

/// Largest ACL GENPASS size, as Redis.
const GENPASS_MAX_BITS: i64 = 4096;

/// ACL GENPASS [bits]: random hex from the operating system's generator.
fn genpass(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() > 3 {
        return Err(wrong_args(a));
    }
    let bits = if a.len() == 3 {
        crate::num::arg_i64(a.get(2))?
    } else {
        256
    };
    if bits <= 0 || bits > GENPASS_MAX_BITS {
        return Err(CmdError::err(format!(
            "ACL GENPASS argument must be the number of bits for the output password, a positive number up to {GENPASS_MAX_BITS}"
        )));
    }
    let chars = ((bits + 3) / 4) as usize;
    let mut bytes = vec![0u8; chars.div_ceil(2)];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    if read.is_err() {
        // No /dev/urandom: fall back on the engine's generator, still unpredictable
        // enough for a suggestion the operator may use or not.
        for b in &mut bytes {
            *b = c.eng.rng.next_u64() as u8;
        }
    }
    let mut hex = String::with_capacity(bytes.len() * 2);
    for b in &bytes {
        hex.push_str(&format!("{b:02x}"));
    }
    hex.truncate(chars);
    c.out.bulk_str(&hex);
    Ok(())
}

/// ACL GETUSER username: flags, passwords (hashes), commands, keys, channels, selectors.
fn getuser(c: &mut Ctx, a: &Args) -> CmdResult {
    let Some(v) = c.eng.acl.view(a.get(2)) else {
        c.out.null();
        return Ok(());
    };
    let out = &mut c.out;
    out.map(6);
    out.bulk_str("flags");
    out.set(v.flags.len());
    for f in &v.flags {
        out.bulk_str(f);
    }
    out.bulk_str("passwords");
    out.array(v.passwords.len());
    for p in &v.passwords {
        out.bulk_str(p);
    }
    for (name, val) in [
        ("commands", v.root.commands.as_bytes()),
        ("keys", &v.root.keys),
        ("channels", &v.root.channels),
    ] {
        out.bulk_str(name);
        out.bulk(val);
    }
    out.bulk_str("selectors");
    out.array(v.selectors.len());
    for s in &v.selectors {
        out.map(3);
        for (name, val) in [
            ("commands", s.commands.as_bytes()),
            ("keys", &s.keys),
            ("channels", &s.channels),
        ] {
            out.bulk_str(name);
            out.bulk(val);
        }
    }
    Ok(())
}

/// ACL LIST.
fn list(c: &mut Ctx, _a: &Args) -> CmdResult {
    let lines = c.eng.acl.list();
    c.out.array(lines.len());
    for l in &lines {
        c.out.bulk(l);
    }
    Ok(())
}

/// ACL USERS.
fn users(c: &mut Ctx, _a: &Args) -> CmdResult {
    let names: Vec<Vec<u8>> = c.eng.acl.usernames().map(|n| n.to_vec()).collect();
    c.out.array(names.len());
    for n in &names {
        c.out.bulk(n);
    }
    Ok(())
}

/// ACL WHOAMI.
fn whoami(c: &mut Ctx, _a: &Args) -> CmdResult {
    let name = c.eng.acl.name(c.cl.user).to_vec();
    c.out.bulk(&name);
    Ok(())
}

/// ACL SETUSER username [rule ...]: all rules apply, or none.
fn setuser(c: &mut Ctx, a: &Args) -> CmdResult {
    let ops: Vec<&[u8]> = a.iter().skip(3).collect();
    c.eng.acl.set_user(a.get(2), &ops).map_err(CmdError::err)?;
    c.out.ok();
    Ok(())
}

const NO_ACLFILE: &str = "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

/// The `aclfile` setting and the file's path; an error if none is configured.
fn aclfile(c: &Ctx) -> Result<(String, std::path::PathBuf), CmdError> {
    match c.eng.config.get("aclfile") {
        Some(f) if !f.is_empty() => Ok((f.to_string(), aclfile_path(&c.eng.config, f))),
        _ => Err(CmdError::err(NO_ACLFILE)),
    }
}

/// ACL LOAD: replaces every user from the ACL file, or changes nothing and lists the
/// file's errors. Clients of users other than default are disconnected: their users
/// were replaced.
fn load(c: &mut Ctx, _a: &Args) -> CmdResult {
    let (name, path) = aclfile(c)?;
    c.eng.acl.load_file(&name, &path).map_err(CmdError::err)?;
    kill_user_clients(c, &|u| !u.is_default());
    c.out.ok();
    Ok(())
}

/// ACL SAVE: writes ACL LIST's lines to the ACL file (a temporary file renamed over it).
fn save(c: &mut Ctx, _a: &Args) -> CmdResult {
    let (_, path) = aclfile(c)?;
    if let Err(e) = c.eng.acl.save_file(&path) {
        log::warn!(
            "Writing ACL file for ACL SAVE: {}",
            crate::aof::strerror(&e)
        );
        return Err(CmdError::err(
            "There was an error trying to save the ACLs. Please check the server logs for more information",
        ));
    }
    c.out.ok();
    Ok(())
}

/// ACL LOG [count | RESET]: the most recent refusals first (10 by default).
fn log(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() > 3 {
        return Err(wrong_args(a));
    }
    let mut count = 10usize;
    if a.len() == 3 {
        if a.is(2, "reset") {
            c.eng.acl.log_reset();
            c.out.ok();
            return Ok(());
        }
        count = crate::num::arg_i64(a.get(2))?.max(0) as usize;
    }
    let now = crate::engine::unix_ms();
    let log = c.eng.acl.log();
    let n = count.min(log.len());
    let out = &mut c.out;
    out.array(n);
    for e in log.iter().take(n) {
        out.map(7);
        out.bulk_str("count");
        out.int(e.count as i64);
        out.bulk_str("reason");
        out.bulk_str(e.reason.name());
        out.bulk_str("context");
        out.bulk_str(if e.multi { "multi" } else { "toplevel" });
        out.bulk_str("object");
        out.bulk(&e.object);
        out.bulk_str("username");
        out.bulk(&e.username);
        out.bulk_str("age-seconds");
        let age = format_g17((now - e.ctime) as f64 / 1000.0);
        if out.resp3 {
            out.raw(b",");
            out.raw(age.as_bytes());
            out.raw(b"\r\n");
        } else {
            out.bulk_str(&age);
        }
        out.bulk_str("client-info");
        out.bulk_str(&e.cinfo);
    }
    Ok(())
}

/// C's `%.17g` of a finite double, as Redis prints doubles.
fn format_g17(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let sci = format!("{x:.16e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if !(-4..17).contains(&exp) {
        let mut m = format!("{}.{}", &digits[..1], &digits[1..]);
        while m.ends_with('0') {
            m.pop();
        }
        if m.ends_with('.') {
            m.pop();
        }
        s.push_str(&m);
        s.push_str(&format!(
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        ));
        return s;
    }
    let mut fixed = if exp < 0 {
        format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
    } else {
        let point = exp as usize + 1;
        format!("{}.{}", &digits[..point], &digits[point..])
    };
    while fixed.ends_with('0') {
        fixed.pop();
    }
    if fixed.ends_with('.') {
        fixed.pop();
    }
    s.push_str(&fixed);
    s
}

/// ACL HELP.
fn acl_help(c: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        c,
        &[
            "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
            "HELP",
            "    Print this help.",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g17_like_c() {
        assert_eq!(format_g17(6.404), "6.4039999999999999");
        assert_eq!(format_g17(0.503), "0.503");
        assert_eq!(format_g17(0.201), "0.20100000000000001");
        assert_eq!(format_g17(0.0), "0");
        assert_eq!(format_g17(12.0), "12");
        assert_eq!(format_g17(0.0001), "0.0001");
        assert_eq!(format_g17(1e20), "1e+20");
    }

    #[test]
    fn catalog_matches_registry() {
        let cat = catalog();
        assert_eq!(cat.cmds.len(), super::super::count());
        let config = (cat.lookup)(b"CONFIG").unwrap();
        let get = (cat.lookup)(b"config|get").unwrap();
        assert!(cat.cmds[config].subs.contains(&get));
        assert!(cat.cmds[get].is_sub);
        assert!(cat.category(b"Dangerous").is_some());
    }
}
