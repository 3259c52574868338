//! Configuration: redis.conf directives from a file and from the command line, their
//! defaults, validation, and the store behind CONFIG GET / CONFIG SET.
//!
//! Every parameter Redis 7 knows is in `PARAMS`, so `CONFIG GET *` answers what monitoring
//! tools and client test fixtures expect, and a user's existing redis.conf loads. The
//! parameters ferrokv acts on are checked strictly and mirrored into typed fields; the rest
//! are stored as given and reported, with one warning naming each at startup.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::error::ConfigError;

/// Every Redis 7 configuration parameter with ferrokv's default, sorted by name, plus Redis
/// 7.2's `set-max-listpack-entries` and `set-max-listpack-value` (compact sets of strings).
const PARAMS: &[(&str, &str)] = &[
    ("acl-pubsub-default", "resetchannels"),
    ("aclfile", ""),
    ("acllog-max-len", "128"),
    ("active-defrag-cycle-max", "25"),
    ("active-defrag-cycle-min", "1"),
    ("active-defrag-ignore-bytes", "104857600"),
    ("active-defrag-max-scan-fields", "1000"),
    ("active-defrag-threshold-lower", "10"),
    ("active-defrag-threshold-upper", "100"),
    ("active-expire-effort", "1"),
    ("activedefrag", "no"),
    ("activerehashing", "yes"),
    ("always-show-logo", "no"),
    ("aof-disable-auto-gc", "no"),
    ("aof-load-truncated", "yes"),
    ("aof-rewrite-incremental-fsync", "yes"),
    ("aof-timestamp-enabled", "no"),
    ("aof-use-rdb-preamble", "yes"),
    ("aof_rewrite_cpulist", ""),
    ("appenddirname", "appendonlydir"),
    ("appendfilename", "appendonly.aof"),
    ("appendfsync", "everysec"),
    ("appendonly", "yes"),
    ("auto-aof-rewrite-min-size", "67108864"),
    ("auto-aof-rewrite-percentage", "100"),
    ("bgsave_cpulist", ""),
    ("bind", "127.0.0.1 -::1"),
    ("bind-source-addr", ""),
    ("bio_cpulist", ""),
    ("busy-reply-threshold", "5000"),
    (
        "client-output-buffer-limit",
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    ("client-query-buffer-limit", "1073741824"),
    ("cluster-allow-pubsubshard-when-down", "yes"),
    ("cluster-allow-reads-when-down", "no"),
    ("cluster-allow-replica-migration", "yes"),
    ("cluster-announce-bus-port", "0"),
    ("cluster-announce-hostname", ""),
    ("cluster-announce-ip", ""),
    ("cluster-announce-port", "0"),
    ("cluster-announce-tls-port", "0"),
    ("cluster-config-file", "nodes.conf"),
    ("cluster-enabled", "no"),
    ("cluster-link-sendbuf-limit", "0"),
    ("cluster-migration-barrier", "1"),
    ("cluster-node-timeout", "15000"),
    ("cluster-port", "0"),
    ("cluster-preferred-endpoint-type", "ip"),
    ("cluster-replica-no-failover", "no"),
    ("cluster-replica-validity-factor", "10"),
    ("cluster-require-full-coverage", "yes"),
    ("cluster-slave-no-failover", "no"),
    ("cluster-slave-validity-factor", "10"),
    ("crash-log-enabled", "yes"),
    ("crash-memcheck-enabled", "yes"),
    ("daemonize", "no"),
    ("databases", "16"),
    ("dbfilename", "dump.rdb"),
    ("dir", "./data"),
    ("disable-thp", "yes"),
    ("dynamic-hz", "yes"),
    ("enable-debug-command", "no"),
    ("enable-module-command", "no"),
    ("enable-protected-configs", "no"),
    ("hash-max-listpack-entries", "512"),
    ("hash-max-listpack-value", "64"),
    ("hash-max-ziplist-entries", "512"),
    ("hash-max-ziplist-value", "64"),
    ("hll-sparse-max-bytes", "3000"),
    ("hz", "10"),
    ("ignore-warnings", ""),
    ("io-threads", "1"),
    ("io-threads-do-reads", "no"),
    ("jemalloc-bg-thread", "yes"),
    ("latency-monitor-threshold", "0"),
    ("latency-tracking", "yes"),
    ("latency-tracking-info-percentiles", "50 99 99.9"),
    ("lazyfree-lazy-eviction", "no"),
    ("lazyfree-lazy-expire", "no"),
    ("lazyfree-lazy-server-del", "no"),
    ("lazyfree-lazy-user-del", "no"),
    ("lazyfree-lazy-user-flush", "no"),
    ("lfu-decay-time", "1"),
    ("lfu-log-factor", "10"),
    ("list-compress-depth", "0"),
    ("list-max-listpack-size", "-2"),
    ("list-max-ziplist-size", "-2"),
    ("logfile", ""),
    ("loglevel", "notice"),
    ("lua-time-limit", "5000"),
    ("masterauth", ""),
    ("masteruser", ""),
    ("maxclients", "10000"),
    ("maxmemory", "0"),
    ("maxmemory-clients", "0"),
    ("maxmemory-eviction-tenacity", "10"),
    ("maxmemory-policy", "noeviction"),
    ("maxmemory-samples", "5"),
    ("min-replicas-max-lag", "10"),
    ("min-replicas-to-write", "0"),
    ("min-slaves-max-lag", "10"),
    ("min-slaves-to-write", "0"),
    ("no-appendfsync-on-rewrite", "no"),
    ("notify-keyspace-events", ""),
    ("oom-score-adj", "no"),
    ("oom-score-adj-values", "0 200 800"),
    ("pidfile", ""),
    ("port", "6379"),
    ("proc-title-template", "{title} {listen-addr} {server-mode}"),
    ("propagation-error-behavior", "ignore"),
    ("protected-mode", "yes"),
    ("proto-max-bulk-len", "536870912"),
    ("rdb-del-sync-files", "no"),
    ("rdb-save-incremental-fsync", "yes"),
    ("rdbchecksum", "yes"),
    ("rdbcompression", "yes"),
    ("repl-backlog-size", "1048576"),
    ("repl-backlog-ttl", "3600"),
    ("repl-disable-tcp-nodelay", "no"),
    ("repl-diskless-load", "disabled"),
    ("repl-diskless-sync", "yes"),
    ("repl-diskless-sync-delay", "5"),
    ("repl-diskless-sync-max-replicas", "0"),
    ("repl-ping-replica-period", "10"),
    ("repl-ping-slave-period", "10"),
    ("repl-timeout", "60"),
    ("replica-announce-ip", ""),
    ("replica-announce-port", "0"),
    ("replica-announced", "yes"),
    ("replica-ignore-disk-write-errors", "no"),
    ("replica-ignore-maxmemory", "yes"),
    ("replica-lazy-flush", "no"),
    ("replica-priority", "100"),
    ("replica-read-only", "yes"),
    ("replica-serve-stale-data", "yes"),
    ("replicaof", ""),
    ("requirepass", ""),
    ("sanitize-dump-payload", "no"),
    ("save", ""),
    ("server_cpulist", ""),
    ("set-max-intset-entries", "512"),
    ("set-max-listpack-entries", "128"),
    ("set-max-listpack-value", "64"),
    ("set-proc-title", "yes"),
    ("shutdown-on-sigint", "default"),
    ("shutdown-on-sigterm", "default"),
    ("shutdown-timeout", "10"),
    ("slave-announce-ip", ""),
    ("slave-announce-port", "0"),
    ("slave-ignore-maxmemory", "yes"),
    ("slave-lazy-flush", "no"),
    ("slave-priority", "100"),
    ("slave-read-only", "yes"),
    ("slave-serve-stale-data", "yes"),
    ("slaveof", ""),
    ("slowlog-log-slower-than", "10000"),
    ("slowlog-max-len", "128"),
    ("socket-mark-id", "0"),
    ("stop-writes-on-bgsave-error", "yes"),
    ("stream-node-max-bytes", "4096"),
    ("stream-node-max-entries", "100"),
    ("supervised", "no"),
    ("syslog-enabled", "no"),
    ("syslog-facility", "local0"),
    ("syslog-ident", "redis"),
    ("tcp-backlog", "511"),
    ("tcp-keepalive", "300"),
    ("timeout", "0"),
    ("tls-auth-clients", "yes"),
    ("tls-ca-cert-dir", ""),
    ("tls-ca-cert-file", ""),
    ("tls-cert-file", ""),
    ("tls-ciphers", ""),
    ("tls-ciphersuites", ""),
    ("tls-client-cert-file", ""),
    ("tls-client-key-file", ""),
    ("tls-client-key-file-pass", ""),
    ("tls-cluster", "no"),
    ("tls-dh-params-file", ""),
    ("tls-key-file", ""),
    ("tls-key-file-pass", ""),
    ("tls-port", "0"),
    ("tls-prefer-server-ciphers", "no"),
    ("tls-protocols", ""),
    ("tls-replication", "no"),
    ("tls-session-cache-size", "20480"),
    ("tls-session-cache-timeout", "300"),
    ("tls-session-caching", "yes"),
    ("tracking-table-max-keys", "1000000"),
    ("unixsocket", ""),
    ("unixsocketperm", "0"),
    ("zset-max-listpack-entries", "128"),
    ("zset-max-listpack-value", "64"),
    ("zset-max-ziplist-entries", "128"),
    ("zset-max-ziplist-value", "64"),
];

/// Directives Redis accepts in a config file that are not CONFIG parameters.
const FILE_ONLY_DIRECTIVES: &[&str] = &["include", "rename-command", "user", "loadmodule"];

/// Old names and their current names; both are listed by CONFIG GET and share one value.
const ALIASES: &[(&str, &str)] = &[
    ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ("hash-max-ziplist-value", "hash-max-listpack-value"),
    ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ("zset-max-ziplist-value", "zset-max-listpack-value"),
    ("list-max-ziplist-size", "list-max-listpack-size"),
    ("slaveof", "replicaof"),
    ("slave-serve-stale-data", "replica-serve-stale-data"),
    ("slave-read-only", "replica-read-only"),
    ("slave-ignore-maxmemory", "replica-ignore-maxmemory"),
    ("slave-lazy-flush", "replica-lazy-flush"),
    ("slave-priority", "replica-priority"),
    ("slave-announce-ip", "replica-announce-ip"),
    ("slave-announce-port", "replica-announce-port"),
    ("min-slaves-to-write", "min-replicas-to-write"),
    ("min-slaves-max-lag", "min-replicas-max-lag"),
    ("repl-ping-slave-period", "repl-ping-replica-period"),
    (
        "cluster-slave-validity-factor",
        "cluster-replica-validity-factor",
    ),
    ("cluster-slave-no-failover", "cluster-replica-no-failover"),
];

/// Parameters ferrokv implements (the others are stored and reported only).
const IMPLEMENTED: &[&str] = &[
    "port",
    "notify-keyspace-events",
    "bind",
    "dir",
    "databases",
    "loglevel",
    "logfile",
    "proto-max-bulk-len",
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
    "list-max-listpack-size",
    "set-max-intset-entries",
    "set-max-listpack-entries",
    "set-max-listpack-value",
    "zset-max-listpack-entries",
    "zset-max-listpack-value",
    "requirepass",
    "aclfile",
    "acllog-max-len",
    "acl-pubsub-default",
    "maxclients",
    "hz",
    "client-query-buffer-limit",
    "appendonly",
    "appendfsync",
    "appendfilename",
    "appenddirname",
    "aof-load-truncated",
    "auto-aof-rewrite-percentage",
    "auto-aof-rewrite-min-size",
    "save",
    "tcp-keepalive",
    "tcp-backlog",
    "pidfile",
    "timeout",
    "daemonize",
    "enable-debug-command",
    "protected-mode",
    "client-output-buffer-limit",
    "maxmemory",
    "maxmemory-policy",
    "maxmemory-samples",
    "maxmemory-eviction-tenacity",
    "lfu-log-factor",
    "lfu-decay-time",
    "lazyfree-lazy-eviction",
    "lazyfree-lazy-expire",
    "lazyfree-lazy-server-del",
    "lazyfree-lazy-user-del",
    "lazyfree-lazy-user-flush",
    "replicaof",
    "masterauth",
    "masteruser",
    "replica-read-only",
    "replica-serve-stale-data",
    "repl-backlog-size",
    "repl-timeout",
    "repl-ping-replica-period",
];

/// Parameters that cannot change while running (CONFIG SET refuses them).
const IMMUTABLE: &[&str] = &[
    "databases",
    "daemonize",
    "pidfile",
    "logfile",
    "appendfilename",
    "appenddirname",
    "bind",
    "port",
    "supervised",
    "io-threads",
    "io-threads-do-reads",
    "cluster-enabled",
    "cluster-config-file",
    "unixsocket",
    "unixsocketperm",
    "syslog-enabled",
    "syslog-ident",
    "syslog-facility",
    "always-show-logo",
    "tcp-backlog",
    "aclfile",
    "set-proc-title",
    "disable-thp",
    "enable-debug-command",
    "enable-module-command",
    "enable-protected-configs",
];

/// Parameters whose values are byte sizes and accept units (1kb, 5mb, 1gb).
const MEMORY: &[&str] = &[
    "maxmemory",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "auto-aof-rewrite-min-size",
    "repl-backlog-size",
    "active-defrag-ignore-bytes",
    "hll-sparse-max-bytes",
    "stream-node-max-bytes",
    "cluster-link-sendbuf-limit",
    "hash-max-listpack-value",
    "zset-max-listpack-value",
];

/// Parameters restricted to a fixed set of words.
const ENUMS: &[(&str, &[&str])] = &[
    (
        "loglevel",
        &["debug", "verbose", "notice", "warning", "nothing"],
    ),
    ("appendfsync", &["always", "everysec", "no"]),
    (
        "maxmemory-policy",
        &[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ],
    ),
    ("supervised", &["upstart", "systemd", "auto", "no"]),
    ("repl-diskless-load", &["disabled", "on-empty-db", "swapdb"]),
    ("acl-pubsub-default", &["allchannels", "resetchannels"]),
    ("sanitize-dump-payload", &["no", "yes", "clients"]),
    ("enable-protected-configs", &["no", "yes", "local"]),
    ("enable-debug-command", &["no", "yes", "local"]),
    ("enable-module-command", &["no", "yes", "local"]),
    ("oom-score-adj", &["no", "yes", "relative", "absolute"]),
    (
        "propagation-error-behavior",
        &["ignore", "panic", "panic-on-replicas"],
    ),
    (
        "cluster-preferred-endpoint-type",
        &["ip", "hostname", "unknown-endpoint"],
    ),
];

/// How the fsync of the append-only file is scheduled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FsyncPolicy {
    Always,
    EverySec,
    No,
}

/// The configuration: every parameter's text plus typed copies of those ferrokv uses.
#[derive(Debug, Clone)]
pub struct Config {
    values: HashMap<&'static str, String>,
    pub config_file: Option<PathBuf>,
    pub port: u16,
    pub bind: Vec<String>,
    pub dir: PathBuf,
    pub databases: usize,
    pub loglevel: log::LevelFilter,
    pub logfile: String,
    pub proto_max_bulk_len: usize,
    pub hash_limits: crate::types::hash::HashLimits,
    /// Node size of lists, from `list-max-listpack-size`.
    pub list_limits: crate::types::list::ListLimits,
    /// `set-max-intset-entries`, `set-max-listpack-entries`, `set-max-listpack-value`.
    pub set_limits: crate::types::set::SetLimits,
    pub zset_limits: crate::types::zset::ZLimits,
    pub requirepass: Option<String>,
    pub maxclients: usize,
    pub hz: u32,
    pub client_query_buffer_limit: usize,
    pub appendonly: bool,
    pub appendfsync: FsyncPolicy,
    pub timeout: u64,
    /// `tcp-keepalive` seconds (0: off).
    pub tcp_keepalive: u64,
    /// `tcp-backlog`: the listen queue length (the kernel caps it at somaxconn).
    pub tcp_backlog: i32,
    pub pidfile: String,
    pub lazyfree: crate::lazyfree::Policy,
    pub protected_mode: bool,
    /// `client-output-buffer-limit` of normal clients (MONITOR included); the replica
    /// class is stored for CONFIG GET until replicas exist.
    pub obuf_normal: ObufLimit,
    /// The `replica` (`slave`) class: replica links past it are disconnected.
    pub obuf_replica: ObufLimit,
    /// `min-replicas-to-write` and `min-replicas-max-lag` (seconds): writes are refused
    /// unless that many replicas acknowledged within the lag (0: no minimum).
    pub min_replicas: (usize, u64),
    /// `client-output-buffer-limit` of clients with a pub/sub subscription.
    pub obuf_pubsub: ObufLimit,
    /// `notify-keyspace-events` as flags (`crate::notify::class`). Set with the text, not
    /// from it: the text Redis shows for `A` with `n` loses the `n`.
    pub notify_flags: u32,
    pub maxmemory: MaxMemory,
    /// Directives Redis knows that ferrokv does not act on, in the order first seen.
    pub ignored: Vec<String>,
    /// `daemonize yes` was asked for (and is not supported).
    pub daemonize_requested: bool,
    /// `user <name> rules...` directives, in order, without the `user` word: loaded into
    /// the ACL table at startup.
    pub users: Vec<Vec<Vec<u8>>>,
}

/// The table name of parameter `name` (lowercase), resolving old aliases.
pub fn canonical(name: &str) -> Option<&'static str> {
    if let Some((_, to)) = ALIASES.iter().find(|(a, _)| *a == name) {
        return Some(to);
    }
    PARAMS.iter().find(|(n, _)| *n == name).map(|(n, _)| *n)
}

/// Parses a byte size with Redis's units: `k`=1000, `kb`=1024, `m`, `mb`, `g`, `gb`.
pub fn parse_memory(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let (num, mul): (&str, i64) = if let Some(n) = lower.strip_suffix("gb") {
        (n, 1 << 30)
    } else if let Some(n) = lower.strip_suffix("mb") {
        (n, 1 << 20)
    } else if let Some(n) = lower.strip_suffix("kb") {
        (n, 1 << 10)
    } else if let Some(n) = lower.strip_suffix('g') {
        (n, 1_000_000_000)
    } else if let Some(n) = lower.strip_suffix('m') {
        (n, 1_000_000)
    } else if let Some(n) = lower.strip_suffix('k') {
        (n, 1000)
    } else if let Some(n) = lower.strip_suffix('b') {
        (n, 1)
    } else {
        (&lower[..], 1)
    };
    num.parse::<i64>().ok()?.checked_mul(mul)
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// Checks `value` for parameter `name`; returns the normalized text or Redis's message.
fn validate(name: &str, value: &str, default: &str) -> Result<String, String> {
    if let Some((_, words)) = ENUMS.iter().find(|(n, _)| *n == name) {
        let v = value.to_ascii_lowercase();
        if words.contains(&v.as_str()) {
            return Ok(v);
        }
        return Err(format!(
            "argument(s) must be one of the following: {}",
            words.join(", ")
        ));
    }
    if default == "yes" || default == "no" {
        return parse_bool(value)
            .map(|b| if b { "yes" } else { "no" }.to_string())
            .ok_or_else(|| "argument must be 'yes' or 'no'".to_string());
    }
    if MEMORY.contains(&name) {
        return match parse_memory(value) {
            Some(n) if n >= 0 => Ok(n.to_string()),
            _ => Err("argument must be a memory value".to_string()),
        };
    }
    if !default.is_empty() && default.parse::<i64>().is_ok() {
        let n: i64 = value
            .parse()
            .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
        let (lo, hi) = match name {
            "port" | "tls-port" | "cluster-port" => (0, 65535),
            "databases" | "maxclients" => (1, i32::MAX as i64),
            "hz" => (1, 500),
            "timeout" | "tcp-keepalive" => (0, i32::MAX as i64),
            "list-max-listpack-size" => (i32::MIN as i64, i32::MAX as i64),
            "list-compress-depth" => (0, i32::MAX as i64),
            "hash-max-listpack-entries"
            | "hash-max-listpack-value"
            | "set-max-intset-entries"
            | "set-max-listpack-entries"
            | "set-max-listpack-value"
            | "zset-max-listpack-entries"
            | "zset-max-listpack-value" => (0, i64::MAX),
            "auto-aof-rewrite-percentage" => (0, i32::MAX as i64),
            _ => (i64::MIN, i64::MAX),
        };
        if n < lo || n > hi {
            return Err(format!("argument must be between {lo} and {hi} inclusive"));
        }
        return Ok(n.to_string());
    }
    if name == "save" {
        let parts: Vec<&str> = value.split_whitespace().collect();
        if !parts.len().is_multiple_of(2) || parts.iter().any(|p| p.parse::<i64>().is_err()) {
            return Err("Invalid save parameters".to_string());
        }
        return Ok(parts.join(" "));
    }
    Ok(value.to_string())
}

impl Default for Config {
    fn default() -> Self {
        let mut c = Config {
            values: PARAMS.iter().map(|(n, v)| (*n, v.to_string())).collect(),
            config_file: None,
            port: 6379,
            bind: vec![],
            dir: PathBuf::from("./data"),
            databases: 16,
            loglevel: log::LevelFilter::Info,
            logfile: String::new(),
            proto_max_bulk_len: 512 << 20,
            hash_limits: crate::types::hash::HashLimits {
                max_entries: 512,
                max_value: 64,
            },
            list_limits: Default::default(),
            set_limits: Default::default(),
            zset_limits: crate::types::zset::ZLimits {
                max_entries: 128,
                max_value: 64,
            },
            requirepass: None,
            maxclients: 10000,
            hz: 10,
            client_query_buffer_limit: 1 << 30,
            appendonly: true,
            appendfsync: FsyncPolicy::EverySec,
            timeout: 0,
            tcp_keepalive: 300,
            tcp_backlog: 511,
            pidfile: String::new(),
            lazyfree: Default::default(),
            protected_mode: true,
            obuf_normal: ObufLimit::default(),
            obuf_replica: ObufLimit::default(),
            min_replicas: (0, 10),
            obuf_pubsub: ObufLimit::default(),
            notify_flags: 0,
            maxmemory: MaxMemory::default(),
            ignored: vec![],
            daemonize_requested: false,
            users: vec![],
        };
        c.refresh_typed();
        c
    }
}

impl Config {
    /// Builds the configuration from the process arguments (without the program name):
    /// `[config-file] [--directive value ...]`, as redis-server takes them.
    pub fn from_args(args: &[String]) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut text = String::new();
        let mut i = 0;
        if let Some(first) = args.first()
            && !first.starts_with("--")
        {
            let path = PathBuf::from(first);
            let content = if first == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| {
                    ConfigError {
                        line_no: 0,
                        line: String::new(),
                        msg: format!("Fatal error, can't read config from stdin: {e}"),
                    }
                })?;
                s
            } else {
                std::fs::read_to_string(&path).map_err(|e| ConfigError {
                    line_no: 0,
                    line: first.clone(),
                    msg: format!("Fatal error, can't open config file '{first}': {e}"),
                })?
            };
            if first != "-" {
                cfg.config_file = Some(std::fs::canonicalize(&path).unwrap_or(path));
            }
            text.push_str(&content);
            text.push('\n');
            i = 1;
        }
        // Command line options become config lines appended after the file, so they win.
        while i < args.len() {
            let a = &args[i];
            let Some(name) = a.strip_prefix("--") else {
                return Err(ConfigError {
                    line_no: 0,
                    line: a.clone(),
                    msg: format!("Invalid argument '{a}': options start with --"),
                });
            };
            text.push_str(name);
            i += 1;
            while i < args.len() && !args[i].starts_with("--") {
                text.push(' ');
                text.push_str(&quote(&args[i]));
                i += 1;
            }
            text.push('\n');
        }
        cfg.load_text(&text, 0)?;
        cfg.refresh_typed();
        Ok(cfg)
    }

    /// Applies config-file text; `depth` guards against include loops.
    fn load_text(&mut self, text: &str, depth: usize) -> Result<(), ConfigError> {
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |msg: String| ConfigError {
                line_no: n + 1,
                line: line.to_string(),
                msg,
            };
            let mut buf = Vec::new();
            let mut ranges = Vec::new();
            if !crate::resp::parse::split_inline(line.as_bytes(), &mut buf, &mut ranges) {
                return Err(fail("Unbalanced quotes in configuration line".into()));
            }
            let words: Vec<String> = ranges
                .iter()
                .map(|&(a, b)| String::from_utf8_lossy(&buf[a..b]).into_owned())
                .collect();
            let Some(first) = words.first() else { continue };
            let name = first.to_ascii_lowercase();
            let args = &words[1..];
            if name == "include" {
                if args.len() != 1 || depth > 16 {
                    return Err(fail("Bad directive or wrong number of arguments".into()));
                }
                let inc = std::fs::read_to_string(&args[0]).map_err(|e| {
                    fail(format!(
                        "Fatal error, can't open config file '{}': {e}",
                        args[0]
                    ))
                })?;
                self.load_text(&inc, depth + 1)?;
                continue;
            }
            if name == "user" {
                if args.is_empty() {
                    return Err(fail("Bad directive or wrong number of arguments".into()));
                }
                // Kept as bytes: passwords need not be UTF-8.
                self.users.push(
                    ranges[1..]
                        .iter()
                        .map(|&(a, b)| buf[a..b].to_vec())
                        .collect(),
                );
                continue;
            }
            if FILE_ONLY_DIRECTIVES.contains(&name.as_str()) {
                self.note_ignored(&name);
                continue;
            }
            let Some(canon) = canonical(&name) else {
                return Err(fail("Bad directive or wrong number of arguments".into()));
            };
            let value = args.join(" ");
            if name == "save" && value.is_empty() && args.len() == 1 {
                self.values.insert("save", String::new());
                continue;
            }
            if args.is_empty() && !matches!(canon, "save" | "bind") {
                return Err(fail("Bad directive or wrong number of arguments".into()));
            }
            self.set_value(canon, &value).map_err(fail)?;
            if !IMPLEMENTED.contains(&canon) {
                self.note_ignored(canon);
            }
        }
        Ok(())
    }

    fn note_ignored(&mut self, name: &str) {
        if !self.ignored.iter().any(|n| n == name) {
            self.ignored.push(name.to_string());
        }
    }

    /// Validates and stores one parameter (canonical name), without refreshing typed fields.
    fn set_value(&mut self, canon: &'static str, value: &str) -> Result<(), String> {
        let default = PARAMS
            .iter()
            .find(|(n, _)| *n == canon)
            .map(|(_, d)| *d)
            .unwrap_or("");
        if canon == "client-output-buffer-limit" {
            let current = self.values.get(canon).map_or(default, |s| s.as_str());
            let merged = merge_obuf_limits(current, value)?;
            self.values.insert(canon, merged);
            return Ok(());
        }
        if canon == "notify-keyspace-events" {
            let flags = crate::notify::parse(value).ok_or(crate::notify::BAD_CLASS)?;
            self.notify_flags = flags;
            self.values.insert(canon, crate::notify::describe(flags));
            return Ok(());
        }
        let v = validate(canon, value, default)?;
        if canon == "daemonize" && v == "yes" {
            // Forking needs unsafe code; run in the foreground and let the supervisor detach.
            self.daemonize_requested = true;
            self.values.insert(canon, "no".into());
            return Ok(());
        }
        self.values.insert(canon, v);
        Ok(())
    }

    /// Recomputes the typed fields from the stored texts.
    fn refresh_typed(&mut self) {
        let get = |n: &str| self.values.get(n).cloned().unwrap_or_default();
        let num = |n: &str| get(n).parse::<i64>().unwrap_or(0);
        self.port = num("port") as u16;
        self.bind = get("bind").split_whitespace().map(String::from).collect();
        self.dir = PathBuf::from(get("dir"));
        self.databases = num("databases").max(1) as usize;
        self.loglevel = match get("loglevel").as_str() {
            "debug" => log::LevelFilter::Trace,
            "verbose" => log::LevelFilter::Debug,
            "warning" => log::LevelFilter::Warn,
            "nothing" => log::LevelFilter::Off,
            _ => log::LevelFilter::Info,
        };
        self.logfile = get("logfile");
        self.proto_max_bulk_len = num("proto-max-bulk-len").max(1) as usize;
        self.hash_limits.max_entries = num("hash-max-listpack-entries").max(0) as usize;
        self.hash_limits.max_value = num("hash-max-listpack-value").max(0) as usize;
        self.list_limits = crate::types::list::ListLimits::new(num("list-max-listpack-size"));
        self.set_limits.max_intset_entries = num("set-max-intset-entries").max(0) as usize;
        self.set_limits.max_listpack_entries = num("set-max-listpack-entries").max(0) as usize;
        self.set_limits.max_listpack_value = num("set-max-listpack-value").max(0) as usize;
        self.zset_limits.max_entries = num("zset-max-listpack-entries").max(0) as usize;
        self.zset_limits.max_value = num("zset-max-listpack-value").max(0) as usize;
        let pass = get("requirepass");
        self.requirepass = (!pass.is_empty()).then_some(pass);
        self.maxclients = num("maxclients").max(1) as usize;
        self.hz = num("hz").clamp(1, 500) as u32;
        self.client_query_buffer_limit = num("client-query-buffer-limit").max(1024) as usize;
        self.appendonly = get("appendonly") == "yes";
        self.appendfsync = match get("appendfsync").as_str() {
            "always" => FsyncPolicy::Always,
            "no" => FsyncPolicy::No,
            _ => FsyncPolicy::EverySec,
        };
        self.timeout = num("timeout").max(0) as u64;
        self.tcp_keepalive = num("tcp-keepalive").max(0) as u64;
        self.tcp_backlog = num("tcp-backlog").clamp(0, i32::MAX as i64) as i32;
        self.pidfile = get("pidfile");
        let yes = |n: &str| get(n) == "yes";
        self.protected_mode = yes("protected-mode");
        self.obuf_normal = obuf_limit_of(&get("client-output-buffer-limit"), "normal");
        self.obuf_replica = obuf_limit_of(&get("client-output-buffer-limit"), "slave");
        self.min_replicas = (
            num("min-replicas-to-write").max(0) as usize,
            num("min-replicas-max-lag").max(0) as u64,
        );
        self.obuf_pubsub = obuf_limit_of(&get("client-output-buffer-limit"), "pubsub");
        self.maxmemory = MaxMemory {
            bytes: num("maxmemory").max(0) as u64,
            policy: Policy::parse(&get("maxmemory-policy")).unwrap_or_default(),
            samples: num("maxmemory-samples").clamp(1, 64) as usize,
            tenacity: num("maxmemory-eviction-tenacity").clamp(0, 100) as u64,
            lfu_log_factor: num("lfu-log-factor").max(0) as u64,
            lfu_decay_time: num("lfu-decay-time").max(0) as u64,
        };
        self.lazyfree = crate::lazyfree::Policy {
            expire: yes("lazyfree-lazy-expire"),
            server_del: yes("lazyfree-lazy-server-del"),
            user_del: yes("lazyfree-lazy-user-del"),
            user_flush: yes("lazyfree-lazy-user-flush"),
            eviction: yes("lazyfree-lazy-eviction"),
        };
    }

    /// True if parameter `name` holds Redis 7's default value (the table's, or the
    /// original Redis default where ferrokv changed it).
    pub fn is_redis_default(&self, name: &str) -> bool {
        const REDIS_DEFAULTS: &[(&str, &str)] =
            &[("daemonize", "no"), ("pidfile", ""), ("appendonly", "no")];
        let Some(v) = self.get(name) else {
            return false;
        };
        if let Some((_, d)) = REDIS_DEFAULTS.iter().find(|(n, _)| *n == name) {
            return v == *d;
        }
        PARAMS.iter().any(|(n, d)| *n == name && *d == v)
    }

    /// The value text of a parameter (aliases resolve to their target).
    /// `dbfilename`: the RDB file in `dir` that SAVE writes and startup loads.
    pub fn dbfilename(&self) -> String {
        self.get("dbfilename").unwrap_or("dump.rdb").to_string()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        let canon = canonical(name)?;
        self.values.get(canon).map(|s| s.as_str())
    }

    /// CONFIG GET: every (name, value) whose name matches one of `patterns`, in table order,
    /// each name once.
    pub fn matching(&self, patterns: &[&[u8]]) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let globs: Vec<_> = patterns
            .iter()
            .map(|p| crate::glob::Glob::new(p, true))
            .collect();
        // PARAMS already lists the old alias names, as Redis's own table does.
        for name in PARAMS.iter().map(|(n, _)| *n) {
            if globs.iter().any(|g| g.matches(name.as_bytes())) {
                out.push((name, self.get(name).unwrap_or("").to_string()));
            }
        }
        out
    }

    /// CONFIG SET of several parameters at once: all are validated before any is applied.
    pub fn set_many(&mut self, pairs: &[(&str, &str)]) -> Result<(), crate::error::CmdError> {
        let mut next = self.clone();
        for (name, value) in pairs {
            let lname = name.to_ascii_lowercase();
            let Some(canon) = canonical(&lname) else {
                return Err(crate::error::CmdError::Custom(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                )));
            };
            if IMMUTABLE.contains(&canon) {
                return Err(crate::error::CmdError::Custom(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config"
                )));
            }
            next.set_value(canon, value).map_err(|msg| {
                crate::error::CmdError::Custom(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - {msg}"
                ))
            })?;
        }
        next.refresh_typed();
        next.ignored.clone_from(&self.ignored);
        next.daemonize_requested = self.daemonize_requested;
        next.users = std::mem::take(&mut self.users);
        *self = next;
        Ok(())
    }
}

/// `maxmemory` and how to get under it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MaxMemory {
    /// 0: no limit.
    pub bytes: u64,
    pub policy: Policy,
    /// Keys sampled per database per eviction round (`maxmemory-samples`).
    pub samples: usize,
    /// `maxmemory-eviction-tenacity`: how long one command may spend evicting.
    pub tenacity: u64,
    pub lfu_log_factor: u64,
    pub lfu_decay_time: u64,
}

/// `maxmemory-policy`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Policy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    #[default]
    NoEviction,
}

impl Policy {
    pub fn parse(s: &str) -> Option<Policy> {
        Some(match s {
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            "allkeys-lru" => Policy::AllkeysLru,
            "allkeys-lfu" => Policy::AllkeysLfu,
            "allkeys-random" => Policy::AllkeysRandom,
            "noeviction" => Policy::NoEviction,
            _ => return None,
        })
    }

    /// Candidates come from the keys with a deadline only.
    pub fn volatile(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    /// Access clocks hold LFU counters rather than LRU seconds.
    pub fn lfu(self) -> bool {
        matches!(self, Policy::VolatileLfu | Policy::AllkeysLfu)
    }
}

/// One class's output buffer limits: a client whose unsent output passes `hard` bytes,
/// or stays above `soft` bytes for `soft_secs` seconds, is disconnected. 0 disables each.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ObufLimit {
    pub hard: usize,
    pub soft: usize,
    pub soft_secs: u64,
}

impl ObufLimit {
    pub fn is_set(&self) -> bool {
        self.hard > 0 || self.soft > 0
    }
}

/// The client classes of `client-output-buffer-limit`, in the order CONFIG GET lists them.
const OBUF_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// Applies `class hard soft secs` groups in `value` over `current` (all three classes),
/// with Redis's validation and messages; returns the normalized text. Empty: no change.
fn merge_obuf_limits(current: &str, value: &str) -> Result<String, String> {
    let mut limits: Vec<[i64; 3]> = OBUF_CLASSES
        .iter()
        .map(|c| {
            let l = obuf_limit_of(current, c);
            [l.hard as i64, l.soft as i64, l.soft_secs as i64]
        })
        .collect();
    let words: Vec<&str> = value.split_whitespace().collect();
    if !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    for group in words.chunks(4) {
        let class = match group[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into());
            }
        };
        let bad = || "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        let hard = parse_memory(group[1]).filter(|&n| n >= 0).ok_or_else(bad)?;
        let soft = parse_memory(group[2]).filter(|&n| n >= 0).ok_or_else(bad)?;
        let secs = group[3]
            .parse::<i64>()
            .ok()
            .filter(|&n| n >= 0)
            .ok_or_else(bad)?;
        limits[class] = [hard, soft, secs];
    }
    Ok(OBUF_CLASSES
        .iter()
        .zip(&limits)
        .map(|(c, [h, s, t])| format!("{c} {h} {s} {t}"))
        .collect::<Vec<_>>()
        .join(" "))
}

/// The limits of `class` in a normalized `client-output-buffer-limit` text.
fn obuf_limit_of(text: &str, class: &str) -> ObufLimit {
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .chunks(4)
        .find(|g| g.len() == 4 && g[0] == class)
        .map(|g| ObufLimit {
            hard: g[1].parse().unwrap_or(0),
            soft: g[2].parse().unwrap_or(0),
            soft_secs: g[3].parse().unwrap_or(0),
        })
        .unwrap_or_default()
}

/// Quotes a command-line value so the config-line splitter gives it back unchanged.
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults() {
        let c = Config::from_args(&[]).unwrap();
        assert_eq!(c.port, 6379);
        assert_eq!(c.dir, PathBuf::from("./data"));
        assert_eq!(c.databases, 16);
        assert_eq!(c.bind, vec!["127.0.0.1", "-::1"]);
    }

    #[test]
    fn command_line_wins_and_validates() {
        let c = Config::from_args(&args(&[
            "--port",
            "6380",
            "--save",
            "",
            "--appendfsync",
            "always",
        ]))
        .unwrap();
        assert_eq!(c.port, 6380);
        assert_eq!(c.appendfsync, FsyncPolicy::Always);
        assert_eq!(c.get("save"), Some(""));
        let e = Config::from_args(&args(&["--port", "abc"])).unwrap_err();
        assert!(e.msg.contains("integer"), "{}", e.msg);
        let e = Config::from_args(&args(&["--prot", "1"])).unwrap_err();
        assert!(e.msg.contains("Bad directive"), "{}", e.msg);
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1kb"), Some(1024));
        assert_eq!(parse_memory("5mb"), Some(5 << 20));
        assert_eq!(parse_memory("1g"), Some(1_000_000_000));
        assert_eq!(parse_memory("x"), None);
    }

    #[test]
    fn aliases_share_value() {
        let mut c = Config::default();
        c.set_many(&[("hash-max-ziplist-entries", "7")]).unwrap();
        assert_eq!(c.get("hash-max-listpack-entries"), Some("7"));
        assert_eq!(c.hash_limits.max_entries, 7);
    }
}
