//! Shared harness for integration tests: starts the real `ferrokv` binary (or a real
//! `redis-server`) on an ephemeral port in a fresh temporary directory, and talks raw RESP
//! to it over TCP. Replies are returned as the exact bytes the server sent, so tests can
//! compare them byte for byte.
#![allow(dead_code)]

/// Builds an argument vector from anything byte-like (`#[macro_use] mod common;`).
#[allow(unused_macros)]
macro_rules! a {
    ($($x:expr),* $(,)?) => { vec![$(AsRef::<[u8]>::as_ref(&$x).to_vec()),*] };
}

pub mod diff;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static DIR_SEQ: AtomicUsize = AtomicUsize::new(0);

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = DIR_SEQ.fetch_add(1, Ordering::SeqCst);
        let p =
            std::env::temp_dir().join(format!("ferrokv-test-{}-{}-{}", tag, std::process::id(), n));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Asks the OS for a free TCP port on loopback.
/// The wall clock in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub fn ferrokv_bin() -> &'static str {
    env!("CARGO_BIN_EXE_ferrokv")
}

/// A running server process (ferrokv or redis-server), killed on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub dir: Option<TempDir>,
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    /// Starts ferrokv (AOF on, as by default) in a new temp dir, plus `extra` arguments.
    pub fn start(extra: &[&str]) -> Server {
        let dir = TempDir::new("srv");
        let mut s = Self::start_in(dir.path(), extra);
        s.dir = Some(dir);
        s
    }

    /// Starts ferrokv with `--dir dir`; the caller owns the directory (restart tests).
    pub fn start_in(dir: &Path, extra: &[&str]) -> Server {
        let mut last_err = String::new();
        for _ in 0..5 {
            match Self::start_at(dir, free_port(), extra) {
                Ok(s) => return s,
                Err(e) => last_err = e,
            }
        }
        panic!("ferrokv did not start: {last_err}");
    }

    /// Starts ferrokv on `port` in `dir` (a fixed port: a restart where replicas or
    /// Sentinel expect the same address), persistence points off. `extra` may begin
    /// with a config file path, which must come first, as with redis-server.
    pub fn start_at(dir: &Path, port: u16, extra: &[&str]) -> Result<Server, String> {
        let (file, extra) = match extra.first() {
            Some(f) if !f.starts_with("--") => (vec![f.to_string()], &extra[1..]),
            _ => (vec![], extra),
        };
        let mut args: Vec<String> = file;
        args.extend([
            "--port".into(),
            port.to_string(),
            "--dir".into(),
            dir.to_str().unwrap().into(),
            "--save".into(),
            "".into(),
        ]);
        args.extend(extra.iter().map(|s| s.to_string()));
        Self::spawn(ferrokv_bin(), &args, port)
    }

    /// Starts a real redis-server on a free port (persistence off). None if not installed.
    pub fn start_redis() -> Option<Server> {
        Self::start_redis_bin(&which("redis-server")?, &[])
    }

    /// Starts the redis-server binary `bin` (any path, e.g. a wrapper script) on a free
    /// port in a new temp dir, persistence off, bound to loopback, plus `extra` arguments.
    /// None if it did not start.
    pub fn start_redis_bin(bin: &str, extra: &[&str]) -> Option<Server> {
        let dir = TempDir::new("redis");
        for _ in 0..5 {
            let port = free_port();
            let mut args: Vec<String> = vec![
                "--port".into(),
                port.to_string(),
                "--dir".into(),
                dir.path().to_str().unwrap().into(),
                "--save".into(),
                "".into(),
                "--appendonly".into(),
                "no".into(),
                "--bind".into(),
                "127.0.0.1".into(),
            ];
            args.extend(extra.iter().map(|s| s.to_string()));
            if let Ok(mut s) = Self::spawn(bin, &args, port) {
                s.dir = Some(dir);
                return Some(s);
            }
        }
        None
    }

    /// Spawns `bin args` and waits for "Ready to accept connections" in its output.
    pub fn spawn(bin: &str, args: &[String], port: u16) -> Result<Server, String> {
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn {bin}: {e}"))?;
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let log = log.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                let r = BufReader::new(stream);
                for line in r.lines() {
                    let Ok(line) = line else { break };
                    if line.contains("Ready to accept connections") {
                        let _ = tx.send(());
                    }
                    let mut l = log.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if rx.recv_timeout(Duration::from_millis(20)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "{bin} exited with {status} before ready; log:\n{}",
                    log.lock().unwrap()
                ));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(format!(
                    "{bin} not ready in 20s; log:\n{}",
                    log.lock().unwrap()
                ));
            }
        }
        Ok(Server {
            child,
            port,
            dir: None,
            log,
        })
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.port)
    }

    /// Everything the server has logged so far.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGKILL and waits.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends a signal by number through the `kill` command (no libc in tests).
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status();
    }

    /// Waits up to `secs` for the process to exit; returns its exit code if it did.
    pub fn wait_exit(&mut self, secs: u64) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until no rewrite runs and `aof_rewrites` is at least `n`; checks it went well.
pub fn wait_rewrites(c: &mut Client, n: u64, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let info = c.cmd("INFO persistence");
        let get = |k: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}:")))
                .unwrap()
                .trim()
                .to_string()
        };
        if get("aof_rewrite_in_progress") == "0"
            && get("aof_rewrite_scheduled") == "0"
            && get("aof_rewrites").parse::<u64>().unwrap() >= n
        {
            assert_eq!(get("aof_last_bgrewrite_status"), "ok", "{info}");
            assert_eq!(get("aof_rewrites").parse::<u64>().unwrap(), n, "{info}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "rewrite #{n} did not finish: {info}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The Redis 8 server: `REDIS8_SERVER`, else tests/.redis8/redis-server if installed
/// (scripts/setup-redis8).
pub fn redis8_bin() -> Option<String> {
    if let Ok(p) = std::env::var("REDIS8_SERVER") {
        return Some(p);
    }
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/.redis8/redis-server");
    Path::new(p).is_file().then(|| p.to_string())
}

/// True if a redis-server >= 7 is on PATH; false (after printing SKIPPED) if not, unless
/// CI is set, where `tests` (e.g. "the AOF interop tests") must run.
pub fn redis7_available(tests: &str) -> bool {
    let why = match which("redis-server") {
        None => "redis-server not found on PATH".to_string(),
        Some(bin) => {
            let out = Command::new(bin).arg("--version").output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let major = text
                .split("v=")
                .nth(1)
                .and_then(|v| v.split('.').next())
                .and_then(|m| m.parse::<u32>().ok());
            match major {
                Some(m) if m >= 7 => return true,
                _ => format!("redis-server >= 7 needed, found {text:?}"),
            }
        }
    };
    if std::env::var_os("CI").is_some() {
        panic!("{why}, but CI is set: {tests} must run in CI");
    }
    eprintln!("SKIPPED: {why} (run scripts/setup-test-deps)");
    false
}

pub fn which(name: &str) -> Option<String> {
    let path = std::env::var("PATH").ok()?;
    for d in path.split(':') {
        let p = Path::new(d).join(name);
        if p.is_file() {
            return Some(p.to_string_lossy().into_owned());
        }
    }
    None
}

/// Shows bytes as a Rust-like escaped string, cut after 80 characters.
pub fn show(b: &[u8]) -> String {
    let s: String = b
        .iter()
        .flat_map(|&c| std::ascii::escape_default(c))
        .map(char::from)
        .collect();
    if s.len() > 80 {
        format!("\"{}\"...({} bytes)", &s[..80], b.len())
    } else {
        format!("\"{s}\"")
    }
}

/// A raw RESP client: sends commands as multibulk and returns exact reply bytes.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// Encodes `args` as a RESP multibulk command.
    pub fn encode(args: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Sends one command and returns its reply bytes.
    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send_raw(&Self::encode(args));
        self.read_reply()
    }

    /// Splits `line` on spaces (no quoting) and sends it; returns the reply as a String.
    pub fn cmd(&mut self, line: &str) -> String {
        let args: Vec<&[u8]> = line.split(' ').map(|s| s.as_bytes()).collect();
        String::from_utf8_lossy(&self.cmd_bytes(&args)).into_owned()
    }

    /// Sends a command given as a list of string arguments.
    pub fn cmdv(&mut self, args: &[&str]) -> String {
        let args: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        String::from_utf8_lossy(&self.cmd_bytes(&args)).into_owned()
    }

    fn fill(&mut self) -> bool {
        let mut tmp = [0u8; 65536];
        loop {
            match self.stream.read(&mut tmp) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buf.extend_from_slice(&tmp[..n]);
                    return true;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("read error: {e}"),
            }
        }
    }

    /// Reads exactly one complete reply (any RESP2/RESP3 type) and returns its bytes.
    pub fn read_reply(&mut self) -> Vec<u8> {
        loop {
            if let Some(n) = reply_len(&self.buf) {
                let rest = self.buf.split_off(n);
                return std::mem::replace(&mut self.buf, rest);
            }
            if !self.fill() {
                panic!(
                    "connection closed with partial reply: {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
            }
        }
    }

    /// Reads until the server closes the connection; returns what arrived.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        while self.fill() {}
        std::mem::take(&mut self.buf)
    }

    /// True if the server closed the connection (reads 0 bytes within the timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut tmp = [0u8; 64];
        matches!(self.stream.read(&mut tmp), Ok(0) | Err(_))
    }
}

/// Length of the first complete RESP reply in `b`, or None if incomplete.
pub fn reply_len(b: &[u8]) -> Option<usize> {
    let end = b.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&b[1..end]).ok()?;
    let after = end + 2;
    match b.first()? {
        b'+' | b'-' | b':' | b',' | b'_' | b'#' | b'(' => Some(after),
        b'$' | b'=' | b'!' => {
            let n: i64 = line.parse().ok()?;
            if n < 0 {
                return Some(after);
            }
            let total = after + n as usize + 2;
            (b.len() >= total).then_some(total)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let mut n: i64 = line.parse().ok()?;
            if n < 0 {
                return Some(after);
            }
            if matches!(b[0], b'%' | b'|') {
                n *= 2;
            }
            let mut pos = after;
            for _ in 0..n {
                pos += reply_len(&b[pos..])?;
            }
            Some(pos)
        }
        _ => panic!("bad reply type: {:?}", String::from_utf8_lossy(b)),
    }
}

/// A small deterministic PRNG (xorshift64*) for randomized tests: a seed printed on
/// failure replays the same run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
