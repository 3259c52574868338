//! Entry points of the fuzz targets, one per untrusted input or intricate structure.
//!
//! Why this exists: a client's bytes and an AOF file on disk are the two inputs nobody
//! controls, and the compact hash, the list's packed nodes and the glob matcher are the
//! places where a wrong offset or a wrong backtrack gives a wrong answer instead of an
//! error. Each function takes arbitrary bytes, runs the real code on them and asserts the
//! invariants that must hold for every input: a panic is a bug. The coverage-guided
//! fuzzers in `tests/fuzz/` call these, and `tests/fuzz_corpus.rs` replays the committed
//! corpus through them on every `cargo test`, so a fixed crash stays fixed.
//!
//! They live in the library, not in the fuzz package, because the modules they exercise
//! are private: the library exports only `main` and this module.

use crate::aof::load::{AofError, FileReport, Sink, load_file};
use crate::aof::manifest::Manifest;
use crate::glob::{Glob, reference};
use crate::resp::args::Args;
use crate::resp::encode::push_record;
use crate::resp::parse::{ArgSource, MAX_INLINE, Parsed, Parser};
use crate::types::hash::{Hash, HashLimits};
use crate::types::listpack::Listpack;

/// Reads the control bytes a target takes from its input, yielding zeros once the input
/// is used up, so every input means something.
struct Bytes<'a> {
    data: &'a [u8],
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let (a, b) = self.data.split_at(n.min(self.data.len()));
        self.data = b;
        a
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |n, _| (n << 8) | self.byte() as u64)
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

// ----- RESP -----------------------------------------------------------------------

/// Commands (their arguments) parsed from a stream, and the protocol error that ended it.
type Stream = (Vec<Vec<Vec<u8>>>, Option<String>);

/// Feeds `pieces` one after another to a parser the way a connection does (append, parse
/// every complete command, drop the consumed front, shift), checking each step; returns
/// the commands and the error, and the total bytes consumed.
fn parse_pieces(pieces: &[&[u8]], max_bulk: usize) -> (Stream, usize) {
    let mut p = Parser::new(max_bulk);
    let mut rb: Vec<u8> = Vec::new();
    let mut cmds = Vec::new();
    let mut dropped = 0;
    for piece in pieces {
        rb.extend_from_slice(piece);
        loop {
            let got = p.parse(&rb);
            assert!(p.consumed() <= rb.len(), "consumed past the buffer");
            match got {
                Parsed::Command(src) => {
                    assert!(!p.args.is_empty(), "a command without arguments");
                    let base: &[u8] = match src {
                        ArgSource::Inline => &p.inline,
                        ArgSource::ReadBuf => &rb,
                    };
                    let mut cmd = Vec::with_capacity(p.args.len());
                    for &(a, b) in &p.args {
                        assert!(a <= b && b <= base.len(), "argument {a}..{b} out of bounds");
                        if src == ArgSource::ReadBuf {
                            assert!(b - a <= max_bulk, "a bulk longer than proto-max-bulk-len");
                            assert!(a >= p.consumed(), "an argument in consumed bytes");
                        }
                        cmd.push(base[a..b].to_vec());
                    }
                    cmds.push(cmd);
                    p.finish();
                }
                Parsed::Incomplete => {
                    // Asking again without new bytes must not change the answer.
                    assert_eq!(p.parse(&rb), Parsed::Incomplete, "Incomplete is not stable");
                    break;
                }
                Parsed::Error(e) => return ((cmds, Some(e.to_string())), dropped + p.consumed()),
                Parsed::ErrorOwned(e) => return ((cmds, Some(e)), dropped + p.consumed()),
            }
        }
        let n = p.consumed();
        rb.drain(..n);
        p.shift(n);
        dropped += n;
    }
    ((cmds, None), dropped + p.consumed())
}

/// The request parser on arbitrary bytes. The first byte picks `proto-max-bulk-len` and
/// the next two where to split the rest; the rest is the stream. Checked: every argument
/// range lies in its buffer and within the bulk limit; the commands, the error and the
/// bytes consumed are the same whether the stream arrives whole, in two pieces or a byte
/// at a time (the parser resumes partial commands); and the commands, re-encoded as
/// RESP multibulk, parse back to themselves.
pub fn resp(data: &[u8]) {
    let mut c = Bytes { data };
    let max_bulk = [16, 1024, 512 << 20, i64::MAX as usize][(c.byte() & 3) as usize];
    let split = ((c.byte() as usize) << 8) | c.byte() as usize;
    let stream = c.data;
    let split = split % (stream.len() + 1);
    let (whole, used) = parse_pieces(&[stream], max_bulk);
    assert!(used <= stream.len());
    reencode(&whole.0);
    // Past MAX_INLINE bytes the answer depends on how they arrive, as in Redis: a header
    // or inline line that is still open is refused at that size, one whose end has
    // arrived is not. Below it, the pieces must not matter.
    if stream.len() > MAX_INLINE {
        return;
    }
    let (two, used2) = parse_pieces(&[&stream[..split], &stream[split..]], max_bulk);
    assert_eq!(whole, two, "split at {split} changes the result");
    assert_eq!(used, used2, "split at {split} changes the bytes consumed");
    if stream.len() <= 512 {
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        let (one, used1) = parse_pieces(&bytes, max_bulk);
        assert_eq!(whole, one, "byte-at-a-time changes the result");
        assert_eq!(used, used1, "byte-at-a-time changes the bytes consumed");
    }
}

/// Commands written back as multibulk are read back exactly. With no bulk limit: an
/// inline argument may be longer than `proto-max-bulk-len` (Redis limits only the line).
fn reencode(cmds: &[Vec<Vec<u8>>]) {
    let mut enc = Vec::new();
    for cmd in cmds {
        push_record(&mut enc, cmd.iter().map(|a| &a[..]));
    }
    let ((again, err), used) = parse_pieces(&[&enc], usize::MAX);
    assert_eq!(err, None, "re-encoded commands do not parse");
    assert_eq!(again, cmds, "re-encoded commands parse differently");
    assert_eq!(used, enc.len());
}

// ----- AOF ------------------------------------------------------------------------

/// Keeps every record the loader applies, and checks memory while the loader is mid-file.
struct Records {
    cmds: Vec<Vec<Vec<u8>>>,
    /// Bytes allocated before the load started, and the most the load may add.
    before: usize,
    budget: usize,
}

impl Sink for Records {
    fn apply(&mut self, args: &Args) -> Result<(), String> {
        assert!(args.len() > 0, "a record without arguments");
        let now = crate::alloc::allocated();
        assert!(
            now.saturating_sub(self.before) <= self.budget,
            "the loader holds {} bytes for a file of this size",
            now - self.before
        );
        self.cmds.push(args.iter().map(|a| a.to_vec()).collect());
        Ok(())
    }
}

fn load_bytes(
    path: &std::path::Path,
    bytes: &[u8],
    allow_torn: bool,
) -> (Result<FileReport, AofError>, Records) {
    std::fs::write(path, bytes).expect("write the fuzz input file");
    let mut sink = Records {
        cmds: Vec::new(),
        before: crate::alloc::allocated(),
        // The read buffer (a 4 MB chunk, or twice the file for a record that long), a
        // transaction's copies, and what the records collected so far take.
        budget: (8 << 20) + bytes.len() * 64,
    };
    let r = load_file(path, allow_torn, &mut sink);
    (r, sink)
}

/// Where the loader's offsets say the file stops being good.
fn error_offset(e: &AofError) -> Option<u64> {
    match e {
        AofError::Io { .. } => None,
        AofError::Corrupt { offset, .. }
        | AofError::Truncated { offset, .. }
        | AofError::Command { offset, .. } => Some(*offset),
    }
}

/// The AOF loader on an arbitrary file (the input is the file). It must answer with a
/// report or an error, never panic, and never hold memory out of proportion to the file
/// (a length the file claims is checked against its size before anything is sized by
/// it). Checked: with a torn tail allowed or not, the answers agree (a tail it cuts is a
/// `Truncated` error when cutting is not allowed, at the same offset, and nothing else
/// changes); every offset is inside the file; and the file cut where the report says it
/// stops being valid loads cleanly with exactly the same records. The input is also
/// parsed as a manifest, which must not panic and must print back to itself.
pub fn aof(data: &[u8]) {
    // One file per process, reused by every run (AFL runs many inputs in one process).
    let path = std::env::temp_dir().join(format!("ferrokv-fuzz-aof-{}", std::process::id()));
    let (allowed, recs) = load_bytes(&path, data, true);
    let (strict, strict_recs) = load_bytes(&path, data, false);
    let len = data.len() as u64;
    match (&allowed, &strict) {
        (Ok(a), Ok(s)) => {
            assert!(
                a.torn.is_none() && s.torn.is_none(),
                "a tail cut without leave"
            );
            assert_eq!(a.valid_len, len);
            assert_eq!((a.commands, a.batches), (s.commands, s.batches));
            assert_eq!(recs.cmds, strict_recs.cmds);
        }
        (Ok(a), Err(AofError::Truncated { offset, .. })) => {
            assert!(
                a.torn.is_some(),
                "Truncated when strict, whole when allowed"
            );
            assert_eq!(a.valid_len, *offset, "the cut and the error disagree");
            assert!(a.valid_len < len);
            // Cut where the report says: the rest loads as it did, and nothing is torn.
            let (cut, cut_recs) = load_bytes(&path, &data[..a.valid_len as usize], false);
            match cut {
                Ok(c) => {
                    assert!(c.torn.is_none());
                    assert_eq!(c.commands, a.commands, "the cut file applies other records");
                    assert_eq!(cut_recs.cmds, recs.cmds);
                }
                Err(e) => panic!("the file cut at its valid length does not load: {e}"),
            }
        }
        (Ok(_), Err(e)) => panic!("loads when a tail may be cut, fails otherwise: {e}"),
        (Err(a), Err(s)) => {
            assert_eq!(
                a.to_string(),
                s.to_string(),
                "errors differ with the tail allowed"
            );
            if let Some(off) = error_offset(a) {
                assert!(off <= len, "offset {off} past the end of a {len}-byte file");
            }
        }
        (Err(e), Ok(_)) => panic!("fails when a tail may be cut, loads otherwise: {e}"),
    }
    if let Ok(a) = &allowed {
        assert_eq!(a.file_len, len);
        assert_eq!(a.commands as usize, recs.cmds.len());
    }
    let _ = std::fs::remove_file(&path);
    if let Ok(m) = Manifest::parse(&String::from_utf8_lossy(data)) {
        let text = m.to_text();
        // Every name round-trips (quoted where needed, as Redis writes it), unless quoting
        // made its line longer than a manifest line may be (Redis has the same limit).
        if text.lines().all(|l| l.len() <= 1024) {
            assert_eq!(
                Manifest::parse(&text).as_ref(),
                Ok(&m),
                "manifest round trip"
            );
        }
    }
}

// ----- Compact hash ---------------------------------------------------------------

/// What a hash must hold: (field, value, deadline) in the order a listpack keeps them:
/// fields with a deadline first, soonest first (a newly set one before equal ones), then
/// the rest in insertion order. `ex` mirrors the listpack's ex flag.
#[derive(Default, Debug)]
struct Model {
    pairs: Vec<(Vec<u8>, Vec<u8>, u64)>,
    ex: bool,
}

impl Model {
    fn pos(&self, f: &[u8]) -> Option<usize> {
        self.pairs.iter().position(|p| p.0 == f)
    }

    /// HSET: true if new; a field that had a deadline loses it and goes to the end.
    fn insert(&mut self, f: &[u8], v: &[u8]) -> bool {
        match self.pos(f) {
            Some(i) if self.pairs[i].2 != 0 => {
                self.pairs.remove(i);
                self.pairs.push((f.to_vec(), v.to_vec(), 0));
                false
            }
            Some(i) => {
                self.pairs[i].1 = v.to_vec();
                false
            }
            None => {
                self.pairs.push((f.to_vec(), v.to_vec(), 0));
                true
            }
        }
    }

    fn insert_keep_ttl(&mut self, f: &[u8], v: &[u8]) -> bool {
        match self.pos(f) {
            Some(i) => {
                self.pairs[i].1 = v.to_vec();
                false
            }
            None => {
                self.pairs.push((f.to_vec(), v.to_vec(), 0));
                true
            }
        }
    }

    fn remove(&mut self, f: &[u8]) -> bool {
        let Some(i) = self.pos(f) else {
            return false;
        };
        self.pairs.remove(i);
        if self.pairs.is_empty() {
            self.ex = false; // An empty listpack owns nothing, flag included.
        }
        true
    }

    fn make_ex(&mut self) {
        if !self.pairs.is_empty() {
            self.ex = true;
        }
    }

    fn set_ttl(&mut self, f: &[u8], at: u64) -> bool {
        self.make_ex();
        let Some(i) = self.pos(f) else {
            return false;
        };
        let mut e = self.pairs.remove(i);
        e.2 = at;
        let j = self
            .pairs
            .iter()
            .position(|x| x.2 == 0 || x.2 >= at)
            .unwrap_or(self.pairs.len());
        self.pairs.insert(j, e);
        true
    }

    fn persist(&mut self, f: &[u8]) -> bool {
        match self.pos(f) {
            Some(i) if self.pairs[i].2 != 0 => {
                let mut e = self.pairs.remove(i);
                e.2 = 0;
                self.pairs.push(e);
                true
            }
            _ => false,
        }
    }

    /// Removes the given fields (expired ones, in the order the structure reported).
    fn drop_fields(&mut self, gone: &[Vec<u8>]) {
        for f in gone {
            self.remove(f);
        }
    }

    fn min_ttl(&self) -> u64 {
        self.pairs
            .iter()
            .map(|p| p.2)
            .filter(|&t| t != 0)
            .min()
            .unwrap_or(0)
    }
}

/// Checks a listpack against the model: same pairs in the same order, same lookups.
fn check_listpack(lp: &Listpack, m: &Model, probe: &[u8]) {
    let got: Vec<_> = lp
        .iter_ttl()
        .map(|(f, v, t)| (f.to_vec(), v.to_vec(), t))
        .collect();
    assert_eq!(got, m.pairs, "listpack contents or order");
    let plain: Vec<_> = lp.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
    assert_eq!(plain.len(), m.pairs.len());
    for (i, ((f, v), e)) in plain.iter().zip(&m.pairs).enumerate() {
        assert_eq!((f, v), (&e.0, &e.1), "iter and iter_ttl differ");
        let (gf, gv) = lp.get_index(i).expect("get_index in range");
        assert_eq!((gf, &*gv), (&f[..], &v[..]));
        assert_eq!(lp.get(f).as_deref(), Some(&v[..]));
        assert_eq!(lp.ttl(f), Some(e.2));
    }
    assert!(lp.get_index(m.pairs.len()).is_none());
    assert_eq!(lp.len(), m.pairs.len());
    assert_eq!(lp.is_empty(), m.pairs.is_empty());
    assert_eq!(lp.is_ex(), m.ex, "ex flag");
    assert_eq!(lp.min_ttl(), m.min_ttl());
    assert_eq!(lp.heap_bytes() == 0, m.pairs.is_empty());
    if m.pos(probe).is_none() {
        assert!(lp.get(probe).is_none() && lp.ttl(probe).is_none());
    }
}

/// Checks a hash against the model: in listpack form exactly as a listpack; as a table,
/// the same pairs in any order.
fn check_hash(h: &Hash, m: &Model, table: bool, probe: &[u8]) {
    match h {
        Hash::Listpack(lp) => {
            assert!(!table, "a table went back to a listpack");
            check_listpack(lp, m, probe);
        }
        Hash::Table(_) => {
            assert!(table, "converted to a table too early");
            let mut got: Vec<_> = h
                .iter_ttl()
                .map(|(f, v, t)| (f.to_vec(), v.to_vec(), t))
                .collect();
            let mut want = m.pairs.clone();
            got.sort();
            want.sort();
            assert_eq!(got, want, "table contents");
            for (i, (f, v)) in h.iter().enumerate() {
                let (gf, gv) = h.get_index(i).expect("get_index in range");
                assert_eq!((gf, &*gv), (f, &*v));
            }
            assert!(h.get_index(m.pairs.len()).is_none());
            for (f, v, t) in &m.pairs {
                assert_eq!(h.get(f).as_deref(), Some(&v[..]));
                assert_eq!(h.ttl(f), Some(*t));
            }
            assert_eq!(h.min_ttl(), m.min_ttl());
            assert_eq!(h.encoding_name(), "hashtable");
        }
    }
    assert_eq!(h.len(), m.pairs.len());
    assert_eq!(h.is_empty(), m.pairs.is_empty());
    if m.pos(probe).is_none() {
        assert!(!h.contains(probe) && h.ttl(probe).is_none());
    }
    let _ = h.heap_bytes();
}

/// Values around the encodings' edges: canonical integers (stored in the header) and
/// near misses (stored as text), the integer range limit, empty and long strings.
const VALUES: &[&[u8]] = &[
    b"",
    b"0",
    b"1",
    b"-1",
    b"42",
    b"63",
    b"64",
    b"-64",
    b"-65",
    b"007",
    b"-0",
    b"+5",
    b"1.5",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"2305843009213693951",
    b"2305843009213693952",
    b"-2305843009213693952",
    b"-2305843009213693953",
    b"99999999999999999999",
    b"value",
];

/// A field or value: from a fixed list, a long run (across the one- and two-byte length
/// headers), or bytes taken from the input.
fn pick(c: &mut Bytes, fields: bool) -> Vec<u8> {
    let b = c.byte();
    match b >> 5 {
        0..=3 if fields => vec![b'a' + (b & 7)],
        0..=3 => VALUES[(b as usize) % VALUES.len()].to_vec(),
        4 => {
            let len = [63, 64, 127, 128, 255, 256, 300, 16384][(b & 7) as usize];
            vec![b'x' + (b & 1); len]
        }
        _ => {
            let n = (b & 31) as usize;
            c.take(n).to_vec()
        }
    }
}

/// A deadline (non-zero Unix ms): small ones that collide and expire, real ones, and
/// any up to 2^48 from the input.
fn deadline(c: &mut Bytes) -> u64 {
    let b = c.byte();
    match b >> 6 {
        0 | 1 => 1 + (b & 7) as u64,
        2 => [
            1_700_000_000_000,
            70_368_744_177_663,
            1 << 48,
            127,
            128,
            16383,
            16384,
            1 << 35,
        ][(b & 7) as usize],
        _ => 1 + c.u64() % (1 << 48),
    }
}

/// The compact hash (`Listpack`) and the hash (`Hash`, which converts to a table), each
/// run through the same operations read from the input and mirrored on a simple model;
/// after every operation the returned flags, the contents, the order (while compact),
/// the deadlines, lookups and the encoding must agree with the model.
pub fn listpack(data: &[u8]) {
    let mut c = Bytes { data };
    let b = c.byte();
    let lim = HashLimits {
        max_entries: (b & 15) as usize,
        max_value: [0, 8, 64, 200][(b >> 4 & 3) as usize],
    };
    let mut lp = Listpack::default();
    let mut h = Hash::new();
    let mut lm = Model::default();
    let mut hm = Model::default();
    let mut table = false;
    let mut steps = 0;
    while !c.is_empty() && steps < 2000 {
        steps += 1;
        let op = c.byte();
        let f = pick(&mut c, true);
        match op % 8 {
            0 | 1 => {
                let v = pick(&mut c, false);
                let keep = op % 8 == 1;
                if keep {
                    assert_eq!(lp.insert_keep_ttl(&f, &v), lm.insert_keep_ttl(&f, &v));
                } else {
                    assert_eq!(lp.insert(&f, &v), lm.insert(&f, &v));
                }
                table |= f.len() > lim.max_value || v.len() > lim.max_value;
                let new = if keep {
                    hm.insert_keep_ttl(&f, &v)
                } else {
                    hm.insert(&f, &v)
                };
                let got = if keep {
                    h.insert_keep_ttl(&f, &v, lim)
                } else {
                    h.insert(&f, &v, lim)
                };
                assert_eq!(got, new, "insert's new flag");
                table |= new && hm.pairs.len() > lim.max_entries;
                if table {
                    hm.ex = false; // Not a listpack any more.
                }
            }
            2 => {
                assert_eq!(lp.remove(&f), lm.remove(&f));
                assert_eq!(h.remove(&f), hm.remove(&f));
            }
            3 => {
                let at = deadline(&mut c);
                assert_eq!(lp.set_ttl(&f, at), lm.set_ttl(&f, at));
                assert_eq!(h.set_ttl(&f, at), hm.set_ttl(&f, at));
            }
            4 => {
                assert_eq!(lp.persist(&f), lm.persist(&f));
                assert_eq!(h.persist(&f), hm.persist(&f));
            }
            5 => {
                lp.make_ex();
                lm.make_ex();
                h.prepare_ttl();
                hm.make_ex();
            }
            6 => {
                let now = deadline(&mut c);
                let limit = match c.byte() {
                    0 => usize::MAX,
                    n => (n & 7) as usize,
                };
                expire_listpack(&mut lp, &mut lm, now, limit);
                if table {
                    expire_table(&mut h, &mut hm, now, limit);
                } else {
                    let Hash::Listpack(inner) = &mut h else {
                        panic!("converted to a table too early");
                    };
                    expire_listpack(inner, &mut hm, now, limit);
                }
            }
            _ => {} // A lookup of `f` only: the checks below probe it.
        }
        if table {
            hm.ex = false;
        }
        check_listpack(&lp, &lm, &f);
        check_hash(&h, &hm, table, &f);
    }
}

/// Expiry in a listpack: the expired fields are at the front, so exactly the model's
/// first `limit` expired fields go, in order.
fn expire_listpack(lp: &mut Listpack, m: &mut Model, now: u64, limit: usize) {
    let mut gone = Vec::new();
    let n = lp.remove_expired(now, limit, |f| gone.push(f.to_vec()));
    let want: Vec<Vec<u8>> = m
        .pairs
        .iter()
        .take_while(|x| x.2 != 0 && x.2 <= now)
        .take(limit)
        .map(|x| x.0.clone())
        .collect();
    assert_eq!(gone, want, "expired fields");
    assert_eq!(n, gone.len());
    m.drop_fields(&gone);
}

/// Expiry in a table: soonest first; among equal deadlines any may go first, so the
/// check is that each one removed was expired, in deadline order, as many as the limit
/// allows, and none left expired is sooner than one removed.
fn expire_table(h: &mut Hash, m: &mut Model, now: u64, limit: usize) {
    let mut gone = Vec::new();
    let n = h.remove_expired(now, limit, |f| gone.push(f.to_vec()));
    assert_eq!(n, gone.len());
    let expired = m.pairs.iter().filter(|x| x.2 != 0 && x.2 <= now).count();
    assert_eq!(n, expired.min(limit), "how many expired fields went");
    let mut last = 0;
    for f in &gone {
        let i = m.pos(f).expect("an expired field the model has");
        let t = m.pairs[i].2;
        assert!(
            t != 0 && t <= now && t >= last,
            "removed out of order or unexpired"
        );
        last = t;
        m.pairs.remove(i);
    }
    assert!(
        m.pairs.iter().all(|x| x.2 == 0 || x.2 > now || x.2 >= last),
        "a sooner expired field was left"
    );
}

// ----- Glob -----------------------------------------------------------------------

/// Star groups in a pattern (a run of stars is one group), as the matcher counts them.
fn star_groups(p: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'*' if i == 0 || p[i - 1] != b'*' => n += 1,
            b'\\' => i += 1,
            _ => {}
        }
        i += 1;
    }
    n
}

/// The glob matcher on a pattern and a string cut from the input: the first byte holds
/// `nocase` and the pattern length, the pattern follows, the string is the rest. Where
/// the exponential reference is affordable it must give the same answer; for any size,
/// a pattern that escapes every byte of the string matches it exactly, and a star put
/// before a matching pattern (within the star-group limit) still matches.
/// Long inputs run the linear matcher alone, so the fuzzer's time limit catches any
/// blow-up.
pub fn glob(data: &[u8]) {
    let mut c = Bytes { data };
    let b = c.byte();
    let nocase = b & 1 == 1;
    let plen = if b & 2 == 0 {
        (b >> 2) as usize
    } else {
        ((c.byte() as usize) << 8) | c.byte() as usize
    };
    // Bounded so that the O(pattern × string) worst case, about 2^18 steps, stays far
    // within the fuzzer's time limit even on a busy machine: a timeout then means the
    // matcher is worse than that. (Up to 2^22 steps ran 0.4 s, and AFL took that for a
    // hang under load.)
    let pat = c.take(plen.min(1024)).to_vec();
    let s = &c.data[..c.data.len().min(4096).min((1 << 18) / (pat.len() + 1))];
    let g = Glob::new(&pat, nocase);
    let got = g.matches(s);
    let groups = star_groups(&pat);
    // The reference costs about (len + 1) ^ groups steps of up to a pattern's length.
    let cost = (s.len() as u64 + 1)
        .checked_pow(groups as u32)
        .unwrap_or(u64::MAX);
    if cost <= 4096 && pat.len() <= 256 {
        assert_eq!(
            got,
            reference(&pat, s, nocase, 0),
            "the reference disagrees"
        );
    }
    // A leading star may match nothing (a trailing one could be swallowed by an open
    // class or a final backslash, so only the front is a token boundary for sure).
    if got && !s.is_empty() && groups < 1000 {
        let more = [b"*".as_slice(), &pat].concat();
        assert!(
            Glob::new(&more, nocase).matches(s),
            "a leading star lost the match"
        );
    }
    let mut exact = Vec::with_capacity(s.len() * 2);
    for &x in s {
        exact.extend_from_slice(&[b'\\', x]);
    }
    let e = Glob::new(&exact, false);
    assert!(e.matches(s), "an escaped string does not match itself");
    if let Some((_, shorter)) = s.split_last() {
        assert!(!e.matches(shorter), "an escaped string matches its prefix");
    }
}

// ----- list -----------------------------------------------------------------------

/// The list (`List`: one packed buffer, or a chain of nodes past the limit, and back)
/// run through pushes, pops, LSET, LINSERT, LREM, LTRIM and LPOS read from the input,
/// mirrored on a plain deque; after every operation the replies, the contents in both
/// directions and a lookup by index must agree with it, whatever the node limit.
pub fn list(data: &[u8]) {
    use crate::types::List;
    use crate::types::list::{End, ListLimits};
    use std::collections::VecDeque;
    let mut c = Bytes { data };
    let lim = ListLimits::new([-1, -2, -5, 1, 2, 3, 5, 16][(c.byte() % 8) as usize]);
    let mut l = List::new();
    let mut m: VecDeque<Vec<u8>> = VecDeque::new();
    let mut steps = 0;
    while !c.is_empty() && steps < 2000 {
        steps += 1;
        let op = c.byte();
        let end = if op & 0x80 != 0 { End::Head } else { End::Tail };
        let at = |c: &mut Bytes, len: usize| c.byte() as usize % len.max(1);
        match op % 8 {
            0 | 1 => {
                let n = 1 + (c.byte() % 8) as usize;
                let vs: Vec<Vec<u8>> = (0..n).map(|_| pick(&mut c, false)).collect();
                l.push_many(end, vs.iter().map(|v| &v[..]), &lim);
                for v in vs {
                    match end {
                        End::Head => m.push_front(v),
                        End::Tail => m.push_back(v),
                    }
                }
            }
            2 => {
                let n = (c.byte() % 16) as usize;
                let mut got = Vec::new();
                l.pop_with(end, n, &lim, |v| got.push(v.to_vec()));
                let want: Vec<Vec<u8>> = (0..n.min(m.len()))
                    .filter_map(|_| match end {
                        End::Head => m.pop_front(),
                        End::Tail => m.pop_back(),
                    })
                    .collect();
                assert_eq!(got, want, "popped elements");
            }
            3 if !m.is_empty() => {
                let i = at(&mut c, m.len());
                let v = pick(&mut c, false);
                l.set(i, &v, &lim);
                m[i] = v;
            }
            4 => {
                let pivot = pick(&mut c, false);
                let v = pick(&mut c, false);
                let pos = m.iter().position(|x| *x == pivot);
                assert_eq!(l.insert(&pivot, end == End::Tail, &v, &lim), pos.is_some());
                if let Some(p) = pos {
                    m.insert(if end == End::Tail { p + 1 } else { p }, v);
                }
            }
            5 => {
                let v = pick(&mut c, false);
                let count = (c.byte() % 7) as i64 - 3;
                let max = if count == 0 {
                    usize::MAX
                } else {
                    count.unsigned_abs() as usize
                };
                let mut hits: Vec<usize> = (0..m.len()).filter(|&i| m[i] == v).collect();
                if count < 0 {
                    hits.reverse();
                }
                hits.truncate(max);
                hits.sort_unstable();
                for &i in hits.iter().rev() {
                    m.remove(i);
                }
                assert_eq!(l.remove_matching(&v, count, &lim), hits.len(), "LREM count");
            }
            6 if !m.is_empty() => {
                let a = at(&mut c, m.len() + 1).min(m.len());
                let b = at(&mut c, m.len() - a + 1).min(m.len() - a);
                l.trim(a, b, &lim);
                m.drain(..a);
                m.truncate(m.len() - b);
            }
            _ => {
                let v = pick(&mut c, false);
                let rev = end == End::Head;
                let mut want: Vec<usize> = (0..m.len()).filter(|&i| m[i] == v).collect();
                if rev {
                    want.reverse();
                }
                assert_eq!(l.positions(&v, rev, 0).collect::<Vec<_>>(), want, "LPOS");
            }
        }
        assert_eq!(l.len(), m.len(), "length");
        // Every step while the list is short, then every 64th (and at the end): checking
        // a long list after every step made long inputs quadratic, over AFL's time limit.
        if m.len() <= 256 || steps % 64 == 0 {
            same_list(&l, &m);
        }
        if !m.is_empty() {
            let i = at(&mut c, m.len());
            assert_eq!(l.get(i).as_deref(), Some(&m[i][..]), "element {i}");
        }
    }
    same_list(&l, &m);
}

/// The list's contents, in both directions, are the model's.
fn same_list(l: &crate::types::List, m: &std::collections::VecDeque<Vec<u8>>) {
    assert_eq!(l.iter().count(), m.len(), "length walked");
    assert!(l.iter().zip(m).all(|(a, b)| *a == b[..]), "contents");
    assert!(
        l.iter().rev().zip(m.iter().rev()).all(|(a, b)| *a == b[..]),
        "reverse"
    );
}

// ----- set -----------------------------------------------------------------------------

/// The set (`Set`: intset, listpack, hash table, with Redis 7.2's conversions at limits
/// read from the input) run through SADD, SREM, random pops and positional reads,
/// mirrored on a `BTreeSet`; after every operation membership, length and the members
/// listed must agree with it, and an intset must list its members in numeric order.
pub fn set(data: &[u8]) {
    use crate::types::Set;
    use crate::types::set::SetLimits;
    use std::collections::BTreeSet;
    let mut c = Bytes { data };
    let lim = SetLimits {
        max_intset_entries: 1 + (c.byte() % 64) as usize,
        max_listpack_entries: 1 + (c.byte() % 64) as usize,
        max_listpack_value: 1 + (c.byte() % 80) as usize,
    };
    let mut rng = crate::rand::Rng::from_entropy();
    let mut s = Set::new();
    let mut m: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut steps = 0;
    while !c.is_empty() && steps < 2000 {
        steps += 1;
        let op = c.byte();
        let v = if op & 0x80 != 0 {
            // Integers in every intset width, and near-integers that are not canonical.
            let n = c.u64() as i64 >> (c.byte() % 64);
            match op & 3 {
                0 => format!("{n}").into_bytes(),
                1 => format!("0{n}").into_bytes(),
                _ => format!("{}", n % 1000).into_bytes(),
            }
        } else {
            pick(&mut c, false)
        };
        match op % 4 {
            0 | 1 => assert_eq!(s.insert(&v, lim), m.insert(v), "SADD"),
            2 => assert_eq!(s.remove(&v), m.remove(&v), "SREM"),
            _ if m.len() > 1 => {
                let k = 1 + (c.byte() as usize) % (m.len() - 1);
                let popped = s.pop_random(k, &mut rng);
                assert_eq!(popped.len(), k, "SPOP count");
                for p in popped {
                    assert!(m.remove(&p[..]), "popped a member that was not there");
                }
            }
            _ => {}
        }
        assert_eq!(s.len(), m.len(), "length");
        let listed: Vec<Vec<u8>> = s.iter().map(|v| v.to_vec()).collect();
        let mut sorted = listed.clone();
        sorted.sort();
        assert!(sorted.iter().eq(m.iter()), "members");
        if s.encoding_name() == "intset" {
            let nums: Vec<i64> = listed
                .iter()
                .map(|v| std::str::from_utf8(v).unwrap().parse().unwrap())
                .collect();
            assert!(nums.windows(2).all(|w| w[0] < w[1]), "intset order");
        }
        for (i, x) in listed.iter().enumerate().take(4) {
            assert_eq!(s.get_index(i).as_deref(), Some(&x[..]), "position {i}");
            assert!(s.contains(x));
        }
    }
}

// ----- zset ----------------------------------------------------------------------------

/// The sorted set (`ZSet`: a listpack, or the slab, index and counted B+ tree past limits
/// read from the input) run through ZADD, ZREM, pops at both ends and rank removals,
/// mirrored on a map; after every operation the members in (score, member) order, ranks,
/// scores and positional reads must agree with it.
pub fn zset(data: &[u8]) {
    use crate::types::ZSet;
    use crate::types::zset::ZLimits;
    use std::collections::BTreeMap;
    let mut c = Bytes { data };
    let lim = ZLimits {
        max_entries: 1 + (c.byte() % 64) as usize,
        max_value: 1 + (c.byte() % 80) as usize,
    };
    let mut z = ZSet::new();
    let mut m: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
    let ordered = |m: &BTreeMap<Vec<u8>, f64>| {
        let mut v: Vec<(Vec<u8>, f64)> = m.iter().map(|(k, s)| (k.clone(), *s)).collect();
        v.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        v
    };
    let mut steps = 0;
    while !c.is_empty() && steps < 2000 {
        steps += 1;
        let op = c.byte();
        let member = pick(&mut c, false);
        let score = match c.byte() % 8 {
            0 => f64::INFINITY,
            1 => f64::NEG_INFINITY,
            2 => (c.byte() as f64) / 4.0,
            3 => f64::from_bits(c.u64()),
            _ => (c.byte() % 16) as f64,
        };
        // NaN is refused before it reaches a set; -0 is stored as 0 by the listpack.
        let score = if score.is_nan() {
            0.5
        } else if score == 0.0 {
            0.0
        } else {
            score
        };
        match op % 5 {
            0 | 1 => {
                let new = z.upsert(&member, lim, |_| Some(score)).0.is_none();
                assert_eq!(new, m.insert(member, score).is_none(), "ZADD");
            }
            2 => assert_eq!(z.remove(&member), m.remove(&member).is_some(), "ZREM"),
            3 => {
                let n = (c.byte() % 8) as usize;
                let max = op & 0x80 != 0;
                let got = z.pop(n, max);
                let mut want = ordered(&m);
                if max {
                    want.reverse();
                }
                want.truncate(n);
                for (k, _) in &want {
                    m.remove(k);
                }
                let got: Vec<(Vec<u8>, u64)> =
                    got.into_iter().map(|(k, s)| (k, s.to_bits())).collect();
                let want: Vec<(Vec<u8>, u64)> =
                    want.into_iter().map(|(k, s)| (k, s.to_bits())).collect();
                assert_eq!(got, want, "pop");
            }
            _ if !m.is_empty() => {
                let a = (c.byte() as usize) % m.len();
                let b = a + (c.byte() as usize) % (m.len() - a);
                z.remove_ranks(a, b + 1);
                for (k, _) in &ordered(&m)[a..=b] {
                    m.remove(k);
                }
            }
            _ => {}
        }
        let want = ordered(&m);
        assert_eq!(z.len(), want.len(), "length");
        let got: Vec<(Vec<u8>, u64)> = z.iter().map(|(k, s)| (k.to_vec(), s.to_bits())).collect();
        let exp: Vec<(Vec<u8>, u64)> = want.iter().map(|(k, s)| (k.clone(), s.to_bits())).collect();
        assert_eq!(got, exp, "order");
        if let Some((k, s)) = want.get(want.len() / 2) {
            assert_eq!(z.rank(k).map(|(r, _)| r), Some(want.len() / 2), "rank");
            assert_eq!(z.score(k).map(f64::to_bits), Some(s.to_bits()), "score");
            assert_eq!(
                z.nth(want.len() / 2).map(|(m, _)| m.to_vec()),
                Some(k.clone()),
                "nth"
            );
        }
    }
}
