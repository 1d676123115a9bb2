#!/usr/bin/env python3
"""Runs a command and records the CPU time it (and its children) used.

Usage: timed.py CPU_FILE OUTPUT_FILE -- COMMAND [ARG...]
Writes the command's standard output to OUTPUT_FILE and "user system wall"
seconds to CPU_FILE; exits with the command's status."""
import resource
import subprocess
import sys
import time

cpu_file, output_file, separator, command = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
assert separator == "--" and command, __doc__
before = resource.getrusage(resource.RUSAGE_CHILDREN)
start = time.monotonic()
with open(output_file, "wb") as out:
    status = subprocess.call(command, stdout=out)
wall = time.monotonic() - start
after = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(cpu_file, "w") as f:
    f.write("%.4f %.4f %.4f\n" % (after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime, wall))
sys.exit(status)
