#!/usr/bin/env python3
"""Clients for deploy/haproxy/test.sh, speaking Keel's default framing
(4-byte little-endian length, then the payload) through HAProxy.

  clients.py whoami PORT
      One echo from a socket bound to a port of its own; prints that port,
      which the Keel instance must log as the client's address.
  clients.py failover PORT PID KILLED_LOG N PORTS_FILE
      Opens N connections and checks an echo on each; finds in KILLED_LOG
      (the debug log of instance PID) which of them that instance serves;
      kills PID (a Keel instance the caller started) with SIGKILL; then
      exactly those clients must be cut off and every other one must still
      echo; each cut-off client must reconnect through HAProxy and be served;
      finally N new connections must be served. Writes the new connections'
      local ports to PORTS_FILE and prints a JSON summary. Exit status 0
      only if every check passed.
Every socket has a timeout and every retry loop a bound."""

import json
import os
import signal
import socket
import struct
import sys
import time

TIMEOUT_S = 5.0


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed by the server")
        data += chunk
    return data


def echo(sock, payload):
    """True when `payload` comes back framed, byte for byte."""
    try:
        sock.sendall(struct.pack("<I", len(payload)) + payload)
        (length,) = struct.unpack("<I", read_exactly(sock, 4))
        return length == len(payload) and read_exactly(sock, length) == payload
    except (OSError, ConnectionError):
        return False


def reconnect_and_echo(port, payload, attempts=25):
    """A new connection through HAProxy that echoes; None after `attempts` tries."""
    for _ in range(attempts):
        try:
            sock = connect(port)
        except OSError:
            time.sleep(0.2)
            continue
        if echo(sock, payload):
            return sock
        sock.close()
        time.sleep(0.2)
    return None


def whoami(port):
    sock = socket.socket()
    sock.settimeout(TIMEOUT_S)
    sock.bind(("127.0.0.1", 0))
    sock.connect(("127.0.0.1", port))
    if not echo(sock, b"who am I"):
        sys.exit("no echo through HAProxy")
    print(sock.getsockname()[1])
    sock.close()


def served_by(log_path, local_ports):
    """The local ports among `local_ports` whose connection the instance
    logging to `log_path` opened (HAProxy passes the client's own address)."""
    with open(log_path, errors="replace") as log:
        text = log.read()
    return {p for p in local_ports if ("client=127.0.0.1:%d " % p) in text}


def failover(port, pid, killed_log, count, ports_file):
    clients = [connect(port) for _ in range(count)]
    before = sum(echo(sock, b"before %d" % index) for index, sock in enumerate(clients))
    local_ports = [sock.getsockname()[1] for sock in clients]
    time.sleep(0.3)  # the instance's log lines for these connections are written
    on_killed = served_by(killed_log, local_ports)
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)  # let HAProxy see the instance's sockets close
    survivors = cut_off = reconnected = misplaced = 0
    for index, sock in enumerate(clients):
        payload = b"after %d" % index
        expected_cut = local_ports[index] in on_killed
        if echo(sock, payload):
            survivors += 1
            misplaced += expected_cut  # the killed instance's client still echoes?
            continue
        misplaced += not expected_cut  # a client of the live instance was cut off
        cut_off += 1
        sock.close()
        replacement = reconnect_and_echo(port, payload)
        if replacement is not None:
            reconnected += 1
            clients[index] = replacement
    fresh = [reconnect_and_echo(port, b"new %d" % index) for index in range(count)]
    new_served = sum(sock is not None for sock in fresh)
    with open(ports_file, "w") as out:
        for sock in fresh:
            if sock is not None:
                out.write("%d\n" % sock.getsockname()[1])
    for sock in clients + [s for s in fresh if s is not None]:
        sock.close()
    summary = {"connections": count, "echoed_before": before, "on_killed_instance": len(on_killed),
               "survivors": survivors, "cut_off": cut_off, "misplaced": misplaced, "reconnected": reconnected,
               "new_served": new_served}
    print(json.dumps(summary))
    ok = (before == count and cut_off >= 1 and survivors >= 1 and cut_off == len(on_killed) and misplaced == 0
          and reconnected == cut_off and survivors + cut_off == count and new_served == count)
    sys.exit(0 if ok else 1)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "whoami":
        whoami(int(sys.argv[2]))
    elif len(sys.argv) == 7 and sys.argv[1] == "failover":
        failover(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
