#!/usr/bin/env node
// parquet_check.mjs - read a warm-tier Parquet file with two independent
// readers, hyparquet (+ hyparquet-compressors for GZIP/ZSTD) and DuckDB
// (@duckdb/node-api, SET threads=1), print both as JSON lines and compare
// them with an expected JSON-lines file.
//
//   node test/interop/parquet_check.mjs FILE.parquet EXPECTED.jsonl
//
// Expected/normalised row (one JSON object per line, keys in this order):
//   {"topic":"t","partition":3,"offset":"1000",
//    "key":null | "text" | {"hex":"00ff"},      (BLOB per attributes bit 0)
//    "value":null | "json text" | {"hex":".."}, (BLOB per attributes bit 1)
//    "headers":null | "json text",
//    "timestamp_us":"1700000000000000","attributes":0}
// Integers that may exceed 2^53 are strings.  Text is compared exactly,
// byte for byte (hyparquet's JSON parser is replaced by a text decoder).
//
// Also checked with DuckDB's DESCRIBE: timestamp is TIMESTAMP WITH TIME
// ZONE; value is JSON when no expected row has a BLOB value, else BLOB;
// headers is JSON; topic VARCHAR; offset BIGINT.
//
// Exit 0 when both readers match the expected rows, 1 otherwise.
import { readFileSync } from 'node:fs'
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { DuckDBInstance } from '@duckdb/node-api'

const [file, expectedPath] = process.argv.slice(2)
if (!file || !expectedPath) {
  console.error('usage: node parquet_check.mjs FILE.parquet EXPECTED.jsonl')
  process.exit(2)
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
const hex = (bytes) => Buffer.from(bytes).toString('hex')

// Normalise one row from whatever a reader gives into the expected shape.
// raw fields: topic (string), partition (number), offset (bigint|number),
// key/value/headers (Uint8Array | string | null), timestamp_us (bigint),
// attributes (number).
function normalise(raw) {
  const attributes = Number(raw.attributes)
  const bytesOrText = (v, isBlob) => {
    if (v === null || v === undefined) return null
    if (isBlob) return { hex: typeof v === 'string' ? hex(Buffer.from(v, 'utf8')) : hex(v) }
    return typeof v === 'string' ? v : utf8.decode(v)
  }
  return {
    topic: raw.topic,
    partition: Number(raw.partition),
    offset: String(raw.offset),
    key: bytesOrText(raw.key, attributes & 1),
    value: bytesOrText(raw.value, attributes & 2),
    headers: bytesOrText(raw.headers, false),
    timestamp_us: String(raw.timestamp_us),
    attributes,
  }
}

async function readHyparquet() {
  const asyncBuffer = await asyncBufferFromFile(file)
  const rows = await parquetReadObjects({
    file: asyncBuffer,
    compressors,
    utf8: false,
    parsers: {
      // Keep exact text and exact microseconds.
      jsonFromBytes: (b) => b && utf8.decode(b),
      stringFromBytes: (b) => b && utf8.decode(b),
      timestampFromMicroseconds: (us) => BigInt(us),
      timestampFromMilliseconds: (ms) => BigInt(ms) * 1000n,
      timestampFromNanoseconds: (ns) => BigInt(ns) / 1000n,
      dateFromDays: (d) => d,
    },
  })
  return rows.map((r) => normalise({ ...r, timestamp_us: r.timestamp }))
}

async function readDuckDB() {
  const instance = await DuckDBInstance.create(':memory:')
  const conn = await instance.connect()
  await conn.run('SET threads=1')
  const q = `'${file.replace(/'/g, "''")}'`
  const desc = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${q}, hive_partitioning=false)`)
  const types = {}
  for (const r of desc.getRowObjectsJS()) types[r.column_name] = r.column_type
  const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet(${q}, hive_partitioning=false)`)
  const rows = reader.getRowObjects().map((r) => {
    const v = (x) => (x === null || x === undefined ? null : x.bytes ?? x)
    return normalise({
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      key: v(r.key),
      value: v(r.value),
      headers: v(r.headers),
      timestamp_us: r.timestamp === null ? null : r.timestamp.micros,
      attributes: r.attributes,
    })
  })
  conn.closeSync?.()
  return { rows, types }
}

function compare(name, got, expected) {
  let bad = 0
  if (got.length !== expected.length) {
    console.log(`MISMATCH ${name}: ${got.length} rows, expected ${expected.length}`)
    bad++
  }
  const n = Math.min(got.length, expected.length)
  for (let i = 0; i < n; i++) {
    const a = JSON.stringify(got[i])
    const b = JSON.stringify(expected[i])
    if (a !== b) {
      if (bad < 5) console.log(`MISMATCH ${name} row ${i}:\n  got      ${a}\n  expected ${b}`)
      bad++
    }
  }
  return bad
}

const expected = readFileSync(expectedPath, 'utf8').split('\n').filter((l) => l.trim())
  .map((l) => {
    const e = JSON.parse(l)
    return { topic: e.topic, partition: e.partition, offset: e.offset, key: e.key, value: e.value,
      headers: e.headers, timestamp_us: e.timestamp_us, attributes: e.attributes }
  })

let bad = 0
const hyp = await readHyparquet()
for (const r of hyp) console.log('hyparquet ' + JSON.stringify(r))
bad += compare('hyparquet', hyp, expected)

const duck = await readDuckDB()
for (const r of duck.rows) console.log('duckdb ' + JSON.stringify(r))
bad += compare('duckdb', duck.rows, expected)

const anyBlobValue = expected.some((r) => r.attributes & 2)
const wantTypes = {
  topic: 'VARCHAR',
  partition: 'INTEGER',
  offset: 'BIGINT',
  key: 'BLOB',
  value: anyBlobValue ? 'BLOB' : 'JSON',
  headers: 'JSON',
  timestamp: 'TIMESTAMP WITH TIME ZONE',
  attributes: 'INTEGER',
}
console.log('duckdb types ' + JSON.stringify(duck.types))
for (const [col, t] of Object.entries(wantTypes)) {
  if (duck.types[col] !== t) {
    console.log(`MISMATCH duckdb type of ${col}: ${duck.types[col]}, expected ${t}`)
    bad++
  }
}

console.log(bad ? `FAIL ${file}: ${bad} mismatches` : `OK ${file}: ${expected.length} rows, hyparquet and duckdb agree`)
process.exit(bad ? 1 : 0)
