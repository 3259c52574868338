//! ACL users against the real binary: rules, categories and key patterns, AUTH and HELLO
//! AUTH, the ACL log, DRYRUN, GETUSER and LIST formats, MULTI/EXEC refusals, DELUSER
//! disconnecting clients, `requirepass` as the default user's password, `user` lines in
//! the config file, and the ACL file (SAVE, restart, LOAD). One test replays a session
//! against redis-server 7 and compares every reply byte for byte (skipped without
//! redis-server, unless CI is set).

mod common;

use common::{Client, Server, TempDir};

fn start() -> Server {
    Server::start(&["--appendonly", "no"])
}

/// `-NOPERM` for a refused command.
fn noperm_cmd(name: &str) -> String {
    format!("-NOPERM this user has no permissions to run the '{name}' command\r\n")
}

const NOPERM_KEY: &str =
    "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n";
const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";

/// Connects and logs in as `user`.
fn login(s: &Server, user: &str, pass: &str) -> Client {
    let mut c = s.connect();
    assert_eq!(c.cmdv(&["AUTH", user, pass]), "+OK\r\n");
    c
}

/// A bulk string's reply bytes.
fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

#[test]
fn commands_and_categories() {
    let s = start();
    let mut admin = s.connect();
    let r = admin.cmdv(&[
        "ACL",
        "SETUSER",
        "app",
        "on",
        ">pw",
        "~*",
        "+@all",
        "-@dangerous",
        "+get",
        "-config|set",
        "+config|get",
    ]);
    assert_eq!(r, "+OK\r\n");
    let mut c = login(&s, "app", "pw");
    assert_eq!(c.cmd("SET k v"), "+OK\r\n");
    assert_eq!(c.cmd("GET k"), "$1\r\nv\r\n");
    assert_eq!(c.cmd("HSET h f v"), ":1\r\n");
    assert_eq!(c.cmd("FLUSHALL"), noperm_cmd("flushall"));
    assert_eq!(c.cmd("CONFIG SET maxclients 10"), noperm_cmd("config|set"));
    assert!(c.cmd("CONFIG GET maxclients").starts_with("*2\r\n"));
    assert_eq!(c.cmd("ACL LIST"), noperm_cmd("acl|list"));
    assert_eq!(c.cmd("ACL WHOAMI"), bulk("app"));
    // Changes apply to logged-in clients at once.
    assert_eq!(admin.cmd("ACL SETUSER app -@hash"), "+OK\r\n");
    assert_eq!(c.cmd("HGET h f"), noperm_cmd("hget"));
    assert_eq!(c.cmd("GET k"), "$1\r\nv\r\n");
    // An unknown command is still unknown, whatever the rules.
    assert!(c.cmd("NOSUCH").starts_with("-ERR unknown command"));
    let line = admin.cmd("ACL GETUSER app");
    assert!(
        line.contains(&bulk("+@all -@hash -@dangerous +config|get")),
        "{line}"
    );
}

#[test]
fn key_patterns_read_and_write() {
    let s = start();
    let mut admin = s.connect();
    let r = admin.cmdv(&[
        "ACL", "SETUSER", "k", "on", "nopass", "+@all", "~user:*", "%R~ro:*", "%W~wo:*",
    ]);
    assert_eq!(r, "+OK\r\n");
    admin.cmd("SET ro:1 x");
    let mut c = login(&s, "k", "any");
    assert_eq!(c.cmd("GET foo"), NOPERM_KEY);
    assert_eq!(c.cmd("SET user:1 a"), "+OK\r\n");
    assert_eq!(c.cmd("GET user:1"), "$1\r\na\r\n");
    assert_eq!(c.cmd("GET ro:1"), "$1\r\nx\r\n");
    assert_eq!(c.cmd("SET ro:1 y"), NOPERM_KEY);
    assert_eq!(c.cmd("SET wo:1 y"), "+OK\r\n");
    assert_eq!(c.cmd("GET wo:1"), NOPERM_KEY);
    // SET ... GET reads the key too.
    assert_eq!(c.cmd("SET wo:1 z GET"), NOPERM_KEY);
    assert_eq!(c.cmd("COPY ro:1 wo:2"), ":1\r\n");
    assert_eq!(c.cmd("COPY wo:1 ro:2"), NOPERM_KEY);
    assert_eq!(c.cmd("MSET user:2 a foo b"), NOPERM_KEY);
    assert_eq!(admin.cmd("EXISTS foo"), ":0\r\n");
    // The log names the key that was refused.
    let log = admin.cmd("ACL LOG 1");
    assert!(log.contains("$6\r\nreason\r\n$3\r\nkey\r\n"), "{log}");
    assert!(log.contains("$6\r\nobject\r\n$3\r\nfoo\r\n"), "{log}");
    assert!(log.contains("$8\r\nusername\r\n$1\r\nk\r\n"), "{log}");
}

#[test]
fn auth_hello_and_the_log() {
    let s = start();
    let mut admin = s.connect();
    admin.cmd("ACL SETUSER bob on >secret ~* +@all");
    let mut c = s.connect();
    assert_eq!(c.cmd("AUTH bob wrong"), WRONGPASS);
    assert_eq!(c.cmd("AUTH nobody secret"), WRONGPASS);
    assert_eq!(
        c.cmd("AUTH secret"),
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    assert_eq!(c.cmd("ACL WHOAMI"), bulk("default"));
    assert_eq!(c.cmd("AUTH bob secret"), "+OK\r\n");
    assert_eq!(c.cmd("ACL WHOAMI"), bulk("bob"));
    let info = c.cmd("CLIENT INFO");
    assert!(info.contains(" user=bob "), "{info}");
    let mut h = s.connect();
    let r = h.cmdv(&["HELLO", "3", "AUTH", "bob", "secret"]);
    assert!(r.starts_with("%7\r\n"), "{r}");
    assert_eq!(h.cmd("ACL WHOAMI"), bulk("bob"));
    assert_eq!(h.cmdv(&["HELLO", "3", "AUTH", "bob", "nope"]), WRONGPASS);
    // A disabled user cannot log in; clients already in keep working.
    admin.cmd("ACL SETUSER bob off");
    assert_eq!(s.connect().cmd("AUTH bob secret"), WRONGPASS);
    assert_eq!(c.cmd("PING"), "+PONG\r\n");
    // Failed logins are in the ACL log, newest first; a repeat within a minute (same
    // reason, command and user) counts again in its entry, which moves to the front.
    let log = admin.cmd("ACL LOG");
    assert!(log.starts_with("*3\r\n"), "{log}");
    let entries: Vec<&str> = log.split("*14\r\n").skip(1).collect();
    assert!(entries[0].contains("$5\r\ncount\r\n:2\r\n$6\r\nreason\r\n$4\r\nauth\r\n$7\r\ncontext\r\n$8\r\ntoplevel\r\n$6\r\nobject\r\n$4\r\nAUTH\r\n$8\r\nusername\r\n$3\r\nbob\r\n"), "{}", entries[0]);
    assert!(entries[0].contains("$11\r\nclient-info\r\n"));
    assert!(entries[0].contains(" user=default "), "{}", entries[0]);
    assert!(entries[1].contains("$6\r\nobject\r\n$5\r\nHELLO\r\n"));
    assert!(entries[2].contains(":1\r\n"));
    assert!(entries[2].contains("$8\r\nusername\r\n$6\r\nnobody\r\n"));
    let one = admin.cmd("ACL LOG 1");
    assert!(one.starts_with("*1\r\n"));
    assert_eq!(admin.cmd("ACL LOG RESET"), "+OK\r\n");
    assert_eq!(admin.cmd("ACL LOG"), "*0\r\n");
}

#[test]
fn requirepass_is_the_default_users_password() {
    let s = Server::start(&["--appendonly", "no", "--requirepass", "s3cret"]);
    let mut c = s.connect();
    assert_eq!(c.cmd("PING"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c.cmd("AUTH bad"), WRONGPASS);
    assert_eq!(c.cmd("AUTH s3cret"), "+OK\r\n");
    let hash = "6ad8ad2fba8bc0b4de3a6e2d86b1bcc8c34dc3c8bd3e23b91d5fe1ebae6cfbb6";
    let _ = hash;
    let list = c.cmd("ACL LIST");
    assert!(
        list.contains("user default on #") && list.contains(" ~* &* +@all"),
        "{list}"
    );
    assert!(!list.contains("s3cret"));
    assert_eq!(c.cmd("CONFIG SET requirepass other"), "+OK\r\n");
    assert_eq!(s.connect().cmd("AUTH default s3cret"), WRONGPASS);
    assert_eq!(s.connect().cmd("AUTH default other"), "+OK\r\n");
    // Empty: the default user is nopass again and new clients need no AUTH.
    assert_eq!(c.cmdv(&["CONFIG", "SET", "requirepass", ""]), "+OK\r\n");
    assert_eq!(s.connect().cmd("PING"), "+PONG\r\n");
    assert_eq!(
        c.cmd("ACL LIST"),
        "*1\r\n$34\r\nuser default on nopass ~* &* +@all\r\n"
    );
    // Giving the default user a password by ACL SETUSER works the same way.
    assert_eq!(c.cmd("ACL SETUSER default >pw"), "+OK\r\n");
    let mut d = s.connect();
    assert_eq!(d.cmd("GET x"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(d.cmd("AUTH pw"), "+OK\r\n");
    assert_eq!(
        c.cmd("ACL DELUSER default"),
        "-ERR The 'default' user cannot be removed\r\n"
    );
}

#[test]
fn transactions_check_when_queued_and_at_exec() {
    let s = start();
    let mut admin = s.connect();
    admin.cmd("ACL SETUSER t on nopass ~* +@all -flushall");
    let mut c = login(&s, "t", "x");
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd("FLUSHALL"), noperm_cmd("flushall"));
    assert_eq!(c.cmd("SET a 1"), "+QUEUED\r\n");
    assert_eq!(
        c.cmd("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(admin.cmd("GET a"), "$-1\r\n");
    // Rules changed after queuing: that command fails, the others run.
    c.cmd("MULTI");
    c.cmd("SET a 1");
    c.cmd("GET a");
    admin.cmd("ACL SETUSER t -get");
    assert_eq!(
        c.cmd("EXEC"),
        "*2\r\n+OK\r\n-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand\r\n"
    );
    let log = admin.cmd("ACL LOG 1");
    assert!(
        log.contains("$7\r\ncontext\r\n$5\r\nmulti\r\n$6\r\nobject\r\n$3\r\nget\r\n"),
        "{log}"
    );
    // EXEC itself refused: the transaction is discarded.
    admin.cmd("ACL SETUSER t -exec");
    c.cmd("MULTI");
    c.cmd("SET b 1");
    assert_eq!(
        c.cmd("EXEC"),
        "-EXECABORT Transaction discarded because of: NOPERM this user has no permissions to run the 'exec' command\r\n"
    );
    assert_eq!(c.cmd("SET c 1"), "+OK\r\n");
}

#[test]
fn deluser_disconnects_its_clients() {
    let s = start();
    let mut admin = s.connect();
    admin.cmd("ACL SETUSER gone on nopass ~* +@all");
    admin.cmd("ACL SETUSER stays on nopass ~* +@all");
    let mut a = login(&s, "gone", "x");
    let mut b = login(&s, "gone", "x");
    let mut other = login(&s, "stays", "x");
    assert_eq!(
        admin.cmd("CLIENT KILL USER nosuch"),
        "-ERR No such user 'nosuch'\r\n"
    );
    let list = admin.cmd("CLIENT LIST");
    assert_eq!(list.matches(" user=gone ").count(), 2, "{list}");
    // Turning a user off or changing its password does not disconnect (Redis 7.0).
    admin.cmd("ACL SETUSER gone off resetpass");
    assert_eq!(a.cmd("PING"), "+PONG\r\n");
    assert_eq!(admin.cmd("ACL DELUSER gone nosuch"), ":1\r\n");
    assert!(a.is_closed());
    assert!(b.is_closed());
    assert_eq!(other.cmd("PING"), "+PONG\r\n");
    // A user deleting itself gets the reply, then the connection closes.
    assert_eq!(other.cmd("ACL DELUSER stays"), ":1\r\n");
    assert!(other.is_closed());
    // A new user in the freed slot is not the old one.
    admin.cmd("ACL SETUSER fresh on nopass ~* +@all");
    let mut f = login(&s, "fresh", "x");
    assert_eq!(f.cmd("ACL WHOAMI"), bulk("fresh"));
    assert_eq!(admin.cmd("CLIENT KILL USER fresh"), ":1\r\n");
    assert!(f.is_closed());
}

#[test]
fn dryrun_getuser_and_cat() {
    let s = start();
    let mut c = s.connect();
    c.cmdv(&[
        "ACL",
        "SETUSER",
        "d",
        "on",
        ">pw",
        "~app:*",
        "+@read",
        "+set",
        "(~x* -@all +get)",
    ]);
    assert_eq!(c.cmd("ACL DRYRUN d GET app:1"), "+OK\r\n");
    assert_eq!(c.cmd("ACL DRYRUN d GET x1"), "+OK\r\n");
    assert_eq!(
        c.cmd("ACL DRYRUN d GET other"),
        bulk("This user has no permissions to access the 'other' key")
    );
    assert_eq!(
        c.cmd("ACL DRYRUN d DEL app:1"),
        bulk("This user has no permissions to run the 'del' command")
    );
    assert_eq!(
        c.cmd("ACL DRYRUN nobody GET a"),
        "-ERR User 'nobody' not found\r\n"
    );
    assert_eq!(
        c.cmd("ACL DRYRUN d NOSUCH a"),
        "-ERR Command 'NOSUCH' not found\r\n"
    );
    assert_eq!(
        c.cmd("ACL DRYRUN d GET"),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    // SHA-256 of "p1".
    let hash = "f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a";
    assert_eq!(
        c.cmd("ACL SETUSER g on >p1 ~a* %R~b* &ch -@all +get"),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmd("ACL GETUSER g"),
        format!(
            "*12\r\n$5\r\nflags\r\n*1\r\n$2\r\non\r\n$9\r\npasswords\r\n*1\r\n$64\r\n{hash}\r\n$8\r\ncommands\r\n$10\r\n-@all +get\r\n$4\r\nkeys\r\n$9\r\n~a* %R~b*\r\n$8\r\nchannels\r\n$3\r\n&ch\r\n$9\r\nselectors\r\n*0\r\n"
        )
    );
    assert_eq!(
        c.cmd("ACL GETUSER nobody"),
        "$-1\r\n",
        "an unknown user is a null"
    );
    let list = c.cmd("ACL LIST");
    assert!(
        list.contains(&format!(
            "user g on #{hash} ~a* %R~b* resetchannels &ch -@all +get\r\n"
        )),
        "{list}"
    );
    assert_eq!(
        c.cmd("ACL USERS"),
        "*3\r\n$1\r\nd\r\n$7\r\ndefault\r\n$1\r\ng\r\n"
    );
    let cats = c.cmd("ACL CAT");
    assert!(cats.starts_with("*21\r\n$8\r\nkeyspace\r\n"), "{cats}");
    let hash_cmds = c.cmd("ACL CAT hash");
    assert!(hash_cmds.contains(&bulk("hset")) && !hash_cmds.contains(&bulk("get")));
    assert_eq!(c.cmd("ACL CAT nope"), "-ERR Unknown category 'nope'\r\n");
    let pass = c.cmd("ACL GENPASS");
    assert!(pass.starts_with("$64\r\n"), "{pass}");
    assert!(c.cmd("ACL GENPASS 5").starts_with("$2\r\n"));
    assert_eq!(
        c.cmd("ACL SETUSER g +nosuch"),
        "-ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL\r\n"
    );
    assert_eq!(
        c.cmd("ACL SAVE"),
        "-ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.\r\n"
    );
}

#[test]
fn aclfile_save_restart_and_load() {
    let dir = TempDir::new("aclfile");
    let file = dir.path().join("users.acl");
    std::fs::write(&file, "").unwrap();
    let path = file.to_str().unwrap();
    let args = ["--appendonly", "no", "--aclfile", path];
    let mut s = Server::start_in(dir.path(), &args);
    let mut c = s.connect();
    assert_eq!(
        c.cmd("CONFIG GET aclfile"),
        format!("*2\r\n$7\r\naclfile\r\n{}", bulk(path))
    );
    c.cmd("ACL SETUSER alice on >pw ~a:* +@all -@dangerous");
    c.cmd("ACL SETUSER default on nopass ~* &* +@all");
    assert_eq!(c.cmd("ACL SAVE"), "+OK\r\n");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("user alice on #"), "{text}");
    assert!(
        text.ends_with(
            " ~a:* resetchannels +@all -@dangerous\nuser default on nopass ~* &* +@all\n"
        )
    );
    drop(c);
    s.kill9();
    let s = Server::start_in(dir.path(), &args);
    let mut alice = login(&s, "alice", "pw");
    assert_eq!(alice.cmd("SET a:1 v"), "+OK\r\n");
    // A bad file changes nothing and says why, line by line.
    std::fs::write(
        &file,
        "user bob on +nosuch\n# comment\nuser alice on nopass ~* +@all\n",
    )
    .unwrap();
    let mut admin = s.connect();
    assert_eq!(
        admin.cmd("ACL LOAD"),
        format!(
            "-ERR {path}:1: Unknown command or category name in ACL. {path}:2 should start with user keyword followed by the username. WARNING: ACL errors detected, no change to the previously active ACL rules was performed\r\n"
        )
    );
    assert_eq!(alice.cmd("PING"), "+PONG\r\n");
    // A good one replaces every user; their clients are disconnected.
    std::fs::write(&file, "user carol on >c ~* +@all\n").unwrap();
    assert_eq!(admin.cmd("ACL LOAD"), "+OK\r\n");
    assert!(alice.is_closed());
    assert_eq!(
        admin.cmd("ACL USERS"),
        "*2\r\n$5\r\ncarol\r\n$7\r\ndefault\r\n"
    );
    assert_eq!(admin.cmd("PING"), "+PONG\r\n");
    login(&s, "carol", "c");
}

#[test]
fn user_lines_in_the_config_file() {
    let dir = TempDir::new("aclconf");
    let conf = dir.path().join("redis.conf");
    std::fs::write(
        &conf,
        "user default on nopass ~* &* +@all -flushall\nuser ops on >\"two words\" ~* +@all\n",
    )
    .unwrap();
    let conf_s = conf.to_str().unwrap();
    let s = Server::start_in(dir.path(), &[conf_s, "--appendonly", "no"]);
    let mut c = s.connect();
    assert_eq!(c.cmd("FLUSHALL"), noperm_cmd("flushall"));
    assert_eq!(c.cmdv(&["AUTH", "ops", "two words"]), "+OK\r\n");
    assert_eq!(c.cmd("FLUSHALL"), "+OK\r\n");
    // `user` lines and an aclfile together stop the server, as in Redis.
    let acl = dir.path().join("users.acl");
    std::fs::write(&acl, "").unwrap();
    let out = std::process::Command::new(common::ferrokv_bin())
        .args([conf_s, "--port", "0", "--aclfile", acl.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("but not both"), "{log}");
    // So does a bad rule.
    std::fs::write(&conf, "user x on +nosuch\n").unwrap();
    let out = std::process::Command::new(common::ferrokv_bin())
        .args([conf_s, "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("Error loading ACL rule '+nosuch' for the user named 'x': Unknown command or category name in ACL"),
        "{log}"
    );
}

/// Replays one session on ferrokv and on redis-server 7, comparing every reply byte for
/// byte (client ids, ages and CLIENT INFO lines aside).
#[test]
fn replies_match_redis() {
    let Some(redis) = Server::start_redis() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server is missing, but CI is set"
        );
        eprintln!("SKIPPED replies_match_redis: redis-server is missing");
        return;
    };
    let ours = start();
    let session: &[(usize, &[&str])] = &[
        (
            0,
            &[
                "ACL",
                "SETUSER",
                "u1",
                "on",
                ">p1",
                "~user:*",
                "%R~ro:*",
                "%W~wo:*",
                "+@all",
                "-@dangerous",
            ],
        ),
        (1, &["AUTH", "u1", "p1"]),
        (1, &["GET", "foo"]),
        (1, &["GET", "user:1"]),
        (1, &["SET", "ro:1", "x"]),
        (1, &["SET", "wo:1", "x"]),
        (1, &["GET", "wo:1"]),
        (1, &["COPY", "ro:1", "wo:2"]),
        (1, &["COPY", "wo:1", "ro:2"]),
        (1, &["CONFIG", "SET", "x", "y"]),
        (1, &["CLIENT", "LIST"]),
        (1, &["ACL", "WHOAMI"]),
        (1, &["MULTI"]),
        (1, &["GET", "foo"]),
        (1, &["EXEC"]),
        (1, &["AUTH", "u1", "bad"]),
        (1, &["AUTH", "nouser", "x"]),
        (1, &["AUTH", "x"]),
        (0, &["ACL", "DRYRUN", "u1", "get", "foo"]),
        (0, &["ACL", "DRYRUN", "u1", "config", "set", "a", "b"]),
        (0, &["ACL", "DRYRUN", "u1", "get", "user:1"]),
        (0, &["ACL", "DRYRUN", "nouser", "get", "x"]),
        (0, &["ACL", "DRYRUN", "u1", "config", "foo"]),
        (0, &["ACL", "DRYRUN", "u1", "set", "wo:1", "v", "get"]),
        (0, &["ACL", "DELUSER", "default", "u1"]),
        (0, &["ACL", "DELUSER", "zz"]),
        (0, &["ACL", "GETUSER", "zz"]),
        (0, &["ACL", "LOG", "x"]),
        (0, &["ACL", "LOG", "1", "2"]),
        (0, &["ACL", "FOO"]),
        (0, &["ACL", "SETUSER", "a b"]),
        (0, &["ACL", "SETUSER", "x", "bad"]),
        (0, &["ACL", "SETUSER", "x", "+@nocat"]),
        (0, &["ACL", "SETUSER", "x", "~*", "~a"]),
        (0, &["ACL", "SETUSER", "x", "&*", "&a"]),
        (0, &["ACL", "SETUSER", "x", "<nopw"]),
        (0, &["ACL", "SETUSER", "x", "#abc"]),
        (0, &["ACL", "SETUSER", "x", "+config|get|x"]),
        (0, &["ACL", "SETUSER", "x", "(~a"]),
        (0, &["ACL", "SETUSER", "x", "%X~a"]),
        (0, &["ACL", "SETUSER", "x", "+config", "-config|set"]),
        // One single command at most per user: Redis lists them in its hash table's order.
        (
            0,
            &[
                "ACL",
                "SETUSER",
                "z",
                "+@all",
                "-@all",
                "+@hash",
                "-hset",
                "(~foo +set)",
                "(%R~bar -@all +get)",
            ],
        ),
        (0, &["ACL", "SETUSER", "w", "on", ">a", ">b", "<b", "reset"]),
        (
            0,
            &["ACL", "SETUSER", "t3", "+@all", "-config", "+config|get"],
        ),
        (0, &["ACL", "GETUSER", "z"]),
        (0, &["ACL", "GETUSER", "w"]),
        (0, &["ACL", "GETUSER", "default"]),
        (0, &["ACL", "LIST"]),
        (0, &["ACL", "USERS"]),
        (0, &["ACL", "CAT"]),
        (0, &["ACL", "CAT", "nope"]),
        (2, &["HELLO", "3", "AUTH", "u1", "nope"]),
        (2, &["HELLO", "3", "AUTH", "u1", "p1"]),
        (2, &["ACL", "GETUSER", "z"]),
        (0, &["CONFIG", "SET", "requirepass", "sec"]),
        (3, &["PING"]),
        (3, &["AUTH", "default", "sec"]),
        (0, &["ACL", "LIST"]),
        (0, &["CONFIG", "SET", "requirepass", ""]),
        (0, &["ACL", "LOG", "4"]),
    ];
    let run = |port: u16| -> Vec<String> {
        let mut conns: Vec<Client> = (0..4).map(|_| Client::connect(port)).collect();
        session
            .iter()
            .map(|(c, args)| normalize(&conns[*c].cmdv(args)))
            .collect()
    };
    let (theirs, mine) = (run(redis.port), run(ours.port));
    for ((step, t), m) in session.iter().zip(&theirs).zip(&mine) {
        assert_eq!(m, t, "step {step:?}");
    }
}

/// Masks what differs between two servers for reasons other than ACLs: CLIENT INFO lines
/// (ids, addresses, buffer sizes), HELLO's client id, and log entry ages.
fn normalize(reply: &str) -> String {
    let lines: Vec<&str> = reply.split("\r\n").collect();
    let mut out: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.starts_with('$') && lines.get(i + 1).is_some_and(|n| n.starts_with("id=")) {
            out.extend(["$?", "CLIENTINFO"]);
            i += 2;
        } else if l == "age-seconds" || l == "id" {
            // A double (a bulk string in RESP2) or an integer.
            out.extend([l, "?"]);
            let bulk = lines.get(i + 1).is_some_and(|n| n.starts_with('$'));
            i += if bulk { 3 } else { 2 };
        } else {
            out.push(l);
            i += 1;
        }
    }
    out.join("\r\n")
}

#[test]
fn monitor_hides_passwords() {
    let s = start();
    let mut admin = s.connect();
    admin.cmd("ACL SETUSER m on >pw ~* +@all");
    let mut mon = s.connect();
    assert_eq!(mon.cmd("MONITOR"), "+OK\r\n");
    let mut c = s.connect();
    c.cmd("AUTH m pw");
    c.cmdv(&["HELLO", "2", "AUTH", "m", "bad", "SETNAME", "n"]);
    c.cmd("ACL SETUSER m >secret2");
    c.cmd("PING");
    let mut lines = Vec::new();
    while lines
        .last()
        .is_none_or(|l: &String| !l.contains("\"PING\""))
    {
        lines.push(String::from_utf8_lossy(&mon.read_reply()).into_owned());
    }
    assert_eq!(lines.len(), 3, "ACL SETUSER is not shown: {lines:?}");
    assert!(
        lines[0].ends_with("\"AUTH\" \"(redacted)\" \"(redacted)\"\r\n"),
        "{lines:?}"
    );
    assert!(
        lines[1].ends_with(
            "\"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\" \"SETNAME\" \"n\"\r\n"
        ),
        "{lines:?}"
    );
}

/// A relative `aclfile` is inside `dir`, as for Redis, which changes into `dir`.
#[test]
fn relative_aclfile_is_in_dir() {
    let dir = TempDir::new("aclrel");
    std::fs::write(dir.path().join("users.acl"), "user rel on >r ~* +@all\n").unwrap();
    let s = Server::start_in(
        dir.path(),
        &["--appendonly", "no", "--aclfile", "users.acl"],
    );
    let mut c = login(&s, "rel", "r");
    assert_eq!(c.cmd("ACL SETUSER more on nopass"), "+OK\r\n");
    assert_eq!(c.cmd("ACL SAVE"), "+OK\r\n");
    let text = std::fs::read_to_string(dir.path().join("users.acl")).unwrap();
    assert!(
        text.contains("user more on nopass resetchannels -@all\n"),
        "{text}"
    );
    // A missing file stops the server at start, as in Redis.
    std::fs::remove_file(dir.path().join("users.acl")).unwrap();
    let out = std::process::Command::new(common::ferrokv_bin())
        .args([
            "--port",
            "0",
            "--dir",
            dir.path().to_str().unwrap(),
            "--aclfile",
            "users.acl",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("Aborting Redis startup because of ACL errors: Error loading ACLs, opening file 'users.acl': No such file or directory"),
        "{log}"
    );
}
