/*
** fuzz_murmur2.c - libFuzzer target for Kafka's murmur2 and the default
** partitioner (ext/murmur2.c), and their SQL functions (ext/func.c).
**
**   make fuzz && ./fuzz/fuzz_murmur2 -max_total_time=60 \
**     $(srcdir)/test/fuzz/corpus/murmur2
**
** The input is a key.  Our sqlite3StreamMurmur2() must agree with
** javaMurmur2() below, a line-by-line transcription of Kafka's
** org.apache.kafka.common.utils.Utils.murmur2(byte[]) (Java int
** arithmetic: wrapping multiplication, ">>>" on the unsigned bits, the
** switch falling through); sqlite3StreamPartitionForKey() must equal
** toPositive(h) % n and lie in [0, n) for the partition counts listed, and
** the SQL functions stream_murmur2() / stream_partition() must return the
** same numbers for the key as a BLOB (and as TEXT when the key is valid
** UTF-8 without NUL), and refuse partition counts outside 1..100000 with
** the documented message.  Any disagreement aborts.
*/
#include "streamInt.h"
#include "stream.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kafka's Utils.murmur2(), transcribed from Java. */
static int32_t javaMurmur2(const uint8_t *data, int length){
  const int32_t seed = (int32_t)0x9747b28cu;
  const uint32_t m = 0x5bd1e995u;
  const int r = 24;
  uint32_t h = (uint32_t)seed ^ (uint32_t)length;
  int length4 = length / 4;
  int i;
  for(i = 0; i < length4; i++){
    const int i4 = i * 4;
    uint32_t k = (uint32_t)(data[i4 + 0] & 0xff)
               + ((uint32_t)(data[i4 + 1] & 0xff) << 8)
               + ((uint32_t)(data[i4 + 2] & 0xff) << 16)
               + ((uint32_t)(data[i4 + 3] & 0xff) << 24);
    k *= m;
    k ^= k >> r;                   /* k >>> r */
    k *= m;
    h *= m;
    h ^= k;
  }
  switch( length % 4 ){
    case 3: h ^= (uint32_t)(data[(length & ~3) + 2] & 0xff) << 16;
      /* fall through */
    case 2: h ^= (uint32_t)(data[(length & ~3) + 1] & 0xff) << 8;
      /* fall through */
    case 1: h ^= (uint32_t)(data[length & ~3] & 0xff);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  /* Java's int is the two's complement reading of the 32 bits. */
  return h < 0x80000000u ? (int32_t)h : -(int32_t)(0xffffffffu - h) - 1;
}

/* Kafka's Utils.toPositive(). */
static int32_t javaToPositive(int32_t n){ return n & 0x7fffffff; }

static sqlite3 *db = 0;
static sqlite3_stmt *pHash = 0;     /* stream_murmur2(?1) */
static sqlite3_stmt *pPart = 0;     /* stream_partition(?1, ?2) */

static void fail(const char *zMsg, long long a, long long b){
  fprintf(stderr, "fuzz_murmur2: %s (%lld vs %lld)\n", zMsg, a, b);
  abort();
}

int LLVMFuzzerInitialize(int *pArgc, char ***pArgv){
  (void)pArgc; (void)pArgv;
  /* The transcription itself, against Kafka's published values (the Java
  ** client's, as in docs/sql.md). */
  if( javaMurmur2((const uint8_t*)"order_123", 9)!=-24694779
   || javaMurmur2((const uint8_t*)"21", 2)!=-973932308
   || javaMurmur2((const uint8_t*)"", 0)!=275646681
  ){
    fail("javaMurmur2() does not give Kafka's values", 0, 0);
  }
  if( sqlite3_open(":memory:", &db)
   || sqlite3_stream_init(db, 0, 0)
   || sqlite3_prepare_v2(db, "SELECT stream_murmur2(?1)", -1, &pHash, 0)
   || sqlite3_prepare_v2(db, "SELECT stream_partition(?1, ?2)", -1, &pPart, 0)
  ){
    fprintf(stderr, "fuzz_murmur2: setup failed: %s\n", sqlite3_errmsg(db));
    abort();
  }
  return 0;
}

/* Step pStmt: SQLITE_ROW with an integer result expected; returns it. */
static long long stepInt(sqlite3_stmt *pStmt){
  long long v;
  if( sqlite3_step(pStmt)!=SQLITE_ROW
   || sqlite3_column_type(pStmt, 0)!=SQLITE_INTEGER ){
    fprintf(stderr, "fuzz_murmur2: %s\n", sqlite3_errmsg(db));
    abort();
  }
  v = sqlite3_column_int64(pStmt, 0);
  sqlite3_reset(pStmt);
  return v;
}

/* Valid UTF-8 (no overlongs, surrogates or code points above U+10FFFF)
** and no NUL byte: the key reads back the same as TEXT. */
static int isUtf8Text(const uint8_t *a, size_t n){
  size_t i = 0;
  while( i<n ){
    uint8_t c = a[i];
    size_t k, len;
    uint32_t cp;
    if( c==0 ) return 0;
    if( c<0x80 ){ i++; continue; }
    if( c>=0xc2 && c<=0xdf ){ len = 2; cp = c & 0x1f; }
    else if( c>=0xe0 && c<=0xef ){ len = 3; cp = c & 0x0f; }
    else if( c>=0xf0 && c<=0xf4 ){ len = 4; cp = c & 0x07; }
    else return 0;
    if( i+len>n ) return 0;
    for(k=1; k<len; k++){
      if( (a[i+k] & 0xc0)!=0x80 ) return 0;
      cp = (cp<<6) | (a[i+k] & 0x3f);
    }
    if( (len==3 && cp<0x800) || (len==4 && (cp<0x10000 || cp>0x10ffff))
     || (cp>=0xd800 && cp<=0xdfff) ) return 0;
    i += len;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData){
  static const int aN[] = { 1, 2, 3, 7, 8, 12, 100, 1000, 65536, 99991,
                            100000 };
  /* Partition counts outside 1..100000, and their messages. */
  static const long long aBad[] = { 0, -1, 100001, 2147483648LL,
                                    -9223372036854775807LL-1 };
  uint8_t *a;
  int n, i, h, hJava;
  uint32_t nExtra = 0;

  if( nData>1000000 ) return 0;
  n = (int)nData;
  /* An exact-size copy: ASan catches a read past the end. */
  a = (uint8_t*)malloc(nData ? nData : 1);
  if( a==0 ) return 0;
  if( nData ) memcpy(a, aData, nData);

  h = sqlite3StreamMurmur2(nData ? a : 0, n);
  hJava = javaMurmur2(a, n);
  if( h!=hJava ) fail("murmur2 differs from Kafka's", h, hJava);

  /* One more partition count taken from the key itself. */
  for(i=0; i<n && i<4; i++) nExtra = (nExtra<<8) | a[i];
  for(i=0; i<(int)(sizeof(aN)/sizeof(aN[0]))+1; i++){
    int nPart = i<(int)(sizeof(aN)/sizeof(aN[0])) ? aN[i]
              : (int)(nExtra % 100000u) + 1;
    int p = sqlite3StreamPartitionForKey(nData ? a : 0, n, nPart);
    int pJava = javaToPositive(hJava) % nPart;
    if( p<0 || p>=nPart ) fail("partition out of range", p, nPart);
    if( p!=pJava ) fail("partition differs from Kafka's", p, pJava);
    if( i==0 || i==(int)(sizeof(aN)/sizeof(aN[0])) ){
      sqlite3_bind_blob(pPart, 1, a, n, SQLITE_STATIC);
      sqlite3_bind_int(pPart, 2, nPart);
      if( stepInt(pPart)!=p ) fail("stream_partition() differs", p, nPart);
    }
  }

  /* The SQL functions, key as BLOB, and as TEXT when it reads back. */
  sqlite3_bind_blob(pHash, 1, a, n, SQLITE_STATIC);
  if( stepInt(pHash)!=hJava ) fail("stream_murmur2(blob) differs", h, hJava);
  if( isUtf8Text(a, nData) ){
    sqlite3_bind_text(pHash, 1, (const char*)a, n, SQLITE_STATIC);
    if( stepInt(pHash)!=hJava ) fail("stream_murmur2(text) differs", h, hJava);
  }

  /* Out-of-range partition counts are refused, naming the limit. */
  i = (int)(nExtra % (sizeof(aBad)/sizeof(aBad[0])));
  sqlite3_bind_blob(pPart, 1, a, n, SQLITE_STATIC);
  sqlite3_bind_int64(pPart, 2, aBad[i]);
  if( sqlite3_step(pPart)!=SQLITE_ERROR
   || strncmp(sqlite3_errmsg(db),
              "stream: partitions must be between 1 and 100000, got ", 53) ){
    fail("bad partition count accepted or unclear", aBad[i], 0);
  }
  sqlite3_reset(pPart);
  sqlite3_clear_bindings(pPart);
  sqlite3_clear_bindings(pHash);
  free(a);
  return 0;
}
