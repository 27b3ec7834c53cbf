-- The DB explorer's server-side state, shared by every worker and host:
-- sessions (so logout ends a session for good, not only the browser's
-- cookie) and failed logins per client address (the login rate limit).
-- Written through the routes' connection (DATABASE_URL), never the
-- explorer's read-only role. Both stay small: expired sessions and failures
-- older than the 15-minute window are deleted at each login.
CREATE TABLE IF NOT EXISTS "ExplorerSession" (
    "id"        TEXT NOT NULL PRIMARY KEY,      -- the cookie's nonce; the cookie's MAC is still required
    "createdAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "expiresAt" TIMESTAMPTZ NOT NULL,
    "revokedAt" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "ExplorerSession_expiresAt_idx" ON "ExplorerSession"("expiresAt");

CREATE TABLE IF NOT EXISTS "ExplorerLoginFailure" (
    "id"   BIGSERIAL PRIMARY KEY,
    "addr" TEXT NOT NULL,
    "at"   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS "ExplorerLoginFailure_addr_at_idx" ON "ExplorerLoginFailure"("addr", "at");
CREATE INDEX IF NOT EXISTS "ExplorerLoginFailure_at_idx" ON "ExplorerLoginFailure"("at");
