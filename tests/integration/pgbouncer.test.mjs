// Transaction pooling: with the programs behind pgbouncer (pool_mode =
// transaction, 4 server connections a database), 50 concurrent clients across
// the database routes all get their answers, and Postgres never sees more
// server connections than the pool.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { startStack } from '../lib/stack.mjs';
import { startSmtProxy } from '../fakes/smt_proxy.mjs';

const POOL = 4;
const CLIENTS = 50;
const ROUNDS = 6;
const ESIID = '10443720000000077';
const SMT_TOKEN = 'smt-proxy-token-pgbouncer-012345';
const CSV = 'ESIID,USAGE_DATE,REVISION_DATE,USAGE_START_TIME,USAGE_END_TIME,USAGE_KWH,ESTIMATED_ACTUAL,CONSUMPTION_SURPLUSGENERATION\n'
  + Array.from({ length: 96 }, (_, i) => {
    const t = (m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    return `${ESIID},11/01/2026,11/02/2026,${t(i * 15)},${t(i * 15 + 15 === 1440 ? 0 : i * 15 + 15)},${(i % 7) / 4},A,Consumption`;
  }).join('\n') + '\n';

let stack;
let smt;
before(async () => {
  smt = await startSmtProxy({ token: SMT_TOKEN, agreements: [{ agreementNumber: 777, esiid: ESIID, status: 'ACT' }] });
  stack = await startStack({ name: 'pgbouncer', env: {
    IW_PGBOUNCER: '1', IW_PGBOUNCER_POOL: String(POOL), SMT_PROXY_URL: smt.url, SMT_PROXY_TOKEN: SMT_TOKEN,
  } });
});
after(async () => { await stack?.stop(); await smt?.close(); });

test('the programs reach Postgres through pgbouncer', () => {
  assert.match(stack.env.DATABASE_URL, /port=6432/);
  assert.match(stack.env.USAGE_DATABASE_URL, /port=6432/);
});

test(`${CLIENTS} concurrent clients across every database route: no error, at most ${POOL} server connections a database`, async () => {
  const pull = () => stack.post('/api/admin/smt/pull', {
    mode: 'inline', filename: 'pgb.csv', encoding: 'base64', content_b64: Buffer.from(CSV).toString('base64'),
  }, { headers: { 'x-intelliwatt-secret': stack.env.INTELLIWATT_WEBHOOK_SECRET } });
  const first = await pull();
  assert.equal(first.status, 200, first.text);
  await stack.sql('master', `INSERT INTO "SmtAuthorization" ("id","esiid","createdAt") VALUES ('pgb-1', $1, now())`, [ESIID]);

  // A direct connection watches the server side while the load runs.
  const monitor = new pg.Client({ host: process.env.IW_TEST_PGHOST, user: 'postgres', database: 'postgres', application_name: 'monitor' });
  await monitor.connect();
  const peak = { [stack.dbs.master]: 0, [stack.dbs.usage]: 0 };
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const { rows } = await monitor.query(`SELECT datname, count(*)::int AS n FROM pg_stat_activity
        WHERE datname = ANY($1) AND backend_type = 'client backend' AND usename = 'postgres'
          AND application_name NOT IN ('monitor', 'iw-test') GROUP BY datname`, [[stack.dbs.master, stack.dbs.usage]]);
      for (const r of rows) peak[r.datname] = Math.max(peak[r.datname], r.n);
      await new Promise((res) => setTimeout(res, 10));
    }
  })();

  const calls = [
    () => stack.get('/healthz'),
    pull,
    () => stack.post('/api/admin/usage/normalize', { esiid: ESIID }, { admin: true }),
    () => stack.post('/api/admin/smt/cron/status', { status: 'ALL' }, { admin: true }),
  ];
  const results = [];
  await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    for (let i = 0; i < ROUNDS; i++) {
      const k = (c + i) % calls.length;
      const r = await calls[k]();
      results.push({ k, status: r.status, text: r.text });
    }
  }));
  watching = false;
  await watch;
  await monitor.end();

  const bad = results.filter((r) => !(r.status === 200 || (r.k === 3 && r.status === 409)));
  assert.deepEqual(bad.slice(0, 3), [], `${bad.length} of ${results.length} requests failed`);
  assert.ok(results.filter((r) => r.k === 3 && r.status === 200).length > 0, 'some status runs went through');
  assert.ok(peak[stack.dbs.master] >= 1 && peak[stack.dbs.master] <= POOL, `master peak ${peak[stack.dbs.master]}`);
  assert.ok(peak[stack.dbs.usage] <= POOL, `usage peak ${peak[stack.dbs.usage]}`);
  // The data is exact: one file, 96 intervals in each table, the status stored.
  const [files] = await stack.sql('master', 'SELECT count(*)::int AS n FROM raw_smt_files');
  assert.equal(files.n, 1);
  const [intervals] = await stack.sql('master', 'SELECT count(*)::int AS n FROM "SmtInterval" WHERE esiid = $1', [ESIID]);
  assert.equal(intervals.n, 96);
  const [auth] = await stack.sql('master', `SELECT "smtStatus" FROM "SmtAuthorization" WHERE id = 'pgb-1'`);
  assert.equal(auth.smtStatus, 'ACTIVE');
});
