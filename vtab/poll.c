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
** membership (heartbeat, fencing, rebalance), auto-commits when due,
** returns the next messages of the member's partitions and advances their
** positions, all in the caller's transaction (ext/consume.c).
**
** Long polls: with wait_ms, a poll that finds nothing waits on a private
** read-only connection (the statement's own snapshot cannot see new
** commits); in autocommit mode it then has sqlite3_step() rerun the
** statement with a fresh snapshot (SQLITE_SCHEMA), so the messages come
** back in the same call.  Details in ext/consume.c and docs/groups.md.
** In autocommit mode a poll's writes are one transaction that takes the
** write lock first (ext/txn.c); when that fails with SQLITE_BUSY_SNAPSHOT
** (another connection committed after the statement's snapshot began),
** the same rerun starts the statement again from the newest snapshot -
** provided nothing of the statement was committed yet.
**
** xBestIndex: idxNum bit i set = argument i (group_id, member_id,
** max_records, wait_ms) given by "=", passed to xFilter in that order.
** SQLITE_VTAB_DIRECTONLY: a poll writes positions and commits.
*/
#include "streamInt.h"
#include <string.h>

#define POLL_NCOL   7          /* message columns */
#define POLL_GROUP  7          /* hidden argument columns */
#define POLL_MEMBER 8
#define POLL_MAX    9
#define POLL_WAIT   10

typedef struct StreamPollVtab StreamPollVtab;
typedef struct StreamPollCursor StreamPollCursor;

struct StreamPollVtab {
  sqlite3_vtab base;           /* Base class - must be first */
  StreamCtx *pCtx;             /* Connection state */
  StreamPollResult spare;      /* Buffers of a closed cursor, for the next */
};

/* A closed cursor keeps its buffers for the next poll unless they are
** larger than this. */
#define POLL_SPARE_MAX (4*1024*1024)

struct StreamPollCursor {
  sqlite3_vtab_cursor base;    /* Base class - must be first */
  StreamPollResult res;        /* Rows of this poll */
  int iRow;                    /* Current row */
  i64 nAutoCommit;             /* StreamCtx.nAutoCommit when opened */
};

static int streamPollConnect(sqlite3 *db, void *pAux, int argc,
                             const char *const *argv, sqlite3_vtab **ppVtab,
                             char **pzErr){
  StreamPollVtab *pTab;
  int rc;
  STREAM_UNUSED(argc); STREAM_UNUSED(argv);
  rc = sqlite3_declare_vtab(db,
      "CREATE TABLE x(topic TEXT, partition INTEGER, offset INTEGER, key,"
      " value, headers TEXT, timestamp INTEGER, group_id HIDDEN,"
      " member_id HIDDEN, max_records HIDDEN, wait_ms HIDDEN)");
  if( rc ){
    *pzErr = sqlite3_mprintf(STREAM_ERR "%s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  pTab = sqlite3_malloc64(sizeof(*pTab));
  if( pTab==0 ) return SQLITE_NOMEM;
  memset(pTab, 0, sizeof(*pTab));
  pTab->pCtx = (StreamCtx*)pAux;
  *ppVtab = &pTab->base;
  return SQLITE_OK;
}

static int streamPollDisconnect(sqlite3_vtab *pVtab){
  sqlite3StreamPollResultFree(&((StreamPollVtab*)pVtab)->spare);
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

static int streamPollBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  int aIdx[4] = {-1, -1, -1, -1};
  int i, n = 0, idxNum = 0;
  STREAM_UNUSED(pVtab);
  for(i=0; i<pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *pC = &pInfo->aConstraint[i];
    int iArg = pC->iColumn - POLL_GROUP;
    if( iArg<0 || iArg>3 || pC->op!=SQLITE_INDEX_CONSTRAINT_EQ ) continue;
    if( !pC->usable ) return SQLITE_CONSTRAINT;
    aIdx[iArg] = i;
  }
  for(i=0; i<4; i++){
    if( aIdx[i]>=0 ){
      pInfo->aConstraintUsage[aIdx[i]].argvIndex = ++n;
      pInfo->aConstraintUsage[aIdx[i]].omit = 1;
      idxNum |= 1<<i;   /* i < 4 */
    }
  }
  pInfo->idxNum = idxNum;
  pInfo->estimatedCost = 1000.0;
  pInfo->estimatedRows = 500;
  return SQLITE_OK;
}

static int streamPollOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur){
  StreamPollVtab *pTab = (StreamPollVtab*)pVtab;
  StreamPollCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  if( pCur==0 ) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  pCur->res = pTab->spare;
  memset(&pTab->spare, 0, sizeof(pTab->spare));
  /* Cursors open when their statement starts (OP_VOpen), before anything
  ** of it runs. */
  pCur->nAutoCommit = pTab->pCtx->nAutoCommit;
  *ppCur = &pCur->base;
  return SQLITE_OK;
}

static int streamPollClose(sqlite3_vtab_cursor *cur){
  StreamPollCursor *pCur = (StreamPollCursor*)cur;
  StreamPollVtab *pTab = (StreamPollVtab*)cur->pVtab;
  if( pTab->spare.aRow==0 && pTab->spare.zArena==0
   && pCur->res.nArenaAlloc<=POLL_SPARE_MAX ){
    pTab->spare = pCur->res;
    pTab->spare.nRow = 0;
    pTab->spare.nArena = 0;
  }else{
    sqlite3StreamPollResultFree(&pCur->res);
  }
  sqlite3_free(pCur);
  return SQLITE_OK;
}

static int streamPollFilter(sqlite3_vtab_cursor *cur, int idxNum,
                            const char *idxStr, int argc,
                            sqlite3_value **argv){
  StreamPollCursor *pCur = (StreamPollCursor*)cur;
  StreamPollVtab *pTab = (StreamPollVtab*)cur->pVtab;
  sqlite3_value *aArg[4] = {0, 0, 0, 0};
  const char *zGroup, *zMember;
  i64 nMax = -1, nWait = 0;
  char *zErr = 0;
  int i, j, rc;
  STREAM_UNUSED(idxStr); STREAM_UNUSED(argc);
  pCur->res.nRow = 0;
  pCur->res.nArena = 0;
  pCur->iRow = 0;
  for(i=0, j=0; i<4; i++){
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
    if( aArg[i] && sqlite3_value_type(aArg[i])!=SQLITE_NULL
     && sqlite3_value_type(aArg[i])!=SQLITE_INTEGER ){
      sqlite3StreamVtabErr(cur->pVtab, "stream_poll: %s must be an integer",
                           i==2 ? "max_records" : "wait_ms");
      return SQLITE_ERROR;
    }
  }
  if( aArg[2] && sqlite3_value_type(aArg[2])==SQLITE_INTEGER ){
    nMax = sqlite3_value_int64(aArg[2]);
    if( nMax<1 ){
      sqlite3StreamVtabErr(cur->pVtab,
          "stream_poll: max_records must be >= 1, got %lld", nMax);
      return SQLITE_ERROR;
    }
  }
  if( aArg[3] && sqlite3_value_type(aArg[3])==SQLITE_INTEGER ){
    nWait = sqlite3_value_int64(aArg[3]);
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
  /* A rerun (SQLITE_SCHEMA) is safe only if nothing this statement did
  ** has been committed yet: in autocommit mode each poll or produce
  ** commits its own writes, and a rerun would run them again. */
  rc = sqlite3StreamPoll(pTab->pCtx, zGroup, zMember, nMax, nWait,
                         pCur->nAutoCommit==pTab->pCtx->nAutoCommit,
                         &pCur->res, &zErr);
  if( rc ){
    sqlite3_free(cur->pVtab->zErrMsg);
    cur->pVtab->zErrMsg = zErr;
    /* SQLITE_SCHEMA: a long poll saw new messages; sqlite3_step() runs the
    ** statement again with a fresh snapshot (ext/consume.c). */
    return rc==SQLITE_SCHEMA ? rc : sqlite3StreamErrCode(rc);
  }
  return SQLITE_OK;
}

static int streamPollNext(sqlite3_vtab_cursor *cur){
  ((StreamPollCursor*)cur)->iRow++;
  return SQLITE_OK;
}

static int streamPollEof(sqlite3_vtab_cursor *cur){
  StreamPollCursor *pCur = (StreamPollCursor*)cur;
  return pCur->iRow>=pCur->res.nRow;
}

static int streamPollColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx,
                            int iCol){
  StreamPollCursor *pCur = (StreamPollCursor*)cur;
  if( iCol<POLL_NCOL ){
    sqlite3StreamPollColumn(ctx, &pCur->res, pCur->iRow, iCol);
  }
  return SQLITE_OK;
}

static int streamPollRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *pRowid){
  *pRowid = ((StreamPollCursor*)cur)->iRow;
  return SQLITE_OK;
}

static const sqlite3_module streamPollModule = {
  0,                    /* iVersion */
  0,                    /* xCreate: eponymous only */
  streamPollConnect,    /* xConnect */
  streamPollBestIndex,  /* xBestIndex */
  streamPollDisconnect, /* xDisconnect */
  0,                    /* xDestroy */
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

int sqlite3StreamRegisterPoll(sqlite3 *db, StreamCtx *p){
  return sqlite3_create_module(db, "stream_poll", &streamPollModule, p);
}
