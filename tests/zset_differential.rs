//! Differential test of sorted sets: ferrokv against a real redis-server 7, reply bytes
//! compared.
//!
//! A deterministic PRNG (the xorshift64* of tests/common, seeded from `DIFF_SEED`) generates
//! `DIFF_COUNT` commands over a tiny key space: sorted sets `z:0..z:4` with any scores,
//! "lex" sorted sets `l:0..l:1` whose scores are always 0, the string `s:0` (WRONGTYPE) and
//! `missing`, which no command creates. Every sorted set command is generated, valid and
//! invalid: every ZADD option combination (conflicting ones included), scores that are
//! integers, decimals, `inf`/`-inf`/`+inf`, `-0`, subnormals, hex floats, huge values and
//! invalid texts (`nan`, `1e400`, leading space); increments that produce NaN; members that
//! tie on score (ordered by member), empty, integer-like, binary; score ranges with `(`,
//! `-inf`/`+inf`, empty and bad bounds; lex ranges with `[`, `(`, `-`, `+` and bad items;
//! ranks and LIMITs of every sign; WEIGHTS / AGGREGATE / WITHSCORES; bad numkeys, COUNTs
//! and cursors. Plus DEL, EXISTS, TYPE, OBJECT ENCODING, PEXPIRE / PTTL (a STORE command
//! drops the destination's deadline) and MULTI/EXEC blocks.
//!
//! Each server gets two connections: #0 speaks RESP2, #1 RESP3 (scores become doubles,
//! WITHSCORES replies pairs). The first third of the run uses #0 only. At the end every key
//! is compared: type, encoding, length, ZRANGE 0 -1 WITHSCORES, PTTL.
//!
//! Sets stay small (fewer than 40 members of at most 12 bytes) so both servers keep them
//! as listpacks, except when a scripted step adds 130 members or a 70-byte member to one
//! (conversion to skiplist), or a STORE command builds a big result. Order is
//! deterministic in both encodings (score, then member), so ranges are compared exactly.
//!
//! Normalized replies:
//! - `ZSCAN` on a skiplist key (asked on a side connection): generated with `COUNT 1000`,
//!   which returns everything in one call: cursor exact, pairs sorted. On a listpack: exact.
//! - `ZRANDMEMBER`: without count, only "nil" vs "some member"; with a count of 1000 (the
//!   whole set, which Redis lists from the highest score down) exact; other counts: reply
//!   type and length.
//! - `PTTL`: within 2000 ms. `EXEC`: each element like the command it answers.
//!
//! Determinism notes:
//! - Lex range commands (ZRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX, BYLEX) go to `l:*` keys,
//!   or to a `z:*` key the reference holds as a listpack (where Redis scans linearly, and
//!   mixed scores give a defined answer ferrokv reproduces). On a skiplist with mixed
//!   scores Redis's answer depends on its random node levels.
//! - Nothing is inside MULTI that would need a side-connection check (no ZSCAN, no lex
//!   command on `z:*`).
//!
//! Environment: `DIFF_SEED`, `DIFF_COUNT` (default 6000), `DIFF_MAX_FAILS`,
//! `DIFF_SELFCHECK=1` (redis against redis). Skipped without `redis-server` on PATH, unless
//! `CI` is set (then it fails).

mod common;

use common::diff::{self, Cmd, Diff, Norm, b, bulk_items, upper};
use common::{Client, Rng, Server};
use std::time::Instant;

const DEFAULT_SEED: u64 = 0x25E7_5EED;
const DEFAULT_COUNT: usize = 6000;

const SCORES: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "10",
    "0.5",
    "1.5",
    "-2.25",
    "0.1",
    "1e300",
    "-1e300",
    "1.5e-7",
    "inf",
    "-inf",
    "+inf",
    "-0",
    "1e-310",
    "0x10",
    "9007199254740993",
    "123456789012345.125",
    "2.5e15",
    "1e17",
    "3.0",
    "1.",
    ".5",
];
const BAD_SCORES: &[&str] = &[
    "nan", "abc", "", " 1", "1e400", "1 ", "-nan", "1e", "0x", "1e-400",
];
const BOUNDS: &[&str] = &[
    "-inf", "+inf", "inf", "0", "1", "(1", "2.5", "(0", "-1", "(-inf", "(+inf", "1e300", "(1e300",
    "", "(", " 5", "0x10", "1e400", "3", "(3", "0.1", "(0.5",
];
const BAD_BOUNDS: &[&str] = &["nan", "abc", "(nan", "1 ", "((1", "1e"];
const LEX: &[&str] = &[
    "-", "+", "[a", "(a", "[m5", "(m", "[", "(", "[c", "(d", "[m0", "(m9", "[\u{7f}", "[1", "(007",
];
const BAD_LEX: &[&str] = &["a", "", "+x", "-x", "]a", "m"];
const RANKS: &[&str] = &[
    "0", "-1", "1", "2", "-2", "5", "-100", "100", "3", "-3", "10",
];
const BAD_INTS: &[&str] = &["abc", "", "1.5", "9223372036854775808", " 1"];
const OFFSETS: &[&str] = &["0", "1", "2", "-1", "5", "0", "0"];
const COUNTS: &[&str] = &["-1", "0", "1", "2", "5", "-5", "3", "100"];
const WEIGHTS: &[&str] = &["1", "2", "0", "-1", "0.5", "inf", "-inf", "3"];

struct Gen {
    rng: Rng,
    /// A connection to the reference, to ask a key's encoding (lex commands).
    side: Client,
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
    fn name(&mut self, n: &str) -> Vec<u8> {
        diff::cased(n, self.below(20))
    }
    fn cmd(&mut self, name: &str, args: Vec<Vec<u8>>) -> Cmd {
        let mut v = vec![self.name(name)];
        v.extend(args);
        v
    }

    fn zkey(&mut self) -> Vec<u8> {
        format!("z:{}", self.below(5)).into_bytes()
    }
    fn lkey(&mut self) -> Vec<u8> {
        format!("l:{}", self.below(2)).into_bytes()
    }
    /// Key of a command that reads or changes a set (never creates `missing`).
    fn key(&mut self) -> Vec<u8> {
        match self.below(100) {
            0..=74 => self.zkey(),
            75..=86 => self.lkey(),
            87..=93 => b("s:0"),
            _ => b("missing"),
        }
    }
    /// Key of a command that may create it.
    fn wkey(&mut self) -> Vec<u8> {
        match self.below(100) {
            0..=79 => self.zkey(),
            80..=94 => self.lkey(),
            _ => b("s:0"),
        }
    }
    /// A destination of a STORE command: never a lex key (results have any score).
    fn dkey(&mut self) -> Vec<u8> {
        if self.chance(93) {
            self.zkey()
        } else {
            b("s:0")
        }
    }
    /// A key for a lex range command: a lex key, or another key that is not a skiplist now
    /// (a listpack, a string, missing).
    fn lex_key(&mut self, in_multi: bool) -> Vec<u8> {
        if !in_multi && self.chance(60) {
            let k = match self.below(10) {
                0 => b("s:0"),
                1 => b("missing"),
                _ => self.zkey(),
            };
            if !is_skiplist(&mut self.side, &k) {
                return k;
            }
        }
        self.lkey()
    }

    fn member(&mut self) -> Vec<u8> {
        let r = self.below(100);
        if r < 45 {
            b(self.pick(&["a", "b", "c", "d", "e", "f", "g", "h"]))
        } else if r < 80 {
            format!("m{}", self.below(10)).into_bytes()
        } else {
            match self.below(9) {
                0 => b(""),
                1 => b("1"),
                2 => b("-5"),
                3 => b("007"),
                4 => b("10"),
                5 => b("x y"),
                6 => b"\x00\xff".to_vec(),
                7 => b("caf\u{e9}"),
                _ => b("A"),
            }
        }
    }
    fn score(&mut self) -> Vec<u8> {
        if self.chance(5) {
            self.pickb(BAD_SCORES)
        } else {
            self.pickb(SCORES)
        }
    }
    fn bound(&mut self) -> Vec<u8> {
        if self.chance(5) {
            self.pickb(BAD_BOUNDS)
        } else {
            self.pickb(BOUNDS)
        }
    }
    fn lex(&mut self) -> Vec<u8> {
        if self.chance(5) {
            self.pickb(BAD_LEX)
        } else {
            self.pickb(LEX)
        }
    }
    fn rank(&mut self) -> Vec<u8> {
        if self.chance(4) {
            self.pickb(BAD_INTS)
        } else {
            self.pickb(RANKS)
        }
    }
    fn limit(&mut self, v: &mut Vec<Vec<u8>>) {
        v.push(self.name("LIMIT"));
        if self.chance(4) {
            v.push(self.pickb(BAD_INTS));
        } else {
            v.push(self.pickb(OFFSETS));
        }
        v.push(self.pickb(COUNTS));
    }

    fn zadd(&mut self) -> Cmd {
        let k = self.wkey();
        let lex = k.starts_with(b"l:");
        let mut a = vec![k];
        let opts = ["NX", "XX", "GT", "LT", "CH", "INCR"];
        if self.chance(45) {
            for _ in 0..1 + self.below(2) {
                let o = self.pick(&opts);
                // Conflicts now and then.
                if self.chance(70)
                    && ["NX", "XX", "GT", "LT"].contains(&o)
                    && a.iter().skip(1).any(|x| {
                        ["NX", "XX", "GT", "LT"]
                            .iter()
                            .any(|c| x.eq_ignore_ascii_case(c.as_bytes()))
                    })
                {
                    continue;
                }
                a.push(self.name(o));
            }
        }
        let incr = a.iter().any(|x| x.eq_ignore_ascii_case(b"INCR"));
        let n = if incr && self.chance(90) {
            1
        } else {
            1 + self.below(4)
        };
        for _ in 0..n {
            let s = if lex { b("0") } else { self.score() };
            a.push(s);
            a.push(self.member());
        }
        if self.chance(3) {
            a.pop(); // odd number of arguments
        }
        self.cmd("ZADD", a)
    }

    fn range_cmd(&mut self) -> Cmd {
        match self.below(10) {
            0..=3 => {
                // ZRANGE with options.
                let mode = self.below(3);
                let k = if mode == 2 {
                    self.lex_key(false)
                } else {
                    self.key()
                };
                let mut a = vec![k];
                match mode {
                    0 => {
                        a.push(self.rank());
                        a.push(self.rank());
                    }
                    1 => {
                        a.push(self.bound());
                        a.push(self.bound());
                        a.push(self.name("BYSCORE"));
                    }
                    _ => {
                        a.push(self.lex());
                        a.push(self.lex());
                        a.push(self.name("BYLEX"));
                    }
                }
                if self.chance(40) {
                    a.push(self.name("REV"));
                }
                if self.chance(30) || (mode == 0 && self.chance(5)) {
                    self.limit(&mut a);
                }
                if self.chance(mode.min(1) * 50 + if mode == 2 { 3 } else { 0 }) {
                    a.push(self.name("WITHSCORES"));
                }
                if self.chance(5) {
                    let x = self.pick(&["BYSCORE", "BYLEX", "REV", "WITHSCORES", "FOO", "LIMIT"]);
                    let at = 3 + self.below(a.len() - 2);
                    a.insert(at.min(a.len()), b(x));
                }
                self.cmd("ZRANGE", a)
            }
            4 => {
                let k = self.key();
                let (s, e) = (self.rank(), self.rank());
                let mut a = vec![k, s, e];
                if self.chance(50) {
                    a.push(self.name("WITHSCORES"));
                }
                if self.chance(5) {
                    a.push(b("FOO"));
                }
                self.cmd("ZREVRANGE", a)
            }
            5 | 6 => {
                let name = if self.chance(50) {
                    "ZRANGEBYSCORE"
                } else {
                    "ZREVRANGEBYSCORE"
                };
                let k = self.key();
                let (x, y) = (self.bound(), self.bound());
                let mut a = vec![k, x, y];
                if self.chance(50) {
                    a.push(self.name("WITHSCORES"));
                }
                if self.chance(35) {
                    self.limit(&mut a);
                }
                if self.chance(4) {
                    a.push(b("REV"));
                }
                self.cmd(name, a)
            }
            _ => {
                let name = if self.chance(50) {
                    "ZRANGEBYLEX"
                } else {
                    "ZREVRANGEBYLEX"
                };
                let k = self.lex_key(false);
                let (x, y) = (self.lex(), self.lex());
                let mut a = vec![k, x, y];
                if self.chance(35) {
                    self.limit(&mut a);
                }
                if self.chance(4) {
                    a.push(self.name("WITHSCORES"));
                }
                self.cmd(name, a)
            }
        }
    }

    fn zrangestore(&mut self) -> Cmd {
        let mode = self.below(3);
        let src = if mode == 2 {
            self.lex_key(false)
        } else {
            self.key()
        };
        // A lex source keeps its zero scores: it may go to a lex key.
        let dst = if mode == 2 && src.starts_with(b"l:") && self.chance(50) {
            self.lkey()
        } else {
            self.dkey()
        };
        let mut a = vec![dst, src];
        match mode {
            0 => {
                a.push(self.rank());
                a.push(self.rank());
            }
            1 => {
                a.push(self.bound());
                a.push(self.bound());
                a.push(self.name("BYSCORE"));
            }
            _ => {
                a.push(self.lex());
                a.push(self.lex());
                a.push(self.name("BYLEX"));
            }
        }
        if self.chance(40) {
            a.push(self.name("REV"));
        }
        if mode > 0 && self.chance(30) {
            self.limit(&mut a);
        }
        if self.chance(4) {
            a.push(b("WITHSCORES"));
        }
        self.cmd("ZRANGESTORE", a)
    }

    fn setop(&mut self) -> Cmd {
        let (name, store, kind) = self.pick(&[
            ("ZUNION", false, 0),
            ("ZINTER", false, 1),
            ("ZDIFF", false, 2),
            ("ZUNIONSTORE", true, 0),
            ("ZINTERSTORE", true, 1),
            ("ZDIFFSTORE", true, 2),
            ("ZINTERCARD", false, 3),
        ]);
        let mut a = Vec::new();
        if store {
            a.push(self.dkey());
        }
        let n = 1 + self.below(3);
        let numkeys = match self.below(100) {
            0..=2 => b("0"),
            3..=4 => (n + 1).to_string().into_bytes(),
            5 => b("abc"),
            6 => b("-1"),
            _ => n.to_string().into_bytes(),
        };
        a.push(numkeys);
        for _ in 0..n {
            let k = if self.chance(8) {
                self.key()
            } else if self.chance(80) {
                self.zkey()
            } else {
                self.lkey()
            };
            a.push(k);
        }
        if kind < 2 && self.chance(30) {
            a.push(self.name("WEIGHTS"));
            let m = if self.chance(90) { n } else { n + 1 };
            for _ in 0..m {
                let w = if self.chance(5) {
                    b("abc")
                } else {
                    self.pickb(WEIGHTS)
                };
                a.push(w);
            }
        }
        if kind < 2 && self.chance(30) {
            a.push(self.name("AGGREGATE"));
            let x = self.pick(&["SUM", "MIN", "MAX", "min", "AVG"]);
            a.push(b(x));
        }
        if !store && kind < 3 && self.chance(50) {
            a.push(self.name("WITHSCORES"));
        }
        if kind == 3 && self.chance(40) {
            a.push(self.name("LIMIT"));
            let x = self.pick(&["0", "1", "2", "-1", "abc", "100"]);
            a.push(b(x));
        }
        if self.chance(4) {
            let x = self.pick(&["WITHSCORES", "LIMIT", "WEIGHTS", "FOO"]);
            a.push(b(x));
        }
        self.cmd(name, a)
    }

    fn simple(&mut self, in_multi: bool) -> Cmd {
        match self.below(1000) {
            0..=219 => self.zadd(),
            220..=269 => {
                let k = self.wkey();
                let inc = if k.starts_with(b"l:") {
                    b("0")
                } else {
                    self.score()
                };
                let m = self.member();
                let mut a = vec![k, inc, m];
                if self.chance(3) {
                    a[1] = self.pickb(&["NX", "INCR", "XX"]);
                }
                self.cmd("ZINCRBY", a)
            }
            270..=319 => {
                let k = self.key();
                let mut a = vec![k];
                for _ in 0..1 + self.below(3) {
                    a.push(self.member());
                }
                self.cmd("ZREM", a)
            }
            320..=369 => {
                let k = self.key();
                let m = self.member();
                if self.chance(50) {
                    self.cmd("ZSCORE", vec![k, m])
                } else {
                    let mut a = vec![k, m];
                    for _ in 0..self.below(3) {
                        a.push(self.member());
                    }
                    self.cmd("ZMSCORE", a)
                }
            }
            370..=389 => {
                let k = self.key();
                self.cmd("ZCARD", vec![k])
            }
            390..=429 => {
                let k = self.key();
                let (x, y) = (self.bound(), self.bound());
                self.cmd("ZCOUNT", vec![k, x, y])
            }
            430..=454 => {
                let k = self.lex_key(in_multi);
                let (x, y) = (self.lex(), self.lex());
                self.cmd("ZLEXCOUNT", vec![k, x, y])
            }
            455..=494 => {
                let name = if self.chance(50) { "ZRANK" } else { "ZREVRANK" };
                let k = self.key();
                let m = self.member();
                self.cmd(name, vec![k, m])
            }
            495..=639 => {
                if in_multi {
                    // No lex key probing inside MULTI.
                    let k = self.key();
                    let (s, e) = (self.rank(), self.rank());
                    return self.cmd("ZRANGE", vec![k, s, e, b("WITHSCORES")]);
                }
                self.range_cmd()
            }
            640..=664 if !in_multi => self.zrangestore(),
            665..=704 => {
                let k = self.key();
                match self.below(3) {
                    0 => {
                        let (s, e) = (self.rank(), self.rank());
                        self.cmd("ZREMRANGEBYRANK", vec![k, s, e])
                    }
                    1 => {
                        let (x, y) = (self.bound(), self.bound());
                        self.cmd("ZREMRANGEBYSCORE", vec![k, x, y])
                    }
                    _ => {
                        let k = if in_multi {
                            self.lkey()
                        } else {
                            self.lex_key(false)
                        };
                        let (x, y) = (self.lex(), self.lex());
                        self.cmd("ZREMRANGEBYLEX", vec![k, x, y])
                    }
                }
            }
            705..=744 => {
                let name = if self.chance(50) {
                    "ZPOPMIN"
                } else {
                    "ZPOPMAX"
                };
                let k = self.key();
                let mut a = vec![k];
                if self.chance(60) {
                    let c = self.pick(&["1", "2", "0", "5", "-1", "abc", "100"]);
                    a.push(b(c));
                }
                if self.chance(3) {
                    a.push(b("1"));
                }
                self.cmd(name, a)
            }
            745..=769 => {
                let n = 1 + self.below(3);
                let mut a = vec![match self.below(20) {
                    0 => b("0"),
                    1 => b("abc"),
                    2 => (n + 3).to_string().into_bytes(),
                    _ => n.to_string().into_bytes(),
                }];
                for _ in 0..n {
                    a.push(self.key());
                }
                let w = self.pick(&["MIN", "MAX", "min", "max", "MID"]);
                a.push(b(w));
                if self.chance(50) {
                    a.push(self.name("COUNT"));
                    let c = self.pick(&["1", "2", "3", "0", "-1", "abc", "100"]);
                    a.push(b(c));
                }
                if self.chance(4) {
                    a.push(self.name("COUNT"));
                }
                self.cmd("ZMPOP", a)
            }
            770..=794 => {
                let k = self.key();
                let mut a = vec![k];
                match self.below(10) {
                    0..=2 => {}
                    3..=5 => a.push(b("1000")),
                    6 => a.push(b("0")),
                    7 => {
                        let c = self.pick(&["-3", "2", "1", "-1"]);
                        a.push(b(c));
                    }
                    8 => {
                        // Huge counts only where the range check refuses them (Redis would
                        // build the reply).
                        let c = self.pick(&[
                            "abc",
                            "-9223372036854775808",
                            "-4611686018427387904",
                            "1.5",
                        ]);
                        a.push(b(c));
                        if c == "-4611686018427387904" {
                            a.push(b("WITHSCORES"));
                        }
                    }
                    _ => a.push(b("-7")),
                }
                if a.len() == 2 && self.chance(50) {
                    a.push(self.name("WITHSCORES"));
                }
                if self.chance(3) {
                    a.push(b("FOO"));
                }
                self.cmd("ZRANDMEMBER", a)
            }
            795..=874 => self.setop(),
            875..=894 if !in_multi => {
                let k = self.key();
                let mut cursor = self.pick(&["0", "0", "0", "abc", "-1", "5"]);
                // Cursors of a skiplist scan are the server's own: only 0 is comparable.
                if (cursor == "-1" || cursor == "5") && is_skiplist(&mut self.side, &k) {
                    cursor = "0";
                }
                let mut a = vec![k, b(cursor)];
                match self.below(6) {
                    0 => {}
                    1 => {
                        a.push(self.name("MATCH"));
                        let p = self.pick(&["m*", "*", "[a-c]", "?"]);
                        a.push(b(p));
                    }
                    2 => {
                        a.push(self.name("COUNT"));
                        let c = self.pick(&["0", "abc", "-1"]);
                        a.push(b(c));
                    }
                    3 => a.push(b("NOVALUES")),
                    _ => {
                        a.push(self.name("COUNT"));
                        a.push(b("1000"));
                    }
                }
                if !a.iter().any(|x| x.eq_ignore_ascii_case(b"COUNT")) && a.len() < 5 {
                    a.push(b("COUNT"));
                    a.push(b("1000"));
                }
                self.cmd("ZSCAN", a)
            }
            895..=929 => {
                let k = self.key();
                let name = self.pick(&["DEL", "EXISTS", "TYPE", "PTTL"]);
                self.cmd(name, vec![k])
            }
            930..=944 => {
                let k = self.key();
                self.cmd("OBJECT", vec![b("ENCODING"), k])
            }
            945..=959 => {
                let k = self.key();
                // Far in the future: nothing expires during the run.
                self.cmd("PEXPIRE", vec![k, b("900000000")])
            }
            _ => {
                // Wrong arity.
                let name = self.pick(&[
                    "ZADD", "ZSCORE", "ZRANK", "ZCOUNT", "ZINCRBY", "ZPOPMIN", "ZUNION", "ZRANGE",
                    "ZMPOP",
                ]);
                let k = self.key();
                self.cmd(name, vec![k])
            }
        }
    }

    fn multi_block(&mut self) -> Vec<Cmd> {
        let mut v = vec![self.cmd("MULTI", vec![])];
        for _ in 0..1 + self.below(5) {
            if self.chance(8) {
                let c = self.cmd("ZADD", vec![b("z:0")]);
                v.push(c);
            } else {
                v.push(self.simple(true));
            }
        }
        let end = if self.chance(85) { "EXEC" } else { "DISCARD" };
        v.push(self.cmd(end, vec![]));
        v
    }

    /// Converts a set to the big encoding: 130 members, or one 70-byte member. Lex keys get
    /// zero scores.
    fn convert_seq(&mut self) -> Vec<Cmd> {
        let k = if self.chance(70) {
            self.zkey()
        } else {
            self.lkey()
        };
        let lex = k.starts_with(b"l:");
        let mut v = Vec::new();
        if self.chance(60) {
            let mut a = vec![k.clone()];
            for i in 0..130 {
                let s = if lex { 0 } else { (i * 7) % 50 };
                a.push(s.to_string().into_bytes());
                a.push(format!("n{i}").into_bytes());
            }
            v.push(self.cmd("ZADD", a));
        } else {
            let big: Vec<u8> = (0..70).map(|i| b'A' + (i % 26) as u8).collect();
            let s = if lex { b("0") } else { b("2.5") };
            v.push(self.cmd("ZADD", vec![k.clone(), s, big]));
        }
        v.push(self.cmd("OBJECT", vec![b("ENCODING"), k.clone()]));
        v.push(self.cmd("ZRANGE", vec![k, b("0"), b("-1"), b("WITHSCORES")]));
        v
    }

    fn step(&mut self) -> Vec<Cmd> {
        match self.below(1000) {
            0..=19 => self.multi_block(),
            20..=27 => self.convert_seq(),
            // s:0 back to a string (a DEL and a ZADD may have made it a sorted set).
            28..=35 => vec![self.cmd("SET", vec![b("s:0"), b("hello")])],
            _ => vec![self.simple(false)],
        }
    }
}

fn is_skiplist(side: &mut Client, key: &[u8]) -> bool {
    let args: [&[u8]; 3] = [b"OBJECT", b"ENCODING", key];
    side.cmd_bytes(&args) == b"$8\r\nskiplist\r\n"
}

fn norm_of(cmd: &Cmd, side: &mut Client) -> Norm {
    let name = upper(&cmd[0]);
    match (name.as_slice(), cmd.len()) {
        (b"PTTL", _) => Norm::Ttl(2000),
        (b"KEYS", _) => Norm::Sorted { pairs: false },
        (b"ZRANDMEMBER", 2) => Norm::SomeBulk,
        (b"ZRANDMEMBER", 3 | 4) if cmd[2] == b"1000" => Norm::Exact,
        (b"ZRANDMEMBER", 3 | 4) => Norm::LenOnly,
        (b"ZSCAN", _) if is_skiplist(side, &cmd[1]) => Norm::Scan { pairs: true },
        _ => Norm::Exact,
    }
}

fn final_sweep(diff: &mut Diff) {
    let c = |v: &[&[u8]]| -> Cmd { v.iter().map(|a| a.to_vec()).collect() };
    let mut names = bulk_items(&diff.run(0, &c(&[b"KEYS", b"*"])));
    names.sort();
    for k in names {
        let ty = diff.run(0, &c(&[b"TYPE", &k]));
        if ty == b"+zset\r\n" {
            diff.run(0, &c(&[b"OBJECT", b"ENCODING", &k]));
            diff.run(0, &c(&[b"ZCARD", &k]));
            diff.run(0, &c(&[b"ZRANGE", &k, b"0", b"-1", b"WITHSCORES"]));
            diff.run(1, &c(&[b"ZRANGE", &k, b"0", b"-1", b"WITHSCORES"]));
        }
        diff.run(0, &c(&[b"PTTL", &k]));
    }
    diff.run(0, &c(&[b"DBSIZE"]));
}

#[test]
fn zset_differential_against_redis() {
    if common::which("redis-server").is_none() {
        if std::env::var_os("CI").is_some() {
            panic!(
                "redis-server not found on PATH, but CI is set: the zset differential test must run in CI"
            );
        }
        eprintln!("SKIPPED: redis-server not found");
        return;
    }
    let (seed, count, selfcheck) = diff::settings("zset_differential", DEFAULT_SEED, DEFAULT_COUNT);
    let started = Instant::now();
    let reference = Server::start_redis().expect("redis-server is installed but did not start");
    let (test_srv, test_name) = if selfcheck {
        (
            Server::start_redis().expect("second redis-server"),
            "redis#2",
        )
    } else {
        (Server::start(&["--appendonly", "no"]), "ferrokv")
    };
    let mut side = reference.connect();
    let mut diff = Diff::new(
        "zset_differential",
        seed,
        count,
        &reference,
        &test_srv,
        test_name,
        Box::new(move |cmd: &Cmd| norm_of(cmd, &mut side)),
    );
    diff.hello3(&["server", "version", "id"]);
    diff.run(0, &vec![b("SET"), b("s:0"), b("hello")]);
    let mut g = Gen {
        rng: Rng::new(seed),
        side: reference.connect(),
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
        "zset_differential: {} commands ({} generated + final sweep) matched in {:.2?}",
        diff.idx,
        generated,
        started.elapsed()
    );
}
