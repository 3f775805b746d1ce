/*
** sqlvtab.c - the machinery shared by the catalog virtual tables
** (stream_topics, stream_partitions, stream_offsets, ...): an eponymous
** virtual table whose rows are those of one SELECT over the storage
** tables, described by a StreamSqlVtabDef.
**
** xBestIndex: every usable "=" constraint on a column whose bit is set in
** mEq is pushed down, unless it compares with a collation other than
** BINARY (name = 'x' COLLATE NOCASE is left to SQLite).  idxNum is the
** bitmask of those columns; the values arrive in xFilter in column order.
** xFilter runs
**     SELECT * FROM (<zSql>) WHERE c<i>=?1 AND c<j>=?2 ...
** (SQLite pushes the terms into the subquery, so indexes on the storage
** tables are used).  Statements are cached per idxNum on the table and
** finalized by xDisconnect.  Nothing else is pushed down: no LIMIT, no
** ORDER BY.
**
** Rows are unique for SQLite: a table with a rowid column (bRowid) has
** that rowid, any other is WITHOUT ROWID with a hidden PRIMARY KEY
** row_key = json_array(<zKey>), the last column of the SELECT.
**
** A database with no sqlite-stream storage yet simply has no rows.
*/
#include "streamInt.h"
#include <string.h>

/* Most distinct idxNum values cached per table. */
#define STREAM_SQLVTAB_CACHE 8

typedef struct StreamSqlVtab StreamSqlVtab;
typedef struct StreamSqlCursor StreamSqlCursor;

struct StreamSqlVtab {
  sqlite3_vtab base;           /* Base class - must be first */
  StreamCtx *pCtx;             /* Connection state */
  const StreamSqlVtabDef *pDef;/* What this table is */
  int nCol;                    /* Columns declared */
  int aIdx[STREAM_SQLVTAB_CACHE];            /* idxNum of aStmt[i] */
  sqlite3_stmt *aStmt[STREAM_SQLVTAB_CACHE]; /* Cached statements */
  int bInUse[STREAM_SQLVTAB_CACHE];          /* Held by a cursor */
};

struct StreamSqlCursor {
  sqlite3_vtab_cursor base;    /* Base class - must be first */
  sqlite3_stmt *pStmt;         /* Current statement, or NULL at EOF */
  int iSlot;                   /* Cache slot of pStmt, or -1 if private */
  i64 iRowid;                  /* Row counter */
};

void sqlite3StreamVtabErr(sqlite3_vtab *pVtab, const char *zFmt, ...){
  va_list ap;
  char *z;
  va_start(ap, zFmt);
  z = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  sqlite3_free(pVtab->zErrMsg);
  pVtab->zErrMsg = z ? sqlite3_mprintf("%s%s",
                                       STREAM_HAS_PREFIX(z) ? "" : STREAM_ERR, z)
                     : 0;
  sqlite3_free(z);
}

int sqlite3StreamVtabBinary(sqlite3_index_info *pInfo, int i){
  const char *zColl = sqlite3_vtab_collation(pInfo, i);
  return zColl==0 || sqlite3_stricmp(zColl, "BINARY")==0;
}

/*
** Whether SQLite's "a = b" holds for a hidden argument column of affinity
** eAff (SQLITE_TEXT or SQLITE_INTEGER) holding a and a term's value b
** (an argument given twice): the column's affinity is applied to both
** (a number compares with text as its text under TEXT, text that looks
** like a number as that number under INTEGER), then numbers compare as
** numbers, text and blobs byte by byte; NULL and mixed types never.
** 1 if it holds, 0 if not, -1 out of memory.
*/
int sqlite3StreamVtabSame(sqlite3_value *a, sqlite3_value *b, int eAff){
  sqlite3_value *x = sqlite3_value_dup(a), *y = sqlite3_value_dup(b);
  int tx, ty, n, rc = 0;
  const void *px, *py;
  if( x==0 || y==0 ){
    rc = -1;
    goto same_out;
  }
  if( eAff==SQLITE_INTEGER ){
    sqlite3_value_numeric_type(x);
    sqlite3_value_numeric_type(y);
  }
  tx = sqlite3_value_type(x);
  ty = sqlite3_value_type(y);
  if( (tx==SQLITE_INTEGER || tx==SQLITE_FLOAT)
   && (ty==SQLITE_INTEGER || ty==SQLITE_FLOAT) ){
    rc = tx==SQLITE_INTEGER && ty==SQLITE_INTEGER
       ? sqlite3_value_int64(x)==sqlite3_value_int64(y)
       : sqlite3_value_double(x)==sqlite3_value_double(y);
    goto same_out;
  }
  if( eAff==SQLITE_TEXT && (tx==SQLITE_TEXT || ty==SQLITE_TEXT) ){
    if( tx==SQLITE_INTEGER || tx==SQLITE_FLOAT ) tx = SQLITE_TEXT;
    if( ty==SQLITE_INTEGER || ty==SQLITE_FLOAT ) ty = SQLITE_TEXT;
  }
  if( tx!=ty || (tx!=SQLITE_TEXT && tx!=SQLITE_BLOB) ) goto same_out;
  px = tx==SQLITE_TEXT ? (const void*)sqlite3_value_text(x)
                       : sqlite3_value_blob(x);
  py = tx==SQLITE_TEXT ? (const void*)sqlite3_value_text(y)
                       : sqlite3_value_blob(y);
  n = sqlite3_value_bytes(x);
  if( n!=sqlite3_value_bytes(y) ) goto same_out;
  if( n>0 && (px==0 || py==0) ){
    rc = -1;
  }else{
    rc = n==0 || memcmp(px, py, (size_t)n)==0;
  }
same_out:
  sqlite3_value_free(x);
  sqlite3_value_free(y);
  return rc;
}

/*
** The extra "=" terms of a table-valued function's arguments (one given
** twice): aDup[0..nDup-1], named by zDup (one character each), go to
** xFilter after the n values already numbered, omitted by SQLite (xFilter
** compares them, sqlite3StreamVtabSame), and idxStr is zDup.
*/
int sqlite3StreamVtabDupArgs(sqlite3_index_info *pInfo, int n,
                             const int *aDup, const char *zDup, int nDup){
  int i;
  for(i=0; i<nDup; i++){
    pInfo->aConstraintUsage[aDup[i]].argvIndex = ++n;
    pInfo->aConstraintUsage[aDup[i]].omit = 1;
  }
  if( nDup>0 ){
    pInfo->idxStr = sqlite3_mprintf("%.*s", nDup, zDup);
    if( pInfo->idxStr==0 ) return SQLITE_NOMEM;
    pInfo->needToFreeIdxStr = 1;
  }
  return SQLITE_OK;
}

int sqlite3StreamErrCode(int rc){
  switch( rc&0xff ){
    case SQLITE_OK: case SQLITE_NOMEM: case SQLITE_BUSY: case SQLITE_LOCKED:
    case SQLITE_INTERRUPT: case SQLITE_IOERR: case SQLITE_FULL:
    case SQLITE_TOOBIG:
      return rc;
    default:
      return SQLITE_ERROR;
  }
}

static int streamSqlConnect(sqlite3 *db, void *pAux, int argc,
                            const char *const *argv, sqlite3_vtab **ppVtab,
                            char **pzErr){
  const StreamSqlVtabDef *pDef;
  StreamSqlVtab *pTab;
  char *zDecl;
  int rc, i;
  STREAM_UNUSED(argc); STREAM_UNUSED(argv);
  /* pAux points at a {StreamCtx*, def*} pair. */
  pDef = ((const StreamSqlVtabDef**)pAux)[1];
  if( pDef->zKey ){
    zDecl = sqlite3_mprintf("CREATE TABLE x(%s, row_key HIDDEN PRIMARY KEY)"
                            " WITHOUT ROWID", pDef->zDecl);
  }else{
    zDecl = sqlite3_mprintf("CREATE TABLE x(%s)", pDef->zDecl);
  }
  if( zDecl==0 ) return SQLITE_NOMEM;
  rc = sqlite3_declare_vtab(db, zDecl);
  sqlite3_free(zDecl);
  if( rc ){
    *pzErr = sqlite3_mprintf(STREAM_ERR "%s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_vtab_config(db, pDef->bDirectOnly ? SQLITE_VTAB_DIRECTONLY
                                            : SQLITE_VTAB_INNOCUOUS);
  pTab = sqlite3_malloc64(sizeof(*pTab));
  if( pTab==0 ) return SQLITE_NOMEM;
  memset(pTab, 0, sizeof(*pTab));
  pTab->pCtx = ((StreamCtx**)pAux)[0];
  pTab->pDef = pDef;
  for(i=0, pTab->nCol=1; pDef->zDecl[i]; i++){
    if( pDef->zDecl[i]==',' ) pTab->nCol++;
  }
  for(i=0; i<STREAM_SQLVTAB_CACHE; i++) pTab->aIdx[i] = -1;
  if( pDef->bAnchor ) pTab->pCtx->nAnchor++;
  *ppVtab = &pTab->base;
  return SQLITE_OK;
}

static int streamSqlDisconnect(sqlite3_vtab *pVtab){
  StreamSqlVtab *pTab = (StreamSqlVtab*)pVtab;
  int i;
  for(i=0; i<STREAM_SQLVTAB_CACHE; i++) sqlite3_finalize(pTab->aStmt[i]);
  if( pTab->pDef->bAnchor && --pTab->pCtx->nAnchor==0 ){
    /* The last moment to finalize cached statements (ext/schema.c): the
    ** scanner's (ext/scan.c), then the engine's. */
    sqlite3StreamScannerFinalize(pTab->pCtx->pScanner);
    sqlite3StreamStmtFinalizeAll(pTab->pCtx);
  }
  sqlite3_free(pTab);
  return SQLITE_OK;
}

static int streamSqlBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  StreamSqlVtab *pTab = (StreamSqlVtab*)pVtab;
  int aCons[32];               /* constraint index per column, or -1 */
  int i, n = 0, idxNum = 0;
  for(i=0; i<32; i++) aCons[i] = -1;
  for(i=0; i<pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *pC = &pInfo->aConstraint[i];
    if( pC->usable && pC->op==SQLITE_INDEX_CONSTRAINT_EQ
     && pC->iColumn>=0 && pC->iColumn<32
     && (pTab->pDef->mEq & (1u<<pC->iColumn))
     && sqlite3StreamVtabBinary(pInfo, i) ){
      aCons[pC->iColumn] = i;
    }
  }
  for(i=0; i<32; i++){
    if( aCons[i]>=0 ){
      pInfo->aConstraintUsage[aCons[i]].argvIndex = ++n;
      pInfo->aConstraintUsage[aCons[i]].omit = 1;
      idxNum |= (int)(1u<<i);
    }
  }
  pInfo->idxNum = idxNum;
  pInfo->estimatedCost = 1000000.0 / (double)(1 + n*100);
  pInfo->estimatedRows = n ? 10 : 1000;
  return SQLITE_OK;
}

static int streamSqlOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur){
  StreamSqlCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  STREAM_UNUSED(pVtab);
  if( pCur==0 ) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  pCur->iSlot = -1;
  *ppCur = &pCur->base;
  return SQLITE_OK;
}

static void streamSqlRelease(StreamSqlCursor *pCur){
  StreamSqlVtab *pTab = (StreamSqlVtab*)pCur->base.pVtab;
  sqlite3StreamStmtGiveBack(&pCur->pStmt, &pCur->iSlot, pTab->bInUse);
}

static int streamSqlClose(sqlite3_vtab_cursor *cur){
  streamSqlRelease((StreamSqlCursor*)cur);
  sqlite3_free(cur);
  return SQLITE_OK;
}

/* Prepare (or take from the cache) the statement for idxNum. */
static int streamSqlPrepare(StreamSqlVtab *pTab, int idxNum,
                            sqlite3_stmt **ppStmt, int *piSlot){
  int i, rc, iFree = -1;
  sqlite3_str *pStr;
  char *zSql;
  const char *zSep = " WHERE ";
  for(i=0; i<STREAM_SQLVTAB_CACHE; i++){
    if( pTab->aIdx[i]==idxNum && !pTab->bInUse[i] ){
      *ppStmt = pTab->aStmt[i];
      *piSlot = i;
      pTab->bInUse[i] = 1;
      return SQLITE_OK;
    }
    if( iFree<0 && pTab->aIdx[i]<0 ) iFree = i;
  }
  pStr = sqlite3_str_new(0);
  if( pTab->pDef->zKey ){
    /* row_key: the last column. */
    sqlite3_str_appendf(pStr, "SELECT *, json_array(%s) FROM (%s)",
                        pTab->pDef->zKey, pTab->pDef->zSql);
  }else{
    sqlite3_str_appendf(pStr, "SELECT * FROM (%s)", pTab->pDef->zSql);
  }
  for(i=0; i<32; i++){
    if( (unsigned)idxNum & (1u<<i) ){
      sqlite3_str_appendf(pStr, "%s\"c%d\"=?", zSep, i);
      zSep = " AND ";
    }
  }
  zSql = sqlite3_str_finish(pStr);
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v3(pTab->pCtx->db, zSql, -1,
        iFree>=0 ? SQLITE_PREPARE_PERSISTENT : 0, ppStmt, 0);
  sqlite3_free(zSql);
  if( rc ) return rc;
  *piSlot = iFree;
  if( iFree>=0 ){
    pTab->aIdx[iFree] = idxNum;
    pTab->aStmt[iFree] = *ppStmt;
    pTab->bInUse[iFree] = 1;
  }
  return SQLITE_OK;
}

static int streamSqlNext(sqlite3_vtab_cursor *cur){
  StreamSqlCursor *pCur = (StreamSqlCursor*)cur;
  int rc = sqlite3_step(pCur->pStmt);
  if( rc==SQLITE_ROW ){
    pCur->iRowid++;
    return SQLITE_OK;
  }
  rc = sqlite3_reset(pCur->pStmt);
  streamSqlRelease(pCur);
  if( rc ){
    sqlite3_vtab *pVtab = cur->pVtab;
    StreamSqlVtab *pTab = (StreamSqlVtab*)pVtab;
    sqlite3StreamVtabErr(pVtab, "%s", sqlite3_errmsg(pTab->pCtx->db));
  }
  return rc;
}

static int streamSqlFilter(sqlite3_vtab_cursor *cur, int idxNum,
                           const char *idxStr, int argc, sqlite3_value **argv){
  StreamSqlCursor *pCur = (StreamSqlCursor*)cur;
  StreamSqlVtab *pTab = (StreamSqlVtab*)cur->pVtab;
  int rc, i;
  STREAM_UNUSED(idxStr);
  streamSqlRelease(pCur);
  pCur->iRowid = 0;
  {
    /* A database of an earlier storage format: upgraded first, or an
    ** error (never read as if it had no storage). */
    char *zErr = 0;
    rc = sqlite3StreamFormatCheck(pTab->pCtx, &zErr);
    /* The transaction's pending record batches are read as rows. */
    if( rc==SQLITE_OK ) rc = sqlite3StreamPendingFlush(pTab->pCtx, &zErr);
    if( rc ){
      sqlite3StreamVtabErr(cur->pVtab, "%s", zErr ? zErr : "error");
      sqlite3_free(zErr);
      return rc;
    }
  }
  rc = streamSqlPrepare(pTab, idxNum, &pCur->pStmt, &pCur->iSlot);
  if( rc ){
    pCur->pStmt = 0;
    if( sqlite3StreamNoStorage(pTab->pCtx->db) ) return SQLITE_OK;  /* empty */
    sqlite3StreamVtabErr(cur->pVtab, "%s", sqlite3_errmsg(pTab->pCtx->db));
    return rc;
  }
  for(i=0; i<argc; i++) sqlite3_bind_value(pCur->pStmt, i+1, argv[i]);
  return streamSqlNext(cur);
}

static int streamSqlEof(sqlite3_vtab_cursor *cur){
  return ((StreamSqlCursor*)cur)->pStmt==0;
}

static int streamSqlColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx,
                           int iCol){
  StreamSqlCursor *pCur = (StreamSqlCursor*)cur;
  StreamSqlVtab *pTab = (StreamSqlVtab*)cur->pVtab;
  if( iCol==pTab->nCol ){
    int iKey = sqlite3_column_count(pCur->pStmt) - 1;
    sqlite3_result_value(ctx, sqlite3_column_value(pCur->pStmt, iKey));
  }else if( pTab->pDef->xColumn ){
    pTab->pDef->xColumn(ctx, pCur->pStmt, iCol);
  }else{
    sqlite3_result_value(ctx, sqlite3_column_value(pCur->pStmt, iCol));
  }
  return SQLITE_OK;
}

static int streamSqlRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *pRowid){
  StreamSqlCursor *pCur = (StreamSqlCursor*)cur;
  StreamSqlVtab *pTab = (StreamSqlVtab*)cur->pVtab;
  if( pTab->pDef->bRowid ){
    *pRowid = sqlite3_column_int64(pCur->pStmt, pTab->nCol);
  }else{
    *pRowid = pCur->iRowid;
  }
  return SQLITE_OK;
}

static int streamSqlUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                           sqlite3_int64 *pRowid){
  StreamSqlVtab *pTab = (StreamSqlVtab*)pVtab;
  char *zErr = 0;
  int rc;
  STREAM_UNUSED(pRowid);
  if( pTab->pDef->xUpdate==0 ){
    sqlite3StreamVtabErr(pVtab, "%s is read-only", pTab->pDef->zName);
    return SQLITE_READONLY;
  }
  rc = pTab->pDef->xUpdate(pTab->pCtx, argc, argv, &zErr);
  if( rc ){
    sqlite3_free(pVtab->zErrMsg);
    pVtab->zErrMsg = zErr;
  }
  return (rc&0xff)==SQLITE_CORRUPT ? SQLITE_ERROR : rc;
}

static const sqlite3_module streamSqlModule = {
  0,                    /* iVersion */
  0,                    /* xCreate: eponymous only */
  streamSqlConnect,     /* xConnect */
  streamSqlBestIndex,   /* xBestIndex */
  streamSqlDisconnect,  /* xDisconnect */
  0,                    /* xDestroy */
  streamSqlOpen,        /* xOpen */
  streamSqlClose,       /* xClose */
  streamSqlFilter,      /* xFilter */
  streamSqlNext,        /* xNext */
  streamSqlEof,         /* xEof */
  streamSqlColumn,      /* xColumn */
  streamSqlRowid,       /* xRowid */
  streamSqlUpdate,      /* xUpdate */
  0, 0, 0, 0,           /* xBegin, xSync, xCommit, xRollback */
  0,                    /* xFindFunction */
  0,                    /* xRename */
  0, 0, 0,              /* xSavepoint, xRelease, xRollbackTo */
  0                     /* xShadowName */
};

int sqlite3StreamRegisterSqlVtab(sqlite3 *db, StreamCtx *p,
                                 const StreamSqlVtabDef *pDef){
  /* The module's client data: {StreamCtx*, def*}, freed with the module. */
  void **apAux = sqlite3_malloc64(2*sizeof(void*));
  if( apAux==0 ) return SQLITE_NOMEM;
  apAux[0] = p;
  apAux[1] = (void*)pDef;
  return sqlite3_create_module_v2(db, pDef->zName, &streamSqlModule, apAux,
                                  sqlite3_free);
}
