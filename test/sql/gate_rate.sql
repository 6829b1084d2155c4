-- Rate gates (CONTRACT.md "Rate gates"): RATE_CHECK, RATE_REMAINING and RATE_RESET.  A fixed window
-- anchored at the first hit; a denied call raises 54001 with the retry delay in the message and the
-- DETAIL, and still counts: its hit is written outside the failing transaction (in place, into the
-- counter row's current version, so it lives as long as that version does).
-- kv's "now" is fixed within a statement, so a scenario run as one statement with the test clock
-- moved between calls (gate_at) has exact millisecond values.
CREATE FUNCTION gate_at(seconds float8, query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('nodedb_kv.test_clock_offset', seconds::text, true);
    RETURN atomic_try(query);
END
$$;

-- The counters live in an unlogged kv collection of the extension, closed to direct access.
SELECT c.relname, c.relpersistence, a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
WHERE c.relname = 'kv_rate_gates';

-- Result shapes.
SELECT rate_check('gate_api', 'user1', 3, 60);
SELECT rate_check('gate_api', 'user1', 3, 60);
SELECT rate_remaining('gate_api', 'user1', 3, 60) - 'resets_in_ms' AS remaining,
       (rate_remaining('gate_api', 'user1', 3, 60) ->> 'resets_in_ms')::bigint BETWEEN 1 AND 60000 AS resets_in_window;
SELECT jsonb_object_keys(rate_remaining('gate_api', 'user1', 3, 60)) AS remaining_keys ORDER BY 1;
SELECT hits, kv_ttl_remaining(expires) <= '60s' AS window_end_set FROM kv_rate_gates
WHERE key = convert_to('gate_api', 'UTF8') || '\x00'::bytea || convert_to('user1', 'UTF8');
SELECT rate_reset('gate_api', 'user1');
SELECT rate_reset('gate_api', 'user1');
SELECT rate_remaining('gate_api', 'user1', 3, 60);
SELECT rate_remaining('gate_api', 'never_seen', 5, 60);
-- In one statement the window is exact: the call over the limit fails with the full delay.
SELECT rate_check('gate_api', 'burst', 2, 10) FROM generate_series(1, 3);
SELECT atomic_try($$SELECT rate_check('gate_api', 'burst2', 1, 10) FROM generate_series(1, 2) OFFSET 1$$);
SELECT rate_remaining('gate_api', 'burst', 2, 10) ->> 'current' AS nothing_counted_by_failed_statement;

-- The window: fixed, anchored at the first hit, [first, first + window); a counter expires when
-- its window end <= now and the next hit opens a new window.  Denied calls are added (current keeps
-- rising; the window end does not move).
SELECT n, t AS at_seconds, gate_at(t, q) FROM (VALUES
    (1, 0, $$SELECT rate_check('gate_win', 'k', 2, 10)$$),
    (2, 0, $$SELECT rate_remaining('gate_win', 'k', 2, 10)$$),
    (3, 4, $$SELECT rate_check('gate_win', 'k', 2, 10)$$),
    (4, 6, $$SELECT rate_check('gate_win', 'k', 2, 10)$$),
    (5, 6, $$SELECT rate_remaining('gate_win', 'k', 2, 10)$$),
    (6, 9.5, $$SELECT rate_check('gate_win', 'k', 2, 10)$$),
    (7, 9.999, $$SELECT rate_check('gate_win', 'k', 2, 10)$$),
    (8, 10, $$SELECT rate_remaining('gate_win', 'k', 2, 10)$$),
    (9, 10, $$SELECT rate_check('gate_win', 'k', 2, 10)$$),
    (10, 10, $$SELECT rate_remaining('gate_win', 'k', 2, 10)$$),
    (11, 19, $$SELECT rate_check('gate_win', 'k', 2, 10)$$),
    (12, 19.5, $$SELECT rate_check('gate_win', 'k', 2, 10)$$),
    (13, 20, $$SELECT rate_check('gate_win', 'k', 2, 10)$$),
    -- An open window keeps its end, whatever window_seconds later calls pass.
    (14, 21, $$SELECT rate_check('gate_win', 'k', 5, 100)$$),
    (15, 21, $$SELECT rate_remaining('gate_win', 'k', 5, 100)$$),
    -- RATE_REMAINING computes with the max_count it is given.
    (16, 21, $$SELECT rate_remaining('gate_win', 'k', 1, 10)$$),
    -- RATE_RESET forgets the counter: the next hit opens a new window.
    (17, 22, $$SELECT rate_reset('gate_win', 'k')$$),
    (18, 22, $$SELECT rate_remaining('gate_win', 'k', 2, 10)$$),
    (19, 22, $$SELECT rate_check('gate_win', 'k', 1, 10)$$),
    (20, 22, $$SELECT rate_check('gate_win', 'k', 1, 10)$$),
    -- After the window, RATE_REMAINING sees no counter and RATE_RESET finds none.
    (21, 32, $$SELECT rate_remaining('gate_win', 'k', 1, 10)$$),
    (22, 32, $$SELECT rate_reset('gate_win', 'k')$$)
) AS s(n, t, q) ORDER BY n;
SHOW nodedb_kv.test_clock_offset;

-- Gates and keys are independent, and the pair is unambiguous ('a:b' + 'c' is not 'a' + 'b:c').
SELECT rate_check('gate_a', 'k', 1, 60) ->> 'current' AS a_k, rate_check('gate_b', 'k', 1, 60) ->> 'current' AS b_k,
       rate_check('gate_a', 'k2', 1, 60) ->> 'current' AS a_k2, rate_check('a:b', 'c', 1, 60) ->> 'current' AS ab_c,
       rate_check('a', 'b:c', 1, 60) ->> 'current' AS a_bc, rate_check('gate_a', '', 1, 60) ->> 'current' AS a_empty;
SELECT atomic_try($$SELECT rate_check('gate_a', 'k', 1, 60)$$) LIKE 'ERROR 54001: rate limit exceeded for gate_a:k, retry after %ms (current=2, max=1)%' AS denied;
-- Denied calls count although their statement fails: in autocommit, and in a transaction that is
-- rolled back (the counter row was committed before; the denied hit does not belong to the
-- transaction).  The stored hits show them too.
SELECT rate_check('gate_deny', 'k', 1, 60) ->> 'current' AS allowed;
SELECT atomic_try($$SELECT rate_check('gate_deny', 'k', 1, 60)$$) LIKE 'ERROR 54001: %(current=2, max=1)%' AS denied_2;
SELECT atomic_try($$SELECT rate_check('gate_deny', 'k', 1, 60)$$) LIKE 'ERROR 54001: %(current=3, max=1)%' AS denied_3;
BEGIN;
SELECT atomic_try($$SELECT rate_check('gate_deny', 'k', 1, 60)$$) LIKE 'ERROR 54001: %(current=4, max=1)%' AS denied_4;
ROLLBACK;
SELECT rate_remaining('gate_deny', 'k', 1, 60) - 'resets_in_ms' AS after_denied_calls;
SELECT hits FROM kv_rate_gates WHERE key = convert_to('gate_deny', 'UTF8') || '\x00'::bytea || convert_to('k', 'UTF8');
-- RATE_RESET still forgets everything.  (Concurrent denied calls: isolation spec gate_rate_concurrent.)
SELECT rate_reset('gate_deny', 'k');
SELECT rate_remaining('gate_deny', 'k', 1, 60) ->> 'current' AS after_reset;
-- Only an unlogged collection takes hits outside the transaction (no WAL, no replica, no decoding to
-- keep consistent): made logged, kv_rate_gates counts denied calls transactionally, i.e. not at all.
ALTER TABLE kv_rate_gates SET LOGGED;
SELECT rate_check('gate_deny', 'logged', 1, 60) ->> 'current' AS allowed;
SELECT atomic_try($$SELECT rate_check('gate_deny', 'logged', 1, 60)$$) LIKE 'ERROR 54001: %(current=2, max=1)%' AS denied;
SELECT atomic_try($$SELECT rate_check('gate_deny', 'logged', 1, 60)$$) LIKE 'ERROR 54001: %(current=2, max=1)%' AS denied_again;
SELECT rate_remaining('gate_deny', 'logged', 1, 60) ->> 'current' AS logged_current;
ALTER TABLE kv_rate_gates SET UNLOGGED;
SELECT relpersistence FROM pg_class WHERE relname = 'kv_rate_gates';
-- Gate and key are returned as JSON strings, escaped.
SELECT rate_reset(E'gate "q"\\', E'k\u00e9y\n');
-- Large limits and windows.
SELECT rate_check('gate_big', 'k', 2147483647, 2147483647);
SELECT (rate_remaining('gate_big', 'k', 2147483647, 2147483647) ->> 'resets_in_ms')::bigint > 2147483640000 AS long_window;

-- An allowed hit belongs to the caller's transaction: rolled back with it.  A denied call is an
-- error: it aborts the transaction, with the hits it already counted; its own hit went into the
-- counter row that transaction had written, so it goes too (here: two allowed hits, then the
-- denied one, all in one statement, so the delay is the full window).
BEGIN;
SELECT rate_check('gate_tx', 'k', 2, 60);
ROLLBACK;
SELECT rate_remaining('gate_tx', 'k', 2, 60) ->> 'current' AS after_rollback;
BEGIN;
DO $$
BEGIN
    PERFORM rate_check('gate_tx', 'k', 2, 60);
    PERFORM rate_check('gate_tx', 'k', 2, 60);
    PERFORM rate_check('gate_tx', 'k', 2, 60);
END
$$;
ROLLBACK;
SELECT rate_remaining('gate_tx', 'k', 2, 60) ->> 'current' AS after_denied_transaction;
-- Caught in a savepoint, a denied call leaves the transaction's earlier hits counted, and its own
-- (written into the version an earlier statement of the transaction made).
BEGIN;
SELECT rate_check('gate_tx', 'k', 2, 60) ->> 'current' AS first;
SELECT rate_check('gate_tx', 'k', 2, 60) ->> 'current' AS second;
SELECT atomic_try($$SELECT rate_check('gate_tx', 'k', 2, 60)$$) LIKE 'ERROR 54001: %(current=3, max=2)%' AS third_denied;
SELECT rate_remaining('gate_tx', 'k', 2, 60) ->> 'current' AS in_transaction;
COMMIT;
SELECT rate_remaining('gate_tx', 'k', 2, 60) ->> 'current' AS committed;

-- Bad arguments: 22023.
SELECT atomic_try(format(q, 'gate_x', 'k')) FROM (VALUES
    ('SELECT rate_check(NULL, %2$L, 1, 1)'), ('SELECT rate_check(%L, NULL, 1, 1)'),
    ('SELECT rate_check(%L, %L, NULL, 1)'), ('SELECT rate_check(%L, %L, 1, NULL)'),
    ('SELECT rate_check(%L, %L, 0, 1)'), ('SELECT rate_check(%L, %L, -1, 1)'),
    ('SELECT rate_check(%L, %L, 1, 0)'), ('SELECT rate_check(%L, %L, 1, -60)'),
    ('SELECT rate_check('''', %2$L, 1, 1)'),
    ('SELECT rate_remaining(NULL, %2$L, 1, 1)'), ('SELECT rate_remaining(%L, NULL, 1, 1)'),
    ('SELECT rate_remaining(%L, %L, NULL, 1)'), ('SELECT rate_remaining(%L, %L, 1, NULL)'),
    ('SELECT rate_remaining(%L, %L, 0, 1)'), ('SELECT rate_remaining(%L, %L, 1, 0)'),
    ('SELECT rate_remaining('''', %2$L, 1, 1)'),
    ('SELECT rate_reset(NULL, %2$L)'), ('SELECT rate_reset(%L, NULL)'), ('SELECT rate_reset('''', %2$L)')
) AS s(q);
SELECT count(*) AS nothing_counted FROM kv_rate_gates
WHERE key = convert_to('gate_x', 'UTF8') || '\x00'::bytea || convert_to('k', 'UTF8');

-- Read-only transactions: RATE_CHECK and RATE_RESET write (25006); RATE_REMAINING only reads.
BEGIN READ ONLY;
SELECT atomic_try($$SELECT rate_check('gate_api', 'ro', 1, 60)$$);
ROLLBACK;
BEGIN READ ONLY;
SELECT atomic_try($$SELECT rate_reset('gate_api', 'burst')$$);
ROLLBACK;
BEGIN READ ONLY;
SELECT rate_remaining('gate_api', 'burst', 2, 10) - 'resets_in_ms' AS read_only_remaining;
COMMIT;

-- Privileges: EXECUTE on the functions governs access; the counters table itself stays closed.
CREATE ROLE gate_user;
SET ROLE gate_user;
SELECT rate_check('gate_role', 'k', 5, 60) ->> 'current' AS check_as_plain_role;
SELECT rate_remaining('gate_role', 'k', 5, 60) ->> 'current' AS remaining_as_plain_role;
SELECT rate_reset('gate_role', 'k') ->> 'reset' AS reset_as_plain_role;
SELECT atomic_try($$SELECT count(*) FROM kv_rate_gates$$);
SELECT atomic_try($$SELECT kv_incr('kv_rate_gates', 'k', 1, field => 'hits')$$);
RESET ROLE;
REVOKE EXECUTE ON FUNCTION rate_check(text, text, integer, integer) FROM PUBLIC;
SET ROLE gate_user;
SELECT atomic_try($$SELECT rate_check('gate_role', 'k', 5, 60)$$);
RESET ROLE;
GRANT EXECUTE ON FUNCTION rate_check(text, text, integer, integer) TO PUBLIC;
DROP ROLE gate_user;

-- Clean up the counters this test created.
SELECT count(*) > 0 AS had_counters FROM kv_rate_gates;
DELETE FROM kv_rate_gates;
DROP FUNCTION gate_at(float8, text);
