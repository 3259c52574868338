//! Memory accounting: INFO `used_memory` comes from the counting allocator (it rises with
//! the data and falls back after FLUSHALL, unlike RSS), and MEMORY USAGE of a key agrees
//! with what loading such keys actually cost.

mod common;

use common::{Client, Server};

fn used_memory(c: &mut Client) -> i64 {
    let info = c.cmd("INFO memory");
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .expect("used_memory")
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn used_memory_counts_allocations_and_memory_usage_agrees() {
    let srv = Server::start(&["--appendonly", "no"]);
    let mut c = srv.connect();
    let before = used_memory(&mut c);
    const N: i64 = 50_000;
    let mut batch = Vec::new();
    for i in 0..N {
        let name = format!("user{i}");
        let email = format!("user{i}@example.com");
        let fields: Vec<&[u8]> = vec![
            b"HSET",
            b"",
            b"name",
            name.as_bytes(),
            b"email",
            email.as_bytes(),
            b"age",
            b"31",
            b"city",
            b"Paris",
            b"plan",
            b"free",
        ];
        let key = format!("user:{i}");
        let mut args = fields.clone();
        args[1] = key.as_bytes();
        batch.extend_from_slice(&Client::encode(&args));
        if i % 1000 == 999 {
            c.send_raw(&batch);
            batch.clear();
            for _ in 0..1000 {
                c.read_reply();
            }
        }
    }
    let after = used_memory(&mut c);
    let per_key = (after - before) / N;
    eprintln!("used_memory {before} -> {after}: {per_key} bytes per key");
    // Five short fields: tens of bytes of strings plus per-key overhead. Far below the
    // RSS-based figure of a process that also holds buffers, far above zero.
    assert!((60..400).contains(&per_key), "{per_key} bytes per key");
    let usage: i64 = c.cmd("MEMORY USAGE user:123")[1..].trim().parse().unwrap();
    assert!(
        usage * 2 > per_key && usage < per_key * 2,
        "MEMORY USAGE says {usage}, loading cost {per_key} per key"
    );
    assert_eq!(c.cmd("FLUSHALL"), "+OK\r\n");
    let flushed = used_memory(&mut c);
    assert!(
        flushed - before < (after - before) / 10,
        "before {before}, loaded {after}, after FLUSHALL {flushed}"
    );
}
