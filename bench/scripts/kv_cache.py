#!/usr/bin/env python3
"""A cache under maxmemory: keel-kv and redis-server with the same limit and
policy, the same requests.

Keys are drawn from 1,000,000 by a Zipf law (exponent 0.99: a few keys are
asked often, most rarely, as in a web cache), each a GET; a miss is
followed by a SET of a 100-byte value (cache-aside). The same seeded
sequence goes to each server: 1,000,000 requests to warm up, then
2,000,000 measured, pipelined 1,000 GETs at a time (and their SETs).
Reported: the hit ratio of the measured part, the keys held and
used_memory at its end, resident memory, keys evicted, and the server's
CPU time per request (user + system, /proc) over the measured part.
Each server is pinned to core 0, this client to core 1.

Usage: kv_cache.py KEEL_KV_BINARY [LIMIT [POLICY...]]
  LIMIT as redis-server takes it (default 32mb); POLICY default
  allkeys-lru allkeys-random. Prints a Markdown table.
"""
import os
import subprocess
import sys
import time

import numpy
import redis

from kv_common import cpu_seconds, free_port, rss_mib

KEYS = 1_000_000
WARMUP = 1_000_000
MEASURED = 2_000_000
BATCH = 1_000
VALUE = b"v" * 100


def requests(seed, count):
    """Key indices, Zipf-distributed over KEYS (rank r has weight 1/r^0.99)."""
    weights = 1.0 / numpy.arange(1, KEYS + 1) ** 0.99
    weights /= weights.sum()
    generator = numpy.random.default_rng(seed)
    # Ranks mapped to key names at random, so popular keys are not neighbours.
    names = generator.permutation(KEYS)
    return names[generator.choice(KEYS, size=count, p=weights)]


def run(client, keys):
    """Cache-aside over `keys`; (hits, requests sent)."""
    hits = sent = 0
    for start in range(0, len(keys), BATCH):
        batch = keys[start:start + BATCH]
        names = [b"key:%d" % k for k in batch]
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.get(name)
        replies = pipe.execute()
        misses = [name for name, reply in zip(names, replies) if reply is None]
        hits += len(names) - len(misses)
        for name in misses:
            pipe.set(name, VALUE)
        pipe.execute()
        sent += len(names) + len(misses)
    return hits, sent


def measure(name, command, keys):
    port = free_port()
    process = subprocess.Popen(["taskset", "-c", "0", *command(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port, protocol=2)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        run(client, keys[:WARMUP])
        cpu_before = cpu_seconds(process.pid)
        started = time.monotonic()
        hits, sent = run(client, keys[WARMUP:])
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(process.pid) - cpu_before
        memory, stats = client.info("memory"), client.info("stats")
        return {
            "server": name, "hit": hits / MEASURED, "keys": client.dbsize(), "used": memory["used_memory"] / 2**20,
            "rss": rss_mib(process.pid), "evicted": stats["evicted_keys"], "cpu_us": cpu / sent * 1e6,
            "rate": sent / elapsed,
        }
    finally:
        process.terminate()
        process.wait()


def main():
    os.sched_setaffinity(0, {1})
    binary = sys.argv[1]
    limit = sys.argv[2] if len(sys.argv) > 2 else "32mb"
    policies = sys.argv[3:] or ["allkeys-lru", "allkeys-random"]
    keys = requests(7, WARMUP + MEASURED)
    print("| policy (maxmemory %s) | server | hit ratio | keys held | used_memory MiB | resident MiB | keys evicted "
          "| server CPU µs/request | requests/s (client-bound) |" % limit)
    print("|---|---|---|---|---|---|---|---|---|")
    for policy in policies:
        servers = [
            ("keel-kv", lambda port: [binary, "--port", str(port), "--maxmemory", limit, "--maxmemory-policy", policy]),
            ("redis-server", lambda port: ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                                           "--maxmemory", limit, "--maxmemory-policy", policy]),
        ]
        for name, command in servers:
            result = measure(name, command, keys)
            print("| %s | %s | %.3f | %d | %.1f | %.1f | %d | %.2f | %.0f |" % (
                policy, result["server"], result["hit"], result["keys"], result["used"], result["rss"],
                result["evicted"], result["cpu_us"], result["rate"]), flush=True)


if __name__ == "__main__":
    main()
