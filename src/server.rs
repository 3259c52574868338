//! The event loop: one thread, one `mio::Poll`, every client non-blocking.
//!
//! Each iteration: wait for events (at most until the next timer tick), read from every
//! readable client until it would block, run every complete command in its buffer
//! (pipelining), then — once all events are handled — write the replies of every client
//! that has output. Writing after the whole batch is what lets the persistence layer flush
//! the batch's log records first and answer only then (group commit, Redis's
//! "before sleep" ordering). A client whose unsent output grows past a limit stops being
//! read until it drains, so a slow reader cannot make the server buffer without bound.

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use log::{debug, info, trace, warn};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use crate::aof::Aof;
use crate::cmd::{self, Args, Command, Ctx, SubCommand, flags};
use crate::config::Config;
use crate::conn::{ClientState, Conn};
use crate::keyspace::{Expired, Keyspace};
use crate::rand::Rng;
use crate::resp::parse::{ArgSource, Parsed};
use crate::resp::reply::Reply;

/// Stop running a client's commands while this much of its output is unsent.
pub const OUTPUT_PAUSE_LIMIT: usize = 32 * 1024 * 1024;
/// Disconnect a MONITOR client whose unsent output exceeds this.
const MONITOR_OUTPUT_LIMIT: usize = 64 * 1024 * 1024;
/// Release an output buffer's memory after it drains if it grew beyond this.
const OUTPUT_SHRINK: usize = 1024 * 1024;
/// Listener tokens count down from the top of the token space; clients use their slot.
const LISTENER_TOKEN_BASE: usize = usize::MAX - 64;

/// Per-command call statistics (INFO commandstats).
#[derive(Debug, Default, Clone, Copy)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// Server-wide counters reported by INFO.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections_received: u64,
    pub commands_processed: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub rejected_connections: u64,
    pub total_error_replies: u64,
    /// Samples of (ms, commands) for instantaneous_ops_per_sec.
    pub ops_samples: [u64; 16],
    pub ops_idx: usize,
    pub last_sample_ms: i64,
    pub last_sample_cmds: u64,
}

impl Stats {
    pub fn ops_per_sec(&self) -> u64 {
        self.ops_samples.iter().sum::<u64>() / self.ops_samples.len() as u64
    }
}

/// How SHUTDOWN was asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shutdown {
    Signal(&'static str),
    Command,
}

/// The whole server state. Handlers get `&mut Server` through `Ctx`.
pub struct Server {
    pub config: Config,
    pub ks: Keyspace,
    pub rng: Rng,
    /// Unix time in ms, refreshed once per loop iteration and per timer tick.
    pub now_ms: i64,
    /// Count of changes since start (Redis's `server.dirty`).
    pub dirty: u64,
    pub stats: Stats,
    pub cmdstats: Vec<CmdStat>,
    /// Statistics of container subcommands, by full name (`config|get`).
    pub substats: HashMap<&'static str, CmdStat>,
    /// Connections by slot; a slot is `None` while free or while its client runs a command.
    pub conns: Vec<Option<Conn>>,
    free_slots: Vec<usize>,
    /// Per slot: a watched key was touched (EXEC must fail).
    cas_dirty: Vec<bool>,
    /// Watched key -> (db, slot) of each watcher.
    watched: HashMap<Box<[u8]>, Vec<(usize, usize)>>,
    pub monitors: Vec<usize>,
    pending_write: Vec<usize>,
    pub shutdown: Option<Shutdown>,
    pub start: Instant,
    pub run_id: String,
    pub lastsave: i64,
    /// End of the previous command (start of the next) for commandstats timing: one clock
    /// read per command instead of two.
    cmd_clock: Instant,
    next_client_id: u64,
    poll: Poll,
    listeners: Vec<(TcpListener, SocketAddr)>,
    signal_flag: Arc<AtomicBool>,
    sigint_flag: Arc<AtomicBool>,
    /// The append-only file.
    pub aof: Aof,
    /// Replaying the AOF: keys do not expire, relative times are not re-evaluated.
    pub loading: bool,
    /// `ks.stats.expired` when expired keys were last handed to the AOF.
    pub expired_seen: u64,
    /// Clients whose replies wait for an AOF batch to become safe.
    held: Vec<usize>,
    /// The AOF rewrite in progress.
    pub rewrite: Option<Box<crate::aof::rewrite::Rewrite>>,
    pub rewrite_stats: crate::aof::rewrite::RewriteStats,
    /// DEBUG SET-ACTIVE-EXPIRE.
    pub active_expire_enabled: bool,
    /// Writing the AOF manifest failed; the timer retries it.
    pub manifest_retry: bool,
    /// Highest `used_memory` seen by the timer (INFO used_memory_peak).
    pub mem_peak: u64,
}

/// Current Unix time in milliseconds.
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Current Unix time in microseconds.
pub fn unix_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

impl Server {
    /// Creates the server and binds its listeners. Fails if no address could be bound.
    pub fn new(config: Config) -> io::Result<Server> {
        let poll = Poll::new()?;
        let mut listeners = Vec::new();
        if config.port != 0 {
            for (i, raw) in config.bind.iter().enumerate() {
                let (optional, addr) = match raw.strip_prefix('-') {
                    Some(a) => (true, a),
                    None => (false, raw.as_str()),
                };
                let host = match addr {
                    "*" => "0.0.0.0",
                    "::*" => "::",
                    a => a,
                };
                let sa: SocketAddr = match host.parse::<std::net::IpAddr>() {
                    Ok(ip) => SocketAddr::new(ip, config.port),
                    Err(_) => {
                        return Err(io::Error::new(
                            ErrorKind::InvalidInput,
                            format!("Invalid bind address '{addr}'"),
                        ));
                    }
                };
                match TcpListener::bind(sa) {
                    Ok(mut l) => {
                        poll.registry().register(
                            &mut l,
                            Token(LISTENER_TOKEN_BASE - i),
                            Interest::READABLE,
                        )?;
                        listeners.push((l, sa));
                    }
                    Err(e) if optional => {
                        warn!(
                            "Could not create server TCP listening socket {sa}: {e} (optional, skipped)"
                        );
                    }
                    Err(e) => {
                        return Err(io::Error::new(
                            e.kind(),
                            format!("Could not create server TCP listening socket {sa}: {e}"),
                        ));
                    }
                }
            }
            if listeners.is_empty() {
                return Err(io::Error::new(
                    ErrorKind::AddrNotAvailable,
                    "Failed listening on any bind address",
                ));
            }
        }
        let signal_flag = Arc::new(AtomicBool::new(false));
        let sigint_flag = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGTERM, signal_flag.clone())?;
        signal_hook::flag::register(signal_hook::consts::SIGINT, sigint_flag.clone())?;
        // Past RLIMIT_FSIZE a write raises SIGXFSZ, which kills by default; with a handler
        // the write fails with EFBIG instead, and the AOF's write-error path handles it.
        signal_hook::flag::register(
            signal_hook::consts::SIGXFSZ,
            Arc::new(AtomicBool::new(false)),
        )?;
        let mut rng = Rng::from_entropy();
        let run_id = rng.hex40();
        let now = unix_ms();
        Ok(Server {
            ks: Keyspace::new(config.databases),
            aof: Aof::new(&config),
            loading: false,
            expired_seen: 0,
            held: Vec::new(),
            rewrite: None,
            active_expire_enabled: true,
            manifest_retry: false,
            mem_peak: 0,
            rewrite_stats: crate::aof::rewrite::RewriteStats {
                last_ok: true,
                ..Default::default()
            },
            config,
            rng,
            now_ms: now,
            dirty: 0,
            stats: Stats::default(),
            cmdstats: vec![CmdStat::default(); cmd::COMMANDS.len()],
            substats: HashMap::new(),
            conns: Vec::new(),
            free_slots: Vec::new(),
            cas_dirty: Vec::new(),
            watched: HashMap::new(),
            monitors: Vec::new(),
            pending_write: Vec::new(),
            shutdown: None,
            start: Instant::now(),
            run_id,
            lastsave: now / 1000,
            cmd_clock: Instant::now(),
            next_client_id: 1,
            poll,
            listeners,
            signal_flag,
            sigint_flag,
        })
    }

    /// The time keys are checked against for expiry: never expired while the AOF is
    /// replayed, because the log holds a DEL where the live server expired a key.
    pub fn expiry_clock(&self) -> i64 {
        if self.loading { 0 } else { self.now_ms }
    }

    /// Number of connected clients.
    pub fn client_count(&self) -> usize {
        self.conns.len() - self.free_slots.len()
    }

    /// Runs the loop until a shutdown is requested.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let tick = Duration::from_millis(1000 / self.config.hz.max(1) as u64);
        let mut next_tick = Instant::now() + tick;
        info!("Ready to accept connections tcp");
        while self.shutdown.is_none() {
            // A rewrite in progress works in slices between events: do not sleep.
            let timeout = if self.rewrite.is_some() {
                Duration::ZERO
            } else {
                next_tick.saturating_duration_since(Instant::now())
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout))
                && e.kind() != ErrorKind::Interrupted
            {
                return Err(e);
            }
            self.now_ms = unix_ms();
            let clients_active = !events.is_empty();
            for ev in events.iter() {
                let t = ev.token().0;
                if t > LISTENER_TOKEN_BASE - self.listeners.len() && t <= LISTENER_TOKEN_BASE {
                    self.accept(LISTENER_TOKEN_BASE - t);
                    continue;
                }
                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                    self.handle_read(t);
                }
                if ev.is_writable() {
                    self.write_conn(t);
                }
            }
            if Instant::now() >= next_tick {
                self.cron();
                let tick = Duration::from_millis(1000 / self.config.hz.max(1) as u64);
                next_tick = Instant::now() + tick;
            }
            if self.rewrite.is_some() {
                self.rewrite_step(clients_active);
            }
            // Group commit: the log records of everything run in this iteration reach the
            // file (and the disk, under `always`) before any of their replies is written.
            self.flush_aof();
            self.flush_pending_writes();
        }
        self.cancel_rewrite();
        self.aof.stop();
        Ok(())
    }

    /// Flushes the AOF batch; releases held replies whose batch became safe.
    fn flush_aof(&mut self) {
        if !self.aof.logging() {
            return;
        }
        self.log_expired();
        if self.aof.flush(Instant::now()) {
            self.release_held();
        }
    }

    /// Queues for writing the clients whose replies waited for the AOF.
    pub fn release_held(&mut self) {
        let held = std::mem::take(&mut self.held);
        for slot in held {
            if let Some(Some(conn)) = self.conns.get_mut(slot)
                && !conn.queued_write
            {
                conn.queued_write = true;
                self.pending_write.push(slot);
            }
        }
    }

    /// Logs `DEL` for every key that expired since the last call.
    pub fn log_expired(&mut self) {
        if self.ks.stats.expired_total() == self.expired_seen {
            return;
        }
        self.expired_seen = self.ks.stats.expired_total();
        if !self.aof.logging() {
            return;
        }
        for (i, db) in self.ks.dbs.iter_mut().enumerate() {
            for x in db.expired_log.drain(..) {
                match x {
                    Expired::Key(k) => self.aof.log_del(i, &k),
                    Expired::Fields(k, fields) => self.aof.log_hdel(i, &k, &fields),
                }
            }
        }
    }

    /// Timer work: signals, active expiry, client timeouts, statistics.
    fn cron(&mut self) {
        self.now_ms = unix_ms();
        if self.signal_flag.swap(false, Ordering::Relaxed) {
            warn!("Received SIGTERM scheduling shutdown...");
            self.shutdown = Some(Shutdown::Signal("SIGTERM"));
        }
        if self.sigint_flag.swap(false, Ordering::Relaxed) {
            warn!("Received SIGINT scheduling shutdown...");
            self.shutdown = Some(Shutdown::Signal("SIGINT"));
        }
        if !self.loading && self.active_expire_enabled {
            self.ks.active_expire(self.now_ms, &mut self.rng);
        }
        if self.aof.logging() {
            self.log_expired();
            if self.aof.flush(Instant::now()) {
                self.release_held();
            }
            self.retry_manifest();
            self.maybe_auto_rewrite();
        }
        self.mem_peak = self.mem_peak.max(crate::alloc::allocated() as u64);
        // instantaneous_ops_per_sec: one sample per tick, scaled to a second.
        let elapsed = self.now_ms - self.stats.last_sample_ms;
        if elapsed >= 100 {
            let ops = self.stats.commands_processed - self.stats.last_sample_cmds;
            let i = self.stats.ops_idx % self.stats.ops_samples.len();
            self.stats.ops_samples[i] = ops * 1000 / elapsed as u64;
            self.stats.ops_idx += 1;
            self.stats.last_sample_ms = self.now_ms;
            self.stats.last_sample_cmds = self.stats.commands_processed;
        }
        if self.config.timeout > 0 {
            let limit = Duration::from_secs(self.config.timeout);
            let idle: Vec<usize> = self
                .conns
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.as_ref().map(|c| (i, c)))
                .filter(|(_, c)| !c.cl.monitor && c.cl.last_interaction.elapsed() > limit)
                .map(|(i, _)| i)
                .collect();
            for slot in idle {
                debug!("Closing idle client");
                self.close(slot);
            }
        }
    }

    fn accept(&mut self, li: usize) {
        loop {
            let (mut sock, addr) = match self.listeners[li].0.accept() {
                Ok(x) => x,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn!("Accepting client connection: {e}");
                    return;
                }
            };
            self.stats.connections_received += 1;
            if self.client_count() >= self.config.maxclients {
                let _ = sock.write(b"-ERR max number of clients reached\r\n");
                self.stats.rejected_connections += 1;
                continue;
            }
            let _ = sock.set_nodelay(true);
            let slot = match self.free_slots.pop() {
                Some(s) => s,
                None => {
                    self.conns.push(None);
                    self.cas_dirty.push(false);
                    self.conns.len() - 1
                }
            };
            if let Err(e) =
                self.poll
                    .registry()
                    .register(&mut sock, Token(slot), Interest::READABLE)
            {
                warn!("Registering client: {e}");
                self.free_slots.push(slot);
                continue;
            }
            let laddr = sock.local_addr().map(|a| a.to_string()).unwrap_or_default();
            let id = self.next_client_id;
            self.next_client_id += 1;
            let cl = ClientState::new(
                id,
                addr.to_string(),
                laddr,
                sock.as_raw_fd(),
                self.config.requirepass.is_none(),
            );
            debug!("Accepted {addr}");
            self.cas_dirty[slot] = false;
            self.conns[slot] = Some(Conn::new(sock, cl, self.config.proto_max_bulk_len));
        }
    }

    /// Reads what the socket has and runs the complete commands, until the socket would
    /// block, the client is paused by backpressure, or it must close.
    fn handle_read(&mut self, slot: usize) {
        let Some(mut conn) = self.conns.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let mut closed = false;
        // Commands left in the buffer by an earlier pause run before reading more.
        self.process(slot, &mut conn);
        while !conn.paused && !conn.cl.close_after_reply && !conn.kill {
            conn.reserve_read();
            let room = conn.rbuf.len() - conn.rlen;
            match conn.sock.read(&mut conn.rbuf[conn.rlen..]) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => {
                    // A short read drained the socket; data arriving later raises a new
                    // edge, so skip the extra read that would only return WouldBlock.
                    let drained = n < room;
                    conn.rlen += n;
                    self.stats.net_input_bytes += n as u64;
                    conn.cl.last_interaction = Instant::now();
                    if conn.rlen > self.config.client_query_buffer_limit {
                        warn!(
                            "Closing client that reached max query buffer length (addr={})",
                            conn.cl.addr
                        );
                        closed = true;
                        break;
                    }
                    self.process(slot, &mut conn);
                    if drained {
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    debug!("Reading from client: {e}");
                    closed = true;
                    break;
                }
            }
        }
        if closed || conn.kill {
            self.conns[slot] = Some(conn);
            self.close(slot);
            return;
        }
        if conn.pending_out() > 0 && !conn.queued_write {
            conn.queued_write = true;
            self.pending_write.push(slot);
        }
        self.conns[slot] = Some(conn);
    }

    /// Runs every complete command in the connection's buffer.
    fn process(&mut self, slot: usize, conn: &mut Conn) {
        self.cmd_clock = Instant::now();
        loop {
            if conn.cl.close_after_reply || conn.kill {
                break;
            }
            if conn.pending_out() > OUTPUT_PAUSE_LIMIT {
                conn.paused = true;
                break;
            }
            match conn.parser.parse(&conn.rbuf[..conn.rlen]) {
                Parsed::Command(src) => {
                    let buf: &[u8] = match src {
                        ArgSource::ReadBuf => &conn.rbuf,
                        ArgSource::Inline => &conn.parser.inline,
                    };
                    let args = Args {
                        buf,
                        ranges: &conn.parser.args,
                    };
                    self.dispatch(slot, &mut conn.cl, &mut conn.out, &args);
                    conn.parser.finish();
                }
                Parsed::Incomplete => break,
                Parsed::Error(e) => {
                    self.protocol_error(conn, e);
                    break;
                }
                Parsed::ErrorOwned(e) => {
                    self.protocol_error(conn, &e);
                    break;
                }
            }
        }
        conn.compact();
    }

    fn protocol_error(&mut self, conn: &mut Conn, msg: &str) {
        debug!("Protocol error ({msg}) from client {}", conn.cl.addr);
        Reply::new(&mut conn.out, conn.cl.resp3).error_text(&format!("ERR {msg}"));
        self.stats.total_error_replies += 1;
        conn.cl.close_after_reply = true;
    }

    /// Looks the command up, checks auth, arity and transaction state, then runs it.
    fn dispatch(&mut self, slot: usize, cl: &mut ClientState, out: &mut Vec<u8>, args: &Args) {
        let cmd = match cmd::lookup(args.get(0)) {
            Some(c) => c,
            None => {
                self.reject(cl, out, &cmd::unknown_command_error(args));
                return;
            }
        };
        if !cl.authenticated && cmd.flags & flags::NO_AUTH == 0 {
            self.reject(
                cl,
                out,
                &crate::error::CmdError::Custom("NOAUTH Authentication required.".into()),
            );
            return;
        }
        if !cmd::arity_ok(cmd.arity, args.len()) {
            self.cmdstats[cmd::index_of(cmd)].rejected += 1;
            self.reject(
                cl,
                out,
                &crate::error::CmdError::Arity(cmd.name.to_string()),
            );
            return;
        }
        let sub = match cmd::check_subcommand(cmd, args) {
            Ok(s) => s,
            Err(e) => {
                self.reject(cl, out, &e);
                return;
            }
        };
        if self.aof.write_blocked() && self.denied_by_disk_error(cmd, cl) {
            let text = format!(
                "MISCONF Errors writing to the AOF file: {}",
                crate::aof::strerror_errno(self.aof.write_errno)
            );
            if cmd.name == "exec" {
                cl.multi = None;
                self.unwatch_all(slot, cl);
            }
            self.cmdstats[cmd::index_of(cmd)].rejected += 1;
            self.reject(cl, out, &crate::error::CmdError::Custom(text));
            return;
        }
        if let Some(m) = cl.multi.as_mut()
            && !matches!(
                cmd.name,
                "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
            )
        {
            if cmd.flags & flags::NO_MULTI != 0 {
                m.aborted = true;
                self.reject_plain(
                    out,
                    cl.resp3,
                    "ERR Command not allowed inside a transaction",
                );
                return;
            }
            m.queued.push(args.to_owned_cmd());
            out.extend_from_slice(crate::resp::reply::QUEUED);
            return;
        }
        execute(self, slot, cl, out, cmd, sub, args);
    }

    /// Redis refuses writes, PING, and an EXEC holding writes while the AOF cannot be
    /// written.
    fn denied_by_disk_error(&self, cmd: &Command, cl: &ClientState) -> bool {
        if cmd.flags & flags::WRITE != 0 || cmd.name == "ping" {
            return true;
        }
        cmd.name == "exec"
            && cl.multi.as_ref().is_some_and(|m| {
                m.queued.iter().any(|(buf, ranges)| {
                    let a = Args { buf, ranges };
                    cmd::lookup(a.get(0)).is_some_and(|c| c.flags & flags::WRITE != 0)
                })
            })
    }

    fn reject(&mut self, cl: &mut ClientState, out: &mut Vec<u8>, e: &crate::error::CmdError) {
        if let Some(m) = cl.multi.as_mut() {
            m.aborted = true;
        }
        self.stats.total_error_replies += 1;
        Reply::new(out, cl.resp3).error(e);
    }

    fn reject_plain(&mut self, out: &mut Vec<u8>, resp3: bool, text: &str) {
        self.stats.total_error_replies += 1;
        Reply::new(out, resp3).error_text(text);
    }

    /// Writes pending output of every client queued during this iteration.
    fn flush_pending_writes(&mut self) {
        while !self.pending_write.is_empty() {
            let batch = std::mem::take(&mut self.pending_write);
            for &slot in &batch {
                self.write_conn(slot);
            }
            if self.pending_write.is_empty() {
                // Keep the allocation for the next iteration.
                self.pending_write = batch;
                self.pending_write.clear();
                break;
            }
        }
    }

    /// Writes as much output as the socket takes; asks for WRITABLE if some is left.
    fn write_conn(&mut self, slot: usize) {
        let Some(mut conn) = self.conns.get_mut(slot).and_then(Option::take) else {
            return;
        };
        conn.queued_write = false;
        if conn.cl.aof_ack > self.aof.durable_id {
            // Its last write is not yet safe in the AOF: the reply waits (group commit).
            self.held.push(slot);
            self.conns[slot] = Some(conn);
            return;
        }
        let mut failed = false;
        while conn.out_pos < conn.out.len() {
            match conn.sock.write(&conn.out[conn.out_pos..]) {
                Ok(0) => {
                    failed = true;
                    break;
                }
                Ok(n) => {
                    conn.out_pos += n;
                    self.stats.net_output_bytes += n as u64;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    debug!("Writing to client: {e}");
                    failed = true;
                    break;
                }
            }
        }
        if failed || conn.kill {
            self.conns[slot] = Some(conn);
            self.close(slot);
            return;
        }
        if conn.out_pos == conn.out.len() {
            conn.out.clear();
            conn.out_pos = 0;
            if conn.out.capacity() > OUTPUT_SHRINK {
                conn.out = Vec::new();
            }
            if conn.want_write {
                conn.want_write = false;
                let _ = self.poll.registry().reregister(
                    &mut conn.sock,
                    Token(slot),
                    Interest::READABLE,
                );
            }
            if conn.cl.close_after_reply {
                self.conns[slot] = Some(conn);
                self.close(slot);
                return;
            }
            let resume = conn.paused;
            conn.paused = false;
            self.conns[slot] = Some(conn);
            if resume {
                self.handle_read(slot);
            }
            return;
        }
        // Drop the written prefix of a large buffer so it does not grow forever.
        if conn.out_pos > OUTPUT_SHRINK {
            conn.out.drain(..conn.out_pos);
            conn.out_pos = 0;
        }
        if !conn.want_write {
            conn.want_write = true;
            let _ = self.poll.registry().reregister(
                &mut conn.sock,
                Token(slot),
                Interest::READABLE | Interest::WRITABLE,
            );
        }
        self.conns[slot] = Some(conn);
    }

    /// Closes the connection in `slot` and forgets everything about it.
    pub fn close(&mut self, slot: usize) {
        let Some(mut conn) = self.conns.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut conn.sock);
        self.unwatch_all(slot, &mut conn.cl);
        self.monitors.retain(|&m| m != slot);
        self.cas_dirty[slot] = false;
        self.free_slots.push(slot);
        debug!(
            "Client closed connection id={} addr={}",
            conn.cl.id, conn.cl.addr
        );
    }

    /// Queues output for `slot` (used for MONITOR lines to other clients). A MONITOR
    /// client cannot be paused like a command client, so one that stops reading is
    /// disconnected once its backlog passes `MONITOR_OUTPUT_LIMIT`.
    pub fn push_output(&mut self, slot: usize, bytes: &[u8]) {
        if let Some(Some(conn)) = self.conns.get_mut(slot) {
            if conn.pending_out() > MONITOR_OUTPUT_LIMIT {
                if !conn.kill {
                    warn!(
                        "Closing MONITOR client that stopped reading (addr={}, {} bytes pending)",
                        conn.cl.addr,
                        conn.pending_out()
                    );
                }
                conn.kill = true;
            } else {
                conn.out.extend_from_slice(bytes);
            }
            if !conn.queued_write {
                conn.queued_write = true;
                self.pending_write.push(slot);
            }
        }
    }

    // ---- WATCH bookkeeping -------------------------------------------------------------

    pub fn watch(&mut self, slot: usize, cl: &mut ClientState, key: &[u8]) {
        let db = cl.db;
        if cl.watched.iter().any(|(d, k, _)| *d == db && &**k == key) {
            return;
        }
        let existed = self.ks.dbs[db]
            .get(key, self.now_ms, &mut self.ks.stats)
            .is_some();
        cl.watched.push((db, key.into(), existed));
        self.watched.entry(key.into()).or_default().push((db, slot));
    }

    pub fn unwatch_all(&mut self, slot: usize, cl: &mut ClientState) {
        for (db, key, _) in cl.watched.drain(..) {
            if let Some(v) = self.watched.get_mut(&key) {
                v.retain(|&(d, s)| !(d == db && s == slot));
                if v.is_empty() {
                    self.watched.remove(&key);
                }
            }
        }
        if let Some(d) = self.cas_dirty.get_mut(slot) {
            *d = false;
        }
    }

    /// True if EXEC must fail: a watched key was modified, or a key that existed when
    /// watched has expired since. Every explicit change touches watchers directly; expiry
    /// does not, so it is checked here, as Redis does.
    pub fn is_cas_dirty(&mut self, slot: usize, cl: &ClientState) -> bool {
        if self.cas_dirty.get(slot).copied().unwrap_or(false) {
            return true;
        }
        let now = self.now_ms;
        cl.watched.iter().any(|(db, key, existed)| {
            *existed && self.ks.dbs[*db].get(key, now, &mut self.ks.stats).is_none()
        })
    }

    /// A key in `db` was modified: fail the transactions watching it.
    pub fn touch_key(&mut self, db: usize, key: &[u8]) {
        if self.watched.is_empty() {
            return;
        }
        if let Some(v) = self.watched.get(key) {
            for &(d, s) in v {
                if d == db {
                    self.cas_dirty[s] = true;
                }
            }
        }
    }

    /// Every existing watched key of `db` counts as modified (FLUSHDB, SWAPDB).
    pub fn touch_db(&mut self, db: usize) {
        if self.watched.is_empty() {
            return;
        }
        let now = self.now_ms;
        let dbref = &mut self.ks.dbs[db];
        for (key, v) in &self.watched {
            for &(d, s) in v {
                if d == db && dbref.get(key, now, &mut self.ks.stats).is_some() {
                    self.cas_dirty[s] = true;
                }
            }
        }
    }

    /// Every connected client except the caller, for CLIENT LIST / KILL.
    pub fn other_clients(&self) -> impl Iterator<Item = (usize, &Conn)> {
        self.conns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().map(|c| (i, c)))
    }

    /// Removes the pid file, if one was written.
    pub fn finish(&mut self) {
        if !self.config.pidfile.is_empty() {
            let _ = std::fs::remove_file(&self.config.pidfile);
        }
    }
}

/// Runs one command whose lookup and checks passed: feeds MONITOR, times it, replies with
/// its error if it fails, and invalidates WATCHes on the keys it changed.
pub fn execute(
    srv: &mut Server,
    slot: usize,
    cl: &mut ClientState,
    out: &mut Vec<u8>,
    cmd: &'static Command,
    sub: Option<&'static SubCommand>,
    args: &Args,
) {
    trace!("command {}", cmd.name);
    let dirty_before = srv.dirty;
    let db = cl.db;
    let logging = srv.aof.logging() && !srv.loading;
    if logging {
        // Keys that expired outside a command (WATCH, a read) are logged before this
        // command's record, which may recreate them.
        srv.log_expired();
        if srv.rewrite.is_some() && cmd.flags & flags::WRITE != 0 {
            // Copy-before-write: the rewrite's snapshot gets these keys as they are now.
            let mut keys = Vec::new();
            cmd::command_keys(cmd, args, &mut keys);
            for k in keys {
                srv.rewrite_touch(db, k);
            }
        }
    }
    // Set before the call: CLIENT INFO/LIST show the command being run, as Redis does.
    cl.last_cmd = sub.map_or(cmd.name, |s| s.full);
    let resp3 = cl.resp3;
    let result = {
        let mut ctx = Ctx {
            srv: &mut *srv,
            cl: &mut *cl,
            out: Reply::new(out, resp3),
            slot,
        };
        let r = (cmd.handler)(&mut ctx, args);
        if let Err(e) = &r {
            ctx.out.error(e);
        }
        r
    };
    let end = Instant::now();
    // Containers are counted per subcommand (`cmdstat_config|get`), as Redis does.
    let st = match sub {
        Some(s) => srv.substats.entry(s.full).or_default(),
        None => &mut srv.cmdstats[cmd::index_of(cmd)],
    };
    st.calls += 1;
    st.usec += end.saturating_duration_since(srv.cmd_clock).as_micros() as u64;
    srv.cmd_clock = end;
    if result.is_err() {
        st.failed += 1;
        srv.stats.total_error_replies += 1;
    }
    srv.stats.commands_processed += 1;
    if logging {
        srv.log_expired();
        if srv.dirty != dirty_before && cmd.flags & flags::WRITE != 0 {
            srv.aof.log_command(db, args.iter());
            cl.aof_ack = srv.aof.batch_id;
        } else {
            srv.aof.drop_override();
        }
    }
    // Fed after the command ran, like Redis, so a SELECT shows the new database.
    if !srv.monitors.is_empty() && cmd.flags & flags::SKIP_MONITOR == 0 {
        feed_monitors(srv, slot, cl, args);
    }
    if srv.dirty != dirty_before && cmd.flags & flags::WRITE != 0 && !srv.watched.is_empty() {
        let mut keys = Vec::new();
        cmd::command_keys(cmd, args, &mut keys);
        for k in keys {
            srv.touch_key(db, k);
        }
    }
}

/// Runs one command queued by MULTI, from inside EXEC.
pub fn call_queued(c: &mut Ctx, args: &Args) {
    let Some(cmd) = cmd::lookup(args.get(0)) else {
        return;
    };
    // Checked when queued; looked up again only to name it in statistics.
    let sub = cmd::check_subcommand(cmd, args).ok().flatten();
    execute(c.srv, c.slot, c.cl, c.out.buf, cmd, sub, args);
}

/// Sends the command to every MONITOR client, formatted like Redis:
/// `+<unix.micro> [<db> <addr>] "arg" "arg"`.
fn feed_monitors(srv: &mut Server, slot: usize, cl: &ClientState, args: &Args) {
    let us = unix_us();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        cl.db,
        cl.addr
    );
    for a in args.iter() {
        line.push(' ');
        repr_into(&mut line, a);
    }
    line.push_str("\r\n");
    let monitors = srv.monitors.clone();
    for m in monitors {
        if m != slot {
            srv.push_output(m, line.as_bytes());
        }
    }
}

/// Appends `s` quoted and escaped the way Redis's `sdscatrepr` does.
pub fn repr_into(out: &mut String, s: &[u8]) {
    out.push('"');
    for &c in s {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
}
