-- What the producer's user needs beyond SELECT on the table, for the native stack
-- (stack/services/mariadb.sh) and the Docker stack (docker/mysql/initdb.d/20-grants.sh) alike;
-- @ACCOUNTS@ is replaced by the user's accounts ('sluice'@'127.0.0.1', … or 'sluice'@'%').
-- PROCESS lets the producer see open transactions, so a long one delays it instead of being
-- missed; SELECT on performance_schema (on, with transaction and statement events, as MySQL 8
-- keeps it by default) gives their starts to the microsecond rather than the second.
GRANT PROCESS ON *.* TO @ACCOUNTS@;
GRANT SELECT ON performance_schema.* TO @ACCOUNTS@;
