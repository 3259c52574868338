//! One client connection: its socket, read buffer and parse state, output buffer, and the
//! per-client state commands see (selected db, protocol, name, transaction).

use std::time::Instant;

use mio::net::TcpStream;

use crate::resp::parse::Parser;

/// Initial and minimum free space for a read.
pub const READ_CHUNK: usize = 16 * 1024;

/// One queued command: its argument bytes and their ranges.
pub type QueuedCmd = (Vec<u8>, Vec<(u32, u32)>);

/// A transaction being queued after MULTI.
#[derive(Debug, Default)]
pub struct MultiState {
    pub queued: Vec<QueuedCmd>,
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
    pub created: Instant,
    pub last_interaction: Instant,
    pub multi: Option<MultiState>,
    /// Keys this client WATCHes: (db, key, the key existed when watched).
    pub watched: Vec<(usize, Box<[u8]>, bool)>,
    pub monitor: bool,
    /// Close the connection once the pending output is written (QUIT, protocol error).
    pub close_after_reply: bool,
    /// Name of the last command run, for CLIENT LIST's `cmd=`.
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

/// A connection owned by the event loop.
pub struct Conn {
    pub sock: TcpStream,
    /// Read buffer; bytes `..rlen` are filled.
    pub rbuf: Vec<u8>,
    pub rlen: usize,
    pub parser: Parser,
    /// Output waiting to be written; bytes `..out_pos` were already sent.
    pub out: Vec<u8>,
    pub out_pos: usize,
    pub cl: ClientState,
    /// WRITABLE interest is registered (the socket refused part of the output).
    pub want_write: bool,
    /// Commands are not being executed because the output is too large (backpressure).
    pub paused: bool,
    /// Already in the loop's list of connections with output to flush.
    pub queued_write: bool,
    /// Killed by CLIENT KILL or an error: close at the next opportunity.
    pub kill: bool,
}

impl Conn {
    pub fn new(sock: TcpStream, cl: ClientState, max_bulk: usize) -> Conn {
        Conn {
            sock,
            rbuf: vec![0; READ_CHUNK],
            rlen: 0,
            parser: Parser::new(max_bulk),
            out: Vec::new(),
            out_pos: 0,
            cl,
            want_write: false,
            paused: false,
            queued_write: false,
            kill: false,
        }
    }

    /// Bytes of output not yet written to the socket.
    pub fn pending_out(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Drops bytes of finished commands from the front of the read buffer.
    pub fn compact(&mut self) {
        let n = self.parser.consumed();
        if n == 0 {
            return;
        }
        self.rbuf.copy_within(n..self.rlen, 0);
        self.rlen -= n;
        self.parser.shift(n);
        // Give back memory after a very large request.
        if self.rlen == 0 && self.rbuf.len() > 4 * 1024 * 1024 {
            self.rbuf = vec![0; READ_CHUNK];
        }
    }

    /// Makes sure at least READ_CHUNK bytes are free after `rlen`.
    pub fn reserve_read(&mut self) {
        if self.rbuf.len() - self.rlen < READ_CHUNK {
            let new_len = (self.rbuf.len() * 2).max(self.rlen + READ_CHUNK);
            self.rbuf.resize(new_len, 0);
        }
    }
}
