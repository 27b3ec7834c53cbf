// Storage module (SPEC §6 "Storage"), driven through build/testtools/storage_cli
// against the S3 stand-in (s3rver behind a front that verifies SigV4
// independently) and against a local directory.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { useS3 } from '../fakes/s3.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, process.env.IW_BUILD || 'build', 'testtools', 'storage_cli');
const MiB = 1024 * 1024;
const SECRET = 'sekrit-' + crypto.randomBytes(8).toString('hex');

const s3 = useS3({ accessKeyId: 'AKIDTESTSTORAGE', secretAccessKey: SECRET, bucket: 'iw-test' });

/* The environment without any storage setting of the caller's. */
function baseEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(S3_|DO_SPACES_|STORAGE_DIR$|AWS_)/.test(k))
      env[k] = v;
  return env;
}

/* Runs the CLI without blocking the event loop (the stand-in lives here). */
function cli(args, { env = {}, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, args, { env: { ...baseEnv(), ...env } });
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({
      code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(),
    }));
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...baseEnv(), ...env } });
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
  });
}

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const since = (n) => s3.requests.slice(n);

describe('S3 backend', () => {
  test('a small object is stored whole, with its content type, and reads back equal', async () => {
    const body = Buffer.from('ESIID,ADDRESS\n1008901000000000000001,1 MAIN ST\n');
    const key = 'ercot/2024-05-01/small file (1).csv';
    const mark = s3.requests.length;
    const r = await cli(['put', key, '--type', 'text/csv'], { env: s3.env(), input: body });
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.deepEqual(res, { key, bytes: body.length, sha256: sha256(body), backend: 's3' });
    const reqs = since(mark);
    assert.deepEqual(reqs.map((q) => [q.method, q.status]), [['PUT', 200]]);
    assert.equal(reqs[0].path, '/iw-test/ercot/2024-05-01/small%20file%20%281%29.csv');
    const got = await s3.getObject(key);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, body);
    assert.equal(got.headers['content-type'], 'text/csv');
  });

  test('an independent client (awscli) reads the object back through the verifying front', async (t) => {
    if (!fs.existsSync('/usr/bin/aws'))
      return t.skip('Debian awscli not installed');
    const body = crypto.randomBytes(4096);
    const key = 'awscli/check.bin';
    assert.equal((await cli(['put', key, '--buffer'], { env: s3.env(), input: body })).code, 0);
    const r = await run('/usr/bin/aws', ['s3', 'cp', `s3://${s3.bucket}/${key}`, '-',
      '--endpoint-url', s3.endpoint], {
      AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_DEFAULT_REGION: s3.region, AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout, body);
  });

  test('a wrong secret is refused with SignatureDoesNotMatch, never echoed, and nothing is stored', async () => {
    const wrong = 'wrong-' + crypto.randomBytes(6).toString('hex');
    const key = 'denied/object.bin';
    const r = await cli(['put', key], { env: s3.env({ S3_SECRET_ACCESS_KEY: wrong }), input: Buffer.from('x'.repeat(100)) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /HTTP 403 SignatureDoesNotMatch/);
    assert.ok(!r.stderr.includes(wrong) && !r.stdout.includes(wrong));
    assert.equal((await s3.getObject(key)).status, 404);
    const ex = await cli(['exists', key], { env: s3.env({ S3_SECRET_ACCESS_KEY: wrong }) });
    assert.equal(ex.code, 2, 'exists with a bad secret is an error, not "absent"');
    assert.ok(!ex.stderr.includes(wrong));
  });

  test('a body altered in transit fails the payload hash (XAmzContentSHA256Mismatch) and is not stored', async () => {
    const key = 'tampered/object.bin';
    s3.tamperBodies(1);
    const r = await cli(['put', key], { env: s3.env(), input: crypto.randomBytes(2048) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /XAmzContentSHA256Mismatch/);
    assert.equal((await s3.getObject(key)).status, 404);
  });

  test('a 40 MiB stream goes up as a 3-part multipart upload and reads back equal', async () => {
    const body = crypto.randomBytes(40 * MiB);
    const key = 'ercot/2024-05-01/big.zip';
    const mark = s3.requests.length;
    const r = await cli(['put', key, '--type', 'application/zip', '--chunk', '1000000'], { env: s3.env(), input: body });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { key, bytes: body.length, sha256: sha256(body), backend: 's3' });
    const reqs = since(mark);
    const shape = reqs.map((q) => q.method + ' ' + Object.keys(q.query).sort().join(','));
    assert.deepEqual(shape, ['POST uploads', 'PUT partNumber,uploadId', 'PUT partNumber,uploadId',
      'PUT partNumber,uploadId', 'POST uploadId']);
    assert.deepEqual(reqs.slice(1, 4).map((q) => [q.query.partNumber, q.bytes]),
      [['1', 16 * MiB], ['2', 16 * MiB], ['3', 8 * MiB]]);
    assert.ok(reqs.every((q) => q.status === 200), JSON.stringify(reqs));
    const got = await s3.getObject(key);
    assert.equal(got.status, 200);
    assert.equal(got.body.length, body.length);
    assert.ok(got.body.equals(body), 'object bytes differ');
    assert.equal(got.headers['content-type'], 'application/zip');
  });

  test('an object of exactly 16 MiB is one PUT', async () => {
    const body = crypto.randomBytes(16 * MiB);
    const mark = s3.requests.length;
    const r = await cli(['put', 'edge/16mib.bin'], { env: s3.env(), input: body });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(since(mark).map((q) => [q.method, q.bytes]), [['PUT', 16 * MiB]]);
    assert.ok((await s3.getObject('edge/16mib.bin')).body.equals(body));
  });

  test('a multipart upload failing on part 2 is aborted and leaves no object', async () => {
    const key = 'ercot/2024-05-02/fails.zip';
    s3.injectFault((q) => q.method === 'PUT' && q.query.partNumber === '2', { status: 500, times: 3 });
    const mark = s3.requests.length;
    // 17 MiB: part 1 is full, part 2 is the last one, sent on commit.
    const r = await cli(['put', key], { env: s3.env(), input: crypto.randomBytes(17 * MiB) });
    const reqs = since(mark);
    const why = r.stderr + JSON.stringify(reqs);
    assert.equal(r.code, 1, why);
    assert.match(r.stderr, /part 2 .*HTTP 500 InternalError/, why);
    const abort = reqs.filter((q) => q.method === 'DELETE');
    assert.equal(abort.length, 1, JSON.stringify(reqs));
    assert.ok(abort[0].query.uploadId);
    assert.equal(abort[0].status, 204);
    assert.equal(s3.uploads.get(abort[0].query.uploadId), 'aborted');
    assert.ok(!reqs.some((q) => q.method === 'POST' && 'uploadId' in q.query), 'never completed');
    assert.deepEqual(reqs.filter((q) => q.query.partNumber).map((q) => [q.query.partNumber, q.status]),
      [['1', 200], ['2', 500], ['2', 500], ['2', 500]], 'part 2 tried 3 times, then given up');
    assert.equal((await s3.getObject(key)).status, 404);
    assert.equal((await cli(['exists', key], { env: s3.env() })).stdout.trim(), '0');
  });

  test('a part that fails once (503) is retried and the upload completes', async () => {
    const key = 'retry/once.bin';
    const body = crypto.randomBytes(17 * MiB);
    s3.injectFault((q) => q.method === 'PUT' && q.query.partNumber === '2', { status: 503, code: 'SlowDown' });
    const mark = s3.requests.length;
    const r = await cli(['put', key], { env: s3.env(), input: body });
    const why = r.stderr + JSON.stringify(since(mark));
    assert.equal(r.code, 0, why);
    const parts = since(mark).filter((q) => q.query.partNumber).map((q) => [q.query.partNumber, q.status]);
    assert.deepEqual(parts, [['1', 200], ['2', 503], ['2', 200]], why);
    assert.ok((await s3.getObject(key)).body.equals(body));
  });

  test('a writer aborted midway leaves no object and no open upload', async () => {
    const key = 'aborted/stream.bin';
    const mark = s3.requests.length;
    const r = await cli(['put', key, '--abort-after', String(20 * MiB), '--chunk', String(4 * MiB)],
      { env: s3.env(), input: crypto.randomBytes(24 * MiB) });
    assert.equal(r.code, 0, r.stderr);
    const reqs = since(mark);
    assert.deepEqual(reqs.map((q) => q.method), ['POST', 'PUT', 'DELETE']);
    assert.equal((await s3.getObject(key)).status, 404);
  });

  test('a content type carrying a header break is refused before any request', async () => {
    const mark = s3.requests.length;
    const r = await cli(['put', 'ctype/x.txt', '--type', 'text/plain\r\nx-amz-acl: public-read'],
      { env: s3.env(), input: Buffer.from('x') });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid content type/);
    assert.equal(s3.requests.length, mark);
  });

  test('exists answers 1 for a stored key and 0 for an absent one', async () => {
    await cli(['put', 'exists/yes.txt'], { env: s3.env(), input: Buffer.from('y') });
    const yes = await cli(['exists', 'exists/yes.txt'], { env: s3.env() });
    assert.deepEqual([yes.code, yes.stdout.trim()], [0, '1']);
    const no = await cli(['exists', 'exists/no.txt'], { env: s3.env() });
    assert.deepEqual([no.code, no.stdout.trim()], [1, '0']);
    assert.equal(s3.requests.at(-1).method, 'HEAD');
  });

  test('virtual-host style addresses bucket.endpoint when path style is off', async () => {
    const env = s3.env({ S3_FORCE_PATH_STYLE: '', S3_ENDPOINT: `http://localhost:${s3.port}` });
    const mark = s3.requests.length;
    const r = await cli(['put', 'vhost/a.txt'], { env, input: Buffer.from('vhost') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(since(mark)[0].host, 'iw-test.localhost');
    assert.equal((await s3.getObject('vhost/a.txt')).body.toString(), 'vhost');
    // An IP-literal endpoint cannot take a bucket subdomain: path style is used.
    const ip = await cli(['put', 'vhost/ip.txt'], { env: s3.env({ S3_FORCE_PATH_STYLE: '' }), input: Buffer.from('ip') });
    assert.equal(ip.code, 0, ip.stderr);
    assert.deepEqual([s3.requests.at(-1).host, s3.requests.at(-1).path], ['127.0.0.1', '/iw-test/vhost/ip.txt']);
  });

  test('DigitalOcean Spaces setting names work as aliases', async () => {
    const env = {
      DO_SPACES_BUCKET: s3.bucket, DO_SPACES_ENDPOINT: s3.endpoint, DO_SPACES_REGION: s3.region,
      DO_SPACES_KEY: s3.accessKeyId, DO_SPACES_SECRET: s3.secretAccessKey, S3_FORCE_PATH_STYLE: 'true',
    };
    assert.equal((await cli(['backend'], { env })).stdout.trim(), 's3');
    assert.equal((await cli(['missing'], { env })).stdout, '');
    const r = await cli(['put', 'spaces/a.txt'], { env, input: Buffer.from('spaces') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await s3.getObject('spaces/a.txt')).body.toString(), 'spaces');
  });

  test('missing lists the absent S3 settings when S3 is chosen', async () => {
    const r = await cli(['missing'], { env: { S3_BUCKET: 'b' } });
    assert.deepEqual(r.stdout.trim().split('\n'),
      ['S3_ENDPOINT', 'S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']);
    assert.equal((await cli(['missing'], { env: s3.env() })).stdout, '');
    const put = await cli(['put', 'x'], { env: { S3_BUCKET: 'b' }, input: Buffer.from('x') });
    assert.equal(put.code, 1);
    assert.match(put.stderr, /S3 settings missing: S3_ENDPOINT/);
  });
});

describe('local backend', () => {
  const tmpRoot = () => fs.mkdtempSync(path.join(os.tmpdir(), 'iw-storage-'));
  const listAll = (dir) => fs.readdirSync(dir, { recursive: true }).sort();

  test('a streamed write lands whole under STORAGE_DIR with no temp file left', async () => {
    const dir = tmpRoot();
    try {
      const body = crypto.randomBytes(3 * MiB + 17);
      const key = 'ercot/2024-05-01/ext.zip';
      const r = await cli(['put', key, '--chunk', '65536'], { env: { STORAGE_DIR: dir }, input: body });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { key, bytes: body.length, sha256: sha256(body), backend: 'local' });
      assert.ok(fs.readFileSync(path.join(dir, key)).equals(body));
      assert.deepEqual(listAll(dir), ['ercot', 'ercot/2024-05-01', 'ercot/2024-05-01/ext.zip']);
      // Overwrite: the new content replaces the old, still no leftovers.
      const again = await cli(['put', key, '--buffer'], { env: { STORAGE_DIR: dir }, input: Buffer.from('v2') });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(fs.readFileSync(path.join(dir, key), 'utf8'), 'v2');
      assert.deepEqual(listAll(dir), ['ercot', 'ercot/2024-05-01', 'ercot/2024-05-01/ext.zip']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an aborted write publishes nothing and removes its temp file', async () => {
    const dir = tmpRoot();
    try {
      const r = await cli(['put', 'a/partial.bin', '--abort-after', '100000'],
        { env: { STORAGE_DIR: dir }, input: crypto.randomBytes(300000) });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(listAll(dir), ['a']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('exists answers 1 for a stored key, 0 for an absent one or a directory', async () => {
    const dir = tmpRoot();
    try {
      const env = { STORAGE_DIR: dir };
      assert.equal((await cli(['put', 'd/f.txt'], { env, input: Buffer.from('f') })).code, 0);
      assert.equal((await cli(['exists', 'd/f.txt'], { env })).stdout.trim(), '1');
      assert.equal((await cli(['exists', 'd/g.txt'], { env })).stdout.trim(), '0');
      assert.equal((await cli(['exists', 'd'], { env })).stdout.trim(), '0');
      assert.equal((await cli(['exists', 'd/f.txt/x'], { env })).stdout.trim(), '0');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('backend and missing settings for the local directory', async () => {
    assert.equal((await cli(['backend'], { env: {} })).stdout.trim(), 'local');
    assert.equal((await cli(['missing'], { env: {} })).stdout.trim(), 'STORAGE_DIR');
    assert.equal((await cli(['missing'], { env: { STORAGE_DIR: '/tmp' } })).stdout, '');
    const r = await cli(['put', 'k'], { env: {}, input: Buffer.from('x') });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /STORAGE_DIR is not set/);
  });

  test('keys that could escape the directory or are malformed are refused', async () => {
    const outer = tmpRoot();
    const dir = path.join(outer, 'store');
    fs.mkdirSync(dir);
    try {
      const env = { STORAGE_DIR: dir };
      for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a//b', './a', 'a/', 'a\nb', 'x'.repeat(1025)]) {
        assert.equal((await cli(['valid', bad], { env })).code, 1, JSON.stringify(bad));
        const r = await cli(['put', bad], { env, input: Buffer.from('x') });
        assert.equal(r.code, 1, JSON.stringify(bad));
        assert.match(r.stderr, /invalid key/);
      }
      for (const good of ['x', 'a..b/c', 'ercot/2024-05-01/ZP15-612 ONCOR.zip', 'x'.repeat(1024)])
        assert.equal((await cli(['valid', good], { env })).code, 0, good);
      assert.deepEqual(listAll(dir), []);
      assert.deepEqual(fs.readdirSync(outer), ['store'], 'nothing written beside STORAGE_DIR');
      // An S3 put of a bad key never reaches the network.
      const mark = s3.requests.length;
      assert.equal((await cli(['put', '../x'], { env: s3.env(), input: Buffer.from('x') })).code, 1);
      assert.equal(s3.requests.length, mark);
    } finally {
      fs.rmSync(outer, { recursive: true, force: true });
    }
  });
});
