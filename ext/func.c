/*
** func.c - the scalar SQL functions: argument checking, then engine calls.
**
**   stream_version()                                   -> '0.1.0'
**   stream_debug()                                     -> build details
**   stream_murmur2(key)                                -> signed 32-bit hash
**   stream_partition(key, partitions)                  -> partition
**   stream_create_topic(name, partitions [, config])   -> partitions
**   stream_alter_topic(name, config)                   -> full config JSON
**   stream_add_partitions(name, total)                 -> total
**   stream_delete_topic(name)                          -> 1
**   stream_produce(topic, key, value [, headers [, partition]]) -> offset
**   stream_produce_batch(topic, json_array)            -> count produced
**   stream_commit(group, topic, partition, offset [, metadata]) -> offset
**   stream_config(name [, value])                      -> value
**
** They are registered from one table, with their security flags and the
** reasons for them, in ext/main.c (aFunc[]).
*/
#include "streamInt.h"
#include <string.h>

/* Report an engine error: the message (or the code's text) and the code.*/
void sqlite3StreamResultErr(sqlite3_context *ctx, int rc, char *zErr){
  if( rc==SQLITE_NOMEM ){
    sqlite3_result_error_nomem(ctx);
  }else{
    sqlite3_result_error(ctx, zErr ? zErr : sqlite3_errstr(rc), -1);
    /* Keep SQLITE_ERROR for ordinary failures so that messages reach the
    ** caller unchanged; pass I/O, busy and interrupt codes through. */
    rc = sqlite3StreamErrCode(rc);
    if( rc!=SQLITE_ERROR ) sqlite3_result_error_code(ctx, rc);
  }
  sqlite3_free(zErr);
}

static const char *streamTypeName(int eType){
  switch( eType ){
    case SQLITE_NULL:    return "NULL";
    case SQLITE_INTEGER: return "an integer";
    case SQLITE_FLOAT:   return "a real";
    case SQLITE_BLOB:    return "a blob";
    default:             return "text";
  }
}

/* Text argument iArg, or NULL after reporting an error naming zWhat. */
const char *sqlite3StreamArgText(sqlite3_context *ctx, sqlite3_value **argv,
                                int iArg, const char *zWhat){
  const char *z;
  if( sqlite3_value_type(argv[iArg])!=SQLITE_TEXT ){
    char *zErr = sqlite3_mprintf(STREAM_ERR "%s must be text, not %s",
        zWhat, streamTypeName(sqlite3_value_type(argv[iArg])));
    sqlite3StreamResultErr(ctx, zErr ? SQLITE_MISMATCH : SQLITE_NOMEM, zErr);
    return 0;
  }
  z = (const char*)sqlite3_value_text(argv[iArg]);
  if( z==0 ){
    sqlite3_result_error_nomem(ctx);
  }else if( (int)strlen(z)!=sqlite3_value_bytes(argv[iArg]) ){
    /* Names and JSON are used as C strings: "a\0b" would silently be "a". */
    char *zErr = sqlite3_mprintf(STREAM_ERR "%s must not contain NUL bytes",
                                 zWhat);
    sqlite3StreamResultErr(ctx, zErr ? SQLITE_MISMATCH : SQLITE_NOMEM, zErr);
    z = 0;
  }else if( !sqlite3StreamUtf8Check(z, strlen(z)) ){
    char *zErr = sqlite3_mprintf(STREAM_ERR "%s is not valid UTF-8", zWhat);
    sqlite3StreamResultErr(ctx, zErr ? SQLITE_MISMATCH : SQLITE_NOMEM, zErr);
    z = 0;
  }
  return z;
}

/* Integer argument iArg into *pi (sqlite3StreamValueInt's rule); 0 after
** reporting an error. */
int sqlite3StreamArgInt(sqlite3_context *ctx, sqlite3_value **argv,
                       int iArg, const char *zWhat, i64 *pi){
  if( sqlite3StreamValueInt(argv[iArg], pi) ) return 1;
  {
    char *zErr = sqlite3_mprintf(STREAM_ERR "%s must be an integer, not %s",
        zWhat, streamTypeName(sqlite3_value_type(argv[iArg])));
    sqlite3StreamResultErr(ctx, zErr ? SQLITE_MISMATCH : SQLITE_NOMEM, zErr);
  }
  return 0;
}

/* JSON text argument (NULL allowed when bNull), or an error. Sets *pbOk. */
static const char *streamArgJson(sqlite3_context *ctx, sqlite3_value **argv,
                                 int iArg, const char *zWhat, int bNull,
                                 int *pbOk){
  *pbOk = 0;
  if( bNull && sqlite3_value_type(argv[iArg])==SQLITE_NULL ){
    *pbOk = 1;
    return 0;
  }
  {
    const char *z = sqlite3StreamArgText(ctx, argv, iArg, zWhat);
    *pbOk = z!=0;
    return z;
  }
}

static void streamVersionFunc(sqlite3_context *ctx, int argc,
                              sqlite3_value **argv){
  STREAM_UNUSED(argc); STREAM_UNUSED(argv);
  sqlite3_result_text(ctx, SQLITE_STREAM_VERSION, -1, SQLITE_STATIC);
}

void sqlite3StreamDebugFunc(sqlite3_context *ctx, int argc,
                            sqlite3_value **argv){
  char *z;
  STREAM_UNUSED(argc); STREAM_UNUSED(argv);
  z = sqlite3_mprintf(
      "version: %s\n"
      "sqlite (built): %s\n"
      "sqlite (running): %s\n"
      "build: %s%s\n"
      "compiler: %s\n"
      "storage format: %d",
      SQLITE_STREAM_VERSION, SQLITE_VERSION, sqlite3_libversion(),
#ifdef SQLITE_CORE
      "static",
#else
      "loadable",
#endif
#if defined(__SANITIZE_ADDRESS__)
      " asan",
#else
      "",
#endif
#ifdef __VERSION__
      __VERSION__,
#else
      "unknown",
#endif
      STREAM_FORMAT
  );
  if( z==0 ){ sqlite3_result_error_nomem(ctx); return; }
  sqlite3_result_text(ctx, z, -1, sqlite3_free);
}

/* Key bytes of a TEXT or BLOB argument; 0 (after an error) otherwise. */
static int streamArgKey(sqlite3_context *ctx, sqlite3_value *pVal,
                        const void **pp, int *pn){
  int eType = sqlite3_value_type(pVal);
  if( eType==SQLITE_TEXT ){
    *pp = sqlite3_value_text(pVal);
  }else if( eType==SQLITE_BLOB ){
    *pp = sqlite3_value_blob(pVal);
    if( *pp==0 ) *pp = "";
  }else{
    char *zErr = sqlite3_mprintf(STREAM_ERR "key must be TEXT or BLOB, not %s",
                                 streamTypeName(eType));
    sqlite3StreamResultErr(ctx, zErr ? SQLITE_MISMATCH : SQLITE_NOMEM, zErr);
    return 0;
  }
  if( *pp==0 ){ sqlite3_result_error_nomem(ctx); return 0; }
  *pn = sqlite3_value_bytes(pVal);
  return 1;
}

void sqlite3StreamMurmur2Func(sqlite3_context *ctx, int argc,
                              sqlite3_value **argv){
  const void *p; int n;
  STREAM_UNUSED(argc);
  if( sqlite3_value_type(argv[0])==SQLITE_NULL ) return;   /* NULL */
  if( !streamArgKey(ctx, argv[0], &p, &n) ) return;
  sqlite3_result_int(ctx, sqlite3StreamMurmur2(p, n));
}

void sqlite3StreamPartitionFunc(sqlite3_context *ctx, int argc,
                                sqlite3_value **argv){
  const void *p; int n; i64 nPart;
  STREAM_UNUSED(argc);
  if( !sqlite3StreamArgInt(ctx, argv, 1, "partitions", &nPart) ) return;
  if( nPart<1 || nPart>STREAM_MAX_PARTITIONS ){
    char *zErr = sqlite3_mprintf(
        STREAM_ERR "partitions must be between 1 and %d, got %lld",
        STREAM_MAX_PARTITIONS, nPart);
    sqlite3StreamResultErr(ctx, SQLITE_RANGE, zErr);
    return;
  }
  /* A NULL key has no fixed partition (sticky partitioning): NULL. */
  if( sqlite3_value_type(argv[0])==SQLITE_NULL ) return;
  if( !streamArgKey(ctx, argv[0], &p, &n) ) return;
  sqlite3_result_int(ctx, sqlite3StreamPartitionForKey(p, n, (int)nPart));
}

/* stream_log_batching([on]): this connection's record batching
** (ext/produce.c), off unless turned on; returns the setting before the
** call, and with an argument sets it (0 off, other integers on). */
void sqlite3StreamLogBatchingFunc(sqlite3_context *ctx, int argc,
                                  sqlite3_value **argv){
  StreamCtx *p = (StreamCtx*)sqlite3_user_data(ctx);
  i64 v;
  sqlite3_result_int(ctx, p->bBatchOn);
  if( argc==0 ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 0, "on", &v) ) return;
  p->bBatchOn = v!=0;
}

/* stream_checkpointer([on]): this connection's checkpointer
** (ext/checkpoint.c), off unless turned on; with an argument turns it on
** (non-zero integers) or off (0); returns its state after the call as a
** JSON object. */
void sqlite3StreamCheckpointerFunc(sqlite3_context *ctx, int argc,
                                   sqlite3_value **argv){
  StreamCtx *p = (StreamCtx*)sqlite3_user_data(ctx);
  char *z;
  if( argc==1 ){
    i64 v;
    if( !sqlite3StreamArgInt(ctx, argv, 0, "on", &v) ) return;
    if( v ){
      char *zErr = 0;
      int rc = sqlite3StreamCheckpointerStart(p, &zErr);
      if( rc ){
        sqlite3StreamResultErr(ctx, rc, zErr);
        return;
      }
    }else{
      sqlite3StreamCheckpointerStop(p, 0);
    }
  }
  z = sqlite3StreamCheckpointerStatus(p);
  if( z==0 ){ sqlite3_result_error_nomem(ctx); return; }
  sqlite3_result_text(ctx, z, -1, sqlite3_free);
}

/*
** The one-call-one-transaction trampoline: run xCall(p, pArgs, &zErr) as
** one transaction (sqlite3StreamAutoBegin(): a transaction of its own in
** autocommit mode, the caller's transaction otherwise) and report a
** failure on ctx by the one error policy (sqlite3StreamResultErr()).
** Returns 1 if the call succeeded.  Arguments are checked before: a bad
** argument is reported without taking the write lock.
*/
int sqlite3StreamCallTxn(sqlite3_context *ctx,
                         int (*xCall)(StreamCtx*, StreamCallArgs*, char**),
                         StreamCallArgs *pArgs){
  StreamCtx *p = sqlite3_user_data(ctx);
  char *zErr = 0;
  int bAuto = 0, bSp = 0;
  int rc = sqlite3StreamAutoBegin(p, "stream_call", &bAuto, 0, &zErr);
  /* Catalog and group calls see (and delete) the transaction's pending
  ** record batches as rows (ext/produce.c). */
  if( rc==SQLITE_OK ) rc = sqlite3StreamPendingFlush(p, &zErr);
  /* Inside the caller's transaction, a savepoint of the call's own, so
  ** that a call failing part way (a commit whose CDC event the CDC topic
  ** refuses after the offset was written) changes nothing there either. */
  if( rc==SQLITE_OK && !bAuto && !sqlite3_get_autocommit(p->db) ){
    rc = sqlite3StreamSavepoint(p, "stream_call", &bSp, &zErr);
  }
  if( rc==SQLITE_OK ) rc = xCall(p, pArgs, &zErr);
  rc = sqlite3StreamSavepointEnd(p, "stream_call", bSp, rc, &zErr);
  rc = sqlite3StreamAutoEnd(p, "stream_call", bAuto, rc, &zErr);
  if( rc ){
    sqlite3StreamResultErr(ctx, rc, zErr);
    return 0;
  }
  return 1;
}

static int streamCallCreateTopic(StreamCtx *p, StreamCallArgs *a,
                                 char **pzErr){
  return sqlite3StreamTopicCreate(p, a->az[0], a->ai[0], a->az[1], pzErr);
}
static int streamCallAlterTopic(StreamCtx *p, StreamCallArgs *a,
                                char **pzErr){
  return sqlite3StreamTopicAlter(p, a->az[0], a->az[1], (char**)a->pOut,
                                 pzErr);
}
static int streamCallAddPartitions(StreamCtx *p, StreamCallArgs *a,
                                   char **pzErr){
  return sqlite3StreamTopicAddPartitions(p, a->az[0], a->ai[0], pzErr);
}
/* The catalog drops the topic (unless a statement of this connection is
** still reading it: sqlite3StreamTopicDelete), then each tier forgets it,
** in the same transaction (its files go once that commits: see the tiers'
** xDropTopic). */
static int streamCallDeleteTopic(StreamCtx *p, StreamCallArgs *a,
                                 char **pzErr){
  int rc = sqlite3StreamTopicDelete(p, a->az[0], pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamTierDropTopic(p, a->az[0], pzErr);
  return rc;
}
static int streamCallCommit(StreamCtx *p, StreamCallArgs *a, char **pzErr){
  return sqlite3StreamCommit(p, a->az[0], a->az[1], a->ai[0], a->ai[1],
                             a->az[2], a->az[3], pzErr);
}

void sqlite3StreamCreateTopicFunc(sqlite3_context *ctx, int argc,
                                  sqlite3_value **argv){
  StreamCallArgs a;
  int bOk = 1;
  memset(&a, 0, sizeof(a));
  if( (a.az[0] = sqlite3StreamArgText(ctx, argv, 0, "topic name"))==0 ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 1, "partitions", &a.ai[0]) ) return;
  if( argc>2 ){
    a.az[1] = streamArgJson(ctx, argv, 2, "topic config", 1, &bOk);
    if( !bOk ) return;
  }
  if( !sqlite3StreamCallTxn(ctx, streamCallCreateTopic, &a) ) return;
  sqlite3_result_int64(ctx, a.ai[0]);
}

void sqlite3StreamAlterTopicFunc(sqlite3_context *ctx, int argc,
                                 sqlite3_value **argv){
  StreamCallArgs a;
  char *zOut = 0;
  int bOk;
  STREAM_UNUSED(argc);
  memset(&a, 0, sizeof(a));
  if( (a.az[0] = sqlite3StreamArgText(ctx, argv, 0, "topic name"))==0 ) return;
  a.az[1] = streamArgJson(ctx, argv, 1, "topic config", 0, &bOk);
  if( !bOk ) return;
  a.pOut = &zOut;
  if( !sqlite3StreamCallTxn(ctx, streamCallAlterTopic, &a) ){
    sqlite3_free(zOut);
    return;
  }
  sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');
}

void sqlite3StreamAddPartitionsFunc(sqlite3_context *ctx, int argc,
                                    sqlite3_value **argv){
  StreamCallArgs a;
  STREAM_UNUSED(argc);
  memset(&a, 0, sizeof(a));
  if( (a.az[0] = sqlite3StreamArgText(ctx, argv, 0, "topic name"))==0 ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 1, "total partitions", &a.ai[0]) ){
    return;
  }
  if( !sqlite3StreamCallTxn(ctx, streamCallAddPartitions, &a) ) return;
  sqlite3_result_int64(ctx, a.ai[0]);
}

void sqlite3StreamDeleteTopicFunc(sqlite3_context *ctx, int argc,
                                  sqlite3_value **argv){
  StreamCallArgs a;
  STREAM_UNUSED(argc);
  memset(&a, 0, sizeof(a));
  if( (a.az[0] = sqlite3StreamArgText(ctx, argv, 0, "topic name"))==0 ) return;
  if( !sqlite3StreamCallTxn(ctx, streamCallDeleteTopic, &a) ) return;
  sqlite3_result_int(ctx, 1);
}

void sqlite3StreamProduceFunc(sqlite3_context *ctx, int argc,
                              sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zTopic;
  char *zErr = 0;
  StreamMsg m;
  i64 iOffset;
  int rc, bOk;
  memset(&m, 0, sizeof(m));
  m.iPartition = STREAM_UNSET;
  m.iTimestamp = STREAM_UNSET;
  if( (zTopic = sqlite3StreamArgText(ctx, argv, 0, "topic name"))==0 ) return;
  rc = sqlite3StreamMsgFieldCtx(p, &m, 0, argv[1], "key", &zErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamMsgFieldCtx(p, &m, 1, argv[2], "value", &zErr);
  }
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  if( argc>3 ){
    m.zHeaders = streamArgJson(ctx, argv, 3, "headers", 1, &bOk);
    if( !bOk ) return;
    m.nHeaders = m.zHeaders ? sqlite3_value_bytes(argv[3]) : 0;
  }
  if( argc>4 && sqlite3_value_type(argv[4])!=SQLITE_NULL ){
    if( !sqlite3StreamArgInt(ctx, argv, 4, "partition", &m.iPartition) ) return;
  }
  rc = sqlite3StreamProduce(p, zTopic, &m, 0, &iOffset, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_int64(ctx, iOffset);
}

void sqlite3StreamProduceBatchFunc(sqlite3_context *ctx, int argc,
                                   sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zTopic, *zJson;
  char *zErr = 0;
  i64 n;
  int rc;
  STREAM_UNUSED(argc);
  if( (zTopic = sqlite3StreamArgText(ctx, argv, 0, "topic name"))==0 ) return;
  if( (zJson = sqlite3StreamArgText(ctx, argv, 1, "batch"))==0 ) return;
  rc = sqlite3StreamProduceBatch(p, zTopic, zJson, &n, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_int64(ctx, n);
}

void sqlite3StreamCommitFunc(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv){
  StreamCallArgs a;
  memset(&a, 0, sizeof(a));
  if( (a.az[0] = sqlite3StreamArgText(ctx, argv, 0, "group id"))==0 ) return;
  if( (a.az[1] = sqlite3StreamArgText(ctx, argv, 1, "topic name"))==0 ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 2, "partition", &a.ai[0]) ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 3, "offset", &a.ai[1]) ) return;
  if( argc>4 && sqlite3_value_type(argv[4])!=SQLITE_NULL ){
    a.az[2] = sqlite3StreamArgText(ctx, argv, 4, "metadata");
    if( a.az[2]==0 ) return;
  }
  if( argc>5 ){
    a.az[3] = sqlite3StreamArgText(ctx, argv, 5, "member id");
    if( a.az[3]==0 ) return;
  }
  if( !sqlite3StreamCallTxn(ctx, streamCallCommit, &a) ) return;
  sqlite3_result_int64(ctx, a.ai[1]);
}

/* Extension-wide settings, kept in _stream_meta under their own names. */
static const char *const azSetting[] = { "cdc.topic", "warm.store",
                                         "warm.file.delete.delay.ms",
                                         "cold.store", "pipeline.url",
                                         "pipeline.token.env", 0 };

void sqlite3StreamConfigFunc(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zName;
  char *zErr = 0, *zVal;
  int rc = SQLITE_OK, i;
  if( (zName = sqlite3StreamArgText(ctx, argv, 0, "setting name"))==0 ) return;
  for(i=0; azSetting[i] && strcmp(azSetting[i], zName)!=0; i++){}
  if( azSetting[i]==0 ){
    zErr = sqlite3_mprintf(STREAM_ERR "unknown setting: %.64s%s (known: cdc.topic, warm.store, warm.file.delete.delay.ms, cold.store, pipeline.url, pipeline.token.env)",
                           zName, strlen(zName)>64 ? "..." : "");
    sqlite3StreamResultErr(ctx, SQLITE_ERROR, zErr);
    return;
  }
  if( argc>1 ){
    const char *zNew = 0;
    if( sqlite3_value_type(argv[1])!=SQLITE_NULL ){
      StreamTopic t;
      if( (zNew = sqlite3StreamArgText(ctx, argv, 1, zName))==0 ) return;
      rc = strcmp(zName, "cdc.topic")==0
         ? sqlite3StreamTopicGet(p, zNew, &t, &zErr)
         : strncmp(zName, "pipeline.", 9)==0        /* ext/pipeline.c */
         ? sqlite3StreamPipelineSettingCheck(zName, zNew, &zErr)
         : sqlite3StreamTierSettingCheck(p, zName, zNew, &zErr);
      if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
    }
    rc = sqlite3StreamEnsureSchema(p, &zErr);
    if( rc==SQLITE_OK ){
      sqlite3StreamCacheClear(p);
      rc = sqlite3StreamCatMetaSet(p, zName, zNew, &zErr);
    }
    if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  }
  zVal = sqlite3StreamMetaGet(p, zName, &rc);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, 0); return; }
  if( zVal ) sqlite3_result_text(ctx, zVal, -1, sqlite3_free);
}

/* stream_version() is registered by main.c: it owns the StreamCtx. */
void sqlite3StreamVersionFunc(sqlite3_context *ctx, int argc,
                              sqlite3_value **argv){
  streamVersionFunc(ctx, argc, argv);
}
