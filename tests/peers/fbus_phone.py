#!/usr/bin/env python3
"""A Nokia DCT3 phone (6110/3310 class), or DCT4 (6310 class), speaking FBUS v2 on a pseudo-terminal.

Written from gnokii's and Gammu's documentation of the protocol (no code of
theirs), standard library only, and independent of the C codec it tests:
Gammu (`connection = fbus`) must be able to identify, send and read through
it before smspool's fbus driver is tested against it.

    fbus_phone.py --link PATH --control DIR --log FILE [--model NSE-3]

PATH becomes a symlink to the pty's slave end.  Every event is one JSON
line in FILE.  Files dropped into DIR steer it (checked every 50 ms):
  inbound-*.json   {"from": "+15551234567", "text": "hi"}: an SMS arrives;
                   it is stored in the SIM and announced (type 02, 10)
  mute             while it exists, the phone hears nothing and says nothing
  drop-acks        while it exists, frames are answered but never acknowledged
  garbage          noise is written to the line once (then the file is removed)
  no-report        while it exists, sent messages get no status report
  no-notify        while it exists, arriving SMS are stored but not announced
  ignore-deletes   while it exists, DCT4 deletes (14/04) are acknowledged, neither done nor answered
Messages sent with TP-SRR get a status report (stored, and announced) after
--report-delay seconds.

With --dct4 (and a DCT4 model code, e.g. --model NPE-4: a 6310) it answers
as a DCT4 phone (Gammu's "6510" module; tests/e2e/86_fbus_gammu_dct4.sh):
the model query (D1) as before, IMEI and phone strings through type 1B, the
service queries of `gammu identify` (42, 53), the SMS centre (02/14 -> 02/15,
number blocks) and sending (02/02 with the DCT4 block frame -> 02/03 with
the TP-MR).  Stored SMS (DCT4 folders, type 14) are not emulated.
"""
import argparse
import glob
import json
import os
import select
import signal
import sys
import time
import tty

PHONE, PC, ACK = 0x00, 0x0C, 0x7F
HDR = bytes([0x00, 0x01, 0x00])

GSM7 = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")


def gsm7_encode(text):
    out = []
    for ch in text:
        i = GSM7.find(ch)
        out.append(i if i >= 0 else GSM7.index('?'))
    return out


def gsm7_decode(septets):
    return ''.join(GSM7[s] if s < len(GSM7) and s != 0x1B else '' for s in septets)


def pack7(septets):
    out, acc, bits = bytearray(), 0, 0
    for s in septets:
        acc |= (s & 0x7F) << bits
        bits += 7
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack7(data, n, skip_bits=0):
    acc = int.from_bytes(data, 'little')
    return [(acc >> (skip_bits + 7 * i)) & 0x7F for i in range(n)]


def bcd(digits):
    if len(digits) % 2:
        digits += 'F'
    return bytes(int(digits[i + 1], 16) << 4 | int(digits[i], 16) for i in range(0, len(digits), 2))


def unbcd(data, ndigits):
    s = ''.join('%X%X' % (b & 15, b >> 4) for b in data)
    return s[:ndigits]


def number_slot(num):
    """12-octet DCT3 number slot: digit count, TOA, BCD digits, zero fill."""
    toa = 0x91 if num.startswith('+') else 0x81
    digits = num.lstrip('+')
    b = bytes([len(digits), toa]) + bcd(digits)
    return b.ljust(12, b'\0')


def smsc_slot(num):
    """12-octet SMSC slot: octet count (TOA included), TOA, BCD digits."""
    digits = num.lstrip('+')
    b = bcd(digits)
    return (bytes([len(b) + 1, 0x91]) + b).ljust(12, b'\0')


def read_number(slot):
    n, toa = slot[0], slot[1]
    digits = unbcd(slot[2:2 + (n + 1) // 2], n)
    return ('+' if toa == 0x91 else '') + digits


def scts(t=None):
    t = time.gmtime(t)
    vals = [t.tm_year % 100, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, 0]
    return bytes(((v % 10) << 4) | (v // 10) for v in vals)


def checksum(frame):
    c1 = c2 = 0
    for i, b in enumerate(frame):
        if i % 2:
            c2 ^= b
        else:
            c1 ^= b
    return bytes([c1, c2])


class Phone:
    def __init__(self, args):
        self.args = args
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.slave = slave  # held open so that the master never reads EIO
        name = os.ttyname(slave)
        try:
            os.unlink(args.link)
        except FileNotFoundError:
            pass
        os.symlink(name, args.link)
        self.log = open(args.log, 'a', buffering=1)
        self.rx = bytearray()
        self.seq = 0
        self.mr = 0
        self.parts = {}  # type -> bytearray of the message being received
        self.last_rx = None
        self.sim = {}  # location -> (state, type, layout)
        self.sim_size = args.sim_size
        self.pending_reports = []  # (due, recipient, mr)
        self.store4 = {}  # DCT4: (memory, folder) -> {location: (state, frame)}
        self.event('ready', tty=name, model=args.model)

    def event(self, what, **kw):
        kw['event'] = what
        kw['t'] = round(time.time(), 3)
        self.log.write(json.dumps(kw) + '\n')

    def control(self, name):
        return os.path.exists(os.path.join(self.args.control, name))

    # ---- frames ----
    def write_frame(self, mtype, data):
        frame = bytearray([0x1E, PC, PHONE, mtype, len(data) >> 8, len(data) & 0xFF]) + data
        if len(data) % 2:
            frame.append(0)
        frame += checksum(frame)
        os.write(self.master, bytes(frame))

    def send_message(self, mtype, payload):
        blocks = [payload[i:i + 120] for i in range(0, len(payload), 120)] or [b'']
        for i, block in enumerate(blocks):
            seq = self.seq | (0x40 if i == 0 else 0)
            self.seq = (self.seq + 1) & 7
            self.write_frame(mtype, bytes(block) + bytes([len(blocks) - i, seq]))

    def feed(self, data):
        self.rx += data
        while True:
            while self.rx and self.rx[0] not in (0x1E, 0x1C):
                del self.rx[0]
            if len(self.rx) < 6:
                return
            n = self.rx[4] << 8 | self.rx[5]
            size = 6 + n + n % 2 + 2
            if self.rx[1] != PHONE or n < 2 or n > 512:
                del self.rx[0]
                continue
            if len(self.rx) < size:
                return
            frame = bytes(self.rx[:size])
            if checksum(frame[:-2]) != frame[-2:]:
                self.event('bad_checksum', hex=frame.hex())
                del self.rx[0]
                continue
            del self.rx[:size]
            self.on_frame(frame[3], frame[6:6 + n])

    def on_frame(self, mtype, data):
        if mtype == ACK:
            return
        ftg, seq = data[-2], data[-1]
        if not self.control('drop-acks'):
            self.write_frame(ACK, bytes([mtype, seq & 0x0F]))
        if (mtype, seq) == self.last_rx:  # a resend of the frame just taken
            self.event('duplicate', type='%02X' % mtype, seq=seq)
            return
        self.last_rx = (mtype, seq)
        if seq & 0x40:
            self.parts[mtype] = bytearray()
        buf = self.parts.get(mtype)
        if buf is None:
            self.event('orphan_frame', type=mtype)
            return
        buf += data[:-2]
        if ftg <= 1:
            del self.parts[mtype]
            self.on_message(mtype, bytes(buf))

    # ---- messages ----
    def on_message(self, mtype, p):
        self.event('request', type='%02X' % mtype, hex=p.hex())
        if self.args.dct4 and mtype != 0xD1:
            self.on_dct4(mtype, p)
        elif mtype == 0xD1 and len(p) >= 4 and p[3] == 0x03:
            text = 'V %s\n%s\n%s\n(c) NMP.' % (self.args.version, self.args.date, self.args.model)
            self.send_message(0xD2, HDR + b'\x03' + text.encode() + b'\n')
        elif mtype == 0x40 and len(p) >= 3:
            if self.args.no_service:  # service commands refused: acked, never answered
                self.event('ignored', type='40')
            else:
                self.on_security(p)
        elif mtype == 0x02 and len(p) >= 4:
            self.on_sms(p)
        elif mtype == 0x14 and len(p) >= 4:
            self.on_sms_memory(p)
        elif mtype == 0x04:
            # status: registered, signal 3/4, battery powered, 3/4
            self.send_message(0x04, HDR + bytes([0x02, 0x01, 0x03, 0x00, 0x02, 0x03]))
        elif mtype == 0x0A and len(p) >= 4 and p[3] == 0x70:
            self.send_message(0x0A, HDR + bytes([0x71, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01,
                                                 0x62, 0xF2, 0x10]))
        elif mtype == 0x05:
            self.send_message(0x05, HDR + b'\x15')  # no such profile feature
        else:
            self.event('unknown_request', type='%02X' % mtype)

    # ---- DCT4 (6310/6510 class, Gammu's "6510" module) ----
    def on_dct4(self, mtype, p):
        if mtype == 0x02 and len(p) >= 10 and p[3] == 0x02:
            self.on_dct4_send(p)
        elif mtype == 0x14 and self.args.no_sms_memory:  # acknowledged, never answered
            self.event('ignored', type='14')
        elif mtype == 0x14 and len(p) >= 4:
            self.on_dct4_memory(p)
        elif mtype == 0x02 and len(p) >= 5 and p[3] == 0x14:  # SMS centre p[4]: one block 82 .. 02 (number at +4)
            block = bytes([0x82, 0x1A, 0x02, 0x00]) + smsc_slot(self.args.smsc)
            block = block.ljust(0x1A, b'\0')
            self.send_message(0x02, HDR + bytes([0x15, 0x00, 0x00, 0x00, 0x00, p[4], 0x00, 0x00, 0x00, 0xA7, 0x01]) + block)
        elif mtype == 0x1B and len(p) >= 5 and p[3] == 0x00 and p[4] == 0x41:  # IMEI
            self.send_message(0x1B, HDR + bytes([0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]) + self.args.imei.encode() + b'\0')
        elif mtype == 0x1B and len(p) >= 6 and p[1] == 0x03:  # phone strings (at 10): 07 hardware, 0B product code
            value = {0x07: '0900', 0x0B: '0512345'}.get(p[3], '')
            self.send_message(0x1B, bytes([0x00, 0x03, p[2], p[3] + 1]) + bytes(6) + value.encode() + b'\0')
        elif mtype == 0x1B and len(p) >= 5 and p[3] == 0x07:  # PPM: blocks from 6, 58 .. .. "A"
            self.send_message(0x1B, HDR + bytes([0x08, 0x00, 0x00, 0x58, 0x01, 0x01]) + b'A\0\0')
        elif mtype == 0x53 and len(p) >= 4:  # simlock info (gammu identify): 0D config FF (none), 13 no SIM path
            op = 0x13 if len(p) > 4 and p[4] == 0x0E else 0x0D
            self.send_message(0x53, HDR + bytes([op]) + bytes(10) + b'\xff' * 8 + bytes(40))
        elif mtype == 0x42 and len(p) >= 6:  # 07: original IMEI (at 14), 05: manufacture month; octet 7 says which
            kind, value = (0x01, self.args.imei) if p[1] == 0x07 else (0x02, '02/2002')
            self.send_message(0x42, bytes(p[:6]) + bytes([0x00, kind]) + bytes(6) + value.encode() + b'\0')
        else:
            self.event('unknown_request', type='%02X' % mtype, op='%02X' % (p[3] if len(p) > 3 else 0))

    FOLDERS4 = [(0x02, 'Inbox'), (0x03, 'Outbox'), (0x04, 'Archive'), (0x05, 'Templates')]

    def folder4(self, mem, folder):
        if mem not in (0x01, 0x02) or folder not in (0x02, 0x03, 0x04, 0x05) or (mem == 0x01 and folder > 0x03):
            return None
        return self.store4.setdefault((mem, folder), {})

    def on_dct4_memory(self, p):
        op = p[3]
        if op == 0x12:  # folder list
            body = bytearray(HDR + bytes([0x13, 0x00, len(self.FOLDERS4)]))
            for fid, name in self.FOLDERS4:
                body += bytes([0x01, 0x26, fid, len(name)]) + name.encode('utf-16-be') + b'\0\0'
            self.send_message(0x14, bytes(body))
        elif op == 0x08:  # SMS status: phone memory at 10, SIM at 22 (size, used, unread: 2 octets each)
            def counts(mem, size):
                msgs = [m for (mm, _), f in self.store4.items() if mm == mem for m in f.values()]
                unread = sum(1 for st, _ in msgs if st == 0x03)
                return bytes([size >> 8, size & 0xFF, len(msgs) >> 8, len(msgs) & 0xFF, unread >> 8, unread & 0xFF])
            body = HDR + bytes([0x09, 0x00]) + bytes(5) + counts(0x02, 100) + bytes(6) + counts(0x01, self.sim_size)
            self.send_message(0x14, body + bytes(4))
        elif op in (0x0C, 0x02, 0x0E, 0x04) and len(p) >= 6:
            f = self.folder4(p[4], p[5])
            loc = p[6] << 8 | p[7] if len(p) >= 8 else 0
            if op == 0x0C:
                locs = sorted(f) if f is not None else []
                body = HDR + bytes([0x0D, 0x00, 0x00, len(locs) >> 8, len(locs) & 0xFF])
                self.send_message(0x14, body + b''.join(bytes([l >> 8, l & 0xFF]) for l in locs))
            elif f is None or loc not in f:
                self.send_message(0x14, HDR + bytes([0x06 if op == 0x04 else 0x03, 0x02]))
                self.event('empty', op='%02X' % op, mem=p[4], folder=p[5], loc=loc)
            elif op == 0x0E:
                self.send_message(0x14, HDR + bytes([0x0F, 0x00]) + bytes(46) + bytes(8))
            elif op == 0x02:
                state, frame = f[loc]
                self.send_message(0x14, HDR + bytes([0x03, 0x00, state, p[4], p[5], loc >> 8, loc & 0xFF]) +
                                  bytes(4) + frame)
                if state == 0x03:
                    f[loc] = (0x01, frame)
                self.event('read', mem=p[4], folder=p[5], loc=loc)
            elif self.control('ignore-deletes'):  # acknowledged, never done nor answered
                self.event('delete_ignored', mem=p[4], folder=p[5], loc=loc)
            else:
                del f[loc]
                self.send_message(0x14, HDR + bytes([0x05]))
                self.event('deleted', mem=p[4], folder=p[5], loc=loc)
        else:
            self.event('unknown_request', type='14', op='%02X' % op)

    def arrive4(self, frame, what, memory, **kw):
        """Stores a DCT4 frame in the SIM inbox (or the phone's), announces it with 02/04."""
        target = None
        order = [(0x01, self.sim_size), (0x02, 100)] if memory != 'me' else [(0x02, 100)]
        for mem, size in order:
            f = self.folder4(mem, 0x02)
            used = sum(len(x) for (mm, _), x in self.store4.items() if mm == mem)
            if used < size:
                loc = next(l for l in range(1, size + 2) if l not in f)
                f[loc] = (0x03, frame)
                target = (mem, loc)
                break
        self.event(what, mem=target and target[0], loc=target and target[1], **kw)
        if target and not self.control('mute') and not self.control('no-notify'):
            self.send_message(0x02, HDR + bytes([0x04]) + bytes(6) + frame)

    def on_security(self, p):
        op = p[2]
        if op == 0x64:
            self.send_message(0x40, bytes([0x00, 0x01, 0x64, p[3] if len(p) > 3 else 1]))
        elif op == 0x66:
            self.send_message(0x40, bytes([0x00, 0x01, 0x66, 0x00]) + self.args.imei.encode() + b'\0')
        elif op in (0xC8, 0xCA, 0xCC):
            value = {0xC8: 'NSE-3 0501', 0xCA: '0501234', 0xCC: '0000'}[op]
            # the string starts at offset 5 (Gammu NOKIA_ReplyGetPhoneString)
            self.send_message(0x40, bytes([0x00, 0x01, op, p[3] if len(p) > 3 else 0, 0x00]) + value.encode() + b'\0')
        elif op == 0x8A:  # simlock info: no lock, zero counters
            self.send_message(0x40, bytes([0x00, 0x01, 0x8A, 0x00]) + bytes(21))
        else:
            # service queries Gammu's identify adds (MSID B4, DSP ROM ...):
            # the request's header echoed, then zeros
            self.event('unknown_request', type='40', op='%02X' % op)
            reply = bytearray(p) + b'0' + bytes(20)
            if op == 0xB4:  # MSID is asked with B4 and answered with B5
                reply[2] = 0xB5
            self.send_message(0x40, bytes(reply))

    def on_sms(self, p):
        op = p[3]
        if op == 0x01:  # send: 00 01 00 01 02 00 + submit layout
            self.on_send(p[6:])
        elif op == 0x07:  # read location p[5]
            loc = p[5] if len(p) > 5 else 0
            if loc == 0 or loc > self.sim_size:
                self.send_message(0x14, HDR + bytes([0x09, 0x02]))
            elif loc not in self.sim:
                self.send_message(0x14, HDR + bytes([0x09, 0x07]))
            else:
                state, kind, layout = self.sim[loc]
                self.send_message(0x14, HDR + bytes([0x08, state, 0x02, loc, kind]) + layout)
                if state == 0x03:
                    self.sim[loc] = (0x01, kind, layout)
                self.event('read', loc=loc)
        elif op == 0x33:  # SMSC
            body = bytearray(HDR + bytes([0x34, 0x01, 0x00, 0x00, 0x00, 0xA7]))  # loc, format@6, VP@8
            body += number_slot('')  # default recipient, empty: 9..20
            body += smsc_slot(self.args.smsc)  # 21..32
            body += b'SMSC\0'
            self.send_message(0x02, bytes(body))
        else:
            self.event('unknown_request', type='02', op='%02X' % op)

    def on_sms_memory(self, p):
        op = p[3]
        if op == 0x36:  # status
            used = len(self.sim)
            unread = sum(1 for s, _, _ in self.sim.values() if s == 0x03)
            self.send_message(0x14, HDR + bytes([0x37, 0x00, 0x00, 0x00, self.sim_size, 0x00, 0x00, used, unread]))
        elif op == 0x0A:  # delete location p[5]
            loc = p[5] if len(p) > 5 else 0
            if loc in self.sim:
                del self.sim[loc]
                self.send_message(0x14, HDR + b'\x0b')
                self.event('deleted', loc=loc)
            else:
                self.send_message(0x14, HDR + bytes([0x0C, 0x02]))
        else:
            self.event('unknown_request', type='14', op='%02X' % op)

    def on_send(self, lay):
        if len(lay) < 36:
            self.send_message(0x02, HDR + bytes([0x03, 0x00, 0x00, 0x6F]))
            return
        first, pid, dcs, udl = lay[12], lay[14], lay[15], lay[16]
        mr, srr = self.submitted(first, pid, dcs, udl, read_number(lay[17:29]), lay[36:])
        to = read_number(lay[17:29])
        self.send_message(0x02, HDR + bytes([0x02, 0x00, mr]))
        if srr and not self.control('no-report'):
            self.pending_reports.append((time.time() + self.args.report_delay, to, mr))

    def submitted(self, first, pid, dcs, udl, to, ud):
        """Logs a submitted SMS (its text decoded); returns (mr, srr)."""
        udhi = bool(first & 0x40)
        srr = bool(first & 0x20)
        udh = b''
        if udhi and ud:
            udh = ud[:ud[0] + 1]
        if dcs & 0x0C == 0x00:
            skip = (len(udh) * 8 + 6) // 7 if udh else 0
            sept = unpack7(ud, udl)
            text = gsm7_decode(sept[skip:])
        elif dcs & 0x0C == 0x08:
            text = ud[len(udh):udl].decode('utf-16-be', 'replace')
        else:
            text = None
        self.mr = (self.mr + 1) & 0xFF
        self.event('sent', to=to, text=text, mr=self.mr, srr=srr, dcs='%02X' % dcs, pid='%02X' % pid,
                   udh=udh.hex(), udl=udl, ud=ud.hex())
        return self.mr, srr

    def on_dct4_send(self, p):
        """02 00 01 00 02 00 00 00 55 55 + frame: 01 02 LEN FO MR PID DCS 00 NBLOCKS, then blocks
        (ID, length with header): 82 number (01 recipient, 02 SMSC), 08 validity, 80 user data."""
        f = p[9:]
        if len(f) < 9 or f[0] != 0x01:
            self.send_message(0x02, HDR + bytes([0x03, 0x00, 0x00, 0x00, 0x00, 0x6F, 0x00, 0x00]))
            return
        first, pid, dcs = f[3], f[5], f[6]
        to, udl, ud, pos = '', 0, b'', 9
        for _ in range(f[8]):
            if pos + 2 > len(f) or f[pos + 1] < 2:
                break
            kind, size = f[pos], f[pos + 1]
            if kind == 0x82 and f[pos + 2] == 0x01:
                to = read_number(f[pos + 4:pos + 16])
            elif kind == 0x80:
                udl, ud = f[pos + 3], bytes(f[pos + 4:pos + 4 + f[pos + 2]])
            pos += size
        mr, srr = self.submitted(first, pid, dcs, udl, to, ud)
        self.send_message(0x02, HDR + bytes([0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, mr]))
        if srr and not self.control('no-report'):
            self.pending_reports.append((time.time() + self.args.report_delay, to, mr))

    def store(self, kind, layout):
        for loc in range(1, self.sim_size + 1):
            if loc not in self.sim:
                self.sim[loc] = (0x03, kind, layout)
                return loc
        return None

    def arrive(self, kind, layout, what, **kw):
        loc = self.store(kind, layout)
        self.event(what, loc=loc, **kw)
        if loc is not None and not self.control('mute') and not self.control('no-notify'):
            self.send_message(0x02, HDR + bytes([0x10, 0x00, 0x00]) + layout)

    def inbound(self, path):
        try:
            with open(path) as f:
                req = json.load(f)
        finally:
            os.unlink(path)
        text = req.get('text', '')
        sept = gsm7_encode(text)
        if len(sept) <= 160:
            chunks, udhs = [sept], [b'']
        else:  # concatenated, 153 septets a part, 8-bit reference
            chunks = [sept[i:i + 153] for i in range(0, len(sept), 153)]
            ref = req.get('ref', 0x42)
            udhs = [bytes([5, 0, 3, ref, len(chunks), i + 1]) for i in range(len(chunks))]
        for chunk, udh in zip(chunks, udhs):
            acc = int.from_bytes(udh, 'little')
            bits = ((len(udh) * 8 + 6) // 7) * 7
            for sv in chunk:
                acc |= sv << bits
                bits += 7
            ud = acc.to_bytes((bits + 7) // 8, 'little')
            if self.args.dct4:
                frame = bytearray([0x00, 0x00, 0x44 if udh else 0x04, 0x00, 0x00]) + scts() + b'\x55\x55\x55\x03'
                frame += bytes([0x82, 0x10, 0x01, (len(req['from'].lstrip('+')) + 4 + 1) // 2]) + number_slot(req['from'])
                frame += bytes([0x82, 0x10, 0x02, len(bcd(self.args.smsc.lstrip('+'))) + 1]) + smsc_slot(self.args.smsc)
                frame += bytes([0x80, len(ud) + 4, len(ud), bits // 7]) + ud
                frame[1] = len(frame) - 1
                self.arrive4(bytes(frame), 'inbound', req.get('memory', 'sim'), sender=req['from'], text=text,
                             parts=len(chunks))
                continue
            layout = bytearray(smsc_slot(self.args.smsc))
            # SMS-DELIVER (UDHI when a header), PID, DCS 7-bit, UDL
            layout += bytes([0x44 if udh else 0x04, 0x00, 0x00, bits // 7])
            layout += number_slot(req['from'])
            layout += scts()
            layout += ud
            self.arrive(0x00, bytes(layout), 'inbound', sender=req['from'], text=text, parts=len(chunks))

    def tick(self):
        now = time.time()
        for item in [r for r in self.pending_reports if r[0] <= now]:
            self.pending_reports.remove(item)
            _, to, mr = item
            if self.args.dct4:
                frame = bytearray([0x01, 0x00, 0x06, mr, 0x00]) + scts() + scts() + bytes([0x02])
                frame += bytes([0x82, 0x10, 0x01, (len(to.lstrip('+')) + 4 + 1) // 2]) + number_slot(to)
                frame += bytes([0x82, 0x10, 0x02, len(bcd(self.args.smsc.lstrip('+'))) + 1]) + smsc_slot(self.args.smsc)
                frame[1] = len(frame) - 1
                self.arrive4(bytes(frame), 'report', 'sim', mr=mr)
                continue
            layout = bytearray(smsc_slot(self.args.smsc))
            layout += bytes([0x06, mr, 0x00])  # SMS-STATUS-REPORT, MR, TP-ST delivered
            layout += number_slot(to)
            layout += scts() + scts()
            self.arrive(0x01, bytes(layout), 'report', mr=mr)
        for path in sorted(glob.glob(os.path.join(self.args.control, 'inbound-*.json'))):
            self.inbound(path)
        g = os.path.join(self.args.control, 'garbage')
        if os.path.exists(g):
            os.unlink(g)
            os.write(self.master, bytes([0x1E, 0x0C, 0x00, 0x02, 0x00, 0x40, 0x55, 0xAA, 0x1E, 0x13]))
            self.event('garbage')

    def run(self):
        while True:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if r:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    data = b''
                if data and not self.control('mute'):
                    self.feed(data)
            self.tick()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--link', required=True)
    ap.add_argument('--control', required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--model', default='NSE-3')
    ap.add_argument('--version', default='05.24')
    ap.add_argument('--date', default='27-02-00')
    ap.add_argument('--imei', default='490154203237518')
    ap.add_argument('--smsc', default='+15550000000')
    ap.add_argument('--sim-size', type=int, default=10)
    ap.add_argument('--report-delay', type=float, default=0.5)
    ap.add_argument('--no-service', action='store_true', help='never answer type 40 (service) requests')
    ap.add_argument('--dct4', action='store_true', help='a DCT4 phone (use with --model NPE-4: a 6310)')
    ap.add_argument('--no-sms-memory', action='store_true',
                    help='DCT4: never answer type 14 (a phone that keeps its SMS elsewhere)')
    args = ap.parse_args()
    os.makedirs(args.control, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    Phone(args).run()


if __name__ == '__main__':
    main()
