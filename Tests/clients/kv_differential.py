#!/usr/bin/env python3
"""keel-kv against redis-server 7.0: the same commands sent to both, the
replies compared exactly (as parsed RESP values; where Redis leaves an order
unspecified -- set members, hash fields, KEYS, SCAN -- the order is
normalised, and time-dependent numbers are compared approximately).

What is covered:
- Fixed sequences, each on fresh connections to a FLUSHALLed server, run
  twice: in RESP2 and after HELLO 3 (RESP3: nulls, doubles, maps, sets,
  pushes, verbatim strings, big numbers, attributes are all parsed).
  Commands: strings (GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET
  MSET MSETNX APPEND STRLEN GETRANGE SUBSTR SETRANGE INCR* DECR*
  SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO LCS SORT SORT_RO
  DUMP RESTORE
  INCRBYFLOAT), keys (DEL UNLINK EXISTS TOUCH TYPE RENAME RENAMENX COPY KEYS
  SCAN RANDOMKEY PERSIST EXPIRE* PEXPIRE* TTL PTTL EXPIRETIME PEXPIRETIME
  OBJECT ENCODING at the encodings' size limits, FLUSHDB FLUSHALL DBSIZE),
  lists, hashes, sets, sorted sets (every command keel-kv has, with their
  options, edge arguments and errors), transactions (MULTI EXEC DISCARD
  WATCH UNWATCH, EXECABORT), blocking commands (data present, or a 0.05 s
  timeout), server and connection commands (PING ECHO TIME COMMAND CONFIG
  CLIENT HELLO RESET SELECT INFO keyspace LASTSAVE ROLE AUTH, the HELP
  subcommands). Each with normal, edge and error arguments: wrong types,
  arity, bad numbers, negative counts and indexes, out of range, missing
  keys, options given twice, encodings' size limits (44-byte strings,
  64-byte values, 128 entries, 512 hash fields and set integers).
- SCAN, HSCAN, SSCAN and ZSCAN iterated to the end on each server, the
  elements compared as sets; random replies (SRANDMEMBER, HRANDFIELD,
  ZRANDMEMBER, TIME, CLIENT ID) compared by shape and membership; a command
  that may never answer (COMMAND, BLPOP with a timeout that rounds to 0 ms)
  probed for a moment.
- Multi-client scenarios: pub/sub (SUBSCRIBE PSUBSCRIBE UNSUBSCRIBE
  PUNSUBSCRIBE PUBLISH PUBSUB, sharded SSUBSCRIBE SUNSUBSCRIBE SPUBLISH,
  messages in RESP2 and as RESP3 pushes,
  commands refused in RESP2 subscriber mode), blocked clients served by
  another client's push, WATCH broken by another client, CLIENT KILL; DUMP
  payloads of every type and encoding RESTOREd across the two servers.
- A seeded random run (random.Random(1234)) of thousands of commands over a
  keyspace of five keys, so types collide and keys come and go.
- A pipeline of multibulk and inline requests, protocol errors, inline limits.

Differences keel-kv has on purpose are listed in KNOWN, with the reason.

Usage: kv_differential.py REDIS_PORT KEELKV_PORT [--report FILE]
Exit status 0 only if every reply matched (KNOWN differences aside); each
mismatch is printed (command, redis-server's reply, keel-kv's), then a
summary line. With --report, each distinct mismatch is also reduced to the
fewest earlier commands that still show it (replayed on both servers; this
takes minutes) and written to FILE, grouped by command.
"""
import collections
import random
import re
import socket
import sys
import time


# --------------------------------------------------------------------------
# RESP client


class RESPError(Exception):
    """A reply line of no RESP2 or RESP3 type."""


def encode(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Client:
    """A RESP2/RESP3 client. Replies are tuples: (kind, value...)."""

    def __init__(self, port, timeout=3):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("server closed the connection")
        self.buffer += data

    def _line(self):
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _bytes(self, n):
        while len(self.buffer) < n + 2:
            self._fill()
        data, self.buffer = self.buffer[:n], self.buffer[n + 2:]
        return data

    def _items(self, n):
        return [self.read() for _ in range(n)]

    def _pairs(self, n):
        return [(self.read(), self.read()) for _ in range(n)]

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in READERS:
            return READERS[kind](self, rest)
        raise RESPError("unexpected reply line %r" % line)

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, *args):
        self.send_raw(encode(args))

    def call(self, *args):
        self.send(*args)
        return self.read()

    def close(self):
        self.sock.close()


def _read_bulk(client, rest):
    n = int(rest)
    return ("null",) if n < 0 else ("bulk", client._bytes(n))


def _read_array(client, rest):
    n = int(rest)
    return ("nullarray",) if n < 0 else ("array", client._items(n))


def _read_verbatim(client, rest):
    data = client._bytes(int(rest))
    return ("verbatim", data[:3], data[4:])


def _read_attribute(client, rest):
    attributes = client._pairs(int(rest))
    return ("attribute", attributes, client.read())


READERS = {
    b"+": lambda c, rest: ("simple", rest),
    b"-": lambda c, rest: ("error", rest),
    b":": lambda c, rest: ("int", int(rest)),
    b"$": _read_bulk,
    b"*": _read_array,
    # RESP3
    b"_": lambda c, rest: ("null3",),
    b",": lambda c, rest: ("double", rest),
    b"#": lambda c, rest: ("bool", rest == b"t"),
    b"(": lambda c, rest: ("bignum", rest),
    b"!": lambda c, rest: ("error", c._bytes(int(rest))),
    b"=": _read_verbatim,
    b"%": lambda c, rest: ("map", c._pairs(int(rest))),
    b"~": lambda c, rest: ("set", c._items(int(rest))),
    b">": lambda c, rest: ("push", c._items(int(rest))),
    b"|": _read_attribute,
}


class Duo:
    """One connection to each server; commands go to both, then both replies
    are read (so blocking commands wait on both at once)."""

    def __init__(self, ports, protocol=2):
        self.redis, self.kv = Client(ports[0]), Client(ports[1])
        if protocol == 3:
            self.call(b"HELLO", b"3")

    def send(self, *args):
        self.redis.send(*args)
        self.kv.send(*args)

    def read(self):
        return read_or_failure(self.redis), read_or_failure(self.kv)

    def call(self, *args):
        self.send(*args)
        return self.read()

    def close(self):
        self.redis.close()
        self.kv.close()


FAILURES = ("no reply within the timeout", "connection closed")


def read_or_failure(client):
    """A reply, or a FAILURES entry: a server that hangs or closes is a
    mismatch to report, not the end of the run."""
    try:
        return client.read()
    except (TimeoutError, socket.timeout):
        return (FAILURES[0],)
    except (EOFError, ConnectionError):
        return (FAILURES[1],)


def failed(*replies):
    """Whether a server hung or closed (the sequence cannot go on)."""
    return any(r[0] in FAILURES or str(r[0]).startswith("still blocked") for r in replies if isinstance(r, tuple) and r)


# --------------------------------------------------------------------------
# Normalising replies: orders Redis leaves unspecified, times, HELLO


def b(*parts):
    return [p if isinstance(p, bytes) else str(p).encode() for p in parts]


def c(text):
    """A command from words separated by single spaces."""
    return b(*text.split(" "))


def name_of(command):
    return command[0].lower() if command and isinstance(command[0], bytes) else b""


# Replies whose elements come in an order Redis does not define.
UNORDERED = {b"smembers", b"sinter", b"sunion", b"sdiff", b"keys", b"hkeys", b"hvals", b"spop",
             b"srandmember", b"hrandfield", b"zrandmember"}
# Replies of field-value pairs in an order Redis does not define (a name, or
# a name and its subcommand).
UNORDERED_PAIRS = {b"hgetall", b"config get"}
TIMES = {b"pttl": 1000, b"pexpiretime": 1000}


def sort_key(value):
    return repr(value)


def as_pairs(items):
    return [(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]


def normalise(command, reply, loose=False):
    """The reply as compared: orders, times and HELLO's server facts left out."""
    name, kind = name_of(command), reply[0]
    args = [a.lower() for a in command[1:]]
    if kind == "error":
        return reply
    if name == b"hello" and kind in ("array", "map"):
        fields = reply[1] if kind == "map" else as_pairs(reply[1])
        return ("hello", [v for k, v in fields if k[1] in (b"proto", b"mode", b"role")])
    if name in (b"ttl", b"pttl", b"expiretime", b"pexpiretime") and kind == "int" and reply[1] > 0:
        return normalise_time(name, reply[1], loose)
    if name == b"info" and kind in ("bulk", "verbatim"):
        return ("info", reply[:-1], keyspace_line(reply[-1]))
    if name == b"command" and args[:1] == [b"info"] and kind == "array":
        return ("array", [sorted_subcommands(entry) for entry in reply[1]])
    if (name, args[:1]) in ((b"pubsub", [b"channels"]), (b"command", [b"list"])) and kind in ("array", "set"):
        return (kind, sorted(reply[1], key=sort_key))
    if name in UNORDERED and kind in ("array", "set"):
        items = reply[1]
        if kind == "array" and (b"withvalues" in args or b"withscores" in args) and items[:1] != [] \
                and items[0][0] != "array":
            items = as_pairs(items)
        return (kind, sorted(items, key=sort_key))
    if (name in UNORDERED_PAIRS or b" ".join([name] + args[:1]) in UNORDERED_PAIRS) and kind in ("array", "map"):
        return (kind, sorted(reply[1] if kind == "map" else as_pairs(reply[1]), key=sort_key))
    if kind == "set":
        return ("set", sorted(reply[1], key=sort_key))
    return reply


def sorted_subcommands(entry):
    """A COMMAND INFO entry with its subcommands (element 10, in the order
    of a hash table) sorted."""
    if entry[0] == "array" and len(entry[1]) >= 10 and entry[1][9][0] == "array":
        return ("array", entry[1][:9] + [("array", sorted(entry[1][9][1], key=sort_key))] + entry[1][10:])
    return entry


def normalise_time(name, value, loose):
    """TTLs and expiry times: the clocks of two servers are read at different
    instants. PTTL in whole seconds; in the random run only "> 0"."""
    if loose:
        return ("int", "positive")
    if name in TIMES:
        return ("int", "about %d s" % round(value / TIMES[name]))
    return ("int", value)


def keyspace_line(text):
    """INFO's db0 line without avg_ttl (an estimate each server makes its own way)."""
    for line in text.split(b"\r\n"):
        if line.startswith(b"db0:"):
            return b",".join(f for f in line.split(b",") if not f.startswith(b"avg_ttl="))
    return b""


def normalise_exec(queued, reply, loose=False):
    """EXEC's replies, each normalised as the command it answers."""
    if reply[0] == "array" and len(reply[1]) == len(queued):
        return ("array", [normalise(cmd, r, loose) for cmd, r in zip(queued, reply[1])])
    return reply


def shape(reply):
    """Only the kind and size of a reply whose contents are random."""
    if reply[0] in ("array", "set", "map", "push"):
        return (reply[0], len(reply[1]))
    if reply[0] == "error":
        return reply
    return (reply[0],)


def sample(reply, allowed):
    """A random pick: its kind, size, and whether every element is allowed."""
    items = reply[1] if reply[0] in ("array", "set") else [reply]
    picked = [i[1][0][1] if i[0] == "array" else i[1] for i in items if i[0] in ("bulk", "array")]
    return shape(reply) + (all(p in allowed for p in picked),)


# --------------------------------------------------------------------------
# Known differences, and the record of what was compared

# keel-kv's choices, each with its reason. A pattern matches a command whose
# first arguments equal it (case-insensitively; "*" matches any argument).
# DUMP payloads redis-server 7.0.15 wrote: the string "hello", and the
# list a, b (a quicklist of one listpack).
HELLO_DUMP = b"\x00\x05hello\n\x00cr\xdfve4 \n"
LIST_DUMP = b"\x12\x01\x02\r\r\x00\x00\x00\x02\x00\x81a\x02\x81b\x02\xff\n\x00h\xeb\n\x89\x13A\xbb\xb1"

KNOWN = {
    ("SELECT", "1"): "one database: any index but 0 is out of range",
    ("COPY", "*", "*", "DB", "1"): "one database",
    ("MOVE", "*", "1"): "one database",
    ("SWAPDB", "0", "1"): "one database",
    ("CONFIG", "GET", "DATABASES"): "one database",
    ("CLIENT", "SETINFO"): "accepted as redis-server 7.2 accepts it: clients send it when they connect",
    ("ZRANK", "*", "*", "WITHSCORE"): "ZRANK's WITHSCORE is redis-server 7.2's",
    ("ZREVRANK", "*", "*", "WITHSCORE"): "ZREVRANK's WITHSCORE is redis-server 7.2's",
    ("COMMAND", "INFO"): "COMMAND INFO has no key specifications or tips",
    ("COMMAND", "$"): "COMMAND has no key specifications or tips",
    ("COMMAND", "HELP"): "keel-kv's own subcommands",
    ("CLIENT", "HELP"): "keel-kv's own subcommands",
    ("FUNCTION", "HELP"): "keel-kv's own subcommands",
    ("FUNCTION", "STATS", "$"): "no scripting engine: FUNCTION STATS lists no engines",
    ("CONFIG", "GET", "SET-MAX-LISTPACK-ENTRIES"): "redis-server 7.2's parameter (packed small sets, off by default)",
    ("CONFIG", "GET", "SET-MAX-LISTPACK-VALUE"): "redis-server 7.2's parameter (packed small sets, off by default)",
}

# Differences that depend on the reply, not only the command: a pattern as
# above, the replies (redis-server's, keel-kv's) and the reason.
KNOWN_REPLIES = [
    (("OBJECT", "ENCODING"), ("bulk", b"raw"), (("bulk", b"int"), ("bulk", b"embstr")),
     "a string's encoding follows its value (redis-server says raw once APPEND or SETRANGE touched it)"),
    (("OBJECT", "ENCODING"), ("bulk", b"skiplist"), (("bulk", b"listpack"),),
     "SORT leaves a small sorted set packed (redis-server converts it to a skiplist for good)"),
]


def command_words(command):
    """A command's words, upper case, as bytes (a scenario's "A: GET k" too)."""
    if isinstance(command, str):
        text = command.split(": ", 1)[1] if ": " in command[:4] else command
        return [w.upper().encode() for w in text.split()]
    if not command or not isinstance(command[0], bytes):
        return None
    return [a.upper() for a in command]


def matches(pattern, words):
    if pattern[-1:] == ("$",):
        return len(words) == len(pattern) - 1 and matches(pattern[:-1], words)
    return len(words) >= len(pattern) and all(p == "*" or p.encode() == w for p, w in zip(pattern, words))


def known_reason(command, want=None, got=None):
    words = command_words(command)
    if not words:
        return None
    for pattern, reason in KNOWN.items():
        if matches(pattern, words):
            return reason
    for pattern, redis_reply, keel_replies, reason in KNOWN_REPLIES:
        if matches(pattern, words) and want == redis_reply and got in keel_replies:
            return reason
    return None


class Mismatch:
    def __init__(self, where, command, want, got, setup):
        self.where, self.command, self.want, self.got, self.setup = where, command, want, got, setup


class Results:
    def __init__(self):
        self.compared = collections.Counter()
        self.mismatches = []
        self.known = collections.Counter()

    def check(self, where, command, want, got, setup=()):
        """True if the replies match (or differ as KNOWN)."""
        self.compared[where.split("-")[0]] += 1
        if want == got:
            return True
        reason = known_reason(command, want, got)
        if reason:
            self.known[reason] += 1
            return True
        self.mismatches.append(Mismatch(where, command, want, got, list(setup)))
        print("MISMATCH [%s] %s\n  redis-server: %s\n  keel-kv:      %s"
              % (where, show_command(command), show(want, 200), show(got, 200)))
        if len(repr(want)) > 200 or len(repr(got)) > 200:
            print("  first difference %s" % first_difference(want, got))
        return False


def show_command(command):
    if isinstance(command, str):
        return command
    if isinstance(command, tuple):
        return "%s(%s)" % (command[0], show_command(command[1]))
    words = []
    for arg in command:
        text = arg.decode("latin-1") if isinstance(arg, bytes) else str(arg)
        if len(text) > 40:
            text = text[:20] + "...(%d bytes)" % len(text)
        if not text or any(ch in text for ch in " \"\\") or not text.isprintable():
            text = '"%s"' % text.encode("unicode_escape").decode().replace('"', '\\"')
        words.append(text)
    return " ".join(words)


def show(reply, limit=400):
    text = repr(reply)
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


# --------------------------------------------------------------------------
# Sequences: each runs on fresh connections to a flushed server, in RESP2
# and in RESP3. An entry is a command, or:
#   ("sleep", seconds)
#   ("scan", command)           SCAN/HSCAN/SSCAN/ZSCAN from cursor 0 to the end
#   ("shape", command)          compare only the reply's kind and size
#   ("sample", command, allowed)  shape, and every element among `allowed`
#   ("send", command)           sent to both, replies not compared
#   ("blocks", command)         the reply within 0.3 s or "still blocked" (last in its sequence)
#   ("kind", command)           only the reply's kind (array, ...), or that none came within 1 s


def numbered(prefix, n, start=0):
    return ["%s%d" % (prefix, i) for i in range(start, start + n)]


def fields(n, value="v"):
    out = []
    for name in numbered("f", n):
        out += [name, value]
    return out


def scored(n):
    out = []
    for i, name in enumerate(numbered("m", n)):
        out += [str(i), name]
    return out


BASIC = [
    # strings
    [b("SET", "k", "v"), b("GET", "k"), b("GET", "missing"), b("get", "k"), b("SET", "k", "w"), b("GET", "k")],
    [b("SET", "k", "v", "NX"), b("SET", "k", "v2", "NX"), b("GET", "k"), b("SET", "k", "v3", "XX"), b("GET", "k"),
     b("SET", "nokey", "x", "XX"), b("GET", "nokey")],
    [b("SET", "k", "v", "EX", "100"), b("TTL", "k"), b("SET", "k", "v", "PX", "100000"), b("PTTL", "k") + [],
     b("SET", "k", "v"), b("TTL", "k"), b("SET", "k", "v", "ex", "0"), b("SET", "k", "v", "EX", "-5"),
     b("SET", "k", "v", "EX", "abc"), b("SET", "k", "v", "EX"), b("SET", "k", "v", "PX", "1", "EX", "1"),
     b("SET", "k", "v", "NX", "XX"), b("SET", "k", "v", "badopt"), b("SET", "k", "v", "EX", "9223372036854775807")],
    [b("SET", "k", "v", "EX", "100"), b("SET", "k", "w", "KEEPTTL"), b("TTL", "k"), b("SET", "k", "x", "GET"),
     b("SET", "new", "y", "GET"), b("LPUSH", "l", "a"), b("SET", "l", "z", "GET"), b("SET", "l", "z"), b("GET", "l")],
    [b("SET", b"bin\x00\r\nkey", b"\x00\xff\r\n"), b("GET", b"bin\x00\r\nkey"), b("EXISTS", b"bin\x00\r\nkey")],
    [b("SET", "a", "1"), b("SET", "b", "2"), b("DEL", "a", "b", "c"), b("EXISTS", "a", "b"), b("SET", "a", "1"),
     b("EXISTS", "a", "a", "c"), b("DEL")],
    [b("INCR", "n"), b("INCRBY", "n", "10"), b("DECR", "n"), b("DECRBY", "n", "-5"), b("GET", "n"),
     b("INCRBY", "n", "x"), b("SET", "s", "abc"), b("INCR", "s"), b("SET", "big", "9223372036854775807"),
     b("INCR", "big"), b("SET", "small", "-9223372036854775808"), b("DECR", "small"),
     b("DECRBY", "n", "-9223372036854775808"), b("SET", "sp", " 1"), b("INCR", "sp"), b("SET", "z", "007"),
     b("INCR", "z"), b("LPUSH", "l", "x"), b("INCR", "l"), b("INCR"), b("INCRBY", "n"),
     b("SET", "e", "5", "EX", "100"), b("INCR", "e"), b("TTL", "e")],
    [b("MSET", "a", "1", "b", "2"), b("MGET", "a", "b", "c"), b("LPUSH", "l", "x"), b("MGET", "a", "l"),
     b("MSET", "a"), b("MSET", "a", "1", "b"), b("MGET")],
    # expiry
    [b("SET", "k", "v"), b("EXPIRE", "k", "100"), b("TTL", "k"), b("PEXPIRE", "k", "200000"), b("PTTL", "k") + [],
     b("EXPIRE", "missing", "10"), b("EXPIRE", "k", "abc"), b("EXPIRE", "k", "10", "NX"), b("EXPIRE", "k", "10", "XX"),
     b("EXPIRE", "k", "1000", "GT"), b("EXPIRE", "k", "5", "GT"), b("EXPIRE", "k", "5", "LT"), b("TTL", "k"),
     b("EXPIRE", "k", "5", "NX", "XX"), b("EXPIRE", "k", "5", "GT", "LT"), b("EXPIRE", "k", "5", "BAD"),
     b("EXPIRE", "k", "9223372036854775807"), b("EXPIRE", "k", "-1"), b("EXISTS", "k"), b("TTL", "k"),
     b("SET", "p", "v"), b("EXPIRE", "p", "5", "XX"), b("EXPIRE", "p", "5", "LT"), b("TTL", "p"), b("TTL", "none")],
    [b("SET", "k", "v", "PX", "30"), b("GET", "k"), ("sleep", 0.15), b("GET", "k"), b("EXISTS", "k"), b("TTL", "k"),
     b("DBSIZE")],
    # lists
    [b("LPUSH", "l", "a", "b", "c"), b("RPUSH", "l", "d"), b("LRANGE", "l", "0", "-1"), b("LLEN", "l"),
     b("LPOP", "l"), b("RPOP", "l"), b("LRANGE", "l", "0", "-1"), b("LPOP", "l", "5"), b("EXISTS", "l"),
     b("LPOP", "l"), b("LPOP", "l", "2"), b("RPUSH", "l", "x", "y"), b("LPOP", "l", "0"), b("LPOP", "l", "-1"),
     b("LPOP", "l", "x"), b("LPOP", "l", "1", "2"), b("LLEN", "missing"), b("SET", "s", "v"), b("LPUSH", "s", "x"),
     b("LRANGE", "s", "0", "1"), b("LLEN", "s"), b("RPOP", "s")],
    [b("RPUSH", "l", "0", "1", "2", "3", "4", "5"), b("LRANGE", "l", "1", "3"), b("LRANGE", "l", "-2", "-1"),
     b("LRANGE", "l", "-100", "100"), b("LRANGE", "l", "4", "2"), b("LRANGE", "l", "10", "20"),
     b("LRANGE", "l", "0", "0"), b("LRANGE", "l", "a", "1"), b("LRANGE", "missing", "0", "-1"), b("LRANGE", "l", "0")],
    # sets
    [b("SADD", "s", "a", "b", "a"), b("SCARD", "s"), b("SISMEMBER", "s", "a"), b("SISMEMBER", "s", "z"),
     b("SMEMBERS", "s"), b("SREM", "s", "a", "z"), b("SMEMBERS", "s"), b("SREM", "s", "b"), b("EXISTS", "s"),
     b("SCARD", "missing"), b("SMEMBERS", "missing"), b("SREM", "missing", "x"), b("SET", "str", "v"),
     b("SADD", "str", "x"), b("SCARD", "str"), b("SPOP", "missing"), b("SPOP", "missing", "2"),
     b("SADD", "one", "x"), b("SPOP", "one"), b("EXISTS", "one"), b("SADD", "two", "x", "y"), b("SPOP", "two", "5"),
     b("SADD", "t", "x"), b("SPOP", "t", "-1"), b("SPOP", "t", "0"), b("SPOP", "t", "a")],
    # hashes
    [b("HSET", "h", "f", "v", "g", "w"), b("HSET", "h", "f", "v2"), b("HGET", "h", "f"), b("HGET", "h", "zz"),
     b("HLEN", "h"), b("HGETALL", "h"), b("HDEL", "h", "f", "zz"), b("HGETALL", "h"), b("HDEL", "h", "g"),
     b("EXISTS", "h"), b("HSET", "h", "f"), b("HGET", "missing", "f"), b("HGETALL", "missing"), b("HLEN", "missing"),
     b("SET", "str", "v"), b("HSET", "str", "f", "v"), b("HGET", "str", "f"), b("HDEL", "missing", "f")],
    # server commands
    [b("PING"), b("PING", "hello"), b("PING", "a", "b"), b("ECHO", "x"), b("ECHO"), b("DBSIZE"), b("SET", "a", "1"),
     b("DBSIZE"), b("FLUSHALL"), b("DBSIZE"), b("FLUSHALL", "ASYNC"), b("FLUSHALL", "BAD"), b("SELECT", "0"),
     b("SELECT", "x"), b("CONFIG", "GET", "appendonly"), b("CONFIG", "GET", "nosuchparameter"),
     b("CONFIG", "NOPE"), b("CONFIG"), b("CLIENT", "SETNAME", "myname"), b("CLIENT", "GETNAME"),
     b("CLIENT", "SETNAME", "bad name"), b("CLIENT", "NOPE"), b("HELLO", "x"), b("HELLO", "2", "BAD")],
    [b("FOO"), b("FOO", "a", "b"), b("foo", "x" * 200), b("GET"), b("GET", "a", "b"), b("SET", "k"),
     b("HGETALL"), b("LRANGE", "l"), b("SCARD"), b("TTL"), b("DBSIZE", "x")],
    # SET's options repeated, combined and conflicting: the last amount wins
    [b("SET", "k", "v", "EX", "10", "EX", "20"), b("TTL", "k"), b("SET", "k", "v", "PX", "1000", "PX", "20000"),
     b("TTL", "k"), b("SET", "k", "v", "EX", "10", "PX", "20"), b("SET", "k", "v", "NX", "NX"),
     b("SET", "k", "w", "XX", "XX"), b("GET", "k"), b("SET", "k", "x", "GET", "GET"),
     b("SET", "k", "v", "KEEPTTL", "KEEPTTL"),
     b("SET", "k", "v", "EX", "10", "KEEPTTL"), b("SET", "k", "v", "KEEPTTL", "PX", "10"),
     b("SET", "k", "v", "EXAT", "1", "PXAT", "1"), b("SET", "k", "v", "EXAT", "4102444800"), b("TTL", "k") + [],
     b("SET", "k", "v", "PXAT", "4102444800000", "PXAT", "4102444800000"), b("SET", "k", "v", "EX", "1", "EXAT", "1"),
     b("SET", "k", "v", "EXAT", "0"), b("SET", "k", "v", "PXAT", "-1"), b("SET", "k", "v", "ex", "5", "Ex", "7"),
     b("TTL", "k"), b("SET", "k", "v", "nx", "xx"), b("SET", "k", "v", "EX", "10", "EX")],
    # expiry amounts at and past what the Unix time in milliseconds leaves
    [b("SET", "k", "v", "PX", "9223371000000000000"), b("SET", "k", "v", "PX", "9223370000000000000"),
     b("SET", "k", "v", "EX", "9223372036854775"), b("SET", "k", "v", "EX", "9223370000000000"),
     b("SET", "k", "v", "PX", "9223372036854775807"), b("SET", "k", "v", "EX", "9223372036854775807"),
     b("SET", "k", "v"), b("PEXPIRE", "k", "9223371000000000000"), b("PEXPIRE", "k", "9223370000000000000"),
     b("EXPIRE", "k", "9223372036854775"), b("EXPIRE", "k", "9223372036854776"), b("EXPIRE", "k", "-9223372036854776"),
     b("EXPIRE", "k", "-9223372036854775"), b("EXISTS", "k"), b("SET", "k", "v"),
     b("PEXPIRE", "k", "-9223372036854775808"), b("EXISTS", "k"), b("SET", "k", "v"),
     b("EXPIRE", "k", "-9223372036854775808"), b("EXISTS", "k")],
    # CLIENT's subcommands and HELLO's options check their arguments
    [b("CLIENT"), b("CLIENT", "GETNAME", "extra"), b("CLIENT", "ID", "extra"), b("CLIENT", "SETNAME"),
     b("CLIENT", "SETNAME", "a", "b"), b("CLIENT", "SETNAME", "a\x01"), b("HELLO", "2", "SETNAME", "a b"),
     b("CLIENT", "GETNAME"), b("HELLO", "2", "SETNAME"), b("CLIENT", "SETNAME", ""), b("CLIENT", "GETNAME"),
     b("HELLO", "1"), b("HELLO", "4"), b("HELLO", "-1"), b("HELLO", "2", "AUTH", "default"),
     b("CLIENT", "NoSuch", "x"), b("CLIENT", b"Bad\x00Sub")],
    # error replies quote requests' bytes as they came, cut at a NUL, CR and LF as spaces
    [[b"NO\xff"], [b"NO\x00PE", b"x"], [b"BAD\r\nCMD", b"a\nb", b"c\x00d", b"\xfe\xff"],
     [b"x" * 300, b"y" * 300, b"z"], b("CONFIG", b"G\xffET"), b("EXPIRE", "k", "10", b"N\xffX"),
     b("CLIENT", b"\x80\r\n")],
]

STRINGS = [
    [c("SETNX k v"), c("SETNX k w"), c("GET k"), c("SETNX k"), c("SETNX"), c("LPUSH l a"), c("SETNX l x"),
     c("TYPE l")],
    [c("SETEX k 100 v"), c("TTL k"), c("GET k"), c("SETEX k 0 v"), c("SETEX k -1 v"), c("SETEX k abc v"),
     c("SETEX k 9223372036854775807 v"), c("SETEX k 9223372036854775 v"), c("SETEX k 100"), c("SETEX k 1.5 v"),
     c("PSETEX k 100000 v"), c("PTTL k"), c("PSETEX k 0 v"), c("PSETEX k -5 v"), c("PSETEX k 1.5 v"),
     c("PSETEX k 9223372036854775807 v"), c("SETEX k 10 v EX"), c("LPUSH l a"), c("SETEX l 100 x"), c("TYPE l"),
     c("GET k"), c("SET p v EX 100"), c("SETEX p 200 w"), c("TTL p")],
    [c("GETSET k v"), c("GETSET k w"), c("GET k"), c("SET e v EX 100"), c("GETSET e x"), c("TTL e"), c("LPUSH l a"),
     c("GETSET l x"), c("GETSET k"), c("GETSET k a b")],
    [c("SET k v"), c("GETDEL k"), c("GETDEL k"), c("EXISTS k"), c("LPUSH l a"), c("GETDEL l"), c("GETDEL"),
     c("GETDEL a b"), c("SET n 12"), c("GETDEL n")],
    [c("SET k v"), c("GETEX k"), c("GETEX k EX 100"), c("TTL k"), c("GETEX k PX 200000"), c("PTTL k"),
     c("GETEX k EXAT 4102444800"), c("EXPIRETIME k"), c("GETEX k PXAT 4102444800123"), c("PEXPIRETIME k"),
     c("EXPIRETIME k"), c("GETEX k PERSIST"), c("TTL k"), c("GETEX k EX 0"), c("GETEX k EX -1"), c("GETEX k PX 0"),
     c("GETEX k EX abc"), c("GETEX k EX"), c("GETEX k EX 10 PX 100"), c("GETEX k PERSIST EX 10"),
     c("GETEX k EX 10 PERSIST"), c("GETEX k EX 10 EX 20"), c("TTL k"), c("GETEX k PERSIST PERSIST"), c("TTL k"),
     c("GETEX k BAD"), c("GETEX k ex 30"), c("TTL k"), c("GETEX missing"), c("GETEX missing EX 10"),
     c("GETEX missing BAD"), c("GETEX k EX 9223372036854775807"), c("GETEX k PX 9223372036854775807"),
     c("GETEX k EXAT 9223372036854775807"), c("GETEX k EXAT 0"), c("GETEX k EXAT 1"), c("EXISTS k"),
     c("LPUSH l a"), c("GETEX l"), c("GETEX l EX 10"), c("GETEX")],
    [c("MSETNX a 1 b 2"), c("MGET a b"), c("MSETNX b 3 c 4"), c("MGET b c"), c("MSETNX a"), c("MSETNX a 1 b"),
     c("MSETNX x 1 x 2"), c("GET x"), c("LPUSH l a"), c("MSETNX l 1 y 2"), c("EXISTS y"), c("MSETNX")],
    [c("APPEND k hello"), b("APPEND", "k", " world"), c("GET k"), c("STRLEN k"), c("STRLEN missing"), c("APPEND n 1"),
     c("APPEND n 2"), c("OBJECT ENCODING n"), c("INCR n"), c("OBJECT ENCODING k"), c("LPUSH l a"), c("APPEND l x"),
     c("STRLEN l"), c("APPEND k"), c("STRLEN"), c("STRLEN a b"), b("APPEND", "e", ""), c("EXISTS e"), c("STRLEN e"),
     c("SET i 12345"), c("STRLEN i"), c("SET e v EX 100"), c("APPEND e w"), c("TTL e")],
    [b("SET", "k", "Hello World"), c("GETRANGE k 0 4"), c("GETRANGE k -5 -1"), c("GETRANGE k 6 100"),
     c("GETRANGE k 5 2"), c("GETRANGE k -100 -50"), c("GETRANGE k 100 200"), c("GETRANGE k 0 -100"),
     c("GETRANGE k -1 -5"), c("GETRANGE k a 1"), c("GETRANGE k 0 b"), c("GETRANGE missing 0 1"),
     c("GETRANGE k 0 9223372036854775807"), c("GETRANGE k -9223372036854775808 2"), c("GETRANGE k 0 -1"),
     c("GETRANGE k -1 -1"), c("GETRANGE k 10 10"), c("GETRANGE k 11 11"), c("SUBSTR k 1 3"), c("SET n 12345"),
     c("GETRANGE n 1 2"), c("GETRANGE n -2 -1"), c("LPUSH l a"), c("GETRANGE l 0 1"), b("SET", "e", ""),
     c("GETRANGE e 0 -1"), c("GETRANGE e 0 0"), c("GETRANGE e -1 0"), c("GETRANGE k 0"), c("GETRANGE k 0 1 2")],
    [c("SETRANGE k 5 abc"), c("GET k"), c("SETRANGE k 0 XY"), c("GET k"), c("SETRANGE k -1 x"),
     c("SETRANGE k 536870912 x"), c("SETRANGE k 536870911 xx"), b("SETRANGE", "missing", "0", ""),
     c("EXISTS missing"), b("SETRANGE", "missing", "5", ""), c("EXISTS missing"), b("SETRANGE", "k", "100", ""),
     c("STRLEN k"), b("SETRANGE", "missing", "-1", ""), c("SET n 123"), c("SETRANGE n 1 9"), c("GET n"),
     c("OBJECT ENCODING n"), c("SETRANGE k abc x"), c("LPUSH l a"), c("SETRANGE l 0 x"), b("SETRANGE", "l", "0", ""),
     c("SETRANGE k 1"), c("SET e v EX 100"), c("SETRANGE e 0 w"), c("TTL e"), c("SETRANGE k 9 0123456789"),
     c("GET k")],
    [c("SETBIT k 7 1"), c("GETBIT k 7"), c("GETBIT k 0"), c("GET k"), c("SETBIT k 7 0"), c("SETBIT k 100 1"),
     c("STRLEN k"), c("GETBIT k 100"), c("GETBIT k 1000"), c("GETBIT missing 3"), c("SETBIT k -1 1"),
     c("SETBIT k 4294967296 1"), c("GETBIT k 4294967296"), c("SETBIT k abc 1"), c("SETBIT k 1 2"),
     c("SETBIT k 1 -1"), c("SETBIT k 1 x"), c("SET n 0"), c("SETBIT n 7 1"), c("GET n"), c("OBJECT ENCODING n"),
     c("SETBIT n 2 1"), c("GET n"), c("SET e v EX 100"), c("SETBIT e 0 1"), c("TTL e"), c("LPUSH l a"),
     c("SETBIT l 0 1"), c("GETBIT l 0"), c("SETBIT k 1"), c("GETBIT k")],
    # BITFIELD: every type width's edges, #offsets, unaligned fields, the
    # three overflow rules on SET and INCRBY, reads past the end, growth
    # even when every write fails, integers held as integers, the errors
    [c("BITFIELD bf SET u8 0 255 GET u8 0 GET i8 0 INCRBY u8 0 1 GET u8 0"), c("GET bf"),
     c("BITFIELD bf SET i5 3 -16 GET i5 3 GET u5 3 INCRBY i5 3 -1 OVERFLOW SAT INCRBY i5 3 -100 INCRBY i5 3 100"),
     c("BITFIELD bf OVERFLOW FAIL INCRBY u2 100 5 GET u2 100 SET u2 102 4 INCRBY u2 102 -1"), c("STRLEN bf"),
     c("BITFIELD bf SET i64 #2 -9223372036854775808 INCRBY i64 #2 -1 OVERFLOW SAT INCRBY i64 #2 -1 GET i64 128"),
     c("BITFIELD bf OVERFLOW WRAP SET u63 5 -1 GET u63 5 OVERFLOW SAT SET u63 70 -1 GET u63 70 SET i64 0 1"),
     c("BITFIELD bf GET u8 1000000 GET i64 4000 GET u1 7"),
     c("BITFIELD q OVERFLOW SAT SET i3 0 -9223372036854775808 GET i3 0 SET i3 0 -5 GET i3 0 SET i64 8 -1"), c("BITFIELD_RO bf GET u8 0 GET i16 #3"),
     c("BITFIELD_RO bf SET u8 0 1"), c("BITFIELD_RO missing GET u8 0"), c("BITFIELD missing"), c("EXISTS missing"),
     c("BITFIELD new OVERFLOW FAIL INCRBY u8 8 300"), c("GET new"), c("BITFIELD bf SET u8 0 1 OVERFLOW"),
     c("BITFIELD bf GET u64 0"), c("BITFIELD bf GET i65 0"), c("BITFIELD bf GET u0 0"), c("BITFIELD bf GET I8 0"),
     c("BITFIELD bf GET x8 0"), c("BITFIELD bf GET u8 -1"), c("BITFIELD bf GET u8 #-1"), c("BITFIELD bf GET u8 x"),
     c("BITFIELD bf GET u8 4294967296"), c("BITFIELD bf SET u8 0 x"), c("BITFIELD bf SET u8 0 1.5"),
     c("BITFIELD bf SET u8 0"), c("BITFIELD bf OVERFLOW BAD"), c("BITFIELD bf NOPE"), c("BITFIELD bf get u8 0"),
     c("BITFIELD"), c("BITFIELD_RO"), c("SET n 12"), c("BITFIELD n GET u8 0 SET u8 8 51"), c("GET n"),
     c("OBJECT ENCODING n"), c("BITFIELD n SET u8 0 49"), c("GET n"), c("OBJECT ENCODING n"), c("LPUSH l a"),
     c("BITFIELD l GET u8 0"), c("BITFIELD_RO l GET u8 0"), c("BITFIELD l SET u8 0 1"), c("SET e v EX 100"),
     c("BITFIELD e SET u8 0 65"), c("TTL e"), c("GET e")],
    [c("SET k foobar"), c("BITCOUNT k"), c("BITCOUNT k 0 0"), c("BITCOUNT k 1 1"), c("BITCOUNT k 1 1 BYTE"),
     c("BITCOUNT k 5 30 BIT"), c("BITCOUNT k -1 -1"), c("BITCOUNT k -2 -3"), c("BITCOUNT k 0 -1 bit"),
     c("BITCOUNT k -9 -1 BIT"), c("BITCOUNT k 2 100"), c("BITCOUNT k 0 1 NOPE"), c("BITCOUNT k -1 -2 NOPE"), c("BITCOUNT k 0"),
     c("BITCOUNT k a 1"), c("BITCOUNT k 0 1 BIT x"), c("BITCOUNT missing"), c("BITCOUNT missing 0 1 NOPE"),
     b("SET", "e", ""), c("BITCOUNT e"), c("BITCOUNT e 0 -1 BIT"), c("SET n 12345"), c("BITCOUNT n"),
     c("LPUSH l a"), c("BITCOUNT l"), c("BITCOUNT")],
    [b("SET", "k", b"\xff\xf0\x00"), c("BITPOS k 0"), c("BITPOS k 1"), c("BITPOS k 0 2"), c("BITPOS k 1 2"),
     c("BITPOS k 0 0 0"), c("BITPOS k 0 0 -1"), c("BITPOS k 1 7 15 BIT"), c("BITPOS k 0 7 15 BIT"),
     c("BITPOS k 0 0 10 bit"), c("BITPOS k 1 -8 -1 BIT"), c("BITPOS k 1 2 1"), c("BITPOS k 2"), c("BITPOS k x"),
     c("BITPOS k 1 a"), c("BITPOS k 1 0 b"), c("BITPOS k 1 0 1 NOPE"), c("BITPOS k 1 0 1 BIT x"),
     b("SET", "f", b"\xff\xff"), c("BITPOS f 0"), c("BITPOS f 0 0"), c("BITPOS f 0 0 -1"), c("BITPOS f 0 0 1 BYTE"),
     c("BITPOS missing 0"), c("BITPOS missing 1"), c("BITPOS missing 1 0 1 NOPE"), b("SET", "z", b"\x00\x00"),
     c("BITPOS z 1"), c("BITPOS z 0"), c("BITPOS z 0 5 3 BIT"), c("LPUSH l a"), c("BITPOS l 1"), c("BITPOS k")],
    [b("SET", "a", b"\x0f\xf0"), b("SET", "b", b"\xff"), c("BITOP AND d a b"), c("GET d"), c("BITOP or d a b"),
     c("GET d"), c("BITOP XOR d a b missing"), c("GET d"), c("BITOP NOT d a"), c("GET d"), c("BITOP NOT d a b"),
     c("BITOP NAND d a b"), c("BITOP AND d missing other"), c("EXISTS d"), c("SET d x EX 100"), c("BITOP OR d a"),
     c("TTL d"), c("LPUSH l a"), c("BITOP AND d a l"), c("GET d"), c("BITOP AND d"), c("BITOP NOT d missing"),
     c("EXISTS d")],
    [c("SET a ohmytext"), c("SET b mynewtext"), c("LCS a b"), c("LCS a b LEN"), c("LCS a b IDX"),
     c("LCS a b idx minmatchlen 4 withmatchlen"), c("LCS a b IDX WITHMATCHLEN MINMATCHLEN 2"),
     c("LCS a b MINMATCHLEN -5 IDX"), c("LCS a b LEN IDX"), c("LCS a b IDX LEN"), c("LCS a b MINMATCHLEN x"),
     c("LCS a b MINMATCHLEN"), c("LCS a b foo"), c("LCS a b LEN MINMATCHLEN 3"), c("LCS a missing"),
     c("LCS missing other IDX"), c("LCS a a IDX WITHMATCHLEN"), b("SET", "e", ""), c("LCS e a IDX"),
     c("SET n 1234512345"), c("SET m 5432154321"), c("LCS n m"), c("LCS n m IDX WITHMATCHLEN"),
     b("SET", "x", "ab" * 1000), b("SET", "y", "ba" * 1000), c("LCS x y LEN"), b("SET", "x", "a" * 11584),
     b("SET", "y", "b" * 11585), c("LCS x y LEN"), c("LCS x y"), c("LCS y x IDX"), c("LPUSH l a"), c("LCS a l"), c("LCS l missing BAD"), c("LCS a")],
    [c("CONFIG SET list-max-ziplist-size 5"), c("CONFIG GET list-max-listpack-size"), c("RPUSH l a b c d e f g h i j k l"),
     c("LINSERT l BEFORE f x"), c("LINSERT l AFTER k y"), c("LSET l 5 zz"), c("LREM l 1 c"), c("LTRIM l 1 -2"),
     c("LRANGE l 0 -1"), c("LPOS l zz"), c("LINDEX l 7"), c("CONFIG SET list-max-listpack-size -1"),
     c("CONFIG SET list-max-ziplist-size abc"), c("CONFIG SET list-max-ziplist-size -2"),
     c("CONFIG SET list-compress-depth 2"), c("CONFIG GET list-compress-depth"), c("CONFIG SET list-compress-depth -1"),
     c("CONFIG SET list-compress-depth 0"), b("CONFIG", "SET", "save", ""), c("CONFIG SET appendonly no"),
     c("CONFIG SET databases 16"), c("CONFIG SET maxmemory-policy noeviction")],
    [c("SET s v"), c("MEMORY USAGE missing"), c("MEMORY USAGE s SAMPLES"), c("MEMORY USAGE s SAMPLES -1"),
     c("MEMORY USAGE s SAMPLES x"), c("MEMORY USAGE s FOO"), c("MEMORY USAGE"), c("MEMORY PURGE"), c("MEMORY PURGE x"),
     c("MEMORY STATS x"), c("MEMORY FOO")],
    [c("rpush l 3 1 2 10 -5 1.5 abc"), c("sort l"), c("sort l alpha"), c("del l"),
     b("RPUSH", "l", "3", "1", "2", "10", "-5", "1.5", " 7", "", "inf", "-inf"), c("sort l"), c("sort l desc"),
     c("sort l limit 1 3"), c("sort l limit -1 2"), c("sort l limit 5 100"), c("sort l limit 20 2"),
     c("sort l limit 0 0"), c("sort l limit 0 -1"), c("sort l limit a 1"), c("sort l limit 1"), c("sort l foo"),
     c("sort l alpha desc"), c("mset w_3 30 w_1 10 w_2 20 w_10 5 o_3 three o_1 one"), c("sort l by w_*"),
     c("sort l by w_* get o_* get #"), c("sort l by nosort"), c("sort l by nosort desc"),
     c("sort l by nosort limit 2 3"), c("sort l by nosort desc limit 2 3"), c("sort l get #"),
     c("sort l get nosuch"), c("sort l by w_* alpha"), c("sort l by w_* alpha desc"),
     c("hset h_3 f 9"), c("hset h_1 f 7"), c("hset h_2 f 8"), c("sort l by h_*->f get h_*->f"),
     c("sort l store dst"), c("lrange dst 0 -1"), c("sort l by w_* get o_* store dst"), c("lrange dst 0 -1"),
     c("sort missing store dst"), c("exists dst"), c("sort_ro l"), c("sort_ro l store x"), c("set str x"),
     c("sort str"), c("sadd s c a b 10 2"), c("sort s alpha"), c("sort s"), c("sort s by nosort store dst2"),
     c("lrange dst2 0 -1"), c("zadd z 3 c 1 a 2 b"), c("sort z alpha"), c("sort z by nosort"),
     c("sort z by nosort desc"), c("sort z by nosort limit 1 1"), c("sort z by nosort desc limit 1 5"),
     c("rpush tie b a c"), c("mset x_a 1 x_b 1 x_c 1"), c("sort tie by x_* alpha"), c("sort tie by x_*"),
     c("sort tie by x_* desc"), c("sort tie by x_* alpha desc"), c("sort tie by x_* alpha limit 0 2"),
     c("SORT"), c("SORT_RO"), c("SORT l LIMIT 0 9223372036854775807"),
     c("SORT l LIMIT 9223372036854775807 9223372036854775807"),
     c("COMMAND GETKEYS SORT l BY x GET y STORE d LIMIT 0 1"), c("COMMAND GETKEYS SORT_RO l")],
    [c("SET x hello"), c("DUMP x"), c("SET n 123"), c("DUMP n"), c("SET n -70000"), c("DUMP n"), c("DUMP missing"),
     b("RESTORE", "r1", "0", HELLO_DUMP), c("GET r1"), b("RESTORE", "r1", "0", HELLO_DUMP),
     b("RESTORE", "r1", "0", HELLO_DUMP, "REPLACE"), b("RESTORE", "r2", "5000", HELLO_DUMP), c("PTTL r2"),
     b("RESTORE", "r3", "1", HELLO_DUMP, "ABSTTL"), c("EXISTS r3"), b("RESTORE", "r1", "1", HELLO_DUMP, "REPLACE", "ABSTTL"),
     c("EXISTS r1"), b("RESTORE", "r4", "-1", HELLO_DUMP), b("RESTORE", "r4", "x", HELLO_DUMP),
     b("RESTORE", "r4", "0", HELLO_DUMP[:-1] + b"x"), b("RESTORE", "r4", "0", b"\x00\x05hel\x0b\x00" + HELLO_DUMP[-8:]),
     b("RESTORE", "r4", "0", LIST_DUMP), c("LRANGE r4 0 -1"), b("RESTORE", "r5", "0", HELLO_DUMP, "IDLETIME", "10"),
     b("RESTORE", "r6", "0", HELLO_DUMP, "IDLETIME", "-1"), b("RESTORE", "r6", "0", HELLO_DUMP, "FREQ", "256"),
     b("RESTORE", "r6", "0", HELLO_DUMP, "FREQ", "5", "IDLETIME", "1"), b("RESTORE", "r6", "0", HELLO_DUMP, "BAD"),
     b("RESTORE", "r6", "0", HELLO_DUMP, "IDLETIME"), b("RESTORE", "r6", "0", b"short"), c("RESTORE r6 0"),
     c("SET busy 1"), b("RESTORE", "busy", "-1", b"junk"), c("DUMP")],
    [c("FUNCTION FLUSH"), c("FUNCTION FLUSH async"), c("FUNCTION FLUSH SYNC"), c("FUNCTION FLUSH foo"),
     c("FUNCTION FLUSH a b"), c("FUNCTION LIST"), c("FUNCTION LIST withcode"), c("FUNCTION LIST WITHCODE WITHCODE"),
     c("FUNCTION LIST LIBRARYNAME"), c("FUNCTION LIST LIBRARYNAME x WITHCODE"), c("FUNCTION LIST foo"),
     c("FUNCTION STATS"), c("FUNCTION STATS x"), c("FUNCTION DELETE x"), c("FUNCTION DELETE"), c("FUNCTION KILL"),
     c("FUNCTION LOAD"), c("FUNCTION LOAD a b c"), b("FUNCTION", "LOAD", "return 1"), b("FUNCTION", "LOAD", "#!lua"),
     b("FUNCTION", "LOAD", "#!lua\nx"), b("FUNCTION", "LOAD", "#!lua foo=bar\nx"),
     b("FUNCTION", "LOAD", "#!lua name=a name=b\nx"), b("FUNCTION", "LOAD", "#!lua name=a-b\nx"),
     b("FUNCTION", "LOAD", "#!lua name=\nx"), b("FUNCTION", "LOAD", "#!\nx"),
     b("FUNCTION", "LOAD", "REPLACE", "#!xx NAME=a\nx"), b("FUNCTION", "LOAD", "#! lua name=a\nx"),
     b("FUNCTION", "LOAD", "#!xx name=a\r\nx"), c("FUNCTION FOO"), c("FCALL f 0"), c("FCALL f -1"),
     c("FCALL f 5 a"), c("FCALL_RO f 1 k"), c("FCALL f"), c("COMMAND GETKEYS FCALL f 2 a b c")],
    [c("INCRBYFLOAT f 10.5"), c("INCRBYFLOAT f 0.1"), c("INCRBYFLOAT f -5"), c("GET f"), c("SET f 3.0e3"),
     c("INCRBYFLOAT f 200"), c("SET f 1e-5"), c("INCRBYFLOAT f 0"), c("INCRBYFLOAT g 1e-5"), c("INCRBYFLOAT f inf"),
     c("INCRBYFLOAT f -inf"), c("INCRBYFLOAT f +inf"), c("INCRBYFLOAT f nan"), c("INCRBYFLOAT f abc"),
     b("INCRBYFLOAT", "f", ""), c("SET h 1e308"), c("INCRBYFLOAT h 1e308"), c("INCRBYFLOAT h -1e308"),
     c("INCRBYFLOAT i 5.0e3"), c("INCRBYFLOAT i -5000"), c("GET i"), c("INCRBYFLOAT j 1"), c("GET j"),
     c("SET s abc"), c("INCRBYFLOAT s 1"), b("SET", "sp", " 1"), c("INCRBYFLOAT sp 1"), b("INCRBYFLOAT", "k", "1 "),
     c("INCRBYFLOAT k 0x10"), c("INCRBYFLOAT k 1.5e"), c("SET e 5 EX 100"), c("INCRBYFLOAT e 1.5"), c("TTL e"),
     c("LPUSH l a"), c("INCRBYFLOAT l 1"), c("INCRBYFLOAT m 0.1"), c("INCRBYFLOAT m 0.1"), c("INCRBYFLOAT m 0.1"),
     c("INCRBYFLOAT big 1e20"), c("INCRBYFLOAT big 1e20"), c("INCRBYFLOAT tiny 1e-20"), c("INCRBYFLOAT neg -0"),
     c("INCRBYFLOAT neg -1.5"), c("INCRBYFLOAT x -inf"), c("INCRBYFLOAT p 3.0000000000000001"),
     c("INCRBYFLOAT q 1.23456789012345678"), c("INCRBYFLOAT r 1e17"), c("INCRBYFLOAT r 1"), c("INCRBYFLOAT t 1e-300"),
     c("SET u 9223372036854775807"), c("INCRBYFLOAT u 1"), c("SET v 1.5e400"), c("INCRBYFLOAT v 1"), c("SET w .5"),
     c("INCRBYFLOAT w .5"), c("INCRBYFLOAT w 5."), c("INCRBYFLOAT w"), c("OBJECT ENCODING m")],
]

BIG_HASH = ["HSET", "big"] + fields(128)
BIG_ZSET = ["ZADD", "bigz"] + scored(128)
INT_SET = ["SADD", "ints"] + [str(i) for i in range(512)]
LONG = "x" * 64

KEYS = [
    [c("SET a 1"), c("FLUSHDB"), c("DBSIZE"), c("SET a 1"), c("FLUSHDB ASYNC"), c("DBSIZE"), c("FLUSHDB SYNC"),
     c("FLUSHDB BAD"), c("FLUSHDB a b"), c("FLUSHALL SYNC"), c("FLUSHALL a b")],
    [c("SET s v"), c("LPUSH l a"), c("HSET h f v"), c("SADD st a"), c("ZADD z 1 a"), c("TYPE s"), c("TYPE l"),
     c("TYPE h"), c("TYPE st"), c("TYPE z"), c("TYPE missing"), c("TYPE"), c("TYPE a b")],
    [c("SET a 1"), c("RENAME a b"), c("GET a"), c("GET b"), c("RENAME missing x"), c("RENAME b b"), c("GET b"),
     c("SET c 2 EX 100"), c("RENAME c d"), c("TTL d"), c("SET e 3"), c("RENAME e d"), c("TTL d"),
     c("RENAMENX d e"), c("SET f 4"), c("RENAMENX d f"), c("RENAMENX d d"), c("RENAMENX missing x"),
     c("RENAMENX missing missing"), c("RENAME missing missing"), c("RENAME a"), c("LPUSH l x"), c("RENAME l m"),
     c("TYPE m"), c("LRANGE m 0 -1"), c("RENAMENX m n"), c("TYPE n"), c("RENAME n d"), c("TYPE d")],
    [c("SET a 1"), c("COPY a b"), c("GET b"), c("COPY a b"), c("SET a 2"), c("COPY a b REPLACE"), c("GET b"),
     c("COPY a a"), c("COPY a a REPLACE"), c("COPY missing x"), c("COPY a c DB 0"), c("COPY a d DB 1"),
     c("COPY a c BAD"), c("COPY a e REPLACE REPLACE"), c("COPY a f DB"), c("COPY a f DB abc"), c("COPY a f DB -1"),
     c("COPY a"), c("RPUSH l 1 2 3"), c("COPY l l2"), c("RPUSH l 4"), c("LRANGE l2 0 -1"), c("HSET h f v"),
     c("COPY h h2"), c("HSET h g w"), c("HGETALL h2"), c("SADD s x"), c("COPY s s2"), c("SADD s y"),
     c("SMEMBERS s2"), c("ZADD z 1 x"), c("COPY z z2"), c("ZADD z 2 y"), c("ZRANGE z2 0 -1 WITHSCORES"),
     c("SET t v EX 100"), c("COPY t u"), c("TTL u"), c("COPY l a REPLACE"), c("TYPE a"), c("COPY missing a REPLACE"),
     c("TYPE a"), c("COPY z l"), c("TYPE l")],
    [c("MSET hello 1 hallo 2 hxllo 3 hllo 4 heeeello 5 hbllo 6"), b("MSET", "h*llo", "7", "a\\b", "8", "[x", "9",
     "x]", "10", "a?b", "11", "-", "12", "^", "13", "h[llo", "14"),
     c("KEYS *"), c("KEYS h?llo"), c("KEYS h*llo"), c("KEYS h[ae]llo"), c("KEYS h[^e]llo"), c("KEYS h[a-b]llo"),
     c("KEYS h[b-a]llo"), b("KEYS", "h\\*llo"), b("KEYS", "*\\[*"), c("KEYS ["), b("KEYS", "\\"), c("KEYS h[a-"),
     c("KEYS h[a"), b("KEYS", ""), c("KEYS *x*"), c("KEYS **"), c("KEYS h[!e]llo"), c("KEYS h[^]llo"),
     c("KEYS [-]"), c("KEYS [^-]"), c("KEYS [x]"), c("KEYS ?"), c("KEYS ??"), c("KEYS *]"), b("KEYS", "a\\\\b"),
     b("KEYS", "a\\?b"), c("KEYS a?b"), c("KEYS H*"), c("KEYS h*LLO"), c("KEYS [h]*"), c("KEYS h[a-cx]llo"),
     b("KEYS", "h[\\]]llo"), c("KEYS h[]llo"), c("KEYS *o"), c("KEYS *e*e*"), c("KEYS"), c("KEYS a b"),
     c("SET gone v PX 1"), ("sleep", 0.02), c("KEYS gone")],
    [["MSET"] + [x for i in range(300) for x in ("key:%d" % i, str(i))], c("LPUSH list:a x"), c("SADD set:a x"),
     c("HSET hash:a f v"), c("ZADD zset:a 1 m"), ("scan", c("SCAN 0")), ("scan", c("SCAN 0 MATCH key:1*")),
     ("scan", c("SCAN 0 COUNT 1")), ("scan", c("SCAN 0 COUNT 1000")), ("scan", c("SCAN 0 TYPE string")),
     ("scan", c("SCAN 0 TYPE list")), ("scan", c("SCAN 0 TYPE set")), ("scan", c("SCAN 0 TYPE hash")),
     ("scan", c("SCAN 0 TYPE zset")), ("scan", c("SCAN 0 TYPE nosuch")), ("scan", c("SCAN 0 TYPE LIST")),
     ("scan", c("SCAN 0 MATCH *:a COUNT 5 TYPE set")), ("scan", c("SCAN 0 MATCH nothing*")),
     ("scan", c("SCAN 0 MATCH key:1* MATCH key:2*")), ("scan", c("SCAN 0 COUNT 5 COUNT 7")),
     c("SCAN abc"), c("SCAN 0 COUNT 0"), c("SCAN 0 COUNT -1"), c("SCAN 0 COUNT abc"), c("SCAN 0 MATCH"),
     c("SCAN 0 BAD x"), c("SCAN 0 COUNT"), c("SCAN 18446744073709551616"), c("SCAN 1.5"), c("SCAN"),
     ("shape", c("SCAN -1")), ("shape", c("SCAN 18446744073709551615")), c("SCAN 0 TYPE"),
     c("SCAN 0 COUNT 9223372036854775807 MATCH nothing")],
    [c("RANDOMKEY"), c("SET only v"), c("RANDOMKEY"), c("RANDOMKEY x"), c("DEL only"), c("RANDOMKEY"),
     c("SET gone v PX 1"), ("sleep", 0.02), c("RANDOMKEY")],
    [c("SET k v EX 100"), c("PERSIST k"), c("TTL k"), c("PERSIST k"), c("PERSIST missing"), c("SET p v"),
     c("PERSIST p"), c("PERSIST"), c("PERSIST a b"), c("LPUSH l a"), c("EXPIRE l 100"), c("PERSIST l"), c("TTL l")],
    [c("SET k v"), c("EXPIREAT k 4102444800"), c("EXPIRETIME k"), c("PEXPIRETIME k"), c("PEXPIREAT k 4102444800123"),
     c("PEXPIRETIME k"), c("EXPIRETIME k"), c("EXPIREAT k 4102444800 NX"), c("EXPIREAT k 4102444801 XX"),
     c("EXPIREAT k 4102444700 GT"), c("EXPIREAT k 4102444900 GT"), c("EXPIREAT k 4102444900 LT"),
     c("EXPIREAT k 4102444000 LT"), c("EXPIRETIME k"), c("EXPIREAT k abc"), c("EXPIREAT k 1.5"),
     c("EXPIREAT k 10 NX XX"), c("EXPIREAT k 10 BAD"), c("EXPIREAT missing 4102444800"), c("EXPIRETIME missing"),
     c("PEXPIRETIME missing"), c("SET n v"), c("EXPIRETIME n"), c("PEXPIRETIME n"), c("EXPIREAT n 9223372036854775807"),
     c("PEXPIREAT n 9223372036854775807"), c("EXPIREAT n 9223372036854775"), c("EXPIREAT n 9223372036854776"),
     c("PEXPIREAT n 4102444800000 NX"), c("PEXPIRETIME n"), c("EXPIREAT k 1"), c("EXISTS k"), c("SET m v"),
     c("PEXPIREAT m -1"), c("EXISTS m"), c("SET m v"), c("EXPIREAT m 0"), c("EXISTS m"), c("SET m v"),
     c("EXPIREAT m -9223372036854775808"), c("EXISTS m"), c("EXPIRETIME"), c("EXPIREAT m"),
     c("SET g v EX 100"), c("EXPIREAT g 1 GT"), c("EXISTS g"), c("EXPIREAT g 1 LT"), c("EXISTS g"),
     c("SET g v"), c("EXPIREAT g 4102444800 LT"), c("EXPIRETIME g"), c("SET h v"), c("EXPIREAT h 4102444800 GT"),
     c("EXPIRETIME h")],
    [c("SET a 1"), c("SET b 2"), c("UNLINK a b c"), c("UNLINK"), c("EXISTS a b"), c("SET a 1"), c("TOUCH a b c"),
     c("TOUCH a a"), c("TOUCH"), c("LPUSH l x"), c("TOUCH l a"), c("UNLINK l l")],
    # OBJECT ENCODING at the limits where encodings change
    [c("SET i 12345"), c("SET e hello"), b("SET", "r44", "x" * 44), b("SET", "r45", "x" * 45),
     c("SET big 12345678901234567890"), c("SET neg -5"), c("SET lead 0123"), b("SET", "sp", " 1"),
     c("SET max 9223372036854775807"), c("SET min -9223372036854775808"), c("SET z -0"), c("SET f 1.5"),
     c("SET plus +1"), c("SET small 1"), c("SET twenty 12345678901234567890123"),
     c("OBJECT ENCODING i"), c("OBJECT ENCODING e"), c("OBJECT ENCODING r44"), c("OBJECT ENCODING r45"),
     c("OBJECT ENCODING big"), c("OBJECT ENCODING neg"), c("OBJECT ENCODING lead"), c("OBJECT ENCODING sp"),
     c("OBJECT ENCODING max"), c("OBJECT ENCODING min"), c("OBJECT ENCODING z"), c("OBJECT ENCODING f"),
     c("OBJECT ENCODING plus"), c("OBJECT ENCODING small"), c("OBJECT ENCODING twenty"),
     c("APPEND i 6"), c("OBJECT ENCODING i"), c("INCR i"), c("OBJECT ENCODING i"), c("APPEND e x"),
     c("OBJECT ENCODING e"), c("SETRANGE r44 0 y"), c("OBJECT ENCODING r44"), c("INCRBYFLOAT f 1"),
     c("OBJECT ENCODING f"), c("SET k v EX 100"), c("OBJECT ENCODING k"), c("GETSET i 5"), c("OBJECT ENCODING i"),
     c("OBJECT ENCODING missing"), c("OBJECT ENCODING"), c("OBJECT ENCODING a b"), c("OBJECT BAD"),
     c("OBJECT BAD x"), c("OBJECT"), c("OBJECT HELP"), c("OBJECT help x"), c("OBJECT FREQ i"),
     c("OBJECT FREQ missing"), ("shape", c("OBJECT IDLETIME i")), c("OBJECT IDLETIME missing"),
     c("OBJECT REFCOUNT missing"), ("shape", c("OBJECT REFCOUNT e"))],
    [c("RPUSH l a b c"), c("OBJECT ENCODING l"), ["RPUSH", "l2"] + numbered("e", 200), c("OBJECT ENCODING l2"),
     c("RPUSH l3 ") + [LONG * 200], c("OBJECT ENCODING l3"), c("RPUSH l4 1 2 3"), c("OBJECT ENCODING l4"),
     ["RPUSH", "l5"] + numbered("e", 128), c("OBJECT ENCODING l5"), c("RPUSH l5 x"), c("OBJECT ENCODING l5"),
     ["RPUSH", "l6"] + [LONG] * 129, c("OBJECT ENCODING l6"), c("LTRIM l2 0 1"), c("OBJECT ENCODING l2")],
    [["HSET", "h512"] + fields(512), c("OBJECT ENCODING h512"), c("HSET h512 f512 v"), c("OBJECT ENCODING h512"),
     BIG_HASH, c("OBJECT ENCODING big"), c("HSET big f128 v"), c("OBJECT ENCODING big"), c("HDEL big f128 f127"),
     c("OBJECT ENCODING big"), c("HSET h f") + [LONG], c("OBJECT ENCODING h"), c("HSET h g") + [LONG + "x"],
     c("OBJECT ENCODING h"), c("HSET h2") + [LONG, "v"], c("OBJECT ENCODING h2"), c("HSET h3") + [LONG + "x", "v"],
     c("OBJECT ENCODING h3"), c("HSET h4 f 1"), c("OBJECT ENCODING h4"), c("HINCRBYFLOAT h4 f 1.5"),
     c("OBJECT ENCODING h4"), c("HSETNX h5 f") + [LONG + "y"], c("OBJECT ENCODING h5"),
     c("HINCRBY h6 f 1"), c("OBJECT ENCODING h6"), ("scan", c("HSCAN big 0")), ("scan", c("HSCAN big 0 COUNT 3")),
     ("scan", c("HSCAN h 0"))],
    [INT_SET, c("OBJECT ENCODING ints"), c("SADD ints 512"), c("OBJECT ENCODING ints"), c("SREM ints 512 511"),
     c("OBJECT ENCODING ints"), c("SADD s a"), c("OBJECT ENCODING s"), c("SADD n 1 2 -3"), c("OBJECT ENCODING n"),
     c("SADD n a"), c("OBJECT ENCODING n"), c("SREM n a"), c("OBJECT ENCODING n"), c("SADD m 9223372036854775807"),
     c("OBJECT ENCODING m"), c("SADD m2 9223372036854775808"), c("OBJECT ENCODING m2"), c("SADD m3 01"),
     c("OBJECT ENCODING m3"), c("SADD m4 -0"), c("OBJECT ENCODING m4"), ["SADD", "m5"] + numbered("e", 128),
     c("OBJECT ENCODING m5"), c("SADD m6") + [LONG + "x"], c("OBJECT ENCODING m6"), c("SINTERSTORE d ints n"),
     c("OBJECT ENCODING d"), c("SUNIONSTORE d2 ints s"), c("OBJECT ENCODING d2"), ("scan", c("SSCAN ints 0")),
     ("scan", c("SSCAN ints 0 MATCH 1* COUNT 20")), ("scan", c("SSCAN d2 0"))],
    [BIG_ZSET, c("OBJECT ENCODING bigz"), c("ZADD bigz 200 m128"), c("OBJECT ENCODING bigz"),
     c("ZREM bigz m128 m127"), c("OBJECT ENCODING bigz"), c("ZADD z 1") + [LONG], c("OBJECT ENCODING z"),
     c("ZADD z 2") + [LONG + "x"], c("OBJECT ENCODING z"), c("ZADD z2 1 a"), c("OBJECT ENCODING z2"),
     c("ZINCRBY z3 1") + [LONG + "y"], c("OBJECT ENCODING z3"), c("ZUNIONSTORE u 1 bigz"), c("OBJECT ENCODING u"),
     c("ZUNIONSTORE u2 1 z2"), c("OBJECT ENCODING u2"), c("ZRANGESTORE u3 bigz 0 9"), c("OBJECT ENCODING u3"),
     ("scan", c("ZSCAN bigz 0")), ("scan", c("ZSCAN bigz 0 MATCH m1* COUNT 4")), ("scan", c("ZSCAN z 0"))],
]

LISTS = [
    [c("RPUSH l a b c b a"), c("LINDEX l 0"), c("LINDEX l -1"), c("LINDEX l 10"), c("LINDEX l -10"),
     c("LINDEX l abc"), c("LINDEX missing 0"), c("LSET l 0 x"), c("LSET l -1 y"), c("LSET l 10 z"),
     c("LSET l -6 z"), c("LSET missing 0 x"), c("LSET l abc x"), c("LRANGE l 0 -1"), c("SET s v"), c("LINDEX s 0"),
     c("LSET s 0 x"), c("LINDEX l"), c("LSET l 0"), c("LINDEX l 9223372036854775807"),
     c("LINDEX l -9223372036854775808"), c("LSET l 9223372036854775807 x"), c("LINDEX l 1.0")],
    [c("RPUSH l a b c"), c("LINSERT l BEFORE b x"), c("LINSERT l AFTER c y"), c("LINSERT l after a z"),
     c("LINSERT l BEFORE nope x"), c("LINSERT missing BEFORE a x"), c("EXISTS missing"), c("LINSERT l MIDDLE a x"),
     c("LRANGE l 0 -1"), c("SET s v"), c("LINSERT s BEFORE a x"), c("LINSERT l BEFORE a"), c("RPUSH d a a"),
     c("LINSERT d AFTER a b"), c("LRANGE d 0 -1"), c("LINSERT missing MIDDLE a x")],
    [c("RPUSH l a b a c a"), c("LREM l 2 a"), c("LRANGE l 0 -1"), c("LREM l -1 a"), c("LRANGE l 0 -1"),
     c("LREM l 0 a"), c("LREM l 0 zz"), c("LREM l abc a"), c("LREM missing 0 a"), c("LRANGE l 0 -1"),
     c("LREM l 0 b"), c("LREM l 0 c"), c("EXISTS l"), c("SET s v"), c("LREM s 0 v"), c("LREM l 0"),
     c("RPUSH m x y x y x"), c("LREM m -2 x"), c("LRANGE m 0 -1"), c("LREM m 100 y"), c("LRANGE m 0 -1")],
    [["RPUSH", "l"] + [str(i) for i in range(10)], c("LTRIM l 2 -3"), c("LRANGE l 0 -1"), c("LTRIM l 5 1"),
     c("EXISTS l"), c("LTRIM missing 0 1"), c("LTRIM l a b"), c("RPUSH l a b c"), c("LTRIM l -100 100"),
     c("LRANGE l 0 -1"), c("LTRIM l 1 1"), c("LRANGE l 0 -1"), c("LTRIM l 0 -1"), c("LTRIM l 1 0"), c("EXISTS l"),
     c("SET s v"), c("LTRIM s 0 1"), c("LTRIM l 0")],
    [c("RPUSH l a b c 1 2 3 c c"), c("LPOS l c"), c("LPOS l c RANK 2"), c("LPOS l c RANK -1"),
     c("LPOS l c RANK -2"), c("LPOS l c COUNT 0"), c("LPOS l c COUNT 2"), c("LPOS l c RANK 2 COUNT 0"),
     c("LPOS l c RANK -1 COUNT 2"), c("LPOS l c MAXLEN 2"), c("LPOS l c MAXLEN 3 COUNT 0"),
     c("LPOS l c MAXLEN 0 COUNT 0"), c("LPOS l x"), c("LPOS l x COUNT 0"), c("LPOS l c RANK 0"),
     c("LPOS l c COUNT -1"), c("LPOS l c MAXLEN -1"), c("LPOS l c RANK -9223372036854775808"),
     c("LPOS l c RANK 9223372036854775807"), c("LPOS l c RANK abc"), c("LPOS l c BAD"), c("LPOS l c RANK"),
     c("LPOS missing c"), c("LPOS missing c COUNT 1"), c("LPOS l c RANK 1 RANK 3"), c("LPOS l c RANK 10"),
     c("LPOS l c RANK 10 COUNT 1"), c("LPOS l c COUNT 1 COUNT 0"), c("LPOS l 1"), c("SET s v"), c("LPOS s v"),
     c("LPOS l"), c("LPOS l c COUNT abc"), c("LPOS l c MAXLEN abc"), c("LPOS l c rank -3 count 0 maxlen 4")],
    [c("RPUSH a 1 2 3"), c("LMOVE a b LEFT RIGHT"), c("LMOVE a b RIGHT LEFT"), c("LRANGE a 0 -1"),
     c("LRANGE b 0 -1"), c("RPUSH r x y z"), c("LMOVE r r LEFT RIGHT"), c("LRANGE r 0 -1"), c("LMOVE r r RIGHT LEFT"),
     c("LRANGE r 0 -1"), c("LMOVE missing b LEFT LEFT"), c("LMOVE a b UP LEFT"), c("LMOVE a b left right"),
     c("SET s v"), c("LMOVE a s LEFT LEFT"), c("LMOVE s a LEFT LEFT"), c("LMOVE missing s LEFT LEFT"),
     c("RPOPLPUSH b a"), c("RPOPLPUSH missing b"), c("RPOPLPUSH b s"), c("LMOVE a b LEFT"),
     c("RPOPLPUSH a"), c("LRANGE a 0 -1"), c("LRANGE b 0 -1"), c("RPUSH one x"), c("LMOVE one one LEFT LEFT"),
     c("LMOVE one two LEFT LEFT"), c("EXISTS one"), c("RPOPLPUSH two two"), c("LRANGE two 0 -1")],
    [c("RPUSH a 1 2 3 4 5"), c("LMPOP 1 a LEFT"), c("LMPOP 1 a RIGHT COUNT 2"), c("LMPOP 2 missing a LEFT COUNT 10"),
     c("EXISTS a"), c("LMPOP 1 a LEFT"), c("LMPOP 0 a LEFT"), c("LMPOP -1 a LEFT"), c("LMPOP abc a LEFT"),
     c("LMPOP 2 a LEFT"), c("LMPOP 1 a MIDDLE"), c("LMPOP 1 a LEFT COUNT 0"), c("LMPOP 1 a LEFT COUNT -1"),
     c("RPUSH a x y"), c("LMPOP 1 a LEFT COUNT 1 COUNT 2"), c("LMPOP 1 a LEFT COUNT"), c("LMPOP 1 a LEFT BAD"),
     c("SET s v"), c("LMPOP 2 s a LEFT"), c("LMPOP 2 a s LEFT"), c("LMPOP 2 missing s LEFT"), c("LMPOP 1"),
     c("LMPOP 1 a"), c("LMPOP 1 a left count 1"), c("LMPOP 3 a b c RIGHT"), c("RPUSH c 1"),
     c("LMPOP 3 missing b c RIGHT"), c("LMPOP 1 a LEFT COUNT abc"), c("LMPOP 9223372036854775807 a LEFT")],
    [c("LPUSHX missing a"), c("EXISTS missing"), c("LPUSH l a"), c("LPUSHX l b c"), c("RPUSHX l d"),
     c("LRANGE l 0 -1"), c("RPUSHX missing a"), c("SET s v"), c("LPUSHX s a"), c("RPUSHX s a"), c("LPUSHX l"),
     c("RPUSHX")],
]

HASHES = [
    [c("HMSET h a 1 b 2"), c("HMGET h a b c"), c("HMGET missing a"), c("HMSET h a"), c("HMSET h a 1 b"),
     c("HINCRBY h a 5"), c("HINCRBY h c -3"), c("HINCRBY h a abc"), c("HINCRBY h x 9223372036854775807"),
     c("HINCRBY h x 1"), c("HINCRBY h y -9223372036854775808"), c("HINCRBY h y -1"), c("HSET h s foo"),
     c("HINCRBY h s 1"), c("HINCRBYFLOAT h a 1.5"), c("HINCRBYFLOAT h f 3.0e3"), c("HINCRBYFLOAT h f inf"),
     c("HINCRBYFLOAT h f nan"), c("HINCRBYFLOAT h s 1"), c("HINCRBYFLOAT h g 1e-5"), c("HGET h g"),
     c("HINCRBYFLOAT h g abc"), c("HINCRBYFLOAT h m 0.1"), c("HINCRBYFLOAT h m 0.2"), c("HINCRBYFLOAT h big 1e20"),
     c("HSET h e 1e308"), c("HINCRBYFLOAT h e 1e308"), c("HSET h sp") + [" 1"], c("HINCRBY h sp 1"),
     c("HINCRBYFLOAT h sp 1"), c("HEXISTS h a"), c("HEXISTS h zz"), c("HEXISTS missing a"), c("HSETNX h a 9"),
     c("HGET h a"), c("HSETNX h new 9"), c("HSETNX newh f v"), c("HSTRLEN h s"), c("HSTRLEN h zz"),
     c("HSTRLEN missing f"), c("HSTRLEN h a"), c("HSTRLEN h x"), c("HKEYS h"), c("HVALS h"), c("HKEYS missing"),
     c("HVALS missing"), c("HGETALL h"), c("HLEN h"), c("SET str v"), c("HMGET str a"), c("HINCRBY str a 1"),
     c("HINCRBYFLOAT str a 1"), c("HEXISTS str a"), c("HKEYS str"), c("HVALS str"), c("HSTRLEN str a"),
     c("HSETNX str a b"), c("HMSET str a b"), c("HMGET h"), c("HINCRBY h a"), c("HSETNX h a"), c("HEXISTS h"),
     c("HKEYS"), c("HSTRLEN h"), c("HINCRBY h a 1.5"), c("HMSET h a 1 a 2"), c("HGET h a"), c("HSET h a 1 a 3"),
     c("HGET h a"), c("HINCRBYFLOAT h z -0"), c("HGET h z")],
    [c("HSET h a 1 b 2 c 3"), c("HRANDFIELD missing"), c("HRANDFIELD missing 5"), c("HRANDFIELD h 0"),
     c("HRANDFIELD h 3"), c("HRANDFIELD h 10"), c("HRANDFIELD h 10 WITHVALUES"), c("HRANDFIELD h 3 WITHVALUES"),
     ("sample", c("HRANDFIELD h"), [b"a", b"b", b"c"]), ("sample", c("HRANDFIELD h -5"), [b"a", b"b", b"c"]),
     ("sample", c("HRANDFIELD h 2"), [b"a", b"b", b"c"]), ("shape", c("HRANDFIELD h -5 WITHVALUES")),
     c("HRANDFIELD h abc"), c("HRANDFIELD h 1 BAD"), c("HRANDFIELD h 1 WITHVALUES x"),
     c("HRANDFIELD h -9223372036854775808"), c("HRANDFIELD h -9223372036854775808 WITHVALUES"),
     c("HRANDFIELD h 0 WITHVALUES"), c("HRANDFIELD missing 0 WITHVALUES"), c("HRANDFIELD missing -3 WITHVALUES"),
     c("SET str v"), c("HRANDFIELD str"), c("HRANDFIELD str 1"), c("HRANDFIELD"), c("HRANDFIELD h 1.5")],
    [["HSET", "h"] + fields(10), ("scan", c("HSCAN h 0")), ("scan", c("HSCAN h 0 MATCH f1*")),
     ("scan", c("HSCAN h 0 COUNT 2")), c("HSCAN missing 0"), c("HSCAN h abc"), c("HSCAN h 0 COUNT 0"),
     c("HSCAN h 0 BAD"), c("HSCAN h 0 MATCH"), c("SET str v"), c("HSCAN str 0"), c("HSCAN h"),
     ["HSET", "big"] + fields(200), ("scan", c("HSCAN big 0 COUNT 7")), ("scan", c("HSCAN big 0 MATCH *9")),
     c("HSCAN h 0 TYPE string"), ("scan", c("HSCAN h 0 NOVALUES"))],
]

SETS = [
    [c("SADD a 1 2 3 x"), c("SADD b 2 3 4 y"), c("SADD c 3 5"), c("SINTER a b"), c("SINTER a b c"),
     c("SINTER a missing"), c("SUNION a b c"), c("SUNION missing"), c("SDIFF a b"), c("SDIFF a b c"),
     c("SDIFF missing a"), c("SDIFF a missing"), c("SINTERSTORE d a b"), c("SMEMBERS d"), c("SUNIONSTORE d a b"),
     c("SMEMBERS d"), c("SDIFFSTORE d a b"), c("SMEMBERS d"), c("SINTERSTORE d a missing"), c("EXISTS d"),
     c("SUNIONSTORE a a b"), c("SMEMBERS a"), c("SET s v"), c("SINTER a s"), c("SINTER missing s"),
     c("SINTER s missing"), c("SUNION a s"), c("SDIFF a s"), c("SDIFF missing s"), c("SDIFF s a"),
     c("SINTERSTORE s a b"), c("TYPE s"), c("SET s v"), c("SUNIONSTORE s missing"), c("EXISTS s"),
     c("SDIFFSTORE d"), c("SINTER"), c("SUNIONSTORE d"), c("SDIFFSTORE d a a"), c("EXISTS d"),
     c("SINTERSTORE d a"), c("SMEMBERS d"), c("SUNIONSTORE d missing missing2"), c("SET t v"),
     c("SINTERSTORE d t a"), c("SDIFFSTORE d a t"), c("SUNIONSTORE t a"), c("TYPE t")],
    [c("SADD a 1 2 3 x"), c("SADD b 2 3 4 y"), c("SINTERCARD 2 a b"), c("SINTERCARD 2 a b LIMIT 1"),
     c("SINTERCARD 2 a b LIMIT 0"), c("SINTERCARD 2 a b LIMIT -1"), c("SINTERCARD 0 a"), c("SINTERCARD 3 a b"),
     c("SINTERCARD abc a"), c("SINTERCARD 1 a BAD"), c("SINTERCARD 1 missing"), c("SET str v"),
     c("SINTERCARD 2 a str"), c("SINTERCARD 2 missing str"), c("SINTERCARD -1 a"), c("SINTERCARD 1 a LIMIT"),
     c("SINTERCARD 1 a LIMIT abc"), c("SINTERCARD 1 a LIMIT 1 LIMIT 2"), c("SINTERCARD 1 a limit 2"),
     c("SINTERCARD 1"), c("SINTERCARD 2 a a")],
    [c("SADD a x y"), c("SMOVE a b x"), c("SMEMBERS a"), c("SMEMBERS b"), c("SMOVE a b nope"), c("SMOVE missing b x"),
     c("SMOVE a a y"), c("SMOVE a a nope"), c("SET s v"), c("SMOVE a s y"), c("SMOVE s a y"), c("SMOVE a b y"),
     c("EXISTS a"), c("SMOVE b c x"), c("SMOVE a b"), c("SADD n 1 2"), c("SMOVE n b 1"), c("SMEMBERS b"),
     c("SMOVE missing s x"), c("SADD d 1"), c("SMOVE d d 1")],
    [c("SADD a x y z"), c("SMISMEMBER a x q z"), c("SMISMEMBER missing x"), c("SMISMEMBER a"),
     c("SRANDMEMBER missing"), c("SRANDMEMBER missing 3"), c("SRANDMEMBER a 0"),
     ("sample", c("SRANDMEMBER a 2"), [b"x", b"y", b"z"]), ("sample", c("SRANDMEMBER a -5"), [b"x", b"y", b"z"]),
     c("SRANDMEMBER a 10"), c("SRANDMEMBER a 3"), ("sample", c("SRANDMEMBER a"), [b"x", b"y", b"z"]),
     c("SRANDMEMBER a abc"), c("SRANDMEMBER a 1 2"), c("SET s v"), c("SRANDMEMBER s"), c("SMISMEMBER s a"),
     c("SRANDMEMBER a -9223372036854775808"), c("SRANDMEMBER missing -3"), c("SADD n 1 2 3"), c("SRANDMEMBER n 5"),
     ("sample", c("SRANDMEMBER n -4"), [b"1", b"2", b"3"]), c("SISMEMBER n 2"), c("SISMEMBER n 02"),
     c("SISMEMBER s a"), c("SISMEMBER a")],
    [["SADD", "s"] + numbered("m", 50), ("scan", c("SSCAN s 0")), ("scan", c("SSCAN s 0 MATCH m1*")),
     ("scan", c("SSCAN s 0 COUNT 3")), c("SSCAN missing 0"), c("SSCAN s abc"), c("SSCAN s 0 COUNT 0"),
     c("SSCAN s 0 BAD"), c("SET str v"), c("SSCAN str 0"), c("SSCAN s"), c("SSCAN s 0 TYPE set")],
]

ZSETS = [
    [c("ZADD z 1 a 2 b 3 c"), c("ZADD z NX 5 a 4 d"), c("ZADD z XX 10 a 20 e"), c("ZRANGE z 0 -1 WITHSCORES"),
     c("ZADD z GT 5 a"), c("ZADD z GT CH 15 a"), c("ZADD z LT CH 1 a"), c("ZADD z LT 100 new"),
     c("ZADD z GT 100 new2"), c("ZADD z INCR 5 a"), c("ZADD z INCR 5 a 6 b"), c("ZADD z NX XX 1 a"),
     c("ZADD z GT LT 1 a"), c("ZADD z NX GT 1 a"), c("ZADD z NX LT 1 a"), c("ZADD z XX INCR 1 nope"),
     c("ZADD z NX INCR 1 a"), c("ZADD z GT INCR -1 a"), c("ZADD z LT INCR 1 a"), c("ZADD z GT INCR 1 a"),
     c("ZADD z 1"), c("ZADD z 1 a 2"), c("ZADD z abc a"), c("ZADD z nan a"), c("ZADD z inf x -inf y"),
     c("ZADD z INCR inf x"), c("ZADD z INCR -inf x"), c("ZADD z CH 1 a 2 b"), c("ZADD z ch xx gt 100 a"),
     c("ZADD z 1e308 big"), c("ZADD z -0 negz"), c("ZSCORE z negz"), c("ZADD z 0.1 dec"), c("ZSCORE z dec"),
     c("ZADD z (1 x"), c("ZADD z 1 a 1 a"), c("ZADD z 3.0e3 e3"), c("ZADD z 1e-5 tiny"), c("ZSCORE z big"),
     c("ZSCORE z e3"), c("ZSCORE z tiny"), c("ZSCORE z x"), c("ZSCORE z y"), c("ZRANGE z 0 -1 WITHSCORES"),
     c("SET s v"), c("ZADD s 1 a"), c("ZADD z NX NX 1 q"), c("ZADD z CH CH 1 q"), c("ZADD z INCR INCR 1 q"),
     c("ZADD z XX"), c("ZADD z XX 1"), c("ZADD z 1.5 m1 2.25 m2 -3.125 m3"), c("ZSCORE z m3"),
     c("ZADD z 123456789012345678 m4"), c("ZSCORE z m4"), c("ZADD z 0x10 m5"), c("ZADD z +5 m6"),
     c("ZSCORE z m6"), c("ZADD z 1e400 m7"), c("ZADD z -1e400 m8"), c("ZSCORE z m7"),
     c("ZADD z 4.9e-324 m9"), c("ZSCORE z m9"), c("ZADD z 1.7976931348623157e308 m10"), c("ZSCORE z m10"),
     c("ZADD z 0.30000000000000004 m11"), c("ZSCORE z m11"), c("ZADD z 100 m12"), c("ZSCORE z m12"),
     c("ZADD z -2.5e-7 m13"), c("ZSCORE z m13"), c("ZADD z 1e15 m14"), c("ZSCORE z m14"),
     c("ZADD z 1e16 m15"), c("ZSCORE z m15"), c("ZADD z 1e17 m16"), c("ZSCORE z m16"), c("ZADD z INCR 2.5 m12"),
     c("ZADD z NX"), c("ZADD z GT XX CH 1 new")],
    [c("ZINCRBY z 1 a"), c("ZINCRBY z 2.5 a"), c("ZINCRBY z abc a"), c("ZINCRBY z inf a"), c("ZINCRBY z -inf a"),
     c("ZINCRBY z 1"), c("ZSCORE z a"), c("ZSCORE z missingm"), c("ZSCORE missing a"), c("ZMSCORE z a nope"),
     c("ZMSCORE missing a b"), c("ZMSCORE z"), c("ZCARD z"), c("ZCARD missing"), c("SET s v"), c("ZCARD s"),
     c("ZINCRBY s 1 a"), c("ZSCORE s a"), c("ZMSCORE s a"), c("ZINCRBY z nan a"), c("ZINCRBY z 0.1 b"),
     c("ZINCRBY z 0.2 b"), c("ZSCORE z b"), c("ZINCRBY z -0 c"), c("ZSCORE z c"), c("ZINCRBY z 1e308 d"),
     c("ZINCRBY z 1e308 d"), c("ZSCORE z d"), c("ZINCRBY z (1 e"), c("ZCARD"), c("ZCARD z x"), c("ZSCORE z")],
    [c("ZADD z 1 a 2 b 3 c 4 d 5 e"), c("ZCOUNT z -inf +inf"), c("ZCOUNT z (1 3"), c("ZCOUNT z 2 (4"),
     c("ZCOUNT z 5 1"), c("ZCOUNT z abc 1"), c("ZCOUNT z ( 1"), c("ZCOUNT z (inf +inf"), c("ZCOUNT missing 0 1"),
     c("ZCOUNT z (1 (2"), c("ZCOUNT z [1 2"), c("ZCOUNT z -inf (-inf"), c("ZCOUNT z nan 1"),
     c("ZRANGEBYSCORE z -inf +inf"), c("ZRANGEBYSCORE z (1 3 WITHSCORES"), c("ZRANGEBYSCORE z 1 5 LIMIT 1 2"),
     c("ZRANGEBYSCORE z 1 5 LIMIT 1 -1"), c("ZRANGEBYSCORE z 1 5 LIMIT -1 2"), c("ZRANGEBYSCORE z 1 5 LIMIT 1"),
     c("ZRANGEBYSCORE z 1 5 WITHSCORES LIMIT 0 1"), c("ZRANGEBYSCORE z 1 5 BAD"), c("ZRANGEBYSCORE z 1 5 LIMIT 0 0"),
     c("ZRANGEBYSCORE z 1 5 LIMIT 10 1"), c("ZRANGEBYSCORE z 1 5 LIMIT a b"), c("ZRANGEBYSCORE z a 5"),
     c("ZREVRANGEBYSCORE z +inf -inf"), c("ZREVRANGEBYSCORE z 3 (1 WITHSCORES"), c("ZREVRANGEBYSCORE z 1 5"),
     c("ZREVRANGEBYSCORE z 5 1 LIMIT 1 1"), c("ZREVRANGEBYSCORE z 5 1 LIMIT 1 -1 WITHSCORES"),
     c("ZRANGE z 0 -1"), c("ZRANGE z 1 2 WITHSCORES"), c("ZRANGE z -2 -1"), c("ZRANGE z 3 1"), c("ZRANGE z 0 100"),
     c("ZRANGE z -100 -50"), c("ZRANGE z 0 -1 REV"), c("ZRANGE z 0 1 REV WITHSCORES"), c("ZRANGE z (1 4 BYSCORE"),
     c("ZRANGE z 4 (1 BYSCORE REV"), c("ZRANGE z 1 5 BYSCORE LIMIT 1 2"), c("ZRANGE z 0 -1 LIMIT 0 1"),
     c("ZRANGE z 0 -1 BYSCORE BYLEX"), c("ZRANGE z a b"), c("ZRANGE z 1 5 BYSCORE REV"),
     c("ZRANGE z 5 1 BYSCORE REV LIMIT 0 2 WITHSCORES"), c("ZRANGE z -inf +inf BYSCORE WITHSCORES"),
     c("ZRANGE z 0 -1 WITHSCORES WITHSCORES"), c("ZRANGE z 0 -1 REV REV"), c("ZRANGE z 0 -1 BAD"),
     c("ZRANGE z 1 5 BYSCORE BYSCORE"), c("ZRANGE z - + BYLEX BYLEX"),
     c("ZRANGE z 1 5 BYSCORE LIMIT 0 1 LIMIT 1 1"), c("ZRANGE missing 0 -1"), c("ZRANGE z 0"),
     c("ZREVRANGE z 0 1 WITHSCORES"), c("ZREVRANGE z 0 1 BAD"), c("ZREVRANGE z -1 -1"), c("ZREVRANGE z a 1"),
     c("ZRANK z c"), c("ZRANK z nope"), c("ZRANK missing a"), c("ZREVRANK z c"), c("ZREVRANK z a"),
     c("ZRANK z c WITHSCORE"), c("ZREVRANK z c WITHSCORE"), c("ZRANK z"), c("SET s v"), c("ZRANK s a"),
     c("ZRANGE s 0 -1"), c("ZCOUNT s 0 1"), c("ZRANGEBYSCORE s 0 1"), c("ZRANGEBYSCORE z 1 5 WITHSCORES WITHSCORES"),
     c("ZRANGEBYSCORE z 1 5 LIMIT 0 1 LIMIT 1 1"), c("ZRANGE z 0 -1 LIMIT 0 1 BYSCORE"),
     c("ZRANGEBYSCORE z (5 (5"), c("ZRANGEBYSCORE z 5 5"), c("ZRANGEBYSCORE z -inf 2 LIMIT 0 9223372036854775807")],
    [c("ZADD z 0 a 0 b 0 c 0 d 0 e 0 f 0 g"), c("ZLEXCOUNT z - +"), c("ZLEXCOUNT z [b (e"), c("ZLEXCOUNT z b c"),
     c("ZLEXCOUNT z + -"), c("ZLEXCOUNT z [c [c"), c("ZLEXCOUNT z (c (c"), c("ZRANGEBYLEX z - +"),
     c("ZRANGEBYLEX z [b [d"), c("ZRANGEBYLEX z (b (d"), c("ZRANGEBYLEX z - + LIMIT 1 2"), c("ZRANGEBYLEX z + -"),
     c("ZRANGEBYLEX z - + LIMIT 1 -1"), c("ZRANGEBYLEX z - + LIMIT 1"), c("ZRANGEBYLEX z - + WITHSCORES"),
     c("ZREVRANGEBYLEX z + -"), c("ZREVRANGEBYLEX z [d [b"), c("ZREVRANGEBYLEX z + - LIMIT 0 3"),
     c("ZREVRANGEBYLEX z - +"), c("ZRANGE z [b [d BYLEX"), c("ZRANGE z [d [b BYLEX REV"),
     c("ZRANGE z - + BYLEX LIMIT 2 2"), c("ZRANGE z - + BYLEX WITHSCORES"), c("ZRANGE z [a [b BYLEX BYSCORE"),
     c("ZREMRANGEBYLEX z [a (c"), c("ZRANGE z 0 -1"), c("ZREMRANGEBYLEX z a b"), c("ZLEXCOUNT missing - +"),
     c("ZRANGEBYLEX z [ [z"), c("ZRANGEBYLEX z ( +"), c("ZRANGEBYLEX z [ (z"), c("ZRANGEBYLEX z - [d"),
     c("ZRANGEBYLEX z [d -"), c("ZRANGEBYLEX z + +"), c("ZREMRANGEBYLEX z - +"), c("EXISTS z"),
     c("ZREMRANGEBYLEX missing - +"), c("SET s v"), c("ZLEXCOUNT s - +"), c("ZRANGEBYLEX s - +"),
     c("ZREMRANGEBYLEX s - +"), c("ZADD y 0 a 1 b"), c("ZRANGEBYLEX y - +"), c("ZLEXCOUNT y - +")],
    [["ZADD", "z"] + [x for i in range(1, 11) for x in (str(i), "m%d" % i)], c("ZREMRANGEBYSCORE z -inf (3"),
     c("ZREMRANGEBYSCORE z 100 200"), c("ZREMRANGEBYSCORE z a b"), c("ZREMRANGEBYRANK z 0 1"),
     c("ZREMRANGEBYRANK z -1 -1"), c("ZREMRANGEBYRANK z 5 2"), c("ZREMRANGEBYRANK z a 1"),
     c("ZRANGE z 0 -1 WITHSCORES"), c("ZREMRANGEBYRANK z 100 200"), c("ZREMRANGEBYRANK z -100 0"),
     c("ZREMRANGEBYRANK z 0 -1"), c("EXISTS z"), c("ZREM z a"), c("ZADD z 1 a 2 b"), c("ZREM z a nope"),
     c("ZREM z b"), c("EXISTS z"), c("ZREM missing a"), c("ZREM z"), c("SET s v"), c("ZREM s a"),
     c("ZREMRANGEBYSCORE s 0 1"), c("ZREMRANGEBYRANK s 0 1"), c("ZREMRANGEBYSCORE missing 0 1"),
     c("ZREMRANGEBYRANK missing 0 1"), c("ZADD y 1 a 2 b 3 c"), c("ZREMRANGEBYSCORE y (1 (3"), c("ZRANGE y 0 -1"),
     c("ZREMRANGEBYSCORE y 1 3"), c("EXISTS y")],
    [c("ZADD z 1 a 2 b 3 c 4 d"), c("ZPOPMIN z"), c("ZPOPMAX z"), c("ZPOPMIN z 0"), c("ZPOPMIN z -1"),
     c("ZPOPMIN z abc"), c("ZPOPMIN z 10"), c("EXISTS z"), c("ZPOPMIN missing"), c("ZPOPMAX missing 2"),
     c("ZPOPMIN z 1 2"), c("ZADD z 1 a 2 b 3 c"), c("ZPOPMAX z 2"), c("ZPOPMIN z 1"), c("ZADD z 1 a 2 b 3 c"),
     c("ZMPOP 1 z MIN"), c("ZMPOP 1 z MAX COUNT 5"), c("ZMPOP 1 z MIN"), c("ZADD z 1 a 2 b 3 c"),
     c("ZMPOP 2 missing z MIN"), c("ZMPOP 0 z MIN"), c("ZMPOP 1 z BAD"), c("ZMPOP 1 z MIN COUNT 0"),
     c("ZMPOP 1 z MIN COUNT -1"), c("ZMPOP 1 z MIN COUNT 1 COUNT 1"), c("ZMPOP 2 z MIN"), c("SET s v"),
     c("ZMPOP 1 s MIN"), c("ZMPOP 2 missing s MIN"), c("ZPOPMIN s"), c("ZMPOP -1 z MIN"), c("ZMPOP abc z MIN"),
     c("ZMPOP 1 z"), c("ZMPOP 1 z max count 1"), c("ZMPOP 1 z MIN COUNT"), c("ZPOPMAX z 0"),
     c("ZPOPMIN z -9223372036854775808"), c("ZMPOP 1 z MIN COUNT abc"), c("ZADD w -inf a inf b"),
     c("ZPOPMIN w"), c("ZPOPMAX w")],
    [c("ZADD a 1 x 2 y 3 z"), c("ZADD b 10 y 20 z 30 w"), c("ZUNIONSTORE o 2 a b"), c("ZRANGE o 0 -1 WITHSCORES"),
     c("ZUNIONSTORE o 2 a b WEIGHTS 2 3"), c("ZRANGE o 0 -1 WITHSCORES"), c("ZUNIONSTORE o 2 a b AGGREGATE MIN"),
     c("ZRANGE o 0 -1 WITHSCORES"), c("ZUNIONSTORE o 2 a b AGGREGATE MAX"), c("ZRANGE o 0 -1 WITHSCORES"),
     c("ZINTERSTORE o 2 a b"), c("ZRANGE o 0 -1 WITHSCORES"), c("ZINTERSTORE o 2 a b WEIGHTS 1 -1 AGGREGATE SUM"),
     c("ZRANGE o 0 -1 WITHSCORES"), c("ZINTERSTORE o 2 a missing"), c("EXISTS o"), c("ZUNIONSTORE o 0 a"),
     c("ZUNIONSTORE o 3 a b"), c("ZUNIONSTORE o 2 a b WEIGHTS 1"), c("ZUNIONSTORE o 2 a b WEIGHTS 1 abc"),
     c("ZUNIONSTORE o 2 a b AGGREGATE AVG"), c("SADD st p q x"), c("ZUNIONSTORE o 2 a st"),
     c("ZRANGE o 0 -1 WITHSCORES"), c("ZINTERSTORE o 2 a st"), c("ZRANGE o 0 -1 WITHSCORES"), c("SET str v"),
     c("ZUNIONSTORE o 1 str"), c("ZUNIONSTORE o 2 a b WEIGHTS inf -inf"), c("ZRANGE o 0 -1 WITHSCORES"),
     c("ZUNIONSTORE o 2 a a"), c("ZRANGE o 0 -1 WITHSCORES"), c("ZUNIONSTORE o -1 a"),
     c("ZINTERSTORE o 2 a b AGGREGATE SUM AGGREGATE MAX"), c("ZRANGE o 0 -1 WITHSCORES"),
     c("ZINTERSTORE o 2 a b WEIGHTS 1 2 WEIGHTS 3 4"), c("ZRANGE o 0 -1 WITHSCORES"), c("ZUNION 2 a b WITHSCORES"),
     c("ZUNION 2 a b"), c("ZINTER 2 a b WITHSCORES"), c("ZDIFF 2 a b WITHSCORES"), c("ZDIFF 1 a"),
     c("ZDIFFSTORE o 2 a b"), c("ZRANGE o 0 -1 WITHSCORES"), c("ZDIFFSTORE o 2 a a"), c("EXISTS o"),
     c("ZINTERCARD 2 a b"), c("ZINTERCARD 2 a b LIMIT 1"), c("ZINTERCARD 2 a b LIMIT -1"), c("ZINTERCARD 0 a"),
     c("ZINTERCARD 2 a st"), c("ZRANGESTORE o a 0 -1"), c("ZRANGE o 0 -1 WITHSCORES"),
     c("ZRANGESTORE o a (1 +inf BYSCORE LIMIT 0 1"), c("ZRANGE o 0 -1 WITHSCORES"), c("ZRANGESTORE o a 5 6"),
     c("EXISTS o"), c("ZRANGESTORE o a 0 -1 WITHSCORES"), c("ZRANGESTORE o a [x [y BYLEX"), c("ZRANGESTORE o str 0 1"),
     c("ZUNIONSTORE a 2 a b"), c("ZRANGE a 0 -1 WITHSCORES"), c("ZUNION 2 a b WITHSCORES AGGREGATE MIN"),
     c("ZINTER 1 a WEIGHTS 0.5 WITHSCORES"), c("ZUNION 0 a"), c("ZDIFF 0 a"), c("ZINTERSTORE o 1 missing"),
     c("ZUNIONSTORE o 2 a b WEIGHTS 1 nan"), c("ZUNIONSTORE o 2 a b AGGREGATE"), c("ZUNIONSTORE o 2 a b WEIGHTS"),
     c("ZADD inf 1 x inf y"), c("ZUNIONSTORE o 1 inf WEIGHTS 0"), c("ZRANGE o 0 -1 WITHSCORES"),
     c("ZUNIONSTORE o 1 inf WEIGHTS -1"), c("ZRANGE o 0 -1 WITHSCORES"),
     c("ZADD inf2 -inf y"), c("ZUNIONSTORE o 2 inf inf2"), c("ZRANGE o 0 -1 WITHSCORES"), c("ZUNIONSTORE o"),
     c("ZUNIONSTORE o 9223372036854775807 a"), c("ZINTERCARD 1 a LIMIT 1 LIMIT 2"), c("LPUSH l x"), c("ZINTERCARD 2 a l LIMIT abc"),
     c("ZINTERCARD 2 a l BAD"), c("ZINTERCARD 2 a missing LIMIT -1")],
    [["ZADD", "z"] + scored(40), ("scan", c("ZSCAN z 0")), ("scan", c("ZSCAN z 0 MATCH m1*")),
     ("scan", c("ZSCAN z 0 COUNT 3")), c("ZSCAN missing 0"), c("ZSCAN z abc"), c("ZSCAN z 0 COUNT 0"),
     c("SET str v"), c("ZSCAN str 0"), c("ZADD f 0.1 a 1e308 b -inf c"), ("scan", c("ZSCAN f 0")),
     c("ZADD r 1 a 2 b 3 c"), c("ZRANDMEMBER missing"), c("ZRANDMEMBER missing 3"), c("ZRANDMEMBER r 0"),
     c("ZRANDMEMBER r 5"), c("ZRANDMEMBER r 3 WITHSCORES"), ("sample", c("ZRANDMEMBER r"), [b"a", b"b", b"c"]),
     ("sample", c("ZRANDMEMBER r -5"), [b"a", b"b", b"c"]), ("shape", c("ZRANDMEMBER r -4 WITHSCORES")),
     ("sample", c("ZRANDMEMBER r 2"), [b"a", b"b", b"c"]), c("ZRANDMEMBER r abc"), c("ZRANDMEMBER r 1 BAD"),
     c("ZRANDMEMBER r -9223372036854775808 WITHSCORES"), c("ZRANDMEMBER str"), c("ZRANDMEMBER r 0 WITHSCORES")],
    # A packed set's whole scores in ZSCAN as its listpack holds them; -0
    # kept by a skip list, 0 in a pack; LIMIT offset -1 by rank.
    [c("ZADD p 1e17 d 123456789012345678 h 0.1 a -0 c 5e18 x 4611686018427387903 w 2.5 q"), c("ZSCAN p 0"),
     BIG_ZSET, c("ZADD bigz -0 neg"), c("ZSCORE bigz neg"), c("ZINCRBY bigz -0 neg2"), c("ZSCORE bigz neg2"),
     c("ZADD bigz INCR -0 x"), c("ZRANGEBYSCORE bigz -0 0 WITHSCORES"), c("ZADD zz 0 a 0 b"),
     c("ZINTERSTORE d 1 zz WEIGHTS -1"), c("ZRANGE d 0 -1 WITHSCORES"), c("ZUNIONSTORE d 1 zz WEIGHTS -1"),
     c("ZRANGE d 0 -1 WITHSCORES"), c("ZADD zz INCR -0 a"), c("ZSCORE zz a"), c("ZRANGE zz 0 -1 LIMIT 1 -1"),
     c("ZRANGE zz 0 -1 LIMIT 1 -2"), c("ZRANGE zz 0 -1 LIMIT 0 5"), c("SET str x"), c("ZRANGE str 0 -1 LIMIT 1 -1"),
     c("ZRANGE zz 1 -1.5 LIMIT 100 -1")],
]

TRANSACTIONS = [
    [c("MULTI"), c("SET a 1"), c("INCR a"), c("GET a"), c("EXEC"), c("GET a")],
    [c("MULTI"), c("SET a 1"), c("DISCARD"), c("GET a"), c("DISCARD"), c("EXEC")],
    [c("MULTI"), c("MULTI"), c("SET a 1"), c("EXEC"), c("GET a")],
    [c("MULTI"), c("SET a"), c("GET a"), c("EXEC"), c("GET a"), c("EXEC")],
    [c("MULTI"), c("NOSUCHCMD"), c("SET a 1"), c("EXEC"), c("GET a")],
    [c("MULTI"), c("SET a 1"), c("LPUSH a x"), c("GET a"), c("INCR a"), c("EXEC")],
    [c("MULTI"), c("WATCH a"), c("SET a 1"), c("EXEC"), c("GET a")],
    [c("WATCH a"), c("SET a 1"), c("MULTI"), c("GET a"), c("EXEC"), c("WATCH a"), c("UNWATCH"), c("SET a 2"),
     c("MULTI"), c("GET a"), c("EXEC"), c("WATCH"), c("UNWATCH x"), c("WATCH a b c"), c("EXEC"), c("MULTI"),
     c("UNWATCH"), c("EXEC")],
    [c("MULTI"), c("EXEC"), c("MULTI"), c("PING"), c("ECHO x"), c("DBSIZE"), c("EXEC")],
    [c("RPUSH l a"), c("MULTI"), c("BLPOP l 0"), c("BLPOP l 0"), c("BRPOP l 1"), c("BLMOVE l m LEFT LEFT 0"),
     c("BZPOPMIN z 0"), c("BZMPOP 0 1 z MIN"), c("BLMPOP 0 1 l LEFT"), c("BRPOPLPUSH l m 0"), c("EXEC")],
    [c("SET k v"), c("WATCH k"), c("EXPIRE k 100"), c("MULTI"), c("GET k"), c("EXEC")],
    [c("WATCH missing"), c("MULTI"), c("GET missing"), c("EXEC")],
    [c("WATCH missing"), c("SET missing 1"), c("DEL missing"), c("MULTI"), c("GET missing"), c("EXEC")],
    [c("SET k v"), c("WATCH k"), c("GET k"), c("MULTI"), c("GET k"), c("EXEC")],
    [c("SET k v"), c("WATCH k"), c("SET k v"), c("MULTI"), c("GET k"), c("EXEC")],
    [c("SET k v"), c("WATCH k"), c("FLUSHALL"), c("MULTI"), c("PING"), c("EXEC")],
    [c("WATCH k"), c("FLUSHALL"), c("MULTI"), c("PING"), c("EXEC")],
    [c("SET k v"), c("WATCH k"), c("DEL missing"), c("EXPIRE missing 10"), c("MULTI"), c("PING"), c("EXEC")],
    [c("MULTI"), c("SET a 1"), c("EXEC"), c("EXEC"), c("DISCARD")],
    [c("MULTI"), c("GET"), c("EXEC")],
    [c("MULTI"), c("EXEC x"), c("EXEC")],
    [c("MULTI"), c("DISCARD x"), c("DISCARD")],
    [c("MULTI x"), c("MULTI"), c("SET a 1"), c("FLUSHALL"), c("SET b 2"), c("EXEC"), c("DBSIZE")],
    [c("MULTI"), c("HSET h f v"), c("HGETALL h"), c("SMEMBERS s"), c("SADD s a b"), c("SMEMBERS s"),
     c("ZADD z 1 a"), c("ZSCORE z a"), c("ZRANGE z 0 -1 WITHSCORES"), c("EXEC")],
    [c("MULTI"), c("INCR a"), c("INCR a"), c("DISCARD"), c("MULTI"), c("INCR a"), c("EXEC")],
    [c("MULTI"), c("RESET"), c("GET a"), c("EXEC")],
    [c("WATCH a"), c("RESET"), c("SET a 1"), c("MULTI"), c("GET a"), c("EXEC")],
    [c("MULTI"), c("SELECT 0"), c("SET a 1"), c("EXEC"), c("MULTI"), c("SELECT abc"), c("EXEC")],
    [c("MULTI"), c("CLIENT SETNAME x"), c("CLIENT GETNAME"), c("EXEC")],
    [c("MULTI"), c("SUBSCRIBE ch"), c("EXEC"), c("PING")],
    [c("SET k 1"), c("WATCH k"), c("MULTI"), c("INCR k"), c("EXEC"), c("MULTI"), c("INCR k"), c("EXEC")],
    [c("MULTI"), c("SET a 1"), c("WATCH b"), c("EXEC"), c("GET a")],
    [c("WATCH k"), c("WATCH k"), c("SET k 1"), c("UNWATCH"), c("MULTI"), c("GET k"), c("EXEC")],
    [c("MULTI"), c("HELLO 2"), c("EXEC")],
]

BLOCKING = [
    [c("RPUSH l a b c"), c("BLPOP l 0"), c("BRPOP l 0"), c("BLPOP l 0.05"), c("BLPOP l 0.05"), c("BLPOP l abc"),
     c("BLPOP l -1"), c("BLPOP l 1e300"), c("BLPOP l inf"), c("BLPOP l nan"), c("BLPOP"), c("BLPOP l"),
     c("RPUSH l2 x"), c("BLPOP missing l2 0"), c("SET s v"), c("BLPOP s 0"), c("BLPOP missing s 0"),
     c("RPUSH l3 y"), c("BLPOP s l3 0"), c("BRPOP missing 0.05"), c("BRPOP s 0"), c("BLPOP l 9223372036854775807"),
     c("BLPOP l 0.001")],
    # timeouts that round to 0 ms (block for ever) or are hex (16 s): probed for 0.3 s, then the connection dropped
    [("blocks", c("BLPOP l 1e-9"))],
    [("blocks", c("BLPOP l 0.0001"))],
    [("blocks", c("BLPOP l 0x10"))],
    # WAIT without replicas: the count (0) at once when it asks for none, or
    # inside MULTI; after its timeout otherwise; its argument errors
    [c("SET k v"), c("WAIT 0 0"), c("WAIT 0 100"), c("WAIT 1 50"), c("WAIT -1 0"), c("WAIT x 0"), c("WAIT 1 x"),
     c("WAIT 1 -1"), c("WAIT 1 1.5"), c("WAIT 99999999999999999999 0"), c("WAIT"), c("WAIT 1"), c("WAIT 1 2 3"),
     c("MULTI"), c("WAIT 5 0"), c("EXEC")],
    [("blocks", c("WAIT 1 0"))],
    [c("RPUSH a 1 2 3"), c("BLMOVE a b LEFT RIGHT 0"), c("LRANGE b 0 -1"), c("BLMOVE missing b LEFT RIGHT 0.05"),
     c("BLMOVE a b BAD RIGHT 0"), c("BLMOVE a b LEFT RIGHT -1"), c("BLMOVE a b LEFT RIGHT abc"),
     c("BRPOPLPUSH a b 0"), c("LRANGE b 0 -1"), c("BRPOPLPUSH missing b 0.05"), c("BRPOPLPUSH a b abc"),
     c("BRPOPLPUSH a b -1"), c("SET s v"), c("BLMOVE a s LEFT LEFT 0"), c("BRPOPLPUSH s a 0"),
     c("BLMOVE a a LEFT RIGHT 0"), c("BLMOVE a b LEFT RIGHT 0 x")],
    [c("RPUSH a 1 2 3"), c("BLMPOP 0 1 a LEFT"), c("BLMPOP 0 1 a RIGHT COUNT 5"), c("BLMPOP 0.05 1 a LEFT"),
     c("BLMPOP 0 0 a LEFT"), c("BLMPOP abc 1 a LEFT"), c("BLMPOP -1 1 a LEFT"), c("BLMPOP 0 1 a BAD"),
     c("BLMPOP 1e300 1 a LEFT"), c("RPUSH a 1"), c("BLMPOP 0 1 a LEFT COUNT 0"), c("BLMPOP 0 2 a LEFT"),
     c("SET s v"), c("BLMPOP 0 1 s LEFT"), c("BLMPOP 0.05 2 missing a RIGHT COUNT 2")],
    [c("ZADD z 1 a 2 b 3 c"), c("BZPOPMIN z 0"), c("BZPOPMAX z 0"), c("BZPOPMIN missing z 0"),
     c("BZPOPMIN missing 0.05"), c("BZPOPMAX missing 0.05"), c("ZADD z 1 a 2 b 3 c 4 d 5 e"), c("BZMPOP 0 1 z MIN"),
     c("BZMPOP 0.05 1 missing MIN"), c("BZMPOP 0 1 z BAD"), c("BZMPOP 0 1 z MAX COUNT 2"),
     c("BZMPOP 0 1 z MIN COUNT 0"),
     c("BZPOPMIN z abc"), c("BZPOPMIN z -1"), c("BZPOPMIN z 1e300"), c("SET s v"), c("BZPOPMIN s 0"),
     c("BZMPOP 0 1 s MIN"), c("BZMPOP abc 1 z MIN"), c("BZMPOP 0 0 z MIN"), c("ZADD w 0.1 x"), c("BZPOPMAX w 0"),
     c("BZPOPMIN"), c("BZMPOP 0 1 z")],
]

SERVER = [
    [c("ECHO hello"), b("ECHO", ""), c("ECHO a b"), c("PING"), b("PING", ""), ("shape", c("TIME")), c("TIME x"),
     ("shape", c("COMMAND COUNT")), c("COMMAND INFO get"), c("COMMAND INFO get set nosuch"), c("COMMAND INFO GET"),
     c("COMMAND INFO zadd"), c("COMMAND INFO blpop"), c("COMMAND INFO object"), c("COMMAND INFO object|encoding"),
     c("COMMAND INFO config|get"), c("COMMAND INFO lmpop"), c("COMMAND INFO zunionstore"), c("COMMAND INFO hset"),
     c("COMMAND GETKEYS SET a b"), c("COMMAND GETKEYS MSET a 1 b 2"), c("COMMAND GETKEYS GET"),
     c("COMMAND GETKEYS NOSUCH a"), c("COMMAND GETKEYS PING"), c("COMMAND GETKEYS ZUNIONSTORE o 2 a b"),
     c("COMMAND GETKEYS LMPOP 2 a b LEFT"), c("COMMAND GETKEYS BLPOP a b 0"), c("COMMAND GETKEYS OBJECT ENCODING k"),
     c("COMMAND GETKEYS RENAME a b"), c("COMMAND GETKEYS ZINTERCARD 2 a b"),
     c("COMMAND GETKEYS BLMOVE a b LEFT LEFT 0"),
     c("COMMAND GETKEYS SINTERCARD 3 a b c"), c("COMMAND GETKEYS ZMPOP 1 z MIN"), c("COMMAND GETKEYS"),
     c("COMMAND GETKEYS LMPOP 5 a LEFT"), c("COMMAND GETKEYS BZMPOP 0 2 a b MIN"), c("COMMAND NOPE"),
     c("COMMAND COUNT x"), c("COMMAND GETKEYS KEYS *"), c("COMMAND GETKEYS MSET a"), c("COMMAND GETKEYS COPY a b"),
     c("COMMAND LIST FILTERBY PATTERN zr*"), c("COMMAND LIST FILTERBY ACLCAT hash"),
     c("COMMAND LIST FILTERBY PATTERN config*"),
     c("COMMAND LIST FILTERBY ACLCAT geo"), c("COMMAND INFO sort_ro"), c("COMMAND LIST FILTERBY BAD x"),
     c("COMMAND INFO client|id"), ("kind", c("COMMAND INFO")), ("kind", c("COMMAND")),
     c("COMMAND GETKEYS SORT abc STORE invalid STORE stillbad STORE def"), c("COMMAND INFO fcall monitor")],
    [c("CLIENT LIST ID 0"), c("CLIENT LIST ID -1"), c("CLIENT LIST ID abc"), c("CLIENT LIST ID 1 abc"),
     c("CLIENT LIST TYPE normal ID 3"), c("CLIENT LIST ID 3 TYPE normal"), c("CLIENT KILL MAXAGE 100000"),
     c("CLIENT LIST ID"), c("CLIENT LIST TYPE"), c("CLIENT LIST TYPE bogus"), c("CLIENT LIST ID 99999 99998"),
     c("CLIENT REPLY"), c("CLIENT REPLY BAD"), c("CLIENT REPLY ON"), c("CLIENT REPLY ON x")],
    # HyperLogLogs: the same bytes as redis-server's, sparse and dense
    [c("PFADD hll a b c d e"), c("GET hll"), c("PFCOUNT hll"), c("GET hll"), c("PFADD hll a"), c("PFADD hll"),
     c("PFDEBUG DECODE hll"), c("PFDEBUG ENCODING hll"), c("PFADD hll2 x y"), c("PFMERGE hll3 hll hll2"),
     c("GET hll3"), c("PFCOUNT hll hll2 nokey"), c("PFDEBUG TODENSE hll2"), c("GET hll2"), c("PFDEBUG TODENSE hll2"),
     c("PFMERGE hll4 hll hll2"), c("PFDEBUG ENCODING hll4"), c("PFCOUNT hll4"), c("GET hll4"),
     c("PFDEBUG GETREG hll"), c("GET hll"), c("SET str x"), c("PFADD str a"), c("PFCOUNT str hll"),
     c("PFMERGE str"), c("PFMERGE hll5 str"), c("LPUSH lst a"), c("PFADD lst a"), c("PFDEBUG NOPE hll"),
     c("PFDEBUG GETREG nokey"), c("PFDEBUG GETREG"), c("PFDEBUG DECODE hll2"), c("PFSELFTEST"), c("PFADD"),
     c("PFSELFTEST x"), c("CONFIG GET hll-sparse-max-bytes"), c("CONFIG SET hll-sparse-max-bytes 10"),
     ["PFADD", "hll6"] + [str(i) for i in range(30)], c("PFDEBUG ENCODING hll6"), c("GET hll6"),
     c("CONFIG SET hll-sparse-max-bytes 3000"), ["PFADD", "hll7"] + [str(i) for i in range(3000)], c("GET hll7"),
     c("PFCOUNT hll7"), c("COMMAND INFO pfadd pfcount pfmerge pfdebug pfselftest")],
    # CLIENT PAUSE's arguments (a pause of 0 pauses nothing)
    [c("CLIENT PAUSE 10 READ"), c("CLIENT PAUSE x"), c("CLIENT PAUSE -1"), c("CLIENT PAUSE 1 ALL x"),
     c("CLIENT PAUSE 9223372036854775807"), c("CLIENT PAUSE 1.5"), c("CLIENT PAUSE"), c("CLIENT UNPAUSE x"),
     c("CLIENT PAUSE 0"), c("CLIENT PAUSE 0 WRITE"), c("SET paused-not v"), c("CLIENT UNPAUSE"),
     c("COMMAND INFO client|pause client|unpause publish fcall")],
    [c("SET a 1"), c("CONFIG SET maxmemory-policy foo"), c("CONFIG SET maxmemory -1"), c("CONFIG SET maxmemory 1x"),
     c("CONFIG SET maxmemory-samples 0"), c("CONFIG SET maxmemory-samples 7"), c("CONFIG GET maxmemory-samples"),
     c("CONFIG SET maxmemory-policy VOLATILE-TTL"), c("CONFIG GET maxmemory-policy"), c("CONFIG SET maxmemory 1"),
     c("CONFIG GET maxmemory"), c("SET b 2"), c("GET a"), c("LPUSH l x"), c("MULTI"), c("GET a"), c("EXEC"),
     c("DEL a"), c("CONFIG SET maxmemory 0"), c("SET b 2"), c("CONFIG SET maxmemory-policy noeviction"),
     c("CONFIG SET maxmemory-samples 5")],
    [c("CONFIG GET maxmemory"), c("CONFIG GET databases"), c("CONFIG GET save"), c("CONFIG GET appendonly"),
     c("CONFIG GET timeout"), c("CONFIG GET hash-max-listpack-entries"), c("CONFIG GET hash-max-ziplist-value"),
     c("CONFIG GET zset-max-listpack-entries"), c("CONFIG GET set-max-intset-entries"),
     c("CONFIG GET list-max-listpack-size"), c("CONFIG GET maxmemory-policy"), c("CONFIG GET proto-max-bulk-len"),
     c("CONFIG GET MAXMEMORY"), c("CONFIG GET save appendonly"), c("CONFIG GET"),
     c("CONFIG GET notify-keyspace-events"), c("CONFIG GET set-max-listpack-entries"), c("CONFIG GET set-max-*"),
     c("CONFIG GET zset-max-*-entries"), c("CONFIG GET *max-intset*"),
     c("CONFIG GET lazyfree-lazy-user-del"), c("CONFIG GET hz"), c("CONFIG GET requirepass"),
     c("CONFIG GET client-query-buffer-limit"), c("CONFIG GET cluster-enabled"),
     c("CONFIG SET hash-max-listpack-entries abc"), c("CONFIG SET nosuch 1"), c("CONFIG SET databases 3"),
     c("CONFIG SET DATABASES 3"), c("CONFIG SET databases 3 nosuch 1"), c("CONFIG SET nosuch 1 databases 3"),
     c("CONFIG SET zset-max-listpack-value 5 ZSET-max-listpack-value 6"), c("CONFIG SET ZSET-max-listpack-value x"),
     c("CONFIG SET zset-max-listpack-value x databases 3"), c("CONFIG SET zset-max-listpack-value 9223372036854775808"),
     c("CONFIG SET zset-max-listpack-value 9223372036854775807"), c("CONFIG GET zset-max-listpack-value"),
     c("CONFIG SET hash-max-listpack-entries -1"), c("CONFIG SET hash-max-listpack-entries 9223372036854775807"),
     c("CONFIG GET hash-max-listpack-entries"), c("CONFIG SET list-compress-depth 2147483648"),
     c("CONFIG SET zset-max-listpack-value 64 hash-max-listpack-entries 512"),
     c("SHUTDOWN ABORT"), c("SHUTDOWN NOSAVE SAVE"), c("SHUTDOWN LATER"), c("SHUTDOWN ABORT NOW"),
     c("COMMAND INFO shutdown"),
     c("CONFIG SET"), c("CONFIG SET hash-max-listpack-entries"), c("CONFIG RESETSTAT"), c("CONFIG REWRITE"),
     c("CONFIG RESETSTAT x"), c("CONFIG HELP"), c("CLIENT HELP"), c("PUBSUB HELP"), c("COMMAND HELP"),
     c("AUTH x"), c("AUTH default x"), c("AUTH"), c("AUTH a b c"), c("CLIENT NO-EVICT on"), c("CLIENT NO-EVICT x"),
     c("CLIENT KILL"), c("CLIENT LIST ID abc"), c("CLIENT LIST TYPE bad"), c("CLIENT SETINFO lib-name x")],
    [("shape", c("CLIENT ID")), c("CLIENT GETNAME"), c("CLIENT SETNAME x"), c("CLIENT GETNAME"), c("RESET"),
     c("CLIENT GETNAME"), c("RESET x"), c("SELECT 0"), c("SELECT 1"), c("SELECT -1"), c("SELECT 16"),
     c("SELECT 0"), c("SELECT abc"), c("SELECT"), c("SELECT 0 1"), c("DBSIZE"), c("SET a 1"), c("SET b 2 EX 100"),
     c("INFO keyspace"), c("INFO KEYSPACE"), c("FLUSHALL"), c("INFO keyspace"), ("shape", c("LASTSAVE")),
     c("LASTSAVE x"), c("ROLE"), c("SWAPDB 0 0"), c("SWAPDB 0 1"), c("SWAPDB 0 1"), c("SWAPDB 0 abc"), c("SET k v"),
     c("MOVE k 0"),
     c("MOVE k 1"), c("MOVE k abc"), c("ECHO"), c("QUIT x"), c("PING x y")],
    # Replication's commands short of becoming a replica (that is
    # Tests/clients/kv_replication.py's part): REPLCONF's options and errors,
    # PSYNC's arity and offset, SYNC refused inside MULTI (not queued:
    # EXECABORT), the backlog's size and TTL.
    [c("REPLCONF listening-port 6380 capa eof capa psync2"), c("REPLCONF ip-address 1.2.3.4"), c("REPLCONF"),
     c("REPLCONF bogus 1"), c("REPLCONF listening-port"), c("REPLCONF listening-port abc"), c("PSYNC a"),
     c("SYNC x"), c("COMMAND INFO sync psync replconf wait"), c("CONFIG GET repl-ping-replica-period"),
     c("CONFIG SET repl-ping-replica-period 0"), c("CONFIG SET repl-ping-replica-period 10"), c("MULTI"),
     c("SET k v"), c("SYNC"), c("PSYNC ? -1"), c("EXEC"), c("ROLE"), c("PSYNC ? abc"),
     c("CONFIG GET repl-backlog-size"), c("CONFIG GET repl-backlog-ttl"), c("CONFIG SET repl-backlog-size 1"),
     c("CONFIG GET repl-backlog-size"), c("CONFIG SET repl-backlog-size 0"), c("CONFIG SET repl-backlog-size x"),
     c("CONFIG SET repl-backlog-size 1048576"), c("CONFIG SET repl-backlog-ttl -1"),
     c("CONFIG SET repl-backlog-ttl 3600"), c("CONFIG GET repl-backlog-ttl"), c("CONFIG SET repl-backlog-size 2MB"),
     c("CONFIG GET repl-backlog-size"), c("CONFIG SET repl-backlog-size 100k"), c("CONFIG GET repl-backlog-size"),
     c("CONFIG SET repl-backlog-size -1"), c("CONFIG SET repl-backlog-size 1tb"), c("CONFIG SET repl-backlog-size 1mb"),
     c("CONFIG SET hash-max-listpack-value 1kb"), c("CONFIG GET hash-max-listpack-value"),
     c("CONFIG SET hash-max-listpack-value 64k"), c("CONFIG SET zset-max-ziplist-value x"),
     c("CONFIG SET hash-max-listpack-value 64")],
    [c("CLIENT SETNAME conn"), ("send", c("HELLO 3")), c("CLIENT GETNAME"), c("PING"), c("RESET"), c("PING"),
     c("CLIENT GETNAME"), ("send", c("HELLO 3 SETNAME viahello")), c("CLIENT GETNAME"), c("HSET h a 1"),
     c("HGETALL h"), ("send", c("HELLO 2")), c("HGETALL h"), c("HELLO 3 AUTH default x"), c("CLIENT GETNAME"),
     c("HELLO 3 BAD"), c("HELLO 3 SETNAME"), c("HELLO abc"), c("HELLO 2 SETNAME x SETNAME y"),
     c("CLIENT GETNAME"), ("shape", c("CLIENT INFO")), ("shape", c("CLIENT LIST")), ("shape", c("INFO")),
     ("shape", c("INFO server")), c("INFO keyspace"), c("SET k v"), c("INFO keyspace")],
]


# Geospatial indexes: sorted sets of 52-bit geohashes
GEO = [
    [c("GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania"), c("ZRANGE Sicily 0 -1 WITHSCORES"),
     c("GEOPOS Sicily Palermo Catania NonExisting"), c("GEODIST Sicily Palermo Catania"),
     c("GEODIST Sicily Palermo Catania km"), c("GEODIST Sicily Palermo Catania MI"),
     c("GEODIST Sicily Palermo Catania ft"), c("GEODIST Sicily Palermo Catania yd"),
     c("GEODIST Sicily Palermo Catania km x"), c("GEODIST Sicily Palermo nobody"), c("GEODIST nokey a b"),
     c("GEOHASH Sicily Palermo Catania nobody"), c("GEOHASH nokey a"), c("GEOPOS nokey a b"),
     c("GEORADIUS Sicily 15 37 100 km"), c("GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH ASC"),
     c("GEORADIUS Sicily 15 37 200 km DESC COUNT 1"), c("GEORADIUS Sicily 15 37 200 km COUNT 1 ANY"),
     c("GEORADIUS Sicily 15 37 200 km ANY"), c("GEORADIUS Sicily 15 37 200 km COUNT 0"),
     c("GEORADIUS Sicily 15 37 200 km COUNT x"), c("GEORADIUS Sicily 15 37 -1 km"),
     c("GEORADIUS Sicily 15 37 x km"), c("GEORADIUS Sicily 15 37 1 kms"), c("GEORADIUS Sicily 181 37 1 km"),
     c("GEORADIUS Sicily 15 86 1 km"), c("GEORADIUS Sicily x 37 1 km"),
     c("GEORADIUS Sicily 15 37 200 km STORE dst"), c("ZRANGE dst 0 -1 WITHSCORES"),
     c("GEORADIUS Sicily 15 37 200 km STOREDIST dst"), c("ZRANGE dst 0 -1 WITHSCORES"),
     c("GEORADIUS Sicily 15 37 200 km STORE dst WITHDIST"), c("GEORADIUS Sicily 15 37 1 m STORE dst"),
     c("EXISTS dst"), c("GEORADIUS_RO Sicily 15 37 200 km STORE dst"),
     c("GEORADIUSBYMEMBER Sicily Palermo 200 km WITHDIST"), c("GEORADIUSBYMEMBER Sicily nobody 200 km"),
     c("GEORADIUSBYMEMBER nokey nobody x km WITHDIST"), c("GEORADIUSBYMEMBER_RO Sicily Catania 100 km"),
     c("GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC WITHCOORD WITHDIST"),
     c("GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 400 400 km ASC WITHCOORD WITHDIST WITHHASH"),
     c("GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 1 1 BYBOX 400 400 km"),
     c("GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX 400 400 km BYRADIUS 1 m"), c("GEOSEARCH Sicily BYBOX 400 400 km ASC"),
     c("GEOSEARCH Sicily FROMLONLAT 1 1 ASC WITHDIST"), c("GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX -1 1 m"),
     c("GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX x 1 m"), c("GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX 1 y m"),
     c("GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX 1 1 q"), c("GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX 1 1 m STORE x"),
     c("GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX 1 1 m STOREDIST"), c("GEOSEARCH Sicily FROMMEMBER nobody BYBOX 1 1 m"),
     c("GEOSEARCH nokey FROMMEMBER nobody BYBOX 1 1 m"), c("geosearch Sicily BYBOX 400 400 km"),
     c("GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYBOX 400 400 km STOREDIST"), c("ZRANGE d 0 -1 WITHSCORES"),
     c("GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYBOX 400 400 km COUNT 1"), c("ZRANGE d 0 -1 WITHSCORES"),
     c("GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYBOX 400 400 km WITHDIST"),
     c("GEOSEARCHSTORE d nokey FROMLONLAT 15 37 BYBOX 400 400 km"), c("EXISTS d"),
     c("WATCH nothere"), c("GEOSEARCHSTORE nothere Sicily FROMLONLAT 50 50 BYRADIUS 1 km"), c("MULTI"), c("PING"),
     c("EXEC"), c("WATCH nothere"), c("ZRANGESTORE nothere nokey 0 -1"), c("MULTI"), c("PING"), c("EXEC"),
     c("COMMAND GETKEYS GEORADIUS a 1 1 1 m STORE b STOREDIST c"),
     c("COMMAND GETKEYS GEORADIUSBYMEMBER a m 1 m STORE b"), c("COMMAND GETKEYS GEOSEARCHSTORE d s FROMMEMBER m")],
    [c("GEOADD g 200 10 a"), c("GEOADD g 1e400 1 a"), c("GEOADD g NX XX 1 1 a"), c("GEOADD g CH CH CH"),
     c("GEOADD g 1 1"), c("GEOADD g CH 1 1 a 2 2 b"), c("GEOADD g CH 1 1 a 2 3 b"), c("GEOADD g NX 5 5 a 6 6 c"),
     c("GEOADD g XX CH 7 7 a 8 8 d"), c("ZRANGE g 0 -1 WITHSCORES"), c("GEOADD g GT 1 1 a"), c("SET s x"),
     c("GEOADD s 1 1 a"), c("GEOPOS s a"), c("GEODIST s a b"), c("GEOHASH s a"), c("GEORADIUS s 1 1 1 km"),
     c("GEOSEARCH s FROMMEMBER x BYBOX 1 1 km"), c("GEOSEARCHSTORE d s FROMLONLAT 0 0 BYRADIUS 1 km"),
     c("GEORADIUS g 1 1 500 km STORE s"), c("TYPE s"),
     c("ZADD weird -1 n 1e300 m inf i -inf j 5 k 4503599627370496 big"), c("GEOPOS weird n m i j k big"),
     c("GEOHASH weird n m i j k big"), c("GEODIST weird n k"),
     c("GEOADD poles 180 85.05112878 np -180 -85.05112878 sp 0 0 z 180 0 e -180 0 w"),
     c("GEOPOS poles np sp z e w"), c("GEOHASH poles np sp z e w"),
     c("GEOSEARCH poles FROMLONLAT 0 0 BYRADIUS 20000 km WITHDIST WITHCOORD"),
     c("GEOSEARCH poles FROMLONLAT 179 85 BYBOX 40000 20000 km WITHDIST WITHCOORD"),
     c("GEORADIUS poles 0 0 0 m WITHDIST"), c("GEORADIUS poles 179.99 0.01 5 km WITHDIST"),
     c("COMMAND INFO geoadd geodist geohash geopos georadius_ro geosearch")],
]


def sequences():
    """Every sequence, each argument as bytes."""
    groups = BASIC + STRINGS + KEYS + LISTS + HASHES + SETS + ZSETS + GEO + TRANSACTIONS + BLOCKING + SERVER
    return [[as_entry(entry) for entry in sequence] for sequence in groups]


def as_entry(entry):
    if isinstance(entry, list):
        return b(*entry)
    if isinstance(entry[1], list):
        return (entry[0], b(*entry[1])) + tuple(entry[2:])
    return entry


# --------------------------------------------------------------------------
# Running entries on both servers


def scan_all(client, command):
    """Every element a SCAN-family command returns, from cursor 0 to the
    end: ("scan", sorted elements), or the first reply if not a scan page."""
    cursor_at = 1 if name_of(command) == b"scan" else 2
    pairs = name_of(command) in (b"hscan", b"zscan") and b"novalues" not in [a.lower() for a in command]
    seen, cursor = set(), b"0"
    for _ in range(100000):
        page = client.call(*(command[:cursor_at] + [cursor] + command[cursor_at + 1:]))
        if page[0] != "array" or len(page[1]) != 2:
            return page
        items = [item[1] for item in page[1][1][1]]
        seen.update(as_pairs(items) if pairs else items)
        cursor = page[1][0][1]
        if cursor == b"0":
            return ("scan", sorted(seen))
    return ("scan", "did not end")


def probe_block(client, command, wait=0.3):
    """A command that may block for ever: its reply within `wait` seconds,
    or that it still blocks (the connection is then no longer usable)."""
    client.sock.settimeout(wait)
    client.send(*command)
    reply = read_or_failure(client)
    return ("still blocked after %.1f s" % wait,) if reply == (FAILURES[0],) else reply


def exchange_special(duo, entry):
    """A ("kind", command, ...) entry on both servers: (what, redis's reply,
    keel-kv's), as compared; None for entries that compare nothing."""
    kind, command = entry[0], entry[1]
    if kind == "sleep":
        time.sleep(command)
        return None
    if kind == "scan":
        return ("scan", command), scan_all(duo.redis, command), scan_all(duo.kv, command)
    if kind == "blocks":
        return ("blocks", command), probe_block(duo.redis, command), probe_block(duo.kv, command)
    if kind == "kind":
        return ("kind", command), probe_block(duo.redis, command, 1)[:1], probe_block(duo.kv, command, 1)[:1]
    want, got = duo.call(*command)
    if kind == "send":
        return None
    if kind == "shape":
        return ("shape", command), shape(want), shape(got)
    if kind == "sample":
        return ("sample", command), sample(want, entry[2]), sample(got, entry[2])
    raise ValueError(kind)


class Transaction:
    """Follows MULTI ... EXEC on redis-server's replies, so EXEC's replies are
    each normalised as the command queued."""

    def __init__(self):
        self.queued = None

    def follow(self, command, want):
        """Notes a command and redis-server's reply; after EXEC (or DISCARD,
        RESET), returns the commands that were queued."""
        name = name_of(command)
        if name == b"multi" and want == ("simple", b"OK"):
            self.queued = []
        elif name in (b"exec", b"discard", b"reset"):
            queued, self.queued = self.queued, None
            return queued
        elif self.queued is not None and want == ("simple", b"QUEUED"):
            self.queued.append(command)
        return None


def run_entries(duo, entries, results, where, loose=False, stop_at_first=False):
    """Runs entries on both servers, comparing replies. Returns the number of
    mismatches."""
    transaction = Transaction()
    found = 0
    for index, entry in enumerate(entries):
        compared = exchange(duo, entry, transaction, loose)
        if compared is None:
            continue
        command, want, got = compared
        if not results.check(where, command, want, got, setup=entries[:index]):
            found += 1
            if stop_at_first and not (want[0] == got[0] == "error"):
                break
        if failed(want, got):
            break
    return found


def exchange(duo, entry, transaction, loose):
    """Sends one entry to both servers: (command, redis's reply, keel-kv's),
    as compared (EXEC's replies normalised as the commands queued); None for
    entries that compare nothing."""
    if isinstance(entry, tuple):
        return exchange_special(duo, entry)
    want, got = duo.call(*entry)
    queued = transaction.follow(entry, want)
    if name_of(entry) == b"exec" and queued is not None:
        return entry, normalise_exec(queued, want, loose), normalise_exec(queued, got, loose)
    return entry, normalise(entry, want, loose), normalise(entry, got, loose)


def fresh_duo(ports, protocol):
    duo = Duo(ports, protocol)
    duo.call(b"FLUSHALL")
    return duo


def run_sequences(ports, results):
    """Every sequence on fresh connections, in RESP2, then after HELLO 3."""
    for protocol in (2, 3):
        for sequence in sequences():
            duo = fresh_duo(ports, protocol)
            run_entries(duo, sequence, results, "RESP%d" % protocol)
            duo.close()


# --------------------------------------------------------------------------
# Pipelines and protocol errors (one connection per server, raw bytes)


def pipelined_and_inline(ports, results):
    """A pipeline of mixed multibulk and inline requests, sent in one write."""
    payload = (encode(b("SET", "p", "1")) + b"INCR p\r\n" + b"  get   p  \r\n" + encode(b("LPUSH", "pl", "a"))
               + b"\r\n" + b"*0\r\n" + b"ECHO \"quoted \\x41\"\r\n" + encode(b("PING")))
    replies = []
    for port in ports:
        client = Client(port)
        client.call(b"FLUSHALL")
        client.send_raw(payload)
        replies.append([client.read() for _ in range(6)])
        client.close()
    results.check("pipeline", "pipeline of multibulk and inline requests", replies[0], replies[1])


def protocol_errors(ports, results):
    """Malformed requests: the error reply, then the connection closes."""
    cases = [b"*1\r\nfoo\r\n", b"*3000000000\r\n", b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", b"SET \"abc\r\n",
             b"*1\r\n$blabla\r\n", b"*1\r\n\r\n", b"*1\r\n\n\n", b"*1\r\n\xff\r\n", b"*2\r\n$4\r\nECHO\r\n\x00\r\n"]
    for case in cases:
        clients = [Client(port, timeout=0.5) for port in ports]
        for client in clients:
            client.send_raw(b"PING\r\n" + case)
        replies = [after_protocol_error(client) for client in clients]
        results.check("protocol", "raw bytes %r" % case, replies[0], replies[1])


def after_protocol_error(client):
    out = [client.read()]
    try:
        out.append(client.read())
        client.read()
        out.append("still open")
    except (EOFError, ConnectionResetError):
        out.append("closed")
    except (TimeoutError, socket.timeout):
        out.append("no reply, not closed")
    client.close()
    return out


def inline_limit(ports, results):
    """An inline line of 64 KiB is accepted ended by LF and by CRLF; the CR
    is the line end's, not the line's."""
    for end in (b"\n", b"\r\n"):
        line = b"ECHO " + b"a" * (65536 - 5) + end + b"PING\r\n"
        replies = []
        for port in ports:
            client = Client(port)
            client.send_raw(line)
            replies.append([shape(client.read()), client.read()])
            client.close()
        results.check("inline", "inline line of 65536 bytes ended by %r" % end, replies[0], replies[1])


# --------------------------------------------------------------------------
# Multi-client scenarios: several connections to each server


class Scenario:
    """Named connections A, B, C... to both servers; every reply read is
    compared, and the steps so far are kept to reproduce a mismatch."""

    def __init__(self, name, ports, results, protocols):
        self.name, self.results = name, results
        self.steps = []
        self.duos = {}
        for label, protocol in zip("ABC", protocols):
            self.duos[label] = Duo(ports, protocol)
            if protocol == 3:
                self.steps.append("%s: HELLO 3" % label)
        self.duos["A"].call(b"FLUSHALL")

    def send(self, who, text):
        command = c(text) if isinstance(text, str) else text
        self.steps.append("%s: %s" % (who, show_command(command)))
        self.duos[who].send(*command)
        return command

    def read(self, who, command, label=None):
        want, got = self.duos[who].read()
        what = label or "%s: %s" % (who, show_command(command))
        return self.results.check(self.name, what, normalise(command, want), normalise(command, got),
                                  setup=list(self.steps[:-1]))

    def call(self, who, text):
        command = self.send(who, text)
        return self.read(who, command)

    def expect_push(self, who, what):
        """Reads a message the server pushed (nothing was sent)."""
        self.steps.append("%s reads %s" % (who, what))
        return self.read(who, [b"(push)"], label="%s reads %s" % (who, what))

    def unordered(self, who, text, count):
        """A command answered by `count` replies in an order Redis does not
        define (UNSUBSCRIBE with no channel): compared as sorted."""
        command = self.send(who, text)
        replies = [self.duos[who].read() for _ in range(count)]
        want = sorted((r[0] for r in replies), key=sort_key)
        got = sorted((r[1] for r in replies), key=sort_key)

        def counts(rs):
            return sorted(r[1][2] for r in rs if r[0] in ("array", "push") and len(r[1]) == 3)

        self.results.check(self.name, "%s: %s" % (who, show_command(command)),
                           ([r[1][:2] for r in want if r[0] in ("array", "push")], counts(want)),
                           ([r[1][:2] for r in got if r[0] in ("array", "push")], counts(got)),
                           setup=list(self.steps[:-1]))

    def call_naming(self, who, before, ids, after=(), label=""):
        """A command naming a client by its id, which differs between the
        servers: `before` ID `after`, each server given its own id."""
        for client, client_id in ((self.duos[who].redis, ids[0]), (self.duos[who].kv, ids[1])):
            client.send(*([w.encode() for w in before] + [str(client_id).encode()] + [w.encode() for w in after]))
        text = " ".join(list(before) + [label or "ID"] + list(after))
        self.steps.append("%s: %s" % (who, text))
        return self.read(who, c(text))

    def close(self):
        for duo in self.duos.values():
            duo.close()


def pubsub_scenario(ports, results):
    s = Scenario("pubsub", ports, results, protocols=(2, 3, 2))
    s.call("A", "SUBSCRIBE ch1 ch2")
    s.read("A", [b"subscribe"], label="A: second SUBSCRIBE reply")
    s.call("A", "PSUBSCRIBE h?llo")
    s.call("B", "SUBSCRIBE ch1")
    s.call("B", "PSUBSCRIBE h*")
    s.call("C", "PUBLISH ch1 hi")
    s.expect_push("A", "message ch1 hi")
    s.expect_push("B", "message ch1 hi (push)")
    s.call("C", "PUBLISH hello x")
    s.expect_push("A", "pmessage h?llo hello x")
    s.expect_push("B", "pmessage h* hello x (push)")
    s.call("C", "PUBLISH nobody x")
    s.call("C", "PUBSUB CHANNELS")
    s.call("C", "PUBSUB CHANNELS ch*")
    s.call("C", "PUBSUB CHANNELS nothing*")
    s.call("C", "PUBSUB NUMSUB ch1 ch2 nochan")
    s.call("C", "PUBSUB NUMSUB")
    s.call("C", "PUBSUB NUMPAT")
    s.call("C", "PUBSUB NUMPAT x")
    s.call("C", "PUBSUB BAD")
    s.call("C", "PUBSUB")
    s.call("C", "PUBLISH ch1")
    # RESP2 subscriber mode refuses most commands; RESP3 does not.
    s.call("A", "GET x")
    s.call("A", "PING")
    s.call("A", "PING hi")
    s.call("B", "SET x 1")
    s.call("B", "GET x")
    s.call("B", "PING")
    s.call("A", "SUBSCRIBE ch1")
    s.call("A", "UNSUBSCRIBE ch1 nochan")
    s.read("A", [b"unsubscribe"], label="A: second UNSUBSCRIBE reply")
    s.call("C", "PUBLISH ch2 two")
    s.expect_push("A", "message ch2 two")
    s.call("A", "PUNSUBSCRIBE nopat")
    s.call("A", "PUNSUBSCRIBE")
    s.call("A", "UNSUBSCRIBE")
    s.call("A", "UNSUBSCRIBE")
    s.call("A", "PUNSUBSCRIBE")
    s.call("A", "GET x")
    s.call("A", "SUBSCRIBE")
    s.call("A", "PSUBSCRIBE")
    s.call("B", "SUBSCRIBE ch3 ch4 ch5")
    s.read("B", [b"subscribe"], label="B: SUBSCRIBE reply 2")
    s.read("B", [b"subscribe"], label="B: SUBSCRIBE reply 3")
    s.unordered("B", "UNSUBSCRIBE", 4)
    s.call("C", "PUBLISH ch1 gone")
    s.call("B", "RESET")
    s.call("C", "PUBLISH hello gone")
    s.call("C", "PUBSUB NUMPAT")
    s.close()


def keyspace_events_scenario(ports, results):
    """notify-keyspace-events: what each write announces, in order, to a
    RESP2 pattern subscriber (both channels) and a RESP3 one (events)."""
    s = Scenario("keyspace-events", ports, results, protocols=(2, 3, 2))
    s.call("C", "FLUSHALL")
    s.call("C", "CONFIG SET notify-keyspace-events KEA")
    s.call("C", "CONFIG GET notify-keyspace-events")
    s.call("A", "PSUBSCRIBE __key*__:*")
    s.call("B", "PSUBSCRIBE __keyevent@0__:*")
    # Each command, and how many events it announces (each reaches A on
    # both channels, B once).
    steps = [("SET k v", 1), ("SET k v EX 100", 2), ("LPUSH l a b", 1), ("LPOP l 2", 2), ("HSET h f v", 1),
             ("HDEL h f", 2), ("SADD s a", 1), ("SADD s a", 0), ("SREM s a", 2), ("ZADD z 1 m", 1),
             ("ZINCRBY z 1 m", 1), ("ZREM z m", 2), ("INCR n", 1), ("APPEND k x", 1), ("RENAME k k2", 2),
             ("EXPIRE k2 100", 1), ("PERSIST k2", 1), ("DEL k2 n nokey", 2), ("RPUSH src x", 1),
             ("LMOVE src dst LEFT RIGHT", 3), ("SADD s1 a b", 1), ("SINTERSTORE s2 s1", 1), ("SINTERSTORE s2 none", 1),
             ("ZADD z1 1 a", 1), ("ZUNIONSTORE z2 1 z1", 1), ("SETRANGE str 2 ab", 1), ("SETBIT bits 3 1", 1),
             ("PFADD hll a", 1), ("GETDEL str", 1), ("COPY z1 z3", 1), ("EXPIRE z3 -1", 1), ("LMOVE dst dst LEFT LEFT", 2)]

    def announced(steps, readers):
        """Each command from C, then each of its events as `readers` read it."""
        for text, events in steps:
            s.call("C", text)
            for index in range(events):
                for who, what in readers:
                    s.expect_push(who, "%s: %s %d" % (text, what, index + 1))

    announced(steps, [("A", "keyspace event"), ("A", "keyevent"), ("B", "keyevent (push)")])
    s.call("C", "CONFIG SET notify-keyspace-events Kgn")
    s.call("C", "CONFIG GET notify-keyspace-events")
    s.call("C", "SET fresh v")
    s.expect_push("A", "SET fresh v: new")
    s.call("C", "DEL fresh")
    s.expect_push("A", "DEL fresh: del")
    s.call("C", "CONFIG SET notify-keyspace-events Em")
    s.call("C", "GET nokey")
    s.expect_push("A", "GET nokey: keymiss")
    s.expect_push("B", "GET nokey: keymiss (push)")
    # Overwrites, no-ops and misses (keyevents only: one push each to A and B).
    s.call("C", "CONFIG SET notify-keyspace-events En$zlsm")
    announced([("SADD ss a", 2), ("SET dst x", 1), ("SINTERSTORE dst ss", 1), ("SORT ss ALPHA STORE dst", 1),
               ("ZUNIONSTORE dst 1 ss", 1), ("SETBIT bb 3 1", 2), ("SETBIT bb 3 1", 0), ("SETBIT bb 3 0", 1),
               ("EXISTS nokey", 1), ("MGET nokey bb", 1), ("TTL nokey", 1), ("TYPE nokey", 1),
               ("SCAN 0 MATCH nomatch*", 0), ("DEL nokey", 0)],
              [("A", "event"), ("B", "event (push)")])
    s.call("C", "CONFIG SET notify-keyspace-events $lshzxegtdAKEmn")
    s.call("C", "CONFIG GET notify-keyspace-events")
    s.call("C", "CONFIG SET notify-keyspace-events Q")
    s.call("C", "CONFIG SET notify-keyspace-events")
    s.call("C", "CONFIG SET notify-keyspace-events K")
    s.call("C", "CONFIG GET notify-keyspace-events")
    s.call("C", "SET quiet v")
    s.call("A", "PUNSUBSCRIBE")
    s.call("B", "PUNSUBSCRIBE")
    s.call("C", b("CONFIG", "SET", "notify-keyspace-events", ""))
    s.call("C", "CONFIG GET notify-keyspace-events")
    s.close()


def pubsub_resp2_mode(ports, results):
    """A RESP2 subscriber's refusals, RESET and QUIT, and RESP3 HELLO while subscribed."""
    s = Scenario("pubsub-mode", ports, results, protocols=(2, 2))
    s.call("A", "PSUBSCRIBE a* b*")
    s.read("A", [b"psubscribe"], label="A: second PSUBSCRIBE reply")
    for text in ("SET k v", "MULTI", "SUBSCRIBE", "CLIENT ID", "HELLO 2", "NOSUCH", "SSUBSCRIBE x"):
        s.call("A", text)
    s.call("B", "PUBLISH abc m")
    s.expect_push("A", "pmessage a* abc m")
    s.call("B", "PUBSUB NUMPAT")
    s.call("A", "RESET")
    s.call("A", "GET k")
    s.call("B", "PUBSUB NUMPAT")
    s.call("A", "SUBSCRIBE x")
    s.call("A", "HELLO 3")
    s.call("B", "PUBLISH x m")
    s.expect_push("A", "message x m (now a push)")
    s.call("A", "GET k")
    s.close()


def sharded_pubsub_scenario(ports, results):
    """SSUBSCRIBE, SUNSUBSCRIBE and SPUBLISH beside channels and patterns:
    their own namespace and counts, RESP2 subscriber mode, RESP3 pushes,
    MULTI's refusal of SSUBSCRIBE, RESET."""
    s = Scenario("sharded-pubsub", ports, results, protocols=(2, 3, 2))
    s.call("A", "SSUBSCRIBE s1 s2")
    s.read("A", [b"ssubscribe"], label="A: second SSUBSCRIBE reply")
    s.call("A", "SSUBSCRIBE s1")
    s.call("A", "SUBSCRIBE c1")
    s.call("A", "PSUBSCRIBE s*")
    s.call("B", "SSUBSCRIBE s1")
    s.call("C", "SPUBLISH s1 hello")
    s.expect_push("A", "smessage s1 hello")
    s.expect_push("B", "smessage s1 hello (push)")
    s.call("C", "PUBLISH s1 plain")
    s.expect_push("A", "pmessage s* s1 plain (the pattern; the shard channel hears nothing)")
    s.call("C", "SPUBLISH c1 nobody")
    s.call("C", "SPUBLISH nothere x")
    s.call("C", "PUBSUB SHARDCHANNELS s1*")
    s.call("C", "PUBSUB SHARDCHANNELS *2")
    s.call("C", "PUBSUB SHARDCHANNELS a b")
    s.call("C", "PUBSUB channels a b")
    s.call("C", "PUBSUB SHARDNUMSUB s1 s2 c1 none")
    s.call("C", "PUBSUB SHARDNUMSUB")
    s.call("C", "PUBSUB NUMSUB s1 c1")
    s.call("C", "PUBSUB CHANNELS")
    s.call("A", "GET x")
    s.call("A", "SPUBLISH s1 x")
    s.call("A", "PING")
    s.call("B", "SET x 1")
    s.call("B", "SPUBLISH s1 self")
    s.expect_push("B", "smessage s1 self (push)")
    s.call("A", "SUNSUBSCRIBE s1 none")
    s.read("A", [b"sunsubscribe"], label="A: second SUNSUBSCRIBE reply")
    s.call("A", "UNSUBSCRIBE")
    s.call("A", "PUNSUBSCRIBE")
    s.call("A", "GET x")
    s.call("A", "SUNSUBSCRIBE")
    s.call("C", "PUBSUB SHARDCHANNELS")
    s.call("A", "SUNSUBSCRIBE")
    s.call("A", "GET x")
    s.call("A", "SSUBSCRIBE")
    s.call("A", "SPUBLISH s1")
    s.call("C", "MULTI")
    s.call("C", "SSUBSCRIBE q")
    s.call("C", "SPUBLISH s1 queued")
    s.call("C", "EXEC")
    s.expect_push("B", "smessage s1 queued (push)")
    s.call("C", "PUBSUB SHARDNUMSUB q")
    s.call("B", "RESET")
    s.call("C", "SPUBLISH s1 gone")
    s.call("C", "PUBSUB SHARDCHANNELS")
    s.close()


def blocking_scenario(ports, results, protocol):
    s = Scenario("blocking-RESP%d" % protocol, ports, results, protocols=(protocol, protocol, protocol))

    def settle():
        """Lets a blocking command reach the servers before the next one."""
        time.sleep(0.1)

    blpop = s.send("A", "BLPOP q 0")
    settle()
    s.call("B", "RPUSH q a b")
    s.read("A", blpop)
    s.call("B", "LRANGE q 0 -1")
    # two clients blocked on one key are served in the order they blocked
    first = s.send("A", "BRPOP q2 0")
    settle()
    second = s.send("C", "BLPOP q2 0")
    settle()
    s.call("B", "RPUSH q2 x")
    s.read("A", first)
    s.call("B", "RPUSH q2 y z")
    s.read("C", second)
    s.call("B", "LRANGE q2 0 -1")
    # a transaction's pushes serve a blocked client after EXEC
    move = s.send("A", "BLMOVE q3 dst LEFT RIGHT 0")
    settle()
    for text in ("MULTI", "RPUSH q3 1", "RPUSH q3 2", "EXEC"):
        s.call("B", text)
    s.read("A", move)
    s.call("B", "LRANGE dst 0 -1")
    s.call("B", "LRANGE q3 0 -1")
    pop = s.send("A", "BZPOPMIN zq 0")
    settle()
    s.call("B", "ZADD zq 2 b 1 a")
    s.read("A", pop)
    mpop = s.send("A", "BLMPOP 0 2 m1 m2 RIGHT COUNT 5")
    settle()
    s.call("B", "RPUSH m2 a b c")
    s.read("A", mpop)
    zmpop = s.send("A", "BZMPOP 0 1 zm MAX COUNT 2")
    settle()
    s.call("B", "ZADD zm 1 a 2 b 3 c")
    s.read("A", zmpop)
    rpl = s.send("A", "BRPOPLPUSH q4 q4 0")
    settle()
    s.call("B", "LPUSH q4 only")
    s.read("A", rpl)
    # a key of the wrong type, then the right one
    wait = s.send("A", "BLPOP q5 0")
    settle()
    s.call("B", "SET q5 str")
    s.call("B", "DEL q5")
    s.call("B", "RPUSH q5 v")
    s.read("A", wait)
    # a blocked client times out
    timed = s.send("A", "BLPOP q6 0.1")
    s.read("A", timed)
    s.close()


def watch_scenario(ports, results):
    s = Scenario("watch", ports, results, protocols=(2, 2))
    s.call("A", "SET k 1")
    for text in ("WATCH k", "MULTI", "INCR k"):
        s.call("A", text)
    s.call("B", "SET k 10")
    s.call("A", "EXEC")
    s.call("A", "GET k")
    for text in ("WATCH k", "MULTI", "INCR k"):
        s.call("A", text)
    s.call("B", "SET other 1")
    s.call("A", "EXEC")
    s.call("A", "WATCH missing")
    s.call("B", "SET missing 1")
    s.call("B", "DEL missing")
    for text in ("MULTI", "PING", "EXEC"):
        s.call("A", text)
    # Each: what A sets up, the key A watches, what B runs, what A queues;
    # EXEC runs or not as in redis-server. (An SMOVE of a member the
    # destination holds leaves it unchanged.)
    for setup, watched, other, queued in (
            ((), "k", "FLUSHALL", "PING"), (("SET h 1",), "h", "EXPIRE h 100", "PING"),
            (("RPUSH l x",), "l", "LRANGE l 0 -1", "LLEN l"), ((), "l", "LPOP l", "LLEN l"),
            (("SADD src a b", "SADD dst a"), "dst", "SMOVE src dst a", "SCARD dst"),
            ((), "src", "SMOVE src dst b", "SCARD dst")):
        for text in setup:
            s.call("A", text)
        s.call("A", "WATCH " + watched)
        s.call("B", other)
        for text in ("MULTI", queued, "EXEC"):
            s.call("A", text)
    s.close()


def client_kill_scenario(ports, results):
    s = Scenario("client-kill", ports, results, protocols=(2, 2))
    ids = [s.duos["B"].redis.call(b"CLIENT", b"ID")[1], s.duos["B"].kv.call(b"CLIENT", b"ID")[1]]
    s.steps.append("B: CLIENT ID  (-> BID)")
    s.call_naming("A", ("CLIENT", "KILL", "ID"), ids, label="BID")
    s.call("A", "CLIENT KILL ID 999999")
    s.call("A", "CLIENT KILL ID abc")
    s.call("A", "CLIENT KILL 1.2.3.4:5")
    s.call("A", "CLIENT KILL ID")
    outcomes = []
    for client in (s.duos["B"].redis, s.duos["B"].kv):
        try:
            client.send(b"PING")
            outcomes.append(client.read())
        except (EOFError, ConnectionResetError, BrokenPipeError):
            outcomes.append("closed")
    results.check("client-kill", "B: PING after it was killed", outcomes[0], outcomes[1], setup=list(s.steps))
    s.close()


def tracking_scenario(ports, results):
    """CLIENT TRACKING: A (RESP3) reads and hears of B's writes as pushes,
    after its own reply for its own writes; C (RESP2) subscribes to
    __redis__:invalidate and gets A's invalidations once A redirects to it;
    OPTIN with CLIENT CACHING, BCAST with prefixes and NOLOOP, a flush, and
    TRACKINGINFO along the way."""
    s = Scenario("tracking", ports, results, protocols=(3, 2, 2))
    s.call("A", "CLIENT TRACKING ON")
    s.call("B", "MSET k1 a k2 b p:1 c")
    s.call("A", "MGET k1 k2 nokey")
    s.call("B", "SET k1 x")
    s.expect_push("A", "invalidate [k1]")
    s.call("B", "SET k1 y")
    s.call("A", "GET k2")
    s.call("A", "SET k2 mine")
    s.expect_push("A", "invalidate [k2] after its own reply")
    s.call("A", "CLIENT TRACKINGINFO")
    s.call("A", "CLIENT GETREDIR")
    s.call("A", "GET k2")
    s.call("B", "DEL k2")
    s.expect_push("A", "invalidate [k2] for a DEL")
    s.call("A", "GET nokey2")
    s.call("B", "LPUSH nokey2 v")
    s.expect_push("A", "invalidate [nokey2] for a key created")
    s.call("A", "CLIENT TRACKING OFF")
    s.call("A", "CLIENT TRACKING ON OPTIN")
    s.call("A", "GET k1")
    s.call("A", "CLIENT CACHING YES")
    s.call("A", "CLIENT TRACKINGINFO")
    s.call("A", "GET p:1")
    s.call("B", "SET k1 z")
    s.call("B", "SET p:1 z")
    s.expect_push("A", "invalidate [p:1] (only the key read after CACHING YES)")
    s.call("A", "CLIENT TRACKING OFF")
    s.call("A", "CLIENT TRACKING ON BCAST PREFIX p: PREFIX q: NOLOOP")
    s.call("A", "CLIENT TRACKINGINFO")
    s.call("B", "MSET p:2 a q:1 b r:1 c p:1 d")
    s.expect_push("A", "invalidate [p:1 p:2]")
    s.expect_push("A", "invalidate [q:1]")
    s.call("A", "SET p:3 mine")
    s.call("A", "CLIENT TRACKING ON BCAST PREFIX p")
    s.call("A", "CLIENT TRACKING ON")
    s.call("A", "CLIENT TRACKING OFF")
    ids = [s.duos["C"].redis.call(b"CLIENT", b"ID")[1], s.duos["C"].kv.call(b"CLIENT", b"ID")[1]]
    s.steps.append("C: CLIENT ID  (-> CID)")
    s.call("C", "SUBSCRIBE __redis__:invalidate")
    s.call_naming("A", ("CLIENT", "TRACKING", "ON", "REDIRECT"), ids, label="CID")
    s.call("A", "GET k1")
    s.call("B", "APPEND k1 more")
    s.expect_push("C", "message __redis__:invalidate [k1]")
    s.call("A", "GET k1")
    s.call("B", "FLUSHALL")
    s.expect_push("C", "message __redis__:invalidate null")
    s.call("A", "CLIENT TRACKING OFF")
    s.call("A", "CLIENT TRACKING ON BCAST OPTIN")
    s.call("A", "CLIENT TRACKING ON OPTIN OPTOUT")
    s.call("A", "CLIENT TRACKING ON PREFIX x")
    s.call("A", "CLIENT TRACKING ON REDIRECT 0")
    s.call("A", "CLIENT TRACKING ON REDIRECT abc")
    s.call("A", "CLIENT TRACKING ON BCAST PREFIX ab PREFIX a")
    s.call("A", "CLIENT CACHING YES")
    s.call("A", "CLIENT TRACKING MAYBE")
    s.call("A", "CLIENT TRACKINGINFO")
    s.call("B", "CONFIG GET tracking-table-max-keys")
    # The last tracking client turns it off inside the transaction that
    # writes its key: the invalidation still follows EXEC's reply.
    s.call("A", "CLIENT TRACKING ON")
    s.call("A", "GET k9")
    s.call("A", "MULTI")
    s.call("A", "SET k9 1")
    s.call("A", "CLIENT TRACKING OFF")
    s.call("A", "EXEC")
    s.expect_push("A", "invalidate [k9] after EXEC")
    s.call("A", "PING")
    s.close()


def client_unblock_scenario(ports, results, protocol):
    """B blocks (BLPOP, BLMPOP, BZPOPMIN); A releases it with CLIENT UNBLOCK,
    as a timeout or with the UNBLOCKED error; then B goes on."""
    s = Scenario("client-unblock", ports, results, protocols=(2, protocol))
    ids = [s.duos["B"].redis.call(b"CLIENT", b"ID")[1], s.duos["B"].kv.call(b"CLIENT", b"ID")[1]]
    s.steps.append("B: CLIENT ID  (-> BID)")
    for blocking, reason in (("BLPOP nokey 0", "TIMEOUT"), ("BLMPOP 0 1 nokey LEFT", "ERROR"),
                             ("BZPOPMIN nokey 0", ""), ("BLMOVE nokey other LEFT RIGHT 0", "TIMEOUT")):
        b_command = s.send("B", blocking)
        time.sleep(0.2)
        s.call_naming("A", ("CLIENT", "UNBLOCK"), ids, (reason,) if reason else (), label="BID")
        s.read("B", b_command)
    s.call("A", "CLIENT UNBLOCK 999999")
    s.call_naming("A", ("CLIENT", "UNBLOCK"), ids, label="BID")
    s.call("A", "CLIENT UNBLOCK abc")
    s.call("A", "CLIENT UNBLOCK 1 NOPE")
    s.call("A", "CLIENT UNBLOCK 1 TIMEOUT extra")
    s.call("B", "PING")
    s.close()


def dump_restore_scenario(ports, results):
    """Payloads cross between the servers: each key DUMPed by one is RESTOREd
    by the other (and by itself), and the copy read back on both sides must
    hold what the original holds. Values of every type and encoding: ints,
    LZF-compressed strings, listpacks, intsets, quicklists, tables."""
    redis, kv = Client(ports[0]), Client(ports[1])
    setup = [b("FLUSHALL"), b("SET", "s1", "hello"), b("SET", "s2", "-70000"), b("SET", "s3", "ab" * 500),
             b("SET", "s4", str(2 ** 40)), b("RPUSH", "l1", "a", "1", "300"), b("RPUSH", "l2", *["e%d" % i * 3 for i in range(400)]),
             b("RPUSH", "l3", "x" * 70000, "y"), b("SADD", "t1", "1", "2", "-3"), b("SADD", "t2", "a", "b"),
             b("SADD", "t3", *range(600)), b("SADD", "t4", *["m%d" % i for i in range(300)]),
             b("HSET", "h1", "a", "1", "b", "x" * 70), b("HSET", "h2", *[x for i in range(600) for x in ("f%d" % i, "v%d" % i)]),
             b("HSET", "h3", "n", "-4000", "big", str(2 ** 33)), b("ZADD", "z1", "1", "a", "2.5", "b", "-3", "c"),
             b("ZADD", "z2", *[x for i in range(300) for x in (str(i * 0.5), "m%d" % i)]), b("ZADD", "z3", "inf", "i", "-inf", "j")]
    for command in setup:
        redis.call(*command)
        kv.call(*command)
    readers = {b"string": [b"GET"], b"list": [b"LRANGE", None, b"0", b"-1"], b"set": [b"SMEMBERS"],
               b"hash": [b"HGETALL"], b"zset": [b"ZRANGE", None, b"0", b"-1", b"WITHSCORES"]}

    def contents(client, key):
        kind = client.call(b"TYPE", key)[1]
        words = readers[kind]
        command = [words[0], key] + [w for w in words[2:]] if len(words) > 1 else [words[0], key]
        return kind, normalise(command, client.call(*command))

    for key in [w[1] for w in setup[1:]]:
        for source, target, label in ((redis, kv, "redis-server to keel-kv"), (kv, redis, "keel-kv to redis-server"),
                                      (kv, kv, "keel-kv to keel-kv")):
            payload = source.call(b"DUMP", key)[1]
            restored = target.call(b"RESTORE", b"copy", b"0", payload, b"REPLACE")
            results.check("dump-restore", "RESTORE %s (%s)" % (key.decode(), label), ("simple", b"OK"), restored)
            results.check("dump-restore", "contents of %s (%s)" % (key.decode(), label), contents(source, key),
                          contents(target, b"copy"))
    redis.close()
    kv.close()


def multi_client(ports, results):
    dump_restore_scenario(ports, results)
    pubsub_scenario(ports, results)
    pubsub_resp2_mode(ports, results)
    keyspace_events_scenario(ports, results)
    sharded_pubsub_scenario(ports, results)
    blocking_scenario(ports, results, 2)
    blocking_scenario(ports, results, 3)
    watch_scenario(ports, results)
    client_kill_scenario(ports, results)
    tracking_scenario(ports, results)
    client_unblock_scenario(ports, results, 2)
    client_unblock_scenario(ports, results, 3)


# --------------------------------------------------------------------------
# Seeded random commands over a small keyspace

RANDOM_KEYS = ["a", "b", "c", "d", "e"]
INTS = ["0", "1", "2", "3", "-1", "-2", "5", "10", "-10", "100", "abc", "", "1.5", "9223372036854775807",
        "-9223372036854775808"]
INT_WEIGHTS = [8, 8, 6, 5, 6, 4, 4, 3, 2, 2, 1, 1, 1, 1, 1]
FLOATS = ["0", "1", "2.5", "-1", "0.1", "-0", "inf", "-inf", "+inf", "1e308", "-1e308", "1e-5", "3.0e3", "10.5",
          "abc", "nan", "", " 1", "7"]
SCORE_BOUNDS = ["-inf", "+inf", "0", "1", "(1", "2", "(2.5", "3", "10", "abc", "(", "(inf", "-1", "(0"]
LEX_BOUNDS = ["-", "+", "[a", "(a", "[b", "(c", "[zz", "a", "[", "(", "[1", "(10"]
MEMBERS = ["a", "b", "c", "d", "1", "2", "10", "-1", "3.5", "x" * 65]
MEMBER_WEIGHTS = [6, 6, 5, 4, 4, 3, 2, 2, 2, 1]
VALUES = ["v", "1", "2", "10", "-5", "abc", "3.5", "", "x" * 45, "12345678901234567890", "0.1", "007"]


class Gen:
    def __init__(self, rng):
        self.r = rng

    def key(self):
        return self.r.choice(RANDOM_KEYS)

    def keys(self, low=1, high=3):
        return [self.key() for _ in range(self.r.randint(low, high))]

    def int(self):
        return self.r.choices(INTS, INT_WEIGHTS)[0]

    def count(self):
        return self.r.choice(["0", "1", "2", "3", "5", "10", "-1", "-3", "abc"])

    def float(self):
        return self.r.choice(FLOATS)

    def member(self):
        return self.r.choices(MEMBERS, MEMBER_WEIGHTS)[0]

    def members(self, high=3):
        return [self.member() for _ in range(self.r.randint(1, high))]

    def value(self):
        return self.r.choice(VALUES)

    def end(self):
        return self.r.choice(["LEFT", "RIGHT", "left", "MIDDLE"])

    def maybe(self, *options, p=0.3):
        return list(self.r.choice(options)) if self.r.random() < p else []

    def expiry(self):
        """Expiry options that cannot fire during the run (or fire at once)."""
        return self.r.choice([["EX", "100"], ["PX", "100000"], ["EXAT", "4102444800"], ["PXAT", "1"], ["EX", "0"],
                              ["EX", "-1"], ["KEEPTTL"], ["EX", "abc"], []])

    def score_range(self):
        return [self.r.choice(SCORE_BOUNDS), self.r.choice(SCORE_BOUNDS)]

    def lex_range(self):
        return [self.r.choice(LEX_BOUNDS), self.r.choice(LEX_BOUNDS)]

    def limit(self):
        return self.maybe(["LIMIT", self.int(), self.int()])

    def numkeys(self, keys):
        return [self.r.choice([str(len(keys))] * 6 + ["0", "-1", str(len(keys) + 1), "abc"])] + keys


def string_commands(g):
    return [
        (6, lambda: ["SET", g.key(), g.value()] + g.maybe(["NX"], ["XX"], ["GET"]) + g.expiry()),
        (5, lambda: ["GET", g.key()]),
        (2, lambda: ["SETNX", g.key(), g.value()]),
        (1, lambda: ["SETEX", g.key(), g.r.choice(["100", "0", "-1", "abc"]), g.value()]),
        (1, lambda: ["PSETEX", g.key(), g.r.choice(["100000", "0", "abc"]), g.value()]),
        (2, lambda: ["GETSET", g.key(), g.value()]),
        (2, lambda: ["GETDEL", g.key()]),
        (2, lambda: ["GETEX", g.key()] + g.r.choice([[], ["PERSIST"], ["EX", "100"], ["PX", "0"], ["EXAT", "1"],
                                                     ["BAD"]])),
        (2, lambda: ["MSET"] + [x for k in g.keys() for x in (k, g.value())]),
        (2, lambda: ["MSETNX"] + [x for k in g.keys() for x in (k, g.value())]),
        (3, lambda: ["MGET"] + g.keys()),
        (3, lambda: ["APPEND", g.key(), g.value()]),
        (2, lambda: ["STRLEN", g.key()]),
        (2, lambda: ["GETRANGE", g.key(), g.int(), g.int()]),
        (2, lambda: ["SETRANGE", g.key(), g.r.choice(["0", "1", "3", "10", "-1", "abc"]), g.value()]),
        (3, lambda: ["INCR", g.key()]),
        (2, lambda: ["INCRBY", g.key(), g.int()]),
        (2, lambda: ["DECRBY", g.key(), g.int()]),
        (3, lambda: ["INCRBYFLOAT", g.key(), g.float()]),
        (2, lambda: ["SETBIT", g.key(), g.r.choice(["0", "7", "9", "30", "-1", "abc"]), g.r.choice(["0", "1", "2"])]),
        (2, lambda: ["GETBIT", g.key(), g.r.choice(["0", "7", "9", "100", "-1"])]),
        (2, lambda: ["BITCOUNT", g.key()] + g.r.choice([[], [g.int(), g.int()], [g.int(), g.int(), "BIT"]])),
        (2, lambda: ["BITPOS", g.key(), g.r.choice(["0", "1"])] + g.r.choice([[], [g.int()], [g.int(), g.int(), "BIT"]])),
        (1, lambda: ["BITOP", g.r.choice(["AND", "OR", "XOR", "NOT"]), g.key()] + g.keys(1, 2)),
        (2, lambda: ["BITFIELD", g.key()] + g.r.choice([
            ["GET", "u8", "0"], ["SET", "i5", "#1", g.int()], ["INCRBY", "u4", "3", g.int()],
            ["OVERFLOW", "SAT", "INCRBY", "i8", "0", g.int(), "GET", "i16", "4"],
            ["OVERFLOW", "FAIL", "SET", "u2", "9", g.int()]])),
        (1, lambda: ["BITFIELD_RO", g.key(), "GET", g.r.choice(["i16", "u3"]), g.r.choice(["0", "#2", "5"])]),
        (2, lambda: ["SORT", g.key()] + g.r.choice([[], ["ALPHA"], ["DESC", "ALPHA"], ["LIMIT", "1", "2", "ALPHA"],
                                                    ["ALPHA", "STORE", g.key()], ["BY", "nosort", "STORE", g.key()],
                                                    ["BY", "*", "ALPHA"], ["GET", "#", "GET", "*", "ALPHA"]])),
        (2, lambda: ["LCS", g.key(), g.key()] + g.r.choice([[], ["LEN"], ["IDX"], ["IDX", "WITHMATCHLEN"],
                                                           ["IDX", "MINMATCHLEN", g.r.choice(["0", "1", "2", "-1"])],
                                                           ["LEN", "IDX"], ["BAD"]])),
    ]


def key_commands(g):
    return [
        (3, lambda: ["DEL"] + g.keys()),
        (2, lambda: ["EXISTS"] + g.keys()),
        (1, lambda: ["UNLINK"] + g.keys()),
        (1, lambda: ["TOUCH"] + g.keys()),
        (3, lambda: ["TYPE", g.key()]),
        (2, lambda: ["RENAME", g.key(), g.key()]),
        (2, lambda: ["RENAMENX", g.key(), g.key()]),
        (2, lambda: ["COPY", g.key(), g.key()] + g.maybe(["REPLACE"])),
        (1, lambda: ["KEYS", g.r.choice(["*", "?", "[a-c]", "[^a]", "a*", "\\a"])]),
        (1, lambda: ["PERSIST", g.key()]),
        (2, lambda: ["EXPIRE", g.key(), g.r.choice(["100", "200", "-1", "0", "abc"])]
         + g.maybe(["NX"], ["XX"], ["GT"], ["LT"])),
        (1, lambda: ["PEXPIRE", g.key(), g.r.choice(["100000", "-1"])]),
        (1, lambda: ["EXPIREAT", g.key(), g.r.choice(["4102444800", "1", "abc"])]),
        (1, lambda: ["PEXPIREAT", g.key(), g.r.choice(["4102444800000", "1"])]),
        (2, lambda: ["TTL", g.key()]),
        (1, lambda: ["PTTL", g.key()]),
        (1, lambda: ["EXPIRETIME", g.key()]),
        (1, lambda: ["PEXPIRETIME", g.key()]),
        (2, lambda: ["OBJECT", "ENCODING", g.key()]),
        (1, lambda: ["DBSIZE"]),
    ]


def list_commands(g):
    return [
        (5, lambda: [g.r.choice(["LPUSH", "RPUSH"]), g.key()] + g.members()),
        (1, lambda: [g.r.choice(["LPUSHX", "RPUSHX"]), g.key()] + g.members()),
        (3, lambda: [g.r.choice(["LPOP", "RPOP"]), g.key()] + g.maybe([g.count()])),
        (2, lambda: ["LLEN", g.key()]),
        (3, lambda: ["LRANGE", g.key(), g.int(), g.int()]),
        (2, lambda: ["LINDEX", g.key(), g.int()]),
        (1, lambda: ["LSET", g.key(), g.int(), g.member()]),
        (1, lambda: ["LINSERT", g.key(), g.r.choice(["BEFORE", "AFTER", "X"]), g.member(), g.member()]),
        (1, lambda: ["LREM", g.key(), g.int(), g.member()]),
        (1, lambda: ["LTRIM", g.key(), g.int(), g.int()]),
        (2, lambda: ["LPOS", g.key(), g.member()] + g.maybe(["RANK", g.int()]) + g.maybe(["COUNT", g.count()])
         + g.maybe(["MAXLEN", g.count()])),
        (2, lambda: ["LMOVE", g.key(), g.key(), g.end(), g.end()]),
        (1, lambda: ["RPOPLPUSH", g.key(), g.key()]),
        (2, lambda: ["LMPOP"] + g.numkeys(g.keys()) + [g.end()] + g.maybe(["COUNT", g.count()])),
        (1, lambda: [g.r.choice(["BLPOP", "BRPOP"])] + g.keys() + [g.r.choice(["0.01", "abc", "-1"])]),
        (1, lambda: ["BLMOVE", g.key(), g.key(), g.end(), g.end(), "0.01"]),
    ]


def hash_commands(g):
    return [
        (5, lambda: ["HSET", g.key()] + [x for f in g.members() for x in (f, g.value())]),
        (1, lambda: ["HMSET", g.key()] + [x for f in g.members() for x in (f, g.value())]),
        (1, lambda: ["HSETNX", g.key(), g.member(), g.value()]),
        (3, lambda: ["HGET", g.key(), g.member()]),
        (2, lambda: ["HMGET", g.key()] + g.members()),
        (2, lambda: ["HDEL", g.key()] + g.members()),
        (2, lambda: ["HLEN", g.key()]),
        (1, lambda: ["HSTRLEN", g.key(), g.member()]),
        (2, lambda: ["HINCRBY", g.key(), g.member(), g.int()]),
        (2, lambda: ["HINCRBYFLOAT", g.key(), g.member(), g.float()]),
        (1, lambda: ["HEXISTS", g.key(), g.member()]),
        (1, lambda: [g.r.choice(["HKEYS", "HVALS", "HGETALL"]), g.key()]),
    ]


def set_commands(g):
    return [
        (5, lambda: ["SADD", g.key()] + g.members()),
        (2, lambda: ["SREM", g.key()] + g.members()),
        (2, lambda: ["SMEMBERS", g.key()]),
        (2, lambda: ["SISMEMBER", g.key(), g.member()]),
        (1, lambda: ["SMISMEMBER", g.key()] + g.members()),
        (2, lambda: ["SCARD", g.key()]),
        (1, lambda: ["SMOVE", g.key(), g.key(), g.member()]),
        (3, lambda: [g.r.choice(["SINTER", "SUNION", "SDIFF"])] + g.keys()),
        (2, lambda: [g.r.choice(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), g.key()] + g.keys()),
        (1, lambda: ["SINTERCARD"] + g.numkeys(g.keys()) + g.maybe(["LIMIT", g.count()])),
    ]


def zset_commands(g):
    return [
        (6, lambda: ["ZADD", g.key()] + g.maybe(["NX"], ["XX"], ["GT"], ["LT"], ["CH"], ["INCR"], ["GT", "CH"])
         + [x for m in g.members(2) for x in (g.float(), m)]),
        (2, lambda: ["ZINCRBY", g.key(), g.float(), g.member()]),
        (2, lambda: ["ZSCORE", g.key(), g.member()]),
        (1, lambda: ["ZMSCORE", g.key()] + g.members()),
        (2, lambda: ["ZCARD", g.key()]),
        (1, lambda: ["ZCOUNT", g.key()] + g.score_range()),
        (1, lambda: ["ZLEXCOUNT", g.key()] + g.lex_range()),
        (3, lambda: ["ZRANGE", g.key(), g.int(), g.int()] + g.maybe(["REV"]) + g.maybe(["WITHSCORES"])),
        (2, lambda: ["ZRANGE", g.key()] + g.score_range() + ["BYSCORE"] + g.maybe(["REV"]) + g.limit()
         + g.maybe(["WITHSCORES"])),
        (1, lambda: ["ZRANGE", g.key()] + g.lex_range() + ["BYLEX"] + g.maybe(["REV"]) + g.limit()),
        (1, lambda: ["ZRANGEBYSCORE", g.key()] + g.score_range() + g.maybe(["WITHSCORES"]) + g.limit()),
        (1, lambda: ["ZREVRANGEBYSCORE", g.key()] + g.score_range() + g.limit()),
        (1, lambda: ["ZREVRANGE", g.key(), g.int(), g.int()] + g.maybe(["WITHSCORES"])),
        (1, lambda: [g.r.choice(["ZRANGEBYLEX", "ZREVRANGEBYLEX"]), g.key()] + g.lex_range() + g.limit()),
        (2, lambda: [g.r.choice(["ZRANK", "ZREVRANK"]), g.key(), g.member()]),
        (2, lambda: ["ZREM", g.key()] + g.members()),
        (1, lambda: ["ZREMRANGEBYSCORE", g.key()] + g.score_range()),
        (1, lambda: ["ZREMRANGEBYRANK", g.key(), g.int(), g.int()]),
        (1, lambda: ["ZREMRANGEBYLEX", g.key()] + g.lex_range()),
        (2, lambda: [g.r.choice(["ZPOPMIN", "ZPOPMAX"]), g.key()] + g.maybe([g.count()])),
        (1, lambda: ["ZMPOP"] + g.numkeys(g.keys()) + [g.r.choice(["MIN", "MAX", "BAD"])]
         + g.maybe(["COUNT", g.count()])),
        (2, lambda: [g.r.choice(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]), g.key()] + g.numkeys(g.keys())
         + g.maybe(["WEIGHTS", g.float(), g.float()]) + g.maybe(["AGGREGATE", g.r.choice(["SUM", "MIN", "MAX"])])),
        (1, lambda: [g.r.choice(["ZUNION", "ZINTER", "ZDIFF"])] + g.numkeys(g.keys()) + g.maybe(["WITHSCORES"])),
        (1, lambda: ["ZINTERCARD"] + g.numkeys(g.keys()) + g.maybe(["LIMIT", g.count()])),
        (1, lambda: ["ZRANGESTORE", g.key(), g.key(), g.int(), g.int()]),
        (1, lambda: [g.r.choice(["BZPOPMIN", "BZPOPMAX"])] + g.keys() + ["0.01"]),
        (1, lambda: ["BZMPOP", "0.01"] + g.numkeys(g.keys()) + [g.r.choice(["MIN", "MAX"])]),
    ]


def hyperloglog_commands(g):
    return [
        (3, lambda: ["PFADD", g.key()] + g.members()),
        (2, lambda: ["PFCOUNT"] + g.keys()),
        (1, lambda: ["PFMERGE", g.key()] + g.keys()),
        (1, lambda: ["PFDEBUG", g.r.choice(["ENCODING", "DECODE", "TODENSE"]), g.key()]),
    ]


GEO_LONGITUDES = ["0", "13.361389", "15.087269", "-122.27652", "180", "-180", "180.1", "abc", "1e-5", "-0", "179.99",
                  "13.5", "14", "-179.9"]
GEO_LATITUDES = ["0", "38.115556", "37.502669", "37.805186", "85.05112878", "-85.05112878", "85.06", "abc", "-33.5",
                 "38", "37.9", "84.9"]


def geo_commands(g):
    def point():
        return [g.r.choice(GEO_LONGITUDES), g.r.choice(GEO_LATITUDES)]

    def unit():
        return [g.r.choice(["m", "km", "ft", "mi", "KM", "yd"])]

    def radius():
        return [g.r.choice(["0", "1", "100", "5000", "20000", "200", "-1", "abc", "1e10", "50"])]

    def options():
        words = g.r.sample(["WITHDIST", "WITHHASH", "WITHCOORD", "ASC", "DESC", "ANY", "COUNT"], g.r.randint(0, 4))
        out = []
        for word in words:
            out.append(word)
            if word == "COUNT":
                out.append(g.r.choice(["1", "2", "3", "10", "0", "-1", "abc"]))
        return out

    def origin():
        return g.r.choice([["FROMMEMBER", g.member()], ["FROMLONLAT"] + point(), []])

    def shape():
        return g.r.choice([["BYRADIUS"] + radius() + unit(),
                           ["BYBOX"] + radius() + radius() + unit(), []])

    return [
        (4, lambda: ["GEOADD", g.key()] + g.maybe(["NX"], ["XX"], ["CH"], ["XX", "CH"])
         + [x for m in g.members(2) for x in point() + [m]]),
        (2, lambda: ["GEOPOS", g.key()] + g.members()),
        (2, lambda: ["GEOHASH", g.key()] + g.members()),
        (2, lambda: ["GEODIST", g.key(), g.member(), g.member()] + g.maybe(unit())),
        (2, lambda: ["GEORADIUS", g.key()] + point() + radius() + unit() + options()
         + g.maybe(["STORE", g.key()], ["STOREDIST", g.key()])),
        (1, lambda: ["GEORADIUSBYMEMBER", g.key(), g.member()] + radius() + unit() + options()
         + g.maybe(["STORE", g.key()])),
        (1, lambda: [g.r.choice(["GEORADIUS_RO", "GEORADIUSBYMEMBER_RO"]), g.key(), g.member(), g.member()] + radius()
         + unit() + options()),
        (2, lambda: ["GEOSEARCH", g.key()] + origin() + shape() + options()),
        (1, lambda: ["GEOSEARCHSTORE", g.key(), g.key()] + origin() + shape() + options()
         + g.maybe(["STOREDIST"])),
    ]


def random_program(seed, count):
    """`count` commands from random.Random(seed)."""
    g = Gen(random.Random(seed))
    table = (string_commands(g) + key_commands(g) + list_commands(g) + hash_commands(g) + set_commands(g)
             + zset_commands(g) + hyperloglog_commands(g) + geo_commands(g))
    weights = [w for w, _ in table]
    makers = [m for _, m in table]
    return [b(*g.r.choices(makers, weights)[0]()) for _ in range(count)]


RANDOM_COMMANDS = 6000
RANDOM_CHUNK = 60


def random_run(ports, results):
    """Chunks of random commands, each on fresh connections to a flushed
    server (every third chunk in RESP3); a chunk stops at its first mismatch
    unless both replies were errors (the states may differ from there on)."""
    program = random_program(1234, RANDOM_COMMANDS)
    for number, start in enumerate(range(0, len(program), RANDOM_CHUNK)):
        protocol = 3 if number % 3 == 2 else 2
        duo = fresh_duo(ports, protocol)
        run_entries(duo, program[start:start + RANDOM_CHUNK], results, "random-RESP%d" % protocol, loose=True,
                    stop_at_first=True)
        duo.close()
    return len(program)


def geo_search_run(ports, results):
    """Searches over a dense index, where the cells a search reads and the
    points it keeps show: 1,500 points around three cities, near a pole and
    on the antimeridian, then 400 random searches of every kind (RESP2, then
    RESP3 for the last quarter)."""
    rng = random.Random(4321)
    centres = [(13.361389, 38.115556), (-122.27652, 37.805186), (151.2, -33.86), (179.9, 0.5), (10, 84.5)]
    points = []
    for index in range(1500):
        longitude, latitude = rng.choice(centres)
        spread = rng.choice([0.01, 0.2, 2, 8])
        longitude = max(-180, min(180, longitude + rng.uniform(-spread, spread)))
        latitude = max(-85.05, min(85.05, latitude + rng.uniform(-spread, spread)))
        points += ["%.6f" % longitude, "%.6f" % latitude, "p%d" % index]
    entries = [b("DEL", "geo")]
    for start in range(0, len(points), 900):
        entries.append(b(*(["GEOADD", "geo"] + points[start:start + 900])))
    loading = len(entries)
    for _ in range(400):
        longitude, latitude = rng.choice(centres)
        centre = ["%.4f" % max(-180, min(180, longitude + rng.uniform(-3, 3))),
                  "%.4f" % max(-85.05, min(85.05, latitude + rng.uniform(-3, 3)))]
        unit = rng.choice(["m", "km", "mi", "ft"])
        size = {"m": 1000, "km": 1, "mi": 0.62, "ft": 3280}[unit] * rng.choice([0.5, 5, 50, 300, 3000])
        extras = rng.sample(["WITHDIST", "WITHHASH", "WITHCOORD"], rng.randint(0, 3))
        extras += rng.choice([[], ["ASC"], ["DESC"], ["COUNT", str(rng.randint(1, 40))],
                              ["COUNT", str(rng.randint(1, 40)), "ANY"], ["COUNT", "5", "DESC"]])
        kind = rng.choice(["radius", "member", "box", "circle", "store"])
        if kind == "radius":
            entries.append(b(*(["GEORADIUS", "geo"] + centre + ["%g" % size, unit] + extras)))
        elif kind == "member":
            entries.append(b(*(["GEORADIUSBYMEMBER", "geo", "p%d" % rng.randrange(1500), "%g" % size, unit]
                               + extras)))
        elif kind == "box":
            entries.append(b(*(["GEOSEARCH", "geo", "FROMLONLAT"] + centre
                               + ["BYBOX", "%g" % size, "%g" % (size * rng.choice([0.3, 1, 2])), unit] + extras)))
        elif kind == "circle":
            entries.append(b(*(["GEOSEARCH", "geo", "FROMMEMBER", "p%d" % rng.randrange(1500), "BYRADIUS",
                                "%g" % size, unit] + extras)))
        else:
            entries.append(b(*(["GEOSEARCHSTORE", "found", "geo", "FROMLONLAT"] + centre
                               + ["BYRADIUS", "%g" % size, unit] + rng.choice([[], ["STOREDIST"]])
                               + [e for e in extras if not e.startswith("WITH")])))
            entries.append(b("ZRANGE", "found", "0", "-1", "WITHSCORES"))
    split = len(entries) * 3 // 4
    for protocol, part in ((2, entries[:split]), (3, entries[:loading] + entries[split:])):
        duo = fresh_duo(ports, protocol)
        run_entries(duo, part, results, "geo-RESP%d" % protocol)
        duo.close()


# --------------------------------------------------------------------------
# The report: each mismatch reduced to the fewest commands that show it


def reproduces(ports, mismatch, setup):
    """Whether `setup` then the command still gives the same two replies."""
    protocol = 3 if "RESP3" in mismatch.where else 2
    loose = mismatch.where.startswith("random")
    duo = fresh_duo(ports, protocol)
    transaction = Transaction()
    try:
        for entry in setup:
            exchange(duo, entry, transaction, loose)
        last = exchange(duo, mismatch.command, transaction, loose)
    except (EOFError, OSError, RESPError):
        return False
    finally:
        duo.close()
    return last is not None and last[1] == mismatch.want and last[2] == mismatch.got


def minimise(ports, mismatch):
    """Drops setup commands, in ever smaller runs, while the mismatch stays
    the same (a simple delta debugging)."""
    setup = list(mismatch.setup)
    if not setup or reproduces(ports, mismatch, []):
        return []
    if not reproduces(ports, mismatch, setup):
        return setup
    size = max(1, len(setup) // 2)
    while True:
        changed = False
        start = len(setup) - size
        while start > -size:
            low = max(0, start)
            trial = setup[:low] + setup[start + size:]
            if trial != setup and reproduces(ports, mismatch, trial):
                setup, changed = trial, True
            start -= size
        if size == 1 and not changed:
            return setup
        size = max(1, size // 2) if not changed or size > 1 else 1


def group_name(command):
    """What a mismatch is filed under: the command's name (and subcommand)."""
    if isinstance(command, tuple):
        command = command[1]
    if isinstance(command, str):
        match = re.match(r"^[A-C]: (\S+)( \S+)?", command)
        if not match:
            return command.split(" ")[0] if not re.match(r"^[A-C] reads", command) else "pubsub messages"
        command = b(*[w for w in match.groups() if w])
    words = [a.decode("latin-1").upper().strip() for a in command[:2]]
    if words[0] in ("OBJECT", "CONFIG", "CLIENT", "COMMAND", "PUBSUB") and len(words) > 1:
        return " ".join(words)
    return words[0]


def write_report(path, ports, results):
    groups = collections.OrderedDict()
    for m in results.mismatches:
        key = (group_name(m.command), repr(m.want), repr(m.got))
        if key in groups:
            groups[key][1] += 1
            continue
        groups[key] = [m, 1]
    by_command = collections.OrderedDict()
    for (name, _, _), (m, count) in groups.items():
        by_command.setdefault(name, []).append((m, count))
    lines = ["keel-kv against redis-server: %d mismatches, %d distinct" % (len(results.mismatches), len(groups)), ""]
    for name in sorted(by_command):
        lines.append("== %s" % name)
        for m, count in by_command[name]:
            setup = minimise(ports, m) if isinstance(m.command, (list, tuple)) else m.setup
            lines.append("  [%s] x%d  %s" % (m.where, count, show_command(m.command)))
            if setup:
                lines.append("    after: %s" % " ; ".join(show_step(s) for s in setup))
            lines.append("    redis-server: %s" % show(m.want, 600))
            lines.append("    keel-kv:      %s" % show(m.got, 600))
            if len(repr(m.want)) > 600 or len(repr(m.got)) > 600:
                lines.append("    first difference: %s" % first_difference(m.want, m.got))
        lines.append("")
    with open(path, "w") as out:
        out.write("\n".join(lines))


def first_difference(want, got, path=""):
    """Where two replies first differ, as a path of indexes and both parts."""
    if isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        for index, (a, b_) in enumerate(zip(want, got)):
            if a != b_:
                return first_difference(a, b_, "%s[%d]" % (path, index))
        if len(want) != len(got):
            return "%s: redis-server has %d elements, keel-kv %d" % (path or "top", len(want), len(got))
    return "%s: redis-server %s, keel-kv %s" % (path or "top", show(want, 300), show(got, 300))


def show_step(step):
    if isinstance(step, str):
        return step
    if isinstance(step, tuple):
        return "(%s %s)" % (step[0], show_command(step[1]) if isinstance(step[1], list) else step[1])
    return show_command(step)


# --------------------------------------------------------------------------


def main():
    ports = (int(sys.argv[1]), int(sys.argv[2]))
    report = sys.argv[sys.argv.index("--report") + 1] if "--report" in sys.argv else None
    started = time.time()
    results = Results()
    run_sequences(ports, results)
    pipelined_and_inline(ports, results)
    protocol_errors(ports, results)
    inline_limit(ports, results)
    multi_client(ports, results)
    random_commands = random_run(ports, results)
    geo_search_run(ports, results)
    for reason, count in sorted(results.known.items()):
        print("known difference (%d replies): %s" % (count, reason))
    compared = results.compared
    print("%d replies compared in %.1f s (sequences: %d in RESP2 and RESP3; random: %d of %d commands, a chunk "
          "stopping at a mismatch that may change the data; multi-client scenarios: %d; pipeline, protocol "
          "errors, inline: %d): %d mismatches, %d known differences"
          % (sum(compared.values()), time.time() - started, compared["RESP2"] + compared["RESP3"],
             compared["random"], random_commands, sum(compared[w] for w in ("pubsub", "blocking", "watch", "client", "dump", "tracking")),
             compared["pipeline"] + compared["protocol"] + compared["inline"], len(results.mismatches),
             sum(results.known.values())))
    if report:
        write_report(report, ports, results)
        print("report written to %s" % report)
    sys.exit(1 if results.mismatches else 0)


if __name__ == "__main__":
    main()
