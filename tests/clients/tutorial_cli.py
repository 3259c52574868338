#!/usr/bin/env python3
"""Feeds the hashes tutorial's redis-cli commands to two servers and compares the output.

Usage:
  tutorial_cli.py PORT REDIS_PORT [--flushall]
      Runs every command of tutorial-cli.txt (beside this script), in order, through
      `redis-cli -p PORT --no-raw` and `redis-cli -p REDIS_PORT --no-raw` (the command line is
      fed on redis-cli's standard input, so redis-cli itself does the quoting), and compares
      the two outputs command by command. Then compares the final state of both servers
      (sorted KEYS *, and TYPE, TTL and HGETALL of each key), both in RESP2 and RESP3
      (`redis-cli -3`). Both servers must start empty (--flushall empties them first).
      Exits non-zero on any difference. Last line: "tutorial_cli.py: N passed, N failed".
  tutorial_cli.py --extract TUTORIAL
      Prints the redis-cli commands found in the tutorial text: lines starting with a Redis
      command name, with `\\` continuations joined and `# comments` removed. Pseudo-code lines
      (`name = HGET ...`, `MEMORY USAGE a + MEMORY USAGE b + ...`) are left out. This is how
      tutorial-cli.txt was made.

Only standard-library Python; needs redis-cli on PATH.
"""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CMD_FILE = os.path.join(HERE, "tutorial-cli.txt")

# Command names the tutorial uses in its redis-cli examples.
COMMANDS = {"HSET", "HGET", "HGETALL", "HDEL", "HEXISTS", "HKEYS", "HVALS", "HLEN", "HMSET",
            "HMGET", "HINCRBY", "HINCRBYFLOAT", "SET", "GET", "DEL", "MEMORY", "EXPIRE", "TTL"}

# Replies whose exact value is implementation-specific: only the reply's kind is compared.
KIND_ONLY = ("MEMORY USAGE ",)


def strip_comment(line):
    """Removes a `# comment` that is outside double quotes."""
    in_quote = False
    for i, ch in enumerate(line):
        if ch == '"':
            in_quote = not in_quote
        elif ch == "#" and not in_quote and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def extract(text):
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = strip_comment(lines[i]).strip()
        i += 1
        words = line.split()
        if not words or words[0] not in COMMANDS:
            continue
        parts = [line]
        while parts[-1].endswith("\\") and i < len(lines):
            parts[-1] = parts[-1][:-1].rstrip()
            parts.append(strip_comment(lines[i]).strip())
            i += 1
        if parts[-1].endswith("\\"):
            parts[-1] = parts[-1][:-1].rstrip()
        cmd = " ".join(p for p in parts if p)
        if " + " in cmd:  # "MEMORY USAGE a + MEMORY USAGE b + ..." is prose, not a command
            continue
        out.append(cmd)
    return out


def load_commands():
    with open(CMD_FILE, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f if l.strip() and not l.lstrip().startswith("#")]


def cli(port, line, resp3=False):
    args = ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--no-raw"]
    if resp3:
        args.append("-3")
    p = subprocess.run(args, input=line + "\n", capture_output=True, text=True, timeout=30)
    out = p.stdout
    if p.returncode != 0 or p.stderr.strip():
        out += f"[redis-cli exit {p.returncode}; stderr: {p.stderr.strip()}]"
    return out


def kind(reply):
    r = reply.strip()
    if r.startswith("(integer)"):
        return "(integer) <n>"
    if r.startswith("(error)"):
        return "(error) <message>"
    if r.startswith("(nil)"):
        return "(nil)"
    return "<other>"


def main(argv):
    if len(argv) >= 2 and argv[0] == "--extract":
        with open(argv[1], encoding="utf-8") as f:
            for cmd in extract(f.read()):
                print(cmd)
        return 0
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    port, redis_port = int(argv[0]), int(argv[1])
    flush = "--flushall" in argv[2:]

    passed = failed = 0
    first = None

    def compare(name, ours, theirs):
        nonlocal passed, failed, first
        if ours == theirs:
            passed += 1
            return
        failed += 1
        msg = (f"{name}\n    ferrokv (port {port}):\n{indent(ours)}\n"
               f"    redis-server (port {redis_port}):\n{indent(theirs)}")
        print(f"FAIL {msg}", flush=True)
        if first is None:
            first = msg

    if flush:
        for p in (port, redis_port):
            cli(p, "FLUSHALL")

    commands = load_commands()
    for n, line in enumerate(commands, 1):
        ours, theirs = cli(port, line), cli(redis_port, line)
        if line.upper().startswith(KIND_ONLY):
            ours, theirs = kind(ours), kind(theirs)
        compare(f"command {n}: {line}", ours, theirs)

    # Final state of both servers, in RESP2 and RESP3.
    keys_ours, keys_theirs = key_names(cli(port, "KEYS *")), key_names(cli(redis_port, "KEYS *"))
    compare("final state: KEYS * (sorted)", "\n".join(keys_ours), "\n".join(keys_theirs))
    keys = [k.strip('"') for k in keys_theirs]
    for resp3 in (False, True):
        proto = "RESP3" if resp3 else "RESP2"
        for key in keys:
            q = '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
            for cmd in ("TYPE", "TTL", "HGETALL"):
                if cmd == "HGETALL" and cli(redis_port, f"TYPE {q}").strip() != "hash":
                    continue
                line = f"{cmd} {q}"
                compare(f"final state ({proto}): {line}", cli(port, line, resp3),
                        cli(redis_port, line, resp3))

    print(f"{len(commands)} tutorial commands, {len(keys)} keys in the final state", flush=True)
    if first is not None:
        print(f"\nfirst difference: {first}", file=sys.stderr)
    print(f"tutorial_cli.py: {passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


def key_names(out):
    """The quoted key names of redis-cli's KEYS output, without numbering, sorted."""
    return sorted(re.sub(r"^\s*\d+\) ", "", l) for l in out.splitlines()
                  if l.strip() and l.strip() != "(empty array)")


def indent(s):
    return "\n".join("      " + l for l in (s.rstrip("\n").split("\n") if s else ["<no output>"]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
