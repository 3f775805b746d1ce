/*
** parquet_read.c - streaming Parquet reader for the warm tier.
**
** Reads files written by parquet_write.c (and any file with the same eight
** columns, PLAIN data pages v1 and codec UNCOMPRESSED, GZIP or ZSTD)
** through a positional read callback, never holding the whole file:
**
**   1. sqlite3StreamPqReaderOpen() reads the 8-byte tail, checks both
**      "PAR1" magics and the footer length, reads the footer, decodes
**      FileMetaData into StreamPqGroup structs and checks the schema.
**   2. sqlite3StreamPqReaderNext() walks the row groups.  Each column has
**      its own cursor over its chunk: it reads one page header, then one
**      page, checks its CRC-32 (when the header has one), decompresses it
**      (bounded by uncompressed_page_size, which is itself bounded by the
**      chunk's total_uncompressed_size and by the longest value accepted,
**      sqlite3StreamPqReaderSetMaxValue()) and decodes definition levels
**      lazily, so memory is one page per column.
**
** Hostile input: every length and count from the file is checked before
** use (against the file size, the chunk bounds, the page size, the bytes
** left in a buffer, and the STREAM_PQ_MAX_* limits); the Thrift decoder
** never reads outside its buffer; each loop consumes input, so nothing
** hangs.  Errors leave a "parquet: ..." message and are sticky.
*/
#include "streamInt.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zlib.h>

/* Parquet enums (parquet.thrift). */
#define PQ_INT32        1
#define PQ_INT64        2
#define PQ_BYTE_ARRAY   6
#define PQ_REQUIRED     0
#define PQ_OPTIONAL     1
#define PQ_PLAIN        0
#define PQ_RLE          3
#define PQ_DATA_PAGE    0
#define PQ_INDEX_PAGE   1
#define PQ_DICT_PAGE    2
#define PQ_DATA_PAGE_V2 3
#define PQ_CT_TS_MILLIS 9
#define PQ_CT_TS_MICROS 10

/* Largest page header we are prepared to read. */
#define STREAM_PQ_MAX_PAGE_HEADER (1024*1024)

static const struct {
  const char *zName;              /* Column name */
  int eType;                      /* Physical type */
  int bNullable;                  /* May be OPTIONAL */
} aPqCol[STREAM_PQ_NCOL] = {
  { "topic",      PQ_BYTE_ARRAY, 0 },
  { "partition",  PQ_INT32,      0 },
  { "offset",     PQ_INT64,      0 },
  { "key",        PQ_BYTE_ARRAY, 1 },
  { "value",      PQ_BYTE_ARRAY, 1 },
  { "headers",    PQ_BYTE_ARRAY, 1 },
  { "timestamp",  PQ_INT64,      0 },
  { "attributes", PQ_INT32,      0 },
};
#define COL_OFFSET     2
#define COL_TIMESTAMP  6

static const char *const azPqType[] = {
  "BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY",
  "FIXED_LEN_BYTE_ARRAY"
};

/* Where one column chunk is. */
typedef struct StreamPqChunk StreamPqChunk;
struct StreamPqChunk {
  i64 iStart;                     /* File offset of the first page */
  i64 nBytes;                     /* total_compressed_size */
  i64 nValues;                    /* num_values */
  i64 nUncompressed;              /* total_uncompressed_size, or -1 */
  int eCodec;                     /* STREAM_CODEC_* */
};

/* One row group from the footer. */
typedef struct StreamPqGroup StreamPqGroup;
struct StreamPqGroup {
  StreamPqGroupInfo info;         /* Public facts */
  StreamPqChunk aChunk[STREAM_PQ_NCOL];
};

/* Cursor over one column chunk of the open row group. */
typedef struct StreamPqCol StreamPqCol;
struct StreamPqCol {
  i64 iPos;                       /* File offset of the next page header */
  i64 iEnd;                       /* End of the chunk */
  i64 nChunkLeft;                 /* Values of the chunk not yet paged in */
  i64 nUncompLeft;                /* Uncompressed bytes the chunk may still
                                  ** decode to (-1: the footer says not) */
  int eCodec;                     /* STREAM_CODEC_* */
  u8 *aPage;                      /* Decoded page body (== aBuf) */
  u8 *aBuf;                       /* Page buffer, reused page after page */
  size_t nBufAlloc;               /* Bytes allocated at aBuf */
  i64 nPageLeft;                  /* Values of the page not yet returned */
  const u8 *pVal;                 /* Next PLAIN value */
  const u8 *pValEnd;              /* End of PLAIN values */
  const u8 *pLvl;                 /* Next byte of the level stream */
  const u8 *pLvlEnd;              /* End of the level stream */
  u64 nRle;                       /* Levels left in the current RLE run */
  int iRleVal;                    /* Value of the current RLE run */
  u64 nBp;                        /* Levels left in the bit-packed run */
  const u8 *pBp;                  /* Bit-packed bytes */
  u64 iBpBit;                     /* Next bit in pBp */
};

struct StreamPqReader {
  StreamPqReadFn xRead;           /* Source */
  void *pCtx;                     /* First argument of xRead */
  i64 nFile;                      /* File size */
  i64 nDataEnd;                   /* First byte of the footer */
  int rc;                         /* Sticky error code */
  char *zErr;                     /* Error message */
  i64 nRows;                      /* FileMetaData.num_rows */
  int nGroup;                     /* Row groups */
  StreamPqGroup *aGroup;          /* Row groups (array of nGroup) */
  int nMeta;                      /* key_value_metadata pairs */
  char **azMeta;                  /* 2*nMeta strings */
  int abOptional[STREAM_PQ_NCOL]; /* Column is OPTIONAL in the file */
  i64 iTsDiv;                     /* Timestamp units per ms */
  int iGroup;                     /* Current row group */
  int bGroupOpen;                 /* aCol[] are set up for iGroup */
  i64 iRow;                       /* Rows of iGroup returned so far */
  int bPeek;                      /* peek holds the next row */
  StreamPqRow peek;               /* Row found by Seek() */
  StreamPqCol aCol[STREAM_PQ_NCOL];
  u8 *aHdr;                       /* Page header scratch */
  size_t nHdrAlloc;               /* Bytes allocated at aHdr */
  unsigned mWant;                 /* Columns to decode from the next group
                                  ** opened (bit i: column i) */
  unsigned mSkip;                 /* Columns not decoded in this group */
  u8 *aComp;                      /* Compressed page scratch (reused) */
  size_t nCompAlloc;              /* Bytes allocated at aComp */
  ZSTD_DCtx *pZstd;               /* ZSTD context (reused), or NULL */
  i64 nMaxValue;                  /* Longest BYTE_ARRAY value accepted */
};

/* Make *pa at least n bytes (contents not kept).  SQLITE_NOMEM on failure
** (then *pa is unchanged). */
static int streamPqReserve(u8 **pa, size_t *pnAlloc, size_t n){
  if( n>*pnAlloc || *pa==0 ){
    size_t nNew = n<4096 ? 4096 : n;
    u8 *aNew = (u8*)sqlite3_malloc64((u64)nNew);
    if( aNew==0 ) return SQLITE_NOMEM;
    sqlite3_free(*pa);
    *pa = aNew;
    *pnAlloc = nNew;
  }
  return SQLITE_OK;
}

/* Record an error (the first one wins) and return the reader's code. */
static int streamPqReaderError(
  StreamPqReader *p, int rc, const char *zFmt, ...
){
  if( p->rc==SQLITE_OK ){
    va_list ap;
    char *z;
    va_start(ap, zFmt);
    z = sqlite3_vmprintf(zFmt, ap);
    va_end(ap);
    p->rc = rc;
    p->zErr = sqlite3_mprintf(STREAM_PQ_ERR "%z", z);
    if( p->zErr==0 ) p->rc = SQLITE_NOMEM;
  }
  return p->rc;
}

static int streamPqReaderOom(StreamPqReader *p){
  return streamPqReaderError(p, SQLITE_NOMEM, "out of memory");
}

/* Read n bytes at iOff, which the caller has checked lie in the file. */
static int streamPqRead(StreamPqReader *p, void *pBuf, size_t n, i64 iOff){
  int rc;
  if( p->rc ) return p->rc;
  rc = p->xRead(p->pCtx, pBuf, n, iOff);
  if( rc ){
    return streamPqReaderError(p, rc, "read of %lld bytes at byte %lld "
        "failed (error %d)", (i64)n, iOff, rc);
  }
  return SQLITE_OK;
}

static u32 streamPqGet32(const u8 *a){
  return (u32)a[0] | ((u32)a[1]<<8) | ((u32)a[2]<<16) | ((u32)a[3]<<24);
}

static i64 streamPqGet64(const u8 *a){
  return (i64)((u64)streamPqGet32(a) | ((u64)streamPqGet32(&a[4])<<32));
}

static const char *streamPqTypeName(int eType){
  if( eType>=0 && eType<(int)(sizeof(azPqType)/sizeof(azPqType[0])) ){
    return azPqType[eType];
  }
  return "unknown";
}

/**************************************************************************
** Footer
*/

/* What we keep of a SchemaElement. */
typedef struct StreamPqSchemaElt StreamPqSchemaElt;
struct StreamPqSchemaElt {
  int eType;                      /* Physical type, or -1 */
  int eRepetition;                /* Repetition, or -1 */
  const u8 *zName; size_t nName;  /* Name (in the footer buffer) */
  int nChildren;                  /* num_children, or -1 */
  int eConverted;                 /* converted_type, or -1 */
  int eTimeUnit;                  /* TIMESTAMP logical unit 1/2/3, or 0 */
};

/* Skip the value of a struct field we do not use. */
static void streamPqSkipField(StreamThriftReader *r, int eType){
  sqlite3StreamThriftSkip(r, eType, 0);
}

/* TimeUnit union: 1 MILLIS, 2 MICROS, 3 NANOS.  Returns the field id. */
static int streamPqParseTimeUnit(StreamThriftReader *r){
  int iLast = 0, iId, e, eUnit = 0;
  while( (e = sqlite3StreamThriftNextField(r, &iLast, &iId))!=0 ){
    if( e==STREAM_THRIFT_STRUCT && eUnit==0 ) eUnit = iId;
    streamPqSkipField(r, e);
  }
  return eUnit;
}

/* LogicalType union: we only look inside TIMESTAMP (field 8). */
static void streamPqParseLogical(
  StreamThriftReader *r, StreamPqSchemaElt *pElt
){
  int iLast = 0, iId, e;
  while( (e = sqlite3StreamThriftNextField(r, &iLast, &iId))!=0 ){
    if( iId==8 && e==STREAM_THRIFT_STRUCT ){
      int iLast2 = 0, iId2, e2;
      while( (e2 = sqlite3StreamThriftNextField(r, &iLast2, &iId2))!=0 ){
        if( iId2==2 && e2==STREAM_THRIFT_STRUCT ){
          pElt->eTimeUnit = streamPqParseTimeUnit(r);
        }else{
          streamPqSkipField(r, e2);
        }
      }
    }else{
      streamPqSkipField(r, e);
    }
  }
}

static void streamPqParseSchemaElt(
  StreamThriftReader *r, StreamPqSchemaElt *pElt
){
  int iLast = 0, iId, e;
  memset(pElt, 0, sizeof(*pElt));
  pElt->eType = pElt->eRepetition = pElt->nChildren = pElt->eConverted = -1;
  while( (e = sqlite3StreamThriftNextField(r, &iLast, &iId))!=0 ){
    if( e==STREAM_THRIFT_I32 && (iId==1 || iId==3 || iId==5 || iId==6) ){
      int v = sqlite3StreamThriftReadI32(r);
      if( iId==1 ) pElt->eType = v;
      if( iId==3 ) pElt->eRepetition = v;
      if( iId==5 ) pElt->nChildren = v;
      if( iId==6 ) pElt->eConverted = v;
    }else if( iId==4 && e==STREAM_THRIFT_BINARY ){
      pElt->zName = sqlite3StreamThriftReadBinary(r, &pElt->nName);
    }else if( iId==10 && e==STREAM_THRIFT_STRUCT ){
      streamPqParseLogical(r, pElt);
    }else{
      streamPqSkipField(r, e);
    }
  }
}

/* Statistics: sets *pbMin, *pbMax and the values when 8 bytes wide. */
static void streamPqParseStats(
  StreamThriftReader *r, i64 *piMin, int *pbMin, i64 *piMax, int *pbMax
){
  int iLast = 0, iId, e;
  while( (e = sqlite3StreamThriftNextField(r, &iLast, &iId))!=0 ){
    if( e==STREAM_THRIFT_BINARY && iId>=1 && iId<=6 && iId!=3 && iId!=4 ){
      size_t n;
      const u8 *a = sqlite3StreamThriftReadBinary(r, &n);
      if( a && n==8 ){
        /* Prefer min_value/max_value (5, 6) over the deprecated 1, 2. */
        if( iId==6 || (iId==2 && !*pbMin) ){
          *piMin = streamPqGet64(a);
          *pbMin = 1+(iId==6);
        }
        if( iId==5 || (iId==1 && !*pbMax) ){
          *piMax = streamPqGet64(a);
          *pbMax = 1+(iId==5);
        }
      }
    }else{
      streamPqSkipField(r, e);
    }
  }
}

/* ColumnChunk of column iCol in row group iGroup. */
static void streamPqParseChunk(
  StreamPqReader *p, StreamThriftReader *r, StreamPqGroup *pGroup,
  int iGroup, int iCol
){
  StreamPqChunk *pChunk = &pGroup->aChunk[iCol];
  int iLast = 0, iId, e;
  int bMeta = 0;
  int eType = -1, eCodec = -1;
  i64 nValues = -1, nBytes = -1, iData = -1, nUncomp = -1;
  i64 iMin = 0, iMax = 0;
  int bMin = 0, bMax = 0;
  const char *zCol = aPqCol[iCol].zName;

  while( (e = sqlite3StreamThriftNextField(r, &iLast, &iId))!=0 ){
    if( iId==1 && e==STREAM_THRIFT_BINARY ){
      streamPqReaderError(p, SQLITE_CORRUPT, "row group %d column '%s' is "
          "in another file (file_path), not supported", iGroup, zCol);
      return;
    }else if( iId==3 && e==STREAM_THRIFT_STRUCT ){
      int iLastM = 0;
      bMeta = 1;
      while( (e = sqlite3StreamThriftNextField(r, &iLastM, &iId))!=0 ){
        if( e==STREAM_THRIFT_I32 && (iId==1 || iId==4) ){
          int v = sqlite3StreamThriftReadI32(r);
          if( iId==1 ) eType = v; else eCodec = v;
        }else if( e==STREAM_THRIFT_I64
               && (iId==5 || iId==6 || iId==7 || iId==9) ){
          i64 v = sqlite3StreamThriftReadI64(r);
          if( iId==5 ) nValues = v;
          if( iId==6 ) nUncomp = v;
          if( iId==7 ) nBytes = v;
          if( iId==9 ) iData = v;
        }else if( iId==12 && e==STREAM_THRIFT_STRUCT ){
          streamPqParseStats(r, &iMin, &bMin, &iMax, &bMax);
        }else{
          streamPqSkipField(r, e);
        }
      }
    }else{
      streamPqSkipField(r, e);
    }
  }
  if( r->rc ) return;
  if( !bMeta || eType<0 || eCodec<0 || nValues<0 || nBytes<0 || iData<0 ){
    streamPqReaderError(p, SQLITE_CORRUPT, "row group %d column '%s': "
        "column metadata missing or incomplete", iGroup, zCol);
    return;
  }
  if( eType!=aPqCol[iCol].eType ){
    streamPqReaderError(p, SQLITE_CORRUPT, "row group %d column '%s' has "
        "type %s, expected %s", iGroup, zCol, streamPqTypeName(eType),
        streamPqTypeName(aPqCol[iCol].eType));
    return;
  }
  switch( eCodec ){
    case 0: pChunk->eCodec = STREAM_CODEC_NONE; break;
    case 2: pChunk->eCodec = STREAM_CODEC_GZIP; break;
    case 6: pChunk->eCodec = STREAM_CODEC_ZSTD; break;
    default:
      streamPqReaderError(p, SQLITE_CORRUPT, "row group %d column '%s': "
          "codec %d not supported", iGroup, zCol, eCodec);
      return;
  }
  /* dictionary_page_offset is not followed: dictionary pages are not
  ** supported, and a damaged one could lead into another chunk. */
  pChunk->iStart = iData;
  pChunk->nBytes = nBytes;
  pChunk->nValues = nValues;
  pChunk->nUncompressed = nUncomp<0 ? -1 : nUncomp;
  if( pChunk->iStart<4 || nBytes>p->nDataEnd
   || pChunk->iStart > p->nDataEnd - nBytes
  ){
    streamPqReaderError(p, SQLITE_CORRUPT, "row group %d column '%s': "
        "chunk of %lld bytes at byte %lld is outside the data area "
        "[4, %lld)", iGroup, zCol, nBytes, pChunk->iStart, p->nDataEnd);
    return;
  }
  if( iCol==COL_OFFSET ){
    pGroup->info.iOffsetMin = iMin;
    pGroup->info.iOffsetMax = iMax;
    pGroup->info.bStats = bMin && bMax;
  }else if( iCol==COL_TIMESTAMP ){
    /* Floor division: ms that contain the min/max timestamps. */
    i64 d = p->iTsDiv;
    pGroup->info.iTimestampMin = iMin/d - ((iMin%d)<0);
    pGroup->info.iTimestampMax = iMax/d - ((iMax%d)<0);
    if( !(bMin && bMax) ) pGroup->info.bStats = 0;
  }
}

static void streamPqParseGroup(
  StreamPqReader *p, StreamThriftReader *r, StreamPqGroup *pGroup, int iGroup
){
  int iLast = 0, iId, e;
  int nCol = -1;
  int bRows = 0;
  memset(pGroup, 0, sizeof(*pGroup));
  while( (e = sqlite3StreamThriftNextField(r, &iLast, &iId))!=0 ){
    if( iId==1 && e==STREAM_THRIFT_LIST && nCol<0 ){
      int eElem, i;
      nCol = sqlite3StreamThriftReadList(r, &eElem);
      if( r->rc ) return;
      if( nCol!=STREAM_PQ_NCOL || eElem!=STREAM_THRIFT_STRUCT ){
        streamPqReaderError(p, SQLITE_CORRUPT, "row group %d has %d "
            "columns, expected %d", iGroup, nCol, STREAM_PQ_NCOL);
        return;
      }
      for(i=0; i<nCol && r->rc==SQLITE_OK && p->rc==SQLITE_OK; i++){
        streamPqParseChunk(p, r, pGroup, iGroup, i);
      }
      if( p->rc ) return;
    }else if( iId==3 && e==STREAM_THRIFT_I64 ){
      pGroup->info.nRows = sqlite3StreamThriftReadI64(r);
      bRows = 1;
    }else{
      streamPqSkipField(r, e);
    }
  }
  if( r->rc || p->rc ) return;
  if( nCol<0 || !bRows || pGroup->info.nRows<0 ){
    streamPqReaderError(p, SQLITE_CORRUPT, "row group %d: columns or "
        "num_rows missing", iGroup);
    return;
  }
  for(e=0; e<STREAM_PQ_NCOL; e++){
    if( pGroup->aChunk[e].nValues!=pGroup->info.nRows ){
      streamPqReaderError(p, SQLITE_CORRUPT, "row group %d column '%s' has "
          "%lld values, expected num_rows %lld", iGroup, aPqCol[e].zName,
          pGroup->aChunk[e].nValues, pGroup->info.nRows);
      return;
    }
  }
}

/* Check the schema elements against our eight columns. */
static int streamPqCheckSchema(
  StreamPqReader *p, StreamPqSchemaElt *aElt, int nElt
){
  int i;
  if( nElt!=1+STREAM_PQ_NCOL ){
    return streamPqReaderError(p, SQLITE_CORRUPT, "schema has %d columns, "
        "expected %d", nElt-1, STREAM_PQ_NCOL);
  }
  if( aElt[0].eType>=0 || aElt[0].nChildren!=STREAM_PQ_NCOL ){
    return streamPqReaderError(p, SQLITE_CORRUPT, "schema root must have "
        "num_children %d and no type", STREAM_PQ_NCOL);
  }
  for(i=0; i<STREAM_PQ_NCOL; i++){
    StreamPqSchemaElt *pElt = &aElt[i+1];
    const char *zCol = aPqCol[i].zName;
    if( pElt->zName==0 || pElt->nName!=strlen(zCol)
     || memcmp(pElt->zName, zCol, pElt->nName)
    ){
      int n = pElt->zName ? (int)(pElt->nName>64 ? 64 : pElt->nName) : 0;
      return streamPqReaderError(p, SQLITE_CORRUPT, "column %d is named "
          "'%.*s', expected '%s'", i+1, n,
          pElt->zName ? (const char*)pElt->zName : "", zCol);
    }
    if( pElt->nChildren>0 || pElt->eType<0 ){
      return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s' is not "
          "a leaf column", zCol);
    }
    if( pElt->eType!=aPqCol[i].eType ){
      return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s' has type "
          "%s, expected %s", zCol, streamPqTypeName(pElt->eType),
          streamPqTypeName(aPqCol[i].eType));
    }
    if( pElt->eRepetition==PQ_REQUIRED ){
      p->abOptional[i] = 0;
    }else if( pElt->eRepetition==PQ_OPTIONAL && aPqCol[i].bNullable ){
      p->abOptional[i] = 1;
    }else{
      return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s' has "
          "repetition %d, expected %s", zCol, pElt->eRepetition,
          aPqCol[i].bNullable ? "REQUIRED or OPTIONAL" : "REQUIRED");
    }
  }
  /* Timestamp unit: logical type first, then converted type. */
  switch( aElt[1+COL_TIMESTAMP].eTimeUnit ){
    case 1: p->iTsDiv = 1; break;
    case 2: p->iTsDiv = 1000; break;
    case 3: p->iTsDiv = 1000000; break;
    default:
      if( aElt[1+COL_TIMESTAMP].eConverted==PQ_CT_TS_MILLIS ){
        p->iTsDiv = 1;
      }else if( aElt[1+COL_TIMESTAMP].eConverted==PQ_CT_TS_MICROS ){
        p->iTsDiv = 1000;
      }else{
        return streamPqReaderError(p, SQLITE_CORRUPT, "column 'timestamp' "
            "is not annotated as a TIMESTAMP");
      }
  }
  return SQLITE_OK;
}

/* Decode FileMetaData from the n bytes at a. */
static int streamPqParseFooter(StreamPqReader *p, const u8 *a, size_t n){
  StreamThriftReader r;
  StreamPqSchemaElt *aElt = 0;
  int nElt = -1;
  int iLast = 0, iId, e, i;
  int bRows = 0, bGroups = 0;
  int nGroupAlloc = 0;

  sqlite3StreamThriftReaderInit(&r, a, n);
  while( p->rc==SQLITE_OK
      && (e = sqlite3StreamThriftNextField(&r, &iLast, &iId))!=0 ){
    if( iId==2 && e==STREAM_THRIFT_LIST && nElt<0 ){
      int eElem;
      nElt = sqlite3StreamThriftReadList(&r, &eElem);
      if( r.rc ) break;
      if( eElem!=STREAM_THRIFT_STRUCT || nElt>64 ){
        streamPqReaderError(p, SQLITE_CORRUPT, "schema has %d columns, "
            "expected %d", nElt-1, STREAM_PQ_NCOL);
        break;
      }
      aElt = (StreamPqSchemaElt*)sqlite3_malloc64(sizeof(*aElt)*(nElt+1));
      if( aElt==0 ){ streamPqReaderOom(p); break; }
      for(i=0; i<nElt && r.rc==SQLITE_OK; i++){
        streamPqParseSchemaElt(&r, &aElt[i]);
      }
    }else if( iId==3 && e==STREAM_THRIFT_I64 ){
      p->nRows = sqlite3StreamThriftReadI64(&r);
      bRows = 1;
    }else if( iId==4 && e==STREAM_THRIFT_LIST && !bGroups ){
      int eElem, nGroup;
      bGroups = 1;
      /* The schema (field 2) precedes the row groups (field 4) in every
      ** writer's output; the timestamp unit is needed to decode stats. */
      if( aElt==0 ){
        streamPqReaderError(p, SQLITE_CORRUPT, "row groups before schema "
            "in footer");
        break;
      }
      if( streamPqCheckSchema(p, aElt, nElt) ) break;
      nGroup = sqlite3StreamThriftReadList(&r, &eElem);
      if( r.rc ) break;
      if( eElem!=STREAM_THRIFT_STRUCT && nGroup>0 ){
        streamPqReaderError(p, SQLITE_CORRUPT, "row groups are not structs");
        break;
      }
      /* Grow the array as groups parse: every group takes dozens of
      ** footer bytes, so the array stays proportional to the footer. */
      for(i=0; i<nGroup && r.rc==SQLITE_OK && p->rc==SQLITE_OK; i++){
        if( p->nGroup>=nGroupAlloc ){
          int nNew = nGroupAlloc ? nGroupAlloc*2 : 8;
          StreamPqGroup *aNew = (StreamPqGroup*)sqlite3_realloc64(
              p->aGroup, sizeof(StreamPqGroup)*(u64)nNew);
          if( aNew==0 ){ streamPqReaderOom(p); break; }
          p->aGroup = aNew;
          nGroupAlloc = nNew;
        }
        streamPqParseGroup(p, &r, &p->aGroup[p->nGroup], i);
        if( r.rc==SQLITE_OK && p->rc==SQLITE_OK ) p->nGroup++;
      }
    }else if( iId==5 && e==STREAM_THRIFT_LIST && p->nMeta==0 ){
      int eElem, nKv = sqlite3StreamThriftReadList(&r, &eElem);
      if( r.rc ) break;
      if( eElem!=STREAM_THRIFT_STRUCT && nKv>0 ){
        streamPqReaderError(p, SQLITE_CORRUPT, "key_value_metadata is not "
            "a list of structs");
        break;
      }
      for(i=0; i<nKv && r.rc==SQLITE_OK && p->rc==SQLITE_OK; i++){
        int iLastK = 0, iIdK, eK;
        const u8 *aKey = 0, *aVal = 0;
        size_t nKey = 0, nVal = 0;
        while( (eK = sqlite3StreamThriftNextField(&r, &iLastK, &iIdK))!=0 ){
          if( eK==STREAM_THRIFT_BINARY && iIdK==1 ){
            aKey = sqlite3StreamThriftReadBinary(&r, &nKey);
          }else if( eK==STREAM_THRIFT_BINARY && iIdK==2 ){
            aVal = sqlite3StreamThriftReadBinary(&r, &nVal);
          }else{
            streamPqSkipField(&r, eK);
          }
        }
        if( r.rc || aKey==0 ) continue;
        if( (p->nMeta & (p->nMeta-1))==0 ){
          /* Grow at powers of two: the array stays proportional to the
          ** pairs actually present. */
          char **aNew = (char**)sqlite3_realloc64(p->azMeta,
              sizeof(char*)*4*(u64)(p->nMeta ? p->nMeta : 1));
          if( aNew==0 ){ streamPqReaderOom(p); break; }
          p->azMeta = aNew;
        }
        p->azMeta[2*p->nMeta] = sqlite3_mprintf("%.*s", (int)nKey, aKey);
        p->azMeta[2*p->nMeta+1] = sqlite3_mprintf("%.*s", (int)nVal,
                                                  aVal ? aVal : (const u8*)"");
        p->nMeta++;
        if( p->azMeta[2*p->nMeta-2]==0 || p->azMeta[2*p->nMeta-1]==0 ){
          streamPqReaderOom(p);
        }
      }
    }else{
      streamPqSkipField(&r, e);
    }
  }
  sqlite3_free(aElt);
  if( p->rc ) return p->rc;
  if( r.rc ){
    return streamPqReaderError(p, SQLITE_CORRUPT, "footer: %s", r.zErr);
  }
  if( nElt<0 || !bRows || !bGroups ){
    return streamPqReaderError(p, SQLITE_CORRUPT, "footer lacks schema, "
        "num_rows or row_groups");
  }
  {
    i64 nSum = 0;
    for(i=0; i<p->nGroup && p->nRows>=0; i++){
      if( p->aGroup[i].info.nRows > p->nRows - nSum ){ nSum = -1; break; }
      nSum += p->aGroup[i].info.nRows;
    }
    if( p->nRows<0 || nSum!=p->nRows ){
      return streamPqReaderError(p, SQLITE_CORRUPT, "num_rows %lld does "
          "not match the row groups", p->nRows);
    }
  }
  return SQLITE_OK;
}

/* Order of two chunks by start (qsort). */
static int streamPqChunkCmp(const void *a, const void *b){
  const StreamPqChunk *x = *(const StreamPqChunk*const*)a;
  const StreamPqChunk *y = *(const StreamPqChunk*const*)b;
  return x->iStart<y->iStart ? -1 : x->iStart>y->iStart;
}

/* No two column chunks of the file may share a byte: a damaged offset
** pointing into another chunk would read that chunk's valid pages as
** this one's. */
static int streamPqCheckChunks(StreamPqReader *p){
  i64 n = (i64)p->nGroup*STREAM_PQ_NCOL, i;
  StreamPqChunk **a;
  if( n==0 ) return SQLITE_OK;
  a = (StreamPqChunk**)sqlite3_malloc64(sizeof(*a)*(u64)n);
  if( a==0 ) return streamPqReaderOom(p);
  for(i=0; i<n; i++){
    a[i] = &p->aGroup[i/STREAM_PQ_NCOL].aChunk[i%STREAM_PQ_NCOL];
  }
  qsort(a, (size_t)n, sizeof(*a), streamPqChunkCmp);
  for(i=1; i<n; i++){
    if( a[i]->iStart < a[i-1]->iStart + a[i-1]->nBytes ){
      streamPqReaderError(p, SQLITE_CORRUPT, "column chunks at bytes %lld "
          "and %lld overlap", a[i-1]->iStart, a[i]->iStart);
      break;
    }
  }
  sqlite3_free(a);
  return p->rc;
}

/**************************************************************************
** Pages
*/

/* Parse a PageHeader.  Returns the number of header bytes, 0 on error
** (r->bTruncated set if the buffer was too short). */
typedef struct StreamPqPageHdr StreamPqPageHdr;
struct StreamPqPageHdr {
  int eType;                      /* PageType */
  i64 nUncompressed;              /* uncompressed_page_size */
  i64 nCompressed;                /* compressed_page_size */
  int bCrc;                       /* crc is set */
  u32 crc;                        /* crc: CRC-32 of the page data */
  int bData;                      /* DataPageHeader present */
  i64 nValues;                    /* DataPageHeader.num_values */
  int eEncoding;                  /* DataPageHeader.encoding */
  int eDefEncoding;               /* DataPageHeader.definition_level_enc */
};

static void streamPqParsePageHdr(StreamThriftReader *r, StreamPqPageHdr *h){
  int iLast = 0, iId, e;
  memset(h, 0, sizeof(*h));
  h->eType = h->eEncoding = h->eDefEncoding = -1;
  h->nUncompressed = h->nCompressed = h->nValues = -1;
  while( (e = sqlite3StreamThriftNextField(r, &iLast, &iId))!=0 ){
    if( e==STREAM_THRIFT_I32 && iId>=1 && iId<=4 ){
      int v = sqlite3StreamThriftReadI32(r);
      if( iId==1 ) h->eType = v;
      if( iId==2 ) h->nUncompressed = v;
      if( iId==3 ) h->nCompressed = v;
      if( iId==4 ){ h->bCrc = 1; h->crc = (u32)v; }
    }else if( iId==5 && e==STREAM_THRIFT_STRUCT ){
      int iLast2 = 0, iId2, e2;
      h->bData = 1;
      while( (e2 = sqlite3StreamThriftNextField(r, &iLast2, &iId2))!=0 ){
        if( e2==STREAM_THRIFT_I32 && iId2>=1 && iId2<=3 ){
          int v = sqlite3StreamThriftReadI32(r);
          if( iId2==1 ) h->nValues = v;
          if( iId2==2 ) h->eEncoding = v;
          if( iId2==3 ) h->eDefEncoding = v;
        }else{
          streamPqSkipField(r, e2);
        }
      }
    }else{
      streamPqSkipField(r, e);
    }
  }
}

/* The page data a (as stored, h->nCompressed bytes) against the header's
** crc, if it has one (files of this writer always do). */
static int streamPqCrcCheck(StreamPqReader *p, const StreamPqPageHdr *h,
                            const u8 *a, const char *zCol, i64 iPage){
  if( h->bCrc && (u32)crc32(0L, a, (uInt)h->nCompressed)!=h->crc ){
    return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s': page at "
        "byte %lld fails its CRC-32 check", zCol, iPage);
  }
  return SQLITE_OK;
}

/* Load the next data page of column iCol.  On success pCol->nPageLeft > 0. */
static int streamPqNextPage(StreamPqReader *p, int iCol){
  StreamPqCol *pCol = &p->aCol[iCol];
  const char *zCol = aPqCol[iCol].zName;
  pCol->aPage = 0;
  pCol->pVal = pCol->pValEnd = 0;
  pCol->pLvl = pCol->pLvlEnd = 0;
  pCol->nRle = pCol->nBp = 0;
  while( p->rc==SQLITE_OK ){
    StreamThriftReader r;
    StreamPqPageHdr h;
    i64 nLeft = pCol->iEnd - pCol->iPos;
    i64 nTry = nLeft<1024 ? nLeft : 1024;
    i64 iPage = pCol->iPos;
    u8 *aComp = 0;
    void *pOut = 0;
    size_t nOut = 0;
    const u8 *aBody;

    if( nLeft<=0 ){
      return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s' chunk "
          "ends with %lld values missing", zCol, pCol->nChunkLeft);
    }
    /* Read a prefix of the chunk large enough for the header. */
    while( 1 ){
      if( (size_t)nTry>p->nHdrAlloc ){
        u8 *aNew = (u8*)sqlite3_realloc64(p->aHdr, (u64)nTry);
        if( aNew==0 ) return streamPqReaderOom(p);
        p->aHdr = aNew;
        p->nHdrAlloc = (size_t)nTry;
      }
      if( streamPqRead(p, p->aHdr, (size_t)nTry, iPage) ) return p->rc;
      sqlite3StreamThriftReaderInit(&r, p->aHdr, (size_t)nTry);
      streamPqParsePageHdr(&r, &h);
      if( r.rc && r.bTruncated
       && nTry<nLeft && nTry<STREAM_PQ_MAX_PAGE_HEADER
      ){
        nTry = nLeft<STREAM_PQ_MAX_PAGE_HEADER ? nLeft
                                               : STREAM_PQ_MAX_PAGE_HEADER;
        continue;
      }
      break;
    }
    if( r.rc ){
      return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s': page "
          "header out of bounds at byte %lld (%s)", zCol, iPage, r.zErr);
    }
    if( h.eType<0 || h.nUncompressed<0 || h.nCompressed<0
     || h.nCompressed > nLeft - (i64)r.i
    ){
      return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s': bad page "
          "header at byte %lld", zCol, iPage);
    }
    pCol->iPos = iPage + (i64)r.i + h.nCompressed;
    if( h.eType==PQ_INDEX_PAGE ) continue;
    if( h.eType!=PQ_DATA_PAGE ){
      return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s': page "
          "type %d at byte %lld not supported", zCol, h.eType, iPage);
    }
    if( !h.bData || h.nValues<0 || h.nValues>pCol->nChunkLeft ){
      return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s': data page "
          "at byte %lld has %lld values, %lld expected at most", zCol, iPage,
          h.nValues, pCol->nChunkLeft);
    }
    if( h.eEncoding!=PQ_PLAIN ){
      return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s': encoding "
          "%d at byte %lld not supported", zCol, h.eEncoding, iPage);
    }
    if( p->abOptional[iCol] && h.eDefEncoding!=PQ_RLE ){
      return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s': definition "
          "level encoding %d not supported", zCol, h.eDefEncoding);
    }
    if( h.nUncompressed>STREAM_PQ_MAX_PAGE
     || h.nCompressed>STREAM_PQ_MAX_PAGE+(1<<20)
    ){
      return streamPqReaderError(p, SQLITE_TOOBIG, "column '%s': page at "
          "byte %lld is %lld bytes, limit %d", zCol, iPage,
          h.nUncompressed, STREAM_PQ_MAX_PAGE);
    }
    /* Decompressed sizes are bounded by what the file claims elsewhere:
    ** the chunk's total_uncompressed_size and, per value, the longest
    ** value accepted (the topic's max.message.bytes), so a small page
    ** cannot claim a huge one. */
    if( pCol->nUncompLeft>=0 && h.nUncompressed>pCol->nUncompLeft ){
      return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s': page at "
          "byte %lld claims %lld bytes, more than its column chunk's "
          "total_uncompressed_size leaves (%lld)", zCol, iPage,
          h.nUncompressed, pCol->nUncompLeft);
    }
    if( h.nUncompressed > 64 + h.nValues*(p->nMaxValue+5) ){
      return streamPqReaderError(p, SQLITE_TOOBIG, "column '%s': page at "
          "byte %lld claims %lld bytes for %lld values, more than values of "
          "at most %lld bytes can take", zCol, iPage, h.nUncompressed,
          h.nValues, p->nMaxValue);
    }
    if( pCol->nUncompLeft>=0 ) pCol->nUncompLeft -= h.nUncompressed;
    if( pCol->eCodec==STREAM_CODEC_NONE && h.nCompressed!=h.nUncompressed ){
      return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s': page at "
          "byte %lld: sizes differ without compression", zCol, iPage);
    }

    /* Read and decompress the body into the column's page buffer, which
    ** (like the compressed scratch and the ZSTD context) is reused from
    ** page to page: no allocation per page once warm. */
    if( pCol->eCodec==STREAM_CODEC_NONE ){
      if( streamPqReserve(&pCol->aBuf, &pCol->nBufAlloc,
                          (size_t)h.nCompressed+1) ){
        return streamPqReaderOom(p);
      }
      if( streamPqRead(p, pCol->aBuf, (size_t)h.nCompressed,
                       iPage+(i64)r.i) ){
        return p->rc;
      }
      if( streamPqCrcCheck(p, &h, pCol->aBuf, zCol, iPage) ) return p->rc;
      nOut = (size_t)h.nCompressed;
    }else{
      if( streamPqReserve(&p->aComp, &p->nCompAlloc,
                          (size_t)h.nCompressed+1) ){
        return streamPqReaderOom(p);
      }
      aComp = p->aComp;
      if( streamPqRead(p, aComp, (size_t)h.nCompressed, iPage+(i64)r.i) ){
        return p->rc;
      }
      if( streamPqCrcCheck(p, &h, aComp, zCol, iPage) ) return p->rc;
      if( pCol->eCodec==STREAM_CODEC_ZSTD ){
        size_t n;
        if( p->pZstd==0 && (p->pZstd = ZSTD_createDCtx())==0 ){
          return streamPqReaderOom(p);
        }
        if( streamPqReserve(&pCol->aBuf, &pCol->nBufAlloc,
                            (size_t)h.nUncompressed+1) ){
          return streamPqReaderOom(p);
        }
        /* Capacity is the declared size: more output is an error, so a
        ** page cannot decompress past it. */
        n = ZSTD_decompressDCtx(p->pZstd, pCol->aBuf,
                                (size_t)h.nUncompressed, aComp,
                                (size_t)h.nCompressed);
        nOut = ZSTD_isError(n) || h.nCompressed==0 ? (size_t)-1 : n;
      }else{
        int rc = sqlite3StreamDecompress(pCol->eCodec, aComp,
            (size_t)h.nCompressed, (size_t)h.nUncompressed, &pOut, &nOut);
        if( rc==SQLITE_NOMEM ) return streamPqReaderOom(p);
        if( rc ){
          nOut = (size_t)-1;
        }else{
          sqlite3_free(pCol->aBuf);
          pCol->aBuf = (u8*)pOut;
          pCol->nBufAlloc = nOut;
        }
      }
      if( nOut!=(size_t)h.nUncompressed ){
        return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s': page at "
            "byte %lld does not decompress to %lld bytes", zCol, iPage,
            h.nUncompressed);
      }
    }
    pCol->aPage = pCol->aBuf;
    aBody = pCol->aPage;
    if( p->abOptional[iCol] ){
      u32 nLvl;
      if( nOut<4 || (nLvl = streamPqGet32(aBody))>nOut-4 ){
        return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s': page at "
            "byte %lld: definition levels out of bounds", zCol, iPage);
      }
      pCol->pLvl = aBody+4;
      pCol->pLvlEnd = aBody+4+nLvl;
      pCol->pVal = pCol->pLvlEnd;
    }else{
      pCol->pVal = aBody;
    }
    pCol->pValEnd = aBody + nOut;
    pCol->nPageLeft = h.nValues;
    pCol->nChunkLeft -= h.nValues;
    if( h.nValues>0 ) return SQLITE_OK;
    pCol->aPage = 0;
  }
  return p->rc;
}

/* Next definition level of column iCol's page (0 or 1), or -1 on error. */
static int streamPqNextLevel(StreamPqReader *p, int iCol){
  StreamPqCol *pCol = &p->aCol[iCol];
  while( 1 ){
    u64 h = 0;
    int i;
    if( pCol->nRle ){
      pCol->nRle--;
      return pCol->iRleVal;
    }
    if( pCol->nBp ){
      int v = (pCol->pBp[pCol->iBpBit>>3] >> (pCol->iBpBit & 7)) & 1;
      pCol->iBpBit++;
      pCol->nBp--;
      return v;
    }
    /* Run header: a ULEB128 of at most 5 bytes. */
    for(i=0; i<5; i++){
      u8 c;
      if( pCol->pLvl>=pCol->pLvlEnd ) goto corrupt;
      c = *pCol->pLvl++;
      h |= (u64)(c & 0x7f) << (7*i);
      if( (c & 0x80)==0 ) break;
    }
    if( i==5 ) goto corrupt;
    if( h & 1 ){
      u64 nGroup = h>>1;          /* bit width 1: one byte per group */
      if( nGroup > (u64)(pCol->pLvlEnd - pCol->pLvl) ) goto corrupt;
      pCol->pBp = pCol->pLvl;
      pCol->iBpBit = 0;
      pCol->nBp = nGroup*8;
      pCol->pLvl += nGroup;
    }else{
      if( pCol->pLvl>=pCol->pLvlEnd || *pCol->pLvl>1 ) goto corrupt;
      pCol->iRleVal = *pCol->pLvl++;
      pCol->nRle = h>>1;
    }
  }
 corrupt:
  streamPqReaderError(p, SQLITE_CORRUPT, "column '%s': bad definition "
      "levels", aPqCol[iCol].zName);
  return -1;
}

/* The error for a BYTE_ARRAY value of n bytes in a page with nLeft
** bytes left (n > nLeft-4 or n > p->nMaxValue). */
static int streamPqValueError(StreamPqReader *p, int iCol, u32 n,
                              size_t nLeft){
  if( n>nLeft-4 ){
    return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s': value out "
        "of bounds in page", aPqCol[iCol].zName);
  }
  return streamPqReaderError(p, SQLITE_TOOBIG, "column '%s': value of %u "
      "bytes is longer than the limit of %lld bytes", aPqCol[iCol].zName,
      n, p->nMaxValue);
}

/* Next value of column iCol: *pbNull, or the bytes / integer. */
static int streamPqNextValue(
  StreamPqReader *p, int iCol, int *pbNull, const u8 **pa, int *pn, i64 *pi
){
  StreamPqCol *pCol = &p->aCol[iCol];
  size_t nLeft;
  *pbNull = 0;
  if( pCol->nPageLeft<=0 ){
    if( pCol->nChunkLeft<=0 ){
      return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s' has fewer "
          "values than num_rows", aPqCol[iCol].zName);
    }
    if( streamPqNextPage(p, iCol) ) return p->rc;
  }
  pCol->nPageLeft--;
  if( p->abOptional[iCol] ){
    int lvl = streamPqNextLevel(p, iCol);
    if( lvl<0 ) return p->rc;
    if( lvl==0 ){
      *pbNull = 1;
      return SQLITE_OK;
    }
  }
  nLeft = (size_t)(pCol->pValEnd - pCol->pVal);
  switch( aPqCol[iCol].eType ){
    case PQ_INT32:
      if( nLeft<4 ) goto corrupt;
      *pi = (i64)(int32_t)streamPqGet32(pCol->pVal);
      pCol->pVal += 4;
      break;
    case PQ_INT64:
      if( nLeft<8 ) goto corrupt;
      *pi = streamPqGet64(pCol->pVal);
      pCol->pVal += 8;
      break;
    default: {
      u32 n;
      if( nLeft<4 ) goto corrupt;
      n = streamPqGet32(pCol->pVal);
      if( n>nLeft-4 || (i64)n>p->nMaxValue ){
        return streamPqValueError(p, iCol, n, nLeft);
      }
      *pa = pCol->pVal+4;
      *pn = (int)n;
      pCol->pVal += 4+(size_t)n;
      break;
    }
  }
  return SQLITE_OK;
 corrupt:
  return streamPqReaderError(p, SQLITE_CORRUPT, "column '%s': value out of "
      "bounds in page", aPqCol[iCol].zName);
}

/* Set up the column cursors for row group p->iGroup. */
static void streamPqOpenGroup(StreamPqReader *p){
  StreamPqGroup *pGroup = &p->aGroup[p->iGroup];
  int i;
  for(i=0; i<STREAM_PQ_NCOL; i++){
    StreamPqCol *pCol = &p->aCol[i];
    u8 *aBuf = pCol->aBuf;
    size_t nBufAlloc = pCol->nBufAlloc;
    memset(pCol, 0, sizeof(*pCol));
    pCol->aBuf = aBuf;
    pCol->nBufAlloc = nBufAlloc;
    pCol->iPos = pGroup->aChunk[i].iStart;
    pCol->iEnd = pGroup->aChunk[i].iStart + pGroup->aChunk[i].nBytes;
    pCol->nChunkLeft = pGroup->aChunk[i].nValues;
    pCol->nUncompLeft = pGroup->aChunk[i].nUncompressed;
    pCol->eCodec = pGroup->aChunk[i].eCodec;
  }
  p->mSkip = ~p->mWant & ((1u<<STREAM_PQ_NCOL)-1);
  p->bGroupOpen = 1;
  p->iRow = 0;
}

/**************************************************************************
** Public interface
*/

int sqlite3StreamPqReaderOpen(
  StreamPqReader **pp, StreamPqReadFn xRead, void *pCtx, i64 nFile,
  char **pzErr
){
  StreamPqReader *p;
  u8 aHead[4], aTail[8];
  u8 *aFooter = 0;
  u32 nFooter;
  int rc;

  *pp = 0;
  if( pzErr ) *pzErr = 0;
  p = (StreamPqReader*)sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->xRead = xRead;
  p->pCtx = pCtx;
  p->nFile = nFile;
  p->iTsDiv = 1000;
  p->mWant = (1u<<STREAM_PQ_NCOL)-1;
  p->nMaxValue = INT32_MAX;

  if( nFile<12 ){
    streamPqReaderError(p, SQLITE_CORRUPT, "file too small (%lld bytes)",
                        nFile);
    goto open_out;
  }
  if( streamPqRead(p, aHead, 4, 0) ) goto open_out;
  if( streamPqRead(p, aTail, 8, nFile-8) ) goto open_out;
  if( memcmp(aHead, "PAR1", 4) ){
    streamPqReaderError(p, SQLITE_CORRUPT, "bad magic at start of file");
    goto open_out;
  }
  if( memcmp(&aTail[4], "PAR1", 4) ){
    streamPqReaderError(p, SQLITE_CORRUPT, "bad magic at end of file "
        "(truncated file?)");
    goto open_out;
  }
  nFooter = streamPqGet32(aTail);
  if( nFooter<2 || (i64)nFooter>nFile-12 ){
    streamPqReaderError(p, SQLITE_CORRUPT, "truncated footer: length %u, "
        "file is %lld bytes", nFooter, nFile);
    goto open_out;
  }
  if( nFooter>STREAM_PQ_MAX_FOOTER ){
    streamPqReaderError(p, SQLITE_TOOBIG, "footer is %u bytes, limit %d",
        nFooter, STREAM_PQ_MAX_FOOTER);
    goto open_out;
  }
  p->nDataEnd = nFile - 8 - nFooter;
  aFooter = (u8*)sqlite3_malloc64(nFooter);
  if( aFooter==0 ){
    streamPqReaderOom(p);
    goto open_out;
  }
  if( streamPqRead(p, aFooter, nFooter, p->nDataEnd) ) goto open_out;
  if( streamPqParseFooter(p, aFooter, nFooter)==SQLITE_OK ){
    streamPqCheckChunks(p);
  }

 open_out:
  sqlite3_free(aFooter);
  rc = p->rc;
  if( rc ){
    if( pzErr ){
      *pzErr = p->zErr;
      p->zErr = 0;
    }
    sqlite3StreamPqReaderClose(p);
    return rc;
  }
  *pp = p;
  return SQLITE_OK;
}

sqlite3_int64 sqlite3StreamPqReaderRows(StreamPqReader *p){
  return p->nRows;
}

int sqlite3StreamPqReaderGroups(StreamPqReader *p){
  return p->nGroup;
}

const StreamPqGroupInfo *sqlite3StreamPqReaderGroup(StreamPqReader *p, int i){
  if( i<0 || i>=p->nGroup ) return 0;
  return &p->aGroup[i].info;
}

const char *sqlite3StreamPqReaderMeta(StreamPqReader *p, const char *zKey){
  int i;
  for(i=0; i<p->nMeta; i++){
    if( strcmp(p->azMeta[2*i], zKey)==0 ) return p->azMeta[2*i+1];
  }
  return 0;
}

int sqlite3StreamPqReaderSeekGroup(StreamPqReader *p, int iGroup){
  if( p->rc ) return p->rc;
  if( iGroup<0 || iGroup>p->nGroup ) return SQLITE_RANGE;
  p->iGroup = iGroup;
  p->bGroupOpen = 0;
  p->bPeek = 0;
  return SQLITE_OK;
}

/* Next value of OPTIONAL BYTE_ARRAY column iCol, inline while the page
** holds its length prefix and the definition levels are in an RLE run;
** else through streamPqNextValue().  Sets bNull, a and n. */
#define PQ_NEXT_BYTES(iCol) { \
  StreamPqCol *pC_ = &p->aCol[iCol]; \
  if( pC_->nPageLeft>0 && pC_->nRle>0 && p->abOptional[iCol] \
   && (pC_->iRleVal==0 || pC_->pValEnd - pC_->pVal >= 4) ){ \
    pC_->nPageLeft--; \
    pC_->nRle--; \
    if( pC_->iRleVal==0 ){ \
      bNull = 1; \
    }else{ \
      u32 n_ = streamPqGet32(pC_->pVal); \
      size_t nLeft_ = (size_t)(pC_->pValEnd - pC_->pVal); \
      if( n_>nLeft_-4 || (i64)n_>p->nMaxValue ){ \
        return streamPqValueError(p, iCol, n_, nLeft_); \
      } \
      bNull = 0; \
      a = pC_->pVal+4; \
      n = (int)n_; \
      pC_->pVal += 4+(size_t)n_; \
    } \
  }else if( streamPqNextValue(p, iCol, &bNull, &a, &n, &v) ){ \
    return p->rc; \
  } \
}

/* Next value of REQUIRED INT32 column iCol into lvalue X (as below). */
#define PQ_NEXT_INT32(iCol, X) { \
  StreamPqCol *pC_ = &p->aCol[iCol]; \
  if( pC_->nPageLeft>0 && pC_->pValEnd - pC_->pVal >= 4 \
   && !p->abOptional[iCol] ){ \
    X = (i64)(int32_t)streamPqGet32(pC_->pVal); \
    pC_->pVal += 4; \
    pC_->nPageLeft--; \
  }else{ \
    i64 v_ = 0; \
    if( streamPqNextValue(p, iCol, &bNull, &a, &n, &v_) ){ \
      return p->rc; \
    } \
    X = v_; \
  } \
}

/* Next value of REQUIRED INT64 column iCol into lvalue X: inline while
** the page holds it, else through streamPqNextValue(). */
#define PQ_NEXT_INT64(iCol, X) { \
  StreamPqCol *pC_ = &p->aCol[iCol]; \
  if( pC_->nPageLeft>0 && pC_->pValEnd - pC_->pVal >= 8 ){ \
    X = streamPqGet64(pC_->pVal); \
    pC_->pVal += 8; \
    pC_->nPageLeft--; \
  }else{ \
    i64 v_ = 0; \
    if( streamPqNextValue(p, iCol, &bNull, &a, &n, &v_) ){ \
      return p->rc; \
    } \
    X = v_; \
  } \
}

int sqlite3StreamPqReaderSetColumns(StreamPqReader *p, unsigned mWant){
  p->mWant = (mWant | (1u<<COL_OFFSET) | (1u<<COL_TIMESTAMP) | (1u<<7))
           & ((1u<<STREAM_PQ_NCOL)-1);
  return SQLITE_OK;
}

void sqlite3StreamPqReaderSetMaxValue(StreamPqReader *p, i64 nMax){
  p->nMaxValue = (nMax<0 || nMax>INT32_MAX) ? INT32_MAX : nMax;
}

unsigned sqlite3StreamPqReaderColumns(StreamPqReader *p){
  if( !p->bGroupOpen ) return p->mWant;
  return ~p->mSkip & ((1u<<STREAM_PQ_NCOL)-1);
}

int sqlite3StreamPqReaderUnread(StreamPqReader *p, const StreamPqRow *pRow){
  if( p->rc ) return p->rc;
  if( p->bPeek || !p->bGroupOpen || p->iRow<=0 ) return SQLITE_MISUSE;
  p->peek = *pRow;
  p->bPeek = 1;
  return SQLITE_OK;
}

void sqlite3StreamPqReaderRelease(StreamPqReader *p){
  int i;
  for(i=0; i<STREAM_PQ_NCOL; i++){
    sqlite3_free(p->aCol[i].aBuf);
    memset(&p->aCol[i], 0, sizeof(p->aCol[i]));
  }
  sqlite3_free(p->aComp);
  p->aComp = 0;
  p->nCompAlloc = 0;
  sqlite3_free(p->aHdr);
  p->aHdr = 0;
  p->nHdrAlloc = 0;
  p->bGroupOpen = 0;
  p->bPeek = 0;
}

void sqlite3StreamPqReaderSetSource(StreamPqReader *p, void *pCtx){
  p->pCtx = pCtx;
}

int sqlite3StreamPqReaderNext(StreamPqReader *p, StreamPqRow *pRow){
  const u8 *a;
  int n, bNull, i;
  i64 v, attr;
  StreamPqRow row;

  if( p->rc ) return p->rc;
  if( p->bPeek ){
    *pRow = p->peek;
    p->bPeek = 0;
    return SQLITE_ROW;
  }
  while( 1 ){
    if( p->iGroup>=p->nGroup ) return SQLITE_DONE;
    if( !p->bGroupOpen ) streamPqOpenGroup(p);
    if( p->iRow<p->aGroup[p->iGroup].info.nRows ) break;
    for(i=0; i<STREAM_PQ_NCOL; i++){
      if( p->mSkip & (1u<<i) ) continue;
      if( p->aCol[i].nPageLeft>0 || p->aCol[i].nChunkLeft>0 ){
        return streamPqReaderError(p, SQLITE_CORRUPT, "row group %d column "
            "'%s' has more values than num_rows", p->iGroup, aPqCol[i].zName);
      }
    }
    p->iGroup++;
    p->bGroupOpen = 0;
  }

  memset(&row, 0, sizeof(row));
  a = 0; n = 0; v = 0; attr = 0;
  if( (p->mSkip & (1u<<0))==0 ){
    if( streamPqNextValue(p, 0, &bNull, &a, &n, &v) ) return p->rc;
    row.zTopic = (const char*)a; row.nTopic = n;
  }
  if( (p->mSkip & (1u<<1))==0 ){
    if( streamPqNextValue(p, 1, &bNull, &a, &n, &v) ) return p->rc;
    row.iPartition = (int)v;
  }
  PQ_NEXT_INT64(COL_OFFSET, row.iOffset);
  if( (p->mSkip & (1u<<3))==0 ){
    PQ_NEXT_BYTES(3);
    if( !bNull ){
      row.pKey = a; row.nKey = n; row.eKeyType = STREAM_PQ_TEXT;
    }
  }
  if( (p->mSkip & (1u<<4))==0 ){
    PQ_NEXT_BYTES(4);
    if( !bNull ){
      row.pValue = a; row.nValue = n; row.eValueType = STREAM_PQ_TEXT;
    }
  }
  if( (p->mSkip & (1u<<5))==0 ){
    PQ_NEXT_BYTES(5);
    if( !bNull ){
      /* An empty header text still needs a non-NULL pointer. */
      row.zHeaders = a ? (const char*)a : "";
      row.nHeaders = n;
    }
  }
  PQ_NEXT_INT64(COL_TIMESTAMP, v);
  if( p->iTsDiv==1000 ){
    /* The usual unit (MICROS): a division by a constant. */
    row.iTimestampMs = v>=0 ? v/1000 : v/1000 - ((v%1000)<0);
  }else{
    row.iTimestampMs = v/p->iTsDiv - ((v%p->iTsDiv)<0);
  }
  PQ_NEXT_INT32(7, attr);
  if( row.eKeyType && (attr & STREAM_PQ_ATTR_KEY_BLOB) ){
    row.eKeyType = STREAM_PQ_BLOB;
  }
  if( row.eValueType && (attr & STREAM_PQ_ATTR_VALUE_BLOB) ){
    row.eValueType = STREAM_PQ_BLOB;
  }
  if( row.zTopic==0 ) row.zTopic = "";
  p->iRow++;
  *pRow = row;
  return SQLITE_ROW;
}

int sqlite3StreamPqReaderSeek(StreamPqReader *p, sqlite3_int64 iOffset){
  int g;
  int rc;
  StreamPqRow row;
  if( p->rc ) return p->rc;
  /* Offsets increase through the file: skip groups that end before it. */
  for(g=0; g<p->nGroup; g++){
    const StreamPqGroupInfo *pInfo = &p->aGroup[g].info;
    if( !pInfo->bStats || pInfo->iOffsetMax>=iOffset ) break;
  }
  rc = sqlite3StreamPqReaderSeekGroup(p, g);
  while( rc==SQLITE_OK ){
    rc = sqlite3StreamPqReaderNext(p, &row);
    if( rc==SQLITE_ROW ){
      rc = SQLITE_OK;
      if( row.iOffset>=iOffset ){
        p->peek = row;
        p->bPeek = 1;
        break;
      }
    }else if( rc==SQLITE_DONE ){
      rc = SQLITE_OK;
      break;
    }
  }
  return rc;
}

const char *sqlite3StreamPqReaderErrmsg(StreamPqReader *p){
  return p ? p->zErr : 0;
}

void sqlite3StreamPqReaderClose(StreamPqReader *p){
  int i;
  if( p==0 ) return;
  for(i=0; i<STREAM_PQ_NCOL; i++) sqlite3_free(p->aCol[i].aBuf);
  sqlite3_free(p->aComp);
  ZSTD_freeDCtx(p->pZstd);
  for(i=0; i<2*p->nMeta; i++) sqlite3_free(p->azMeta[i]);
  sqlite3_free(p->azMeta);
  sqlite3_free(p->aGroup);
  sqlite3_free(p->aHdr);
  sqlite3_free(p->zErr);
  sqlite3_free(p);
}
