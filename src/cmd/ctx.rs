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
use crate::types::{Hash, List, Set, Str, Value, ZSet};

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
    /// A client may wait in a blocking command (not during replay).
    fn can_block(&self) -> bool;
    /// Ends the wait of blocked client `id` with the timeout reply or, if `error`, with
    /// `-UNBLOCKED`; returns what it waited for (None: no such client waiting). The
    /// caller removes the wait from the engine.
    fn unblock(&mut self, id: u64, error: bool) -> Option<Box<crate::client::Blocked>>;
    /// Appends a published message (`head` then `tail`, RESP2; see `crate::pubsub`) to
    /// the output of subscriber `id`, another client than the caller.
    fn deliver(&mut self, id: u64, head: &[u8], tail: &[u8]);
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
    fn can_block(&self) -> bool {
        false
    }
    fn unblock(&mut self, _id: u64, _error: bool) -> Option<Box<crate::client::Blocked>> {
        None
    }
    fn deliver(&mut self, _id: u64, _head: &[u8], _tail: &[u8]) {}
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

    /// `db_out` plus the server's random generator (SPOP, SRANDMEMBER, HRANDFIELD).
    pub fn db_rng_out(&mut self) -> (DbView<'_>, &mut crate::rand::Rng, &mut Reply<'a>) {
        let now = self.eng.expiry_clock();
        let ks = &mut self.eng.ks;
        (
            DbView {
                db: &mut ks.dbs[self.cl.db],
                now,
                st: &mut ks.stats,
            },
            &mut self.eng.rng,
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

    /// Reports keyspace event `name` of `class` (`crate::notify::class`) on `key` of the
    /// selected database; costs one branch while notifications are off.
    #[inline]
    pub fn notify(&mut self, class: u32, name: &'static str, key: &[u8]) {
        let db = self.cl.db;
        self.eng.notify(class, name, db, key);
    }

    /// Reports `name` of `class` on `key`, then `del` if the change removed the key (its
    /// last element went), as Redis's removal commands do.
    pub fn notify_removal(&mut self, class: u32, name: &'static str, key: &[u8]) {
        use crate::notify::class::GENERIC;
        if self.eng.notify.wants(class | GENERIC) {
            self.notify(class, name, key);
            if self.db().peek(key).is_none() {
                self.notify(GENERIC, "del", key);
            }
        }
    }

    /// Gives the write stream `args` instead of the command's own arguments (canonical
    /// forms: absolute expiry times, results of float increments). Call once per record.
    pub fn propagate(&mut self, args: &[&[u8]]) {
        self.eng.stream.propagate(args);
    }

    /// Names `key` as one the command changed, instead of every key its specs allow
    /// (WATCH and blocked clients then hear only of it), as LMPOP does for the one list
    /// it popped from.
    pub fn touched(&mut self, key: &[u8]) {
        self.eng.touched_named = true;
        self.eng.touched.push(key.into());
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

/// An aggregate type a command can ask the keyspace for by type: `DbView::read`,
/// `write` and `or_new` answer WRONGTYPE for a key holding anything else.
pub trait Kind: Sized {
    /// The value as this type, if it is one.
    fn of(v: &mut Value) -> Option<&mut Self>;
    /// A new empty value of this type.
    fn fresh() -> Value;
}

macro_rules! kind {
    ($t:ident, $variant:ident) => {
        impl Kind for $t {
            #[inline]
            fn of(v: &mut Value) -> Option<&mut $t> {
                match v {
                    Value::$variant(x) => Some(x),
                    _ => None,
                }
            }
            fn fresh() -> Value {
                Value::$variant($t::new())
            }
        }
    };
}
kind!(Hash, Hash);
kind!(List, List);
kind!(Set, Set);
kind!(ZSet, ZSet);

#[inline]
fn as_kind<T: Kind>(e: Option<&mut Entry>) -> Result<Option<&mut T>, CmdError> {
    match e {
        None => Ok(None),
        Some(e) => T::of(&mut e.val).map(Some).ok_or(CmdError::WrongType),
    }
}

impl DbView<'_> {
    /// The `T` at `key` for reading (counts a keyspace hit or miss); WRONGTYPE if the key
    /// holds another type.
    pub fn read<T: Kind>(&mut self, key: &[u8]) -> Result<Option<&mut T>, CmdError> {
        as_kind(self.get_read(key))
    }

    /// The `T` at `key` for a write that does not create it (no hit/miss counting, as
    /// Redis's lookupKeyWrite); WRONGTYPE if the key holds another type.
    pub fn write<T: Kind>(&mut self, key: &[u8]) -> Result<Option<&mut T>, CmdError> {
        as_kind(self.get(key))
    }

    /// The `T` at `key` for writing, created empty if missing. A caller that may end up
    /// adding nothing removes it again with `drop_if_empty`.
    pub fn or_new<T: Kind>(&mut self, key: &[u8]) -> Result<&mut T, CmdError> {
        let e = self.db.get_or_insert_with(key, self.now, self.st, T::fresh);
        T::of(&mut e.val).ok_or(CmdError::WrongType)
    }

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
        self.read(key)
    }

    /// The hash at `key` for a write command that does not create it (no hit/miss
    /// counting, as Redis's lookupKeyWrite); WRONGTYPE if it holds something else.
    pub fn hash_write(&mut self, key: &[u8]) -> Result<Option<&mut Hash>, CmdError> {
        self.write(key)
    }

    /// The hash at `key` for writing, created empty if missing.
    pub fn hash_or_new(&mut self, key: &[u8]) -> Result<&mut Hash, CmdError> {
        self.or_new(key)
    }

    /// Removes `key` if it holds an aggregate (hash, list, set, sorted set) whose last
    /// element was removed: Redis never keeps an empty one.
    pub fn drop_if_empty(&mut self, key: &[u8]) {
        if self.get(key).is_some_and(|e| e.val.is_empty_aggregate()) {
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
