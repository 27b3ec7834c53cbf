-- Monthly range partitions on "ts" for "SmtInterval" (docs/ingest.md,
-- "Partitions"): the daily work touches the months it needs, whatever the
-- history, and retention drops whole months instead of deleting rows.
--
-- The unique key (esiid, meter, ts, flow) already holds "ts"; the primary key
-- becomes (id, ts), as every unique index of a partitioned table must hold the
-- partition key (Prisma: @@id([id, ts])).
--
-- Converts an existing, populated, unpartitioned table keeping every row and
-- the id sequence: rename, create the partitioned table and the months the
-- data spans, INSERT ... SELECT, then build the indexes once on the loaded
-- partitions (faster than maintaining them row by row). Idempotent: an
-- already partitioned table is left alone; a fresh install converts the empty
-- table the earlier migrations created.

-- The month of P_MONTH for P_TABLE: created unless it exists; rows the
-- DEFAULT partition holds for that month are moved into it (Postgres refuses
-- to create a partition whose range has rows in the default): detach the
-- default, create the month, move, attach, all in the caller's transaction.
-- Returns the rows moved, or NULL when the month already existed.
CREATE OR REPLACE FUNCTION iw_interval_month_ensure(p_table text, p_month date)
RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    lo timestamp := date_trunc('month', p_month)::timestamp;
    hi timestamp := date_trunc('month', p_month)::timestamp + interval '1 month';
    part text := p_table || '_p' || to_char(p_month, 'YYYYMM');
    def text := p_table || '_default';
    n bigint := 0;
BEGIN
    IF to_regclass(format('public.%I', part)) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    IF to_regclass(format('public.%I', def)) IS NOT NULL THEN
        EXECUTE format('SELECT count(*) FROM public.%I WHERE ts >= $1 AND ts < $2', def)
            INTO n USING lo, hi;
    END IF;
    IF n > 0 THEN
        EXECUTE format('ALTER TABLE public.%I DETACH PARTITION public.%I', p_table, def);
        EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)',
            part, p_table, lo, hi);
        EXECUTE format('WITH moved AS (DELETE FROM public.%I WHERE ts >= $1 AND ts < $2 RETURNING *) '
            'INSERT INTO public.%I SELECT * FROM moved', def, part) USING lo, hi;
        EXECUTE format('ALTER TABLE public.%I ATTACH PARTITION public.%I DEFAULT', p_table, def);
    ELSE
        EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)',
            part, p_table, lo, hi);
    END IF;
    RETURN n;
END
$fn$;

-- The months ahead (iw-migrate partitions): the previous month (UTC) to
-- P_AHEAD months after the current one, plus each month up to that horizon
-- that has rows in the DEFAULT partition (moved into it). Rows past the
-- horizon stay in the default (a clock error, most likely) and are reported.
-- Old months are not filled in: a stray row of 2015 makes one month, not a
-- decade of them. Returns the months created and the rows moved into each.
CREATE OR REPLACE FUNCTION iw_interval_partitions_ensure(p_table text, p_ahead int)
RETURNS TABLE (partition_name text, moved bigint) LANGUAGE plpgsql AS $fn$
DECLARE
    cur date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    horizon date := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => p_ahead))::date;
    m date;
    n bigint;
BEGIN
    IF p_ahead < 0 OR p_ahead > 120 THEN
        RAISE EXCEPTION 'months ahead must be 0..120, not %', p_ahead;
    END IF;
    FOR m IN SELECT generate_series((cur - interval '1 month')::date, horizon, interval '1 month')::date LOOP
        n := iw_interval_month_ensure(p_table, m);
        IF n IS NOT NULL THEN
            partition_name := p_table || '_p' || to_char(m, 'YYYYMM');
            moved := n;
            RETURN NEXT;
        END IF;
    END LOOP;
    IF to_regclass(format('public.%I', p_table || '_default')) IS NOT NULL THEN
        FOR m IN EXECUTE format('SELECT DISTINCT date_trunc(''month'', ts)::date FROM public.%I '
                                'WHERE ts < $1 ORDER BY 1', p_table || '_default')
                 USING (horizon + interval '1 month')::timestamp LOOP
            n := iw_interval_month_ensure(p_table, m);
            IF n IS NOT NULL THEN
                partition_name := p_table || '_p' || to_char(m, 'YYYYMM');
                moved := n;
                RETURN NEXT;
            END IF;
        END LOOP;
    END IF;
END
$fn$;

CREATE SEQUENCE IF NOT EXISTS "SmtInterval_id_seq";

DO $$
DECLARE
    kind "char";
    extra text;
BEGIN
    SELECT c.relkind INTO kind FROM pg_class c WHERE c.oid = to_regclass('public."SmtInterval"');
    IF kind = 'p' THEN
        RETURN;     -- converted already
    END IF;
    IF kind = 'r' THEN
        -- A column this migration does not know would be lost: stop instead.
        SELECT string_agg(column_name, ', ') INTO extra FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = 'SmtInterval'
          AND column_name NOT IN ('id', 'esiid', 'meter', 'ts', 'kwh', 'filled', 'source',
                                  'createdAt', 'updatedAt', 'flow', 'estimated');
        IF extra IS NOT NULL THEN
            RAISE EXCEPTION 'SmtInterval has columns this migration does not carry over: %', extra;
        END IF;
        ALTER TABLE "SmtInterval" RENAME TO "SmtInterval_unpartitioned";
        -- Index names are per schema: free them for the new table.
        ALTER INDEX IF EXISTS "SmtInterval_pkey" RENAME TO "SmtInterval_unpartitioned_pkey";
        ALTER INDEX IF EXISTS "SmtInterval_esiid_meter_ts_flow_key" RENAME TO "SmtInterval_unpartitioned_key";
        ALTER INDEX IF EXISTS "SmtInterval_createdAt_idx" RENAME TO "SmtInterval_unpartitioned_createdAt_idx";
    END IF;

    CREATE TABLE "SmtInterval" (
        "id" TEXT NOT NULL DEFAULT lpad(nextval('"SmtInterval_id_seq"')::text, 20, '0'),
        "esiid" TEXT NOT NULL,
        "meter" TEXT NOT NULL,
        "ts" TIMESTAMP(3) NOT NULL,
        "kwh" DECIMAL(10,5) NOT NULL,
        "filled" BOOLEAN NOT NULL DEFAULT false,
        "source" TEXT,
        "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
        "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
        "flow" CHAR(1) NOT NULL DEFAULT 'C',
        "estimated" BOOLEAN NOT NULL DEFAULT false,
        CONSTRAINT "SmtInterval_flow_check" CHECK ("flow" IN ('C', 'G'))
    ) PARTITION BY RANGE ("ts");
    CREATE TABLE "SmtInterval_default" PARTITION OF "SmtInterval" DEFAULT;

    IF kind = 'r' THEN
        PERFORM iw_interval_month_ensure('SmtInterval', s.m)
        FROM (SELECT DISTINCT date_trunc('month', "ts")::date AS m FROM "SmtInterval_unpartitioned") s;
    END IF;
    PERFORM iw_interval_partitions_ensure('SmtInterval', 3);
    IF kind = 'r' THEN
        INSERT INTO "SmtInterval" ("id", "esiid", "meter", "ts", "kwh", "filled", "source",
                                   "createdAt", "updatedAt", "flow", "estimated")
        SELECT "id", "esiid", "meter", "ts", "kwh", "filled", "source",
               "createdAt", "updatedAt", "flow", "estimated"
        FROM "SmtInterval_unpartitioned";
        DROP TABLE "SmtInterval_unpartitioned";
    END IF;

    ALTER TABLE "SmtInterval" ADD CONSTRAINT "SmtInterval_pkey" PRIMARY KEY ("id", "ts");
    CREATE UNIQUE INDEX "SmtInterval_esiid_meter_ts_flow_key" ON "SmtInterval"("esiid", "meter", "ts", "flow");
    -- The DB explorer's newest-first page and /metrics' recency figures.
    CREATE INDEX "SmtInterval_createdAt_idx" ON "SmtInterval"("createdAt");
END $$;
