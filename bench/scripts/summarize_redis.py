#!/usr/bin/env python3
"""Summarises bench/redis.sh: per pipeline depth and test, the median
requests/s, p50 and p99 (ms) of keel-kv and redis-server over the rounds
(min-max in brackets), the keel-kv/redis ratio and the geometric mean of the
ratios, each server's CPU per request, and how busy redis-benchmark's core
was (its CPU time over its wall time).

Usage: summarize_redis.py OUT REQUESTS TESTS PIPELINE..."""
import csv
import math
import os
import statistics
import sys

out, requests, tests, pipelines = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4:]


def run(server, pipeline, test, round_):
    """The test's row of redis-benchmark's CSV, server CPU µs per request, client core use."""
    stem = os.path.join(out, "%s-P%s-%s-%d" % (server, pipeline, test, round_))
    try:
        with open(stem + ".csv") as f:
            rows = list(csv.DictReader(f))
        before, after = map(float, open(stem + ".cpu").read().split())
        user, system, wall = map(float, open(stem + ".client").read().split())
    except (OSError, ValueError):
        return None
    if not rows:
        return None
    # lrange_* first runs an LPUSH of its own (to fill the list): the server
    # served every row, so these tests' CPU per request is over both.
    served = requests * len(rows)
    return {"row": rows[-1], "server_us": (after - before) * 1e6 / served, "client_busy": (user + system) / wall}


def runs(server, pipeline, test):
    found = []
    round_ = 1
    while os.path.exists(os.path.join(out, "%s-P%s-%s-%d.cpu" % (server, pipeline, test, round_))):
        result = run(server, pipeline, test, round_)
        if result:
            found.append(result)
        round_ += 1
    return found


def med(values):
    return statistics.median(values) if values else float("nan")


for pipeline in pipelines:
    print("\n### redis-benchmark -c 50 -P %s, %d requests per test; medians of rounds (min-max)\n" % (
        pipeline, requests))
    print("| test | keel-kv req/s | redis req/s | keel-kv / redis | p50 ms kv / redis | p99 ms kv / redis | "
          "server CPU µs/req kv / redis | redis-benchmark core busy kv / redis |")
    print("|---|---|---|---|---|---|---|---|")
    ratios, cpu_ratios, measured = [], [], []
    for test in tests:
        kv, redis = runs("keel-kv", pipeline, test), runs("redis", pipeline, test)
        if not kv or not redis:
            continue
        k = [float(r["row"]["rps"]) for r in kv]
        r = [float(x["row"]["rps"]) for x in redis]
        ratio = med(k) / med(r)
        ratios.append(ratio)
        measured.append(test)
        kcpu, rcpu = med([x["server_us"] for x in kv]), med([x["server_us"] for x in redis])
        cpu_ratios.append(kcpu / rcpu)
        print("| %s | %s (%s-%s) | %s (%s-%s) | %.2f× | %.3f / %.3f | %.3f / %.3f | %.2f / %.2f | %.0f%% / %.0f%% |" % (
            kv[0]["row"]["test"], "{:,.0f}".format(med(k)), "{:,.0f}".format(min(k)), "{:,.0f}".format(max(k)),
            "{:,.0f}".format(med(r)), "{:,.0f}".format(min(r)), "{:,.0f}".format(max(r)), ratio,
            med([float(x["row"]["p50_latency_ms"]) for x in kv]), med([float(x["row"]["p50_latency_ms"]) for x in redis]),
            med([float(x["row"]["p99_latency_ms"]) for x in kv]), med([float(x["row"]["p99_latency_ms"]) for x in redis]),
            kcpu, rcpu, 100 * med([x["client_busy"] for x in kv]), 100 * med([x["client_busy"] for x in redis])))
    if ratios:
        geomean = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
        cpu_geomean = math.exp(sum(math.log(x) for x in cpu_ratios) / len(cpu_ratios))
        print("\nGeometric mean of the throughput ratios %.2f×, lowest %.2f× (%s); of server CPU per request "
              "keel-kv / redis %.2f×." % (geomean, min(ratios), measured[ratios.index(min(ratios))], cpu_geomean))
