/*
** bench_group.c - cost of a consumer-group rebalance as the group grows.
**
**   bench_group EXTENSION_PATH [--quick] [--max-seconds S] [--dir DIR]
**
**   partitions   one topic of 1,000, 10,000 and 100,000 partitions: the
**                first member's join (every partition gets an owner), the
**                second member's join (half the partitions move) and its
**                leave (they move back).
**   members      1,000 members on a 1,000-partition topic: the join of one
**                more member and its leave.  The 1,000 members are
**                written straight into _stream_members (all but the last
**                of them) so that the set-up does not take 1,000
**                rebalances; one real join then computes the assignment.
**
** WAL, synchronous=NORMAL.  A size whose previous step took longer than
** --max-seconds (default 60) is skipped and printed as "-".  Figures are
** the median of 3 runs (1 with --quick); it never fails on a number.
*/
#include <string.h>
#include <unistd.h>
#include "bench.h"

static const char *zExt;
static char zDir[512] = "/tmp";
static double mxSeconds = 60.0;

/* Run zSql and return its duration in ms. */
static double timed(sqlite3 *db, const char *zSql){
  double t0 = benchNow();
  benchExec(db, zSql);
  return (benchNow() - t0)*1000.0;
}

static sqlite3 *openDb(const char *zName){
  char zPath[700], z2[720];
  sqlite3 *db;
  snprintf(zPath, sizeof(zPath), "%s/%s", zDir, zName);
  unlink(zPath);
  snprintf(z2, sizeof(z2), "%s-wal", zPath); unlink(z2);
  snprintf(z2, sizeof(z2), "%s-shm", zPath); unlink(z2);
  if( sqlite3_open(zPath, &db) ){ fprintf(stderr, "open\n"); exit(1); }
  benchExec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  benchLoadExt(db, zExt);
  return db;
}

#define JOIN_OPTS "'{\"session.timeout.ms\":86400000}'"

/* First join, second join, leave of the second: ms each, into a[3]. */
static void onePartitionRun(int nPart, int iRun, double *a){
  sqlite3 *db = openDb("bench-group.db");
  char zSql[300];
  snprintf(zSql, sizeof(zSql), "SELECT stream_create_topic('t', %d)", nPart);
  benchExec(db, zSql);
  snprintf(zSql, sizeof(zSql),
           "SELECT stream_join('g%d', 'a', '[\"t\"]', " JOIN_OPTS ")", iRun);
  a[0] = timed(db, zSql);
  snprintf(zSql, sizeof(zSql),
           "SELECT stream_join('g%d', 'b', '[\"t\"]', " JOIN_OPTS ")", iRun);
  a[1] = timed(db, zSql);
  snprintf(zSql, sizeof(zSql), "SELECT stream_leave('g%d', 'b')", iRun);
  a[2] = timed(db, zSql);
  sqlite3_close(db);
}

/* Join and leave of member 1,001 of a group of nMem members. */
static void oneMemberRun(int nMem, int nPart, double *a){
  sqlite3 *db = openDb("bench-group.db");
  sqlite3_stmt *pIns;
  char zSql[300];
  int i;
  snprintf(zSql, sizeof(zSql), "SELECT stream_create_topic('t', %d)", nPart);
  benchExec(db, zSql);
  /* the schema and the group row, from a real join */
  benchExec(db, "SELECT stream_join('g', 'm0000', '[\"t\"]', " JOIN_OPTS ")");
  benchExec(db, "BEGIN");
  if( sqlite3_prepare_v2(db,
      "INSERT INTO _stream_members SELECT group_id, printf('m%04d', ?1),"
      " 1, topics, options, session_timeout_ms, max_poll_interval_ms,"
      " auto_commit, auto_commit_interval_ms, max_poll_records,"
      " fetch_max_bytes, auto_offset_reset, joined_at+?1, heartbeat_at,"
      " NULL, NULL, 0 FROM _stream_members WHERE member_id='m0000'",
      -1, &pIns, 0) ){
    fprintf(stderr, "%s\n", sqlite3_errmsg(db));
    exit(1);
  }
  for(i=1; i<nMem-1; i++){
    sqlite3_bind_int(pIns, 1, i);
    sqlite3_step(pIns);
    if( sqlite3_reset(pIns) ){
      fprintf(stderr, "%s\n", sqlite3_errmsg(db));
      exit(1);
    }
  }
  sqlite3_finalize(pIns);
  benchExec(db, "COMMIT");
  snprintf(zSql, sizeof(zSql),
           "SELECT stream_join('g', 'm%04d', '[\"t\"]', " JOIN_OPTS ")",
           nMem-1);
  benchExec(db, zSql);              /* computes the assignment of nMem-1 + 1 */
  a[0] = timed(db, "SELECT stream_join('g', 'zz-new', '[\"t\"]', "
                   JOIN_OPTS ")");
  a[1] = timed(db, "SELECT stream_leave('g', 'zz-new')");
  sqlite3_close(db);
}

/* --max-seconds S */
static int groupOpt(const char *zOpt, const char *zVal){
  if( strcmp(zOpt, "--max-seconds")!=0 ) return 0;
  mxSeconds = atof(zVal);
  return 1;
}

int main(int argc, char **argv){
  static const int aPart[] = { 1000, 10000, 100000 };
  int bQuick = 0, i, r, nRep, bSkip = 0;
  zExt = benchEngineArgs(argc, argv, &bQuick, zDir, sizeof(zDir),
                         " [--max-seconds S]", groupOpt);
  nRep = bQuick ? 1 : 3;
  printf("sqlite-stream bench_group: SQLite %s, %d run(s) per size (median)\n\n",
         sqlite3_libversion(), nRep);
  printf("| group | first join ms | second join ms | leave ms |\n"
         "|---|---|---|---|\n");
  for(i=0; i<(int)(sizeof(aPart)/sizeof(aPart[0])); i++){
    double a[3][3], m[3];
    int k;
    if( bSkip ){
      printf("| 1 topic, %d partitions | - | - | - |\n", aPart[i]);
      continue;
    }
    for(r=0; r<nRep; r++) onePartitionRun(aPart[i], r, a[r]);
    for(k=0; k<3; k++){
      double v[3];
      for(r=0; r<nRep; r++) v[r] = a[r][k];
      qsort(v, nRep, sizeof(double), benchCmpDouble);
      m[k] = v[nRep/2];
    }
    printf("| 1 topic, %d partitions | %.1f | %.1f | %.1f |\n",
           aPart[i], m[0], m[1], m[2]);
    fflush(stdout);
    if( m[1]>mxSeconds*1000.0/10 ) bSkip = 1;
  }
  {
    double a[3][2], vJ[3], vL[3];
    for(r=0; r<nRep; r++){
      oneMemberRun(1000, 1000, a[r]);
      vJ[r] = a[r][0];
      vL[r] = a[r][1];
    }
    qsort(vJ, nRep, sizeof(double), benchCmpDouble);
    qsort(vL, nRep, sizeof(double), benchCmpDouble);
    printf("\n| group | join of one more member ms | its leave ms |\n"
           "|---|---|---|\n"
           "| 1,000 members, 1 topic of 1,000 partitions | %.1f | %.1f |\n",
           vJ[nRep/2], vL[nRep/2]);
  }
  return 0;
}
