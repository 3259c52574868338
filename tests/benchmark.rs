//! redis-benchmark against ferrokv: the acceptance commands must run without a single
//! error (redis-benchmark itself sends CONFIG GET save / appendonly first). Speed is not
//! checked here; scripts/bench-vs-redis measures it beside redis-server.

mod common;

use std::process::Command;

fn run_benchmark(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-benchmark")
        .args(["-p", &port.to_string(), "-q"])
        .args(args)
        .output()
        .expect("run redis-benchmark");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "redis-benchmark failed: {text}");
    text
}

#[test]
fn redis_benchmark_runs_without_errors() {
    if common::which("redis-benchmark").is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "redis-benchmark missing: run scripts/setup-test-deps first"
        );
        eprintln!("SKIPPED: redis-benchmark not found");
        return;
    }
    let s = common::Server::start(&[]);
    let text = run_benchmark(
        s.port,
        &["-n", "20000", "-t", "ping,set,get,incr,hset,mset"],
    );
    let text2 = run_benchmark(
        s.port,
        &["-n", "20000", "-r", "10000", "hget", "h:__rand_int__", "f"],
    );
    for t in [&text, &text2] {
        assert!(!t.to_lowercase().contains("error"), "{t}");
    }
    // PING_INLINE, PING_MBULK, SET, GET, INCR, HSET, MSET, then the HGET run.
    let finished = |t: &str| {
        t.split(['\r', '\n'])
            .filter(|l| l.contains("requests per second"))
            .count()
    };
    assert_eq!(finished(&text), 7, "{text}");
    assert_eq!(finished(&text2), 1, "{text2}");
    let mut c = s.connect();
    // The HSET test writes field "element:__rand_int__" of key "myhash".
    assert_eq!(c.cmd("HLEN myhash"), ":1\r\n");
    assert_eq!(c.cmd("GET counter:__rand_int__"), "$5\r\n20000\r\n");
}
