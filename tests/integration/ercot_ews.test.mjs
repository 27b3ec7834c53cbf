// ERCOT EWS client (SPEC §6 fetch method 1) against the mTLS + WS-Security
// stand-in, driven through build/testtools/ews_cli.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { startEws, EWS_PATH } from '../fakes/ews_server.mjs';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const CLI = path.join(ROOT, process.env.IW_BUILD ?? 'build', 'testtools/ews_cli');
const PFX_PASS = 'pfx-Pa55-' + crypto.randomBytes(6).toString('hex');

let dir, certs, ews;
const zipBytes = crypto.randomBytes(300 * 1024);
const reports = [
  { fileName: 'ext.00000203.0000000000000000.20250101.062502.ONCOR_ELEC_DAILY.zip',
    created: '2025-01-01T06:25:02-06:00', body: zipBytes },
  { fileName: 'ext.00000203.0000000000000000.20250101.062503.CNP_DAILY.zip',
    created: '2025-01-01T06:25:03-06:00', body: Buffer.from('second report & more') },
];

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

// A CA, a server certificate for 127.0.0.1, a client certificate from the
// CA (also as a password-protected PKCS#12), and a client from another CA.
function makeCerts() {
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const ca of ['ca', 'otherca']) {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out',
      `${ca}.pem`, '-days', '2', '-subj', `/CN=${ca} test`);
  }
  const issue = (name, ca, cn, ext) => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`,
      '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`,
      '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', ...(ext ? ['-extfile', ext] : []));
  };
  issue('server', 'ca', '127.0.0.1', 'san.ext');
  issue('client', 'ca', 'API_TESTUSER', null);
  issue('wrong', 'otherca', 'API_WRONG', null);
  openssl('pkcs12', '-export', '-in', 'client.pem', '-inkey', 'client.key', '-out', 'client.p12',
    '-passout', `pass:${PFX_PASS}`);
  const read = (f) => fs.readFileSync(path.join(dir, f));
  return {
    ca: read('ca.pem').toString(), serverCert: read('server.pem'), serverKey: read('server.key'),
    clientCert: read('client.pem').toString(), clientKey: read('client.key').toString(),
    wrongCert: read('wrong.pem').toString(), wrongKey: read('wrong.key').toString(),
    pfxB64: read('client.p12').toString('base64'),
  };
}

// Environment values as an operator would paste them: one line, "\n" escapes.
const escaped = (pem) => pem.trim().replace(/\n/g, '\\n');

function pfxEnv(extra = {}) {
  return { ERCOT_EWS_BASE: ews.url, ERCOT_EWS_PFX: certs.pfxB64, ERCOT_EWS_PFX_PASS: PFX_PASS,
    ERCOT_EWS_CA: escaped(certs.ca), ...extra };
}

function cli(args, env) {
  return new Promise((resolve) => {
    execFile(CLI, args, { env: { PATH: process.env.PATH, ...env }, timeout: 30000 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
}

// Secrets must never reach the program's output.
function assertNoSecrets(r) {
  for (const out of [r.stdout, r.stderr]) {
    assert.ok(!out.includes(PFX_PASS), 'PFX password leaked');
    assert.ok(!out.includes(certs.pfxB64.slice(100, 160)), 'PFX leaked');
    for (const key of [certs.clientKey, certs.wrongKey]) {
      const line = key.split('\n')[5];
      assert.ok(!out.includes(line) && !out.includes(line.slice(0, 40)), 'private key leaked');
    }
  }
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ews-test-'));
  certs = makeCerts();
  ews = await startEws({ caCert: certs.ca, serverCert: certs.serverCert, serverKey: certs.serverKey,
    reports });
});

after(async () => {
  await ews?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('PFX client lists the reports and its WS-Security signature verifies in xmlsec1', async () => {
  const before_ = ews.requests.length;
  const r = await cli(['list'], pfxEnv());
  assert.equal(r.code, 0, r.stderr);
  assertNoSecrets(r);
  const got = JSON.parse(r.stdout).reports;
  assert.equal(got.length, 2);
  assert.equal(got[0].filename, reports[0].fileName);
  assert.equal(got[0].created, reports[0].created);
  assert.equal(got[0].size, zipBytes.length);
  // The reply escapes '&' as &amp;; the client decodes it.
  assert.equal(got[0].url, `${ews.url}/download/${encodeURIComponent(reports[0].fileName)}?doclookupId=1000&kind=zip`);
  assert.equal(got[1].size, reports[1].body.length);

  assert.equal(ews.requests.length, before_ + 1);
  const req = ews.requests.at(-1);
  assert.equal(req.verified, true, req.verifyOutput);
  assert.match(req.verifyOutput, /SignedInfo References \(ok\/all\): 2\/2/);
  assert.equal(req.certMatches, true);
  assert.equal(req.bodySigned, true);
  assert.equal(req.option, '203');
  assert.equal(req.peerCN, 'API_TESTUSER');
  assert.equal(req.userId, 'API_TESTUSER');
  assert.match(req.soapAction, /^"\/BusinessService\/.*MarketInfo"$/);
  assert.match(req.contentType, /^text\/xml/);
  assert.match(req.xml, /<Verb>get<\/Verb><Noun>Reports<\/Noun>/);
  assert.match(req.xml, /xmldsig-more#rsa-sha256/);
});

test('PEM certificate and key with \\n escapes work, report type and ids from settings', async () => {
  const r = await cli(['list'], {
    ERCOT_EWS_BASE: `${ews.url}/`, ERCOT_EWS_CERT: escaped(certs.clientCert),
    ERCOT_EWS_KEY: escaped(certs.clientKey), ERCOT_EWS_CA: escaped(certs.ca),
    ERCOT_EWS_REPORTTYPE: '13025', ERCOT_EWS_SOURCE: 'QSE<&>X', ERCOT_EWS_USERID: 'API_OPS',
  });
  assert.equal(r.code, 0, r.stderr);
  assertNoSecrets(r);
  assert.equal(JSON.parse(r.stdout).reports.length, 2);
  const req = ews.requests.at(-1);
  assert.equal(req.verified, true, req.verifyOutput);
  assert.equal(req.option, '13025');
  assert.equal(req.source, 'QSE&lt;&amp;&gt;X');
  assert.equal(req.userId, 'API_OPS');
});

test('legacy rsa-sha1 signing verifies too', async () => {
  const r = await cli(['list'], pfxEnv({ ERCOT_EWS_SIGALG: 'sha1' }));
  assert.equal(r.code, 0, r.stderr);
  const req = ews.requests.at(-1);
  assert.equal(req.verified, true, req.verifyOutput);
  assert.match(req.xml, /xmldsig#rsa-sha1/);
});

test('endpoint: a bare origin gets the EWS path, a given path is kept', async () => {
  const ep = async (base) => (await cli(['endpoint'], { ERCOT_EWS_BASE: base })).stdout.trim();
  assert.equal(await ep('https://ews.ercot.com'), `https://ews.ercot.com${EWS_PATH}`);
  assert.equal(await ep('https://ews.ercot.com/'), `https://ews.ercot.com${EWS_PATH}`);
  assert.equal(await ep('https://misapi.ercot.com/NodalAPI/EWS/'), 'https://misapi.ercot.com/NodalAPI/EWS/');
  assert.equal((await cli(['configured'], { ERCOT_EWS_BASE: 'https://x' })).stdout.trim(), '0');
  assert.equal((await cli(['configured'], pfxEnv())).stdout.trim(), '1');
  assert.equal((await cli(['configured'], { ERCOT_EWS_BASE: 'https://x', ERCOT_EWS_CERT: 'c',
    ERCOT_EWS_KEY: 'k' })).stdout.trim(), '1');
});

test('a client certificate from another CA is refused at the TLS layer', async () => {
  const before_ = ews.requests.length;
  const r = await cli(['list'], { ERCOT_EWS_BASE: ews.url, ERCOT_EWS_CERT: escaped(certs.wrongCert),
    ERCOT_EWS_KEY: escaped(certs.wrongKey), ERCOT_EWS_CA: escaped(certs.ca) });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /EWS request to https:\/\/127\.0\.0\.1:\d+\/2007-08\/Nodal\/eEDS\/EWS\/ failed: /);
  assert.match(r.stderr, /client certificate refused|unknown ca/i);
  assert.equal(ews.requests.length, before_, 'no SOAP request got through');
  assertNoSecrets(r);
});

test('a server certificate not signed by ERCOT_EWS_CA is refused', async () => {
  const r = await cli(['list'], pfxEnv({ ERCOT_EWS_CA: escaped(fs.readFileSync(path.join(dir, 'otherca.pem'), 'utf8')) }));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /certificate/i);
});

test('a tampered signed body fails xmlsec1 and the client reports the SOAP fault', async () => {
  ews.options.tamper = true;
  try {
    const r = await cli(['list'], pfxEnv());
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /EWS fault: Signature verification failed \(HTTP 500\)/);
    const req = ews.requests.at(-1);
    assert.equal(req.verified, false);
    assert.match(req.verifyOutput, /FAIL/);
    assert.equal(req.certMatches, true);
    assertNoSecrets(r);
  } finally {
    ews.options.tamper = false;
  }
});

test('a download streams the exact served bytes through the mTLS handle', async () => {
  const list = JSON.parse((await cli(['list'], pfxEnv())).stdout).reports;
  const out = path.join(dir, 'dl.zip');
  const r = await cli(['download', list[0].url, out], pfxEnv());
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { bytes: zipBytes.length });
  assert.ok(fs.readFileSync(out).equals(zipBytes));
  assert.match(ews.downloads.at(-1), /doclookupId=1000&kind=zip$/);
  assertNoSecrets(r);

  const missing = await cli(['download', `${ews.url}/download/nope.zip`, out], pfxEnv());
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /download answered HTTP 404/);
  const plain = await cli(['download', `http://127.0.0.1:1/x.zip`, out], pfxEnv());
  assert.match(plain.stderr, /only https/);
});

test('compressed payloads and ReplyCode errors are understood', async () => {
  ews.options.compressed = true;
  try {
    const r = await cli(['list'], pfxEnv());
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).reports.map((x) => x.filename), reports.map((x) => x.fileName));
  } finally {
    ews.options.compressed = false;
  }
  ews.options.replyCode = 'ERROR';
  ews.options.replyError = 'User not authorized for report type 203';
  try {
    const r = await cli(['list'], pfxEnv());
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /EWS reply ERROR: User not authorized for report type 203/);
  } finally {
    delete ews.options.replyCode;
    delete ews.options.replyError;
  }
});

test('comments, CDATA and character references in the reply are read as XML', async () => {
  ews.options.exotic = true;
  try {
    const r = await cli(['list'], pfxEnv());
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout).reports;
    assert.deepEqual(got.map((x) => [x.filename, x.created]),
      reports.map((x) => [x.fileName, x.created]));
    assert.ok(got.every((x) => x.url.startsWith(ews.url)), 'a commented-out report was read');
  } finally {
    ews.options.exotic = false;
  }
});

test('a wrong PFX password fails clearly without echoing any secret', async () => {
  const r = await cli(['list'], pfxEnv({ ERCOT_EWS_PFX_PASS: 'not-the-password-' + PFX_PASS.slice(9) }));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /ERCOT_EWS_PFX cannot be opened \(wrong ERCOT_EWS_PFX_PASS\?\)/);
  assert.ok(!r.stderr.includes(PFX_PASS.slice(9)));
  assertNoSecrets(r);
});
