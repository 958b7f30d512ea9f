-- The rest of the cursor's timestamp read as a range of the primary key, in place, when the keys
-- tie_page.sql (selecting the key alone) found lie close together: the range holds those rows
-- and few others (the reader uses it only when it spans at most a quarter more keys than it has
-- rows of the timestamp), and each row is read where it lies rather than looked up from the
-- timestamp index.
-- {columns}, {table}, {ts} and {key} are filled in at start-up as for the page queries.
-- Parameters: the cursor's key, the last key found, the cursor's timestamp.
SELECT {columns}
FROM {table} FORCE INDEX (PRIMARY)
WHERE {key} > ?
  AND {key} <= ?
  AND {ts} = ?
ORDER BY {key}
