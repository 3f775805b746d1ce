/*
** bench_consume.c - consumer-group figures of sqlite-stream, with raw SQLite
** doing the equivalent work on plain tables in the same run.
**
**   bench_consume EXTENSION_PATH [--quick] [--dir DIR]
**
**   poll-commit   a backlog (1,000,000 messages, 100-byte JSON, 8
**                 partitions) consumed by one member in batches of 1,000:
**                 BEGIN; SELECT * FROM stream_poll(...); SELECT
**                 stream_commit_sync(...); COMMIT - vs raw SQLite running the
**                 range SELECT on a plain table with the seed's schema and an
**                 UPDATE of an offsets table per batch.
**   latency       produce -> poll across two processes: a producer at a fixed
**                 rate writes its clock in each message; the consumer long-
**                 polls with stream_poll(..., wait_ms); p50 / p99 / p99.9 /
**                 max.
**   rebalance     time for 10 members to join one group (each join is a
**                 rebalance), then for one to leave.
** WAL, synchronous=NORMAL.  Medians of repeated runs; it prints figures
** and never fails on a number.
*/
#include <sqlite3.h>
#include "bench.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#define NPART 8

static const char *zExt;
static char zDir[512] = "/tmp";

static long long wallUs(void){
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec*1000000LL + ts.tv_nsec/1000;
}

static sqlite3 *openDb(const char *zName, int bNew, int bStream){
  char zPath[700];
  sqlite3 *db;
  snprintf(zPath, sizeof(zPath), "%s/%s", zDir, zName);
  if( bNew ){
    char z2[720];
    unlink(zPath);
    snprintf(z2, sizeof(z2), "%s-wal", zPath); unlink(z2);
    snprintf(z2, sizeof(z2), "%s-shm", zPath); unlink(z2);
  }
  if( sqlite3_open(zPath, &db) ){ fprintf(stderr, "open\n"); exit(1); }
  sqlite3_busy_timeout(db, 10000);
  benchExec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  if( bStream ){
    benchLoadExt(db, zExt);
  }
  return db;
}

/* Fill both databases with n messages (8 partitions, round robin). */
static void fill(sqlite3 *dbS, sqlite3 *dbR, int n){
  sqlite3_stmt *pS, *pR;
  char zVal[128], zKey[32];
  int i;
  /* hot only: the warm tier is measured by bench_tier */
  benchExec(dbS, "SELECT stream_create_topic('bench', 8, '{\"hot.retention.messages\":-1,\"hot.retention.ms\":-1}')");
  benchExec(dbR,
    "CREATE TABLE stream_messages(topic TEXT NOT NULL, partition INTEGER NOT"
    " NULL, offset INTEGER NOT NULL, key TEXT, value JSON NOT NULL, headers"
    " JSON, timestamp INTEGER NOT NULL, PRIMARY KEY (topic, partition,"
    " offset));"
    "CREATE INDEX idx_messages_topic ON stream_messages(topic, partition,"
    " timestamp);"
    "CREATE TABLE stream_offsets(group_id TEXT NOT NULL, topic TEXT NOT NULL,"
    " partition INTEGER NOT NULL, offset INTEGER NOT NULL, metadata TEXT,"
    " committed_at INTEGER NOT NULL, PRIMARY KEY (group_id, topic,"
    " partition));");
  sqlite3_prepare_v2(dbS, "INSERT INTO stream_messages(topic, key, value,"
      " partition) VALUES('bench', ?1, ?2, ?3)", -1, &pS, 0);
  sqlite3_prepare_v2(dbR, "INSERT INTO stream_messages VALUES('bench', ?3,"
      " ?4, ?1, ?2, NULL, 0)", -1, &pR, 0);
  benchExec(dbS, "BEGIN"); benchExec(dbR, "BEGIN");
  for(i=0; i<n; i++){
    int nV = benchValue100(zVal, i);
    int nK = snprintf(zKey, sizeof(zKey), "key-%d", i);
    sqlite3_bind_text(pS, 1, zKey, nK, SQLITE_STATIC);
    sqlite3_bind_text(pS, 2, zVal, nV, SQLITE_STATIC);
    sqlite3_bind_int(pS, 3, i % NPART);
    sqlite3_step(pS); sqlite3_reset(pS);
    sqlite3_bind_text(pR, 1, zKey, nK, SQLITE_STATIC);
    sqlite3_bind_int64(pR, 2, i / NPART);
    sqlite3_bind_int(pR, 3, i % NPART);
    sqlite3_bind_text(pR, 4, zVal, nV, SQLITE_STATIC);
    sqlite3_step(pR); sqlite3_reset(pR);
  }
  benchExec(dbS, "COMMIT"); benchExec(dbR, "COMMIT");
  sqlite3_finalize(pS); sqlite3_finalize(pR);
}

static double consumeStream(sqlite3 *db, int n, int iRun){
  sqlite3_stmt *pPoll, *pCommit;
  char zGroup[32], zSql[256];
  double t0;
  int got = 0;
  snprintf(zGroup, sizeof(zGroup), "g%d", iRun);
  snprintf(zSql, sizeof(zSql), "SELECT stream_join('%s', 'm', '[\"bench\"]',"
           " '{\"auto.offset.reset\":\"earliest\",\"enable.auto.commit\":false,"
           "\"max.poll.records\":1000}')", zGroup);
  benchExec(db, zSql);
  sqlite3_prepare_v2(db, "SELECT offset, key, value, timestamp FROM"
      " stream_poll(?1, 'm', 1000)", -1, &pPoll, 0);
  sqlite3_prepare_v2(db, "SELECT stream_commit_sync(?1, 'm')", -1, &pCommit, 0);
  sqlite3_bind_text(pPoll, 1, zGroup, -1, SQLITE_STATIC);
  sqlite3_bind_text(pCommit, 1, zGroup, -1, SQLITE_STATIC);
  t0 = benchNow();
  while( got<n ){
    int nBatch = 0;
    benchExec(db, "BEGIN");
    while( sqlite3_step(pPoll)==SQLITE_ROW ){
      (void)sqlite3_column_bytes(pPoll, 2);
      nBatch++;
    }
    sqlite3_reset(pPoll);
    sqlite3_step(pCommit); sqlite3_reset(pCommit);
    benchExec(db, "COMMIT");
    if( nBatch==0 ){ fprintf(stderr, "stream: stalled at %d\n", got); exit(1); }
    got += nBatch;
  }
  t0 = benchNow() - t0;
  sqlite3_finalize(pPoll); sqlite3_finalize(pCommit);
  return t0;
}

static double consumeRaw(sqlite3 *db, int n, int iRun){
  sqlite3_stmt *pSel, *pUp;
  long long aPos[NPART] = {0};
  double t0;
  int got = 0, iPart = 0;
  char zSql[200];
  snprintf(zSql, sizeof(zSql), "INSERT INTO stream_offsets SELECT 'g%d',"
           " 'bench', value, 0, NULL, 0 FROM generate_series(0, 7)", iRun);
  if( sqlite3_exec(db, zSql, 0, 0, 0) ){
    /* no generate_series: insert by hand */
    int i;
    for(i=0; i<NPART; i++){
      snprintf(zSql, sizeof(zSql), "INSERT INTO stream_offsets VALUES('g%d',"
               " 'bench', %d, 0, NULL, 0)", iRun, i);
      benchExec(db, zSql);
    }
  }
  sqlite3_prepare_v2(db, "SELECT offset, key, value, timestamp FROM"
      " stream_messages WHERE topic='bench' AND partition=?1 AND offset>=?2"
      " ORDER BY offset LIMIT ?3", -1, &pSel, 0);
  snprintf(zSql, sizeof(zSql), "UPDATE stream_offsets SET offset=?2,"
           " committed_at=?3 WHERE group_id='g%d' AND topic='bench' AND"
           " partition=?1", iRun);
  sqlite3_prepare_v2(db, zSql, -1, &pUp, 0);
  t0 = benchNow();
  while( got<n ){
    int nBatch = 0, k;
    benchExec(db, "BEGIN");
    /* 1,000 per batch, spread over the partitions like a poll */
    for(k=0; k<NPART && nBatch<1000; k++){
      int p = (iPart + k) % NPART;
      sqlite3_bind_int(pSel, 1, p);
      sqlite3_bind_int64(pSel, 2, aPos[p]);
      sqlite3_bind_int(pSel, 3, 125);
      while( sqlite3_step(pSel)==SQLITE_ROW ){
        (void)sqlite3_column_bytes(pSel, 2);
        aPos[p] = sqlite3_column_int64(pSel, 0) + 1;
        nBatch++;
      }
      sqlite3_reset(pSel);
      sqlite3_bind_int(pUp, 1, p);
      sqlite3_bind_int64(pUp, 2, aPos[p]);
      sqlite3_bind_int64(pUp, 3, 0);
      sqlite3_step(pUp); sqlite3_reset(pUp);
    }
    iPart++;
    benchExec(db, "COMMIT");
    if( nBatch==0 ){ fprintf(stderr, "raw: stalled\n"); exit(1); }
    got += nBatch;
  }
  t0 = benchNow() - t0;
  sqlite3_finalize(pSel); sqlite3_finalize(pUp);
  return t0;
}

static void latency(int nMsg, int nRate){
  sqlite3 *db = openDb("bench-lat.db", 1, 1);
  pid_t pid;
  int fd[2];
  benchExec(db, "SELECT stream_create_topic('lat', 1)");
  sqlite3_close(db);
  if( pipe(fd) ) exit(1);
  pid = fork();
  if( pid==0 ){
    /* consumer */
    sqlite3 *dbC = openDb("bench-lat.db", 0, 1);
    sqlite3_stmt *pPoll;
    double *aLat = malloc(sizeof(double)*nMsg);
    int got = 0;
    close(fd[0]);
    benchExec(dbC, "SELECT stream_join('lg', 'c', '[\"lat\"]',"
              " '{\"auto.offset.reset\":\"earliest\",\"auto.commit.interval.ms\":0}')");
    /* A long poll in autocommit mode: returns as soon as messages come. */
    sqlite3_prepare_v2(dbC, "SELECT value->>'us' FROM"
                       " stream_poll('lg', 'c', 1000, 1000)", -1, &pPoll, 0);
    if( write(fd[1], "r", 1)!=1 ) exit(1);
    while( got<nMsg ){
      while( sqlite3_step(pPoll)==SQLITE_ROW ){
        long long t = sqlite3_column_int64(pPoll, 0);
        if( got<nMsg ) aLat[got++] = (wallUs() - t)/1000.0;
      }
      sqlite3_reset(pPoll);
    }
    {
      int nSkip = nMsg/10, n = nMsg - nSkip;   /* warm-up discarded */
      double *a = aLat + nSkip;
      qsort(a, n, sizeof(double), benchCmpDouble);
      printf("| latency @%5d msg/s | %7.3f | %7.3f | %7.3f | %7.3f |\n",
             nRate, a[n/2], a[(int)(n*0.99)], a[(int)(n*0.999)], a[n-1]);
      fflush(stdout);
    }
    sqlite3_close(dbC);
    _exit(0);
  }else{
    /* producer */
    sqlite3 *dbP = openDb("bench-lat.db", 0, 1);
    sqlite3_stmt *pProd;
    char c;
    int i;
    close(fd[1]);
    if( read(fd[0], &c, 1)!=1 ) exit(1);
    sqlite3_prepare_v2(dbP, "SELECT stream_produce('lat', NULL,"
                       " json_object('us', ?1, 'pad', 'xxxxxxxxxxxxxxxxxxxx'))",
                       -1, &pProd, 0);
    for(i=0; i<nMsg; i++){
      double tNext = benchNow() + 1.0/nRate;
      sqlite3_bind_int64(pProd, 1, wallUs());
      sqlite3_step(pProd); sqlite3_reset(pProd);
      while( benchNow()<tNext ){}
    }
    sqlite3_finalize(pProd);
    sqlite3_close(dbP);
    waitpid(pid, 0, 0);
  }
}

static void rebalance(void){
  sqlite3 *db = openDb("bench-reb.db", 1, 1);
  double a[5], b[5];
  int r;
  benchExec(db, "SELECT stream_create_topic('rb', 32)");
  for(r=0; r<5; r++){
    char zSql[200];
    double t0 = benchNow();
    int m;
    for(m=0; m<10; m++){
      snprintf(zSql, sizeof(zSql), "SELECT stream_join('rg%d', 'member-%02d',"
               " '[\"rb\"]')", r, m);
      benchExec(db, zSql);
    }
    a[r] = (benchNow() - t0)*1000.0/10;
    t0 = benchNow();
    snprintf(zSql, sizeof(zSql), "SELECT stream_leave('rg%d', 'member-03')", r);
    benchExec(db, zSql);
    b[r] = (benchNow() - t0)*1000.0;
  }
  qsort(a, 5, sizeof(double), benchCmpDouble);
  qsort(b, 5, sizeof(double), benchCmpDouble);
  printf("\n| rebalance (32 partitions) | ms |\n|---|---|\n"
         "| join, per member, 10 members (each a rebalance) | %.3f |\n"
         "| leave of one of 10 (a rebalance) | %.3f |\n", a[2], b[2]);
  sqlite3_close(db);
}

int main(int argc, char **argv){
  int bQuick = 0, i, nRep, nMsg;
  double aS[5], aR[5];
  zExt = benchEngineArgs(argc, argv, &bQuick, zDir, sizeof(zDir), 0, 0);
  nRep = 3;
  nMsg = bQuick ? 200000 : 1000000;
  printf("sqlite-stream bench_consume: SQLite %s, %s mode\n\n",
         sqlite3_libversion(), bQuick ? "quick" : "full");
  {
    sqlite3 *dbS = openDb("bench-cs.db", 1, 1);
    sqlite3 *dbR = openDb("bench-cr.db", 1, 0);
    /* keep the whole backlog hot: tiering is measured elsewhere */
    benchExec(dbS, "SELECT 1");
    fill(dbS, dbR, nMsg);
    for(i=0; i<nRep; i++){
      aS[i] = consumeStream(dbS, nMsg, i);
      aR[i] = consumeRaw(dbR, nMsg, i);
    }
    qsort(aS, nRep, sizeof(double), benchCmpDouble);
    qsort(aR, nRep, sizeof(double), benchCmpDouble);
    printf("| workload | messages | stream msg/s | raw msg/s | ratio |\n");
    printf("|---|---|---|---|---|\n");
    printf("| poll + commit, batches of 1,000 | %d | %.0f | %.0f | %.2f |\n",
           nMsg, nMsg/aS[nRep/2], nMsg/aR[nRep/2], aR[nRep/2]/aS[nRep/2]);
    sqlite3_close(dbS);
    sqlite3_close(dbR);
  }
  printf("\n| produce -> poll, two processes | p50 ms | p99 ms | p99.9 ms | max ms |\n");
  printf("|---|---|---|---|---|\n");
  fflush(stdout);
  latency(bQuick ? 2000 : 10000, 1000);
  rebalance();
  return 0;
}
