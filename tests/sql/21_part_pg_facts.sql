-- The PostgreSQL 15 behaviours the partition design rests on
-- (sql/partitions.md): if an upgrade of PostgreSQL changes one, this fails
-- before the partition maintenance does.  Scratch tables in pg_temp only.
BEGIN;
SELECT plan(6);

CREATE TABLE pg_temp.px (id bigint GENERATED ALWAYS AS IDENTITY, k text, v int) PARTITION BY RANGE (id);
SELECT lives_ok($$CREATE TABLE pg_temp.p1 PARTITION OF pg_temp.px FOR VALUES FROM (MINVALUE) TO (100)$$,
	'a partition of a parent with an identity column');
INSERT INTO pg_temp.px (v) VALUES (7);
SELECT is((SELECT id FROM pg_temp.p1 WHERE v = 7), 1::bigint,
	'a row inserted through the parent gets its id from the parent''s identity');
SELECT throws_ok($$CREATE UNIQUE INDEX ON pg_temp.px (k)$$, '0A000', NULL,
	'a unique index without the partition key is refused (idempotency_key needs a key table)');
-- an existing table, with a statement trigger with a transition table, is
-- attached as a partition after a CHECK that matches its range
CREATE TABLE pg_temp.old (id bigint NOT NULL, k text, v int);
INSERT INTO pg_temp.old VALUES (150, 'a', 1);
CREATE FUNCTION pg_temp.tf() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RETURN NULL; END $f$;
CREATE TRIGGER t AFTER INSERT ON pg_temp.old REFERENCING NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.tf();
ALTER TABLE pg_temp.old ADD CONSTRAINT old_range CHECK (id >= 100 AND id < 200);
SELECT lives_ok($$ALTER TABLE pg_temp.px ATTACH PARTITION pg_temp.old FOR VALUES FROM (100) TO (200)$$,
	'an existing table with its rows and a transition-table statement trigger can be attached');
SELECT is((SELECT v FROM pg_temp.px WHERE id = 150), 1, 'its rows are read through the parent');
SELECT throws_ok($$ALTER TABLE pg_temp.px DETACH PARTITION pg_temp.old CONCURRENTLY$$, '25001', NULL,
	'DETACH ... CONCURRENTLY cannot run in a transaction block (the store thread issues it)');

SELECT * FROM finish();
ROLLBACK;
