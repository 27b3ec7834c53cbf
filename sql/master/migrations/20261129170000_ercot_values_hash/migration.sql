-- ERCOT steady state (docs/ercot.md "Steady state"): the first 64 bits of
-- the SHA-256 of the file's values a row was written from
-- (common/ercot/csv.c). A re-post compares this number instead of 21 text
-- columns. Rows written before this column count as changed once, and get
-- their hash at the next post that lists them. Nullable, no default: the
-- ALTER changes only the catalog, whatever the table's size.
ALTER TABLE "ErcotEsiidIndex" ADD COLUMN IF NOT EXISTS "valuesHash" BIGINT;
-- The worker's merge (common/ercot/stored.c) reads one TDSP's (esiid, hash)
-- pairs in ESIID order: this range, not every TDSP's rows through the esiid
-- index or a sort of them. The hash is not INCLUDEd: a row whose values
-- change then keeps this index entry (a heap-only update when no other
-- indexed column changed), and the heap is read in the same order anyway.
CREATE INDEX IF NOT EXISTS "ErcotEsiidIndex_tdsp_esiid_idx"
    ON "ErcotEsiidIndex" ("tdspCode", "esiid");
