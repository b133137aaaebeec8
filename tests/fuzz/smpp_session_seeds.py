#!/usr/bin/env python3
# Writes the seed corpus of tests/fuzz/fuzz_smpp_session.c:
#   python3 tests/fuzz/smpp_session_seeds.py tests/fuzz/corpus/smpp_session
# Seeds of tests/fuzz/fuzz_smpp_session.c (its input format is described there).
import struct, os, sys
out = sys.argv[1]
def pdu(cmd, seq, body=b'', status=0):
    return struct.pack('>IIII', 16 + len(body), cmd, status, seq) + body
def cs(s): return s.encode() + b'\0'
def tlv(tag, val): return struct.pack('>HH', tag, len(val)) + val
def bind(seq=1): return pdu(0x09, seq, cs('esme') + cs('pw') + cs('') + bytes([0x34, 0, 0]) + cs(''))
def sm(cmd, seq, text, esm=0, dc=0, rd=1, tlvs=b'', src='4915551234', dst='4915559876'):
    body = cs('') + bytes([1, 1]) + cs(src) + bytes([1, 1]) + cs(dst) + bytes([esm, 0, 0]) + cs('') + cs('') \
        + bytes([rd, 0, dc, 0, len(text)]) + text + tlvs
    return pdu(cmd, seq, body)
def data_sm(seq, payload, dc=0):
    body = cs('') + bytes([1, 1]) + cs('4915551234') + bytes([1, 1]) + cs('4915559876') + bytes([0, 1, dc]) + tlv(0x0424, payload)
    return pdu(0x103, seq, body)
def rec(op, data=b''): return bytes([op]) + struct.pack('>H', len(data)) + data
def P(p): return rec(0, p)
seeds = {
 'srv-submit': bytes([0]) + P(bind()) + rec(1, b'\x01') + P(sm(4, 2, b'hello')) + rec(2, b'\x00') + P(pdu(6, 3)) + rec(7),
 'srv-udh3': bytes([0]) + P(bind()) + rec(1, b'\x01') + b''.join(P(sm(4, 2 + i, bytes([5, 0, 3, 0x42, 3, i + 1]) + b'part', esm=0x40)) for i in range(3))
    + rec(2, b'\x00') + rec(3, b'\x03\x00') + b''.join(P(pdu(0x80000005, s, b'\0')) for s in (1, 2, 3)),
 'srv-sar2': bytes([2]) + P(bind()) + rec(1, b'\x01') + b''.join(P(sm(4, 2 + i, b'\x00A\x00B', dc=8, tlvs=tlv(0x020C, b'\x12\x34') + tlv(0x020E, b'\x02') + tlv(0x020F, bytes([i + 1])))) for i in range(2))
    + rec(2, b'\x03'),
 'srv-authfail': bytes([0]) + P(bind()) + rec(1, b'\x00'),
 'srv-inbound': bytes([4]) + P(bind()) + rec(1, b'\x01') + rec(4, b'\x00' + b'x' * 200) + P(pdu(0x80000005, 1, b'\0')) + P(pdu(0x80000000, 2, status=8)),
 'srv-datasm': bytes([0]) + P(bind()) + rec(1, b'\x01') + P(data_sm(2, b'payload text')) + rec(2, b'\x01outbox.recipient: bad'),
 'srv-revoke': bytes([0]) + P(bind()) + rec(1, b'\x01') + rec(6, b'\x00') + P(sm(4, 2, b'late')) + P(pdu(0x80000006, 1)),
 'srv-stop': bytes([0]) + P(bind()) + rec(1, b'\x01') + P(sm(4, 2, bytes([5, 0, 3, 9, 2, 1]) + b'half', esm=0x40)) + rec(5) + P(pdu(0x80000006, 1)) + rec(7),
 'srv-binary': bytes([0]) + P(bind()) + rec(1, b'\x01') + P(sm(4, 2, bytes([6, 5, 4, 0x0b, 0x84, 0x23, 0xf0]) + b'\x01\x02', esm=0x40, dc=4)) + rec(2, b'\x04') + rec(4, b'\x03\x01\x02\x03'),
 'cli-text': bytes([1]) + P(sm(5, 7, b'hello there', rd=0)) + rec(1, b'\x01'),
 'cli-receipt': bytes([1]) + P(sm(5, 8, b'id:123 sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:DELIVRD err:000 text:', esm=4, rd=0)) + rec(1, b'\x00'),
 'cli-submit': bytes([1]) + rec(2, b'\x01hello world') + P(pdu(0x80000004, 1, cs('abc123'))) +
    P(sm(5, 9, b'', esm=4, rd=0, tlvs=tlv(0x001E, cs('abc123')) + tlv(0x0427, b'\x02'))) + rec(1, b'\x01'),
 'cli-long': bytes([3]) + rec(2, b'\x00' + b'long text ' * 20) + b''.join(P(pdu(0x80000004, s, cs('id%d' % s))) for s in (1, 2)),
 'cli-parts': bytes([1]) + b''.join(P(sm(5, 20 + i, bytes([5, 0, 3, 7, 2, i + 1]) + b'abc', esm=0x40, rd=0)) for i in range(2)) + rec(1, b'\x01'),
 'cli-packed': bytes([3]) + P(sm(5, 30, bytes([0xC8, 0x32, 0x9B, 0xFD, 0x06]), rd=0)) + rec(1, b'\x01'),
 'cli-datasm': bytes([1]) + P(data_sm(31, b'\x00H\x00i', dc=8)) + rec(1, b'\x00'),
 'cli-throttle': bytes([1]) + rec(3, b'\x01\x02\x03') + P(pdu(0x80000004, 1, status=0x58)) + rec(2, b'x') + P(pdu(0x80000000, 2, status=3)),
 'cli-unbind': bytes([1]) + P(pdu(0x15, 40)) + P(pdu(6, 41)),
 'cli-stop': bytes([1]) + rec(2, b'\x00bye') + rec(5) + P(pdu(0x80000004, 1, cs('z'))) + P(pdu(0x80000006, 2)),
}
os.makedirs(out, exist_ok=True)
for k, v in seeds.items():
    open(os.path.join(out, k), 'wb').write(v)
print(len(seeds), 'seeds')
