// The SMT admin routes through nginx against the SMT proxy stand-in:
// each route's answer, cancel and terminate with their audit rows, key casing.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { startStack } from '../lib/stack.mjs';
import { NORMALIZED, startSmtProxy } from '../fakes/smt_proxy.mjs';

const TOKEN = 'smt-proxy-token-routes-0123456789';
const E = {
  active: '10443720001234567',
  pending: '10443720007654321',
  ended: '10089010001112223',
  declined: '10089010004445556',
  cancel: '10443720009990001',
  noemail: '10443720009990002',
  long22: '1008901023456789012345', // 22 digits: SMT knows it by its last 17
};
const smtForm = (e) => e.slice(-17).padStart(17, '0');

function book() {
  return {
    agreements: [
      { agreementNumber: 1000, esiid: E.active, status: 'COM' }, // an older, ended one
      { agreementNumber: 1001, esiid: E.active, status: 'ACT', email: 'active@example.com' },
      { agreementNumber: 1002, esiid: E.pending, status: 'PEN' },
      { agreementNumber: 1003, esiid: E.ended, status: 'COM' },
      { agreementNumber: 1004, esiid: E.declined, status: 'NACOM' },
      { agreementNumber: 1005, esiid: E.cancel, status: 'ACT', email: 'cancel.me@example.com', group: 1 },
      { agreementNumber: 1006, esiid: E.cancel, status: 'PEN', email: 'cancel.me@example.com', group: 1 },
      { agreementNumber: 1007, esiid: E.noemail, status: 'ACT' },
      { agreementNumber: 1008, esiid: smtForm(E.long22), status: 'ACT' },
    ],
    subscriptions: [
      { subscriptionNumber: 5001, esiid: E.active, serviceType: 'SUBSCRIPTION' },
      { subscriptionNumber: 5002, agreementNumber: 1002, serviceType: 'ADHOC' },
      { subscriptionNumber: 5003, esiid: E.cancel, serviceType: 'SUBSCRIPTION' },
      { subscriptionNumber: 5004, agreementNumber: 1006, serviceType: 'ADHOC' },
      { subscriptionNumber: 5005, esiid: E.ended, serviceType: 'ADHOC', status: 'Cancelled' },
    ],
    reports: {
      'corr-0001': { status: 'COMPLETED', statusCode: '0000', statusReason: 'Report delivered', recordCount: 96 },
      'RPT:2025.11-abc_9': { Status: 'IN_PROGRESS', StatusCode: '0001', StatusReason: 'Generating' },
    },
  };
}

let smt;
let stack;
before(async () => {
  smt = await startSmtProxy({ token: TOKEN, ...book() });
  stack = await startStack({ name: 'smt_routes', env: { SMT_PROXY_URL: smt.url, SMT_PROXY_TOKEN: TOKEN } });
  await stack.sql('master', `INSERT INTO "SmtAuthorization" ("id","esiid","contactEmail","smtAgreementId","smtStatus")
    VALUES ('auth-cancel-1', $1, 'cancel.me@example.com', '1005', 'ACTIVE'),
           ('auth-cancel-2', $1, NULL, NULL, 'PENDING'),
           ('auth-noemail', $2, NULL, '1007', 'ACTIVE'),
           ('auth-term', $3, 'active@example.com', '1001', 'ACTIVE')`, [`'${E.cancel}`, E.noemail, E.active]);
});
after(async () => { await stack?.stop(); await smt?.close(); });
beforeEach(() => { smt.options.fault = null; smt.options.shape = 'wrapped'; });

const post = (route, body) => stack.post(`/api/admin/smt/${route}`, body, { admin: true });

test('status: the active agreement, its subscription and every agreement of the ESIID', async () => {
  smt.calls.length = 0;
  const r = await post('agreements/status', { esiid: E.active });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ok, true);
  assert.equal(r.json.esiid, E.active);
  assert.equal(r.json.status.agreementNumber, 1001);
  assert.equal(r.json.status.normalized, 'ACTIVE');
  assert.equal(r.json.status.agreementStatus, 'ACTIVE'); // SMT's own text, kept
  assert.equal(r.json.status.statusReason, null); // 1001 is rendered PascalCase, text only
  assert.equal(r.json.status.subscription.subscriptionNumber ?? r.json.status.subscription.SubscriptionNumber, 5001);
  assert.deepEqual(r.json.agreements.map((a) => [a.agreementNumber, a.normalized]).sort(), [[1000, 'EXPIRED'], [1001, 'ACTIVE']]);
  // The proxy saw the bearer token and one call per list.
  assert.deepEqual(smt.calls.map((c) => [c.path, c.authorized]),
    [['/smt/agreements/myagreements', true], ['/smt/subscriptions/list', true]]);
});

test('status: a leading quote and spaces are accepted; 22 digits match SMT by the last 17', async () => {
  const q = await post('agreements/status', { esiid: ` '${E.pending} ` });
  assert.equal(q.status, 200, q.text);
  assert.equal(q.json.esiid, E.pending);
  assert.equal(q.json.status.normalized, 'PENDING');
  assert.equal(q.json.status.agreementNumber, 1002);
  // Subscription 5002 names no ESIID: it belongs through agreement 1002.
  assert.equal(q.json.status.subscription.SubscriptionNumber, '5002');
  const l = await post('agreements/status', { esiid: E.long22 });
  assert.equal(l.status, 200, l.text);
  assert.equal(l.json.status.agreementNumber, 1008);
  assert.equal(l.json.status.subscription, null);
});

test('status: every SMT layout and key casing gives the same answer', async () => {
  const seen = [];
  for (const shape of ['wrapped', 'list', 'deep']) {
    smt.options.shape = shape;
    for (const [esiid, want] of [[E.ended, ['EXPIRED', 1003]], [E.declined, ['DECLINED', 1004]], [E.pending, ['PENDING', 1002]]]) {
      const r = await post('agreements/status', { esiid });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual([r.json.status.normalized, r.json.status.agreementNumber], want, `${shape} ${esiid}`);
      seen.push(r.json.status.normalized);
    }
  }
  assert.equal(seen.length, 9);
});

test('status: an ESIID SMT does not know answers ok with no agreement', async () => {
  const r = await post('agreements/status', { esiid: '10443720000000000' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status.agreementNumber, null);
  assert.equal(r.json.status.normalized, null);
  assert.deepEqual(r.json.agreements, []);
  assert.match(r.json.status.message, /no agreement/);
});

test('myagreements: all, and filtered by number and by statusReason (any case)', async () => {
  const all = await post('agreements/myagreements', {});
  assert.equal(all.status, 200, all.text);
  assert.deepEqual(all.json.filter, { agreementNumber: null, statusReason: null });
  assert.equal(all.json.agreements.length, smt.agreements.length);
  for (const a of all.json.agreements) {
    const src = smt.agreements.find((x) => x.agreementNumber === a.agreementNumber);
    assert.equal(a.normalized, NORMALIZED[src.status], `agreement ${a.agreementNumber}`);
    assert.equal(a.esiid, smtForm(src.esiid));
    assert.equal(typeof a.record, 'object');
  }
  const act = await post('agreements/myagreements', { statusReason: 'act' });
  assert.equal(act.status, 200, act.text);
  assert.equal(act.json.filter.statusReason, 'ACT');
  assert.deepEqual(act.json.agreements.map((a) => a.normalized).filter((s) => s !== 'ACTIVE'), []);
  assert.equal(smt.calls.at(-1).body.statusReason, 'ACT');
  const one = await post('agreements/myagreements', { agreementNumber: '1004' });
  assert.equal(one.status, 200, one.text);
  assert.deepEqual(one.json.agreements.map((a) => [a.agreementNumber, a.normalized]), [[1004, 'DECLINED']]);
  assert.deepEqual(smt.calls.at(-1).body, { agreementNumber: 1004 });
});

test('esiids: SMT data as given plus the ESIIDs in SMT form', async () => {
  const r = await post('agreements/esiids', { agreementNumber: 1005 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.agreementNumber, 1005);
  assert.equal(r.json.data.AgreementNumber, '1005');
  assert.deepEqual(r.json.esiids, [E.cancel]);
  const missing = await post('agreements/esiids', { agreementNumber: 424242 });
  assert.equal(missing.status, 502);
  assert.equal(missing.json.error, 'upstream_failed');
  assert.equal(missing.json.upstreamStatus, 400);
  assert.equal(missing.json.upstream.errorCode, 'AGR0404');
});

test('subscriptions/list: all, or only the serviceType asked for', async () => {
  const all = await post('subscriptions/list', {});
  assert.equal(all.status, 200, all.text);
  assert.equal(all.json.serviceType, null);
  assert.equal(all.json.subscriptions.length, 5);
  const adhoc = await post('subscriptions/list', { serviceType: 'adhoc' });
  assert.equal(adhoc.status, 200, adhoc.text);
  assert.equal(adhoc.json.serviceType, 'adhoc');
  const numbers = adhoc.json.subscriptions.map((s) => String(s.subscriptionNumber ?? s.SubscriptionNumber ?? s.subscriptionId)).sort();
  assert.deepEqual(numbers, ['5002', '5004', '5005']);
  assert.deepEqual(smt.calls.at(-1).body, {});
  const none = await post('subscriptions/list', { serviceType: 'SUMMARY' });
  assert.deepEqual(none.json.subscriptions, []);
});

test('report-status: SMT\'s report status with status, statusCode and statusReason', async () => {
  const r = await post('report-status', { correlationId: 'corr-0001', serviceType: 'ADHOC' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.correlationId, 'corr-0001');
  assert.equal(r.json.serviceType, 'ADHOC');
  assert.equal(r.json.reportStatus.status, 'COMPLETED');
  assert.equal(r.json.reportStatus.statusCode, '0000');
  assert.equal(r.json.reportStatus.statusReason, 'Report delivered');
  assert.equal(r.json.reportStatus.ReportStatusResponse.recordCount, 96);
  assert.deepEqual(smt.calls.at(-1).body, { correlationId: 'corr-0001', serviceType: 'ADHOC' });
  // PascalCase keys and an id with ':' '.' '_' still work; no serviceType sent when none given.
  const p = await post('report-status', { correlationId: 'RPT:2025.11-abc_9' });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.serviceType, null);
  assert.deepEqual([p.json.reportStatus.status, p.json.reportStatus.statusCode, p.json.reportStatus.statusReason],
    ['IN_PROGRESS', '0001', 'Generating']);
  assert.deepEqual(smt.calls.at(-1).body, { correlationId: 'RPT:2025.11-abc_9' });
  const unknown = await post('report-status', { correlationId: 'nope' });
  assert.equal(unknown.status, 502);
  assert.equal(unknown.json.upstream.errorCode, 'RPT0404');
});

test('terminate: ends the agreement, marks its authorization, writes an audit row (also on failure)', async () => {
  const r = await post('agreements/terminate', { agreementNumber: '1001', retailCustomerEmail: 'active@example.com' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.agreementNumber, 1001);
  assert.equal(r.json.retailCustomerEmail, 'active@example.com');
  assert.equal(r.json.result.statusCode, '0000');
  assert.equal(r.json.authorizationsUpdated, 1);
  assert.equal(smt.agreements.find((a) => a.agreementNumber === 1001).status, 'COM');
  assert.deepEqual(smt.calls.at(-1).body, { agreementNumber: 1001, retailCustomerEmail: 'active@example.com' });
  const [auth] = await stack.sql('master', `SELECT "smtStatus","revokedReason","updatedAt" > now() - interval '1 day' AS fresh
    FROM "SmtAuthorization" WHERE "id" = 'auth-term'`);
  assert.deepEqual(auth, { smtStatus: 'EXPIRED', revokedReason: 'terminated by admin', fresh: true });

  const bad = await post('agreements/terminate', { agreementNumber: 1003, retailCustomerEmail: 'x@example.com' });
  assert.equal(bad.status, 502, bad.text);
  assert.equal(bad.json.error, 'upstream_failed');
  assert.equal(bad.json.upstream.errorCode, 'AGR0410');
  const rows = await stack.sql('master', `SELECT "action","agreementNumber"::int AS n,"ok","statusCode","detail"
    FROM "SmtAdminAction" WHERE "action" = 'terminate' ORDER BY "id"`);
  assert.equal(rows.length, 2);
  assert.deepEqual([rows[0].n, rows[0].ok, rows[0].statusCode], [1001, true, 200]);
  assert.equal(rows[0].detail.result.statusCode, '0000');
  assert.deepEqual([rows[1].n, rows[1].ok, rows[1].statusCode], [1003, false, 400]);
  assert.equal(rows[1].detail.response.errorCode, 'AGR0410');
  assert.match(rows[1].detail.error, /SMT refused/);
});

test('cancel: terminates every live agreement and subscription; a second cancel changes nothing', async () => {
  smt.calls.length = 0;
  const r = await post('agreements/cancel', { esiid: E.cancel, ticket: 'TCK-77' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ok, true);
  assert.equal(r.json.esiid, E.cancel);
  assert.equal(r.json.statusCode, 200);
  assert.equal(r.json.alreadyTerminated, false);
  assert.deepEqual(r.json.terminated.map((t) => t.agreementNumber).sort(), [1005, 1006]);
  assert.deepEqual(r.json.unsubscribed.map((u) => u.subscriptionNumber).sort(), [5003, 5004]);
  assert.equal(r.json.authorizationsUpdated, 2);
  const terminateCalls = smt.callsTo('/smt/agreements/terminate');
  assert.deepEqual(terminateCalls.map((c) => c.body.retailCustomerEmail), ['cancel.me@example.com', 'cancel.me@example.com']);
  assert.equal(smt.callsTo('/smt/subscriptions/unsubscribe').length, 2);
  const auths = await stack.sql('master', `SELECT "id","smtStatus","revokedReason" FROM "SmtAuthorization"
    WHERE "id" LIKE 'auth-cancel-%' ORDER BY "id"`);
  assert.deepEqual(auths, [
    { id: 'auth-cancel-1', smtStatus: 'EXPIRED', revokedReason: 'admin_cancel (ticket TCK-77)' },
    { id: 'auth-cancel-2', smtStatus: 'EXPIRED', revokedReason: 'admin_cancel (ticket TCK-77)' },
  ]);

  smt.calls.length = 0;
  const again = await post('agreements/cancel', { esiid: E.cancel, ticket: 'TCK-77' });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.alreadyTerminated, true);
  assert.deepEqual(again.json.terminated, []);
  assert.deepEqual(again.json.unsubscribed, []);
  assert.deepEqual(smt.calls.map((c) => c.path), ['/smt/agreements/myagreements', '/smt/subscriptions/list']);

  const audit = await stack.sql('master', `SELECT "esiid","agreementNumber"::int AS n,"ticket","ok","statusCode","detail"
    FROM "SmtAdminAction" WHERE "action" = 'cancel' AND "esiid" = $1 ORDER BY "id"`, [E.cancel]);
  assert.equal(audit.length, 2);
  assert.deepEqual([audit[0].ticket, audit[0].ok, audit[0].statusCode, audit[0].detail.alreadyTerminated], ['TCK-77', true, 200, false]);
  assert.equal(audit[0].detail.terminated.length, 2);
  assert.equal(audit[1].detail.alreadyTerminated, true);
});

test('cancel: no contact email on file is a 409 naming contactEmail, and nothing is terminated', async () => {
  smt.calls.length = 0;
  const r = await post('agreements/cancel', { esiid: E.noemail });
  assert.equal(r.status, 409, r.text);
  assert.equal(r.json.error, 'contact_email_missing');
  assert.match(r.json.message, /contactEmail/);
  assert.equal(smt.callsTo('/smt/agreements/terminate').length, 0);
  assert.equal(smt.agreements.find((a) => a.agreementNumber === 1007).status, 'ACT');
  const [row] = await stack.sql('master', `SELECT "ok","detail" FROM "SmtAdminAction" WHERE "esiid" = $1`, [E.noemail]);
  assert.equal(row.ok, false);
  assert.equal(row.detail.error, 'contact_email_missing');
});

test('cancel: an ESIID unknown to SMT and to the database is a 404', async () => {
  const r = await post('agreements/cancel', { esiid: '10443720000000099' });
  assert.equal(r.status, 404, r.text);
  assert.equal(r.json.error, 'not_found');
  assert.match(r.json.message, /^esiid:/);
});
