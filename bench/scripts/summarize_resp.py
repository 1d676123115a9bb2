#!/usr/bin/env python3
"""Summarises bench/resp.sh: keel-bench against redis-benchmark on each
server (requests/s medians with min-max, their ratio, CPU per request of
each client and of the server), then the stall runs' percentiles.

Usage: summarize_resp.py OUT SERVER..."""
import csv
import glob
import json
import os
import statistics
import sys

out, servers = sys.argv[1], sys.argv[2:]


def read_cpu(path):
    user, system, wall = map(float, open(path).read().split())
    return user + system, wall


def server_cpu(path):
    before, after = map(float, open(path).read().split())
    return after - before


def redis_benchmark(path):
    """requests/s and latency (ms) fields of redis-benchmark's CSV, and requests done."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    return rows[-1]


def runs(server, pipeline, test, tool):
    found = []
    for path in sorted(glob.glob(os.path.join(out, "%s-P%s-%s-%s-*.out" % (server, pipeline, test, tool)))):
        stem = path[:-4]
        client_cpu, wall = read_cpu(stem + ".cpu")
        server_seconds = server_cpu(stem + ".server")
        if tool == "redis-benchmark":
            row = redis_benchmark(path)
            if row is None:
                continue
            rps = float(row["rps"])
            requests = rps * wall  # redis-benchmark's -n, within its start-up
            found.append({"rps": rps, "client_us": client_cpu * 1e6 / max(requests, 1),
                          "server_us": server_seconds * 1e6 / max(requests, 1)})
        else:
            try:
                result = json.load(open(path))
            except ValueError:
                continue
            total = result["total_messages"]
            found.append({"rps": result["msgs_per_s"], "client_us": client_cpu * 1e6 / max(total, 1),
                          "server_us": server_seconds * 1e6 / max(total, 1),
                          "clean": result["mismatches"] == 0 and result["error_replies"] == 0})
    return found


def med(values, digits=0):
    if not values:
        return "-"
    m = statistics.median(values)
    fmt = "{:,.%df}" % digits
    return "%s (%s-%s)" % (fmt.format(m), fmt.format(min(values)), fmt.format(max(values)))


pipelines = sorted({int(p.split("-P")[1].split("-")[0]) for p in glob.glob(os.path.join(out, "*-P*-*.out"))})
print("\n### keel-bench against redis-benchmark, closed loop (medians of rounds, min-max)\n")
print("| server | load | redis-benchmark req/s | keel-bench req/s | keel-bench / redis-benchmark | "
      "client CPU µs/req (rb / kb) | server CPU µs/req (rb / kb) |")
print("|---|---|---|---|---|---|---|")
for server in servers:
    for pipeline in pipelines:
        for test in ["set", "get"]:
            rb, kb = runs(server, pipeline, test, "redis-benchmark"), runs(server, pipeline, test, "keel-bench")
            if not rb or not kb:
                continue
            ratio = statistics.median(r["rps"] for r in kb) / statistics.median(r["rps"] for r in rb)
            dirty = "" if all(r.get("clean", True) for r in kb) else " (keel-bench saw mismatches!)"
            print("| %s | %s × P%d | %s | %s | %.2f× | %.3f / %.3f | %.3f / %.3f |%s" % (
                server, test.upper(), pipeline, med([r["rps"] for r in rb]), med([r["rps"] for r in kb]), ratio,
                statistics.median(r["client_us"] for r in rb), statistics.median(r["client_us"] for r in kb),
                statistics.median(r["server_us"] for r in rb), statistics.median(r["server_us"] for r in kb), dirty))

stalls = [s for s in servers if os.path.exists(os.path.join(out, "%s-stall-keel-bench.out" % s))]
if stalls:
    print("\n### A server stall (SIGSTOP) in the middle of a run: what each tool's percentiles show (ms)\n")
    print("| server | tool | loop | req/s | p50 | p99 | p99.9 | max |")
    print("|---|---|---|---|---|---|---|---|")
    for server in stalls:
        result = json.load(open(os.path.join(out, "%s-stall-keel-bench.out" % server)))
        lat = result["latency_us"]
        print("| %s | keel-bench | open, %s req/s | %s | %.3f | %.3f | %.3f | %.3f |" % (
            server, result["rate"], "{:,.0f}".format(result["msgs_per_s"]), lat["p50"] / 1000, lat["p99"] / 1000,
            lat["p999"] / 1000, lat["max"] / 1000))
        row = redis_benchmark(os.path.join(out, "%s-stall-redis-benchmark.out" % server))
        _, wall = read_cpu(os.path.join(out, "%s-stall-redis-benchmark.cpu" % server))
        if row:
            note = "" if wall > 2.5 else " (ended before the stall: raise STALL_REQUESTS)"
            print("| %s | redis-benchmark | closed | %s | %s | %s | (not reported) | %s |%s" % (
                server, "{:,.0f}".format(float(row["rps"])), row["p50_latency_ms"], row["p99_latency_ms"],
                row["max_latency_ms"], note))
