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
**
** The last three only spare the warm reader the decoding of those Parquet
** columns (sqlite3StreamWarmColumns()); the hot SQL ignores them.
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
** Two tiers.  xFilter runs the hot SQL above and, beside it, a query of
** the warm tier's segment index (_stream_segments, pruned by the same
** topic / partition / offset / timestamp bounds, in the same order; see
** streamMsgSegSql()).  The cursor merges the two streams by (topic,
** partition, offset): for one partition every warm offset is below every
** hot offset, so this is a concatenation per partition, and an offset
** present in both (a move interrupted between its insert and its delete)
** is returned once.  Each segment file is read through a
** StreamWarmCursor (ext/tier.c): row groups pruned by their statistics,
** one page per column in memory (one row group when descending), so a
** replay of any length runs in bounded memory.  With no segment in range
** the cursor is the hot statement alone.  LIMIT stops both streams.
**
** SQLITE_VTAB_DIRECTONLY: INSERT produces messages, so a hostile
** database's triggers and views must not reach this table.  TEMP triggers
** and views may (the transactional outbox).
*/
#include "streamInt.h"
#include <string.h>
#include <math.h>

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
#define MSG_NO_KEY    0x2000
#define MSG_NO_VALUE  0x4000
#define MSG_NO_HDRS   0x8000

#define LARGEST_I64  ((i64)0x7fffffffffffffffLL)
#define SMALLEST_I64 (-LARGEST_I64-1)

/* Column numbers. */
#define MSG_COL_TOPIC     0
#define MSG_COL_PARTITION 1
#define MSG_COL_OFFSET    2
#define MSG_COL_KEY       3
#define MSG_COL_VALUE     4
#define MSG_COL_HEADERS   5
#define MSG_COL_TIMESTAMP 6
#define MSG_COL_PRODUCER_ID  7   /* hidden, INSERT only */
#define MSG_COL_PRODUCER_SEQ 8   /* hidden, INSERT only */
#define MSG_COL_ROW_KEY   9   /* hidden, the PRIMARY KEY */
#define MSG_COL_ATTRS     7   /* storage only: not a vtab column */

/* Statements cached per table (one per distinct idxNum in use). */
#define MSG_CACHE 16
/* Segment-index statements: one per (topic =, partition =, DESC). */
#define MSG_SEG_CACHE 8

/* What the cursor's current row is. */
#define MSG_CUR_EOF  0
#define MSG_CUR_HOT  1
#define MSG_CUR_WARM 2

typedef struct StreamMsgVtab StreamMsgVtab;
typedef struct StreamMsgCursor StreamMsgCursor;

struct StreamMsgVtab {
  sqlite3_vtab base;           /* Base class - must be first */
  StreamCtx *pCtx;             /* Connection state - second (StreamVtabHead) */
  int aIdx[MSG_CACHE];         /* idxNum of aStmt[i], or -1 */
  sqlite3_stmt *aStmt[MSG_CACHE];  /* Cached statements */
  int abUsed[MSG_CACHE];       /* Slot held by an open cursor */
  sqlite3_stmt *aSeg[MSG_SEG_CACHE];  /* Cached segment-index statements */
  int abSegUsed[MSG_SEG_CACHE];       /* Held by an open cursor */
  StreamWarmCache *pWarmCache; /* Open warm readers (ext/tier.c), or NULL */
};

struct StreamMsgCursor {
  sqlite3_vtab_cursor base;    /* Base class - must be first */
  sqlite3_stmt *pStmt;         /* Hot statement on a row, or NULL at EOF */
  int iSlot;                   /* Cache slot of pStmt, or -1 if private */
  sqlite3_stmt *pSeg;          /* Segment-index statement, or NULL */
  int iSegSlot;                /* Cache slot of pSeg, or -1 if private */
  StreamStore *pStore;         /* Warm store, opened on first segment */
  StreamWarmCursor *pWarm;     /* Segment file being read, or NULL */
  const StreamPqRow *pRow;     /* Current warm row, or NULL at warm EOF */
  char *zSegTopic;             /* Topic of the segment being read */
  int nSegTopic;               /* Bytes in zSegTopic */
  i64 iSegPart;                /* Its partition */
  char *zSegLoc;               /* Its location */
  i64 iSegFirst, iSegLast;     /* Its offset range */
  i64 iLo, iHi;                /* Offset bounds (inclusive) */
  i64 iTsLo, iTsHi;            /* Timestamp bounds (inclusive) */
  int bDesc;                   /* Descending order */
  unsigned mWarmCols;          /* Parquet columns to decode (bit = column) */
  int eCur;                    /* MSG_CUR_*: source of the current row */
  i64 nLimit;                  /* LIMIT pushed down, or -1 */
  i64 nOut;                    /* Rows returned so far */
};

static int streamMsgConnect(sqlite3 *db, void *pAux, int argc,
                            const char *const *argv, sqlite3_vtab **ppVtab,
                            char **pzErr){
  StreamMsgVtab *pTab;
  int rc, i;
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
  pTab = sqlite3_malloc64(sizeof(*pTab));
  if( pTab==0 ) return SQLITE_NOMEM;
  memset(pTab, 0, sizeof(*pTab));
  pTab->pCtx = (StreamCtx*)pAux;
  for(i=0; i<MSG_CACHE; i++) pTab->aIdx[i] = -1;
  /* Consumers polling a warm backlog reuse open readers across polls.
  ** Without the memory for it, reads simply open every file. */
  sqlite3StreamWarmCacheNew(&pTab->pWarmCache);
  *ppVtab = &pTab->base;
  return SQLITE_OK;
}

static int streamMsgDisconnect(sqlite3_vtab *pVtab){
  StreamMsgVtab *pTab = (StreamMsgVtab*)pVtab;
  int i;
  for(i=0; i<MSG_CACHE; i++) sqlite3_finalize(pTab->aStmt[i]);
  for(i=0; i<MSG_SEG_CACHE; i++) sqlite3_finalize(pTab->aSeg[i]);
  sqlite3StreamWarmCacheFree(pTab->pWarmCache);
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
        if( op==SQLITE_INDEX_CONSTRAINT_EQ && iTopic<0
         && sqlite3StreamVtabBinary(pInfo, i) ) iTopic = i;
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

/*
** The segment-index query for a plan: ?1 topic (if bit 1 of iVar), ?2
** partition (if bit 2), ?3..?6 the offset and timestamp bounds; rows in
** (topic, partition, first_offset) order, reversed if bit 4.  Only
** segments of the topic's incarnation are read (not those of an earlier
** topic of the same name).  bLegacy: a database of storage format 1, not
** yet upgraded (no incarnations): its segments written after the topic
** was created, as format 1 read them.
*/
static char *streamMsgSegSql(int iVar, int bLegacy){
  const char *zDir = (iVar & 4) ? " DESC" : "";
  return sqlite3_mprintf(
      "SELECT s.topic, s.partition, s.location, s.first_offset,"
      " s.last_offset, s.messages, s.bytes, %s, t.max_message_bytes"
      " FROM _stream_segments s JOIN _stream_topics t ON t.name=s.topic"
      " AND %s"
      " WHERE %s%s s.last_offset>=?3 AND s.first_offset<=?4"
      " AND s.last_timestamp>=?5 AND s.first_timestamp<=?6"
      " ORDER BY s.topic%s, s.partition%s, s.first_offset%s",
      bLegacy ? "0" : "s.incarnation",
      bLegacy ? "t.created_at<=s.created_at" : "t.incarnation=s.incarnation",
      (iVar & 1) ? "s.topic=?1 AND " : "",
      (iVar & 2) ? "s.partition=?2 AND " : "",
      zDir, zDir, zDir);
}

static int streamMsgOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur){
  StreamMsgCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  STREAM_UNUSED(pVtab);
  if( pCur==0 ) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  pCur->iSlot = -1;
  pCur->iSegSlot = -1;
  *ppCur = &pCur->base;
  return SQLITE_OK;
}

/* Release the hot statement. */
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

/* Release the warm side: segment statement, file, store. */
static void streamMsgWarmRelease(StreamMsgCursor *pCur){
  StreamMsgVtab *pTab = (StreamMsgVtab*)pCur->base.pVtab;
  sqlite3StreamWarmClose(pCur->pWarm);
  pCur->pWarm = 0;
  pCur->pRow = 0;
  if( pCur->pSeg ){
    if( pCur->iSegSlot>=0 ){
      sqlite3_reset(pCur->pSeg);
      pTab->abSegUsed[pCur->iSegSlot] = 0;
    }else{
      sqlite3_finalize(pCur->pSeg);
    }
  }
  pCur->pSeg = 0;
  pCur->iSegSlot = -1;
  sqlite3StreamStoreUnref(pCur->pStore);
  pCur->pStore = 0;
  sqlite3_free(pCur->zSegTopic);
  pCur->zSegTopic = 0;
  sqlite3_free(pCur->zSegLoc);
  pCur->zSegLoc = 0;
}

static int streamMsgClose(sqlite3_vtab_cursor *cur){
  streamMsgRelease((StreamMsgCursor*)cur);
  streamMsgWarmRelease((StreamMsgCursor*)cur);
  sqlite3_free(cur);
  return SQLITE_OK;
}

/* Step the hot statement; at its end release it. */
static int streamMsgHotStep(StreamMsgCursor *pCur){
  int rc = sqlite3_step(pCur->pStmt);
  if( rc==SQLITE_ROW ) return SQLITE_OK;
  rc = sqlite3_reset(pCur->pStmt);
  streamMsgRelease(pCur);
  if( rc ){
    StreamMsgVtab *pTab = (StreamMsgVtab*)pCur->base.pVtab;
    sqlite3StreamVtabErr(&pTab->base, "%s", sqlite3_errmsg(pTab->pCtx->db));
  }
  return rc;
}

/* Next warm row: from the open file, else from the next segment. */
static int streamMsgWarmStep(StreamMsgCursor *pCur){
  StreamMsgVtab *pTab = (StreamMsgVtab*)pCur->base.pVtab;
  char *zErr = 0;
  int rc = SQLITE_OK;
  pCur->pRow = 0;
  while( pCur->pSeg ){
    if( pCur->pWarm ){
      rc = sqlite3StreamWarmNext(pCur->pWarm, &pCur->pRow, &zErr);
      if( rc==SQLITE_ROW ) return SQLITE_OK;
      pCur->pRow = 0;
      if( rc!=SQLITE_DONE ) break;
      rc = SQLITE_OK;
      sqlite3StreamWarmClose(pCur->pWarm);
      pCur->pWarm = 0;
    }
    rc = sqlite3_step(pCur->pSeg);
    if( rc!=SQLITE_ROW ){
      rc = sqlite3_reset(pCur->pSeg);
      if( rc ){
        sqlite3StreamVtabErr(&pTab->base, "%s",
                             sqlite3_errmsg(pTab->pCtx->db));
        return rc;
      }
      streamMsgWarmRelease(pCur);
      return SQLITE_OK;
    }else{
      const char *zT = (const char*)sqlite3_column_text(pCur->pSeg, 0);
      const char *zLoc = (const char*)sqlite3_column_text(pCur->pSeg, 2);
      StreamSegment seg;
      memset(&seg, 0, sizeof(seg));
      seg.zLocation = zLoc ? zLoc : "";
      seg.zTopic = zT ? zT : "";
      seg.iPartition = sqlite3_column_int(pCur->pSeg, 1);
      seg.iFirst = sqlite3_column_int64(pCur->pSeg, 3);
      seg.iLast = sqlite3_column_int64(pCur->pSeg, 4);
      seg.nMessages = sqlite3_column_int64(pCur->pSeg, 5);
      seg.nBytes = sqlite3_column_int64(pCur->pSeg, 6);
      seg.iIncarnation = sqlite3_column_int64(pCur->pSeg, 7);
      seg.nMaxValue = sqlite3_column_int64(pCur->pSeg, 8);
      /* Rows come ordered by first_offset: two of one partition overlap
      ** if and only if two consecutive ones do.  Refused: the file would
      ** return its messages twice. */
      if( pCur->zSegLoc && pCur->zSegTopic
       && strcmp(pCur->zSegTopic, seg.zTopic)==0
       && pCur->iSegPart==seg.iPartition
       && (pCur->bDesc ? seg.iLast>=pCur->iSegFirst
                       : seg.iFirst<=pCur->iSegLast) ){
        rc = sqlite3StreamErr(&zErr, SQLITE_CORRUPT, "warm segments %s"
            " (offsets %lld..%lld) and %s (offsets %lld..%lld) of %s/%d"
            " overlap", pCur->zSegLoc, pCur->iSegFirst, pCur->iSegLast,
            seg.zLocation, seg.iFirst, seg.iLast, seg.zTopic,
            seg.iPartition);
        break;
      }
      sqlite3_free(pCur->zSegTopic);
      sqlite3_free(pCur->zSegLoc);
      pCur->zSegTopic = sqlite3_mprintf("%s", seg.zTopic);
      pCur->zSegLoc = sqlite3_mprintf("%s", seg.zLocation);
      if( pCur->zSegTopic==0 || pCur->zSegLoc==0 ) return SQLITE_NOMEM;
      pCur->nSegTopic = (int)strlen(pCur->zSegTopic);
      pCur->iSegPart = seg.iPartition;
      pCur->iSegFirst = seg.iFirst;
      pCur->iSegLast = seg.iLast;
      if( pCur->pStore==0 ){
        rc = sqlite3StreamTierStore(pTab->pCtx, &pCur->pStore, &zErr);
        if( rc==SQLITE_OK && pCur->pStore==0 ){
          rc = sqlite3StreamErr(&zErr, SQLITE_ERROR,
              "warm segment %s is in the index but there is no warm store"
              " (set one with stream_config('warm.store', 'file:///...'))",
              zLoc ? zLoc : "?");
        }
        if( rc ) break;
      }
      rc = sqlite3StreamWarmOpen(pCur->pStore, pTab->pWarmCache, &seg,
          pCur->iLo, pCur->iHi, pCur->iTsLo, pCur->iTsHi, pCur->bDesc,
          &pCur->pWarm, &zErr);
      if( rc ) break;
      sqlite3StreamWarmColumns(pCur->pWarm, pCur->mWarmCols);
    }
  }
  if( rc ){
    sqlite3_free(pTab->base.zErrMsg);
    pTab->base.zErrMsg = zErr ? zErr
        : sqlite3_mprintf(STREAM_ERR "%s", sqlite3_errstr(rc));
    return rc;
  }
  return SQLITE_OK;
}

/* Order of the warm row against the hot row: <0, 0, >0. */
static int streamMsgCompare(StreamMsgCursor *pCur){
  const unsigned char *zT = sqlite3_column_text(pCur->pStmt, MSG_COL_TOPIC);
  int nT = sqlite3_column_bytes(pCur->pStmt, MSG_COL_TOPIC);
  i64 iPart = sqlite3_column_int64(pCur->pStmt, MSG_COL_PARTITION);
  i64 iOff = sqlite3_column_int64(pCur->pStmt, MSG_COL_OFFSET);
  int c = memcmp(pCur->zSegTopic, zT ? (const char*)zT : "",
                 (size_t)(pCur->nSegTopic<nT ? pCur->nSegTopic : nT));
  if( c==0 ) c = pCur->nSegTopic - nT;
  if( c==0 ) c = pCur->iSegPart<iPart ? -1 : pCur->iSegPart>iPart;
  if( c==0 ) c = pCur->pRow->iOffset<iOff ? -1 : pCur->pRow->iOffset>iOff;
  return c;
}

/* Choose the current row from the heads of the two streams. */
static int streamMsgPick(StreamMsgCursor *pCur){
  int rc = SQLITE_OK;
  if( pCur->pRow==0 ){
    pCur->eCur = pCur->pStmt ? MSG_CUR_HOT : MSG_CUR_EOF;
  }else{
    int c = 1;
    while( pCur->pStmt && (c = streamMsgCompare(pCur))==0 ){
      rc = streamMsgHotStep(pCur);            /* in both tiers: once */
      if( rc ) return rc;
    }
    if( pCur->pStmt==0 ){
      pCur->eCur = MSG_CUR_WARM;
    }else{
      pCur->eCur = ((c<0) != (pCur->bDesc!=0)) ? MSG_CUR_WARM : MSG_CUR_HOT;
    }
  }
  if( pCur->eCur!=MSG_CUR_EOF ) pCur->nOut++;
  return rc;
}

static int streamMsgNext(sqlite3_vtab_cursor *cur){
  StreamMsgCursor *pCur = (StreamMsgCursor*)cur;
  int rc;
  if( pCur->nLimit>=0 && pCur->nOut>=pCur->nLimit ){
    pCur->eCur = MSG_CUR_EOF;
    return SQLITE_OK;
  }
  if( pCur->eCur==MSG_CUR_HOT ){
    rc = streamMsgHotStep(pCur);
  }else if( pCur->eCur==MSG_CUR_WARM ){
    rc = streamMsgWarmStep(pCur);
  }else{
    return SQLITE_OK;
  }
  if( rc==SQLITE_OK ) rc = streamMsgPick(pCur);
  return sqlite3StreamErrCode(rc);
}

/* An offset or timestamp bound from a constraint value, as an inclusive
** integer.  Returns 0 if no row can satisfy the constraint (NULL, NaN, a
** strict bound at the end of the range, a lower bound that is text). */
static int streamMsgBound(sqlite3_value *pVal, int bLower, int bStrict,
                          i64 *piOut){
  int eType = sqlite3_value_numeric_type(pVal);
  if( eType==SQLITE_INTEGER ){
    i64 v = sqlite3_value_int64(pVal);
    if( bStrict ){
      if( bLower ){ if( v==LARGEST_I64 ) return 0; v++; }
      else{ if( v==SMALLEST_I64 ) return 0; v--; }
    }
    *piOut = v;
    return 1;
  }
  if( eType==SQLITE_FLOAT ){
    double r = sqlite3_value_double(pVal);
    if( r!=r ) return 0;
    if( bLower ){
      r = bStrict ? floor(r)+1.0 : ceil(r);
      if( r>9.2e18 ) return 0;
      *piOut = r< -9.2e18 ? SMALLEST_I64 : (i64)r;
    }else{
      r = bStrict ? ceil(r)-1.0 : floor(r);
      if( r< -9.2e18 ) return 0;
      *piOut = r>9.2e18 ? LARGEST_I64 : (i64)r;
    }
    return 1;
  }
  if( eType==SQLITE_NULL ) return 0;
  /* Text or blob: every integer is smaller. */
  return bLower ? 0 : 1;
}

/* Start the warm side for this plan. */
static int streamMsgWarmStart(StreamMsgCursor *pCur, int idxNum,
                              sqlite3_value **argv){
  StreamMsgVtab *pTab = (StreamMsgVtab*)pCur->base.pVtab;
  sqlite3 *db = pTab->pCtx->db;
  int iVar = ((idxNum & MSG_TOPIC) ? 1 : 0) | ((idxNum & MSG_PART) ? 2 : 0)
           | ((idxNum & MSG_DESC) ? 4 : 0);
  int rc, i = 0;
  pCur->iLo = SMALLEST_I64; pCur->iHi = LARGEST_I64;
  pCur->iTsLo = SMALLEST_I64; pCur->iTsHi = LARGEST_I64;
  pCur->bDesc = (idxNum & MSG_DESC)!=0;
  /* Parquet columns 3, 4, 5: key, value, headers (ext/parquet.h); topic
  ** and partition come from the segment row. */
  pCur->mWarmCols = ((idxNum & MSG_NO_KEY) ? 0 : 1u<<3)
                  | ((idxNum & MSG_NO_VALUE) ? 0 : 1u<<4)
                  | ((idxNum & MSG_NO_HDRS) ? 0 : 1u<<5);
  /* argv order: topic, partition, offset (=, >=, <=), ts, limit. */
  if( idxNum & MSG_TOPIC ) i++;
  if( idxNum & MSG_PART ) i++;
  if( idxNum & MSG_OFF_EQ ){
    if( !streamMsgBound(argv[i], 1, 0, &pCur->iLo)
     || !streamMsgBound(argv[i], 0, 0, &pCur->iHi) ) return SQLITE_OK;
    i++;
  }
  if( idxNum & MSG_OFF_LO ){
    if( !streamMsgBound(argv[i++], 1, (idxNum & MSG_OFF_LO_X)!=0,
                        &pCur->iLo) ) return SQLITE_OK;
  }
  if( idxNum & MSG_OFF_HI ){
    if( !streamMsgBound(argv[i++], 0, (idxNum & MSG_OFF_HI_X)!=0,
                        &pCur->iHi) ) return SQLITE_OK;
  }
  if( idxNum & MSG_TS_LO ){
    if( !streamMsgBound(argv[i++], 1, (idxNum & MSG_TS_LO_X)!=0,
                        &pCur->iTsLo) ) return SQLITE_OK;
  }
  if( idxNum & MSG_TS_HI ){
    if( !streamMsgBound(argv[i++], 0, (idxNum & MSG_TS_HI_X)!=0,
                        &pCur->iTsHi) ) return SQLITE_OK;
  }
  if( pCur->iLo>pCur->iHi || pCur->iTsLo>pCur->iTsHi ) return SQLITE_OK;

  if( pTab->aSeg[iVar] && !pTab->abSegUsed[iVar] ){
    pCur->pSeg = pTab->aSeg[iVar];
    pCur->iSegSlot = iVar;
  }else{
    char *zSql = streamMsgSegSql(iVar, 0);
    int bCache = pTab->aSeg[iVar]==0;
    if( zSql==0 ) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v3(db, zSql, -1,
             bCache ? SQLITE_PREPARE_PERSISTENT : 0, &pCur->pSeg, 0);
    sqlite3_free(zSql);
    if( rc && strstr(sqlite3_errmsg(db), "incarnation") ){
      /* Storage format 1, not yet upgraded: read as it did (not cached,
      ** so that the upgrade is seen by the next statement). */
      bCache = 0;
      zSql = streamMsgSegSql(iVar, 1);
      if( zSql==0 ) return SQLITE_NOMEM;
      rc = sqlite3_prepare_v3(db, zSql, -1, 0, &pCur->pSeg, 0);
      sqlite3_free(zSql);
    }
    if( rc ){
      pCur->pSeg = 0;
      if( sqlite3StreamNoStorage(db) ) return SQLITE_OK;  /* no warm tier */
      sqlite3StreamVtabErr(&pTab->base, "%s", sqlite3_errmsg(db));
      return rc;
    }
    if( bCache ){
      pTab->aSeg[iVar] = pCur->pSeg;
      pCur->iSegSlot = iVar;
    }
  }
  if( pCur->iSegSlot>=0 ) pTab->abSegUsed[pCur->iSegSlot] = 1;
  if( idxNum & MSG_TOPIC ) sqlite3_bind_value(pCur->pSeg, 1, argv[0]);
  if( idxNum & MSG_PART ){
    sqlite3_bind_value(pCur->pSeg, 2, argv[(idxNum & MSG_TOPIC) ? 1 : 0]);
  }
  sqlite3_bind_int64(pCur->pSeg, 3, pCur->iLo);
  sqlite3_bind_int64(pCur->pSeg, 4, pCur->iHi);
  sqlite3_bind_int64(pCur->pSeg, 5, pCur->iTsLo);
  sqlite3_bind_int64(pCur->pSeg, 6, pCur->iTsHi);
  return streamMsgWarmStep(pCur);
}

static int streamMsgFilter(sqlite3_vtab_cursor *cur, int idxNum,
                           const char *idxStr, int argc, sqlite3_value **argv){
  StreamMsgCursor *pCur = (StreamMsgCursor*)cur;
  StreamMsgVtab *pTab = (StreamMsgVtab*)cur->pVtab;
  sqlite3 *db = pTab->pCtx->db;
  int i, rc, iFree = -1;
  STREAM_UNUSED(idxStr);
  streamMsgRelease(pCur);
  streamMsgWarmRelease(pCur);
  pCur->eCur = MSG_CUR_EOF;
  pCur->nOut = 0;
  pCur->nLimit = (idxNum & MSG_LIMIT) ? sqlite3_value_int64(argv[argc-1]) : -1;
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
  if( pCur->nLimit==0 ){
    streamMsgRelease(pCur);
    return SQLITE_OK;
  }
  rc = streamMsgHotStep(pCur);
  if( rc==SQLITE_OK ) rc = streamMsgWarmStart(pCur, idxNum, argv);
  if( rc==SQLITE_OK ) rc = streamMsgPick(pCur);
  return sqlite3StreamErrCode(rc);
}

static int streamMsgEof(sqlite3_vtab_cursor *cur){
  return ((StreamMsgCursor*)cur)->eCur==MSG_CUR_EOF;
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
    return rc==SQLITE_NOMEM ? rc : SQLITE_ERROR;
  }
  if( attrs & STREAM_ATTR_BLOB ){
    sqlite3_result_blob64(ctx, pOut, nOut, sqlite3_free);
  }else{
    sqlite3_result_text64(ctx, pOut, nOut, sqlite3_free, SQLITE_UTF8);
  }
  return SQLITE_OK;
}

/*
** Warm bytes are handed to SQLite without a copy: they live in the
** reader's decoded page until the next xNext/xFilter/xClose, which is as
** long as SQLite reads a column result of the current row.  A destructor
** that does nothing (rather than SQLITE_STATIC) makes SQLite copy the
** value wherever it keeps one beyond the row (sqlite3VdbeMemCopy() and
** OP_Copy deep-copy anything not MEM_Static, e.g. for max(value) or an
** ephemeral table), so no copy outlives the page.
*/
static void streamMsgNoFree(void *p){
  STREAM_UNUSED(p);
}

/*
** Warm text.  When the reader says a 0 byte follows it (bTerm) and the
** text holds no 0 byte itself, it is passed with length -1: SQLite then
** marks it NUL-terminated and sqlite3_value_text() (length(), LIKE, json
** functions, ...) uses it in place instead of copying it into a new
** buffer to add the terminator -- a malloc, memcpy and free per value,
** about a sixth of a replay's time.  SQLite's own strlen() then finds
** the same length.
*/
static void streamMsgWarmText(sqlite3_context *ctx, const char *z, int n,
                              int bTerm){
  if( bTerm && strlen(z)==(size_t)n ){
    sqlite3_result_text(ctx, z, -1, streamMsgNoFree);
  }else{
    sqlite3_result_text(ctx, z, n, streamMsgNoFree);
  }
}

/* A key or value of a warm row. */
static void streamMsgWarmBytes(sqlite3_context *ctx, const void *p, int n,
                               int eType, int bTerm){
  if( eType==STREAM_PQ_TEXT ){
    streamMsgWarmText(ctx, (const char*)p, n, bTerm);
  }else if( eType==STREAM_PQ_BLOB ){
    sqlite3_result_blob(ctx, p, n, streamMsgNoFree);
  }
}

/*
** row_key, the table's PRIMARY KEY: json_array(topic, partition, offset).
** The table is WITHOUT ROWID because offsets repeat across partitions and
** SQLite needs a unique key per row (a MULTI-INDEX OR plan drops the rows
** whose key it has seen).  Topic names need no JSON escaping.
*/
static int streamMsgRowKey(StreamMsgCursor *pCur, sqlite3_context *ctx){
  char *z;
  if( pCur->eCur==MSG_CUR_WARM ){
    z = sqlite3_mprintf("[\"%s\",%lld,%lld]", pCur->zSegTopic,
                        pCur->iSegPart, pCur->pRow->iOffset);
  }else{
    z = sqlite3_mprintf("[\"%s\",%lld,%lld]",
        (const char*)sqlite3_column_text(pCur->pStmt, MSG_COL_TOPIC),
        sqlite3_column_int64(pCur->pStmt, MSG_COL_PARTITION),
        sqlite3_column_int64(pCur->pStmt, MSG_COL_OFFSET));
  }
  if( z==0 ) return SQLITE_NOMEM;
  sqlite3_result_text(ctx, z, -1, sqlite3_free);
  return SQLITE_OK;
}

static int streamMsgColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx,
                           int iCol){
  StreamMsgCursor *pCur = (StreamMsgCursor*)cur;
  if( iCol==MSG_COL_ROW_KEY ) return streamMsgRowKey(pCur, ctx);
  if( iCol>MSG_COL_TIMESTAMP ) return SQLITE_OK;  /* producer_*: write-only */
  if( pCur->eCur==MSG_CUR_WARM ){
    const StreamPqRow *r = pCur->pRow;
    switch( iCol ){
      case MSG_COL_TOPIC:
        sqlite3_result_text(ctx, pCur->zSegTopic, pCur->nSegTopic,
                            SQLITE_TRANSIENT);
        break;
      case MSG_COL_PARTITION:
        sqlite3_result_int64(ctx, pCur->iSegPart);
        break;
      case MSG_COL_OFFSET:
        sqlite3_result_int64(ctx, r->iOffset);
        break;
      case MSG_COL_KEY:
        streamMsgWarmBytes(ctx, r->pKey, r->nKey, r->eKeyType,
                           (r->mTerm & STREAM_PQ_TERM_KEY)!=0);
        break;
      case MSG_COL_VALUE:
        streamMsgWarmBytes(ctx, r->pValue, r->nValue, r->eValueType,
                           (r->mTerm & STREAM_PQ_TERM_VALUE)!=0);
        break;
      case MSG_COL_HEADERS:
        if( r->zHeaders ){
          streamMsgWarmText(ctx, r->zHeaders, r->nHeaders,
                            (r->mTerm & STREAM_PQ_TERM_HEADERS)!=0);
        }
        break;
      default:
        sqlite3_result_int64(ctx, r->iTimestampMs);
        break;
    }
    return SQLITE_OK;
  }
  if( iCol==MSG_COL_VALUE ) return streamMsgValue(ctx, pCur->pStmt);
  sqlite3_result_value(ctx, sqlite3_column_value(pCur->pStmt, iCol));
  return SQLITE_OK;
}

/* Not called: the table is WITHOUT ROWID (row_key). */
static int streamMsgRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *pRowid){
  STREAM_UNUSED(cur);
  *pRowid = 0;
  return SQLITE_OK;
}

/* INSERT INTO stream_messages: argv[2+i] is column i; argv[0] and
** argv[1] are the old and new row_key (WITHOUT ROWID). */
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
      if( sqlite3_value_type(pP)!=SQLITE_INTEGER ){
        rc = sqlite3StreamErr(&zErr, SQLITE_MISMATCH,
                              "partition must be an integer or NULL");
      }else{
        m.iPartition = sqlite3_value_int64(pP);
      }
    }
    if( rc==SQLITE_OK && sqlite3_value_type(pT)!=SQLITE_NULL ){
      if( sqlite3_value_type(pT)!=SQLITE_INTEGER ){
        rc = sqlite3StreamErr(&zErr, SQLITE_MISMATCH,
            "timestamp must be an integer (ms since the epoch) or NULL");
      }else{
        m.iTimestamp = sqlite3_value_int64(pT);
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
    }else if( bSeq && sqlite3_value_type(pSeq)!=SQLITE_INTEGER ){
      rc = sqlite3StreamErr(&zErr, SQLITE_MISMATCH,
                            "producer_seq must be an integer");
    }else if( bId ){
      m.zProducer = (const char*)sqlite3_value_text(pId);
      m.iSeq = sqlite3_value_int64(pSeq);
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
  sqlite3StreamVtabEnd,        /* xCommit */
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
