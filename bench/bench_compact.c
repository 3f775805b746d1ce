/*
** bench_compact.c - retention and compaction costs, in one run:
**
**   bench_compact EXTENSION_PATH [--quick] [--dir DIR]
**
**   compaction   stream_compact() of one partition holding 1,000,000
**                messages over 10,000 keys (100-byte JSON values) vs raw
**                SQLite doing the equivalent
**                  DELETE ... WHERE offset NOT IN
**                    (SELECT max(offset) ... GROUP BY key)
**                on a plain table with the seed's schema and the same rows.
**                Reported: messages/s examined, removed and kept; ratio =
**                raw time / stream time (>= 1.0: stream is at least as fast).
**   produce      latency of each stream_produce() call (in transactions
**                of 1,000; the COMMIT, whose WAL and checkpoint I/O is the
**                same for all, is not timed) on a topic without
**                maintenance, with
**                retention deleting (retention.ms=0: every message expires
**                at once, so each look deletes), and with compaction
**                (1,000 keys): p50 / p99 and the ratio to "off".
**   shim VFS     produce throughput (transactions of 1,000 messages, and
**                one message per transaction) on a database opened through
**                the "stream" shim VFS vs the default VFS.
**
** WAL, synchronous=NORMAL, tiering off (hot.retention.* = -1).  Every
** figure is the median of several repetitions (alternating systems).  It
** prints figures; it never fails on a number.
*/
#include <sqlite3.h>
#include "bench.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *zExt;
static char zDir[512] = "/tmp";

static void path(char *z, size_t n, const char *zName){
  snprintf(z, n, "%s/%s", zDir, zName);
}

static void removeDb(const char *zName){
  char z[700], z2[720];
  path(z, sizeof(z), zName);
  unlink(z);
  snprintf(z2, sizeof(z2), "%s-wal", z); unlink(z2);
  snprintf(z2, sizeof(z2), "%s-shm", z); unlink(z2);
  snprintf(z2, sizeof(z2), "%s-journal", z); unlink(z2);
}

static sqlite3 *openDb(const char *zName, int bStream, const char *zVfs){
  char z[700];
  sqlite3 *db;
  path(z, sizeof(z), zName);
  benchCheck(0, sqlite3_open_v2(z, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE,
                           zVfs), "open");
  benchExec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
           " PRAGMA cache_size=-65536;");
  if( bStream ) benchLoadExt(db, zExt);
  return db;
}

static void copyFile(const char *zFrom, const char *zTo){
  char a[700], b[700];
  FILE *in, *out;
  char buf[1<<16];
  size_t n;
  path(a, sizeof(a), zFrom);
  path(b, sizeof(b), zTo);
  removeDb(zTo);
  in = fopen(a, "rb");
  out = fopen(b, "wb");
  if( !in || !out ){ fprintf(stderr, "copy %s\n", a); exit(1); }
  while( (n = fread(buf, 1, sizeof(buf), in))>0 ) fwrite(buf, 1, n, out);
  fclose(in);
  fclose(out);
}

static double pct(double *a, int n, double p){
  int i = (int)(p*(n-1) + 0.5);
  qsort(a, n, sizeof(double), benchCmpDouble);
  return a[i];
}

/**************************************************************************
** 1. Compaction.
*/
static void benchCompaction(int nMsg, int nKey, int nRep){
  double aS[9], aR[9];
  long long nKept = 0, nRemoved = 0;
  int i;
  char *zSql;
  sqlite3 *db;

  /* Templates, filled once. */
  removeDb("cmp-stream-t.db");
  db = openDb("cmp-stream-t.db", 1, 0);
  benchExec(db, "SELECT stream_create_topic('c', 1, '{\"cleanup.policy\":"
           "\"compact\",\"compaction.head.messages\":0,"
           "\"hot.retention.ms\":-1,\"hot.retention.messages\":-1,"
           "\"min.cleanable.dirty.ratio\":1}')");
  benchExec(db, "BEGIN");
  zSql = sqlite3_mprintf(
      "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c"
      " WHERE i<%d) INSERT INTO stream_messages(topic, key, value)"
      " SELECT 'c', 'key-' || (i %% %d),"
      " printf('{\"id\":%%d,\"customer\":\"cust_%%06d\",\"note\":\"%%.*c\"}',"
      "  i, i %% 1000000, 56, 'x') FROM c", nMsg-1, nKey);
  benchExec(db, zSql);
  sqlite3_free(zSql);
  benchExec(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE);");
  sqlite3_close(db);

  removeDb("cmp-raw-t.db");
  db = openDb("cmp-raw-t.db", 0, 0);
  benchExec(db, BENCH_SEED_DDL);
  zSql = sqlite3_mprintf(
      "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c"
      " WHERE i<%d) INSERT INTO stream_messages(topic, partition, offset,"
      " key, value, timestamp)"
      " SELECT 'c', 0, i, 'key-' || (i %% %d),"
      " printf('{\"id\":%%d,\"customer\":\"cust_%%06d\",\"note\":\"%%.*c\"}',"
      "  i, i %% 1000000, 56, 'x'), 1700000000000 FROM c", nMsg-1, nKey);
  benchExec(db, "BEGIN");
  benchExec(db, zSql);
  sqlite3_free(zSql);
  benchExec(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE);");
  sqlite3_close(db);

  for(i=0; i<nRep; i++){
    sqlite3_stmt *p;
    double t0;
    copyFile("cmp-stream-t.db", "cmp-stream.db");
    db = openDb("cmp-stream.db", 1, 0);
    benchExec(db, "SELECT count(*) FROM _stream_messages");   /* warm the cache */
    benchCheck(db, sqlite3_prepare_v2(db, "SELECT stream_compact('c')", -1, &p, 0),
          "prepare");
    t0 = benchNow();
    benchCheck(db, sqlite3_step(p), "compact");
    aS[i] = benchNow()-t0;
    nRemoved = sqlite3_column_int64(p, 0);
    sqlite3_finalize(p);
    benchCheck(db, sqlite3_prepare_v2(db, "SELECT count(*) FROM _stream_messages",
                                 -1, &p, 0), "prepare");
    sqlite3_step(p);
    nKept = sqlite3_column_int64(p, 0);
    sqlite3_finalize(p);
    sqlite3_close(db);

    copyFile("cmp-raw-t.db", "cmp-raw.db");
    db = openDb("cmp-raw.db", 0, 0);
    benchExec(db, "SELECT count(*) FROM stream_messages");
    t0 = benchNow();
    benchExec(db, "BEGIN;"
      "DELETE FROM stream_messages WHERE topic='c' AND partition=0"
      " AND offset NOT IN (SELECT max(offset) FROM stream_messages"
      "  WHERE topic='c' AND partition=0 GROUP BY key);"
      "COMMIT;");
    aR[i] = benchNow()-t0;
    sqlite3_close(db);
  }
  {
    double s = benchMedian(aS, nRep), r = benchMedian(aR, nRep);
    printf("| compaction (%d msgs, %d keys) | %.0f msg/s examined:"
           " %.0f removed/s, %.0f kept/s | %.0f msg/s | %.2f |\n",
           nMsg, nKey, nMsg/s, nRemoved/s, nKept/s, nMsg/r, r/s);
    printf("|   (removed %lld, kept %lld; stream %.3f s, raw %.3f s) | | | |\n",
           nRemoved, nKept, s, r);
  }
  removeDb("cmp-stream.db"); removeDb("cmp-raw.db");
  removeDb("cmp-stream-t.db"); removeDb("cmp-raw-t.db");
}

/**************************************************************************
** 2. Produce latency with maintenance on and off.
*/
static void produceLatency(const char *zCfg, int n, double *pP50,
                           double *pP99, double *pP999){
  sqlite3 *db;
  sqlite3_stmt *p;
  double *a = malloc(sizeof(double)*n);
  char zKey[32], zVal[128], *zSql;
  int i;
  removeDb("lat.db");
  db = openDb("lat.db", 1, 0);
  zSql = sqlite3_mprintf("SELECT stream_create_topic('t', 1, %Q)", zCfg);
  benchExec(db, zSql);
  sqlite3_free(zSql);
  benchCheck(db, sqlite3_prepare_v2(db, "SELECT stream_produce('t', ?1, ?2)", -1,
                               &p, 0), "prepare");
  for(i=0; i<n; i++){
    double t0;
    int nKey = snprintf(zKey, sizeof(zKey), "key-%d", i % 1000);
    int nVal = snprintf(zVal, sizeof(zVal),
        "{\"id\":%d,\"customer\":\"cust_%06d\",\"note\":\"%056d\"}", i, i, 0);
    if( i%1000==0 ) benchExec(db, "BEGIN");
    sqlite3_bind_text(p, 1, zKey, nKey, SQLITE_STATIC);
    sqlite3_bind_text(p, 2, zVal, nVal, SQLITE_STATIC);
    t0 = benchNow();
    benchCheck(db, sqlite3_step(p), "produce");
    sqlite3_reset(p);
    a[i] = (benchNow()-t0)*1e6;
    if( i%1000==999 || i==n-1 ) benchExec(db, "COMMIT");
  }
  sqlite3_finalize(p);
  sqlite3_close(db);
  *pP50 = pct(a, n, 0.50);
  *pP99 = pct(a, n, 0.99);
  *pP999 = pct(a, n, 0.999);
  free(a);
  removeDb("lat.db");
}

static void benchLatency(int n, int nRep){
  static const struct { const char *zName, *zCfg; } aCfg[] = {
    { "off (retention.ms=-1)",
      "{\"retention.ms\":-1,\"hot.retention.ms\":-1,"
      "\"hot.retention.messages\":-1}" },
    { "retention on (retention.ms=0)",
      "{\"retention.ms\":0,\"hot.retention.ms\":-1,"
      "\"hot.retention.messages\":-1}" },
    { "compaction on (1000 keys)",
      "{\"cleanup.policy\":\"compact\",\"hot.retention.ms\":-1,"
      "\"hot.retention.messages\":-1}" },
    { "compact,delete on",
      "{\"cleanup.policy\":\"compact,delete\",\"retention.ms\":60000,"
      "\"hot.retention.ms\":-1,\"hot.retention.messages\":-1}" },
  };
  double a50[4][9], a99[4][9], a999[4][9];
  int i, j;
  for(i=0; i<nRep; i++){
    for(j=0; j<4; j++){
      produceLatency(aCfg[j].zCfg, n, &a50[j][i], &a99[j][i], &a999[j][i]);
    }
  }
  {
    double off99 = benchMedian(a99[0], nRep);
    for(j=0; j<4; j++){
      double p50 = benchMedian(a50[j], nRep), p99 = benchMedian(a99[j], nRep);
      double p999 = benchMedian(a999[j], nRep);
      printf("| produce: %s | p50 %.1f us, p99 %.1f us (p99.9 %.1f us) |"
             " | %.2f |\n", aCfg[j].zName, p50, p99, p999, p99/off99);
    }
  }
}

/**************************************************************************
** 3. The shim VFS on a produce benchmark.
*/
static double produceThroughput(const char *zVfs, int n, int nBatch){
  sqlite3 *db;
  sqlite3_stmt *p;
  char zKey[32], zVal[128];
  double t0;
  int i;
  removeDb("vfs.db");
  db = openDb("vfs.db", 1, zVfs);
  benchExec(db, "SELECT stream_create_topic('bench', 8, '{\"hot.retention.ms\":-1,"
           "\"hot.retention.messages\":-1}')");
  benchCheck(db, sqlite3_prepare_v2(db, "SELECT stream_produce('bench', ?1, ?2)",
                               -1, &p, 0), "prepare");
  t0 = benchNow();
  for(i=0; i<n; i++){
    int nKey = snprintf(zKey, sizeof(zKey), "key-%d", i);
    int nVal = snprintf(zVal, sizeof(zVal),
        "{\"id\":%d,\"customer\":\"cust_%06d\",\"note\":\"%056d\"}", i, i, 0);
    if( i%nBatch==0 ) benchExec(db, "BEGIN");
    sqlite3_bind_text(p, 1, zKey, nKey, SQLITE_STATIC);
    sqlite3_bind_text(p, 2, zVal, nVal, SQLITE_STATIC);
    benchCheck(db, sqlite3_step(p), "produce");
    sqlite3_reset(p);
    if( i%nBatch==nBatch-1 || i==n-1 ) benchExec(db, "COMMIT");
  }
  t0 = benchNow()-t0;
  sqlite3_finalize(p);
  sqlite3_close(db);
  removeDb("vfs.db");
  return n/t0;
}

static void benchShim(int nBatchMsgs, int nSingle, int nRep){
  double aD[15], aS[15];
  int i;
  for(i=0; i<nRep; i++){      /* alternate which goes first */
    if( i&1 ){
      aS[i] = produceThroughput("stream", nBatchMsgs, 1000);
      aD[i] = produceThroughput(0, nBatchMsgs, 1000);
    }else{
      aD[i] = produceThroughput(0, nBatchMsgs, 1000);
      aS[i] = produceThroughput("stream", nBatchMsgs, 1000);
    }
  }
  printf("| shim VFS: produce, 1000/txn | %.0f msg/s via \"stream\" |"
         " %.0f msg/s default VFS | %.3f |\n", benchMedian(aS, nRep),
         benchMedian(aD, nRep), benchMedian(aS, nRep)/benchMedian(aD, nRep));
  for(i=0; i<nRep; i++){
    if( i&1 ){
      aS[i] = produceThroughput("stream", nSingle, 1);
      aD[i] = produceThroughput(0, nSingle, 1);
    }else{
      aD[i] = produceThroughput(0, nSingle, 1);
      aS[i] = produceThroughput("stream", nSingle, 1);
    }
  }
  printf("| shim VFS: produce, 1/txn | %.0f msg/s via \"stream\" |"
         " %.0f msg/s default VFS | %.3f |\n", benchMedian(aS, nRep),
         benchMedian(aD, nRep), benchMedian(aS, nRep)/benchMedian(aD, nRep));
}

int main(int argc, char **argv){
  int bQuick = 0, nRep;
  sqlite3 *db;
  zExt = benchEngineArgs(argc, argv, &bQuick, zDir, sizeof(zDir), 0, 0);
  nRep = bQuick ? 3 : 5;
  /* Register the extension (and its VFS) once for the whole process. */
  benchCheck(0, sqlite3_open(":memory:", &db), "open");
  benchLoadExt(db, zExt);

  printf("sqlite-stream bench_compact: SQLite %s, %s mode, %d repetitions"
         " (medians)\n\n", sqlite3_libversion(), bQuick ? "quick" : "full",
         nRep);
  printf("| workload | sqlite-stream | raw SQLite / baseline | ratio |\n");
  printf("|---|---|---|---|\n");
  fflush(stdout);
  benchCompaction(bQuick ? 200000 : 1000000, bQuick ? 2000 : 10000, nRep);
  fflush(stdout);
  benchLatency(bQuick ? 20000 : 50000, nRep);
  fflush(stdout);
  benchShim(bQuick ? 50000 : 200000, bQuick ? 5000 : 20000,
            bQuick ? 5 : 21);
  sqlite3_close(db);
  return 0;
}
