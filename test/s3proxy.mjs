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
//   429        a 429 TooManyRequests answer (R2's rate limit)
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
// Control (not forwarded): GET /__proxy/stats (counts as JSON, with the
// TCP connections accepted, and "upstream": the requests forwarded to S3
// whose answer has not ended yet, even if their client has gone),
// GET /__proxy/set?faults=R&latency=A-B, GET /__proxy/down?ms=N (every
// connection dropped at once for N ms: a store down for a while).
// --capture writes one JSON line per request: method, url, headers as
// received, sha256 of the body.
// --timing FILE writes one JSON line per request when its response is
// done: method, url, range, t0 (the request began to arrive) and t1 (the
// response finished or the connection closed), in ms since the proxy
// started: which requests overlapped (bench/bench_s3.c --timing).
//
// --data DIR (s3rver's directory) makes the proxy a small test S3 endpoint
// for what s3rver lacks, following the published S3 API contract:
//   ListMultipartUploads  GET /bucket?uploads[&prefix=&key-marker=
//                         &upload-id-marker=&max-uploads=]: the uploads
//                         s3rver keeps in DIR/bucket/._S3rver_uploads/ID/,
//                         sorted by key then upload id, paginated
//                         (--page N: at most N per page, default 1000);
//   AbortMultipartUpload  DELETE /bucket/key?uploadId=ID: the upload's
//                         directory removed, 204; 404 NoSuchUpload if it is
//                         not an upload of that key;
//   If-None-Match: *      on PutObject and CompleteMultipartUpload: 412
//                         PreconditionFailed if the object exists (s3rver
//                         ignores the header);
//   If-Match: ETAG        on GET and HEAD of an object: 412
//                         PreconditionFailed if that is not the object's
//                         ETag (the one s3rver answers, or the one a
//                         badetag fault gave it), as S3 does (s3rver
//                         ignores the header).
// Signatures of the requests it answers itself are not checked (s3rver
// checks the others; test/s3_sigcheck.py checks captured ones).  The
// bucket comes from the path, or from the Host header with virtual-host
// addressing (bucket.s3.localhost).
// Knobs for deterministic cases (GET /__proxy/set?...):
//   hidehead=N     the next N HEADs of existing objects answer 404 (the
//                  object appears just after the client looked: a racing
//                  writer);
//   dropput=N      the next N PUT/POST requests that reach S3 are done by
//                  it, then the connection is dropped before the response
//                  (outcome unknown to the client);
//   failput=K      the K-th PUT/POST request from now (1: the next) is
//                  answered 500 InternalError without reaching S3;
//   failputkey=S   the next PUT/POST request whose path contains S is so
//                  answered (not the K-th: uploads overlap, so which PUT
//                  ends first is not fixed);
//   badetag=N      the next N PUTs (PutObject, UploadPart) done by S3 are
//                  answered with a wrong ETag (an MD5 that is not the
//                  bytes'); the key of a PutObject so answered keeps
//                  answering HEADs and GETs with that wrong ETag until it
//                  is PUT again without the fault (the service appears to
//                  hold other bytes than were sent);
//   cutbody=N      the next N GETs of a range from byte 0 ("bytes=0-M": what
//                  precedes a file's tail, fetched while the reader decodes
//                  it) are answered with their headers and half the body,
//                  then the connection is dropped;
//   truncbody=N    the same, the body cut short instead (Content-Length
//                  kept, then the connection closed);
//   cutwhole=N     the next N GETs of all of an object ("bytes=0-M", M its
//                  last byte: a later file fetched ahead in one request)
//                  are answered with their headers and half the body,
//                  then the connection is dropped;
//   stalewhole=N   the next N such GETs are answered as another version
//                  of the object would be (another ETag, each byte of the
//                  body XOR 0x5a), cut after half the body likewise;
//   staleblock=N   the next N GETs of a range that does not reach the
//                  object's last byte (a block an open file reads, or
//                  what precedes its tail) are answered whole as another
//                  version of the object would be (another ETag, each
//                  byte of the body XOR 0x5a): the object replaced after
//                  its footer was read, by a service that ignores If-Match
//                  (with ignoreifmatch=1; else If-Match answers 412 first);
//   ignorerange=N  the next N GETs If-Match of a range not from byte 0
//                  (the blocks an open file reads; an open's tail is asked
//                  before the ETag is known) are sent to S3 without their
//                  Range header: a 200 with the whole object (a service
//                  that ignores Range);
//   ignoreifmatch=1  If-Match not checked (as s3rver), until set to 0;
//   tailshift=N    the next N GETs of a range that ends at the object's
//                  end and does not start at 0 (an open's tail: the
//                  footer) get a range 1000 bytes shorter than asked (the
//                  server's answer to "bytes=(A+1000)-B"): a well-formed
//                  206 of the wrong size.
// Stats: "getbytes" counts the body bytes of GET answers sent to clients,
// "wholegets" the GETs of all of an object (from byte 0 to its last),
// "ifmatch" the If-Match GETs and HEADs answered 412;
// "maxbodies" the most GETs of a range from byte 0 under way at once and
// "maxtail" the longest tail answered (a GET of a range that ends at the
// object's end and does not start at 0: an open's footer), both reset by
// set?maxbodies=0 / set?maxtail=0.
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const upstreamPort = Number(args[0]);
let faultRate = 0;
let latMin = 0, latMax = 0;
let seed = 1;
let capture = null;
let timing = null;
const tStart = performance.now();
let suffixRanges = false;
let dataDir = null;
let pageSize = 1000;
let hideHead = 0;
let dropPut = 0;
let failPut = 0;
let failPutKey = '';
let badEtag = 0;
let cutBody = 0;
let truncBody = 0;
let tailShift = 0;
let throttle = 0;
let bodyEtag = 0;
let cutWhole = 0;
let staleWhole = 0;
let staleBlock = 0;
let ignoreRange = 0;
let ignoreIfMatch = false;
let bodies = 0;
const liedKeys = new Map();      // request path -> the wrong ETag given
for (let i = 1; i < args.length; i++) {
  if (args[i] === '--faults') faultRate = Number(args[++i]);
  else if (args[i] === '--latency') [latMin, latMax] = args[++i].split('-').map(Number);
  else if (args[i] === '--seed') seed = Number(args[++i]);
  else if (args[i] === '--capture') capture = fs.openSync(args[++i], 'a');
  else if (args[i] === '--timing') timing = fs.openSync(args[++i], 'a');
  else if (args[i] === '--suffix-ranges') suffixRanges = true;
  else if (args[i] === '--data') dataDir = args[++i];
  else if (args[i] === '--page') pageSize = Number(args[++i]);
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

const kinds = ['500', '503', 'dropreq', 'dropresp', 'truncate', '429'];
const stats = { requests: 0, connections: 0, forwarded: 0, upstream: 0, down: 0, listuploads: 0,
                abort: 0, precondition: 0, hidehead: 0, dropput: 0,
                failput: 0, badetag: 0, cutbody: 0, truncbody: 0,
                tailshift: 0, getbytes: 0, maxbodies: 0, maxtail: 0, bodyetag: 0,
                wholegets: 0, cutwhole: 0, stalewhole: 0, ifmatch: 0,
                staleblock: 0, ignorerange: 0 };
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
      if (u.searchParams.has('hidehead')) hideHead = Number(u.searchParams.get('hidehead'));
      if (u.searchParams.has('dropput')) dropPut = Number(u.searchParams.get('dropput'));
      if (u.searchParams.has('failput')) failPut = Number(u.searchParams.get('failput'));
      if (u.searchParams.has('failputkey')) failPutKey = u.searchParams.get('failputkey');
      if (u.searchParams.has('badetag')) badEtag = Number(u.searchParams.get('badetag'));
      if (u.searchParams.has('cutbody')) cutBody = Number(u.searchParams.get('cutbody'));
      if (u.searchParams.has('truncbody')) truncBody = Number(u.searchParams.get('truncbody'));
      if (u.searchParams.has('tailshift')) tailShift = Number(u.searchParams.get('tailshift'));
      if (u.searchParams.has('throttle')) throttle = Number(u.searchParams.get('throttle'));
      if (u.searchParams.has('bodyetag')) bodyEtag = Number(u.searchParams.get('bodyetag'));
      if (u.searchParams.has('cutwhole')) cutWhole = Number(u.searchParams.get('cutwhole'));
      if (u.searchParams.has('stalewhole')) staleWhole = Number(u.searchParams.get('stalewhole'));
      if (u.searchParams.has('staleblock')) staleBlock = Number(u.searchParams.get('staleblock'));
      if (u.searchParams.has('ignorerange')) ignoreRange = Number(u.searchParams.get('ignorerange'));
      if (u.searchParams.has('ignoreifmatch')) ignoreIfMatch = u.searchParams.get('ignoreifmatch') === '1';
      if (u.searchParams.has('maxbodies')) stats.maxbodies = Number(u.searchParams.get('maxbodies'));
      if (u.searchParams.has('maxtail')) stats.maxtail = Number(u.searchParams.get('maxtail'));
    } else if (u.pathname === '/__proxy/down') {
      downUntil = Date.now() + Number(u.searchParams.get('ms'));
    }
    const body = JSON.stringify(stats);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  stats.requests++;
  if (timing !== null) {
    const t0 = performance.now() - tStart;
    res.on('close', () => {
      fs.writeSync(timing, JSON.stringify({
        method: req.method, url, range: req.headers['range'] || '',
        t0: Math.round(t0 * 10) / 10,
        t1: Math.round((performance.now() - tStart) * 10) / 10,
      }) + '\n');
    });
  }
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
    if ((req.method === 'PUT' || req.method === 'POST')
        && ((failPut > 0 && --failPut === 0)
            || (failPutKey !== ''
                && decodeURIComponent(url.split('?')[0]).includes(failPutKey)
                && (failPutKey = '', true)))) {
      stats.failput++;
      xmlError(res, 500, 'InternalError', 'injected (failput)');
      return;
    }
    if (dataDir !== null && emulate(req, res)) return;
    if (fault === '503') { stats['503']++; xmlError(res, 503, 'SlowDown', 'Please reduce your request rate.'); return; }
    if (fault === '429') { stats['429']++; xmlError(res, 429, 'TooManyRequests', 'Please reduce your request rate.'); return; }
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

// The test S3 endpoint (--data): bucket and key of a request.
function target(req) {
  const u = new URL(req.url, 'http://x');
  const host = (req.headers.host || '').replace(/:\d+$/, '');
  const m = /^(.+)\.s3\.localhost$/.exec(host);
  let p = decodeURIComponent(u.pathname);
  let bucket;
  if (m) {
    bucket = m[1];
  } else {
    const i = p.indexOf('/', 1);
    bucket = i < 0 ? p.slice(1) : p.slice(1, i);
    p = i < 0 ? '/' : p.slice(i);
  }
  return { u, bucket, key: p.slice(1) };
}

function xmlEsc(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

// The multipart uploads s3rver keeps for a bucket: [{key, id, initiated}].
function uploadsOf(bucket) {
  const dir = path.join(dataDir, bucket, '._S3rver_uploads');
  let ids = [];
  try { ids = fs.readdirSync(dir); } catch { return []; }
  const out = [];
  for (const id of ids) {
    if (abortsWaiting.has(id)) continue;     // aborted: gone for the API
    try {
      const key = fs.readFileSync(path.join(dir, id, 'key'), 'utf8');
      const initiated = fs.statSync(path.join(dir, id, 'key')).mtime;
      out.push({ key, id, initiated });
    } catch { /* completed or aborted meanwhile */ }
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1
                            : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

// UploadPart requests forwarded and not answered yet, by upload id, and the
// aborts waiting for them: s3rver would fail (and may stop) writing a part
// into a directory removed under it, so an abort removes the upload's
// directory once its parts in flight are done (S3: a part in progress
// during an abort may or may not succeed).
const partsInFlight = new Map();
const abortsWaiting = new Set();
function uploadDir(bucket, id) {
  return path.join(dataDir, bucket, '._S3rver_uploads', id);
}
function partDone(bucket, id) {
  const n = (partsInFlight.get(id) || 1) - 1;
  if (n > 0) { partsInFlight.set(id, n); return; }
  partsInFlight.delete(id);
  if (abortsWaiting.delete(id)) fs.rmSync(uploadDir(bucket, id), { recursive: true, force: true });
}

function objectPath(bucket, key) {
  return path.join(dataDir, bucket, `${key}._S3rver_object`);
}

function sendXml(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/xml',
                          'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

// Answer the request here if it is one s3rver lacks; true if answered.
function emulate(req, res) {
  const { u, bucket, key } = target(req);
  const q = u.searchParams;
  if (req.method === 'GET' && key === '' && q.has('uploads')) {
    stats.listuploads++;
    const prefix = q.get('prefix') || '';
    const keyMarker = q.get('key-marker') || '';
    const idMarker = q.get('upload-id-marker') || '';
    const max = Math.min(Number(q.get('max-uploads') || 1000), pageSize);
    const all = uploadsOf(bucket).filter((x) => x.key.startsWith(prefix)
      && (keyMarker === '' || x.key > keyMarker
          || (idMarker !== '' && x.key === keyMarker && x.id > idMarker)));
    const page = all.slice(0, max);
    const trunc = all.length > page.length;
    const last = page[page.length - 1];
    let body = '<?xml version="1.0" encoding="UTF-8"?>\n'
      + '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
      + `<Bucket>${xmlEsc(bucket)}</Bucket><KeyMarker>${xmlEsc(keyMarker)}</KeyMarker>`
      + `<UploadIdMarker>${xmlEsc(idMarker)}</UploadIdMarker>`
      + (trunc ? `<NextKeyMarker>${xmlEsc(last.key)}</NextKeyMarker>`
               + `<NextUploadIdMarker>${xmlEsc(last.id)}</NextUploadIdMarker>` : '')
      + `<Prefix>${xmlEsc(prefix)}</Prefix><MaxUploads>${max}</MaxUploads>`
      + `<IsTruncated>${trunc}</IsTruncated>`;
    for (const x of page) {
      body += `<Upload><Key>${xmlEsc(x.key)}</Key><UploadId>${x.id}</UploadId>`
        + '<Initiator><ID>S3RVER</ID><DisplayName>S3RVER</DisplayName></Initiator>'
        + '<Owner><ID>S3RVER</ID><DisplayName>S3RVER</DisplayName></Owner>'
        + `<StorageClass>STANDARD</StorageClass><Initiated>${x.initiated.toISOString()}</Initiated></Upload>`;
    }
    sendXml(res, 200, body + '</ListMultipartUploadsResult>');
    return true;
  }
  if (req.method === 'DELETE' && key !== '' && q.has('uploadId')) {
    const id = q.get('uploadId');
    const up = uploadsOf(bucket).find((x) => x.id === id && x.key === key);
    if (!up || !/^[0-9a-f]+$/.test(id)) {
      xmlError(res, 404, 'NoSuchUpload', 'The specified upload does not exist.');
      return true;
    }
    stats.abort++;
    if (partsInFlight.has(id)) abortsWaiting.add(id);
    else fs.rmSync(uploadDir(bucket, id), { recursive: true, force: true });
    res.writeHead(204);
    res.end();
    return true;
  }
  const ifMatch = req.headers['if-match'];
  if ((req.method === 'GET' || req.method === 'HEAD') && key !== ''
      && ifMatch !== undefined && ifMatch !== '*' && !ignoreIfMatch) {
    const objPath = req.url.split('?')[0];
    let etag = liedKeys.get(objPath);
    if (etag === undefined) {
      try {
        etag = JSON.stringify(fs.readFileSync(`${objectPath(bucket, key)}.md5`, 'utf8'));
      } catch { /* not known yet (s3rver writes it lazily): not checked */ }
    }
    if (etag !== undefined && etag !== ifMatch) {
      stats.ifmatch++;
      if (req.method === 'HEAD') { res.writeHead(412); res.end(); }
      else xmlError(res, 412, 'PreconditionFailed',
                    'At least one of the pre-conditions you specified did not hold');
      return true;
    }
  }
  if (req.method === 'HEAD' && key !== '' && hideHead > 0
      && fs.existsSync(objectPath(bucket, key))) {
    hideHead--;
    stats.hidehead++;
    res.writeHead(404);
    res.end();
    return true;
  }
  if (req.headers['if-none-match'] === '*' && key !== ''
      && ((req.method === 'PUT' && !q.has('uploadId'))
          || (req.method === 'POST' && q.has('uploadId')))
      && fs.existsSync(objectPath(bucket, key))) {
    stats.precondition++;
    xmlError(res, 412, 'PreconditionFailed',
             'At least one of the pre-conditions you specified did not hold');
    return true;
  }
  return false;
}

function forward(req, res, body, fault) {
  if (req.method === 'GET' && (res.destroyed || req.socket.destroyed)) {
    return;                 // its client has gone already: nothing to ask
  }
  const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers['range'] || '');
  let whole = false;
  if (req.method === 'GET' && range && range[1] === '0' && dataDir !== null) {
    const { bucket, key } = target(req);
    try { whole = fs.statSync(objectPath(bucket, key)).size === Number(range[2]) + 1; } catch { }
    if (whole) stats.wholegets++;
  }
  let xorBody = false;
  if (whole && fault === null) {
    if (cutWhole > 0) { cutWhole--; stats.cutwhole++; fault = 'dropresp'; }
    else if (staleWhole > 0) { staleWhole--; stats.stalewhole++; fault = 'dropresp'; xorBody = true; }
  }
  if (req.method === 'GET' && range && !whole && dataDir !== null && staleBlock > 0) {
    // A block (not the tail, not all of the object).
    const { bucket, key } = target(req);
    let size = -1;
    try { size = fs.statSync(objectPath(bucket, key)).size; } catch { }
    if (Number(range[2]) + 1 < size && fault === null) {
      staleBlock--;
      stats.staleblock++;
      fault = 'none';
      xorBody = true;
    }
  }
  if (req.method === 'GET' && range && range[1] !== '0' && !whole && ignoreRange > 0
      && req.headers['if-match'] !== undefined) {
    ignoreRange--;
    stats.ignorerange++;
    delete req.headers['range'];
  }
  if (req.method === 'GET' && range && range[1] === '0' && fault === null) {
    if (cutBody > 0) { cutBody--; stats.cutbody++; fault = 'dropresp'; }
    else if (truncBody > 0) { truncBody--; stats.truncbody++; fault = 'truncate'; }
  }
  if (req.method === 'GET' && range && range[1] !== '0' && tailShift > 0) {
    const { bucket, key } = target(req);
    let size = -1;
    try { size = fs.statSync(objectPath(bucket, key)).size; } catch { }
    if (Number(range[2]) === size - 1 && Number(range[1]) + 1000 <= size - 1) {
      tailShift--;
      stats.tailshift++;
      req.headers['range'] = `bytes=${Number(range[1]) + 1000}-${range[2]}`;
    }
  }
  let otherEtag = xorBody;
  if (req.method === 'GET' && range && range[1] === '0' && bodyEtag > 0) {
    bodyEtag--;
    stats.bodyetag++;
    otherEtag = true;
    if (fault === null) fault = 'none';
  }
  if (req.method === 'GET' && range && range[1] === '0') {
    bodies++;
    if (bodies > stats.maxbodies) stats.maxbodies = bodies;
    res.on('close', () => { bodies--; });
  }
  if (req.method === 'GET') {
    const write = res.write.bind(res);
    const end = res.end.bind(res);
    res.write = (c, ...a) => { if (c && c.length) stats.getbytes += c.length; return write(c, ...a); };
    res.end = (c, ...a) => { if (c && typeof c !== 'function' && c.length) stats.getbytes += c.length; return end(c, ...a); };
  }
  if (dropPut > 0 && (req.method === 'PUT' || req.method === 'POST')) {
    dropPut--;
    stats.dropput++;
    fault = 'dropall';
  }
  let part = null;
  if (dataDir !== null && req.method === 'PUT') {
    const { u, bucket } = target(req);
    if (u.searchParams.has('uploadId')) {
      part = { bucket, id: u.searchParams.get('uploadId') };
      partsInFlight.set(part.id, (partsInFlight.get(part.id) || 0) + 1);
    }
  }
  let open = true;
  const settle = () => {
    if (open) { open = false; stats.upstream--; }
    if (part) { partDone(part.bucket, part.id); part = null; }
  };
  stats.forwarded++;
  stats.upstream++;
  // badetag: this PUT's answer lies about the ETag; a lied-about key's
  // HEADs and GETs too.
  const objPath = req.url.split('?')[0];
  let lie = null;
  if (req.method === 'PUT' && badEtag > 0) {
    badEtag--;
    lie = 'put';
    if (fault === null) fault = 'none';
  } else if ((req.method === 'HEAD' || req.method === 'GET') && liedKeys.has(objPath)) {
    lie = 'read';
    if (fault === null) fault = 'none';
  }
  if (req.method === 'PUT' && liedKeys.has(objPath) && fault === null) {
    fault = 'none';                 // (a clean PUT of it ends the lie)
  }
  const up = http.request({
    host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url,
    headers: req.headers,
  }, (ur) => {
    const cr = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(ur.headers['content-range'] || '');
    if (req.method === 'GET' && cr && cr[1] !== '0' && Number(cr[2]) + 1 === Number(cr[3])) {
      stats.maxtail = Math.max(stats.maxtail, Number(cr[2]) - Number(cr[1]) + 1);
    }
    if (fault === null) {
      // No fault to inject: the answer streamed as it arrives, as a
      // network would carry it (not held until its last byte).
      ur.on('end', settle);
      ur.on('error', settle);
      res.writeHead(ur.statusCode, ur.headers);
      if (throttle > 0) {
        // A slow link: each piece, then a pause as long as it takes.
        ur.on('data', (c) => {
          res.write(c);
          ur.pause();
          setTimeout(() => ur.resume(), Math.ceil(c.length / throttle));
        });
        ur.on('end', () => res.end());
        return;
      }
      ur.pipe(res);
      return;
    }
    const parts = [];
    ur.on('data', (c) => parts.push(c));
    ur.on('end', () => {
      settle();
      const data = Buffer.concat(parts);
      if (xorBody) for (let i = 0; i < data.length; i++) data[i] ^= 0x5a;
      const headers = { ...ur.headers };
      if (req.method === 'PUT' && !req.url.includes('uploadId=')) {
        if (lie !== null && ur.statusCode === 200) {
          liedKeys.set(objPath, '"' + crypto.createHash('md5').update(objPath + ':lie').digest('hex') + '"');
        } else if (lie === null && ur.statusCode === 200) {
          liedKeys.delete(objPath);
        }
      }
      if (lie === 'put' && ur.statusCode === 200 && headers['etag']) {
        stats.badetag++;
        headers['etag'] = liedKeys.get(objPath)
          || '"' + crypto.createHash('md5').update(req.url + ':lie').digest('hex') + '"';
      }
      if (otherEtag && headers['etag']) {
        headers['etag'] = '"' + crypto.createHash('md5').update(objPath + ':other').digest('hex') + '"';
      }
      if (lie === 'read' && headers['etag'] && liedKeys.has(objPath)) {
        headers['etag'] = liedKeys.get(objPath);
      }
      if (fault === 'dropall') {           // done by S3, no answer at all
        req.socket.destroy();
        return;
      }
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
  up.on('error', () => { settle(); req.socket.destroy(); });
  if (req.method === 'GET') {
    // A GET whose client goes away before its answer ends (a reader that
    // closed early) is stopped at S3 too, as a network would.
    res.on('close', () => {
      if (!res.writableFinished) { up.destroy(); settle(); }
    });
  }
  up.end(body);
}

// TCP connections accepted (stats.connections): requests reuse them.
server.on('connection', () => { stats.connections++; });
server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => {
  console.log(`proxy listening on ${server.address().port}`);
});
