#!/usr/bin/env python3
"""keel-kv's --max-clients on a server of its own (raw sockets):

- with --threads 2 the limit holds over both loops: every client up to it
  is served at once, wherever the kernel puts it (with per-loop shares, a
  client below the limit used to wait unanswered in a full loop's backlog);
- a client over the limit is told `-ERR max number of clients reached` and
  closed, as redis-server does, and INFO counts it in rejected_connections;
- places freed by closes are taken again, round after round.

Usage: kv_client_limit.py KEEL_KV_BINARY     Exit status 0 only if every check passed.
"""
import socket
import subprocess
import sys
import time

from kv_checks import check, failures, free_port

LIMIT = 6


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def ask(client, command):
    """One inline command's reply line (up to 5 s), or '' at EOF."""
    client.sendall(command + b"\r\n")
    reply = b""
    while not reply.endswith(b"\r\n"):
        chunk = client.recv(4096)
        if not chunk:
            break
        reply += chunk
    return reply


def main(binary):
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--threads", "2", "--max-clients", str(LIMIT)], stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                connect(port).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.2)  # the probe's close is seen before the count matters
        clients = [connect(port) for _ in range(LIMIT)]
        replies = [ask(client, b"PING") for client in clients]
        check(f"{LIMIT} clients over two loops all served", replies == [b"+PONG\r\n"] * LIMIT)
        over = connect(port)
        over.settimeout(5)
        told = b""
        try:
            while True:
                chunk = over.recv(4096)
                if not chunk:
                    break
                told += chunk
        except OSError:
            pass
        over.close()
        check("a client over the limit is told so and closed", told == b"-ERR max number of clients reached\r\n")
        served_rounds = 0
        for _ in range(5):
            for client in clients[:3]:
                client.close()
            clients = clients[3:]
            time.sleep(0.1)
            fresh = [connect(port) for _ in range(3)]
            if all(ask(client, b"PING") == b"+PONG\r\n" for client in fresh):
                served_rounds += 1
            clients += fresh
        check("freed places are taken again (5 rounds of 3)", served_rounds == 5)
        time.sleep(1.2)  # Keel publishes its counters once a second
        info = ask(clients[0], b"INFO stats")
        while b"rejected_connections" not in info and b"# Stats" in info:
            chunk = clients[0].recv(65536)
            if not chunk:
                break
            info += chunk
        check("INFO counts the rejection", b"rejected_connections:1\r\n" in info)
        for client in clients:
            client.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
