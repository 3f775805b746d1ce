/*
** avro.c - Avro binary encoding and object container files, for the
** manifests and manifest lists of the cold tier (ext/iceberg.c).
**
** Writer: the caller encodes records with the value helpers below into a
** StreamPqBuf, then sqlite3StreamAvroContainer() wraps them in a container
** file (Avro 1.11 "Object Container Files"):
**
**   "Obj" 0x01
**   header metadata: map<bytes> (avro.schema, avro.codec = null, and the
**                    caller's keys: Iceberg's schema, partition-spec, ...)
**   16-byte sync marker
**   one block: count (long), size (long), the records, the sync marker
**
** The schema JSON is written as given, so the "field-id" attributes that
** Iceberg needs survive (Debian's libavro drops them, and cannot write
** custom header metadata: see /work/shared/notes/formats.md).
**
** Reader: sqlite3StreamAvroRead() decodes a container file written with the
** null codec against the schema in its own header into a StreamJson array of
** records (long values as raw JSON numbers, so 64-bit values survive; bytes
** and fixed as lowercase hex strings).  It supports the types Iceberg
** metadata uses: null, boolean, int, long, float, double, bytes, string,
** record, array, map, fixed, enum and unions.  Every length is checked
** against the bytes left, nesting is bounded.
*/
#include "streamInt.h"
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#define STREAM_AVRO_MAX_DEPTH 32

/**************************************************************************
** Encoding
*/

void sqlite3StreamAvroLong(StreamPqBuf *b, i64 v){
  sqlite3StreamPqBufVarint(b, ((u64)v << 1) ^ (u64)(v >> 63));
}

void sqlite3StreamAvroBytes(StreamPqBuf *b, const void *p, size_t n){
  sqlite3StreamAvroLong(b, (i64)n);
  if( n ) sqlite3StreamPqBufAppend(b, p, n);
}

void sqlite3StreamAvroString(StreamPqBuf *b, const char *z){
  sqlite3StreamAvroBytes(b, z, strlen(z));
}

int sqlite3StreamAvroContainer(StreamPqBuf *pOut, const char *zSchema,
                               const char *const *azMeta, i64 nRecord,
                               const StreamPqBuf *pRecords){
  u8 aSync[16];
  int nMeta = 0, i;
  while( azMeta && azMeta[nMeta*2] ) nMeta++;
  sqlite3_randomness(sizeof(aSync), aSync);
  sqlite3StreamPqBufAppend(pOut, "Obj\x01", 4);
  sqlite3StreamAvroLong(pOut, nMeta + 2);          /* one block of pairs */
  sqlite3StreamAvroString(pOut, "avro.schema");
  sqlite3StreamAvroString(pOut, zSchema);
  sqlite3StreamAvroString(pOut, "avro.codec");
  sqlite3StreamAvroString(pOut, "null");
  for(i=0; i<nMeta; i++){
    sqlite3StreamAvroString(pOut, azMeta[i*2]);
    sqlite3StreamAvroString(pOut, azMeta[i*2+1]);
  }
  sqlite3StreamAvroLong(pOut, 0);                  /* end of the map */
  sqlite3StreamPqBufAppend(pOut, aSync, sizeof(aSync));
  if( nRecord>0 ){
    sqlite3StreamAvroLong(pOut, nRecord);
    sqlite3StreamAvroLong(pOut, (i64)pRecords->n);
    sqlite3StreamPqBufAppend(pOut, pRecords->a, pRecords->n);
    sqlite3StreamPqBufAppend(pOut, aSync, sizeof(aSync));
  }
  return pOut->rc ? pOut->rc : pRecords->rc;
}

/**************************************************************************
** Decoding
*/

typedef struct StreamAvroIn StreamAvroIn;
struct StreamAvroIn {
  const u8 *a;                 /* Next byte */
  const u8 *aEnd;              /* One past the last byte */
  StreamJson *pNamed;               /* Named types seen: name -> schema */
  char *zErr;                  /* First error */
};

static int streamAvroFail(StreamAvroIn *p, const char *zMsg){
  if( p->zErr==0 ) p->zErr = sqlite3_mprintf("%s", zMsg);
  return SQLITE_CORRUPT;
}

static int streamAvroReadLong(StreamAvroIn *p, i64 *pv){
  u64 v = 0;
  int sh = 0;
  while( 1 ){
    u8 c;
    if( p->a>=p->aEnd ) return streamAvroFail(p, "truncated varint");
    c = *p->a++;
    if( sh>63 ) return streamAvroFail(p, "varint too long");
    v |= (u64)(c & 0x7f) << sh;
    sh += 7;
    if( (c & 0x80)==0 ) break;
  }
  *pv = (i64)(v >> 1) ^ -(i64)(v & 1);
  return SQLITE_OK;
}

/* A length (bytes, string, block sizes): 0..bytes left. */
static int streamAvroReadLen(StreamAvroIn *p, i64 *pn){
  int rc = streamAvroReadLong(p, pn);
  if( rc ) return rc;
  if( *pn<0 || *pn>(i64)(p->aEnd - p->a) ){
    return streamAvroFail(p, "length out of bounds");
  }
  return SQLITE_OK;
}

static StreamJson *streamAvroHex(const u8 *a, i64 n){
  static const char aHex[] = "0123456789abcdef";
  char *z = sqlite3_malloc64((u64)n*2+1);
  StreamJson *pOut;
  i64 i;
  if( z==0 ) return 0;
  for(i=0; i<n; i++){
    z[i*2] = aHex[a[i]>>4];
    z[i*2+1] = aHex[a[i]&15];
  }
  z[n*2] = 0;
  pOut = sqlite3StreamJsonNewString(z);
  sqlite3_free(z);
  return pOut;
}

static int streamAvroValue(StreamAvroIn *p, const StreamJson *pSchema,
                           int nDepth,
                           StreamJson **ppOut);

/* Decode the blocks of an array (pItems set) or map (pValues set). */
static int streamAvroBlocks(StreamAvroIn *p, const StreamJson *pItems,
                            const StreamJson *pValues, int nDepth,
                            StreamJson *pOut){
  while( 1 ){
    i64 n, i;
    int rc = streamAvroReadLong(p, &n);
    if( rc ) return rc;
    if( n==0 ) return SQLITE_OK;
    if( n<0 ){
      i64 nSize;
      n = -n;
      if( (rc = streamAvroReadLong(p, &nSize))!=0 ) return rc;
    }
    if( n>(i64)(p->aEnd - p->a) ) return streamAvroFail(p, "bad block count");
    for(i=0; i<n; i++){
      StreamJson *pV = 0;
      if( pItems ){
        rc = streamAvroValue(p, pItems, nDepth+1, &pV);
        if( rc ) return rc;
        sqlite3StreamJsonAppend(pOut, pV);
      }else{
        i64 nKey;
        char *zKey;
        if( (rc = streamAvroReadLen(p, &nKey))!=0 ) return rc;
        zKey = sqlite3_mprintf("%.*s", (int)nKey, p->a);
        if( zKey==0 ) return SQLITE_NOMEM;
        p->a += nKey;
        rc = streamAvroValue(p, pValues, nDepth+1, &pV);
        if( rc==SQLITE_OK ) sqlite3StreamJsonAdd(pOut, zKey, pV);
        sqlite3_free(zKey);
        if( rc ) return rc;
      }
    }
  }
}

static int streamAvroValue(StreamAvroIn *p, const StreamJson *pSchema,
                           int nDepth,
                           StreamJson **ppOut){
  const char *zType;
  StreamJson *pOut = 0;
  i64 v = 0;
  int rc = SQLITE_OK;
  *ppOut = 0;
  if( nDepth>STREAM_AVRO_MAX_DEPTH ) return streamAvroFail(p, "too deep");
  if( sqlite3StreamJsonIsArray(pSchema) ){                   /* union */
    const StreamJson *pBranch;
    rc = streamAvroReadLong(p, &v);
    if( rc ) return rc;
    pBranch = v>=0 && v<sqlite3StreamJsonCount(pSchema)
            ? sqlite3StreamJsonAt(pSchema, (int)v) : 0;
    if( pBranch==0 ) return streamAvroFail(p, "bad union branch");
    return streamAvroValue(p, pBranch, nDepth+1, ppOut);
  }
  if( sqlite3StreamJsonIsObject(pSchema) ){
    const StreamJson *pT = sqlite3StreamJsonGet(pSchema, "type");
    const StreamJson *pName = sqlite3StreamJsonGet(pSchema, "name");
    if( sqlite3StreamJsonIsString(pName)
     && !sqlite3StreamJsonGet(p->pNamed, pName->zValue) ){
      StreamJson *pRef = sqlite3StreamJsonNewRef(pSchema);
      if( pRef==0 ) return SQLITE_NOMEM;
      sqlite3StreamJsonAdd(p->pNamed, pName->zValue, pRef);
    }
    if( !sqlite3StreamJsonIsString(pT) ){
      return pT ? streamAvroValue(p, pT, nDepth+1, ppOut)
                : streamAvroFail(p, "schema without a type");
    }
    zType = pT->zValue;
    if( strcmp(zType, "record")==0 ){
      const StreamJson *pF;
      pOut = sqlite3StreamJsonNewObject();
      if( pOut==0 ) return SQLITE_NOMEM;
      STREAM_JSON_FOREACH(pF, sqlite3StreamJsonGet(pSchema, "fields")){
        const StreamJson *pFN = sqlite3StreamJsonGet(pF, "name");
        StreamJson *pV = 0;
        if( !sqlite3StreamJsonIsString(pFN) ){
          rc = streamAvroFail(p, "bad field");
          break;
        }
        rc = streamAvroValue(p, sqlite3StreamJsonGet(pF, "type"),
                             nDepth+1, &pV);
        if( rc ) break;
        sqlite3StreamJsonAdd(pOut, pFN->zValue, pV);
      }
    }else if( strcmp(zType, "array")==0 || strcmp(zType, "map")==0 ){
      int bArray = zType[0]=='a';
      pOut = bArray ? sqlite3StreamJsonNewArray()
                    : sqlite3StreamJsonNewObject();
      if( pOut==0 ) return SQLITE_NOMEM;
      rc = streamAvroBlocks(p,
          bArray ? sqlite3StreamJsonGet(pSchema, "items") : 0,
          bArray ? 0 : sqlite3StreamJsonGet(pSchema, "values"),
          nDepth, pOut);
    }else if( strcmp(zType, "fixed")==0 ){
      const StreamJson *pSize = sqlite3StreamJsonGet(pSchema, "size");
      i64 n = sqlite3StreamJsonIsNumber(pSize) && pSize->rValue>=0
           && pSize->rValue<=(double)(p->aEnd - p->a) ? (i64)pSize->rValue : -1;
      if( n<0 || n>(i64)(p->aEnd - p->a) ){
        return streamAvroFail(p, "bad fixed");
      }
      pOut = streamAvroHex(p->a, n);
      p->a += n;
    }else if( strcmp(zType, "enum")==0 ){
      const StreamJson *pSym = sqlite3StreamJsonGet(pSchema, "symbols");
      const StreamJson *pS;
      if( (rc = streamAvroReadLong(p, &v))!=0 ) return rc;
      pS = v>=0 && v<sqlite3StreamJsonCount(pSym)
         ? sqlite3StreamJsonAt(pSym, (int)v) : 0;
      if( !sqlite3StreamJsonIsString(pS) ) return streamAvroFail(p, "bad enum");
      pOut = sqlite3StreamJsonNewString(pS->zValue);
    }else{
      return streamAvroValue(p, pT, nDepth+1, ppOut);   /* {"type":"long"} */
    }
    if( rc ){ sqlite3StreamJsonFree(pOut); return rc; }
    if( pOut==0 ) return SQLITE_NOMEM;
    *ppOut = pOut;
    return SQLITE_OK;
  }
  if( !sqlite3StreamJsonIsString(pSchema) ) return streamAvroFail(p,
                                                                  "bad schema");
  zType = pSchema->zValue;
  if( strcmp(zType, "null")==0 ){
    pOut = sqlite3StreamJsonNew(STREAM_JSON_NULL);
  }else if( strcmp(zType, "boolean")==0 ){
    if( p->a>=p->aEnd ) return streamAvroFail(p, "truncated boolean");
    pOut = sqlite3StreamJsonNewBool(*p->a++ != 0);
  }else if( strcmp(zType, "int")==0 || strcmp(zType, "long")==0 ){
    char zNum[24];
    if( (rc = streamAvroReadLong(p, &v))!=0 ) return rc;
    snprintf(zNum, sizeof(zNum), "%lld", (long long)v);
    pOut = sqlite3StreamJsonNewRaw(zNum);
  }else if( strcmp(zType, "float")==0 || strcmp(zType, "double")==0 ){
    int n = zType[0]=='f' ? 4 : 8;
    u64 u = 0;
    int i;
    if( p->aEnd - p->a < n ) return streamAvroFail(p, "truncated number");
    for(i=0; i<n; i++) u |= (u64)p->a[i] << (8*i);
    p->a += n;
    if( n==4 ){
      float f; u32 u32v = (u32)u;
      memcpy(&f, &u32v, 4);
      pOut = sqlite3StreamJsonNewNumber(f);
    }else{
      double d;
      memcpy(&d, &u, 8);
      pOut = sqlite3StreamJsonNewNumber(d);
    }
  }else if( strcmp(zType, "bytes")==0 || strcmp(zType, "string")==0 ){
    i64 n;
    if( (rc = streamAvroReadLen(p, &n))!=0 ) return rc;
    if( zType[0]=='b' ){
      pOut = streamAvroHex(p->a, n);
    }else{
      char *z = sqlite3_mprintf("%.*s", (int)n, p->a);
      if( z==0 ) return SQLITE_NOMEM;
      pOut = sqlite3StreamJsonNewString(z);
      sqlite3_free(z);
    }
    p->a += n;
  }else{
    const StreamJson *pRef = sqlite3StreamJsonGet(p->pNamed, zType);
    if( pRef==0 ) return streamAvroFail(p, "unknown type");
    return streamAvroValue(p, pRef->pChild, nDepth+1, ppOut);
  }
  if( pOut==0 ) return SQLITE_NOMEM;
  *ppOut = pOut;
  return SQLITE_OK;
}

int sqlite3StreamAvroRead(const u8 *a, size_t n, StreamJson **ppMeta,
                          StreamJson **ppRecords, char **pzErr){
  StreamAvroIn in;
  StreamJson *pMeta = 0, *pRecs = 0, *pSchema = 0;
  const StreamJson *pCodec, *pSchemaText;
  u8 aSync[16];
  int rc;
  memset(&in, 0, sizeof(in));
  *ppMeta = 0;
  *ppRecords = 0;
  in.a = a;
  in.aEnd = a + n;
  in.pNamed = sqlite3StreamJsonNewObject();
  pMeta = sqlite3StreamJsonNewObject();
  pRecs = sqlite3StreamJsonNewArray();
  if( in.pNamed==0 || pMeta==0 || pRecs==0 ){ rc = SQLITE_NOMEM; goto out; }
  if( n<4 || memcmp(a, "Obj\x01", 4)!=0 ){
    rc = streamAvroFail(&in, "not an Avro object container file");
    goto out;
  }
  in.a += 4;
  {
    StreamJson *pStr = sqlite3StreamJsonNewString("string");
    rc = pStr ? streamAvroBlocks(&in, 0, pStr, 0, pMeta) : SQLITE_NOMEM;
    sqlite3StreamJsonFree(pStr);
  }
  if( rc ) goto out;
  if( in.aEnd - in.a < 16 ){ rc = streamAvroFail(&in, "no sync marker"); goto out; }
  memcpy(aSync, in.a, 16);
  in.a += 16;
  pCodec = sqlite3StreamJsonGet(pMeta, "avro.codec");
  if( pCodec && strcmp(pCodec->zValue, "null")!=0 ){
    rc = streamAvroFail(&in, "unsupported codec (only null is read)");
    goto out;
  }
  pSchemaText = sqlite3StreamJsonGet(pMeta, "avro.schema");
  pSchema = pSchemaText ? sqlite3StreamJsonParse(pSchemaText->zValue, -1) : 0;
  if( pSchema==0 ){ rc = streamAvroFail(&in, "bad avro.schema"); goto out; }
  while( rc==SQLITE_OK && in.a<in.aEnd ){
    i64 nRec, nSize, i;
    const u8 *aBlockEnd;
    if( (rc = streamAvroReadLong(&in, &nRec))!=0 ) break;
    if( (rc = streamAvroReadLen(&in, &nSize))!=0 ) break;
    aBlockEnd = in.a + nSize;
    if( nRec<0 || nRec>nSize ){ rc = streamAvroFail(&in, "bad block"); break; }
    for(i=0; rc==SQLITE_OK && i<nRec; i++){
      StreamJson *pV = 0;
      rc = streamAvroValue(&in, pSchema, 0, &pV);
      if( rc==SQLITE_OK ) sqlite3StreamJsonAppend(pRecs, pV);
    }
    if( rc ) break;
    if( in.a!=aBlockEnd || in.aEnd - in.a < 16 || memcmp(in.a, aSync, 16) ){
      rc = streamAvroFail(&in, "block size or sync marker mismatch");
      break;
    }
    in.a += 16;
  }
 out:
  if( rc ){
    if( rc!=SQLITE_NOMEM ){
      sqlite3StreamErr(pzErr, rc, "avro: %s", in.zErr ? in.zErr : "error");
    }
    sqlite3StreamJsonFree(pMeta);
    sqlite3StreamJsonFree(pRecs);
  }else{
    *ppMeta = pMeta;
    *ppRecords = pRecs;
  }
  sqlite3StreamJsonFree(pSchema);
  sqlite3StreamJsonFree(in.pNamed);
  sqlite3_free(in.zErr);
  return rc;
}

i64 sqlite3StreamJsonI64(const StreamJson *p, i64 iDefault){
  if( sqlite3StreamJsonIsRaw(p) || sqlite3StreamJsonIsString(p) ){
    char *zEnd = 0;
    long long v = strtoll(p->zValue, &zEnd, 10);
    return (zEnd && *zEnd==0 && zEnd!=p->zValue) ? (i64)v : iDefault;
  }
  if( sqlite3StreamJsonIsNumber(p) ){          /* no cast out of range */
    return p->rValue>-9.2e18 && p->rValue<9.2e18 ? (i64)p->rValue : iDefault;
  }
  return iDefault;
}

/* Decode a little-endian integer from lowercase hex (bounds). */
int sqlite3StreamHexLe(const char *z, i64 *pv){
  size_t n = z ? strlen(z) : 0, i;
  u64 v = 0;
  if( n==0 || n>16 || (n&1) ) return 0;
  for(i=0; i<n; i+=2){
    int hi = z[i]<='9' ? z[i]-'0' : z[i]-'a'+10;
    int lo = z[i+1]<='9' ? z[i+1]-'0' : z[i+1]-'a'+10;
    if( hi<0 || hi>15 || lo<0 || lo>15 ) return 0;
    v |= (u64)((hi<<4)|lo) << (4*i);
  }
  if( n==8 ) v = (u64)(i64)(int)(u32)v;          /* sign-extend an int */
  *pv = (i64)v;
  return 1;
}

/* Hex digit value, or -1. */
static int streamAvroHexDigit(char c){
  if( c>='0' && c<='9' ) return c-'0';
  if( c>='a' && c<='f' ) return c-'a'+10;
  if( c>='A' && c<='F' ) return c-'A'+10;
  return -1;
}

/* Append the bytes of hex string z (bytes and fixed values). */
static int streamAvroHexBytes(StreamPqBuf *b, const char *z, int bLen){
  size_t n = strlen(z), i;
  if( n&1 ) return SQLITE_ERROR;
  if( bLen ) sqlite3StreamAvroLong(b, (i64)(n/2));
  for(i=0; i<n; i+=2){
    int hi = streamAvroHexDigit(z[i]), lo = streamAvroHexDigit(z[i+1]);
    u8 c;
    if( hi<0 || lo<0 ) return SQLITE_ERROR;
    c = (u8)((hi<<4)|lo);
    sqlite3StreamPqBufAppend(b, &c, 1);
  }
  return SQLITE_OK;
}

static int streamAvroEnc(StreamPqBuf *b, const StreamJson *pSchema,
                         const StreamJson *pVal, int nDepth){
  const char *zType;
  int rc = SQLITE_OK;
  if( nDepth>STREAM_AVRO_MAX_DEPTH ) return SQLITE_ERROR;
  if( sqlite3StreamJsonIsArray(pSchema) ){                 /* union */
    int i = 0, iPick = -1;
    const StreamJson *pB;
    int bNull = pVal==0 || sqlite3StreamJsonIsNull(pVal);
    STREAM_JSON_FOREACH(pB, pSchema){
      int bIsNull = sqlite3StreamJsonIsString(pB) && strcmp(pB->zValue,
                                                            "null")==0;
      if( bIsNull==bNull ){ iPick = i; break; }
      i++;
    }
    if( iPick<0 ) return SQLITE_ERROR;
    sqlite3StreamAvroLong(b, iPick);
    return streamAvroEnc(b, sqlite3StreamJsonAt(pSchema, iPick), pVal,
                         nDepth+1);
  }
  if( sqlite3StreamJsonIsObject(pSchema) ){
    const StreamJson *pT = sqlite3StreamJsonGet(pSchema, "type");
    if( !sqlite3StreamJsonIsString(pT) ) return streamAvroEnc(b, pT, pVal,
                                                              nDepth+1);
    zType = pT->zValue;
    if( strcmp(zType, "record")==0 ){
      const StreamJson *pF;
      STREAM_JSON_FOREACH(pF, sqlite3StreamJsonGet(pSchema, "fields")){
        const StreamJson *pN = sqlite3StreamJsonGet(pF, "name");
        if( !sqlite3StreamJsonIsString(pN) ) return SQLITE_ERROR;
        rc = streamAvroEnc(b, sqlite3StreamJsonGet(pF, "type"),
                 sqlite3StreamJsonGet(pVal, pN->zValue),
                 nDepth+1);
        if( rc ) return rc;
      }
      return SQLITE_OK;
    }
    if( strcmp(zType, "array")==0 || strcmp(zType, "map")==0 ){
      int bArray = zType[0]=='a';
      const StreamJson *pSub = sqlite3StreamJsonGet(pSchema,
                                              bArray ? "items" : "values");
      const StreamJson *pI;
      int n = sqlite3StreamJsonCount(pVal);
      if( n>0 ){
        sqlite3StreamAvroLong(b, n);
        STREAM_JSON_FOREACH(pI, pVal){
          if( !bArray ) sqlite3StreamAvroString(b, pI->zKey);
          rc = streamAvroEnc(b, pSub, pI, nDepth+1);
          if( rc ) return rc;
        }
      }
      sqlite3StreamAvroLong(b, 0);
      return SQLITE_OK;
    }
    if( strcmp(zType, "fixed")==0 ){
      return sqlite3StreamJsonIsString(pVal)
           ? streamAvroHexBytes(b, pVal->zValue, 0) : SQLITE_ERROR;
    }
    return streamAvroEnc(b, pT, pVal, nDepth+1);
  }
  if( !sqlite3StreamJsonIsString(pSchema) ) return SQLITE_ERROR;
  zType = pSchema->zValue;
  if( strcmp(zType, "null")==0 ) return SQLITE_OK;
  if( pVal==0 ) return SQLITE_ERROR;
  if( strcmp(zType, "boolean")==0 ){
    u8 c = sqlite3StreamJsonIsTrue(pVal) ? 1 : 0;
    sqlite3StreamPqBufAppend(b, &c, 1);
  }else if( strcmp(zType, "int")==0 || strcmp(zType, "long")==0 ){
    sqlite3StreamAvroLong(b, sqlite3StreamJsonI64(pVal, 0));
  }else if( strcmp(zType, "string")==0 ){
    if( !sqlite3StreamJsonIsString(pVal) ) return SQLITE_ERROR;
    sqlite3StreamAvroString(b, pVal->zValue);
  }else if( strcmp(zType, "bytes")==0 ){
    if( !sqlite3StreamJsonIsString(pVal) ) return SQLITE_ERROR;
    return streamAvroHexBytes(b, pVal->zValue, 1);
  }else{
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

int sqlite3StreamAvroEncode(StreamPqBuf *b, const StreamJson *pSchema,
                            const StreamJson *pVal, char **pzErr){
  int rc = streamAvroEnc(b, pSchema, pVal, 0);
  if( rc==SQLITE_OK ) rc = b->rc;
  if( rc && rc!=SQLITE_NOMEM ){
    rc = sqlite3StreamErr(pzErr, SQLITE_INTERNAL,
                          "avro: a value does not match its schema");
  }
  return rc;
}
