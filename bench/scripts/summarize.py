"""Prints compare.sh's table: medians (min-max) per server, ratio to Keel."""
import glob
import json
import os
import statistics
import sys

out, servers = sys.argv[1], sys.argv[2:]
# LOADS as compare.sh takes it: "CONNS PIPELINE SIZE" triples separated by commas.
configs = [tuple(load.split()) for load in
           os.environ.get("LOADS", "1 1 64,50 16 64,1000 1 64,50 4 4000").split(",")]


def load(pattern):
    return [json.load(open(path)) for path in sorted(glob.glob(os.path.join(out, pattern)))]


def spread(values, digits=0):
    if not values:
        return "n/a"
    fmt = "{:,.%df}" % digits
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def ratio(value, base):
    return f"{value / base:.2f}x" if base else "n/a"


print(f"\n### Throughput (msg/s) and p99 latency (µs), medians of {len(load('keel-1-1-64-*.json'))} rounds\n")
print("| load | " + " | ".join(f"{s} msg/s | {s} p99 µs" for s in servers) + " | " +
      " | ".join(f"{s}/keel msg/s" for s in servers if s != "keel") + " |")
print("|---" * (1 + 2 * len(servers) + len(servers) - 1) + "|")
for conns, pipeline, size in configs:
    row, medians = [], {}
    for server in servers:
        runs = load(f"{server}-{conns}-{pipeline}-{size}-*.json")
        throughput = [r["msgs_per_s"] for r in runs]
        p99 = [r["latency_us"]["p99"] for r in runs]
        bad = sum(r["mismatches"] + r["early_closes"] + r["errors"] for r in runs)
        medians[server] = statistics.median(throughput) if throughput else 0
        row += [spread(throughput) + (f" ⚠{bad}" if bad else ""), spread(p99, 1)]
    ratios = [ratio(medians[s], medians.get("keel", 0)) for s in servers if s != "keel"]
    print(f"| {conns} conns × pipeline {pipeline} × {size} B | " + " | ".join(row + ratios) + " |")

print("\n### Server CPU per message (µs), medians\n")
print("| load | " + " | ".join(servers) + " |")
print("|---" * (1 + len(servers)) + "|")
for conns, pipeline, size in configs:
    cells = []
    for server in servers:
        values = [r["server_cpu_us_per_msg"] for r in load(f"{server}-{conns}-{pipeline}-{size}-*.json")
                  if r.get("server_cpu_us_per_msg") is not None]
        cells.append(spread(values, 3))
    print(f"| {conns} × {pipeline} × {size} B | " + " | ".join(cells) + " |")

if os.environ.get("SKIP_MEMORY") == "1":
    sys.exit(0)
print("\n### Resident memory with 10,000 idle connections, medians\n")
print("| server | empty (KiB) | holding 10k (KiB) | per connection (bytes) |")
print("|---|---|---|---|")
for server in servers:
    all_runs = load(f"{server}-memory-*.json")
    if not all_runs:
        continue  # keel-busy: the same process as keel
    # Only runs that held every connection (10,000 idle + 1 active) with a
    # clean keel-bench run measured anything.
    runs = [r for r in all_runs if r.get("connections", 0) >= 10001 and r.get("bench_ok", False)]
    if len(runs) < len(all_runs):
        print(f"| {server} | {len(all_runs) - len(runs)} of {len(all_runs)} runs did not hold 10,001 connections "
              f"or keel-bench failed: left out | | |")
    if not runs:
        continue
    empty = [r["rss_empty_kib"] for r in runs]
    held = [r["rss_idle10k_kib"] for r in runs]
    per = [(r["rss_idle10k_kib"] - r["rss_empty_kib"]) * 1024 / r["connections"] for r in runs]
    print(f"| {server} | {spread(empty)} | {spread(held)} | {spread(per)} |")
