//! What blocking handlers share: the timeout argument, and parking the client when there
//! is nothing to take (`Ctx::block`). The waiting itself is the loop's
//! (`server.rs`) and the engine's (`engine/blocking.rs`).

use std::time::{Duration, Instant};

use super::{Args, Ctx};
use crate::client::{Blocked, TimeoutReply};
use crate::error::{CmdError, CmdResult};
use crate::resp::reply::Reply;
use crate::types::bytes::Bytes;

/// A blocking command's timeout in seconds (a float, 0 = forever), as Redis reads it:
/// converted to whole milliseconds, so a timeout under 1 ms also means forever.
pub fn parse_timeout(arg: &[u8], now_ms: i64) -> Result<Option<Duration>, CmdError> {
    let bad = || CmdError::err("timeout is not a float or out of range");
    let text = std::str::from_utf8(arg).map_err(|_| bad())?;
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return Err(bad());
    }
    let secs: f64 = text.parse().map_err(|_| bad())?;
    if secs.is_nan() {
        return Err(bad());
    }
    let ms = (secs * 1000.0).trunc();
    // Redis converts to a 64-bit integer: past its range (inf included) that comes out
    // negative on the machines Redis runs on, and it says so.
    if ms < 0.0 || ms >= i64::MAX as f64 {
        return Err(CmdError::err("timeout is negative"));
    }
    if ms > (i64::MAX - now_ms) as f64 {
        return Err(CmdError::err("timeout is out of range"));
    }
    Ok((ms > 0.0).then(|| Duration::from_millis(ms as u64)))
}

/// Writes the reply of a wait that ended with nothing.
pub fn reply_timeout(out: &mut Reply, kind: TimeoutReply) {
    match kind {
        TimeoutReply::NullArray => out.null_array(),
        TimeoutReply::NullBulk => out.null(),
    }
}

impl Ctx<'_> {
    /// The argument positions of a blocking command's keys in the order to try them: as
    /// given, except that when the command runs again because one of them received data,
    /// that one comes first, so the waiter is served from the key that woke it, as Redis
    /// 7.0 does (a pipeline can fill several of its keys before it is served).
    pub fn wait_keys(
        &self,
        a: &Args,
        keys: std::ops::Range<usize>,
    ) -> impl Iterator<Item = usize> + use<> {
        let first = self
            .cl
            .woken_by
            .as_ref()
            .and_then(|w| keys.clone().find(|&k| a.get(k) == &w[..]));
        first
            .into_iter()
            .chain(keys.filter(move |&k| Some(k) != first))
    }

    /// Nothing to take: parks the client on `keys` (of its database, which must come to
    /// hold a `want`: "list" or "zset") for `timeout` (None: forever). It gets no reply
    /// now; once a key has data its command runs again. Inside MULTI/EXEC and during
    /// replay nothing may wait, so it answers as on timeout at once, as Redis does.
    pub fn block(
        &mut self,
        a: &Args,
        keys: Vec<Bytes>,
        timeout: Option<Duration>,
        want: &'static str,
        on_timeout: TimeoutReply,
    ) -> CmdResult {
        if self.eng.in_exec || self.eng.loading || !self.clients.can_block() {
            reply_timeout(&mut self.out, on_timeout);
            return Ok(());
        }
        self.cl.blocked = Some(Box::new(Blocked {
            args: a.to_owned_cmd(),
            db: self.cl.db,
            keys,
            want,
            deadline: timeout.map(|d| Instant::now() + d),
            on_timeout,
        }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_as_redis_reads_them() {
        let ms = |s: &str| parse_timeout(s.as_bytes(), 0).map(|d| d.map(|d| d.as_millis()));
        assert_eq!(ms("0"), Ok(None));
        assert_eq!(ms("0.0001"), Ok(None));
        assert_eq!(ms("1.5"), Ok(Some(1500)));
        assert_eq!(ms("10"), Ok(Some(10_000)));
        let text = |s: &str| ms(s).unwrap_err().to_string();
        assert_eq!(text("-1"), "ERR timeout is negative");
        assert_eq!(text("x"), "ERR timeout is not a float or out of range");
        assert_eq!(text(" 1"), "ERR timeout is not a float or out of range");
        assert_eq!(text("nan"), "ERR timeout is not a float or out of range");
        assert_eq!(text("inf"), "ERR timeout is negative");
        assert_eq!(text("1e18"), "ERR timeout is negative");
        assert_eq!(ms("-0"), Ok(None));
    }
}
