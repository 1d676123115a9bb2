#!/usr/bin/env python3
"""Hostile clients against keel-kv: a client that pipelines thousands of
LRANGE 0 -1 on a big list without reading (the server's memory must stay
bounded by its output watermarks, and the client is served once it reads),
a bulk announced far beyond the limit (refused before buffering), a flood of
connections, garbage (refused; others unaffected), the memory of a
million keys given back after FLUSHALL, 10,000 subscriptions on one
connection, a MULTI that queues a million commands (refused past the
queue's limit), a WATCH on a million keys, a subscriber that never
reads (closed at its output cap; the publisher goes on), and replicas that
stop reading, before or after their snapshot (cut off at the replicas'
limit, their queued stream dropped at once; a replica that reads and the
writer go on).

Usage: kv_hostile.py PORT PID     Exit status 0 only if every check passed.
"""
import socket
import sys
import threading
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


def read_replies(sock, count, buffer=b""):
    """Reads `count` simple replies (one line each); returns them and the rest."""
    lines = []
    while len(lines) < count:
        while b"\r\n" not in buffer:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise EOFError("closed after %d of %d replies" % (len(lines), count))
            buffer += chunk
        parts = buffer.split(b"\r\n")
        buffer = parts[-1]
        lines += parts[:-1]
    return lines[:count], b"".join(line + b"\r\n" for line in lines[count:]) + buffer


def many_subscriptions(port, pid):
    """10,000 channels on one connection: each confirmed, reachable, and all
    dropped by one UNSUBSCRIBE."""
    listener = connect(port)
    listener.settimeout(30)
    before = rss_kib(pid)
    listener.sendall(b"".join(command("SUBSCRIBE", *["ch:%05d" % i for i in range(start, start + 1_000)])
                              for start in range(0, 10_000, 1_000)))
    confirmations = b""
    while confirmations.count(b"subscribe") < 10_000:
        chunk = listener.recv(1 << 20)
        if not chunk:
            break
        confirmations += chunk
    check("10,000 SUBSCRIBEs on one connection are confirmed", confirmations.endswith(b":10000\r\n"))
    publisher = connect(port)
    publisher.sendall(command("PUBLISH", "ch:09999", "hello"))
    check("a publish reaches its one subscriber", publisher.recv(100) == b":1\r\n")
    check("the subscriber receives it", b"hello" in listener.recv(1000))
    listener.sendall(command("UNSUBSCRIBE"))
    total = b""
    while total.count(b"unsubscribe") < 10_000:
        chunk = listener.recv(1 << 20)
        if not chunk:
            break
        total += chunk
    publisher.sendall(command("PUBSUB", "NUMSUB", "ch:00000"))
    check("UNSUBSCRIBE drops all 10,000", total.endswith(b":0\r\n") and publisher.recv(100).endswith(b":0\r\n"))
    check("10,000 subscriptions cost %d KiB (< 32 MiB)" % (rss_kib(pid) - before), rss_kib(pid) - before < 32 * 1024)
    listener.close()
    publisher.close()


def huge_transaction(port, pid):
    """MULTI then a million commands: the queue stops at its limit with an
    error per refused command, EXEC aborts, memory stays bounded."""
    client = connect(port)
    client.settimeout(60)
    before = rss_kib(pid)
    client.sendall(command("MULTI"))
    rest = b""
    _, rest = read_replies(client, 1, rest)
    batch = command("INCR", "counter") * 10_000
    queued = refused = 0
    for _ in range(100):
        client.sendall(batch)
        replies, rest = read_replies(client, 10_000, rest)
        queued += replies.count(b"+QUEUED")
        refused += sum(1 for r in replies if r.startswith(b"-ERR Transaction queue is full"))
    client.sendall(command("EXEC"))
    replies, rest = read_replies(client, 1, rest)
    check("a MULTI of 1,000,000 commands queues %d and refuses %d" % (queued, refused),
          queued == 100_000 and refused == 900_000)
    check("its EXEC aborts: %r" % replies[0], replies[0].startswith(b"-EXECABORT"))
    check("it grew the server by %d KiB (< 128 MiB)" % (rss_kib(pid) - before), rss_kib(pid) - before < 128 * 1024)
    client.sendall(command("GET", "counter"))
    check("nothing of it ran", client.recv(100) == b"$-1\r\n")
    client.close()


def huge_watch(port):
    """WATCH on a million keys, then a transaction: it runs, and a write to
    one watched key by another client fails the next one."""
    client = connect(port)
    client.settimeout(60)
    for start in range(0, 1_000_000, 10_000):
        client.sendall(command("WATCH", *["w:%07d" % i for i in range(start, start + 10_000)]))
        read_exactly(client, 5)
    other = connect(port)
    other.sendall(command("SET", "w:0999999", "changed"))
    read_exactly(other, 5)
    client.sendall(command("MULTI") + command("SET", "done", "1") + command("EXEC"))
    check("a WATCH of 1,000,000 keys sees one of them written", read_exactly(client, 5 + 9 + 5) == b"+OK\r\n+QUEUED\r\n*-1\r\n")
    client.sendall(command("MULTI") + command("SET", "done", "1") + command("EXEC"))
    check("after EXEC the watch is gone", read_exactly(client, 5 + 9 + 9) == b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n")
    client.close()
    other.close()


def subscriber_that_never_reads(port):
    """A subscriber that stops reading is closed at its output cap (16 MiB);
    the publisher and a reading subscriber go on."""
    idle = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    idle.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    idle.connect(("127.0.0.1", port))
    idle.sendall(command("SUBSCRIBE", "firehose"))
    time.sleep(0.2)
    reader = connect(port)
    reader.sendall(command("SUBSCRIBE", "firehose"))
    read_exactly(reader, len(b"*3\r\n$9\r\nsubscribe\r\n$8\r\nfirehose\r\n:1\r\n"))
    publisher = connect(port)
    publisher.settimeout(30)
    message = b"m" * 4096
    counts = []
    received = 0
    for _ in range(10_000):  # 40 MiB, more than the cap
        publisher.sendall(command("PUBLISH", "firehose", message))
        reply = b""
        while not reply.endswith(b"\r\n"):
            reply += publisher.recv(100)
        counts.append(int(reply[1:-2]))
        while True:  # the reading subscriber keeps up
            try:
                reader.setblocking(False)
                chunk = reader.recv(1 << 20)
                received += len(chunk)
                if not chunk:
                    break
            except BlockingIOError:
                break
        reader.setblocking(True)
    check("the publisher went on: the non-reader dropped from 2 receivers to 1 (last %d)" % counts[-1],
          counts[0] == 2 and counts[-1] == 1)
    check("the reading subscriber kept receiving (%d MiB)" % (received >> 20), received > 30 << 20)
    idle.close()
    reader.close()
    publisher.close()


def info_field(sock, section, field):
    sock.sendall(command("INFO", section))
    header = b""
    while not header.endswith(b"\r\n"):
        header += sock.recv(1)
    body = read_exactly(sock, int(header[1:-2]) + 2).decode()
    for line in body.split("\r\n"):
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    return None


def read_snapshot_header(sock):
    """Reads SYNC's reply up to the RDB's length (keepalive newlines come
    first while it is written); returns the length."""
    header = b""
    while not header.endswith(b"\r\n"):
        byte = sock.recv(1)
        if not byte:
            raise EOFError("closed before the snapshot")
        if header or byte != b"\n":
            header += byte
    return int(header[1:-2])


def replicas_that_stop_reading(port, pid):
    """Two replicas that stop reading (one before its snapshot has gone out,
    one after) are cut off once 256 MiB of stream wait for them, and what
    waited is dropped at once; a replica that reads gets all of it and the
    writer is answered throughout."""
    setup = connect(port)
    filler = b"f" * 200  # 50,000 keys: a snapshot of about 12 MB, more than the socket buffers
    setup.sendall(b"".join(command("SET", "fill:%d" % i, filler) for i in range(50_000)))
    read_exactly(setup, 5 * 50_000)
    rss_before = rss_kib(pid)
    before_snapshot = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    before_snapshot.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    before_snapshot.connect(("127.0.0.1", port))
    before_snapshot.sendall(command("SYNC"))
    after_snapshot = connect(port)  # (a receive buffer shrunk after connect can stall TCP itself)
    after_snapshot.sendall(command("SYNC"))
    read_exactly(after_snapshot, read_snapshot_header(after_snapshot))
    reader = connect(port)
    reader.sendall(command("SYNC"))
    # Once the RDB's length is known its keys are all in it, and every
    # change after goes into the stream as it was made.
    snapshot_bytes = read_snapshot_header(reader)
    offset_before = int(info_field(setup, "replication", "master_repl_offset"))
    received = [0]
    stop = threading.Event()

    def read_stream():
        reader.settimeout(1)
        while not stop.is_set():
            try:
                chunk = reader.recv(1 << 20)
            except socket.timeout:
                continue
            if not chunk:
                break
            received[0] += len(chunk)

    thread = threading.Thread(target=read_stream)
    thread.start()
    value = b"v" * (1 << 20)
    answered = 0
    peak = 0
    for _ in range(320):  # 320 MiB of stream, past the 256 MiB limit
        setup.sendall(command("SET", "big", value))
        answered += read_exactly(setup, 5) == b"+OK\r\n"
        peak = max(peak, rss_kib(pid))
    check("the writer was answered throughout (%d of 320)" % answered, answered == 320)
    deadline = time.time() + 20
    while info_field(setup, "replication", "connected_slaves") != "1" and time.time() < deadline:
        time.sleep(0.1)
    check("both replicas that stopped reading were cut off, the reading one stays",
          info_field(setup, "replication", "connected_slaves") == "1")
    expected = snapshot_bytes + int(info_field(setup, "replication", "master_repl_offset")) - offset_before
    deadline = time.time() + 20
    while received[0] < expected and time.time() < deadline:
        time.sleep(0.1)
    check("the reading replica got its snapshot and the whole stream (%d of %d bytes)" % (received[0], expected),
          received[0] >= expected)
    for name, sock in (("before", before_snapshot), ("after", after_snapshot)):
        sock.settimeout(10)
        ended, total = False, 0
        try:
            while total < 64 << 20:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    ended = True
                    break
                total += len(chunk)
        except ConnectionResetError:
            ended = True
        except socket.timeout:
            pass
        check("the replica that stopped %s its snapshot sees its connection end (%d bytes were in flight)"
              % (name, total), ended)
    time.sleep(0.5)
    grown = rss_kib(pid) - rss_before
    check("the stream queued for them was given back (%d MiB above the start, peak %d MiB)"
          % (grown >> 10, (peak - rss_before) >> 10), grown < 96 << 10)
    stop.set()
    thread.join()
    for sock in (before_snapshot, after_snapshot, reader):
        sock.close()
    setup.sendall(command("FLUSHALL"))
    read_exactly(setup, 5)
    setup.close()


def main():
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    lrange_flood(port, pid)
    huge_bulk(port)
    many_connections(port)
    garbage(port)
    memory_after_flushall(port, pid)
    many_subscriptions(port, pid)
    huge_transaction(port, pid)
    huge_watch(port)
    subscriber_that_never_reads(port)
    replicas_that_stop_reading(port, pid)
    print("hostile clients: %d failures" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
