/*
** retention.c - cleanup.policy=delete: retention.ms and retention.bytes.
**
** A partition loses the longest prefix of its messages in which every
** message is either older than retention.ms (by its timestamp: now -
** timestamp > retention.ms) or beyond retention.bytes (Kafka's rule: the
** oldest message goes while the partition without it still holds at
** least retention.bytes bytes, counted as stream_partitions counts them;
** so it keeps between retention.bytes and that plus one message).  Only
** a prefix ever goes: an old message behind a young one waits for it, so
** retention never makes a hole.  Then log_start_offset moves to the first
** remaining offset (the high watermark if none remain).  next_offset is
** raised to the high watermark before anything is deleted, so that the
** high watermark never moves back.
**
** Byte count: stream_maintain() sums the partition exactly.  The
** amortised path keeps a running count in _stream_cleaner (size_offset,
** size_bytes = bytes of the messages below size_offset), catching up on
** at most 4 x nMax new messages per look; it deletes by size only once
** the count has caught up.  Deletions made here and by compaction keep
** the count exact; anything else that deletes messages should reset it
** (size_offset NULL), which makes the next look recount.
**
** The warm tier (ext/tier.c) holds the oldest offsets of a partition when
** it holds any; its own retention removes whole segments.  The hot prefix
** is the start of the partition only once no segment is left, so hot
** retention waits until then (prefix rule).
*/
#include "streamInt.h"

/* Add the bytes of messages [pS->iSizeOffset, iHwm) to the running count,
** reading at most nMax rows (nMax<0: recount the partition exactly).
** *pbReady is set when the count covers the whole partition. */
static int streamRetCount(StreamCtx *p, const char *zTopic, int iPart,
                          i64 iHwm, i64 nMax, StreamCleaner *pS,
                          int *pbReady, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  i64 n = 0, iLast = -1;
  int rc;
  if( nMax<0 || pS->iSizeOffset<0 ){
    pS->iSizeOffset = 0;
    pS->nSizeBytes = 0;
  }
  pStmt = sqlite3StreamStorageStmt(p, STREAM_SQL_MSG_SIZES_FROM, zTopic,
                                   iPart, pzErr);
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_int64(pStmt, 3, pS->iSizeOffset);
  sqlite3_bind_int64(pStmt, 4, nMax<0 ? -1 : nMax*4);
  while( sqlite3_step(pStmt)==SQLITE_ROW ){
    iLast = sqlite3_column_int64(pStmt, 0);
    pS->nSizeBytes += sqlite3_column_int64(pStmt, 1);
    n++;
  }
  rc = sqlite3StreamStorageReset(p, pStmt, pzErr);
  if( rc ) return rc;
  if( nMax>=0 && n==nMax*4 ){
    pS->iSizeOffset = sqlite3StreamOffsetAfter(iLast);   /* more to count */
    *pbReady = 0;
  }else{
    pS->iSizeOffset = iHwm;
    *pbReady = 1;
  }
  return SQLITE_OK;
}

/* Does the partition still have warm segments (below its hot messages)? */
int sqlite3StreamHasWarm(StreamCtx *p, const char *zTopic, int iPart,
                         int *pbWarm, char **pzErr){
  i64 bWarm = 0;                                /* (no storage: no tier) */
  int rc = sqlite3StreamAuxInt(p, STREAM_AUX_SEG_PART_ANY, &bWarm, pzErr,
                               "ti", zTopic, (i64)iPart);
  *pbWarm = (int)bWarm;
  return rc;
}

/* The first record of the batch row at offset iFirst: its timestamp and
** bytes (as STREAM_MSG_BYTES_SQL counts them); *pbFound 0 if there is
** no such row. */
static int streamRetBatchHead(StreamCtx *p, const char *zTopic, int iPart,
                              i64 iFirst, i64 *piTs, i64 *pnBytes,
                              int *pbFound, char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamStorageStmt(p, STREAM_SQL_BATCH_AT,
                                                 zTopic, iPart, pzErr);
  int rc = SQLITE_OK;
  *pbFound = 0;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_int64(pStmt, 3, iFirst);
  if( sqlite3_step(pStmt)==SQLITE_ROW ){
    StreamBatchRec r;
    int iPos = 0;
    if( sqlite3StreamBatchNext(sqlite3_column_blob(pStmt, 0),
            sqlite3_column_bytes(pStmt, 0), &iPos, iFirst, &r)==SQLITE_ROW ){
      *piTs = r.iTimestamp;
      *pnBytes = (i64)r.nKey + r.nValue + r.nHeaders;
      *pbFound = 1;
    }else{
      rc = sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "damaged record batch at"
                            " %s/%d offset %lld", zTopic, iPart, iFirst);
    }
  }
  sqlite3_reset(pStmt);
  return rc;
}

int sqlite3StreamRetention(StreamCtx *p, const char *zTopic, int iPart,
                           const StreamTopicConfig *pCfg, i64 iNow,
                           i64 nMax, StreamCleaner *pS, i64 *pnDeleted,
                           i64 *piLogStart, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  i64 iHwm = 0, iBound = -1, nDel = 0, nDelClean = 0, nDelCounted = 0;
  i64 nRemain = 0, iCutoff = 0;
  int bBytes = 0, bTime, bWarm = 0, bSplit = 0, rc;
  i64 iHold = 0;               /* the tiers' hold (cold: not archived) */

  *pnDeleted = 0;
  if( (pCfg->eCleanup & STREAM_CLEANUP_DELETE)==0 ) return SQLITE_OK;
  bTime = pCfg->retentionMs>=0;
  if( !bTime && pCfg->retentionBytes<0 ) return SQLITE_OK;
  if( bTime ){
    /* now - timestamp > retention.ms, without overflow */
    iCutoff = iNow - pCfg->retentionMs;
  }
  rc = sqlite3StreamHasWarm(p, zTopic, iPart, &bWarm, pzErr);
  if( rc || bWarm ) return rc;
  /* The tiers' hold: never delete what a tier (cold) has not taken. */
  rc = sqlite3StreamTierHold(p, zTopic, iPart, pCfg, &iHold, pzErr);
  if( rc ) return rc;
  rc = sqlite3StreamHighWatermark(p, zTopic, iPart, &iHwm, pzErr);
  if( rc ) return rc;
  if( pCfg->retentionBytes>=0 ){
    rc = streamRetCount(p, zTopic, iPart, iHwm, nMax, pS, &bBytes, pzErr);
    if( rc ) return rc;
    nRemain = pS->nSizeBytes;
  }else{
    pS->iSizeOffset = -1;      /* not kept while there is no byte limit */
    pS->nSizeBytes = 0;
  }

  /* The prefix to delete, whole rows.  The row it stops at may be a
  ** record batch of which only a first part may go: then that row is
  ** rewritten as one row per message (ext/produce.c) and the prefix read
  ** again (once: retention stays exact per message; a batch is rewritten
  ** only when it straddles the retention point). */
 again:
  iBound = -1;
  nDel = nDelClean = nDelCounted = 0;
  nRemain = bBytes ? pS->nSizeBytes : 0;
  pStmt = sqlite3StreamStorageStmt(p, STREAM_SQL_MSG_OLDEST, zTopic, iPart,
                                   pzErr);
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_int64(pStmt, 3, nMax);
  while( sqlite3_step(pStmt)==SQLITE_ROW ){
    i64 iOff = sqlite3_column_int64(pStmt, 0);
    i64 iTs = sqlite3_column_int64(pStmt, 1);
    i64 nByte = sqlite3_column_int64(pStmt, 2);
    i64 nMsg = sqlite3_column_int64(pStmt, 3);  /* >1: a record batch */
    int bExpired = bTime && iTs<iCutoff;
    int bOver = bBytes && nRemain-nByte>=pCfg->retentionBytes;
    if( nMax>=0 && nDel>0 && nDel+nMsg>nMax ) break;   /* the bound */
    if( (!bExpired && !bOver) || iOff>=iHold ){
      i64 iFirst = iOff - nMsg + 1, iTs0 = 0, nByte0 = 0;
      int bFound = 0;
      if( nMsg<=1 || bSplit || iFirst>=iHold ) break;
      sqlite3_reset(pStmt);
      rc = streamRetBatchHead(p, zTopic, iPart, iFirst, &iTs0, &nByte0,
                              &bFound, pzErr);
      if( rc ) return rc;
      bSplit = 1;
      if( bFound && ((bTime && iTs0<iCutoff)
                  || (bBytes && nRemain-nByte0>=pCfg->retentionBytes)) ){
        rc = sqlite3StreamUnbatchRange(p, zTopic, iPart, iFirst, iFirst,
                                       pzErr);
        if( rc ) return rc;
        goto again;
      }
      pStmt = 0;
      break;
    }
    iBound = sqlite3StreamOffsetAfter(iOff);
    nDel += nMsg;
    nRemain -= nByte;
    if( iOff<pS->iSizeOffset ) nDelCounted += nByte;
    if( iOff<pS->iCleanOffset ) nDelClean += nMsg;
  }
  if( pStmt ){
    rc = sqlite3StreamStorageReset(p, pStmt, pzErr);
    if( rc ) return rc;
  }
  if( nDel==0 ) return SQLITE_OK;

  /* next_offset first, the byte count before the rows (a failure half-way
  ** then undercounts, never overcounts), then the rows, then the log
  ** start. */
  rc = sqlite3StreamRaiseNext(p, zTopic, iPart, iHwm, pzErr);
  if( rc ) return rc;
  if( pS->iSizeOffset>=0 ){
    if( iBound>=pS->iSizeOffset ){
      pS->iSizeOffset = iBound;
      pS->nSizeBytes = 0;
    }else{
      pS->nSizeBytes -= nDelCounted;
    }
  }
  pS->nCleanCount -= nDelClean;
  if( pS->nCleanCount<0 ) pS->nCleanCount = 0;
  if( pS->iCleanOffset<iBound ){
    /* Everything the compactor had seen is gone. */
    pS->iCleanOffset = iBound;
    pS->nCleanCount = 0;
  }
  rc = sqlite3StreamStorageRun(p, STREAM_SQL_MSG_DELETE_BELOW, zTopic, iPart,
                               iBound, pzErr);
  if( rc ) return rc;
  rc = sqlite3StreamStorageInt(p, STREAM_SQL_PART_START_AT_HOT, zTopic, iPart,
                               iHwm, 0, *piLogStart, piLogStart, pzErr);
  if( rc ) return rc;
  *pnDeleted = nDel;
  return SQLITE_OK;
}
