//! What a handler works with: its arguments, the engine, its own client, its reply, and a
//! narrow view of the other connections (CLIENT LIST / KILL, MONITOR, INFO's count). A
//! handler cannot reach the poll or another client's buffers; the loop implements
//! `Clients`, and replay runs commands with `NoClients`.

pub use crate::resp::args::Args;

use crate::client::ClientState;
use crate::engine::Engine;
use crate::error::CmdError;
use crate::keyspace::{Db, Entry, KsStats};
use crate::resp::reply::Reply;
use crate::types::{Hash, Str, Value};

/// The other connections, as far as commands may see them.
pub trait Clients {
    /// Connected clients, the caller included.
    fn count(&self) -> usize;
    /// Calls `f(client, unprocessed input bytes, unsent output bytes)` for every other
    /// connected client that is not being closed.
    fn each(&self, f: &mut dyn FnMut(&ClientState, usize, usize));
    /// Closes every other client `matches` picks; returns how many.
    fn kill(&mut self, matches: &dyn Fn(&ClientState) -> bool) -> usize;
    /// Some client is in MONITOR mode.
    fn has_monitors(&self) -> bool;
    /// Sends a MONITOR line to every monitoring client.
    fn feed_monitors(&mut self, line: &[u8]);
}

/// No other connections: AOF replay.
pub struct NoClients;

impl Clients for NoClients {
    fn count(&self) -> usize {
        0
    }
    fn each(&self, _f: &mut dyn FnMut(&ClientState, usize, usize)) {}
    fn kill(&mut self, _matches: &dyn Fn(&ClientState) -> bool) -> usize {
        0
    }
    fn has_monitors(&self) -> bool {
        false
    }
    fn feed_monitors(&mut self, _line: &[u8]) {}
}

/// Everything a handler may touch.
pub struct Ctx<'a> {
    pub eng: &'a mut Engine,
    pub cl: &'a mut ClientState,
    pub out: Reply<'a>,
    pub clients: &'a mut dyn Clients,
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
        let now = self.eng.expiry_clock();
        let ks = &mut self.eng.ks;
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
        self.eng.dirty += n;
    }

    /// Gives the write stream `args` instead of the command's own arguments (canonical
    /// forms: absolute expiry times, results of float increments). Call once per record.
    pub fn propagate(&mut self, args: &[&[u8]]) {
        self.eng.stream.propagate(args);
    }

    /// True if `at` (absolute ms) is already past, so setting it deletes the key.
    pub fn already_expired(&self, at: i64) -> bool {
        self.eng.already_expired(at)
    }
}

/// INFO's keyspace_hits / keyspace_misses.
#[inline]
fn count_hit(st: &mut KsStats, hit: bool) {
    if hit {
        st.hits += 1;
    } else {
        st.misses += 1;
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

    /// `get` without counting as an access for eviction (Redis's LOOKUP_NOTOUCH).
    pub fn peek(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.db.peek(key, self.now, self.st)
    }

    /// `get_read` without counting as an access for eviction.
    pub fn peek_read(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let r = self.db.peek(key, self.now, self.st);
        count_hit(self.st, r.is_some());
        r
    }

    /// A read lookup that counts keyspace hits and misses for INFO.
    pub fn get_read(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let r = self.db.get(key, self.now, self.st);
        count_hit(self.st, r.is_some());
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
