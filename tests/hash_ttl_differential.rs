//! Differential test of hash field expiration: ferrokv against a real Redis 8 server,
//! reply bytes compared.
//!
//! A deterministic PRNG (the xorshift64* of tests/common, seeded from `DIFF_SEED`) generates
//! `DIFF_COUNT` commands over a tiny key space (hashes `h:0..h:4`, the string `s:0` for
//! WRONGTYPE, and `missing`, which no command creates). About half are the Redis 7.4/8.0
//! field-TTL commands (HEXPIRE HPEXPIRE HEXPIREAT HPEXPIREAT with NX/XX/GT/LT, HTTL HPTTL
//! HEXPIRETIME HPEXPIRETIME HPERSIST, HGETDEL, HGETEX, HSETEX), valid and invalid: repeated,
//! conflicting, misplaced, unknown and lower-case options; `FIELDS` missing or misspelled;
//! numfields 0, negative, non-integer, too small or too large; bad, negative, past and
//! out-of-range expire times (the largest accepted absolute time is 70368744177663 ms);
//! duplicate fields; wrong arity; wrong type; missing keys. The rest are the classic hash
//! commands, DEL/EXISTS/TYPE/OBJECT ENCODING and a few MULTI/EXEC blocks, so TTLs meet
//! HSET, HINCRBY, HDEL, key deletion, and listpack -> hashtable conversion.
//!
//! Each server gets two connections: #0 speaks RESP2, #1 sends `HELLO 3` first and then
//! speaks RESP3. The first third of the run uses #0 only; after that each step (a single
//! command, a MULTI block or a short scripted sequence) goes to a randomly chosen
//! connection. At the end a sweep compares every key: type, encoding, length, HGETALL and
//! the HPEXPIRETIME of every field.
//!
//! Field order: hashes stay small (< 30 fields, fields and values <= 60 bytes), so Redis
//! keeps them in listpack/listpackex encoding, whose order ferrokv must reproduce exactly
//! (a listpackex is ordered by expiry: fields with a TTL first, ascending; then fields
//! without one, in insertion order). Now and then a scripted step makes a hash of 130
//! fields or stores a 70-byte value, which converts it to a hashtable.
//!
//! Normalized replies (everything else must match byte for byte):
//! - `HTTL` / `HEXPIRETIME`: arrays compared element by element; negative values (-1, -2)
//!   exactly, non-negative ones within 2 s. `HPTTL` / `HPEXPIRETIME`: the same within
//!   2000 ms. The two servers see each relative TTL at slightly different moments (and a
//!   loaded CI machine may stall between the two sends); absolute times could be compared
//!   exactly, but for simplicity every non-negative value gets the tolerance.
//! - `HGETALL` / `HKEYS` / `HVALS` on a key that is hashtable-encoded in the reference (asked
//!   with `OBJECT ENCODING` on a separate connection just before the command, or before it
//!   is queued in MULTI): compared as sorted sets (of field/value pairs for HGETALL).
//!   On listpack(ex) keys: exact.
//! - `HSCAN key 0`: exact on listpack(ex) keys (everything comes in one call). On hashtable
//!   keys with `COUNT 1000` (the usual form): cursor exact, elements as a sorted set; with
//!   another COUNT, only the reply shape.
//! - `HRANDFIELD`: only generated with a count >= 200 (more than any hash holds, so the
//!   whole hash), compared sorted; or without a count, then only "nil" vs "some field".
//! - `KEYS *` (final sweep): sorted.
//! - `EXEC`: each element is normalized like the queued command it answers.
//! - `HELLO 3` (connection setup only): the values of `server`, `version`, `id` and
//!   `modules` are ignored (Redis 8 lists its built-in vectorset module).
//!
//! Determinism notes:
//! - Timing never matters. Relative TTLs are hours to centuries, and unique: bucket +
//!   100 s * sequence number (+ < 1 s of extra milliseconds). Absolute future times are
//!   now + bucket + 50 s + 100 s * n, with `now` taken afresh before every step, so they
//!   stay ~50 s (mod 100 s) away from every relative one: GT/LT and the expiry order of a
//!   listpackex never depend on when a command arrives. Absolute times in the past (0, 1,
//!   1000, a day ago) and relative 0 (`EX 0`, `PX 0`, `HEXPIRE k 0`) expire the fields at
//!   once (reply 2 for HEXPIRE; the key goes when its last field goes), so nothing is left
//!   for Redis's active field expiry.
//! - Relative times are never small positive numbers (not even as "+5"/"05", which a
//!   lenient parser might accept); the invalid relative ones exceed the limit by far.
//! - Inside MULTI no command converts a hash to hashtable encoding, so the encoding seen
//!   when a read is queued is the one it runs with (or the key is deleted and recreated
//!   small, and a sorted compare of a listpack reply is merely lenient).
//! - HINCRBYFLOAT increments are moderate, so results stay short (listpack encoding).
//! - Not generated: the HSCAN cursors "" and "-1", which redis 7 accepts (as 0 and
//!   2^64-1) and redis 8 rejects ("invalid cursor"); ferrokv follows redis 7 there, and
//!   tests/differential.rs checks it.
//!
//! Environment:
//! - `DIFF_SEED` (decimal or 0x-hex u64), `DIFF_COUNT` (number of commands, default 5000).
//! - `DIFF_MAX_FAILS=n`: report up to n mismatches (on stderr) before failing instead of
//!   stopping at the first one. Later ones may be consequences of earlier ones.
//! - `DIFF_SELFCHECK=1`: compare two Redis 8 servers against each other instead, to check
//!   that the normalizations above remove all nondeterminism.
//! - `REDIS8_SERVER`: the Redis 8 `redis-server` to use; by default
//!   tests/.redis8/redis-server, installed by scripts/setup-redis8 (which
//!   scripts/setup-test-deps runs). If it is missing the test is skipped, unless `CI` is
//!   set (then it fails).

mod common;

use common::diff::{self, Cmd, Diff, Norm, b, bulk_items, upper};
use common::{Client, Rng, Server};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const DEFAULT_SEED: u64 = 0x4854_544C_5EED;
const DEFAULT_COUNT: usize = 5000;
/// Number of hash keys `h:0..`.
const HASH_KEYS: u64 = 5;
const STRING_KEY: &str = "s:0";
/// Never created: every command on it sees a missing key.
const MISSING_KEY: &str = "missing";
const TTL_BUCKETS: &[u64] = &[10_000, 100_000_000, 10_000_000_000];
/// The largest absolute expire time Redis accepts (ms); one more is an error.
const MAX_EXPIRE_MS: u64 = 70_368_744_177_663;

const INT_VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "7",
    "42",
    "12345",
    "9223372036854775807",
    "-9223372036854775808",
    "01",
    "abc",
];
const FLOAT_VALUES: &[&str] = &["10.5", "0.1", "-99.99", "5.0e3", "1.5", "inf", "nan", "2."];
const WORD_VALUES: &[&str] = &[
    "",
    "hello",
    "hello world",
    "\x00\x01\x02\x7f",
    "line1\r\nline2",
    "caf\u{e9}",
    "v",
];
const INT_ARGS: &[&str] = &[
    "1",
    "-1",
    "0",
    "5",
    "100",
    "-1000",
    "abc",
    "",
    "1.5",
    "9223372036854775807",
];
/// Moderate increments: results stay short (listpack encoding is kept).
const FLOAT_ARGS: &[&str] = &[
    "10.5", "0.1", "-99.99", "1", "-1", "0", "2.5", "1e-5", "5.0e3", "abc", "inf", "nan", "",
];
/// Invalid whatever the command: non-integers, negatives, and numbers past the limit
/// (relative or absolute, seconds or ms) by far.
const BAD_TIMES: &[&str] = &[
    "-1",
    "-100",
    "abc",
    "",
    "1.5",
    "+5",
    " 5",
    "05",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "9223372036854775",
    "99999999999999999999",
];

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ---------------------------------------------------------------------------------------
// Command generator
// ---------------------------------------------------------------------------------------

struct Gen {
    rng: Rng,
    /// Unix time in seconds, refreshed before every step (see the determinism notes).
    now_secs: u64,
    ttl_seq: u64,
}

impl Gen {
    fn below(&mut self, n: usize) -> usize {
        self.rng.below(n as u64) as usize
    }
    fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    fn pickb(&mut self, xs: &[&str]) -> Vec<u8> {
        b(self.pick(xs))
    }

    /// A command or option name, sometimes in lower or mixed case.
    fn name(&mut self, n: &str) -> Vec<u8> {
        diff::cased(n, self.below(20))
    }

    fn cmd(&mut self, name: &str, args: Vec<Vec<u8>>) -> Cmd {
        let mut v = vec![self.name(name)];
        v.extend(args);
        v
    }

    // --- keys, fields, values ---

    fn hash_key(&mut self) -> Vec<u8> {
        format!("h:{}", self.below(HASH_KEYS as usize)).into_bytes()
    }
    /// Key of a command that does not create its key.
    fn hkey(&mut self) -> Vec<u8> {
        match self.below(100) {
            0..=88 => self.hash_key(),
            89..=95 => b(STRING_KEY),
            _ => b(MISSING_KEY),
        }
    }
    /// Key of a command that may create it.
    fn wkey(&mut self) -> Vec<u8> {
        if self.chance(93) {
            self.hash_key()
        } else {
            b(STRING_KEY)
        }
    }
    fn any_key(&mut self) -> Vec<u8> {
        match self.below(100) {
            0..=79 => self.hash_key(),
            80..=91 => b(STRING_KEY),
            _ => b(MISSING_KEY),
        }
    }

    /// Mostly `f0..f9`, the first five more often (so that commands hit existing fields).
    fn field(&mut self) -> Vec<u8> {
        let r = self.below(100);
        if r < 55 {
            format!("f{}", self.below(5)).into_bytes()
        } else if r < 85 {
            format!("f{}", 5 + self.below(5)).into_bytes()
        } else {
            match self.below(8) {
                0 => b(""),
                1 => b("field with spaces"),
                2 => b"\x00\xff\r\n".to_vec(),
                3 => b("1"),
                4 => vec![b'F'; 40],
                5 => b("caf\u{e9}"),
                _ => format!("g{}", self.below(3)).into_bytes(),
            }
        }
    }
    /// 1..=max fields, duplicates possible.
    fn fields(&mut self, max: usize) -> Vec<Vec<u8>> {
        let n = 1 + self.below(max);
        (0..n).map(|_| self.field()).collect()
    }

    /// A value small enough for a listpack hash (<= 60 bytes).
    fn hval(&mut self) -> Vec<u8> {
        match self.below(10) {
            0..=3 => self.pickb(INT_VALUES),
            4..=5 => self.pickb(FLOAT_VALUES),
            6..=7 => self.pickb(WORD_VALUES),
            8 => {
                let n = self.below(21);
                (0..n).map(|_| b' ' + self.below(95) as u8).collect()
            }
            _ => {
                let n = 40 + self.below(21);
                vec![b'a' + self.below(26) as u8; n]
            }
        }
    }

    // --- expire times (see the determinism notes at the top) ---

    fn rel_secs(&mut self) -> u64 {
        self.ttl_seq += 1;
        self.pick(TTL_BUCKETS) + 100 * self.ttl_seq
    }
    fn abs_secs(&mut self) -> u64 {
        // Sometimes the same absolute time as other commands of this step's second.
        let seq = if self.chance(40) {
            0
        } else {
            self.ttl_seq += 1;
            self.ttl_seq
        };
        self.now_secs + self.pick(TTL_BUCKETS) + 50 + 100 * seq
    }
    /// An expire time in seconds or ms, relative or absolute: a valid future time most of
    /// the time, else "already expired", the limit, or invalid.
    fn time_arg(&mut self, abs: bool, ms: bool) -> Vec<u8> {
        let unit = if ms { 1000 } else { 1 };
        if self.chance(80) {
            let s = if abs {
                self.abs_secs()
            } else {
                self.rel_secs()
            };
            let extra = if ms && self.chance(50) {
                self.below(1000) as u64
            } else {
                0
            };
            return (s * unit + extra).to_string().into_bytes();
        }
        match self.below(10) {
            // Already expired: the fields are deleted at once.
            0..=3 => {
                if abs {
                    let past = [0, 1, 1000, self.now_secs - 86_400];
                    (self.pick(&past) * unit).to_string().into_bytes()
                } else {
                    b("0")
                }
            }
            // The limit: valid as an absolute time, one more is an error. Relative, both
            // are far past the limit.
            4..=5 => {
                let max = if ms {
                    MAX_EXPIRE_MS
                } else {
                    MAX_EXPIRE_MS / 1000
                };
                (max + self.below(2) as u64).to_string().into_bytes()
            }
            _ => self.pickb(BAD_TIMES),
        }
    }

    /// `FIELDS numfields items...`; `per` is 2 when the items are field/value pairs.
    /// Sometimes broken: keyword missing or misspelled, numfields wrong.
    fn fields_clause(&mut self, items: Vec<Vec<u8>>, per: usize) -> Vec<Vec<u8>> {
        let n = items.len() / per;
        let mut out = Vec::new();
        match self.below(100) {
            0..=2 => {}
            3..=4 => out.push(self.pickb(&["FIELD", "FOO", "VALUES", "NX"])),
            _ => out.push(self.name("FIELDS")),
        }
        let num = if self.chance(90) {
            n.to_string().into_bytes()
        } else {
            match self.below(9) {
                0 => b("0"),
                1 => b("-1"),
                2 => self.pickb(&["abc", "", "1.5", " 1"]),
                3 | 4 => (n + 1).to_string().into_bytes(),
                5 | 6 => (n - 1).to_string().into_bytes(),
                7 => self.pickb(&["99999999999999999999", "2147483648", "4294967297"]),
                _ => b("-9223372036854775808"),
            }
        };
        out.push(num);
        out.extend(items);
        out
    }

    // --- the field-TTL commands ---

    fn hexpire_cmd(&mut self) -> Cmd {
        let (name, abs, ms) = self.pick(&[
            ("HEXPIRE", false, false),
            ("HPEXPIRE", false, true),
            ("HEXPIREAT", true, false),
            ("HPEXPIREAT", true, true),
        ]);
        let k = self.hkey();
        let t = self.time_arg(abs, ms);
        let mut cond = Vec::new();
        if self.chance(45) {
            let c = self.pick(&["NX", "XX", "GT", "LT"]);
            cond.push(self.name(c));
        }
        if self.chance(6) {
            // Repeated, conflicting or unknown.
            cond.push(self.pickb(&["NX", "XX", "GT", "LT", "FOO", "nx", "FIELDS"]));
        }
        let fs = self.fields(4);
        let clause = self.fields_clause(fs, 1);
        let mut a = vec![k, t];
        if !cond.is_empty() && self.chance(5) {
            a.extend(clause);
            a.extend(cond);
        } else {
            a.extend(cond);
            a.extend(clause);
        }
        self.cmd(name, a)
    }

    /// HTTL HPTTL HEXPIRETIME HPEXPIRETIME HPERSIST HGETDEL: `key FIELDS n field...`.
    fn fields_only_cmd(&mut self, name: &str) -> Cmd {
        let k = self.hkey();
        let fs = self.fields(5);
        let mut a = vec![k];
        a.extend(self.fields_clause(fs, 1));
        self.cmd(name, a)
    }

    fn expiry_opt(&mut self, out: &mut Vec<Vec<u8>>) {
        let (opt, abs, ms) = self.pick(&[
            ("EX", false, false),
            ("PX", false, true),
            ("EXAT", true, false),
            ("PXAT", true, true),
        ]);
        out.push(self.name(opt));
        out.push(self.time_arg(abs, ms));
    }

    fn hgetex_cmd(&mut self) -> Cmd {
        let k = self.hkey();
        let mut opts = Vec::new();
        match self.below(100) {
            0..=29 => {}
            30..=84 => self.expiry_opt(&mut opts),
            _ => opts.push(self.name("PERSIST")),
        }
        if self.chance(7) {
            match self.below(6) {
                0 | 1 => self.expiry_opt(&mut opts),
                2 => opts.push(b("PERSIST")),
                3 => opts.push(self.pickb(&["KEEPTTL", "FNX", "FOO"])),
                4 => opts.push(b("EX")),
                _ => opts.insert(0, b("PERSIST")),
            }
        }
        let fs = self.fields(4);
        let clause = self.fields_clause(fs, 1);
        let mut a = vec![k];
        if !opts.is_empty() && self.chance(4) {
            a.extend(clause);
            a.extend(opts);
        } else {
            a.extend(opts);
            a.extend(clause);
        }
        self.cmd("HGETEX", a)
    }

    fn hsetex_cmd(&mut self) -> Cmd {
        let k = self.wkey();
        let mut opts: Vec<Vec<Vec<u8>>> = Vec::new();
        if self.chance(35) {
            let c = self.pick(&["FNX", "FXX"]);
            opts.push(vec![self.name(c)]);
        }
        match self.below(100) {
            0..=24 => {}
            25..=84 => {
                let mut e = Vec::new();
                self.expiry_opt(&mut e);
                opts.push(e);
            }
            _ => opts.push(vec![self.name("KEEPTTL")]),
        }
        if self.chance(7) {
            let junk = match self.below(8) {
                0 => vec![b("FNX")],
                1 => vec![b("FXX")],
                2 => {
                    let mut e = Vec::new();
                    self.expiry_opt(&mut e);
                    e
                }
                3 => vec![b("KEEPTTL")],
                4 => vec![b("PERSIST")],
                5 => vec![b("FOO")],
                6 => vec![b("PX")],
                _ => vec![b("NX")],
            };
            opts.push(junk);
        }
        if opts.len() > 1 && self.chance(30) {
            opts.swap(0, 1);
        }
        let mut items = Vec::new();
        for _ in 0..1 + self.below(3) {
            items.push(self.field());
            items.push(self.hval());
        }
        let mut clause = self.fields_clause(items, 2);
        if self.chance(3) {
            clause.pop();
        }
        let mut a = vec![k];
        if !opts.is_empty() && self.chance(4) {
            a.extend(clause);
            a.extend(opts.concat());
        } else {
            a.extend(opts.concat());
            a.extend(clause);
        }
        self.cmd("HSETEX", a)
    }

    fn ttl_cmd(&mut self) -> Cmd {
        match self.below(100) {
            0..=29 => self.hexpire_cmd(),
            30..=49 => {
                let name = self.pick(&["HTTL", "HPTTL", "HEXPIRETIME", "HPEXPIRETIME"]);
                self.fields_only_cmd(name)
            }
            50..=58 => self.fields_only_cmd("HPERSIST"),
            59..=66 => self.fields_only_cmd("HGETDEL"),
            67..=80 => self.hgetex_cmd(),
            _ => self.hsetex_cmd(),
        }
    }

    // --- classic commands ---

    fn hash_cmd(&mut self) -> Cmd {
        match self.below(100) {
            0..=15 => {
                let mut a = vec![self.wkey()];
                for _ in 0..1 + self.below(4) {
                    a.push(self.field());
                    a.push(self.hval());
                }
                self.cmd("HSET", a)
            }
            16..=20 => {
                let (k, f, v) = (self.wkey(), self.field(), self.hval());
                self.cmd("HSETNX", vec![k, f, v])
            }
            21..=30 => {
                let mut a = vec![self.hkey()];
                a.extend(self.fields(3));
                self.cmd("HDEL", a)
            }
            31..=36 => {
                let (k, f) = (self.hkey(), self.field());
                self.cmd("HGET", vec![k, f])
            }
            37..=40 => {
                let mut a = vec![self.hkey()];
                a.extend(self.fields(4));
                self.cmd("HMGET", a)
            }
            41..=50 => {
                let k = self.hkey();
                self.cmd("HGETALL", vec![k])
            }
            51..=53 => {
                let k = self.hkey();
                self.cmd("HKEYS", vec![k])
            }
            54..=56 => {
                let k = self.hkey();
                self.cmd("HVALS", vec![k])
            }
            57..=59 => {
                let k = self.hkey();
                self.cmd("HLEN", vec![k])
            }
            60..=62 => {
                let (k, f) = (self.hkey(), self.field());
                self.cmd("HEXISTS", vec![k, f])
            }
            63..=65 => {
                let (k, f) = (self.hkey(), self.field());
                self.cmd("HSTRLEN", vec![k, f])
            }
            66..=71 => {
                let (k, f, n) = (self.wkey(), self.field(), self.pickb(INT_ARGS));
                self.cmd("HINCRBY", vec![k, f, n])
            }
            72..=76 => {
                let (k, f, n) = (self.wkey(), self.field(), self.pickb(FLOAT_ARGS));
                self.cmd("HINCRBYFLOAT", vec![k, f, n])
            }
            77..=85 => {
                let k = self.hkey();
                let cursor = if self.chance(95) {
                    b("0")
                } else {
                    // Not "" or "-1": redis 7 takes them (as 0 and 2^64-1), redis 8 says
                    // "invalid cursor"; ferrokv follows redis 7 there (tests/differential.rs).
                    self.pickb(&["abc", "1.5"])
                };
                let mut a = vec![k, cursor];
                if self.chance(30) {
                    a.push(self.name("MATCH"));
                    a.push(self.pickb(&["f*", "f1*", "*", "g?", "nomatch", "*a*"]));
                }
                match self.below(100) {
                    0..=84 => {
                        a.push(self.name("COUNT"));
                        a.push(b("1000"));
                    }
                    85..=89 => {
                        a.push(self.name("COUNT"));
                        a.push(self.pickb(&["1", "10", "0", "abc"]));
                    }
                    _ => {}
                }
                if self.chance(25) {
                    a.push(self.name("NOVALUES"));
                }
                self.cmd("HSCAN", a)
            }
            86..=90 => {
                let mut a = vec![self.hkey()];
                if self.chance(90) {
                    a.push(self.pickb(&["200", "1000", "100000"]));
                    if self.chance(50) {
                        a.push(self.name("WITHVALUES"));
                    }
                }
                self.cmd("HRANDFIELD", a)
            }
            _ => {
                let k = self.any_key();
                let sub = self.name("ENCODING");
                self.cmd("OBJECT", vec![sub, k])
            }
        }
    }

    fn key_cmd(&mut self) -> Cmd {
        match self.below(100) {
            0..=34 => {
                let ks = (0..1 + self.below(2)).map(|_| self.any_key()).collect();
                self.cmd("DEL", ks)
            }
            35..=54 => {
                let ks = (0..1 + self.below(3)).map(|_| self.any_key()).collect();
                self.cmd("EXISTS", ks)
            }
            55..=74 => {
                let k = self.any_key();
                self.cmd("TYPE", vec![k])
            }
            _ => {
                let v = self.hval();
                self.cmd("SET", vec![b(STRING_KEY), v])
            }
        }
    }

    /// A command with a wrong number of arguments for sure.
    fn wrong_arity_cmd(&mut self) -> Cmd {
        let (name, args): (&str, &[&str]) = self.pick(&[
            ("HTTL", &["h:0"][..]),
            ("HTTL", &["h:0", "FIELDS"][..]),
            ("HPTTL", &["h:0", "FIELDS", "1"][..]),
            ("HEXPIRETIME", &[][..]),
            ("HPEXPIRETIME", &["h:0", "FIELDS", "0"][..]),
            ("HPERSIST", &["h:0"][..]),
            ("HEXPIRE", &["h:0", "100000", "FIELDS", "0"][..]),
            ("HEXPIRE", &["h:0", "100000"][..]),
            ("HPEXPIREAT", &["h:0"][..]),
            ("HGETDEL", &[][..]),
            ("HGETDEL", &["h:0", "FIELDS", "1"][..]),
            ("HGETEX", &["h:0"][..]),
            ("HGETEX", &["h:0", "FIELDS"][..]),
            ("HSETEX", &["h:0", "FIELDS", "1", "f"][..]),
            ("HSETEX", &["h:0", "FIELDS", "1", "f", "v", "g"][..]),
            ("HSETEX", &["h:0", "FIELDS", "2", "f", "v", "g"][..]),
            ("HSETEX", &["h:0", "KEEPTTL", "FIELDS", "1"][..]),
            ("HSET", &["h:0", "f"][..]),
            ("HGETALL", &[][..]),
        ]);
        let args = args.iter().map(|s| b(s)).collect();
        self.cmd(name, args)
    }

    /// Takes a generated command and breaks it: drops or adds arguments.
    fn malformed(&mut self, mut c: Cmd) -> Cmd {
        if c.len() > 1 && self.chance(60) {
            let n = 1 + self.below(c.len() - 1);
            c.truncate(n);
        } else {
            let extra = self.pickb(&["extra", "FIELDS", "1", "NX", "EX"]);
            c.push(extra);
        }
        c
    }

    fn simple(&mut self) -> Cmd {
        match self.below(100) {
            0..=39 => self.hash_cmd(),
            40..=87 => self.ttl_cmd(),
            88..=95 => self.key_cmd(),
            96..=97 => {
                let c = self.ttl_cmd();
                self.malformed(c)
            }
            _ => self.wrong_arity_cmd(),
        }
    }

    /// MULTI, 1 to 5 commands, EXEC or DISCARD. Nothing in it converts a hash to
    /// hashtable encoding (see the determinism notes).
    fn multi_block(&mut self) -> Vec<Cmd> {
        let mut v = vec![self.cmd("MULTI", vec![])];
        for _ in 0..1 + self.below(5) {
            match self.below(100) {
                // Queue-time error: EXEC then answers EXECABORT.
                0..=7 => v.push(self.wrong_arity_cmd()),
                // Runtime WRONGTYPE inside EXEC.
                8..=14 => {
                    let val = self.hval();
                    v.push(self.cmd("SET", vec![b(STRING_KEY), val]));
                    let mut c = self.ttl_cmd();
                    c[1] = b(STRING_KEY);
                    v.push(c);
                }
                _ => v.push(self.simple()),
            }
        }
        let end = if self.chance(85) { "EXEC" } else { "DISCARD" };
        v.push(self.cmd(end, vec![]));
        v
    }

    /// Converts a hash to hashtable encoding: 130 fields, or one 70-byte value. Never
    /// inside MULTI.
    fn convert_seq(&mut self) -> Vec<Cmd> {
        let k = self.hash_key();
        let mut v = Vec::new();
        if self.chance(50) {
            let mut a = vec![k.clone()];
            for i in 0..130 {
                a.push(format!("g{i}").into_bytes());
                a.push(format!("{}", i * 7).into_bytes());
            }
            v.push(self.cmd("HSET", a));
        } else {
            let big: Vec<u8> = (0..70).map(|i| b'A' + (i % 26) as u8).collect();
            v.push(self.cmd("HSET", vec![k.clone(), b("fbig"), big]));
        }
        for _ in 0..self.below(3) {
            let mut c = self.ttl_cmd();
            c[1] = k.clone();
            v.push(c);
        }
        v.push(self.cmd("HGETALL", vec![k.clone()]));
        v.push(self.cmd("OBJECT", vec![b("ENCODING"), k]));
        v
    }

    /// A few TTL commands on one fresh small hash, then its content (exercises the
    /// listpackex order).
    fn order_seq(&mut self) -> Vec<Cmd> {
        let k = self.hash_key();
        let mut v = vec![self.cmd("DEL", vec![k.clone()])];
        let mut a = vec![k.clone()];
        for i in 0..3 + self.below(5) {
            a.push(format!("f{i}").into_bytes());
            a.push(self.hval());
        }
        v.push(self.cmd("HSET", a));
        for _ in 0..2 + self.below(4) {
            if self.chance(75) {
                let mut c = self.ttl_cmd();
                c[1] = k.clone();
                v.push(c);
            } else {
                let (f, val) = (format!("f{}", self.below(8)).into_bytes(), self.hval());
                v.push(self.cmd("HSET", vec![k.clone(), f, val]));
            }
        }
        v.push(self.cmd("HGETALL", vec![k.clone()]));
        v.push(self.cmd(
            "HPEXPIRETIME",
            vec![k, b("FIELDS"), b("2"), b("f0"), b("f1")],
        ));
        v
    }

    /// One step: a single command, a MULTI block or a short scripted sequence.
    fn step(&mut self) -> Vec<Cmd> {
        match self.below(1000) {
            0..=19 => self.multi_block(),
            20..=23 => self.convert_seq(),
            24..=43 => self.order_seq(),
            _ => vec![self.simple()],
        }
    }
}

// ---------------------------------------------------------------------------------------
// Normalization and final sweep (the runner is in tests/common/diff.rs)
// ---------------------------------------------------------------------------------------

/// True if `key` is hashtable-encoded in the reference (asked on its side connection).
fn is_hashtable(side: &mut Client, key: &[u8]) -> bool {
    let args: [&[u8]; 3] = [b"OBJECT", b"ENCODING", key];
    side.cmd_bytes(&args) == b"$9\r\nhashtable\r\n"
}

fn norm_of(cmd: &Cmd, side: &mut Client) -> Norm {
    let name = upper(&cmd[0]);
    let has = |w: &[u8]| cmd.iter().skip(2).any(|a| a.eq_ignore_ascii_case(w));
    match (name.as_slice(), cmd.len()) {
        (b"HTTL" | b"HEXPIRETIME", _) => Norm::Ttl(2),
        (b"HPTTL" | b"HPEXPIRETIME", _) => Norm::Ttl(2000),
        (b"KEYS", _) => Norm::Sorted { pairs: false },
        (b"HRANDFIELD", 2) => Norm::SomeBulk,
        (b"HRANDFIELD", 3 | 4) => Norm::Sorted {
            pairs: cmd.len() == 4,
        },
        (b"HGETALL" | b"HKEYS" | b"HVALS", 2) if is_hashtable(side, &cmd[1]) => Norm::Sorted {
            pairs: name == b"HGETALL",
        },
        (b"HSCAN", 3..) if is_hashtable(side, &cmd[1]) => {
            let count_1000 = cmd
                .windows(2)
                .any(|w| w[0].eq_ignore_ascii_case(b"COUNT") && w[1] == b"1000");
            if count_1000 {
                Norm::Scan {
                    pairs: !has(b"NOVALUES"),
                }
            } else {
                Norm::LenOnly
            }
        }
        _ => Norm::Exact,
    }
}

/// Compares every key: type, encoding, length, content, and every field's expire time.
fn final_sweep(diff: &mut Diff) {
    let c = |v: &[&[u8]]| -> Cmd { v.iter().map(|a| a.to_vec()).collect() };
    let mut names = bulk_items(&diff.run(0, &c(&[b"KEYS", b"*"])));
    names.sort();
    for k in names {
        let ty = diff.run(0, &c(&[b"TYPE", &k]));
        if ty == b"+hash\r\n" {
            diff.run(0, &c(&[b"OBJECT", b"ENCODING", &k]));
            diff.run(0, &c(&[b"HLEN", &k]));
            diff.run(0, &c(&[b"HGETALL", &k]));
            let mut fields = bulk_items(&diff.run(0, &c(&[b"HKEYS", &k])));
            fields.sort();
            let mut cmd = c(&[b"HPEXPIRETIME", &k, b"FIELDS"]);
            cmd.push(fields.len().to_string().into_bytes());
            cmd.extend(fields);
            diff.run(0, &cmd);
        }
        diff.run(0, &c(&[b"PTTL", &k]));
    }
    diff.run(0, &c(&[b"DBSIZE"]));
}

#[test]
fn hash_ttl_differential_against_redis8() {
    let Some(redis8) = common::redis8_bin() else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "tests/.redis8/redis-server not found, but CI is set: the hash TTL differential \
                 test must run in CI (scripts/setup-test-deps installs it)"
            );
        }
        eprintln!(
            "SKIPPED: Redis 8 not installed (run scripts/setup-redis8, or set REDIS8_SERVER)"
        );
        return;
    };
    let (seed, count, selfcheck) =
        diff::settings("hash_ttl_differential", DEFAULT_SEED, DEFAULT_COUNT);
    let started = Instant::now();

    let start8 = || {
        Server::start_redis_bin(&redis8, &[])
            .unwrap_or_else(|| panic!("{redis8} is installed but did not start"))
    };
    let reference = start8();
    let (test_srv, test_name) = if selfcheck {
        (start8(), "redis#2")
    } else {
        (Server::start(&[]), "ferrokv")
    };
    let mut side = reference.connect();
    let mut diff = Diff::new(
        "hash_ttl_differential",
        seed,
        count,
        &reference,
        &test_srv,
        test_name,
        Box::new(move |cmd: &Cmd| norm_of(cmd, &mut side)),
    );
    // Connection #1 switches to RESP3. Redis 8 lists its built-in vectorset module.
    diff.hello3(&["server", "version", "id", "modules"]);

    let mut g = Gen {
        rng: Rng::new(seed),
        now_secs: 0,
        ttl_seq: 0,
    };
    while diff.idx < count {
        g.now_secs = unix_secs();
        let ci = if diff.idx < count / 3 { 0 } else { g.below(2) };
        for cmd in g.step() {
            diff.run(ci, &cmd);
        }
    }
    diff.discard_open_multis();
    let generated = diff.idx;
    final_sweep(&mut diff);
    diff.finish();
    eprintln!(
        "hash_ttl_differential: {} commands ({} generated + final sweep) matched in {:.2?}",
        diff.idx,
        generated,
        started.elapsed()
    );
}
