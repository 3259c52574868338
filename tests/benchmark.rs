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

/// False (after saying so) where redis-benchmark is missing; CI must have it.
fn have_benchmark() -> bool {
    if common::which("redis-benchmark").is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "redis-benchmark missing: run scripts/setup-test-deps first"
        );
        eprintln!("SKIPPED: redis-benchmark not found");
        return false;
    }
    true
}

/// Lines of redis-benchmark -q output that report a finished test.
fn finished(t: &str) -> Vec<&str> {
    t.split(['\r', '\n'])
        .filter(|l| l.contains("requests per second"))
        .collect()
}

/// The default suite (no -t), the way people compare servers, in a short form, without
/// and with pipelining: every one of its 20 tests finishes without an error.
#[test]
fn default_suite_completes() {
    if !have_benchmark() {
        return;
    }
    let s = common::Server::start(&[]);
    for pipeline in ["1", "16"] {
        let text = run_benchmark(s.port, &["-n", "2000", "-P", pipeline]);
        assert!(!text.to_lowercase().contains("error"), "{text}");
        let done = finished(&text);
        assert_eq!(done.len(), 20, "-P {pipeline}: {text}");
        for name in [
            "LPUSH",
            "LPOP",
            "SADD",
            "SPOP",
            "ZADD",
            "ZPOPMIN",
            "LRANGE_600",
            "MSET",
        ] {
            assert!(
                done.iter().any(|l| l.starts_with(name)),
                "-P {pipeline}: no {name} in {done:?}"
            );
        }
    }
    let mut c = s.connect();
    // LRANGE_600 reads the first 600 elements of the list the LPUSH runs built.
    assert!(c.cmd("LRANGE mylist 0 599").starts_with("*600\r\n"));
    assert_eq!(c.cmd("TYPE mylist"), "+list\r\n");
}

#[test]
fn redis_benchmark_runs_without_errors() {
    if !have_benchmark() {
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
    assert_eq!(finished(&text).len(), 7, "{text}");
    assert_eq!(finished(&text2).len(), 1, "{text2}");
    let mut c = s.connect();
    // The HSET test writes field "element:__rand_int__" of key "myhash".
    assert_eq!(c.cmd("HLEN myhash"), ":1\r\n");
    assert_eq!(c.cmd("GET counter:__rand_int__"), "$5\r\n20000\r\n");
}
