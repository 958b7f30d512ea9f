-- What the binlog source's user needs beyond the producer's grants (producer-grants.sql) and
-- SELECT on the table, on MariaDB 10.5 or later; @ACCOUNTS@ is replaced by the user's accounts.
-- REPLICATION SLAVE reads the binary log stream; BINLOG MONITOR shows where it stands
-- (SHOW BINARY LOGS, SHOW BINLOG STATUS).
GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO @ACCOUNTS@;
