/*
** poll.c - the stream_poll table-valued function.
**
**   SELECT * FROM stream_poll('billing', 'worker-1');
**   SELECT offset, value FROM stream_poll('billing', 'worker-1', 100, 1000);
**
** Columns: the message columns of stream_messages (topic, partition,
** offset, key, value, headers, timestamp); hidden arguments group_id,
** member_id, max_records (default: the member's max.poll.records) and
** wait_ms (default 0).  Each call is one Kafka poll: it checks the
** membership (heartbeat, fencing, rebalance), auto-commits when due and
** returns the next messages of the member's partitions (ext/consume.c).
**
** Delivery: xFilter fetches the rows but moves no position over them.
** The cursor counts the rows handed to the caller - moved past by xNext,
** or read by xColumn/xRowid - and each one moves its partition's position
** one past it at once (sqlite3StreamPollHandOut).  Positions live in the
** connection (ext/consume.c): a poll writes nothing unless a heartbeat,
** a rebalance or an auto-commit is due, so with nothing due it is a read
** and takes no write lock.  Inside a transaction, and in a writing
** statement, the moves are undone by a rollback (a failing INSERT ...
** SELECT too).  What SQLite would filter or reorder after the table is
** refused by xBestIndex (see there).
**
** Long polls: with wait_ms, a poll that finds nothing waits for commits
** on a private reader connection and, in autocommit mode, returns the
** messages read through it (the statement's own snapshot cannot see
** them).  Details in ext/consume.c and docs/groups.md.
**
** Called as a scalar, stream_poll(...) is an error that shows the
** table-valued form.
**
** xBestIndex: idxNum encoding documented above it.
** SQLITE_VTAB_DIRECTONLY: a poll may write heartbeats and commits.
*/
#include "streamInt.h"
#include <string.h>

#define POLL_NCOL   7          /* message columns */
#define POLL_GROUP  7          /* hidden argument columns */
#define POLL_MEMBER 8
#define POLL_MAX    9
#define POLL_WAIT   10

#define POLL_ORDER_SHIFT 8     /* idxNum: ORDER BY terms, 3 bits each */

typedef struct StreamPollVtab StreamPollVtab;
typedef struct StreamPollCursor StreamPollCursor;

struct StreamPollVtab {
  sqlite3_vtab base;           /* Base class - must be first */
  StreamCtx *pCtx;             /* Connection state */
  StreamPollResult spare;      /* Buffers of a closed cursor, for the next */
  int bCopy;                   /* Hand out copies only (streamPollColumn) */
};

/* A closed cursor keeps its buffers for the next poll unless they are
** larger than this. */
#define POLL_SPARE_MAX (4*1024*1024)

struct StreamPollCursor {
  sqlite3_vtab_cursor base;    /* Base class - must be first */
  StreamPollOpen *pPoll;       /* Rows of this poll, what was handed out */
  int iRow;                    /* Current row */
  sqlite3_value *aArg[4];      /* Copies of the arguments: hidden columns */
  char *zOld;                  /* Arena of the first poll, once filtered
                               ** again (its values were not copied) */
  int bCopy;                   /* Hand out copies (filtered again) */
  StreamReading reading;       /* In the connection's list while open */
};

/* Most "=" terms on an argument column beyond the first (idxStr). */
#define POLL_MAX_DUP 8

static int streamPollConnect(sqlite3 *db, void *pAux, int argc,
                             const char *const *argv, sqlite3_vtab **ppVtab,
                             char **pzErr){
  StreamPollVtab *pTab;
  int rc;
  STREAM_UNUSED(argc); STREAM_UNUSED(argv);
  rc = sqlite3_declare_vtab(db,
      "CREATE TABLE x(topic TEXT, partition INTEGER, offset INTEGER, key,"
      " value, headers TEXT, timestamp INTEGER, group_id TEXT HIDDEN,"
      " member_id TEXT HIDDEN, max_records INTEGER HIDDEN,"
      " wait_ms INTEGER HIDDEN)");
  if( rc ){
    *pzErr = sqlite3_mprintf(STREAM_ERR "%s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  pTab = sqlite3_malloc64(sizeof(*pTab));
  if( pTab==0 ) return SQLITE_NOMEM;
  memset(pTab, 0, sizeof(*pTab));
  pTab->pCtx = (StreamCtx*)pAux;
  /* A SQLite built to close a cursor at the end of its loop (before its
  ** statement ends: a subquery's) could keep pointers into a closed
  ** cursor's arena: values are copied there (streamPollColumn). */
  pTab->bCopy = sqlite3_compileoption_used("ENABLE_EARLY_CURSOR_CLOSE");
  *ppVtab = &pTab->base;
  return SQLITE_OK;
}

static int streamPollDisconnect(sqlite3_vtab *pVtab){
  sqlite3StreamPollResultFree(&((StreamPollVtab*)pVtab)->spare);
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

static const char *const azPollCol[] = {
  "topic", "partition", "offset", "key", "value", "headers", "timestamp",
  "group_id", "member_id", "max_records", "wait_ms"
};

/*
** A poll's positions move over the rows handed to its caller, so nothing
** may drop or reorder rows after the table (docs/groups.md):
**
**   - a constraint other than "=" on an argument (a WHERE on a message
**     column, an OFFSET) is refused: SQLite would filter after the table,
**     and rows it drops would count as delivered;
**   - an ORDER BY is satisfied by the table (sorted in xFilter) when its
**     terms are topic and partition (either direction) and offset
**     ascending - those keep each partition's rows in offset order, so
**     what a caller has seen is a prefix of each partition; any other
**     is refused, since SQLite's sorter would read every row first;
**   - a LIMIT is pushed down to cap max_records;
**   - an argument constrained twice (stream_poll('g', 'm') WHERE
**     group_id = ?) gets every value: xFilter polls only if the others
**     equal the first (SQLite would otherwise compare the hidden column
**     after the poll and drop rows it had delivered); each such extra
**     value follows the arguments and the LIMIT in argv, and idxStr names
**     their argument ('0'..'3', one character each).
**
** idxNum: bit i (0-3) set = argument i (group_id, member_id, max_records,
** wait_ms) given by "=", passed to xFilter in that order; bit 4 = a LIMIT
** follows them; from bit POLL_ORDER_SHIFT, 3 bits per ORDER BY term
** (column + 1 in the low two bits, 4 = descending), 0 ending the list.
*/
static int streamPollBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  int aIdx[5] = {-1, -1, -1, -1, -1};
  int aDup[POLL_MAX_DUP];
  char zDup[POLL_MAX_DUP];
  int i, n = 0, idxNum = 0, nTerm = 0, mSeen = 0, nDup = 0;
  for(i=0; i<pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *pC = &pInfo->aConstraint[i];
    int iArg = pC->iColumn - POLL_GROUP;
    if( pC->op==SQLITE_INDEX_CONSTRAINT_LIMIT ){
      if( pC->usable ) aIdx[4] = i;
      continue;
    }
    if( pC->op==SQLITE_INDEX_CONSTRAINT_OFFSET ){
      sqlite3StreamVtabErr(pVtab, "stream_poll: an OFFSET would skip rows the"
          " poll has already counted as delivered; poll fewer rows"
          " (max_records, LIMIT) or use stream_seek");
      return SQLITE_ERROR;
    }
    if( iArg>=0 && iArg<=3 && pC->op==SQLITE_INDEX_CONSTRAINT_EQ ){
      if( !pC->usable ) return SQLITE_CONSTRAINT;
      if( aIdx[iArg]>=0 ){
        /* The last term is the argument (a table-valued function's
        ** arguments follow the WHERE terms); an earlier one is checked
        ** against it. */
        int iPrev = aIdx[iArg];
        if( !sqlite3StreamVtabBinary(pInfo, iPrev) || nDup>=POLL_MAX_DUP ){
          sqlite3StreamVtabErr(pVtab, "stream_poll: %s is constrained more"
              " than once%s; give each argument once",
              azPollCol[pC->iColumn],
              nDup>=POLL_MAX_DUP ? "" : " with another collation");
          return SQLITE_ERROR;
        }
        aDup[nDup] = iPrev;
        zDup[nDup++] = (char)('0' + iArg);
      }
      aIdx[iArg] = i;
      continue;
    }
    sqlite3StreamVtabErr(pVtab, "stream_poll: a WHERE on column %s would drop"
        " rows the poll has already counted as delivered; poll into a"
        " temporary table and filter that, or use stream_seek",
        pC->iColumn>=0 && pC->iColumn<=POLL_WAIT ? azPollCol[pC->iColumn]
                                                 : "rowid");
    return SQLITE_ERROR;
  }
  for(i=0; i<5; i++){
    if( aIdx[i]>=0 ){
      pInfo->aConstraintUsage[aIdx[i]].argvIndex = ++n;
      pInfo->aConstraintUsage[aIdx[i]].omit = 1;
      idxNum |= 1<<i;   /* i < 5; bit 4: the LIMIT */
    }
  }
  if( sqlite3StreamVtabDupArgs(pInfo, n, aDup, zDup, nDup) ){
    return SQLITE_NOMEM;
  }
  for(i=0; i<pInfo->nOrderBy; i++){
    int iCol = pInfo->aOrderBy[i].iColumn;
    int bDesc = pInfo->aOrderBy[i].desc!=0;
    if( iCol<0 || iCol>2 || (iCol==2 && bDesc) ){
      sqlite3StreamVtabErr(pVtab, "stream_poll: ORDER BY %s%s would read every"
          " row of the poll before returning the first, and count them all as"
          " delivered; order by topic, partition and offset (ascending), or"
          " poll into a temporary table and sort that",
          iCol>=0 && iCol<=POLL_WAIT ? azPollCol[iCol] : "rowid",
          bDesc ? " DESC" : "");
      return SQLITE_ERROR;
    }
    if( mSeen & (1<<iCol) ) continue;      /* a repeated term adds nothing */
    mSeen |= 1<<iCol;
    idxNum |= ((iCol+1) | (bDesc<<2)) << (POLL_ORDER_SHIFT + 3*nTerm++);
  }
  if( pInfo->nOrderBy>0 ) pInfo->orderByConsumed = 1;
  pInfo->idxNum = idxNum;
  pInfo->estimatedCost = 1000.0;
  pInfo->estimatedRows = 500;
  return SQLITE_OK;
}

/* A sort key of a row: the ORDER BY terms, then (topic, partition) rank
** and offset, so that each partition's rows stay in offset order. */
typedef struct StreamPollKey StreamPollKey;
struct StreamPollKey {
  i64 a[5];                    /* Up to 3 terms, then rank and offset */
  int iRow;                    /* Row it sorts */
};

static int streamPollKeyCmp(const void *pA, const void *pB){
  const StreamPollKey *x = (const StreamPollKey*)pA;
  const StreamPollKey *y = (const StreamPollKey*)pB;
  int i;
  for(i=0; i<5; i++){
    if( x->a[i]!=y->a[i] ) return x->a[i]<y->a[i] ? -1 : 1;
  }
  return 0;
}

/* Sort the rows of pRes by the ORDER BY terms of idxNum. */
static int streamPollSort(StreamPollResult *pRes, int idxNum){
  StreamPollKey *aKey;
  StreamPollRow *aTmp;
  int i, j, n = pRes->nRow;
  if( n<2 ) return SQLITE_OK;
  aKey = sqlite3_malloc64((sizeof(*aKey) + sizeof(*aTmp)) * (size_t)n);
  if( aKey==0 ) return SQLITE_NOMEM;
  aTmp = (StreamPollRow*)&aKey[n];
  for(i=0; i<n; i++){
    const StreamPollRow *pRow = &pRes->aRow[i];
    const StreamPollPart *pP = &pRes->aPart[pRow->iPart];
    int t = idxNum >> POLL_ORDER_SHIFT;
    for(j=0; (t & 3)!=0; j++, t>>=3){
      i64 v = (t & 3)==1 ? pP->iTopicRank
            : (t & 3)==2 ? pP->iPartition : pRow->aVal[2];
      aKey[i].a[j] = (t & 4) ? -v : v;
    }
    aKey[i].a[j++] = pP->iOrder;
    aKey[i].a[j++] = pRow->aVal[2];
    for(; j<5; j++) aKey[i].a[j] = 0;
    aKey[i].iRow = i;
  }
  qsort(aKey, (size_t)n, sizeof(*aKey), streamPollKeyCmp);
  for(i=0; i<n; i++) aTmp[i] = pRes->aRow[aKey[i].iRow];
  memcpy(pRes->aRow, aTmp, sizeof(*aTmp) * (size_t)n);
  sqlite3_free(aKey);
  return SQLITE_OK;
}

/* Give the cursor a StreamPollOpen (with buffers from spare, if any). */
static int streamPollAlloc(StreamPollCursor *pCur, StreamPollResult *pSpare){
  if( pCur->pPoll==0 ){
    pCur->pPoll = sqlite3_malloc64(sizeof(*pCur->pPoll));
    if( pCur->pPoll==0 ) return SQLITE_NOMEM;
    memset(pCur->pPoll, 0, sizeof(*pCur->pPoll));
    if( pSpare ){
      pCur->pPoll->res = *pSpare;
      memset(pSpare, 0, sizeof(*pSpare));
    }
  }
  return SQLITE_OK;
}

/* StreamReading.xActive: rows left to hand out (of any topic), which
** stream_delete_topic() will not delete from under it (ext/topic.c). */
static int streamPollActive(StreamReading *pR){
  StreamPollCursor *pCur = (StreamPollCursor*)((char*)pR
                           - offsetof(StreamPollCursor, reading));
  return pCur->pPoll && pCur->iRow<pCur->pPoll->res.nRow;
}

static int streamPollOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur){
  StreamPollVtab *pTab = (StreamPollVtab*)pVtab;
  StreamPollCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  if( pCur==0 ) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  pCur->bCopy = pTab->bCopy;
  if( streamPollAlloc(pCur, &pTab->spare) ){
    sqlite3_free(pCur);
    return SQLITE_NOMEM;
  }
  pCur->reading.xActive = streamPollActive;
  sqlite3StreamReadingAdd(pTab->pCtx, &pCur->reading);
  *ppCur = &pCur->base;
  return SQLITE_OK;
}

static void streamPollArgsFree(StreamPollCursor *pCur){
  int i;
  for(i=0; i<4; i++){
    sqlite3_value_free(pCur->aArg[i]);
    pCur->aArg[i] = 0;
  }
}

/* xClose runs when the statement ends - after its last row, at an error,
** or at sqlite3_reset()/sqlite3_finalize() after fewer steps.  The rows
** handed out have moved their positions already. */
static int streamPollClose(sqlite3_vtab_cursor *cur){
  StreamPollCursor *pCur = (StreamPollCursor*)cur;
  StreamPollVtab *pTab = (StreamPollVtab*)cur->pVtab;
  StreamPollOpen *pPoll = pCur->pPoll;
  sqlite3StreamReadingRemove(pTab->pCtx, &pCur->reading);
  if( pPoll && pTab->spare.aRow==0 && pTab->spare.zArena==0
   && pTab->spare.aPart==0 && pPoll->res.nArenaAlloc<=POLL_SPARE_MAX ){
    pTab->spare = pPoll->res;
    pTab->spare.nRow = 0;
    pTab->spare.nArena = 0;
    pTab->spare.nPart = 0;
    memset(&pPoll->res, 0, sizeof(pPoll->res));
  }
  sqlite3StreamPollOpenFree(pPoll);
  streamPollArgsFree(pCur);
  sqlite3_free(pCur->zOld);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

static int streamPollFilter(sqlite3_vtab_cursor *cur, int idxNum,
                            const char *idxStr, int argc,
                            sqlite3_value **argv){
  StreamPollCursor *pCur = (StreamPollCursor*)cur;
  StreamPollVtab *pTab = (StreamPollVtab*)cur->pVtab;
  StreamCtx *p = pTab->pCtx;
  StreamPollOpen *pPoll;
  sqlite3_value *aArg[5] = {0, 0, 0, 0, 0};
  const char *zGroup, *zMember;
  i64 nMax = -1, nWait = 0, nCap = -1;
  char *zErr = 0;
  int i, j, rc;
  STREAM_UNUSED(argc);
  /* Filtered again (the inner loop of a join): the previous poll ends. */
  if( streamPollAlloc(pCur, 0) ) return SQLITE_NOMEM;
  pPoll = pCur->pPoll;
  if( !pCur->bCopy && pPoll->nDelivered>0 && pPoll->res.zArena ){
    /* Its values were handed out as pointers into its arena, which SQLite
    ** may still hold (an aggregate's bare column or min()/max() of the
    ** outer loop): the arena lives until xClose, and this cursor's later
    ** polls hand out copies, so that a join's inner loop does not keep an
    ** arena for every poll (streamPollColumn). */
    pCur->zOld = pPoll->res.zArena;
    pCur->bCopy = 1;
    pPoll->res.zArena = 0;
    pPoll->res.nArenaAlloc = 0;
  }
  pPoll->res.nRow = 0;
  pPoll->res.nArena = 0;
  pPoll->res.nPart = 0;
  pCur->iRow = 0;
  streamPollArgsFree(pCur);
  for(i=0, j=0; i<5; i++){
    if( idxNum & (1<<i) ) aArg[i] = argv[j++];
  }
  if( aArg[0]==0 || aArg[1]==0 ){
    sqlite3StreamVtabErr(cur->pVtab, "stream_poll(group, member"
                         " [, max_records [, wait_ms]]) needs a group and a"
                         " member");
    return SQLITE_ERROR;
  }
  if( sqlite3_value_type(aArg[0])!=SQLITE_TEXT
   || sqlite3_value_type(aArg[1])!=SQLITE_TEXT ){
    sqlite3StreamVtabErr(cur->pVtab,
                         "stream_poll: group and member must be text");
    return SQLITE_ERROR;
  }
  for(i=2; i<4; i++){
    i64 v;
    if( aArg[i] && sqlite3_value_type(aArg[i])!=SQLITE_NULL
     && !sqlite3StreamValueInt(aArg[i], &v) ){
      sqlite3StreamVtabErr(cur->pVtab, "stream_poll: %s must be an integer",
                           i==2 ? "max_records" : "wait_ms");
      return SQLITE_ERROR;
    }
  }
  if( aArg[2] && sqlite3StreamValueInt(aArg[2], &nMax) ){
    if( nMax<1 ){
      sqlite3StreamVtabErr(cur->pVtab,
          "stream_poll: max_records must be >= 1, got %lld", nMax);
      return SQLITE_ERROR;
    }
  }
  if( aArg[3] ) sqlite3StreamValueInt(aArg[3], &nWait);
  if( aArg[4] && sqlite3_value_type(aArg[4])==SQLITE_INTEGER ){
    nCap = sqlite3_value_int64(aArg[4]);     /* LIMIT; < 1: none */
  }
  for(i=0; i<4; i++){
    if( aArg[i] && (pCur->aArg[i] = sqlite3_value_dup(aArg[i]))==0 ){
      return SQLITE_NOMEM;
    }
  }
  for(i=0; idxStr && idxStr[i]; i++){
    /* Another value of an argument: no poll (no rows) unless equal. */
    int k = idxStr[i]-'0';
    rc = sqlite3StreamVtabSame(aArg[k], argv[j++],
                               k<2 ? SQLITE_TEXT : SQLITE_INTEGER);
    if( rc<0 ) return SQLITE_NOMEM;
    if( rc==0 ) return SQLITE_OK;
  }
  zGroup = (const char*)sqlite3_value_text(aArg[0]);
  zMember = (const char*)sqlite3_value_text(aArg[1]);
  if( zGroup==0 || zMember==0 ) return SQLITE_NOMEM;
  for(i=0; i<2; i++){
    const char *z = i ? zMember : zGroup;
    size_t n = strlen(z);
    if( (int)n!=sqlite3_value_bytes(aArg[i]) || !sqlite3StreamUtf8Check(z, n) ){
      /* "a\0b" would be read as "a": refuse, as the SQL functions do. */
      sqlite3StreamVtabErr(cur->pVtab, "stream_poll: %s %s", i ? "member"
          : "group", (int)n!=sqlite3_value_bytes(aArg[i])
          ? "must not contain NUL bytes" : "is not valid UTF-8");
      return SQLITE_ERROR;
    }
  }
  sqlite3_free(pPoll->zGroup);
  pPoll->zGroup = sqlite3_mprintf("%s%c%s", zGroup, 0, zMember);
  if( pPoll->zGroup==0 ) return SQLITE_NOMEM;
  pPoll->zMember = pPoll->zGroup + strlen(zGroup) + 1;
  pPoll->bExplicit = !sqlite3_get_autocommit(p->db);
  pPoll->nDelivered = 0;
  rc = sqlite3StreamPoll(p, zGroup, zMember, nMax, nCap, nWait, &pPoll->res,
                         &zErr);
  /* The poll enlisted the transaction: its end is now known (nTxnEnd). */
  pPoll->nTxnEnd = p->nTxnEnd;
  pPoll->nEpoch = p->nPosEpoch;
  if( rc==SQLITE_OK && (idxNum>>POLL_ORDER_SHIFT)!=0 ){
    rc = streamPollSort(&pPoll->res, idxNum);
    if( rc ) pPoll->res.nRow = 0;
  }
  if( rc ){
    sqlite3_free(cur->pVtab->zErrMsg);
    cur->pVtab->zErrMsg = zErr;
    return sqlite3StreamErrCode(rc);
  }
  return SQLITE_OK;
}

/* A row is handed out once the cursor moves past it, or once a column
** (or the rowid) of it was read. */
static void streamPollSeen(StreamPollCursor *pCur){
  StreamPollOpen *pPoll = pCur->pPoll;
  if( pPoll->nDelivered<=pCur->iRow && pCur->iRow<pPoll->res.nRow ){
    sqlite3StreamPollHandOut(((StreamPollVtab*)pCur->base.pVtab)->pCtx,
                             pPoll, pCur->iRow + 1);
  }
}

static int streamPollNext(sqlite3_vtab_cursor *cur){
  StreamPollCursor *pCur = (StreamPollCursor*)cur;
  streamPollSeen(pCur);
  pCur->iRow++;
  return SQLITE_OK;
}

static int streamPollEof(sqlite3_vtab_cursor *cur){
  StreamPollCursor *pCur = (StreamPollCursor*)cur;
  return pCur->iRow>=pCur->pPoll->res.nRow;
}

static int streamPollColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx,
                            int iCol){
  StreamPollCursor *pCur = (StreamPollCursor*)cur;
  streamPollSeen(pCur);
  if( iCol<POLL_NCOL ){
    /* Column iCol of the row (StreamPollRow, ext/streamInt.h). */
    const StreamPollResult *pRes = &pCur->pPoll->res;
    const StreamPollRow *pRow = &pRes->aRow[pCur->iRow];
    switch( pRow->aType[iCol] ){
      case SQLITE_INTEGER:
        sqlite3_result_int64(ctx, pRow->aVal[iCol]);
        break;
      /* Pointers into the arena (SQLITE_STATIC), not copies: SQLite may
      ** keep a value beyond the row (an aggregate's bare column, min() or
      ** max() keep the pointer itself), so the arena is not written again
      ** while the cursor is open, and a cursor is closed only when its
      ** statement ends (reset, finalize, its last row).  A cursor filtered
      ** again (the inner loop of a join) keeps its first poll's arena
      ** (zOld) and hands out copies from then on (SQLITE_TRANSIENT), its
      ** arena reused by each poll; every cursor does under a SQLite that
      ** closes cursors early (StreamPollVtab.bCopy).  poll.test 18.*. */
      case SQLITE_TEXT:
        sqlite3_result_text(ctx, pRes->zArena + pRow->aVal[iCol],
                            pRow->aLen[iCol],
                            pCur->bCopy ? SQLITE_TRANSIENT : SQLITE_STATIC);
        break;
      case SQLITE_BLOB:
        sqlite3_result_blob(ctx, pRes->zArena + pRow->aVal[iCol],
                            pRow->aLen[iCol],
                            pCur->bCopy ? SQLITE_TRANSIENT : SQLITE_STATIC);
        break;
      default:
        break;
    }
  }else if( iCol<=POLL_WAIT && pCur->aArg[iCol-POLL_GROUP] ){
    /* A hidden argument column: the argument, as a table's row would
    ** hold the value its "=" term selected. */
    sqlite3_result_value(ctx, pCur->aArg[iCol-POLL_GROUP]);
  }
  return SQLITE_OK;
}

static int streamPollRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *pRowid){
  StreamPollCursor *pCur = (StreamPollCursor*)cur;
  streamPollSeen(pCur);
  *pRowid = pCur->iRow;
  return SQLITE_OK;
}

static const sqlite3_module streamPollModule = {
  0,                    /* iVersion */
  streamPollConnect,    /* xCreate: eponymous, and temp.stream_poll */
  streamPollConnect,    /* xConnect */
  streamPollBestIndex,  /* xBestIndex */
  streamPollDisconnect, /* xDisconnect */
  streamPollDisconnect, /* xDestroy */
  streamPollOpen,       /* xOpen */
  streamPollClose,      /* xClose */
  streamPollFilter,     /* xFilter */
  streamPollNext,       /* xNext */
  streamPollEof,        /* xEof */
  streamPollColumn,     /* xColumn */
  streamPollRowid,      /* xRowid */
  0,                    /* xUpdate */
  0, 0, 0, 0,           /* xBegin, xSync, xCommit, xRollback */
  0,                    /* xFindFunction */
  0,                    /* xRename */
  0, 0, 0,              /* xSavepoint, xRelease, xRollbackTo */
  0                     /* xShadowName */
};

/*
** stream_poll(...) called as a scalar function, with any number of
** arguments: SQLite alone would say "no such function: stream_poll".
** Say how to call it.  SQLITE_DIRECTONLY like the table, so that a schema
** gets the same "unsafe use" answer for both forms.
*/
void sqlite3StreamPollScalarFunc(sqlite3_context *ctx, int argc,
                                 sqlite3_value **argv){
  STREAM_UNUSED(argc); STREAM_UNUSED(argv);
  sqlite3_result_error(ctx, STREAM_ERR "stream_poll is a table-valued "
      "function: SELECT * FROM stream_poll('group', 'member' "
      "[, max_records [, wait_ms]])", -1);
}

/*
** The module is eponymous (main.stream_poll), and is also created as
** temp.stream_poll, which the name finds first: a statement reading a
** table of main opens a read transaction on main when it starts, and
** would hold that WAL snapshot through a long poll's wait; a statement
** on a temp table does not, and a poll in autocommit mode reads through
** its reader connection (ext/consume.c).  If temp cannot be written, the
** eponymous table serves, pinning its snapshot while it runs.
*/
int sqlite3StreamRegisterPoll(sqlite3 *db, StreamCtx *p){
  int rc = sqlite3_create_module(db, "stream_poll", &streamPollModule, p);
  if( rc==SQLITE_OK ){
    sqlite3_exec(db, "CREATE VIRTUAL TABLE IF NOT EXISTS temp.stream_poll"
                     " USING stream_poll", 0, 0, 0);
  }
  return rc;
}
