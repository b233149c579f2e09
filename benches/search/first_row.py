#!/usr/bin/env python3
"""Runs a command and times its stdout as a reader sees it.

    first_row.py [--out FILE] [--err FILE] -- COMMAND [ARG...]

Starts COMMAND with stdout on a pipe and reads it to the end in 1 MiB
reads, writing what it reads to --out (default: nowhere); the command's
stderr goes to --err (default: this process's stderr). Prints one JSON
object on stdout: first_byte_s (from just before the process is started
to the first byte read from its stdout: the client-side time to first
row), wall_s (to the command's exit, after its stdout closed), bytes,
lines, rc. A command that writes nothing has first_byte_s null.
"""

import argparse
import json
import os
import subprocess
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out")
    parser.add_argument("--err")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command")
    out = open(args.out, "wb") if args.out else None  # noqa: SIM115
    err = open(args.err, "wb") if args.err else None  # noqa: SIM115
    first = None
    size = lines = 0
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
    fd = proc.stdout.fileno()
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        if first is None:
            first = time.perf_counter()
        size += len(chunk)
        lines += chunk.count(b"\n")
        if out is not None:
            out.write(chunk)
    rc = proc.wait()
    t1 = time.perf_counter()
    for f in (out, err):
        if f is not None:
            f.close()
    print(
        json.dumps(
            {
                "first_byte_s": None if first is None else round(first - t0, 6),
                "wall_s": round(t1 - t0, 6),
                "bytes": size,
                "lines": lines,
                "rc": rc,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
