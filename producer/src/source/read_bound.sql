-- The newest timestamp the producer may read now: the lesser of
--   * NOW(6) minus the commit lag (parameter, microseconds), and
--   * one second before the oldest transaction of another session that has written or locked
--     rows, or waits for a lock: its rows carry timestamps from after it began, and become
--     visible only when it commits, so reading past its start could skip them for good.
-- trx_started is in the server's OS time zone with whole seconds, whatever the session's zone;
-- hence CONVERT_TZ from SYSTEM and the one-second margin.
SELECT LEAST(
    NOW(6) - INTERVAL ? MICROSECOND,
    COALESCE(
        (SELECT CONVERT_TZ(MIN(trx_started), 'SYSTEM', '+00:00') - INTERVAL 1 SECOND
         FROM information_schema.innodb_trx
         WHERE trx_mysql_thread_id <> CONNECTION_ID()
           AND (trx_rows_modified > 0 OR trx_rows_locked > 0 OR trx_state = 'LOCK WAIT')),
        NOW(6) + INTERVAL 1 DAY)
) AS bound,
NOW(6) - INTERVAL ? MICROSECOND AS lag_bound,
NOW(6) AS now
