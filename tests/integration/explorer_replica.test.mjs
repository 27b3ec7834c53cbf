// The DB explorer on a streaming replica: a private primary cluster (this
// file's own, via tools/stack.sh pg-start), a hot standby made from it with
// `pg_basebackup -R`, and EXPLORER_DATABASE_URL naming the standby (its role
// iw_explorer is created on the primary by `iw-migrate explorer-role` and
// replicates). The usage database's explorer URL stays on the primary: the
// page's note appears for master only. With replay paused, the page shows the
// standby's lag and not the newest row; resumed, the row appears.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { BUILD, ROOT, startStack } from '../lib/stack.mjs';

const run = promisify(execFile);
const PGBIN = process.env.PGBIN || '/usr/lib/postgresql/15/bin';
const STACK = path.join(ROOT, 'tools/stack.sh');
const pgDir = path.join(ROOT, 'tests/out', BUILD, 'explorer_replica_pg');
const asPg = (cmd, args) => (process.getuid() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);

let stack, primaryRun, standby, standbyClient;

before(async () => {
  await run(STACK, ['pg-start', pgDir]);
  primaryRun = realpathSync(path.join(pgDir, 'pgrun'));
  const home = path.dirname(primaryRun);
  standby = `${home}-standby`;
  rmSync(standby, { recursive: true, force: true });
  mkdirSync(`${standby}/run`, { recursive: true });
  if (process.getuid() === 0) spawnSync('chown', ['-R', 'postgres:', standby]);
  // The local cluster: trust auth, wal_level=replica and replication from
  // local connections by default (initdb's pg_hba.conf).
  await run(...asPg(`${PGBIN}/pg_basebackup`, ['-h', primaryRun, '-U', 'postgres', '-D', `${standby}/data`, '-R',
    '-X', 'stream', '-c', 'fast']));
  await run(...asPg(`${PGBIN}/pg_ctl`, ['-D', `${standby}/data`, '-w', '-t', '60', '-l', `${standby}/postgres.log`,
    '-o', `-c listen_addresses='' -k ${standby}/run -c max_connections=500 -c hot_standby=on`, 'start']));
  // This file's stack lives on the private primary.
  process.env.IW_TEST_PGHOST = primaryRun;
  stack = await startStack({ name: 'explorer_replica', env: {
    EXPLORER_DATABASE_URL: `postgresql://iw_explorer@/explorer_replica_master_test?host=${standby}/run`,
  } });
  standbyClient = new pg.Client({ host: `${standby}/run`, user: 'postgres', database: 'postgres' });
  await standbyClient.connect();
});

after(async () => {
  await standbyClient?.end().catch(() => {});
  try {
    await stack?.stop();
  } finally {
    if (standby && existsSync(`${standby}/data`)) {
      await run(...asPg(`${PGBIN}/pg_ctl`, ['-D', `${standby}/data`, '-m', 'immediate', '-w', 'stop'])).catch(() => {});
      rmSync(standby, { recursive: true, force: true });
    }
    await run(STACK, ['pg-stop', pgDir]).catch(() => {});
  }
});

const page = async (query = '') => {
  const r = await stack.get(`/admin/database${query}`, { headers: { 'x-admin-token': stack.env.ADMIN_TOKEN } });
  assert.equal(r.status, 200, r.text);
  return r.text;
};
const ids = async () => {
  const r = await stack.get('/admin/database?db=master&table=SmtAuthorization&format=json',
    { headers: { 'x-admin-token': stack.env.ADMIN_TOKEN } });
  assert.equal(r.status, 200, r.text);
  const col = r.json.columns.findIndex((c) => (c.name ?? c) === 'id');
  return r.json.rows.map((row) => (Array.isArray(row) ? row[col] : row.id));
};
const insert = (id) => stack.sql('master', `INSERT INTO "SmtAuthorization" ("id","esiid") VALUES ($1, '10443720000000001')`, [id]);
async function until(fn, what) {
  for (let i = 0; i < 100; i++) { if (await fn()) return; await new Promise((r) => setTimeout(r, 100)); }
  assert.fail(`timed out waiting for ${what}`);
}

test('the standby is a real hot standby of the primary', async () => {
  const [r] = (await standbyClient.query('SELECT pg_is_in_recovery() AS standby')).rows;
  assert.equal(r.standby, true);
  const [p] = await stack.sql('master', 'SELECT pg_is_in_recovery() AS standby');
  assert.equal(p.standby, false);
});

test('the explorer reads master from the replica and says so, with its lag', async () => {
  await insert('replica-1');
  await until(async () => (await ids()).includes('replica-1'), 'replica-1 replayed');
  const html = await page();
  const notes = [...html.matchAll(/<h2>(\w+)<\/h2><p class="muted replica">replica, ([\d.]+) s behind<\/p>/g)];
  assert.deepEqual(notes.map((m) => m[1]), ['master'], 'only master reads from the replica');
  assert.ok(Number(notes[0][2]) >= 0);
});

test('replay paused: the page shows the lag growing and not the newest row; resumed, the row appears', async () => {
  await standbyClient.query('SELECT pg_wal_replay_pause()');
  try {
    await insert('replica-2');
    await new Promise((r) => setTimeout(r, 1500));
    const html = await page();
    const lag = Number(/replica, ([\d.]+) s behind/.exec(html)?.[1]);
    assert.ok(lag >= 1.4, `lag ${lag} s while replay is paused`);
    assert.equal((await ids()).includes('replica-2'), false, 'the standby has not replayed it');
    assert.equal((await stack.sql('master', `SELECT count(*)::int AS n FROM "SmtAuthorization" WHERE id = 'replica-2'`))[0].n, 1);
  } finally {
    await standbyClient.query('SELECT pg_wal_replay_resume()');
  }
  await until(async () => (await ids()).includes('replica-2'), 'replica-2 replayed after resume');
});

test('the explorer role on the replica is the least-privilege one from the primary', async () => {
  const [r] = (await standbyClient.query(`SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = 'iw_explorer'`)).rows;
  assert.deepEqual([r.rolsuper, r.rolcanlogin], [false, true]);
});
