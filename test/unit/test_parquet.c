/*
** test_parquet.c - unit tests of ext/thrift.c, ext/parquet_write.c and
** ext/parquet_read.c.
**
**   cc -std=c11 -DSQLITE_CORE -Iext test/unit/test_parquet.c ext/thrift.c \
**      ext/parquet_write.c ext/parquet_read.c ext/codec.c \
**      -lsqlite3 -lz -lzstd -o test_parquet
**   ./test_parquet                  # the tests; last line "N passed, N failed"
**   ./test_parquet --interop DIR    # write interop files + expected JSON
**   ./test_parquet --bench N [DIR]  # write/read throughput, N rows
**   ./test_parquet --seeds DIR      # small files for the fuzz corpus
**
** Round trips every kind of row through every codec and several row
** groups, checks statistics, seeking and metadata, and feeds the reader
** truncated and corrupted files (each must fail cleanly with a
** "parquet: " message, or read fine, never crash).
*/
#define _POSIX_C_SOURCE 200809L   /* clock_gettime() */
#include "streamInt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int nPass = 0;
static int nFail = 0;

#define CHECK(cond, ...) do{                                    \
  if( cond ){ nPass++; }else{                                   \
    nFail++; printf("FAIL %s:%d: ", __FILE__, __LINE__);        \
    printf(__VA_ARGS__); printf("\n");                          \
  }                                                             \
}while(0)

/* A row with its own copies of the bytes. */
typedef struct TestRow TestRow;
struct TestRow {
  StreamPqRow r;
  char *aBuf;                     /* Owns key, value, headers */
};

static const char *azCodec[] = { "none", "gzip", "zstd" };

/* Size of the one large value (row 9): more than a 1 MiB page in the
** unit tests, smaller for the interop files that get printed. */
static int nTestBig = 3*1024*1024 + 17;

/* Row i of the standard test set: every kind of key/value/headers. */
static void testMakeRow(TestRow *p, int i, const char *zTopic){
  char zKey[64], zVal[256], zHdr[128];
  int nKey = 0, nVal = 0, nHdr = 0;
  int nBig = 0;
  memset(p, 0, sizeof(*p));
  p->r.zTopic = zTopic;
  p->r.nTopic = (int)strlen(zTopic);
  p->r.iPartition = 3;
  p->r.iOffset = 1000 + 2*(i64)i;          /* gaps: odd offsets missing */
  p->r.iTimestampMs = 1700000000000LL + 37*(i64)i;
  switch( i%4 ){
    case 0: p->r.eKeyType = STREAM_PQ_NULL; break;
    case 1: p->r.eKeyType = STREAM_PQ_TEXT;
            nKey = snprintf(zKey, sizeof(zKey), "k\xc3\xa9y-%d-\xe2\x82\xac", i); break;
    case 2: p->r.eKeyType = STREAM_PQ_BLOB;
            nKey = 5; zKey[0] = 0; zKey[1] = (char)0xff; zKey[2] = (char)i;
            zKey[3] = (char)0x80; zKey[4] = 0; break;
    case 3: p->r.eKeyType = STREAM_PQ_TEXT; nKey = 0; break;  /* empty */
  }
  switch( i%5 ){
    case 0: p->r.eValueType = STREAM_PQ_NULL; break;        /* tombstone */
    case 1: case 2:
      p->r.eValueType = STREAM_PQ_TEXT;
      nVal = snprintf(zVal, sizeof(zVal),
          "{\"n\":%d,\"s\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\"a\":[1,2,3]}", i);
      break;
    case 3:
      p->r.eValueType = STREAM_PQ_BLOB;
      nVal = 7; memcpy(zVal, "\x00\x01\x02\xfe\xff\x00\x7f", 7);
      break;
    case 4:
      p->r.eValueType = STREAM_PQ_TEXT;
      nVal = snprintf(zVal, sizeof(zVal), "%d", i);
      if( i==9 ) nBig = nTestBig;             /* large value */
      break;
  }
  if( i%3==0 ){
    nHdr = snprintf(zHdr, sizeof(zHdr), "{\"trace\":\"t-%d\",\"x\":\"\xc3\xbc\"}", i);
  }
  p->aBuf = (char*)malloc((size_t)nKey + nVal + nHdr + nBig + 8);
  memcpy(p->aBuf, zKey, nKey);
  if( p->r.eKeyType ){ p->r.pKey = p->aBuf; p->r.nKey = nKey; }
  if( nBig ){
    char *z = p->aBuf + nKey;
    int k;
    z[0] = '"';
    for(k=1; k<nBig-1; k++) z[k] = (char)('a' + (k*7)%26);
    z[nBig-1] = '"';
    nVal = nBig;
  }else{
    memcpy(p->aBuf + nKey, zVal, nVal);
  }
  if( p->r.eValueType ){ p->r.pValue = p->aBuf + nKey; p->r.nValue = nVal; }
  if( i%3==0 ){
    memcpy(p->aBuf + nKey + nVal, zHdr, nHdr);
    p->r.zHeaders = p->aBuf + nKey + nVal;
    p->r.nHeaders = nHdr;
  }
}

/* Compare two rows.  Returns 0 if equal, else a description (static). */
static const char *testRowDiff(const StreamPqRow *a, const StreamPqRow *b){
  if( a->nTopic!=b->nTopic || memcmp(a->zTopic, b->zTopic, a->nTopic) ) return "topic";
  if( a->iPartition!=b->iPartition ) return "partition";
  if( a->iOffset!=b->iOffset ) return "offset";
  if( a->eKeyType!=b->eKeyType ) return "key type";
  if( a->eKeyType && (a->nKey!=b->nKey || (a->nKey && memcmp(a->pKey, b->pKey, a->nKey))) ) return "key";
  if( a->eValueType!=b->eValueType ) return "value type";
  if( a->eValueType && (a->nValue!=b->nValue
        || (a->nValue && memcmp(a->pValue, b->pValue, a->nValue))) ) return "value";
  if( (a->zHeaders==0)!=(b->zHeaders==0) ) return "headers null";
  if( a->zHeaders && (a->nHeaders!=b->nHeaders
        || memcmp(a->zHeaders, b->zHeaders, a->nHeaders)) ) return "headers";
  if( a->iTimestampMs!=b->iTimestampMs ) return "timestamp";
  return 0;
}

/* Write rows aRow[0..n) with eCodec into pOut.  Returns rc. */
static int testWrite(StreamPqBuf *pOut, int eCodec, int nGroupRows,
                     TestRow *aRow, int n){
  StreamPqWriter *w = 0;
  int rc, i;
  memset(pOut, 0, sizeof(*pOut));
  rc = sqlite3StreamPqWriterOpen(&w, eCodec, nGroupRows,
                                 sqlite3StreamPqMemWrite, pOut);
  for(i=0; rc==SQLITE_OK && i<n; i++){
    rc = sqlite3StreamPqWriterAdd(w, &aRow[i].r);
  }
  if( rc==SQLITE_OK ) rc = sqlite3StreamPqWriterMeta(w, "test.key", "test value");
  if( rc==SQLITE_OK ) rc = sqlite3StreamPqWriterFinish(w);
  if( rc ) printf("write error: %s\n", sqlite3StreamPqWriterErrmsg(w));
  sqlite3StreamPqWriterFree(w);
  return rc;
}

/* Open a reader over a memory buffer. */
static int testOpen(StreamPqBuf *pBuf, StreamPqReader **pp, char **pzErr){
  return sqlite3StreamPqReaderOpen(pp, sqlite3StreamPqMemRead, pBuf,
                                   (i64)pBuf->n, pzErr);
}

/* Read every row; returns the row count, or -1 on error (message in
** *pzErr, a copy of the reader's). */
static int testReadAll(StreamPqBuf *pBuf, char **pzErr){
  StreamPqReader *r = 0;
  StreamPqRow row;
  int rc, n = 0;
  *pzErr = 0;
  rc = testOpen(pBuf, &r, pzErr);
  if( rc ) return -1;
  while( (rc = sqlite3StreamPqReaderNext(r, &row))==SQLITE_ROW ) n++;
  if( rc!=SQLITE_DONE ){
    *pzErr = sqlite3_mprintf("%s", sqlite3StreamPqReaderErrmsg(r));
    n = -1;
  }
  sqlite3StreamPqReaderClose(r);
  return n;
}

/* Read every row and compare it with aExpect[0..nExpect).  Returns 1 if
** the read succeeded with rows other than those (wrong rows, no error). */
static int testReadWrong(StreamPqBuf *pBuf, const TestRow *aExpect,
                         int nExpect){
  StreamPqReader *r = 0;
  StreamPqRow row;
  char *zErr = 0;
  int rc, n = 0, bDiff = 0;
  rc = testOpen(pBuf, &r, &zErr);
  sqlite3_free(zErr);
  if( rc ) return 0;
  while( (rc = sqlite3StreamPqReaderNext(r, &row))==SQLITE_ROW ){
    if( n>=nExpect || testRowDiff(&row, &aExpect[n].r) ) bDiff = 1;
    n++;
  }
  sqlite3StreamPqReaderClose(r);
  return rc==SQLITE_DONE && (bDiff || n!=nExpect);
}

static void testFreeRows(TestRow *a, int n){
  int i;
  for(i=0; i<n; i++) free(a[i].aBuf);
  free(a);
}

/* 1.x: thrift skip of every type, bounds. */
static void test_thrift(void){
  StreamPqBuf b = {0,0,0,0};
  StreamThriftReader r;
  int iLast = 0, iId, e, n;
  static const u8 aNested[] = {
    /* field 1: struct { field 1: list<map<i32,string>> [ {1:"a"} ], 2: double, 3: uuid } */
    0x1C,
      0x19, 0x1B, 0x01, 0x58, 0x02, 0x01, 'a',
      0x17, 0,0,0,0,0,0,0xf0,0x3f,
      0x1D, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,
      0x00,
    /* field 2: bool true; field 3: i16; field 4: set<bool> 2 elems */
    0x11, 0x14, 0x7e, 0x1A, 0x21, 0x01, 0x02,
    /* field 100 via long form: binary "xy" */
    0x08, 0xc8, 0x01, 0x02, 'x', 'y',
    0x00
  };
  sqlite3StreamThriftI32(&b, &iLast, 1, -5);
  sqlite3StreamThriftI64(&b, &iLast, 20, (i64)1<<40);
  sqlite3StreamThriftBinary(&b, &iLast, 21, "hello", 5);
  sqlite3StreamThriftList(&b, &iLast, 22, STREAM_THRIFT_I32, 20);
  for(n=0; n<20; n++) sqlite3StreamThriftZigzag(&b, n-10);
  sqlite3StreamThriftStructEnd(&b);
  CHECK(b.rc==SQLITE_OK, "thrift encode");

  sqlite3StreamThriftReaderInit(&r, b.a, b.n);
  iLast = 0;
  e = sqlite3StreamThriftNextField(&r, &iLast, &iId);
  CHECK(e==STREAM_THRIFT_I32 && iId==1 && sqlite3StreamThriftReadI32(&r)==-5, "1.1 i32");
  e = sqlite3StreamThriftNextField(&r, &iLast, &iId);
  CHECK(e==STREAM_THRIFT_I64 && iId==20 && sqlite3StreamThriftReadI64(&r)==(i64)1<<40, "1.2 i64 long field id");
  e = sqlite3StreamThriftNextField(&r, &iLast, &iId);
  {
    size_t nb; const u8 *a = sqlite3StreamThriftReadBinary(&r, &nb);
    CHECK(e==STREAM_THRIFT_BINARY && iId==21 && nb==5 && memcmp(a, "hello", 5)==0, "1.3 binary");
  }
  e = sqlite3StreamThriftNextField(&r, &iLast, &iId);
  CHECK(e==STREAM_THRIFT_LIST && iId==22, "1.4 list field");
  {
    int eElem;
    n = sqlite3StreamThriftReadList(&r, &eElem);
    CHECK(n==20 && eElem==STREAM_THRIFT_I32, "1.5 list header long form");
    while( n-- ) sqlite3StreamThriftReadI32(&r);
  }
  e = sqlite3StreamThriftNextField(&r, &iLast, &iId);
  CHECK(e==STREAM_THRIFT_STOP && r.rc==SQLITE_OK && r.i==b.n, "1.6 stop");

  /* Skip of a nested struct with every type. */
  sqlite3StreamThriftReaderInit(&r, aNested, sizeof(aNested));
  sqlite3StreamThriftSkip(&r, STREAM_THRIFT_STRUCT, 0);
  CHECK(r.rc==SQLITE_OK && r.i==sizeof(aNested), "1.7 skip nested: rc=%d i=%d %s",
        r.rc, (int)r.i, r.zErr);

  /* Every prefix is a clean truncation error. */
  for(n=0; n<(int)sizeof(aNested); n++){
    sqlite3StreamThriftReaderInit(&r, aNested, n);
    sqlite3StreamThriftSkip(&r, STREAM_THRIFT_STRUCT, 0);
    if( r.rc!=SQLITE_CORRUPT || !r.bTruncated ) break;
  }
  CHECK(n==(int)sizeof(aNested), "1.8 truncated at %d", n);

  /* Depth limit. */
  {
    u8 aDeep[200];
    memset(aDeep, 0x1C, sizeof(aDeep));
    sqlite3StreamThriftReaderInit(&r, aDeep, sizeof(aDeep));
    sqlite3StreamThriftSkip(&r, STREAM_THRIFT_STRUCT, 0);
    CHECK(r.rc==SQLITE_CORRUPT && strstr(r.zErr, "too deep"), "1.9 depth: %s", r.zErr);
  }
  /* Huge list count. */
  {
    static const u8 aList[] = { 0xF5, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00 };
    sqlite3StreamThriftReaderInit(&r, aList, sizeof(aList));
    sqlite3StreamThriftSkip(&r, STREAM_THRIFT_LIST, 0);
    CHECK(r.rc==SQLITE_CORRUPT, "1.10 huge list");
  }
  /* Over-long varint. */
  {
    static const u8 aVar[] = { 0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0x01 };
    sqlite3StreamThriftReaderInit(&r, aVar, sizeof(aVar));
    sqlite3StreamThriftReadI64(&r);
    CHECK(r.rc==SQLITE_CORRUPT && strstr(r.zErr, "varint"), "1.11 varint: %s", r.zErr);
  }
  sqlite3StreamPqBufFree(&b);
}

/* 2.x: round trip for each codec. */
static void test_roundtrip(void){
  int nRow = 200;
  int eCodec;
  TestRow *aRow = (TestRow*)calloc(nRow, sizeof(TestRow));
  int i;
  for(i=0; i<nRow; i++) testMakeRow(&aRow[i], i, "orders.\xc3\xa9v\xc3\xa8nements");
  for(eCodec=0; eCodec<=2; eCodec++){
    StreamPqBuf buf;
    StreamPqReader *r = 0;
    StreamPqRow row;
    char *zErr = 0;
    int rc, n = 0, nBad = 0;
    const char *zDiff = 0;
    rc = testWrite(&buf, eCodec, 17, aRow, nRow);
    CHECK(rc==SQLITE_OK, "2.1 %s write rc=%d", azCodec[eCodec], rc);
    rc = testOpen(&buf, &r, &zErr);
    CHECK(rc==SQLITE_OK, "2.2 %s open: %s", azCodec[eCodec], zErr);
    if( rc ){ sqlite3_free(zErr); sqlite3StreamPqBufFree(&buf); continue; }
    CHECK(sqlite3StreamPqReaderRows(r)==nRow, "2.3 rows");
    CHECK(sqlite3StreamPqReaderGroups(r)==(nRow+16)/17, "2.4 groups %d",
          sqlite3StreamPqReaderGroups(r));
    while( (rc = sqlite3StreamPqReaderNext(r, &row))==SQLITE_ROW ){
      const char *z = n<nRow ? testRowDiff(&row, &aRow[n].r) : "extra row";
      if( z && !nBad++ ){ zDiff = z; printf("  row %d differs: %s\n", n, z); }
      n++;
    }
    CHECK(rc==SQLITE_DONE && n==nRow && nBad==0, "2.5 %s read back: rc=%d n=%d bad=%d %s %s",
          azCodec[eCodec], rc, n, nBad, zDiff ? zDiff : "", sqlite3StreamPqReaderErrmsg(r));
    CHECK(sqlite3StreamPqReaderNext(r, &row)==SQLITE_DONE, "2.6 done again");

    /* Statistics of every group. */
    nBad = 0;
    for(i=0; i<sqlite3StreamPqReaderGroups(r); i++){
      const StreamPqGroupInfo *g = sqlite3StreamPqReaderGroup(r, i);
      int iFirst = i*17, iLast = iFirst + (int)g->nRows - 1;
      if( !g->bStats || g->iOffsetMin!=aRow[iFirst].r.iOffset
       || g->iOffsetMax!=aRow[iLast].r.iOffset
       || g->iTimestampMin!=aRow[iFirst].r.iTimestampMs
       || g->iTimestampMax!=aRow[iLast].r.iTimestampMs ) nBad++;
    }
    CHECK(nBad==0, "2.7 %s stats", azCodec[eCodec]);
    CHECK(sqlite3StreamPqReaderGroup(r, -1)==0 && sqlite3StreamPqReaderGroup(r, 99)==0, "2.8 group range");

    /* Metadata. */
    {
      const char *z1 = sqlite3StreamPqReaderMeta(r, "sqlite-stream.topic");
      const char *z2 = sqlite3StreamPqReaderMeta(r, "sqlite-stream.last_offset");
      const char *z3 = sqlite3StreamPqReaderMeta(r, "test.key");
      CHECK(z1 && strcmp(z1, "orders.\xc3\xa9v\xc3\xa8nements")==0, "2.9 meta topic");
      CHECK(z2 && atoll(z2)==aRow[nRow-1].r.iOffset, "2.10 meta last offset");
      CHECK(z3 && strcmp(z3, "test value")==0, "2.11 meta caller pair");
      CHECK(sqlite3StreamPqReaderMeta(r, "nope")==0, "2.12 meta missing");
    }

    /* Seek: exact, gaps, before the first, past the last, backwards. */
    {
      static const int aSeek[] = { 0, 1000, 1001, 1033, 1034, 1100, 1397, 1398, 1399, 5000, 1002 };
      nBad = 0;
      for(i=0; i<(int)(sizeof(aSeek)/sizeof(aSeek[0])); i++){
        i64 iWant = aSeek[i];
        int iExp = iWant<=1000 ? 0 : (int)((iWant-1000+1)/2);
        rc = sqlite3StreamPqReaderSeek(r, iWant);
        if( rc ){ nBad++; continue; }
        rc = sqlite3StreamPqReaderNext(r, &row);
        if( iExp>=nRow ){
          if( rc!=SQLITE_DONE ) nBad++;
        }else if( rc!=SQLITE_ROW || testRowDiff(&row, &aRow[iExp].r) ){
          printf("  seek %lld: rc=%d offset %lld\n", iWant, rc, row.iOffset);
          nBad++;
        }else{
          /* The row after the sought one follows. */
          rc = sqlite3StreamPqReaderNext(r, &row);
          if( iExp+1<nRow && (rc!=SQLITE_ROW || row.iOffset!=aRow[iExp+1].r.iOffset) ) nBad++;
        }
      }
      CHECK(nBad==0, "2.13 %s seek", azCodec[eCodec]);
      CHECK(sqlite3StreamPqReaderSeekGroup(r, 3)==SQLITE_OK
         && sqlite3StreamPqReaderNext(r, &row)==SQLITE_ROW
         && row.iOffset==aRow[3*17].r.iOffset, "2.14 seek group");
      CHECK(sqlite3StreamPqReaderSeekGroup(r, 999)==SQLITE_RANGE, "2.15 seek group range");
    }
    sqlite3StreamPqReaderClose(r);
    sqlite3StreamPqBufFree(&buf);
  }
  testFreeRows(aRow, nRow);
}

/* 3.x: edge cases: empty file, one row, default group size, all-text. */
static void test_edges(void){
  StreamPqBuf buf;
  char *zErr = 0;
  int n;
  TestRow *aRow = (TestRow*)calloc(50, sizeof(TestRow));
  int i;
  for(i=0; i<50; i++) testMakeRow(&aRow[i], i, "t");

  CHECK(testWrite(&buf, STREAM_CODEC_ZSTD, 0, aRow, 0)==SQLITE_OK, "3.1 empty write");
  n = testReadAll(&buf, &zErr);
  CHECK(n==0, "3.2 empty read: %d %s", n, zErr);
  sqlite3_free(zErr);
  sqlite3StreamPqBufFree(&buf);

  CHECK(testWrite(&buf, STREAM_CODEC_NONE, 0, aRow, 1)==SQLITE_OK, "3.3 one row");
  n = testReadAll(&buf, &zErr);
  CHECK(n==1, "3.4 one row read: %d %s", n, zErr);
  sqlite3_free(zErr);
  sqlite3StreamPqBufFree(&buf);

  CHECK(testWrite(&buf, STREAM_CODEC_GZIP, 1, aRow, 50)==SQLITE_OK, "3.5 one row per group");
  n = testReadAll(&buf, &zErr);
  CHECK(n==50, "3.6 read: %d %s", n, zErr);
  sqlite3_free(zErr);
  sqlite3StreamPqBufFree(&buf);

  /* Writer errors. */
  {
    StreamPqWriter *w = 0;
    StreamPqRow row = aRow[5].r;
    int rc;
    memset(&buf, 0, sizeof(buf));
    sqlite3StreamPqWriterOpen(&w, STREAM_CODEC_NONE, 0, sqlite3StreamPqMemWrite, &buf);
    rc = sqlite3StreamPqWriterAdd(w, &row);
    CHECK(rc==SQLITE_OK, "3.7 add");
    rc = sqlite3StreamPqWriterAdd(w, &row);
    CHECK(rc==SQLITE_CONSTRAINT && strcmp(sqlite3StreamPqWriterErrmsg(w),
          "parquet: offset 1010 is not greater than previous offset 1010")==0,
          "3.8 offset order: %s", sqlite3StreamPqWriterErrmsg(w));
    CHECK(sqlite3StreamPqWriterFinish(w)==SQLITE_CONSTRAINT, "3.9 sticky");
    sqlite3StreamPqWriterFree(w);
    sqlite3StreamPqBufFree(&buf);
    CHECK(sqlite3StreamPqWriterOpen(&w, 7, 0, sqlite3StreamPqMemWrite, &buf)==SQLITE_MISUSE
          && w==0, "3.10 bad codec");
  }
  testFreeRows(aRow, 50);
}

/* First occurrence of zFind in the footer (the schema comes first). */
static u8 *testFind(StreamPqBuf *p, const char *zFind){
  size_t n = strlen(zFind), i;
  u32 nFooter = p->a[p->n-8] | (p->a[p->n-7]<<8) | (p->a[p->n-6]<<16)
              | ((u32)p->a[p->n-5]<<24);
  for(i=p->n-8-nFooter; i+n<=p->n-8; i++){
    if( memcmp(&p->a[i], zFind, n)==0 ) return &p->a[i];
  }
  return 0;
}

/* 4.x: corrupt and truncated files. */
static void test_corrupt(void){
  StreamPqBuf buf, bad;
  TestRow *aRow = (TestRow*)calloc(8, sizeof(TestRow));
  char *zErr = 0;
  int i, n, eCodec;
  int nClean = 0, nTotal = 0, nOk = 0, nWrong = 0;
  for(i=0; i<8; i++) testMakeRow(&aRow[i], i, "tp");

  for(eCodec=0; eCodec<=2; eCodec++){
    testWrite(&buf, eCodec, 3, aRow, 8);
    memset(&bad, 0, sizeof(bad));
    nClean = nTotal = nOk = 0;
    /* Truncated at every length. */
    for(i=0; i<(int)buf.n; i++){
      bad.a = buf.a; bad.n = (size_t)i;
      n = testReadAll(&bad, &zErr);
      nTotal++;
      if( n<0 && zErr && strncmp(zErr, "parquet: ", 9)==0 ) nClean++;
      sqlite3_free(zErr);
    }
    CHECK(nClean==nTotal, "4.1 %s truncations: %d of %d clean", azCodec[eCodec], nClean, nTotal);

    /* Every byte flipped three ways: clean error or a successful read. */
    nClean = nTotal = nOk = 0;
    bad.a = (u8*)malloc(buf.n); bad.n = buf.n;
    for(i=0; i<(int)buf.n; i++){
      static const u8 aX[] = { 0xff, 0x01, 0x80 };
      int k;
      for(k=0; k<3; k++){
        memcpy(bad.a, buf.a, buf.n);
        bad.a[i] ^= aX[k];
        n = testReadAll(&bad, &zErr);
        nTotal++;
        if( n>=0 ) nOk++;
        else if( zErr && strncmp(zErr, "parquet: ", 9)==0 ) nClean++;
        else printf("  flip %d/%d: no message\n", i, k);
        sqlite3_free(zErr);
        if( n>=0 && testReadWrong(&bad, aRow, 8) ){
          nWrong++;
          if( nWrong<=3 ) printf("  flip %d/%d: wrong rows\n", i, k);
        }
      }
    }
    CHECK(nClean+nOk==nTotal, "4.2 %s flips: %d clean errors + %d reads of %d",
          azCodec[eCodec], nClean, nOk, nTotal);
    /* A read that succeeds returns the rows written: page data carries a
    ** CRC-32, and every other byte is checked or harmless. */
    CHECK(nWrong==0, "4.2.1 %s flips: %d reads returned other rows",
          azCodec[eCodec], nWrong);
    nWrong = 0;
    free(bad.a);
    sqlite3StreamPqBufFree(&buf);
  }

  /* Specific messages. */
  testWrite(&buf, STREAM_CODEC_NONE, 3, aRow, 8);
  bad.a = (u8*)malloc(buf.n); bad.n = buf.n;
  {
    u8 *pName;
    memcpy(bad.a, buf.a, buf.n);
    pName = testFind(&bad, "offset");
    pName[5] = 'x';
    n = testReadAll(&bad, &zErr);
    CHECK(n<0 && zErr && strcmp(zErr, "parquet: column 3 is named 'offsex', expected 'offset'")==0,
          "4.3 %s", zErr);
    sqlite3_free(zErr);

    memcpy(bad.a, buf.a, buf.n);
    pName = testFind(&bad, "offset");
    /* SchemaElement: 0x15 type 0x25 rep 0x18 len name */
    CHECK(pName[-6]==0x15 && pName[-5]==4, "4.4 layout");
    pName[-5] = 12;                       /* zigzag(6) = BYTE_ARRAY */
    n = testReadAll(&bad, &zErr);
    CHECK(n<0 && zErr && strcmp(zErr, "parquet: column 'offset' has type BYTE_ARRAY, expected INT64")==0,
          "4.5 %s", zErr);
    sqlite3_free(zErr);

    memcpy(bad.a, buf.a, buf.n);
    bad.a[0] = 'X';
    n = testReadAll(&bad, &zErr);
    CHECK(n<0 && zErr && strcmp(zErr, "parquet: bad magic at start of file")==0, "4.6 %s", zErr);
    sqlite3_free(zErr);

    memcpy(bad.a, buf.a, buf.n);
    bad.a[buf.n-8] = 0xff; bad.a[buf.n-7] = 0xff;
    n = testReadAll(&bad, &zErr);
    CHECK(n<0 && zErr && strncmp(zErr, "parquet: truncated footer", 25)==0, "4.7 %s", zErr);
    sqlite3_free(zErr);

    bad.n = 5;
    n = testReadAll(&bad, &zErr);
    CHECK(n<0 && zErr && strcmp(zErr, "parquet: file too small (5 bytes)")==0, "4.8 %s", zErr);
    sqlite3_free(zErr);

    /* A data page header smashed: the first page of column "topic". */
    memcpy(bad.a, buf.a, buf.n); bad.n = buf.n;
    bad.a[4] = 0xff; bad.a[5] = 0xff;
    n = testReadAll(&bad, &zErr);
    CHECK(n<0 && zErr && strstr(zErr, "parquet: column 'topic': ")==zErr, "4.9 %s", zErr);
    sqlite3_free(zErr);
  }
  free(bad.a);
  sqlite3StreamPqBufFree(&buf);
  testFreeRows(aRow, 8);
}

/* Append a JSON string literal of n bytes to f (bytes >= 0x80 as is). */
static void testJsonStr(FILE *f, const char *z, int n){
  int i;
  fputc('"', f);
  for(i=0; i<n; i++){
    unsigned char c = (unsigned char)z[i];
    if( c=='"' || c=='\\' ) fprintf(f, "\\%c", c);
    else if( c<0x20 ) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static void testJsonBytes(FILE *f, int eType, const void *p, int n){
  int i;
  if( eType==STREAM_PQ_NULL ){ fprintf(f, "null"); return; }
  if( eType==STREAM_PQ_TEXT ){ testJsonStr(f, (const char*)p, n); return; }
  fprintf(f, "{\"hex\":\"");
  for(i=0; i<n; i++) fprintf(f, "%02x", ((const u8*)p)[i]);
  fprintf(f, "\"}");
}

/* --interop DIR: DIR/{text,mixed}_{none,gzip,zstd}.parquet + .jsonl */
static int testInterop(const char *zDir){
  int nRow = 60, i, eCodec, bMixed;
  TestRow *aRow = (TestRow*)calloc(nRow, sizeof(TestRow));
  nTestBig = 3000;
  for(i=0; i<nRow; i++) testMakeRow(&aRow[i], i, "orders-\xc3\xa9");
  for(bMixed=0; bMixed<2; bMixed++){
    char zPath[512];
    FILE *f;
    /* The "text" set turns BLOB values into TEXT and shrinks the big one,
    ** so the value column carries the JSON logical type. */
    if( !bMixed ){
      for(i=0; i<nRow; i++){
        if( aRow[i].r.eValueType==STREAM_PQ_BLOB ){
          aRow[i].r.eValueType = STREAM_PQ_TEXT;
          aRow[i].r.pValue = "[\"was blob\",null,true,1.5]";
          aRow[i].r.nValue = (int)strlen("[\"was blob\",null,true,1.5]");
        }
      }
    }else{
      for(i=0; i<nRow; i++){ free(aRow[i].aBuf); testMakeRow(&aRow[i], i, "orders-\xc3\xa9"); }
    }
    snprintf(zPath, sizeof(zPath), "%s/%s.jsonl", zDir, bMixed ? "mixed" : "text");
    f = fopen(zPath, "wb");
    if( f==0 ){ perror(zPath); return 1; }
    for(i=0; i<nRow; i++){
      StreamPqRow *r = &aRow[i].r;
      fprintf(f, "{\"topic\":");
      testJsonStr(f, r->zTopic, r->nTopic);
      fprintf(f, ",\"partition\":%d,\"offset\":\"%lld\",\"key\":", r->iPartition, r->iOffset);
      testJsonBytes(f, r->eKeyType, r->pKey, r->nKey);
      fprintf(f, ",\"value\":");
      testJsonBytes(f, r->eValueType, r->pValue, r->nValue);
      fprintf(f, ",\"headers\":");
      testJsonBytes(f, r->zHeaders ? STREAM_PQ_TEXT : 0, r->zHeaders, r->nHeaders);
      fprintf(f, ",\"timestamp_us\":\"%lld\",\"attributes\":%d}\n", r->iTimestampMs*1000,
          (r->eKeyType==STREAM_PQ_BLOB) | ((r->eValueType==STREAM_PQ_BLOB)<<1));
    }
    fclose(f);
    for(eCodec=0; eCodec<=2; eCodec++){
      StreamPqWriter *w = 0;
      int rc;
      snprintf(zPath, sizeof(zPath), "%s/%s_%s.parquet", zDir,
               bMixed ? "mixed" : "text", azCodec[eCodec]);
      f = fopen(zPath, "wb");
      if( f==0 ){ perror(zPath); return 1; }
      rc = sqlite3StreamPqWriterOpen(&w, eCodec, 16, sqlite3StreamPqFileWrite, f);
      for(i=0; rc==SQLITE_OK && i<nRow; i++) rc = sqlite3StreamPqWriterAdd(w, &aRow[i].r);
      if( rc==SQLITE_OK ) rc = sqlite3StreamPqWriterFinish(w);
      if( rc ){ printf("%s: %s\n", zPath, sqlite3StreamPqWriterErrmsg(w)); return 1; }
      sqlite3StreamPqWriterFree(w);
      fclose(f);
      printf("wrote %s\n", zPath);
    }
  }
  testFreeRows(aRow, nRow);
  return 0;
}

static double testNow(void){
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec/1e9;
}

/* --bench N: rows of a 100-byte JSON value through a temporary file. */
static int testBench(int nRow, const char *zDir){
  int eCodec;
  char zVal[128], zKey[32], zPath[512];
  for(eCodec=0; eCodec<=2; eCodec++){
    StreamPqWriter *w = 0;
    StreamPqReader *r = 0;
    StreamPqRow row;
    FILE *f;
    double t0, t1, t2;
    int i, rc, n = 0;
    long nFile;
    char *zErr = 0;
    i64 nSum = 0;
    snprintf(zPath, sizeof(zPath), "%s/bench_%s.parquet", zDir, azCodec[eCodec]);
    f = fopen(zPath, "wb");
    if( !f ){ perror(zPath); return 1; }
    t0 = testNow();
    rc = sqlite3StreamPqWriterOpen(&w, eCodec, 0, sqlite3StreamPqFileWrite, f);
    for(i=0; rc==SQLITE_OK && i<nRow; i++){
      memset(&row, 0, sizeof(row));
      row.zTopic = "bench"; row.nTopic = 5; row.iOffset = i;
      row.iTimestampMs = 1700000000000LL + i;
      row.nKey = snprintf(zKey, sizeof(zKey), "user-%d", i%1000);
      row.pKey = zKey; row.eKeyType = STREAM_PQ_TEXT;
      row.nValue = snprintf(zVal, sizeof(zVal),
          "{\"id\":%010d,\"user\":\"user-%04d\",\"amount\":%6d.%02d,\"status\":\"pending\",\"pad\":\"xxxxxxxxxxxxxxxxx\"}",
          i, i%1000, i%100000, i%100);
      row.pValue = zVal; row.eValueType = STREAM_PQ_TEXT;
      rc = sqlite3StreamPqWriterAdd(w, &row);
    }
    if( rc==SQLITE_OK ) rc = sqlite3StreamPqWriterFinish(w);
    if( rc ){ printf("bench write: %s\n", sqlite3StreamPqWriterErrmsg(w)); return 1; }
    sqlite3StreamPqWriterFree(w);
    fclose(f);
    t1 = testNow();
    f = fopen(zPath, "rb");
    fseek(f, 0, SEEK_END);
    nFile = ftell(f);
    rc = sqlite3StreamPqReaderOpen(&r, sqlite3StreamPqFileRead, f, nFile, &zErr);
    if( rc ){ printf("bench open: %s\n", zErr); return 1; }
    while( (rc = sqlite3StreamPqReaderNext(r, &row))==SQLITE_ROW ){ n++; nSum += row.nValue; }
    t2 = testNow();
    if( rc!=SQLITE_DONE || n!=nRow ){ printf("bench read: %s\n", sqlite3StreamPqReaderErrmsg(r)); return 1; }
    sqlite3StreamPqReaderClose(r);
    fclose(f);
    printf("%-5s %d rows (value %d bytes), file %ld bytes: write %.0f rows/s (%.2fs), read %.0f rows/s (%.2fs)\n",
           azCodec[eCodec], nRow, (int)(nSum/nRow), nFile, nRow/(t1-t0), t1-t0, nRow/(t2-t1), t2-t1);
    remove(zPath);
  }
  return 0;
}

/* --seeds DIR: small valid files for the fuzzer's corpus. */
static int testSeeds(const char *zDir){
  TestRow *aRow = (TestRow*)calloc(8, sizeof(TestRow));
  int i, eCodec;
  nTestBig = 40;
  for(i=0; i<8; i++) testMakeRow(&aRow[i], i, "seed");
  for(eCodec=0; eCodec<=2; eCodec++){
    int j;
    for(j=0; j<2; j++){
      StreamPqBuf buf;
      char zPath[512];
      FILE *f;
      testWrite(&buf, eCodec, 3, aRow, j ? 1 : 8);
      snprintf(zPath, sizeof(zPath), "%s/seed_%s_%d.parquet", zDir,
               azCodec[eCodec], j ? 1 : 8);
      f = fopen(zPath, "wb");
      if( f==0 ){ perror(zPath); return 1; }
      fwrite(buf.a, 1, buf.n, f);
      fclose(f);
      sqlite3StreamPqBufFree(&buf);
    }
  }
  testFreeRows(aRow, 8);
  return 0;
}

int main(int argc, char **argv){
  if( argc==3 && strcmp(argv[1], "--interop")==0 ) return testInterop(argv[2]);
  if( argc==3 && strcmp(argv[1], "--seeds")==0 ) return testSeeds(argv[2]);
  if( argc>=3 && strcmp(argv[1], "--bench")==0 ){
    return testBench(atoi(argv[2]), argc>3 ? argv[3] : "/tmp");
  }
  test_thrift();
  test_roundtrip();
  test_edges();
  test_corrupt();
  printf("%d passed, %d failed\n", nPass, nFail);
  return nFail ? 1 : 0;
}
