//! A full disk under the AOF: writes are refused with Redis's `-MISCONF` error, reads keep
//! working, the reply of a write whose batch could not be written is held back (it was
//! never acknowledged), and once space returns the server retries by itself, releases the
//! held reply and accepts writes again. After a kill -9 every acknowledged write is there.
//!
//! The disk is a 4 MB tmpfs when the test may mount one (root in a VM or a privileged
//! container); otherwise the same run uses a file-size limit (`prlimit --fsize`), which
//! makes the AOF write fail with EFBIG ("File too large") instead of ENOSPC.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Client, Server, TempDir, ferrokv_bin, free_port};

/// How the disk is made to fail and then recover.
enum Fault {
    /// A small tmpfs: filled by `filler`, freed by deleting it.
    Tmpfs { filler: PathBuf },
    /// RLIMIT_FSIZE on the server process, lifted with `prlimit --pid`.
    FileSize,
}

/// Unmounts the tmpfs even when an assertion fails.
struct Unmount(Option<PathBuf>);

impl Drop for Unmount {
    fn drop(&mut self) {
        if let Some(m) = &self.0 {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
    }
}

fn try_mount_tmpfs(mnt: &Path) -> bool {
    Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=4m",
            "tmpfs",
            mnt.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Fills the file system holding `path` until a write fails.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![b'x'; 4096];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
}

fn persistence(c: &mut Client) -> String {
    c.cmd("INFO persistence")
}

fn wait_for(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads one line-shaped reply within `ms`, or None if nothing arrived.
fn reply_within(s: &mut TcpStream, ms: u64) -> Option<String> {
    s.set_read_timeout(Some(Duration::from_millis(ms))).unwrap();
    let mut buf = [0u8; 256];
    match s.read(&mut buf) {
        Ok(n) if n > 0 => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        _ => None,
    }
}

#[test]
fn full_disk_refuses_writes_keeps_reads_and_recovers() {
    let tmp = TempDir::new("disk");
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    // FERROKV_TEST_NO_TMPFS=1 exercises the file-size-limit path on a machine that could mount.
    let mounted = std::env::var_os("FERROKV_TEST_NO_TMPFS").is_none() && try_mount_tmpfs(&mnt);
    let _unmount = Unmount(mounted.then(|| mnt.clone()));
    let fault = if mounted {
        Fault::Tmpfs {
            filler: mnt.join("filler"),
        }
    } else {
        Fault::FileSize
    };
    let data = mnt.join("data");
    let mut srv = match &fault {
        Fault::Tmpfs { .. } => Server::start_in(&data, &["--appendfsync", "always"]),
        Fault::FileSize => {
            // The incr file may grow to 64 KB; the writes below go past that.
            let port = free_port();
            let args: Vec<String> = [
                "--fsize=65536:unlimited",
                ferrokv_bin(),
                "--port",
                &port.to_string(),
                "--dir",
                data.to_str().unwrap(),
                "--appendfsync",
                "always",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            Server::spawn("prlimit", &args, port).expect("start ferrokv under prlimit")
        }
    };
    let mut c = srv.connect();
    assert_eq!(c.cmd("HSET user:1 name ann"), ":1\r\n");
    assert!(persistence(&mut c).contains("aof_last_write_status:ok"));

    // Break the disk. Under the size limit, one big write crosses it.
    let big = "v".repeat(80 * 1024);
    if let Fault::Tmpfs { filler, .. } = &fault {
        fill(filler);
    }
    let mut held = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    held.write_all(&Client::encode(&[b"SET", b"big", big.as_bytes()]))
        .unwrap();
    assert_eq!(
        reply_within(&mut held, 500),
        None,
        "a write that is not on disk must not be acknowledged"
    );

    let misconf = match fault {
        Fault::Tmpfs { .. } => {
            "-MISCONF Errors writing to the AOF file: No space left on device\r\n"
        }
        Fault::FileSize => "-MISCONF Errors writing to the AOF file: File too large\r\n",
    };
    assert_eq!(c.cmd("HSET user:1 age 3"), misconf);
    assert_eq!(
        c.cmd("PING"),
        misconf,
        "Redis refuses PING too while the AOF fails"
    );
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd("HSET user:1 age 4"), misconf);
    assert_eq!(
        c.cmd("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    // Reads keep working.
    assert_eq!(c.cmd("HGET user:1 name"), "$3\r\nann\r\n");
    assert_eq!(c.cmd("HGET user:1 age"), "$-1\r\n");
    let info = persistence(&mut c);
    assert!(info.contains("aof_last_write_status:err"), "{info}");

    // Give the space back: the server retries on its own.
    match &fault {
        Fault::Tmpfs { filler, .. } => std::fs::remove_file(filler).unwrap(),
        Fault::FileSize => {
            let ok = Command::new("prlimit")
                .args([
                    "--pid",
                    &srv.child.id().to_string(),
                    "--fsize=unlimited:unlimited",
                ])
                .status()
                .unwrap()
                .success();
            assert!(ok, "prlimit --pid failed");
        }
    }
    assert_eq!(
        reply_within(&mut held, 3000).as_deref(),
        Some("+OK\r\n"),
        "the held reply goes out once the batch is on disk"
    );
    wait_for("aof_last_write_status:ok", 3, || {
        persistence(&mut c).contains("aof_last_write_status:ok")
    });
    assert_eq!(c.cmd("HSET user:1 age 5"), ":1\r\n");
    assert_eq!(c.cmd("PING"), "+PONG\r\n");

    // Everything acknowledged survives a crash; nothing refused was applied.
    srv.kill9();
    let mut srv = match &fault {
        Fault::Tmpfs { .. } => Server::start_in(&data, &["--appendfsync", "always"]),
        Fault::FileSize => Server::start_in(&data, &["--appendfsync", "always"]),
    };
    let mut c = srv.connect();
    assert_eq!(
        c.cmd("HGETALL user:1"),
        "*4\r\n$4\r\nname\r\n$3\r\nann\r\n$3\r\nage\r\n$1\r\n5\r\n"
    );
    assert_eq!(c.cmd("STRLEN big"), format!(":{}\r\n", big.len()));
    assert_eq!(
        Command::new(ferrokv_bin())
            .args(["--check-aof", data.join("appendonlydir").to_str().unwrap()])
            .output()
            .unwrap()
            .status
            .code(),
        Some(0),
        "no half batch was left in the file"
    );
    srv.kill9();
}
