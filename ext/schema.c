/*
** schema.c - the storage tables, the statement cache and small shared
** helpers (errors, clock).
**
** The DDL comes from sql/schema.sql, compiled in as zStreamSchemaSql by the
** build (schema_sql.h).  It is run on first write (stream_create_topic,
** stream_config) inside the caller's transaction; reads of a database that
** has no storage yet see no topics.
*/
#include "streamInt.h"
#include "schema_sql.h"
#include <stdarg.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

/* (STREAM_FORMAT, the storage format this build reads and writes, is in
** streamInt.h: stream_debug() shows it.) */

/* Format 1 -> 2: topic incarnations, recorded in each warm segment row (the
** sweep decides by identity, not by clocks), and the index of segment rows
** by location.  A segment row of format 1 belongs to its topic if it was
** written after the topic was created (the rule format 1 read by); other
** rows get incarnation 0, which no topic has: dead, removed by the sweep,
** as format 1 would have. */
static const char zStreamUpgrade1[] =
  "ALTER TABLE _stream_topics ADD COLUMN incarnation INTEGER NOT NULL"
  " DEFAULT 0;"
  "ALTER TABLE _stream_segments ADD COLUMN incarnation INTEGER NOT NULL"
  " DEFAULT 0;"
  "UPDATE _stream_topics SET incarnation=(random()&0x7fffffffffffffff)|1;"
  "UPDATE _stream_segments AS s SET incarnation=coalesce((SELECT"
  " t.incarnation FROM _stream_topics t WHERE t.name=s.topic"
  " AND t.created_at<=s.created_at), 0);"
  "UPDATE _stream_meta SET value=2 WHERE key='format';";

/* Format 2 -> 3: the hot log becomes _stream_log, a rowid table keyed by
** (partition id << 40) | offset, with the sparse time index
** _stream_timeindex instead of an index entry per message; every
** partition gets its id; _stream_messages becomes a view.  Run after
** streamUpgrade2Check() and before the schema script is run again (which
** creates the view); then zStreamUpgrade2Tix fills the time index. */
static const char zStreamUpgrade2[] =
  "ALTER TABLE _stream_partitions ADD COLUMN id INTEGER;"
  "UPDATE _stream_partitions AS p SET id=r.n FROM (SELECT topic, partition,"
  " row_number() OVER (ORDER BY topic, partition) AS n"
  " FROM _stream_partitions) AS r"
  " WHERE r.topic=p.topic AND r.partition=p.partition;"
  "INSERT INTO _stream_log(id, key, value, headers, timestamp, attrs)"
  " SELECT (p.id<<40)+m.offset, m.key, m.value, m.headers, m.timestamp,"
  " m.attrs FROM _stream_partitions p JOIN _stream_messages m"
  " ON m.topic=p.topic AND m.partition=p.partition ORDER BY 1;"
  "DROP TABLE _stream_messages;";
static const char zStreamUpgrade2Tix[] =
  "INSERT INTO _stream_timeindex(pid, timestamp, offset)"
  " SELECT id>>40, mx, id&" STREAM_LOG_M " FROM (SELECT id, max(timestamp)"
  " OVER (PARTITION BY id>>40 ORDER BY id) AS mx FROM _stream_log)"
  " WHERE ((id&" STREAM_LOG_M ")+1)%64=0;"
  "UPDATE _stream_meta SET value=3 WHERE key='format';";
/* Format 3 -> 4: rows of _stream_log may be record batches (attrs bit 8,
** ext/record.c); format 3 rows are valid format 4 rows, so only the
** _stream_messages view changes (it unpacks batches), recreated by the
** schema script run after this.  An older extension then refuses the
** database ("later format"). */
static const char zStreamUpgrade3[] =
  "DROP VIEW IF EXISTS _stream_messages;"
  "UPDATE _stream_meta SET value=4 WHERE key='format';";
/* Format 4 -> 5: a segment row names its store (store: the URL of a
** topic's own warm.store; NULL, as every earlier row, the database's
** warm.store), so that a topic may keep its segments in a store of its
** own (docs/tiering.md).  An older extension then refuses the database. */
static const char zStreamUpgrade4[] =
  "ALTER TABLE _stream_segments ADD COLUMN store TEXT;";
static const char zStreamUpgrade4Done[] =
  "UPDATE _stream_meta SET value=5 WHERE key='format';";

/* Format 4 -> 5 (after the schema script): the store column, unless the
** table has it (made by this version's schema script, or a database of
** format 5 marked earlier by hand). */
static int streamUpgrade4(StreamCtx *p){
  sqlite3_stmt *pStmt = 0;
  int bHas = 0;
  int rc = sqlite3_prepare_v2(p->db, "SELECT 1 FROM"
      " pragma_table_info('_stream_segments') WHERE name='store'", -1,
      &pStmt, 0);
  if( rc==SQLITE_OK ){
    bHas = sqlite3_step(pStmt)==SQLITE_ROW;
    rc = sqlite3_finalize(pStmt);
  }
  if( rc==SQLITE_OK && !bHas ){
    rc = sqlite3_exec(p->db, zStreamUpgrade4, 0, 0, 0);
  }
  if( rc==SQLITE_OK ) rc = sqlite3_exec(p->db, zStreamUpgrade4Done, 0, 0, 0);
  return rc;
}
/* Run after the schema script and any upgrade. */
static const char zStreamSchemaPost[] =
  "CREATE UNIQUE INDEX IF NOT EXISTS _stream_partitions_id"
  " ON _stream_partitions(id);";

/* SQL of the cached statements, indexed by STREAM_STMT_*: the
** transactions' and _stream_meta's read.  The hot log's statements
** (STREAM_HOT_*) and the catalog and group statements (STREAM_CAT_*)
** live in ext/storage.c. */
static const char *const aStmtSql[STREAM_STMT_COUNT] = {
  [STREAM_STMT_META_GET] =
  "SELECT value FROM _stream_meta WHERE key=?1",
  [STREAM_STMT_TXN_ENLIST] =
  "INSERT INTO stream_txn(enlist) VALUES(0)",
  [STREAM_STMT_INTERRUPT] =
  "SELECT 1",
};

int sqlite3StreamValueInt(sqlite3_value *pVal, i64 *pi){
  if( sqlite3_value_type(pVal)==SQLITE_INTEGER ){
    *pi = sqlite3_value_int64(pVal);
    return 1;
  }
  if( sqlite3_value_type(pVal)==SQLITE_FLOAT ){
    double r = sqlite3_value_double(pVal);
    /* Range first: converting an out-of-range real (or NaN) to i64 is
    ** undefined behaviour. */
    if( r>-9.2e18 && r<9.2e18 && r==(double)(i64)r ){
      *pi = (i64)r;
      return 1;
    }
  }
  return 0;
}

/* SQLite's numeric affinity (sqlite3_value_numeric_type: text that is a
** well-formed number, spaces around it allowed, becomes that integer or
** real; other text stays text), then the rule above, which takes a real
** only when it is exactly an integer, as INTEGER affinity keeps one. */
int sqlite3StreamColumnInt(sqlite3_value *pVal, i64 *pi){
  if( sqlite3_value_type(pVal)==SQLITE_TEXT ) sqlite3_value_numeric_type(pVal);
  return sqlite3StreamValueInt(pVal, pi);
}

int sqlite3StreamColumnTextType(sqlite3_value *pVal){
  int eType = sqlite3_value_type(pVal);
  return eType==SQLITE_INTEGER || eType==SQLITE_FLOAT ? SQLITE_TEXT : eType;
}

int sqlite3StreamErr(char **pzErr, int rc, const char *zFmt, ...){
  if( pzErr ){
    va_list ap;
    char *zMsg;
    va_start(ap, zFmt);
    zMsg = sqlite3_vmprintf(zFmt, ap);
    va_end(ap);
    sqlite3_free(*pzErr);
    *pzErr = zMsg ? sqlite3_mprintf(STREAM_ERR "%s", zMsg) : 0;
    sqlite3_free(zMsg);
  }
  return rc;
}

int sqlite3StreamDbErr(sqlite3 *db, char **pzErr, int rc){
  /* The extended code (SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE ...) even
  ** where the connection hands out primary codes only. */
  int rcExt = sqlite3_extended_errcode(db);
  if( rc!=SQLITE_OK && (rcExt&0xff)==(rc&0xff) ) rc = rcExt;
  if( pzErr ){
    /* An interrupted wait may have checked on another connection. */
    const char *zMsg = (rc&0xff)==SQLITE_INTERRUPT ? "interrupted"
                                                   : sqlite3_errmsg(db);
    sqlite3_free(*pzErr);
    /* A message of our own, from a nested statement, keeps its prefix. */
    *pzErr = sqlite3_mprintf("%s%s", STREAM_HAS_PREFIX(zMsg) ? ""
                             : STREAM_ERR, zMsg);
  }
  return rc==SQLITE_OK ? SQLITE_ERROR : rc;
}

void sqlite3StreamTopicErrsInit(sqlite3 *db, StreamTopicErrs *pErrs){
  memset(pErrs, 0, sizeof(*pErrs));
  pErrs->bTxn = !sqlite3_get_autocommit(db);
}

int sqlite3StreamTopicErr(sqlite3 *db, StreamTopicErrs *pErrs,
                          const char *zTopic, const char *zTask, int rc,
                          char **pzErr){
  switch( rc&0xff ){
    case SQLITE_OK: case SQLITE_NOMEM: case SQLITE_BUSY: case SQLITE_LOCKED:
    case SQLITE_INTERRUPT: case SQLITE_FULL: case SQLITE_READONLY:
    case SQLITE_MISUSE: case SQLITE_AUTH:
      return rc;
  }
  if( pErrs==0 || (pErrs->bTxn && sqlite3_get_autocommit(db)) ) return rc;
  if( pErrs->pJson==0 ) pErrs->pJson = sqlite3_str_new(0);
  sqlite3_str_appendall(pErrs->pJson, pErrs->n ? ",{\"topic\":"
                                                : "[{\"topic\":");
  if( zTopic ) sqlite3StreamJsonQuote(pErrs->pJson, zTopic, -1);
  else sqlite3_str_appendall(pErrs->pJson, "null");
  sqlite3_str_appendall(pErrs->pJson, ",\"task\":");
  sqlite3StreamJsonQuote(pErrs->pJson, zTask, -1);
  sqlite3_str_appendall(pErrs->pJson, ",\"error\":");
  sqlite3StreamJsonQuote(pErrs->pJson, *pzErr ? *pzErr : sqlite3_errstr(rc),
                         -1);
  sqlite3_str_appendchar(pErrs->pJson, 1, '}');
  pErrs->n++;
  sqlite3_free(*pzErr);
  *pzErr = 0;
  return sqlite3_str_errcode(pErrs->pJson)==SQLITE_NOMEM ? SQLITE_NOMEM
                                                         : SQLITE_OK;
}

i64 sqlite3StreamAddSat(i64 a, i64 b){
  const i64 mx = (i64)0x7fffffffffffffffLL, mn = -mx - 1;
  if( b>0 && a>mx-b ) return mx;
  if( b<0 && a<mn-b ) return mn;
  return a + b;
}

i64 sqlite3StreamSubSat(i64 a, i64 b){
  const i64 mx = (i64)0x7fffffffffffffffLL, mn = -mx - 1;
  if( b<0 && a>mx+b ) return mx;
  if( b>0 && a<mn+b ) return mn;
  return a - b;
}

i64 sqlite3StreamOffsetAfter(i64 iOffset){
  return sqlite3StreamAddSat(iOffset, 1);
}

/*
** sqlite3_is_interrupted() arrived in SQLite 3.41 (Debian 12 has 3.40), so
** the flag is read the portable way: while the calling statement runs,
** sqlite3_interrupt() makes every statement of the connection stop, a
** nested "SELECT 1" too (or its prepare, on first use).
*/
int sqlite3StreamNap(StreamCtx *p, i64 nUs){
  sqlite3_stmt *pStmt;
  struct timespec ts;
  int rc;
  ts.tv_sec = (time_t)(nUs/1000000);
  ts.tv_nsec = (long)((nUs%1000000)*1000);
  nanosleep(&ts, 0);
  pStmt = sqlite3StreamStmt(p, STREAM_STMT_INTERRUPT, 0);
  if( pStmt==0 ) return sqlite3StreamStmtErr(p)==SQLITE_INTERRUPT
                        ? SQLITE_INTERRUPT : SQLITE_OK;
  sqlite3_step(pStmt);
  rc = sqlite3_reset(pStmt);
  return (rc&0xff)==SQLITE_INTERRUPT ? SQLITE_INTERRUPT : SQLITE_OK;
}

int sqlite3StreamStmtErr(StreamCtx *p){
  int rc = p->rcStmt;
  p->rcStmt = 0;
  return rc ? rc : SQLITE_ERROR;
}

int sqlite3StreamNoStorage(sqlite3 *db){
  const char *zMsg = sqlite3_errmsg(db);
  return zMsg && strncmp(zMsg, "no such table: ", 15)==0
      && strstr(zMsg, "_stream_")!=0;
}

/*
** Cached statements must be finalized before sqlite3_close() checks for
** unfinalized statements; the only code it runs before that check is the
** xDisconnect of virtual tables.  So the cache lives only while the
** eponymous stream_topics table is connected (its xConnect/xDisconnect
** count p->nAnchor), and the first cached statement connects it.
*/
static int streamAnchor(StreamCtx *p, char **pzErr){
  if( p->nAnchor==0 ){
    sqlite3_stmt *pStmt = 0;
    int rc = sqlite3_prepare_v2(p->db, "SELECT 0 FROM stream_topics WHERE 0",
                                -1, &pStmt, 0);
    sqlite3_finalize(pStmt);
    if( rc ){
      p->rcStmt = sqlite3_extended_errcode(p->db);
      return sqlite3StreamDbErr(p->db, pzErr, rc);
    }
    if( p->nAnchor==0 ){
      p->rcStmt = SQLITE_ERROR;
      return sqlite3StreamErr(pzErr, SQLITE_INTERNAL,
                              "cannot connect stream_topics");
    }
  }
  return SQLITE_OK;
}

void sqlite3StreamStmtGiveBack(sqlite3_stmt **ppStmt, int *piSlot,
                               int *abUsed){
  if( *ppStmt ){
    if( *piSlot>=0 ){
      sqlite3_reset(*ppStmt);
      abUsed[*piSlot] = 0;
    }else{
      sqlite3_finalize(*ppStmt);
    }
  }
  *ppStmt = 0;
  *piSlot = -1;
}

int sqlite3StreamAnchor(StreamCtx *p, char **pzErr){
  return streamAnchor(p, pzErr);
}

/* Before a statement that may read _stream_log or _stream_timeindex runs,
** the transaction's pending record batches are written (ext/produce.c);
** if that fails, no statement is given (p->rcStmt says why). */
static int streamStmtFlush(StreamCtx *p, char **pzErr){
  int rc;
  if( p->pPending==0 || p->bFlushing ) return SQLITE_OK;
  rc = sqlite3StreamPendingFlush(p, pzErr);
  if( rc ) p->rcStmt = rc;
  return rc;
}

sqlite3_stmt *sqlite3StreamStmtCached(StreamCtx *p, sqlite3_stmt **ppSlot,
                                      const char *zSql, int bFlush,
                                      char **pzErr){
  if( bFlush && streamStmtFlush(p, pzErr) ) return 0;
  if( *ppSlot==0 ){
    int rc = streamAnchor(p, pzErr);
    if( rc==SQLITE_OK ) rc = sqlite3StreamFormatCheck(p, pzErr);
    if( rc ) return 0;
    /* The format check reads through STREAM_STMT_META_GET: it may have
    ** prepared this very statement. */
    if( *ppSlot ) return *ppSlot;
    rc = sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT,
                            ppSlot, 0);
    if( rc!=SQLITE_OK ){
      p->rcStmt = sqlite3_extended_errcode(p->db);
      sqlite3StreamDbErr(p->db, pzErr, rc);
      *ppSlot = 0;
    }
  }
  return *ppSlot;
}

sqlite3_stmt *sqlite3StreamStmt(StreamCtx *p, int iStmt, char **pzErr){
  return sqlite3StreamStmtCached(p, &p->aStmt[iStmt], aStmtSql[iStmt], 0,
                                 pzErr);
}

/* The cached statement for zSql, a string with static storage whose
** address is its key (the maintenance paths, which run per partition). */
sqlite3_stmt *sqlite3StreamStmtStatic(StreamCtx *p, const char *zSql,
                                      char **pzErr){
  int i, rc;
  StreamStaticStmt *aNew;
  if( streamStmtFlush(p, pzErr) ) return 0;
  for(i=0; i<p->nStatic; i++){
    if( p->aStatic[i].zSql==zSql ){
      /* Parameters a caller leaves unbound must read as NULL again, as
      ** in a freshly prepared statement. */
      sqlite3_clear_bindings(p->aStatic[i].pStmt);
      return p->aStatic[i].pStmt;
    }
  }
  rc = streamAnchor(p, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamFormatCheck(p, pzErr);
  if( rc ) return 0;
  for(i=0; i<p->nStatic; i++){          /* prepared by the format check */
    if( p->aStatic[i].zSql==zSql ) return p->aStatic[i].pStmt;
  }
  aNew = sqlite3_realloc64(p->aStatic, sizeof(*aNew)*(p->nStatic+1));
  if( aNew==0 ){
    p->rcStmt = SQLITE_NOMEM;
    sqlite3StreamErr(pzErr, SQLITE_NOMEM, "out of memory");
    return 0;
  }
  p->aStatic = aNew;
  rc = sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT,
                          &aNew[p->nStatic].pStmt, 0);
  if( rc!=SQLITE_OK ){
    p->rcStmt = sqlite3_extended_errcode(p->db);
    sqlite3StreamDbErr(p->db, pzErr, rc);
    return 0;
  }
  aNew[p->nStatic].zSql = zSql;
  return aNew[p->nStatic++].pStmt;
}

void sqlite3StreamStmtFinalizeAll(StreamCtx *p){
  int i;
  for(i=0; i<STREAM_STMT_COUNT; i++){
    sqlite3_finalize(p->aStmt[i]);
    p->aStmt[i] = 0;
  }
  for(i=0; i<STREAM_HOT_COUNT; i++){
    sqlite3_finalize(p->aHot[i]);
    p->aHot[i] = 0;
  }
  sqlite3StreamSavepointFinalize(p);
  for(i=0; i<p->nStatic; i++) sqlite3_finalize(p->aStatic[i].pStmt);
  sqlite3_free(p->aStatic);
  p->aStatic = 0;
  p->nStatic = 0;
}

/* Format 2 -> 3 refuses rows it cannot key: an offset outside
** 0..STREAM_MAX_LOG_OFFSET, a message of no partition row. */
static int streamUpgrade2Check(StreamCtx *p, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  i64 nBad = 0;
  int rc = sqlite3_prepare_v2(p->db,
      "SELECT count(*) FROM _stream_messages m WHERE m.offset NOT BETWEEN 0"
      " AND " STREAM_LOG_M " OR NOT EXISTS(SELECT 1 FROM _stream_partitions"
      " p WHERE p.topic=m.topic AND p.partition=m.partition)", -1, &pStmt, 0);
  if( rc==SQLITE_OK ){
    if( sqlite3_step(pStmt)==SQLITE_ROW ) nBad = sqlite3_column_int64(pStmt, 0);
    rc = sqlite3_finalize(pStmt);
  }
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  if( nBad ){
    return sqlite3StreamErr(pzErr, SQLITE_CORRUPT,
        "cannot upgrade storage format 2 to 3: %lld rows of _stream_messages"
        " have an offset outside 0..%lld or no row in _stream_partitions",
        nBad, STREAM_MAX_LOG_OFFSET);
  }
  return SQLITE_OK;
}

/* Upgrade from format iFrom (1 to 4) to STREAM_FORMAT, all or
** nothing, inside the caller's transaction. */
static int streamUpgrade(StreamCtx *p, int iFrom, char **pzErr){
  int rc = sqlite3_exec(p->db, "SAVEPOINT stream_upgrade", 0, 0, 0);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  rc = sqlite3_exec(p->db, zStreamSchemaSql, 0, 0, 0);
  if( rc==SQLITE_OK && iFrom==1 ){
    rc = sqlite3_exec(p->db, zStreamUpgrade1, 0, 0, 0);
  }
  if( rc==SQLITE_OK && iFrom<3 ){
    rc = streamUpgrade2Check(p, pzErr);
    if( rc==SQLITE_OK ){
      rc = sqlite3_exec(p->db, zStreamUpgrade2, 0, 0, 0);
      if( rc==SQLITE_OK ) rc = sqlite3_exec(p->db, zStreamSchemaSql, 0, 0, 0);
      if( rc==SQLITE_OK ) rc = sqlite3_exec(p->db, zStreamUpgrade2Tix, 0,0,0);
      if( rc ) sqlite3StreamDbErr(p->db, pzErr, rc);
    }
  }else if( rc ){
    sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  if( rc==SQLITE_OK && iFrom<4 ){
    rc = sqlite3_exec(p->db, zStreamUpgrade3, 0, 0, 0);
    if( rc==SQLITE_OK ) rc = sqlite3_exec(p->db, zStreamSchemaSql, 0, 0, 0);
    if( rc ) sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  if( rc==SQLITE_OK ){
    rc = streamUpgrade4(p);
    if( rc ) sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  if( rc ){
    const char *zWhy = (pzErr && *pzErr) ? *pzErr + sizeof(STREAM_ERR) - 1
                                         : sqlite3_errstr(rc);
    char *zMsg = sqlite3_mprintf(STREAM_ERR "upgrade of storage format %d to"
                                 " %d failed: %s", iFrom, STREAM_FORMAT, zWhy);
    sqlite3_exec(p->db, "ROLLBACK TO stream_upgrade", 0, 0, 0);
    if( pzErr ){
      sqlite3_free(*pzErr);
      *pzErr = zMsg;
    }else{
      sqlite3_free(zMsg);
    }
  }
  sqlite3_exec(p->db, "RELEASE stream_upgrade", 0, 0, 0);
  sqlite3StreamCacheClear(p);
  return rc;
}

/* The stored format: 0 if the database has no storage. */
static int streamFormatGet(StreamCtx *p, char **pzFormat){
  int rc;
  p->bFormatBusy++;
  *pzFormat = sqlite3StreamMetaGet(p, "format", &rc);
  p->bFormatBusy--;
  return rc;
}

int sqlite3StreamEnsureSchema(StreamCtx *p, char **pzErr){
  int rc, iFormat = 0;
  char *zFormat = 0;
  rc = streamFormatGet(p, &zFormat);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  if( zFormat && zFormat[0]>='1' && zFormat[0]<'0'+STREAM_FORMAT
   && zFormat[1]==0 ){
    iFormat = zFormat[0] - '0';
  }
  if( iFormat ){
    rc = streamUpgrade(p, iFormat, pzErr);
  }else{
    rc = sqlite3_exec(p->db, zStreamSchemaSql, 0, 0, 0);
    if( rc!=SQLITE_OK ){
      sqlite3_free(zFormat);
      return sqlite3StreamDbErr(p->db, pzErr, rc);
    }
    if( zFormat==0 ) rc = streamFormatGet(p, &zFormat);
    if( rc==SQLITE_OK && (zFormat==0 || atoi(zFormat)!=STREAM_FORMAT) ){
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
          "storage format %s is not supported by this version (format %d)",
          zFormat ? zFormat : "(missing)", STREAM_FORMAT);
    }else if( rc!=SQLITE_OK ){
      sqlite3StreamDbErr(p->db, pzErr, rc);
    }
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_exec(p->db, zStreamSchemaPost, 0, 0, 0);
    if( rc ) sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  if( rc==SQLITE_OK ) p->bFormatOk = 1;
  sqlite3_free(zFormat);
  return rc;
}

void sqlite3StreamUpgradeAtLoad(StreamCtx *p){
  sqlite3_stmt *pStmt = 0;
  int iFormat = 0;
  char *zErr = 0;
  if( sqlite3_prepare_v2(p->db, "SELECT value FROM main._stream_meta"
                         " WHERE key='format'", -1, &pStmt, 0)==SQLITE_OK ){
    if( sqlite3_step(pStmt)==SQLITE_ROW ) iFormat = sqlite3_column_int(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  if( iFormat>0 && iFormat<STREAM_FORMAT ){
    sqlite3StreamEnsureSchema(p, &zErr);
    sqlite3_free(zErr);
  }
}

/*
** The first statement a connection prepares checks the storage format
** (and the scans, ext/scan.c): a database of an earlier format is
** upgraded then (on its first use, if loading could not), in the caller's
** transaction; one of a later format is refused.  A database without
** storage is checked again at the next statement.
*/
int sqlite3StreamFormatCheck(StreamCtx *p, char **pzErr){
  char *zFormat;
  int rc;
  if( p->bFormatOk || p->bFormatBusy ) return SQLITE_OK;
  rc = streamFormatGet(p, &zFormat);
  if( rc ){
    rc = sqlite3StreamDbErr(p->db, pzErr, rc);
  }else if( zFormat ){
    if( atoi(zFormat)==STREAM_FORMAT ){
      p->bFormatOk = 1;
    }else{
      p->bFormatBusy++;
      rc = sqlite3StreamEnsureSchema(p, pzErr);
      p->bFormatBusy--;
    }
  }
  sqlite3_free(zFormat);
  if( rc ) p->rcStmt = rc;
  return rc;
}

char *sqlite3StreamMetaGet(StreamCtx *p, const char *zKey, int *pRc){
  sqlite3_stmt *pStmt;
  char *zRet = 0;
  int rc;
  *pRc = SQLITE_OK;
  pStmt = sqlite3StreamStmt(p, STREAM_STMT_META_GET, 0);
  if( pStmt==0 ){
    if( !sqlite3StreamNoStorage(p->db) ) *pRc = sqlite3StreamStmtErr(p);
    return 0;
  }
  sqlite3_bind_text(pStmt, 1, zKey, -1, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    const char *z = (const char*)sqlite3_column_text(pStmt, 0);
    if( z ){
      zRet = sqlite3_mprintf("%s", z);
      if( zRet==0 ) *pRc = SQLITE_NOMEM;
    }
  }else if( rc!=SQLITE_DONE ){
    *pRc = rc;
  }
  sqlite3_reset(pStmt);
  if( *pRc==SQLITE_ERROR && sqlite3StreamNoStorage(p->db) ) *pRc = SQLITE_OK;
  return zRet;
}

i64 sqlite3StreamNow(StreamCtx *p){
  sqlite3_vfs *pVfs = p->pVfs;
  sqlite3_int64 iJd = 0;
  if( pVfs==0 ) pVfs = p->pVfs = sqlite3_vfs_find(0);
  if( pVfs && pVfs->iVersion>=2 && pVfs->xCurrentTimeInt64 ){
    pVfs->xCurrentTimeInt64(pVfs, &iJd);
  }else if( pVfs ){
    double r = 0.0;
    pVfs->xCurrentTime(pVfs, &r);
    iJd = (sqlite3_int64)(r*86400000.0);
  }
  /* Julian day number of 1970-01-01 00:00 UTC, in ms. */
  return iJd - (sqlite3_int64)210866760000000LL + p->iClockOffset;
}
