-- A connection's throughput counts SMS parts (PDUs), as SMSCs do: a 4-part
-- message takes four of its tokens (issue 17, "flow control per PDU").
COMMENT ON COLUMN smspool.connections.throughput IS 'SMS parts (PDUs) per second sent on this connection: a message of n parts takes n; NULL = unlimited; > 0.';
