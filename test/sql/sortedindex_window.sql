-- Windowed kv_sorted indexes with the test clock: daily = [UTC midnight, next), weekly = [Monday
-- 00:00 UTC, next Monday), monthly = [1st 00:00 UTC, next 1st).  An entry counts iff its
-- window_column lies in the current window at query time; when the clock moves on, the new window
-- starts empty (old ones are freed) and a clock moved back is answered exactly too (rebuild).
-- The session's time zone (pg_regress: PST8PDT) must not matter.
CREATE FUNCTION set_test_now(ts timestamptz) RETURNS void LANGUAGE sql AS $$
    SELECT set_config('nodedb_kv.test_clock_offset', (extract(epoch FROM ts - statement_timestamp()))::text, false)
$$;
CREATE TABLE daily_scores (key text PRIMARY KEY, score int, updated_at timestamptz) USING kv;
CREATE INDEX lb_daily ON daily_scores USING kv_sorted (score DESC) WITH (window = 'daily', window_column = 'updated_at');
CREATE INDEX lb_weekly ON daily_scores USING kv_sorted (score DESC) WITH (window = 'weekly', window_column = 'updated_at');
CREATE INDEX lb_monthly ON daily_scores USING kv_sorted (score DESC) WITH (window = 'monthly', window_column = 'updated_at');
CREATE VIEW windows AS SELECT
    date_bin('1 day', kv_now(), timestamptz '2000-01-01 00:00Z') AS day_start,
    date_bin('7 days', kv_now(), timestamptz '2000-01-03 00:00Z') AS week_start,
    date_trunc('month', kv_now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month_start,
    (date_trunc('month', kv_now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC' AS month_end;
CREATE FUNCTION check_windows() RETURNS text LANGUAGE sql AS $$
    SELECT 'daily ' || sorted_check('lb_daily', 'daily_scores', 'score DESC, key',
               format('updated_at >= %L AND updated_at < %L', day_start, day_start + interval '1 day'))
        || ', weekly ' || sorted_check('lb_weekly', 'daily_scores', 'score DESC, key',
               format('updated_at >= %L AND updated_at < %L', week_start, week_start + interval '7 days'))
        || ', monthly ' || sorted_check('lb_monthly', 'daily_scores', 'score DESC, key',
               format('updated_at >= %L AND updated_at < %L', month_start, month_end))
    FROM windows
$$;
-- Wednesday 2031-01-29 12:00 UTC.
SELECT set_test_now('2031-01-29 12:00Z');
SELECT day_start AT TIME ZONE 'UTC' AS day, week_start AT TIME ZONE 'UTC' AS week,
       month_start AT TIME ZONE 'UTC' AS month FROM windows;
INSERT INTO daily_scores SELECT 'k' || i, (i * 7) % 23, timestamptz '2031-01-26 00:00Z' + i * interval '37 minutes'
    FROM generate_series(1, 400) i;
INSERT INTO daily_scores VALUES ('midnight', 5, '2031-01-29 00:00Z'), ('before-midnight', 6, '2031-01-28 23:59:59.999999Z'),
    ('monday', 7, '2031-01-27 00:00Z'), ('sunday', 8, '2031-01-26 23:59:59Z'), ('first', 9, '2031-01-01 00:00Z'),
    ('no-time', 10, NULL);
SELECT SORTED_COUNT('lb_daily') AS daily, SORTED_COUNT('lb_weekly') AS weekly, SORTED_COUNT('lb_monthly') AS monthly;
SELECT RANK('lb_daily', 'midnight') IS NOT NULL AS midnight_today, RANK('lb_daily', 'before-midnight') AS yesterday,
       RANK('lb_weekly', 'monday') IS NOT NULL AS monday_this_week, RANK('lb_weekly', 'sunday') AS last_week,
       RANK('lb_monthly', 'first') IS NOT NULL AS first_of_month, RANK('lb_monthly', 'no-time') AS no_time;
SELECT check_windows();
-- Changes move entries between windows.
UPDATE daily_scores SET updated_at = kv_now() WHERE key IN ('before-midnight', 'sunday');
UPDATE daily_scores SET updated_at = '2030-12-31 23:00Z' WHERE key = 'first';
SELECT check_windows();
-- The clock moves on: the next day starts with what was written for it (tomorrow's rows), the
-- previous day is freed.
SELECT set_test_now('2031-01-30 00:00:01Z');
SELECT check_windows();
SELECT index, windows FROM kv_sorted_stats ORDER BY index::text;
-- Sunday 23:59 vs Monday 00:00, January 31 vs February 1.
SELECT set_test_now('2031-02-01 00:00:01Z');
SELECT check_windows();
SELECT set_test_now('2031-02-02 23:59:00Z');
SELECT check_windows();
SELECT set_test_now('2031-02-03 00:00:01Z');
SELECT check_windows();
SELECT SORTED_COUNT('lb_daily') AS daily, SORTED_COUNT('lb_weekly') AS weekly, SORTED_COUNT('lb_monthly') AS monthly;
-- Writes into the current window.
INSERT INTO daily_scores VALUES ('late', 100, kv_now());
SELECT RANK('lb_daily', 'late'), RANK('lb_weekly', 'late'), RANK('lb_monthly', 'late');
-- The clock moved back (another session, a test): exact answers again.
SELECT set_test_now('2031-01-29 12:00Z');
SELECT check_windows();
SELECT set_test_now('2031-01-28 12:00Z');
SELECT check_windows();
RESET nodedb_kv.test_clock_offset;
SELECT check_windows();
DROP TABLE daily_scores CASCADE;
DROP FUNCTION check_windows();
DROP FUNCTION set_test_now(timestamptz);
