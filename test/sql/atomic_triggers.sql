-- The atomic functions write like SQL does (PG15-PITFALLS §2): BEFORE and AFTER row triggers fire,
-- CHECK / NOT NULL / domain constraints hold, the write belongs to the caller's transaction
-- (rollback, savepoints), and the result is what the row holds after BEFORE triggers.

CREATE DOMAIN atomic_small AS integer CHECK (VALUE BETWEEN -5 AND 5);
CREATE TABLE atomic_guarded (key text PRIMARY KEY, hits bigint CHECK (hits <= 100), small atomic_small,
                             label text NOT NULL DEFAULT 'none', score float8, expires kv_expiry) USING kv;
CREATE TABLE atomic_trigger_log (n serial PRIMARY KEY, event text, key text, old_hits bigint, new_hits bigint,
                                 old_label text, new_label text);
CREATE FUNCTION atomic_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO atomic_trigger_log (event, key, old_hits, new_hits, old_label, new_label)
    VALUES (TG_WHEN || ' ' || TG_OP, coalesce(NEW.key, OLD.key),
            CASE WHEN TG_OP <> 'INSERT' THEN OLD.hits END, CASE WHEN TG_OP <> 'DELETE' THEN NEW.hits END,
            CASE WHEN TG_OP <> 'INSERT' THEN OLD.label END, CASE WHEN TG_OP <> 'DELETE' THEN NEW.label END);
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER atomic_before BEFORE INSERT OR UPDATE ON atomic_guarded FOR EACH ROW EXECUTE FUNCTION atomic_log();
CREATE TRIGGER atomic_after AFTER INSERT OR UPDATE ON atomic_guarded FOR EACH ROW EXECUTE FUNCTION atomic_log();

-- Row triggers see an INSERT for a new key and an UPDATE (old and new row) for an existing one.
SELECT kv_incr('atomic_guarded', 'a', 1, field => 'hits');
SELECT kv_incr('atomic_guarded', 'a', 2, field => 'hits');
SELECT kv_cas('atomic_guarded', 'a', 'none', 'cas', field => 'label');
SELECT kv_getset('atomic_guarded', 'a', 'getset', field => 'label');
SELECT kv_incr_float('atomic_guarded', 'a', 0.5, field => 'score');
SELECT kv_cas('atomic_guarded', 'a', 'no match', 'x', field => 'label');
SELECT event, key, old_hits, new_hits, old_label, new_label FROM atomic_trigger_log ORDER BY n;
TRUNCATE atomic_trigger_log;

-- CHECK, domain and NOT NULL constraints: the call fails (23514 / 23502) and nothing changes.
SELECT atomic_try($$SELECT kv_incr('atomic_guarded', 'a', 98, field => 'hits')$$);
SELECT atomic_try($$SELECT kv_incr('atomic_guarded', 'b', 101, field => 'hits')$$);
SELECT atomic_try($$SELECT kv_incr('atomic_guarded', 'a', 6, field => 'small')$$);
SELECT kv_decr('atomic_guarded', 'a', 5, field => 'small');
SELECT atomic_try($$SELECT kv_decr('atomic_guarded', 'a', 1, field => 'small')$$);
SELECT atomic_try($$SELECT kv_cas('atomic_guarded', 'a', '-5', '9', field => 'small')$$);
ALTER TABLE atomic_guarded ALTER COLUMN label DROP DEFAULT;
SELECT atomic_try($$SELECT kv_incr('atomic_guarded', 'c', 1, field => 'hits')$$);
ALTER TABLE atomic_guarded ALTER COLUMN label SET DEFAULT 'none';
SELECT key, hits, small, label, score FROM atomic_guarded ORDER BY key;
SELECT event, key, old_hits, new_hits FROM atomic_trigger_log ORDER BY n;
TRUNCATE atomic_trigger_log;

-- A BEFORE trigger that changes the row: the stored row is the trigger's, and so is the result.
CREATE FUNCTION atomic_clamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.hits > 50 THEN
        NEW.hits := 50;
    END IF;
    IF NEW.score IS NOT NULL THEN
        NEW.score := round(NEW.score::numeric, 1)::float8;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER atomic_clamp BEFORE INSERT OR UPDATE ON atomic_guarded FOR EACH ROW EXECUTE FUNCTION atomic_clamp();
SELECT kv_incr('atomic_guarded', 'a', 60, field => 'hits') AS clamped_update;
SELECT kv_incr('atomic_guarded', 'new', 70, field => 'hits') AS clamped_insert;
SELECT kv_incr_float('atomic_guarded', 'a', 0.04, field => 'score') AS rounded_score;
SELECT key, hits, score FROM atomic_guarded ORDER BY key;
DROP TRIGGER atomic_clamp ON atomic_guarded;

-- A BEFORE trigger that returns NULL suppresses the write, as it does for SQL DML: nothing is
-- stored, KV_INCR / KV_INCR_FLOAT return the value that stays stored (NULL when the key has no row),
-- KV_CAS reports no success, KV_GETSET returns the value that stays.
CREATE FUNCTION atomic_veto() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.key LIKE 'veto%' OR (TG_OP = 'UPDATE' AND OLD.label = 'frozen') THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER atomic_veto BEFORE INSERT OR UPDATE ON atomic_guarded FOR EACH ROW EXECUTE FUNCTION atomic_veto();
SELECT kv_incr('atomic_guarded', 'veto-new', 5, field => 'hits') IS NULL AS incr_of_suppressed_new_key;
SELECT kv_incr_float('atomic_guarded', 'veto-new', 1.5, field => 'score') IS NULL AS float_of_suppressed_new_key;
SELECT kv_cas('atomic_guarded', 'veto-new', '', 'x', field => 'label') AS cas_of_suppressed_new_key;
SELECT count(*) AS veto_rows FROM atomic_guarded WHERE key LIKE 'veto%';
INSERT INTO atomic_guarded (key, hits, label) VALUES ('f', 7, 'none');
UPDATE atomic_guarded SET label = 'frozen' WHERE key = 'f';
UPDATE atomic_guarded SET label = 'thawed by SQL' WHERE key = 'f';
SELECT label FROM atomic_guarded WHERE key = 'f';
SELECT kv_incr('atomic_guarded', 'f', 5, field => 'hits') AS incr_of_frozen_row;
SELECT kv_cas('atomic_guarded', 'f', 'frozen', 'thawed', field => 'label') AS cas_of_frozen_row;
SELECT kv_getset('atomic_guarded', 'f', 'thawed', field => 'label') AS getset_of_frozen_row;
SELECT key, hits, label FROM atomic_guarded WHERE key = 'f';
DROP TRIGGER atomic_veto ON atomic_guarded;
DELETE FROM atomic_guarded WHERE key = 'f';

-- Rollback undoes every kind of call; a savepoint undoes only what followed it.
TRUNCATE atomic_trigger_log;
SELECT key, hits, small, label, score FROM atomic_guarded ORDER BY key;
BEGIN;
SELECT kv_incr('atomic_guarded', 'a', 1, field => 'hits'), kv_incr('atomic_guarded', 'a', 1, field => 'small'),
       kv_getset('atomic_guarded', 'a', 'in tx', field => 'label'),
       kv_incr_float('atomic_guarded', 'a', 1, field => 'score'),
       kv_cas('atomic_guarded', 'tx', '', 'created', field => 'label');
SELECT key, hits, small, label, score FROM atomic_guarded ORDER BY key;
ROLLBACK;
SELECT key, hits, small, label, score FROM atomic_guarded ORDER BY key;
BEGIN;
SELECT kv_incr('atomic_guarded', 'a', 1, field => 'hits');
SAVEPOINT s1;
SELECT kv_incr('atomic_guarded', 'a', 10, field => 'hits'), kv_incr('atomic_guarded', 'sp', 1, field => 'hits');
ROLLBACK TO SAVEPOINT s1;
SELECT kv_incr('atomic_guarded', 'a', 100, field => 'hits');
ROLLBACK TO SAVEPOINT s1;
SELECT kv_incr('atomic_guarded', 'a', 0, field => 'hits') AS after_failed_call;
COMMIT;
SELECT key, hits FROM atomic_guarded ORDER BY key;
-- A failed call inside a transaction aborts it, like any failed statement.
BEGIN;
SELECT kv_incr('atomic_guarded', 'a', 1, field => 'hits');
SELECT kv_incr('atomic_guarded', 'a', 1000, field => 'hits');
SELECT kv_incr('atomic_guarded', 'a', 1, field => 'hits');
ROLLBACK;
SELECT key, hits FROM atomic_guarded WHERE key = 'a';
-- The trigger log kept only what was committed: the +1 and the +0 outside the rolled-back savepoint.
SELECT event, key, old_hits, new_hits FROM atomic_trigger_log ORDER BY n;

DROP TABLE atomic_guarded, atomic_trigger_log;
DROP FUNCTION atomic_log();
DROP FUNCTION atomic_clamp();
DROP DOMAIN atomic_small;

-- A BEFORE UPDATE trigger that itself updates the row being written: the same 27000 error as the
-- executor gives the equivalent UPDATE (not an internal error), and nothing is written.
CREATE TABLE atomic_selfmod (key text PRIMARY KEY, n bigint, note text) USING kv;
CREATE FUNCTION atomic_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() = 1 THEN
        UPDATE atomic_selfmod SET note = 'touched' WHERE key = NEW.key;
    END IF;
    RETURN NEW;
END
$$;
INSERT INTO atomic_selfmod VALUES ('a', 1, NULL);
CREATE TRIGGER atomic_touch_before BEFORE UPDATE ON atomic_selfmod FOR EACH ROW EXECUTE FUNCTION atomic_touch();
SELECT atomic_try($$UPDATE atomic_selfmod SET n = n + 1 WHERE key = 'a' RETURNING n$$) AS sql_update;
SELECT atomic_try($$SELECT kv_incr('atomic_selfmod', 'a', 1, field => 'n')$$) AS kv_incr;
SELECT atomic_try($$SELECT kv_getset('atomic_selfmod', 'a', 'x', field => 'note')$$) AS kv_getset;
SELECT atomic_try($$SELECT kv_cas('atomic_selfmod', 'a', '1', '5', field => 'n')$$) AS kv_cas;
SELECT key, n, note FROM atomic_selfmod ORDER BY key;
DROP TABLE atomic_selfmod;
DROP FUNCTION atomic_touch();
