//! `Listpack`: the compact encoding of small hashes, field/value strings packed back to back
//! in one allocation, like Redis's listpack.
//!
//! Layout: a header, then for each pair the field and the value. The header is LEB128 of
//! the pair count shifted left by one, with the ex-mode flag (below) in the low bit: one
//! byte up to 63 pairs.
//! A field is a length header and its bytes; the header is the length in LEB128, one byte
//! up to 127 bytes (every string that fits `hash-max-listpack-value`'s default of 64), more
//! beyond. A value's LEB128 header carries a tag in its low bit: 0 means the rest is a
//! length and the bytes follow; 1 means the value is a canonical decimal integer (what
//! `parse_i64` accepts, printed back identically), stored zigzag-encoded in the header
//! itself with no bytes after it. Counters, ages, flags and scores are common hash values:
//! `42` takes 2 bytes instead of 3, `1` one instead of 2, `1700000000` 5 instead of 11.
//! An empty listpack owns no memory.
//!
//! A hash of ten short fields costs its string bytes plus two bytes a pair and four in
//! total, in one allocation, against 48 bytes a pair for a vector of inline strings. The
//! price is a linear scan per lookup, which for a few hundred short entries in one
//! contiguous buffer is as fast as hashing. Pairs keep their insertion order and an update
//! keeps its position.
//!
//! Field expiry ("ex" mode, Redis's `listpackex`): once any field gets a deadline, the
//! header's flag is set and every pair carries a third item, its deadline in Unix
//! milliseconds as a LEB128 number (0: none, one byte). Redis keeps such a listpack sorted
//! the same way and users see that order in HGETALL, so ferrokv does too: fields with a
//! deadline come first, soonest first, and fields without one follow in insertion order.
//! Setting a deadline moves the field to its place in that order (before any field with
//! an equal deadline); removing it (HPERSIST, or HSET overwriting the field) moves the
//! field to the end. Keeping the soonest deadline first makes "is anything expired?" a
//! read of the first pair, and reclaiming expired fields a cut from the front.

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Listpack {
    /// Exactly sized, as Redis's listpack: every change reallocates, which for a buffer
    /// of a few hundred bytes costs about what the change's own copying does, and no
    /// capacity is wasted in millions of small hashes (nor a capacity word: the hash
    /// fits in 16 bytes).
    buf: Box<[u8]>,
}

impl std::fmt::Debug for Listpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter_ttl()).finish()
    }
}

/// Reads a length header (or a deadline) at `p`: (number, header size).
#[inline]
pub(super) fn read_len(buf: &[u8], p: usize) -> (usize, usize) {
    let b = buf[p];
    if b < 0x80 {
        return (b as usize, 1);
    }
    let mut n = (b & 0x7f) as usize;
    let mut shift = 7;
    let mut i = 1;
    loop {
        let b = buf[p + i];
        n |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b < 0x80 {
            return (n, i);
        }
        shift += 7;
    }
}

/// Appends a length header (or a deadline).
pub(super) fn push_len(buf: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        buf.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

pub(super) fn len_size(mut n: usize) -> usize {
    let mut s = 1;
    while n >= 0x80 {
        n >>= 7;
        s += 1;
    }
    s
}

/// Integers outside this range are stored as text (zigzag plus the tag must fit 64 bits).
const INT_LIMIT: i64 = 1 << 61;

/// The integer a value is stored as, if it is a canonical decimal in range.
#[inline]
pub(super) fn as_int(v: &[u8]) -> Option<i64> {
    if v.is_empty() || v.len() > 19 || !(v[0] == b'-' || v[0].is_ascii_digit()) {
        return None;
    }
    crate::num::parse_i64(v).filter(|n| (-INT_LIMIT..INT_LIMIT).contains(n))
}

/// The header of an integer value.
pub(super) fn int_header(n: i64) -> usize {
    ((((n << 1) ^ (n >> 63)) as usize) << 1) | 1
}

/// Bytes a value takes when stored.
pub(super) fn value_size(v: &[u8]) -> usize {
    match as_int(v) {
        Some(n) => len_size(int_header(n)),
        None => len_size(v.len() << 1) + v.len(),
    }
}

/// Appends a value (header and bytes).
pub(super) fn push_value(buf: &mut Vec<u8>, v: &[u8]) {
    match as_int(v) {
        Some(n) => push_len(buf, int_header(n)),
        None => {
            push_len(buf, v.len() << 1);
            buf.extend_from_slice(v);
        }
    }
}

/// Writes a value into `dst`, which is exactly `value_size(v)` bytes.
pub(super) fn write_value(dst: &mut [u8], v: &[u8]) {
    let (mut h, body) = match as_int(v) {
        Some(n) => (int_header(n), &[][..]),
        None => (v.len() << 1, v),
    };
    let mut i = 0;
    while h >= 0x80 {
        dst[i] = (h as u8 & 0x7f) | 0x80;
        h >>= 7;
        i += 1;
    }
    dst[i] = h as u8;
    dst[i + 1..].copy_from_slice(body);
}

/// Reads the value at `p`: the value and where it ends.
#[inline]
pub(super) fn read_value(buf: &[u8], p: usize) -> (Val<'_>, usize) {
    let (h, hs) = read_len(buf, p);
    if h & 1 == 1 {
        let z = (h >> 1) as u64;
        let n = ((z >> 1) as i64) ^ -((z & 1) as i64);
        (Val::int(n), p + hs)
    } else {
        let start = p + hs;
        let end = start + (h >> 1);
        (Val::Bytes(&buf[start..end]), end)
    }
}

/// A value read from a listpack: its bytes in the buffer, or an integer printed on
/// demand. Derefs to the bytes either way.
#[derive(Clone, Copy)]
pub enum Val<'a> {
    Bytes(&'a [u8]),
    Int { buf: [u8; 20], len: u8 },
}

impl Val<'_> {
    /// An integer, printed in decimal.
    pub fn int(n: i64) -> Self {
        let mut tmp = [0u8; 20];
        let text = crate::num::fmt_i64(n, &mut tmp);
        let mut buf = [0u8; 20];
        buf[..text.len()].copy_from_slice(text);
        Val::Int {
            buf,
            len: text.len() as u8,
        }
    }
}

impl std::ops::Deref for Val<'_> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Val::Bytes(b) => b,
            Val::Int { buf, len } => &buf[..*len as usize],
        }
    }
}

impl std::fmt::Debug for Val<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

impl PartialEq<[u8]> for Val<'_> {
    fn eq(&self, o: &[u8]) -> bool {
        **self == *o
    }
}

/// Where a pair lives: start of the field header, start of the value header, the end of
/// the value, the end of the pair (after its deadline in ex mode) and the deadline (0:
/// none).
struct Slot {
    start: usize,
    value_hdr: usize,
    value_end: usize,
    end: usize,
    ttl: u64,
}

impl Listpack {
    /// The packed bytes (for prefetching).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// (pair count, ex mode, header size).
    #[inline]
    fn head(&self) -> (usize, bool, usize) {
        if self.buf.is_empty() {
            return (0, false, 0);
        }
        let (w, hl) = read_len(&self.buf, 0);
        (w >> 1, w & 1 == 1, hl)
    }

    /// Where the first pair starts.
    #[inline]
    fn first(&self) -> usize {
        self.head().2
    }

    pub fn len(&self) -> usize {
        self.head().0
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// True once a field has had a deadline (Redis reports `listpackex` from then on).
    pub fn is_ex(&self) -> bool {
        self.head().1
    }

    fn set_len(&mut self, n: usize) {
        let (_, ex, hl) = self.head();
        let head = (n << 1) | ex as usize;
        if len_size(head) == hl {
            // The common case, in place: no allocation (this runs for every new field).
            let mut v = head;
            for b in &mut self.buf[..hl] {
                *b = (v as u8 & 0x7f) | if v >= 0x80 { 0x80 } else { 0 };
                v >>= 7;
            }
        } else {
            let mut h = Vec::with_capacity(3);
            push_len(&mut h, head);
            self.edit(|b| {
                b.splice(0..hl, h);
            });
        }
    }

    /// The pair starting at byte `p`.
    #[inline]
    fn slot_at(&self, p: usize, ex: bool) -> Slot {
        let (flen, fh) = read_len(&self.buf, p);
        let value_hdr = p + fh + flen;
        let value_end = read_value(&self.buf, value_hdr).1;
        let (ttl, th) = if ex {
            read_len(&self.buf, value_end)
        } else {
            (0, 0)
        };
        Slot {
            start: p,
            value_hdr,
            value_end,
            end: value_end + th,
            ttl: ttl as u64,
        }
    }

    fn find(&self, field: &[u8]) -> Option<Slot> {
        let (_, ex, mut p) = self.head();
        while p < self.buf.len() {
            let (flen, fh) = read_len(&self.buf, p);
            if &self.buf[p + fh..p + fh + flen] == field {
                return Some(self.slot_at(p, ex));
            }
            p = read_value(&self.buf, p + fh + flen).1;
            if ex {
                p += read_len(&self.buf, p).1;
            }
        }
        None
    }

    pub fn get(&self, field: &[u8]) -> Option<Val<'_>> {
        self.find(field)
            .map(|s| read_value(&self.buf, s.value_hdr).0)
    }

    /// True if the value in `s` is `value` (the encoding is a function of the bytes, so
    /// equal bytes mean equal encodings).
    fn same_value(&self, s: &Slot, value: &[u8]) -> bool {
        *read_value(&self.buf, s.value_hdr).0 == *value
    }

    /// The deadline of `field`: None if missing, Some(0) if it has none.
    pub fn ttl(&self, field: &[u8]) -> Option<u64> {
        self.find(field).map(|s| s.ttl)
    }

    /// The soonest deadline (0: none). Deadlines are sorted to the front.
    pub fn min_ttl(&self) -> u64 {
        let (n, ex, first) = self.head();
        if !ex || n == 0 {
            return 0;
        }
        self.slot_at(first, true).ttl
    }

    /// Sets `field` to `value` and drops its deadline, as HSET does; true if the field is
    /// new. A field without a deadline keeps its position; one with a deadline moves to
    /// the end (where fields without one go).
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some(s) = self.find(field) {
            if s.ttl != 0 {
                self.edit(|b| {
                    b.drain(s.start..s.end);
                });
                self.append(field, value, 0);
            } else if !self.same_value(&s, value) {
                self.replace_value(&s, value);
            }
            return false;
        }
        self.append(field, value, 0);
        self.set_len(self.len() + 1);
        true
    }

    /// Sets `field` to `value` keeping its deadline and position (HINCRBY, HSETEX
    /// KEEPTTL); true if the field is new.
    pub fn insert_keep_ttl(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some(s) = self.find(field) {
            if !self.same_value(&s, value) {
                self.replace_value(&s, value);
            }
            return false;
        }
        self.append(field, value, 0);
        self.set_len(self.len() + 1);
        true
    }

    /// Runs `f` on the buffer as a vector, then stores it exactly sized again.
    fn edit(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        let mut v = std::mem::take(&mut self.buf).into_vec();
        f(&mut v);
        self.buf = v.into_boxed_slice();
    }

    fn replace_value(&mut self, s: &Slot, value: &[u8]) {
        if value_size(value) == s.value_end - s.value_hdr {
            // Same size (the common counter or flag update): overwrite in place, no
            // allocation.
            write_value(&mut self.buf[s.value_hdr..s.value_end], value);
            return;
        }
        // Built exactly sized in one allocation: a splice into the old buffer would
        // allocate the replacement, grow the buffer and shrink it again.
        let old = &self.buf;
        let mut b = Vec::with_capacity(old.len() - (s.value_end - s.value_hdr) + value_size(value));
        b.extend_from_slice(&old[..s.value_hdr]);
        push_value(&mut b, value);
        b.extend_from_slice(&old[s.value_end..]);
        self.buf = b.into_boxed_slice();
    }

    /// Appends a pair (the count is the caller's).
    fn append(&mut self, field: &[u8], value: &[u8], ttl: u64) {
        let ex = self.is_ex();
        let need = len_size(field.len())
            + field.len()
            + value_size(value)
            + if ex { len_size(ttl as usize) } else { 0 };
        self.edit(|b| {
            b.reserve_exact(need + if b.is_empty() { 1 } else { 0 });
            if b.is_empty() {
                b.push(0); // No pairs yet; the caller sets the count.
            }
            push_len(b, field.len());
            b.extend_from_slice(field);
            push_value(b, value);
            if ex {
                push_len(b, ttl as usize);
            }
        });
    }

    /// Switches to ex mode: a zero deadline after every pair.
    pub fn make_ex(&mut self) {
        if self.is_ex() || self.buf.is_empty() {
            return;
        }
        let (n, _, mut p) = self.head();
        let mut buf = Vec::with_capacity(self.buf.len() + n + 1);
        push_len(&mut buf, (n << 1) | 1);
        while p < self.buf.len() {
            let s = self.slot_at(p, false);
            buf.extend_from_slice(&self.buf[s.start..s.end]);
            buf.push(0);
            p = s.end;
        }
        self.buf = buf.into_boxed_slice();
    }

    /// Gives an existing `field` the deadline `at` (non-zero, Unix ms) and moves it to its
    /// place in deadline order; false if the field is missing.
    pub fn set_ttl(&mut self, field: &[u8], at: u64) -> bool {
        debug_assert!(at != 0);
        self.make_ex();
        let Some(s) = self.find(field) else {
            return false;
        };
        let mut pair = Vec::with_capacity(s.end - s.start + 8);
        pair.extend_from_slice(&self.buf[s.start..s.value_end]);
        push_len(&mut pair, at as usize);
        self.edit(|b| {
            b.drain(s.start..s.end);
        });
        // Before the first pair whose deadline is none or not sooner.
        let mut p = self.first();
        while p < self.buf.len() {
            let t = self.slot_at(p, true);
            if t.ttl == 0 || t.ttl >= at {
                break;
            }
            p = t.end;
        }
        self.edit(|b| {
            b.splice(p..p, pair);
        });
        true
    }

    /// Drops the deadline of `field`, moving it to the end; false if it had none or is
    /// missing.
    pub fn persist(&mut self, field: &[u8]) -> bool {
        let Some(s) = self.find(field) else {
            return false;
        };
        if s.ttl == 0 {
            return false;
        }
        let mut pair = Vec::with_capacity(s.end - s.start);
        pair.extend_from_slice(&self.buf[s.start..s.value_end]);
        pair.push(0);
        self.edit(|b| {
            b.drain(s.start..s.end);
            b.extend_from_slice(&pair);
        });
        true
    }

    /// Removes `field`; true if it existed. The order of the rest is kept.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let Some(s) = self.find(field) else {
            return false;
        };
        self.edit(|b| {
            b.drain(s.start..s.end);
        });
        self.after_removal(1);
        true
    }

    fn after_removal(&mut self, removed: usize) {
        let n = self.len() - removed;
        if n == 0 {
            self.buf = Box::default();
        } else {
            self.set_len(n);
        }
    }

    /// Removes fields whose deadline is at or before `now` (they are at the front), at
    /// most `limit`, passing each field name to `gone`; returns how many went.
    pub fn remove_expired(&mut self, now: u64, limit: usize, mut gone: impl FnMut(&[u8])) -> usize {
        let (_, ex, first) = self.head();
        if !ex {
            return 0;
        }
        let mut p = first;
        let mut n = 0;
        while p < self.buf.len() && n < limit {
            let s = self.slot_at(p, true);
            if s.ttl == 0 || s.ttl > now {
                break;
            }
            let (flen, fh) = read_len(&self.buf, p);
            gone(&self.buf[p + fh..p + fh + flen]);
            p = s.end;
            n += 1;
        }
        if n > 0 {
            self.edit(|b| {
                b.drain(first..p);
            });
            self.after_removal(n);
        }
        n
    }

    /// The pair at position `i` (a scan: O(i)).
    pub fn get_index(&self, i: usize) -> Option<(&[u8], Val<'_>)> {
        self.iter().nth(i)
    }

    pub fn iter(&self) -> ListpackIter<'_> {
        ListpackIter {
            buf: &self.buf,
            p: self.first(),
            ex: self.is_ex(),
        }
    }

    /// Pairs with their deadlines (0: none).
    pub fn iter_ttl(&self) -> impl Iterator<Item = (&[u8], Val<'_>, u64)> + '_ {
        let (_, ex, mut p) = self.head();
        std::iter::from_fn(move || {
            if p >= self.buf.len() {
                return None;
            }
            let s = self.slot_at(p, ex);
            let (flen, fh) = read_len(&self.buf, p);
            p = s.end;
            Some((
                &self.buf[s.start + fh..s.start + fh + flen],
                read_value(&self.buf, s.value_hdr).0,
                s.ttl,
            ))
        })
    }

    /// Bytes allocated.
    pub fn heap_bytes(&self) -> usize {
        super::alloc_size(self.buf.len())
    }
}

/// Pairs in storage order.
pub struct ListpackIter<'a> {
    buf: &'a [u8],
    p: usize,
    ex: bool,
}

impl<'a> Iterator for ListpackIter<'a> {
    type Item = (&'a [u8], Val<'a>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.p >= self.buf.len() {
            return None;
        }
        let (flen, fh) = read_len(self.buf, self.p);
        let f = self.p + fh;
        let (v, end) = read_value(self.buf, f + flen);
        self.p = end;
        if self.ex {
            self.p += read_len(self.buf, self.p).1;
        }
        Some((&self.buf[f..f + flen], v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_update_remove_keep_order() {
        let mut lp = Listpack::default();
        assert_eq!(lp.heap_bytes(), 0);
        assert!(lp.insert(b"name", b"Alice"));
        assert!(lp.insert(b"age", b"25"));
        assert!(lp.insert(b"", b""));
        let long = vec![b'x'; 300];
        assert!(lp.insert(b"bio", &long));
        assert!(!lp.insert(b"name", b"Bob-the-builder"));
        assert_eq!(lp.len(), 4);
        let got: Vec<_> = lp.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        assert_eq!(
            got,
            vec![
                (b"name".to_vec(), b"Bob-the-builder".to_vec()),
                (b"age".to_vec(), b"25".to_vec()),
                (b"".to_vec(), b"".to_vec()),
                (b"bio".to_vec(), long.clone()),
            ]
        );
        assert_eq!(lp.get(b"bio").as_deref(), Some(&long[..]));
        assert_eq!(
            lp.get_index(1).map(|(f, v)| (f, v.to_vec())),
            Some((&b"age"[..], b"25".to_vec()))
        );
        assert!(lp.remove(b"age"));
        assert!(!lp.remove(b"age"));
        assert_eq!(lp.get(b"age").as_deref(), None);
        assert_eq!(lp.get(b"").as_deref(), Some(&b""[..]));
        for f in [&b"name"[..], b"", b"bio"] {
            assert!(lp.remove(f));
        }
        assert_eq!(lp.len(), 0);
        assert_eq!(lp.heap_bytes(), 0);
    }

    /// Texts around the integer encoding's edges: canonical integers are stored as
    /// numbers, everything else as bytes, and all read back unchanged.
    const INT_TEXTS: &[&[u8]] = &[
        b"0",
        b"1",
        b"-1",
        b"42",
        b"63",
        b"64",
        b"-64",
        b"-65",
        b"007",
        b"+5",
        b"-0",
        b"1.5",
        b"12a",
        b" 1",
        b"9223372036854775807",
        b"-9223372036854775808",
        b"2305843009213693951",
        b"2305843009213693952",
        b"-2305843009213693952",
        b"-2305843009213693953",
        b"99999999999999999999",
    ];

    #[test]
    fn integers_are_compact_and_read_back_exactly() {
        let mut lp = Listpack::default();
        for (i, t) in INT_TEXTS.iter().enumerate() {
            lp.insert(format!("f{i}").as_bytes(), t);
        }
        for (i, t) in INT_TEXTS.iter().enumerate() {
            assert_eq!(lp.get(format!("f{i}").as_bytes()).as_deref(), Some(*t));
        }
        let got: Vec<Vec<u8>> = lp.iter().map(|(_, v)| v.to_vec()).collect();
        let want: Vec<Vec<u8>> = INT_TEXTS.iter().map(|t| t.to_vec()).collect();
        assert_eq!(got, want);
        // Small integers take one byte, their text two or more.
        assert_eq!(value_size(b"42"), 2);
        assert_eq!(value_size(b"7"), 1);
        assert_eq!(value_size(b"-1"), 1);
        assert_eq!(value_size(b"007"), 4);
        // Updating to the same value in another spelling is a change.
        assert!(!lp.insert(b"f0", b"00"));
        assert_eq!(lp.get(b"f0").as_deref(), Some(&b"00"[..]));
    }

    /// The count header grows from one byte to two at 64 pairs and shrinks back.
    #[test]
    fn count_header_grows_and_shrinks() {
        let mut lp = Listpack::default();
        for i in 0..300 {
            assert!(lp.insert(format!("f{i}").as_bytes(), b"v"));
            assert_eq!(lp.len(), i + 1);
        }
        lp.set_ttl(b"f299", 5);
        assert!(lp.is_ex());
        assert_eq!(
            lp.iter().next().map(|(f, _)| f.to_vec()),
            Some(b"f299".to_vec())
        );
        for i in (1..300).rev() {
            assert!(lp.remove(format!("f{i}").as_bytes()));
            assert_eq!(lp.len(), i);
            assert!(lp.is_ex());
            assert_eq!(lp.iter().count(), i);
        }
        assert_eq!(lp.get(b"f0").as_deref(), Some(&b"v"[..]));
        assert_eq!(lp.first(), 1);
    }

    /// The order Redis 8 gives a listpackex (checked against redis-server 8.0.2).
    #[test]
    fn deadlines_sort_to_the_front() {
        let mut lp = Listpack::default();
        for f in [b"a", b"b", b"c", b"d", b"e"] {
            lp.insert(f, b"v");
        }
        let keys = |lp: &Listpack| -> String {
            lp.iter()
                .map(|(f, _)| String::from_utf8_lossy(f).into_owned())
                .collect()
        };
        assert!(lp.set_ttl(b"d", 300));
        assert!(lp.set_ttl(b"b", 200));
        assert!(lp.set_ttl(b"a", 301));
        assert_eq!(keys(&lp), "bdace");
        assert!(lp.is_ex());
        assert_eq!(lp.min_ttl(), 200);
        assert!(lp.persist(b"b"));
        assert!(!lp.persist(b"b"));
        assert_eq!(keys(&lp), "daceb");
        // Equal deadlines: the later one goes first.
        assert!(lp.set_ttl(b"c", 300));
        assert_eq!(keys(&lp), "cdaeb");
        // HSET drops a deadline and moves the field to the end; HINCRBY keeps both.
        assert!(!lp.insert(b"c", b"w"));
        assert_eq!(keys(&lp), "daebc");
        assert!(!lp.insert_keep_ttl(b"d", b"9"));
        assert_eq!(lp.ttl(b"d"), Some(300));
        assert_eq!(lp.get(b"d").as_deref(), Some(&b"9"[..]));
        let mut gone = Vec::new();
        assert_eq!(lp.remove_expired(300, 10, |f| gone.push(f.to_vec())), 1);
        assert_eq!(gone, vec![b"d".to_vec()]);
        assert_eq!(keys(&lp), "aebc");
        assert_eq!(lp.len(), 4);
        assert_eq!(lp.ttl(b"a"), Some(301));
        assert_eq!(lp.ttl(b"e"), Some(0));
        assert_eq!(lp.ttl(b"zz"), None);
    }

    /// Random operations, deadlines included, agree with a simple vector model that
    /// applies Redis's ordering rules, with long strings and large deadlines.
    #[test]
    fn matches_a_model() {
        let mut rng = crate::rand::Rng::from_entropy();
        for _ in 0..200 {
            let mut lp = Listpack::default();
            // (field, value, deadline)
            let mut model: Vec<(Vec<u8>, Vec<u8>, u64)> = Vec::new();
            for _ in 0..200 {
                let f = format!("f{}", rng.below(20)).into_bytes();
                let vlen = [0, 1, 5, 127, 128, 200, 20000][rng.below(7) as usize];
                let v = if rng.below(3) == 0 {
                    INT_TEXTS[rng.below(INT_TEXTS.len() as u64) as usize].to_vec()
                } else {
                    vec![b'a' + rng.below(26) as u8; vlen]
                };
                let at = [1, 2, 3, 1_700_000_000_000, 70_368_744_177_663][rng.below(5) as usize];
                let pos = model.iter().position(|(k, _, _)| *k == f);
                match rng.below(7) {
                    0 => {
                        assert_eq!(lp.remove(&f), pos.is_some());
                        if let Some(i) = pos {
                            model.remove(i);
                        }
                    }
                    1 => {
                        assert_eq!(lp.set_ttl(&f, at), pos.is_some());
                        if let Some(i) = pos {
                            let mut e = model.remove(i);
                            e.2 = at;
                            let j = model
                                .iter()
                                .position(|x| x.2 == 0 || x.2 >= at)
                                .unwrap_or(model.len());
                            model.insert(j, e);
                        }
                    }
                    2 => {
                        let had = pos.is_some_and(|i| model[i].2 != 0);
                        assert_eq!(lp.persist(&f), had);
                        if had {
                            let mut e = model.remove(pos.unwrap());
                            e.2 = 0;
                            model.push(e);
                        }
                    }
                    3 => {
                        assert_eq!(lp.insert_keep_ttl(&f, &v), pos.is_none());
                        match pos {
                            Some(i) => model[i].1 = v.clone(),
                            None => model.push((f.clone(), v.clone(), 0)),
                        }
                    }
                    4 => {
                        let now = rng.below(4);
                        let mut gone = Vec::new();
                        lp.remove_expired(now, usize::MAX, |f| gone.push(f.to_vec()));
                        let want: Vec<_> = model
                            .iter()
                            .filter(|x| x.2 != 0 && x.2 <= now)
                            .map(|x| x.0.clone())
                            .collect();
                        model.retain(|x| x.2 == 0 || x.2 > now);
                        assert_eq!(gone, want);
                    }
                    _ => {
                        assert_eq!(lp.insert(&f, &v), pos.is_none());
                        match pos {
                            Some(i) if model[i].2 != 0 => {
                                model.remove(i);
                                model.push((f.clone(), v.clone(), 0));
                            }
                            Some(i) => model[i].1 = v.clone(),
                            None => model.push((f.clone(), v.clone(), 0)),
                        }
                    }
                }
                let got: Vec<_> = lp
                    .iter_ttl()
                    .map(|(f, v, t)| (f.to_vec(), v.to_vec(), t))
                    .collect();
                assert_eq!(got, model);
                let plain: Vec<_> = lp.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
                assert_eq!(plain.len(), model.len());
                assert_eq!(lp.len(), model.len());
                let min = model.first().map_or(0, |x| x.2);
                assert_eq!(lp.min_ttl(), if lp.is_ex() { min } else { 0 });
            }
        }
    }
}
