"""Hostile and odd clients for bench/soak.sh, all on 127.0.0.1, all bounded.

Usage: chaos.py PORT SECONDS
Runs until SECONDS pass, then closes everything and prints one JSON line of
counts. Every socket operation has a timeout. The exit status is 1 if a
churn client got a wrong echo, timed out or failed (the server must serve
well-behaved clients beside the others), if no slow reader was ever cut off
by the server (its write timeout must end them), or if no garbage sender was
cut off.
"""
import json
import os
import random
import socket
import struct
import sys
import threading
import time

PORT, SECONDS = int(sys.argv[1]), float(sys.argv[2])
DEADLINE = time.monotonic() + SECONDS
counts = {name: 0 for name in ("slow_readers", "slow_readers_cut_off", "resets", "garbage", "garbage_cut_off",
                               "idle_held", "churn", "churn_mismatches", "churn_failures", "errors")}
lock = threading.Lock()


def bump(name, amount=1):
    with lock:
        counts[name] += amount


def connect(timeout=2.0):
    sock = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    return sock


def frame(payload):
    return struct.pack("<I", len(payload)) + payload


def slow_reader():
    """Sends large messages and never reads: the server stops reading it
    (backpressure), its sends block, and the server's write timeout must end
    the connection (reset or EOF), which is what this counts."""
    while time.monotonic() < DEADLINE:
        sock = None
        try:
            sock = connect(timeout=0.5)
            bump("slow_readers")
            body = frame(os.urandom(60_000))
            while time.monotonic() < DEADLINE:
                try:
                    sock.sendall(body)
                except socket.timeout:
                    continue  # blocked by backpressure: keep pushing until cut off
        except (ConnectionResetError, BrokenPipeError):
            bump("slow_readers_cut_off")
        except OSError:
            bump("errors")
        finally:
            if sock is not None:
                sock.close()


def resetter():
    """Half a frame, then RST (SO_LINGER 0)."""
    while time.monotonic() < DEADLINE:
        try:
            sock = connect()
            sock.sendall(struct.pack("<I", 1000) + b"x" * 300)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            bump("resets")
        except OSError:
            bump("errors")
        time.sleep(0.002)


def garbage():
    """Random bytes: almost always an oversize length, which closes only this connection."""
    while time.monotonic() < DEADLINE:
        try:
            sock = connect()
            sock.sendall(bytes([0xFF, 0xFF, 0xFF, 0x7F]) + os.urandom(1000))
            bump("garbage")
            sock.settimeout(2.0)
            if sock.recv(1) == b"":
                bump("garbage_cut_off")
            sock.close()
        except (ConnectionResetError, socket.timeout):
            bump("garbage_cut_off")
        except OSError:
            bump("errors")


def idle(count=300):
    held = []
    try:
        for _ in range(count):
            held.append(connect())
        bump("idle_held", len(held))
        while time.monotonic() < DEADLINE:
            time.sleep(0.1)
    except OSError:
        bump("errors")
    finally:
        for sock in held:
            sock.close()


def churn():
    """Connect, one echo checked byte for byte, close. A timeout or an error
    here is a failure: these clients behave."""
    rng = random.Random(threading.get_ident())
    while time.monotonic() < DEADLINE:
        try:
            sock = connect()
            payload = os.urandom(rng.randint(0, 3000))
            sock.sendall(frame(payload))
            data = b""
            while len(data) < 4 + len(payload):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            if data != frame(payload):
                bump("churn_mismatches")
            bump("churn")
            sock.close()
        except OSError:  # socket.timeout included
            bump("churn_failures")


threads = ([threading.Thread(target=slow_reader) for _ in range(4)]
           + [threading.Thread(target=resetter) for _ in range(2)]
           + [threading.Thread(target=garbage) for _ in range(2)]
           + [threading.Thread(target=idle)]
           + [threading.Thread(target=churn) for _ in range(2)])
for thread in threads:
    thread.daemon = True
    thread.start()
for thread in threads:
    thread.join(timeout=max(0.0, DEADLINE - time.monotonic()) + 10)
print(json.dumps(counts))
problems = []
if counts["churn_mismatches"] or counts["churn_failures"]:
    problems.append("churn clients got wrong echoes or failed")
if counts["churn"] == 0:
    problems.append("no churn client completed")
if counts["slow_readers"] and not counts["slow_readers_cut_off"]:
    problems.append("no slow reader was cut off by the server")
if counts["garbage"] and not counts["garbage_cut_off"]:
    problems.append("no garbage sender was cut off")
for problem in problems:
    print("chaos: " + problem, file=sys.stderr)
sys.exit(1 if problems else 0)
