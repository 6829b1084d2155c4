-- Issue 7, the engine's part: what a hostile or careless caller of the KV functions tried, kept so
-- none of it comes back.  Runs before api_setup (alphabetical order): it creates the extension and
-- its own helpers, and drops everything at the end.
CREATE EXTENSION nodedb_kv;
-- adv_try: the query's result, or "ERROR <SQLSTATE>: message" (and DETAIL).
CREATE FUNCTION adv_try(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text;
    state text;
    message text;
    detail text;
BEGIN
    EXECUTE query INTO result;
    RETURN result;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    RETURN 'ERROR ' || state || ': ' || message || CASE WHEN detail <> '' THEN ' DETAIL: ' || detail ELSE '' END;
END
$$;

-- 1. A BEFORE INSERT trigger that changes the key: the insert of 'User1' lands on the existing
-- 'user1', so the write goes to that row, as INSERT ... ON CONFLICT DO UPDATE would (it used to
-- retry for ever: the caller's key stays absent, the trigger's key always conflicts).
CREATE TABLE adv_lower (key text PRIMARY KEY, v bigint, f float8, label text) USING kv;
CREATE FUNCTION adv_lower_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.key := lower(NEW.key);
    RETURN NEW;
END
$$;
CREATE TRIGGER adv_lower_key BEFORE INSERT ON adv_lower FOR EACH ROW EXECUTE FUNCTION adv_lower_key();
SET statement_timeout = '20s'; -- a regression would fail here instead of hanging the suite
SELECT kv_incr('adv_lower', 'user1', 1, field => 'v');
SELECT kv_incr('adv_lower', 'User1', 1, field => 'v');
SELECT kv_decr('adv_lower', 'USER1', 5, field => 'v');
SELECT kv_incr_float('adv_lower', 'uSer1', 1.5, field => 'f');
SELECT kv_getset('adv_lower', 'User1', 'g', field => 'label');
SELECT kv_cas('adv_lower', 'User1', 'g', 'c', field => 'label'); -- 'User1' is absent: no insert, no match
SELECT kv_cas('adv_lower', 'User1', '', 'never', field => 'label'); -- 'user1' exists: its value is not ''
SELECT kv_cas('adv_lower', 'New', '', 'created', field => 'label');  -- a new key: stored lower-cased
SELECT key, v, f, label FROM adv_lower ORDER BY key;
-- The bound: that write needs two attempts (the insert, then the update of the trigger's key); with
-- one allowed it gives up with a retryable 40001 instead of looping.
SET nodedb_kv.max_write_attempts = 1;
SELECT adv_try($$SELECT kv_incr('adv_lower', 'User1', 1, field => 'v')$$);
SELECT adv_try($$SELECT kv_getset('adv_lower', 'User1', 'x', field => 'label')$$);
SELECT adv_try($$SELECT kv_cas('adv_lower', 'User1', '', 'x', field => 'label')$$);
SELECT adv_try($$SELECT kv_incr_float('adv_lower', 'User1', 1, field => 'f')$$);
SELECT kv_incr('adv_lower', 'user1', 1, field => 'v') AS one_attempt_is_enough_without_a_key_change;
RESET nodedb_kv.max_write_attempts;
SHOW nodedb_kv.max_write_attempts;
SELECT key, v, f, label FROM adv_lower ORDER BY key;
RESET statement_timeout;

-- Clean up: the extension and the helpers go, so api_setup starts from nothing.
DROP TABLE adv_lower;
DROP FUNCTION adv_lower_key();
DROP FUNCTION adv_try(text);
DROP EXTENSION nodedb_kv;
