//! ACL users, as Redis 6+/7 has them: who may run which commands on which keys.
//!
//! A user has flags (on/off, nopass), password hashes (SHA-256, never the clear text),
//! and selectors: the root selector, written without parentheses, plus any `(...)` ones.
//! A selector allows commands (a bitset indexed by command id, subcommands included),
//! key patterns (`~p` for any access, `%R~p` reads, `%W~p` writes) and channel patterns
//! (stored and printed; ferrokv has no pub/sub commands to check them against yet). A
//! command runs if any selector allows it and all its keys.
//!
//! The table lives in the engine (`Engine::acl`), its single owner. A client holds a
//! `UserRef` (slot and epoch): deleting a user frees its slot and bumps the
//! epoch, so a stale reference never reaches another user; the clients of a
//! deleted user are disconnected by the command that deleted it.
//!
//! This module knows nothing of the command table's types: `cmd` hands it a `Catalog`
//! (names, ids, categories, subcommand ranges) and, at check time, the positions and
//! read/write needs of a command's keys. The hot path is `Acl::unrestricted`, one load
//! and compare for a user with `+@all ~*` (the default user, usually), which skips the
//! check entirely.

use std::collections::{BTreeMap, VecDeque};

use crate::glob::glob_match;
use crate::resp::args::Args;
use crate::sha256;

/// A command's id in the registry (`cmd::CmdId`).
pub type CmdId = usize;

/// One command or subcommand, as ACL rules see it.
pub struct CmdInfo {
    /// Full name: `get`, `config|get`.
    pub name: &'static str,
    /// ACL category bits, implied ones included.
    pub categories: u32,
    /// Ids of its subcommands (empty for a leaf).
    pub subs: std::ops::Range<CmdId>,
    pub is_sub: bool,
}

/// Every command by id, with the category names: what rules are parsed against.
pub struct Catalog {
    pub cmds: Vec<CmdInfo>,
    /// Category bits and names in Redis's order (ACL CAT).
    pub categories: &'static [(u32, &'static str)],
    /// Finds a command by its full name (`get`, `config|get`), any case.
    pub lookup: fn(&[u8]) -> Option<CmdId>,
}

impl Catalog {
    fn tops(&self) -> impl Iterator<Item = CmdId> + '_ {
        self.cmds
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.is_sub)
            .map(|(i, _)| i)
    }

    /// The bit of category `name` (any case).
    pub fn category(&self, name: &[u8]) -> Option<u32> {
        self.categories
            .iter()
            .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(name))
            .map(|(b, _)| *b)
    }
}

/// Why a rule was refused: Redis's `ACLSetUserStringError` texts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RuleError {
    Syntax,
    UnknownCommand,
    KeyAfterAll,
    ChannelAfterAll,
    NoSuchPassword,
    BadHash,
    FirstArgOfSub,
    Duplicate,
}

impl RuleError {
    pub fn text(self) -> &'static str {
        match self {
            RuleError::Syntax => "Syntax error",
            RuleError::UnknownCommand => "Unknown command or category name in ACL",
            RuleError::KeyAfterAll => {
                "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
            }
            RuleError::ChannelAfterAll => {
                "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
            }
            RuleError::NoSuchPassword => {
                "The password you are trying to remove from the user does not exist"
            }
            RuleError::BadHash => {
                "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
            }
            RuleError::FirstArgOfSub => "Allowing first-arg of a subcommand is not supported",
            RuleError::Duplicate => {
                "Duplicate user found. A user can only be defined once in config files"
            }
        }
    }
}

/// Why a command was refused (and the ACL LOG's `reason`), ordered as Redis ranks them
/// when several selectors fail differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    Command,
    Key,
    Auth,
    Channel,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::Command => "command",
            Reason::Key => "key",
            Reason::Auth => "auth",
            Reason::Channel => "channel",
        }
    }
}

/// Reports a command's keys to its argument, as (position, read, write).
pub type KeyWalker<'a> = dyn FnMut(&mut dyn FnMut(usize, bool, bool)) + 'a;

/// Reports a command's channel arguments to its argument, as (position, is a pattern).
pub type ChannelWalker<'a> = dyn FnMut(&mut dyn FnMut(usize, bool)) + 'a;

/// A refusal: the reason, and the argument position of the key that failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Denial {
    pub reason: Reason,
    pub pos: usize,
}

/// A key pattern with the accesses it grants.
#[derive(Clone, PartialEq)]
struct KeyPattern {
    read: bool,
    write: bool,
    pattern: Vec<u8>,
}

/// Redis's `isspace` or NUL: not allowed in usernames and patterns.
fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0))
}

/// A set of permissions: the root one of a user, or one in parentheses.
#[derive(Clone)]
struct Selector {
    /// Allowed command ids.
    allowed: Vec<u64>,
    /// `+@all` was applied and not undone by `-@all`: commands added later would be
    /// allowed too. Decides whether descriptions start from `+@all` or `-@all`.
    future: bool,
    /// Every command is allowed (cleared by any removal).
    allcommands: bool,
    allkeys: bool,
    keys: Vec<KeyPattern>,
    allchannels: bool,
    channels: Vec<Vec<u8>>,
    /// `+select|0`: first arguments allowed for a command that is otherwise denied.
    firstargs: Vec<(CmdId, Vec<Vec<u8>>)>,
}

impl Selector {
    fn new(n: usize, allchannels: bool) -> Selector {
        Selector {
            allowed: vec![0; n.div_ceil(64)],
            future: false,
            allcommands: false,
            allkeys: false,
            keys: Vec::new(),
            allchannels,
            channels: Vec::new(),
            firstargs: Vec::new(),
        }
    }

    fn bit(&self, id: CmdId) -> bool {
        self.allowed[id / 64] >> (id % 64) & 1 == 1
    }

    fn set_bit(&mut self, id: CmdId, on: bool) {
        if on {
            self.allowed[id / 64] |= 1 << (id % 64);
        } else {
            self.allowed[id / 64] &= !(1 << (id % 64));
            self.allcommands = false;
        }
    }

    /// Allows or denies a command, and with a container all its subcommands.
    fn change(&mut self, cat: &Catalog, id: CmdId, on: bool) {
        self.set_bit(id, on);
        self.firstargs.retain(|(i, _)| *i != id);
        for s in cat.cmds[id].subs.clone() {
            self.set_bit(s, on);
        }
    }

    /// `+@cat` / `-@cat`: a container in the category brings all its subcommands.
    fn set_category(&mut self, cat: &Catalog, flag: u32, on: bool) {
        for top in cat.tops() {
            if cat.cmds[top].categories & flag != 0 {
                self.change(cat, top, on);
            }
            for s in cat.cmds[top].subs.clone() {
                if cat.cmds[s].categories & flag != 0 {
                    self.set_bit(s, on);
                }
            }
        }
    }

    /// How many commands of a category are allowed and denied.
    fn count_category(&self, cat: &Catalog, flag: u32) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        for (id, c) in cat.cmds.iter().enumerate() {
            if c.categories & flag != 0 {
                if self.bit(id) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        (on, off)
    }

    fn all_commands(&mut self, on: bool) {
        self.allowed.fill(if on { !0 } else { 0 });
        self.future = on;
        self.allcommands = on;
        self.firstargs.clear();
    }

    /// Applies one selector rule (keys, channels, commands).
    fn apply(&mut self, cat: &Catalog, op: &[u8]) -> Result<(), RuleError> {
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("allkeys") || op == b"~*" {
            self.allkeys = true;
            self.keys.clear();
        } else if is("resetkeys") {
            self.allkeys = false;
            self.keys.clear();
        } else if is("allchannels") || op == b"&*" {
            self.allchannels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.allchannels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.all_commands(true);
        } else if is("nocommands") || is("-@all") {
            self.all_commands(false);
        } else if op[0] == b'~' || op[0] == b'%' {
            self.add_key_pattern(op)?;
        } else if op[0] == b'&' {
            if self.allchannels {
                return Err(RuleError::ChannelAfterAll);
            }
            if has_spaces(&op[1..]) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c[..] == op[1..]) {
                self.channels.push(op[1..].to_vec());
            }
        } else if op.len() >= 2 && (op[0] == b'+' || op[0] == b'-') && op[1] == b'@' {
            let flag = cat.category(&op[2..]).ok_or(RuleError::UnknownCommand)?;
            self.set_category(cat, flag, op[0] == b'+');
        } else if op[0] == b'+' {
            self.allow_command(cat, &op[1..])?;
        } else if op[0] == b'-' {
            let id = (cat.lookup)(&op[1..]).ok_or(RuleError::UnknownCommand)?;
            self.change(cat, id, false);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// `~pattern`, `%R~pattern`, `%W~pattern`, `%RW~pattern`.
    fn add_key_pattern(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if self.allkeys {
            return Err(RuleError::KeyAfterAll);
        }
        let (read, write, pattern) = if op[0] == b'%' {
            let tilde = op
                .iter()
                .position(|&c| c == b'~')
                .ok_or(RuleError::Syntax)?;
            let (mut r, mut w) = (false, false);
            for &c in &op[1..tilde] {
                match c.to_ascii_uppercase() {
                    b'R' if !r => r = true,
                    b'W' if !w => w = true,
                    _ => return Err(RuleError::Syntax),
                }
            }
            if !r && !w {
                return Err(RuleError::Syntax);
            }
            (r, w, &op[tilde + 1..])
        } else {
            (true, true, &op[1..])
        };
        if has_spaces(pattern) {
            return Err(RuleError::Syntax);
        }
        match self.keys.iter_mut().find(|k| k.pattern == pattern) {
            Some(k) => {
                k.read |= read;
                k.write |= write;
            }
            None => self.keys.push(KeyPattern {
                read,
                write,
                pattern: pattern.to_vec(),
            }),
        }
        self.allkeys = false;
        Ok(())
    }

    /// `+cmd`, `+container|sub`, or `+cmd|first-arg` (allowed first argument).
    fn allow_command(&mut self, cat: &Catalog, name: &[u8]) -> Result<(), RuleError> {
        let Some(bar) = name.iter().rposition(|&c| c == b'|') else {
            let id = (cat.lookup)(name).ok_or(RuleError::UnknownCommand)?;
            self.change(cat, id, true);
            return Ok(());
        };
        let (base, sub) = (&name[..bar], &name[bar + 1..]);
        let id = (cat.lookup)(base).ok_or(RuleError::UnknownCommand)?;
        if cat.cmds[id].is_sub {
            return Err(RuleError::FirstArgOfSub);
        }
        if sub.is_empty() {
            return Err(RuleError::Syntax);
        }
        if !cat.cmds[id].subs.is_empty() {
            let sid = (cat.lookup)(name).ok_or(RuleError::UnknownCommand)?;
            self.change(cat, sid, true);
            return Ok(());
        }
        log::warn!(
            "Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL and may get disabled in the future (offender: +{})",
            String::from_utf8_lossy(name)
        );
        match self.firstargs.iter_mut().find(|(i, _)| *i == id) {
            Some((_, list)) => {
                if !list.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                    list.push(sub.to_vec());
                }
            }
            None => self.firstargs.push((id, vec![sub.to_vec()])),
        }
        Ok(())
    }

    /// True if `key` may be accessed for reading and/or writing.
    fn key_ok(&self, key: &[u8], read: bool, write: bool) -> bool {
        self.allkeys
            || self.keys.iter().any(|p| {
                (p.read || !read) && (p.write || !write) && glob_match(&p.pattern, key, false)
            })
    }

    /// True if `channel` may be published or subscribed to. A pattern subscription
    /// (`is_pattern`) must equal one of the allowed patterns, as Redis requires: a
    /// pattern that merely overlaps them could match channels they forbid.
    fn channel_ok(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.allchannels
            || self.channels.iter().any(|p| {
                if is_pattern {
                    p[..] == *channel
                } else {
                    glob_match(p, channel, false)
                }
            })
    }

    /// Checks one command against this selector. `keys` reports each key's position and
    /// whether it is read and/or written, `channels` each channel and whether it is a
    /// pattern.
    fn check(
        &self,
        cat: &Catalog,
        id: CmdId,
        no_auth: bool,
        args: &Args,
        keys: &mut KeyWalker,
        channels: &mut ChannelWalker,
    ) -> Result<(), Denial> {
        if !self.allcommands && !no_auth && !self.bit(id) {
            let idx = if cat.cmds[id].is_sub { 2 } else { 1 };
            let first_ok = idx < args.len()
                && self
                    .firstargs
                    .iter()
                    .find(|(i, _)| *i == id)
                    .is_some_and(|(_, l)| l.iter().any(|a| a.eq_ignore_ascii_case(args.get(idx))));
            if !first_ok {
                return Err(Denial {
                    reason: Reason::Command,
                    pos: 0,
                });
            }
        }
        if !self.allkeys {
            let mut failed = None;
            keys(&mut |pos, read, write| {
                if failed.is_none() && !self.key_ok(args.get(pos), read, write) {
                    failed = Some(pos);
                }
            });
            if let Some(pos) = failed {
                return Err(Denial {
                    reason: Reason::Key,
                    pos,
                });
            }
        }
        if !self.allchannels {
            let mut failed = None;
            channels(&mut |pos, is_pattern| {
                if failed.is_none() && !self.channel_ok(args.get(pos), is_pattern) {
                    failed = Some(pos);
                }
            });
            if let Some(pos) = failed {
                return Err(Denial {
                    reason: Reason::Channel,
                    pos,
                });
            }
        }
        Ok(())
    }

    /// The command rules, in the form ACL SETUSER takes back: `+@all` or `-@all`, then
    /// the categories that fit best, then single commands for the remaining differences
    /// (Redis's `ACLDescribeSelectorCommandRules`).
    fn describe_commands(&self, cat: &Catalog) -> String {
        let n = cat.cmds.len();
        let additive = !self.future;
        let mut rules = String::from(if additive { "-@all " } else { "+@all " });
        // `fake` follows the rules emitted so far; `temp` holds what is left to explain.
        let mut fake = Selector::new(n, false);
        fake.all_commands(!additive);
        let mut temp = Selector::new(n, false);
        temp.allowed.clone_from(&self.allowed);
        let mut applied = vec![false; cat.categories.len()];
        loop {
            let mut best = None;
            let (mut mindiff, mut maxsame) = (usize::MAX, 0);
            for (j, &(flag, _)) in cat.categories.iter().enumerate() {
                if applied[j] {
                    continue;
                }
                let (on, off) = temp.count_category(cat, flag);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some(j);
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some(j) = best else { break };
            let (flag, name) = cat.categories[j];
            fake.set_category(cat, flag, additive);
            temp.set_category(cat, flag, !additive);
            rules.push_str(if additive { "+@" } else { "-@" });
            rules.push_str(name);
            rules.push(' ');
            applied[j] = true;
        }
        for top in cat.tops() {
            for id in std::iter::once(top).chain(cat.cmds[top].subs.clone()) {
                let bit = self.bit(id);
                if bit != fake.bit(id) {
                    rules.push(if bit { '+' } else { '-' });
                    rules.push_str(cat.cmds[id].name);
                    rules.push(' ');
                    fake.change(cat, id, bit);
                }
            }
            if !self.bit(top)
                && let Some((_, list)) = self.firstargs.iter().find(|(i, _)| *i == top)
            {
                for a in list {
                    rules.push('+');
                    rules.push_str(cat.cmds[top].name);
                    rules.push('|');
                    rules.push_str(&String::from_utf8_lossy(a));
                    rules.push(' ');
                }
            }
        }
        rules.pop();
        rules
    }

    /// The key patterns as ACL LIST prints them (`~a %R~b`), space-separated.
    fn describe_keys(&self) -> Vec<u8> {
        if self.allkeys {
            return b"~*".to_vec();
        }
        let mut out = Vec::new();
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(match (k.read, k.write) {
                (true, true) => b"~",
                (true, false) => b"%R~",
                _ => b"%W~",
            });
            out.extend_from_slice(&k.pattern);
        }
        out
    }

    /// The channel patterns as ACL GETUSER prints them (`&a &b`).
    fn describe_channels(&self) -> Vec<u8> {
        if self.allchannels {
            return b"&*".to_vec();
        }
        let mut out = Vec::new();
        for (i, c) in self.channels.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.push(b'&');
            out.extend_from_slice(c);
        }
        out
    }

    /// Keys, channels and commands, as in an ACL LIST line.
    fn describe(&self, cat: &Catalog) -> Vec<u8> {
        let mut out = self.describe_keys();
        if !out.is_empty() {
            out.push(b' ');
        }
        if !self.allchannels {
            out.extend_from_slice(b"resetchannels ");
        }
        let ch = self.describe_channels();
        if !ch.is_empty() {
            out.extend_from_slice(&ch);
            out.push(b' ');
        }
        out.extend_from_slice(self.describe_commands(cat).as_bytes());
        out
    }
}

/// One user.
#[derive(Clone)]
struct User {
    name: Vec<u8>,
    enabled: bool,
    nopass: bool,
    /// `sanitize-payload` (Some(true)) or `skip-sanitize-payload` (Some(false)).
    sanitize: Option<bool>,
    passwords: Vec<[u8; 32]>,
    /// The root selector first.
    selectors: Vec<Selector>,
}

impl User {
    fn new(name: &[u8], n: usize, allchannels: bool) -> User {
        User {
            name: name.to_vec(),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(n, allchannels)],
        }
    }

    /// The default user as Redis creates it: `on nopass ~* &* +@all`.
    fn new_default(cat: &Catalog) -> User {
        let mut u = User::new(b"default", cat.cmds.len(), true);
        let root = &mut u.selectors[0];
        root.all_commands(true);
        root.allkeys = true;
        root.allchannels = true;
        u.enabled = true;
        u.nopass = true;
        u
    }

    /// Applies one rule (Redis's `ACLSetUser`).
    fn apply(&mut self, cat: &Catalog, op: &[u8], pubsub_all: bool) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.sanitize = Some(false);
        } else if is("sanitize-payload") {
            self.sanitize = Some(true);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let h = if op[0] == b'>' {
                sha256::digest(&op[1..])
            } else {
                sha256::parse_hex(&op[1..]).ok_or(RuleError::BadHash)?
            };
            if !self.passwords.contains(&h) {
                self.passwords.push(h);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let h = if op[0] == b'<' {
                sha256::digest(&op[1..])
            } else {
                sha256::parse_hex(&op[1..]).ok_or(RuleError::BadHash)?
            };
            let at = self
                .passwords
                .iter()
                .position(|p| *p == h)
                .ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut s = Selector::new(cat.cmds.len(), pubsub_all);
            for word in op[1..op.len() - 1]
                .split(|c| c.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
            {
                s.apply(cat, word)?;
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            self.nopass = false;
            self.passwords.clear();
            let root = &mut self.selectors[0];
            root.allkeys = false;
            root.keys.clear();
            root.allchannels = pubsub_all;
            root.channels.clear();
            self.enabled = false;
            self.sanitize = Some(true);
            self.selectors.truncate(1);
            self.selectors[0].all_commands(false);
        } else {
            self.selectors[0].apply(cat, op)?;
        }
        Ok(())
    }

    /// Some selector allows every command on every key: nothing to check.
    fn unrestricted(&self) -> bool {
        self.selectors
            .iter()
            .any(|s| s.allcommands && s.allkeys && s.allchannels)
    }

    fn flag_names(&self) -> Vec<&'static str> {
        let mut f = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            f.push("nopass");
        }
        match self.sanitize {
            Some(false) => f.push("skip-sanitize-payload"),
            Some(true) => f.push("sanitize-payload"),
            None => {}
        }
        f
    }

    /// Everything after `user <name> ` in an ACL LIST line.
    fn describe(&self, cat: &Catalog) -> Vec<u8> {
        let mut out = Vec::new();
        for f in self.flag_names() {
            out.extend_from_slice(f.as_bytes());
            out.push(b' ');
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(sha256::hex(p).as_bytes());
            out.push(b' ');
        }
        for (i, s) in self.selectors.iter().enumerate() {
            if i == 0 {
                out.extend_from_slice(&s.describe(cat));
            } else {
                out.extend_from_slice(b" (");
                out.extend_from_slice(&s.describe(cat));
                out.push(b')');
            }
        }
        out
    }
}

/// A client's user: its slot in the table and the slot's epoch when it logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserRef {
    slot: u32,
    epoch: u32,
}

impl UserRef {
    /// The default user, which is never deleted.
    pub const DEFAULT: UserRef = UserRef { slot: 0, epoch: 0 };

    pub fn is_default(self) -> bool {
        self.slot == 0
    }
}

struct Slot {
    epoch: u32,
    user: Option<User>,
    /// `user.unrestricted()`, kept beside the epoch for the hot path.
    unrestricted: bool,
}

/// One ACL LOG entry.
pub struct LogEntry {
    pub count: u64,
    pub reason: Reason,
    /// Refused inside MULTI / EXEC (else top level).
    pub multi: bool,
    /// The command, key or channel refused; for authentication, the command name.
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    /// Unix ms of the last occurrence.
    pub ctime: i64,
    /// CLIENT INFO of the last client it happened to.
    pub cinfo: String,
}

/// Entries this close in time with the same facts are counted as one.
const LOG_GROUPING_MS: i64 = 60_000;
/// How many recent entries are searched for a match.
const LOG_MATCH_SCAN: usize = 10;

/// Summary of one selector for ACL GETUSER.
pub struct SelectorView {
    pub commands: String,
    pub keys: Vec<u8>,
    pub channels: Vec<u8>,
}

/// What ACL GETUSER shows.
pub struct UserView {
    pub flags: Vec<&'static str>,
    pub passwords: Vec<String>,
    pub root: SelectorView,
    pub selectors: Vec<SelectorView>,
}

/// The user table, the ACL log, and the command catalog rules refer to.
pub struct Acl {
    cat: Catalog,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Names in byte order, as ACL USERS / LIST / SAVE list them.
    names: BTreeMap<Vec<u8>, u32>,
    log: VecDeque<LogEntry>,
    /// `acl-pubsub-default allchannels`: new users start with `&*`.
    pub pubsub_all: bool,
}

impl Acl {
    /// A table holding only the default user (`on nopass ~* &* +@all`).
    pub fn new(cat: Catalog) -> Acl {
        let default = User::new_default(&cat);
        let mut names = BTreeMap::new();
        names.insert(default.name.clone(), 0);
        Acl {
            slots: vec![Slot {
                epoch: 0,
                unrestricted: default.unrestricted(),
                user: Some(default),
            }],
            cat,
            free: Vec::new(),
            names,
            log: VecDeque::new(),
            pubsub_all: false,
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.cat
    }

    fn user(&self, r: UserRef) -> Option<&User> {
        let s = self.slots.get(r.slot as usize)?;
        if s.epoch != r.epoch {
            return None;
        }
        s.user.as_ref()
    }

    fn default_user(&self) -> &User {
        self.slots[0]
            .user
            .as_ref()
            .expect("the default user exists")
    }

    fn default_user_mut(&mut self) -> &mut User {
        self.slots[0]
            .user
            .as_mut()
            .expect("the default user exists")
    }

    fn refresh(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        s.unrestricted = s.user.as_ref().is_some_and(User::unrestricted);
    }

    /// True if the user may run anything: one load and compare per command, the whole
    /// cost of ACLs for the default user as it starts.
    #[inline]
    pub fn unrestricted(&self, r: UserRef) -> bool {
        match self.slots.get(r.slot as usize) {
            Some(s) => s.epoch == r.epoch && s.unrestricted,
            None => false,
        }
    }

    /// Some selector of the user reaches every key (`~*` / `allkeys`): SORT's BY and GET
    /// read keys no argument names, which only such a user may do (as in Redis).
    pub fn full_key_access(&self, r: UserRef) -> bool {
        self.unrestricted(r)
            || self
                .user(r)
                .is_some_and(|u| u.selectors.iter().any(|s| s.allkeys))
    }

    /// The default user needs no password and is on: connections start authenticated
    /// (Redis's `authRequired` is false).
    pub fn default_open(&self) -> bool {
        let d = self.default_user();
        d.nopass && d.enabled
    }

    /// The default user has no password (single-argument AUTH is an error then, and
    /// protected mode applies).
    pub fn default_nopass(&self) -> bool {
        self.default_user().nopass
    }

    /// The user's name (a deleted user's clients are being closed: they read as default).
    pub fn name(&self, r: UserRef) -> &[u8] {
        self.user(r).map_or(b"default", |u| &u.name)
    }

    pub fn lookup(&self, name: &[u8]) -> Option<UserRef> {
        let slot = *self.names.get(name)?;
        Some(UserRef {
            slot,
            epoch: self.slots[slot as usize].epoch,
        })
    }

    /// Checks a username and password; the user if they match and it is on. Every stored
    /// hash is compared, each in constant time.
    pub fn authenticate(&self, name: &[u8], pass: &[u8]) -> Option<UserRef> {
        let r = self.lookup(name)?;
        let u = self.user(r)?;
        if !u.enabled {
            return None;
        }
        if u.nopass {
            return Some(r);
        }
        let h = sha256::digest(pass);
        let mut ok = false;
        for p in &u.passwords {
            ok |= sha256::same(&h, p);
        }
        ok.then_some(r)
    }

    /// Checks a command (`id`, with its `args`) for user `r`: any selector that allows
    /// the command and all its keys lets it run. Otherwise the most relevant refusal, as
    /// Redis picks it: the highest reason, then the last key position. `keys` calls its
    /// argument with (position, read, write) for every key of the command, `channels`
    /// with (position, is a pattern) for every channel it publishes or subscribes to.
    pub fn check(
        &self,
        r: UserRef,
        id: CmdId,
        no_auth: bool,
        args: &Args,
        keys: &mut KeyWalker,
        channels: &mut ChannelWalker,
    ) -> Result<(), Denial> {
        let Some(u) = self.user(r) else {
            return Err(Denial {
                reason: Reason::Command,
                pos: 0,
            });
        };
        let mut worst = Denial {
            reason: Reason::Command,
            pos: 0,
        };
        for s in &u.selectors {
            match s.check(&self.cat, id, no_auth, args, keys, channels) {
                Ok(()) => return Ok(()),
                Err(d) => {
                    if d.reason > worst.reason || (d.reason == worst.reason && d.pos > worst.pos) {
                        worst = d;
                    }
                }
            }
        }
        Err(worst)
    }

    /// ACL SETUSER: applies `ops` to a copy of the user (a new one if it does not exist)
    /// and stores it only if every rule was valid. The error text follows `ERR `.
    pub fn set_user(&mut self, name: &[u8], ops: &[&[u8]]) -> Result<(), String> {
        if has_spaces(name) {
            return Err("Usernames can't contain spaces or null characters".into());
        }
        let merged = merge_selectors(ops).map_err(|at| {
            format!(
                "Unmatched parenthesis in acl selector starting at '{}'.",
                String::from_utf8_lossy(ops[at])
            )
        })?;
        let existing = self.lookup(name);
        let mut u = match existing.and_then(|r| self.user(r)) {
            Some(u) => u.clone(),
            None => User::new(name, self.cat.cmds.len(), self.pubsub_all),
        };
        for op in &merged {
            u.apply(&self.cat, op, self.pubsub_all).map_err(|e| {
                format!(
                    "Error in ACL SETUSER modifier '{}': {}",
                    String::from_utf8_lossy(op),
                    e.text()
                )
            })?;
        }
        match existing {
            Some(r) => {
                self.slots[r.slot as usize].user = Some(u);
                self.refresh(r.slot as usize);
            }
            None => {
                self.insert(u);
            }
        }
        Ok(())
    }

    /// Adds a user under a free slot.
    fn insert(&mut self, u: User) -> UserRef {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(Slot {
                    epoch: 0,
                    user: None,
                    unrestricted: false,
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.names.insert(u.name.clone(), slot);
        self.slots[slot as usize].user = Some(u);
        self.refresh(slot as usize);
        UserRef {
            slot,
            epoch: self.slots[slot as usize].epoch,
        }
    }

    /// Removes a user (never the default one); returns the reference its clients hold,
    /// so the caller can disconnect them.
    pub fn del_user(&mut self, name: &[u8]) -> Option<UserRef> {
        let r = self.lookup(name)?;
        if r.is_default() {
            return None;
        }
        self.names.remove(name);
        let s = &mut self.slots[r.slot as usize];
        s.user = None;
        s.unrestricted = false;
        s.epoch = s.epoch.wrapping_add(1);
        self.free.push(r.slot);
        Some(r)
    }

    /// Usernames in byte order.
    pub fn usernames(&self) -> impl Iterator<Item = &[u8]> {
        self.names.keys().map(|k| k.as_slice())
    }

    /// ACL LIST: `user <name> <rules>` for every user, in name order.
    pub fn list(&self) -> Vec<Vec<u8>> {
        self.names
            .values()
            .filter_map(|&slot| self.slots[slot as usize].user.as_ref())
            .map(|u| {
                let mut line = b"user ".to_vec();
                line.extend_from_slice(&u.name);
                line.push(b' ');
                line.extend_from_slice(&u.describe(&self.cat));
                line
            })
            .collect()
    }

    /// ACL GETUSER.
    pub fn view(&self, name: &[u8]) -> Option<UserView> {
        let u = self.user(self.lookup(name)?)?;
        let sel = |s: &Selector| SelectorView {
            commands: s.describe_commands(&self.cat),
            keys: s.describe_keys(),
            channels: s.describe_channels(),
        };
        Some(UserView {
            flags: u.flag_names(),
            passwords: u.passwords.iter().map(sha256::hex).collect(),
            root: sel(&u.selectors[0]),
            selectors: u.selectors[1..].iter().map(sel).collect(),
        })
    }

    /// `requirepass`: the default user gets this password alone, or `nopass` if None.
    pub fn set_default_password(&mut self, pass: Option<&[u8]>) {
        let d = self.default_user_mut();
        d.passwords.clear();
        match pass {
            Some(p) => {
                d.passwords.push(sha256::digest(p));
                d.nopass = false;
            }
            None => d.nopass = true,
        }
        self.refresh(0);
    }

    /// The `user` directives of the config file, in order, at startup: each creates a
    /// user (`user default` resets the default one first). The error is the line Redis
    /// logs before it exits.
    pub fn load_config_users(&mut self, users: &[Vec<Vec<u8>>]) -> Result<(), String> {
        let mut seen: Vec<&[u8]> = Vec::new();
        for words in users {
            let (name, rules) = words.split_first().ok_or("Bad user directive")?;
            if has_spaces(name) {
                return Err("Spaces not allowed in ACL usernames".into());
            }
            if seen.contains(&name.as_slice()) {
                return Err(format!(
                    "Error in user declaration '{}': {}",
                    String::from_utf8_lossy(name),
                    RuleError::Duplicate.text()
                ));
            }
            seen.push(name);
            let ops: Vec<&[u8]> = rules.iter().map(|r| r.as_slice()).collect();
            let merged = merge_selectors(&ops).map_err(|at| {
                format!(
                    "Error in user declaration '{}': Unmatched parenthesis in acl selector starting at '{}'.",
                    String::from_utf8_lossy(name),
                    String::from_utf8_lossy(ops[at])
                )
            })?;
            let mut u = if name == b"default" {
                let mut d = self.default_user().clone();
                d.apply(&self.cat, b"reset", self.pubsub_all)
                    .expect("reset is valid");
                d
            } else {
                User::new(name, self.cat.cmds.len(), self.pubsub_all)
            };
            for op in &merged {
                u.apply(&self.cat, op, self.pubsub_all).map_err(|e| {
                    format!(
                        "Error loading ACL rule '{}' for the user named '{}': {}",
                        String::from_utf8_lossy(op),
                        String::from_utf8_lossy(name),
                        e.text()
                    )
                })?;
            }
            if !u.enabled {
                log::info!(
                    "The user '{}' is disabled (there is no 'on' modifier in the user description). Make sure this is not a configuration error.",
                    String::from_utf8_lossy(name)
                );
            }
            if name == b"default" {
                *self.default_user_mut() = u;
                self.refresh(0);
            } else {
                self.insert(u);
            }
        }
        Ok(())
    }

    /// Parses an ACL file (Redis's `ACLLoadFromFile`): every line `user <name> rules...`
    /// or blank. On success every user is replaced (the default user keeps its identity,
    /// with the file's rules or a fresh `on nopass ~* &* +@all`); the caller disconnects
    /// the clients of the other users, which no longer exist. On any error nothing
    /// changes and the text lists every problem, as Redis's does.
    /// `path` is where the file is, `name` the `aclfile` setting that messages show.
    pub fn load_file(&mut self, name: &str, file: &std::path::Path) -> Result<(), String> {
        let path = name;
        let text = std::fs::read(file).map_err(|e| {
            format!(
                "Error loading ACLs, opening file '{path}': {}",
                crate::aof::strerror(&e)
            )
        })?;
        let mut errors = String::new();
        let mut users: Vec<User> = Vec::new();
        for (i, raw) in text.split(|&c| c == b'\n').enumerate() {
            let line = trim(raw, b" \t\r\n");
            let n = i + 1;
            if line.is_empty() {
                continue;
            }
            let words: Vec<&[u8]> = line.split(|&c| c == b' ').collect();
            if words[0] != b"user" || words.len() < 2 {
                errors.push_str(&format!(
                    "{path}:{n} should start with user keyword followed by the username. "
                ));
                continue;
            }
            let name = words[1];
            if has_spaces(name) {
                errors.push_str(&format!(
                    "'{path}:{n}: username '{}' contains invalid characters. ",
                    String::from_utf8_lossy(name)
                ));
                continue;
            }
            if users.iter().any(|u| u.name == name) {
                errors.push_str(&format!(
                    "WARNING: Duplicate user '{}' found on line {n}. ",
                    String::from_utf8_lossy(name)
                ));
                continue;
            }
            let mut u = User::new(name, self.cat.cmds.len(), self.pubsub_all);
            let merged = match merge_selectors(&words[2..]) {
                Ok(m) => m,
                Err(_) => {
                    errors.push_str(&format!(
                        "{path}:{n}: Unmatched parenthesis in selector definition."
                    ));
                    Vec::new()
                }
            };
            for op in &merged {
                if let Err(e) = u.apply(&self.cat, trim(op, b"\t\r\n"), self.pubsub_all) {
                    errors.push_str(&format!("{path}:{n}: {}. ", e.text()));
                }
            }
            users.push(u);
        }
        if !errors.is_empty() {
            errors.push_str(
                "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
            );
            return Err(errors);
        }
        let default = match users.iter().position(|u| u.name == b"default") {
            Some(i) => users.remove(i),
            None => User::new_default(&self.cat),
        };
        let old: Vec<Vec<u8>> = self.names.keys().cloned().collect();
        for name in old {
            self.del_user(&name);
        }
        *self.default_user_mut() = default;
        self.refresh(0);
        for u in users {
            self.insert(u);
        }
        Ok(())
    }

    /// ACL SAVE: the ACL LIST lines written to a temporary file, then renamed over
    /// `path`, so a crash leaves the old file or the new one.
    pub fn save_file(&self, path: &std::path::Path) -> std::io::Result<()> {
        let mut text = Vec::new();
        for line in self.list() {
            text.extend_from_slice(&line);
            text.push(b'\n');
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(
            ".tmp-{}-{}",
            std::process::id(),
            crate::engine::unix_ms()
        ));
        let r = std::fs::write(&tmp, &text).and_then(|()| std::fs::rename(&tmp, path));
        if r.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        r
    }

    /// Records a refusal in the ACL log: a recent entry with the same reason, context,
    /// object and user is counted again; otherwise a new entry goes first and the
    /// oldest beyond `max` are dropped.
    pub fn log_push(&mut self, e: LogEntry, max: usize) {
        let found = self.log.iter().take(LOG_MATCH_SCAN).position(|x| {
            x.reason == e.reason
                && x.multi == e.multi
                && (x.ctime - e.ctime).abs() <= LOG_GROUPING_MS
                && x.object == e.object
                && x.username == e.username
        });
        if let Some(i) = found {
            let mut x = self.log.remove(i).expect("found above");
            x.count += 1;
            x.ctime = e.ctime;
            x.cinfo = e.cinfo;
            self.log.push_front(x);
            return;
        }
        self.log.push_front(e);
        self.log.truncate(max);
    }

    pub fn log(&self) -> &VecDeque<LogEntry> {
        &self.log
    }

    pub fn log_reset(&mut self) {
        self.log.clear();
    }
}

/// `s` without the bytes of `set` at both ends.
fn trim<'a>(s: &'a [u8], set: &[u8]) -> &'a [u8] {
    let start = s.iter().position(|c| !set.contains(c)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|c| !set.contains(c))
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// Joins a selector written over several arguments (`(~a`, `+get)`) into one rule.
/// Err: the index of the argument that opened a parenthesis never closed.
fn merge_selectors(ops: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, op) in ops.iter().enumerate() {
        if let Some((_, sel)) = open.as_mut() {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if op.last() == Some(&b')') {
                out.push(open.take().expect("open").1);
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((i, op.to_vec()));
            continue;
        }
        out.push(op.to_vec());
    }
    match open {
        Some((i, _)) => Err(i),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: usize = 0;
    const SET: usize = 1;
    const CONFIG: usize = 2;
    const CONFIG_GET: usize = 3;
    const FLUSHALL: usize = 5;

    const READ: u32 = 1;
    const WRITE: u32 = 2;
    const ADMIN: u32 = 4;
    const SLOW: u32 = 8;
    const DANGEROUS: u32 = 16;
    static CATS: &[(u32, &str)] = &[
        (READ, "read"),
        (WRITE, "write"),
        (ADMIN, "admin"),
        (SLOW, "slow"),
        (DANGEROUS, "dangerous"),
    ];

    fn lookup(name: &[u8]) -> Option<CmdId> {
        let n = String::from_utf8_lossy(name).to_ascii_lowercase();
        [
            "get",
            "set",
            "config",
            "config|get",
            "config|set",
            "flushall",
        ]
        .iter()
        .position(|c| *c == n)
    }

    fn catalog() -> Catalog {
        let c = |name, categories, subs: std::ops::Range<usize>, is_sub| CmdInfo {
            name,
            categories,
            subs,
            is_sub,
        };
        Catalog {
            cmds: vec![
                c("get", READ, 0..0, false),
                c("set", WRITE | SLOW, 0..0, false),
                c("config", SLOW, 3..5, false),
                c("config|get", ADMIN | SLOW | DANGEROUS, 0..0, true),
                c("config|set", ADMIN | SLOW | DANGEROUS, 0..0, true),
                c("flushall", WRITE | SLOW | DANGEROUS, 0..0, false),
            ],
            categories: CATS,
            lookup,
        }
    }

    fn rules(acl: &Acl, name: &str) -> String {
        acl.view(name.as_bytes()).unwrap().root.commands
    }

    fn set(acl: &mut Acl, name: &str, ops: &[&str]) -> Result<(), String> {
        let ops: Vec<&[u8]> = ops.iter().map(|o| o.as_bytes()).collect();
        acl.set_user(name.as_bytes(), &ops)
    }

    fn check(
        acl: &Acl,
        name: &str,
        id: CmdId,
        words: &[&str],
        keys: &[(usize, bool, bool)],
    ) -> Result<(), Denial> {
        let (buf, ranges) = crate::resp::args::owned(words);
        let args = Args {
            buf: &buf,
            ranges: &ranges,
        };
        let r = acl.lookup(name.as_bytes()).unwrap();
        acl.check(
            r,
            id,
            false,
            &args,
            &mut |f| {
                for &(p, rd, wr) in keys {
                    f(p, rd, wr)
                }
            },
            &mut |_| {},
        )
    }

    #[test]
    fn default_user_and_list() {
        let acl = Acl::new(catalog());
        assert!(acl.unrestricted(UserRef::DEFAULT));
        assert!(acl.default_open());
        assert_eq!(
            acl.list(),
            vec![b"user default on nopass ~* &* +@all".to_vec()]
        );
    }

    #[test]
    fn describe_finds_categories_then_commands() {
        let mut acl = Acl::new(catalog());
        set(
            &mut acl,
            "a",
            &["+@all", "-@dangerous", "+get", "-config|set"],
        )
        .unwrap();
        assert_eq!(rules(&acl, "a"), "+@all -@dangerous");
        // GET is all of @read here, so the category describes it best.
        set(&mut acl, "b", &["-@all", "+get", "+config|get"]).unwrap();
        assert_eq!(rules(&acl, "b"), "-@all +@read +config|get");
        set(&mut acl, "c", &["+@all", "-config", "+config|get"]).unwrap();
        assert_eq!(rules(&acl, "c"), "+@all -config +config|get");
        // A container in a category brings its subcommands with it.
        set(&mut acl, "d", &["-@all", "+@slow"]).unwrap();
        assert!(check(&acl, "d", CONFIG_GET, &["config", "get", "x"], &[]).is_ok());
        assert_eq!(rules(&acl, "d"), "-@all +@slow");
        set(&mut acl, "e", &["+set|x"]).unwrap();
        assert_eq!(rules(&acl, "e"), "-@all +set|x");
        assert!(check(&acl, "e", SET, &["set", "X", "1"], &[]).is_ok());
        assert!(check(&acl, "e", SET, &["set", "y", "1"], &[]).is_err());
    }

    #[test]
    fn rule_errors_leave_the_user_alone() {
        let mut acl = Acl::new(catalog());
        set(&mut acl, "u", &["on", ">p"]).unwrap();
        let before = acl.list();
        for (ops, err) in [
            (&["+nosuch"][..], RuleError::UnknownCommand),
            (&["+@nosuch"], RuleError::UnknownCommand),
            (&["bad"], RuleError::Syntax),
            (&["~*", "~a"], RuleError::KeyAfterAll),
            (&["&*", "&a"], RuleError::ChannelAfterAll),
            (&["<nope"], RuleError::NoSuchPassword),
            (&["#abc"], RuleError::BadHash),
            (&["+config|get|x"], RuleError::FirstArgOfSub),
            (&["+get|"], RuleError::Syntax),
            (&["%X~a"], RuleError::Syntax),
        ] {
            let e = set(&mut acl, "u", ops).unwrap_err();
            assert!(e.ends_with(err.text()), "{ops:?}: {e}");
        }
        assert_eq!(acl.list(), before);
        let e = set(&mut acl, "u", &["(~a", "+get"]).unwrap_err();
        assert_eq!(
            e,
            "Unmatched parenthesis in acl selector starting at '(~a'."
        );
    }

    #[test]
    fn keys_read_write_and_selectors() {
        let mut acl = Acl::new(catalog());
        set(
            &mut acl,
            "k",
            &["on", "nopass", "+@all", "~user:*", "%R~ro:*", "%W~wo:*"],
        )
        .unwrap();
        assert!(!acl.unrestricted(acl.lookup(b"k").unwrap()));
        assert!(check(&acl, "k", GET, &["get", "user:1"], &[(1, true, false)]).is_ok());
        assert!(check(&acl, "k", GET, &["get", "ro:1"], &[(1, true, false)]).is_ok());
        let d = check(&acl, "k", GET, &["get", "wo:1"], &[(1, true, false)]).unwrap_err();
        assert_eq!(
            d,
            Denial {
                reason: Reason::Key,
                pos: 1
            }
        );
        assert!(check(&acl, "k", SET, &["set", "wo:1", "v"], &[(1, false, true)]).is_ok());
        assert!(check(&acl, "k", SET, &["set", "ro:1", "v"], &[(1, false, true)]).is_err());
        // A key with no access flags only needs to match a pattern.
        assert!(check(&acl, "k", GET, &["get", "wo:1"], &[(1, false, false)]).is_ok());
        set(&mut acl, "s", &["on", "-@all", "+get", "~a*", "(+set ~b*)"]).unwrap();
        assert!(check(&acl, "s", SET, &["set", "b1", "v"], &[(1, false, true)]).is_ok());
        let d = check(&acl, "s", SET, &["set", "a1", "v"], &[(1, false, true)]).unwrap_err();
        assert_eq!(d.reason, Reason::Key);
        let d = check(&acl, "s", FLUSHALL, &["flushall"], &[]).unwrap_err();
        assert_eq!(d.reason, Reason::Command);
        assert_eq!(
            acl.list()[2],
            b"user s on ~a* resetchannels -@all +@read (~b* resetchannels -@all +set)"
        );
        let _ = CONFIG;
        assert!(check(&acl, "s", 4, &["config", "set", "a", "b"], &[]).is_err());
    }

    #[test]
    fn passwords_are_hashed_and_checked() {
        let mut acl = Acl::new(catalog());
        set(&mut acl, "p", &["on", ">secret", "~*", "+@all"]).unwrap();
        assert!(acl.authenticate(b"p", b"secret").is_some());
        assert!(acl.authenticate(b"p", b"other").is_none());
        assert!(acl.authenticate(b"nobody", b"secret").is_none());
        set(&mut acl, "p", &["off"]).unwrap();
        assert!(acl.authenticate(b"p", b"secret").is_none());
        let line = String::from_utf8(acl.list()[1].clone()).unwrap();
        assert!(
            line.contains(&sha256::hex(&sha256::digest(b"secret"))),
            "{line}"
        );
        assert!(!line.contains("secret "));
        acl.set_default_password(Some(b"pw"));
        assert!(!acl.default_open());
        assert!(acl.authenticate(b"default", b"pw").is_some());
        acl.set_default_password(None);
        assert!(acl.default_open());
    }

    #[test]
    fn deleted_user_references_go_stale() {
        let mut acl = Acl::new(catalog());
        set(&mut acl, "x", &["on", "nopass", "+@all", "~*"]).unwrap();
        let r = acl.lookup(b"x").unwrap();
        // Restricted still: new users get no channels (acl-pubsub-default).
        assert!(!acl.unrestricted(r));
        set(&mut acl, "x", &["&*"]).unwrap();
        assert!(acl.unrestricted(r));
        assert_eq!(acl.del_user(b"x"), Some(r));
        assert!(!acl.unrestricted(r));
        set(&mut acl, "y", &["on", "nopass", "+@all", "~*"]).unwrap();
        let y = acl.lookup(b"y").unwrap();
        assert_ne!(y, r);
        assert!(!acl.unrestricted(r));
        assert_eq!(acl.name(y), b"y");
        assert_eq!(acl.del_user(b"default"), None);
    }

    #[test]
    fn log_groups_similar_entries() {
        let mut acl = Acl::new(catalog());
        let e = |object: &str, t| LogEntry {
            count: 1,
            reason: Reason::Command,
            multi: false,
            object: object.as_bytes().to_vec(),
            username: b"u".to_vec(),
            ctime: t,
            cinfo: String::new(),
        };
        acl.log_push(e("get", 0), 2);
        acl.log_push(e("get", 1000), 2);
        assert_eq!(acl.log().len(), 1);
        assert_eq!(acl.log()[0].count, 2);
        acl.log_push(e("get", 100_000), 2);
        acl.log_push(e("set", 100_000), 2);
        assert_eq!(acl.log().len(), 2);
        assert_eq!(acl.log()[0].object, b"set");
    }
}
