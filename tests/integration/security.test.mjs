// Security hardening through nginx: secrets of the right length, no secret in
// any log file, authentication before an upload's body is read, and no
// request that waits for a database lock without bound.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statfsSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { startStack } from '../lib/stack.mjs';
import { startSmtProxy } from '../fakes/smt_proxy.mjs';

const CRON = '/api/admin/ercot/cron';
const HEALTH = '/api/admin/ercot/cron/health';
const PULL = '/api/admin/smt/pull';
const SMT_TOKEN = 'smt-proxy-token-security-0123456';

let stack;
let smt;
before(async () => {
  smt = await startSmtProxy({ token: SMT_TOKEN, agreements: [
    { agreementNumber: 4242, esiid: '10443720000000001', status: 'ACT' },
    { agreementNumber: 4243, esiid: '10443720000000002', status: 'ACT' },
  ] });
  stack = await startStack({ name: 'security', env: {
    SMT_PROXY_URL: smt.url, SMT_PROXY_TOKEN: SMT_TOKEN, IW_DB_LOCK_TIMEOUT_MS: '700',
  } });
});
after(async () => { await stack?.stop(); await smt?.close(); });

// Every file under the stack's log directory, with its text.
function logFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const f = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...logFiles(f));
    else out.push({ f, text: readFileSync(f, 'latin1') });
  }
  return out;
}

test('short CRON_SECRET: 503 for its own methods, x-admin-token still works', async () => {
  await stack.restart({ CRON_SECRET: 'short-secret' }); // 12 bytes
  try {
    const byQuery = await stack.get(`${HEALTH}?token=short-secret`);
    assert.equal(byQuery.status, 503, byQuery.text);
    assert.equal(byQuery.json.error, 'server_misconfigured');
    const byBearer = await stack.get(HEALTH, { headers: { authorization: 'Bearer short-secret' } });
    assert.equal(byBearer.status, 503, byBearer.text);
    const byHeader = await stack.get(HEALTH, { headers: { 'x-cron-secret': 'short-secret' } });
    assert.equal(byHeader.status, 503, byHeader.text);
    const admin = await stack.get(HEALTH, { admin: true });
    assert.equal(admin.status, 200, admin.text);
  } finally {
    await stack.restart({ CRON_SECRET: 'cron-secret-long-enough-0123456789' });
  }
});

test('unset CRON_SECRET turns only its own method off', async () => {
  await stack.restart({ CRON_SECRET: '' });
  try {
    const bearer = await stack.get(HEALTH, { headers: { authorization: 'Bearer anything-at-all-0123456' } });
    assert.equal(bearer.status, 401, bearer.text);
    const admin = await stack.get(HEALTH, { admin: true });
    assert.equal(admin.status, 200, admin.text);
  } finally {
    await stack.restart({ CRON_SECRET: 'cron-secret-long-enough-0123456789' });
  }
});

test('x-cron-secret is accepted beside Bearer and ?token=', async () => {
  const secret = stack.env.CRON_SECRET;
  for (const headers of [{ 'x-cron-secret': secret }, { authorization: `Bearer ${secret}` }]) {
    const r = await stack.get(HEALTH, { headers });
    assert.equal(r.status, 200, r.text);
  }
  const wrong = await stack.get(HEALTH, { headers: { 'x-cron-secret': `${secret}x` } });
  assert.equal(wrong.status, 401, wrong.text);
});

test('short webhook secret: 503 for the webhook header, before any body is read', async () => {
  await stack.restart({ INTELLIWATT_WEBHOOK_SECRET: 'tiny-hook' });
  try {
    const r = await stack.post(PULL, { mode: 'inline' }, { headers: { 'x-intelliwatt-secret': 'tiny-hook' } });
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.error, 'server_misconfigured');
    // The admin token is another method, and still works (the body is then judged).
    const admin = await stack.post(PULL, { mode: 5 }, { admin: true });
    assert.equal(admin.status, 400, admin.text);
  } finally {
    await stack.restart({ INTELLIWATT_WEBHOOK_SECRET: 'webhook-secret-long-enough-0123456' });
  }
});

test('a ?token= cron call that fails in nginx leaves the token in no log file', async () => {
  const token = stack.env.CRON_SECRET;
  // Stop the ERCOT cron program, its supervisor first (it would replace the
  // copies): nginx answers 502 and writes an error line.
  const pids = ['ercot_cron.supervisor.pid', 'ercot_cron.pid']
    .flatMap((f) => readFileSync(path.join(stack.dir, 'run', f), 'utf8').split(/\s+/).filter(Boolean));
  for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
  await new Promise((r) => setTimeout(r, 200));
  const r = await stack.get(`${CRON}?token=${token}`);
  assert.equal(r.status, 502, r.text);
  assert.equal(r.json.error, 'upstream_failed');
  // The same failure without a token in the URL is still logged by nginx.
  const bearer = await stack.get(CRON, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(bearer.status, 502, bearer.text);
  await new Promise((res) => setTimeout(res, 200));
  const files = logFiles(path.join(stack.dir, 'log'));
  assert.ok(files.some((x) => x.f.endsWith('nginx-error.log') && /ercot_cron\.sock/.test(x.text)),
    'nginx logs the failed connection of the Bearer call');
  for (const { f, text } of files) assert.ok(!text.includes(token), `the CRON_SECRET is in ${f}`);
  await stack.restart(); // the program back for the next tests
});

// Sends SIZE bytes of body as fast as the socket takes them; resolves with the
// status and the largest growth of used space on the file system that holds
// nginx's body spool while the body was being sent.
function anonymousUpload(size, spoolDir) {
  const used = () => { const s = statfsSync(spoolDir); return (s.blocks - s.bfree) * s.bsize; };
  const base = used();
  let peak = 0;
  const timer = setInterval(() => { peak = Math.max(peak, used() - base); }, 20);
  return new Promise((resolve, reject) => {
    const req = http.request(`${stack.base}${PULL}`, {
      method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': size },
    }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => { clearInterval(timer); peak = Math.max(peak, used() - base); resolve({ status: res.statusCode, text, peak }); });
    });
    req.on('error', (e) => { clearInterval(timer); reject(e); });
    const chunk = Buffer.alloc(1 << 20, 0x41);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) { req.once('drain', pump); return; }
      }
      req.end();
    };
    pump();
  });
}

test('a 200 MiB anonymous upload is refused before nginx spools its body', async () => {
  const spool = path.join(stack.dir, 'nginx/body');
  assert.ok(statSync(spool).isDirectory());
  const r = await anonymousUpload(200 * 1024 * 1024, spool).catch((e) => ({ status: 0, text: String(e), peak: 0 }));
  // The client may see the answer, or a reset once nginx closes after it.
  if (r.status) {
    assert.equal(r.status, 401, r.text);
    assert.equal(JSON.parse(r.text).error, 'unauthorized');
  }
  assert.ok(r.peak < 32 * 1024 * 1024, `the spool's file system grew by ${r.peak} bytes`);
  // Nothing reached the program: its log has no pull request line.
  assert.ok(!/"status":401/.test(stack.log('smt_pull')), 'the pull program never saw the request');
  // An authenticated small request still passes the gate and reaches the program.
  const ok = await stack.post(PULL, { mode: 5 }, { headers: { 'x-intelliwatt-secret': stack.env.INTELLIWATT_WEBHOOK_SECRET } });
  assert.equal(ok.status, 400, ok.text);
});

test('the gate itself: wrong secret 401 JSON, no body read, no program call', async () => {
  const r = await stack.post(PULL, { mode: 'inline' }, { headers: { 'x-intelliwatt-secret': 'not-the-secret-0123456789' } });
  assert.equal(r.status, 401, r.text);
  assert.deepEqual([r.json.ok, r.json.error], [false, 'unauthorized']);
  // The gate logs its refusals, not each let-through (nginx's access log has those).
  const ok = await stack.post(PULL, { mode: 5 }, { admin: true });
  assert.equal(ok.status, 400, ok.text);
  const lines = stack.log('auth_gate').split('\n').filter((l) => l.includes('"msg":"request"'));
  assert.ok(lines.some((l) => l.includes('"status":401')), 'the refusal is logged');
  assert.ok(!lines.some((l) => l.includes('"status":200')), 'a let-through is not');
});

test('a row lock held elsewhere: 409 busy with Retry-After naming the table, then the worker serves again', async () => {
  await stack.sql('master', `INSERT INTO "SmtAuthorization" ("id","esiid","createdAt","smtStatus")
    VALUES ('sec-1', '10443720000000001', now() - interval '1 day', 'PENDING')`);
  const holder = new pg.Client({ host: process.env.IW_TEST_PGHOST, user: 'postgres', database: stack.dbs.master });
  await holder.connect();
  try {
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM "SmtAuthorization" WHERE id = 'sec-1' FOR UPDATE`);
    const t0 = Date.now();
    const r = await stack.post('/api/admin/smt/cron/status', { status: 'ALL' }, { admin: true });
    const took = Date.now() - t0;
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error, 'busy');
    assert.match(r.json.message, /SmtAuthorization/);
    assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After is set');
    assert.ok(took < 5000, `answered after ${took} ms`);
  } finally {
    await holder.query('ROLLBACK').catch(() => {});
    await holder.end();
  }
  const again = await stack.post('/api/admin/smt/cron/status', { status: 'ALL' }, { admin: true });
  assert.equal(again.status, 200, again.text);
  const [row] = await stack.sql('master', `SELECT "smtStatus" FROM "SmtAuthorization" WHERE id = 'sec-1'`);
  assert.equal(row.smtStatus, 'ACTIVE');
});

test('an autocommit statement behind a row lock: 409 busy too, then the worker serves the next one', async () => {
  await stack.sql('master', `INSERT INTO "SmtAuthorization" ("id","esiid","smtAgreementId","createdAt")
    VALUES ('sec-2', '10443720000000001', '4242', now()), ('sec-3', '10443720000000002', '4243', now())`);
  const holder = new pg.Client({ host: process.env.IW_TEST_PGHOST, user: 'postgres', database: stack.dbs.master });
  await holder.connect();
  const body = { agreementNumber: 4242, retailCustomerEmail: 'ops@example.com' };
  try {
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM "SmtAuthorization" WHERE id = 'sec-2' FOR UPDATE`);
    const r = await stack.post('/api/admin/smt/agreements/terminate', body, { admin: true });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error, 'busy');
    assert.match(r.json.message, /SmtAuthorization/);
    assert.ok(r.headers.get('retry-after'));
  } finally {
    await holder.query('ROLLBACK').catch(() => {});
    await holder.end();
  }
  const next = await stack.post('/api/admin/smt/agreements/terminate', { ...body, agreementNumber: 4243 }, { admin: true });
  assert.equal(next.status, 200, next.text);
  const [row] = await stack.sql('master', `SELECT "smtStatus" FROM "SmtAuthorization" WHERE id = 'sec-3'`);
  assert.equal(row.smtStatus, 'EXPIRED');
});
