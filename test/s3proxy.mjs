// s3proxy.mjs - an HTTP proxy between the extension and a local S3 server
// (s3rver) for test/s3.test and bench/bench_s3.c: it injects faults, adds
// latency and records the requests as sent.
//
//   node s3proxy.mjs UPSTREAM_PORT [--faults RATE] [--latency MIN-MAX]
//                    [--seed N] [--capture FILE]
//
// Prints "proxy listening on PORT" once it listens on 127.0.0.1 (random
// port).  Faults, each chosen at random for a share RATE of requests:
//   500        a 500 InternalError answer (the request never reaches S3)
//   503        a 503 SlowDown answer
//   dropreq    the connection closed while the request body arrives
//   dropresp   the request done by S3, the connection closed after the
//              response headers and part of the body (outcome unknown)
//   truncate   the request done, the body cut short (Content-Length kept)
// --latency adds MIN..MAX ms before each request is forwarded.
// --suffix-ranges answers "Range: bytes=-N" as S3 and R2 do (s3rver
// answers it with the first bytes instead): the proxy asks the size with
// a HEAD (on loopback, no added latency) and forwards an explicit range;
// the server must then accept any well-formed signature
// (s3rver --allow-mismatched-signatures), as the Range header changed.
// Control (not forwarded): GET /__proxy/stats (counts as JSON),
// GET /__proxy/set?faults=R&latency=A-B, GET /__proxy/down?ms=N (every
// connection dropped at once for N ms: a store down for a while).
// --capture writes one JSON line per request: method, url, headers as
// received, sha256 of the body.
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';

const args = process.argv.slice(2);
const upstreamPort = Number(args[0]);
let faultRate = 0;
let latMin = 0, latMax = 0;
let seed = 1;
let capture = null;
let suffixRanges = false;
for (let i = 1; i < args.length; i++) {
  if (args[i] === '--faults') faultRate = Number(args[++i]);
  else if (args[i] === '--latency') [latMin, latMax] = args[++i].split('-').map(Number);
  else if (args[i] === '--seed') seed = Number(args[++i]);
  else if (args[i] === '--capture') capture = fs.openSync(args[++i], 'a');
  else if (args[i] === '--suffix-ranges') suffixRanges = true;
}

// A small deterministic generator (mulberry32), so a failing run can be
// repeated with its seed.
function rand() {
  seed = (seed + 0x6D2B79F5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const kinds = ['500', '503', 'dropreq', 'dropresp', 'truncate'];
const stats = { requests: 0, forwarded: 0, down: 0 };
for (const k of kinds) stats[k] = 0;
let downUntil = 0;

function xmlError(res, status, code, msg) {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${msg}</Message></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const url = req.url;
  if (url.startsWith('/__proxy/')) {
    const u = new URL(url, 'http://x');
    if (u.pathname === '/__proxy/set') {
      downUntil = 0;
      if (u.searchParams.has('faults')) faultRate = Number(u.searchParams.get('faults'));
      if (u.searchParams.has('latency')) [latMin, latMax] = u.searchParams.get('latency').split('-').map(Number);
    } else if (u.pathname === '/__proxy/down') {
      downUntil = Date.now() + Number(u.searchParams.get('ms'));
    }
    const body = JSON.stringify(stats);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  stats.requests++;
  if (Date.now() < downUntil) {
    stats.down++;
    req.socket.destroy();
    return;
  }
  const fault = rand() < faultRate ? kinds[Math.floor(rand() * kinds.length)] : null;
  const delay = latMax > 0 ? latMin + rand() * (latMax - latMin) : 0;
  const chunks = [];
  let seen = 0;
  req.on('data', (c) => {
    seen += c.length;
    chunks.push(c);
    if (fault === 'dropreq' && seen > 0) {
      stats.dropreq++;
      req.socket.destroy();
    }
  });
  req.on('end', () => {
    if (req.socket.destroyed) return;
    const body = Buffer.concat(chunks);
    if (capture !== null) {
      fs.writeSync(capture, JSON.stringify({
        method: req.method, url, headers: req.headers,
        body_sha256: crypto.createHash('sha256').update(body).digest('hex'),
      }) + '\n');
    }
    if (fault === 'dropreq') {            // no body: drop before forwarding
      stats.dropreq++;
      req.socket.destroy();
      return;
    }
    if (fault === '500') { stats['500']++; xmlError(res, 500, 'InternalError', 'injected'); return; }
    if (fault === '503') { stats['503']++; xmlError(res, 503, 'SlowDown', 'Please reduce your request rate.'); return; }
    const m = /^bytes=-(\d+)$/.exec(req.headers['range'] || '');
    if (suffixRanges && m) {
      const headers = { ...req.headers };
      delete headers['range'];
      const head = http.request({ host: '127.0.0.1', port: upstreamPort, method: 'HEAD', path: req.url, headers }, (hr) => {
        hr.resume();
        const size = Number(hr.headers['content-length']);
        if (hr.statusCode === 200 && size > 0) {
          req.headers['range'] = `bytes=${Math.max(0, size - Number(m[1]))}-${size - 1}`;
        }
        setTimeout(() => forward(req, res, body, fault), delay);
      });
      head.on('error', () => req.socket.destroy());
      head.end();
      return;
    }
    setTimeout(() => forward(req, res, body, fault), delay);
  });
});

function forward(req, res, body, fault) {
  stats.forwarded++;
  const up = http.request({
    host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url,
    headers: req.headers,
  }, (ur) => {
    const parts = [];
    ur.on('data', (c) => parts.push(c));
    ur.on('end', () => {
      const data = Buffer.concat(parts);
      const headers = { ...ur.headers };
      if (fault === 'dropresp') {
        stats.dropresp++;
        res.writeHead(ur.statusCode, headers);
        res.write(data.subarray(0, data.length >> 1));
        setTimeout(() => req.socket.destroy(), 5);
        return;
      }
      if (fault === 'truncate' && data.length > 1) {
        stats.truncate++;
        headers['content-length'] = String(data.length);
        res.writeHead(ur.statusCode, headers);
        res.write(data.subarray(0, data.length - 1 - Math.floor(rand() * (data.length >> 1))));
        setTimeout(() => req.socket.destroy(), 5);
        return;
      }
      res.writeHead(ur.statusCode, headers);
      res.end(data);
    });
  });
  up.on('error', () => req.socket.destroy());
  up.end(body);
}

server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => {
  console.log(`proxy listening on ${server.address().port}`);
});
