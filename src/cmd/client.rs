//! CLIENT subcommands: ID, SETNAME, GETNAME, SETINFO, INFO, LIST, KILL, NO-EVICT, NO-TOUCH,
//! HELP. CLIENT LIST lines use Redis's field names so tools that parse them keep working.

use super::{Args, Ctx, help, sub_arity, unknown_subcommand};
use crate::conn::ClientState;
use crate::error::{CmdError, CmdResult};

/// Formats one CLIENT LIST / CLIENT INFO line (without the trailing newline).
/// `qbuf` and `obl` are the unprocessed input and unsent output bytes (0 for the caller,
/// whose buffers are in use while it runs).
fn client_line(cl: &ClientState, qbuf: usize, obl: usize) -> String {
    let flags = if cl.monitor {
        "O"
    } else if cl.multi.is_some() {
        "x"
    } else {
        "N"
    };
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi={} qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl={} oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
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
        if cl.resp3 { 3 } else { 2 },
        String::from_utf8_lossy(&cl.lib_name),
        String::from_utf8_lossy(&cl.lib_ver),
    )
}

/// Client names and library info may not contain spaces or special characters.
fn valid_name(s: &[u8]) -> bool {
    s.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

/// CLIENT <subcommand> ...
pub fn client(c: &mut Ctx, a: &Args) -> CmdResult {
    let sub = a.text(1).to_ascii_lowercase();
    match sub.as_str() {
        "id" => {
            sub_arity(a, 2)?;
            c.out.int(c.cl.id as i64);
        }
        "getname" => {
            sub_arity(a, 2)?;
            if c.cl.name.is_empty() {
                c.out.null();
            } else {
                c.out.bulk(&c.cl.name);
            }
        }
        "setname" => {
            sub_arity(a, 3)?;
            let name = a.get(2);
            if !valid_name(name) {
                return Err(CmdError::err(
                    "Client names cannot contain spaces, newlines or special characters.",
                ));
            }
            c.cl.name = name.to_vec();
            c.out.ok();
        }
        "setinfo" => {
            sub_arity(a, 4)?;
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
        }
        "info" => {
            sub_arity(a, 2)?;
            let mut line = client_line(c.cl, 0, 0);
            line.push('\n');
            c.out.verbatim(line.as_bytes());
        }
        "list" => {
            let mut ids: Option<Vec<u64>> = None;
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
                    if t != "normal" {
                        ids = Some(vec![]);
                    }
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
            let keep = |id: u64| ids.as_ref().is_none_or(|v| v.contains(&id));
            let mut text = String::new();
            let mut lines: Vec<(u64, String)> = c
                .srv
                .other_clients()
                .filter(|(_, conn)| keep(conn.cl.id))
                .map(|(_, conn)| {
                    (
                        conn.cl.id,
                        client_line(&conn.cl, conn.rlen, conn.pending_out()),
                    )
                })
                .collect();
            if keep(c.cl.id) {
                lines.push((c.cl.id, client_line(c.cl, 0, 0)));
            }
            lines.sort_by_key(|(id, _)| *id);
            for (_, l) in lines {
                text.push_str(&l);
                text.push('\n');
            }
            c.out.verbatim(text.as_bytes());
        }
        "kill" => return kill(c, a),
        "no-evict" | "no-touch" => {
            sub_arity(a, 3)?;
            if !(a.is(2, "on") || a.is(2, "off")) {
                return Err(CmdError::Syntax);
            }
            c.out.ok();
        }
        "help" => {
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
            )?;
        }
        _ => return Err(unknown_subcommand(a, "CLIENT")),
    }
    Ok(())
}

/// CLIENT KILL addr | CLIENT KILL [ID id] [ADDR addr] [LADDR addr] [TYPE t] [USER u] [SKIPME yes/no].
fn kill(c: &mut Ctx, a: &Args) -> CmdResult {
    sub_arity(a, -3)?;
    let old_form = a.len() == 3;
    let (mut id, mut addr, mut laddr, mut skipme) = (None, None, None, true);
    let mut user_ok = true;
    let mut type_ok = true;
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
                type_ok = t == "normal";
            } else if a.is(i, "user") {
                user_ok = v == "default";
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
        user_ok
            && type_ok
            && id.is_none_or(|x| x == cl.id)
            && addr.as_ref().is_none_or(|x| *x == cl.addr)
            && laddr.as_ref().is_none_or(|x| *x == cl.laddr)
    };
    let victims: Vec<usize> = c
        .srv
        .other_clients()
        .filter(|(_, conn)| matches(&conn.cl))
        .map(|(slot, _)| slot)
        .collect();
    let mut killed = victims.len();
    for slot in victims {
        if let Some(Some(conn)) = c.srv.conns.get_mut(slot) {
            conn.kill = true;
        }
        c.srv.close(slot);
    }
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
