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

#endif /* BENCH_COMMON_H */
