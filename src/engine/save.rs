//! RDB saves in the engine: BGSAVE and the `save` points start one, the loop steps it a
//! slice per iteration (`rdb/save.rs` does the writing), SAVE and shutdown run one to the
//! end. The counters INFO persistence shows live here.

use std::time::Duration;

use log::{info, warn};

use super::Engine;
use crate::rdb::save::{Aux, Save};

/// After a failed save, automatic saves wait this long before trying again (Redis's
/// CONFIG_BGSAVE_RETRY_DELAY).
const RETRY_DELAY_SECS: i64 = 5;

/// The RDB counters of INFO persistence.
#[derive(Debug, Default)]
pub struct RdbStats {
    pub saves: u64,
    pub last_ok: bool,
    pub last_secs: i64,
    /// Unix seconds of the last attempt (for the retry delay).
    pub last_try: i64,
    /// `dirty` when the running save began: what it covers.
    pub dirty_at_start: u64,
    pub loaded_keys: u64,
    pub loaded_expired: u64,
}

impl Engine {
    /// Starts a background save to `dir`/`dbfilename` (BGSAVE, save points).
    pub fn start_bgsave(&mut self) -> Result<(), String> {
        if self.save.is_some() {
            return Err("Background save already in progress".into());
        }
        let target = self.config.dir.join(self.config.dbfilename());
        let aux = Aux {
            redis_ver: crate::REDIS_VERSION,
            aof_base: false,
            repl: None,
        };
        self.rdb.last_try = self.now_ms / 1000;
        let s = Save::start(&mut self.ks, &target, &aux, self.now_ms).map_err(|e| {
            self.rdb.last_ok = false;
            format!("Can't create the RDB file beside {}: {e}", target.display())
        })?;
        self.rdb.dirty_at_start = self.dirty;
        info!("Background saving started (fork-less, in the event loop)");
        self.save = Some(Box::new(s));
        Ok(())
    }

    /// One slice of the running save (once per loop iteration).
    pub fn save_step(&mut self, busy: bool) {
        let Some(s) = self.save.take() else { return };
        match s.step(&mut self.ks, self.now_ms, busy) {
            Ok(s) => self.save = Some(Box::new(s)),
            Err(ended) => {
                self.rdb.last_secs = ended.secs.round() as i64;
                self.rdb.last_ok = ended.ok;
                if ended.ok {
                    self.rdb.saves += 1;
                    self.dirty -= self.rdb.dirty_at_start.min(self.dirty);
                    self.lastsave = self.now_ms / 1000;
                    info!("Background saving terminated with success");
                } else {
                    warn!("Background saving error");
                }
            }
        }
    }

    /// SAVE: a whole save now, blocking the loop (as Redis's SAVE does).
    pub fn save_now(&mut self) -> Result<(), String> {
        if self.save.is_some() {
            return Err("Background save already in progress".into());
        }
        self.start_bgsave()?;
        let saves = self.rdb.saves;
        while self.save.is_some() {
            self.save_step(false);
            if self.save.is_some() {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        if self.rdb.saves == saves {
            return Err("the RDB save failed (see the log)".into());
        }
        Ok(())
    }

    /// Cancels a running save (shutdown, FLUSHALL's restart, DEBUG RELOAD).
    pub fn cancel_save(&mut self) {
        if let Some(s) = self.save.take() {
            s.cancel(&mut self.ks);
            warn!("Background saving cancelled");
        }
    }

    /// At shutdown: saves the RDB file if SHUTDOWN SAVE asked for it, or if `save`
    /// points are configured and SHUTDOWN NOSAVE did not say otherwise (Redis's rule).
    pub fn save_on_shutdown(&mut self) {
        let wanted = self
            .shutdown_save
            .unwrap_or_else(|| !self.save_points().is_empty());
        if !wanted {
            return;
        }
        self.cancel_save();
        info!("Saving the final RDB snapshot before exiting.");
        match self.save_now() {
            Ok(()) => info!("DB saved on disk"),
            Err(e) => log::error!("Error trying to save the DB: {e}"),
        }
    }

    /// The `save` points: `save <seconds> <changes> ...`.
    pub fn save_points(&self) -> Vec<(i64, u64)> {
        let text = self.config.get("save").unwrap_or("");
        let nums: Vec<i64> = text
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        nums.chunks_exact(2)
            .map(|p| (p[0], p[1].max(0) as u64))
            .collect()
    }

    /// Starts a save when a save point is reached (timer), as Redis's serverCron: at least
    /// `changes` changes and `seconds` seconds since the last save, and after a failure
    /// not before the retry delay.
    pub fn maybe_auto_save(&mut self) {
        if self.save.is_some() || self.loading || self.dirty == 0 {
            return;
        }
        let now = self.now_ms / 1000;
        let since = now - self.lastsave;
        let retry_ok = self.rdb.last_ok || now - self.rdb.last_try > RETRY_DELAY_SECS;
        let due = self
            .save_points()
            .iter()
            .any(|&(secs, changes)| self.dirty >= changes && since >= secs);
        if due && retry_ok {
            info!("{} changes in {since} seconds. Saving...", self.dirty);
            if let Err(e) = self.start_bgsave() {
                warn!("Automatic save could not start: {e}");
            }
        }
    }
}
