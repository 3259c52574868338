//! Shared machinery of the differential tests (tests/differential.rs,
//! tests/hash_ttl_differential.rs): a parsed reply tree, reply normalizations, and the
//! runner that sends each command to a reference redis-server and to the server under
//! test, compares the replies and reports a mismatch with the commands before it.

use super::{Client, Server};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};

pub type Cmd = Vec<Vec<u8>>;

const HISTORY: usize = 10;

pub fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

pub fn upper(a: &[u8]) -> Vec<u8> {
    a.to_ascii_uppercase()
}

// ---------------------------------------------------------------------------------------
// Reply parsing
// ---------------------------------------------------------------------------------------

/// A parsed reply: leaves keep their exact bytes; aggregates keep their type byte and
/// children (maps flattened to key, value, key, value...).
#[derive(Clone, Debug)]
pub enum R {
    Leaf(Vec<u8>),
    Agg(u8, Vec<R>),
}

pub fn parse(b: &[u8]) -> Option<(R, usize)> {
    let t = *b.first()?;
    if matches!(t, b'*' | b'~' | b'>' | b'%' | b'|') {
        let end = b.windows(2).position(|w| w == b"\r\n")?;
        let n: i64 = std::str::from_utf8(&b[1..end]).ok()?.parse().ok()?;
        if n < 0 {
            return Some((R::Leaf(b[..end + 2].to_vec()), end + 2));
        }
        let n = if matches!(t, b'%' | b'|') { n * 2 } else { n };
        let mut pos = end + 2;
        let mut kids = Vec::new();
        for _ in 0..n {
            let (k, used) = parse(&b[pos..])?;
            pos += used;
            kids.push(k);
        }
        Some((R::Agg(t, kids), pos))
    } else {
        let n = super::reply_len(b)?;
        Some((R::Leaf(b[..n].to_vec()), n))
    }
}

pub fn parse_all(b: &[u8]) -> Option<R> {
    match parse(b) {
        Some((r, n)) if n == b.len() => Some(r),
        _ => None,
    }
}

fn ser(r: &R, out: &mut Vec<u8>) {
    match r {
        R::Leaf(b) => out.extend_from_slice(b),
        R::Agg(t, kids) => {
            let n = if matches!(t, b'%' | b'|') {
                kids.len() / 2
            } else {
                kids.len()
            };
            out.push(*t);
            out.extend_from_slice(format!("{n}\r\n").as_bytes());
            for k in kids {
                ser(k, out);
            }
        }
    }
}

pub fn bytes_of(r: &R) -> Vec<u8> {
    let mut v = Vec::new();
    ser(r, &mut v);
    v
}

/// Payload of a non-null bulk string leaf.
pub fn bulk_payload(r: &R) -> Option<Vec<u8>> {
    match r {
        R::Leaf(b) if b.first() == Some(&b'$') && !b.starts_with(b"$-1") => {
            let end = b.windows(2).position(|w| w == b"\r\n")?;
            Some(b[end + 2..b.len() - 2].to_vec())
        }
        _ => None,
    }
}

/// The bulk strings of an aggregate reply (e.g. KEYS, HKEYS); empty for anything else.
pub fn bulk_items(reply: &[u8]) -> Vec<Vec<u8>> {
    match parse_all(reply) {
        Some(R::Agg(_, kids)) => kids.iter().filter_map(bulk_payload).collect(),
        _ => Vec::new(),
    }
}

pub fn int_of(b: &[u8]) -> Option<i64> {
    if b.first() != Some(&b':') {
        return None;
    }
    std::str::from_utf8(&b[1..b.len() - 2]).ok()?.parse().ok()
}

// ---------------------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub enum Norm {
    /// Byte-for-byte.
    Exact,
    /// Integer TTL (or an array of them, compared element by element): negatives exact,
    /// non-negatives within the tolerance.
    Ttl(i64),
    /// Aggregate whose elements (or flat field/value pairs) may come in any order.
    Sorted { pairs: bool },
    /// `SCAN`/`HSCAN` that returns everything in one call: [cursor, [elements in any
    /// order]], the elements being field/value pairs if `pairs`.
    Scan { pairs: bool },
    /// Random selection: only aggregate type and element count.
    LenOnly,
    /// Random single element: any non-null bulk equals any other.
    SomeBulk,
    /// EXEC reply: element i normalized like the i-th queued command.
    Exec(Vec<Norm>),
    /// OBJECT ENCODING of a set: Redis 7.0 has no compact encoding for strings, so where it
    /// says `hashtable` the server under test may say `listpack` (Redis 7.2's).
    SetEncoding,
}

fn sorted_items(kids: &[R], pairs: bool) -> Vec<Vec<u8>> {
    let mut items: Vec<Vec<u8>> = if pairs && kids.iter().all(|k| matches!(k, R::Leaf(_))) {
        kids.chunks(2)
            .map(|c| c.iter().flat_map(bytes_of).collect())
            .collect()
    } else {
        kids.iter().map(bytes_of).collect()
    };
    items.sort();
    items
}

fn equiv(norm: &Norm, a: &R, b: &R) -> bool {
    match (norm, a, b) {
        (Norm::Ttl(tol), R::Leaf(x), R::Leaf(y)) => match (int_of(x), int_of(y)) {
            (Some(p), Some(q)) if p >= 0 && q >= 0 => (p - q).abs() <= *tol,
            _ => x == y,
        },
        (Norm::Ttl(_), R::Agg(t1, k1), R::Agg(t2, k2)) if t1 == t2 && k1.len() == k2.len() => {
            k1.iter().zip(k2).all(|(x, y)| equiv(norm, x, y))
        }
        (Norm::Sorted { pairs }, R::Agg(t1, k1), R::Agg(t2, k2))
            if t1 == t2 && k1.len() == k2.len() =>
        {
            sorted_items(k1, *pairs) == sorted_items(k2, *pairs)
        }
        (Norm::Scan { pairs }, R::Agg(b'*', k1), R::Agg(b'*', k2))
            if k1.len() == 2 && k2.len() == 2 =>
        {
            bytes_of(&k1[0]) == bytes_of(&k2[0])
                && equiv(&Norm::Sorted { pairs: *pairs }, &k1[1], &k2[1])
        }
        (Norm::LenOnly, R::Agg(t1, k1), R::Agg(t2, k2)) => t1 == t2 && k1.len() == k2.len(),
        (Norm::SomeBulk, x, y) if bulk_payload(x).is_some() && bulk_payload(y).is_some() => true,
        (Norm::SetEncoding, x, y) => {
            bytes_of(x) == bytes_of(y)
                || (bulk_payload(x).as_deref() == Some(b"hashtable")
                    && bulk_payload(y).as_deref() == Some(b"listpack"))
        }
        (Norm::Exec(ns), R::Agg(b'*', k1), R::Agg(b'*', k2))
            if k1.len() == k2.len() && k1.len() == ns.len() =>
        {
            ns.iter()
                .zip(k1.iter().zip(k2))
                .all(|(n, (x, y))| equiv(n, x, y))
        }
        _ => bytes_of(a) == bytes_of(b),
    }
}

pub fn replies_match(norm: &Norm, a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    if matches!(norm, Norm::Exact) {
        return false;
    }
    match (parse_all(a), parse_all(b)) {
        (Some(x), Some(y)) => equiv(norm, &x, &y),
        _ => false,
    }
}

/// HELLO 3 reply with the values of the fields named in `ignore` blanked out.
pub fn mask_hello(reply: &[u8], ignore: &[&str]) -> Vec<u8> {
    match parse_all(reply) {
        Some(R::Agg(t, mut kids)) if t == b'%' || t == b'*' => {
            for i in (0..kids.len().saturating_sub(1)).step_by(2) {
                let key = bulk_payload(&kids[i]).or_else(|| match &kids[i] {
                    R::Leaf(l) if l.first() == Some(&b'+') => Some(l[1..l.len() - 2].to_vec()),
                    _ => None,
                });
                if let Some(key) = key
                    && ignore.iter().any(|i| i.as_bytes() == key.as_slice())
                {
                    kids[i + 1] = R::Leaf(b"+<ignored>\r\n".to_vec());
                }
            }
            bytes_of(&R::Agg(t, kids))
        }
        _ => reply.to_vec(),
    }
}

// ---------------------------------------------------------------------------------------
// Display helpers
// ---------------------------------------------------------------------------------------

pub fn esc(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s
}

pub fn show_cmd(cmd: &[Vec<u8>]) -> String {
    cmd.iter()
        .map(|a| format!("\"{}\"", esc(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn show_reply(b: &[u8]) -> String {
    const MAX: usize = 1500;
    if b.len() > MAX {
        format!("\"{}\"... ({} bytes)", esc(&b[..MAX]), b.len())
    } else {
        format!("\"{}\"", esc(b))
    }
}

fn panic_text(e: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = e.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = e.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "unknown panic".into()
    }
}

/// Sends one command; a dead or silent server becomes an Err instead of a bare panic.
pub fn send(c: &mut Client, cmd: &[Vec<u8>]) -> Result<Vec<u8>, String> {
    let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
    catch_unwind(AssertUnwindSafe(|| c.cmd_bytes(&args))).map_err(panic_text)
}

fn tail(s: &str, n: usize) -> &str {
    let mut i = s.len().saturating_sub(n);
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// An environment variable as a u64 (decimal or 0x-hex); panics if set but not a number.
pub fn env_num(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v:?} is not a number")))
}

// ---------------------------------------------------------------------------------------
// Runner
// ---------------------------------------------------------------------------------------

#[derive(Default)]
pub struct ConnState {
    pub in_multi: bool,
    queued: Vec<Norm>,
}

/// Two connections per server: #0 speaks RESP2, #1 RESP3 after [`Diff::hello3`].
pub struct Diff<'a> {
    pub seed: u64,
    pub count: usize,
    /// The cargo test target, for the reproduce line (`cargo test --test <target>`).
    target: &'static str,
    test_name: &'static str,
    test_srv: &'a Server,
    test: Vec<Client>,
    reference: Vec<Client>,
    pub state: Vec<ConnState>,
    history: VecDeque<String>,
    /// Commands run so far.
    pub idx: usize,
    /// Stop at this many mismatches (DIFF_MAX_FAILS, default 1).
    max_fails: usize,
    /// Mismatches reported so far (when DIFF_MAX_FAILS > 1).
    mismatches: Vec<String>,
    /// How the reply to a command (outside MULTI, or queued in one) is compared.
    norm_of: Box<dyn FnMut(&Cmd) -> Norm + 'a>,
}

impl<'a> Diff<'a> {
    /// Connects twice to each server. `DIFF_MAX_FAILS` is read here.
    pub fn new(
        target: &'static str,
        seed: u64,
        count: usize,
        reference: &Server,
        test_srv: &'a Server,
        test_name: &'static str,
        norm_of: Box<dyn FnMut(&Cmd) -> Norm + 'a>,
    ) -> Diff<'a> {
        Diff {
            seed,
            count,
            target,
            test_name,
            test_srv,
            test: vec![test_srv.connect(), test_srv.connect()],
            reference: vec![reference.connect(), reference.connect()],
            state: vec![ConnState::default(), ConnState::default()],
            history: VecDeque::new(),
            idx: 0,
            max_fails: env_num("DIFF_MAX_FAILS").map_or(1, |n| n.max(1) as usize),
            mismatches: Vec::new(),
            norm_of,
        }
    }

    /// Switches connection #1 of both servers to RESP3; the HELLO replies must match,
    /// except for the values of the fields named in `ignore` (e.g. server, version, id).
    pub fn hello3(&mut self, ignore: &[&str]) {
        let hello: Cmd = vec![b("HELLO"), b("3")];
        let r = send(&mut self.reference[1], &hello).expect("redis HELLO 3");
        let t = match send(&mut self.test[1], &hello) {
            Ok(t) => t,
            Err(e) => self.fail("HELLO 3: no reply", 1, &hello, &show_reply(&r), &e),
        };
        if mask_hello(&r, ignore) != mask_hello(&t, ignore) {
            self.fail(
                &format!(
                    "HELLO 3 replies differ (values of {} ignored)",
                    ignore.join("/")
                ),
                1,
                &hello,
                &show_reply(&r),
                &show_reply(&t),
            );
        }
    }

    pub fn fail(&self, what: &str, ci: usize, cmd: &Cmd, refr: &str, test: &str) -> ! {
        let mut m = self.report(what, ci, cmd, refr, test);
        if !self.mismatches.is_empty() {
            m = format!(
                "{}
(after {} earlier mismatches, printed above on stderr)",
                m,
                self.mismatches.len()
            );
        }
        panic!("{m}");
    }

    /// Records a reply mismatch: fails right away, unless DIFF_MAX_FAILS allows more.
    fn mismatch(&mut self, what: &str, ci: usize, cmd: &Cmd, refr: &str, test: &str) {
        if self.mismatches.len() + 1 >= self.max_fails {
            self.fail(what, ci, cmd, refr, test);
        }
        let m = self.report(what, ci, cmd, refr, test);
        eprintln!("{m}");
        self.mismatches
            .push(format!("#{}: {}", self.idx, show_cmd(cmd)));
    }

    fn report(&self, what: &str, ci: usize, cmd: &Cmd, refr: &str, test: &str) -> String {
        let mut m = String::new();
        m.push_str(&format!(
            "\n=== differential mismatch: {what} ===\n\
             seed: {seed} (0x{seed:x})  reproduce: DIFF_SEED={seed} DIFF_COUNT={count} \
             cargo test --test {target}\n\
             command #{idx} on conn #{ci} ({proto}): {cmd}\n\
             redis   : {refr}\n\
             {tn:<8}: {test}\n",
            seed = self.seed,
            count = self.count,
            target = self.target,
            idx = self.idx,
            proto = if ci == 0 { "RESP2" } else { "RESP3" },
            cmd = show_cmd(cmd),
            tn = self.test_name,
        ));
        m.push_str(&format!(
            "previous {} commands (conn, command => redis reply):\n",
            self.history.len()
        ));
        for h in &self.history {
            m.push_str("  ");
            m.push_str(h);
            m.push('\n');
        }
        let log = self.test_srv.log_text();
        m.push_str(&format!(
            "{} log tail:\n{}\n",
            self.test_name,
            tail(&log, 1500)
        ));
        m
    }

    /// Sends `cmd` on connection `ci` of both servers and compares the replies; returns the
    /// reference reply.
    pub fn run(&mut self, ci: usize, cmd: &Cmd) -> Vec<u8> {
        let name = upper(&cmd[0]);
        let st = &self.state[ci];
        let norm = if st.in_multi {
            if name == b"EXEC" && cmd.len() == 1 {
                Norm::Exec(st.queued.clone())
            } else {
                Norm::Exact
            }
        } else {
            (self.norm_of)(cmd)
        };
        let r = match send(&mut self.reference[ci], cmd) {
            Ok(r) => r,
            Err(e) => self.fail("redis-server failed", ci, cmd, &e, "(not sent)"),
        };
        let t = match send(&mut self.test[ci], cmd) {
            Ok(t) => t,
            Err(e) => self.fail(
                "no reply (server died, closed the connection or timed out?)",
                ci,
                cmd,
                &show_reply(&r),
                &e,
            ),
        };
        if !replies_match(&norm, &r, &t) {
            let what = match norm {
                Norm::Exact => "replies differ".to_string(),
                n => format!("replies differ (normalized as {n:?})"),
            };
            self.mismatch(&what, ci, cmd, &show_reply(&r), &show_reply(&t));
        }
        // Track MULTI state from the reference reply.
        let st = &mut self.state[ci];
        if name == b"MULTI" && !st.in_multi && r == b"+OK\r\n" {
            st.in_multi = true;
            st.queued.clear();
        } else if st.in_multi && (name == b"EXEC" || name == b"DISCARD") && cmd.len() == 1 {
            st.in_multi = false;
            st.queued.clear();
        } else if st.in_multi && r == b"+QUEUED\r\n" {
            let n = (self.norm_of)(cmd);
            self.state[ci].queued.push(n);
        }
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        let mut rs = show_reply(&r);
        if rs.len() > 200 {
            rs.truncate(200);
            rs.push_str("...");
        }
        self.history.push_back(format!(
            "#{} c{}: {} => {}",
            self.idx,
            ci,
            show_cmd(cmd),
            rs
        ));
        self.idx += 1;
        r
    }

    /// Ends open MULTI blocks (DISCARD), for the final sweep.
    pub fn discard_open_multis(&mut self) {
        for ci in 0..2 {
            if self.state[ci].in_multi {
                self.run(ci, &vec![b("DISCARD")]);
            }
        }
    }

    /// Fails if DIFF_MAX_FAILS let mismatches accumulate.
    pub fn finish(&self) {
        if !self.mismatches.is_empty() {
            panic!(
                "{} mismatches (seed {}, details above on stderr):\n  {}",
                self.mismatches.len(),
                self.seed,
                self.mismatches.join("\n  ")
            );
        }
    }
}

/// A command or option name as a client might spell it: `pick` (0..20, random) chooses
/// lower case (2 in 20), alternating case (1 in 20) or as given.
pub fn cased(n: &str, pick: usize) -> Vec<u8> {
    match pick {
        0 | 1 => n.to_ascii_lowercase().into_bytes(),
        2 => n
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_lowercase()
                } else {
                    c
                }
            })
            .collect::<String>()
            .into_bytes(),
        _ => n.as_bytes().to_vec(),
    }
}

/// `DIFF_SEED`, `DIFF_COUNT` and `DIFF_SELFCHECK` for test `name`, announced on stderr.
pub fn settings(name: &str, default_seed: u64, default_count: usize) -> (u64, usize, bool) {
    let seed = env_num("DIFF_SEED").unwrap_or(default_seed);
    let count = env_num("DIFF_COUNT").map_or(default_count, |n| n as usize);
    let selfcheck = std::env::var("DIFF_SELFCHECK").is_ok_and(|v| v == "1");
    eprintln!(
        "{name}: seed={seed} (0x{seed:x}) count={count}{}",
        if selfcheck {
            " SELFCHECK (reference vs reference)"
        } else {
            ""
        }
    );
    (seed, count, selfcheck)
}
