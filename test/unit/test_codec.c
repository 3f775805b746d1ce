/*
** test_codec.c - unit test of ext/codec.c.
**
** Round trips of every codec (empty, tiny, text, 1 MiB compressible and
** incompressible input), the gzip and zstd magic numbers, streams made by
** the gzip and zstd command-line tools, several gzip members and several
** zstd frames, zstd frames without a content size, the nMax bound
** (exactly nMax is fine, one byte more is SQLITE_TOOBIG, also for
** compression bombs), and corrupt input: every truncation, trailing
** garbage, zlib instead of gzip framing, random bytes and bit flips must
** give SQLITE_CORRUPT (bit flips may also decode, or hit nMax) and never
** crash.
**
**   gcc -std=c11 -Wall -Wextra -DSQLITE_CORE -Iext \
**       test/unit/test_codec.c ext/codec.c -lsqlite3 -lz -lzstd -o test_codec
**
** The last line printed is "N passed, N failed"; the exit code is non-zero
** if anything failed.
*/
#include "streamInt.h"
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "unit_check.h"

static const char *codecName(int eCodec){
  switch( eCodec ){
    case STREAM_CODEC_NONE: return "none";
    case STREAM_CODEC_GZIP: return "gzip";
    case STREAM_CODEC_ZSTD: return "zstd";
  }
  return "?";
}

/* Deterministic pseudo-random bytes (xorshift32). */
static unsigned int iRand = 0x12345678;
static unsigned int randU32(void){
  iRand ^= iRand << 13;
  iRand ^= iRand >> 17;
  iRand ^= iRand << 5;
  return iRand;
}

#define ONE_MIB (1024*1024)
static u8 aText[ONE_MIB];       /* Compressible: repeated JSON-ish text */
static u8 aNoise[ONE_MIB];      /* Incompressible: pseudo-random bytes */
static u8 aWork[ONE_MIB];       /* Scratch for mangled inputs */

/* "hello, stream\n" made by `gzip -9n` */
static const u8 aGzipCli[] = {
  0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x48,
  0xcd, 0xc9, 0xc9, 0xd7, 0x51, 0x28, 0x2e, 0x29, 0x4a, 0x4d, 0xcc, 0xe5,
  0x02, 0x00, 0xe3, 0x84, 0x60, 0x0c, 0x0e, 0x00, 0x00, 0x00
};
/* "hello, stream\n" made by `zstd -c` from a pipe: no content size in the
** frame header, content checksum present. */
static const u8 aZstdCli[] = {
  0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x71, 0x00, 0x00, 0x68, 0x65, 0x6c,
  0x6c, 0x6f, 0x2c, 0x20, 0x73, 0x74, 0x72, 0x65, 0x61, 0x6d, 0x0a, 0x9f,
  0x75, 0xfb, 0x92
};
static const char zHello[] = "hello, stream\n";

/*
** Compress then decompress n bytes at p with eCodec, nMax = n.  Check the
** result equals the input.
*/
static void roundTrip(const char *zName, int eCodec, const void *p, size_t n){
  void *pC = 0, *pD = (void*)1;
  size_t nC = 0, nD = 99;
  char zTest[128];
  int rc;
  snprintf(zTest, sizeof(zTest), "codec-rt.%s.%s", codecName(eCodec), zName);
  rc = sqlite3StreamCompress(eCodec, p, n, &pC, &nC);
  check(rc==SQLITE_OK && pC!=0, zTest, "compress");
  if( rc!=SQLITE_OK ) return;
  rc = sqlite3StreamDecompress(eCodec, pC, nC, n, &pD, &nD);
  check(rc==SQLITE_OK && pD!=0 && nD==n && (n==0 || memcmp(p, pD, n)==0),
        zTest, "decompress equals input");
  if( eCodec==STREAM_CODEC_GZIP ){
    const u8 *a = (const u8*)pC;
    check(nC>=18 && a[0]==0x1f && a[1]==0x8b && a[2]==0x08, zTest,
          "gzip magic 1f 8b, method 8");
  }
  if( eCodec==STREAM_CODEC_ZSTD ){
    const u8 *a = (const u8*)pC;
    check(nC>=4 && a[0]==0x28 && a[1]==0xb5 && a[2]==0x2f && a[3]==0xfd,
          zTest, "zstd magic 28 b5 2f fd");
  }
  /* One byte less room than the output needs is too big. */
  if( n>0 ){
    void *pT = (void*)1;
    size_t nT = 99;
    rc = sqlite3StreamDecompress(eCodec, pC, nC, n-1, &pT, &nT);
    check(rc==SQLITE_TOOBIG && pT==0 && nT==0, zTest, "nMax = size-1");
  }
  sqlite3_free(pC);
  sqlite3_free(pD);
}

/*
** Decompress n bytes at p, expecting return code rcWant; on SQLITE_OK the
** output must be the nWant bytes at pWant.
*/
static void expectDecompress(const char *zTest, int eCodec, const void *p,
                             size_t n, size_t nMax, int rcWant,
                             const void *pWant, size_t nWant){
  void *pOut = (void*)1;
  size_t nOut = 99;
  char zDetail[128];
  int rc = sqlite3StreamDecompress(eCodec, p, n, nMax, &pOut, &nOut);
  int bOk = rc==rcWant;
  if( rc==SQLITE_OK ){
    bOk = bOk && pOut!=0 && nOut==nWant
        && (nWant==0 || memcmp(pOut, pWant, nWant)==0);
  }else{
    bOk = bOk && pOut==0 && nOut==0;
  }
  snprintf(zDetail, sizeof(zDetail), "rc=%d want %d, nOut=%d",
           rc, rcWant, (int)nOut);
  check(bOk, zTest, zDetail);
  sqlite3_free(rc==SQLITE_OK ? pOut : 0);
}

static void testRoundTrips(void){
  static const int aCodec[] = {
    STREAM_CODEC_NONE, STREAM_CODEC_GZIP, STREAM_CODEC_ZSTD
  };
  int i;
  for(i=0; i<3; i++){
    int e = aCodec[i];
    roundTrip("empty", e, "", 0);
    roundTrip("null-empty", e, 0, 0);
    roundTrip("one-byte", e, "x", 1);
    roundTrip("hello", e, zHello, strlen(zHello));
    roundTrip("4k-text", e, aText, 4096);
    roundTrip("1mib-text", e, aText, sizeof(aText));
    roundTrip("1mib-noise", e, aNoise, sizeof(aNoise));
  }

  /* Compression actually compresses the text. */
  for(i=1; i<3; i++){
    void *pC = 0;
    size_t nC = 0;
    int rc = sqlite3StreamCompress(aCodec[i], aText, sizeof(aText), &pC, &nC);
    check(rc==SQLITE_OK && nC<sizeof(aText)/5, "codec-ratio",
          codecName(aCodec[i]));
    sqlite3_free(pC);
  }
}

static void testForeign(void){
  /* Streams made by other tools. */
  expectDecompress("codec-cli.gzip", STREAM_CODEC_GZIP, aGzipCli,
                   sizeof(aGzipCli), 100, SQLITE_OK, zHello, strlen(zHello));
  expectDecompress("codec-cli.zstd", STREAM_CODEC_ZSTD, aZstdCli,
                   sizeof(aZstdCli), 100, SQLITE_OK, zHello, strlen(zHello));
  expectDecompress("codec-cli.zstd.exact", STREAM_CODEC_ZSTD, aZstdCli,
                   sizeof(aZstdCli), strlen(zHello), SQLITE_OK, zHello,
                   strlen(zHello));
  expectDecompress("codec-cli.zstd.toobig", STREAM_CODEC_ZSTD, aZstdCli,
                   sizeof(aZstdCli), strlen(zHello)-1, SQLITE_TOOBIG, 0, 0);
  expectDecompress("codec-cli.gzip.toobig", STREAM_CODEC_GZIP, aGzipCli,
                   sizeof(aGzipCli), strlen(zHello)-1, SQLITE_TOOBIG, 0, 0);
  expectDecompress("codec-cli.gzip.nmax0", STREAM_CODEC_GZIP, aGzipCli,
                   sizeof(aGzipCli), 0, SQLITE_TOOBIG, 0, 0);

  /* The wrong codec for the data is corruption. */
  expectDecompress("codec-cross.1", STREAM_CODEC_ZSTD, aGzipCli,
                   sizeof(aGzipCli), 100, SQLITE_CORRUPT, 0, 0);
  expectDecompress("codec-cross.2", STREAM_CODEC_GZIP, aZstdCli,
                   sizeof(aZstdCli), 100, SQLITE_CORRUPT, 0, 0);

  /* zlib (RFC 1950) framing is not gzip. */
  {
    u8 aZ[256];
    uLongf nZ = sizeof(aZ);
    int zrc = compress2(aZ, &nZ, (const Bytef*)zHello, strlen(zHello), 6);
    check(zrc==Z_OK, "codec-zlib.0", "compress2");
    expectDecompress("codec-zlib.1", STREAM_CODEC_GZIP, aZ, nZ, 100,
                     SQLITE_CORRUPT, 0, 0);
  }
}

/* Write the gzip stream of n bytes at p to aOut.  Return its length. */
static size_t gzipOf(const void *p, size_t n, u8 *aOut, size_t nOut){
  void *pC = 0;
  size_t nC = 0;
  if( sqlite3StreamCompress(STREAM_CODEC_GZIP, p, n, &pC, &nC)
   || nC>nOut ){
    sqlite3_free(pC);
    return 0;
  }
  memcpy(aOut, pC, nC);
  sqlite3_free(pC);
  return nC;
}

static void testMultiple(void){
  u8 aBuf[1024];
  size_t n1, n2;
  char zWant[64];

  /* Two gzip members decode as the concatenation. */
  n1 = gzipOf("abc", 3, aBuf, sizeof(aBuf));
  n2 = gzipOf("defg", 4, aBuf+n1, sizeof(aBuf)-n1);
  expectDecompress("codec-multi.gzip", STREAM_CODEC_GZIP, aBuf, n1+n2, 100,
                   SQLITE_OK, "abcdefg", 7);
  expectDecompress("codec-multi.gzip.toobig", STREAM_CODEC_GZIP, aBuf,
                   n1+n2, 6, SQLITE_TOOBIG, 0, 0);
  /* Second member truncated. */
  expectDecompress("codec-multi.gzip.trunc", STREAM_CODEC_GZIP, aBuf,
                   n1+n2-1, 100, SQLITE_CORRUPT, 0, 0);
  /* Trailing garbage after the member. */
  memcpy(aBuf+n1, "garbage", 7);
  expectDecompress("codec-trail.gzip", STREAM_CODEC_GZIP, aBuf, n1+7, 100,
                   SQLITE_CORRUPT, 0, 0);
  aBuf[n1] = 0;
  expectDecompress("codec-trail.gzip.nul", STREAM_CODEC_GZIP, aBuf, n1+1,
                   100, SQLITE_CORRUPT, 0, 0);

  /* Two zstd frames (one with, one without a checksum) decode as the
  ** concatenation, through the streaming path. */
  {
    size_t nA = ZSTD_compress(aBuf, sizeof(aBuf), "abc", 3, 1);
    size_t nB;
    check(!ZSTD_isError(nA), "codec-multi.zstd.0", "ZSTD_compress");
    memcpy(aBuf+nA, aZstdCli, sizeof(aZstdCli));
    nB = sizeof(aZstdCli);
    snprintf(zWant, sizeof(zWant), "abc%s", zHello);
    expectDecompress("codec-multi.zstd", STREAM_CODEC_ZSTD, aBuf, nA+nB, 100,
                     SQLITE_OK, zWant, strlen(zWant));
    expectDecompress("codec-multi.zstd.toobig", STREAM_CODEC_ZSTD, aBuf,
                     nA+nB, strlen(zWant)-1, SQLITE_TOOBIG, 0, 0);
    expectDecompress("codec-multi.zstd.trunc", STREAM_CODEC_ZSTD, aBuf,
                     nA+nB-1, 100, SQLITE_CORRUPT, 0, 0);
    memcpy(aBuf+nA, "garbage", 7);
    expectDecompress("codec-trail.zstd", STREAM_CODEC_ZSTD, aBuf, nA+7, 100,
                     SQLITE_CORRUPT, 0, 0);
    aBuf[nA] = 0;
    expectDecompress("codec-trail.zstd.nul", STREAM_CODEC_ZSTD, aBuf, nA+1,
                     100, SQLITE_CORRUPT, 0, 0);
  }
}

/*
** zstd frames whose header has no content size, as streaming producers
** write them: decoding streams, bounded by nMax.
*/
static size_t zstdNoSize(const void *p, size_t n, u8 *aOut, size_t nOut){
  ZSTD_CCtx *pCtx = ZSTD_createCCtx();
  ZSTD_inBuffer in;
  ZSTD_outBuffer out;
  size_t r;
  if( pCtx==0 ) return 0;
  /* Given all input with ZSTD_e_end, zstd would write the size anyway. */
  ZSTD_CCtx_setParameter(pCtx, ZSTD_c_contentSizeFlag, 0);
  in.src = p; in.size = n; in.pos = 0;
  out.dst = aOut; out.size = nOut; out.pos = 0;
  do{
    r = ZSTD_compressStream2(pCtx, &out, &in, ZSTD_e_end);
  }while( r!=0 && !ZSTD_isError(r) && out.pos<out.size );
  ZSTD_freeCCtx(pCtx);
  return (r==0) ? out.pos : 0;
}

static u8 aBomb[ONE_MIB];

static void testBombs(void){
  /* 64 MiB of zeros, decompressed with nMax = 1 MiB. */
  size_t nZero = 64*(size_t)ONE_MIB;
  u8 *aZero = sqlite3_malloc64(nZero);
  int eCodec;
  check(aZero!=0, "codec-bomb.0", "malloc");
  if( aZero==0 ) return;
  memset(aZero, 0, nZero);
  for(eCodec=STREAM_CODEC_GZIP; eCodec<=STREAM_CODEC_ZSTD; eCodec++){
    void *pC = 0;
    size_t nC = 0;
    char zTest[64];
    int rc = sqlite3StreamCompress(eCodec, aZero, nZero, &pC, &nC);
    snprintf(zTest, sizeof(zTest), "codec-bomb.%s", codecName(eCodec));
    check(rc==SQLITE_OK && nC<nZero/500, zTest, "compress 64 MiB zeros");
    if( rc==SQLITE_OK ){
      expectDecompress(zTest, eCodec, pC, nC, ONE_MIB, SQLITE_TOOBIG, 0, 0);
      expectDecompress(zTest, eCodec, pC, nC, nZero-1, SQLITE_TOOBIG, 0, 0);
      expectDecompress(zTest, eCodec, pC, nC, nZero, SQLITE_OK, aZero, nZero);
    }
    sqlite3_free(pC);
  }

  /* The same without a content size in the zstd header. */
  {
    size_t nC = zstdNoSize(aZero, nZero, aBomb, sizeof(aBomb));
    check(nC>0 && ZSTD_getFrameContentSize(aBomb, nC)
                  ==ZSTD_CONTENTSIZE_UNKNOWN,
          "codec-bomb.zstd-nosize.0", "frame without content size");
    expectDecompress("codec-bomb.zstd-nosize.1", STREAM_CODEC_ZSTD, aBomb,
                     nC, ONE_MIB, SQLITE_TOOBIG, 0, 0);
    expectDecompress("codec-bomb.zstd-nosize.2", STREAM_CODEC_ZSTD, aBomb,
                     nC, nZero, SQLITE_OK, aZero, nZero);
    expectDecompress("codec-bomb.zstd-nosize.3", STREAM_CODEC_ZSTD, aBomb,
                     nC, nZero-1, SQLITE_TOOBIG, 0, 0);
  }
  sqlite3_free(aZero);

  /* Small no-size frames: empty, text. */
  {
    u8 aBuf[256];
    size_t nC = zstdNoSize("", 0, aBuf, sizeof(aBuf));
    check(nC>0, "codec-nosize.0", "empty frame");
    expectDecompress("codec-nosize.1", STREAM_CODEC_ZSTD, aBuf, nC, 0,
                     SQLITE_OK, "", 0);
    nC = zstdNoSize(zHello, strlen(zHello), aBuf, sizeof(aBuf));
    expectDecompress("codec-nosize.2", STREAM_CODEC_ZSTD, aBuf, nC, 100,
                     SQLITE_OK, zHello, strlen(zHello));
    expectDecompress("codec-nosize.3", STREAM_CODEC_ZSTD, aBuf, nC-1, 100,
                     SQLITE_CORRUPT, 0, 0);
  }
}

/*
** Every truncation of a compressed stream is corrupt.
*/
static void testTruncation(void){
  int eCodec;
  for(eCodec=STREAM_CODEC_GZIP; eCodec<=STREAM_CODEC_ZSTD; eCodec++){
    static const size_t aN[] = { 0, 1, 200, 70000 };
    int i;
    for(i=0; i<4; i++){
      void *pC = 0;
      size_t nC = 0, k;
      int bOk = 1;
      char zTest[64];
      size_t nStep;
      snprintf(zTest, sizeof(zTest), "codec-trunc.%s.%d",
               codecName(eCodec), (int)aN[i]);
      if( sqlite3StreamCompress(eCodec, aText, aN[i], &pC, &nC) ){
        check(0, zTest, "compress");
        continue;
      }
      nStep = nC>2000 ? nC/997 : 1;
      for(k=0; k<nC; k+=nStep){
        void *pOut = (void*)1;
        size_t nOut = 99;
        int rc = sqlite3StreamDecompress(eCodec, pC, k, ONE_MIB, &pOut,
                                         &nOut);
        if( rc!=SQLITE_CORRUPT || pOut!=0 || nOut!=0 ){
          printf("  %s: prefix of %d/%d bytes gave rc=%d\n",
                 zTest, (int)k, (int)nC, rc);
          bOk = 0;
          if( rc==SQLITE_OK ) sqlite3_free(pOut);
        }
      }
      check(bOk, zTest, "every truncation is SQLITE_CORRUPT");
      sqlite3_free(pC);
    }
  }
}

/*
** Garbage, and bit flips in valid streams: never a crash; each result is
** SQLITE_OK (with gzip, then the original data: its CRC-32 guards it),
** SQLITE_CORRUPT or SQLITE_TOOBIG.
*/
static void testGarbage(void){
  int eCodec;
  for(eCodec=STREAM_CODEC_GZIP; eCodec<=STREAM_CODEC_ZSTD; eCodec++){
    char zTest[64];
    int i;
    int bOk = 1;
    int nCorrupt = 0;
    void *pC = 0;
    size_t nC = 0;
    size_t nIn = 5000;

    snprintf(zTest, sizeof(zTest), "codec-garbage.%s", codecName(eCodec));
    expectDecompress(zTest, eCodec, "hello world", 11, 100,
                     SQLITE_CORRUPT, 0, 0);
    expectDecompress(zTest, eCodec, "", 0, 100, SQLITE_CORRUPT, 0, 0);
    expectDecompress(zTest, eCodec, 0, 0, 100, SQLITE_CORRUPT, 0, 0);
    expectDecompress(zTest, eCodec, aNoise, 4096, ONE_MIB,
                     SQLITE_CORRUPT, 0, 0);

    /* Random buffers that start with the right magic number. */
    for(i=0; i<2000; i++){
      size_t n = 4 + randU32()%300, k;
      void *pOut = 0;
      size_t nOut = 0;
      int rc;
      for(k=0; k<n; k++) aWork[k] = (u8)randU32();
      if( eCodec==STREAM_CODEC_GZIP ){
        aWork[0] = 0x1f; aWork[1] = 0x8b; aWork[2] = 0x08;
      }else{
        aWork[0] = 0x28; aWork[1] = 0xb5; aWork[2] = 0x2f; aWork[3] = 0xfd;
      }
      rc = sqlite3StreamDecompress(eCodec, aWork, n, 65536, &pOut, &nOut);
      if( rc==SQLITE_OK ){
        if( pOut==0 ) bOk = 0;
        sqlite3_free(pOut);
      }else if( rc!=SQLITE_CORRUPT && rc!=SQLITE_TOOBIG ){
        bOk = 0;
        printf("  random input %d: rc=%d\n", i, rc);
      }
    }
    check(bOk, zTest, "random input with magic");

    /* Single bit flips across a compressed stream. */
    bOk = 1;
    if( sqlite3StreamCompress(eCodec, aText, nIn, &pC, &nC) ){
      check(0, zTest, "compress");
      continue;
    }
    for(i=0; i<(int)nC*8; i++){
      void *pOut = 0;
      size_t nOut = 0;
      int rc;
      memcpy(aWork, pC, nC);
      aWork[i/8] ^= (u8)(1 << (i%8));
      rc = sqlite3StreamDecompress(eCodec, aWork, nC, nIn*2, &pOut, &nOut);
      if( rc==SQLITE_OK ){
        if( pOut==0
         || (eCodec==STREAM_CODEC_GZIP
             && (nOut!=nIn || memcmp(pOut, aText, nIn)!=0)) ){
          bOk = 0;
          printf("  bit %d: OK with wrong output\n", i);
        }
        sqlite3_free(pOut);
      }else if( rc==SQLITE_CORRUPT ){
        nCorrupt++;
      }else if( rc!=SQLITE_TOOBIG ){
        bOk = 0;
        printf("  bit %d: rc=%d\n", i, rc);
      }
    }
    check(bOk && nCorrupt>0, zTest, "bit flips");
    sqlite3_free(pC);
  }
}

static void testApi(void){
  void *pOut = (void*)1;
  size_t nOut = 99;
  int rc;
  rc = sqlite3StreamCompress(99, "abc", 3, &pOut, &nOut);
  check(rc==SQLITE_ERROR && pOut==0 && nOut==0, "codec-api.1",
        "unknown codec, compress");
  pOut = (void*)1; nOut = 99;
  rc = sqlite3StreamDecompress(-1, "abc", 3, 100, &pOut, &nOut);
  check(rc==SQLITE_ERROR && pOut==0 && nOut==0, "codec-api.2",
        "unknown codec, decompress");
  expectDecompress("codec-api.3", STREAM_CODEC_NONE, "abc", 3, 3,
                   SQLITE_OK, "abc", 3);
  expectDecompress("codec-api.4", STREAM_CODEC_NONE, "abc", 3, 2,
                   SQLITE_TOOBIG, 0, 0);
  expectDecompress("codec-api.5", STREAM_CODEC_NONE, "", 0, 0,
                   SQLITE_OK, "", 0);
}

int main(void){
  size_t i;
  static const char zLine[] =
      "{\"order_id\":\"ord-%06d\",\"customer\":\"cust-%d\","
      "\"amount\":%d.95}\n";
  size_t n = 0;
  while( n<sizeof(aText) ){
    char zBuf[128];
    int k = snprintf(zBuf, sizeof(zBuf), zLine, (int)n, (int)(n%97),
                     (int)(n%1000));
    size_t m = (size_t)k;
    if( m>sizeof(aText)-n ) m = sizeof(aText)-n;
    memcpy(&aText[n], zBuf, m);
    n += m;
  }
  for(i=0; i<sizeof(aNoise); i++) aNoise[i] = (u8)randU32();

  testRoundTrips();
  testForeign();
  testMultiple();
  testBombs();
  testTruncation();
  testGarbage();
  testApi();

  return checkDone();
}
