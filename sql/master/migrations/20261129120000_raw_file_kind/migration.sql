-- What a raw SMT file is: 'smt' (a CSV the pull or the raw upload loaded) or
-- 'error-report' (the droplet upload server's JSON report of a failed step,
-- stored and listed, never parsed). The normalize route skips error reports.
ALTER TABLE "raw_smt_files" ADD COLUMN IF NOT EXISTS "kind" TEXT NOT NULL DEFAULT 'smt';
CREATE INDEX IF NOT EXISTS "raw_smt_files_received_at_idx" ON "raw_smt_files" ("received_at");
