-- ESIID lookup by service address (GET /api/admin/ercot/lookup-esiid,
-- docs/ercot.md "ESIID lookup"). pg_trgm ships with the server package and is
-- a trusted extension (the database owner may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The address split and normalised by common/ercot/address.c, filled by the
-- loader (ercot/csv.c) for every extract row: "addressNumber" is the house
-- number (compared as an equality), "addressNorm" the rest of the line
-- (compared by trigram similarity). NULL on rows loaded before this migration
-- until the cron's backfill (ercot/lookup.c) reaches them.
ALTER TABLE "ErcotEsiidIndex" ADD COLUMN IF NOT EXISTS "addressNumber" TEXT;
ALTER TABLE "ErcotEsiidIndex" ADD COLUMN IF NOT EXISTS "addressNorm" TEXT;

-- The two lookup indexes are NOT created here: on an empty table they would
-- be maintained row by row during the first load of millions of rows. The
-- cron builds them once after a load when they are missing
-- (iw_ercot_lookup_indexes_ensure), in one pass over the loaded rows:
--   "ErcotEsiidIndex_zip5_number_idx"  btree (left("serviceZip", 5), "addressNumber")
--   "ErcotEsiidIndex_addressNorm_trgm_idx"  gin ("addressNorm" gin_trgm_ops)
