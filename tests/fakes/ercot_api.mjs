// Stand-in for the ERCOT Public API (SPEC §6 method 2) over real loopback
// sockets: the Azure B2C ROPC token endpoint (form POST, password grant,
// answers {id_token}) and the public-reports archive API, which checks
// Ocp-Apim-Subscription-Key and the bearer id_token on every call, answers
// 429 (Retry-After) once to the first listing call, and pages the archive
// listing with at most `maxPageSize` entries a page.
//
//   const api = await startErcotApi({ subscriptionKey, username, password,
//                                     archives: [{ docId, friendlyName, postDatetime, body }] });
//   api.base (ERCOT_API_BASE), api.tokenUrl (ERCOT_TOKEN_URL), api.requests,
//   api.tokens (issued id_tokens), api.options, await api.close()
import crypto from 'node:crypto';
import http from 'node:http';

export const CLIENT_ID = 'fec253ea-0d06-4272-a5e6-b478baeecd70';
export const SCOPE = `openid ${CLIENT_ID} offline_access`;
const PRODUCT = 'ZP15-612';

export async function startErcotApi({ subscriptionKey, username, password, archives = [], maxPageSize = 2 } = {}) {
  const requests = [];
  const tokens = [];
  const options = { throttleListing: 1, throttleDownload: 0, retryAfter: '1', delayMs: 0, denyLogin: false };
  const state = { archives: [...archives] };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url, 'http://x');
      const body = Buffer.concat(chunks).toString();
      const entry = { method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers };
      requests.push(entry);
      const json = (status, obj, extra = {}) => {
        const text = JSON.stringify(obj);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...extra });
        res.end(text);
      };
      if (url.pathname === '/b2c/oauth2/v2.0/token') {
        const f = new URLSearchParams(body);
        entry.form = Object.fromEntries(f);
        if (req.method !== 'POST' || !/application\/x-www-form-urlencoded/.test(req.headers['content-type'] || ''))
          return json(400, { error: 'invalid_request' });
        if (f.get('grant_type') !== 'password' || f.get('client_id') !== CLIENT_ID || f.get('scope') !== SCOPE ||
            f.get('response_type') !== 'id_token')
          return json(400, { error: 'invalid_request', error_description: 'bad grant parameters' });
        if (options.denyLogin || f.get('username') !== username || f.get('password') !== password)
          return json(400, { error: 'invalid_grant', error_description: 'AADB2C90225: The username or password is incorrect' });
        const token = `eyJ${crypto.randomBytes(48).toString('base64url')}`;
        tokens.push(token);
        return json(200, { id_token: token, token_type: 'Bearer', not_before: 0, id_token_expires_in: 3600 });
      }
      const prefix = `/api/public-reports/archive/${PRODUCT}`;
      if (url.pathname !== prefix) return json(404, { statusCode: 404, message: 'Resource not found' });
      if (req.headers['ocp-apim-subscription-key'] !== subscriptionKey)
        return json(401, { statusCode: 401, message: 'Access denied due to missing subscription key.' });
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization || '');
      if (!bearer || !tokens.includes(bearer[1])) return json(401, { statusCode: 401, message: 'Invalid token' });
      const download = url.searchParams.get('download');
      if (download) {
        if (options.throttleDownload > 0) {
          options.throttleDownload--;
          return json(429, { statusCode: 429, message: 'Rate limit is exceeded.' }, { 'retry-after': options.retryAfter });
        }
        const a = state.archives.find((x) => String(x.docId) === download);
        if (!a) return json(404, { statusCode: 404, message: 'document not found' });
        if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': a.body.length });
        return res.end(a.body);
      }
      if (options.throttleListing > 0) {
        options.throttleListing--;
        return json(429, { statusCode: 429, message: 'Rate limit is exceeded. Try again in 1 seconds.' },
          { 'retry-after': options.retryAfter });
      }
      const from = url.searchParams.get('postDatetimeFrom') || '';
      const to = url.searchParams.get('postDatetimeTo') || '9999';
      const size = Math.min(Number(url.searchParams.get('size') || 25), maxPageSize);
      const page = Number(url.searchParams.get('page') || 1);
      const hits = state.archives.filter((a) => a.postDatetime >= from && a.postDatetime <= to);
      const totalPages = Math.max(1, Math.ceil(hits.length / size));
      const base = `http://${req.headers.host}${prefix}`;
      const list = hits.slice((page - 1) * size, page * size).map((a) => ({
        docId: a.docId, friendlyName: a.friendlyName, postDatetime: a.postDatetime,
        _links: { endpoint: { href: `${base}?download=${a.docId}` } },
      }));
      return json(200, {
        _meta: { totalRecords: hits.length, pageSize: size, totalPages, currentPage: page },
        report: { reportEmilId: PRODUCT, reportName: 'TDSP ESI ID Extract' }, archives: list,
      });
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    base: `${origin}/api/public-reports`, tokenUrl: `${origin}/b2c/oauth2/v2.0/token`, requests, tokens, options,
    get archives() { return state.archives; }, set archives(v) { state.archives = [...v]; },
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}
