"""What the client scripts share: a check that prints ok or FAIL and
remembers failures, and a free port on 127.0.0.1."""
import socket

failures = []


def check(description, condition):
    print(("ok   " if condition else "FAIL ") + description)
    if not condition:
        failures.append(description)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
