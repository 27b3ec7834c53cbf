-- No JIT compilation for this database's sessions. The routes run short
-- statements over a small slice of large tables; as the tables grow, the
-- planner's cost estimates pass jit_above_cost and a query starts paying
-- ~50 ms of compiling for ~10 ms of work (the explorer's one-ESIID page at
-- 50 M rows: 67 ms with JIT, 10.6 ms without; docs/ingest.md, Growth).
-- A database setting reaches every session: pgbouncer's server connections,
-- the explorer's role, operators' psql. Without the privilege to set it (the
-- migration's role does not own the database) this is skipped with a notice.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'jit: no privilege to ALTER DATABASE %; set jit = off for its roles instead',
        current_database();
END
$$;
