//! The pub/sub registry: which client listens to which channel, pattern or shard channel,
//! and the encoding of the messages PUBLISH fans out.
//!
//! Each client keeps its own subscriptions (`ClientSubs`, in its `ClientState`: what
//! UNSUBSCRIBE without arguments walks and CLIENT LIST counts); the engine keeps the
//! reverse maps here, name -> subscriber ids in subscription order, which is what PUBLISH
//! walks. A name with no subscriber left is removed, so PUBSUB CHANNELS lists only live
//! channels and a flood of one-off channels leaves nothing behind (as in Redis).
//!
//! Subscribers are named by client id: the registry knows nothing of connections. The
//! command layer (`cmd/pubsub.rs`) hands each (id, message) to the loop's `Clients` view,
//! which appends it to that connection's output. A message is encoded once per PUBLISH:
//! a header naming its kind (`*3 message`, or `*4 pmessage <pattern>` per matching
//! pattern) and a tail holding the channel and payload, shared by every subscriber. RESP3
//! subscribers get the same bytes with `>` (push) in place of the leading `*`.
//!
//! Shard channels (SSUBSCRIBE, SPUBLISH) are a namespace of their own, as in a Redis 7
//! server without cluster mode: no pattern ever sees their messages.

use indexmap::{IndexMap, IndexSet};

use crate::glob::glob_match;
use crate::resp::encode::push_bulk;
use crate::types::bytes::Bytes;

/// The three namespaces of subscriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn index(self) -> usize {
        match self {
            Kind::Channel => 0,
            Kind::Pattern => 1,
            Kind::Shard => 2,
        }
    }
}

/// One client's subscriptions, in the order it made them (UNSUBSCRIBE without arguments
/// answers in that order). Boxed, and only once the client subscribes: every connection
/// carries this, and the loop moves connections around (16 bytes instead of 170 measured
/// 1% more instructions per GET).
#[derive(Debug, Default)]
pub struct ClientSubs {
    sets: Option<Box<[IndexSet<Bytes>; 3]>>,
    /// Subscribed to anything: kept up to date by the registry, so the check every
    /// command makes (`active`) is one load.
    any: bool,
}

impl ClientSubs {
    /// How many subscriptions of one kind.
    pub fn len(&self, kind: Kind) -> usize {
        self.sets.as_ref().map_or(0, |s| s[kind.index()].len())
    }

    /// The count Redis puts in (un)subscribe replies: channels plus patterns for those,
    /// shard channels alone for the shard commands.
    pub fn reply_count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.len(Kind::Shard),
            _ => self.len(Kind::Channel) + self.len(Kind::Pattern),
        }
    }

    /// The set of `kind`, created on first use.
    fn set_mut(&mut self, kind: Kind) -> &mut IndexSet<Bytes> {
        &mut self.sets.get_or_insert_with(Default::default)[kind.index()]
    }

    /// Subscribed to anything (Redis's CLIENT_PUBSUB flag): RESP2 clients are then
    /// limited to the subscription commands, and the `pubsub` output limits apply.
    #[inline]
    pub fn active(&self) -> bool {
        self.any
    }

    /// Recomputes `any`; the boxed sets go with the last subscription.
    fn refresh(&mut self) {
        self.any = self
            .sets
            .as_ref()
            .is_some_and(|s| s.iter().any(|set| !set.is_empty()));
        if !self.any {
            self.sets = None;
        }
    }
}

/// What a published message looks like to one subscriber: `head` then `tail`, both RESP2
/// (a RESP3 subscriber's copy starts with `>` instead of `head[0]`).
pub type Deliver<'a> = dyn FnMut(u64, &[u8], &[u8]) + 'a;

const MESSAGE_HEAD: &[u8] = b"*3\r\n$7\r\nmessage\r\n";
const SMESSAGE_HEAD: &[u8] = b"*3\r\n$8\r\nsmessage\r\n";
const PMESSAGE_HEAD: &[u8] = b"*4\r\n$8\r\npmessage\r\n";

/// The server-wide maps: name -> subscriber ids, per kind.
#[derive(Debug, Default)]
pub struct Registry {
    maps: [IndexMap<Bytes, Vec<u64>>; 3],
    /// Reused between publishes: the encoded channel and message, and a pmessage header.
    tail: Vec<u8>,
    head: Vec<u8>,
}

impl Registry {
    /// Subscribes client `id` to `name`; false if it already was.
    pub fn subscribe(&mut self, subs: &mut ClientSubs, id: u64, kind: Kind, name: &[u8]) -> bool {
        if !subs.set_mut(kind).insert(name.into()) {
            return false;
        }
        subs.any = true;
        let map = &mut self.maps[kind.index()];
        match map.get_mut(name) {
            Some(ids) => ids.push(id),
            None => {
                map.insert(name.into(), vec![id]);
            }
        }
        true
    }

    /// Unsubscribes client `id` from `name`; false if it was not subscribed.
    pub fn unsubscribe(&mut self, subs: &mut ClientSubs, id: u64, kind: Kind, name: &[u8]) -> bool {
        if subs
            .sets
            .as_mut()
            .is_some_and(|s| s[kind.index()].swap_remove(name))
        {
            subs.refresh();
            self.forget(id, kind, name);
            true
        } else {
            false
        }
    }

    /// Removes `id` from the subscribers of `name`, and `name` once nobody is left.
    fn forget(&mut self, id: u64, kind: Kind, name: &[u8]) {
        let map = &mut self.maps[kind.index()];
        let Some(ids) = map.get_mut(name) else {
            return;
        };
        if let Some(i) = ids.iter().position(|&x| x == id) {
            ids.remove(i);
        }
        if ids.is_empty() {
            map.swap_remove(name);
        }
    }

    /// Unsubscribes client `id` from everything of `kind`; returns the names it left, in
    /// the order it had subscribed.
    pub fn unsubscribe_all(&mut self, subs: &mut ClientSubs, id: u64, kind: Kind) -> Vec<Bytes> {
        let names: Vec<Bytes> = match subs.sets.as_mut() {
            Some(s) => std::mem::take(&mut s[kind.index()]).into_iter().collect(),
            None => Vec::new(),
        };
        subs.refresh();
        for n in &names {
            self.forget(id, kind, n);
        }
        names
    }

    /// Drops every subscription of a client that disconnected or ran RESET.
    pub fn drop_client(&mut self, subs: &mut ClientSubs, id: u64) {
        if !subs.active() {
            return;
        }
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            self.unsubscribe_all(subs, id, kind);
        }
    }

    /// Names of `kind` with at least one subscriber (INFO's pubsub_channels, PUBSUB
    /// NUMPAT...).
    pub fn len(&self, kind: Kind) -> usize {
        self.maps[kind.index()].len()
    }

    /// Subscribers of one name (PUBSUB NUMSUB).
    pub fn subscribers(&self, kind: Kind, name: &[u8]) -> usize {
        self.maps[kind.index()].get(name).map_or(0, Vec::len)
    }

    /// The live names of `kind`.
    pub fn names(&self, kind: Kind) -> impl Iterator<Item = &[u8]> {
        self.maps[kind.index()].keys().map(|k| k.as_slice())
    }

    /// Sends `message` on `channel` (a shard channel if `shard`): `deliver(id, head,
    /// tail)` for every subscriber of the channel, then, unless sharded, for every
    /// subscriber of each matching pattern, in the order they subscribed. Returns how
    /// many deliveries there were (PUBLISH's reply; a client subscribed to the channel
    /// and a matching pattern counts twice, as it receives twice).
    pub fn publish(
        &mut self,
        shard: bool,
        channel: &[u8],
        message: &[u8],
        deliver: &mut Deliver,
    ) -> usize {
        let Registry { maps, tail, head } = self;
        let [channels, patterns, shards] = maps;
        let direct = if shard { &*shards } else { &*channels };
        let subscribers = direct.get(channel);
        let any_pattern = !shard && !patterns.is_empty();
        if subscribers.is_none() && !any_pattern {
            return 0;
        }
        tail.clear();
        push_bulk(tail, channel);
        push_bulk(tail, message);
        let mut n = 0;
        if let Some(ids) = subscribers {
            let h = if shard { SMESSAGE_HEAD } else { MESSAGE_HEAD };
            for &id in ids {
                deliver(id, h, tail);
            }
            n += ids.len();
        }
        if !any_pattern {
            return n;
        }
        for (pat, ids) in patterns.iter() {
            if !glob_match(pat, channel, false) {
                continue;
            }
            head.clear();
            head.extend_from_slice(PMESSAGE_HEAD);
            push_bulk(head, pat);
            for &id in ids {
                deliver(id, head, tail);
            }
            n += ids.len();
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(reg: &mut Registry, shard: bool, ch: &str, msg: &str) -> (usize, Vec<(u64, String)>) {
        let mut got = Vec::new();
        let n = reg.publish(shard, ch.as_bytes(), msg.as_bytes(), &mut |id, h, t| {
            let mut b = h.to_vec();
            b.extend_from_slice(t);
            got.push((id, String::from_utf8(b).unwrap()));
        });
        (n, got)
    }

    #[test]
    fn channels_patterns_and_shards_are_apart() {
        let mut reg = Registry::default();
        let (mut a, mut b) = (ClientSubs::default(), ClientSubs::default());
        assert!(reg.subscribe(&mut a, 1, Kind::Channel, b"news"));
        assert!(!reg.subscribe(&mut a, 1, Kind::Channel, b"news"));
        assert!(reg.subscribe(&mut b, 2, Kind::Pattern, b"n*"));
        assert!(reg.subscribe(&mut b, 2, Kind::Shard, b"news"));
        assert_eq!(a.reply_count(Kind::Channel), 1);
        assert_eq!(b.reply_count(Kind::Pattern), 1);
        assert_eq!(b.reply_count(Kind::Shard), 1);
        let (n, got) = sent(&mut reg, false, "news", "hi");
        assert_eq!(n, 2);
        assert_eq!(
            got,
            [
                (
                    1,
                    "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n".into()
                ),
                (
                    2,
                    "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n".into()
                ),
            ]
        );
        let (n, got) = sent(&mut reg, true, "news", "x");
        assert_eq!(n, 1);
        assert_eq!(
            got[0].1,
            "*3\r\n$8\r\nsmessage\r\n$4\r\nnews\r\n$1\r\nx\r\n"
        );
        assert_eq!(sent(&mut reg, false, "other", "x").0, 0);
    }

    #[test]
    fn names_go_with_their_last_subscriber() {
        let mut reg = Registry::default();
        let (mut a, mut b) = (ClientSubs::default(), ClientSubs::default());
        reg.subscribe(&mut a, 1, Kind::Channel, b"c");
        reg.subscribe(&mut b, 2, Kind::Channel, b"c");
        reg.subscribe(&mut a, 1, Kind::Channel, b"d");
        assert_eq!(reg.subscribers(Kind::Channel, b"c"), 2);
        assert!(reg.unsubscribe(&mut b, 2, Kind::Channel, b"c"));
        assert!(!reg.unsubscribe(&mut b, 2, Kind::Channel, b"c"));
        assert!(!b.active());
        assert_eq!(reg.subscribers(Kind::Channel, b"c"), 1);
        let left = reg.unsubscribe_all(&mut a, 1, Kind::Channel);
        assert_eq!(left, [Bytes::from(&b"c"[..]), Bytes::from(&b"d"[..])]);
        assert_eq!(reg.len(Kind::Channel), 0);
        reg.subscribe(&mut a, 1, Kind::Pattern, b"*");
        reg.drop_client(&mut a, 1);
        assert_eq!(reg.len(Kind::Pattern), 0);
        assert!(!a.active());
    }
}
