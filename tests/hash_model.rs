//! Property test of the hash type against a plain model: random sequences of hash commands
//! go to ferrokv and to an in-test model, and every reply must be the one the model
//! predicts. The listpack limits are set low so the compact encoding is left often.
//!
//! The model of a key is its list of fields in storage order, each with its value and its
//! deadline (0: none), plus two sticky flags: left the compact encoding (a table until
//! the key is deleted) and "ex" (a field-expiry command touched it: `listpackex` from then
//! on). Order follows Redis's listpackex rule: fields with a deadline first, soonest first,
//! a field given a deadline going before any with an equal one; fields without a deadline
//! after them in insertion order. HSET over a field with a deadline, HPERSIST and HGETEX
//! PERSIST move it to the end; HINCRBY, HINCRBYFLOAT and HSETEX KEEPTTL keep deadline and
//! place. Compact hashes are compared in order, tables as sets. Six small keys (s0..s5:
//! few field names, a long string rarely, deleted often) mostly stay compact; six big
//! ones (b0..b5) mostly become tables, often with deadlines already set.
//!
//! Deadlines come in four kinds, chosen so the model always knows how any two compare:
//! - far: absolute times a day ahead, on a grid of a dozen seconds so that ties (and the
//!   tie order) are common; HPEXPIRETIME must give them exactly.
//! - relative: at least ten days ahead, each use a distinct multiple of 1000 s, so the
//!   deadline (server clock + offset) is known within the command's round trip, which is
//!   far less than the gap to any other deadline. HPTTL and friends are checked within
//!   the bounds the send and receive times give (the server reads its clock after the
//!   request arrives and before the reply leaves).
//! - past: zero, one, or absolute times before the test started: the field goes at once.
//! - short: absolute, 30 to 300 ms (now and then 0 to 2 ms) after the test's clock, set
//!   by HPEXPIREAT, HSETEX PXAT or HGETEX PXAT, so fields really expire. A key with such
//!   a field is "frozen" until the deadline is `BACK` ms behind the test's clock: it then
//!   must be gone (the server's clock is at least the send time), and the model drops
//!   it. While frozen, no command goes to the key except read-only probes, whose result
//!   is used only if the reply arrived before the soonest short deadline (so the fields
//!   must still be there). If the request reaches the server after the deadline,
//!   HPEXPIREAT replies 2 instead of 1 (accepted only if the reply came late enough to
//!   allow it), and HSETEX / HGETEX delete the fields at once instead of later, with the
//!   same effect on the rest of the hash once the key thaws. Nothing else depends on
//!   timing: a loaded machine only freezes keys for longer.
//!
//! The run has two phases, each ending with a kill -9 and a restart from the AOF:
//! 1. Random commands with active expiry on. Then: sleep past every short deadline,
//!    wait for the active cycle to remove hashes whose fields all expired (DBSIZE), check
//!    every key and pin each relative deadline to the exact value the server reports,
//!    shrink some tables below the limits, BGREWRITEAOF, kill -9, restart. The base file
//!    is replayed into fresh hashes: small ones come back compact (a former table in
//!    whatever order the table had, which the model adopts after checking it follows the
//!    rule), with contents and exact deadlines intact.
//! 2. Random commands with active expiry off (expired fields must still be invisible to
//!    every command), then the same end, with BGREWRITEAOF in even seeds. Without a
//!    rewrite the replayed log holds only canonical records (a no-op HEXPIRE, or HSETEX of
//!    an already past time, leaves no trace of the conversion it did), so a table may come
//!    back compact and `listpackex` as `listpack`; contents, deadlines and the order of
//!    compact hashes must still be exact.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::{Client, Rng, Server, TempDir};

const MAX_ENTRIES: usize = 8;
const MAX_VALUE: usize = 16;
const DAY: u64 = 86_400_000;
/// Relative deadlines: `REL_BASE + k * REL_STEP` ms, a distinct k each time.
const REL_BASE: u64 = 10 * DAY;
const REL_STEP: u64 = 1_000_000;
/// A short deadline this many ms behind the test's clock must be gone at the server.
const BACK: u64 = 100;
/// Clock slack (ms) on every bound derived from the test's clock.
const SLACK: u64 = 2;
const STEPS_PER_PHASE: usize = 8000;

fn unix_ms() -> u64 {
    common::now_ms() as u64
}

#[derive(Clone, Debug)]
struct Field {
    name: Vec<u8>,
    value: Vec<u8>,
    /// Deadline in Unix ms (0: none). Relative deadlines are known within `at..=at_hi`.
    at: u64,
    at_hi: u64,
}

#[derive(Default, Clone, Debug)]
struct ModelHash {
    fields: Vec<Field>,
    /// Left the compact encoding (stays a table until the key is deleted).
    table: bool,
    /// A field-expiry command converted the compact encoding to `listpackex`.
    ex: bool,
}

impl ModelHash {
    fn pos(&self, f: &[u8]) -> Option<usize> {
        self.fields.iter().position(|x| x.name == f)
    }
    fn get(&self, f: &[u8]) -> Option<&Field> {
        self.pos(f).map(|i| &self.fields[i])
    }
    fn value(&self, f: &[u8]) -> Option<&Vec<u8>> {
        self.get(f).map(|x| &x.value)
    }
    fn has_ttl(&self) -> bool {
        self.fields.iter().any(|x| x.at != 0)
    }
    fn is_long(f: &[u8], v: &[u8]) -> bool {
        f.len() > MAX_VALUE || v.len() > MAX_VALUE
    }
    fn push(&mut self, f: &[u8], v: &[u8]) {
        self.fields.push(Field {
            name: f.to_vec(),
            value: v.to_vec(),
            at: 0,
            at_hi: 0,
        });
        if self.fields.len() > MAX_ENTRIES {
            self.table = true;
        }
    }
    /// HSET: sets the value and drops the deadline (such a field moves to the end);
    /// true if the field is new.
    fn set(&mut self, f: &[u8], v: &[u8]) -> bool {
        if Self::is_long(f, v) {
            self.table = true;
        }
        match self.pos(f) {
            Some(i) if self.fields[i].at != 0 => {
                self.fields.remove(i);
                self.push(f, v);
                false
            }
            Some(i) => {
                self.fields[i].value = v.to_vec();
                false
            }
            None => {
                self.push(f, v);
                true
            }
        }
    }
    /// HINCRBY, HSETEX KEEPTTL: sets the value, keeping deadline and place.
    fn set_keep(&mut self, f: &[u8], v: &[u8]) -> bool {
        if Self::is_long(f, v) {
            self.table = true;
        }
        match self.pos(f) {
            Some(i) => {
                self.fields[i].value = v.to_vec();
                false
            }
            None => {
                self.push(f, v);
                true
            }
        }
    }
    fn remove(&mut self, f: &[u8]) -> bool {
        self.pos(f).map(|i| self.fields.remove(i)).is_some()
    }
    /// Gives an existing field a deadline, placing it before any field whose deadline is
    /// none or not sooner.
    fn set_ttl(&mut self, f: &[u8], at: u64, at_hi: u64) {
        let mut x = self.fields.remove(self.pos(f).unwrap());
        x.at = at;
        x.at_hi = at_hi;
        let p = self
            .fields
            .iter()
            .position(|y| y.at == 0 || y.at >= at)
            .unwrap_or(self.fields.len());
        self.fields.insert(p, x);
        self.ex = true;
    }
    /// Drops the deadline of a field that has one, moving it to the end.
    fn persist(&mut self, f: &[u8]) -> bool {
        match self.pos(f) {
            Some(i) if self.fields[i].at != 0 => {
                let mut x = self.fields.remove(i);
                x.at = 0;
                x.at_hi = 0;
                self.fields.push(x);
                true
            }
            _ => false,
        }
    }
    fn encoding(&self) -> &'static str {
        if self.table {
            "hashtable"
        } else if self.ex {
            "listpackex"
        } else {
            "listpack"
        }
    }
    /// The fields as `name=value@deadline`, for failure messages.
    fn show(&self) -> String {
        let items: Vec<String> = self
            .fields
            .iter()
            .map(|x| {
                let mut s = format!(
                    "{}={}",
                    String::from_utf8_lossy(&x.name),
                    String::from_utf8_lossy(&x.value)
                );
                if x.at != 0 {
                    s += &format!("@{}", x.at);
                }
                s
            })
            .collect();
        format!("{} [{}]", self.encoding(), items.join(" "))
    }
    fn flat(&self) -> Vec<Vec<u8>> {
        self.fields
            .iter()
            .flat_map(|x| [x.name.clone(), x.value.clone()])
            .collect()
    }
}

fn int(n: i64) -> Vec<u8> {
    format!(":{n}\r\n").into_bytes()
}

fn bulk(v: Option<&Vec<u8>>) -> Vec<u8> {
    match v {
        Some(v) => [
            format!("${}\r\n", v.len()).into_bytes(),
            v.clone(),
            b"\r\n".to_vec(),
        ]
        .concat(),
        None => b"$-1\r\n".to_vec(),
    }
}

fn array(items: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", items.len()).into_bytes();
    for i in items {
        out.extend_from_slice(i);
    }
    out
}

/// Parses a RESP2 flat array of bulk strings.
fn parse_array(r: &[u8]) -> Vec<Vec<u8>> {
    let text = r;
    let mut out = Vec::new();
    let nl = text.windows(2).position(|w| w == b"\r\n").unwrap();
    let n: usize = std::str::from_utf8(&text[1..nl]).unwrap().parse().unwrap();
    let mut p = nl + 2;
    for _ in 0..n {
        let nl = p + text[p..].windows(2).position(|w| w == b"\r\n").unwrap();
        let len: usize = std::str::from_utf8(&text[p + 1..nl])
            .unwrap()
            .parse()
            .unwrap();
        out.push(text[nl + 2..nl + 2 + len].to_vec());
        p = nl + 2 + len + 2;
    }
    out
}

fn lossy(items: &[Vec<u8>]) -> Vec<String> {
    items
        .iter()
        .map(|i| String::from_utf8_lossy(i).into_owned())
        .collect()
}

/// Parses a RESP2 array of integers.
fn parse_ints(r: &[u8]) -> Vec<i64> {
    let text = std::str::from_utf8(r).unwrap();
    assert!(text.starts_with('*'), "not an array: {text:?}");
    text.split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.strip_prefix(':')
                .unwrap_or_else(|| panic!("not an integer array: {text:?}"))
                .parse()
                .unwrap()
        })
        .collect()
}

/// HINCRBYFLOAT's reply for a number of halves (`%.17Lf` without trailing zeros).
fn halves_text(h: i64) -> Vec<u8> {
    let sign = if h < 0 { "-" } else { "" };
    let a = h.unsigned_abs();
    if a.is_multiple_of(2) {
        format!("{sign}{}", a / 2).into_bytes()
    } else {
        format!("{sign}{}.5", a / 2).into_bytes()
    }
}

fn parse_halves(v: &[u8]) -> i64 {
    let s = std::str::from_utf8(v).unwrap();
    let neg = s.starts_with('-');
    let s = s.trim_start_matches('-');
    let h = match s.strip_suffix(".5") {
        Some(i) => i.parse::<i64>().unwrap() * 2 + 1,
        None => s.parse::<i64>().unwrap() * 2,
    };
    if neg { -h } else { h }
}

/// Condition of the HEXPIRE family.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Cond {
    None,
    Nx,
    Xx,
    Gt,
    Lt,
}

impl Cond {
    fn word(self) -> Option<&'static [u8]> {
        match self {
            Cond::None => None,
            Cond::Nx => Some(b"NX"),
            Cond::Xx => Some(b"XX"),
            Cond::Gt => Some(b"GT"),
            Cond::Lt => Some(b"LT"),
        }
    }
    /// True if the condition refuses deadline `at` over `prev` (0: none, which counts as
    /// infinite).
    fn refuses(self, prev: u64, at: u64) -> bool {
        if prev == 0 {
            matches!(self, Cond::Xx | Cond::Gt)
        } else {
            match self {
                Cond::Nx => true,
                Cond::Gt => prev >= at,
                Cond::Lt => prev <= at,
                Cond::Xx | Cond::None => false,
            }
        }
    }
}

/// A deadline argument: its unit and base, the number to send, and what it means.
struct Deadline {
    secs: bool,
    abs: bool,
    arg: u64,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Absolute, known exactly.
    Abs(u64),
    /// Server clock plus this many ms.
    Rel(u64),
    Past,
}

/// Appends HGETEX/HSETEX's time option: none, `bare` (PERSIST or KEEPTTL), or a deadline.
fn push_time_option(args: &mut Vec<Vec<u8>>, opt: &Option<Option<Deadline>>, bare: &[u8]) {
    match opt {
        None => {}
        Some(None) => args.push(bare.to_vec()),
        Some(Some(d)) => {
            args.push(d.option().as_bytes().to_vec());
            args.push(d.arg.to_string().into_bytes());
        }
    }
}

impl Deadline {
    fn pxat(at: u64) -> Deadline {
        Deadline {
            secs: false,
            abs: true,
            arg: at,
            kind: Kind::Abs(at),
        }
    }
    /// The option word of HGETEX and HSETEX.
    fn option(&self) -> &'static str {
        ["PX", "EX", "PXAT", "EXAT"][self.secs as usize + 2 * self.abs as usize]
    }
    /// The command of the HEXPIRE family.
    fn command(&self) -> &'static str {
        ["HPEXPIRE", "HEXPIRE", "HPEXPIREAT", "HEXPIREAT"]
            [self.secs as usize + 2 * self.abs as usize]
    }
    /// The deadline range once the command's send and receive times are known.
    fn range(&self, t0: u64, t1: u64) -> (u64, u64) {
        match self.kind {
            Kind::Abs(at) => (at, at),
            Kind::Rel(ms) => (t0 + ms, t1 + ms),
            Kind::Past => (0, 0),
        }
    }
    /// The value the model orders and compares by (exact relative values never matter).
    fn at(&self, t0: u64) -> u64 {
        self.range(t0, t0).0
    }
}

/// What the sequence exercised, printed at the end.
#[derive(Default, Debug)]
struct Stats {
    ttl_set: u64,
    ttl_deleted: u64,
    short_set: u64,
    short_replied_past: u64,
    expired_seen: u64,
    frozen_skips: u64,
    probes_used: u64,
    probes_discarded: u64,
    to_table_with_ttl: u64,
    table_to_compact: u64,
    table_to_compact_with_ttl: u64,
    tie_orders: u64,
    /// Full checks of a listpack, listpackex and hashtable hash.
    checked: [u64; 3],
}

/// Everything `fetch` reads about one key.
struct Snap {
    all: Vec<Vec<u8>>,
    hlen: Vec<u8>,
    exists: Vec<u8>,
    enc: Vec<u8>,
    /// HPEXPIRETIME of the model's fields, then of a field that does not exist.
    times: Vec<i64>,
}

/// How `check` compares the encoding and the order.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// During a run, and after a restart from a rewritten AOF.
    Exact,
    /// After replaying a log that was not rewritten (see the module comment).
    Replayed,
}

struct Run {
    seed: u64,
    rng: Rng,
    c: Client,
    model: HashMap<Vec<u8>, ModelHash>,
    keys: Vec<Vec<u8>>,
    /// Far deadlines start here (the test start rounded up to a second, plus a day).
    far_base: u64,
    start: u64,
    rel_used: HashSet<u64>,
    stats: Stats,
    step: usize,
    /// The current key is one of the small ones (s*), which mostly stay compact.
    small: bool,
}

impl Run {
    fn ctx(&self, what: &str, key: &[u8]) -> String {
        format!(
            "step {} seed {}: {what} on {} (model before: {})",
            self.step,
            self.seed,
            String::from_utf8_lossy(key),
            self.model.get(key).map_or("none".into(), |m| m.show())
        )
    }

    fn send(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
        self.c.cmd_bytes(&refs)
    }

    /// Sends and also returns the test's clock before sending and after the reply.
    fn timed(&mut self, args: &[Vec<u8>]) -> (Vec<u8>, u64, u64) {
        let t0 = unix_ms();
        let r = self.send(args);
        (r, t0.saturating_sub(SLACK), unix_ms() + SLACK)
    }

    /// A field name: f0..f5 for the small keys, f0..f13 for the big ones; now and then
    /// one longer than hash-max-listpack-value (rarely for the small keys).
    fn field(&mut self) -> Vec<u8> {
        let (names, long_one_in) = if self.small { (6, 500) } else { (14, 40) };
        if self.rng.below(long_one_in) == 0 {
            format!("long-field-name-{}", self.rng.below(3)).into_bytes()
        } else {
            format!("f{}", self.rng.below(names)).into_bytes()
        }
    }

    /// A value; the small keys seldom get one longer than hash-max-listpack-value, so
    /// they mostly stay compact.
    fn value(&mut self) -> Vec<u8> {
        let lens: &[usize] = if self.small && self.rng.below(400) != 0 {
            &[0, 1, 3, 8, 16]
        } else {
            &[0, 1, 3, 8, 16, 17, 30]
        };
        let len = lens[self.rng.below(lens.len() as u64) as usize];
        (0..len).map(|_| b'a' + self.rng.below(26) as u8).collect()
    }

    /// A value for `f`: numeric for the counters (n* for HINCRBY, x* for HINCRBYFLOAT),
    /// so a later increment still works.
    fn value_for(&mut self, f: &[u8]) -> Vec<u8> {
        match f {
            [b'n', _] => (self.rng.below(100) as i64 - 50).to_string().into_bytes(),
            [b'x', _] => halves_text(self.rng.below(41) as i64 - 20),
            _ => self.value(),
        }
    }

    fn rel_ms(&mut self) -> u64 {
        loop {
            let k = self.rng.below(100_000);
            if self.rel_used.insert(k) {
                return REL_BASE + k * REL_STEP;
            }
        }
    }

    fn far_ms(&mut self) -> u64 {
        self.far_base + 1000 * self.rng.below(12) + [0, 0, 1, 999][self.rng.below(4) as usize]
    }

    fn past_abs_ms(&mut self) -> u64 {
        match self.rng.below(3) {
            0 => 0,
            1 => 1,
            _ => self.start - 1000 * (1 + self.rng.below(1000)),
        }
    }

    /// A far, relative or past deadline, in seconds or milliseconds.
    fn deadline(&mut self) -> Deadline {
        let secs = self.rng.below(3) == 0;
        let (abs, arg, kind) = match self.rng.below(7) {
            0..=2 if secs => {
                let s = self.far_base / 1000 + self.rng.below(12);
                (true, s, Kind::Abs(s * 1000))
            }
            0..=2 => {
                let ms = self.far_ms();
                (true, ms, Kind::Abs(ms))
            }
            3 | 4 => {
                let ms = self.rel_ms();
                (false, if secs { ms / 1000 } else { ms }, Kind::Rel(ms))
            }
            5 => (false, 0, Kind::Past),
            _ => {
                let ms = self.past_abs_ms();
                (true, if secs { ms / 1000 } else { ms }, Kind::Past)
            }
        };
        Deadline {
            secs,
            abs,
            arg,
            kind,
        }
    }

    /// 1..=max distinct field names, mostly existing ones.
    fn pick_fields(&mut self, m: Option<&ModelHash>, max: u64) -> Vec<Vec<u8>> {
        let n = 1 + self.rng.below(max);
        let mut out: Vec<Vec<u8>> = Vec::new();
        for _ in 0..n {
            let f = match m {
                Some(m) if self.rng.below(4) != 0 => m.fields
                    [self.rng.below(m.fields.len() as u64) as usize]
                    .name
                    .clone(),
                _ => self.field(),
            };
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }

    fn store(&mut self, key: &[u8], m: ModelHash) {
        if m.fields.is_empty() {
            self.model.remove(key);
        } else {
            self.model.insert(key.to_vec(), m);
        }
    }

    fn is_short(&self, at: u64) -> bool {
        at != 0 && at < self.far_base
    }

    /// Drops the fields of `key` whose short deadline is at least `BACK` ms past: the
    /// server must no longer show them.
    fn settle(&mut self, key: &[u8], now: u64) {
        let far_base = self.far_base;
        let Some(m) = self.model.get_mut(key) else {
            return;
        };
        let before = m.fields.len();
        m.fields
            .retain(|x| !(x.at != 0 && x.at < far_base && x.at + BACK <= now));
        self.stats.expired_seen += (before - m.fields.len()) as u64;
        if m.fields.is_empty() {
            self.model.remove(key);
        }
    }

    /// The soonest short deadline of `key` not yet settled.
    fn pending_short(&self, key: &[u8]) -> Option<u64> {
        let m = self.model.get(key)?;
        m.fields
            .iter()
            .map(|x| x.at)
            .filter(|&at| self.is_short(at))
            .min()
    }

    fn fetch(&mut self, key: &[u8]) -> Snap {
        let m = self.model.get(key);
        let mut args: Vec<Vec<u8>> =
            vec![b"HPEXPIRETIME".to_vec(), key.to_vec(), b"FIELDS".to_vec()];
        let names: Vec<Vec<u8>> = m
            .map(|m| m.fields.iter().map(|x| x.name.clone()).collect())
            .unwrap_or_default();
        args.push((names.len() + 1).to_string().into_bytes());
        args.extend(names);
        args.push(b"no-such-field".to_vec());
        let k = key.to_vec();
        // EXISTS and OBJECT ENCODING first: with active expiry off, they may be the first
        // to see a hash whose fields all expired.
        Snap {
            exists: self.send(&[b"EXISTS".to_vec(), k.clone()]),
            enc: self.send(&[b"OBJECT".to_vec(), b"ENCODING".to_vec(), k.clone()]),
            hlen: self.send(&[b"HLEN".to_vec(), k.clone()]),
            all: parse_array(&self.send(&[b"HGETALL".to_vec(), k])),
            times: parse_ints(&self.send(&args)),
        }
    }

    /// Compares a snapshot with the model; returns the deadlines the server reported.
    fn check(&mut self, key: &[u8], s: &Snap, mode: Mode, what: &str) -> Vec<i64> {
        let ctx = self.ctx(what, key);
        let Some(m) = self.model.get(key) else {
            assert!(s.all.is_empty(), "{ctx}: HGETALL of a missing key");
            assert_eq!(s.hlen, int(0), "{ctx}: HLEN");
            assert_eq!(s.exists, int(0), "{ctx}: EXISTS");
            assert_eq!(s.enc, b"$-1\r\n", "{ctx}: OBJECT ENCODING");
            assert_eq!(s.times, vec![-2], "{ctx}: HPEXPIRETIME");
            return vec![];
        };
        assert_eq!(s.hlen, int(m.fields.len() as i64), "{ctx}: HLEN");
        assert_eq!(s.exists, int(1), "{ctx}: EXISTS");
        let enc = String::from_utf8_lossy(&s.enc).into_owned();
        let enc = enc.split("\r\n").nth(1).unwrap_or("").to_string();
        if let Some(i) = ["listpack", "listpackex", "hashtable"]
            .iter()
            .position(|e| *e == enc)
        {
            self.stats.checked[i] += 1;
        }
        let order_known = match mode {
            Mode::Exact => {
                assert_eq!(enc, m.encoding(), "{ctx}: OBJECT ENCODING");
                !m.table
            }
            Mode::Replayed => {
                let ok = if m.table {
                    ["hashtable", "listpack", "listpackex"].contains(&&*enc)
                } else if m.has_ttl() {
                    enc == "listpackex"
                } else if m.ex {
                    enc == "listpack" || enc == "listpackex"
                } else {
                    enc == "listpack"
                };
                assert!(ok, "{ctx}: OBJECT ENCODING {enc} (model {})", m.encoding());
                !m.table
            }
        };
        if order_known {
            assert_eq!(
                lossy(&s.all),
                lossy(&m.flat()),
                "{ctx}: HGETALL (compact order); model {}",
                m.show()
            );
        } else {
            let mut a: Vec<_> = s.all.chunks(2).map(lossy).collect();
            let mut b: Vec<_> = m.flat().chunks(2).map(lossy).collect();
            a.sort();
            b.sort();
            assert_eq!(a, b, "{ctx}: HGETALL (as a set)");
        }
        assert_eq!(s.times.len(), m.fields.len() + 1, "{ctx}: HPEXPIRETIME");
        for (x, &t) in m.fields.iter().zip(&s.times) {
            if x.at == 0 {
                assert_eq!(
                    t,
                    -1,
                    "{ctx}: HPEXPIRETIME {}",
                    String::from_utf8_lossy(&x.name)
                );
            } else {
                assert!(
                    (x.at as i64..=x.at_hi as i64).contains(&t),
                    "{ctx}: HPEXPIRETIME {} = {t}, model {}..={}",
                    String::from_utf8_lossy(&x.name),
                    x.at,
                    x.at_hi
                );
            }
        }
        assert_eq!(
            *s.times.last().unwrap(),
            -2,
            "{ctx}: HPEXPIRETIME of a missing field"
        );
        s.times.clone()
    }

    /// Checks everything about `key` and pins relative deadlines to the server's values.
    fn verify_and_pin(&mut self, key: &[u8], mode: Mode, what: &str) {
        let s = self.fetch(key);
        let times = self.check(key, &s, mode, what);
        if let Some(m) = self.model.get_mut(key) {
            for (x, &t) in m.fields.iter_mut().zip(&times) {
                if x.at != 0 {
                    x.at = t as u64;
                    x.at_hi = t as u64;
                }
            }
        }
    }

    fn run_steps(&mut self, n: usize) {
        for _ in 0..n {
            self.step += 1;
            let key = self.keys[self.rng.below(self.keys.len() as u64) as usize].clone();
            self.small = key[0] == b's';
            let choice = self.rng.below(100);
            let now = unix_ms();
            self.settle(&key, now);
            if let Some(soonest) = self.pending_short(&key) {
                self.stats.frozen_skips += 1;
                if soonest > now + BACK && self.rng.below(4) == 0 {
                    self.probe(&key, soonest);
                }
                continue;
            }
            let m = self.model.get(&key).cloned();
            match choice {
                0..=14 => self.hset(&key, m.unwrap_or_default()),
                15..=17 => self.hsetnx(&key, m.unwrap_or_default()),
                18..=24 => self.hdel(&key, m.unwrap_or_default()),
                25..=28 => self.hincr(&key, m.unwrap_or_default()),
                29..=33 => self.reads(&key, m),
                34..=39 => {
                    let s = self.fetch(&key);
                    self.check(&key, &s, Mode::Exact, "full check");
                }
                40..=43 => self.hmget_or_del(&key, m),
                44..=57 => self.hexpire(&key, m),
                58..=64 => self.ttl_query(&key, m),
                65..=69 => self.hpersist(&key, m),
                70..=74 => self.hgetdel(&key, m),
                75..=83 => self.hgetex(&key, m, None),
                84..=95 => self.hsetex(&key, m.unwrap_or_default(), None),
                96 if self.rng.below(8) == 0 => self.short(&key, m),
                _ => self.hset(&key, m.unwrap_or_default()),
            }
        }
    }

    /// A read-only look at a frozen key, kept only if the reply came before the soonest
    /// short deadline.
    fn probe(&mut self, key: &[u8], soonest: u64) {
        let s = self.fetch(key);
        if unix_ms() + SLACK < soonest {
            self.stats.probes_used += 1;
            self.check(key, &s, Mode::Exact, "probe before a short deadline");
        } else {
            self.stats.probes_discarded += 1;
        }
    }

    fn hset(&mut self, key: &[u8], mut m: ModelHash) {
        let n = 1 + self.rng.below(4) as usize;
        let hmset = self.rng.below(5) == 0;
        let verb: &[u8] = if hmset { b"HMSET" } else { b"HSET" };
        let mut args: Vec<Vec<u8>> = vec![verb.to_vec(), key.to_vec()];
        let mut added = 0;
        let was_table = m.table;
        for _ in 0..n {
            // Sometimes overwrite a field that has a deadline.
            let f = match m.fields.first() {
                Some(x) if x.at != 0 && self.rng.below(4) == 0 => x.name.clone(),
                _ => self.field(),
            };
            let v = self.value_for(&f);
            if m.set(&f, &v) {
                added += 1;
            }
            args.push(f);
            args.push(v);
        }
        if !was_table && m.table && m.has_ttl() {
            self.stats.to_table_with_ttl += 1;
        }
        let want = if hmset {
            b"+OK\r\n".to_vec()
        } else {
            int(added)
        };
        assert_eq!(self.send(&args), want, "{}", self.ctx("HSET", key));
        self.store(key, m);
    }

    fn hsetnx(&mut self, key: &[u8], mut m: ModelHash) {
        let (f, v) = (self.field(), self.value());
        let want = if m.get(&f).is_some() {
            0
        } else {
            m.set(&f, &v) as i64
        };
        let r = self.send(&[b"HSETNX".to_vec(), key.to_vec(), f, v]);
        assert_eq!(r, int(want), "{}", self.ctx("HSETNX", key));
        self.store(key, m);
    }

    fn hdel(&mut self, key: &[u8], mut m: ModelHash) {
        let fields = self.pick_fields(Some(&m).filter(|m| !m.fields.is_empty()), 3);
        let removed = fields.iter().filter(|f| m.remove(f)).count();
        let mut args = vec![b"HDEL".to_vec(), key.to_vec()];
        args.extend(fields);
        assert_eq!(
            self.send(&args),
            int(removed as i64),
            "{}",
            self.ctx("HDEL", key)
        );
        self.store(key, m);
    }

    /// HINCRBY on n0..n2, HINCRBYFLOAT (by halves) on x0..x1: both keep the deadline.
    fn hincr(&mut self, key: &[u8], mut m: ModelHash) {
        if self.rng.below(3) == 0 {
            let f = format!("x{}", self.rng.below(if self.small { 1 } else { 2 })).into_bytes();
            let by = self.rng.below(21) as i64 - 10;
            let cur = m.value(&f).map_or(0, |v| parse_halves(v));
            let new = halves_text(cur + by);
            m.set_keep(&f, &new);
            let r = self.send(&[b"HINCRBYFLOAT".to_vec(), key.to_vec(), f, halves_text(by)]);
            assert_eq!(r, bulk(Some(&new)), "{}", self.ctx("HINCRBYFLOAT", key));
        } else {
            let f = format!("n{}", self.rng.below(if self.small { 1 } else { 3 })).into_bytes();
            let by = self.rng.below(100) as i64 - 50;
            let cur: i64 = m
                .value(&f)
                .map_or(0, |v| std::str::from_utf8(v).unwrap().parse().unwrap());
            let new = cur + by;
            m.set_keep(&f, new.to_string().as_bytes());
            let r = self.send(&[
                b"HINCRBY".to_vec(),
                key.to_vec(),
                f,
                by.to_string().into_bytes(),
            ]);
            assert_eq!(r, int(new), "{}", self.ctx("HINCRBY", key));
        }
        self.store(key, m);
    }

    fn reads(&mut self, key: &[u8], m: Option<ModelHash>) {
        let m = m.unwrap_or_default();
        let f = self
            .pick_fields(Some(&m).filter(|m| !m.fields.is_empty()), 1)
            .remove(0);
        let k = key.to_vec();
        let got = self.send(&[b"HGET".to_vec(), k.clone(), f.clone()]);
        assert_eq!(got, bulk(m.value(&f)), "{}", self.ctx("HGET", key));
        let got = self.send(&[b"HEXISTS".to_vec(), k.clone(), f.clone()]);
        assert_eq!(
            got,
            int(m.get(&f).is_some() as i64),
            "{}",
            self.ctx("HEXISTS", key)
        );
        let got = self.send(&[b"HSTRLEN".to_vec(), k.clone(), f.clone()]);
        let want = int(m.value(&f).map_or(0, |v| v.len()) as i64);
        assert_eq!(got, want, "{}", self.ctx("HSTRLEN", key));
        let got = self.send(&[b"EXISTS".to_vec(), k]);
        assert_eq!(
            got,
            int(!m.fields.is_empty() as i64),
            "{}",
            self.ctx("EXISTS", key)
        );
    }

    fn hmget_or_del(&mut self, key: &[u8], m: Option<ModelHash>) {
        // The small keys are dropped more often, so they are often rebuilt compact.
        if self.rng.below(if self.small { 3 } else { 8 }) == 0 {
            let r = self.send(&[b"DEL".to_vec(), key.to_vec()]);
            assert_eq!(r, int(m.is_some() as i64), "{}", self.ctx("DEL", key));
            self.model.remove(key);
            return;
        }
        let m = m.unwrap_or_default();
        let fields: Vec<Vec<u8>> = (0..3).map(|_| self.field()).collect();
        let mut args = vec![b"HMGET".to_vec(), key.to_vec()];
        args.extend(fields.iter().cloned());
        let want: Vec<Vec<u8>> = fields.iter().map(|f| bulk(m.value(f))).collect();
        assert_eq!(self.send(&args), array(&want), "{}", self.ctx("HMGET", key));
    }

    /// HEXPIRE / HPEXPIRE / HEXPIREAT / HPEXPIREAT with far, relative or past times.
    fn hexpire(&mut self, key: &[u8], m: Option<ModelHash>) {
        let d = self.deadline();
        let cond = [
            Cond::None,
            Cond::None,
            Cond::Nx,
            Cond::Xx,
            Cond::Gt,
            Cond::Lt,
        ][self.rng.below(6) as usize];
        let fields = self.pick_fields(m.as_ref(), 4);
        let mut args = vec![
            d.command().as_bytes().to_vec(),
            key.to_vec(),
            d.arg.to_string().into_bytes(),
        ];
        args.extend(cond.word().map(|w| w.to_vec()));
        args.push(b"FIELDS".to_vec());
        args.push(fields.len().to_string().into_bytes());
        args.extend(fields.iter().cloned());
        let (r, t0, t1) = self.timed(&args);
        let got = parse_ints(&r);
        let Some(mut m) = m else {
            assert_eq!(
                got,
                vec![-2; fields.len()],
                "{}",
                self.ctx(d.command(), key)
            );
            return;
        };
        m.ex = true;
        let (lo, hi) = d.range(t0, t1);
        let at = d.at(t0);
        let mut want = Vec::new();
        for f in &fields {
            let code = match m.get(f) {
                None => -2,
                Some(x) if cond.refuses(x.at, at) => 0,
                Some(_) if d.kind == Kind::Past => {
                    m.remove(f);
                    self.stats.ttl_deleted += 1;
                    2
                }
                Some(_) => {
                    if m.fields.iter().any(|y| y.at == at && y.name != *f) {
                        self.stats.tie_orders += 1;
                    }
                    m.set_ttl(f, lo, hi);
                    self.stats.ttl_set += 1;
                    1
                }
            };
            want.push(code);
        }
        assert_eq!(
            got,
            want,
            "{} {:?} {:?}",
            self.ctx(d.command(), key),
            cond,
            fields
                .iter()
                .map(|f| String::from_utf8_lossy(f))
                .collect::<Vec<_>>()
        );
        self.store(key, m);
    }

    /// HTTL / HPTTL / HEXPIRETIME / HPEXPIRETIME.
    fn ttl_query(&mut self, key: &[u8], m: Option<ModelHash>) {
        let verb = ["HTTL", "HPTTL", "HEXPIRETIME", "HPEXPIRETIME"][self.rng.below(4) as usize];
        let fields = self.pick_fields(m.as_ref(), 4);
        let mut args = vec![verb.as_bytes().to_vec(), key.to_vec(), b"FIELDS".to_vec()];
        args.push(fields.len().to_string().into_bytes());
        args.extend(fields.iter().cloned());
        let (r, t0, t1) = self.timed(&args);
        let got = parse_ints(&r);
        assert_eq!(got.len(), fields.len(), "{}", self.ctx(verb, key));
        let m = m.unwrap_or_default();
        for (f, &g) in fields.iter().zip(&got) {
            let ctx = format!(
                "{} field {}",
                self.ctx(verb, key),
                String::from_utf8_lossy(f)
            );
            let Some(x) = m.get(f) else {
                assert_eq!(g, -2, "{ctx}");
                continue;
            };
            if x.at == 0 {
                assert_eq!(g, -1, "{ctx}");
                continue;
            }
            let (lo, hi) = (x.at as i64, x.at_hi as i64);
            let (t0, t1) = (t0 as i64, t1 as i64);
            let (min, max) = match verb {
                "HPEXPIRETIME" => (lo, hi),
                "HEXPIRETIME" => ((lo + 999) / 1000, (hi + 999) / 1000),
                "HPTTL" => (lo - t1, hi - t0),
                _ => ((lo - t1 + 999) / 1000, (hi - t0 + 999) / 1000),
            };
            assert!((min..=max).contains(&g), "{ctx}: {g} not in {min}..={max}");
        }
    }

    fn hpersist(&mut self, key: &[u8], m: Option<ModelHash>) {
        let fields = self.pick_fields(m.as_ref(), 3);
        let mut args = vec![b"HPERSIST".to_vec(), key.to_vec(), b"FIELDS".to_vec()];
        args.push(fields.len().to_string().into_bytes());
        args.extend(fields.iter().cloned());
        let got = parse_ints(&self.send(&args));
        let Some(mut m) = m else {
            assert_eq!(got, vec![-2; fields.len()], "{}", self.ctx("HPERSIST", key));
            return;
        };
        let want: Vec<i64> = fields
            .iter()
            .map(|f| {
                if m.get(f).is_none() {
                    -2
                } else if m.persist(f) {
                    1
                } else {
                    -1
                }
            })
            .collect();
        assert_eq!(got, want, "{}", self.ctx("HPERSIST", key));
        self.store(key, m);
    }

    fn hgetdel(&mut self, key: &[u8], m: Option<ModelHash>) {
        let fields = self.pick_fields(m.as_ref(), 3);
        let mut args = vec![b"HGETDEL".to_vec(), key.to_vec(), b"FIELDS".to_vec()];
        args.push(fields.len().to_string().into_bytes());
        args.extend(fields.iter().cloned());
        let got = self.send(&args);
        let mut m = m.unwrap_or_default();
        let want: Vec<Vec<u8>> = fields
            .iter()
            .map(|f| {
                let v = bulk(m.value(f));
                m.remove(f);
                v
            })
            .collect();
        assert_eq!(got, array(&want), "{}", self.ctx("HGETDEL", key));
        self.store(key, m);
    }

    /// HGETEX [EX|PX|EXAT|PXAT|PERSIST]; `short` forces PXAT at that time.
    fn hgetex(&mut self, key: &[u8], m: Option<ModelHash>, short: Option<u64>) {
        // None: no option; Some(None): PERSIST; Some(Some(d)): a deadline.
        let opt: Option<Option<Deadline>> = match short {
            Some(at) => Some(Some(Deadline::pxat(at))),
            None => match self.rng.below(5) {
                0 => None,
                1 => Some(None),
                _ => Some(Some(self.deadline())),
            },
        };
        let fields = self.pick_fields(m.as_ref(), 3);
        let mut args = vec![b"HGETEX".to_vec(), key.to_vec()];
        push_time_option(&mut args, &opt, b"PERSIST");
        args.push(b"FIELDS".to_vec());
        args.push(fields.len().to_string().into_bytes());
        args.extend(fields.iter().cloned());
        let (got, t0, t1) = self.timed(&args);
        let Some(mut m) = m else {
            assert_eq!(
                got,
                array(&vec![bulk(None); fields.len()]),
                "{}",
                self.ctx("HGETEX", key)
            );
            return;
        };
        if opt.is_some() {
            m.ex = true;
        }
        let mut want = Vec::new();
        for f in &fields {
            want.push(bulk(m.value(f)));
            if m.get(f).is_none() {
                continue;
            }
            match &opt {
                None => {}
                Some(None) => {
                    m.persist(f);
                }
                Some(Some(d)) if d.kind == Kind::Past => {
                    m.remove(f);
                    self.stats.ttl_deleted += 1;
                }
                Some(Some(d)) => {
                    let (lo, hi) = d.range(t0, t1);
                    m.set_ttl(f, lo, hi);
                    self.stats.ttl_set += 1;
                }
            }
        }
        assert_eq!(got, array(&want), "{}", self.ctx("HGETEX", key));
        self.store(key, m);
    }

    /// HSETEX [FNX|FXX] [EX|PX|EXAT|PXAT|KEEPTTL]; `short` forces PXAT at that time.
    fn hsetex(&mut self, key: &[u8], m: ModelHash, short: Option<u64>) {
        let exists = !m.fields.is_empty();
        let cond = ["", "", "FNX", "FXX"][self.rng.below(4) as usize];
        // None: plain; Some(None): KEEPTTL; Some(Some(d)): a deadline.
        let opt: Option<Option<Deadline>> = match short {
            Some(at) => Some(Some(Deadline::pxat(at))),
            None => match self.rng.below(5) {
                0 => None,
                1 => Some(None),
                _ => Some(Some(self.deadline())),
            },
        };
        let fields = self.pick_fields(Some(&m).filter(|_| exists), 3);
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = fields
            .into_iter()
            .map(|f| {
                let v = self.value_for(&f);
                (f, v)
            })
            .collect();
        let mut args = vec![b"HSETEX".to_vec(), key.to_vec()];
        if !cond.is_empty() {
            args.push(cond.as_bytes().to_vec());
        }
        push_time_option(&mut args, &opt, b"KEEPTTL");
        args.push(b"FIELDS".to_vec());
        args.push(pairs.len().to_string().into_bytes());
        for (f, v) in &pairs {
            args.push(f.clone());
            args.push(v.clone());
        }
        let (got, t0, t1) = self.timed(&args);
        let ok = match cond {
            "FNX" => pairs.iter().all(|(f, _)| m.get(f).is_none()),
            "FXX" => pairs.iter().all(|(f, _)| m.get(f).is_some()),
            _ => true,
        };
        assert_eq!(got, int(ok as i64), "{} {cond}", self.ctx("HSETEX", key));
        if !ok {
            return;
        }
        let mut m = m;
        let was_table = m.table;
        for (f, v) in &pairs {
            match &opt {
                None => {
                    m.set(f, v);
                }
                Some(None) => {
                    m.set_keep(f, v);
                }
                Some(Some(d)) => {
                    m.set_keep(f, v);
                    if d.kind == Kind::Past {
                        m.remove(f);
                        self.stats.ttl_deleted += 1;
                    } else {
                        let (lo, hi) = d.range(t0, t1);
                        m.set_ttl(f, lo, hi);
                        self.stats.ttl_set += 1;
                    }
                }
            }
        }
        if let Some(Some(_)) = opt {
            m.ex = true;
        }
        if !was_table && m.table && m.has_ttl() {
            self.stats.to_table_with_ttl += 1;
        }
        self.store(key, m);
    }

    /// A deadline 30 to 300 ms ahead (or 0 to 2), set by HPEXPIREAT (on some or all
    /// fields), HSETEX PXAT or HGETEX PXAT. The key is frozen until it has passed.
    fn short(&mut self, key: &[u8], m: Option<ModelHash>) {
        // Now and then only a few ms ahead, so it may be past when the server sees it.
        let ahead = if self.rng.below(4) == 0 {
            self.rng.below(3)
        } else {
            30 + self.rng.below(271)
        };
        let at = unix_ms() + ahead;
        self.stats.short_set += 1;
        match (self.rng.below(3), m) {
            (0, m) => self.hsetex(key, m.unwrap_or_default(), Some(at)),
            (1, Some(m)) => self.hgetex(key, Some(m), Some(at)),
            (_, None) => self.hsetex(key, ModelHash::default(), Some(at)),
            (_, Some(mut m)) => {
                let fields: Vec<Vec<u8>> = if self.rng.below(3) == 0 {
                    m.fields.iter().map(|x| x.name.clone()).collect()
                } else {
                    self.pick_fields(Some(&m), 3)
                };
                let cond = [Cond::None, Cond::None, Cond::Nx, Cond::Lt][self.rng.below(4) as usize];
                let mut args = vec![
                    b"HPEXPIREAT".to_vec(),
                    key.to_vec(),
                    at.to_string().into_bytes(),
                ];
                args.extend(cond.word().map(|w| w.to_vec()));
                args.push(b"FIELDS".to_vec());
                args.push(fields.len().to_string().into_bytes());
                args.extend(fields.iter().cloned());
                let (r, t0, t1) = self.timed(&args);
                let got = parse_ints(&r);
                m.ex = true;
                // Either every field that passes its condition is set (1), or, if the
                // request reached the server after `at`, deleted (2).
                let late = got.contains(&2);
                assert!(
                    !late || t1 >= at,
                    "{}: replied 2 before the deadline",
                    self.ctx("short HPEXPIREAT", key)
                );
                if late {
                    self.stats.short_replied_past += 1;
                }
                let mut want = Vec::new();
                for f in &fields {
                    want.push(match m.get(f) {
                        None => -2,
                        Some(x) if cond.refuses(x.at, at) => 0,
                        Some(_) if late => {
                            m.remove(f);
                            2
                        }
                        Some(_) => {
                            m.set_ttl(f, at, at);
                            1
                        }
                    });
                }
                assert_eq!(got, want, "{} {cond:?}", self.ctx("short HPEXPIREAT", key));
                assert!(
                    late || at > t0 || !want.contains(&1),
                    "{}: set a deadline that was already past",
                    self.ctx("short HPEXPIREAT", key)
                );
                self.store(key, m);
            }
        }
    }

    /// Sleeps past every short deadline and settles the model, then waits for the
    /// active cycle to remove every hash whose fields all expired.
    fn settle_all(&mut self) {
        let latest = self
            .model
            .values()
            .flat_map(|m| m.fields.iter().map(|x| x.at))
            .filter(|&at| self.is_short(at))
            .max();
        if let Some(latest) = latest {
            let now = unix_ms();
            if latest + BACK + SLACK > now {
                std::thread::sleep(Duration::from_millis(latest + BACK + SLACK - now));
            }
        }
        let now = unix_ms();
        for k in self.keys.clone() {
            self.settle(&k, now);
        }
        let want = int(self.model.len() as i64);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = self.send(&[b"DBSIZE".to_vec()]);
            if got == want {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "seed {}: DBSIZE {:?}, model {} keys: the active cycle did not remove the hashes whose fields all expired",
                self.seed,
                String::from_utf8_lossy(&got),
                self.model.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Deletes fields of some tables until they fit the compact limits again, deadlines
    /// last, and gives a deadline to two fields of any left without one, so the restart
    /// has small former tables with deadlines to rebuild.
    fn shrink_tables(&mut self) {
        for k in self.keys.clone() {
            let Some(m) = self.model.get(&k).cloned() else {
                continue;
            };
            if !m.table || self.rng.below(3) == 0 {
                continue;
            }
            let mut m = m;
            let mut doomed: Vec<Vec<u8>> = m
                .fields
                .iter()
                .filter(|x| ModelHash::is_long(&x.name, &x.value))
                .map(|x| x.name.clone())
                .collect();
            let mut rest: Vec<&Field> = m
                .fields
                .iter()
                .filter(|x| !doomed.contains(&x.name))
                .collect();
            // Without deadline first, so the survivors keep theirs.
            rest.sort_by_key(|x| x.at != 0);
            let keep = MAX_ENTRIES - self.rng.below(3) as usize;
            let extra = rest.len().saturating_sub(keep);
            doomed.extend(rest[..extra].iter().map(|x| x.name.clone()));
            if !doomed.is_empty() {
                for f in &doomed {
                    m.remove(f);
                }
                let mut args = vec![b"HDEL".to_vec(), k.clone()];
                args.extend(doomed.iter().cloned());
                let r = self.send(&args);
                assert_eq!(
                    r,
                    int(doomed.len() as i64),
                    "{}",
                    self.ctx("shrink HDEL", &k)
                );
            }
            // A former table with deadlines is the interesting case: make sure of some.
            if !m.fields.is_empty() && !m.has_ttl() {
                let at = self.far_ms();
                let fields: Vec<Vec<u8>> =
                    m.fields.iter().take(2).map(|x| x.name.clone()).collect();
                for f in &fields {
                    m.set_ttl(f, at, at);
                }
                let mut args = vec![
                    b"HPEXPIREAT".to_vec(),
                    k.clone(),
                    at.to_string().into_bytes(),
                ];
                args.push(b"FIELDS".to_vec());
                args.push(fields.len().to_string().into_bytes());
                args.extend(fields.iter().cloned());
                let r = parse_ints(&self.send(&args));
                assert_eq!(
                    r,
                    vec![1; fields.len()],
                    "{}",
                    self.ctx("shrink HPEXPIREAT", &k)
                );
            }
            self.store(&k, m);
        }
    }

    fn rewrite(&mut self) {
        let r = self.send(&[b"BGREWRITEAOF".to_vec()]);
        assert_eq!(
            r,
            b"+Background append only file rewriting started\r\n".to_vec()
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let info = self.send(&[b"INFO".to_vec(), b"persistence".to_vec()]);
            let info = String::from_utf8_lossy(&info).into_owned();
            if info.contains("aof_rewrite_in_progress:0")
                && info.contains("aof_rewrite_scheduled:0")
            {
                assert!(
                    info.contains("aof_last_bgrewrite_status:ok"),
                    "seed {}: {info}",
                    self.seed
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "seed {}: rewrite did not finish",
                self.seed
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// After a restart from a rewritten AOF: each hash was rebuilt from HSET and
    /// HPEXPIREAT records, so it is a table only if it is too large for the compact
    /// encoding, and `listpackex` only if a field has a deadline. A former table that
    /// comes back compact has its fields in the table's order (deadlines first, sorted):
    /// checked against the rule, then adopted by the model.
    fn after_rewrite_restart(&mut self) {
        for k in self.keys.clone() {
            let Some(mut m) = self.model.get(&k).cloned() else {
                self.verify_and_pin(&k, Mode::Exact, "after restart");
                continue;
            };
            let table = m.fields.len() > MAX_ENTRIES
                || m.fields
                    .iter()
                    .any(|x| ModelHash::is_long(&x.name, &x.value));
            if m.table && !table {
                let got = parse_array(&self.send(&[b"HGETALL".to_vec(), k.clone()]));
                let names: Vec<Vec<u8>> = got.chunks(2).map(|p| p[0].clone()).collect();
                let mut reordered = Vec::new();
                for n in &names {
                    if let Some(x) = m.get(n) {
                        reordered.push(x.clone());
                    }
                }
                if reordered.len() == m.fields.len() {
                    m.fields = reordered;
                    let rule = m
                        .fields
                        .windows(2)
                        .all(|w| w[1].at == 0 || (w[0].at != 0 && w[0].at <= w[1].at));
                    assert!(
                        rule,
                        "seed {}: {} came back compact out of deadline order: {}",
                        self.seed,
                        String::from_utf8_lossy(&k),
                        m.show()
                    );
                }
                // (A mismatch in the set of fields is reported by the check below.)
                self.stats.table_to_compact += 1;
                if m.has_ttl() {
                    self.stats.table_to_compact_with_ttl += 1;
                }
            }
            m.table = table;
            m.ex = !table && m.has_ttl();
            self.model.insert(k.clone(), m);
            self.verify_and_pin(&k, Mode::Exact, "after restart from a rewritten AOF");
        }
    }

    /// Ends a phase: settle, check and pin every key, optionally rewrite, kill -9,
    /// restart and check again.
    fn restart(&mut self, srv: &mut Server, dir: &TempDir, args: &[&str], rewrite: bool) -> Server {
        self.settle_all();
        for k in self.keys.clone() {
            self.verify_and_pin(&k, Mode::Exact, "before kill");
        }
        if rewrite {
            self.shrink_tables();
            self.rewrite();
        }
        let dbsize = self.model.len();
        srv.kill9();
        let srv = Server::start_in(dir.path(), args);
        self.c = srv.connect();
        assert_eq!(
            self.send(&[b"DBSIZE".to_vec()]),
            int(dbsize as i64),
            "seed {}: DBSIZE after restart",
            self.seed
        );
        if rewrite {
            self.after_rewrite_restart();
        } else {
            for k in self.keys.clone() {
                self.verify_and_pin(&k, Mode::Replayed, "after restart from the log");
            }
        }
        srv
    }
}

#[test]
fn hash_commands_match_a_model_across_encodings_expiry_and_restarts() {
    let seed = std::env::var("HASH_MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::process::id() as u64 * 7919 + 17);
    eprintln!("seed {seed} (HASH_MODEL_SEED={seed} to repeat)");
    let started = Instant::now();
    let dir = TempDir::new("hashmodel");
    let args = [
        "--appendfsync",
        "always",
        "--hash-max-listpack-entries",
        "8",
        "--hash-max-listpack-value",
        "16",
        "--enable-debug-command",
        "yes",
    ];
    let mut srv = Server::start_in(dir.path(), &args);
    let start = unix_ms();
    let mut run = Run {
        seed,
        rng: Rng::new(seed),
        c: srv.connect(),
        model: HashMap::new(),
        keys: (0..12)
            .map(|i| format!("{}{}", if i < 6 { 's' } else { 'b' }, i % 6).into_bytes())
            .collect(),
        far_base: start.div_ceil(1000) * 1000 + DAY,
        start,
        rel_used: HashSet::new(),
        stats: Stats::default(),
        step: 0,
        small: false,
    };
    run.run_steps(STEPS_PER_PHASE);
    let mut srv = run.restart(&mut srv, &dir, &args, true);
    // Phase 2: expired fields are left in place for the commands to hide.
    assert_eq!(run.c.cmd("DEBUG SET-ACTIVE-EXPIRE 0"), "+OK\r\n");
    run.run_steps(STEPS_PER_PHASE);
    assert_eq!(run.c.cmd("DEBUG SET-ACTIVE-EXPIRE 1"), "+OK\r\n");
    let _srv = run.restart(&mut srv, &dir, &args, seed.is_multiple_of(2));
    eprintln!("{:?} in {:.1?}", run.stats, started.elapsed());
}
