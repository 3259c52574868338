//! DUMP and RESTORE payloads: one value in RDB form (type byte and value, see `object`),
//! then the RDB version as 2 little-endian bytes, then the CRC-64 of everything before it
//! as 8 little-endian bytes. The same payloads move keys between Redis and ferrokv in
//! both directions (RESTORE, MIGRATE).

use super::crc64;
use super::object::{self, Limits};
use super::read::{RdbError, Reader};
use super::write::Writer;
use crate::types::Value;

/// The RDB version of Redis 7.0 (what we write unless a value needs more).
pub const RDB_VERSION_7_0: u16 = 10;
/// The RDB version of Redis 7.4 and 8: hashes with field deadlines.
pub const RDB_VERSION_HFE: u16 = 12;
/// The newest RDB version we read.
pub const RDB_VERSION_MAX: u16 = 12;

/// Why a payload was refused: the two errors RESTORE tells apart.
#[derive(Debug)]
pub enum PayloadError {
    /// Too short, a version we do not know, or a checksum that does not match.
    VersionOrChecksum,
    /// The value inside is not valid (or of a type ferrokv does not have).
    BadFormat(RdbError),
}

/// The version a payload or file holding `v` must carry: the oldest that can.
pub fn version_for(v: &Value) -> u16 {
    if object::needs_rdb12(v) {
        RDB_VERSION_HFE
    } else {
        RDB_VERSION_7_0
    }
}

/// The DUMP payload of `v` (hash fields due by `now` left out; see `object::write_value`).
pub fn payload(v: &Value, now: u64) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    object::write_value(&mut w, v, now).expect("writing to memory");
    let mut out = w.into_inner();
    out.extend_from_slice(&version_for(v).to_le_bytes());
    let crc = crc64::update(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The value in payload `p`, built for a server with limits `lim`. An empty collection
/// is `BadFormat`, as for Redis.
pub fn value_of(p: &[u8], lim: &Limits) -> Result<Value, PayloadError> {
    if p.len() < 10 {
        return Err(PayloadError::VersionOrChecksum);
    }
    let (body, footer) = p.split_at(p.len() - 10);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    let crc = u64::from_le_bytes(footer[2..].try_into().expect("8 bytes"));
    if version > RDB_VERSION_MAX || crc64::update(0, &p[..p.len() - 8]) != crc {
        return Err(PayloadError::VersionOrChecksum);
    }
    let mut r = Reader::new(body);
    let ty = r.u8().map_err(PayloadError::BadFormat)?;
    if !object::is_value_type(ty) {
        return Err(PayloadError::BadFormat(RdbError::Corrupt(format!(
            "unknown type {ty}"
        ))));
    }
    let v = object::read_value(&mut r, ty, lim).map_err(PayloadError::BadFormat)?;
    if r.tally.pos != body.len() as u64 {
        return Err(PayloadError::BadFormat(RdbError::Corrupt(
            "bytes left after the value".into(),
        )));
    }
    v.ok_or(PayloadError::BadFormat(RdbError::Corrupt(
        "empty value".into(),
    )))
}
