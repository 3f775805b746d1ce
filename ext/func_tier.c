/*
** func_tier.c - the SQL function stream_tier([topic]): move every eligible
** message of one topic (or of all) to the tiers, apply their retention and
** remove orphan files (ext/tier.c); returns what it did as JSON:
**
**   SELECT stream_tier('orders');
**   -- {"segments":2,"messages":20000,"bytes":81234,"expired":0,"orphans":0}
**
** stream_tier is SQLITE_DIRECTONLY: it writes files and deletes hot rows,
** so a hostile database's triggers and views must not reach it.
*/
#include "streamInt.h"

void sqlite3StreamTierFunc(sqlite3_context *ctx, int argc,
                           sqlite3_value **argv){
  StreamCtx *p = (StreamCtx*)sqlite3_user_data(ctx);
  const char *zTopic = 0;
  StreamTierStats st;
  char *zErr = 0, *zOut;
  int rc;
  if( argc>0 && sqlite3_value_type(argv[0])!=SQLITE_NULL ){
    if( sqlite3_value_type(argv[0])!=SQLITE_TEXT ){
      sqlite3_result_error(ctx, STREAM_ERR "topic name must be text", -1);
      return;
    }
    zTopic = (const char*)sqlite3_value_text(argv[0]);
    if( zTopic==0 ){ sqlite3_result_error_nomem(ctx); return; }
  }
  rc = sqlite3StreamTier(p, zTopic, &st, &zErr);
  if( rc ){
    sqlite3StreamResultErr(ctx, rc, zErr);
    return;
  }
  zOut = sqlite3_mprintf("{\"segments\":%lld,\"messages\":%lld,"
      "\"bytes\":%lld,\"expired\":%lld,\"orphans\":%lld}",
      st.nSegment, st.nMessage, st.nBytes, st.nExpired, st.nOrphan);
  if( zOut==0 ){ sqlite3_result_error_nomem(ctx); return; }
  sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');
}
