//! The loop's side of being a replica: the connection to the master, its handshake and
//! full-sync transfer (read here, byte by byte, as they arrive), then the stream, which
//! runs through `process` like any client's commands. The protocol's pure parts are in
//! `repl/replica.rs`.

use std::io::{ErrorKind, Write};
use std::net::ToSocketAddrs;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use log::{info, warn};
use mio::{Interest, Token};

use super::Server;
use crate::client::ClientState;
use crate::conn::Conn;
use crate::repl::replica::{Framing, Link, Step, Transfer, command, line, parse_header};

/// Wait between connection attempts to the master.
const RETRY: Duration = Duration::from_secs(1);
/// Between two `REPLCONF ACK`s.
const ACK_EVERY: Duration = Duration::from_secs(1);

impl Server {
    /// Timer: connects to the master when the link is down, acknowledges the offset,
    /// drops a link that has been silent past `repl-timeout`.
    pub(super) fn replica_cron(&mut self) {
        self.reconcile_master_link();
        let timeout = Duration::from_secs(
            self.eng
                .config
                .get("repl-timeout")
                .and_then(|v| v.parse().ok())
                .unwrap_or(60),
        );
        let Some(r) = self.eng.replica.as_mut() else {
            return;
        };
        enum Do {
            Nothing,
            Connect,
            Ack,
            Drop(&'static str),
        }
        let todo = match r.link {
            Link::Down if Instant::now() >= r.retry_at => Do::Connect,
            Link::Down => Do::Nothing,
            Link::Up if r.last_io.elapsed() > timeout => {
                Do::Drop("MASTER timeout: no data nor PING received...")
            }
            Link::Up if r.last_ack.elapsed() >= ACK_EVERY => {
                r.last_ack = Instant::now();
                Do::Ack
            }
            Link::Up => Do::Nothing,
            _ if r.last_io.elapsed() > timeout => Do::Drop("Timeout connecting to the MASTER..."),
            _ => Do::Nothing,
        };
        match todo {
            Do::Nothing => {}
            Do::Connect => self.connect_master(),
            Do::Ack => self.send_ack(),
            Do::Drop(why) => {
                warn!("{why}");
                self.drop_master_link();
            }
        }
    }

    /// Closes a master connection that REPLICAOF NO ONE (or a new REPLICAOF) left behind.
    /// Only if the slot still holds a master connection: the old master may have hung
    /// up first, and its freed slot gone to a new client, which must not be closed.
    pub(super) fn reconcile_master_link(&mut self) {
        let wanted = self.eng.replica.as_ref().and_then(|r| r.slot);
        let old = std::mem::take(&mut self.eng.closing_master_slots);
        for slot in old {
            let master = matches!(self.net.conns.get(slot), Some(Some(c)) if c.cl.is_master);
            if Some(slot) != wanted && master {
                self.close(slot);
            }
        }
    }

    fn connect_master(&mut self) {
        let Some(r) = self.eng.replica.as_mut() else {
            return;
        };
        r.retry_at = Instant::now() + RETRY;
        let target = format!("{}:{}", r.host, r.port);
        info!("Connecting to MASTER {target}");
        let addr = match target.to_socket_addrs().ok().and_then(|mut a| a.next()) {
            Some(a) => a,
            None => {
                warn!("Unable to resolve MASTER address {target}");
                return;
            }
        };
        let mut sock = match mio::net::TcpStream::connect(addr) {
            Ok(s) => s,
            Err(e) => {
                warn!("Unable to connect to MASTER: {e}");
                return;
            }
        };
        let slot = match self.net.free_slots.pop() {
            Some(s) => s,
            None => {
                self.net.conns.push(None);
                self.net.conns.len() - 1
            }
        };
        if let Err(e) = self.net.poll.registry().register(
            &mut sock,
            Token(slot),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            warn!("Registering the MASTER connection: {e}");
            self.net.free_slots.push(slot);
            return;
        }
        let id = self.net.next_client_id;
        self.net.next_client_id += 1;
        let mut cl = ClientState::new(id, addr.to_string(), String::new(), sock.as_raw_fd(), true);
        cl.is_master = true;
        let mut conn = Conn::new(sock, cl, self.eng.config.proto_max_bulk_len);
        conn.want_write = true;
        self.net.conns[slot] = Some(Box::new(conn));
        r.slot = Some(slot);
        r.link = Link::Connecting;
        r.last_io = Instant::now();
        info!("MASTER <-> REPLICA sync started");
    }

    /// The master's socket became writable while connecting: the connection is up (or
    /// failed); the handshake starts with PING.
    pub(super) fn master_connected(&mut self, slot: usize) -> bool {
        let connecting = self
            .eng
            .replica
            .as_ref()
            .is_some_and(|r| r.slot == Some(slot) && matches!(r.link, Link::Connecting));
        if !connecting {
            return false;
        }
        let Some(Some(conn)) = self.net.conns.get_mut(slot) else {
            return true;
        };
        let failed = match conn.sock.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => conn.sock.peer_addr().err(),
        };
        if let Some(e) = failed {
            if e.kind() == ErrorKind::NotConnected {
                return true; // Not yet.
            }
            warn!("Error condition on socket for SYNC: {e}");
            self.drop_master_link();
            return true;
        }
        info!("Non blocking connect for SYNC fired the event.");
        conn.cl.laddr = conn
            .sock
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        if let Some(r) = self.eng.replica.as_mut() {
            r.link = Link::Handshake(Step::Ping);
            r.last_io = Instant::now();
        }
        conn.out.extend_from_slice(&command(&[b"PING"]));
        self.net.queue_write(slot);
        true
    }

    /// Handles what the master sent during the handshake and the RDB transfer; returns
    /// once the input is used up or the stream begins (the rest is commands).
    pub(super) fn master_input(&mut self, slot: usize, conn: &mut Conn) {
        enum Phase {
            Handshake(Step),
            Transfer,
        }
        loop {
            let phase = match self.eng.replica.as_mut() {
                Some(r) if r.slot == Some(slot) => {
                    r.last_io = Instant::now();
                    match &r.link {
                        Link::Handshake(step) => Phase::Handshake(*step),
                        Link::Transfer(_) => Phase::Transfer,
                        _ => return,
                    }
                }
                _ => return,
            };
            match phase {
                Phase::Handshake(step) => {
                    let Some((l, n)) = line(&conn.rbuf[..conn.rlen]) else {
                        return;
                    };
                    let reply = l.to_vec();
                    consume(conn, n);
                    if reply.is_empty() {
                        // A newline: the master keeps the link alive while it prepares.
                        continue;
                    }
                    if let Err(e) = self.handshake_reply(step, &reply, conn) {
                        warn!("{e}");
                        conn.kill = true;
                        return;
                    }
                }
                Phase::Transfer => {
                    let Some(Link::Transfer(t)) = self.eng.replica.as_mut().map(|r| &mut r.link)
                    else {
                        return;
                    };
                    match transfer_input(t, &conn.rbuf[..conn.rlen]) {
                        Ok((n, done)) => {
                            consume(conn, n);
                            if done {
                                self.finish_full_sync();
                            } else if n == 0 || conn.rlen == 0 {
                                return;
                            }
                        }
                        Err(e) => {
                            warn!("{e}");
                            conn.kill = true;
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Acts on one handshake reply and sends the next step.
    fn handshake_reply(&mut self, step: Step, reply: &[u8], conn: &mut Conn) -> Result<(), String> {
        let auth = self.eng.config.get("masterauth").unwrap_or("").to_string();
        let user = self.eng.config.get("masteruser").unwrap_or("").to_string();
        let port = self.eng.config.port.to_string();
        let dir = self.eng.config.dir.clone();
        let r = self.eng.replica.as_mut().expect("checked by the caller");
        let text = String::from_utf8_lossy(reply).into_owned();
        let next = match step {
            Step::Ping => {
                let auth_error = text.starts_with("-NOAUTH") || text.starts_with("-NOPERM");
                // An auth error is expected before AUTH, when we have a password to send.
                let expected = auth_error && !auth.is_empty();
                if text.starts_with('-') && !expected {
                    return Err(format!("Error reply to PING from master: '{text}'"));
                }
                info!("Master replied to PING, replication can continue...");
                if auth.is_empty() {
                    Step::Port
                } else {
                    Step::Auth
                }
            }
            Step::Auth => {
                if text.starts_with('-') {
                    return Err(format!("Unable to AUTH to MASTER: {text}"));
                }
                Step::Port
            }
            // Errors here are tolerated, as Redis does (an old master may not know them).
            Step::Port => Step::Capa,
            Step::Capa => Step::Psync,
            Step::Psync => {
                if let Some(rest) = text.strip_prefix("+FULLRESYNC ") {
                    let mut it = rest.split(' ');
                    let replid = it.next().unwrap_or("").to_string();
                    let offset = it.next().and_then(|o| o.parse::<i64>().ok()).unwrap_or(-1);
                    info!("Full resync from master: {replid}:{offset}");
                    let tmp = dir.join(format!("temp-{}-replica.rdb", std::process::id()));
                    let file = std::fs::File::create(&tmp)
                        .map_err(|e| format!("Opening the temp file needed for MASTER <-> REPLICA synchronization: {e}"))?;
                    r.sync_started = Some(Instant::now());
                    r.link = Link::Transfer(Transfer {
                        file,
                        tmp,
                        framing: Framing::Header,
                        received: 0,
                        replid,
                        offset,
                    });
                    return Ok(());
                }
                if let Some(rest) = text.strip_prefix("+CONTINUE") {
                    let new = rest.trim();
                    if !new.is_empty() && new != r.replid {
                        info!("Master replication ID changed to {new}");
                        r.replid = new.to_string();
                    }
                    info!("Successful partial resynchronization with master.");
                    conn.cl.db = r.db;
                    r.link = Link::Up;
                    r.last_ack = Instant::now() - ACK_EVERY;
                    return Ok(());
                }
                return Err(format!("Unexpected reply to PSYNC from master: {text}"));
            }
        };
        let msg = match next {
            Step::Auth if user.is_empty() => command(&[b"AUTH", auth.as_bytes()]),
            Step::Auth => command(&[b"AUTH", user.as_bytes(), auth.as_bytes()]),
            Step::Port => command(&[b"REPLCONF", b"listening-port", port.as_bytes()]),
            Step::Capa => command(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]),
            Step::Psync => {
                let (id, off) = if r.offset >= 0 {
                    (r.replid.clone(), (r.offset + 1).to_string())
                } else {
                    ("?".to_string(), "-1".to_string())
                };
                info!("Trying a partial resynchronization (request {id}:{off}).");
                command(&[b"PSYNC", id.as_bytes(), off.as_bytes()])
            }
            Step::Ping => unreachable!("PING is sent on connect"),
        };
        r.link = Link::Handshake(next);
        conn.out.extend_from_slice(&msg);
        Ok(())
    }

    /// The RDB is in: it replaces the dataset, the AOF gets a new base from it, and the
    /// stream flows.
    fn finish_full_sync(&mut self) {
        let Some(r) = self.eng.replica.as_mut() else {
            return;
        };
        let Link::Transfer(t) = std::mem::replace(&mut r.link, Link::Up) else {
            return;
        };
        let (tmp, replid, offset, received) = (t.tmp, t.replid, t.offset, t.received);
        if let Err(e) = t.file.sync_all() {
            warn!("Can't fsync the RDB received from MASTER: {e}");
        }
        drop(t.file);
        info!("MASTER <-> REPLICA sync: receiving {received} bytes from master to disk");
        info!("MASTER <-> REPLICA sync: Flushing old data");
        // The dataset is replaced outside the write stream: our own replicas (chained
        // replication) must copy it in full, so they are let go and our replication ID
        // changes (their PSYNC cannot continue across the swap).
        for l in &mut self.eng.master.links {
            l.done = true;
        }
        self.eng.master.replid = self.eng.rng.hex40();
        for i in 0..self.eng.ks.dbs.len() {
            self.eng.touch_db(i);
            self.eng.ks.dbs[i].clear(true);
        }
        info!("MASTER <-> REPLICA sync: Loading DB in memory");
        self.eng.set_loading(true);
        let loaded = self.eng.load_rdb_file(&tmp, true);
        self.eng.set_loading(false);
        let _ = std::fs::remove_file(&tmp);
        if let Err(e) = loaded {
            warn!("Failed trying to load the MASTER synchronization DB from disk: {e}");
            self.drop_master_link();
            return;
        }
        let r = self.eng.replica.as_mut().expect("still a replica");
        r.replid = replid;
        r.offset = offset;
        r.multi_bytes = 0;
        r.last_ack = Instant::now() - ACK_EVERY;
        r.last_io = Instant::now();
        // The AOF's files hold the old dataset: a rewrite makes the loaded one its base.
        // Until it is done the AOF waits for it (as CONFIG SET appendonly yes does): the
        // manifest keeps naming the old files only, so a crash meanwhile restarts on the
        // old dataset whole, never on the old one plus the new master's stream.
        if self.eng.aof.logging() {
            self.eng.cancel_rewrite();
            self.eng.flush_stream();
            self.eng.aof.begin_wait_rewrite();
            self.eng.refresh_stream();
            if let Err(e) = self.eng.start_rewrite() {
                warn!("Can't rewrite the AOF after the sync: {e}");
            }
        }
        info!("MASTER <-> REPLICA sync: Finished with success");
    }

    /// Sends `REPLCONF ACK <offset>` to the master.
    fn send_ack(&mut self) {
        let Some(r) = self.eng.replica.as_ref() else {
            return;
        };
        let (Some(slot), off) = (r.slot, r.offset.max(0).to_string()) else {
            return;
        };
        if let Some(Some(conn)) = self.net.conns.get_mut(slot) {
            conn.out
                .extend_from_slice(&command(&[b"REPLCONF", b"ACK", off.as_bytes()]));
            self.net.queue_write(slot);
        }
    }

    /// Closes the link (it is tried again after `RETRY`).
    fn drop_master_link(&mut self) {
        if let Some(slot) = self.eng.replica.as_ref().and_then(|r| r.slot) {
            self.close(slot);
        }
    }

    /// The master's connection closed: the link is down until the next attempt.
    pub(super) fn master_closed(&mut self, slot: usize) {
        let Some(r) = self.eng.replica.as_mut() else {
            return;
        };
        if r.slot != Some(slot) {
            return;
        }
        if let Link::Transfer(t) = std::mem::replace(&mut r.link, Link::Down) {
            let _ = std::fs::remove_file(&t.tmp);
        }
        r.slot = None;
        // An open transaction went with the connection: it is asked for again.
        r.multi_bytes = 0;
        r.down_since = Instant::now();
        r.retry_at = Instant::now() + RETRY;
        info!("Connection with master lost.");
    }
}

/// Drops `n` used bytes from the front of the connection's read buffer.
fn consume(conn: &mut Conn, n: usize) {
    conn.rbuf.copy_within(n..conn.rlen, 0);
    conn.rlen -= n;
}

/// Takes RDB bytes from `buf` into the temp file: (bytes used, transfer complete).
fn transfer_input(t: &mut Transfer, buf: &[u8]) -> Result<(usize, bool), String> {
    let io = |e: std::io::Error| format!("Write error writing the RDB from MASTER: {e}");
    match &mut t.framing {
        Framing::Header => {
            // Newlines are the master's keepalives while it prepares the RDB.
            let skip = buf.iter().take_while(|&&b| b == b'\n').count();
            if skip > 0 {
                return Ok((skip, false));
            }
            let Some((l, n)) = line(buf) else {
                return Ok((0, false));
            };
            t.framing = parse_header(l)?;
            Ok((n, false))
        }
        Framing::Length(left) => {
            let n = (*left).min(buf.len() as u64) as usize;
            t.file.write_all(&buf[..n]).map_err(io)?;
            *left -= n as u64;
            t.received += n as u64;
            Ok((n, *left == 0))
        }
        Framing::Eof { mark, tail } => {
            // Everything but the last 40 bytes seen can go to the file.
            tail.extend_from_slice(buf);
            t.received += buf.len() as u64;
            if tail.len() > 40 {
                let cut = tail.len() - 40;
                t.file.write_all(&tail[..cut]).map_err(io)?;
                tail.drain(..cut);
            }
            let done = tail.len() == 40 && tail[..] == mark[..];
            Ok((buf.len(), done))
        }
    }
}
