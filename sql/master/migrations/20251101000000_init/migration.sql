-- Master database: the tables of the Prisma schema this service works with.
-- Idempotent: safe on a database Prisma already created.

CREATE TABLE IF NOT EXISTS "SmtAuthorization" (
    "id" TEXT NOT NULL DEFAULT gen_random_uuid()::text,
    "userId" TEXT,
    "houseId" TEXT,
    "esiid" TEXT NOT NULL,
    "meterNumber" TEXT,
    "customerName" TEXT,
    "contactEmail" TEXT,
    "contactPhone" TEXT,
    "serviceAddressLine1" TEXT,
    "serviceCity" TEXT,
    "serviceState" TEXT,
    "serviceZip" TEXT,
    "tdspCode" TEXT,
    "authorizationStartDate" TIMESTAMP(3),
    "authorizationEndDate" TIMESTAMP(3),
    "smtAgreementId" TEXT,
    "smtSubscriptionId" TEXT,
    "smtStatus" TEXT,
    "smtStatusMessage" TEXT,
    "smtLastSyncAt" TIMESTAMP(3),
    "archivedAt" TIMESTAMP(3),
    "revokedReason" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "SmtAuthorization_pkey" PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "SmtAuthorization_esiid_idx" ON "SmtAuthorization"("esiid");
CREATE INDEX IF NOT EXISTS "SmtAuthorization_houseId_idx" ON "SmtAuthorization"("houseId");
CREATE INDEX IF NOT EXISTS "SmtAuthorization_smtStatus_idx" ON "SmtAuthorization"("smtStatus");

CREATE TABLE IF NOT EXISTS "SmtInterval" (
    "id" TEXT NOT NULL DEFAULT gen_random_uuid()::text,
    "esiid" TEXT NOT NULL,
    "meter" TEXT NOT NULL,
    "ts" TIMESTAMP(3) NOT NULL,
    "kwh" DECIMAL(10,5) NOT NULL,
    "filled" BOOLEAN NOT NULL DEFAULT false,
    "source" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "SmtInterval_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX IF NOT EXISTS "SmtInterval_esiid_meter_ts_key" ON "SmtInterval"("esiid", "meter", "ts");

CREATE TABLE IF NOT EXISTS "SmtBillingRead" (
    "id" BIGSERIAL NOT NULL,
    "esiid" TEXT NOT NULL,
    "meter" TEXT,
    "tdspCode" TEXT,
    "tdspName" TEXT,
    "readStart" TIMESTAMP(3),
    "readEnd" TIMESTAMP(3),
    "billDate" TIMESTAMP(3),
    "kwhTotal" DECIMAL(14,5),
    "kwhBilled" DECIMAL(14,5),
    "source" TEXT,
    "rawSmtFileId" BIGINT,
    "rawRow" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "SmtBillingRead_pkey" PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "SmtBillingRead_esiid_idx" ON "SmtBillingRead"("esiid");
CREATE INDEX IF NOT EXISTS "SmtBillingRead_rawSmtFileId_idx" ON "SmtBillingRead"("rawSmtFileId");

CREATE TABLE IF NOT EXISTS "raw_smt_files" (
    "id" BIGSERIAL NOT NULL,
    "filename" TEXT NOT NULL,
    "size_bytes" BIGINT NOT NULL,
    "sha256" VARCHAR(64) NOT NULL,
    "source" TEXT,
    "content_type" TEXT,
    "storage_path" TEXT,
    "esiid" TEXT,
    "meter" TEXT,
    "captured_at" TIMESTAMPTZ,
    "received_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT "raw_smt_files_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX IF NOT EXISTS "raw_smt_files_sha256_key" ON "raw_smt_files"("sha256");

CREATE TABLE IF NOT EXISTS "ErcotIngest" (
    "id" TEXT NOT NULL DEFAULT gen_random_uuid()::text,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "status" TEXT NOT NULL,
    "note" TEXT,
    "fileUrl" TEXT,
    "fileSha256" TEXT,
    "tdsp" TEXT,
    "rowCount" INTEGER,
    "headers" JSONB,
    "error" TEXT,
    "errorDetail" TEXT,
    "filename" TEXT,
    "storageKey" TEXT,
    "sizeBytes" BIGINT,
    "sourceUrl" TEXT,
    CONSTRAINT "ErcotIngest_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "ErcotIngest_status_check" CHECK ("status" IN ('ok', 'skipped', 'error'))
);
CREATE UNIQUE INDEX IF NOT EXISTS "ErcotIngest_fileSha256_key" ON "ErcotIngest"("fileSha256");
CREATE INDEX IF NOT EXISTS "ErcotIngest_createdAt_idx" ON "ErcotIngest"("createdAt");

CREATE TABLE IF NOT EXISTS "ErcotEsiidIndex" (
    "id" TEXT NOT NULL DEFAULT gen_random_uuid()::text,
    "esiid" TEXT NOT NULL,
    "tdspCode" TEXT,
    "tdspDuns" TEXT,
    "serviceAddress1" TEXT,
    "serviceAddress2" TEXT,
    "serviceCity" TEXT,
    "serviceState" TEXT,
    "serviceZip" TEXT,
    "county" TEXT,
    "meterReadCycle" TEXT,
    "status" TEXT,
    "premiseType" TEXT,
    "powerRegion" TEXT,
    "stationCode" TEXT,
    "stationName" TEXT,
    "metered" TEXT,
    "openServiceOrders" TEXT,
    "polrCustomerClass" TEXT,
    "settlementAmsIndicator" TEXT,
    "tdspAmsIndicator" TEXT,
    "switchHoldIndicator" TEXT,
    "premiseSubType1" TEXT,
    "premiseSubType2" TEXT,
    "postedAtUtc" TIMESTAMP(3),
    "sourceFileSha256" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ErcotEsiidIndex_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX IF NOT EXISTS "ErcotEsiidIndex_esiid_key" ON "ErcotEsiidIndex"("esiid");

CREATE TABLE IF NOT EXISTS "SmtAdminAction" (
    "id" BIGSERIAL NOT NULL,
    "action" TEXT NOT NULL,
    "esiid" TEXT,
    "agreementNumber" BIGINT,
    "ticket" TEXT,
    "ok" BOOLEAN NOT NULL,
    "statusCode" INTEGER,
    "detail" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "SmtAdminAction_pkey" PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "SmtAdminAction_esiid_idx" ON "SmtAdminAction"("esiid");
