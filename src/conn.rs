//! One client connection as the event loop holds it: socket, read buffer and parse state,
//! output buffer, flow-control flags, and the client state commands see (`client.rs`).

use mio::net::TcpStream;

use crate::client::ClientState;
use crate::resp::parse::Parser;

/// Initial and minimum free space for a read.
pub const READ_CHUNK: usize = 16 * 1024;

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
    /// Since when the output has been over the soft `client-output-buffer-limit`.
    pub obuf_soft_since: Option<std::time::Instant>,
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
            obuf_soft_since: None,
        }
    }

    /// Bytes of output not yet written to the socket.
    pub fn pending_out(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Drops bytes of finished commands from the front of the read buffer.
    #[inline]
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
