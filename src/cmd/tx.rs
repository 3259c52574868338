//! Transactions: MULTI queues commands, EXEC runs them back to back (nothing else runs in
//! between: the loop is single-threaded), DISCARD drops them. WATCH makes EXEC fail if a
//! watched key was modified by anyone after the WATCH.

use super::{Args, Ctx};
use crate::conn::MultiState;
use crate::error::{CmdError, CmdResult};

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
    c.srv.unwatch_all(c.slot, c.cl);
    c.out.ok();
    Ok(())
}

/// EXEC: runs the queue and replies with an array of their replies, or null if a watched
/// key changed, or EXECABORT if queuing failed.
pub fn exec(c: &mut Ctx, _a: &Args) -> CmdResult {
    let Some(m) = c.cl.multi.take() else {
        return Err(CmdError::err("EXEC without MULTI"));
    };
    let dirty = c.srv.is_cas_dirty(c.slot, c.cl);
    c.srv.unwatch_all(c.slot, c.cl);
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
    let (mark, records) = (c.srv.aof.mark(), c.srv.aof.records);
    for (buf, ranges) in &m.queued {
        let args = Args { buf, ranges };
        crate::server::call_queued(c, &args);
    }
    c.srv.aof.wrap_multi(mark, records);
    Ok(())
}

/// WATCH key [key ...].
pub fn watch(c: &mut Ctx, a: &Args) -> CmdResult {
    if c.cl.multi.is_some() {
        return Err(CmdError::err("WATCH inside MULTI is not allowed"));
    }
    for k in a.iter().skip(1) {
        c.srv.watch(c.slot, c.cl, k);
    }
    c.out.ok();
    Ok(())
}

/// UNWATCH.
pub fn unwatch(c: &mut Ctx, _a: &Args) -> CmdResult {
    c.srv.unwatch_all(c.slot, c.cl);
    c.out.ok();
    Ok(())
}
