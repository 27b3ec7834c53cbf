-- Usage database: raw interval rows as loaded from SMT files.
CREATE TABLE IF NOT EXISTS "UsageIntervalModule" (
    "id" TEXT NOT NULL DEFAULT gen_random_uuid()::text,
    "esiid" TEXT NOT NULL,
    "meter" TEXT NOT NULL,
    "ts" TIMESTAMP(3) NOT NULL,
    "kwh" DECIMAL(10,5) NOT NULL,
    "filled" BOOLEAN NOT NULL DEFAULT false,
    "source" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "UsageIntervalModule_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX IF NOT EXISTS "UsageIntervalModule_esiid_meter_ts_key" ON "UsageIntervalModule"("esiid", "meter", "ts");
