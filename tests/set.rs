//! Set commands end to end: replies and Redis 7's error texts byte for byte (RESP2 and
//! RESP3), WRONGTYPE, the three encodings and their conversions with contents intact, the
//! order of compact sets, SSCAN over a table, and persistence: SPOP logged as the SREM of
//! what it took, kill -9 and replay, BGREWRITEAOF and DEBUG RELOAD (a table that shrank
//! comes back compact).

mod common;

use std::collections::BTreeSet;

use common::{Client, Server, TempDir};

/// Sends `line` (split on spaces) and asserts the exact reply, given without its final CRLF.
fn t(c: &mut Client, line: &str, want: &str) {
    let got = c.cmd(line);
    assert_eq!(got, format!("{want}\r\n"), "reply to {line:?}");
}

/// The bulk strings of an array (or set) reply.
fn items(r: &[u8]) -> Vec<Vec<u8>> {
    common::diff::bulk_items(r)
}

fn members(c: &mut Client, key: &str) -> Vec<String> {
    items(&c.cmd_bytes(&[b"SMEMBERS", key.as_bytes()]))
        .into_iter()
        .map(|m| String::from_utf8(m).unwrap())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn encoding(c: &mut Client, key: &str) -> String {
    let r = c.cmd(&format!("OBJECT ENCODING {key}"));
    r.lines().nth(1).unwrap_or("").to_string()
}

fn int(c: &mut Client, line: &str) -> i64 {
    let r = c.cmd(line);
    r.trim_end()
        .strip_prefix(':')
        .unwrap_or_else(|| panic!("{line}: {r:?}"))
        .parse()
        .unwrap()
}

/// SADD of many members in one command.
fn sadd(c: &mut Client, key: &str, ms: impl IntoIterator<Item = String>) -> String {
    let ms: Vec<String> = ms.into_iter().collect();
    let mut args: Vec<&[u8]> = vec![b"SADD", key.as_bytes()];
    args.extend(ms.iter().map(|m| m.as_bytes()));
    String::from_utf8_lossy(&c.cmd_bytes(&args)).into_owned()
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn replies_and_errors() {
    let s = Server::start(&["--appendonly", "no"]);
    let mut c = s.connect();
    // SADD / SCARD / SISMEMBER / SMISMEMBER / SREM.
    t(&mut c, "SADD s 3 1 2 -5 100000", ":5");
    t(&mut c, "SADD s 1 7 7", ":1");
    t(&mut c, "SCARD s", ":6");
    t(&mut c, "SCARD nokey", ":0");
    t(&mut c, "SISMEMBER s 7", ":1");
    t(&mut c, "SISMEMBER s 07", ":0");
    t(&mut c, "SISMEMBER nokey 7", ":0");
    t(&mut c, "SMISMEMBER s 1 8 7", "*3\r\n:1\r\n:0\r\n:1");
    t(&mut c, "SMISMEMBER nokey a b", "*2\r\n:0\r\n:0");
    // An intset lists its members in numeric order.
    t(
        &mut c,
        "SMEMBERS s",
        "*6\r\n$2\r\n-5\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n7\r\n$6\r\n100000",
    );
    t(&mut c, "SMEMBERS nokey", "*0");
    t(&mut c, "SREM s 1 99 1", ":1");
    t(&mut c, "SREM nokey a", ":0");
    // The last member removed takes the key with it.
    t(&mut c, "SADD one x", ":1");
    t(&mut c, "SREM one x y", ":1");
    t(&mut c, "EXISTS one", ":0");
    // A listpack keeps insertion order.
    t(&mut c, "SADD l c a b", ":3");
    t(&mut c, "SMEMBERS l", "*3\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb");
    t(&mut c, "OBJECT ENCODING l", "$8\r\nlistpack");
    t(&mut c, "OBJECT ENCODING s", "$6\r\nintset");
    t(&mut c, "TYPE s", "+set");

    // Set algebra.
    t(&mut c, "DEL a b", ":0");
    t(&mut c, "SADD a 1 2 3 4", ":4");
    t(&mut c, "SADD b 3 4 5", ":3");
    t(&mut c, "SINTER a b", "*2\r\n$1\r\n3\r\n$1\r\n4");
    t(&mut c, "SINTER a b nokey", "*0");
    t(&mut c, "SINTERCARD 2 a b", ":2");
    t(&mut c, "SINTERCARD 2 a b LIMIT 1", ":1");
    t(&mut c, "SINTERCARD 2 a b limit 0", ":2");
    t(&mut c, "SINTERCARD 2 a nokey", ":0");
    t(
        &mut c,
        "SUNION b a nokey",
        "*5\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5",
    );
    t(&mut c, "SDIFF a b", "*2\r\n$1\r\n1\r\n$1\r\n2");
    t(&mut c, "SDIFF a a", "*0");
    t(&mut c, "SDIFF nokey a", "*0");
    t(&mut c, "SINTERSTORE d a b", ":2");
    t(&mut c, "SMEMBERS d", "*2\r\n$1\r\n3\r\n$1\r\n4");
    t(&mut c, "EXPIRE d 100", ":1");
    t(&mut c, "SUNIONSTORE d a b", ":5");
    t(&mut c, "TTL d", ":-1");
    t(&mut c, "SDIFFSTORE d b a", ":1");
    t(&mut c, "SMEMBERS d", "*1\r\n$1\r\n5");
    // An empty result deletes the destination.
    t(&mut c, "SINTERSTORE d a nokey", ":0");
    t(&mut c, "EXISTS d", ":0");
    t(&mut c, "SET d x", "+OK");
    t(&mut c, "SDIFFSTORE d a a", ":0");
    t(&mut c, "EXISTS d", ":0");
    t(&mut c, "SET d x", "+OK");
    t(&mut c, "SUNIONSTORE d a", ":4");
    t(&mut c, "TYPE d", "+set");

    // SMOVE.
    t(&mut c, "SMOVE a b 1", ":1");
    t(&mut c, "SMOVE a b 1", ":0");
    t(&mut c, "SMOVE a a 2", ":1");
    t(&mut c, "SMOVE a a 9", ":0");
    t(&mut c, "SMOVE nokey b 1", ":0");
    t(&mut c, "SMOVE a fresh 2", ":1");
    t(&mut c, "SMEMBERS fresh", "*1\r\n$1\r\n2");
    t(&mut c, "SMOVE a b 3", ":1");
    t(&mut c, "SMOVE a b 4", ":1");
    t(&mut c, "EXISTS a", ":0");

    // SPOP / SRANDMEMBER on missing keys and with count 0.
    t(&mut c, "SPOP nokey", "$-1");
    t(&mut c, "SPOP nokey 3", "*0");
    t(&mut c, "SPOP b 0", "*0");
    t(&mut c, "SRANDMEMBER nokey", "$-1");
    t(&mut c, "SRANDMEMBER nokey 3", "*0");
    t(&mut c, "SRANDMEMBER nokey -3", "*0");
    t(&mut c, "SRANDMEMBER b 0", "*0");
    // The whole set when the count covers it: in order for an intset.
    t(
        &mut c,
        "SRANDMEMBER b 100",
        "*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5",
    );
    t(&mut c, "SADD p 9 8", ":2");
    t(&mut c, "SPOP p 5", "*2\r\n$1\r\n8\r\n$1\r\n9");
    t(&mut c, "EXISTS p", ":0");
    // A listpack of integers popped whole comes out sorted, as Redis builds it.
    t(&mut c, "SADD p x 9 8", ":3");
    t(&mut c, "SREM p x", ":1");
    t(&mut c, "OBJECT ENCODING p", "$8\r\nlistpack");
    t(&mut c, "SPOP p 2", "*2\r\n$1\r\n8\r\n$1\r\n9");
    t(&mut c, "SADD p only", ":1");
    t(&mut c, "SPOP p", "$4\r\nonly");
    t(&mut c, "EXISTS p", ":0");
    // Random picks come from the set; a negative count repeats.
    let r = c.cmd_bytes(&[b"SRANDMEMBER", b"b", b"-10"]);
    let got = items(&r);
    assert_eq!(got.len(), 10);
    assert!(
        got.iter()
            .all(|m| [&b"1"[..], b"3", b"4", b"5"].contains(&&m[..]))
    );
    let got = items(&c.cmd_bytes(&[b"SRANDMEMBER", b"b", b"3"]));
    assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), 3);
    let one = c.cmd("SRANDMEMBER b");
    assert!(["$1\r\n1\r\n", "$1\r\n3\r\n", "$1\r\n4\r\n", "$1\r\n5\r\n"].contains(&one.as_str()));

    // SSCAN of a compact set: everything at once, cursor 0, MATCH applied.
    t(
        &mut c,
        "SSCAN l 0",
        "*2\r\n$1\r\n0\r\n*3\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb",
    );
    t(
        &mut c,
        "SSCAN l 0 MATCH [ab] COUNT 1",
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb",
    );
    t(&mut c, "SSCAN nokey 0 foo", "*2\r\n$1\r\n0\r\n*0");

    // Errors, in the order Redis checks.
    let arity = |n: &str| format!("-ERR wrong number of arguments for '{n}' command");
    for (line, name) in [
        ("SADD s", "sadd"),
        ("SREM s", "srem"),
        ("SPOP", "spop"),
        ("SRANDMEMBER", "srandmember"),
        ("SMEMBERS", "smembers"),
        ("SMEMBERS s t", "smembers"),
        ("SISMEMBER s", "sismember"),
        ("SMISMEMBER s", "smismember"),
        ("SCARD", "scard"),
        ("SMOVE a b", "smove"),
        ("SINTER", "sinter"),
        ("SINTERCARD 1", "sintercard"),
        ("SUNION", "sunion"),
        ("SDIFF", "sdiff"),
        ("SINTERSTORE d", "sinterstore"),
        ("SUNIONSTORE d", "sunionstore"),
        ("SDIFFSTORE d", "sdiffstore"),
        ("SSCAN s", "sscan"),
    ] {
        t(&mut c, line, &arity(name));
    }
    let range = "-ERR value is out of range, must be positive";
    t(&mut c, "SPOP s 1 2", "-ERR syntax error");
    t(&mut c, "SPOP s x", range);
    t(&mut c, "SPOP s -1", range);
    t(&mut c, "SPOP nokey x", range);
    t(&mut c, "SPOP s 99999999999999999999", range);
    t(&mut c, "SRANDMEMBER s 1 2", "-ERR syntax error");
    t(
        &mut c,
        "SRANDMEMBER s x",
        "-ERR value is not an integer or out of range",
    );
    t(
        &mut c,
        "SRANDMEMBER nokey x",
        "-ERR value is not an integer or out of range",
    );
    t(
        &mut c,
        "SRANDMEMBER s -9223372036854775808",
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
    );
    // Bounded like HRANDFIELD: no reply of billions of picks.
    t(
        &mut c,
        "SRANDMEMBER s -10000001",
        "-ERR value is out of range",
    );
    let numkeys = "-ERR numkeys should be greater than 0";
    t(&mut c, "SINTERCARD 0 s", numkeys);
    t(&mut c, "SINTERCARD -1 s", numkeys);
    t(&mut c, "SINTERCARD x s", numkeys);
    t(
        &mut c,
        "SINTERCARD 3 s b",
        "-ERR Number of keys can't be greater than number of args",
    );
    t(
        &mut c,
        "SINTERCARD 1 s LIMIT x",
        "-ERR LIMIT can't be negative",
    );
    t(
        &mut c,
        "SINTERCARD 1 s LIMIT -1",
        "-ERR LIMIT can't be negative",
    );
    t(&mut c, "SINTERCARD 1 s LIMIT", "-ERR syntax error");
    t(&mut c, "SINTERCARD 1 s foo", "-ERR syntax error");
    t(&mut c, "SSCAN s x", "-ERR invalid cursor");
    t(&mut c, "SSCAN s 0 NOVALUES", "-ERR syntax error");
    t(&mut c, "SSCAN s 0 TYPE set", "-ERR syntax error");
    t(&mut c, "SSCAN s 0 COUNT 0", "-ERR syntax error");
    t(
        &mut c,
        "SSCAN s 0 COUNT x",
        "-ERR value is not an integer or out of range",
    );

    // WRONGTYPE from every command, even where another key is missing.
    t(&mut c, "SET str x", "+OK");
    for line in [
        "SADD str a",
        "SREM str a",
        "SPOP str",
        "SPOP str 0",
        "SRANDMEMBER str",
        "SRANDMEMBER str 0",
        "SMEMBERS str",
        "SISMEMBER str a",
        "SMISMEMBER str a",
        "SCARD str",
        "SMOVE str b 1",
        "SMOVE b str 1",
        "SINTER nokey str",
        "SINTERCARD 2 nokey str",
        "SUNION b str",
        "SDIFF nokey str",
        "SINTERSTORE d nokey str",
        "SUNIONSTORE d str",
        "SDIFFSTORE d b str",
        "SSCAN str 0",
    ] {
        t(&mut c, line, WRONGTYPE);
    }
    // A missing source answers 0 whatever the destination holds.
    t(&mut c, "SMOVE nokey str 1", ":0");
    // The store commands overwrite a key of another type.
    t(&mut c, "SUNIONSTORE str b", ":4");
    t(&mut c, "TYPE str", "+set");
}

#[test]
fn resp3_replies() {
    let s = Server::start(&["--appendonly", "no"]);
    let mut c = s.connect();
    assert!(c.cmd("HELLO 3").starts_with('%'));
    t(&mut c, "SADD s 2 1", ":2");
    t(&mut c, "SADD t 2 3", ":2");
    // Set replies are RESP3 sets...
    t(&mut c, "SMEMBERS s", "~2\r\n$1\r\n1\r\n$1\r\n2");
    t(&mut c, "SMEMBERS nokey", "~0");
    t(&mut c, "SINTER s t", "~1\r\n$1\r\n2");
    t(&mut c, "SINTER s nokey", "~0");
    t(&mut c, "SUNION s t", "~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3");
    t(&mut c, "SDIFF s t", "~1\r\n$1\r\n1");
    t(&mut c, "SPOP nokey 2", "~0");
    t(&mut c, "SPOP s 0", "~0");
    // ...SRANDMEMBER's and SSCAN's are arrays, and nulls are RESP3 nulls.
    t(&mut c, "SRANDMEMBER s 5", "*2\r\n$1\r\n1\r\n$1\r\n2");
    t(&mut c, "SRANDMEMBER nokey 5", "*0");
    t(&mut c, "SRANDMEMBER nokey", "_");
    t(&mut c, "SPOP nokey", "_");
    t(&mut c, "SMISMEMBER s 1 5", "*2\r\n:1\r\n:0");
    t(
        &mut c,
        "SSCAN s 0",
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\n1\r\n$1\r\n2",
    );
    let r = c.cmd("SPOP s 1");
    assert!(
        r == "~1\r\n$1\r\n1\r\n" || r == "~1\r\n$1\r\n2\r\n",
        "{r:?}"
    );
    t(&mut c, "SPOP t 5", "~2\r\n$1\r\n2\r\n$1\r\n3");
}

#[test]
fn encodings_convert_with_contents_intact() {
    let s = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = s.connect();
    // intset -> hashtable past set-max-intset-entries (512).
    assert_eq!(
        sadd(&mut c, "i", (0..512).map(|i| i.to_string())),
        ":512\r\n"
    );
    assert_eq!(encoding(&mut c, "i"), "intset");
    assert_eq!(
        members(&mut c, "i"),
        (0..512).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    t(&mut c, "SADD i -1", ":1");
    assert_eq!(encoding(&mut c, "i"), "hashtable");
    let want: Vec<String> = sorted((-1..512).map(|i| i.to_string()).collect());
    assert_eq!(sorted(members(&mut c, "i")), want);
    // Integers of every width, upgraded in place.
    t(
        &mut c,
        "SADD w 1 -40000 9000000000 -9223372036854775808",
        ":4",
    );
    assert_eq!(encoding(&mut c, "w"), "intset");
    assert_eq!(
        members(&mut c, "w"),
        ["-9223372036854775808", "-40000", "1", "9000000000"]
    );
    // intset -> listpack with a short string: the integers in order, then the string.
    t(&mut c, "SADD w hello", ":1");
    assert_eq!(encoding(&mut c, "w"), "listpack");
    assert_eq!(
        members(&mut c, "w"),
        ["-9223372036854775808", "-40000", "1", "9000000000", "hello"]
    );
    t(&mut c, "SISMEMBER w 9000000000", ":1");
    // listpack -> hashtable past 128 members...
    assert_eq!(
        sadd(&mut c, "w", (0..123).map(|i| format!("m{i}"))),
        ":123\r\n"
    );
    assert_eq!(int(&mut c, "SCARD w"), 128);
    assert_eq!(encoding(&mut c, "w"), "listpack");
    t(&mut c, "SADD w one-more", ":1");
    assert_eq!(encoding(&mut c, "w"), "hashtable");
    let mut want: Vec<String> = ["-9223372036854775808", "-40000", "1", "9000000000", "hello"]
        .map(String::from)
        .into();
    want.extend((0..123).map(|i| format!("m{i}")));
    want.push("one-more".into());
    assert_eq!(sorted(members(&mut c, "w")), sorted(want.clone()));
    // ...or with a member longer than set-max-listpack-value (64).
    t(&mut c, "SADD long a", ":1");
    let m64 = "x".repeat(64);
    t(&mut c, &format!("SADD long {m64}"), ":1");
    assert_eq!(encoding(&mut c, "long"), "listpack");
    t(&mut c, &format!("SADD long {m64}y"), ":1");
    assert_eq!(encoding(&mut c, "long"), "hashtable");
    assert_eq!(
        sorted(members(&mut c, "long")),
        sorted(vec!["a".into(), m64.clone(), format!("{m64}y")])
    );
    // Too many integers for a listpack: an intset given a string becomes a table.
    assert_eq!(
        sadd(&mut c, "many", (0..200).map(|i| i.to_string())),
        ":200\r\n"
    );
    t(&mut c, "SADD many x", ":1");
    assert_eq!(encoding(&mut c, "many"), "hashtable");
    // SADD's member count alone picks a table (Redis 7.2's size hint).
    assert_eq!(
        sadd(&mut c, "hint", (0..129).map(|_| "dup".to_string())),
        ":1\r\n"
    );
    assert_eq!(encoding(&mut c, "hint"), "hashtable");

    // The directives (Redis 7.2's names), read at every conversion.
    t(&mut c, "CONFIG SET set-max-intset-entries 4", "+OK");
    t(&mut c, "CONFIG SET set-max-listpack-entries 3", "+OK");
    t(&mut c, "CONFIG SET set-max-listpack-value 5", "+OK");
    t(
        &mut c,
        "CONFIG GET set-max-listpack-*",
        "*4\r\n$24\r\nset-max-listpack-entries\r\n$1\r\n3\r\n$22\r\nset-max-listpack-value\r\n$1\r\n5",
    );
    t(&mut c, "SADD c 1 2 3 4", ":4");
    assert_eq!(encoding(&mut c, "c"), "intset");
    t(&mut c, "SADD c 5", ":1");
    assert_eq!(encoding(&mut c, "c"), "hashtable");
    t(&mut c, "SADD d abcde", ":1");
    assert_eq!(encoding(&mut c, "d"), "listpack");
    t(&mut c, "SADD d abcdef", ":1");
    assert_eq!(encoding(&mut c, "d"), "hashtable");
    t(&mut c, "SADD e 1 2", ":2");
    t(&mut c, "SADD e 123456", ":1");
    t(&mut c, "SADD e x", ":1");
    // The integers' decimal length counts: 123456 is longer than 5.
    assert_eq!(encoding(&mut c, "e"), "hashtable");
    t(&mut c, "CONFIG SET set-max-intset-entries 512", "+OK");
    t(&mut c, "CONFIG SET set-max-listpack-entries 128", "+OK");
    t(&mut c, "CONFIG SET set-max-listpack-value 64", "+OK");

    // The other way: a table shrunk below the limits stays a table (as in Redis)...
    for i in 0..500 {
        t(&mut c, &format!("SREM i {i}"), ":1");
    }
    assert_eq!(int(&mut c, "SCARD i"), 13);
    assert_eq!(encoding(&mut c, "i"), "hashtable");
    let w_before = sorted(members(&mut c, "w"));
    // ...a store command builds its result afresh, compact...
    t(&mut c, "SUNIONSTORE i2 i", ":13");
    assert_eq!(encoding(&mut c, "i2"), "intset");
    assert_eq!(
        members(&mut c, "i2"),
        (-1..512)
            .filter(|i| *i < 0 || *i >= 500)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
    );
    let srem: Vec<String> = (0..100).map(|i| format!("m{i}")).collect();
    let mut args: Vec<&[u8]> = vec![b"SREM", b"w"];
    args.extend(srem.iter().map(|m| m.as_bytes()));
    assert_eq!(c.cmd_bytes(&args), b":100\r\n");
    t(&mut c, "SINTERSTORE w2 w w", ":29");
    assert_eq!(encoding(&mut c, "w2"), "listpack");
    // ...and so does a reload: contents intact, compact again where they fit.
    let digest = c.cmd("DEBUG DIGEST");
    t(&mut c, "DEBUG RELOAD", "+OK");
    assert_eq!(c.cmd("DEBUG DIGEST"), digest);
    assert_eq!(encoding(&mut c, "i"), "intset");
    assert_eq!(members(&mut c, "i"), members(&mut c, "i2"));
    assert_eq!(encoding(&mut c, "w"), "listpack");
    let w_after = sorted(members(&mut c, "w"));
    assert_eq!(w_after.len(), 29);
    let w_removed: Vec<String> =
        sorted(w_before.into_iter().filter(|m| !srem.contains(m)).collect());
    assert_eq!(w_after, w_removed);
    assert_eq!(encoding(&mut c, "many"), "hashtable");
    assert_eq!(encoding(&mut c, "long"), "hashtable");
    assert_eq!(encoding(&mut c, "hint"), "listpack");
}

#[test]
fn sscan_walks_a_table_and_misses_nothing() {
    let s = Server::start(&["--appendonly", "no"]);
    let mut c = s.connect();
    let all: Vec<String> = (0..2000).map(|i| format!("member:{i}")).collect();
    for chunk in all.chunks(500) {
        sadd(&mut c, "t", chunk.iter().cloned());
    }
    assert_eq!(encoding(&mut c, "t"), "hashtable");
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    let mut removed = BTreeSet::new();
    loop {
        let r = c.cmd_bytes(&[b"SSCAN", b"t", cursor.as_bytes(), b"COUNT", b"50"]);
        let parsed = common::diff::parse_all(&r).unwrap();
        let common::diff::R::Agg(_, kids) = parsed else {
            panic!()
        };
        cursor = String::from_utf8(common::diff::bulk_payload(&kids[0]).unwrap()).unwrap();
        for m in items(&common::diff::bytes_of(&kids[1])) {
            seen.insert(String::from_utf8(m).unwrap());
        }
        calls += 1;
        // Removals during the scan never make it skip a member that stays.
        if calls % 3 == 0 {
            let m = format!("member:{}", calls * 7);
            c.cmd_bytes(&[b"SREM", b"t", m.as_bytes()]);
            removed.insert(m);
        }
        if cursor == "0" {
            break;
        }
    }
    assert!(calls >= 40, "{calls} calls");
    for m in &all {
        assert!(seen.contains(m) || removed.contains(m), "{m} not returned");
    }
    // MATCH filters a table's members too.
    let r = c.cmd_bytes(&[
        b"SSCAN",
        b"t",
        b"0",
        b"MATCH",
        b"member:1?",
        b"COUNT",
        b"10000",
    ]);
    let common::diff::R::Agg(_, kids) = common::diff::parse_all(&r).unwrap() else {
        panic!()
    };
    let got: BTreeSet<Vec<u8>> = items(&common::diff::bytes_of(&kids[1]))
        .into_iter()
        .collect();
    let want: BTreeSet<Vec<u8>> = (10..20)
        .map(|i| format!("member:{i}").into_bytes())
        .collect();
    assert_eq!(got, want);
}

/// The records the write stream got since the last read, as (command, args) lines.
fn stream(c: &mut Client) -> Vec<Vec<String>> {
    let r = c.cmd_bytes(&[b"DEBUG", b"WRITE-STREAM", b"READ"]);
    let body = common::diff::bulk_payload(&common::diff::parse_all(&r).unwrap()).unwrap();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        let (rec, used) = common::diff::parse(&body[pos..]).unwrap();
        pos += used;
        let words = items(&common::diff::bytes_of(&rec))
            .into_iter()
            .map(|w| String::from_utf8(w).unwrap())
            .collect();
        out.push(words);
    }
    out
}

#[test]
fn spop_is_logged_as_the_members_it_took_and_replays_exactly() {
    let dir = TempDir::new("set-spop");
    let args = ["--appendfsync", "always", "--enable-debug-command", "yes"];
    let mut s = Server::start_in(dir.path(), &args);
    let mut c = s.connect();
    t(&mut c, "DEBUG WRITE-STREAM START", "+OK");
    sadd(&mut c, "big", (0..3000).map(|i| format!("m{i}")));
    sadd(&mut c, "ints", (0..300).map(|i| i.to_string()));
    sadd(&mut c, "small", ["a", "b", "c", "d", "e"].map(String::from));
    sadd(&mut c, "gone", ["x", "y"].map(String::from));
    stream(&mut c);
    // One member: SREM key member.
    let r = c.cmd("SPOP small");
    let m = r.lines().nth(1).unwrap().to_string();
    assert_eq!(stream(&mut c), vec![vec!["SREM".into(), "small".into(), m]]);
    // A count: SREM of exactly the members returned, 1024 at most per record (inside
    // MULTI/EXEC when there are several).
    let popped = items(&c.cmd_bytes(&[b"SPOP", b"big", b"2500"]));
    assert_eq!(popped.len(), 2500);
    let recs = stream(&mut c);
    let srems: Vec<&Vec<String>> = recs.iter().filter(|r| r[0] == "SREM").collect();
    assert_eq!(srems.len(), 3);
    assert_eq!(recs.first().unwrap()[0], "MULTI");
    assert_eq!(recs.last().unwrap()[0], "EXEC");
    let logged: Vec<String> = srems.iter().flat_map(|r| r[2..].to_vec()).collect();
    assert!(srems.iter().all(|r| r[1] == "big" && r.len() <= 2 + 1024));
    let popped: Vec<String> = popped
        .into_iter()
        .map(|m| String::from_utf8(m).unwrap())
        .collect();
    assert_eq!(logged, popped);
    let popped = items(&c.cmd_bytes(&[b"SPOP", b"ints", b"290"]));
    assert_eq!(popped.len(), 290);
    let recs = stream(&mut c);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].len(), 2 + 290);
    // Everything: DEL key.
    let r = items(&c.cmd_bytes(&[b"SPOP", b"gone", b"10"]));
    assert_eq!(r, [b"x".to_vec(), b"y".to_vec()]);
    assert_eq!(
        stream(&mut c),
        vec![vec!["DEL".to_string(), "gone".to_string()]]
    );
    // Nothing changed, nothing logged.
    c.cmd("SPOP nokey 3");
    c.cmd("SPOP small 0");
    c.cmd("SRANDMEMBER big 5");
    assert!(stream(&mut c).is_empty());
    for _ in 0..50 {
        c.cmd("SPOP big 7");
        c.cmd("SPOP small");
        c.cmd("SPOP ints");
    }
    let before: Vec<(String, Vec<String>)> = ["big", "ints", "small", "gone"]
        .iter()
        .map(|k| (k.to_string(), sorted(members(&mut c, k))))
        .collect();
    let digest = c.cmd("DEBUG DIGEST");
    s.kill9();
    let s = Server::start_in(dir.path(), &args);
    let mut c = s.connect();
    for (k, m) in &before {
        assert_eq!(&sorted(members(&mut c, k)), m, "{k} after replay");
    }
    assert_eq!(c.cmd("DEBUG DIGEST"), digest);
}

#[test]
fn kill9_replay_and_rewrite_keep_every_set() {
    let dir = TempDir::new("set-persist");
    let args = ["--appendfsync", "always", "--enable-debug-command", "yes"];
    let mut s = Server::start_in(dir.path(), &args);
    let mut c = s.connect();
    sadd(
        &mut c,
        "ints",
        (0..400).map(|i| (i * 7919 - 100000).to_string()),
    );
    sadd(&mut c, "pack", ["b", "a", "10", "c"].map(String::from));
    sadd(&mut c, "table", (0..5000).map(|i| format!("member-{i}")));
    let long = "L".repeat(300);
    sadd(&mut c, "table", [long.clone()]);
    t(&mut c, "SREM table member-7 member-9", ":2");
    t(&mut c, "SMOVE pack moved a", ":1");
    t(&mut c, "SINTERSTORE inter ints ints", ":400");
    t(&mut c, "SDIFFSTORE diff table pack", ":4999");
    t(&mut c, "EXPIRE table 100000", ":1");
    let keys = ["ints", "pack", "table", "moved", "inter", "diff"];
    let snapshot = |c: &mut Client| -> Vec<(String, String, Vec<String>)> {
        keys.iter()
            .map(|k| {
                let m = members(c, k);
                let enc = encoding(c, k);
                // Compact sets keep their exact order.
                let m = if enc == "hashtable" { sorted(m) } else { m };
                (k.to_string(), enc, m)
            })
            .collect()
    };
    let before = snapshot(&mut c);
    let digest = c.cmd("DEBUG DIGEST");
    s.kill9();
    let mut s = Server::start_in(dir.path(), &args);
    let mut c = s.connect();
    assert_eq!(snapshot(&mut c), before, "after kill -9 and replay");
    assert_eq!(c.cmd("DEBUG DIGEST"), digest);
    assert!(int(&mut c, "TTL table") > 99000);
    // A rewrite, more writes on top, another crash.
    t(
        &mut c,
        "BGREWRITEAOF",
        "+Background append only file rewriting started",
    );
    common::wait_rewrites(&mut c, 1, 60);
    t(&mut c, "SADD pack zz", ":1");
    t(&mut c, "SREM ints -100000", ":1");
    let before = snapshot(&mut c);
    let digest = c.cmd("DEBUG DIGEST");
    s.kill9();
    let s = Server::start_in(dir.path(), &args);
    let mut c = s.connect();
    assert_eq!(
        snapshot(&mut c),
        before,
        "after rewrite, kill -9 and replay"
    );
    assert_eq!(c.cmd("DEBUG DIGEST"), digest);
    assert!(members(&mut c, "table").contains(&long));
}
