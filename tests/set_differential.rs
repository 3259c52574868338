//! Differential test of the set commands: ferrokv against a real redis-server 7, reply bytes
//! compared.
//!
//! A deterministic PRNG (the xorshift64* of tests/common, seeded from `DIFF_SEED`) generates
//! `DIFF_COUNT` commands over a tiny key space: sets `s:0..s:5` (`s:0` and `s:1` hold mostly
//! integers, so they stay intsets and now and then pass 512 members), destinations `d:0`,
//! `d:1`, the string `k:0` for WRONGTYPE, and `missing`, which no command creates. Every
//! set command is generated, valid and invalid: wrong arity, bad counts, cursors and
//! options, SINTERCARD's numkeys and LIMIT, non-canonical integers as members, members of
//! every intset width, empty and 70-byte members, and a few MULTI/EXEC blocks.
//!
//! Each server gets two connections: #0 speaks RESP2, #1 sends `HELLO 3` first and then
//! speaks RESP3. The first third of the run uses #0 only; after that each step goes to a
//! randomly chosen connection. A final sweep compares every key: type, encoding, size,
//! members.
//!
//! Normalized replies (everything else must match byte for byte). Redis 7.0 keeps every
//! set that is not an intset in a hash table, whose order is its own; ferrokv keeps small
//! ones in a listpack (Redis 7.2's encoding), in insertion order. So:
//! - `OBJECT ENCODING` of a set: where Redis says `hashtable`, `listpack` is accepted too.
//!   Redis 7.0 and ferrokv leave and enter the intset encoding at the same moments (no
//!   SADD here has more than 512 members, so Redis 7.2's size hint agrees with 7.0).
//! - `SMEMBERS`, `SRANDMEMBER` with a count covering the set, `SSCAN` (always `COUNT
//!   100000`, so one call returns everything): exact when the key is an intset in Redis (asked on a
//!   side connection just before), else compared as sorted sets (SSCAN: cursor exact).
//! - `SINTER`: exact when every key is an intset in Redis (both iterate the smallest,
//!   in numeric order), else sorted.
//! - `SUNION`, `SDIFF` and `SPOP` of a whole set: Redis builds the result as a new set that
//!   starts as an intset, and so does ferrokv. Exact when that result is an intset (asked
//!   by storing the same operation in a scratch key on the side connection), else sorted.
//! - `SRANDMEMBER` / `SPOP` without count: only "nil" vs "some member"; SRANDMEMBER with
//!   a smaller count: only the reply type and length.
//! - `KEYS *` (final sweep): sorted.
//! - `EXEC`: each element normalized like the queued command it answers.
//!
//! Determinism: SPOP removes random members, which would make the two servers diverge, so
//! it is only generated where the outcome is certain: a count of 0 or one that covers the
//! set, or no count on a set of one member (asked on the side connection), or on a
//! missing or wrong-type key. Its random cases are tested in tests/set.rs and
//! tests/set_model.rs.
//!
//! Environment:
//! - `DIFF_SEED` (decimal or 0x-hex u64), `DIFF_COUNT` (number of commands, default 5000).
//! - `DIFF_MAX_FAILS=n`: report up to n mismatches (on stderr) before failing.
//! - `DIFF_SELFCHECK=1`: compare two redis-servers against each other instead, to check
//!   that the normalizations above remove all nondeterminism.
//! - If `redis-server` is not on PATH the test is skipped, unless `CI` is set.

mod common;

use common::diff::{self, Cmd, Diff, Norm, b, bulk_items, upper};
use common::{Client, Rng, Server};
use std::time::Instant;

const DEFAULT_SEED: u64 = 0x5E75_D1FF;
const DEFAULT_COUNT: usize = 5000;

const INTS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "5",
    "7",
    "-1",
    "-7",
    "42",
    "100",
    "1000",
    "-32768",
    "32767",
    "32768",
    "-32769",
    "65536",
    "2147483647",
    "-2147483648",
    "2147483648",
    "9223372036854775807",
    "-9223372036854775808",
];
/// Look like integers, but are strings to Redis.
const NOT_INTS: &[&str] = &["01", "-0", "+1", " 1", "1 ", "9223372036854775808", "1.5"];
const STRINGS: &[&str] = &["a", "b", "c", "d", "e", "hello", "x:1", "", "set member"];
const PATTERNS: &[&str] = &["*", "1*", "?", "[a-c]", "*e*", "-*", "nomatch"];

struct Gen {
    rng: Rng,
    /// A connection to the reference, to ask sizes for deterministic SPOPs.
    probe: Client,
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

    fn cmd(&mut self, name: &str, args: Vec<Vec<u8>>) -> Cmd {
        let mut v = vec![diff::cased(name, self.below(20))];
        v.extend(args);
        v
    }

    /// A key: mostly sets, sometimes the string or the missing key.
    fn key(&mut self) -> Vec<u8> {
        match self.below(100) {
            0..=79 => format!("s:{}", self.below(6)).into_bytes(),
            80..=87 => format!("d:{}", self.below(2)).into_bytes(),
            88..=93 => b("k:0"),
            _ => b("missing"),
        }
    }

    /// A key a write may create.
    fn wkey(&mut self) -> Vec<u8> {
        match self.below(100) {
            0..=84 => format!("s:{}", self.below(6)).into_bytes(),
            85..=96 => format!("d:{}", self.below(2)).into_bytes(),
            _ => b("k:0"),
        }
    }

    fn member_for(&mut self, key: &[u8]) -> Vec<u8> {
        let ints_only = key == b"s:0" || key == b"s:1";
        let r = self.below(100);
        if ints_only && r < 93 || r < 45 {
            if self.chance(60) {
                b(self.pick(INTS))
            } else {
                self.below(700).to_string().into_bytes()
            }
        } else if r < 55 {
            b(self.pick(NOT_INTS))
        } else if r < 97 {
            b(self.pick(STRINGS))
        } else {
            vec![b'L'; 70]
        }
    }

    fn members_for(&mut self, key: &[u8], max: usize) -> Vec<Vec<u8>> {
        let n = 1 + self.below(max);
        (0..n).map(|_| self.member_for(key)).collect()
    }

    fn keys(&mut self, max: usize) -> Vec<Vec<u8>> {
        let n = 1 + self.below(max);
        (0..n).map(|_| self.key()).collect()
    }

    fn card(&mut self, key: &[u8]) -> Option<i64> {
        let r = self.probe.cmd_bytes(&[b"SCARD", key]);
        diff::int_of(&r)
    }

    fn spop(&mut self) -> Cmd {
        let k = self.key();
        match self.below(4) {
            0 => self.cmd("SPOP", vec![k, b"0".to_vec()]),
            1 => self.cmd("SPOP", vec![k, b"100000".to_vec()]),
            2 => {
                // One member left: no choice to make.
                let k = if self.card(&k) == Some(1) {
                    k
                } else {
                    b("missing")
                };
                self.cmd("SPOP", vec![k])
            }
            _ => {
                let bad = self.pick(&["-1", "x", "1.5", "99999999999999999999"]);
                self.cmd("SPOP", vec![k, b(bad)])
            }
        }
    }

    fn srandmember(&mut self) -> Cmd {
        let k = self.key();
        let count = match self.below(8) {
            0 => return self.cmd("SRANDMEMBER", vec![k]),
            1 => "100000",
            2 => "0",
            3 => "-5",
            4 => "3",
            5 => "1",
            6 => self.pick(&["x", "-9223372036854775808", "9223372036854775807", "1.5"]),
            _ => return self.cmd("SRANDMEMBER", vec![k, b("1"), b("2")]),
        };
        self.cmd("SRANDMEMBER", vec![k, b(count)])
    }

    fn sintercard(&mut self) -> Cmd {
        let keys = self.keys(3);
        let mut args = vec![keys.len().to_string().into_bytes()];
        args.extend(keys);
        match self.below(10) {
            0 => args[0] = b(self.pick(&["0", "-1", "x", "9"])),
            1..=3 => {
                args.push(diff::cased("LIMIT", self.below(20)));
                args.push(b(self.pick(&["0", "1", "2", "-1", "x"])));
            }
            4 => args.push(b("LIMIT")),
            5 => args.push(b("FOO")),
            _ => {}
        }
        self.cmd("SINTERCARD", args)
    }

    fn sscan(&mut self) -> Cmd {
        let k = self.key();
        if self.chance(10) {
            let bad = match self.below(4) {
                0 => vec![b("x")],
                1 => vec![b("0"), b("NOVALUES")],
                2 => vec![b("0"), b("COUNT"), b("0")],
                _ => vec![b("0"), b("TYPE"), b("set")],
            };
            let mut args = vec![k];
            args.extend(bad);
            return self.cmd("SSCAN", args);
        }
        let mut args = vec![k, b("0")];
        if self.chance(40) {
            args.push(diff::cased("MATCH", self.below(20)));
            args.push(b(self.pick(PATTERNS)));
        }
        args.push(diff::cased("COUNT", self.below(20)));
        args.push(b("100000"));
        self.cmd("SSCAN", args)
    }

    fn wrong_arity(&mut self) -> Cmd {
        let (name, n) = self.pick(&[
            ("SADD", 1),
            ("SREM", 1),
            ("SPOP", 0),
            ("SMEMBERS", 0),
            ("SMEMBERS", 2),
            ("SISMEMBER", 1),
            ("SISMEMBER", 3),
            ("SMISMEMBER", 1),
            ("SCARD", 0),
            ("SMOVE", 2),
            ("SMOVE", 4),
            ("SINTER", 0),
            ("SINTERCARD", 1),
            ("SUNION", 0),
            ("SDIFF", 0),
            ("SINTERSTORE", 1),
            ("SUNIONSTORE", 1),
            ("SDIFFSTORE", 1),
            ("SSCAN", 1),
            ("SRANDMEMBER", 0),
        ]);
        let args = (0..n).map(|i| format!("s:{i}").into_bytes()).collect();
        self.cmd(name, args)
    }

    /// A command whose reply is deterministic as is (safe inside MULTI).
    fn plain(&mut self) -> Cmd {
        match self.below(14) {
            0..=3 => {
                let k = self.wkey();
                let mut args = vec![k.clone()];
                args.extend(self.members_for(&k, 6));
                self.cmd("SADD", args)
            }
            4 | 5 => {
                let k = self.key();
                let mut args = vec![k.clone()];
                args.extend(self.members_for(&k, 4));
                self.cmd("SREM", args)
            }
            6 => {
                let k = self.key();
                self.cmd("SCARD", vec![k])
            }
            7 => {
                let k = self.key();
                let m = self.member_for(&k);
                self.cmd("SISMEMBER", vec![k, m])
            }
            8 => {
                let k = self.key();
                let mut args = vec![k.clone()];
                args.extend(self.members_for(&k, 4));
                self.cmd("SMISMEMBER", args)
            }
            9 => {
                let (src, dst) = (self.key(), self.wkey());
                let m = self.member_for(&src);
                self.cmd("SMOVE", vec![src, dst, m])
            }
            10 => self.sintercard(),
            11 => {
                let name = self.pick(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]);
                let mut args = vec![self.wkey()];
                args.extend(self.keys(3));
                self.cmd(name, args)
            }
            12 => self.wrong_arity(),
            _ => {
                let k = self.key();
                self.cmd("EXISTS", vec![k])
            }
        }
    }

    fn simple(&mut self) -> Cmd {
        match self.below(30) {
            0..=11 => self.plain(),
            12 | 13 => {
                let k = self.key();
                self.cmd("SMEMBERS", vec![k])
            }
            14 | 15 => {
                let name = self.pick(&["SINTER", "SUNION", "SDIFF"]);
                let keys = self.keys(3);
                self.cmd(name, keys)
            }
            16 => self.spop(),
            17 => self.srandmember(),
            18 => self.sscan(),
            19 => {
                let k = self.key();
                self.cmd("OBJECT", vec![b("ENCODING"), k])
            }
            20 => {
                let k = self.key();
                self.cmd("TYPE", vec![k])
            }
            21 => {
                let k = self.key();
                self.cmd("DEL", vec![k])
            }
            22 => self.cmd("SET", vec![b("k:0"), b("v")]),
            _ => self.plain(),
        }
    }

    fn multi_block(&mut self) -> Vec<Cmd> {
        let mut v = vec![vec![b("MULTI")]];
        for _ in 0..1 + self.below(4) {
            v.push(self.plain());
        }
        v.push(vec![b(if self.chance(85) { "EXEC" } else { "DISCARD" })]);
        v
    }

    /// Grows an integer set past 512 members (an intset becomes a hash table).
    fn grow_seq(&mut self) -> Vec<Cmd> {
        let k = format!("s:{}", self.below(2)).into_bytes();
        (0..6)
            .map(|_| {
                let mut args = vec![k.clone()];
                args.extend((0..100).map(|_| self.below(3000).to_string().into_bytes()));
                self.cmd("SADD", args)
            })
            .collect()
    }

    /// Grows a string set past 128 members, or shrinks one.
    fn strings_seq(&mut self) -> Vec<Cmd> {
        let k = format!("s:{}", 2 + self.below(4)).into_bytes();
        let verb = if self.chance(70) { "SADD" } else { "SREM" };
        (0..2)
            .map(|_| {
                let mut args = vec![k.clone()];
                args.extend((0..90).map(|_| format!("m{}", self.below(300)).into_bytes()));
                self.cmd(verb, args)
            })
            .collect()
    }

    fn step(&mut self) -> Vec<Cmd> {
        match self.below(1000) {
            0..=24 => self.multi_block(),
            25..=27 => self.grow_seq(),
            28..=37 => self.strings_seq(),
            _ => vec![self.simple()],
        }
    }
}

/// OBJECT ENCODING of `key` in the reference.
fn encoding_of(side: &mut Client, key: &[u8]) -> Vec<u8> {
    let r = side.cmd_bytes(&[b"OBJECT", b"ENCODING", key]);
    diff::bulk_payload(&diff::parse_all(&r).unwrap()).unwrap_or_default()
}

fn is_intset(side: &mut Client, key: &[u8]) -> bool {
    encoding_of(side, key) == b"intset"
}

/// True if the result of SUNION / SDIFF over `keys` is an intset in the reference: the
/// same operation stored into a scratch key, looked at, removed.
fn result_is_intset(side: &mut Client, op: &[u8], keys: &[Vec<u8>]) -> bool {
    let mut args: Vec<&[u8]> = vec![op, b"__probe"];
    args.extend(keys.iter().map(|k| k.as_slice()));
    side.cmd_bytes(&args);
    let intset = is_intset(side, b"__probe");
    side.cmd_bytes(&[b"DEL", b"__probe"]);
    intset
}

fn norm_of(cmd: &Cmd, side: &mut Client) -> Norm {
    let name = upper(&cmd[0]);
    let sorted = Norm::Sorted { pairs: false };
    let exact_if = |x: bool| {
        if x {
            Norm::Exact
        } else {
            Norm::Sorted { pairs: false }
        }
    };
    match (name.as_slice(), cmd.len()) {
        (b"KEYS", _) => sorted,
        (b"OBJECT", 3) => Norm::SetEncoding,
        (b"SMEMBERS", 2) => exact_if(is_intset(side, &cmd[1])),
        (b"SINTER", 2..) => exact_if(cmd[1..].iter().all(|k| is_intset(side, k))),
        (b"SUNION", 2..) => exact_if(result_is_intset(side, b"SUNIONSTORE", &cmd[1..])),
        (b"SDIFF", 2..) => exact_if(result_is_intset(side, b"SDIFFSTORE", &cmd[1..])),
        (b"SPOP", 2) => Norm::SomeBulk,
        (b"SPOP", 3) => exact_if(result_is_intset(side, b"SUNIONSTORE", &cmd[1..2])),
        (b"SRANDMEMBER", 2) => Norm::SomeBulk,
        (b"SRANDMEMBER", 3) => match &cmd[2][..] {
            b"100000" => exact_if(is_intset(side, &cmd[1])),
            b"0" => Norm::Exact,
            _ => Norm::LenOnly,
        },
        (b"SSCAN", 3..) => {
            if is_intset(side, &cmd[1]) {
                Norm::Exact
            } else {
                Norm::Scan { pairs: false }
            }
        }
        _ => Norm::Exact,
    }
}

/// Compares every key: type, encoding, size, members.
fn final_sweep(diff: &mut Diff) {
    let c = |v: &[&[u8]]| -> Cmd { v.iter().map(|a| a.to_vec()).collect() };
    let mut names = bulk_items(&diff.run(0, &c(&[b"KEYS", b"*"])));
    names.sort();
    for k in names {
        let ty = diff.run(0, &c(&[b"TYPE", &k]));
        if ty == b"+set\r\n" {
            diff.run(0, &c(&[b"OBJECT", b"ENCODING", &k]));
            diff.run(0, &c(&[b"SCARD", &k]));
            diff.run(0, &c(&[b"SMEMBERS", &k]));
        }
    }
    diff.run(0, &c(&[b"DBSIZE"]));
}

#[test]
fn set_differential_against_redis7() {
    if common::which("redis-server").is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server not found, but CI is set: this test must run in CI"
        );
        eprintln!("SKIPPED: redis-server not found");
        return;
    }
    let (seed, count, selfcheck) = diff::settings("set_differential", DEFAULT_SEED, DEFAULT_COUNT);
    let started = Instant::now();
    let start7 = || Server::start_redis().expect("redis-server is installed but did not start");
    let reference = start7();
    let (test_srv, test_name) = if selfcheck {
        (start7(), "redis#2")
    } else {
        (Server::start(&["--appendonly", "no"]), "ferrokv")
    };
    let mut side = reference.connect();
    let mut diff = Diff::new(
        "set_differential",
        seed,
        count,
        &reference,
        &test_srv,
        test_name,
        Box::new(move |cmd: &Cmd| norm_of(cmd, &mut side)),
    );
    diff.hello3(&["server", "version", "id"]);
    let mut g = Gen {
        rng: Rng::new(seed),
        probe: reference.connect(),
    };
    while diff.idx < count {
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
        "set_differential: {} commands ({} generated + final sweep) matched in {:.2?}",
        diff.idx,
        generated,
        started.elapsed()
    );
}
