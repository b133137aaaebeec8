-- 012_email: remembers which received items (mails, by mailbox and UID) are
-- in the inbox already, so that a connection that reads a mailbox without
-- deleting from it, or is restarted between storing and deleting, never
-- stores the same mail twice.  record_inbound gets a tenth argument, the
-- items' keys (NULL = no key, as before); the 9-argument form stays.

CREATE TABLE smspool.inbound_keys (
	connection text NOT NULL,
	key text NOT NULL,
	taken_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (connection, key)
);
COMMENT ON TABLE smspool.inbound_keys IS 'Keys of received items already stored in inbox, per connection (email: "<mailbox URL>#<UIDL or UID>"). record_inbound skips an item whose key is here. Purge old rows of mails that left the mailbox (DELETE … WHERE taken_at < now() - interval ''90 days'').';
COMMENT ON COLUMN smspool.inbound_keys.connection IS 'Connection that received the item.';
COMMENT ON COLUMN smspool.inbound_keys.key IS 'The item''s key, unique within the connection.';
COMMENT ON COLUMN smspool.inbound_keys.taken_at IS 'When it was stored.';

CREATE FUNCTION smspool.record_inbound(p_connections text[], p_senders text[], p_recipients text[], p_bodies text[],
	p_payloads text[], p_udhs text[], p_encodings text[], p_parts int[], p_smsc_timestamps timestamptz[], p_keys text[])
RETURNS SETOF bigint
LANGUAGE sql AS $$
	WITH t AS (
		SELECT * FROM unnest(p_connections, p_senders, p_recipients, p_bodies, p_payloads, p_udhs, p_encodings, p_parts,
			p_smsc_timestamps, p_keys) WITH ORDINALITY AS t(conn, snd, rcp, body, payload, udh, enc, parts, ts, key, ord)
	),
	k AS (  -- keys seen for the first time: their first item is stored
		INSERT INTO smspool.inbound_keys (connection, key)
		SELECT DISTINCT t.conn, t.key FROM t WHERE t.key IS NOT NULL
		ON CONFLICT DO NOTHING
		RETURNING connection, key
	),
	ins AS (
		INSERT INTO smspool.inbox (connection, sender, recipient, body, payload, udh, encoding, parts, smsc_timestamp)
		SELECT t.conn, t.snd, t.rcp, t.body, t.payload, t.udh, t.enc, coalesce(t.parts, 1), t.ts
		FROM t
		WHERE t.key IS NULL
		   OR (EXISTS (SELECT 1 FROM k WHERE k.connection = t.conn AND k.key = t.key)
		       AND t.ord = (SELECT min(t2.ord) FROM t t2 WHERE t2.conn = t.conn AND t2.key = t.key))
		ORDER BY t.ord
		RETURNING id
	)
	SELECT id FROM ins ORDER BY id
$$;
COMMENT ON FUNCTION smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[]) IS 'Daemon: stores received messages (one array element each) in inbox and returns the new ids; an element with a key (p_keys) already in inbound_keys for its connection, or repeated in the call, is skipped (taken before), others record their key. One NOTIFY smspool_inbox per call.';
REVOKE EXECUTE ON FUNCTION smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[]) TO smspool_daemon;
GRANT SELECT, INSERT, UPDATE, DELETE ON smspool.inbound_keys TO smspool_daemon;
GRANT SELECT, DELETE ON smspool.inbound_keys TO smspool_admin;
