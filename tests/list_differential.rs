//! Differential test of the list commands: ferrokv against a real redis-server 7, reply
//! bytes compared (see `tests/differential.rs` for the harness's conventions).
//!
//! Random commands over a few list keys (`l:0..l:5`), a string key for WRONGTYPE and odd
//! keys: pushes of 1 to 12 elements (short words, integers in canonical and other
//! spellings, 100-byte and now and then 9000-byte strings), pops with and without
//! counts, LINDEX / LSET / LRANGE / LTRIM with negative and out-of-range indexes, LREM,
//! LINSERT, LPOS with every option (and every bad one), LMOVE / RPOPLPUSH (same key too),
//! LMPOP with good and bad numkeys, wrong arities, MULTI/EXEC blocks, OBJECT ENCODING.
//! `list-max-listpack-size` is switched now and then between tiny counts and byte sizes on
//! both servers (CONFIG SET is compared too), so ferrokv's lists cross the packed /
//! quicklist boundary both ways while Redis answers as usual. A final sweep compares every
//! key's type and full contents.
//!
//! Environment: `DIFF_SEED`, `DIFF_COUNT` (default 5000), `DIFF_MAX_FAILS`,
//! `DIFF_SELFCHECK=1` (redis against redis). Skipped without redis-server unless `CI` is
//! set.

mod common;

use common::Server;
use common::diff::{self, Cmd, Diff, Norm, b};
use std::time::Instant;

const DEFAULT_SEED: u64 = 0x0115_7D1F_F5EE_D001;
const DEFAULT_COUNT: usize = 5000;

/// The shared test PRNG, with the helpers the generator uses.
struct Rng(common::Rng);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }
    fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
}

const WORDS: &[&str] = &[
    "a",
    "b",
    "c",
    "hello",
    "",
    "x y",
    "0",
    "1",
    "-1",
    "42",
    "007",
    "-0",
    "+3",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "3.14",
    "caf\u{e9}",
];
const INDEXES: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "-2",
    "-3",
    "5",
    "-10",
    "100",
    "-100",
    "9223372036854775807",
    "-9223372036854775808",
];
const BAD_INTS: &[&str] = &["abc", "", "1.5", " 1", "01", "+1", "99999999999999999999"];

struct Gen {
    rng: Rng,
}

impl Gen {
    fn pick(&mut self, xs: &[&str]) -> Vec<u8> {
        b(xs[self.rng.below(xs.len())])
    }
    fn name(&mut self, n: &str) -> Vec<u8> {
        diff::cased(n, self.rng.below(20))
    }
    fn key(&mut self) -> Vec<u8> {
        match self.rng.below(100) {
            0..=84 => format!("l:{}", self.rng.below(6)).into_bytes(),
            85..=92 => b("s:0"),
            _ => b("missing"),
        }
    }
    fn value(&mut self) -> Vec<u8> {
        match self.rng.below(100) {
            0..=79 => self.pick(WORDS),
            80..=95 => vec![b'a' + self.rng.below(26) as u8; 100],
            _ => vec![b'B'; 9000],
        }
    }
    fn int(&mut self, good: &[&str]) -> Vec<u8> {
        if self.rng.chance(8) {
            self.pick(BAD_INTS)
        } else {
            self.pick(good)
        }
    }
    fn end(&mut self) -> Vec<u8> {
        match self.rng.below(20) {
            0 => b("UP"),
            1..=9 => self.name("LEFT"),
            _ => self.name("RIGHT"),
        }
    }

    fn list_cmd(&mut self) -> Cmd {
        let k = self.key();
        let mut c: Cmd;
        match self.rng.below(17) {
            0..=2 => {
                let name = ["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"][self.rng.below(4)];
                c = vec![self.name(name), k];
                for _ in 0..1 + self.rng.below(12) {
                    c.push(self.value());
                }
            }
            3 | 4 => {
                let name = if self.rng.chance(50) { "LPOP" } else { "RPOP" };
                c = vec![self.name(name), k];
                if self.rng.chance(60) {
                    c.push(self.int(&["0", "1", "2", "3", "5", "100", "-1"]));
                }
            }
            5 => c = vec![self.name("LLEN"), k],
            6 => c = vec![self.name("LINDEX"), k, self.int(INDEXES)],
            7 => c = vec![self.name("LSET"), k, self.int(INDEXES), self.value()],
            8 | 9 => c = vec![self.name("LRANGE"), k, self.int(INDEXES), self.int(INDEXES)],
            10 => c = vec![self.name("LTRIM"), k, self.int(INDEXES), self.int(INDEXES)],
            11 => c = vec![self.name("LREM"), k, self.int(INDEXES), self.pick(WORDS)],
            12 => {
                let w = match self.rng.below(10) {
                    0 => b("middle"),
                    1..=5 => self.name("BEFORE"),
                    _ => self.name("AFTER"),
                };
                c = vec![self.name("LINSERT"), k, w, self.pick(WORDS), self.value()];
            }
            13 => {
                c = vec![self.name("LPOS"), k, self.pick(WORDS)];
                for _ in 0..self.rng.below(4) {
                    match self.rng.below(4) {
                        0 => {
                            c.push(self.name("RANK"));
                            c.push(self.int(&["1", "2", "-1", "-2", "0", "-9223372036854775808"]));
                        }
                        1 => {
                            c.push(self.name("COUNT"));
                            c.push(self.int(&["0", "1", "2", "-1"]));
                        }
                        2 => {
                            c.push(self.name("MAXLEN"));
                            c.push(self.int(&["0", "1", "3", "-1"]));
                        }
                        _ => c.push(b("FOO")),
                    }
                }
            }
            14 => {
                let dst = if self.rng.chance(25) {
                    k.clone()
                } else {
                    self.key()
                };
                if self.rng.chance(50) {
                    c = vec![self.name("LMOVE"), k, dst, self.end(), self.end()];
                } else {
                    c = vec![self.name("RPOPLPUSH"), k, dst];
                }
            }
            15 => {
                let n = 1 + self.rng.below(3);
                let numkeys = match self.rng.below(12) {
                    0 => self.pick(&["0", "-1", "abc", "9223372036854775807"]),
                    1 => (n + 1).to_string().into_bytes(),
                    _ => n.to_string().into_bytes(),
                };
                c = vec![self.name("LMPOP"), numkeys];
                for _ in 0..n {
                    c.push(self.key());
                }
                c.push(self.end());
                if self.rng.chance(50) {
                    c.push(self.name("COUNT"));
                    c.push(self.int(&["1", "2", "5", "100", "0", "-1"]));
                }
            }
            _ => {
                c = match self.rng.below(5) {
                    0 => vec![b("OBJECT"), b("ENCODING"), k],
                    1 => vec![b("TYPE"), k],
                    2 => vec![b("DEL"), k],
                    3 => vec![b("SET"), b("s:0"), b("str")],
                    _ => vec![b("EXISTS"), k],
                };
            }
        }
        if self.rng.chance(2) {
            // Wrong arity: drop or add an argument.
            if c.len() > 1 && self.rng.chance(50) {
                c.pop();
            } else {
                c.push(b("extra"));
            }
        }
        c
    }

    fn step(&mut self) -> Vec<Cmd> {
        match self.rng.below(100) {
            0 => {
                let v = self.pick(&["1", "2", "3", "5", "-1", "-2", "0"]);
                vec![vec![b("CONFIG"), b("SET"), b("list-max-listpack-size"), v]]
            }
            1..=4 => {
                let mut v: Vec<Cmd> = vec![vec![b("MULTI")]];
                for _ in 0..1 + self.rng.below(5) {
                    v.push(self.list_cmd());
                }
                let last = if self.rng.chance(10) {
                    "DISCARD"
                } else {
                    "EXEC"
                };
                v.push(vec![b(last)]);
                v
            }
            _ => vec![self.list_cmd()],
        }
    }
}

#[test]
fn list_differential_against_redis() {
    let Some(reference) = Server::start_redis() else {
        if std::env::var_os("CI").is_some() {
            panic!("redis-server not found, but CI is set");
        }
        eprintln!("SKIPPED: redis-server not installed");
        return;
    };
    let (seed, count, selfcheck) = diff::settings("list_differential", DEFAULT_SEED, DEFAULT_COUNT);
    let started = Instant::now();
    let (test_srv, test_name) = if selfcheck {
        (Server::start_redis().unwrap(), "redis#2")
    } else {
        (Server::start(&[]), "ferrokv")
    };
    let mut diff = Diff::new(
        "list_differential",
        seed,
        count,
        &reference,
        &test_srv,
        test_name,
        Box::new(|_: &Cmd| Norm::Exact),
    );
    diff.hello3(&["server", "version", "id", "modules"]);
    let mut g = Gen {
        rng: Rng(common::Rng::new(seed)),
    };
    while diff.idx < count {
        let ci = if diff.idx < count / 3 {
            0
        } else {
            g.rng.below(2)
        };
        for cmd in g.step() {
            diff.run(ci, &cmd);
        }
    }
    diff.discard_open_multis();
    let generated = diff.idx;
    // Final sweep: every key's type and contents.
    let keys: Vec<String> = (0..6)
        .map(|i| format!("l:{i}"))
        .chain(["s:0".to_string(), "missing".to_string()])
        .collect();
    for k in keys {
        diff.run(0, &vec![b("TYPE"), b(&k)]);
        diff.run(0, &vec![b("LRANGE"), b(&k), b("0"), b("-1")]);
    }
    diff.run(0, &vec![b("DBSIZE")]);
    diff.finish();
    eprintln!(
        "list_differential: {} commands ({} generated + final sweep) matched in {:.2?}",
        diff.idx,
        generated,
        started.elapsed()
    );
}
