-- Surplus generation must not overwrite consumption: "flow" ('C' consumption,
-- 'G' surplus generation) joins the unique key; estimated reads keep a flag.
-- Also drops the plain index Prisma created beside the unique key, which every
-- insert paid for twice. Idempotent.
ALTER TABLE "SmtInterval" ADD COLUMN IF NOT EXISTS "flow" CHAR(1) NOT NULL DEFAULT 'C';
ALTER TABLE "SmtInterval" ADD COLUMN IF NOT EXISTS "estimated" BOOLEAN NOT NULL DEFAULT false;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'SmtInterval_flow_check') THEN
        ALTER TABLE "SmtInterval" ADD CONSTRAINT "SmtInterval_flow_check" CHECK ("flow" IN ('C', 'G'));
    END IF;
END $$;
CREATE UNIQUE INDEX IF NOT EXISTS "SmtInterval_esiid_meter_ts_flow_key" ON "SmtInterval"("esiid", "meter", "ts", "flow");
DROP INDEX IF EXISTS "SmtInterval_esiid_meter_ts_key";
DROP INDEX IF EXISTS "SmtInterval_esiid_meter_ts_idx";
