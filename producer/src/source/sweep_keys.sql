-- One page of the delete sweep: the table's keys after a key, in key order.
-- {table} and {key} are filled in with quoted identifiers at start-up.
-- Parameters: the last key read, the page size.
-- Only the key is selected, so the page reads one range of the primary key and nothing else;
-- FORCE INDEX (PRIMARY) keeps it so (a smaller secondary index also holds every key, but not
-- in key order, which would sort the whole table for each page).
SELECT {key}
FROM {table} FORCE INDEX (PRIMARY)
WHERE {key} > ?
ORDER BY {key}
LIMIT ?
