-- 036_modem: an incomplete long text pushed with +CMT (sql/029_modem2.sql)
-- ends in the inbox when it is overdue, without waiting for more traffic
-- on its connection (issue 13).
--
-- 029 joins a set, or stores an overdue incomplete one with the parts that
-- came, only inside a record_inbound call that names its connection: with
-- no more texts coming, an incomplete set waited for ever.  So the daemon's
-- `at` connection sends, once a set it holds parts of is overdue (and at
-- every sweep), a flush marker: an element whose key is 'sms-parts-due'.
-- Here the marker's key is registered as taken for its connection before
-- 029's record_inbound (now record_inbound_parts) runs: the marker names
-- its connection, so that connection's overdue sets become inbox rows, and
-- is itself skipped as taken before, never an inbox row.

ALTER FUNCTION smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[])
	RENAME TO record_inbound_parts;
COMMENT ON FUNCTION smspool.record_inbound_parts(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[]) IS 'Daemon, through record_inbound: parts of long texts (keys sms-part:...) into inbound_parts, complete or overdue sets of the connections named joined, the rest stored by record_inbound_whole.';

CREATE FUNCTION smspool.record_inbound(p_connections text[], p_senders text[], p_recipients text[], p_bodies text[],
	p_payloads text[], p_udhs text[], p_encodings text[], p_parts int[], p_smsc_timestamps timestamptz[], p_keys text[])
RETURNS SETOF bigint
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO smspool.inbound_keys (connection, key)
	SELECT DISTINCT u.conn, u.key FROM unnest(p_connections, p_keys) AS u(conn, key)
	WHERE u.key = 'sms-parts-due'
	ON CONFLICT DO NOTHING;
	RETURN QUERY SELECT * FROM smspool.record_inbound_parts(p_connections, p_senders, p_recipients, p_bodies, p_payloads,
		p_udhs, p_encodings, p_parts, p_smsc_timestamps, p_keys);
END
$$;
COMMENT ON FUNCTION smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[]) IS 'Daemon: stores received messages (one array element each) in inbox and returns the new ids; an element with a key (p_keys) already in inbound_keys for its connection, or repeated in the call, is skipped (taken before), others record their key. A key sms-part:<timeout s>:<total>:<seq>:<set> makes the element a part kept in inbound_parts (once per seq) until its set is complete or overdue, then the set is one inbox row. A key sms-parts-due is a flush marker: no row, but the overdue sets of its connection are stored. One NOTIFY smspool_inbox per call.';
REVOKE EXECUTE ON FUNCTION smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION smspool.record_inbound_parts(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[]) TO smspool_daemon;
GRANT EXECUTE ON FUNCTION smspool.record_inbound_parts(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[]) TO smspool_daemon;
