/*
** produce.c - the append path: validation, partitioning, compression,
** offset assignment and the batch form.
**
** Offsets: the next offset of a partition is its high watermark, read in
** the caller's transaction (STREAM_STMT_HWM) just before the insert; the
** (topic, partition, offset) primary key makes reuse impossible even if two
** connections raced (the second fails with SQLITE_BUSY or a constraint
** error, never with a duplicate).  Nothing is cached across calls, so a
** ROLLBACK, a ROLLBACK TO or another connection's commit can never leave a
** stale offset behind.
**
** Partitioning: an explicit partition is checked; a non-NULL key goes to
** Kafka's murmur2 partition; a NULL key uses sticky partitioning (Kafka >=
** 2.4): a connection keeps sending a topic's NULL-keyed messages to one
** partition until STREAM_STICKY_BYTES have gone there, then moves to the
** next one, so NULL-keyed messages spread evenly in batches.
*/
#include "streamInt.h"
#include "tier.h"
#include "maintain.h"
#include <string.h>

/* Bytes sent to a sticky partition before moving on (Kafka's batch.size).*/
#define STREAM_STICKY_BYTES 16384

/* Values shorter than this are never compressed. */
#define STREAM_COMPRESS_MIN 128

struct StreamSticky {
  char *zTopic;                /* Topic name */
  int iPartition;              /* Current sticky partition */
  i64 nBytes;                  /* Bytes sent to it so far */
  StreamSticky *pNext;         /* Next topic */
};

void sqlite3StreamStickyFree(StreamCtx *p){
  while( p->pSticky ){
    StreamSticky *pNext = p->pSticky->pNext;
    sqlite3_free(p->pSticky);
    p->pSticky = pNext;
  }
}

/* Partition for a NULL-keyed message of nBytes on a topic of nPart
** partitions; -1 on OOM. */
static int streamStickyPartition(StreamCtx *p, const char *zTopic, int nPart,
                                 i64 nBytes){
  StreamSticky *pS;
  for(pS=p->pSticky; pS; pS=pS->pNext){
    if( strcmp(pS->zTopic, zTopic)==0 ) break;
  }
  if( pS==0 ){
    size_t n = strlen(zTopic);
    unsigned int r = 0;
    pS = sqlite3_malloc64(sizeof(*pS) + n + 1);
    if( pS==0 ) return -1;
    pS->zTopic = (char*)&pS[1];
    memcpy(pS->zTopic, zTopic, n+1);
    sqlite3_randomness(sizeof(r), &r);
    pS->iPartition = (int)(r % (unsigned)nPart);
    pS->nBytes = 0;
    pS->pNext = p->pSticky;
    p->pSticky = pS;
  }
  if( pS->iPartition>=nPart || pS->nBytes>=STREAM_STICKY_BYTES ){
    pS->iPartition = (pS->iPartition+1) % nPart;
    pS->nBytes = 0;
  }
  pS->nBytes += nBytes;
  return pS->iPartition;
}

int sqlite3StreamMsgField(StreamMsg *pMsg, int bValue, sqlite3_value *pVal,
                          const char *zWhat, char **pzErr){
  const void *pData = 0;
  int n = 0, eType;
  switch( sqlite3_value_type(pVal) ){
    case SQLITE_NULL:
      eType = STREAM_TYPE_NULL;
      break;
    case SQLITE_TEXT:
      pData = sqlite3_value_text(pVal);
      n = sqlite3_value_bytes(pVal);
      eType = STREAM_TYPE_TEXT;
      if( pData==0 ) return SQLITE_NOMEM;
      break;
    case SQLITE_BLOB:
      pData = sqlite3_value_blob(pVal);
      n = sqlite3_value_bytes(pVal);
      eType = STREAM_TYPE_BLOB;
      if( pData==0 ) pData = "";
      break;
    default:
      return sqlite3StreamErr(pzErr, SQLITE_MISMATCH,
          "%s must be TEXT, BLOB or NULL, got %s", zWhat,
          sqlite3_value_type(pVal)==SQLITE_INTEGER ? "an integer" : "a real");
  }
  if( bValue ){
    pMsg->pValue = pData; pMsg->nValue = n; pMsg->eValue = eType;
  }else{
    pMsg->pKey = pData; pMsg->nKey = n; pMsg->eKey = eType;
  }
  return SQLITE_OK;
}

int sqlite3StreamMsgCheck(StreamCtx *p, const char *zTopic,
                          const StreamTopic *pT, StreamMsg *pMsg,
                          char **pzErr){
  i64 nBytes = (i64)pMsg->nKey + pMsg->nValue + pMsg->nHeaders;
  int rc;
  if( pMsg->eKey==STREAM_TYPE_NULL && (pT->eCleanup & STREAM_CLEANUP_COMPACT) ){
    return sqlite3StreamErr(pzErr, SQLITE_CONSTRAINT,
        "topic %s is compacted: messages must have a key", zTopic);
  }
  if( pMsg->eValue==STREAM_TYPE_TEXT
   && sqlite3StreamJsonCheck(pMsg->pValue, pMsg->nValue)==STREAM_JSON_INVALID ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "value is not valid JSON (use a BLOB for raw bytes)");
  }
  if( pMsg->zHeaders
   && sqlite3StreamJsonCheck(pMsg->zHeaders, pMsg->nHeaders)
        !=STREAM_JSON_OBJECT ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
                            "headers must be a JSON object");
  }
  if( nBytes>pT->maxMessageBytes ){
    return sqlite3StreamErr(pzErr, SQLITE_TOOBIG,
        "message of %lld bytes exceeds max.message.bytes (%lld) of topic %s",
        nBytes, pT->maxMessageBytes, zTopic);
  }
  if( pMsg->iTimestamp<-1 ){
    return sqlite3StreamErr(pzErr, SQLITE_RANGE,
        "timestamp must be >= 0 (ms since the epoch), got %lld",
        pMsg->iTimestamp);
  }
  if( pMsg->iPartition>=0 ){
    rc = sqlite3StreamPartitionCheck(zTopic, pT, pMsg->iPartition, pzErr);
    if( rc ) return rc;
  }else if( pMsg->iPartition!=-1 ){
    return sqlite3StreamPartitionCheck(zTopic, pT, pMsg->iPartition, pzErr);
  }else if( pMsg->eKey!=STREAM_TYPE_NULL ){
    pMsg->iPartition = sqlite3StreamPartitionForKey(pMsg->pKey, pMsg->nKey,
                                                    pT->nPartition);
  }else{
    int iPart = streamStickyPartition(p, zTopic, pT->nPartition, nBytes);
    if( iPart<0 ) return SQLITE_NOMEM;
    pMsg->iPartition = iPart;
  }
  return SQLITE_OK;
}

/* Insert one message row; no CDC. */
static int streamInsert(StreamCtx *p, const char *zTopic,
                        const StreamTopic *pT, const StreamMsg *pMsg,
                        i64 *piOffset, char **pzErr){
  sqlite3_stmt *pIns;
  void *pComp = 0;
  size_t nComp = 0;
  int attrs = 0;
  i64 iOffset, iTs;
  int rc;

  rc = sqlite3StreamHighWatermark(p, zTopic, (int)pMsg->iPartition,
                                  &iOffset, pzErr);
  if( rc ) return rc;
  pIns = sqlite3StreamStmt(p, STREAM_STMT_MSG_INSERT, pzErr);
  if( pIns==0 ) return SQLITE_ERROR;

  iTs = pMsg->iTimestamp;
  if( iTs<0 || pT->eTimestampType==STREAM_TS_LOG_APPEND_TIME ){
    iTs = sqlite3StreamNow(p);
  }
  sqlite3_bind_text(pIns, 1, zTopic, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pIns, 2, pMsg->iPartition);
  sqlite3_bind_int64(pIns, 3, iOffset);
  if( pMsg->eKey==STREAM_TYPE_TEXT ){
    sqlite3_bind_text(pIns, 4, pMsg->pKey, pMsg->nKey, SQLITE_STATIC);
  }else if( pMsg->eKey==STREAM_TYPE_BLOB ){
    sqlite3_bind_blob(pIns, 4, pMsg->pKey, pMsg->nKey, SQLITE_STATIC);
  }else{
    sqlite3_bind_null(pIns, 4);
  }
  if( pT->eCompression!=STREAM_CODEC_NONE
   && pMsg->eValue!=STREAM_TYPE_NULL && pMsg->nValue>=STREAM_COMPRESS_MIN ){
    rc = sqlite3StreamCompress(pT->eCompression, pMsg->pValue,
                               (size_t)pMsg->nValue, &pComp, &nComp);
    if( rc ){
      sqlite3_reset(pIns);
      return sqlite3StreamErr(pzErr, rc, "cannot compress value");
    }
    if( nComp>=(size_t)pMsg->nValue ){
      sqlite3_free(pComp);
      pComp = 0;
    }
  }
  if( pComp ){
    attrs = pT->eCompression
          | (pMsg->eValue==STREAM_TYPE_BLOB ? STREAM_ATTR_BLOB : 0);
    sqlite3_bind_blob(pIns, 5, pComp, (int)nComp, sqlite3_free);
  }else if( pMsg->eValue==STREAM_TYPE_TEXT ){
    sqlite3_bind_text(pIns, 5, pMsg->pValue, pMsg->nValue, SQLITE_STATIC);
  }else if( pMsg->eValue==STREAM_TYPE_BLOB ){
    sqlite3_bind_blob(pIns, 5, pMsg->pValue, pMsg->nValue, SQLITE_STATIC);
  }else{
    sqlite3_bind_null(pIns, 5);
  }
  if( pMsg->zHeaders ){
    sqlite3_bind_text(pIns, 6, pMsg->zHeaders, pMsg->nHeaders, SQLITE_STATIC);
  }else{
    sqlite3_bind_null(pIns, 6);
  }
  sqlite3_bind_int64(pIns, 7, iTs);
  sqlite3_bind_int(pIns, 8, attrs);
  sqlite3_step(pIns);
  rc = sqlite3_reset(pIns);
  sqlite3_bind_null(pIns, 5);   /* release the compressed buffer now */
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  sqlite3StreamCacheSetNext(p, zTopic, (int)pMsg->iPartition, iOffset+1);
  *piOffset = iOffset;
  return SQLITE_OK;
}

int sqlite3StreamAppend(StreamCtx *p, const char *zTopic,
                        const StreamTopic *pT, const StreamMsg *pMsg,
                        i64 *piOffset, char **pzErr){
  int rc;
  char *zCdc;

  rc = sqlite3StreamCdcPrepare(p, zTopic, &zCdc, pzErr);
  if( rc ) return rc;
  rc = streamInsert(p, zTopic, pT, pMsg, piOffset, pzErr);
  if( rc==SQLITE_OK ){   /* amortised retention/compaction: ext/maintain.c */
    rc = sqlite3StreamMaintainHook(p, zTopic, pMsg->iPartition, *piOffset,
                                   pzErr);
  }
  if( rc==SQLITE_OK ){
    sqlite3StreamTierAfterAppend(p, zTopic, (int)pMsg->iPartition, *piOffset);
  }
  if( rc==SQLITE_OK && (zCdc || p->xCdc) ){
    char zTime[32];
    sqlite3_str *pStr = sqlite3_str_new(p->db);
    char *zEvent;
    i64 iTs = pMsg->iTimestamp;
    if( iTs<0 || pT->eTimestampType==STREAM_TS_LOG_APPEND_TIME ){
      iTs = sqlite3StreamNow(p);
    }
    sqlite3StreamIsoTime(iTs, zTime);
    sqlite3_str_appendall(pStr, "{\"type\":\"stream.produce\",\"topic\":");
    sqlite3StreamJsonQuote(pStr, zTopic, (int)strlen(zTopic));
    sqlite3_str_appendf(pStr, ",\"partition\":%lld,\"offset\":%lld,\"key\":",
                        pMsg->iPartition, *piOffset);
    if( pMsg->eKey==STREAM_TYPE_TEXT ){
      sqlite3StreamJsonQuote(pStr, pMsg->pKey, pMsg->nKey);
    }else if( pMsg->eKey==STREAM_TYPE_BLOB ){
      /* Binary keys are shown in hex: JSON has no byte strings. */
      int i;
      sqlite3_str_appendchar(pStr, 1, '"');
      for(i=0; i<pMsg->nKey; i++){
        sqlite3_str_appendf(pStr, "%02x", ((const u8*)pMsg->pKey)[i]);
      }
      sqlite3_str_appendchar(pStr, 1, '"');
    }else{
      sqlite3_str_appendall(pStr, "null");
    }
    sqlite3_str_appendf(pStr, ",\"timestamp\":\"%s\"}", zTime);
    zEvent = sqlite3_str_finish(pStr);
    if( zEvent==0 ){
      rc = SQLITE_NOMEM;
    }else{
      rc = sqlite3StreamCdcEmit(p, zCdc, zTopic, zEvent, pzErr);
    }
    sqlite3_free(zEvent);
  }
  sqlite3_free(zCdc);
  return rc;
}

int sqlite3StreamProduce(StreamCtx *p, const char *zTopic, StreamMsg *pMsg,
                         i64 *piPartition, i64 *piOffset, char **pzErr){
  StreamTopic t;
  int rc = sqlite3StreamTopicGet(p, zTopic, &t, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamMsgCheck(p, zTopic, &t, pMsg, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamAppend(p, zTopic, &t, pMsg,
                                               piOffset, pzErr);
  if( rc==SQLITE_OK && piPartition ) *piPartition = pMsg->iPartition;
  return rc;
}

/*
** Batch: the JSON array is taken apart with SQLite's own JSON functions,
** which keep number literals exactly as written.  Every element is
** validated and its partition resolved before anything is written, so a
** bad element changes nothing.
*/
static const char zBatchSql[] =
  "SELECT e.type,"                                        /* 0 */
  " json_type(e.value,'$.key'), e.value->>'$.key',"       /* 1, 2 */
  " json_type(e.value,'$.value'), e.value->'$.value',"    /* 3, 4 */
  " json_type(e.value,'$.headers'), e.value->'$.headers',"/* 5, 6 */
  " json_type(e.value,'$.partition'), e.value->>'$.partition'," /* 7, 8 */
  " json_type(e.value,'$.timestamp'), e.value->>'$.timestamp'," /* 9, 10 */
  " (SELECT group_concat(k.key, ', ') FROM json_each(e.value) k"
  "   WHERE e.type='object' AND k.key NOT IN"
  "   ('key','value','headers','partition','timestamp'))"  /* 11 */
  " FROM json_each(?1) e";

typedef struct StreamBatchMsg StreamBatchMsg;
struct StreamBatchMsg {
  StreamMsg m;                 /* The message; bytes point into zBuf */
  char *zBuf;                  /* Owned copies of key, value, headers */
};

int sqlite3StreamProduceBatch(StreamCtx *p, const char *zTopic,
                              const char *zJson, i64 *pnProduced,
                              char **pzErr){
  StreamTopic t;
  sqlite3_stmt *pStmt = 0;
  StreamBatchMsg *aMsg = 0;
  int nMsg = 0, nAlloc = 0;
  int rc, i;

  *pnProduced = 0;
  rc = sqlite3StreamTopicGet(p, zTopic, &t, pzErr);
  if( rc ) return rc;
  if( sqlite3StreamJsonCheck(zJson, strlen(zJson))!=STREAM_JSON_ARRAY ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "batch must be a JSON array of {key, value, headers, partition,"
        " timestamp} objects");
  }
  rc = sqlite3_prepare_v2(p->db, zBatchSql, -1, &pStmt, 0);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  sqlite3_bind_text(pStmt, 1, zJson, -1, SQLITE_STATIC);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    StreamBatchMsg *pB;
    const char *zType = (const char*)sqlite3_column_text(pStmt, 0);
    const char *zKT = (const char*)sqlite3_column_text(pStmt, 1);
    const char *zVT = (const char*)sqlite3_column_text(pStmt, 3);
    const char *zHT = (const char*)sqlite3_column_text(pStmt, 5);
    const char *zPT = (const char*)sqlite3_column_text(pStmt, 7);
    const char *zTT = (const char*)sqlite3_column_text(pStmt, 9);
    int nK, nV, nH;
    if( nMsg==nAlloc ){
      int nNew = nAlloc ? nAlloc*2 : 64;
      StreamBatchMsg *aNew = sqlite3_realloc64(aMsg, sizeof(*aNew)*nNew);
      if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
      aMsg = aNew;
      nAlloc = nNew;
    }
    pB = &aMsg[nMsg];
    memset(pB, 0, sizeof(*pB));
    if( zType==0 || strcmp(zType, "object")!=0 ){
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
                            "batch element %d is not a JSON object", nMsg);
      break;
    }
    if( sqlite3_column_type(pStmt, 11)!=SQLITE_NULL ){
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
          "batch element %d has unknown field(s): %s"
          " (allowed: key, value, headers, partition, timestamp)",
          nMsg, sqlite3_column_text(pStmt, 11));
      break;
    }
    if( zVT==0 ){
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
          "batch element %d has no value (use null for a tombstone)", nMsg);
      break;
    }
    if( zKT && strcmp(zKT, "null")!=0 && strcmp(zKT, "text")!=0 ){
      rc = sqlite3StreamErr(pzErr, SQLITE_MISMATCH,
          "batch element %d: key must be a string or null, got %s", nMsg, zKT);
      break;
    }
    if( zHT && strcmp(zHT, "null")!=0 && strcmp(zHT, "object")!=0 ){
      rc = sqlite3StreamErr(pzErr, SQLITE_MISMATCH,
          "batch element %d: headers must be an object or null", nMsg);
      break;
    }
    if( zPT && strcmp(zPT, "null")!=0 && strcmp(zPT, "integer")!=0 ){
      rc = sqlite3StreamErr(pzErr, SQLITE_MISMATCH,
          "batch element %d: partition must be an integer", nMsg);
      break;
    }
    if( zTT && strcmp(zTT, "null")!=0 && strcmp(zTT, "integer")!=0 ){
      rc = sqlite3StreamErr(pzErr, SQLITE_MISMATCH,
          "batch element %d: timestamp must be an integer (ms)", nMsg);
      break;
    }
    nK = (zKT && strcmp(zKT, "text")==0) ? sqlite3_column_bytes(pStmt, 2) : -1;
    nV = strcmp(zVT, "null")!=0 ? sqlite3_column_bytes(pStmt, 4) : -1;
    nH = (zHT && strcmp(zHT, "object")==0) ? sqlite3_column_bytes(pStmt, 6):-1;
    pB->zBuf = sqlite3_malloc64((nK<0?0:nK) + (nV<0?0:nV) + (nH<0?0:nH) + 3);
    if( pB->zBuf==0 ){ rc = SQLITE_NOMEM; break; }
    nMsg++;
    {
      char *z = pB->zBuf;
      if( nK>=0 ){
        memcpy(z, sqlite3_column_text(pStmt, 2), nK); z[nK] = 0;
        pB->m.pKey = z; pB->m.nKey = nK; pB->m.eKey = STREAM_TYPE_TEXT;
        z += nK+1;
      }
      if( nV>=0 ){
        memcpy(z, sqlite3_column_text(pStmt, 4), nV); z[nV] = 0;
        pB->m.pValue = z; pB->m.nValue = nV; pB->m.eValue = STREAM_TYPE_TEXT;
        z += nV+1;
      }
      if( nH>=0 ){
        memcpy(z, sqlite3_column_text(pStmt, 6), nH); z[nH] = 0;
        pB->m.zHeaders = z; pB->m.nHeaders = nH;
      }
    }
    pB->m.iPartition = (zPT && strcmp(zPT, "integer")==0)
                     ? sqlite3_column_int64(pStmt, 8) : -1;
    if( pB->m.iPartition<0 && zPT && strcmp(zPT, "integer")==0 ){
      pB->m.iPartition = -2;   /* explicit negative: rejected by the check */
    }
    pB->m.iTimestamp = (zTT && strcmp(zTT, "integer")==0)
                     ? sqlite3_column_int64(pStmt, 10) : -1;
    if( pB->m.iTimestamp<0 && zTT && strcmp(zTT, "integer")==0 ){
      pB->m.iTimestamp = -2;
    }
    rc = sqlite3StreamMsgCheck(p, zTopic, &t, &pB->m, pzErr);
    if( rc ){
      char *zPrev = *pzErr;
      *pzErr = sqlite3_mprintf(STREAM_ERR "batch element %d: %s", nMsg-1,
          zPrev ? zPrev+sizeof(STREAM_ERR)-1 : "invalid");
      sqlite3_free(zPrev);
    }
  }
  if( rc==SQLITE_OK ){
    int rc2 = sqlite3_finalize(pStmt);
    pStmt = 0;
    if( rc2 ) rc = sqlite3StreamDbErr(p->db, pzErr, rc2);
  }
  for(i=0; rc==SQLITE_OK && i<nMsg; i++){
    i64 iOff;
    rc = sqlite3StreamAppend(p, zTopic, &t, &aMsg[i].m, &iOff, pzErr);
  }
  if( rc==SQLITE_OK ) *pnProduced = nMsg;
  sqlite3_finalize(pStmt);
  for(i=0; i<nMsg; i++) sqlite3_free(aMsg[i].zBuf);
  sqlite3_free(aMsg);
  return rc;
}
