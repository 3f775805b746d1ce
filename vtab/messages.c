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
**   0x2000 key not used by the statement (colUsed)   no argv
**   0x4000 value not used                             no argv
**   0x8000 headers not used                           no argv
**  0x20000 topic lower bound, >= ?        argv: lower topic
**  0x40000   ... strict (>)
**  0x80000 topic upper bound, <= ?        argv: upper topic
** 0x100000   ... strict (<)
**
** (argv order: topic, partition, offsets, timestamps, topic bounds,
** limit.)  The topic bounds (BINARY collation only, when there is no
** topic =) restrict the topics scanned to the catalog's topics in range;
** they are not omitted: SQLite checks them again, since how it compares
** (text, or numbers under a NUMERIC right-hand side) is not known here.
**
** The last three spare the tiers' readers the decoding of those Parquet
** columns (StreamScanRange.mCols); the hot SQL reads NULL for an unused
** key or headers (a record batch's records carry their own).
**
** idxStr is unused.  The SQL run for an idxNum is built by
** streamMsgSql(); rows always come in (topic, partition, offset) order
** (or its reverse), so ORDER BY offset is consumed whenever topic and
** partition are fixed by "=", and ORDER BY topic, partition, offset
** always -- but never with an IN (one xFilter per value).  topic = is
** used only with the BINARY collation.  LIMIT is used only when SQLite
** has nothing left to do but count: the order is consumed, there is no
** OFFSET, and every other constraint is used above with omit (applied
** exactly, as a table with the declared column types would).
**
** The table is WITHOUT ROWID: offsets repeat across partitions, so the
** PRIMARY KEY is a hidden row_key, json_array(topic, partition, offset).
**
** Tiers.  xFilter runs the hot SQL above and, beside it, a scan of the
** tiers (sqlite3StreamTierScanOpen(), ext/tier.c: each tier prunes its
** index by the same topic / partition / offset / timestamp bounds and
** returns rows in the same order; the warm tier's is ext/warm_read.c).
** The cursor merges the two streams by (topic, partition, offset): for
** one partition every tiered offset is below every hot offset, so this is
** a concatenation per partition, and an offset present in both (a move
** interrupted between its insert and its delete) is returned once.  A
** replay of any length runs in bounded memory.  With no tiered rows in
** range the cursor is the hot statement alone.  LIMIT stops both streams.
**
** SQLITE_VTAB_DIRECTONLY: INSERT produces messages, so a hostile
** database's triggers and views must not reach this table.  TEMP triggers
** and views may (the transactional outbox).
*/
#include "streamInt.h"
#include <string.h>
#include <math.h>

/* The plan bits are the scan API's (streamInt.h, ext/scan.c). */
#define MSG_TOPIC     STREAM_SCAN_TOPIC
#define MSG_PART      STREAM_SCAN_PART
#define MSG_OFF_EQ    STREAM_SCAN_OFF_EQ
#define MSG_OFF_LO    STREAM_SCAN_OFF_LO
#define MSG_OFF_LO_X  STREAM_SCAN_OFF_LO_X
#define MSG_OFF_HI    STREAM_SCAN_OFF_HI
#define MSG_OFF_HI_X  STREAM_SCAN_OFF_HI_X
#define MSG_TS_LO     STREAM_SCAN_TS_LO
#define MSG_TS_LO_X   STREAM_SCAN_TS_LO_X
#define MSG_TS_HI     STREAM_SCAN_TS_HI
#define MSG_TS_HI_X   STREAM_SCAN_TS_HI_X
#define MSG_LIMIT     STREAM_SCAN_LIMIT
#define MSG_DESC      STREAM_SCAN_DESC
#define MSG_NO_KEY    STREAM_SCAN_NO_KEY
#define MSG_NO_VALUE  STREAM_SCAN_NO_VALUE
#define MSG_NO_HDRS   STREAM_SCAN_NO_HDRS
#define MSG_TOPIC_LO  STREAM_SCAN_TOPIC_LO
#define MSG_TOPIC_LO_X STREAM_SCAN_TOPIC_LO_X
#define MSG_TOPIC_HI  STREAM_SCAN_TOPIC_HI
#define MSG_TOPIC_HI_X STREAM_SCAN_TOPIC_HI_X

/* Column numbers (the scan's, then the hidden ones). */
#define MSG_COL_TOPIC     STREAM_SCAN_COL_TOPIC
#define MSG_COL_PARTITION STREAM_SCAN_COL_PARTITION
#define MSG_COL_OFFSET    STREAM_SCAN_COL_OFFSET
#define MSG_COL_KEY       STREAM_SCAN_COL_KEY
#define MSG_COL_VALUE     STREAM_SCAN_COL_VALUE
#define MSG_COL_HEADERS   STREAM_SCAN_COL_HEADERS
#define MSG_COL_TIMESTAMP STREAM_SCAN_COL_TIMESTAMP
#define MSG_COL_PRODUCER_ID  7   /* hidden, INSERT only */
#define MSG_COL_PRODUCER_SEQ 8   /* hidden, INSERT only */
#define MSG_COL_ROW_KEY   9   /* hidden, the PRIMARY KEY */


typedef struct StreamMsgVtab StreamMsgVtab;
typedef struct StreamMsgCursor StreamMsgCursor;

struct StreamMsgVtab {
  sqlite3_vtab base;           /* Base class - must be first */
  StreamCtx *pCtx;             /* Connection state - second (StreamVtabHead) */
};

struct StreamMsgCursor {
  sqlite3_vtab_cursor base;    /* Base class - must be first */
  StreamReading reading;       /* In the connection's list while open */
  StreamScan *pScan;           /* The scan (ext/scan.c), or NULL */
  const StreamBatchRec *pRec;  /* Its current row's uncompressed record of
                               ** a batch (sqlite3StreamScanRecord()), or
                               ** NULL: taken once a row, not a column */
};

static int streamMsgConnect(sqlite3 *db, void *pAux, int argc,
                            const char *const *argv, sqlite3_vtab **ppVtab,
                            char **pzErr){
  StreamMsgVtab *pTab;
  int rc;
  STREAM_UNUSED(argc); STREAM_UNUSED(argv);
  rc = sqlite3_declare_vtab(db,
      "CREATE TABLE x(topic TEXT, partition INTEGER, offset INTEGER, key,"
      " value, headers TEXT, timestamp INTEGER, producer_id HIDDEN,"
      " producer_seq HIDDEN, row_key HIDDEN PRIMARY KEY) WITHOUT ROWID");
  if( rc ){
    *pzErr = sqlite3_mprintf(STREAM_ERR "%s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  /* INSERT OR ROLLBACK: a refused message rolls back the transaction
  ** (streamMsgUpdate() keeps OR FAIL and OR IGNORE at ABORT). */
  sqlite3_vtab_config(db, SQLITE_VTAB_CONSTRAINT_SUPPORT, 1);
  pTab = sqlite3_malloc64(sizeof(*pTab));
  if( pTab==0 ) return SQLITE_NOMEM;
  memset(pTab, 0, sizeof(*pTab));
  pTab->pCtx = (StreamCtx*)pAux;
  *ppVtab = &pTab->base;
  return SQLITE_OK;
}

static int streamMsgDisconnect(sqlite3_vtab *pVtab){
  sqlite3_free(pVtab);
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
  int iTopLo = -1, iTopHi = -1;
  int idxNum = 0, n = 0, i, bDesc = 0, bOrder, bAll = 1, bIn = 0;
  double rCost;
  STREAM_UNUSED(pVtab);

  for(i=0; i<pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *pC = &pInfo->aConstraint[i];
    int op = pC->op;
    if( !pC->usable ) continue;
    if( op==SQLITE_INDEX_CONSTRAINT_LIMIT ){ iLimit = i; continue; }
    if( op==SQLITE_INDEX_CONSTRAINT_OFFSET ){ bOffset = 1; continue; }
    /* sqlite3_vtab_in() knows the first 32 constraints only. */
    if( i>=32 ) continue;
    switch( pC->iColumn ){
      case MSG_COL_TOPIC:
        /* Text: another collation is SQLite's to apply. */
        if( !sqlite3StreamVtabBinary(pInfo, i) ) break;
        if( op==SQLITE_INDEX_CONSTRAINT_EQ && iTopic<0 ) iTopic = i;
        if( (op==SQLITE_INDEX_CONSTRAINT_GE || op==SQLITE_INDEX_CONSTRAINT_GT)
         && iTopLo<0 ) iTopLo = i;
        if( (op==SQLITE_INDEX_CONSTRAINT_LE || op==SQLITE_INDEX_CONSTRAINT_LT)
         && iTopHi<0 ) iTopHi = i;
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
  if( iTopic<0 ){
    /* A topic range bounds the catalog's topics scanned; SQLite checks it
    ** again (omit 0): how it compares depends on the right-hand side's
    ** affinity, which xFilter does not see (ext/scan.c keeps a superset). */
    MSG_USE(iTopLo, MSG_TOPIC_LO);
    MSG_STRICT(iTopLo, SQLITE_INDEX_CONSTRAINT_GT, MSG_TOPIC_LO_X);
    MSG_USE(iTopHi, MSG_TOPIC_HI);
    MSG_STRICT(iTopHi, SQLITE_INDEX_CONSTRAINT_LT, MSG_TOPIC_HI_X);
    if( iTopLo>=0 ) pInfo->aConstraintUsage[iTopLo].omit = 0;
    if( iTopHi>=0 ) pInfo->aConstraintUsage[iTopHi].omit = 0;
  }

  /* Is every WHERE term on the table enforced here (bAll), and is one of
  ** them an IN (bIn: SQLite then runs one xFilter per value)?  Unusable
  ** terms count: SQLite evaluates them on our rows. */
  for(i=0; i<pInfo->nConstraint; i++){
    int op = pInfo->aConstraint[i].op;
    if( op==SQLITE_INDEX_CONSTRAINT_LIMIT
     || op==SQLITE_INDEX_CONSTRAINT_OFFSET ) continue;
    if( !pInfo->aConstraintUsage[i].omit ){
      bAll = 0;
    }else if( sqlite3_vtab_in(pInfo, i, -1) ){
      bIn = 1;
    }
  }

  /* Rows come in key order, within one xFilter: with an IN there is no
  ** order across the values (SQLite would not take it anyway). */
  bOrder = pInfo->nOrderBy==0
        || (!bIn && streamMsgOrderOk(pInfo, iTopic>=0, iPart>=0, &bDesc));
  if( pInfo->nOrderBy>0 && bOrder ){
    pInfo->orderByConsumed = 1;
    if( bDesc ) idxNum |= MSG_DESC;
  }
  /* LIMIT only when the rows we stop at are the ones SQLite wants: in its
  ** order, with no WHERE term left for SQLite to drop rows by, and no
  ** OFFSET to skip (SQLite passes LIMIT without it). */
  if( iLimit>=0 && bOrder && bAll && !bOffset ){
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
  }else if( idxNum & (MSG_TOPIC_LO|MSG_TOPIC_HI) ){
    rCost = (idxNum & MSG_TOPIC_LO) && (idxNum & MSG_TOPIC_HI)
          ? 1000000.0 : 5000000.0;
  }else{
    rCost = 10000000.0;
  }
  if( (pInfo->colUsed & ((sqlite3_uint64)1<<MSG_COL_KEY))==0 ){
    idxNum |= MSG_NO_KEY;
  }
  if( (pInfo->colUsed & ((sqlite3_uint64)1<<MSG_COL_VALUE))==0 ){
    idxNum |= MSG_NO_VALUE;
  }
  if( (pInfo->colUsed & ((sqlite3_uint64)1<<MSG_COL_HEADERS))==0 ){
    idxNum |= MSG_NO_HDRS;
  }
  pInfo->estimatedCost = rCost;
  pInfo->estimatedRows = (sqlite3_int64)rCost;
  pInfo->idxNum = idxNum;
  return SQLITE_OK;
}

/* StreamReading.xActive: rows left (stream_delete_topic, ext/topic.c). */
static int streamMsgActive(StreamReading *pR){
  StreamMsgCursor *pCur = (StreamMsgCursor*)((char*)pR
                          - offsetof(StreamMsgCursor, reading));
  return pCur->pScan && !sqlite3StreamScanEof(pCur->pScan);
}

static int streamMsgOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur){
  StreamMsgCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  if( pCur==0 ) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  pCur->reading.xActive = streamMsgActive;
  sqlite3StreamReadingAdd(((StreamMsgVtab*)pVtab)->pCtx, &pCur->reading);
  *ppCur = &pCur->base;
  return SQLITE_OK;
}

static int streamMsgClose(sqlite3_vtab_cursor *cur){
  StreamMsgCursor *pCur = (StreamMsgCursor*)cur;
  sqlite3StreamReadingRemove(((StreamMsgVtab*)cur->pVtab)->pCtx,
                             &pCur->reading);
  sqlite3_free(pCur->reading.zTopic);
  sqlite3StreamScanClose(pCur->pScan);
  sqlite3_free(cur);
  return SQLITE_OK;
}

/* The scan's error as the table's. */
static int streamMsgErr(StreamMsgCursor *pCur, int rc, char *zErr){
  sqlite3_vtab *pVtab = pCur->base.pVtab;
  if( rc==SQLITE_OK ) return rc;
  sqlite3_free(pVtab->zErrMsg);
  pVtab->zErrMsg = zErr ? zErr
      : sqlite3_mprintf(STREAM_ERR "%s", sqlite3_errstr(rc));
  return sqlite3StreamErrCode(rc);
}

static int streamMsgNext(sqlite3_vtab_cursor *cur){
  StreamMsgCursor *pCur = (StreamMsgCursor*)cur;
  char *zErr = 0;
  int rc = sqlite3StreamScanNext(pCur->pScan, &zErr);
  pCur->pRec = rc ? 0 : sqlite3StreamScanRecord(pCur->pScan);
  return streamMsgErr(pCur, rc, zErr);
}

static int streamMsgFilter(sqlite3_vtab_cursor *cur, int idxNum,
                           const char *idxStr, int argc, sqlite3_value **argv){
  StreamMsgCursor *pCur = (StreamMsgCursor*)cur;
  StreamMsgVtab *pTab = (StreamMsgVtab*)cur->pVtab;
  StreamScanArg aArg[16];
  StreamScanner *pScanner = 0;
  char *zErr = 0;
  int i, rc;
  STREAM_UNUSED(idxStr);
  sqlite3StreamScanClose(pCur->pScan);
  pCur->pScan = 0;
  pCur->pRec = 0;
  sqlite3_free(pCur->reading.zTopic);
  pCur->reading.zTopic = 0;            /* any topic, but with topic = ? */
  if( (idxNum & MSG_TOPIC) && argc>0
   && sqlite3_value_type(argv[0])==SQLITE_TEXT ){
    pCur->reading.zTopic = sqlite3_mprintf("%s", sqlite3_value_text(argv[0]));
    if( pCur->reading.zTopic==0 ) return SQLITE_NOMEM;
  }
  memset(aArg, 0, sizeof(aArg));
  for(i=0; i<argc && i<16; i++) aArg[i].pVal = argv[i];
  rc = sqlite3StreamScannerGet(pTab->pCtx, &pScanner);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamScanOpen(pScanner, idxNum, argc, aArg, &pCur->pScan,
                               &zErr);
  }
  if( rc==SQLITE_OK ) pCur->pRec = sqlite3StreamScanRecord(pCur->pScan);
  return streamMsgErr(pCur, rc, zErr);
}

static int streamMsgEof(sqlite3_vtab_cursor *cur){
  return sqlite3StreamScanEof(((StreamMsgCursor*)cur)->pScan);
}

/*
** Text and blobs are handed to SQLite as copies (SQLITE_TRANSIENT): the
** bytes the scan gives (a hot row's column, a record of a batch row, a
** warm reader's decoded page) change at the next xNext, and SQLite may
** read a column result after it.  A destructor that does nothing would
** not do: OP_Move hands the Mem itself on, with the pointer, to a register
** read after the next row (an ordered GROUP BY's previous key and its
** bare columns, a partly satisfied ORDER BY's previous key, a
** co-routine's results), which then read the next row's bytes (batch.test
** 9.*).  A transient copy goes into the result register's own buffer,
** which SQLite keeps from row to row: a memcpy, no malloc (unlike
** sqlite3_result_value(), which allocates a new buffer for every value).
*/
static void streamMsgBytes(sqlite3_context *ctx, int eType, const void *p,
                           int n){
  if( eType==SQLITE_BLOB ){
    sqlite3_result_blob(ctx, p ? p : "", n, SQLITE_TRANSIENT);
  }else{
    sqlite3_result_text(ctx, p ? (const char*)p : "", n, SQLITE_TRANSIENT);
  }
}

/*
** row_key, the table's PRIMARY KEY: json_array(topic, partition, offset).
** The table is WITHOUT ROWID because offsets repeat across partitions and
** SQLite needs a unique key per row (a MULTI-INDEX OR plan drops the rows
** whose key it has seen).  Topic names need no JSON escaping.
*/
static int streamMsgRowKey(StreamMsgCursor *pCur, sqlite3_context *ctx){
  StreamScanField t, pt, o;
  char *z;
  sqlite3StreamScanColumn(pCur->pScan, MSG_COL_TOPIC, &t);
  sqlite3StreamScanColumn(pCur->pScan, MSG_COL_PARTITION, &pt);
  sqlite3StreamScanColumn(pCur->pScan, MSG_COL_OFFSET, &o);
  if( t.pValue ){
    /* (a record of a batch has its offset as an integer) */
    z = sqlite3_mprintf("[\"%s\",%lld,%lld]",
        (const char*)sqlite3_value_text(t.pValue),
        sqlite3_value_int64(pt.pValue),
        o.pValue ? sqlite3_value_int64(o.pValue) : o.iVal);
  }else{
    z = sqlite3_mprintf("[\"%.*s\",%lld,%lld]", t.n, (const char*)t.p,
                        pt.iVal, o.iVal);
  }
  if( z==0 ) return SQLITE_NOMEM;
  sqlite3_result_text(ctx, z, -1, sqlite3_free);
  return SQLITE_OK;
}

/* A hot statement's value as the result (SQLite's own text is
** terminated; integers without sqlite3_result_value()'s copy). */
static int streamMsgValue(sqlite3_context *ctx, sqlite3_value *pVal){
  switch( sqlite3_value_type(pVal) ){
    case SQLITE_INTEGER:
      sqlite3_result_int64(ctx, sqlite3_value_int64(pVal));
      break;
    case SQLITE_TEXT: {
      const unsigned char *z = sqlite3_value_text(pVal);
      if( z==0 ){
        sqlite3_result_error_nomem(ctx);
        return SQLITE_NOMEM;
      }
      streamMsgBytes(ctx, SQLITE_TEXT, z, sqlite3_value_bytes(pVal));
      break;
    }
    case SQLITE_BLOB:
      streamMsgBytes(ctx, SQLITE_BLOB, sqlite3_value_blob(pVal),
                     sqlite3_value_bytes(pVal));
      break;
    case SQLITE_NULL:
      break;
    default:
      sqlite3_result_value(ctx, pVal);
      break;
  }
  return SQLITE_OK;
}

static int streamMsgColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx,
                           int iCol){
  StreamMsgCursor *pCur = (StreamMsgCursor*)cur;
  StreamScanField f;
  sqlite3_value *pVal;
  const StreamBatchRec *r;
  int rc;
  if( iCol>MSG_COL_TIMESTAMP ){
    if( iCol==MSG_COL_ROW_KEY ) return streamMsgRowKey(pCur, ctx);
    return SQLITE_OK;                           /* producer_*: write-only */
  }
  /* A record of a batch: its field straight into the result (the topic
  ** and partition are the row's, below). */
  if( iCol>MSG_COL_PARTITION && (r = pCur->pRec)!=0 ){
    switch( iCol ){
      case MSG_COL_OFFSET:
        sqlite3_result_int64(ctx, r->iOffset);
        break;
      case MSG_COL_TIMESTAMP:
        sqlite3_result_int64(ctx, r->iTimestamp);
        break;
      case MSG_COL_KEY:
        if( r->eKey!=SQLITE_NULL ){
          streamMsgBytes(ctx, r->eKey, r->pKey, r->nKey);
        }
        break;
      case MSG_COL_VALUE:
        if( r->eValue!=SQLITE_NULL ){
          streamMsgBytes(ctx, r->eValue, r->pValue, r->nValue);
        }
        break;
      default:
        if( r->eHeaders!=SQLITE_NULL ){
          streamMsgBytes(ctx, r->eHeaders, r->pHeaders, r->nHeaders);
        }
        break;
    }
    return SQLITE_OK;
  }
  /* A hot row of its own (the common case): its column straight from the
  ** hot statement, still on the row, into the result. */
  pVal = sqlite3StreamScanHotValue(pCur->pScan, iCol);
  if( pVal ) return streamMsgValue(ctx, pVal);
  rc = sqlite3StreamScanColumn(pCur->pScan, iCol, &f);
  if( rc ){
    sqlite3_result_error(ctx, STREAM_ERR "corrupt compressed value", -1);
    return rc==SQLITE_NOMEM ? rc : SQLITE_ERROR;
  }
  if( f.pValue ){
    return streamMsgValue(ctx, f.pValue);
  }else if( f.eType==SQLITE_INTEGER ){
    sqlite3_result_int64(ctx, f.iVal);
  }else if( f.eType==SQLITE_TEXT || f.eType==SQLITE_BLOB ){
    streamMsgBytes(ctx, f.eType, f.p, f.n);
  }
  return SQLITE_OK;
}

static int streamMsgRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *pRowid){
  STREAM_UNUSED(cur);
  *pRowid = 0;
  return SQLITE_OK;
}

/* INSERT INTO stream_messages: argv[2+i] is column i; argv[0] and
** argv[1] are the old and new row_key (WITHOUT ROWID). */
static int streamMsgUpdateRow(sqlite3_vtab *pVtab, int argc,
                              sqlite3_value **argv, sqlite3_int64 *pRowid){
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
  if( sqlite3StreamColumnTextType(aCol[MSG_COL_TOPIC])!=SQLITE_TEXT ){
    sqlite3StreamVtabErr(pVtab, "topic name must be text, not %s",
        sqlite3_value_type(aCol[MSG_COL_TOPIC])==SQLITE_NULL ? "NULL"
                                                        : "a blob");
    return SQLITE_CONSTRAINT;
  }
  if( sqlite3_value_type(aCol[MSG_COL_OFFSET])!=SQLITE_NULL
   || sqlite3_value_type(aCol[MSG_COL_ROW_KEY])!=SQLITE_NULL ){
    sqlite3StreamVtabErr(pVtab, "%s is assigned by the extension: leave"
        " it NULL", sqlite3_value_type(aCol[MSG_COL_OFFSET])!=SQLITE_NULL
                    ? "offset" : "row_key");
    return SQLITE_CONSTRAINT;
  }
  zTopic = (const char*)sqlite3_value_text(aCol[MSG_COL_TOPIC]);
  if( zTopic==0 ) return SQLITE_NOMEM;
  if( (int)strlen(zTopic)!=sqlite3_value_bytes(aCol[MSG_COL_TOPIC]) ){
    sqlite3StreamVtabErr(pVtab, "topic name must not contain NUL bytes");
    return SQLITE_CONSTRAINT;
  }
  memset(&m, 0, sizeof(m));
  m.iPartition = STREAM_UNSET;
  m.iTimestamp = STREAM_UNSET;
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
      if( !sqlite3StreamColumnInt(pP, &m.iPartition) ){
        rc = sqlite3StreamErr(&zErr, SQLITE_MISMATCH,
                              "partition must be an integer or NULL");
      }
    }
    if( rc==SQLITE_OK && sqlite3_value_type(pT)!=SQLITE_NULL ){
      if( !sqlite3StreamColumnInt(pT, &m.iTimestamp) ){
        rc = sqlite3StreamErr(&zErr, SQLITE_MISMATCH,
            "timestamp must be an integer (ms since the epoch) or NULL");
      }
    }
  }
  if( rc==SQLITE_OK ){
    /* Idempotent producer: both hidden columns, or neither. */
    sqlite3_value *pId = aCol[MSG_COL_PRODUCER_ID];
    sqlite3_value *pSeq = aCol[MSG_COL_PRODUCER_SEQ];
    int bId = sqlite3_value_type(pId)!=SQLITE_NULL;
    int bSeq = sqlite3_value_type(pSeq)!=SQLITE_NULL;
    if( bId!=bSeq ){
      rc = sqlite3StreamErr(&zErr, SQLITE_MISUSE,
          "producer_id and producer_seq go together: give both or neither");
    }else if( bId && (sqlite3_value_type(pId)!=SQLITE_TEXT
                   || sqlite3_value_bytes(pId)<1
                   || sqlite3_value_bytes(pId)>255) ){
      rc = sqlite3StreamErr(&zErr, SQLITE_MISMATCH,
                            "producer_id must be text of 1 to 255 bytes");
    }else if( bSeq && !sqlite3StreamColumnInt(pSeq, &m.iSeq) ){
      rc = sqlite3StreamErr(&zErr, SQLITE_MISMATCH,
                            "producer_seq must be an integer");
    }else if( bId ){
      m.zProducer = (const char*)sqlite3_value_text(pId);
      if( m.zProducer==0 ){
        rc = SQLITE_NOMEM;
      }else if( (int)strlen(m.zProducer)!=sqlite3_value_bytes(pId)
             || !sqlite3StreamUtf8Check(m.zProducer, strlen(m.zProducer)) ){
        /* Used as a C string: "p\0q" would be the producer "p", whose
        ** next sequence would then be dropped as a retry. */
        rc = sqlite3StreamErr(&zErr, SQLITE_MISMATCH, "producer_id %s",
            (int)strlen(m.zProducer)!=sqlite3_value_bytes(pId)
              ? "must not contain NUL bytes" : "is not valid UTF-8");
      }
    }
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamProduce(pTab->pCtx, zTopic, &m, 0, &iOffset, &zErr);
  }
  if( rc ){
    sqlite3_free(pVtab->zErrMsg);
    pVtab->zErrMsg = zErr;
    rc = sqlite3StreamErrCode(rc);
    return rc==SQLITE_ERROR ? SQLITE_CONSTRAINT : rc;
  }
  *pRowid = iOffset;
  return SQLITE_OK;
}

/* xUpdate.  SQLite acts on SQLITE_CONSTRAINT by the statement's conflict
** mode (SQLITE_VTAB_CONSTRAINT_SUPPORT): OR ROLLBACK rolls the
** transaction back, ABORT (the default) and REPLACE the statement.  FAIL
** would keep, and IGNORE skip, a message the produce failed after writing
** part of (its CDC event refused inside a statement, which has no
** savepoint of its own), so under those two a refusal is SQLITE_ERROR,
** which aborts the statement (docs/sql.md). */
static int streamMsgUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                           sqlite3_int64 *pRowid){
  int rc = streamMsgUpdateRow(pVtab, argc, argv, pRowid);
  if( (rc&0xff)==SQLITE_CONSTRAINT ){
    int eMode = sqlite3_vtab_on_conflict(((StreamMsgVtab*)pVtab)->pCtx->db);
    if( eMode==SQLITE_FAIL || eMode==SQLITE_IGNORE ) rc = SQLITE_ERROR;
  }
  return rc;
}

/* Transaction methods (ext/txn.c): an INSERT enlists the table, which lets
** the produce path cache per transaction.  StreamMsgVtab starts like
** StreamVtabHead. */
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
  sqlite3StreamVtabBegin,      /* xBegin */
  sqlite3StreamVtabSync,       /* xSync */
  sqlite3StreamVtabCommit,     /* xCommit */
  sqlite3StreamVtabEnd,        /* xRollback */
  0,                    /* xFindFunction */
  0,                    /* xRename */
  sqlite3StreamVtabSavepoint,  /* xSavepoint */
  sqlite3StreamVtabSavepoint,  /* xRelease */
  sqlite3StreamVtabRollbackTo, /* xRollbackTo */
  0                     /* xShadowName */
};

int sqlite3StreamRegisterMessages(sqlite3 *db, StreamCtx *p){
  return sqlite3_create_module(db, "stream_messages", &streamMsgModule, p);
}
