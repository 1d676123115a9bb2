#!/usr/bin/env python3
"""keel-kv's memory count and maxmemory, on a server of its own (redis-py):

- INFO's used_memory is the store's own count of its blocks: after every
  kind of value is written, grown, converted, copied, renamed, given an
  expiry, restored and deleted again (FLUSHALL, then FLUSHALL ASYNC), it is
  back where it started, so no allocation is missed or counted twice.
- With --threads 2 as with one loop, over --maxmemory keys are evicted by
  the policy (allkeys-lru, allkeys-random, volatile-ttl), used_memory stays
  at the limit, and INFO counts evicted_keys; a large value evicted is
  freed in the background without other keys going meanwhile; noeviction, and volatile-ttl
  without keys with an expiry, refuse writes with redis-server's OOM error
  while reads and deletes go on.

Usage: kv_maxmemory.py KEEL_KV_BINARY     Exit status 0 only if every check passed.
"""
import os
import subprocess
import sys
import time

import redis

from kv_checks import check, failures, free_port



def start(binary, *flags):
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), *flags], stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port, protocol=2)
    for _ in range(200):
        try:
            client.ping()
            return process, client
        except redis.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("keel-kv did not start")


def used(client):
    return client.info("memory")["used_memory"]


def every_kind_of_value(client):
    """Writes, grows, converts and moves values of every type and encoding."""
    pipe = client.pipeline(transaction=False)
    for i in range(3000):
        pipe.set("s:%d" % i, "x" * (i % 300))
        pipe.set("n:%d" % i, i)
        pipe.set("e:%d" % i, "v", ex=1000 + i)
    for i in range(100):
        pipe.rpush("l:%d" % i, *["e%d" % j for j in range(10 if i % 2 else 2000)])
        pipe.hset("h:%d" % i, mapping={"f%d" % j: "v" * (j % 70) for j in range(10 if i % 2 else 600)})
        pipe.sadd("si:%d" % i, *range(10 if i % 2 else 1000))
        pipe.sadd("ss:%d" % i, *["m%d" % j for j in range(10 if i % 2 else 300)])
        pipe.zadd("z:%d" % i, {"m%d" % j: j / 3 for j in range(10 if i % 2 else 500)})
    pipe.execute()
    for i in range(100):
        pipe.append("s:%d" % i, "y" * 500)
        pipe.setrange("n:%d" % i, 40, "tail")
        pipe.incrbyfloat("n:%d" % (i + 200), 1.5)
        pipe.expire("l:%d" % i, 1000)
        pipe.persist("e:%d" % i)
        pipe.lset("l:%d" % i, 0, "z" * 100)
        pipe.linsert("l:%d" % i, "BEFORE", "e5", "w" * 50)
        pipe.hset("h:%d" % i, "big", "b" * 200)
        pipe.sadd("si:%d" % i, "not-a-number")
        pipe.zadd("z:%d" % i, {"long" * 40: 1})
        pipe.copy("h:%d" % i, "hc:%d" % i)
        pipe.rename("z:%d" % i, "zr:%d" % i)
        pipe.setbit("b:%d" % i, 5000 + i, 1)
        pipe.ltrim("l:%d" % i, 0, 5)
        pipe.srem("si:%d" % i, *range(0, 500))
        pipe.zremrangebyrank("zr:%d" % i, 0, 3)
        pipe.hdel("h:%d" % i, *["f%d" % j for j in range(5)])
    pipe.sunionstore("union", *["ss:%d" % i for i in range(20)])
    pipe.zunionstore("zunion", ["zr:%d" % i for i in range(20)])
    pipe.sort("l:0", alpha=True, store="sorted")
    pipe.lmove("l:1", "moved", "LEFT", "RIGHT")
    pipe.execute()
    dumped = client.dump("h:0")
    client.restore("restored", 0, dumped)
    client.restore("restored", 0, client.dump("si:0"), replace=True)
    client.unlink("l:0", "h:0", "ss:0")


def accounting(binary, threads):
    process, client = start(binary, "--threads", str(threads))
    try:
        empty = used(client)
        every_kind_of_value(client)
        full = used(client)
        check("--threads %d: used_memory counts the data (%d bytes over empty)" % (threads, full - empty),
              full - empty > 5_000_000)
        client.flushall()
        after = used(client)
        check("--threads %d: after FLUSHALL used_memory is back (%+d bytes)" % (threads, after - empty),
              abs(after - empty) <= 16 << 10)
        every_kind_of_value(client)
        client.flushall(asynchronous=True)
        deadline = time.monotonic() + 10
        while abs(used(client) - empty) > 16 << 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        check("--threads %d: after FLUSHALL ASYNC used_memory is back (%+d bytes)" % (threads, used(client) - empty),
              abs(used(client) - empty) <= 16 << 10)
    finally:
        process.kill()
        process.wait()


def fill(client, prefix, count, ttl=None):
    """SETs count keys; how many were refused."""
    pipe = client.pipeline(transaction=False)
    refused = 0
    for i in range(count):
        pipe.set("%s:%d" % (prefix, i), "v" * 100, ex=ttl)
        if i % 2000 == 1999 or i == count - 1:
            refused += sum(isinstance(reply, redis.ResponseError) for reply in pipe.execute(raise_on_error=False))
    return refused


def eviction(binary, threads):
    limit = 16 << 20
    process, client = start(binary, "--threads", str(threads), "--maxmemory", "16mb",
                            "--maxmemory-policy", "allkeys-lru")
    try:
        check("allkeys-lru: no write refused", fill(client, "k", 300_000) == 0)
        memory, stats = client.info("memory"), client.info("stats")
        check("--threads %d allkeys-lru: used_memory %d at most the limit %d (and a key)" % (
            threads, memory["used_memory"], limit), memory["used_memory"] <= limit + 4096)
        check("--threads %d allkeys-lru: %d keys held, %d evicted" % (
            threads, client.dbsize(), stats["evicted_keys"]),
            stats["evicted_keys"] > 100_000 and client.dbsize() + stats["evicted_keys"] == 300_000)
        check("INFO memory names the limit and policy",
              memory["maxmemory"] == limit and memory["maxmemory_policy"] == "allkeys-lru")

        client.config_set("maxmemory-policy", "noeviction")
        refusals = fill(client, "more", 2000)
        check("noeviction over the limit: %d of 2,000 SETs refused" % refusals, refusals >= 1999)
        # redis-py raises OutOfMemoryError for an -OOM reply, without the word.
        try:
            client.set("one-more", "v")
            refused = None
        except redis.exceptions.OutOfMemoryError as error:
            refused = str(error)
        check("noeviction: the refusal is redis-server's -OOM (%r)" % refused,
              refused == "command not allowed when used memory > 'maxmemory'.")
        held = client.dbsize()
        check("noeviction: nothing evicted, reads go on", client.get("k:299999") == b"v" * 100)

        client.config_set("maxmemory-policy", "volatile-ttl")
        try:
            client.set("one-more", "v")
            refused = None
        except redis.exceptions.OutOfMemoryError as error:
            refused = str(error)
        check("volatile-ttl without keys with an expiry: writes refused", refused is not None)
        check("DEL goes on over the limit", client.delete("k:299999") == 1 and client.dbsize() == held - 1)
        client.flushall()
        check("volatile-ttl: no write refused while keys with an expiry are left",
              fill(client, "kept", 20_000) + fill(client, "ttl", 300_000, ttl=10_000) == 0)
        kept = sum(1 for i in range(0, 20_000, 100) if client.exists("kept:%d" % i))
        check("volatile-ttl: the keys without an expiry all kept (%d of 200 sampled)" % kept, kept == 200)
        check("volatile-ttl: used_memory at the limit", used(client) <= limit + 4096)

        # A large value evicted goes to the background freer, and its bytes
        # count as gone: no other key is taken while it is being freed.
        client.config_set("maxmemory", "0")
        client.flushall()
        pipe = client.pipeline(transaction=False)
        for chunk in range(40):
            pipe.hset("big", mapping={"f%d:%d" % (chunk, i): "v" * 10 for i in range(5000)})
        pipe.expire("big", 100)
        for i in range(50):
            pipe.set("small:%d" % i, "v", ex=1000 + i)
        pipe.execute()
        evicted_before = client.info("stats")["evicted_keys"]
        # 1,000 draws among 51 keys: the big one is met (but for 2.5e-9).
        client.config_set("maxmemory-samples", "1000")
        client.config_set("maxmemory", str(used(client) - (1 << 20)))
        client.ping()
        deadline = time.monotonic() + 10
        while used(client) > client.info("memory")["maxmemory"] and time.monotonic() < deadline:
            time.sleep(0.05)
        evicted = client.info("stats")["evicted_keys"] - evicted_before
        if threads == 1:
            check("a 200,000-field hash evicted alone (%d evicted, %d small keys left)" % (
                evicted, client.dbsize()), evicted == 1 and client.dbsize() == 50)
        else:
            # Each eviction samples one of the 64 shards: the hash goes when
            # its shard's turn comes, small keys of other shards before it.
            check("--threads 2: the 200,000-field hash evicted, under the limit (%d evicted)" % evicted,
                  client.exists("big") == 0 and used(client) <= client.info("memory")["maxmemory"])

        client.config_set("maxmemory-samples", "5")
        client.config_set("maxmemory-policy", "allkeys-random")
        client.config_set("maxmemory", "4mb")
        deadline = time.monotonic() + 10
        while used(client) > 4 << 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        check("a lowered limit is reached without a command (the tick evicts): %d bytes" % used(client),
              used(client) <= (4 << 20) + 4096)
    finally:
        process.kill()
        process.wait()


def main():
    binary = sys.argv[1]
    for threads in (1, 2):
        accounting(binary, threads)
        eviction(binary, threads)
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
