-- Oracle test: random workloads (inserts, updates of the score and window columns, deletes, KV_INCR,
-- rolled-back subtransactions, takeover of expired keys, COPY, TRUNCATE), and after each round every
-- RANK / TOPK / SORTED_COUNT of three indexes (two orderings and a daily window) equals row_number()
-- over the rows live at kv_now(): expired rows not yet deleted (no expiry worker runs in this instance)
-- are absent from the index's answers as from the table's.  Deterministic (setseed).
-- Rows KV_INCR creates have no "at": they are in no index on "at".
CREATE TABLE oracle_scores (key text PRIMARY KEY, score int, at timestamptz, expires kv_expiry) USING kv;
CREATE INDEX or_desc ON oracle_scores USING kv_sorted (score DESC, at);
CREATE INDEX or_asc ON oracle_scores USING kv_sorted (score, key DESC);
CREATE INDEX or_daily ON oracle_scores USING kv_sorted (score DESC) WITH (window = 'daily', window_column = 'at');
CREATE FUNCTION oracle_round(seed float8, ops int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    k text;
    r float8;
BEGIN
    PERFORM setseed(seed);
    FOR i IN 1 .. ops LOOP
        k := 'k' || (1 + floor(random() * 300))::int;
        r := random();
        BEGIN
            IF r < 0.25 THEN
                INSERT INTO oracle_scores VALUES (k, floor(random() * 50)::int,
                        kv_now() - floor(random() * 3) * interval '1 day',
                        CASE WHEN random() < 0.2 THEN kv_ttl(5) END)
                    ON CONFLICT (key) DO UPDATE SET score = excluded.score, at = excluded.at;
            ELSIF r < 0.45 THEN
                UPDATE oracle_scores SET score = CASE WHEN random() < 0.1 THEN NULL ELSE floor(random() * 50)::int END
                    WHERE key = k;
            ELSIF r < 0.55 THEN
                UPDATE oracle_scores SET at = kv_now() - floor(random() * 3) * interval '1 day' WHERE key = k;
            ELSIF r < 0.65 THEN
                DELETE FROM oracle_scores WHERE key = k;
            ELSIF r < 0.8 THEN
                PERFORM KV_INCR('oracle_scores', k, floor(random() * 10)::int - 5, field => 'score');
            ELSE
                -- A subtransaction that fails after writing: its changes must never arrive.
                UPDATE oracle_scores SET score = 1000 WHERE key = k;
                DELETE FROM oracle_scores WHERE key = 'k' || (1 + floor(random() * 300))::int;
                RAISE EXCEPTION 'roll back';
            END IF;
        EXCEPTION WHEN raise_exception THEN
            NULL;
        END;
    END LOOP;
END
$$;
CREATE FUNCTION oracle_check() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    result := 'desc ' || sorted_check('or_desc', 'oracle_scores', 'score DESC, at, key', 'score IS NOT NULL AND at IS NOT NULL')
        || ', asc ' || sorted_check('or_asc', 'oracle_scores', 'score, key DESC', 'score IS NOT NULL')
        || ', daily ' || sorted_check('or_daily', 'oracle_scores', 'score DESC, key',
               format('score IS NOT NULL AND at >= %L AND at < %L',
                      date_bin('1 day', kv_now(), timestamptz '2000-01-01 00:00Z'),
                      date_bin('1 day', kv_now(), timestamptz '2000-01-01 00:00Z') + interval '1 day'));
    RETURN result;
END
$$;
SET nodedb_kv.test_clock_offset = 0;
SELECT oracle_round(0.1, 1500);
SELECT oracle_check();
-- Expire some keys (the clock moves 10 s on), then write the same keys again: takeovers.
SET nodedb_kv.test_clock_offset = 10;
SET nodedb_kv.show_expired = on;
SELECT count(*) > 0 AS some_expired FROM oracle_scores WHERE expires <= kv_now();
RESET nodedb_kv.show_expired;
SELECT oracle_round(0.2, 1500);
SELECT oracle_check();
SELECT sum(expired) > 0 AS takeovers_happened FROM kv_stats WHERE collection = 'oracle_scores'::regclass;
-- COPY, then a rolled-back TRUNCATE, then a committed one followed by new rows in the same transaction.
COPY oracle_scores (key, score, at) FROM stdin;
copy-1	17	2030-01-01 00:00:00+00
copy-2	\N	2030-01-01 00:00:00+00
copy-3	49	2020-01-01 00:00:00+00
\.
SELECT oracle_check();
BEGIN;
TRUNCATE oracle_scores;
ROLLBACK;
SELECT oracle_check();
BEGIN;
TRUNCATE oracle_scores;
SELECT oracle_round(0.3, 300);
COMMIT;
SELECT oracle_check();
SELECT oracle_round(0.4, 1000);
SELECT oracle_check();
SELECT SORTED_COUNT('or_desc') > 100 AS populated;
RESET nodedb_kv.test_clock_offset;
DROP TABLE oracle_scores;
DROP FUNCTION oracle_round(float8, int);
DROP FUNCTION oracle_check();
