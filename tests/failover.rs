//! Failover with the real redis-sentinel over three ferrokv nodes (the short form; the
//! long one, many kills in a row, is `scripts/failover`).
//!
//! `sentinel_fails_over_without_losing_waited_writes`:
//! 1. A ferrokv master and two ferrokv replicas (`--replicaof`), one redis-sentinel
//!    monitoring the master (quorum 1, down-after 2 s, as Redis's own Sentinel tests
//!    use). Sentinel must discover both replicas through the master's INFO and see them
//!    online.
//! 2. A writer runs `SET` + `WAIT 1 1000` on the master and remembers every write WAIT
//!    acknowledged; after a few hundred, the master is killed with -9 while it writes.
//! 3. Sentinel must promote a replica (`+switch-master`), and the new master must hold
//!    every acknowledged write: the count lost is printed and must be 0. The other
//!    replica follows the new master and converges; the new master takes writes.
//! 4. redis-py's Sentinel client (`tests/clients/sentinel.py`, RESP2 and RESP3) finds
//!    the new master and the replica, writes through `master_for`, reads through
//!    `slave_for`, and gets READONLY writing to the replica.
//! 5. The old master restarts on its directory; Sentinel turns it into a replica of the
//!    master it names (the new one, unless it failed over again), and it converges (its
//!    data from before the kill is replaced).
//!
//! Why down-after is 2 s and not 1: Sentinel retries a link at most once a second
//! (`SENTINEL_PING_PERIOD`), and after `+switch-master` it counts the new master's
//! first PING from the switch. With down-after equal to that period, a switch that falls
//! just after a retry towards the dead master leaves the new master without a PONG for
//! just over a second, so Sentinel flags it down and fails over a second time. Seen in
//! CI (`+sdown master` 1016 ms after `+switch-master`, `-sdown` 58 ms later) and caught
//! with debug logs: the new master accepted Sentinel's connection 1019 ms after the
//! switch and answered its PING within the same millisecond.
//!
//! redis-sentinel (Debian package `redis-sentinel`) is required in CI; elsewhere its
//! absence skips the test.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Client, Server, TempDir, free_port, which};

/// Longest wait for Sentinel to notice, elect, promote and reconfigure.
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(60);

fn require(test: &str, what: &str) -> bool {
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {what} is missing: run scripts/setup-test-deps first");
    }
    eprintln!("SKIPPED {test}: {what} is missing");
    false
}

/// Polls `f` every 50 ms until it returns Some, or panics after `limit` with `what`.
fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A connection that may fail (the node may be down).
fn try_connect(port: u16) -> Option<Client> {
    let s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    drop(s);
    Some(Client::connect(port))
}

fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
}

/// Runs one command on a fresh connection: Sentinel's reconfiguration kills normal
/// clients (CLIENT KILL TYPE normal), so nothing is kept open across it. None if the
/// node is down or the connection was cut.
fn once(port: u16, args: &[&str]) -> Option<String> {
    let mut c = try_connect(port)?;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.cmdv(args))).ok()
}

fn info(port: u16, section: &str) -> String {
    once(port, &["INFO", section]).unwrap_or_default()
}

/// A running redis-sentinel with its config in `dir`.
struct Sentinel {
    child: std::process::Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sentinel {
    fn start(bin: &str, dir: &Path, master_port: u16) -> Sentinel {
        let port = free_port();
        let conf = dir.join("sentinel.conf");
        let log = dir.join("sentinel.log");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {}\nlogfile {}\n\
                 sentinel monitor mymaster 127.0.0.1 {master_port} 1\n\
                 sentinel down-after-milliseconds mymaster 2000\n\
                 sentinel failover-timeout mymaster 10000\n\
                 sentinel parallel-syncs mymaster 1\n",
                dir.display(),
                log.display()
            ),
        )
        .unwrap();
        let child = std::process::Command::new(bin)
            .arg(&conf)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-sentinel starts");
        let s = Sentinel { child, port, log };
        wait_for("sentinel to listen", Duration::from_secs(10), || {
            try_connect(port).map(|_| ())
        });
        s
    }

    fn client(&self) -> Client {
        Client::connect(self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The master's port as Sentinel names it.
    fn master_port(&self) -> u16 {
        let r = self
            .client()
            .cmdv(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]);
        // *2 $9 127.0.0.1 $4 port
        r.split("\r\n")
            .nth(4)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }
}

/// Starts a ferrokv node on `dir` (a fixed port, so a restart keeps its address).
fn node(dir: &Path, port: u16, extra: &[&str]) -> Server {
    Server::start_at(dir, port, extra).expect("ferrokv starts")
}

/// Every key and its value in database 0, sorted (the data here is strings).
fn strings(c: &mut Client) -> Vec<(String, String)> {
    let keys = c.cmdv(&["KEYS", "*"]);
    let mut names: Vec<String> = keys
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.starts_with('$') && !l.is_empty())
        .map(String::from)
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|k| {
            let v = c.cmdv(&["GET", &k]);
            (k, v)
        })
        .collect()
}

#[test]
fn sentinel_fails_over_without_losing_waited_writes() {
    let test = "sentinel_fails_over_without_losing_waited_writes";
    let Some(sbin) = which("redis-sentinel") else {
        require(test, "redis-sentinel");
        return;
    };
    let tmp = TempDir::new("failover");
    let dirs: Vec<PathBuf> = ["m", "r1", "r2", "s"]
        .iter()
        .map(|n| {
            let d = tmp.path().join(n);
            std::fs::create_dir_all(&d).unwrap();
            d
        })
        .collect();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut master = node(&dirs[0], ports[0], &[]);
    let of = format!("127.0.0.1 {}", ports[0]);
    let mut replicas = vec![
        node(&dirs[1], ports[1], &["--replicaof", &of]),
        node(&dirs[2], ports[2], &["--replicaof", &of]),
    ];
    wait_for("both replicas online", Duration::from_secs(20), || {
        (info_field(&info(ports[0], "replication"), "connected_slaves").as_deref() == Some("2"))
            .then_some(())
    });
    let sentinel = Sentinel::start(&sbin, &dirs[3], ports[0]);
    wait_for(
        "Sentinel to discover both replicas",
        Duration::from_secs(20),
        || {
            let r = sentinel
                .client()
                .cmdv(&["SENTINEL", "REPLICAS", "mymaster"]);
            (ports[1..]
                .iter()
                .all(|p| r.contains(&format!("127.0.0.1:{p}"))))
            .then_some(())
        },
    );

    // Writes acknowledged by WAIT 1, until the master dies under the writer.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let port = ports[0];
        std::thread::spawn(move || {
            let mut c = Client::connect(port);
            let _ = c.stream.set_read_timeout(Some(Duration::from_secs(3)));
            let mut acked = Vec::new();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("k{i}");
                let set = Client::encode(&[b"SET", key.as_bytes(), format!("v{i}").as_bytes()]);
                let wait = Client::encode(&[b"WAIT", b"1", b"1000"]);
                let mut both = set;
                both.extend_from_slice(&wait);
                if std::io::Write::write_all(&mut c.stream, &both).is_err() {
                    break;
                }
                let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    (c.read_reply(), c.read_reply())
                }));
                match ok {
                    Ok((s, w)) if s == b"+OK\r\n" && w != b":0\r\n" => acked.push(i),
                    Ok(_) => {}
                    Err(_) => break,
                }
                i += 1;
            }
            acked
        })
    };
    wait_for("writes to be acknowledged", Duration::from_secs(20), || {
        let n = once(ports[0], &["DBSIZE"]).unwrap_or_default();
        (n.trim_start_matches(':').trim().parse::<u64>().unwrap_or(0) >= 300).then_some(())
    });
    master.kill9();
    let acked = {
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap()
    };
    assert!(
        acked.len() >= 300,
        "only {} writes acknowledged",
        acked.len()
    );

    let new_port = wait_for("Sentinel to promote a replica", FAILOVER_TIMEOUT, || {
        let p = sentinel.master_port();
        (p != ports[0] && p != 0).then_some(p)
    });
    let promoted = ports
        .iter()
        .position(|&p| p == new_port)
        .expect("a replica");
    let other = 3 - promoted;
    // Sentinel may still be killing clients on the new master: a fresh connection.
    wait_for("the promotion to finish", FAILOVER_TIMEOUT, || {
        once(new_port, &["ROLE"])
            .filter(|r| r.contains("master"))
            .map(|_| ())
    });
    let mut nc = Client::connect(new_port);
    let lost: Vec<u64> = acked
        .iter()
        .copied()
        .filter(|i| {
            nc.cmdv(&["GET", &format!("k{i}")]) != format!("${}\r\nv{i}\r\n", format!("v{i}").len())
        })
        .collect();
    println!(
        "failover: {} writes acknowledged by WAIT 1 before kill -9, {} lost",
        acked.len(),
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "{} acknowledged writes missing on the new master (first: k{})\n--- sentinel log ---\n{}",
        lost.len(),
        lost[0],
        sentinel.log_text()
    );
    assert_eq!(
        once(new_port, &["SET", "after", "failover"]).as_deref(),
        Some("+OK\r\n")
    );

    // The other replica follows the new master and converges.
    let followed = |port: u16| {
        let i = info(port, "replication");
        (info_field(&i, "master_port") == Some(new_port.to_string())
            && info_field(&i, "master_link_status").as_deref() == Some("up")
            && once(port, &["GET", "after"]).as_deref() == Some("$8\r\nfailover\r\n"))
        .then_some(())
    };
    wait_for(
        "the other replica to follow the new master",
        FAILOVER_TIMEOUT,
        || followed(ports[other]),
    );
    assert_eq!(
        strings(&mut Client::connect(ports[other])),
        strings(&mut Client::connect(new_port)),
        "the other replica differs"
    );

    // redis-py's Sentinel client finds the new topology.
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/.venv/bin/python");
    if python.is_file() {
        let out = std::process::Command::new(&python)
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/sentinel.py"))
            .args([
                sentinel.port.to_string(),
                new_port.to_string(),
                ports[other].to_string(),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sentinel.py failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        require(test, "tests/clients/.venv");
    }

    // The old master comes back and is turned into a replica of the master Sentinel
    // names: the new one, or a newer one if Sentinel failed over again meanwhile (a
    // second failover is Sentinel's call, not a fault of the nodes).
    let old = node(&dirs[0], ports[0], &[]);
    let follows = |port: u16, master: u16| {
        let i = info(port, "replication");
        (info_field(&i, "master_port") == Some(master.to_string())
            && info_field(&i, "master_link_status").as_deref() == Some("up")
            && once(port, &["GET", "after"])
                .is_some_and(|v| once(master, &["GET", "after"]) == Some(v)))
        .then_some(())
    };
    let deadline = Instant::now() + FAILOVER_TIMEOUT;
    let current = loop {
        let cur = sentinel.master_port();
        if cur != 0 && cur != ports[0] && follows(ports[0], cur).is_some() {
            break cur;
        }
        if Instant::now() >= deadline {
            let logs: Vec<String> = replicas
                .iter()
                .map(|r| format!("--- node {} log ---\n{}", r.port, r.log_text()))
                .collect();
            panic!(
                "Sentinel did not turn the old master into a replica of {cur}\n--- its INFO ---\n{}\n--- {cur}'s INFO ---\n{}\n--- sentinel log ---\n{}\n--- old master log ---\n{}\n{}",
                info(ports[0], "replication"),
                info(cur, "replication"),
                sentinel.log_text(),
                old.log_text(),
                logs.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if current != new_port {
        println!("failover: Sentinel failed over again, to {current}");
    }
    // Converged: the same offset, then the same keys.
    wait_for(
        "the old master to reach the master's offset",
        FAILOVER_TIMEOUT,
        || {
            let want = info_field(&info(current, "replication"), "master_repl_offset")?;
            (info_field(&info(ports[0], "replication"), "slave_repl_offset")? == want).then_some(())
        },
    );
    assert_eq!(
        strings(&mut Client::connect(ports[0])),
        strings(&mut Client::connect(current)),
        "the old master differs after rejoining"
    );
    drop(replicas.drain(..));
}
