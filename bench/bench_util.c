/*
** bench_util.c - clocks, CPU accounting, payloads, partitioner,
** statistics and SQLite helpers shared by every benchmark in bench/: the
** comparative driver (streambench) and the engine benchmarks
** (bench_produce, bench_consume, bench_compact, bench_tier, bench_group),
** which link it.
**
** CPU-seconds: the driver's own from getrusage(RUSAGE_SELF); a server's
** from /proc/<pid>/stat (utime + stime, every thread), summed over the
** server's process and its direct children (PostgreSQL's backends,
** WAL writer, checkpointer, autovacuum ...).  /proc has clock-tick
** resolution (10 ms), so short runs round server CPU to that.
*/
#define _GNU_SOURCE
#include "bench.h"
#include <sqlite3.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

double benchNow(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec*1e-9;
}

/* CLOCK_MONOTONIC in ns: one clock for every process of the machine, so
** a producer's timestamp can be compared with a consumer's clock. */
i64 benchNowNs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (i64)ts.tv_sec*1000000000LL + ts.tv_nsec;
}

void benchSleepUntil(double t){
  struct timespec ts;
  ts.tv_sec = (time_t)t;
  ts.tv_nsec = (long)((t - (double)ts.tv_sec)*1e9);
  while( clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, 0)==EINTR ){}
}

double benchSelfCpu(void){
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec*1e-6
       + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec*1e-6;
}

/* utime+stime of one process from /proc/PID/stat; *pPpid its parent. */
static double benchStatCpu(pid_t pid, pid_t *pPpid){
  char zPath[64], zBuf[1024];
  FILE *f;
  size_t n;
  char *z;
  unsigned long ut = 0, st = 0;
  int ppid = 0;
  snprintf(zPath, sizeof(zPath), "/proc/%d/stat", (int)pid);
  f = fopen(zPath, "r");
  if( f==0 ) return -1.0;
  n = fread(zBuf, 1, sizeof(zBuf)-1, f);
  fclose(f);
  zBuf[n] = 0;
  z = strrchr(zBuf, ')');          /* the command name may hold spaces */
  if( z==0 ) return -1.0;
  /* fields after ')': 3 state, 4 ppid, ... 14 utime, 15 stime */
  if( sscanf(z+2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
             &ppid, &ut, &st)!=3 ) return -1.0;
  if( pPpid ) *pPpid = ppid;
  return (double)(ut+st)/(double)sysconf(_SC_CLK_TCK);
}

double benchPidCpu(pid_t pid){
  double r = benchStatCpu(pid, 0);
  return r<0 ? 0.0 : r;
}

/* CPU of ROOT and of every live process whose parent is ROOT.  Children
** that exited are counted by the kernel in ROOT's cutime, which is not
** added: a PostgreSQL backend lives as long as its connection. */
double benchTreeCpu(pid_t root){
  double r = benchPidCpu(root);
  DIR *d = opendir("/proc");
  struct dirent *e;
  if( d==0 ) return r;
  while( (e = readdir(d))!=0 ){
    pid_t pid = (pid_t)atoi(e->d_name), ppid = 0;
    double c;
    if( pid<=0 || pid==root ) continue;
    c = benchStatCpu(pid, &ppid);
    if( c>=0 && ppid==root ) r += c;
  }
  closedir(d);
  return r;
}

int benchMurmur2(const unsigned char *d, int n){
  const unsigned int m = 0x5bd1e995u; const int r = 24;
  unsigned int h = 0x9747b28cu ^ (unsigned)n;
  int i, n4 = n/4;
  for(i=0; i<n4; i++){
    unsigned int k = d[4*i] | (d[4*i+1]<<8) | (d[4*i+2]<<16)
                   | ((unsigned)d[4*i+3]<<24);
    k *= m; k ^= k>>r; k *= m; h *= m; h ^= k;
  }
  switch( n%4 ){
    case 3: h ^= (unsigned)d[(n&~3)+2]<<16; /* fall through */
    case 2: h ^= (unsigned)d[(n&~3)+1]<<8;  /* fall through */
    case 1: h ^= d[n&~3]; h *= m;
  }
  h ^= h>>13; h *= m; h ^= h>>15;
  return (int)h;
}

/* Kafka's default partitioner for a non-null key. */
int benchPartition(const char *zKey, int nKey, int nPart){
  return (benchMurmur2((const unsigned char*)zKey, nKey) & 0x7fffffff)
         % nPart;
}

/* A JSON object of exactly nSize bytes (nSize >= 64) carrying the
** producer's timestamp:  {"ts":N,"id":N,"customer":"...","pad":"xxx"}  */
int benchMakeValue(char *z, int nSize, i64 iId, i64 tsNs){
  int n = snprintf(z, nSize, "{\"ts\":%lld,\"id\":%lld,\"customer\":"
                   "\"cust_%06lld\",\"pad\":\"", tsNs, iId, iId%1000000);
  while( n<nSize-2 ) z[n++] = 'x';
  z[n++] = '"'; z[n++] = '}'; z[n] = 0;
  return n;
}

/* The "ts" member of a value, as written by benchMakeValue() or as
** PostgreSQL's jsonb prints it back (keys reordered, spaces added). */
i64 benchValueTs(const char *zVal, int nVal){
  const char *z;
  if( nVal<7 ) return 0;
  z = strstr(zVal, "\"ts\":");
  if( z==0 || z-zVal>=nVal ) return 0;
  return strtoll(z+5, 0, 10);
}

int benchCmpDouble(const void *a, const void *b){
  double x = *(const double*)a, y = *(const double*)b;
  return x<y ? -1 : x>y;
}

void benchSortD(double *a, int n){
  qsort(a, n, sizeof(double), benchCmpDouble);
}

double benchMedian(double *a, int n){
  if( n<=0 ) return 0.0;
  benchSortD(a, n);
  return n%2 ? a[n/2] : (a[n/2-1]+a[n/2])/2;
}

/* Nearest-rank percentile p (0..100) of a sorted array. */
double benchPercentile(double *aSorted, int n, double p){
  i64 i;
  if( n<=0 ) return 0.0;
  i = (i64)((p/100.0)*n + 0.999999) - 1;
  if( i<0 ) i = 0;
  if( i>=n ) i = n-1;
  return aSorted[i];
}

void benchFatal(const char *zFmt, ...){
  va_list ap;
  va_start(ap, zFmt);
  fprintf(stderr, "streambench: ");
  vfprintf(stderr, zFmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

/* The consumer position of (zGroup, iPart) on this connection; *pbNew is
** set when it was not known yet (the caller then looks it up). */
BenchPos *benchPos(BenchSys *p, const char *zGroup, int iPart, int *pbNew){
  int i;
  for(i=0; i<p->nPos; i++){
    if( p->aPos[i].iPart==iPart && strcmp(p->aPos[i].zGroup, zGroup)==0 ){
      *pbNew = 0;
      return &p->aPos[i];
    }
  }
  if( p->nPos==BENCH_MAX_POS ) p->nPos = 0;   /* forget the oldest */
  i = p->nPos++;
  snprintf(p->aPos[i].zGroup, sizeof(p->aPos[i].zGroup), "%s", zGroup);
  p->aPos[i].iPart = iPart;
  p->aPos[i].iNext = 0;
  *pbNew = 1;
  return &p->aPos[i];
}

/* Run zSql on an SQLite connection; print the error and exit on failure. */
void benchExec(sqlite3 *db, const char *zSql){
  char *zErr = 0;
  if( sqlite3_exec(db, zSql, 0, 0, &zErr)!=SQLITE_OK ){
    fprintf(stderr, "%s: %s\n", zSql, zErr);
    exit(1);
  }
}

/* Load the extension zExt on db; print the error and exit on failure. */
void benchLoadExt(sqlite3 *db, const char *zExt){
  char *zErr = 0;
  sqlite3_enable_load_extension(db, 1);
  if( sqlite3_load_extension(db, zExt, 0, &zErr)!=SQLITE_OK ){
    fprintf(stderr, "load %s: %s\n", zExt, zErr);
    exit(1);
  }
}

/* Exit with the connection's message unless rc is OK, ROW or DONE. */
void benchCheck(sqlite3 *db, int rc, const char *zWhat){
  if( rc!=SQLITE_OK && rc!=SQLITE_ROW && rc!=SQLITE_DONE ){
    fprintf(stderr, "%s: %s\n", zWhat, sqlite3_errmsg(db));
    exit(1);
  }
}

/* The ~100-byte JSON value of message i used by the engine benchmarks
** (z holds at least 128 bytes); returns its length. */
int benchValue100(char *z, int i){
  int n = snprintf(z, 128, "{\"id\":%d,\"customer\":\"cust_%06d\","
                   "\"total\":%d.%02d,\"note\":\"", i, i % 1000000,
                   i % 1000, i % 100);
  while( n<98 ) z[n++] = 'x';
  z[n++] = '"'; z[n++] = '}'; z[n] = 0;
  return n;
}

/* The command line of an engine benchmark: EXTENSION [--quick] [--dir DIR]
** and the options xOpt takes (each with a value: xOpt returns 1 if it knew
** zOpt; zUsage lists them).  Returns the extension path; exits with the
** usage on a bad command line. */
const char *benchEngineArgs(int argc, char **argv, int *pbQuick,
                            char *zDir, int nDir, const char *zUsage,
                            int (*xOpt)(const char *zOpt, const char *zVal)){
  int i;
  if( argc<2 ){
    fprintf(stderr, "usage: %s EXTENSION [--quick] [--dir DIR]%s\n", argv[0],
            zUsage ? zUsage : "");
    exit(2);
  }
  for(i=2; i<argc; i++){
    if( strcmp(argv[i], "--quick")==0 ){
      *pbQuick = 1;
    }else if( strcmp(argv[i], "--dir")==0 && i+1<argc ){
      snprintf(zDir, nDir, "%s", argv[++i]);
    }else if( i+1<argc && xOpt && xOpt(argv[i], argv[i+1]) ){
      i++;
    }else{
      fprintf(stderr, "unknown option %s\n", argv[i]);
      exit(2);
    }
  }
  return argv[1];
}

/* The first column of the first row of zSql; prints the error and exits if
** the statement fails or returns no row. */
long long benchInt1(sqlite3 *db, const char *zSql){
  sqlite3_stmt *p;
  long long v = 0;
  if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)!=SQLITE_OK ){
    fprintf(stderr, "%s: %s\n", zSql, sqlite3_errmsg(db));
    exit(1);
  }
  if( sqlite3_step(p)==SQLITE_ROW ){
    v = sqlite3_column_int64(p, 0);
  }else{
    fprintf(stderr, "%s: %s\n", zSql, sqlite3_errmsg(db));
    exit(1);
  }
  sqlite3_finalize(p);
  return v;
}

/* Produce n messages ("key-<i>", value xValue(z, i), z of 128 bytes) into
** zTopic with stream_produce(), in transactions of 1,000; returns the
** seconds taken. */
double benchProduceBatched(sqlite3 *db, const char *zTopic, int n,
                           int (*xValue)(char *z, int i)){
  sqlite3_stmt *p;
  char zKey[32], zVal[128], zSql[128];
  double t0;
  int i;
  snprintf(zSql, sizeof(zSql), "SELECT stream_produce('%s', ?1, ?2)", zTopic);
  benchCheck(db, sqlite3_prepare_v2(db, zSql, -1, &p, 0), "prepare produce");
  t0 = benchNow();
  for(i=0; i<n; i++){
    int nKey = snprintf(zKey, sizeof(zKey), "key-%d", i);
    int nVal = xValue(zVal, i);
    if( i%1000==0 ) benchExec(db, "BEGIN");
    sqlite3_bind_text(p, 1, zKey, nKey, SQLITE_STATIC);
    sqlite3_bind_text(p, 2, zVal, nVal, SQLITE_STATIC);
    if( sqlite3_step(p)!=SQLITE_ROW ){
      fprintf(stderr, "produce: %s\n", sqlite3_errmsg(db));
      exit(1);
    }
    sqlite3_reset(p);
    if( i%1000==999 || i==n-1 ) benchExec(db, "COMMIT");
  }
  sqlite3_finalize(p);
  return benchNow()-t0;
}

/* DuckDB (@duckdb/node-api from zInterop/node_modules, SET threads=1)
** running zQuery (passed in the environment: no quoting) four times: the
** best of the last three in seconds (node startup and module load
** excluded), or -1 if node or the package is missing or the query fails.
** The first row's columns n and s are stored in *pN and *pSum. */
double benchDuckdb(const char *zInterop, const char *zQuery,
                   long long *pN, long long *pSum){
  char zCmd[2048];
  FILE *f;
  double sec = -1;
  if( setenv("BENCH_DUCKDB_QUERY", zQuery, 1) ) return -1;
  snprintf(zCmd, sizeof(zCmd),
    "cd '%s' && node --input-type=module -e \""
    "import { DuckDBInstance } from '@duckdb/node-api';"
    "const i = await DuckDBInstance.create(':memory:');"
    "const c = await i.connect();"
    "await c.run('SET threads=1');"
    "let best = 1e9, r;"
    "for (let k = 0; k < 4; k++) {"
    "  const t0 = performance.now();"
    "  r = await c.runAndReadAll(process.env.BENCH_DUCKDB_QUERY);"
    "  if (k > 0) best = Math.min(best, performance.now()-t0);"
    "}"
    "const row = r.getRowObjects()[0];"
    "console.log((best/1000).toFixed(4), String(row.n), String(row.s));"
    "\" 2>&1", zInterop);
  f = popen(zCmd, "r");
  if( f==0 ) return -1;
  if( fscanf(f, "%lf %lld %lld", &sec, pN, pSum)!=3 ) sec = -1;
  pclose(f);
  return sec;
}
