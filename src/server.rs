//! The event loop: one thread, one `mio::Poll`, every client non-blocking.
//!
//! `Server` is the engine (`engine/`) plus the network side (`Net`): the poll, the
//! listeners, the connections and their buffers. Each iteration: wait for events (at most
//! until the next timer tick), read from every readable client until it would block, run
//! every complete command in its buffer (pipelining) through `cmd::dispatch`, then, once
//! all events are handled, let the engine hand the iteration's records to the AOF
//! (`Engine::before_sleep`) and only then write the replies of every client with output.
//! Writing after the whole batch is what makes group commit work (Redis's "before sleep"
//! ordering): a reply never leaves before its write is as durable as the fsync policy
//! promises. A client whose unsent output grows past a limit stops being read until it
//! drains, so a slow reader cannot make the server buffer without bound.
//!
//! Commands see the other connections only through the `cmd::Clients` view `Net` gives
//! them (CLIENT LIST / KILL, MONITOR feeds, the client count).

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use crate::client::ClientState;
use crate::cmd::{self, Args, Clients};
use crate::conn::Conn;
use crate::engine::{Engine, Shutdown, unix_ms};
use crate::keyspace::PREFETCH_MAX;
use crate::resp::parse::{ArgSource, Parsed};
use crate::resp::reply::Reply;

/// Stop running a client's commands while this much of its output is unsent.
pub const OUTPUT_PAUSE_LIMIT: usize = 32 * 1024 * 1024;
/// Input one client may have read and run per loop iteration before the others get a
/// turn. Redis reads 16 KB per turn; a little more is cheaper for pipelining clients,
/// and this much (about two thousand small commands, a fraction of a millisecond) keeps
/// every other client's wait short while one floods (a client sending 100 MB of SETs
/// held PINGs up to 215 ms before; 5 ms after, on this loaded machine).
const READ_BUDGET: usize = 64 * 1024;
/// Disconnect a MONITOR client whose unsent output exceeds this.
const MONITOR_OUTPUT_LIMIT: usize = 64 * 1024 * 1024;
/// Release an output buffer's memory after it drains if it grew beyond this.
const OUTPUT_SHRINK: usize = 1024 * 1024;
/// A listening socket on `sa` with a queue of `backlog` connections (`tcp-backlog`, as
/// Redis; mio's own bind asks for 128, and a burst of more clients than that waits a
/// second or more for the SYN retry), address reuse on, and IPv6 sockets IPv6-only so
/// `bind * ::*` can listen on both.
mod replica_link;

fn listen(sa: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let sock = Socket::new(Domain::for_address(sa), Type::STREAM, None)?;
    if sa.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.set_reuse_address(true)?;
    sock.bind(&sa.into())?;
    sock.listen(backlog)?;
    sock.set_nonblocking(true)?;
    Ok(TcpListener::from_std(sock.into()))
}

/// Redis's start-up warning when the kernel will shorten the configured listen queue.
fn warn_if_backlog_capped(backlog: i32) {
    let Ok(text) = std::fs::read_to_string("/proc/sys/net/core/somaxconn") else {
        return;
    };
    if let Ok(max) = text.trim().parse::<i32>()
        && max < backlog
    {
        warn!(
            "WARNING: The TCP backlog setting of {backlog} cannot be enforced because /proc/sys/net/core/somaxconn is set to the lower value of {max}."
        );
    }
}

/// Connections accepted per listener per loop iteration (Redis's `MAX_ACCEPTS_PER_CALL`).
const MAX_ACCEPTS_PER_CALL: usize = 1000;
/// Listener tokens count down from the top of the token space; clients use their slot.
const LISTENER_TOKEN_BASE: usize = usize::MAX - 64;

/// How long the loop polls without sleeping after an iteration with client events.
///
/// With many clients doing one request at a time (`redis-benchmark -P 1`), a loop that is
/// faster than Redis's finds the socket queues empty more often and sleeps in epoll_wait;
/// each request then has to wake it, and the wake-up (an inter-processor interrupt and a
/// context switch, a few microseconds) is paid by the client's send and adds to every
/// round trip. Redis, busier per request, is asleep less often. Polling for a few
/// microseconds before sleeping catches the next request without the wake-up: measured on
/// 2 cores at `-P 1`, 0.96-0.98x Redis's requests per second without, 1.05-1.07x with
/// 10 us, for about 5% more server CPU per request.
const BUSY_POLL: Duration = Duration::from_micros(10);
/// Most sleeps skipped between two busy polls that find nothing, so an idle or lightly
/// loaded server spends at most `BUSY_POLL` per this many wake-ups on polling.
const BUSY_POLL_BACKOFF_MAX: u32 = 1024;

/// When to poll busily (see `BUSY_POLL`): after an iteration with events, unless recent
/// busy polls found nothing (then exponentially less often).
#[derive(Default)]
struct BusyPoll {
    /// The last iteration had events.
    hot: bool,
    /// Sleeps to take before the next busy poll.
    skip: u32,
    backoff: u32,
}

impl BusyPoll {
    fn wanted(&mut self) -> bool {
        if !self.hot {
            return false;
        }
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        true
    }

    fn spun(&mut self, found: bool) {
        if found {
            self.backoff = 0;
        } else {
            self.backoff = (self.backoff * 2).clamp(1, BUSY_POLL_BACKOFF_MAX);
            self.skip = self.backoff;
        }
    }
}

/// The network side: everything about connections, nothing about data.
pub struct Net {
    poll: Poll,
    listeners: Vec<(TcpListener, SocketAddr)>,
    /// Connections by slot; a slot is `None` while free or while its client runs a command.
    conns: Vec<Option<Box<Conn>>>,
    free_slots: Vec<usize>,
    /// Slots of MONITOR clients.
    monitors: Vec<usize>,
    /// The normal class's `client-output-buffer-limit`, copied from the config before
    /// commands run (MONITOR feeds are checked against it).
    obuf_normal: crate::config::ObufLimit,
    /// The pubsub class's limit, copied likewise (published messages are checked
    /// against it).
    obuf_pubsub: crate::config::ObufLimit,
    /// Slot of every client by id (published messages name their subscribers by id).
    slot_of: HashMap<u64, usize>,
    /// Slots with output to write at the end of the iteration.
    pending_write: Vec<usize>,
    /// Slots whose replies wait for an AOF batch to become safe.
    held: Vec<usize>,
    /// `durable_id` of the AOF when held replies were last released.
    released_at: u64,
    /// Slots killed by CLIENT KILL, closed once the killing command returns.
    doomed: Vec<usize>,
    /// Slots that used their read budget with input maybe left in the socket: they read
    /// again next iteration (the poll is edge-triggered and will not say so again).
    more_input: Vec<usize>,
    /// Listeners that still had connections waiting when `accept` stopped at
    /// `MAX_ACCEPTS_PER_CALL` (edge-triggered: no new event would come for them).
    more_accepts: Vec<usize>,
    /// Slot of each client waiting in a blocking command, by client id (the engine
    /// names waiters by id).
    blocked_slots: HashMap<u64, usize>,
    next_client_id: u64,
    /// Slot of each replica link's connection, by client id (the engine names links by
    /// id).
    replica_slots: HashMap<u64, usize>,
    /// Slots of clients waiting in WAIT.
    waiting: Vec<usize>,
    /// A replica's RDB could be produced further (its socket had room): do not sleep.
    sync_room: bool,
    signal_flag: Arc<AtomicBool>,
    sigint_flag: Arc<AtomicBool>,
}

/// The whole server: the engine and the network side.
pub struct Server {
    pub eng: Engine,
    net: Net,
}

/// `tcp-keepalive`: probes after `secs` idle seconds, then every third of that, and the
/// peer is dead after 3 unanswered probes, as Redis's `anetKeepAlive` sets them. A dead
/// peer's connection is closed by the kernel instead of lingering for hours.
fn set_keepalive(sock: &mio::net::TcpStream, secs: u64) {
    let ka = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(secs))
        .with_interval(Duration::from_secs((secs / 3).max(1)))
        .with_retries(3);
    if let Err(e) = socket2::SockRef::from(sock).set_tcp_keepalive(&ka) {
        debug!("Setting TCP keepalive: {e}");
    }
}

/// True if `conn`'s unsent output is past `limit`: at or over the hard limit, or at or over
/// the soft limit continuously for more than its seconds (counted from the first time it
/// was seen there), as Redis judges it. Logs the disconnection Redis's way.
fn over_output_limit(conn: &mut Conn, limit: crate::config::ObufLimit) -> bool {
    let used = conn.pending_out();
    let hard = limit.hard > 0 && used >= limit.hard;
    let mut soft = false;
    if limit.soft > 0 && used >= limit.soft {
        let now = Instant::now();
        let since = *conn.obuf_soft_since.get_or_insert(now);
        soft = now.duration_since(since).as_secs() > limit.soft_secs;
    } else {
        conn.obuf_soft_since = None;
    }
    if hard || soft {
        warn!(
            "Client id={} addr={} name={} scheduled to be closed ASAP for overcoming of output buffer limits.",
            conn.cl.id,
            conn.cl.addr,
            String::from_utf8_lossy(&conn.cl.name)
        );
    }
    hard || soft
}

/// `REPLCONF GETACK *` in the replication stream: replicas answer with their offset.
const GETACK: &[u8] = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";
/// How often WAITs are checked while clients wait in one.
const WAIT_CHECK: Duration = Duration::from_millis(5);

/// Redis 7.0's refusal of a non-loopback client while `protected-mode` is on and no
/// password is set, word for word (typo included): scripts match on it.
const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// The peers protected mode lets in: exactly 127.0.0.1 and ::1, as Redis 7.0 compares
/// them (another 127.x address, or 127.0.0.1 mapped into IPv6, is outside).
fn is_loopback_peer(addr: &std::net::SocketAddr) -> bool {
    match addr.ip() {
        std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
        std::net::IpAddr::V6(ip) => ip == std::net::Ipv6Addr::LOCALHOST,
    }
}

impl Server {
    /// Creates the server around `eng` and binds its listeners. Fails if no address could
    /// be bound.
    pub fn new(eng: Engine) -> io::Result<Server> {
        let poll = Poll::new()?;
        let listeners = bind(&poll, &eng)?;
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
        Ok(Server {
            eng,
            net: Net {
                poll,
                listeners,
                conns: Vec::new(),
                free_slots: Vec::new(),
                monitors: Vec::new(),
                obuf_normal: Default::default(),
                obuf_pubsub: Default::default(),
                slot_of: HashMap::new(),
                pending_write: Vec::new(),
                held: Vec::new(),
                released_at: 0,
                doomed: Vec::new(),
                more_input: Vec::new(),
                more_accepts: Vec::new(),
                blocked_slots: HashMap::new(),
                next_client_id: 1,
                replica_slots: HashMap::new(),
                waiting: Vec::new(),
                sync_room: false,
                signal_flag,
                sigint_flag,
            },
        })
    }

    /// Runs the loop until a shutdown is requested.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut next_tick = Instant::now() + self.tick();
        let mut busy = BusyPoll::default();
        info!("Ready to accept connections tcp");
        while self.eng.shutdown.is_none() {
            // A rewrite in progress works in slices between events, and clients with
            // input left over read it next: do not sleep.
            let timeout = if self.eng.rewrite.is_some()
                || self.eng.save.is_some()
                || self.net.sync_room
                || !self.net.more_input.is_empty()
                || !self.net.more_accepts.is_empty()
            {
                Duration::ZERO
            } else {
                let mut wake = match self.eng.blocking.next_deadline() {
                    Some(d) => d.min(next_tick),
                    None => next_tick,
                };
                if !self.net.waiting.is_empty() {
                    // WAIT deadlines and acknowledgements are checked every few ms.
                    wake = wake.min(Instant::now() + WAIT_CHECK);
                }
                wake.saturating_duration_since(Instant::now())
            };
            let r = if !timeout.is_zero() && busy.wanted() {
                self.busy_poll(&mut events, timeout, &mut busy)
            } else {
                self.net.poll.poll(&mut events, Some(timeout))
            };
            busy.hot = !events.is_empty();
            if let Err(e) = r
                && e.kind() != ErrorKind::Interrupted
            {
                return Err(e);
            }
            self.eng.set_now(unix_ms());
            let clients_active = !events.is_empty() || !self.net.more_input.is_empty();
            for slot in std::mem::take(&mut self.net.more_input) {
                self.handle_read(slot, true);
            }
            for li in std::mem::take(&mut self.net.more_accepts) {
                self.accept(li);
            }
            for ev in events.iter() {
                let t = ev.token().0;
                let nl = self.net.listeners.len();
                if t > LISTENER_TOKEN_BASE - nl && t <= LISTENER_TOKEN_BASE {
                    self.accept(LISTENER_TOKEN_BASE - t);
                    continue;
                }
                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                    self.handle_read(t, ev.is_read_closed() || ev.is_error());
                }
                if ev.is_writable() {
                    self.master_connected(t);
                    self.write_conn(t);
                }
            }
            if self.eng.blocking.clients() > 0 {
                self.expire_blocked();
            }
            if Instant::now() >= next_tick {
                self.cron();
                next_tick = Instant::now() + self.tick();
            }
            if self.eng.rewrite.is_some() {
                self.eng.rewrite_step(clients_active);
            }
            if self.eng.save.is_some() {
                self.eng.save_step(clients_active);
            }
            // Group commit: the records of everything run in this iteration reach the
            // file (and the disk, under `always`) before any of their replies is written.
            self.eng.before_sleep();
            if self.eng.notify.has_pending() {
                // Keys that expired or were evicted outside commands.
                let mut none = Vec::new();
                let mut out = Reply::new(&mut none, false);
                cmd::pubsub::publish_events(&mut self.eng, &mut self.net, 0, &mut out);
            }
            if !self.eng.master.links.is_empty() {
                self.pump_replicas(clients_active);
            }
            if !self.net.waiting.is_empty() {
                self.check_waits();
            }
            self.release_held();
            self.flush_pending_writes();
        }
        self.eng.save_on_shutdown();
        self.eng.stop_persistence();
        Ok(())
    }

    /// Polls without sleeping for up to `BUSY_POLL`, then, if nothing came, sleeps as usual.
    fn busy_poll(
        &mut self,
        events: &mut Events,
        timeout: Duration,
        busy: &mut BusyPoll,
    ) -> io::Result<()> {
        let until = Instant::now() + BUSY_POLL;
        loop {
            self.net.poll.poll(events, Some(Duration::ZERO))?;
            if !events.is_empty() || Instant::now() >= until {
                break;
            }
            std::hint::spin_loop();
        }
        busy.spun(!events.is_empty());
        if events.is_empty() {
            self.net.poll.poll(events, Some(timeout))?;
        }
        Ok(())
    }

    /// Time between timer runs (`hz`).
    fn tick(&self) -> Duration {
        Duration::from_millis(1000 / self.eng.config.hz.max(1) as u64)
    }

    /// Queues for writing the clients whose replies waited for the AOF, once the AOF
    /// made more batches safe.
    fn release_held(&mut self) {
        let durable = self.eng.aof.durable_id;
        if durable == self.net.released_at {
            return;
        }
        self.net.released_at = durable;
        for slot in std::mem::take(&mut self.net.held) {
            self.net.queue_write(slot);
        }
    }

    /// Timer work: signals, the engine's timers, client timeouts.
    fn cron(&mut self) {
        if self.net.signal_flag.swap(false, Ordering::Relaxed) {
            warn!("Received SIGTERM scheduling shutdown...");
            self.eng.shutdown = Some(Shutdown::Signal("SIGTERM"));
        }
        if self.net.sigint_flag.swap(false, Ordering::Relaxed) {
            warn!("Received SIGINT scheduling shutdown...");
            self.eng.shutdown = Some(Shutdown::Signal("SIGINT"));
        }
        self.eng.cron();
        if self.eng.replica.is_some() || !self.eng.closing_master_slots.is_empty() {
            self.replica_cron();
        }
        self.release_held();
        if self.eng.config.timeout > 0 {
            let limit = Duration::from_secs(self.eng.config.timeout);
            let idle: Vec<usize> = self
                .net
                .live()
                .filter(|(_, c)| !c.cl.monitor && c.cl.last_interaction.elapsed() > limit)
                .map(|(i, _)| i)
                .collect();
            for slot in idle {
                debug!("Closing idle client");
                self.close(slot);
            }
        }
    }

    /// Accepts the connections waiting on listener `li`, at most `MAX_ACCEPTS_PER_CALL`
    /// (as Redis), so a connection storm cannot keep the loop from serving the clients it
    /// has; the rest are accepted on the next iterations.
    fn accept(&mut self, li: usize) {
        for _ in 0..MAX_ACCEPTS_PER_CALL {
            let (mut sock, addr) = match self.net.listeners[li].0.accept() {
                Ok(x) => x,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn!("Accepting client connection: {e}");
                    return;
                }
            };
            self.eng.stats.connections_received += 1;
            if self.net.count() >= self.eng.config.maxclients {
                let _ = sock.write(b"-ERR max number of clients reached\r\n");
                self.eng.stats.rejected_connections += 1;
                continue;
            }
            if self.eng.config.protected_mode
                && self.eng.acl.default_nopass()
                && !is_loopback_peer(&addr)
            {
                debug!("Denied {addr}: protected mode");
                let _ = sock.write(PROTECTED_MODE_DENIED);
                self.eng.stats.rejected_connections += 1;
                continue;
            }
            let _ = sock.set_nodelay(true);
            if self.eng.config.tcp_keepalive > 0 {
                set_keepalive(&sock, self.eng.config.tcp_keepalive);
            }
            let slot = match self.net.free_slots.pop() {
                Some(s) => s,
                None => {
                    self.net.conns.push(None);
                    self.net.conns.len() - 1
                }
            };
            if let Err(e) =
                self.net
                    .poll
                    .registry()
                    .register(&mut sock, Token(slot), Interest::READABLE)
            {
                warn!("Registering client: {e}");
                self.net.free_slots.push(slot);
                continue;
            }
            let laddr = sock.local_addr().map(|a| a.to_string()).unwrap_or_default();
            let id = self.net.next_client_id;
            self.net.next_client_id += 1;
            let cl = ClientState::new(
                id,
                addr.to_string(),
                laddr,
                sock.as_raw_fd(),
                self.eng.acl.default_open(),
            );
            debug!("Accepted {addr}");
            self.net.slot_of.insert(id, slot);
            self.net.conns[slot] = Some(Box::new(Conn::new(
                sock,
                cl,
                self.eng.config.proto_max_bulk_len,
            )));
        }
        self.net.more_accepts.push(li);
    }

    /// Reads what the socket has and runs the complete commands, until the socket would
    /// block, the client is paused by backpressure, or it must close. With `eof_hint`
    /// (the peer may have hung up, or an earlier turn stopped early) it reads on past a
    /// short read to see the end of the stream: a client that sent its last bytes and
    /// its FIN together raises no further event, and was left open forever.
    fn handle_read(&mut self, slot: usize, eof_hint: bool) {
        let Some(mut conn) = self.net.take(slot) else {
            return;
        };
        let mut closed = false;
        // Commands left in the buffer by an earlier pause run before reading more.
        self.process(slot, &mut conn);
        let mut budget = READ_BUDGET;
        while !conn.paused && !conn.cl.close_after_reply && !conn.kill {
            if budget == 0 {
                // Its turn is over; the socket may hold more.
                self.net.more_input.push(slot);
                break;
            }
            conn.reserve_read();
            // No single read past the budget either: a buffer grown by a big argument
            // would otherwise take megabytes of small commands at once.
            let room = (conn.rbuf.len() - conn.rlen).min(budget.max(crate::conn::READ_CHUNK));
            match conn.sock.read(&mut conn.rbuf[conn.rlen..conn.rlen + room]) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => {
                    // A short read drained the socket; data arriving later raises a new
                    // edge, so skip the extra read that would only return WouldBlock.
                    let drained = n < room;
                    budget = budget.saturating_sub(n);
                    conn.rlen += n;
                    self.eng.stats.net_input_bytes += n as u64;
                    conn.cl.last_interaction = Instant::now();
                    if conn.rlen > self.eng.config.client_query_buffer_limit {
                        warn!(
                            "Closing client that reached max query buffer length (addr={})",
                            conn.cl.addr
                        );
                        closed = true;
                        break;
                    }
                    self.process(slot, &mut conn);
                    if drained && !eof_hint {
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
        self.net.sync_monitor(slot, &conn);
        let (close, output) = (closed || conn.kill, conn.pending_out() > 0);
        self.net.conns[slot] = Some(conn);
        if close {
            self.close(slot);
        } else if output {
            self.net.queue_write(slot);
        }
        for victim in std::mem::take(&mut self.net.doomed) {
            self.close(victim);
        }
    }

    /// Runs every complete command in the connection's buffer (of the client in `slot`),
    /// until it is paused, closing or waiting in a blocking command.
    fn process(&mut self, slot: usize, conn: &mut Conn) {
        self.eng.cmd_clock = Instant::now();
        if conn.cl.is_master {
            // Anything from the master (stream, PING) shows the link alive: `repl-timeout`
            // and INFO's master_last_io_seconds_ago count from here.
            if let Some(r) = self.eng.replica.as_mut()
                && r.slot == Some(slot)
            {
                r.last_io = Instant::now();
            }
            if !self.eng.replica.as_ref().is_some_and(|r| r.up()) {
                // Handshake replies and the full sync's RDB, until the stream begins.
                self.master_input(slot, conn);
                if !self.eng.replica.as_ref().is_some_and(|r| r.up()) {
                    return;
                }
            }
        }
        self.net.obuf_normal = self.eng.config.obuf_normal;
        self.net.obuf_pubsub = self.eng.config.obuf_pubsub;
        // A pipeline of commands is known before the first runs: fetch their keys'
        // cache lines together (see `Db::prefetch`). Only when they are about to run: a
        // blocked, paused or closing client's buffer would be looked at again on every
        // packet it sends.
        let runnable = !conn.cl.close_after_reply
            && !conn.kill
            && !conn.paused
            && conn.cl.blocked.is_none()
            && conn.cl.wait_repl.is_none()
            && (conn.cl.authenticated || self.eng.acl.default_open());
        let mut keys = [(0, 0); PREFETCH_MAX];
        let n = if runnable {
            conn.parser.peek_keys(&conn.rbuf[..conn.rlen], &mut keys)
        } else {
            0
        };
        if n > 1 {
            let buf = &conn.rbuf;
            self.eng.ks.dbs[conn.cl.db].prefetch(keys[..n].iter().map(|&(a, b)| &buf[a..b]));
        }
        // The client's class as the batch starts (a SUBSCRIBE in it changes the class
        // from the next batch on: checking per command cost 1% of a GET's instructions).
        let limit = self.net.obuf_limit(conn);
        loop {
            if conn.cl.close_after_reply
                || conn.kill
                || conn.cl.blocked.is_some()
                || conn.cl.wait_repl.is_some()
            {
                break;
            }
            if conn.cl.replica {
                // A replica's output is the stream, under its own limit (`pump_replicas`).
            } else if limit.is_set() {
                // The operator's limit decides: past it the client is closed, as in Redis.
                if over_output_limit(conn, limit) {
                    conn.kill = true;
                    break;
                }
            } else if conn.pending_out() > OUTPUT_PAUSE_LIMIT {
                // No limit set: stop running its commands until it reads (backpressure).
                conn.paused = true;
                break;
            }
            // Checked per command: an AUTH earlier in the same pipeline lifts the limits.
            conn.parser.unauthenticated = !conn.cl.authenticated && !self.eng.acl.default_open();
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
                    let (was_replica, out_len) = (conn.cl.replica, conn.out.len());
                    let at = conn.parser.consumed();
                    cmd::dispatch(
                        &mut self.eng,
                        &mut self.net,
                        &mut conn.cl,
                        &mut conn.out,
                        &args,
                    );
                    conn.parser.finish();
                    if conn.cl.is_master {
                        // The master's stream: every byte moves our offset; nothing is
                        // answered but REPLCONF GETACK.
                        if let Some(r) = self.eng.replica.as_mut() {
                            let n = (conn.parser.consumed() - at) as i64;
                            if conn.cl.multi.is_some() {
                                r.multi_bytes += n;
                            } else {
                                r.offset += n + std::mem::take(&mut r.multi_bytes);
                            }
                            r.db = conn.cl.db;
                        }
                        if !std::mem::take(&mut conn.cl.keep_reply) {
                            conn.out.truncate(out_len);
                        }
                    }
                    if conn.cl.replica {
                        if was_replica {
                            // A replica's commands (REPLCONF ACK) are not answered.
                            conn.out.truncate(out_len);
                        } else {
                            self.net.replica_slots.insert(conn.cl.id, slot);
                        }
                    }
                    if conn.cl.wait_repl.is_some() {
                        self.net.waiting.push(slot);
                    }
                    if let Some(b) = &conn.cl.blocked {
                        self.eng.blocking.add(conn.cl.id, b);
                        self.net.blocked_slots.insert(conn.cl.id, slot);
                    }
                    if self.eng.blocking.has_ready() {
                        // As Redis: waiters are served right after the command that
                        // gave them data, before this client's next command.
                        self.serve_blocked();
                    }
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
        let limit = self.net.obuf_limit(conn);
        if limit.is_set() && !conn.cl.replica && !conn.kill && over_output_limit(conn, limit) {
            conn.kill = true;
        }
        conn.compact();
    }

    /// Serves the clients waiting on keys that just changed, key by key in the order the
    /// keys changed, and each key's waiters in the order they blocked: each one's command
    /// runs again while the key holds data of the type it wants (a pop that empties it
    /// ends the round for that key). Serving can fill other keys (BLMOVE pushes), which
    /// are served in turn. A served client's pipelined commands run next iteration.
    fn serve_blocked(&mut self) {
        while self.eng.blocking.has_ready() {
            for (db, key, waiters) in self.eng.blocking.take_ready() {
                for id in waiters {
                    let Some(&slot) = self.net.blocked_slots.get(&id) else {
                        continue;
                    };
                    let now = self.eng.expiry_clock();
                    let ks = &mut self.eng.ks;
                    let held = ks.dbs[db]
                        .peek(&key, now, &mut ks.stats)
                        .map(|e| e.val.type_name());
                    let Some(held) = held else {
                        break; // Gone (emptied by an earlier waiter): nobody else gets it.
                    };
                    let Some(mut conn) = self.net.take(slot) else {
                        continue;
                    };
                    if conn.cl.blocked.as_ref().is_none_or(|b| b.want != held) {
                        self.net.conns[slot] = Some(conn);
                        continue;
                    }
                    let b = conn.cl.blocked.take().expect("checked above");
                    self.eng.blocking.remove(id, &b);
                    self.net.blocked_slots.remove(&id);
                    let args = Args {
                        buf: &b.args.0,
                        ranges: &b.args.1,
                    };
                    self.eng.cmd_clock = Instant::now();
                    conn.cl.woken_by = Some(key.clone());
                    cmd::dispatch(
                        &mut self.eng,
                        &mut self.net,
                        &mut conn.cl,
                        &mut conn.out,
                        &args,
                    );
                    conn.cl.woken_by = None;
                    if let Some(again) = conn.cl.blocked.as_mut() {
                        // Nothing after all: it waits on, with its first deadline.
                        again.deadline = b.deadline;
                        self.eng.blocking.add(id, again);
                        self.net.blocked_slots.insert(id, slot);
                    } else {
                        self.net.more_input.push(slot);
                    }
                    self.net.conns[slot] = Some(conn);
                    self.net.queue_write(slot);
                }
            }
        }
    }

    /// Moves each replica link's bytes into its connection, producing more of a full
    /// sync's RDB while the connection has room for it (so an RDB is never held whole in
    /// memory). Closes links that are over (RDB-only syncs, failed syncs) and replicas
    /// past the `replica` output limit.
    fn pump_replicas(&mut self, busy: bool) {
        if self.eng.master.getack_wanted {
            self.eng.master.getack_wanted = false;
            self.eng.master.feed(GETACK);
        }
        let limit = self.eng.config.obuf_replica;
        self.net.sync_room = false;
        let mut i = 0;
        while i < self.eng.master.links.len() {
            let id = self.eng.master.links[i].client_id;
            let Some(&slot) = self.net.replica_slots.get(&id) else {
                i += 1;
                continue;
            };
            let Some(Some(conn)) = self.net.conns.get_mut(slot) else {
                i += 1;
                continue;
            };
            let room = conn.pending_out() < crate::repl::master::SYNC_WINDOW;
            let bytes = self.eng.repl_pump(i, room, busy);
            conn.out.extend_from_slice(&bytes);
            let link = &self.eng.master.links[i];
            if room && link.syncing() && !link.done {
                self.net.sync_room = true;
            }
            if link.done {
                conn.cl.close_after_reply = true;
            }
            if limit.is_set() && link.online() && over_output_limit(conn, limit) {
                conn.kill = true;
            }
            self.net.queue_write(slot);
            i += 1;
        }
    }

    /// Answers the WAITs whose replicas acknowledged enough, or whose time is up.
    fn check_waits(&mut self) {
        let now = Instant::now();
        let mut i = 0;
        while i < self.net.waiting.len() {
            let slot = self.net.waiting[i];
            let Some(Some(conn)) = self.net.conns.get_mut(slot) else {
                self.net.waiting.swap_remove(i);
                continue;
            };
            let Some(w) = conn.cl.wait_repl else {
                self.net.waiting.swap_remove(i);
                continue;
            };
            let acked = self.eng.master.acked(w.offset);
            if acked >= w.replicas || w.deadline.is_some_and(|d| now >= d) {
                conn.cl.wait_repl = None;
                Reply::new(&mut conn.out, conn.cl.resp3).int(acked as i64);
                self.net.waiting.swap_remove(i);
                self.net.more_input.push(slot);
                self.net.queue_write(slot);
                continue;
            }
            i += 1;
        }
    }

    /// Ends the waits whose timeout has passed, with their timeout replies.
    fn expire_blocked(&mut self) {
        for (deadline, id) in self.eng.blocking.due(Instant::now()) {
            let Some(&slot) = self.net.blocked_slots.get(&id) else {
                continue;
            };
            let Some(Some(conn)) = self.net.conns.get_mut(slot) else {
                continue;
            };
            if conn
                .cl
                .blocked
                .as_ref()
                .is_none_or(|b| b.deadline != Some(deadline))
            {
                continue;
            }
            let b = conn.cl.blocked.take().expect("checked above");
            crate::cmd::blocking::reply_timeout(
                &mut Reply::new(&mut conn.out, conn.cl.resp3),
                b.on_timeout,
            );
            self.eng.blocking.remove(id, &b);
            self.net.blocked_slots.remove(&id);
            self.net.more_input.push(slot);
            self.net.queue_write(slot);
        }
    }

    fn protocol_error(&mut self, conn: &mut Conn, msg: &str) {
        debug!("Protocol error ({msg}) from client {}", conn.cl.addr);
        Reply::new(&mut conn.out, conn.cl.resp3).error_text(&format!("ERR {msg}"));
        self.eng.stats.total_error_replies += 1;
        conn.cl.close_after_reply = true;
    }

    /// Writes pending output of every client queued during this iteration.
    fn flush_pending_writes(&mut self) {
        while !self.net.pending_write.is_empty() {
            let batch = std::mem::take(&mut self.net.pending_write);
            for &slot in &batch {
                self.write_conn(slot);
            }
            if self.net.pending_write.is_empty() {
                // Keep the allocation for the next iteration.
                self.net.pending_write = batch;
                self.net.pending_write.clear();
                break;
            }
        }
    }

    /// Writes as much output as the socket takes; asks for WRITABLE if some is left.
    fn write_conn(&mut self, slot: usize) {
        let Some(mut conn) = self.net.take(slot) else {
            return;
        };
        conn.queued_write = false;
        if conn.cl.aof_ack > self.eng.aof.durable_id {
            // Its last write is not yet safe in the AOF: the reply waits (group commit).
            self.net.held.push(slot);
            self.net.conns[slot] = Some(conn);
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
                    self.eng.stats.net_output_bytes += n as u64;
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
            self.net.conns[slot] = Some(conn);
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
                let _ = self.net.poll.registry().reregister(
                    &mut conn.sock,
                    Token(slot),
                    Interest::READABLE,
                );
            }
            if conn.cl.close_after_reply {
                self.net.conns[slot] = Some(conn);
                self.close(slot);
                return;
            }
            let resume = conn.paused;
            conn.paused = false;
            self.net.conns[slot] = Some(conn);
            if resume {
                self.handle_read(slot, true);
            }
            return;
        }
        // Drop the written prefix of a large buffer so it does not grow forever, once it
        // is bigger than what is left: each byte then moves at most once on average
        // (moving the rest after every megabyte made a big reply quadratic).
        if conn.out_pos > OUTPUT_SHRINK && conn.out_pos >= conn.pending_out() {
            conn.out.drain(..conn.out_pos);
            conn.out_pos = 0;
        }
        if !conn.want_write {
            conn.want_write = true;
            let _ = self.net.poll.registry().reregister(
                &mut conn.sock,
                Token(slot),
                Interest::READABLE | Interest::WRITABLE,
            );
        }
        self.net.conns[slot] = Some(conn);
    }

    /// Closes the connection in `slot` and forgets everything about it.
    fn close(&mut self, slot: usize) {
        let Some(mut conn) = self.net.take(slot) else {
            return;
        };
        let _ = self.net.poll.registry().deregister(&mut conn.sock);
        self.eng.unwatch_all(&mut conn.cl);
        self.eng.pubsub.drop_client(&mut conn.cl.subs, conn.cl.id);
        self.net.slot_of.remove(&conn.cl.id);
        if let Some(b) = conn.cl.blocked.take() {
            self.eng.blocking.remove(conn.cl.id, &b);
            self.net.blocked_slots.remove(&conn.cl.id);
        }
        self.net.monitors.retain(|&m| m != slot);
        if conn.cl.replica {
            self.eng.detach_replica(conn.cl.id);
            self.net.replica_slots.remove(&conn.cl.id);
        }
        if conn.cl.is_master {
            self.master_closed(slot);
        }
        self.net.waiting.retain(|&w| w != slot);
        self.net.free_slots.push(slot);
        debug!(
            "Client closed connection id={} addr={}",
            conn.cl.id, conn.cl.addr
        );
    }

    /// Removes the pid file, if one was written.
    pub fn finish(&mut self) {
        if !self.eng.config.pidfile.is_empty() {
            let _ = std::fs::remove_file(&self.eng.config.pidfile);
        }
    }
}

/// Binds the configured addresses (none with `port 0`); a `-` marks an optional one.
fn bind(poll: &Poll, eng: &Engine) -> io::Result<Vec<(TcpListener, SocketAddr)>> {
    let config = &eng.config;
    let mut listeners = Vec::new();
    if config.port == 0 {
        return Ok(listeners);
    }
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
        match listen(sa, config.tcp_backlog) {
            Ok(mut l) => {
                poll.registry().register(
                    &mut l,
                    Token(LISTENER_TOKEN_BASE - i),
                    Interest::READABLE,
                )?;
                listeners.push((l, sa));
            }
            Err(e) if optional => {
                warn!("Could not create server TCP listening socket {sa}: {e} (optional, skipped)");
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("Could not create server TCP listening socket {sa}: {e}"),
                ));
            }
        }
    }
    warn_if_backlog_capped(config.tcp_backlog);
    if listeners.is_empty() {
        return Err(io::Error::new(
            ErrorKind::AddrNotAvailable,
            "Failed listening on any bind address",
        ));
    }
    Ok(listeners)
}

impl Net {
    /// Takes the connection out of its slot while it is worked on.
    fn take(&mut self, slot: usize) -> Option<Box<Conn>> {
        self.conns.get_mut(slot).and_then(Option::take)
    }

    /// Connections in their slots (not the one running a command).
    fn live(&self) -> impl Iterator<Item = (usize, &Conn)> {
        self.conns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_deref().map(|c| (i, c)))
    }

    /// The output limit of `conn`'s class: pubsub for a client with a subscription, as
    /// in Redis, else normal.
    fn obuf_limit(&self, conn: &Conn) -> crate::config::ObufLimit {
        if conn.cl.subs.active() {
            self.obuf_pubsub
        } else {
            self.obuf_normal
        }
    }

    /// Queues `slot` for writing at the end of the iteration.
    fn queue_write(&mut self, slot: usize) {
        if let Some(Some(conn)) = self.conns.get_mut(slot)
            && !conn.queued_write
        {
            conn.queued_write = true;
            self.pending_write.push(slot);
        }
    }

    /// Keeps the MONITOR list in step with the client's flag (MONITOR sets it, RESET
    /// clears it).
    fn sync_monitor(&mut self, slot: usize, conn: &Conn) {
        let listed = self.monitors.contains(&slot);
        if conn.cl.monitor && !listed {
            self.monitors.push(slot);
        } else if !conn.cl.monitor && listed {
            self.monitors.retain(|&m| m != slot);
        }
    }
}

impl Clients for Net {
    fn count(&self) -> usize {
        // Killed clients are closed once the killer's command returns; they no longer count.
        self.conns.len() - self.free_slots.len() - self.doomed.len()
    }

    fn each(&self, f: &mut dyn FnMut(&ClientState, usize, usize)) {
        for (_, conn) in self.live() {
            if !conn.kill {
                f(&conn.cl, conn.rlen, conn.pending_out());
            }
        }
    }

    fn kill(&mut self, matches: &dyn Fn(&ClientState) -> bool) -> usize {
        let mut n = 0;
        for (slot, c) in self.conns.iter_mut().enumerate() {
            if let Some(conn) = c
                && !conn.kill
                && matches(&conn.cl)
            {
                conn.kill = true;
                self.doomed.push(slot);
                n += 1;
            }
        }
        n
    }

    fn has_monitors(&self) -> bool {
        !self.monitors.is_empty()
    }

    fn can_block(&self) -> bool {
        true
    }

    fn unblock(&mut self, id: u64, error: bool) -> Option<Box<crate::client::Blocked>> {
        let slot = *self.blocked_slots.get(&id)?;
        let conn = self.conns.get_mut(slot)?.as_mut()?;
        let b = conn.cl.blocked.take()?;
        self.blocked_slots.remove(&id);
        let mut out = Reply::new(&mut conn.out, conn.cl.resp3);
        if error {
            out.error_text("UNBLOCKED client unblocked via CLIENT UNBLOCK");
        } else {
            crate::cmd::blocking::reply_timeout(&mut out, b.on_timeout);
        }
        self.more_input.push(slot);
        self.queue_write(slot);
        Some(b)
    }

    /// A subscriber that stops reading is disconnected at the pubsub class's output limit
    /// (hard, or soft for longer than its seconds), as in Redis; with no limit set its
    /// output grows.
    fn deliver(&mut self, id: u64, head: &[u8], tail: &[u8]) {
        let Some(&slot) = self.slot_of.get(&id) else {
            return;
        };
        let Some(Some(conn)) = self.conns.get_mut(slot) else {
            return;
        };
        if conn.kill {
            return;
        }
        crate::cmd::pubsub::push_message(&mut conn.out, conn.cl.resp3, head, tail);
        if self.obuf_pubsub.is_set() && over_output_limit(conn, self.obuf_pubsub) {
            conn.kill = true;
        }
        self.queue_write(slot);
    }

    /// A MONITOR client cannot be paused like a command client, so one that stops
    /// reading is disconnected at the normal class's output limit, or, with none set,
    /// once its backlog passes `MONITOR_OUTPUT_LIMIT`.
    fn feed_monitors(&mut self, line: &[u8]) {
        for i in 0..self.monitors.len() {
            let slot = self.monitors[i];
            let Some(Some(conn)) = self.conns.get_mut(slot) else {
                continue;
            };
            if conn.kill {
                continue;
            }
            let over = if self.obuf_normal.is_set() {
                over_output_limit(conn, self.obuf_normal)
            } else if conn.pending_out() > MONITOR_OUTPUT_LIMIT {
                warn!(
                    "Closing MONITOR client that stopped reading (addr={}, {} bytes pending)",
                    conn.cl.addr,
                    conn.pending_out()
                );
                true
            } else {
                false
            };
            if over {
                conn.kill = true;
            } else {
                conn.out.extend_from_slice(line);
            }
            self.queue_write(slot);
        }
    }
}
