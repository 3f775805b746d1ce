/*
** bench_tier.c - the warm tier's speed and size, in one run.
**
**   bench_tier EXTENSION_PATH [--quick] [--dir DIR] [--interop DIR]
**
**   produce   batched stream_produce() (transactions of 1,000, 100-byte
**             JSON values, 8 partitions, WAL, synchronous=NORMAL), with
**             tiering off (hot.retention.* = -1)
**   tier      SELECT stream_tier('bench') moving every message hot -> warm
**             (hot.retention.messages = 0): must be >= 2x produce
**   replay    every message read back through stream_messages from the
**             warm tier (count, sum of lengths of key and value, sum of
**             offsets and timestamps), in a forked child so that its peak
**             RSS is the replay's own; against DuckDB (@duckdb/node-api
**             from test/interop/node_modules, SET threads=1) computing
**             the same aggregates over the same files: must be >= 0.5x
**             (best of three runs each, after one warm-up for DuckDB)
**   poll      a consumer group member draining the same warm backlog
**             through stream_poll, 100 messages per poll (auto-commit
**             off), against the replay's single scan
**   size      bytes per message hot (database pages) vs warm (Parquet
**             file bytes) for compression.type none / gzip / zstd
**
** It prints a Markdown table; it never fails on a number.  --interop
** names the directory holding node_modules (default: the test/interop
** directory next to this file's build tree, /work/main/test/interop).
*/
#define _DEFAULT_SOURCE
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include "bench.h"

#define NPART 8

static const char *zExt;
static char zDir[512] = "/tmp";
static char zInterop[512] = "/work/main/test/interop";

static sqlite3 *openDb(const char *zName, int bFresh){
  char zPath[700], zCmd[3000];
  sqlite3 *db;
  snprintf(zPath, sizeof(zPath), "%s/%s", zDir, zName);
  if( bFresh ){
    snprintf(zCmd, sizeof(zCmd), "rm -rf '%s' '%s-wal' '%s-shm' '%s.stream'",
             zPath, zPath, zPath, zPath);
    if( system(zCmd)!=0 ) exit(1);
  }
  if( sqlite3_open(zPath, &db)!=SQLITE_OK ) exit(1);
  benchExec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  benchLoadExt(db, zExt);
  /* The warm store beside the database (--dir must be absolute). */
  snprintf(zCmd, sizeof(zCmd), "mkdir -p '%s.stream/warm'", zPath);
  if( system(zCmd)!=0 ) exit(1);
  snprintf(zCmd, sizeof(zCmd),
           "SELECT stream_config('warm.store', 'file://%s.stream/warm')", zPath);
  benchExec(db, zCmd);
  return db;
}

/* Replay in a child: seconds and peak RSS (KiB) through a pipe. */
static void replay(const char *zName, long long nExpect, double *pSec,
                   long *pRss, long long *pSum){
  int fd[2];
  pid_t pid;
  if( pipe(fd) ) exit(1);
  pid = fork();
  if( pid==0 ){
    sqlite3 *db = openDb(zName, 0);
    sqlite3_stmt *p;
    struct rusage ru;
    double t0, r[3];
    long long nRow = 0, nSum = 0;
    close(fd[0]);
    if( sqlite3_prepare_v2(db,
        "SELECT count(*), sum(length(key)) + sum(length(value)) + sum(offset)"
        " + sum(timestamp) FROM stream_messages WHERE topic='bench'",
        -1, &p, 0) ) _exit(1);
    t0 = benchNow();
    if( sqlite3_step(p)==SQLITE_ROW ){
      nRow = sqlite3_column_int64(p, 0);
      nSum = sqlite3_column_int64(p, 1);
    }else{
      fprintf(stderr, "replay: %s\n", sqlite3_errmsg(db));
    }
    r[0] = benchNow()-t0;
    sqlite3_finalize(p);
    getrusage(RUSAGE_SELF, &ru);
    r[1] = (double)ru.ru_maxrss;
    r[2] = (double)nRow;
    if( write(fd[1], r, sizeof(r))!=sizeof(r)
     || write(fd[1], &nSum, sizeof(nSum))!=sizeof(nSum) ) _exit(1);
    sqlite3_close(db);
    _exit(0);
  }else{
    double r[3];
    close(fd[1]);
    if( read(fd[0], r, sizeof(r))!=sizeof(r)
     || read(fd[0], pSum, sizeof(*pSum))!=sizeof(*pSum) ){
      fprintf(stderr, "replay child failed\n");
      exit(1);
    }
    close(fd[0]);
    waitpid(pid, 0, 0);
    if( (long long)r[2]!=nExpect ){
      fprintf(stderr, "replay read %lld rows, expected %lld\n",
              (long long)r[2], nExpect);
      exit(1);
    }
    *pSec = r[0];
    *pRss = (long)r[1];
  }
}

/* A consumer draining the warm backlog through stream_poll, nPoll
** messages per poll (auto-commit off: the read path only), in a child
** like replay(); vs the replay's one scan.  Seconds. */
static double pollWarm(const char *zName, long long nExpect, int nPoll){
  int fd[2];
  pid_t pid;
  double r = -1;
  if( pipe(fd) ) exit(1);
  pid = fork();
  if( pid==0 ){
    sqlite3 *db = openDb(zName, 0);
    sqlite3_stmt *p;
    char zSql[200];
    double t0, res;
    long long nRow = 0, nGot;
    close(fd[0]);
    benchExec(db, "SELECT stream_join('bg', 'm', '[\"bench\"]',"
              " '{\"auto.offset.reset\":\"earliest\","
              "\"enable.auto.commit\":false}')");
    snprintf(zSql, sizeof(zSql),
             "SELECT count(*) FROM stream_poll('bg', 'm', %d)", nPoll);
    if( sqlite3_prepare_v2(db, zSql, -1, &p, 0) ) _exit(1);
    t0 = benchNow();
    do{
      nGot = 0;
      if( sqlite3_step(p)==SQLITE_ROW ) nGot = sqlite3_column_int64(p, 0);
      else fprintf(stderr, "poll: %s\n", sqlite3_errmsg(db));
      sqlite3_reset(p);
      nRow += nGot;
    }while( nGot>0 );
    res = benchNow()-t0;
    sqlite3_finalize(p);
    if( nRow!=nExpect ){
      fprintf(stderr, "poll read %lld rows, expected %lld\n", nRow, nExpect);
      res = -1;
    }
    benchExec(db, "SELECT stream_leave('bg', 'm')");
    if( write(fd[1], &res, sizeof(res))!=sizeof(res) ) _exit(1);
    sqlite3_close(db);
    _exit(0);
  }
  close(fd[1]);
  if( read(fd[0], &r, sizeof(r))!=sizeof(r) ) r = -1;
  close(fd[0]);
  waitpid(pid, 0, 0);
  return r;
}

/* DuckDB over the same files (benchDuckdb): seconds of the query, or -1
** if node or the package is missing. */
static double duckdb(const char *zStore, long long *pSum){
  char zQuery[1024];
  long long n = 0;
  snprintf(zQuery, sizeof(zQuery),
    "SELECT count(*) + 0 AS n, (sum(octet_length(key))"
    " + sum(strlen(value::VARCHAR)) + sum(\"offset\")"
    " + sum(epoch_ms(timestamp)))::BIGINT AS s"
    " FROM read_parquet('%s/db=*/bench/**/*.parquet', hive_partitioning=false)",
    zStore);
  return benchDuckdb(zInterop, zQuery, &n, pSum);
}

static long long dbBytes(sqlite3 *db){
  benchExec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  return benchInt1(db, "PRAGMA page_count") * benchInt1(db, "PRAGMA page_size")
       - benchInt1(db, "PRAGMA freelist_count") * benchInt1(db, "PRAGMA page_size");
}

/* --interop DIR */
static int tierOpt(const char *zOpt, const char *zVal){
  if( strcmp(zOpt, "--interop")!=0 ) return 0;
  snprintf(zInterop, sizeof(zInterop), "%s", zVal);
  return 1;
}

int main(int argc, char **argv){
  int bQuick = 0, i, n, nSize;
  double tProd, tTier, tReplay = 0, tDuck, tPoll;
  long rss = 0;
  long long nSum = 0, nDuckSum = 0;
  char zStore[800];
  sqlite3 *db;
  static const char *azCodec[] = { "uncompressed", "gzip", "zstd" };

  zExt = benchEngineArgs(argc, argv, &bQuick, zDir, sizeof(zDir),
                         " [--interop DIR]", tierOpt);
  n = bQuick ? 200000 : 1000000;
  nSize = bQuick ? 50000 : 200000;

  printf("sqlite-stream bench_tier: SQLite %s, %s mode, %d messages\n\n",
         sqlite3_libversion(), bQuick ? "quick" : "full", n);

  db = openDb("bench-tier.db", 1);
  benchExec(db, "SELECT stream_create_topic('bench', 8, '{\"hot.retention.ms\":-1,"
            "\"hot.retention.messages\":-1,\"retention.ms\":-1}')");
  tProd = benchProduceBatched(db, "bench", n, benchValue100);
  benchExec(db, "SELECT stream_alter_topic('bench', '{\"hot.retention.messages\":0}')");
  {
    double t0 = benchNow();
    benchExec(db, "SELECT stream_tier('bench')");
    tTier = benchNow()-t0;
  }
  if( benchInt1(db, "SELECT count(*) FROM _stream_messages")!=0 ){
    fprintf(stderr, "tier left hot messages\n");
    return 1;
  }
  sqlite3_close(db);
  snprintf(zStore, sizeof(zStore), "%s/bench-tier.db.stream/warm", zDir);
  for(i=0; i<3; i++){             /* best of three */
    double t;
    long r;
    replay("bench-tier.db", n, &t, &r, &nSum);
    if( i==0 || t<tReplay ) tReplay = t;
    if( i==0 || r>rss ) rss = r;
  }
  tDuck = duckdb(zStore, &nDuckSum);
  tPoll = pollWarm("bench-tier.db", n, 100);

  printf("| measure | value | target |\n|---|---|---|\n");
  printf("| produce (batched, tiering off) | %.0f msg/s | |\n", n/tProd);
  printf("| tier hot -> warm (stream_tier) | %.0f msg/s (%.2fx produce) |"
         " >= 2x |\n", n/tTier, tProd/tTier);
  printf("| replay from warm via stream_messages | %.0f msg/s (%.3f s) | |\n",
         n/tReplay, tReplay);
  if( tDuck>0 ){
    printf("| DuckDB read_parquet, threads=1 | %.0f msg/s (%.3f s) | |\n",
           n/tDuck, tDuck);
    printf("| replay speed vs DuckDB | %.2fx%s | >= 0.5x |\n", tDuck/tReplay,
           nSum==nDuckSum ? "" : " (CHECKSUMS DIFFER)");
  }else{
    printf("| DuckDB | not run (node or @duckdb/node-api missing) | |\n");
  }
  printf("| peak RSS of the replay process | %.1f MiB | bounded |\n",
         rss/1024.0);
  if( tPoll>0 ){
    printf("| stream_poll of the warm backlog, 100/poll | %.0f msg/s"
           " (%.2fx the one-scan replay) | |\n", n/tPoll, tReplay/tPoll);
  }else{
    printf("| stream_poll of the warm backlog | failed | |\n");
  }
  printf("\n");

  printf("| compression.type | hot bytes/msg | warm codec | warm bytes/msg |\n");
  printf("|---|---|---|---|\n");
  for(i=0; i<3; i++){
    char zSql[256];
    long long nHot0, nHot, nWarm;
    db = openDb("bench-size.db", 1);
    benchExec(db, "PRAGMA page_size=4096; VACUUM;");
    nHot0 = dbBytes(db);
    snprintf(zSql, sizeof(zSql), "SELECT stream_create_topic('s', 8, "
        "'{\"hot.retention.ms\":-1,\"hot.retention.messages\":-1,"
        "\"retention.ms\":-1,\"compression.type\":\"%s\"}')", azCodec[i]);
    benchExec(db, zSql);
    nHot0 = dbBytes(db);
    benchProduceBatched(db, "s", nSize, benchValue100);
    nHot = dbBytes(db) - nHot0;
    benchExec(db, "SELECT stream_alter_topic('s', '{\"hot.retention.messages\":0}')");
    benchExec(db, "SELECT stream_tier('s')");
    nWarm = benchInt1(db, "SELECT sum(bytes) FROM stream_segments");
    printf("| %s | %.1f | %s | %.1f |\n", azCodec[i], (double)nHot/nSize,
           i==1 ? "GZIP" : "ZSTD", (double)nWarm/nSize);
    sqlite3_close(db);
  }
  return 0;
}
