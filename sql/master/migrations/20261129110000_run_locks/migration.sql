-- Run locks held as rows with a lease (common/run_lock.c), instead of session
-- advisory locks: they survive a reconnect, work under pgbouncer transaction
-- pooling, and a crashed worker's lock expires by itself at "expiresAt".
CREATE TABLE IF NOT EXISTS "IwRunLock" (
    "name"       TEXT        NOT NULL PRIMARY KEY,
    "holder"     TEXT        NOT NULL,
    "acquiredAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "expiresAt"  TIMESTAMPTZ NOT NULL
);
