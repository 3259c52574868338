//! COMMAND DOCS argument specifications, built from a compact usage line per command
//! (`key field value [field value ...]`), so redis-cli can show argument hints while typing.
//!
//! Grammar: a lowercase word is an argument (its type guessed from its name); an uppercase
//! word is a literal token, and when a lowercase word follows it inside the same group it is
//! that argument's token (`EX seconds`); `[ ... ]` is optional; `a | b` are alternatives;
//! `...` as the last item of a group makes the group repeatable.

use crate::resp::reply::Reply;

/// One argument of a command's documentation.
#[derive(Debug, Default, PartialEq)]
pub struct ArgDoc {
    pub name: String,
    pub kind: &'static str,
    pub token: Option<String>,
    pub optional: bool,
    pub multiple: bool,
    pub children: Vec<ArgDoc>,
}

fn kind_of(name: &str) -> &'static str {
    match name {
        n if n == "key" || n.ends_with("key") || n == "source" || n == "destination" => "key",
        "pattern" => "pattern",
        "unix-time-seconds" | "unix-time-milliseconds" => "unix-time",
        "seconds" | "milliseconds" | "count" | "cursor" | "offset" | "start" | "end"
        | "decrement" | "db" | "destination-db" | "index" | "index1" | "index2" | "protover"
        | "numkeys" => "integer",
        _ => "string",
    }
}

fn tokenize(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for w in s.split_whitespace() {
        let mut w = w;
        while let Some(rest) = w.strip_prefix('[') {
            out.push("[");
            w = rest;
        }
        let mut closes = 0;
        while let Some(rest) = w.strip_suffix(']') {
            closes += 1;
            w = rest;
        }
        if !w.is_empty() {
            out.push(w);
        }
        out.extend(std::iter::repeat_n("]", closes));
    }
    out
}

fn is_token(w: &str) -> bool {
    w.chars().any(|c| c.is_ascii_uppercase())
        && w.chars()
            .all(|c| c.is_ascii_uppercase() || c == '-' || c.is_ascii_digit())
}

/// Parses a sequence until `]` or the end. Returns the items and whether `...` ended it.
fn parse_seq(toks: &[&str], pos: &mut usize) -> (Vec<ArgDoc>, bool) {
    let mut alts: Vec<Vec<ArgDoc>> = vec![vec![]];
    let mut repeat = false;
    while *pos < toks.len() {
        let t = toks[*pos];
        *pos += 1;
        match t {
            "]" => break,
            "|" => alts.push(vec![]),
            "..." => repeat = true,
            "[" => {
                let (items, rep) = parse_seq(toks, pos);
                let mut g = group(items, "block");
                g.optional = true;
                g.multiple |= rep;
                let seq = alts.last_mut().expect("one alternative");
                // `x y [x y ...]` is one repeatable argument, as Redis documents it.
                let names: Vec<&str> = if g.children.is_empty() {
                    vec![g.name.as_str()]
                } else {
                    g.children.iter().map(|c| c.name.as_str()).collect()
                };
                let k = names.len();
                let repeats_previous = g.multiple
                    && seq.len() >= k
                    && seq[seq.len() - k..]
                        .iter()
                        .zip(&names)
                        .all(|(a, n)| a.name == *n && a.token.is_none());
                if repeats_previous {
                    seq.truncate(seq.len() - k);
                    g.optional = false;
                }
                seq.push(g);
            }
            w if is_token(w) => {
                let next = toks.get(*pos).copied();
                let arg = match next {
                    Some(n) if !is_token(n) && !matches!(n, "[" | "]" | "|" | "...") => {
                        *pos += 1;
                        ArgDoc {
                            name: n.to_string(),
                            kind: kind_of(n),
                            token: Some(w.to_string()),
                            ..Default::default()
                        }
                    }
                    _ => ArgDoc {
                        name: w.to_ascii_lowercase(),
                        kind: "pure-token",
                        token: Some(w.to_string()),
                        ..Default::default()
                    },
                };
                alts.last_mut().expect("one alternative").push(arg);
            }
            w => alts.last_mut().expect("one alternative").push(ArgDoc {
                name: w.to_string(),
                kind: kind_of(w),
                ..Default::default()
            }),
        }
    }
    if alts.len() > 1 {
        let children = alts.into_iter().map(|a| group(a, "block")).collect();
        let one = ArgDoc {
            name: "condition".into(),
            kind: "oneof",
            children,
            ..Default::default()
        };
        return (vec![one], repeat);
    }
    (alts.pop().expect("one alternative"), repeat)
}

/// One item stays itself; several become a block.
fn group(mut items: Vec<ArgDoc>, kind: &'static str) -> ArgDoc {
    if items.len() == 1 {
        return items.pop().expect("one item");
    }
    let name = items
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join("-");
    ArgDoc {
        name,
        kind,
        children: items,
        ..Default::default()
    }
}

/// Parses a usage line into argument docs.
pub fn parse_usage(usage: &str) -> Vec<ArgDoc> {
    let toks = tokenize(usage);
    let mut pos = 0;
    parse_seq(&toks, &mut pos).0
}

/// Writes one argument as the map COMMAND DOCS uses.
/// `has_key_spec`: the command reports a key specification in COMMAND INFO.
pub fn write_arg(out: &mut Reply, a: &ArgDoc, has_key_spec: bool) {
    // Key arguments point at the command's (single) key specification, as Redis's do.
    let key_spec = has_key_spec && a.kind == "key";
    let mut n = 2 + key_spec as usize;
    if a.token.is_some() {
        n += 1;
    }
    let flags = a.optional || a.multiple;
    if flags {
        n += 1;
    }
    if !a.children.is_empty() {
        n += 1;
    }
    out.map(n);
    out.bulk_str("name");
    out.bulk_str(&a.name);
    out.bulk_str("type");
    out.bulk_str(a.kind);
    if key_spec {
        out.bulk_str("key_spec_index");
        out.int(0);
    }
    if let Some(t) = &a.token {
        out.bulk_str("token");
        out.bulk_str(t);
    }
    if flags {
        out.bulk_str("flags");
        out.array(a.optional as usize + a.multiple as usize);
        if a.optional {
            out.simple("optional");
        }
        if a.multiple {
            out.simple("multiple");
        }
    }
    if !a.children.is_empty() {
        out.bulk_str("arguments");
        out.array(a.children.len());
        for c in &a.children {
            write_arg(out, c, has_key_spec);
        }
    }
}

/// Usage line of every command, in ferrokv's words (names as in the command table).
pub static USAGE: &[(&str, &str)] = &[
    ("hset", "key field value [field value ...]"),
    ("hsetnx", "key field value"),
    ("hmset", "key field value [field value ...]"),
    ("hget", "key field"),
    ("hmget", "key field [field ...]"),
    ("hgetall", "key"),
    ("hdel", "key field [field ...]"),
    ("hlen", "key"),
    ("hexists", "key field"),
    ("hkeys", "key"),
    ("hvals", "key"),
    ("hstrlen", "key field"),
    ("hincrby", "key field increment"),
    ("hincrbyfloat", "key field increment"),
    ("hrandfield", "key [count [WITHVALUES]]"),
    (
        "hexpire",
        "key seconds [NX | XX | GT | LT] FIELDS numfields field [field ...]",
    ),
    (
        "hpexpire",
        "key milliseconds [NX | XX | GT | LT] FIELDS numfields field [field ...]",
    ),
    (
        "hexpireat",
        "key unix-time-seconds [NX | XX | GT | LT] FIELDS numfields field [field ...]",
    ),
    (
        "hpexpireat",
        "key unix-time-milliseconds [NX | XX | GT | LT] FIELDS numfields field [field ...]",
    ),
    ("httl", "key FIELDS numfields field [field ...]"),
    ("hpttl", "key FIELDS numfields field [field ...]"),
    ("hexpiretime", "key FIELDS numfields field [field ...]"),
    ("hpexpiretime", "key FIELDS numfields field [field ...]"),
    ("hpersist", "key FIELDS numfields field [field ...]"),
    ("hgetdel", "key FIELDS numfields field [field ...]"),
    (
        "hgetex",
        "key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST] FIELDS numfields field [field ...]",
    ),
    (
        "hsetex",
        "key [FNX | FXX] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL] FIELDS numfields field value [field value ...]",
    ),
    (
        "hscan",
        "key cursor [MATCH pattern] [COUNT count] [NOVALUES]",
    ),
    (
        "set",
        "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]",
    ),
    ("get", "key"),
    ("getset", "key value"),
    ("getdel", "key"),
    (
        "getex",
        "key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]",
    ),
    ("setnx", "key value"),
    ("setex", "key seconds value"),
    ("psetex", "key milliseconds value"),
    ("mset", "key value [key value ...]"),
    ("msetnx", "key value [key value ...]"),
    ("mget", "key [key ...]"),
    ("incr", "key"),
    ("decr", "key"),
    ("incrby", "key increment"),
    ("decrby", "key decrement"),
    ("incrbyfloat", "key increment"),
    ("append", "key value"),
    ("strlen", "key"),
    ("getrange", "key start end"),
    ("substr", "key start end"),
    ("setrange", "key offset value"),
    ("del", "key [key ...]"),
    ("unlink", "key [key ...]"),
    ("exists", "key [key ...]"),
    ("touch", "key [key ...]"),
    ("type", "key"),
    ("keys", "pattern"),
    ("scan", "cursor [MATCH pattern] [COUNT count] [TYPE type]"),
    ("randomkey", ""),
    ("rename", "key newkey"),
    ("renamenx", "key newkey"),
    ("copy", "source destination [DB destination-db] [REPLACE]"),
    ("move", "key db"),
    ("expire", "key seconds [NX | XX | GT | LT]"),
    ("pexpire", "key milliseconds [NX | XX | GT | LT]"),
    ("expireat", "key unix-time-seconds [NX | XX | GT | LT]"),
    (
        "pexpireat",
        "key unix-time-milliseconds [NX | XX | GT | LT]",
    ),
    ("ttl", "key"),
    ("pttl", "key"),
    ("expiretime", "key"),
    ("pexpiretime", "key"),
    ("persist", "key"),
    ("object", "subcommand [key]"),
    ("memory", "subcommand [key] [SAMPLES count]"),
    ("dbsize", ""),
    ("flushdb", "[ASYNC | SYNC]"),
    ("flushall", "[ASYNC | SYNC]"),
    ("select", "index"),
    ("swapdb", "index1 index2"),
    ("multi", ""),
    ("exec", ""),
    ("discard", ""),
    ("watch", "key [key ...]"),
    ("unwatch", ""),
    ("ping", "[message]"),
    ("echo", "message"),
    ("quit", ""),
    ("reset", ""),
    (
        "hello",
        "[protover [AUTH username password] [SETNAME clientname]]",
    ),
    ("auth", "[username] password"),
    ("client", "subcommand [argument ...]"),
    ("info", "[section [section ...]]"),
    ("config", "subcommand [argument ...]"),
    ("command", "[subcommand [argument ...]]"),
    ("time", ""),
    ("lastsave", ""),
    ("bgrewriteaof", ""),
    ("debug", "subcommand [argument ...]"),
    ("shutdown", "[NOSAVE | SAVE] [NOW] [FORCE] [ABORT]"),
    ("monitor", ""),
    ("script", "subcommand [argument ...]"),
    ("function", "subcommand [argument ...]"),
    ("eval", "script numkeys [key [key ...]] [arg [arg ...]]"),
    ("evalsha", "sha1 numkeys [key [key ...]] [arg [arg ...]]"),
    ("fcall", "function numkeys [key [key ...]] [arg [arg ...]]"),
];

/// The usage line of `name` ("" if none is recorded).
pub fn usage_of(name: &str) -> &'static str {
    USAGE
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, u)| u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_usage_lines() {
        let a = parse_usage("key field value [field value ...]");
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].kind, "key");
        assert!(!a[1].optional && a[1].multiple);
        assert_eq!(a[1].children.len(), 2);
        let k = parse_usage("key [key ...]");
        assert_eq!(k.len(), 1);
        assert!(k[0].multiple && !k[0].optional);
        let s = parse_usage("key value [NX | XX] [GET] [EX seconds | PX milliseconds | KEEPTTL]");
        assert_eq!(s.len(), 5);
        assert_eq!(s[2].kind, "oneof");
        assert!(s[2].optional);
        assert_eq!(s[3].token.as_deref(), Some("GET"));
        let ex = &s[4].children[0];
        assert_eq!(
            (ex.name.as_str(), ex.token.as_deref()),
            ("seconds", Some("EX"))
        );
        assert_eq!(ex.kind, "integer");
        assert!(parse_usage("").is_empty());
    }
}
