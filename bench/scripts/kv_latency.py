#!/usr/bin/env python3
"""Latency at a fixed offered load, keel-kv beside redis-server: keel-bench's
open loop (each request timed from when it was due, so a stall counts
against every request it delays) at 100,000 and 200,000 requests/s over 50
connections, one command at a time: SET, GET, INCR, LPUSH, HSET, SADD,
ZADD. Each server is fresh per rate, pinned to SERVER_CORE; keel-bench to
CLIENT_CORE. Reports p50 / p99 / p99.9 / max, unanswered requests and the
server's CPU per request (from /proc; keel-bench's --server-pid).

Usage: kv_latency.py KEEL_KV KEEL_BENCH [RATE...]   (default 100000 200000)
  SECONDS_PER_RUN=5. Prints Markdown.
"""
import json
import os
import socket
import subprocess
import sys
import time

from kv_common import free_port, start_server

SERVER_CORE = os.environ.get("SERVER_CORE", "0")
CLIENT_CORE = os.environ.get("CLIENT_CORE", "1")
SECONDS = os.environ.get("SECONDS_PER_RUN", "5")
COMMANDS = [
    ("SET", ["--command", "SET key:__rand__ __data__", "--keyspace", "100000"]),
    ("GET", ["--command", "get", "--keyspace", "100000"]),
    ("INCR", ["--command", "INCR counter:__rand__", "--keyspace", "100000"]),
    ("LPUSH", ["--command", "LPUSH list:__rand__ __data__", "--keyspace", "1000"]),
    ("HSET", ["--command", "HSET hash:__rand__ field __data__", "--keyspace", "100000"]),
    ("SADD", ["--command", "SADD set:__rand__ __data__", "--keyspace", "100000"]),
    ("ZADD", ["--command", "ZADD zset:__rand__ __rand__ member", "--keyspace", "100000"]),
]




def start(kind, keel_kv):
    port = free_port()
    process = start_server(kind, keel_kv, port, SERVER_CORE)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("%s did not start" % kind)


def bench(keel_bench, port, pid, rate, arguments):
    out = subprocess.run(["taskset", "-c", CLIENT_CORE, keel_bench, "--protocol", "resp", "--port", str(port),
                          "--json", "--quiet", "--rate", str(rate), "--duration", SECONDS, "--warmup", "1",
                          "--conns", "50", "--size", "16", "--allow-errors", "--server-pid", str(pid)] + arguments,
                         capture_output=True, text=True)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise RuntimeError("keel-bench failed: %s %s" % (out.stdout[-500:], out.stderr[-500:]))


def main():
    keel_kv, keel_bench = sys.argv[1], sys.argv[2]
    rates = [int(a) for a in sys.argv[3:]] or [100_000, 200_000]
    print("| rate | command | server | req/s | p50 µs | p99 µs | p99.9 µs | max µs | unanswered | server CPU µs/req |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for rate in rates:
        results = {}
        for kind in ("keel-kv", "redis-server"):
            process, port = start(kind, keel_kv)
            try:
                for name, arguments in COMMANDS:
                    results[(kind, name)] = bench(keel_bench, port, process.pid, rate, arguments)
            finally:
                process.terminate()
                process.wait()
        for name, _ in COMMANDS:
            for kind in ("keel-kv", "redis-server"):
                result = results[(kind, name)]
                lat = result["latency_us"]
                cpu = result.get("server_cpu_us_per_msg") or 0
                print("| %d | %s | %s | %.0f | %d | %d | %d | %d | %d | %.2f |" % (
                    rate, name, kind, result["msgs_per_s"], lat["p50"],
                    lat["p99"], lat["p999"], lat["max"], result.get("unanswered", 0), cpu), flush=True)


if __name__ == "__main__":
    main()
