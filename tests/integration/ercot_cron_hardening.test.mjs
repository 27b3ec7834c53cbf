// ERCOT cron against hostile or unlucky conditions, through nginx with the MIS
// stand-in: the run lock is a lease row ("IwRunLock", name ercot-run) — busy
// answers 409 with Retry-After, an expired lease is taken over, a session
// advisory lock no longer matters, a killed database connection does not
// lose it; a zip bomb stops at the inflate cap with nothing indexed; a lock
// held on the ESIID index fails the file after lock_timeout instead of
// hanging; an https download that redirects to http is refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { startStack } from '../lib/stack.mjs';
import { startErcotMis } from '../fakes/ercot_mis.mjs';
import { constructedName, csvLine, extractRow, makeZip } from '../fakes/ercot_zip.mjs';

const ROUTE = '/api/admin/ercot/cron';
const CAP = 200000; // ERCOT_MEMBER_MAX_BYTES for this stack
const LOCK_MS = 400; // ERCOT_LOCK_TIMEOUT_MS

let stack, mis, tls, bait, certDir, seq = 5000;

function doc(friendly, day, rows, { time = '055219164', zip } = {}) {
  const body = zip || makeZip([{ name: `${friendly}.csv`, data: rows.map(csvLine).join('') }]);
  const id = String(++seq);
  return {
    docId: id, friendlyName: friendly, constructedName: constructedName(friendly, day, time),
    publishDate: `${day}T05:52:19-06:00`, body,
  };
}

// A self-signed certificate for 127.0.0.1, trusted through ERCOT_CA.
function makeCert() {
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'iw-ercot-hard-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: certDir, stdio: ['ignore', 'ignore', 'pipe'] });
  return { key: fs.readFileSync(path.join(certDir, 'key.pem')), cert: fs.readFileSync(path.join(certDir, 'cert.pem')) };
}

const listen = (server) => new Promise((r) => server.listen(0, '127.0.0.1', () => r(server.address().port)));
const close = (server) => new Promise((r) => { server?.closeAllConnections?.(); server ? server.close(r) : r(); });

const goodZip = makeZip([{ name: 'TNMP.csv', data: csvLine(extractRow('10400000000000777', { tdsp: 'TNMP', n: 7 })) }]);

before(async () => {
  const { key, cert } = makeCert();
  // The http server a downgrade would reach: it must never see a request.
  const baitReq = [];
  bait = http.createServer((req, res) => { baitReq.push(req.url); res.end('bait'); });
  bait.requests = baitReq;
  bait.port = await listen(bait);
  // The https page: its links redirect, one to http (refused), one to https.
  tls = https.createServer({ key, cert }, (req, res) => {
    tls.requests.push(req.url);
    if (req.url.startsWith('/page')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(`<html><body>${tls.links.map((l) => `<a href="${l}">${path.basename(l)}</a>`).join('\n')}</body></html>`);
    }
    if (req.url.startsWith('/down/')) {
      res.writeHead(302, { location: `http://127.0.0.1:${bait.port}/files/${path.basename(req.url)}` });
      return res.end();
    }
    if (req.url.startsWith('/hop/')) {
      res.writeHead(302, { location: `/files/${path.basename(req.url)}` });
      return res.end();
    }
    if (req.url.startsWith('/files/')) {
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': goodZip.length });
      return res.end(goodZip);
    }
    res.writeHead(404);
    res.end();
  });
  tls.requests = [];
  tls.links = [];
  tls.port = await listen(tls);
  mis = await startErcotMis({ docs: [] });
  stack = await startStack({
    name: 'ercot_hard',
    env: {
      ERCOT_MIS_BASE: mis.base, ERCOT_PAGE_URL: `https://127.0.0.1:${tls.port}/page`,
      ERCOT_CA: cert.toString().trim().replace(/\n/g, '\\n'),
      ERCOT_MEMBER_MAX_BYTES: String(CAP), ERCOT_LOCK_TIMEOUT_MS: String(LOCK_MS),
    },
  });
});
after(async () => {
  await stack?.stop();
  await mis?.close();
  await close(tls);
  await close(bait);
  if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
});

const run = (query = '') => stack.get(`${ROUTE}?token=${encodeURIComponent(stack.env.CRON_SECRET)}${query}`);
const lockRows = () => stack.sql('master', `SELECT * FROM "IwRunLock"`);
async function client() {
  const c = new pg.Client({ host: process.env.IW_TEST_PGHOST, user: 'postgres', database: stack.dbs.master });
  await c.connect();
  return c;
}
async function waitFor(cond, ms = 10000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('a lock row with a live lease: 409 busy naming ercot-run, its holder and age, with Retry-After', async () => {
  await stack.sql('master', `INSERT INTO "IwRunLock" VALUES ('ercot-run', 'other-host:42:abc',
    now() - interval '30 seconds', now() + interval '90 seconds')`);
  const r = await run('&date=2026-11-20');
  assert.equal(r.status, 409, r.text);
  assert.equal(r.json.ok, false);
  assert.equal(r.json.error, 'busy');
  assert.match(r.json.message, /"ercot-run"/);
  assert.match(r.json.message, /other-host:42:abc/);
  assert.match(r.json.message, /for (29|30|31) s/);
  const after = Number(r.headers.get('retry-after'));
  assert.ok(after >= 85 && after <= 91, `Retry-After ${after}`);
  assert.equal((await lockRows())[0].holder, 'other-host:42:abc', 'the live holder keeps it');
});

test('an expired lease is taken over: the run proceeds and releases the lock', async () => {
  await stack.sql('master', `UPDATE "IwRunLock" SET "expiresAt" = now() - interval '1 second'`);
  const r = await run('&date=2026-11-20');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.results, []);
  assert.deepEqual(await lockRows(), [], 'released at the end');
});

test('a session advisory lock on the old key no longer blocks the cron', async () => {
  const c = await client();
  try {
    await c.query('SELECT pg_advisory_lock(5288439383)');
    const r = await run('&date=2026-11-20');
    assert.equal(r.status, 200, r.text);
  } finally {
    await c.end();
  }
});

test('two concurrent runs: one 409 with Retry-After, the other stores its file', async () => {
  const D = '2026-11-21';
  mis.docs = [doc('ONCOR_ELEC___DAILY', D, [extractRow('10443720000000501', { n: 1 })])];
  mis.options.delayMs = 1200;
  try {
    const first = run(`&date=${D}`);
    await waitFor(async () => (await lockRows()).length === 1);
    const second = await run(`&date=${D}`);
    assert.equal(second.status, 409, second.text);
    assert.equal(second.json.error, 'busy');
    assert.match(second.json.message, /lock "ercot-run" held by [^ ]+:\d+:[0-9a-f]{16} for \d+ s/);
    const after = Number(second.headers.get('retry-after'));
    assert.ok(after > 900 && after <= 960, `Retry-After ${after}`);
    const r = await first;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.results[0].rows, 1);
  } finally {
    mis.options.delayMs = 0;
  }
  assert.deepEqual(await lockRows(), []);
});

test('the database connection killed mid-run: the lock stays the run\'s and is released at the end', async () => {
  const D = '2026-11-22';
  mis.docs = [doc('ONCOR_ELEC___DAILY', D, [extractRow('10443720000000601', { n: 1 })]),
    doc('CENTERPOINT__DAILY', D, [extractRow('1008901000000000000601', { tdsp: 'CENTERPOINT', n: 2 })], { time: '061001002' })];
  mis.options.delayMs = 800;
  const seen = mis.requests.length;
  try {
    const pending = run(`&date=${D}`);
    // While the first file downloads, no transaction is open on the worker's connection.
    await waitFor(() => mis.requests.slice(seen).some((q) => q.path.includes('mirDownload')));
    const holder = (await lockRows())[0].holder;
    const killed = await stack.sql('master', `SELECT pg_terminate_backend(pid) AS k FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'iw-admin' AND pid <> pg_backend_pid()`);
    assert.ok(killed.length >= 1 && killed.every((x) => x.k), 'the worker connection was terminated');
    assert.equal((await lockRows())[0].holder, holder, 'the lock row survives the dead session');
    const r = await pending;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.results.length, 2);
    for (const x of r.json.results) assert.equal(x.error, undefined, JSON.stringify(x));
    // A second, overlapping run could not have started meanwhile; now the lock is gone.
    assert.deepEqual(await lockRows(), []);
  } finally {
    mis.options.delayMs = 0;
  }
});

test('a zip bomb stops at the inflate cap: error row, nothing indexed, the other file loads', async () => {
  const D = '2026-11-23';
  const rows = [];
  for (let i = 0; rows.join('').length <= 3 * CAP; i++) rows.push(csvLine(extractRow(`1099990000${String(i).padStart(7, '0')}`, { n: i })));
  const csv = rows.join('');
  const honest = makeZip([{ name: 'bomb.csv', data: csv }]);
  // The same, with both headers claiming 100 bytes: the counted bytes stop it.
  const liar = Buffer.from(honest);
  liar.writeUInt32LE(100, 22);
  liar.writeUInt32LE(100, liar.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 24);
  assert.ok(honest.length < CAP / 4, 'a small zip that inflates past the cap');
  const bomb = doc('ONCOR_ELEC___DAILY', D, null, { zip: honest });
  const lying = doc('ONCOR_ELEC___DAILY', D, null, { zip: liar, time: '055219165' });
  const fine = doc('TNMP__DAILY', D, [extractRow('10400000000000701', { tdsp: 'TNMP', n: 1 })], { time: '061001002' });
  mis.docs = [bomb, lying, fine];
  const r = await run(`&date=${D}`);
  assert.equal(r.status, 200, r.text);
  const by = Object.fromEntries(r.json.results.map((x) => [x.filename, x]));
  assert.match(by[bomb.constructedName].error, new RegExp(`zip member bomb.csv declares ${csv.length} bytes inflated: over the cap of ${CAP} bytes`));
  assert.match(by[lying.constructedName].error, new RegExp(`zip member bomb.csv inflates past the cap of ${CAP} bytes`));
  assert.equal(by[fine.constructedName].rows, 1);
  const ing = await stack.sql('master', `SELECT "status", "error", "rowCount", "storageKey" FROM "ErcotIngest"
    WHERE "filename" = ANY($1) ORDER BY "filename"`, [[bomb.constructedName, lying.constructedName]]);
  assert.equal(ing.length, 2);
  for (const x of ing) {
    assert.equal(x.status, 'error');
    assert.match(x.error, /cap of 200000 bytes/);
    assert.equal(x.storageKey, null);
  }
  const idx = await stack.sql('master', `SELECT count(*)::int AS n FROM "ErcotEsiidIndex" WHERE "esiid" LIKE '1099990000%'`);
  assert.equal(idx[0].n, 0, 'no row of the bomb was kept');
  assert.equal(fs.existsSync(path.join(stack.env.STORAGE_DIR, `ercot/${D}/${bomb.constructedName}`)), false);
});

// A text COPY into a UTF-8 database refuses a NUL or invalid UTF-8, and with
// it the whole file: the parser reads stray bytes as Windows-1252 and skips a
// row it cannot store, so one odd row costs at most itself.
test('bytes a UTF-8 database refuses: stray bytes are read as Windows-1252, a NUL row is skipped, the rest of the file loads', async () => {
  const D = '2026-11-19';
  const line = (esiid, n, address) => Buffer.from(csvLine(extractRow(esiid, { tdsp: 'TNMP', n, address })), 'latin1');
  const rows = [
    line('10400000000000901', 1, '1 CA\xD1ADA DR'),   // Ñ in one byte
    Buffer.from(csvLine(extractRow('10400000000000902', { tdsp: 'TNMP', n: 2, address: '2 CAÑADA DR' }))), // UTF-8
    line('10400000000000903', 3, '3 MAIN\x00 ST'),    // NUL: skipped
    line('10400000000000904', 4, '4 O\x92NEAL ST'),   // Windows-1252 ’
  ];
  const make = (extra, time) => doc('TNMP__FUL', D, null, { time,
    zip: makeZip([{ name: 'TNMP.csv', data: Buffer.concat([...rows, ...extra]) }]) });
  const first = make([], '055219170');
  mis.docs = [first];
  const r = await run(`&date=${D}`);
  assert.equal(r.status, 200, r.text);
  const x = r.json.results[0];
  assert.equal(x.error, undefined, JSON.stringify(x));
  assert.equal(x.rows, 3);
  assert.equal(x.badRows, 1);
  assert.equal(x.transcodedRows, 2);
  const idx = await stack.sql('master', `SELECT "esiid", "serviceAddress1" FROM "ErcotEsiidIndex"
    WHERE "esiid" LIKE '1040000000000090%' ORDER BY "esiid"`);
  assert.deepEqual(idx, [
    { esiid: '10400000000000901', serviceAddress1: '1 CAÑADA DR' },
    { esiid: '10400000000000902', serviceAddress1: '2 CAÑADA DR' },
    { esiid: '10400000000000904', serviceAddress1: '4 O\u2019NEAL ST' },
  ]);
  // The same rows posted again with one more: a repaired row hashes
  // as it did, so only the new row is written.
  mis.docs = [make([line('10400000000000905', 5, '5 ELM ST')], '055219171')];
  const again = await run(`&date=${D}`);
  assert.equal(again.json.results[0].error, undefined, again.text);
  assert.equal(again.json.results[0].indexed, 1, again.text);
});

test('a lock held on the ESIID index fails the file after lock_timeout, naming the lock', async () => {
  const D = '2026-11-24';
  mis.docs = [doc('ONCOR_ELEC___DAILY', D, [extractRow('10443720000000801', { n: 1 })])];
  const c = await client();
  try {
    await c.query('BEGIN');
    await c.query('LOCK TABLE "ErcotEsiidIndex" IN EXCLUSIVE MODE');
    const t0 = Date.now();
    const r = await run(`&date=${D}`);
    const took = Date.now() - t0;
    assert.equal(r.status, 200, r.text);
    const x = r.json.results[0];
    assert.match(x.error, /database busy: a lock on "ErcotEsiidIndex" was not granted within 400 ms \(lock_timeout\)/);
    assert.ok(took < 5000, `took ${took} ms`);
  } finally {
    await c.query('ROLLBACK').catch(() => {});
    await c.end();
  }
  const ing = await stack.sql('master', `SELECT "status", "error" FROM "ErcotIngest" WHERE "filename" = $1`, [mis.docs[0].constructedName]);
  assert.equal(ing[0].status, 'error');
  assert.match(ing[0].error, /ErcotEsiidIndex/);
  const idx = await stack.sql('master', `SELECT 1 FROM "ErcotEsiidIndex" WHERE "esiid" = '10443720000000801'`);
  assert.equal(idx.length, 0);
  // Once the lock is gone the same file loads.
  const again = await run(`&date=${D}`);
  assert.equal(again.json.results[0].rows, 1, again.text);
});

test('an https download redirected to http is refused; the http server sees no request', async () => {
  mis.options.listingStatus = 503; // the page at ERCOT_PAGE_URL (https) is used
  tls.links = ['/down/ext.00000203.0000000000000000.20261125.055219164.ONCOR_ELEC___DAILY.zip',
    '/hop/ext.00000203.0000000000000000.20261125.061001002.TNMP__DAILY.zip'];
  try {
    const r = await run('&date=2026-11-25');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.source, 'page');
    const by = Object.fromEntries(r.json.results.map((x) => [x.tdsp, x]));
    assert.match(by.ONCOR.error, /download failed: .*(Protocol "http"|not supported|disabled)/i);
    assert.equal(by.TNMP.rows, 1, 'an https to https redirect is followed');
    assert.deepEqual(bait.requests, [], 'nothing was fetched over http');
    assert.ok(tls.requests.some((u) => u.startsWith('/down/')));
    const ing = await stack.sql('master', `SELECT "status" FROM "ErcotIngest" WHERE "tdsp" = 'ONCOR' AND "sourceUrl" LIKE 'https://%/down/%'`);
    assert.deepEqual(ing, [{ status: 'error' }]);
  } finally {
    mis.options.listingStatus = 200;
  }
});
