/*
** fuzz_parquet.c - libFuzzer target for the warm tier's Parquet reader.
**
**   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -DSQLITE_CORE \
**     -Iext test/fuzz/fuzz_parquet.c ext/thrift.c ext/parquet_read.c \
**     ext/parquet_write.c ext/codec.c -lsqlite3 -lz -lzstd -o fuzz_parquet
**   ./fuzz_parquet -max_total_time=60 -max_len=16384 \
**     test/fuzz/corpus/parquet
**
** The input is a whole file, read through the memory source.  Every
** outcome is fine except a crash, a sanitizer report, a hang or a leak;
** an error must come with a "parquet: " message.  Seeds in
** test/fuzz/corpus/parquet are small files from our writer (test_parquet
** --seeds) plus any crashers found, kept as regression inputs.
*/
#include "streamInt.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData){
  StreamPqBuf buf;
  StreamPqReader *r = 0;
  StreamPqRow row;
  char *zErr = 0;
  int rc, i, n = 0;
  volatile unsigned int h = 0;

  memset(&buf, 0, sizeof(buf));
  buf.a = (u8*)aData;
  buf.n = nData;
  rc = sqlite3StreamPqReaderOpen(&r, sqlite3StreamPqMemRead, &buf,
                                 (i64)nData, &zErr);
  if( rc ){
    if( zErr==0 && rc!=SQLITE_NOMEM ) abort();
    if( zErr && strncmp(zErr, "parquet: ", 9) ) abort();
    sqlite3_free(zErr);
    return 0;
  }
  for(i=0; i<sqlite3StreamPqReaderGroups(r); i++){
    const StreamPqGroupInfo *g = sqlite3StreamPqReaderGroup(r, i);
    h += (unsigned)g->nRows + (unsigned)g->iOffsetMax;
  }
  sqlite3StreamPqReaderMeta(r, "sqlite-stream.topic");
  while( (rc = sqlite3StreamPqReaderNext(r, &row))==SQLITE_ROW ){
    /* Touch every byte the reader hands out. */
    int k;
    for(k=0; k<row.nTopic; k++) h += (u8)row.zTopic[k];
    for(k=0; k<row.nKey; k++) h += ((const u8*)row.pKey)[k];
    for(k=0; k<row.nValue; k++) h += ((const u8*)row.pValue)[k];
    for(k=0; k<row.nHeaders; k++) h += (u8)row.zHeaders[k];
    n++;
  }
  if( rc!=SQLITE_DONE ){
    const char *z = sqlite3StreamPqReaderErrmsg(r);
    if( rc!=SQLITE_NOMEM && (z==0 || strncmp(z, "parquet: ", 9)) ) abort();
  }else if( n>0 ){
    /* Seek into the middle, then read on. */
    sqlite3StreamPqReaderClose(r);
    r = 0;
    if( sqlite3StreamPqReaderOpen(&r, sqlite3StreamPqMemRead, &buf,
                                  (i64)nData, 0)==SQLITE_OK
     && sqlite3StreamPqReaderSeek(r, (i64)(nData % 64) + 1000)==SQLITE_OK
    ){
      while( sqlite3StreamPqReaderNext(r, &row)==SQLITE_ROW ) h++;
    }
  }
  sqlite3StreamPqReaderClose(r);
  return 0;
}
