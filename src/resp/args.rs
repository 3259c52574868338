//! A parsed command's arguments: byte ranges into the buffer they were read into (the
//! connection's read buffer, the inline side buffer, an AOF chunk), so nothing is copied.
//! Ranges are `usize`, as large as any buffer: a bulk may be as long as
//! `proto-max-bulk-len` and an AOF batch as long as the file allows.

/// A command's arguments copied out of their buffer (a MULTI queue, a transaction in the
/// AOF): one buffer for all bytes, one for the ranges.
pub type OwnedArgs = (Vec<u8>, Vec<(usize, usize)>);

/// The arguments of one command: byte ranges into a buffer, so nothing is copied.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    pub buf: &'a [u8],
    pub ranges: &'a [(usize, usize)],
}

impl<'a> Args<'a> {
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Argument `i` (panics if out of range: arity checks run first).
    pub fn get(&self, i: usize) -> &'a [u8] {
        let (a, b) = self.ranges[i];
        &self.buf[a..b]
    }

    /// True if argument `i` equals `word` ignoring ASCII case.
    pub fn is(&self, i: usize, word: &str) -> bool {
        self.get(i).eq_ignore_ascii_case(word.as_bytes())
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// The arguments from `i` on, as a command of their own (COMMAND GETKEYS).
    pub fn tail(&self, i: usize) -> Args<'a> {
        Args {
            buf: self.buf,
            ranges: &self.ranges[i..],
        }
    }

    /// A copy of the arguments that outlives the read buffer (MULTI queue, AOF replay of
    /// a transaction): one buffer for all bytes, one for the ranges.
    pub fn to_owned_cmd(self) -> OwnedArgs {
        let total: usize = self.iter().map(|a| a.len()).sum();
        let mut buf = Vec::with_capacity(total);
        let mut ranges = Vec::with_capacity(self.len());
        for a in self.iter() {
            let start = buf.len();
            buf.extend_from_slice(a);
            ranges.push((start, buf.len()));
        }
        (buf, ranges)
    }

    /// Argument `i` as a lossy UTF-8 string (for error texts).
    pub fn text(&self, i: usize) -> String {
        String::from_utf8_lossy(self.get(i)).into_owned()
    }
}

/// Arguments built from words, for unit tests of code that takes `Args`.
#[cfg(test)]
pub fn owned(words: &[&str]) -> OwnedArgs {
    let mut buf = Vec::new();
    let mut ranges = Vec::new();
    for w in words {
        ranges.push((buf.len(), buf.len() + w.len()));
        buf.extend_from_slice(w.as_bytes());
    }
    (buf, ranges)
}
