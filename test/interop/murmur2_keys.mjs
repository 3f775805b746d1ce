// murmur2_keys.mjs - reference partitions from kafkajs, for murmur2_check.
//
// Generates a fixed, deterministic set of record keys (at least 5,000) and,
// for each, asks kafkajs 2.2.4 what its Java-compatible DefaultPartitioner
// computes.  Prints one TSV line per key on stdout:
//
//     hex_of_key_bytes <TAB> murmur2_signed <TAB> partition_for_8 <TAB> partition_for_7
//
// The empty key has an empty first column.  The output is consumed by the
// C checker test/unit/murmur2_check.c:
//
//     node test/interop/murmur2_keys.mjs | ./murmur2_check
//
// Keys cover: Kafka's and librdkafka's published vectors, ASCII of every
// length 0..80 (all four tail cases of the hash), multi-byte UTF-8 (2-, 3-
// and 4-byte sequences including emoji), long keys up to 10 KB, and random
// byte strings passed as Buffers (bytes >= 0x80 exercise sign handling).
// String keys are handed to kafkajs as JS strings, so its own UTF-8
// encoding (Buffer.from(String(key))) is what gets hashed, as in a producer.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Partitioners } = require('kafkajs');
// kafkajs has no "exports" map, so its internal hash is reachable directly.
const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js');

const MIN_KEYS = 5000;

// mulberry32: a small deterministic PRNG, so every run prints the same keys.
function mulberry32(seed) {
  let a = seed >>> 0;
  return function () {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(0x5eed1234);
const randInt = (n) => Math.floor(rand() * n);

const keys = [];

// 1. Published vectors (Kafka UtilsTest, librdkafka unittest_murmur2).
for (const k of [
  '', '21', 'foobar', 'a-little-bit-long-string', 'a-little-bit-longer-string',
  'lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', 'abc', 'kafka',
  'giberish123456789', '1234', '234', '34', '4',
  'PreAmbleWillBeRemoved,ThePrePartThatIs', 'reAmbleWillBeRemoved,ThePrePartThatIs',
  'eAmbleWillBeRemoved,ThePrePartThatIs', 'AmbleWillBeRemoved,ThePrePartThatIs',
  'order_123', 'user-42', 'key',
]) keys.push(k);

// 2. Typical ASCII keys.
for (let i = 0; i < 1500; i++) keys.push(`key-${i}`);
for (let i = 0; i < 500; i++) keys.push(`order_${i * 7919}`);
for (let i = 0; i < 200; i++) keys.push(String(i));

// 3. ASCII of every length 0..80, random printable characters.
const printable = (n) => {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(0x20 + randInt(95));
  return s;
};
for (let len = 0; len <= 80; len++) {
  for (let j = 0; j < 4; j++) keys.push(printable(len));
}

// 4. Multi-byte UTF-8: 2-byte (Latin-1, Greek, Cyrillic), 3-byte (CJK,
//    BMP symbols, U+FFFD), 4-byte (emoji and other astral characters).
const pools = [
  'éüßñøåçÆŒ', 'αβγδεζηθλμπσω', 'абвгдеёжзий',
  '中文字符测试東京日本語한국어', '€™✓☃♞\u2028\u2029\uFFFD\uFEFF',
  '😀😁🎉🚀👍🏽🦄🇯🇵👨‍👩‍👧‍👦', '\u{10000}\u{1F600}\u{10FFFF}\u{20000}',
  'abcXYZ0123-_/:.',
];
const mixedChars = pools.flatMap((p) => [...p]);
const mixed = (nChar) => {
  let s = '';
  for (let i = 0; i < nChar; i++) s += mixedChars[randInt(mixedChars.length)];
  return s;
};
for (const p of pools) keys.push(p);
for (let i = 0; i < 1200; i++) keys.push(mixed(1 + randInt(40)));
for (let i = 0; i < 50; i++) keys.push('😀'.repeat(1 + i));

// 5. Long keys up to 10 KB (10,240 bytes), ASCII and UTF-8.
for (const len of [255, 256, 257, 1000, 1023, 1024, 1025, 4095, 4096, 4097,
  8191, 8192, 10237, 10238, 10239, 10240]) {
  keys.push(printable(len));
}
for (let i = 0; i < 20; i++) {
  keys.push(mixed(200 + randInt(2300)));  // at most 2,499 x 4 = 9,996 bytes
}

// 6. Random bytes as Buffers (not valid UTF-8 in general).
for (let i = 0; i < 1500; i++) {
  const n = i < 600 ? i % 67 : randInt(i < 1480 ? 300 : 10241);
  const b = Buffer.alloc(n);
  for (let j = 0; j < n; j++) b[j] = randInt(256);
  keys.push(b);
}
// All-0xff and all-0x80 runs: every byte has the high bit set.
for (let n = 1; n <= 16; n++) {
  keys.push(Buffer.alloc(n, 0xff));
  keys.push(Buffer.alloc(n, 0x80));
}

if (keys.length < MIN_KEYS) {
  throw new Error(`only ${keys.length} keys generated, want >= ${MIN_KEYS}`);
}

// kafkajs's DefaultPartitioner, fed fake topic metadata.
const meta = (n) => Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 0 }));
const meta8 = meta(8);
const meta7 = meta(7);
const partitioner = Partitioners.DefaultPartitioner();

const out = [];
for (const key of keys) {
  const bytes = Buffer.isBuffer(key) ? key : Buffer.from(String(key));
  const h = murmur2(key);
  const p8 = partitioner({ topic: 't', partitionMetadata: meta8, message: { key } });
  const p7 = partitioner({ topic: 't', partitionMetadata: meta7, message: { key } });
  // The partitioner must agree with the bare hash, or we are testing nothing.
  if (p8 !== (h & 0x7fffffff) % 8 || p7 !== (h & 0x7fffffff) % 7) {
    throw new Error(`partitioner/hash mismatch for key ${bytes.toString('hex')}`);
  }
  out.push(`${bytes.toString('hex')}\t${h}\t${p8}\t${p7}`);
}
process.stdout.write(out.join('\n') + '\n');
process.stderr.write(`${keys.length} keys\n`);
