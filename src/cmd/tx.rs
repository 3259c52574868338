//! Transactions: MULTI queues commands, EXEC runs them back to back (nothing else runs in
//! between: the loop is single-threaded), DISCARD drops them. WATCH makes EXEC fail if a
//! watched key was modified by anyone after the WATCH.

use super::table::{Command, KeySpec, ROW, acl, flags::*, ks::*};
use super::{Args, Ctx};
use crate::client::MultiState;
use crate::error::{CmdError, CmdResult};

const TX: Command = Command {
    acl: acl::TRANSACTION,
    group: "transactions",
    ..ROW
};
/// The flags of the commands that only touch the client's transaction state.
const CONTROL: u32 = NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY;

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "multi", arity: 1, flags: CONTROL | TX_CONTROL, handler: multi, summary: "Starts a transaction.", ..TX },
    Command { name: "exec", arity: 1, flags: NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG | TX_CONTROL | EXEC, handler: exec, summary: "Runs the queued commands.", ..TX },
    Command { name: "discard", arity: 1, flags: CONTROL | TX_CONTROL, handler: discard, summary: "Drops the queued commands.", ..TX },
    Command { name: "watch", arity: -2, flags: CONTROL | TX_CONTROL, keys: &[KeySpec::range(1, -1, 1, RO)], handler: watch, usage: "key [key ...]", summary: "Watches keys for a transaction.", ..TX },
    Command { name: "unwatch", arity: 1, flags: CONTROL, handler: unwatch, summary: "Forgets watched keys.", ..TX },
];

/// MULTI.
pub fn multi(c: &mut Ctx, _a: &Args) -> CmdResult {
    if c.cl.multi.is_some() {
        return Err(CmdError::err("MULTI calls can not be nested"));
    }
    c.cl.multi = Some(MultiState::default());
    c.out.ok();
    Ok(())
}

/// DISCARD.
pub fn discard(c: &mut Ctx, _a: &Args) -> CmdResult {
    if c.cl.multi.take().is_none() {
        return Err(CmdError::err("DISCARD without MULTI"));
    }
    c.eng.unwatch_all(c.cl);
    c.out.ok();
    Ok(())
}

/// EXEC: runs the queue and replies with an array of their replies, or null if a watched
/// key changed, or EXECABORT if queuing failed.
pub fn exec(c: &mut Ctx, _a: &Args) -> CmdResult {
    let Some(m) = c.cl.multi.take() else {
        return Err(CmdError::err("EXEC without MULTI"));
    };
    let dirty = c.eng.is_cas_dirty(c.cl);
    c.eng.unwatch_all(c.cl);
    if m.aborted {
        return Err(CmdError::Custom(
            "EXECABORT Transaction discarded because of previous errors.".into(),
        ));
    }
    if dirty {
        c.out.null_array();
        return Ok(());
    }
    c.out.array(m.queued.len());
    // The transaction's records are wrapped in MULTI/EXEC once, in the write stream.
    let mark = c.eng.stream.mark();
    c.eng.in_exec = true;
    for (buf, ranges) in &m.queued {
        let args = Args { buf, ranges };
        super::call_queued(c, &args);
    }
    c.eng.in_exec = false;
    c.eng.stream.wrap_multi(mark);
    Ok(())
}

/// WATCH key [key ...].
pub fn watch(c: &mut Ctx, a: &Args) -> CmdResult {
    if c.cl.multi.is_some() {
        return Err(CmdError::err("WATCH inside MULTI is not allowed"));
    }
    for k in a.iter().skip(1) {
        c.eng.watch(c.cl, k);
    }
    c.out.ok();
    Ok(())
}

/// UNWATCH.
pub fn unwatch(c: &mut Ctx, _a: &Args) -> CmdResult {
    c.eng.unwatch_all(c.cl);
    c.out.ok();
    Ok(())
}
