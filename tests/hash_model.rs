//! Property test of the hash type against a plain model: random sequences of hash commands
//! go to ferrokv and to an in-test model (an insertion-ordered list of pairs per key), and
//! every reply must be the one the model predicts. The listpack limits are set low so the
//! compact encoding is left often, and `OBJECT ENCODING` must follow Redis's rule (compact
//! while small, one-way conversion). The run ends with a kill -9 and a restart from the AOF,
//! after which every key must still equal the model.

mod common;

use std::collections::HashMap;

use common::{Rng, Server, TempDir};

const MAX_ENTRIES: usize = 8;
const MAX_VALUE: usize = 16;

#[derive(Default, Clone)]
struct ModelHash {
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    /// Left the compact encoding (stays a table until the key is deleted).
    table: bool,
}

impl ModelHash {
    fn get(&self, f: &[u8]) -> Option<&Vec<u8>> {
        self.pairs.iter().find(|(k, _)| k == f).map(|(_, v)| v)
    }
    fn set(&mut self, f: &[u8], v: &[u8]) -> bool {
        if f.len() > MAX_VALUE || v.len() > MAX_VALUE {
            self.table = true;
        }
        let new = match self.pairs.iter_mut().find(|(k, _)| k == f) {
            Some(p) => {
                p.1 = v.to_vec();
                false
            }
            None => {
                self.pairs.push((f.to_vec(), v.to_vec()));
                true
            }
        };
        if self.pairs.len() > MAX_ENTRIES {
            self.table = true;
        }
        new
    }
}

fn bulk(v: Option<&Vec<u8>>) -> Vec<u8> {
    match v {
        Some(v) => [
            format!("${}\r\n", v.len()).into_bytes(),
            v.clone(),
            b"\r\n".to_vec(),
        ]
        .concat(),
        None => b"$-1\r\n".to_vec(),
    }
}

/// Parses a RESP2 flat array of bulk strings.
fn parse_array(r: &[u8]) -> Vec<Vec<u8>> {
    let text = r;
    let mut out = Vec::new();
    let nl = text.windows(2).position(|w| w == b"\r\n").unwrap();
    let n: usize = std::str::from_utf8(&text[1..nl]).unwrap().parse().unwrap();
    let mut p = nl + 2;
    for _ in 0..n {
        let nl = p + text[p..].windows(2).position(|w| w == b"\r\n").unwrap();
        let len: usize = std::str::from_utf8(&text[p + 1..nl])
            .unwrap()
            .parse()
            .unwrap();
        out.push(text[nl + 2..nl + 2 + len].to_vec());
        p = nl + 2 + len + 2;
    }
    out
}

fn field(rng: &mut Rng) -> Vec<u8> {
    // Mostly short names; now and then one past hash-max-listpack-value.
    if rng.below(40) == 0 {
        format!("long-field-name-{}", rng.below(3)).into_bytes()
    } else {
        format!("f{}", rng.below(14)).into_bytes()
    }
}

fn value(rng: &mut Rng) -> Vec<u8> {
    let len = [0, 1, 3, 8, 16, 17, 30][rng.below(7) as usize];
    (0..len).map(|_| b'a' + rng.below(26) as u8).collect()
}

#[test]
fn hash_commands_match_a_model_across_encodings_and_restart() {
    let seed = std::env::var("HASH_MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::process::id() as u64 * 7919 + 17);
    eprintln!("seed {seed} (HASH_MODEL_SEED={seed} to repeat)");
    let mut rng = Rng::new(seed);
    let dir = TempDir::new("hashmodel");
    let args = [
        "--appendfsync",
        "always",
        "--hash-max-listpack-entries",
        "8",
        "--hash-max-listpack-value",
        "16",
    ];
    let mut srv = Server::start_in(dir.path(), &args);
    let mut c = srv.connect();
    let mut model: HashMap<Vec<u8>, ModelHash> = HashMap::new();
    let keys: Vec<Vec<u8>> = (0..12).map(|i| format!("h{i}").into_bytes()).collect();
    for step in 0..6000 {
        let key = keys[rng.below(keys.len() as u64) as usize].clone();
        let m = model.get(&key).cloned().unwrap_or_default();
        let ctx = |what: &str| format!("step {step} seed {seed}: {what}");
        match rng.below(10) {
            0..=2 => {
                let n = 1 + rng.below(4) as usize;
                let mut args: Vec<Vec<u8>> = vec![b"HSET".to_vec(), key.clone()];
                let mut mm = m.clone();
                let mut added = 0;
                for _ in 0..n {
                    let (f, v) = (field(&mut rng), value(&mut rng));
                    if mm.set(&f, &v) {
                        added += 1;
                    }
                    args.push(f);
                    args.push(v);
                }
                let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
                assert_eq!(
                    c.cmd_bytes(&refs),
                    format!(":{added}\r\n").into_bytes(),
                    "{}",
                    ctx("HSET")
                );
                model.insert(key.clone(), mm);
            }
            3 => {
                let (f, v) = (field(&mut rng), value(&mut rng));
                let mut mm = m.clone();
                let want = if m.get(&f).is_some() {
                    0
                } else {
                    mm.set(&f, &v) as i64
                };
                assert_eq!(
                    c.cmd_bytes(&[b"HSETNX", &key, &f, &v]),
                    format!(":{want}\r\n").into_bytes(),
                    "{}",
                    ctx("HSETNX")
                );
                model.insert(key.clone(), mm);
            }
            4 => {
                let fields: Vec<Vec<u8>> = (0..1 + rng.below(3)).map(|_| field(&mut rng)).collect();
                let mut mm = m.clone();
                let mut removed = 0;
                for f in &fields {
                    if let Some(i) = mm.pairs.iter().position(|(k, _)| k == f) {
                        mm.pairs.remove(i);
                        removed += 1;
                    }
                }
                let mut args: Vec<&[u8]> = vec![b"HDEL", &key];
                args.extend(fields.iter().map(|f| &f[..]));
                assert_eq!(
                    c.cmd_bytes(&args),
                    format!(":{removed}\r\n").into_bytes(),
                    "{}",
                    ctx("HDEL")
                );
                if mm.pairs.is_empty() {
                    model.remove(&key);
                } else {
                    model.insert(key.clone(), mm);
                }
            }
            5 => {
                let f = format!("n{}", rng.below(3)).into_bytes();
                let by = rng.below(100) as i64 - 50;
                let mut mm = m.clone();
                let cur: i64 = m
                    .get(&f)
                    .map_or(0, |v| std::str::from_utf8(v).unwrap().parse().unwrap());
                let new = cur + by;
                mm.set(&f, new.to_string().as_bytes());
                assert_eq!(
                    c.cmd_bytes(&[b"HINCRBY", &key, &f, by.to_string().as_bytes()]),
                    format!(":{new}\r\n").into_bytes(),
                    "{}",
                    ctx("HINCRBY")
                );
                model.insert(key.clone(), mm);
            }
            6 => {
                let f = field(&mut rng);
                assert_eq!(
                    c.cmd_bytes(&[b"HGET", &key, &f]),
                    bulk(m.get(&f)),
                    "{}",
                    ctx("HGET")
                );
                assert_eq!(
                    c.cmd_bytes(&[b"HEXISTS", &key, &f]),
                    format!(":{}\r\n", m.get(&f).is_some() as u8).into_bytes(),
                    "{}",
                    ctx("HEXISTS")
                );
                assert_eq!(
                    c.cmd_bytes(&[b"HSTRLEN", &key, &f]),
                    format!(":{}\r\n", m.get(&f).map_or(0, |v| v.len())).into_bytes(),
                    "{}",
                    ctx("HSTRLEN")
                );
            }
            7 => {
                assert_eq!(
                    c.cmd_bytes(&[b"HLEN", &key]),
                    format!(":{}\r\n", m.pairs.len()).into_bytes(),
                    "{}",
                    ctx("HLEN")
                );
                let enc = c.cmd_bytes(&[b"OBJECT", b"ENCODING", &key]);
                let want: &[u8] = if m.pairs.is_empty() {
                    b"$-1\r\n"
                } else if m.table {
                    b"$9\r\nhashtable\r\n"
                } else {
                    b"$8\r\nlistpack\r\n"
                };
                assert_eq!(enc, want, "{}", ctx("OBJECT ENCODING"));
            }
            8 => {
                let got = parse_array(&c.cmd_bytes(&[b"HGETALL", &key]));
                let flat: Vec<Vec<u8>> = m
                    .pairs
                    .iter()
                    .flat_map(|(f, v)| [f.clone(), v.clone()])
                    .collect();
                if m.table {
                    let mut a: Vec<_> = got.chunks(2).map(|p| p.to_vec()).collect();
                    let mut b: Vec<_> = flat.chunks(2).map(|p| p.to_vec()).collect();
                    a.sort();
                    b.sort();
                    assert_eq!(a, b, "{}", ctx("HGETALL (table)"));
                } else {
                    // The compact encoding keeps insertion order, updates in place.
                    assert_eq!(got, flat, "{}", ctx("HGETALL (listpack order)"));
                }
            }
            _ => {
                if rng.below(10) == 0 {
                    let want = if m.pairs.is_empty() { 0 } else { 1 };
                    assert_eq!(
                        c.cmd_bytes(&[b"DEL", &key]),
                        format!(":{want}\r\n").into_bytes(),
                        "{}",
                        ctx("DEL")
                    );
                    model.remove(&key);
                } else {
                    let fields: Vec<Vec<u8>> = (0..3).map(|_| field(&mut rng)).collect();
                    let got = c.cmd_bytes(&[b"HMGET", &key, &fields[0], &fields[1], &fields[2]]);
                    let want: Vec<u8> = [
                        b"*3\r\n".to_vec(),
                        bulk(m.get(&fields[0])),
                        bulk(m.get(&fields[1])),
                        bulk(m.get(&fields[2])),
                    ]
                    .concat();
                    assert_eq!(got, want, "{}", ctx("HMGET"));
                }
            }
        }
    }
    // Everything acknowledged is in the AOF: a crash and a replay give the model again.
    srv.kill9();
    let srv = Server::start_in(dir.path(), &args);
    let mut c = srv.connect();
    assert_eq!(c.cmd("DBSIZE"), format!(":{}\r\n", model.len()));
    for (k, m) in &model {
        let got = parse_array(&c.cmd_bytes(&[b"HGETALL", k]));
        let mut a: Vec<_> = got.chunks(2).map(|p| p.to_vec()).collect();
        let mut b: Vec<_> = m
            .pairs
            .iter()
            .map(|(f, v)| vec![f.clone(), v.clone()])
            .collect();
        a.sort();
        b.sort();
        assert_eq!(
            a,
            b,
            "seed {seed}: {} after restart",
            String::from_utf8_lossy(k)
        );
    }
}
