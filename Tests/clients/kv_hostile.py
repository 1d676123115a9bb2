#!/usr/bin/env python3
"""Hostile clients against keel-kv: a client that pipelines thousands of
LRANGE 0 -1 on a big list without reading (the server's memory must stay
bounded by its output watermarks, and the client is served once it reads),
a bulk announced far beyond the limit (refused before buffering), a flood of
connections, garbage (refused; others unaffected), and the memory of a
million keys given back after FLUSHALL.

Usage: kv_hostile.py PORT PID     Exit status 0 only if every check passed.
"""
import socket
import sys
import time

failures = []


def check(description, condition):
    print(("ok   " if condition else "FAIL ") + description)
    if not condition:
        failures.append(description)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def command(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def read_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(min(1 << 20, count - len(data)))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(data), count))
        data += chunk
    return data


def lrange_flood(port, pid):
    setup = connect(port)
    element = b"x" * 100
    setup.sendall(command("DEL", "biglist"))
    for start in range(0, 10_000, 1_000):
        setup.sendall(command("RPUSH", "biglist", *([element] * 1_000)))
    replies = b""
    while replies.count(b"\r\n") < 11:
        replies += setup.recv(1000)
    check("a list of 10,000 elements is built", replies.endswith(b":10000\r\n"))
    setup.close()
    time.sleep(0.3)
    baseline = rss_kib(pid)
    reply = b"*10000\r\n" + b"$100\r\n" + element + b"\r\n"
    reply_size = len(b"*10000\r\n") + 10_000 * len(b"$100\r\n" + element + b"\r\n")
    flood = connect(port)
    flood.settimeout(3)
    requests = command("LRANGE", "biglist", "0", "-1") * 3_000  # 3 GB of replies
    sent = 0
    try:
        while sent < len(requests):
            sent += flood.send(requests[sent:sent + 65536])
    except socket.timeout:
        pass  # the server stopped reading us: backpressure
    time.sleep(1.0)
    peak = rss_kib(pid) - baseline
    check("pipelined LRANGE without reading: server memory grew %d KiB (< 64 MiB)" % peak, peak < 65536)
    flood.settimeout(20)
    first = read_exactly(flood, reply_size * 3)
    check("the flooding client is served once it reads", first.startswith(reply[:len(b"*10000\r\n$100\r\n")]))
    flood.close()


def huge_bulk(port):
    client = connect(port)
    client.sendall(b"*2\r\n$3\r\nGET\r\n$2000000000\r\n" + b"A" * 10_000)
    reply = client.recv(1000)
    check("a bulk announced beyond the limit is refused: %r" % reply, reply.startswith(b"-ERR Protocol error: invalid bulk length"))
    client.close()


def many_connections(port):
    clients = [connect(port) for _ in range(1_000)]
    for index, client in enumerate(clients):
        client.sendall(command("SET", "conn:%d" % index, index) + command("GET", "conn:%d" % index))
    good = 0
    for index, client in enumerate(clients):
        expected = b"+OK\r\n" + b"$%d\r\n%d\r\n" % (len(str(index)), index)
        if read_exactly(client, len(expected)) == expected:
            good += 1
        client.close()
    check("1,000 connections at once each set and read their own key (%d good)" % good, good == 1_000)


def garbage(port):
    bad = connect(port)
    bad.sendall(b"*1\r\n\x01\x02garbage\r\n")
    reply = bad.recv(1000)
    check("garbage gets a protocol error: %r" % reply, reply.startswith(b"-ERR Protocol error"))
    bad.close()
    good = connect(port)
    good.sendall(command("PING"))
    check("other clients are unaffected", good.recv(100) == b"+PONG\r\n")
    good.close()


def memory_after_flushall(port, pid):
    """Memory follows the store's frees: after FLUSHALL of a million keys
    resident memory falls back near where it was before they were set."""
    client = connect(port)
    client.settimeout(60)
    client.sendall(command("FLUSHALL"))
    read_exactly(client, 5)
    time.sleep(1.5)
    before = rss_kib(pid)
    batch = b"".join(command("SET", "m00:%06d" % i, "value-%06d" % i) for i in range(10_000))
    for round in range(100):
        client.sendall(batch.replace(b"m00:", b"m%02d:" % round))  # same lengths, other keys
        read_exactly(client, 5 * 10_000)
    loaded = rss_kib(pid)
    client.sendall(command("FLUSHALL"))
    read_exactly(client, 5)
    client.close()
    after = loaded
    for _ in range(100):
        time.sleep(0.1)
        after = rss_kib(pid)
        if after - before < 40 * 1024:
            break
    check("FLUSHALL of 1,000,000 keys gives memory back: %d MiB before, %d loaded, %d after"
          % (before // 1024, loaded // 1024, after // 1024), after - before < 40 * 1024 and loaded - before > 32 * 1024)


def main():
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    lrange_flood(port, pid)
    huge_bulk(port)
    many_connections(port)
    garbage(port)
    memory_after_flushall(port, pid)
    print("hostile clients: %d failures" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
