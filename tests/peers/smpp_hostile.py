#!/usr/bin/env python3
"""Hostile and measuring SMPP clients for the server-side tests (e2e 78).

A minimal SMPP 3.4 client written from the specification, independent of
smspool's codec.  Each mode prints one JSON object on stdout.

  smpp_hostile.py flood PORT SECONDS CONNS SYSTEM_ID
      CONNS workers bind_transceiver with wrong passwords (a new one each
      time) for SECONDS: counts of bind_resp statuses, of sessions closed
      without an answer, and of connections refused.
  smpp_hostile.py steady PORT SECONDS SYSTEM_ID PASSWORD
      binds, then submits one message every 100 ms for SECONDS and waits for
      each submit_sm_resp: latencies (p50, p99, max) and statuses.
  smpp_hostile.py unbound PORT LIMIT
      connects and sends nothing: seconds until the server closes (or LIMIT).
  smpp_hostile.py pipeline PORT SYSTEM_ID PASSWORD COUNT
      binds, writes COUNT submit_sm without reading, then reads every
      answer: counts of statuses.
  smpp_hostile.py receipts PORT SYSTEM_ID PASSWORD COUNT SECONDS answer|silent
      binds, submits COUNT messages asking for receipts, reads for at most
      SECONDS; answer: answers every deliver_sm and measures the receipt
      latency; silent: never answers a deliver_sm.
  smpp_hostile.py binds PORT COUNT SYSTEM_ID PASSWORD
      COUNT binds one after the other, each on a new session: seconds each.
  smpp_hostile.py slowloris PORT SOURCE CONNS SECONDS
      CONNS sessions from the local address SOURCE (e.g. 127.0.0.2), each
      sending a bind one byte every 0.5 s: accepted, closed by the server,
      still open at the end.
"""
import json
import os
import socket
import struct
import sys
import threading
import time

BIND_TRX, BIND_TRX_RESP = 0x00000009, 0x80000009
SUBMIT_SM, SUBMIT_SM_RESP = 0x00000004, 0x80000004
ENQUIRE_LINK, ENQUIRE_LINK_RESP = 0x00000015, 0x80000015
UNBIND = 0x00000006
GENERIC_NACK = 0x80000000
STATUS = {0x00: "ESME_ROK", 0x0D: "ESME_RBINDFAIL", 0x0E: "ESME_RINVPASWD", 0x0F: "ESME_RINVSYSID",
          0x58: "ESME_RTHROTTLED", 0x14: "ESME_RMSGQFUL", 0x08: "ESME_RSYSERR"}


def cstr(s):
    return s.encode() + b"\0"


def pdu(cmd, seq, body=b"", status=0):
    return struct.pack(">IIII", 16 + len(body), cmd, status, seq) + body


def bind_body(system_id, password):
    return cstr(system_id) + cstr(password) + cstr("") + bytes([0x34, 0, 0]) + cstr("")


def submit_body(to, text, report=0):
    t = text.encode()
    return (cstr("") + bytes([0, 0]) + cstr("") + bytes([1, 1]) + cstr(to) +
            bytes([0, 0, 0]) + cstr("") + cstr("") + bytes([report, 0, 0, 0, len(t)]) + t)


def read_pdu(sock):
    hdr = b""
    while len(hdr) < 16:
        chunk = sock.recv(16 - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    length, cmd, status, seq = struct.unpack(">IIII", hdr)
    body = b""
    while len(body) < length - 16:
        chunk = sock.recv(length - 16 - len(body))
        if not chunk:
            return None
        body += chunk
    return cmd, status, seq, body


def status_name(s):
    return STATUS.get(s, "0x%08X" % s)


def connect(port, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def bind(sock, system_id, password, seq=1):
    sock.sendall(pdu(BIND_TRX, seq, bind_body(system_id, password)))
    while True:
        p = read_pdu(sock)
        if p is None:
            return None
        if p[0] == BIND_TRX_RESP:
            return p[1]


def flood(port, seconds, conns, system_id):
    end = time.time() + seconds
    lock = threading.Lock()
    counts = {}
    n = [0]

    def bump(k):
        with lock:
            counts[k] = counts.get(k, 0) + 1

    def worker(w):
        i = 0
        while time.time() < end:
            i += 1
            try:
                s = connect(port, timeout=max(1, end - time.time() + 5))
            except OSError:
                bump("connect_failed")
                time.sleep(0.05)
                continue
            try:
                # SMPP passwords have at most 8 characters: a new one each time
                st = bind(s, system_id, os.urandom(4).hex())
                bump("closed" if st is None else status_name(st))
            except OSError:
                bump("reset")
            finally:
                s.close()
            with lock:
                n[0] += 1

    ts = [threading.Thread(target=worker, args=(w,)) for w in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps({"attempts": n[0], "statuses": counts}))


def steady(port, seconds, system_id, password):
    s = connect(port)
    st = bind(s, system_id, password)
    if st != 0:
        print(json.dumps({"bind": status_name(st) if st is not None else "closed"}))
        return
    s.settimeout(30)
    lat, statuses, seq = [], {}, 1
    end = time.time() + seconds
    while time.time() < end:
        seq += 1
        t0 = time.time()
        s.sendall(pdu(SUBMIT_SM, seq, submit_body("+15557%06d" % seq, "steady %d" % seq)))
        while True:
            p = read_pdu(s)
            if p is None:
                statuses["closed"] = statuses.get("closed", 0) + 1
                break
            if p[0] == ENQUIRE_LINK:
                s.sendall(pdu(ENQUIRE_LINK_RESP, p[2]))
                continue
            if p[0] in (SUBMIT_SM_RESP, GENERIC_NACK) and p[2] == seq:
                lat.append(time.time() - t0)
                k = status_name(p[1])
                statuses[k] = statuses.get(k, 0) + 1
                break
        if p is None:
            break
        time.sleep(0.1)
    s.sendall(pdu(UNBIND, seq + 1))
    s.close()
    lat.sort()

    def pct(q):
        return round(lat[min(len(lat) - 1, int(q * len(lat)))], 3) if lat else None
    print(json.dumps({"submits": len(lat), "statuses": statuses, "p50": pct(0.5), "p99": pct(0.99),
                      "max": round(lat[-1], 3) if lat else None}))


def unbound(port, limit):
    s = connect(port)
    s.settimeout(limit)
    t0 = time.time()
    try:
        while s.recv(4096):
            pass
        closed = True
    except socket.timeout:
        closed = False
    except OSError:
        closed = True
    print(json.dumps({"closed": closed, "seconds": round(time.time() - t0, 2)}))


def pipeline(port, system_id, password, count):
    s = connect(port)
    st = bind(s, system_id, password)
    if st != 0:
        print(json.dumps({"bind": status_name(st) if st is not None else "closed"}))
        return
    data = b"".join(pdu(SUBMIT_SM, 100 + i, submit_body("+15558%06d" % i, "pipelined %d" % i))
                    for i in range(count))
    s.sendall(data)  # nothing read meanwhile
    s.settimeout(60)
    statuses, answered = {}, 0
    while answered < count:
        p = read_pdu(s)
        if p is None:
            statuses["closed"] = count - answered
            break
        if p[0] == ENQUIRE_LINK:
            s.sendall(pdu(ENQUIRE_LINK_RESP, p[2]))
            continue
        if p[0] in (SUBMIT_SM_RESP, GENERIC_NACK):
            answered += 1
            k = status_name(p[1])
            statuses[k] = statuses.get(k, 0) + 1
    s.close()
    print(json.dumps({"answered": answered, "statuses": statuses}))


def binds(port, count, system_id, password):
    """count binds one after the other, each on a new session: how long each took."""
    took, statuses = [], {}
    for i in range(count):
        t0 = time.time()
        s = connect(port, timeout=60)
        st = bind(s, system_id, password, seq=i + 1)
        took.append(round(time.time() - t0, 3))
        k = "closed" if st is None else status_name(st)
        statuses[k] = statuses.get(k, 0) + 1
        try:
            s.sendall(pdu(UNBIND, i + 2))
        except OSError:
            pass
        s.close()
    print(json.dumps({"binds": count, "statuses": statuses, "seconds": took}))


def slowloris(port, source, conns, seconds):
    """conns sessions from the local address source, each sending a bind one
    byte every 0.5 s: how many the server accepted, and closed when."""
    data = pdu(BIND_TRX, 1, bind_body("slow", "loris"))
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
        i, closed = 0, False
        while time.time() < end:
            try:
                s.send(data[i:i + 1])
                i = (i + 1) % len(data)
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


DELIVER_SM, DELIVER_SM_RESP = 0x00000005, 0x80000005


def receipts(port, system_id, password, count, seconds, answer):
    """binds, submits count messages asking for receipts, then reads for at
    most seconds: with answer, every deliver_sm is answered and the time from
    a message's submit_sm_resp to its receipt measured; without, no
    deliver_sm is ever answered (enquire_link still is)."""
    s = connect(port)
    st = bind(s, system_id, password)
    if st != 0:
        print(json.dumps({"bind": status_name(st) if st is not None else "closed"}))
        return
    accepted_at, seq, lat, delivers = {}, 1, [], 0
    for i in range(count):
        seq += 1
        s.sendall(pdu(SUBMIT_SM, seq, submit_body("+15559%06d" % i, "%s %d" % (system_id, i), 1)))
    end = time.time() + seconds
    s.settimeout(0.5)
    got_resp = 0
    while time.time() < end and (not answer or len(lat) < count):
        try:
            p = read_pdu(s)
        except socket.timeout:
            continue
        if p is None:
            break
        cmd, status, pseq, body = p
        if cmd == ENQUIRE_LINK:
            s.sendall(pdu(ENQUIRE_LINK_RESP, pseq))
        elif cmd == SUBMIT_SM_RESP:
            got_resp += 1
            accepted_at[body.split(b"\0")[0].decode()] = time.time()
        elif cmd == DELIVER_SM:
            delivers += 1
            if answer:
                s.sendall(pdu(DELIVER_SM_RESP, pseq, b"\0"))
                text = body.decode("latin-1")
                i = text.find("id:")
                rid = text[i + 3:].split(" ")[0] if i >= 0 else ""
                t0 = accepted_at.get(rid)
                lat.append(time.time() - t0 if t0 else 0.0)
    s.close()
    lat.sort()
    print(json.dumps({"accepted": got_resp, "deliver_sm": delivers, "receipts": len(lat),
                      "p99": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 3) if lat else None,
                      "max": round(lat[-1], 3) if lat else None}))


def main(argv):
    mode = argv[1]
    if mode == "flood":
        flood(int(argv[2]), float(argv[3]), int(argv[4]), argv[5])
    elif mode == "steady":
        steady(int(argv[2]), float(argv[3]), argv[4], argv[5])
    elif mode == "unbound":
        unbound(int(argv[2]), float(argv[3]))
    elif mode == "pipeline":
        pipeline(int(argv[2]), argv[3], argv[4], int(argv[5]))
    elif mode == "receipts":
        receipts(int(argv[2]), argv[3], argv[4], int(argv[5]), float(argv[6]), argv[7] == "answer")
    elif mode == "binds":
        binds(int(argv[2]), int(argv[3]), argv[4], argv[5])
    elif mode == "slowloris":
        slowloris(int(argv[2]), argv[3], int(argv[4]), float(argv[5]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv)
