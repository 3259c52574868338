//! What a command sees of its client: selected database, protocol, name, authentication,
//! transaction and WATCH state. The socket and buffers are the loop's (`conn.rs`); keeping
//! them apart is what lets AOF replay run commands as a client that has no connection.

use std::time::Instant;

use crate::resp::args::OwnedArgs;

/// A transaction being queued after MULTI.
#[derive(Debug, Default)]
pub struct MultiState {
    pub queued: Vec<OwnedArgs>,
    /// A command failed to queue (unknown, wrong arity): EXEC answers EXECABORT.
    pub aborted: bool,
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
        }
    }
}
