#!/usr/bin/env python3
"""Summarises bench/redis.sh: per pipeline depth and test, the median
requests/s, p50 and p99 (ms) of keel-kv and redis-server over the rounds
(min-max in brackets), the keel-kv/redis ratio, the geometric mean of the
ratios, and each server's CPU per request.

Usage: summarize_redis.py OUT REQUESTS PIPELINE..."""
import csv
import glob
import math
import os
import statistics
import sys

out, requests, pipelines = sys.argv[1], int(sys.argv[2]), sys.argv[3:]


def load(server, pipeline):
    runs = []
    for path in sorted(glob.glob(os.path.join(out, "%s-P%s-*.csv" % (server, pipeline)))):
        with open(path) as f:
            rows = {row["test"]: row for row in csv.DictReader(f)}
        before, after = map(float, open(path[:-4] + ".cpu").read().split())
        runs.append((rows, after - before))
    return runs


def median_range(values):
    return statistics.median(values), min(values), max(values)


for pipeline in pipelines:
    kv, redis = load("keel-kv", pipeline), load("redis", pipeline)
    if not kv or not redis:
        continue
    tests = list(redis[0][0].keys())
    print("\nredis-benchmark -c 50 -P %s (%d requests per test, %d rounds); ratio = keel-kv / redis" % (
        pipeline, requests, len(kv)))
    print("%-36s %24s %24s %7s %18s %18s" % ("test", "keel-kv req/s", "redis req/s", "ratio", "p50 ms kv/redis",
                                              "p99 ms kv/redis"))
    ratios = []
    for test in tests:
        def field(runs, name):
            return [float(rows[test][name]) for rows, _ in runs if test in rows]
        k, r = field(kv, "rps"), field(redis, "rps")
        if not k or not r:
            continue
        km, rm = statistics.median(k), statistics.median(r)
        ratio = km / rm
        ratios.append(ratio)
        kp50, rp50 = statistics.median(field(kv, "p50_latency_ms")), statistics.median(field(redis, "p50_latency_ms"))
        kp99, rp99 = statistics.median(field(kv, "p99_latency_ms")), statistics.median(field(redis, "p99_latency_ms"))
        print("%-36s %10.0f (%5.0fk-%5.0fk) %10.0f (%5.0fk-%5.0fk) %6.2fx %8.3f / %-7.3f %8.3f / %-7.3f" % (
            test[:36], km, min(k) / 1e3, max(k) / 1e3, rm, min(r) / 1e3, max(r) / 1e3, ratio, kp50, rp50, kp99, rp99))
    geomean = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
    total = requests * len(tests)
    kcpu = statistics.median([cpu for _, cpu in kv]) / total * 1e6
    rcpu = statistics.median([cpu for _, cpu in redis]) / total * 1e6
    print("geometric mean of the ratios: %.2fx; lowest %.2fx (%s)" % (
        geomean, min(ratios), tests[ratios.index(min(ratios))]))
    print("server CPU per request: keel-kv %.3f us, redis %.3f us (keel-kv / redis %.2fx)" % (kcpu, rcpu, kcpu / rcpu))
