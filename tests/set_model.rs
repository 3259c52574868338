//! Property test of the set type against a model: random sequences of set commands go to
//! ferrokv and to an in-test model, and every reply must be the one the model predicts.
//! The limits are low (`set-max-intset-entries 10`, `set-max-listpack-entries 6`,
//! `set-max-listpack-value 8`) so every conversion happens often.
//!
//! The model of a key is its encoding and its members in storage order: ascending for an
//! intset, insertion order for a listpack (removal keeps the order of the rest), and for a
//! table only the members (compared as a set). Conversions follow Redis 7.2's rules, as
//! the server must: SADD's size hint, an intset given a string becomes a listpack only if
//! its integers' decimal lengths fit too, one-way conversions. A listpack built from a
//! table's iteration (a store command's result) has an order the model cannot know, so
//! it is compared as a set until the key is deleted.
//!
//! Random commands (SPOP, SRANDMEMBER) are checked for what they must satisfy: members
//! of the set, distinct where they must be, the popped ones gone and the rest in order.
//! SSCAN is walked to the end with small counts and must return every member.
//!
//! Two restarts end the run: kill -9 and replay (the log replays the same operations, with
//! SPOP as the SREM of what it took, so encodings and orders come back exactly), then
//! BGREWRITEAOF, kill -9 and replay of the rewritten file, whose SADD records of at most
//! 64 members rebuild every set afresh (a table that shrank comes back compact, in the
//! order the table had, which the model adopts).
//!
//! `MODEL_SEED` and `MODEL_STEPS` (default 4000) reproduce or lengthen a run.

mod common;

use std::collections::BTreeSet;

use common::diff::{R, bulk_items, bulk_payload, bytes_of, parse_all};
use common::{Client, Rng, Server, TempDir};

const MAX_INTSET: usize = 10;
const MAX_PACK: usize = 6;
const MAX_VALUE: usize = 8;
const KEYS: usize = 8;
/// Members per SADD record in a rewritten AOF.
const REWRITE_CHUNK: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Enc {
    Int,
    Pack,
    Table,
}

impl Enc {
    fn name(self) -> &'static str {
        match self {
            Enc::Int => "intset",
            Enc::Pack => "listpack",
            Enc::Table => "hashtable",
        }
    }
}

#[derive(Clone, Debug)]
struct MSet {
    enc: Enc,
    /// Members in storage order (intset: ascending; listpack: insertion; table: any).
    items: Vec<Vec<u8>>,
    /// False when a listpack's order came from a table's iteration.
    order_known: bool,
}

fn int_of(m: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(m).ok()?;
    let v: i64 = s.parse().ok()?;
    (v.to_string() == s).then_some(v)
}

impl MSet {
    fn new() -> MSet {
        MSet {
            enc: Enc::Int,
            items: Vec::new(),
            order_known: true,
        }
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    fn has(&self, m: &[u8]) -> bool {
        self.items.iter().any(|x| x == m)
    }

    fn convert_to_table(&mut self) {
        self.enc = Enc::Table;
        self.order_known = false;
    }

    /// Redis 7.2's `setTypeCreate` / `setTypeMaybeConvert` for `hint` members.
    fn prepare(&mut self, hint: usize, first: &[u8]) {
        if self.items.is_empty() {
            *self = MSet::new();
            if int_of(first).is_some() && hint <= MAX_INTSET {
                self.enc = Enc::Int;
            } else if hint <= MAX_PACK {
                self.enc = Enc::Pack;
            } else {
                self.convert_to_table();
            }
            return;
        }
        let limit = match self.enc {
            Enc::Int => MAX_INTSET,
            Enc::Pack => MAX_PACK,
            Enc::Table => usize::MAX,
        };
        if hint > limit {
            self.convert_to_table();
        }
    }

    fn insert(&mut self, m: &[u8]) -> bool {
        if self.has(m) {
            return false;
        }
        match self.enc {
            Enc::Table => self.items.push(m.to_vec()),
            Enc::Pack => {
                if self.len() >= MAX_PACK || m.len() > MAX_VALUE {
                    self.convert_to_table();
                }
                self.items.push(m.to_vec());
            }
            Enc::Int => match int_of(m) {
                Some(v) => {
                    let pos = self
                        .items
                        .iter()
                        .position(|x| int_of(x).unwrap() > v)
                        .unwrap_or(self.len());
                    self.items.insert(pos, m.to_vec());
                    if self.len() > MAX_INTSET {
                        self.convert_to_table();
                    }
                }
                None => {
                    let longest = self.items.iter().map(|x| x.len()).max().unwrap_or(0);
                    if self.len() < MAX_PACK && m.len() <= MAX_VALUE && longest <= MAX_VALUE {
                        self.enc = Enc::Pack;
                    } else {
                        self.convert_to_table();
                    }
                    self.items.push(m.to_vec());
                }
            },
        }
        true
    }

    fn remove(&mut self, m: &[u8]) -> bool {
        match self.items.iter().position(|x| x == m) {
            Some(i) => {
                self.items.remove(i);
                true
            }
            None => false,
        }
    }

    fn set(&self) -> BTreeSet<Vec<u8>> {
        self.items.iter().cloned().collect()
    }

    /// True if SMEMBERS must list `items` in this order.
    fn ordered(&self) -> bool {
        self.enc == Enc::Int || (self.enc == Enc::Pack && self.order_known)
    }
}

struct Model {
    sets: Vec<Option<MSet>>,
}

impl Model {
    fn get(&self, k: usize) -> Option<&MSet> {
        self.sets.get(k).and_then(|s| s.as_ref())
    }
}

fn key_name(k: usize) -> String {
    if k == KEYS {
        "str".into()
    } else {
        format!("k{k}")
    }
}

fn ints(r: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(r);
    s.trim_end()
        .strip_prefix(':')
        .unwrap_or_else(|| panic!("not an integer reply: {s:?}"))
        .parse()
        .unwrap()
}

fn kids(r: &[u8]) -> Vec<R> {
    match parse_all(r) {
        Some(R::Agg(_, k)) => k,
        _ => panic!("not an aggregate: {:?}", String::from_utf8_lossy(r)),
    }
}

struct Run {
    rng: Rng,
    c: Client,
    m: Model,
    step: usize,
}

impl Run {
    fn below(&mut self, n: usize) -> usize {
        self.rng.below(n as u64) as usize
    }

    fn member(&mut self) -> Vec<u8> {
        match self.below(20) {
            0..=8 => (self.below(30) as i64 - 10).to_string().into_bytes(),
            9 => {
                [&b"70000"[..], b"-9000000000", b"123456789", b"01", b"-0"][self.below(5)].to_vec()
            }
            10..=17 => {
                [&b"a"[..], b"b", b"c", b"d", b"e", b"f", b"gg", b"h h"][self.below(8)].to_vec()
            }
            _ => [&b"longer-than-8"[..], b"12345678", b"123456789x", b""][self.below(4)].to_vec(),
        }
    }

    fn members(&mut self, max: usize) -> Vec<Vec<u8>> {
        let n = 1 + self.below(max);
        (0..n).map(|_| self.member()).collect()
    }

    fn key(&mut self) -> usize {
        if self.below(30) == 0 {
            KEYS
        } else {
            self.below(KEYS)
        }
    }

    fn send(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        let a: Vec<&[u8]> = args.iter().map(|x| x.as_slice()).collect();
        self.c.cmd_bytes(&a)
    }

    fn ctx(&self, args: &[Vec<u8>]) -> String {
        let words: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        format!("step {} {:?}", self.step, words)
    }

    /// Sends and checks a WRONGTYPE reply if `k` is the string key.
    fn wrongtype(&mut self, args: &[Vec<u8>], keys: &[usize]) -> Option<Vec<u8>> {
        let r = self.send(args);
        if keys.contains(&KEYS) {
            assert!(
                r.starts_with(b"-WRONGTYPE"),
                "{}: {:?}",
                self.ctx(args),
                String::from_utf8_lossy(&r)
            );
            return None;
        }
        Some(r)
    }

    fn check_key(&mut self, k: usize) {
        if k == KEYS {
            return;
        }
        let name = key_name(k).into_bytes();
        let r = self.send(&[b"SMEMBERS".to_vec(), name.clone()]);
        let got = bulk_items(&r);
        let enc_r = self.send(&[b"OBJECT".to_vec(), b"ENCODING".to_vec(), name.clone()]);
        let ctx = format!("step {} key k{k}", self.step);
        match self.m.get(k) {
            None => {
                assert!(got.is_empty(), "{ctx}: should not exist");
                assert_eq!(enc_r, b"$-1\r\n", "{ctx}");
            }
            Some(s) => {
                let enc = bulk_payload(&parse_all(&enc_r).unwrap()).unwrap();
                assert_eq!(String::from_utf8_lossy(&enc), s.enc.name(), "{ctx}: {s:?}");
                if s.ordered() {
                    assert_eq!(got, s.items, "{ctx}: order ({:?})", s.enc);
                } else {
                    let g: BTreeSet<Vec<u8>> = got.iter().cloned().collect();
                    assert_eq!(g.len(), got.len(), "{ctx}: duplicates");
                    assert_eq!(g, s.set(), "{ctx}");
                }
            }
        }
    }

    fn one(&mut self) {
        let op = self.below(100);
        let k = self.key();
        let name = key_name(k).into_bytes();
        match op {
            0..=29 => {
                // SADD
                let max = if self.below(8) == 0 { 12 } else { 4 };
                let ms = self.members(max);
                let mut args = vec![b"SADD".to_vec(), name];
                args.extend(ms.iter().cloned());
                let Some(r) = self.wrongtype(&args, &[k]) else {
                    return;
                };
                let s = self.m.sets[k].get_or_insert_with(MSet::new);
                s.prepare(ms.len(), &ms[0]);
                let added = ms.iter().filter(|m| s.insert(m)).count();
                assert_eq!(ints(&r), added as i64, "{}", self.ctx(&args));
            }
            30..=44 => {
                // SREM
                let ms = self.members(4);
                let mut args = vec![b"SREM".to_vec(), name];
                args.extend(ms.iter().cloned());
                let Some(r) = self.wrongtype(&args, &[k]) else {
                    return;
                };
                let mut n = 0;
                if let Some(s) = self.m.sets[k].as_mut() {
                    for m in &ms {
                        if s.remove(m) {
                            n += 1;
                            if s.len() == 0 {
                                break;
                            }
                        }
                    }
                    if s.len() == 0 {
                        self.m.sets[k] = None;
                    }
                }
                assert_eq!(ints(&r), n, "{}", self.ctx(&args));
            }
            45..=49 => {
                // SISMEMBER / SMISMEMBER / SCARD
                let ms = self.members(3);
                let mut args = vec![b"SMISMEMBER".to_vec(), name.clone()];
                args.extend(ms.iter().cloned());
                let Some(r) = self.wrongtype(&args, &[k]) else {
                    return;
                };
                let want: Vec<i64> = ms
                    .iter()
                    .map(|m| self.m.get(k).is_some_and(|s| s.has(m)) as i64)
                    .collect();
                let got: Vec<i64> = kids(&r).iter().map(|x| ints(&bytes_of(x))).collect();
                assert_eq!(got, want, "{}", self.ctx(&args));
                let r = self.send(&[b"SCARD".to_vec(), name]);
                assert_eq!(ints(&r), self.m.get(k).map_or(0, |s| s.len()) as i64);
            }
            50..=57 => {
                // SPOP, with and without count
                let with_count = self.below(2) == 0;
                let count = [0, 1, 2, 3, 5, 8, 20][self.below(7)];
                let mut args = vec![b"SPOP".to_vec(), name];
                if with_count {
                    args.push(count.to_string().into_bytes());
                }
                let Some(r) = self.wrongtype(&args, &[k]) else {
                    return;
                };
                let ctx = self.ctx(&args);
                let Some(s) = self.m.sets[k].as_mut() else {
                    assert_eq!(
                        r,
                        if with_count {
                            &b"*0\r\n"[..]
                        } else {
                            b"$-1\r\n"
                        },
                        "{ctx}"
                    );
                    return;
                };
                let popped = if with_count {
                    bulk_items(&r)
                } else {
                    vec![bulk_payload(&parse_all(&r).unwrap()).unwrap()]
                };
                let want_n = if with_count { count.min(s.len()) } else { 1 };
                assert_eq!(popped.len(), want_n, "{ctx}");
                let whole = with_count && count >= s.len();
                if whole && s.enc == Enc::Int {
                    assert_eq!(popped, s.items, "{ctx}: a whole intset in order");
                }
                for p in &popped {
                    assert!(s.remove(p), "{ctx}: popped {p:?}, not a member (or twice)");
                }
                if s.len() == 0 {
                    self.m.sets[k] = None;
                }
            }
            58..=63 => {
                // SRANDMEMBER
                let count: i64 = [1, 2, 5, 100, -3, -20][self.below(6)];
                let args = vec![
                    b"SRANDMEMBER".to_vec(),
                    name,
                    count.to_string().into_bytes(),
                ];
                let Some(r) = self.wrongtype(&args, &[k]) else {
                    return;
                };
                let ctx = self.ctx(&args);
                let got = bulk_items(&r);
                let Some(s) = self.m.get(k) else {
                    assert!(got.is_empty(), "{ctx}");
                    return;
                };
                assert!(got.iter().all(|m| s.has(m)), "{ctx}");
                if count > 0 {
                    let n = (count as usize).min(s.len());
                    assert_eq!(got.len(), n, "{ctx}");
                    let distinct: BTreeSet<&Vec<u8>> = got.iter().collect();
                    assert_eq!(distinct.len(), n, "{ctx}: repeated");
                    if n == s.len() && s.ordered() {
                        assert_eq!(got, s.items, "{ctx}: the whole set in order");
                    }
                } else {
                    assert_eq!(got.len(), count.unsigned_abs() as usize, "{ctx}");
                }
            }
            64..=69 => {
                // SMOVE
                let dst = self.key();
                let m = if self.below(3) == 0 {
                    self.member()
                } else {
                    let n = self.m.get(k).map_or(0, |s| s.len());
                    if n > 0 {
                        let i = self.below(n);
                        self.m.get(k).unwrap().items[i].clone()
                    } else {
                        self.member()
                    }
                };
                let args = vec![
                    b"SMOVE".to_vec(),
                    name,
                    key_name(dst).into_bytes(),
                    m.clone(),
                ];
                let r = self.send(&args);
                let ctx = self.ctx(&args);
                if self.m.get(k).is_none() && k != KEYS {
                    assert_eq!(r, b":0\r\n", "{ctx}");
                    return;
                }
                if k == KEYS || dst == KEYS {
                    assert!(r.starts_with(b"-WRONGTYPE"), "{ctx}");
                    return;
                }
                if k == dst {
                    let has = self.m.get(k).unwrap().has(&m);
                    assert_eq!(ints(&r), has as i64, "{ctx}");
                    return;
                }
                let s = self.m.sets[k].as_mut().unwrap();
                if !s.remove(&m) {
                    assert_eq!(r, b":0\r\n", "{ctx}");
                    return;
                }
                if s.len() == 0 {
                    self.m.sets[k] = None;
                }
                let d = self.m.sets[dst].get_or_insert_with(MSet::new);
                if d.len() == 0 {
                    d.prepare(1, &m);
                }
                d.insert(&m);
                assert_eq!(r, b":1\r\n", "{ctx}");
            }
            70..=81 => self.algebra(),
            82..=85 => {
                // SSCAN to the end with a small count.
                let mut seen = BTreeSet::new();
                let mut cursor = b"0".to_vec();
                let mut calls = 0;
                loop {
                    let args = vec![
                        b"SSCAN".to_vec(),
                        name.clone(),
                        cursor.clone(),
                        b"COUNT".to_vec(),
                        b"2".to_vec(),
                    ];
                    let Some(r) = self.wrongtype(&args, &[k]) else {
                        return;
                    };
                    let parts = kids(&r);
                    cursor = bulk_payload(&parts[0]).unwrap();
                    for m in bulk_items(&bytes_of(&parts[1])) {
                        seen.insert(m);
                    }
                    calls += 1;
                    if cursor == b"0" {
                        break;
                    }
                    assert!(calls < 1000, "SSCAN never ends");
                }
                let want = self.m.get(k).map(|s| s.set()).unwrap_or_default();
                assert_eq!(seen, want, "step {} SSCAN k{k}", self.step);
                if self.m.get(k).is_some_and(|s| s.enc != Enc::Table) {
                    assert_eq!(calls, 1, "a compact set comes whole");
                }
            }
            86..=88 => {
                self.send(&[b"DEL".to_vec(), name]);
                if k != KEYS {
                    self.m.sets[k] = None;
                } else {
                    self.send(&[b"SET".to_vec(), b"str".to_vec(), b"x".to_vec()]);
                }
            }
            _ => self.check_key(k),
        }
    }

    /// SINTER / SUNION / SDIFF (and their STORE forms), SINTERCARD.
    fn algebra(&mut self) {
        let n = 1 + self.below(3);
        let keys: Vec<usize> = (0..n).map(|_| self.key()).collect();
        let op = self.below(7);
        let dst = self.below(KEYS);
        let mut args: Vec<Vec<u8>> = Vec::new();
        let store = (3..6).contains(&op);
        match op {
            0 | 3 => args.push(if store {
                b"SINTERSTORE".to_vec()
            } else {
                b"SINTER".to_vec()
            }),
            1 | 4 => args.push(if store {
                b"SUNIONSTORE".to_vec()
            } else {
                b"SUNION".to_vec()
            }),
            2 | 5 => args.push(if store {
                b"SDIFFSTORE".to_vec()
            } else {
                b"SDIFF".to_vec()
            }),
            _ => {
                args.push(b"SINTERCARD".to_vec());
                args.push(n.to_string().into_bytes());
            }
        }
        if store {
            args.push(key_name(dst).into_bytes());
        }
        args.extend(keys.iter().map(|&k| key_name(k).into_bytes()));
        let Some(r) = self.wrongtype(&args, &keys) else {
            return;
        };
        let ctx = self.ctx(&args);
        let sets: Vec<Option<MSet>> = keys.iter().map(|&k| self.m.get(k).cloned()).collect();
        // The result in the order the server builds it (None: order unknown).
        let mut out = MSet::new();
        let mut order_known = true;
        let kind = op % 3;
        if op == 6 || kind == 0 {
            if sets.iter().all(|s| s.is_some()) {
                let mut order: Vec<(usize, &MSet)> = sets
                    .iter()
                    .map(|s| s.as_ref().unwrap())
                    .enumerate()
                    .collect();
                order.sort_by_key(|(_, s)| s.len());
                let first = order[0].1;
                order_known = first.ordered();
                for m in &first.items {
                    if order.iter().all(|(_, s)| s.has(m)) {
                        out.insert(m);
                    }
                }
            }
        } else if kind == 1 {
            for s in sets.iter().flatten() {
                order_known &= s.ordered();
                for m in &s.items {
                    out.insert(m);
                }
            }
        } else if let Some(first) = &sets[0] {
            let others: Vec<(usize, &MSet)> = sets[1..]
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.as_ref().map(|s| (i + 1, s)))
                .collect();
            let same = others.iter().any(|&(i, _)| keys[i] == keys[0]);
            order_known = first.ordered();
            if !same {
                let one = first.len() * (1 + others.len()) / 2;
                let two = first.len() + others.iter().map(|(_, s)| s.len()).sum::<usize>();
                if one <= two {
                    for m in &first.items {
                        if !others.iter().any(|(_, s)| s.has(m)) {
                            out.insert(m);
                        }
                    }
                } else {
                    for m in &first.items {
                        out.insert(m);
                    }
                    for (_, s) in &others {
                        for m in &s.items {
                            out.remove(m);
                        }
                    }
                }
            }
        }
        if op == 6 {
            assert_eq!(ints(&r), out.len() as i64, "{ctx}");
            return;
        }
        out.order_known = order_known && out.enc != Enc::Table;
        if store {
            assert_eq!(ints(&r), out.len() as i64, "{ctx}");
            self.m.sets[dst] = (out.len() > 0).then_some(out);
            return;
        }
        let got = bulk_items(&r);
        if op == 0 {
            // SINTER replies as it iterates the smallest set, building nothing.
            let mut order: Vec<&MSet> = sets.iter().flatten().collect();
            if order.len() == sets.len() {
                order.sort_by_key(|s| s.len());
                if order[0].ordered() {
                    let want: Vec<Vec<u8>> = order[0]
                        .items
                        .iter()
                        .filter(|m| out.has(m))
                        .cloned()
                        .collect();
                    assert_eq!(got, want, "{ctx}: order");
                    return;
                }
            }
        }
        if op != 0 && out.ordered() {
            assert_eq!(got, out.items, "{ctx}: order");
        } else {
            let g: BTreeSet<Vec<u8>> = got.iter().cloned().collect();
            assert_eq!(g.len(), got.len(), "{ctx}: duplicates");
            assert_eq!(g, out.set(), "{ctx}");
        }
    }

    fn check_all(&mut self) {
        for k in 0..KEYS {
            self.check_key(k);
        }
    }

    /// After a rewrite and reload every set is rebuilt from SADD records of at most 64
    /// members, in the order the server iterated it.
    fn rebuild_after_rewrite(&mut self) {
        for k in 0..KEYS {
            let Some(s) = self.m.sets[k].clone() else {
                continue;
            };
            let name = key_name(k).into_bytes();
            let order = bulk_items(&self.send(&[b"SMEMBERS".to_vec(), name]));
            let mut n = MSet::new();
            for chunk in order.chunks(REWRITE_CHUNK) {
                n.prepare(chunk.len(), &chunk[0]);
                for m in chunk {
                    n.insert(m);
                }
            }
            assert_eq!(n.set(), s.set());
            n.order_known = true;
            self.m.sets[k] = Some(n);
        }
    }
}

fn seed() -> u64 {
    std::env::var("MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5E7_0DE1)
}

#[test]
fn set_commands_match_a_model_across_encodings_and_restarts() {
    let seed = seed();
    let steps: usize = std::env::var("MODEL_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4000);
    eprintln!("set_model: seed {seed}, {steps} steps (MODEL_SEED / MODEL_STEPS)");
    let dir = TempDir::new("set-model");
    let lim = [
        "--set-max-intset-entries".to_string(),
        MAX_INTSET.to_string(),
        "--set-max-listpack-entries".to_string(),
        MAX_PACK.to_string(),
        "--set-max-listpack-value".to_string(),
        MAX_VALUE.to_string(),
        "--appendfsync".to_string(),
        "always".to_string(),
    ];
    let args: Vec<&str> = lim.iter().map(|s| s.as_str()).collect();
    let mut srv = Server::start_in(dir.path(), &args);
    let mut run = Run {
        rng: Rng::new(seed),
        c: srv.connect(),
        m: Model {
            sets: vec![None; KEYS],
        },
        step: 0,
    };
    run.send(&[b"SET".to_vec(), b"str".to_vec(), b"x".to_vec()]);
    for phase in 0..2 {
        for _ in 0..steps / 2 {
            run.step += 1;
            run.one();
        }
        run.check_all();
        if phase == 1 {
            run.send(&[b"BGREWRITEAOF".to_vec()]);
            common::wait_rewrites(&mut run.c, 1, 60);
            run.rebuild_after_rewrite();
        }
        srv.kill9();
        srv = Server::start_in(dir.path(), &args);
        run.c = srv.connect();
        run.check_all();
    }
}
