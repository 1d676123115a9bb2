#!/usr/bin/env python3
"""keel-kv driven by redis-py, the most used Redis client library: every
command keel-kv implements through the library's own API (which checks the
reply types), pipelines of thousands of commands, binary-safe data, expiry,
its client-side cache (CLIENT TRACKING), and errors raised as the library
raises them for redis-server.

Usage: kv_redis_py.py PORT      Exit status 0 only if every check passed.
"""
import sys
import time

import redis

failures = []


def check(description, condition):
    if not condition:
        failures.append(description)
        print("FAIL", description)


def expect_error(description, function, text):
    try:
        function()
    except redis.exceptions.ResponseError as error:
        check(description + " (%s)" % error, text in str(error))
        return
    check(description + ": no error raised", False)


def commands(r):
    """Every command family through redis-py's own reply parsing."""
    check("PING", r.ping() is True)
    r.flushall()
    check("ECHO", r.echo(b"hi") == b"hi")

    # strings
    check("SET", r.set("k", "v") is True)
    check("GET", r.get("k") == b"v")
    check("GET missing", r.get("missing") is None)
    check("SET NX on existing", r.set("k", "x", nx=True) is None)
    check("SET XX on existing", r.set("k", "x", xx=True) is True)
    check("SET XX on missing", r.set("nokey", "x", xx=True) is None)
    check("SET EX", r.set("e", "v", ex=100) is True and 98 <= r.ttl("e") <= 100)
    check("SET PX", r.set("p", "v", px=100_000) is True and 98_000 <= r.pttl("p") <= 100_000)
    check("SET GET", r.set("k", "y", get=True) == b"x")
    binary = bytes(range(256))
    r.set(binary, binary)
    check("binary-safe keys and values", r.get(binary) == binary)
    check("DEL", r.delete("k", "nokey", "e") == 2)
    check("EXISTS", r.exists("p", "p", "nokey") == 2)
    check("INCR", r.incr("n") == 1 and r.incrby("n", 41) == 42)
    check("DECR", r.decr("n") == 41 and r.decrby("n", 40) == 1)
    r.set("s", "abc")
    expect_error("INCR on a non-integer", lambda: r.incr("s"), "value is not an integer or out of range")
    r.set("big", str(2**63 - 1))
    expect_error("INCR overflow", lambda: r.incr("big"), "increment or decrement would overflow")
    check("MSET", r.mset({"a": "1", "b": "2"}) is True)
    check("MGET", r.mget("a", "b", "zz") == [b"1", b"2", None])

    # expiry
    r.set("t", "v")
    check("EXPIRE", r.expire("t", 100) is True and r.ttl("t") in (99, 100))
    check("PEXPIRE", r.pexpire("t", 50) is True)
    time.sleep(0.2)
    check("lazy expiry", r.get("t") is None and r.ttl("t") == -2)
    check("TTL without expiry", r.ttl("a") == -1 and r.pttl("a") == -1)
    check("EXPIRE missing", r.expire("missing", 10) is False)
    r.flushall()
    r.set("active", "v", px=50)
    time.sleep(0.6)
    # Never touched again, and DBSIZE counts keys not yet removed: only
    # active expiry can have brought it to 0.
    check("active expiry", r.dbsize() == 0)
    r.mset({"a": "1", "b": "2"})

    # lists
    check("LPUSH", r.lpush("l", "a", "b") == 2 and r.rpush("l", "c") == 3)
    check("LRANGE", r.lrange("l", 0, -1) == [b"b", b"a", b"c"])
    check("LLEN", r.llen("l") == 3)
    check("LPOP", r.lpop("l") == b"b" and r.rpop("l") == b"c")
    check("LPOP count", r.lpop("l", 5) == [b"a"] and r.exists("l") == 0)
    check("RPOP missing", r.rpop("l") is None)
    expect_error("WRONGTYPE", lambda: r.lpush("a", "x"), "WRONGTYPE")

    # sets
    check("SADD", r.sadd("set", "x", "y", "x") == 2)
    check("SCARD", r.scard("set") == 2)
    check("SISMEMBER", r.sismember("set", "x") and not r.sismember("set", "z"))
    check("SMEMBERS", r.smembers("set") == {b"x", b"y"})
    check("SREM", r.srem("set", "x", "z") == 1)
    popped = r.spop("set")
    check("SPOP", popped == b"y" and r.exists("set") == 0)
    r.sadd("many", *range(100))
    check("SPOP count", len(r.spop("many", 10)) == 10 and r.scard("many") == 90)

    # hashes
    check("HSET", r.hset("h", mapping={"f": "1", "g": "2"}) == 2)
    check("HGET", r.hget("h", "f") == b"1" and r.hget("h", "zz") is None)
    check("HGETALL", r.hgetall("h") == {b"f": b"1", b"g": b"2"})
    check("HLEN", r.hlen("h") == 2)
    check("HDEL", r.hdel("h", "f", "zz") == 1 and r.hlen("h") == 1)

    # server commands, errors
    check("DBSIZE", r.dbsize() >= 4)
    check("SELECT 0", r.execute_command("SELECT", 0) in (True, b"OK", "OK"))
    check("CLIENT SETNAME", r.client_setname("keel-test") is True and r.client_getname() in (b"keel-test", "keel-test"))
    check("CONFIG GET", r.config_get("appendonly") == {"appendonly": "no"})
    expect_error("unknown command", lambda: r.execute_command("NOSUCH", "a"), "unknown command 'NOSUCH'")
    expect_error("arity", lambda: r.execute_command("GET"), "wrong number of arguments for 'get' command")
    check("the connection stays open after errors", r.ping() is True)

    # pipelines: thousands of commands in one round trip
    pipe = r.pipeline(transaction=False)
    for index in range(5_000):
        pipe.set("key:%d" % index, "value:%d" % index)
        pipe.incr("counter")
        pipe.get("key:%d" % index)
    results = pipe.execute()
    check("pipeline of 15,000 commands", len(results) == 15_000)
    check("pipeline replies in order", all(results[i * 3 + 2] == b"value:%d" % i for i in range(5_000)))
    check("pipeline counter", results[-2] == 5_000 and r.get("counter") == b"5000")
    pipe = r.pipeline(transaction=False)
    pipe.rpush("pl", *range(1000))
    pipe.lrange("pl", 0, -1)
    pipe.sadd("ps", *range(1000))
    pipe.smembers("ps")
    pipe.hset("ph", mapping={str(i): str(i) for i in range(500)})
    pipe.hgetall("ph")
    out = pipe.execute()
    check("pipelined collections", out[0] == 1000 and len(out[1]) == 1000 and out[2] == 1000
          and len(out[3]) == 1000 and out[4] == 500 and len(out[5]) == 500)

    # sorted sets, transactions, blocking, introspection
    check("ZADD", r.zadd("z", {"a": 1, "b": 2.5, "c": -1}) == 3)
    check("ZRANGE WITHSCORES", r.zrange("z", 0, -1, withscores=True) == [(b"c", -1.0), (b"a", 1.0), (b"b", 2.5)])
    check("ZSCORE", r.zscore("z", "b") == 2.5 and r.zrank("z", "a") == 1)
    check("ZPOPMIN", r.zpopmin("z") == [(b"c", -1.0)])
    check("INCRBYFLOAT", r.incrbyfloat("f", 1.5) == 1.5)
    with r.pipeline(transaction=True) as tx:
        tx.set("tx", "1").incr("tx").get("tx")
        check("MULTI/EXEC through a pipeline", tx.execute() == [True, 2, b"2"])
    check("BLPOP served at once", r.blpop(["nolist", "l2"], timeout=0.05) is None)
    r.rpush("l2", "x")
    check("BLPOP with an element", r.blpop(["nolist", "l2"], timeout=1) == (b"l2", b"x"))
    check("BZPOPMAX", r.bzpopmax("z", timeout=1) == (b"z", b"b", 2.5))
    info = r.info()
    check("INFO parsed", info.get("redis_version") == "7.0.15" and "connected_clients" in info)
    check("INFO keyspace", "db0" in r.info("keyspace"))
    check("CLIENT LIST", any(c.get("name") == "keel-test" for c in r.client_list()))
    check("SCAN iterates every key", set(r.scan_iter(count=10)) == set(r.keys("*")))
    check("FLUSHALL", r.flushall() is True and r.dbsize() == 0)


def pubsub(r):
    """redis-py's PubSub: subscribe, a pattern, messages, unsubscribe; sharded too."""
    p = r.pubsub()
    p.subscribe("news")
    p.psubscribe("n*")
    kinds = [p.get_message(timeout=2)["type"] for _ in range(2)]
    check("SUBSCRIBE and PSUBSCRIBE confirmed", kinds == ["subscribe", "psubscribe"])
    check("PUBLISH counts both", r.publish("news", "hi") == 2)
    got = [p.get_message(timeout=2) for _ in range(2)]
    check("message and pmessage received", sorted(m["type"] for m in got if m) == ["message", "pmessage"]
          and all(m["data"] == b"hi" for m in got if m))
    p.unsubscribe()
    p.punsubscribe()
    p.close()
    shard = r.pubsub()
    shard.ssubscribe("orders")
    confirmed = shard.get_sharded_message(timeout=2)
    check("SSUBSCRIBE confirmed", confirmed is not None and confirmed["type"] == "ssubscribe")
    check("SPUBLISH counts the shard subscriber", r.spublish("orders", "o1") == 1)
    message = shard.get_sharded_message(timeout=2)
    check("smessage received", message is not None and message["type"] == "smessage" and message["data"] == b"o1")
    shard.sunsubscribe()
    shard.close()


async def asyncio_client(port, protocol):
    import redis.asyncio as aioredis
    r = aioredis.Redis(host="127.0.0.1", port=port, socket_timeout=10, protocol=protocol)
    check("asyncio: SET/GET", await r.set("ak", "v") and await r.get("ak") == b"v")
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        pipe.incr("acounter")
    check("asyncio: a pipeline of 1,000", (await pipe.execute())[-1] == 1000)
    check("asyncio: HGETALL", await r.hset("ah", mapping={"a": "1"}) == 1 and await r.hgetall("ah") == {b"a": b"1"})
    await r.flushall()
    await r.aclose()


def client_side_caching(port):
    """redis-py's own client-side cache (RESP3, CLIENT TRACKING): a value
    read twice comes from the cache, and a write by another client empties
    its entry. redis-py turns the cache on only for servers that say 7.4 or
    later (redis-server 7.0.15 is refused too); its floor is lowered here to
    drive the protocol, which 7.0 already has."""
    import redis.connection
    from redis.cache import CacheConfig
    redis.connection.CacheProxyConnection.MIN_ALLOWED_VERSION = "7.0.0"
    reader = redis.Redis(host="127.0.0.1", port=port, protocol=3, cache_config=CacheConfig(), socket_timeout=10)
    writer = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
    writer.set("cached", "one")
    check("client-side cache: read", reader.get("cached") == b"one" and reader.get("cached") == b"one")
    check("client-side cache: the value is cached", reader.get_cache().size == 1)
    check("client-side cache: tracked", writer.info("clients")["tracking_clients"] == 1)
    writer.set("cached", "two")
    deadline = time.time() + 5
    value = reader.get("cached")
    while value != b"two" and time.time() < deadline:
        time.sleep(0.05)
        value = reader.get("cached")
    check("client-side cache: invalidated by another client's write", value == b"two")
    reader.close()
    writer.delete("cached")
    writer.close()


def main():
    import asyncio
    port = int(sys.argv[1])
    # redis-py 8's default protocol is RESP3 (HELLO 3); protocol=2 is RESP2.
    for protocol in (None, 2):
        label = "RESP3 (redis-py's default)" if protocol is None else "RESP2"
        print("== %s" % label)
        options = {} if protocol is None else {"protocol": 2}
        r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10, **options)
        commands(r)
        pubsub(r)
        asyncio.run(asyncio_client(port, protocol or 3))
        r.close()
    client_side_caching(port)
    pool = redis.ConnectionPool(host="127.0.0.1", port=port, max_connections=4)
    pooled = redis.Redis(connection_pool=pool)
    check("a connection pool", all(pooled.set("pk%d" % i, i) for i in range(100)) and pooled.dbsize() == 100)
    pooled.flushall()
    pool.disconnect()
    print("redis-py: %d failures" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
