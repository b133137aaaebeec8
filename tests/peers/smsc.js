#!/usr/bin/env node
// A scriptable SMSC for smspool's end-to-end tests, built on npm `smpp`
// 0.5.1 (an SMPP implementation independent of ours).
//
//   node tests/peers/smsc.js CONFIG.json
//
// CONFIG (every key optional):
//   port            listen port on 127.0.0.1; 0 (default) = a free one
//   port_file       where the chosen port is written once listening
//   tls             {"key": "key.pem", "cert": "cert.pem", "port_file": "..."}:
//                   also listen with SMPP over TLS on another free port
//   log             file that gets one JSON line per event (see ev below)
//   accounts        {"system_id": "password"}; default {"smspool": "secret"}
//   ids             "hex" (default) or "decimal": message_id in submit_sm_resp;
//                   "poison": hex followed by the byte 0xFF (not UTF-8), as a
//                   broken SMSC once answered (no receipts in that mode)
//   receipts        {"delay_ms": 100, "stat": "DELIVRD",
//                    "tlv": "alternate" | "all" | "none",  receipted_message_id
//                                                           + message_state TLVs
//                    "text_id": "decimal" | "same"}       id: word in the text
//   rules           [{"dest_prefix": "1666", "status": "ESME_RINVDSTADR"},
//                    {"dest_prefix": "1777", "status": "ESME_RTHROTTLED",
//                     "times": 1}]   times: per destination, then accepted
//                   "part": N in a rule: only the Nth part of a concatenated
//                   text (UDH IE 00/08 or SAR segment number; 1 without),
//                   times then counted per destination for that rule alone
//   garbage         {"system_id": "noisy", "count": 8}: after the first bind
//                   of that system_id, write count malformed deliver_sm PDUs
//                   (a body that ends inside service_type)
//   drop_on_dest    close the connection, unanswered, at the first submit_sm
//                   whose destination starts with this (once per process)
//   mo_gen          {"count": 50, "from": "+49151", "to": "12345", "prefix": "mo ",
//                    "system_id": "smspool"}: count more MO texts "prefix1".. (from
//                   "from"+n), appended to mo
//   early_receipts  {"dest_prefix": "1999"}: for an accepted submit_sm to such a
//                   destination that asks for a receipt, the receipt (deliver_sm)
//                   goes out FIRST, and the submit_sm_resp only once the ESME
//                   answered that deliver_sm (or after 3 s): the report reaches
//                   the ESME before the id it refers to (event early_resp)
//   log_lean        true: submit events only carry seq, system_id, peer (the
//                   ESME's port), dst, text, status, id (long runs)
//   log_skip        ["rx", "receipt", ...]: events not written to the log
//   control         a JSON file polled every 50 ms, {"mode": M}; M is
//                   normal (default) | stall (stop reading every session and
//                   sending deliveries; resumes on the next mode) | throttle
//                   (answer every submit_sm ESME_RTHROTTLED) | garbage (answer
//                   every submit_sm with a malformed submit_sm_resp; status
//                   "garbage", not accepted) | drop (at the next submit_sm
//                   close that session unanswered, ignore what else it sent,
//                   status "dropped"; then normal again).  Each change: ev control
//   mo              [{"from": "+4915...", "to": "12345", "text": "...",
//                     "dc": 0 | 3 | 8, "parts": 2, "sar": false,
//                     "system_id": "smspool"}]
//                   pushed as deliver_sm to a receiving session of that
//                   system_id (default: any); kept until answered ESME_ROK,
//                   sent again on the next bind otherwise (as a real SMSC
//                   does).  Receipts go to the system_id that submitted.
//
// Everything the ESME is sent (receipts, MO) waits in one queue until the
// ESME answers ESME_ROK, so a dropped session or a negative answer makes it
// come again: smspool's at-least-once inbound path can be checked.
//
// Log events (field "ev"): listening, bind, submit, deliver_resp, unbind,
// enquire_link, drop, close, garbage, rx (every response the ESME sent:
// command, status).  submit has the raw fields: src, src_ton,
// src_npi, dst, dst_ton, dst_npi, dc, esm, rd, sm (hex), udh (hex), text
// (decoded), sar {ref,total,seq}, payload (hex), status, id.
'use strict';
const fs = require('fs');
const smpp = require('smpp');

const conf = process.argv[2] ? JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) : {};
const accounts = conf.accounts || { smspool: 'secret' };
const rc = Object.assign({ delay_ms: 100, stat: 'DELIVRD', tlv: 'alternate', text_id: 'decimal' }, conf.receipts || {});
const rules = conf.rules || [];
const logFd = conf.log ? fs.openSync(conf.log, 'a') : null;

// Raw octets everywhere: the test checks what the ESME really sent.
for (const name of Object.keys(smpp.commands)) {
	const params = smpp.commands[name].params || {};
	for (const k of Object.keys(params)) delete params[k].filter;
}
for (const k of Object.keys(smpp.tlvs)) delete smpp.tlvs[k].filter;

const logSkip = new Set(conf.log_skip || []);
let mode = 'normal'; // see "control"

function log(o) {
	if (logSkip.has(o.ev)) return;
	o.t = Date.now();
	const line = JSON.stringify(o) + '\n';
	if (logFd !== null) fs.writeSync(logFd, line);
}

let nextId = 0x1a2b0000;
let submits = 0;
let dropped = false;
let receiptNo = 0;
const perDest = {}; // destination -> submits seen
const queue = [];   // {key, pdu options, kind}; sent to receivers, removed on ESME_ROK
let queueKey = 0;
const sessions = new Set();

function formatId(n) {
	return conf.ids === 'decimal' ? String(n) : n.toString(16).toUpperCase();
}

function gsmDecode(buf) {
	return smpp.gsmCoder.decode(buf, 0);
}

function decodeText(dc, buf) {
	if (dc === 8) {
		const sw = Buffer.from(buf);
		sw.swap16();
		return sw.toString('utf16le');
	}
	if (dc === 3 || dc === 1) return buf.toString('latin1');
	if (dc === 0) return gsmDecode(buf);
	return null;
}

function encodeText(dc, text) {
	if (dc === 8) {
		const b = Buffer.from(text, 'utf16le');
		b.swap16();
		return b;
	}
	if (dc === 3) return Buffer.from(text, 'latin1');
	return smpp.gsmCoder.encode(text, 0); // unpacked septets
}

function ts(d) {
	const p = (n) => String(n).padStart(2, '0');
	return p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) + p(d.getUTCHours()) + p(d.getUTCMinutes());
}

function canReceive(s) {
	return s.bound === 'transceiver' || s.bound === 'receiver';
}

function sendQueued(item) {
	if (mode === 'stall') return; // sent again when the stall ends
	for (const s of sessions) {
		if (!canReceive(s) || s.inflight.has(item.key)) continue;
		if (item.system_id && s.system_id !== item.system_id) continue;
		s.inflight.add(item.key);
		s.deliver_sm(Object.assign({}, item.pdu), (resp) => {
			s.inflight.delete(item.key);
			log({ ev: 'deliver_resp', kind: item.kind, key: item.key, status: resp.command_status });
			if (item.onResp) {
				const f = item.onResp;
				item.onResp = null;
				f(resp.command_status);
			}
			if (resp.command_status === 0) {
				const i = queue.indexOf(item);
				if (i >= 0) queue.splice(i, 1);
			} else {
				setTimeout(() => sendQueued(item), 500);
			}
		});
		return;
	}
}

function enqueue(kind, pdu, systemId, onResp) {
	const item = { key: ++queueKey, kind, pdu, system_id: systemId, onResp };
	queue.push(item);
	sendQueued(item);
}

function pushMo() {
	let ref = 0x40;
	const mos = (conf.mo || []).slice();
	const g = conf.mo_gen;
	if (g) {
		for (let i = 1; i <= g.count; i++)
			mos.push({ from: (g.from || '+49151') + String(i).padStart(6, '0'), to: g.to || '12345',
				text: (g.prefix === undefined ? 'mo ' : g.prefix) + i, system_id: g.system_id });
	}
	for (const m of mos) {
		const dc = m.dc || 0;
		const whole = encodeText(dc, m.text);
		const parts = m.parts || 1;
		const unit = dc === 8 ? 2 : 1;
		const per = Math.ceil(whole.length / unit / parts) * unit;
		ref++;
		for (let i = 0; i < parts; i++) {
			const chunk = whole.slice(i * per, (i + 1) * per);
			const pdu = {
				source_addr_ton: m.from.startsWith('+') ? 1 : 0, source_addr_npi: 1,
				source_addr: m.from.replace(/^\+/, ''),
				dest_addr_ton: 0, dest_addr_npi: 1, destination_addr: m.to,
				data_coding: dc, esm_class: 0,
			};
			if (parts === 1) {
				pdu.short_message = chunk;
			} else if (m.sar) {
				pdu.short_message = chunk;
				pdu.sar_msg_ref_num = ref;
				pdu.sar_total_segments = parts;
				pdu.sar_segment_seqnum = i + 1;
			} else {
				pdu.esm_class = 0x40;
				pdu.short_message = Buffer.concat([Buffer.from([5, 0, 3, ref, parts, i + 1]), chunk]);
			}
			enqueue('mo', pdu, m.system_id);
		}
	}
}

function scheduleReceipt(s, sub, id) {
	setTimeout(() => sendReceipt(s, sub, id), rc.delay_ms);
}

function sendReceipt(s, sub, id, onResp) {
	{
		receiptNo++;
		const withTlv = rc.tlv === 'all' || (rc.tlv === 'alternate' && receiptNo % 2 === 1);
		const textId = rc.text_id === 'decimal' && conf.ids !== 'decimal' ? String(parseInt(id, 16)) : id;
		const now = ts(new Date());
		const text = `id:${textId} sub:001 dlvrd:${rc.stat === 'DELIVRD' ? '001' : '000'} submit date:${now} done date:${now} stat:${rc.stat} err:000 text:`;
		const pdu = {
			source_addr_ton: sub.dest_addr_ton, source_addr_npi: sub.dest_addr_npi, source_addr: sub.destination_addr,
			dest_addr_ton: sub.source_addr_ton, dest_addr_npi: sub.source_addr_npi, destination_addr: sub.source_addr,
			esm_class: 0x04, data_coding: 0, short_message: Buffer.from(text, 'ascii'),
		};
		if (withTlv) {
			pdu.receipted_message_id = id;
			pdu.message_state = rc.stat === 'DELIVRD' ? 2 : 5;
		}
		log({ ev: 'receipt', id, text_id: textId, tlv: withTlv, early: onResp !== undefined });
		enqueue('receipt', pdu, s.system_id, onResp);
	}
}

function leanRec(rec) {
	if (!conf.log_lean) return rec;
	return { ev: rec.ev, seq: rec.seq, system_id: rec.system_id, peer: rec.peer, dst: rec.dst, text: rec.text, status: rec.status, id: rec.id };
}

function onSubmit(s, pdu) {
	submits++;
	const sm = pdu.short_message || Buffer.alloc(0);
	const rec = {
		ev: 'submit', seq: pdu.sequence_number, system_id: s.system_id,
		peer: conf.log_lean ? s.socket.remotePort : undefined,
		src: pdu.source_addr, src_ton: pdu.source_addr_ton, src_npi: pdu.source_addr_npi,
		dst: pdu.destination_addr, dst_ton: pdu.dest_addr_ton, dst_npi: pdu.dest_addr_npi,
		dc: pdu.data_coding, esm: pdu.esm_class, rd: pdu.registered_delivery, sm: sm.toString('hex'),
	};
	let body = sm;
	if ((pdu.esm_class & 0x40) && sm.length) {
		rec.udh = sm.slice(0, sm[0] + 1).toString('hex');
		body = sm.slice(sm[0] + 1);
	}
	if (pdu.sar_msg_ref_num !== undefined)
		rec.sar = { ref: pdu.sar_msg_ref_num, total: pdu.sar_total_segments, seq: pdu.sar_segment_seqnum };
	if (pdu.message_payload) {
		rec.payload = pdu.message_payload.toString('hex');
		body = pdu.message_payload;
	}
	rec.text = decodeText(pdu.data_coding, body);
	if (s.dropped) { // read after the session was dropped: never answered
		rec.status = 'dropped';
		log(leanRec(rec));
		return;
	}
	if (mode === 'drop') {
		setMode('normal');
		s.dropped = true;
		rec.status = 'dropped';
		log(leanRec(rec));
		log({ ev: 'drop', system_id: s.system_id, after: submits });
		s.socket.destroy();
		return;
	}
	if (mode === 'throttle') {
		rec.status = 'ESME_RTHROTTLED';
		log(leanRec(rec));
		s.send(pdu.response({ command_status: smpp.errors.ESME_RTHROTTLED }));
		return;
	}
	if (mode === 'garbage') {
		// submit_sm_resp, status 0, whose message_id has no terminating NUL
		const b = Buffer.alloc(20);
		b.writeUInt32BE(20, 0);
		b.writeUInt32BE(0x80000004, 4);
		b.writeUInt32BE(0, 8);
		b.writeUInt32BE(pdu.sequence_number, 12);
		b.write('GARB', 16, 'ascii');
		rec.status = 'garbage';
		log(leanRec(rec));
		if (s.socket.writable) s.socket.write(b);
		return;
	}
	if (conf.drop_on_dest && !dropped && pdu.destination_addr.startsWith(conf.drop_on_dest)) {
		dropped = true;
		rec.status = 'dropped';
		log(rec);
		log({ ev: 'drop', system_id: s.system_id, after: submits });
		s.socket.destroy();
		return;
	}
	const dst = pdu.destination_addr;
	perDest[dst] = (perDest[dst] || 0) + 1;
	for (const r of rules) {
		if (!dst.startsWith(r.dest_prefix)) continue;
		if (r.part !== undefined) {
			if (partNo(rec) !== r.part) continue;
			r.seen = r.seen || {};
			r.seen[dst] = (r.seen[dst] || 0) + 1;
			if (r.times !== undefined && r.seen[dst] > r.times) continue;
		} else if (r.times !== undefined && perDest[dst] > r.times) continue;
		rec.status = r.status;
		log(rec);
		s.send(pdu.response({ command_status: smpp.errors[r.status] }));
		return;
	}
	const id = formatId(++nextId);
	rec.status = 'ESME_ROK';
	rec.id = id;
	const er = conf.early_receipts;
	if (er && (pdu.registered_delivery & 1) && dst.startsWith(er.dest_prefix || '')) {
		rec.early = true;
		log(leanRec(rec));
		let done = false;
		const respond = (why) => {
			if (done) return;
			done = true;
			log({ ev: 'early_resp', id, why });
			s.send(pdu.response({ message_id: id }));
		};
		const timer = setTimeout(() => respond('timeout'), 3000);
		sendReceipt(s, pdu, id, (st) => {
			clearTimeout(timer);
			respond('answered ' + st);
		});
		return;
	}
	log(leanRec(rec));
	if (conf.ids === 'poison') {
		s.send(pdu.response({ message_id: Buffer.concat([Buffer.from(id, 'ascii'), Buffer.from([0xff])]) }));
		return;
	}
	s.send(pdu.response({ message_id: id }));
	if (pdu.registered_delivery & 1) scheduleReceipt(s, pdu, id);
}

// The segment number of a concatenated part (UDH IE 00 or 08, or SAR); 1.
function partNo(rec) {
	if (rec.sar) return rec.sar.seq;
	if (!rec.udh) return 1;
	const u = Buffer.from(rec.udh, 'hex');
	for (let i = 1; i + 1 < u.length; i += 2 + u[i + 1]) {
		if (u[i] === 0 && u[i + 1] === 3 && i + 4 < u.length) return u[i + 4];
		if (u[i] === 8 && u[i + 1] === 4 && i + 5 < u.length) return u[i + 5];
	}
	return 1;
}

function setMode(m) {
	if (m === mode) return;
	const was = mode;
	mode = m;
	log({ ev: 'control', mode: m, was });
	if (was === 'stall') {
		for (const s of sessions) s.resume();
		for (const item of queue.slice()) sendQueued(item);
	}
	if (m === 'stall') {
		for (const s of sessions) s.pause();
	}
}

if (conf.control) {
	let last = '';
	setInterval(() => {
		let text;
		try {
			text = fs.readFileSync(conf.control, 'utf8');
		} catch (e) {
			return;
		}
		if (text === last) return;
		last = text;
		try {
			setMode(JSON.parse(text).mode || 'normal');
		} catch (e) {
			log({ ev: 'control_error', error: String(e) });
		}
	}, 50);
}

function onSession(s) {
	s.inflight = new Set();
	s.bound = null;
	sessions.add(s);
	if (mode === 'stall') s.pause();
	const bind = (mode) => (pdu) => {
		const ok = accounts[pdu.system_id] !== undefined && accounts[pdu.system_id] === pdu.password;
		// bound: the sessions of this system_id bound at once, this one included
		const bound = ok ? 1 + [...sessions].filter((o) => o !== s && o.bound && o.system_id === pdu.system_id).length : 0;
		log({ ev: 'bind', mode, system_id: pdu.system_id, version: pdu.interface_version, ok, bound });
		if (!ok) {
			s.send(pdu.response({ command_status: smpp.errors.ESME_RINVPASWD }));
			return;
		}
		s.system_id = pdu.system_id;
		s.bound = mode;
		s.send(pdu.response({ system_id: 'nodesmsc' }));
		if (canReceive(s)) {
			for (const item of queue) sendQueued(item);
		}
		const g = conf.garbage;
		if (g && g.system_id === pdu.system_id && !g.sent) {
			g.sent = true;
			const bad = [];
			for (let i = 0; i < g.count; i++) {
				const b = Buffer.alloc(20);
				b.writeUInt32BE(20, 0);
				b.writeUInt32BE(0x00000005, 4); // deliver_sm
				b.writeUInt32BE(0, 8);
				b.writeUInt32BE(0x7000 + i, 12);
				b.write('CMTX', 16, 'ascii'); // service_type without its NUL, then nothing
				bad.push(b);
			}
			log({ ev: 'garbage', system_id: pdu.system_id, count: g.count });
			s.socket.write(Buffer.concat(bad));
		}
	};
	s.on('bind_transceiver', bind('transceiver'));
	s.on('bind_transmitter', bind('transmitter'));
	s.on('bind_receiver', bind('receiver'));
	s.on('submit_sm', (pdu) => {
		if (s.bound !== 'transceiver' && s.bound !== 'transmitter') {
			s.send(pdu.response({ command_status: smpp.errors.ESME_RINVBNDSTS }));
			return;
		}
		onSubmit(s, pdu);
	});
	s.on('enquire_link', (pdu) => {
		log({ ev: 'enquire_link' });
		s.send(pdu.response());
	});
	s.on('unbind', (pdu) => {
		log({ ev: 'unbind', system_id: s.system_id });
		s.send(pdu.response());
		s.close();
	});
	s.on('pdu', (pdu) => {
		if (pdu.isResponse()) log({ ev: 'rx', system_id: s.system_id || null, command: pdu.command, seq: pdu.sequence_number, status: pdu.command_status });
		else if (pdu.command === 'unknown') s.send(pdu.response());
	});
	s.on('error', (e) => log({ ev: 'error', error: String(e) }));
	s.on('close', () => {
		sessions.delete(s);
		// what was in flight on it goes to another session that may take it
		// (another bind of the same system_id), if there is one
		for (const item of queue.slice()) if (s.inflight.has(item.key)) sendQueued(item);
		log({ ev: 'close', system_id: s.system_id || null });
	});
}

const server = smpp.createServer(onSession);

pushMo(); // queued until a session that may receive them binds

server.listen(conf.port || 0, '127.0.0.1', () => {
	const port = server.address().port;
	log({ ev: 'listening', port });
	if (conf.port_file) {
		fs.writeFileSync(conf.port_file + '.tmp', String(port));
		fs.renameSync(conf.port_file + '.tmp', conf.port_file);
	}
});

if (conf.tls) {
	const tlsServer = smpp.createServer({ key: fs.readFileSync(conf.tls.key), cert: fs.readFileSync(conf.tls.cert) }, onSession);
	tlsServer.on('tlsClientError', (e) => log({ ev: 'tls_error', error: String(e) }));
	tlsServer.listen(0, '127.0.0.1', () => {
		const port = tlsServer.address().port;
		log({ ev: 'listening', port, tls: true });
		fs.writeFileSync(conf.tls.port_file + '.tmp', String(port));
		fs.renameSync(conf.tls.port_file + '.tmp', conf.tls.port_file);
	});
}

process.on('SIGTERM', () => process.exit(0));
