-- Interval ids from a sequence, zero-padded so they sort in insert order: a
-- bulk load appends to the primary-key index instead of scattering random
-- uuids through it. Existing ids keep their values and cannot collide.
CREATE SEQUENCE IF NOT EXISTS "UsageIntervalModule_id_seq";
ALTER TABLE "UsageIntervalModule" ALTER COLUMN "id" SET DEFAULT lpad(nextval('"UsageIntervalModule_id_seq"')::text, 20, '0');
