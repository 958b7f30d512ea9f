-- One page of the key-order snapshot: the rows after a key, in key order.
-- {columns}, {table}, {ts} and {key} are filled in with quoted identifiers at start-up.
-- Parameters: the last key read, the page size.
-- FORCE INDEX (PRIMARY) keeps this a range over the clustered index, read in place: through
-- the timestamp index each row costs a lookup of its own, which made the database twice as
-- slow to read the same rows. Rows changed after the snapshot's bound are dropped by the
-- reader, not here: a condition on the timestamp would read past every such row to fill the
-- page, so a page read after a bulk change could read the rest of the table.
SELECT {columns}
FROM {table} FORCE INDEX (PRIMARY)
WHERE {key} > ?
ORDER BY {key}
LIMIT ?
