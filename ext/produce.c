/*
** produce.c - the append path: validation, partitioning, compression,
** offset assignment and the batch form.
**
** Offsets: the next offset of a partition is its high watermark, read in
** the caller's transaction (with the partition's id: STREAM_HOT_HWM,
** ext/storage.c, which owns every statement this file runs) just before
** the insert, or taken from the transaction's cache (ext/txn.c);
** the row's key (partition id << 40) | offset makes reuse impossible even
** if two connections raced (the second fails with SQLITE_BUSY or a
** constraint error, never with a duplicate).  Nothing is cached across
** transactions, so a ROLLBACK, a ROLLBACK TO or another connection's
** commit can never leave a stale offset behind.  Every 64th offset adds a
** time index entry (sql/schema.sql, _stream_timeindex).
**
** Partitioning: an explicit partition is checked; a non-NULL key goes to
** Kafka's murmur2 partition; a NULL key uses sticky partitioning (Kafka >=
** 2.4): a connection keeps sending a topic's NULL-keyed messages to one
** partition until STREAM_STICKY_BYTES have gone there, then moves to the
** next one, so NULL-keyed messages spread evenly in batches.
*/
#include "streamInt.h"
#include <string.h>
#include <time.h>

/* Bytes sent to a sticky partition before moving on (Kafka's batch.size).*/
#define STREAM_STICKY_BYTES 16384

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

/* Is main's text encoding UTF-8?  Asked once per transaction the
** extension knows (p->bTxn; the answer goes with the transaction cache,
** ext/txn.c, whose checks also notice a database replaced under the
** connection); 0 outside one, or if it cannot be read. */
static int streamTextUtf8(StreamCtx *p){
  if( p==0 || !p->bTxn ) return 0;
  if( p->eTextEnc==0 ){
    sqlite3_stmt *pStmt = 0;
    int eEnc = 0;
    if( sqlite3_prepare_v2(p->db, "PRAGMA main.encoding", -1, &pStmt, 0)
          ==SQLITE_OK
     && sqlite3_step(pStmt)==SQLITE_ROW ){
      const char *z = (const char*)sqlite3_column_text(pStmt, 0);
      if( z ) eEnc = sqlite3_stricmp(z, "UTF-8")==0 ? 1 : 2;
    }
    sqlite3_finalize(pStmt);
    p->eTextEnc = eEnc;
  }
  return p->eTextEnc==1;
}

int sqlite3StreamMsgField(StreamMsg *pMsg, int bValue, sqlite3_value *pVal,
                          const char *zWhat, char **pzErr){
  return sqlite3StreamMsgFieldCtx(0, pMsg, bValue, pVal, zWhat, pzErr);
}

int sqlite3StreamMsgFieldCtx(StreamCtx *p, StreamMsg *pMsg, int bValue,
                             sqlite3_value *pVal, const char *zWhat,
                             char **pzErr){
  const void *pData = 0;
  int n = 0, eType;
  switch( sqlite3_value_type(pVal) ){
    case SQLITE_NULL:
      eType = STREAM_TYPE_NULL;
      break;
    case SQLITE_TEXT:
      /* The bytes as stored when they are UTF-8 (every user of pMsg
      ** takes the length, none needs the terminator); else converted. */
      if( streamTextUtf8(p) ){
        pData = sqlite3_value_blob(pVal);
        n = sqlite3_value_bytes(pVal);
        if( pData==0 && n==0 ) pData = "";
      }else{
        pData = sqlite3_value_text(pVal);
        n = sqlite3_value_bytes(pVal);
      }
      eType = STREAM_TYPE_TEXT;
      if( pData==0 ) return SQLITE_NOMEM;
      if( !bValue && !sqlite3StreamUtf8Check(pData, (size_t)n) ){
        /* The key is quoted into JSON (CDC events): bytes go in a BLOB. */
        return sqlite3StreamErr(pzErr, SQLITE_MISMATCH,
            "%s is TEXT but not valid UTF-8 (use a BLOB for raw bytes)", zWhat);
      }
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
    if( sqlite3StreamJsonTooDeep(pMsg->pValue, pMsg->nValue) ){
      return sqlite3StreamErr(pzErr, SQLITE_ERROR, "value is not valid JSON:"
          " arrays and objects nest deeper than " STREAM_JSON_MAX_DEPTH_TEXT
          " levels (use a BLOB for raw bytes)");
    }
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "value is not valid JSON (use a BLOB for raw bytes)");
  }
  if( pMsg->zHeaders
   && sqlite3StreamJsonCheck(pMsg->zHeaders, pMsg->nHeaders)
        !=STREAM_JSON_OBJECT ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "headers must be a JSON object%s",
        sqlite3StreamJsonTooDeep(pMsg->zHeaders, pMsg->nHeaders)
        ? " (its arrays and objects nest deeper than "
          STREAM_JSON_MAX_DEPTH_TEXT " levels)" : "");
  }
  if( nBytes>pT->maxMessageBytes ){
    return sqlite3StreamErr(pzErr, SQLITE_TOOBIG,
        "message of %lld bytes exceeds max.message.bytes (%lld) of topic %s",
        nBytes, pT->maxMessageBytes, zTopic);
  }
  if( pMsg->iTimestamp!=STREAM_UNSET
   && (pMsg->iTimestamp<0 || pMsg->iTimestamp>STREAM_MAX_TIMESTAMP) ){
    return sqlite3StreamErr(pzErr, SQLITE_RANGE,
        "timestamp must be between 0 and %lld (ms since the epoch, up to"
        " 9999-12-31), got %lld", STREAM_MAX_TIMESTAMP, pMsg->iTimestamp);
  }
  if( pMsg->iPartition!=STREAM_UNSET ){
    rc = sqlite3StreamPartitionCheck(zTopic, pT, pMsg->iPartition, pzErr);
    if( rc ) return rc;
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

/* Keep the time index (sql/schema.sql, _stream_timeindex) after the
** message at iOffset of timestamp iTs was stored: at every 64th offset, an
** entry holding the largest timestamp of the partition's messages up to
** it.  Within a transaction the running maximum is kept in the
** transaction cache (ext/txn.c) once known; else it is computed from the
** newest entry and the messages after it.  Plain statements: no
** statement journal, no temporary table. */
static i64 streamPendingTsMax(StreamCtx*, i64 iPid);
static int streamTimeIndex(StreamCtx *p, const char *zTopic, int iPart,
                           i64 iPid, i64 iOffset, i64 iTs, char **pzErr){
  i64 iMax = sqlite3StreamCacheTsMax(p, zTopic, iPart);
  i64 iFrom = 0, iBase = iPid<<STREAM_LOG_SHIFT;
  int rc;
  if( iMax>=0 && iTs>iMax ) iMax = iTs;
  if( (iOffset+1) % STREAM_TIX_EVERY ){
    if( iMax>=0 ) sqlite3StreamCacheSetTsMax(p, zTopic, iPart, iMax);
    return SQLITE_OK;
  }
  if( iMax<0 ){
    i64 iTs2 = 0;
    int bFound = 0;
    iMax = 0;
    rc = sqlite3StreamHotTixLast(p, iPid, &iMax, &iFrom, &bFound, pzErr);
    if( rc ) return rc;
    if( bFound ) iFrom++;
    if( iFrom<0 || iFrom>iOffset ) iFrom = 0;     /* a damaged entry */
    rc = sqlite3StreamHotTixMax(p, iBase + iFrom, iBase + iOffset, &iTs2,
                                &bFound, pzErr);
    if( rc ) return rc;
    if( bFound && iTs2>iMax ) iMax = iTs2;
    /* The partition's pending batch, not in the log yet (it holds this
    ** message if the message was batched). */
    iTs2 = streamPendingTsMax(p, iPid);
    if( iTs2>iMax ) iMax = iTs2;
    if( iTs>iMax ) iMax = iTs;
  }
  rc = sqlite3StreamHotTixPut(p, iPid, iMax, iOffset, pzErr);
  if( rc==SQLITE_OK ) sqlite3StreamCacheSetTsMax(p, zTopic, iPart, iMax);
  return rc;
}

/*
** Record batches (storage format 4, ext/record.c).  Inside a transaction
** the extension knows about (p->bTxn, ext/txn.c), a message of a topic
** that is not compacted and has neither cold.enabled nor
** pipeline.enabled (those paths remove or read single rows; the warm
** move rewrites the batches it takes, sqlite3StreamUnbatchRange()) gets its
** offset as any other, but its record is appended to its partition's
** pending batch (p->pPending) instead of being inserted.  A batch is
** written as one row when it holds STREAM_BATCH_MAX records or another
** would take its value beyond sqlite3StreamBatchBytes() (the row stays in
** one page, or fills a few for large records), and always before anything of this
** connection reads _stream_log or _stream_timeindex: the statement cache
** flushes before handing out any statement that may read them
** (ext/schema.c), the scan before it runs its hot statement, the
** enlisted virtual tables at xSync (the commit) and xSavepoint (so that a
** ROLLBACK TO drops exactly the pending records, all produced after the
** savepoint); xRollback and xRollbackTo drop them (ext/txn.c).  A batch
** of one record is written as a plain row.
**
** The one exception: the amortised maintenance of the append path
** (ext/maintain.c), which runs every STREAM_MAINTAIN_EVERY offsets of a
** partition, holds them (sqlite3StreamPendingHold()): writing them there
** would cut every partition's batch short at each look.  It neither needs
** nor sees them: the pending records of a partition are all at or above
** its high watermark as written (their first offset was read from it, and
** nothing writes a partition's rows while its batch is pending), so
** retention, which removes a prefix, and compaction, whose topics are
** never batched, see a consistent log that merely ends earlier, as if the
** look had come a few messages sooner.  Its savepoint is opened and
** released without writing them, and a ROLLBACK TO of it (its failure, or
** a statement's inside it) keeps them: they were produced before it.
*/
struct StreamPending {
  i64 iPid;                    /* Partition id */
  i64 iBase;                   /* First offset */
  i64 iNext;                   /* Offset after the last record */
  int nRec;                    /* Records */
  i64 iTsMax;                  /* Largest timestamp */
  i64 iTsMin;                  /* Smallest timestamp */
  i64 nBytes;                  /* Stored key + value + headers bytes */
  StreamPending *pNext;        /* Next partition's batch */
  int n;                       /* Bytes of a[] used */
  int nAlloc;                  /* Size of a[]: at most
                               ** sqlite3StreamBatchBytes(), grown as the
                               ** batch fills (64 KiB pages would take
                               ** 64 KiB a partition at once) */
  u8 a[1];                     /* The records (ext/record.c), allocated
                               ** with the batch; a record that finds no
                               ** room and no memory to grow it writes the
                               ** batch out first */
};

/* The first size of a batch's buffer. */
#define STREAM_PENDING_FIRST 4096

void sqlite3StreamPendingDrop(StreamCtx *p){
  while( p->pPending ){
    StreamPending *pNext = p->pPending->pNext;
    sqlite3_free(p->pPending);
    p->pPending = pNext;
  }
  sqlite3_free(p->pPendingSpare);
  p->pPendingSpare = 0;
}

/* A batch written out: its buffer, if of the first size, is kept for the
** next batch to start (a transaction of one message starts and writes one
** each time: an allocation and a free of 4 KiB a message less). */
static void streamPendingRecycle(StreamCtx *p, StreamPending *pP){
  if( p->pPendingSpare==0 && pP->nAlloc<=STREAM_PENDING_FIRST ){
    p->pPendingSpare = pP;
  }else{
    sqlite3_free(pP);
  }
}

void sqlite3StreamPendingHold(StreamCtx *p, int bHold){
  /* bFlushing makes every writer of the batches a no-op (the statement
  ** cache's, the scan's, xSync's and xSavepoint's); nPendingHold keeps
  ** them through xRollbackTo (ext/txn.c). */
  int d = bHold ? 1 : -1;
  p->bFlushing += d;
  p->nPendingHold += d;
}

/* The largest timestamp of partition iPid's pending batch (-1: none). */
static i64 streamPendingTsMax(StreamCtx *p, i64 iPid){
  StreamPending *pP;
  for(pP=p->pPending; pP; pP=pP->pNext){
    if( pP->iPid==iPid ) return pP->iTsMax;
  }
  return -1;
}

/* Record r, decoded from a batch, as the row of id iId. */
static void streamRecRow(StreamHotRow *pRow, i64 iId, const StreamBatchRec *r){
  pRow->iId = iId;
  pRow->eKey = r->eKey; pRow->pKey = r->pKey; pRow->nKey = r->nKey;
  pRow->eValue = r->eValue; pRow->pValue = r->pValue;
  pRow->nValue = r->nValue;
  pRow->eHeaders = r->eHeaders; pRow->pHeaders = r->pHeaders;
  pRow->nHeaders = r->nHeaders;
  pRow->iTimestamp = r->iTimestamp;
  pRow->attrs = r->attrs;
}

/* Write one pending batch as a row. */
static int streamPendingWrite(StreamCtx *p, StreamPending *pP, char **pzErr){
  StreamHotRow row;
  i64 iId = (pP->iPid<<STREAM_LOG_SHIFT) | pP->iBase;
  memset(&row, 0, sizeof(row));
  if( pP->nRec==1 ){
    StreamBatchRec r;
    int iPos = 0;
    if( sqlite3StreamBatchNext(pP->a, pP->n, &iPos, pP->iBase, &r)
          !=SQLITE_ROW ){
      return SQLITE_CORRUPT;             /* cannot happen: we wrote it */
    }
    streamRecRow(&row, iId, &r);
  }else{
    row.iId = iId;
    row.eKey = SQLITE_INTEGER;
    row.iKey = (pP->nBytes<<8) | (pP->iNext-1-pP->iBase);
    row.eValue = SQLITE_BLOB;
    row.pValue = pP->a;
    row.nValue = pP->n;
    row.eHeaders = SQLITE_NULL;
    row.iTimestamp = pP->iTsMax;
    row.attrs = STREAM_ATTR_BATCH;
  }
  return sqlite3StreamHotAppend(p, &row, pzErr);
}

/* Write out pending batch *ppP and unlink it. */
static int streamPendingFlushOne(StreamCtx *p, StreamPending **ppP,
                                 char **pzErr){
  StreamPending *pP = *ppP;
  int rc;
  p->bFlushing++;
  rc = streamPendingWrite(p, pP, pzErr);
  p->bFlushing--;
  if( rc==SQLITE_OK ){
    *ppP = pP->pNext;
    streamPendingRecycle(p, pP);
  }
  return rc;
}

/* Write out the pending batches: every one (iPid<0) or partition iPid's. */
static int streamPendingFlushPid(StreamCtx *p, i64 iPid, char **pzErr){
  int rc = SQLITE_OK;
  StreamPending **ppP = &p->pPending;
  i64 iRowid;
  if( p->bFlushing || p->pPending==0 ) return SQLITE_OK;
  /* The rows are the extension's own: the caller's last_insert_rowid()
  ** stays as its statements left it. */
  iRowid = sqlite3_last_insert_rowid(p->db);
  while( rc==SQLITE_OK && *ppP ){
    if( iPid>=0 && (*ppP)->iPid!=iPid ){
      ppP = &(*ppP)->pNext;
    }else{
      rc = streamPendingFlushOne(p, ppP, pzErr);
    }
  }
  sqlite3_set_last_insert_rowid(p->db, iRowid);
  return rc;
}

int sqlite3StreamPendingFlush(StreamCtx *p, char **pzErr){
  return streamPendingFlushPid(p, -1, pzErr);
}

int sqlite3StreamPendingFlushPart(StreamCtx *p, i64 iPid, char **pzErr){
  return streamPendingFlushPid(p, iPid < 0 ? 0 : iPid, pzErr);
}

int sqlite3StreamPendingInfo(StreamCtx *p, i64 iPid, i64 *piBase,
                             i64 *piTsMin){
  StreamPending *pP;
  for(pP=p->pPending; pP; pP=pP->pNext){
    if( pP->iPid==iPid ){
      if( piBase ) *piBase = pP->iBase;
      if( piTsMin ) *piTsMin = pP->iTsMin;
      return 1;
    }
  }
  return 0;
}

/* May a message of zTopic go into a pending batch?  In a known
** transaction, of a topic not compacted (bFull: nor archived by the cold
** tier or a pipeline, which needs the topic's configuration: asked only
** when a second record would join a batch, so that a transaction of one
** message reads nothing more). */
static int streamBatchable(StreamCtx *p, const char *zTopic,
                           const StreamTopic *pT, int bFull, int *pbYes,
                           char **pzErr){
  StreamTopicConfig cfg;
  int nPart = 0, rc = SQLITE_OK;
  *pbYes = 0;
  if( !p->bBatchOn || !p->bTxn || p->bFlushing || p->bOneMsgTxn
   || (pT->eCleanup & STREAM_CLEANUP_COMPACT) ){
    return SQLITE_OK;
  }
  *pbYes = 1;
  if( !bFull ) return SQLITE_OK;
  *pbYes = 0;
  if( !sqlite3StreamCacheConfig(p, zTopic, &cfg, &nPart) ){
    /* A catalog read: the pending batches need not be written first. */
    p->bFlushing++;
    rc = sqlite3StreamTopicConfig(p, zTopic, &cfg, &nPart, pzErr);
    p->bFlushing--;
    if( rc ) return rc;
  }
  *pbYes = !cfg.coldEnabled && !cfg.pipelineEnabled
        && (cfg.eCleanup & STREAM_CLEANUP_COMPACT)==0;
  return SQLITE_OK;
}

/* Append a record at iOffset of partition iPid to its pending batch,
** writing the batch out when it is full.  *pbDone 0: the record does not
** fit a batch (write it as a row). */
static int streamPendingAdd(StreamCtx *p, const char *zTopic,
                            const StreamTopic *pT, i64 iPid, i64 iOffset,
                            i64 iTs, const StreamMsg *pMsg, int attrs,
                            const void *pVal, int nVal, int *pbDone,
                            char **pzErr){
  StreamPending **ppP, *pP;
  i64 nBytes = (i64)pMsg->nKey + nVal + pMsg->nHeaders;
  int rc = SQLITE_OK, bYes = 1;
  int nMax = sqlite3StreamBatchBytes(p, nBytes+32);
  *pbDone = 0;
  for(ppP=&p->pPending; *ppP && (*ppP)->iPid!=iPid; ppP=&(*ppP)->pNext){}
  pP = *ppP;
  if( pP && pP->nRec==1 ){
    /* (in case reading the configuration wrote the batches out) */
    rc = streamBatchable(p, zTopic, pT, 1, &bYes, pzErr);
    if( rc ) return rc;
    for(ppP=&p->pPending; *ppP && (*ppP)->iPid!=iPid; ppP=&(*ppP)->pNext){}
    pP = *ppP;
  }
  /* A record's framing (six varints) is below 32 bytes. */
  if( pP && (!bYes || pP->iNext!=iOffset || pP->nRec>=STREAM_BATCH_MAX
          || pP->n+nBytes+32>nMax) ){
    rc = streamPendingFlushOne(p, ppP, pzErr);
    if( rc ) return rc;
    pP = 0;
  }
  if( pP && pP->n+nBytes+32>pP->nAlloc ){
    /* Room for the record, up to the batch's limit. */
    i64 nNew = 2*(i64)pP->nAlloc;
    StreamPending *pNew;
    if( nNew<pP->n+nBytes+32 ) nNew = pP->n+nBytes+32;
    if( nNew>nMax ) nNew = nMax;
    pNew = sqlite3_realloc64(pP, offsetof(StreamPending, a) + nNew);
    if( pNew ){
      pNew->nAlloc = (int)nNew;
      *ppP = pP = pNew;
    }else{
      rc = streamPendingFlushOne(p, ppP, pzErr);
      if( rc ) return rc;
      pP = 0;
    }
  }
  if( !bYes ) return SQLITE_OK;                          /* a row alone */
  /* A record that fills more than half a batch starts none: another of
  ** its size could not join it (1 KiB values), so encoding it into a
  ** batch and decoding it back into a row of one would be wasted. */
  if( pP==0 && 2*(nBytes+32)>nMax ) return SQLITE_OK;
  if( pP==0 ){
    int nAlloc = nMax<STREAM_PENDING_FIRST ? nMax : STREAM_PENDING_FIRST;
    if( nAlloc<nBytes+32 ) nAlloc = (int)nBytes+32;
    if( p->pPendingSpare && p->pPendingSpare->nAlloc>=nAlloc ){
      pP = p->pPendingSpare;
      nAlloc = pP->nAlloc;
      p->pPendingSpare = 0;
    }else{
      pP = sqlite3_malloc64(offsetof(StreamPending, a) + nAlloc);
      if( pP==0 ) return SQLITE_NOMEM;
    }
    memset(pP, 0, offsetof(StreamPending, a));
    pP->nAlloc = nAlloc;
    pP->iPid = iPid;
    pP->iBase = iOffset;
    pP->iNext = iOffset;
    pP->pNext = p->pPending;
    p->pPending = pP;
  }
  rc = sqlite3StreamBatchAppend(pP->a, pP->nAlloc, &pP->n,
      iOffset - pP->iBase, iTs, attrs,
      pMsg->eKey, pMsg->pKey, pMsg->nKey,
      pVal==0 ? STREAM_TYPE_NULL
              : (attrs || pMsg->eValue==STREAM_TYPE_BLOB) ? STREAM_TYPE_BLOB
              : STREAM_TYPE_TEXT,
      pVal, nVal, pMsg->zHeaders, pMsg->nHeaders);
  if( rc ) return SQLITE_OK;        /* cannot happen: a row of its own */
  if( pP->nRec==0 || iTs<pP->iTsMin ) pP->iTsMin = iTs;
  pP->nRec++;
  pP->iNext = iOffset + 1;
  pP->nBytes += nBytes;
  if( iTs>pP->iTsMax ) pP->iTsMax = iTs;
  *pbDone = 1;
  return SQLITE_OK;
}

/* Insert one message row; no CDC. */
static int streamInsert(StreamCtx *p, const char *zTopic,
                        const StreamTopic *pT, const StreamMsg *pMsg,
                        i64 *piOffset, char **pzErr){
  void *pComp = 0;
  size_t nComp = 0;
  int attrs = 0;
  i64 iOffset, iTs, iPid;
  int rc;

  rc = sqlite3StreamLogPosition(p, zTopic, (int)pMsg->iPartition,
                                &iOffset, &iPid, pzErr);
  if( rc ) return rc;
  if( iPid==0 ){
    return sqlite3StreamErr(pzErr, SQLITE_CORRUPT,
        "partition %s/%lld is damaged: its row in _stream_partitions is"
        " missing or has no id in 1..%lld", zTopic, pMsg->iPartition,
        STREAM_MAX_PID);
  }
  if( iOffset>STREAM_MAX_LOG_OFFSET ){
    return sqlite3StreamErr(pzErr, SQLITE_FULL,
        "partition %s/%lld is full: offsets end at %lld", zTopic,
        pMsg->iPartition, STREAM_MAX_LOG_OFFSET);
  }
  iTs = pMsg->iTimestamp;
  if( iTs==STREAM_UNSET || pT->eTimestampType==STREAM_TS_LOG_APPEND_TIME ){
    iTs = sqlite3StreamNow(p);
  }
  if( pMsg->eValue!=STREAM_TYPE_NULL ){
    rc = sqlite3StreamRecordEncode(pT->eCompression, pMsg->pValue,
                                   pMsg->nValue,
                                   pMsg->eValue==STREAM_TYPE_BLOB,
                                   &pComp, &nComp, &attrs);
    if( rc ) return sqlite3StreamErr(pzErr, rc, "cannot compress value");
  }
  {
    int bBatch = 0, bDone = 0;
    rc = streamBatchable(p, zTopic, pT, 0, &bBatch, pzErr);
    if( rc==SQLITE_OK && bBatch ){
      rc = streamPendingAdd(p, zTopic, pT, iPid, iOffset, iTs, pMsg, attrs,
               pComp ? pComp : pMsg->eValue==STREAM_TYPE_NULL ? 0
                     : pMsg->pValue ? pMsg->pValue : "",
               pComp ? (int)nComp : pMsg->nValue, &bDone, pzErr);
    }
    if( rc || bDone ){
      sqlite3_free(pComp);
      if( rc==SQLITE_OK ){
        rc = streamTimeIndex(p, zTopic, (int)pMsg->iPartition, iPid,
                             iOffset, iTs, pzErr);
      }
      if( rc ) return rc;
      sqlite3StreamCacheSetNext(p, zTopic, (int)pMsg->iPartition, iOffset+1,
                                iPid);
      *piOffset = iOffset;
      return SQLITE_OK;
    }
  }
  {
    static const int aType[] = { SQLITE_NULL, SQLITE_TEXT, SQLITE_BLOB };
    StreamHotRow row;
    row.iId = (iPid<<STREAM_LOG_SHIFT) | iOffset;
    row.iTimestamp = iTs;
    row.attrs = attrs;
    row.eKey = aType[pMsg->eKey];
    row.pKey = pMsg->pKey;
    row.nKey = pMsg->nKey;
    row.eValue = pComp ? SQLITE_BLOB : aType[pMsg->eValue];
    row.pValue = pComp ? pComp : pMsg->pValue;
    row.nValue = pComp ? (int)nComp : pMsg->nValue;
    row.eHeaders = pMsg->zHeaders ? SQLITE_TEXT : SQLITE_NULL;
    row.pHeaders = pMsg->zHeaders;
    row.nHeaders = pMsg->nHeaders;
    row.iKey = 0;
    rc = sqlite3StreamHotAppend(p, &row, pzErr);
    sqlite3_free(pComp);
  }
  if( rc==SQLITE_OK ){
    rc = streamTimeIndex(p, zTopic, (int)pMsg->iPartition, iPid, iOffset,
                         iTs, pzErr);
  }
  if( rc ) return rc;
  sqlite3StreamCacheSetNext(p, zTopic, (int)pMsg->iPartition, iOffset+1,
                            iPid);
  *piOffset = iOffset;
  return SQLITE_OK;
}

/* Batches remembered per idempotent producer and topic (Kafka keeps the
** last 5 batches per producer and partition). */
#define STREAM_PRODUCER_WINDOW 5

/* Databases written before _stream_producers.batch_seq existed get the
** column on first use (NULL there: each old message is a batch). */
static int streamProducerSchema(StreamCtx *p, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc, bHas = 0;
  if( p->bProducerBatchCol ) return SQLITE_OK;
  rc = sqlite3_prepare_v2(p->db, "SELECT 1 FROM"
      " pragma_table_info('_stream_producers') WHERE name='batch_seq'",
      -1, &pStmt, 0);
  if( rc==SQLITE_OK ){
    bHas = sqlite3_step(pStmt)==SQLITE_ROW;
    rc = sqlite3_finalize(pStmt);
  }
  if( rc==SQLITE_OK && !bHas ){
    rc = sqlite3_exec(p->db, "ALTER TABLE _stream_producers"
                      " ADD COLUMN batch_seq INTEGER", 0, 0, 0);
  }
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  p->bProducerBatchCol = 1;
  return SQLITE_OK;
}

/*
** Idempotent producers.  Sequence numbers count per producer id and topic
** from 0, one per message; a batch is one stream_produce_batch() call (the
** messages of one producer in it) or one single message.  A sequence of
** one of the last 5 batches is a retry: *pbDup is set and *piOffset is the
** original offset.  A gap, or a sequence older than those batches, is
** Kafka's OutOfOrderSequence.
*/
static int streamProducerCheck(StreamCtx *p, const char *zTopic,
                               const StreamMsg *pMsg, int *pbDup,
                               i64 *piOffset, char **pzErr){
  i64 iLast = -1;
  int rc;
  *pbDup = 0;
  if( pMsg->iSeq<0 ){
    return sqlite3StreamErr(pzErr, SQLITE_RANGE,
        "producer_seq must be >= 0, got %lld", pMsg->iSeq);
  }
  rc = streamProducerSchema(p, pzErr);
  if( rc ) return rc;
  rc = sqlite3StreamHotProducerLast(p, pMsg->zProducer, zTopic, &iLast,
                                    pzErr);
  if( rc ) return rc;
  if( iLast<-1 || iLast>STREAM_MAX_OFFSET ){
    return sqlite3StreamErr(pzErr, SQLITE_CORRUPT,
        "producer %s is damaged in _stream_producers: sequence %lld of topic"
        " %s (0..%lld)", pMsg->zProducer, iLast, zTopic, STREAM_MAX_OFFSET);
  }
  if( pMsg->iSeq==iLast+1 ) return SQLITE_OK;
  if( pMsg->iSeq<=iLast ){
    /* the table holds exactly the sequences of the last 5 batches */
    rc = sqlite3StreamHotProducerGet(p, pMsg->zProducer, zTopic, pMsg->iSeq,
                                     piOffset, pbDup, pzErr);
    if( rc ) return rc;
    if( *pbDup ) return SQLITE_OK;
  }
  return sqlite3StreamErr(pzErr, SQLITE_CONSTRAINT,
      "producer %s sent sequence %lld to topic %s, expected %lld"
      " (Kafka's OutOfOrderSequence)", pMsg->zProducer, pMsg->iSeq, zTopic,
      iLast+1);
}

/* Record the sequence of a message just written; the first message of a
** batch trims the window to the last 5 batches. */
static int streamProducerRecord(StreamCtx *p, const char *zTopic,
                                const StreamMsg *pMsg, i64 iOffset,
                                char **pzErr){
  int rc = sqlite3StreamHotProducerPut(p, pMsg->zProducer, zTopic,
      pMsg->iSeq, pMsg->iPartition, iOffset, pMsg->iSeq - pMsg->nBatchPrior,
      pzErr);
  if( rc || pMsg->nBatchPrior>0 ) return rc;
  return sqlite3StreamHotProducerTrim(p, pMsg->zProducer, zTopic,
                                      STREAM_PRODUCER_WINDOW, pzErr);
}

/*
** Backpressure: the lag of the slowest group subscribed to the topic on
** this partition.  Policy reject fails at once; policy block waits up to
** max.block.ms for the group to commit, re-reading between naps - which
** can only succeed when this connection holds no transaction (a call of
** stream_produce() in autocommit mode): inside a transaction the other
** connections' commits are not visible, so it fails at once instead.
** Messages are never dropped.
*/
static int streamBackpressure(StreamCtx *p, const char *zTopic,
                              const StreamTopic *pT, int iPart, char **pzErr){
  i64 iStart = -1, nSleep = 500;
  for(;;){
    char *zGroup = 0;
    i64 iCommitted = 0, iHwm, iLag;
    int rc;
    rc = sqlite3StreamHotSlowestGroup(p, zTopic, iPart, &zGroup, &iCommitted,
                                      pzErr);
    if( rc ) return rc;
    if( zGroup==0 ) return SQLITE_OK;           /* no subscribed group */
    rc = sqlite3StreamHighWatermark(p, zTopic, iPart, &iHwm, pzErr);
    iLag = iHwm - iCommitted;
    if( rc || iLag<pT->backpressureMaxLag ){
      sqlite3_free(zGroup);
      return rc;
    }
    if( pT->backpressureBlockMs>=0
     && sqlite3_txn_state(p->db, "main")==SQLITE_TXN_NONE ){
      i64 iNow = sqlite3StreamNow(p);
      if( iStart<0 ) iStart = iNow;
      if( iNow - iStart < pT->backpressureBlockMs ){
        sqlite3_free(zGroup);
        rc = sqlite3StreamNap(p, nSleep);   /* sqlite3_interrupt() ends it */
        if( rc ){
          return sqlite3StreamErr(pzErr, rc, "backpressure: interrupted"
              " while waiting for a consumer of topic %s partition %d",
              zTopic, iPart);
        }
        if( nSleep<16000 ) nSleep *= 2;
        continue;
      }
    }
    rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "backpressure: topic %s partition %d is %lld messages ahead of group"
        " %s (backpressure.max.lag %lld%s)", zTopic, iPart, iLag, zGroup,
        pT->backpressureMaxLag,
        pT->backpressureBlockMs<0 ? ", policy reject" :
        iStart<0 ? ", policy block: cannot wait inside a transaction"
                 : ", policy block: max.block.ms elapsed");
    sqlite3_free(zGroup);
    return rc;
  }
}

int sqlite3StreamAfterAppendAdd(StreamCtx *p, StreamAfterAppend xHook,
                                int bBefore){
  StreamAfterAppend *a = bBefore ? p->aBeforeAppend : p->aAfterAppend;
  int *pn = bBefore ? &p->nBeforeAppend : &p->nAfterAppend;
  if( *pn>=STREAM_MAX_AFTER_APPEND ) return SQLITE_FULL;
  a[(*pn)++] = xHook;
  return SQLITE_OK;
}

int sqlite3StreamAppend(StreamCtx *p, const char *zTopic,
                        const StreamTopic *pT, const StreamMsg *pMsg,
                        i64 *piOffset, char **pzErr){
  int rc, i;
  char *zCdc;
  int bCdcSelf = 0;
  StreamAppended app;

  p->bLastDup = 0;
  if( pMsg->zProducer ){
    rc = streamProducerCheck(p, zTopic, pMsg, &p->bLastDup, piOffset, pzErr);
    if( rc || p->bLastDup ) return rc;
  }
  if( pT->backpressureMaxLag>=0 ){
    rc = streamBackpressure(p, zTopic, pT, (int)pMsg->iPartition, pzErr);
    if( rc ) return rc;
  }
  rc = sqlite3StreamCdcPrepare(p, zTopic, &zCdc, pzErr);
  if( rc ) return rc;
  if( zCdc==0 && p->xCdc ){
    /* Writes to the CDC topic itself produce no event, for the callback
    ** either. */
    char *zSelf = sqlite3StreamCdcTopic(p, &rc);
    if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
    bCdcSelf = zSelf && strcmp(zSelf, zTopic)==0;
    sqlite3_free(zSelf);
  }
  app.zTopic = zTopic;
  app.pT = pT;
  app.pMsg = pMsg;
  app.iOffset = 0;
  app.zCdc = zCdc;
  app.bCdcSelf = bCdcSelf;
  if( zCdc || (p->xCdc && !bCdcSelf) ){
    /* The before-append hooks (the CDC event), with the offset the
    ** message will get (streamInsert reads the same position: the event
    ** goes to another topic).  Written first, so that an event the CDC
    ** topic refuses fails the append before the message is written: no
    ** savepoint can undo it inside a writing statement without a
    ** statement journal (a one-row INSERT in a transaction). */
    i64 iPid;
    rc = sqlite3StreamLogPosition(p, zTopic, (int)pMsg->iPartition,
                                  &app.iOffset, &iPid, pzErr);
    for(i=0; rc==SQLITE_OK && i<p->nBeforeAppend; i++){
      rc = p->aBeforeAppend[i](p, &app, pzErr);
    }
  }
  if( rc==SQLITE_OK ){
    rc = streamInsert(p, zTopic, pT, pMsg, piOffset, pzErr);
  }
  if( rc==SQLITE_OK && pMsg->zProducer ){
    rc = streamProducerRecord(p, zTopic, pMsg, *piOffset, pzErr);
  }
  if( rc==SQLITE_OK && (zCdc || (p->xCdc && !bCdcSelf))
   && *piOffset!=app.iOffset ){
    rc = sqlite3StreamErr(pzErr, SQLITE_INTERNAL, "%s/%lld: the CDC event"
        " named offset %lld, the message got %lld", zTopic, pMsg->iPartition,
        app.iOffset, *piOffset);
  }
  if( rc==SQLITE_OK ){
    app.iOffset = *piOffset;
    for(i=0; rc==SQLITE_OK && i<p->nAfterAppend; i++){
      rc = p->aAfterAppend[i](p, &app, pzErr);
    }
  }
  sqlite3_free(zCdc);
  return rc;
}

/*
** Autocommit calls.  Outside a transaction, each statement this file runs
** would commit on its own (SQLite commits a nested write statement as
** soon as no other writing statement is active, and SELECT
** stream_produce() is not one): the message, its producer sequence, its
** CDC event and the messages of a batch would be separate transactions,
** so a crash could keep some and lose others, and the high watermark read
** before the insert could be stale by the time the insert takes the write
** lock (a UNIQUE constraint error under concurrency instead of
** SQLITE_BUSY).  So an autocommit call runs as one transaction of its own
** (ext/txn.c) that first takes the write lock with a no-op write, as
** BEGIN IMMEDIATE does, so that busy_timeout applies.  Inside a
** transaction, inside a writing statement (INSERT INTO stream_messages),
** and on a topic with backpressure.policy block, nothing is added.
*/
static int streamProduceBegin(StreamCtx *p, const char *zTopic,
                              int *pbOpen, char **pzErr){
  StreamTopic t;
  int rc;
  *pbOpen = 0;
  if( !sqlite3_get_autocommit(p->db) ) return SQLITE_OK;
  /* The topic is read inside the call's transaction, where the cache kept
  ** from the previous one serves it (ext/txn.c).  backpressure.policy
  ** block waits for consumers outside any transaction
  ** (streamBackpressure): such a topic keeps the statement-by-statement
  ** behaviour, so its transaction, which wrote nothing, is committed.  A
  ** missing topic is reported by the caller. */
  rc = sqlite3StreamAutoBeginEnlist(p, "stream_produce", pbOpen, pzErr);
  if( rc==SQLITE_OK && *pbOpen
   && sqlite3StreamTopicGet(p, zTopic, &t, 0)==SQLITE_OK
   && t.backpressureMaxLag>=0 && t.backpressureBlockMs>=0 ){
    rc = sqlite3StreamAutoEnd(p, "stream_produce", *pbOpen, SQLITE_OK, pzErr);
    *pbOpen = 0;
  }
  return rc;
}

static int streamProduceEnd(StreamCtx *p, int bOpen, int rc, char **pzErr){
  return sqlite3StreamAutoEnd(p, "stream_produce", bOpen, rc, pzErr);
}

static int streamProduceOne(StreamCtx *p, const char *zTopic,
                            StreamMsg *pMsg, i64 *piPartition,
                            i64 *piOffset, char **pzErr){
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
#define STREAM_BATCH_FIELDS "('key','value','headers','partition'," \
  "'timestamp','producer_id','producer_seq')"
/* Column 11: NULL when the element's field names are fine, else 'd' (a
** field given twice: JSON parsers differ on which one counts, and
** SQLite's ->> takes the first while JSON.parse, Python and Go take the
** last, so it is refused), 'e' (a known field whose name is written with
** an escape, "k\u0065y": json_each decodes it but SQLite 3.40's path
** lookup does not, so the field would be silently dropped), or 'u' and
** the unknown field names. */
static const char zBatchSql[] =
  "SELECT e.type,"                                        /* 0 */
  " json_type(e.value,'$.key'), e.value->>'$.key',"       /* 1, 2 */
  " json_type(e.value,'$.value'), e.value->'$.value',"    /* 3, 4 */
  " json_type(e.value,'$.headers'), e.value->'$.headers',"/* 5, 6 */
  " json_type(e.value,'$.partition'), e.value->>'$.partition'," /* 7, 8 */
  " json_type(e.value,'$.timestamp'), e.value->>'$.timestamp'," /* 9, 10 */
  " (SELECT CASE WHEN count(*)>count(DISTINCT k.key) THEN 'd'"
  "   WHEN sum(k.key IN " STREAM_BATCH_FIELDS
  "            AND json_type(e.value, '$.'||k.key) IS NULL) THEN 'e'"
  "   ELSE 'u'||group_concat(iif(k.key IN " STREAM_BATCH_FIELDS ", NULL,"
  "                              k.key), ', ') END"
  "   FROM json_each(e.value) k WHERE e.type='object'),"  /* 11 */
  " json_type(e.value,'$.producer_id'), e.value->>'$.producer_id'," /* 12,13 */
  " json_type(e.value,'$.producer_seq'), e.value->>'$.producer_seq'," /* 14,15 */
  " iif(?2, e.value->'$.key', NULL),"                    /* 16 */
  " iif(?2, e.value->'$.producer_id', NULL)"              /* 17 */
  " FROM json_each(?1) e";

/*
** True if JSON text z[0..n) (valid JSON) holds the escape \u0000.  SQLite
** (3.40) ends the text ->> returns at a decoded NUL, which would make the
** key "a\u0000b" the key "a", and the producer id "p\u0000q" the producer
** "p", so those are refused; values and headers are stored as JSON text
** and keep the escape.
*/
static int streamJsonHasNulEscape(const char *z, int n){
  int i;
  for(i=0; i+5<n; i++){
    if( z[i]=='\\' ){
      if( memcmp(&z[i+1], "u0000", 5)==0 ) return 1;
      i++;
    }
  }
  return 0;
}

/* The error for element iElem of batch zJson, which gives a field twice:
** the field's name, found by a query of its own (an error path only). */
static int streamBatchDupField(sqlite3 *db, const char *zJson, int iElem,
                               char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db,
      "SELECT key FROM json_each(?1, printf('$[%d]', ?2))"
      " GROUP BY key HAVING count(*)>1 ORDER BY min(id) LIMIT 1",
      -1, &pStmt, 0);
  if( rc ) return sqlite3StreamDbErr(db, pzErr, rc);
  sqlite3_bind_text(pStmt, 1, zJson, -1, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 2, iElem);
  if( sqlite3_step(pStmt)==SQLITE_ROW ){
    rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "batch element %d has the field %s twice (give each field once)",
        iElem, (const char*)sqlite3_column_text(pStmt, 0));
  }else{
    rc = sqlite3_finalize(pStmt);
    pStmt = 0;
    rc = rc ? sqlite3StreamDbErr(db, pzErr, rc)
            : sqlite3StreamErr(pzErr, SQLITE_ERROR,
                  "batch element %d has a field twice", iElem);
  }
  sqlite3_finalize(pStmt);
  return rc;
}

typedef struct StreamBatchMsg StreamBatchMsg;
struct StreamBatchMsg {
  StreamMsg m;                 /* The message; bytes point into zBuf */
  char *zBuf;                  /* Owned copies of key, value, headers */
  int iPrev;                   /* Previous message of m.zProducer, or -1 */
  int bDup;                    /* Written before: a retry, skipped */
};

static int streamProduceBatch(StreamCtx *p, const char *zTopic,
                              const char *zJson, i64 *pnProduced,
                              char **pzErr){
  StreamTopic t;
  sqlite3_stmt *pStmt = 0;
  StreamBatchMsg *aMsg = 0;
  int nMsg = 0, nAlloc = 0;
  int rc, i, eKind;

  *pnProduced = 0;
  rc = sqlite3StreamTopicGet(p, zTopic, &t, pzErr);
  if( rc ) return rc;
  eKind = sqlite3StreamJsonCheck(zJson, strlen(zJson));
  if( eKind==STREAM_JSON_INVALID ){
    /* Say where the text stops being JSON (a lone surrogate escape in
    ** one value, a trailing comma, nesting past the limit), as a
    ** settings object's error does. */
    char *zWhere = sqlite3StreamJsonErrWhere(zJson, strlen(zJson));
    rc = zWhere==0 ? SQLITE_NOMEM : sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "batch is not valid JSON (%s)", zWhere);
    sqlite3_free(zWhere);
    return rc;
  }
  if( eKind!=STREAM_JSON_ARRAY ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "batch must be a JSON array of {key, value, headers, partition,"
        " timestamp} objects");
  }
  rc = sqlite3_prepare_v2(p->db, zBatchSql, -1, &pStmt, 0);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  sqlite3_bind_text(pStmt, 1, zJson, -1, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 2,
                   streamJsonHasNulEscape(zJson, (int)strlen(zJson)));
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    StreamBatchMsg *pB;
    const char *zType = (const char*)sqlite3_column_text(pStmt, 0);
    const char *zKT = (const char*)sqlite3_column_text(pStmt, 1);
    const char *zVT = (const char*)sqlite3_column_text(pStmt, 3);
    const char *zHT = (const char*)sqlite3_column_text(pStmt, 5);
    const char *zPT = (const char*)sqlite3_column_text(pStmt, 7);
    const char *zTT = (const char*)sqlite3_column_text(pStmt, 9);
    int nK, nV, nH, nP;
    if( nMsg==nAlloc ){
      int nNew = nAlloc ? nAlloc*2 : 64;
      StreamBatchMsg *aNew = sqlite3_realloc64(aMsg, sizeof(*aNew)*nNew);
      if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
      aMsg = aNew;
      nAlloc = nNew;
    }
    pB = &aMsg[nMsg];
    memset(pB, 0, sizeof(*pB));
    pB->iPrev = -1;
    if( zType==0 || strcmp(zType, "object")!=0 ){
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
                            "batch element %d is not a JSON object", nMsg);
      break;
    }
    if( sqlite3_column_type(pStmt, 11)!=SQLITE_NULL ){
      const char *zF = (const char*)sqlite3_column_text(pStmt, 11);
      if( zF==0 ){ rc = SQLITE_NOMEM; break; }
      if( zF[0]=='d' ){
        rc = streamBatchDupField(p->db, zJson, nMsg, pzErr);
      }else if( zF[0]=='e' ){
        rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
            "batch element %d has a field name written with an escape"
            " (\\u...): write key, value, headers, partition, timestamp,"
            " producer_id and producer_seq plainly", nMsg);
      }else{
        rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
            "batch element %d has unknown field(s): %s"
            " (allowed: key, value, headers, partition, timestamp,"
            " producer_id, producer_seq)", nMsg, zF+1);
      }
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
    {
      const char *zIT = (const char*)sqlite3_column_text(pStmt, 12);
      const char *zST = (const char*)sqlite3_column_text(pStmt, 14);
      int bI = zIT && strcmp(zIT, "null")!=0;
      int bS = zST && strcmp(zST, "null")!=0;
      if( bI!=bS ){
        rc = sqlite3StreamErr(pzErr, SQLITE_MISUSE, "batch element %d:"
            " producer_id and producer_seq go together", nMsg);
        break;
      }
      if( bI && (strcmp(zIT, "text")!=0 || strcmp(zST, "integer")!=0
              || sqlite3_column_bytes(pStmt, 13)<1
              || sqlite3_column_bytes(pStmt, 13)>255) ){
        rc = sqlite3StreamErr(pzErr, SQLITE_MISMATCH, "batch element %d:"
            " producer_id must be a string of 1 to 255 bytes and"
            " producer_seq an integer", nMsg);
        break;
      }
      pB->m.iSeq = bI ? sqlite3_column_int64(pStmt, 15) : 0;
      nP = bI ? sqlite3_column_bytes(pStmt, 13) : -1;
    }
    for(i=16; i<=17; i++){
      if( streamJsonHasNulEscape((const char*)sqlite3_column_text(pStmt, i),
                                 sqlite3_column_bytes(pStmt, i)) ) break;
    }
    if( i<=17 ){
      rc = sqlite3StreamErr(pzErr, SQLITE_MISMATCH, "batch element %d: %s"
          " must not contain \\u0000 (a NUL byte%s)", nMsg,
          i==16 ? "key" : "producer_id", i==16 ? "; a key with NUL bytes"
          " goes to stream_produce() as a BLOB" : "");
      break;
    }
    nK = (zKT && strcmp(zKT, "text")==0) ? sqlite3_column_bytes(pStmt, 2) : -1;
    nV = strcmp(zVT, "null")!=0 ? sqlite3_column_bytes(pStmt, 4) : -1;
    nH = (zHT && strcmp(zHT, "object")==0) ? sqlite3_column_bytes(pStmt, 6):-1;
    pB->zBuf = sqlite3_malloc64((nK<0?0:nK) + (nV<0?0:nV) + (nH<0?0:nH)
                                + (nP<0?0:nP) + 4);
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
        z += nH+1;
      }
      if( nP>=0 ){
        memcpy(z, sqlite3_column_text(pStmt, 13), nP); z[nP] = 0;
        pB->m.zProducer = z;
      }
    }
    pB->m.iPartition = (zPT && strcmp(zPT, "integer")==0)
                     ? sqlite3_column_int64(pStmt, 8) : STREAM_UNSET;
    pB->m.iTimestamp = (zTT && strcmp(zTT, "integer")==0)
                     ? sqlite3_column_int64(pStmt, 10) : STREAM_UNSET;
    rc = sqlite3StreamMsgCheck(p, zTopic, &t, &pB->m, pzErr);
    if( rc==SQLITE_OK && pB->m.zProducer ){
      /* Sequences are checked now, so that pass 2 cannot fail on them. */
      int j;
      for(j=nMsg-2; j>=0; j--){
        const char *zPrev = aMsg[j].m.zProducer;
        if( zPrev && strcmp(zPrev, pB->m.zProducer)==0 ) break;
      }
      if( j>=0 ){
        pB->iPrev = j;
        if( pB->m.iSeq!=aMsg[j].m.iSeq+1 ){
          rc = sqlite3StreamErr(pzErr, SQLITE_CONSTRAINT,
              "producer %s sent sequence %lld to topic %s, expected %lld"
              " (Kafka's OutOfOrderSequence)", pB->m.zProducer,
              pB->m.iSeq, zTopic, aMsg[j].m.iSeq+1);
        }
      }else{
        int bDup;
        i64 iDummy;
        rc = streamProducerCheck(p, zTopic, &pB->m, &bDup, &iDummy, pzErr);
      }
    }
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
    int iPrev = aMsg[i].iPrev;
    /* the producer's batch starts at its first message written now */
    if( iPrev>=0 && !aMsg[iPrev].bDup ){
      aMsg[i].m.nBatchPrior = aMsg[iPrev].m.nBatchPrior + 1;
    }
    rc = sqlite3StreamAppend(p, zTopic, &t, &aMsg[i].m, &iOff, pzErr);
    aMsg[i].bDup = p->bLastDup;
    if( rc==SQLITE_OK && !p->bLastDup ) (*pnProduced)++;
  }
  sqlite3_finalize(pStmt);
  for(i=0; i<nMsg; i++) sqlite3_free(aMsg[i].zBuf);
  sqlite3_free(aMsg);
  return rc;
}

/*
** Inside the caller's transaction, a call that can fail after it wrote
** runs in a savepoint of its own, so that a failure changes nothing, as
** in autocommit mode: with a CDC topic (whose event, appended after the
** message, the CDC topic may refuse), and a batch on a topic with
** backpressure (a later message may be refused).  Only then: a savepoint
** writes out the transaction's pending record batches (ext/txn.c).
** Inside a writing statement there is none (*pbSp 0): its statement
** journal undoes it.
*/
#define STREAM_PRODUCE_SP "stream_produce_call"
static int streamProduceSavepoint(StreamCtx *p, const char *zTopic,
                                  int bBatch, int *pbSp, char **pzErr){
  int rc = SQLITE_OK, bNeed;
  char *zCdc;
  *pbSp = 0;
  if( sqlite3_get_autocommit(p->db) ) return SQLITE_OK;
  zCdc = sqlite3StreamCdcTopic(p, &rc);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  bNeed = zCdc && strcmp(zCdc, zTopic)!=0;
  sqlite3_free(zCdc);
  if( !bNeed && bBatch ){
    StreamTopic t;
    bNeed = sqlite3StreamTopicGet(p, zTopic, &t, 0)==SQLITE_OK
         && t.backpressureMaxLag>=0;
  }
  return bNeed ? sqlite3StreamSavepoint(p, STREAM_PRODUCE_SP, pbSp, pzErr)
               : SQLITE_OK;
}

int sqlite3StreamProduce(StreamCtx *p, const char *zTopic, StreamMsg *pMsg,
                         i64 *piPartition, i64 *piOffset, char **pzErr){
  int bOpen, bSp = 0;
  int rc;
  sqlite3StreamCacheCheck(p);    /* nothing else wrote since (ext/txn.c) */
  rc = streamProduceBegin(p, zTopic, &bOpen, pzErr);
  if( rc==SQLITE_OK && !bOpen ){
    rc = streamProduceSavepoint(p, zTopic, 0, &bSp, pzErr);
  }
  if( rc==SQLITE_OK && bOpen>=2 ){
    /* The call is its transaction (autocommit): its one message is
    ** written as a row at once, not encoded into a pending batch to be
    ** decoded again at the commit.  Its row is the extension's own: the
    ** caller's last_insert_rowid() stays (as sqlite3StreamPendingFlush()
    ** keeps it). */
    i64 iRowid = sqlite3_last_insert_rowid(p->db);
    p->bOneMsgTxn = 1;
    rc = streamProduceOne(p, zTopic, pMsg, piPartition, piOffset, pzErr);
    p->bOneMsgTxn = 0;
    sqlite3_set_last_insert_rowid(p->db, iRowid);
  }else if( rc==SQLITE_OK ){
    rc = streamProduceOne(p, zTopic, pMsg, piPartition, piOffset, pzErr);
  }
  rc = sqlite3StreamSavepointEnd(p, STREAM_PRODUCE_SP, bSp, rc, pzErr);
  /* The call's writes are its own: the cache knows them (ext/txn.c). */
  if( rc==SQLITE_OK ) sqlite3StreamCacheMark(p);
  return streamProduceEnd(p, bOpen, rc, pzErr);
}

int sqlite3StreamProduceBatch(StreamCtx *p, const char *zTopic,
                              const char *zJson, i64 *pnProduced,
                              char **pzErr){
  int bOpen, bSp = 0;
  int rc;
  sqlite3StreamCacheCheck(p);
  rc = streamProduceBegin(p, zTopic, &bOpen, pzErr);
  *pnProduced = 0;
  if( rc==SQLITE_OK && !bOpen ){
    rc = streamProduceSavepoint(p, zTopic, 1, &bSp, pzErr);
  }
  if( rc==SQLITE_OK ){
    rc = streamProduceBatch(p, zTopic, zJson, pnProduced, pzErr);
  }
  rc = sqlite3StreamSavepointEnd(p, STREAM_PRODUCE_SP, bSp, rc, pzErr);
  if( rc==SQLITE_OK ) sqlite3StreamCacheMark(p);
  rc = streamProduceEnd(p, bOpen, rc, pzErr);
  if( rc ) *pnProduced = 0;
  return rc;
}

/* Rewrite one batch row of partition iPart of zTopic (id iId, records
** a[n]) as one row per message. */
static int streamUnbatchRow(StreamCtx *p, const char *zTopic, int iPart,
                            i64 iId, const u8 *a, int n, char **pzErr){
  StreamBatchRec r;
  StreamHotRow row;
  int iPos = 0, rc;
  rc = sqlite3StreamStorageRun(p, STREAM_SQL_MSG_DELETE_AT, zTopic, iPart,
                               iId & STREAM_MAX_LOG_OFFSET, pzErr);
  if( rc ) return rc;
  memset(&row, 0, sizeof(row));
  while( (rc = sqlite3StreamBatchNext(a, n, &iPos, iId & STREAM_MAX_LOG_OFFSET,
                                      &r))==SQLITE_ROW ){
    streamRecRow(&row, (iId & ~STREAM_MAX_LOG_OFFSET) | r.iOffset, &r);
    rc = sqlite3StreamHotAppend(p, &row, pzErr);
    if( rc ) return rc;
  }
  if( rc!=SQLITE_DONE ){
    return sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "damaged record batch in"
                            " row %lld of _stream_log", iId);
  }
  return SQLITE_OK;
}

static int streamUnbatchRange(StreamCtx *p, const char *zTopic, int iPart,
                              i64 iLo, i64 iHi, char **pzErr);

/* One transaction (a savepoint), so that a crash never keeps the delete
** of a batch row without its messages' rows (the warm move's eligibility
** runs outside its unit's transaction). */
int sqlite3StreamUnbatchRange(StreamCtx *p, const char *zTopic, int iPart,
                              i64 iLo, i64 iHi, char **pzErr){
  int bOpen = 0;
  int rc = sqlite3StreamSavepoint(p, "stream_unbatch", &bOpen, pzErr);
  if( rc ) return rc;
  rc = streamUnbatchRange(p, zTopic, iPart, iLo, iHi, pzErr);
  return sqlite3StreamSavepointEnd(p, "stream_unbatch", bOpen, rc, pzErr);
}

static int streamUnbatchRange(StreamCtx *p, const char *zTopic, int iPart,
                              i64 iLo, i64 iHi, char **pzErr){
  /* Each step finds the first batch row after the last one rewritten; a
  ** batch holding iLo starts at most STREAM_BATCH_SPAN-1 offsets before
  ** it. */
  i64 iAfter = iLo>STREAM_BATCH_SPAN-1 ? iLo-(STREAM_BATCH_SPAN-1) : 0;
  int rc = SQLITE_OK;
  while( rc==SQLITE_OK ){
    sqlite3_stmt *pStmt = sqlite3StreamStorageStmt(p, STREAM_SQL_BATCH_NEXT,
                                                   zTopic, iPart, pzErr);
    i64 iId;
    void *a;
    int n;
    if( pStmt==0 ) return sqlite3StreamStmtErr(p);
    sqlite3_bind_int64(pStmt, 3, iAfter);
    sqlite3_bind_int64(pStmt, 4, iHi);
    sqlite3_bind_int64(pStmt, 5, iLo);
    if( sqlite3_step(pStmt)!=SQLITE_ROW ){
      return sqlite3StreamStorageReset(p, pStmt, pzErr);
    }
    iId = sqlite3_column_int64(pStmt, 0);
    n = sqlite3_column_bytes(pStmt, 1);
    a = sqlite3_malloc64(n>0 ? n : 1);
    if( a ) memcpy(a, sqlite3_column_blob(pStmt, 1), n);
    sqlite3_reset(pStmt);
    if( a==0 ) return SQLITE_NOMEM;
    rc = streamUnbatchRow(p, zTopic, iPart, iId, a, n, pzErr);
    sqlite3_free(a);
    iAfter = (iId & STREAM_MAX_LOG_OFFSET) + 1;
  }
  return rc;
}

int sqlite3StreamUnbatchTopic(StreamCtx *p, const char *zTopic, char **pzErr){
  StreamTopic t;
  int rc = sqlite3StreamTopicGet(p, zTopic, &t, pzErr);
  int i;
  for(i=0; rc==SQLITE_OK && i<t.nPartition; i++){
    rc = sqlite3StreamUnbatchRange(p, zTopic, i, 0, STREAM_MAX_LOG_OFFSET,
                                   pzErr);
  }
  return rc;
}
