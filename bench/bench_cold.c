/*
** bench_cold.c - the cold tier's speed and size, in one run.
**
**   bench_cold EXTENSION_PATH [--quick] [--n N] [--dir DIR] [--interop DIR]
**
**   produce   batched stream_produce() (transactions of 1,000, 100-byte
**             JSON values, 8 partitions, WAL, synchronous=NORMAL) into a
**             topic with cold.enabled (nothing archives in the produce
**             path)
**   archive   SELECT stream_archive('bench'): every message into the
**             Iceberg table (data files, manifest, manifest list,
**             metadata), against produce
**   size      bytes of the table (data files and metadata) per message
**   history   every message read back through stream_history() from the
**             cold table alone (the live log emptied by retention):
**             count, sum of lengths of key and value, sum of offsets and
**             timestamps; against DuckDB (@duckdb/node-api from
**             test/interop/node_modules, SET threads=1) computing the same
**             aggregates over the same data files with read_parquet (best
**             of three runs each, after one warm-up for DuckDB)
**   housekeeping  a second topic committed to in C small commits (one
**             message each, 4 partitions), so its table has C snapshots:
**             the time of a commit at the end (the metadata carries every
**             snapshot), then one stream_archive() after
**             cold.snapshot.retention.ms is set to 0 (snapshot expiry of
**             C-1 snapshots and deletion of their manifest lists), then a
**             commit on the expired table; and a run with nothing to do
**             (the orphan listing's fast path)
**
** N defaults to 1,000,000 messages (--quick: 100,000), C to 500 (--quick:
** 200).  It prints Markdown tables; it never fails on a number.
*/
#define _DEFAULT_SOURCE
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

/* The 100-byte value of message i (benchMakeValue, timestamp 0). */
static int coldValue(char *z, int i){
  return benchMakeValue(z, 100, i, 0);
}

/* One small commit (a message) to topic hk; seconds. */
static double hkCommit(sqlite3 *db, int i){
  char zSql[200];
  double t0;
  snprintf(zSql, sizeof(zSql), "INSERT INTO stream_messages(topic, key,"
           " value, timestamp) VALUES('hk', 'k%d', '{}', 1700000000000)", i);
  benchExec(db, zSql);
  t0 = benchNow();
  benchExec(db, "SELECT stream_archive('hk')");
  return benchNow()-t0;
}

/* The housekeeping figures (see the header comment). */
static void benchHousekeeping(sqlite3 *db, int nCommit){
  double tFirst = 0, tLast = 0, tExpire, tAfter, tIdle;
  long long nSnap;
  int i;
  benchExec(db, "SELECT stream_create_topic('hk', 4, '{\"cold.enabled\":1,"
                "\"retention.ms\":-1}')");
  for(i=0; i<nCommit; i++){
    double t = hkCommit(db, i);
    if( i<10 ) tFirst += t/10;
    if( i>=nCommit-10 ) tLast += t/10;
  }
  benchExec(db, "SELECT stream_alter_topic('hk',"
                " '{\"cold.snapshot.retention.ms\":0}')");
  {
    double t0 = benchNow();
    nSnap = benchInt1(db, "SELECT stream_archive('hk') ->> '$.snapshots'");
    tExpire = benchNow()-t0;
  }
  tAfter = hkCommit(db, nCommit);
  {
    double t0 = benchNow();
    benchExec(db, "SELECT stream_archive('hk')");
    tIdle = benchNow()-t0;
  }
  printf("\n| housekeeping, %d commits of 1 message | time |\n|---|---|\n",
         nCommit);
  printf("| a commit, first 10 (mean) | %.2f ms |\n", tFirst*1000);
  printf("| a commit, last 10 (mean; %d snapshots in the metadata) | %.2f ms"
         " |\n", nCommit, tLast*1000);
  printf("| snapshot expiry of %lld snapshots (one stream_archive) | %.2f ms"
         " |\n", nSnap, tExpire*1000);
  printf("| a commit after the expiry | %.2f ms |\n", tAfter*1000);
  printf("| stream_archive with nothing to do | %.2f ms |\n", tIdle*1000);
}

static const char *zExt;
static char zDir[512] = "/tmp";
static char zInterop[512] = "test/interop";

/* Timestamps count from 2023-11-14 (1.7e12 ms): the sum of 10M epoch
** milliseconds would overflow a 64-bit integer (SQLite's sum() raises an
** error then). */
static const char zAgg[] =
  "SELECT count(*), sum(length(CAST(key AS BLOB))) + sum(length(value))"
  " + sum(offset) + sum(timestamp - 1700000000000)"
  " FROM stream_history('bench')";

static double duckdb(const char *zTable, long long *pN, long long *pSum){
  char zQuery[1500];
  snprintf(zQuery, sizeof(zQuery), "SELECT count(*) + 0 AS n,"
    " (sum(octet_length(key)) + sum(octet_length(value)) + sum(\"offset\")"
    " + sum(epoch_ms(timestamp) - 1700000000000))::BIGINT AS s"
    " FROM read_parquet('%s/data/**/*.parquet', hive_partitioning=false)",
    zTable);
  return benchDuckdb(zInterop, zQuery, pN, pSum);
}

static long long duBytes(const char *zPath){
  char zCmd[700];
  long long n = 0;
  FILE *f;
  snprintf(zCmd, sizeof(zCmd), "du -sb '%s' | cut -f1", zPath);
  f = popen(zCmd, "r");
  if( f==0 || fscanf(f, "%lld", &n)!=1 ) n = -1;
  if( f ) pclose(f);
  return n;
}

int main(int argc, char **argv){
  sqlite3 *db;
  char zPath[700], zCmd[4000], zTable[1200];
  char *zErr = 0;
  int n = 1000000, i, k;
  double tProduce, tArchive, tHist = 1e9, tDuck;
  long long nHist = 0, sHist = 0, nDuck = 0, sDuck = 0, nBytes, nDbBytes;
  if( argc<2 ){
    fprintf(stderr, "usage: %s EXTENSION [--quick] [--n N] [--dir DIR]"
            " [--interop DIR]\n", argv[0]);
    return 2;
  }
  zExt = argv[1];
  for(i=2; i<argc; i++){
    if( strcmp(argv[i], "--quick")==0 ) n = 100000;
    else if( strcmp(argv[i], "--n")==0 && i+1<argc ) n = atoi(argv[++i]);
    else if( strcmp(argv[i], "--dir")==0 && i+1<argc ){
      snprintf(zDir, sizeof(zDir), "%s", argv[++i]);
    }else if( strcmp(argv[i], "--interop")==0 && i+1<argc ){
      snprintf(zInterop, sizeof(zInterop), "%s", argv[++i]);
    }
  }
  snprintf(zPath, sizeof(zPath), "%s/bench_cold.db", zDir);
  snprintf(zCmd, sizeof(zCmd), "rm -rf '%s' '%s-wal' '%s-shm' '%s.cold' &&"
           " mkdir -p '%s.cold'", zPath, zPath, zPath, zPath, zPath);
  if( system(zCmd)!=0 ) return 1;
  if( sqlite3_open(zPath, &db)!=SQLITE_OK ) return 1;
  benchExec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  sqlite3_enable_load_extension(db, 1);
  if( sqlite3_load_extension(db, zExt, 0, &zErr)!=SQLITE_OK ){
    fprintf(stderr, "load %s: %s\n", zExt, zErr);
    return 1;
  }
  snprintf(zCmd, sizeof(zCmd),
           "SELECT stream_config('cold.store', 'file://%s.cold')", zPath);
  benchExec(db, zCmd);
  benchExec(db, "SELECT stream_create_topic('bench', 8, '{\"cold.enabled\":1,"
                "\"retention.ms\":-1,\"cold.commit.interval.ms\":"
                "86400000000,\"cold.commit.bytes\":1000000000000}')");

  tProduce = benchProduceBatched(db, "bench", n, coldValue);
  nDbBytes = benchInt1(db, "SELECT sum(bytes) FROM stream_partitions"
                      " WHERE topic='bench'");
  {
    double t0 = benchNow();
    benchExec(db, "SELECT stream_archive('bench')");
    tArchive = benchNow()-t0;
  }
  zTable[0] = 0;
  {
    sqlite3_stmt *p;
    sqlite3_prepare_v2(db, "SELECT value FROM _stream_meta"
                           " WHERE key='database.id'", -1, &p, 0);
    if( sqlite3_step(p)==SQLITE_ROW ){
      snprintf(zTable, sizeof(zTable), "%s.cold/iceberg/db_%s/bench", zPath,
               (const char*)sqlite3_column_text(p, 0));
    }
    sqlite3_finalize(p);
  }
  nBytes = duBytes(zTable);

  /* Empty the live log: stream_history then reads the table alone. */
  benchExec(db, "SELECT stream_alter_topic('bench', '{\"retention.ms\":0}')");
  benchExec(db, "SELECT stream_maintain()");
  if( benchInt1(db, "SELECT count(*) FROM stream_messages WHERE topic='bench'") ){
    fprintf(stderr, "the live log is not empty\n");
  }
  for(k=0; k<3; k++){
    sqlite3_stmt *p;
    double t0 = benchNow();
    if( sqlite3_prepare_v2(db, zAgg, -1, &p, 0) ) return 1;
    if( sqlite3_step(p)==SQLITE_ROW ){
      nHist = sqlite3_column_int64(p, 0);
      sHist = sqlite3_column_int64(p, 1);
    }
    if( sqlite3_finalize(p)!=SQLITE_OK ){
      fprintf(stderr, "stream_history: %s\n", sqlite3_errmsg(db));
      return 1;
    }
    if( benchNow()-t0<tHist ) tHist = benchNow()-t0;
  }
  tDuck = duckdb(zTable, &nDuck, &sDuck);

  printf("cold tier, %d messages (100-byte JSON values, 8 partitions)\n\n", n);
  printf("| step | time | rate | ratio |\n|---|---|---|---|\n");
  printf("| produce (batches of 1,000) | %.2f s | %.0f msg/s | |\n",
         tProduce, n/tProduce);
  printf("| stream_archive (one commit) | %.2f s | %.0f msg/s | %.2fx produce |\n",
         tArchive, n/tArchive, tProduce/tArchive);
  printf("| stream_history, cold only (best of 3) | %.3f s | %.0f msg/s | |\n",
         tHist, nHist/tHist);
  if( tDuck>=0 ){
    printf("| DuckDB read_parquet, threads=1 (best of 3) | %.3f s | %.0f msg/s"
           " | stream_history %.2fx DuckDB |\n", tDuck, nDuck/tDuck,
           tDuck/tHist);
  }else{
    printf("| DuckDB | not run (node or @duckdb/node-api missing) | | |\n");
  }
  printf("\n| size | bytes | per message |\n|---|---|---|\n");
  printf("| live log (stream_partitions.bytes) | %lld | %.1f |\n", nDbBytes,
         (double)nDbBytes/n);
  printf("| Iceberg table (data + metadata) | %lld | %.1f |\n", nBytes,
         (double)nBytes/n);
  printf("\nchecks: history %lld rows, DuckDB %lld rows, aggregates %s\n",
         nHist, nDuck, tDuck<0 ? "(not compared)"
         : (nHist==nDuck && sHist==sDuck) ? "equal" : "DIFFER");
  benchHousekeeping(db, n>=1000000 ? 500 : 200);
  sqlite3_close(db);
  return 0;
}
