// Stand-in for the droplet's SMT webhook (DROPLET_WEBHOOK_URL): a loopback
// HTTP server that records every POST (path, headers, JSON body) and answers
// with a configurable status and JSON reply.
//
//   const hook = await startWebhook({ status: 202, reply: { ok: true, queued: 1 } });
//   hook.url, hook.requests, hook.respond(status, reply), await hook.close();
//
// Standalone: node tests/fakes/webhook.mjs --port 9100
import http from 'node:http';
import { fileURLToPath } from 'node:url';

export async function startWebhook({ port = 0, status = 200, reply = { ok: true, queued: true } } = {}) {
  const requests = [];
  let answer = { status, reply };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      let json;
      try { json = JSON.parse(text); } catch { json = undefined; }
      requests.push({ method: req.method, path: req.url, headers: req.headers, text, json });
      const body = typeof answer.reply === 'string' ? answer.reply : JSON.stringify(answer.reply);
      res.writeHead(answer.status, { 'content-type': typeof answer.reply === 'string' ? 'text/plain' : 'application/json' });
      res.end(body);
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const addr = server.address();
  return {
    url: `http://127.0.0.1:${addr.port}/trigger/smt-now`,
    port: addr.port,
    requests,
    respond(s, r) { answer = { status: s, reply: r }; },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const hook = await startWebhook({ port: i > 0 ? Number(process.argv[i + 1]) : 0 });
  console.log(`webhook stand-in on ${hook.url}`);
  setInterval(() => {}, 1 << 30);
}
