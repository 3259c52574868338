//! The command table against real redis-server: COMMAND INFO, GETKEYS, GETKEYSANDFLAGS.
//!
//! For every command and subcommand ferrokv lists, its COMMAND INFO entry must equal
//! redis-server 7's (Redis 8's for the hash field expiration commands 7.0 lacks): arity,
//! flags, first/last/step, ACL categories, tips, key specifications (without Redis's
//! free-text `notes`), and its subcommands, each of which Redis must have too. A few entries
//! without notes are compared byte for byte in RESP3 as well.
//!
//! COMMAND GETKEYS and GETKEYSANDFLAGS must answer exactly as Redis does for a sample
//! invocation of every command that has keys (the test fails if a keyed command has no
//! sample, so a new command cannot skip this), for movable keys (`numkeys`), SET's flags
//! that depend on GET, and for every error: unknown command, no keys, bad arity, bad
//! `numkeys`.

mod common;

use common::diff::{R, parse_all};
use common::{Client, Server};

/// Text of a leaf: simple string, bulk string or integer.
fn text(r: &R) -> String {
    let R::Leaf(b) = r else {
        panic!("not a leaf: {r:?}");
    };
    let s = String::from_utf8_lossy(b);
    match b[0] {
        b'+' | b':' => s[1..s.len() - 2].to_string(),
        b'$' => {
            let nl = s.find("\r\n").unwrap();
            s[nl + 2..s.len() - 2].to_string()
        }
        _ => panic!("unexpected leaf {s:?}"),
    }
}

fn kids(r: &R) -> &[R] {
    match r {
        R::Agg(_, k) => k,
        R::Leaf(b) => panic!("not an aggregate: {:?}", String::from_utf8_lossy(b)),
    }
}

/// A value rendered as comparable text; map entries named `notes` are left out.
fn canon(r: &R) -> String {
    match r {
        R::Leaf(_) => text(r),
        R::Agg(b'%', k) => {
            let pairs: Vec<String> = k
                .chunks(2)
                .filter(|p| text(&p[0]) != "notes")
                .map(|p| format!("{}={}", text(&p[0]), canon(&p[1])))
                .collect();
            format!("{{{}}}", pairs.join(","))
        }
        R::Agg(_, k) => {
            // RESP2 maps arrive as flat arrays: key specs are recognised by their keys.
            let looks_like_map = k.len() % 2 == 0
                && !k.is_empty()
                && k.chunks(2).all(|p| {
                    matches!(&p[0], R::Leaf(b) if b[0] == b'$')
                        && matches!(
                            text(&p[0]).as_str(),
                            "flags"
                                | "begin_search"
                                | "find_keys"
                                | "notes"
                                | "type"
                                | "spec"
                                | "index"
                                | "keyword"
                                | "startfrom"
                                | "lastkey"
                                | "keystep"
                                | "limit"
                                | "keynumidx"
                                | "firstkey"
                        )
                });
            if looks_like_map {
                canon(&R::Agg(b'%', k.clone()))
            } else {
                let items: Vec<String> = k.iter().map(canon).collect();
                format!("[{}]", items.join(","))
            }
        }
    }
}

/// One COMMAND INFO entry in comparable form.
#[derive(Debug, PartialEq)]
struct Info {
    name: String,
    arity: String,
    flags: String,
    range: String,
    categories: String,
    tips: String,
    key_specs: String,
    subcommands: Vec<Info>,
}

fn info_of(r: &R) -> Info {
    let k = kids(r);
    assert_eq!(k.len(), 10, "COMMAND INFO entry of 10 fields: {r:?}");
    Info {
        name: text(&k[0]),
        arity: text(&k[1]),
        flags: canon(&k[2]),
        range: format!("{} {} {}", text(&k[3]), text(&k[4]), text(&k[5])),
        categories: canon(&k[6]),
        tips: canon(&k[7]),
        key_specs: canon(&k[8]),
        subcommands: kids(&k[9]).iter().map(info_of).collect(),
    }
}

fn cmd(c: &mut Client, args: &[&str]) -> Vec<u8> {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    c.cmd_bytes(&a)
}

/// The servers a command is compared with: Redis 7 if it knows the command, else Redis 8.
struct Reference {
    r7: Client,
    r8: Option<Client>,
}

impl Reference {
    /// `COMMAND INFO name` from the first reference that knows `name`.
    fn info(&mut self, name: &str) -> Option<Info> {
        for c in std::iter::once(&mut self.r7).chain(self.r8.as_mut()) {
            let r = parse_all(&cmd(c, &["COMMAND", "INFO", name])).unwrap();
            let entry = &kids(&r)[0];
            if matches!(entry, R::Agg(..)) {
                return Some(info_of(entry));
            }
        }
        None
    }

    /// The reference server for a command line: the one that knows its command.
    fn for_command(&mut self, first: &str) -> &mut Client {
        let known = |c: &mut Client| {
            let r = parse_all(&cmd(c, &["COMMAND", "INFO", first])).unwrap();
            matches!(kids(&r)[0], R::Agg(..))
        };
        if known(&mut self.r7) {
            return &mut self.r7;
        }
        match self.r8.as_mut() {
            Some(r8) => r8,
            None => &mut self.r7,
        }
    }
}

/// Compares an entry with Redis's; a subcommand Redis 7 lacks (CLIENT SETINFO) is
/// looked up by its full name in Redis 8.
fn compare(ours: &Info, theirs: &Info, refs: &mut Reference, errors: &mut Vec<String>) {
    let fields = [
        ("arity", &ours.arity, &theirs.arity),
        ("flags", &ours.flags, &theirs.flags),
        ("first/last/step", &ours.range, &theirs.range),
        ("ACL categories", &ours.categories, &theirs.categories),
        ("tips", &ours.tips, &theirs.tips),
        ("key specs", &ours.key_specs, &theirs.key_specs),
    ];
    for (what, a, b) in fields {
        if a != b {
            errors.push(format!(
                "{}: {what} differ:\n  ferrokv {a}\n  redis   {b}",
                ours.name
            ));
        }
    }
    for sub in &ours.subcommands {
        match theirs.subcommands.iter().find(|s| s.name == sub.name) {
            Some(t) => compare(sub, t, refs, errors),
            None => match refs.info(&sub.name) {
                Some(t) => compare(sub, &t, refs, errors),
                None if refs.r8.is_none() => {}
                None => errors.push(format!("{}: Redis has no such subcommand", sub.name)),
            },
        }
    }
}

/// The servers of a comparison: ferrokv, Redis 7, Redis 8 if installed, and a client of
/// ferrokv and of the references. None (test skipped) without redis-server outside CI.
struct Setup {
    fk: Server,
    r7: Server,
    _r8: Option<Server>,
    ours: Client,
    refs: Reference,
}

fn setup() -> Option<Setup> {
    let (r7, r8) = references()?;
    let fk = Server::start(&["--appendonly", "no"]);
    let ours = fk.connect();
    let refs = Reference {
        r7: r7.connect(),
        r8: r8.as_ref().map(|s| s.connect()),
    };
    Some(Setup {
        fk,
        r7,
        _r8: r8,
        ours,
        refs,
    })
}

fn references() -> Option<(Server, Option<Server>)> {
    if common::which("redis-server").is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server not found on PATH, but CI is set: this test must run in CI"
        );
        eprintln!("SKIPPED: redis-server not found");
        return None;
    }
    let r7 = Server::start_redis().expect("redis-server is installed but did not start");
    let r8 = match common::redis8_bin() {
        Some(bin) => Some(Server::start_redis_bin(&bin, &[]).expect("Redis 8 did not start")),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "tests/.redis8/redis-server not found, but CI is set (scripts/setup-test-deps)"
            );
            eprintln!("Redis 8 not installed: commands Redis 7 lacks are not compared");
            None
        }
    };
    Some((r7, r8))
}

#[test]
fn command_info_matches_redis() {
    let Some(Setup {
        fk,
        r7,
        _r8,
        mut ours,
        mut refs,
    }) = setup()
    else {
        return;
    };
    let all = parse_all(&cmd(&mut ours, &["COMMAND"])).unwrap();
    let entries: Vec<Info> = kids(&all).iter().map(info_of).collect();
    assert!(entries.len() > 90, "COMMAND lists {}", entries.len());
    let mut errors = Vec::new();
    let mut compared = 0;
    for e in &entries {
        match refs.info(&e.name) {
            Some(t) => {
                compare(e, &t, &mut refs, &mut errors);
                compared += 1 + e.subcommands.len();
            }
            None if refs.r8.is_none() => {}
            None => errors.push(format!("{}: unknown to Redis 7 and 8", e.name)),
        }
        // COMMAND INFO by full name gives the subcommand's own entry.
        for sub in &e.subcommands {
            let r = parse_all(&cmd(&mut ours, &["COMMAND", "INFO", &sub.name])).unwrap();
            assert_eq!(&info_of(&kids(&r)[0]), sub, "COMMAND INFO {}", sub.name);
        }
    }
    assert!(
        errors.is_empty(),
        "{} of {compared} entries differ from Redis:\n{}",
        errors.len(),
        errors.join("\n")
    );

    // RESP3 bytes for entries with no notes: sets, maps and arrays where Redis has them.
    let mut r3 = fk.connect();
    let mut ref3 = r7.connect();
    for c in [&mut r3, &mut ref3] {
        assert!(cmd(c, &["HELLO", "3"]).starts_with(b"%"));
    }
    for name in [
        "hset",
        "mget",
        "del",
        "copy",
        "config|help",
        "object|encoding",
        "memory|usage",
        "sintercard",
        "sinterstore",
        "smove",
        "command|getkeys",
        "nosuch",
    ] {
        let a = cmd(&mut r3, &["COMMAND", "INFO", name]);
        let b = cmd(&mut ref3, &["COMMAND", "INFO", name]);
        assert_eq!(
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b),
            "RESP3 COMMAND INFO {name}"
        );
    }
    let a = cmd(&mut r3, &["COMMAND", "GETKEYSANDFLAGS", "rename", "a", "b"]);
    let b = cmd(
        &mut ref3,
        &["COMMAND", "GETKEYSANDFLAGS", "rename", "a", "b"],
    );
    assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
}

/// A sample invocation of every command with keys, plus the cases with movable keys,
/// variable flags and errors.
const SAMPLES: &[&str] = &[
    "hset k f v a b",
    "hsetnx k f v",
    "hmset k f v",
    "hget k f",
    "hmget k f g",
    "hgetall k",
    "hdel k f g",
    "hlen k",
    "hexists k f",
    "hkeys k",
    "hvals k",
    "hstrlen k f",
    "hincrby k f 1",
    "hincrbyfloat k f 1.5",
    "hrandfield k 2 WITHVALUES",
    "hscan k 0 MATCH x",
    "hexpire k 10 NX FIELDS 1 f",
    "hpexpire k 10 FIELDS 1 f",
    "hexpireat k 10 FIELDS 2 f g",
    "hpexpireat k 10 FIELDS 1 f",
    "httl k FIELDS 1 f",
    "hpttl k FIELDS 1 f",
    "hexpiretime k FIELDS 1 f",
    "hpexpiretime k FIELDS 1 f",
    "hpersist k FIELDS 1 f",
    "hgetdel k FIELDS 1 f",
    "hgetex k EX 10 FIELDS 1 f",
    "hsetex k EX 10 FIELDS 1 f v",
    "set k v",
    "set k v GET",
    "set k v EX 10 get",
    "get k",
    "getset k v",
    "getdel k",
    "getex k PERSIST",
    "setnx k v",
    "setex k 10 v",
    "psetex k 100 v",
    "mset a 1 b 2",
    "mset a 1 b",
    "msetnx a 1 b 2",
    "mget a b c",
    "incr k",
    "decr k",
    "incrby k 2",
    "decrby k 2",
    "incrbyfloat k 1.5",
    "append k v",
    "strlen k",
    "getrange k 0 1",
    "substr k 0 1",
    "setrange k 0 v",
    "del a b",
    "unlink a b",
    "exists a b",
    "touch a b",
    "type k",
    "rename a b",
    "renamenx a b",
    "copy a b",
    "copy a b DB 1 REPLACE",
    "dump k",
    "restore k 0 payload",
    "restore k 0 payload REPLACE ABSTTL IDLETIME 5",
    "migrate h 1 k 0 10",
    "migrate h 1 \"\" 0 10 COPY KEYS a b",
    "move k 1",
    "expire k 10",
    "pexpire k 10 GT",
    "expireat k 10",
    "pexpireat k 10",
    "ttl k",
    "pttl k",
    "expiretime k",
    "pexpiretime k",
    "persist k",
    "object encoding k",
    "object freq k",
    "object idletime k",
    "object refcount k",
    "memory usage k",
    "memory usage k SAMPLES 5",
    "watch a b c",
    "eval s 2 a b c",
    "eval s 0",
    "eval s 3 a",
    "eval s -1 a",
    "eval s x a",
    "evalsha x 1 k v",
    "fcall f 1 k",
    "llen k",
    "sort k",
    "sort k by w_* get # store d limit 0 1",
    "sort k store d1 store d2",
    "sort k limit store x 1",
    "sort_ro k by w_* get #",
    "bzpopmin a b 0",
    "bzpopmax a 0",
    "bzmpop 0 2 a b min",
    "blpop a b 0",
    "brpop a 0",
    "blmove a b left right 0",
    "brpoplpush a b 0",
    "blmpop 0 2 a b left",
    "blmpop 0 1 a right count 2",
    "lpush k a b",
    "rpush k a",
    "lpushx k a",
    "rpushx k a b",
    "lpop k",
    "lpop k 2",
    "rpop k 2",
    "lindex k 0",
    "lset k 0 v",
    "lrange k 0 -1",
    "lrem k 0 v",
    "ltrim k 0 1",
    "linsert k BEFORE p v",
    "lpos k v RANK 1 COUNT 2",
    "lmove a b LEFT RIGHT",
    "rpoplpush a b",
    "lmpop 2 a b LEFT COUNT 2",
    "lmpop 1 a RIGHT",
    "lmpop 0 a LEFT",
    "lmpop 3 a LEFT",
    "lmpop x a LEFT",
    "scard k",
    "sadd k a b",
    "srem k a b",
    "spop k",
    "spop k 2",
    "srandmember k -3",
    "smembers k",
    "sismember k a",
    "smismember k a b",
    "smove a b m",
    "sinter a b c",
    "sintercard 2 a b",
    "sintercard 2 a b LIMIT 1",
    "sintercard 1 a",
    "sintercard 3 a b",
    "sintercard 0 a",
    "sintercard -1 a",
    "sintercard x a",
    "sunion a b",
    "sdiff a b c",
    "sinterstore d a b",
    "sunionstore d a",
    "sdiffstore d a b c",
    "sscan k 0 MATCH x COUNT 5",
    "zcard k",
    "zadd k 1 m",
    "zadd k NX CH 1 m 2 n",
    "zincrby k 1 m",
    "zrem k m n",
    "zscore k m",
    "zmscore k m n",
    "zcount k 0 1",
    "zlexcount k - +",
    "zrank k m",
    "zrevrank k m",
    "zrange k 0 -1 WITHSCORES",
    "zrangestore dst src 0 -1",
    "zrevrange k 0 -1",
    "zrangebyscore k 0 1",
    "zrevrangebyscore k 1 0",
    "zrangebylex k - +",
    "zrevrangebylex k + -",
    "zremrangebyrank k 0 1",
    "zremrangebyscore k 0 1",
    "zremrangebylex k - +",
    "zpopmin k",
    "zpopmax k 2",
    "zmpop 2 a b MIN",
    "zmpop 1 a MAX COUNT 2",
    "zmpop 0 a MIN",
    "zmpop 3 a b MIN",
    "zmpop x a MIN",
    "zrandmember k 2 WITHSCORES",
    "zunion 2 a b WITHSCORES",
    "zunion 3 a b",
    "zinter 1 a",
    "zdiff 2 a b",
    "zintercard 2 a b LIMIT 1",
    "zintercard 0 a",
    "zunionstore dst 2 a b WEIGHTS 1 2",
    "zunionstore dst 5 a b",
    "zinterstore dst 1 a",
    "zdiffstore dst 2 a b",
    "zdiffstore dst -1 a",
    "zscan k 0 COUNT 10",
    // Shard channels are key specs that are not keys.
    "ssubscribe a b",
    "sunsubscribe a",
    "spublish ch m",
    "publish ch m",
    // Errors: unknown command or subcommand, no keys, arity.
    "nosuch a",
    "object foo k",
    "ping x",
    "config get x",
    "get a b",
    "hset k",
    "object encoding",
    "command getkeys get k",
];

#[test]
fn getkeys_matches_redis() {
    // The servers are bound, not `..`: an unbound field would be dropped (and killed) here.
    let Some(Setup {
        fk: _fk,
        r7: _r7,
        _r8,
        mut ours,
        mut refs,
    }) = setup()
    else {
        return;
    };
    // Every command with keys (or movable keys) has a sample.
    let all = parse_all(&cmd(&mut ours, &["COMMAND"])).unwrap();
    let mut keyed = Vec::new();
    for e in kids(&all).iter().map(info_of) {
        for x in std::iter::once(&e).chain(&e.subcommands) {
            if x.key_specs != "[]" || x.flags.contains("movablekeys") {
                keyed.push(x.name.replace('|', " "));
            }
        }
    }
    let missing: Vec<&String> = keyed
        .iter()
        .filter(|n| !SAMPLES.iter().any(|s| s.starts_with(&format!("{n} "))))
        .collect();
    assert!(missing.is_empty(), "no GETKEYS sample for {missing:?}");

    let mut errors = Vec::new();
    for sample in SAMPLES {
        let words: Vec<&str> = sample.split(' ').collect();
        let reference = refs.for_command(words[0]);
        for sub in ["GETKEYS", "GETKEYSANDFLAGS"] {
            let mut line = vec!["COMMAND", sub];
            line.extend(&words);
            let a = cmd(&mut ours, &line);
            let b = cmd(reference, &line);
            if a != b {
                errors.push(format!(
                    "COMMAND {sub} {sample}:\n  ferrokv {:?}\n  redis   {:?}",
                    String::from_utf8_lossy(&a),
                    String::from_utf8_lossy(&b)
                ));
            }
        }
    }
    assert!(
        errors.is_empty(),
        "{} replies differ:\n{}",
        errors.len(),
        errors.join("\n")
    );
}
