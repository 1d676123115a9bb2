#!/usr/bin/env python3
"""keel-kv as the primary of a real redis-server 7.0 replica: the replica
loads keel-kv's snapshot (PSYNC, FULLRESYNC, an RDB of every type and
encoding, expiries), then follows its stream while clients change the
dataset: the seeded random program of kv_differential.py (thousands of
commands over five keys, so types collide and keys come and go), some of it
in MULTI ... EXEC, blocked pops served by pushes, keys expiring lazily and
in the background; and 200,000 more keys, so that the snapshot is written
over many ticks while a client keeps writing (the keys written meanwhile
reach the replica as their values after the snapshot). After each stage the two datasets must be the same: the
same keys, types, values and expiry times (to the millisecond). Run with one
loop and with --threads 2 (writers on four connections at once).

Usage: kv_replication.py KEELKV_BINARY REDIS_SERVER_BINARY
Exit status 0 only if the replica matched keel-kv after every stage."""
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kv_differential as d  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def call(port, *args):
    client = d.Client(port, timeout=10)
    try:
        return client.call(*args)
    finally:
        client.close()


def info_field(port, section, name):
    text = call(port, "INFO", section)
    body = text[1] if text[0] == "bulk" else text[2]
    for line in body.decode().split("\r\n"):
        if line.startswith(name + ":"):
            return line.split(":", 1)[1]
    return None


def pipelined(client, commands, batch=1000):
    """Replies to `commands`, sent a batch at a time."""
    replies = []
    for start in range(0, len(commands), batch):
        chunk = commands[start:start + batch]
        client.send_raw(b"".join(d.encode(c) for c in chunk))
        replies += [client.read() for _ in chunk]
    return replies


VALUE_OF = {
    b"string": lambda k: ["GET", k], b"list": lambda k: ["LRANGE", k, 0, -1], b"set": lambda k: ["SMEMBERS", k],
    b"hash": lambda k: ["HGETALL", k], b"zset": lambda k: ["ZRANGE", k, 0, -1, "WITHSCORES"],
}


def dataset(port):
    """Every key: its type, expiry (ms) and value, order-free where Redis's is."""
    client = d.Client(port, timeout=30)
    try:
        keys = [k[1] for k in client.call("KEYS", "*")[1]]
        kinds = [r[1] for r in pipelined(client, [["TYPE", k] for k in keys])]
        expiries = [r[1] for r in pipelined(client, [["PEXPIRETIME", k] for k in keys])]
        values = pipelined(client, [VALUE_OF.get(kind, lambda k: ["TYPE", k])(k) for k, kind in zip(keys, kinds)])
        out = {}
        for key, kind, expiry, value in zip(keys, kinds, expiries, values):
            if kind == b"set":
                value = sorted(x[1] for x in value[1])
            elif kind == b"hash":
                items = [x[1] for x in value[1]]
                value = sorted(zip(items[0::2], items[1::2]))
            out[key] = (kind, expiry, value)
        return out
    finally:
        client.close()


def unlink_bulk(port):
    """UNLINKs the bulk keys (replicated too), so later stages compare fast."""
    client = d.Client(port, timeout=30)
    try:
        keys = [k[1] for k in client.call("KEYS", "*")[1] if k[1].startswith((b"bulk:", b"renamed:"))]
        pipelined(client, [["UNLINK"] + keys[i:i + 100] for i in range(0, len(keys), 100)])
    finally:
        client.close()


def in_step(primary, replica):
    """Whether the replica has read all the primary has sent."""
    sent = info_field(primary, "replication", "master_repl_offset")
    read = info_field(replica, "replication", "slave_repl_offset")
    return sent is not None and sent == read


def compare(primary, replica, stage, failures, skip=b"\0"):
    """The two datasets, keys starting with `skip` left out (ones that may
    expire while they are read)."""
    wait_for(lambda: in_step(primary, replica), 30, "the replica to catch up (%s)" % stage)
    want, got = dataset(primary), dataset(replica)
    want = {k: v for k, v in want.items() if not k.startswith(skip)}
    got = {k: v for k, v in got.items() if not k.startswith(skip)}
    if want == got:
        print("  %s: %d keys, the same on the replica" % (stage, len(want)))
        return
    failures.append(stage)
    print("  %s: MISMATCH (%d keys on keel-kv, %d on the replica)" % (stage, len(want), len(got)))
    differing = [key for key in sorted(set(want) | set(got)) if want.get(key) != got.get(key)]
    for key in differing[:10]:
        print("    %r: keel-kv %r, replica %r" % (key, want.get(key), got.get(key)))


def seed(port):
    client = d.Client(port, timeout=10)
    try:
        for i in range(300):
            client.call("SET", "s:%d" % i, "value-%d" % i * (1 + i % 7))
            client.call("SET", "n:%d" % i, i * 1_000_003 - 50_000)
            client.call("RPUSH", "l:%d" % (i % 20), *["e%d" % j for j in range(i % 9 + 1)])
            client.call("HSET", "h:%d" % (i % 30), "f%d" % i, "v" * (i % 70))
            client.call("SADD", "st:%d" % (i % 10), "m%d" % i)
            client.call("SADD", "si:%d" % (i % 10), i)
            client.call("ZADD", "z:%d" % (i % 10), i / 7.0, "m%d" % i)
        client.call("RPUSH", "biglist", *["element-%d" % j for j in range(2000)])
        client.call("HSET", "bighash", *[x for j in range(600) for x in ("field%d" % j, "v%d" % j)])
        client.call("ZADD", "bigzset", *[x for j in range(300) for x in ("%r" % (j * 1.25 - 100), "m%d" % j)])
        client.call("SET", "huge", "x" * 100_000)
        for i in range(50):
            client.call("SET", "e:%d" % i, "v", "PX", 3_600_000 + i)
        for i in range(20):
            client.call("SET", "soon:%d" % i, "v", "PX", 200)
    finally:
        client.close()


def bulk_seed(port, count):
    """`count` keys bulk:N in pipelined MSETs of 1,000."""
    client = d.Client(port, timeout=30)
    try:
        for start in range(0, count, 1000):
            args = []
            for i in range(start, min(count, start + 1000)):
                args += ["bulk:%d" % i, "v%d" % i]
            client.send("MSET", *args)
        for _ in range(0, count, 1000):
            client.read()
    finally:
        client.close()


def keep_writing(port, stop, count):
    """Writes of every kind over the bulk keys until `stop` is set."""
    client = d.Client(port, timeout=30)
    rng = d.random.Random(7)
    try:
        while not stop.is_set():
            key = "bulk:%d" % rng.randrange(count)
            client.call(*rng.choice([
                ["SET", key, "w%d" % rng.randrange(1000)], ["INCR", "counter:%d" % rng.randrange(100)],
                ["DEL", key], ["RPUSH", "wl:%d" % rng.randrange(50), "x"], ["HSET", "wh", key, "1"],
                ["EXPIRE", key, "5000"], ["SADD", "ws", key], ["APPEND", key, "+"],
                ["RENAME", key, "renamed:%d" % rng.randrange(count)],
            ]))
    except d.RESPError:
        pass
    finally:
        client.close()


def run_program(port, commands, transaction=False):
    client = d.Client(port, timeout=10)
    try:
        if transaction:
            client.call("MULTI")
        for command in commands:
            client.call(*command)
        if transaction:
            client.call("EXEC")
    finally:
        client.close()


def blocked_pops(port):
    waiter = d.Client(port, timeout=10)
    try:
        for i in range(20):
            waiter.send("BLPOP", "queue", "5")
            time.sleep(0.01)
            call(port, "RPUSH", "queue", "job%d" % i, "extra%d" % i)
            waiter.read()
        waiter.send("BLMOVE", "queue2", "done", "LEFT", "RIGHT", "5")
        time.sleep(0.01)
        call(port, "LPUSH", "queue2", "moved")
        waiter.read()
    finally:
        waiter.close()


def wait_for_the_replica(primary, replica, failures):
    """WAIT: once a write's WAIT 1 has answered 1, the replica has the
    write; WAIT 2 (one replica) answers 1 when its timeout passes."""
    client = d.Client(primary, timeout=10)
    try:
        answers = []
        for n in range(20):
            client.send("SET", "waited:%d" % n, "v%d" % n)
            client.read()
            client.send("WAIT", "1", "5000")
            count = client.read()
            answers.append(count == ("int", 1) and call(replica, "GET", "waited:%d" % n) == ("bulk", b"v%d" % n))
        client.send("WAIT", "2", "100")
        timed_out = client.read()
        # The replica asleep (DEBUG SLEEP 3): it cannot acknowledge, so
        # WAIT 1 100 gives 0; WAIT 1 10000 answers 1 once it wakes.
        sleeper = threading.Thread(target=call, args=(replica, "DEBUG", "SLEEP", "3"))
        sleeper.start()
        time.sleep(0.5)
        client.send("SET", "waited:asleep", "v")
        client.read()
        client.send("WAIT", "1", "100")
        while_asleep = client.read()
        client.send("WAIT", "1", "10000")
        after_waking = client.read()
        sleeper.join()
    finally:
        client.close()
    if all(answers) and timed_out == ("int", 1) and while_asleep == ("int", 0) and after_waking == ("int", 1):
        print("  WAIT 1: each of 20 writes on the replica when it answered; WAIT 2 timed out with 1; "
              "with the replica asleep 0, then 1 when it woke")
        return
    failures.append("WAIT")
    print("  WAIT: MISMATCH (%d of 20 answered 1 with the write on the replica; WAIT 2 gave %r; asleep %r, awake %r)"
          % (sum(answers), timed_out, while_asleep, after_waking))


def resume_after_a_dropped_link(primary, replica, failures):
    """The replica's connection is cut while a client writes: it comes back
    with PSYNC and is sent what it missed from the backlog (no snapshot)."""
    before = info_field(primary, "stats", "sync_full")
    client = d.Client(primary, timeout=10)
    try:
        for n in range(200):
            client.send("SET", "resumed:%d" % n, "v%d" % n)
            client.read()
            if n == 50:
                client.send("CLIENT", "KILL", "TYPE", "replica")
                client.read()
    finally:
        client.close()
    wait_for(lambda: info_field(primary, "replication", "connected_slaves") == "1"
             and info_field(replica, "replication", "master_link_status") == "up", 20, "the replica to come back")
    resumed = info_field(primary, "stats", "sync_partial_ok") == "1" and info_field(primary, "stats", "sync_full") == before
    print("  its link cut while 200 keys were written: %s" % (
        "resumed from the backlog (sync_partial_ok:1, no new snapshot)" if resumed else "NOT resumed"))
    if not resumed:
        failures.append("partial resynchronisation")
    compare(primary, replica, "after the replica resumed", failures)


def scenario(kv_binary, redis_binary, threads, workdir):
    failures = []
    kv_port, replica_port = free_port(), free_port()
    kv = subprocess.Popen([kv_binary, "--port", str(kv_port), "--threads", str(threads)],
                          stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "keel-kv-%d.log" % threads), "w"))
    replica = None
    try:
        wait_for(lambda: _answers(kv_port), 20, "keel-kv to listen")
        seed(kv_port)
        bulk_seed(kv_port, BULK_KEYS)
        stop = threading.Event()
        writer = threading.Thread(target=keep_writing, args=(kv_port, stop, BULK_KEYS))
        writer.start()
        replica = subprocess.Popen(
            [redis_binary, "--port", str(replica_port), "--save", "", "--appendonly", "no", "--enable-debug-command", "yes",
             "--replicaof", "127.0.0.1", str(kv_port), "--dir", workdir],
            stdout=open(os.path.join(workdir, "replica-%d.log" % threads), "w"), stderr=subprocess.STDOUT)
        wait_for(lambda: _answers(replica_port) and info_field(replica_port, "replication", "master_link_status") == "up",
                 30, "the replica to load the snapshot")
        time.sleep(0.2)
        stop.set()
        writer.join()
        print("keel-kv --threads %d, a redis-server replica:" % threads)
        compare(kv_port, replica_port, "after the snapshot (a client writing meanwhile)", failures, skip=b"soon:")
        unlink_bulk(kv_port)
        time.sleep(0.3)  # the soon:* keys expire, in the background or when read
        call(kv_port, "GET", "soon:0")
        compare(kv_port, replica_port, "after keys expired", failures)
        program = d.random_program(1234, 3000)
        chunks = [program[i:i + 100] for i in range(0, len(program), 100)]
        # Four writers at once; every third chunk a transaction.
        for start in range(0, len(chunks), 4):
            writers = [threading.Thread(target=run_program, args=(kv_port, chunk, (start + n) % 3 == 2))
                       for n, chunk in enumerate(chunks[start:start + 4])]
            for w in writers:
                w.start()
            for w in writers:
                w.join()
        compare(kv_port, replica_port, "after %d random commands" % len(program), failures)
        blocked_pops(kv_port)
        compare(kv_port, replica_port, "after blocked pops served", failures)
        wait_for_the_replica(kv_port, replica_port, failures)
        resume_after_a_dropped_link(kv_port, replica_port, failures)
        connected = info_field(kv_port, "replication", "connected_slaves")
        replica.terminate()
        replica.wait(timeout=20)
        replica = None
        wait_for(lambda: info_field(kv_port, "replication", "connected_slaves") == "0", 10,
                 "keel-kv to forget the replica")
        print("  replicas while attached: %s; after the replica stopped: 0" % connected)
        if connected != "1":
            failures.append("connected_slaves")
    finally:
        for process in (replica, kv):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
    return failures


BULK_KEYS = 200_000


def _answers(port):
    try:
        return call(port, "PING") == ("simple", b"PONG")
    except OSError:
        return False


def main():
    kv_binary, redis_binary = sys.argv[1], sys.argv[2]
    workdir = os.environ.get("WORK", "/tmp")
    failures = []
    for threads in (1, 2):
        failures += scenario(kv_binary, redis_binary, threads, workdir)
    if failures:
        print("replica differed: " + ", ".join(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
