#!/usr/bin/env python3
"""A TCP proxy that cuts its connections on demand, for the link's fault
tests: listens on 127.0.0.1 (port 0: a free one, written to PORT_FILE),
forwards each connection to 127.0.0.1:TARGET_PORT, and on SIGUSR1 resets
every open connection at once (SO_LINGER 0: the peers see a reset in the
middle of whatever they were sending).  The number of cuts so far goes to
PORT_FILE.cuts after each.

    cut_proxy.py PORT_FILE TARGET_PORT
"""
import os
import selectors
import signal
import socket
import struct
import sys

port_file, target = sys.argv[1], int(sys.argv[2])
sel = selectors.DefaultSelector()
lst = socket.socket()
lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind(("127.0.0.1", 0))
lst.listen(64)
lst.setblocking(False)
sel.register(lst, selectors.EVENT_READ, None)
pairs = {}  # socket -> its other end
cut_wanted = False
cuts = 0


def on_usr1(signum, frame):
    global cut_wanted
    cut_wanted = True


signal.signal(signal.SIGUSR1, on_usr1)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
tmp = port_file + ".tmp"
with open(tmp, "w") as f:
    f.write(str(lst.getsockname()[1]))
os.rename(tmp, port_file)


def close(s):
    other = pairs.pop(s, None)
    for x in (s, other):
        if x is None:
            continue
        pairs.pop(x, None)
        try:
            sel.unregister(x)
        except (KeyError, ValueError):
            pass
        x.close()


def reset(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass


while True:
    if cut_wanted:
        cut_wanted = False
        for s in list(pairs):
            reset(s)
            close(s)
        cuts += 1
        with open(port_file + ".cuts", "w") as f:
            f.write(str(cuts))
    try:
        events = sel.select(timeout=0.1)
    except InterruptedError:
        continue
    for key, _ in events:
        s = key.fileobj
        if s is lst:
            try:
                c, _ = lst.accept()
            except OSError:
                continue
            try:
                u = socket.create_connection(("127.0.0.1", target), timeout=5)
            except OSError:
                c.close()
                continue
            c.setblocking(True)
            u.setblocking(True)
            pairs[c] = u
            pairs[u] = c
            sel.register(c, selectors.EVENT_READ, None)
            sel.register(u, selectors.EVENT_READ, None)
            continue
        if s not in pairs:
            continue
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            close(s)
            continue
        try:
            pairs[s].sendall(data)
        except OSError:
            close(s)
