#!/usr/bin/env python3
"""Pub/sub fan-out, keel-kv beside redis-server: one publisher, N
subscribers of one channel (100 and 1,000). The publisher sends PUBLISH in
pipelined batches at a fixed rate for a few seconds; the subscribers (one
process, non-blocking sockets) count the messages they receive. Reports
messages delivered per second, the publish rate reached, and the server's
CPU time per delivered message (from /proc: the fair comparison when the
client process is the limit).

Each server is pinned to SERVER_CORE, the clients to CLIENT_CORE.
Usage: kv_pubsub.py KEEL_KV [SUBSCRIBERS...]   (default 100 1000); prints Markdown.
"""
import os
import resource
import selectors
import sys
import time

from kv_common import connect, cpu_seconds, encode, free_port, start_server

SERVER_CORE = os.environ.get("SERVER_CORE", "0")
CLIENT_CORE = os.environ.get("CLIENT_CORE", "1")
SECONDS = float(os.environ.get("SECONDS_PER_RUN", "5"))
PAYLOAD = b"p" * 32








def read_ready(selector, timeout):
    """Reads everything the subscribers' sockets have now; returns the bytes read."""
    total = 0
    for key, _ in selector.select(timeout=timeout):
        try:
            while True:
                chunk = key.fileobj.recv(1 << 18)
                if not chunk:
                    break
                total += len(chunk)
        except BlockingIOError:
            pass
    return total


def start(kind, keel_kv):
    port = free_port()
    process = start_server(kind, keel_kv, port, SERVER_CORE, keel_flags=("--max-clients", "4096"))
    connect(port).close()
    return process, port


def run(kind, keel_kv, subscribers):
    process, port = start(kind, keel_kv)
    try:
        selector = selectors.DefaultSelector()
        sockets = []
        for _ in range(subscribers):
            sock = connect(port)
            sock.sendall(encode(b"SUBSCRIBE", b"news"))
            sockets.append(sock)
        for sock in sockets:  # each confirmation ends with its count, ":1\r\n"
            data = b""
            while not data.endswith(b":1\r\n"):
                data += sock.recv(100)
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        # Every message is the same bytes: *3, message, news, the payload.
        message = len(encode(b"message", b"news", PAYLOAD))
        publisher = connect(port)
        publisher.setblocking(False)
        batch_size = 10
        batch = encode(b"PUBLISH", b"news", PAYLOAD) * batch_size
        # Aim at about 400,000 deliveries a second: what one Python reader can take.
        publishes_per_second = max(100, 400_000 // subscribers)
        received = 0
        published = 0
        pending_out = b""
        cpu_before = cpu_seconds(process.pid)
        started = time.monotonic()
        deadline = started + SECONDS
        while time.monotonic() < deadline:
            due = int((time.monotonic() - started) * publishes_per_second)
            if published < due and not pending_out:
                pending_out = batch
                published += batch_size
            if pending_out:
                try:
                    sent = publisher.send(pending_out)
                    pending_out = pending_out[sent:]
                except BlockingIOError:
                    pass
            try:
                while publisher.recv(1 << 16):
                    pass
            except BlockingIOError:
                pass
            received += read_ready(selector, timeout=0.001)
        elapsed = time.monotonic() - started
        # Drain what is in flight (counted, and the CPU it took).
        quiet_until = time.monotonic() + 1.0
        while time.monotonic() < quiet_until:
            drained = read_ready(selector, timeout=0.05)
            received += drained
            if drained:
                quiet_until = time.monotonic() + 0.2
        cpu = cpu_seconds(process.pid) - cpu_before
        delivered = received // message
        for sock in sockets:
            sock.close()
        publisher.close()
        return {
            "delivered_per_s": delivered / elapsed,
            "published_per_s": published / elapsed,
            "expected": published * subscribers,
            "delivered": delivered,
            "cpu_ns_per_message": cpu * 1e9 / max(delivered, 1),
        }
    finally:
        process.terminate()
        process.wait()


def main():
    keel_kv = sys.argv[1]
    counts = [int(a) for a in sys.argv[2:]] or [100, 1000]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print("| subscribers | server | publishes/s | messages delivered/s | delivered of published x subscribers "
          "| server CPU ns per delivered message |")
    print("|---|---|---|---|---|---|")
    ratios = []
    for subscribers in counts:
        results = {}
        for kind in ("keel-kv", "redis-server"):
            result = run(kind, keel_kv, subscribers)
            results[kind] = result
            print("| %d | %s | %.0f | %.0f | %d of %d | %.0f |" % (
                subscribers, kind, result["published_per_s"], result["delivered_per_s"], result["delivered"],
                result["expected"], result["cpu_ns_per_message"]), flush=True)
        ratios.append((subscribers, results["keel-kv"]["cpu_ns_per_message"]
                       / results["redis-server"]["cpu_ns_per_message"]))
    for subscribers, ratio in ratios:
        print("\n%d subscribers: keel-kv's server CPU per delivered message is %.2fx redis-server's" % (
            subscribers, ratio))


if __name__ == "__main__":
    main()
