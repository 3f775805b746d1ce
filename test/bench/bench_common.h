/*
** bench_common.h - helpers shared by the engine benchmarks in test/bench/
** (each is one C file built on its own: the helpers are static).
*/
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Monotonic clock, in seconds. */
static inline double benchNow(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec*1e-9;
}

/* Run zSql; print the error and exit on failure. */
static inline void benchExec(sqlite3 *db, const char *zSql){
  char *zErr = 0;
  if( sqlite3_exec(db, zSql, 0, 0, &zErr)!=SQLITE_OK ){
    fprintf(stderr, "%s: %s\n", zSql, zErr);
    exit(1);
  }
}

/* qsort comparator for doubles (medians). */
static inline int benchCmpDouble(const void *a, const void *b){
  double x = *(const double*)a, y = *(const double*)b;
  return x<y ? -1 : x>y;
}

/* A 100-byte JSON value for message i (z has room for 128 bytes). */
static inline int benchMakeValue(char *z, int i){
  int n = snprintf(z, 128, "{\"id\":%d,\"customer\":\"cust_%06d\","
                   "\"total\":%d.%02d,\"note\":\"", i, i % 1000000,
                   i % 1000, i % 100);
  while( n<98 ) z[n++] = 'x';
  z[n++] = '"'; z[n++] = '}'; z[n] = 0;
  return n;
}

/* The first column of the first row of zSql; print the error and exit if
** there is none. */
static inline long long benchInt1(sqlite3 *db, const char *zSql){
  sqlite3_stmt *p;
  long long v = 0;
  if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)!=SQLITE_OK ){
    fprintf(stderr, "%s: %s\n", zSql, sqlite3_errmsg(db));
    exit(1);
  }
  if( sqlite3_step(p)==SQLITE_ROW ) v = sqlite3_column_int64(p, 0);
  sqlite3_finalize(p);
  return v;
}

/* Produce n messages ("key-<i>", benchMakeValue) into zTopic with
** stream_produce(), in transactions of 1,000; returns seconds. */
static inline double benchProduce(sqlite3 *db, const char *zTopic, int n){
  sqlite3_stmt *p;
  char zKey[32], zVal[128], zSql[128];
  double t0;
  int i;
  snprintf(zSql, sizeof(zSql), "SELECT stream_produce('%s', ?1, ?2)", zTopic);
  if( sqlite3_prepare_v2(db, zSql, -1, &p, 0) ) exit(1);
  t0 = benchNow();
  for(i=0; i<n; i++){
    int nKey = snprintf(zKey, sizeof(zKey), "key-%d", i);
    int nVal = benchMakeValue(zVal, i);
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
** excluded), or -1 if node or the package is missing.  The first row's
** columns n and s are stored in *pN and *pSum. */
static inline double benchDuckdb(const char *zInterop, const char *zQuery,
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

#endif /* BENCH_COMMON_H */
