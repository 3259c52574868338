//! Real client libraries against ferrokv: the hashes tutorial's Python (redis-py + hiredis,
//! RESP2 and RESP3, pipelines and MULTI/EXEC) and Node.js (ioredis) examples, its
//! redis-cli commands compared with a real redis-server, redis-py's and ioredis's hash
//! field expiration methods, both logging in as an ACL user, and both in pub/sub.
//!
//! The scripts live in tests/clients/; their dependencies (tests/clients/.venv,
//! tests/clients/node_modules, redis-server/redis-cli) come from `scripts/setup-test-deps`.
//! Without them the tests are skipped, unless CI is set, where they fail.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Server;

/// Longest a client script may run before it is killed and the test fails.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Returns false (after printing SKIPPED) if `what` is missing; panics instead under CI.
fn require(test: &str, ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {what} is missing: run scripts/setup-test-deps first");
    }
    eprintln!("SKIPPED {test}: {what} is missing (run scripts/setup-test-deps first)");
    false
}

/// Runs `program args` in the repository root, waits at most SCRIPT_TIMEOUT, and panics
/// with the script's output (and the server log) unless it exits with status 0.
fn run_script(program: &Path, args: &[String], server_logs: &[&Server]) {
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
    let mut readers = Vec::new();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        readers.push(std::thread::spawn(move || {
            let mut stream = stream;
            let mut out = Vec::new();
            let _ = stream.read_to_end(&mut out);
            String::from_utf8_lossy(&out).into_owned()
        }));
    }
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > SCRIPT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut outputs = readers.into_iter().map(|h| h.join().unwrap());
    let (stdout, stderr) = (outputs.next().unwrap(), outputs.next().unwrap());
    let cmdline = format!("{} {}", program.display(), args.join(" "));
    match status {
        Some(s) if s.success() => {
            // Shown with --nocapture; the last line is the script's pass/fail count.
            println!("{cmdline}: ok in {:.1?}\n{stdout}", started.elapsed());
        }
        _ => {
            let how = match status {
                Some(s) => format!("exited with {s}"),
                None => format!("timed out after {SCRIPT_TIMEOUT:?}"),
            };
            let logs: String = server_logs
                .iter()
                .map(|s| format!("--- log of server on port {} ---\n{}", s.port, s.log_text()))
                .collect();
            panic!("`{cmdline}` {how}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n{logs}");
        }
    }
}

/// The ACL user the acl.py / acl.mjs scripts log in as, given on the command line.
const ACL_USER: &[&str] = &[
    "--user",
    "app",
    "on",
    ">app-pw",
    "~app:*",
    "+@all",
    "-@dangerous",
];

/// Runs a redis-py script from tests/clients against a fresh server (AOF off).
fn run_python(test: &str, script: &str) {
    run_python_with(test, script, &[]);
}

/// `run_python` with extra server arguments.
fn run_python_with(test: &str, script: &str, extra: &[&str]) {
    let python = root().join("tests/clients/.venv/bin/python");
    if !require(test, python.is_file(), "tests/clients/.venv") {
        return;
    }
    let mut args = vec!["--appendonly", "no"];
    args.extend_from_slice(extra);
    let server = Server::start(&args);
    run_script(
        &python,
        &[format!("tests/clients/{script}"), server.port.to_string()],
        &[&server],
    );
}

#[test]
fn redis_py_tutorial() {
    run_python("redis_py_tutorial", "tutorial.py");
}

/// redis-py's own hash field expiration methods (hexpire ... hgetdel) parse ferrokv's
/// replies in RESP2 and RESP3, with hiredis and the pure-Python parsers.
#[test]
fn redis_py_field_expiration() {
    run_python("redis_py_field_expiration", "field_ttl.py");
}

/// redis-py logs in with a username and password (AUTH user pass, HELLO 3 AUTH).
#[test]
fn redis_py_acl_user() {
    run_python_with("redis_py_acl_user", "acl.py", ACL_USER);
}

/// redis-py's PubSub object (subscribe, psubscribe, get_message, handlers) in RESP2 and
/// RESP3, and keyspace notifications as it receives them.
#[test]
fn redis_py_pubsub() {
    run_python("redis_py_pubsub", "pubsub.py");
}

/// Runs an ioredis script from tests/clients against a fresh server (AOF off).
fn run_node(test: &str, script: &str) {
    run_node_with(test, script, &[]);
}

/// `run_node` with extra server arguments.
fn run_node_with(test: &str, script: &str, extra: &[&str]) {
    let node = common::which("node");
    let modules = root().join("tests/clients/node_modules/ioredis");
    if !require(test, node.is_some(), "node")
        || !require(test, modules.is_dir(), "tests/clients/node_modules")
    {
        return;
    }
    let mut args = vec!["--appendonly", "no"];
    args.extend_from_slice(extra);
    let server = Server::start(&args);
    run_script(
        Path::new(&node.unwrap()),
        &[format!("tests/clients/{script}"), server.port.to_string()],
        &[&server],
    );
}

/// ioredis logs in with a username and password, in RESP2 and RESP3.
#[test]
fn ioredis_acl_user() {
    run_node_with("ioredis_acl_user", "acl.mjs", ACL_USER);
}

#[test]
fn ioredis_tutorial() {
    run_node("ioredis_tutorial", "tutorial.mjs");
}

/// ioredis's own hash field expiration methods, with and without auto-pipelining.
#[test]
fn ioredis_field_expiration() {
    run_node("ioredis_field_expiration", "field_ttl.mjs");
}

/// ioredis's subscriber mode: 'message', 'pmessage' and 'smessage' events, RESP2 and
/// RESP3, and keyspace notifications.
#[test]
fn ioredis_pubsub() {
    run_node("ioredis_pubsub", "pubsub.mjs");
}

#[test]
fn redis_cli_tutorial_matches_redis() {
    let test = "redis_cli_tutorial_matches_redis";
    let python = common::which("python3");
    if !require(test, common::which("redis-cli").is_some(), "redis-cli")
        || !require(
            test,
            common::which("redis-server").is_some(),
            "redis-server",
        )
        || !require(test, python.is_some(), "python3")
    {
        return;
    }
    let server = Server::start(&["--appendonly", "no"]);
    let redis = Server::start_redis().expect("redis-server did not start");
    run_script(
        Path::new(&python.unwrap()),
        &[
            "tests/clients/tutorial_cli.py".into(),
            server.port.to_string(),
            redis.port.to_string(),
        ],
        &[&server, &redis],
    );
}
