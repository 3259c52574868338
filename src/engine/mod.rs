//! The engine: the data and everything that follows from changing it, apart from the
//! network. It owns the configuration, the keyspace, WATCH bookkeeping, the write stream
//! and its consumers (the AOF, a test tap), the running snapshot consumer (the AOF
//! rewrite), and the counters INFO reports. Command handlers reach it through `Ctx`; the
//! event loop (`server.rs`) drives its timers and, before writing replies, hands the
//! iteration's records to the consumers (`before_sleep`).
//!
//! The engine knows nothing of connections or commands: it does not import `cmd` or
//! `server`, and persistence (`aof/`) does not import it.

pub mod blocking;
pub mod evict;
pub mod persist;
pub mod rdb_load;
pub mod repl;
pub mod save;
pub mod watch;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::acl::Acl;
use crate::aof::Aof;
use crate::aof::rewrite::Rewrite;
use crate::config::Config;
use crate::keyspace::{Expired, Keyspace};
use crate::notify::{Notifier, class};
use crate::rand::Rng;
use crate::resp::encode::push_select;
use crate::stream::WriteStream;
use watch::Watches;

/// Per-command call statistics (INFO commandstats).
#[derive(Debug, Default, Clone, Copy)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// Server-wide counters reported by INFO (the loop adds the network ones).
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

    /// Takes one instantaneous_ops_per_sec sample (timer), scaled to a second.
    fn sample_ops(&mut self, now_ms: i64) {
        let elapsed = now_ms - self.last_sample_ms;
        if elapsed >= 100 {
            let ops = self.commands_processed - self.last_sample_cmds;
            let i = self.ops_idx % self.ops_samples.len();
            self.ops_samples[i] = ops * 1000 / elapsed as u64;
            self.ops_idx += 1;
            self.last_sample_ms = now_ms;
            self.last_sample_cmds = self.commands_processed;
        }
    }
}

/// How SHUTDOWN was asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shutdown {
    Signal(&'static str),
    Command,
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

pub struct Engine {
    pub config: Config,
    pub ks: Keyspace,
    pub rng: Rng,
    /// Unix time in ms, refreshed once per loop iteration and per timer tick.
    pub now_ms: i64,
    /// Count of changes since start (Redis's `server.dirty`).
    pub dirty: u64,
    pub stats: Stats,
    /// Per command and subcommand, by the id the command registry gives it.
    pub cmdstats: Vec<CmdStat>,
    pub watches: Watches,
    /// Clients waiting in blocking commands.
    pub blocking: blocking::Blocking,
    pub stream: WriteStream,
    /// DEBUG WRITE-STREAM: a copy of every record, for tests.
    pub tap: Option<Vec<u8>>,
    pub aof: Aof,
    /// The AOF rewrite in progress: the consumer of a snapshot.
    pub rewrite: Option<Box<Rewrite>>,
    /// The RDB save in progress (BGSAVE, save points): another snapshot consumer.
    pub save: Option<Box<crate::rdb::save::Save>>,
    pub rdb: save::RdbStats,
    /// Replication as a master: ID, offset, backlog, replica links.
    pub master: crate::repl::master::Master,
    /// Replication as a replica (REPLICAOF host port); None for a master.
    pub replica: Option<crate::repl::replica::ReplicaOf>,
    /// Connections to a former master, for the loop to close.
    pub closing_master_slots: Vec<usize>,
    /// SHUTDOWN SAVE (true) or NOSAVE (false); None: save if `save` points are set.
    pub shutdown_save: Option<bool>,
    /// Replaying the AOF: keys do not expire, relative times are not re-evaluated,
    /// nothing is recorded.
    pub loading: bool,
    /// A command of our master's replication stream is running: as during a replay,
    /// nothing expires (the master sends a DEL when a key expires there).
    pub applying_master: bool,
    /// EXEC is running a transaction's commands.
    pub in_exec: bool,
    /// The keys the running command changed, when its handler names them itself
    /// (`Ctx::touched`): a pop from the first non-empty of several keys changed one.
    /// Cleared, not freed, after each command.
    pub touched: Vec<crate::types::bytes::Bytes>,
    /// The handler named its changed keys in `touched`.
    pub touched_named: bool,
    /// `ks.stats.expired_total()` when expired keys were last handed to the stream.
    expired_seen: u64,
    /// DEBUG SET-ACTIVE-EXPIRE.
    pub active_expire_enabled: bool,
    /// Highest `used_memory` seen by the timer (INFO used_memory_peak).
    pub mem_peak: u64,
    pub shutdown: Option<Shutdown>,
    pub start: Instant,
    pub run_id: String,
    pub lastsave: i64,
    /// End of the previous command (start of the next) for commandstats timing: one clock
    /// read per command instead of two.
    pub cmd_clock: Instant,
    /// `maxmemory` eviction state (see `evict.rs`).
    pub evictor: evict::Evictor,
    /// ACL users and the ACL log.
    pub acl: Acl,
    /// Pub/sub subscriptions, server-wide.
    pub pubsub: crate::pubsub::Registry,
    /// Keyspace notifications: the classes wanted, the events not yet published.
    pub notify: Notifier,
    /// The keyspace records what expires (`drain_expired` hands it on): for the write
    /// stream, or for notifications. True whenever either is on, so one test after each
    /// command covers both.
    pub expiry_log: bool,
}

impl Engine {
    /// An empty engine for `config`, with statistics for `commands` command ids and the
    /// users of `acl`.
    pub fn new(config: Config, commands: usize, acl: Acl) -> Engine {
        let mut rng = Rng::from_entropy();
        let run_id = rng.hex40();
        let replid = rng.hex40();
        let now = unix_ms();
        let mut ks = Keyspace::new(config.databases);
        ks.set_lazy(config.lazyfree);
        let mut eng = Engine {
            ks,
            aof: Aof::new(&config),
            config,
            rng,
            now_ms: now,
            dirty: 0,
            stats: Stats::default(),
            cmdstats: vec![CmdStat::default(); commands],
            watches: Watches::default(),
            blocking: Default::default(),
            stream: WriteStream::new(),
            tap: None,
            rewrite: None,
            save: None,
            master: crate::repl::master::Master::new(replid),
            replica: None,
            closing_master_slots: Vec::new(),
            shutdown_save: None,
            rdb: save::RdbStats {
                last_ok: true,
                ..Default::default()
            },
            loading: false,
            applying_master: false,
            in_exec: false,
            touched: Vec::new(),
            touched_named: false,
            expired_seen: 0,
            active_expire_enabled: true,
            mem_peak: 0,
            shutdown: None,
            start: Instant::now(),
            run_id,
            lastsave: now / 1000,
            cmd_clock: Instant::now(),
            evictor: Default::default(),
            acl,
            pubsub: Default::default(),
            notify: Notifier::default(),
            expiry_log: false,
        };
        eng.refresh_access();
        eng.refresh_notify();
        eng
    }

    /// Moves the engine's clock (once per loop iteration and timer run): expiry checks
    /// and the access clocks lookups write follow it.
    pub fn set_now(&mut self, now_ms: i64) {
        let second = now_ms / 1000 != self.now_ms / 1000;
        self.now_ms = now_ms;
        if second || self.config.maxmemory.policy.lfu() {
            self.refresh_access();
        }
    }

    /// The time keys are checked against for expiry: never expired while the AOF is
    /// replayed, nor while our master's stream runs, because the log (the stream) holds a
    /// DEL where the live server (the master) expired a key. A replica that expired a key
    /// itself before the master's stream caught up would apply, say, an INCRBY the master
    /// ran on the live key to a new one.
    #[inline]
    pub fn expiry_clock(&self) -> i64 {
        if self.loading || self.applying_master {
            0
        } else {
            self.now_ms
        }
    }

    /// True if `at` (absolute ms) is already past, so setting it deletes the key. Never
    /// while replaying the AOF or running the master's stream: they say what happened next.
    #[inline]
    pub fn already_expired(&self, at: i64) -> bool {
        !self.loading && !self.applying_master && at <= self.now_ms
    }

    /// Turns the write stream on while someone consumes it (the AOF logs, a tap is
    /// attached) and nothing is being replayed; the keyspace records expirations only
    /// then. Call after any change to those.
    pub fn refresh_stream(&mut self) {
        let on =
            (self.aof.logging() || self.tap.is_some() || self.master.feeding()) && !self.loading;
        if on != self.stream.active() {
            self.stream.set_active(on);
            self.refresh_expiry_log();
        }
        if std::mem::take(&mut self.aof.file_switched) {
            // A new AOF file replays from database 0.
            self.stream.force_select();
        }
    }

    /// Applies `notify-keyspace-events` (at start and after CONFIG SET): the classes to
    /// publish, and whether the keyspace records created and expired keys for them.
    /// Nothing is published while data loads (an RDB, the AOF, a replica's full sync),
    /// as in Redis: no `new` per loaded key, no queue of events nobody drains yet.
    pub fn refresh_notify(&mut self) {
        let flags = if self.loading {
            0
        } else {
            self.config.notify_flags
        };
        self.notify.configure(flags);
        self.ks.set_log_new(self.notify.wants(class::NEW));
        self.refresh_expiry_log();
    }

    /// The keyspace records expirations while the write stream or notifications are on
    /// (`expired`, `hexpired` need them; `expiry_log` also gates publishing events).
    fn refresh_expiry_log(&mut self) {
        let on = self.stream.active() || self.notify.on();
        if on != self.expiry_log {
            self.expiry_log = on;
            self.ks.set_log_expired(on);
            self.expired_seen = self.ks.stats.expired_total();
        }
    }

    /// Reports a keyspace event (Redis's notifyKeyspaceEvent): one branch while
    /// notifications are off. Keys created since the last event are reported (`new`)
    /// first, as Redis reports a key's creation before what the command did with it.
    #[inline]
    pub fn notify(&mut self, class: u32, name: &'static str, db: usize, key: &[u8]) {
        if self.notify.on() {
            self.queue_event(class, name, db, key);
        }
    }

    #[inline(never)]
    fn queue_event(&mut self, class: u32, name: &'static str, db: usize, key: &[u8]) {
        if self.notify.wants(class::NEW) {
            self.drain_new();
        }
        self.notify.event(class, name, db, key);
    }

    /// Turns the keys created since the last call into `new` events.
    pub fn drain_new(&mut self) {
        for (i, db) in self.ks.dbs.iter_mut().enumerate() {
            for k in db.new_log.drain(..) {
                self.notify.event(class::NEW, "new", i, &k);
            }
        }
    }

    /// Hands the keys and fields that expired since the last call to the stream as DEL
    /// and HDEL records (while it is on), and reports them as `expired`, `hexpired` (and
    /// `del` for a hash its expired fields emptied) events.
    pub fn drain_expired(&mut self) {
        let total = self.ks.stats.expired_total();
        if total == self.expired_seen {
            return;
        }
        self.expired_seen = total;
        let record = self.stream.active();
        for (i, db) in self.ks.dbs.iter_mut().enumerate() {
            for x in db.expired_log.drain(..) {
                let (key, emptied) = match x {
                    Expired::Key(k) => {
                        if record {
                            self.stream.del(i, &k);
                        }
                        self.notify.event(class::EXPIRED, "expired", i, &k);
                        continue;
                    }
                    Expired::Hash(k) => {
                        if record {
                            self.stream.del(i, &k);
                        }
                        (k, true)
                    }
                    Expired::Fields {
                        key,
                        count,
                        bulks,
                        emptied,
                    } => {
                        if record {
                            self.stream.hdel(i, &key, count, &bulks);
                        }
                        (key, emptied)
                    }
                };
                self.notify.event(class::HASH, "hexpired", i, &key);
                if emptied {
                    self.notify.event(class::GENERIC, "del", i, &key);
                }
            }
        }
    }

    /// Hands every record collected so far to the consumers: the tap copies them, the
    /// AOF takes them as (part of) its next batch.
    pub fn flush_stream(&mut self) {
        if !self.stream.active() {
            return;
        }
        self.drain_expired();
        let (tap, aof, master) = (&mut self.tap, &mut self.aof, &mut self.master);
        self.stream.hand_over(|records| {
            if let Some(t) = tap {
                t.extend_from_slice(records);
            }
            master.feed(records);
            if aof.logging() {
                aof.append(records);
            }
        });
    }

    /// Before replies are written: the records of this iteration reach the AOF (and the
    /// disk, under `always`). The loop then releases replies whose batch became safe.
    pub fn before_sleep(&mut self) {
        if self.expiry_log {
            // Keys that expired outside commands, for notifications (and the stream).
            self.drain_expired();
        }
        self.flush_stream();
        if self.aof.logging() {
            self.aof.flush(Instant::now());
        }
    }

    /// Timer work of the engine: active expiry, AOF retries and automatic rewrite,
    /// memory peak, the ops/sec sample.
    pub fn cron(&mut self) {
        self.set_now(unix_ms());
        // A replica leaves expiry to its master, as Redis's replicas do.
        if !self.loading && self.active_expire_enabled && self.replica.is_none() {
            self.ks.active_expire(self.now_ms, &mut self.rng);
        }
        // Finish what a command's eviction had no time for.
        self.evict();
        if self.aof.logging() {
            self.before_sleep();
            self.aof.retry_manifest();
            self.maybe_auto_rewrite();
        }
        self.maybe_auto_save();
        self.repl_cron();
        self.mem_peak = self.mem_peak.max(crate::alloc::allocated() as u64);
        self.stats.sample_ops(self.now_ms);
    }

    /// Copy-before-write: a command is about to change `key` of `db`, so every snapshot
    /// still to write it gets it first, as it is now. Each snapshot consumer is called
    /// here: the AOF rewrite, an RDB save, each replica's full sync.
    #[inline]
    pub fn before_write(&mut self, db: usize, key: &[u8]) {
        if let Some(rw) = self.rewrite.as_mut() {
            rw.copy_before_write(&mut self.ks, db, key, self.now_ms);
        }
        if let Some(s) = self.save.as_mut() {
            s.copy_before_write(&mut self.ks, db, key, self.now_ms);
        }
        for l in &mut self.master.links {
            if let crate::repl::master::LinkState::Sync { save: Some(s), .. } = &mut l.state {
                s.copy_before_write(&mut self.ks, db, key, self.now_ms);
            }
        }
    }

    /// A snapshot is being walked: writes must call `before_write` for their keys.
    #[inline]
    pub fn snapshots_active(&self) -> bool {
        self.rewrite.is_some() || self.save.is_some() || self.master.syncing()
    }

    /// DEBUG WRITE-STREAM START: from now on every record is also copied to the tap,
    /// which starts with a SELECT of the database in effect. Other consumers see no change.
    pub fn tap_start(&mut self) {
        self.flush_stream();
        let mut tap = Vec::new();
        match self.stream.selected_db() {
            Some(db) if self.stream.active() => push_select(&mut tap, db),
            // Nobody else reads: the next record may as well carry the SELECT.
            _ => self.stream.force_select(),
        }
        self.tap = Some(tap);
        self.refresh_stream();
    }

    /// DEBUG WRITE-STREAM STOP.
    pub fn tap_stop(&mut self) {
        self.flush_stream();
        self.tap = None;
        self.refresh_stream();
    }

    /// DEBUG WRITE-STREAM READ: the records since the last read, including those of
    /// the current loop iteration.
    pub fn tap_read(&mut self) -> Option<Vec<u8>> {
        self.flush_stream();
        self.tap.as_mut().map(std::mem::take)
    }
}
