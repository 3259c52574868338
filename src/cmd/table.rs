//! The shape of a command table row, and what is derived from it.
//!
//! Each `cmd/<type>.rs` declares its rows next to its handlers (`COMMANDS`), so a new
//! command touches one file. A row says everything about its command in one place: name,
//! arity, flags, ACL categories, key specifications, usage line, summary, handler, and its
//! subcommands as rows of their own. COMMAND INFO / DOCS / GETKEYS, WATCH, the snapshot's
//! copy-before-write and the ACL rules all read the rows, never a second list.
//!
//! Key specifications follow Redis 7's model: where the search for keys begins (an argument
//! index, or after a keyword) and how keys are found from there (a range, or a count
//! argument followed by that many keys), with flags saying how each key is accessed. That
//! describes commands with a `numkeys` argument (ZUNIONSTORE, EVAL); the few whose keys
//! cannot be described (SORT ... STORE, SET's flags that depend on GET) add a keys
//! function. Redis's legacy first/last/step triple and the `movablekeys` flag are derived
//! from the specs, as Redis derives them, so they cannot disagree.

use super::{Args, Ctx};
use crate::error::CmdResult;

/// A command handler: reads `args` (args[0] is the name), writes one reply to `c.out`.
pub type Handler = fn(&mut Ctx, &Args) -> CmdResult;

/// Finds the keys of a command its key specs cannot describe: calls `key(position,
/// key-spec flags)` for each; false if the arguments are invalid.
pub type KeysFn = fn(&Args, &mut dyn FnMut(usize, u32)) -> bool;

/// Command flags, with the names COMMAND INFO reports, in Redis's order.
pub mod flags {
    pub const WRITE: u32 = 1;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 14;
    pub const NO_ASYNC_LOADING: u32 = 1 << 15;
    pub const NO_MULTI: u32 = 1 << 16;
    /// Derived from the key specs, never set in a row (see `Command::flags_reported`).
    pub const MOVABLE_KEYS: u32 = 1 << 17;
    pub const ALLOW_BUSY: u32 = 1 << 18;

    // ferrokv's own flags: not Redis names, never reported.
    /// Runs at once inside MULTI instead of being queued (EXEC, DISCARD, WATCH...).
    pub const TX_CONTROL: u32 = 1 << 24;
    /// Refused like a write while the AOF cannot be written (Redis does so for PING).
    pub const DENY_ON_DISK_ERROR: u32 = 1 << 25;
    /// EXEC: refused while the AOF cannot be written if its transaction holds a write,
    /// and such a refusal discards the transaction.
    pub const EXEC: u32 = 1 << 26;

    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (MOVABLE_KEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// ACL categories, in the order Redis lists them. A row names the ones its flags do not
/// imply (the type, @keyspace, @dangerous, @connection...); `Command::categories` adds
/// @write, @read, @admin, @fast, @slow, @blocking and @pubsub from the flags, as Redis does.
pub mod acl {
    pub const KEYSPACE: u32 = 1;
    pub const READ: u32 = 1 << 1;
    pub const WRITE: u32 = 1 << 2;
    pub const SET: u32 = 1 << 3;
    pub const SORTEDSET: u32 = 1 << 4;
    pub const LIST: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const STRING: u32 = 1 << 7;
    pub const BITMAP: u32 = 1 << 8;
    pub const HYPERLOGLOG: u32 = 1 << 9;
    pub const GEO: u32 = 1 << 10;
    pub const STREAM: u32 = 1 << 11;
    pub const PUBSUB: u32 = 1 << 12;
    pub const ADMIN: u32 = 1 << 13;
    pub const FAST: u32 = 1 << 14;
    pub const SLOW: u32 = 1 << 15;
    pub const BLOCKING: u32 = 1 << 16;
    pub const DANGEROUS: u32 = 1 << 17;
    pub const CONNECTION: u32 = 1 << 18;
    pub const TRANSACTION: u32 = 1 << 19;
    pub const SCRIPTING: u32 = 1 << 20;

    pub const NAMES: &[(u32, &str)] = &[
        (KEYSPACE, "keyspace"),
        (READ, "read"),
        (WRITE, "write"),
        (SET, "set"),
        (SORTEDSET, "sortedset"),
        (LIST, "list"),
        (HASH, "hash"),
        (STRING, "string"),
        (BITMAP, "bitmap"),
        (HYPERLOGLOG, "hyperloglog"),
        (GEO, "geo"),
        (STREAM, "stream"),
        (PUBSUB, "pubsub"),
        (ADMIN, "admin"),
        (FAST, "fast"),
        (SLOW, "slow"),
        (BLOCKING, "blocking"),
        (DANGEROUS, "dangerous"),
        (CONNECTION, "connection"),
        (TRANSACTION, "transaction"),
        (SCRIPTING, "scripting"),
    ];
}

/// Key-spec flags: how a command uses a key, in Redis's names and order.
pub mod ks {
    /// Read-only.
    pub const RO: u32 = 1;
    /// Read-write: the value is read and modified.
    pub const RW: u32 = 1 << 1;
    /// Overwrite: the old value is not read.
    pub const OW: u32 = 1 << 2;
    /// Removed.
    pub const RM: u32 = 1 << 3;
    /// User data is returned.
    pub const ACCESS: u32 = 1 << 4;
    pub const UPDATE: u32 = 1 << 5;
    pub const INSERT: u32 = 1 << 6;
    pub const DELETE: u32 = 1 << 7;
    /// Not a key (a channel): skipped by key extraction.
    pub const NOT_KEY: u32 = 1 << 8;
    /// The spec may miss keys: a keys function finds them.
    pub const INCOMPLETE: u32 = 1 << 9;
    /// The flags depend on the arguments: a keys function tells them.
    pub const VARIABLE_FLAGS: u32 = 1 << 10;

    pub const NAMES: &[(u32, &str)] = &[
        (RO, "RO"),
        (RW, "RW"),
        (OW, "OW"),
        (RM, "RM"),
        (ACCESS, "access"),
        (UPDATE, "update"),
        (INSERT, "insert"),
        (DELETE, "delete"),
        (NOT_KEY, "not_key"),
        (INCOMPLETE, "incomplete"),
        (VARIABLE_FLAGS, "variable_flags"),
    ];
}

/// Where the search for a key spec's keys begins. (No row of today's types needs a keyword
/// or an unknown search; SORT's STORE and the other types' commands will.)
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)]
pub enum BeginSearch {
    /// At this argument.
    Index(i32),
    /// After this keyword, searched from `startfrom` (negative: from the end, backwards).
    Keyword {
        keyword: &'static str,
        startfrom: i32,
    },
    /// Cannot be told from the arguments (the command has a keys function).
    Unknown,
}

/// How the keys are found from where the search began.
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)]
pub enum FindKeys {
    /// Keys up to `lastkey` (relative to the beginning; negative: from the end), every
    /// `step`; with `limit` > 0 and `lastkey` -1, only 1/limit of the remaining arguments.
    Range {
        lastkey: i32,
        step: i32,
        limit: i32,
    },
    /// The argument at `keynumidx` says how many keys follow, starting at `firstkey`.
    KeyNum {
        keynumidx: i32,
        firstkey: i32,
        step: i32,
    },
    Unknown,
}

/// One key specification.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    pub flags: u32,
    pub begin: BeginSearch,
    pub find: FindKeys,
}

impl KeySpec {
    /// The key at argument 1, the common case.
    pub const fn one(flags: u32) -> KeySpec {
        KeySpec::at(1, flags)
    }

    /// One key at argument `index`.
    pub const fn at(index: i32, flags: u32) -> KeySpec {
        KeySpec::range(index, 0, 1, flags)
    }

    /// Keys from argument `index` to `lastkey` (see `FindKeys::Range`), every `step`.
    pub const fn range(index: i32, lastkey: i32, step: i32, flags: u32) -> KeySpec {
        KeySpec {
            flags,
            begin: BeginSearch::Index(index),
            find: FindKeys::Range {
                lastkey,
                step,
                limit: 0,
            },
        }
    }

    /// A count at `index + keynumidx`, then that many keys from `index + firstkey`.
    pub const fn keynum(
        index: i32,
        keynumidx: i32,
        firstkey: i32,
        step: i32,
        flags: u32,
    ) -> KeySpec {
        KeySpec {
            flags,
            begin: BeginSearch::Index(index),
            find: FindKeys::KeyNum {
                keynumidx,
                firstkey,
                step,
            },
        }
    }

    /// The keys of this spec in `args`, as (first, last, step) positions; None if the
    /// arguments do not fit it (a count out of range, a missing keyword...).
    fn locate(&self, args: &Args) -> Option<(usize, usize, usize)> {
        let argc = args.len() as i64;
        let first: i64 = match self.begin {
            BeginSearch::Index(i) => i as i64,
            BeginSearch::Keyword { keyword, startfrom } => {
                let (start, forward) = if startfrom > 0 {
                    (startfrom as i64, true)
                } else {
                    (argc + startfrom as i64, false)
                };
                let mut i = start;
                let mut found = None;
                while i >= 1 && i < argc {
                    if args.is(i as usize, keyword) {
                        found = Some(i + 1);
                        break;
                    }
                    i += if forward { 1 } else { -1 };
                }
                found?
            }
            BeginSearch::Unknown => return None,
        };
        let (first, last, step) = match self.find {
            FindKeys::Range {
                lastkey,
                step,
                limit,
            } => {
                let last = if lastkey >= 0 {
                    first + lastkey as i64
                } else if limit == 0 {
                    argc + lastkey as i64
                } else {
                    first + ((argc - first) / limit as i64 + lastkey as i64)
                };
                (first, last, step)
            }
            FindKeys::KeyNum {
                keynumidx,
                firstkey,
                step,
            } => {
                let at = first + keynumidx as i64;
                if at >= argc {
                    return None;
                }
                let n = crate::num::parse_i64(args.get(at as usize)).filter(|n| *n >= 0)?;
                let first = first + firstkey as i64;
                (first, first.checked_add(n)? - 1, step)
            }
            FindKeys::Unknown => return None,
        };
        if first >= argc || last >= argc || last < first || step < 1 {
            return None;
        }
        Some((first as usize, last as usize, step as usize))
    }
}

/// One row of a command table.
pub struct Command {
    /// Lowercase; a subcommand's is `container|sub`, the name Redis reports.
    pub name: &'static str,
    /// Exact argument count including the name if positive, minimum if negative.
    pub arity: i32,
    pub flags: u32,
    /// ACL categories beyond the ones the flags imply.
    pub acl: u32,
    pub keys: &'static [KeySpec],
    /// For keys the specs cannot describe (see `KeysFn`).
    pub keys_fn: Option<KeysFn>,
    /// Redis's command tips (`nondeterministic_output`, `request_policy:...`).
    pub tips: &'static [&'static str],
    /// COMMAND DOCS group.
    pub group: &'static str,
    /// Arguments, in the grammar of `docs.rs` (`key field value [field value ...]`).
    pub usage: &'static str,
    /// ferrokv's own one-line description.
    pub summary: &'static str,
    pub handler: Handler,
    pub subcommands: &'static [Command],
}

fn no_handler(_c: &mut Ctx, a: &Args) -> CmdResult {
    Err(super::unknown_subcommand(a))
}

/// Defaults for the fields most rows leave alone: `Command { ..ROW }`.
pub const ROW: Command = Command {
    name: "",
    arity: 0,
    flags: 0,
    acl: 0,
    keys: &[],
    keys_fn: None,
    tips: &[],
    group: "",
    usage: "",
    summary: "",
    handler: no_handler,
    subcommands: &[],
};

impl Command {
    /// True if `n` arguments (name included) satisfy the arity.
    #[inline]
    pub fn arity_ok(&self, n: usize) -> bool {
        if self.arity >= 0 {
            n == self.arity as usize
        } else {
            n >= (-self.arity) as usize
        }
    }

    #[inline]
    pub fn is_write(&self) -> bool {
        self.flags & flags::WRITE != 0
    }

    /// The name after `container|`, as typed by clients.
    pub fn short_name(&self) -> &'static str {
        self.name.rsplit('|').next().unwrap_or(self.name)
    }

    /// The subcommand named `name` (any case), with its position.
    pub fn subcommand(&self, name: &[u8]) -> Option<(usize, &'static Command)> {
        self.subcommands
            .iter()
            .enumerate()
            .find(|(_, s)| s.short_name().as_bytes().eq_ignore_ascii_case(name))
    }

    /// The categories COMMAND INFO reports: the row's, plus the ones its flags imply.
    pub fn categories(&self) -> u32 {
        let f = self.flags;
        let mut c = self.acl;
        if f & flags::WRITE != 0 {
            c |= acl::WRITE;
        }
        if f & flags::READONLY != 0 && c & acl::SCRIPTING == 0 {
            c |= acl::READ;
        }
        if f & flags::ADMIN != 0 {
            c |= acl::ADMIN | acl::DANGEROUS;
        }
        if f & flags::PUBSUB != 0 {
            c |= acl::PUBSUB;
        }
        if f & flags::FAST != 0 {
            c |= acl::FAST;
        }
        if f & flags::BLOCKING != 0 {
            c |= acl::BLOCKING;
        }
        if f & flags::FAST == 0 {
            c |= acl::SLOW;
        }
        c
    }

    /// Redis's legacy (first key, last key, step) triple and whether the keys are
    /// "movable" (cannot be told from that triple): the key specs that are plain ranges
    /// with step 1, each right after the previous one, merged into one. A keys function
    /// alone does not make keys movable (SET's only refines flags), an incomplete spec does.
    pub fn legacy_range(&self) -> (i32, i32, i32, bool) {
        let mut movable = false;
        let (mut first, mut last, mut prev_last) = (i32::MAX, 0i32, 0i32);
        if let [spec] = self.keys
            && let (BeginSearch::Index(i), FindKeys::Range { lastkey, step, .. }) =
                (spec.begin, spec.find)
        {
            let movable = movable || spec.flags & ks::INCOMPLETE != 0;
            return (
                i,
                if lastkey < 0 { lastkey } else { i + lastkey },
                step,
                movable,
            );
        }
        for spec in self.keys {
            let (BeginSearch::Index(i), FindKeys::Range { lastkey, step, .. }) =
                (spec.begin, spec.find)
            else {
                movable = true;
                continue;
            };
            if step != 1 || (prev_last != 0 && prev_last != i - 1) {
                movable = true;
                continue;
            }
            if spec.flags & ks::INCOMPLETE != 0 {
                movable = true;
            }
            first = first.min(i);
            let abs = if lastkey >= 0 { i + lastkey } else { lastkey };
            // Compared as unsigned: "to the end" (negative) wins over any index.
            last = (last as u32).max(abs as u32) as i32;
            prev_last = last;
        }
        if first == i32::MAX {
            return (0, 0, 0, !self.keys.is_empty());
        }
        (first, last, 1, movable)
    }

    /// The flags COMMAND INFO reports: the row's Redis flags, plus `movablekeys`.
    pub fn flags_reported(&self) -> u32 {
        let mut f = self.flags & !(flags::TX_CONTROL | flags::DENY_ON_DISK_ERROR | flags::EXEC);
        if self.legacy_range().3 {
            f |= flags::MOVABLE_KEYS;
        }
        f
    }

    /// The command may have key arguments.
    pub fn has_keys(&self) -> bool {
        self.keys_fn.is_some() || self.keys.iter().any(|k| k.flags & ks::NOT_KEY == 0)
    }

    /// Calls `key(position, flags)` for every key of this command in `args`, the way
    /// Redis's COMMAND GETKEYS finds them: from the key specs when they are complete and
    /// their flags fixed, else from the keys function. Returns how many keys there were;
    /// 0 also when the arguments do not fit the specs. Nothing is allocated: WATCH and
    /// copy-before-write call this on every write while they are in use.
    pub fn for_each_key(&self, args: &Args, key: &mut dyn FnMut(usize, u32)) -> usize {
        let usable = !self.keys.is_empty()
            && self
                .keys
                .iter()
                .all(|k| k.flags & (ks::INCOMPLETE | ks::VARIABLE_FLAGS) == 0);
        if usable && let Some(n) = self.spec_keys(args, key) {
            return n;
        }
        let Some(f) = self.keys_fn else {
            return 0;
        };
        let mut n = 0;
        let ok = f(args, &mut |pos, fl| {
            n += 1;
            key(pos, fl)
        });
        if ok { n } else { 0 }
    }

    /// Keys from the specs, or None if the arguments do not fit one of them. Checked
    /// before anything is reported, so a failure reports nothing.
    fn spec_keys(&self, args: &Args, key: &mut dyn FnMut(usize, u32)) -> Option<usize> {
        for spec in self.keys {
            if spec.flags & ks::NOT_KEY == 0 {
                spec.locate(args)?;
            }
        }
        let mut n = 0;
        for spec in self.keys {
            if spec.flags & ks::NOT_KEY != 0 {
                continue;
            }
            let (first, last, step) = spec.locate(args)?;
            for pos in (first..=last).step_by(step) {
                key(pos, spec.flags);
                n += 1;
            }
        }
        Some(n)
    }
}

/// Names of the bits set in `bits`, in the table's order.
pub fn names(
    bits: u32,
    table: &'static [(u32, &'static str)],
) -> impl Iterator<Item = &'static str> + Clone {
    table
        .iter()
        .filter(move |(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_of(cmd: &Command, words: &[&str]) -> Vec<String> {
        let (buf, ranges) = crate::resp::args::owned(words);
        let a = Args {
            buf: &buf,
            ranges: &ranges,
        };
        let mut out = Vec::new();
        cmd.for_each_key(&a, &mut |pos, _| out.push(words[pos].to_string()));
        out
    }

    const MSET_KEYS: &[KeySpec] = &[KeySpec::range(1, -1, 2, ks::OW | ks::UPDATE)];
    const COPY_KEYS: &[KeySpec] = &[
        KeySpec::one(ks::RO | ks::ACCESS),
        KeySpec::at(2, ks::OW | ks::UPDATE),
    ];
    const EVAL_KEYS: &[KeySpec] = &[KeySpec::keynum(2, 0, 1, 1, ks::RW)];
    const STORE_KEYS: &[KeySpec] = &[
        KeySpec::one(ks::RO),
        KeySpec {
            flags: ks::OW,
            begin: BeginSearch::Keyword {
                keyword: "STORE",
                startfrom: -1,
            },
            find: FindKeys::Range {
                lastkey: 0,
                step: 1,
                limit: 0,
            },
        },
    ];

    #[test]
    fn keys_legacy_ranges_and_movable() {
        let mset = Command {
            keys: MSET_KEYS,
            ..ROW
        };
        assert_eq!(keys_of(&mset, &["mset", "a", "1", "b", "2"]), ["a", "b"]);
        assert_eq!(mset.legacy_range(), (1, -1, 2, false));
        let copy = Command {
            keys: COPY_KEYS,
            ..ROW
        };
        assert_eq!(keys_of(&copy, &["copy", "a", "b", "db", "1"]), ["a", "b"]);
        assert_eq!(copy.legacy_range(), (1, 2, 1, false));
        let eval = Command {
            keys: EVAL_KEYS,
            ..ROW
        };
        assert_eq!(
            keys_of(&eval, &["eval", "s", "2", "k1", "k2", "x"]),
            ["k1", "k2"]
        );
        assert!(keys_of(&eval, &["eval", "s", "0"]).is_empty());
        assert!(keys_of(&eval, &["eval", "s", "3", "k1"]).is_empty());
        assert!(keys_of(&eval, &["eval", "s", "-1"]).is_empty());
        assert_eq!(eval.legacy_range(), (0, 0, 0, true));
        assert!(eval.flags_reported() & flags::MOVABLE_KEYS != 0);
        let sort = Command {
            keys: STORE_KEYS,
            ..ROW
        };
        assert_eq!(
            keys_of(&sort, &["sort", "l", "LIMIT", "0", "1", "store", "dst"]),
            ["l", "dst"]
        );
        assert!(keys_of(&sort, &["sort", "l"]).is_empty());
        assert_eq!(sort.legacy_range(), (1, 1, 1, true));
    }

    #[test]
    fn implied_categories() {
        let c = Command {
            flags: flags::WRITE | flags::FAST,
            acl: acl::HASH,
            ..ROW
        };
        let got: Vec<_> = names(c.categories(), acl::NAMES).collect();
        assert_eq!(got, ["write", "hash", "fast"]);
        let c = Command {
            flags: flags::ADMIN | flags::NOSCRIPT,
            ..ROW
        };
        let got: Vec<_> = names(c.categories(), acl::NAMES).collect();
        assert_eq!(got, ["admin", "slow", "dangerous"]);
    }
}
