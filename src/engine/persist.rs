//! The AOF's life in the engine: starting, stepping and cancelling the fork-less rewrite,
//! turning logging on and off at run time, changing the fsync policy, emptying the data
//! for a reload. The AOF writer and the rewrite themselves live in `aof/`; here is the
//! order of operations that ties them to the write stream and the keyspace.

use std::time::Duration;

use log::{info, warn};

use super::Engine;
use crate::aof::manifest::Manifest;
use crate::aof::rewrite::Rewrite;
use crate::config::FsyncPolicy;

impl Engine {
    /// Starts a rewrite (BGREWRITEAOF, auto rewrite, CONFIG SET appendonly yes).
    pub fn start_rewrite(&mut self) -> Result<(), String> {
        if self.rewrite.is_some() {
            return Err("Background append only file rewriting already in progress".into());
        }
        if self.aof.write_blocked() {
            return Err(format!(
                "the AOF cannot be written: {}",
                crate::aof::strerror_errno(self.aof.write_errno)
            ));
        }
        // Records collected so far belong before the snapshot point, in the old file.
        self.flush_stream();
        self.aof.flush_force();
        let rw = Rewrite::start(&mut self.aof, &mut self.ks)?;
        self.rewrite = Some(rw);
        self.refresh_stream();
        Ok(())
    }

    /// Does one slice of the running rewrite (once per loop iteration). `busy`: clients
    /// had events, so the slice is short.
    pub fn rewrite_step(&mut self, busy: bool) {
        if let Some(rw) = self.rewrite.take() {
            self.rewrite = rw.step(&mut self.aof, &mut self.ks, self.now_ms, busy).ok();
        }
    }

    /// Cancels a running rewrite (CONFIG SET appendonly no, shutdown, DEBUG LOADAOF).
    pub fn cancel_rewrite(&mut self) {
        if let Some(rw) = self.rewrite.take() {
            rw.cancel(&mut self.aof, &mut self.ks);
        }
    }

    /// Runs a whole rewrite now, blocking the loop (DEBUG RELOAD).
    pub fn rewrite_now(&mut self) -> Result<(), String> {
        if self.rewrite.is_none() {
            self.start_rewrite()?;
        }
        let runs = self.aof.rewrites.count;
        while let Some(rw) = self.rewrite.as_ref() {
            if rw.waiting() {
                std::thread::sleep(Duration::from_millis(1));
            }
            self.rewrite_step(false);
        }
        if self.aof.rewrites.count == runs {
            return Err("the AOF rewrite failed".into());
        }
        Ok(())
    }

    /// Empties the dataset before it is loaded again from the AOF (DEBUG LOADAOF): the
    /// rewrite is cancelled and every record is on disk first. Returns the manifest to
    /// replay.
    pub fn prepare_reload(&mut self) -> Result<Manifest, String> {
        self.cancel_rewrite();
        self.flush_stream();
        self.aof.flush_force();
        if !self.aof.idle() {
            return Err("the AOF cannot be written right now".into());
        }
        self.aof.fsync_now();
        for i in 0..self.ks.dbs.len() {
            self.touch_db(i);
            self.ks.dbs[i].clear(true);
        }
        Ok(self.aof.manifest.clone())
    }

    /// Replay mode on or off: nothing expires and nothing is recorded while it is on.
    pub fn set_loading(&mut self, on: bool) {
        self.loading = on;
        self.refresh_stream();
        self.refresh_notify();
    }

    /// CONFIG SET appendonly yes: log from now on and write a base of the current data.
    pub fn enable_aof(&mut self) -> Result<(), String> {
        std::fs::create_dir_all(&self.aof.aof_dir)
            .map_err(|e| format!("Can't create {}: {e}", self.aof.aof_dir.display()))?;
        // An old manifest only tells which names are taken; its files are replaced.
        if let Ok(Some(m)) = Manifest::load(&self.aof.aof_dir, &self.aof.filename) {
            self.aof.next_seq = self.aof.next_seq.max(m.max_seq() + 1);
            self.aof.manifest = m;
        } else {
            self.aof.manifest = Manifest::default();
        }
        // Records collected so far (for a tap) predate the AOF: they must not reach it.
        self.flush_stream();
        self.aof.begin_wait_rewrite();
        self.refresh_stream();
        if let Err(e) = self.start_rewrite() {
            self.aof.stop();
            self.refresh_stream();
            return Err(e);
        }
        Ok(())
    }

    /// CONFIG SET appendonly no: flush, fsync and stop logging.
    pub fn disable_aof(&mut self) {
        self.cancel_rewrite();
        self.flush_stream();
        self.aof.stop();
        self.refresh_stream();
    }

    /// CONFIG SET appendfsync.
    pub fn set_fsync_policy(&mut self, policy: FsyncPolicy) {
        self.flush_stream();
        self.aof.set_policy(policy);
    }

    /// Shutdown: the rewrite is abandoned, every record written and fsynced.
    pub fn stop_persistence(&mut self) {
        self.cancel_rewrite();
        self.cancel_save();
        self.flush_stream();
        self.aof.stop();
        self.refresh_stream();
    }

    /// Starts an automatic rewrite when the AOF has grown enough (timer).
    pub fn maybe_auto_rewrite(&mut self) {
        if self.rewrite.is_some() || !self.aof.logging() {
            return;
        }
        if self.aof.rewrites.scheduled {
            if let Err(e) = self.start_rewrite() {
                warn!("Scheduled AOF rewrite could not start: {e}");
            }
            return;
        }
        let pct = self
            .config
            .get("auto-aof-rewrite-percentage")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let min = self
            .config
            .get("auto-aof-rewrite-min-size")
            .and_then(crate::config::parse_memory)
            .unwrap_or(64 << 20) as u64;
        let cur = self.aof.current_size();
        if pct == 0 || cur < min {
            return;
        }
        let base = self.aof.base_size.max(1);
        let growth = cur * 100 / base;
        if growth >= 100 + pct {
            info!(
                "Starting automatic rewriting of AOF on {}% growth",
                growth - 100
            );
            if let Err(e) = self.start_rewrite() {
                warn!("Automatic AOF rewrite could not start: {e}");
            }
        }
    }
}
