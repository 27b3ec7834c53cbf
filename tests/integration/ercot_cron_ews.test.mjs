// One ERCOT daily run end to end through EWS (the mTLS + WS-Security stand-in
// of tests/fakes/ews_server.mjs; its protocol details are tested by
// ercot_ews.test.mjs): the route picks EWS, lists report type 203, downloads
// through the client certificate, stores and indexes; no PFX password in the log.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startStack } from '../lib/stack.mjs';
import { startEws } from '../fakes/ews_server.mjs';
import { csvLine, extractRow, makeZip } from '../fakes/ercot_zip.mjs';

const D = '2026-11-26';
const PFX_PASS = `pfx-${crypto.randomBytes(8).toString('hex')}`;
let dir, stack, ews;

function makeCerts() {
  const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=ercot test ca');
  for (const [name, cn, ext] of [['server', '127.0.0.1', 'san.ext'], ['client', 'API_IWTEST', null]]) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', `${name}.pem`, '-days', '2', ...(ext ? ['-extfile', ext] : []));
  }
  ssl('pkcs12', '-export', '-in', 'client.pem', '-inkey', 'client.key', '-out', 'client.p12', '-passout', `pass:${PFX_PASS}`);
  const read = (f) => fs.readFileSync(path.join(dir, f));
  return { ca: read('ca.pem').toString(), serverCert: read('server.pem'), serverKey: read('server.key'),
    pfx: read('client.p12').toString('base64') };
}

const zipOf = (name, rows) => makeZip([{ name, data: rows.map(csvLine).join('') }]);
const reports = [
  { fileName: 'ext.00000203.0000000000000000.20261126.062502123.ONCOR_ELEC___DAILY.zip', created: `${D}T06:25:02-06:00`,
    body: zipOf('ONCOR_ELEC___DAILY.csv', [extractRow('10443720000000021', { n: 21 }), extractRow('10443720000000022', { n: 22 })]) },
  { fileName: 'ext.00000203.0000000000000000.20261126.062503456.TNMP_________DAILY.zip', created: `${D}T06:25:03-06:00`,
    body: zipOf('TNMP_________DAILY.csv', [extractRow('10400511000000001', { tdsp: 'TNMP', n: 23, columns: 19 })]) },
  { fileName: 'ext.00000203.0000000000000000.20261125.062503456.TNMP_________DAILY.zip', created: '2026-11-25T06:25:03-06:00',
    body: zipOf('old.csv', [extractRow('10400511000000002', { tdsp: 'TNMP', n: 24 })]) },
];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iw-ercot-ews-'));
  const certs = makeCerts();
  ews = await startEws({ caCert: certs.ca, serverCert: certs.serverCert, serverKey: certs.serverKey, reports });
  stack = await startStack({
    name: 'ercot_ews_run',
    env: { ERCOT_EWS_BASE: ews.url, ERCOT_EWS_PFX: certs.pfx, ERCOT_EWS_PFX_PASS: PFX_PASS,
      ERCOT_EWS_CA: certs.ca.trim().replace(/\n/g, '\\n') },
  });
});
after(async () => {
  await stack?.stop();
  await ews?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('a run through EWS stores and indexes the reports of the day', async () => {
  const h = await stack.get('/api/admin/ercot/cron/health', { admin: true });
  assert.deepEqual(h.json, { ok: true, missing: [], method: 'ews', storage: 'local' });
  const r = await stack.get(`/api/admin/ercot/cron?date=${D}`, { headers: { authorization: `Bearer ${stack.env.CRON_SECRET}` } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.method, 'ews');
  assert.deepEqual(r.json.results.map((x) => [x.tdsp, x.rows, x.bytes]),
    [['ONCOR', 2, reports[0].body.length], ['TNMP', 1, reports[1].body.length]]);
  for (const rep of reports.slice(0, 2)) {
    const f = path.join(stack.env.STORAGE_DIR, 'ercot', D, rep.fileName);
    assert.ok(fs.readFileSync(f).equals(rep.body), 'stored bytes equal the served bytes');
  }
  const rows = await stack.sql('master', `SELECT "tdsp", "rowCount", "status" FROM "ErcotIngest" ORDER BY "tdsp"`);
  assert.deepEqual(rows, [{ tdsp: 'ONCOR', rowCount: 2, status: 'ok' }, { tdsp: 'TNMP', rowCount: 1, status: 'ok' }]);
  const idx = await stack.sql('master', `SELECT "esiid", "postedAtUtc" FROM "ErcotEsiidIndex" WHERE "tdspCode" = 'TNMP'`);
  assert.deepEqual(idx.map((x) => [x.esiid, x.postedAtUtc.toISOString()]), [['10400511000000001', `${D}T12:25:03.000Z`]]);
  const log = stack.log('ercot_cron');
  assert.ok(!log.includes(PFX_PASS), 'PFX password in the log');
});
