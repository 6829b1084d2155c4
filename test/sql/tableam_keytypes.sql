-- Key types: the contract's (text, bytea, smallint, integer, bigint, uuid) each get the whole kv
-- behaviour: expired keys hidden from sequential and index scans, takeover by a plain INSERT, one
-- physical row per key, REINDEX, and the KV_* functions, which take the key as text and convert it
-- with the key type's input function (a text that does not convert is that type's input error).
-- Any other type with a btree equality works the same way (varchar, numeric and date shown here).
CREATE FUNCTION keytype_run(typ text, live text, expiring text, expired text, bad text)
RETURNS TABLE (step text, result text) LANGUAGE plpgsql AS $$
DECLARE
    t text := 'kt_' || regexp_replace(typ, '\W', '', 'g');
    r text;
BEGIN
    EXECUTE format('CREATE TABLE %I (key %s PRIMARY KEY, n bigint, exp kv_expiry) USING kv', t, typ);
    PERFORM set_config('nodedb_kv.test_clock_offset', '0', true);
    EXECUTE format('INSERT INTO %I VALUES (%L, 1, NULL), (%L, 2, kv_ttl(10)), (%L, 3, kv_ttl(-1))',
                   t, live, expiring, expired);
    -- 20 s later the second key has expired too.
    PERFORM set_config('nodedb_kv.test_clock_offset', '20s', true);
    PERFORM set_config('enable_indexscan', 'off', true);
    PERFORM set_config('enable_bitmapscan', 'off', true);
    EXECUTE format('SELECT string_agg(n::text, '','' ORDER BY n) FROM %I', t) INTO r;
    step := 'seq scan'; result := r; RETURN NEXT;
    PERFORM set_config('enable_seqscan', 'off', true);
    PERFORM set_config('enable_indexscan', 'on', true);
    EXECUTE format('SELECT count(*) FROM %I WHERE key IN (%L, %L, %L)', t, live, expiring, expired) INTO r;
    step := 'index scan'; result := r; RETURN NEXT;
    PERFORM set_config('enable_seqscan', 'on', true);
    EXECUTE format('INSERT INTO %I VALUES (%L, 30, NULL) RETURNING n', t, expired) INTO r;
    step := 'INSERT takes over'; result := r; RETURN NEXT;
    step := 'kv_incr live'; result := kv_incr(t::regclass, live, 10); RETURN NEXT;
    step := 'kv_incr expired'; result := kv_incr(t::regclass, expiring, 5); RETURN NEXT;
    step := 'kv_cas'; result := kv_cas(t::regclass, live, '11', '12') ->> 'success'; RETURN NEXT;
    step := 'kv_getset'; result := kv_getset(t::regclass, live, '13') ->> 'old_value'; RETURN NEXT;
    IF bad IS NOT NULL THEN
        step := 'bad key'; result := atomic_try(format('SELECT kv_incr(%L, %L, 1)', t, bad)); RETURN NEXT;
    END IF;
    PERFORM set_config('nodedb_kv.test_clock_offset', '-1h', true);
    EXECUTE format('SELECT string_agg(key::text || ''='' || n, '' '' ORDER BY n) FROM %I', t) INTO r;
    step := 'physical rows'; result := r; RETURN NEXT;
    EXECUTE format('REINDEX TABLE %I', t);
    step := 'REINDEX'; result := 'ok'; RETURN NEXT;
    EXECUTE format('DROP TABLE %I', t);
END
$$;
-- Every text is a valid text or bytea key: no bad key for those.
SELECT * FROM keytype_run('text', 'live', 'expiring', 'expired', NULL);
SELECT * FROM keytype_run('bytea', 'live', 'expiring', 'expired', NULL);
SELECT * FROM keytype_run('smallint', '-32768', '7', '32767', '70000');
SELECT * FROM keytype_run('integer', '-2147483648', '7', '2147483647', 'seven');
SELECT * FROM keytype_run('bigint', '-9223372036854775808', '7', '9223372036854775807', '9223372036854775808');
SELECT * FROM keytype_run('uuid', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{00000000-0000-0000-0000-000000000007}',
    'ffffffff-ffff-ffff-ffff-ffffffffffff', 'not-a-uuid');
-- Other types with a btree equality.
SELECT * FROM keytype_run('varchar(8)', 'live', 'expiring', 'expired', 'far-too-long');
SELECT * FROM keytype_run('numeric', '1.50', '7', '1e3', 'seven');
SELECT * FROM keytype_run('date', '2026-01-01', 'epoch', 'infinity', '2026-13-01');
-- A bytea key given as text to the KV_* functions is the text's bytes (not bytea's input syntax):
-- '\x41' is four bytes, not 'A'.
CREATE TABLE kt_bytes (key bytea PRIMARY KEY, n bigint) USING kv;
INSERT INTO kt_bytes VALUES ('\x41', 1);
SELECT kv_incr('kt_bytes', 'A', 1) AS a, kv_incr('kt_bytes', '\x41', 1) AS backslash_x41;
SELECT key, n FROM kt_bytes ORDER BY key;
DROP TABLE kt_bytes;
-- numeric keys are compared by value: '1.5' finds the row stored as 1.50.
CREATE TABLE kt_num (key numeric PRIMARY KEY, n bigint) USING kv;
INSERT INTO kt_num VALUES (1.50, 1);
SELECT kv_incr('kt_num', '1.5', 1) AS by_value;
SELECT key, n FROM kt_num ORDER BY key;
DROP TABLE kt_num;
DROP FUNCTION keytype_run(text, text, text, text, text);
