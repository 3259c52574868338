//! COMMAND DOCS argument specifications, built from the usage line of each command's row
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
        | "numkeys" | "limit" => "integer",
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

/// Writes one argument as the map COMMAND DOCS uses. Key arguments point at the
/// command's key specifications in order (`key_specs` of them; `key_args` counts the key
/// arguments written so far), the last one standing for any further key argument.
pub fn write_arg(out: &mut Reply, a: &ArgDoc, key_specs: usize, key_args: &mut usize) {
    let key_spec = key_specs > 0 && a.kind == "key";
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
        out.int((*key_args).min(key_specs - 1) as i64);
        *key_args += 1;
    }
    if let Some(t) = &a.token {
        out.bulk_str("token");
        out.bulk_str(t);
    }
    if flags {
        out.bulk_str("flags");
        out.set(a.optional as usize + a.multiple as usize);
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
            write_arg(out, c, key_specs, key_args);
        }
    }
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
