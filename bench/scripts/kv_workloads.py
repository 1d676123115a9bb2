#!/usr/bin/env python3
"""A cache's ordinary life, keel-kv beside redis-server (the store issue's
workloads). Each workload runs against a fresh server of each kind, pinned
to SERVER_CORE, with the load on CLIENT_CORE; latency comes from keel-bench's
open loop (measured from each request's intended send time).

  growth   SETs of new keys at 150,000/s for 15 s over a 3M keyspace: the
           table grows from nothing to 1.65M keys during the run.
  ttl      SETs of unique keys with PX 100 at 20,000/s for 20 s: keys held
           and resident memory at the end (expired keys not yet deleted).
  expiry   1M keys set with PX 100 through a pipeline: seconds until none
           is held (DBSIZE polled every 0.25 s; 30 s at most).
  pipe     10M SETs through redis-cli --pipe while a probe PINGs 1,000 times
           a second (keel-bench): the probe's p99.9 and max.
  delete   2M keys set, then DEL of every key: resident memory empty,
           loaded, and 10 s after the deletes.
  keys     1M keys set; while keel-bench's open loop GETs (1,000 other
           keys) at 20,000/s for 12 s, another client asks KEYS key:* (all
           1M) five times: the GETs' latency and how long each KEYS took.
  scan     the same with a whole SCAN (COUNT 100) iteration, over and over.
  quiet    the same open loop with nothing beside it: what the GETs' latency
           is here without KEYS or SCAN (the client's own noise included).

Usage: kv_workloads.py KEEL_KV KEEL_BENCH [WORKLOAD...]; prints Markdown.
Environment: SERVER_CORE, CLIENT_CORE (taskset lists), KV_THREADS.
"""
import json
import os
import subprocess
import sys
import time

from kv_common import connect, encode, free_port, rss_mib

SERVER_CORE = os.environ.get("SERVER_CORE", "0")
CLIENT_CORE = os.environ.get("CLIENT_CORE", "1")
# keel-kv's loops (--threads): with more than one, give SERVER_CORE as many
# cores (e.g. SERVER_CORE=0,1); redis-server stays single-threaded.
KV_THREADS = os.environ.get("KV_THREADS", "1")
# The pipe workload's probe shares CLIENT_CORE with redis-cli, busy
# throughout. It sleeps until each PING is due and, as root, runs SCHED_FIFO
# (PROBE_PRIORITY, default 10; 0: an ordinary process), so that what it
# measures is the server's delay, not its own wait for the core.
PROBE_PRIORITY = os.environ.get("PROBE_PRIORITY", "10" if os.geteuid() == 0 else "0")




def pipeline(sock, commands):
    """Sends commands in batches of 10,000, reading each batch's one-line replies."""
    for start in range(0, len(commands), 10_000):
        batch = commands[start:start + 10_000]
        sock.sendall(b"".join(batch))
        lines = 0
        while lines < len(batch):
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("connection closed")
            lines += chunk.count(b"\r\n")


def command(sock, *arguments):
    sock.sendall(encode(*arguments))
    data = b""
    while not data.endswith(b"\r\n"):
        data += sock.recv(4096)
    return data


def dbsize(sock):
    return int(command(sock, b"DBSIZE")[1:-2])


class Server:
    def __init__(self, kind, keel_kv):
        self.port = free_port()
        if kind == "keel-kv":
            argv = [keel_kv, "--port", str(self.port), "--log-level", "warning", "--threads", KV_THREADS]
        else:
            argv = ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(["taskset", "-c", SERVER_CORE] + argv,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.sock = connect(self.port)

    def stop(self):
        self.sock.close()
        self.process.terminate()
        self.process.wait()


def bench(keel_bench, port, *arguments):
    out = subprocess.run(["taskset", "-c", CLIENT_CORE, keel_bench, "--protocol", "resp", "--port", str(port),
                          "--json", "--quiet"] + list(arguments), capture_output=True, text=True)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise RuntimeError("keel-bench failed: %s %s" % (out.stdout[-500:], out.stderr[-500:]))


def latency_cells(result):
    lat = result["latency_us"]
    return "%d / %d / %d / %d µs, %d unanswered" % (
        lat["p50"], lat["p99"], lat["p999"], lat["max"], result.get("unanswered", 0))


def growth(server, tools):
    result = bench(tools["bench"], server.port, "--command", "SET key:__rand__ __data__", "--keyspace", "3000000",
                   "--rate", "150000", "--duration", "15", "--warmup", "1", "--size", "16", "--conns", "50")
    return "%s; %d keys" % (latency_cells(result), dbsize(server.sock))


def ttl(server, tools):
    result = bench(tools["bench"], server.port, "--command", "SET key:__rand__ __data__ PX 100", "--keyspace",
                   "1000000000", "--rate", "20000", "--duration", "20", "--warmup", "1", "--size", "16", "--conns", "50")
    return "%s; %d keys held, %.0f MiB" % (latency_cells(result), dbsize(server.sock), rss_mib(server.process.pid))


def expiry(server, tools):
    pipeline(server.sock, [encode(b"SET", b"ttl:%d" % i, b"value", b"PX", b"100") for i in range(1_000_000)])
    loaded = time.monotonic()
    while dbsize(server.sock) > 0 and time.monotonic() - loaded < 30:
        time.sleep(0.25)
    left = dbsize(server.sock)
    return "%s s to 0 keys" % ("%.2f" % (time.monotonic() - loaded)) if left == 0 else "%d keys left after 30 s" % left


def pipe(server, tools):
    priority = ["chrt", "-f", PROBE_PRIORITY] if PROBE_PRIORITY != "0" else []
    probe = subprocess.Popen(priority + ["taskset", "-c", CLIENT_CORE, tools["bench"], "--protocol", "resp", "--port",
                                         str(server.port), "--json", "--quiet", "--command", "ping", "--rate", "1000",
                                         "--sleep-until-due", "--conns", "1", "--duration", "60", "--warmup", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep(1)
    started = time.monotonic()
    with open(tools["pipe_file"], "rb") as source:
        subprocess.run(["taskset", "-c", CLIENT_CORE, "redis-cli", "-p", str(server.port), "--pipe"], stdin=source,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    took = time.monotonic() - started
    out, _ = probe.communicate()
    if not out.strip():
        raise RuntimeError("the probe printed nothing (exit %d)%s" % (
            probe.returncode, "; PROBE_PRIORITY=0 runs it without chrt" if priority else ""))
    result = json.loads(out.strip().splitlines()[-1])
    lat = result["latency_us"]
    return "%d keys in %.1f s; probe PING p99.9 %d µs, max %d µs" % (dbsize(server.sock), took, lat["p999"], lat["max"])


def delete(server, tools):
    empty = rss_mib(server.process.pid)
    pipeline(server.sock, [encode(b"SET", b"del:%010d" % i, b"value:%010d" % i) for i in range(2_000_000)])
    time.sleep(1)
    loaded = rss_mib(server.process.pid)
    pipeline(server.sock, [encode(b"DEL", b"del:%010d" % i) for i in range(2_000_000)])
    time.sleep(10)
    return "empty %.0f MiB, 2M keys %.0f MiB, 10 s after DEL of all %.0f MiB (+%.0f)" % (
        empty, loaded, rss_mib(server.process.pid), rss_mib(server.process.pid) - empty)


def read_exactly(sock, count):
    chunks = []
    while count > 0:
        chunk = sock.recv(min(count, 1 << 20))
        if not chunk:
            raise RuntimeError("connection closed")
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def beside_open_loop(server, tools, work):
    """Loads 1M keys, then runs `work(sock)` over and over (it returns
    what to report of one round) while keel-bench's open loop GETs."""
    pipeline(server.sock, [encode(b"SET", b"key:%07d" % i, b"v") for i in range(1_000_000)])
    probe = subprocess.Popen(["taskset", "-c", CLIENT_CORE, tools["bench"], "--protocol", "resp", "--port",
                              str(server.port), "--json", "--quiet", "--command", "GET probe:__rand__", "--keyspace",
                              "1000", "--rate", "20000", "--conns", "10", "--duration", "12", "--warmup", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep(2)
    rounds = []
    started = time.monotonic()
    while time.monotonic() - started < 9 and len(rounds) < 5:
        begun = time.monotonic()
        if work:
            work(server.sock)
        rounds.append(time.monotonic() - begun)
        time.sleep(0.5)
    out, _ = probe.communicate()
    result = json.loads(out.strip().splitlines()[-1])
    if not work:
        return "GET %s" % latency_cells(result)
    return "GET %s; %d rounds of %.0f-%.0f ms" % (latency_cells(result), len(rounds), min(rounds) * 1000,
                                                  max(rounds) * 1000)


def quiet(server, tools):
    return beside_open_loop(server, tools, None)


def keys(server, tools):
    def work(sock):
        sock.sendall(encode(b"KEYS", b"key:*"))
        reply = read_exactly(sock, len(b"*1000000\r\n") + 1_000_000 * len(b"$11\r\nkey:0000000\r\n"))
        assert reply.startswith(b"*1000000\r\n"), reply[:20]
    return beside_open_loop(server, tools, work)


def scan(server, tools):
    def work(sock):
        cursor, seen = b"0", 0
        while True:
            sock.sendall(encode(b"SCAN", cursor, b"COUNT", b"100"))
            data = b""
            while True:
                data += sock.recv(1 << 16)
                # *2, the cursor's bulk, then an array of keys (11 bytes each).
                lines = data.split(b"\r\n")
                if data.endswith(b"\r\n") and len(lines) >= 5 and len(lines) >= 5 + 2 * int(lines[3][1:]):
                    break
            cursor = lines[2]
            seen += int(lines[3][1:])
            if cursor == b"0":
                break
        assert seen >= 1_000_000, seen
    return beside_open_loop(server, tools, work)


WORKLOADS = {"growth": growth, "ttl": ttl, "expiry": expiry, "pipe": pipe, "delete": delete, "keys": keys,
             "scan": scan, "quiet": quiet}


def main():
    tools = {"kv": sys.argv[1], "bench": sys.argv[2]}
    chosen = sys.argv[3:] or list(WORKLOADS)
    if "pipe" in chosen:
        tools["pipe_file"] = "/tmp/keel-kv-pipe-10m.resp"
        if not os.path.exists(tools["pipe_file"]):
            with open(tools["pipe_file"] + ".part", "wb") as out:
                for start in range(0, 10_000_000, 100_000):
                    out.write(b"".join(encode(b"SET", b"pipe:%010d" % i, b"value:%010d" % i)
                                       for i in range(start, start + 100_000)))
            os.rename(tools["pipe_file"] + ".part", tools["pipe_file"])
    print("| workload | keel-kv | redis-server |")
    print("|---|---|---|")
    for name in chosen:
        cells = []
        for kind in ("keel-kv", "redis-server"):
            server = Server(kind, tools["kv"])
            try:
                cells.append(WORKLOADS[name](server, tools))
            finally:
                server.stop()
        print("| %s | %s | %s |" % (name, cells[0], cells[1]), flush=True)


if __name__ == "__main__":
    main()
