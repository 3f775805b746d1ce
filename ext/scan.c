/*
** scan.c - the scan API: the messages of a range, in (topic, partition,
** offset) order or its reverse, from every tier, values decoded.
**
**   sqlite3StreamScanOpen(pScanner, idxNum, nArg, aArg, &pScan, &zErr);
**   while( sqlite3StreamScanNext(pScan, &zErr)==SQLITE_ROW ){
**     sqlite3StreamScanColumn(pScan, STREAM_SCAN_COL_VALUE, &field);
**   }
**   sqlite3StreamScanClose(pScan);
**
** A plan (idxNum, the STREAM_SCAN_* bits, documented in streamInt.h and
** chosen by vtab/messages.c's xBestIndex) says which bounds are given; the
** values come in aArg in the order of the bits.  A scan runs the hot SQL
** for the plan (sqlite3StreamHotScanSql(), ext/storage.c; one cached
** statement per plan) and, beside it, the scan of the tiers (sqlite3StreamTierScanOpen(),
** ext/tier.c) over the same bounds, and merges the two streams by (topic,
** partition, offset): for one partition every tiered offset is below every
** hot offset, so this is a concatenation per partition, and an offset
** present in both (a move interrupted between its insert and its delete)
** is returned once.  LIMIT stops both streams.
**
** Values: a hot value stored compressed (ext/record.c) is decoded when its
** column is read; tiered values are handed out as the reader holds them.
** Bytes returned are valid until the next sqlite3StreamScanNext() or
** sqlite3StreamScanClose().
**
** A StreamScanner holds what a connection keeps between scans: the hot
** statements and the tiers' read state (open files).  Its statements are
** finalized when the connection's other cached statements are (at the
** anchor's disconnect, vtab/sqlvtab.c).
*/
#include "streamInt.h"
#include <string.h>
#include <math.h>

#define LARGEST_I64  ((i64)0x7fffffffffffffffLL)
#define SMALLEST_I64 (-LARGEST_I64-1)

/* Hot statements cached per scanner (one per distinct plan in use). */
#define STREAM_SCAN_CACHE 16

/* What the current row is. */
#define STREAM_SCAN_EOF  0
#define STREAM_SCAN_HOT  1
#define STREAM_SCAN_TIER 2

struct StreamScanner {
  StreamCtx *pCtx;             /* Connection */
  int aIdx[STREAM_SCAN_CACHE]; /* Plan of aStmt[i], or -1 */
  sqlite3_stmt *aStmt[STREAM_SCAN_CACHE];  /* Cached hot statements */
  int abUsed[STREAM_SCAN_CACHE];           /* Held by an open scan */
  StreamTierRead *pTierRead;   /* Read state of the tiers */
};

struct StreamScan {
  StreamScanner *pScanner;     /* Scanner it belongs to */
  sqlite3_stmt *pStmt;         /* Hot statement on a row, or NULL at EOF */
  int iSlot;                   /* Cache slot of pStmt, or -1 if private */
  StreamTierMerge *pTiers;     /* Scan of the tiers, or NULL at its end */
  const StreamPqRow *pRow;     /* Current tier row, or NULL at its end */
  int bDesc;                   /* Descending order */
  int bCap;                    /* Hot only, ascending, with a LIMIT: a batch
                               ** decodes no record beyond the LIMIT */
  int eCur;                    /* STREAM_SCAN_*: source of the current row */
  i64 nLimit;                  /* LIMIT, or -1 */
  i64 nOut;                    /* Rows returned so far */
  StreamBatchRec *aRec;          /* Records of the current hot row if it is
                               ** a batch (at most STREAM_BATCH_SPAN) */
  int nRec;                    /* Records in aRec (0: not a batch) */
  int iRec;                    /* The current one */
  const u8 *pBatch;            /* Stored bytes of the batch row's records
                               ** in aRec (nRec>0), from the first one */
  int nBatch;                  /* Their length */
  i64 iBatchRow;               /* Batch rows decoded by this scan */
  int bRange;                  /* Some row can match the range below */
  i64 iLo, iHi, iTsLo, iTsHi;  /* Bounds (inclusive) for batch records */
  void *pDecoded;              /* Decoded value of the current row */
  size_t nDecoded;             /* Its bytes */
  int eDecoded;                /* Its type, 0 if not decoded */
  int attrs;                   /* attrs of the hot statement's row */
};

/**************************************************************************
** The scanner.
*/

int sqlite3StreamScannerNew(StreamCtx *p, StreamScanner **pp){
  StreamScanner *pS = sqlite3_malloc64(sizeof(*pS));
  int rc, i;
  *pp = 0;
  if( pS==0 ) return SQLITE_NOMEM;
  memset(pS, 0, sizeof(*pS));
  pS->pCtx = p;
  for(i=0; i<STREAM_SCAN_CACHE; i++) pS->aIdx[i] = -1;
  rc = sqlite3StreamTierReadNew(p, &pS->pTierRead);
  if( rc ){
    sqlite3_free(pS);
    return rc;
  }
  *pp = pS;
  return SQLITE_OK;
}

void sqlite3StreamScannerFinalize(StreamScanner *pS){
  int i;
  if( pS==0 ) return;
  for(i=0; i<STREAM_SCAN_CACHE; i++){
    sqlite3_finalize(pS->aStmt[i]);
    pS->aStmt[i] = 0;
    pS->aIdx[i] = -1;
    pS->abUsed[i] = 0;
  }
  sqlite3StreamTierReadFinalize(pS->pTierRead);
}

void sqlite3StreamScannerFree(StreamScanner *pS){
  if( pS==0 ) return;
  sqlite3StreamScannerFinalize(pS);
  sqlite3StreamTierReadFree(pS->pTierRead);
  sqlite3_free(pS);
}

int sqlite3StreamScannerGet(StreamCtx *p, StreamScanner **pp){
  if( p->pScanner==0 ){
    int rc = sqlite3StreamScannerNew(p, &p->pScanner);
    if( rc ) return rc;
  }
  *pp = p->pScanner;
  return SQLITE_OK;
}

/**************************************************************************
** The hot side.
*/

/* The database's message as the scan's error. */
static int streamScanDbErr(sqlite3 *db, int rc, char **pzErr){
  const char *z = sqlite3_errmsg(db);
  if( pzErr ){
    sqlite3_free(*pzErr);
    *pzErr = sqlite3_mprintf("%s%s", STREAM_HAS_PREFIX(z) ? "" : STREAM_ERR,
                             z);
  }
  return rc;
}

/* Release the hot statement. */
static void streamScanHotRelease(StreamScan *pScan){
  sqlite3StreamStmtGiveBack(&pScan->pStmt, &pScan->iSlot,
                           pScan->pScanner->abUsed);
}

/* Does record r of a batch lie inside the scan's bounds? */
static int streamScanRecordIn(const StreamScan *pScan, const StreamBatchRec *r){
  return pScan->bRange && r->iOffset>=pScan->iLo && r->iOffset<=pScan->iHi
      && r->iTimestamp>=pScan->iTsLo && r->iTimestamp<=pScan->iTsHi;
}

/* The hot statement is on a record batch: decode its records into aRec
** and move to the first one inside the bounds (in the scan's order);
** nRec 0 if none is. */
static int streamScanBatchStart(StreamScan *pScan, char **pzErr){
  sqlite3_stmt *pStmt = pScan->pStmt;
  const u8 *a = sqlite3_column_blob(pStmt, STREAM_SCAN_COL_VALUE);
  int n = sqlite3_column_bytes(pStmt, STREAM_SCAN_COL_VALUE);
  i64 iBase = sqlite3_column_int64(pStmt, STREAM_SCAN_COL_OFFSET);
  int iPos = 0, nOut = 0, rc, iFirst = 0, iEnd = 0;
  StreamBatchRec *aRec = pScan->aRec;
  /* Every hot record in range is returned once when no tier is read, so
  ** in ascending order the rows left to the LIMIT are the most this batch
  ** can give (a poll's fetch reads up to its quota from inside a row). */
  i64 nCap = pScan->bCap ? pScan->nLimit - pScan->nOut : 0;
  if( aRec==0 ){
    /* A slot more than a row has offsets: each record is decoded in
    ** place, into aRec[nOut], and kept by counting it (copied down only
    ** past a record outside the bounds). */
    aRec = sqlite3_malloc64(sizeof(StreamBatchRec)*(STREAM_BATCH_SPAN+1));
    if( aRec==0 ) return SQLITE_NOMEM;
    pScan->aRec = aRec;
  }
  rc = SQLITE_OK;
  if( pScan->bRange && pScan->iLo>iBase ){
    /* The records below the lower bound (a poll or a range that starts
    ** inside the row) are skipped, not decoded. */
    rc = sqlite3StreamBatchSkip(a, n, &iPos, iBase, pScan->iLo);
  }
  while( rc==SQLITE_OK ){
    /* One record at a time up to the first inside the bounds (where the
    ** bytes kept begin), then the rest of the row (up to the LIMIT) in
    ** one call; those outside the bounds are dropped from aRec. */
    int iAt, nGot, j, k = nOut;
    int nWant = nOut==0 ? 1 : STREAM_BATCH_SPAN + 1 - nOut;
    if( nCap>0 && nWant>nCap - nOut ) nWant = (int)(nCap - nOut);
    rc = sqlite3StreamBatchDecode(a, n, &iPos, iBase, &aRec[nOut], nWant,
                                  &nGot, &iAt);
    for(j=nOut; j<nOut+nGot; j++){
      if( !streamScanRecordIn(pScan, &aRec[j]) ) continue;
      if( k!=j ) aRec[k] = aRec[j];
      k++;
    }
    if( k>STREAM_BATCH_SPAN ){            /* more records than offsets */
      rc = SQLITE_CORRUPT;
      break;
    }
    if( k>nOut ){
      if( nOut==0 ) iFirst = iAt;
      iEnd = iPos;
    }
    nOut = k;
    if( rc ) break;
    if( nGot<nWant || (nCap>0 && nOut==nCap) ){
      rc = SQLITE_DONE;                    /* the end of the row, or LIMIT */
      break;
    }
  }
  if( rc!=SQLITE_DONE ){
    if( pzErr ){
      sqlite3_free(*pzErr);
      *pzErr = sqlite3_mprintf(STREAM_ERR "damaged record batch at"
          " partition %lld offset %lld", sqlite3_column_int64(pStmt,
          STREAM_SCAN_COL_PARTITION), iBase);
    }
    return SQLITE_CORRUPT;
  }
  pScan->nRec = nOut;
  pScan->pBatch = a + iFirst;
  pScan->nBatch = iEnd - iFirst;
  pScan->iBatchRow++;
  pScan->iRec = pScan->bDesc ? nOut-1 : 0;
  return SQLITE_OK;
}

/* Step the hot statement (past batches with no record inside the
** bounds); at its end release it. */
static int streamScanHotStep(StreamScan *pScan, char **pzErr){
  int rc;
  pScan->nRec = 0;
  while( (rc = sqlite3_step(pScan->pStmt))==SQLITE_ROW ){
    pScan->attrs = sqlite3_column_int(pScan->pStmt, STREAM_SCAN_COL_ATTRS);
    if( (pScan->attrs & STREAM_ATTR_BATCH)==0 ) return SQLITE_OK;
    rc = streamScanBatchStart(pScan, pzErr);
    if( rc ){
      sqlite3_reset(pScan->pStmt);
      streamScanHotRelease(pScan);
      return rc;
    }
    if( pScan->nRec ) return SQLITE_OK;
  }
  rc = sqlite3_reset(pScan->pStmt);
  streamScanHotRelease(pScan);
  if( rc ) streamScanDbErr(pScan->pScanner->pCtx->db, rc, pzErr);
  return rc;
}

/* The next hot message: the next record of the batch, else the next
** row. */
static int streamScanHotNext(StreamScan *pScan, char **pzErr){
  if( pScan->nRec ){
    pScan->iRec += pScan->bDesc ? -1 : 1;
    if( pScan->iRec>=0 && pScan->iRec<pScan->nRec ) return SQLITE_OK;
  }
  return streamScanHotStep(pScan, pzErr);
}

/* Offset of the current hot message. */
static i64 streamScanHotOffset(StreamScan *pScan){
  if( pScan->nRec ) return pScan->aRec[pScan->iRec].iOffset;
  return sqlite3_column_int64(pScan->pStmt, STREAM_SCAN_COL_OFFSET);
}

/* The hot statement for plan idxNum, bound; NULL pStmt: no rows. */
static int streamScanHotStart(StreamScan *pScan, int idxNum, int nArg,
                              const StreamScanArg *aArg, char **pzErr){
  StreamScanner *pS = pScan->pScanner;
  sqlite3 *db = pS->pCtx->db;
  int i, rc, iFree = -1;
  /* A database of an earlier format is upgraded first (or refused). */
  rc = sqlite3StreamFormatCheck(pS->pCtx, pzErr);
  if( rc ) return rc;
  /* The transaction's pending record batches are read as rows. */
  rc = sqlite3StreamPendingFlush(pS->pCtx, pzErr);
  if( rc ) return rc;
  if( idxNum & (STREAM_SCAN_OFF_EQ|STREAM_SCAN_OFF_LO|STREAM_SCAN_OFF_HI) ){
    /* The offset values follow the topic and partition values. */
    int iOff = ((idxNum & STREAM_SCAN_TOPIC)!=0) + ((idxNum & STREAM_SCAN_PART)!=0);
    int nOff = ((idxNum & STREAM_SCAN_OFF_EQ)!=0)
             + ((idxNum & STREAM_SCAN_OFF_LO)!=0)
             + ((idxNum & STREAM_SCAN_OFF_HI)!=0);
    for(i=iOff; i<iOff+nOff && i<nArg; i++){
      if( aArg[i].pVal
       && sqlite3_value_type(aArg[i].pVal)!=SQLITE_INTEGER ) break;
      if( aArg[i].pVal==0 && aArg[i].zVal ) break;
    }
    if( i==iOff+nOff ) idxNum |= STREAM_SCAN_INT_OFFSETS;
  }
  if( (idxNum & STREAM_SCAN_TOPIC) && (idxNum & STREAM_SCAN_PART) && nArg>=2
   && (aArg[0].pVal ? sqlite3_value_type(aArg[0].pVal)==SQLITE_TEXT
                    : aArg[0].zVal!=0)
   && (aArg[1].pVal ? sqlite3_value_type(aArg[1].pVal)==SQLITE_INTEGER
                    : aArg[1].zVal==0) ){
    /* Text topic, integer partition: they are the row's as stored. */
    idxNum |= STREAM_SCAN_KEY_ARGS;
  }
  for(i=0; i<STREAM_SCAN_CACHE; i++){
    if( pS->aIdx[i]==idxNum && !pS->abUsed[i] ) break;
    if( iFree<0 && pS->aIdx[i]<0 ) iFree = i;
  }
  if( i<STREAM_SCAN_CACHE ){
    pScan->pStmt = pS->aStmt[i];
    pScan->iSlot = i;
  }else{
    char *zSql;
    /* Cached statements live while the connection's cache does. */
    if( iFree>=0 && sqlite3StreamAnchor(pS->pCtx, 0) ) iFree = -1;
    zSql = sqlite3StreamHotScanSql(idxNum);
    if( zSql==0 ) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v3(db, zSql, -1,
             iFree>=0 ? SQLITE_PREPARE_PERSISTENT : 0, &pScan->pStmt, 0);
    sqlite3_free(zSql);
    if( rc ){
      pScan->pStmt = 0;
      if( sqlite3StreamNoStorage(db) ) return SQLITE_OK;   /* no rows */
      return streamScanDbErr(db, rc, pzErr);
    }
    if( iFree>=0 ){
      pS->aIdx[iFree] = idxNum;
      pS->aStmt[iFree] = pScan->pStmt;
      pScan->iSlot = iFree;
    }
  }
  if( pScan->iSlot>=0 ) pS->abUsed[pScan->iSlot] = 1;
  for(i=0; i<nArg; i++){
    const StreamScanArg *pA = &aArg[i];
    if( pA->pVal ) sqlite3_bind_value(pScan->pStmt, i+1, pA->pVal);
    else if( pA->zVal ) sqlite3_bind_text(pScan->pStmt, i+1, pA->zVal, -1,
                                          SQLITE_STATIC);
    else sqlite3_bind_int64(pScan->pStmt, i+1, pA->iVal);
  }
  if( pScan->nLimit==0 ){
    streamScanHotRelease(pScan);
    return SQLITE_OK;
  }
  return streamScanHotStep(pScan, pzErr);
}

/**************************************************************************
** The tiers' side.
*/

/* Next row of the tiers. */
static int streamScanTierStep(StreamScan *pScan, char **pzErr){
  int rc;
  pScan->pRow = 0;
  if( pScan->pTiers==0 ) return SQLITE_OK;
  rc = sqlite3StreamTierScanNext(pScan->pTiers, &pScan->pRow, pzErr);
  if( rc==SQLITE_ROW ) return SQLITE_OK;
  pScan->pRow = 0;
  if( rc==SQLITE_DONE ){
    sqlite3StreamTierScanClose(pScan->pTiers);
    pScan->pTiers = 0;
    return SQLITE_OK;
  }
  if( pzErr && *pzErr==0 ){
    *pzErr = sqlite3_mprintf(STREAM_ERR "%s", sqlite3_errstr(rc));
  }
  return rc;
}

/* A bound as an inclusive integer.  Returns 0 if no row can satisfy the
** constraint (NULL, NaN, a strict bound at the end of the range, a lower
** bound that is text). */
static int streamScanBound(const StreamScanArg *pA, int bLower, int bStrict,
                           i64 *piOut){
  sqlite3_value *pVal = pA->pVal;
  int eType = pVal ? sqlite3_value_numeric_type(pVal) : SQLITE_INTEGER;
  if( eType==SQLITE_INTEGER ){
    i64 v = pVal ? sqlite3_value_int64(pVal) : pA->iVal;
    if( bStrict ){
      if( bLower ){ if( v==LARGEST_I64 ) return 0; v++; }
      else{ if( v==SMALLEST_I64 ) return 0; v--; }
    }
    *piOut = v;
    return 1;
  }
  if( eType==SQLITE_FLOAT ){
    double r = sqlite3_value_double(pVal);
    if( r!=r ) return 0;
    if( bLower ){
      r = bStrict ? floor(r)+1.0 : ceil(r);
      if( r>9.2e18 ) return 0;
      *piOut = r< -9.2e18 ? SMALLEST_I64 : (i64)r;
    }else{
      r = bStrict ? ceil(r)-1.0 : floor(r);
      if( r< -9.2e18 ) return 0;
      *piOut = r>9.2e18 ? LARGEST_I64 : (i64)r;
    }
    return 1;
  }
  if( eType==SQLITE_NULL ) return 0;
  /* Text or blob: every integer is smaller. */
  return bLower ? 0 : 1;
}

/* The range of plan idxNum as integers in *pR: 0 if no row can match. */
static int streamScanRangeOf(StreamScan *pScan, int idxNum,
                             const StreamScanArg *aArg, StreamScanRange *pR){
  StreamScanRange r;
  int i = 0;
  memset(pR, 0, sizeof(*pR));
  memset(&r, 0, sizeof(r));
  r.iLo = SMALLEST_I64; r.iHi = LARGEST_I64;
  r.iTsLo = SMALLEST_I64; r.iTsHi = LARGEST_I64;
  r.bDesc = pScan->bDesc;
  /* Parquet columns 3, 4, 5: key, value, headers (ext/parquet.h); topic
  ** and partition come from the segment row. */
  r.mCols = ((idxNum & STREAM_SCAN_NO_KEY) ? 0 : 1u<<3)
          | ((idxNum & STREAM_SCAN_NO_VALUE) ? 0 : 1u<<4)
          | ((idxNum & STREAM_SCAN_NO_HDRS) ? 0 : 1u<<5);
  if( idxNum & STREAM_SCAN_TOPIC ){
    r.pTopic = aArg[i].pVal;
    r.zTopic = aArg[i++].zVal;
  }
  if( idxNum & STREAM_SCAN_PART ){
    r.pPartition = aArg[i].pVal;
    r.bPartition = 1;
    r.iPartition = (int)aArg[i++].iVal;
  }
  if( idxNum & STREAM_SCAN_OFF_EQ ){
    if( !streamScanBound(&aArg[i], 1, 0, &r.iLo)
     || !streamScanBound(&aArg[i], 0, 0, &r.iHi) ) return 0;
    i++;
  }
  {
    /* The range bounds, in argument order. */
    const struct { int bit, bitStrict, bLower; i64 *p; } aBound[] = {
      { STREAM_SCAN_OFF_LO, STREAM_SCAN_OFF_LO_X, 1, &r.iLo },
      { STREAM_SCAN_OFF_HI, STREAM_SCAN_OFF_HI_X, 0, &r.iHi },
      { STREAM_SCAN_TS_LO,  STREAM_SCAN_TS_LO_X,  1, &r.iTsLo },
      { STREAM_SCAN_TS_HI,  STREAM_SCAN_TS_HI_X,  0, &r.iTsHi },
    };
    int k;
    for(k=0; k<(int)(sizeof(aBound)/sizeof(aBound[0])); k++){
      if( (idxNum & aBound[k].bit)==0 ) continue;
      if( !streamScanBound(&aArg[i++], aBound[k].bLower,
                           (idxNum & aBound[k].bitStrict)!=0, aBound[k].p) ){
        return 0;                         /* no row can match */
      }
    }
  }
  /* The topic bounds, as streamScanTopicBounds left them (text, the
  ** superset the hot query uses too), for the tiers' segment lookup. */
  if( (idxNum & STREAM_SCAN_TOPIC)==0 ){
    if( idxNum & STREAM_SCAN_TOPIC_LO ){
      const StreamScanArg *pA = &aArg[i++];
      r.zTopicLo = pA->pVal ? (const char*)sqlite3_value_text(pA->pVal)
                            : pA->zVal;
      r.bTopicLoX = (idxNum & STREAM_SCAN_TOPIC_LO_X)!=0;
    }
    if( idxNum & STREAM_SCAN_TOPIC_HI ){
      const StreamScanArg *pA = &aArg[i++];
      r.zTopicHi = pA->pVal ? (const char*)sqlite3_value_text(pA->pVal)
                            : pA->zVal;
      r.bTopicHiX = (idxNum & STREAM_SCAN_TOPIC_HI_X)!=0;
    }
  }
  *pR = r;
  return 1;
}

/* Start the tiers' scan for plan idxNum. */
static int streamScanTierStart(StreamScan *pScan, int idxNum, int nArg,
                               const StreamScanArg *aArg, char **pzErr){
  StreamScanRange r;
  int rc;
  STREAM_UNUSED(nArg);
  if( idxNum & STREAM_SCAN_HOT_ONLY ) return SQLITE_OK;
  if( !streamScanRangeOf(pScan, idxNum, aArg, &r) ) return SQLITE_OK;
  rc = sqlite3StreamTierScanOpen(pScan->pScanner->pTierRead, &r,
                                 &pScan->pTiers, pzErr);
  if( rc ){
    if( pzErr && *pzErr==0 ){
      *pzErr = sqlite3_mprintf(STREAM_ERR "%s", sqlite3_errstr(rc));
    }
    return rc;
  }
  return streamScanTierStep(pScan, pzErr);
}

/**************************************************************************
** The merge.
*/

/* Order of the tier row against the hot row: <0, 0, >0. */
static int streamScanCompare(StreamScan *pScan){
  const StreamPqRow *r = pScan->pRow;
  const char *zT = (const char*)sqlite3_column_text(pScan->pStmt, 0);
  int nT = sqlite3_column_bytes(pScan->pStmt, 0);
  return sqlite3StreamMsgCompare(r->zTopic, r->nTopic, r->iPartition,
      r->iOffset, zT, nT, sqlite3_column_int64(pScan->pStmt, 1),
      streamScanHotOffset(pScan));
}

/* Choose the current row from the heads of the two streams. */
static int streamScanPick(StreamScan *pScan, char **pzErr){
  int rc = SQLITE_OK;
  if( pScan->pRow==0 ){
    pScan->eCur = pScan->pStmt ? STREAM_SCAN_HOT : STREAM_SCAN_EOF;
  }else{
    int c = 1;
    while( pScan->pStmt && (c = streamScanCompare(pScan))==0 ){
      rc = streamScanHotNext(pScan, pzErr);     /* in both tiers: once */
      if( rc ) return rc;
    }
    if( pScan->pStmt==0 ){
      pScan->eCur = STREAM_SCAN_TIER;
    }else{
      pScan->eCur = ((c<0) != (pScan->bDesc!=0)) ? STREAM_SCAN_TIER
                                                 : STREAM_SCAN_HOT;
    }
  }
  if( pScan->eCur!=STREAM_SCAN_EOF ) pScan->nOut++;
  return rc;
}

static void streamScanDecodedFree(StreamScan *pScan){
  sqlite3_free(pScan->pDecoded);
  pScan->pDecoded = 0;
  pScan->nDecoded = 0;
  pScan->eDecoded = 0;
}

/*
** The topic bounds of a plan (STREAM_SCAN_TOPIC_LO/HI, after the timestamp
** bounds and before LIMIT) as the filter of the catalog's topics the hot
** query applies (p.topic, TEXT, BINARY), in aOut (a copy of aArg) and
** *pIdx, *pnArg.  The filter keeps every topic SQLite keeps whatever the
** right-hand side's affinity (xFilter sees values, not affinities): with
** none or TEXT SQLite compares text (a number as its text, as the hot
** query does); with a NUMERIC one it compares a topic that reads as a
** number (its first byte is below 'A': a digit, '-', '.', '+' or a space)
** as that number, below every text, and every other topic as text, above
** every number.  So a lower bound that is a number is dropped, an upper
** bound that is a number or text below 'A' becomes 'A' (or an upper bound
** that is a blob is dropped: every value but a blob is below a blob).
** Returns 0 if no row can match (NULL, a lower bound that is a blob).
*/
static int streamScanTopicBounds(int *pIdx, int *pnArg,
                                 const StreamScanArg *aArg, StreamScanArg *aOut){
  int idxNum = *pIdx, nArg = *pnArg;
  int nLimit = (idxNum & STREAM_SCAN_LIMIT) ? 1 : 0;
  int nTop = ((idxNum & STREAM_SCAN_TOPIC_LO)!=0)
           + ((idxNum & STREAM_SCAN_TOPIC_HI)!=0);
  int iTop = nArg - nLimit - nTop, i, j = 0, bSome = 1;
  for(i=0; i<nArg; i++){
    const StreamScanArg *pA = &aArg[i];
    int bLower, eType;
    if( i<iTop || i>=iTop+nTop ){
      aOut[j++] = *pA;
      continue;
    }
    bLower = i==iTop && (idxNum & STREAM_SCAN_TOPIC_LO)!=0;
    eType = pA->pVal ? sqlite3_value_type(pA->pVal)
          : pA->zVal ? SQLITE_TEXT : SQLITE_INTEGER;
    if( eType==SQLITE_NULL || (bLower && eType==SQLITE_BLOB) ){
      bSome = 0;                          /* no row can match */
      aOut[j++] = *pA;
      continue;
    }
    if( bLower ){
      if( eType!=SQLITE_TEXT ){
        idxNum &= ~(STREAM_SCAN_TOPIC_LO|STREAM_SCAN_TOPIC_LO_X);
        continue;
      }
      aOut[j++] = *pA;
    }else{
      if( eType==SQLITE_BLOB ){
        idxNum &= ~(STREAM_SCAN_TOPIC_HI|STREAM_SCAN_TOPIC_HI_X);
        continue;
      }
      if( eType==SQLITE_TEXT ){
        const char *z = pA->pVal ? (const char*)sqlite3_value_text(pA->pVal)
                                 : pA->zVal;
        if( z==0 ) return -1;
        if( (unsigned char)z[0]>='A' ){
          aOut[j++] = *pA;
          continue;
        }
      }
      memset(&aOut[j], 0, sizeof(aOut[j]));
      aOut[j++].zVal = "A";
    }
  }
  *pIdx = idxNum;
  *pnArg = j;
  return bSome;
}

int sqlite3StreamScanOpen(StreamScanner *pS, int idxNum, int nArg,
                          const StreamScanArg *aArg, StreamScan **pp,
                          char **pzErr){
  StreamScan *pScan;
  StreamScanArg aTop[16];
  int rc, bNone = 0;
  *pp = 0;
  if( idxNum & (STREAM_SCAN_TOPIC_LO|STREAM_SCAN_TOPIC_HI) ){
    int r;
    if( nArg>16 ) return SQLITE_MISUSE;
    r = streamScanTopicBounds(&idxNum, &nArg, aArg, aTop);
    if( r<0 ) return SQLITE_NOMEM;
    bNone = r==0;
    aArg = aTop;
  }
  pScan = sqlite3_malloc64(sizeof(*pScan));
  if( pScan==0 ) return SQLITE_NOMEM;
  memset(pScan, 0, sizeof(*pScan));
  pScan->pScanner = pS;
  pScan->iSlot = -1;
  pScan->bDesc = (idxNum & STREAM_SCAN_DESC)!=0;
  pScan->nLimit = -1;
  if( idxNum & STREAM_SCAN_LIMIT ){
    const StreamScanArg *pA = &aArg[nArg-1];
    pScan->nLimit = pA->pVal ? sqlite3_value_int64(pA->pVal) : pA->iVal;
    pScan->bCap = (idxNum & STREAM_SCAN_HOT_ONLY) && !pScan->bDesc
               && pScan->nLimit>0;
  }
  if( bNone ) pScan->nLimit = 0;          /* no topic can match */
  *pp = pScan;
  {
    StreamScanRange r;
    pScan->bRange = streamScanRangeOf(pScan, idxNum, aArg, &r);
    pScan->iLo = r.iLo; pScan->iHi = r.iHi;
    pScan->iTsLo = r.iTsLo; pScan->iTsHi = r.iTsHi;
  }
  rc = streamScanHotStart(pScan, idxNum, nArg, aArg, pzErr);
  if( rc==SQLITE_OK && pScan->nLimit!=0 ){
    rc = streamScanTierStart(pScan, idxNum, nArg, aArg, pzErr);
  }
  if( rc==SQLITE_OK ) rc = streamScanPick(pScan, pzErr);
  return rc;
}

int sqlite3StreamScanEof(StreamScan *pScan){
  return pScan==0 || pScan->eCur==STREAM_SCAN_EOF;
}

int sqlite3StreamScanNext(StreamScan *pScan, char **pzErr){
  int rc;
  if( pScan->eCur==STREAM_SCAN_HOT && pScan->pRow==0 && !pScan->bDesc
   && pScan->iRec+1<pScan->nRec
   && (pScan->nLimit<0 || pScan->nOut<pScan->nLimit) ){
    /* The next record of the batch, no tier row to merge: what the steps
    ** below come to, without them. */
    if( pScan->eDecoded || pScan->pDecoded ) streamScanDecodedFree(pScan);
    pScan->iRec++;
    pScan->nOut++;
    return SQLITE_OK;
  }
  if( pScan->eDecoded || pScan->pDecoded ) streamScanDecodedFree(pScan);
  if( pScan->nLimit>=0 && pScan->nOut>=pScan->nLimit ){
    pScan->eCur = STREAM_SCAN_EOF;
    return SQLITE_OK;
  }
  if( pScan->eCur==STREAM_SCAN_HOT ){
    rc = streamScanHotNext(pScan, pzErr);
  }else if( pScan->eCur==STREAM_SCAN_TIER ){
    rc = streamScanTierStep(pScan, pzErr);
  }else{
    return SQLITE_OK;
  }
  if( rc==SQLITE_OK ) rc = streamScanPick(pScan, pzErr);
  return rc;
}

int sqlite3StreamScanRun(StreamScan *pScan, const StreamBatchRec **paRec){
  i64 n;
  const StreamBatchRec *r;
  if( pScan->eCur!=STREAM_SCAN_HOT || pScan->nRec==0 || pScan->pRow
   || pScan->bDesc ) return 0;
  r = &pScan->aRec[pScan->iRec];
  if( (r->attrs & STREAM_ATTR_CODEC_MASK)!=STREAM_CODEC_NONE ) return 0;
  n = pScan->nRec - pScan->iRec;
  /* The current record is counted in nOut: each later one adds one. */
  if( pScan->nLimit>=0 && n>pScan->nLimit - pScan->nOut + 1 ){
    n = pScan->nLimit - pScan->nOut + 1;
  }
  *paRec = r;
  return (int)n;
}

int sqlite3StreamScanNextN(StreamScan *pScan, int k, char **pzErr){
  if( k>1 ){
    /* What k-1 calls of sqlite3StreamScanNext()'s first branch do. */
    if( pScan->eDecoded || pScan->pDecoded ) streamScanDecodedFree(pScan);
    pScan->iRec += k-1;
    pScan->nOut += k-1;
  }
  return sqlite3StreamScanNext(pScan, pzErr);
}

void sqlite3StreamScanClose(StreamScan *pScan){
  if( pScan==0 ) return;
  streamScanHotRelease(pScan);
  sqlite3StreamTierScanClose(pScan->pTiers);
  streamScanDecodedFree(pScan);
  sqlite3_free(pScan->aRec);
  sqlite3_free(pScan);
}

/**************************************************************************
** The current row.
*/

/* A key, value or headers field of a tier row. */
static void streamScanTierBytes(StreamScanField *pF, const void *p, int n,
                                int eType){
  pF->eType = eType==STREAM_PQ_TEXT ? SQLITE_TEXT
            : eType==STREAM_PQ_BLOB ? SQLITE_BLOB : SQLITE_NULL;
  pF->p = pF->eType==SQLITE_NULL ? 0 : p;
  pF->n = pF->eType==SQLITE_NULL ? 0 : n;
}

sqlite3_value *sqlite3StreamScanHotValue(StreamScan *pScan, int iCol){
  if( pScan->eCur!=STREAM_SCAN_HOT || pScan->nRec ) return 0;
  if( iCol==STREAM_SCAN_COL_VALUE
   && (pScan->attrs & STREAM_ATTR_CODEC_MASK)!=STREAM_CODEC_NONE ) return 0;
  return sqlite3_column_value(pScan->pStmt, iCol);
}

const StreamBatchRec *sqlite3StreamScanRecord(StreamScan *pScan){
  const StreamBatchRec *r;
  if( pScan->eCur!=STREAM_SCAN_HOT || pScan->nRec==0 ) return 0;
  r = &pScan->aRec[pScan->iRec];
  if( (r->attrs & STREAM_ATTR_CODEC_MASK)!=STREAM_CODEC_NONE ) return 0;
  return r;
}

int sqlite3StreamScanBatch(StreamScan *pScan, const u8 **pp, int *pn,
                           i64 *piRow){
  if( pScan->eCur!=STREAM_SCAN_HOT || pScan->nRec==0 ) return 0;
  *pp = pScan->pBatch;
  *pn = pScan->nBatch;
  *piRow = pScan->iBatchRow;
  return 1;
}

int sqlite3StreamScanColumn(StreamScan *pScan, int iCol, StreamScanField *pF){
  /* A record of a batch first (a poll's every column): no memset. */
  if( pScan->eCur==STREAM_SCAN_HOT && pScan->nRec
   && iCol>STREAM_SCAN_COL_PARTITION ){
    const StreamBatchRec *r = &pScan->aRec[pScan->iRec];
    pF->pValue = 0;
    pF->p = 0;
    pF->n = 0;
    pF->iVal = 0;
    switch( iCol ){
      case STREAM_SCAN_COL_OFFSET:
        pF->eType = SQLITE_INTEGER;
        pF->iVal = r->iOffset;
        return SQLITE_OK;
      case STREAM_SCAN_COL_KEY:
        pF->eType = r->eKey; pF->p = r->pKey; pF->n = r->nKey;
        return SQLITE_OK;
      case STREAM_SCAN_COL_HEADERS:
        pF->eType = r->eHeaders; pF->p = r->pHeaders; pF->n = r->nHeaders;
        return SQLITE_OK;
      case STREAM_SCAN_COL_VALUE:
        if( (r->attrs & STREAM_ATTR_CODEC_MASK)!=STREAM_CODEC_NONE ) break;
        pF->eType = r->eValue; pF->p = r->pValue; pF->n = r->nValue;
        return SQLITE_OK;
      case STREAM_SCAN_COL_ATTRS:
        pF->eType = SQLITE_INTEGER;
        pF->iVal = r->attrs;
        return SQLITE_OK;
      default:
        pF->eType = SQLITE_INTEGER;
        pF->iVal = r->iTimestamp;
        return SQLITE_OK;
    }
  }
  memset(pF, 0, sizeof(*pF));
  if( pScan->eCur==STREAM_SCAN_TIER ){
    const StreamPqRow *r = pScan->pRow;
    switch( iCol ){
      case STREAM_SCAN_COL_TOPIC:
        pF->eType = SQLITE_TEXT;
        pF->p = r->zTopic;
        pF->n = r->nTopic;
        break;
      case STREAM_SCAN_COL_PARTITION:
        pF->eType = SQLITE_INTEGER;
        pF->iVal = r->iPartition;
        break;
      case STREAM_SCAN_COL_OFFSET:
        pF->eType = SQLITE_INTEGER;
        pF->iVal = r->iOffset;
        break;
      case STREAM_SCAN_COL_KEY:
        streamScanTierBytes(pF, r->pKey, r->nKey, r->eKeyType);
        break;
      case STREAM_SCAN_COL_VALUE:
        streamScanTierBytes(pF, r->pValue, r->nValue, r->eValueType);
        break;
      case STREAM_SCAN_COL_HEADERS:
        streamScanTierBytes(pF, r->zHeaders, r->nHeaders,
                            r->zHeaders ? STREAM_PQ_TEXT : STREAM_PQ_NULL);
        break;
      default:
        pF->eType = SQLITE_INTEGER;
        pF->iVal = r->iTimestampMs;
        break;
    }
    return SQLITE_OK;
  }
  if( pScan->eCur!=STREAM_SCAN_HOT ) return SQLITE_OK;
  if( iCol==STREAM_SCAN_COL_VALUE ){
    int bRec = pScan->nRec>0;
    const StreamBatchRec *r = bRec ? &pScan->aRec[pScan->iRec] : 0;
    int attrs = bRec ? r->attrs : pScan->attrs;
    if( (attrs & STREAM_ATTR_CODEC_MASK)!=STREAM_CODEC_NONE ){
      if( pScan->eDecoded==0 ){
        int rc = sqlite3StreamRecordDecode(attrs,
            bRec ? r->pValue
                 : sqlite3_column_blob(pScan->pStmt, STREAM_SCAN_COL_VALUE),
            bRec ? r->nValue
                 : sqlite3_column_bytes(pScan->pStmt, STREAM_SCAN_COL_VALUE),
            &pScan->pDecoded, &pScan->nDecoded, &pScan->eDecoded);
        if( rc ) return rc;
      }
      pF->eType = pScan->eDecoded;
      pF->p = pScan->pDecoded ? pScan->pDecoded : (void*)"";
      pF->n = (int)pScan->nDecoded;
      return SQLITE_OK;
    }
  }
  pF->pValue = sqlite3_column_value(pScan->pStmt, iCol);
  pF->eType = sqlite3_value_type(pF->pValue);
  return SQLITE_OK;
}

/**************************************************************************
** Conveniences for the engine's readers (polls, dead letters, the cold
** tier, the Pipelines sink).
*/

i64 sqlite3StreamScanInt(StreamScan *pScan, int iCol){
  StreamScanField f;
  if( pScan->eCur==STREAM_SCAN_HOT && pScan->nRec==0 ){
    return sqlite3_column_int64(pScan->pStmt, iCol);  /* a hot row */
  }
  sqlite3StreamScanColumn(pScan, iCol, &f);
  return f.pValue ? sqlite3_value_int64(f.pValue) : f.iVal;
}

int sqlite3StreamScanPartition(StreamCtx *p, const char *zTopic, i64 iPart,
                               int mPlan, int nInt, const i64 *aInt,
                               StreamScan **pp, char **pzErr){
  StreamScanner *pScanner = 0;
  StreamScanArg aArg[8];
  int rc, i;
  *pp = 0;
  if( nInt<0 || nInt>6 ) return SQLITE_MISUSE;
  memset(aArg, 0, sizeof(aArg));
  aArg[0].zVal = zTopic;
  aArg[1].iVal = iPart;
  for(i=0; i<nInt; i++) aArg[2+i].iVal = aInt[i];
  rc = sqlite3StreamScannerGet(p, &pScanner);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamScanOpen(pScanner, STREAM_SCAN_TOPIC|STREAM_SCAN_PART
                               |mPlan, 2+nInt, aArg, pp, pzErr);
  }
  if( rc ){
    sqlite3StreamScanClose(*pp);
    *pp = 0;
  }
  return rc;
}
