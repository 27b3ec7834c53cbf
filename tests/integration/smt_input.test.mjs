// What the SMT routes refuse before calling SMT (400 naming the field, 401,
// 413, 415, invalid JSON), and each upstream fault turned into its 5xx JSON
// while the programs keep serving.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { startStack } from '../lib/stack.mjs';
import { startSmtProxy } from '../fakes/smt_proxy.mjs';

const TOKEN = 'smt-proxy-token-input-0123456789';
const TIMEOUT_MS = 1500;
const ESIID = '10443720001234567';
const ROUTES = ['agreements/status', 'agreements/cancel', 'subscriptions/list', 'agreements/esiids',
  'agreements/terminate', 'agreements/myagreements', 'report-status', 'cron/status'];
// A valid body per route, for the checks that are not about fields.
const VALID = {
  'agreements/status': { esiid: ESIID },
  'agreements/cancel': { esiid: ESIID },
  'subscriptions/list': {},
  'agreements/esiids': { agreementNumber: 1001 },
  'agreements/terminate': { agreementNumber: 1001, retailCustomerEmail: 'a@example.com' },
  'agreements/myagreements': {},
  'report-status': { correlationId: 'corr-1' },
  'cron/status': {},
};

let smt;
let stack;
before(async () => {
  smt = await startSmtProxy({
    token: TOKEN,
    agreements: [{ agreementNumber: 1001, esiid: ESIID, status: 'ACT', email: 'a@example.com' }],
    subscriptions: [{ subscriptionNumber: 7001, esiid: ESIID, serviceType: 'ADHOC' }],
    reports: { 'corr-1': { status: 'COMPLETED', statusCode: '0000', statusReason: 'ok' } },
  });
  stack = await startStack({
    name: 'smt_input',
    env: { SMT_PROXY_URL: `${smt.url}/`, SMT_PROXY_TOKEN: TOKEN, SMT_PROXY_TIMEOUT_MS: String(TIMEOUT_MS) },
  });
});
after(async () => { await stack?.stop(); await smt?.close(); });
beforeEach(() => { smt.options.fault = null; smt.options.delayMs = 0; });

const post = (route, body, opts = {}) => stack.post(`/api/admin/smt/${route}`, body, { admin: true, ...opts });

async function rejects(route, body, field) {
  const before = smt.calls.length;
  const r = await post(route, body);
  assert.equal(r.status, 400, `${route} ${JSON.stringify(body)}: ${r.text}`);
  assert.equal(r.json.ok, false);
  assert.equal(r.json.error, 'invalid_request');
  assert.match(r.json.message, new RegExp(`^${field}:`), `${route} ${JSON.stringify(body)}`);
  assert.equal(smt.calls.length, before, 'nothing reached SMT');
}

test('ESIID forms: too short, letters, injection, wrong type, missing', async () => {
  for (const route of ['agreements/status', 'agreements/cancel']) {
    for (const esiid of ['1044372000123', '1044372000123456a', "10443720001234567'; DROP TABLE \"SmtAuthorization\";--",
      '10443720001234567 OR 1=1', '12345678901234567890123', 'abcdefghijklmnopq', true, { $gt: '' }, [ESIID]]) {
      await rejects(route, { esiid }, 'esiid');
    }
    await rejects(route, {}, 'esiid');
  }
  const [{ n }] = await stack.sql('master', 'SELECT count(*)::int AS n FROM "SmtAuthorization"');
  assert.equal(n, 0);
});

test('agreementNumber forms: "12a", -5, 1.5, true, 0, too large', async () => {
  for (const agreementNumber of ['12a', -5, 1.5, true, 0, '-5', ' 12', '1e3', 90071992547409920]) {
    await rejects('agreements/esiids', { agreementNumber }, 'agreementNumber');
    await rejects('agreements/terminate', { agreementNumber, retailCustomerEmail: 'a@example.com' }, 'agreementNumber');
    await rejects('agreements/myagreements', { agreementNumber }, 'agreementNumber');
  }
  await rejects('agreements/esiids', {}, 'agreementNumber');
});

test('email forms and the statusReason enum', async () => {
  for (const retailCustomerEmail of ['nope', 'a@b', 'a@@example.com', '@example.com', 'a b@example.com',
    `${'x'.repeat(250)}@example.com`, 'a@example..com', 42, undefined]) {
    await rejects('agreements/terminate', { agreementNumber: 1001, retailCustomerEmail }, 'retailCustomerEmail');
  }
  for (const statusReason of ['FOO', 'ACTIVE', 'PEN;', 3]) {
    await rejects('agreements/myagreements', { statusReason }, 'statusReason');
  }
  const ok = await post('agreements/myagreements', { statusReason: 'nacom' });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.filter.statusReason, 'NACOM');
});

test('correlationId: required, a string, a sane length and charset; serviceType likewise', async () => {
  for (const correlationId of [undefined, 123, true, '', 'a b', 'x'.repeat(129), 'id;rm -rf', '../../etc', { id: 1 }]) {
    await rejects('report-status', { correlationId }, 'correlationId');
  }
  for (const serviceType of ['AD HOC', 'x'.repeat(33), 5]) {
    await rejects('report-status', { correlationId: 'corr-1', serviceType }, 'serviceType');
    await rejects('subscriptions/list', { serviceType }, 'serviceType');
  }
});

test('cron: status and limit', async () => {
  for (const status of ['pending!', 'SOME', 1]) await rejects('cron/status', { status }, 'status');
  for (const limit of [0, 1001, -1, 'ten', 2.5]) await rejects('cron/status', { limit }, 'limit');
  await rejects('agreements/cancel', { esiid: ESIID, ticket: 'x'.repeat(201) }, 'ticket');
});

test('every route: 401 without the token, 405 for GET, 415, invalid JSON, non-object, 413', async () => {
  for (const route of ROUTES) {
    const path = `/api/admin/smt/${route}`;
    const noToken = await stack.post(path, VALID[route]);
    assert.equal(noToken.status, 401, route);
    assert.deepEqual(noToken.json, { ok: false, error: 'unauthorized', message: 'missing or invalid credentials' });
    const wrong = await stack.post(path, VALID[route], { headers: { 'x-admin-token': 'not-the-token-0123456789' } });
    assert.equal(wrong.status, 401, route);
    const get = await stack.get(path, { admin: true });
    assert.equal(get.status, 405, route);
    assert.equal(get.headers.get('allow'), 'POST');
    const text = await stack.request('POST', path, { admin: true, raw: 'esiid=1', headers: { 'content-type': 'text/plain' } });
    assert.equal(text.status, 415, route);
    assert.equal(text.json.error, 'expected_json');
    const bad = await stack.request('POST', path, { admin: true, raw: '{"esiid":', headers: { 'content-type': 'application/json' } });
    assert.equal(bad.status, 400, route);
    assert.equal(bad.json.error, 'invalid_json');
    for (const raw of ['[1,2]', '"x"', '42', 'true', 'null']) {
      const nonObject = await stack.request('POST', path, { admin: true, raw, headers: { 'content-type': 'application/json' } });
      assert.equal(nonObject.status, 400, `${route} ${raw}`);
      assert.match(nonObject.json.message, /^body: /);
      if (raw.startsWith('[') || raw.startsWith('"')) assert.match(nonObject.json.message, /^body: must be a JSON object/);
    }
    const big = await post(route, { ...VALID[route], padding: 'x'.repeat(70 * 1024) });
    assert.equal(big.status, 413, route);
    assert.equal(big.json.error, 'payload_too_large');
  }
});

// The upstream faults: each gives the documented 5xx JSON, and the next
// request (the fault gone) succeeds on the same programs.
const FAULTS = [
  ['SMT refused', { mode: 'refuse', status: 503 }, 502, 'upstream_failed', /SMT refused/],
  ['a reply that is not JSON', { mode: 'nonjson' }, 502, 'upstream_failed', /not JSON/],
  ['a plain HTTP 500', { mode: 'http500' }, 502, 'upstream_failed', /HTTP 500/],
  ['a reset connection', { mode: 'reset' }, 502, 'upstream_failed', /SMT proxy/],
  ['a reply over 8 MiB', { mode: 'huge' }, 502, 'upstream_failed', /larger than/],
  ['a reply slower than the timeout', { mode: 'slow', delayMs: TIMEOUT_MS + 1500 }, 504, 'upstream_timeout', /in time/],
];

for (const [what, fault, status, code, message] of FAULTS) {
  test(`upstream fault: ${what} -> ${status} ${code}, then service resumes`, async () => {
    for (const route of ['agreements/status', 'agreements/myagreements', 'report-status']) {
      smt.options.fault = { ...fault };
      const r = await post(route, VALID[route]);
      assert.equal(r.status, status, `${route}: ${r.text.slice(0, 300)}`);
      assert.equal(r.json.ok, false);
      assert.equal(r.json.error, code);
      assert.match(r.json.message, message);
      smt.options.fault = null;
      const again = await post(route, VALID[route]);
      assert.equal(again.status, 200, `${route} after ${what}: ${again.text.slice(0, 300)}`);
    }
  });
}

test('upstream fault: the proxy refuses our token -> 502 naming SMT_PROXY_TOKEN', async () => {
  smt.token = 'rotated-on-the-droplet';
  try {
    const r = await post('agreements/myagreements', {});
    assert.equal(r.status, 502);
    assert.equal(r.json.error, 'upstream_failed');
    assert.match(r.json.message, /SMT_PROXY_TOKEN/);
    assert.equal(smt.calls.at(-1).authorized, false);
  } finally {
    smt.token = TOKEN;
  }
  assert.equal((await post('agreements/myagreements', {})).status, 200);
});

test('upstream fault: no server at all -> 502, then service resumes', async () => {
  await smt.pause();
  try {
    for (const route of ['agreements/status', 'agreements/esiids', 'agreements/terminate']) {
      const r = await post(route, VALID[route]);
      assert.equal(r.status, 502, `${route}: ${r.text}`);
      assert.equal(r.json.error, 'upstream_failed');
      assert.match(r.json.message, /SMT proxy/);
    }
  } finally {
    await smt.resume();
  }
  const r = await post('agreements/status', VALID['agreements/status']);
  assert.equal(r.status, 200, r.text);
  // The failed terminate left an audit row saying so.
  const [row] = await stack.sql('master', `SELECT "ok","detail" FROM "SmtAdminAction" WHERE "action" = 'terminate'`);
  assert.equal(row.ok, false);
  assert.match(row.detail.error, /SMT proxy/);
});

test('a failing terminate inside cancel answers 502 with what was done, and audits it', async () => {
  await stack.sql('master', `INSERT INTO "SmtAuthorization" ("id","esiid","contactEmail") VALUES ('a1', $1, 'a@example.com')`, [ESIID]);
  smt.options.fault = { mode: 'refuse', path: '/smt/agreements/terminate', status: 500 };
  const r = await post('agreements/cancel', { esiid: ESIID, ticket: 'T-9' });
  assert.equal(r.status, 502, r.text);
  assert.equal(r.json.error, 'upstream_failed');
  assert.deepEqual(r.json.terminated, []);
  const [row] = await stack.sql('master', `SELECT "ok","ticket","statusCode" FROM "SmtAdminAction" WHERE "action" = 'cancel'`);
  assert.deepEqual(row, { ok: false, ticket: 'T-9', statusCode: 500 });
  const [auth] = await stack.sql('master', `SELECT "smtStatus" FROM "SmtAuthorization" WHERE "id" = 'a1'`);
  assert.equal(auth.smtStatus, null, 'not marked when SMT did not terminate');
});

test('SMT_PROXY_URL unset -> 503 server_misconfigured naming it, before any SMT call', async () => {
  // (SMT_PROXY_AGREEMENTS_URL, the other way to set the proxy, is what smt_cron.test.mjs uses.)
  await stack.restart({ SMT_PROXY_URL: '', SMT_PROXY_AGREEMENTS_URL: '' });
  smt.calls.length = 0;
  for (const route of ['agreements/myagreements', 'agreements/cancel', 'cron/status']) {
    const r = await post(route, VALID[route]);
    assert.equal(r.status, 503, `${route}: ${r.text}`);
    assert.equal(r.json.error, 'server_misconfigured');
    assert.match(r.json.message, /SMT_PROXY_URL/);
  }
  assert.equal(smt.calls.length, 0);
});
