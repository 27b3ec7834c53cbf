-- Surplus generation must not overwrite consumption: "flow" ('C' consumption,
-- 'G' surplus generation) joins the unique key; estimated reads keep a flag.
-- Also drops the plain index Prisma created beside the unique key, which every
-- insert paid for twice. Idempotent.
ALTER TABLE "UsageIntervalModule" ADD COLUMN IF NOT EXISTS "flow" CHAR(1) NOT NULL DEFAULT 'C';
ALTER TABLE "UsageIntervalModule" ADD COLUMN IF NOT EXISTS "estimated" BOOLEAN NOT NULL DEFAULT false;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'UsageIntervalModule_flow_check') THEN
        ALTER TABLE "UsageIntervalModule" ADD CONSTRAINT "UsageIntervalModule_flow_check" CHECK ("flow" IN ('C', 'G'));
    END IF;
END $$;
CREATE UNIQUE INDEX IF NOT EXISTS "UsageIntervalModule_esiid_meter_ts_flow_key" ON "UsageIntervalModule"("esiid", "meter", "ts", "flow");
DROP INDEX IF EXISTS "UsageIntervalModule_esiid_meter_ts_key";
DROP INDEX IF EXISTS "UsageIntervalModule_esiid_meter_ts_idx";
