"""A replica attaching to a loaded server, keel-kv beside redis-server 7.0:
each server (pinned to core 0) gets KEYS string keys by pipelined MSET, then
a PING probe (core 1) sends a PING every millisecond while a raw SYNC
client asks for the snapshot. Reported per server: how long until the
snapshot's first byte and its last, its size, and the probe's slowest PING
and 99th percentile (what every other client waits while a replica
attaches). redis-server forks a child to write its snapshot; keel-kv writes
it a slice per tick. Prints a Markdown table.

Usage: kv_replica_attach.py KEELKV_BINARY [KEYS] [ROUNDS]"""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kv_common import connect, encode, free_port  # noqa: E402


def load(port, keys):
    sock = connect(port)
    for start in range(0, keys, 1000):
        args = [b"MSET"]
        for i in range(start, min(keys, start + 1000)):
            args += [b"key:%010d" % i, b"value:%09d" % i]
        sock.sendall(encode(*args))
    expected = ((keys + 999) // 1000) * 5
    got = b""
    while len(got) < expected:
        got += sock.recv(65536)
    sock.close()


def attach(port):
    """SYNC beside a PING probe: (first byte s, last byte s, bytes, max PING ms, p99 ms)."""
    latencies = []
    stop = threading.Event()

    def probe():
        sock = connect(port)
        while not stop.is_set():
            started = time.perf_counter()
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                reply += sock.recv(64)
            latencies.append(time.perf_counter() - started)
            time.sleep(0.001)
        sock.close()

    prober = threading.Thread(target=probe)
    prober.start()
    time.sleep(0.3)
    sock = connect(port)
    started = time.perf_counter()
    sock.sendall(b"SYNC\r\n")
    buffer = b""
    # Newlines are keepalives while the snapshot is prepared.
    while True:
        buffer += sock.recv(65536)
        buffer = buffer.lstrip(b"\n")
        if b"\r\n" in buffer:
            break
    first = time.perf_counter() - started
    head, rest = buffer.split(b"\r\n", 1)
    size, got = int(head[1:]), len(rest)
    while got < size:
        got += len(sock.recv(1 << 20))
    last = time.perf_counter() - started
    time.sleep(0.3)
    stop.set()
    prober.join()
    sock.close()
    ordered = sorted(latencies)
    return first, last, size, ordered[-1] * 1000, ordered[int(len(ordered) * 0.99)] * 1000


def run(command, keys):
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="replica-attach.")
    server = subprocess.Popen(["taskset", "-c", "0"] + command(port, workdir), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, cwd=workdir)
    try:
        load(port, keys)
        return attach(port)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main():
    keel = sys.argv[1]
    keys = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    os.sched_setaffinity(0, {1})
    servers = [
        ("keel-kv", lambda port, _: [keel, "--port", str(port)]),
        ("redis-server 7.0", lambda port, workdir: ["redis-server", "--port", str(port), "--save", "",
                                                    "--appendonly", "no", "--dir", workdir]),
    ]
    print("| server | keys | round | snapshot first byte | snapshot last byte | snapshot bytes | slowest PING | p99 PING |")
    print("|---|---|---|---|---|---|---|---|")
    for round_number in range(1, rounds + 1):
        for name, command in servers:
            first, last, size, worst, p99 = run(command, keys)
            print("| %s | %d | %d | %.0f ms | %.0f ms | %d | %.1f ms | %.1f ms |"
                  % (name, keys, round_number, first * 1000, last * 1000, size, worst, p99))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
