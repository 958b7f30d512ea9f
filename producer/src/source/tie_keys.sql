-- The keys of the rest of the cursor's timestamp, up to a page of them, from the (ts, key)
-- index alone: no row is looked up. They tell the reader whether those rows lie close together
-- in the table (a bulk UPDATE stamps a whole run of keys with one timestamp), so that reading
-- them as a range of the primary key (tie_key_range.sql) costs less than looking each one up.
-- {table}, {ts}, {key} and {keyset_index} are filled in at start-up as for the page queries.
-- Parameters: the cursor's timestamp and key, the read bound, the page size.
SELECT {key}
FROM {table}{keyset_index}
WHERE {ts} = ?
  AND {key} > ?
  AND {ts} <= ?
ORDER BY {key}
LIMIT ?
