// iw-migrate (SPEC §4): Prisma-compatible migration history against a real Postgres.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD = process.env.IW_BUILD || 'build';
const BIN = path.resolve(ROOT, BUILD, 'bin/iw-migrate');
const PGBIN = '/usr/lib/postgresql/15/bin';

let sockDir;		// unix socket directory of the server under test
let ownServer;		// data directory when this file started its own server
const tmpDirs = [];

function asPostgres(cmd, args) {
  const root = process.getuid && process.getuid() === 0;
  return root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

before(async () => {
  if (process.env.IW_TEST_PGHOST) {
    sockDir = process.env.IW_TEST_PGHOST;
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iw-migrate-pg-'));
  if (process.getuid() === 0) execFileSync('chown', ['postgres', dir]);
  ownServer = path.join(dir, 'data');
  sockDir = dir;
  execFileSync(...asPostgres(`${PGBIN}/initdb`, ['-D', ownServer, '-U', 'postgres', '-A', 'trust']),
    { stdio: 'ignore' });
  execFileSync(...asPostgres(`${PGBIN}/pg_ctl`, ['-D', ownServer, '-l', path.join(dir, 'log'), '-w',
    '-o', `-c listen_addresses='' -k ${dir} -c fsync=off -c max_connections=40`, 'start']),
  { stdio: 'ignore' });
});

after(async () => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  if (ownServer) {
    execFileSync(...asPostgres(`${PGBIN}/pg_ctl`, ['-D', ownServer, '-m', 'immediate', 'stop']),
      { stdio: 'ignore' });
    fs.rmSync(path.dirname(ownServer), { recursive: true, force: true });
  }
});

async function query(db, sql, params = []) {
  const c = new pg.Client({ host: sockDir, user: 'postgres', database: db });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows;
  } finally {
    await c.end();
  }
}

// A fresh, empty database named NAME.
async function freshDb(name) {
  await query('postgres', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await query('postgres', `CREATE DATABASE "${name}"`);
  return name;
}

const url = (db, extra = '') =>
  `postgresql://postgres:s3cret-pw@localhost/${db}?host=${encodeURIComponent(sockDir)}&schema=public${extra}`;

// A migrations directory holding FILES ({name: sql}).
function migrations(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iw-migrate-dir-'));
  tmpDirs.push(dir);
  writeMigrations(dir, files);
  return dir;
}

function writeMigrations(dir, files) {
  for (const [name, sql] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    fs.writeFileSync(path.join(dir, name, 'migration.sql'), sql);
  }
}

const sha256 = (dir, name) =>
  createHash('sha256').update(fs.readFileSync(path.join(dir, name, 'migration.sql'))).digest('hex');

// Runs iw-migrate; resolves {code, out, err} (never rejects on exit status).
function migrate(args, { db, dir, env = {} } = {}) {
  const fullEnv = { ...process.env, DATABASE_URL: db ? url(db) : '', ...env };
  const argv = dir ? ['--dir', dir, ...args] : args;
  return new Promise((resolve) => {
    execFile(BIN, argv, { env: fullEnv, timeout: 30000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? -1) : 0, out: stdout, err: stderr });
    });
  });
}

const history = (db) => query(db,
  `SELECT id, migration_name, checksum, finished_at, rolled_back_at, logs, applied_steps_count
     FROM _prisma_migrations ORDER BY started_at, migration_name`);
const tableExists = async (db, t) =>
  (await query(db, `SELECT to_regclass(format('%I.%I', 'public', $1::text)) AS r`, [t]))[0].r !== null;

test('deploy applies migrations in name order, records sha256 checksums, and is idempotent', async () => {
  const db = await freshDb('mig_deploy_test');
  const dir = migrations({
    '20250101000000_accounts': 'CREATE TABLE IF NOT EXISTS "Account" (id int PRIMARY KEY);\n',
    // Depends on the first one: fails if the order were wrong.
    '20250102000000_seed': 'INSERT INTO "Account" VALUES (1);\nCREATE TABLE "Plan" (id int);\n',
  });
  const first = await migrate(['deploy'], { db, dir });
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /Applied 20250101000000_accounts[\s\S]*Applied 20250102000000_seed/);
  assert.doesNotMatch(first.out + first.err, /s3cret-pw/);

  const rows = await history(db);
  assert.deepEqual(rows.map((r) => r.migration_name),
    ['20250101000000_accounts', '20250102000000_seed']);
  for (const r of rows) {
    assert.equal(r.checksum, sha256(dir, r.migration_name));
    assert.match(r.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(r.finished_at instanceof Date);
    assert.equal(r.rolled_back_at, null);
    assert.equal(r.applied_steps_count, 1);
  }
  assert.deepEqual(await query(db, 'SELECT id FROM "Account"'), [{ id: 1 }]);

  // Exactly Prisma's table layout.
  const cols = await query(db, `SELECT column_name, data_type, character_maximum_length AS len,
      is_nullable, column_default FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = '_prisma_migrations' ORDER BY ordinal_position`);
  assert.deepEqual(cols.map((c) => [c.column_name, c.data_type, c.len, c.is_nullable, c.column_default]), [
    ['id', 'character varying', 36, 'NO', null],
    ['checksum', 'character varying', 64, 'NO', null],
    ['finished_at', 'timestamp with time zone', null, 'YES', null],
    ['migration_name', 'character varying', 255, 'NO', null],
    ['logs', 'text', null, 'YES', null],
    ['rolled_back_at', 'timestamp with time zone', null, 'YES', null],
    ['started_at', 'timestamp with time zone', null, 'NO', 'now()'],
    ['applied_steps_count', 'integer', null, 'NO', '0'],
  ]);
  const pk = await query(db, `SELECT conname FROM pg_constraint
      WHERE conrelid = 'public._prisma_migrations'::regclass AND contype = 'p'`);
  assert.deepEqual(pk, [{ conname: '_prisma_migrations_pkey' }]);

  const second = await migrate(['deploy'], { db, dir });
  assert.equal(second.code, 0, second.err);
  assert.match(second.out, /No pending migrations; 2 already applied/);
  assert.equal((await history(db)).length, 2);
  assert.deepEqual(await query(db, 'SELECT count(*)::int AS n FROM "Account"'), [{ n: 1 }]);

  const status = await migrate(['status'], { db, dir });
  assert.equal(status.code, 0, status.out + status.err);
  assert.match(status.out, /applied\s+20250101000000_accounts/);
  assert.match(status.out, /up to date/);
});

test('status exits non-zero while a migration is pending, zero after deploy', async () => {
  const db = await freshDb('mig_pending_test');
  const dir = migrations({ '20250101000000_one': 'CREATE TABLE "One" (id int);' });
  assert.equal((await migrate(['deploy'], { db, dir })).code, 0);
  writeMigrations(dir, { '20250102000000_two': 'CREATE TABLE "Two" (id int);' });

  const pending = await migrate(['status'], { db, dir });
  assert.equal(pending.code, 1);
  assert.match(pending.out, /pending\s+20250102000000_two/);
  assert.match(pending.out, /1 applied, 1 pending/);

  assert.equal((await migrate(['deploy'], { db, dir })).code, 0);
  assert.equal((await migrate(['status'], { db, dir })).code, 0);
  assert.ok(await tableExists(db, 'Two'));
});

test('a failing migration is recorded, blocks deploy until resolved, then the fixed file deploys', async () => {
  const db = await freshDb('mig_failed_test');
  const dir = migrations({
    '20250101000000_base': 'CREATE TABLE "Base" (id int);\n',
    '20250102000000_broken': 'CREATE TABLE "Half" (id int);\n\nSELECT * FROM "NoSuchTable";\n',
    '20250103000000_after': 'CREATE TABLE "After" (id int);\n',
  });
  const run = await migrate(['deploy'], { db, dir });
  assert.equal(run.code, 1);
  assert.match(run.err, /20250102000000_broken failed/);
  assert.match(run.err, /42P01: relation "NoSuchTable" does not exist/);
  assert.match(run.err, /at line 3/);
  assert.match(run.err, /resolve --rolled-back 20250102000000_broken/);

  let rows = await history(db);
  assert.deepEqual(rows.map((r) => [r.migration_name, r.finished_at === null]),
    [['20250101000000_base', false], ['20250102000000_broken', true]]);
  assert.match(rows[1].logs, /NoSuchTable/);
  assert.equal(await tableExists(db, 'Half'), false, 'the failed migration was rolled back');
  assert.equal(await tableExists(db, 'After'), false, 'nothing after the failure ran');

  const blocked = await migrate(['deploy'], { db, dir });
  assert.equal(blocked.code, 1);
  assert.match(blocked.err, /20250102000000_broken failed/);
  assert.match(blocked.err, /resolve --applied 20250102000000_broken/);
  const status = await migrate(['status'], { db, dir });
  assert.equal(status.code, 1);
  assert.match(status.out, /failed\s+20250102000000_broken/);

  // Prisma's refusals: an unknown name, or rolling back what did not fail.
  const unknown = await migrate(['resolve', '--rolled-back', '20990101000000_nope'], { db, dir });
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /no migration named 20990101000000_nope/);
  const notFailed = await migrate(['resolve', '--rolled-back', '20250101000000_base'], { db, dir });
  assert.equal(notFailed.code, 2);
  assert.match(notFailed.err, /not failed/);

  writeMigrations(dir, { '20250102000000_broken': 'CREATE TABLE IF NOT EXISTS "Half" (id int);\n' });
  const resolved = await migrate(['resolve', '--rolled-back', '20250102000000_broken'], { db, dir });
  assert.equal(resolved.code, 0, resolved.err);
  assert.equal((await migrate(['status'], { db, dir })).code, 1, 'rolled back is still pending');

  const again = await migrate(['deploy'], { db, dir });
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /Applied 2 migrations/);
  rows = await history(db);
  const broken = rows.filter((r) => r.migration_name === '20250102000000_broken');
  assert.equal(broken.length, 2);
  assert.ok(broken[0].rolled_back_at instanceof Date);
  assert.ok(broken[1].finished_at instanceof Date);
  assert.equal(broken[1].checksum, sha256(dir, '20250102000000_broken'));
  assert.ok(await tableExists(db, 'Half'));
  assert.ok(await tableExists(db, 'After'));
  assert.equal((await migrate(['status'], { db, dir })).code, 0);
});

test('resolve --applied records a migration without running it', async () => {
  const db = await freshDb('mig_baseline_test');
  const dir = migrations({
    '20250101000000_existing': 'CREATE TABLE "Existing" (id int);\nINSERT INTO "Existing" VALUES (7);\n',
  });
  await query(db, 'CREATE TABLE "Existing" (id int)');	// applied by hand earlier
  const r = await migrate(['resolve', '--applied', '20250101000000_existing'], { db, dir });
  assert.equal(r.code, 0, r.err);
  const rows = await history(db);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].checksum, sha256(dir, '20250101000000_existing'));
  assert.ok(rows[0].finished_at instanceof Date);
  assert.deepEqual(await query(db, 'SELECT * FROM "Existing"'), [], 'the SQL was not run');

  const d = await migrate(['deploy'], { db, dir });
  assert.equal(d.code, 0, d.err);
  assert.match(d.out, /No pending migrations/);
  assert.equal((await migrate(['status'], { db, dir })).code, 0);
  const unknown = await migrate(['resolve', '--applied', 'nope'], { db, dir });
  assert.equal(unknown.code, 2);
});

test('status reports drift when an applied migration lost its table, and apply NAME repairs it', async () => {
  const db = await freshDb('mig_drift_test');
  const dir = migrations({
    '20251119000000_intervals': 'CREATE TABLE IF NOT EXISTS public."SmtInterval" (id text);\n' +
      'CREATE TABLE old_name (id int);\nALTER TABLE old_name RENAME TO "Renamed";\n' +
      "CREATE TEMP TABLE scratch (id int);\nCOMMENT ON TABLE \"SmtInterval\" IS 'CREATE TABLE \"Ghost\" ()';\n",
    '20251119070500_add_smt_billing_read':
      'CREATE TABLE IF NOT EXISTS "SmtBillingRead" (id bigserial PRIMARY KEY, esiid text);\n',
  });
  assert.equal((await migrate(['deploy'], { db, dir })).code, 0);
  assert.equal((await migrate(['status'], { db, dir })).code, 0, 'no false drift');

  await query(db, 'DROP TABLE "SmtBillingRead"');
  const drift = await migrate(['status'], { db, dir });
  assert.equal(drift.code, 1);
  assert.match(drift.out, /drift\s+20251119070500_add_smt_billing_read: table public\."SmtBillingRead" does not exist/);
  assert.match(drift.out, /apply NAME/);
  assert.doesNotMatch(drift.out, /SmtInterval"|Renamed|Ghost|scratch/);

  const apply = await migrate(['apply', '20251119070500_add_smt_billing_read'], { db, dir });
  assert.equal(apply.code, 0, apply.err);
  assert.match(apply.out, /already recorded as applied/);
  assert.ok(await tableExists(db, 'SmtBillingRead'));
  assert.equal((await history(db)).length, 2, 'apply of an applied migration adds no row');
  assert.equal((await migrate(['status'], { db, dir })).code, 0);
});

test('apply NAME runs one migration now and records it; a failing apply changes nothing', async () => {
  const db = await freshDb('mig_apply_test');
  const dir = migrations({
    '20250101000000_first': 'CREATE TABLE IF NOT EXISTS "First" (id int);\n',
    '20250102000000_second': 'CREATE TABLE IF NOT EXISTS "Second" (id int);\n',
  });
  const r = await migrate(['apply', '20250102000000_second'], { db, dir });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /recorded as applied/);
  assert.ok(await tableExists(db, 'Second'));
  assert.equal(await tableExists(db, 'First'), false);
  const rows = await history(db);
  assert.deepEqual(rows.map((x) => [x.migration_name, x.checksum, x.finished_at !== null]),
    [['20250102000000_second', sha256(dir, '20250102000000_second'), true]]);

  writeMigrations(dir, { '20250103000000_bad': 'CREATE TABLE "Third" (id int);\nSELECT 1/0;\n' });
  const bad = await migrate(['apply', '20250103000000_bad'], { db, dir });
  assert.equal(bad.code, 1);
  assert.match(bad.err, /22012: division by zero/);
  assert.equal(await tableExists(db, 'Third'), false);
  assert.equal((await history(db)).length, 1);
  assert.equal((await migrate(['apply', 'nope'], { db, dir })).code, 2);
});

test('reset needs --force, never touches defaultdb or a non-dev name, and rebuilds a *_test database', async () => {
  const dir = migrations({ '20250101000000_init': 'CREATE TABLE "Kept" (id int);\n' });

  const prod = await freshDb('defaultdb');
  assert.equal((await migrate(['deploy'], { db: prod, dir })).code, 0);
  const noForce = await migrate(['reset'], { db: prod, dir });
  assert.equal(noForce.code, 2);
  assert.match(noForce.err, /--force/);
  const refused = await migrate(['reset', '--force'], { db: prod, dir });
  assert.equal(refused.code, 2);
  assert.match(refused.err, /refusing to reset database "defaultdb"/);
  assert.ok(await tableExists(prod, 'Kept'));
  assert.equal((await history(prod)).length, 1);

  const other = await freshDb('mig_production');
  await query(other, 'CREATE TABLE "Precious" (id int)');
  assert.equal((await migrate(['reset', '--force'], { db: other, dir })).code, 2);
  assert.ok(await tableExists(other, 'Precious'));

  const db = await freshDb('mig_reset_test');
  assert.equal((await migrate(['deploy'], { db, dir })).code, 0);
  await query(db, 'CREATE TABLE "Stray" (id int)');
  const aclBefore = await query(db,
    "SELECT nspowner::regrole::text AS owner, nspacl::text AS acl FROM pg_namespace WHERE nspname = 'public'");
  const reset = await migrate(['reset', '--force'], { db, dir });
  assert.equal(reset.code, 0, reset.err);
  assert.match(reset.out, /Reset database "mig_reset_test"/);
  assert.equal(await tableExists(db, 'Stray'), false);
  assert.ok(await tableExists(db, 'Kept'));
  assert.deepEqual((await history(db)).map((r) => r.migration_name), ['20250101000000_init']);
  const aclAfter = await query(db,
    "SELECT nspowner::regrole::text AS owner, nspacl::text AS acl FROM pg_namespace WHERE nspname = 'public'");
  assert.deepEqual(aclAfter, aclBefore, 'schema owner and grants restored');
});

test('Prisma-style URLs work and --db usage reads USAGE_DATABASE_URL', async () => {
  const db = await freshDb('mig_url_test');
  const dir = migrations({ '20250101000000_usage': 'CREATE TABLE "UsageIntervalModule" (id text);\n' });
  const r = await migrate(['--db', 'usage', 'deploy'], {
    dir,
    env: {
      DATABASE_URL: 'postgresql://nobody@/nowhere?host=/nonexistent',
      USAGE_DATABASE_URL: url(db, '&pgbouncer=true&connection_limit=1&sslmode=disable'),
    },
  });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Database "mig_url_test" on .*\(usage, USAGE_DATABASE_URL\)/);
  assert.doesNotMatch(r.out + r.err, /s3cret-pw/);
  assert.ok(await tableExists(db, 'UsageIntervalModule'));

  const wrapper = await new Promise((resolve) => execFile(path.join(ROOT, 'tools/iw-migrate'), ['--help'],
    { env: { ...process.env, IW_BUILD: BUILD } }, (e, out) => resolve({ code: e ? e.code : 0, out })));
  assert.equal(wrapper.code, 0);
  assert.match(wrapper.out, /resolve --rolled-back NAME/);
});

test('an unreachable server, a bad URL or no URL give a clear message and no password', async () => {
  const dir = migrations({ '20250101000000_x': 'SELECT 1;' });
  const down = await migrate(['status'], {
    dir, env: { DATABASE_URL: 'postgresql://admin:hunter2-secret@/mig_x_test?host=/nonexistent-sock&schema=public' },
  });
  assert.equal(down.code, 1);
  assert.match(down.err, /cannot connect to database "mig_x_test" on \/nonexistent-sock \(DATABASE_URL\)/);
  assert.match(down.err, /hint: .*Postgres running/);
  assert.doesNotMatch(down.out + down.err, /hunter2/);

  const bad = await migrate(['deploy'], { dir, env: { DATABASE_URL: 'postgresql://admin:hunter2%zz@host/db' } });
  assert.equal(bad.code, 2);
  assert.match(bad.err, /DATABASE_URL is not a valid PostgreSQL URL/);
  assert.doesNotMatch(bad.out + bad.err, /hunter2/);

  const unset = await migrate(['status'], { dir, env: { DATABASE_URL: '' } });
  assert.equal(unset.code, 2);
  assert.match(unset.err, /DATABASE_URL is not set/);

  const nodb = await migrate(['status'], { dir, env: { DATABASE_URL: url('mig_missing_db_test') } });
  assert.equal(nodb.code, 1);
  assert.match(nodb.err, /hint: the database named in the URL does not exist/);

  assert.equal((await migrate(['frobnicate'])).code, 2);
  assert.equal((await migrate(['resolve', 'x'])).code, 2, 'resolve needs --rolled-back or --applied');
});

test('concurrent deploys take the advisory lock: each migration runs once', async () => {
  const db = await freshDb('mig_lock_test');
  const dir = migrations({
    '20250101000000_slow': 'SELECT pg_sleep(0.4);\nCREATE TABLE "Once" (id int);\n',
    '20250102000000_next': 'INSERT INTO "Once" VALUES (1);\n',
  });
  const [a, b] = await Promise.all([migrate(['deploy'], { db, dir }), migrate(['deploy'], { db, dir })]);
  assert.equal(a.code, 0, a.err);
  assert.equal(b.code, 0, b.err);
  assert.equal((await history(db)).length, 2);
  assert.deepEqual(await query(db, 'SELECT count(*)::int AS n FROM "Once"'), [{ n: 1 }]);
  assert.match(a.out + b.out, /No pending migrations/);
});

test('an edited applied migration is reported as modified; CRLF-only changes are not', async () => {
  const db = await freshDb('mig_checksum_test');
  const dir = migrations({ '20250101000000_a': 'CREATE TABLE "A" (id int);\nCREATE TABLE "B" (id int);\n' });
  assert.equal((await migrate(['deploy'], { db, dir })).code, 0);
  writeMigrations(dir, { '20250101000000_a': 'CREATE TABLE "A" (id int);\r\nCREATE TABLE "B" (id int);\r\n' });
  const crlf = await migrate(['status'], { db, dir });
  assert.equal(crlf.code, 0);
  assert.doesNotMatch(crlf.out, /modified/);

  writeMigrations(dir, { '20250101000000_a': 'CREATE TABLE "A" (id bigint);\n' });
  const edited = await migrate(['status'], { db, dir });
  assert.equal(edited.code, 0, 'modified warns, as Prisma does');
  assert.match(edited.out, /20250101000000_a \(modified since: checksum differs\)/);
  const d = await migrate(['deploy'], { db, dir });
  assert.equal(d.code, 0);
  assert.match(d.err, /warning: 20250101000000_a was modified after it was applied/);
});
