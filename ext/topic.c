/*
** topic.c - the topic catalog: create, alter, grow and delete topics, and
** the hot-path lookups (topic settings, partition check, high watermark).
**
** Topic names follow Kafka's rule: 1 to 249 characters of [a-zA-Z0-9._-],
** and neither "." nor "..", and none that collides with an existing topic's
** once '.' and '_' are taken as one character.  Partitions only grow, as in
** Kafka.
*/
#include "streamInt.h"
#include <string.h>

int sqlite3StreamTopicNameCheck(const char *zName, char **pzErr){
  size_t n, i;
  if( zName==0 ){
    return sqlite3StreamErr(pzErr, SQLITE_MISUSE,
                            "topic name must be text, not NULL");
  }
  n = strlen(zName);
  if( n==0 || n>STREAM_MAX_TOPIC_NAME ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "invalid topic name: must be 1 to %d characters, got %d",
        STREAM_MAX_TOPIC_NAME, (int)n);
  }
  if( strcmp(zName, ".")==0 || strcmp(zName, "..")==0 ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "invalid topic name: \"%s\" is not allowed", zName);
  }
  for(i=0; i<n; i++){
    char c = zName[i];
    if( !((c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9')
          || c=='.' || c=='_' || c=='-') ){
      return sqlite3StreamErr(pzErr, SQLITE_ERROR,
          "invalid topic name \"%s\": only [a-zA-Z0-9._-] are allowed",
          zName);
    }
  }
  return SQLITE_OK;
}

int sqlite3StreamTopicMissing(const char *zTopic, char **pzErr){
  size_t n = strlen(zTopic);
  if( n>STREAM_MAX_TOPIC_NAME ){
    return sqlite3StreamErr(pzErr, SQLITE_NOTFOUND,
        "topic name is %lld characters, the limit is %d", (i64)n,
        STREAM_MAX_TOPIC_NAME);
  }
  return sqlite3StreamErr(pzErr, SQLITE_NOTFOUND, "no such topic: %s", zTopic);
}

int sqlite3StreamTopicGet(StreamCtx *p, const char *zTopic, StreamTopic *pT,
                          char **pzErr){
  sqlite3_stmt *pStmt;
  StreamCacheTopic *pC;
  int rc;
  if( zTopic==0 ){           /* a NULL name read from a damaged row */
    return sqlite3StreamErr(pzErr, SQLITE_NOTFOUND, "no such topic: NULL");
  }
  sqlite3StreamTxnEnlist(p);
  if( (pC = sqlite3StreamCacheFind(p, zTopic))!=0 ){
    *pT = *sqlite3StreamCacheTopic(pC);
    return SQLITE_OK;
  }
  pStmt = sqlite3StreamCatStmt(p, STREAM_CAT_TOPIC_GET, pzErr);
  if( pStmt==0 ){
    if( sqlite3StreamNoStorage(p->db) ) goto not_found;
    return sqlite3StreamStmtErr(p);
  }
  sqlite3_bind_text(pStmt, 1, zTopic, -1, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    i64 nPart = sqlite3_column_int64(pStmt, 0);
    int eTs = sqlite3_column_int(pStmt, 2);
    int eCodec = sqlite3_column_int(pStmt, 3);
    int eCleanup = sqlite3_column_int(pStmt, 4);
    /* The row drives array indexes and divisions: refuse a damaged one
    ** (a direct edit of _stream_topics) instead of trusting it. */
    if( nPart<1 || nPart>STREAM_MAX_PARTITIONS
     || eTs<0 || eTs>1 || eCodec<0 || eCodec>2 || eCleanup<0 || eCleanup>3
     || sqlite3_column_int64(pStmt, 6)>STREAM_MAX_BLOCK_MS ){
      i64 nBlock = sqlite3_column_int64(pStmt, 6);
      sqlite3_reset(pStmt);
      return sqlite3StreamErr(pzErr, SQLITE_CORRUPT,
          "topic %s is damaged in _stream_topics: partitions %lld (1..%d),"
          " timestamp_type %d, compression %d, cleanup %d,"
          " backpressure_block_ms %lld (-1..%d)", zTopic, nPart,
          STREAM_MAX_PARTITIONS, eTs, eCodec, eCleanup, nBlock,
          STREAM_MAX_BLOCK_MS);
    }
    pT->nPartition = sqlite3_column_int(pStmt, 0);
    pT->maxMessageBytes = sqlite3_column_int64(pStmt, 1);
    pT->eTimestampType = sqlite3_column_int(pStmt, 2);
    pT->eCompression = sqlite3_column_int(pStmt, 3);
    pT->eCleanup = sqlite3_column_int(pStmt, 4);
    pT->backpressureMaxLag = sqlite3_column_int64(pStmt, 5);
    pT->backpressureBlockMs = sqlite3_column_int64(pStmt, 6);
    sqlite3_reset(pStmt);
    sqlite3StreamCacheAdd(p, zTopic, pT);
    return SQLITE_OK;
  }
  rc = sqlite3_reset(pStmt);
  if( rc!=SQLITE_OK && !sqlite3StreamNoStorage(p->db) ){
    return sqlite3StreamDbErr(p->db, pzErr, rc);
  }
 not_found:
  return sqlite3StreamTopicMissing(zTopic, pzErr);
}

int sqlite3StreamPartitionCount(const char *zTopic, sqlite3_stmt *pStmt,
                                int iCol, int *pnPart, char **pzErr){
  i64 n = sqlite3_column_int64(pStmt, iCol);
  if( sqlite3_column_type(pStmt, iCol)!=SQLITE_INTEGER
   || n<1 || n>STREAM_MAX_PARTITIONS ){
    *pnPart = 0;
    return sqlite3StreamErr(pzErr, SQLITE_CORRUPT,
        "topic %s is damaged in _stream_topics: partitions %lld (1..%d)",
        zTopic, n, STREAM_MAX_PARTITIONS);
  }
  *pnPart = (int)n;
  return SQLITE_OK;
}

int sqlite3StreamPartitionCheck(const char *zTopic, const StreamTopic *pT,
                                i64 iPartition, char **pzErr){
  if( iPartition<0 || iPartition>=pT->nPartition ){
    return sqlite3StreamErr(pzErr, SQLITE_RANGE,
        "partition %lld out of range for topic %s (0..%d)",
        iPartition, zTopic, pT->nPartition-1);
  }
  return SQLITE_OK;
}

/* Partition iPart's high watermark and id as written, the pending record
** batches neither written nor seen. */
static int streamPositionRead(StreamCtx *p, const char *zTopic, int iPart,
                              i64 *piHwm, i64 *piPid, char **pzErr){
  int rc;
  p->bFlushing++;
  rc = sqlite3StreamHotPosition(p, zTopic, iPart, piHwm, piPid, pzErr);
  p->bFlushing--;
  return rc;
}

int sqlite3StreamLogPosition(StreamCtx *p, const char *zTopic, int iPart,
                             i64 *piHwm, i64 *piPid, char **pzErr){
  int rc, bMayWrite;
  i64 iPid = 0;
  i64 iNext = sqlite3StreamCacheNext(p, zTopic, iPart, &iPid);
  if( iNext>=0 ){
    *piHwm = iNext;
    *piPid = iPid;
    return SQLITE_OK;
  }
  /* The read sees partition *piPid's rows only: the other partitions'
  ** pending record batches (ext/produce.c) are not written for it (that
  ** would cut each at the first read of every other partition).  If
  ** this partition has one of its own (its next offset no longer cached:
  ** the cache dropped, or never allocated), it is written and the
  ** partition read again - unless the batches are being written or held
  ** now (p->bFlushing), when the read sees the log as written, as
  ** before. */
  bMayWrite = p->bFlushing==0;
  rc = streamPositionRead(p, zTopic, iPart, piHwm, piPid, pzErr);
  if( rc==SQLITE_OK && bMayWrite
   && sqlite3StreamPendingInfo(p, *piPid, 0, 0) ){
    rc = sqlite3StreamPendingFlushPart(p, *piPid, pzErr);
    if( rc==SQLITE_OK ){
      rc = streamPositionRead(p, zTopic, iPart, piHwm, piPid, pzErr);
    }
  }
  if( rc ) return rc;
  sqlite3StreamCacheSetNext(p, zTopic, iPart, *piHwm, *piPid);
  return SQLITE_OK;
}

int sqlite3StreamHighWatermark(StreamCtx *p, const char *zTopic, int iPart,
                               i64 *piHwm, char **pzErr){
  i64 iPid;
  return sqlite3StreamLogPosition(p, zTopic, iPart, piHwm, &iPid, pzErr);
}

/* Insert the partition rows [iFrom, iTo) of a topic, with the next free
** partition ids (the keys of their messages in _stream_log). */
static int streamAddPartitionRows(StreamCtx *p, const char *zName,
                                  i64 iFrom, i64 iTo, char **pzErr){
  i64 iMax = 0;
  int rc = sqlite3StreamCatPartitionMaxId(p, &iMax, pzErr);
  if( rc ) return rc;
  if( iMax<0 || iMax>STREAM_MAX_PID - (iTo - iFrom) ){
    return sqlite3StreamErr(pzErr, SQLITE_FULL,
        "cannot add %lld partitions: partition ids would pass %lld (the"
        " largest id is %lld)", iTo - iFrom, STREAM_MAX_PID, iMax);
  }
  sqlite3StreamCacheClear(p);
  return sqlite3StreamCatPartitionsAdd(p, zName, iFrom, iTo, iMax + 1 - iFrom,
                                       pzErr);
}

int sqlite3StreamTopicCreate(StreamCtx *p, const char *zName, i64 nPartition,
                             const char *zConfig, char **pzErr){
  StreamTopicConfig cfg;
  StreamTopic t;
  char *zNorm = 0;
  int rc;

  rc = sqlite3StreamTopicNameCheck(zName, pzErr);
  if( rc ) return rc;
  if( nPartition<1 || nPartition>STREAM_MAX_PARTITIONS ){
    return sqlite3StreamErr(pzErr, SQLITE_RANGE,
        "partitions must be between 1 and %d, got %lld",
        STREAM_MAX_PARTITIONS, nPartition);
  }
  rc = sqlite3StreamConfigParse(&cfg, zConfig, &zNorm, pzErr);
  if( rc ) goto out;
  rc = sqlite3StreamTopicGet(p, zName, &t, 0);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamErr(pzErr, SQLITE_CONSTRAINT,
                          "topic already exists: %s", zName);
    goto out;
  }
  if( rc!=SQLITE_NOTFOUND ) goto out;
  rc = sqlite3StreamEnsureSchema(p, pzErr);
  if( rc ) goto out;
  if( strpbrk(zName, "._") ){
    /* Kafka refuses a name that collides with another once '.' and '_'
    ** are one (they map to the same metric names). */
    char *zOther = 0;
    rc = sqlite3StreamCatTopicCollides(p, zName, &zOther, pzErr);
    if( rc==SQLITE_OK && zOther ){
      rc = sqlite3StreamErr(pzErr, SQLITE_CONSTRAINT,
          "invalid topic name \"%s\": it collides with the existing topic"
          " \"%s\" ('.' and '_' count as the same character)", zName, zOther);
    }
    sqlite3_free(zOther);
    if( rc ) goto out;
  }
  sqlite3StreamCacheClear(p);
  rc = sqlite3StreamCatTopicInsert(p, zName, nPartition, zNorm, &cfg,
                                   sqlite3StreamNow(p), pzErr);
  if( rc==SQLITE_OK ){       /* (its own warm.store, swept from now on) */
    rc = sqlite3StreamAuxRun(p, STREAM_AUX_STORE_REMEMBER, pzErr, "t", zNorm);
  }
  if( rc==SQLITE_OK ) rc = streamAddPartitionRows(p, zName, 0, nPartition, pzErr);
 out:
  sqlite3_free(zNorm);
  return rc;
}

int sqlite3StreamTopicAlter(StreamCtx *p, const char *zName,
                            const char *zConfig, char **pzOut,
                            char **pzErr){
  StreamTopicConfig cfg, *pCfg = &cfg;
  StreamTopic t;
  char *zOld = 0, *zNew = 0;
  int rc = sqlite3StreamTopicGet(p, zName, &t, pzErr);
  if( rc ) return rc;
  rc = sqlite3StreamCatTopicConfig(p, zName, &zOld, pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamConfigMerge(zOld, zConfig, pCfg, &zNew, pzErr);
  }
  if( rc==SQLITE_OK ){
    sqlite3StreamCacheClear(p);
    rc = sqlite3StreamCatTopicUpdate(p, zName, zNew, pCfg, pzErr);
  }
  if( rc==SQLITE_OK ){       /* (its own warm.store, swept from now on) */
    rc = sqlite3StreamAuxRun(p, STREAM_AUX_STORE_REMEMBER, pzErr, "t", zNew);
  }
  if( rc==SQLITE_OK
   && ((pCfg->eCleanup & STREAM_CLEANUP_COMPACT) || pCfg->coldEnabled
    || pCfg->pipelineEnabled) ){
    /* Compaction and the archivers work on single rows (ext/produce.c) */
    rc = sqlite3StreamUnbatchTopic(p, zName, pzErr);
  }
  if( rc==SQLITE_OK ){
    *pzOut = sqlite3StreamConfigRender(pCfg, zNew);
    if( *pzOut==0 ) rc = SQLITE_NOMEM;
  }
  sqlite3_free(zOld);
  sqlite3_free(zNew);
  return rc;
}

int sqlite3StreamTopicAddPartitions(StreamCtx *p, const char *zName,
                                    i64 nTotal, char **pzErr){
  StreamTopic t;
  int rc = sqlite3StreamTopicGet(p, zName, &t, pzErr);
  if( rc ) return rc;
  if( nTotal<=t.nPartition ){
    return sqlite3StreamErr(pzErr, SQLITE_RANGE,
        "topic %s has %d partitions; the new total must be greater, got %lld",
        zName, t.nPartition, nTotal);
  }
  if( nTotal>STREAM_MAX_PARTITIONS ){
    return sqlite3StreamErr(pzErr, SQLITE_RANGE,
        "partitions must be between 1 and %d, got %lld",
        STREAM_MAX_PARTITIONS, nTotal);
  }
  sqlite3StreamCacheClear(p);
  rc = sqlite3StreamCatTopicGrow(p, zName, nTotal, pzErr);
  if( rc ) return rc;
  return streamAddPartitionRows(p, zName, t.nPartition, nTotal, pzErr);
}

void sqlite3StreamReadingAdd(StreamCtx *p, StreamReading *pR){
  pR->pNext = p->pReading;
  p->pReading = pR;
}

void sqlite3StreamReadingRemove(StreamCtx *p, StreamReading *pR){
  StreamReading **pp;
  for(pp=&p->pReading; *pp; pp=&(*pp)->pNext){
    if( *pp==pR ){
      *pp = pR->pNext;
      break;
    }
  }
  pR->pNext = 0;
}

/* Not while a statement of this connection is still reading the topic
** (a stream_messages scan of it or of a range of topics, a stream_history
** of it, a stream_poll with rows left): as SQLite refuses DROP TABLE then
** (SQLITE_LOCKED), since the scan would go on with some of the topic's
** rows and not others (or with a new topic's of the same name). */
int sqlite3StreamTopicDelete(StreamCtx *p, const char *zName, char **pzErr){
  StreamTopic t;
  StreamReading *pR;
  char *zCdc;
  int rc;
  for(pR=p->pReading; pR; pR=pR->pNext){
    if( (pR->zTopic==0 || strcmp(pR->zTopic, zName)==0) && pR->xActive(pR) ){
      return sqlite3StreamErr(pzErr, SQLITE_LOCKED,
          "cannot delete topic %s: a statement of this connection is still"
          " reading it (step it to the end, reset or finalize it first)",
          zName);
    }
  }
  rc = sqlite3StreamTopicGet(p, zName, &t, pzErr);
  if( rc ) return rc;
  zCdc = sqlite3StreamCdcTopic(p, &rc);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  if( zCdc && strcmp(zCdc, zName)==0 ){
    sqlite3_free(zCdc);
    return sqlite3StreamErr(pzErr, SQLITE_CONSTRAINT,
        "topic %s is the CDC topic; unset it first with "
        "stream_config('cdc.topic', NULL)", zName);
  }
  sqlite3_free(zCdc);
  sqlite3StreamCacheClear(p);
  return sqlite3StreamAuxTopicDelete(p, zName, pzErr);
}
