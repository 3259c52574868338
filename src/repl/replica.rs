//! The replica side of replication: the state of the link to our master, and the pure
//! parts of the handshake (what to send at each step, how to read each reply, how a full
//! sync's RDB is framed). The loop owns the socket (`server/replica_link.rs`).
//!
//! Handshake, as a Redis 7 replica does it: `PING` (+PONG, or an auth error that the
//! AUTH then settles), `AUTH` when `masterauth` is set, `REPLCONF listening-port`,
//! `REPLCONF capa eof capa psync2`, then `PSYNC <master replid> <offset + 1>` (`? -1`
//! the first time). `+CONTINUE` resumes the stream where it stopped; `+FULLRESYNC <replid>
//! <offset>` is followed by an RDB, `$<len>` or `$EOF:<mark>` framed, received into a
//! temp file in `dir` and loaded in place of the dataset. Then the master's stream runs
//! as commands from a client that gets no replies (except `REPLCONF GETACK`), and every
//! byte processed moves our offset; `REPLCONF ACK <offset>` goes back every second.

use std::fs::File;
use std::path::PathBuf;
use std::time::Instant;

/// Where the link to the master is.
pub enum Link {
    /// Not connected; a connection is tried at `retry_at`.
    Down,
    /// TCP connect in progress.
    Connecting,
    /// Waiting for the reply to a handshake step.
    Handshake(Step),
    /// Receiving the RDB of a full sync.
    Transfer(Transfer),
    /// The stream flows.
    Up,
}

/// Handshake steps, each waiting for one reply line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Ping,
    Auth,
    Port,
    Capa,
    Psync,
}

/// A full sync's RDB on its way to a temp file.
pub struct Transfer {
    pub file: File,
    pub tmp: PathBuf,
    pub framing: Framing,
    pub received: u64,
    /// From FULLRESYNC: the master's ID and the offset the RDB stands for.
    pub replid: String,
    pub offset: i64,
}

/// How the RDB's end is known.
pub enum Framing {
    /// Waiting for the `$...` line (the master may send newlines first as keepalives).
    Header,
    /// `$<len>`: this many bytes left.
    Length(u64),
    /// `$EOF:<mark>`: the RDB ends with the mark; the last 40 bytes seen so far.
    Eof { mark: [u8; 40], tail: Vec<u8> },
}

/// Replication as a replica (`REPLICAOF host port`).
pub struct ReplicaOf {
    pub host: String,
    pub port: u16,
    pub link: Link,
    /// The master's replication ID as we know it ("?" before the first sync).
    pub replid: String,
    /// Offset of the last stream byte processed (-1: none yet), transactions counted
    /// only once they end.
    pub offset: i64,
    /// Bytes of a transaction from the stream still open (MULTI and its queued
    /// commands): they join `offset` at its EXEC. A link lost meanwhile loses the
    /// transaction with the connection, so a PSYNC must ask for it again, as Redis's
    /// replicas do (their `reploff` moves only outside MULTI).
    pub multi_bytes: i64,
    /// The database the master's stream last selected. A partial resync goes on where
    /// the stream stopped, and the master does not select again, so the new connection
    /// starts there (Redis keeps its cached master client, database and all).
    pub db: usize,
    /// Loop slot of the master's connection.
    pub slot: Option<usize>,
    pub retry_at: Instant,
    pub down_since: Instant,
    pub last_io: Instant,
    pub last_ack: Instant,
    pub sync_started: Option<Instant>,
}

impl ReplicaOf {
    pub fn new(host: String, port: u16) -> ReplicaOf {
        let now = Instant::now();
        ReplicaOf {
            host,
            port,
            link: Link::Down,
            replid: "?".into(),
            offset: -1,
            multi_bytes: 0,
            db: 0,
            slot: None,
            retry_at: now,
            down_since: now,
            last_io: now,
            last_ack: now,
            sync_started: None,
        }
    }

    pub fn up(&self) -> bool {
        matches!(self.link, Link::Up)
    }

    /// ROLE's state word.
    pub fn state_name(&self) -> &'static str {
        match self.link {
            Link::Down => "connect",
            Link::Connecting => "connecting",
            Link::Handshake(_) => "handshake",
            Link::Transfer(_) => "sync",
            Link::Up => "connected",
        }
    }
}

/// Encodes a command as a RESP array.
pub fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    crate::resp::encode::push_record(&mut out, args.iter().copied());
    out
}

/// One CRLF-terminated line at the start of `buf`: (line without CRLF, bytes used).
pub fn line(buf: &[u8]) -> Option<(&[u8], usize)> {
    let nl = memchr::memchr(b'\n', buf)?;
    let l = &buf[..nl];
    Some((l.strip_suffix(b"\r").unwrap_or(l), nl + 1))
}

/// Reads a `$...` RDB header line: the framing it announces.
pub fn parse_header(l: &[u8]) -> Result<Framing, String> {
    let Some(rest) = l.strip_prefix(b"$") else {
        return Err(format!(
            "Bad protocol from MASTER, the first byte is not '$' (we received '{}')",
            String::from_utf8_lossy(l)
        ));
    };
    if let Some(m) = rest.strip_prefix(b"EOF:") {
        let mark: [u8; 40] = m
            .try_into()
            .map_err(|_| "bad EOF mark from MASTER".to_string())?;
        return Ok(Framing::Eof {
            mark,
            tail: Vec::with_capacity(40),
        });
    }
    std::str::from_utf8(rest)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Framing::Length)
        .ok_or_else(|| "bad RDB length from MASTER".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_lines() {
        assert_eq!(line(b"+PONG\r\nrest"), Some((&b"+PONG"[..], 7)));
        assert_eq!(line(b"+PON"), None);
        assert!(matches!(parse_header(b"$123"), Ok(Framing::Length(123))));
        let m = [b'a'; 40];
        let mut h = b"$EOF:".to_vec();
        h.extend_from_slice(&m);
        assert!(matches!(parse_header(&h), Ok(Framing::Eof { mark, .. }) if mark == m));
        assert!(parse_header(b"+FULLRESYNC").is_err());
        assert!(parse_header(b"$EOF:short").is_err());
    }
}
