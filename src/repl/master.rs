//! The master side of replication: the replication ID and offset, the backlog, and one
//! link per connected replica.
//!
//! A replica asks `PSYNC <replid> <offset>` (or the old `SYNC`). If the ID is ours (or
//! the one we had before a promotion, up to where it ended) and the backlog still holds
//! the bytes from that offset, the answer is `+CONTINUE` and those bytes. Otherwise it
//! is a full resync: `+FULLRESYNC <replid> <offset>`, then an RDB of the dataset as it
//! was at that offset, then the stream from there. The RDB is produced by a snapshot
//! consumer (`rdb::save`, the same fork-less save as BGSAVE) a slice at a time, only as
//! fast as the replica's socket takes it, and streamed in Redis's diskless form
//! (`$EOF:<40 random bytes>`, the data, the same 40 bytes) to replicas that announced
//! `capa eof`; others get `$<length>` once the whole RDB is built. Writes made meanwhile
//! wait in the link and follow the RDB.
//!
//! The stream itself is the write stream the AOF gets (`stream.rs`): canonical records,
//! SELECT before a change of database, plus a PING every `repl-ping-replica-period`.
//! The engine hands each iteration's records to `feed`; the loop moves each link's bytes
//! into its connection (`Engine::repl_pump`).

use std::time::Instant;

use super::backlog::Backlog;
use crate::rdb::save::Save;

/// Bytes a syncing replica's connection may have unsent before its RDB is produced
/// further: the RDB goes out as fast as the replica reads, never piling up in memory.
pub const SYNC_WINDOW: usize = 1 << 20;

/// How a replica's RDB is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `$EOF:<mark>\r\n`, the RDB, the mark (replicas with `capa eof`).
    Eof([u8; 40]),
    /// `$<len>\r\n` and the RDB: it is built whole first.
    Length,
}

/// Where a replica's link is.
pub enum LinkState {
    /// Its RDB is being produced. `pending`: the stream since the sync began, sent after
    /// the RDB; `whole`: the RDB so far, for `Framing::Length`.
    Sync {
        /// None only while a step runs.
        save: Option<Box<Save>>,
        framing: Framing,
        pending: Vec<u8>,
        whole: Vec<u8>,
    },
    /// Its `$EOF:` RDB is sent; the stream since the sync began waits in `pending` until
    /// the replica's first `REPLCONF ACK` says it loaded the RDB. The replica can only find
    /// the end mark at the end of what it has read, so nothing may follow the mark before
    /// then (Redis's `repl_put_online_on_ack`).
    AwaitAck { pending: Vec<u8> },
    /// Receives the stream.
    Online,
}

/// One connected replica.
pub struct Link {
    pub client_id: u64,
    pub state: LinkState,
    /// Bytes for its connection, moved there by the loop.
    pub out: Vec<u8>,
    /// `REPLCONF ACK`: the offset it has processed, and when it said so.
    pub ack: u64,
    pub ack_time: Instant,
    /// `REPLCONF listening-port` / `ip-address`, for INFO and Sentinel.
    pub port: u16,
    pub ip: String,
    /// `REPLCONF rdb-only 1` (redis-cli --rdb): the link ends after the RDB.
    pub rdb_only: bool,
    /// The link is over (RDB-only sent, or the save failed): the loop closes it.
    pub done: bool,
}

impl Link {
    pub fn online(&self) -> bool {
        matches!(self.state, LinkState::Online)
    }

    /// Its RDB is still being produced.
    pub fn syncing(&self) -> bool {
        matches!(self.state, LinkState::Sync { .. })
    }

    /// A `REPLCONF ACK` arrived: a link waiting for it goes online, its stream queued.
    pub fn acked_rdb(&mut self) {
        if let LinkState::AwaitAck { pending } = &mut self.state {
            self.out.append(pending);
            self.state = LinkState::Online;
        }
    }
}

/// Replication as a master.
pub struct Master {
    pub replid: String,
    /// The ID before the last promotion, valid up to `second_offset` (PSYNC from a
    /// replica of the old master continues across a failover).
    pub replid2: String,
    pub second_offset: i64,
    /// Offset of the last stream byte (counted while a backlog exists).
    pub offset: u64,
    pub backlog: Option<Backlog>,
    pub links: Vec<Link>,
    /// When the last PING went to the replicas.
    pub last_ping: Instant,
    /// A WAIT is pending: ask the replicas for their offsets (`REPLCONF GETACK *`)
    /// before the loop sleeps.
    pub getack_wanted: bool,
}

/// The answer to a PSYNC.
pub enum Psync {
    /// `+CONTINUE`: these bytes follow.
    Continue(Vec<u8>),
    Full,
}

impl Master {
    pub fn new(replid: String) -> Master {
        Master {
            replid,
            replid2: "0".repeat(40),
            second_offset: -1,
            offset: 0,
            backlog: None,
            links: Vec::new(),
            last_ping: Instant::now(),
            getack_wanted: false,
        }
    }

    /// The stream is being recorded (a backlog exists).
    pub fn feeding(&self) -> bool {
        self.backlog.is_some()
    }

    /// Creates the backlog if there is none (the first replica), of `size` bytes.
    pub fn ensure_backlog(&mut self, size: usize) {
        if self.backlog.is_none() {
            self.backlog = Some(Backlog::new(size, self.offset));
        }
    }

    /// Appends stream bytes: the backlog, the online links, the links still syncing.
    pub fn feed(&mut self, records: &[u8]) {
        let Some(b) = self.backlog.as_mut() else {
            return;
        };
        b.append(records);
        self.offset = b.offset();
        for l in &mut self.links {
            match &mut l.state {
                LinkState::Online => l.out.extend_from_slice(records),
                LinkState::Sync { pending, .. } | LinkState::AwaitAck { pending } => {
                    pending.extend_from_slice(records)
                }
            }
        }
    }

    /// Decides a PSYNC for `replid` from `from` (the first byte the replica lacks).
    pub fn psync(&self, replid: &str, from: u64) -> Psync {
        let ours = replid == self.replid
            || (replid == self.replid2
                && self.second_offset >= 0
                && from as i64 <= self.second_offset + 1);
        match (&self.backlog, ours) {
            (Some(b), true) => b.since(from).map_or(Psync::Full, Psync::Continue),
            _ => Psync::Full,
        }
    }

    /// A full sync is running (its snapshot needs copy-before-write).
    pub fn syncing(&self) -> bool {
        self.links.iter().any(|l| l.syncing())
    }

    /// Replicas whose link is online.
    pub fn online(&self) -> usize {
        self.links.iter().filter(|l| l.online()).count()
    }

    /// Online replicas whose last acknowledgement is at most `max_lag` seconds old
    /// (`min-replicas-to-write` counts them).
    pub fn good_replicas(&self, max_lag: u64) -> usize {
        self.links
            .iter()
            .filter(|l| l.online() && l.ack_time.elapsed().as_secs() <= max_lag)
            .count()
    }

    /// Online replicas that acknowledged at least `offset`.
    pub fn acked(&self, offset: u64) -> usize {
        self.links
            .iter()
            .filter(|l| l.online() && l.ack >= offset)
            .count()
    }

    pub fn link_mut(&mut self, client_id: u64) -> Option<&mut Link> {
        self.links.iter_mut().find(|l| l.client_id == client_id)
    }

    /// Forgets the link of a closed connection.
    pub fn remove(&mut self, client_id: u64) -> Option<Link> {
        let i = self.links.iter().position(|l| l.client_id == client_id)?;
        Some(self.links.swap_remove(i))
    }
}
