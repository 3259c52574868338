//! CLIENT subcommands: ID, SETNAME, GETNAME, SETINFO, INFO, LIST, KILL, NO-EVICT, NO-TOUCH,
//! HELP. CLIENT LIST lines use Redis's field names so tools that parse them keep working.

use super::table::{Command, ROW, acl, flags::*};
use super::{Args, Ctx, help};
use crate::client::ClientState;
use crate::error::{CmdError, CmdResult};

const CLIENT: Command = Command {
    flags: NOSCRIPT | LOADING | STALE,
    acl: acl::CONNECTION,
    group: "connection",
    ..ROW
};
const ADMIN_CLIENT: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "client", arity: -2, flags: 0, acl: 0, summary: "Client connection commands.", subcommands: SUBCOMMANDS, ..CLIENT },
];

#[rustfmt::skip]
static SUBCOMMANDS: &[Command] = &[
    Command { name: "client|id", arity: 2, handler: id, summary: "Returns the connection's id.", ..CLIENT },
    Command { name: "client|getname", arity: 2, handler: getname, summary: "Returns the connection's name.", ..CLIENT },
    Command { name: "client|setname", arity: 3, handler: setname, usage: "connection-name", summary: "Names the connection.", ..CLIENT },
    Command { name: "client|setinfo", arity: 4, tips: &["request_policy:all_nodes", "response_policy:all_succeeded"], handler: setinfo, usage: "LIB-NAME libname | LIB-VER libver", summary: "Records the client library's name or version.", ..CLIENT },
    Command { name: "client|info", arity: 2, tips: &["nondeterministic_output"], handler: info, summary: "Describes the connection.", ..CLIENT },
    Command { name: "client|list", arity: -2, flags: ADMIN_CLIENT, tips: &["nondeterministic_output"], handler: list, usage: "[TYPE NORMAL | MASTER | REPLICA | PUBSUB] [ID client-id [client-id ...]]", summary: "Describes the connections.", ..CLIENT },
    Command { name: "client|kill", arity: -3, flags: ADMIN_CLIENT, handler: kill, usage: "ip:port | [ID client-id] [TYPE NORMAL | MASTER | SLAVE | REPLICA | PUBSUB] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME YES | NO]", summary: "Closes connections.", ..CLIENT },
    Command { name: "client|unblock", arity: -3, flags: ADMIN_CLIENT, handler: unblock, usage: "client-id [TIMEOUT | ERROR]", summary: "Ends another client's wait in a blocking command.", ..CLIENT },
    Command { name: "client|no-evict", arity: 3, flags: ADMIN_CLIENT, handler: on_off, usage: "ON | OFF", summary: "Exempts the connection from client eviction (accepted, no effect).", ..CLIENT },
    Command { name: "client|no-touch", arity: 3, handler: on_off, usage: "ON | OFF", summary: "Leaves keys' access times alone (accepted, no effect).", ..CLIENT },
    Command { name: "client|help", arity: 2, flags: LOADING | STALE, handler: client_help, summary: "Lists the CLIENT subcommands.", ..CLIENT },
];

/// Formats one CLIENT LIST / CLIENT INFO line (without the trailing newline), for a
/// client logged in as `user`. `qbuf` and `obl` are the unprocessed input and unsent
/// output bytes (0 for the caller, whose buffers are in use while it runs).
/// The class CLIENT LIST and CLIENT KILL filter by with TYPE: `master` for our
/// master's connection, `replica` (alias `slave`) for a replica's link, else `normal`
/// (no client is `pubsub` yet).
fn client_type(cl: &ClientState) -> &'static str {
    if cl.is_master {
        "master"
    } else if cl.replica {
        "replica"
    } else {
        "normal"
    }
}

pub fn client_line(cl: &ClientState, user: &[u8], qbuf: usize, obl: usize) -> String {
    let flags = if cl.monitor {
        "O"
    } else if cl.is_master {
        "M"
    } else if cl.replica {
        "S"
    } else if cl.blocked.is_some() {
        "b"
    } else if cl.multi.is_some() {
        "x"
    } else {
        "N"
    };
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi={} qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl={} oll=0 omem=0 tot-mem=0 events=r cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={}",
        cl.id,
        cl.addr,
        cl.laddr,
        cl.fd,
        String::from_utf8_lossy(&cl.name),
        cl.created.elapsed().as_secs(),
        cl.last_interaction.elapsed().as_secs(),
        flags,
        cl.db,
        cl.multi.as_ref().map_or(-1, |m| m.queued.len() as i64),
        qbuf,
        obl,
        cl.last_cmd,
        String::from_utf8_lossy(user),
        if cl.resp3 { 3 } else { 2 },
        String::from_utf8_lossy(&cl.lib_name),
        String::from_utf8_lossy(&cl.lib_ver),
    )
}

/// Client names and library info may not contain spaces or special characters.
fn valid_name(s: &[u8]) -> bool {
    s.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

/// CLIENT ID.
fn id(c: &mut Ctx, _a: &Args) -> CmdResult {
    c.out.int(c.cl.id as i64);
    Ok(())
}

/// CLIENT GETNAME.
fn getname(c: &mut Ctx, _a: &Args) -> CmdResult {
    if c.cl.name.is_empty() {
        c.out.null();
    } else {
        c.out.bulk(&c.cl.name);
    }
    Ok(())
}

/// CLIENT SETNAME name.
fn setname(c: &mut Ctx, a: &Args) -> CmdResult {
    let name = a.get(2);
    if !valid_name(name) {
        return Err(CmdError::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    c.cl.name = name.to_vec();
    c.out.ok();
    Ok(())
}

/// CLIENT SETINFO LIB-NAME|LIB-VER value.
fn setinfo(c: &mut Ctx, a: &Args) -> CmdResult {
    let v = a.get(3);
    let field = if a.is(2, "lib-name") {
        &mut c.cl.lib_name
    } else if a.is(2, "lib-ver") {
        &mut c.cl.lib_ver
    } else {
        return Err(CmdError::err(format!(
            "Unrecognized option '{}'",
            a.text(2)
        )));
    };
    if !valid_name(v) {
        return Err(CmdError::err(format!(
            "{} cannot contain spaces, newlines or special characters.",
            a.text(2).to_ascii_lowercase()
        )));
    }
    *field = v.to_vec();
    c.out.ok();
    Ok(())
}

/// CLIENT INFO.
fn info(c: &mut Ctx, _a: &Args) -> CmdResult {
    let mut line = client_line(c.cl, c.eng.acl.name(c.cl.user), 0, 0);
    line.push('\n');
    c.out.verbatim(line.as_bytes());
    Ok(())
}

/// CLIENT LIST [TYPE type] [ID id...].
fn list(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut ids: Option<Vec<u64>> = None;
    let mut kind: Option<String> = None;
    let mut i = 2;
    while i < a.len() {
        if a.is(i, "type") && i + 1 < a.len() {
            let t = a.text(i + 1).to_ascii_lowercase();
            if !matches!(
                t.as_str(),
                "normal" | "master" | "replica" | "slave" | "pubsub"
            ) {
                return Err(CmdError::err(format!(
                    "Unknown client type '{}'",
                    a.text(i + 1)
                )));
            }
            kind = Some(if t == "slave" { "replica".into() } else { t });
            i += 2;
        } else if a.is(i, "id") && i + 1 < a.len() {
            let mut v = Vec::new();
            for j in i + 1..a.len() {
                match crate::num::parse_i64(a.get(j)) {
                    Some(n) if n > 0 => v.push(n as u64),
                    _ => return Err(CmdError::err("Invalid client ID")),
                }
            }
            ids = Some(v);
            i = a.len();
        } else {
            return Err(CmdError::Syntax);
        }
    }
    // A set: CLIENT LIST ID with a million ids over thousands of clients was quadratic.
    let ids: Option<std::collections::HashSet<u64>> = ids.map(|v| v.into_iter().collect());
    let keep = |cl: &ClientState| {
        ids.as_ref().is_none_or(|v| v.contains(&cl.id))
            && kind.as_deref().is_none_or(|k| client_type(cl) == k)
    };
    let mut lines: Vec<(u64, String)> = Vec::new();
    let acl = &c.eng.acl;
    c.clients.each(&mut |cl, qbuf, obl| {
        if keep(cl) {
            lines.push((cl.id, client_line(cl, acl.name(cl.user), qbuf, obl)));
        }
    });
    if keep(c.cl) {
        lines.push((c.cl.id, client_line(c.cl, acl.name(c.cl.user), 0, 0)));
    }
    lines.sort_by_key(|(id, _)| *id);
    let mut text = String::new();
    for (_, l) in lines {
        text.push_str(&l);
        text.push('\n');
    }
    c.out.verbatim(text.as_bytes());
    Ok(())
}

/// CLIENT NO-EVICT / NO-TOUCH ON|OFF: accepted, nothing to change.
fn on_off(c: &mut Ctx, a: &Args) -> CmdResult {
    if !(a.is(2, "on") || a.is(2, "off")) {
        return Err(CmdError::Syntax);
    }
    c.out.ok();
    Ok(())
}

/// CLIENT HELP.
fn client_help(c: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        c,
        &[
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are: ID, ADDR, LADDR, TYPE, USER, SKIPME.",
            "LIST [options ...]",
            "    Return information about client connections. Options: TYPE, ID.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attributes: LIB-NAME, LIB-VER.",
            "HELP",
            "    Print this help.",
        ],
    )
}

/// CLIENT KILL addr | CLIENT KILL [ID id] [ADDR addr] [LADDR addr] [TYPE t] [USER u] [SKIPME yes/no].
/// CLIENT UNBLOCK client-id [TIMEOUT | ERROR] -> 1 if that client was waiting in a
/// blocking command (it gets the timeout reply, or `-UNBLOCKED`), else 0.
fn unblock(c: &mut Ctx, a: &Args) -> CmdResult {
    let id = crate::num::arg_i64(a.get(2))?;
    let error = match a.len() {
        3 => false,
        4 if a.is(3, "timeout") => false,
        4 if a.is(3, "error") => true,
        _ => {
            return Err(CmdError::err(
                "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ));
        }
    };
    let found = u64::try_from(id)
        .ok()
        .and_then(|id| c.clients.unblock(id, error).map(|b| (id, b)));
    match found {
        Some((id, b)) => {
            c.eng.blocking.remove(id, &b);
            c.out.int(1);
        }
        None => c.out.int(0),
    }
    Ok(())
}

fn kill(c: &mut Ctx, a: &Args) -> CmdResult {
    let old_form = a.len() == 3;
    let (mut id, mut addr, mut laddr, mut skipme) = (None, None, None, true);
    let mut user = None;
    let mut kind: Option<String> = None;
    if old_form {
        addr = Some(a.text(2));
        skipme = false;
    } else {
        let mut i = 2;
        while i < a.len() {
            if i + 1 >= a.len() {
                return Err(CmdError::Syntax);
            }
            let v = a.text(i + 1);
            if a.is(i, "id") {
                match crate::num::parse_i64(a.get(i + 1)) {
                    Some(n) if n > 0 => id = Some(n as u64),
                    _ => return Err(CmdError::err("client-id should be greater than 0")),
                }
            } else if a.is(i, "addr") {
                addr = Some(v);
            } else if a.is(i, "laddr") {
                laddr = Some(v);
            } else if a.is(i, "type") {
                let t = v.to_ascii_lowercase();
                if !matches!(
                    t.as_str(),
                    "normal" | "master" | "replica" | "slave" | "pubsub"
                ) {
                    return Err(CmdError::err(format!("Unknown client type '{v}'")));
                }
                kind = Some(if t == "slave" { "replica".into() } else { t });
            } else if a.is(i, "user") {
                match c.eng.acl.lookup(a.get(i + 1)) {
                    Some(r) => user = Some(r),
                    None => return Err(CmdError::err(format!("No such user '{v}'"))),
                }
            } else if a.is(i, "skipme") {
                skipme = match v.to_ascii_lowercase().as_str() {
                    "yes" => true,
                    "no" => false,
                    _ => return Err(CmdError::Syntax),
                };
            } else {
                return Err(CmdError::Syntax);
            }
            i += 2;
        }
    }
    let matches = |cl: &ClientState| {
        user.is_none_or(|u| u == cl.user)
            && kind.as_deref().is_none_or(|k| client_type(cl) == k)
            && id.is_none_or(|x| x == cl.id)
            && addr.as_ref().is_none_or(|x| *x == cl.addr)
            && laddr.as_ref().is_none_or(|x| *x == cl.laddr)
    };
    let mut killed = c.clients.kill(&matches);
    let me = !skipme && matches(c.cl);
    if me {
        c.cl.close_after_reply = true;
        killed += 1;
    }
    if old_form {
        if killed == 0 {
            return Err(CmdError::err("No such client"));
        }
        c.out.ok();
    } else {
        c.out.int(killed as i64);
    }
    Ok(())
}
