-- The rows after the cursor's timestamp, oldest first, up to the read bound; read once the
-- rest of the cursor's timestamp (tie_page.sql) leaves room in the page.
-- {columns}, {table}, {ts} and {key} are filled in with quoted identifiers at start-up, and
-- {keyset_index} with FORCE INDEX of the (ts, key) index.
-- Parameters: the cursor's timestamp, the read bound (see read_bound.sql), the page size.
-- A range of the (ts, key) index that starts past every row of the cursor's timestamp, so it
-- reads only the rows it returns. The cursor's position is split between the two queries on
-- purpose: as one condition, `{ts} >= ? AND ({ts} > ? OR {key} > ?)`, MariaDB ranges over the
-- timestamp alone and filters the key row by row, reading every row of the cursor's timestamp
-- before it again on each page; the row-value form `({ts}, {key}) > (?, ?)` scans the table.
SELECT {columns}
FROM {table}{keyset_index}
WHERE {ts} > ?
  AND {ts} <= ?
ORDER BY {ts}, {key}
LIMIT ?
