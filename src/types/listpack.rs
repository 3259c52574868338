//! `Listpack`: the compact encoding of small hashes, field/value strings packed back to back
//! in one allocation, like Redis's listpack.
//!
//! Layout: a 4-byte little-endian pair count, then for each pair the field and the value,
//! each as a length header and its bytes. The header is the length in LEB128: one byte up
//! to 127 bytes (every string that fits `hash-max-listpack-value`'s default of 64), more
//! beyond. An empty listpack owns no memory.
//!
//! A hash of ten short fields costs its string bytes plus two bytes a pair and four in
//! total, in one allocation, against 48 bytes a pair for a vector of inline strings. The
//! price is a linear scan per lookup, which for a few hundred short entries in one
//! contiguous buffer is as fast as hashing. Pairs keep their insertion order and an update
//! keeps its position.

/// Bytes before the first pair (the count).
const HEAD: usize = 4;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Listpack {
    buf: Vec<u8>,
}

impl std::fmt::Debug for Listpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Reads a length header at `p`: (length, header size).
#[inline]
fn read_len(buf: &[u8], p: usize) -> (usize, usize) {
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

/// Appends a length header.
fn push_len(buf: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        buf.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

fn len_size(mut n: usize) -> usize {
    let mut s = 1;
    while n >= 0x80 {
        n >>= 7;
        s += 1;
    }
    s
}

/// Where a pair lives: start of the field header, start and end of the value bytes.
struct Slot {
    start: usize,
    value_hdr: usize,
    value: usize,
    end: usize,
}

impl Listpack {
    pub fn len(&self) -> usize {
        if self.buf.is_empty() {
            return 0;
        }
        u32::from_le_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize
    }

    fn set_len(&mut self, n: usize) {
        self.buf[..HEAD].copy_from_slice(&(n as u32).to_le_bytes());
    }

    /// The pair starting at byte `p`.
    #[inline]
    fn slot_at(&self, p: usize) -> Slot {
        let (flen, fh) = read_len(&self.buf, p);
        let value_hdr = p + fh + flen;
        let (vlen, vh) = read_len(&self.buf, value_hdr);
        Slot {
            start: p,
            value_hdr,
            value: value_hdr + vh,
            end: value_hdr + vh + vlen,
        }
    }

    fn find(&self, field: &[u8]) -> Option<Slot> {
        let mut p = HEAD;
        while p < self.buf.len() {
            let (flen, fh) = read_len(&self.buf, p);
            let f = &self.buf[p + fh..p + fh + flen];
            if f == field {
                return Some(self.slot_at(p));
            }
            let vp = p + fh + flen;
            let (vlen, vh) = read_len(&self.buf, vp);
            p = vp + vh + vlen;
        }
        None
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.find(field).map(|s| &self.buf[s.value..s.end])
    }

    /// Sets `field` to `value`; true if the field is new. An existing field keeps its
    /// position.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some(s) = self.find(field) {
            if &self.buf[s.value..s.end] != value {
                let mut rep = Vec::with_capacity(len_size(value.len()) + value.len());
                push_len(&mut rep, value.len());
                rep.extend_from_slice(value);
                self.buf.splice(s.value_hdr..s.end, rep);
            }
            return false;
        }
        let need = len_size(field.len()) + field.len() + len_size(value.len()) + value.len();
        if self.buf.is_empty() {
            self.buf.reserve_exact(HEAD + need);
            self.buf.extend_from_slice(&[0; HEAD]);
        } else if self.buf.capacity() - self.buf.len() < need {
            // A little slack, not doubling: most hashes are built once and stay small.
            self.buf.reserve_exact(need + self.buf.len() / 8);
        }
        push_len(&mut self.buf, field.len());
        self.buf.extend_from_slice(field);
        push_len(&mut self.buf, value.len());
        self.buf.extend_from_slice(value);
        let n = self.len() + 1;
        self.set_len(n);
        true
    }

    /// Removes `field`; true if it existed. The order of the rest is kept.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let Some(s) = self.find(field) else {
            return false;
        };
        self.buf.drain(s.start..s.end);
        let n = self.len() - 1;
        if n == 0 {
            self.buf = Vec::new();
        } else {
            self.set_len(n);
            if self.buf.capacity() > self.buf.len() * 2 {
                self.buf.shrink_to_fit();
            }
        }
        true
    }

    /// The pair at position `i` (a scan: O(i)).
    pub fn get_index(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.iter().nth(i)
    }

    pub fn iter(&self) -> ListpackIter<'_> {
        ListpackIter {
            buf: &self.buf,
            p: HEAD.min(self.buf.len()),
        }
    }

    /// Bytes allocated.
    pub fn heap_bytes(&self) -> usize {
        super::alloc_size(self.buf.capacity())
    }
}

/// Pairs in storage order.
pub struct ListpackIter<'a> {
    buf: &'a [u8],
    p: usize,
}

impl<'a> Iterator for ListpackIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.p >= self.buf.len() {
            return None;
        }
        let (flen, fh) = read_len(self.buf, self.p);
        let f = self.p + fh;
        let (vlen, vh) = read_len(self.buf, f + flen);
        let v = f + flen + vh;
        self.p = v + vlen;
        Some((&self.buf[f..f + flen], &self.buf[v..v + vlen]))
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
        assert_eq!(lp.get(b"bio"), Some(&long[..]));
        assert_eq!(lp.get_index(1), Some((&b"age"[..], &b"25"[..])));
        assert!(lp.remove(b"age"));
        assert!(!lp.remove(b"age"));
        assert_eq!(lp.get(b"age"), None);
        assert_eq!(lp.get(b""), Some(&b""[..]));
        for f in [&b"name"[..], b"", b"bio"] {
            assert!(lp.remove(f));
        }
        assert_eq!(lp.len(), 0);
        assert_eq!(lp.heap_bytes(), 0);
    }

    /// Random operations agree with a simple vector model, including long strings.
    #[test]
    fn matches_a_model() {
        let mut rng = crate::rand::Rng::from_entropy();
        for _ in 0..200 {
            let mut lp = Listpack::default();
            let mut model: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            for _ in 0..200 {
                let f = format!("f{}", rng.below(20)).into_bytes();
                let vlen = [0, 1, 5, 127, 128, 200, 20000][rng.below(7) as usize];
                let v = vec![b'a' + rng.below(26) as u8; vlen];
                if rng.below(3) == 0 {
                    let had = model.iter().position(|(k, _)| *k == f);
                    assert_eq!(lp.remove(&f), had.is_some());
                    if let Some(i) = had {
                        model.remove(i);
                    }
                } else {
                    let new = match model.iter_mut().find(|(k, _)| *k == f) {
                        Some(slot) => {
                            slot.1 = v.clone();
                            false
                        }
                        None => {
                            model.push((f.clone(), v.clone()));
                            true
                        }
                    };
                    assert_eq!(lp.insert(&f, &v), new);
                }
                let got: Vec<_> = lp.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
                assert_eq!(got, model);
                assert_eq!(lp.len(), model.len());
            }
        }
    }
}
