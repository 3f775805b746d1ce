/*
** topics.c - the stream_topics eponymous virtual table: one row per topic.
**
**   SELECT name, partitions, config, created_at FROM stream_topics;
**
** config is the full configuration, defaults included, as a JSON object;
** overrides holds only what was set with stream_create_topic() or
** stream_alter_topic().  "name =" is pushed down.  Read-only.
**
** This table is also the anchor of the connection's statement cache (see
** ext/schema.c): sqlite3_close() disconnects it before checking for
** unfinalized statements.
*/
#include "streamInt.h"

static void streamTopicsColumn(sqlite3_context *ctx, sqlite3_stmt *pStmt,
                               int iCol){
  if( iCol==2 ){
    StreamTopicConfig cfg;
    char *zErr = 0, *zOut;
    const char *zOver = (const char*)sqlite3_column_text(pStmt, 4);
    if( sqlite3StreamConfigParse(&cfg, zOver, 0, &zErr) ){
      sqlite3_result_error(ctx, zErr ? zErr : "stream: bad stored config", -1);
      sqlite3_free(zErr);
      return;
    }
    zOut = sqlite3StreamConfigRender(&cfg, zOver);
    if( zOut==0 ){ sqlite3_result_error_nomem(ctx); return; }
    sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
    sqlite3_result_subtype(ctx, 'J');
  }else{
    sqlite3_result_value(ctx, sqlite3_column_value(pStmt, iCol));
  }
}

static const StreamSqlVtabDef streamTopicsDef = {
  "stream_topics",
  "name TEXT, partitions INTEGER, config TEXT, created_at INTEGER,"
  " overrides TEXT",
  "SELECT name AS c0, partitions AS c1, NULL AS c2, created_at AS c3,"
  " config AS c4 FROM _stream_topics ORDER BY name",
  0x01,                 /* name = */
  0,                    /* innocuous: read-only */
  1,                    /* anchor */
  0,                    /* no rowid column */
  streamTopicsColumn,
  0,
  "c0"                  /* name */
};

int sqlite3StreamRegisterTopics(sqlite3 *db, StreamCtx *p){
  return sqlite3StreamRegisterSqlVtab(db, p, &streamTopicsDef);
}
