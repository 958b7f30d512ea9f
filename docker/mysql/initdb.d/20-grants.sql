-- PROCESS lets the producer see open transactions, so a long one delays it instead of being
-- missed; SELECT on performance_schema (whose transaction and statement events MySQL 8 keeps on
-- by default) gives their starts to the microsecond rather than the second.
GRANT PROCESS ON *.* TO 'sluice'@'%';
GRANT SELECT ON performance_schema.* TO 'sluice'@'%';
