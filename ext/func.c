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
** Security: every function that writes, or reads settings, is registered
** SQLITE_DIRECTONLY.  A database file can carry triggers and views; were
** these functions callable from them, opening a hostile database and
** running an innocent-looking query could produce messages, move committed
** offsets or delete topics behind the application's back.  TEMP triggers
** and views (which the application creates on its own connection) may
** still call them: that is how the transactional outbox works.  Only the
** pure functions (version, murmur2, partition) are SQLITE_INNOCUOUS.
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

/* Integer argument iArg into *pi; 0 after reporting an error.  A real
** with an integral value is accepted. */
int sqlite3StreamArgInt(sqlite3_context *ctx, sqlite3_value **argv,
                       int iArg, const char *zWhat, i64 *pi){
  int eType = sqlite3_value_type(argv[iArg]);
  if( eType==SQLITE_INTEGER ){
    *pi = sqlite3_value_int64(argv[iArg]);
    return 1;
  }
  if( eType==SQLITE_FLOAT ){
    double r = sqlite3_value_double(argv[iArg]);
    /* Range first: converting an out-of-range real (or NaN) to i64 is
    ** undefined behaviour. */
    if( r>-9.2e18 && r<9.2e18 && r==(double)(i64)r ){
      *pi = (i64)r;
      return 1;
    }
  }
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

static void streamDebugFunc(sqlite3_context *ctx, int argc,
                            sqlite3_value **argv){
  char *z;
  STREAM_UNUSED(argc); STREAM_UNUSED(argv);
  z = sqlite3_mprintf(
      "version: %s\n"
      "sqlite (built): %s\n"
      "sqlite (running): %s\n"
      "build: %s%s\n"
      "compiler: %s\n"
      "storage format: 1",
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
      __VERSION__
#else
      "unknown"
#endif
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

static void streamMurmur2Func(sqlite3_context *ctx, int argc,
                              sqlite3_value **argv){
  const void *p; int n;
  STREAM_UNUSED(argc);
  if( sqlite3_value_type(argv[0])==SQLITE_NULL ) return;   /* NULL */
  if( !streamArgKey(ctx, argv[0], &p, &n) ) return;
  sqlite3_result_int(ctx, sqlite3StreamMurmur2(p, n));
}

static void streamPartitionFunc(sqlite3_context *ctx, int argc,
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

static void streamCreateTopicFunc(sqlite3_context *ctx, int argc,
                                  sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zName, *zConfig = 0;
  char *zErr = 0;
  i64 nPart;
  int rc, bOk = 1;
  int bAuto;
  if( (zName = sqlite3StreamArgText(ctx, argv, 0, "topic name"))==0 ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 1, "partitions", &nPart) ) return;
  if( argc>2 ){
    zConfig = streamArgJson(ctx, argv, 2, "topic config", 1, &bOk);
    if( !bOk ) return;
  }
  rc = sqlite3StreamAutoBegin(p, "stream_call", &bAuto, 0, &zErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamTopicCreate(p, zName, nPart, zConfig, &zErr);
  }
  rc = sqlite3StreamAutoEnd(p, "stream_call", bAuto, rc, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_int64(ctx, nPart);
}

static void streamAlterTopicFunc(sqlite3_context *ctx, int argc,
                                 sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zName, *zConfig;
  char *zErr = 0, *zOut;
  int rc, bOk;
  int bAuto;
  StreamTopicConfig cfg;
  STREAM_UNUSED(argc);
  if( (zName = sqlite3StreamArgText(ctx, argv, 0, "topic name"))==0 ) return;
  zConfig = streamArgJson(ctx, argv, 1, "topic config", 0, &bOk);
  if( !bOk ) return;
  rc = sqlite3StreamAutoBegin(p, "stream_call", &bAuto, 0, &zErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamTopicAlter(p, zName, zConfig, &cfg, &zErr);
  }
  rc = sqlite3StreamAutoEnd(p, "stream_call", bAuto, rc, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  zOut = sqlite3StreamConfigRender(&cfg);
  if( zOut==0 ){ sqlite3_result_error_nomem(ctx); return; }
  sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');
}

static void streamAddPartitionsFunc(sqlite3_context *ctx, int argc,
                                    sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zName;
  char *zErr = 0;
  i64 nTotal;
  int rc;
  int bAuto;
  STREAM_UNUSED(argc);
  if( (zName = sqlite3StreamArgText(ctx, argv, 0, "topic name"))==0 ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 1, "total partitions", &nTotal) ) return;
  rc = sqlite3StreamAutoBegin(p, "stream_call", &bAuto, 0, &zErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamTopicAddPartitions(p, zName, nTotal, &zErr);
  }
  rc = sqlite3StreamAutoEnd(p, "stream_call", bAuto, rc, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_int64(ctx, nTotal);
}

static void streamDeleteTopicFunc(sqlite3_context *ctx, int argc,
                                  sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zName;
  char *zErr = 0;
  int rc;
  int bAuto;
  STREAM_UNUSED(argc);
  if( (zName = sqlite3StreamArgText(ctx, argv, 0, "topic name"))==0 ) return;
  rc = sqlite3StreamAutoBegin(p, "stream_call", &bAuto, 0, &zErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamTopicDelete(p, zName, &zErr);
  }
  rc = sqlite3StreamAutoEnd(p, "stream_call", bAuto, rc, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_int(ctx, 1);
}

static void streamProduceFunc(sqlite3_context *ctx, int argc,
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
  rc = sqlite3StreamMsgField(&m, 0, argv[1], "key", &zErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamMsgField(&m, 1, argv[2], "value", &zErr);
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

static void streamProduceBatchFunc(sqlite3_context *ctx, int argc,
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

static void streamCommitFunc(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zGroup, *zTopic, *zMeta = 0, *zMember = 0;
  char *zErr = 0;
  i64 iPart, iOffset;
  int rc;
  int bAuto;
  if( (zGroup = sqlite3StreamArgText(ctx, argv, 0, "group id"))==0 ) return;
  if( (zTopic = sqlite3StreamArgText(ctx, argv, 1, "topic name"))==0 ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 2, "partition", &iPart) ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 3, "offset", &iOffset) ) return;
  if( argc>4 && sqlite3_value_type(argv[4])!=SQLITE_NULL ){
    if( (zMeta = sqlite3StreamArgText(ctx, argv, 4, "metadata"))==0 ) return;
  }
  if( argc>5 ){
    if( (zMember = sqlite3StreamArgText(ctx, argv, 5, "member id"))==0 ) return;
  }
  rc = sqlite3StreamAutoBegin(p, "stream_call", &bAuto, 0, &zErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamCommit(p, zGroup, zTopic, iPart, iOffset, zMeta, zMember,
        &zErr);
  }
  rc = sqlite3StreamAutoEnd(p, "stream_call", bAuto, rc, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_int64(ctx, iOffset);
}

/* Extension-wide settings, kept in _stream_meta under their own names. */
static const char *const azSetting[] = { "cdc.topic", "warm.store",
                                         "cold.store", "pipeline.url",
                                         "pipeline.token.env", 0 };

static void streamConfigFunc(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zName;
  char *zErr = 0, *zVal;
  int rc = SQLITE_OK, i;
  if( (zName = sqlite3StreamArgText(ctx, argv, 0, "setting name"))==0 ) return;
  for(i=0; azSetting[i] && strcmp(azSetting[i], zName)!=0; i++){}
  if( azSetting[i]==0 ){
    zErr = sqlite3_mprintf(STREAM_ERR "unknown setting: %s (known: cdc.topic, warm.store, cold.store, pipeline.url, pipeline.token.env)",
                           zName);
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
      char *zSql = zNew
        ? sqlite3_mprintf("INSERT OR REPLACE INTO _stream_meta(key, value)"
                          " VALUES(%Q, %Q)", zName, zNew)
        : sqlite3_mprintf("DELETE FROM _stream_meta WHERE key=%Q", zName);
      sqlite3StreamCacheClear(p);
      rc = zSql ? sqlite3_exec(p->db, zSql, 0, 0, 0) : SQLITE_NOMEM;
      sqlite3_free(zSql);
      if( rc && rc!=SQLITE_NOMEM ) rc = sqlite3StreamDbErr(p->db, &zErr, rc);
    }
    if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  }
  zVal = sqlite3StreamMetaGet(p, zName, &rc);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, 0); return; }
  if( zVal ) sqlite3_result_text(ctx, zVal, -1, sqlite3_free);
}

int sqlite3StreamRegisterFunctions(sqlite3 *db, StreamCtx *p){
  static const struct {
    const char *zName;
    int nArg;
    int eKind;                 /* 0 DIRECTONLY, 1 pure, 2 innocuous only */
    void (*xFunc)(sqlite3_context*, int, sqlite3_value**);
  } aFunc[] = {
    { "stream_debug",          0, 2, streamDebugFunc },
    { "stream_murmur2",        1, 1, streamMurmur2Func },
    { "stream_partition",      2, 1, streamPartitionFunc },
    { "stream_create_topic",   2, 0, streamCreateTopicFunc },
    { "stream_create_topic",   3, 0, streamCreateTopicFunc },
    { "stream_alter_topic",    2, 0, streamAlterTopicFunc },
    { "stream_add_partitions", 2, 0, streamAddPartitionsFunc },
    { "stream_delete_topic",   1, 0, streamDeleteTopicFunc },
    { "stream_produce",        3, 0, streamProduceFunc },
    { "stream_produce",        4, 0, streamProduceFunc },
    { "stream_produce",        5, 0, streamProduceFunc },
    { "stream_produce_batch",  2, 0, streamProduceBatchFunc },
    { "stream_commit",         4, 0, streamCommitFunc },
    { "stream_commit",         5, 0, streamCommitFunc },
    { "stream_commit",         6, 0, streamCommitFunc },
    { "stream_config",         1, 0, streamConfigFunc },
    { "stream_config",         2, 0, streamConfigFunc },
  };
  int rc = SQLITE_OK;
  size_t i;
  for(i=0; rc==SQLITE_OK && i<sizeof(aFunc)/sizeof(aFunc[0]); i++){
    static const int aFlags[] = {
      SQLITE_DIRECTONLY, SQLITE_INNOCUOUS|SQLITE_DETERMINISTIC, SQLITE_INNOCUOUS
    };
    int flags = SQLITE_UTF8 | aFlags[aFunc[i].eKind];
    rc = sqlite3_create_function(db, aFunc[i].zName, aFunc[i].nArg, flags,
                                 p, aFunc[i].xFunc, 0, 0);
  }
  return rc;
}

/* stream_version() is registered by main.c: it owns the StreamCtx. */
void sqlite3StreamVersionFunc(sqlite3_context *ctx, int argc,
                              sqlite3_value **argv){
  streamVersionFunc(ctx, argc, argv);
}
