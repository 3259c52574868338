//! What a command sees of its client: selected database, protocol, name, authentication,
//! transaction and WATCH state. The socket and buffers are the loop's (`conn.rs`); keeping
//! them apart is what lets AOF replay run commands as a client that has no connection.

use std::time::Instant;

use crate::resp::args::OwnedArgs;
use crate::types::bytes::Bytes;

/// A transaction being queued after MULTI.
#[derive(Debug, Default)]
pub struct MultiState {
    pub queued: Vec<OwnedArgs>,
    /// A command failed to queue (unknown, wrong arity): EXEC answers EXECABORT.
    pub aborted: bool,
}

/// What a client parked by a blocking command waits for.
#[derive(Debug)]
pub struct Blocked {
    /// The command, run again once one of its keys has data.
    pub args: OwnedArgs,
    pub db: usize,
    /// The keys it waits on.
    pub keys: Vec<Bytes>,
    /// The type a key must hold to serve it (`Value::type_name`): a key recreated with
    /// another type leaves it waiting, as in Redis 7.0.
    pub want: &'static str,
    pub deadline: Option<Instant>,
    /// The reply on timeout (or CLIENT UNBLOCK ... TIMEOUT).
    pub on_timeout: TimeoutReply,
}

/// What a blocking command answers when its wait ends with nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutReply {
    /// BLPOP, BRPOP, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP.
    NullArray,
    /// BLMOVE, BRPOPLPUSH.
    NullBulk,
}

/// A client waiting in WAIT: until `replicas` replicas acknowledged `offset`.
#[derive(Debug, Clone, Copy)]
pub struct WaitRepl {
    pub offset: u64,
    pub replicas: usize,
    pub deadline: Option<Instant>,
}

/// Per-client state visible to command handlers.
#[derive(Debug)]
pub struct ClientState {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub name: Vec<u8>,
    pub lib_name: Vec<u8>,
    pub lib_ver: Vec<u8>,
    pub db: usize,
    pub resp3: bool,
    pub authenticated: bool,
    /// The ACL user commands run as (default until AUTH / HELLO AUTH).
    pub user: crate::acl::UserRef,
    pub created: Instant,
    pub last_interaction: Instant,
    pub multi: Option<MultiState>,
    /// Keys this client WATCHes: (db, key, the key existed when watched). The engine
    /// keeps the reverse index (key -> watchers).
    pub watched: Vec<(usize, Box<[u8]>, bool)>,
    /// Receives every command the server runs (MONITOR); the loop keeps the list.
    pub monitor: bool,
    /// Close the connection once the pending output is written (QUIT, protocol error).
    pub close_after_reply: bool,
    /// Full name of the last command run (`config|get`), for CLIENT LIST's `cmd=`.
    pub last_cmd: &'static str,
    /// Id of the last AOF batch holding one of this client's writes: its replies leave
    /// only once that batch is safe under the fsync policy (group commit).
    pub aof_ack: u64,
    /// Parked by a blocking command (no reply yet, no further commands run).
    pub blocked: Option<Box<Blocked>>,
    /// While a parked command runs again: the key whose change woke it, which it tries
    /// first (Redis 7.0 serves a waiter from the key that became ready).
    pub woken_by: Option<Bytes>,
    /// A replica's link (after SYNC/PSYNC): its commands (REPLCONF ACK) get no replies,
    /// and it is fed the replication stream.
    pub replica: bool,
    /// What it announced with REPLCONF before PSYNC.
    pub repl_info: Option<Box<crate::engine::repl::ReplicaInfo>>,
    /// Waiting in WAIT (no further commands run until it is answered).
    pub wait_repl: Option<WaitRepl>,
    /// Replication offset just after this client's last write (Redis's `woff`): what
    /// its WAIT waits for. 0 if it wrote nothing since replicas were first attached.
    pub woff: u64,
    /// The connection to our master: its commands are the replication stream.
    pub is_master: bool,
    /// The master's command just run wants its reply sent (REPLCONF GETACK).
    pub keep_reply: bool,
    /// Channels, patterns and shard channels this client listens to (the engine keeps
    /// the reverse maps, `crate::pubsub::Registry`).
    pub subs: crate::pubsub::ClientSubs,
}

impl ClientState {
    pub fn new(id: u64, addr: String, laddr: String, fd: i32, authenticated: bool) -> Self {
        let now = Instant::now();
        ClientState {
            id,
            addr,
            laddr,
            fd,
            name: Vec::new(),
            lib_name: Vec::new(),
            lib_ver: Vec::new(),
            db: 0,
            resp3: false,
            authenticated,
            user: crate::acl::UserRef::DEFAULT,
            created: now,
            last_interaction: now,
            multi: None,
            watched: Vec::new(),
            monitor: false,
            close_after_reply: false,
            last_cmd: "NULL",
            aof_ack: 0,
            blocked: None,
            woken_by: None,
            replica: false,
            repl_info: None,
            wait_repl: None,
            woff: 0,
            is_master: false,
            keep_reply: false,
            subs: Default::default(),
        }
    }
}
