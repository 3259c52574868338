//! Incremental request parser for RESP multibulk and inline commands.
//!
//! The parse state lives in the connection, so a command that arrives in many reads resumes
//! where it stopped instead of rescanning from the start (the way Redis's
//! `processMultibulkBuffer` keeps `multibulklen`/`bulklen` in the client). Multibulk arguments
//! are not copied: the parser records byte ranges into the connection's read buffer. Inline
//! commands may contain quotes and escapes, so their arguments are unescaped into a side
//! buffer owned by the parser.
//!
//! Every length is checked against a limit before anything is reserved, so a declared huge
//! bulk costs nothing until its bytes actually arrive.

use memchr::memchr;

/// Longest inline command, and longest `*<n>` / `$<n>` header line (Redis: 64 KB).
pub const MAX_INLINE: usize = 64 * 1024;
/// Largest multibulk argument count accepted (Redis: INT_MAX).
pub const MAX_MULTIBULK: i64 = i32::MAX as i64;
/// Before a client authenticates it may send only small commands, so a stranger cannot
/// make the server buffer megabytes: at most this many arguments (Redis: 10; AUTH and
/// HELLO ... AUTH fit) ...
pub const UNAUTH_MAX_MULTIBULK: i64 = 10;
/// ... each at most this long (Redis: 16 KB).
pub const UNAUTH_MAX_BULK: usize = 16 * 1024;

/// Most header lines `Parser::peek_keys` reads in one look ahead.
const PEEK_LINES: usize = 512;
/// Longest key `Parser::peek_keys` returns: prefetching a longer one gains nothing, and
/// hashing it ahead would make the look-ahead's cost grow with the client's key size.
const PEEK_KEY_MAX: usize = 512;

/// Where the arguments of a parsed command live.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ArgSource {
    /// Ranges index the connection's read buffer.
    ReadBuf,
    /// Ranges index the parser's inline side buffer.
    Inline,
}

/// Outcome of one parse step.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// A whole command is ready in `Parser::args`; call `Parser::finish` after running it.
    Command(ArgSource),
    /// The buffer ends inside a command: read more bytes and call again.
    Incomplete,
    /// The client broke the protocol: reply with this text (after `-`), then close.
    Error(&'static str),
    /// A protocol error whose text depends on the input (`expected '$', got 'x'`).
    ErrorOwned(String),
}

/// Parse state of one connection.
#[derive(Debug, Default)]
pub struct Parser {
    /// Offset in the read buffer where the next unparsed byte is.
    pos: usize,
    /// Offset where the command being parsed starts (bytes before it are consumed).
    start: usize,
    /// Arguments still expected in the current multibulk (0: between commands).
    multibulk_left: i64,
    /// Length of the bulk whose `$<n>` line was read but whose payload has not all arrived.
    bulk_len: Option<usize>,
    /// Argument ranges of the current command.
    pub args: Vec<(usize, usize)>,
    /// Unescaped inline arguments.
    pub inline: Vec<u8>,
    /// Maximum bulk length (`proto-max-bulk-len`).
    pub max_bulk: usize,
    /// The client has not authenticated yet: the `UNAUTH_*` limits apply.
    pub unauthenticated: bool,
}

impl Parser {
    pub fn new(max_bulk: usize) -> Parser {
        Parser {
            max_bulk,
            ..Parser::default()
        }
    }

    /// Bytes at the front of the buffer that belong to finished commands and may be dropped.
    pub fn consumed(&self) -> usize {
        self.start
    }

    /// Called after the buffer's first `n` bytes were removed; shifts saved offsets.
    pub fn shift(&mut self, n: usize) {
        debug_assert!(n <= self.start);
        self.start -= n;
        self.pos -= n;
        if self.multibulk_left > 0 {
            for r in &mut self.args {
                r.0 -= n;
                r.1 -= n;
            }
        }
    }

    /// Marks the command just returned as done, so the next call starts after it.
    pub fn finish(&mut self) {
        self.start = self.pos;
        self.args.clear();
    }

    /// Looks ahead, without consuming anything, at the complete multibulk commands that
    /// `parse` would return next and writes the byte range of each one's second argument
    /// (the key of most commands) into `out`; returns how many it wrote. For batch
    /// prefetching only: it stops quietly at anything unusual (an inline command, a
    /// malformed or incomplete one, a command in the middle of being parsed), and looks
    /// at no more than `PEEK_LINES` header lines.
    pub fn peek_keys(&self, buf: &[u8], out: &mut [(usize, usize)]) -> usize {
        /// Reads `<prefix><digits>\r\n` at `at`: (the number, where the line ends).
        fn header(buf: &[u8], at: usize, prefix: u8) -> Option<(usize, usize)> {
            if *buf.get(at)? != prefix {
                return None;
            }
            let digits = buf[at + 1..]
                .iter()
                .take_while(|d| d.is_ascii_digit())
                .count();
            let end = at + 1 + digits;
            let n = usize::try_from(parse_int(&buf[at + 1..end])?).ok()?;
            (buf.get(end..end + 2)? == b"\r\n").then_some((n, end + 2))
        }
        if self.multibulk_left != 0 {
            return 0;
        }
        let (mut at, mut found, mut lines) = (self.pos, 0, 0);
        while found < out.len() && lines < PEEK_LINES {
            let Some((argc, mut p)) = header(buf, at, b'*') else {
                break;
            };
            lines += 1;
            let mut key = None;
            for i in 0..argc {
                let Some((len, data)) = header(buf, p, b'$') else {
                    return found;
                };
                lines += 1;
                if buf.len() - data < 2 || len > buf.len() - data - 2 || lines >= PEEK_LINES {
                    return found;
                }
                if i == 1 && len <= PEEK_KEY_MAX {
                    key = Some((data, data + len));
                }
                p = data + len + 2;
            }
            if let Some(k) = key {
                out[found] = k;
                found += 1;
            }
            at = p;
        }
        found
    }

    /// Tries to parse the next command from `buf` (the whole read buffer).
    #[inline]
    pub fn parse(&mut self, buf: &[u8]) -> Parsed {
        loop {
            if self.multibulk_left == 0 {
                if self.pos >= buf.len() {
                    return Parsed::Incomplete;
                }
                if buf[self.pos] != b'*' {
                    match self.parse_inline(buf) {
                        Some(r) => return r,
                        // A blank line: go on with what follows, in this loop (not by
                        // recursion, which a pipeline of blank lines made as deep as it
                        // was long: a stack overflow wherever the call was not optimized
                        // into a jump).
                        None => continue,
                    }
                }
                let Some(line_end) = find_crlf(buf, self.pos) else {
                    if buf.len() - self.pos > MAX_INLINE {
                        return Parsed::Error("Protocol error: too big mbulk count string");
                    }
                    return Parsed::Incomplete;
                };
                let n = match parse_int(&buf[self.pos + 1..line_end]) {
                    Some(n) if n <= MAX_MULTIBULK => n,
                    _ => return Parsed::Error("Protocol error: invalid multibulk length"),
                };
                if n > UNAUTH_MAX_MULTIBULK && self.unauthenticated {
                    return Parsed::Error("Protocol error: unauthenticated multibulk length");
                }
                self.pos = line_end + 2;
                if n <= 0 {
                    // `*0` and `*-1` are empty commands: skip them silently, as Redis does.
                    self.start = self.pos;
                    continue;
                }
                self.multibulk_left = n;
                self.args.clear();
                // Reserve for a sane number of arguments only; huge counts grow on demand.
                self.args.reserve(n.min(1024) as usize);
            }
            while self.multibulk_left > 0 {
                let len = match self.bulk_len {
                    Some(len) => len,
                    None => {
                        if self.pos >= buf.len() {
                            return Parsed::Incomplete;
                        }
                        let Some(line_end) = find_crlf(buf, self.pos) else {
                            if buf.len() - self.pos > MAX_INLINE {
                                return Parsed::Error("Protocol error: too big bulk count string");
                            }
                            return Parsed::Incomplete;
                        };
                        if buf[self.pos] != b'$' {
                            return Parsed::ErrorOwned(format!(
                                "Protocol error: expected '$', got '{}'",
                                buf[self.pos] as char
                            ));
                        }
                        let len = match parse_int(&buf[self.pos + 1..line_end]) {
                            Some(n) if n >= 0 && (n as u64) <= self.max_bulk as u64 => n as usize,
                            _ => return Parsed::Error("Protocol error: invalid bulk length"),
                        };
                        if len > UNAUTH_MAX_BULK && self.unauthenticated {
                            return Parsed::Error("Protocol error: unauthenticated bulk length");
                        }
                        self.pos = line_end + 2;
                        self.bulk_len = Some(len);
                        len
                    }
                };
                if buf.len() - self.pos < len + 2 {
                    return Parsed::Incomplete;
                }
                self.args.push((self.pos, self.pos + len));
                self.pos += len + 2;
                self.bulk_len = None;
                self.multibulk_left -= 1;
            }
            return Parsed::Command(ArgSource::ReadBuf);
        }
    }

    /// Parses one inline command line (`SET k "a b"\r\n`); None if the line was blank
    /// (skipped).
    fn parse_inline(&mut self, buf: &[u8]) -> Option<Parsed> {
        let Some(nl) = memchr(b'\n', &buf[self.pos..]) else {
            if buf.len() - self.pos > MAX_INLINE {
                return Some(Parsed::Error("Protocol error: too big inline request"));
            }
            return Some(Parsed::Incomplete);
        };
        let mut line = &buf[self.pos..self.pos + nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        self.pos += nl + 1;
        self.args.clear();
        self.inline.clear();
        if !split_inline(line, &mut self.inline, &mut self.args) {
            return Some(Parsed::Error(
                "Protocol error: unbalanced quotes in request",
            ));
        }
        if self.args.is_empty() {
            // An empty line: nothing to run (redis-cli and telnet users send these).
            self.start = self.pos;
            return None;
        }
        Some(Parsed::Command(ArgSource::Inline))
    }
}

/// Finds `\r\n` at or after `from`; returns the index of the `\r`.
fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let i = memchr(b'\r', &buf[at..])? + at;
        if i + 1 >= buf.len() {
            return None;
        }
        if buf[i + 1] == b'\n' {
            return Some(i);
        }
        at = i + 1;
    }
}

/// Strict decimal integer parse of a header (`*3`, `$5`): optional `-`, digits only.
fn parse_int(s: &[u8]) -> Option<i64> {
    crate::num::parse_i64(s)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// C's `isspace`: Redis splits on these (Rust's `is_ascii_whitespace` lacks `\v`).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Splits an inline line into arguments with Redis's quoting rules (`sdssplitargs`):
/// `"..."` supports `\n \r \t \b \a \\ \" \xHH`, `'...'` supports `\'`, and a closing quote
/// must be followed by a space or the end. Returns false on unbalanced quotes. Arguments
/// are written to `out`, their ranges in it to `args`.
pub fn split_inline(line: &[u8], out: &mut Vec<u8>, args: &mut Vec<(usize, usize)>) -> bool {
    // Redis splits a C string: a NUL byte ends the line.
    let line = &line[..memchr(0, line).unwrap_or(line.len())];
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return true;
        }
        let start = out.len();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if i >= n {
                    return false;
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && let (Some(hi), Some(lo)) = (hex_val(line[i + 2]), hex_val(line[i + 3]))
                {
                    out.push(hi * 16 + lo);
                    i += 4;
                    continue;
                } else if c == b'\\' && i + 1 < n {
                    out.push(match line[i + 1] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                    i += 2;
                    continue;
                } else if c == b'"' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return false;
                    }
                    i += 1;
                    break;
                }
                out.push(c);
                i += 1;
            } else if in_sq {
                if i >= n {
                    return false;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    out.push(b'\'');
                    i += 2;
                    continue;
                } else if c == b'\'' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return false;
                    }
                    i += 1;
                    break;
                }
                out.push(c);
                i += 1;
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    c if is_space(c) => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => out.push(c),
                }
                i += 1;
            }
        }
        args.push((start, out.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `peek_keys` names the second argument of exactly the complete commands `parse`
    /// would return next, cut at every byte, and stops at an inline command, at one
    /// whose parse has begun, and at `out`'s length.
    #[test]
    fn peek_keys_sees_what_parse_will_return() {
        let buf: &[u8] = b"*3\r\n$4\r\nHGET\r\n$3\r\nk:1\r\n$1\r\nf\r\n*1\r\n$4\r\nPING\r\n\
*2\r\n$3\r\nGET\r\n$0\r\n\r\n*0\r\n*2\r\n$3\r\nGET\r\n$5\r\nk\r\n:2\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nz\r\n";
        let all: Vec<&[u8]> = vec![b"k:1", b"", b"k\r\n:2"];
        for cut in 0..=buf.len() {
            let part = &buf[..cut];
            let p = Parser::new(1024);
            let mut out = [(0, 0); 8];
            let n = p.peek_keys(part, &mut out);
            let got: Vec<&[u8]> = out[..n].iter().map(|&(a, b)| &part[a..b]).collect();
            // The keys of the commands complete within the cut.
            let mut q = Parser::new(1024);
            let mut want = Vec::new();
            while let Parsed::Command(ArgSource::ReadBuf) = q.parse(part) {
                if q.args.len() > 1 {
                    want.push(&part[q.args[1].0..q.args[1].1]);
                }
                q.finish();
            }
            assert_eq!(got, want, "cut at {cut}");
            assert!(got.len() <= all.len());
        }
        let p = Parser::new(1024);
        let mut two = [(0, 0); 2];
        assert_eq!(p.peek_keys(buf, &mut two), 2);
        // A key too long to be worth prefetching is skipped, not returned; lengths past
        // the integer range end the look-ahead.
        let long = format!(
            "*2\r\n$3\r\nGET\r\n$600\r\n{}\r\n*2\r\n$3\r\nGET\r\n$1\r\nq\r\n",
            "k".repeat(600)
        );
        let mut out = [(0, 0); 8];
        assert_eq!(p.peek_keys(long.as_bytes(), &mut out), 1);
        assert_eq!(&long.as_bytes()[out[0].0..out[0].1], b"q");
        for huge in [
            &b"*99999999999999999999\r\n"[..],
            b"*2\r\n$18446744073709551616\r\nx\r\n",
        ] {
            assert_eq!(p.peek_keys(huge, &mut out), 0);
        }
        // Mid-command: the parser has read the header of an incomplete command.
        let mut q = Parser::new(1024);
        assert_eq!(q.parse(&buf[..20]), Parsed::Incomplete);
        assert_eq!(q.peek_keys(buf, &mut [(0, 0); 8]), 0);
    }

    /// Runs the parser over `buf` delivered in two pieces split at `split`, collecting every
    /// command's arguments (as owned byte vectors) and the first error.
    fn run_split(buf: &[u8], split: usize) -> (Vec<Vec<Vec<u8>>>, Option<String>) {
        let mut p = Parser::new(512 * 1024 * 1024);
        let mut rb: Vec<u8> = Vec::new();
        let mut cmds = Vec::new();
        for piece in [&buf[..split], &buf[split..]] {
            rb.extend_from_slice(piece);
            loop {
                match p.parse(&rb) {
                    Parsed::Command(src) => {
                        let base: &[u8] = if src == ArgSource::Inline {
                            &p.inline
                        } else {
                            &rb
                        };
                        cmds.push(p.args.iter().map(|&(a, b)| base[a..b].to_vec()).collect());
                        p.finish();
                    }
                    Parsed::Incomplete => break,
                    Parsed::Error(e) => return (cmds, Some(e.to_string())),
                    Parsed::ErrorOwned(e) => return (cmds, Some(e)),
                }
            }
            // Compact like the connection does, to exercise `shift`.
            let n = p.consumed();
            rb.drain(..n);
            p.shift(n);
        }
        (cmds, None)
    }

    fn owned(v: &[&[&str]]) -> Vec<Vec<Vec<u8>>> {
        v.iter()
            .map(|c| c.iter().map(|a| a.as_bytes().to_vec()).collect())
            .collect()
    }

    #[test]
    fn pipeline_every_split_point() {
        let buf = b"*3\r\n$4\r\nHSET\r\n$1\r\nk\r\n$0\r\n\r\nPING\r\n*2\r\n$3\r\nGET\r\n$4\r\na\r\nb\r\n\r\nSET k \"a b\\x41\" 'c\\'d'\r\n*0\r\n*1\r\n$4\r\nPING\r\n";
        let want = owned(&[
            &["HSET", "k", ""],
            &["PING"],
            &["GET", "a\r\nb"],
            &["SET", "k", "a bA", "c'd"],
            &["PING"],
        ]);
        for split in 0..=buf.len() {
            let (cmds, err) = run_split(buf, split);
            assert_eq!(err, None, "split {split}");
            assert_eq!(cmds, want, "split {split}");
        }
    }

    #[test]
    fn every_split_of_three_pieces() {
        let buf = b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\n";
        for a in 0..=buf.len() {
            for b in a..=buf.len() {
                let mut p = Parser::new(1 << 20);
                let mut rb = Vec::new();
                let mut n = 0;
                for piece in [&buf[..a], &buf[a..b], &buf[b..]] {
                    rb.extend_from_slice(piece);
                    while let Parsed::Command(_) = p.parse(&rb) {
                        n += 1;
                        p.finish();
                    }
                }
                assert_eq!(n, 2, "splits {a} {b}");
            }
        }
    }

    #[test]
    fn protocol_errors() {
        let cases: &[(&[u8], &str)] = &[
            (b"*abc\r\n", "Protocol error: invalid multibulk length"),
            (b"*1\r\n$-5\r\n", "Protocol error: invalid bulk length"),
            (b"*1\r\n$x\r\n", "Protocol error: invalid bulk length"),
            (b"*1\r\nx3\r\n", "Protocol error: expected '$', got 'x'"),
            (
                b"SET k \"abc\r\n",
                "Protocol error: unbalanced quotes in request",
            ),
            (
                b"SET k \"a\"b\r\n",
                "Protocol error: unbalanced quotes in request",
            ),
            (b"*1\r\n$1000\r\n", ""),
        ];
        for (input, want) in cases {
            let mut p = Parser::new(100);
            let got = match p.parse(input) {
                Parsed::Error(e) => e.to_string(),
                Parsed::ErrorOwned(e) => e,
                other => format!("{other:?}"),
            };
            let want = if want.is_empty() {
                "Protocol error: invalid bulk length"
            } else {
                want
            };
            assert_eq!(got, want, "input {:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn huge_declared_bulk_is_not_reserved() {
        let mut p = Parser::new(512 * 1024 * 1024);
        let buf = b"*1\r\n$536870912\r\nabc";
        assert_eq!(p.parse(buf), Parsed::Incomplete);
        assert!(p.args.capacity() < 1 << 20);
    }

    #[test]
    fn inline_nul_and_vertical_tab() {
        let mut out = Vec::new();
        let mut args = Vec::new();
        assert!(split_inline(
            b"SET\x0bk v\x00 ignored \"",
            &mut out,
            &mut args
        ));
        let got: Vec<&[u8]> = args.iter().map(|&(a, b)| &out[a..b]).collect();
        assert_eq!(got, vec![&b"SET"[..], b"k", b"v"]);
        args.clear();
        assert!(split_inline(b"\x00", &mut out, &mut args));
        assert!(args.is_empty());
    }

    /// Random fragments: parsing always ends (command, need-more or error) without panics,
    /// and every command it yields has at least one argument.
    #[test]
    fn random_input_terminates() {
        let alphabet: &[&[u8]] = &[
            b"*",
            b"$",
            b"\r\n",
            b"\n",
            b"-",
            b"0",
            b"1",
            b"3",
            b"a",
            b" ",
            b"\"",
            b"'",
            b"\\",
            b"x",
            b"\x00",
            b"\x0b",
            b"*1\r\n$1\r\nA\r\n",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let mut buf = Vec::new();
            for _ in 0..(next() % 30) {
                buf.extend_from_slice(alphabet[(next() as usize) % alphabet.len()]);
            }
            let mut p = Parser::new(64);
            let mut steps = 0;
            loop {
                steps += 1;
                assert!(steps < 1000, "parser loops on {buf:?}");
                match p.parse(&buf) {
                    Parsed::Command(_) => {
                        assert!(!p.args.is_empty());
                        p.finish();
                    }
                    _ => break,
                }
            }
        }
    }

    #[test]
    fn too_big_inline() {
        let mut p = Parser::new(1024);
        let buf = vec![b'a'; MAX_INLINE + 10];
        assert_eq!(
            p.parse(&buf),
            Parsed::Error("Protocol error: too big inline request")
        );
    }
}
