//! Loading an RDB file into the keyspace: `dump.rdb` at startup, the RDB base of a
//! Redis 7 AOF directory (`aof-use-rdb-preamble yes`), and (later) a replica's full sync.
//! The format is read in `rdb/`; here each key lands in its database, and the rules
//! Redis applies while loading are kept: a key that expired before the load is dropped
//! (except from an AOF base, whose log goes on with what happened to it), and a key
//! that appears twice is corruption.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::Instant;

use log::{info, warn};

use super::Engine;
use crate::keyspace::entry::{lfu, lru_clock};
use crate::rdb::file::{self, KeyRecord, Summary};
use crate::rdb::object::Limits;
use crate::rdb::read::RdbError;

/// Read buffer for RDB files.
const READ_BUF: usize = 1 << 20;

impl Engine {
    /// The encoding limits loaded values are built with.
    pub fn rdb_limits(&self) -> Limits {
        Limits::of(&self.config)
    }

    /// Loads the RDB file at `path` into the (empty or partly loaded) databases.
    /// `aof_base`: the file is an AOF base, whose expired keys are kept. Returns what the
    /// file held besides keys, and how many bytes were RDB (an old single-file AOF goes
    /// on with AOF records after them).
    pub fn load_rdb_file(&mut self, path: &Path, aof_base: bool) -> Result<Summary, String> {
        let f = File::open(path).map_err(|e| format!("Can't open {}: {e}", path.display()))?;
        let started = Instant::now();
        let sum = self
            .load_rdb(BufReader::with_capacity(READ_BUF, f), aof_base)
            .map_err(|e| format!("Can't load the RDB file {}: {e}", path.display()))?;
        let keys: usize = self.ks.dbs.iter().map(|d| d.len()).sum();
        let secs = started.elapsed().as_secs_f64();
        let by = sum
            .aux("redis-ver")
            .map(|v| format!(", written by Redis {}", String::from_utf8_lossy(v)))
            .unwrap_or_default();
        info!(
            "DB loaded from {} (RDB version {}{by}): {secs:.3} seconds, {keys} keys, {:.1} MB",
            path.display(),
            sum.version,
            sum.bytes as f64 / 1048576.0
        );
        Ok(sum)
    }

    /// Loads an RDB stream; see `load_rdb_file`.
    pub fn load_rdb(
        &mut self,
        input: impl std::io::Read,
        aof_base: bool,
    ) -> Result<Summary, file::LoadError> {
        let lim = self.rdb_limits();
        let now = crate::engine::unix_ms();
        let ndb = self.ks.dbs.len();
        let lfu_policy = self.config.maxmemory.policy.lfu();
        let mut expired = 0u64;
        let ks = &mut self.ks;
        let sum = file::load(input, &lim, |rec: KeyRecord| {
            if rec.db >= ndb {
                return Err(RdbError::Corrupt(format!(
                    "the file uses database {}, but this server has {ndb} (see the databases directive)",
                    rec.db
                )));
            }
            if !aof_base && rec.exp != 0 && rec.exp <= now {
                expired += 1;
                return Ok(());
            }
            let db = &mut ks.dbs[rec.db];
            if db.peek_entry(&rec.key).is_some() {
                return Err(RdbError::Corrupt(format!(
                    "duplicate key '{}'",
                    String::from_utf8_lossy(&rec.key)
                )));
            }
            db.set(&rec.key, rec.val, rec.exp);
            if let Some(e) = db.peek_entry_mut(&rec.key) {
                match (rec.freq, rec.idle, lfu_policy) {
                    (Some(f), _, true) => e.set_clock(lfu::pack(lfu::minutes(now), f)),
                    (_, Some(s), false) => {
                        e.set_clock(lru_clock(now.saturating_sub(s.saturating_mul(1000) as i64)))
                    }
                    _ => {}
                }
            }
            Ok(())
        })?;
        self.rdb.loaded_keys = sum.keys - expired;
        self.rdb.loaded_expired = expired;
        if expired > 0 {
            info!(
                "Done loading RDB, keys loaded: {}, keys expired: {expired}.",
                sum.keys - expired
            );
        }
        if sum.functions > 0 {
            warn!(
                "The RDB file holds {} function librar{}: ferrokv runs no functions, so they were not loaded",
                sum.functions,
                if sum.functions == 1 { "y" } else { "ies" }
            );
        }
        Ok(sum)
    }
}
