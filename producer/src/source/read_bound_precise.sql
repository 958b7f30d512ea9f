-- The newest timestamp the producer may read now, as read_bound.sql computes it, but with the
-- start of each session's open work known to the microsecond from performance_schema: the
-- later of its open transaction's age (begun at BEGIN, or at the first table access without
-- one) and its running statement's (an autocommit statement starts before its transaction, and
-- its rows carry the statement's start). TIMER_WAIT of an event not yet ended is the time
-- elapsed so far, in picoseconds. A margin (parameter, microseconds) covers the moment between
-- a statement's start and its transaction's.
-- Which sessions count:
--   * any with work younger than a second: information_schema.innodb_trx is a cache InnoDB
--     refreshes at most every 0.1 s, so a transaction just begun may not be listed yet;
--   * any running a statement that waits for a lock, however long it has waited: one waiting
--     for a table's metadata lock, say, has touched no row and is in no list of InnoDB's, yet
--     the rows it writes once it has the lock carry its start (the event's name cannot tell a
--     write: a prepared statement is `statement/com/Execute`, whatever it does);
--   * older ones only if innodb_trx lists them as having written or locked rows, or as waiting
--     for a lock, so a long read-only query does not hold the pipeline back;
--   * a writer whose session performance_schema does not follow counts from its whole-second
--     trx_started, one second early. (One it follows but sees no open transaction of has
--     committed since InnoDB's cache was filled.)
SELECT LEAST(
    NOW(6) - INTERVAL ? MICROSECOND,
    COALESCE(
        (SELECT MIN(NOW(6) - INTERVAL (work.age DIV 1000000 + ?) MICROSECOND)
         FROM (SELECT th.PROCESSLIST_ID AS session,
                      GREATEST(COALESCE(t.TIMER_WAIT, 0), COALESCE(s.TIMER_WAIT, 0)) AS age,
                      (s.THREAD_ID IS NOT NULL
                       AND th.PROCESSLIST_STATE LIKE 'Waiting for %lock') AS waiting
               FROM performance_schema.threads th
               LEFT JOIN performance_schema.events_transactions_current t
                      ON t.THREAD_ID = th.THREAD_ID AND t.STATE = 'ACTIVE'
               LEFT JOIN performance_schema.events_statements_current s
                      ON s.THREAD_ID = th.THREAD_ID AND s.END_EVENT_ID IS NULL
               WHERE th.PROCESSLIST_ID <> CONNECTION_ID()) work
         WHERE work.age > 0
           AND (work.age < 1000000000000
                OR work.waiting
                OR work.session IN (SELECT trx_mysql_thread_id FROM information_schema.innodb_trx
                                    WHERE trx_rows_modified > 0 OR trx_rows_locked > 0
                                       OR trx_state = 'LOCK WAIT'))),
        NOW(6) + INTERVAL 1 DAY),
    COALESCE(
        (SELECT CONVERT_TZ(MIN(x.trx_started), 'SYSTEM', '+00:00') - INTERVAL 1 SECOND
         FROM information_schema.innodb_trx x
         WHERE x.trx_mysql_thread_id <> CONNECTION_ID()
           AND (x.trx_rows_modified > 0 OR x.trx_rows_locked > 0 OR x.trx_state = 'LOCK WAIT')
           AND NOT EXISTS (
               SELECT 1
               FROM performance_schema.threads th
               JOIN performance_schema.events_transactions_current t
                 ON t.THREAD_ID = th.THREAD_ID
               WHERE th.PROCESSLIST_ID = x.trx_mysql_thread_id)),
        NOW(6) + INTERVAL 1 DAY)
) AS bound,
NOW(6) - INTERVAL ? MICROSECOND AS lag_bound,
NOW(6) AS now
