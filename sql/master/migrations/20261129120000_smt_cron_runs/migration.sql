-- One row per run of the SMT status cron (POST /api/admin/smt/cron/status),
-- written by that route when the run ends (fcgi/smt_cron_status.c,
-- smt/cron_runs.c), read by GET /metrics. A run refused as busy (another
-- holds the lock) did nothing and writes none.
CREATE TABLE IF NOT EXISTS "SmtCronRun" (
    "id"         BIGSERIAL   NOT NULL PRIMARY KEY,
    "finishedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "scope"      TEXT        NOT NULL,
    "ok"         BOOLEAN     NOT NULL,
    "scanned"    INTEGER     NOT NULL,
    "updated"    INTEGER     NOT NULL,
    "failed"     INTEGER     NOT NULL,
    "throttled"  INTEGER     NOT NULL,
    "error"      TEXT
);
CREATE INDEX IF NOT EXISTS "SmtCronRun_finishedAt_idx" ON "SmtCronRun"("finishedAt");
