#!/usr/bin/env python3
"""CLIENT PAUSE and UNPAUSE on real sockets, on keel-kv with --threads 2
(held clients on both loops) and, when a redis-server binary is given, the
same checks on redis-server first, so that what is expected is what
redis-server does:

- WRITE: reads answer at once, writes wait (INFO's blocked_clients counts
  them), and UNPAUSE lets them all go, each client's commands in order;
- ALL with a timeout: every command waits until the pause ends by itself;
- keys do not expire while clients are paused (a read finds them gone,
  expired_keys does not move, DBSIZE still counts them), and do after.

Usage: kv_pause.py KEEL_KV_BINARY [REDIS_SERVER_BINARY]
Exit status 0 only if every check passed.
"""
import socket
import subprocess
import sys
import time

from kv_checks import check, failures, free_port


class Client:
    def __init__(self, port):
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buffer = b""

    def send(self, *words):
        parts = [b"*%d\r\n" % len(words)]
        for word in words:
            data = word if isinstance(word, bytes) else str(word).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.socket.sendall(b"".join(parts))

    def line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.socket.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-", b":"):
            return line
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            while len(self.buffer) < size + 2:
                chunk = self.socket.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                self.buffer += chunk
            data, self.buffer = self.buffer[:size], self.buffer[size + 2:]
            return data
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self.reply() for _ in range(count)]
        raise ValueError(line)

    def call(self, *words):
        self.send(*words)
        return self.reply()

    def answers_within(self, seconds):
        """Whether a reply arrives within `seconds` (it is then read)."""
        self.socket.settimeout(seconds)
        try:
            self.reply()
            return True
        except socket.timeout:
            return False
        finally:
            self.socket.settimeout(5)

    def close(self):
        self.socket.close()


def info_field(client, section, name):
    for line in client.call("INFO", section).decode().split("\r\n"):
        if line.startswith(name + ":"):
            return int(line.split(":", 1)[1])
    return None


def wait_for(condition, seconds=5):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def scenarios(port, name):
    admin = Client(port)
    admin.call("FLUSHALL")
    admin.call("SET", "k", "v")
    # Several clients: with --threads 2 some land on each loop.
    writers = [Client(port) for _ in range(6)]
    check(f"{name}: CLIENT PAUSE WRITE is OK", admin.call("CLIENT", "PAUSE", 100000, "WRITE") == b"+OK")
    reader = Client(port)
    check(f"{name}: a read answers while writes are paused", reader.call("GET", "k") == b"v")
    for index, writer in enumerate(writers):
        writer.send("SET", "k", index)
        writer.send("GET", "k")
    check(
        f"{name}: the paused writes are blocked_clients",
        wait_for(lambda: info_field(admin, "clients", "blocked_clients") == len(writers)))
    check(f"{name}: no paused write answered", not writers[0].answers_within(0.3))
    check(f"{name}: CLIENT UNPAUSE is OK", admin.call("CLIENT", "UNPAUSE") == b"+OK")
    replies = [(writer.reply(), writer.reply()) for writer in writers]
    check(f"{name}: each held client's commands ran in order", all(r[0] == b"+OK" and r[1] is not None for r in replies))
    check(f"{name}: nothing blocked after", info_field(admin, "clients", "blocked_clients") == 0)

    # ALL, ended by its own deadline.
    check(f"{name}: CLIENT PAUSE ALL is OK", admin.call("CLIENT", "PAUSE", 400, "ALL") == b"+OK")
    began = time.time()
    reader.send("PING")
    check(f"{name}: a PING waits under ALL", not reader.answers_within(0.15))
    check(f"{name}: and is answered when the pause ends", reader.answers_within(5) and time.time() - began >= 0.35)

    # The store stands still.
    expired = info_field(admin, "stats", "expired_keys")
    admin.send("MULTI")
    admin.send("SET", "soon", "x", "PX", 10)
    admin.send("SET", "later", "y", "PX", 10)
    admin.send("CLIENT", "PAUSE", 50000, "WRITE")
    admin.send("EXEC")
    for _ in range(5):
        admin.reply()
    time.sleep(0.25)  # a few active expiry cycles
    check(f"{name}: an expired key reads as missing while paused", admin.call("GET", "soon") is None)
    check(f"{name}: but is not deleted (DBSIZE)", admin.call("DBSIZE") == b":3")
    check(f"{name}: expired_keys does not move", info_field(admin, "stats", "expired_keys") == expired)
    admin.call("CLIENT", "UNPAUSE")
    admin.call("GET", "soon")
    admin.call("GET", "later")
    check(f"{name}: after UNPAUSE they expire", info_field(admin, "stats", "expired_keys") == expired + 2)
    for client in writers + [reader, admin]:
        client.close()


def run(argv, name):
    port = free_port()
    server = subprocess.Popen(argv + ["--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                Client(port).close()
                break
            except OSError:
                time.sleep(0.05)
        scenarios(port, name)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main():
    if len(sys.argv) > 2:
        run([sys.argv[2], "--save", "", "--appendonly", "no"], "redis-server")
    run([sys.argv[1], "--threads", "2"], "keel-kv --threads 2")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
