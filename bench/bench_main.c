/*
** bench_main.c - streambench: sqlite-stream side by side with raw SQLite,
** Redis Streams and a PostgreSQL queue, in one run, on one machine.
** bench/run.sh starts the servers, runs this, and writes the report.
**
**   streambench --so PATH --dir DIR [--quick] [--only W1,W2,...]
**               [--redis-noaof PORT] [--redis-everysec PORT]
**               [--redis-always PORT] [--pg CONNINFO --pg-pidfile FILE]
**               [--stream-poll] [--batch N] [--msgs N]
**
** --batch N runs only W1's rows of batch N (1, 100 or 1000); --msgs N
** makes each W1 repetition exactly N messages with no time cap (for
** callgrind, whose slowdown would otherwise cut the repetitions short).
**
** Prints the workload sections of the report (markdown) on stdout and
** progress on stderr.  A system whose server is not given is left out.
** It reports; it never fails on a number (exit 0 unless something broke).
**
** Workloads (see bench/README.md for the exact method):
**   W1 produce       batch 1/100/1000, 1/8 partitions, relaxed/durable,
**                    100 B and 1 KiB values: msg/s and CPU-s per 1M msgs
**   W2 consume       a backlog in one group, batches of 100/1000, with
**                    commit / XACK / DELETE
**   W3 latency       producer and consumer processes at a fixed rate
**   W4 fan-out       4 partitions, 5 groups each reading everything
**   W5 cost growth   produce and point-read cost with 10k..10M messages
**                    already stored; bytes per message
** Every figure is the median of nRep repetitions (W3: percentiles over
** all messages after the warm-up of one run).
*/
#define _GNU_SOURCE
#include "bench.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Systems (rows of the report). */
enum {
  S_STREAM, S_RAW, S_REDIS_NOAOF, S_REDIS_EVERYSEC, S_REDIS_ALWAYS,
  S_PG, S_PG_DELETE, S_PG_OFFSETS, S_COUNT
};

static BenchSys aSys[S_COUNT];
static int abHave[S_COUNT];

/* Run parameters (quick / full). */
static struct {
  int bQuick;
  int nRep;            /* repetitions per figure */
  double tCap;         /* W1: seconds per repetition at most */
  int nW1Max;          /* W1: messages per repetition at most */
  int nW2;             /* W2: backlog */
  double tW3;          /* W3: seconds per run */
  int nW4;             /* W4: backlog (all partitions) */
  i64 aW5[3];          /* W5: store sizes */
  int nW5Produce;      /* W5: messages produced per repetition */
  int nW5Read;         /* W5: point reads per repetition */
  char zOnly[64];      /* workloads to run ("" = all) */
  int nW1Batch;        /* W1: only this batch size (0 = all) */
} g;

/* Results kept for the "bars" section. */
typedef struct Res Res;
struct Res {
  int iW;              /* workload 1..5 */
  int eSys;            /* S_xxx */
  char zCfg[80];       /* configuration text */
  double rStream;      /* sqlite-stream's figure for the same config */
  double r;            /* this system's figure (higher is better) */
};
static Res aRes[2000];
static int nRes;

static void addRes(int iW, int eSys, const char *zCfg, double rStream,
                   double r){
  if( nRes<(int)(sizeof(aRes)/sizeof(aRes[0])) ){
    Res *p = &aRes[nRes++];
    p->iW = iW; p->eSys = eSys; p->rStream = rStream; p->r = r;
    snprintf(p->zCfg, sizeof(p->zCfg), "%s", zCfg);
  }
}

static int wanted(const char *zW){
  return g.zOnly[0]==0 || strstr(g.zOnly, zW)!=0;
}

/* ---------------------------------------------------------------- */
/* Message generation and measurement                                */

#define MAX_BATCH 1000
static char aKeyBuf[MAX_BATCH][24];
static char aValBuf[MAX_BATCH][1100];
static BenchMsg aMsgBuf[MAX_BATCH];
static i64 iMsgSeq;

/* Build a batch of n messages of nSize-byte values; returns aMsgBuf. */
static BenchMsg *makeBatch(int n, int nSize, int nPart, i64 tsNs){
  int i;
  for(i=0; i<n; i++){
    i64 id = iMsgSeq++;
    aMsgBuf[i].zKey = aKeyBuf[i];
    aMsgBuf[i].nKey = snprintf(aKeyBuf[i], sizeof(aKeyBuf[i]), "key-%lld", id);
    aMsgBuf[i].zVal = aValBuf[i];
    aMsgBuf[i].nVal = benchMakeValue(aValBuf[i], nSize, id, tsNs);
    aMsgBuf[i].iPart = benchPartition(aKeyBuf[i], aMsgBuf[i].nKey, nPart);
  }
  return aMsgBuf;
}

/* One measurement: rate (operations/s) and CPU-s per 1M operations,
** client and server separately. */
typedef struct Meas Meas;
struct Meas {
  double rate;
  double cpuClient;
  double cpuServer;
};

static void measDone(Meas *m, BenchSys *p, i64 nOp, double t0, double c0,
                     double s0){
  double t = benchNow()-t0;
  double c = benchSelfCpu()-c0, s = p->pOps->xServerCpu(p)-s0;
  m->rate = nOp>0 && t>0 ? nOp/t : 0.0;
  m->cpuClient = nOp>0 ? c*1e6/nOp : 0.0;
  m->cpuServer = nOp>0 ? s*1e6/nOp : 0.0;
}

static Meas medianMeas(Meas *a, int n){
  double ar[16], ac[16], as[16];
  Meas m;
  int i;
  for(i=0; i<n; i++){ ar[i] = a[i].rate; ac[i] = a[i].cpuClient; as[i] = a[i].cpuServer; }
  m.rate = benchMedian(ar, n);
  m.cpuClient = benchMedian(ac, n);
  m.cpuServer = benchMedian(as, n);
  return m;
}

/* Produce up to nMax messages in batches of nBatch, for at most tCap s. */
static Meas produceRun(BenchSys *p, int nMax, int nBatch, int nSize,
                       double tCap){
  Meas m;
  i64 n = 0;
  double t0 = benchNow(), c0 = benchSelfCpu(), s0 = p->pOps->xServerCpu(p);
  while( n<nMax && benchNow()-t0<tCap ){
    BenchMsg *a = makeBatch(nBatch, nSize, p->nPart, benchNowNs());
    p->pOps->xProduce(p, a, nBatch);
    n += nBatch;
  }
  measDone(&m, p, n, t0, c0, s0);
  return m;
}

/* Load n messages (untimed): batches of 1,000 (one transaction or one
** pipeline each); PostgreSQL fills server-side (generate_series). */
static void loadBacklog(BenchSys *p, i64 n, int nSize){
  if( p->eKind==BENCH_PG && p->nPart==1 ){
    char zVal[1100];
    benchMakeValue(zVal, nSize, 0, 0);
    benchPgFill(p, n, zVal);
    return;
  }
  {
    i64 i;
    for(i=0; i<n; i+=MAX_BATCH){
      int b = n-i<MAX_BATCH ? (int)(n-i) : MAX_BATCH;
      p->pOps->xProduce(p, makeBatch(b, nSize, p->nPart, 0), b);
    }
  }
}

static const char *fmtRate(char *z, double r){
  if( r>=1e6 ) sprintf(z, "%.2f M", r/1e6);
  else if( r>=1e4 ) sprintf(z, "%.0f k", r/1e3);
  else if( r>=1e3 ) sprintf(z, "%.1f k", r/1e3);
  else sprintf(z, "%.0f", r);
  return z;
}

static void printMeasRow(const char *zPre, BenchSys *p, Meas *m,
                         double rStream){
  char z[32];
  printf("| %s%s | %s | %.2f× | %.1f | %.1f + %.1f |\n", zPre, p->zName,
         fmtRate(z, m->rate), m->rate>0 ? rStream/m->rate : 0.0,
         m->cpuClient + m->cpuServer, m->cpuClient, m->cpuServer);
  fflush(stdout);
}

/* ---------------------------------------------------------------- */
/* W1 produce                                                        */

static void runW1(void){
  static const int aBatch[] = {1, 100, 1000};
  static const int aPartN[] = {1, 8};
  static const int aSize[] = {100, 1024};
  int iSize, bDur, iB, iP, k;
  printf("## W1 produce\n\n"
    "Messages produced per second (median of %d repetitions of at most "
    "%d messages or %.2f s each, after a warm-up batch), the ratio "
    "*sqlite-stream ÷ this system* (above 1: sqlite-stream is faster), and "
    "CPU-seconds per million messages, driver process + server "
    "processes. One transaction (SQLite, PostgreSQL) or one pipeline "
    "(Redis) per batch; batch 1 is one round trip per message (Redis not "
    "pipelined).\n\n", g.nRep, g.nW1Max, g.tCap);
  for(iSize=0; iSize<2; iSize++){
    for(bDur=0; bDur<2; bDur++){
      int aS[5], nS = 0;
      aS[nS++] = S_STREAM; aS[nS++] = S_RAW;
      if( bDur ){
        aS[nS++] = S_REDIS_ALWAYS;
      }else{
        aS[nS++] = S_REDIS_NOAOF; aS[nS++] = S_REDIS_EVERYSEC;
      }
      aS[nS++] = S_PG;
      printf("### W1 produce, %d-byte values, %s\n\n", aSize[iSize],
        bDur ? "durable (SQLite synchronous=FULL, Redis appendfsync always,"
               " PostgreSQL synchronous_commit=on)"
             : "relaxed (SQLite synchronous=NORMAL, Redis appendonly no /"
               " appendfsync everysec, PostgreSQL synchronous_commit=off)");
      printf("| batch | partitions | system | msg/s | sqlite-stream ÷ this |"
             " CPU-s / 1M msgs | (driver + server) |\n");
      printf("|---:|---:|---|---:|---:|---:|---:|\n");
      for(iB=0; iB<3; iB++){
        if( g.nW1Batch>0 && aBatch[iB]!=g.nW1Batch ) continue;
        for(iP=0; iP<2; iP++){
          double rStream = 0;
          char zCfg[80];
          snprintf(zCfg, sizeof(zCfg), "%d B, %s, batch %d, %d partition%s",
                   aSize[iSize], bDur ? "durable" : "relaxed", aBatch[iB],
                   aPartN[iP], aPartN[iP]>1 ? "s" : "");
          for(k=0; k<nS; k++){
            BenchSys *p = &aSys[aS[k]];
            Meas am[16], m;
            int r;
            char zPre[48];
            if( !abHave[aS[k]] ) continue;
            fprintf(stderr, "W1 %s: %s\n", zCfg, p->zName);
            p->bDurable = bDur;
            p->pOps->xOpen(p, 1, aPartN[iP]);
            produceRun(p, aBatch[iB]*2, aBatch[iB], aSize[iSize], g.tCap);
            for(r=0; r<g.nRep; r++){
              am[r] = produceRun(p, g.nW1Max, aBatch[iB], aSize[iSize], g.tCap);
            }
            p->pOps->xClose(p);
            m = medianMeas(am, g.nRep);
            if( aS[k]==S_STREAM ) rStream = m.rate;
            snprintf(zPre, sizeof(zPre), "%d | %d | ", aBatch[iB], aPartN[iP]);
            printMeasRow(zPre, p, &m, rStream);
            addRes(1, aS[k], zCfg, rStream, m.rate);
          }
        }
      }
      printf("\n");
    }
  }
}

/* ---------------------------------------------------------------- */
/* W2 consume a backlog                                              */

static void countRecv(void *pArg, const char *zVal, int nVal){
  (void)zVal;
  *(i64*)pArg += nVal;
}

static void runW2(void){
  static const int aSize[] = {100, 1024};
  static const int aBatch[] = {100, 1000};
  static const int aS[] = {S_STREAM, S_RAW, S_REDIS_NOAOF, S_REDIS_EVERYSEC,
                           S_PG_DELETE, S_PG_OFFSETS};
  int iSize, iB, k, r;
  printf("## W2 consume a backlog\n\n"
    "A backlog of %d messages in one partition, consumed by one group in "
    "polls of 100 or 1,000 messages; each poll is followed by its offset "
    "commit (SQLite), XACK (Redis) or is a DELETE (PostgreSQL work "
    "queue) / offset upsert (PostgreSQL offset table). Relaxed durability. "
    "Messages per second, median of %d repetitions (a new group each; the "
    "PostgreSQL work queue is refilled before each).\n\n", g.nW2, g.nRep);
  for(iSize=0; iSize<2; iSize++){
    Meas aM[8][2];
    int abDone[8] = {0};
    for(k=0; k<(int)(sizeof(aS)/sizeof(aS[0])); k++){
      BenchSys *p = &aSys[aS[k]];
      if( !abHave[aS[k]] ) continue;
      fprintf(stderr, "W2 %d B: %s (loading %d)\n", aSize[iSize], p->zName,
              g.nW2);
      p->bDurable = 0;
      p->pOps->xOpen(p, 1, 1);
      loadBacklog(p, g.nW2, aSize[iSize]);
      for(iB=0; iB<2; iB++){
        Meas am[16];
        for(r=0; r<g.nRep; r++){
          char zGroup[48];
          i64 n = 0, nByte = 0;
          double t0, c0, s0;
          snprintf(zGroup, sizeof(zGroup), "w2-%d-%d", aBatch[iB], r);
          if( aS[k]==S_PG_DELETE && (r>0 || iB>0) ){
            benchPgTruncate(p);
            loadBacklog(p, g.nW2, aSize[iSize]);
          }
          t0 = benchNow(); c0 = benchSelfCpu(); s0 = p->pOps->xServerCpu(p);
          while( n<g.nW2 ){
            int got = p->pOps->xConsume(p, zGroup, 0, aBatch[iB],
                                        countRecv, &nByte);
            if( got==0 ) benchFatal("%s: backlog ended at %lld", p->zName, n);
            n += got;
          }
          measDone(&am[r], p, n, t0, c0, s0);
        }
        aM[k][iB] = medianMeas(am, g.nRep);
      }
      p->pOps->xClose(p);
      abDone[k] = 1;
    }
    printf("### W2 consume, %d-byte values\n\n", aSize[iSize]);
    printf("| batch | system | msg/s | sqlite-stream ÷ this |"
           " CPU-s / 1M msgs | (driver + server) |\n");
    printf("|---:|---|---:|---:|---:|---:|\n");
    for(iB=0; iB<2; iB++){
      double rStream = abDone[0] ? aM[0][iB].rate : 0;
      char zCfg[80], zPre[24];
      snprintf(zCfg, sizeof(zCfg), "consume %d B, batch %d", aSize[iSize],
               aBatch[iB]);
      snprintf(zPre, sizeof(zPre), "%d | ", aBatch[iB]);
      for(k=0; k<(int)(sizeof(aS)/sizeof(aS[0])); k++){
        if( !abDone[k] ) continue;
        printMeasRow(zPre, &aSys[aS[k]], &aM[k][iB], rStream);
        addRes(2, aS[k], zCfg, rStream, aM[k][iB].rate);
      }
    }
    printf("\n");
  }
}

/* ---------------------------------------------------------------- */
/* W3 end-to-end latency across processes                            */

typedef struct Lat Lat;
struct Lat {
  double *a;        /* latencies in µs */
  i64 n;            /* received */
  i64 nAlloc;
  i64 nSkip;        /* warm-up messages not recorded */
};

static void latRecv(void *pArg, const char *zVal, int nVal){
  Lat *l = (Lat*)pArg;
  i64 ts = benchValueTs(zVal, nVal);
  i64 now = benchNowNs();
  if( l->n>=l->nSkip && l->n-l->nSkip<l->nAlloc ){
    l->a[l->n-l->nSkip] = (now-ts)/1e3;
  }
  l->n++;
}

/* Consumer process: receive nTotal messages, write 6 doubles (p50, p99,
** p99.9, max, count recorded, seconds) to fd. */
static void latConsumer(BenchSys *p, i64 nTotal, i64 nWarm, int fdReady,
                        int fdOut, double tLimit){
  Lat l;
  double aOut[6], t0, tEnd;
  int iSleep = 50;
  memset(&l, 0, sizeof(l));
  l.nSkip = nWarm;
  l.nAlloc = nTotal-nWarm;
  l.a = malloc(sizeof(double)*(size_t)(l.nAlloc>0 ? l.nAlloc : 1));
  if( l.a==0 ) benchFatal("out of memory");
  p->iBlockMs = (p->eKind==BENCH_REDIS || p->eKind==BENCH_PG) ? 100 : 0;
  p->pOps->xOpen(p, 0, p->nPart);
  p->pOps->xConsume(p, "lat", 0, 1000, latRecv, &l);   /* join, empty */
  if( write(fdReady, "r", 1)!=1 ) benchFatal("ready pipe");
  t0 = benchNow();
  tEnd = t0 + tLimit;
  while( l.n<nTotal && benchNow()<tEnd ){
    int got = p->pOps->xConsume(p, "lat", 0, 1000, latRecv, &l);
    if( got==0 && p->iBlockMs==0 ){
      /* SQLite: poll with backoff, 50 µs doubling to 1 ms */
      usleep(iSleep);
      if( iSleep<1000 ) iSleep *= 2;
    }else if( got>0 ){
      iSleep = 50;
    }
  }
  {
    i64 nRec = l.n-l.nSkip;
    if( nRec>l.nAlloc ) nRec = l.nAlloc;
    if( nRec<0 ) nRec = 0;
    benchSortD(l.a, (int)nRec);
    aOut[0] = benchPercentile(l.a, (int)nRec, 50);
    aOut[1] = benchPercentile(l.a, (int)nRec, 99);
    aOut[2] = benchPercentile(l.a, (int)nRec, 99.9);
    aOut[3] = nRec>0 ? l.a[nRec-1] : 0;
    aOut[4] = (double)l.n;
    aOut[5] = benchNow()-t0;
  }
  if( write(fdOut, aOut, sizeof(aOut))!=(ssize_t)sizeof(aOut) ){
    benchFatal("result pipe");
  }
  p->pOps->xClose(p);
  _exit(0);
}

/* Producer process: nTotal messages at iRate msg/s, one per transaction;
** each value carries its scheduled send time (so that a producer falling
** behind shows as latency, not as a lower rate).  Writes the achieved
** rate to fdOut. */
static void latProducer(BenchSys *p, i64 nTotal, int iRate, int nSize,
                        int fdOut){
  double t0, t;
  i64 i;
  p->iBlockMs = 0;
  p->bNotify = p->eKind==BENCH_PG;
  p->pOps->xOpen(p, 0, p->nPart);
  t0 = benchNow() + 0.01;
  for(i=0; i<nTotal; i++){
    double tSend = t0 + (double)i/iRate;
    benchSleepUntil(tSend);
    p->pOps->xProduce(p, makeBatch(1, nSize, 1, (i64)(tSend*1e9)), 1);
  }
  t = benchNow()-t0;
  {
    double r = nTotal/t;
    if( write(fdOut, &r, sizeof(r))!=(ssize_t)sizeof(r) ) benchFatal("pipe");
  }
  p->pOps->xClose(p);
  _exit(0);
}

static void runW3(void){
  static const int aRate[] = {1000, 10000};
  /* system, consumer commit interval in ms (0: every poll) */
  static const int aS[][2] = {
    {S_STREAM, 0}, {S_STREAM, 100}, {S_RAW, 0}, {S_RAW, 100},
    {S_REDIS_EVERYSEC, 0}, {S_PG_DELETE, 0}
  };
  int iR, k;
  printf("## W3 end-to-end latency\n\n"
    "A producer process sends 100-byte messages at a fixed rate for %.1f s "
    "(one message per transaction / round trip, relaxed durability) to one "
    "partition; a consumer process, started first, records receipt time − "
    "scheduled send time (CLOCK_MONOTONIC, shared by the processes). The "
    "first 20%% of messages are a warm-up and are discarded. One run per "
    "cell; percentiles over all recorded messages, in µs. Consumers: "
    "SQLite systems poll (range read, then commit) with a sleep of 50 µs "
    "doubling to 1 ms while empty, committing after every poll or at most "
    "every 100 ms (as Kafka's auto-commit, whose default is 5 s): the "
    "commits are writes that contend with the producer's; Redis XREADGROUP BLOCK 100 + XACK; "
    "PostgreSQL SKIP LOCKED + DELETE, waiting on LISTEN/NOTIFY (the "
    "producer's INSERT notifies in the same statement) when empty.\n\n",
    g.tW3);
  printf("| rate msg/s | system | p50 µs | p99 µs | p99.9 µs | max µs |"
         " achieved msg/s | sqlite-stream p99 advantage |\n");
  printf("|---:|---|---:|---:|---:|---:|---:|---:|\n");
  for(iR=0; iR<2; iR++){
    double p99Stream = 0;
    for(k=0; k<(int)(sizeof(aS)/sizeof(aS[0])); k++){
      BenchSys *p = &aSys[aS[k][0]];
      i64 nTotal = (i64)(aRate[iR]*g.tW3), nWarm = nTotal/5;
      char zName[96];
      int aReady[2], aOut[2], aProd[2];
      pid_t pc, pp;
      double aRes6[6] = {0}, rAch = 0;
      char c, zCfg[80];
      if( !abHave[aS[k][0]] ) continue;
      if( p->eKind==BENCH_STREAM || p->eKind==BENCH_RAW ){
        snprintf(zName, sizeof(zName), "%s (commit %s)", p->zName,
                 aS[k][1] ? "every 100 ms" : "each poll");
      }else{
        snprintf(zName, sizeof(zName), "%s", p->zName);
      }
      p->iCommitMs = aS[k][1];
      fprintf(stderr, "W3 %d msg/s: %s\n", aRate[iR], zName);
      p->bDurable = 0;
      p->pOps->xOpen(p, 1, 1);
      p->pOps->xClose(p);
      if( pipe(aReady) || pipe(aOut) || pipe(aProd) ) benchFatal("pipe");
      fflush(stdout); fflush(stderr);
      pc = fork();
      if( pc==0 ){
        latConsumer(p, nTotal, nWarm, aReady[1], aOut[1], g.tW3 + 15.0);
      }
      if( read(aReady[0], &c, 1)!=1 ) benchFatal("consumer did not start");
      pp = fork();
      if( pp==0 ) latProducer(p, nTotal, aRate[iR], 100, aProd[1]);
      if( read(aProd[0], &rAch, sizeof(rAch))!=(ssize_t)sizeof(rAch) ) rAch = 0;
      if( read(aOut[0], aRes6, sizeof(aRes6))!=(ssize_t)sizeof(aRes6) ){
        memset(aRes6, 0, sizeof(aRes6));
      }
      waitpid(pp, 0, 0);
      waitpid(pc, 0, 0);
      close(aReady[0]); close(aReady[1]); close(aOut[0]); close(aOut[1]);
      close(aProd[0]); close(aProd[1]);
      p->iCommitMs = 0;
      if( aS[k][0]==S_STREAM && aS[k][1]==0 ) p99Stream = aRes6[1];
      printf("| %d | %s | %.0f | %.0f | %.0f | %.0f | %.0f%s | %.2f× |\n",
             aRate[iR], zName, aRes6[0], aRes6[1], aRes6[2], aRes6[3],
             rAch, aRes6[4]<nTotal ? " (incomplete)" : "",
             p99Stream>0 ? aRes6[1]/p99Stream : 0.0);
      fflush(stdout);
      snprintf(zCfg, sizeof(zCfg), "latency p99 at %d msg/s", aRate[iR]);
      /* latency: lower is better, store the inverse */
      if( aS[k][1] ) continue;
      addRes(3, aS[k][0], zCfg, p99Stream>0 ? 1.0/p99Stream : 0,
             aRes6[1]>0 ? 1.0/aRes6[1] : 0);
    }
  }
  printf("\n");
}

/* ---------------------------------------------------------------- */
/* W4 fan-out                                                        */

static void runW4(void){
  static const int aS[] = {S_STREAM, S_RAW, S_REDIS_EVERYSEC, S_PG_OFFSETS};
  int k, r, iG, iP;
  double rStream = 0;
  printf("## W4 fan-out\n\n"
    "%d messages of 100 bytes in 4 partitions; 5 consumer groups each "
    "read everything, batches of 1,000, committing each batch (the groups "
    "one after the other, in one process). Deliveries (messages × groups) "
    "per second, median of %d repetitions (new groups each time). "
    "PostgreSQL uses the offset table: a work queue that deletes cannot "
    "fan out.\n\n", g.nW4, g.nRep);
  printf("| system | deliveries/s | sqlite-stream ÷ this | CPU-s / 1M"
         " deliveries | (driver + server) |\n");
  printf("|---|---:|---:|---:|---:|\n");
  for(k=0; k<(int)(sizeof(aS)/sizeof(aS[0])); k++){
    BenchSys *p = &aSys[aS[k]];
    Meas am[16], m;
    if( !abHave[aS[k]] ) continue;
    fprintf(stderr, "W4: %s\n", p->zName);
    p->bDurable = 0;
    p->pOps->xOpen(p, 1, 4);
    loadBacklog(p, g.nW4, 100);
    for(r=0; r<g.nRep; r++){
      i64 n = 0, nByte = 0;
      double t0 = benchNow(), c0 = benchSelfCpu(), s0 = p->pOps->xServerCpu(p);
      for(iG=0; iG<5; iG++){
        char zGroup[48];
        snprintf(zGroup, sizeof(zGroup), "w4-%d-%d", r, iG);
        for(iP=0; iP<4; iP++){
          int got;
          while( (got = p->pOps->xConsume(p, zGroup, iP, 1000, countRecv,
                                          &nByte))>0 ){
            n += got;
          }
        }
      }
      if( n!=5*(i64)g.nW4 ){
        benchFatal("%s: fan-out delivered %lld of %lld", p->zName, n,
                   5*(i64)g.nW4);
      }
      measDone(&am[r], p, n, t0, c0, s0);
    }
    p->pOps->xClose(p);
    m = medianMeas(am, g.nRep);
    if( aS[k]==S_STREAM ) rStream = m.rate;
    printMeasRow("", p, &m, rStream);
    addRes(4, aS[k], "fan-out, 5 groups", rStream, m.rate);
  }
  printf("\n");
}

/* ---------------------------------------------------------------- */
/* W5 cost growth                                                    */

static void runW5(void){
  static const int aS[] = {S_STREAM, S_RAW, S_REDIS_EVERYSEC, S_PG};
  int k, iN, r;
  double aStream[3][2];
  printf("## W5 cost growth\n\n"
    "One partition, 100-byte values, relaxed durability. With N messages "
    "already stored: cost of producing (batches of 100, %d messages per "
    "repetition) and of a point read of one message by offset at a random "
    "position (%d reads per repetition), in µs per message (median of %d), "
    "and the store's size per message (SQLite: database pages; Redis: "
    "used_memory; PostgreSQL: pg_total_relation_size).%s\n\n",
    g.nW5Produce, g.nW5Read, g.nRep,
    g.bQuick ? " **Quick mode: N is 10k / 100k / 1M, not 10k / 1M / 10M.**" : "");
  printf("| N stored | system | produce µs/msg | produce CPU µs/msg |"
         " point read µs | point read CPU µs | bytes/msg |"
         " sqlite-stream ÷ this (produce, read) |\n");
  printf("|---:|---|---:|---:|---:|---:|---:|---:|\n");
  memset(aStream, 0, sizeof(aStream));
  for(k=0; k<(int)(sizeof(aS)/sizeof(aS[0])); k++){
    BenchSys *p = &aSys[aS[k]];
    i64 nStored = 0;
    if( !abHave[aS[k]] ) continue;
    p->bDurable = 0;
    p->pOps->xOpen(p, 1, 1);
    for(iN=0; iN<3; iN++){
      Meas amP[16], amR[16], mP, mR;
      double tLoad = benchNow();
      char zCfg[80];
      fprintf(stderr, "W5 %s: fill to %lld\n", p->zName, g.aW5[iN]);
      loadBacklog(p, g.aW5[iN]-nStored, 100);
      nStored = g.aW5[iN];
      fprintf(stderr, "   (%.1f s)\n", benchNow()-tLoad);
      for(r=0; r<g.nRep; r++){
        int i;
        double t0, c0, s0;
        amP[r] = produceRun(p, g.nW5Produce, 100, 100, 1e9);
        nStored += g.nW5Produce;
        t0 = benchNow(); c0 = benchSelfCpu(); s0 = p->pOps->xServerCpu(p);
        for(i=0; i<g.nW5Read; i++){
          i64 iOff = (i64)(drand48()*(double)nStored);
          p->pOps->xPointRead(p, 0, iOff);
        }
        measDone(&amR[r], p, g.nW5Read, t0, c0, s0);
      }
      mP = medianMeas(amP, g.nRep);
      mR = medianMeas(amR, g.nRep);
      if( aS[k]==S_STREAM ){ aStream[iN][0] = mP.rate; aStream[iN][1] = mR.rate; }
      printf("| %lld | %s | %.2f | %.2f | %.1f | %.1f | %.0f | %.2f×, %.2f× |\n",
             g.aW5[iN], p->zName, 1e6/mP.rate, mP.cpuClient+mP.cpuServer,
             1e6/mR.rate, mR.cpuClient+mR.cpuServer,
             (double)p->pOps->xBytes(p)/(double)nStored,
             aStream[iN][0]/mP.rate, aStream[iN][1]/mR.rate);
      fflush(stdout);
      snprintf(zCfg, sizeof(zCfg), "produce with %lld stored", g.aW5[iN]);
      addRes(5, aS[k], zCfg, aStream[iN][0], mP.rate);
      snprintf(zCfg, sizeof(zCfg), "point read with %lld stored", g.aW5[iN]);
      addRes(5, aS[k], zCfg, aStream[iN][1], mR.rate);
    }
    p->pOps->xClose(p);
  }
  printf("\n");
}

/* ---------------------------------------------------------------- */
/* The bars                                                          */

static void runBars(void){
  int i;
  double rMin = 1e9, rMax = 0;
  char zMin[80] = "", zMax[80] = "";
  int nPg = 0, nPgBehind = 0, nRedisAhead = 0;
  printf("## Bars (reported, not asserted)\n\n");
  /* produce vs raw: W1, batch >= 100 */
  for(i=0; i<nRes; i++){
    Res *p = &aRes[i];
    if( p->iW==1 && p->eSys==S_RAW && strstr(p->zCfg, "batch 1,")==0 && p->r>0 ){
      double x = p->rStream/p->r;
      if( x<rMin ){ rMin = x; snprintf(zMin, sizeof(zMin), "%s", p->zCfg); }
      if( x>rMax ){ rMax = x; snprintf(zMax, sizeof(zMax), "%s", p->zCfg); }
    }
  }
  if( rMax>0 ){
    printf("- **Batched produce ≥ 0.75× raw SQLite**: %s — sqlite-stream "
           "runs at %.2f×–%.2f× raw SQLite (worst: %s; best: %s).\n",
           rMin>=0.75 ? "met" : "**not met**", rMin, rMax, zMin, zMax);
  }
  rMin = 1e9; rMax = 0;
  for(i=0; i<nRes; i++){
    Res *p = &aRes[i];
    if( p->iW==2 && p->eSys==S_RAW && p->r>0 ){
      double x = p->rStream/p->r;
      if( x<rMin ){ rMin = x; snprintf(zMin, sizeof(zMin), "%s", p->zCfg); }
      if( x>rMax ){ rMax = x; snprintf(zMax, sizeof(zMax), "%s", p->zCfg); }
    }
  }
  if( rMax>0 ){
    printf("- **Consume ≥ 0.75× raw SQLite**: %s — %.2f×–%.2f× (worst: %s).\n",
           rMin>=0.75 ? "met" : "**not met**", rMin, rMax, zMin);
  }
  for(i=0; i<nRes; i++){
    Res *p = &aRes[i];
    if( (p->eSys==S_PG || p->eSys==S_PG_DELETE || p->eSys==S_PG_OFFSETS)
     && p->r>0 && p->rStream>0 ){
      nPg++;
      if( p->rStream<p->r ) nPgBehind++;
    }
  }
  if( nPg>0 ){
    printf("- **Ahead of the PostgreSQL queue on every workload**: %s — "
           "sqlite-stream is ahead in %d of %d comparisons.",
           nPgBehind==0 ? "met" : "**not met**", nPg-nPgBehind, nPg);
    if( nPgBehind ){
      printf(" Behind in:");
      for(i=0; i<nRes; i++){
        Res *p = &aRes[i];
        if( (p->eSys==S_PG || p->eSys==S_PG_DELETE || p->eSys==S_PG_OFFSETS)
         && p->r>0 && p->rStream>0 && p->rStream<p->r ){
          printf(" %s (%s, %.2f×);", p->zCfg, aSys[p->eSys].zName,
                 p->rStream/p->r);
        }
      }
    }
    printf("\n");
  }
  printf("- **Where Redis (in memory) is ahead**:");
  for(i=0; i<nRes; i++){
    Res *p = &aRes[i];
    if( (p->eSys==S_REDIS_NOAOF || p->eSys==S_REDIS_EVERYSEC
         || p->eSys==S_REDIS_ALWAYS) && p->rStream>0 && p->r>p->rStream ){
      printf("%s %s, %s: %.2f× sqlite-stream", nRedisAhead ? ";" : "",
             p->zCfg, aSys[p->eSys].zName, p->r/p->rStream);
      nRedisAhead++;
    }
  }
  printf("%s\n", nRedisAhead ? "." : " nowhere in this run.");
  /* Moonshot: durable sqlite-stream vs Redis pipelined XADD. */
  {
    double rDur = 0, rRedis = 0;
    char zR[80] = "";
    for(i=0; i<nRes; i++){
      Res *p = &aRes[i];
      if( p->iW!=1 ) continue;
      if( p->eSys==S_STREAM && strstr(p->zCfg, "durable")
       && strstr(p->zCfg, "100 B") && p->r>rDur ) rDur = p->r;
      if( (p->eSys==S_REDIS_NOAOF || p->eSys==S_REDIS_EVERYSEC)
       && strstr(p->zCfg, "100 B") && strstr(p->zCfg, "batch 1,")==0
       && p->r>rRedis ){
        rRedis = p->r;
        snprintf(zR, sizeof(zR), "%s, %s", aSys[p->eSys].zName, p->zCfg);
      }
    }
    if( rDur>0 && rRedis>0 ){
      char z1[32], z2[32];
      printf("- **Moonshot** (match Redis pipelined XADD while durable): "
             "best durable sqlite-stream produce %s msg/s vs best Redis "
             "pipelined XADD %s msg/s (%s): %.2f× of the way.\n",
             fmtRate(z1, rDur), fmtRate(z2, rRedis), zR, rDur/rRedis);
    }
  }
  printf("\n");
}

/* ---------------------------------------------------------------- */

static void initSys(int e, int eKind, const BenchOps *pOps, const char *zName,
                    const char *zSettings){
  BenchSys *p = &aSys[e];
  memset(p, 0, sizeof(*p));
  p->eKind = eKind;
  p->pOps = pOps;
  p->zName = zName;
  p->zSettings = zSettings;
  p->zHost = "127.0.0.1";
  p->nPart = 1;
}

int main(int argc, char **argv){
  const char *zSo = 0, *zDir = "/tmp", *zPg = 0, *zPgPid = 0;
  int aPort[3] = {0, 0, 0}, bPoll = 0, nMsgs = 0, i;
  double t0 = benchNow();
  setvbuf(stdout, 0, _IOFBF, 1<<16);
  for(i=1; i<argc; i++){
    const char *z = argv[i];
    const char *zArg = i+1<argc ? argv[i+1] : 0;
    if( strcmp(z, "--quick")==0 ){ g.bQuick = 1; continue; }
    if( strcmp(z, "--stream-poll")==0 ){ bPoll = 1; continue; }
    if( zArg==0 ) benchFatal("%s needs an argument", z);
    i++;
    if( strcmp(z, "--so")==0 ) zSo = zArg;
    else if( strcmp(z, "--dir")==0 ) zDir = zArg;
    else if( strcmp(z, "--only")==0 ) snprintf(g.zOnly, sizeof(g.zOnly), "%s", zArg);
    else if( strcmp(z, "--batch")==0 ) g.nW1Batch = atoi(zArg);
    else if( strcmp(z, "--msgs")==0 ) nMsgs = atoi(zArg);
    else if( strcmp(z, "--redis-noaof")==0 ) aPort[0] = atoi(zArg);
    else if( strcmp(z, "--redis-everysec")==0 ) aPort[1] = atoi(zArg);
    else if( strcmp(z, "--redis-always")==0 ) aPort[2] = atoi(zArg);
    else if( strcmp(z, "--pg")==0 ) zPg = zArg;
    else if( strcmp(z, "--pg-pidfile")==0 ) zPgPid = zArg;
    else benchFatal("unknown option %s", z);
  }
  if( zSo==0 ) benchFatal("usage: streambench --so PATH [--dir DIR] [--quick] ...");
  signal(SIGPIPE, SIG_IGN);
  srand48(42);

  g.nRep = 3;
  if( g.bQuick ){
    g.tCap = 0.07; g.nW1Max = 20000; g.nW2 = 50000; g.tW3 = 1.0;
    g.nW4 = 40000; g.aW5[0] = 10000; g.aW5[1] = 100000; g.aW5[2] = 1000000;
    g.nW5Produce = 2000; g.nW5Read = 2000;
  }else{
    g.nRep = 5;
    g.tCap = 1.0; g.nW1Max = 500000; g.nW2 = 1000000; g.tW3 = 10.0;
    g.nW4 = 400000; g.aW5[0] = 10000; g.aW5[1] = 1000000; g.aW5[2] = 10000000;
    g.nW5Produce = 20000; g.nW5Read = 20000;
  }
  if( nMsgs>0 ){ g.nW1Max = nMsgs; g.tCap = 1e9; }

  initSys(S_STREAM, BENCH_STREAM, &benchSqliteOps, "sqlite-stream", "");
  initSys(S_RAW, BENCH_RAW, &benchSqliteOps, "raw SQLite", "");
  snprintf(aSys[S_STREAM].zPath, sizeof(aSys[S_STREAM].zPath),
           "%s/stream.db", zDir);
  snprintf(aSys[S_RAW].zPath, sizeof(aSys[S_RAW].zPath), "%s/raw.db", zDir);
  aSys[S_STREAM].zExt = zSo;
  aSys[S_STREAM].bPoll = bPoll;
  abHave[S_STREAM] = abHave[S_RAW] = 1;
  initSys(S_REDIS_NOAOF, BENCH_REDIS, &benchRedisOps,
          "Redis (appendonly no)", "");
  initSys(S_REDIS_EVERYSEC, BENCH_REDIS, &benchRedisOps,
          "Redis (AOF everysec)", "");
  initSys(S_REDIS_ALWAYS, BENCH_REDIS, &benchRedisOps,
          "Redis (AOF always)", "");
  for(i=0; i<3; i++){
    aSys[S_REDIS_NOAOF+i].iPort = aPort[i];
    abHave[S_REDIS_NOAOF+i] = aPort[i]>0;
  }
  initSys(S_PG, BENCH_PG, &benchPgOps, "PostgreSQL", "");
  initSys(S_PG_DELETE, BENCH_PG, &benchPgOps,
          "PostgreSQL (SKIP LOCKED + DELETE)", "");
  initSys(S_PG_OFFSETS, BENCH_PG, &benchPgOps,
          "PostgreSQL (offset table)", "");
  aSys[S_PG_DELETE].eMode = BENCH_PG_DELETE;
  aSys[S_PG_OFFSETS].eMode = BENCH_PG_OFFSETS;
  for(i=S_PG; i<=S_PG_OFFSETS; i++){
    aSys[i].zConninfo = zPg;
    aSys[i].zPidFile = zPgPid ? zPgPid : "";
    abHave[i] = zPg!=0;
  }

  if( wanted("W1") ){ runW1(); fprintf(stderr, "[W1 done at %.0f s]\n", benchNow()-t0); }
  if( wanted("W2") ){ runW2(); fprintf(stderr, "[W2 done at %.0f s]\n", benchNow()-t0); }
  if( wanted("W3") ){ runW3(); fprintf(stderr, "[W3 done at %.0f s]\n", benchNow()-t0); }
  if( wanted("W4") ){ runW4(); fprintf(stderr, "[W4 done at %.0f s]\n", benchNow()-t0); }
  if( wanted("W5") ){ runW5(); fprintf(stderr, "[W5 done at %.0f s]\n", benchNow()-t0); }
  runBars();
  printf("_Driver time: %.0f s._\n", benchNow()-t0);
  return 0;
}
