//! Reading AOF files back: replay at startup, DEBUG LOADAOF, and `--check-aof`.
//!
//! A file is read in chunks and parsed strictly: RESP multibulk records, `#` annotation
//! lines, and ferrokv's checksummed batches (`#crc32 <hex> <len>` followed by exactly `len`
//! bytes of records). A batch is verified before any of its records is applied, so replay
//! never applies part of a batch, and a MULTI/EXEC block is applied only once its EXEC has
//! been read.
//!
//! When something does not parse or a checksum fails, the rule that tells a torn tail from
//! corruption is: if a complete, checksum-valid batch follows the damage anywhere later in
//! the file, the damage is in the middle (corruption: refuse to start and name the offset);
//! otherwise it is the end of the last write that was cut short (torn tail: cut it off, as
//! Redis does with `aof-load-truncated yes`). A torn write cannot contain a later complete
//! batch, so valid data is never cut. Files without annotations (written by redis-server)
//! follow Redis's rules: an incomplete last record is a torn tail, garbage is corruption.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use memchr::memchr;

use super::record::{CRC_PREFIX, parse_annotation};
use crate::resp::args::{Args, OwnedArgs};

/// Bytes read from the file at a time.
const CHUNK: usize = 4 << 20;
/// Longest `#` line accepted (Redis: 1024).
const MAX_LINE: usize = 1024;
/// Longest argument count accepted in a record: what a client may send (Redis: INT_MAX),
/// so every command the server accepted and logged loads again.
const MAX_ARGS: u64 = crate::resp::parse::MAX_MULTIBULK as u64;
/// Longest bulk accepted in a record: any `proto-max-bulk-len` allows. A declared length
/// costs nothing by itself: the reader never holds more than the file has.
const MAX_BULK: u64 = i64::MAX as u64;

/// What replay found wrong with a file.
#[derive(Debug)]
pub enum AofError {
    Io {
        file: PathBuf,
        err: io::Error,
    },
    /// Damage before the tail: startup must stop.
    Corrupt {
        file: PathBuf,
        offset: u64,
        reason: Damage,
    },
    /// A torn tail where cutting it is not allowed (not the last file, or
    /// `aof-load-truncated no`).
    Truncated {
        file: PathBuf,
        offset: u64,
        reason: Damage,
    },
    /// A record that parsed but could not be applied (unknown command...).
    Command {
        file: PathBuf,
        offset: u64,
        msg: String,
    },
}

impl std::fmt::Display for AofError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AofError::Io { file, err } => write!(
                f,
                "Can't read the append only file {}: {err}",
                file.display()
            ),
            AofError::Corrupt {
                file,
                offset,
                reason,
            } => write!(
                f,
                "Bad file format reading the append only file {} at offset {offset}: {reason}. Make a backup of your AOF file, then use `ferrokv --check-aof --fix <filename.manifest>` to cut it at the last good batch",
                file.display()
            ),
            AofError::Truncated {
                file,
                offset,
                reason,
            } => write!(
                f,
                "The append only file {} is truncated at offset {offset} ({reason}) and aof-load-truncated is off (or it is not the last file). Use `ferrokv --check-aof --fix <filename.manifest>` to cut it",
                file.display()
            ),
            AofError::Command { file, offset, msg } => {
                write!(
                    f,
                    "{msg} reading the append only file {} at offset {offset}",
                    file.display()
                )
            }
        }
    }
}

/// What is wrong at the offset where reading stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// A `#` line with no end within its length limit.
    UnendedAnnotation,
    /// A `#` line that is neither a batch annotation nor Redis's timestamp.
    MalformedAnnotation,
    /// The annotation promises more bytes than the file has.
    BatchCutShort,
    ChecksumMismatch,
    /// A checksummed batch whose records do not parse.
    BadRecordInBatch,
    /// A record that does not parse (outside a batch).
    BadRecord(&'static str),
    /// A record cut by the end of the file.
    UnexpectedEnd,
    /// Neither `*` nor `#` where a record or annotation should start.
    UnexpectedByte,
    MultiWithoutExec,
}

impl Damage {
    /// Only ferrokv's checksummed batches can produce this: the file has batches, so
    /// the torn-or-corrupt rule of batches applies.
    fn in_batches(self) -> bool {
        matches!(
            self,
            Damage::ChecksumMismatch | Damage::BatchCutShort | Damage::MalformedAnnotation
        )
    }
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Damage::UnendedAnnotation => "annotation line without an end",
            Damage::MalformedAnnotation => "malformed annotation",
            Damage::BatchCutShort => "batch cut short",
            Damage::ChecksumMismatch => "checksum mismatch",
            Damage::BadRecordInBatch => "a checksummed batch holds an invalid record",
            Damage::BadRecord(why) => why,
            Damage::UnexpectedEnd => "unexpected end of file",
            Damage::UnexpectedByte => "expected '*' or '#'",
            Damage::MultiWithoutExec => "MULTI without EXEC at the end of the file",
        })
    }
}

/// The outcome of reading one file.
#[derive(Debug, Default, Clone)]
pub struct FileReport {
    /// Records applied (MULTI/EXEC markers not counted).
    pub commands: u64,
    /// Checksummed batches verified.
    pub batches: u64,
    pub file_len: u64,
    /// Bytes that are good; less than `file_len` when a torn tail was found.
    pub valid_len: u64,
    /// Why the tail was cut, if it was.
    pub torn: Option<Damage>,
}

/// Where replay hands each record.
pub trait Sink {
    /// Applies one record; an error stops the load.
    fn apply(&mut self, args: &Args) -> Result<(), String>;
    /// Called every few megabytes with the file's bytes consumed so far.
    fn progress(&mut self, _bytes: u64) {}
    /// A file of `len` bytes is done; the next one starts in database 0.
    fn next_file(&mut self, _len: u64) {}
    /// Loads the RDB file (or RDB preamble) at `path`; returns how many bytes it took.
    /// Only a sink that builds a dataset can.
    fn load_rdb(&mut self, path: &Path) -> Result<u64, String> {
        Err(format!(
            "{} holds RDB data, which this reader does not load",
            path.display()
        ))
    }
}

/// A sink that only counts (for `--check-aof`).
pub struct CheckOnly;

impl Sink for CheckOnly {
    fn apply(&mut self, _args: &Args) -> Result<(), String> {
        Ok(())
    }

    /// Reads the RDB part through, checksum included, keeping nothing.
    fn load_rdb(&mut self, path: &Path) -> Result<u64, String> {
        let f = File::open(path).map_err(|e| e.to_string())?;
        let lim = crate::rdb::object::Limits::of(&crate::config::Config::default());
        crate::rdb::file::load(io::BufReader::new(f), &lim, |_| Ok(()))
            .map(|s| s.bytes)
            .map_err(|e| format!("RDB preamble: {e}"))
    }
}

/// A record that parsed: its length and argument ranges.
enum Parse {
    Done(usize),
    Incomplete,
    Bad(&'static str),
}

/// Parses one strict multibulk record at the start of `data`. Argument ranges are
/// stored relative to `data` plus `shift`.
fn parse_record(data: &[u8], shift: usize, ranges: &mut Vec<(usize, usize)>) -> Parse {
    ranges.clear();
    let Some(nl) = memchr(b'\n', data) else {
        return if data.len() > 32 {
            Parse::Bad("invalid multibulk header")
        } else {
            Parse::Incomplete
        };
    };
    let Some(n) = parse_len(&data[1..nl], MAX_ARGS) else {
        return Parse::Bad("invalid multibulk length");
    };
    if n == 0 {
        return Parse::Bad("empty command");
    }
    let mut p = nl + 1;
    for _ in 0..n {
        if p >= data.len() {
            return Parse::Incomplete;
        }
        if data[p] != b'$' {
            return Parse::Bad("expected '$'");
        }
        let Some(nl) = memchr(b'\n', &data[p..]) else {
            return if data.len() - p > 32 {
                Parse::Bad("invalid bulk header")
            } else {
                Parse::Incomplete
            };
        };
        let Some(len) = parse_len(&data[p + 1..p + nl], MAX_BULK) else {
            return Parse::Bad("invalid bulk length");
        };
        let start = p + nl + 1;
        let end = start + len as usize;
        if end + 2 > data.len() {
            return Parse::Incomplete;
        }
        if &data[end..end + 2] != b"\r\n" {
            return Parse::Bad("bulk string not terminated by CRLF");
        }
        ranges.push((start + shift, end + shift));
        p = end + 2;
    }
    Parse::Done(p)
}

/// Parses the decimal in a `*N\r` / `$N\r` header line (without the `\n`).
fn parse_len(line: &[u8], max: u64) -> Option<u64> {
    let digits = line.strip_suffix(b"\r")?;
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    (n <= max).then_some(n)
}

/// Buffered reader that keeps the unconsumed bytes of the file contiguous.
struct Reader {
    file: File,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    /// Read size: `CHUNK`, or less for a smaller file (an empty incr file must not cost
    /// a zeroed 4 MB buffer).
    chunk: usize,
}

impl Reader {
    fn avail(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Reads until at least `need` bytes are available or the file ends.
    fn fill(&mut self, need: usize) -> io::Result<()> {
        while self.end - self.start < need && !self.eof {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.base += self.start as u64;
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() < need.max(self.chunk) {
                self.buf.resize(need.max(self.chunk), 0);
            }
            let n = self.file.read(&mut self.buf[self.end..])?;
            if n == 0 {
                self.eof = true;
            }
            self.end += n;
        }
        Ok(())
    }
}

/// A transaction being collected between MULTI and EXEC.
struct Tx {
    offset: u64,
    cmds: Vec<OwnedArgs>,
}

/// Reads `path`, handing every record to `sink`. `allow_torn`: a torn tail may be cut
/// (this is the last file and `aof-load-truncated` is on); the report says where.
pub fn load_file(
    path: &Path,
    allow_torn: bool,
    sink: &mut dyn Sink,
) -> Result<FileReport, AofError> {
    let io_err = |err| AofError::Io {
        file: path.to_path_buf(),
        err,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let file_len = file.metadata().map_err(io_err)?.len();
    // An RDB file or preamble (redis-server's default, `aof-use-rdb-preamble yes`): the
    // sink loads it, and AOF records may follow it (a Redis 6 single-file AOF).
    let mut magic = [0u8; 5];
    let mut start = 0;
    if file_len >= 5 && file.read_exact(&mut magic).is_ok() && &magic == b"REDIS" {
        start = sink.load_rdb(path).map_err(|msg| AofError::Command {
            file: path.to_path_buf(),
            offset: 0,
            msg,
        })?;
    }
    io::Seek::seek(&mut file, io::SeekFrom::Start(start)).map_err(io_err)?;
    let mut rd = Reader {
        file,
        chunk: (file_len.saturating_add(1).min(CHUNK as u64) as usize).max(4096),
        buf: Vec::new(),
        start: 0,
        end: 0,
        base: start,
        eof: false,
    };
    let mut rep = FileReport {
        file_len,
        ..FileReport::default()
    };
    let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(16);
    let mut tx: Option<Tx> = None;
    let mut next_progress = 8u64 << 20;
    // The failure (offset, damage, incomplete) that ends the scan early, if any.
    let failure: Option<(u64, Damage, bool)> = loop {
        if rd.offset() >= next_progress {
            sink.progress(rd.offset());
            next_progress = rd.offset() + (8 << 20);
        }
        rd.fill(1).map_err(io_err)?;
        if rd.avail().is_empty() {
            break None;
        }
        let off = rd.offset();
        match rd.avail()[0] {
            b'#' => {
                rd.fill(MAX_LINE + 1).map_err(io_err)?;
                let Some(nl) = memchr(b'\n', &rd.avail()[..rd.avail().len().min(MAX_LINE + 1)])
                else {
                    let cut_short = rd.eof && rd.avail().len() <= MAX_LINE;
                    break Some((off, Damage::UnendedAnnotation, cut_short));
                };
                let line = &rd.avail()[..nl];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.starts_with(b"#TS:") {
                    rd.start += nl + 1; // Redis's timestamp annotation: skipped.
                    continue;
                }
                // Only the two known annotations are accepted, so a damaged `#crc32`
                // line cannot pass for a comment and let its batch in unchecked.
                let Some((crc, len)) = parse_annotation(line) else {
                    break Some((off, Damage::MalformedAnnotation, false));
                };
                let head = nl + 1;
                // A batch longer than the rest of the file is cut short; checked before
                // reading, so a damaged length never sizes the buffer.
                if len > file_len - off - head as u64 {
                    break Some((off, Damage::BatchCutShort, true));
                }
                let total = head + len as usize;
                rd.fill(total).map_err(io_err)?;
                if rd.avail().len() < total {
                    break Some((off, Damage::BatchCutShort, true));
                }
                let body = &rd.avail()[head..total];
                if crc32fast::hash(body) != crc {
                    break Some((off, Damage::ChecksumMismatch, false));
                }
                // The batch is whole and intact: apply its records.
                let body_start = rd.start + head;
                let mut p = 0;
                let mut bad = None;
                while p < len as usize {
                    let data = &rd.buf[body_start + p..body_start + len as usize];
                    match parse_record(data, body_start + p, &mut ranges) {
                        Parse::Done(n) => {
                            let args = Args {
                                buf: &rd.buf,
                                ranges: &ranges,
                            };
                            let at = off + (head + p) as u64;
                            dispatch(&args, at, &mut tx, sink, &mut rep).map_err(|msg| {
                                AofError::Command {
                                    file: path.to_path_buf(),
                                    offset: at,
                                    msg,
                                }
                            })?;
                            p += n;
                        }
                        Parse::Incomplete | Parse::Bad(_) => {
                            bad = Some(off + (head + p) as u64);
                            break;
                        }
                    }
                }
                if let Some(at) = bad {
                    return Err(AofError::Corrupt {
                        file: path.to_path_buf(),
                        offset: at,
                        reason: Damage::BadRecordInBatch,
                    });
                }
                rep.batches += 1;
                rd.start += total;
            }
            b'*' => {
                let mut need = 4096;
                let n = loop {
                    let start = rd.start;
                    match parse_record(rd.avail(), start, &mut ranges) {
                        Parse::Done(n) => break Ok(n),
                        Parse::Bad(r) => break Err((Damage::BadRecord(r), false)),
                        Parse::Incomplete if rd.eof => break Err((Damage::UnexpectedEnd, true)),
                        Parse::Incomplete => {
                            need = need.max(rd.avail().len() * 2);
                            rd.fill(need).map_err(io_err)?;
                        }
                    }
                };
                match n {
                    Ok(n) => {
                        // No refill happened after the successful parse: ranges are valid.
                        let args = Args {
                            buf: &rd.buf,
                            ranges: &ranges,
                        };
                        dispatch(&args, off, &mut tx, sink, &mut rep).map_err(|msg| {
                            AofError::Command {
                                file: path.to_path_buf(),
                                offset: off,
                                msg,
                            }
                        })?;
                        rd.start += n;
                    }
                    Err((r, incomplete)) => break Some((off, r, incomplete)),
                }
            }
            _ => break Some((off, Damage::UnexpectedByte, false)),
        }
    };
    let (offset, reason, incomplete) = match (failure, &tx) {
        (Some(f), _) => f,
        (None, Some(t)) => (t.offset, Damage::MultiWithoutExec, true),
        (None, None) => {
            rep.valid_len = file_len;
            return Ok(rep);
        }
    };
    // A failure inside an open transaction cuts the file before its MULTI.
    let offset = tx.as_ref().map_or(offset, |t| t.offset.min(offset));
    let checksummed = rep.batches > 0 || reason.in_batches();
    let torn = if incomplete || checksummed {
        !valid_batch_after(path, offset).map_err(io_err)?
    } else {
        all_zero_from(path, offset).map_err(io_err)?
    };
    if !torn {
        return Err(AofError::Corrupt {
            file: path.to_path_buf(),
            offset,
            reason,
        });
    }
    if !allow_torn {
        return Err(AofError::Truncated {
            file: path.to_path_buf(),
            offset,
            reason,
        });
    }
    rep.valid_len = offset;
    rep.torn = Some(reason);
    Ok(rep)
}

/// Routes one record: MULTI/EXEC collect and release a transaction, the rest is applied.
fn dispatch(
    args: &Args,
    offset: u64,
    tx: &mut Option<Tx>,
    sink: &mut dyn Sink,
    rep: &mut FileReport,
) -> Result<(), String> {
    let name = args.get(0);
    if name.eq_ignore_ascii_case(b"multi") {
        if tx.is_some() {
            return Err("MULTI inside MULTI".into());
        }
        *tx = Some(Tx {
            offset,
            cmds: Vec::new(),
        });
        return Ok(());
    }
    if name.eq_ignore_ascii_case(b"exec") {
        let Some(t) = tx.take() else {
            return Err("EXEC without MULTI".into());
        };
        for (buf, ranges) in &t.cmds {
            sink.apply(&Args { buf, ranges })?;
            rep.commands += 1;
        }
        return Ok(());
    }
    if let Some(t) = tx {
        t.cmds.push(args.to_owned_cmd());
        return Ok(());
    }
    sink.apply(args)?;
    rep.commands += 1;
    Ok(())
}

/// True if a complete, checksum-valid batch starts anywhere after `offset`.
fn valid_batch_after(path: &Path, offset: u64) -> io::Result<bool> {
    let mut f = File::open(path)?;
    let mut rest = Vec::new();
    io::Seek::seek(&mut f, io::SeekFrom::Start(offset + 1))?;
    f.read_to_end(&mut rest)?;
    let finder = memchr::memmem::Finder::new(CRC_PREFIX);
    for pos in finder.find_iter(&rest) {
        let Some(nl) = memchr(b'\n', &rest[pos..]) else {
            continue;
        };
        let line = &rest[pos..pos + nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some((crc, len)) = parse_annotation(line) else {
            continue;
        };
        let body_start = pos + nl + 1;
        let Some(body) = rest.get(body_start..body_start.saturating_add(len as usize)) else {
            continue;
        };
        if len > 0 && crc32fast::hash(body) == crc {
            return Ok(true);
        }
    }
    Ok(false)
}

/// True if every byte from `offset` to the end is zero (space the file system allocated
/// but the crash never filled).
fn all_zero_from(path: &Path, offset: u64) -> io::Result<bool> {
    let mut f = File::open(path)?;
    io::Seek::seek(&mut f, io::SeekFrom::Start(offset))?;
    let mut rest = Vec::new();
    f.read_to_end(&mut rest)?;
    Ok(rest.iter().all(|&b| b == 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aof::record::{HEADER_MAX, annotation};
    use crate::resp::encode::push_record;

    struct Collect(Vec<Vec<Vec<u8>>>);
    impl Sink for Collect {
        fn apply(&mut self, args: &Args) -> Result<(), String> {
            self.0.push(args.iter().map(|a| a.to_vec()).collect());
            Ok(())
        }
    }

    fn batch(cmds: &[&[&str]]) -> Vec<u8> {
        let mut body = Vec::new();
        for c in cmds {
            push_record(&mut body, c.iter().map(|s| s.as_bytes()));
        }
        let mut h = [0u8; HEADER_MAX];
        let n = annotation(&body, &mut h);
        let mut out = h[..n].to_vec();
        out.extend_from_slice(&body);
        out
    }

    fn load(bytes: &[u8], allow: bool) -> (Result<FileReport, AofError>, Vec<Vec<Vec<u8>>>) {
        // Tests run in parallel threads: a counter, not the clock, keeps the files apart.
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ferrokv-load-{}-{n}", std::process::id()));
        std::fs::write(&dir, bytes).unwrap();
        let mut c = Collect(Vec::new());
        let r = load_file(&dir, allow, &mut c);
        let _ = std::fs::remove_file(&dir);
        (r, c.0)
    }

    #[test]
    fn torn_tail_at_every_offset_of_the_last_batch() {
        let mut file = batch(&[&["SELECT", "0"], &["SET", "a", "1"]]);
        let keep = file.len();
        let last = batch(&[
            &["MULTI"],
            &["SET", "b", "2"],
            &["SET", "c", "3"],
            &["EXEC"],
        ]);
        file.extend_from_slice(&last);
        for cut in keep..file.len() {
            let (r, cmds) = load(&file[..cut], true);
            let rep = r.unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            assert_eq!(rep.valid_len, keep as u64, "cut at {cut}");
            assert_eq!(cmds.len(), 2, "cut at {cut}");
            assert_eq!(rep.torn.is_some(), cut > keep);
        }
        let (r, cmds) = load(&file, true);
        assert_eq!(r.unwrap().valid_len, file.len() as u64);
        assert_eq!(cmds.len(), 4);
    }

    #[test]
    fn flipped_byte_in_the_middle_is_corruption() {
        let a = batch(&[&["SET", "a", "1"]]);
        let b = batch(&[&["SET", "b", "2"]]);
        let c = batch(&[&["SET", "c", "3"]]);
        let file = [a.clone(), b.clone(), c].concat();
        for i in a.len()..a.len() + b.len() {
            let mut bad = file.clone();
            bad[i] ^= 0x20;
            let (r, _) = load(&bad, true);
            match r {
                Err(AofError::Corrupt { offset, .. }) => {
                    assert_eq!(offset, a.len() as u64, "flip at {i}")
                }
                other => panic!("flip at {i}: {other:?}"),
            }
        }
    }

    #[test]
    fn redis_files_follow_redis_rules() {
        let mut plain = Vec::new();
        push_record(&mut plain, ["SET", "a", "1"].iter().map(|s| s.as_bytes()));
        plain.extend_from_slice(b"#TS:1700000000\r\n");
        push_record(&mut plain, ["SET", "b", "2"].iter().map(|s| s.as_bytes()));
        let (r, cmds) = load(&plain, true);
        assert!(r.unwrap().torn.is_none());
        assert_eq!(cmds.len(), 2);
        let (r, cmds) = load(&plain[..plain.len() - 3], true);
        assert!(r.unwrap().torn.is_some());
        assert_eq!(cmds.len(), 1);
        let (r, _) = load(&plain[..plain.len() - 3], false);
        assert!(matches!(r, Err(AofError::Truncated { .. })));
        let mut garbage = plain.clone();
        garbage.extend_from_slice(b"hello\r\n");
        garbage.extend_from_slice(&plain);
        assert!(matches!(
            load(&garbage, true).0,
            Err(AofError::Corrupt { .. })
        ));
        let (r, cmds) = load(b"", true);
        assert_eq!(r.unwrap().valid_len, 0);
        assert!(cmds.is_empty());
    }
}
