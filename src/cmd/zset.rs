//! ZSet commands. FOUNDATION: only ZCARD so far; issue 12 adds the rest here, rows
//! beside their handlers.

use super::table::{Command, KeySpec, ROW, acl, flags::*, ks::*};
use super::{Args, Ctx};
use crate::error::CmdResult;
use crate::types::ZSet;

const ROW_SORTEDSET: Command = Command {
    acl: acl::SORTEDSET,
    group: "sorted_set",
    ..ROW
};

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "zcard", arity: 2, flags: READONLY | FAST, keys: &[KeySpec::one(RO)], handler: zcard, usage: "key", summary: "Returns the number of members in a sorted set.", ..ROW_SORTEDSET },
];

/// ZCARD key -> number of elements (0 for a missing key).
pub fn zcard(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let n = db.read::<ZSet>(a.get(1))?.map_or(0, |x| x.len());
    out.int(n as i64);
    Ok(())
}
