//! The write stream: every change to the data, as the canonical commands that redo it.
//!
//! Each executed write yields its records here, whether or not the AOF is on: the
//! command's own arguments, or the canonical form its handler chose (absolute expiry
//! times, the result of a float increment, HDEL of the fields a past deadline deleted).
//! Keys and hash fields removed by expiry (and later by eviction) come as DEL and HDEL. A
//! SELECT goes before a record whose database differs from the previous one, and a
//! transaction whose commands left several records is wrapped in MULTI/EXEC once, here.
//!
//! The records of one loop iteration collect in one buffer. Before replies are written,
//! the engine hands them to the consumers: the AOF (which writes and fsyncs them as one
//! batch), the replication backlog and links, and a test tap. Nothing is encoded while no
//! one consumes.
//!
//! Record format (RESP multibulk, exactly what redis-server writes to its AOF and sends
//! to its replicas):
//!
//! ```text
//! *2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n          only when the database changes
//! *3\r\n$3\r\nDEL\r\n$1\r\nk\r\n...          one record per change
//! ```

use crate::resp::encode::{push_bulk, push_header, push_record, push_select};

/// Where a transaction began in the stream (see `WriteStream::mark`); two marks differ
/// if records were added between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    at: usize,
    records: u64,
    handovers: u64,
}

#[derive(Debug, Default)]
pub struct WriteStream {
    /// Someone consumes records (the AOF is logging, a tap is attached).
    active: bool,
    /// Records not yet handed to the consumers.
    buf: Vec<u8>,
    /// Canonical records of the command being run, committed if it changed data.
    prop: Vec<u8>,
    /// Number of records in `prop` (0: the command's own arguments are the record).
    prop_records: u64,
    /// Records so far, SELECTs included (a transaction that left several is wrapped).
    records: u64,
    /// Database of the last SELECT (-1: the next record needs one).
    selected_db: i64,
    /// Times the buffer was handed to the consumers (positions in it restart at 0).
    handovers: u64,
    /// `records` at the last handover.
    records_handed: u64,
}

impl WriteStream {
    pub fn new() -> WriteStream {
        WriteStream {
            selected_db: -1,
            ..Default::default()
        }
    }

    /// Records are being produced.
    #[inline]
    pub fn active(&self) -> bool {
        self.active
    }

    /// Starts or stops producing records. Stopping drops what no one will consume. A
    /// consumer that starts reading calls `force_select` too.
    pub fn set_active(&mut self, on: bool) {
        if !on {
            self.buf.clear();
            self.prop.clear();
            self.prop_records = 0;
        }
        self.active = on;
    }

    /// The database of the last SELECT, if the next record in it needs none.
    pub fn selected_db(&self) -> Option<usize> {
        usize::try_from(self.selected_db).ok()
    }

    /// The next record gets a SELECT, whatever the last database was: a consumer starts
    /// reading here (a new AOF file replays from database 0, a new replica knows none).
    pub fn force_select(&mut self) {
        self.selected_db = -1;
    }

    fn select(&mut self, db: usize) {
        if self.selected_db != db as i64 {
            push_select(&mut self.buf, db);
            self.selected_db = db as i64;
            self.records += 1;
        }
    }

    /// A record made of `args`, in database `db`.
    pub fn record<'a>(&mut self, db: usize, args: impl ExactSizeIterator<Item = &'a [u8]>) {
        if !self.active {
            return;
        }
        self.select(db);
        push_record(&mut self.buf, args);
        self.records += 1;
    }

    /// `DEL key` in `db`: a key removed by expiry.
    pub fn del(&mut self, db: usize, key: &[u8]) {
        self.record(db, [&b"DEL"[..], key].into_iter());
    }

    /// Bytes held by the buffer (left out of `maxmemory` accounting).
    pub fn buffered(&self) -> usize {
        self.buf.capacity() + self.prop.capacity()
    }

    /// `HDEL key fields...` in `db`: `count` hash fields removed by expiry, given as
    /// encoded bulk strings.
    pub fn hdel(&mut self, db: usize, key: &[u8], count: usize, bulks: &[u8]) {
        if !self.active {
            return;
        }
        self.select(db);
        push_header(&mut self.buf, 2 + count);
        push_bulk(&mut self.buf, b"HDEL");
        push_bulk(&mut self.buf, key);
        self.buf.extend_from_slice(bulks);
        self.records += 1;
    }

    /// A handler's canonical record, used instead of the command's arguments if the
    /// command changes data. Call once per record.
    pub fn propagate(&mut self, args: &[&[u8]]) {
        if self.active {
            self.prop_records += 1;
            push_record(&mut self.prop, args.iter().copied());
        }
    }

    /// Ends a command run in `db`: if it `changed` data, its canonical records or else
    /// its arguments join the stream; otherwise its canonical records are dropped. Several
    /// canonical records of one command (SPOP's SREM batches) are wrapped in MULTI/EXEC
    /// so consumers apply them whole, unless `in_exec` (EXEC wraps its transaction once).
    /// Returns true if records were added.
    pub fn commit<'a>(
        &mut self,
        db: usize,
        args: impl ExactSizeIterator<Item = &'a [u8]>,
        changed: bool,
        in_exec: bool,
    ) -> bool {
        if !self.active {
            return false;
        }
        if !changed {
            self.prop.clear();
            self.prop_records = 0;
            return false;
        }
        if self.prop_records > 0 {
            let wrap = self.prop_records > 1 && !in_exec;
            if wrap {
                push_record(&mut self.buf, [&b"MULTI"[..]].into_iter());
                self.records += 1;
            }
            self.select(db);
            self.buf.extend_from_slice(&self.prop);
            self.records += self.prop_records;
            if wrap {
                push_record(&mut self.buf, [&b"EXEC"[..]].into_iter());
                self.records += 1;
            }
            self.prop.clear();
            self.prop_records = 0;
        } else {
            self.record(db, args);
        }
        true
    }

    /// Where a transaction begins.
    pub fn mark(&self) -> Mark {
        Mark {
            at: self.buf.len(),
            records: self.records,
            handovers: self.handovers,
        }
    }

    /// Wraps the records added since `m` in MULTI/EXEC if there are several, so a
    /// consumer (replay, redis-server, a replica) applies the transaction whole. If the
    /// records were handed over meanwhile (CONFIG SET inside the transaction), what is
    /// left of it is wrapped, if several records are left.
    pub fn wrap_multi(&mut self, m: Mark) {
        let (at, from) = if m.handovers == self.handovers {
            (m.at, m.records)
        } else {
            (0, self.records_handed)
        };
        if !self.active || self.records < from + 2 {
            return;
        }
        let mut multi = Vec::with_capacity(16);
        push_record(&mut multi, [&b"MULTI"[..]].into_iter());
        self.buf.splice(at..at, multi);
        push_record(&mut self.buf, [&b"EXEC"[..]].into_iter());
    }

    /// Records waiting for the consumers.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Hands the waiting records to the consumers: `deliver` gets the buffer and may copy
    /// it or take it by swapping (the AOF does, so records are not copied); the stream
    /// goes on with an empty buffer.
    pub fn hand_over(&mut self, deliver: impl FnOnce(&mut Vec<u8>)) {
        if self.buf.is_empty() {
            return;
        }
        deliver(&mut self.buf);
        self.buf.clear();
        self.handovers += 1;
        self.records_handed = self.records;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &WriteStream) -> String {
        String::from_utf8_lossy(s.pending()).replace("\r\n", " ")
    }

    #[test]
    fn selects_canonical_forms_and_transactions() {
        let mut s = WriteStream::new();
        s.record(0, [&b"SET"[..], b"k", b"v"].into_iter());
        assert!(s.pending().is_empty(), "inactive: nothing encoded");
        s.set_active(true);
        s.record(0, [&b"SET"[..], b"k", b"v"].into_iter());
        s.del(0, b"gone");
        s.propagate(&[b"PEXPIREAT", b"k", b"1"]);
        assert!(s.commit(0, [&b"EXPIRE"[..], b"k", b"9"].into_iter(), true, false));
        s.propagate(&[b"DEL", b"x"]);
        assert!(!s.commit(0, [&b"GETDEL"[..], b"x"].into_iter(), false, false));
        assert_eq!(
            text(&s),
            "*2 $6 SELECT $1 0 *3 $3 SET $1 k $1 v *2 $3 DEL $4 gone \
             *3 $9 PEXPIREAT $1 k $1 1 "
        );
        s.hand_over(|_| {});
        // Several canonical records of one command are applied whole.
        s.propagate(&[b"SREM", b"s", b"a"]);
        s.propagate(&[b"SREM", b"s", b"b"]);
        assert!(s.commit(0, [&b"SPOP"[..], b"s", b"2"].into_iter(), true, false));
        assert_eq!(
            text(&s),
            "*1 $5 MULTI *3 $4 SREM $1 s $1 a *3 $4 SREM $1 s $1 b *1 $4 EXEC "
        );
        s.hand_over(|_| {});
        s.propagate(&[b"SREM", b"s", b"a"]);
        s.propagate(&[b"SREM", b"s", b"b"]);
        assert!(s.commit(0, [&b"SPOP"[..], b"s", b"2"].into_iter(), true, true));
        assert_eq!(text(&s), "*3 $4 SREM $1 s $1 a *3 $4 SREM $1 s $1 b ");
        s.hand_over(|_| {});
        let m = s.mark();
        s.record(3, [&b"SET"[..], b"a", b"1"].into_iter());
        s.wrap_multi(m);
        assert_eq!(
            text(&s),
            "*1 $5 MULTI *2 $6 SELECT $1 3 *3 $3 SET $1 a $1 1 *1 $4 EXEC "
        );
        s.hand_over(|_| {});
        let m = s.mark();
        s.hdel(3, b"h", 2, b"$1\r\nf\r\n$1\r\ng\r\n");
        s.wrap_multi(m);
        assert_eq!(text(&s), "*4 $4 HDEL $1 h $1 f $1 g ");
        let mut got = Vec::new();
        s.hand_over(|b| std::mem::swap(b, &mut got));
        assert_eq!(
            got,
            b"*4\r\n$4\r\nHDEL\r\n$1\r\nh\r\n$1\r\nf\r\n$1\r\ng\r\n"
        );
        assert!(s.pending().is_empty());
        // A transaction split by a handover: what is left of it is wrapped, if that is
        // several records; nothing left makes no empty MULTI/EXEC.
        let m = s.mark();
        s.del(3, b"a");
        s.hand_over(|_| {});
        s.del(3, b"b");
        s.del(3, b"c");
        s.wrap_multi(m);
        assert_eq!(
            text(&s),
            "*1 $5 MULTI *2 $3 DEL $1 b *2 $3 DEL $1 c *1 $4 EXEC "
        );
        s.hand_over(|_| {});
        let m = s.mark();
        s.del(3, b"a");
        s.del(3, b"b");
        s.hand_over(|_| {});
        s.wrap_multi(m);
        assert_eq!(text(&s), "");
        let m = s.mark();
        s.del(3, b"a");
        s.hand_over(|_| {});
        s.del(3, b"b");
        s.wrap_multi(m);
        assert_eq!(text(&s), "*2 $3 DEL $1 b ");
        s.hand_over(|_| {});
        s.force_select();
        s.del(3, b"k");
        assert_eq!(text(&s), "*2 $6 SELECT $1 3 *2 $3 DEL $1 k ");
    }
}
