"""Runs a program in a pseudo-terminal, as a user at a terminal would.

usage: pty_drive.py HEXKEYS FIRST_WAIT LAST_WAIT PROGRAM [ARGS...]

Waits FIRST_WAIT seconds for the program to draw, types the bytes of HEXKEYS one at a time
(0.15 s apart), waits LAST_WAIT seconds more, then prints everything the terminal showed and
exits with the program's exit code (a signal N gives 256 - N, e.g. 254 for SIGINT).
"""

import os
import pty
import select
import sys
import time

keys = bytes.fromhex(sys.argv[1])
first_wait, last_wait = float(sys.argv[2]), float(sys.argv[3])
argv = sys.argv[4:]

pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)

out = b""


def pump(seconds):
    global out
    end = time.time() + seconds
    while time.time() < end:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:  # EIO: the program has exited and closed the terminal
                return
            if not data:
                return
            out += data


pump(first_wait)
for b in keys:
    os.write(fd, bytes([b]))
    pump(0.15)
pump(last_wait)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status) & 255)
