/*
** thrift.c - the Thrift compact protocol, as much as Parquet needs.
**
** Parquet's footer (FileMetaData) and its page headers are Thrift structs
** in the compact protocol (apache/thrift doc/specs/thrift-compact-
** protocol.md).  This file has:
**
**   - StreamPqBuf, a growable byte buffer with a sticky error code, used
**     by the writer for everything it builds in memory;
**   - an encoder: field headers (short form when the id delta is 1..15),
**     zigzag varints, binaries, list headers, struct stops;
**   - a decoder that never reads outside its buffer, rejects over-long
**     varints, checks list counts against the bytes left (every element
**     takes at least one byte, so a count larger than that is corrupt),
**     and skips unknown fields of every type with a depth limit.
*/
#include "streamInt.h"
#include <string.h>

/**************************************************************************
** Output buffer
*/

static int streamPqBufGrow(StreamPqBuf *p, size_t n){
  size_t nNew;
  u8 *aNew;
  if( p->rc ) return p->rc;
  if( p->n + n <= p->nAlloc ) return SQLITE_OK;
  nNew = p->nAlloc ? p->nAlloc : 256;
  while( nNew < p->n + n ) nNew *= 2;
  aNew = (u8*)sqlite3_realloc64(p->a, nNew);
  if( aNew==0 ){
    p->rc = SQLITE_NOMEM;
    return p->rc;
  }
  p->a = aNew;
  p->nAlloc = nNew;
  return SQLITE_OK;
}

int sqlite3StreamPqBufReserve(StreamPqBuf *p, size_t n){
  return streamPqBufGrow(p, n);
}

void sqlite3StreamPqBufAppend(StreamPqBuf *p, const void *pData, size_t n){
  if( n==0 || streamPqBufGrow(p, n) ) return;
  memcpy(&p->a[p->n], pData, n);
  p->n += n;
}

void sqlite3StreamPqBufU32(StreamPqBuf *p, u32 v){
  u8 a[4];
  a[0] = (u8)v; a[1] = (u8)(v>>8); a[2] = (u8)(v>>16); a[3] = (u8)(v>>24);
  sqlite3StreamPqBufAppend(p, a, 4);
}

void sqlite3StreamPqBufU64(StreamPqBuf *p, u64 v){
  u8 a[8];
  int i;
  for(i=0; i<8; i++) a[i] = (u8)(v >> (8*i));
  sqlite3StreamPqBufAppend(p, a, 8);
}

void sqlite3StreamPqBufVarint(StreamPqBuf *p, u64 v){
  u8 a[10];
  int n = 0;
  do{
    u8 c = (u8)(v & 0x7f);
    v >>= 7;
    if( v ) c |= 0x80;
    a[n++] = c;
  }while( v );
  sqlite3StreamPqBufAppend(p, a, n);
}

void sqlite3StreamPqBufReset(StreamPqBuf *p){
  p->n = 0;
}

void sqlite3StreamPqBufFree(StreamPqBuf *p){
  sqlite3_free(p->a);
  memset(p, 0, sizeof(*p));
}

/**************************************************************************
** Encoder
*/

void sqlite3StreamThriftZigzag(StreamPqBuf *p, i64 v){
  sqlite3StreamPqBufVarint(p, ((u64)v << 1) ^ (u64)(v >> 63));
}

void sqlite3StreamThriftField(StreamPqBuf *p, int *piLast, int eType, int iId){
  int iDelta = iId - *piLast;
  if( iDelta>0 && iDelta<=15 ){
    u8 c = (u8)((iDelta<<4) | eType);
    sqlite3StreamPqBufAppend(p, &c, 1);
  }else{
    u8 c = (u8)eType;
    sqlite3StreamPqBufAppend(p, &c, 1);
    sqlite3StreamThriftZigzag(p, iId);
  }
  *piLast = iId;
}

void sqlite3StreamThriftBool(StreamPqBuf *p, int *piLast, int iId, int b){
  sqlite3StreamThriftField(p, piLast,
      b ? STREAM_THRIFT_TRUE : STREAM_THRIFT_FALSE, iId);
}

void sqlite3StreamThriftI32(StreamPqBuf *p, int *piLast, int iId, int v){
  sqlite3StreamThriftField(p, piLast, STREAM_THRIFT_I32, iId);
  sqlite3StreamThriftZigzag(p, v);
}

void sqlite3StreamThriftI64(StreamPqBuf *p, int *piLast, int iId, i64 v){
  sqlite3StreamThriftField(p, piLast, STREAM_THRIFT_I64, iId);
  sqlite3StreamThriftZigzag(p, v);
}

void sqlite3StreamThriftBinary(
  StreamPqBuf *p, int *piLast, int iId, const void *pData, size_t n
){
  sqlite3StreamThriftField(p, piLast, STREAM_THRIFT_BINARY, iId);
  sqlite3StreamPqBufVarint(p, n);
  sqlite3StreamPqBufAppend(p, pData, n);
}

void sqlite3StreamThriftListHeader(StreamPqBuf *p, int eElem, int nElem){
  if( nElem<15 ){
    u8 c = (u8)((nElem<<4) | eElem);
    sqlite3StreamPqBufAppend(p, &c, 1);
  }else{
    u8 c = (u8)(0xF0 | eElem);
    sqlite3StreamPqBufAppend(p, &c, 1);
    sqlite3StreamPqBufVarint(p, (u64)nElem);
  }
}

void sqlite3StreamThriftList(
  StreamPqBuf *p, int *piLast, int iId, int eElem, int nElem
){
  sqlite3StreamThriftField(p, piLast, STREAM_THRIFT_LIST, iId);
  sqlite3StreamThriftListHeader(p, eElem, nElem);
}

void sqlite3StreamThriftStructEnd(StreamPqBuf *p){
  u8 c = 0;
  sqlite3StreamPqBufAppend(p, &c, 1);
}

/**************************************************************************
** Decoder
*/

void sqlite3StreamThriftReaderInit(
  StreamThriftReader *r, const void *a, size_t n
){
  memset(r, 0, sizeof(*r));
  r->a = (const u8*)a;
  r->n = n;
}

void sqlite3StreamThriftError(StreamThriftReader *r, const char *zMsg){
  if( r->rc==SQLITE_OK ){
    r->rc = SQLITE_CORRUPT;
    sqlite3_snprintf(sizeof(r->zErr), r->zErr, "%s at byte %lld",
                     zMsg, (i64)r->i);
  }
}

static void streamThriftTruncated(StreamThriftReader *r){
  if( r->rc==SQLITE_OK ){
    sqlite3StreamThriftError(r, "thrift data truncated");
    r->bTruncated = 1;
  }
}

/* Read one byte, or 0 and set the error if none is left. */
static u8 streamThriftByte(StreamThriftReader *r){
  if( r->rc ) return 0;
  if( r->i>=r->n ){
    streamThriftTruncated(r);
    return 0;
  }
  return r->a[r->i++];
}

/* ULEB128, at most 10 bytes. */
static u64 streamThriftVarint(StreamThriftReader *r){
  u64 v = 0;
  int i;
  for(i=0; i<10; i++){
    u8 c = streamThriftByte(r);
    if( r->rc ) return 0;
    if( i==9 && c>1 ){
      sqlite3StreamThriftError(r, "thrift varint too long");
      return 0;
    }
    v |= (u64)(c & 0x7f) << (7*i);
    if( (c & 0x80)==0 ) return v;
  }
  sqlite3StreamThriftError(r, "thrift varint too long");
  return 0;
}

i64 sqlite3StreamThriftReadI64(StreamThriftReader *r){
  u64 v = streamThriftVarint(r);
  return (i64)((v >> 1) ^ (~(v & 1) + 1));
}

int sqlite3StreamThriftReadI32(StreamThriftReader *r){
  i64 v = sqlite3StreamThriftReadI64(r);
  if( v<(i64)INT32_MIN || v>(i64)INT32_MAX ){
    sqlite3StreamThriftError(r, "thrift i32 out of range");
    return 0;
  }
  return (int)v;
}

const u8 *sqlite3StreamThriftReadBinary(StreamThriftReader *r, size_t *pn){
  u64 n = streamThriftVarint(r);
  const u8 *p;
  *pn = 0;
  if( r->rc ) return 0;
  if( n > (u64)(r->n - r->i) ){
    streamThriftTruncated(r);
    return 0;
  }
  p = &r->a[r->i];
  r->i += (size_t)n;
  *pn = (size_t)n;
  return p;
}

int sqlite3StreamThriftNextField(StreamThriftReader *r, int *piLast, int *piId){
  u8 c = streamThriftByte(r);
  int eType;
  int iDelta;
  *piId = 0;
  if( r->rc || c==0 ) return STREAM_THRIFT_STOP;
  eType = c & 0x0f;
  iDelta = c >> 4;
  if( iDelta ){
    *piId = *piLast + iDelta;
  }else{
    i64 iId = sqlite3StreamThriftReadI64(r);
    if( iId<INT16_MIN || iId>INT16_MAX ){
      sqlite3StreamThriftError(r, "thrift field id out of range");
    }
    *piId = (int)iId;
  }
  if( eType==STREAM_THRIFT_STOP || eType>STREAM_THRIFT_UUID ){
    sqlite3StreamThriftError(r, "thrift bad field type");
  }
  if( *piId>32767 ) sqlite3StreamThriftError(r, "thrift field id out of range");
  if( r->rc ) return STREAM_THRIFT_STOP;
  *piLast = *piId;
  return eType;
}

int sqlite3StreamThriftReadList(StreamThriftReader *r, int *peElem){
  u8 c = streamThriftByte(r);
  u64 n;
  *peElem = c & 0x0f;
  n = c >> 4;
  if( n==15 ) n = streamThriftVarint(r);
  if( r->rc ) return 0;
  if( *peElem==STREAM_THRIFT_STOP || *peElem>STREAM_THRIFT_UUID ){
    sqlite3StreamThriftError(r, "thrift bad list element type");
    return 0;
  }
  /* Every element takes at least one byte. */
  if( n > (u64)(r->n - r->i) || n > (u64)INT32_MAX ){
    streamThriftTruncated(r);
    return 0;
  }
  return (int)n;
}

void sqlite3StreamThriftSkip(StreamThriftReader *r, int eType, int bInList){
  size_t n;
  if( r->rc ) return;
  switch( eType ){
    case STREAM_THRIFT_TRUE:
    case STREAM_THRIFT_FALSE:
      if( bInList ) streamThriftByte(r);
      break;
    case STREAM_THRIFT_I8:
      streamThriftByte(r);
      break;
    case STREAM_THRIFT_I16:
    case STREAM_THRIFT_I32:
    case STREAM_THRIFT_I64:
      streamThriftVarint(r);
      break;
    case STREAM_THRIFT_DOUBLE:
    case STREAM_THRIFT_UUID:
      n = eType==STREAM_THRIFT_DOUBLE ? 8 : 16;
      if( r->n - r->i < n ){
        streamThriftTruncated(r);
      }else{
        r->i += n;
      }
      break;
    case STREAM_THRIFT_BINARY:
      sqlite3StreamThriftReadBinary(r, &n);
      break;
    case STREAM_THRIFT_LIST:
    case STREAM_THRIFT_SET:
    case STREAM_THRIFT_MAP:
    case STREAM_THRIFT_STRUCT: {
      if( r->nDepth>=STREAM_THRIFT_MAX_DEPTH ){
        sqlite3StreamThriftError(r, "thrift nesting too deep");
        return;
      }
      r->nDepth++;
      if( eType==STREAM_THRIFT_STRUCT ){
        int iLast = 0, iId, e;
        while( (e = sqlite3StreamThriftNextField(r, &iLast, &iId))!=0 ){
          sqlite3StreamThriftSkip(r, e, 0);
        }
      }else if( eType==STREAM_THRIFT_MAP ){
        u64 nElem = streamThriftVarint(r);
        if( nElem>0 && r->rc==SQLITE_OK ){
          u8 c = streamThriftByte(r);
          int eKey = c>>4, eVal = c & 0x0f;
          u64 i;
          if( eKey==0 || eKey>STREAM_THRIFT_UUID
           || eVal==0 || eVal>STREAM_THRIFT_UUID ){
            sqlite3StreamThriftError(r, "thrift bad map element type");
          }else if( nElem > (u64)(r->n - r->i)/2 ){
            streamThriftTruncated(r);
          }
          for(i=0; i<nElem && r->rc==SQLITE_OK; i++){
            sqlite3StreamThriftSkip(r, eKey, 1);
            sqlite3StreamThriftSkip(r, eVal, 1);
          }
        }
      }else{
        int eElem, i;
        int nElem = sqlite3StreamThriftReadList(r, &eElem);
        for(i=0; i<nElem && r->rc==SQLITE_OK; i++){
          sqlite3StreamThriftSkip(r, eElem, 1);
        }
      }
      r->nDepth--;
      break;
    }
    default:
      sqlite3StreamThriftError(r, "thrift unknown type");
      break;
  }
}
