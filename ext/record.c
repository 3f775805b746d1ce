/*
** record.c - the record codec: the stored form of a message's value in
** _stream_messages (the value and attrs columns).
**
** A value is stored as produced (TEXT, BLOB or NULL, attrs 0), or, for a
** topic with compression.type gzip or zstd and a value of at least
** STREAM_RECORD_COMPRESS_MIN bytes that compresses smaller, as the
** compressed bytes in a BLOB with attrs = the codec (STREAM_CODEC_*) |
** STREAM_ATTR_BLOB if the produced value was a BLOB (else it was TEXT).
** Every reader decodes through sqlite3StreamRecordDecode(), the writer
** encodes through sqlite3StreamRecordEncode(): the format lives here.
*/
#include "streamInt.h"
#include <string.h>

/* Values shorter than this are stored as they are. */
#define STREAM_RECORD_COMPRESS_MIN 128

int sqlite3StreamRecordEncode(int eCodec, const void *pValue, int nValue,
                              int bBlob, void **ppOut, size_t *pnOut,
                              int *pAttrs){
  int rc;
  *ppOut = 0;
  *pnOut = 0;
  *pAttrs = 0;
  if( eCodec==STREAM_CODEC_NONE || pValue==0
   || nValue<STREAM_RECORD_COMPRESS_MIN ){
    return SQLITE_OK;
  }
  rc = sqlite3StreamCompress(eCodec, pValue, (size_t)nValue, ppOut, pnOut);
  if( rc ) return rc;
  if( *pnOut>=(size_t)nValue ){
    sqlite3_free(*ppOut);               /* no gain: stored as produced */
    *ppOut = 0;
    *pnOut = 0;
    return SQLITE_OK;
  }
  *pAttrs = eCodec | (bBlob ? STREAM_ATTR_BLOB : 0);
  return SQLITE_OK;
}

int sqlite3StreamRecordDecode(int attrs, const void *pStored, int nStored,
                              void **ppOut, size_t *pnOut, int *peType){
  int eCodec = attrs & STREAM_ATTR_CODEC_MASK;
  int rc;
  *ppOut = 0;
  *pnOut = 0;
  *peType = 0;
  if( eCodec==STREAM_CODEC_NONE ) return SQLITE_OK;
  rc = sqlite3StreamDecompress(eCodec, pStored, (size_t)nStored,
                               STREAM_MAX_FIELD_BYTES, ppOut, pnOut);
  if( rc ) return rc==SQLITE_NOMEM ? rc : SQLITE_CORRUPT;
  *peType = (attrs & STREAM_ATTR_BLOB) ? SQLITE_BLOB : SQLITE_TEXT;
  return SQLITE_OK;
}

/*
** Record batches (storage format 4).  A batch row's value is its records
** one after the other, each:
**
**   varint  offset delta (from the row's first offset)
**   varint  timestamp
**   varint  attrs of the value (STREAM_ATTR_CODEC_MASK | STREAM_ATTR_BLOB)
**   varint  key:     0 NULL, else (bytes << 2) | 1 TEXT, | 2 BLOB; bytes
**   varint  value:   the same; the value as a single row would store it
**   varint  headers: 0 NULL, else bytes + 1; the JSON text
**
** Varints are little-endian base 128 (7 bits a byte, high bit: more).
** The row's other columns are described beside STREAM_BATCH_LAST_SQL in
** ext/streamInt.h.
*/

/* The batch being built: a[*pn] of nMax bytes. */
typedef struct StreamBatchBuf StreamBatchBuf;
struct StreamBatchBuf {
  u8 *a;                       /* Buffer */
  int n;                       /* Bytes used */
  int nMax;                    /* Its size */
  int bFull;                   /* Something did not fit */
};

static void streamBufPut(StreamBatchBuf *pB, const void *p, int n){
  if( pB->bFull || n>pB->nMax-pB->n ){
    pB->bFull = 1;
    return;
  }
  if( n>0 ) memcpy(&pB->a[pB->n], p, n);
  pB->n += n;
}

static void streamVarintPut(StreamBatchBuf *pB, u64 v){
  u8 a[10];
  int n = 0;
  do{
    a[n++] = (u8)((v & 0x7f) | (v>0x7f ? 0x80 : 0));
    v >>= 7;
  }while( v );
  streamBufPut(pB, a, n);
}

/* A field: its header and bytes. */
static void streamFieldPut(StreamBatchBuf *pB, int eType, const void *p,
                           int n){
  if( eType==STREAM_TYPE_NULL ){
    streamVarintPut(pB, 0);
    return;
  }
  streamVarintPut(pB, ((u64)n<<2) | (eType==STREAM_TYPE_TEXT ? 1 : 2));
  streamBufPut(pB, p, n);
}

int sqlite3StreamBatchAppend(u8 *a, int nMax, int *pn, i64 iDelta, i64 iTs,
                             int attrs, int eKey, const void *pKey, int nKey,
                             int eValue, const void *pValue, int nValue,
                             const char *zHeaders, int nHeaders){
  StreamBatchBuf b;
  b.a = a;
  b.n = *pn;
  b.nMax = nMax;
  b.bFull = 0;
  streamVarintPut(&b, (u64)iDelta);
  streamVarintPut(&b, (u64)iTs);
  streamVarintPut(&b, (u64)attrs);
  streamFieldPut(&b, eKey, pKey, nKey);
  streamFieldPut(&b, eValue, pValue, nValue);
  if( zHeaders==0 ){
    streamVarintPut(&b, 0);
  }else{
    streamVarintPut(&b, (u64)nHeaders + 1);
    streamBufPut(&b, zHeaders, nHeaders);
  }
  if( b.bFull ) return SQLITE_FULL;    /* *pn unchanged: the batch intact */
  *pn = b.n;
  return SQLITE_OK;
}

/* A little-endian host with GCC's builtins reads a varint a word at a
** time (streamVarintGet); any other the byte loop alone. */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) \
 && __BYTE_ORDER__==__ORDER_LITTLE_ENDIAN__
# define STREAM_VARINT_WORD 1
#else
# define STREAM_VARINT_WORD 0
#endif

/* Read the varint at p (below e) into *pv; the byte after it, or 0 if
** it runs past e or over ten bytes.  (One byte, the common case for
** every field but a large value's length and a timestamp, takes the
** first branch.)  Positions and values are kept in locals: a store
** through a u8 pointer may alias anything, so a decoder that updated
** *piPos and the record's fields as it went reloaded them at every byte. */
static inline const u8 *streamVarintGet(const u8 *p, const u8 *e, u64 *pv){
  u64 v;
  int s;
  if( p<e && p[0]<0x80 ){
    *pv = p[0];
    return p+1;
  }
#if STREAM_VARINT_WORD
  if( e-p>=8 ){
    /* Eight bytes readable: two bytes (a value's length up to 4 KiB)
    ** at once, up to eight (a timestamp takes six) in one load, no branch
    ** a byte: the last byte is the first with the top bit clear, and the
    ** 7-bit groups of the bytes up to it are packed by three shifts. */
    u64 m;
    if( p[1]<0x80 ){
      *pv = (u64)(p[0] & 0x7f) | ((u64)p[1] << 7);
      return p+2;
    }
    memcpy(&v, p, 8);
    m = ~v & 0x8080808080808080ULL;
    if( m ){
      int nBit = __builtin_ctzll(m) + 1;      /* 8 * the varint's bytes */
      if( nBit<64 ) v &= ((u64)1 << nBit) - 1;
      v &= 0x7f7f7f7f7f7f7f7fULL;
      v = (v & 0x007f007f007f007fULL) | ((v & 0x7f007f007f007f00ULL) >> 1);
      v = (v & 0x00003fff00003fffULL) | ((v & 0x3fff00003fff0000ULL) >> 2);
      v = (v & 0x000000000fffffffULL) | ((v & 0x0fffffff00000000ULL) >> 4);
      *pv = v;
      return p + (nBit>>3);
    }
  }
#endif
  v = 0;
  if( e-p>=10 ){
    /* Ten bytes left, the most a varint reads: no bound check a byte. */
    for(s=0; s<64; s+=7){
      u8 c = *p++;
      v |= (u64)(c & 0x7f) << s;
      if( c<0x80 ){
        *pv = v;
        return p;
      }
    }
    return 0;
  }
  for(s=0; p<e && s<64; s+=7){
    u8 c = *p++;
    v |= (u64)(c & 0x7f) << s;
    if( c<0x80 ){
      *pv = v;
      return p;
    }
  }
  return 0;
}

/* A key or value field at p (below e): the byte after it, or 0 if
** damaged. */
static inline const u8 *streamFieldGet(const u8 *p, const u8 *e, int *peType,
                                       const u8 **pp, int *pn){
  u64 h;
  p = streamVarintGet(p, e, &h);
  if( p==0 ) return 0;
  if( h==0 ){
    *peType = SQLITE_NULL;
    *pp = 0;
    *pn = 0;
    return p;
  }
  if( (h & 3)==0 || (h & 3)==3 || (h>>2)>(u64)(e - p) ) return 0;
  *peType = (h & 3)==1 ? SQLITE_TEXT : SQLITE_BLOB;
  *pn = (int)(h>>2);
  *pp = p;
  return p + (h>>2);
}

int sqlite3StreamBatchDecode(const u8 *a, int n, int *piPos, i64 iBase,
                             StreamBatchRec *aRec, int nMax, int *pnGot,
                             int *piFirst){
  const u8 *p = a + *piPos, *e = a + n;
  int i, rc = SQLITE_OK;
  *piFirst = *piPos;
  /* One call for the records of a row: no call, and no copy of a record
  ** through a local, a record. */
  for(i=0; i<nMax && p<e; i++){
    StreamBatchRec *r = &aRec[i];
    u64 iDelta, iTs, attrs, h;
    const u8 *q;
    if( (q = streamVarintGet(p, e, &iDelta))==0 || iDelta>STREAM_MAX_LOG_OFFSET
     || (q = streamVarintGet(q, e, &iTs))==0 || iTs>(u64)STREAM_MAX_TIMESTAMP
     || (q = streamVarintGet(q, e, &attrs))==0 || attrs>0xff
     || (q = streamFieldGet(q, e, &r->eKey, &r->pKey, &r->nKey))==0
     || (q = streamFieldGet(q, e, &r->eValue, &r->pValue, &r->nValue))==0
     || (q = streamVarintGet(q, e, &h))==0 || h>(u64)(e - q) + 1 ){
      rc = SQLITE_CORRUPT;
      break;
    }
    r->iOffset = iBase + (i64)iDelta;
    r->iTimestamp = (i64)iTs;
    r->attrs = (int)attrs;
    if( h==0 ){
      r->eHeaders = SQLITE_NULL;
      r->pHeaders = 0;
      r->nHeaders = 0;
    }else{
      r->eHeaders = SQLITE_TEXT;
      r->nHeaders = (int)(h-1);
      r->pHeaders = q;
      q += r->nHeaders;
    }
    p = q;
  }
  *pnGot = i;
  *piPos = (int)(p - a);
  return rc;
}

int sqlite3StreamBatchSkip(const u8 *a, int n, int *piPos, i64 iBase,
                           i64 iLo){
  const u8 *p = a + *piPos, *e = a + n;
  int rc = SQLITE_OK;
  /* The checks of sqlite3StreamBatchDecode(), nothing stored. */
  while( p<e ){
    u64 iDelta, iTs, attrs, h;
    const u8 *q, *pF;
    int eF, nF;
    if( (q = streamVarintGet(p, e, &iDelta))==0
     || iDelta>STREAM_MAX_LOG_OFFSET ){
      rc = SQLITE_CORRUPT;
      break;
    }
    if( iBase + (i64)iDelta>=iLo ) break;
    if( (q = streamVarintGet(q, e, &iTs))==0 || iTs>(u64)STREAM_MAX_TIMESTAMP
     || (q = streamVarintGet(q, e, &attrs))==0 || attrs>0xff
     || (q = streamFieldGet(q, e, &eF, &pF, &nF))==0
     || (q = streamFieldGet(q, e, &eF, &pF, &nF))==0
     || (q = streamVarintGet(q, e, &h))==0 || h>(u64)(e - q) + 1 ){
      rc = SQLITE_CORRUPT;
      break;
    }
    p = q + (h ? h-1 : 0);
  }
  *piPos = (int)(p - a);
  return rc;
}

int sqlite3StreamBatchNext(const u8 *a, int n, int *piPos, i64 iBase,
                           StreamBatchRec *pRec){
  int nGot, iFirst;
  if( *piPos>=n ) return SQLITE_DONE;
  if( sqlite3StreamBatchDecode(a, n, piPos, iBase, pRec, 1, &nGot, &iFirst) ){
    return SQLITE_CORRUPT;
  }
  return SQLITE_ROW;
}

int sqlite3StreamBatchBytes(StreamCtx *p, i64 nRecord){
  if( p->nBatchBytes==0 ){
    sqlite3_stmt *pStmt = 0;
    int nPage = 4096, nReserve = -1;
    if( sqlite3_prepare_v2(p->db, "PRAGMA main.page_size", -1, &pStmt, 0)
          ==SQLITE_OK
     && sqlite3_step(pStmt)==SQLITE_ROW ){
      nPage = sqlite3_column_int(pStmt, 0);
    }
    sqlite3_finalize(pStmt);
    if( nPage<512 || nPage>65536 ) nPage = 4096;
    /* A negative argument only asks (reserved bytes: encryption, page
    ** checksums). */
    if( sqlite3_file_control(p->db, "main", SQLITE_FCNTL_RESERVE_BYTES,
                             &nReserve)!=SQLITE_OK
     || nReserve<0 || nReserve>255 ){
      nReserve = 0;
    }
    p->nBatchBytes = nPage - nReserve - 35 - STREAM_BATCH_ROW_OVERHEAD;
    /* A payload of minLocal + k * (usable - 4) bytes keeps minLocal in
    ** the leaf and fills k overflow pages (SQLite's btreeParseCellPtr). */
    p->nBatchBig = ((nPage - nReserve - 12)*32/255 - 23)
                 + STREAM_BATCH_PAGES*(nPage - nReserve - 4)
                 - STREAM_BATCH_ROW_OVERHEAD;
  }
  return 4*nRecord>p->nBatchBytes ? p->nBatchBig : p->nBatchBytes;
}
