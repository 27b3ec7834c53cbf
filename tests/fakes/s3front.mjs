// S3 stand-in for tests: s3rver (a real S3 wire-format server, storing on disk)
// behind a loopback proxy that checks what s3rver does not: every request's
// AWS Signature V4, recomputed independently with the `aws4` package from the
// method, path, query, the signed headers and x-amz-content-sha256, and that
// x-amz-content-sha256 is the sha256 of the body actually received.
// It also implements AbortMultipartUpload (s3rver lacks it), records every
// request, and can inject faults.
//
//   import { startS3 } from './s3front.mjs';
//   const s3 = await startS3({ accessKeyId, secretAccessKey, bucket });
//   s3.endpoint, s3.requests, s3.injectFault(...), await s3.close();
//
// Standalone: node tests/fakes/s3front.mjs --port 9000 [--bucket B]
//             [--access-key K] [--secret S] [--region R] [--dir D]
// prints the endpoint and the S3_* settings to use as one JSON line.
// S3FRONT_DEBUG=1 prints each canonical request as the front computes it.
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver');
const AWSAccount = require('s3rver/lib/models/account');
const aws4 = require('aws4');

const EMPTY_SHA256 = crypto.createHash('sha256').update('').digest('hex');
/* Headers aws4 leaves out of a signature unless told to include them. */
const AWS4_IGNORED = ['authorization', 'connection', 'x-amzn-trace-id',
  'user-agent', 'expect', 'presigned-expires', 'range'];
const MAX_BODY = 64 * 1024 * 1024;

function xmlError(code, message, extra = '') {
  return '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' + code +
    '</Code><Message>' + message + '</Message>' + extra +
    '<RequestId>front</RequestId></Error>';
}

function sha256hex(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

/* Parses "AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/aws4_request,
 * SignedHeaders=a;b, Signature=hex". */
function parseAuthorization(value) {
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/.exec(value || '');
  if (!m)
    return null;
  const parts = {};
  for (const piece of m[1].split(',')) {
    const eq = piece.indexOf('=');
    if (eq > 0)
      parts[piece.slice(0, eq).trim()] = piece.slice(eq + 1).trim();
  }
  if (!parts.Credential || !parts.SignedHeaders || !parts.Signature)
    return null;
  const scope = parts.Credential.split('/');
  if (scope.length !== 5)
    return null;
  return {
    accessKeyId: scope[0], date: scope[1], region: scope[2], service: scope[3],
    signedHeaders: parts.SignedHeaders.split(';'), signature: parts.Signature,
  };
}

/* Returns null when REQ (with BODY) is correctly signed, else [status, code, message]. */
export function verifyRequest(req, body, creds) {
  const auth = parseAuthorization(req.headers.authorization);
  if (!auth)
    return [403, 'AccessDenied', 'Missing or malformed Authorization header'];
  if (auth.accessKeyId !== creds.accessKeyId)
    return [403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'];
  const amzDate = req.headers['x-amz-date'];
  if (!amzDate || amzDate.slice(0, 8) !== auth.date)
    return [403, 'SignatureDoesNotMatch', 'x-amz-date missing or not matching the credential scope'];
  const contentSha = req.headers['x-amz-content-sha256'];
  if (!contentSha)
    return [400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256'];
  const headers = {};
  const include = Object.create(null);
  for (const name of auth.signedHeaders) {
    if (req.headers[name] === undefined)
      return [403, 'SignatureDoesNotMatch', 'signed header ' + name + ' not present'];
    headers[name] = req.headers[name];
    if (AWS4_IGNORED.includes(name))
      include[name] = true;
  }
  const signer = new aws4.RequestSigner({
    method: req.method, path: req.url, headers, service: 's3',
    region: creds.region, extraHeadersToInclude: include,
  }, { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey });
  let expected;
  try {
    signer.prepareRequest();
    // aws4 adds headers the client did not sign (x-amz-content-sha256 when
    // absent, Host): then the lists differ and so does the signature.
    expected = signer.signature();
  } catch (e) {
    return [403, 'SignatureDoesNotMatch', 'cannot canonicalize: ' + e.message];
  }
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(auth.signature, 'utf8');
  if (process.env.S3FRONT_DEBUG)
    console.error('[s3front] canonical request:\n' + signer.canonicalString() + '\n[s3front] headers ' + JSON.stringify(req.headers));
  if (signer.signedHeaders() !== auth.signedHeaders.join(';') ||
      a.length !== b.length || !crypto.timingSafeEqual(a, b))
    return [403, 'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.'];
  if (contentSha !== 'UNSIGNED-PAYLOAD' &&
      !contentSha.startsWith('STREAMING-') && contentSha !== sha256hex(body))
    return [400, 'XAmzContentSHA256Mismatch',
      "The provided 'x-amz-content-sha256' header does not match what was computed."];
  return null;
}

export async function startS3(opts = {}) {
  const creds = {
    accessKeyId: opts.accessKeyId || 'test-access-key',
    secretAccessKey: opts.secretAccessKey || 'test-secret-key',
    region: opts.region || 'us-east-1',
  };
  const bucket = opts.bucket || 'test-bucket';
  const dir = opts.dir || fs.mkdtempSync(path.join(os.tmpdir(), 's3rver-'));
  const ownDir = !opts.dir;

  // s3rver does not check V4 signatures, but it wants the key id to exist.
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(creds.accessKeyId, creds.secretAccessKey);
  const backend = new S3rver({
    address: '127.0.0.1', port: 0, silent: true, directory: dir,
    configureBuckets: [{ name: bucket }],
  });
  const backAddr = await backend.run();

  const requests = [];
  const faults = [];
  const uploads = new Map(); // uploadId -> 'open' | 'aborted' | 'completed'
  let tamperNext = 0;

  function reply(res, status, code, message) {
    const body = xmlError(code, message);
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  const front = http.createServer((req, res) => {
    const chunks = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY)
        tooBig = true;
      else
        chunks.push(c);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      const url = new URL(req.url, 'http://front');
      const host = (req.headers.host || '').split(':')[0];
      // Virtual-host style (bucket.localhost:port) → path style for s3rver.
      let fwdPath = url.pathname;
      if (host.startsWith(bucket + '.'))
        fwdPath = '/' + bucket + (url.pathname === '/' ? '' : url.pathname);
      const entry = {
        method: req.method, path: fwdPath, host,
        query: Object.fromEntries(url.searchParams), bytes: body.length,
        contentType: req.headers['content-type'] || null, status: 0, code: null,
      };
      requests.push(entry);
      const answer = (status, code, message) => {
        entry.status = status;
        entry.code = code;
        reply(res, status, code, message);
      };
      if (tooBig)
        return answer(400, 'EntityTooLarge', 'body over the stand-in cap');
      if (tamperNext > 0 && body.length > 0) {
        // Simulates corruption in transit: one byte flipped after signing.
        tamperNext--;
        body = Buffer.from(body);
        body[body.length >> 1] ^= 0x55;
      }
      const bad = verifyRequest(req, body, creds);
      if (bad)
        return answer(...bad);
      const fi = faults.findIndex((f) => f.match(entry));
      if (fi >= 0) {
        const f = faults[fi];
        if (!f.times || --f.times <= 0)
          faults.splice(fi, 1);
        if (f.drop)
          return res.destroy();
        return answer(f.status || 500, f.code || 'InternalError', f.message || 'injected failure');
      }
      const uploadId = url.searchParams.get('uploadId');
      if (uploadId !== null) {
        const state = uploads.get(uploadId);
        if (state !== 'open')
          return answer(404, 'NoSuchUpload', 'The specified upload does not exist.');
        if (req.method === 'DELETE') {
          // AbortMultipartUpload: s3rver has no such route.
          uploads.set(uploadId, 'aborted');
          entry.status = 204;
          res.writeHead(204);
          return res.end();
        }
      }
      const fwdHeaders = { ...req.headers, host: '127.0.0.1:' + backAddr.port };
      delete fwdHeaders.expect;
      fwdHeaders['content-length'] = String(body.length);
      delete fwdHeaders['transfer-encoding'];
      const up = http.request({
        host: '127.0.0.1', port: backAddr.port, method: req.method,
        path: fwdPath + url.search, headers: fwdHeaders,
      }, (upRes) => {
        const back = [];
        upRes.on('data', (c) => back.push(c));
        upRes.on('end', () => {
          const out = Buffer.concat(back);
          entry.status = upRes.statusCode;
          if (upRes.statusCode >= 300)
            entry.code = (/<Code>([^<]*)<\/Code>/.exec(out.toString()) || [])[1] || null;
          if (req.method === 'POST' && url.searchParams.has('uploads') && upRes.statusCode === 200) {
            const m = /<UploadId>([^<]+)<\/UploadId>/.exec(out.toString());
            if (m)
              uploads.set(m[1], 'open');
          }
          if (req.method === 'POST' && uploadId !== null && upRes.statusCode === 200)
            uploads.set(uploadId, 'completed');
          const h = { ...upRes.headers };
          delete h['transfer-encoding'];
          h['content-length'] = String(out.length);
          res.writeHead(upRes.statusCode, h);
          res.end(out);
        });
      });
      up.on('error', (e) => answer(502, 'BadGateway', e.message));
      up.end(body);
    });
  });
  await new Promise((resolve, reject) => {
    front.once('error', reject);
    front.listen(opts.port || 0, '127.0.0.1', resolve);
  });
  const port = front.address().port;

  return {
    endpoint: 'http://127.0.0.1:' + port,
    port,
    bucket,
    region: creds.region,
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
    dir,
    requests,
    uploads,
    /* MATCH(entry) picks the request; answers STATUS/CODE (or drops the
     * connection with drop:true) TIMES times (default once). */
    injectFault(match, { status = 500, code = 'InternalError', message, times = 1, drop = false } = {}) {
      faults.push({ match, status, code, message, times, drop });
    },
    /* Flip one byte of the next N request bodies after they arrive. */
    tamperBodies(n = 1) { tamperNext = n; },
    /* Environment for the storage module pointing at this stand-in. */
    env(extra = {}) {
      return {
        S3_BUCKET: bucket, S3_ENDPOINT: 'http://127.0.0.1:' + port,
        S3_REGION: creds.region, S3_ACCESS_KEY_ID: creds.accessKeyId,
        S3_SECRET_ACCESS_KEY: creds.secretAccessKey, S3_FORCE_PATH_STYLE: 'true',
        ...extra,
      };
    },
    /* Fetches KEY straight from s3rver (signed with aws4): {status, body, headers}. */
    async getObject(key) {
      const p = '/' + bucket + '/' + key.split('/').map(encodeURIComponent).join('/');
      const signed = aws4.sign({
        host: '127.0.0.1:' + backAddr.port, path: p, method: 'GET', service: 's3',
        region: creds.region,
      }, creds);
      return new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: backAddr.port, path: p, headers: signed.headers }, (r) => {
          const c = [];
          r.on('data', (d) => c.push(d));
          r.on('end', () => resolve({ status: r.statusCode, body: Buffer.concat(c), headers: r.headers }));
        }).on('error', reject);
      });
    },
    /* Deletes KEY straight from s3rver (signed with aws4): the status. */
    async deleteObject(key) {
      const p = '/' + bucket + '/' + key.split('/').map(encodeURIComponent).join('/');
      const signed = aws4.sign({
        host: '127.0.0.1:' + backAddr.port, path: p, method: 'DELETE', service: 's3',
        region: creds.region,
      }, creds);
      return new Promise((resolve, reject) => {
        http.request({ host: '127.0.0.1', port: backAddr.port, path: p, method: 'DELETE', headers: signed.headers }, (r) => {
          r.resume();
          r.on('end', () => resolve(r.statusCode));
        }).on('error', reject).end();
      });
    },
    async close() {
      const closed = new Promise((resolve) => front.close(resolve));
      front.closeAllConnections();
      await closed;
      await backend.close();
      AWSAccount.DUMMY_ACCOUNT.revokeAccessKey(creds.accessKeyId);
      if (ownDir)
        fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const arg = (name, def) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : def;
  };
  const s3 = await startS3({
    port: Number(arg('--port', '9000')), bucket: arg('--bucket', 'test-bucket'),
    accessKeyId: arg('--access-key', 'test-access-key'),
    secretAccessKey: arg('--secret', 'test-secret-key'),
    region: arg('--region', 'us-east-1'), dir: arg('--dir', undefined),
  });
  console.log(JSON.stringify({ endpoint: s3.endpoint, bucket: s3.bucket, dir: s3.dir, env: s3.env() }));
  const stop = async () => { await s3.close(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
