// The accept loop, authentication and health routes, through nginx.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BUILD, startStack } from '../lib/stack.mjs';

let stack;
before(async () => { stack = await startStack({ name: 'foundation' }); });
after(async () => { await stack?.stop(); });

const HEALTH = '/api/admin/ercot/cron/health';

function rssKb(pid) {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

test('healthz answers ok with the database up', async () => {
  const r = await stack.get('/healthz');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { ok: true, db: 'ok' });
  assert.match(r.headers.get('content-type'), /^application\/json/);
});

test('a request id is passed through, or generated', async () => {
  const r = await stack.get('/healthz', { headers: { 'x-request-id': 'op-check-42' } });
  assert.equal(r.headers.get('x-request-id'), 'op-check-42');
  const g = await stack.get('/healthz');
  assert.match(g.headers.get('x-request-id'), /^[0-9a-f]{16,32}$/);
  assert.match(stack.log('healthz'), /"request_id":"op-check-42"/);
});

test('cron health accepts ?token=, Bearer, x-admin-token and x-vercel-cron from loopback', async () => {
  const { CRON_SECRET, ADMIN_TOKEN } = stack.env;
  for (const opts of [
    { route: `${HEALTH}?token=${encodeURIComponent(CRON_SECRET)}` },
    { headers: { authorization: `Bearer ${CRON_SECRET}` } },
    { headers: { 'x-admin-token': ADMIN_TOKEN } },
    { headers: { 'x-vercel-cron': '1' } },
  ]) {
    const r = await stack.get(opts.route || HEALTH, { headers: opts.headers });
    assert.equal(r.status, 200, JSON.stringify(opts));
    assert.deepEqual(r.json, { ok: true, missing: [], method: 'scrape', storage: 'local' });
  }
});

test('cron health refuses missing or wrong credentials with 401 JSON', async () => {
  for (const headers of [{}, { authorization: 'Bearer nope' }, { 'x-admin-token': 'wrong-wrong-wrong-wrong' },
    { authorization: `Bearer ${stack.env.CRON_SECRET}x` }]) {
    const r = await stack.get(HEALTH, { headers });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, { ok: false, error: 'unauthorized', message: 'missing or invalid credentials' });
  }
  const q = await stack.get(`${HEALTH}?token=${stack.env.CRON_SECRET.slice(0, -1)}`);
  assert.equal(q.status, 401);
});

test('wrong method gives 405 with Allow; unknown route 404 JSON', async () => {
  const r = await stack.post(HEALTH, {}, { admin: true });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'GET');
  assert.equal(r.json.error, 'method_not_allowed');
  const n = await stack.get('/api/admin/nope');
  assert.equal(n.status, 404);
  assert.deepEqual(n.json, { ok: false, error: 'not_found', message: 'no such route' });
});

test('logs carry no secret', async () => {
  const { CRON_SECRET, ADMIN_TOKEN } = stack.env;
  await stack.get(`${HEALTH}?token=${CRON_SECRET}`);
  await stack.get(HEALTH, { headers: { 'x-admin-token': ADMIN_TOKEN } });
  for (const p of ['ercot_cron_health', 'healthz']) {
    const log = stack.log(p);
    assert.ok(log.length > 0);
    assert.ok(!log.includes(CRON_SECRET) && !log.includes(ADMIN_TOKEN), `${p} log leaks a secret`);
    for (const line of log.trim().split('\n')) JSON.parse(line); // one JSON object per line
  }
});

test('1,000 requests: every answer right, worker memory flat', async () => {
  const pids = readFileSync(path.join(stack.dir, 'run/ercot_cron_health.pid'), 'utf8').trim().split('\n').map(Number);
  const warm = async (n) => {
    for (let i = 0; i < n; i += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, (_, j) => (i + j) % 2
        ? stack.get(HEALTH, { admin: true }) : stack.get(HEALTH, { headers: { authorization: 'Bearer bad' } })));
      for (const [j, r] of batch.entries()) assert.equal(r.status, (i + j) % 2 ? 200 : 401);
    }
  };
  await warm(100);
  const before = pids.map(rssKb);
  await warm(1000);
  const grown = pids.map((p, i) => rssKb(p) - before[i]);
  // ASan's quarantine grows RSS by design; its leak check runs at exit (stack.stop).
  if (BUILD === 'build') for (const g of grown) assert.ok(g < 512, `worker RSS grew ${g} kB`);
});

test('missing settings are listed; S3 chosen needs its settings', async () => {
  await stack.restart({ S3_BUCKET: 'iw-test', CRON_SECRET: '' });
  const r = await stack.get(HEALTH, { admin: true });
  assert.equal(r.status, 200);
  assert.equal(r.json.ok, false);
  assert.equal(r.json.storage, 's3');
  assert.deepEqual(r.json.missing, ['CRON_SECRET', 'S3_ENDPOINT', 'S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']);
  await stack.restart({ S3_BUCKET: '', CRON_SECRET: 'cron-secret-for-tests-000' });
});

test('admin token shorter than 16 bytes fails closed with 503', async () => {
  await stack.restart({ ADMIN_TOKEN: 'short', CRON_SECRET: '' });
  const r = await stack.get(HEALTH, { headers: { 'x-admin-token': 'short' } });
  assert.equal(r.status, 503);
  assert.equal(r.json.error, 'server_misconfigured');
  await stack.restart({ ADMIN_TOKEN: 'admin-token-for-tests-0000', CRON_SECRET: 'cron-secret-for-tests-000' });
  assert.equal((await stack.get(HEALTH, { admin: true })).status, 200);
});

test('database unreachable: 503 JSON, and the program keeps serving', async () => {
  await stack.restart({ IW_MIGRATE: '0', DATABASE_URL: `postgresql://postgres@/nope?host=${stack.dir}/no-such-socket` });
  const r = await stack.get('/healthz');
  assert.equal(r.status, 503);
  assert.equal(r.json.ok, false);
  assert.equal(r.json.error, 'database_unavailable');
  assert.equal((await stack.get(HEALTH, { admin: true })).status, 200);
  await stack.restart({ DATABASE_URL: `postgresql://postgres@/${stack.dbs.master}?host=${process.env.IW_TEST_PGHOST}` });
});

test('a dropped database connection is re-established', async () => {
  assert.equal((await stack.get('/healthz')).status, 200);
  await stack.sql('usage', 'SELECT 1');
  await stack.sql('usage', `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                            WHERE datname = ANY($1) AND pid <> pg_backend_pid() AND application_name = 'iw-admin'`,
  [[stack.dbs.master, stack.dbs.usage]]);
  for (let i = 0; i < 6; i++) assert.equal((await stack.get('/healthz')).status, 200);
});
