/*
** bench_produce.c - produce and read throughput of sqlite-stream against
** raw SQLite doing the same work on a plain table with the seed's schema,
** in the same run.
**
**   bench_produce EXTENSION_PATH [--quick] [--dir DIR]
**
** Workloads (100-byte JSON values, 8 partitions, WAL, synchronous=NORMAL):
**   produce-batch   stream_produce() in transactions of 1,000 messages vs
**                   prepared INSERTs of the same rows (the application
**                   computing partitions and offsets itself)
**   produce-single  one message per transaction, same comparison
**   read-range      1,000,000 messages read back partition by partition
**                   through stream_messages vs the same SELECT on the
**                   plain table
** Each measurement is repeated (alternating systems) and the median is
** reported with the ratio sqlite-stream / raw (higher is better for
** throughput).  It prints figures; it never fails on a number.
*/
#include <sqlite3.h>
#include "bench.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NPART 8

static const char *zExt;
static char zDir[512] = "/tmp";

static sqlite3 *openDb(const char *zName, int bStream){
  char zPath[700];
  sqlite3 *db;
  snprintf(zPath, sizeof(zPath), "%s/%s", zDir, zName);
  unlink(zPath);
  {
    char z2[720];
    snprintf(z2, sizeof(z2), "%s-wal", zPath); unlink(z2);
    snprintf(z2, sizeof(z2), "%s-shm", zPath); unlink(z2);
  }
  benchCheck(0, sqlite3_open(zPath, &db), "open");
  benchExec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  if( bStream ){
    benchLoadExt(db, zExt);
    /* hot only: the warm tier has its own benchmark (bench_tier) */
    benchExec(db, "SELECT stream_create_topic('bench', 8,"
             " '{\"hot.retention.messages\":-1,\"hot.retention.ms\":-1}')");
  }else{
    benchExec(db, BENCH_SEED_DDL);
  }
  return db;
}

static void closeDb(sqlite3 *db){
  sqlite3_close(db);
}

/* A 100-byte JSON value for message i. */
/* Produce n messages in transactions of nBatch; returns seconds. */
static double produceStream(sqlite3 *db, int n, int nBatch, int iBase){
  sqlite3_stmt *p;
  char zKey[32], zVal[128];
  double t0;
  int i;
  benchCheck(db, sqlite3_prepare_v2(db,
      "SELECT stream_produce('bench', ?1, ?2)", -1, &p, 0), "prepare");
  t0 = benchNow();
  for(i=0; i<n; i++){
    int nKey = snprintf(zKey, sizeof(zKey), "key-%d", iBase+i);
    int nVal = benchValue100(zVal, iBase+i);
    if( i%nBatch==0 ) benchExec(db, "BEGIN");
    sqlite3_bind_text(p, 1, zKey, nKey, SQLITE_STATIC);
    sqlite3_bind_text(p, 2, zVal, nVal, SQLITE_STATIC);
    benchCheck(db, sqlite3_step(p), "produce");
    sqlite3_reset(p);
    if( i%nBatch==nBatch-1 || i==n-1 ) benchExec(db, "COMMIT");
  }
  sqlite3_finalize(p);
  return benchNow()-t0;
}

/* Murmur2 partitioner, as the application would compute it. */
static double produceRaw(sqlite3 *db, int n, int nBatch, int iBase,
                         long long *aNext){
  sqlite3_stmt *p;
  char zKey[32], zVal[128];
  double t0;
  int i;
  benchCheck(db, sqlite3_prepare_v2(db,
      "INSERT INTO stream_messages(topic, partition, offset, key, value,"
      " headers, timestamp) VALUES('bench', ?1, ?2, ?3, ?4, NULL, ?5)",
      -1, &p, 0), "prepare");
  t0 = benchNow();
  for(i=0; i<n; i++){
    int nKey = snprintf(zKey, sizeof(zKey), "key-%d", iBase+i);
    int nVal = benchValue100(zVal, iBase+i);
    int iPart = (benchMurmur2((const unsigned char*)zKey, nKey) & 0x7fffffff)
              % NPART;
    struct timespec ts;
    if( i%nBatch==0 ) benchExec(db, "BEGIN");
    clock_gettime(CLOCK_REALTIME, &ts);
    sqlite3_bind_int(p, 1, iPart);
    sqlite3_bind_int64(p, 2, aNext[iPart]++);
    sqlite3_bind_text(p, 3, zKey, nKey, SQLITE_STATIC);
    sqlite3_bind_text(p, 4, zVal, nVal, SQLITE_STATIC);
    sqlite3_bind_int64(p, 5, ts.tv_sec*1000LL + ts.tv_nsec/1000000);
    benchCheck(db, sqlite3_step(p), "insert");
    sqlite3_reset(p);
    if( i%nBatch==nBatch-1 || i==n-1 ) benchExec(db, "COMMIT");
  }
  sqlite3_finalize(p);
  return benchNow()-t0;
}

/* Read every message partition by partition; returns seconds. */
static double readAll(sqlite3 *db, long long *pnRow, long long *pnByte){
  sqlite3_stmt *p;
  double t0 = benchNow();
  int iPart;
  *pnRow = 0; *pnByte = 0;
  benchCheck(db, sqlite3_prepare_v2(db,
      "SELECT offset, key, value, timestamp FROM stream_messages"
      " WHERE topic='bench' AND partition=?1 AND offset>=?2 ORDER BY offset",
      -1, &p, 0), "prepare read");
  for(iPart=0; iPart<NPART; iPart++){
    sqlite3_bind_int(p, 1, iPart);
    sqlite3_bind_int64(p, 2, 0);
    while( sqlite3_step(p)==SQLITE_ROW ){
      (*pnRow)++;
      *pnByte += sqlite3_column_bytes(p, 2) + sqlite3_column_bytes(p, 1);
      (void)sqlite3_column_int64(p, 0);
      (void)sqlite3_column_int64(p, 3);
    }
    sqlite3_reset(p);
  }
  sqlite3_finalize(p);
  return benchNow()-t0;
}

static void report(const char *zName, int n, double *aS, double *aR, int nRep){
  double s = n/benchMedian(aS, nRep), r = n/benchMedian(aR, nRep);
  printf("| %-15s | %9d | %12.0f | %12.0f | %5.2f |\n", zName, n, s, r, s/r);
  fflush(stdout);
}

int main(int argc, char **argv){
  int bQuick = 0, i, nRep;
  int nBatchMsgs, nSingle, nRead;
  double aS[9], aR[9];
  zExt = benchEngineArgs(argc, argv, &bQuick, zDir, sizeof(zDir), 0, 0);
  nRep = bQuick ? 3 : 5;
  nBatchMsgs = bQuick ? 50000 : 200000;
  nSingle = bQuick ? 5000 : 20000;
  nRead = bQuick ? 200000 : 1000000;

  printf("sqlite-stream bench_produce: SQLite %s, %s mode, %d repetitions"
         " (medians)\n\n", sqlite3_libversion(), bQuick ? "quick" : "full",
         nRep);
  printf("| workload        |  messages | stream msg/s |    raw msg/s | ratio |\n");
  printf("|-----------------|-----------|--------------|--------------|-------|\n");

  for(i=0; i<nRep; i++){
    long long aNext[NPART] = {0};
    sqlite3 *db = openDb("bench-stream.db", 1);
    aS[i] = produceStream(db, nBatchMsgs, 1000, 0);
    closeDb(db);
    db = openDb("bench-raw.db", 0);
    aR[i] = produceRaw(db, nBatchMsgs, 1000, 0, aNext);
    closeDb(db);
  }
  report("produce-batch", nBatchMsgs, aS, aR, nRep);

  for(i=0; i<nRep; i++){
    long long aNext[NPART] = {0};
    sqlite3 *db = openDb("bench-stream.db", 1);
    aS[i] = produceStream(db, nSingle, 1, 0);
    closeDb(db);
    db = openDb("bench-raw.db", 0);
    aR[i] = produceRaw(db, nSingle, 1, 0, aNext);
    closeDb(db);
  }
  report("produce-single", nSingle, aS, aR, nRep);

  {
    long long aNext[NPART] = {0}, nRow, nByte;
    sqlite3 *dbS = openDb("bench-stream.db", 1);
    sqlite3 *dbR = openDb("bench-raw.db", 0);
    produceStream(dbS, nRead, 10000, 0);
    produceRaw(dbR, nRead, 10000, 0, aNext);
    for(i=0; i<nRep; i++){
      aS[i] = readAll(dbS, &nRow, &nByte);
      if( nRow!=nRead ){ fprintf(stderr, "stream read %lld rows\n", nRow); return 1; }
      aR[i] = readAll(dbR, &nRow, &nByte);
      if( nRow!=nRead ){ fprintf(stderr, "raw read %lld rows\n", nRow); return 1; }
    }
    report("read-range", nRead, aS, aR, nRep);
    closeDb(dbS);
    closeDb(dbR);
  }
  return 0;
}
