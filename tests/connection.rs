//! Integration tests for transactions, connection, CLIENT, INFO, CONFIG, COMMAND and
//! miscellaneous server commands. Expected bytes were verified against redis-server 7.0.15
//! (and Redis 7.2 documentation for 7.2+ features).

mod common;

use common::{Client, Server};
use std::cell::RefCell;
use std::time::Duration;

// Soft assertions: every mismatch is recorded (and printed at once) so that one run
// reports all differences; `finish()` at the end of each test fails it if any occurred.
thread_local! {
    static FAILS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn fail(msg: String) {
    eprintln!("MISMATCH {msg}");
    FAILS.with(|f| f.borrow_mut().push(msg));
}

fn finish() {
    let fails = FAILS.with(|f| std::mem::take(&mut *f.borrow_mut()));
    if !fails.is_empty() {
        panic!("{} mismatch(es):\n{}", fails.len(), fails.join("\n"));
    }
}

macro_rules! ceq {
    ($l:expr, $r:expr $(,)?) => {{
        let l = &$l;
        let r = &$r;
        if *l != *r {
            fail(format!(
                "line {}: {}\n    ferrokv:  {:?}\n    expected: {:?}",
                line!(),
                stringify!($l),
                l,
                r
            ));
        }
    }};
    ($l:expr, $r:expr, $($arg:tt)+) => {{
        let l = &$l;
        let r = &$r;
        if *l != *r {
            fail(format!(
                "line {}: {}\n    ferrokv:  {:?}\n    expected: {:?} ({})",
                line!(),
                stringify!($l),
                l,
                r,
                format!($($arg)+)
            ));
        }
    }};
}

macro_rules! cok {
    ($c:expr $(,)?) => {{
        if !$c {
            fail(format!("line {}: {}", line!(), stringify!($c)));
        }
    }};
    ($c:expr, $($arg:tt)+) => {{
        if !$c {
            fail(format!("line {}: {}: {}", line!(), stringify!($c), format!($($arg)+)));
        }
    }};
}

fn s(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

#[test]
fn transactions() {
    let server = Server::start(&[]);
    let mut a = server.connect();
    let mut b = server.connect();

    // Basic MULTI/EXEC.
    ceq!(a.cmd("MULTI"), "+OK\r\n");
    ceq!(a.cmd("SET a 1"), "+QUEUED\r\n");
    ceq!(a.cmd("INCR a"), "+QUEUED\r\n");
    ceq!(a.cmd("EXEC"), "*2\r\n+OK\r\n:2\r\n");

    // Empty transaction.
    ceq!(a.cmd("MULTI"), "+OK\r\n");
    ceq!(a.cmd("EXEC"), "*0\r\n");

    // DISCARD drops queued commands.
    ceq!(a.cmd("MULTI"), "+OK\r\n");
    ceq!(a.cmd("SET k v"), "+QUEUED\r\n");
    ceq!(a.cmd("DISCARD"), "+OK\r\n");
    ceq!(a.cmd("GET k"), "$-1\r\n");

    // EXEC / DISCARD without MULTI.
    ceq!(a.cmd("EXEC"), "-ERR EXEC without MULTI\r\n");
    ceq!(a.cmd("DISCARD"), "-ERR DISCARD without MULTI\r\n");

    // Nested MULTI, WATCH inside MULTI, queue-time errors -> EXECABORT.
    ceq!(a.cmd("MULTI"), "+OK\r\n");
    ceq!(a.cmd("MULTI"), "-ERR MULTI calls can not be nested\r\n");
    ceq!(
        a.cmd("WATCH x"),
        "-ERR WATCH inside MULTI is not allowed\r\n"
    );
    ceq!(
        a.cmd("SET b"),
        "-ERR wrong number of arguments for 'set' command\r\n"
    );
    ceq!(
        a.cmd("FOO"),
        "-ERR unknown command 'FOO', with args beginning with: \r\n"
    );
    ceq!(
        a.cmd("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    // The transaction is gone afterwards.
    ceq!(a.cmd("EXEC"), "-ERR EXEC without MULTI\r\n");
    ceq!(a.cmd("GET b"), "$-1\r\n");

    // Runtime errors inside EXEC are array elements; the other commands run.
    ceq!(a.cmd("MULTI"), "+OK\r\n");
    ceq!(a.cmd("SET s x"), "+QUEUED\r\n");
    ceq!(a.cmd("HSET s f v"), "+QUEUED\r\n");
    ceq!(a.cmd("INCR s"), "+QUEUED\r\n");
    ceq!(a.cmd("SET t y"), "+QUEUED\r\n");
    ceq!(
        a.cmd("EXEC"),
        "*4\r\n+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n\
         -ERR value is not an integer or out of range\r\n+OK\r\n"
    );
    ceq!(a.cmd("GET t"), "$1\r\ny\r\n");

    // WATCH + another client's write -> null array (RESP2).
    ceq!(a.cmd("WATCH w"), "+OK\r\n");
    ceq!(b.cmd("SET w 1"), "+OK\r\n");
    ceq!(a.cmd("MULTI"), "+OK\r\n");
    ceq!(a.cmd("SET x 1"), "+QUEUED\r\n");
    ceq!(a.cmd("EXEC"), "*-1\r\n");
    ceq!(a.cmd("GET x"), "$-1\r\n");

    // WATCH with no change -> EXEC runs.
    ceq!(a.cmd("WATCH w"), "+OK\r\n");
    ceq!(a.cmd("MULTI"), "+OK\r\n");
    ceq!(a.cmd("GET w"), "+QUEUED\r\n");
    ceq!(a.cmd("EXEC"), "*1\r\n$1\r\n1\r\n");

    // UNWATCH forgets the watched keys.
    ceq!(a.cmd("WATCH w"), "+OK\r\n");
    ceq!(a.cmd("UNWATCH"), "+OK\r\n");
    ceq!(b.cmd("SET w 3"), "+OK\r\n");
    ceq!(a.cmd("MULTI"), "+OK\r\n");
    ceq!(a.cmd("GET w"), "+QUEUED\r\n");
    ceq!(a.cmd("EXEC"), "*1\r\n$1\r\n3\r\n");

    // FLUSHDB by another client invalidates a WATCH on an existing key.
    ceq!(a.cmd("WATCH w"), "+OK\r\n");
    ceq!(b.cmd("FLUSHDB"), "+OK\r\n");
    ceq!(a.cmd("MULTI"), "+OK\r\n");
    ceq!(a.cmd("GET w"), "+QUEUED\r\n");
    ceq!(a.cmd("EXEC"), "*-1\r\n");

    // Every key a command's key specs name (MSET's every other argument)
    // and a COPY destination in another database invalidate WATCH too.
    ceq!(a.cmd("SELECT 2"), "+OK\r\n");
    ceq!(a.cmd("WATCH w2"), "+OK\r\n");
    ceq!(b.cmd("SET src v"), "+OK\r\n");
    ceq!(b.cmd("COPY src w2 DB 2"), ":1\r\n");
    ceq!(a.cmd("MULTI"), "+OK\r\n");
    ceq!(a.cmd("GET w2"), "+QUEUED\r\n");
    ceq!(a.cmd("EXEC"), "*-1\r\n");
    ceq!(a.cmd("SELECT 0"), "+OK\r\n");
    ceq!(a.cmd("WATCH m2"), "+OK\r\n");
    ceq!(b.cmd("MSET m1 1 m2 2"), "+OK\r\n");
    ceq!(a.cmd("MULTI"), "+OK\r\n");
    ceq!(a.cmd("GET m2"), "+QUEUED\r\n");
    ceq!(a.cmd("EXEC"), "*-1\r\n");

    // In RESP3 an aborted EXEC is a null.
    cok!(a.cmd("HELLO 3").starts_with("%7\r\n"));
    ceq!(a.cmd("WATCH w"), "+OK\r\n");
    ceq!(b.cmd("SET w 2"), "+OK\r\n");
    ceq!(a.cmd("MULTI"), "+OK\r\n");
    ceq!(a.cmd("SET x 1"), "+QUEUED\r\n");
    ceq!(a.cmd("EXEC"), "_\r\n");
    finish();
}

fn hello_bytes(proto: i64, id: i64) -> String {
    let head = if proto == 3 { "%7" } else { "*14" };
    format!(
        "{head}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n\
         $5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
         $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    )
}

fn int_reply(r: &str) -> i64 {
    cok!(
        r.starts_with(':') && r.ends_with("\r\n"),
        "not an integer: {r:?}"
    );
    r[1..r.len() - 2].parse().unwrap()
}

#[test]
fn connection_commands() {
    let server = Server::start(&[]);
    let mut c = server.connect();

    ceq!(c.cmd("PING"), "+PONG\r\n");
    ceq!(c.cmd("PING hello"), "$5\r\nhello\r\n");
    ceq!(
        c.cmd("PING a b"),
        "-ERR wrong number of arguments for 'ping' command\r\n"
    );
    ceq!(c.cmd("ECHO hi"), "$2\r\nhi\r\n");
    ceq!(
        c.cmd("ECHO"),
        "-ERR wrong number of arguments for 'echo' command\r\n"
    );
    ceq!(
        c.cmd("ECHO a b"),
        "-ERR wrong number of arguments for 'echo' command\r\n"
    );

    // SELECT persists per connection.
    let mut other = server.connect();
    ceq!(c.cmd("SELECT 3"), "+OK\r\n");
    ceq!(c.cmd("SET k v"), "+OK\r\n");
    ceq!(c.cmd("GET k"), "$1\r\nv\r\n");
    ceq!(other.cmd("GET k"), "$-1\r\n");
    ceq!(other.cmd("SELECT 3"), "+OK\r\n");
    ceq!(other.cmd("GET k"), "$1\r\nv\r\n");
    ceq!(c.cmd("SELECT 0"), "+OK\r\n");
    ceq!(c.cmd("GET k"), "$-1\r\n");
    ceq!(other.cmd("GET k"), "$1\r\nv\r\n");
    ceq!(c.cmd("SELECT 16"), "-ERR DB index is out of range\r\n");
    ceq!(
        c.cmd("SELECT x"),
        "-ERR value is not an integer or out of range\r\n"
    );

    // HELLO.
    let id = int_reply(&c.cmd("CLIENT ID"));
    ceq!(c.cmd("HELLO"), hello_bytes(2, id));
    ceq!(
        c.cmd("HELLO 4"),
        "-NOPROTO unsupported protocol version\r\n"
    );
    ceq!(
        c.cmd("HELLO 1"),
        "-NOPROTO unsupported protocol version\r\n"
    );
    ceq!(
        c.cmd("HELLO x"),
        "-ERR Protocol version is not an integer or out of range\r\n"
    );
    ceq!(
        c.cmd("HELLO 3 FOO"),
        "-ERR Syntax error in HELLO option 'FOO'\r\n"
    );
    ceq!(c.cmd("HELLO 3 SETNAME x"), hello_bytes(3, id));
    ceq!(c.cmd("CLIENT GETNAME"), "$1\r\nx\r\n");
    ceq!(c.cmd("GET nokey"), "_\r\n");
    ceq!(c.cmd("HELLO 2"), hello_bytes(2, id));
    ceq!(c.cmd("GET nokey"), "$-1\r\n");

    // AUTH without requirepass.
    ceq!(
        c.cmd("AUTH foo"),
        "-ERR AUTH <password> called without any password configured for the default user. \
         Are you sure your configuration is correct?\r\n"
    );
    ceq!(c.cmd("AUTH a b c"), "-ERR syntax error\r\n");

    // RESET: back to db 0, no name, RESP2.
    ceq!(c.cmd("SELECT 3"), "+OK\r\n");
    ceq!(c.cmd("HELLO 3 SETNAME y"), hello_bytes(3, id));
    ceq!(c.cmd("MULTI"), "+OK\r\n");
    ceq!(c.cmd("RESET"), "+RESET\r\n");
    ceq!(c.cmd("EXEC"), "-ERR EXEC without MULTI\r\n");
    ceq!(c.cmd("CLIENT GETNAME"), "$-1\r\n");
    ceq!(c.cmd("GET k"), "$-1\r\n");
    ceq!(c.cmd("SELECT 3"), "+OK\r\n");
    ceq!(c.cmd("GET k"), "$1\r\nv\r\n");

    // QUIT: +OK then the server closes the connection.
    c.send_raw(&Client::encode(&[b"QUIT"]));
    ceq!(s(c.read_to_close()), "+OK\r\n");
    // The server keeps serving others.
    ceq!(other.cmd("PING"), "+PONG\r\n");
    finish();
}

#[test]
fn auth_with_requirepass() {
    let server = Server::start(&["--requirepass", "secret"]);
    let mut c = server.connect();
    let noauth = "-NOAUTH Authentication required.\r\n";
    let wrongpass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    ceq!(c.cmd("PING"), noauth);
    ceq!(c.cmd("GET k"), noauth);
    ceq!(c.cmd("CLIENT ID"), noauth);
    ceq!(c.cmd("MULTI"), noauth);
    // Redis checks the command, its subcommand and its arity before authentication.
    ceq!(
        c.cmd("GET"),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    ceq!(
        c.cmd("CONFIG FOO"),
        "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n"
    );
    cok!(c.cmd("NOSUCH").starts_with("-ERR unknown command 'NOSUCH'"));
    // Redis 7.0.15 text; only the stable prefix is checked.
    cok!(
        c.cmd("HELLO 3")
            .starts_with("-NOAUTH HELLO must be called with the client already authenticated")
    );
    ceq!(c.cmd("AUTH wrong"), wrongpass);
    ceq!(c.cmd("AUTH default wrong"), wrongpass);
    ceq!(c.cmd("AUTH bob secret"), wrongpass);
    ceq!(c.cmd("PING"), noauth);
    ceq!(c.cmd("AUTH secret"), "+OK\r\n");
    ceq!(c.cmd("PING"), "+PONG\r\n");
    ceq!(c.cmd("AUTH default secret"), "+OK\r\n");
    ceq!(c.cmd("SET k v"), "+OK\r\n");
    // RESET de-authenticates.
    ceq!(c.cmd("RESET"), "+RESET\r\n");
    ceq!(c.cmd("PING"), noauth);
    // QUIT is allowed unauthenticated.
    c.send_raw(&Client::encode(&[b"QUIT"]));
    ceq!(s(c.read_to_close()), "+OK\r\n");

    let mut d = server.connect();
    ceq!(d.cmd("AUTH default secret"), "+OK\r\n");
    ceq!(d.cmd("GET k"), "$1\r\nv\r\n");

    let mut e = server.connect();
    ceq!(e.cmd("HELLO 3 AUTH default bad"), wrongpass);
    ceq!(e.cmd("PING"), noauth);
    let r = e.cmd("HELLO 3 AUTH default secret");
    cok!(
        r.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"),
        "{r:?}"
    );
    cok!(r.contains("$5\r\nproto\r\n:3\r\n"), "{r:?}");
    ceq!(e.cmd("PING"), "+PONG\r\n");
    ceq!(e.cmd("GET k"), "$1\r\nv\r\n");
    finish();
}

/// Bulk (RESP2) or verbatim (RESP3) string payload.
fn bulk_text(r: &str) -> String {
    let nl = r.find("\r\n").unwrap();
    let n: usize = r[1..nl].parse().unwrap();
    assert!(r.starts_with('$') || r.starts_with('='), "{r:?}");
    assert_eq!(r.len(), nl + 2 + n + 2, "{r:?}");
    r[nl + 2..nl + 2 + n].to_string()
}

#[test]
fn client_commands() {
    let server = Server::start(&[]);
    let mut a = server.connect();
    let mut b = server.connect();

    let ida = int_reply(&a.cmd("CLIENT ID"));
    let idb = int_reply(&b.cmd("CLIENT ID"));
    cok!(ida != idb);
    cok!(ida > 0 && idb > 0);
    ceq!(
        a.cmd("CLIENT ID x"),
        "-ERR wrong number of arguments for 'client|id' command\r\n"
    );

    ceq!(a.cmd("CLIENT GETNAME"), "$-1\r\n");
    ceq!(a.cmd("CLIENT SETNAME foo"), "+OK\r\n");
    ceq!(a.cmd("CLIENT GETNAME"), "$3\r\nfoo\r\n");
    ceq!(
        a.cmdv(&["CLIENT", "SETNAME", "a b"]),
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    ceq!(
        a.cmdv(&["CLIENT", "SETNAME", "a\nb"]),
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    ceq!(
        a.cmd("CLIENT SETNAME a b"),
        "-ERR wrong number of arguments for 'client|setname' command\r\n"
    );
    ceq!(
        a.cmd("CLIENT SETNAME"),
        "-ERR wrong number of arguments for 'client|setname' command\r\n"
    );
    ceq!(a.cmd("CLIENT GETNAME"), "$3\r\nfoo\r\n");
    // An empty name clears it.
    ceq!(a.cmdv(&["CLIENT", "SETNAME", ""]), "+OK\r\n");
    ceq!(a.cmd("CLIENT GETNAME"), "$-1\r\n");
    ceq!(a.cmd("CLIENT SETNAME foo"), "+OK\r\n");

    // CLIENT SETINFO (Redis 7.2).
    ceq!(a.cmd("CLIENT SETINFO lib-name mylib"), "+OK\r\n");
    ceq!(a.cmd("CLIENT SETINFO lib-ver 1.2.3"), "+OK\r\n");
    ceq!(a.cmd("CLIENT SETINFO LIB-NAME mylib"), "+OK\r\n");

    // CLIENT INFO: one line for this client.
    let info = bulk_text(&a.cmd("CLIENT INFO"));
    cok!(
        info.ends_with('\n') && info.matches('\n').count() == 1,
        "{info:?}"
    );
    cok!(
        info.starts_with(&format!("id={ida} addr=127.0.0.1:")),
        "{info:?}"
    );
    for f in [
        " laddr=127.0.0.1:",
        " name=foo ",
        " db=0 ",
        " cmd=client|info ",
        " lib-name=mylib",
        " lib-ver=1.2.3",
        " resp=2",
        " flags=N ",
        " user=default ",
    ] {
        cok!(info.contains(f), "CLIENT INFO lacks {f:?}: {info:?}");
    }

    // CLIENT LIST: one line per client.
    ceq!(b.cmd("SELECT 2"), "+OK\r\n");
    let list = bulk_text(&a.cmd("CLIENT LIST"));
    let lines: Vec<&str> = list.lines().collect();
    ceq!(lines.len(), 2, "{list:?}");
    for l in &lines {
        for f in ["id=", " addr=", " name=", " db=", " cmd="] {
            cok!(l.contains(f), "CLIENT LIST line lacks {f:?}: {l:?}");
        }
    }
    let la = lines
        .iter()
        .find(|l| l.starts_with(&format!("id={ida} ")))
        .unwrap();
    let lb = lines
        .iter()
        .find(|l| l.starts_with(&format!("id={idb} ")))
        .unwrap();
    cok!(
        la.contains(" name=foo ") && la.contains(" cmd=client|list "),
        "{la:?}"
    );
    cok!(
        la.contains(" lib-name=mylib") && la.contains(" lib-ver=1.2.3"),
        "{la:?}"
    );
    cok!(
        lb.contains(" name= ") && lb.contains(" db=2 ") && lb.contains(" cmd=select "),
        "{lb:?}"
    );

    // NO-EVICT.
    ceq!(a.cmd("CLIENT NO-EVICT on"), "+OK\r\n");
    ceq!(a.cmd("CLIENT NO-EVICT off"), "+OK\r\n");
    ceq!(a.cmd("CLIENT NO-EVICT maybe"), "-ERR syntax error\r\n");

    // Unknown subcommand / no subcommand.
    ceq!(
        a.cmd("CLIENT FOO"),
        "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"
    );
    ceq!(
        a.cmd("CLIENT"),
        "-ERR wrong number of arguments for 'client' command\r\n"
    );

    // KILL ID.
    ceq!(a.cmd("CLIENT KILL ID 999999"), ":0\r\n");
    ceq!(
        a.cmd("CLIENT KILL ID 0"),
        "-ERR client-id should be greater than 0\r\n"
    );
    ceq!(
        a.cmd("CLIENT KILL ID abc"),
        "-ERR client-id should be greater than 0\r\n"
    );
    ceq!(a.cmd(&format!("CLIENT KILL ID {idb}")), ":1\r\n");
    cok!(b.is_closed(), "killed client still open");

    // KILL ADDR (new style) and the old single-argument form.
    let mut d = server.connect();
    let addr = d.stream.local_addr().unwrap().to_string();
    ceq!(d.cmd("PING"), "+PONG\r\n");
    ceq!(a.cmd("CLIENT KILL ADDR 1.2.3.4:5"), ":0\r\n");
    ceq!(a.cmd(&format!("CLIENT KILL ADDR {addr}")), ":1\r\n");
    cok!(d.is_closed(), "killed client still open");
    let mut e = server.connect();
    let addr = e.stream.local_addr().unwrap().to_string();
    ceq!(e.cmd("PING"), "+PONG\r\n");
    ceq!(a.cmd("CLIENT KILL 1.2.3.4:5"), "-ERR No such client\r\n");
    ceq!(a.cmd(&format!("CLIENT KILL {addr}")), "+OK\r\n");
    cok!(e.is_closed(), "killed client still open");
    // A client killed is gone at once, even for the killer's next pipelined command.
    let mut f = server.connect();
    let idf = int_reply(&f.cmd("CLIENT ID")).to_string();
    a.send_raw(&Client::encode(&[
        b"CLIENT",
        b"KILL",
        b"ID",
        idf.as_bytes(),
    ]));
    a.send_raw(&Client::encode(&[b"INFO", b"clients"]));
    ceq!(s(a.read_reply()), ":1\r\n");
    let t = bulk_text(&s(a.read_reply()));
    ceq!(info_field(&t, "connected_clients"), Some("1"), "{t:?}");
    drop(f);
    ceq!(a.cmd("CLIENT KILL FOO bar"), "-ERR syntax error\r\n");

    // The killer is unaffected.
    ceq!(a.cmd("PING"), "+PONG\r\n");
    let list = bulk_text(&a.cmd("CLIENT LIST"));
    ceq!(list.lines().count(), 1, "{list:?}");

    // RESP3: CLIENT INFO / CLIENT LIST are verbatim strings.
    cok!(a.cmd("HELLO 3").starts_with("%7\r\n"));
    let r = a.cmd("CLIENT INFO");
    cok!(r.starts_with('='), "{r:?}");
    let t = bulk_text(&r);
    cok!(
        t.starts_with(&format!("txt:id={ida} ")) && t.contains(" resp=3"),
        "{t:?}"
    );
    let r = a.cmd("CLIENT LIST");
    cok!(bulk_text(&r).starts_with("txt:id="), "{r:?}");
    finish();
}

/// Section headers ("# Server", ...) of an INFO payload, in order.
fn info_sections(t: &str) -> Vec<String> {
    t.split("\r\n")
        .filter(|l| l.starts_with("# "))
        .map(|l| l[2..].to_string())
        .collect()
}

/// Checks the Redis INFO layout: `# Name\r\n` + `field:value\r\n` lines, sections joined
/// by an empty line, and the payload ends with exactly one `\r\n` after the last field.
fn check_info_layout(t: &str) {
    cok!(
        t.starts_with("# "),
        "INFO payload does not start with a section: {t:?}"
    );
    cok!(
        t.ends_with("\r\n") && !t.ends_with("\r\n\r\n"),
        "INFO payload end: {t:?}"
    );
    let body = t.strip_suffix("\r\n").unwrap_or(t);
    for (i, sec) in body.split("\r\n\r\n").enumerate() {
        let mut lines = sec.split("\r\n");
        let head = lines.next().unwrap_or("");
        cok!(head.starts_with("# "), "section {i} header {head:?}");
        for l in lines {
            cok!(
                l.contains(':') && !l.starts_with('#') && !l.is_empty(),
                "bad INFO line {l:?} in section {head:?}"
            );
        }
    }
}

fn info_field<'a>(t: &'a str, name: &str) -> Option<&'a str> {
    t.split("\r\n")
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
}

#[test]
fn info_sections_and_fields() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    let _other = server.connect();
    ceq!(c.cmd("CONFIG RESETSTAT"), "+OK\r\n");
    ceq!(c.cmd("HSET h f v"), ":1\r\n");
    ceq!(c.cmd("HGET h f"), "$1\r\nv\r\n");
    ceq!(c.cmd("GET nokey"), "$-1\r\n");

    // Default INFO: Redis's default sections, in order.
    let t = bulk_text(&c.cmd("INFO"));
    check_info_layout(&t);
    let secs = info_sections(&t);
    for want in [
        "Server",
        "Clients",
        "Memory",
        "Persistence",
        "Stats",
        "Replication",
        "Keyspace",
    ] {
        cok!(
            secs.iter().any(|s| s == want),
            "default INFO lacks # {want}: {secs:?}"
        );
    }
    cok!(
        !secs.iter().any(|s| s == "Commandstats"),
        "default INFO has Commandstats"
    );
    cok!(
        secs.first().map(|s| s.as_str()) == Some("Server"),
        "{secs:?}"
    );
    cok!(
        secs.last().map(|s| s.as_str()) == Some("Keyspace"),
        "{secs:?}"
    );
    cok!(
        t.contains("\r\n\r\n# Clients\r\n"),
        "sections not separated by a blank line"
    );

    // server
    let t = bulk_text(&c.cmd("INFO server"));
    check_info_layout(&t);
    ceq!(info_sections(&t), vec!["Server".to_string()]);
    cok!(t.starts_with("# Server\r\nredis_version:"), "{t:?}");
    ceq!(info_field(&t, "redis_version"), Some("7.0.15"));
    ceq!(info_field(&t, "redis_mode"), Some("standalone"));
    let pid = server.child.id().to_string();
    ceq!(info_field(&t, "process_id"), Some(pid.as_str()));
    let port = server.port.to_string();
    ceq!(info_field(&t, "tcp_port"), Some(port.as_str()));
    cok!(info_field(&t, "uptime_in_seconds").is_some(), "{t:?}");
    cok!(
        info_field(&t, "run_id").is_some_and(|r| r.len() == 40),
        "{t:?}"
    );
    // Section names are case-insensitive.
    let t2 = bulk_text(&c.cmd("INFO SERVER"));
    ceq!(info_sections(&t2), vec!["Server".to_string()]);

    // clients
    let t = bulk_text(&c.cmd("INFO clients"));
    check_info_layout(&t);
    cok!(
        t.starts_with("# Clients\r\nconnected_clients:2\r\n"),
        "{t:?}"
    );
    cok!(info_field(&t, "blocked_clients") == Some("0"), "{t:?}");
    cok!(info_field(&t, "maxclients").is_some(), "{t:?}");

    // memory
    let t = bulk_text(&c.cmd("INFO memory"));
    check_info_layout(&t);
    cok!(t.starts_with("# Memory\r\nused_memory:"), "{t:?}");
    for f in ["used_memory", "used_memory_rss", "used_memory_peak"] {
        cok!(
            info_field(&t, f).is_some_and(|v| v.parse::<u64>().is_ok()),
            "{f} missing or not a number: {t:?}"
        );
    }
    cok!(info_field(&t, "used_memory_human").is_some(), "{t:?}");
    cok!(info_field(&t, "maxmemory").is_some(), "{t:?}");

    // persistence
    let t = bulk_text(&c.cmd("INFO persistence"));
    check_info_layout(&t);
    cok!(t.starts_with("# Persistence\r\nloading:0\r\n"), "{t:?}");
    cok!(info_field(&t, "aof_enabled").is_some(), "{t:?}");
    cok!(
        info_field(&t, "rdb_bgsave_in_progress") == Some("0"),
        "{t:?}"
    );
    cok!(info_field(&t, "rdb_last_save_time").is_some(), "{t:?}");

    // stats: RESETSTAT, HSET, HGET, GET, then 6 INFOs above (the current one is not counted).
    let t = bulk_text(&c.cmd("INFO stats"));
    check_info_layout(&t);
    cok!(
        t.starts_with("# Stats\r\ntotal_connections_received:"),
        "{t:?}"
    );
    ceq!(info_field(&t, "total_commands_processed"), Some("10"));
    ceq!(info_field(&t, "keyspace_hits"), Some("1"));
    ceq!(info_field(&t, "keyspace_misses"), Some("1"));
    cok!(info_field(&t, "expired_keys").is_some(), "{t:?}");

    // replication
    let t = bulk_text(&c.cmd("INFO replication"));
    check_info_layout(&t);
    cok!(
        t.starts_with("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"),
        "{t:?}"
    );

    // keyspace: exact bytes.
    ceq!(
        c.cmd("INFO keyspace"),
        "$56\r\n# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0,subexpiry=0\r\n\r\n"
    );
    ceq!(c.cmd("SELECT 2"), "+OK\r\n");
    ceq!(c.cmd("SET x y"), "+OK\r\n");
    ceq!(
        c.cmd("INFO keyspace"),
        "$100\r\n# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0,subexpiry=0\r\ndb2:keys=1,expires=0,avg_ttl=0,subexpiry=0\r\n\r\n"
    );
    ceq!(c.cmd("FLUSHALL"), "+OK\r\n");
    ceq!(c.cmd("INFO keyspace"), "$12\r\n# Keyspace\r\n\r\n");
    ceq!(c.cmd("SELECT 0"), "+OK\r\n");
    ceq!(c.cmd("HSET h f v"), ":1\r\n");

    // Unknown section: empty bulk.
    ceq!(c.cmd("INFO nosuch"), "$0\r\n\r\n");

    // commandstats
    let t = bulk_text(&c.cmd("INFO commandstats"));
    check_info_layout(&t);
    cok!(t.starts_with("# Commandstats\r\ncmdstat_"), "{t:?}");
    cok!(t.contains("\r\ncmdstat_hset:calls=2,usec="), "{t:?}");
    cok!(t.contains("\r\ncmdstat_hget:calls=1,usec="), "{t:?}");
    cok!(t.contains("\r\ncmdstat_config|resetstat:calls=1,"), "{t:?}");
    let hset = t
        .split("\r\n")
        .find(|l| l.starts_with("cmdstat_hset:"))
        .unwrap_or("");
    cok!(
        hset.contains(",usec_per_call=") && hset.contains(",rejected_calls=0,failed_calls=0"),
        "{hset:?}"
    );

    // Several sections at once.
    let t = bulk_text(&c.cmd("INFO server clients"));
    check_info_layout(&t);
    ceq!(
        info_sections(&t),
        vec!["Server".to_string(), "Clients".to_string()]
    );

    // all / everything include Commandstats and the default sections.
    for arg in ["all", "everything"] {
        let t = bulk_text(&c.cmd(&format!("INFO {arg}")));
        check_info_layout(&t);
        let secs = info_sections(&t);
        for want in [
            "Server",
            "Clients",
            "Memory",
            "Stats",
            "Commandstats",
            "Keyspace",
        ] {
            cok!(
                secs.iter().any(|s| s == want),
                "INFO {arg} lacks # {want}: {secs:?}"
            );
        }
        cok!(t.contains("cmdstat_hset:calls="), "INFO {arg}");
        cok!(t.contains("db0:keys=1,expires=0"), "INFO {arg}");
    }

    // RESP3: INFO is a verbatim string.
    cok!(c.cmd("HELLO 3").starts_with("%7\r\n"));
    ceq!(
        c.cmd("INFO keyspace"),
        "=60\r\ntxt:# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0,subexpiry=0\r\n\r\n"
    );
    finish();
}

/// A parsed RESP2/RESP3 value (enough for structural checks).
#[derive(Debug, Clone, PartialEq)]
enum V {
    Simple(String),
    Err(String),
    Int(i64),
    Bulk(String),
    Verbatim(String),
    NullBulk,
    Null,
    Arr(Vec<V>),
    NullArr,
    Map(Vec<(V, V)>),
    Set(Vec<V>),
    Other(String),
}

impl V {
    fn text(&self) -> &str {
        match self {
            V::Simple(s) | V::Bulk(s) | V::Verbatim(s) => s,
            _ => "",
        }
    }
    /// Key/value pairs of a map, or of a flat RESP2 array of alternating items.
    fn pairs(&self) -> Vec<(V, V)> {
        match self {
            V::Map(m) => m.clone(),
            V::Arr(a) => a.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect(),
            _ => vec![],
        }
    }
    fn get(&self, key: &str) -> Option<V> {
        self.pairs()
            .into_iter()
            .find(|(k, _)| k.text() == key)
            .map(|(_, v)| v)
    }
}

fn parse(b: &str) -> V {
    let (v, n) = parse_at(b.as_bytes());
    assert_eq!(n, b.len(), "trailing bytes in {b:?}");
    v
}

fn parse_at(b: &[u8]) -> (V, usize) {
    let end = b.windows(2).position(|w| w == b"\r\n").unwrap();
    let line = String::from_utf8_lossy(&b[1..end]).into_owned();
    let after = end + 2;
    let bulk = |n: usize| String::from_utf8_lossy(&b[after..after + n]).into_owned();
    let agg = |n: usize| {
        let mut pos = after;
        let mut items = vec![];
        for _ in 0..n {
            let (v, l) = parse_at(&b[pos..]);
            items.push(v);
            pos += l;
        }
        (items, pos)
    };
    match b[0] {
        b'+' => (V::Simple(line), after),
        b'-' => (V::Err(line), after),
        b':' => (V::Int(line.parse().unwrap()), after),
        b'_' => (V::Null, after),
        b'$' | b'=' => {
            let n: i64 = line.parse().unwrap();
            if n < 0 {
                return (V::NullBulk, after);
            }
            let s = bulk(n as usize);
            let v = if b[0] == b'$' {
                V::Bulk(s)
            } else {
                V::Verbatim(s)
            };
            (v, after + n as usize + 2)
        }
        b'*' | b'~' | b'>' => {
            let n: i64 = line.parse().unwrap();
            if n < 0 {
                return (V::NullArr, after);
            }
            let (items, pos) = agg(n as usize);
            (
                if b[0] == b'~' {
                    V::Set(items)
                } else {
                    V::Arr(items)
                },
                pos,
            )
        }
        b'%' | b'|' => {
            let n: usize = line.parse().unwrap();
            let (items, pos) = agg(2 * n);
            let m = items
                .chunks(2)
                .map(|c| (c[0].clone(), c[1].clone()))
                .collect();
            (V::Map(m), pos)
        }
        _ => (V::Other(line), after),
    }
}

/// CONFIG GET reply as a sorted list of (name, value).
fn config_pairs(r: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = parse(r)
        .pairs()
        .into_iter()
        .map(|(k, v)| (k.text().to_string(), v.text().to_string()))
        .collect();
    v.sort();
    v
}

fn pairs_of(items: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn config_commands() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    let port = server.port.to_string();

    // Globs (Redis returns pairs in hash order, so compare as sets). Redis 7.2's
    // set-max-listpack-entries is there too (Redis 7.0 lacks it).
    let r = c.cmd("CONFIG GET *max-*-entries*");
    cok!(r.starts_with("*12\r\n"), "{r:?}");
    ceq!(
        config_pairs(&r),
        pairs_of(&[
            ("zset-max-listpack-entries", "128"),
            ("set-max-intset-entries", "512"),
            ("set-max-listpack-entries", "128"),
            ("hash-max-listpack-entries", "512"),
            ("hash-max-ziplist-entries", "512"),
            ("zset-max-ziplist-entries", "128"),
        ])
    );
    // Several patterns at once.
    let r = c.cmd("CONFIG GET port databases");
    cok!(r.starts_with("*4\r\n"), "{r:?}");
    ceq!(
        config_pairs(&r),
        pairs_of(&[("port", &port), ("databases", "16")])
    );
    let r = c.cmd("CONFIG GET hash-max-listpack-entries hash-max-ziplist-entries");
    ceq!(
        config_pairs(&r),
        pairs_of(&[
            ("hash-max-listpack-entries", "512"),
            ("hash-max-ziplist-entries", "512")
        ])
    );
    ceq!(
        c.cmd("CONFIG GET port"),
        format!("*2\r\n$4\r\nport\r\n${}\r\n{port}\r\n", port.len())
    );
    ceq!(c.cmd("CONFIG GET nosuch"), "*0\r\n");
    ceq!(
        c.cmd("CONFIG GET"),
        "-ERR wrong number of arguments for 'config|get' command\r\n"
    );

    // CONFIG GET * returns many pairs.
    let all = config_pairs(&c.cmd("CONFIG GET *"));
    cok!(all.len() >= 20, "only {} pairs", all.len());
    let get = |k: &str| all.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    ceq!(get("save"), Some(String::new()));
    ceq!(get("appendonly"), Some("yes".to_string()));
    ceq!(get("port"), Some(port.clone()));
    ceq!(get("databases"), Some("16".to_string()));
    ceq!(get("hash-max-listpack-entries"), Some("512".to_string()));
    ceq!(get("hash-max-ziplist-entries"), Some("512".to_string()));
    cok!(get("hash-max-listpack-value").is_some());
    cok!(get("maxmemory").is_some());
    cok!(get("dir").is_some());

    // SET of several parameters at once.
    ceq!(
        c.cmd("CONFIG SET hash-max-listpack-entries 2 hash-max-listpack-value 32"),
        "+OK\r\n"
    );
    ceq!(
        config_pairs(&c.cmd("CONFIG GET hash-max-*")),
        pairs_of(&[
            ("hash-max-ziplist-entries", "2"),
            ("hash-max-listpack-entries", "2"),
            ("hash-max-ziplist-value", "32"),
            ("hash-max-listpack-value", "32"),
        ])
    );
    // The new limit converts a 3-field hash.
    ceq!(c.cmd("HSET small a 1 b 2"), ":2\r\n");
    ceq!(c.cmd("OBJECT ENCODING small"), "$8\r\nlistpack\r\n");
    ceq!(c.cmd("HSET h3 a 1 b 2 c 3"), ":3\r\n");
    ceq!(c.cmd("OBJECT ENCODING h3"), "$9\r\nhashtable\r\n");
    ceq!(c.cmd("HSET small c 3"), ":1\r\n");
    ceq!(c.cmd("OBJECT ENCODING small"), "$9\r\nhashtable\r\n");
    ceq!(c.cmd("CONFIG SET hash-max-listpack-entries 512"), "+OK\r\n");

    // Bad values / unknown params: exact Redis texts.
    ceq!(
        c.cmd("CONFIG SET hash-max-listpack-entries abc"),
        "-ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - \
         argument couldn't be parsed into an integer\r\n"
    );
    ceq!(
        c.cmd("CONFIG SET hash-max-listpack-entries -1"),
        "-ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - \
         argument must be between 0 and 9223372036854775807 inclusive\r\n"
    );
    ceq!(
        c.cmd("CONFIG SET appendonly maybe"),
        "-ERR CONFIG SET failed (possibly related to argument 'appendonly') - \
         argument must be 'yes' or 'no'\r\n"
    );
    ceq!(
        c.cmd("CONFIG SET maxmemory 1x"),
        "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - \
         argument must be a memory value\r\n"
    );
    ceq!(
        c.cmd("CONFIG SET databases 20"),
        "-ERR CONFIG SET failed (possibly related to argument 'databases') - \
         can't set immutable config\r\n"
    );
    ceq!(
        c.cmd("CONFIG SET hash-max-listpack-entries 3 hash-max-listpack-entries 4"),
        "-ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - \
         duplicate parameter\r\n"
    );
    ceq!(
        c.cmd("CONFIG SET foo bar"),
        "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"
    );
    ceq!(
        c.cmd("CONFIG SET hash-max-listpack-entries"),
        "-ERR wrong number of arguments for 'config|set' command\r\n"
    );
    ceq!(
        c.cmd("CONFIG FOO"),
        "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n"
    );
    // A failed multi-SET changes nothing.
    ceq!(
        c.cmd("CONFIG SET hash-max-listpack-value 10 foo bar"),
        "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"
    );
    ceq!(
        c.cmd("CONFIG GET hash-max-listpack-value"),
        "*2\r\n$23\r\nhash-max-listpack-value\r\n$2\r\n32\r\n"
    );
    ceq!(c.cmd("CONFIG SET maxmemory 1mb"), "+OK\r\n");
    ceq!(
        c.cmd("CONFIG GET maxmemory"),
        "*2\r\n$9\r\nmaxmemory\r\n$7\r\n1048576\r\n"
    );
    ceq!(c.cmd("CONFIG SET maxmemory 0"), "+OK\r\n");

    // RESETSTAT clears commandstats.
    ceq!(c.cmd("HGET h3 a"), "$1\r\n1\r\n");
    let t = bulk_text(&c.cmd("INFO commandstats"));
    cok!(t.contains("cmdstat_hset:calls=3,"), "{t:?}");
    ceq!(c.cmd("CONFIG RESETSTAT"), "+OK\r\n");
    let t = bulk_text(&c.cmd("INFO commandstats"));
    cok!(
        !t.contains("cmdstat_hset") && !t.contains("cmdstat_hget"),
        "{t:?}"
    );
    cok!(t.starts_with("# Commandstats\r\n"), "{t:?}");
    let t = bulk_text(&c.cmd("INFO stats"));
    ceq!(info_field(&t, "total_commands_processed"), Some("2"));

    // RESP3: CONFIG GET is a map.
    cok!(c.cmd("HELLO 3").starts_with("%7\r\n"));
    ceq!(
        c.cmd("CONFIG GET port"),
        format!("%1\r\n$4\r\nport\r\n${}\r\n{port}\r\n", port.len())
    );
    ceq!(c.cmd("CONFIG GET nosuch"), "%0\r\n");
    ceq!(c.cmd("CONFIG GET save"), "%1\r\n$4\r\nsave\r\n$0\r\n\r\n");
    let r = c.cmd("CONFIG GET *max-*-entries*");
    cok!(r.starts_with("%6\r\n"), "{r:?}");
    finish();
}

#[test]
fn command_introspection() {
    let server = Server::start(&[]);
    let mut c = server.connect();

    let count = int_reply(&c.cmd("COMMAND COUNT"));
    cok!(count > 20, "COMMAND COUNT = {count}");
    ceq!(
        c.cmd("COMMAND COUNT x"),
        "-ERR wrong number of arguments for 'command|count' command\r\n"
    );
    // COMMAND with no arguments: one entry per top-level command.
    match parse(&c.cmd("COMMAND")) {
        V::Arr(a) => ceq!(a.len() as i64, count),
        other => fail(format!("COMMAND: {other:?}")),
    }

    // COMMAND INFO hset: the first seven fields exactly as Redis 7.0.
    let hset_head = "*1\r\n*10\r\n$4\r\nhset\r\n:-4\r\n*3\r\n+write\r\n+denyoom\r\n+fast\r\n\
                     :1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n+@hash\r\n+@fast\r\n";
    let r = c.cmd("COMMAND INFO hset");
    cok!(r.starts_with(hset_head), "{r:?}");
    // And the whole reply (tips, key specs, subcommands) as Redis 7.0.15 sends it.
    ceq!(
        r,
        format!(
            "{hset_head}*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RW\r\n+update\r\n\
             $12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n\
             *2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
             $4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
        )
    );
    ceq!(c.cmd("COMMAND INFO HSET"), r);
    if let V::Arr(a) = parse(&r)
        && let Some(V::Arr(e)) = a.first()
    {
        ceq!(e.get(1), Some(&V::Int(-4)));
        cok!(
            matches!(e.get(2), Some(V::Arr(f)) if f.contains(&V::Simple("write".into()))),
            "flags {:?}",
            e.get(2)
        );
    }
    ceq!(c.cmd("COMMAND INFO nosuch"), "*1\r\n$-1\r\n");
    let r = c.cmd("COMMAND INFO get nosuch");
    cok!(
        r.starts_with("*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n"),
        "{r:?}"
    );
    cok!(r.ends_with("\r\n$-1\r\n"), "{r:?}");

    // COMMAND DOCS hget: ferrokv writes its own summaries and gives no `complexity`, so
    // only the argument specification (what redis-cli's hints use) must equal Redis 7.0.15's.
    let args_tail = "$9\r\narguments\r\n*2\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n\
                $14\r\nkey_spec_index\r\n:0\r\n*4\r\n$4\r\nname\r\n$5\r\nfield\r\n$4\r\ntype\r\n$6\r\nstring\r\n";
    let r = c.cmd("COMMAND DOCS hget");
    cok!(r.starts_with("*2\r\n$4\r\nhget\r\n"), "{r:?}");
    cok!(r.ends_with(args_tail), "{r:?}");
    for k in ["summary", "since", "group"] {
        cok!(r.contains(&format!("\r\n{k}\r\n")), "DOCS lacks {k}: {r:?}");
    }
    let d = parse(&r).get("hget");
    cok!(d.as_ref().and_then(|d| d.get("summary")).is_some(), "{r:?}");
    cok!(
        matches!(d.as_ref().and_then(|d| d.get("arguments")), Some(V::Arr(a)) if a.len() == 2),
        "{r:?}"
    );
    ceq!(c.cmd("COMMAND DOCS nosuch"), "*0\r\n");

    // COMMAND LIST / GETKEYS / unknown subcommand.
    let r = c.cmd("COMMAND LIST");
    match parse(&r) {
        V::Arr(a) => {
            for want in ["hset", "hget", "get", "config|get"] {
                cok!(
                    a.contains(&V::Bulk(want.into())),
                    "COMMAND LIST lacks {want}"
                );
            }
        }
        other => fail(format!("COMMAND LIST: {other:?}")),
    }
    let r = c.cmd("COMMAND LIST FILTERBY pattern hs*");
    let mut names: Vec<String> = match parse(&r) {
        V::Arr(a) => a.iter().map(|v| v.text().to_string()).collect(),
        _ => vec![],
    };
    names.sort();
    ceq!(names, vec!["hscan", "hset", "hsetex", "hsetnx", "hstrlen"]);
    ceq!(c.cmd("COMMAND GETKEYS hset k f v"), "*1\r\n$1\r\nk\r\n");
    ceq!(
        c.cmd("COMMAND FOO"),
        "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n"
    );

    // RESP3 forms.
    cok!(c.cmd("HELLO 3").starts_with("%7\r\n"));
    ceq!(c.cmd("COMMAND INFO nosuch"), "*1\r\n_\r\n");
    let r = c.cmd("COMMAND DOCS hget");
    cok!(r.starts_with("%1\r\n$4\r\nhget\r\n%4\r\n"), "{r:?}");
    cok!(
        r.ends_with(
            "$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n\
             $14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nfield\r\n$4\r\ntype\r\n$6\r\nstring\r\n"
        ),
        "{r:?}"
    );
    finish();
}

/// Checks a MONITOR line: `+<secs>.<6 digits> [<db> 127.0.0.1:<port>] <args>\r\n`.
fn monitor_line_ok(line: &str, db: u32, port: u16, args: &str) -> bool {
    let Some(rest) = line.strip_prefix('+') else {
        return false;
    };
    let Some((ts, rest)) = rest.split_once(' ') else {
        return false;
    };
    let Some((secs, usecs)) = ts.split_once('.') else {
        return false;
    };
    !secs.is_empty()
        && secs.bytes().all(|b| b.is_ascii_digit())
        && usecs.len() == 6
        && usecs.bytes().all(|b| b.is_ascii_digit())
        && rest == format!("[{db} 127.0.0.1:{port}] {args}\r\n")
}

#[test]
fn misc_server_commands() {
    let server = Server::start(&[]);
    let mut c = server.connect();

    // TIME: two bulk integers, microseconds < 1e6.
    let r = c.cmd("TIME");
    match parse(&r) {
        V::Arr(a) if a.len() == 2 => {
            let secs: Option<u64> = a[0].text().parse().ok();
            let us: Option<u64> = a[1].text().parse().ok();
            cok!(
                matches!(a[0], V::Bulk(_)) && matches!(a[1], V::Bulk(_)),
                "{r:?}"
            );
            cok!(secs.is_some_and(|s| s > 1_600_000_000), "{r:?}");
            cok!(us.is_some_and(|u| u < 1_000_000), "{r:?}");
        }
        _ => fail(format!("TIME: {r:?}")),
    }
    ceq!(
        c.cmd("TIME x"),
        "-ERR wrong number of arguments for 'time' command\r\n"
    );
    let r = c.cmd("LASTSAVE");
    cok!(r.starts_with(':') && int_reply(&r) > 1_600_000_000, "{r:?}");

    // SCRIPT / FUNCTION / EVAL.
    ceq!(c.cmd("SCRIPT FLUSH"), "+OK\r\n");
    ceq!(c.cmd("SCRIPT FLUSH ASYNC"), "+OK\r\n");
    ceq!(
        c.cmd("SCRIPT FLUSH FOO"),
        "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n"
    );
    ceq!(c.cmd("FUNCTION FLUSH"), "+OK\r\n");
    ceq!(c.cmd("FUNCTION FLUSH SYNC"), "+OK\r\n");
    ceq!(c.cmd("FUNCTION LIST"), "*0\r\n");
    let r = c.cmdv(&["EVAL", "return 1", "0"]);
    cok!(r.starts_with('-') && r.ends_with("\r\n"), "EVAL: {r:?}");
    ceq!(
        c.cmd("EVAL"),
        "-ERR wrong number of arguments for 'eval' command\r\n"
    );
    ceq!(c.cmd("PING"), "+PONG\r\n");
    ceq!(c.cmd("SET k v"), "+OK\r\n");

    // MONITOR.
    let mut m = server.connect();
    let mut b = server.connect();
    let bport = b.stream.local_addr().unwrap().port();
    ceq!(m.cmd("MONITOR"), "+OK\r\n");
    ceq!(b.cmd("SET k v"), "+OK\r\n");
    let line = s(m.read_reply());
    cok!(
        monitor_line_ok(&line, 0, bport, "\"SET\" \"k\" \"v\""),
        "monitor line {line:?}"
    );
    // Arguments are quoted with C-style escapes.
    ceq!(b.cmdv(&["HSET", "h", "a b", "x\"y\n\x01"]), ":1\r\n");
    let line = s(m.read_reply());
    cok!(
        monitor_line_ok(&line, 0, bport, r#""HSET" "h" "a b" "x\"y\n\x01""#),
        "monitor line {line:?}"
    );
    // Redis feeds monitors after execution, so SELECT shows the new db.
    ceq!(b.cmd("SELECT 3"), "+OK\r\n");
    let line = s(m.read_reply());
    cok!(
        monitor_line_ok(&line, 3, bport, "\"SELECT\" \"3\""),
        "monitor line {line:?}"
    );
    ceq!(b.cmd("GET k"), "$-1\r\n");
    let line = s(m.read_reply());
    cok!(
        monitor_line_ok(&line, 3, bport, "\"GET\" \"k\""),
        "monitor line {line:?}"
    );
    // A script call is shown, as Redis shows it, before it runs (here: is refused).
    cok!(b.cmdv(&["EVAL", "return 1", "0"]).starts_with('-'));
    let line = s(m.read_reply());
    cok!(
        monitor_line_ok(&line, 3, bport, "\"EVAL\" \"return 1\" \"0\""),
        "monitor line {line:?}"
    );
    // As in Redis 7: admin commands are not shown (CONFIG, DEBUG); a transaction shows
    // MULTI, its commands when EXEC runs them, then EXEC.
    cok!(b.cmd("CONFIG GET port").starts_with('*'));
    ceq!(b.cmd("MULTI"), "+OK\r\n");
    ceq!(b.cmd("SET t v"), "+QUEUED\r\n");
    ceq!(b.cmd("EXEC"), "*1\r\n+OK\r\n");
    for want in ["\"MULTI\"", "\"SET\" \"t\" \"v\"", "\"EXEC\""] {
        let line = s(m.read_reply());
        cok!(
            monitor_line_ok(&line, 3, bport, want),
            "monitor line {line:?}, wanted {want}"
        );
    }

    // SHUTDOWN with a bad argument is refused.
    ceq!(c.cmd("SHUTDOWN FOO"), "-ERR syntax error\r\n");
    ceq!(c.cmd("PING"), "+PONG\r\n");
    finish();
}

#[test]
fn shutdown_exits_cleanly() {
    let mut server = Server::start(&[]);
    let mut c = server.connect();
    ceq!(c.cmd("SET k v"), "+OK\r\n");
    c.send_raw(&Client::encode(&[b"SHUTDOWN"]));
    // Redis sends no reply: the connection just closes.
    ceq!(s(c.read_to_close()), "");
    ceq!(server.wait_exit(10), Some(0));
    std::thread::sleep(Duration::from_millis(100));
    let log = server.log_text();
    cok!(log.contains("bye bye"), "log: {log}");
    finish();
}

#[test]
fn resp3_forms() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    cok!(c.cmd("HELLO 3").starts_with("%7\r\n"));
    ceq!(c.cmd("HSET h a 1 b 2"), ":2\r\n");
    ceq!(c.cmd("HSET h1 only 1"), ":1\r\n");

    // Maps and nulls.
    ceq!(
        c.cmd("HGETALL h"),
        "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    ceq!(c.cmd("HGETALL nokey"), "%0\r\n");
    ceq!(c.cmd("GET nokey"), "_\r\n");
    ceq!(c.cmd("HGET h zz"), "_\r\n");
    ceq!(c.cmd("HMGET h a zz b"), "*3\r\n$1\r\n1\r\n_\r\n$1\r\n2\r\n");
    ceq!(c.cmd("HRANDFIELD nokey"), "_\r\n");
    ceq!(
        c.cmd("CONFIG GET databases"),
        "%1\r\n$9\r\ndatabases\r\n$2\r\n16\r\n"
    );

    // HRANDFIELD WITHVALUES: an array of [field, value] pairs.
    ceq!(
        c.cmd("HRANDFIELD h1 1 WITHVALUES"),
        "*1\r\n*2\r\n$4\r\nonly\r\n$1\r\n1\r\n"
    );
    ceq!(
        c.cmd("HRANDFIELD h1 -2 WITHVALUES"),
        "*2\r\n*2\r\n$4\r\nonly\r\n$1\r\n1\r\n*2\r\n$4\r\nonly\r\n$1\r\n1\r\n"
    );
    let r = c.cmd("HRANDFIELD h 2 WITHVALUES");
    match parse(&r) {
        V::Arr(a) => {
            ceq!(a.len(), 2, "{r:?}");
            let mut seen: Vec<(String, String)> = vec![];
            for p in &a {
                match p {
                    V::Arr(kv) if kv.len() == 2 => {
                        seen.push((kv[0].text().into(), kv[1].text().into()))
                    }
                    _ => fail(format!("HRANDFIELD element not a pair: {r:?}")),
                }
            }
            seen.sort();
            ceq!(seen, pairs_of(&[("a", "1"), ("b", "2")]));
        }
        _ => fail(format!("HRANDFIELD WITHVALUES: {r:?}")),
    }
    ceq!(c.cmd("HRANDFIELD nokey 1 WITHVALUES"), "*0\r\n");
    ceq!(c.cmd("HRANDFIELD h 0 WITHVALUES"), "*0\r\n");
    ceq!(c.cmd("HRANDFIELD h1 1"), "*1\r\n$4\r\nonly\r\n");
    ceq!(
        c.cmd("HSCAN h1 0"),
        "*2\r\n$1\r\n0\r\n*2\r\n$4\r\nonly\r\n$1\r\n1\r\n"
    );

    // Inside MULTI the RESP3 types are kept.
    ceq!(c.cmd("MULTI"), "+OK\r\n");
    ceq!(c.cmd("GET nokey"), "+QUEUED\r\n");
    ceq!(c.cmd("HGETALL h1"), "+QUEUED\r\n");
    ceq!(c.cmd("EXEC"), "*2\r\n_\r\n%1\r\n$4\r\nonly\r\n$1\r\n1\r\n");

    // INFO and CLIENT INFO are verbatim strings with the txt: prefix.
    let r = c.cmd("INFO server");
    cok!(r.starts_with('='), "{r:?}");
    let t = bulk_text(&r);
    cok!(t.starts_with("txt:# Server\r\nredis_version:"), "{t:?}");
    let r = c.cmd("INFO");
    cok!(
        r.starts_with('=') && bulk_text(&r).starts_with("txt:# Server\r\n"),
        "{r:?}"
    );
    let r = c.cmd("CLIENT INFO");
    cok!(
        r.starts_with('=') && bulk_text(&r).starts_with("txt:id="),
        "{r:?}"
    );
    cok!(bulk_text(&r).ends_with("\n"), "{r:?}");

    // Back to RESP2.
    cok!(c.cmd("HELLO 2").starts_with("*14\r\n"));
    ceq!(
        c.cmd("HRANDFIELD h1 1 WITHVALUES"),
        "*2\r\n$4\r\nonly\r\n$1\r\n1\r\n"
    );
    ceq!(c.cmd("HGETALL h1"), "*2\r\n$4\r\nonly\r\n$1\r\n1\r\n");
    ceq!(c.cmd("HMGET h a zz"), "*2\r\n$1\r\n1\r\n$-1\r\n");
    ceq!(
        c.cmd("CONFIG GET databases"),
        "*2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n"
    );
    let r = c.cmd("INFO server");
    cok!(
        r.starts_with('$') && bulk_text(&r).starts_with("# Server\r\n"),
        "{r:?}"
    );
    finish();
}
