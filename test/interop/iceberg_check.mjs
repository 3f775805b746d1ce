#!/usr/bin/env node
// iceberg_check.mjs - read cold-tier Iceberg tables with two independent
// readers and compare them with what was produced.
//
//   node test/interop/iceberg_check.mjs EXPECTED.jsonl TABLE_URL...
//
// TABLE_URL is a table's location, file:///abs/path/iceberg/db_<id>/<topic>.
// Node's fetch() has no file:// support, so this script gives it one (whole
// files, Range requests answered with 206) before icebird runs: a transport
// for the reader, not a stand-in for anything of ours.
//
// 1. icebird (icebergRead) opens each table from its directory (version-hint
//    then vN.metadata.json, the manifest list, the manifests, the data
//    files) and returns every row.  icebird decodes binary columns as UTF-8
//    text (hyparquet's default), so key/value are compared as the UTF-8
//    bytes of what it returns when the expected bytes are valid UTF-8, and
//    only for presence otherwise.
// 2. DuckDB (@duckdb/node-api, threads=1) reads every data file listed in
//    the manifests (icebergManifests) with read_parquet: every row compared
//    byte for byte, count(*) and sum(offset) against the expected ones, and
//    the column types (value BLOB, headers VARCHAR, timestamp TIMESTAMP WITH
//    TIME ZONE).
//
// Expected rows (JSON lines), sorted by topic, partition, offset:
//   {"topic":"t","partition":0,"offset":"5","key":null|{"hex":".."},
//    "value":null|{"hex":".."},"headers":null|"text",
//    "timestamp_us":"...","attributes":0}
// 3. DuckDB's iceberg extension, if it is installed already (it is never
//    fetched: on the test machines it is not, and a line says so):
//    iceberg_scan over each table, count and sum of offsets.
// Exit 0 if everything agrees.
import { readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { icebergRead, icebergMetadata, icebergManifests } from 'icebird'
import { DuckDBInstance } from '@duckdb/node-api'

const [expectedPath, ...tables] = process.argv.slice(2)
if (!expectedPath || tables.length === 0) {
  console.error('usage: node iceberg_check.mjs EXPECTED.jsonl TABLE_URL...')
  process.exit(2)
}

const realFetch = globalThis.fetch
globalThis.fetch = async (url, init = {}) => {
  const u = String(url)
  if (!u.startsWith('file://')) return realFetch(url, init)
  let buf
  try {
    buf = readFileSync(fileURLToPath(u))
  } catch {
    return new Response('not found', { status: 404, statusText: 'Not Found' })
  }
  const range = new Headers(init.headers).get('Range')
  if (init.method === 'HEAD') {
    return new Response(null, { status: 200, headers: { 'Content-Length': String(buf.length) } })
  }
  if (range) {
    const m = /^bytes=(\d+)-(\d*)$/.exec(range)
    const start = Number(m[1])
    const end = m[2] === '' ? buf.length : Number(m[2]) + 1
    return new Response(buf.subarray(start, end), { status: 206 })
  }
  return new Response(buf, { status: 200 })
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
const hex = (b) => Buffer.from(b).toString('hex')
const validUtf8 = (h) => { try { utf8.decode(Buffer.from(h, 'hex')); return true } catch { return false } }
const order = (a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1
  : a.partition - b.partition || (BigInt(a.offset) < BigInt(b.offset) ? -1 : BigInt(a.offset) > BigInt(b.offset) ? 1 : 0))

const expected = readFileSync(expectedPath, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l))
expected.sort(order)
let bad = 0
const complain = (msg) => { if (bad < 10) console.log('MISMATCH ' + msg); bad++ }

// 1. icebird
const ice = []
const dataFiles = []
for (const tableUrl of tables) {
  const metadata = await icebergMetadata({ tableUrl })
  if (metadata['format-version'] !== 2) complain(`${tableUrl}: format-version ${metadata['format-version']}`)
  const rows = await icebergRead({ tableUrl, metadata })
  for (const r of rows) {
    const b = (v) => (v === null || v === undefined ? null : hex(typeof v === 'string' ? Buffer.from(v, 'utf8') : v))
    ice.push({
      topic: r.topic, partition: Number(r.partition), offset: String(r.offset),
      key: b(r.key), value: b(r.value),
      headers: r.headers ?? null,
      timestamp_us: String(r.timestamp instanceof Date ? BigInt(r.timestamp.getTime()) * 1000n : r.timestamp),
      attributes: Number(r.attributes),
    })
  }
  for (const m of await icebergManifests(metadata)) {
    for (const e of m.entries) {
      if (e.status === 2) continue
      const path = fileURLToPath(e.data_file.file_path)
      if (statSync(path).size !== Number(e.data_file.file_size_in_bytes)) complain(`${path}: size differs from the manifest`)
      dataFiles.push({ path, records: Number(e.data_file.record_count) })
    }
  }
}
ice.sort(order)
if (ice.length !== expected.length) complain(`icebird: ${ice.length} rows, expected ${expected.length}`)
for (let i = 0; i < Math.min(ice.length, expected.length); i++) {
  const g = ice[i], e = expected[i]
  const same = (x, ex) => (ex === null ? x === null : !validUtf8(ex.hex) ? x !== null : x === ex.hex)
  if (g.topic !== e.topic || g.partition !== e.partition || g.offset !== e.offset
      || !same(g.key, e.key) || !same(g.value, e.value) || g.headers !== e.headers
      || g.timestamp_us.slice(0, -3) !== e.timestamp_us.slice(0, -3) || g.attributes !== e.attributes) {
    complain(`icebird row ${i}: got ${JSON.stringify(g)} expected ${JSON.stringify(e)}`)
  }
}

// 2. DuckDB over every data file the manifests list
const instance = await DuckDBInstance.create(':memory:')
const conn = await instance.connect()
await conn.run('SET threads=1')
const list = '[' + dataFiles.map((f) => `'${f.path.replace(/'/g, "''")}'`).join(',') + ']'
const agg = (await conn.runAndReadAll(`SELECT count(*) AS n, sum("offset")::VARCHAR AS s FROM read_parquet(${list})`)).getRowObjectsJS()[0]
const wantSum = expected.reduce((s, e) => s + BigInt(e.offset), 0n)
if (Number(agg.n) !== expected.length || String(agg.s) !== String(wantSum)) {
  complain(`duckdb: count ${agg.n} sum ${agg.s}, expected ${expected.length} ${wantSum}`)
}
const nRecords = dataFiles.reduce((s, f) => s + f.records, 0)
if (nRecords !== expected.length) complain(`manifests: record_count total ${nRecords}, expected ${expected.length}`)
const desc = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${list})`)).getRowObjectsJS()
const types = Object.fromEntries(desc.map((r) => [r.column_name, r.column_type]))
const wantTypes = { topic: 'VARCHAR', partition: 'INTEGER', offset: 'BIGINT', key: 'BLOB', value: 'BLOB', headers: 'VARCHAR', timestamp: 'TIMESTAMP WITH TIME ZONE', attributes: 'INTEGER' }
for (const [c, t] of Object.entries(wantTypes)) if (types[c] !== t) complain(`duckdb type of ${c}: ${types[c]}, expected ${t}`)
const reader = await conn.runAndReadAll(`SELECT topic, partition, "offset", key, value, headers, epoch_us("timestamp")::VARCHAR AS ts, attributes FROM read_parquet(${list})`)
const duck = reader.getRowObjects().map((r) => {
  const b = (x) => (x === null || x === undefined ? null : { hex: hex(x.bytes ?? x) })
  return { topic: r.topic, partition: Number(r.partition), offset: String(r.offset), key: b(r.key), value: b(r.value),
    headers: r.headers ?? null, timestamp_us: String(r.ts), attributes: Number(r.attributes) }
})
duck.sort(order)
for (let i = 0; i < Math.min(duck.length, expected.length); i++) {
  const a = JSON.stringify(duck[i]), e = JSON.stringify(expected[i])
  if (a !== e) complain(`duckdb row ${i}:\n  got      ${a}\n  expected ${e}`)
}
if (duck.length !== expected.length) complain(`duckdb: ${duck.length} rows, expected ${expected.length}`)

// 3. DuckDB's iceberg extension (iceberg_scan over each table's metadata),
// only if it is already installed: nothing is fetched (autoinstall off).
await conn.run('SET autoinstall_known_extensions=false')
await conn.run('SET autoload_known_extensions=false')
let iceExt = null
try { await conn.run('LOAD iceberg'); iceExt = true } catch (e) { iceExt = String(e.message ?? e).split('\n')[0] }
if (iceExt === true) {
  let n = 0, sum = 0n
  for (const t of tables) {
    const dir = fileURLToPath(t).replace(/'/g, "''")
    const r = (await conn.runAndReadAll(`SELECT count(*) AS n, sum("offset")::VARCHAR AS s FROM iceberg_scan('${dir}', allow_moved_paths=true)`)).getRowObjectsJS()[0]
    n += Number(r.n); sum += BigInt(r.s ?? 0)
  }
  if (n !== expected.length || sum !== wantSum) complain(`duckdb iceberg_scan: count ${n} sum ${sum}, expected ${expected.length} ${wantSum}`)
  else console.log(`duckdb iceberg_scan: ${n} rows agree`)
} else {
  console.log(`duckdb iceberg_scan: skipped (DuckDB's iceberg extension is not installed and is not fetched: ${iceExt})`)
}
console.log(bad ? `FAIL: ${bad} mismatches` : `OK: ${expected.length} rows in ${dataFiles.length} data files of ${tables.length} table(s); icebird and duckdb agree`)
process.exit(bad ? 1 : 0)
