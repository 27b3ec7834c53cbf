// The SMT pull with the S3 storage backend (SPEC §6): the decoded file lands
// in the bucket (s3rver behind the SigV4-verifying front) with equal bytes,
// and a duplicate is not uploaded again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { startStack } from '../lib/stack.mjs';
import { startS3 } from '../fakes/s3.mjs';
import { intervalFile, sha256 } from '../fakes/smt_files.mjs';

let stack, s3;

before(async () => {
  s3 = await startS3({ accessKeyId: 'AKIDINGEST', secretAccessKey: 'ingest-' + Date.now(), bucket: 'iw-ingest' });
  stack = await startStack({ name: 'ingest_s3', env: s3.env() });
});
after(async () => {
  await stack?.stop();
  await s3?.close();
});

test('a pulled file is stored in the S3 bucket with equal bytes, once', async () => {
  const f = intervalFile({ esiid: '10443720000000201', days: ['2025-03-08', '2025-03-09', '2025-03-10'] });
  const post = () => stack.request('POST', '/api/admin/smt/pull?filename=s3-test.csv.gz&meter=S3M', {
    raw: zlib.gzipSync(f.buf), headers: { 'content-type': 'application/gzip', 'x-admin-token': stack.env.ADMIN_TOKEN },
  });
  const puts = () => s3.requests.filter((q) => q.method === 'PUT').length;
  const r = await post();
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.rows, 96 + 92 + 96);
  const key = r.json.storagePath;
  assert.equal(key.split('/').pop(), `${sha256(f.buf)}-s3-test.csv`);
  const got = await s3.getObject(key);
  assert.equal(got.status, 200);
  assert.deepEqual(got.body, f.buf);
  const n = puts();
  assert.ok(n >= 1);
  const again = await post();
  assert.equal(again.json.duplicate, true);
  assert.equal(puts(), n, 'no second upload');
  const rows = await stack.sql('master', 'SELECT count(*)::int AS n FROM "SmtInterval" WHERE esiid = $1', ['10443720000000201']);
  assert.equal(rows[0].n, 284);
});

test('a bucket that refuses the upload leaves no raw_smt_files row, and a retry succeeds', async () => {
  const f = intervalFile({ esiid: '10443720000000202', days: ['2025-06-01'] });
  s3.injectFault((q) => q.method === 'PUT', { status: 403, code: 'AccessDenied', times: 1 });
  const body = { mode: 'inline', filename: 'retry.csv', content_b64: f.buf.toString('base64') };
  const r = await stack.post('/api/admin/smt/pull', body, { admin: true });
  assert.equal(r.status, 502, r.text);
  assert.equal(r.json.error, 'upstream_failed');
  const raw = await stack.sql('master', 'SELECT count(*)::int AS n FROM raw_smt_files WHERE sha256 = $1', [sha256(f.buf)]);
  assert.equal(raw[0].n, 0);
  assert.equal((await stack.sql('master', 'SELECT count(*)::int AS n FROM "SmtInterval" WHERE esiid = $1', ['10443720000000202']))[0].n, 0,
    'the master side rolled back with the failed upload');
  const ok = await stack.post('/api/admin/smt/pull', body, { admin: true });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.duplicate, false);
  assert.deepEqual((await s3.getObject(ok.json.storagePath)).body, f.buf);
});

test('the object is stored with a content type from the allow-list, not the request\'s', async () => {
  const f = intervalFile({ esiid: '10443720000000203', days: ['2025-06-02'] });
  const r = await stack.post('/api/admin/smt/pull',
    { mode: 'inline', filename: 'typed.csv', mime: 'text/html', content_b64: f.buf.toString('base64') }, { admin: true });
  assert.equal(r.status, 200, r.text);
  const put = s3.requests.filter((q) => q.method === 'PUT' && q.path.includes(sha256(f.buf))).pop();
  assert.equal(put.contentType, 'application/octet-stream');
  const got = await s3.getObject(r.json.storagePath);
  assert.equal(got.headers['content-type'], 'application/octet-stream');
});

test('normalize reads the stored file back from the bucket; a deleted object is object_missing', async () => {
  const esiid = '10443720000000202';
  const f = intervalFile({ esiid, days: ['2025-04-01', '2025-04-02'] });
  const r = await stack.request('POST', `/api/admin/smt/pull?filename=s3-normalize.csv&esiid=${esiid}`, {
    raw: f.buf, headers: { 'content-type': 'text/csv', 'x-admin-token': stack.env.ADMIN_TOKEN },
  });
  assert.equal(r.status, 200, r.text);
  await stack.sql('usage', 'DELETE FROM "UsageIntervalModule" WHERE esiid = $1', [esiid]);
  const n = await stack.post(`/api/admin/smt/normalize?esiid=${esiid}`, {}, { admin: true });
  assert.equal(n.status, 200, n.text);
  assert.deepEqual([n.json.files[0].rows, n.json.files[0].inserted, n.json.files[0].updated], [192, 192, 0]);
  const usage = await stack.sql('usage', 'SELECT count(*)::int AS n FROM "UsageIntervalModule" WHERE esiid = $1', [esiid]);
  assert.equal(usage[0].n, 192);
  assert.equal(await s3.deleteObject(r.json.storagePath), 204);
  const m = await stack.post(`/api/admin/smt/normalize?esiid=${esiid}`, {}, { admin: true });
  assert.equal(m.status, 200, m.text);
  assert.equal(m.json.files[0].error, 'object_missing');
});
