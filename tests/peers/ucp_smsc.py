#!/usr/bin/env python3
"""A scripted, misbehaving EMI/UCP SMSC for tests/e2e/84_ucp_fault.sh.

Usage: ucp_smsc.py PORTFILE LOGFILE
Listens on 127.0.0.1 (a free port, written to PORTFILE), serves one client
at a time, and logs one JSON object per line to LOGFILE.  What it does with
an op 51 depends on the last three digits of its AdC:
  201  NACK 24 (message too long) every time
  202  NACK 04 (operation not allowed) the first time, then ACK
  203  no answer the first time (a stall), then ACK
  204  closes the connection the first time (a drop), then ACK
  205  sends the op 53 notification BEFORE the ACK
  207  NACK 04 to part 2 of a multipart message (UDH in XSer 01) the first
       time, then ACK (the other parts: ACK)
  208  ACK, then an op 53 with Dst 2 (not delivered), Rsn 108
  209  ACK, then an op 53 with Dst 1 (buffered), Rsn 103, then one with
       Dst 0 (delivered)
  any other: ACK, then the op 53 notification (Dst 0)
After each login it also sends noise, an op 31 with a wrong checksum (the
client must answer NACK 01) and a good op 31 (ACK).  Every frame it sends
is followed by CR LF, as some SMSCs do.  An op 31 from the client (a
keepalive) is logged as ev "keepalive" and answered ACK.  Events of
logins, keepalives and submits carry "t", time.monotonic() on arrival
(CLOCK_MONOTONIC: comparable across processes of this machine).
"""
import json
import os
import socket
import sys
import time

STX, ETX = b"\x02", b"\x03"


def frame(trn, o_r, ot, fields):
    body = "%02d/%05d/%s/%02d/%s/" % (trn, 0, o_r, ot, "/".join(fields))
    length = len(body) + 2
    body = "%02d/%05d/%s/%02d/%s/" % (trn, length, o_r, ot, "/".join(fields))
    ck = sum(body.encode()) & 0xFF
    return STX + body.encode() + ("%02X" % ck).encode() + ETX + b"\r\n"  # as some SMSCs end frames


def bad_checksum(trn, o_r, ot, fields):
    f = bytearray(frame(trn, o_r, ot, fields))
    f[-4] = ord("0") if f[-4] != ord("0") else ord("1")  # the checksum's last digit, before ETX CR LF
    return bytes(f)


def udh_concat(xser):
    """(reference, part) of the concatenation IE in XSer type 01, or (-1, 0)."""
    i = 0
    while i + 4 <= len(xser):
        t, n = xser[i:i + 2], int(xser[i + 2:i + 4], 16)
        d = bytes.fromhex(xser[i + 4:i + 4 + 2 * n])
        i += 4 + 2 * n
        if t != "01" or not d:
            continue
        j = 1
        while j + 1 < len(d):
            iei, ln = d[j], d[j + 1]
            ie = d[j + 2:j + 2 + ln]
            if iei == 0 and ln == 3:
                return ie[0], ie[2]
            if iei == 8 and ln == 4:
                return ie[0] << 8 | ie[1], ie[3]
            j += 2 + ln
    return -1, 0


def main():
    portfile, logfile = sys.argv[1], sys.argv[2]
    log = open(logfile, "a", buffering=1)

    def ev(**kw):
        log.write(json.dumps(kw) + "\n")

    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    seen = {}
    scts_n = [0]
    trn_out = [0]

    def next_trn():
        trn_out[0] = (trn_out[0] + 1) % 100
        return trn_out[0]

    def scts():
        scts_n[0] += 1
        return time.strftime("%d%m%y%H%M%S", time.gmtime(1700000000 + scts_n[0]))

    while True:
        conn, _ = srv.accept()
        ev(ev="accept")
        buf = b""
        alive = True
        while alive:
            data = conn.recv(65536)
            if not data:
                ev(ev="closed_by_client")
                break
            buf += data
            while alive:
                s = buf.find(STX)
                if s < 0:
                    buf = b""
                    break
                e = buf.find(ETX, s)
                if e < 0:
                    buf = buf[s:]
                    break
                text = buf[s + 1:e].decode("latin-1")
                buf = buf[e + 1:]
                parts = text.split("/")
                trn, o_r, ot = int(parts[0]), parts[2], int(parts[3])
                fields = parts[4:-1]
                if o_r == "R":
                    ev(ev="result", ot=ot, trn=trn, ack=fields[0] == "A", ec=fields[1] if fields[0] == "N" else "")
                    continue
                if ot == 60:
                    ev(ev="login", oadc=fields[0], t=time.monotonic())
                    conn.sendall(frame(trn, "R", 60, ["A", ""]))
                    conn.sendall(b"noise\r\n" + bad_checksum(next_trn(), "O", 31, ["1234", "0539"]))
                    conn.sendall(frame(next_trn(), "O", 31, ["1234", "0539"]))
                    continue
                if ot == 31:
                    ev(ev="keepalive", adc=fields[0], trn=trn, t=time.monotonic())
                    conn.sendall(frame(trn, "R", 31, ["A", ""]))
                    continue
                if ot != 51:
                    conn.sendall(frame(trn, "R", ot, ["N", "03", ""]))
                    continue
                adc, oadc = fields[0], fields[1]
                ref, part = udh_concat(fields[30] if len(fields) > 30 else "")
                n = seen.get(adc, 0) + 1
                seen[adc] = n
                np = seen.get((adc, part), 0) + 1
                seen[(adc, part)] = np
                ev(ev="submit", adc=adc, n=n, nrq=fields[3], nt=fields[5], npid=fields[6], ref=ref, part=part,
                   t=time.monotonic())
                tail = adc[-3:]
                if tail == "207" and part == 2 and np == 1:
                    conn.sendall(frame(trn, "R", 51, ["N", "04", ""]))
                    continue
                if tail == "201":
                    conn.sendall(frame(trn, "R", 51, ["N", "24", ""]))
                    continue
                if tail == "202" and n == 1:
                    conn.sendall(frame(trn, "R", 51, ["N", "04", ""]))
                    continue
                if tail == "203" and n == 1:
                    ev(ev="stall", adc=adc)
                    continue
                if tail == "204" and n == 1:
                    ev(ev="drop", adc=adc)
                    conn.close()
                    alive = False
                    break
                ts = scts()
                ack = frame(trn, "R", 51, ["A", "", adc + ":" + ts])

                def note(dst, rsn):
                    f53 = ["" for _ in range(33)]
                    f53[0], f53[1], f53[14], f53[15], f53[16], f53[17] = oadc, adc, ts, dst, rsn, ts
                    f53[18], f53[20] = "3", ("state " + dst).encode().hex().upper()
                    return frame(next_trn(), "O", 53, f53)

                if tail == "205":
                    conn.sendall(note("0", "000") + ack)
                elif tail == "208":
                    conn.sendall(ack + note("2", "108"))
                elif tail == "209":
                    conn.sendall(ack + note("1", "103") + note("0", "000"))
                else:
                    conn.sendall(ack + note("0", "000"))
        try:
            conn.close()
        except OSError:
            pass


if __name__ == "__main__":
    main()
