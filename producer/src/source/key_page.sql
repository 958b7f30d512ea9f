-- One page of the key-order snapshot: the rows after a key, up to the snapshot's bound.
-- {columns}, {table}, {ts} and {key} are filled in with quoted identifiers at start-up.
-- Parameters: the last key read, the snapshot's bound, the page size.
-- FORCE INDEX (PRIMARY) keeps this a range over the clustered index, read in place, whatever
-- share of rows the bound leaves out: through the timestamp index each row costs a lookup of
-- its own, which made the database twice as slow to read the same rows.
SELECT {columns}
FROM {table} FORCE INDEX (PRIMARY)
WHERE {key} > ?
  AND {ts} <= ?
ORDER BY {key}
LIMIT ?
