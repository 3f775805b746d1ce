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
#ifdef __linux__
# include <poll.h>
# include <sys/inotify.h>
# include <unistd.h>
#endif

void sqlite3StreamPollResultFree(StreamPollResult *pRes){
  sqlite3_free(pRes->aRow);
  sqlite3_free(pRes->zArena);
  sqlite3_free(pRes->aPart);
  memset(pRes, 0, sizeof(*pRes));
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
  int bEnd;                    /* Its fetch read to the end of the log */
  int bChecked;                /* Position checked by streamResolve */
  i64 iStart;                  /* The position the poll reads from */
  int iTopicRank;              /* Rank of its topic among the member's */
  int iRes;                    /* Its StreamPollResult.aPart entry, or -1 */
  i64 iMark;                   /* Its mark as read (streamPartsRead) */
  StreamPosition *pPos;        /* The member's position (connection) */
};

/* Store column iCol of the scan's current row as column j (key, value or
** headers) of pRow (values come decoded: ext/scan.c). */
static int streamColPut(StreamPollResult *pRes, StreamPollRow *pRow,
                        StreamScan *pScan, int iCol, int j){
  StreamScanField f;
  int rc;
  /* A hot row of its own: the statement's value, no field. */
  f.pValue = sqlite3StreamScanHotValue(pScan, iCol);
  if( f.pValue ){
    f.eType = sqlite3_value_type(f.pValue);
  }else{
    rc = sqlite3StreamScanColumn(pScan, iCol, &f);
    if( rc ) return rc;
  }
  rc = SQLITE_OK;
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
  pP->pPos = pPart->pPos;
  pP->iVer = pPart->pPos ? pPart->pPos->iVer : 0;
  pPart->iRes = pRes->nPart++;
  return SQLITE_OK;
}

/* The batch row whose stored bytes a fetch holds in the result arena:
** records of it are served from there, no field copied on its own. */
typedef struct StreamHeld StreamHeld;
struct StreamHeld {
  i64 iRow;                    /* sqlite3StreamScanBatch() row, 0: none */
  i64 iOff;                    /* Its bytes' offset in the arena */
  const u8 *pBatch;            /* The scan's copy of its bytes */
};

/* Field j (key, value or headers) of pRow: bytes p[n] of type eType, at
** their place in the held batch row. */
static void streamHeldField(StreamPollRow *pRow, const StreamHeld *pH, int j,
                            int eType, const u8 *p, int n){
  pRow->aType[j] = (u8)eType;
  pRow->aLen[j] = eType==SQLITE_NULL ? 0 : n;
  pRow->aVal[j] = eType==SQLITE_NULL ? 0 : pH->iOff + (p - pH->pBatch);
}

/* The columns of a row that are not its record's fields: topic,
** partition (result partition pP, poll partition pPart), offset and the
** timestamp's type. */
static void streamRowHead(StreamPollRow *pRow, const StreamPollPart *pP,
                          const StreamPart *pPart, i64 iOffset){
  pRow->aType[0] = SQLITE_TEXT;
  pRow->aVal[0] = pP->iTopic;
  pRow->aLen[0] = pP->nTopic;
  pRow->iPart = pPart->iRes;
  pRow->aType[1] = SQLITE_INTEGER;
  pRow->aVal[1] = pPart->iPartition;
  pRow->aType[2] = SQLITE_INTEGER;
  pRow->aVal[2] = iOffset;
  pRow->aType[6] = SQLITE_INTEGER;
}

/* Append the current message of a fetch's scan.  The topic and partition
** are those of pPart, result partition iRes; iOffset is the message's
** offset, already read; r its record if it is an uncompressed record of
** a batch (sqlite3StreamScanRecord()).  A record (the common case) is served
** from its batch row, whose stored bytes are copied into the arena once
** for all its records (pHeld); other messages copy their key, value and
** headers (values come decoded: ext/scan.c). */
static int streamRowAppend(StreamPollResult *pRes, StreamScan *pScan,
                           const StreamBatchRec *r, const StreamPart *pPart,
                           i64 iOffset, StreamHeld *pHeld){
  const StreamPollPart *pP = &pRes->aPart[pPart->iRes];
  StreamPollRow *pRow;
  int rc;
  if( pRes->nRow==pRes->nAlloc
   && streamGrow((void**)&pRes->aRow, &pRes->nAlloc, sizeof(*pRow), 64) ){
    return SQLITE_NOMEM;
  }
  pRow = &pRes->aRow[pRes->nRow];
  streamRowHead(pRow, pP, pPart, iOffset);
  if( r ){
    const u8 *pBatch;
    int nBatch;
    i64 iBatchRow;
    if( sqlite3StreamScanBatch(pScan, &pBatch, &nBatch, &iBatchRow)
     && (iBatchRow!=pHeld->iRow || pBatch!=pHeld->pBatch) ){
      rc = streamArenaPut(pRes, pBatch, nBatch, &pHeld->iOff);
      if( rc ) return rc;
      pHeld->iRow = iBatchRow;
      pHeld->pBatch = pBatch;
    }
    pRow->aVal[6] = r->iTimestamp;
    streamHeldField(pRow, pHeld, 3, r->eKey, r->pKey, r->nKey);
    streamHeldField(pRow, pHeld, 4, r->eValue, r->pValue, r->nValue);
    streamHeldField(pRow, pHeld, 5, r->eHeaders, r->pHeaders, r->nHeaders);
    pRes->nRow++;
    return SQLITE_OK;
  }
  pRow->aVal[6] = sqlite3StreamScanInt(pScan, STREAM_SCAN_COL_TIMESTAMP);
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

/*
** Positions.  A member's positions live in the StreamIncarnation of the
** connection that joined it, as a Kafka client keeps them: a poll reads
** them and the cursor moves them over the rows it hands out, in memory;
** only a commit (auto-commit, stream_commit_sync) writes them, as
** committed offsets.  So a poll writes nothing unless a heartbeat, an
** expiry, a rebalance or an auto-commit is due.
**
** Rebalances and seeks by other connections reach a connection through
** the position column of _stream_assignments, a mark: a rebalance that
** moves a partition (or assigns it anew) stores -(generation)-1 there, a
** seek stores its target.  Each position remembers the mark it last read
** (iMark); a different mark restarts it - from the committed offset, or
** from the seek target.
**
** Transactions: a position change made while the connection's transaction
** is enlisted (stream_txn, see streamPosEnlist) is logged, and a ROLLBACK
** or ROLLBACK TO (a statement that fails, too) undoes it, so that rolled
** back rows come again.  Uncommitted positions die with the connection or
** the membership: the next owner starts from the committed offset
** (at-least-once, as in Kafka).
*/
#define STREAM_MARK_NULL ((i64)(-0x7fffffffffffffffLL - 1))

/* Undo the logged changes from the newest down to entry iTo. */
static void streamUndoTo(StreamCtx *p, int iTo){
  while( p->nUndo>iTo ){
    StreamPosUndo *pU = &p->aUndo[--p->nUndo];
    if( pU->pPos ){
      pU->pPos->iPos = pU->iPos;
      pU->pPos->iMark = pU->iMark;
      pU->pPos->iVer = ++p->nPosVer;
    }else if( pU->pInc ){
      pU->pInc->iPollCursor = pU->iPos;
    }
  }
}

void sqlite3StreamPosTxn(StreamCtx *p, int eOp, int iSavepoint){
  switch( eOp ){
    case STREAM_POSTXN_BEGIN:
      p->bPosTxn = 1;
      p->nUndo = 0;
      p->nUndoMark = 0;
      break;
    case STREAM_POSTXN_SAVEPOINT:
      if( iSavepoint>=0 ){
        if( iSavepoint>=p->nUndoMark ){
          int *aNew = sqlite3_realloc64(p->aUndoMark,
                                        sizeof(int)*((i64)iSavepoint+1));
          if( aNew==0 ) break;  /* a later ROLLBACK TO undoes more: safe */
          p->aUndoMark = aNew;
          while( p->nUndoMark<iSavepoint ) p->aUndoMark[p->nUndoMark++] = 0;
          p->nUndoMark = iSavepoint+1;
        }
        p->aUndoMark[iSavepoint] = p->nUndo;
      }
      break;
    case STREAM_POSTXN_ROLLBACKTO:
      /* A savepoint opened before the enlisting has no mark: everything
      ** logged came after it. */
      streamUndoTo(p, iSavepoint>=0 && iSavepoint<p->nUndoMark
                      ? p->aUndoMark[iSavepoint] : 0);
      break;
    case STREAM_POSTXN_ROLLBACK:
      streamUndoTo(p, 0);
      /* fall through */
    default:
      p->bPosTxn = 0;
      p->nUndo = 0;
      p->nUndoMark = 0;
      break;
  }
}

/* Enlist stream_txn in the connection's transaction, so that its end and
** rollbacks reach sqlite3StreamPosTxn: inside an explicit transaction, and
** in autocommit mode inside a writing statement (INSERT ... SELECT FROM
** stream_poll, whose failure undoes the positions with its rows).  A
** read-only autocommit statement is not enlisted (it would take the write
** lock): what it hands out stays handed out.  When enlisting fails
** (PRAGMA query_only, a busy database), changes are not logged. */
static int streamPosEnlist(StreamCtx *p){
  sqlite3_stmt *pStmt;
  if( p->bPosTxn ) return SQLITE_OK;
  if( sqlite3_get_autocommit(p->db)
   && sqlite3_txn_state(p->db, "main")!=SQLITE_TXN_WRITE ) return SQLITE_OK;
  pStmt = sqlite3StreamStmt(p, STREAM_STMT_TXN_ENLIST, 0);
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  return sqlite3StreamEnlistStep(p, pStmt);
}

/* Set a position (logged for a rollback while enlisted, with its mark,
** and for a hand-out the offset it reached: iHandedTo).  Every set, even
** to the same value, gets a new version: a poll cursor moves a position
** only while its version is the one the cursor last saw. */
static void streamUndoLog(StreamCtx *p, StreamPosition *pPos,
                          StreamIncarnation *pInc, i64 iOld, i64 iHandedTo){
  if( p->nUndo==p->nUndoAlloc ){
    int nNew = p->nUndoAlloc ? p->nUndoAlloc*2 : 64;
    StreamPosUndo *aNew = sqlite3_realloc64(p->aUndo, sizeof(*aNew)*nNew);
    if( aNew==0 ) return;      /* not undone: the rows count as handed out */
    p->aUndo = aNew;
    p->nUndoAlloc = nNew;
  }
  p->aUndo[p->nUndo].pPos = pPos;
  p->aUndo[p->nUndo].pInc = pInc;
  p->aUndo[p->nUndo].iPos = iOld;
  p->aUndo[p->nUndo].iMark = pPos ? pPos->iMark : 0;
  p->aUndo[p->nUndo].iHandedTo = iHandedTo;
  p->nUndo++;
}
static void streamPosMove(StreamCtx *p, StreamPosition *pPos, i64 iPos,
                          i64 iHandedTo){
  if( p->bPosTxn && pPos->iPos!=iPos ){
    streamUndoLog(p, pPos, 0, pPos->iPos, iHandedTo);
  }
  pPos->iPos = iPos;
  pPos->iVer = ++p->nPosVer;
}
static void streamPosSet(StreamCtx *p, StreamPosition *pPos, i64 iPos){
  streamPosMove(p, pPos, iPos, 0);
}
/* A new mark (a rebalance moved the partition, or a seek): the position
** restarts from the committed offset (-1) or the seek target.  Logged
** with the old mark, so that a rollback (which takes the new mark out of
** the database too) brings both back. */
static void streamPosRestart(StreamCtx *p, StreamPosition *pPos, i64 iMark){
  if( p->bPosTxn ) streamUndoLog(p, pPos, 0, pPos->iPos, 0);
  pPos->iMark = iMark;
  pPos->iPos = iMark>=0 ? iMark : -1;
  pPos->iVer = ++p->nPosVer;
}

static void streamLookClear(StreamCtx*);
static void streamPollCacheClear(StreamIncarnation*);
void sqlite3StreamPositionsFree(StreamCtx *p, StreamIncarnation *pInc){
  StreamPosition *pPos;
  int i;
  if( p->pLook ) streamLookClear(p);     /* it points at positions */
  streamPollCacheClear(pInc);
  for(i=0; i<p->nUndo; i++){
    if( p->aUndo[i].pInc==pInc ) p->aUndo[i].pInc = 0;
  }
  if( pInc->pPos==0 ) return;
  for(pPos=pInc->pPos; pPos; pPos=pPos->pNext) pPos->iVer = -1;
  for(i=0; i<p->nUndo; i++){
    if( p->aUndo[i].pPos && p->aUndo[i].pPos->iVer==-1 ) p->aUndo[i].pPos = 0;
  }
  while( pInc->pPos ){
    pPos = pInc->pPos->pNext;
    sqlite3_free(pInc->pPos);
    pInc->pPos = pPos;
  }
  sqlite3_free(pInc->apHash);
  pInc->apHash = 0;
  pInc->nHash = pInc->nPos = 0;
  p->nPosEpoch++;              /* poll cursors look their pointers up again */
}

/* The position of (zTopic, iPartition) in pInc, or NULL. nTopic: bytes of
** zTopic, or -1. */
/* Bucket of (zTopic[0..nTopic-1], iPartition) in a table of nHash (a
** power of two). */
static int streamPosHash(const char *zTopic, int nTopic, i64 iPartition,
                         int nHash){
  u32 h = 2166136261u;
  int i;
  for(i=0; i<nTopic; i++) h = (h ^ (u8)zTopic[i]) * 16777619u;
  h = (h ^ (u32)iPartition) * 16777619u;
  return (int)(h & (u32)(nHash-1));
}

/* Index pPos in pInc's hash table, grown to twice the positions as they
** grow (lookups stay constant-time, so that a poll or commit of a member
** with many partitions is linear); without memory for a bigger table,
** the lookups only get slower (streamPosFind() walks the list when there
** is no table). */
static void streamPosIndex(StreamIncarnation *pInc, StreamPosition *pPos){
  int h;
  if( pInc->nPos*2>pInc->nHash || pInc->apHash==0 ){
    int nNew = pInc->nHash ? pInc->nHash*2 : 64;
    StreamPosition **aNew;
    while( nNew<pInc->nPos*2 ) nNew *= 2;
    aNew = sqlite3_malloc64(sizeof(*aNew)*(size_t)nNew);
    if( aNew ){
      StreamPosition *pP;
      memset(aNew, 0, sizeof(*aNew)*(size_t)nNew);
      for(pP=pInc->pPos; pP; pP=pP->pNext){
        if( pP==pPos ) continue;
        h = streamPosHash(pP->zTopic, (int)strlen(pP->zTopic),
                          pP->iPartition, nNew);
        pP->pHashNext = aNew[h];
        aNew[h] = pP;
      }
      sqlite3_free(pInc->apHash);
      pInc->apHash = aNew;
      pInc->nHash = nNew;
    }else if( pInc->apHash==0 ){
      return;
    }
  }
  h = streamPosHash(pPos->zTopic, (int)strlen(pPos->zTopic), pPos->iPartition,
                    pInc->nHash);
  pPos->pHashNext = pInc->apHash[h];
  pInc->apHash[h] = pPos;
}

static StreamPosition *streamPosFind(StreamIncarnation *pInc,
                                     const char *zTopic, int nTopic,
                                     i64 iPartition){
  StreamPosition *pPos;
  int bHash = pInc->apHash!=0;
  if( nTopic<0 ) nTopic = (int)strlen(zTopic);
  pPos = bHash ? pInc->apHash[streamPosHash(zTopic, nTopic, iPartition,
                                            pInc->nHash)]
               : pInc->pPos;
  for(; pPos; pPos = bHash ? pPos->pHashNext : pPos->pNext){
    if( pPos->iPartition==iPartition
     && strncmp(pPos->zTopic, zTopic, nTopic)==0 && pPos->zTopic[nTopic]==0 ){
      return pPos;
    }
  }
  return 0;
}

/* The position of (zTopic, iPartition) in pInc, added if missing (not
** started, mark iMark). */
static StreamPosition *streamPosGet(StreamCtx *p, StreamIncarnation *pInc,
                                    const char *zTopic, i64 iPartition,
                                    i64 iMark){
  StreamPosition *pPos = streamPosFind(pInc, zTopic, -1, iPartition);
  size_t n;
  if( pPos ) return pPos;
  n = strlen(zTopic);
  pPos = sqlite3_malloc64(sizeof(*pPos) + n + 1);
  if( pPos==0 ) return 0;
  pPos->zTopic = (char*)&pPos[1];
  memcpy(pPos->zTopic, zTopic, n+1);
  pPos->iPartition = (int)iPartition;
  pPos->iPos = iMark>=0 ? iMark : -1;
  pPos->iMark = iMark;
  pPos->iVer = ++p->nPosVer;
  pPos->pNext = pInc->pPos;
  pPos->pHashNext = 0;
  pInc->pPos = pPos;
  pInc->nPos++;
  streamPosIndex(pInc, pPos);
  return pPos;
}

/* Append the assigned partition (zTopic, iPartition) with its mark and
** paused flag to *pa (*pn entries, *pnAlloc allocated), its position in
** p reconciled with the mark: see above. */
static int streamPartAdd(StreamCtx *p, StreamIncarnation *pInc,
                         StreamPart **pa, int *pn, int *pnAlloc,
                         const char *zTopic, int iPartition, i64 iMark,
                         int bPaused){
  StreamPart *a = *pa;
  StreamPosition *pPos;
  int n = *pn;
  if( n==*pnAlloc ){
    int nNew = n ? n*2 : 16;
    StreamPart *aNew = sqlite3_realloc64(a, sizeof(*aNew)*nNew);
    if( aNew==0 ) return SQLITE_NOMEM;
    *pa = a = aNew;
    *pnAlloc = nNew;
  }
  memset(&a[n], 0, sizeof(a[n]));
  a[n].zTopic = sqlite3_mprintf("%s", zTopic);
  a[n].iPartition = iPartition;
  a[n].bPaused = bPaused;
  a[n].iRes = -1;
  *pn = ++n;
  if( a[n-1].zTopic==0 ) return SQLITE_NOMEM;
  pPos = streamPosGet(p, pInc, a[n-1].zTopic, a[n-1].iPartition, iMark);
  if( pPos==0 ) return SQLITE_NOMEM;
  if( pPos->iMark!=iMark ){
    /* Moved by a rebalance (or sought) since this connection last
    ** looked: start again from the committed offset (or the target). */
    streamPosRestart(p, pPos, iMark);
  }
  a[n-1].pPos = pPos;
  a[n-1].iMark = iMark;
  a[n-1].iPos = a[n-1].iStart = pPos->iPos;
  if( n>1 ){
    a[n-1].iTopicRank = a[n-2].iTopicRank
                      + (strcmp(a[n-1].zTopic, a[n-2].zTopic)!=0);
  }
  return SQLITE_OK;
}

/* The member's assigned partitions, in (topic, partition) order, read
** through pRead (p or its reader), with their positions in p (reconciled
** with the marks: see above). */
static int streamPartsRead(StreamCtx *p, StreamCtx *pRead, const char *zGroup,
                           const char *zMember, StreamIncarnation *pInc,
                           StreamPart **paPart, int *pnPart, char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamCatStmt(pRead, STREAM_CAT_ASSIGNED,
                                             pzErr);
  StreamPart *a = 0;
  int n = 0, nAlloc = 0, rc = SQLITE_OK;
  *paPart = 0;
  *pnPart = 0;
  if( pStmt==0 ) return sqlite3StreamStmtErr(pRead);
  sqlite3_bind_text(pStmt, 1, zGroup, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, zMember, -1, SQLITE_STATIC);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    rc = streamPartAdd(p, pInc, &a, &n, &nAlloc,
        (const char*)sqlite3_column_text(pStmt, 0),
        sqlite3_column_int(pStmt, 1),
        sqlite3_column_type(pStmt, 2)==SQLITE_NULL ? STREAM_MARK_NULL
          : sqlite3_column_int64(pStmt, 2),
        sqlite3_column_int(pStmt, 3));
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_reset(pStmt);
    if( rc ) sqlite3StreamDbErr(pRead->db, pzErr, rc);
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
static int streamPartsLoad(StreamCtx *p, const char *zGroup,
                           const char *zMember, StreamIncarnation *pInc,
                           StreamPart **paPart, int *pnPart, char **pzErr){
  return streamPartsRead(p, p, zGroup, zMember, pInc, paPart, pnPart, pzErr);
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
  rc = sqlite3StreamCatLogStart(p, zT, iP, &iLso, &bFound, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamHighWatermark(p, zT, iP, &iHwm, pzErr);
  if( rc ) return rc;
  if( iPos<0 ){
    rc = sqlite3StreamCatCommitted(p, zGroup, zT, iP, &iPos, &bFound, pzErr);
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
  return sqlite3StreamCatPositionSet(p, zGroup, zTopic, iPartition, iPos,
                                     pzErr);
}

/* The damaged-offset error of a fetch. */
static int streamOffsetErr(const StreamPart *pPart, i64 iOffset,
                           char **pzErr){
  return sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "partition %s/%d is"
      " damaged: message offset %lld (0..%lld)", pPart->zTopic,
      pPart->iPartition, iOffset, STREAM_MAX_OFFSET);
}

/* Append records aRec[0..n) of a run (sqlite3StreamScanRun(): one batch
** row, uncompressed up to the first compressed one) as rows of pRes, as
** streamRowAppend() would one by one, each served from the batch row's
** stored bytes, copied into the arena once (pHeld).  Stops where the
** fetch loop would (a check's miss, fetch.max.bytes, a compressed record,
** which the caller reads through the scan); *pnTook receives the records
** taken, *pbStop whether the fetch ends there. */
static int streamRunAppend(StreamPollResult *pRes, StreamScan *pScan,
                           const StreamBatchRec *aRec, int n,
                           StreamPart *pPart, int bCheck, int nGot,
                           i64 nMaxBytes, i64 *pnBytes, StreamHeld *pHeld,
                           int *pnTook, int *pbStop, char **pzErr){
  const StreamPollPart *pP = &pRes->aPart[pPart->iRes];
  StreamPollRow *pRow;
  const u8 *pBatch;
  int nBatch, j, rc = SQLITE_OK;
  i64 iBatchRow, nBytes = *pnBytes;
  *pnTook = 0;
  *pbStop = 0;
  while( pRes->nRow + n > pRes->nAlloc ){
    if( streamGrow((void**)&pRes->aRow, &pRes->nAlloc, sizeof(*pRow), 64) ){
      return SQLITE_NOMEM;
    }
  }
  if( sqlite3StreamScanBatch(pScan, &pBatch, &nBatch, &iBatchRow)==0 ){
    return SQLITE_OK;                       /* not a run: no record taken */
  }
  if( iBatchRow!=pHeld->iRow || pBatch!=pHeld->pBatch ){
    rc = streamArenaPut(pRes, pBatch, nBatch, &pHeld->iOff);
    if( rc ) return rc;
    pHeld->iRow = iBatchRow;
    pHeld->pBatch = pBatch;
  }
  pRow = &pRes->aRow[pRes->nRow];
  for(j=0; j<n; j++, pRow++){
    const StreamBatchRec *r = &aRec[j];
    i64 iOffset = r->iOffset;
    if( (r->attrs & STREAM_ATTR_CODEC_MASK)!=STREAM_CODEC_NONE ) break;
    if( iOffset<0 || iOffset>STREAM_MAX_OFFSET ){
      rc = streamOffsetErr(pPart, iOffset, pzErr);
      break;
    }
    if( (bCheck && nGot+j==0 && iOffset!=pPart->iPos)
     || (pRes->nRow+j>0 && nBytes>=nMaxBytes) ){
      *pbStop = 1;
      break;
    }
    streamRowHead(pRow, pP, pPart, iOffset);
    pRow->aVal[6] = r->iTimestamp;
    streamHeldField(pRow, pHeld, 3, r->eKey, r->pKey, r->nKey);
    streamHeldField(pRow, pHeld, 4, r->eValue, r->pValue, r->nValue);
    streamHeldField(pRow, pHeld, 5, r->eHeaders, r->pHeaders, r->nHeaders);
    nBytes += pRow->aLen[3] + pRow->aLen[4] + pRow->aLen[5];
  }
  pRes->nRow += j;
  *pnTook = j;
  *pnBytes = nBytes;
  if( j>0 ) pPart->iPos = aRec[j-1].iOffset + 1;
  return rc;
}

/* Run one fetch statement (iStmt) from pPart's position (pPart is
** aPart[iPart] of the poll); rows go to pRes, and pPart->iPos moves past
** them in memory only.  With bCheck, the first row must be the one at the
** position: if it is not (or there is none), nothing is taken and *pbMiss
** is set.  A run of records of one batch row (the common case) is taken
** at once (streamRunAppend), any other message one by one. */
static int streamFetchRun(StreamCtx *p, int bHot, StreamPart *pPart,
                          int iPart, i64 nLimit, i64 nMaxBytes, i64 *pnBytes,
                          StreamPollResult *pRes, int bCheck, int *pbMiss,
                          char **pzErr){
  StreamScan *pScan = 0;
  StreamHeld held;
  i64 aInt[2];
  int rc, nGot = 0;
  *pbMiss = 0;
  memset(&held, 0, sizeof(held));
  /* The messages of the partition from the position (the scan API:
  ** ext/scan.c), of the hot log only if bHot. */
  aInt[0] = pPart->iPos;
  aInt[1] = nLimit;
  rc = sqlite3StreamScanPartition(p, pPart->zTopic, pPart->iPartition,
      STREAM_SCAN_OFF_LO|STREAM_SCAN_LIMIT|(bHot ? STREAM_SCAN_HOT_ONLY : 0),
      2, aInt, &pScan, pzErr);
  while( rc==SQLITE_OK && !sqlite3StreamScanEof(pScan) ){
    const StreamPollRow *pRow;
    const StreamBatchRec *r;
    i64 iOffset;
    int nRun = sqlite3StreamScanRun(pScan, &r);
    if( nRun==0 ) r = sqlite3StreamScanRecord(pScan);
    iOffset = r ? r->iOffset
                : sqlite3StreamScanInt(pScan, STREAM_SCAN_COL_OFFSET);
    if( iOffset<0 || iOffset>STREAM_MAX_OFFSET ){
      rc = streamOffsetErr(pPart, iOffset, pzErr);
      break;
    }
    if( bCheck && nGot==0 && iOffset!=pPart->iPos ) break;
    if( pRes->nRow>0 && *pnBytes>=nMaxBytes ) break;   /* fetch.max.bytes */
    rc = streamResultPart(pRes, pPart, iPart);
    if( rc ) break;
    if( nRun>0 ){
      int nTook = 0, bStop = 0;
      rc = streamRunAppend(pRes, pScan, r, nRun, pPart, bCheck, nGot,
                           nMaxBytes, pnBytes, &held, &nTook, &bStop, pzErr);
      nGot += nTook;
      if( rc || bStop ) break;
      if( nTook>0 ){
        rc = sqlite3StreamScanNextN(pScan, nTook, pzErr);
        continue;
      }
      /* None taken (not a run after all): one by one, below. */
    }
    rc = streamRowAppend(pRes, pScan, r, pPart, iOffset, &held);
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
    rc = sqlite3StreamScanNext(pScan, pzErr);
  }
  /* Every message of the snapshot from the position was taken: the end
  ** of the scan, below the limit (not a fetch.max.bytes stop, not a
  ** position to check first). */
  pPart->bEnd = rc==SQLITE_OK && pScan && sqlite3StreamScanEof(pScan)
             && nGot<nLimit && !(bCheck && nGot==0);
  sqlite3StreamScanClose(pScan);
  if( bCheck && nGot==0 ) *pbMiss = 1;
  pPart->nGot += nGot;
  pPart->bMore = (nGot==nLimit);
  return rc;
}

/* Fetch up to nLimit messages of one partition from its position into
** pRes, reading through pRead (p, or the long poll's reader, ext/main.c);
** *pnBytes accumulates value+key+headers bytes.
**
** The common case costs one statement: the hot storage table is read from
** the position, and a first row at exactly the position proves that the
** position is in range (log start offset <= position < high watermark)
** and that every later message is hot (the hot tier is a suffix of the
** log).  Otherwise - a first poll, a position at the end of the log, below
** the log start offset, in a compaction gap, or in the warm tier - the
** position is checked (auto.offset.reset, which moves the position in
** p's memory) and the messages are read from every tier (the scan API)
** when they are not all hot. */
static int streamFetch(StreamCtx *p, StreamCtx *pRead, const char *zGroup,
                       int eReset, StreamPart *pPart, int iPart, i64 nLimit,
                       i64 nMaxBytes, i64 *pnBytes, StreamPollResult *pRes,
                       char **pzErr){
  int rc, bMiss = 0, bFound, bChanged = 0;
  i64 iHotMin = 0;
  if( pPart->bChecked==0 ){
    i64 iHwm = -1;
    rc = streamFetchRun(pRead, 1, pPart, iPart, nLimit,
                        nMaxBytes, pnBytes, pRes, 1, &bMiss, pzErr);
    if( rc || !bMiss ) return rc;
    /* A consumer that has caught up (its position at the high watermark,
    ** which is in range) has nothing to read: one query, not four. */
    rc = sqlite3StreamHighWatermark(pRead, pPart->zTopic, pPart->iPartition,
                                    &iHwm, pzErr);
    if( rc ) return rc;
    if( pPart->iPos==iHwm ){
      pPart->bEnd = 1;                     /* caught up: nothing more */
      return SQLITE_OK;
    }
    rc = streamResolve(pRead, zGroup, eReset, pPart, &bChanged, pzErr);
    if( rc ) return rc;
    if( bChanged ) streamPosSet(p, pPart->pPos, pPart->iPos);
    pPart->bChecked = 1;
  }
  rc = sqlite3StreamHotFirst(pRead, pPart->zTopic, pPart->iPartition,
                             &iHotMin, &bFound, pzErr);
  if( rc ) return rc;
  return streamFetchRun(pRead, bFound && pPart->iPos>=iHotMin,
      pPart, iPart, nLimit, nMaxBytes, pnBytes, pRes, 0, &bMiss, pzErr);
}

/* Fetch one poll into pRes through pRead: up to nMax messages, a quota per
** unpaused partition from the rotating start iRot, then the rest from the
** partitions that had more. */
static int streamFetchAll(StreamCtx *p, StreamCtx *pRead, const char *zGroup,
                          const StreamMember *pM, StreamPart *aPart,
                          int nPart, i64 nMax, i64 iRot,
                          StreamPollResult *pRes, char **pzErr){
  int nActive = 0, i, iPass, rc = SQLITE_OK;
  i64 nBytes = 0, nQuota, nLeft = nMax;
  for(i=0; i<nPart; i++){
    aPart[i].nGot = 0;
    aPart[i].bMore = 0;
    aPart[i].bEnd = 0;
    aPart[i].iRes = -1;
    if( !aPart[i].bPaused ) nActive++;
  }
  if( nActive==0 ) return SQLITE_OK;
  nQuota = (nMax + nActive - 1) / nActive;
  if( pRes->nAlloc<nMax && nMax<=STREAM_POLL_PREALLOC ){
    StreamPollRow *aNew = sqlite3_realloc64(pRes->aRow, sizeof(*aNew)*nMax);
    if( aNew==0 ) return SQLITE_NOMEM;
    pRes->aRow = aNew;
    pRes->nAlloc = (int)nMax;
  }
  for(iPass=0; iPass<2 && nLeft>0 && rc==SQLITE_OK; iPass++){
    int k;
    for(k=0; k<nPart && nLeft>0 && rc==SQLITE_OK; k++){
      int iPart = (int)((k + iRot%nPart) % nPart);
      StreamPart *pPart = &aPart[iPart];
      i64 nLimit;
      if( pPart->bPaused ) continue;
      if( iPass==1 && !pPart->bMore ) continue;
      if( pRes->nRow>0 && nBytes>=pM->fetchMaxBytes ) break;
      nLimit = iPass==0 ? (nQuota<nLeft ? nQuota : nLeft) : nLeft;
      rc = streamFetch(p, pRead, zGroup, pM->eReset, pPart, iPart, nLimit,
                       pM->fetchMaxBytes, &nBytes, pRes, pzErr);
      nLeft = nMax - pRes->nRow;
    }
  }
  return rc;
}

/* Commit (bWrite) or count the started positions of a member's partitions
** that differ from the committed offsets.  The caller has checked the
** membership. */
static int streamCommitPositions(StreamCtx *p, const char *zGroup,
                                 const StreamPart *aPart, int nPart,
                                 int bWrite, i64 *pnCommitted, char **pzErr){
  int i, rc = SQLITE_OK;
  *pnCommitted = 0;
  for(i=0; rc==SQLITE_OK && i<nPart; i++){
    i64 iCommitted = -1;
    int bFound;
    if( aPart[i].iPos<0 ) continue;
    rc = sqlite3StreamCatCommitted(p, zGroup, aPart[i].zTopic,
                                   aPart[i].iPartition, &iCommitted, &bFound,
                                   pzErr);
    if( rc==SQLITE_OK && (!bFound || iCommitted!=aPart[i].iPos) ){
      if( bWrite ){
        rc = sqlite3StreamCommitRaw(p, zGroup, aPart[i].zTopic,
                                    aPart[i].iPartition, aPart[i].iPos, 0,
                                    pzErr);
      }
      (*pnCommitted)++;
    }
  }
  return rc;
}

/*
** Rows handed out in this transaction from a partition that the member no
** longer owns under the same mark (a rebalance of this transaction took
** it - a second poll's, a heartbeat's - and maybe gave it back) cannot be
** committed by this member: committing the rest would let the
** transaction's outputs commit without their offsets, and the next owner
** would read those rows again.  The commit fails instead, as Kafka's
** commitSync does after a rebalance (CommitFailedException); the caller
** rolls back, and the rows come again to their owner.  Rows the committed
** offset already covers (an earlier commit of this transaction) are not
** lost.  Checked from the undo log of the transaction (aPart: the
** member's partitions, just read).
*/
static int streamRevokedCheck(StreamCtx *p, const char *zGroup,
                              const StreamMember *pM, const StreamPart *aPart,
                              int nPart, char **pzErr){
  int i, j, k, rc = SQLITE_OK;
  for(i=0; rc==SQLITE_OK && i<p->nUndo; i=k){
    StreamPosition *pPos = p->aUndo[i].pPos;
    i64 iTo = 0, iCommitted = -1;
    int bFound = 0;
    /* A run of entries of one position (a poll hands out a partition's
    ** rows in a row): checked once, up to the furthest offset it reached. */
    for(k=i; k<p->nUndo && p->aUndo[k].pPos==pPos
                         && p->aUndo[k].iMark==p->aUndo[i].iMark; k++){
      if( p->aUndo[k].iHandedTo>iTo ) iTo = p->aUndo[k].iHandedTo;
    }
    if( iTo<=0 || pPos==0 ) continue;
    if( streamPosFind(pM->pInc, pPos->zTopic, -1, pPos->iPartition)!=pPos ){
      continue;                       /* another member's position */
    }
    for(j=0; j<nPart && aPart[j].pPos!=pPos; j++){}
    if( j<nPart && (pPos->iMark==p->aUndo[i].iMark || pPos->iMark>=0) ){
      continue;                       /* still its own (or sought since) */
    }
    rc = sqlite3StreamCatCommitted(p, zGroup, pPos->zTopic, pPos->iPartition,
                                   &iCommitted, &bFound, pzErr);
    if( rc==SQLITE_OK && (!bFound || iCommitted<iTo) ){
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
          "member %s of group %s lost %s/%d to a rebalance (generation %lld)"
          " after this transaction handed out its offsets up to %lld: they"
          " cannot be committed and will be delivered again; roll back the"
          " transaction (Kafka's CommitFailedException)",
          pM->pInc->zMember, zGroup, pPos->zTopic, pPos->iPartition,
          pM->iGeneration, iTo - 1);
    }
  }
  return rc;
}

int sqlite3StreamCommitSync(StreamCtx *p, const char *zGroup,
                            const char *zMember, i64 *pnCommitted,
                            char **pzErr){
  StreamMember m;
  StreamPart *aPart = 0;
  int nPart = 0;
  int rc = sqlite3StreamMemberFence(p, zGroup, zMember, &m, pzErr);
  *pnCommitted = 0;
  if( rc==SQLITE_OK ) rc = streamPartsLoad(p, zGroup, zMember, m.pInc, &aPart,
                                           &nPart, pzErr);
  if( rc==SQLITE_OK && p->bPosTxn ){
    rc = streamRevokedCheck(p, zGroup, &m, aPart, nPart, pzErr);
  }
  if( rc==SQLITE_OK ) rc = streamCommitPositions(p, zGroup, aPart, nPart, 1,
                                                 pnCommitted, pzErr);
  streamPartsFree(aPart, nPart);
  return rc;
}

/* Number of partitions in aPart (started positions, or the committed
** offset / reset rule for the others) that hold messages at or after
** their position, read through pRead (its snapshot). */
/* True if PRAGMA zPragma of main says zWant (journal_mode, locking_mode). */
static int streamPragmaIs(StreamCtx *p, const char *zPragma,
                          const char *zWant){
  sqlite3_stmt *pStmt = 0;
  int bIs = 0;
  char *zSql = sqlite3_mprintf("PRAGMA main.%s", zPragma);
  if( zSql && sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *z = (const char*)sqlite3_column_text(pStmt, 0);
    bIs = z && sqlite3_stricmp(z, zWant)==0;
  }
  sqlite3_finalize(pStmt);
  sqlite3_free(zSql);
  return bIs;
}

/* Append z to pStr, %-escaped but for the characters a URI path or
** query value may hold as they are (RFC 3986 unreserved, and '/' in a
** path). */
static void streamUriEscape(sqlite3_str *pStr, const char *z, int bPath){
  static const char aHex[] = "0123456789ABCDEF";
  for(; *z; z++){
    unsigned char c = (unsigned char)*z;
    if( (c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9')
     || c=='-' || c=='.' || c=='_' || c=='~' || (bPath && c=='/') ){
      sqlite3_str_appendchar(pStr, 1, (char)c);
    }else{
      sqlite3_str_appendf(pStr, "%%%c%c", aHex[c>>4], aHex[c&15]);
    }
  }
}

/* The name to open the reader of main's file with, and the VFS: the
** same file through the same VFS (a shim - encryption, compression,
** ext/vfs.c's "stream" - or one with its own locks, like unix-dotfile or
** unix-excl, must see the reader's calls as it sees main's), as a URI
** carrying main's URI parameters (nolock, immutable, psow and a VFS's
** own, a key for instance) but vfs (given by name), mode (the reader is
** read-only) and cache (it is private: in main's shared cache its reads
** would wait on main's table locks).  NULL (the caller then reads
** through main) if main's VFS cannot be named: it is not the VFS
** registered under its name (unregistered, or replaced since), or has
** none.  Out of memory also gives NULL. */
static char *streamAuxUri(StreamCtx *p, const char *zFile,
                          sqlite3_vfs **ppVfs){
  sqlite3_vfs *pVfs = 0;
  sqlite3_str *pStr;
  const char *zKey;
  char cSep = '?';
  int i;
  if( sqlite3_file_control(p->db, "main", SQLITE_FCNTL_VFS_POINTER, &pVfs)
   || pVfs==0 || pVfs->zName==0 || sqlite3_vfs_find(pVfs->zName)!=pVfs ){
    return 0;
  }
  *ppVfs = pVfs;
  pStr = sqlite3_str_new(0);
  sqlite3_str_appendall(pStr, "file:");
  if( zFile[0]=='/' ) sqlite3_str_appendall(pStr, "//");  /* no authority */
  streamUriEscape(pStr, zFile, 1);
  for(i=0; (zKey = sqlite3_uri_key(zFile, i))!=0; i++){
    const char *zVal = sqlite3_uri_parameter(zFile, zKey);
    if( strcmp(zKey, "vfs")==0 || strcmp(zKey, "mode")==0
     || strcmp(zKey, "cache")==0 ){
      continue;
    }
    sqlite3_str_appendchar(pStr, 1, cSep);
    streamUriEscape(pStr, zKey, 0);
    sqlite3_str_appendchar(pStr, 1, '=');
    streamUriEscape(pStr, zVal ? zVal : "", 0);
    cSep = '&';
  }
  return sqlite3_str_finish(pStr);
}

/* The reader for long polls: a private read-only connection with the
** extension loaded (ext/main.c), whose every statement reads the newest
** commits; NULL if the database has no file (memory, temporary), is not
** in WAL mode (in rollback mode its read lock would keep producers out)
** or is in PRAGMA locking_mode=EXCLUSIVE (the connection keeps its locks
** and, in WAL mode, its WAL index in its own memory: no other connection
** can read the file, so a reader would only ever find it locked; the mode
** must be set before the first poll, as the reader, like any other
** connection on the file, keeps the connection from taking the
** exclusive lock after).  A reader that cannot be made (its file cannot
** be opened by its name - unlinked, replaced, its directory gone - or its
** VFS named, or out of memory) is not tried again on this connection
** (p->bAuxFailed): its polls read through the connection itself, as in
** rollback mode, and never through whatever file might later appear
** under the name; a new connection tries again. */
static StreamCtx *streamAux(StreamCtx *p){
  const char *zFile = sqlite3_db_filename(p->db, "main");
  sqlite3_vfs *pVfs = 0;
  char *zUri;
  int rc;
  p->eShmPeek = 0;                  /* the modes may have changed: look again */
  if( p->pAux ) return p->pAux;
  if( p->bAuxFailed || zFile==0 || zFile[0]==0 ) return 0;
  if( !streamPragmaIs(p, "journal_mode", "wal")
   || streamPragmaIs(p, "locking_mode", "exclusive") ){
    return 0;
  }
  p->bAuxFailed = 1;                /* until the reader is made below */
  zUri = streamAuxUri(p, zFile, &pVfs);
  if( zUri==0 ) return 0;
  rc = sqlite3_open_v2(zUri, &p->dbAux, SQLITE_OPEN_READONLY|SQLITE_OPEN_URI,
                       pVfs->zName);
  sqlite3_free(zUri);
  if( rc==SQLITE_OK ){
    sqlite3_busy_timeout(p->dbAux, 100);
    p->pAux = sqlite3StreamCtxLoad(p->dbAux);
    if( p->pAux ) p->pAux->eShmPeek = 1;   /* WAL, shared locking */
  }
  if( p->pAux==0 ){
    sqlite3_close_v2(p->dbAux);
    p->dbAux = 0;
  }else{
    p->bAuxFailed = 0;
  }
  return p->pAux;
}

/*
** What a reader last saw of the database, to tell cheaply whether another
** connection (of any process) has committed since:
**
**   - the WAL-index header, read lock-free from the shared memory of the
**     reader's database file (the xShmMap method of its VFS, region 0: the
**     first of its two copies, 48 bytes, which every commit changes - its
**     change counter, last frame and checksums - and which SQLite itself
**     reads without a lock before it takes one).  No statement, no system
**     call, no lock: a wake-up that finds it unchanged costs nothing;
**   - PRAGMA data_version, the portable check, which costs a read
**     transaction (lock calls): when the header cannot be mapped (another
**     VFS, or no shared memory), and at least every STREAM_WAIT_DV_MS as
**     a safety net (a journal-mode change away from WAL leaves a stale
**     mapping that no longer moves).
**
** The state is captured before the read transaction of a look begins, so
** that a commit after the capture shows as a change and one before it is
** in the look's snapshot.
*/
#define STREAM_WALHDR_SIZE 48          /* one copy of the WAL-index header */
#define STREAM_WAL_REGION 32768        /* SQLite's wal-index region size */
typedef struct StreamSeen StreamSeen;
struct StreamSeen {
  int bHdr;                            /* aHdr is set */
  int bVersion;                        /* iVersion is set */
  unsigned char aHdr[STREAM_WALHDR_SIZE]; /* WAL-index header seen */
  i64 iVersion;                        /* PRAGMA data_version seen */
  i64 iVersionAt;                      /* When it was read (ms) */
};
#define STREAM_WAIT_DV_MS 2

static int streamAvailable(StreamCtx *pRead, const char *zGroup, int eReset,
                           const StreamPart *aPart, int nPart, i64 *pnAvail){
  int rc = SQLITE_OK, i;
  *pnAvail = 0;
  for(i=0; rc==SQLITE_OK && i<nPart; i++){
    i64 iHwm, iCommitted = 0, iPos = aPart[i].iPos;
    int bCommitted;
    if( aPart[i].bPaused ) continue;
    rc = sqlite3StreamHotAvailable(pRead, aPart[i].zTopic, aPart[i].iPartition,
                                   zGroup, &iHwm, &iCommitted, &bCommitted);
    if( rc ) break;
    if( iPos<0 ){
      if( bCommitted ){
        iPos = iCommitted;
      }else{
        iPos = eReset==STREAM_RESET_EARLIEST ? 0 : iHwm;
      }
    }
    if( iHwm>iPos ) (*pnAvail)++;
  }
  return rc;
}

/* Copy the WAL-index header of pRead's main file into aHdr; 0 if it
** cannot be read (no shared memory mapped by this VFS, not WAL mode, or
** PRAGMA locking_mode=EXCLUSIVE, where SQLite keeps the WAL index in its
** own memory: a map of the -shm file then would be one nothing unmaps,
** a leak at close, as in rollback-journal mode). */
static int streamWalHdr(StreamCtx *pRead, unsigned char *aHdr){
  sqlite3 *db = pRead->db;
  sqlite3_file *pFile = 0, *pWal = 0;
  volatile void *pMap = 0;
  const volatile unsigned char *a;
  int i;
  if( pRead->eShmPeek==0 ){
    pRead->eShmPeek = streamPragmaIs(pRead, "journal_mode", "wal")
                   && !streamPragmaIs(pRead, "locking_mode", "exclusive")
                   ? 1 : 2;
  }
  if( pRead->eShmPeek!=1 ) return 0;
  /* Only while SQLite has the WAL open (its journal pointer is then the
  ** open -wal file; a read-only connection opens no rollback journal to
  ** read): it then holds the shared memory, and maps and unmaps it.  A
  ** map before that (no read yet) or after a change away from WAL would
  ** attach a shared memory that nothing unmaps (a leak at close). */
  if( sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &pWal)
   || pWal==0 || pWal->pMethods==0 ){
    return 0;
  }
  if( sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &pFile)
   || pFile==0 || pFile->pMethods==0 || pFile->pMethods->iVersion<2
   || pFile->pMethods->xShmMap==0 ){
    return 0;
  }
  /* bExtend 0: an existing region or none; never creates one. */
  if( pFile->pMethods->xShmMap(pFile, 0, STREAM_WAL_REGION, 0, &pMap)
   || pMap==0 ){
    return 0;
  }
  a = (const volatile unsigned char*)pMap;
  for(i=0; i<STREAM_WALHDR_SIZE; i++) aHdr[i] = a[i];
  return 1;
}

/* PRAGMA data_version of pRead's connection: it changes when another
** connection (of any process) commits.  Inside a read transaction it
** starts the snapshot (and reads it). */
static int streamDataVersion(StreamCtx *pRead, i64 *piVersion){
  static const char zSql[] = "PRAGMA data_version";
  sqlite3_stmt *pStmt = sqlite3StreamStmtStatic(pRead, zSql, 0);
  if( pStmt==0 ) return sqlite3StreamStmtErr(pRead);
  if( sqlite3_step(pStmt)==SQLITE_ROW ){
    *piVersion = sqlite3_column_int64(pStmt, 0);
  }
  return sqlite3_reset(pStmt);
}

/* The reader's reads of one poll (or of one look during a wait) share one
** read transaction: one snapshot, and a few lock calls instead of a few
** per statement.  BEGIN and COMMIT are cached statements. */
static void streamReadTxn(StreamCtx *pRead, int bBegin){
  static const char zBegin[] = "BEGIN";
  static const char zCommit[] = "COMMIT";
  sqlite3_stmt *pStmt = 0;
  if( bBegin ){
    if( sqlite3_get_autocommit(pRead->db) ){
      pStmt = sqlite3StreamStmtStatic(pRead, zBegin, 0);
    }
  }else if( !sqlite3_get_autocommit(pRead->db) ){
    pStmt = sqlite3StreamStmtStatic(pRead, zCommit, 0);
    if( pStmt==0 ){
      sqlite3_exec(pRead->db, "COMMIT", 0, 0, 0);
      return;
    }
  }
  if( pStmt ){
    sqlite3_step(pStmt);
    sqlite3_reset(pStmt);
  }
}

/* Begin a read transaction on the reader, capturing what it has seen
** first (pSeen, if not NULL): the header before the snapshot, and with
** bVersion the data version of the snapshot (a statement: only a wait
** needs it). */
static void streamReadBegin(StreamCtx *pRead, StreamSeen *pSeen,
                            int bVersion){
  if( pSeen ) memset(pSeen, 0, sizeof(*pSeen));
  if( pSeen && !sqlite3_get_autocommit(pRead->db) ){
    /* A transaction already open has an older snapshot: nothing seen. */
    pSeen = 0;
  }
  if( pSeen ){
    pSeen->bHdr = streamWalHdr(pRead, pSeen->aHdr);
  }
  streamReadTxn(pRead, 1);
  if( pSeen && bVersion ){
    pSeen->bVersion = streamDataVersion(pRead, &pSeen->iVersion)==SQLITE_OK;
    pSeen->iVersionAt = sqlite3StreamNow(pRead);
  }
}

/* *pbDue: something was committed since pSeen (or nothing was seen yet).
** The header check is free; data_version is read when there is no header,
** or when bSlow and STREAM_WAIT_DV_MS passed since it was last read.
** SQLITE_BUSY reads as no change (the next check sees it). */
static int streamLookDue(StreamCtx *pRead, const StreamSeen *pSeen,
                         int bSlow, int *pbDue){
  unsigned char aHdr[STREAM_WALHDR_SIZE];
  int bHdr = streamWalHdr(pRead, aHdr);
  *pbDue = !pSeen->bVersion;
  if( bHdr && (!pSeen->bHdr || memcmp(aHdr, pSeen->aHdr, sizeof(aHdr))) ){
    *pbDue = 1;
  }
  if( !*pbDue && (!bHdr || (bSlow && sqlite3StreamSubSat(
          sqlite3StreamNow(pRead), pSeen->iVersionAt)>=STREAM_WAIT_DV_MS)) ){
    i64 iVersion = pSeen->iVersion;
    int rc = streamDataVersion(pRead, &iVersion);
    if( rc==SQLITE_BUSY ) return SQLITE_OK;
    if( rc ) return rc;
    *pbDue = iVersion!=pSeen->iVersion;
  }
  return SQLITE_OK;
}

/*
** On Linux a wait sleeps on the wake file (ext/wake.c), which producers
** that load the extension bump after their commit is published, or on an
** inotify watch of the -wal file, which every commit (of any process)
** writes: either wakes at once, and costs nothing while nothing is
** written.  The wait registers in the wake file for as long as it lasts
** (streamWaitOn), and chooses at each look that found a commit: if the
** sequence moved since it went to sleep, the commit was announced and the
** next sleep is on the wake file (StreamCtx.bWakeSignalled); if not (a
** writer without the extension), on the watch.  The sleep on the wake
** file ends after 2 ms at most, as the watch's does: the safety net that
** sees the commits of writers that announce nothing.  The watch is
** opened once per connection; without it and the wake file (another
** system, no -wal yet, inotify refused) the naps alone serve.
**
** A commit writes its frames first and publishes them (the WAL-index
** header) last, so the watch's first wake-up of a commit usually comes
** before it can be seen, and one commit may write several times.  A
** wake-up whose header is unchanged is therefore followed by short naps
** (a commit in progress ends within microseconds; the wake file's bump
** ends a nap at once), not by another sleep on the watch (which its last
** write may have woken already); and the watch is drained just before a
** look, so that the writes of the commit the look sees do not wake the
** wait again.
*/
void sqlite3StreamWatchClose(StreamCtx *p){
  streamLookClear(p);
#ifdef __linux__
  if( p->fdWalWatch>0 ) close(p->fdWalWatch - 1);
#endif
  p->fdWalWatch = 0;
}

/* Open the watch of the -wal file if not tried yet; 1 if there is one. */
static int streamWatchOpen(StreamCtx *p){
#ifdef __linux__
  if( p->fdWalWatch==0 ){
    const char *zFile = sqlite3_db_filename(p->db, "main");
    const char *zWal = zFile && zFile[0] ? sqlite3_filename_wal(zFile) : 0;
    int fd = zWal ? inotify_init1(IN_NONBLOCK|IN_CLOEXEC) : -1;
    p->fdWalWatch = -1;                     /* tried */
    if( fd>=0 ){
      if( zWal && zWal[0] && inotify_add_watch(fd, zWal, IN_MODIFY)>=0 ){
        p->fdWalWatch = fd + 1;
      }else{
        close(fd);
      }
    }
  }
#endif
  return p->fdWalWatch>0;
}

/* Read every pending event of the watch: one read() unless the buffer
** fills (repeated events of one watch are merged into one). */
static void streamWatchDrain(StreamCtx *p){
#ifdef __linux__
  if( p->fdWalWatch>0 ){
    char aBuf[4096];
    while( read(p->fdWalWatch - 1, aBuf, sizeof(aBuf))>=(ssize_t)sizeof(aBuf)-256 ){}
  }
#else
  STREAM_UNUSED(p);
#endif
}

/* Sleep on the watch up to nMs milliseconds; 1 if a write woke it. */
static int streamWatchSleep(StreamCtx *p, i64 nMs){
#ifdef __linux__
  struct pollfd pfd;
  pfd.fd = p->fdWalWatch - 1;
  pfd.events = POLLIN;
  pfd.revents = 0;
  if( poll(&pfd, 1, (int)nMs)>0 ){
    streamWatchDrain(p);
    return 1;
  }
#else
  STREAM_UNUSED(p); STREAM_UNUSED(nMs);
#endif
  return 0;
}

static void streamNapUs(i64 nUs){
  struct timespec ts;
  ts.tv_sec = (time_t)(nUs/1000000);
  ts.tv_nsec = (long)((nUs%1000000)*1000);
  nanosleep(&ts, 0);
}

/* SQLITE_INTERRUPT if sqlite3_interrupt() was called on p's connection
** (SQLite 3.40 has no sqlite3_is_interrupted(): a trivial statement sees
** it). */
static int streamInterrupted(StreamCtx *p){
  sqlite3_stmt *pStmt = sqlite3StreamStmt(p, STREAM_STMT_INTERRUPT, 0);
  int rc;
  if( pStmt==0 ){
    return sqlite3StreamStmtErr(p)==SQLITE_INTERRUPT ? SQLITE_INTERRUPT : 0;
  }
  sqlite3_step(pStmt);
  rc = sqlite3_reset(pStmt);
  return (rc&0xff)==SQLITE_INTERRUPT ? SQLITE_INTERRUPT : SQLITE_OK;
}

/* Shortest and longest nap of a wait, in microseconds. */
#define STREAM_WAIT_NAP_MIN 50
#define STREAM_WAIT_NAP_MAX 400
/* Longest sleep on the watch: a safety net for writes it cannot see. */
#define STREAM_WAIT_WATCH_MAX 2

/*
** Wait up to nWaitMs for messages on the partitions, reading through
** pRead (a connection of its own: the wait looks again as commits come).
** pSeen: what the poll's own look saw (the wait looks again only after a
** commit), or NULL (it looks at once).  A look happens when something was
** committed since the last one (streamLookDue); between looks the wait
** sleeps on the wake file or the watch of the -wal file (Linux, see
** above), or naps from 50 us to 400 us, so a commit is seen at once, or
** within about half a millisecond.
** With pRes (a long poll in autocommit mode), the messages are fetched
** through pRead when they come, and the wait goes on if none could be
** taken.  *pnAvail: partitions with messages.  sqlite3_interrupt() on p
** ends the wait (SQLITE_INTERRUPT).
*/
static int streamLookCheck(StreamCtx*, StreamCtx*, const char*, const char*,
                           const StreamPart*, int, const StreamSeen*,
                           char**);
static void streamCaughtUp(StreamCtx*, const StreamPart*, int, int);
static void streamLookGap(StreamCtx*, i64);
static int streamWaitLoop(StreamCtx *p, StreamCtx *pRead, const char *zGroup,
                          const char *zMember,
                          const StreamMember *pM, StreamPart *aPart, int nPart,
                          i64 nWaitMs, i64 nMax, i64 iRot,
                          const StreamSeen *pSeen, StreamPollResult *pRes,
                          int bWake, i64 *pnAvail, char **pzErr){
  i64 iStart = sqlite3StreamNow(p), nNap = STREAM_WAIT_NAP_MIN;
  StreamSeen seen;
  int rc, bWatch = pRead!=p && streamWatchOpen(p);
  int bWriting = 0;            /* woken by a write not yet published */
  int bSlow = 0;               /* the last sleep was a full one */
  int bSlept = 0;              /* slept since the last look */
  unsigned int iSeq = 0;       /* the wake file's sequence before the look */
  unsigned int iSeqSlept = 0;  /* ... at the first sleep since the look */
  *pnAvail = 0;
  if( pSeen ) seen = *pSeen;
  else memset(&seen, 0, sizeof(seen));
  for(;;){
    int bDue = 0;
    if( bWake ) iSeq = sqlite3StreamWakeSeq(p);
    rc = streamLookDue(pRead, &seen, bSlow || !bWatch, &bDue);
    if( rc==SQLITE_OK && bDue ){
      int bTxn = pRead!=p && sqlite3_get_autocommit(pRead->db);
      if( bWake && bSlept ){
        /* Did the commit come with a wake-up?  Then sleep on the wake
        ** file from now on; if not (a writer without the extension),
        ** on the -wal watch. */
        p->bWakeSignalled = sqlite3StreamWakeSeq(p)!=iSeqSlept;
      }
      bSlept = 0;
      bWriting = 0;
      nNap = STREAM_WAIT_NAP_MIN;
      if( pRes ){
        streamLookGap(p, nWaitMs - (sqlite3StreamNow(p) - iStart));
      }
      if( bWatch ) streamWatchDrain(p);
      if( bTxn ){
        streamReadBegin(pRead, &seen, 1);
      }else{
        seen.bHdr = streamWalHdr(pRead, seen.aHdr);
        seen.bVersion = streamDataVersion(pRead, &seen.iVersion)==SQLITE_OK;
        seen.iVersionAt = sqlite3StreamNow(pRead);
      }
      if( pRes ){
        /* Fetch at once: a fetch from a checked position costs one query
        ** when it finds rows, two when it finds none. */
        int j;
        for(j=0; j<nPart; j++) aPart[j].bChecked = 0;
        rc = streamFetchAll(p, pRead, zGroup, pM, aPart, nPart, nMax, iRot,
                            pRes, pzErr);
        if( rc==SQLITE_OK && bTxn && pRes->nRow>0 ){
          /* The membership at this snapshot: the next poll may need no
          ** look of its own (streamLookCheck). */
          rc = streamLookCheck(p, pRead, zGroup, zMember, aPart, nPart, &seen,
                               pzErr);
        }
        if( bTxn ) streamReadTxn(pRead, 0);
        if( rc==SQLITE_BUSY ){
          sqlite3_free(*pzErr);
          *pzErr = 0;
          rc = SQLITE_OK;
          memset(&seen, 0, sizeof(seen));     /* look again */
          pRes->nRow = 0, pRes->nArena = 0, pRes->nPart = 0;
        }
        if( rc ) return rc;
        if( pRes->nRow>0 ){
          *pnAvail = pRes->nPart;
          streamCaughtUp(p, aPart, nPart, pRes->nRow);
          return SQLITE_OK;
        }
      }else{
        rc = streamAvailable(pRead, zGroup, pM->eReset, aPart, nPart, pnAvail);
        if( rc==SQLITE_BUSY ){
          rc = SQLITE_OK, *pnAvail = 0;
          memset(&seen, 0, sizeof(seen));
        }
        if( bTxn ) streamReadTxn(pRead, 0);
        if( rc==SQLITE_OK && *pnAvail>0 ) return SQLITE_OK;
      }
    }
    if( rc ) return sqlite3StreamDbErr(pRead->db, pzErr, rc);
    {
      i64 nLeft = nWaitMs - (sqlite3StreamNow(p) - iStart);
      i64 nSafe = nLeft<STREAM_WAIT_WATCH_MAX ? nLeft : STREAM_WAIT_WATCH_MAX;
      if( nLeft<=0 ) return SQLITE_OK;
      bSlow = 0;
      if( !bSlept ) iSeqSlept = iSeq;
      bSlept = 1;
      if( bWake && p->bWakeSignalled ){
        /* Commits come with wake-ups: sleep until one (or the safety
        ** net, which also sees the commits of other writers). */
        bSlow = !sqlite3StreamWakeSleep(p, iSeq, nSafe*1000);
        bWriting = 0;
      }else if( bWatch && !bWriting ){
        /* Sleep until a write (or the safety net). */
        bWriting = streamWatchSleep(p, nSafe);
        bSlow = !bWriting;
        nNap = STREAM_WAIT_NAP_MIN;
      }else{
        /* A commit in progress (or no watch): a short nap, which a
        ** commit's wake-up ends. */
        if( bWake ) sqlite3StreamWakeSleep(p, iSeq, nNap);
        else streamNapUs(nNap);
        if( nNap<STREAM_WAIT_NAP_MAX ) nNap *= 2;
        else bWriting = 0;       /* a long write: back to the watch */
      }
    }
    rc = streamInterrupted(p);         /* sqlite3_interrupt() ends it */
    if( rc ) return sqlite3StreamErr(pzErr, rc, "interrupted");
  }
}

/* The wait of streamWaitLoop(), registered as a waiter of the wake file
** (ext/wake.c) while it lasts, when it waits through its own reader. */
static int streamWaitOn(StreamCtx *p, StreamCtx *pRead, const char *zGroup,
                        const char *zMember,
                        const StreamMember *pM, StreamPart *aPart, int nPart,
                        i64 nWaitMs, i64 nMax, i64 iRot,
                        const StreamSeen *pSeen, StreamPollResult *pRes,
                        i64 *pnAvail, char **pzErr){
  int bWake = pRead!=p && nWaitMs>0 && sqlite3StreamWakeBegin(p);
  int rc = streamWaitLoop(p, pRead, zGroup, zMember, pM, aPart, nPart,
                          nWaitMs, nMax, iRot, pSeen, pRes, bWake, pnAvail,
                          pzErr);
  if( bWake ) sqlite3StreamWakeEnd(p);
  return rc;
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
  rc = sqlite3StreamMemberPeek(p, p, zGroup, zMember, &m, pzErr);
  if( rc==SQLITE_OK ) rc = streamPartsLoad(p, zGroup, zMember, m.pInc, &aPart,
                                           &nPart, pzErr);
  if( rc==SQLITE_OK ){
    /* The reader sees the newest commits, inside a transaction too.
    ** Without one, a stream_wait that is the only thing in its statement
    ** (SELECT stream_wait(...)) sees them on this connection. */
    StreamCtx *pRead = streamAux(p);
    if( pRead==0 ){
      pRead = p;
      if( !sqlite3_get_autocommit(p->db) ) nWaitMs = 0;
    }
    rc = streamWaitOn(p, pRead, zGroup, zMember, &m, aPart, nPart, nWaitMs,
                      0, 0, 0, 0, pnAvail, pzErr);
  }
  streamPartsFree(aPart, nPart);
  return rc;
}

/*
** A poll's look, kept for the next poll of the same member on the same
** connection (autocommit polls through the reader).  A look reads the
** membership, the assignment and the messages in one read transaction of
** the reader.  When it wrote nothing and read every partition to the end
** of the log, the next poll knows its own look's answer without reading
** anything, provided that:
**   - nothing was committed since: the WAL-index header is the one seen
**     before the look's snapshot began (every commit changes it);
**   - the clock shows the same millisecond as the look's membership check
**     (which compares the heartbeats, the sessions and the auto-commit
**     interval with it);
**   - every position is where the look left it: its rows were all handed
**     out, and no rollback moved one (seeks and rebalances commit; freed
**     positions drop the look).
** That answer: the member is live and current, nothing is due, and no
** partition has a message after its position.  The poll then returns
** nothing at once, or (a long poll) waits at once, and its wait looks
** again at the next commit, reading the membership as the look did.
*/
struct StreamLook {
  StreamIncarnation *pInc;     /* Member of the look */
  i64 iNow;                    /* Clock of its membership check (ms) */
  StreamSeen seen;             /* What it saw before its snapshot began */
  StreamMember m;              /* Its membership check */
  StreamPart *aPart;           /* Its partitions, positions at their end */
  int nPart;                   /* Entries of aPart */
};

static void streamLookClear(StreamCtx *p){
  if( p->pLook ){
    streamPartsFree(p->pLook->aPart, p->pLook->nPart);
    sqlite3_free(p->pLook);
    p->pLook = 0;
  }
}

/* Keep the look of a poll whose membership check (*pM) read the clock at
** iNow and whose fetch left the partitions *paPart (taken, if kept) at
** the end of the snapshot seen as *pSeen. */
static void streamLookKeep(StreamCtx *p, const StreamMember *pM, i64 iNow,
                           const StreamSeen *pSeen, StreamPart **paPart,
                           int nPart){
  StreamLook *pLook;
  int i;
  streamLookClear(p);
  if( !pSeen->bHdr || nPart==0 ) return;
  for(i=0; i<nPart; i++){
    if( !(*paPart)[i].bPaused && !(*paPart)[i].bEnd ) return;
  }
  pLook = sqlite3_malloc64(sizeof(*pLook));
  if( pLook==0 ) return;                  /* no look kept: only slower */
  pLook->pInc = pM->pInc;
  pLook->iNow = iNow;
  pLook->seen = *pSeen;
  pLook->m = *pM;
  pLook->aPart = *paPart;
  pLook->nPart = nPart;
  *paPart = 0;
  p->pLook = pLook;
}

/* The kept look, if it answers for a poll of pInc at iNow reading through
** pRead (the reader, no transaction open); else NULL. */
static StreamLook *streamLookValid(StreamCtx *p, StreamCtx *pRead,
                                   StreamIncarnation *pInc, i64 iNow){
  StreamLook *pLook = p->pLook;
  unsigned char aHdr[STREAM_WALHDR_SIZE];
  int i;
  if( pLook==0 || pLook->pInc!=pInc || pLook->iNow!=iNow ) return 0;
  if( !sqlite3_get_autocommit(pRead->db)
   || !streamWalHdr(pRead, aHdr)
   || memcmp(aHdr, pLook->seen.aHdr, sizeof(aHdr))!=0 ){
    return 0;
  }
  if( pLook->m.bAutoCommit && (pInc->iAutoCommitAt<0
      || sqlite3StreamSubSat(iNow, pInc->iAutoCommitAt)
         >=pLook->m.autoCommitIntervalMs) ){
    return 0;                              /* an auto-commit is due */
  }
  for(i=0; i<pLook->nPart; i++){
    if( pLook->aPart[i].pPos->iPos!=pLook->aPart[i].iPos ) return 0;
  }
  return pLook;
}

/*
** A long poll's wait fetched rows (aPart: the partitions after the fetch)
** in a read transaction of the reader that saw *pSeen: check the
** membership there too, as the next poll's look would, so that the next
** poll, if nothing is committed before it in the same millisecond, needs
** no look (streamLookValid).  A member that left, expired or was fenced
** fails the poll with its error (its rows are not handed out); anything
** due (a heartbeat, an expiry, a rebalance) or a changed assignment keeps
** no look, and the next poll does the work.
*/
static int streamLookCheck(StreamCtx *p, StreamCtx *pRead, const char *zGroup,
                           const char *zMember, const StreamPart *aPart,
                           int nPart, const StreamSeen *pSeen, char **pzErr){
  StreamMember m;
  StreamPart *a = 0;
  int n = 0, i, rc;
  i64 iNow = sqlite3StreamNow(p);
  rc = sqlite3StreamMemberPeek(p, pRead, zGroup, zMember, &m, pzErr);
  if( rc || m.bWriteDue ) return rc;
  rc = streamPartsRead(p, pRead, zGroup, zMember, m.pInc, &a, &n, pzErr);
  if( rc ) return rc;
  for(i=0; i<n && n==nPart; i++){
    if( a[i].pPos!=aPart[i].pPos || a[i].bPaused!=aPart[i].bPaused ) break;
    a[i].iPos = aPart[i].iPos;            /* where the fetch left it */
    a[i].bEnd = aPart[i].bEnd;
  }
  if( i==n && n==nPart && sqlite3StreamNow(p)==iNow ){
    streamLookKeep(p, &m, iNow, pSeen, &a, n);
    if( a==0 ) n = 0;                     /* taken */
  }
  streamPartsFree(a, n);
  return SQLITE_OK;
}

/* A poll answered by the kept look (streamLookValid): nothing now; a long
** poll waits for the next commit (the look ends: its wait takes the
** partitions). */
static int streamLookPoll(StreamCtx *p, StreamCtx *pRead, const char *zGroup,
                          const char *zMember, i64 nMax, i64 nCap, i64 nWaitMs,
                          StreamPollResult *pRes, char **pzErr){
  StreamLook *pLook = p->pLook;
  StreamMember m = pLook->m;
  StreamSeen seen = pLook->seen;
  StreamPart *aPart;
  i64 iRot, nAvail = 0;
  int nPart, rc;
  pRes->nRow = 0;
  pRes->nArena = 0;
  pRes->nPart = 0;
  if( nMax<0 ) nMax = m.maxPollRecords;
  if( nCap>0 && nCap<nMax ) nMax = nCap;
  iRot = m.pInc->iPollCursor++;
  if( nWaitMs<=0 ) return SQLITE_OK;
  aPart = pLook->aPart;
  nPart = pLook->nPart;
  pLook->aPart = 0;
  pLook->nPart = 0;
  streamLookClear(p);
  rc = streamWaitOn(p, pRead, zGroup, zMember, &m, aPart, nPart, nWaitMs,
                    nMax, iRot, &seen, pRes, &nAvail, pzErr);
  streamPartsFree(aPart, nPart);
  if( rc ) pRes->nRow = 0, pRes->nArena = 0, pRes->nPart = 0;
  return rc;
}

/*
** Dense traffic.  A long poll that returned messages and caught up (read
** every unpaused partition to its end) STREAM_LOOK_GAP_US ago or less
** does not look again before that gap has passed: the commits of the gap
** are then taken by one look, not one look (a read transaction, the
** membership check, page reads, a wake-up) each.  Kafka's fetch.min.bytes
** and fetch.max.wait.ms trade latency for batching the same way.  Under
** 10,000 one-message commits a second, a consumer woken by every commit
** spent most of its CPU on looks of one or two messages; with the gap, at
** most one look per gap while the traffic is dense, and a message waits at
** most the gap more.  Sparse traffic (a commit more than the gap after the
** last messages) is looked at as before, at once; so is a poll after one
** that left messages behind (max_records, fetch.max.bytes: no nap, the
** consumer is behind), and a poll without wait_ms.
*/
#define STREAM_LOOK_GAP_US 400

static i64 streamMonoUs(void){
  struct timespec ts;
  if( clock_gettime(CLOCK_MONOTONIC, &ts) ) return 0;
  return (i64)ts.tv_sec*1000000 + ts.tv_nsec/1000;
}

/* A long poll's look returned nRow messages leaving aPart: remember when,
** if it caught up (else forget: a consumer behind does not nap). */
static void streamCaughtUp(StreamCtx *p, const StreamPart *aPart, int nPart,
                           int nRow){
  int i;
  p->iCaughtUpUs = 0;
  if( nRow<=0 ) return;
  for(i=0; i<nPart; i++){
    if( !aPart[i].bPaused && !aPart[i].bEnd ) return;
  }
  p->iCaughtUpUs = streamMonoUs();
}

/* Before a long poll's look (waiting up to nWaitMs): nap out the rest of
** the gap after the last messages that caught up, if any. */
static void streamLookGap(StreamCtx *p, i64 nWaitMs){
  i64 nUs;
  if( p->iCaughtUpUs==0 ) return;
  nUs = STREAM_LOOK_GAP_US - (streamMonoUs() - p->iCaughtUpUs);
  p->iCaughtUpUs = 0;
  if( nUs>nWaitMs*1000 ) nUs = nWaitMs*1000;
  if( nUs>0 && nUs<=STREAM_LOOK_GAP_US ) streamNapUs(nUs);
}

/*
** One Kafka poll.  It writes only what is due, in one transaction (in
** autocommit mode, ext/txn.c) that also holds its fetch, so that a failed
** poll changes nothing: an expiry, a rebalance or a heartbeat
** (sqlite3StreamMemberPeek), and an auto-commit of the positions the
** previous polls handed out, when auto.commit.interval.ms has passed and a
** position differs from its committed offset (Kafka's enable.auto.commit
** commits at the start of poll()).  With nothing due it is a read: it
** takes no write lock and works under PRAGMA query_only.
**
** In autocommit mode the reads go through the reader connection
** (streamAux) when there is one: the statement itself then never opens a
** read transaction on main (stream_poll lives in temp, vtab/poll.c), so it
** pins no WAL snapshot - a pinned snapshot, poll after poll, would keep
** every checkpoint from finishing and the WAL from restarting - and its
** due writes start from a fresh snapshot, so that the busy timeout
** applies.  When they cannot take the write lock all the same (busy, or a
** snapshot gone stale), they are left to the next poll; the membership was
** checked already, so fencing holds.
**
** A long poll (nWaitMs) that finds nothing waits for new commits on the
** reader (streamWaitOn) and, in autocommit mode, fetches the messages
** through it as they come.  Inside an explicit transaction the snapshot
** cannot move: there a long poll waits only while the transaction holds no
** write lock (before it takes one), and when messages arrive it returns no
** rows (a write from the stale snapshot would fail); the next poll returns
** them at once.
*/
static int streamPollRun(StreamCtx*, StreamCtx*, const char*, const char*,
                         i64, i64, i64, const StreamSeen*, StreamPollResult*,
                         char**);
int sqlite3StreamPoll(StreamCtx *p, const char *zGroup, const char *zMember,
                      i64 nMax, i64 nCap, i64 nWaitMs,
                      StreamPollResult *pRes, char **pzErr){
  StreamCtx *pAux = 0;
  StreamSeen seen;
  int rc;
  if( sqlite3_get_autocommit(p->db)
   && sqlite3_txn_state(p->db, "main")==SQLITE_TXN_NONE ){
    pAux = streamAux(p);
  }
  if( pAux==0 || nWaitMs<=0 ) p->iCaughtUpUs = 0;
  if( pAux && p->pLook && (nMax==-1 || nMax>=1)
   && nWaitMs>=0 && nWaitMs<=STREAM_MAX_BLOCK_MS ){
    /* Nothing committed since the last look, in the same millisecond:
    ** its answer holds (arguments in range: errors come from the poll). */
    StreamIncarnation *pInc = sqlite3StreamIncarnGet(p, zGroup, zMember);
    if( pInc && streamLookValid(p, pAux, pInc, sqlite3StreamNow(p)) ){
      return streamLookPoll(p, pAux, zGroup, zMember, nMax, nCap, nWaitMs,
                            pRes, pzErr);
    }
  }
  /* A look now: after the gap, if the traffic is dense. */
  if( pAux && nWaitMs>0 && nWaitMs<=STREAM_MAX_BLOCK_MS ){
    streamLookGap(p, nWaitMs);
  }
  /* What the poll's reads see, for its look and its wait: it looks again
  ** only after a later commit. */
  if( pAux ) streamReadBegin(pAux, &seen, nWaitMs>0);
  rc = streamPollRun(p, pAux ? pAux : p, zGroup, zMember, nMax, nCap, nWaitMs,
                     pAux ? &seen : 0, pRes, pzErr);
  if( pAux ) streamReadTxn(pAux, 0);
  return rc;
}

/*
** The membership cache of a poll.  A poll in autocommit mode reads through
** the reader, in a read transaction begun after the WAL-index header was
** captured (*pSeen, streamReadBegin).  When its membership check found
** nothing due, the check's answer and the member's assignment rows are
** kept with that header and the last millisecond up to which the check's
** time-dependent answers hold: no member's expiry and no heartbeat of
** this member due (sqlite3StreamMemberPeekUntil).  A later poll whose
** header is the same - nothing committed since by any connection of any
** process, which every join, leave, rebalance, expiry, fencing, seek,
** offset reset, topic change and heartbeat does: the same rows - at a
** time no later than that takes the kept answer and rows instead of the
** two reads; the rows are reconciled with the positions as read ones are
** (streamPartAdd).  Anything else reads again.
*/
typedef struct StreamCacheRow StreamCacheRow;
struct StreamCacheRow {
  char *zTopic;                /* Topic (owned) */
  int iPartition;              /* Partition */
  int bPaused;                 /* Paused */
  i64 iMark;                   /* Mark (position column) */
};
struct StreamPollCache {
  unsigned char aHdr[STREAM_WALHDR_SIZE]; /* Header before the reads */
  i64 iUntil;                  /* The check holds up to this time (ms) */
  StreamMember m;              /* The check's answer */
  StreamCacheRow *aRow;        /* The assignment rows, in order */
  int nRow;                    /* Entries of aRow */
};

static void streamPollCacheClear(StreamIncarnation *pInc){
  StreamPollCache *pC = pInc->pPollCache;
  int i;
  if( pC==0 ) return;
  for(i=0; i<pC->nRow; i++) sqlite3_free(pC->aRow[i].zTopic);
  sqlite3_free(pC->aRow);
  sqlite3_free(pC);
  pInc->pPollCache = 0;
}

/* Keep the check *pM (holding up to iUntil) and the assignment aPart,
** read after the header *pSeen.  The rows of the cache kept before are
** reused when they are of the same partitions (a poll after a commit
** elsewhere, the common case under a producer).  Out of memory keeps
** nothing. */
static void streamPollCacheKeep(const StreamMember *pM, i64 iUntil,
                                const StreamSeen *pSeen,
                                const StreamPart *aPart, int nPart){
  StreamIncarnation *pInc = pM->pInc;
  StreamPollCache *pC = pInc->pPollCache;
  int i, bSame = pC && pC->nRow==nPart;
  for(i=0; bSame && i<nPart; i++){
    bSame = pC->aRow[i].iPartition==aPart[i].iPartition
         && strcmp(pC->aRow[i].zTopic, aPart[i].zTopic)==0;
  }
  if( !bSame ){
    streamPollCacheClear(pInc);
    pC = sqlite3_malloc64(sizeof(*pC));
    if( pC==0 ) return;
    pC->nRow = 0;
    pC->aRow = nPart ? sqlite3_malloc64(sizeof(pC->aRow[0])*nPart) : 0;
    pInc->pPollCache = pC;
    if( nPart && pC->aRow==0 ){
      streamPollCacheClear(pInc);
      return;
    }
    for(i=0; i<nPart; i++){
      StreamCacheRow *r = &pC->aRow[i];
      r->zTopic = sqlite3_mprintf("%s", aPart[i].zTopic);
      if( r->zTopic==0 ){
        streamPollCacheClear(pInc);
        return;
      }
      r->iPartition = aPart[i].iPartition;
      pC->nRow++;
    }
  }
  for(i=0; i<nPart; i++){
    pC->aRow[i].bPaused = aPart[i].bPaused;
    pC->aRow[i].iMark = aPart[i].iMark;
  }
  memcpy(pC->aHdr, pSeen->aHdr, sizeof(pC->aHdr));
  pC->iUntil = iUntil;
  pC->m = *pM;
}

/* The kept cache of (zGroup, zMember), if it answers for a poll at iNow
** whose reads begin after the header *pSeen; else NULL (a cache that
** does not answer is kept only for its rows: streamPollCacheKeep; its
** header can never be seen again, a commit's change counter moves on). */
static StreamPollCache *streamPollCacheValid(StreamCtx *p,
                                             const char *zGroup,
                                             const char *zMember,
                                             const StreamSeen *pSeen,
                                             i64 iNow){
  StreamIncarnation *pInc;
  StreamPollCache *pC;
  if( zGroup==0 || zMember==0 ) return 0;
  pInc = sqlite3StreamIncarnGet(p, zGroup, zMember);
  if( pInc==0 || (pC = pInc->pPollCache)==0 ) return 0;
  if( pSeen==0 || !pSeen->bHdr
   || memcmp(pSeen->aHdr, pC->aHdr, sizeof(pC->aHdr))!=0
   || iNow>pC->iUntil ){
    return 0;
  }
  pC->m.pInc = pInc;
  return pC;
}

/* The assignment of the cache pC of pInc, as streamPartsRead(). */
static int streamPartsCached(StreamCtx *p, StreamIncarnation *pInc,
                             const StreamPollCache *pC, StreamPart **paPart,
                             int *pnPart){
  StreamPart *a = 0;
  int n = 0, nAlloc = 0, i, rc = SQLITE_OK;
  for(i=0; rc==SQLITE_OK && i<pC->nRow; i++){
    const StreamCacheRow *r = &pC->aRow[i];
    rc = streamPartAdd(p, pInc, &a, &n, &nAlloc, r->zTopic, r->iPartition,
                       r->iMark, r->bPaused);
  }
  if( rc ){
    streamPartsFree(a, n);
    a = 0;
    n = 0;
  }
  *paPart = a;
  *pnPart = n;
  return rc;
}

/* The poll, reading through pRead (p, or its reader in autocommit mode). */
static int streamPollRun(StreamCtx *p, StreamCtx *pRead, const char *zGroup,
                         const char *zMember, i64 nMax, i64 nCap, i64 nWaitMs,
                         const StreamSeen *pSeen, StreamPollResult *pRes,
                         char **pzErr){
  StreamMember m;
  StreamPart *aPart = 0;
  StreamCtx *pReader = pRead;
  StreamPollCache *pCache = 0;
  int nPart = 0, i, rc, bOpen = 0, bStale = 0, bAutoDue;
  int bExplicit = !sqlite3_get_autocommit(p->db);
  i64 iNow, iRot = 0, nDue = 0, iChecked = sqlite3StreamNow(p);
  i64 iUntil = 0;

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
  if( pRead!=p ){
    pCache = streamPollCacheValid(p, zGroup, zMember, pSeen, iChecked);
  }
  if( pCache ){
    m = pCache->m;                        /* nothing committed since */
  }else{
    rc = sqlite3StreamMemberPeekUntil(p, pRead, zGroup, zMember, &m, &iUntil,
                                      pzErr);
    if( rc ) return rc;
  }

  if( bExplicit && nWaitMs>0
   && sqlite3_txn_state(p->db, "main")!=SQLITE_TXN_WRITE ){
    /* Wait before the transaction takes the write lock (below). */
    StreamCtx *pAux = streamAux(p);
    i64 nAvail = 0;
    rc = streamPartsLoad(p, zGroup, zMember, m.pInc, &aPart, &nPart, pzErr);
    if( rc==SQLITE_OK ){
      rc = streamAvailable(p, zGroup, m.eReset, aPart, nPart, &nAvail);
      if( rc ) rc = sqlite3StreamDbErr(p->db, pzErr, rc);
    }
    if( rc==SQLITE_OK && nAvail==0 && pAux ){
      /* What arrives is not in the transaction's snapshot. */
      rc = streamWaitOn(p, pAux, zGroup, zMember, &m, aPart, nPart, nWaitMs,
                        0, 0, 0, 0, &nAvail, pzErr);
      nAvail = 0;
    }
    streamPartsFree(aPart, nPart);
    aPart = 0;
    nPart = 0;
    if( rc || nAvail==0 ) return rc;
  }

  /* Position changes are logged while the transaction is enlisted. */
  rc = streamPosEnlist(p);
  if( rc && bExplicit && (rc & 0xff)!=SQLITE_READONLY ){
    /* A ROLLBACK could not bring the rows back (PRAGMA query_only aside,
    ** where nothing can be written anyway). */
    return sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  rc = SQLITE_OK;

  iNow = sqlite3StreamNow(p);
  bAutoDue = m.bAutoCommit && (m.pInc->iAutoCommitAt<0
      || sqlite3StreamSubSat(iNow, m.pInc->iAutoCommitAt)
         >=m.autoCommitIntervalMs);
  if( bAutoDue ){
    rc = streamPartsRead(p, pRead, zGroup, zMember, m.pInc, &aPart, &nPart,
                         pzErr);
    if( rc==SQLITE_OK ) rc = streamCommitPositions(pRead, zGroup, aPart, nPart,
                                                   0, &nDue, pzErr);
    streamPartsFree(aPart, nPart);
    aPart = 0;
    nPart = 0;
    if( rc ) return rc;
    if( nDue==0 ){
      m.pInc->iAutoCommitAt = iNow;       /* nothing moved since */
      bAutoDue = 0;
    }
  }
  if( m.bWriteDue || bAutoDue ){
    rc = sqlite3StreamAutoBegin(p, "stream_poll", &bOpen, &bStale, pzErr);
    if( rc && !bExplicit && (bStale || (rc & 0xff)==SQLITE_BUSY) ){
      sqlite3_free(*pzErr);     /* left to the next poll */
      *pzErr = 0;
      rc = SQLITE_OK;
    }else{
      if( rc==SQLITE_OK ){
        rc = sqlite3StreamMemberPoll(p, zGroup, zMember, &m, pzErr);
      }
      if( rc==SQLITE_OK && bAutoDue ){
        /* Auto-commit what the previous polls handed out (Kafka's
        ** at-least-once). */
        rc = streamPartsLoad(p, zGroup, zMember, m.pInc, &aPart, &nPart,
                             pzErr);
        if( rc==SQLITE_OK ){
          rc = streamCommitPositions(p, zGroup, aPart, nPart, 1, &nDue, pzErr);
        }
        streamPartsFree(aPart, nPart);
        aPart = 0;
        nPart = 0;
        if( rc==SQLITE_OK ) m.pInc->iAutoCommitAt = iNow;
      }
      if( rc ) return sqlite3StreamAutoEnd(p, "stream_poll", bOpen, rc, pzErr);
      pRead = p;                  /* the fetch joins the writes */
    }
  }

  /* The fetch runs in that transaction, if there is one: a poll that
  ** fails changes nothing. */
  if( nMax<0 ) nMax = m.maxPollRecords;
  if( nCap>0 && nCap<nMax ) nMax = nCap;
  if( pCache && pRead==pReader ){
    rc = streamPartsCached(p, m.pInc, pCache, &aPart, &nPart);
  }else{
    rc = streamPartsRead(p, pRead, zGroup, zMember, m.pInc, &aPart, &nPart,
                         pzErr);
    if( rc==SQLITE_OK && pRead==pReader && pReader!=p && pSeen
     && pSeen->bHdr && !m.bWriteDue ){
      /* Both reads in the reader's snapshot after *pSeen, nothing due. */
      streamPollCacheKeep(&m, iUntil, pSeen, aPart, nPart);
    }
  }
  if( rc==SQLITE_OK ){
    /* The rotation is rolled back with the positions: the same rows come
    ** again in the same order. */
    iRot = m.pInc->iPollCursor++;
    if( p->bPosTxn ) streamUndoLog(p, 0, m.pInc, iRot, 0);
  }

  /* Start the partitions that have no position yet (committed offset or
  ** auto.offset.reset); the others are checked by their fetch. */
  for(i=0; rc==SQLITE_OK && i<nPart; i++){
    int bChanged;
    if( aPart[i].bPaused || aPart[i].iPos>=0 ) continue;
    rc = streamResolve(pRead, zGroup, m.eReset, &aPart[i], &bChanged, pzErr);
    aPart[i].bChecked = 1;
    if( rc==SQLITE_OK && bChanged ){
      streamPosSet(p, aPart[i].pPos, aPart[i].iPos);
    }
  }
  if( rc==SQLITE_OK ){
    rc = streamFetchAll(p, pRead, zGroup, &m, aPart, nPart, nMax, iRot, pRes,
                        pzErr);
  }
  rc = sqlite3StreamAutoEnd(p, "stream_poll", bOpen, rc, pzErr);
  if( pReader!=p ) streamReadTxn(pReader, 0);     /* before any wait */
  if( pReader!=p && nWaitMs>0 ){
    streamCaughtUp(p, aPart, nPart, rc==SQLITE_OK ? pRes->nRow : 0);
  }
  if( pReader!=p ){
    /* A look that wrote nothing, in one millisecond (the clock before the
    ** membership check is the clock after it), that returns (rows, or no
    ** wait): kept for the next poll (streamLookValid).  Any other look
    ** drops the kept one. */
    if( rc==SQLITE_OK && pRead==pReader && pSeen && !m.bWriteDue
     && !bAutoDue && iChecked==iNow && (pRes->nRow>0 || nWaitMs<=0) ){
      streamLookKeep(p, &m, iNow, pSeen, &aPart, nPart);
      if( aPart==0 ) nPart = 0;          /* taken */
    }else{
      streamLookClear(p);
    }
  }
  if( rc==SQLITE_OK && pRes->nRow==0 && nWaitMs>0 && nPart>0 && !bExplicit
   && sqlite3_txn_state(p->db, "main")!=SQLITE_TXN_WRITE ){
    StreamCtx *pAux = streamAux(p);
    i64 nAvail = 0;
    if( pAux ){
      rc = streamWaitOn(p, pAux, zGroup, zMember, &m, aPart, nPart, nWaitMs,
                        nMax, iRot, pAux==pReader ? pSeen : 0, pRes, &nAvail,
                        pzErr);
    }
  }
  streamPartsFree(aPart, nPart);
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

/*
** Rows [nDelivered, nTo) of a poll were handed out: each moves its
** partition's position one past it, provided the position is still the
** one this poll moved last (same version): a seek, a rebalance, a
** rollback or another poll that moved it since has the last word.  A poll
** of an explicit transaction that has ended (COMMIT or ROLLBACK while its
** statement runs) moves nothing more: the rows it hands out after that
** come again.
*/
void sqlite3StreamPollHandOut(StreamCtx *p, StreamPollOpen *pOpen, int nTo){
  StreamPollResult *pRes = &pOpen->res;
  int i;
  if( nTo>pRes->nRow ) nTo = pRes->nRow;
  if( nTo<=pOpen->nDelivered ) return;
  if( pOpen->bExplicit && (sqlite3_get_autocommit(p->db)
                           || pOpen->nTxnEnd!=p->nTxnEnd) ){
    pOpen->nDelivered = nTo;
    return;
  }
  if( pOpen->nEpoch!=p->nPosEpoch ){
    /* Positions were freed since the poll: look them up again. */
    StreamIncarnation *pInc = sqlite3StreamIncarnGet(p, pOpen->zGroup,
                                                     pOpen->zMember);
    for(i=0; i<pRes->nPart; i++){
      StreamPollPart *pP = &pRes->aPart[i];
      pP->pPos = pInc ? streamPosFind(pInc, pRes->zArena + pP->iTopic,
                                      pP->nTopic, pP->iPartition) : 0;
    }
    pOpen->nEpoch = p->nPosEpoch;
  }
  for(i=pOpen->nDelivered; i<nTo; i++){
    const StreamPollRow *pRow = &pRes->aRow[i];
    StreamPollPart *pP = &pRes->aPart[pRow->iPart];
    if( pP->pPos && pP->pPos->iVer==pP->iVer ){
      streamPosMove(p, pP->pPos, pRow->aVal[2] + 1, pRow->aVal[2] + 1);
      pP->iVer = pP->pPos->iVer;
    }
  }
  pOpen->nDelivered = nTo;
}

int sqlite3StreamPosition(StreamCtx *p, const char *zGroup, const char *zMember,
                          const char *zTopic, i64 iPartition, i64 *piPos,
                          char **pzErr){
  StreamIncarnation *pInc = sqlite3StreamIncarnGet(p, zGroup, zMember);
  StreamPart *aPart = 0;
  int nPart = 0, i, rc;
  *piPos = -1;
  if( pInc==0 ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "member %s has not joined group %s on this connection"
        " (call stream_join first)", zMember, zGroup);
  }
  /* As the next poll sees it: reconciled with the rebalances and seeks. */
  rc = streamPartsLoad(p, zGroup, zMember, pInc, &aPart, &nPart, pzErr);
  for(i=0; rc==SQLITE_OK && i<nPart; i++){
    if( aPart[i].iPartition==iPartition && strcmp(aPart[i].zTopic, zTopic)==0 ){
      *piPos = aPart[i].iPos;
    }
  }
  streamPartsFree(aPart, nPart);
  return rc;
}

/* Resolve a seek target: an offset, 'earliest' or 'latest'. */
static int streamTarget(StreamCtx *p, const char *zTopic, i64 iPartition,
                        sqlite3_value *pTarget, i64 *piOffset, char **pzErr){
  i64 iLso = 0, iHwm;
  int bFound, rc;
  rc = sqlite3StreamCatLogStart(p, zTopic, iPartition, &iLso, &bFound, pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamHighWatermark(p, zTopic, (int)iPartition, &iHwm, pzErr);
  }
  if( rc ) return rc;
  if( sqlite3StreamValueInt(pTarget, piOffset) ){
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
  char *zOwner = 0;
  int rc;
  if( zGroup==0 || zGroup[0]==0 ){
    return sqlite3StreamErr(pzErr, SQLITE_MISUSE, "group id must be text");
  }
  rc = sqlite3StreamTopicGet(p, zTopic, &t, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamPartitionCheck(zTopic, &t, iPartition,
                                                       pzErr);
  if( rc==SQLITE_OK ) rc = streamTarget(p, zTopic, iPartition, pTarget,
                                        piOffset, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamGroupExpire(p, zGroup, 0, pzErr);
  if( rc ) return rc;
  rc = sqlite3StreamCatOwner(p, zGroup, zTopic, iPartition, &zOwner, pzErr);
  if( rc==SQLITE_OK && zOwner ){
    /* Kafka's seek: the owner's next poll starts there.  The target is
    ** the partition's mark, which the owner's connection reads at its next
    ** poll; on the owner's own connection the position moves at once (a
    ** poll still running stops moving it: the seek has the last word). */
    StreamIncarnation *pInc = sqlite3StreamIncarnGet(p, zGroup, zOwner);
    rc = streamPositionSet(p, zGroup, zTopic, iPartition, *piOffset, pzErr);
    if( rc==SQLITE_OK && pInc ){
      StreamPosition *pPos = streamPosGet(p, pInc, zTopic, iPartition,
                                          *piOffset);
      streamPosEnlist(p);
      if( pPos==0 ){
        rc = SQLITE_NOMEM;
      }else{
        streamPosRestart(p, pPos, *piOffset);
      }
    }
  }else if( rc==SQLITE_OK ){
    /* No live owner: reset the committed offset (kafka-consumer-groups
    ** --reset-offsets). */
    rc = sqlite3StreamCommitRaw(p, zGroup, zTopic, iPartition, *piOffset, 0,
                                pzErr);
  }
  sqlite3_free(zOwner);
  return rc;
}

int sqlite3StreamPause(StreamCtx *p, const char *zGroup, const char *zMember,
                       const char *zTopic, i64 iPartition, int bPause,
                       char **pzErr){
  int bOwns, rc;
  rc = sqlite3StreamMemberCheck(p, zGroup, zMember, 0, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamOwns(p, zGroup, zMember, zTopic,
                                             iPartition, &bOwns, pzErr);
  if( rc ) return rc;
  if( !bOwns ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "member %s of group %s is not assigned %s/%lld", zMember, zGroup,
        zTopic, iPartition);
  }
  return sqlite3StreamCatRun(p, STREAM_CAT_PAUSE, pzErr, "ttii", zGroup,
                             zTopic, iPartition, (i64)bPause);
}

int sqlite3StreamOffsetForTime(StreamCtx *p, const char *zTopic,
                               i64 iPartition, i64 iTime, i64 *piOffset,
                               char **pzErr){
  StreamTopic t;
  StreamScan *pScan = 0;
  i64 aInt[2] = { 0, 1 };
  int rc = sqlite3StreamTopicGet(p, zTopic, &t, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamPartitionCheck(zTopic, &t, iPartition,
                                                       pzErr);
  if( rc ) return rc;
  *piOffset = -1;
  /* The first message (in offset order, every tier: the scan API) whose
  ** timestamp is not older. */
  aInt[0] = iTime;
  rc = sqlite3StreamScanPartition(p, zTopic, iPartition, STREAM_SCAN_TS_LO
      |STREAM_SCAN_LIMIT|STREAM_SCAN_NO_KEY|STREAM_SCAN_NO_VALUE
      |STREAM_SCAN_NO_HDRS, 2, aInt, &pScan, pzErr);
  if( rc==SQLITE_OK && !sqlite3StreamScanEof(pScan) ){
    *piOffset = sqlite3StreamScanInt(pScan, STREAM_SCAN_COL_OFFSET);
  }
  sqlite3StreamScanClose(pScan);
  return rc;
}

/* Bind column iCol of the scan's row to parameter iParam, as
** stream_messages returns it. */
static int streamScanBind(StreamScan *pScan, int iCol, sqlite3_stmt *pStmt,
                          int iParam){
  StreamScanField f;
  int rc = sqlite3StreamScanColumn(pScan, iCol, &f);
  if( rc ) return rc;
  if( f.pValue ) return sqlite3_bind_value(pStmt, iParam, f.pValue);
  switch( f.eType ){
    case SQLITE_INTEGER: return sqlite3_bind_int64(pStmt, iParam, f.iVal);
    case SQLITE_TEXT:
      return sqlite3_bind_text(pStmt, iParam, (const char*)f.p, f.n,
                               SQLITE_STATIC);
    case SQLITE_BLOB:
      return sqlite3_bind_blob(pStmt, iParam, f.p, f.n, SQLITE_STATIC);
  }
  return sqlite3_bind_null(pStmt, iParam);
}

/* The key and value (copies) of the message at iOffset, and its headers
** with the dead letter's added (Kafka Connect's DLQ context headers). */
static int streamDeadLetterRead(StreamCtx *p, const char *zGroup,
                                const char *zTopic, i64 iPartition,
                                i64 iOffset, const char *zReason,
                                sqlite3_value **ppKey, sqlite3_value **ppValue,
                                char **pzHeaders, char **pzErr){
  /* Reads no table: an expression over the message's columns. */
  static const char zSql[] =
    "SELECT ?1, ?2, json_patch(coalesce(?3, '{}'), json_object("
    "'dlq.topic', ?4, 'dlq.partition', ?5, 'dlq.offset', ?6,"
    " 'dlq.group', ?7, 'dlq.reason', ?8, 'dlq.timestamp', ?9))";
  StreamScan *pScan = 0;
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3StreamScanPartition(p, zTopic, iPartition,
                                      STREAM_SCAN_OFF_EQ, 1, &iOffset, &pScan,
                                      pzErr);
  if( rc==SQLITE_OK && sqlite3StreamScanEof(pScan) ){
    rc = sqlite3StreamErr(pzErr, SQLITE_NOTFOUND,
        "no message at %s/%lld offset %lld", zTopic, iPartition, iOffset);
  }
  if( rc==SQLITE_OK ){
    pStmt = sqlite3StreamStmtStatic(p, zSql, pzErr);
    if( pStmt==0 ) rc = sqlite3StreamStmtErr(p);
  }
  if( rc==SQLITE_OK ){
    rc = streamScanBind(pScan, STREAM_SCAN_COL_KEY, pStmt, 1);
    if( rc==SQLITE_OK ){
      rc = streamScanBind(pScan, STREAM_SCAN_COL_VALUE, pStmt, 2);
    }
    if( rc==SQLITE_OK ){
      rc = streamScanBind(pScan, STREAM_SCAN_COL_HEADERS, pStmt, 3);
    }
    if( rc==SQLITE_CORRUPT ){                /* as stream_messages says */
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "corrupt compressed value");
    }
  }
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(pStmt, 4, zTopic, -1, SQLITE_STATIC);
    sqlite3_bind_int64(pStmt, 5, iPartition);
    sqlite3_bind_int64(pStmt, 6, iOffset);
    sqlite3_bind_text(pStmt, 7, zGroup, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 8, zReason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(pStmt, 9, sqlite3StreamScanInt(pScan, STREAM_SCAN_COL_TIMESTAMP));
    if( sqlite3_step(pStmt)==SQLITE_ROW ){
      *ppKey = sqlite3_value_dup(sqlite3_column_value(pStmt, 0));
      *ppValue = sqlite3_value_dup(sqlite3_column_value(pStmt, 1));
      *pzHeaders = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 2));
      if( !*ppKey || !*ppValue || !*pzHeaders ) rc = SQLITE_NOMEM;
    }
    if( rc ){
      sqlite3_reset(pStmt);
    }else{
      rc = sqlite3StreamStorageReset(p, pStmt, pzErr);
    }
  }
  if( pStmt ) sqlite3_clear_bindings(pStmt);     /* they point into pScan */
  sqlite3StreamScanClose(pScan);
  return rc;
}

/*
** SQLITE_OK if the message at iOffset was delivered to the member: below
** its position, or, before its first poll of the partition, below the
** group's committed offset.  With neither, below where its first poll
** would start by auto.offset.reset: with earliest that is the log start
** offset, so nothing was delivered (committing past offset 3 would skip
** 0..2, never read); with latest the first poll skips to the high
** watermark anyway, and with none the application positions the member
** itself: allowed.  An error naming the position otherwise.
*/
static int streamDeadLetterDelivered(StreamCtx *p, const char *zGroup,
                                     const char *zMember, const char *zTopic,
                                     i64 iPartition, i64 iOffset,
                                     char **pzErr){
  StreamIncarnation *pInc = sqlite3StreamIncarnGet(p, zGroup, zMember);
  StreamPart *aPart = 0;
  int nPart = 0, bFound = 0, rc = SQLITE_OK;
  i64 iNext = -1;
  if( pInc ){
    rc = streamPartsLoad(p, zGroup, zMember, pInc, &aPart, &nPart, pzErr);
    streamPartsFree(aPart, nPart);
    if( rc==SQLITE_OK ){
      StreamPosition *pPos = streamPosFind(pInc, zTopic, -1, iPartition);
      if( pPos ) iNext = pPos->iPos;
    }
  }
  if( rc==SQLITE_OK && iNext<0 ){
    rc = sqlite3StreamCatCommitted(p, zGroup, zTopic, iPartition, &iNext,
                                   &bFound, pzErr);
    if( !bFound ) iNext = -1;
  }
  if( rc==SQLITE_OK && iNext<0 ){
    StreamMember m;
    rc = sqlite3StreamMemberPeek(p, p, zGroup, zMember, &m, pzErr);
    if( rc==SQLITE_OK && m.eReset==STREAM_RESET_EARLIEST ){
      rc = sqlite3StreamCatLogStart(p, zTopic, iPartition, &iNext,
                                    &bFound, pzErr);
      if( rc==SQLITE_OK && iOffset>=iNext ){
        return sqlite3StreamErr(pzErr, SQLITE_ERROR,
            "offset %lld of %s/%lld has not been delivered to member %s of"
            " group %s (it has not polled the partition, the group has no"
            " committed offset, and auto.offset.reset earliest starts its"
            " first poll at %lld): only a delivered message can be"
            " dead-lettered", iOffset, zTopic, iPartition, zMember, zGroup,
            iNext);
      }
      iNext = -1;
    }
  }
  if( rc==SQLITE_OK && iNext>=0 && iOffset>=iNext ){
    rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "offset %lld of %s/%lld has not been delivered to member %s of group"
        " %s (its position is %lld): only a delivered message can be"
        " dead-lettered", iOffset, zTopic, iPartition, zMember, zGroup,
        iNext);
  }
  return rc;
}

int sqlite3StreamDeadLetter(StreamCtx *p, const char *zGroup,
                            const char *zMember, const char *zTopic,
                            i64 iPartition, i64 iOffset, const char *zReason,
                            i64 *piDlqOffset, char **pzErr){
  StreamTopic t;
  StreamMsg msg;
  char *zDlq = 0, *zHeaders = 0;
  sqlite3_value *pKey = 0, *pValue = 0;
  i64 n;
  int bOwns, rc, bFound;

  rc = sqlite3StreamMemberFence(p, zGroup, zMember, 0, pzErr);
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

  /* The message (the scan API, every tier) and its new headers. */
  rc = streamDeadLetterRead(p, zGroup, zTopic, iPartition, iOffset, zReason,
                            &pKey, &pValue, &zHeaders, pzErr);
  if( rc ) goto out;

  /* Only a delivered message: committing past one not yet handed out
  ** would skip the messages between (docs/groups.md). */
  rc = streamDeadLetterDelivered(p, zGroup, zMember, zTopic, iPartition,
                                 iOffset, pzErr);
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
  {
    StreamIncarnation *pInc = sqlite3StreamIncarnGet(p, zGroup, zMember);
    StreamPart *aPart = 0;
    int nPart = 0;
    rc = pInc ? streamPartsLoad(p, zGroup, zMember, pInc, &aPart, &nPart,
                                pzErr) : SQLITE_OK;
    streamPartsFree(aPart, nPart);
    if( rc ) goto out;
    if( pInc ){
      StreamPosition *pPos = streamPosFind(pInc, zTopic, -1, iPartition);
      /* Not started (-1): the first poll starts at the commit below,
      ** never at a position under it (a redelivery). */
      if( pPos && pPos->iPos>=0 && pPos->iPos<iOffset+1 ){
        streamPosEnlist(p);
        streamPosSet(p, pPos, iOffset+1);
      }
    }
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamCatCommitted(p, zGroup, zTopic, iPartition, &n, &bFound,
                                   pzErr);
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
