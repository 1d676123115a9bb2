"""What the keel-kv benchmark scripts share: a free port, a connection that
waits for the server to listen, a RESP request, a server started pinned to
a core, a process's CPU time and resident memory."""
import os
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect(port):
    """A connection to 127.0.0.1:port, retried for 10 s while the server starts."""
    for _ in range(200):
        try:
            return socket.create_connection(("127.0.0.1", port))
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on %d" % port)


def encode(*arguments):
    """A RESP multibulk request of byte-string arguments."""
    out = [b"*%d\r\n" % len(arguments)]
    for argument in arguments:
        out.append(b"$%d\r\n%s\r\n" % (len(argument), argument))
    return b"".join(out)


def cpu_seconds(pid):
    """User and system CPU time of process `pid` so far, in seconds."""
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    """Resident memory of process `pid`, in MiB."""
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def start_server(kind, keel_kv, port, core, keel_flags=()):
    """keel-kv (`kind` "keel-kv", with `keel_flags`) or redis-server (no
    persistence) on 127.0.0.1:`port`, pinned to `core`; its process, not
    yet necessarily listening (connect() waits for that)."""
    if kind == "keel-kv":
        argv = [keel_kv, "--port", str(port), "--log-level", "warning", *keel_flags]
    else:
        argv = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    return subprocess.Popen(["taskset", "-c", str(core)] + argv, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
