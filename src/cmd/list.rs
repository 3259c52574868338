//! List commands. FOUNDATION: only LLEN so far; issue 12 adds the rest here, rows
//! beside their handlers.

use super::table::{Command, KeySpec, ROW, acl, flags::*, ks::*};
use super::{Args, Ctx};
use crate::error::CmdResult;
use crate::types::List;

const ROW_LIST: Command = Command {
    acl: acl::LIST,
    group: "list",
    ..ROW
};

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "llen", arity: 2, flags: READONLY | FAST, keys: &[KeySpec::one(RO)], handler: llen, usage: "key", summary: "Returns the length of a list.", ..ROW_LIST },
];

/// LLEN key -> number of elements (0 for a missing key).
pub fn llen(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let n = db.read::<List>(a.get(1))?.map_or(0, |x| x.len());
    out.int(n as i64);
    Ok(())
}
