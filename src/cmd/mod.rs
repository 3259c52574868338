//! Command dispatch: finding a command's row, the checks Redis makes before running it,
//! and what happens around every execution (copy-before-write, the write stream, WATCH,
//! statistics, MONITOR). The rows are declared by the per-type modules next to their
//! handlers; `table.rs` says what a row holds.
//!
//! The request path: the loop parses a command and calls `dispatch`, which resolves it
//! (name, subcommand, arity), checks authentication, the user's ACL permissions (one
//! branch for a user that may run anything), the AOF's health and MULTI, then
//! `execute` runs the handler. A write's records reach the write stream here, after the
//! handler; the loop hands them to the AOF before any reply is written.

pub mod acl;
pub mod blocking;
pub mod client;
pub mod command;
pub mod config;
pub mod ctx;
pub mod debug;
pub mod docs;
pub mod dump;
pub mod expiry;
pub mod hash;
pub mod hash_ttl;
pub mod info;
pub mod keys;
pub mod list;
pub mod pubsub;
pub mod repl;
pub mod replay;
pub mod scripting;
pub mod server;
pub mod set;
pub mod sort;
pub mod string;
pub mod table;
pub mod tx;
pub mod zset;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;
use std::time::Instant;

use log::trace;

use crate::client::ClientState;
use crate::engine::{Engine, unix_us};
use crate::error::CmdError;
use crate::resp::reply::Reply;
pub use ctx::{Args, Clients, Ctx, DbView, NoClients};
use table::Command;
pub use table::flags;

/// Every command table, in the order COMMAND lists them.
static TABLES: &[&[Command]] = &[
    hash::COMMANDS,
    hash_ttl::COMMANDS,
    string::COMMANDS,
    list::COMMANDS,
    set::COMMANDS,
    zset::COMMANDS,
    sort::COMMANDS,
    keys::COMMANDS,
    dump::COMMANDS,
    tx::COMMANDS,
    server::COMMANDS,
    repl::COMMANDS,
    client::COMMANDS,
    config::COMMANDS,
    acl::COMMANDS,
    command::COMMANDS,
    debug::COMMANDS,
    scripting::COMMANDS,
    pubsub::COMMANDS,
];

/// A command's id: its place in the registry, subcommands included. Statistics are kept
/// by id.
pub type CmdId = usize;

/// A command (or subcommand) found for some arguments.
#[derive(Clone, Copy)]
pub struct Resolved {
    pub id: CmdId,
    pub cmd: &'static Command,
}

/// Longest command name; longer names are unknown without a lookup.
const MAX_NAME: usize = 32;

/// FNV-1a over the lowercased name. The table is fixed, so no client can aim collisions at
/// it, and this is several times cheaper than SipHash for names of a few bytes.
#[derive(Default)]
struct NameHasher(u64);

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        self.0 = h;
    }
}

struct Registry {
    /// Every row by id: each top-level command, then its subcommands.
    rows: Vec<&'static Command>,
    /// Top-level names.
    by_name: HashMap<&'static [u8], CmdId, BuildHasherDefault<NameHasher>>,
    /// Per id, the id of its first subcommand (0 when it has none).
    first_sub: Vec<CmdId>,
}

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| {
        let mut r = Registry {
            rows: Vec::new(),
            by_name: HashMap::default(),
            first_sub: Vec::new(),
        };
        for cmd in TABLES.iter().flat_map(|t| t.iter()) {
            let id = r.rows.len();
            r.rows.push(cmd);
            r.first_sub.push(0);
            r.by_name.insert(cmd.name.as_bytes(), id);
            if !cmd.subcommands.is_empty() {
                r.first_sub[id] = r.rows.len();
                for sub in cmd.subcommands {
                    r.rows.push(sub);
                    r.first_sub.push(0);
                }
            }
        }
        r
    })
}

/// Number of command ids (for per-command statistics).
pub fn count() -> usize {
    registry().rows.len()
}

/// Every row with its id, subcommands after their container.
pub fn all() -> impl Iterator<Item = (CmdId, &'static Command)> {
    registry().rows.iter().copied().enumerate()
}

/// Every top-level command.
pub fn top_level() -> impl Iterator<Item = &'static Command> {
    TABLES.iter().flat_map(|t| t.iter())
}

/// Finds a top-level command by name, ignoring case, without allocating.
pub fn lookup(name: &[u8]) -> Option<Resolved> {
    if name.len() > MAX_NAME {
        return None;
    }
    let mut buf = [0u8; MAX_NAME];
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    let r = registry();
    let id = *r.by_name.get(&buf[..name.len()])?;
    Some(Resolved {
        id,
        cmd: r.rows[id],
    })
}

/// Finds a command or subcommand by its full name (`config|get`), as COMMAND INFO takes.
pub fn lookup_full(name: &[u8]) -> Option<Resolved> {
    let Some(bar) = name.iter().position(|&b| b == b'|') else {
        return lookup(name);
    };
    sub_of(lookup(&name[..bar])?, &name[bar + 1..])
}

/// The subcommand `name` of `container`.
fn sub_of(container: Resolved, name: &[u8]) -> Option<Resolved> {
    let (i, cmd) = container.cmd.subcommand(name)?;
    Some(Resolved {
        id: registry().first_sub[container.id] + i,
        cmd,
    })
}

/// Finds what `args` call, subcommand included, with Redis's errors for an unknown
/// command or subcommand.
pub fn find(args: &Args) -> Result<Resolved, CmdError> {
    let found = lookup(args.get(0)).ok_or_else(|| unknown_command_error(args))?;
    if !found.cmd.subcommands.is_empty() && args.len() >= 2 {
        return sub_of(found, args.get(1)).ok_or_else(|| unknown_subcommand(args));
    }
    Ok(found)
}

/// `find`, then the arity check: Redis's checks before anything else.
pub fn resolve(args: &Args) -> Result<Resolved, CmdError> {
    let found = find(args)?;
    if !found.cmd.arity_ok(args.len()) {
        return Err(CmdError::Arity(found.cmd.name.to_string()));
    }
    Ok(found)
}

/// `s` cut at its first NUL byte and at `max` bytes, as C's `%.*s` prints it.
fn c_str_prefix(s: &[u8], max: usize) -> &[u8] {
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len()).min(max);
    &s[..end]
}

/// Redis's reply to an unknown command, echoing the first arguments (up to 128 bytes).
pub fn unknown_command_error(args: &Args) -> CmdError {
    let mut listed: Vec<u8> = Vec::new();
    for i in 1..args.len() {
        if listed.len() >= 128 {
            break;
        }
        let room = 128 - listed.len();
        listed.push(b'\'');
        listed.extend_from_slice(c_str_prefix(args.get(i), room));
        listed.extend_from_slice(b"' ");
    }
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend_from_slice(c_str_prefix(args.get(0), 128));
    msg.extend_from_slice(b"', with args beginning with: ");
    msg.extend_from_slice(&listed);
    CmdError::Bytes(msg)
}

/// Error for an unknown subcommand (`OBJECT FOO`).
pub fn unknown_subcommand(args: &Args) -> CmdError {
    let mut msg = b"ERR unknown subcommand '".to_vec();
    msg.extend_from_slice(c_str_prefix(args.get(1), 128));
    msg.extend_from_slice(b"'. Try ");
    msg.extend_from_slice(&args.get(0).to_ascii_uppercase());
    msg.extend_from_slice(b" HELP.");
    CmdError::Bytes(msg)
}

/// Replies with a HELP text: one simple string per line, as Redis does.
pub fn help(c: &mut Ctx, lines: &[&str]) -> crate::error::CmdResult {
    c.out.array(lines.len());
    for l in lines {
        c.out.simple(l);
    }
    Ok(())
}

/// Runs one command a client sent: resolves it, checks authentication, ACL permissions,
/// memory, the AOF's health and transaction state, then queues it (inside MULTI) or
/// executes it.
pub fn dispatch(
    eng: &mut Engine,
    clients: &mut dyn Clients,
    cl: &mut ClientState,
    out: &mut Vec<u8>,
    args: &Args,
) {
    let found = match find(args) {
        Ok(r) => r,
        Err(e) => {
            reject(eng, cl, out, &e);
            return;
        }
    };
    let cmd = found.cmd;
    if !cmd.arity_ok(args.len()) {
        let e = CmdError::Arity(cmd.name.to_string());
        return refuse(eng, clients, cl, out, found, args, &e);
    }
    if !cl.authenticated && cmd.flags & flags::NO_AUTH == 0 && !eng.acl.default_open() {
        let e = CmdError::Custom("NOAUTH Authentication required.".into());
        return refuse(eng, clients, cl, out, found, args, &e);
    }
    // One branch for a user that may run anything (the default user, usually).
    // The master's stream obeys no client rule (ACL, OOM, MISCONF): a replica that
    // refused a record would diverge silently, its offset moving on (Redis's
    // mustObeyClient).
    if !eng.acl.unrestricted(cl.user)
        && !cl.is_master
        && let Err(d) = acl::check(eng, cl.user, found, args)
    {
        // Redis names the refused command in the log's client info.
        cl.last_cmd = cmd.name;
        acl::log_command_denial(eng, cl, found, args, d);
        return refuse(eng, clients, cl, out, found, args, &acl::noperm(found, d));
    }
    if eng.config.maxmemory.bytes > 0 && !cl.is_master && !eng.evict() && refused_on_oom(cmd, cl) {
        let e = CmdError::Custom("OOM command not allowed when used memory > 'maxmemory'.".into());
        return refuse(eng, clients, cl, out, found, args, &e);
    }
    if let Some(r) = &eng.replica
        && !cl.is_master
    {
        // Redis checks READONLY first: a write to a replica whose link is down is a
        // READONLY error, not a MASTERDOWN one.
        if (cmd.is_write() || (cmd.flags & flags::EXEC != 0 && queued_any(cl, |c| c.is_write())))
            && eng.config.get("replica-read-only") != Some("no")
        {
            let e =
                CmdError::Custom("READONLY You can't write against a read only replica.".into());
            return refuse(eng, clients, cl, out, found, args, &e);
        }
        if !r.up()
            && cmd.flags & flags::STALE == 0
            && eng.config.get("replica-serve-stale-data") == Some("no")
        {
            let e = CmdError::Custom(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
                    .into(),
            );
            return refuse(eng, clients, cl, out, found, args, &e);
        }
    }
    if eng.config.min_replicas.0 > 0
        && eng.replica.is_none()
        && (cmd.is_write() || (cmd.flags & flags::EXEC != 0 && queued_any(cl, |c| c.is_write())))
        && eng.master.good_replicas(eng.config.min_replicas.1) < eng.config.min_replicas.0
    {
        let e = CmdError::Custom("NOREPLICAS Not enough good replicas to write.".into());
        return refuse(eng, clients, cl, out, found, args, &e);
    }
    if eng.aof.write_blocked() && !cl.is_master && denied_by_disk_error(cmd, cl) {
        let text = format!(
            "MISCONF Errors writing to the AOF file: {}",
            crate::aof::strerror_errno(eng.aof.write_errno)
        );
        return refuse(eng, clients, cl, out, found, args, &CmdError::Custom(text));
    }
    if cl.subs.active() && !cl.resp3 && !pubsub::allowed_when_subscribed(cmd) {
        let e = pubsub::subscribed_error(cmd);
        return refuse(eng, clients, cl, out, found, args, &e);
    }
    if let Some(m) = cl.multi.as_mut()
        && cmd.flags & flags::TX_CONTROL == 0
    {
        if cmd.flags & flags::NO_MULTI != 0 {
            m.aborted = true;
            eng.stats.total_error_replies += 1;
            Reply::new(out, cl.resp3).error_text("ERR Command not allowed inside a transaction");
            return;
        }
        m.queued.push(args.to_owned_cmd());
        out.extend_from_slice(crate::resp::reply::QUEUED);
        return;
    }
    execute(eng, clients, cl, out, found, args);
}

/// Over `maxmemory` with nothing left to evict, Redis refuses commands that may grow
/// memory (`denyoom`), an EXEC holding one, and anything a MULTI would queue (a queue
/// grows memory too) except the transaction's own controls.
fn refused_on_oom(cmd: &Command, cl: &ClientState) -> bool {
    if cmd.flags & flags::DENYOOM != 0 {
        return true;
    }
    if cl.multi.is_none() {
        return false;
    }
    if cmd.flags & flags::EXEC != 0 {
        return queued_any(cl, |c| c.flags & flags::DENYOOM != 0);
    }
    cmd.flags & flags::TX_CONTROL == 0
}

/// True if a command queued in the client's transaction is one `pred` picks (Redis keeps
/// the queued commands' flags for EXEC's checks).
fn queued_any(cl: &ClientState, pred: impl Fn(&Command) -> bool) -> bool {
    cl.multi.as_ref().is_some_and(|m| {
        m.queued.iter().any(|(buf, ranges)| {
            let a = Args { buf, ranges };
            resolve(&a).is_ok_and(|r| pred(r.cmd))
        })
    })
}

/// Redis refuses writes, PING, and an EXEC holding writes while the AOF cannot be
/// written.
fn denied_by_disk_error(cmd: &Command, cl: &ClientState) -> bool {
    if cmd.is_write() || cmd.flags & flags::DENY_ON_DISK_ERROR != 0 {
        return true;
    }
    cmd.flags & flags::EXEC != 0 && queued_any(cl, |c| c.is_write())
}

/// Redis's refusal of a command that was found but may not run (arity, authentication,
/// disk errors): counted as rejected, and inside MULTI it dooms the transaction. A refused
/// EXEC discards the transaction and says why with `-EXECABORT`, in or out of MULTI, as
/// Redis 7 does; the reason drops the `ERR` prefix, which Redis adds only to the texts
/// it formats (arity, subscribed mode): the others carry their own codes (NOAUTH, OOM...).
fn refuse(
    eng: &mut Engine,
    clients: &mut dyn Clients,
    cl: &mut ClientState,
    out: &mut Vec<u8>,
    found: Resolved,
    args: &Args,
    e: &CmdError,
) {
    eng.cmdstats[found.id].rejected += 1;
    if found.cmd.flags & flags::EXEC == 0 {
        return reject(eng, cl, out, e);
    }
    cl.multi = None;
    eng.unwatch_all(cl);
    eng.stats.total_error_replies += 1;
    let text = e.to_string();
    let reason = text.strip_prefix("ERR ").unwrap_or(&text);
    let msg = format!("EXECABORT Transaction discarded because of: {reason}");
    Reply::new(out, cl.resp3).error_text(&msg);
    feed_monitors(clients, cl, args);
}

/// An error reply before the command ran; inside MULTI it dooms the transaction.
fn reject(eng: &mut Engine, cl: &mut ClientState, out: &mut Vec<u8>, e: &CmdError) {
    if let Some(m) = cl.multi.as_mut() {
        m.aborted = true;
    }
    eng.stats.total_error_replies += 1;
    Reply::new(out, cl.resp3).error(e);
}

/// Runs one command whose checks passed: copies its keys for running snapshots, runs the
/// handler (replying with its error if it fails), hands its records to the write stream,
/// fails the transactions watching the keys it changed, counts it, feeds MONITOR.
pub fn execute(
    eng: &mut Engine,
    clients: &mut dyn Clients,
    cl: &mut ClientState,
    out: &mut Vec<u8>,
    found: Resolved,
    args: &Args,
) {
    let cmd = found.cmd;
    trace!("command {}", cmd.name);
    // Restored at the end: EXEC runs its queued commands through here too.
    let applying_before = std::mem::replace(&mut eng.applying_master, cl.is_master);
    let dirty_before = eng.dirty;
    let db = cl.db;
    let write = cmd.is_write();
    if eng.expiry_log {
        // Keys that expired outside a command (WATCH, a read) are recorded before this
        // command's records, which may recreate them.
        eng.drain_expired();
    }
    if write && eng.snapshots_active() {
        // Copy-before-write: running snapshots get these keys as they are now.
        cmd.for_each_key(args, &mut |pos, _| eng.before_write(db, args.get(pos)));
    }
    // Set before the call: CLIENT INFO/LIST show the command being run, as Redis does.
    cl.last_cmd = cmd.name;
    let resp3 = cl.resp3;
    let stream_before = eng.stream.mark();
    let result = {
        let mut ctx = Ctx {
            eng: &mut *eng,
            cl: &mut *cl,
            out: Reply::new(out, resp3),
            clients: &mut *clients,
        };
        let r = (cmd.handler)(&mut ctx, args);
        if let Err(e) = &r {
            ctx.out.error(e);
        }
        r
    };
    let changed = eng.dirty != dirty_before && write;
    // One branch while neither the write stream nor notifications are on.
    if eng.expiry_log {
        eng.drain_expired();
        if eng.stream.active()
            && eng.stream.commit(db, args.iter(), changed, eng.in_exec)
            && eng.aof.logging()
        {
            cl.aof_ack = eng.aof.batch_id;
        }
        if eng.notify.on() {
            if eng.notify.wants(crate::notify::class::NEW) {
                eng.drain_new();
            }
            if eng.notify.has_pending() {
                pubsub::publish_events(eng, clients, cl.id, &mut Reply::new(out, cl.resp3));
            }
        }
    }
    if eng.master.feeding() && eng.stream.mark() != stream_before {
        // Everything pending reaches the replicas next, so its end is this write's offset.
        cl.woff = eng.master.offset + eng.stream.pending().len() as u64;
    }
    let named = std::mem::take(&mut eng.touched_named);
    if changed && (!eng.watches.is_empty() || !eng.blocking.is_empty()) {
        // The keys the handler says it changed, else every key the command may write
        // (read-only keys, such as SUNIONSTORE's sources, are not touched: Redis's
        // signalModifiedKey names only what changed).
        if named {
            let keys = std::mem::take(&mut eng.touched);
            keys.iter().for_each(|k| eng.touch_key(db, k));
            eng.touched = keys;
        } else {
            cmd.for_each_key(args, &mut |pos, fl| {
                if fl & table::ks::RO == 0 {
                    eng.touch_key(db, args.get(pos));
                }
            });
        }
    }
    eng.touched.clear();
    let end = Instant::now();
    let st = &mut eng.cmdstats[found.id];
    st.calls += 1;
    st.usec += end.saturating_duration_since(eng.cmd_clock).as_micros() as u64;
    eng.cmd_clock = end;
    if result.is_err() {
        st.failed += 1;
        eng.stats.total_error_replies += 1;
    }
    eng.stats.commands_processed += 1;
    // Fed after the command ran, like Redis, so a SELECT shows the new database. Admin
    // commands are too dangerous to show (Redis hides them too).
    if cmd.flags & (flags::SKIP_MONITOR | flags::ADMIN) == 0 {
        feed_monitors(clients, cl, args);
    }
    eng.applying_master = applying_before;
}

/// Sends `args` to the MONITOR clients, if there are any. Commands flagged SKIP_MONITOR
/// that Redis still shows (EVAL and friends, fed before they run) call this themselves.
#[inline]
pub fn feed_monitors(clients: &mut dyn Clients, cl: &ClientState, args: &Args) {
    if clients.has_monitors() {
        clients.feed_monitors(&monitor_line(cl, args));
    }
}

/// Runs one command queued by MULTI, from inside EXEC.
pub fn call_queued(c: &mut Ctx, args: &Args) {
    // Checked when queued; resolved again to run it and name it in statistics.
    let Ok(found) = resolve(args) else {
        return;
    };
    // Checked again: the user's rules may have changed since it was queued.
    if !c.eng.acl.unrestricted(c.cl.user)
        && let Err(d) = acl::check(c.eng, c.cl.user, found, args)
    {
        acl::log_command_denial(c.eng, c.cl, found, args, d);
        c.eng.stats.total_error_replies += 1;
        c.out.error(&acl::noperm_in_exec(d));
        return;
    }
    execute(c.eng, c.clients, c.cl, c.out.buf, found, args);
}

/// A MONITOR line, formatted like Redis's: `+<unix.micro> [<db> <addr>] "arg" "arg"`.
fn monitor_line(cl: &ClientState, args: &Args) -> Vec<u8> {
    let us = unix_us();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        cl.db,
        cl.addr
    );
    for (i, a) in args.iter().enumerate() {
        line.push(' ');
        if redacted(args, i) {
            line.push_str("\"(redacted)\"");
        } else {
            repr_into(&mut line, a);
        }
    }
    line.push_str("\r\n");
    line.into_bytes()
}

/// Argument `i` is a secret MONITOR must not show, as Redis redacts them: AUTH's
/// username and password, HELLO's after AUTH. (ACL SETUSER, an admin command, is not
/// shown at all.)
fn redacted(args: &Args, i: usize) -> bool {
    if i == 0 {
        return false;
    }
    if args.is(0, "auth") {
        return true;
    }
    if !args.is(0, "hello") {
        return false;
    }
    // HELLO's options as its handler reads them: AUTH user pass, SETNAME name.
    let mut j = 2;
    while j < args.len() {
        if args.is(j, "auth") && j + 2 < args.len() {
            if i == j + 1 || i == j + 2 {
                return true;
            }
            j += 3;
        } else if args.is(j, "setname") {
            j += 2;
        } else {
            break;
        }
    }
    false
}

/// Appends `s` quoted and escaped the way Redis's `sdscatrepr` does.
pub fn repr_into(out: &mut String, s: &[u8]) {
    out.push('"');
    for &c in s {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_found_once_with_usage_and_summary() {
        let r = registry();
        let mut names = std::collections::HashSet::new();
        for (id, c) in all() {
            assert!(names.insert(c.name), "{} listed twice", c.name);
            assert!(!c.summary.is_empty(), "{} has no summary", c.name);
            let found = lookup_full(c.name.to_uppercase().as_bytes()).unwrap();
            assert_eq!(found.id, id);
            assert!(std::ptr::eq(found.cmd, c));
            for s in c.subcommands {
                assert_eq!(s.name, format!("{}|{}", c.name, s.short_name()));
            }
        }
        assert_eq!(r.by_name.len(), top_level().count());
    }

    #[test]
    fn legacy_ranges_fit_arity() {
        // A fixed-arity command's key positions must exist whenever the arity holds.
        for (_, c) in all() {
            let (first, last, _, _) = c.legacy_range();
            if c.arity > 0 && first > 0 {
                assert!(first < c.arity, "{}", c.name);
                assert!(last < c.arity, "{}", c.name);
            }
        }
    }
}
