/*
** test_threads.c - several threads producing and consuming on one WAL
** database file, one connection each, in SQLite's serialized
** (SQLITE_OPEN_FULLMUTEX) and multi-thread (SQLITE_OPEN_NOMUTEX) modes,
** each with busy_timeout 5000 and with busy_timeout 0.
**
** Linked statically against libsqlitestream.a; every connection calls
** sqlite3_stream_init() itself.  Per run:
**
**   - NPROD producer threads write NMSG messages each, in batches of 1..8
**     inside BEGIN IMMEDIATE ... COMMIT (stream_produce and INSERT INTO
**     stream_messages alternately), and mark each message acknowledged
**     once COMMIT has returned;
**   - in serialized mode, two more threads share ONE connection and
**     produce NSHARED messages each with autocommit stream_produce();
**   - NCONS consumer threads, members of one group, poll and write each
**     record into table consumed and stream_commit_sync, in one
**     BEGIN IMMEDIATE transaction, until every message is consumed.
**
** A call that fails with SQLITE_BUSY (any extended code) is rolled back
** and retried; any other error fails the test.  Afterwards: integrity_check
** is ok; the topic holds exactly the acknowledged messages, once each;
** consumed holds each exactly once; committed offsets are the high
** watermarks.  A run that does not finish within 300 s is a hang: alarm()
** ends the process (a failure for the runner).
**
** With STREAM_TEST_S3_DB set (test/s3_read.test: a database whose topic
** sr is in a warm s3:// store behind test/s3proxy.mjs), only the reads
** of that store from several threads run instead (s3Threads): the
** process-wide list of parked connections (ext/http.c) under threads,
** scans stopped with their GETs in flight, a scan moved between threads,
** and fork().
**
** The last line printed is "N passed, N failed"; the exit code is non-zero
** if anything failed.
*/
#include "streamInt.h"
#include <pthread.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NPROD    3
#define NCONS    2
#define NSHARED  2
#define NMSG     200
#define NTOTAL_MAX (NPROD*NMSG + NSHARED*NMSG)

static const char *zDbFile = "test_threads.db";

static pthread_mutex_t mFail = PTHREAD_MUTEX_INITIALIZER;
#define UNIT_CHECK_LOCK()   pthread_mutex_lock(&mFail)
#define UNIT_CHECK_UNLOCK() pthread_mutex_unlock(&mFail)
#include "unit_check.h"

static void checkInt(long long iGot, long long iWant, const char *zTest){
  char zDetail[200];
  snprintf(zDetail, sizeof(zDetail), "got %lld, want %lld", iGot, iWant);
  check(iGot==iWant, zTest, zDetail);
}

typedef struct Run Run;
struct Run {
  int flags;                   /* SQLITE_OPEN_FULLMUTEX or _NOMUTEX */
  int busyMs;                  /* busy_timeout of every connection */
  const char *zName;           /* For messages */
  int nTotal;                  /* Messages to be produced in all */
  sqlite3 *dbShared;           /* Connection of the shared producers */
  unsigned char aAck[NTOTAL_MAX];  /* Acknowledged, by message number */
  int nBusy;                   /* SQLITE_BUSY answers retried */
  pthread_mutex_t mu;          /* Guards nBusy */
};

typedef struct Worker Worker;
struct Worker {
  Run *pRun;
  int iThread;                 /* Producer/consumer number */
  int iFirst;                  /* First message number (producers) */
  int nMsg;                    /* Messages to produce */
  sqlite3 *db;                 /* Own connection (or the shared one) */
};

static sqlite3 *openConn(Run *pRun){
  sqlite3 *db = 0;
  char *zErr = 0;
  int rc = sqlite3_open_v2(zDbFile, &db,
      SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE|pRun->flags, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_stream_init(db, &zErr, 0);
  if( rc==SQLITE_OK ){
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, pRun->busyMs);
    return db;
  }
  check(0, "open", zErr ? zErr : (db ? sqlite3_errmsg(db) : "no memory"));
  sqlite3_free(zErr);
  sqlite3_close(db);
  return 0;
}

static int isBusy(int rc){
  return (rc&0xff)==SQLITE_BUSY || (rc&0xff)==SQLITE_LOCKED;
}

static void noteBusy(Run *pRun){
  pthread_mutex_lock(&pRun->mu);
  pRun->nBusy++;
  pthread_mutex_unlock(&pRun->mu);
  usleep(100 + (unsigned)(rand() % 500));
}

/* Run SQL without results; returns the result code. */
static int execSql(sqlite3 *db, const char *zSql){
  return sqlite3_exec(db, zSql, 0, 0, 0);
}

/* Report a failure that is not SQLITE_BUSY; returns 1 if it was one. */
static int hardError(sqlite3 *db, int rc, const char *zWhat, Run *pRun){
  char zDetail[600];
  if( rc==SQLITE_OK || isBusy(rc) ) return 0;
  snprintf(zDetail, sizeof(zDetail), "%s: %s: rc=%d %s", pRun->zName, zWhat,
           rc, sqlite3_errmsg(db));
  check(0, "error", zDetail);
  return 1;
}

/* Produce messages iFirst..iFirst+nMsg-1 in transactions of 1..8. */
static void *producerMain(void *pArg){
  Worker *pW = (Worker*)pArg;
  Run *pRun = pW->pRun;
  sqlite3 *db = pW->db;
  sqlite3_stmt *pFunc = 0, *pIns = 0;
  unsigned int seed = (unsigned)pW->iThread * 7919u + 1u;
  int i = 0, rc;
  rc = sqlite3_prepare_v2(db,
      "SELECT stream_produce('q', ?1, json_object('id', ?2))", -1, &pFunc, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_prepare_v2(db,
      "INSERT INTO stream_messages(topic, key, value)"
      " VALUES('q', NULL, json_object('id', ?2))", -1, &pIns, 0);
  if( hardError(db, rc, "prepare", pRun) ) goto done;
  while( i<pW->nMsg ){
    int n = 1 + (int)(rand_r(&seed) % 8), j;
    if( n>pW->nMsg-i ) n = pW->nMsg - i;
    rc = execSql(db, "BEGIN IMMEDIATE");
    for(j=0; rc==SQLITE_OK && j<n; j++){
      int iMsg = pW->iFirst + i + j;
      char zKey[32];
      sqlite3_stmt *pS = (iMsg & 1) ? pIns : pFunc;
      snprintf(zKey, sizeof(zKey), "k%d", iMsg);
      sqlite3_bind_text(pS, 1, zKey, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(pS, 2, iMsg);
      rc = sqlite3_step(pS);
      if( rc==SQLITE_ROW || rc==SQLITE_DONE ) rc = SQLITE_OK;
      sqlite3_reset(pS);
    }
    if( rc==SQLITE_OK ) rc = execSql(db, "COMMIT");
    if( rc==SQLITE_OK ){
      for(j=0; j<n; j++) pRun->aAck[pW->iFirst + i + j] = 1;
      i += n;
      continue;
    }
    if( hardError(db, rc, "produce", pRun) ){
      execSql(db, "ROLLBACK");
      break;
    }
    if( !sqlite3_get_autocommit(db) ) execSql(db, "ROLLBACK");
    noteBusy(pRun);
  }
done:
  sqlite3_finalize(pFunc);
  sqlite3_finalize(pIns);
  return 0;
}

/* Autocommit stream_produce() on a connection shared by two threads. */
static void *sharedMain(void *pArg){
  Worker *pW = (Worker*)pArg;
  Run *pRun = pW->pRun;
  sqlite3 *db = pW->db;
  int i = 0;
  while( i<pW->nMsg ){
    int iMsg = pW->iFirst + i;
    char *zSql = sqlite3_mprintf(
        "SELECT stream_produce('q', %s, json_object('id', %d))",
        (iMsg % 3) ? "NULL" : "'shared'", iMsg);
    int rc;
    if( zSql==0 ){ check(0, "shared", "no memory"); break; }
    rc = execSql(db, zSql);
    sqlite3_free(zSql);
    if( rc==SQLITE_OK ){
      pRun->aAck[iMsg] = 1;
      i++;
    }else if( hardError(db, rc, "shared produce", pRun) ){
      break;
    }else{
      noteBusy(pRun);
    }
  }
  return 0;
}

static int countConsumed(sqlite3 *db, int *pn){
  sqlite3_stmt *pS = 0;
  int rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM consumed", -1, &pS, 0);
  if( rc==SQLITE_OK ){
    rc = sqlite3_step(pS);
    if( rc==SQLITE_ROW ){ *pn = sqlite3_column_int(pS, 0); rc = SQLITE_OK; }
  }
  sqlite3_finalize(pS);
  return rc;
}

static void *consumerMain(void *pArg){
  Worker *pW = (Worker*)pArg;
  Run *pRun = pW->pRun;
  sqlite3 *db = pW->db;
  char zMember[16];
  sqlite3_stmt *pPoll = 0, *pIns = 0, *pCommit = 0;
  sqlite3_int64 tEnd;
  int rc;
  snprintf(zMember, sizeof(zMember), "m%d", pW->iThread);
  for(;;){
    char *zSql = sqlite3_mprintf("SELECT stream_join('g', %Q, '[\"q\"]',"
        " '{\"auto.offset.reset\":\"earliest\",\"enable.auto.commit\":false,"
        "\"session.timeout.ms\":120000}')", zMember);
    if( zSql==0 ){ check(0, "join", "no memory"); return 0; }
    rc = execSql(db, zSql);
    sqlite3_free(zSql);
    if( rc==SQLITE_OK ) break;
    if( hardError(db, rc, "join", pRun) ) return 0;
    noteBusy(pRun);
  }
  rc = sqlite3_prepare_v2(db, "SELECT value->>'id' FROM stream_poll('g', ?1, 20)",
                          -1, &pPoll, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_prepare_v2(db,
      "INSERT INTO consumed(id, member) VALUES(?1, ?2)", -1, &pIns, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_prepare_v2(db,
      "SELECT stream_commit_sync('g', ?1)", -1, &pCommit, 0);
  if( hardError(db, rc, "prepare", pRun) ) goto done;
  sqlite3_bind_text(pPoll, 1, zMember, -1, SQLITE_STATIC);
  sqlite3_bind_text(pIns, 2, zMember, -1, SQLITE_STATIC);
  sqlite3_bind_text(pCommit, 1, zMember, -1, SQLITE_STATIC);
  tEnd = (sqlite3_int64)time(0) + 240;
  while( (sqlite3_int64)time(0)<tEnd ){
    int nGot = 0, nAll = 0;
    rc = execSql(db, "BEGIN IMMEDIATE");
    while( rc==SQLITE_OK && (rc = sqlite3_step(pPoll))==SQLITE_ROW ){
      sqlite3_bind_int(pIns, 1, sqlite3_column_int(pPoll, 0));
      rc = sqlite3_step(pIns);
      sqlite3_reset(pIns);
      rc = rc==SQLITE_DONE ? SQLITE_OK : rc;
      nGot++;
    }
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
    sqlite3_reset(pPoll);
    if( rc==SQLITE_OK ){
      rc = sqlite3_step(pCommit);
      rc = rc==SQLITE_ROW ? SQLITE_OK : rc;
      sqlite3_reset(pCommit);
    }
    if( rc==SQLITE_OK ) rc = execSql(db, "COMMIT");
    if( rc!=SQLITE_OK ){
      if( !sqlite3_get_autocommit(db) ) execSql(db, "ROLLBACK");
      if( hardError(db, rc, "consume", pRun) ) break;
      noteBusy(pRun);
      continue;
    }
    if( nGot ) continue;
    rc = countConsumed(db, &nAll);
    if( rc==SQLITE_OK && nAll>=pRun->nTotal ) break;
    if( hardError(db, rc, "count", pRun) ) break;
    usleep(2000);
  }
done:
  sqlite3_finalize(pPoll);
  sqlite3_finalize(pIns);
  sqlite3_finalize(pCommit);
  return 0;
}

static long long queryInt(sqlite3 *db, const char *zSql){
  sqlite3_stmt *pS = 0;
  long long v = -1;
  if( sqlite3_prepare_v2(db, zSql, -1, &pS, 0)==SQLITE_OK
   && sqlite3_step(pS)==SQLITE_ROW ){
    v = sqlite3_column_int64(pS, 0);
  }else{
    check(0, zSql, sqlite3_errmsg(db));
  }
  sqlite3_finalize(pS);
  return v;
}

static void runOne(int flags, int busyMs, const char *zName){
  static Run run;
  Worker aW[NPROD + NSHARED + NCONS];
  pthread_t aT[NPROD + NSHARED + NCONS];
  int nW = 0, i, nAck = 0;
  int bShared = (flags==SQLITE_OPEN_FULLMUTEX);
  sqlite3 *db;
  char zTest[200];

  memset(&run, 0, sizeof(run));
  run.flags = flags;
  run.busyMs = busyMs;
  run.zName = zName;
  run.nTotal = NPROD*NMSG + (bShared ? NSHARED*NMSG : 0);
  pthread_mutex_init(&run.mu, 0);
  remove(zDbFile);
  remove("test_threads.db-wal");
  remove("test_threads.db-shm");
  db = openConn(&run);
  if( db==0 ) return;
  if( execSql(db, "PRAGMA journal_mode=WAL;"
                  "SELECT stream_create_topic('q', 4);"
                  "CREATE TABLE consumed(id INTEGER, member TEXT);")!=SQLITE_OK ){
    check(0, "setup", sqlite3_errmsg(db));
    sqlite3_close(db);
    return;
  }
  if( bShared ){
    run.dbShared = openConn(&run);
    if( run.dbShared==0 ){ sqlite3_close(db); return; }
  }
  memset(aW, 0, sizeof(aW));
  for(i=0; i<NPROD; i++, nW++){
    aW[nW].pRun = &run;
    aW[nW].iThread = i;
    aW[nW].iFirst = i*NMSG;
    aW[nW].nMsg = NMSG;
    aW[nW].db = openConn(&run);
  }
  if( bShared ){
    for(i=0; i<NSHARED; i++, nW++){
      aW[nW].pRun = &run;
      aW[nW].iThread = NPROD + i;
      aW[nW].iFirst = (NPROD + i)*NMSG;
      aW[nW].nMsg = NMSG;
      aW[nW].db = run.dbShared;
    }
  }
  for(i=0; i<NCONS; i++, nW++){
    aW[nW].pRun = &run;
    aW[nW].iThread = i;
    aW[nW].db = openConn(&run);
  }
  for(i=0; i<nW; i++){
    if( aW[i].db==0 ){ aT[i] = 0; continue; }
    if( pthread_create(&aT[i], 0,
          i<NPROD ? producerMain
        : (bShared && i<NPROD+NSHARED) ? sharedMain : consumerMain,
          &aW[i])!=0 ){
      check(0, "pthread_create", zName);
      aW[i].db = 0;
    }
  }
  for(i=0; i<nW; i++){
    if( aW[i].db ) pthread_join(aT[i], 0);
  }
  for(i=0; i<nW; i++){
    if( aW[i].db && aW[i].db!=run.dbShared ) sqlite3_close(aW[i].db);
  }
  if( run.dbShared ) sqlite3_close(run.dbShared);

  for(i=0; i<run.nTotal; i++) nAck += run.aAck[i];
  snprintf(zTest, sizeof(zTest), "%s: acknowledged", zName);
  checkInt(nAck, run.nTotal, zTest);
  snprintf(zTest, sizeof(zTest), "%s: integrity_check", zName);
  {
    sqlite3_stmt *pS = 0;
    const char *z = 0;
    if( sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &pS, 0)==SQLITE_OK
     && sqlite3_step(pS)==SQLITE_ROW ){
      z = (const char*)sqlite3_column_text(pS, 0);
    }
    check(z && strcmp(z, "ok")==0, zTest, z ? z : sqlite3_errmsg(db));
    sqlite3_finalize(pS);
  }
  snprintf(zTest, sizeof(zTest), "%s: messages", zName);
  checkInt(queryInt(db, "SELECT count(*) FROM stream_messages WHERE topic='q'"),
           run.nTotal, zTest);
  snprintf(zTest, sizeof(zTest), "%s: distinct ids 0..N-1", zName);
  {
    char *zSql = sqlite3_mprintf("SELECT count(DISTINCT value->>'id')"
        " FROM stream_messages WHERE topic='q'"
        " AND value->>'id' >= 0 AND value->>'id' < %d", run.nTotal);
    if( zSql==0 ){
      check(0, zTest, "no memory");
    }else{
      checkInt(queryInt(db, zSql), run.nTotal, zTest);
      sqlite3_free(zSql);
    }
  }
  snprintf(zTest, sizeof(zTest), "%s: offsets contiguous", zName);
  checkInt(queryInt(db, "SELECT count(*) FROM stream_partitions"
                        " WHERE topic='q' AND messages<>high_watermark"),
           0, zTest);
  snprintf(zTest, sizeof(zTest), "%s: consumed", zName);
  checkInt(queryInt(db, "SELECT count(*) FROM consumed"), run.nTotal, zTest);
  snprintf(zTest, sizeof(zTest), "%s: consumed once each", zName);
  checkInt(queryInt(db, "SELECT count(DISTINCT id) FROM consumed"),
           run.nTotal, zTest);
  snprintf(zTest, sizeof(zTest), "%s: committed = high watermark", zName);
  checkInt(queryInt(db, "SELECT count(*) FROM stream_partitions v"
                        " LEFT JOIN stream_offsets o ON o.group_id='g'"
                        " AND o.topic=v.topic AND o.partition=v.partition"
                        " WHERE v.topic='q' AND o.offset IS NOT v.high_watermark"),
           0, zTest);
  if( busyMs==0 ){
    snprintf(zTest, sizeof(zTest), "%s: SQLITE_BUSY was returned", zName);
    check(run.nBusy>0, zTest, "no SQLITE_BUSY at all");
  }
  if( getenv("STREAM_VERBOSE") && getenv("STREAM_VERBOSE")[0]
   && strcmp(getenv("STREAM_VERBOSE"), "0")!=0 ){
    printf("%s: %d messages, %d SQLITE_BUSY retried\n", zName, run.nTotal,
           run.nBusy);
  }
  sqlite3_close(db);
  pthread_mutex_destroy(&run.mu);
  remove(zDbFile);
  remove("test_threads.db-wal");
  remove("test_threads.db-shm");
}

#ifdef HAVE_LIBCURL
/**************************************************************************
** Reads of a warm s3:// store in several threads (STREAM_TEST_S3_DB).
*/
#define S3T_THREADS 4
#define S3T_ROUNDS  6              /* 2 under the sanitizers (~10x slower) */
static int s3nRound = S3T_ROUNDS;

typedef struct S3Read S3Read;
struct S3Read {
  sqlite3 *db;                 /* Its own connection */
  sqlite3_stmt *pStmt;         /* The scan of topic sr */
  long long nRow;              /* Rows stepped */
  unsigned long long h;        /* FNV-1a of offsets, keys and values */
  int rc;                      /* Last sqlite3_step() */
};

/* Open a connection to the database of STREAM_TEST_S3_DB and start the
** scan of every message of topic sr, in order. */
static int s3ReadOpen(S3Read *p, int flags){
  char *zErr = 0;
  int rc;
  memset(p, 0, sizeof(*p));
  rc = sqlite3_open_v2(getenv("STREAM_TEST_S3_DB"), &p->db,
                       SQLITE_OPEN_READWRITE|flags, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_stream_init(p->db, &zErr, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_prepare_v2(p->db,
      "SELECT offset, key, value FROM stream_messages WHERE topic='sr'"
      " ORDER BY offset", -1, &p->pStmt, 0);
  if( rc ){
    check(0, "s3 open", zErr ? zErr : sqlite3_errmsg(p->db));
    sqlite3_free(zErr);
    sqlite3_close(p->db);
    p->db = 0;
  }
  return rc;
}

static void s3Hash(unsigned long long *pH, const void *a, int n){
  const unsigned char *z = (const unsigned char*)a;
  int i;
  for(i=0; i<n; i++){ *pH ^= z[i]; *pH *= 1099511628211ull; }
}

/* Step the scan nMax more rows (-1: to its end). */
static void s3ReadStep(S3Read *p, long long nMax){
  while( nMax!=0 && (p->rc = sqlite3_step(p->pStmt))==SQLITE_ROW ){
    long long iOff = sqlite3_column_int64(p->pStmt, 0);
    s3Hash(&p->h, &iOff, sizeof(iOff));
    s3Hash(&p->h, sqlite3_column_blob(p->pStmt, 1),
           sqlite3_column_bytes(p->pStmt, 1));
    s3Hash(&p->h, sqlite3_column_blob(p->pStmt, 2),
           sqlite3_column_bytes(p->pStmt, 2));
    p->nRow++;
    if( nMax>0 ) nMax--;
  }
}

static void s3ReadClose(S3Read *p){
  sqlite3_finalize(p->pStmt);
  sqlite3_close(p->db);
  p->pStmt = 0;
  p->db = 0;
}

/* The whole scan on a new connection, checked against the first one's. */
static long long s3nWant;
static unsigned long long s3hWant;
static void s3ReadAll(const char *zTest, int flags){
  S3Read r;
  char zDetail[300];
  if( s3ReadOpen(&r, flags) ) return;
  s3ReadStep(&r, -1);
  snprintf(zDetail, sizeof(zDetail), "rc=%d %s, %lld rows of %lld",
           r.rc, r.rc==SQLITE_DONE ? "" : sqlite3_errmsg(r.db), r.nRow,
           s3nWant);
  check(r.rc==SQLITE_DONE && r.nRow==s3nWant && r.h==s3hWant, zTest,
        zDetail);
  s3ReadClose(&r);
}

/* A scan continued in a thread of its own (a connection moved between
** threads with its GETs in flight, as Go's database/sql moves them). */
static void *s3StepMain(void *pArg){
  s3ReadStep((S3Read*)pArg, 500);
  return 0;
}

/* One reader thread: S3T_ROUNDS rounds of a whole scan on a new
** connection, a scan stopped after a few rows (its GETs ahead in flight)
** and its connection closed, and a scan stepped in three threads. */
static void *s3ThreadMain(void *pArg){
  int iThread = *(int*)pArg, i;
  char zTest[100];
  for(i=0; i<s3nRound; i++){
    int flags = (i+iThread)%2 ? SQLITE_OPEN_FULLMUTEX : SQLITE_OPEN_NOMUTEX;
    S3Read r;
    snprintf(zTest, sizeof(zTest), "s3 thread %d round %d: whole scan",
             iThread, i);
    s3ReadAll(zTest, flags);
    if( s3ReadOpen(&r, flags)==SQLITE_OK ){
      s3ReadStep(&r, 10 + 37*i);
      snprintf(zTest, sizeof(zTest), "s3 thread %d round %d: stopped scan",
               iThread, i);
      check(r.rc==SQLITE_ROW, zTest, sqlite3_errmsg(r.db));
      s3ReadClose(&r);                 /* GETs ahead still in flight */
    }
    if( s3ReadOpen(&r, flags)==SQLITE_OK ){
      pthread_t t;
      char zDetail[200];
      s3ReadStep(&r, 300);
      if( pthread_create(&t, 0, s3StepMain, &r)==0 ) pthread_join(t, 0);
      s3ReadStep(&r, -1);
      snprintf(zTest, sizeof(zTest), "s3 thread %d round %d: moved scan",
               iThread, i);
      snprintf(zDetail, sizeof(zDetail), "rc=%d, %lld rows of %lld",
               r.rc, r.nRow, s3nWant);
      check(r.rc==SQLITE_DONE && r.nRow==s3nWant && r.h==s3hWant, zTest,
            zDetail);
      s3ReadClose(&r);
    }
  }
  return 0;
}

static int s3Threads(void){
  pthread_t aT[S3T_THREADS];
  int aId[S3T_THREADS], i, nRun = 0, nNow;
  i64 nParked0, nTaken0, nParked, nTaken;
  S3Read r;
  pid_t pid;
  char zDetail[200];
  if( getenv("STREAM_SANITIZE") && getenv("STREAM_SANITIZE")[0] ){
    s3nRound = 2;
  }
  /* The reference: one scan in this thread (its pool parks its multi
  ** handle when the connection closes). */
  if( s3ReadOpen(&r, SQLITE_OPEN_FULLMUTEX) ) return checkDone();
  s3ReadStep(&r, -1);
  check(r.rc==SQLITE_DONE && r.nRow>1000, "s3 reference scan",
        sqlite3_errmsg(r.db));
  s3nWant = r.nRow;
  s3hWant = r.h;
  s3ReadClose(&r);
  printf("s3 reference: %lld rows\n", s3nWant);
  sqlite3StreamHttpParkStats(&nParked0, &nTaken0, &nNow);
  check(nNow>=1, "s3 parked after close", "no multi handle parked");

  for(i=0; i<S3T_THREADS; i++){
    aId[i] = i;
    if( pthread_create(&aT[i], 0, s3ThreadMain, &aId[i])==0 ) nRun++;
    else break;
  }
  check(nRun==S3T_THREADS, "s3 pthread_create", "failed");
  for(i=0; i<nRun; i++) pthread_join(aT[i], 0);
  sqlite3StreamHttpParkStats(&nParked, &nTaken, &nNow);
  snprintf(zDetail, sizeof(zDetail), "%lld taken, %lld parked",
           nTaken-nTaken0, nParked-nParked0);
  /* Every connection of the threads made its pool, which took a parked
  ** multi handle when one of its key was there. */
  check(nTaken>nTaken0 && nNow>=1 && nNow<=8, "s3 threads reused", zDetail);

  /* fork(): the child starts with no parked handle (its first read makes
  ** a multi handle of its own: the parent's sockets are not its) and
  ** reads right; the parent goes on with its parked ones. */
  fflush(stdout);
  pid = fork();
  if( pid==0 ){
    int nBad = 0;
    sqlite3StreamHttpParkStats(&nParked0, &nTaken0, &nNow);
    if( nNow!=0 ) nBad |= 1;
    if( s3ReadOpen(&r, SQLITE_OPEN_FULLMUTEX)==SQLITE_OK ){
      s3ReadStep(&r, -1);
      if( r.rc!=SQLITE_DONE || r.nRow!=s3nWant || r.h!=s3hWant ) nBad |= 2;
      s3ReadClose(&r);
    }else{
      nBad |= 2;
    }
    _exit(nBad);
  }else if( pid>0 ){
    int st = 0;
    waitpid(pid, &st, 0);
    snprintf(zDetail, sizeof(zDetail), "child status %d (1: a parked handle"
             " in the child, 2: wrong rows)",
             WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    check(WIFEXITED(st) && WEXITSTATUS(st)==0, "s3 fork child", zDetail);
  }else{
    check(0, "s3 fork", "failed");
  }
  sqlite3StreamHttpParkStats(&nParked0, &nTaken0, &nNow);
  s3ReadAll("s3 after fork: parent", SQLITE_OPEN_FULLMUTEX);
  sqlite3StreamHttpParkStats(&nParked, &nTaken, &nNow);
  check(nTaken>nTaken0, "s3 after fork: parent reuses", "none taken");
  return checkDone();
}
#endif /* HAVE_LIBCURL */

int main(void){
#ifdef HAVE_LIBCURL
  if( getenv("STREAM_TEST_S3_DB") ){
    alarm(300);
    return s3Threads();
  }
#endif
  if( sqlite3_threadsafe()==0 ){
    printf("SQLite built without threads: skipped\n");
    printf("%d passed, %d failed\n", nPass, nFail);
    return 0;
  }
  alarm(300);   /* a hang ends the process: a failure for the runner */
  runOne(SQLITE_OPEN_FULLMUTEX, 5000, "serialized, busy_timeout 5000");
  runOne(SQLITE_OPEN_FULLMUTEX, 0, "serialized, busy_timeout 0");
  runOne(SQLITE_OPEN_NOMUTEX, 5000, "multi-thread, busy_timeout 5000");
  runOne(SQLITE_OPEN_NOMUTEX, 0, "multi-thread, busy_timeout 0");
  return checkDone();
}
