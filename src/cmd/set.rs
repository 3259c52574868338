//! Set commands. FOUNDATION: only SCARD so far; issue 12 adds the rest here, rows
//! beside their handlers.

use super::table::{Command, KeySpec, ROW, acl, flags::*, ks::*};
use super::{Args, Ctx};
use crate::error::CmdResult;
use crate::types::Set;

const ROW_SET: Command = Command {
    acl: acl::SET,
    group: "set",
    ..ROW
};

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "scard", arity: 2, flags: READONLY | FAST, keys: &[KeySpec::one(RO)], handler: scard, usage: "key", summary: "Returns the number of members in a set.", ..ROW_SET },
];

/// SCARD key -> number of elements (0 for a missing key).
pub fn scard(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let n = db.read::<Set>(a.get(1))?.map_or(0, |x| x.len());
    out.int(n as i64);
    Ok(())
}
