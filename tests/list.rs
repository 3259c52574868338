//! Lists against the real binary: exact reply bytes (RESP2 and RESP3), every error text,
//! WRONGTYPE, OBJECT ENCODING, conversions between the packed and the quicklist form
//! both ways (seen through DEBUG OBJECT's `internal_encoding`) with contents intact, the
//! AOF records LMPOP leaves, and a model test: random list commands checked against an
//! in-test model with tiny node limits, then kill -9 and restart from the AOF, then
//! BGREWRITEAOF, kill -9 and restart from the rewritten base, contents compared each time.

mod common;

use std::collections::VecDeque;

use common::{Client, Rng, Server, TempDir, wait_rewrites};

fn start(dir: &std::path::Path, extra: &[&str]) -> Server {
    let mut a = vec!["--appendonly", "yes", "--appendfsync", "always"];
    a.extend(["--enable-debug-command", "yes"]);
    a.extend(extra);
    Server::start_in(dir, &a)
}

fn c(cl: &mut Client, args: &[&str]) -> String {
    cl.cmdv(args)
}

fn internal_encoding(cl: &mut Client, key: &str) -> String {
    let d = c(cl, &["DEBUG", "OBJECT", key]);
    d.split_whitespace()
        .find_map(|w| w.strip_prefix("internal_encoding:"))
        .unwrap_or_else(|| panic!("no internal_encoding in {d:?}"))
        .to_string()
}

fn lrange_all(cl: &mut Client, key: &str) -> Vec<Vec<u8>> {
    common::diff::bulk_items(&cl.cmd_bytes(&[b"LRANGE", key.as_bytes(), b"0", b"-1"]))
}

#[test]
fn replies_and_errors() {
    let d = TempDir::new("list");
    let srv = start(d.path(), &[]);
    let mut cl = srv.connect();
    let cases: &[(&[&str], &str)] = &[
        (&["RPUSH", "l", "a", "b", "c"], ":3\r\n"),
        (&["LPUSH", "l", "x", "y"], ":5\r\n"),
        (
            &["LRANGE", "l", "0", "-1"],
            "*5\r\n$1\r\ny\r\n$1\r\nx\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
        ),
        (
            &["LRANGE", "l", "-2", "100"],
            "*2\r\n$1\r\nb\r\n$1\r\nc\r\n",
        ),
        (&["LRANGE", "l", "3", "1"], "*0\r\n"),
        (&["LRANGE", "nx", "0", "-1"], "*0\r\n"),
        (
            &["LRANGE", "nx", "a", "1"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (&["LLEN", "l"], ":5\r\n"),
        (&["LINDEX", "l", "-1"], "$1\r\nc\r\n"),
        (&["LINDEX", "l", "5"], "$-1\r\n"),
        (&["LINDEX", "nx", "abc"], "$-1\r\n"),
        (
            &["LINDEX", "l", "abc"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (&["LSET", "l", "0", "Y"], "+OK\r\n"),
        (&["LSET", "l", "9", "Y"], "-ERR index out of range\r\n"),
        (&["LSET", "nx", "0", "Y"], "-ERR no such key\r\n"),
        (
            &["LSET", "l", "x", "Y"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (&["LINSERT", "l", "BEFORE", "a", "A"], ":6\r\n"),
        (&["LINSERT", "l", "after", "zz", "A"], ":-1\r\n"),
        (&["LINSERT", "nx", "after", "zz", "A"], ":0\r\n"),
        (
            &["LINSERT", "l", "middle", "a", "A"],
            "-ERR syntax error\r\n",
        ),
        (&["LPOS", "l", "a"], ":3\r\n"),
        (&["LPOS", "l", "a", "COUNT", "0"], "*1\r\n:3\r\n"),
        (&["LPOS", "l", "nope"], "$-1\r\n"),
        (&["LPOS", "nx", "a", "COUNT", "2"], "*0\r\n"),
        (
            &["LPOS", "l", "a", "RANK", "0"],
            "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n",
        ),
        (
            &["LPOS", "l", "a", "COUNT", "-1"],
            "-ERR COUNT can't be negative\r\n",
        ),
        (
            &["LPOS", "l", "a", "MAXLEN", "x"],
            "-ERR MAXLEN can't be negative\r\n",
        ),
        (&["LPOS", "l", "a", "RANK"], "-ERR syntax error\r\n"),
        (&["LREM", "l", "0", "A"], ":1\r\n"),
        (
            &["LREM", "l", "x", "A"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (&["LTRIM", "l", "1", "-1"], "+OK\r\n"),
        (
            &["LRANGE", "l", "0", "-1"],
            "*4\r\n$1\r\nx\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
        ),
        (&["LPOP", "l"], "$1\r\nx\r\n"),
        (&["RPOP", "l", "2"], "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"),
        (&["LPOP", "l", "0"], "*0\r\n"),
        (
            &["LPOP", "l", "-1"],
            "-ERR value is out of range, must be positive\r\n",
        ),
        (
            &["LPOP", "l", "1", "2"],
            "-ERR wrong number of arguments for 'lpop' command\r\n",
        ),
        (&["LPOP", "nx"], "$-1\r\n"),
        (&["LPOP", "nx", "3"], "*-1\r\n"),
        (&["RPOPLPUSH", "l", "m"], "$1\r\na\r\n"),
        (&["EXISTS", "l"], ":0\r\n"),
        (&["LMOVE", "m", "m", "LEFT", "RIGHT"], "$1\r\na\r\n"),
        (&["LMOVE", "m", "n", "UP", "RIGHT"], "-ERR syntax error\r\n"),
        (&["LMOVE", "nx", "n", "LEFT", "RIGHT"], "$-1\r\n"),
        (&["LPUSHX", "nx", "a"], ":0\r\n"),
        (&["RPUSHX", "m", "b", "c"], ":3\r\n"),
        (
            &["LMPOP", "2", "nx", "m", "RIGHT", "COUNT", "2"],
            "*2\r\n$1\r\nm\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n",
        ),
        (&["LMPOP", "1", "nx", "LEFT"], "*-1\r\n"),
        (
            &["LMPOP", "0", "m", "LEFT"],
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (&["LMPOP", "2", "m", "LEFT"], "-ERR syntax error\r\n"),
        (
            &["LMPOP", "1", "m", "LEFT", "COUNT", "0"],
            "-ERR count should be greater than 0\r\n",
        ),
        (
            &["LMPOP", "1", "m", "LEFT", "COUNT", "1", "COUNT", "1"],
            "-ERR syntax error\r\n",
        ),
        (&["SET", "s", "v"], "+OK\r\n"),
        (
            &["LPUSH", "s", "a"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["LRANGE", "s", "0", "1"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["LMOVE", "m", "s", "LEFT", "LEFT"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["LMPOP", "2", "nx", "s", "LEFT"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["TYPE", "m"], "+list\r\n"),
        (&["OBJECT", "ENCODING", "m"], "$9\r\nquicklist\r\n"),
    ];
    for (args, want) in cases {
        assert_eq!(c(&mut cl, args), *want, "{args:?}");
    }
    // RESP3 nulls.
    assert!(!c(&mut cl, &["HELLO", "3"]).is_empty());
    for (args, want) in [
        (&["LPOP", "nx"][..], "_\r\n"),
        (&["LPOP", "nx", "2"], "_\r\n"),
        (&["LMPOP", "1", "nx", "LEFT"], "_\r\n"),
        (&["LINDEX", "m", "100"], "_\r\n"),
        (&["LPOS", "m", "zz"], "_\r\n"),
        (&["RPOP", "m", "5"], "*1\r\n$1\r\na\r\n"),
    ] {
        assert_eq!(c(&mut cl, args), want, "{args:?}");
    }
}

#[test]
fn conversions_both_ways_keep_contents() {
    let d = TempDir::new("list");
    let srv = start(d.path(), &[]);
    let mut cl = srv.connect();
    let items: Vec<String> = (0..2000).map(|i| format!("item-{i}")).collect();
    for x in &items {
        c(&mut cl, &["RPUSH", "big", x]);
    }
    assert_eq!(internal_encoding(&mut cl, "big"), "quicklist");
    assert_eq!(
        c(&mut cl, &["OBJECT", "ENCODING", "big"]),
        "$9\r\nquicklist\r\n"
    );
    let want: Vec<Vec<u8>> = items.iter().map(|x| x.as_bytes().to_vec()).collect();
    assert_eq!(lrange_all(&mut cl, "big"), want);
    // Shrink to a few elements: packed again, same contents.
    assert_eq!(c(&mut cl, &["LTRIM", "big", "100", "109"]), "+OK\r\n");
    assert_eq!(internal_encoding(&mut cl, "big"), "listpack");
    assert_eq!(lrange_all(&mut cl, "big"), want[100..110].to_vec());
    // One long element converts at once; replacing it by a short one packs it again.
    let long = "L".repeat(9000);
    assert_eq!(c(&mut cl, &["LSET", "big", "3", &long]), "+OK\r\n");
    assert_eq!(internal_encoding(&mut cl, "big"), "quicklist");
    assert_eq!(lrange_all(&mut cl, "big")[3], long.as_bytes());
    assert_eq!(c(&mut cl, &["LSET", "big", "3", "short"]), "+OK\r\n");
    assert_eq!(internal_encoding(&mut cl, "big"), "listpack");
    // A count limit: 4 elements a node.
    assert_eq!(
        c(&mut cl, &["CONFIG", "SET", "list-max-listpack-size", "4"]),
        "+OK\r\n"
    );
    assert_eq!(
        c(&mut cl, &["RPUSH", "small", "1", "2", "3", "4"]),
        ":4\r\n"
    );
    assert_eq!(internal_encoding(&mut cl, "small"), "listpack");
    assert_eq!(c(&mut cl, &["RPUSH", "small", "5"]), ":5\r\n");
    assert_eq!(internal_encoding(&mut cl, "small"), "quicklist");
    assert_eq!(
        c(&mut cl, &["RPOP", "small", "3"]),
        "*3\r\n$1\r\n5\r\n$1\r\n4\r\n$1\r\n3\r\n"
    );
    assert_eq!(internal_encoding(&mut cl, "small"), "listpack");
    assert_eq!(
        c(&mut cl, &["CONFIG", "GET", "list-max-ziplist-size"]),
        "*2\r\n$21\r\nlist-max-ziplist-size\r\n$1\r\n4\r\n"
    );
    assert_eq!(
        c(
            &mut cl,
            &["CONFIG", "SET", "list-max-listpack-size", "2147483648"]
        ),
        "-ERR CONFIG SET failed (possibly related to argument 'list-max-listpack-size') - argument must be between -2147483648 and 2147483647 inclusive\r\n"
    );
    assert_eq!(
        c(&mut cl, &["CONFIG", "SET", "list-compress-depth", "-1"]),
        "-ERR CONFIG SET failed (possibly related to argument 'list-compress-depth') - argument must be between 0 and 2147483647 inclusive\r\n"
    );
}

#[test]
fn lmpop_is_logged_as_the_pop_it_did() {
    let d = TempDir::new("list");
    let srv = start(d.path(), &[]);
    let mut cl = srv.connect();
    assert_eq!(c(&mut cl, &["DEBUG", "WRITE-STREAM", "START"]), "+OK\r\n");
    c(&mut cl, &["RPUSH", "l", "a", "b", "c"]);
    c(&mut cl, &["LMPOP", "2", "nx", "l", "RIGHT", "COUNT", "10"]);
    c(&mut cl, &["LPOP", "nx", "3"]);
    let rec = c(&mut cl, &["DEBUG", "WRITE-STREAM", "READ"]);
    assert!(
        rec.contains("*3\r\n$4\r\nRPOP\r\n$1\r\nl\r\n$1\r\n3\r\n"),
        "{rec:?}"
    );
    assert!(!rec.contains("LMPOP") && !rec.contains("nx"), "{rec:?}");
}

/// The model: keys k0..k3 as lists.
struct Model {
    lists: Vec<VecDeque<Vec<u8>>>,
}

const KEYS: usize = 4;

fn value(rng: &mut Rng) -> Vec<u8> {
    match rng.below(20) {
        0 => vec![b'L'; 300],
        1..=6 => rng.below(300).to_string().into_bytes(),
        7 => b"-5".to_vec(),
        _ => format!("v{}", rng.below(12)).into_bytes(),
    }
}

/// One random command, applied to the model; the reply must be the model's.
fn step(cl: &mut Client, m: &mut Model, rng: &mut Rng) {
    let k = rng.below(KEYS as u64) as usize;
    let key = format!("k{k}");
    let l = &mut m.lists[k];
    match rng.below(9) {
        0 | 1 => {
            let n = 1 + rng.below(6) as usize;
            let vals: Vec<Vec<u8>> = (0..n).map(|_| value(rng)).collect();
            let left = rng.below(2) == 0;
            let mut args: Vec<&[u8]> = vec![if left { b"LPUSH" } else { b"RPUSH" }, key.as_bytes()];
            args.extend(vals.iter().map(|v| &v[..]));
            for v in vals.iter() {
                if left {
                    l.push_front(v.clone());
                } else {
                    l.push_back(v.clone());
                }
            }
            assert_eq!(
                cl.cmd_bytes(&args),
                format!(":{}\r\n", l.len()).into_bytes()
            );
        }
        2 => {
            let n = rng.below(4) as usize;
            let left = rng.below(2) == 0;
            let r = cl.cmd_bytes(&[
                if left { b"LPOP" } else { b"RPOP" },
                key.as_bytes(),
                n.to_string().as_bytes(),
            ]);
            if l.is_empty() {
                assert_eq!(r, b"*-1\r\n");
                return;
            }
            let got = common::diff::bulk_items(&r);
            let want: Vec<Vec<u8>> = (0..n.min(l.len()))
                .map(|_| if left { l.pop_front() } else { l.pop_back() }.unwrap())
                .collect();
            assert_eq!(got, want);
        }
        3 if !l.is_empty() => {
            let i = rng.below(l.len() as u64) as usize;
            let v = value(rng);
            let r = cl.cmd_bytes(&[b"LSET", key.as_bytes(), i.to_string().as_bytes(), &v]);
            assert_eq!(r, b"+OK\r\n");
            l[i] = v;
        }
        4 => {
            let pivot = value(rng);
            let v = value(rng);
            let r = cl.cmd_bytes(&[b"LINSERT", key.as_bytes(), b"AFTER", &pivot, &v]);
            let want = match l.iter().position(|x| *x == pivot) {
                Some(p) => {
                    l.insert(p + 1, v);
                    l.len() as i64
                }
                None if l.is_empty() => 0,
                None => -1,
            };
            assert_eq!(r, format!(":{want}\r\n").into_bytes());
        }
        5 => {
            let v = value(rng);
            let count = rng.below(5) as i64 - 2;
            let r = cl.cmd_bytes(&[b"LREM", key.as_bytes(), count.to_string().as_bytes(), &v]);
            let max = if count == 0 {
                usize::MAX
            } else {
                count.unsigned_abs() as usize
            };
            let mut gone = 0;
            let idx: Vec<usize> = if count < 0 {
                (0..l.len()).rev().collect()
            } else {
                (0..l.len()).collect()
            };
            let mut del = Vec::new();
            for i in idx {
                if gone < max && l[i] == v {
                    del.push(i);
                    gone += 1;
                }
            }
            del.sort_unstable();
            for i in del.into_iter().rev() {
                l.remove(i);
            }
            assert_eq!(r, format!(":{gone}\r\n").into_bytes());
        }
        6 if !l.is_empty() => {
            let a = rng.below(l.len() as u64) as usize;
            let b = a + rng.below((l.len() - a) as u64) as usize;
            let r = cl.cmd_bytes(&[
                b"LTRIM",
                key.as_bytes(),
                a.to_string().as_bytes(),
                b.to_string().as_bytes(),
            ]);
            assert_eq!(r, b"+OK\r\n");
            *l = l.range(a..=b).cloned().collect();
        }
        7 => {
            let d = rng.below(KEYS as u64) as usize;
            let r = cl.cmd_bytes(&[
                b"LMOVE",
                key.as_bytes(),
                format!("k{d}").as_bytes(),
                b"RIGHT",
                b"LEFT",
            ]);
            match m.lists[k].pop_back() {
                None => assert_eq!(r, b"$-1\r\n"),
                Some(v) => {
                    assert_eq!(
                        common::diff::bulk_payload(&common::diff::parse_all(&r).unwrap()),
                        Some(v.clone())
                    );
                    m.lists[d].push_front(v);
                }
            }
        }
        _ => {
            let r = cl.cmd_bytes(&[b"LRANGE", key.as_bytes(), b"0", b"-1"]);
            assert_eq!(
                common::diff::bulk_items(&r),
                l.iter().cloned().collect::<Vec<_>>()
            );
        }
    }
}

fn check_all(cl: &mut Client, m: &Model, when: &str) {
    for (k, l) in m.lists.iter().enumerate() {
        let got = lrange_all(cl, &format!("k{k}"));
        assert_eq!(got, l.iter().cloned().collect::<Vec<_>>(), "k{k} {when}");
    }
}

#[test]
fn model_across_restart_and_rewrite() {
    let seed = common::now_ms() as u64;
    eprintln!("list model seed {seed}");
    let mut rng = Rng::new(seed);
    let d = TempDir::new("list-model");
    let args = ["--list-max-listpack-size", "3"];
    let mut srv = start(d.path(), &args);
    let mut cl = srv.connect();
    let mut m = Model {
        lists: vec![VecDeque::new(); KEYS],
    };
    for _ in 0..3000 {
        step(&mut cl, &mut m, &mut rng);
    }
    check_all(&mut cl, &m, "before restart");
    srv.kill9();
    let mut srv = start(d.path(), &args);
    let mut cl = srv.connect();
    check_all(&mut cl, &m, "after kill -9 and AOF replay");
    for _ in 0..1000 {
        step(&mut cl, &mut m, &mut rng);
    }
    assert_eq!(
        c(&mut cl, &["BGREWRITEAOF"]),
        "+Background append only file rewriting started\r\n"
    );
    wait_rewrites(&mut cl, 1, 30);
    for _ in 0..300 {
        step(&mut cl, &mut m, &mut rng);
    }
    srv.kill9();
    let srv = start(d.path(), &args);
    let mut cl = srv.connect();
    check_all(&mut cl, &m, "after BGREWRITEAOF, kill -9 and replay");
    let digest = c(&mut cl, &["DEBUG", "DIGEST"]);
    assert_eq!(c(&mut cl, &["DEBUG", "RELOAD"]), "+OK\r\n");
    assert_eq!(c(&mut cl, &["DEBUG", "DIGEST"]), digest);
    check_all(&mut cl, &m, "after DEBUG RELOAD");
}
