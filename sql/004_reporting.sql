-- 004_reporting: views for DBAs and applications (no extra code paths).

CREATE VIEW smspool.report_hourly AS
SELECT
	o.connection_used AS connection,
	date_trunc('hour', o.created_at) AS hour,
	count(*) AS total,
	count(*) FILTER (WHERE o.status = 'queued') AS queued,
	count(*) FILTER (WHERE o.status = 'sending') AS sending,
	count(*) FILTER (WHERE o.status = 'sent') AS sent,
	count(*) FILTER (WHERE o.status = 'delivered') AS delivered,
	count(*) FILTER (WHERE o.status = 'undelivered') AS undelivered,
	count(*) FILTER (WHERE o.status = 'expired') AS expired,
	count(*) FILTER (WHERE o.status = 'rejected') AS rejected,
	count(*) FILTER (WHERE o.status = 'failed') AS failed,
	count(*) FILTER (WHERE o.status = 'cancelled') AS cancelled,
	round(count(*) FILTER (WHERE o.status = 'delivered')::numeric
		/ nullif(count(*) FILTER (WHERE o.sent_at IS NOT NULL
			AND o.status IN ('delivered', 'undelivered', 'expired', 'rejected')), 0), 4) AS delivery_ratio,
	percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM o.sent_at - o.created_at)::float8)
		FILTER (WHERE o.sent_at IS NOT NULL) AS queued_to_sent_p50_s,
	percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM o.sent_at - o.created_at)::float8)
		FILTER (WHERE o.sent_at IS NOT NULL) AS queued_to_sent_p95_s,
	percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM o.done_at - o.sent_at)::float8)
		FILTER (WHERE o.status = 'delivered' AND o.sent_at IS NOT NULL) AS sent_to_delivered_p50_s,
	percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM o.done_at - o.sent_at)::float8)
		FILTER (WHERE o.status = 'delivered' AND o.sent_at IS NOT NULL) AS sent_to_delivered_p95_s
FROM smspool.outbox o
GROUP BY o.connection_used, date_trunc('hour', o.created_at);
COMMENT ON VIEW smspool.report_hourly IS 'Per connection_used (NULL: never submitted) and hour of created_at: total, count per status, delivery_ratio = delivered / sent messages with a final report state (delivered, undelivered, expired, rejected), p50/p95 seconds from insert to sent and from sent to delivered. Example: SELECT * FROM smspool.report_hourly WHERE hour >= now() - interval ''1 day'' ORDER BY hour, connection. Scans the outbox rows of the whole period: filter on hour.';

CREATE VIEW smspool.queue_depth AS
SELECT
	coalesce(q.connection, '(routed)') AS connection,
	count(*) FILTER (WHERE q.claimed_by IS NULL) AS queued,
	count(*) FILTER (WHERE q.claimed_by IS NULL AND q.due_at <= now()) AS due_now,
	count(*) FILTER (WHERE q.claimed_by IS NULL AND q.due_at > now()) AS scheduled_later,
	count(*) FILTER (WHERE q.claimed_by IS NOT NULL) AS sending,
	min(o.created_at) AS oldest_created_at
FROM smspool.queue q
JOIN smspool.outbox o ON o.id = q.message_id
GROUP BY coalesce(q.connection, '(routed)');
COMMENT ON VIEW smspool.queue_depth IS 'Messages still to send per forced connection (''(routed)'' for messages routed by smspool.routes): queued (not claimed), due_now, scheduled_later (send_after or retry in the future), sending (claimed under a lease), oldest_created_at.';

CREATE VIEW smspool.status_counts AS
SELECT o.status, count(*) AS messages
FROM smspool.outbox o
GROUP BY o.status;
COMMENT ON VIEW smspool.status_counts IS 'Number of outbox messages per status (scans the outbox).';
