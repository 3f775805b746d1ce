/*
** records.c - stream_log_records(id, key, value, headers, timestamp,
** attrs): a table-valued function giving the messages of one stored row
** of _stream_log, one row each: the row itself if it holds one message,
** its records if it is a record batch (storage format 4, ext/record.c).
**
**   SELECT r.offset, r.key FROM _stream_log m,
**     stream_log_records(m.id, m.key, m.value, m.headers, m.timestamp,
**                        m.attrs) r;
**
** Columns: offset (in the partition), key, value and attrs (as stored:
** a compressed value stays compressed), headers, timestamp, bytes (key +
** value + headers as stored, STREAM_MSG_BYTES_SQL).  The _stream_messages
** view (sql/schema.sql) and stream_partitions read the log through it.
** A pure function of its arguments: innocuous, usable in the schema.
*/
#include "streamInt.h"
#include <string.h>

#define REC_NARG 6             /* id, key, value, headers, timestamp, attrs */
#define REC_NCOL 7             /* offset .. bytes */

typedef struct RecCursor RecCursor;
struct RecCursor {
  sqlite3_vtab_cursor base;    /* Base class - must be first */
  sqlite3_value *aArg[REC_NARG];  /* Copies of the arguments */
  int bBatch;                  /* The row is a batch */
  int iPos;                    /* Batch: position of the next record */
  int bEof;                    /* No current row */
  i64 iRow;                    /* Rowid: rows returned so far */
  StreamBatchRec rec;            /* Batch: the current record */
};

static int recConnect(sqlite3 *db, void *pAux, int argc,
                      const char *const *argv, sqlite3_vtab **ppVtab,
                      char **pzErr){
  sqlite3_vtab *pTab;
  int rc;
  STREAM_UNUSED(pAux); STREAM_UNUSED(argc); STREAM_UNUSED(argv);
  rc = sqlite3_declare_vtab(db, "CREATE TABLE x(offset, key, value, headers,"
      " timestamp, attrs, bytes, id HIDDEN, k HIDDEN, v HIDDEN, h HIDDEN,"
      " ts HIDDEN, a HIDDEN)");
  if( rc ){
    *pzErr = sqlite3_mprintf(STREAM_ERR "%s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  pTab = sqlite3_malloc64(sizeof(*pTab));
  if( pTab==0 ) return SQLITE_NOMEM;
  memset(pTab, 0, sizeof(*pTab));
  *ppVtab = pTab;
  return SQLITE_OK;
}

static int recDisconnect(sqlite3_vtab *pVtab){
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

/* Every argument must be given (a usable "=" on each hidden column, else
** SQLITE_CONSTRAINT).  A second "=" on an argument is left to SQLite,
** which compares it with the hidden column (the argument): giving both the
** same argvIndex was an "xBestIndex malfunction". */
static int recBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  int i, m = 0;
  STREAM_UNUSED(pVtab);
  for(i=0; i<pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *pC = &pInfo->aConstraint[i];
    int iArg = pC->iColumn - REC_NCOL;
    if( iArg<0 || pC->op!=SQLITE_INDEX_CONSTRAINT_EQ ) continue;
    if( !pC->usable || (m & (1<<iArg))!=0 ) continue;  /* checked below */
    pInfo->aConstraintUsage[i].argvIndex = iArg + 1;
    pInfo->aConstraintUsage[i].omit = 1;
    m |= 1<<iArg;
  }
  if( m!=(1<<REC_NARG)-1 ) return SQLITE_CONSTRAINT;
  pInfo->estimatedCost = 1.0;
  pInfo->estimatedRows = 1;
  return SQLITE_OK;
}

static int recOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur){
  RecCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  STREAM_UNUSED(pVtab);
  if( pCur==0 ) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  *ppCur = &pCur->base;
  return SQLITE_OK;
}

static void recClear(RecCursor *pCur){
  int i;
  for(i=0; i<REC_NARG; i++){
    sqlite3_value_free(pCur->aArg[i]);
    pCur->aArg[i] = 0;
  }
}

static int recClose(sqlite3_vtab_cursor *cur){
  recClear((RecCursor*)cur);
  sqlite3_free(cur);
  return SQLITE_OK;
}

static int recNext(sqlite3_vtab_cursor *cur){
  RecCursor *pCur = (RecCursor*)cur;
  int rc;
  pCur->iRow++;
  if( !pCur->bBatch ){
    pCur->bEof = 1;
    return SQLITE_OK;
  }
  rc = sqlite3StreamBatchNext(sqlite3_value_blob(pCur->aArg[2]),
           sqlite3_value_bytes(pCur->aArg[2]), &pCur->iPos,
           sqlite3_value_int64(pCur->aArg[0]) & STREAM_MAX_LOG_OFFSET,
           &pCur->rec);
  if( rc==SQLITE_ROW ) return SQLITE_OK;
  pCur->bEof = 1;
  if( rc==SQLITE_DONE ) return SQLITE_OK;
  sqlite3_free(cur->pVtab->zErrMsg);
  cur->pVtab->zErrMsg = sqlite3_mprintf(STREAM_ERR "damaged record batch in"
      " row %lld of _stream_log", sqlite3_value_int64(pCur->aArg[0]));
  return rc;
}

static int recFilter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr,
                     int argc, sqlite3_value **argv){
  RecCursor *pCur = (RecCursor*)cur;
  int i;
  STREAM_UNUSED(idxNum); STREAM_UNUSED(idxStr);
  recClear(pCur);
  pCur->iRow = 0;
  pCur->iPos = 0;
  pCur->bEof = 1;
  if( argc!=REC_NARG ) return SQLITE_OK;
  if( sqlite3_value_type(argv[0])!=SQLITE_INTEGER ) return SQLITE_OK;
  for(i=0; i<REC_NARG; i++){
    pCur->aArg[i] = sqlite3_value_dup(argv[i]);
    if( pCur->aArg[i]==0 ) return SQLITE_NOMEM;
  }
  pCur->bEof = 0;
  pCur->bBatch = (sqlite3_value_int(argv[5]) & STREAM_ATTR_BATCH)!=0;
  if( !pCur->bBatch ) return SQLITE_OK;
  pCur->iRow = -1;
  return recNext(cur);
}

static int recEof(sqlite3_vtab_cursor *cur){
  return ((RecCursor*)cur)->bEof;
}

/* Bytes of a stored field. */
static i64 recBytes(sqlite3_value *pVal){
  return sqlite3_value_type(pVal)==SQLITE_NULL ? 0 : sqlite3_value_bytes(pVal);
}

/* A field of a record. */
static void recField(sqlite3_context *ctx, int eType, const u8 *p, int n){
  if( eType==SQLITE_TEXT ){
    sqlite3_result_text(ctx, (const char*)p, n, SQLITE_TRANSIENT);
  }else if( eType==SQLITE_BLOB ){
    sqlite3_result_blob(ctx, p ? (const void*)p : "", n, SQLITE_TRANSIENT);
  }else{
    sqlite3_result_null(ctx);
  }
}

static int recColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i){
  RecCursor *pCur = (RecCursor*)cur;
  const StreamBatchRec *r = &pCur->rec;
  if( i>=REC_NCOL ){
    sqlite3_result_value(ctx, pCur->aArg[i-REC_NCOL]);
    return SQLITE_OK;
  }
  if( !pCur->bBatch ){
    switch( i ){
      case 0:
        sqlite3_result_int64(ctx, sqlite3_value_int64(pCur->aArg[0])
                                  & STREAM_MAX_LOG_OFFSET);
        break;
      case 6:
        sqlite3_result_int64(ctx, recBytes(pCur->aArg[1])
            + recBytes(pCur->aArg[2]) + recBytes(pCur->aArg[3]));
        break;
      default:
        sqlite3_result_value(ctx, pCur->aArg[i]);
        break;
    }
    return SQLITE_OK;
  }
  switch( i ){
    case 0: sqlite3_result_int64(ctx, r->iOffset); break;
    case 1: recField(ctx, r->eKey, r->pKey, r->nKey); break;
    case 2: recField(ctx, r->eValue, r->pValue, r->nValue); break;
    case 3: recField(ctx, r->eHeaders, r->pHeaders, r->nHeaders); break;
    case 4: sqlite3_result_int64(ctx, r->iTimestamp); break;
    case 5: sqlite3_result_int(ctx, r->attrs); break;
    default:
      sqlite3_result_int64(ctx, (i64)r->nKey + r->nValue + r->nHeaders);
      break;
  }
  return SQLITE_OK;
}

static int recRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *pRowid){
  *pRowid = ((RecCursor*)cur)->iRow;
  return SQLITE_OK;
}

static const sqlite3_module streamRecordsModule = {
  0,                    /* iVersion */
  0,                    /* xCreate: eponymous only */
  recConnect,           /* xConnect */
  recBestIndex,         /* xBestIndex */
  recDisconnect,        /* xDisconnect */
  0,                    /* xDestroy */
  recOpen,              /* xOpen */
  recClose,             /* xClose */
  recFilter,            /* xFilter */
  recNext,              /* xNext */
  recEof,               /* xEof */
  recColumn,            /* xColumn */
  recRowid,             /* xRowid */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};

int sqlite3StreamRegisterRecords(sqlite3 *db, StreamCtx *p){
  STREAM_UNUSED(p);
  return sqlite3_create_module(db, "stream_log_records", &streamRecordsModule,
                               0);
}
