/*
** bench_s3.c - the warm tier on an s3:// store against file://, in one run.
**
**   bench_s3 EXTENSION_PATH [--quick] [--repeated|--random] [--dir DIR]
**            [--interop DIR] [--rtt MS] [--timing FILE]
**
** Starts s3rver (--interop DIR/node_modules) on 127.0.0.1 at a random
** port and test/s3proxy.mjs in front of it adding --rtt ms (default 20)
** to every request, then, for each of two data sets (100-byte JSON
** values, 4 partitions, tiering off while producing) whose 60-byte pad
** is one repeated character (--repeated: ~170 KB of Parquet a
** partition, less than the 256 KiB tail an open fetches) or 30 random
** bytes in hex (--random: ~3.5 MB a partition, so the column chunks are
** fetched too); by default both, one after the other:
**
**   tier     SELECT stream_tier('bench'), every message hot -> warm, to
**            file://, to s3rver directly, and to s3rver behind the proxy
**            (messages per second, and the ratio to file://): median of
**            3, each on its own copy and store prefix, the stores in turn
**   replay   every message read back from the warm tier through
**            stream_messages on a new connection (count and sum of value
**            lengths), from each store: median of 5, the stores in turn
**   marks    the replay again, stepped row by row: ms to its first row
**            (the first file's round trips) and to the end of each
**            partition's file: median of 5, from each store
**   first    time to the first row of a warm read (a new connection,
**            "offset >= X LIMIT 1" in the middle of a partition): median
**            of 15, from each store
**   fetch    the proxy run's segment files fetched whole through the
**            proxy by this program (libcurl, signed, a new connection
**            pool each time, as a replay's new connection has), nothing
**            decoded, median of 5: one GET at a time, then 2 and 4 in
**            flight.  The time this setup needs to serve the bytes, so
**            file:// replay time / the fastest of them bounds what a
**            replay through it can reach (the "ceiling")
**   CPU      the CPU ms s3rver and the proxy (two Node processes on the
**            same cores as the reader) used for each stepped replay, from
**            /proc/PID/stat, beside the reader's own; and the requests,
**            GET body bytes and new TCP connections of a stepped replay
**            through the proxy (its stats, read with the curl program: a
**            counter the machine's load does not move)
**
** s3rver runs on loopback: without the proxy the network costs nothing,
** which is why the proxy run (the realistic case for R2) is shown too.
** A fourth store, "behind the C delay proxy", is s3rver behind
** bench/latproxy (a test tool beside this program: a TCP forwarder that
** delays every chunk by --rtt/2 each way and a new connection's first
** bytes by one round trip more, its handshake; no bandwidth limit, no
** slow start; see its header).  Its CPU is a few system calls a chunk,
** where the Node proxy parses and re-sends every request (~50 ms of CPU
** a random-set replay on the reader's cores): a real R2 client shares
** its cores with neither the server nor a proxy.  Its row gets the
** replay, tier and first-row figures, the stepped replay with s3rver's
** and latproxy's CPU ("proxy CPU"), the bound those set, and the
** fetch-only ceilings through it.  A scan hints every file it opens
** with its size from the segment index (ext/warm_read.c), so its ranges
** are explicit and s3rver's handling of suffix ranges plays no part in
** the replays and first-row reads (no --suffix-ranges needed; --timing
** records the ranges the Node proxy was asked for: no "bytes=-N").
** Its first row pays the handshake's round trip, which the Node proxy
** does not add.
** s3rver ignores suffix ranges ("bytes=-N", which S3 and R2 honour): the
** extension then asks again with an explicit range, one more request per
** file opened without its size hinted (xPrefetch) in the direct run; the
** proxy answers them as S3 does
** (--suffix-ranges), so the proxy run counts the requests R2 would see.
** --timing FILE: the proxy writes there one JSON line per request it
** answered (method, url, range, when it began and ended, in ms), to see
** which requests of the proxy run overlapped (test/s3proxy.mjs); at the
** end, from that record, each replay's ms with no GET answering beyond
** the first round trip (timingGaps).
** Last, what the proxy adds to one request (a 1-byte GET, a 3.5 MB GET
** and PUT, straight to s3rver and through the proxy, timed by the curl
** program if it is installed): the latency added plus the cost of the
** second Node hop, which a 3.5 MB transfer pays in bandwidth.
** It prints Markdown tables; it never fails on a number.
*/
#define _DEFAULT_SOURCE
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sys/resource.h>
#ifdef HAVE_LIBCURL
#include <curl/curl.h>
#endif
#include "bench.h"

static const char *zExt;
static char zDir[512] = "/tmp";
static char zInterop[512] = "/work/main/test/interop";
static char zSrcTest[600] = "";
static char zTiming[600] = "";
static char zTimingFile[560] = "";
static char zBenchDir[512] = ".";

/* Repetitions per store (medians are reported). */
#define BENCH_S3_TIER_REPS   3
#define BENCH_S3_REPLAY_REPS 5

/* A child process (node) whose first line of output names its port. */
typedef struct Server Server;
struct Server { pid_t pid; int port; };

/* The servers, stopped at exit whatever the path: s3rver, the Node proxy
** (test/s3proxy.mjs) and the C delay proxy (bench/latproxy). */
static Server s3, proxy, lat;

static Server startServer(const char *zCmd, const char *zMarker){
  Server s = {0, 0};
  int fds[2];
  char buf[4096];
  size_t n = 0;
  if( pipe(fds) ) exit(1);
  s.pid = fork();
  if( s.pid==0 ){
    dup2(fds[1], 1);
    close(fds[0]);
    execl("/bin/sh", "sh", "-c", zCmd, (char*)0);
    _exit(127);
  }
  close(fds[1]);
  while( n<sizeof(buf)-1 ){
    ssize_t r = read(fds[0], buf+n, sizeof(buf)-1-n);
    char *z;
    if( r<=0 ) break;
    n += (size_t)r;
    buf[n] = 0;
    if( (z = strstr(buf, zMarker))!=0 && strchr(z, '\n') ){
      z += strlen(zMarker);
      while( *z && (*z<'0' || *z>'9') ) z++;
      s.port = atoi(z);
      break;
    }
  }
  if( s.port==0 ){
    fprintf(stderr, "cannot start: %s\n", zCmd);
    exit(1);
  }
  return s;
}

static void stopServer(Server *s){
  if( s->pid>0 ){
    kill(s->pid, SIGTERM);
    waitpid(s->pid, 0, 0);
    s->pid = 0;
  }
}

static void stopAll(void){
  stopServer(&lat);
  stopServer(&proxy);
  stopServer(&s3);
}

static sqlite3 *openDb(const char *zPath){
  sqlite3 *db;
  char *zErr = 0;
  if( sqlite3_open(zPath, &db)!=SQLITE_OK ) exit(1);
  sqlite3_enable_load_extension(db, 1);
  if( sqlite3_load_extension(db, zExt, "sqlite3_stream_init", &zErr) ){
    fprintf(stderr, "load: %s\n", zErr);
    exit(1);
  }
  benchExec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
  return db;
}

typedef struct Result Result;
struct Result {
  const char *zName;           /* Row label */
  const char *zTag;            /* File names: bench-s3-TAG-R.db */
  char zUrlFmt[600];           /* warm.store, %d: the repetition */
  double aTier[BENCH_S3_TIER_REPS];
  double aReplay[BENCH_S3_REPLAY_REPS];
  double tTier, tReplay, tFirst;   /* Medians */
  double aMark[BENCH_S3_REPLAY_REPS][11];  /* Stepped replays: ms to the
                               ** first row and to the end of each quarter,
                               ** then this process's CPU ms, then
                               ** s3rver's and the proxy's, then the
                               ** requests the proxy answered, the GET
                               ** body bytes it sent and the TCP
                               ** connections it accepted (0 if not read) */
  double aMarkMed[11];         /* ... medians */
  long long nSegBytes;         /* Bytes of the segment files replayed */
  long long nReplay;
};

static int run(const char *zCmd){
  int rc = system(zCmd);
  return rc;
}

static double median(double *a, int n){
  qsort(a, n, sizeof(a[0]), benchCmpDouble);
  return a[n/2];
}

/* Repetition iRep of the tiering to store pR: copy the produced database
** (its own file, its own store prefix), move every message. */
static double tierOnce(Result *pR, int iRep){
  char zDb[700], zCmd[4000], zSql[1400], zUrl[700];
  sqlite3 *db;
  double t0, t;
  snprintf(zDb, sizeof(zDb), "%s/bench-s3-%s-%d.db", zDir, pR->zTag, iRep);
  snprintf(zCmd, sizeof(zCmd), "rm -f %s %s-wal %s-shm && cp %s/bench-s3-src.db %s",
           zDb, zDb, zDb, zDir, zDb);
  if( run(zCmd) ) exit(1);
  snprintf(zUrl, sizeof(zUrl), pR->zUrlFmt, iRep);
  db = openDb(zDb);
  snprintf(zSql, sizeof(zSql), "SELECT stream_config('warm.store', '%s');"
           "SELECT stream_alter_topic('bench', '{\"hot.retention.messages\":0}')",
           zUrl);
  benchExec(db, zSql);
  t0 = benchNow();
  benchExec(db, "SELECT stream_tier('bench')");
  t = benchNow()-t0;
  if( benchInt1(db, "SELECT count(*) FROM _stream_messages")!=0 ){
    fprintf(stderr, "%s: not everything moved\n", pR->zName);
    exit(1);
  }
  sqlite3_close(db);
  return t;
}

/* Every message read back on a new connection (repetition 0's copy). */
static double replayOnce(Result *pR, long long nMsg){
  char zDb[700];
  sqlite3 *db;
  double t0, t;
  snprintf(zDb, sizeof(zDb), "%s/bench-s3-%s-0.db", zDir, pR->zTag);
  db = openDb(zDb);
  t0 = benchNow();
  pR->nReplay = benchInt1(db, "SELECT count(*) + 0*sum(length(value))"
                         " FROM stream_messages WHERE topic='bench'");
  t = benchNow()-t0;
  sqlite3_close(db);
  if( pR->nReplay!=nMsg ){
    fprintf(stderr, "%s: replay read %lld of %lld\n", pR->zName, pR->nReplay,
            nMsg);
    exit(1);
  }
  return t;
}

/* CPU ms (user + system) this process has used. */
static double cpuMs(void){
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec*1000.0 + ru.ru_utime.tv_usec/1000.0
       + ru.ru_stime.tv_sec*1000.0 + ru.ru_stime.tv_usec/1000.0;
}

/* CPU ms (user + system) process pid has used (a Node server), or 0. */
static double cpuMsOf(pid_t pid){
  char zPath[64], zBuf[1024], *z;
  unsigned long long utime = 0, stime = 0;
  long hz = sysconf(_SC_CLK_TCK);
  FILE *f;
  size_t n;
  snprintf(zPath, sizeof(zPath), "/proc/%d/stat", (int)pid);
  if( pid<=0 || (f = fopen(zPath, "r"))==0 ) return 0;
  n = fread(zBuf, 1, sizeof(zBuf)-1, f);
  fclose(f);
  zBuf[n] = 0;
  /* After the command name in parentheses: state, then fields 4..; utime
  ** and stime are fields 14 and 15. */
  if( (z = strrchr(zBuf, ')'))==0
   || sscanf(z+2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
             &utime, &stime)!=2 || hz<=0 ){
    return 0;
  }
  return (utime+stime)*1000.0/hz;
}

/* Counter zName ("requests", "getbytes") of the proxy's stats
** (test/s3proxy.mjs GET /__proxy/stats, by the curl program), or -1 if
** it cannot be read. */
static double proxyStat(const char *zName){
  double v = -1;
  char zCmd[300];
  FILE *f;
  char zBuf[4096];
  size_t n;
  char zKey[64], *z;
  snprintf(zCmd, sizeof(zCmd), "curl -sf http://127.0.0.1:%d/__proxy/stats",
           proxy.port);
  if( (f = popen(zCmd, "r"))==0 ) return -1;
  n = fread(zBuf, 1, sizeof(zBuf)-1, f);
  pclose(f);
  zBuf[n] = 0;
  snprintf(zKey, sizeof(zKey), "\"%s\":", zName);
  if( (z = strstr(zBuf, zKey))!=0 ) v = atof(z+strlen(zKey));
  return v;
}

/* A replay stepped row by row (new connection): ms from the statement's
** first step to its first row (the scan's open: its first file's round
** trips), and to the last row of each quarter of the messages (the four
** partitions' files, one after the other); last, the CPU ms this process
** spent on it (decoding, and taking in the responses): a figure the other
** jobs on the machine disturb less than the elapsed ones. */
static void replayMarks(Result *pR, long long nMsg, double *aMs){
  char zDb[700];
  sqlite3 *db;
  sqlite3_stmt *p;
  long long n = 0;
  double t0, c0, cS3, cProxy, nReq0 = -1, nByte0 = -1, nConn0 = -1;
  int iMark = 1;
  int bProxy = strcmp(pR->zTag, "rtt")==0;
  /* The proxy whose CPU is counted: the C delay proxy for its row. */
  pid_t pidProxy = strcmp(pR->zTag, "lat")==0 ? lat.pid : proxy.pid;
  snprintf(zDb, sizeof(zDb), "%s/bench-s3-%s-0.db", zDir, pR->zTag);
  db = openDb(zDb);
  pR->nSegBytes = benchInt1(db, "SELECT sum(bytes) FROM _stream_segments");
  if( bProxy ){
    nReq0 = proxyStat("requests");
    nByte0 = proxyStat("getbytes");
    nConn0 = proxyStat("connections");   /* (Its own connection counted) */
  }
  if( sqlite3_prepare_v2(db, "SELECT length(value) FROM stream_messages"
                         " WHERE topic='bench'", -1, &p, 0) ){
    exit(1);
  }
  cS3 = cpuMsOf(s3.pid);
  cProxy = cpuMsOf(pidProxy);
  c0 = cpuMs();
  t0 = benchNow();
  while( sqlite3_step(p)==SQLITE_ROW ){
    if( n==0 ) aMs[0] = (benchNow()-t0)*1000;
    n++;
    if( iMark<5 && n==nMsg*iMark/4 ) aMs[iMark++] = (benchNow()-t0)*1000;
  }
  aMs[5] = cpuMs()-c0;
  aMs[6] = cpuMsOf(s3.pid)-cS3;
  aMs[7] = cpuMsOf(pidProxy)-cProxy;
  sqlite3_finalize(p);
  sqlite3_close(db);
  aMs[8] = aMs[9] = aMs[10] = 0;
  if( bProxy && nReq0>=0 && nByte0>=0 && nConn0>=0 ){
    /* (The connection closed: nothing of the replay is still under way;
    ** the proxy does not count its control requests, but counts their
    ** TCP connections: the one reading the count is taken off.) */
    aMs[10] = proxyStat("connections")-nConn0-1;
    aMs[8] = proxyStat("requests")-nReq0;
    aMs[9] = proxyStat("getbytes")-nByte0;
  }
  if( n!=nMsg ){
    fprintf(stderr, "%s: stepped replay read %lld of %lld\n", pR->zName, n,
            nMsg);
    exit(1);
  }
}

/* Time to the first row of a warm read on a new connection: median of 15. */
static double firstRow(Result *pR, long long nMsg){
  char zDb[700], zSql[1400];
  double a[15];
  int i;
  snprintf(zDb, sizeof(zDb), "%s/bench-s3-%s-0.db", zDir, pR->zTag);
  for(i=0; i<15; i++){
    sqlite3_stmt *p;
    sqlite3 *db = openDb(zDb);
    double t0;
    snprintf(zSql, sizeof(zSql), "SELECT value FROM stream_messages WHERE"
             " topic='bench' AND partition=%d AND offset>=%lld LIMIT 1",
             i%4, nMsg/16 + i*97);
    t0 = benchNow();
    if( sqlite3_prepare_v2(db, zSql, -1, &p, 0) || sqlite3_step(p)!=SQLITE_ROW ){
      fprintf(stderr, "%s: %s\n", pR->zName, sqlite3_errmsg(db));
      exit(1);
    }
    a[i] = benchNow()-t0;
    sqlite3_finalize(p);
    sqlite3_close(db);
  }
  return median(a, 15);
}

#ifdef HAVE_LIBCURL
/* One whole-object GET of the fetch-only ceiling: bytes discarded. */
static size_t fetchSink(char *a, size_t sz, size_t n, void *pArg){
  (void)a;
  *(long long*)pArg += (long long)(sz*n);
  return sz*n;
}

/* Seconds to fetch the nUrl objects azUrl whole through the proxy with at
** most nPar GETs in flight (the next sent as one ends), on a new multi
** handle (new connections, as a replay's new database connection has;
** each reused once made), signed as the extension signs; -1 on a failure. */
static double fetchRun(char **azUrl, int nUrl, int nPar){
  CURLM *pM = curl_multi_init();
  CURL *apE[64];
  long long anGot[64];
  struct curl_slist *pHdr = curl_slist_append(0, "x-amz-content-sha256: "
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  int iNext = 0, nRun = 0, nDone = 0, bFail = 0, i;
  double t0;
  if( pM==0 || pHdr==0 || nUrl>64 ) return -1;
  t0 = benchNow();
  while( nDone<nUrl && !bFail ){
    CURLMsg *pMsg;
    int nLeft, nWas;
    while( iNext<nUrl && iNext-nDone<nPar ){
      CURL *pE = apE[iNext] = curl_easy_init();
      anGot[iNext] = 0;
      curl_easy_setopt(pE, CURLOPT_URL, azUrl[iNext]);
      curl_easy_setopt(pE, CURLOPT_HTTPHEADER, pHdr);
      curl_easy_setopt(pE, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
      curl_easy_setopt(pE, CURLOPT_USERPWD, "S3RVER:S3RVER");
      curl_easy_setopt(pE, CURLOPT_WRITEFUNCTION, fetchSink);
      curl_easy_setopt(pE, CURLOPT_WRITEDATA, &anGot[iNext]);
      curl_easy_setopt(pE, CURLOPT_BUFFERSIZE, 256*1024L);
      curl_easy_setopt(pE, CURLOPT_FAILONERROR, 1L);
      curl_multi_add_handle(pM, pE);
      iNext++;
    }
    nWas = nDone;
    curl_multi_perform(pM, &nRun);
    while( (pMsg = curl_multi_info_read(pM, &nLeft))!=0 ){
      if( pMsg->msg!=CURLMSG_DONE ) continue;
      if( pMsg->data.result!=CURLE_OK ) bFail = 1;
      nDone++;
    }
    /* (One ended: the next is sent at once, not after the poll.) */
    if( nDone==nWas ) curl_multi_poll(pM, 0, 0, 100, 0);
  }
  t0 = benchNow()-t0;
  for(i=0; i<iNext; i++){
    curl_multi_remove_handle(pM, apE[i]);
    curl_easy_cleanup(apE[i]);
    if( anGot[i]==0 ) bFail = 1;
  }
  curl_multi_cleanup(pM);
  curl_slist_free_all(pHdr);
  return bFail ? -1 : t0;
}
#endif

/* The fetch-only ceiling: seconds this setup (s3rver and the proxy, two
** Node processes on the same cores as the reader) takes to serve the
** segment files of the proxy run's first tiering (s<iSet>rtt0), fetched
** whole through the proxy, nothing decoded, with 1, 2 and 4 GETs in
** flight (aT[0..2]; median of 5 each; -1: not measured, no libcurl).  No
** replay through the proxy can end before its bytes have come, so file://
** replay time / the fastest of these is the highest ratio it can reach. */
static void fetchOnly(int iSet, int port, const char *zTag, double *aT){
  int k;
  for(k=0; k<3; k++) aT[k] = -1;
#ifdef HAVE_LIBCURL
  {
    char zCmd[2000], zLine[1200];
    char *azUrl[64];
    int nUrl = 0, j;
    FILE *f;
    snprintf(zCmd, sizeof(zCmd), "cd %s/bench-s3-data && find bench/s%d%s0"
             " -name '*.parquet._S3rver_object' | sort", zDir, iSet, zTag);
    if( (f = popen(zCmd, "r"))==0 ) return;
    while( nUrl<64 && fgets(zLine, sizeof(zLine), f) ){
      char *zEnd = strstr(zLine, "._S3rver_object");
      if( zEnd==0 ) continue;
      *zEnd = 0;
      azUrl[nUrl] = malloc(1400);
      if( azUrl[nUrl]==0 ) break;
      snprintf(azUrl[nUrl], 1400, "http://127.0.0.1:%d/%s", port, zLine);
      nUrl++;
    }
    pclose(f);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for(k=0; k<3 && nUrl>0; k++){
      double a[5];
      for(j=0; j<5; j++){
        a[j] = fetchRun(azUrl, nUrl, k==0 ? 1 : k==1 ? 2 : 4);
        if( a[j]<0 ) break;
      }
      if( j==5 ) aT[k] = median(a, 5);
    }
    for(j=0; j<nUrl; j++) free(azUrl[j]);
  }
#else
  (void)iSet; (void)port; (void)zTag;
#endif
}

/* One data set (bRandom: the random pad), produced once, then tiered and
** replayed with every store; prints its table.  iSet keeps its store
** prefixes apart from the other set's. */
static int runSet(long long nMsg, int rtt, int bRandom, int iSet){
  char zCmd[3000];
  double aFetch[3], aFetchLat[3], tFetch;
  Result aR[4];
  sqlite3 *db;
  int i, j;
  /* The messages, produced once. */
  snprintf(zCmd, sizeof(zCmd), "rm -f %s/bench-s3-src.db*", zDir);
  if( run(zCmd) ) return 1;
  snprintf(zCmd, sizeof(zCmd), "%s/bench-s3-src.db", zDir);
  db = openDb(zCmd);
  benchExec(db, "SELECT stream_create_topic('bench', 4, '{\"hot.retention.messages\":-1,"
                "\"hot.retention.ms\":-1,\"retention.ms\":-1}')");
  snprintf(zCmd, sizeof(zCmd),
           "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n<10000)"
           " INSERT INTO stream_messages(topic, key, value)"
           " SELECT 'bench', 'key-' || (n %% 1000),"
           " json_object('n', n, 'pad', %s) FROM c",
           bRandom ? "hex(randomblob(30))" : "printf('%.60c', 'x')");
  for(i=0; i<nMsg; i+=10000) benchExec(db, zCmd);
  benchExec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close(db);

  snprintf(aR[0].zUrlFmt, sizeof(aR[0].zUrlFmt),
           "file://%s/bench-s3-warm/s%dr%%d", zDir, iSet);
  aR[0].zName = "file://";
  aR[0].zTag = "file";
  snprintf(aR[1].zUrlFmt, sizeof(aR[1].zUrlFmt),
           "s3://bench/s%ddirect%%d?endpoint=http://127.0.0.1:%d", iSet,
           s3.port);
  aR[1].zName = "s3:// (s3rver, loopback)";
  aR[1].zTag = "s3";
  snprintf(aR[2].zUrlFmt, sizeof(aR[2].zUrlFmt),
           "s3://bench/s%drtt%%d?endpoint=http://127.0.0.1:%d", iSet,
           proxy.port);
  aR[2].zName = "s3:// behind the proxy";
  aR[2].zTag = "rtt";
  snprintf(aR[3].zUrlFmt, sizeof(aR[3].zUrlFmt),
           "s3://bench/s%dlat%%d?endpoint=http://127.0.0.1:%d", iSet,
           lat.port);
  aR[3].zName = "s3:// behind the C delay proxy";
  aR[3].zTag = "lat";
  /* The stores in turn, repetition after repetition, so that a change of
  ** the machine's load falls on all three alike. */
  for(j=0; j<BENCH_S3_TIER_REPS; j++){
    for(i=0; i<4; i++){
      snprintf(zCmd, sizeof(zCmd), "mkdir -p %s/bench-s3-warm/s%dr%d", zDir,
               iSet, j);
      if( i==0 && run(zCmd) ) return 1;
      aR[i].aTier[j] = tierOnce(&aR[i], j);
    }
  }
  for(j=0; j<BENCH_S3_REPLAY_REPS; j++){
    for(i=0; i<4; i++) aR[i].aReplay[j] = replayOnce(&aR[i], nMsg);
  }
  for(j=0; j<BENCH_S3_REPLAY_REPS; j++){
    for(i=0; i<4; i++) replayMarks(&aR[i], nMsg, aR[i].aMark[j]);
  }
  fetchOnly(iSet, proxy.port, "rtt", aFetch);
  fetchOnly(iSet, lat.port, "lat", aFetchLat);
  for(i=0; i<4; i++){
    int k;
    aR[i].tTier = median(aR[i].aTier, BENCH_S3_TIER_REPS);
    aR[i].tReplay = median(aR[i].aReplay, BENCH_S3_REPLAY_REPS);
    aR[i].tFirst = firstRow(&aR[i], nMsg);
    for(k=0; k<11; k++){
      double a[BENCH_S3_REPLAY_REPS];
      for(j=0; j<BENCH_S3_REPLAY_REPS; j++) a[j] = aR[i].aMark[j][k];
      aR[i].aMarkMed[k] = median(a, BENCH_S3_REPLAY_REPS);
    }
  }
  printf("\nbench_s3: %lld messages (100-byte JSON values, %s pad,"
         " 4 partitions), proxy adds %d ms per request; medians of %d"
         " tierings and %d replays per store, taken in turn\n\n", nMsg,
         bRandom ? "random" : "repeated", rtt, BENCH_S3_TIER_REPS,
         BENCH_S3_REPLAY_REPS);
  printf("| store | tier msg/s | vs file:// | replay msg/s | vs file:// | first row (median of 15) |\n");
  printf("|---|---:|---:|---:|---:|---:|\n");
  for(i=0; i<4; i++){
    printf("| %s | %.0f | %.2fx | %.0f | %.2fx | %.1f ms |\n", aR[i].zName,
           nMsg/aR[i].tTier, aR[0].tTier/aR[i].tTier,
           nMsg/aR[i].tReplay, aR[0].tReplay/aR[i].tReplay,
           aR[i].tFirst*1000);
  }
  printf("\nThe replay stepped row by row (a new connection, median of %d):"
         " ms from the first step to the first row, then to the end of each"
         " partition's file; the CPU ms this process used, and s3rver's and"
         " the proxy's during it\n\n", BENCH_S3_REPLAY_REPS);
  printf("| store | first row | file 1 | file 2 | file 3 | file 4 | CPU |"
         " s3rver CPU | proxy CPU |\n");
  printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for(i=0; i<4; i++){
    printf("| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f |\n",
           aR[i].zName, aR[i].aMarkMed[0], aR[i].aMarkMed[1],
           aR[i].aMarkMed[2], aR[i].aMarkMed[3], aR[i].aMarkMed[4],
           aR[i].aMarkMed[5], aR[i].aMarkMed[6], aR[i].aMarkMed[7]);
  }
  {
    /* The CPU the three processes (reader, s3rver, proxy) spent on a
    ** replay through the proxy, on the cores they share: no replay ends
    ** before that much work is done, whatever it overlaps. */
    long nCore = sysconf(_SC_NPROCESSORS_ONLN);
    double cpu = aR[2].aMarkMed[5]+aR[2].aMarkMed[6]+aR[2].aMarkMed[7];
    double tCpu;
    if( nCore<1 ) nCore = 1;
    tCpu = cpu/nCore;
    if( tCpu<aR[2].aMarkMed[5] ) tCpu = aR[2].aMarkMed[5];   /* (One thread) */
    printf("\nCPU of a replay through the proxy: %.0f ms (reader %.0f, s3rver"
           " %.0f, proxy %.0f; file:// replay: reader %.0f): on %ld cores at"
           " least %.0f ms, so at most %.2fx of the stepped file:// replay"
           " (%.1f ms) once the first row's %.1f ms is added\n", cpu,
           aR[2].aMarkMed[5], aR[2].aMarkMed[6], aR[2].aMarkMed[7],
           aR[0].aMarkMed[5], nCore, tCpu,
           aR[0].aMarkMed[4]/(tCpu+aR[2].aMarkMed[0]),
           aR[0].aMarkMed[4], aR[2].aMarkMed[0]);
    {
      /* The Node pair's CPU summed over the stepped replays: its 10 ms
      ** ticks resolve a few ms a replay this way, not in a median. */
      double sS3 = 0, sProxy = 0;
      for(j=0; j<BENCH_S3_REPLAY_REPS; j++){
        sS3 += aR[2].aMark[j][6];
        sProxy += aR[2].aMark[j][7];
      }
      printf("\nCPU of s3rver and the proxy over the %d stepped replays"
             " through the proxy: %.0f and %.0f ms (%.1f and %.1f ms a"
             " replay)\n", BENCH_S3_REPLAY_REPS, sS3, sProxy,
             sS3/BENCH_S3_REPLAY_REPS, sProxy/BENCH_S3_REPLAY_REPS);
    }
    if( aR[2].aMarkMed[8]>0 ){
      printf("\nRequests of a replay through the proxy (median of %d): %.0f,"
             " GET body bytes %.0f (the segment files: %lld bytes), TCP"
             " connections it accepted %.0f\n",
             BENCH_S3_REPLAY_REPS, aR[2].aMarkMed[8], aR[2].aMarkMed[9],
             aR[2].nSegBytes, aR[2].aMarkMed[10]);
    }
    {
      /* The same for the C delay proxy's row: its CPU is a few system
      ** calls a chunk, so the reader and s3rver share the cores. */
      double cpuL = aR[3].aMarkMed[5]+aR[3].aMarkMed[6]+aR[3].aMarkMed[7];
      double tL = cpuL/nCore, sS3 = 0, sLat = 0;
      if( tL<aR[3].aMarkMed[5] ) tL = aR[3].aMarkMed[5];
      for(j=0; j<BENCH_S3_REPLAY_REPS; j++){
        sS3 += aR[3].aMark[j][6];
        sLat += aR[3].aMark[j][7];
      }
      printf("\nCPU of a replay through the C delay proxy: %.0f ms (reader"
             " %.0f, s3rver %.0f, latproxy %.0f; summed over the %d stepped"
             " replays: s3rver %.1f, latproxy %.1f ms a replay): on %ld cores"
             " at least %.0f ms, so at most %.2fx of the stepped file://"
             " replay once the first row's %.1f ms is added\n", cpuL,
             aR[3].aMarkMed[5], aR[3].aMarkMed[6], aR[3].aMarkMed[7],
             BENCH_S3_REPLAY_REPS, sS3/BENCH_S3_REPLAY_REPS,
             sLat/BENCH_S3_REPLAY_REPS, nCore, tL,
             aR[0].aMarkMed[4]/(tL+aR[3].aMarkMed[0]), aR[3].aMarkMed[0]);
    }
  }
  tFetch = -1;
  for(i=0; i<3; i++){
    if( aFetch[i]>0 && (tFetch<0 || aFetch[i]<tFetch) ) tFetch = aFetch[i];
  }
  if( tFetch>0 ){
    static const int aPar[3] = {1, 2, 4};
    printf("\nThe same files fetched whole through the proxy by this program"
           " (libcurl, a new connection pool each time), nothing decoded,"
           " median of 5; the file:// replay took %.1f ms:\n\n"
           "| GETs in flight | ms | file:// replay / this (ceiling) |\n"
           "|---:|---:|---:|\n", aR[0].tReplay*1000);
    for(i=0; i<3; i++){
      if( aFetch[i]>0 ){
        printf("| %d | %.1f | %.2fx |\n", aPar[i], aFetch[i]*1000,
               aR[0].tReplay/aFetch[i]);
      }
    }
    printf("\nA replay through the proxy can reach at most %.2fx here by"
           " the bytes, and %.2fx by its first round trip (nothing is decoded"
           " before it: file:// replay / (it + the first row's %.1f ms)); the"
           " replay reached %.2fx\n", aR[0].tReplay/tFetch,
           aR[0].tReplay/(aR[0].tReplay+aR[2].tFirst), aR[2].tFirst*1000,
           aR[0].tReplay/aR[2].tReplay);
  }
  if( aFetchLat[0]>0 ){
    static const int aPar[3] = {1, 2, 4};
    printf("\nThe C delay proxy run's files fetched whole through it the"
           " same way:\n\n| GETs in flight | ms | file:// replay / this"
           " (ceiling) |\n|---:|---:|---:|\n");
    for(i=0; i<3; i++){
      if( aFetchLat[i]>0 ){
        printf("| %d | %.1f | %.2fx |\n", aPar[i], aFetchLat[i]*1000,
               aR[0].tReplay/aFetchLat[i]);
      }
    }
    printf("\nThrough the C delay proxy the replay reached %.2fx (its first"
           " round trip allows %.2fx)\n", aR[0].tReplay/aR[3].tReplay,
           aR[0].tReplay/(aR[0].tReplay+aR[3].tFirst));
  }
  return 0;
}

/* Median seconds of nRep runs of shell command zCmd, each printing one
** time in seconds (curl -w), or -1 if it fails. */
static double medianOf(const char *zCmd, int nRep){
  double a[31];
  int i, n = 0;
  for(i=0; i<nRep && i<31; i++){
    FILE *f = popen(zCmd, "r");
    double t = -1;
    if( f==0 ) return -1;
    if( fscanf(f, "%lf", &t)!=1 ) t = -1;
    if( pclose(f)!=0 || t<0 ) return -1;
    a[n++] = t;
  }
  return n ? median(a, n) : -1;
}

/* What the proxy adds to one request: the curl program (if installed)
** times GETs of a 1-byte and a 3.5 MB object and PUTs of the 3.5 MB one,
** straight to s3rver and through the proxy, each a median of 15 (a new
** connection each: the same for both); prints a table. */
static void proxyCost(int rtt){
  static const char *azWhat[] = { "GET 1 byte", "GET 3.5 MB", "PUT 3.5 MB" };
  char zCmd[4000], zFile[700];
  double a[3][2];
  int i, j;
  const char *zAuth = "--aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER";
  snprintf(zFile, sizeof(zFile), "%s/bench-s3-probe", zDir);
  snprintf(zCmd, sizeof(zCmd), "command -v curl >/dev/null && head -c 3500000"
           " /dev/urandom > %s.big && printf x > %s.small && for f in big small;"
           " do curl -sf -o /dev/null %s -H \"x-amz-content-sha256: $(sha256sum"
           " %s.$f | cut -d' ' -f1)\" -T %s.$f http://127.0.0.1:%d/bench/probe-$f"
           " || exit 1; done", zFile, zFile, zAuth, zFile, zFile, s3.port);
  if( run(zCmd) ){
    printf("\n(the curl program is missing or failed: no per-request cost)\n");
    return;
  }
  for(i=0; i<3; i++){
    for(j=0; j<2; j++){
      int port = j ? proxy.port : s3.port;
      if( i<2 ){
        snprintf(zCmd, sizeof(zCmd), "curl -sf -o /dev/null -w '%%{time_total}'"
            " %s -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb924"
            "27ae41e4649b934ca495991b7852b855' http://127.0.0.1:%d/bench/"
            "probe-%s", zAuth, port, i ? "big" : "small");
      }else{
        snprintf(zCmd, sizeof(zCmd), "curl -sf -o /dev/null -w '%%{time_total}'"
            " %s -H \"x-amz-content-sha256: $(sha256sum %s.big | cut -d' ' -f1)"
            "\" -T %s.big http://127.0.0.1:%d/bench/probe-put", zAuth, zFile,
            zFile, port);
      }
      a[i][j] = medianOf(zCmd, 15);
    }
  }
  printf("\nOne request, s3rver straight and through the proxy (+%d ms),"
         " median of 15 (curl, a new connection each):\n\n", rtt);
  printf("| request | s3rver | proxy | the proxy adds |\n|---|---:|---:|---:|\n");
  for(i=0; i<3; i++){
    printf("| %s | %.1f ms | %.1f ms | %.1f ms |\n", azWhat[i], a[i][0]*1000,
           a[i][1]*1000, (a[i][1]-a[i][0])*1000);
  }
}

/* --timing FILE: from the proxy's record, each replay through it (a run
** of ranged GETs of segment files, none starting more than 200 ms after
** the others ended, 4 to 16: a tail and a body for the first file, one
** GET for each later one (or one each, if small); the first-row
** reads, many short ones in a row, make more) and the ms in
** it when no GET was answering: from its first request to its last
** answer, less the first round trip (rtt), less the union of every GET's
** [start + rtt, end].  That idle time is a round trip the replay waited
** without a byte coming: what sending the next file's GET before the
** last one ends removes.  Prints the median of the replays' spans and
** idle ms, and each. */
static void timingGaps(const char *zFile, int rtt){
  FILE *in = fopen(zFile, "r");
  char zLine[4000];
  double aS[256], aE[256];             /* Intervals of one replay */
  double aSpan[64], aIdle[64];
  int nIv = 0, nRep = 0, i, j;
  double tEnd = -1e9;
  if( in==0 ) return;
  for(;;){
    char *zOk = fgets(zLine, sizeof(zLine), in);
    double t0 = 0, t1 = 0;
    char *z0, *z1;
    int bGet = zOk && strstr(zLine, "\"method\":\"GET\"")
            && strstr(zLine, ".parquet") && strstr(zLine, "\"range\":\"bytes=")
            && (z0 = strstr(zLine, "\"t0\":"))!=0
            && (z1 = strstr(zLine, "\"t1\":"))!=0;
    if( bGet ){ t0 = atof(z0+5); t1 = atof(z1+5); }
    if( (zOk==0 || (bGet && t0-tEnd>200)) && nIv>=4 && nIv<=16 && nRep<64 ){
      /* A replay ended: its span and the time nothing came. */
      double tA = aS[0], tB = aE[0], cov = 0, s, e;
      for(i=1; i<nIv; i++){
        if( aS[i]<tA ) tA = aS[i];
        if( aE[i]>tB ) tB = aE[i];
      }
      for(i=0; i<nIv; i++){                /* sort by start + rtt */
        for(j=i+1; j<nIv; j++){
          if( aS[j]<aS[i] ){
            double x = aS[i]; aS[i] = aS[j]; aS[j] = x;
            x = aE[i]; aE[i] = aE[j]; aE[j] = x;
          }
        }
      }
      s = aS[0]+rtt; e = aE[0];
      for(i=1; i<nIv; i++){
        if( aS[i]+rtt>e ){ if( e>s ) cov += e-s; s = aS[i]+rtt; e = aE[i]; }
        else if( aE[i]>e ) e = aE[i];
      }
      if( e>s ) cov += e-s;
      aSpan[nRep] = tB-tA;
      aIdle[nRep] = tB-tA-rtt-cov;
      nRep++;
    }
    if( zOk==0 ) break;
    if( !bGet ) continue;
    if( t0-tEnd>200 ) nIv = 0;
    if( nIv<256 ){ aS[nIv] = t0; aE[nIv] = t1; nIv++; }
    if( t1>tEnd ) tEnd = t1;
  }
  fclose(in);
  if( nRep==0 ) return;
  printf("\nReplays through the proxy (its record, %s): ms from the first"
         " request to the last answer, and ms of it with no GET answering"
         " beyond the first round trip, each in order:\n\n", zFile);
  for(i=0; i<nRep; i++){
    printf("%s%.0f/%.0f", i ? ", " : "", aSpan[i], aIdle[i]);
  }
  printf("\n\nmedian: span %.0f ms, idle %.0f ms\n",
         median(aSpan, nRep), median(aIdle, nRep));
}

int main(int argc, char **argv){
  long long nMsg = 400000;
  int rtt = 20, i, mSets = 3;          /* Bit 0: repeated pad, 1: random */
  char zCmd[3000];
  if( argc<2 ){
    fprintf(stderr, "usage: %s EXTENSION [--quick] [--repeated|--random] [--dir DIR] [--interop DIR] [--rtt MS] [--timing FILE]\n", argv[0]);
    return 1;
  }
  zExt = argv[1];
  {
    /* bench/latproxy sits beside this program. */
    const char *z = strrchr(argv[0], '/');
    if( z ) snprintf(zBenchDir, sizeof(zBenchDir), "%.*s", (int)(z-argv[0]), argv[0]);
  }
  for(i=2; i<argc; i++){
    if( strcmp(argv[i], "--quick")==0 ) nMsg = 100000;
    else if( strcmp(argv[i], "--dir")==0 && i+1<argc ) snprintf(zDir, sizeof(zDir), "%s", argv[++i]);
    else if( strcmp(argv[i], "--interop")==0 && i+1<argc ) snprintf(zInterop, sizeof(zInterop), "%s", argv[++i]);
    else if( strcmp(argv[i], "--random")==0 ) mSets = 2;
    else if( strcmp(argv[i], "--repeated")==0 ) mSets = 1;
    else if( strcmp(argv[i], "--rtt")==0 && i+1<argc ) rtt = atoi(argv[++i]);
    else if( strcmp(argv[i], "--timing")==0 && i+1<argc ){
      snprintf(zTimingFile, sizeof(zTimingFile), "%s", argv[++i]);
      snprintf(zTiming, sizeof(zTiming), " --timing %s", zTimingFile);
    }
  }
  snprintf(zSrcTest, sizeof(zSrcTest), "%s/..", zInterop);
  setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);

  snprintf(zCmd, sizeof(zCmd), "rm -rf %s/bench-s3-data %s/bench-s3-warm && mkdir -p %s/bench-s3-data %s/bench-s3-warm",
           zDir, zDir, zDir, zDir);
  if( run(zCmd) ) return 1;
  snprintf(zCmd, sizeof(zCmd), "exec node %s/node_modules/s3rver/bin/s3rver.js -d %s/bench-s3-data"
           " -a 127.0.0.1 -p 0 --silent --allow-mismatched-signatures"
           " --configure-bucket bench", zInterop, zDir);
  atexit(stopAll);
  s3 = startServer(zCmd, "listening on 127.0.0.1:");
  snprintf(zCmd, sizeof(zCmd), "exec node %s/s3proxy.mjs %d --latency %d-%d"
           " --suffix-ranges%s", zSrcTest, s3.port, rtt, rtt, zTiming);
  proxy = startServer(zCmd, "proxy listening on");
  /* The C delay proxy straight in front of s3rver: a replay hints every
  ** file's size (xPrefetch), so its ranges are explicit and s3rver's
  ** suffix ranges play no part (the Node proxy's --suffix-ranges is not
  ** needed; the request counts of the proxy run show it). */
  snprintf(zCmd, sizeof(zCmd), "exec %s/latproxy %d --rtt %d", zBenchDir,
           s3.port, rtt);
  lat = startServer(zCmd, "latproxy listening on");

  for(i=0; i<2; i++){
    if( (mSets & (1<<i)) && runSet(nMsg, rtt, i, i) ) return 1;
  }
  proxyCost(rtt);
  stopAll();
  if( zTimingFile[0] ) timingGaps(zTimingFile, rtt);
  return 0;
}
