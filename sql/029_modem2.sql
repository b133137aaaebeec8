-- 029_modem2: parts of a long text kept in the database until the set is
-- complete (issue 13, the `at` connection's +CMT).
--
-- A text a modem pushes with +CMT must be acknowledged (AT+CNMA) within
-- the network's timeout, and the modem pushes no next part before that
-- acknowledgement: the parts of a long text cannot wait in the daemon's
-- memory for the whole set to be committed.  So each part is committed on
-- its own, here, before its AT+CNMA; the set becomes one inbox row when its
-- last part comes (or, incomplete, once it is overdue), and a daemon killed
-- between two parts loses nothing.
--
-- A part comes through record_inbound like any received item, with a key
-- 'sms-part:<timeout s>:<total>:<seq>:<set>' (<set>: the connection's name
-- for the set: alphabet, sender, reference); such an element is not an inbox
-- row but a row of inbound_parts.  The 10-argument record_inbound of
-- 012_email (whatever a later migration made of it) stays as
-- record_inbound_whole and stores the rest.

CREATE TABLE smspool.inbound_parts (
	connection text NOT NULL,
	set_key text NOT NULL,
	seq int NOT NULL,
	total int NOT NULL,
	sender text NOT NULL,
	recipient text NOT NULL,
	body text,
	payload text,
	encoding text,
	smsc_timestamp timestamptz,
	timeout_s int NOT NULL,
	received_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (connection, set_key, seq)
);
COMMENT ON TABLE smspool.inbound_parts IS 'Parts of long texts received one by one (GSM modem +CMT), committed before the modem acknowledges each; record_inbound joins a set into one inbox row when its last part comes, or stores what came once the first part is timeout_s old.';
COMMENT ON COLUMN smspool.inbound_parts.set_key IS 'The set within the connection: alphabet, sender and concatenation reference.';
COMMENT ON COLUMN smspool.inbound_parts.seq IS 'Part number, 1..total; a part given twice (redelivered) is kept once.';
COMMENT ON COLUMN smspool.inbound_parts.body IS 'The part''s text (UTF-8), or NULL when it is binary (payload, hex).';
COMMENT ON COLUMN smspool.inbound_parts.timeout_s IS 'After this many seconds an incomplete set goes to the inbox with the parts that came.';

ALTER FUNCTION smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[])
	RENAME TO record_inbound_whole;
COMMENT ON FUNCTION smspool.record_inbound_whole(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[]) IS 'Daemon, through record_inbound: stores whole received messages in inbox (keys as described on record_inbound).';

CREATE FUNCTION smspool.record_inbound(p_connections text[], p_senders text[], p_recipients text[], p_bodies text[],
	p_payloads text[], p_udhs text[], p_encodings text[], p_parts int[], p_smsc_timestamps timestamptz[], p_keys text[])
RETURNS SETOF bigint
LANGUAGE plpgsql AS $$
DECLARE
	n int := coalesce(array_length(p_connections, 1), 0);
	w_conn text[] := '{}'; w_snd text[] := '{}'; w_rcp text[] := '{}'; w_body text[] := '{}'; w_payload text[] := '{}';
	w_udh text[] := '{}'; w_enc text[] := '{}'; w_parts int[] := '{}'; w_ts timestamptz[] := '{}'; w_key text[] := '{}';
	j_conn text[]; j_snd text[]; j_rcp text[]; j_body text[]; j_payload text[]; j_udh text[]; j_enc text[];
	j_parts int[]; j_ts timestamptz[]; j_key text[];
	m text[];
BEGIN
	FOR i IN 1 .. n LOOP
		m := CASE WHEN p_keys IS NOT NULL THEN regexp_match(p_keys[i], '^sms-part:([0-9]{1,9}):([0-9]{1,3}):([0-9]{1,3}):(.+)$') END;
		IF m IS NULL THEN
			w_conn := w_conn || p_connections[i];
			w_snd := w_snd || p_senders[i];
			w_rcp := w_rcp || p_recipients[i];
			w_body := w_body || p_bodies[i];
			w_payload := w_payload || p_payloads[i];
			w_udh := w_udh || p_udhs[i];
			w_enc := w_enc || p_encodings[i];
			w_parts := w_parts || p_parts[i];
			w_ts := w_ts || p_smsc_timestamps[i];
			w_key := w_key || p_keys[i];
		ELSE
			INSERT INTO smspool.inbound_parts (connection, set_key, seq, total, sender, recipient, body, payload, encoding,
				smsc_timestamp, timeout_s)
			VALUES (p_connections[i], m[4], m[3]::int, m[2]::int, p_senders[i], p_recipients[i], p_bodies[i], p_payloads[i],
				p_encodings[i], p_smsc_timestamps[i], m[1]::int)
			ON CONFLICT DO NOTHING;
		END IF;
	END LOOP;
	-- Sets of the connections in this call that are complete or overdue
	-- become one inbox row each: text when every part is text, else the
	-- hex octets (a text part as its UTF-8).
	WITH due AS (
		SELECT q.connection, q.set_key FROM smspool.inbound_parts q
		WHERE q.connection = ANY (p_connections)
		GROUP BY q.connection, q.set_key
		HAVING count(*) >= max(q.total) OR min(q.received_at) < now() - make_interval(secs => max(q.timeout_s))
	), gone AS (
		DELETE FROM smspool.inbound_parts p USING due
		WHERE p.connection = due.connection AND p.set_key = due.set_key
		RETURNING p.*
	), joined AS (
		SELECT g.connection, (array_agg(g.sender ORDER BY g.seq))[1] AS snd, (array_agg(g.recipient ORDER BY g.seq))[1] AS rcp,
			bool_and(g.body IS NOT NULL) AS is_text,
			string_agg(g.body, '' ORDER BY g.seq) AS body,
			string_agg(coalesce(g.payload, encode(convert_to(g.body, 'UTF8'), 'hex')), '' ORDER BY g.seq) AS payload,
			(array_agg(g.encoding ORDER BY g.seq))[1] AS enc, count(*)::int AS parts,
			(array_agg(g.smsc_timestamp ORDER BY g.seq))[1] AS ts
		FROM gone g GROUP BY g.connection, g.set_key
	)
	SELECT array_agg(j.connection), array_agg(j.snd), array_agg(j.rcp), array_agg(CASE WHEN j.is_text THEN j.body END),
		array_agg(CASE WHEN NOT j.is_text THEN j.payload END), array_agg(NULL::text),
		array_agg(CASE WHEN j.is_text THEN j.enc ELSE 'binary' END), array_agg(j.parts), array_agg(j.ts),
		array_agg(NULL::text)
	INTO j_conn, j_snd, j_rcp, j_body, j_payload, j_udh, j_enc, j_parts, j_ts, j_key
	FROM joined j;
	IF j_conn IS NOT NULL THEN
		w_conn := w_conn || j_conn; w_snd := w_snd || j_snd; w_rcp := w_rcp || j_rcp; w_body := w_body || j_body;
		w_payload := w_payload || j_payload; w_udh := w_udh || j_udh; w_enc := w_enc || j_enc; w_parts := w_parts || j_parts;
		w_ts := w_ts || j_ts; w_key := w_key || j_key;
	END IF;
	IF cardinality(w_conn) = 0 THEN
		RETURN;
	END IF;
	RETURN QUERY SELECT * FROM smspool.record_inbound_whole(w_conn, w_snd, w_rcp, w_body, w_payload, w_udh, w_enc, w_parts,
		w_ts, w_key);
END
$$;
COMMENT ON FUNCTION smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[]) IS 'Daemon: stores received messages (one array element each) in inbox and returns the new ids; an element with a key (p_keys) already in inbound_keys for its connection, or repeated in the call, is skipped (taken before), others record their key. A key sms-part:<timeout s>:<total>:<seq>:<set> makes the element a part kept in inbound_parts (once per seq) until its set is complete or overdue, then the set is one inbox row. One NOTIFY smspool_inbox per call.';
REVOKE EXECUTE ON FUNCTION smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION smspool.record_inbound_whole(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[]) TO smspool_daemon;
GRANT SELECT, INSERT, DELETE ON smspool.inbound_parts TO smspool_daemon;
GRANT SELECT, DELETE ON smspool.inbound_parts TO smspool_admin;
