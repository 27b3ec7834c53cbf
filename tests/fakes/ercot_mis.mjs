// Stand-in for ERCOT's public MIS (SPEC §6 method 3) over a real loopback
// socket: the report-type document list JSON
// (/misapp/servlets/IceDocListJsonWS?reportTypeId=203, ListDocsByRptTypeRes
// as ERCOT serves it), downloads by DocID (/misdownload/servlets/mirDownload
// ?doclookupId=), and a data-product HTML page (/mp/data-products/...) whose
// links point at the same files (relative .zip hrefs and mirDownload links).
//
//   const mis = await startErcotMis({ docs: [{ docId, friendlyName, constructedName,
//                                            publishDate, body }] });
//   mis.base, mis.pageUrl, mis.requests, mis.options (listingStatus, pageStatus,
//   delayMs, failDownload: Set of DocIDs, bytesPerSec: a slow download sent in
//   16 KiB pieces at that rate; fault: { listing | download: 'hang' (accept,
//   never answer), 'trickle' (200, then a byte a second), 'huge' (200 with a
//   Content-Length of hugeBytes, default 10 GiB, streamed from one reused
//   64 KiB chunk, never held) }), mis.faultBytes (bytes a 'huge' reply got
//   out), mis.docs (mutable), await mis.close()
import http from 'node:http';

export async function startErcotMis({ docs = [], reportTypeId = '203' } = {}) {
  const requests = [];
  const options = { listingStatus: 200, pageStatus: 200, delayMs: 0, failDownload: new Set(), fault: {} };
  const counters = { faultBytes: 0 };
  const timers = new Set();
  // A broken peer: never answers, trickles, or sends a body too big to hold.
  const misbehave = (mode, res, type) => {
    if (mode === 'hang') return;
    if (mode === 'trickle') {
      res.writeHead(200, { 'content-type': type });
      const t = setInterval(() => { if (res.destroyed) clearInterval(t); else res.write(' '); }, 1000);
      timers.add(t);
      res.on('close', () => { clearInterval(t); timers.delete(t); });
      return;
    }
    const total = options.hugeBytes || 10 * 1024 ** 3;
    const chunk = Buffer.alloc(64 * 1024, 0x50);
    res.writeHead(200, { 'content-type': type, 'content-length': total });
    let sent = 0;
    const pump = () => {
      while (!res.destroyed && sent < total) {
        const piece = total - sent < chunk.length ? chunk.subarray(0, total - sent) : chunk;
        sent += piece.length;
        counters.faultBytes += piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    pump();
  };
  const state = { docs: [...docs] };
  const byId = (id) => state.docs.find((d) => String(d.docId) === String(id));
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    requests.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams) });
    const send = (status, type, body) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (url.pathname === '/misapp/servlets/IceDocListJsonWS') {
      if (options.fault.listing) return misbehave(options.fault.listing, res, 'application/json');
      if (options.listingStatus !== 200) return send(options.listingStatus, 'text/html', '<html>maintenance</html>');
      if (url.searchParams.get('reportTypeId') !== reportTypeId) return send(200, 'application/json', '{"ListDocsByRptTypeRes":{"DocumentList":[]}}');
      const list = state.docs.map((d) => ({
        Document: {
          ExpiredDate: '2026-12-31T23:59:59-06:00', ILMStatus: 'EXT', SecurityStatus: 'P',
          ContentSize: String(d.body.length), Extension: 'zip', ReportTypeID: reportTypeId, Prefix: 'ext',
          FriendlyName: d.friendlyName, ConstructedName: d.constructedName, DocID: String(d.docId),
          PublishDate: d.publishDate, ReportName: 'TDSP ESI ID EXTRACT', DUNS: '0000000000000000', DocCount: '0',
        },
      }));
      return send(200, 'application/json', JSON.stringify({ ListDocsByRptTypeRes: { DocumentList: list } }));
    }
    let doc;
    if (url.pathname === '/misdownload/servlets/mirDownload') doc = byId(url.searchParams.get('doclookupId'));
    else if (url.pathname.startsWith('/files/')) doc = state.docs.find((d) => `/files/${d.constructedName}` === url.pathname);
    if (url.pathname === '/misdownload/servlets/mirDownload' || url.pathname.startsWith('/files/')) {
      if (!doc) return send(404, 'text/plain', 'no such document');
      if (options.failDownload.has(String(doc.docId))) return send(500, 'text/plain', 'download broke');
      if (options.fault.download) return misbehave(options.fault.download, res, 'application/zip');
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      res.writeHead(200, {
        'content-type': 'application/zip', 'content-length': doc.body.length,
        'content-disposition': `attachment; filename="${doc.constructedName}"`,
      });
      if (!options.bytesPerSec) return res.end(doc.body);
      const piece = 16 * 1024;
      for (let at = 0; at < doc.body.length && !res.destroyed; at += piece) {
        res.write(doc.body.subarray(at, at + piece));
        await new Promise((r) => setTimeout(r, (piece * 1000) / options.bytesPerSec));
      }
      return res.end();
    }
    if (url.pathname === '/mp/data-products/data-product-details') {
      if (options.pageStatus !== 200) return send(options.pageStatus, 'text/html', '<html>down</html>');
      // Half the links relative .zip files, half mirDownload links named by their text.
      const rows = state.docs.map((d, i) => (i % 2
        ? `<tr><td><a class="doc" href="/misdownload/servlets/mirDownload?doclookupId=${d.docId}&amp;x=1">${d.constructedName}</a></td><td>${d.publishDate}</td></tr>`
        : `<tr><td><a href='../../files/${d.constructedName}'><span>${d.friendlyName}</span></a></td></tr>`)).join('\n');
      const page = `<!doctype html><html><head><title>TDSP ESIID Extract</title></head><body>
<nav><a href="/about">About</a> <abbr title="x">TDSP</abbr></nav>
<table>${rows}</table><a href="/docs/layout.pdf">Layout</a></body></html>`;
      return send(200, 'text/html; charset=utf-8', page);
    }
    send(404, 'text/plain', 'not found');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base, pageUrl: `${base}/mp/data-products/data-product-details?id=ZP15-612`, requests, options,
    get docs() { return state.docs; }, set docs(v) { state.docs = [...v]; },
    get faultBytes() { return counters.faultBytes; },
    close: () => new Promise((r) => {
      for (const t of timers) clearInterval(t);
      server.closeAllConnections?.();
      server.close(r);
    }),
  };
}
