// ERCOT daily ingest through the Public API stand-in (B2C token + archive API
// answering 429 once and paging over 2 pages) into S3 (s3rver behind the
// SigV4-checking front): stored bytes (one object multipart), rows, a fresh
// token each run, a refused login, and no secret in the log.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import { startStack } from '../lib/stack.mjs';
import { startErcotApi, CLIENT_ID, SCOPE } from '../fakes/ercot_api.mjs';
import { startS3 } from '../fakes/s3front.mjs';
import { csvLine, extractRow, makeZip } from '../fakes/ercot_zip.mjs';

const ROUTE = '/api/admin/ercot/cron';
const D = '2026-11-26';
const MiB = 1024 * 1024;
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const SUBSCRIPTION_KEY = `sub-${crypto.randomBytes(12).toString('hex')}`;
const USERNAME = 'ops@example.com';
const PASSWORD = `Pw-${crypto.randomBytes(10).toString('hex')}`;
const S3_SECRET = `s3-${crypto.randomBytes(12).toString('hex')}`;

function archive(docId, friendlyName, postDatetime, rows, { store = false, pad = 0 } = {}) {
  let csv = rows.map(csvLine).join('');
  if (pad) { // a large, realistic extract: many rows, stored uncompressed
    const lines = [];
    for (let i = 0; Buffer.byteLength(csv) + lines.length * 150 < pad; i++)
      lines.push(csvLine(extractRow(`1003278940${String(i).padStart(7, '0')}`, { tdsp: 'AEP_CENTRAL', n: i, city: 'CORPUS CHRISTI' })));
    csv += lines.join('');
  }
  return { docId, friendlyName, postDatetime, body: makeZip([{ name: `${friendlyName}.csv`, data: csv, store }]) };
}

const archives = [
  archive(9001, 'ONCOR_ELEC___DAILY', `${D}T05:52:19`, [extractRow('10443720000000011', { n: 11 }), extractRow('10443720000000012', { n: 12 })]),
  archive(9002, 'CENTERPOINT__DAILY', `${D}T05:52:20`, [extractRow('1008901000000000000011', { tdsp: 'CENTERPOINT', n: 13, city: 'HOUSTON' })]),
  archive(9003, 'AEP_CENTRAL__FUL', `${D}T06:10:00`, [], { store: true, pad: 17 * MiB }),
  archive(9004, 'ONCOR_ELEC___DAILY', '2026-11-25T05:52:19', [extractRow('10443720000000013', { n: 14 })]),
];

let stack, api, s3;

before(async () => {
  s3 = await startS3({ accessKeyId: 'AKIDERCOTTEST', secretAccessKey: S3_SECRET, bucket: 'iw-ercot' });
  api = await startErcotApi({ subscriptionKey: SUBSCRIPTION_KEY, username: USERNAME, password: PASSWORD, archives });
  api.options.retryAfter = '0';
  stack = await startStack({
    name: 'ercot_api',
    env: {
      ERCOT_SUBSCRIPTION_KEY: SUBSCRIPTION_KEY, ERCOT_USERNAME: USERNAME, ERCOT_PASSWORD: PASSWORD,
      ERCOT_TOKEN_URL: api.tokenUrl, ERCOT_API_BASE: api.base, ...s3.env(),
    },
  });
});
after(async () => {
  await stack?.stop();
  await api?.close();
  await s3?.close();
});

const run = (q = '') => stack.get(`${ROUTE}?token=${encodeURIComponent(stack.env.CRON_SECRET)}${q}`);

test('health: api method, s3 storage, nothing missing', async () => {
  const r = await stack.get(`${ROUTE}/health`, { admin: true });
  assert.deepEqual(r.json, { ok: true, missing: [], method: 'api', storage: 's3' });
});

test('a run lists both pages after a 429, downloads with key + token, stores in S3', async () => {
  api.options.throttleDownload = 1;
  const r = await run(`&date=${D}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.method, 'api');
  const res = Object.fromEntries(r.json.results.map((x) => [x.tdsp, x]));
  assert.deepEqual(Object.keys(res).sort(), ['AEP_CENTRAL', 'CENTERPOINT', 'ONCOR']);
  for (const a of archives.slice(0, 3)) {
    const x = r.json.results.find((y) => y.filename === `${a.friendlyName}_${a.docId}.zip`);
    assert.ok(x, a.friendlyName);
    assert.equal(x.key, `ercot/${D}/${a.friendlyName}_${a.docId}.zip`);
    assert.equal(x.bytes, a.body.length);
    const got = await s3.getObject(x.key);
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(a.body), 'the object equals the served bytes');
  }
  assert.ok(res.AEP_CENTRAL.rows > 100000, 'the large extract was loaded');
  assert.ok(s3.requests.some((q) => q.query?.partNumber === '2'), 'the 17 MiB file went multipart');

  const token = api.requests.filter((q) => q.path.endsWith('/token'));
  assert.equal(token.length, 1);
  assert.deepEqual(token[0].form, { grant_type: 'password', username: USERNAME, password: PASSWORD,
    scope: SCOPE, client_id: CLIENT_ID, response_type: 'id_token' });
  const listing = api.requests.filter((q) => q.path.endsWith('/archive/ZP15-612') && !q.query.download);
  assert.deepEqual(listing.map((q) => q.query.page), ['1', '1', '2'], 'retried after 429, then paged');
  assert.equal(listing[0].query.postDatetimeFrom, `${D}T00:00:00`);
  for (const q of api.requests.filter((x) => !x.path.endsWith('/token'))) {
    assert.equal(q.headers['ocp-apim-subscription-key'], SUBSCRIPTION_KEY);
    assert.equal(q.headers.authorization, `Bearer ${api.tokens[0]}`);
  }
  assert.equal(api.requests.filter((q) => q.query.download === '9001').length + api.requests.filter((q) => q.query.download === '9002').length
    + api.requests.filter((q) => q.query.download === '9003').length, 4, 'one download retried after its 429');

  const rows = await stack.sql('master', `SELECT * FROM "ErcotIngest" WHERE "status" = 'ok' ORDER BY "tdsp"`);
  assert.deepEqual(rows.map((x) => [x.tdsp, x.fileUrl, x.sourceUrl, x.fileSha256]), archives.slice(0, 3)
    .map((a) => [a.friendlyName.split('_')[0] === 'AEP' ? 'AEP_CENTRAL' : a.friendlyName.startsWith('ONCOR') ? 'ONCOR' : 'CENTERPOINT',
      `s3://iw-ercot/ercot/${D}/${a.friendlyName}_${a.docId}.zip`, `${api.base}/archive/ZP15-612?download=${a.docId}`, sha(a.body)])
    .sort((p, q) => p[0].localeCompare(q[0])));
  const idx = await stack.sql('master', `SELECT "postedAtUtc", "tdspCode" FROM "ErcotEsiidIndex" WHERE "esiid" = '10443720000000011'`);
  assert.equal(idx[0].tdspCode, 'ONCOR');
  assert.equal(idx[0].postedAtUtc.toISOString(), `${D}T05:52:19.000Z`);
});

test('each run gets a fresh token; a rerun skips', async () => {
  const r = await run(`&date=${D}&tdsp=CENTERPOINT`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.results.map((x) => [x.tdsp, x.skipped]), [['CENTERPOINT', true]]);
  assert.equal(api.tokens.length, 2);
});

test('a refused login is a 502 that names the token endpoint, not the password', async () => {
  api.options.denyLogin = true;
  try {
    const r = await run(`&date=${D}`);
    assert.equal(r.status, 502);
    assert.equal(r.json.error, 'upstream_failed');
    assert.match(r.json.message, /token endpoint answered HTTP 400: invalid_grant/);
    assert.ok(!r.text.includes(PASSWORD));
  } finally {
    api.options.denyLogin = false;
  }
});

test('no password, key, token or S3 secret in the log', async () => {
  const log = stack.log('ercot_cron');
  assert.match(log, /ercot progress/);
  for (const s of [PASSWORD, SUBSCRIPTION_KEY, S3_SECRET, stack.env.CRON_SECRET, ...api.tokens])
    assert.ok(!log.includes(s), 'a secret reached the log');
});

test('a large corrupt zip: its parts went up while downloading, then the upload is aborted, no object', async () => {
  const D2 = '2026-11-27';
  const big = archive(9005, 'AEP_NORTH____FUL', `${D2}T06:10:00`, [], { store: true, pad: 17 * MiB });
  const cut = { ...big, body: big.body.subarray(0, big.body.length - 200) }; // no central directory
  api.archives = [...archives, cut];
  const before = s3.requests.length;
  const r = await run(`&date=${D2}`);
  assert.equal(r.status, 200, r.text);
  const x = r.json.results.find((y) => y.filename === `${cut.friendlyName}_${cut.docId}.zip`);
  assert.match(x.error, /not a valid zip/);
  const key = `ercot/${D2}/${cut.friendlyName}_${cut.docId}.zip`;
  const mine = s3.requests.slice(before).filter((q) => q.path.endsWith(key));
  assert.ok(mine.some((q) => q.method === 'PUT' && q.query?.partNumber === '1'), 'a part was sent while downloading');
  assert.ok(mine.some((q) => q.method === 'DELETE' && q.query?.uploadId), 'the multipart upload was aborted');
  assert.ok(!mine.some((q) => q.method === 'POST' && q.query?.uploadId), 'never completed');
  assert.equal((await s3.getObject(key)).status, 404, 'nothing visible under the key');
});
