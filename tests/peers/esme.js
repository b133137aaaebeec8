#!/usr/bin/env node
// A scriptable ESME for smspool's end-to-end tests of the SMPP server, built
// on npm `smpp` 0.5.1 (an SMPP implementation independent of ours).
//
//   node tests/peers/esme.js SCRIPT.json
//
// SCRIPT: {"host": "127.0.0.1", "port": 2775, "timeout_ms": 20000, "steps": [...],
//          "tls_port": 3550, "ca": "cert.pem"}   (for binds with "tls": true)
// Steps run in order; each waits for its answer (or timeout_ms) first:
//   {"op": "bind", "as": "a", "mode": "transceiver"|"transmitter"|"receiver",
//    "system_id": "esme1", "password": "secret1", "version": 52, "tls": false}
//   {"op": "submit", "as": "a", "ref": "gsm", "to": "+1555...", "from": "Shop",
//    "text": "Hello", "dc": 0|3|8, "rd": 1, "validity": "000001000000000R",
//    "udh": "050003010201", "hex": "0102"}        (hex: raw short_message)
//   {"op": "parts", "as": "a", "ref": "long", "to": "+1555...", "from": "Shop",
//    "texts": ["part 1", "part 2"], "seqs": [1, 2], "total": 2, "concat_ref": 66,
//    "sar": false, "dc": 0}
//                 the parts of one concatenated text, all sent at once (UDH
//                 IE 0x00 in esm_class 0x40, or with "sar": true the SAR
//                 TLVs); seqs/total default to 1..n / n; one submit_resp
//                 each, ref "long#<seq>", in the order they come, with ms
//                 since the first was sent; "concat_refs": [..] gives each part
//                 its own reference (parts of different sets); "nowait":
//                 true goes on to the next step at once; "hexes": [..] raw
//                 octets per part instead of texts (binary), "udh_ies": hex
//                 IEs added after the concatenation IE
//   {"op": "wait", "as": "a", "receipts": 2, "texts": 0}
//                 until that many deliver_sm (esm_class 0x04 = receipt) arrived
//   {"op": "unbind", "as": "a"}   {"op": "close", "as": "a"}
//   {"op": "connect", "as": "a"}  TCP only, no bind
//   {"op": "raw", "as": "a", "hex": "...", "count": 5}  octets as they are
//   {"op": "wait_close", "as": "a"}  until the server closes the session
//   {"op": "many", "count": 200, "system_id": "esme1", "password": "secret1",
//    "to_prefix": "+1555", "text": "hi"}
//                 that many concurrent transceiver binds, one submit_sm each,
//                 then unbind
// Every deliver_sm is answered ESME_ROK (or "deliver_status" of the script).
// Output: one JSON line per event on stdout: bind_resp, submit_resp,
// deliver, unbind_resp, close, many, timeout, error, done.
'use strict';
const fs = require('fs');
const smpp = require('smpp');

const script = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const timeoutMs = script.timeout_ms || 20000;
const statusNames = {};
for (const [name, code] of Object.entries(smpp.errors)) statusNames[code] = name;
const statusName = (c) => statusNames[c] || '0x' + c.toString(16);

// Raw octets everywhere: the test checks what the server really sent.
for (const name of Object.keys(smpp.commands)) {
	const params = smpp.commands[name].params || {};
	for (const k of Object.keys(params)) delete params[k].filter;
}
for (const k of Object.keys(smpp.tlvs)) delete smpp.tlvs[k].filter;

function out(o) {
	process.stdout.write(JSON.stringify(o) + '\n');
}

function encodeText(dc, text) {
	if (dc === 8) {
		const b = Buffer.from(text, 'utf16le');
		b.swap16();
		return b;
	}
	if (dc === 3 || dc === 1) return Buffer.from(text, 'latin1');
	return smpp.gsmCoder.encode(text, 0); // unpacked septets
}

function decodeText(dc, buf) {
	if (dc === 8) {
		const sw = Buffer.from(buf);
		sw.swap16();
		return sw.toString('utf16le');
	}
	if (dc === 3 || dc === 1) return buf.toString('latin1');
	if (dc === 0) return smpp.gsmCoder.decode(buf, 0);
	return null;
}

function plain(v) {
	return Buffer.isBuffer(v) ? v.toString('hex') : v;
}

const sessions = {}; // as -> {s, delivers: []}

function withTimeout(promise, what) {
	let t;
	return Promise.race([
		promise,
		new Promise((resolve) => {
			t = setTimeout(() => {
				out({ ev: 'timeout', step: what });
				resolve(null);
			}, timeoutMs);
		}),
	]).finally(() => clearTimeout(t));
}

function connect(as, tls) {
	return new Promise((resolve) => {
		const host = script.host || '127.0.0.1';
		const opts = tls
			? { url: `ssmpp://${host}:${script.tls_port}`, ca: fs.readFileSync(script.ca), auto_enquire_link_period: 0 }
			: { url: `smpp://${host}:${script.port}`, auto_enquire_link_period: 0 };
		const s = smpp.connect(opts, () => resolve(s));
		const rec = { s, delivers: [], waiters: [] };
		if (as) sessions[as] = rec;
		s.on('error', (e) => out({ ev: 'error', as, error: String(e) }));
		s.on('close', () => {
			if (as) out({ ev: 'close', as });
			rec.closed = true;
			for (const w of rec.waiters.splice(0)) w();
		});
		s.on('enquire_link', (pdu) => s.send(pdu.response()));
		s.on('generic_nack', (pdu) => out({ ev: 'generic_nack', as, seq: pdu.sequence_number, status: statusName(pdu.command_status) }));
		s.on('unbind', (pdu) => {
			out({ ev: 'unbind', as });
			s.send(pdu.response());
		});
		s.on('deliver_sm', (pdu) => {
			const sm = pdu.short_message || Buffer.alloc(0);
			const d = {
				ev: 'deliver', as, seq: pdu.sequence_number, esm: pdu.esm_class, dc: pdu.data_coding,
				src: pdu.source_addr, src_ton: pdu.source_addr_ton, dst: pdu.destination_addr, dst_ton: pdu.dest_addr_ton,
			};
			let body = sm;
			if ((pdu.esm_class & 0x40) && sm.length) {
				d.udh = sm.slice(0, sm[0] + 1).toString('hex');
				body = sm.slice(sm[0] + 1);
			}
			d.text = decodeText(pdu.data_coding, body);
			if (pdu.receipted_message_id !== undefined) d.receipted_id = plain(pdu.receipted_message_id);
			if (pdu.message_state !== undefined) d.message_state = pdu.message_state;
			if (pdu.network_error_code !== undefined) d.nec = plain(pdu.network_error_code);
			d.receipt = (pdu.esm_class & 0x04) !== 0;
			out(d);
			rec.delivers.push(d);
			s.send(pdu.response({ command_status: script.deliver_status || 0 }));
			for (const w of rec.waiters.splice(0)) w();
		});
	});
}

function bind(s, mode, step) {
	return new Promise((resolve) => {
		s['bind_' + mode](
			{ system_id: step.system_id, password: step.password, interface_version: step.version || 0x34 },
			(pdu) => resolve(pdu),
		);
	});
}

function submitPdu(step) {
	const dc = step.dc || 0;
	let sm = step.hex !== undefined ? Buffer.from(step.hex, 'hex') : encodeText(dc, step.text || '');
	const pdu = {
		source_addr_ton: step.from ? (step.from.startsWith('+') ? 1 : /^[0-9]+$/.test(step.from) ? 0 : 5) : 0,
		source_addr_npi: step.from && /^\+?[0-9]+$/.test(step.from) ? 1 : 0,
		source_addr: (step.from || '').replace(/^\+/, ''),
		dest_addr_ton: step.to.startsWith('+') ? 1 : 0,
		dest_addr_npi: 1,
		destination_addr: step.to.replace(/^\+/, ''),
		data_coding: dc,
		registered_delivery: step.rd === undefined ? 1 : step.rd,
		esm_class: 0,
	};
	if (step.udh) {
		sm = Buffer.concat([Buffer.from(step.udh, 'hex'), sm]);
		pdu.esm_class = 0x40;
	}
	if (step.validity) pdu.validity_period = step.validity;
	if (step.schedule) pdu.schedule_delivery_time = step.schedule;
	if (step.umr !== undefined) pdu.user_message_reference = step.umr;
	pdu.short_message = sm;
	return pdu;
}

function submit(s, step) {
	return new Promise((resolve) => s.submit_sm(submitPdu(step), (pdu) => resolve(pdu)));
}

function submitParts(rec, step) {
	const n = (step.hexes || step.texts).length;
	const total = step.total || n;
	const cref = step.concat_ref === undefined ? 66 : step.concat_ref;
	const t0 = Date.now();
	const extra = Buffer.from(step.udh_ies || '', 'hex');
	const all = (step.hexes || step.texts).map((text, i) => {
		const seq = step.seqs ? step.seqs[i] : i + 1;
		const ref = step.concat_refs ? step.concat_refs[i] : cref;
		const pdu = submitPdu({ ...step, text, hex: step.hexes ? text : undefined, udh: undefined });
		if (step.sar) {
			pdu.sar_msg_ref_num = ref;
			pdu.sar_total_segments = total;
			pdu.sar_segment_seqnum = seq;
		} else {
			const udh = Buffer.concat([Buffer.from([5 + extra.length, 0, 3, ref & 0xff, total, seq]), extra]);
			pdu.short_message = Buffer.concat([udh, pdu.short_message]);
			pdu.esm_class = 0x40;
		}
		return new Promise((resolve) =>
			rec.s.submit_sm(pdu, (r) => {
				out({ ev: 'submit_resp', as: step.as, ref: step.ref + '#' + (step.concat_refs ? ref + '/' : '') + seq, status: statusName(r.command_status), id: r.message_id, ms: Date.now() - t0 });
				resolve(r);
			}),
		);
	});
	return Promise.all(all);
}

function unbind(s) {
	return new Promise((resolve) => s.unbind({}, (pdu) => resolve(pdu)));
}

function waitFor(rec, step) {
	const enough = () =>
		rec.delivers.filter((d) => d.receipt).length >= (step.receipts || 0) &&
		rec.delivers.filter((d) => !d.receipt).length >= (step.texts || 0);
	return new Promise((resolve) => {
		const check = () => (enough() || rec.closed ? resolve(enough()) : rec.waiters.push(check));
		check();
	});
}

async function many(step) {
	const n = step.count;
	const statuses = {};
	const ids = [];
	let bound = 0;
	const one = async (i) => {
		const s = await connect(null);
		const b = await bind(s, 'transceiver', step);
		if (b.command_status !== 0) {
			statuses['bind:' + statusName(b.command_status)] = (statuses['bind:' + statusName(b.command_status)] || 0) + 1;
			s.close();
			return;
		}
		bound++;
		const r = await submit(s, {
			to: (step.to_prefix || '+1555') + String(i).padStart(7, '0'),
			text: (step.text || 'many') + ' ' + i,
			rd: 0,
		});
		statuses[statusName(r.command_status)] = (statuses[statusName(r.command_status)] || 0) + 1;
		if (r.command_status === 0) ids.push(r.message_id);
		await unbind(s);
		s.close();
	};
	const all = [];
	for (let i = 0; i < n; i++) all.push(one(i));
	await withTimeout(Promise.all(all), 'many');
	out({ ev: 'many', count: n, bound, statuses, ids });
}

async function main() {
	for (const step of script.steps) {
		const rec = sessions[step.as];
		switch (step.op) {
		case 'bind': {
			const s = await withTimeout(connect(step.as, step.tls), 'connect');
			if (!s) break;
			const pdu = await withTimeout(bind(s, step.mode || 'transceiver', step), 'bind');
			if (pdu)
				out({
					ev: 'bind_resp', as: step.as, status: statusName(pdu.command_status), system_id: pdu.system_id,
					sc_version: pdu.sc_interface_version,
				});
			break;
		}
		case 'connect': {
			await withTimeout(connect(step.as), 'connect');
			break;
		}
		case 'raw': // writes hex octets as they are, count times
			for (let i = 0; i < (step.count || 1); i++) rec.s.socket.write(Buffer.from(step.hex, 'hex'));
			break;
		case 'wait_close':
			await withTimeout(
				new Promise((resolve) => {
					const w = () => (rec.closed ? resolve() : rec.waiters.push(w));
					w();
				}),
				'wait_close',
			);
			break;
		case 'submit': {
			const pdu = await withTimeout(submit(rec.s, step), 'submit ' + (step.ref || ''));
			if (pdu) out({ ev: 'submit_resp', as: step.as, ref: step.ref, status: statusName(pdu.command_status), id: pdu.message_id });
			break;
		}
		case 'parts':
			if (step.nowait) submitParts(rec, step);
			else await withTimeout(submitParts(rec, step), 'parts ' + (step.ref || ''));
			break;
		case 'wait':
			if (!(await withTimeout(waitFor(rec, step), 'wait ' + step.as))) out({ ev: 'wait_failed', as: step.as });
			break;
		case 'unbind': {
			const pdu = await withTimeout(unbind(rec.s), 'unbind');
			if (pdu) out({ ev: 'unbind_resp', as: step.as, status: statusName(pdu.command_status) });
			if (!rec.closed) rec.s.close();
			break;
		}
		case 'close':
			rec.s.socket.destroy();
			break;
		case 'many':
			await many(step);
			break;
		default:
			out({ ev: 'error', error: 'unknown op ' + step.op });
		}
	}
	out({ ev: 'done' });
	// let closes flush, then leave
	setTimeout(() => process.exit(0), 100);
}

main().catch((e) => {
	out({ ev: 'error', error: String(e && e.stack ? e.stack : e) });
	process.exit(1);
});
