//! Keyspace notifications (`notify-keyspace-events`): Redis's one hook, here
//! `Notifier::event`, through which a handler, expiry or eviction reports what happened to
//! a key; each event is published on `__keyspace@<db>__:<key>` (message: the event name)
//! and/or `__keyevent@<db>__:<event>` (message: the key), as the K and E flags ask.
//!
//! Events are queued while the command runs and published right after it (and, for keys
//! that expire or are evicted outside commands, before replies are written), because
//! publishing needs the other connections, which a handler deep in a type's code cannot
//! reach. Subscribers see them in the order they happened, before any later command's.
//! A RESP3 client listening to its own key events gets them after its command's reply,
//! where Redis sends some of them before it.
//!
//! With notifications off (the default) an event costs one branch on `wanted`; so does
//! the keyspace's record of new keys (`n`), which only exists while someone asked for it.

use crate::types::bytes::Bytes;

/// Redis's class flags, with its letters (`parse`, `describe`).
pub mod class {
    pub const KEYSPACE: u32 = 1;
    pub const KEYEVENT: u32 = 1 << 1;
    pub const GENERIC: u32 = 1 << 2;
    pub const STRING: u32 = 1 << 3;
    pub const LIST: u32 = 1 << 4;
    pub const SET: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const ZSET: u32 = 1 << 7;
    pub const EXPIRED: u32 = 1 << 8;
    pub const EVICTED: u32 = 1 << 9;
    pub const STREAM: u32 = 1 << 10;
    pub const KEY_MISS: u32 = 1 << 11;
    pub const MODULE: u32 = 1 << 12;
    pub const NEW: u32 = 1 << 13;
    /// `A`: every class but key-miss and new.
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// The letters of the classes `A` stands for, in the order Redis prints them.
const CLASS_LETTERS: &[(char, u32)] = &[
    ('g', class::GENERIC),
    ('$', class::STRING),
    ('l', class::LIST),
    ('s', class::SET),
    ('h', class::HASH),
    ('z', class::ZSET),
    ('x', class::EXPIRED),
    ('e', class::EVICTED),
    ('t', class::STREAM),
    ('d', class::MODULE),
    ('n', class::NEW),
];

/// CONFIG SET's error for a letter that names no class.
pub const BAD_CLASS: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/// The flags of a `notify-keyspace-events` text; None if a letter names no class.
pub fn parse(text: &str) -> Option<u32> {
    let mut flags = 0;
    for ch in text.chars() {
        flags |= match ch {
            'A' => class::ALL,
            'K' => class::KEYSPACE,
            'E' => class::KEYEVENT,
            'm' => class::KEY_MISS,
            c => CLASS_LETTERS.iter().find(|(l, _)| *l == c)?.1,
        };
    }
    Some(flags)
}

/// The canonical text of `flags`, as CONFIG GET shows it: `A` for all of its classes,
/// then K, E, m. Like Redis, `A` hides `n` (the flag stays on; only the text loses it).
pub fn describe(flags: u32) -> String {
    let mut s = String::new();
    if flags & class::ALL == class::ALL {
        s.push('A');
    } else {
        for &(l, f) in CLASS_LETTERS {
            if flags & f != 0 {
                s.push(l);
            }
        }
    }
    for (l, f) in [
        ('K', class::KEYSPACE),
        ('E', class::KEYEVENT),
        ('m', class::KEY_MISS),
    ] {
        if flags & f != 0 {
            s.push(l);
        }
    }
    s
}

/// One event waiting to be published.
#[derive(Debug)]
pub struct Event {
    pub db: usize,
    pub name: &'static str,
    pub key: Bytes,
}

/// The configured classes and the events not yet published.
#[derive(Debug, Default)]
pub struct Notifier {
    /// The configured flags.
    flags: u32,
    /// The classes to publish: the configured ones if K or E is set, else none (nothing
    /// would be published), so one test decides.
    wanted: u32,
    pending: Vec<Event>,
}

impl Notifier {
    /// Applies a (parsed) `notify-keyspace-events`.
    pub fn configure(&mut self, flags: u32) {
        self.flags = flags;
        self.wanted = if flags & (class::KEYSPACE | class::KEYEVENT) != 0 {
            flags
        } else {
            0
        };
    }

    /// Events of `class` are published.
    #[inline]
    pub fn wants(&self, class: u32) -> bool {
        self.wanted & class != 0
    }

    /// Some events are published: false (the default) makes every hook one branch.
    #[inline]
    pub fn on(&self) -> bool {
        self.wanted != 0
    }

    /// Reports event `name` of `class` on `key` of database `db` (Redis's
    /// notifyKeyspaceEvent).
    #[inline]
    pub fn event(&mut self, class: u32, name: &'static str, db: usize, key: &[u8]) {
        if self.wanted & class != 0 {
            self.pending.push(Event {
                db,
                name,
                key: key.into(),
            });
        }
    }

    #[inline]
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Publishes the pending events, in order: `publish(channel, message)` once or twice
    /// per event, as K and E ask.
    pub fn drain(&mut self, publish: &mut dyn FnMut(&[u8], &[u8])) {
        let mut chan = Vec::new();
        for ev in std::mem::take(&mut self.pending) {
            let prefix = |chan: &mut Vec<u8>, what: &str| {
                chan.clear();
                chan.extend_from_slice(what.as_bytes());
                crate::num::push_i64(chan, ev.db as i64);
                chan.extend_from_slice(b"__:");
            };
            if self.flags & class::KEYSPACE != 0 {
                prefix(&mut chan, "__keyspace@");
                chan.extend_from_slice(&ev.key);
                publish(&chan, ev.name.as_bytes());
            }
            if self.flags & class::KEYEVENT != 0 {
                prefix(&mut chan, "__keyevent@");
                chan.extend_from_slice(ev.name.as_bytes());
                publish(&chan, &ev.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_round_trip_as_redis_prints_them() {
        for (given, shown) in [
            ("KEA", "AKE"),
            ("Kgx$nm", "g$xnKm"),
            ("E", "E"),
            ("AAsgK", "AK"),
            ("", ""),
            ("g$lshzxetdKE", "AKE"),
            ("AnK", "AK"),
        ] {
            assert_eq!(describe(parse(given).unwrap()), shown, "{given}");
        }
        assert!(parse("AnK").unwrap() & class::NEW != 0);
        assert_eq!(parse("Q"), None);
        assert_eq!(parse("K "), None);
    }

    #[test]
    fn events_need_k_or_e() {
        let mut n = Notifier::default();
        n.configure(parse("g").unwrap());
        n.event(class::GENERIC, "del", 0, b"k");
        assert!(!n.has_pending());
        n.configure(parse("gE").unwrap());
        assert!(!n.wants(class::STRING));
        n.event(class::STRING, "set", 0, b"k");
        n.event(class::GENERIC, "del", 3, b"k");
        let mut got = Vec::new();
        n.drain(&mut |c, m| got.push((c.to_vec(), m.to_vec())));
        assert_eq!(got, [(b"__keyevent@3__:del".to_vec(), b"k".to_vec())]);
    }
}
