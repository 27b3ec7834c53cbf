// The hourly SMT status cron over hundreds of authorizations: one fetch of
// the CSP agreement list per run, every stored status, the cooldown, scope
// and limit, a proxy failure that leaves statuses alone, and one run at a time.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { startStack } from '../lib/stack.mjs';
import { NORMALIZED, renderAgreement, startSmtProxy } from '../fakes/smt_proxy.mjs';

const TOKEN = 'smt-proxy-token-cron-0123456789';
const ROUTE = '/api/admin/smt/cron/status';
const ROWS = 320;
const STATUSES = ['ACT', 'PEN', 'COM', 'NACOM', 'Suspended'];
const esiidOf = (i) => `1044372${String(i).padStart(10, '0')}`;

// Row i: which agreement SMT has for it, and how the row stores its ESIID.
function plan(i) {
  if (i % 16 === 15) return { agreements: [] }; // SMT lists nothing for it
  const status = STATUSES[i % STATUSES.length];
  const main = { agreementNumber: 20000 + i, esiid: esiidOf(i), status };
  // Every 7th also has an older, ended agreement: the live one must win.
  const older = i % 7 === 0 ? [{ agreementNumber: 10000 + i, esiid: esiidOf(i), status: 'COM' }] : [];
  return { agreements: [...older, main], want: main };
}
function storedEsiid(i) {
  if (i % 5 === 1) return `'${esiidOf(i)}`; // as pasted from a CSV
  if (i % 5 === 2) return `10089${esiidOf(i)}`; // 22 digits: SMT knows the last 17
  return esiidOf(i);
}
const statusText = (rec) => rec.status ?? rec.AgreementStatus ?? rec.Status;

let smt;
let stack;
before(async () => {
  const agreements = [];
  for (let i = 0; i < ROWS; i++) agreements.push(...plan(i).agreements);
  // Agreements of other CSP customers the cron must simply ignore.
  for (let i = 0; i < 50; i++) agreements.push({ agreementNumber: 90000 + i, esiid: `1008901${String(i).padStart(10, '0')}`, status: 'ACT' });
  smt = await startSmtProxy({ token: TOKEN, agreements });
  stack = await startStack({ name: 'smt_cron', env: {
    // The proxy's older setting: the base is this URL minus "/agreements".
    SMT_PROXY_AGREEMENTS_URL: `${smt.url}/agreements`, SMT_PROXY_TOKEN: TOKEN, SMT_PROXY_TIMEOUT_MS: '5000',
  } });
  const ids = [];
  const esiids = [];
  const ages = [];
  for (let i = 0; i < ROWS; i++) { ids.push(`row-${i}`); esiids.push(storedEsiid(i)); ages.push(i); }
  await stack.sql('master', `INSERT INTO "SmtAuthorization" ("id","esiid","createdAt")
    SELECT id, e, (now() AT TIME ZONE 'UTC') - age * interval '1 second'
    FROM unnest($1::text[], $2::text[], $3::int[]) AS u(id, e, age)`, [ids, esiids, ages]);
  // Not scanned: archived rows. Failed: rows without a usable ESIID.
  await stack.sql('master', `INSERT INTO "SmtAuthorization" ("id","esiid","archivedAt","smtStatus")
    SELECT 'archived-' || g, $1, now(), 'PENDING' FROM generate_series(1, 10) g`, [esiidOf(0)]);
  await stack.sql('master', `INSERT INTO "SmtAuthorization" ("id","esiid","createdAt")
    VALUES ('bad-1', 'n/a', now() - interval '1 hour'), ('bad-2', '', now() - interval '1 hour')`);
});
after(async () => { await stack?.stop(); await smt?.close(); });
beforeEach(() => { smt.options.fault = null; smt.options.delayMs = 0; smt.calls.length = 0; });

const run = (body) => stack.post(ROUTE, body, { admin: true });

test(`ALL over ${ROWS + 2} rows: one SMT call, every row's status stored`, async () => {
  const r = await run({ status: 'ALL', limit: 1000 });
  assert.equal(r.status, 200, r.text);
  const noAgreement = Array.from({ length: ROWS }, (_, i) => i).filter((i) => i % 16 === 15).length;
  assert.deepEqual(r.json, { ok: true, status: 'ALL', scanned: ROWS + 2, updated: ROWS - noAgreement,
    failed: noAgreement + 2, throttled: 0 });
  assert.deepEqual(smt.calls.map((c) => [c.path, c.body]), [['/smt/agreements/myagreements', {}]]);

  const rows = await stack.sql('master', `SELECT "id","smtAgreementId","smtStatus","smtStatusMessage",
    "smtLastSyncAt" IS NOT NULL AS synced FROM "SmtAuthorization"`);
  const byId = new Map(rows.map((x) => [x.id, x]));
  for (let i = 0; i < ROWS; i++) {
    const row = byId.get(`row-${i}`);
    const { want } = plan(i);
    assert.equal(row.synced, true, `row ${i}`);
    if (!want) {
      assert.equal(row.smtStatus, 'ERROR', `row ${i}`);
      assert.equal(row.smtAgreementId, null);
      assert.equal(row.smtStatusMessage, `SMT lists no agreement for ESIID ${esiidOf(i)}`);
      continue;
    }
    assert.equal(row.smtStatus, NORMALIZED[want.status] ?? 'ERROR', `row ${i} (${want.status})`);
    assert.equal(row.smtAgreementId, String(want.agreementNumber), `row ${i}`);
    assert.ok(row.smtStatusMessage.startsWith(statusText(renderAgreement(want))),
      `row ${i}: ${row.smtStatusMessage}`);
  }
  for (const id of ['bad-1', 'bad-2']) {
    assert.equal(byId.get(id).smtStatus, 'ERROR');
    assert.match(byId.get(id).smtStatusMessage, /no valid ESIID/);
  }
  for (let g = 1; g <= 10; g++) {
    assert.deepEqual([byId.get(`archived-${g}`).smtStatus, byId.get(`archived-${g}`).synced], ['PENDING', false]);
  }
  // Every normalised value occurred.
  assert.deepEqual([...new Set(rows.map((x) => x.smtStatus))].sort(),
    ['ACTIVE', 'DECLINED', 'ERROR', 'EXPIRED', 'PENDING']);
  assert.match(stack.log('smt_cron_status'),
    new RegExp(`"status":200,.*"scanned":${ROWS + 2},"updated":${ROWS - noAgreement},"failed":${noAgreement + 2},"throttled":0`));
});

test('rows synced within the cooldown are throttled, and no SMT call is made for them', async () => {
  const r = await run({ status: 'ALL', limit: 1000 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.scanned, ROWS + 2);
  assert.equal(r.json.throttled, ROWS + 2);
  assert.equal(r.json.updated + r.json.failed, 0);
  assert.equal(smt.calls.length, 0);
});

test('default scope: PENDING or never-synced rows, newest first, up to the limit (default 50)', async () => {
  await stack.sql('master', `UPDATE "SmtAuthorization" SET "smtLastSyncAt" = NULL`);
  // Rows 0..9 newest: make some of them not pending so they are skipped.
  await stack.sql('master', `UPDATE "SmtAuthorization" SET "smtStatus" = NULL WHERE "id" IN ('row-0','row-2')`);
  const pendingIds = (await stack.sql('master', `SELECT "id" FROM "SmtAuthorization" WHERE "archivedAt" IS NULL
    AND ("smtStatus" IS NULL OR "smtStatus" = 'PENDING') ORDER BY "createdAt" DESC, "id" DESC`)).map((x) => x.id);
  assert.ok(pendingIds.length > 60);
  const r = await run({ limit: '5' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'PENDING');
  assert.equal(r.json.scanned, 5);
  const synced = (await stack.sql('master', `SELECT "id" FROM "SmtAuthorization" WHERE "smtLastSyncAt" IS NOT NULL
    ORDER BY "createdAt" DESC, "id" DESC`)).map((x) => x.id);
  assert.deepEqual(synced, pendingIds.slice(0, 5));
  // Of those five, the ones SMT still calls pending stay in scope, throttled.
  const [{ n }] = await stack.sql('master', `SELECT count(*)::int AS n FROM "SmtAuthorization"
    WHERE "smtLastSyncAt" IS NOT NULL AND ("smtStatus" IS NULL OR "smtStatus" = 'PENDING')`);
  assert.ok(n > 0 && n < 5);
  const d = await run({});
  assert.equal(d.json.scanned, 50);
  assert.equal(d.json.throttled, n);
});

test('a proxy failure answers 502 with the counts and leaves every row as it was', async () => {
  await stack.sql('master', `UPDATE "SmtAuthorization" SET "smtLastSyncAt" = NULL`);
  const before = await stack.sql('master', `SELECT "id","smtStatus","smtStatusMessage","smtAgreementId","updatedAt"
    FROM "SmtAuthorization" ORDER BY "id"`);
  smt.options.fault = { mode: 'refuse', status: 500 };
  const r = await run({ status: 'ALL', limit: 1000 });
  assert.equal(r.status, 502, r.text);
  assert.equal(r.json.error, 'upstream_failed');
  assert.deepEqual([r.json.scanned, r.json.updated, r.json.failed, r.json.throttled], [ROWS + 2, 0, ROWS + 2, 0]);
  const afterRows = await stack.sql('master', `SELECT "id","smtStatus","smtStatusMessage","smtAgreementId","updatedAt"
    FROM "SmtAuthorization" ORDER BY "id"`);
  assert.deepEqual(afterRows, before);
  const [{ n }] = await stack.sql('master', `SELECT count(*)::int AS n FROM "SmtAuthorization" WHERE "smtLastSyncAt" IS NOT NULL`);
  assert.equal(n, 0, 'not synced: the next run retries at once');
  smt.options.fault = null;
  const again = await run({ status: 'ALL', limit: 1000 });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.updated + again.json.failed, ROWS + 2);
});

test('two runs at once: one works, the other gets 409 busy', async () => {
  await stack.sql('master', `UPDATE "SmtAuthorization" SET "smtLastSyncAt" = NULL`);
  smt.options.delayMs = 1200; // the first run holds the lock while SMT answers
  const first = run({ status: 'ALL', limit: 1000 });
  await new Promise((resolve) => { setTimeout(resolve, 300); });
  const second = await run({ status: 'ALL', limit: 1000 });
  const done = await first;
  assert.equal(done.status, 200, done.text);
  assert.equal(second.status, 409, second.text);
  assert.deepEqual([second.json.ok, second.json.error], [false, 'busy']);
  assert.equal(smt.callsTo('/smt/agreements/myagreements').length, 1);
  // The lock is released: the next run goes through.
  smt.options.delayMs = 0;
  await stack.sql('master', `UPDATE "SmtAuthorization" SET "smtLastSyncAt" = NULL`);
  const next = await run({ status: 'ALL', limit: 1000 });
  assert.equal(next.status, 200, next.text);
});
