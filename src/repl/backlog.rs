//! The replication backlog: the last `repl-backlog-size` bytes of the replication
//! stream, so a replica that lost its link for a moment continues from its offset
//! (`PSYNC replid offset` answered `+CONTINUE`) instead of loading a whole new copy.
//!
//! Offsets count stream bytes since the replication ID began, as Redis counts them: the
//! first byte is offset 1, and `offset()` is the last byte written. A ring buffer holds
//! the bytes from `first()` to `offset()`.

/// A ring of the most recent stream bytes.
#[derive(Debug)]
pub struct Backlog {
    buf: Vec<u8>,
    /// Where the next byte goes in `buf`.
    head: usize,
    /// Bytes held (at most `buf.len()`).
    held: usize,
    /// Offset of the last byte written.
    offset: u64,
}

impl Backlog {
    /// A backlog of `size` bytes whose next byte will be `offset + 1`.
    pub fn new(size: usize, offset: u64) -> Backlog {
        Backlog {
            buf: vec![0; size.max(1)],
            head: 0,
            held: 0,
            offset,
        }
    }

    pub fn size(&self) -> usize {
        self.buf.len()
    }

    /// Offset of the last byte written.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Offset of the oldest byte held (`offset() + 1` when empty).
    pub fn first(&self) -> u64 {
        self.offset + 1 - self.held as u64
    }

    /// Bytes held.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Appends stream bytes.
    pub fn append(&mut self, mut data: &[u8]) {
        self.offset += data.len() as u64;
        let cap = self.buf.len();
        if data.len() >= cap {
            data = &data[data.len() - cap..];
            self.buf.copy_from_slice(data);
            self.head = 0;
            self.held = cap;
            return;
        }
        let first = data.len().min(cap - self.head);
        self.buf[self.head..self.head + first].copy_from_slice(&data[..first]);
        self.buf[..data.len() - first].copy_from_slice(&data[first..]);
        self.head = (self.head + data.len()) % cap;
        self.held = (self.held + data.len()).min(cap);
    }

    /// The bytes from offset `from` to the end, if the backlog still holds them all
    /// (`from` may be `offset() + 1`: nothing to send).
    pub fn since(&self, from: u64) -> Option<Vec<u8>> {
        if from < self.first() || from > self.offset + 1 {
            return None;
        }
        let n = (self.offset + 1 - from) as usize;
        let cap = self.buf.len();
        let start = (self.head + cap - n % cap) % cap;
        let mut out = Vec::with_capacity(n);
        if n == 0 {
            return Some(out);
        }
        if start + n <= cap {
            out.extend_from_slice(&self.buf[start..start + n]);
        } else {
            out.extend_from_slice(&self.buf[start..]);
            out.extend_from_slice(&self.buf[..n - (cap - start)]);
        }
        Some(out)
    }

    /// Changes the size, keeping the most recent bytes that fit.
    pub fn resize(&mut self, size: usize) {
        let keep = self.held.min(size.max(1));
        let tail = self
            .since(self.offset + 1 - keep as u64)
            .unwrap_or_default();
        let offset = self.offset - keep as u64;
        *self = Backlog::new(size, offset);
        self.append(&tail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a plain vector of everything written, at every size and cut.
    #[test]
    fn holds_the_most_recent_bytes() {
        for size in [1usize, 7, 16, 100] {
            let mut b = Backlog::new(size, 1000);
            let mut all: Vec<u8> = Vec::new();
            let mut x = 0u8;
            for step in [3usize, 5, 16, 1, 0, 40, 7, 7, 100, 2] {
                let chunk: Vec<u8> = (0..step)
                    .map(|_| {
                        x = x.wrapping_add(1);
                        x
                    })
                    .collect();
                b.append(&chunk);
                all.extend_from_slice(&chunk);
                assert_eq!(b.offset(), 1000 + all.len() as u64);
                let held = all.len().min(size);
                assert_eq!(b.first(), b.offset() + 1 - held as u64);
                for from in b.first()..=b.offset() + 1 {
                    let want = &all[(from - 1001) as usize..];
                    assert_eq!(b.since(from).unwrap(), want, "size {size} from {from}");
                }
                assert!(b.since(b.first().saturating_sub(1)).is_none() || b.first() == 1);
                assert!(b.since(b.offset() + 2).is_none());
            }
            b.resize(size * 2);
            assert_eq!(b.since(b.first()).unwrap(), &all[all.len() - b.held()..]);
        }
    }
}
