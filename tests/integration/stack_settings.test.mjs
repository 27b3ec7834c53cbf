// make run's settings (tools/stack.sh app-start, which `make run` calls on
// var/): a setting given once persists in DIR/env and every later start lists
// it by name (never its value); IW_RESET=1 (make run RESET=1) drops it and
// keeps the generated secrets, the databases and the storage.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { BUILD, ROOT, freePort, parseEnvFile } from '../lib/stack.mjs';

const run = promisify(execFile);
const STACK = path.join(ROOT, 'tools/stack.sh');
const NAME = 'iwcli_settings';
const DIR = path.join(ROOT, 'tests/out', BUILD, NAME);
const DBS = [`${NAME}_master_test`, `${NAME}_usage_test`];
const PROXY_URL = 'http://127.0.0.1:9/iwcli-proxy';
const PROXY_TOKEN = 'iwcli-proxy-token-do-not-print-0123';
const SECRETS = ['ADMIN_TOKEN', 'CRON_SECRET', 'INTELLIWATT_WEBHOOK_SECRET', 'IW_SESSION_SECRET'];
let host, port;

async function pgHost() {
  if (process.env.IW_TEST_PGHOST) return process.env.IW_TEST_PGHOST;
  await run(STACK, ['pg-start', path.join(ROOT, 'tests/out/pg')]);
  return path.join(ROOT, 'tests/out/pg/pgrun');
}

async function admin(fn) {
  const c = new pg.Client({ host, user: 'postgres', database: 'postgres' });
  await c.connect();
  try { return await fn(c); } finally { await c.end(); }
}

// One app-start with only these settings in its environment; its output.
// Migrations run at the first start only (the schema does not change here).
let migrated = false;
async function start(env = {}) {
  const migrate = migrated ? { IW_MIGRATE: '0' } : {};
  migrated = true;
  const { stdout, stderr } = await run(STACK, ['app-start', DIR, String(port)], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME || '/root', IW_BUILD: BUILD, IW_PGHOST: host,
      IW_DB_PREFIX: NAME, IW_DB_SUFFIX: 'test', ...migrate, ...env },
  });
  return stdout + stderr;
}
const envFile = () => parseEnvFile(path.join(DIR, 'env'));

before(async () => {
  host = await pgHost();
  port = await freePort();
  await admin(async (c) => { for (const db of DBS) await c.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`); });
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
});
after(async () => {
  await run(STACK, ['app-stop', DIR]).catch(() => {});
});

test('an override persists and is listed by name at every start; RESET drops it, secrets and data stay', async () => {
  const first = await start({ SMT_PROXY_URL: PROXY_URL, SMT_PROXY_TOKEN: PROXY_TOKEN });
  assert.match(first, /^stack: settings that differ from the generated defaults \(values in .*\/env\): SMT_PROXY_URL SMT_PROXY_TOKEN$/m);
  assert.doesNotMatch(first, /kept from an earlier start/, 'both came from this environment');
  const env1 = envFile();
  assert.equal(env1.SMT_PROXY_URL, PROXY_URL);
  assert.equal(env1.SMT_PROXY_TOKEN, PROXY_TOKEN);
  assert.doesNotMatch(first, /IW_DB_PREFIX|IW_DB_SUFFIX/, 'the stack\'s own knobs are no overrides');
  assert.equal(env1.IW_DB_PREFIX, undefined);

  // Data: a row in the database and a file in storage.
  const db = new pg.Client({ host, user: 'postgres', database: DBS[0] });
  await db.connect();
  await db.query(`INSERT INTO "SmtAuthorization" ("id","esiid","smtStatus") VALUES ('iwcli-keep', '10443720001234567', 'ACTIVE')`);
  await db.end();
  writeFileSync(path.join(env1.STORAGE_DIR, 'iwcli-keep.txt'), 'kept');

  // Without the override: still used, and said so (names only, never values).
  const second = await start();
  assert.match(second, /^stack: settings that differ from the generated defaults \(values in .*\/env\): SMT_PROXY_URL SMT_PROXY_TOKEN$/m);
  assert.match(second, /^stack: {3}kept from an earlier start \(not in this environment\): SMT_PROXY_URL SMT_PROXY_TOKEN; RESET=1/m);
  for (const out of [first, second]) {
    assert.ok(!out.includes(PROXY_TOKEN) && !out.includes(PROXY_URL), 'no value printed');
    for (const k of SECRETS) assert.ok(!out.includes(env1[k]), `${k} not printed`);
  }
  const env2 = envFile();
  assert.equal(env2.SMT_PROXY_TOKEN, PROXY_TOKEN);
  for (const k of SECRETS) assert.equal(env2[k], env1[k], `${k} kept across starts`);

  // RESET: the override is gone; generated secrets, database rows and storage stay.
  const third = await start({ IW_RESET: '1' });
  assert.match(third, /^stack: settings reset to the generated defaults/m);
  assert.doesNotMatch(third, /differ from the generated defaults/);
  const env3 = envFile();
  assert.equal(env3.SMT_PROXY_URL, undefined);
  assert.equal(env3.SMT_PROXY_TOKEN, undefined);
  for (const k of SECRETS) assert.equal(env3[k], env1[k], `${k} unchanged by RESET`);
  for (const k of ['DATABASE_URL', 'USAGE_DATABASE_URL', 'STORAGE_DIR']) assert.equal(env3[k], env1[k], k);
  assert.ok(existsSync(path.join(env3.STORAGE_DIR, 'iwcli-keep.txt')));
  const db2 = new pg.Client({ host, user: 'postgres', database: DBS[0] });
  await db2.connect();
  const { rows } = await db2.query(`SELECT id FROM "SmtAuthorization" WHERE id = 'iwcli-keep'`);
  await db2.end();
  assert.equal(rows.length, 1);

  // And a plain start after the reset lists nothing.
  const fourth = await start();
  assert.doesNotMatch(fourth, /differ from the generated defaults/);
});

test('a secret given once is listed by name (it cannot be told from a generated one otherwise); RESET regenerates it', async () => {
  const given = 'iwcli-given-admin-token-0123456789';
  const out = await start({ ADMIN_TOKEN: given });
  assert.match(out, /differ from the generated defaults \(values in .*\): ADMIN_TOKEN$/m);
  assert.ok(!out.includes(given));
  const again = await start();
  assert.match(again, /kept from an earlier start \(not in this environment\): ADMIN_TOKEN;/);
  assert.equal(envFile().ADMIN_TOKEN, given);
  const before = envFile();
  await start({ IW_RESET: '1' });
  const after = envFile();
  assert.notEqual(after.ADMIN_TOKEN, given);
  assert.match(after.ADMIN_TOKEN, /^[0-9a-f]{48}$/);
  assert.equal(after.CRON_SECRET, before.CRON_SECRET);
});
