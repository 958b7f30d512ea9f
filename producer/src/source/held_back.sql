-- The oldest change past the read bound: the one that has waited longest to be read.
-- {table}, {ts} and {keyset_index} are filled in at start-up as for the page queries.
-- Parameter: the read bound. MIN over a range of the (ts, key) index reads one entry.
SELECT MIN({ts})
FROM {table}{keyset_index}
WHERE {ts} > ?
