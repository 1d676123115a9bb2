#!/usr/bin/env python3
"""One command over a big collection, keel-kv beside redis-server: how long
each holds its server (the time from sending it to the reply's first byte,
the loop busy meanwhile), and the resident memory once the big values are
deleted. Each server is fresh, pinned to SERVER_CORE; this client runs on
CLIENT_CORE.

Loaded first: a sorted set z of 1M members (scores 0..999,999), z2 (the
same members, scores doubled), a hash h and a set s of 1M fields/members,
a list l of 1M numbers in no order. Then, one at a time: ZRANGE z 0 -1
[WITHSCORES], ZINTERSTORE, ZUNIONSTORE, SORT l, HRANDFIELD and SRANDMEMBER
with small and large counts, ZRANDMEMBER; then every key is deleted and
resident memory read 3 s later.

Usage: kv_big_commands.py KEEL_KV [ROUNDS=1]; prints Markdown (medians).
Environment: SERVER_CORE, CLIENT_CORE.
"""
import os
import socket
import statistics
import sys
import time

from kv_common import connect, encode, free_port, rss_mib, start_server

SERVER_CORE = os.environ.get("SERVER_CORE", "0")

COMMANDS = [
    ("ZRANGE z 0 -1",),
    ("ZRANGE z 0 -1 WITHSCORES",),
    ("ZINTERSTORE z3 2 z z2",),
    ("ZUNIONSTORE z4 2 z z2",),
    ("SORT l",),
    ("HRANDFIELD h 20",),
    ("HRANDFIELD h -1000",),
    ("SRANDMEMBER s 1000",),
    ("HRANDFIELD h 400000",),
    ("ZRANDMEMBER z 400000",),
    ("DEL z z2 z3 z4 h s l",),
]


def load(sock):
    chunk = 10_000
    for start in range(0, 1_000_000, chunk):
        batch = [encode(b"ZADD", b"z", *sum(([b"%d" % j, b"m%d" % j] for j in range(start, start + chunk)), [])),
                 encode(b"ZADD", b"z2", *sum(([b"%d" % (2 * j), b"m%d" % j] for j in range(start, start + chunk)),
                                             [])),
                 encode(b"HSET", b"h", *sum(([b"f%d" % j, b"%d" % j] for j in range(start, start + chunk)), [])),
                 encode(b"SADD", b"s", *[b"m%d" % j for j in range(start, start + chunk)]),
                 encode(b"RPUSH", b"l", *[b"%d" % ((j * 7919) % 1_000_003) for j in range(start, start + chunk)])]
        sock.sendall(b"".join(batch))
        read_replies(sock, len(batch))


def read_replies(sock, count):
    """Reads until `count` short replies (integers, status) came."""
    data = b""
    while data.count(b"\r\n") < count:
        data += sock.recv(1 << 16)


def timed(sock, words):
    """Milliseconds to the reply's first byte; the whole reply is drained."""
    started = time.perf_counter()
    sock.sendall(encode(*[w.encode() for w in words]))
    sock.settimeout(60)
    first = sock.recv(1 << 20)
    elapsed = (time.perf_counter() - started) * 1000
    sock.settimeout(0.5)
    try:
        while sock.recv(1 << 20):
            pass
    except socket.timeout:
        pass
    assert first, "no reply"
    return elapsed


def run(kind, keel_kv):
    port = free_port()
    process = start_server(kind, keel_kv, port, SERVER_CORE)
    try:
        sock = connect(port)
        empty = rss_mib(process.pid)
        load(sock)
        loaded = rss_mib(process.pid)
        times = {" ".join(c): timed(sock, c[0].split()) for c in COMMANDS}
        time.sleep(3)
        return times, (empty, loaded, rss_mib(process.pid))
    finally:
        process.terminate()
        process.wait()


def main():
    keel_kv = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    results = {"keel-kv": [], "redis": []}
    for _ in range(rounds):
        for kind in results:
            results[kind].append(run(kind, keel_kv))
    print("| command (1M elements) | keel-kv ms | redis-server ms | keel-kv / redis |")
    print("|---|---|---|---|")
    for command in COMMANDS:
        name = " ".join(command)
        kv = statistics.median(r[0][name] for r in results["keel-kv"])
        redis = statistics.median(r[0][name] for r in results["redis"])
        print(f"| `{name}` | {kv:.1f} | {redis:.1f} | {kv / redis:.2f} |")
    print()
    print("| resident MiB | keel-kv | redis-server |")
    print("|---|---|---|")
    for index, label in enumerate(["empty", "loaded", "3 s after DEL of everything"]):
        kv = statistics.median(r[1][index] for r in results["keel-kv"])
        redis = statistics.median(r[1][index] for r in results["redis"])
        print(f"| {label} | {kv:.0f} | {redis:.0f} |")


if __name__ == "__main__":
    main()
