-- ERCOT steady state (docs/ercot.md "Steady state"): a re-post of a full
-- extract writes only the "ErcotEsiidIndex" rows whose values changed, so a
-- row's "postedAtUtc"/"sourceFileSha256" name the post its values came from.
-- Whether an ESIID is still listed by a later full post is recorded per file:
-- one row here for each ESIID of the file's TDSP that the index holds and the
-- full file does not list (daily change files record none).
CREATE TABLE IF NOT EXISTS "ErcotEsiidGone" (
    "fileSha256" TEXT         NOT NULL,
    "esiid"      TEXT         NOT NULL,
    "tdspCode"   TEXT,
    "createdAt"  TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ErcotEsiidGone_pkey" PRIMARY KEY ("fileSha256", "esiid")
);
CREATE INDEX IF NOT EXISTS "ErcotEsiidGone_esiid_idx" ON "ErcotEsiidGone"("esiid");
