/*
** test_capi.c - unit test of the public C interface (ext/stream.h).
**
** Linked statically against libsqlitestream.a (built with -DSQLITE_CORE),
** so it calls sqlite3_stream_init(db, 0, 0) itself, as an application
** that compiles the amalgamation in does.  It checks:
**
**   1. sqlite3_stream_api_get() returns NULL on a connection without the
**      extension, and the API (iVersion 1) on one with it;
**   2. xCdcHook: the exact JSON of stream.produce and stream.commit events,
**      events of a transaction that rolls back, removing the hook, and the
**      hook of one connection not seeing another's writes;
**   3. xDestroy runs when the hook is replaced or removed, and when the
**      connection closes; a failed xCdcHook does not take ownership;
**   4. sqlite3_close() (not _v2) returns SQLITE_OK after produce and reads,
**      after a ROLLBACK, with a transaction still open and after errors:
**      the statement cache is finalized through the stream_topics anchor
**      (ext/schema.c);
**   5. sqlite3_stream_init() refuses a connection without json_each (its
**      module dropped with sqlite3_drop_modules(), as in a SQLite built
**      with SQLITE_OMIT_JSON) with a message that says so, registering
**      nothing, and accepts one that keeps json_each; the probe leaves
**      nothing that a later sqlite3_deserialize() of main breaks;
**   6. stream_poll driven step by step: a position moves one past the last
**      row sqlite3_step() returned - after sqlite3_reset() or
**      sqlite3_finalize() of a statement stopped early, at the last row of
**      one that is never reset, and for a commitSync run while it is
**      pending; a commit by another connection while the poll runs
**      changes nothing of that; positions never committed are gone with
**      the connection (issue #12: positions live in the connection);
**   7. the same with every allocation of a partial poll failing in turn:
**      never a row skipped, never a position or committed offset past
**      the rows returned;
**   8. the group, seek, pause, commit, dead-letter and maintenance calls
**      (whose statements live in ext/storage.c) with every allocation
**      failing in turn (and with every one from it): each call succeeds (and then leaves no
**      transaction open) or fails with SQLITE_NOMEM, and a failed call
**      changes no row of the groups, members, assignments, offsets,
**      topics, partitions or messages once the application has rolled
**      back as SQLite advises after SQLITE_NOMEM (an allocation that
**      fails inside a statement without FROM leaves the call's
**      transaction open: SQLite keeps failing every nested statement
**      until the outer one ends, ROLLBACK included);
**   9. a poll in autocommit mode that comes, with nothing committed
**      since, in the millisecond of the previous poll's look (a clock
**      frozen by a shim VFS, which also counts the reads and WAL locks of
**      the database), answers from that look: no read at all; a new
**      commit, a poll that stopped early, a seek and fencing each make
**      the next poll look again, with the right rows or error; polls
**      after one that left messages behind (max_records) take the next
**      offsets one by one.
**
** The last line printed is "N passed, N failed"; the exit code is non-zero
** if anything failed.
*/
#include "sqlite3.h"
#include "stream.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_check.h"

/* Compare two strings; the detail shows both. */
static void checkStr(const char *zGot, const char *zWant, const char *zTest){
  char zDetail[1200];
  int bOk = (zGot==0 && zWant==0)
         || (zGot && zWant && strcmp(zGot, zWant)==0);
  snprintf(zDetail, sizeof(zDetail), "\n  got:  %s\n  want: %s",
           zGot ? zGot : "(null)", zWant ? zWant : "(null)");
  check(bOk, zTest, zDetail);
}

static void checkInt(long long iGot, long long iWant, const char *zTest){
  char zDetail[200];
  snprintf(zDetail, sizeof(zDetail), "got %lld, want %lld", iGot, iWant);
  check(iGot==iWant, zTest, zDetail);
}

/* Run SQL; a failure is a test failure named zTest. */
static int execOk(sqlite3 *db, const char *zSql, const char *zTest){
  char *zErr = 0;
  int rc = sqlite3_exec(db, zSql, 0, 0, &zErr);
  char zDetail[1200];
  snprintf(zDetail, sizeof(zDetail), "%s: %s", zSql, zErr ? zErr : "?");
  check(rc==SQLITE_OK, zTest, zDetail);
  sqlite3_free(zErr);
  return rc;
}

/* A connection with the extension initialized (statically). */
static sqlite3 *openStream(const char *zFile){
  sqlite3 *db = 0;
  char *zErr = 0;
  int rc = sqlite3_open(zFile, &db);
  if( rc==SQLITE_OK ) rc = sqlite3_stream_init(db, &zErr, 0);
  if( rc!=SQLITE_OK ){
    printf("FAIL open %s: %s\n", zFile, zErr ? zErr : sqlite3_errmsg(db));
    printf("%d passed, %d failed\n", nPass, nFail+1);
    exit(1);
  }
  return db;
}

/* ---------------------------------------------------------------------- */
/* A CDC hook that records the events it receives. */
#define REC_MAX 16
typedef struct Recorder Recorder;
struct Recorder {
  int nEvent;                  /* Events received */
  char *azEvent[REC_MAX];      /* Copies of the first REC_MAX events */
  int bLenOk;                  /* Every nJson matched strlen() */
  int nDestroy;                /* Times xDestroy ran with this recorder */
};

static void recEvent(void *pArg, const char *zJson, int nJson){
  Recorder *p = (Recorder*)pArg;
  if( nJson!=(int)strlen(zJson) ) p->bLenOk = 0;
  if( p->nEvent<REC_MAX ){
    p->azEvent[p->nEvent] = malloc((size_t)nJson + 1);
    if( p->azEvent[p->nEvent] ){
      memcpy(p->azEvent[p->nEvent], zJson, (size_t)nJson);
      p->azEvent[p->nEvent][nJson] = 0;
    }
  }
  p->nEvent++;
}

static void recDestroy(void *pArg){
  ((Recorder*)pArg)->nDestroy++;
}

static void recInit(Recorder *p){
  memset(p, 0, sizeof(*p));
  p->bLenOk = 1;
}

static void recClear(Recorder *p){
  int i;
  for(i=0; i<REC_MAX; i++) free(p->azEvent[i]);
  memset(p->azEvent, 0, sizeof(p->azEvent));
  p->nEvent = 0;
}

static const char *recGet(Recorder *p, int i){
  return (i<p->nEvent && i<REC_MAX) ? p->azEvent[i] : 0;
}

/* ---------------------------------------------------------------------- */
/* 1. sqlite3_stream_api_get() */
static void testApiGet(void){
  sqlite3 *db = 0;
  const sqlite3_stream_api *pApi;

  sqlite3_open(":memory:", &db);
  pApi = sqlite3_stream_api_get(db);
  check(pApi==0, "1.1 api_get without the extension is NULL", 0);
  checkInt(sqlite3_close(db), SQLITE_OK, "1.2 close without the extension");

  db = openStream(":memory:");
  pApi = sqlite3_stream_api_get(db);
  check(pApi!=0, "1.3 api_get with the extension", 0);
  if( pApi ){
    checkInt(pApi->iVersion, 1, "1.4 iVersion");
    check(pApi->xCdcHook!=0, "1.5 xCdcHook present", 0);
  }
  check(sqlite3_stream_api_get(db)==pApi, "1.6 same API every time", 0);
  checkInt(sqlite3_close(db), SQLITE_OK, "1.7 close");
}

/* 2. and 3. xCdcHook */
static void testCdcHook(void){
  sqlite3 *db, *db2, *dbPlain = 0;
  const sqlite3_stream_api *pApi;
  Recorder a, b;
  int rc;

  recInit(&a);
  recInit(&b);
  db = openStream(":memory:");
  pApi = sqlite3_stream_api_get(db);
  if( pApi==0 ){
    check(0, "2.0 api", "sqlite3_stream_api_get returned NULL");
    sqlite3_close(db);
    return;
  }
  rc = pApi->xCdcHook(db, recEvent, &a, recDestroy);
  checkInt(rc, SQLITE_OK, "2.1 xCdcHook");

  /* Catalog changes are not events. */
  execOk(db, "SELECT stream_create_topic('orders', 4)", "2.2 create topic");
  checkInt(a.nEvent, 0, "2.3 no event for a catalog change");

  /* A produce with an explicit partition and timestamp. */
  execOk(db, "INSERT INTO stream_messages(topic, key, value, partition,"
             " timestamp) VALUES('orders', 'order_123', '{\"total\":99.99}',"
             " 3, 1705233600000)", "2.4 produce");
  checkInt(a.nEvent, 1, "2.5 one event per produce");
  checkStr(recGet(&a, 0),
      "{\"type\":\"stream.produce\",\"topic\":\"orders\",\"partition\":3,"
      "\"offset\":0,\"key\":\"order_123\","
      "\"timestamp\":\"2024-01-14T12:00:00.000Z\"}", "2.6 produce event");

  /* A commit. */
  execOk(db, "SELECT stream_commit('order-processor', 'orders', 3, 1)",
         "2.7 commit");
  checkInt(a.nEvent, 2, "2.8 one event per commit");
  checkStr(recGet(&a, 1),
      "{\"type\":\"stream.commit\",\"groupId\":\"order-processor\","
      "\"topic\":\"orders\",\"partition\":3,\"offset\":1}",
      "2.9 commit event");

  /* NULL and BLOB keys, and a key that needs escaping. */
  execOk(db, "INSERT INTO stream_messages(topic, key, value, partition,"
             " timestamp) VALUES('orders', NULL, '{}', 0, 0),"
             " ('orders', x'00ff', '{}', 0, 1), ('orders', 'a\"b', '{}', 0, 2)",
             "2.10 produce keys");
  checkStr(recGet(&a, 2),
      "{\"type\":\"stream.produce\",\"topic\":\"orders\",\"partition\":0,"
      "\"offset\":0,\"key\":null,\"timestamp\":\"1970-01-01T00:00:00.000Z\"}",
      "2.11 NULL key");
  checkStr(recGet(&a, 3),
      "{\"type\":\"stream.produce\",\"topic\":\"orders\",\"partition\":0,"
      "\"offset\":1,\"key\":\"00ff\",\"timestamp\":\"1970-01-01T00:00:00.001Z\"}",
      "2.12 BLOB key in hex");
  checkStr(recGet(&a, 4),
      "{\"type\":\"stream.produce\",\"topic\":\"orders\",\"partition\":0,"
      "\"offset\":2,\"key\":\"a\\\"b\",\"timestamp\":\"1970-01-01T00:00:00.002Z\"}",
      "2.13 escaped key");

  /* A batch: one event per message. */
  execOk(db, "SELECT stream_produce_batch('orders', '[{\"key\":\"a\",\"value\":1,"
             "\"partition\":2,\"timestamp\":5},{\"key\":\"b\",\"value\":2,"
             "\"partition\":2,\"timestamp\":6}]')", "2.14 batch");
  checkInt(a.nEvent, 7, "2.15 batch events");
  checkStr(recGet(&a, 6),
      "{\"type\":\"stream.produce\",\"topic\":\"orders\",\"partition\":2,"
      "\"offset\":1,\"key\":\"b\",\"timestamp\":\"1970-01-01T00:00:00.006Z\"}",
      "2.16 batch event");

  /* Like sqlite3_update_hook(): events are reported as they are written,
  ** also in a transaction that then rolls back. */
  execOk(db, "BEGIN; SELECT stream_produce('orders', 'k', '{}', NULL, 1);"
             " ROLLBACK;", "2.17 rolled back produce");
  checkInt(a.nEvent, 8, "2.18 event of a rolled-back transaction");
  /* A failed produce reports nothing. */
  rc = sqlite3_exec(db, "SELECT stream_produce('orders', 'k', 'not json')",
                    0, 0, 0);
  check(rc!=SQLITE_OK, "2.19 bad produce fails", 0);
  checkInt(a.nEvent, 8, "2.20 no event for a failed produce");
  check(a.bLenOk, "2.21 nJson is the length of the JSON text", 0);

  /* Another connection to the same database has its own (no) hook. */
  db2 = openStream(":memory:");
  execOk(db2, "SELECT stream_create_topic('t', 1);"
              " SELECT stream_produce('t', 'k', '{}')", "2.22 other db");
  checkInt(a.nEvent, 8, "2.23 another connection's writes are not seen");
  checkInt(sqlite3_close(db2), SQLITE_OK, "2.24 close other db");

  /* 3.* Replacing the hook destroys the old argument, once. */
  checkInt(a.nDestroy, 0, "3.1 not destroyed while registered");
  rc = pApi->xCdcHook(db, recEvent, &b, recDestroy);
  checkInt(rc, SQLITE_OK, "3.2 replace hook");
  checkInt(a.nDestroy, 1, "3.3 replacing calls the old xDestroy");
  checkInt(b.nDestroy, 0, "3.4 new argument not destroyed");
  execOk(db, "SELECT stream_produce('orders', 'k', '{}', NULL, 1)",
         "3.5 produce");
  checkInt(a.nEvent, 8, "3.6 old hook no longer called");
  checkInt(b.nEvent, 1, "3.7 new hook called");

  /* Removing the hook (xEvent NULL) destroys the argument too. */
  rc = pApi->xCdcHook(db, 0, 0, 0);
  checkInt(rc, SQLITE_OK, "3.8 remove hook");
  checkInt(b.nDestroy, 1, "3.9 removing calls xDestroy");
  execOk(db, "SELECT stream_produce('orders', 'k', '{}', NULL, 1)",
         "3.10 produce");
  checkInt(b.nEvent, 1, "3.11 no hook, no event");

  /* Closing the connection destroys the current argument. */
  recClear(&b);
  rc = pApi->xCdcHook(db, recEvent, &b, recDestroy);
  checkInt(rc, SQLITE_OK, "3.12 hook again");
  checkInt(sqlite3_close(db), SQLITE_OK, "3.13 close");
  checkInt(b.nDestroy, 2, "3.14 closing calls xDestroy");
  checkInt(a.nDestroy, 1, "3.15 old argument not destroyed twice");

  /* xCdcHook on a connection without the extension fails and does not
  ** take ownership of pArg. */
  sqlite3_open(":memory:", &dbPlain);
  rc = pApi->xCdcHook(dbPlain, recEvent, &a, recDestroy);
  check(rc!=SQLITE_OK, "3.16 xCdcHook without the extension fails", 0);
  checkInt(a.nDestroy, 1, "3.17 failed xCdcHook does not call xDestroy");
  checkInt(sqlite3_close(dbPlain), SQLITE_OK, "3.18 close plain db");

  recClear(&a);
  recClear(&b);
}

/* 4. sqlite3_close() (not _v2) finds no unfinalized statement. */
static void testClose(void){
  static const struct {
    const char *zName;
    const char *zSql;
  } aCase[] = {
    { "4.1 nothing", "" },
    { "4.2 produce",
      "SELECT stream_create_topic('t', 2);"
      " SELECT stream_produce('t', 'k', '{}');" },
    { "4.3 produce and reads",
      "SELECT stream_create_topic('t', 2);"
      " SELECT stream_produce('t', 'k', '{}');"
      " INSERT INTO stream_messages(topic, key, value) VALUES('t', 'k', '1');"
      " SELECT stream_produce_batch('t', '[{\"key\":\"a\",\"value\":1}]');"
      " SELECT stream_commit('g', 't', 0, 0);"
      " INSERT INTO stream_offsets(group_id, topic, partition, offset)"
      "   VALUES('h', 't', 1, 0);"
      " SELECT * FROM stream_messages WHERE topic='t' AND partition=0"
      "   AND offset>=0 ORDER BY offset LIMIT 5;"
      " SELECT * FROM stream_messages;"
      " SELECT * FROM stream_topics; SELECT * FROM stream_partitions;"
      " SELECT * FROM stream_offsets WHERE group_id='g';"
      " SELECT stream_config('cdc.topic');" },
    { "4.4 after ROLLBACK",
      "SELECT stream_create_topic('t', 2);"
      " BEGIN; SELECT stream_produce('t', 'k', '{}');"
      " INSERT INTO stream_messages(topic, key, value) VALUES('t', 'k', '1');"
      " SELECT * FROM stream_messages WHERE topic='t';"
      " ROLLBACK;" },
    { "4.5 transaction left open",
      "SELECT stream_create_topic('t', 2);"
      " BEGIN; SELECT stream_produce('t', 'k', '{}');"
      " SELECT stream_commit('g', 't', 0, 0);"
      " SELECT * FROM stream_messages WHERE topic='t';" },
    { "4.6 INSERT in a transaction left open",
      "SELECT stream_create_topic('t', 2);"
      " BEGIN; INSERT INTO stream_messages(topic, key, value)"
      "   VALUES('t', 'k', '1');"
      " SAVEPOINT s; SELECT stream_produce('t', 'k', '{}'); ROLLBACK TO s;" },
    { "4.7 CDC topic",
      "SELECT stream_create_topic('t', 2); SELECT stream_create_topic('c', 1);"
      " SELECT stream_config('cdc.topic', 'c');"
      " SELECT stream_produce('t', 'k', '{}');" },
    { "4.8 catalog changes",
      "SELECT stream_create_topic('t', 2);"
      " SELECT stream_alter_topic('t', '{\"retention.ms\":1000}');"
      " SELECT stream_add_partitions('t', 3);"
      " SELECT stream_produce('t', 'k', '{}');"
      " SELECT stream_delete_topic('t');" },
    { "4.9 reads of a database without storage",
      "SELECT * FROM stream_topics; SELECT * FROM stream_messages;"
      " SELECT * FROM stream_offsets; SELECT stream_config('cdc.topic');" },
  };
  size_t i;
  for(i=0; i<sizeof(aCase)/sizeof(aCase[0]); i++){
    sqlite3 *db = openStream(":memory:");
    char zName[200];
    if( aCase[i].zSql[0] ) execOk(db, aCase[i].zSql, aCase[i].zName);
    snprintf(zName, sizeof(zName), "%s: sqlite3_close", aCase[i].zName);
    checkInt(sqlite3_close(db), SQLITE_OK, zName);
  }

  /* After errors (no such topic before and after the storage exists). */
  {
    sqlite3 *db = openStream(":memory:");
    int rc = sqlite3_exec(db, "SELECT stream_produce('x', 'k', '{}')", 0,0,0);
    check(rc!=SQLITE_OK, "4.10 produce to a missing topic fails", 0);
    execOk(db, "SELECT stream_create_topic('t', 1)", "4.11 create");
    rc = sqlite3_exec(db, "SELECT stream_produce('t', 'k', 'bad')", 0, 0, 0);
    check(rc!=SQLITE_OK, "4.12 bad value fails", 0);
    rc = sqlite3_exec(db, "SELECT stream_commit('g', 't', 0, 7)", 0, 0, 0);
    check(rc!=SQLITE_OK, "4.13 bad commit fails", 0);
    checkInt(sqlite3_close(db), SQLITE_OK, "4.14 close after errors");
  }

  /* A file database reopened: the storage exists from the start. */
  {
    const char *zFile = "test_capi.db";
    sqlite3 *db;
    remove(zFile);
    db = openStream(zFile);
    execOk(db, "PRAGMA journal_mode=WAL; SELECT stream_create_topic('t', 1);"
               " SELECT stream_produce('t', 'k', '{}');", "4.15 file db");
    checkInt(sqlite3_close(db), SQLITE_OK, "4.16 close file db");
    db = openStream(zFile);
    execOk(db, "BEGIN; SELECT stream_produce('t', 'k', '{}');"
               " SELECT count(*) FROM stream_messages WHERE topic='t';",
               "4.17 reopen");
    checkInt(sqlite3_close(db), SQLITE_OK, "4.18 close with open txn");
    remove(zFile);
    remove("test_capi.db-wal");
    remove("test_capi.db-shm");
  }
}

/* 4. xRebalanceHook: the seed's group.on('rebalance', ...) */
static void testRebalanceHook(void){
  sqlite3 *db = 0;
  const sqlite3_stream_api *pApi;
  Recorder r;
  int rc;
  recInit(&r);
  sqlite3_open(":memory:", &db);
  sqlite3_stream_init(db, 0, 0);
  pApi = sqlite3_stream_api_get(db);
  if( pApi==0 ){ check(0, "4.0 api", 0); sqlite3_close(db); return; }
  check(pApi->xRebalanceHook!=0, "4.1 xRebalanceHook present", 0);
  rc = pApi->xRebalanceHook(db, recEvent, &r, recDestroy);
  checkInt(rc, SQLITE_OK, "4.2 xRebalanceHook");
  execOk(db, "SELECT stream_create_topic('orders', 8)", "4.3 topic");
  execOk(db, "SELECT stream_join('op', 'c1', '[\"orders\"]')", "4.4 join c1");
  execOk(db, "SELECT stream_join('op', 'c2', '[\"orders\"]')", "4.5 join c2");
  checkInt(r.nEvent, 2, "4.6 two rebalances");
  checkStr(recGet(&r, 1),
      "{\"type\":\"stream.rebalance\",\"groupId\":\"op\",\"generation\":2,"
      "\"members\":[\"c1\",\"c2\"],\"assignment\":{\"c1\":{\"orders\":"
      "[0,1,2,3]},\"c2\":{\"orders\":[4,5,6,7]}}}", "4.7 event");
  execOk(db, "SELECT stream_leave('op', 'c2')", "4.8 leave");
  checkInt(r.nEvent, 3, "4.9 rebalance on leave");
  check(r.bLenOk, "4.10 nJson", 0);
  /* a rebalance in a rolled-back transaction is still reported (like
  ** sqlite3_update_hook), but the group is unchanged */
  execOk(db, "BEGIN; SELECT stream_join('op', 'c3', '[\"orders\"]'); ROLLBACK",
         "4.11 join rolled back");
  checkInt(r.nEvent, 4, "4.12 reported");
  rc = pApi->xRebalanceHook(db, 0, 0, 0);
  checkInt(r.nDestroy, 1, "4.13 removing calls xDestroy");
  recClear(&r);
  sqlite3_close(db);
}

/* 5. No JSON, no load: the probe of ext/main.c. */
static void testNoJson(void){
  static const char *azKeep[] = { "json_each", 0 };
  sqlite3 *db = 0;
  char *zErr = 0;
  int rc;

  sqlite3_open(":memory:", &db);
  checkInt(sqlite3_drop_modules(db, 0), SQLITE_OK, "nojson.1 drop_modules");
  rc = sqlite3_stream_init(db, &zErr, 0);
  checkInt(rc, SQLITE_ERROR, "nojson.2 init fails");
  checkStr(zErr, "stream: JSON support is missing (no such table: "
           "json_each): sqlite-stream needs SQLite's JSON functions and "
           "json_each (built in unless SQLite is compiled with "
           "SQLITE_OMIT_JSON)", "nojson.3 message");
  sqlite3_free(zErr);
  zErr = 0;
  check(sqlite3_exec(db, "SELECT stream_version()", 0, 0, 0)==SQLITE_ERROR,
        "nojson.4 nothing registered", 0);
  checkInt(sqlite3_close(db), SQLITE_OK, "nojson.5 close");

  sqlite3_open(":memory:", &db);
  checkInt(sqlite3_drop_modules(db, azKeep), SQLITE_OK, "nojson.6 keep");
  rc = sqlite3_stream_init(db, &zErr, 0);
  checkInt(rc, SQLITE_OK, "nojson.7 init with json_each");
  checkStr(zErr, 0, "nojson.8 no message");
  sqlite3_free(zErr);
  execOk(db, "SELECT stream_create_topic('t', 1)", "nojson.9 usable");

  /* The probe creates no eponymous table, which SQLite 3.40 would leave
  ** dangling across a sqlite3_deserialize() of main (a crash at the next
  ** json_each): load, replace main, use json_each. */
  {
    sqlite3 *db2 = 0;
    sqlite3_int64 nDb = 0;
    unsigned char *aSer = sqlite3_serialize(db, "main", &nDb, 0);
    unsigned char *aCopy = aSer ? sqlite3_malloc64((sqlite3_uint64)nDb) : 0;
    check(aCopy!=0, "nojson.10 serialize", 0);
    sqlite3_open(":memory:", &db2);
    checkInt(sqlite3_stream_init(db2, 0, 0), SQLITE_OK, "nojson.11 init");
    if( aCopy ){
      memcpy(aCopy, aSer, (size_t)nDb);
      checkInt(sqlite3_deserialize(db2, "main", aCopy, nDb, nDb,
                   SQLITE_DESERIALIZE_FREEONCLOSE
                   |SQLITE_DESERIALIZE_RESIZEABLE), SQLITE_OK,
               "nojson.12 deserialize");
    }
    execOk(db2, "SELECT count(*) FROM json_each('[1,2]'), stream_topics",
           "nojson.13 json_each after deserialize");
    sqlite3_free(aSer);
    checkInt(sqlite3_close(db2), SQLITE_OK, "nojson.14 close");
  }
  checkInt(sqlite3_close(db), SQLITE_OK, "nojson.15 close");
}

/* One integer from SQL, or -1. */
static int queryIntCb(void *pArg, int nCol, char **azVal, char **azCol){
  (void)azCol;
  if( nCol>0 && azVal[0] ) *(long long*)pArg = atoll(azVal[0]);
  return 0;
}
static long long queryInt(sqlite3 *db, const char *zSql){
  long long v = -1;
  sqlite3_exec(db, zSql, queryIntCb, &v, 0);
  return v;
}

#define POLL_POS "SELECT stream_position('cg', 'm', 'c', 0)"
#define POLL_COMMITTED \
  "SELECT offset FROM stream_offsets WHERE group_id='cg' AND topic='c'"

/* 6. Partial polls through sqlite3_step(). */
static void testPollSteps(void){
  const char *zFile = "test_capi_poll.db";
  sqlite3 *db, *db2;
  sqlite3_stmt *pStmt = 0;
  int i, rc;
  remove(zFile);
  db = openStream(zFile);
  execOk(db, "PRAGMA journal_mode=WAL; SELECT stream_create_topic('c', 1);"
      " WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n"
      " WHERE i<19) SELECT stream_produce('c', NULL, '{}') FROM n;"
      " SELECT stream_join('cg', 'm', '[\"c\"]', '{\"auto.offset.reset\":"
      "\"earliest\",\"enable.auto.commit\":false}');", "6.0 setup");
  rc = sqlite3_prepare_v2(db, "SELECT offset FROM stream_poll('cg', 'm', 10)",
                          -1, &pStmt, 0);
  checkInt(rc, SQLITE_OK, "6.1 prepare");
  if( rc ){ sqlite3_close(db); return; }

  /* One step, then sqlite3_reset(): one row delivered. */
  checkInt(sqlite3_step(pStmt), SQLITE_ROW, "6.2 step");
  checkInt(sqlite3_column_int64(pStmt, 0), 0, "6.3 offset 0");
  checkInt(sqlite3_reset(pStmt), SQLITE_OK, "6.4 reset");
  checkInt(queryInt(db, POLL_POS), 1, "6.5 position after one step");
  execOk(db, "SELECT stream_commit_sync('cg', 'm')", "6.6 commit");
  checkInt(queryInt(db, POLL_COMMITTED), 1, "6.7 committed 1, not 10");

  /* A commitSync while the statement is pending commits what it handed
  ** out so far. */
  checkInt(sqlite3_step(pStmt), SQLITE_ROW, "6.8 step");
  checkInt(sqlite3_column_int64(pStmt, 0), 1, "6.9 offset 1");
  checkInt(sqlite3_step(pStmt), SQLITE_ROW, "6.10 step");
  execOk(db, "SELECT stream_commit_sync('cg', 'm')", "6.11 commit pending");
  checkInt(queryInt(db, POLL_COMMITTED), 3, "6.12 committed 3");
  checkInt(sqlite3_step(pStmt), SQLITE_ROW, "6.13 step");
  checkInt(sqlite3_finalize(pStmt), SQLITE_OK, "6.14 finalize");
  checkInt(queryInt(db, POLL_POS), 4, "6.15 position after finalize");

  /* Every row stepped, the statement neither reset nor finalized yet. */
  rc = sqlite3_prepare_v2(db, "SELECT offset FROM stream_poll('cg', 'm', 10)",
                          -1, &pStmt, 0);
  i = 0;
  if( rc==SQLITE_OK ){
    while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ) i++;
  }
  checkInt(rc, SQLITE_DONE, "6.16 done");
  checkInt(i, 10, "6.17 ten rows");
  checkInt(queryInt(db, POLL_POS), 14, "6.18 position at the last row");
  sqlite3_reset(pStmt);

  /* Another connection commits while the poll runs: the position moves
  ** all the same (a poll writes nothing: no stale snapshot to meet). */
  db2 = openStream(zFile);
  checkInt(sqlite3_step(pStmt), SQLITE_ROW, "6.19 step");
  checkInt(sqlite3_column_int64(pStmt, 0), 14, "6.20 offset 14");
  execOk(db2, "SELECT stream_produce('c', NULL, '{}')", "6.21 produce");
  checkInt(sqlite3_reset(pStmt), SQLITE_OK, "6.22 reset");
  checkInt(queryInt(db, POLL_POS), 15, "6.23 moved past offset 14");
  checkInt(sqlite3_step(pStmt), SQLITE_ROW, "6.24 next poll");
  checkInt(sqlite3_column_int64(pStmt, 0), 15, "6.25 goes on at 15");
  execOk(db2, "SELECT stream_produce('c', NULL, '{}')", "6.26 produce");
  sqlite3_finalize(pStmt);
  checkInt(queryInt(db, POLL_POS), 16, "6.27 moved past offset 15");
  /* Positions never committed are gone with the connection; the
  ** committed offset is what the next owner starts from. */
  checkInt(sqlite3_close(db), SQLITE_OK, "6.28 close");
  checkInt(queryInt(db2, POLL_COMMITTED), 3, "6.29 committed offset kept");
  sqlite3_close(db2);
  remove(zFile);
  remove("test_capi_poll.db-wal");
  remove("test_capi_poll.db-shm");
}

/* ---------------------------------------------------------------------- */
/* 9. A shim VFS with a frozen clock that counts the reads and the shared
** memory locks of the main database and its WAL (nLookIo), and apart the
** page reads (nLookPages: xRead calls). */
typedef struct LookFile LookFile;
struct LookFile {
  sqlite3_file base;
  sqlite3_file *pReal;         /* The real file (follows this struct) */
  int bCount;                  /* A main database or WAL: counted */
};
static sqlite3_vfs *pLookReal = 0;
static sqlite3_vfs lookVfs;
static sqlite3_int64 iLookClock = 210866760000000LL + 1700000000000LL;
static int nLookIo = 0;
static int nLookPages = 0;

#define LOOK_REAL(f) (((LookFile*)(f))->pReal)
static int lookClose(sqlite3_file *f){
  return LOOK_REAL(f)->pMethods->xClose(LOOK_REAL(f));
}
static int lookRead(sqlite3_file *f, void *p, int n, sqlite3_int64 o){
  if( ((LookFile*)f)->bCount ){
    nLookIo++;
    nLookPages++;
  }
  return LOOK_REAL(f)->pMethods->xRead(LOOK_REAL(f), p, n, o);
}
static int lookWrite(sqlite3_file *f, const void *p, int n, sqlite3_int64 o){
  return LOOK_REAL(f)->pMethods->xWrite(LOOK_REAL(f), p, n, o);
}
static int lookTruncate(sqlite3_file *f, sqlite3_int64 n){
  return LOOK_REAL(f)->pMethods->xTruncate(LOOK_REAL(f), n);
}
static int lookSync(sqlite3_file *f, int flags){
  return LOOK_REAL(f)->pMethods->xSync(LOOK_REAL(f), flags);
}
static int lookFileSize(sqlite3_file *f, sqlite3_int64 *pn){
  return LOOK_REAL(f)->pMethods->xFileSize(LOOK_REAL(f), pn);
}
static int lookLock(sqlite3_file *f, int e){
  return LOOK_REAL(f)->pMethods->xLock(LOOK_REAL(f), e);
}
static int lookUnlock(sqlite3_file *f, int e){
  return LOOK_REAL(f)->pMethods->xUnlock(LOOK_REAL(f), e);
}
static int lookReserved(sqlite3_file *f, int *pb){
  return LOOK_REAL(f)->pMethods->xCheckReservedLock(LOOK_REAL(f), pb);
}
static int lookFcntl(sqlite3_file *f, int op, void *pArg){
  return LOOK_REAL(f)->pMethods->xFileControl(LOOK_REAL(f), op, pArg);
}
static int lookSector(sqlite3_file *f){
  return LOOK_REAL(f)->pMethods->xSectorSize(LOOK_REAL(f));
}
static int lookDevice(sqlite3_file *f){
  return LOOK_REAL(f)->pMethods->xDeviceCharacteristics(LOOK_REAL(f));
}
static int lookShmMap(sqlite3_file *f, int i, int sz, int b, void volatile **pp){
  return LOOK_REAL(f)->pMethods->xShmMap(LOOK_REAL(f), i, sz, b, pp);
}
static int lookShmLock(sqlite3_file *f, int ofst, int n, int flags){
  if( ((LookFile*)f)->bCount ) nLookIo++;
  return LOOK_REAL(f)->pMethods->xShmLock(LOOK_REAL(f), ofst, n, flags);
}
static void lookShmBarrier(sqlite3_file *f){
  LOOK_REAL(f)->pMethods->xShmBarrier(LOOK_REAL(f));
}
static int lookShmUnmap(sqlite3_file *f, int bDelete){
  return LOOK_REAL(f)->pMethods->xShmUnmap(LOOK_REAL(f), bDelete);
}
static const sqlite3_io_methods lookIo = {
  2, lookClose, lookRead, lookWrite, lookTruncate, lookSync, lookFileSize,
  lookLock, lookUnlock, lookReserved, lookFcntl, lookSector, lookDevice,
  lookShmMap, lookShmLock, lookShmBarrier, lookShmUnmap, 0, 0
};
static int lookOpen(sqlite3_vfs *pVfs, const char *zName, sqlite3_file *f,
                    int flags, int *pOut){
  LookFile *p = (LookFile*)f;
  int rc;
  (void)pVfs;
  memset(p, 0, sizeof(*p));
  p->pReal = (sqlite3_file*)&p[1];
  p->bCount = (flags & (SQLITE_OPEN_MAIN_DB|SQLITE_OPEN_WAL))!=0;
  rc = pLookReal->xOpen(pLookReal, zName, p->pReal, flags, pOut);
  p->base.pMethods = p->pReal->pMethods ? &lookIo : 0;
  return rc;
}
static int lookTime(sqlite3_vfs *pVfs, sqlite3_int64 *p){
  (void)pVfs;
  *p = iLookClock;
  return SQLITE_OK;
}

static long long lookQuery(sqlite3 *db, const char *zSql, int *pnIo){
  long long v;
  nLookIo = 0;
  nLookPages = 0;
  v = queryInt(db, zSql);
  *pnIo = nLookIo;
  return v;
}

#define LOOK_POLL "SELECT count(*) FROM stream_poll('lg', 'm')"
#define LOOK_LONG_POLL "SELECT count(*) FROM stream_poll('lg', 'm', 500, 1000)"

#define LOOK_PRODUCE "SELECT stream_produce('lk', NULL, '{}')"

/* 9. A poll answered by the previous poll's look. */
static void testPollLook(void){
  const char *zFile = "test_capi_look.db";
  sqlite3 *db, *db2;
  char *zErr = 0, zPages[64];
  int nIo = 0, rc;
  pLookReal = sqlite3_vfs_find(0);
  lookVfs = *pLookReal;
  lookVfs.iVersion = 2;
  lookVfs.zName = "lookvfs";
  lookVfs.pNext = 0;
  lookVfs.szOsFile = (int)sizeof(LookFile) + pLookReal->szOsFile;
  lookVfs.xOpen = lookOpen;
  lookVfs.xCurrentTimeInt64 = lookTime;
  sqlite3_vfs_register(&lookVfs, 1);
  remove(zFile);
  db = openStream(zFile);
  db2 = openStream(zFile);
  execOk(db2, "PRAGMA journal_mode=WAL; SELECT stream_create_topic('lk', 1);"
      " SELECT stream_produce('lk', NULL, '{}') FROM json_each('[1,2,3]');",
      "11.0 setup");
  execOk(db, "SELECT stream_join('lg', 'm', '[\"lk\"]', '{\"auto.offset."
      "reset\":\"earliest\",\"enable.auto.commit\":false}')", "11.0 join");
  checkInt(lookQuery(db, LOOK_POLL, &nIo), 3, "11.1 first poll: 3 rows");
  check(nIo>0, "11.2 first poll reads", "no read counted");
  /* The first poll wrote its poll time (a commit): the next one looks. */
  checkInt(lookQuery(db, LOOK_POLL, &nIo), 0, "11.3 nothing new");
  check(nIo>0, "11.4 after the first poll's write it reads", "no read");
  checkInt(lookQuery(db, LOOK_POLL, &nIo), 0, "11.5 again");
  checkInt(nIo, 0, "11.6 again: no read, no lock");

  /* A commit: the next poll looks. */
  execOk(db2, LOOK_PRODUCE, "11.7 produce");
  checkInt(lookQuery(db, LOOK_POLL, &nIo), 1, "11.8 the new message");
  check(nIo>0, "11.9 after a commit the poll reads", "no read counted");

  /* A poll stopped early (LIMIT): its look does not answer for the next
  ** one, which returns the rest; then that one's look does. */
  execOk(db2, LOOK_PRODUCE "; " LOOK_PRODUCE, "11.10 produce two");
  checkInt(lookQuery(db, "SELECT offset FROM stream_poll('lg', 'm') LIMIT 1",
                     &nIo), 4, "11.11 one of two");
  checkInt(lookQuery(db, "SELECT group_concat(offset) FROM"
                     " stream_poll('lg', 'm')", &nIo), 5, "11.12 the other");
  checkInt(lookQuery(db, LOOK_POLL, &nIo), 0, "11.13 then nothing");
  checkInt(nIo, 0, "11.14 then no read");

  /* A seek writes (a commit): the next poll reads from the target. */
  execOk(db, "SELECT stream_seek('lg', 'lk', 0, 1)", "11.15 seek");
  checkInt(lookQuery(db, LOOK_POLL, &nIo), 5, "11.16 from the seek target");

  /* A look after another connection's commit starts with an empty page
  ** cache (a new snapshot): it reads page 1, the group, the member, the
  ** assignment, the partition and the log - not _stream_topics (the
  ** partition counts of the assignment come from _stream_partitions). */
  checkInt(lookQuery(db, LOOK_POLL, &nIo), 0, "11.19 nothing new");
  execOk(db2, LOOK_PRODUCE, "11.20 produce");
  checkInt(lookQuery(db, LOOK_POLL, &nIo), 1, "11.21 the new message");
  snprintf(zPages, sizeof(zPages), "%d page reads", nLookPages);
  check(nLookPages>0 && nLookPages<=6, "11.22 the look reads at most 6 pages",
        zPages);

  /* Dense traffic: a poll stopped early, then the rest; ... */
  {
    execOk(db2, LOOK_PRODUCE "; " LOOK_PRODUCE, "11.23 produce two");
    checkInt(lookQuery(db, "SELECT offset FROM stream_poll('lg', 'm', 500,"
                       " 1000) LIMIT 1", &nIo), 7,
             "11.23 long poll, one of two");
    checkInt(lookQuery(db, LOOK_LONG_POLL, &nIo), 1, "11.24 the other");
    /* ... and polls after one that left messages behind (max_records):
    ** 100 of them, one message each, each the next offset.  (That they do
    ** not nap out the gap is a matter of time, which no unit test
    ** measures: bench_latency's polls a message shows it.) */
    execOk(db2, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1"
                " FROM n WHERE i<101) SELECT stream_produce('lk', NULL, '{}')"
                " FROM n", "11.26 produce 101");
    checkInt(lookQuery(db, "SELECT count(*) FROM stream_poll('lg', 'm', 1,"
                       " 1000)", &nIo), 1, "11.26 first");
    for(rc=0; rc<100; rc++){
      if( lookQuery(db, "SELECT count(*) FROM stream_poll('lg', 'm', 1,"
                    " 1000)", &nIo)!=1 ) break;
    }
    checkInt(rc, 100, "11.26 100 polls of one");
  }

  /* Fenced by a join elsewhere: the next poll says so. */
  execOk(db2, "SELECT stream_join('lg', 'm', '[\"lk\"]')", "11.17 rejoin");
  rc = sqlite3_exec(db, LOOK_POLL, 0, 0, &zErr);
  check(rc!=SQLITE_OK && zErr && strstr(zErr, "fenced")!=0,
        "11.18 fenced", zErr ? zErr : "no error");
  sqlite3_free(zErr);
  sqlite3_close(db);
  sqlite3_close(db2);
  sqlite3_vfs_unregister(&lookVfs);
  remove(zFile);
  remove("test_capi_look.db-wal");
  remove("test_capi_look.db-shm");
}

/* Fault injection: allocation number nFailAt (counted from when it is
** set) fails, and every one after it while bFailRest is set. */
static sqlite3_mem_methods memOrig;
static int nFailAt = 0;
static int nAllocs = 0;
static int bFailRest = 0;
static int faultNow(void){
  if( nFailAt==0 ) return 0;
  nAllocs++;
  return nAllocs==nFailAt || (bFailRest && nAllocs>nFailAt);
}
static void *faultMalloc(int n){
  return faultNow() ? 0 : memOrig.xMalloc(n);
}
static void *faultRealloc(void *p, int n){
  return faultNow() ? 0 : memOrig.xRealloc(p, n);
}

/* 7. Partial polls (three rows of five, then a commitSync) with the n-th
** allocation failing (with bRest, every one from the n-th), for every n
** until one runs without reaching it. */
static void testPollFaults(int bRest){
  sqlite3 *db = openStream(":memory:");
  long long iNext = 0, iPos, iCommitted;
  int n, nBad = 0, nDone = 0;
  bFailRest = bRest;
  execOk(db, "SELECT stream_create_topic('f', 1);"
      " WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c"
      " WHERE i<999) SELECT count(stream_produce('f', NULL, '{}')) FROM c;"
      " SELECT stream_join('fg', 'm', '[\"f\"]', '{\"auto.offset.reset\":"
      "\"earliest\",\"enable.auto.commit\":false}');", "7.0 setup");
  for(n=1; n<2000 && !nDone; n++){
    sqlite3_stmt *pStmt = 0;
    int i;
    nAllocs = 0;
    nFailAt = n;
    if( sqlite3_prepare_v2(db, "SELECT offset FROM stream_poll('fg', 'm', 5)",
                           -1, &pStmt, 0)==SQLITE_OK ){
      for(i=0; i<3 && sqlite3_step(pStmt)==SQLITE_ROW; i++){
        long long iOff = sqlite3_column_int64(pStmt, 0);
        if( iOff>iNext ) nBad++;                 /* a row skipped */
        if( iOff+1>iNext ) iNext = iOff + 1;
      }
    }
    sqlite3_finalize(pStmt);
    sqlite3_exec(db, "SELECT stream_commit_sync('fg', 'm')", 0, 0, 0);
    nDone = nAllocs<nFailAt;     /* the failure point was not reached */
    nFailAt = 0;
    iPos = queryInt(db, "SELECT stream_position('fg', 'm', 'f', 0)");
    iCommitted = queryInt(db, "SELECT offset FROM stream_offsets"
                              " WHERE group_id='fg'");
    if( iPos>iNext || iCommitted>iNext ) nBad++;
  }
  check(nDone, "7.1 a run without failures reached", 0);
  checkInt(nBad, 0, "7.2 no row skipped, nothing past the rows returned");
  check(iNext>=3 && n>20, "7.3 rows were returned, failures injected", 0);
  if( getenv("STREAM_VERBOSE") ) printf("7: %d runs, %lld rows\n", n, iNext);
  checkInt(sqlite3_close(db), SQLITE_OK, "7.4 close");
}

/* 8. Calls with the n-th allocation failing (with bRest, every one from
** the n-th), for every n until one runs without reaching it.  Each run starts from the state the setup makes
** (a fresh database after a call that succeeded). */
static const char zFaultSetup[] =
  "SELECT stream_create_topic('f', 4);"
  " WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c"
  " WHERE i<19) SELECT count(stream_produce('f', 'k'||i, '{}', NULL, i%4))"
  " FROM c;"
  " SELECT stream_commit('fg', 'f', 2, 2);"  /* stream_dead_letter's 1 */
  " SELECT stream_join('fg', 'a', '[\"f\"]', '{\"auto.offset.reset\":"
  "\"earliest\",\"enable.auto.commit\":false}');"
  " SELECT stream_commit('og', 'f', 0, 1);";
static const char zFaultDigest[] =
  "SELECT (SELECT group_concat(x, ';') FROM (SELECT group_id||'/'"
  "||generation||'/'||coalesce(leader,'')||'/'||members||'/'||assignment"
  " AS x FROM _stream_groups ORDER BY 1))"
  "||'|'||(SELECT group_concat(x, ';') FROM (SELECT group_id||'/'"
  "||member_id||'/'||incarnation||'/'||heartbeat_at||'/'"
  "||coalesce(polled_at,'') AS x FROM _stream_members ORDER BY 1))"
  "||'|'||(SELECT group_concat(x, ';') FROM (SELECT group_id||'/'||topic"
  "||'/'||partition||'/'||member_id||'/'||coalesce(position,'')||'/'"
  "||paused AS x FROM _stream_assignments ORDER BY 1))"
  "||'|'||(SELECT group_concat(x, ';') FROM (SELECT group_id||'/'||topic"
  "||'/'||partition||'/'||offset||'/'||coalesce(metadata,'') AS x"
  " FROM _stream_offsets ORDER BY 1))"
  "||'|'||(SELECT group_concat(x, ';') FROM (SELECT name||'/'||partitions"
  "||'/'||config AS x FROM _stream_topics ORDER BY 1))"
  "||'|'||(SELECT group_concat(x, ';') FROM (SELECT topic||'/'||partition"
  "||'/'||next_offset||'/'||log_start_offset AS x FROM _stream_partitions"
  " ORDER BY 1))"
  "||'|'||(SELECT count(*) FROM stream_messages)";

static char *faultDigest(sqlite3 *db){
  sqlite3_stmt *pStmt = 0;
  char *z = 0;
  if( sqlite3_prepare_v2(db, zFaultDigest, -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW ){
    z = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 0));
  }
  sqlite3_finalize(pStmt);
  return z;
}

static sqlite3 *faultOpen(void){
  sqlite3 *db = openStream(":memory:");
  execOk(db, zFaultSetup, "8.0 setup");
  return db;
}

static void testCallFaults(int bRest){
  static const char *const azCall[] = {
    "SELECT stream_join('fg', 'b', '[\"f\"]', '{\"auto.offset.reset\":"
      "\"earliest\",\"enable.auto.commit\":false}')",
    "SELECT stream_join('fg', 'a', '[\"f\"]', '{\"auto.offset.reset\":"
      "\"earliest\",\"enable.auto.commit\":false}')",
    "SELECT stream_leave('fg', 'a')",
    "SELECT count(*) FROM stream_poll('fg', 'a')",
    "SELECT stream_assignment('fg', 'a')",
    "SELECT stream_pause('fg', 'a', 'f', 0)",
    "SELECT stream_seek('fg', 'f', 1, 'earliest')",
    "SELECT stream_seek('og', 'f', 1, 'latest')",
    "SELECT stream_commit('fg', 'f', 0, 2, 'm', 'a')",
    "SELECT stream_dead_letter('fg', 'a', 'f', 2, 1, 'bad')",
    "SELECT stream_offset_for_time('f', 3, 0)",
    "UPDATE stream_offsets SET offset=0 WHERE group_id='og'",
    "DELETE FROM stream_offsets WHERE group_id='og'",
    "SELECT stream_maintain()",
    "SELECT stream_compaction()",
    "SELECT stream_delete_topic('f')",
  };
  int i, nBad = 0, nRuns = 0, nOpen = 0, nLeft = 0;
  bFailRest = bRest;
  for(i=0; i<(int)(sizeof(azCall)/sizeof(azCall[0])); i++){
    sqlite3 *db = faultOpen();
    int n, bDone = 0, nOk = 0;
    for(n=1; n<20000 && !bDone; n++){
      char *zBefore = faultDigest(db), *zAfter;
      char *zErr = 0;
      int rc;
      nAllocs = 0;
      nFailAt = n;
      rc = sqlite3_exec(db, azCall[i], 0, 0, &zErr);
      bDone = nAllocs<nFailAt;
      nFailAt = 0;
      nRuns++;
      if( rc!=SQLITE_OK && !sqlite3_get_autocommit(db) && (n & 1) ){
        /* The application goes on without the ROLLBACK: the next call
        ** (one that fails, changing nothing) rolls the first one back. */
        nLeft++;
        sqlite3_exec(db, "SELECT stream_pause('fg', 'nobody', 'f', 0)", 0,
                     0, 0);
        if( !sqlite3_get_autocommit(db) && nBad++<10 ){
          printf("FAIL 8.7 %s (allocation %d): the next call did not roll"
                 " back the transaction left open\n", azCall[i], n);
        }
      }
      if( rc!=SQLITE_OK && !sqlite3_get_autocommit(db) ){
        nOpen++;                         /* the application rolls back */
        if( sqlite3_exec(db, "ROLLBACK", 0, 0, 0)!=SQLITE_OK
         && nBad++<10 ){
          printf("FAIL 8.2 %s (allocation %d): ROLLBACK failed\n",
                 azCall[i], n);
        }
      }
      zAfter = faultDigest(db);
      if( rc!=SQLITE_OK && (rc&0xff)!=SQLITE_NOMEM ){
        if( nBad++<10 ) printf("FAIL 8.1 %s (allocation %d): %d %s\n",
                               azCall[i], n, rc, zErr ? zErr : "");
      }else if( !sqlite3_get_autocommit(db) ){
        if( nBad++<10 ) printf("FAIL 8.2 %s (allocation %d): the call"
                               " succeeded, its transaction is open\n",
                               azCall[i], n);
      }else if( rc!=SQLITE_OK && (zBefore==0 || zAfter==0
                                  || strcmp(zBefore, zAfter)!=0) ){
        if( nBad++<10 ) printf("FAIL 8.3 %s (allocation %d): changed\n"
                               "  before: %s\n  after:  %s\n", azCall[i], n,
                               zBefore ? zBefore : "?", zAfter ? zAfter : "?");
      }
      sqlite3_free(zErr);
      sqlite3_free(zBefore);
      sqlite3_free(zAfter);
      if( rc==SQLITE_OK && !bDone ){
        nOk++;                           /* start again from the setup */
        sqlite3_close(db);
        db = faultOpen();
      }
    }
    if( !bDone && nBad++<10 ){
      printf("FAIL 8.4 %s: no run without failures\n", azCall[i]);
    }
    if( getenv("STREAM_VERBOSE") ){
      printf("8: %s: %d runs, %d succeeded with a failed allocation\n",
             azCall[i], n-1, nOk);
    }
    checkInt(sqlite3_close(db), SQLITE_OK, "8.5 close");
  }
  checkInt(nBad, 0, "8.1-8.4 every call succeeds or fails cleanly");
  if( getenv("STREAM_VERBOSE") ){
    printf("8: %d of %d runs left the transaction to roll back\n", nOpen,
           nRuns);
  }
  check(nRuns>1000, "8.6 failures injected", 0);
  if( getenv("STREAM_VERBOSE") ) printf("8.7: %d left open\n", nLeft);
  /* Fewer since the savepoint statements are kept prepared (ext/txn.c):
  ** a ROLLBACK TO that needs no allocation ends most failed calls. */
  check(nLeft>20, "8.7 transactions left open rolled back by the next call",
        0);
}

/* 9. Record batches (ext/produce.c) with the n-th allocation failing
** (with bRest, every one from the n-th): a transaction of 40 produces,
** then COMMIT (ROLLBACK if that fails).  After every run the partition
** is gap-free and, if the commit succeeded, holds one more message for
** every produce that succeeded; reads inside the transaction see them. */
static void testBatchFaults(int bRest, int nPage){
  sqlite3 *db = openStream(":memory:");
  int n, nBad = 0, nDone = 0, nCommitted = 0;
  char zPage[64];
  bFailRest = bRest;
  /* 64 KiB pages: a batch's buffer grows as it fills (ext/produce.c), and
  ** a failed growth writes the batch out first. */
  snprintf(zPage, sizeof(zPage), "PRAGMA page_size=%d", nPage);
  execOk(db, zPage, "9.0 page size");
  execOk(db, "SELECT stream_create_topic('b', 2, '{\"retention.ms\":-1}')",
         "9.0 setup");
  checkInt(queryInt(db, "PRAGMA page_size"), nPage, "9.0 page size set");
  for(n=1; n<3000 && !nDone; n++){
    long long nBefore = queryInt(db, "SELECT count(*) FROM stream_messages"
                                     " WHERE topic='b'");
    int i, nOk = 0, rc;
    nAllocs = 0;
    nFailAt = n;
    rc = sqlite3_exec(db, "BEGIN", 0, 0, 0);
    for(i=0; rc==SQLITE_OK && i<40; i++){
      if( sqlite3_exec(db, nPage>4096 ? "SELECT stream_produce('b', NULL,"
              " json_quote(printf('%.*c', 900, 'v')), NULL, 0)"
              : "SELECT stream_produce('b', NULL,"
              " '{\"some\":\"value\"}', NULL, 0)", 0, 0, 0)==SQLITE_OK ){
        nOk++;
      }
    }
    if( rc==SQLITE_OK ){
      rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
      if( rc ) sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
    }
    nDone = nAllocs<nFailAt;     /* the failure point was not reached */
    nFailAt = 0;
    if( !sqlite3_get_autocommit(db) ) sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
    if( queryInt(db, "SELECT count(*) FROM stream_messages WHERE topic='b'"
                     " AND partition=0")
        !=queryInt(db, "SELECT high_watermark FROM stream_partitions"
                       " WHERE topic='b' AND partition=0") ){
      nBad++;                                    /* a gap */
    }
    if( rc==SQLITE_OK ){
      nCommitted++;
      if( queryInt(db, "SELECT count(*) FROM stream_messages"
                       " WHERE topic='b'")!=nBefore+nOk ) nBad++;
    }
  }
  check(nDone, "9.1 a run without failures reached", 0);
  checkInt(nBad, 0, "9.2 gap-free, every committed produce kept");
  check(nCommitted>0 && n>40, "9.3 commits made, failures injected", 0);
  check(queryInt(db, "SELECT count(*) FROM _stream_log WHERE attrs&8")>0,
        "9.4 batches written", 0);
  checkInt(sqlite3_close(db), SQLITE_OK, "9.5 close");
}

/* 10. The batch limits count the page's reserved bytes (page size 4096).
** A record is large when it takes more than a quarter of the one-page
** limit with its framing: with no reserved bytes that limit is 4 096 - 35
** - 26 = 4,035 and records of 970 bytes are small (4 * (970 + 32) <=
** 4,035): rows of four and two, no overflow page; with 32 reserved it is
** 4,003 and they are large: one row of six, over one overflow page. */
static void testReserveBytes(void){
  int iRes;
  for(iRes=0; iRes<=32; iRes+=32){
    sqlite3 *db = openStream(":memory:");
    int n = iRes;
    checkInt(sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &n),
             SQLITE_OK, "10.1 reserve bytes set");
    execOk(db, "SELECT stream_create_topic('r', 1); BEGIN;"
        " WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c"
        " WHERE i<5) SELECT count(stream_produce('r', NULL,"
        " json_quote(printf('%.*c', 968, 'x')))) FROM c; COMMIT;",
        "10.2 produce");
    n = -1;
    sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &n);
    checkInt(n, iRes, "10.3 reserve bytes kept");
    checkInt(queryInt(db, "SELECT count(*) FROM _stream_log WHERE attrs&8"),
             iRes ? 1 : 2, "10.4 batches by the usable size");
    checkInt(queryInt(db, "SELECT count(*) FROM stream_messages"
                          " WHERE length(value)=970"), 6, "10.5 read back");
    checkInt(queryInt(db, "SELECT count(*) FROM dbstat WHERE"
                          " name='_stream_log' AND pagetype='overflow'"),
             iRes ? 1 : 0, "10.6 overflow pages");
    checkInt(sqlite3_close(db), SQLITE_OK, "10.7 close");
  }
}

/* ---------------------------------------------------------------------- */
/* 12. The long-poll reader opens main's file through main's VFS, with its
** URI parameters.  A shim over the default VFS (not registered as the
** default) counts the main-database files opened through it read-only -
** only the reader opens it so - and checks each carries main's URI
** parameter; its files keep the VFS below's methods (a pass-through). */
static sqlite3_vfs *pAuxBelow = 0;
static sqlite3_vfs auxVfs;
static int nAuxReadOnly = 0;          /* main-db opens read-only, tagged */
static int nAuxUntagged = 0;          /* main-db opens without tag=7 */
static int auxOpen(sqlite3_vfs *pVfs, const char *zName, sqlite3_file *f,
                   int flags, int *pOut){
  int rc = pAuxBelow->xOpen(pAuxBelow, zName, f, flags, pOut);
  (void)pVfs;
  if( flags & SQLITE_OPEN_MAIN_DB ){
    const char *zTag = sqlite3_uri_parameter(zName, "tag");
    if( zTag==0 || strcmp(zTag, "7")!=0 ){
      nAuxUntagged++;
    }else if( rc==SQLITE_OK && (flags & SQLITE_OPEN_READONLY) ){
      nAuxReadOnly++;             /* the file exists: its name was right */
    }
  }
  return rc;
}
static void testAuxVfs(void){
  /* The file name needs escaping in a URI: " ?#%&=". */
  const char *zUri = "file:test_capi_aux%20%3F%23%25%26%3D.db?vfs=auxvfs&tag=7";
  sqlite3 *db = 0, *db2 = 0;
  char *zErr = 0;
  int rc;
  pAuxBelow = sqlite3_vfs_find(0);
  auxVfs = *pAuxBelow;
  auxVfs.zName = "auxvfs";
  auxVfs.pNext = 0;
  auxVfs.xOpen = auxOpen;
  checkInt(sqlite3_vfs_register(&auxVfs, 0), SQLITE_OK, "12.0 register");
  remove("test_capi_aux ?#%&=.db");
  remove("test_capi_aux ?#%&=.db-wal");
  remove("test_capi_aux ?#%&=.db-shm");
  remove("test_capi_aux ?#%&=.db-streamwake");
  rc = sqlite3_open_v2(zUri, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE
                       |SQLITE_OPEN_URI, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_stream_init(db, &zErr, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_open_v2(zUri, &db2, SQLITE_OPEN_READWRITE
                                           |SQLITE_OPEN_URI, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_stream_init(db2, &zErr, 0);
  checkInt(rc, SQLITE_OK, "12.1 open through the shim");
  sqlite3_free(zErr);
  execOk(db, "PRAGMA journal_mode=WAL; SELECT stream_create_topic('av', 1);"
      " SELECT stream_join('ag', 'm', '[\"av\"]', '{\"auto.offset."
      "reset\":\"earliest\",\"enable.auto.commit\":false}')", "12.2 setup");
  execOk(db2, "SELECT stream_produce('av', NULL, '{}') FROM"
      " json_each('[1,2]')", "12.3 produce");
  checkInt(nAuxReadOnly, 0, "12.4 no reader yet");
  /* A long poll and a wait read through the reader. */
  checkInt(queryInt(db, "SELECT count(*) FROM stream_poll('ag', 'm', 10, 5)"),
           2, "12.5 long poll: both messages");
  checkInt(nAuxReadOnly, 1, "12.6 the reader opened main's file through"
           " main's VFS, by its name (on main: through the default VFS, 0)");
  execOk(db2, "SELECT stream_produce('av', NULL, '{}')", "12.7 produce");
  checkInt(queryInt(db, "SELECT stream_wait('ag', 'm', 5)"), 1,
           "12.8 wait sees the new message");
  checkInt(queryInt(db, "SELECT group_concat(offset) FROM"
                    " stream_poll('ag', 'm', 10, 5)"), 2, "12.9 and polls it");
  checkInt(nAuxReadOnly, 1, "12.10 one reader, kept");
  checkInt(nAuxUntagged, 0, "12.11 every open carried tag=7");
  checkInt(sqlite3_close(db), SQLITE_OK, "12.12 close");
  /* Main's VFS no longer registered under its name: no reader (it could
  ** not be opened through that VFS), the polls read through main. */
  rc = sqlite3_open_v2(zUri, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_URI, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_stream_init(db, &zErr, 0);
  checkInt(rc, SQLITE_OK, "12.13 open again");
  sqlite3_free(zErr);
  execOk(db, "SELECT stream_join('ag2', 'm', '[\"av\"]', '{\"auto.offset."
      "reset\":\"earliest\"}')", "12.14 join");
  sqlite3_vfs_unregister(&auxVfs);
  checkInt(queryInt(db, "SELECT stream_wait('ag2', 'm', 5)"), 1,
           "12.15 unregistered: wait reads through main");
  checkInt(queryInt(db, "SELECT count(*) FROM stream_poll('ag2', 'm', 10,"
                    " 5)"), 3, "12.16 and the long poll");
  checkInt(nAuxReadOnly, 1, "12.17 no reader opened");
  checkInt(sqlite3_close(db), SQLITE_OK, "12.18 close");
  checkInt(sqlite3_close(db2), SQLITE_OK, "12.19 close");
  remove("test_capi_aux ?#%&=.db");
  remove("test_capi_aux ?#%&=.db-wal");
  remove("test_capi_aux ?#%&=.db-shm");
  remove("test_capi_aux ?#%&=.db-streamwake");
}

int main(void){
  /* Before anything initializes SQLite. */
  sqlite3_config(SQLITE_CONFIG_GETMALLOC, &memOrig);
  {
    sqlite3_mem_methods m = memOrig;
    m.xMalloc = faultMalloc;
    m.xRealloc = faultRealloc;
    sqlite3_config(SQLITE_CONFIG_MALLOC, &m);
  }
  testApiGet();
  testCdcHook();
  testClose();
  testRebalanceHook();
  testNoJson();
  testPollSteps();
  testPollLook();
  testPollFaults(0);
  testPollFaults(1);
  testCallFaults(0);
  testCallFaults(1);
  testBatchFaults(0, 4096);
  testBatchFaults(1, 4096);
  testBatchFaults(0, 65536);
  testBatchFaults(1, 65536);
  testReserveBytes();
  testAuxVfs();
  return checkDone();
}
