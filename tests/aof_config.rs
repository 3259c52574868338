//! Persistence switched at run time and the DEBUG tools: `CONFIG SET appendonly yes` on a
//! server that ran without an AOF writes a full base first, then logs; `appendonly no`
//! stops logging; `appendfsync` changes apply at once. DEBUG is refused unless enabled,
//! and DEBUG RELOAD / LOADAOF / DIGEST agree with a real restart.

mod common;

use std::time::{Duration, Instant};

use common::{Client, Server, TempDir};

fn info_field(c: &mut Client, name: &str) -> String {
    let info = c.cmd("INFO persistence");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("{name} missing from {info}"))
        .trim()
        .to_string()
}

fn wait_rewrite_done(c: &mut Client) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while info_field(c, "aof_rewrite_in_progress") != "0" {
        assert!(Instant::now() < deadline, "rewrite did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn appendonly_turned_on_and_off_at_run_time() {
    let dir = TempDir::new("aofcfg");
    let mut srv = Server::start_in(
        dir.path(),
        &["--appendonly", "no", "--enable-debug-command", "yes"],
    );
    let mut c = srv.connect();
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    for i in 0..2000 {
        c.cmd(&format!("HSET user:{i} name n{i} visits {i}"));
    }
    assert_eq!(c.cmd("SET session abc EX 1000"), "+OK\r\n");
    assert!(
        !dir.path().join("appendonlydir").exists(),
        "no AOF while appendonly is no"
    );

    assert_eq!(c.cmd("CONFIG SET appendonly yes"), "+OK\r\n");
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    // Writes during the first rewrite go to the new incr file.
    assert_eq!(c.cmd("HSET user:1 name changed"), ":0\r\n");
    wait_rewrite_done(&mut c);
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    let manifest =
        std::fs::read_to_string(dir.path().join("appendonlydir/appendonly.aof.manifest")).unwrap();
    assert!(
        manifest.contains("type b") && manifest.contains("type i"),
        "{manifest}"
    );
    assert_eq!(c.cmd("HSET user:2 name after"), ":0\r\n");
    let digest = c.cmd("DEBUG DIGEST");

    assert_eq!(c.cmd("CONFIG SET appendfsync always"), "+OK\r\n");
    assert_eq!(
        c.cmd("CONFIG GET appendfsync"),
        "*2\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n"
    );
    assert_eq!(c.cmd("INCR counter"), ":1\r\n");
    let digest_with_counter = c.cmd("DEBUG DIGEST");
    assert_ne!(digest, digest_with_counter);

    srv.kill9();
    let mut srv = Server::start_in(dir.path(), &["--enable-debug-command", "yes"]);
    let mut c = srv.connect();
    assert_eq!(
        c.cmd("DEBUG DIGEST"),
        digest_with_counter,
        "restart must give the same data"
    );
    assert_eq!(c.cmd("HGET user:1 name"), "$7\r\nchanged\r\n");
    let ttl: i64 = c.cmd("TTL session")[1..].trim().parse().unwrap();
    assert!((990..=1000).contains(&ttl), "ttl {ttl}");

    // Turned off: later writes are not logged, so a restart brings back the logged state.
    assert_eq!(c.cmd("CONFIG SET appendonly no"), "+OK\r\n");
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    assert_eq!(c.cmd("DEL counter"), ":1\r\n");
    srv.kill9();
    let mut srv = Server::start_in(dir.path(), &["--enable-debug-command", "yes"]);
    let mut c = srv.connect();
    assert_eq!(c.cmd("GET counter"), "$1\r\n1\r\n");
    srv.kill9();
}

#[test]
fn debug_tools() {
    let dir = TempDir::new("aofdebug");
    let mut plain = Server::start_in(dir.path(), &[]);
    let mut c = plain.connect();
    assert_eq!(
        c.cmd("DEBUG DIGEST"),
        "-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n"
    );
    plain.kill9();

    let mut srv = Server::start_in(
        dir.path(),
        &["--enable-debug-command", "local", "--appendfsync", "always"],
    );
    let mut c = srv.connect();
    assert_eq!(
        c.cmd("DEBUG DIGEST"),
        "$40\r\n0000000000000000000000000000000000000000\r\n"
    );
    c.cmd("HSET h a 1 b 2");
    c.cmd("SET s v");
    c.cmd("SELECT 3");
    c.cmd("SET s other");
    c.cmd("SELECT 0");
    let d = c.cmd("DEBUG DIGEST");
    assert_ne!(d, "$40\r\n0000000000000000000000000000000000000000\r\n");
    // Field order does not change the digest; content does.
    let v1 = c.cmd("DEBUG DIGEST-VALUE h");
    c.cmd("DEL h");
    c.cmd("HSET h b 2 a 1");
    assert_eq!(c.cmd("DEBUG DIGEST-VALUE h"), v1);
    assert_eq!(c.cmd("DEBUG DIGEST"), d);
    assert_eq!(
        c.cmd("DEBUG DIGEST-VALUE nokey"),
        "*1\r\n+0000000000000000000000000000000000000000\r\n"
    );
    assert_eq!(c.cmd("DEBUG RELOAD"), "+OK\r\n");
    assert_eq!(c.cmd("DEBUG DIGEST"), d);
    assert_eq!(c.cmd("DEBUG LOADAOF"), "+OK\r\n");
    assert_eq!(c.cmd("DEBUG DIGEST"), d);
    assert_eq!(c.cmd("HGET h a"), "$1\r\n1\r\n");
    assert!(c.cmd("DEBUG OBJECT h").starts_with("+Value at:0x"));
    assert!(c.cmd("DEBUG OBJECT h").contains(" encoding:listpack "));
    assert_eq!(c.cmd("DEBUG OBJECT nokey"), "-ERR no such key\r\n");
    assert_eq!(c.cmd("DEBUG SET-ACTIVE-EXPIRE 0"), "+OK\r\n");
    let t = Instant::now();
    assert_eq!(c.cmd("DEBUG SLEEP 0.2"), "+OK\r\n");
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert!(
        c.cmd("DEBUG NOSUCH")
            .starts_with("-ERR unknown subcommand 'NOSUCH'")
    );
    srv.kill9();
    let mut srv = Server::start_in(dir.path(), &["--enable-debug-command", "yes"]);
    let mut c = srv.connect();
    assert_eq!(
        c.cmd("DEBUG DIGEST"),
        d,
        "DEBUG RELOAD's base plus incr replays to the same data"
    );
    srv.kill9();
}
