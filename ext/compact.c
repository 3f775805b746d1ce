/*
** compact.c - log compaction (cleanup.policy=compact and compact,delete).
**
** A compacted partition keeps, for every key, at least its latest message;
** an older message of a key is removed once a newer one exists below the
** head.  Offsets never change (a reader meets gaps: reading from a removed
** offset starts at the next one) and order is kept.  Keys are compared as
** bytes, so TEXT 'k' and BLOB x'6b' are the same key, as in Kafka.  A
** message with a NULL key (possible only if it was produced before the
** topic became compacted) is removed by the first compaction that reaches
** it, as Kafka's cleaner discards records without a key.
**
** The head.  Messages at or above the "upper" offset are never touched:
** upper = high watermark - compaction.head.messages (the analogue of
** Kafka's active segment, default 1000 messages), lowered further to the
** first message whose timestamp is newer than min.compaction.lag.ms.
** And the newest message of a partition is never removed, even when it is
** a tombstone past the horizon: the high watermark is max(offset)+1 while
** a partition holds messages, so removing it would move it back.
**
** Clean point.  _stream_cleaner.clean_offset: below it, the partition
** holds at most one message per key, and _stream_cleaner_keys maps each
** such key to that message's offset (the "offset map" of Kafka's cleaner,
** kept in a table so that it survives across transactions and rolls back
** with them).  Dirty ratio = dirty / (clean + dirty), where dirty counts
** the messages in [clean_offset, upper) and clean the messages below the
** clean point.  A partition is due when the ratio reaches
** min.cleanable.dirty.ratio or its oldest dirty message is older than
** max.compaction.lag.ms.
**
** Tombstones (NULL values).  A tombstone stays while it is the latest
** message of its key, and goes at the first compaction after it has been
** in the log for delete.retention.ms.  Its age is known from "marks": at
** each compaction the high watermark is noted with the time (mark_offset,
** mark_at); once a mark is delete.retention.ms old, every offset below it
** was appended at least that long ago and becomes the tombstone horizon.
** So a tombstone goes between delete.retention.ms and that plus the time
** between two compactions after it was appended (Kafka's own delay is
** similar), whatever timestamp its producer gave it: a consumer that
** reads within delete.retention.ms of the head sees every tombstone.
**
** Two engines, one invariant:
**
**   sqlite3StreamCompactFull(): one pass, newest to oldest, over
**   [start, upper): the compaction engine (ext/compactor.c, shared with
**   the warm tier), with its hash set of the keys seen so far, decides
**   that a message is superseded (its key was seen) or kept; the runs of
**   superseded messages between kept ones go with one ranged DELETE each
**   (a handful of B-tree operations per run, not one per message).  Then
**   the key map is rewritten from the kept messages.  Memory: the distinct
**   keys of the partition, once.
**
**   sqlite3StreamCompactStep(): the amortised engine.  Takes at most nMax
**   dirty messages from the clean point up, and for each looks its key up
**   in _stream_cleaner_keys, deletes the older message found there and
**   records the new one; then removes tombstones past the horizon.  Each
**   step is idempotent, so even a step that fails half-way outside a
**   savepoint leaves a correct log.
**
** Both raise next_offset to the high watermark before deleting anything.
** Callers (ext/maintain.c) wrap them in a savepoint: a compaction that
** fails or is rolled back leaves the log as it was.
*/
#include "streamInt.h"
#include <string.h>

/**************************************************************************
** Shared pieces.
*/

/* Note the high watermark for the tombstone horizon (see the header). */
static void streamCmpMarks(StreamCleaner *pS, i64 iHwm, i64 iNow, i64 nDr){
  if( nDr==0 ){
    pS->iHorizon = iHwm;
    pS->iMarkOffset = iHwm;
    pS->iMarkAt = iNow;
  }else if( sqlite3StreamSubSat(iNow, pS->iMarkAt) >= nDr ){
    if( pS->iMarkOffset>pS->iHorizon ) pS->iHorizon = pS->iMarkOffset;
    pS->iMarkOffset = iHwm;
    pS->iMarkAt = iNow;
  }
}

int sqlite3StreamCompactUpper(StreamCtx *p, const char *zTopic, int iPart,
                              const StreamTopicConfig *pCfg, i64 iNow,
                              i64 iHwm, i64 *piUpper, char **pzErr){
  i64 iUpper = iHwm - pCfg->compactionHeadMessages;
  int rc = SQLITE_OK;
  if( pCfg->compactionHeadMessages>iHwm ) iUpper = 0;
  if( pCfg->minCompactionLagMs>0 && iUpper>0 ){
    sqlite3_stmt *pStmt = 0;
    rc = sqlite3StreamStorageGet(p, STREAM_SQL_CMP_YOUNGEST,
                                 zTopic, iPart, &pStmt, pzErr);
    if( rc ) return rc;
    sqlite3_bind_int64(pStmt, 3, iNow - pCfg->minCompactionLagMs);
    if( sqlite3_step(pStmt)==SQLITE_ROW
     && sqlite3_column_type(pStmt, 0)==SQLITE_INTEGER ){
      i64 iYoung = sqlite3_column_int64(pStmt, 0);
      if( iYoung<iUpper ) iUpper = iYoung;
    }
    rc = sqlite3_reset(pStmt);
    if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  {
    /* The tiers' hold: never compact what a tier (cold, and the Pipelines
    ** sink with it) has not taken yet. */
    i64 iHold = 0;
    rc = sqlite3StreamTierHold(p, zTopic, iPart, pCfg, &iHold, pzErr);
    if( rc ) return rc;
    if( iHold<iUpper ) iUpper = iHold;
  }
  *piUpper = iUpper;
  return rc;
}

int sqlite3StreamCompactDue(StreamCtx *p, const char *zTopic, int iPart,
                            const StreamTopicConfig *pCfg, i64 iNow,
                            const StreamCleaner *pS, i64 iUpper,
                            double *pRatio, int *pbDue, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  i64 iFirst = -1, iTs = 0, nDirty = 0;
  int rc;
  *pRatio = 0.0;
  *pbDue = 0;
  /* The first dirty message: where the dirty section really starts (the
  ** log may start above the clean point) and how old it is. */
  rc = sqlite3StreamStorageGet(p, STREAM_SQL_CMP_FIRST_DIRTY,
                               zTopic, iPart, &pStmt, pzErr);
  if( rc ) return rc;
  sqlite3_bind_int64(pStmt, 3, pS->iCleanOffset);
  if( sqlite3_step(pStmt)==SQLITE_ROW ){
    iFirst = sqlite3_column_int64(pStmt, 0);
    iTs = sqlite3_column_int64(pStmt, 1);
  }
  rc = sqlite3_reset(pStmt);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  if( iFirst>=0 && iFirst<iUpper ) nDirty = iUpper - iFirst;
  if( nDirty>0 ){
    *pRatio = (double)nDirty
            / (double)sqlite3StreamAddSat(pS->nCleanCount, nDirty);
    if( *pRatio>=pCfg->minCleanableRatio ) *pbDue = 1;
    if( sqlite3StreamSubSat(iNow, iTs) > pCfg->maxCompactionLagMs ) *pbDue = 1;
  }
  return SQLITE_OK;
}

/* Bind topic and partition as ?1, ?2 and step a DELETE of one range of
** offsets [?3, ?4] (pDel is reset after). */
static int streamCmpDeleteRange(StreamCtx *p, sqlite3_stmt *pDel,
                                i64 iLo, i64 iHi, char **pzErr){
  int rc;
  sqlite3_bind_int64(pDel, 3, iLo);
  sqlite3_bind_int64(pDel, 4, iHi);
  sqlite3_step(pDel);
  rc = sqlite3_reset(pDel);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  return SQLITE_OK;
}

/* One kept message of the one-pass engine. */
typedef struct StreamCmpKeep StreamCmpKeep;
struct StreamCmpKeep {
  i64 iOff;                    /* Offset */
  i64 iKey;                    /* Key bytes in the set's arena, or -1 */
  int nKey;                    /* Bytes in the key */
  int bTomb;                   /* A tombstone */
};

/* A run of removed offsets [iLo, iHi]. */
typedef struct StreamCmpRun StreamCmpRun;
struct StreamCmpRun {
  i64 iLo, iHi;
};

/* Rewrite the key map of a partition from the kept messages. */
static int streamCmpKeysRewrite(StreamCtx *p, const char *zTopic, int iPart,
                                const StreamKeySet *pSet,
                                const StreamCmpKeep *aKeep, i64 nKeep,
                                char **pzErr){
  sqlite3_stmt *pStmt = 0;
  i64 i;
  int rc = sqlite3StreamStorageGet(p, STREAM_SQL_CLEANER_KEYS_CLEAR,
                                   zTopic, iPart, &pStmt, pzErr);
  if( rc ) return rc;
  sqlite3_step(pStmt);
  rc = sqlite3_reset(pStmt);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  rc = sqlite3StreamStorageGet(p, STREAM_SQL_CLEANER_KEYS_ADD,
                               zTopic, iPart, &pStmt, pzErr);
  if( rc ) return rc;
  /* Ascending offsets: appends at the end of each B-tree page run. */
  for(i=nKeep-1; rc==SQLITE_OK && i>=0; i--){
    const StreamCmpKeep *pK = &aKeep[i];
    if( pK->iKey<0 ) continue;
    sqlite3_bind_blob(pStmt, 3, sqlite3StreamKeySetBytes(pSet, pK->iKey),
                      pK->nKey, SQLITE_STATIC);
    sqlite3_bind_int64(pStmt, 4, pK->iOff);
    sqlite3_bind_int(pStmt, 5, pK->bTomb);
    sqlite3_step(pStmt);
    rc = sqlite3_reset(pStmt);
  }
  if( rc ) rc = sqlite3StreamDbErr(p->db, pzErr, rc);
  sqlite3_reset(pStmt);
  return rc;
}

/* The hot log as a record source, newest first: the rows of pScan
** (offset, key, value IS NULL, ...). */
typedef struct StreamCmpHotSource StreamCmpHotSource;
struct StreamCmpHotSource {
  StreamRecordSource base;     /* Base class - must be first */
  sqlite3_stmt *pScan;         /* The scan (its error: from its reset) */
};

static int streamCmpHotNext(StreamRecordSource *pSrc, StreamRecord *pRec){
  sqlite3_stmt *pScan = ((StreamCmpHotSource*)pSrc)->pScan;
  if( sqlite3_step(pScan)!=SQLITE_ROW ) return SQLITE_DONE;
  pRec->iOffset = sqlite3_column_int64(pScan, 0);
  pRec->bTomb = sqlite3_column_int(pScan, 2);
  pRec->bHasKey = sqlite3_column_type(pScan, 1)!=SQLITE_NULL;
  pRec->pKey = 0;
  pRec->nKey = 0;
  if( pRec->bHasKey ){
    pRec->pKey = (const u8*)sqlite3_column_blob(pScan, 1);
    pRec->nKey = sqlite3_column_bytes(pScan, 1);
    if( pRec->pKey==0 && pRec->nKey>0 ) return SQLITE_NOMEM;
  }
  return SQLITE_ROW;
}

int sqlite3StreamCompactFull(StreamCtx *p, const char *zTopic, int iPart,
                             const StreamTopicConfig *pCfg, i64 iNow,
                             StreamCleaner *pS, i64 *pnRemoved,
                             char **pzErr){
  StreamCompactor cmp;
  StreamCmpHotSource src;
  StreamRecord rec;
  sqlite3_stmt *pScan = 0, *pDel = 0;
  StreamCmpKeep *aKeep = 0;
  StreamCmpRun *aRun = 0;
  i64 nKeep = 0, nKeepAlloc = 0, nRun = 0, nRunAlloc = 0;
  i64 iHwm = 0, iUpper = 0, nRemoved = 0, nBytesGone = 0, i;
  i64 iRunLo = -1, iRunHi = -1;
  int bBytes = pS->iSizeOffset>=0;
  int rc, bKeep = 1;

  memset(&cmp, 0, sizeof(cmp));
  *pnRemoved = 0;
  rc = sqlite3StreamHighWatermark(p, zTopic, iPart, &iHwm, pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamCompactUpper(p, zTopic, iPart, pCfg, iNow, iHwm,
                                   &iUpper, pzErr);
  }
  if( rc ) return rc;
  streamCmpMarks(pS, iHwm, iNow, pCfg->deleteRetentionMs);
  sqlite3StreamCompactorInit(&cmp, iHwm, pS->iHorizon, !pS->bKeepTombs);

  rc = sqlite3StreamStorageGet(p, bBytes ? STREAM_SQL_CMP_SCAN_DESC_BYTES
                                        : STREAM_SQL_CMP_SCAN_DESC,
                               zTopic, iPart, &pScan, pzErr);
  if( rc ) goto compact_out;
  sqlite3_bind_int64(pScan, 3, iUpper);
  src.base.xNext = streamCmpHotNext;
  src.pScan = pScan;
  while( (rc = sqlite3StreamCompactorStep(&cmp, &src.base, &rec, &bKeep))
         ==SQLITE_ROW ){
    i64 iOff = rec.iOffset;
    if( !bKeep ){
      nRemoved++;
      if( bBytes && iOff<pS->iSizeOffset ){
        nBytesGone += sqlite3_column_int64(pScan, 3);
      }
      if( iRunHi<0 ) iRunHi = iOff;
      iRunLo = iOff;
      continue;
    }
    if( iRunHi>=0 ){
      if( nRun==nRunAlloc ){
        i64 nNew = nRunAlloc ? nRunAlloc*2 : 256;
        StreamCmpRun *aNew = sqlite3_realloc64(aRun, sizeof(*aNew)*nNew);
        if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
        aRun = aNew;
        nRunAlloc = nNew;
      }
      aRun[nRun].iLo = iRunLo;
      aRun[nRun].iHi = iRunHi;
      nRun++;
      iRunHi = iRunLo = -1;
    }
    if( nKeep==nKeepAlloc ){
      i64 nNew = nKeepAlloc ? nKeepAlloc*2 : 256;
      StreamCmpKeep *aNew = sqlite3_realloc64(aKeep, sizeof(*aNew)*nNew);
      if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
      aKeep = aNew;
      nKeepAlloc = nNew;
    }
    aKeep[nKeep].iOff = iOff;
    aKeep[nKeep].iKey = rec.iKey;
    aKeep[nKeep].nKey = rec.nKey;
    aKeep[nKeep].bTomb = rec.bTomb;
    nKeep++;
  }
  if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  if( rc==SQLITE_OK ){
    rc = sqlite3_reset(pScan);
    if( rc ) rc = sqlite3StreamDbErr(p->db, pzErr, rc);
  }else{
    sqlite3_reset(pScan);
  }
  pScan = 0;
  if( rc ) goto compact_out;
  if( iRunHi>=0 ){
    if( nRun==nRunAlloc ){
      StreamCmpRun *aNew = sqlite3_realloc64(aRun, sizeof(*aNew)*(nRun+1));
      if( aNew==0 ){ rc = SQLITE_NOMEM; goto compact_out; }
      aRun = aNew;
    }
    aRun[nRun].iLo = iRunLo;
    aRun[nRun].iHi = iRunHi;
    nRun++;
  }

  if( nRemoved>0 ){
    rc = sqlite3StreamRaiseNext(p, zTopic, iPart, iHwm, pzErr);
    if( rc ) goto compact_out;
    rc = sqlite3StreamStorageGet(p, STREAM_SQL_MSG_DELETE_RANGE,
                                 zTopic, iPart, &pDel, pzErr);
    if( rc ) goto compact_out;
    /* Runs were found newest first; delete oldest first. */
    for(i=nRun-1; rc==SQLITE_OK && i>=0; i--){
      rc = streamCmpDeleteRange(p, pDel, aRun[i].iLo, aRun[i].iHi, pzErr);
    }
    if( rc ) goto compact_out;
  }
  rc = streamCmpKeysRewrite(p, zTopic, iPart, &cmp.set, aKeep, nKeep, pzErr);
  if( rc ) goto compact_out;

  if( iUpper>pS->iCleanOffset || nRemoved>0 ) pS->iCleanOffset = iUpper;
  pS->nCleanCount = nKeep;
  pS->iTarget = -1;
  pS->iCleanedAt = iNow;
  pS->nRemoved = sqlite3StreamAddSat(pS->nRemoved, nRemoved);
  if( bBytes ) pS->nSizeBytes = sqlite3StreamSubSat(pS->nSizeBytes, nBytesGone);
  *pnRemoved = nRemoved;

 compact_out:
  sqlite3_reset(pScan);
  sqlite3_reset(pDel);
  sqlite3_free(aKeep);
  sqlite3_free(aRun);
  sqlite3StreamCompactorFree(&cmp);
  return rc;
}

/**************************************************************************
** The amortised engine.
*/

/* One dirty message loaded for a step. */
typedef struct StreamCmpMsg StreamCmpMsg;
struct StreamCmpMsg {
  i64 iOff;                    /* Offset */
  i64 iKey;                    /* Key bytes in aBuf, or -1 for NULL */
  int nKey;                    /* Bytes in the key */
  int bTomb;                   /* A tombstone */
};

/* Delete message iOff if it exists; *pbGone tells whether it did. */
static int streamCmpDeleteOne(StreamCtx *p, sqlite3_stmt *pDel, i64 iOff,
                              StreamCleaner *pS, int *pbGone, char **pzErr){
  int rc;
  *pbGone = 0;
  sqlite3_bind_int64(pDel, 3, iOff);
  sqlite3_bind_int64(pDel, 4, iOff);
  if( sqlite3_step(pDel)==SQLITE_ROW ){
    *pbGone = 1;
    if( pS->iSizeOffset>=0 && iOff<pS->iSizeOffset ){
      pS->nSizeBytes = sqlite3StreamSubSat(pS->nSizeBytes,
                                           sqlite3_column_int64(pDel, 0));
    }
    while( sqlite3_step(pDel)==SQLITE_ROW ){}
  }
  rc = sqlite3_reset(pDel);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  return SQLITE_OK;
}

int sqlite3StreamCompactStep(StreamCtx *p, const char *zTopic, int iPart,
                             const StreamTopicConfig *pCfg, i64 iNow,
                             i64 nMax, StreamCleaner *pS, i64 *pnRemoved,
                             char **pzErr){
  sqlite3_stmt *pScan = 0, *pGet = 0, *pDel = 0, *pPut = 0, *pDrop = 0;
  StreamCmpMsg *aMsg = 0;
  u8 *aBuf = 0;
  i64 nBuf = 0, nBufAlloc = 0, nMsg = 0, i;
  i64 iHwm = 0, iUpper = 0, iEnd, iNewClean, nRemoved = 0;
  int rc;

  *pnRemoved = 0;
  rc = sqlite3StreamHighWatermark(p, zTopic, iPart, &iHwm, pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamCompactUpper(p, zTopic, iPart, pCfg, iNow, iHwm,
                                   &iUpper, pzErr);
  }
  if( rc ) return rc;
  streamCmpMarks(pS, iHwm, iNow, pCfg->deleteRetentionMs);
  if( pS->iTarget<0 ){
    double r;
    int bDue = 0;
    rc = sqlite3StreamCompactDue(p, zTopic, iPart, pCfg, iNow, pS, iUpper,
                                 &r, &bDue, pzErr);
    if( rc || !bDue ) return rc;
    pS->iTarget = iUpper;
  }
  iEnd = pS->iTarget<iUpper ? pS->iTarget : iUpper;

  /* Load at most nMax dirty messages (the table changes below). */
  rc = sqlite3StreamStorageGet(p, STREAM_SQL_CMP_SCAN_DIRTY,
                               zTopic, iPart, &pScan, pzErr);
  if( rc ) goto step_out;
  sqlite3_bind_int64(pScan, 3, pS->iCleanOffset);
  sqlite3_bind_int64(pScan, 4, iEnd);
  sqlite3_bind_int64(pScan, 5, nMax);
  aMsg = sqlite3_malloc64(sizeof(*aMsg)*(nMax>0 ? nMax : 1));
  if( aMsg==0 ){ rc = SQLITE_NOMEM; goto step_out; }
  while( sqlite3_step(pScan)==SQLITE_ROW ){
    StreamCmpMsg *pM = &aMsg[nMsg++];
    pM->iOff = sqlite3_column_int64(pScan, 0);
    pM->bTomb = sqlite3_column_int(pScan, 2);
    pM->iKey = -1;
    pM->nKey = 0;
    if( sqlite3_column_type(pScan, 1)!=SQLITE_NULL ){
      const void *pKey = sqlite3_column_blob(pScan, 1);
      int n = sqlite3_column_bytes(pScan, 1);
      if( nBuf+n>nBufAlloc ){
        i64 nNew = nBufAlloc ? nBufAlloc*2 : 16384;
        u8 *aNew;
        while( nNew<nBuf+n ) nNew *= 2;
        aNew = sqlite3_realloc64(aBuf, nNew);
        if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
        aBuf = aNew;
        nBufAlloc = nNew;
      }
      if( n>0 ) memcpy(&aBuf[nBuf], pKey, n);
      pM->iKey = nBuf;
      pM->nKey = n;
      nBuf += n;
    }
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_reset(pScan);
    if( rc ) rc = sqlite3StreamDbErr(p->db, pzErr, rc);
  }else{
    sqlite3_reset(pScan);
  }
  pScan = 0;
  if( rc ) goto step_out;
  iNewClean = nMsg==nMax ? sqlite3StreamOffsetAfter(aMsg[nMsg-1].iOff) : iEnd;

  rc = sqlite3StreamRaiseNext(p, zTopic, iPart, iHwm, pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamStorageGet(p, STREAM_SQL_CLEANER_KEY_GET,
                                 zTopic, iPart, &pGet, pzErr);
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamStorageGet(p, STREAM_SQL_MSG_DELETE_RANGE_BYTES,
                                 zTopic, iPart, &pDel, pzErr);
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamStorageGet(p, STREAM_SQL_CLEANER_KEY_PUT,
                                 zTopic, iPart, &pPut, pzErr);
  }
  if( rc ) goto step_out;

  for(i=0; rc==SQLITE_OK && i<nMsg; i++){
    StreamCmpMsg *pM = &aMsg[i];
    const void *pKey = 0;
    i64 iOld = -1;                      /* offset that goes, or -1 */
    pS->nCleanCount++;
    if( pM->iKey<0 ){                   /* no key: Kafka drops it */
      if( pM->iOff<iHwm-1 ) iOld = pM->iOff;
    }else{
      pKey = aBuf ? (const void*)&aBuf[pM->iKey] : (const void*)"";
      sqlite3_bind_blob(pGet, 3, pKey, pM->nKey, SQLITE_STATIC);
      if( sqlite3_step(pGet)==SQLITE_ROW ){
        iOld = sqlite3_column_int64(pGet, 0);
        if( iOld>=pM->iOff ) iOld = -1;
      }
      rc = sqlite3_reset(pGet);
      if( rc ){ rc = sqlite3StreamDbErr(p->db, pzErr, rc); break; }
    }
    if( iOld>=0 ){
      int bGone = 0;
      rc = streamCmpDeleteOne(p, pDel, iOld, pS, &bGone, pzErr);
      if( rc ) break;
      if( bGone ){
        nRemoved++;
        pS->nCleanCount--;
      }
    }
    if( pKey==0 ) continue;             /* not mapped */
    sqlite3_bind_blob(pPut, 3, pKey, pM->nKey, SQLITE_STATIC);
    sqlite3_bind_int64(pPut, 4, pM->iOff);
    sqlite3_bind_int(pPut, 5, pM->bTomb);
    sqlite3_step(pPut);
    rc = sqlite3_reset(pPut);
    if( rc ) rc = sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  if( rc ) goto step_out;

  /* Tombstones of the clean section past the horizon. */
  if( !pS->bKeepTombs ){
    i64 iLimit = pS->iHorizon<iNewClean ? pS->iHorizon : iNewClean;
    if( iLimit>iHwm-1 ) iLimit = iHwm-1;    /* never the newest message */
    i64 nTomb = 0;
    sqlite3_stmt *pTomb = 0;
    rc = sqlite3StreamStorageGet(p, STREAM_SQL_CLEANER_TOMBS,
                                 zTopic, iPart, &pTomb, pzErr);
    if( rc ) goto step_out;
    sqlite3_bind_int64(pTomb, 3, iLimit);
    sqlite3_bind_int64(pTomb, 4, nMax);
    /* Reuse aMsg for the offsets: nMax entries at most. */
    while( sqlite3_step(pTomb)==SQLITE_ROW ){
      aMsg[nTomb++].iOff = sqlite3_column_int64(pTomb, 0);
    }
    rc = sqlite3_reset(pTomb);
    if( rc ){ rc = sqlite3StreamDbErr(p->db, pzErr, rc); goto step_out; }
    if( nTomb>0 ){
      rc = sqlite3StreamStorageGet(p, STREAM_SQL_CLEANER_TOMB_DROP,
                                   zTopic, iPart, &pDrop, pzErr);
      if( rc ) goto step_out;
    }
    for(i=0; rc==SQLITE_OK && i<nTomb; i++){
      int bGone = 0;
      rc = streamCmpDeleteOne(p, pDel, aMsg[i].iOff, pS, &bGone, pzErr);
      if( rc ) break;
      if( bGone ){
        nRemoved++;
        pS->nCleanCount--;
      }
      sqlite3_bind_int64(pDrop, 3, aMsg[i].iOff);
      sqlite3_step(pDrop);
      rc = sqlite3_reset(pDrop);
      if( rc ) rc = sqlite3StreamDbErr(p->db, pzErr, rc);
    }
    if( rc ) goto step_out;
  }

  if( pS->nCleanCount<0 ) pS->nCleanCount = 0;
  if( iNewClean>pS->iCleanOffset ) pS->iCleanOffset = iNewClean;
  if( pS->iCleanOffset>=pS->iTarget ){
    pS->iTarget = -1;
    pS->iCleanedAt = iNow;
  }
  pS->nRemoved = sqlite3StreamAddSat(pS->nRemoved, nRemoved);
  *pnRemoved = nRemoved;

 step_out:
  sqlite3_reset(pScan);
  sqlite3_reset(pGet);
  sqlite3_reset(pDel);
  sqlite3_reset(pPut);
  sqlite3_reset(pDrop);
  sqlite3_free(aMsg);
  sqlite3_free(aBuf);
  return rc;
}

/**************************************************************************
** The cleaner state of a partition (_stream_cleaner).
*/

static void streamCleanerDefaults(StreamCleaner *pS){
  memset(pS, 0, sizeof(*pS));
  pS->iTarget = -1;
  pS->iCleanedAt = -1;
  pS->iSizeOffset = -1;
}

int sqlite3StreamCleanerGet(StreamCtx *p, const char *zTopic, int iPart,
                            StreamCleaner *pS, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc;
  streamCleanerDefaults(pS);
  pStmt = sqlite3StreamAuxStmt(p, STREAM_AUX_CLEANER_GET, 0);
  if( pStmt==0 && sqlite3StreamNoStorage(p->db) ){
    /* A database made before these tables existed: create them. */
    rc = sqlite3StreamEnsureSchema(p, pzErr);
    if( rc ) return rc;
  }
  if( pStmt==0
   && (pStmt = sqlite3StreamAuxStmt(p, STREAM_AUX_CLEANER_GET, pzErr))==0 ){
    return sqlite3StreamStmtErr(p);
  }
  sqlite3_bind_text(pStmt, 1, zTopic, -1, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 2, iPart);
  if( sqlite3_step(pStmt)==SQLITE_ROW ){
    pS->iCleanOffset = sqlite3_column_int64(pStmt, 0);
    pS->nCleanCount = sqlite3_column_int64(pStmt, 1);
    pS->iTarget = sqlite3_column_int64(pStmt, 2);
    pS->iMarkOffset = sqlite3_column_int64(pStmt, 3);
    pS->iMarkAt = sqlite3_column_int64(pStmt, 4);
    pS->iHorizon = sqlite3_column_int64(pStmt, 5);
    pS->iCleanedAt = sqlite3_column_int64(pStmt, 6);
    pS->nRemoved = sqlite3_column_int64(pStmt, 7);
    pS->iSizeOffset = sqlite3_column_int64(pStmt, 8);
    pS->nSizeBytes = sqlite3_column_int64(pStmt, 9);
    /* The byte count is a cache: a damaged one is counted again.  The
    ** message counts are statistics, incremented one by one: a damaged
    ** one (negative, or near the i64 limit) restarts at 0. */
    if( pS->nSizeBytes<0 || pS->iSizeOffset<0 ){
      pS->iSizeOffset = -1;
      pS->nSizeBytes = 0;
    }
    if( pS->nCleanCount<0 || pS->nCleanCount>STREAM_MAX_COUNT ){
      pS->nCleanCount = 0;
    }
    if( pS->nRemoved<0 || pS->nRemoved>STREAM_MAX_COUNT ) pS->nRemoved = 0;
  }
  rc = sqlite3_reset(pStmt);
  if( rc!=SQLITE_OK ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  return SQLITE_OK;
}

int sqlite3StreamCleanerPut(StreamCtx *p, const char *zTopic, int iPart,
                            const StreamCleaner *pS, char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamStorageStmt(p, STREAM_SQL_CLEANER_PUT,
                                                 zTopic, iPart, pzErr);
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_int64(pStmt, 3, pS->iCleanOffset);
  sqlite3_bind_int64(pStmt, 4, pS->nCleanCount);
  if( pS->iTarget>=0 ) sqlite3_bind_int64(pStmt, 5, pS->iTarget);
  sqlite3_bind_int64(pStmt, 6, pS->iMarkOffset);
  sqlite3_bind_int64(pStmt, 7, pS->iMarkAt);
  sqlite3_bind_int64(pStmt, 8, pS->iHorizon);
  if( pS->iCleanedAt>=0 ) sqlite3_bind_int64(pStmt, 9, pS->iCleanedAt);
  sqlite3_bind_int64(pStmt, 10, pS->nRemoved);
  if( pS->iSizeOffset>=0 ) sqlite3_bind_int64(pStmt, 11, pS->iSizeOffset);
  sqlite3_bind_int64(pStmt, 12, pS->nSizeBytes);
  sqlite3_step(pStmt);
  return sqlite3StreamStorageReset(p, pStmt, pzErr);
}
