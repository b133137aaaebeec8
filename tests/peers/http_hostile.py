#!/usr/bin/env python3
"""Hostile HTTP clients for the send API (issue 9), on raw sockets so that
every byte and its timing is under the test's control.  Each mode prints one
JSON object.

  early PORT USER PASS LENGTH
      POST headers announcing a body of LENGTH bytes, and no body: a server
      that authenticates before reading the body answers at once.
  continue PORT USER PASS
      POST with "Expect: 100-continue": the body is sent only after the
      server's 100 Continue; reports the status line of each answer.
  slowloris PORT SOURCE CONNS SECONDS
      CONNS connections from the local address SOURCE (e.g. 127.0.0.2), each
      sending its request line and headers one byte every 0.5 s and never
      finishing: reports how many the server accepted and closed, and after
      how long the last one was closed.
  steady PORT USER PASS SECONDS
      one legitimate POST every 0.1 s (a new connection each): latencies.
  flood PORT SOURCE SECONDS WORKERS USER
      WORKERS clients from SOURCE POST with wrong passwords (a new one each
      time) for SECONDS: counts of answers by status.
"""
import base64
import json
import os
import socket
import sys
import threading
import time


def auth_header(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def read_answer(sock, deadline):
    """Reads one HTTP answer (headers and a Content-Length body); returns
    (status line, body) or (None, reason)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        sock.settimeout(max(0.05, deadline - time.time()))
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            return None, "timeout"
        except OSError as e:
            return None, "error %s" % e
        if not chunk:
            return None, "closed"
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for l in lines[1:]:
        k, _, v = l.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    while len(rest) < length and time.time() < deadline:
        sock.settimeout(max(0.05, deadline - time.time()))
        try:
            chunk = sock.recv(4096)
        except OSError:
            break
        if not chunk:
            break
        rest += chunk
    return lines[0], rest[:length].decode("utf-8", "replace")


def early(port, user, password, length):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    t0 = time.time()
    s.sendall(("POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
               % (auth_header(user, password), length)).encode())
    line, body = read_answer(s, t0 + 8)
    s.close()
    print(json.dumps({"status": line.split(" ")[1] if line else None, "detail": body,
                      "seconds": round(time.time() - t0, 3)}))


def cont(port, user, password):
    body = json.dumps({"to": "+15550001111", "text": "after 100-continue"}).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n"
               % (auth_header(user, password), len(body))).encode())
    deadline = time.time() + 8
    first, _ = read_answer(s, deadline)
    out = {"first": first}
    if first and " 100 " in first + " ":
        s.sendall(body)
        final, text = read_answer(s, deadline)
        out["final"] = final
        out["body"] = text
    s.close()
    print(json.dumps(out))


def slowloris(port, source, conns, seconds):
    request = b"POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 4000
    lock = threading.Lock()
    st = {"connected": 0, "connect_failed": 0, "closed_by_server": 0, "open_at_end": 0, "last_close_s": 0.0}
    t0 = time.time()
    end = t0 + seconds

    def worker():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
        except OSError:
            with lock:
                st["connect_failed"] += 1
            return
        with lock:
            st["connected"] += 1
        i = 0
        closed = False
        while time.time() < end:
            try:
                s.send(request[i:i + 1])
                i = (i + 1) % len(request)
                s.settimeout(0.5)
                if s.recv(1) == b"":
                    closed = True
                    break
            except socket.timeout:
                continue
            except OSError:
                closed = True
                break
        with lock:
            if closed:
                st["closed_by_server"] += 1
                st["last_close_s"] = max(st["last_close_s"], round(time.time() - t0, 3))
            else:
                st["open_at_end"] += 1
        s.close()

    ts = [threading.Thread(target=worker) for _ in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps(st))


def steady(port, user, password, seconds):
    body = json.dumps({"to": "+15550002222", "text": "steady"}).encode()
    lat, statuses = [], {}
    end = time.time() + seconds
    while time.time() < end:
        t0 = time.time()
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(("POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
                       "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                       % (auth_header(user, password), len(body))).encode() + body)
            line, _ = read_answer(s, t0 + 10)
            s.close()
            k = line.split(" ")[1] if line else "none"
        except OSError:
            k = "connect_failed"
        statuses[k] = statuses.get(k, 0) + 1
        lat.append(time.time() - t0)
        time.sleep(0.1)
    lat.sort()

    def pct(q):
        return round(lat[min(len(lat) - 1, int(q * len(lat)))], 3) if lat else None
    print(json.dumps({"requests": len(lat), "statuses": statuses, "p50": pct(0.5), "p99": pct(0.99),
                      "max": round(lat[-1], 3) if lat else None}))


def flood(port, source, seconds, workers, user):
    lock = threading.Lock()
    counts, n = {}, [0]
    end = time.time() + seconds
    body = b'{"to": "+15550003333", "text": "flood"}'

    def worker():
        while time.time() < end:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
                s.sendall(("POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
                           "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                           % (auth_header(user, os.urandom(6).hex()), len(body))).encode() + body)
                line, _ = read_answer(s, time.time() + 10)
                s.close()
                k = line.split(" ")[1] if line else "none"
            except OSError:
                k = "connect_failed"
                time.sleep(0.05)
            with lock:
                counts[k] = counts.get(k, 0) + 1
                n[0] += 1

    ts = [threading.Thread(target=worker) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps({"attempts": n[0], "statuses": counts}))


def main(argv):
    mode = argv[1]
    if mode == "early":
        early(int(argv[2]), argv[3], argv[4], int(argv[5]))
    elif mode == "continue":
        cont(int(argv[2]), argv[3], argv[4])
    elif mode == "slowloris":
        slowloris(int(argv[2]), argv[3], int(argv[4]), float(argv[5]))
    elif mode == "steady":
        steady(int(argv[2]), argv[3], argv[4], float(argv[5]))
    elif mode == "flood":
        flood(int(argv[2]), argv[3], float(argv[4]), int(argv[5]), argv[6])
    else:
        sys.exit("unknown mode %s" % mode)


if __name__ == "__main__":
    main(sys.argv)
