/*
** bench_latency.c - produce-to-consume latency across processes (issue #12
** part C): one producer process sends one message per transaction at a
** fixed rate; 1 or 5 consumer processes (one consumer group each) read
** them, each with ONE prepared statement reused in a loop
** (sqlite3_reset + sqlite3_step), the normal client pattern:
**
**   sqlite-stream: SELECT value FROM stream_poll(group, member, 500, 100)
**                  (a long poll; auto-commit at Kafka's defaults)
**   raw SQLite:    SELECT id, t FROM msgs WHERE id > ?1 ORDER BY id
**                  LIMIT 500, a nap of 50 us doubling to 1 ms while empty,
**                  and the consumer's offset committed (an UPDATE) at
**                  most every 100 ms: "raw SQLite with periodic commits",
**                  the baseline of BENCHMARKS-compare.md W3.
**
** Latency = receipt time - scheduled send time (CLOCK_MONOTONIC, shared by
** the processes), so a producer that falls behind shows up in it.  The
** first 20% of the messages are a warm-up and are discarded.  Each cell
** runs --runs times (default 3); the table shows the medians of the runs'
** figures.  Poll errors: steps that returned an error (any code) in the
** consumers; producer errors are counted apart.
**
**   cc -O2 -o bench_latency bench/bench_latency.c -lsqlite3
** CPU: microseconds of CPU (user + system) per message, of the producer
** process and of each consumer process (mean over the groups).
**
**   ./bench_latency ./stream0.so [--quick] [--seconds S] [--runs N]
**                   [--rate R] [--groups 1..5] [--dir DIR]
**                   [--system stream|raw] [--lockstep N [GAP_US]]
**                   [--timeline] [--checkpointer]
**                   [--only-produce stream|raw N]  (see onlyProduce())
**
** --system runs one of the two systems only (for strace, perf or
** callgrind: valgrind follows the forked consumers; each writes its own
** callgrind.out.PID, and --toggle-collect=consumeLoop /
** --toggle-collect=produceLoop keep the loops only).
**
** --timeline: where the slowest messages' time went.  Every message's
** producer step (start, end, and the time of the checkpoint inside it:
** the producer's WAL hook then runs SQLite's own autocheckpoint, a
** PASSIVE checkpoint at 1,000 frames, timed) and every group's receipt
** are kept; after each run a few lines give the producer's checkpoints
** and step times, the tail's (>= p99) mean start lateness, step and
** commit-to-receipt times, and two replays of the producer: without its
** checkpoints' time, and without its waits for the CPU (each receipt
** moved by as much as its step's end), the p99 either would leave.
**
** --checkpointer: each cell also runs both systems with the producer's
** connection under stream_checkpointer(1) (ext/checkpoint.c: PASSIVE
** checkpoints by a thread of its own while the WAL fills, the committer's
** once a cycle only what is left): "sqlite-stream + checkpointer" and
** "raw SQLite + checkpointer" (the extension loaded on the raw producer's
** connection for that function only; its INSERTs are plain SQL), beside
** the two systems as they are.  With --timeline, a step's checkpoint time
** is then the committer's own (inline) checkpoint, read from the
** function's counters after each step slower than 200 us.
**
** --lockstep N: N messages, each produced GAP_US (default 3000) after
** every consumer received the one before: every message finds the
** consumers waiting, whatever the machine's load, so that the CPU (or
** callgrind's instructions) per message of each side is that of one
** message per wake-up, comparable from run to run.
**
** WAL mode, synchronous=NORMAL for both systems.  Not part of make check
** (a build-only check is): figures are reported, never asserted.
*/
#define _POSIX_C_SOURCE 200809L   /* clock_nanosleep, fork, pipe */
#define _DEFAULT_SOURCE           /* MAP_ANONYMOUS */
#include <sqlite3.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

#define MAX_GROUPS 5

static const char *zSo = "./stream0.so";
static char zDb[4096];

/* --lockstep: messages, the producer's gap, and the messages each group
** has received (shared with the forked consumers). */
static long long nLockstep = 0;
static int nLockGroups = 0;
static long nLockGapUs = 3000;
static volatile long long *aLockGot = 0;
static int iLockGroup = 0;           /* the consumer's group (its slot) */

/* --timeline: per message, its scheduled time, the producer's statement
** start and end, the checkpoint time inside that commit, and each group's
** receipt (shared with the forked consumers), for the tail analysis
** (timelineReport()). */
typedef struct Timeline Timeline;
struct Timeline {
  long long nMsg;              /* messages of the run */
  volatile long long *pStart;  /* the first one's scheduled time (shared) */
  int nRate;                   /* messages a second */
  long long *aStep0, *aStep1;  /* the producer's step: start, end (ns) */
  long long *aCkpt;            /* ns of checkpoint inside that step */
  long long *aRecv;            /* [group*nMsg + i]: receipt (ns) */
};
static Timeline *pTl = 0;
static long long nTlCkptNs = 0;      /* checkpoint time of the open step */

/* --checkpointer: run the systems with it too; the cell running now has it
** on (the producer calls stream_checkpointer(1)); its counter of the
** committer's checkpoint time (us) last read, for --timeline. */
static int bCkptOpt = 0;
static int bCkptCell = 0;
static long long nCkptInlineUs = 0;
static sqlite3_stmt *pCkptStatus = 0;  /* SELECT stream_checkpointer() */

/* The checkpointer's counter NAME (a JSON integer) of the producer. */
static long long ckptCounter(const char *zName){
  long long v = 0;
  if( pCkptStatus && sqlite3_step(pCkptStatus)==SQLITE_ROW ){
    const char *z = (const char*)sqlite3_column_text(pCkptStatus, 0);
    char zKey[64];
    const char *zAt;
    snprintf(zKey, sizeof(zKey), "\"%s\":", zName);
    zAt = z ? strstr(z, zKey) : 0;
    if( zAt ) v = atoll(zAt + strlen(zKey));
  }
  if( pCkptStatus ) sqlite3_reset(pCkptStatus);
  return v;
}

static long long nowNs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec*1000000000LL + ts.tv_nsec;
}

static void sleepUntilNs(long long t){
  struct timespec ts;
  ts.tv_sec = (time_t)(t/1000000000LL);
  ts.tv_nsec = (long)(t%1000000000LL);
  while( clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, 0)==EINTR ){}
}

static void napUs(long us){
  struct timespec ts;
  ts.tv_sec = us/1000000;
  ts.tv_nsec = (us%1000000)*1000;
  nanosleep(&ts, 0);
}

/* A connection to zDb; bLoad: with the extension loaded. */
static sqlite3 *openDbLoad(int bLoad){
  sqlite3 *db = 0;
  if( sqlite3_open(zDb, &db)!=SQLITE_OK ){
    fprintf(stderr, "open %s: %s\n", zDb, sqlite3_errmsg(db));
    exit(1);
  }
  sqlite3_busy_timeout(db, 5000);
  if( bLoad ){
    char *zErr = 0;
    sqlite3_enable_load_extension(db, 1);
    if( sqlite3_load_extension(db, zSo, 0, &zErr)!=SQLITE_OK ){
      fprintf(stderr, "load %s: %s\n", zSo, zErr);
      exit(1);
    }
  }
  benchExec(db, "PRAGMA synchronous=NORMAL");
  return db;
}

static sqlite3 *openDb(int bStream){
  return openDbLoad(bStream);
}

static sqlite3_stmt *prep(sqlite3 *db, const char *zSql){
  sqlite3_stmt *pStmt = 0;
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)!=SQLITE_OK ){
    fprintf(stderr, "%s: %s\n", zSql, sqlite3_errmsg(db));
    exit(1);
  }
  return pStmt;
}

/* A consumer's figures, sent to the parent through a pipe. */
typedef struct Result Result;
struct Result {
  long long nGot;              /* messages received */
  long long nPoll;             /* statement executions (polls) */
  long long nErr;              /* poll errors */
  double p50, p99, p999, max;  /* latency, microseconds (after warm-up) */
  double cpu;                  /* CPU seconds of the consumer process */
};

static double cpuSeconds(void){
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec*1e-6
       + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec*1e-6;
}

static void percentiles(double *a, long long n, Result *r){
  if( n<=0 ){ r->p50 = r->p99 = r->p999 = r->max = -1; return; }
  qsort(a, (size_t)n, sizeof(double), benchCmpDouble);
  r->p50 = a[(long long)(0.50*(n-1))];
  r->p99 = a[(long long)(0.99*(n-1))];
  r->p999 = a[(long long)(0.999*(n-1))];
  r->max = a[n-1];
}

/* Kept out of line, so that callgrind's --toggle-collect finds it. */
#if defined(__GNUC__)
# define NOINLINE __attribute__((noinline))
#else
# define NOINLINE
#endif

/* The producer's loop: nMsg messages through pStmt at nRate per second
** from tStart (nRate 0: at once), one per transaction; returns the
** errors. */
static NOINLINE long long produceLoop(sqlite3_stmt *pStmt, int bStream,
                                      int nRate, long long nMsg,
                                      long long tStart){
  char zVal[128];
  long long i, nErr = 0;
  for(i=0; i<nMsg; i++){
    long long t = nRate ? tStart + i*1000000000LL/nRate : tStart + i;
    int rc;
    if( nRate ) sleepUntilNs(t);
    /* ~100 bytes, as W3: the scheduled time and padding. */
    snprintf(zVal, sizeof(zVal), "{\"t\":%lld,\"pad\":\"%0*d\"}", t,
             100 - 30, 0);
    sqlite3_bind_text(pStmt, 1, zVal, -1, SQLITE_STATIC);
    if( !bStream ) sqlite3_bind_int64(pStmt, 2, t);
    if( pTl && nRate ) pTl->aStep0[i] = nowNs(), nTlCkptNs = 0;
    do{
      rc = sqlite3_step(pStmt);
      sqlite3_reset(pStmt);
      if( rc!=SQLITE_ROW && rc!=SQLITE_DONE ) nErr++;
    }while( rc!=SQLITE_ROW && rc!=SQLITE_DONE && nErr<1000000 );
    if( pTl && nRate ){
      pTl->aStep1[i] = nowNs();
      if( bCkptCell && pTl->aStep1[i] - pTl->aStep0[i]>200000 ){
        /* The committer's own checkpoint time since the last look. */
        long long v = ckptCounter("inline_us");
        nTlCkptNs = (v - nCkptInlineUs)*1000;
        nCkptInlineUs = v;
      }
      pTl->aCkpt[i] = nTlCkptNs;
    }
  }
  return nErr;
}

/* --timeline: the producer's WAL hook, SQLite's own autocheckpoint
** (sqlite3WalDefaultHook: a PASSIVE checkpoint once the WAL holds 1,000
** frames, SQLITE_DEFAULT_WAL_AUTOCHECKPOINT) timed. */
static int timelineWalHook(void *pArg, sqlite3 *db, const char *zDb,
                           int nFrame){
  (void)pArg;
  if( nFrame>=1000 ){
    long long t0 = nowNs();
    sqlite3_wal_checkpoint_v2(db, zDb, SQLITE_CHECKPOINT_PASSIVE, 0, 0);
    nTlCkptNs += nowNs() - t0;
  }
  return SQLITE_OK;
}

/* Producer: nMsg messages at nRate per second from tStart, one per
** transaction.  Returns the errors; *pElapsed the seconds it took. */
static long long produce(int bStream, int nRate, long long nMsg,
                         long long tStart, double *pElapsed){
  sqlite3 *db = openDbLoad(bStream || bCkptCell);
  sqlite3_stmt *pStmt = prep(db, bStream
      ? "SELECT stream_produce('lat', NULL, ?1, NULL, 0)"
      : "INSERT INTO msgs(t, v) VALUES(?2, ?1)");
  long long nErr = 0, i;
  int g;
  if( bCkptCell ){
    /* The checkpointer takes the WAL hook: the timeline reads its
    ** counters instead. */
    benchExec(db, "SELECT stream_checkpointer(1)");
    pCkptStatus = prep(db, "SELECT stream_checkpointer()");
    nCkptInlineUs = 0;
  }else if( pTl ){
    sqlite3_wal_hook(db, timelineWalHook, 0);
  }
  if( aLockGot ){
    /* Lockstep: each message GAP_US after every group received the one
    ** before. */
    for(i=0; i<nMsg; i++){
      for(g=0; g<nLockGroups; g++){
        while( aLockGot[g]<i ) napUs(50);
      }
      napUs(nLockGapUs);
      nErr += produceLoop(pStmt, bStream, 0, 1, nowNs());
    }
  }else{
    nErr = produceLoop(pStmt, bStream, nRate, nMsg, tStart);
  }
  *pElapsed = (nowNs() - tStart)/1e9;
  if( pCkptStatus && pTl ){
    if( sqlite3_step(pCkptStatus)==SQLITE_ROW ){
      printf("  checkpointer: %s\n", sqlite3_column_text(pCkptStatus, 0));
    }
    sqlite3_reset(pCkptStatus);
  }
  sqlite3_finalize(pCkptStatus);
  pCkptStatus = 0;
  sqlite3_finalize(pStmt);
  sqlite3_close(db);
  return nErr;
}

/* The consumer's loop: polls through pPoll (and commits through pCommit,
** raw) until nMsg messages came or tEnd; latencies after the warm-up go to
** aLat.  Returns their number. */
static NOINLINE long long consumeLoop(sqlite3 *db, int bStream,
                                      sqlite3_stmt *pPoll,
                                      sqlite3_stmt *pCommit, long long nMsg,
                                      long long tEnd, double *aLat,
                                      Result *pRes){
  long long nWarm = nMsg/5, nLat = 0, iLast = 0, nNap = 50;
  long long tCommit = nowNs();
  while( pRes->nGot<nMsg && nowNs()<tEnd ){
    int rc, nRow = 0;
    if( !bStream ) sqlite3_bind_int64(pPoll, 1, iLast);
    pRes->nPoll++;
    while( (rc = sqlite3_step(pPoll))==SQLITE_ROW ){
      long long t, now = nowNs();
      if( bStream ){
        const char *z = (const char*)sqlite3_column_text(pPoll, 0);
        t = z ? strtoll(z+5, 0, 10) : now;
      }else{
        iLast = sqlite3_column_int64(pPoll, 0);
        t = sqlite3_column_int64(pPoll, 1);
      }
      if( pRes->nGot>=nWarm ) aLat[nLat++] = (now - t)/1e3;
      if( pTl ){
        long long iMsg = (t - (*pTl->pStart))*pTl->nRate/1000000000LL;
        while( iMsg+1<pTl->nMsg
            && (*pTl->pStart) + (iMsg+1)*1000000000LL/pTl->nRate<=t ) iMsg++;
        if( iMsg>=0 && iMsg<pTl->nMsg ){
          pTl->aRecv[iLockGroup*pTl->nMsg + iMsg] = now;
        }
      }
      pRes->nGot++;
      nRow++;
      if( aLockGot ) aLockGot[iLockGroup] = pRes->nGot;
    }
    if( rc!=SQLITE_DONE ){
      pRes->nErr++;
      if( pRes->nErr<=3 ){
        fprintf(stderr, "  poll error: %s\n", sqlite3_errmsg(db));
      }
    }
    sqlite3_reset(pPoll);
    if( !bStream ){
      if( nowNs() - tCommit >= 100000000LL ){  /* periodic commit */
        sqlite3_bind_int64(pCommit, 2, iLast);
        if( sqlite3_step(pCommit)!=SQLITE_DONE ) pRes->nErr++;
        sqlite3_reset(pCommit);
        tCommit = nowNs();
      }
      if( nRow==0 ){
        napUs(nNap);
        if( nNap<1000 ) nNap *= 2;
      }else{
        nNap = 50;
      }
    }
  }
  return nLat;
}

/* Consumer of group iGroup: reads until nMsg messages came or tEnd. */
static void consume(int bStream, int iGroup, long long nMsg, long long tEnd,
                    int fdReady, Result *pRes){
  sqlite3 *db = openDb(bStream);
  sqlite3_stmt *pPoll, *pCommit = 0;
  double *aLat = malloc(sizeof(double)*(size_t)(nMsg+1));
  long long nLat;
  char zGroup[32];
  snprintf(zGroup, sizeof(zGroup), "g%d", iGroup);
  memset(pRes, 0, sizeof(*pRes));
  if( bStream ){
    sqlite3_stmt *pJoin = prep(db, "SELECT stream_join(?1, 'm', '[\"lat\"]',"
        " '{\"auto.offset.reset\":\"earliest\"}')");
    sqlite3_bind_text(pJoin, 1, zGroup, -1, SQLITE_STATIC);
    if( sqlite3_step(pJoin)!=SQLITE_ROW ){
      fprintf(stderr, "join: %s\n", sqlite3_errmsg(db));
      exit(1);
    }
    sqlite3_finalize(pJoin);
    pPoll = prep(db, "SELECT value FROM stream_poll(?1, 'm', 500, 100)");
    sqlite3_bind_text(pPoll, 1, zGroup, -1, SQLITE_STATIC);
  }else{
    pPoll = prep(db, "SELECT id, t FROM msgs WHERE id>?1 ORDER BY id"
                     " LIMIT 500");
    pCommit = prep(db, "UPDATE offs SET pos=?2 WHERE g=?1");
    sqlite3_bind_int(pCommit, 1, iGroup);
  }
  if( write(fdReady, "r", 1)!=1 ) exit(1);
  nLat = consumeLoop(db, bStream, pPoll, pCommit, nMsg, tEnd, aLat, pRes);
  percentiles(aLat, nLat, pRes);
  pRes->cpu = cpuSeconds();
  free(aLat);
  sqlite3_finalize(pPoll);
  sqlite3_finalize(pCommit);
  sqlite3_close(db);
}

/* One run of one cell: figures of consumers (worst p99 of the groups,
** summed errors), the producer's achieved rate and errors. */
typedef struct Run Run;
struct Run {
  double rate, p50, p99, p999, max;
  double cpuProd, cpuCons;     /* CPU us per message: producer, consumers */
  double pollsPerMsg;          /* polls per message received (mean) */
  long long nPollErr, nProdErr, nLost;
};

/* A fresh database zDb with the topic (or the raw tables). */
static void dbFresh(int bStream){
  sqlite3 *db;
  char z[4200];
  unlink(zDb);
  snprintf(z, sizeof(z), "%s-wal", zDb); unlink(z);
  snprintf(z, sizeof(z), "%s-shm", zDb); unlink(z);
  snprintf(z, sizeof(z), "%s-streamwake", zDb); unlink(z);
  db = openDb(bStream);
  benchExec(db, "PRAGMA journal_mode=WAL");
  if( bStream ){
    benchExec(db, "SELECT stream_create_topic('lat', 1)");
  }else{
    benchExec(db, "CREATE TABLE msgs(id INTEGER PRIMARY KEY, t INTEGER,"
                  " v BLOB); CREATE TABLE offs(g INTEGER PRIMARY KEY, pos);"
                  " INSERT INTO offs SELECT value, 0 FROM json_each("
                  "'[0,1,2,3,4]');");
  }
  sqlite3_close(db);
}

/* --only-produce stream|raw N: N autocommit produces at once, no
** consumer, for an instruction count that noise does not move:
**   valgrind --tool=callgrind --toggle-collect=produceLoop \
**     bench/bench_latency ./stream0.so --only-produce stream 3000
** divided by N (the producer's statement, its commit included); with
** --checkpointer, under stream_checkpointer(1) (its thread's work is not
** in produceLoop: the committer's share only). */
static void onlyProduce(int bStream, long long nMsg){
  double elapsed = 0;
  long long nErr;
  dbFresh(bStream);
  bCkptCell = bCkptOpt;          /* --checkpointer: with it on */
  nErr = produce(bStream, 0, nMsg, nowNs(), &elapsed);
  bCkptCell = 0;
  printf("%s: %lld autocommit produces, %lld errors\n",
         bStream ? "stream" : "raw", nMsg, nErr);
  unlink(zDb);
}

static void timelineReport(int bStream, int nGroup);

static void runCell(int bStream, int nRate, int nGroup, double nSec,
                    Run *pRun){
  long long nMsg = nLockstep>0 ? nLockstep : (long long)(nRate*nSec);
  long long tStart, tEnd;
  int aFd[MAX_GROUPS][2], aReady[2], i;
  pid_t aPid[MAX_GROUPS];
  Result r;
  double elapsed = 0;

  dbFresh(bStream);
  if( pTl ){
    size_t nB = sizeof(long long)*((size_t)nMsg*(3 + MAX_GROUPS) + 1);
    void *pMap = mmap(0, nB, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS,
                      -1, 0);
    if( pMap==MAP_FAILED ){ perror("mmap"); exit(1); }
    pTl->nMsg = nMsg;
    pTl->nRate = nRate;
    pTl->aStep0 = (long long*)pMap;
    pTl->aStep1 = pTl->aStep0 + nMsg;
    pTl->aCkpt = pTl->aStep1 + nMsg;
    pTl->aRecv = pTl->aCkpt + nMsg;
    pTl->pStart = pTl->aRecv + (size_t)nMsg*MAX_GROUPS;
  }
  if( pipe(aReady) ) exit(1);
  tEnd = nowNs() + (long long)((nSec + 10)*1e9);
  if( nLockstep>0 ){
    tEnd = nowNs() + 3600*1000000000LL;
    nLockGroups = nGroup;
    if( aLockGot==0 ){
      void *pMap = mmap(0, sizeof(long long)*MAX_GROUPS,
                        PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0);
      if( pMap==MAP_FAILED ){ perror("mmap"); exit(1); }
      aLockGot = (volatile long long*)pMap;
    }
    for(i=0; i<MAX_GROUPS; i++) aLockGot[i] = 0;
  }
  for(i=0; i<nGroup; i++){
    if( pipe(aFd[i]) ) exit(1);
    aPid[i] = fork();
    if( aPid[i]==0 ){
      iLockGroup = i;
      consume(bStream, i, nMsg, tEnd, aReady[1], &r);
      if( write(aFd[i][1], &r, sizeof(r))!=(ssize_t)sizeof(r) ) _exit(1);
      _exit(0);
    }
  }
  for(i=0; i<nGroup; i++){
    char c;
    if( read(aReady[0], &c, 1)!=1 ) exit(1);
  }
  tStart = nowNs() + 20000000LL;
  if( pTl ) (*pTl->pStart) = tStart;
  pRun->cpuProd = cpuSeconds();
  pRun->nProdErr = produce(bStream, nRate, nMsg, tStart, &elapsed);
  pRun->cpuProd = (cpuSeconds() - pRun->cpuProd)*1e6/nMsg;
  pRun->cpuCons = 0;
  pRun->pollsPerMsg = 0;
  pRun->rate = nMsg/elapsed;
  pRun->p50 = pRun->p99 = pRun->p999 = pRun->max = 0;
  pRun->nPollErr = 0;
  pRun->nLost = 0;
  for(i=0; i<nGroup; i++){
    int st;
    if( read(aFd[i][0], &r, sizeof(r))!=(ssize_t)sizeof(r) ){
      memset(&r, 0, sizeof(r));
      r.nErr = 1;
    }
    waitpid(aPid[i], &st, 0);
    close(aFd[i][0]);
    close(aFd[i][1]);
    if( r.p50>pRun->p50 ) pRun->p50 = r.p50;
    if( r.p99>pRun->p99 ) pRun->p99 = r.p99;
    if( r.p999>pRun->p999 ) pRun->p999 = r.p999;
    if( r.max>pRun->max ) pRun->max = r.max;
    pRun->nPollErr += r.nErr;
    pRun->cpuCons += r.cpu*1e6/nMsg/nGroup;
    pRun->pollsPerMsg += r.nGot>0 ? (double)r.nPoll/r.nGot/nGroup : 0;
    pRun->nLost += nMsg - r.nGot;
  }
  close(aReady[0]);
  close(aReady[1]);
  if( pTl ){
    timelineReport(bStream, nGroup);
    munmap(pTl->aStep0, sizeof(long long)*((size_t)nMsg*(3 + MAX_GROUPS) + 1));
  }
}

/* --timeline: where the slowest messages' time went. */
static int cmpLL(const void *a, const void *b){
  long long x = *(const long long*)a, y = *(const long long*)b;
  return x<y ? -1 : x>y;
}
static void timelineReport(int bStream, int nGroup){
  long long n = pTl->nMsg, nWarm = n/5, i, j, nAll = 0, nTail = 0;
  int k;
  long long *aLat = malloc(sizeof(long long)*(size_t)(n*nGroup+1));
  long long *aStep = malloc(sizeof(long long)*(size_t)(n+1));
  long long thr, nCk = 0, ckSum = 0, ckMax = 0;
  long long nLate = 0, nLateCk = 0, nSlow = 0, nSlowCk = 0, nDeliv = 0;
  double sLate = 0, sStep = 0, sDeliv = 0;
  int g;
  for(g=0; g<nGroup; g++){
    for(i=nWarm; i<n; i++){
      long long r = pTl->aRecv[g*n+i];
      long long t = (*pTl->pStart) + i*1000000000LL/pTl->nRate;
      if( r>0 ) aLat[nAll++] = r - t;
    }
  }
  if( nAll==0 ){ free(aLat); free(aStep); return; }
  qsort(aLat, (size_t)nAll, sizeof(long long), cmpLL);
  thr = aLat[(long long)(0.99*(nAll-1))];
  for(i=nWarm; i<n; i++){
    aStep[i-nWarm] = pTl->aStep1[i] - pTl->aStep0[i];
    if( pTl->aCkpt[i]>0 ){
      nCk++; ckSum += pTl->aCkpt[i];
      if( pTl->aCkpt[i]>ckMax ) ckMax = pTl->aCkpt[i];
    }
  }
  qsort(aStep, (size_t)(n-nWarm), sizeof(long long), cmpLL);
  for(g=0; g<nGroup; g++){
    for(i=nWarm; i<n; i++){
      long long r = pTl->aRecv[g*n+i];
      long long t = (*pTl->pStart) + i*1000000000LL/pTl->nRate;
      long long late, step, deliv;
      int bCk = 0;
      if( r<=0 || r-t<thr ) continue;
      nTail++;
      late = pTl->aStep0[i] - t;
      step = pTl->aStep1[i] - pTl->aStep0[i];
      deliv = r - pTl->aStep1[i];
      sLate += late; sStep += step; sDeliv += deliv;
      for(j=i; j>=0 && j>=i-2000; j--){
        if( pTl->aCkpt[j]>0 && pTl->aStep1[j]>=t ){ bCk = 1; break; }
        if( pTl->aStep1[j]<t ) break;
      }
      if( late>=step && late>=deliv ){ nLate++; nLateCk += bCk; }
      else if( step>=deliv ){ nSlow++; nSlowCk += pTl->aCkpt[i]>0; }
      else nDeliv++;
    }
  }
  printf("  timeline %s: p99 %.0f us over %d group(s); %lld checkpoints by"
         " the producer (mean %.0f us, max %.0f us); producer step p50 %.0f"
         " p99 %.0f p99.9 %.0f max %.0f us\n",
         bCkptCell ? (bStream ? "stream + checkpointer"
                              : "raw + checkpointer")
                   : (bStream ? "stream" : "raw"), thr/1e3, nGroup, nCk,
         nCk ? ckSum/1e3/nCk : 0.0, ckMax/1e3,
         aStep[(n-nWarm-1)/2]/1e3, aStep[(long long)(0.99*(n-nWarm-1))]/1e3,
         aStep[(long long)(0.999*(n-nWarm-1))]/1e3, aStep[n-nWarm-1]/1e3);
  if( nTail ){
    printf("  tail (>= p99, %lld receipts): mean producer start late %.0f us,"
           " step %.0f us, commit->receipt %.0f us; dominated by: producer"
           " late %lld (%lld behind a checkpointing commit), own step %lld"
           " (%lld with a checkpoint), delivery %lld\n", nTail,
           sLate/nTail/1e3, sStep/nTail/1e3, sDeliv/nTail/1e3,
           nLate, nLateCk, nSlow, nSlowCk, nDeliv);
  }
  /* Replays of the producer: the same steps and waits, without its
  ** checkpoints' time (1), or without its waits for the CPU (2); each
  ** receipt moves by as much as its step's end moved. */
  for(k=1; k<=2; k++){
    long long e0 = 0, e1 = 0, nR = 0;
    for(i=0; i<n; i++){
      long long t = (*pTl->pStart) + i*1000000000LL/pTl->nRate;
      long long b0 = i ? pTl->aStep1[i-1] : 0, b1 = i ? e1 : 0;
      long long w = pTl->aStep0[i] - (t>b0 ? t : b0);
      long long st = pTl->aStep1[i] - pTl->aStep0[i];
      long long s1;
      if( k==1 ) st -= pTl->aCkpt[i];
      if( k==2 || w<0 ) w = 0;
      s1 = (t>b1 ? t : b1) + w;
      e0 = pTl->aStep1[i];
      e1 = s1 + st;
      if( i<nWarm ) continue;
      for(g=0; g<nGroup; g++){
        long long r = pTl->aRecv[g*n+i];
        if( r>0 ) aLat[nR++] = r - (e0 - e1) - t;
      }
    }
    if( nR>0 ){
      qsort(aLat, (size_t)nR, sizeof(long long), cmpLL);
      printf("  replay %s: p50 %.0f p99 %.0f p99.9 %.0f us\n",
             k==1 ? "without the producer's checkpoints"
                  : "without the producer's waits for the CPU",
             aLat[(nR-1)/2]/1e3, aLat[(long long)(0.99*(nR-1))]/1e3,
             aLat[(long long)(0.999*(nR-1))]/1e3);
    }
  }
  free(aLat);
  free(aStep);
}

static double median(double *a, int n){
  qsort(a, (size_t)n, sizeof(double), benchCmpDouble);
  return a[n/2];
}

int main(int argc, char **argv){
  int aRate[] = { 1000, 10000 };
  int aGroups[] = { 1, 5 };
  double nSec = 10.0;
  int nRuns = 3, i, j, k, s, nOnlyRate = 0, nOnlyGroups = 0;
  int bOnlyProduce = 0, iOnlySys = -1;
  long long nOnlyProduce = 0;
  const char *zDir = "/tmp";
  for(i=1; i<argc; i++){
    if( strcmp(argv[i], "--quick")==0 ){ nSec = 2.0; nRuns = 1; }
    else if( strcmp(argv[i], "--seconds")==0 && i+1<argc ){
      nSec = atof(argv[++i]);
    }else if( strcmp(argv[i], "--runs")==0 && i+1<argc ){
      nRuns = atoi(argv[++i]);
    }else if( strcmp(argv[i], "--rate")==0 && i+1<argc ){
      nOnlyRate = atoi(argv[++i]);
    }else if( strcmp(argv[i], "--groups")==0 && i+1<argc ){
      nOnlyGroups = atoi(argv[++i]);
    }else if( strcmp(argv[i], "--dir")==0 && i+1<argc ){
      zDir = argv[++i];
    }else if( strcmp(argv[i], "--lockstep")==0 && i+1<argc ){
      nLockstep = atoll(argv[++i]);
      if( i+1<argc && argv[i+1][0]>='0' && argv[i+1][0]<='9' ){
        nLockGapUs = atol(argv[++i]);
      }
    }else if( strcmp(argv[i], "--checkpointer")==0 ){
      bCkptOpt = 1;
    }else if( strcmp(argv[i], "--timeline")==0 ){
      static Timeline tl;
      pTl = &tl;
    }else if( strcmp(argv[i], "--system")==0 && i+1<argc ){
      iOnlySys = strcmp(argv[++i], "raw")==0 ? 0 : 1;
    }else if( strcmp(argv[i], "--only-produce")==0 && i+2<argc ){
      bOnlyProduce = strcmp(argv[++i], "raw")==0 ? 1 : 2;
      nOnlyProduce = atoll(argv[++i]);
    }else if( argv[i][0]!='-' ){
      zSo = argv[i];
    }else{
      fprintf(stderr, "usage: %s [stream0.so] [--quick] [--seconds S]"
                      " [--runs N] [--rate R] [--groups 1..5]"
                      " [--dir DIR] [--system stream|raw]"
                      " [--lockstep N [GAP_US]] [--timeline] [--checkpointer]"
                      " [--only-produce stream|raw N]\n",
              argv[0]);
      return 2;
    }
  }
  if( nRuns<1 ) nRuns = 1;
  /* Another rate or group count (e.g. a low rate under callgrind): that
  ** cell only. */
  if( nOnlyRate>0 ) aRate[0] = aRate[1] = nOnlyRate;
  if( nOnlyGroups>=1 && nOnlyGroups<=MAX_GROUPS ){
    aGroups[0] = aGroups[1] = nOnlyGroups;
  }
  snprintf(zDb, sizeof(zDb), "%s/bench_latency_%d.db", zDir, (int)getpid());
  signal(SIGPIPE, SIG_IGN);
  if( bOnlyProduce ){
    onlyProduce(bOnlyProduce==2, nOnlyProduce);
    return 0;
  }
  if( nLockstep>0 ){
    printf("Lockstep: %lld messages, each %ld us after every group received"
           " the one before (latency: not a rate figure), median of %d"
           " run(s)\n\n", nLockstep, nLockGapUs, nRuns);
  }else{
    printf("Produce-to-consume latency, one message per transaction, %.0f s"
           " per run, median of %d run(s); latency in us (worst group)\n\n",
           nSec, nRuns);
  }
  printf("| rate msg/s | groups | system | achieved msg/s | p50 us | p99 us"
         " | p99.9 us | max us | poll errors | producer errors | lost |"
         " producer CPU us/msg | consumer CPU us/msg | polls/msg |"
         " p99 vs raw |\n");
  printf("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
         "---:|---:|\n");
  for(i=0; i<(nOnlyRate>0 ? 1 : 2); i++){
    for(j=0; j<(nOnlyGroups>=1 && nOnlyGroups<=MAX_GROUPS ? 1 : 2); j++){
      /* Systems: sqlite-stream, raw SQLite, and with --checkpointer each
      ** again with it; the runs of a cell alternate between them, so that
      ** the machine's load of the minute falls on all alike. */
      static const char *azSys[4] = {
        "sqlite-stream (long poll)", "raw SQLite (commit every 100 ms)",
        "sqlite-stream + checkpointer", "raw SQLite + checkpointer" };
      double aR[4][16], a50[4][16], a99[4][16], a999[4][16], aMax[4][16];
      double aCp[4][16], aCc[4][16], aPm[4][16], aP99[4] = {0, 0, 0, 0};
      long long nErr[4] = {0}, nProd[4] = {0}, nLost[4] = {0};
      int nSys = bCkptOpt ? 4 : 2;
      for(k=0; k<nRuns && k<16; k++){
        for(s=0; s<nSys; s++){
          Run run;
          int bStream = (s%2)==0;
          if( iOnlySys>=0 && bStream!=iOnlySys ) continue;
          bCkptCell = s>=2;
          runCell(bStream, aRate[i], aGroups[j], nSec, &run);
          bCkptCell = 0;
          aR[s][k] = run.rate;
          a50[s][k] = run.p50;
          a99[s][k] = run.p99;
          a999[s][k] = run.p999;
          aMax[s][k] = run.max;
          aCp[s][k] = run.cpuProd;
          aCc[s][k] = run.cpuCons;
          aPm[s][k] = run.pollsPerMsg;
          nErr[s] += run.nPollErr;
          nProd[s] += run.nProdErr;
          nLost[s] += run.nLost;
        }
      }
      for(s=0; s<nSys; s++){
        int bStream = (s%2)==0;
        if( iOnlySys>=0 && bStream!=iOnlySys ) continue;
        aP99[s] = median(a99[s], k);
        printf("| %d | %d | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %lld |"
               " %lld | %lld | %.1f | %.1f | %.2f | ", aRate[i], aGroups[j],
               azSys[s], median(aR[s], k), median(a50[s], k), aP99[s],
               median(a999[s], k), median(aMax[s], k), nErr[s], nProd[s],
               nLost[s], median(aCp[s], k), median(aCc[s], k),
               median(aPm[s], k));
        if( bStream ) printf("|\n");
        else printf("%.2fx |\n", aP99[s-1]>0 ? aP99[s]/aP99[s-1] : 0.0);
        fflush(stdout);
      }
    }
  }
  printf("\npoll errors, producer errors and lost are totals over the runs"
         " (lost: messages a consumer had not received when it stopped).\n"
         "p99 vs raw: raw SQLite's p99 / sqlite-stream's (above 1:"
         " sqlite-stream is ahead), each with the checkpointer or each"
         " without.\n"
         "polls/msg: a consumer's statement executions per message received"
         " (a long poll is one).\n");
  unlink(zDb);
  return 0;
}
