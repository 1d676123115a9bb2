#!/usr/bin/env python3
"""Summarises bench/tls.sh's redis-benchmark runs: per pipeline depth and
test, each server's median requests/s and server CPU µs per request over
the rounds, and the ratios the TLS issue asks about: keel-kv over TLS
against redis-server over TLS and against HAProxy terminating TLS in front
of keel-kv, and what TLS costs each server against its own plaintext.

Usage: summarize_tls.py OUT REQUESTS TESTS "SERVER..." PIPELINE..."""
import csv
import os
import statistics
import sys

out, requests, tests, servers, pipelines = (
    sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4].split(), sys.argv[5:])


def runs(server, pipeline, test):
    """[(requests/s, server CPU µs per request)] over the rounds."""
    found = []
    round_ = 1
    while True:
        stem = os.path.join(out, "%s-P%s-%s-%d" % (server, pipeline, test, round_))
        if not os.path.exists(stem + ".cpu"):
            return found
        try:
            rows = list(csv.DictReader(open(stem + ".csv")))
            before, after = map(float, open(stem + ".cpu").read().split())
            if rows:
                found.append((float(rows[-1]["rps"]), (after - before) * 1e6 / (requests * len(rows))))
        except (OSError, ValueError, KeyError):
            pass
        round_ += 1


def med(values):
    return statistics.median(values) if values else float("nan")


def ratio(a, b):
    return "%.2f×" % (a / b) if a == a and b == b and b else "-"


for pipeline in pipelines:
    print("\n### redis-benchmark -c 50 -P %s, %d requests per test; medians of the rounds\n" % (pipeline, requests))
    print("| test | " + " | ".join("%s req/s, CPU µs/req" % s for s in servers) + " |")
    print("|---|" + "---|" * len(servers))
    medians = {}
    for test in tests:
        cells = []
        for server in servers:
            found = runs(server, pipeline, test)
            rps, cpu = med([r for r, _ in found]), med([c for _, c in found])
            medians[(server, test)] = (rps, cpu)
            cells.append("{:,.0f}, {:.2f}".format(rps, cpu) if found else "-")
        print("| %s | %s |" % (test.upper(), " | ".join(cells)))
    print("\n| test | req/s keel-kv TLS / redis TLS | CPU/req keel-kv TLS / redis TLS | req/s keel-kv TLS / HAProxy+keel-kv "
          "| CPU/req keel-kv TLS / HAProxy+keel-kv | CPU/req TLS / plaintext, keel-kv | same, redis |")
    print("|---|---|---|---|---|---|---|")
    nan = (float("nan"), float("nan"))
    for test in tests:
        kt, rt = medians.get(("keel-kv-tls", test), nan), medians.get(("redis-tls", test), nan)
        ht, kp, rp = (medians.get((s, test), nan) for s in ("haproxy-tls", "keel-kv", "redis"))
        print("| %s | %s | %s | %s | %s | %s | %s |" % (
            test.upper(), ratio(kt[0], rt[0]), ratio(kt[1], rt[1]), ratio(kt[0], ht[0]), ratio(kt[1], ht[1]),
            ratio(kt[1], kp[1]), ratio(rt[1], rp[1])))
