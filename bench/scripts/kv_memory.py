#!/usr/bin/env python3
"""Memory per key: keel-kv and redis-server, each loaded the same way.

For each workload a fresh server of each kind starts, its resident memory
is read after one PING, the keys are written through one pipelined
connection (10,000 commands per write), and resident memory is read again
after a pause; per key = (after - before) / keys. Then every key is deleted
(FLUSHALL) and resident memory is read once more after 10 s, as the store
issue asks of DEL and FLUSHALL.

Usage: kv_memory.py KEEL_KV_BINARY [WORKLOAD...]
Prints a Markdown table.
"""
import os
import subprocess
import sys
import time

from kv_common import connect, encode, free_port

WORKLOADS = {
    # name: (keys, commands for key i)
    "strings 14 B key, 16 B value": (1_000_000, lambda i: [[b"SET", b"key:%010d" % i, b"value:%010d" % i]]),
    "hashes of 10 fields": (100_000, lambda i: [[b"HSET", b"hash:%08d" % i] + sum(([b"field:%d" % f, b"value:%d" % (i + f)] for f in range(10)), [])]),
    "lists of 10": (100_000, lambda i: [[b"RPUSH", b"list:%08d" % i] + [b"element:%d" % (i + e) for e in range(10)]]),
    "sets of 10 strings": (100_000, lambda i: [[b"SADD", b"set:%08d" % i] + [b"member:%d" % (i + m) for m in range(10)]]),
    "sets of 10 integers": (100_000, lambda i: [[b"SADD", b"ints:%08d" % i] + [b"%d" % (i * 10 + m) for m in range(10)]]),
    "sorted sets of 10": (100_000, lambda i: [[b"ZADD", b"zset:%08d" % i] + sum(([b"%d" % (m * 3), b"member:%d" % (i + m)] for m in range(10)), [])]),
}




def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")






def read_replies(sock, count):
    """Reads `count` replies of one line each (+OK, :n, or an error)."""
    buffer = b""
    seen = 0
    while seen < count:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise RuntimeError("connection closed")
        buffer += chunk
        seen += buffer.count(b"\r\n")
        if b"-" in buffer[:1] or b"\r\n-" in buffer:
            raise RuntimeError("error reply: %r" % buffer[:200])
        buffer = buffer[buffer.rfind(b"\r\n") + 2:]


def measure(command, workload):
    keys, make = WORKLOADS[workload]
    port = free_port()
    process = subprocess.Popen(command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        sock = connect(port)
        sock.sendall(b"PING\r\n")
        read_replies(sock, 1)
        time.sleep(0.5)
        before = rss_kib(process.pid)
        batch = []
        for i in range(keys):
            batch.extend(encode(*arguments) for arguments in make(i))
            if len(batch) >= 10_000 or i == keys - 1:
                sock.sendall(b"".join(batch))
                read_replies(sock, len(batch))
                batch = []
        time.sleep(1)
        loaded = rss_kib(process.pid)
        sock.sendall(encode(b"FLUSHALL"))
        read_replies(sock, 1)
        time.sleep(10)
        emptied = rss_kib(process.pid)
        return before, loaded, emptied, keys
    finally:
        process.terminate()
        process.wait()


def main():
    binary = sys.argv[1]
    chosen = sys.argv[2:] or list(WORKLOADS)
    servers = {
        "keel-kv": lambda port: ["taskset", "-c", os.environ.get("SERVER_CORE", "0"), binary, "--port", str(port), "--log-level", "warning"],
        "redis-server": lambda port: ["taskset", "-c", os.environ.get("SERVER_CORE", "0"), "redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
    }
    print("| workload | keys | keel-kv B/key | redis-server B/key | ratio | keel-kv after FLUSHALL +10 s (MiB over empty) | redis-server (MiB over empty) |")
    print("|---|---|---|---|---|---|---|")
    for workload in chosen:
        results = {}
        for name, command in servers.items():
            results[name] = measure(command, workload)
        per_key = {name: (loaded - before) * 1024 / keys for name, (before, loaded, _, keys) in results.items()}
        left = {name: (emptied - before) / 1024 for name, (before, _, emptied, _) in results.items()}
        print("| %s | %d | %.0f | %.0f | %.2f× | %.1f | %.1f |" % (
            workload, results["keel-kv"][3], per_key["keel-kv"], per_key["redis-server"],
            per_key["keel-kv"] / per_key["redis-server"], left["keel-kv"], left["redis-server"]), flush=True)


if __name__ == "__main__":
    main()
