/*
** main.c - the entry point.  sqlite3_stream_init() allocates the
** per-connection StreamCtx and registers every function and virtual table
** from one table, stopping at the first failure.
**
** The same file links statically: compile with -DSQLITE_CORE and call
** sqlite3_stream_init(db, 0, 0) (the amalgamation does exactly that).
**
** At load it refuses a SQLite that is too old (3.38.0) or has no JSON
** functions (streamCheckJson()), with a message in *pzErrMsg.
*/
#include "streamInt.h"
#include <string.h>

#ifndef SQLITE_CORE
SQLITE_EXTENSION_INIT1
#endif

/* Oldest SQLite this extension runs on (JSON ->, ->>, LIMIT push-down). */
#define STREAM_MIN_SQLITE 3038000

static void streamCtxFree(void *pArg){
  StreamCtx *p = (StreamCtx*)pArg;
  if( p==0 ) return;
  sqlite3StreamCheckpointerStop(p, 1);   /* its thread first */
  sqlite3StreamScannerFree(p->pScanner);
  sqlite3StreamStmtFinalizeAll(p);
  sqlite3StreamStickyFree(p);
  sqlite3StreamPendingDrop(p);
  sqlite3StreamCacheClear(p);
  sqlite3StreamGroupFree(p);
  sqlite3StreamWakeClose(p);
  sqlite3StreamStoreCacheFree(p);
  if( p->xCdcDestroy ) p->xCdcDestroy(p->pCdcArg);
  sqlite3_free(p->zCdcEvent);
  sqlite3_free(p);
}

/* The StreamCtx of db, or NULL if the extension is not loaded on it. */
static StreamCtx *streamCtxOf(sqlite3 *db){
  StreamCtx *p = 0;
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, "SELECT stream_ctx_ptr(?1)", -1, &pStmt, 0);
  if( rc==SQLITE_OK ){
    sqlite3_bind_pointer(pStmt, 1, &p, "stream_ctx_ptr", 0);
    sqlite3_step(pStmt);
    rc = sqlite3_finalize(pStmt);
  }
  return rc==SQLITE_OK ? p : 0;
}

StreamCtx *sqlite3StreamCtxLoad(sqlite3 *db){
  /* SQLITE_OK_LOAD_PERMANENTLY is success too */
#ifndef SQLITE_CORE
  if( (sqlite3_stream_init(db, 0, sqlite3_api) & 0xff)!=SQLITE_OK ) return 0;
#else
  if( (sqlite3_stream_init(db, 0, 0) & 0xff)!=SQLITE_OK ) return 0;
#endif
  return streamCtxOf(db);
}

/* sqlite3_stream_api.xCdcHook */
static int streamCdcHook(sqlite3 *db, void (*xEvent)(void*, const char*, int),
                         void *pArg, void (*xDestroy)(void*)){
  StreamCtx *p = streamCtxOf(db);
  if( p==0 ) return SQLITE_MISUSE;
  if( p->xCdcDestroy ) p->xCdcDestroy(p->pCdcArg);
  p->xCdc = xEvent;
  p->pCdcArg = pArg;
  p->xCdcDestroy = xDestroy;
  return SQLITE_OK;
}

/* sqlite3_stream_api.xRebalanceHook */
static int streamRebalanceHook(sqlite3 *db,
                               void (*xEvent)(void*, const char*, int),
                               void *pArg, void (*xDestroy)(void*)){
  StreamCtx *p = streamCtxOf(db);
  if( p==0 ) return SQLITE_MISUSE;
  if( p->xRebalanceDestroy ) p->xRebalanceDestroy(p->pRebalanceArg);
  p->xRebalance = xEvent;
  p->pRebalanceArg = pArg;
  p->xRebalanceDestroy = xDestroy;
  return SQLITE_OK;
}

static const sqlite3_stream_api streamApi = {
  1,                    /* iVersion */
  streamCdcHook,        /* xCdcHook */
  streamRebalanceHook,  /* xRebalanceHook */
};

/*
** stream_api_ptr(?1) and stream_ctx_ptr(?1): bind a pointer with
** sqlite3_bind_pointer() and these functions store the API (or the
** connection's StreamCtx) through it, the way fts5(?1) hands out fts5_api.
** Pointers cannot be forged from SQL, so these are safe to expose.
*/
static void streamApiPtrFunc(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv){
  const sqlite3_stream_api **pp;
  STREAM_UNUSED(ctx); STREAM_UNUSED(argc);
  pp = (const sqlite3_stream_api**)sqlite3_value_pointer(argv[0],
                                                         "stream_api_ptr");
  if( pp ) *pp = &streamApi;
}

static void streamCtxPtrFunc(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv){
  StreamCtx **pp;
  STREAM_UNUSED(argc);
  pp = (StreamCtx**)sqlite3_value_pointer(argv[0], "stream_ctx_ptr");
  if( pp ) *pp = (StreamCtx*)sqlite3_user_data(ctx);
}

/*
** The extension's own SQL uses the JSON functions and json_each throughout.
** SQLite has them built in since 3.38.0, unless it was compiled with
** SQLITE_OMIT_JSON (or the connection's json_each module was dropped with
** sqlite3_drop_modules()): the extension would load, and its first join
** fail with "no such table: json_each".  Refuse at load instead.
**
** The probe touches no table: preparing a statement that names json_each
** would read the schema and create json_each's eponymous table, which
** SQLite 3.40 leaves dangling when the application then replaces "main"
** with sqlite3_deserialize() (a use-after-free at the next json_each).  So
** json_valid() is looked up by a statement that reads no table, and
** json_each in PRAGMA module_list (compiled out, with
** SQLITE_OMIT_INTROSPECTION_PRAGMAS, it is a no-op of no columns, and only
** the function is checked).  SQLite 3.40 lists json_each there; later
** versions that register it at first use (better-sqlite3 12 bundles one)
** do not, and only for them is json_each named in a statement.
*/
static int streamCheckJson(sqlite3 *db, char **pzErrMsg){
  sqlite3_stmt *pStmt = 0;
  const char *zMissing = 0;
  int rc = sqlite3_prepare_v2(db, "SELECT json_valid('{}')", -1, &pStmt, 0);
  sqlite3_finalize(pStmt);
  pStmt = 0;
  if( rc==SQLITE_ERROR ){
    zMissing = "no such function: json_valid";
  }else if( sqlite3_prepare_v2(db, "PRAGMA module_list", -1, &pStmt, 0)
            ==SQLITE_OK ){
    int bFound = 0;
    while( !bFound && sqlite3_step(pStmt)==SQLITE_ROW ){
      const char *zName = (const char*)sqlite3_column_text(pStmt, 0);
      bFound = zName && strcmp(zName, "json_each")==0;
    }
    /* An unknown PRAGMA is a statement of no columns.  Newer SQLite
    ** registers json_each at its first use, so module_list does not list
    ** it yet: only there is a statement that names it prepared. */
    if( !bFound && sqlite3_column_count(pStmt)==1 ){
      sqlite3_stmt *pEach = 0;
      if( sqlite3_prepare_v2(db, "SELECT 1 FROM json_each('[]')", -1,
                             &pEach, 0)!=SQLITE_OK ){
        zMissing = "no such table: json_each";
      }
      sqlite3_finalize(pEach);
    }
  }
  sqlite3_finalize(pStmt);
  if( zMissing==0 ) return SQLITE_OK;
  if( pzErrMsg ){
    *pzErrMsg = sqlite3_mprintf(STREAM_ERR "JSON support is missing "
        "(%s): sqlite-stream needs SQLite's JSON functions and json_each "
        "(built in unless SQLite is compiled with SQLITE_OMIT_JSON)",
        zMissing);
  }
  return SQLITE_ERROR;
}

/*
** Every SQL function but stream_version() (registered first, below: it
** owns the StreamCtx), each under every argument count from nArgMin to
** nArgMax (-1: any).  Each reports errors by the one policy
** (sqlite3StreamResultErr()) and runs a call that writes as one
** transaction by the one trampoline (sqlite3StreamCallTxn(), ext/func.c).
**
** Security: every function that writes, or reads settings, or touches
** files, or depends on this connection's group membership is
** SQLITE_DIRECTONLY.  A database file can carry triggers and
** views; were these functions callable from them, opening a hostile
** database and running an innocent-looking query could produce messages,
** move committed offsets, delete topics or write files behind the
** application's back.  TEMP triggers and views (which the application
** creates on its own connection) may still call them: that is how the
** transactional outbox works.  Only the pure functions (murmur2,
** partition) are SQLITE_INNOCUOUS|SQLITE_DETERMINISTIC; stream_debug() is
** innocuous (it reads nothing of the database).  stream_poll() as a
** scalar only says how to call the table; it is SQLITE_DIRECTONLY like
** the table, so that a schema gets the same "unsafe use" answer for both.
*/
#define STREAM_FN_WRITE  SQLITE_DIRECTONLY
#define STREAM_FN_PURE   (SQLITE_INNOCUOUS|SQLITE_DETERMINISTIC)
typedef void (*StreamSqlFunc)(sqlite3_context*, int, sqlite3_value**);
static const struct {
  const char *zName;           /* SQL name */
  signed char nArgMin;         /* Fewest arguments (-1: any number) */
  signed char nArgMax;         /* Most arguments */
  int flags;                   /* STREAM_FN_* or SQLITE_INNOCUOUS */
  StreamSqlFunc xFunc;         /* Implementation */
} aFunc[] = {
  /* ext/func.c */
  { "stream_debug",           0, 0, SQLITE_INNOCUOUS, sqlite3StreamDebugFunc },
  { "stream_murmur2",         1, 1, STREAM_FN_PURE,  sqlite3StreamMurmur2Func },
  { "stream_partition",       2, 2, STREAM_FN_PURE, sqlite3StreamPartitionFunc},
  { "stream_log_batching",    0, 1, SQLITE_DIRECTONLY,
                                            sqlite3StreamLogBatchingFunc },
  { "stream_checkpointer",    0, 1, SQLITE_DIRECTONLY,
                                            sqlite3StreamCheckpointerFunc },
  { "stream_create_topic",    2, 3, STREAM_FN_WRITE,
                                            sqlite3StreamCreateTopicFunc },
  { "stream_alter_topic",     2, 2, STREAM_FN_WRITE,
                                            sqlite3StreamAlterTopicFunc },
  { "stream_add_partitions",  2, 2, STREAM_FN_WRITE,
                                            sqlite3StreamAddPartitionsFunc },
  { "stream_delete_topic",    1, 1, STREAM_FN_WRITE,
                                            sqlite3StreamDeleteTopicFunc },
  { "stream_produce",         3, 5, STREAM_FN_WRITE, sqlite3StreamProduceFunc },
  { "stream_produce_batch",   2, 2, STREAM_FN_WRITE,
                                            sqlite3StreamProduceBatchFunc },
  { "stream_commit",          4, 6, STREAM_FN_WRITE, sqlite3StreamCommitFunc },
  { "stream_config",          1, 2, STREAM_FN_WRITE, sqlite3StreamConfigFunc },
  /* ext/func_group.c */
  { "stream_join",            3, 4, STREAM_FN_WRITE, sqlite3StreamJoinFunc },
  { "stream_heartbeat",       2, 2, STREAM_FN_WRITE,
                                            sqlite3StreamHeartbeatFunc },
  { "stream_leave",           2, 2, STREAM_FN_WRITE, sqlite3StreamLeaveFunc },
  { "stream_assignment",      2, 2, STREAM_FN_WRITE,
                                            sqlite3StreamAssignmentFunc },
  { "stream_commit_sync",     2, 2, STREAM_FN_WRITE,
                                            sqlite3StreamCommitSyncFunc },
  { "stream_seek",            4, 4, STREAM_FN_WRITE, sqlite3StreamSeekFunc },
  { "stream_offset_for_time", 3, 3, STREAM_FN_WRITE,
                                            sqlite3StreamOffsetForTimeFunc },
  { "stream_dead_letter",     6, 6, STREAM_FN_WRITE,
                                            sqlite3StreamDeadLetterFunc },
  { "stream_wait",            2, 3, STREAM_FN_WRITE, sqlite3StreamWaitFunc },
  { "stream_position",        4, 4, STREAM_FN_WRITE,
                                            sqlite3StreamPositionFunc },
  { "stream_pause",           4, 4, STREAM_FN_WRITE, sqlite3StreamPauseFunc },
  { "stream_resume",          4, 4, STREAM_FN_WRITE, sqlite3StreamResumeFunc },
  /* vtab/poll.c */
  { "stream_poll",           -1,-1, STREAM_FN_WRITE,
                                            sqlite3StreamPollScalarFunc },
  /* ext/maintain.c */
  { "stream_maintain",        0, 1, STREAM_FN_WRITE,
                                            sqlite3StreamMaintainFunc },
  { "stream_compact",         1, 2, STREAM_FN_WRITE, sqlite3StreamCompactFunc },
  { "stream_compaction",      0, 1, STREAM_FN_WRITE,
                                            sqlite3StreamCompactionFunc },
  { "stream_vfs_default",     1, 1, STREAM_FN_WRITE,
                                            sqlite3StreamVfsDefaultFunc },
  /* ext/func_tier.c */
  { "stream_tier",            0, 1, STREAM_FN_WRITE, sqlite3StreamTierFunc },
  /* ext/cold.c */
  { "stream_archive",         0, 1, STREAM_FN_WRITE, sqlite3StreamArchiveFunc },
  /* ext/pipeline.c */
  { "stream_pipeline_ship",   0, 1, STREAM_FN_WRITE,
                                            sqlite3StreamPipelineShipFunc },
  /* ext/backup.c */
  { "stream_backup",          1, 1, STREAM_FN_WRITE, sqlite3StreamBackupFunc },
};

/* Register aFunc[], stopping at the first failure. */
static int streamRegisterFunctions(sqlite3 *db, StreamCtx *p){
  int rc = SQLITE_OK;
  size_t i;
  for(i=0; rc==SQLITE_OK && i<sizeof(aFunc)/sizeof(aFunc[0]); i++){
    int nArg;
    for(nArg=aFunc[i].nArgMin; rc==SQLITE_OK && nArg<=aFunc[i].nArgMax;
        nArg++){
      rc = sqlite3_create_function(db, aFunc[i].zName, nArg,
                                   SQLITE_UTF8 | aFunc[i].flags, p,
                                   aFunc[i].xFunc, 0, 0);
    }
  }
  return rc;
}

/* After each append: amortised retention and compaction, then tiering,
** then the CDC callback.  Before it (the message checked, not yet
** written): the CDC event into the CDC topic. */
static const StreamAfterAppend aAfterAppend[] = {
  sqlite3StreamMaintainAfterAppend,
  sqlite3StreamTierAfterAppend,
  sqlite3StreamCdcAfterAppend,
};

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_stream_init(sqlite3 *db, char **pzErrMsg,
                        const sqlite3_api_routines *pApi){
  static int (*const aReg[])(sqlite3*, StreamCtx*) = {
    sqlite3StreamRegisterTopics,
    sqlite3StreamRegisterPartitions,
    sqlite3StreamRegisterRecords,
    sqlite3StreamRegisterMessages,
    sqlite3StreamRegisterOffsets,
    sqlite3StreamRegisterTxn,
    sqlite3StreamRegisterMaintain,
    sqlite3StreamRegisterPoll,
    sqlite3StreamRegisterGroups,
    sqlite3StreamRegisterLag,
    sqlite3StreamRegisterSegments,
    sqlite3StreamRegisterCold,          /* stream_history (ext/cold.c) */
  };
  StreamCtx *p;
  int rc;
  size_t i;
#ifndef SQLITE_CORE
  SQLITE_EXTENSION_INIT2(pApi);
#else
  STREAM_UNUSED(pApi);
#endif
  /* Loaded already on this connection (a second .load, or an automatic
  ** extension plus a load): keep the running instance. */
  if( streamCtxOf(db) ) return SQLITE_OK;
  if( sqlite3_libversion_number()<STREAM_MIN_SQLITE ){
    if( pzErrMsg ){
      *pzErrMsg = sqlite3_mprintf(STREAM_ERR "SQLite %s is too old: 3.38.0 "
                                  "or later is required", sqlite3_libversion());
    }
    return SQLITE_ERROR;
  }
  if( streamCheckJson(db, pzErrMsg) ) return SQLITE_ERROR;
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->bBatchOn = STREAM_BATCH_DEFAULT;
  p->db = db;
  /* stream_version() owns the context: its destructor frees it when the
  ** connection closes or the extension is loaded again. */
  rc = sqlite3_create_function_v2(db, "stream_version", 0,
      SQLITE_UTF8|SQLITE_INNOCUOUS|SQLITE_DETERMINISTIC, p,
      sqlite3StreamVersionFunc, 0, 0, streamCtxFree);
  if( rc ) return rc;   /* the destructor has freed p */
  rc = sqlite3_create_function(db, "stream_api_ptr", 1,
      SQLITE_UTF8|SQLITE_DIRECTONLY, p, streamApiPtrFunc, 0, 0);
  if( rc==SQLITE_OK ){
    rc = sqlite3_create_function(db, "stream_ctx_ptr", 1,
        SQLITE_UTF8|SQLITE_DIRECTONLY, p, streamCtxPtrFunc, 0, 0);
  }
  /* The append path's hooks, in this order. */
  rc = sqlite3StreamAfterAppendAdd(p, sqlite3StreamCdcBeforeAppend, 1);
  for(i=0; rc==SQLITE_OK && i<sizeof(aAfterAppend)/sizeof(aAfterAppend[0]);
      i++){
    rc = sqlite3StreamAfterAppendAdd(p, aAfterAppend[i], 0);
  }
  if( rc==SQLITE_OK ) rc = streamRegisterFunctions(db, p);
  for(i=0; rc==SQLITE_OK && i<sizeof(aReg)/sizeof(aReg[0]); i++){
    rc = aReg[i](db, p);
  }
  if( rc && pzErrMsg ){
    *pzErrMsg = sqlite3_mprintf(STREAM_ERR "registration failed: %s",
                                sqlite3_errstr(rc));
  }
  /* A database of an earlier storage format is upgraded now if it can be
  ** (no statement reads yet); if not, its first use tries again and
  ** reports why (ext/schema.c). */
  if( rc==SQLITE_OK ) sqlite3StreamUpgradeAtLoad(p);
#ifndef SQLITE_CORE
  /* The "stream" VFS (ext/vfs.c) lives in this library: keep it loaded. */
  if( rc==SQLITE_OK ) rc = SQLITE_OK_LOAD_PERMANENTLY;
#endif
  return rc;
}
