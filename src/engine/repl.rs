//! Replication in the engine, master side: the stream goes to the backlog and the
//! links (`flush_stream` calls `feed`), a replica's full sync is another snapshot
//! consumer, and the loop pumps each link's bytes into its connection.

use std::time::{Duration, Instant};

use log::{info, warn};

use super::Engine;
use crate::rdb::save::{Aux, Save};
use crate::repl::master::{Framing, Link, LinkState, Psync};

/// A PING in the replication stream, as Redis sends it to keep replicas' links alive.
const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";

/// What a PSYNC or SYNC decided, for the handler to answer.
pub enum SyncStart {
    /// `+CONTINUE <replid>`: the link is online with the backlog's bytes queued.
    Continue(String),
    /// `+FULLRESYNC <replid> <offset>`: an RDB follows.
    Full(String, u64),
}

/// What a replica announced with REPLCONF before PSYNC.
#[derive(Debug, Default, Clone)]
pub struct ReplicaInfo {
    pub port: u16,
    pub ip: String,
    pub capa_eof: bool,
    pub capa_psync2: bool,
    pub rdb_only: bool,
}

impl Engine {
    fn backlog_size(&self) -> usize {
        self.config
            .get("repl-backlog-size")
            .and_then(crate::config::parse_memory)
            .unwrap_or(1 << 20)
            .max(16 * 1024) as usize
    }

    /// Turns client `client_id` into a replica: continues from the backlog if `psync`
    /// (replid, first missing offset) allows, else starts a full sync.
    pub fn attach_replica(
        &mut self,
        client_id: u64,
        psync: Option<(&str, u64)>,
        info: &ReplicaInfo,
    ) -> SyncStart {
        // Records of commands already run belong before any snapshot point.
        self.flush_stream();
        if self.master.backlog.is_none() {
            let size = self.backlog_size();
            self.master.ensure_backlog(size);
            self.refresh_stream();
        }
        let mut link = Link {
            client_id,
            state: LinkState::Online,
            out: Vec::new(),
            ack: 0,
            ack_time: Instant::now(),
            port: info.port,
            ip: info.ip.clone(),
            rdb_only: info.rdb_only,
            done: false,
        };
        if let Some((id, from)) = psync
            && !info.rdb_only
            && let Psync::Continue(bytes) = self.master.psync(id, from)
        {
            info!(
                "Partial resynchronization request from replica {client_id} accepted: sending {} bytes of backlog",
                bytes.len()
            );
            link.out = bytes;
            link.ack = from.saturating_sub(1);
            self.master.links.push(link);
            return SyncStart::Continue(self.master.replid.clone());
        }
        let offset = self.master.offset;
        let aux = Aux {
            redis_ver: crate::REDIS_VERSION,
            aof_base: false,
            repl: Some((self.master.replid.clone(), offset as i64)),
        };
        let save = Save::start_stream(&mut self.ks, &aux, self.now_ms);
        let framing = if info.capa_eof {
            let mut mark = [0u8; 40];
            mark.copy_from_slice(self.rng.hex40().as_bytes());
            Framing::Eof(mark)
        } else {
            Framing::Length
        };
        if let Framing::Eof(mark) = framing {
            link.out.extend_from_slice(b"$EOF:");
            link.out.extend_from_slice(&mark);
            link.out.extend_from_slice(b"\r\n");
        }
        link.state = LinkState::Sync {
            save: Some(Box::new(save)),
            framing,
            pending: Vec::new(),
            whole: Vec::new(),
        };
        // The replica knows no database yet: the first record after the RDB selects one.
        self.stream.force_select();
        self.master.links.push(link);
        info!(
            "Starting full resynchronization of replica {client_id} at offset {offset} (fork-less RDB stream)"
        );
        SyncStart::Full(self.master.replid.clone(), offset)
    }

    /// Produces more of link `i`'s RDB if `room` (its connection has little unsent), and
    /// returns the bytes to append to its connection.
    pub fn repl_pump(&mut self, i: usize, room: bool, busy: bool) -> Vec<u8> {
        let now = self.now_ms;
        let link = &mut self.master.links[i];
        if room
            && let LinkState::Sync { save, .. } = &mut link.state
            && let Some(s) = save.take()
        {
            let step = s.step(&mut self.ks, now, busy);
            let LinkState::Sync {
                save,
                framing,
                pending,
                whole,
            } = &mut link.state
            else {
                unreachable!("state checked above");
            };
            match step {
                Ok(mut s) => {
                    let bytes = s.take_output();
                    match framing {
                        Framing::Eof(_) => link.out.extend_from_slice(&bytes),
                        Framing::Length => whole.extend_from_slice(&bytes),
                    }
                    *save = Some(Box::new(s));
                }
                Err(ended) if ended.ok => {
                    let mut tail = ended.tail;
                    match *framing {
                        Framing::Eof(mark) => {
                            link.out.append(&mut tail);
                            link.out.extend_from_slice(&mark);
                        }
                        Framing::Length => {
                            whole.append(&mut tail);
                            link.out
                                .extend_from_slice(format!("${}\r\n", whole.len()).as_bytes());
                            link.out.append(whole);
                        }
                    }
                    info!(
                        "Synchronization with replica {} succeeded: {} keys, {} bytes",
                        link.client_id, ended.keys, ended.bytes
                    );
                    if link.rdb_only {
                        link.done = true;
                    } else if matches!(framing, Framing::Eof(_)) {
                        let pending = std::mem::take(pending);
                        link.state = LinkState::AwaitAck { pending };
                    } else {
                        link.out.append(pending);
                        link.state = LinkState::Online;
                    }
                }
                Err(_) => {
                    warn!("Full synchronization of replica {} failed", link.client_id);
                    link.done = true;
                }
            }
        }
        std::mem::take(&mut link.out)
    }

    /// Forgets the replica of a closed connection (its sync's snapshot ends too).
    pub fn detach_replica(&mut self, client_id: u64) {
        if let Some(link) = self.master.remove(client_id) {
            if let LinkState::Sync { save: Some(s), .. } = link.state {
                s.cancel(&mut self.ks);
            }
            info!("Connection with replica {client_id} lost.");
        }
    }

    /// REPLICAOF host port: from now on a replica of that master. Our own replicas are
    /// let go (they reconnect and sync again, as Redis has them do).
    pub fn follow(&mut self, host: String, port: u16) {
        if let Some(old) = self.replica.take()
            && let Some(slot) = old.slot
        {
            self.closing_master_slots.push(slot);
        }
        for l in &mut self.master.links {
            l.done = true;
        }
        self.replica = Some(crate::repl::replica::ReplicaOf::new(host, port));
    }

    /// REPLICAOF NO ONE: a master from now on, with a new replication ID (the old
    /// master's is kept as the second one for INFO).
    pub fn promote(&mut self, was: &crate::repl::replica::ReplicaOf) {
        self.master.replid2 = was.replid.clone();
        self.master.second_offset = -1;
        self.master.replid = self.rng.hex40();
    }

    /// Timer: a PING down the stream every `repl-ping-replica-period` seconds while
    /// replicas are connected, so they can tell a quiet master from a dead link.
    pub fn repl_cron(&mut self) {
        // CONFIG SET repl-backlog-size takes effect here.
        let size = self.backlog_size();
        if let Some(b) = self.master.backlog.as_mut()
            && b.size() != size
        {
            b.resize(size);
        }
        if self.master.links.is_empty() {
            return;
        }
        let period = self
            .config
            .get("repl-ping-replica-period")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(10)
            .max(1);
        if self.master.last_ping.elapsed() >= Duration::from_secs(period) {
            self.flush_stream();
            self.master.feed(PING);
            self.master.last_ping = Instant::now();
        }
    }
}
