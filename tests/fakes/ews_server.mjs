// Stand-in for ERCOT EWS (Nodal Web Services): HTTPS with a required client
// certificate signed by the given CA, SOAP 1.1 MarketInfo "get Reports" at
// the EWS path, WS-Security signatures checked by an independent
// implementation (Debian's xmlsec1), and report downloads over the same mTLS.
//
//   const ews = await startEws({ caCert, serverCert, serverKey, reports });
//   reports: [{ fileName, created, size?, body: Buffer, group? }]
//   ews.url            https://127.0.0.1:PORT
//   ews.requests       one record per SOAP POST (see handleSoap)
//   ews.downloads      paths served
//   ews.options        mutable: tamper, compressed, exotic, replyCode, replyError
//   await ews.close()
import https from 'node:https';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';

export const EWS_PATH = '/2007-08/Nodal/eEDS/EWS/';
const NS_SOAP = 'http://schemas.xmlsoap.org/soap/envelope/';
const NS_WSU = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const NS_MSG = 'http://www.ercot.com/schema/2007-06/nodal/ews/message';
const NS_EWS = 'http://www.ercot.com/schema/2007-06/nodal/ews';
const MAX_BODY = 1 << 20;

const xmlEscape = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function fault(res, text) {
  res.writeHead(500, { 'content-type': 'text/xml; charset=utf-8' });
  res.end(`<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="${NS_SOAP}"><soapenv:Body>` +
    `<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>${xmlEscape(text)}</faultstring>` +
    `</soapenv:Fault></soapenv:Body></soapenv:Envelope>`);
}

function runXmlsec(file, certFile) {
  // Body is a SOAP 1.1 element, Timestamp a wsu one; both carry wsu:Id.
  const args = ['--verify', '--id-attr:Id', `${NS_SOAP}:Body`, '--id-attr:Id', `${NS_WSU}:Timestamp`,
    '--pubkey-cert-pem', certFile, file];
  return new Promise((resolve) => {
    execFile('xmlsec1', args, { timeout: 10000 }, (err, stdout, stderr) => {
      resolve({ ok: !err, output: `${stdout}${stderr}` });
    });
  });
}

// Character references for every '.' and '_' (legal XML a parser must decode).
const charRefs = (s) => xmlEscape(s).replace(/\./g, '&#46;').replace(/_/g, '&#x5F;');

function reportsXml(ews) {
  // options.exotic: comments, CDATA and character references, all valid XML.
  const ex = ews.options.exotic;
  return `<ns1:Reports xmlns:ns1="${NS_EWS}">` + ews.reports.map((r, i) =>
    (ex ? '<!-- <ns1:Report><ns1:URL>https://bogus/</ns1:URL></ns1:Report> -->' : '') +
    `<ns1:Report><ns1:ReportGroup>${xmlEscape(r.group ?? 'TDSP_ESIID_Extract')}</ns1:ReportGroup>` +
    `<ns1:fileName>${ex ? charRefs(r.fileName) : xmlEscape(r.fileName)}</ns1:fileName>` +
    (ex ? `<ns1:created>\n  <![CDATA[${r.created}]]>\n</ns1:created>`
      : `<ns1:created>${xmlEscape(r.created)}</ns1:created>`) +
    `<ns1:size>${r.size ?? r.body.length}</ns1:size>` +
    `<ns1:URL>${xmlEscape(downloadUrl(ews, r, i))}</ns1:URL></ns1:Report>`).join('') +
    '</ns1:Reports>';
}

// Like ERCOT's mirDownload links, the query has an '&' that the XML escapes.
function downloadUrl(ews, r, i) {
  return `${ews.url}/download/${encodeURIComponent(r.fileName)}?doclookupId=${1000 + i}&kind=zip`;
}

function reply(ews, res) {
  const o = ews.options;
  const payload = o.compressed
    ? `<ns0:Compressed>${zlib.gzipSync(Buffer.from(reportsXml(ews))).toString('base64')}</ns0:Compressed>`
    : reportsXml(ews);
  const code = o.replyCode ?? 'OK';
  const error = o.replyError ? `<ns0:Error>${xmlEscape(o.replyError)}</ns0:Error>` : '';
  res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="${NS_SOAP}">` +
    `<soapenv:Body><ns0:ResponseMessage xmlns:ns0="${NS_MSG}"><ns0:Header><ns0:Verb>reply</ns0:Verb>` +
    `<ns0:Noun>Reports</ns0:Noun><ns0:Source>ERCOT</ns0:Source></ns0:Header>` +
    `<ns0:Reply><ns0:ReplyCode>${code}</ns0:ReplyCode>${error}</ns0:Reply>` +
    `<ns0:Payload>${code === 'OK' ? payload : ''}</ns0:Payload></ns0:ResponseMessage>` +
    `</soapenv:Body></soapenv:Envelope>\n`);
}

async function handleSoap(ews, req, res, xml) {
  const peer = req.socket.getPeerCertificate();
  const record = {
    soapAction: req.headers.soapaction ?? null,
    contentType: req.headers['content-type'] ?? null,
    xml,
    peerCN: peer?.subject?.CN ?? null,
    option: /<Option>([^<]*)<\/Option>/.exec(xml)?.[1] ?? null,
    source: /<Source>([^<]*)<\/Source>/.exec(xml)?.[1] ?? null,
    userId: /<UserID>([^<]*)<\/UserID>/.exec(xml)?.[1] ?? null,
    certMatches: false,
    bodySigned: false,
    verified: false,
    verifyOutput: '',
  };
  ews.requests.push(record);

  // The signing certificate must be the TLS client certificate.
  const bst = /<wsse:BinarySecurityToken\b[^>]*>([^<]+)<\/wsse:BinarySecurityToken>/.exec(xml)?.[1];
  record.certMatches = !!bst && !!peer?.raw && Buffer.from(bst, 'base64').equals(peer.raw);
  // The Body must be one of the signed references.
  const bodyId = /<(?:\w+:)?Body\b[^>]*\bwsu:Id="([^"]+)"/.exec(xml)?.[1];
  record.bodySigned = !!bodyId && xml.includes(`<ds:Reference URI="#${bodyId}">`);

  let checked = xml;
  if (ews.options.tamper) checked = xml.replace(/<Option>(\d)/, (_, d) => `<Option>${(+d + 1) % 10}`);
  const file = path.join(ews.dir, `req-${ews.requests.length}.xml`);
  const certFile = path.join(ews.dir, `peer-${ews.requests.length}.pem`);
  fs.writeFileSync(file, checked);
  fs.writeFileSync(certFile, peer?.raw ? new X509Certificate(peer.raw).toString() : '');
  const v = await runXmlsec(file, certFile);
  record.verified = v.ok;
  record.verifyOutput = v.output;

  if (!record.certMatches) return fault(res, 'Signing certificate does not match the TLS client certificate');
  if (!record.bodySigned) return fault(res, 'SOAP Body is not signed');
  if (!record.verified) return fault(res, 'Signature verification failed');
  if (!/MarketInfo/.test(record.soapAction ?? '')) return fault(res, 'Unknown SOAPAction');
  return reply(ews, res);
}

export async function startEws({ caCert, serverCert, serverKey, reports = [], options = {} }) {
  const ews = {
    url: '',
    reports,
    options: { tamper: false, compressed: false, ...options },
    requests: [],
    downloads: [],
    dir: fs.mkdtempSync(path.join(os.tmpdir(), 'ews-fake-')),
  };
  const server = https.createServer({
    ca: caCert, cert: serverCert, key: serverKey, requestCert: true, rejectUnauthorized: true,
  }, (req, res) => {
    const url = new URL(req.url, 'https://127.0.0.1');
    if (req.method === 'POST' && url.pathname === EWS_PATH) {
      const chunks = [];
      let size = 0;
      req.on('data', (c) => {
        size += c.length;
        if (size > MAX_BODY) req.destroy();
        else chunks.push(c);
      });
      req.on('end', () => {
        handleSoap(ews, req, res, Buffer.concat(chunks).toString('utf8'))
          .catch((e) => fault(res, `stand-in error: ${e.message}`));
      });
      return;
    }
    const m = /^\/download\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && m) {
      const name = decodeURIComponent(m[1]);
      const r = ews.reports.find((x) => x.fileName === name);
      ews.downloads.push(req.url);
      if (!r) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('no such report');
      }
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': r.body.length });
      return res.end(r.body);
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  server.on('tlsClientError', () => {}); // refused client certificates are expected in tests
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  ews.url = `https://127.0.0.1:${server.address().port}`;
  ews.close = () => new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => {
      fs.rmSync(ews.dir, { recursive: true, force: true });
      resolve();
    });
  });
  return ews;
}
