//! The INFO reply: Redis's section and field names, so monitoring tools and client
//! libraries that parse INFO (ioredis's ready check reads `loading`) work unchanged.
//!
//! Each section is a function that lists its fields as (name, value) through `Fields`;
//! `SECTIONS` says their order, titles and which are in the default set.

use std::fmt::{Display, Write as _};

use super::Ctx;
use crate::pubsub::Kind;
use crate::{FERROKV_VERSION, REDIS_VERSION};

/// The lines of one section, `name:value\r\n`.
struct Fields(String);

impl Fields {
    fn add(&mut self, name: &str, value: impl Display) -> &mut Self {
        let _ = write!(self.0, "{name}:{value}\r\n");
        self
    }
}

type Render = fn(&Ctx, &mut Fields);

/// Every section in Redis's order: name, title, in the default set, renderer.
const SECTIONS: &[(&str, &str, bool, Render)] = &[
    ("server", "Server", true, server),
    ("clients", "Clients", true, clients),
    ("memory", "Memory", true, memory),
    ("persistence", "Persistence", true, persistence),
    ("stats", "Stats", true, stats),
    ("replication", "Replication", true, replication),
    ("cpu", "CPU", true, cpu),
    ("modules", "Modules", true, |_, _| {}),
    ("errorstats", "Errorstats", true, |_, _| {}),
    ("cluster", "Cluster", true, cluster),
    ("commandstats", "Commandstats", false, commandstats),
    ("keyspace", "Keyspace", true, keyspace),
];

/// Resident set size in bytes, from /proc (0 where unavailable).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Total RAM, from /proc/meminfo.
fn total_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// CPU time of this process (user, system) in seconds, from /proc.
fn cpu_times() -> (f64, f64) {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    let after = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    (ticks(11), ticks(12))
}

/// Redis's human-readable byte count (`1.23M`).
pub fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n < 1024.0 {
        format!("{n}B")
    } else if n < 1024.0 * 1024.0 {
        format!("{:.2}K", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", n / 1024.0 / 1024.0)
    } else {
        format!("{:.2}G", n / 1024.0 / 1024.0 / 1024.0)
    }
}

/// Renders the INFO text for the requested sections (none: the default set).
pub fn render(c: &Ctx, requested: &[String]) -> String {
    let has = |w: &str| requested.iter().any(|s| s == w);
    let default = requested.is_empty() || has("default");
    let all = has("all") || has("everything");
    let mut out = String::new();
    for &(name, title, in_default, section) in SECTIONS {
        let wanted = if default {
            in_default
        } else if all {
            // `all` lists commandstats too; only `default` leaves it out.
            true
        } else {
            has(name)
        };
        if !wanted {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = write!(out, "# {title}\r\n");
        let mut f = Fields(out);
        section(c, &mut f);
        out = f.0;
    }
    out
}

fn server(c: &Ctx, f: &mut Fields) {
    let eng = &*c.eng;
    let uptime = eng.start.elapsed().as_secs();
    let path = |p: Option<String>| p.unwrap_or_default();
    f.add("redis_version", REDIS_VERSION)
        .add("ferrokv_version", FERROKV_VERSION)
        .add("redis_git_sha1", "00000000")
        .add("redis_git_dirty", 0)
        .add("redis_build_id", 0)
        .add("redis_mode", "standalone")
        .add(
            "os",
            format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        )
        .add("arch_bits", 64)
        .add("monotonic_clock", "POSIX clock_gettime")
        .add("multiplexing_api", "epoll")
        .add("process_id", std::process::id())
        .add("process_supervised", "no")
        .add("run_id", &eng.run_id)
        .add("tcp_port", eng.config.port)
        .add("server_time_usec", crate::engine::unix_us())
        .add("uptime_in_seconds", uptime)
        .add("uptime_in_days", uptime / 86400)
        .add("hz", eng.config.hz)
        .add("configured_hz", eng.config.hz)
        .add(
            "executable",
            path(
                std::env::current_exe()
                    .ok()
                    .map(|p| p.display().to_string()),
            ),
        )
        .add(
            "config_file",
            path(
                eng.config
                    .config_file
                    .as_ref()
                    .map(|p| p.display().to_string()),
            ),
        )
        .add("io_threads_active", 0);
}

fn clients(c: &Ctx, f: &mut Fields) {
    f.add("connected_clients", c.clients.count())
        .add("cluster_connections", 0)
        .add("maxclients", c.eng.config.maxclients)
        .add("client_recent_max_input_buffer", 0)
        .add("client_recent_max_output_buffer", 0)
        .add("blocked_clients", c.eng.blocking.clients())
        .add("tracking_clients", 0)
        .add("clients_in_timeout_table", c.eng.blocking.timed());
}

fn memory(c: &Ctx, f: &mut Fields) {
    let used = crate::alloc::allocated() as u64;
    let rss = rss_bytes();
    let peak = c.eng.mem_peak.max(used);
    let total = total_memory();
    f.add("used_memory", used)
        .add("used_memory_human", human_bytes(used))
        .add("used_memory_rss", rss)
        .add("used_memory_rss_human", human_bytes(rss))
        .add("used_memory_peak", peak)
        .add("used_memory_peak_human", human_bytes(peak))
        .add("total_system_memory", total)
        .add("total_system_memory_human", human_bytes(total))
        .add("maxmemory", c.eng.config.maxmemory.bytes)
        .add("maxmemory_human", human_bytes(c.eng.config.maxmemory.bytes))
        .add(
            "maxmemory_policy",
            c.eng.config.get("maxmemory-policy").unwrap_or("noeviction"),
        )
        .add(
            "mem_fragmentation_ratio",
            format!("{:.2}", rss as f64 / used.max(1) as f64),
        )
        .add(
            "mem_not_counted_for_evict",
            used.saturating_sub(c.eng.used_for_maxmemory()),
        )
        .add("mem_allocator", "libc")
        .add("lazyfree_pending_objects", crate::lazyfree::pending())
        .add("lazyfreed_objects", crate::lazyfree::freed());
}

fn persistence(c: &Ctx, f: &mut Fields) {
    let eng = &*c.eng;
    let a = &eng.aof;
    let rw = eng.rewrite.as_ref();
    let sv = eng.save.as_ref();
    let st = &a.rewrites;
    f.add("loading", eng.loading as u8)
        .add("async_loading", 0)
        .add("current_cow_peak", 0)
        .add("current_cow_size", 0)
        .add("current_cow_size_age", 0)
        .add("current_fork_perc", "0.00")
        .add(
            "current_save_keys_processed",
            rw.map_or(0, |r| r.keys) + sv.map_or(0, |s| s.keys()),
        )
        .add("current_save_keys_total", 0)
        .add("rdb_changes_since_last_save", eng.dirty)
        .add("rdb_bgsave_in_progress", sv.is_some() as u8)
        .add("rdb_last_save_time", eng.lastsave)
        .add(
            "rdb_last_bgsave_status",
            if eng.rdb.last_ok { "ok" } else { "err" },
        )
        .add(
            "rdb_last_bgsave_time_sec",
            if eng.rdb.saves == 0 && eng.rdb.last_ok {
                -1
            } else {
                eng.rdb.last_secs
            },
        )
        .add(
            "rdb_current_bgsave_time_sec",
            sv.map_or(-1, |s| s.elapsed().as_secs() as i64),
        )
        .add("rdb_saves", eng.rdb.saves)
        .add("rdb_last_cow_size", 0)
        .add("rdb_last_load_keys_expired", eng.rdb.loaded_expired)
        .add("rdb_last_load_keys_loaded", eng.rdb.loaded_keys)
        .add("aof_enabled", a.logging() as u8)
        .add("aof_rewrite_in_progress", rw.is_some() as u8)
        .add("aof_rewrite_scheduled", st.scheduled as u8)
        .add(
            "aof_last_rewrite_time_sec",
            if st.count == 0 && st.last_ok {
                -1
            } else {
                st.last_secs
            },
        )
        .add(
            "aof_current_rewrite_time_sec",
            rw.map_or(-1, |r| r.started.elapsed().as_secs() as i64),
        )
        .add(
            "aof_last_bgrewrite_status",
            if st.last_ok { "ok" } else { "err" },
        )
        .add("aof_rewrites", st.count)
        .add("aof_rewrites_consecutive_failures", 0)
        .add(
            "aof_last_write_status",
            if a.write_blocked() { "err" } else { "ok" },
        )
        .add("aof_last_cow_size", 0)
        .add("module_fork_in_progress", 0)
        .add("module_fork_last_cow_size", 0);
    if a.logging() {
        f.add("aof_current_size", a.current_size())
            .add("aof_base_size", a.base_size)
            .add("aof_pending_rewrite", st.scheduled as u8)
            .add(
                "aof_buffer_length",
                a.pending_bytes() + eng.stream.pending().len(),
            )
            .add("aof_pending_bio_fsync", a.fsync_pending() as u8)
            .add("aof_delayed_fsync", a.delayed_fsync);
    }
}

fn stats(c: &Ctx, f: &mut Fields) {
    let s = &c.eng.stats;
    let ks = &c.eng.ks.stats;
    f.add("total_connections_received", s.connections_received)
        .add("total_commands_processed", s.commands_processed)
        .add("instantaneous_ops_per_sec", s.ops_per_sec())
        .add("total_net_input_bytes", s.net_input_bytes)
        .add("total_net_output_bytes", s.net_output_bytes)
        .add("rejected_connections", s.rejected_connections)
        .add("expired_subkeys", ks.expired_fields)
        .add("expired_keys", ks.expired)
        .add("evicted_keys", c.eng.evictor.evicted)
        .add("keyspace_hits", ks.hits)
        .add("keyspace_misses", ks.misses)
        .add("pubsub_channels", c.eng.pubsub.len(Kind::Channel))
        .add("pubsub_patterns", c.eng.pubsub.len(Kind::Pattern))
        .add("pubsubshard_channels", c.eng.pubsub.len(Kind::Shard))
        .add("total_error_replies", s.total_error_replies);
}

fn replication(c: &Ctx, f: &mut Fields) {
    let m = &c.eng.master;
    if let Some(r) = &c.eng.replica {
        let up = r.up();
        f.add("role", "slave")
            .add("master_host", &r.host)
            .add("master_port", r.port)
            .add("master_link_status", if up { "up" } else { "down" })
            .add("master_last_io_seconds_ago", r.last_io.elapsed().as_secs())
            .add(
                "master_sync_in_progress",
                (r.sync_started.is_some() && !up) as u8,
            );
        if !up {
            f.add(
                "master_link_down_since_seconds",
                r.down_since.elapsed().as_secs(),
            );
        }
        f.add("slave_read_repl_offset", r.offset.max(0))
            .add("slave_repl_offset", r.offset.max(0))
            .add(
                "slave_priority",
                c.eng.config.get("replica-priority").unwrap_or("100"),
            )
            .add(
                "slave_read_only",
                (c.eng.config.get("replica-read-only") != Some("no")) as u8,
            )
            .add(
                "replica_announced",
                (c.eng.config.get("replica-announced") != Some("no")) as u8,
            );
    } else {
        f.add("role", "master");
    }
    f.add("connected_slaves", m.online());
    if c.eng.config.min_replicas.0 > 0 {
        f.add(
            "min_slaves_good_slaves",
            m.good_replicas(c.eng.config.min_replicas.1),
        );
    }
    let now = std::time::Instant::now();
    for (n, l) in m.links.iter().filter(|l| l.online()).enumerate() {
        let lag = now.duration_since(l.ack_time).as_secs();
        f.add(
            &format!("slave{n}"),
            format!(
                "ip={},port={},state=online,offset={},lag={lag}",
                l.ip, l.port, l.ack
            ),
        );
    }
    let (active, size, first, held) = match &m.backlog {
        Some(b) => (1, b.size(), b.first(), b.held()),
        None => (0, 1048576, 0, 0),
    };
    f.add("master_failover_state", "no-failover")
        .add(
            "master_replid",
            c.eng.replica.as_ref().map_or(&m.replid, |r| &r.replid),
        )
        .add("master_replid2", &m.replid2)
        .add(
            "master_repl_offset",
            c.eng
                .replica
                .as_ref()
                .map_or(m.offset as i64, |r| r.offset.max(0)),
        )
        .add("second_repl_offset", m.second_offset)
        .add("repl_backlog_active", active)
        .add("repl_backlog_size", size)
        .add("repl_backlog_first_byte_offset", first)
        .add("repl_backlog_histlen", held);
}

fn cpu(_c: &Ctx, f: &mut Fields) {
    let (u, s) = cpu_times();
    f.add("used_cpu_sys", format!("{s:.6}"))
        .add("used_cpu_user", format!("{u:.6}"))
        .add("used_cpu_sys_children", "0.000000")
        .add("used_cpu_user_children", "0.000000");
}

fn cluster(_c: &Ctx, f: &mut Fields) {
    f.add("cluster_enabled", 0);
}

/// One line per command or subcommand that was called or rejected (`config|get`).
fn commandstats(c: &Ctx, f: &mut Fields) {
    for (id, cmd) in super::all() {
        let st = &c.eng.cmdstats[id];
        if st.calls == 0 && st.rejected == 0 {
            continue;
        }
        let per = if st.calls > 0 {
            st.usec as f64 / st.calls as f64
        } else {
            0.0
        };
        f.add(
            &format!("cmdstat_{}", cmd.name),
            format!(
                "calls={},usec={},usec_per_call={per:.2},rejected_calls={},failed_calls={}",
                st.calls, st.usec, st.rejected, st.failed
            ),
        );
    }
}

fn keyspace(c: &Ctx, f: &mut Fields) {
    for (i, db) in c.eng.ks.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        f.add(
            &format!("db{i}"),
            format!(
                "keys={},expires={},avg_ttl=0,subexpiry={}",
                db.len(),
                db.expires_len(),
                db.hexpires_len()
            ),
        );
    }
}
