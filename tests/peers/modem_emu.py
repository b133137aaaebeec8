#!/usr/bin/env python3
"""modem_emu: a GSM modem (3GPP TS 27.007/27.005, PDU mode) on a pseudo-terminal.

Our own emulator for tests without hardware.  Since an emulator written by us only
proves what we believe, tests/e2e/85_at_peers.sh checks it with Gammu and smstools3,
which must identify it, send through it and read from it.

    modem_emu.py --link PATH [--ctl DIR] [--events FILE] [--pin 1234]
                 [--quirks q1,q2] [--report-delay S]

PATH becomes a symbolic link to the pty's slave side (re-created when the modem is
"unplugged").  Every event is one JSON line in FILE: commands, sent PDUs (with the TP-MR
given), reads, deletes.  The control folder DIR takes *.json files, processed in name
order and renamed *.done:
    {"op": "inject", "from": "+4477...", "text": "...", "mode": "cmti"|"cmt"}
    {"op": "unplug", "seconds": 1}      the device disappears, then comes back
    {"op": "silence", "seconds": 3}     reads and answers nothing for a while
    {"op": "garbage"}                   line noise
    {"op": "reboot"}                    forgets echo/CNMI/PDU-mode settings, says RDY
    {"op": "lose-answer", "to": "AT+CMGD", "run": true, "seconds": 1, "inject": {...}}
                                        the next command that starts with "to" is
                                        carried out (unless run is false), then the
                                        device is unplugged before it answers; the
                                        optional inject op comes while it is away
Quirks: urc-in-answer (a pending URC goes out in the middle of the next answer),
echo-sticky (ATE0 is answered OK but echo stays on), cms500-once (the first AT+CMGS
fails with +CMS ERROR: 500), cms38-first (it fails with 38, network out of order),
cds-no-smsc (+CDS PDUs without the SMSC field), full-sim (storage holds 3 messages; the
network keeps the rest until a delete makes room), sr-memory (with CNMI <ds>=2, status
reports are kept in memory "SR" and announced as +CDSI: "SR",n), cnma-wait (as in
+CSMS=1: a pushed +CMT/+CDS waits for AT+CNMA before the next is pushed; one not
acknowledged within --cnma-timeout seconds is pushed again, as the network redelivers).
    {"op": "inject", ..., "mode": "cmt", "hold_after": N}   with cnma-wait: after N
                                        acknowledged pushes, hold the rest until
    {"op": "release"}
"""
import argparse
import json
import os
import select
import sys
import time
import tty

GSM7 = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
SMSC = "+447785016005"
TEXT_DATE = "26/12/03,08:00:00+00"


def semi_octets(digits):
    if len(digits) % 2:
        digits += "F"
    return "".join(digits[i + 1] + digits[i] for i in range(0, len(digits), 2))


def addr_field(number):
    intl = number.startswith("+")
    digits = number.lstrip("+")
    return "%02X%s%s" % (len(digits), "91" if intl else "81", semi_octets(digits))


def smsc_field(number):
    digits = number.lstrip("+")
    body = "91" + semi_octets(digits)
    return "%02X%s" % (len(body) // 2, body)


def pack7(septets, fill=0):
    nbits = fill
    out = bytearray()
    acc = 0
    for s in septets:
        acc |= s << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def scts(t=None):
    tm = time.gmtime(t or time.time())
    vals = [tm.tm_year % 100, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, 0]
    return "".join("%d%d" % (v % 10, v // 10) for v in vals)


def deliver_pdus(sender, text, ref):
    """SMS-DELIVER PDUs (with SMSC field) for text, concatenated when long;
    each with the text of its part (for text mode)."""
    if all(c in GSM7 for c in text):
        units = [GSM7.index(c) for c in text]
        dcs, single, multi = "00", 160, 153
    else:
        raw = text.encode("utf-16-be")
        units = [raw[i:i + 2] for i in range(0, len(raw), 2)]
        dcs, single, multi = "08", 70, 67
    chunks = [units] if len(units) <= single else [units[i:i + multi] for i in range(0, len(units), multi)]
    pdus = []
    for n, chunk in enumerate(chunks, 1):
        udh = b"" if len(chunks) == 1 else bytes([5, 0, 3, ref & 0xFF, len(chunks), n])
        if dcs == "00":
            fill = (7 - (len(udh) * 8) % 7) % 7 if udh else 0
            ud = udh + pack7(chunk, fill)
            udl = (len(udh) * 8 + fill) // 7 + len(chunk) if udh else len(chunk)
        else:
            ud = udh + b"".join(chunk)
            udl = len(ud)
        fo = "44" if udh else "04"
        tpdu = fo + addr_field(sender) + "00" + dcs + scts() + "%02X" % udl + ud.hex().upper()
        part_text = "".join(GSM7[u] for u in chunk) if dcs == "00" else b"".join(chunk).decode("utf-16-be")
        pdus.append((smsc_field(SMSC) + tpdu, len(tpdu) // 2, part_text))
    return pdus


def status_report(mr, ra, st, with_smsc=True):
    tpdu = "06%02X" % mr + addr_field(ra) + scts() + scts() + "%02X" % st
    return ((smsc_field(SMSC) if with_smsc else "") + tpdu, len(tpdu) // 2)


def parse_submit(hexpdu):
    """-> (tpdu_len, mr, da, srr) of a SUBMIT given with its SMSC field."""
    b = bytes.fromhex(hexpdu)
    sl = b[0]
    t = b[1 + sl:]
    fo, mr, dl, toa = t[0], t[1], t[2], t[3]
    digits = "".join("%X%X" % (x & 15, x >> 4) for x in t[4:4 + (dl + 1) // 2])[:dl]
    da = ("+" if toa & 0x70 == 0x10 else "") + digits
    return len(t), mr, da, bool(fo & 0x20)


class Modem:
    def __init__(self, args):
        self.a = args
        self.quirks = set(q for q in (args.quirks or "").split(",") if q)
        self.ev = open(args.events, "a", buffering=1) if args.events else None
        self.master = self.slave = None
        self.inbuf = b""
        self.prompt_len = None  # AT+CMGS length while in the "> " state
        self.pdu = b""
        self.mr = 0
        self.stores = {"SM": {}, "SR": {}}  # memory -> index -> [stat, pdu hex, tpdu length, info]
        self.store = self.stores["SM"]  # the memory that AT+CMGR/CMGL/CMGD work on (+CPMS mem1)
        self.capacity = 3 if "full-sim" in self.quirks else 20
        self.timers = []  # (when, fn)
        self.pending_urc = []
        self.network = []  # texts the network holds while the SIM is full
        self.network_reports = []  # (mr, da) of reports it holds likewise
        self.silent_until = 0
        self.pin_needed = bool(args.pin)
        self.ref = 1
        self.push_q = []  # cnma-wait: pushed URCs waiting for the previous one's AT+CNMA
        self.in_flight = None  # (urc text, deadline) pushed, not yet acknowledged
        self.lose = None  # the lose-answer op waiting for its command
        self.acks_left = None  # acknowledgements before the queue is held (hold_after)
        self.reset_settings()
        self.plug()

    def reset_settings(self):
        self.echo = True
        self.cmee = 0
        self.cnmi = [0, 0, 0, 0, 0]
        self.cmgf = 0
        self.csmp_fo = 17
        self.creg_n = 0

    def log(self, **kv):
        if self.ev:
            kv["t"] = round(time.time(), 3)
            self.ev.write(json.dumps(kv) + "\n")

    # --- the device ---
    def plug(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        name = os.ttyname(self.slave)
        tmp = self.a.link + ".tmp"
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        os.symlink(name, tmp)
        os.rename(tmp, self.a.link)
        self.log(ev="plugged", tty=name)

    def unplug(self, seconds):
        self.log(ev="unplugged")
        os.close(self.master)
        os.close(self.slave)
        self.master = None
        try:
            os.unlink(self.a.link)
        except FileNotFoundError:
            pass
        self.prompt_len = None
        self.inbuf = b""
        self.timers.append((time.time() + seconds, self.plug))

    def write(self, data):
        if self.master is None:
            return
        if isinstance(data, str):
            data = data.encode("latin1")
        try:
            os.write(self.master, data)
        except OSError:
            pass

    def answer(self, lines, final="OK"):
        out = ""
        for i, line in enumerate(lines):
            out += "\r\n" + line + "\r\n"
            if i == 0 and "urc-in-answer" in self.quirks and self.pending_urc:
                out += self.pending_urc.pop(0)
        if not lines and "urc-in-answer" in self.quirks and self.pending_urc:
            out += self.pending_urc.pop(0)
        if final:
            out += "\r\n" + final + "\r\n"
        self.write(out)

    def error(self, cms=None):
        if cms is not None:
            self.answer([], "+CMS ERROR: %d" % cms)
        elif self.cmee:
            self.answer([], "+CME ERROR: 4")
        else:
            self.answer([], "ERROR")

    def urc(self, text):
        # Held while the prompt is open; with urc-in-answer, held for the next answer.
        if self.prompt_len is not None or "urc-in-answer" in self.quirks:
            self.pending_urc.append(text)
        else:
            self.write(text)

    def push(self, text):
        """A +CMT/+CDS: with cnma-wait, one at a time, each until its AT+CNMA."""
        if "cnma-wait" not in self.quirks:
            self.urc(text)
            return
        self.push_q.append(text)
        self.push_next()

    def push_next(self):
        if self.in_flight or not self.push_q or self.acks_left == 0 or self.master is None:
            return
        text = self.push_q.pop(0)
        self.in_flight = (text, time.time() + self.a.cnma_timeout)
        self.log(ev="pushed", line=text.strip().split("\r\n")[0])
        self.urc(text)

    def cnma(self):
        if not self.in_flight:
            self.log(ev="cnma", unexpected=True)
            return
        self.log(ev="cnma")
        self.in_flight = None
        if self.acks_left:
            self.acks_left -= 1
        self.push_next()

    def check_in_flight(self):
        if self.in_flight and time.time() > self.in_flight[1]:
            self.log(ev="cnma_timeout")
            self.push_q.insert(0, self.in_flight[0])
            self.in_flight = None
            self.push_next()

    def flush_urcs(self):
        if self.prompt_len is None and "urc-in-answer" not in self.quirks:
            while self.pending_urc:
                self.write(self.pending_urc.pop(0))

    # --- storage ---
    def store_pdu(self, stat, pdu, length, info, mem="SM"):
        store = self.stores[mem]
        for i in range(1, self.capacity + 1):
            if i not in store:
                store[i] = [stat, pdu, length, info]
                return i
        return None

    def text_entry(self, i):
        """Header and text line of a stored item in text mode (27.005 4.1/4.2)."""
        st, pdu, length, info = self.store[i]
        names = ["REC UNREAD", "REC READ", "STO UNSENT", "STO SENT"]
        if "mr" in info:
            return '"%s",6,%d,"%s",145,"%s","%s",0' % (names[st], info["mr"], info["ra"], TEXT_DATE, TEXT_DATE), None
        return '"%s","%s",,"%s"' % (names[st], info["sender"], TEXT_DATE), info["text"]

    def inject(self, sender, text, mode):
        pdus = deliver_pdus(sender, text, self.ref)
        self.ref += 1
        for pdu, length, part in pdus:
            if mode == "cmt" or self.cnmi[1] == 2:
                if self.cmgf:
                    self.push('\r\n+CMT: "%s",,"%s"\r\n%s\r\n' % (sender, TEXT_DATE, part))
                else:
                    self.push("\r\n+CMT: ,%d\r\n%s\r\n" % (length, pdu))
                self.log(ev="cmt", sender=sender, length=length)
                continue
            self.network.append((sender, pdu, length, part))
        self.deliver_network()

    def deliver_network(self):
        """Stores what the network holds while there is room; a full SIM
        makes the network keep the rest until a delete frees a slot."""
        self.store_reports()
        while self.network:
            sender, pdu, length, part = self.network[0]
            idx = self.store_pdu(0, pdu, length, {"sender": sender, "text": part})
            if idx is None:
                self.log(ev="sim_full", waiting=len(self.network))
                return
            self.network.pop(0)
            self.log(ev="stored", index=idx, sender=sender)
            if self.cnmi[1] == 1:
                self.urc('\r\n+CMTI: "SM",%d\r\n' % idx)

    def report(self, mr, da):
        nosmsc = "cds-no-smsc" in self.quirks
        pdu, length = status_report(mr, da, 0, not nosmsc)
        self.log(ev="report", mr=mr, da=da)
        if self.cnmi[3] == 1 and self.cmgf:
            self.push('\r\n+CDS: 6,%d,"%s",145,"%s","%s",0\r\n' % (mr, da, TEXT_DATE, TEXT_DATE))
        elif self.cnmi[3] == 1:
            self.push("\r\n+CDS: %d\r\n%s\r\n" % (length, pdu))
        else:
            self.network_reports.append((mr, da))
            self.deliver_network()

    def store_reports(self):
        """Stores the reports the network holds (<ds> 2 or 0); a full memory
        makes the network keep them until a delete frees a slot."""
        mem = "SR" if "sr-memory" in self.quirks else "SM"
        while self.network_reports:
            mr, da = self.network_reports[0]
            pdu, length = status_report(mr, da, 0)
            idx = self.store_pdu(0, pdu, length, {"mr": mr, "ra": da}, mem)
            if idx is None:
                self.log(ev="report_waits", mem=mem, waiting=len(self.network_reports))
                return
            self.network_reports.pop(0)
            self.log(ev="report_stored", mem=mem, index=idx, mr=mr)
            if self.cnmi[3] == 2:
                self.urc('\r\n+CDSI: "%s",%d\r\n' % (mem, idx))

    # --- commands ---
    def cmgs_done(self, hexpdu):
        length = self.prompt_len
        self.prompt_len = None
        if isinstance(length, str):  # text mode: the number, then the text itself
            self.mr = self.mr % 255 + 1
            srr = bool(self.csmp_fo & 0x20)
            self.log(ev="sent", mr=self.mr, da=length, srr=srr, text=hexpdu, mode="text")
            self.answer(["+CMGS: %d" % self.mr])
            if srr:
                mr, da = self.mr, length
                self.timers.append((time.time() + self.a.report_delay, lambda: self.report(mr, da)))
            return
        try:
            tl, mr_in, da, srr = parse_submit(hexpdu)
        except (ValueError, IndexError):
            self.log(ev="bad_pdu", pdu=hexpdu)
            self.error(304)
            return
        if tl != length:
            self.log(ev="bad_length", given=length, actual=tl)
            self.error(304)
            return
        for q, code in (("cms500-once", 500), ("cms38-first", 38)):
            if q in self.quirks:
                self.quirks.discard(q)
                self.log(ev="refused", code=code, da=da)
                self.error(code)
                return
        self.mr = self.mr % 255 + 1
        self.log(ev="sent", mr=self.mr, da=da, srr=srr, pdu=hexpdu)
        self.answer(["+CMGS: %d" % self.mr])
        if srr:
            mr = self.mr
            self.timers.append((time.time() + self.a.report_delay, lambda: self.report(mr, da)))

    def cpms_answer(self, query):
        used = len(self.store)
        if query:
            return '+CPMS: "SM",%d,%d,"SM",%d,%d,"SM",%d,%d' % ((used, self.capacity) * 3)
        return "+CPMS: %d,%d,%d,%d,%d,%d" % ((used, self.capacity) * 3)

    def command(self, cmd):
        """One command without the AT prefix (e.g. '+CMGF=0', 'E0', '')."""
        u = cmd.upper()
        simple = {
            "": None, "Z": None, "&F": None, "E0": None, "E1": None, "V1": None, "Q0": None,
            "+CFUN=1": None, "+COPS=3,0": None, "+CSCS=\"GSM\"": None,
            "+CSCS=\"UCS2\"": None, "+CSCS=\"IRA\"": None,
        }
        if u in ("E0",) and "echo-sticky" not in self.quirks:
            self.echo = False
        if u == "E1":
            self.echo = True
        if u in simple:
            return []
        if u == "+CNMA":
            self.cnma()
            return []
        if u.startswith("+CPIN?"):
            return ["+CPIN: SIM PIN" if self.pin_needed else "+CPIN: READY"]
        if u.startswith("+CPIN="):
            if cmd.split("=", 1)[1].strip('"') == self.a.pin:
                self.pin_needed = False
                return []
            self.log(ev="wrong_pin")
            return "cme16"
        if self.pin_needed and u not in ("+CMEE=1", "+CMEE=2", "+CMEE=0"):
            return "cme11"
        if u.startswith("+CMEE="):
            self.cmee = int(u[6:] or 0)
            return []
        if u in ("+CGMI", "+GMI"):
            return ["smspool"]
        if u in ("+CGMM", "+GMM"):
            return ["modem_emu"]
        if u in ("+CGMR", "+GMR"):
            return ["1.0"]
        if u in ("+CGSN", "+GSN"):
            return ["490154203237518"]
        if u == "+CIMI":
            return ["001010123456789"]
        if u == "+CSQ":
            return ["+CSQ: 17,99"]
        if u == "+CFUN?":
            return ["+CFUN: 1"]
        if u == "+CSCS?":
            return ['+CSCS: "GSM"']
        if u == "+CSCS=?":
            return ['+CSCS: ("GSM","UCS2","IRA")']
        if u.startswith("+CREG="):
            self.creg_n = int(u[6:] or 0)
            return []
        if u == "+CREG?":
            return ["+CREG: %d,1" % self.creg_n]
        if u == "+COPS?":
            return ['+COPS: 0,0,"Emu Net",7']
        if u == "+CMGF?":
            return ["+CMGF: %d" % self.cmgf]
        if u == "+CMGF=?":
            return ["+CMGF: (0,1)"]
        if u in ("+CMGF=0", "+CMGF=1"):
            self.cmgf = int(u[-1])
            return []
        if u.startswith("+CSMP="):
            self.csmp_fo = int(u[6:].split(",")[0])
            return []
        if u == "+CSCA?":
            return ['+CSCA: "%s",145' % SMSC]
        if u.startswith("+CSCA="):
            return []
        if u == "+CSMS?":
            return ["+CSMS: 0,1,1,1"]
        if u.startswith("+CSMS="):
            return ["+CSMS: 1,1,1"]
        if u == "+CPMS?":
            return [self.cpms_answer(True)]
        if u == "+CPMS=?":
            return ['+CPMS: ("SM"),("SM"),("SM")']
        if u.startswith("+CPMS="):
            mem = u[6:].split(",")[0].strip('"')
            if mem not in self.stores:
                return "cms302"
            self.store = self.stores[mem]
            self.log(ev="cpms", mem=mem)
            return [self.cpms_answer(False)]
        if u == "+CNMI=?":
            return ["+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)"]
        if u.startswith("+CNMI="):
            vals = (u[6:].split(",") + ["0"] * 5)[:5]
            self.cnmi = [int(v or 0) for v in vals]
            return []
        if u.startswith("+CMGL="):
            want = u[6:].strip('"')
            want = {"REC UNREAD": "0", "REC READ": "1", "ALL": "4"}.get(want, want)
            out = []
            for i in sorted(self.store):
                st, pdu, length, info = self.store[i]
                if want == "4" or str(st) == want:
                    if self.cmgf:
                        hdr, text = self.text_entry(i)
                        out += ["+CMGL: %d,%s" % (i, hdr)] + ([text] if text is not None else [])
                    else:
                        out += ["+CMGL: %d,%d,,%d" % (i, st, length), pdu]
                    if st == 0:
                        self.store[i][0] = 1
            self.log(ev="list", count=sum(1 for x in out if x.startswith("+CMGL")))
            return out
        if u.startswith("+CMGR="):
            i = int(u[6:])
            if i not in self.store:
                return "cms321"
            st, pdu, length, info = self.store[i]
            self.log(ev="read", index=i)
            if self.cmgf:
                hdr, text = self.text_entry(i)
                self.store[i][0] = 1 if st == 0 else st
                return ["+CMGR: " + hdr] + ([text] if text is not None else [])
            self.store[i][0] = 1 if st == 0 else st
            return ["+CMGR: %d,,%d" % (st, length), pdu]
        if u.startswith("+CMGD="):
            i = int(u[6:].split(",")[0])
            self.store.pop(i, None)
            self.log(ev="deleted", index=i, mem=[m for m in self.stores if self.stores[m] is self.store][0])
            self.timers.append((time.time() + 0.2, self.deliver_network))
            return []
        if u.startswith("+CMGS="):
            arg = cmd[6:]
            return ("prompt", arg.strip('"') if arg.startswith('"') else int(arg))
        if u == "+MODE=2":
            return "error"
        return "error"

    def line(self, raw):
        text = raw.decode("latin1").strip()
        if self.echo:
            self.write(raw + b"\r")
        if not text:
            return
        self.log(ev="cmd", line=text)
        if self.lose and text.upper().startswith(self.lose.get("to", "").upper()):
            self.lose_answer(text)
            return
        if not text.upper().startswith("AT"):
            self.error()
            return
        parts = text[2:].split(";")
        lines = []
        for p in parts:
            p = p.strip()
            res = self.command(p)
            if isinstance(res, tuple):
                self.prompt_len = res[1]
                self.pdu = b""
                self.write("\r\n> ")
                return
            if res == "error":
                self.error()
                return
            if isinstance(res, str) and res.startswith("cms"):
                self.error(int(res[3:]))
                return
            if isinstance(res, str) and res.startswith("cme"):
                self.answer([], "+CME ERROR: %s" % res[3:] if self.cmee else "ERROR")
                return
            lines += res
        self.answer(lines)
        self.flush_urcs()

    def lose_answer(self, text):
        lose, self.lose = self.lose, None
        run = lose.get("run", True)
        if run:
            for p in text[2:].split(";"):
                self.command(p.strip())
        self.log(ev="answer_lost", line=text, run=run)
        self.unplug(float(lose.get("seconds", 1)))
        inj = lose.get("inject")
        if inj:
            self.inject(inj["from"], inj["text"], inj.get("mode", "cmti"))

    def feed(self, data):
        if time.time() < self.silent_until:
            self.log(ev="ignored", data=data.decode("latin1"))
            return
        for b in data:
            c = bytes([b])
            if self.prompt_len is not None:
                if c == b"\x1a":
                    if self.echo:
                        self.write(self.pdu)
                    self.cmgs_done(self.pdu.decode("latin1").strip())
                    self.flush_urcs()
                elif c == b"\x1b":
                    self.prompt_len = None
                    self.log(ev="cancelled")
                    self.answer([])
                elif c not in b"\r\n":
                    self.pdu += c
                continue
            if c == b"\x1b":
                self.inbuf = b""
                continue
            if c == b"\r":
                raw, self.inbuf = self.inbuf, b""
                self.line(raw)
                if self.master is None:
                    return  # unplugged by that line: the rest never arrived
            elif c != b"\n":
                self.inbuf += c

    def control(self):
        d = self.a.ctl
        if not d:
            return
        for name in sorted(os.listdir(d)):
            if not name.endswith(".json"):
                continue
            path = os.path.join(d, name)
            try:
                op = json.load(open(path))
            except (OSError, ValueError):
                continue
            os.rename(path, path[:-5] + ".done")
            self.log(ev="control", op=op)
            kind = op.get("op")
            if kind == "inject":
                if "hold_after" in op:
                    self.acks_left = int(op["hold_after"])
                self.inject(op["from"], op["text"], op.get("mode", "cmti"))
            elif kind == "release":
                self.acks_left = None
                self.push_next()
            elif kind == "unplug" and self.master is not None:
                self.unplug(float(op.get("seconds", 1)))
            elif kind == "lose-answer":
                self.lose = op
            elif kind == "silence":
                self.silent_until = time.time() + float(op.get("seconds", 3))
            elif kind == "garbage":
                self.write(b"\x00\xff#@!garbage\xfe\r\n\x01ERR\x02\r\n")
            elif kind == "reboot":
                self.reset_settings()
                self.prompt_len = None
                self.write("\r\nRDY\r\n")

    def run(self):
        if self.a.ready:
            open(self.a.ready, "w").write(self.a.link + "\n")
        while True:
            now = time.time()
            due = [t for t in self.timers if t[0] <= now]
            self.timers = [t for t in self.timers if t[0] > now]
            for _, fn in due:
                fn()
            self.check_in_flight()
            self.push_next()
            self.control()
            if self.master is None:
                time.sleep(0.05)
                continue
            r, _, _ = select.select([self.master], [], [], 0.05)
            if r:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    continue
                self.feed(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--link", required=True)
    ap.add_argument("--ctl")
    ap.add_argument("--events")
    ap.add_argument("--ready")
    ap.add_argument("--pin")
    ap.add_argument("--quirks")
    ap.add_argument("--report-delay", type=float, default=0.5)
    ap.add_argument("--cnma-timeout", type=float, default=4.0)
    Modem(ap.parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
