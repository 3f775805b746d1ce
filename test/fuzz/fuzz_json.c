/*
** fuzz_json.c - libFuzzer target for every JSON input of the engine.
**
**   make fuzz && ./fuzz/fuzz_json -max_total_time=60 \
**     $(srcdir)/test/fuzz/corpus/json
**
** The input is one JSON-ish text.  It goes through:
**
**   1. sqlite3StreamJsonCheck() (ext/json.c), the strict RFC 8259
**      validator, on an exact-size buffer (ASan catches a read past it).
**      Whatever it accepts, SQLite's json_valid() must accept too, and
**      The JSON tree (sqlite3StreamJsonParse()) must parse it when the text
**      holds no NUL byte, and its printed text, compact and formatted,
**      must validate again as a value of the same kind.
**   2. sqlite3StreamJsonQuote(): the quoted input (when it is UTF-8) must
**      validate as one JSON string.
**   3. The topic configuration parser (ext/config.c): Parse, Merge in both
**      directions, Render.  Accepted input: the normalised overrides and
**      the rendering are JSON objects, and parsing the overrides again
**      gives the same configuration.  Refused input: a "stream: " message.
**   4. The SQL entry points that take JSON (one connection, built with the
**      engine linked in): stream_produce_batch(), the headers argument of
**      stream_produce(), stream_join()'s topics and options,
**      stream_create_topic()/stream_alter_topic()'s config, each inside a
**      transaction that is rolled back.  An error must start "stream: ".
**
** Any violation aborts; a crash, a sanitizer report or a leak is a bug.
*/
#include "streamInt.h"
#include "stream.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sqlite3 *db = 0;

static void fail(const char *zMsg, const char *zDetail){
  fprintf(stderr, "fuzz_json: %s: %s\n", zMsg, zDetail ? zDetail : "");
  abort();
}

static void exec(const char *zSql){
  char *zErr = 0;
  if( sqlite3_exec(db, zSql, 0, 0, &zErr) ) fail(zSql, zErr);
}

int LLVMFuzzerInitialize(int *pArgc, char ***pArgv){
  (void)pArgc; (void)pArgv;
  if( sqlite3_open(":memory:", &db) || sqlite3_stream_init(db, 0, 0) ){
    fail("setup", sqlite3_errmsg(db));
  }
  exec("SELECT stream_create_topic('t', 2);"
       "SELECT stream_create_topic('c', 1, '{\"cleanup.policy\":\"compact\"}');"
       "SELECT stream_produce('t', 'k', '{}');");
  return 0;
}

/* Run zSql with ?1 bound to the input inside a rolled-back transaction;
** the only acceptable errors are the extension's own. */
static void sqlWithInput(const char *zSql, const char *z, int n){
  sqlite3_stmt *pStmt = 0;
  int rc;
  exec("BEGIN");
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) ) fail(zSql, sqlite3_errmsg(db));
  sqlite3_bind_text(pStmt, 1, z, n, SQLITE_STATIC);
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){}
  if( rc!=SQLITE_DONE ){
    const char *zErr = sqlite3_errmsg(db);
    if( rc!=SQLITE_NOMEM && rc!=SQLITE_TOOBIG
     && strncmp(zErr, "stream: ", 8)!=0 ){
      fail("error without the stream: prefix", zErr);
    }
  }
  sqlite3_finalize(pStmt);
  exec("ROLLBACK");
}

/* Configuration parser: check one outcome. */
static void cfgCheck(int rc, StreamTopicConfig *pCfg, char *zNorm,
                     char *zErr){
  if( rc==SQLITE_OK ){
    StreamTopicConfig cfg2;
    char *zNorm2 = 0, *zErr2 = 0, *zR1, *zR2;
    if( zNorm==0 ) fail("config accepted without normalised overrides", 0);
    if( sqlite3StreamJsonCheck(zNorm, strlen(zNorm))!=STREAM_JSON_OBJECT ){
      fail("normalised overrides are not a JSON object", zNorm);
    }
    zR1 = sqlite3StreamConfigRender(pCfg, zNorm);
    if( zR1==0 ) fail("render: out of memory", 0);
    if( sqlite3StreamJsonCheck(zR1, strlen(zR1))!=STREAM_JSON_OBJECT ){
      fail("rendered config is not a JSON object", zR1);
    }
    if( sqlite3StreamConfigParse(&cfg2, zNorm, &zNorm2, &zErr2) ){
      fail("normalised overrides refused when parsed again", zErr2);
    }
    zR2 = sqlite3StreamConfigRender(&cfg2, zNorm2);
    if( zR2==0 || strcmp(zR1, zR2)!=0 ){
      fail("config differs after a round trip through its overrides", zNorm);
    }
    if( strcmp(zNorm, zNorm2)!=0 ) fail("normalisation is not stable", zNorm);
    sqlite3_free(zR1);
    sqlite3_free(zR2);
    sqlite3_free(zNorm2);
  }else if( rc!=SQLITE_NOMEM ){
    if( zErr==0 || strncmp(zErr, "stream: ", 8)!=0 ){
      fail("config error without a stream: message", zErr);
    }
  }
  sqlite3_free(zNorm);
  sqlite3_free(zErr);
}

/* Valid UTF-8 (NUL allowed): what sqlite3StreamJsonQuote() expects. */
static int isUtf8(const unsigned char *a, size_t n){
  size_t i = 0;
  while( i<n ){
    unsigned char c = a[i];
    size_t k, len;
    unsigned cp;
    if( c<0x80 ){ i++; continue; }
    if( c>=0xc2 && c<=0xdf ){ len = 2; cp = c & 0x1f; }
    else if( c>=0xe0 && c<=0xef ){ len = 3; cp = c & 0x0f; }
    else if( c>=0xf0 && c<=0xf4 ){ len = 4; cp = c & 0x07; }
    else return 0;
    if( i+len>n ) return 0;
    for(k=1; k<len; k++){
      if( (a[i+k] & 0xc0)!=0x80 ) return 0;
      cp = (cp<<6) | (a[i+k] & 0x3f);
    }
    if( (len==3 && cp<0x800) || (len==4 && (cp<0x10000 || cp>0x10ffff))
     || (cp>=0xd800 && cp<=0xdfff) ) return 0;
    i += len;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData){
  char *a, *z;
  int eKind, bNoNul;
  if( nData>65536 ) return 0;

  /* 1. The validator, on an exact-size buffer. */
  a = (char*)malloc(nData ? nData : 1);
  z = (char*)malloc(nData+1);
  if( a==0 || z==0 ){ free(a); free(z); return 0; }
  memcpy(a, aData, nData);
  memcpy(z, aData, nData);
  z[nData] = 0;
  bNoNul = strlen(z)==nData;
  eKind = sqlite3StreamJsonCheck(a, nData);
  if( eKind<STREAM_JSON_INVALID || eKind>STREAM_JSON_NULL ){
    fail("unknown JSON kind", 0);
  }
  if( eKind!=STREAM_JSON_INVALID && bNoNul ){
    sqlite3_stmt *pStmt = 0;
    StreamJson *pJson;
    sqlite3_prepare_v2(db, "SELECT json_valid(?1)", -1, &pStmt, 0);
    sqlite3_bind_text(pStmt, 1, z, (int)nData, SQLITE_STATIC);
    if( sqlite3_step(pStmt)!=SQLITE_ROW ) fail("json_valid", sqlite3_errmsg(db));
    if( sqlite3_column_int(pStmt, 0)!=1 ){
      fail("accepted by sqlite3StreamJsonCheck, refused by json_valid", z);
    }
    sqlite3_finalize(pStmt);
    pJson = sqlite3StreamJsonParse(z, -1);
    if( pJson==0 ){
      fail("accepted by sqlite3StreamJsonCheck, refused by the tree", z);
    }else{
      int bFormat;
      for(bFormat=0; bFormat<2; bFormat++){
        char *zOut = sqlite3StreamJsonPrint(pJson, bFormat);
        /* Numbers print as cJSON printed them: NaN never comes from
        ** parsing, but a huge exponent reads as an infinity, printed
        ** null, so a number may come back as null. */
        int eOut = zOut ? sqlite3StreamJsonCheck(zOut, strlen(zOut)) : eKind;
        if( eOut!=eKind && !(eKind==STREAM_JSON_NUMBER
                             && eOut==STREAM_JSON_NULL) ){
          fail("the tree printed another kind of value", zOut);
        }
        sqlite3_free(zOut);
      }
    }
    sqlite3StreamJsonFree(pJson);
  }

  /* 2. Quoting. */
  if( isUtf8((const unsigned char*)a, nData) ){
    sqlite3_str *pStr = sqlite3_str_new(0);
    char *zQ;
    int nQ;
    sqlite3StreamJsonQuote(pStr, a, (int)nData);
    nQ = sqlite3_str_length(pStr);
    zQ = sqlite3_str_finish(pStr);
    if( zQ && sqlite3StreamJsonCheck(zQ, (size_t)nQ)!=STREAM_JSON_STRING ){
      fail("quoted text is not one JSON string", zQ);
    }
    sqlite3_free(zQ);
  }

  /* 3. The topic configuration parser. */
  {
    StreamTopicConfig cfg;
    char *zNorm = 0, *zErr = 0;
    int rc = sqlite3StreamConfigParse(&cfg, z, &zNorm, &zErr);
    cfgCheck(rc, &cfg, zNorm, zErr);
    zNorm = 0; zErr = 0;
    rc = sqlite3StreamConfigMerge(z, "{\"retention.ms\":null,\"segment.x\":null}",
                                  &cfg, &zNorm, &zErr);
    if( rc==SQLITE_OK ) fail("unknown key set to null accepted", z);
    cfgCheck(rc, &cfg, zNorm, zErr);
    zNorm = 0; zErr = 0;
    rc = sqlite3StreamConfigMerge("{\"retention.ms\":5,\"cleanup.policy\":\"compact\"}",
                                  z, &cfg, &zNorm, &zErr);
    cfgCheck(rc, &cfg, zNorm, zErr);
  }

  /* 4. The SQL entry points. */
  sqlWithInput("SELECT stream_produce_batch('t', ?1)", z, (int)nData);
  sqlWithInput("SELECT stream_produce_batch('c', ?1)", z, (int)nData);
  sqlWithInput("SELECT stream_produce('t', 'k', '{}', ?1)", z, (int)nData);
  sqlWithInput("SELECT stream_produce('t', 'k', ?1)", z, (int)nData);
  sqlWithInput("SELECT stream_join('g', 'm', ?1)", z, (int)nData);
  sqlWithInput("SELECT stream_join('g', 'm', '[\"t\",\"c\"]', ?1)", z, (int)nData);
  sqlWithInput("SELECT stream_create_topic('x', 1, ?1)", z, (int)nData);
  sqlWithInput("SELECT stream_alter_topic('t', ?1)", z, (int)nData);
  free(a);
  free(z);
  return 0;
}
