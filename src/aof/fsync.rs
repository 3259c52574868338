//! The background fsync of `appendfsync everysec`: the one place ferrokv uses a second
//! thread. fsync can take hundreds of milliseconds on a busy disk; doing it in the event
//! loop would stall every client, so the loop hands a duplicate of the file descriptor to
//! this thread once a second and keeps serving. The thread shares two atomics with the
//! loop and nothing else: "busy" and the errno of the last failed fsync.

use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;

use log::warn;

pub struct Fsyncer {
    tx: Option<Sender<File>>,
    busy: Arc<AtomicBool>,
    /// errno of the last background fsync (0: it succeeded).
    errno: Arc<AtomicI32>,
    handle: Option<JoinHandle<()>>,
}

impl Fsyncer {
    pub fn start() -> Fsyncer {
        let (tx, rx) = channel::<File>();
        let busy = Arc::new(AtomicBool::new(false));
        let errno = Arc::new(AtomicI32::new(0));
        let (b, e) = (busy.clone(), errno.clone());
        let handle = std::thread::Builder::new()
            .name("aof-fsync".into())
            .spawn(move || {
                for f in rx {
                    match f.sync_data() {
                        Ok(()) => e.store(0, Ordering::Release),
                        Err(err) => {
                            warn!("Background AOF fsync failed: {err}");
                            e.store(err.raw_os_error().unwrap_or(5), Ordering::Release);
                        }
                    }
                    b.store(false, Ordering::Release);
                }
            })
            .ok();
        Fsyncer {
            tx: Some(tx),
            busy,
            errno,
            handle,
        }
    }

    /// An fsync is running now.
    pub fn busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    /// errno of the last finished fsync, 0 if it succeeded.
    pub fn last_errno(&self) -> i32 {
        self.errno.load(Ordering::Acquire)
    }

    /// Starts an fsync of `file` in the background. Falls back to a synchronous fsync if
    /// the descriptor cannot be duplicated or the thread is gone.
    pub fn request(&self, file: &File) {
        let sent = match (file.try_clone(), &self.tx) {
            (Ok(dup), Some(tx)) => {
                self.busy.store(true, Ordering::Release);
                tx.send(dup).is_ok()
            }
            _ => false,
        };
        if !sent {
            self.busy.store(false, Ordering::Release);
            let r = file.sync_data();
            self.errno.store(
                r.err().map_or(0, |e| e.raw_os_error().unwrap_or(5)),
                Ordering::Release,
            );
        }
    }

    /// Waits for a running fsync to end (shutdown, file switch).
    pub fn wait(&self) {
        while self.busy() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

impl Drop for Fsyncer {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
