//! RDB files (`dump.rdb`, the RDB base of a Redis 7 AOF directory, a full sync's
//! payload): reading them key by key, and the pieces a writer puts together.
//!
//! Layout: `REDIS` and the version as four ASCII digits; then records, each opened by a
//! byte: an opcode (below) or a value type (see `object`). A key record is the type, the
//! key as a string and the value, optionally preceded by its deadline (`EXPIRETIME_MS`,
//! 8 bytes little-endian; `EXPIRETIME`, 4 bytes of seconds, before RDB 3) and its LRU idle
//! time or LFU counter (`IDLE`, `FREQ`). `SELECTDB` switches the database, `RESIZEDB`
//! announces its key counts, `AUX` carries metadata (`redis-ver`, `repl-id`...), and
//! `EOF` ends the file, followed since RDB 5 by the CRC-64 of every byte before it (0:
//! the writer did not compute one). Redis 7 adds `FUNCTION2` (a function library's
//! code); module types add `MODULE_AUX`.

use std::fmt;
use std::io::{self, Read, Write};

use super::object::{self, Limits};
use super::read::{RdbError, Reader};
use super::write::Writer;
use crate::keyspace::Entry;
use crate::types::Value;

pub const OP_FUNCTION2: u8 = 245;
pub const OP_FUNCTION_PRE_GA: u8 = 246;
pub const OP_MODULE_AUX: u8 = 247;
pub const OP_IDLE: u8 = 248;
pub const OP_FREQ: u8 = 249;
pub const OP_AUX: u8 = 250;
pub const OP_RESIZEDB: u8 = 251;
pub const OP_EXPIRETIME_MS: u8 = 252;
pub const OP_EXPIRETIME: u8 = 253;
pub const OP_SELECTDB: u8 = 254;
pub const OP_EOF: u8 = 255;
/// Redis 7.2+'s per-slot sizes (cluster mode): three lengths, nothing to keep.
pub const OP_SLOT_INFO: u8 = 244;

/// Oldest RDB version read: Redis 2.6 wrote 6; older files would need more encodings.
pub const VERSION_MIN: u16 = 1;

/// One key read from a file.
pub struct KeyRecord {
    pub db: usize,
    pub key: Vec<u8>,
    pub val: Value,
    /// Deadline, Unix ms; 0 for none.
    pub exp: i64,
    /// Seconds idle (`IDLE`) and LFU counter (`FREQ`), if the file kept them.
    pub idle: Option<u64>,
    pub freq: Option<u8>,
}

/// What a whole file held besides its keys.
#[derive(Debug, Default)]
pub struct Summary {
    pub version: u16,
    pub keys: u64,
    /// Empty collections skipped, as Redis skips them.
    pub empty: u64,
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Function libraries skipped (ferrokv runs no functions).
    pub functions: u64,
    /// Bytes read, trailer included.
    pub bytes: u64,
}

impl Summary {
    /// The value of aux field `name`, if the file has it.
    pub fn aux(&self, name: &str) -> Option<&[u8]> {
        self.aux
            .iter()
            .find(|(k, _)| k == name.as_bytes())
            .map(|(_, v)| &v[..])
    }
}

/// A file that could not be loaded: what went wrong and at which byte.
#[derive(Debug)]
pub struct LoadError {
    pub offset: u64,
    pub error: RdbError,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            RdbError::Truncated => write!(f, "unexpected end of file at offset {}", self.offset),
            RdbError::Corrupt(m) => write!(f, "{m} (at offset {})", self.offset),
            RdbError::Unsupported(t, b) => {
                write!(f, "a value of type {t} ({b}) at offset {}", self.offset)
            }
            RdbError::Io(e) => write!(f, "read error at offset {}: {e}", self.offset),
        }
    }
}

/// Reads a whole RDB stream from `input`, handing each key to `sink` (which may refuse it
/// with an error, say for a database out of range). Reads up to and including the
/// checksum and no further, so a stream that goes on (a replication link) can be read
/// on from the same reader; `reader` gives it back through `load_from`.
pub fn load<R: Read>(
    input: R,
    lim: &Limits,
    sink: impl FnMut(KeyRecord) -> Result<(), RdbError>,
) -> Result<Summary, LoadError> {
    let mut r = Reader::new(input);
    load_from(&mut r, lim, sink)
}

/// `load` from a reader the caller keeps.
pub fn load_from<R: Read>(
    r: &mut Reader<R>,
    lim: &Limits,
    mut sink: impl FnMut(KeyRecord) -> Result<(), RdbError>,
) -> Result<Summary, LoadError> {
    let mut sum = Summary::default();
    let at = |r: &Reader<R>, error| LoadError {
        offset: r.tally.pos,
        error,
    };
    let mut magic = [0u8; 9];
    r.bytes(&mut magic).map_err(|e| at(r, e))?;
    if &magic[..5] != b"REDIS" {
        return Err(at(
            r,
            RdbError::Corrupt("not an RDB file (no REDIS signature)".into()),
        ));
    }
    let version = std::str::from_utf8(&magic[5..])
        .ok()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| at(r, RdbError::Corrupt("bad RDB version field".into())))?;
    if !(VERSION_MIN..=super::dump::RDB_VERSION_MAX).contains(&version) {
        return Err(at(
            r,
            RdbError::Corrupt(format!("can't handle RDB format version {version}")),
        ));
    }
    sum.version = version;
    let mut db = 0usize;
    let (mut exp, mut idle, mut freq) = (0i64, None, None);
    loop {
        let start = r.tally.pos;
        let ty = r.u8().map_err(|e| at(r, e))?;
        let step = (|| -> Result<bool, RdbError> {
            match ty {
                OP_EOF => return Ok(false),
                OP_EXPIRETIME_MS => exp = r.u64_le()? as i64,
                OP_EXPIRETIME => exp = r.u32_le()? as i64 * 1000,
                OP_IDLE => idle = Some(r.plain_len()?),
                OP_FREQ => freq = Some(r.u8()?),
                OP_SELECTDB => {
                    db = usize::try_from(r.plain_len()?)
                        .map_err(|_| RdbError::Corrupt("database number too big".into()))?;
                }
                OP_RESIZEDB => {
                    r.plain_len()?;
                    r.plain_len()?;
                }
                OP_SLOT_INFO => {
                    for _ in 0..3 {
                        r.plain_len()?;
                    }
                }
                OP_AUX => {
                    let k = r.string()?;
                    let v = r.string()?;
                    sum.aux.push((k, v));
                }
                OP_FUNCTION2 => {
                    r.string()?;
                    sum.functions += 1;
                }
                OP_FUNCTION_PRE_GA => {
                    return Err(RdbError::Corrupt(
                        "function libraries of Redis 7.0 release candidates are not supported"
                            .into(),
                    ));
                }
                OP_MODULE_AUX => {
                    return Err(RdbError::Unsupported("module", OP_MODULE_AUX));
                }
                ty if object::is_value_type(ty) => {
                    let key = r.string()?;
                    let val = object::read_value(r, ty, lim).map_err(|e| match e {
                        RdbError::Unsupported(name, b) => RdbError::Corrupt(format!(
                            "key '{}' holds a {name} (RDB type {b}), which ferrokv does not support",
                            String::from_utf8_lossy(&key)
                        )),
                        RdbError::Corrupt(m) => RdbError::Corrupt(format!(
                            "key '{}': {m}",
                            String::from_utf8_lossy(&key)
                        )),
                        e => e,
                    })?;
                    match val {
                        Some(val) => {
                            sink(KeyRecord {
                                db,
                                key,
                                val,
                                exp,
                                idle: idle.take(),
                                freq: freq.take(),
                            })?;
                            sum.keys += 1;
                        }
                        None => sum.empty += 1,
                    }
                    exp = 0;
                    idle = None;
                    freq = None;
                }
                ty => {
                    return Err(RdbError::Corrupt(format!("unknown RDB record type {ty}")));
                }
            }
            Ok(true)
        })();
        match step {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                return Err(LoadError {
                    offset: start,
                    error,
                });
            }
        }
    }
    if version >= 5 {
        let expected = r.tally.crc;
        let stored = r.u64_le().map_err(|e| at(r, e))?;
        if stored != 0 && stored != expected {
            return Err(at(
                r,
                RdbError::Corrupt(format!(
                    "wrong RDB checksum: expected {expected:016x}, got {stored:016x}"
                )),
            ));
        }
    }
    sum.bytes = r.tally.pos;
    Ok(sum)
}

/// Writes the signature, `version` and the aux fields.
pub fn write_header<W: Write>(
    w: &mut Writer<W>,
    version: u16,
    aux: &[(&str, &[u8])],
) -> io::Result<()> {
    w.bytes(format!("REDIS{version:04}").as_bytes())?;
    for (k, v) in aux {
        w.u8(OP_AUX)?;
        w.string(k.as_bytes())?;
        w.string(v)?;
    }
    Ok(())
}

/// Opens database `db`, announcing its key and deadline counts (Redis sizes its tables
/// from them).
pub fn write_select<W: Write>(
    w: &mut Writer<W>,
    db: usize,
    keys: usize,
    expires: usize,
) -> io::Result<()> {
    w.u8(OP_SELECTDB)?;
    w.len(db as u64)?;
    w.u8(OP_RESIZEDB)?;
    w.len(keys as u64)?;
    w.len(expires as u64)
}

/// Writes one key: its deadline, type, name and value. Hash fields due by `now` are left
/// out (see `object::write_body`); the caller skips keys that are gone.
pub fn write_key<W: Write>(w: &mut Writer<W>, key: &[u8], e: &Entry, now: u64) -> io::Result<()> {
    write_key_start(w, key, e)?;
    object::write_body(w, &e.val, now)
}

/// Writes a key's deadline, type and name: what comes before its value.
pub fn write_key_start<W: Write>(w: &mut Writer<W>, key: &[u8], e: &Entry) -> io::Result<()> {
    if e.exp() != 0 {
        w.u8(OP_EXPIRETIME_MS)?;
        w.u64_le(e.exp() as u64)?;
    }
    w.u8(object::type_of(&e.val))?;
    w.string(key)
}

/// Ends the file: `EOF` and the checksum of everything before.
pub fn write_footer<W: Write>(w: &mut Writer<W>) -> io::Result<()> {
    w.u8(OP_EOF)?;
    let crc = w.tally.crc;
    w.u64_le(crc)
}
