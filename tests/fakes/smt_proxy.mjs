// Stand-in for the SMT proxy on the droplet (smt-webhook.service): the same
// wire format over real HTTP on loopback.
//
//   POST /smt/agreements/myagreements   {agreementNumber?, statusReason?} -> {ok,status,agreements}
//   POST /smt/agreements/esiids         {agreementNumber}                 -> {ok,status,agreementESIIDs}
//   POST /smt/agreements/terminate      {agreementNumber, retailCustomerEmail} -> {ok,status,response}
//   POST /smt/subscriptions/list        {}                                -> {ok,status,subscriptions}
//   POST /smt/subscriptions/unsubscribe {subscriptionNumber}              -> {ok,status,response}
//   POST /smt/report-status             {correlationId, serviceType?}     -> {ok,status,reportStatus}
//
// Requires `Authorization: Bearer <token>` (401 otherwise). When SMT refuses:
// 502 {ok:false,status,error:"smt_request_failed",response}. SMT's own JSON
// varies the way the real one does: nested objects, AgreementNumber vs
// agreementNumber, esiId/ESIID, statuses as codes (PEN/ACT/COM/NACOM) or text.
//
//   const smt = await startSmtProxy({ token, agreements, subscriptions, reports });
//   agreements:    [{ agreementNumber, esiid, status: 'PEN'|'ACT'|'COM'|'NACOM'|<other text>, email? }]
//   subscriptions: [{ subscriptionNumber, esiid?, agreementNumber?, serviceType, status? }]
//   reports:       { <correlationId>: { status, statusCode, statusReason, ... } }
//   smt.url, smt.calls ([{path, body, authorized}]), smt.callsTo(path)
//   smt.options.shape  'wrapped' | 'list' | 'deep' (layout of the agreement list)
//   smt.options.fault  { mode: 'refuse'|'nonjson'|'slow'|'reset'|'huge'|'http500'|'hang'|'trickle'|'endless',
//                        path?, delayMs?, times? }
//   smt.options.delayMs  added to every answer (to make runs overlap)
//   await smt.pause() / smt.resume()   no server at all, then back on the same port
//   await smt.close()
//
// Standalone, for `make run` trials:  node tests/fakes/smt_proxy.mjs --port 9000 [--token T]
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const MAX_BODY = 1 << 20;
export const CODES = ['PEN', 'ACT', 'COM', 'NACOM'];
// SMT's words for each code; every one is in the normalisation table.
export const TEXTS = {
  PEN: ['Pending', 'PENDING'],
  ACT: ['Active', 'ACTIVE'],
  COM: ['Completed', 'Terminated', 'Non Active', 'Inactive'],
  NACOM: ['Not Accepted', 'Declined'],
};
// What the code or text normalises to (SPEC §3).
export const NORMALIZED = { PEN: 'PENDING', ACT: 'ACTIVE', COM: 'EXPIRED', NACOM: 'DECLINED' };

const textOf = (a) => (TEXTS[a.status] ? TEXTS[a.status][a.agreementNumber % TEXTS[a.status].length] : a.status);
const codeOf = (a) => (TEXTS[a.status] ? a.status : undefined);

// One agreement as SMT writes it; the style rotates with the number.
export function renderAgreement(a) {
  const n = a.agreementNumber;
  switch (n % 4) {
    case 0: // camelCase, code and text side by side
      return { agreementNumber: n, ESIID: a.esiid, status: textOf(a), statusReason: codeOf(a) ?? 'UNK',
        agreementDate: '2025-10-01', retailCustomerEmail: a.email ?? null };
    case 1: // PascalCase, number as a string, text only, ESIIDs in a nested list
      return { AgreementNumber: String(n), AgreementStatus: textOf(a),
        AgreementESIIDs: [{ esiId: a.esiid, meterNumber: `M${n}`, premise: { city: 'DALLAS' } }] };
    case 2: // upper case key, the code as status, ESIID two levels down
      return { AGREEMENTNUMBER: n, Status: codeOf(a) ?? textOf(a),
        details: { customer: { name: 'Customer', Esiid: `'${a.esiid}` }, duration: 12 } };
    default: // snake-ish text in status, code in statusReason, ESIID as a key in another case
      return { agreementNumber: n, esiid: a.esiid,
        status: textOf(a).toUpperCase().replace(/ /g, '_'), statusReason: codeOf(a) ?? 'UNK' };
  }
}

function agreementsJson(list, shape) {
  const records = list.map(renderAgreement);
  if (shape === 'list') return records;
  if (shape === 'deep') return { response: { header: { statusCode: '0000' }, data: { agreements: { agreement: records } } } };
  return { statusCode: '0000', statusReason: 'Success', AgreementList: records };
}

function renderSubscription(s, i) {
  const status = s.status ?? 'Active';
  switch (i % 3) {
    case 0:
      return { subscriptionNumber: s.subscriptionNumber, serviceType: s.serviceType, ESIID: s.esiid ?? null,
        agreementNumber: s.agreementNumber ?? null, status };
    case 1:
      return { SubscriptionNumber: String(s.subscriptionNumber), ServiceType: s.serviceType,
        AgreementNumber: s.agreementNumber ?? null, Status: status.toUpperCase(),
        ...(s.esiid ? { esiids: [s.esiid] } : {}) };
    default:
      return { subscriptionId: s.subscriptionNumber, serviceType: s.serviceType, subscriptionStatus: status,
        agreementNumber: s.agreementNumber ?? null, details: s.esiid ? { esiId: s.esiid } : {} };
  }
}

function send(res, code, obj, delay = 0) {
  const body = typeof obj === 'string' ? obj : JSON.stringify(obj);
  const type = typeof obj === 'string' ? 'text/html' : 'application/json';
  const go = () => {
    if (res.destroyed) return;
    res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  if (delay > 0) setTimeout(go, delay); else go();
}

export async function startSmtProxy({ token = 'smt-proxy-test-token', agreements = [], subscriptions = [],
  reports = {}, port = 0, host = '127.0.0.1' } = {}) {
  const proxy = {
    token, agreements, subscriptions, reports,
    calls: [],
    options: { shape: 'wrapped', fault: null, delayMs: 0 },
    callsTo(p) { return proxy.calls.filter((c) => c.path === p); },
  };
  const ok = (member, smt) => ({ ok: true, status: 200, [member]: smt });
  const refuse = (status, response) => ({ ok: false, status, error: 'smt_request_failed', response });

  function answer(path, body) {
    const find = (n) => proxy.agreements.find((a) => String(a.agreementNumber) === String(n));
    switch (path) {
      case '/smt/agreements/myagreements': {
        let list = proxy.agreements;
        if (body.agreementNumber != null) list = list.filter((a) => String(a.agreementNumber) === String(body.agreementNumber));
        if (body.statusReason) list = list.filter((a) => a.status === body.statusReason);
        return [200, ok('agreements', agreementsJson(list, proxy.options.shape))];
      }
      case '/smt/agreements/esiids': {
        const a = find(body.agreementNumber);
        if (!a) return [502, refuse(400, { errorCode: 'AGR0404', errorMessage: 'Agreement Number not found' })];
        const extra = proxy.agreements.filter((b) => b !== a && b.group != null && b.group === a.group);
        return [200, ok('agreementESIIDs', { AgreementNumber: String(a.agreementNumber),
          ESIIDs: [a, ...extra].map((x, i) => (i % 2 ? { esiId: x.esiid } : x.esiid)) })];
      }
      case '/smt/agreements/terminate': {
        const a = find(body.agreementNumber);
        if (!a) return [502, refuse(400, { errorCode: 'AGR0404', errorMessage: 'Agreement Number not found' })];
        if (a.email && String(body.retailCustomerEmail).toLowerCase() !== a.email.toLowerCase()) {
          return [502, refuse(400, { errorCode: 'AGR0409', errorMessage: 'Retail customer email does not match' })];
        }
        if (a.status === 'COM') return [502, refuse(400, { errorCode: 'AGR0410', errorMessage: 'Agreement already terminated' })];
        a.status = 'COM';
        return [200, ok('response', { statusCode: '0000', statusReason: 'Agreement terminated successfully',
          agreementNumber: a.agreementNumber })];
      }
      case '/smt/subscriptions/list':
        return [200, ok('subscriptions', { statusCode: '0000',
          subscriptions: { subscription: proxy.subscriptions.map(renderSubscription) } })];
      case '/smt/subscriptions/unsubscribe': {
        const s = proxy.subscriptions.find((x) => String(x.subscriptionNumber) === String(body.subscriptionNumber));
        if (!s) return [502, refuse(404, { errorCode: 'SUB0404', errorMessage: 'Subscription not found' })];
        if (s.status === 'Cancelled') return [502, refuse(400, { errorCode: 'SUB0410', errorMessage: 'Subscription already cancelled' })];
        s.status = 'Cancelled';
        return [200, ok('response', { statusCode: '0000', statusReason: 'Unsubscribed', subscriptionNumber: s.subscriptionNumber })];
      }
      case '/smt/report-status': {
        const r = proxy.reports[body.correlationId];
        if (!r) return [502, refuse(404, { errorCode: 'RPT0404', errorMessage: `No report for correlationId ${body.correlationId}` })];
        return [200, ok('reportStatus', { ReportStatusResponse: { correlationId: body.correlationId,
          serviceType: body.serviceType ?? r.serviceType ?? 'ADHOC', ...r } })];
      }
      default:
        return [404, { ok: false, error: 'not_found' }];
    }
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => { size += c.length; if (size <= MAX_BODY) chunks.push(c); });
    req.on('end', () => {
      const path = req.url.split('?')[0];
      const authorized = req.headers.authorization === `Bearer ${proxy.token}`;
      let body;
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'); } catch { body = undefined; }
      proxy.calls.push({ path, body, authorized, at: Date.now() });
      if (req.method !== 'POST') return send(res, 405, { ok: false, error: 'method_not_allowed' });
      if (!authorized) return send(res, 401, { ok: false, error: 'unauthorized' });
      if (body === undefined || typeof body !== 'object' || Array.isArray(body) || body === null) {
        return send(res, 400, { ok: false, error: 'invalid_json' });
      }
      const f = proxy.options.fault;
      if (f && (!f.path || f.path === path) && (f.times === undefined || f.times > 0)) {
        if (f.times !== undefined) f.times--;
        switch (f.mode) {
          case 'refuse': return send(res, 502, refuse(f.status ?? 500, f.response ?? { errorCode: 'SMT5000', errorMessage: 'SMT internal error' }));
          case 'nonjson': return send(res, 200, '<html><body>502 Bad Gateway (nginx)</body></html>');
          case 'http500': return send(res, 500, 'Internal Server Error');
          case 'reset': return req.socket.destroy();
          case 'huge': return send(res, 200, ok('agreements', { filler: 'x'.repeat(9 << 20) }));
          // Broken peers: accepts and never answers; answers one byte a
          // second; or a body that never ends (until the client hangs up).
          case 'hang': return undefined;
          case 'trickle': {
            res.writeHead(200, { 'content-type': 'application/json' });
            const t = setInterval(() => { if (res.destroyed) clearInterval(t); else res.write(' '); }, 1000);
            res.on('close', () => clearInterval(t));
            return res.write('{');
          }
          case 'endless': {
            res.writeHead(200, { 'content-type': 'application/json' });
            const chunk = Buffer.alloc(64 << 10, 0x20);
            proxy.endlessBytes = 1;
            const pump = () => {
              while (!res.destroyed) {
                proxy.endlessBytes += chunk.length;
                if (!res.write(chunk)) return res.once('drain', pump);
              }
              return undefined;
            };
            res.write('{');
            return pump();
          }
          case 'slow': {
            const [code, obj] = answer(path, body);
            return send(res, code, obj, f.delayMs ?? 5000);
          }
          default: break;
        }
      }
      const [code, obj] = answer(path, body);
      send(res, code, obj, proxy.options.delayMs);
    });
  });
  server.keepAliveTimeout = 2000;
  const listen = (p) => new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, host, () => { server.off('error', reject); resolve(); });
  });
  await listen(port);
  proxy.port = server.address().port;
  proxy.url = `http://${host}:${proxy.port}`;
  proxy.pause = () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
  proxy.resume = () => listen(proxy.port);
  proxy.close = () => new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
  return proxy;
}

// A small CSP book for operator trials (docs/smt.md lists it).
export function demoData() {
  return {
    agreements: [
      { agreementNumber: 1001, esiid: '10443720001234567', status: 'ACT', email: 'customer@example.com' },
      { agreementNumber: 1002, esiid: '10443720007654321', status: 'PEN', email: 'pending@example.com' },
      { agreementNumber: 1003, esiid: '10089010001112223', status: 'COM' },
      { agreementNumber: 1004, esiid: '10089010004445556', status: 'NACOM' },
    ],
    subscriptions: [
      { subscriptionNumber: 5001, esiid: '10443720001234567', serviceType: 'SUBSCRIPTION' },
      { subscriptionNumber: 5002, agreementNumber: 1002, serviceType: 'ADHOC' },
    ],
    reports: {
      'corr-demo-1': { status: 'COMPLETED', statusCode: '0000', statusReason: 'Report delivered to FTP' },
      'corr-demo-2': { status: 'IN_PROGRESS', statusCode: '0001', statusReason: 'Report is being generated' },
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const smt = await startSmtProxy({
    ...demoData(),
    port: Number(arg('--port', '9000')),
    token: arg('--token', process.env.SMT_PROXY_TOKEN || 'dev-smt-proxy-token'),
  });
  smt.options.delayMs = Number(arg('--delay-ms', '0'));
  console.log(`SMT proxy stand-in on ${smt.url} (token: ${smt.token}); Ctrl-C to stop`);
  const log = setInterval(() => {
    while (smt.calls.length) {
      const c = smt.calls.shift();
      console.log(`${new Date(c.at).toISOString()} ${c.path} ${c.authorized ? '' : '(unauthorized) '}${JSON.stringify(c.body)}`);
    }
  }, 200);
  process.on('SIGINT', async () => { clearInterval(log); await smt.close(); process.exit(0); });
  process.on('SIGTERM', async () => { clearInterval(log); await smt.close(); process.exit(0); });
}
