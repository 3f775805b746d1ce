/*
** bench_produce.c - produce and read throughput of sqlite-stream against
** raw SQLite doing the same work, in the same run, on three raw layouts:
**
**   seed   the seed's DDL as written: a rowid table with PRIMARY KEY
**          (topic, partition, offset) (an automatic index) and the index
**          (topic, partition, timestamp)
**   wr     WITHOUT ROWID, clustered on (topic, partition, offset), no
**          other index
**   ipk    INTEGER PRIMARY KEY id = (partition << 40) | offset, no other
**          index (an integer-keyed append, the value inline)
**   packed (shown for information, not a baseline of the ratio) the ipk
**          key with up to 16 messages of one partition and transaction in
**          one row, as Kafka's record batches: what sharing rows could
**          buy (the application packs and unpacks them itself)
**
**   bench_produce EXTENSION_PATH [--quick] [--dir DIR] [--only S:W:N]
**
** --reads-only 1 runs the read rows alone; --clock cpu times by the
** process's CPU time instead of the wall clock (a shared machine).
** --only SYSTEM:WORKLOAD:SIZE (e.g. stream:read:100, ipk:single:1024)
** runs one workload of one system once (a read prints its time to
** stderr), for an instruction count that noise does not move:
**   valgrind --tool=callgrind --toggle-collect=produce \
**     bench/bench_produce ./stream0.so --quick --only stream:batch:100
** (--toggle-collect=readAll for read, pollAll for read-poll), divided by
** the messages (--quick: batch 30,000, single 3,000, read 100,000).
** For the stream it then prints how the hot log was laid out (rows,
** record batch rows, messages a row, pages by type) to stderr.
**
** Workloads, at 100-byte and 1 KiB JSON values (8 partitions, WAL,
** synchronous=NORMAL, keyed messages, murmur2 partitions):
**   batch    1,000 messages a transaction: SELECT stream_produce() vs a
**            prepared INSERT (the application computing partition, offset
**            and timestamp itself)
**   single   one message a transaction, same comparison
**   read     every message read back partition by partition: the range
**            SELECT on stream_messages vs the same SELECT on each raw
**            layout (and on ceil_messages, the vtab column); and a consumer group polling stream_poll() (1,000 a
**            poll, no commit) through the same rows
** Each measurement is repeated (systems alternating) and the median
** reported; the ratio is sqlite-stream / the fastest raw layout of that
** workload (higher is better); vtab/ipk is the ceiling table's rate over
** ipk's, the best any virtual table could do (read-poll repeats the read
** row's vtab figures beside the poll).  It prints figures; it never fails on a
** number.
*/
#include <sqlite3.h>
#include "bench.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NPART 8

/* --clock cpu: time by the process's CPU time (user + system), which a
** machine shared with other work disturbs less than the wall clock. */
static int bCpuClock = 0;
static double benchClock(void){
  return bCpuClock ? benchSelfCpu() : benchNow();
}
/* Kept out of line, so that callgrind's --toggle-collect finds them. */
#if defined(__GNUC__)
# define NOINLINE __attribute__((noinline))
#else
# define NOINLINE
#endif
#define NREP_MAX 9

static const char *zExt;
static char zDir[512] = "/tmp";

/* Systems: the three raw layouts and the extension. */
#define SYS_SEED   0
#define SYS_WR     1
#define SYS_IPK    2
#define SYS_STREAM 3
#define SYS_PACK   4
#define SYS_VTAB   5
#define NSYS       6
static const char *const azSys[NSYS] = {
  "seed", "wr", "ipk", "stream", "packed", "vtab" };
#define PACK_N 16              /* messages a packed row holds at most */

static const char *const azDdl[3] = {
  BENCH_SEED_DDL,
  "CREATE TABLE stream_messages("
  " topic TEXT NOT NULL, partition INTEGER NOT NULL,"
  " offset INTEGER NOT NULL, key TEXT, value JSON NOT NULL,"
  " headers JSON, timestamp INTEGER NOT NULL,"
  " PRIMARY KEY (topic, partition, offset)) WITHOUT ROWID;",
  "CREATE TABLE stream_messages(id INTEGER PRIMARY KEY, key TEXT,"
  " value JSON NOT NULL, headers JSON, timestamp INTEGER NOT NULL);",
};
static const char zPackDdl[] =
  "CREATE TABLE stream_messages(id INTEGER PRIMARY KEY, n INTEGER NOT NULL,"
  " body BLOB NOT NULL);";

/*
** ceil_messages: the ceiling of a virtual table over the ipk layout.  The
** columns are the stream's (topic, partition, offset, key, value, headers,
** timestamp); xBestIndex takes topic =, partition = and offset >= (the
** read's plan), consumes ORDER BY offset; xFilter runs one prepared range
** SELECT over the ipk table; xColumn copies the inner statement's column
** straight into the result (SQLITE_TRANSIENT), nothing else.
*/
typedef struct CeilTab CeilTab;
struct CeilTab {
  sqlite3_vtab base;
  sqlite3 *db;
};
typedef struct CeilCur CeilCur;
struct CeilCur {
  sqlite3_vtab_cursor base;
  sqlite3_stmt *pStmt;         /* id, key, value, headers, timestamp */
  int bEof;
  long long iPart;
};

static int ceilConnect(sqlite3 *db, void *pAux, int argc,
                       const char *const *argv, sqlite3_vtab **ppVtab,
                       char **pzErr){
  CeilTab *p;
  int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(topic TEXT,"
      " partition INTEGER, offset INTEGER, key, value, headers TEXT,"
      " timestamp INTEGER)");
  (void)pAux; (void)argc; (void)argv; (void)pzErr;
  if( rc ) return rc;
  p = sqlite3_malloc(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  *ppVtab = &p->base;
  return SQLITE_OK;
}

static int ceilDisconnect(sqlite3_vtab *p){
  sqlite3_free(p);
  return SQLITE_OK;
}

/* idxNum 1: partition = ? and offset >= ? given (argv 1, 2), topic = ?
** (argv 3, checked once in xFilter); else a full scan is refused. */
static int ceilBestIndex(sqlite3_vtab *p, sqlite3_index_info *pInfo){
  int i, iTopic = -1, iPart = -1, iOff = -1;
  (void)p;
  for(i=0; i<pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *pC = &pInfo->aConstraint[i];
    if( !pC->usable ) continue;
    if( pC->iColumn==0 && pC->op==SQLITE_INDEX_CONSTRAINT_EQ ) iTopic = i;
    if( pC->iColumn==1 && pC->op==SQLITE_INDEX_CONSTRAINT_EQ ) iPart = i;
    if( pC->iColumn==2 && pC->op==SQLITE_INDEX_CONSTRAINT_GE ) iOff = i;
  }
  if( iTopic<0 || iPart<0 || iOff<0 ){
    pInfo->estimatedCost = 1e12;
    return SQLITE_OK;
  }
  pInfo->aConstraintUsage[iPart].argvIndex = 1;
  pInfo->aConstraintUsage[iOff].argvIndex = 2;
  pInfo->aConstraintUsage[iTopic].argvIndex = 3;
  pInfo->aConstraintUsage[iPart].omit = 1;
  pInfo->aConstraintUsage[iOff].omit = 1;
  pInfo->aConstraintUsage[iTopic].omit = 1;
  if( pInfo->nOrderBy==1 && pInfo->aOrderBy[0].iColumn==2
   && !pInfo->aOrderBy[0].desc ){
    pInfo->orderByConsumed = 1;
  }
  pInfo->idxNum = 1;
  pInfo->estimatedCost = 10;
  return SQLITE_OK;
}

static int ceilOpen(sqlite3_vtab *p, sqlite3_vtab_cursor **pp){
  CeilCur *pCur = sqlite3_malloc(sizeof(*pCur));
  (void)p;
  if( pCur==0 ) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  pCur->bEof = 1;
  *pp = &pCur->base;
  return SQLITE_OK;
}

static int ceilClose(sqlite3_vtab_cursor *cur){
  sqlite3_finalize(((CeilCur*)cur)->pStmt);
  sqlite3_free(cur);
  return SQLITE_OK;
}

static int ceilNext(sqlite3_vtab_cursor *cur){
  CeilCur *pCur = (CeilCur*)cur;
  int rc = sqlite3_step(pCur->pStmt);
  if( rc==SQLITE_ROW ) return SQLITE_OK;
  pCur->bEof = 1;
  rc = sqlite3_reset(pCur->pStmt);
  return rc;
}

static int ceilFilter(sqlite3_vtab_cursor *cur, int idxNum,
                      const char *idxStr, int argc, sqlite3_value **argv){
  CeilCur *pCur = (CeilCur*)cur;
  const unsigned char *zTopic;
  (void)idxStr; (void)argc;
  pCur->bEof = 1;
  if( idxNum!=1 ) return SQLITE_ERROR;
  zTopic = sqlite3_value_text(argv[2]);
  if( zTopic==0 || strcmp((const char*)zTopic, "bench")!=0 ) return SQLITE_OK;
  if( pCur->pStmt==0 ){
    int rc = sqlite3_prepare_v3(((CeilTab*)cur->pVtab)->db, "SELECT id,"
        " key, value, headers, timestamp FROM stream_messages"
        " WHERE id>=(?1<<40)+?2 AND id<((?1+1)<<40) ORDER BY id", -1,
        SQLITE_PREPARE_PERSISTENT, &pCur->pStmt, 0);
    if( rc ) return rc;
  }
  pCur->iPart = sqlite3_value_int64(argv[0]);
  sqlite3_bind_int64(pCur->pStmt, 1, pCur->iPart);
  sqlite3_bind_value(pCur->pStmt, 2, argv[1]);
  pCur->bEof = 0;
  return ceilNext(cur);
}

static int ceilEof(sqlite3_vtab_cursor *cur){
  return ((CeilCur*)cur)->bEof;
}

static int ceilColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx,
                      int iCol){
  sqlite3_stmt *p = ((CeilCur*)cur)->pStmt;
  switch( iCol ){
    case 0:
      sqlite3_result_text(ctx, "bench", 5, SQLITE_STATIC);
      break;
    case 1:
      sqlite3_result_int64(ctx, ((CeilCur*)cur)->iPart);
      break;
    case 2:
      sqlite3_result_int64(ctx, sqlite3_column_int64(p, 0) & 0xffffffffffLL);
      break;
    case 6:
      sqlite3_result_int64(ctx, sqlite3_column_int64(p, 4));
      break;
    default: {
      /* key 1, value 2, headers 3: one sqlite3_column_value() (one mutex
      ** round), then the value accessors (none) */
      sqlite3_value *pVal = sqlite3_column_value(p, iCol-2);
      const unsigned char *z = sqlite3_value_text(pVal);
      if( z ){
        sqlite3_result_text(ctx, (const char*)z, sqlite3_value_bytes(pVal),
                            SQLITE_TRANSIENT);
      }
      break;
    }
  }
  return SQLITE_OK;
}

static int ceilRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *piRowid){
  *piRowid = sqlite3_column_int64(((CeilCur*)cur)->pStmt, 0);
  return SQLITE_OK;
}

static const sqlite3_module ceilModule = {
  .xConnect = ceilConnect, .xBestIndex = ceilBestIndex,
  .xDisconnect = ceilDisconnect, .xOpen = ceilOpen, .xClose = ceilClose,
  .xFilter = ceilFilter, .xNext = ceilNext, .xEof = ceilEof,
  .xColumn = ceilColumn, .xRowid = ceilRowid,
};

static void dbPath(char *zPath, int n, int eSys){
  snprintf(zPath, n, "%s/bench-produce-%s.db", zDir, azSys[eSys]);
}

static sqlite3 *openDb(int eSys){
  char zPath[700], z2[720];
  sqlite3 *db;
  dbPath(zPath, sizeof(zPath), eSys);
  unlink(zPath);
  snprintf(z2, sizeof(z2), "%s-wal", zPath); unlink(z2);
  snprintf(z2, sizeof(z2), "%s-shm", zPath); unlink(z2);
  benchCheck(0, sqlite3_open(zPath, &db), "open");
  benchExec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  if( eSys==SYS_STREAM ){
    benchLoadExt(db, zExt);
    /* hot only: the warm tier has its own benchmark (bench_tier) */
    benchExec(db, "SELECT stream_create_topic('bench', 8,"
             " '{\"hot.retention.messages\":-1,\"hot.retention.ms\":-1}')");
  }else{
    benchExec(db, eSys==SYS_PACK ? zPackDdl
                  : azDdl[eSys==SYS_VTAB ? SYS_IPK : eSys]);
    if( eSys==SYS_VTAB ){
      benchCheck(db, sqlite3_create_module(db, "ceil_messages", &ceilModule,
                                           0), "create module");
    }
  }
  return db;
}

static void removeDb(int eSys){
  char zPath[700], z2[720];
  dbPath(zPath, sizeof(zPath), eSys);
  unlink(zPath);
  snprintf(z2, sizeof(z2), "%s-wal", zPath); unlink(z2);
  snprintf(z2, sizeof(z2), "%s-shm", zPath); unlink(z2);
}

/* The JSON value of message i, of nSize bytes (100 or 1024). */
static int makeValue(char *z, int nSize, int i){
  if( nSize<=100 ) return benchValue100(z, i);
  return benchMakeValue(z, nSize+1, i, 1700000000000000000LL + i);
}

/* The packed rows being filled, one per partition. */
typedef struct Pack Pack;
struct Pack {
  char *a;                     /* Body: (u32 key len, key, u32 value len,
                               ** value, i64 timestamp) per message */
  int n, nMsg;                 /* Bytes and messages in a */
  long long iFirst;            /* Offset of the first message */
};

/* Write partition iPart's packed row, if it holds any message. */
static void packFlush(sqlite3 *db, sqlite3_stmt *p, Pack *pk, int iPart){
  if( pk->nMsg==0 ) return;
  sqlite3_bind_int64(p, 1, ((long long)iPart<<40) | pk->iFirst);
  sqlite3_bind_int(p, 2, pk->nMsg);
  sqlite3_bind_blob(p, 3, pk->a, pk->n, SQLITE_STATIC);
  benchCheck(db, sqlite3_step(p), "insert packed");
  sqlite3_reset(p);
  pk->n = pk->nMsg = 0;
}

static void packAdd(Pack *pk, long long iOff, const char *zKey, int nKey,
                    const char *zVal, int nVal, long long iTs){
  unsigned int u;
  if( pk->nMsg==0 ) pk->iFirst = iOff;
  u = (unsigned)nKey; memcpy(&pk->a[pk->n], &u, 4); pk->n += 4;
  memcpy(&pk->a[pk->n], zKey, nKey); pk->n += nKey;
  u = (unsigned)nVal; memcpy(&pk->a[pk->n], &u, 4); pk->n += 4;
  memcpy(&pk->a[pk->n], zVal, nVal); pk->n += nVal;
  memcpy(&pk->a[pk->n], &iTs, 8); pk->n += 8;
  pk->nMsg++;
}

/* Produce n messages of nSize-byte values in transactions of nBatch
** messages into system eSys; returns seconds. */
static NOINLINE double produce(sqlite3 *db, int eSys, int n, int nBatch,
                               int nSize){
  sqlite3_stmt *p;
  char zKey[32], *zVal = malloc(nSize+32);
  long long aNext[NPART] = {0};
  double t0;
  int i;
  static const char *const azIns[NSYS] = {
    "INSERT INTO stream_messages(topic, partition, offset, key, value,"
    " headers, timestamp) VALUES('bench', ?1, ?2, ?3, ?4, NULL, ?5)",
    "INSERT INTO stream_messages(topic, partition, offset, key, value,"
    " headers, timestamp) VALUES('bench', ?1, ?2, ?3, ?4, NULL, ?5)",
    "INSERT INTO stream_messages(id, key, value, headers, timestamp)"
    " VALUES((?1<<40)|?2, ?3, ?4, NULL, ?5)",
    "SELECT stream_produce('bench', ?3, ?4)",
    "INSERT INTO stream_messages(id, n, body) VALUES(?1, ?2, ?3)",
    "INSERT INTO stream_messages(id, key, value, headers, timestamp)"
    " VALUES((?1<<40)|?2, ?3, ?4, NULL, ?5)",
  };
  Pack aPack[NPART];
  if( zVal==0 ) benchFatal("out of memory");
  memset(aPack, 0, sizeof(aPack));
  for(i=0; eSys==SYS_PACK && i<NPART; i++){
    aPack[i].a = malloc(PACK_N*(nSize+64));
    if( aPack[i].a==0 ) benchFatal("out of memory");
  }
  benchCheck(db, sqlite3_prepare_v2(db, azIns[eSys], -1, &p, 0), "prepare");
  t0 = benchClock();
  for(i=0; i<n; i++){
    int nKey = snprintf(zKey, sizeof(zKey), "key-%d", i);
    int nVal = makeValue(zVal, nSize, i);
    if( i%nBatch==0 ) benchExec(db, "BEGIN");
    if( eSys==SYS_PACK ){
      int iPart = benchPartition(zKey, nKey, NPART), j;
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      packAdd(&aPack[iPart], aNext[iPart]++, zKey, nKey, zVal, nVal,
              ts.tv_sec*1000LL + ts.tv_nsec/1000000);
      if( aPack[iPart].nMsg==PACK_N ) packFlush(db, p, &aPack[iPart], iPart);
      if( i%nBatch==nBatch-1 || i==n-1 ){
        for(j=0; j<NPART; j++) packFlush(db, p, &aPack[j], j);
        benchExec(db, "COMMIT");
      }
      continue;
    }
    if( eSys!=SYS_STREAM ){
      /* the application's own partitioner, offsets and clock */
      int iPart = benchPartition(zKey, nKey, NPART);
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      sqlite3_bind_int(p, 1, iPart);
      sqlite3_bind_int64(p, 2, aNext[iPart]++);
      sqlite3_bind_int64(p, 5, ts.tv_sec*1000LL + ts.tv_nsec/1000000);
    }
    sqlite3_bind_text(p, 3, zKey, nKey, SQLITE_STATIC);
    sqlite3_bind_text(p, 4, zVal, nVal, SQLITE_STATIC);
    benchCheck(db, sqlite3_step(p), "produce");
    sqlite3_reset(p);
    if( i%nBatch==nBatch-1 || i==n-1 ) benchExec(db, "COMMIT");
  }
  t0 = benchClock()-t0;
  sqlite3_finalize(p);
  free(zVal);
  for(i=0; i<NPART; i++) free(aPack[i].a);
  return t0;
}

/* Read every message partition by partition (a range scan); returns
** seconds.  *pnRow counts the rows. */
static NOINLINE double readAll(sqlite3 *db, int eSys, long long *pnRow){
  sqlite3_stmt *p;
  double t0 = benchClock();
  long long nByte = 0;
  int iPart;
  *pnRow = 0;
  benchCheck(db, sqlite3_prepare_v2(db, eSys==SYS_PACK ?
      "SELECT id&0xffffffffff, n, body FROM stream_messages"
      " WHERE id>=(?1<<40)+?2 AND id<((?1+1)<<40) ORDER BY id" :
      eSys==SYS_IPK ?
      "SELECT id&0xffffffffff, key, value, timestamp FROM stream_messages"
      " WHERE id>=(?1<<40)+?2 AND id<((?1+1)<<40) ORDER BY id" :
      eSys==SYS_VTAB ?
      "SELECT offset, key, value, timestamp FROM ceil_messages"
      " WHERE topic='bench' AND partition=?1 AND offset>=?2 ORDER BY offset" :
      "SELECT offset, key, value, timestamp FROM stream_messages"
      " WHERE topic='bench' AND partition=?1 AND offset>=?2 ORDER BY offset",
      -1, &p, 0), "prepare read");
  for(iPart=0; iPart<NPART; iPart++){
    sqlite3_bind_int(p, 1, iPart);
    sqlite3_bind_int64(p, 2, 0);
    while( sqlite3_step(p)==SQLITE_ROW ){
      if( eSys==SYS_PACK ){
        /* unpack: each message's offset, key, value and timestamp */
        const unsigned char *a = sqlite3_column_blob(p, 2);
        int nMsg = sqlite3_column_int(p, 1), j, k = 0;
        long long iOff = sqlite3_column_int64(p, 0), iTs;
        for(j=0; j<nMsg; j++){
          unsigned int nK, nV;
          memcpy(&nK, &a[k], 4); k += 4 + nK;
          memcpy(&nV, &a[k], 4); k += 4 + nV;
          memcpy(&iTs, &a[k], 8); k += 8;
          nByte += nK + nV + (iTs>0) + (iOff+j>=0);
          (*pnRow)++;
        }
        continue;
      }
      (*pnRow)++;
      nByte += sqlite3_column_bytes(p, 2) + sqlite3_column_bytes(p, 1);
      (void)sqlite3_column_int64(p, 0);
      (void)sqlite3_column_int64(p, 3);
    }
    sqlite3_reset(p);
  }
  sqlite3_finalize(p);
  if( nByte==0 ) benchFatal("read no bytes");
  return benchClock()-t0;
}

/* A fresh consumer group polls every message (1,000 a poll, no commit);
** returns seconds. */
static NOINLINE double pollAll(sqlite3 *db, int iRun, long long *pnRow){
  sqlite3_stmt *p;
  char zSql[300], zGroup[32];
  double t0;
  snprintf(zGroup, sizeof(zGroup), "g%d", iRun);
  snprintf(zSql, sizeof(zSql), "SELECT stream_join('%s', 'm', '[\"bench\"]',"
           " '{\"auto.offset.reset\":\"earliest\",\"enable.auto.commit\":false,"
           "\"max.poll.records\":1000}')", zGroup);
  benchExec(db, zSql);
  benchCheck(db, sqlite3_prepare_v2(db, "SELECT offset, key, value, timestamp"
      " FROM stream_poll(?1, 'm', 1000)", -1, &p, 0), "prepare poll");
  sqlite3_bind_text(p, 1, zGroup, -1, SQLITE_STATIC);
  *pnRow = 0;
  t0 = benchClock();
  for(;;){
    int nGot = 0, rc;
    while( (rc = sqlite3_step(p))==SQLITE_ROW ){
      (void)sqlite3_column_int64(p, 0);
      (void)sqlite3_column_bytes(p, 1);
      (void)sqlite3_column_bytes(p, 2);
      (void)sqlite3_column_int64(p, 3);
      nGot++;
    }
    benchCheck(db, rc==SQLITE_DONE ? SQLITE_OK : rc, "poll");
    sqlite3_reset(p);
    if( nGot==0 ) break;
    *pnRow += nGot;
  }
  t0 = benchClock()-t0;
  sqlite3_finalize(p);
  snprintf(zSql, sizeof(zSql), "SELECT stream_leave('%s', 'm')", zGroup);
  benchExec(db, zSql);
  return t0;
}

/* One table row: medians of aT[eSys][rep] as msg/s, the ratio of the
** stream to the fastest raw layout; with bVtab the ceiling table's rate
** and its ratio to ipk (read rows only). */
static void report(const char *zWork, int nSize, int n,
                   double aT[NSYS][NREP_MAX], int nRep, int bVtab){
  double aRate[NSYS], best = 0;
  char zVtab[48];
  int e, eBest = 0;
  for(e=0; e<NSYS; e++){
    aRate[e] = (e==SYS_VTAB && !bVtab) ? 0 : n/benchMedian(aT[e], nRep);
    if( e<SYS_STREAM && aRate[e]>best ){ best = aRate[e]; eBest = e; }
  }
  if( bVtab ){
    snprintf(zVtab, sizeof(zVtab), "%9.0f | %8.2f", aRate[SYS_VTAB],
             aRate[SYS_VTAB]/aRate[SYS_IPK]);
  }else{
    snprintf(zVtab, sizeof(zVtab), "%9s | %8s", "-", "-");
  }
  printf("| %-11s | %5d | %9d | %9.0f | %9.0f | %9.0f | %9.0f | %-4s | %5.2f"
         " | %9.0f | %s |\n",
         zWork, nSize, n, aRate[SYS_SEED], aRate[SYS_WR], aRate[SYS_IPK],
         aRate[SYS_STREAM], azSys[eBest], aRate[SYS_STREAM]/best,
         aRate[SYS_PACK], zVtab);
  fflush(stdout);
}

/* --only SYSTEM:WORKLOAD:SIZE; --reads-only 1; --clock cpu */
static char zOnly[64];
static int bReadsOnly = 0;
static int onlyOpt(const char *zOpt, const char *zVal){
  if( strcmp(zOpt, "--reads-only")==0 ){
    bReadsOnly = atoi(zVal)!=0;
    return 1;
  }
  if( strcmp(zOpt, "--clock")==0 ){
    if( strcmp(zVal, "cpu")!=0 && strcmp(zVal, "wall")!=0 ){
      benchFatal("--clock wants cpu or wall, got %s", zVal);
    }
    bCpuClock = zVal[0]=='c';
    return 1;
  }
  if( strcmp(zOpt, "--only")!=0 ) return 0;
  snprintf(zOnly, sizeof(zOnly), "%s", zVal);
  return 1;
}

/* How the stream's hot log was laid out (to stderr): rows, record batch
** rows, messages a row, and pages (dbstat, if this SQLite has it). */
static void logLayout(sqlite3 *db){
  sqlite3_stmt *p;
  if( sqlite3_prepare_v2(db, "SELECT count(*), sum(attrs&8>0),"
        " sum(CASE WHEN attrs&8 THEN (key&255)+1 ELSE 1 END),"
        " (SELECT group_concat(pagetype||' '||n, ', ') FROM"
        "  (SELECT pagetype, count(*) AS n FROM dbstat"
        "   WHERE name='_stream_log' GROUP BY 1))"
        " FROM _stream_log", -1, &p, 0)!=SQLITE_OK ){
    sqlite3_prepare_v2(db, "SELECT count(*), sum(attrs&8>0),"
        " sum(CASE WHEN attrs&8 THEN (key&255)+1 ELSE 1 END), 'no dbstat'"
        " FROM _stream_log", -1, &p, 0);
  }
  if( p && sqlite3_step(p)==SQLITE_ROW ){
    fprintf(stderr, "_stream_log: %lld rows, %lld batch rows, %.2f messages"
        " a row; pages: %s\n", sqlite3_column_int64(p, 0),
        sqlite3_column_int64(p, 1), sqlite3_column_int64(p, 0) ?
        (double)sqlite3_column_int64(p, 2)/sqlite3_column_int64(p, 0) : 0.0,
        (const char*)sqlite3_column_text(p, 3));
  }
  sqlite3_finalize(p);
}

/* Run the workload zOnly names once. */
static int runOnly(int nBatchMsgs, int nSingle, int nRead){
  char zSys[16], zWork[16];
  int nSize = 0, e;
  long long nRow = 0;
  sqlite3 *db;
  if( sscanf(zOnly, "%15[^:]:%15[^:]:%d", zSys, zWork, &nSize)!=3 ){
    benchFatal("--only wants SYSTEM:WORKLOAD:SIZE, got %s", zOnly);
  }
  for(e=0; e<NSYS && strcmp(azSys[e], zSys)!=0; e++){}
  if( e==NSYS ) benchFatal("no system %s", zSys);
  db = openDb(e);
  if( strcmp(zWork, "batch")==0 ){
    produce(db, e, nBatchMsgs, 1000, nSize);
  }else if( strcmp(zWork, "single")==0 ){
    produce(db, e, nSingle, 1, nSize);
  }else if( strcmp(zWork, "read")==0 || strcmp(zWork, "read-poll")==0 ){
    double t;
    produce(db, e, nRead, 10000, nSize);
    if( zWork[4] ){
      if( e!=SYS_STREAM ) benchFatal("read-poll is the stream's only");
      t = pollAll(db, 0, &nRow);
    }else{
      t = readAll(db, e, &nRow);
    }
    if( nRow!=nRead ) benchFatal("%s read %lld rows", zSys, nRow);
    /* Its time too (one run: for A/B runs of two builds, not a figure). */
    fprintf(stderr, "%s: %lld messages in %.4f s (%s)\n", zOnly, nRow, t,
            bCpuClock ? "process CPU time" : "wall clock");
  }else{
    benchFatal("no workload %s", zWork);
  }
  if( e==SYS_STREAM ) logLayout(db);
  sqlite3_close(db);
  removeDb(e);
  return 0;
}

int main(int argc, char **argv){
  static const int aSize[2] = { 100, 1024 };
  int bQuick = 0, nRep, iSize;
  int nBatchMsgs, nSingle, nRead;
  double aT[NSYS][NREP_MAX];
  double aPoll[NREP_MAX];
  zExt = benchEngineArgs(argc, argv, &bQuick, zDir, sizeof(zDir),
                         " [--only SYSTEM:WORKLOAD:SIZE] [--reads-only 1]"
                         " [--clock cpu|wall]", onlyOpt);
  nRep = bQuick ? 3 : 5;
  nBatchMsgs = bQuick ? 30000 : 100000;
  nSingle = bQuick ? 3000 : 10000;
  nRead = bQuick ? 100000 : 300000;
  if( zOnly[0] ) return runOnly(nBatchMsgs, nSingle, nRead);

  printf("sqlite-stream bench_produce: SQLite %s, %s mode, %d repetitions"
         " (medians, msg/s%s)\n\n", sqlite3_libversion(),
         bQuick ? "quick" : "full", nRep,
         bCpuClock ? " of process CPU time" : "");
  printf("| workload    | value |  messages |      seed |        wr |"
         "       ipk |    stream | best | ratio |    packed |"
         "      vtab | vtab/ipk |\n");
  printf("|-------------|-------|-----------|-----------|-----------|"
         "-----------|-----------|------|-------|-----------|"
         "-----------|----------|\n");

  for(iSize=0; iSize<2; iSize++){
    int nSize = aSize[iSize];
    int i, e;
    for(i=0; i<nRep && !bReadsOnly; i++){
      for(e=0; e<SYS_VTAB; e++){
        sqlite3 *db = openDb(e);
        aT[e][i] = produce(db, e, nBatchMsgs, 1000, nSize);
        sqlite3_close(db);
      }
    }
    if( !bReadsOnly ) report("batch", nSize, nBatchMsgs, aT, nRep, 0);
    for(i=0; i<nRep && !bReadsOnly; i++){
      for(e=0; e<SYS_VTAB; e++){
        sqlite3 *db = openDb(e);
        aT[e][i] = produce(db, e, nSingle, 1, nSize);
        sqlite3_close(db);
      }
    }
    if( !bReadsOnly ) report("single", nSize, nSingle, aT, nRep, 0);
    {
      sqlite3 *aDb[NSYS];
      long long nRow;
      for(e=0; e<NSYS; e++){
        aDb[e] = openDb(e);
        produce(aDb[e], e, nRead, 10000, nSize);
      }
      for(i=0; i<nRep; i++){
        for(e=0; e<NSYS; e++){
          aT[e][i] = readAll(aDb[e], e, &nRow);
          if( nRow!=nRead ) benchFatal("%s read %lld rows", azSys[e], nRow);
        }
        aPoll[i] = pollAll(aDb[SYS_STREAM], i, &nRow);
        if( nRow!=nRead ) benchFatal("poll read %lld rows", nRow);
      }
      report("read", nSize, nRead, aT, nRep, 1);
      memcpy(aT[SYS_STREAM], aPoll, sizeof(aPoll));
      report("read-poll", nSize, nRead, aT, nRep, 1);
      for(e=0; e<NSYS; e++){
        sqlite3_close(aDb[e]);
        removeDb(e);
      }
    }
  }
  return 0;
}
