#!/usr/bin/env python3
"""Geospatial commands over a big index, keel-kv beside redis-server: each
server fresh and pinned to SERVER_CORE, redis-benchmark on CLIENT_CORE.

Loaded first (pipelined GEOADDs of 1,000 points, timed): 1,000,000 points,
half spread over the world, half within a degree of Palermo (about 13
points per km², so a 1 km search finds about 40). Resident memory is read
once loaded. Then redis-benchmark runs each
query for REQUESTS requests, members drawn at random (__rand_int__): with
50 clients and no pipelining (requests/s, where the client and the
syscalls weigh), and with 10 clients pipelining 16 (the server's CPU time
per request, read from /proc around the run: the command's own cost).

Usage: kv_geo.py KEEL_KV [ROUNDS=1] [REQUESTS=100000]; prints Markdown
(medians over rounds). Environment: SERVER_CORE, CLIENT_CORE.
"""
import os
import random
import statistics
import subprocess
import sys
import time

from kv_common import connect, cpu_seconds, encode, free_port, rss_mib, start_server

SERVER_CORE = os.environ.get("SERVER_CORE", "0")
CLIENT_CORE = os.environ.get("CLIENT_CORE", "1")
POINTS = 1_000_000

# redis-benchmark writes __rand_int__ as 12 digits, so the members are
# named the same way.
QUERIES = [
    ("GEOSEARCH 1 km", "GEOSEARCH pts FROMLONLAT 13.36 38.11 BYRADIUS 1 km"),
    ("GEOSEARCH 1 km WITHDIST ASC", "GEOSEARCH pts FROMLONLAT 13.36 38.11 BYRADIUS 1 km WITHDIST ASC"),
    ("GEOSEARCH 2x2 km box COUNT 10", "GEOSEARCH pts FROMLONLAT 13.5 38.3 BYBOX 2 2 km COUNT 10"),
    ("GEOSEARCH 300 km COUNT 5 ANY (world)", "GEOSEARCH pts FROMLONLAT 0 0 BYRADIUS 300 km COUNT 5 ANY"),
    ("GEORADIUSBYMEMBER 1 km", "GEORADIUSBYMEMBER pts p__rand_int__ 1 km"),
    ("GEOPOS", "GEOPOS pts p__rand_int__"),
    ("GEODIST", "GEODIST pts p__rand_int__ p000000000001 km"),
    ("GEOHASH", "GEOHASH pts p__rand_int__"),
    ("GEOADD (a new member)", "GEOADD fresh 13.__rand_int__ 38.5 m__rand_int__"),
]


def load(sock):
    rng = random.Random(7)
    started = time.perf_counter()
    for start in range(0, POINTS, 1000):
        words = [b"GEOADD", b"pts"]
        for index in range(start, start + 1000):
            if index % 2:
                longitude, latitude = 13.36 + rng.uniform(-1, 1), 38.11 + rng.uniform(-0.8, 0.8)
            else:
                longitude, latitude = rng.uniform(-180, 180), rng.uniform(-60, 70)
            words += [b"%.6f" % longitude, b"%.6f" % latitude, b"p%012d" % index]
        sock.sendall(encode(*words))
        reply = b""
        while not reply.endswith(b"\r\n"):
            reply += sock.recv(256)
        assert reply.startswith(b":"), reply
    return POINTS / (time.perf_counter() - started)


def benchmark(port, pid, command, requests, pipeline):
    before = cpu_seconds(pid)
    clients = "50" if pipeline == 1 else "10"
    out = subprocess.run(["taskset", "-c", CLIENT_CORE, "redis-benchmark", "-p", str(port), "-c", clients, "-n",
                          str(requests), "-r", str(POINTS), "-P", str(pipeline), "--csv"] + command.split(),
                         capture_output=True, text=True, timeout=600).stdout
    cpu = cpu_seconds(pid) - before
    rows = [line for line in out.splitlines() if line and not line.startswith('"test"')]
    rps = float(rows[-1].split(",")[1].strip('"'))
    return rps, cpu / requests * 1e6


def run(kind, keel_kv, requests):
    port = free_port()
    process = start_server(kind, keel_kv, port, SERVER_CORE)
    try:
        sock = connect(port)
        loaded_rate = load(sock)
        sock.sendall(encode(b"GEOSEARCH", b"pts", b"FROMLONLAT", b"13.36", b"38.11", b"BYRADIUS", b"1", b"km"))
        time.sleep(0.2)
        found = sock.recv(1 << 20).split(b"\r\n", 1)[0]
        memory = rss_mib(process.pid)
        results = {name: (benchmark(port, process.pid, command, requests, 1),
                          benchmark(port, process.pid, command, requests, 16)) for name, command in QUERIES}
        return loaded_rate, memory, found, results
    finally:
        process.terminate()
        process.wait()


def main():
    keel_kv = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    requests = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    runs = {"keel-kv": [], "redis": []}
    for _ in range(rounds):
        for kind in runs:
            runs[kind].append(run(kind, keel_kv, requests))
    kv, redis = runs["keel-kv"], runs["redis"]
    print(f"1,000,000 points; the 1 km search finds {kv[0][2].decode()[1:]} (keel-kv), "
          f"{redis[0][2].decode()[1:]} (redis-server)")
    print()
    print("| query | P1 req/s keel-kv | redis-server | keel-kv / redis | P16 server CPU µs/req keel-kv | "
          "redis-server | keel-kv / redis |")
    print("|---|---|---|---|---|---|---|")
    for name, _ in QUERIES:
        a = statistics.median(r[3][name][0][0] for r in kv)
        b = statistics.median(r[3][name][0][0] for r in redis)
        ca = statistics.median(r[3][name][1][1] for r in kv)
        cb = statistics.median(r[3][name][1][1] for r in redis)
        print(f"| {name} | {a:,.0f} | {b:,.0f} | {a / b:.2f}× | {ca:.1f} | {cb:.1f} | {ca / cb:.2f}× |")
    print()
    a = statistics.median(r[0] for r in kv)
    b = statistics.median(r[0] for r in redis)
    print("| | keel-kv | redis-server | keel-kv / redis |")
    print("|---|---|---|---|")
    print(f"| loading (GEOADD, 1,000 points a request) | {a:,.0f} points/s | {b:,.0f} points/s | {a / b:.2f}× |")
    a = statistics.median(r[1] for r in kv)
    b = statistics.median(r[1] for r in redis)
    print(f"| resident MiB, loaded | {a:.0f} | {b:.0f} | {a / b:.2f}× |")


if __name__ == "__main__":
    main()
