// A minimal FastCGI client (responder role, one request per connection), to
// talk to a route program's TCP listener without nginx: the multi-host test
// uses it to show which peers a program accepts.
//
//   const r = await fcgiRequest({ host, port, localAddress, params: { REQUEST_METHOD: 'GET', ... } });
//   r.answered: an END_REQUEST record came back; r.stdout: the CGI answer (headers + body)
//
// As a command (run inside a network namespace with `ip netns exec`):
//   node tests/lib/fcgi_client.mjs HOST PORT URI   prints the result as JSON
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const BEGIN_REQUEST = 1, END_REQUEST = 3, PARAMS = 4, STDIN = 5, STDOUT = 6;

function record(type, content = Buffer.alloc(0)) {
  const h = Buffer.alloc(8);
  h[0] = 1; h[1] = type; h.writeUInt16BE(1, 2); h.writeUInt16BE(content.length, 4);
  return Buffer.concat([h, content]);
}

function length(n) {
  if (n < 128) return Buffer.from([n]);
  const b = Buffer.alloc(4); b.writeUInt32BE((n | 0x80000000) >>> 0); return b;
}

function encodeParams(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params)) {
    const kb = Buffer.from(k), vb = Buffer.from(String(v));
    parts.push(length(kb.length), length(vb.length), kb, vb);
  }
  return Buffer.concat(parts);
}

export function fcgiRequest({ host, port, localAddress, params, body = '', timeoutMs = 3000 }) {
  return new Promise((resolve) => {
    const out = { connected: false, answered: false, stdout: '', error: null };
    const chunks = [];
    let buf = Buffer.alloc(0);
    const sock = net.connect({ host, port, localAddress });
    const done = () => { out.stdout = Buffer.concat(chunks).toString(); sock.destroy(); resolve(out); };
    sock.setTimeout(timeoutMs, () => { out.error = 'timeout'; done(); });
    sock.on('error', (e) => { out.error = e.code || e.message; done(); });
    sock.on('close', done);
    sock.on('connect', () => {
      out.connected = true;
      const begin = Buffer.from([0, 1, 0, 0, 0, 0, 0, 0]); // role responder, close after
      const p = encodeParams(params);
      const b = Buffer.from(body);
      sock.write(Buffer.concat([record(BEGIN_REQUEST, begin), record(PARAMS, p), record(PARAMS),
        ...(b.length ? [record(STDIN, b)] : []), record(STDIN)]));
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 8) {
        const len = buf.readUInt16BE(4), pad = buf[6];
        if (buf.length < 8 + len + pad) break;
        const type = buf[1], content = buf.subarray(8, 8 + len);
        buf = buf.subarray(8 + len + pad);
        if (type === STDOUT) chunks.push(content);
        if (type === END_REQUEST) { out.answered = true; done(); return; }
      }
    });
  });
}

// The parameters nginx would send for GET URI.
export function getParams(uri, extra = {}) {
  const [path, query = ''] = uri.split('?');
  return { REQUEST_METHOD: 'GET', SCRIPT_NAME: path, REQUEST_URI: uri, DOCUMENT_URI: path,
    QUERY_STRING: query, SERVER_PROTOCOL: 'HTTP/1.1', REMOTE_ADDR: '127.0.0.1', CONTENT_LENGTH: '', ...extra };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [host, port, uri = '/healthz'] = process.argv.slice(2);
  const r = await fcgiRequest({ host, port: Number(port), params: getParams(uri) });
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
