//! The command table and dispatch.
//!
//! Each command is a row: name, arity, flags, key positions and handler. Dispatch lowercases
//! the name into a stack buffer and looks it up in a map built once at startup, so finding a
//! command allocates nothing. The `write` flag plus the server's dirty counter tell what
//! changed data: that drives WATCH invalidation now and the append-only file later.

pub mod client;
pub mod debug;
pub mod docs;
pub mod hash;
pub mod hash_ttl;
pub mod keys;
pub mod server;
pub mod string;
pub mod tx;

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::error::{CmdError, CmdResult};
use crate::keyspace::{Db, Entry, KsStats};
use crate::resp::reply::Reply;
use crate::server::Server;
use crate::types::{Hash, Str, Value};

/// Command flags (the names COMMAND INFO reports).
pub mod flags {
    pub const WRITE: u32 = 1;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const NOSCRIPT: u32 = 1 << 4;
    pub const LOADING: u32 = 1 << 5;
    pub const STALE: u32 = 1 << 6;
    pub const FAST: u32 = 1 << 7;
    pub const NO_AUTH: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const NO_MULTI: u32 = 1 << 10;
    pub const ALLOW_BUSY: u32 = 1 << 11;
    /// Has subcommands checked at dispatch (not a Redis flag name; not reported).
    pub const CONTAINER: u32 = 1 << 12;

    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (NOSCRIPT, "noscript"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (SKIP_MONITOR, "skip_monitor"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

use flags::*;

/// A command handler: reads `args` (args[0] is the name), writes one reply to `c.out`.
pub type Handler = fn(&mut Ctx, &Args) -> CmdResult;

/// One row of the command table.
pub struct Command {
    pub name: &'static str,
    /// Exact argument count including the name if positive, minimum if negative.
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub group: &'static str,
    pub summary: &'static str,
    pub handler: Handler,
}

/// The arguments of one command: byte ranges into a buffer, so nothing is copied.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    pub buf: &'a [u8],
    pub ranges: &'a [(u32, u32)],
}

impl<'a> Args<'a> {
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Argument `i` (panics if out of range: arity checks run first).
    pub fn get(&self, i: usize) -> &'a [u8] {
        let (a, b) = self.ranges[i];
        &self.buf[a as usize..b as usize]
    }

    /// True if argument `i` equals `word` ignoring ASCII case.
    pub fn is(&self, i: usize, word: &str) -> bool {
        self.get(i).eq_ignore_ascii_case(word.as_bytes())
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// A copy of the arguments that outlives the read buffer (MULTI queue, AOF replay of
    /// a transaction): one buffer for all bytes, one for the ranges.
    pub fn to_owned_cmd(self) -> crate::conn::QueuedCmd {
        let total: usize = self.iter().map(|a| a.len()).sum();
        let mut buf = Vec::with_capacity(total);
        let mut ranges = Vec::with_capacity(self.len());
        for a in self.iter() {
            let start = buf.len() as u32;
            buf.extend_from_slice(a);
            ranges.push((start, buf.len() as u32));
        }
        (buf, ranges)
    }

    /// Argument `i` as a lossy UTF-8 string (for error texts).
    pub fn text(&self, i: usize) -> String {
        String::from_utf8_lossy(self.get(i)).into_owned()
    }
}

/// Everything a handler may touch: the server, the calling client, and its output.
pub struct Ctx<'a> {
    pub srv: &'a mut Server,
    pub cl: &'a mut crate::conn::ClientState,
    pub out: Reply<'a>,
    /// The caller's slot in the connection table.
    pub slot: usize,
}

/// A database plus the clock and counters its lookups need.
pub struct DbView<'a> {
    pub db: &'a mut Db,
    pub now: i64,
    pub st: &'a mut KsStats,
}

impl<'a> Ctx<'a> {
    /// Splits the context into the selected database and the reply encoder.
    pub fn db_out(&mut self) -> (DbView<'_>, &mut Reply<'a>) {
        // While the AOF is replayed nothing expires: the log holds a DEL for every key
        // that expired on the live server, at the point where it happened.
        let now = self.srv.expiry_clock();
        let ks = &mut self.srv.ks;
        (
            DbView {
                db: &mut ks.dbs[self.cl.db],
                now,
                st: &mut ks.stats,
            },
            &mut self.out,
        )
    }

    /// The selected database alone.
    pub fn db(&mut self) -> DbView<'_> {
        self.db_out().0
    }

    /// Records that the command changed `n` things (Redis's `server.dirty`).
    pub fn dirty(&mut self, n: u64) {
        self.srv.dirty += n;
    }

    /// Logs `args` to the AOF instead of the command's own arguments (canonical forms:
    /// absolute expiry times, results of float increments). Call once per record.
    pub fn propagate(&mut self, args: &[&[u8]]) {
        if self.srv.aof.logging() && !self.srv.loading {
            self.srv.aof.propagate(args.iter().copied());
        }
    }

    /// True if `at` (absolute ms) is already past, so setting it deletes the key. Never
    /// while replaying the AOF: the log says what happened next.
    pub fn already_expired(&self, at: i64) -> bool {
        !self.srv.loading && at <= self.srv.now_ms
    }
}

/// The hash in a looked-up entry; WRONGTYPE if the entry holds something else.
fn as_hash(e: Option<&mut Entry>) -> Result<Option<&mut Hash>, CmdError> {
    match e {
        None => Ok(None),
        Some(Entry {
            val: Value::Hash(h),
            ..
        }) => Ok(Some(h)),
        Some(_) => Err(CmdError::WrongType),
    }
}

impl DbView<'_> {
    pub fn get(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.db.get(key, self.now, self.st)
    }

    /// A read lookup that counts keyspace hits and misses for INFO.
    pub fn get_read(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let r = self.db.get(key, self.now, self.st);
        if r.is_some() {
            self.st.hits += 1;
        } else {
            self.st.misses += 1;
        }
        r
    }

    /// The hash at `key` for reading; WRONGTYPE if it holds something else.
    pub fn hash(&mut self, key: &[u8]) -> Result<Option<&mut Hash>, CmdError> {
        as_hash(self.get_read(key))
    }

    /// The hash at `key` for a write command that does not create it (no hit/miss
    /// counting, as Redis's lookupKeyWrite); WRONGTYPE if it holds something else.
    pub fn hash_write(&mut self, key: &[u8]) -> Result<Option<&mut Hash>, CmdError> {
        as_hash(self.get(key))
    }

    /// The hash at `key` for writing, created empty if missing.
    pub fn hash_or_new(&mut self, key: &[u8]) -> Result<&mut Hash, CmdError> {
        let e = self
            .db
            .get_or_insert_with(key, self.now, self.st, || Value::Hash(Hash::new()));
        match &mut e.val {
            Value::Hash(h) => Ok(h),
            _ => Err(CmdError::WrongType),
        }
    }

    /// Removes `key` if it is an empty hash (the last field was deleted).
    pub fn drop_if_empty(&mut self, key: &[u8]) {
        if let Some(Entry {
            val: Value::Hash(h),
            ..
        }) = self.get(key)
            && h.is_empty()
        {
            self.db.remove(key);
        }
    }

    /// The string at `key` for reading; WRONGTYPE if it holds something else.
    pub fn string(&mut self, key: &[u8]) -> Result<Option<&mut Str>, CmdError> {
        match self.get_read(key) {
            None => Ok(None),
            Some(Entry {
                val: Value::Str(s), ..
            }) => Ok(Some(s)),
            Some(_) => Err(CmdError::WrongType),
        }
    }
}

macro_rules! cmd {
    ($name:expr, $arity:expr, $flags:expr, $first:expr, $last:expr, $step:expr, $group:expr, $summary:expr, $handler:path) => {
        Command {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $first,
            last_key: $last,
            step: $step,
            group: $group,
            summary: $summary,
            handler: $handler,
        }
    };
}

const W: u32 = WRITE;
const R: u32 = READONLY;
const F: u32 = FAST;
const D: u32 = DENYOOM;
const CONN: u32 = NOSCRIPT | LOADING | STALE | FAST;

/// The command table. Summaries are ferrokv's own short descriptions.
pub static COMMANDS: &[Command] = &[
    // Hashes.
    cmd!(
        "hexpire",
        -6,
        W | F,
        1,
        1,
        1,
        "hash",
        "Sets a relative deadline in seconds on hash fields.",
        hash_ttl::hexpire
    ),
    cmd!(
        "hpexpire",
        -6,
        W | F,
        1,
        1,
        1,
        "hash",
        "Sets a relative deadline in milliseconds on hash fields.",
        hash_ttl::hpexpire
    ),
    cmd!(
        "hexpireat",
        -6,
        W | F,
        1,
        1,
        1,
        "hash",
        "Sets an absolute deadline in Unix seconds on hash fields.",
        hash_ttl::hexpireat
    ),
    cmd!(
        "hpexpireat",
        -6,
        W | F,
        1,
        1,
        1,
        "hash",
        "Sets an absolute deadline in Unix milliseconds on hash fields.",
        hash_ttl::hpexpireat
    ),
    cmd!(
        "httl",
        -5,
        R | F,
        1,
        1,
        1,
        "hash",
        "Returns the seconds left before hash fields expire.",
        hash_ttl::httl
    ),
    cmd!(
        "hpttl",
        -5,
        R | F,
        1,
        1,
        1,
        "hash",
        "Returns the milliseconds left before hash fields expire.",
        hash_ttl::hpttl
    ),
    cmd!(
        "hexpiretime",
        -5,
        R | F,
        1,
        1,
        1,
        "hash",
        "Returns the deadlines of hash fields in Unix seconds.",
        hash_ttl::hexpiretime
    ),
    cmd!(
        "hpexpiretime",
        -5,
        R | F,
        1,
        1,
        1,
        "hash",
        "Returns the deadlines of hash fields in Unix milliseconds.",
        hash_ttl::hpexpiretime
    ),
    cmd!(
        "hpersist",
        -5,
        W | F,
        1,
        1,
        1,
        "hash",
        "Removes the deadlines of hash fields.",
        hash_ttl::hpersist
    ),
    cmd!(
        "hgetdel",
        -5,
        W | F,
        1,
        1,
        1,
        "hash",
        "Returns the values of hash fields and deletes them.",
        hash_ttl::hgetdel
    ),
    cmd!(
        "hgetex",
        -5,
        W | F,
        1,
        1,
        1,
        "hash",
        "Returns the values of hash fields and sets or removes their deadlines.",
        hash_ttl::hgetex
    ),
    cmd!(
        "hsetex",
        -6,
        W | D | F,
        1,
        1,
        1,
        "hash",
        "Sets hash fields with an optional deadline, if conditions hold.",
        hash_ttl::hsetex
    ),
    cmd!(
        "hset",
        -4,
        W | D | F,
        1,
        1,
        1,
        "hash",
        "Sets fields of a hash, creating it if needed.",
        hash::hset
    ),
    cmd!(
        "hsetnx",
        4,
        W | D | F,
        1,
        1,
        1,
        "hash",
        "Sets a hash field only if it does not exist.",
        hash::hsetnx
    ),
    cmd!(
        "hmset",
        -4,
        W | D | F,
        1,
        1,
        1,
        "hash",
        "Sets fields of a hash (replies OK).",
        hash::hmset
    ),
    cmd!(
        "hget",
        3,
        R | F,
        1,
        1,
        1,
        "hash",
        "Returns the value of a hash field.",
        hash::hget
    ),
    cmd!(
        "hmget",
        -3,
        R | F,
        1,
        1,
        1,
        "hash",
        "Returns the values of several hash fields.",
        hash::hmget
    ),
    cmd!(
        "hgetall",
        2,
        R,
        1,
        1,
        1,
        "hash",
        "Returns all fields and values of a hash.",
        hash::hgetall
    ),
    cmd!(
        "hdel",
        -3,
        W | F,
        1,
        1,
        1,
        "hash",
        "Deletes fields from a hash.",
        hash::hdel
    ),
    cmd!(
        "hlen",
        2,
        R | F,
        1,
        1,
        1,
        "hash",
        "Returns the number of fields in a hash.",
        hash::hlen
    ),
    cmd!(
        "hexists",
        3,
        R | F,
        1,
        1,
        1,
        "hash",
        "Tells whether a hash field exists.",
        hash::hexists
    ),
    cmd!(
        "hkeys",
        2,
        R,
        1,
        1,
        1,
        "hash",
        "Returns all field names of a hash.",
        hash::hkeys
    ),
    cmd!(
        "hvals",
        2,
        R,
        1,
        1,
        1,
        "hash",
        "Returns all values of a hash.",
        hash::hvals
    ),
    cmd!(
        "hstrlen",
        3,
        R | F,
        1,
        1,
        1,
        "hash",
        "Returns the length of a hash field's value.",
        hash::hstrlen
    ),
    cmd!(
        "hincrby",
        4,
        W | D | F,
        1,
        1,
        1,
        "hash",
        "Adds an integer to a hash field.",
        hash::hincrby
    ),
    cmd!(
        "hincrbyfloat",
        4,
        W | D | F,
        1,
        1,
        1,
        "hash",
        "Adds a float to a hash field.",
        hash::hincrbyfloat
    ),
    cmd!(
        "hrandfield",
        -2,
        R,
        1,
        1,
        1,
        "hash",
        "Returns random fields of a hash.",
        hash::hrandfield
    ),
    cmd!(
        "hscan",
        -3,
        R,
        1,
        1,
        1,
        "hash",
        "Iterates over the fields of a hash.",
        hash::hscan
    ),
    // Strings.
    cmd!(
        "set",
        -3,
        W | D,
        1,
        1,
        1,
        "string",
        "Sets a string value, with expiry and conditions.",
        string::set
    ),
    cmd!(
        "get",
        2,
        R | F,
        1,
        1,
        1,
        "string",
        "Returns a string value.",
        string::get
    ),
    cmd!(
        "getset",
        3,
        W | D | F,
        1,
        1,
        1,
        "string",
        "Sets a string and returns the old value.",
        string::getset
    ),
    cmd!(
        "getdel",
        2,
        W | F,
        1,
        1,
        1,
        "string",
        "Returns a string and deletes the key.",
        string::getdel
    ),
    cmd!(
        "getex",
        -2,
        W | F,
        1,
        1,
        1,
        "string",
        "Returns a string and changes its expiry.",
        string::getex
    ),
    cmd!(
        "setnx",
        3,
        W | D | F,
        1,
        1,
        1,
        "string",
        "Sets a string only if the key is missing.",
        string::setnx
    ),
    cmd!(
        "setex",
        4,
        W | D,
        1,
        1,
        1,
        "string",
        "Sets a string with an expiry in seconds.",
        string::setex
    ),
    cmd!(
        "psetex",
        4,
        W | D,
        1,
        1,
        1,
        "string",
        "Sets a string with an expiry in milliseconds.",
        string::psetex
    ),
    cmd!(
        "mset",
        -3,
        W | D,
        1,
        -1,
        2,
        "string",
        "Sets several strings.",
        string::mset
    ),
    cmd!(
        "msetnx",
        -3,
        W | D,
        1,
        -1,
        2,
        "string",
        "Sets several strings only if none exists.",
        string::msetnx
    ),
    cmd!(
        "mget",
        -2,
        R | F,
        1,
        -1,
        1,
        "string",
        "Returns several string values.",
        string::mget
    ),
    cmd!(
        "incr",
        2,
        W | D | F,
        1,
        1,
        1,
        "string",
        "Adds one to an integer string.",
        string::incr
    ),
    cmd!(
        "decr",
        2,
        W | D | F,
        1,
        1,
        1,
        "string",
        "Subtracts one from an integer string.",
        string::decr
    ),
    cmd!(
        "incrby",
        3,
        W | D | F,
        1,
        1,
        1,
        "string",
        "Adds an integer to an integer string.",
        string::incrby
    ),
    cmd!(
        "decrby",
        3,
        W | D | F,
        1,
        1,
        1,
        "string",
        "Subtracts an integer from an integer string.",
        string::decrby
    ),
    cmd!(
        "incrbyfloat",
        3,
        W | D | F,
        1,
        1,
        1,
        "string",
        "Adds a float to a numeric string.",
        string::incrbyfloat
    ),
    cmd!(
        "append",
        3,
        W | D,
        1,
        1,
        1,
        "string",
        "Appends bytes to a string.",
        string::append
    ),
    cmd!(
        "strlen",
        2,
        R | F,
        1,
        1,
        1,
        "string",
        "Returns the length of a string.",
        string::strlen
    ),
    cmd!(
        "getrange",
        4,
        R,
        1,
        1,
        1,
        "string",
        "Returns a substring.",
        string::getrange
    ),
    cmd!(
        "substr",
        4,
        R,
        1,
        1,
        1,
        "string",
        "Returns a substring (old name of GETRANGE).",
        string::getrange
    ),
    cmd!(
        "setrange",
        4,
        W | D,
        1,
        1,
        1,
        "string",
        "Overwrites part of a string.",
        string::setrange
    ),
    // Keys.
    cmd!(
        "del",
        -2,
        W,
        1,
        -1,
        1,
        "generic",
        "Deletes keys.",
        keys::del
    ),
    cmd!(
        "unlink",
        -2,
        W | F,
        1,
        -1,
        1,
        "generic",
        "Deletes keys.",
        keys::del
    ),
    cmd!(
        "exists",
        -2,
        R | F,
        1,
        -1,
        1,
        "generic",
        "Counts how many of the keys exist.",
        keys::exists
    ),
    cmd!(
        "touch",
        -2,
        R | F,
        1,
        -1,
        1,
        "generic",
        "Counts existing keys (and marks them used).",
        keys::exists
    ),
    cmd!(
        "type",
        2,
        R | F,
        1,
        1,
        1,
        "generic",
        "Returns the type of a key's value.",
        keys::type_
    ),
    cmd!(
        "keys",
        2,
        R,
        0,
        0,
        0,
        "generic",
        "Returns keys matching a pattern.",
        keys::keys
    ),
    cmd!(
        "scan",
        -2,
        R,
        0,
        0,
        0,
        "generic",
        "Iterates over keys.",
        keys::scan
    ),
    cmd!(
        "randomkey",
        1,
        R,
        0,
        0,
        0,
        "generic",
        "Returns a random key.",
        keys::randomkey
    ),
    cmd!(
        "rename",
        3,
        W,
        1,
        2,
        1,
        "generic",
        "Renames a key.",
        keys::rename
    ),
    cmd!(
        "renamenx",
        3,
        W | F,
        1,
        2,
        1,
        "generic",
        "Renames a key if the new name is free.",
        keys::renamenx
    ),
    cmd!(
        "copy",
        -3,
        W | D,
        1,
        2,
        1,
        "generic",
        "Copies a key's value to another key.",
        keys::copy
    ),
    cmd!(
        "move",
        3,
        W | F,
        1,
        1,
        1,
        "generic",
        "Moves a key to another database.",
        keys::move_
    ),
    cmd!(
        "expire",
        -3,
        W | F,
        1,
        1,
        1,
        "generic",
        "Sets a key's time to live in seconds.",
        keys::expire
    ),
    cmd!(
        "pexpire",
        -3,
        W | F,
        1,
        1,
        1,
        "generic",
        "Sets a key's time to live in milliseconds.",
        keys::pexpire
    ),
    cmd!(
        "expireat",
        -3,
        W | F,
        1,
        1,
        1,
        "generic",
        "Sets a key's expiry as a Unix time in seconds.",
        keys::expireat
    ),
    cmd!(
        "pexpireat",
        -3,
        W | F,
        1,
        1,
        1,
        "generic",
        "Sets a key's expiry as a Unix time in milliseconds.",
        keys::pexpireat
    ),
    cmd!(
        "ttl",
        2,
        R | F,
        1,
        1,
        1,
        "generic",
        "Returns a key's time to live in seconds.",
        keys::ttl
    ),
    cmd!(
        "pttl",
        2,
        R | F,
        1,
        1,
        1,
        "generic",
        "Returns a key's time to live in milliseconds.",
        keys::pttl
    ),
    cmd!(
        "expiretime",
        2,
        R | F,
        1,
        1,
        1,
        "generic",
        "Returns a key's expiry as a Unix time in seconds.",
        keys::expiretime
    ),
    cmd!(
        "pexpiretime",
        2,
        R | F,
        1,
        1,
        1,
        "generic",
        "Returns a key's expiry as a Unix time in milliseconds.",
        keys::pexpiretime
    ),
    cmd!(
        "persist",
        2,
        W | F,
        1,
        1,
        1,
        "generic",
        "Removes a key's expiry.",
        keys::persist
    ),
    cmd!(
        "object",
        -2,
        R | CONTAINER,
        0,
        0,
        0,
        "generic",
        "Inspects a key's internals (OBJECT ENCODING).",
        keys::object
    ),
    cmd!(
        "memory",
        -2,
        R | CONTAINER,
        0,
        0,
        0,
        "server",
        "Reports memory use (MEMORY USAGE).",
        keys::memory
    ),
    cmd!(
        "dbsize",
        1,
        R | F,
        0,
        0,
        0,
        "server",
        "Returns the number of keys in the database.",
        keys::dbsize
    ),
    cmd!(
        "flushdb",
        -1,
        W,
        0,
        0,
        0,
        "server",
        "Deletes every key of the database.",
        keys::flushdb
    ),
    cmd!(
        "flushall",
        -1,
        W,
        0,
        0,
        0,
        "server",
        "Deletes every key of every database.",
        keys::flushall
    ),
    cmd!(
        "select",
        2,
        CONN,
        0,
        0,
        0,
        "connection",
        "Selects the database.",
        keys::select
    ),
    cmd!(
        "swapdb",
        3,
        W | F,
        0,
        0,
        0,
        "server",
        "Swaps two databases.",
        keys::swapdb
    ),
    // Transactions.
    cmd!(
        "multi",
        1,
        CONN | ALLOW_BUSY,
        0,
        0,
        0,
        "transactions",
        "Starts a transaction.",
        tx::multi
    ),
    cmd!(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_MONITOR,
        0,
        0,
        0,
        "transactions",
        "Runs the queued commands.",
        tx::exec
    ),
    cmd!(
        "discard",
        1,
        CONN | ALLOW_BUSY,
        0,
        0,
        0,
        "transactions",
        "Drops the queued commands.",
        tx::discard
    ),
    cmd!(
        "watch",
        -2,
        CONN | ALLOW_BUSY,
        1,
        -1,
        1,
        "transactions",
        "Watches keys for a transaction.",
        tx::watch
    ),
    cmd!(
        "unwatch",
        1,
        CONN | ALLOW_BUSY,
        0,
        0,
        0,
        "transactions",
        "Forgets watched keys.",
        tx::unwatch
    ),
    // Connection and server.
    cmd!(
        "ping",
        -1,
        F,
        0,
        0,
        0,
        "connection",
        "Answers PONG.",
        server::ping
    ),
    cmd!(
        "echo",
        2,
        F,
        0,
        0,
        0,
        "connection",
        "Returns its argument.",
        server::echo
    ),
    cmd!(
        "quit",
        -1,
        CONN | NO_AUTH | ALLOW_BUSY,
        0,
        0,
        0,
        "connection",
        "Closes the connection.",
        server::quit
    ),
    cmd!(
        "reset",
        1,
        CONN | NO_AUTH | ALLOW_BUSY,
        0,
        0,
        0,
        "connection",
        "Resets the connection state.",
        server::reset
    ),
    cmd!(
        "hello",
        -1,
        CONN | NO_AUTH | ALLOW_BUSY,
        0,
        0,
        0,
        "connection",
        "Handshake: protocol version, auth, name.",
        server::hello
    ),
    cmd!(
        "auth",
        -2,
        CONN | NO_AUTH | ALLOW_BUSY,
        0,
        0,
        0,
        "connection",
        "Authenticates the connection.",
        server::auth
    ),
    cmd!(
        "client",
        -2,
        NOSCRIPT | LOADING | STALE | CONTAINER,
        0,
        0,
        0,
        "connection",
        "Client connection commands.",
        client::client
    ),
    cmd!(
        "info",
        -1,
        LOADING | STALE,
        0,
        0,
        0,
        "server",
        "Returns server information.",
        server::info
    ),
    cmd!(
        "config",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE | CONTAINER,
        0,
        0,
        0,
        "server",
        "Reads and changes the configuration.",
        server::config
    ),
    cmd!(
        "command",
        -1,
        LOADING | STALE | CONTAINER,
        0,
        0,
        0,
        "server",
        "Describes the commands.",
        server::command
    ),
    cmd!(
        "time",
        1,
        LOADING | STALE | F,
        0,
        0,
        0,
        "server",
        "Returns the server time.",
        server::time
    ),
    cmd!(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        0,
        0,
        0,
        "server",
        "Debugging and persistence tools (needs enable-debug-command).",
        debug::debug
    ),
    cmd!(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT,
        0,
        0,
        0,
        "server",
        "Compacts the append-only file in the background.",
        server::bgrewriteaof
    ),
    cmd!(
        "lastsave",
        1,
        LOADING | STALE | F,
        0,
        0,
        0,
        "server",
        "Returns the time of the last save.",
        server::lastsave
    ),
    cmd!(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        0,
        0,
        0,
        "server",
        "Stops the server.",
        server::shutdown
    ),
    cmd!(
        "monitor",
        1,
        ADMIN | NOSCRIPT | LOADING | STALE,
        0,
        0,
        0,
        "server",
        "Streams every command the server runs.",
        server::monitor
    ),
    cmd!(
        "script",
        -2,
        NOSCRIPT | CONTAINER,
        0,
        0,
        0,
        "scripting",
        "Script cache commands (nothing is cached).",
        server::scripting_stub
    ),
    cmd!(
        "function",
        -2,
        NOSCRIPT | CONTAINER,
        0,
        0,
        0,
        "scripting",
        "Function library commands (none exist).",
        server::scripting_stub
    ),
    cmd!(
        "eval",
        -3,
        NOSCRIPT,
        0,
        0,
        0,
        "scripting",
        "Runs a Lua script (not supported).",
        server::eval
    ),
    cmd!(
        "evalsha",
        -3,
        NOSCRIPT,
        0,
        0,
        0,
        "scripting",
        "Runs a cached Lua script (not supported).",
        server::eval
    ),
    cmd!(
        "fcall",
        -3,
        NOSCRIPT,
        0,
        0,
        0,
        "scripting",
        "Calls a function (not supported).",
        server::eval
    ),
];

/// Longest command name; longer names are unknown without a lookup.
const MAX_NAME: usize = 32;

fn table() -> &'static HashMap<&'static [u8], &'static Command> {
    static T: OnceLock<HashMap<&'static [u8], &'static Command>> = OnceLock::new();
    T.get_or_init(|| COMMANDS.iter().map(|c| (c.name.as_bytes(), c)).collect())
}

/// Finds a command by name, ignoring case, without allocating.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    if name.len() > MAX_NAME {
        return None;
    }
    let mut buf = [0u8; MAX_NAME];
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    table().get(&buf[..name.len()]).copied()
}

/// Index of a command in `COMMANDS` (for per-command statistics).
pub fn index_of(cmd: &'static Command) -> usize {
    (cmd as *const Command as usize - COMMANDS.as_ptr() as usize) / std::mem::size_of::<Command>()
}

/// True if `n` arguments (name included) satisfy `arity`.
pub fn arity_ok(arity: i32, n: usize) -> bool {
    if arity >= 0 {
        n == arity as usize
    } else {
        n >= (-arity) as usize
    }
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
pub fn unknown_subcommand(args: &Args, container: &str) -> CmdError {
    let mut msg = b"ERR unknown subcommand '".to_vec();
    msg.extend_from_slice(c_str_prefix(args.get(1), 128));
    msg.extend_from_slice(format!("'. Try {container} HELP.").as_bytes());
    CmdError::Bytes(msg)
}

/// A subcommand of a container command (`CONFIG GET`): its full name as Redis reports it
/// (`config|get`, in errors, CLIENT LIST and INFO commandstats) and its arity (the
/// container's name counts as one argument, the subcommand's as another).
pub struct SubCommand {
    pub container: &'static str,
    pub name: &'static str,
    pub full: &'static str,
    pub arity: i32,
}

const fn sub(
    container: &'static str,
    name: &'static str,
    full: &'static str,
    arity: i32,
) -> SubCommand {
    SubCommand {
        container,
        name,
        full,
        arity,
    }
}

/// The subcommands dispatch checks before running or queueing, as Redis 7 does, so a bad
/// subcommand inside MULTI aborts the transaction.
pub static SUBCOMMANDS: &[SubCommand] = &[
    sub("object", "encoding", "object|encoding", 3),
    sub("object", "freq", "object|freq", 3),
    sub("object", "idletime", "object|idletime", 3),
    sub("object", "refcount", "object|refcount", 3),
    sub("object", "help", "object|help", 2),
    sub("memory", "usage", "memory|usage", -3),
    sub("memory", "help", "memory|help", 2),
    sub("client", "id", "client|id", 2),
    sub("client", "getname", "client|getname", 2),
    sub("client", "setname", "client|setname", 3),
    sub("client", "setinfo", "client|setinfo", 4),
    sub("client", "info", "client|info", 2),
    sub("client", "list", "client|list", -2),
    sub("client", "kill", "client|kill", -3),
    sub("client", "no-evict", "client|no-evict", 3),
    sub("client", "no-touch", "client|no-touch", 3),
    sub("client", "help", "client|help", 2),
    sub("config", "get", "config|get", -3),
    sub("config", "set", "config|set", -4),
    sub("config", "resetstat", "config|resetstat", 2),
    sub("config", "rewrite", "config|rewrite", 2),
    sub("config", "help", "config|help", 2),
    sub("command", "count", "command|count", 2),
    sub("command", "info", "command|info", -2),
    sub("command", "docs", "command|docs", -2),
    sub("command", "list", "command|list", -2),
    sub("command", "getkeys", "command|getkeys", -3),
    sub("command", "help", "command|help", 2),
    sub("script", "flush", "script|flush", -2),
    sub("script", "exists", "script|exists", -3),
    sub("script", "load", "script|load", 3),
    sub("script", "kill", "script|kill", 2),
    sub("script", "help", "script|help", 2),
    sub("function", "flush", "function|flush", -2),
    sub("function", "list", "function|list", -2),
    sub("function", "load", "function|load", -3),
    sub("function", "delete", "function|delete", 3),
    sub("function", "dump", "function|dump", 2),
    sub("function", "restore", "function|restore", -3),
    sub("function", "stats", "function|stats", 2),
    sub("function", "kill", "function|kill", 2),
    sub("function", "help", "function|help", 2),
];

/// For a container command, checks that the subcommand exists and has a valid arity, and
/// returns it. Other commands (and a bare COMMAND) give `None`.
pub fn check_subcommand(
    cmd: &Command,
    args: &Args,
) -> Result<Option<&'static SubCommand>, CmdError> {
    if cmd.flags & CONTAINER == 0 || args.len() < 2 {
        return Ok(None);
    }
    match SUBCOMMANDS
        .iter()
        .find(|s| s.container == cmd.name && args.is(1, s.name))
    {
        None => Err(unknown_subcommand(args, &cmd.name.to_ascii_uppercase())),
        Some(s) => {
            sub_arity(args, s.arity)?;
            Ok(Some(s))
        }
    }
}

/// Replies with a HELP text: one simple string per line, as Redis does.
pub fn help(c: &mut Ctx, lines: &[&str]) -> CmdResult {
    c.out.array(lines.len());
    for l in lines {
        c.out.simple(l);
    }
    Ok(())
}

/// Checks a subcommand's arity, with Redis's `'container|sub'` error name.
pub fn sub_arity(args: &Args, arity: i32) -> CmdResult {
    if arity_ok(arity, args.len()) {
        Ok(())
    } else {
        Err(CmdError::Arity(format!(
            "{}|{}",
            args.text(0).to_ascii_lowercase(),
            args.text(1).to_ascii_lowercase()
        )))
    }
}

/// Appends the keys of `cmd` in `args` (from its key positions) to `out`.
pub fn command_keys<'a>(cmd: &Command, args: &Args<'a>, out: &mut Vec<&'a [u8]>) {
    if cmd.first_key <= 0 {
        return;
    }
    let last = if cmd.last_key < 0 {
        args.len() as i32 + cmd.last_key
    } else {
        cmd.last_key
    };
    let mut i = cmd.first_key;
    while i <= last && (i as usize) < args.len() {
        out.push(args.get(i as usize));
        i += cmd.step.max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_usage_and_unique_name() {
        for c in COMMANDS {
            assert!(
                docs::USAGE.iter().any(|(n, _)| *n == c.name),
                "no usage line for {}",
                c.name
            );
            assert_eq!(
                lookup(c.name.to_uppercase().as_bytes()).unwrap().name,
                c.name
            );
        }
        assert_eq!(table().len(), COMMANDS.len());
    }

    #[test]
    fn containers_are_flagged() {
        for c in COMMANDS {
            let listed = SUBCOMMANDS.iter().any(|s| s.container == c.name);
            assert_eq!(listed, c.flags & CONTAINER != 0, "{}", c.name);
        }
        for s in SUBCOMMANDS {
            assert_eq!(s.full, format!("{}|{}", s.container, s.name));
            let n = SUBCOMMANDS
                .iter()
                .filter(|t| t.container == s.container && t.name == s.name)
                .count();
            assert_eq!(n, 1, "{} listed twice", s.full);
        }
    }
}
