//! Pub/sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH, their shard
//! forms SSUBSCRIBE SUNSUBSCRIBE SPUBLISH, and PUBSUB CHANNELS / NUMSUB / NUMPAT /
//! SHARDCHANNELS / SHARDNUMSUB / HELP. The registry is `crate::pubsub`'s; this module
//! replies as Redis 7 does and hands each message to its subscribers.
//!
//! (Un)subscribe confirmations are arrays in RESP2 and push frames in RESP3, one per name.
//! A RESP2 client with a subscription may run only the commands `allowed_when_subscribed`
//! names (dispatch enforces it); in RESP3 anything goes and messages arrive as pushes.
//! PUBLISH is not a write: nothing reaches the AOF, as Redis does not persist it.

use super::table::{Command, KeySpec, ROW, flags::*, ks};
use super::{Args, Clients, Ctx, help};
use crate::engine::Engine;
use crate::error::{CmdError, CmdResult};
use crate::pubsub::{Kind, Registry};
use crate::resp::reply::Reply;

const PS: Command = Command {
    group: "pubsub",
    ..ROW
};
const SUB: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;
const PUB: u32 = PUBSUB | LOADING | STALE | FAST;
const INTRO: u32 = PUBSUB | LOADING | STALE;
/// Shard channels are described as key specs that are not keys (Redis's cluster routing).
const SHARD_CHANNELS: &[KeySpec] = &[KeySpec::range(1, -1, 1, ks::NOT_KEY)];
const SHARD_CHANNEL: &[KeySpec] = &[KeySpec::one(ks::NOT_KEY)];

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "subscribe", arity: -2, flags: SUB, handler: subscribe, usage: "channel [channel ...]", summary: "Listens to channels.", ..PS },
    Command { name: "unsubscribe", arity: -1, flags: SUB, handler: unsubscribe, usage: "[channel [channel ...]]", summary: "Stops listening to channels (all of them without arguments).", ..PS },
    Command { name: "psubscribe", arity: -2, flags: SUB, handler: psubscribe, usage: "pattern [pattern ...]", summary: "Listens to the channels matching glob patterns.", ..PS },
    Command { name: "punsubscribe", arity: -1, flags: SUB, handler: punsubscribe, usage: "[pattern [pattern ...]]", summary: "Stops listening to patterns (all of them without arguments).", ..PS },
    Command { name: "publish", arity: 3, flags: PUB, handler: publish, usage: "channel message", summary: "Sends a message to a channel; returns how many received it.", ..PS },
    Command { name: "ssubscribe", arity: -2, flags: SUB, keys: SHARD_CHANNELS, handler: ssubscribe, usage: "shardchannel [shardchannel ...]", summary: "Listens to shard channels.", ..PS },
    Command { name: "sunsubscribe", arity: -1, flags: SUB, keys: SHARD_CHANNELS, handler: sunsubscribe, usage: "[shardchannel [shardchannel ...]]", summary: "Stops listening to shard channels (all of them without arguments).", ..PS },
    Command { name: "spublish", arity: 3, flags: PUB, keys: SHARD_CHANNEL, handler: spublish, usage: "shardchannel message", summary: "Sends a message to a shard channel; returns how many received it.", ..PS },
    Command { name: "pubsub", arity: -2, summary: "Pub/sub introspection.", subcommands: SUBCOMMANDS, ..PS },
];

#[rustfmt::skip]
static SUBCOMMANDS: &[Command] = &[
    Command { name: "pubsub|channels", arity: -2, flags: INTRO, handler: channels, usage: "[pattern]", summary: "Lists the channels with subscribers.", ..PS },
    Command { name: "pubsub|numsub", arity: -2, flags: INTRO, handler: numsub, usage: "[channel [channel ...]]", summary: "Counts each channel's subscribers.", ..PS },
    Command { name: "pubsub|numpat", arity: 2, flags: INTRO, handler: numpat, summary: "Counts the patterns with subscribers.", ..PS },
    Command { name: "pubsub|shardchannels", arity: -2, flags: INTRO, handler: shardchannels, usage: "[pattern]", summary: "Lists the shard channels with subscribers.", ..PS },
    Command { name: "pubsub|shardnumsub", arity: -2, flags: INTRO, handler: shardnumsub, usage: "[shardchannel [shardchannel ...]]", summary: "Counts each shard channel's subscribers.", ..PS },
    Command { name: "pubsub|help", arity: 2, flags: LOADING | STALE, handler: pubsub_help, summary: "Lists the PUBSUB subcommands.", ..PS },
];

/// The commands a RESP2 client may run while subscribed (Redis's list in
/// processCommand); anything else is refused with `subscribed_error`.
pub fn allowed_when_subscribed(cmd: &Command) -> bool {
    matches!(
        cmd.name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}

/// Redis's refusal of another command in RESP2 subscribed mode.
pub fn subscribed_error(cmd: &Command) -> CmdError {
    CmdError::Custom(format!(
        "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
        cmd.name
    ))
}

/// Calls `f(position, is_pattern)` for every channel argument the ACL rules must allow:
/// the published or subscribed channels and patterns. Unsubscribing is never refused.
pub fn for_each_acl_channel(cmd: &Command, args: &Args, f: &mut dyn FnMut(usize, bool)) {
    if cmd.flags & PUBSUB == 0 {
        return;
    }
    match cmd.name {
        "publish" | "spublish" => f(1, false),
        "subscribe" | "ssubscribe" => (1..args.len()).for_each(|i| f(i, false)),
        "psubscribe" => (1..args.len()).for_each(|i| f(i, true)),
        _ => {}
    }
}

/// Appends one message for a subscriber: `head` and `tail` as the registry encoded them,
/// with the push type in RESP3.
pub fn push_message(buf: &mut Vec<u8>, resp3: bool, head: &[u8], tail: &[u8]) {
    buf.push(if resp3 { b'>' } else { head[0] });
    buf.extend_from_slice(&head[1..]);
    buf.extend_from_slice(tail);
}

/// Publishes `message` on `channel` and delivers it: to other clients through `clients`,
/// to the caller `me` (a RESP3 client listening to its own channel) in its own reply.
/// Returns the number of receivers.
pub fn publish_to(
    reg: &mut Registry,
    clients: &mut dyn Clients,
    me: u64,
    out: &mut Reply,
    shard: bool,
    channel: &[u8],
    message: &[u8],
) -> usize {
    reg.publish(shard, channel, message, &mut |id, head, tail| {
        if id == me {
            push_message(out.buf, out.resp3, head, tail);
        } else {
            clients.deliver(id, head, tail);
        }
    })
}

/// Publishes the keyspace notifications the last command (or expiry, or eviction)
/// queued; `me` and `out` as for `publish_to` (the loop passes no client: id 0).
pub fn publish_events(eng: &mut Engine, clients: &mut dyn Clients, me: u64, out: &mut Reply) {
    let Engine { notify, pubsub, .. } = eng;
    notify.drain(&mut |chan, msg| {
        publish_to(pubsub, clients, me, out, false, chan, msg);
    });
}

/// One (un)subscribe confirmation: `[kind-word, name or null, count]`.
fn confirm(out: &mut Reply, word: &str, name: Option<&[u8]>, count: usize) {
    out.raw(if out.resp3 { b">3\r\n" } else { b"*3\r\n" });
    out.bulk_str(word);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
}

fn subscribe_kind(c: &mut Ctx, a: &Args, kind: Kind, word: &str) -> CmdResult {
    let id = c.cl.id;
    for name in a.iter().skip(1) {
        c.eng.pubsub.subscribe(&mut c.cl.subs, id, kind, name);
        confirm(&mut c.out, word, Some(name), c.cl.subs.reply_count(kind));
    }
    Ok(())
}

/// Unsubscribes from the names in `a`, or from every name of `kind` without arguments;
/// with nothing to leave, one confirmation with a null name.
fn unsubscribe_kind(c: &mut Ctx, a: &Args, kind: Kind, word: &str) -> CmdResult {
    let id = c.cl.id;
    if a.len() > 1 {
        for name in a.iter().skip(1) {
            c.eng.pubsub.unsubscribe(&mut c.cl.subs, id, kind, name);
            confirm(&mut c.out, word, Some(name), c.cl.subs.reply_count(kind));
        }
        return Ok(());
    }
    let left = c.eng.pubsub.unsubscribe_all(&mut c.cl.subs, id, kind);
    if left.is_empty() {
        confirm(&mut c.out, word, None, c.cl.subs.reply_count(kind));
    }
    // Redis counts down as it goes: each confirmation says what is still left.
    let rest = c.cl.subs.reply_count(kind);
    for (i, name) in left.iter().enumerate() {
        confirm(&mut c.out, word, Some(name), rest + left.len() - i - 1);
    }
    Ok(())
}

/// SUBSCRIBE channel [channel ...].
fn subscribe(c: &mut Ctx, a: &Args) -> CmdResult {
    subscribe_kind(c, a, Kind::Channel, "subscribe")
}

/// UNSUBSCRIBE [channel ...].
fn unsubscribe(c: &mut Ctx, a: &Args) -> CmdResult {
    unsubscribe_kind(c, a, Kind::Channel, "unsubscribe")
}

/// PSUBSCRIBE pattern [pattern ...].
fn psubscribe(c: &mut Ctx, a: &Args) -> CmdResult {
    subscribe_kind(c, a, Kind::Pattern, "psubscribe")
}

/// PUNSUBSCRIBE [pattern ...].
fn punsubscribe(c: &mut Ctx, a: &Args) -> CmdResult {
    unsubscribe_kind(c, a, Kind::Pattern, "punsubscribe")
}

/// SSUBSCRIBE shardchannel [shardchannel ...]. Redis 7.0 refuses it inside EXEC (its
/// clients there may not block), unlike SUBSCRIBE.
fn ssubscribe(c: &mut Ctx, a: &Args) -> CmdResult {
    if c.eng.in_exec {
        return Err(CmdError::err(
            "SSUBSCRIBE isn't allowed for a DENY BLOCKING client",
        ));
    }
    subscribe_kind(c, a, Kind::Shard, "ssubscribe")
}

/// SUNSUBSCRIBE [shardchannel ...].
fn sunsubscribe(c: &mut Ctx, a: &Args) -> CmdResult {
    unsubscribe_kind(c, a, Kind::Shard, "sunsubscribe")
}

/// PUBLISH channel message -> receivers.
fn publish(c: &mut Ctx, a: &Args) -> CmdResult {
    publish_kind(c, a, false)
}

/// SPUBLISH shardchannel message -> receivers.
fn spublish(c: &mut Ctx, a: &Args) -> CmdResult {
    publish_kind(c, a, true)
}

fn publish_kind(c: &mut Ctx, a: &Args, shard: bool) -> CmdResult {
    let (reg, me) = (&mut c.eng.pubsub, c.cl.id);
    let n = publish_to(reg, c.clients, me, &mut c.out, shard, a.get(1), a.get(2));
    c.out.int(n as i64);
    Ok(())
}

/// Redis's error for a PUBSUB subcommand given too many arguments.
fn syntax(a: &Args) -> CmdError {
    let mut msg = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
    msg.extend_from_slice(a.get(1));
    msg.extend_from_slice(b"'. Try PUBSUB HELP.");
    CmdError::Bytes(msg)
}

/// The live names of `kind` matching the optional pattern at argument 2.
fn list(c: &mut Ctx, a: &Args, kind: Kind) -> CmdResult {
    if a.len() > 3 {
        return Err(syntax(a));
    }
    let pat = (a.len() == 3).then(|| crate::glob::Glob::new(a.get(2), false));
    let names: Vec<&[u8]> = c
        .eng
        .pubsub
        .names(kind)
        .filter(|n| pat.as_ref().is_none_or(|g| g.matches(n)))
        .collect();
    c.out.array(names.len());
    for n in names {
        c.out.bulk(n);
    }
    Ok(())
}

/// Each named channel and its subscriber count, as a flat array in both protocols.
fn counts(c: &mut Ctx, a: &Args, kind: Kind) -> CmdResult {
    c.out.array(2 * (a.len() - 2));
    for name in a.iter().skip(2) {
        c.out.bulk(name);
        c.out.int(c.eng.pubsub.subscribers(kind, name) as i64);
    }
    Ok(())
}

/// PUBSUB CHANNELS [pattern].
fn channels(c: &mut Ctx, a: &Args) -> CmdResult {
    list(c, a, Kind::Channel)
}

/// PUBSUB SHARDCHANNELS [pattern].
fn shardchannels(c: &mut Ctx, a: &Args) -> CmdResult {
    list(c, a, Kind::Shard)
}

/// PUBSUB NUMSUB [channel ...].
fn numsub(c: &mut Ctx, a: &Args) -> CmdResult {
    counts(c, a, Kind::Channel)
}

/// PUBSUB SHARDNUMSUB [shardchannel ...].
fn shardnumsub(c: &mut Ctx, a: &Args) -> CmdResult {
    counts(c, a, Kind::Shard)
}

/// PUBSUB NUMPAT -> patterns with at least one subscriber.
fn numpat(c: &mut Ctx, _a: &Args) -> CmdResult {
    c.out.int(c.eng.pubsub.len(Kind::Pattern) as i64);
    Ok(())
}

/// PUBSUB HELP.
fn pubsub_help(c: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        c,
        &[
            "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
            "HELP",
            "    Prints this help.",
        ],
    )
}
