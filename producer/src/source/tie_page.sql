-- The rest of the cursor's timestamp: the rows sharing it whose key comes after the cursor's.
-- {columns}, {table}, {ts} and {key} are filled in with quoted identifiers at start-up, and
-- {keyset_index} with FORCE INDEX of the (ts, key) index.
-- With {columns} the key alone, the same query gives the tie's keys from the index alone, no
-- row looked up: they tell the reader whether those rows lie close together in the table (a
-- bulk UPDATE stamps a whole run of keys with one timestamp), so that reading them as a range
-- of the primary key (tie_key_range.sql) costs less than looking each one up.
-- Parameters: the cursor's timestamp and key, the read bound (see read_bound.sql), the page size.
-- An equality on the timestamp and a range on the key make one range of the (ts, key) index
-- that starts at the cursor: the page reads the rows it returns and no others, however many
-- rows share the timestamp (a bulk UPDATE stamps every row it changes with the same time).
-- The index is forced: left to itself, MariaDB reads the timestamp as a `ref` and checks the
-- key of every row of the timestamp before the cursor (index condition pushdown, which
-- ANALYZE's r_rows does not count), or scans the primary key from the cursor's key on.
SELECT {columns}
FROM {table}{keyset_index}
WHERE {ts} = ?
  AND {key} > ?
  AND {ts} <= ?
ORDER BY {key}
LIMIT ?
