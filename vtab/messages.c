/*
** messages.c - the stream_messages eponymous virtual table: every message
** of every topic, with the seed's columns, and the INSERT form of produce.
**
**   SELECT offset, key, value FROM stream_messages
**    WHERE topic='orders' AND partition=3 AND offset>=1000
**    ORDER BY offset LIMIT 100;
**   INSERT INTO stream_messages(topic, key, value, headers)
**     VALUES('orders', 'order_123', '{"total":99.99}', '{"source":"web"}');
**   INSERT INTO stream_messages(topic, key, value) SELECT ... ;
**
** It is relational: it returns the messages that exist.  Reads are range
** scans of the clustered key (topic, partition, offset) of the storage
** table _stream_messages; compressed values are returned decompressed.
** Writes are INSERTs only (the log is append-only): offset must be NULL
** (the extension assigns it), partition may be NULL (partitioner) or
** given, timestamp may be NULL (now) or the producer's CreateTime.  After
** an INSERT, last_insert_rowid() is the offset of the last message.
**
** xBestIndex plan encoding.  idxNum is a bitmask; the argv values of
** xFilter come in this order, each present only if its bit is set:
**
**   0x0001 topic = ?                      argv: topic
**   0x0002 partition = ?                  argv: partition
**   0x0004 offset = ?                     argv: offset
**   0x0008 offset lower bound, >= ?       argv: lower offset
**   0x0010   ... strict (>)
**   0x0020 offset upper bound, <= ?       argv: upper offset
**   0x0040   ... strict (<)
**   0x0080 timestamp lower bound, >= ?    argv: lower timestamp
**   0x0100   ... strict (>)
**   0x0200 timestamp upper bound, <= ?    argv: upper timestamp
**   0x0400   ... strict (<)
**   0x0800 LIMIT ?                        argv: limit
**   0x1000 rows in descending offset order (ORDER BY ... DESC consumed)
**
** idxStr is unused.  The SQL run for an idxNum is built by
** streamMsgSql(); rows always come in (topic, partition, offset) order
** (or its reverse), so ORDER BY offset is consumed whenever topic and
** partition are fixed by "=" (not IN), and ORDER BY topic, partition,
** offset always.
**
** SQLITE_VTAB_DIRECTONLY: INSERT produces messages, so a hostile
** database's triggers and views must not reach this table.  TEMP triggers
** and views may (the transactional outbox).
*/
#include "streamInt.h"
#include <string.h>

#define MSG_TOPIC     0x0001
#define MSG_PART      0x0002
#define MSG_OFF_EQ    0x0004
#define MSG_OFF_LO    0x0008
#define MSG_OFF_LO_X  0x0010
#define MSG_OFF_HI    0x0020
#define MSG_OFF_HI_X  0x0040
#define MSG_TS_LO     0x0080
#define MSG_TS_LO_X   0x0100
#define MSG_TS_HI     0x0200
#define MSG_TS_HI_X   0x0400
#define MSG_LIMIT     0x0800
#define MSG_DESC      0x1000

/* Column numbers. */
#define MSG_COL_TOPIC     0
#define MSG_COL_PARTITION 1
#define MSG_COL_OFFSET    2
#define MSG_COL_KEY       3
#define MSG_COL_VALUE     4
#define MSG_COL_HEADERS   5
#define MSG_COL_TIMESTAMP 6
#define MSG_COL_ATTRS     7   /* storage only: not a vtab column */

/* Statements cached per table (one per distinct idxNum in use). */
#define MSG_CACHE 16

typedef struct StreamMsgVtab StreamMsgVtab;
typedef struct StreamMsgCursor StreamMsgCursor;

struct StreamMsgVtab {
  sqlite3_vtab base;           /* Base class - must be first */
  StreamCtx *pCtx;             /* Connection state */
  int aIdx[MSG_CACHE];         /* idxNum of aStmt[i], or -1 */
  sqlite3_stmt *aStmt[MSG_CACHE];  /* Cached statements */
  int abUsed[MSG_CACHE];       /* Slot held by an open cursor */
};

struct StreamMsgCursor {
  sqlite3_vtab_cursor base;    /* Base class - must be first */
  sqlite3_stmt *pStmt;         /* Current statement, or NULL at EOF */
  int iSlot;                   /* Cache slot of pStmt, or -1 if private */
};

static int streamMsgConnect(sqlite3 *db, void *pAux, int argc,
                            const char *const *argv, sqlite3_vtab **ppVtab,
                            char **pzErr){
  StreamMsgVtab *pTab;
  int rc, i;
  STREAM_UNUSED(argc); STREAM_UNUSED(argv);
  rc = sqlite3_declare_vtab(db,
      "CREATE TABLE x(topic TEXT, partition INTEGER, offset INTEGER, key,"
      " value, headers TEXT, timestamp INTEGER)");
  if( rc ){
    *pzErr = sqlite3_mprintf(STREAM_ERR "%s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  pTab = sqlite3_malloc64(sizeof(*pTab));
  if( pTab==0 ) return SQLITE_NOMEM;
  memset(pTab, 0, sizeof(*pTab));
  pTab->pCtx = (StreamCtx*)pAux;
  for(i=0; i<MSG_CACHE; i++) pTab->aIdx[i] = -1;
  *ppVtab = &pTab->base;
  return SQLITE_OK;
}

static int streamMsgDisconnect(sqlite3_vtab *pVtab){
  StreamMsgVtab *pTab = (StreamMsgVtab*)pVtab;
  int i;
  for(i=0; i<MSG_CACHE; i++) sqlite3_finalize(pTab->aStmt[i]);
  sqlite3_free(pTab);
  return SQLITE_OK;
}

/* Does the ORDER BY match the scan order, given the "=" columns? */
static int streamMsgOrderOk(const sqlite3_index_info *pInfo, int bTopicEq,
                            int bPartEq, int *pbDesc){
  int i, iNext = 0, bDesc = -1;
  for(i=0; i<pInfo->nOrderBy; i++){
    int iCol = pInfo->aOrderBy[i].iColumn;
    int d = pInfo->aOrderBy[i].desc;
    if( bDesc<0 ) bDesc = d;
    if( d!=bDesc ) return 0;
    /* Skip key columns fixed by "=": they may be absent from ORDER BY. */
    while( iNext<MSG_COL_OFFSET && iNext!=iCol
        && ((iNext==MSG_COL_TOPIC && bTopicEq)
         || (iNext==MSG_COL_PARTITION && bPartEq)) ){
      iNext++;
    }
    if( iCol!=iNext ) return 0;
    iNext++;
  }
  *pbDesc = bDesc>0;
  return 1;
}

static int streamMsgBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  int iTopic = -1, iPart = -1, iOffEq = -1, iOffLo = -1, iOffHi = -1;
  int iTsLo = -1, iTsHi = -1, iLimit = -1, bOffset = 0;
  int idxNum = 0, n = 0, i, bDesc = 0, bOrder;
  double rCost;
  STREAM_UNUSED(pVtab);

  for(i=0; i<pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *pC = &pInfo->aConstraint[i];
    int op = pC->op;
    if( !pC->usable ) continue;
    if( op==SQLITE_INDEX_CONSTRAINT_LIMIT ){ iLimit = i; continue; }
    if( op==SQLITE_INDEX_CONSTRAINT_OFFSET ){ bOffset = 1; continue; }
    switch( pC->iColumn ){
      case MSG_COL_TOPIC:
        if( op==SQLITE_INDEX_CONSTRAINT_EQ && iTopic<0 ) iTopic = i;
        break;
      case MSG_COL_PARTITION:
        if( op==SQLITE_INDEX_CONSTRAINT_EQ && iPart<0 ) iPart = i;
        break;
      case MSG_COL_OFFSET:
        if( op==SQLITE_INDEX_CONSTRAINT_EQ && iOffEq<0 ) iOffEq = i;
        if( (op==SQLITE_INDEX_CONSTRAINT_GE || op==SQLITE_INDEX_CONSTRAINT_GT)
         && iOffLo<0 ) iOffLo = i;
        if( (op==SQLITE_INDEX_CONSTRAINT_LE || op==SQLITE_INDEX_CONSTRAINT_LT)
         && iOffHi<0 ) iOffHi = i;
        break;
      case MSG_COL_TIMESTAMP:
        if( (op==SQLITE_INDEX_CONSTRAINT_GE || op==SQLITE_INDEX_CONSTRAINT_GT)
         && iTsLo<0 ) iTsLo = i;
        if( (op==SQLITE_INDEX_CONSTRAINT_LE || op==SQLITE_INDEX_CONSTRAINT_LT)
         && iTsHi<0 ) iTsHi = i;
        break;
    }
  }

#define MSG_USE(iCons, bit) \
  if( iCons>=0 ){ \
    pInfo->aConstraintUsage[iCons].argvIndex = ++n; \
    pInfo->aConstraintUsage[iCons].omit = 1; \
    idxNum |= (bit); \
  }
#define MSG_STRICT(iCons, eOp, bit) \
  if( iCons>=0 && pInfo->aConstraint[iCons].op==(eOp) ) idxNum |= (bit);

  MSG_USE(iTopic, MSG_TOPIC);
  MSG_USE(iPart, MSG_PART);
  if( iOffEq>=0 ){
    MSG_USE(iOffEq, MSG_OFF_EQ);
  }else{
    MSG_USE(iOffLo, MSG_OFF_LO);
    MSG_STRICT(iOffLo, SQLITE_INDEX_CONSTRAINT_GT, MSG_OFF_LO_X);
    MSG_USE(iOffHi, MSG_OFF_HI);
    MSG_STRICT(iOffHi, SQLITE_INDEX_CONSTRAINT_LT, MSG_OFF_HI_X);
  }
  MSG_USE(iTsLo, MSG_TS_LO);
  MSG_STRICT(iTsLo, SQLITE_INDEX_CONSTRAINT_GT, MSG_TS_LO_X);
  MSG_USE(iTsHi, MSG_TS_HI);
  MSG_STRICT(iTsHi, SQLITE_INDEX_CONSTRAINT_LT, MSG_TS_HI_X);

  /* Rows come in key order.  With partition IN (...), SQLite runs one
  ** xFilter per value, so the order holds only within each. */
  bOrder = pInfo->nOrderBy==0
        || streamMsgOrderOk(pInfo, iTopic>=0,
               iPart>=0 && !sqlite3_vtab_in(pInfo, iPart, -1), &bDesc);
  if( pInfo->nOrderBy>0 && bOrder ){
    pInfo->orderByConsumed = 1;
    if( bDesc ) idxNum |= MSG_DESC;
  }
  /* LIMIT only when the rows we stop at are the ones SQLite wants. */
  if( iLimit>=0 && bOrder && !bOffset ){
    MSG_USE(iLimit, MSG_LIMIT);
  }
#undef MSG_USE
#undef MSG_STRICT

  if( iTopic>=0 && iPart>=0 ){
    rCost = (idxNum & (MSG_OFF_EQ)) ? 1.0 :
            (idxNum & (MSG_OFF_LO|MSG_OFF_HI)) ? 100.0 : 1000.0;
    if( idxNum & MSG_OFF_EQ ){
      pInfo->idxFlags |= SQLITE_INDEX_SCAN_UNIQUE;
    }
  }else if( iTopic>=0 ){
    rCost = 100000.0;
  }else{
    rCost = 10000000.0;
  }
  pInfo->estimatedCost = rCost;
  pInfo->estimatedRows = (sqlite3_int64)rCost;
  pInfo->idxNum = idxNum;
  return SQLITE_OK;
}

/* The SQL for one plan. */
static char *streamMsgSql(int idxNum){
  sqlite3_str *p = sqlite3_str_new(0);
  const char *zSep = " WHERE ";
  const char *zDir = (idxNum & MSG_DESC) ? " DESC" : "";
  sqlite3_str_appendall(p,
      "SELECT topic, partition, offset, key, value, headers, timestamp, attrs"
      " FROM _stream_messages");
#define MSG_TERM(bit, zTerm) \
  if( idxNum & (bit) ){ sqlite3_str_appendf(p, "%s%s", zSep, zTerm); \
                        zSep = " AND "; }
  MSG_TERM(MSG_TOPIC, "topic=?");
  MSG_TERM(MSG_PART, "partition=?");
  MSG_TERM(MSG_OFF_EQ, "offset=?");
  MSG_TERM(MSG_OFF_LO, (idxNum & MSG_OFF_LO_X) ? "offset>?" : "offset>=?");
  MSG_TERM(MSG_OFF_HI, (idxNum & MSG_OFF_HI_X) ? "offset<?" : "offset<=?");
  MSG_TERM(MSG_TS_LO, (idxNum & MSG_TS_LO_X) ? "timestamp>?":"timestamp>=?");
  MSG_TERM(MSG_TS_HI, (idxNum & MSG_TS_HI_X) ? "timestamp<?":"timestamp<=?");
#undef MSG_TERM
  sqlite3_str_appendf(p, " ORDER BY topic%s, partition%s, offset%s",
                      zDir, zDir, zDir);
  if( idxNum & MSG_LIMIT ) sqlite3_str_appendall(p, " LIMIT ?");
  return sqlite3_str_finish(p);
}

static int streamMsgOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur){
  StreamMsgCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  STREAM_UNUSED(pVtab);
  if( pCur==0 ) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  pCur->iSlot = -1;
  *ppCur = &pCur->base;
  return SQLITE_OK;
}

static void streamMsgRelease(StreamMsgCursor *pCur){
  StreamMsgVtab *pTab = (StreamMsgVtab*)pCur->base.pVtab;
  if( pCur->pStmt ){
    if( pCur->iSlot>=0 ){
      sqlite3_reset(pCur->pStmt);
      pTab->abUsed[pCur->iSlot] = 0;
    }else{
      sqlite3_finalize(pCur->pStmt);
    }
  }
  pCur->pStmt = 0;
  pCur->iSlot = -1;
}

static int streamMsgClose(sqlite3_vtab_cursor *cur){
  streamMsgRelease((StreamMsgCursor*)cur);
  sqlite3_free(cur);
  return SQLITE_OK;
}

static int streamMsgNext(sqlite3_vtab_cursor *cur){
  StreamMsgCursor *pCur = (StreamMsgCursor*)cur;
  int rc = sqlite3_step(pCur->pStmt);
  if( rc==SQLITE_ROW ) return SQLITE_OK;
  rc = sqlite3_reset(pCur->pStmt);
  streamMsgRelease(pCur);
  if( rc ){
    StreamMsgVtab *pTab = (StreamMsgVtab*)cur->pVtab;
    sqlite3StreamVtabErr(cur->pVtab, "%s", sqlite3_errmsg(pTab->pCtx->db));
  }
  return rc;
}

static int streamMsgFilter(sqlite3_vtab_cursor *cur, int idxNum,
                           const char *idxStr, int argc, sqlite3_value **argv){
  StreamMsgCursor *pCur = (StreamMsgCursor*)cur;
  StreamMsgVtab *pTab = (StreamMsgVtab*)cur->pVtab;
  sqlite3 *db = pTab->pCtx->db;
  int i, rc, iFree = -1;
  STREAM_UNUSED(idxStr);
  streamMsgRelease(pCur);
  for(i=0; i<MSG_CACHE; i++){
    if( pTab->aIdx[i]==idxNum && !pTab->abUsed[i] ) break;
    if( iFree<0 && pTab->aIdx[i]<0 ) iFree = i;
  }
  if( i<MSG_CACHE ){
    pCur->pStmt = pTab->aStmt[i];
    pCur->iSlot = i;
  }else{
    char *zSql = streamMsgSql(idxNum);
    if( zSql==0 ) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v3(db, zSql, -1,
             iFree>=0 ? SQLITE_PREPARE_PERSISTENT : 0, &pCur->pStmt, 0);
    sqlite3_free(zSql);
    if( rc ){
      pCur->pStmt = 0;
      if( sqlite3StreamNoStorage(db) ) return SQLITE_OK;   /* no rows */
      sqlite3StreamVtabErr(cur->pVtab, "%s", sqlite3_errmsg(db));
      return rc;
    }
    if( iFree>=0 ){
      pTab->aIdx[iFree] = idxNum;
      pTab->aStmt[iFree] = pCur->pStmt;
      pCur->iSlot = iFree;
    }
  }
  if( pCur->iSlot>=0 ) pTab->abUsed[pCur->iSlot] = 1;
  for(i=0; i<argc; i++) sqlite3_bind_value(pCur->pStmt, i+1, argv[i]);
  return streamMsgNext(cur);
}

static int streamMsgEof(sqlite3_vtab_cursor *cur){
  return ((StreamMsgCursor*)cur)->pStmt==0;
}

/* Result: the stored value, decompressed if its attrs say so. */
static int streamMsgValue(sqlite3_context *ctx, sqlite3_stmt *pStmt){
  int attrs = sqlite3_column_int(pStmt, MSG_COL_ATTRS);
  int eCodec = attrs & STREAM_ATTR_CODEC_MASK;
  void *pOut = 0;
  size_t nOut = 0;
  int rc;
  if( eCodec==STREAM_CODEC_NONE ){
    sqlite3_result_value(ctx, sqlite3_column_value(pStmt, MSG_COL_VALUE));
    return SQLITE_OK;
  }
  rc = sqlite3StreamDecompress(eCodec,
      sqlite3_column_blob(pStmt, MSG_COL_VALUE),
      (size_t)sqlite3_column_bytes(pStmt, MSG_COL_VALUE),
      STREAM_MAX_FIELD_BYTES, &pOut, &nOut);
  if( rc ){
    sqlite3_result_error(ctx, STREAM_ERR "corrupt compressed value", -1);
    return rc==SQLITE_NOMEM ? rc : SQLITE_CORRUPT;
  }
  if( attrs & STREAM_ATTR_BLOB ){
    sqlite3_result_blob64(ctx, pOut, nOut, sqlite3_free);
  }else{
    sqlite3_result_text64(ctx, pOut, nOut, sqlite3_free, SQLITE_UTF8);
  }
  return SQLITE_OK;
}

static int streamMsgColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx,
                           int iCol){
  StreamMsgCursor *pCur = (StreamMsgCursor*)cur;
  if( iCol==MSG_COL_VALUE ) return streamMsgValue(ctx, pCur->pStmt);
  sqlite3_result_value(ctx, sqlite3_column_value(pCur->pStmt, iCol));
  return SQLITE_OK;
}

static int streamMsgRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *pRowid){
  *pRowid = sqlite3_column_int64(((StreamMsgCursor*)cur)->pStmt,
                                 MSG_COL_OFFSET);
  return SQLITE_OK;
}

/* INSERT INTO stream_messages: argv[2+i] is column i. */
static int streamMsgUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                           sqlite3_int64 *pRowid){
  StreamMsgVtab *pTab = (StreamMsgVtab*)pVtab;
  StreamMsg m;
  char *zErr = 0;
  const char *zTopic;
  i64 iOffset;
  int rc;
  sqlite3_value **aCol = &argv[2];

  if( argc==1 || sqlite3_value_type(argv[0])!=SQLITE_NULL ){
    sqlite3StreamVtabErr(pVtab, "stream_messages is append-only: UPDATE and"
        " DELETE are not allowed (retention and compaction remove messages)");
    return SQLITE_CONSTRAINT;
  }
  if( sqlite3_value_type(aCol[MSG_COL_TOPIC])!=SQLITE_TEXT ){
    sqlite3StreamVtabErr(pVtab, "topic name must be text, not %s",
        sqlite3_value_type(aCol[MSG_COL_TOPIC])==SQLITE_NULL ? "NULL"
                                                        : "another type");
    return SQLITE_CONSTRAINT;
  }
  if( sqlite3_value_type(aCol[MSG_COL_OFFSET])!=SQLITE_NULL ){
    sqlite3StreamVtabErr(pVtab, "offset is assigned by the extension: leave"
                                " it NULL");
    return SQLITE_CONSTRAINT;
  }
  zTopic = (const char*)sqlite3_value_text(aCol[MSG_COL_TOPIC]);
  if( zTopic==0 ) return SQLITE_NOMEM;
  memset(&m, 0, sizeof(m));
  m.iPartition = -1;
  m.iTimestamp = -1;
  rc = sqlite3StreamMsgField(&m, 0, aCol[MSG_COL_KEY], "key", &zErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamMsgField(&m, 1, aCol[MSG_COL_VALUE], "value", &zErr);
  }
  if( rc==SQLITE_OK ){
    sqlite3_value *pH = aCol[MSG_COL_HEADERS];
    sqlite3_value *pP = aCol[MSG_COL_PARTITION];
    sqlite3_value *pT = aCol[MSG_COL_TIMESTAMP];
    if( sqlite3_value_type(pH)==SQLITE_TEXT ){
      m.zHeaders = (const char*)sqlite3_value_text(pH);
      m.nHeaders = sqlite3_value_bytes(pH);
    }else if( sqlite3_value_type(pH)!=SQLITE_NULL ){
      rc = sqlite3StreamErr(&zErr, SQLITE_MISMATCH,
                            "headers must be a JSON object (text) or NULL");
    }
    if( rc==SQLITE_OK && sqlite3_value_type(pP)!=SQLITE_NULL ){
      if( sqlite3_value_type(pP)!=SQLITE_INTEGER ){
        rc = sqlite3StreamErr(&zErr, SQLITE_MISMATCH,
                              "partition must be an integer or NULL");
      }else{
        m.iPartition = sqlite3_value_int64(pP);
        if( m.iPartition<0 ) m.iPartition = -2;
      }
    }
    if( rc==SQLITE_OK && sqlite3_value_type(pT)!=SQLITE_NULL ){
      if( sqlite3_value_type(pT)!=SQLITE_INTEGER ){
        rc = sqlite3StreamErr(&zErr, SQLITE_MISMATCH,
            "timestamp must be an integer (ms since the epoch) or NULL");
      }else{
        m.iTimestamp = sqlite3_value_int64(pT);
        if( m.iTimestamp<0 ) m.iTimestamp = -2;
      }
    }
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamProduce(pTab->pCtx, zTopic, &m, 0, &iOffset, &zErr);
  }
  if( rc ){
    sqlite3_free(pVtab->zErrMsg);
    pVtab->zErrMsg = zErr;
    return (rc==SQLITE_NOMEM || rc==SQLITE_BUSY || rc==SQLITE_FULL
            || (rc&0xff)==SQLITE_IOERR) ? rc : SQLITE_CONSTRAINT;
  }
  *pRowid = iOffset;
  return SQLITE_OK;
}

/* Transaction methods: an INSERT enlists the table, which lets the
** produce path cache per transaction (see ext/txn.c). */
static int streamMsgBegin(sqlite3_vtab *pVtab){
  sqlite3StreamTxnBegin(((StreamMsgVtab*)pVtab)->pCtx);
  return SQLITE_OK;
}
static int streamMsgSync(sqlite3_vtab *pVtab){
  STREAM_UNUSED(pVtab);
  return SQLITE_OK;
}
static int streamMsgEnd(sqlite3_vtab *pVtab){
  sqlite3StreamTxnEnd(((StreamMsgVtab*)pVtab)->pCtx);
  return SQLITE_OK;
}
static int streamMsgSavepoint(sqlite3_vtab *pVtab, int i){
  STREAM_UNUSED(pVtab); STREAM_UNUSED(i);
  return SQLITE_OK;
}
static int streamMsgRollbackTo(sqlite3_vtab *pVtab, int i){
  STREAM_UNUSED(i);
  sqlite3StreamTxnRollbackTo(((StreamMsgVtab*)pVtab)->pCtx);
  return SQLITE_OK;
}

static const sqlite3_module streamMsgModule = {
  2,                    /* iVersion: savepoint methods */
  0,                    /* xCreate: eponymous only */
  streamMsgConnect,     /* xConnect */
  streamMsgBestIndex,   /* xBestIndex */
  streamMsgDisconnect,  /* xDisconnect */
  0,                    /* xDestroy */
  streamMsgOpen,        /* xOpen */
  streamMsgClose,       /* xClose */
  streamMsgFilter,      /* xFilter */
  streamMsgNext,        /* xNext */
  streamMsgEof,         /* xEof */
  streamMsgColumn,      /* xColumn */
  streamMsgRowid,       /* xRowid */
  streamMsgUpdate,      /* xUpdate */
  streamMsgBegin,       /* xBegin */
  streamMsgSync,        /* xSync */
  streamMsgEnd,         /* xCommit */
  streamMsgEnd,         /* xRollback */
  0,                    /* xFindFunction */
  0,                    /* xRename */
  streamMsgSavepoint,   /* xSavepoint */
  streamMsgSavepoint,   /* xRelease */
  streamMsgRollbackTo,  /* xRollbackTo */
  0                     /* xShadowName */
};

int sqlite3StreamRegisterMessages(sqlite3 *db, StreamCtx *p){
  return sqlite3_create_module(db, "stream_messages", &streamMsgModule, p);
}
