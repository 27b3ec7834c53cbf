-- ERCOT steady state, one comparison a row (docs/ercot.md "Steady state"):
-- the first 64 bits of the SHA-256 of the file's values a row was written
-- from (common/ercot/csv.c). A re-post compares this number instead of 21
-- text columns. Rows written before this column count as changed once, and
-- get their hash at the next post that lists them. Nullable, no default: the
-- ALTER changes only the catalog, whatever the table's size.
ALTER TABLE "ErcotEsiidIndex" ADD COLUMN IF NOT EXISTS "valuesHash" BIGINT;
