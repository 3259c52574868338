//! ferrokv: a Redis-compatible, single-threaded key-value server whose first-class type is
//! the hash.
//!
//! Start-up order: parse the command line and config file (exit 1 on a bad directive, as
//! redis-server does), set up logging, prepare the data directory, bind the listeners, then
//! run the event loop until SHUTDOWN or SIGTERM/SIGINT.
//!
//! The server is a library with one public entry point, `main`, called by the binary
//! (`src/main.rs`), and `fuzz`, the entry points of the fuzz targets; every module stays
//! private, so the compiler still reports dead code.
// `unsafe` is denied everywhere except the counting allocator, which cannot exist without
// it (see src/alloc.rs), and the prefetch hint, an intrinsic that takes a raw pointer
// (see src/prefetch.rs).
#![deny(unsafe_code)]

mod acl;
#[allow(unsafe_code)]
mod alloc;
mod aof;
mod client;
mod cmd;
mod config;
mod conn;
mod engine;
mod error;
pub mod fuzz;
mod glob;
mod keyhash;
mod keymap;
mod keyspace;
mod lazyfree;
mod ldouble;
mod logging;
mod notify;
mod num;
#[allow(unsafe_code)]
mod prefetch;
mod pubsub;
mod rand;
mod rdb;
mod repl;
mod resp;
mod server;
mod sha256;
mod stream;
mod types;

use log::{error, info, warn};

/// The Redis version ferrokv answers as: clients gate features on it.
pub const REDIS_VERSION: &str = "7.0.15";
pub const FERROKV_VERSION: &str = env!("CARGO_PKG_VERSION");

fn usage() {
    eprintln!(
        "Usage: ferrokv [/path/to/redis.conf] [options]\n       ferrokv - (read config from stdin)\n       ferrokv -v or --version\n       ferrokv -h or --help\n       ferrokv --check-aof [--fix] <appendonlydir|file.manifest|file.aof>\n\nExamples:\n       ferrokv (run with defaults: port 6379, data in ./data)\n       ferrokv /etc/redis/redis.conf\n       ferrokv --port 7777\n       ferrokv /etc/myredis.conf --loglevel verbose\n       ferrokv --port 6380 --dir /tmp/d --appendonly yes --appendfsync always --save ''"
    );
}

/// The server's `main`: see the module doc.
pub fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(a) = args.first() {
        match a.as_str() {
            "-v" | "--version" => {
                println!("ferrokv v={FERROKV_VERSION} (Redis {REDIS_VERSION} compatible) bits=64");
                return;
            }
            "-h" | "--help" => {
                usage();
                return;
            }
            "--check-aof" => std::process::exit(aof::check::run(&args[1..])),
            _ => {}
        }
    }
    let config = match config::Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = logging::init(config.loglevel, &config.logfile) {
        eprintln!("Can't open the log file: {e}");
        std::process::exit(1);
    }
    info!("ferrokv is starting");
    info!(
        "ferrokv version={FERROKV_VERSION}, redis_version={REDIS_VERSION}, bits=64, PID: {}, just started",
        std::process::id()
    );
    match &config.config_file {
        Some(p) => info!("Configuration loaded from {}", p.display()),
        None => warn!(
            "No config file specified, using the default config. In order to specify a config file use ferrokv /path/to/redis.conf"
        ),
    }
    if config.daemonize_requested {
        warn!(
            "'daemonize yes' is not supported: running in the foreground (let systemd or your supervisor detach it)"
        );
    }
    // A directive left at Redis's default changes nothing, so those share one line; the
    // others each get their own warning, since the operator asked for something we ignore.
    let (idle, active): (Vec<&String>, Vec<&String>) = config
        .ignored
        .iter()
        .partition(|n| config.is_redis_default(n));
    for name in active {
        warn!("Directive '{name}' is known to Redis but not implemented by ferrokv; ignored");
    }
    if !idle.is_empty() {
        let names: Vec<&str> = idle.iter().map(|s| s.as_str()).collect();
        warn!(
            "Directives known to Redis, not implemented by ferrokv, set to Redis's default (no effect): {}",
            names.join(", ")
        );
    }
    if let Err(e) = std::fs::create_dir_all(&config.dir) {
        error!(
            "Can't create data directory '{}': {e}",
            config.dir.display()
        );
        std::process::exit(1);
    }
    if !config.pidfile.is_empty()
        && let Err(e) = std::fs::write(&config.pidfile, format!("{}\n", std::process::id()))
    {
        warn!("Failed to write PID file '{}': {e}", config.pidfile);
    }
    let acl = match cmd::acl::startup(&config) {
        Ok(a) => a,
        Err(e) => {
            error!("{e}");
            std::process::exit(1);
        }
    };
    let port = config.port;
    let eng = engine::Engine::new(config, cmd::count(), acl);
    let mut srv = match server::Server::new(eng) {
        Ok(s) => s,
        Err(e) => {
            error!("{e}");
            std::process::exit(1);
        }
    };
    info!("Running mode=standalone, port={port}.");
    info!("Server initialized");
    let loaded = if srv.eng.config.appendonly {
        cmd::replay::load_at_startup(&mut srv.eng)
    } else {
        cmd::replay::load_rdb_at_startup(&mut srv.eng)
    };
    if let Some(v) = srv.eng.config.get("replicaof").filter(|v| !v.is_empty())
        && let Some((host, port)) = v.split_once(' ')
        && let Ok(port) = port.trim().parse::<u16>()
    {
        let host = host.to_string();
        srv.eng.follow(host, port);
    }
    if let Err(e) = loaded {
        error!("{e}");
        srv.finish();
        std::process::exit(1);
    }
    if let Err(e) = srv.run() {
        error!("Event loop failed: {e}");
        srv.finish();
        std::process::exit(1);
    }
    srv.finish();
    info!("ferrokv is now ready to exit, bye bye...");
}
