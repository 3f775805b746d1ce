/*
** parquet_write.c - incremental Parquet writer for the warm tier.
**
** Rows go in one at a time (sqlite3StreamPqWriterAdd); bytes come out
** through the caller's sink (xWrite) in file order, so a file of any size
** is written with memory bounded by one row group:
**
**   "PAR1"
**   row group 0: column chunk 0 .. column chunk 7
**   row group 1: ...
**   FileMetaData (Thrift compact)   u32 length   "PAR1"
**
** Each column of the open row group keeps the PLAIN values of its open
** data page (plus one definition level byte per value for the OPTIONAL
** columns) and the finished pages of its chunk.  A page is closed at about
** STREAM_PQ_PAGE_BYTES of values; a row group is flushed to the sink at
** nGroupRows rows or STREAM_PQ_GROUP_BYTES bytes.  Only small per-chunk
** facts (offsets, sizes, statistics) are kept for the footer.
**
** Page body (data page v1): [u32 length][RLE/bit-packed definition levels]
** for OPTIONAL columns, then the PLAIN values of the non-null rows; the
** whole body is compressed.  See /work/shared/notes/formats.md.
*/
#include "streamInt.h"
#include <zlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Close a data page once its values reach this size. */
#define STREAM_PQ_PAGE_BYTES  (1024*1024)

/* Codec levels of data pages (0: the codec's default, gzip 6).  ZSTD level
** 1 rather than zstd's default 3: on stream messages (JSON values, keys,
** mostly constant topic/partition/attribute columns, close offsets and
** timestamps) it makes files as small (10.0 -> 9.9 bytes per message on
** test/bench/bench_tier.c) and compresses faster; see BENCHMARKS.md. */
#ifndef STREAM_PQ_ZSTD_LEVEL
# define STREAM_PQ_ZSTD_LEVEL 1
#endif
#ifndef STREAM_PQ_GZIP_LEVEL
# define STREAM_PQ_GZIP_LEVEL 0
#endif

/* Flush a row group early once it holds this many bytes. */
#define STREAM_PQ_GROUP_BYTES (64*1024*1024)

/* Parquet enums used here (parquet.thrift). */
#define PQ_INT32       1
#define PQ_INT64       2
#define PQ_BYTE_ARRAY  6
#define PQ_REQUIRED    0
#define PQ_OPTIONAL    1
#define PQ_PLAIN       0
#define PQ_RLE         3
#define PQ_DATA_PAGE   0
#define PQ_CT_UTF8     0
#define PQ_CT_TS_MICROS 10
#define PQ_CT_JSON     19

/* Column indexes. */
#define COL_TOPIC      0
#define COL_PARTITION  1
#define COL_OFFSET     2
#define COL_KEY        3
#define COL_VALUE      4
#define COL_HEADERS    5
#define COL_TIMESTAMP  6
#define COL_ATTRIBUTES 7

static const struct {
  const char *zName;              /* Column name */
  int eType;                      /* Physical type */
  int bOptional;                  /* OPTIONAL (else REQUIRED) */
  int bStats;                     /* Write min/max statistics */
} aPqWriteCol[STREAM_PQ_NCOL] = {
  { "topic",      PQ_BYTE_ARRAY, 0, 0 },
  { "partition",  PQ_INT32,      0, 1 },
  { "offset",     PQ_INT64,      0, 1 },
  { "key",        PQ_BYTE_ARRAY, 1, 0 },
  { "value",      PQ_BYTE_ARRAY, 1, 0 },
  { "headers",    PQ_BYTE_ARRAY, 1, 0 },
  { "timestamp",  PQ_INT64,      0, 1 },
  { "attributes", PQ_INT32,      0, 0 },
};

/* Footer facts of one column chunk. */
typedef struct StreamPqChunkMeta StreamPqChunkMeta;
struct StreamPqChunkMeta {
  i64 iDataOff;                   /* File offset of the first page */
  i64 nCompressed;                /* Bytes in the file, headers included */
  i64 nUncompressed;              /* Same, uncompressed */
  i64 nValues;                    /* Values including NULLs */
  i64 nNulls;                     /* NULLs */
  i64 iMin, iMax;                 /* Statistics (bStats columns) */
};

/* Footer facts of one row group. */
typedef struct StreamPqGroupMeta StreamPqGroupMeta;
struct StreamPqGroupMeta {
  i64 nRows;                      /* Rows */
  StreamPqChunkMeta aChunk[STREAM_PQ_NCOL];
};

/* One column of the open row group. */
typedef struct StreamPqColWriter StreamPqColWriter;
struct StreamPqColWriter {
  StreamPqBuf page;               /* PLAIN values of the open page */
  StreamPqBuf levels;             /* One def level byte per value (OPTIONAL)*/
  int nPageValues;                /* Values (incl. NULLs) in the open page */
  StreamPqBuf chunk;              /* Finished pages of this chunk */
  StreamPqChunkMeta meta;         /* Running totals of this chunk */
};

struct StreamPqWriter {
  int eCodec;                     /* STREAM_CODEC_* */
  int nGroupRows;                 /* Rows per row group */
  StreamPqWriteFn xWrite;         /* Sink */
  void *pCtx;                     /* First argument of xWrite */
  i64 iOff;                       /* Bytes handed to the sink */
  int rc;                         /* Sticky error code */
  char *zErr;                     /* Error message (sqlite3_mprintf) */
  int bFinished;                  /* Footer written */
  StreamPqColWriter aCol[STREAM_PQ_NCOL];
  int nRowsInGroup;               /* Rows in the open row group */
  StreamPqBuf scratch;            /* Page body / footer under construction */
  StreamPqGroupMeta *aGroup;      /* Finished row groups */
  int nGroup;                     /* Entries used in aGroup */
  int nGroupAlloc;                /* Entries allocated in aGroup */
  i64 nRows;                      /* Rows added */
  i64 iFirstOffset;               /* Offset of the first row */
  i64 iLastOffset;                /* Offset of the last row */
  int bValueBlob;                 /* Some value is a BLOB: no JSON type */
  int bIceberg;                   /* Cold tier: value binary, headers STRING */
  char *zTopic;                   /* Topic of the first row */
  int iPartition;                 /* Partition of the first row */
  int nMeta;                      /* Extra key_value_metadata pairs */
  char **azMeta;                  /* 2*nMeta strings, key then value */
};

/**************************************************************************
** Sinks and sources
*/

int sqlite3StreamPqMemWrite(void *pCtx, const void *p, size_t n){
  StreamPqBuf *pBuf = (StreamPqBuf*)pCtx;
  sqlite3StreamPqBufAppend(pBuf, p, n);
  return pBuf->rc;
}

int sqlite3StreamPqMemRead(void *pCtx, void *pBuf, size_t n, i64 iOff){
  StreamPqBuf *p = (StreamPqBuf*)pCtx;
  if( iOff<0 || (u64)iOff>p->n || n>p->n-(size_t)iOff ){
    return SQLITE_IOERR_SHORT_READ;
  }
  if( n ) memcpy(pBuf, &p->a[iOff], n);
  return SQLITE_OK;
}

int sqlite3StreamPqFileWrite(void *pCtx, const void *p, size_t n){
  if( n && fwrite(p, 1, n, (FILE*)pCtx)!=n ) return SQLITE_IOERR_WRITE;
  return SQLITE_OK;
}

int sqlite3StreamPqFileRead(void *pCtx, void *pBuf, size_t n, i64 iOff){
  FILE *f = (FILE*)pCtx;
  /* fseek() takes a long: 64 bits on the LP64 systems we build on. */
  if( iOff<0 || (i64)(long)iOff!=iOff || fseek(f, (long)iOff, SEEK_SET) ){
    return SQLITE_IOERR_SEEK;
  }
  if( n && fread(pBuf, 1, n, f)!=n ) return SQLITE_IOERR_SHORT_READ;
  return SQLITE_OK;
}

/**************************************************************************
** Writer internals
*/

/* Record an error (first one wins) and return the writer's code. */
static int streamPqWriterError(
  StreamPqWriter *p, int rc, const char *zFmt, ...
){
  if( p->rc==SQLITE_OK ){
    va_list ap;
    char *z;
    va_start(ap, zFmt);
    z = sqlite3_vmprintf(zFmt, ap);
    va_end(ap);
    p->rc = rc;
    p->zErr = sqlite3_mprintf(STREAM_PQ_ERR "%z", z);
  }
  return p->rc;
}

static int streamPqWriterOom(StreamPqWriter *p){
  return streamPqWriterError(p, SQLITE_NOMEM, "out of memory");
}

/* Hand n bytes to the sink. */
static int streamPqSink(StreamPqWriter *p, const void *a, size_t n){
  int rc;
  if( p->rc ) return p->rc;
  rc = p->xWrite(p->pCtx, a, n);
  if( rc ) return streamPqWriterError(p, rc, "write failed (error %d)", rc);
  p->iOff += (i64)n;
  return SQLITE_OK;
}

/*
** Append the RLE/bit-packed hybrid encoding (bit width 1) of the n levels
** in aLvl to pOut.  Runs of 8 or more equal levels become RLE runs, the
** rest bit-packed groups of 8 (the last group padded with zeros).
*/
static void streamPqEncodeLevels(StreamPqBuf *pOut, const u8 *aLvl, int n){
  int i = 0;
  int iBp = -1;                   /* Start of pending bit-packed values */
  while( i<n ){
    int nRun = 1;
    while( i+nRun<n && aLvl[i+nRun]==aLvl[i] ) nRun++;
    if( nRun>=8 || (iBp<0 && i+nRun==n) ){
      if( iBp>=0 ){
        /* Flush the pending groups: (i - iBp) is a multiple of 8. */
        int nGroup = (i - iBp)/8, g, k;
        sqlite3StreamPqBufVarint(pOut, ((u64)nGroup<<1) | 1);
        for(g=0; g<nGroup; g++){
          u8 c = 0;
          for(k=0; k<8; k++) c |= (u8)(aLvl[iBp+g*8+k] << k);
          sqlite3StreamPqBufAppend(pOut, &c, 1);
        }
        iBp = -1;
      }
      sqlite3StreamPqBufVarint(pOut, (u64)nRun<<1);
      sqlite3StreamPqBufAppend(pOut, &aLvl[i], 1);
      i += nRun;
    }else{
      if( iBp<0 ) iBp = i;
      i += 8;
      if( i>=n ){
        int nGroup = (n - iBp + 7)/8, g, k;
        sqlite3StreamPqBufVarint(pOut, ((u64)nGroup<<1) | 1);
        for(g=0; g<nGroup; g++){
          u8 c = 0;
          for(k=0; k<8 && iBp+g*8+k<n; k++){
            c |= (u8)(aLvl[iBp+g*8+k] << k);
          }
          sqlite3StreamPqBufAppend(pOut, &c, 1);
        }
        iBp = -1;
      }
    }
  }
}

/* Close the open page of column iCol (if it has values): build the body,
** compress it and append header + body to the column's chunk. */
static int streamPqClosePage(StreamPqWriter *p, int iCol){
  StreamPqColWriter *pCol = &p->aCol[iCol];
  StreamPqBuf *pBody = &p->scratch;
  StreamPqBuf hdr = {0, 0, 0, 0};
  const u8 *aData;
  size_t nData;
  void *pComp = 0;
  int iLast = 0, iLast2 = 0;
  int rc;

  if( p->rc || pCol->nPageValues==0 ) return p->rc;
  sqlite3StreamPqBufReset(pBody);
  if( aPqWriteCol[iCol].bOptional ){
    size_t iLen;
    sqlite3StreamPqBufU32(pBody, 0);
    iLen = pBody->n;
    streamPqEncodeLevels(pBody, pCol->levels.a, pCol->nPageValues);
    if( pBody->rc==SQLITE_OK ){
      u32 nLvl = (u32)(pBody->n - iLen);
      pBody->a[0] = (u8)nLvl;       pBody->a[1] = (u8)(nLvl>>8);
      pBody->a[2] = (u8)(nLvl>>16); pBody->a[3] = (u8)(nLvl>>24);
    }
  }
  sqlite3StreamPqBufAppend(pBody, pCol->page.a, pCol->page.n);
  if( pBody->rc ) return streamPqWriterOom(p);
  if( pBody->n > (size_t)INT32_MAX ){
    return streamPqWriterError(p, SQLITE_TOOBIG, "page of column '%s' too "
        "large", aPqWriteCol[iCol].zName);
  }

  if( p->eCodec==STREAM_CODEC_NONE ){
    aData = pBody->a;
    nData = pBody->n;
  }else{
    rc = sqlite3StreamCompressLevel(p->eCodec,
        p->eCodec==STREAM_CODEC_ZSTD ? STREAM_PQ_ZSTD_LEVEL
                                     : STREAM_PQ_GZIP_LEVEL,
        pBody->a, pBody->n, &pComp, &nData);
    if( rc ){
      return streamPqWriterError(p, rc, "compression failed (error %d)", rc);
    }
    aData = (const u8*)pComp;
    if( nData > (size_t)INT32_MAX ){
      sqlite3_free(pComp);
      return streamPqWriterError(p, SQLITE_TOOBIG, "page too large");
    }
  }

  /* PageHeader (a few dozen bytes), then the body. */
  sqlite3StreamThriftI32(&hdr, &iLast, 1, PQ_DATA_PAGE);
  sqlite3StreamThriftI32(&hdr, &iLast, 2, (int)pBody->n);
  sqlite3StreamThriftI32(&hdr, &iLast, 3, (int)nData);
  /* crc: CRC-32 of the page data as stored (the reader checks it). */
  sqlite3StreamThriftI32(&hdr, &iLast, 4,
                         (int)crc32(0L, aData, (uInt)nData));
  sqlite3StreamThriftField(&hdr, &iLast, STREAM_THRIFT_STRUCT, 5);
  sqlite3StreamThriftI32(&hdr, &iLast2, 1, pCol->nPageValues);
  sqlite3StreamThriftI32(&hdr, &iLast2, 2, PQ_PLAIN);
  sqlite3StreamThriftI32(&hdr, &iLast2, 3, PQ_RLE);
  sqlite3StreamThriftI32(&hdr, &iLast2, 4, PQ_RLE);
  sqlite3StreamThriftStructEnd(&hdr);      /* DataPageHeader */
  sqlite3StreamThriftStructEnd(&hdr);      /* PageHeader */
  sqlite3StreamPqBufAppend(&pCol->chunk, hdr.a, hdr.n);
  sqlite3StreamPqBufAppend(&pCol->chunk, aData, nData);
  pCol->meta.nCompressed += (i64)(hdr.n + nData);
  pCol->meta.nUncompressed += (i64)(hdr.n + pBody->n);
  rc = pCol->chunk.rc ? pCol->chunk.rc : hdr.rc;
  sqlite3StreamPqBufFree(&hdr);
  sqlite3_free(pComp);
  if( rc ) return streamPqWriterOom(p);

  pCol->nPageValues = 0;
  sqlite3StreamPqBufReset(&pCol->page);
  sqlite3StreamPqBufReset(&pCol->levels);
  return SQLITE_OK;
}

/* Close every open page, write the row group's chunks to the sink and
** remember their facts for the footer. */
static int streamPqFlushGroup(StreamPqWriter *p){
  StreamPqGroupMeta *pGroup;
  int i;
  if( p->rc || p->nRowsInGroup==0 ) return p->rc;
  for(i=0; i<STREAM_PQ_NCOL; i++) streamPqClosePage(p, i);
  if( p->rc ) return p->rc;
  if( p->nGroup>=p->nGroupAlloc ){
    int nNew = p->nGroupAlloc ? p->nGroupAlloc*2 : 16;
    StreamPqGroupMeta *aNew = (StreamPqGroupMeta*)sqlite3_realloc64(
        p->aGroup, sizeof(StreamPqGroupMeta)*(u64)nNew);
    if( aNew==0 ) return streamPqWriterOom(p);
    p->aGroup = aNew;
    p->nGroupAlloc = nNew;
  }
  pGroup = &p->aGroup[p->nGroup];
  pGroup->nRows = p->nRowsInGroup;
  for(i=0; i<STREAM_PQ_NCOL; i++){
    StreamPqColWriter *pCol = &p->aCol[i];
    pCol->meta.iDataOff = p->iOff;
    if( streamPqSink(p, pCol->chunk.a, pCol->chunk.n) ) return p->rc;
    pGroup->aChunk[i] = pCol->meta;
    memset(&pCol->meta, 0, sizeof(pCol->meta));
    sqlite3StreamPqBufReset(&pCol->chunk);
  }
  p->nGroup++;
  p->nRowsInGroup = 0;
  return SQLITE_OK;
}

/* Room for n more bytes in pBuf: non-zero if there is (else its rc is
** SQLITE_NOMEM).  The check inline, the growth out of line. */
#define PQ_ROOM(pBuf, nMore) ((pBuf)->n + (nMore) <= (pBuf)->nAlloc \
                              || sqlite3StreamPqBufReserve(pBuf, nMore)==0)

/* Little-endian stores. */
static void streamPqPut32(u8 *a, u32 v){
  a[0] = (u8)v; a[1] = (u8)(v>>8); a[2] = (u8)(v>>16); a[3] = (u8)(v>>24);
}
static void streamPqPut64(u8 *a, u64 v){
  streamPqPut32(a, (u32)v);
  streamPqPut32(&a[4], (u32)(v>>32));
}

/* Add one BYTE_ARRAY value (or NULL if bNull) to column iCol's open page:
** the definition level (OPTIONAL columns), then 4-byte length + bytes.
** A failed allocation leaves the buffer's rc set (checked per row). */
static void streamPqAddBytes(
  StreamPqWriter *p, int iCol, int bNull, const void *pData, int nData
){
  StreamPqColWriter *pCol = &p->aCol[iCol];
  if( aPqWriteCol[iCol].bOptional && PQ_ROOM(&pCol->levels, 1) ){
    pCol->levels.a[pCol->levels.n++] = bNull ? 0 : 1;
  }
  if( bNull ){
    pCol->meta.nNulls++;
  }else if( PQ_ROOM(&pCol->page, 4 + (size_t)nData) ){
    u8 *a = &pCol->page.a[pCol->page.n];
    streamPqPut32(a, (u32)nData);
    if( nData ) memcpy(&a[4], pData, (size_t)nData);
    pCol->page.n += 4 + (size_t)nData;
  }
  pCol->meta.nValues++;
  pCol->nPageValues++;
}

/* Add one INT32 or INT64 value (REQUIRED columns) to column iCol's open
** page, with its min/max statistics for bStats columns. */
static void streamPqAddInt(StreamPqWriter *p, int iCol, i64 iVal){
  StreamPqColWriter *pCol = &p->aCol[iCol];
  StreamPqChunkMeta *pMeta = &pCol->meta;
  if( aPqWriteCol[iCol].eType==PQ_INT32 ){
    if( PQ_ROOM(&pCol->page, 4) ){
      streamPqPut32(&pCol->page.a[pCol->page.n], (u32)iVal);
      pCol->page.n += 4;
    }
  }else if( PQ_ROOM(&pCol->page, 8) ){
    streamPqPut64(&pCol->page.a[pCol->page.n], (u64)iVal);
    pCol->page.n += 8;
  }
  if( aPqWriteCol[iCol].bStats ){
    if( pMeta->nValues==0 || iVal<pMeta->iMin ) pMeta->iMin = iVal;
    if( pMeta->nValues==0 || iVal>pMeta->iMax ) pMeta->iMax = iVal;
  }
  pMeta->nValues++;
  pCol->nPageValues++;
}

/**************************************************************************
** Footer
*/

/* Append a KeyValue struct as a list element. */
static void streamPqKeyValue(
  StreamPqBuf *b, const char *zKey, const char *zVal
){
  int iLast = 0;
  sqlite3StreamThriftBinary(b, &iLast, 1, zKey, strlen(zKey));
  sqlite3StreamThriftBinary(b, &iLast, 2, zVal, strlen(zVal));
  sqlite3StreamThriftStructEnd(b);
}

/* Append the SchemaElement of column iCol as a list element. */
static void streamPqSchemaElement(StreamPqWriter *p, StreamPqBuf *b, int iCol){
  int iLast = 0, iLast2 = 0, iLast3 = 0;
  int eCt = -1;                   /* Converted type, or -1 */
  int eLt = 0;                    /* LogicalType union field, or 0 */
  const char *zName = aPqWriteCol[iCol].zName;
  switch( iCol ){
    case COL_TOPIC:     eCt = PQ_CT_UTF8;  eLt = 1;  break;
    case COL_HEADERS:
      if( p->bIceberg ){ eCt = PQ_CT_UTF8; eLt = 1; }
      else{ eCt = PQ_CT_JSON;  eLt = 12; }
      break;
    case COL_TIMESTAMP: eCt = PQ_CT_TS_MICROS; eLt = 8; break;
    case COL_VALUE:
      if( !p->bValueBlob && !p->bIceberg ){ eCt = PQ_CT_JSON; eLt = 12; }
      break;
  }
  sqlite3StreamThriftI32(b, &iLast, 1, aPqWriteCol[iCol].eType);
  sqlite3StreamThriftI32(b, &iLast, 3,
      aPqWriteCol[iCol].bOptional ? PQ_OPTIONAL : PQ_REQUIRED);
  sqlite3StreamThriftBinary(b, &iLast, 4, zName, strlen(zName));
  if( eCt>=0 ) sqlite3StreamThriftI32(b, &iLast, 6, eCt);
  sqlite3StreamThriftI32(b, &iLast, 9, iCol+1);
  if( eLt ){
    sqlite3StreamThriftField(b, &iLast, STREAM_THRIFT_STRUCT, 10);
    sqlite3StreamThriftField(b, &iLast2, STREAM_THRIFT_STRUCT, eLt);
    if( eLt==8 ){
      /* TimestampType { 1: isAdjustedToUTC, 2: unit = MICROS {} } */
      sqlite3StreamThriftBool(b, &iLast3, 1, 1);
      sqlite3StreamThriftField(b, &iLast3, STREAM_THRIFT_STRUCT, 2);
      {
        int iLast4 = 0;
        sqlite3StreamThriftField(b, &iLast4, STREAM_THRIFT_STRUCT, 2);
        sqlite3StreamThriftStructEnd(b);      /* MicroSeconds */
        sqlite3StreamThriftStructEnd(b);      /* TimeUnit */
      }
    }
    sqlite3StreamThriftStructEnd(b);          /* the logical type's struct */
    sqlite3StreamThriftStructEnd(b);          /* LogicalType */
  }
  sqlite3StreamThriftStructEnd(b);
}

/* Append a little-endian INT32/INT64 statistics value. */
static void streamPqStatValue(
  StreamPqBuf *b, int *piLast, int iId, int eType, i64 v
){
  u8 a[8];
  int i, n = eType==PQ_INT32 ? 4 : 8;
  for(i=0; i<n; i++) a[i] = (u8)((u64)v >> (8*i));
  sqlite3StreamThriftBinary(b, piLast, iId, a, n);
}

/* Append the ColumnChunk of column iCol of row group pGroup. */
static void streamPqColumnChunk(
  StreamPqWriter *p, StreamPqBuf *b, StreamPqGroupMeta *pGroup, int iCol
){
  const StreamPqChunkMeta *pMeta = &pGroup->aChunk[iCol];
  const char *zName = aPqWriteCol[iCol].zName;
  int iLast = 0, iLastM = 0, iLastS = 0;
  static const int aCodec[] = { 0, 2, 6 };  /* UNCOMPRESSED, GZIP, ZSTD */

  sqlite3StreamThriftI64(b, &iLast, 2, 0);    /* file_offset (required) */
  sqlite3StreamThriftField(b, &iLast, STREAM_THRIFT_STRUCT, 3);
  sqlite3StreamThriftI32(b, &iLastM, 1, aPqWriteCol[iCol].eType);
  sqlite3StreamThriftList(b, &iLastM, 2, STREAM_THRIFT_I32, 2);
  sqlite3StreamThriftZigzag(b, PQ_PLAIN);
  sqlite3StreamThriftZigzag(b, PQ_RLE);
  sqlite3StreamThriftList(b, &iLastM, 3, STREAM_THRIFT_BINARY, 1);
  sqlite3StreamPqBufVarint(b, strlen(zName));
  sqlite3StreamPqBufAppend(b, zName, strlen(zName));
  sqlite3StreamThriftI32(b, &iLastM, 4, aCodec[p->eCodec]);
  sqlite3StreamThriftI64(b, &iLastM, 5, pMeta->nValues);
  sqlite3StreamThriftI64(b, &iLastM, 6, pMeta->nUncompressed);
  sqlite3StreamThriftI64(b, &iLastM, 7, pMeta->nCompressed);
  sqlite3StreamThriftI64(b, &iLastM, 9, pMeta->iDataOff);
  sqlite3StreamThriftField(b, &iLastM, STREAM_THRIFT_STRUCT, 12);
  sqlite3StreamThriftI64(b, &iLastS, 3, pMeta->nNulls);
  if( aPqWriteCol[iCol].bStats ){
    streamPqStatValue(b, &iLastS, 5, aPqWriteCol[iCol].eType, pMeta->iMax);
    streamPqStatValue(b, &iLastS, 6, aPqWriteCol[iCol].eType, pMeta->iMin);
  }
  sqlite3StreamThriftStructEnd(b);            /* Statistics */
  sqlite3StreamThriftStructEnd(b);            /* ColumnMetaData */
  sqlite3StreamThriftStructEnd(b);            /* ColumnChunk */
}

/* Build FileMetaData in p->scratch. */
static void streamPqFooter(StreamPqWriter *p){
  StreamPqBuf *b = &p->scratch;
  int iLast = 0;
  int i, g;
  char zNum[3][32];
  static const char zRoot[] = "schema";
  static const char zCreatedBy[] =
      "sqlite-stream version " SQLITE_STREAM_VERSION;

  sqlite3StreamPqBufReset(b);
  sqlite3StreamThriftI32(b, &iLast, 1, 1);                   /* version */

  sqlite3StreamThriftList(b, &iLast, 2, STREAM_THRIFT_STRUCT, 1+STREAM_PQ_NCOL);
  {
    int iLastR = 0;
    sqlite3StreamThriftBinary(b, &iLastR, 4, zRoot, sizeof(zRoot)-1);
    sqlite3StreamThriftI32(b, &iLastR, 5, STREAM_PQ_NCOL);
    sqlite3StreamThriftStructEnd(b);
  }
  for(i=0; i<STREAM_PQ_NCOL; i++) streamPqSchemaElement(p, b, i);

  sqlite3StreamThriftI64(b, &iLast, 3, p->nRows);             /* num_rows */

  sqlite3StreamThriftList(b, &iLast, 4, STREAM_THRIFT_STRUCT, p->nGroup);
  for(g=0; g<p->nGroup; g++){
    StreamPqGroupMeta *pGroup = &p->aGroup[g];
    int iLastG = 0;
    i64 nComp = 0, nUncomp = 0;
    sqlite3StreamThriftList(b, &iLastG, 1, STREAM_THRIFT_STRUCT,
                            STREAM_PQ_NCOL);
    for(i=0; i<STREAM_PQ_NCOL; i++){
      streamPqColumnChunk(p, b, pGroup, i);
      nComp += pGroup->aChunk[i].nCompressed;
      nUncomp += pGroup->aChunk[i].nUncompressed;
    }
    sqlite3StreamThriftI64(b, &iLastG, 2, nUncomp);     /* total_byte_size */
    sqlite3StreamThriftI64(b, &iLastG, 3, pGroup->nRows);
    sqlite3StreamThriftI64(b, &iLastG, 5, pGroup->aChunk[0].iDataOff);
    sqlite3StreamThriftI64(b, &iLastG, 6, nComp);
    sqlite3StreamThriftStructEnd(b);
  }

  sqlite3_snprintf(32, zNum[0], "%d", p->iPartition);
  sqlite3_snprintf(32, zNum[1], "%lld", p->iFirstOffset);
  sqlite3_snprintf(32, zNum[2], "%lld", p->iLastOffset);
  sqlite3StreamThriftList(b, &iLast, 5, STREAM_THRIFT_STRUCT,
                          (p->nRows ? 5 : 1) + p->nMeta);
  streamPqKeyValue(b, "sqlite-stream.format", "1");
  if( p->nRows ){
    streamPqKeyValue(b, "sqlite-stream.topic", p->zTopic);
    streamPqKeyValue(b, "sqlite-stream.partition", zNum[0]);
    streamPqKeyValue(b, "sqlite-stream.first_offset", zNum[1]);
    streamPqKeyValue(b, "sqlite-stream.last_offset", zNum[2]);
  }
  for(i=0; i<p->nMeta; i++){
    streamPqKeyValue(b, p->azMeta[2*i], p->azMeta[2*i+1]);
  }

  sqlite3StreamThriftBinary(b, &iLast, 6, zCreatedBy, sizeof(zCreatedBy)-1);

  /* column_orders: TYPE_ORDER for every leaf (we write statistics). */
  sqlite3StreamThriftList(b, &iLast, 7, STREAM_THRIFT_STRUCT, STREAM_PQ_NCOL);
  for(i=0; i<STREAM_PQ_NCOL; i++){
    int iLastO = 0;
    sqlite3StreamThriftField(b, &iLastO, STREAM_THRIFT_STRUCT, 1);
    sqlite3StreamThriftStructEnd(b);          /* TypeDefinedOrder */
    sqlite3StreamThriftStructEnd(b);          /* ColumnOrder */
  }
  sqlite3StreamThriftStructEnd(b);            /* FileMetaData */
}

/**************************************************************************
** Public interface
*/

int sqlite3StreamPqWriterOpen(
  StreamPqWriter **pp, int eCodec, int nGroupRows,
  StreamPqWriteFn xWrite, void *pCtx
){
  StreamPqWriter *p;
  *pp = 0;
  if( eCodec<STREAM_CODEC_NONE || eCodec>STREAM_CODEC_ZSTD || xWrite==0 ){
    return SQLITE_MISUSE;
  }
  p = (StreamPqWriter*)sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->eCodec = eCodec;
  p->nGroupRows = nGroupRows>0 ? nGroupRows : STREAM_PQ_DEFAULT_GROUP_ROWS;
  p->xWrite = xWrite;
  p->pCtx = pCtx;
  *pp = p;
  return streamPqSink(p, "PAR1", 4);
}

int sqlite3StreamPqWriterAdd(StreamPqWriter *p, const StreamPqRow *pRow){
  int attr;
  i64 nTotal;
  if( p->rc ) return p->rc;
  if( p->bFinished ){
    return streamPqWriterError(p, SQLITE_MISUSE, "writer already finished");
  }
  if( pRow->nTopic<0 || pRow->nKey<0 || pRow->nValue<0 || pRow->nHeaders<0
   || pRow->eKeyType<STREAM_PQ_NULL || pRow->eKeyType>STREAM_PQ_BLOB
   || pRow->eValueType<STREAM_PQ_NULL || pRow->eValueType>STREAM_PQ_BLOB
   || (pRow->zTopic==0 && pRow->nTopic>0)
   || (pRow->pKey==0 && pRow->eKeyType!=STREAM_PQ_NULL && pRow->nKey>0)
   || (pRow->pValue==0 && pRow->eValueType!=STREAM_PQ_NULL && pRow->nValue>0)
  ){
    return streamPqWriterError(p, SQLITE_MISUSE, "bad row at offset %lld",
                               pRow->iOffset);
  }
  if( p->nRows>0 && pRow->iOffset<=p->iLastOffset ){
    return streamPqWriterError(p, SQLITE_CONSTRAINT,
        "offset %lld is not greater than previous offset %lld",
        pRow->iOffset, p->iLastOffset);
  }
  nTotal = (i64)pRow->nTopic + pRow->nKey + pRow->nValue
         + (pRow->zHeaders ? pRow->nHeaders : 0);
  if( nTotal>STREAM_PQ_MAX_ROW ){
    return streamPqWriterError(p, SQLITE_TOOBIG,
        "row at offset %lld is %lld bytes, limit %d",
        pRow->iOffset, nTotal, STREAM_PQ_MAX_ROW);
  }
  if( pRow->iTimestampMs>INT64_MAX/1000 || pRow->iTimestampMs<INT64_MIN/1000 ){
    return streamPqWriterError(p, SQLITE_RANGE,
        "timestamp %lld out of range", pRow->iTimestampMs);
  }
  if( p->nRows==0 ){
    p->zTopic = sqlite3_mprintf("%.*s", pRow->nTopic, pRow->zTopic);
    if( p->zTopic==0 ) return streamPqWriterOom(p);
    p->iPartition = pRow->iPartition;
    p->iFirstOffset = pRow->iOffset;
  }
  attr = (pRow->eKeyType==STREAM_PQ_BLOB ? STREAM_PQ_ATTR_KEY_BLOB : 0)
       | (pRow->eValueType==STREAM_PQ_BLOB ? STREAM_PQ_ATTR_VALUE_BLOB : 0);
  if( pRow->eValueType==STREAM_PQ_BLOB ) p->bValueBlob = 1;

  streamPqAddBytes(p, COL_TOPIC, 0, pRow->zTopic, pRow->nTopic);
  streamPqAddInt(p, COL_PARTITION, pRow->iPartition);
  streamPqAddInt(p, COL_OFFSET, pRow->iOffset);
  streamPqAddBytes(p, COL_KEY, pRow->eKeyType==STREAM_PQ_NULL,
                   pRow->pKey, pRow->nKey);
  streamPqAddBytes(p, COL_VALUE, pRow->eValueType==STREAM_PQ_NULL,
                   pRow->pValue, pRow->nValue);
  streamPqAddBytes(p, COL_HEADERS, pRow->zHeaders==0,
                   pRow->zHeaders, pRow->nHeaders);
  streamPqAddInt(p, COL_TIMESTAMP, pRow->iTimestampMs*1000);
  streamPqAddInt(p, COL_ATTRIBUTES, attr);
  {
    int i;
    size_t nGroup = 0;
    for(i=0; i<STREAM_PQ_NCOL; i++){
      if( p->aCol[i].page.rc || p->aCol[i].levels.rc ){
        return streamPqWriterOom(p);
      }
    }
    p->nRows++;
    p->iLastOffset = pRow->iOffset;
    p->nRowsInGroup++;
    for(i=0; i<STREAM_PQ_NCOL; i++){
      StreamPqColWriter *pCol = &p->aCol[i];
      if( pCol->page.n>=STREAM_PQ_PAGE_BYTES ){
        if( streamPqClosePage(p, i) ) return p->rc;
      }
      nGroup += pCol->page.n + pCol->levels.n + pCol->chunk.n;
    }
    if( p->nRowsInGroup>=p->nGroupRows || nGroup>=STREAM_PQ_GROUP_BYTES ){
      return streamPqFlushGroup(p);
    }
  }
  return SQLITE_OK;
}

int sqlite3StreamPqWriterMeta(
  StreamPqWriter *p, const char *zKey, const char *zValue
){
  char **aNew;
  if( p->rc ) return p->rc;
  if( p->bFinished ){
    return streamPqWriterError(p, SQLITE_MISUSE, "writer already finished");
  }
  aNew = (char**)sqlite3_realloc64(p->azMeta,
                                   sizeof(char*)*2*(u64)(p->nMeta+1));
  if( aNew==0 ) return streamPqWriterOom(p);
  p->azMeta = aNew;
  aNew[2*p->nMeta] = sqlite3_mprintf("%s", zKey);
  aNew[2*p->nMeta+1] = sqlite3_mprintf("%s", zValue);
  p->nMeta++;
  if( aNew[2*p->nMeta-2]==0 || aNew[2*p->nMeta-1]==0 ){
    return streamPqWriterOom(p);
  }
  return SQLITE_OK;
}

int sqlite3StreamPqWriterFinish(StreamPqWriter *p){
  u8 aTail[8];
  size_t n;
  if( p->rc ) return p->rc;
  if( p->bFinished ) return SQLITE_OK;
  if( streamPqFlushGroup(p) ) return p->rc;
  streamPqFooter(p);
  if( p->scratch.rc ) return streamPqWriterOom(p);
  n = p->scratch.n;
  aTail[0] = (u8)n; aTail[1] = (u8)(n>>8);
  aTail[2] = (u8)(n>>16); aTail[3] = (u8)(n>>24);
  memcpy(&aTail[4], "PAR1", 4);
  if( streamPqSink(p, p->scratch.a, n) ) return p->rc;
  if( streamPqSink(p, aTail, 8) ) return p->rc;
  p->bFinished = 1;
  return SQLITE_OK;
}

sqlite3_int64 sqlite3StreamPqWriterBytes(StreamPqWriter *p){
  return p->iOff;
}

const char *sqlite3StreamPqWriterErrmsg(StreamPqWriter *p){
  return p ? p->zErr : 0;
}

void sqlite3StreamPqWriterIceberg(StreamPqWriter *p){
  p->bIceberg = 1;
}

void sqlite3StreamPqWriterFree(StreamPqWriter *p){
  int i;
  if( p==0 ) return;
  for(i=0; i<STREAM_PQ_NCOL; i++){
    sqlite3StreamPqBufFree(&p->aCol[i].page);
    sqlite3StreamPqBufFree(&p->aCol[i].levels);
    sqlite3StreamPqBufFree(&p->aCol[i].chunk);
  }
  for(i=0; i<2*p->nMeta; i++) sqlite3_free(p->azMeta[i]);
  sqlite3_free(p->azMeta);
  sqlite3StreamPqBufFree(&p->scratch);
  sqlite3_free(p->aGroup);
  sqlite3_free(p->zTopic);
  sqlite3_free(p->zErr);
  sqlite3_free(p);
}
