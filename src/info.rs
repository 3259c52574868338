//! The INFO reply: Redis's section and field names, so monitoring tools and client
//! libraries that parse INFO (ioredis's ready check reads `loading`) work unchanged.

use std::fmt::Write as _;

use crate::cmd::server::{FERROKV_VERSION, REDIS_VERSION};
use crate::cmd::{COMMANDS, Ctx};

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
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
    let all = requested.iter().any(|s| s == "all" || s == "everything");
    let want = |name: &str| -> bool {
        if requested.is_empty() || requested.iter().any(|s| s == "default") {
            return DEFAULT_SECTIONS.contains(&name);
        }
        if all {
            return name != "commandstats"
                || requested.iter().any(|s| s == "everything" || s == "all");
        }
        requested.iter().any(|s| s == name)
    };
    let srv = &*c.srv;
    let mut out = String::new();
    let section = |title: &str, body: String, out: &mut String| {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = write!(out, "# {title}\r\n{body}");
    };
    let uptime = srv.start.elapsed().as_secs();
    if want("server") {
        let mut b = String::new();
        let _ = write!(
            b,
            "redis_version:{REDIS_VERSION}\r\nferrokv_version:{FERROKV_VERSION}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\n",
            std::env::consts::OS,
            std::env::consts::ARCH,
            std::process::id(),
            srv.run_id,
            srv.config.port,
            crate::server::unix_us(),
            uptime,
            uptime / 86400,
            srv.config.hz,
            srv.config.hz,
            std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            srv.config
                .config_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        );
        section("Server", b, &mut out);
    }
    if want("clients") {
        let b = format!(
            "connected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:0\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n",
            srv.client_count(),
            srv.config.maxclients
        );
        section("Clients", b, &mut out);
    }
    if want("memory") {
        let used = crate::alloc::allocated() as u64;
        let rss = rss_bytes();
        let peak = srv.mem_peak.max(used);
        let total = total_memory();
        let b = format!(
            "used_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\ntotal_system_memory:{total}\r\ntotal_system_memory_human:{}\r\nmaxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\nmem_fragmentation_ratio:{:.2}\r\nmem_allocator:libc\r\nlazyfree_pending_objects:0\r\n",
            human_bytes(used),
            human_bytes(rss),
            human_bytes(peak),
            human_bytes(total),
            rss as f64 / used.max(1) as f64,
        );
        section("Memory", b, &mut out);
    }
    if want("persistence") {
        let a = &srv.aof;
        let rw = srv.rewrite.as_ref();
        let st = &srv.rewrite_stats;
        let mut b = format!(
            "loading:{}\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:{}\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:ok\r\nrdb_last_bgsave_time_sec:-1\r\nrdb_current_bgsave_time_sec:-1\r\nrdb_saves:0\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:0\r\nrdb_last_load_keys_loaded:0\r\naof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:{}\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
            srv.loading as u8,
            rw.map_or(0, |r| r.keys),
            srv.dirty,
            srv.lastsave,
            a.logging() as u8,
            rw.is_some() as u8,
            st.scheduled as u8,
            if st.count == 0 && st.last_ok {
                -1
            } else {
                st.last_secs
            },
            rw.map_or(-1, |r| r.started.elapsed().as_secs() as i64),
            if st.last_ok { "ok" } else { "err" },
            st.count,
            if a.write_blocked() { "err" } else { "ok" },
        );
        if a.logging() {
            b.push_str(&format!(
                "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\naof_buffer_length:{}\r\naof_pending_bio_fsync:{}\r\naof_delayed_fsync:{}\r\n",
                a.current_size(),
                a.base_size,
                st.scheduled as u8,
                a.pending_bytes(),
                a.fsync_pending() as u8,
                a.delayed_fsync
            ));
        }
        section("Persistence", b, &mut out);
    }
    if want("stats") {
        let s = &srv.stats;
        let b = format!(
            "total_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\nexpired_subkeys:{}\r\nexpired_keys:{}\r\nevicted_keys:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:0\r\npubsub_patterns:0\r\ntotal_error_replies:{}\r\n",
            s.connections_received,
            s.commands_processed,
            s.ops_per_sec(),
            s.net_input_bytes,
            s.net_output_bytes,
            s.rejected_connections,
            srv.ks.stats.expired_fields,
            srv.ks.stats.expired,
            srv.ks.stats.hits,
            srv.ks.stats.misses,
            s.total_error_replies,
        );
        section("Stats", b, &mut out);
    }
    if want("replication") {
        let b = format!(
            "role:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
            srv.run_id
        );
        section("Replication", b, &mut out);
    }
    if want("cpu") {
        let (u, s) = cpu_times();
        let b = format!(
            "used_cpu_sys:{s:.6}\r\nused_cpu_user:{u:.6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\n"
        );
        section("CPU", b, &mut out);
    }
    if want("modules") {
        section("Modules", String::new(), &mut out);
    }
    if want("errorstats") {
        section("Errorstats", String::new(), &mut out);
    }
    if want("cluster") {
        section("Cluster", "cluster_enabled:0\r\n".into(), &mut out);
    }
    if want("commandstats") {
        let mut b = String::new();
        let mut subs: Vec<(&str, &crate::server::CmdStat)> =
            srv.substats.iter().map(|(n, s)| (*n, s)).collect();
        subs.sort_by_key(|(n, _)| *n);
        let rows = COMMANDS
            .iter()
            .map(|c| c.name)
            .zip(srv.cmdstats.iter())
            .chain(subs);
        for (name, st) in rows {
            if st.calls == 0 && st.rejected == 0 {
                continue;
            }
            let per = if st.calls > 0 {
                st.usec as f64 / st.calls as f64
            } else {
                0.0
            };
            let _ = write!(
                b,
                "cmdstat_{}:calls={},usec={},usec_per_call={per:.2},rejected_calls={},failed_calls={}\r\n",
                name, st.calls, st.usec, st.rejected, st.failed
            );
        }
        section("Commandstats", b, &mut out);
    }
    if want("keyspace") {
        let mut b = String::new();
        for (i, db) in srv.ks.dbs.iter().enumerate() {
            if db.is_empty() {
                continue;
            }
            let _ = write!(
                b,
                "db{i}:keys={},expires={},avg_ttl=0,subexpiry={}\r\n",
                db.len(),
                db.expires_len(),
                db.hexpires_len()
            );
        }
        section("Keyspace", b, &mut out);
    }
    out
}
