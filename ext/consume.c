/*
** consume.c - the consume path of consumer groups: polls, positions,
** auto-commit, commitSync, seeks, pause/resume, offsetsForTimes, dead
** letters and long polls.
**
** Positions: each assigned partition has an in-flight position in
** _stream_assignments (the next offset a poll returns).  A poll moves it
** over the rows it hands to its caller only (StreamPollOpen in
** streamInt.h, sqlite3StreamPollDeliver): at its last row or early end,
** in the caller's transaction if there is one.  The first poll after an
** assignment starts at the committed offset; without one, or when it is
** out of range (below the log start offset or above the high watermark),
** auto.offset.reset decides: earliest, latest, or none (an error).
**
** Fairness: a poll takes up to ceil(max_records / partitions) messages from
** each unpaused partition, starting at a partition that rotates with every
** poll, then fills what is left from the partitions that had more.
**
** Messages are read through the scan API (ext/scan.c), so a poll spans
** every tier.
*/
#include "streamInt.h"
#include <string.h>
#include <time.h>

void sqlite3StreamPollResultFree(StreamPollResult *pRes){
  sqlite3_free(pRes->aRow);
  sqlite3_free(pRes->zArena);
  sqlite3_free(pRes->aPart);
  memset(pRes, 0, sizeof(*pRes));
}

void sqlite3StreamPollColumn(sqlite3_context *ctx, const StreamPollResult *pRes,
                             int iRow, int iCol){
  const StreamPollRow *pRow = &pRes->aRow[iRow];
  switch( pRow->aType[iCol] ){
    case SQLITE_INTEGER:
      sqlite3_result_int64(ctx, pRow->aVal[iCol]);
      break;
    case SQLITE_TEXT:
      sqlite3_result_text(ctx, pRes->zArena + pRow->aVal[iCol],
                          pRow->aLen[iCol], SQLITE_STATIC);
      break;
    case SQLITE_BLOB:
      sqlite3_result_blob(ctx, pRes->zArena + pRow->aVal[iCol],
                          pRow->aLen[iCol], SQLITE_STATIC);
      break;
    default:
      break;
  }
}

/* Copy n bytes into the arena; *piOff receives their offset. */
static int streamArenaPut(StreamPollResult *pRes, const void *p, int n,
                          i64 *piOff){
  if( pRes->nArena + n > pRes->nArenaAlloc ){
    i64 nNew = pRes->nArenaAlloc ? pRes->nArenaAlloc*2 : 65536;
    char *zNew;
    while( nNew < pRes->nArena + n ) nNew *= 2;
    zNew = sqlite3_realloc64(pRes->zArena, nNew);
    if( zNew==0 ) return SQLITE_NOMEM;
    pRes->zArena = zNew;
    pRes->nArenaAlloc = nNew;
  }
  if( n>0 ) memcpy(pRes->zArena + pRes->nArena, p, n);
  *piOff = pRes->nArena;
  pRes->nArena += n;
  return SQLITE_OK;
}

/* One assigned partition, as the poll sees it. */
typedef struct StreamPart StreamPart;
struct StreamPart {
  char *zTopic;                /* Topic (owned) */
  int iPartition;              /* Partition */
  i64 iPos;                    /* Position (-1: not started) */
  int bPaused;                 /* Paused by stream_pause */
  int nGot;                    /* Messages taken by this poll */
  int bMore;                   /* Its quota was filled: may have more */
  int bChecked;                /* Position checked by streamResolve */
  int bDirty;                  /* Position changed: write it */
  i64 iStart;                  /* The position, as stored after the poll */
  int iTopicRank;              /* Rank of its topic among the member's */
  int iRes;                    /* Its StreamPollResult.aPart entry, or -1 */
};

/* Store column iCol of the scan's current row as column j (key, value or
** headers) of pRow (values come decoded: ext/scan.c). */
static int streamColPut(StreamPollResult *pRes, StreamPollRow *pRow,
                        StreamScan *pScan, int iCol, int j){
  StreamScanField f;
  int rc = sqlite3StreamScanColumn(pScan, iCol, &f);
  if( rc ) return rc;
  pRow->aType[j] = (u8)f.eType;
  pRow->aLen[j] = 0;
  pRow->aVal[j] = 0;
  if( f.pValue ){
    /* One sqlite3_column_value() (which takes the connection mutex), then
    ** the sqlite3_value_*() accessors (which do not). */
    sqlite3_value *pVal = f.pValue;
    if( f.eType==SQLITE_NULL ) return SQLITE_OK;
    if( f.eType==SQLITE_INTEGER || f.eType==SQLITE_FLOAT ){
      pRow->aType[j] = SQLITE_INTEGER;
      pRow->aVal[j] = sqlite3_value_int64(pVal);
    }else{
      const void *pData = f.eType==SQLITE_TEXT
          ? (const void*)sqlite3_value_text(pVal)
          : sqlite3_value_blob(pVal);
      pRow->aLen[j] = sqlite3_value_bytes(pVal);
      rc = streamArenaPut(pRes, pData, pRow->aLen[j], &pRow->aVal[j]);
    }
  }else if( f.eType==SQLITE_INTEGER ){
    pRow->aVal[j] = f.iVal;
  }else if( f.eType!=SQLITE_NULL ){
    pRow->aLen[j] = f.n;
    rc = streamArenaPut(pRes, f.p, f.n, &pRow->aVal[j]);
  }
  return rc;
}

/* The scan's offset or timestamp column as an integer. */
static i64 streamScanInt(StreamScan *pScan, int iCol){
  StreamScanField f;
  sqlite3StreamScanColumn(pScan, iCol, &f);
  return f.pValue ? sqlite3_value_int64(f.pValue) : f.iVal;
}

/* Double the array *pa of *pnAlloc elements of sz bytes (to nInit if
** empty). */
static int streamGrow(void **pa, int *pnAlloc, size_t sz, int nInit){
  int nNew = *pnAlloc ? *pnAlloc*2 : nInit;
  void *aNew = sqlite3_realloc64(*pa, sz*(size_t)nNew);
  if( aNew==0 ) return SQLITE_NOMEM;
  *pa = aNew;
  *pnAlloc = nNew;
  return SQLITE_OK;
}

/* The StreamPollResult.aPart entry of pPart (aPart[i] of the poll),
** added with its topic name when the partition gives its first row. */
static int streamResultPart(StreamPollResult *pRes, StreamPart *pPart, int i){
  StreamPollPart *pP;
  int rc;
  if( pPart->iRes>=0 ) return SQLITE_OK;
  if( pRes->nPart==pRes->nPartAlloc
   && streamGrow((void**)&pRes->aPart, &pRes->nPartAlloc, sizeof(*pP), 16) ){
    return SQLITE_NOMEM;
  }
  pP = &pRes->aPart[pRes->nPart];
  pP->nTopic = (int)strlen(pPart->zTopic);
  rc = streamArenaPut(pRes, pPart->zTopic, pP->nTopic, &pP->iTopic);
  if( rc ) return rc;
  pP->iPartition = pPart->iPartition;
  pP->iOrder = i;
  pP->iTopicRank = pPart->iTopicRank;
  pP->iStart = pPart->iPos;    /* before its first row: where it reads from */
  pPart->iRes = pRes->nPart++;
  return SQLITE_OK;
}

/* Append the current row of a fetch statement (columns offset, key,
** value, headers, timestamp, and when bAttrs the storage attrs, whose
** codec decompresses the value).  The topic and partition are those of
** pPart, result partition iRes; iOffset is the message's offset, already
** read. */
static int streamRowAppend(StreamPollResult *pRes, StreamScan *pScan,
                           const StreamPart *pPart, i64 iOffset){
  const StreamPollPart *pP = &pRes->aPart[pPart->iRes];
  StreamPollRow *pRow;
  int rc;
  if( pRes->nRow==pRes->nAlloc
   && streamGrow((void**)&pRes->aRow, &pRes->nAlloc, sizeof(*pRow), 64) ){
    return SQLITE_NOMEM;
  }
  pRow = &pRes->aRow[pRes->nRow];
  pRow->aType[0] = SQLITE_TEXT;
  pRow->aVal[0] = pP->iTopic;
  pRow->aLen[0] = pP->nTopic;
  pRow->iPart = pPart->iRes;
  pRow->aType[1] = SQLITE_INTEGER;
  pRow->aVal[1] = pPart->iPartition;
  pRow->aType[2] = SQLITE_INTEGER;
  pRow->aVal[2] = iOffset;
  pRow->aType[6] = SQLITE_INTEGER;
  pRow->aVal[6] = streamScanInt(pScan, STREAM_SCAN_COL_TIMESTAMP);
  rc = streamColPut(pRes, pRow, pScan, STREAM_SCAN_COL_KEY, 3);
  if( rc==SQLITE_OK ){
    rc = streamColPut(pRes, pRow, pScan, STREAM_SCAN_COL_VALUE, 4);
  }
  if( rc==SQLITE_OK ){
    rc = streamColPut(pRes, pRow, pScan, STREAM_SCAN_COL_HEADERS, 5);
  }
  if( rc==SQLITE_OK ) pRes->nRow++;
  return rc;
}

static void streamPartsFree(StreamPart *a, int n){
  int i;
  for(i=0; i<n; i++) sqlite3_free(a[i].zTopic);
  sqlite3_free(a);
}

/* The member's assigned partitions, in (topic, partition) order. */
static int streamPartsLoad(StreamCtx *p, const char *zGroup,
                           const char *zMember, StreamPart **paPart,
                           int *pnPart, char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamStmt(p, STREAM_STMT_ASSIGNED, pzErr);
  StreamPart *a = 0;
  int n = 0, nAlloc = 0, rc = SQLITE_OK;
  *paPart = 0;
  *pnPart = 0;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_text(pStmt, 1, zGroup, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, zMember, -1, SQLITE_STATIC);
  while( sqlite3_step(pStmt)==SQLITE_ROW ){
    if( n==nAlloc ){
      int nNew = nAlloc ? nAlloc*2 : 16;
      StreamPart *aNew = sqlite3_realloc64(a, sizeof(*aNew)*nNew);
      if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
      a = aNew;
      nAlloc = nNew;
    }
    memset(&a[n], 0, sizeof(a[n]));
    a[n].zTopic = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 0));
    a[n].iPartition = sqlite3_column_int(pStmt, 1);
    a[n].iPos = sqlite3_column_type(pStmt, 2)==SQLITE_NULL ? -1
              : sqlite3_column_int64(pStmt, 2);
    a[n].bPaused = sqlite3_column_int(pStmt, 3);
    a[n].iStart = a[n].iPos;
    a[n].iRes = -1;
    n++;
    if( a[n-1].zTopic==0 ){ rc = SQLITE_NOMEM; break; }
    if( n>1 ){
      a[n-1].iTopicRank = a[n-2].iTopicRank
                        + (strcmp(a[n-1].zTopic, a[n-2].zTopic)!=0);
    }
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_reset(pStmt);
    if( rc ) sqlite3StreamDbErr(p->db, pzErr, rc);
  }else{
    sqlite3_reset(pStmt);
  }
  if( rc ){
    streamPartsFree(a, n);
    return rc;
  }
  *paPart = a;
  *pnPart = n;
  return SQLITE_OK;
}

/* Read one integer with a cached statement taking (?1 text, ?2, ?3 int)
** arguments per iStmt; *pbFound says whether a row came back. */
static int streamGetInt(StreamCtx *p, int iStmt, const char *zA,
                        const char *zB, i64 iC, i64 *piOut, int *pbFound,
                        char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamStmt(p, iStmt, pzErr);
  int rc;
  *pbFound = 0;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  if( iStmt==STREAM_STMT_COMMITTED_GET ){
    sqlite3_bind_text(pStmt, 1, zA, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 2, zB, -1, SQLITE_STATIC);
    sqlite3_bind_int64(pStmt, 3, iC);
  }else{
    sqlite3_bind_text(pStmt, 1, zB, -1, SQLITE_STATIC);
    sqlite3_bind_int64(pStmt, 2, iC);
  }
  if( sqlite3_step(pStmt)==SQLITE_ROW
   && sqlite3_column_type(pStmt, 0)!=SQLITE_NULL ){
    *piOut = sqlite3_column_int64(pStmt, 0);
    *pbFound = 1;
  }
  rc = sqlite3_reset(pStmt);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  return SQLITE_OK;
}

/* Resolve the position of one partition (committed offset, range check,
** auto.offset.reset).  *pbChanged is set if it differs from pPart->iPos. */
static int streamResolve(StreamCtx *p, const char *zGroup, int eReset,
                         StreamPart *pPart, int *pbChanged, char **pzErr){
  i64 iLso = 0, iHwm, iPos = pPart->iPos;
  int bFound, rc;
  const char *zT = pPart->zTopic;
  int iP = pPart->iPartition;
  *pbChanged = 0;
  rc = streamGetInt(p, STREAM_STMT_LOG_START, 0, zT, iP, &iLso, &bFound,
                    pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamHighWatermark(p, zT, iP, &iHwm, pzErr);
  if( rc ) return rc;
  if( iPos<0 ){
    rc = streamGetInt(p, STREAM_STMT_COMMITTED_GET, zGroup, zT, iP, &iPos,
                      &bFound, pzErr);
    if( rc ) return rc;
    if( !bFound ){
      if( eReset==STREAM_RESET_NONE ){
        return sqlite3StreamErr(pzErr, SQLITE_ERROR,
            "group %s has no committed offset for %s/%d and auto.offset.reset"
            " is none (log start offset %lld, high watermark %lld)",
            zGroup, zT, iP, iLso, iHwm);
      }
      iPos = eReset==STREAM_RESET_EARLIEST ? iLso : iHwm;
    }
  }
  if( iPos<iLso || iPos>iHwm ){
    if( eReset==STREAM_RESET_NONE ){
      return sqlite3StreamErr(pzErr, SQLITE_RANGE,
          "offset %lld of group %s on %s/%d is out of range: log start offset"
          " %lld, high watermark %lld, and auto.offset.reset is none"
          " (Kafka's OFFSET_OUT_OF_RANGE)",
          iPos, zGroup, zT, iP, iLso, iHwm);
    }
    iPos = eReset==STREAM_RESET_EARLIEST ? iLso : iHwm;
  }
  if( iPos!=pPart->iPos ){
    *pbChanged = 1;
    pPart->iPos = iPos;
    pPart->iStart = iPos;
  }
  return SQLITE_OK;
}

static int streamPositionSet(StreamCtx *p, const char *zGroup,
                             const char *zTopic, i64 iPartition, i64 iPos,
                             char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamStmt(p, STREAM_STMT_POSITION_SET, pzErr);
  int rc;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_text(pStmt, 1, zGroup, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, zTopic, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 3, iPartition);
  sqlite3_bind_int64(pStmt, 4, iPos);
  sqlite3_step(pStmt);
  rc = sqlite3_reset(pStmt);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  return SQLITE_OK;
}

/* Run one fetch statement (iStmt) from pPart's position (pPart is
** aPart[iPart] of the poll); rows go to pRes, and pPart->iPos moves past
** them in memory only.  With bCheck, the first row must be the one at the
** position: if it is not (or there is none), nothing is taken and *pbMiss
** is set. */
static int streamFetchRun(StreamCtx *p, int bHot, StreamPart *pPart,
                          int iPart, i64 nLimit, i64 nMaxBytes, i64 *pnBytes,
                          StreamPollResult *pRes, int bCheck, int *pbMiss,
                          char **pzErr){
  StreamScanner *pScanner = 0;
  StreamScan *pScan = 0;
  StreamScanArg aArg[4];
  int rc, nGot = 0;
  *pbMiss = 0;
  /* The messages of the partition from the position (the scan API:
  ** ext/scan.c), of the hot log only if bHot. */
  memset(aArg, 0, sizeof(aArg));
  aArg[0].zVal = pPart->zTopic;
  aArg[1].iVal = pPart->iPartition;
  aArg[2].iVal = pPart->iPos;
  aArg[3].iVal = nLimit;
  rc = sqlite3StreamScannerGet(p, &pScanner);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamScanOpen(pScanner, STREAM_SCAN_TOPIC|STREAM_SCAN_PART
        |STREAM_SCAN_OFF_LO|STREAM_SCAN_LIMIT|(bHot ? STREAM_SCAN_HOT_ONLY:0),
        4, aArg, &pScan, pzErr);
  }
  for(; rc==SQLITE_OK && !sqlite3StreamScanEof(pScan);
        rc = sqlite3StreamScanNext(pScan, pzErr)){
    const StreamPollRow *pRow;
    i64 iOffset = streamScanInt(pScan, STREAM_SCAN_COL_OFFSET);
    if( iOffset<0 || iOffset>STREAM_MAX_OFFSET ){
      rc = sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "partition %s/%d is"
          " damaged: message offset %lld (0..%lld)", pPart->zTopic,
          pPart->iPartition, iOffset, STREAM_MAX_OFFSET);
      break;
    }
    if( bCheck && nGot==0 && iOffset!=pPart->iPos ) break;
    if( pRes->nRow>0 && *pnBytes>=nMaxBytes ) break;   /* fetch.max.bytes */
    rc = streamResultPart(pRes, pPart, iPart);
    if( rc ) break;
    rc = streamRowAppend(pRes, pScan, pPart, iOffset);
    if( rc ){
      if( rc==SQLITE_CORRUPT ){
        sqlite3StreamErr(pzErr, rc, "corrupt compressed value in %s/%d",
                         pPart->zTopic, pPart->iPartition);
      }
      break;
    }
    pRow = &pRes->aRow[pRes->nRow-1];
    *pnBytes += pRow->aLen[3] + pRow->aLen[4] + pRow->aLen[5];
    pPart->iPos = iOffset + 1;
    nGot++;
  }
  sqlite3StreamScanClose(pScan);
  if( bCheck && nGot==0 ) *pbMiss = 1;
  pPart->nGot += nGot;
  pPart->bMore = (nGot==nLimit);
  return rc;
}

/* Fetch up to nLimit messages of one partition from its position into
** pRes; *pnBytes accumulates value+key+headers bytes.
**
** The common case costs one statement: the hot storage table is read from
** the position, and a first row at exactly the position proves that the
** position is in range (log start offset <= position < high watermark)
** and that every later message is hot (the hot tier is a suffix of the
** log).  Otherwise - a first poll, a position at the end of the log, below
** the log start offset, in a compaction gap, or in the warm tier - the
** position is checked (auto.offset.reset) and the messages are read from
** every tier when they are not all hot. */
static int streamFetch(StreamCtx *p, const char *zGroup, int eReset,
                       StreamPart *pPart, int iPart, i64 nLimit, i64 nMaxBytes,
                       i64 *pnBytes, StreamPollResult *pRes, char **pzErr){
  int rc, bMiss = 0, bFound, bChanged = 0;
  i64 iHotMin = 0;
  if( pPart->bChecked==0 ){
    rc = streamFetchRun(p, 1, pPart, iPart, nLimit,
                        nMaxBytes, pnBytes, pRes, 1, &bMiss, pzErr);
    if( rc || !bMiss ) return rc;
    rc = streamResolve(p, zGroup, eReset, pPart, &bChanged, pzErr);
    if( rc ) return rc;
    if( bChanged ) pPart->bDirty = 1;
    pPart->bChecked = 1;
  }
  rc = streamGetInt(p, STREAM_STMT_HOT_MIN, 0, pPart->zTopic,
                    pPart->iPartition, &iHotMin, &bFound, pzErr);
  if( rc ) return rc;
  return streamFetchRun(p, bFound && pPart->iPos>=iHotMin,
      pPart, iPart, nLimit, nMaxBytes, pnBytes, pRes, 0, &bMiss, pzErr);
}

static int streamPollDeliverAll(StreamCtx*, const char*, const char*, char**);

/* Commit the positions of a member's partitions that moved past the
** committed offset.  The caller has checked the membership. */
static int streamCommitPositions(StreamCtx *p, const char *zGroup,
                                 const StreamPart *aPart, int nPart,
                                 i64 *pnCommitted, char **pzErr){
  int i, rc = SQLITE_OK;
  *pnCommitted = 0;
  for(i=0; rc==SQLITE_OK && i<nPart; i++){
    i64 iCommitted = -1;
    int bFound;
    if( aPart[i].iPos<0 ) continue;
    rc = streamGetInt(p, STREAM_STMT_COMMITTED_GET, zGroup, aPart[i].zTopic,
                      aPart[i].iPartition, &iCommitted, &bFound, pzErr);
    if( rc==SQLITE_OK && (!bFound || iCommitted!=aPart[i].iPos) ){
      rc = sqlite3StreamCommitRaw(p, zGroup, aPart[i].zTopic,
                                  aPart[i].iPartition, aPart[i].iPos, 0,
                                  pzErr);
      (*pnCommitted)++;
    }
  }
  return rc;
}

int sqlite3StreamCommitSync(StreamCtx *p, const char *zGroup,
                            const char *zMember, i64 *pnCommitted,
                            char **pzErr){
  StreamPart *aPart = 0;
  int nPart = 0;
  int rc = sqlite3StreamMemberCheck(p, zGroup, zMember, 0, pzErr);
  *pnCommitted = 0;
  if( rc==SQLITE_OK ) rc = streamPollDeliverAll(p, zGroup, zMember, pzErr);
  if( rc==SQLITE_OK ) rc = streamPartsLoad(p, zGroup, zMember, &aPart, &nPart,
                                           pzErr);
  if( rc==SQLITE_OK ) rc = streamCommitPositions(p, zGroup, aPart, nPart,
                                                 pnCommitted, pzErr);
  streamPartsFree(aPart, nPart);
  return rc;
}

/* Number of partitions in aPart (resolved positions, or the committed
** offset / reset rule without writing) that hold messages at or after
** their position, read on connection db (the main one, or the auxiliary
** one for a long poll inside a statement). */
static int streamAvailable(StreamCtx *p, sqlite3 *db, const char *zGroup,
                           int eReset, const StreamPart *aPart, int nPart,
                           i64 *pnAvail){
  sqlite3_stmt *pStmt = 0;
  int rc, i;
  *pnAvail = 0;
  rc = sqlite3_prepare_v2(db,
      "SELECT " STREAM_HWM_SQL_BOUND ","
      " (SELECT offset FROM _stream_offsets WHERE group_id=?3 AND topic=?1"
      " AND partition=?2)", -1, &pStmt, 0);
  if( rc ) return rc;
  for(i=0; i<nPart; i++){
    if( aPart[i].bPaused ) continue;
    sqlite3_bind_text(pStmt, 1, aPart[i].zTopic, -1, SQLITE_STATIC);
    sqlite3_bind_int(pStmt, 2, aPart[i].iPartition);
    sqlite3_bind_text(pStmt, 3, zGroup, -1, SQLITE_STATIC);
    if( sqlite3_step(pStmt)==SQLITE_ROW ){
      i64 iHwm = sqlite3_column_int64(pStmt, 0);
      i64 iPos = aPart[i].iPos;
      if( iPos<0 ){
        if( sqlite3_column_type(pStmt, 1)!=SQLITE_NULL ){
          iPos = sqlite3_column_int64(pStmt, 1);
        }else{
          iPos = eReset==STREAM_RESET_EARLIEST ? 0 : iHwm;
        }
      }
      if( iHwm>iPos ) (*pnAvail)++;
    }
    sqlite3_reset(pStmt);
  }
  STREAM_UNUSED(p);
  return sqlite3_finalize(pStmt);
}

/* Wait up to nWaitMs for messages on the partitions, checking on db. */
static int streamWaitOn(StreamCtx *p, sqlite3 *db, const char *zGroup,
                        int eReset, const StreamPart *aPart, int nPart,
                        i64 nWaitMs, i64 *pnAvail){
  i64 iStart = sqlite3StreamNow(p);
  i64 nSleep = 250;            /* microseconds, doubling to 8 ms */
  int rc;
  for(;;){
    rc = streamAvailable(p, db, zGroup, eReset, aPart, nPart, pnAvail);
    if( rc==SQLITE_BUSY ) rc = SQLITE_OK, *pnAvail = 0;
    if( rc || *pnAvail>0 ) return rc;
    if( sqlite3StreamNow(p) - iStart >= nWaitMs ) return SQLITE_OK;
    rc = sqlite3StreamNap(p, nSleep);   /* sqlite3_interrupt() ends it */
    if( rc ) return rc;
    if( nSleep<8000 ) nSleep *= 2;
  }
}

/* The auxiliary read-only connection for long polls inside a statement,
** or NULL if the database has no file (memory, temporary) or is not in
** WAL mode (in rollback mode our read lock would keep producers out). */
static sqlite3 *streamAuxDb(StreamCtx *p){
  const char *zFile = sqlite3_db_filename(p->db, "main");
  sqlite3_stmt *pStmt = 0;
  int bWal = 0;
  if( zFile==0 || zFile[0]==0 ) return 0;
  if( sqlite3_prepare_v2(p->db, "PRAGMA main.journal_mode", -1, &pStmt, 0)
      ==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    bWal = sqlite3_stricmp((const char*)sqlite3_column_text(pStmt, 0),
                           "wal")==0;
  }
  sqlite3_finalize(pStmt);
  if( !bWal ) return 0;
  if( p->dbAux==0 ){
    if( sqlite3_open_v2(zFile, &p->dbAux, SQLITE_OPEN_READONLY, 0)
        !=SQLITE_OK ){
      sqlite3_close_v2(p->dbAux);
      p->dbAux = 0;
      return 0;
    }
    sqlite3_busy_timeout(p->dbAux, 100);
  }
  return p->dbAux;
}

int sqlite3StreamWait(StreamCtx *p, const char *zGroup, const char *zMember,
                      i64 nWaitMs, i64 *pnAvail, char **pzErr){
  StreamMember m;
  StreamPart *aPart = 0;
  int nPart = 0, rc;
  *pnAvail = 0;
  if( nWaitMs<0 || nWaitMs>STREAM_MAX_BLOCK_MS ){
    return sqlite3StreamErr(pzErr, SQLITE_RANGE,
        "wait_ms must be between 0 and %d, got %lld", STREAM_MAX_BLOCK_MS,
        nWaitMs);
  }
  rc = sqlite3StreamMemberCheck(p, zGroup, zMember, &m, pzErr);
  if( rc==SQLITE_OK ) rc = streamPartsLoad(p, zGroup, zMember, &aPart, &nPart,
                                           pzErr);
  if( rc==SQLITE_OK ){
    /* Called as the only thing in its statement (SELECT stream_wait(...)),
    ** with no transaction open, each check sees the latest commits. */
    sqlite3 *db = p->db;
    if( !sqlite3_get_autocommit(p->db) ){
      db = streamAuxDb(p);
      if( db==0 ) nWaitMs = 0, db = p->db;
    }
    rc = streamWaitOn(p, db, zGroup, m.eReset, aPart, nPart, nWaitMs, pnAvail);
    if( rc ) rc = sqlite3StreamDbErr(db, pzErr, rc);
  }
  streamPartsFree(aPart, nPart);
  return rc;
}

int sqlite3StreamPoll(StreamCtx *p, const char *zGroup, const char *zMember,
                      i64 nMax, i64 nCap, i64 nWaitMs, int bMayRerun,
                      StreamPollResult *pRes, char **pzErr){
  StreamMember m;
  StreamPart *aPart = 0;
  int nPart = 0, nActive = 0, i, rc, bOpen = 0, bStaleLock = 0;
  i64 nBytes = 0, iNow, nQuota, nLeft;

  pRes->nRow = 0;
  pRes->nArena = 0;
  pRes->nPart = 0;
  if( nMax==0 || nMax<-1 ){
    return sqlite3StreamErr(pzErr, SQLITE_RANGE,
                            "max_records must be >= 1, got %lld", nMax);
  }
  if( nWaitMs<0 || nWaitMs>STREAM_MAX_BLOCK_MS ){
    return sqlite3StreamErr(pzErr, SQLITE_RANGE,
        "wait_ms must be between 0 and %d, got %lld", STREAM_MAX_BLOCK_MS,
        nWaitMs);
  }

  /* A long poll waits before writing anything: a write lock held while
  ** waiting would keep the producers out.
  **
  ** The statement running this poll reads one snapshot of the database,
  ** taken when it started, so messages committed by others during the
  ** wait are not visible to it.  The wait therefore watches them on a
  ** private read-only connection; when they arrive and the statement runs
  ** in autocommit mode, the poll fails with SQLITE_SCHEMA, which makes
  ** sqlite3_step() (of a statement from sqlite3_prepare_v2/v3) reset the
  ** statement - ending its snapshot - and run it again at once.  The rerun
  ** does not wait: it returns the new messages (and its writes do not
  ** meet a stale snapshot).  Inside an explicit transaction the snapshot
  ** cannot move: when messages arrive, the poll returns no rows and writes
  ** nothing (a write from a stale snapshot would fail with SQLITE_BUSY);
  ** the next poll returns them at once. */
  if( nWaitMs>0 && p->bPollRerun ){
    p->bPollRerun = 0;
    nWaitMs = 0;
  }
  if( nWaitMs>0 && sqlite3_txn_state(p->db, "main")!=SQLITE_TXN_WRITE ){
    int bRerun = 0, bStale = 0;
    rc = streamPartsLoad(p, zGroup, zMember, &aPart, &nPart, pzErr);
    if( rc==SQLITE_OK && nPart>0 ){
      sqlite3 *dbAux = streamAuxDb(p);
      i64 nAvail = 0;
      rc = streamAvailable(p, p->db, zGroup, STREAM_RESET_LATEST, aPart, nPart,
                           &nAvail);
      if( rc==SQLITE_OK && nAvail==0 && dbAux ){
        rc = streamWaitOn(p, dbAux, zGroup, STREAM_RESET_LATEST, aPart, nPart,
                          nWaitMs, &nAvail);
        if( sqlite3_get_autocommit(p->db) ){
          bRerun = rc==SQLITE_OK && bMayRerun;
        }else{
          bStale = rc==SQLITE_OK && nAvail>0;
        }
      }
      if( rc ) rc = sqlite3StreamDbErr(dbAux ? dbAux : p->db, pzErr, rc);
    }
    streamPartsFree(aPart, nPart);
    aPart = 0;
    nPart = 0;
    if( rc ) return rc;
    if( bStale ) return SQLITE_OK;
    if( bRerun ){
      p->bPollRerun = 1;
      return sqlite3StreamErr(pzErr, SQLITE_SCHEMA, "stream_poll: messages"
          " arrived during the wait: run the statement again to read them");
    }
  }

  /* In autocommit mode the writes of the poll are one transaction. */
  rc = sqlite3StreamAutoBegin(p, "stream_poll", &bOpen, &bStaleLock, pzErr);
  if( rc ){
    if( bStaleLock && bMayRerun ){
      sqlite3_free(*pzErr);
      *pzErr = 0;
      return sqlite3StreamErr(pzErr, SQLITE_SCHEMA, "stream_poll: the"
          " statement's snapshot is stale: run the statement again");
    }
    return rc;
  }
  rc = sqlite3StreamMemberCheck(p, zGroup, zMember, &m, pzErr);
  if( rc==SQLITE_OK && p->pPollOpen ){
    /* Rows earlier polls handed out whose positions are not written. */
    rc = streamPollDeliverAll(p, zGroup, zMember, pzErr);
  }
  if( rc==SQLITE_OK ){
    if( nMax<0 ) nMax = m.maxPollRecords;
    if( nCap>0 && nCap<nMax ) nMax = nCap;
    iNow = sqlite3StreamNow(p);
    rc = streamPartsLoad(p, zGroup, zMember, &aPart, &nPart, pzErr);
  }
  if( rc ) return sqlite3StreamAutoEnd(p, "stream_poll", bOpen, rc, pzErr);

  /* Auto-commit what the previous polls returned (Kafka's at-least-once). */
  if( m.bAutoCommit
   && (m.autoCommittedAt<0 || iNow - m.autoCommittedAt>=m.autoCommitIntervalMs)){
    i64 n;
    rc = streamCommitPositions(p, zGroup, aPart, nPart, &n, pzErr);
    if( rc==SQLITE_OK ){
      char *zSql = sqlite3_mprintf("UPDATE _stream_members SET"
          " autocommitted_at=%lld WHERE group_id=%Q AND member_id=%Q",
          iNow, zGroup, zMember);
      rc = zSql ? sqlite3_exec(p->db, zSql, 0, 0, 0) : SQLITE_NOMEM;
      sqlite3_free(zSql);
      if( rc && rc!=SQLITE_NOMEM ) rc = sqlite3StreamDbErr(p->db, pzErr, rc);
    }
  }

  /* Start the partitions that have no position yet (committed offset or
  ** auto.offset.reset); the others are checked by their fetch. */
  for(i=0; rc==SQLITE_OK && i<nPart; i++){
    int bChanged;
    if( aPart[i].bPaused ) continue;
    nActive++;
    if( aPart[i].iPos>=0 ) continue;
    rc = streamResolve(p, zGroup, m.eReset, &aPart[i], &bChanged, pzErr);
    aPart[i].bChecked = 1;
    aPart[i].bDirty = bChanged;
  }

  /* Fetch: a quota per partition from a rotating start, then the rest. */
  if( rc==SQLITE_OK && nActive>0 ){
    int iPass;
    nQuota = (nMax + nActive - 1) / nActive;
    nLeft = nMax;
    if( pRes->nAlloc<nMax && nMax<=STREAM_POLL_PREALLOC ){
      StreamPollRow *aNew = sqlite3_realloc64(pRes->aRow, sizeof(*aNew)*nMax);
      if( aNew==0 ) rc = SQLITE_NOMEM;
      else pRes->aRow = aNew, pRes->nAlloc = (int)nMax;
    }
    for(iPass=0; iPass<2 && nLeft>0 && rc==SQLITE_OK; iPass++){
      int k;
      for(k=0; k<nPart && nLeft>0 && rc==SQLITE_OK; k++){
        /* poll_cursor is read from storage: any i64, negative too. */
        i64 iRot = m.pollCursor % nPart;
        int iPart = (int)((k + iRot + nPart) % nPart);
        StreamPart *pPart = &aPart[iPart];
        i64 nLimit;
        if( pPart->bPaused ) continue;
        if( iPass==1 && !pPart->bMore ) continue;
        if( pRes->nRow>0 && nBytes>=m.fetchMaxBytes ) break;
        nLimit = iPass==0 ? (nQuota<nLeft ? nQuota : nLeft) : nLeft;
        rc = streamFetch(p, zGroup, m.eReset, pPart, iPart, nLimit,
                         m.fetchMaxBytes, &nBytes, pRes, pzErr);
        nLeft = nMax - pRes->nRow;
      }
    }
  }
  /* Store the positions that auto.offset.reset or a range check moved;
  ** the rows fetched move them only once delivered (StreamPollOpen). */
  for(i=0; rc==SQLITE_OK && i<nPart; i++){
    if( aPart[i].bDirty ){
      rc = streamPositionSet(p, zGroup, aPart[i].zTopic, aPart[i].iPartition,
                             aPart[i].iStart, pzErr);
    }
  }
  if( rc==SQLITE_OK ){
    sqlite3_stmt *pStmt = sqlite3StreamStmt(p, STREAM_STMT_MEMBER_BEAT, pzErr);
    if( pStmt==0 ){
      rc = sqlite3StreamStmtErr(p);
    }else{
      sqlite3_bind_text(pStmt, 1, zGroup, -1, SQLITE_STATIC);
      sqlite3_bind_text(pStmt, 2, zMember, -1, SQLITE_STATIC);
      sqlite3_bind_int64(pStmt, 3, iNow);
      sqlite3_bind_int(pStmt, 4, 1);
      sqlite3_step(pStmt);
      rc = sqlite3_reset(pStmt);
      if( rc ) sqlite3StreamDbErr(p->db, pzErr, rc);
    }
  }
  streamPartsFree(aPart, nPart);
  rc = sqlite3StreamAutoEnd(p, "stream_poll", bOpen, rc, pzErr);
  if( rc ) pRes->nRow = 0, pRes->nArena = 0, pRes->nPart = 0;
  return rc;
}

void sqlite3StreamPollOpenFree(StreamPollOpen *pOpen){
  if( pOpen ){
    sqlite3StreamPollResultFree(&pOpen->res);
    sqlite3_free(pOpen->zGroup);
    sqlite3_free(pOpen);
  }
}

void sqlite3StreamPollFreeAll(StreamCtx *p){
  while( p->pPollOpen ){
    StreamPollOpen *pNext = p->pPollOpen->pNext;
    sqlite3StreamPollOpenFree(p->pPollOpen);
    p->pPollOpen = pNext;
  }
}

void sqlite3StreamPollRegister(StreamCtx *p, StreamPollOpen *pOpen, int bOn){
  StreamPollOpen **pp;
  for(pp=&p->pPollOpen; *pp && *pp!=pOpen; pp=&(*pp)->pNext){}
  if( bOn && *pp==0 ){
    pOpen->pNext = p->pPollOpen;
    p->pPollOpen = pOpen;
  }else if( !bOn && *pp ){
    *pp = pOpen->pNext;
    pOpen->pNext = 0;
  }
}

int sqlite3StreamPollDeliver(StreamCtx *p, StreamPollOpen *pOpen,
                             char **pzErr){
  StreamPollResult *pRes = &pOpen->res;
  sqlite3_stmt *pStmt;
  i64 *aNext;
  int i, rc, bOpen = 0;
  if( pOpen->nDelivered<=pOpen->nWritten ) return SQLITE_OK;
  if( pOpen->bExplicit && (sqlite3_get_autocommit(p->db)
                           || pOpen->nTxnEnd!=p->nTxnEnd) ){
    /* The transaction of the poll ended (COMMIT or ROLLBACK while its
    ** statement ran): what was processed in it cannot be told, so the
    ** rows come again. */
    pOpen->nWritten = pOpen->nDelivered;
    return SQLITE_OK;
  }
  aNext = sqlite3_malloc64(sizeof(i64)*(pRes->nPart>0 ? pRes->nPart : 1));
  if( aNext==0 ) return SQLITE_NOMEM;
  for(i=0; i<pRes->nPart; i++) aNext[i] = -1;
  for(i=pOpen->nWritten; i<pOpen->nDelivered; i++){
    const StreamPollRow *pRow = &pRes->aRow[i];
    if( pRow->aVal[2]>=aNext[pRow->iPart] ){
      aNext[pRow->iPart] = pRow->aVal[2] + 1;
    }
  }
  rc = sqlite3StreamAutoBegin(p, "stream_poll", &bOpen, 0, pzErr);
  if( rc==SQLITE_OK && bOpen ){
    /* A transaction of its own, after the poll's: the member may have
    ** been fenced or lost partitions since (the update checks both). */
    rc = sqlite3StreamMemberCheck(p, pOpen->zGroup, pOpen->zMember, 0, pzErr);
  }
  for(i=0; rc==SQLITE_OK && i<pRes->nPart; i++){
    StreamPollPart *pP = &pRes->aPart[i];
    if( aNext[i]<0 ) continue;
    pStmt = sqlite3StreamStmt(p, STREAM_STMT_POSITION_ADVANCE, pzErr);
    if( pStmt==0 ){ rc = sqlite3StreamStmtErr(p); break; }
    sqlite3_bind_text(pStmt, 1, pOpen->zGroup, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 2, pRes->zArena + pP->iTopic, pP->nTopic,
                      SQLITE_STATIC);
    sqlite3_bind_int(pStmt, 3, pP->iPartition);
    sqlite3_bind_text(pStmt, 4, pOpen->zMember, -1, SQLITE_STATIC);
    sqlite3_bind_int64(pStmt, 5, aNext[i]);
    sqlite3_bind_int64(pStmt, 6, pP->iStart);
    sqlite3_step(pStmt);
    rc = sqlite3_reset(pStmt);
    if( rc ) sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  rc = sqlite3StreamAutoEnd(p, "stream_poll", bOpen, rc, pzErr);
  if( rc==SQLITE_OK ){
    for(i=0; i<pRes->nPart; i++){
      if( aNext[i]>=0 ) pRes->aPart[i].iStart = aNext[i];
    }
    pOpen->nWritten = pOpen->nDelivered;
  }
  sqlite3_free(aNext);
  return rc;
}

/* Write what the polls of a member (zMember NULL: of any member of the
** group) have handed out and not written yet; free the orphans done. */
static int streamPollDeliverAll(StreamCtx *p, const char *zGroup,
                                const char *zMember, char **pzErr){
  StreamPollOpen **pp = &p->pPollOpen;
  while( *pp ){
    StreamPollOpen *pOpen = *pp;
    if( strcmp(pOpen->zGroup, zGroup)==0
     && (zMember==0 || strcmp(pOpen->zMember, zMember)==0) ){
      int rc = sqlite3StreamPollDeliver(p, pOpen, pzErr);
      if( rc ) return rc;
      if( pOpen->bOrphan ){
        *pp = pOpen->pNext;
        sqlite3StreamPollOpenFree(pOpen);
        continue;
      }
    }
    pp = &pOpen->pNext;
  }
  return SQLITE_OK;
}

/* Resolve a seek target: an offset, 'earliest' or 'latest'. */
static int streamTarget(StreamCtx *p, const char *zTopic, i64 iPartition,
                        sqlite3_value *pTarget, i64 *piOffset, char **pzErr){
  i64 iLso = 0, iHwm;
  int bFound, rc;
  rc = streamGetInt(p, STREAM_STMT_LOG_START, 0, zTopic, iPartition, &iLso,
                    &bFound, pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamHighWatermark(p, zTopic, (int)iPartition, &iHwm, pzErr);
  }
  if( rc ) return rc;
  if( sqlite3_value_type(pTarget)==SQLITE_INTEGER ){
    *piOffset = sqlite3_value_int64(pTarget);
    if( *piOffset<iLso || *piOffset>iHwm ){
      return sqlite3StreamErr(pzErr, SQLITE_RANGE,
          "offset %lld out of range for %s/%lld: %lld (log start offset)"
          " to %lld (high watermark)", *piOffset, zTopic, iPartition,
          iLso, iHwm);
    }
    return SQLITE_OK;
  }
  if( sqlite3_value_type(pTarget)==SQLITE_TEXT ){
    const char *z = (const char*)sqlite3_value_text(pTarget);
    if( z && strcmp(z, "earliest")==0 ){ *piOffset = iLso; return SQLITE_OK; }
    if( z && strcmp(z, "latest")==0 ){ *piOffset = iHwm; return SQLITE_OK; }
  }
  return sqlite3StreamErr(pzErr, SQLITE_MISMATCH,
      "seek target must be an offset, 'earliest' or 'latest'");
}

int sqlite3StreamSeek(StreamCtx *p, const char *zGroup, const char *zTopic,
                      i64 iPartition, sqlite3_value *pTarget, i64 *piOffset,
                      char **pzErr){
  StreamTopic t;
  sqlite3_stmt *pStmt = 0;
  int rc, bAssigned = 0;
  if( zGroup==0 || zGroup[0]==0 ){
    return sqlite3StreamErr(pzErr, SQLITE_MISUSE, "group id must be text");
  }
  rc = sqlite3StreamTopicGet(p, zTopic, &t, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamPartitionCheck(zTopic, &t, iPartition,
                                                       pzErr);
  /* Rows handed out before the seek move the position first: the seek
  ** has the last word. */
  if( rc==SQLITE_OK ) rc = streamPollDeliverAll(p, zGroup, 0, pzErr);
  if( rc==SQLITE_OK ) rc = streamTarget(p, zTopic, iPartition, pTarget,
                                        piOffset, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamGroupExpire(p, zGroup, 0, pzErr);
  if( rc ) return rc;
  rc = sqlite3_prepare_v2(p->db, "SELECT 1 FROM _stream_assignments"
      " WHERE group_id=?1 AND topic=?2 AND partition=?3", -1, &pStmt, 0);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  sqlite3_bind_text(pStmt, 1, zGroup, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, zTopic, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 3, iPartition);
  bAssigned = sqlite3_step(pStmt)==SQLITE_ROW;
  sqlite3_finalize(pStmt);
  if( bAssigned ){
    /* Kafka's seek: the owner's next poll starts there. */
    return streamPositionSet(p, zGroup, zTopic, iPartition, *piOffset, pzErr);
  }
  /* No live owner: reset the committed offset (kafka-consumer-groups
  ** --reset-offsets). */
  return sqlite3StreamCommitRaw(p, zGroup, zTopic, iPartition, *piOffset, 0,
                                pzErr);
}

int sqlite3StreamPause(StreamCtx *p, const char *zGroup, const char *zMember,
                       const char *zTopic, i64 iPartition, int bPause,
                       char **pzErr){
  int bOwns, rc;
  char *zSql;
  rc = sqlite3StreamMemberCheck(p, zGroup, zMember, 0, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamOwns(p, zGroup, zMember, zTopic,
                                             iPartition, &bOwns, pzErr);
  if( rc ) return rc;
  if( !bOwns ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "member %s of group %s is not assigned %s/%lld", zMember, zGroup,
        zTopic, iPartition);
  }
  zSql = sqlite3_mprintf("UPDATE _stream_assignments SET paused=%d"
      " WHERE group_id=%Q AND topic=%Q AND partition=%lld",
      bPause, zGroup, zTopic, iPartition);
  rc = zSql ? sqlite3_exec(p->db, zSql, 0, 0, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if( rc && rc!=SQLITE_NOMEM ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  return rc;
}

int sqlite3StreamOffsetForTime(StreamCtx *p, const char *zTopic,
                               i64 iPartition, i64 iTime, i64 *piOffset,
                               char **pzErr){
  StreamTopic t;
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3StreamTopicGet(p, zTopic, &t, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamPartitionCheck(zTopic, &t, iPartition,
                                                       pzErr);
  if( rc ) return rc;
  *piOffset = -1;
  rc = sqlite3_prepare_v2(p->db,
      "SELECT min(offset) FROM stream_messages WHERE topic=?1 AND"
      " partition=?2 AND timestamp>=?3", -1, &pStmt, 0);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  sqlite3_bind_text(pStmt, 1, zTopic, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 2, iPartition);
  sqlite3_bind_int64(pStmt, 3, iTime);
  if( sqlite3_step(pStmt)==SQLITE_ROW
   && sqlite3_column_type(pStmt, 0)!=SQLITE_NULL ){
    *piOffset = sqlite3_column_int64(pStmt, 0);
  }
  rc = sqlite3_finalize(pStmt);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  return SQLITE_OK;
}

int sqlite3StreamDeadLetter(StreamCtx *p, const char *zGroup,
                            const char *zMember, const char *zTopic,
                            i64 iPartition, i64 iOffset, const char *zReason,
                            i64 *piDlqOffset, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  StreamTopic t;
  StreamMsg msg;
  char *zDlq = 0, *zHeaders = 0;
  sqlite3_value *pKey = 0, *pValue = 0;
  i64 iPos = -1, n;
  int bOwns, rc, bFound;

  rc = sqlite3StreamMemberCheck(p, zGroup, zMember, 0, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamTopicGet(p, zTopic, &t, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamPartitionCheck(zTopic, &t, iPartition,
                                                       pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamOwns(p, zGroup, zMember, zTopic,
                                             iPartition, &bOwns, pzErr);
  if( rc ) return rc;
  if( !bOwns ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "member %s of group %s is not assigned %s/%lld", zMember, zGroup,
        zTopic, iPartition);
  }
  /* The position below is compared with the message: rows handed out by
  ** a poll still running move it first. */
  rc = streamPollDeliverAll(p, zGroup, zMember, pzErr);
  if( rc ) return rc;
  if( zReason==0 ){
    return sqlite3StreamErr(pzErr, SQLITE_MISUSE,
                            "reason must be text, not NULL");
  }
  if( iOffset<0 || iOffset>STREAM_MAX_OFFSET ){   /* iOffset+1 below */
    return sqlite3StreamErr(pzErr, SQLITE_RANGE,
        "offset must be between 0 and %lld, got %lld", STREAM_MAX_OFFSET,
        iOffset);
  }
  zDlq = sqlite3_mprintf("%s.dlq", zTopic);
  if( zDlq==0 ) return SQLITE_NOMEM;
  if( strlen(zDlq)>STREAM_MAX_TOPIC_NAME ){
    rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "dead-letter topic name %s.dlq would exceed %d characters",
        zTopic, STREAM_MAX_TOPIC_NAME);
    goto out;
  }

  /* The message and its new headers. */
  rc = sqlite3_prepare_v2(p->db,
      "SELECT key, value, json_patch(coalesce(headers, '{}'), json_object("
      "'dlq.topic', topic, 'dlq.partition', partition, 'dlq.offset', offset,"
      " 'dlq.group', ?4, 'dlq.reason', ?5, 'dlq.timestamp', timestamp))"
      " FROM stream_messages WHERE topic=?1 AND partition=?2 AND offset=?3",
      -1, &pStmt, 0);
  if( rc ){ sqlite3StreamDbErr(p->db, pzErr, rc); goto out; }
  sqlite3_bind_text(pStmt, 1, zTopic, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 2, iPartition);
  sqlite3_bind_int64(pStmt, 3, iOffset);
  sqlite3_bind_text(pStmt, 4, zGroup, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 5, zReason, -1, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    rc = SQLITE_OK;
    pKey = sqlite3_value_dup(sqlite3_column_value(pStmt, 0));
    pValue = sqlite3_value_dup(sqlite3_column_value(pStmt, 1));
    zHeaders = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 2));
    if( !pKey || !pValue || !zHeaders ) rc = SQLITE_NOMEM;
  }else if( rc!=SQLITE_DONE ){              /* e.g. a damaged segment */
    rc = sqlite3StreamDbErr(p->db, pzErr, sqlite3_reset(pStmt));
  }else{
    rc = sqlite3StreamErr(pzErr, SQLITE_NOTFOUND,
        "no message at %s/%lld offset %lld", zTopic, iPartition, iOffset);
  }
  sqlite3_finalize(pStmt);
  pStmt = 0;
  if( rc ) goto out;

  /* The dead-letter topic, created like its source if missing. */
  rc = sqlite3StreamTopicGet(p, zDlq, &t, 0);
  if( rc==SQLITE_NOTFOUND ){
    rc = sqlite3StreamTopicCreate(p, zDlq, t.nPartition>0 ? t.nPartition : 1,
                                  0, pzErr);
  }
  if( rc ) goto out;
  memset(&msg, 0, sizeof(msg));
  rc = sqlite3StreamMsgField(&msg, 0, pKey, "key", pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamMsgField(&msg, 1, pValue, "value",
                                                 pzErr);
  if( rc ) goto out;
  msg.iPartition = STREAM_UNSET;   /* the DLQ's own partitioner */
  msg.iTimestamp = STREAM_UNSET;
  msg.zHeaders = zHeaders;
  msg.nHeaders = (int)strlen(zHeaders);
  rc = sqlite3StreamProduce(p, zDlq, &msg, 0, piDlqOffset, pzErr);
  if( rc ) goto out;

  /* Commit past the message (and move the position there if behind). */
  rc = sqlite3_prepare_v2(p->db, "SELECT position FROM _stream_assignments"
      " WHERE group_id=?1 AND topic=?2 AND partition=?3", -1, &pStmt, 0);
  if( rc ){ sqlite3StreamDbErr(p->db, pzErr, rc); goto out; }
  sqlite3_bind_text(pStmt, 1, zGroup, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, zTopic, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 3, iPartition);
  if( sqlite3_step(pStmt)==SQLITE_ROW
   && sqlite3_column_type(pStmt, 0)!=SQLITE_NULL ){
    iPos = sqlite3_column_int64(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  pStmt = 0;
  if( iPos<iOffset+1 ){
    rc = streamPositionSet(p, zGroup, zTopic, iPartition, iOffset+1, pzErr);
  }
  if( rc==SQLITE_OK ){
    rc = streamGetInt(p, STREAM_STMT_COMMITTED_GET, zGroup, zTopic, iPartition,
                      &n, &bFound, pzErr);
  }
  if( rc==SQLITE_OK && (!bFound || n<iOffset+1) ){
    rc = sqlite3StreamCommitRaw(p, zGroup, zTopic, iPartition, iOffset+1, 0,
                                pzErr);
  }

 out:
  sqlite3_value_free(pKey);
  sqlite3_value_free(pValue);
  sqlite3_free(zHeaders);
  sqlite3_free(zDlq);
  return rc;
}
