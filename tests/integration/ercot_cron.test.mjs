// ERCOT daily ingest through nginx, with the MIS stand-in (listing JSON,
// mirDownload, the HTML page) and local storage: stored bytes, ErcotIngest
// and ErcotEsiidIndex rows, skips, corrupt zips, ?tdsp=, ?date=, the page
// fallback, 409 on a concurrent run, and logs without secrets.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startStack } from '../lib/stack.mjs';
import { startErcotMis } from '../fakes/ercot_mis.mjs';
import { constructedName, csvLine, extractRow, makeZip, DUNS } from '../fakes/ercot_zip.mjs';

const ROUTE = '/api/admin/ercot/cron';
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

let stack, mis, seq = 1000;

function doc(friendly, day, rows, { time = '055219164', publish, corrupt } = {}) {
  const csv = rows.map(csvLine).join('');
  let body = makeZip([{ name: `${friendly}.csv`, data: csv }]);
  if (corrupt === 'truncate') body = body.subarray(0, Math.floor(body.length / 2));
  if (corrupt === 'flip') {
    body = Buffer.from(body);
    const at = 30 + `${friendly}.csv`.length + 40; // inside the deflate stream
    for (let i = 0; i < 8; i++) body[at + i] ^= 0x5a;
  }
  const id = String(++seq);
  return {
    docId: id, friendlyName: friendly, constructedName: constructedName(friendly, day, time),
    publishDate: publish || `${day}T05:52:19-06:00`, body,
  };
}

const oncorRows = (city2 = 'DALLAS') => [
  extractRow('10443720000000001', { n: 1, address: '12 "B" ST' }),
  extractRow('10443720000000002', { n: 2, city: city2 }),
  extractRow('10443720000000001', { n: 3, city: 'IRVING' }), // same ESIID again: last wins
];
const cnpRows = [
  extractRow('1008901000000000000001', { tdsp: 'CENTERPOINT', n: 4, city: 'HOUSTON', columns: 19 }),
  extractRow('1008901000000000000002', { tdsp: 'CENTERPOINT', n: 5, city: 'HOUSTON', columns: 19 }),
];

const D1 = '2026-11-26';
const day1 = {
  oncor: doc('ONCOR_ELEC___DAILY', D1, oncorRows()),
  cnp: doc('CENTERPOINT__FUL', D1, cnpRows, { time: '061001002' }),
  other: doc('ONCOR_ELEC___DAILY', '2026-11-25', [extractRow('10443720000000099', { n: 9 })]),
};

before(async () => {
  mis = await startErcotMis({ docs: Object.values(day1) });
  stack = await startStack({ name: 'ercot_cron', env: { ERCOT_MIS_BASE: mis.base, ERCOT_PAGE_URL: mis.pageUrl } });
});
after(async () => {
  await stack?.stop();
  await mis?.close();
});

const run = (query = '', headers = {}) =>
  stack.get(`${ROUTE}?token=${encodeURIComponent(stack.env.CRON_SECRET)}${query}`, { headers });
const stored = (key) => path.join(stack.env.STORAGE_DIR, key);
const byTdsp = (results) => Object.fromEntries(results.map((r) => [r.tdsp, r]));

test('health: all set, scrape method, local storage', async () => {
  const r = await stack.get(`${ROUTE}/health`, { headers: { 'x-vercel-cron': '1' } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { ok: true, missing: [], method: 'scrape', storage: 'local' });
});

test('a run stores each TDSP file of the day and indexes its ESIIDs', async () => {
  const r = await run(`&date=${D1}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ok, true);
  assert.equal(r.json.method, 'scrape');
  assert.equal(r.json.source, 'mis');
  assert.equal(r.json.results.length, 2, 'the file of another day is not taken');
  const res = byTdsp(r.json.results);
  for (const [tdsp, d, rows] of [['ONCOR', day1.oncor, 3], ['CENTERPOINT', day1.cnp, 2]]) {
    const key = `ercot/${D1}/${d.constructedName}`;
    assert.deepEqual(res[tdsp], {
      tdsp, filename: d.constructedName, sha256: sha(d.body), indexed: rows === 3 ? 2 : 2, key,
      bytes: d.body.length, rows,
    });
    assert.ok(readFileSync(stored(key)).equals(d.body), 'stored bytes equal the served bytes');
  }
  const ingest = await stack.sql('master', `SELECT * FROM "ErcotIngest" ORDER BY "tdsp" DESC`);
  assert.equal(ingest.length, 2);
  const oncor = ingest[0];
  assert.equal(oncor.status, 'ok');
  assert.equal(oncor.tdsp, 'ONCOR');
  assert.equal(oncor.filename, day1.oncor.constructedName);
  assert.equal(oncor.storageKey, `ercot/${D1}/${day1.oncor.constructedName}`);
  assert.equal(Number(oncor.sizeBytes), day1.oncor.body.length);
  assert.equal(oncor.sourceUrl, `${mis.base}/misdownload/servlets/mirDownload?doclookupId=${day1.oncor.docId}`);
  assert.equal(oncor.fileUrl, `file://${stack.env.STORAGE_DIR}/${oncor.storageKey}`);
  assert.equal(oncor.fileSha256, sha(day1.oncor.body));
  assert.equal(oncor.rowCount, 3);
  assert.equal(oncor.headers.length, 22);
  assert.equal(oncor.headers[0], 'ESIID');
  assert.equal(oncor.headers[19], 'SWITCH_HOLD_INDICATOR');
  assert.equal(oncor.error, null);
  assert.equal(ingest[1].headers.length, 19, 'the old layout records its 19 columns');

  const idx = await stack.sql('master', `SELECT * FROM "ErcotEsiidIndex" ORDER BY "esiid"`);
  assert.deepEqual(idx.map((x) => x.esiid),
    ['1008901000000000000001', '1008901000000000000002', '10443720000000001', '10443720000000002']);
  const one = idx.find((x) => x.esiid === '10443720000000001');
  const want = extractRow('10443720000000001', { n: 3, city: 'IRVING' });
  const cols = ['esiid', 'serviceAddress1', 'serviceAddress2', 'serviceCity', 'serviceState', 'serviceZip',
    'county', 'tdspDuns', 'meterReadCycle', 'status', 'premiseType', 'powerRegion', 'stationCode',
    'stationName', 'metered', 'openServiceOrders', 'polrCustomerClass', 'settlementAmsIndicator',
    'tdspAmsIndicator', 'switchHoldIndicator', 'premiseSubType1', 'premiseSubType2'];
  cols.forEach((c, i) => assert.equal(one[c], want[i] === '' ? null : want[i], c));
  assert.equal(one.tdspCode, 'ONCOR');
  assert.equal(one.stationName, 'STATION, 3', 'a quoted field with a comma');
  assert.equal(one.postedAtUtc.toISOString(), `${D1}T11:52:19.000Z`);
  assert.equal(one.sourceFileSha256, sha(day1.oncor.body));
  const first = extractRow('10443720000000001', { n: 1, address: '12 "B" ST' });
  assert.notEqual(one.serviceAddress1, first[1], 'the later duplicate row won');
  const cnp = idx.find((x) => x.esiid === '1008901000000000000001');
  assert.equal(cnp.tdspCode, 'CENTERPOINT');
  assert.equal(cnp.tdspDuns, DUNS.CENTERPOINT);
  assert.equal(cnp.tdspAmsIndicator, 'AMSR');
  assert.equal(cnp.switchHoldIndicator, null, '19-column file: no switch hold');
  assert.equal(cnp.premiseSubType1, null);
});

test('a rerun skips files already ingested and stores nothing new', async () => {
  const before1 = readdirSync(stored(`ercot/${D1}`)).length;
  const r = await stack.get(`${ROUTE}?date=${D1}`, { headers: { authorization: `Bearer ${stack.env.CRON_SECRET}` } });
  assert.equal(r.status, 200);
  for (const x of r.json.results) {
    assert.equal(x.skipped, true);
    assert.match(x.reason, /already ingested/);
    assert.equal(x.key, undefined);
  }
  assert.equal(readdirSync(stored(`ercot/${D1}`)).length, before1);
  const rows = await stack.sql('master', `SELECT "status", count(*)::int AS n FROM "ErcotIngest" GROUP BY 1 ORDER BY 1`);
  assert.deepEqual(rows, [{ status: 'ok', n: 2 }, { status: 'skipped', n: 2 }]);
});

test('?tdsp= restricts a run to one TDSP', async () => {
  const D = '2026-11-27';
  mis.docs = [...mis.docs, doc('ONCOR_ELEC___DAILY', D, [extractRow('10443720000000003', { n: 7 })]),
    doc('CENTERPOINT__DAILY', D, [extractRow('1008901000000000000003', { tdsp: 'CENTERPOINT', n: 8 })])];
  const r = await run(`&date=${D}&tdsp=oncor_elec`);
  assert.equal(r.status, 200);
  assert.equal(r.json.tdsp, 'ONCOR');
  assert.deepEqual(r.json.results.map((x) => [x.tdsp, x.rows]), [['ONCOR', 1]]);
  assert.ok(!existsSync(stored(`ercot/${D}/${mis.docs.at(-1).constructedName}`)));
  const cnp = await run(`&date=${D}&tdsp=CNP`);
  assert.deepEqual(cnp.json.results.map((x) => [x.tdsp, x.rows]), [['CENTERPOINT', 1]]);
});

test('a corrupt or truncated zip gives an error row, is not stored, and the others go on', async () => {
  const D = '2026-11-28';
  const many = Array.from({ length: 200 }, (_, i) => extractRow(`1040051000000${String(i).padStart(4, '0')}`, { tdsp: 'LUBBOCK', n: i }));
  const good = doc('ONCOR_ELEC___DAILY', D, [extractRow('10443720000000002', { n: 2, city: 'PLANO' })]);
  const cut = doc('TNMP_________DAILY', D, many, { corrupt: 'truncate' });
  const flip = doc('LUBBOCK______DAILY', D, many, { corrupt: 'flip' });
  mis.docs = [...mis.docs, cut, good, flip];
  const r = await run(`&date=${D}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.ok, true);
  const res = byTdsp(r.json.results);
  assert.equal(res.ONCOR.rows, 1);
  assert.match(res.TNMP.error, /zip/i);
  assert.match(res.LUBBOCK.error, /zip member|CRC|compress/i);
  assert.deepEqual(readdirSync(stored(`ercot/${D}`)), [good.constructedName]);
  const errs = await stack.sql('master',
    `SELECT "tdsp", "fileSha256", "error", "storageKey", "rowCount" FROM "ErcotIngest" WHERE "status" = 'error' ORDER BY "tdsp"`);
  assert.deepEqual(errs.map((e) => [e.tdsp, e.fileSha256, e.storageKey]),
    [['LUBBOCK', sha(flip.body), null], ['TNMP', sha(cut.body), null]]);
  const lub = await stack.sql('master', `SELECT count(*)::int AS n FROM "ErcotEsiidIndex" WHERE "tdspCode" = 'LUBBOCK'`);
  assert.equal(lub[0].n, 0, 'no index rows from a corrupt file');
  // The request's log line counts each file once: 1 stored, 2 failed.
  const req = stack.logEntries('ercot_cron').filter((l) => l.msg === 'request' && l.date === D).pop();
  assert.deepEqual([req.stored, req.failed, req.skipped], [1, 2, 0], JSON.stringify(req));
  // A failed file is tried again by the next run (not skipped).
  const again = byTdsp((await run(`&date=${D}`)).json.results);
  assert.ok(again.TNMP.error && again.ONCOR.skipped);
});

test('the latest post wins in the ESIID index', async () => {
  const D = '2026-11-24'; // posted before the PLANO file of 11-28
  mis.docs = [...mis.docs, doc('ONCOR_ELEC___DAILY', D, [extractRow('10443720000000002', { n: 2, city: 'OLDTOWN' }),
    extractRow('10443720000000004', { n: 4, city: 'FRISCO' })])];
  const r = await run(`&date=${D}`);
  assert.equal(r.json.results[0].rows, 2);
  const rows = await stack.sql('master',
    `SELECT "esiid", "serviceCity" FROM "ErcotEsiidIndex" WHERE "esiid" IN ('10443720000000002', '10443720000000004') ORDER BY 1`);
  assert.deepEqual(rows.map((x) => x.serviceCity), ['PLANO', 'FRISCO']);
});

test('when the MIS listing fails, the links of ERCOT_PAGE_URL are used', async () => {
  const D = '2026-11-29';
  const a = doc('ONCOR_ELEC___DAILY', D, [extractRow('10443720000000005', { n: 5 })]);
  const b = doc('AEP_NORTH____DAILY', D, [extractRow('10032789400000001', { tdsp: 'AEP_NORTH', n: 6 })]);
  mis.docs = [a, b];
  mis.options.listingStatus = 503;
  try {
    const r = await run(`&date=${D}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.source, 'page');
    const res = byTdsp(r.json.results);
    assert.deepEqual(Object.keys(res).sort(), ['AEP_NORTH', 'ONCOR']);
    for (const d of [a, b])
      assert.ok(readFileSync(stored(`ercot/${D}/${d.constructedName}`)).equals(d.body));
    const paths = mis.requests.map((q) => q.path);
    assert.ok(paths.includes(`/files/${a.constructedName}`), 'relative .zip link resolved');
    assert.ok(mis.requests.some((q) => q.path.endsWith('/mirDownload') && q.query.doclookupId === b.docId));
    mis.options.pageStatus = 500;
    const bad = await run(`&date=${D}`);
    assert.equal(bad.status, 502);
    assert.equal(bad.json.error, 'upstream_failed');
  } finally {
    mis.options.listingStatus = 200;
    mis.options.pageStatus = 200;
  }
});

test('a concurrent run gets 409 busy', async () => {
  const D = '2026-11-30';
  mis.docs = [doc('ONCOR_ELEC___DAILY', D, [extractRow('10443720000000006', { n: 6 })])];
  mis.options.delayMs = 1500;
  try {
    const first = run(`&date=${D}`);
    await new Promise((r) => setTimeout(r, 400));
    const second = await stack.get(`${ROUTE}?date=${D}`, { headers: { 'x-vercel-cron': '1' } });
    assert.equal(second.status, 409);
    assert.equal(second.json.error, 'busy');
    const r = await first;
    assert.equal(r.status, 200);
    assert.equal(r.json.results[0].rows, 1);
  } finally {
    mis.options.delayMs = 0;
  }
});

test('bad input and credentials are refused', async () => {
  assert.equal((await run('&date=2026-02-30')).status, 400);
  assert.equal((await run('&date=yesterday')).status, 400);
  assert.equal((await run('&tdsp=%3Bdrop')).status, 400);
  assert.equal((await stack.get(ROUTE)).status, 401);
  assert.equal((await stack.get(`${ROUTE}?token=nope`)).status, 401);
  const put = await stack.request('PUT', ROUTE, { admin: true });
  assert.equal(put.status, 405);
  assert.equal((await stack.request('HEAD', ROUTE, { admin: true })).status, 405, 'a HEAD probe starts no run');
  // POST works too. Without ?date= the latest posting day is taken, whose
  // files earlier tests ingested: all skipped, nothing stored twice.
  const post = await stack.post(ROUTE, {}, { admin: true });
  assert.equal(post.status, 200);
  assert.ok(post.json.results.length > 0);
  for (const r of post.json.results) assert.equal(r.skipped, true, JSON.stringify(r));
  const none = await run('&date=2020-01-01'); // a day with no posts
  assert.equal(none.status, 200);
  assert.deepEqual(none.json.results, []);
});

test('progress lines per file, and no secret in the log', async () => {
  const log = stack.log('ercot_cron');
  const lines = log.trim().split('\n').map((l) => JSON.parse(l));
  const done = lines.filter((l) => l.msg === 'ercot progress' && l.phase === 'stored');
  assert.ok(done.some((l) => l.tdsp === 'ONCOR' && l.bytes > 0 && l.rows === 3));
  for (const s of [stack.env.CRON_SECRET, stack.env.ADMIN_TOKEN]) assert.ok(!log.includes(s), 'a secret leaked');
});
