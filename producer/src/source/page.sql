-- One keyset page of changed rows, oldest first.
-- {columns}, {table}, {ts} and {key} are filled in with quoted identifiers at start-up.
-- Parameters: the cursor's timestamp (twice) and key, the read bound (see read_bound.sql), the page size.
-- The OR is spelled out on purpose: MariaDB reads the (ts, key) index as a range for this form,
-- but scans the whole table for the row-value form `({ts}, {key}) > (?, ?)`.
SELECT {columns}
FROM {table}
WHERE {ts} >= ?
  AND ({ts} > ? OR {key} > ?)
  AND {ts} <= ?
ORDER BY {ts}, {key}
LIMIT ?
