/*
** test_hostile.c - failures in the middle of a call leave the connection as
** it found it; waits end on sqlite3_interrupt(); busy codes stay extended.
**
** Linked statically against libsqlitestream.a (sqlite3_stream_init() is
** called directly).  It checks:
**
**   1. fault injection: a shim VFS ("faulty", over the default VFS) makes
**      the Nth I/O call of the database, journal and WAL files fail once
**      (xRead, xWrite, xTruncate, xSync, xFileSize: SQLITE_IOERR_*;
**      xLock, xShmLock: SQLITE_BUSY), for N = 1, 2, ... until a call runs
**      without reaching N.  Calls: a poll, a produce, a commit
**      (stream_commit_sync), tiering (stream_tier) and compaction
**      (stream_compact), in WAL and in rollback-journal mode.  After every
**      call: sqlite3_get_autocommit() is 1, another connection can BEGIN
**      EXCLUSIVE (no lock is left), the next unrelated write succeeds, the
**      error is not SQLITE_NOMEM, and - when the call failed - the
**      database is unchanged (a digest of every row of every table);
**   2. sqlite3_interrupt() from another thread ends a stream_wait(), a long
**      poll and a backpressure block at once with SQLITE_INTERRUPT, and the
**      database is unchanged;
**   3. a poll in a transaction whose snapshot another connection made
**      stale fails with the extended code SQLITE_BUSY_SNAPSHOT (517).
**
** The last line printed is "N passed, N failed"; the exit code is non-zero
** if anything failed.
*/
#ifndef _XOPEN_SOURCE
# define _XOPEN_SOURCE 700     /* nftw() */
#endif
#include "sqlite3.h"
#include "stream.h"
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

static int aCount[2];           /* Checks passed, failed */

/* Count one check; a failure prints zTest and the printf-style detail. */
static void expect(int bOk, const char *zTest, const char *zFmt, ...){
  va_list ap;
  aCount[!bOk]++;
  if( bOk ) return;
  printf("FAIL %s: ", zTest);
  va_start(ap, zFmt);
  vprintf(zFmt, ap);
  va_end(ap);
  printf("\n");
}

/*------------------------------------------------------------------------
** The faulty VFS: every method of the file passes through, and the Nth
** counted call fails once.
*/
typedef struct FaultFile FaultFile;
struct FaultFile {
  sqlite3_file base;           /* Base class - must be first */
  sqlite3_file *pReal;         /* The file of the VFS below */
};

static sqlite3_vfs *pBelow = 0;
static int nCall = 0;          /* Counted calls since the last arm */
static int nFailAt = 0;        /* Fail the call with this number; 0: off */
static int nInjected = 0;      /* Faults injected since the last arm */

static void faultArm(int n){ nCall = 0; nFailAt = n; nInjected = 0; }
static void faultDisarm(void){ nFailAt = 0; }
static int faultHit(void){
  if( nFailAt>0 && ++nCall==nFailAt ){ nInjected++; return 1; }
  return 0;
}

#define REAL(f) (((FaultFile*)(f))->pReal)
static int faultClose(sqlite3_file *f){
  int rc = REAL(f)->pMethods->xClose(REAL(f));
  sqlite3_free(REAL(f));
  return rc;
}
static int faultRead(sqlite3_file *f, void *p, int n, sqlite3_int64 o){
  if( faultHit() ) return SQLITE_IOERR_READ;
  return REAL(f)->pMethods->xRead(REAL(f), p, n, o);
}
static int faultWrite(sqlite3_file *f, const void *p, int n,
                      sqlite3_int64 o){
  if( faultHit() ) return SQLITE_IOERR_WRITE;
  return REAL(f)->pMethods->xWrite(REAL(f), p, n, o);
}
static int faultTruncate(sqlite3_file *f, sqlite3_int64 n){
  if( faultHit() ) return SQLITE_IOERR_TRUNCATE;
  return REAL(f)->pMethods->xTruncate(REAL(f), n);
}
static int faultSync(sqlite3_file *f, int flags){
  if( faultHit() ) return SQLITE_IOERR_FSYNC;
  return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int faultFileSize(sqlite3_file *f, sqlite3_int64 *pn){
  if( faultHit() ) return SQLITE_IOERR_FSTAT;
  return REAL(f)->pMethods->xFileSize(REAL(f), pn);
}
static int faultLock(sqlite3_file *f, int e){
  if( faultHit() ) return SQLITE_BUSY;
  return REAL(f)->pMethods->xLock(REAL(f), e);
}
static int faultUnlock(sqlite3_file *f, int e){
  return REAL(f)->pMethods->xUnlock(REAL(f), e);
}
static int faultCheckReserved(sqlite3_file *f, int *pb){
  return REAL(f)->pMethods->xCheckReservedLock(REAL(f), pb);
}
static int faultFileControl(sqlite3_file *f, int op, void *pArg){
  return REAL(f)->pMethods->xFileControl(REAL(f), op, pArg);
}
static int faultSectorSize(sqlite3_file *f){
  return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int faultDevChar(sqlite3_file *f){
  return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int faultShmMap(sqlite3_file *f, int i, int n, int b,
                       void volatile **pp){
  return REAL(f)->pMethods->xShmMap(REAL(f), i, n, b, pp);
}
static int faultShmLock(sqlite3_file *f, int o, int n, int fl){
  if( (fl & SQLITE_SHM_LOCK) && faultHit() ) return SQLITE_BUSY;
  return REAL(f)->pMethods->xShmLock(REAL(f), o, n, fl);
}
static void faultShmBarrier(sqlite3_file *f){
  REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int faultShmUnmap(sqlite3_file *f, int d){
  return REAL(f)->pMethods->xShmUnmap(REAL(f), d);
}

static const sqlite3_io_methods faultIo = {
  2,                    /* iVersion: shared memory, no xFetch (no mmap) */
  faultClose, faultRead, faultWrite, faultTruncate, faultSync,
  faultFileSize, faultLock, faultUnlock, faultCheckReserved,
  faultFileControl, faultSectorSize, faultDevChar,
  faultShmMap, faultShmLock, faultShmBarrier, faultShmUnmap,
  0, 0
};

static int faultOpen(sqlite3_vfs *pVfs, const char *zName, sqlite3_file *f,
                     int flags, int *pOut){
  FaultFile *p = (FaultFile*)f;
  int rc;
  (void)pVfs;
  p->pReal = sqlite3_malloc(pBelow->szOsFile);
  if( p->pReal==0 ) return SQLITE_NOMEM;
  memset(p->pReal, 0, pBelow->szOsFile);
  rc = pBelow->xOpen(pBelow, zName, p->pReal, flags, pOut);
  if( rc!=SQLITE_OK || p->pReal->pMethods==0 ){
    sqlite3_free(p->pReal);
    p->pReal = 0;
    f->pMethods = 0;
    return rc;
  }
  f->pMethods = &faultIo;
  return SQLITE_OK;
}
static int faultDelete(sqlite3_vfs *v, const char *z, int s){
  (void)v; return pBelow->xDelete(pBelow, z, s);
}
static int faultAccess(sqlite3_vfs *v, const char *z, int f, int *pr){
  (void)v; return pBelow->xAccess(pBelow, z, f, pr);
}
static int faultFullPath(sqlite3_vfs *v, const char *z, int n, char *zOut){
  (void)v; return pBelow->xFullPathname(pBelow, z, n, zOut);
}
static int faultRandom(sqlite3_vfs *v, int n, char *z){
  (void)v; return pBelow->xRandomness(pBelow, n, z);
}
static int faultSleep(sqlite3_vfs *v, int n){
  (void)v; return pBelow->xSleep(pBelow, n);
}
static int faultTime(sqlite3_vfs *v, double *pr){
  (void)v; return pBelow->xCurrentTime(pBelow, pr);
}
static int faultTime64(sqlite3_vfs *v, sqlite3_int64 *pi){
  (void)v; return pBelow->xCurrentTimeInt64(pBelow, pi);
}

static sqlite3_vfs faultVfs = {
  2, 0, 1024, 0, "faulty", 0,
  faultOpen, faultDelete, faultAccess, faultFullPath,
  0, 0, 0, 0,             /* no extension loading through it */
  faultRandom, faultSleep, faultTime, 0, faultTime64,
  0, 0, 0
};

/*------------------------------------------------------------------------
** Helpers.
*/
/* zFile through VFS zVfs (NULL: the default) with the extension; a
** failure ends the program. */
static sqlite3 *openDb(const char *zFile, const char *zVfs){
  sqlite3 *db = 0;
  char *zErr = 0;
  int rc = sqlite3_open_v2(zFile, &db,
      SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE, zVfs);
  if( rc==SQLITE_OK ) rc = sqlite3_stream_init(db, &zErr, 0);
  expect(rc==SQLITE_OK, "open", "%s: %s", zFile,
         zErr ? zErr : sqlite3_errmsg(db));
  if( rc!=SQLITE_OK ) exit(1);
  return db;
}

static int exec(sqlite3 *db, const char *zSql){
  char *zErr = 0;
  int rc = sqlite3_exec(db, zSql, 0, 0, &zErr);
  if( rc!=SQLITE_OK ){
    printf("  (%s: %s)\n", zSql, zErr ? zErr : "?");
  }
  sqlite3_free(zErr);
  return rc;
}

/* FNV-1a over every row of every table of zFile (opened afresh, so that a
** hot journal is rolled back first), leaving out the heartbeat column. */
static unsigned long long digest(const char *zFile){
  unsigned long long h = 1469598103934665603ULL;
  sqlite3 *db = 0;
  sqlite3_stmt *pT = 0;
  sqlite3_open_v2(zFile, &db, SQLITE_OPEN_READONLY, 0);
  sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type='table'"
                         " ORDER BY name", -1, &pT, 0);
  while( pT && sqlite3_step(pT)==SQLITE_ROW ){
    char *zSql = sqlite3_mprintf("SELECT * FROM \"%w\"",
                                 (const char*)sqlite3_column_text(pT, 0));
    sqlite3_stmt *pS = 0;
    sqlite3_prepare_v2(db, zSql, -1, &pS, 0);
    sqlite3_free(zSql);
    while( pS && sqlite3_step(pS)==SQLITE_ROW ){
      int i;
      for(i=0; i<sqlite3_column_count(pS); i++){
        const unsigned char *z;
        int n, j;
        if( strcmp(sqlite3_column_name(pS, i), "heartbeat_at")==0 ) continue;
        z = sqlite3_column_text(pS, i);
        n = sqlite3_column_bytes(pS, i);
        h = (h ^ (unsigned)sqlite3_column_type(pS, i)) * 1099511628211ULL;
        for(j=0; j<n; j++) h = (h ^ z[j]) * 1099511628211ULL;
      }
    }
    sqlite3_finalize(pS);
  }
  sqlite3_finalize(pT);
  sqlite3_close(db);
  return h;
}

/* FNV-1a over the messages as stream_messages returns them (both tiers),
** with the result of PRAGMA integrity_check. */
static unsigned long long contentDigest(const char *zFile){
  unsigned long long h = 1469598103934665603ULL;
  sqlite3 *db = openDb(zFile, 0);
  sqlite3_stmt *pS = 0;
  sqlite3_prepare_v2(db, "SELECT topic, partition, offset, key, value,"
      " headers, timestamp FROM stream_messages UNION ALL"
      " SELECT 'integrity', 0, 0, integrity_check, 0, 0, 0"
      " FROM pragma_integrity_check", -1, &pS, 0);
  while( pS && sqlite3_step(pS)==SQLITE_ROW ){
    int i;
    for(i=0; i<7; i++){
      const unsigned char *z = sqlite3_column_text(pS, i);
      int n = sqlite3_column_bytes(pS, i), j;
      h = (h ^ (unsigned)sqlite3_column_type(pS, i)) * 1099511628211ULL;
      for(j=0; j<n; j++) h = (h ^ z[j]) * 1099511628211ULL;
    }
  }
  if( pS==0 || sqlite3_finalize(pS)!=SQLITE_OK ) h = 0;
  sqlite3_close(db);
  return h;
}

static int removeOne(const char *z, const struct stat *st, int t,
                     struct FTW *f){
  (void)st; (void)t; (void)f;
  return remove(z);
}
static void removeAll(const char *zPath){
  nftw(zPath, removeOne, 16, FTW_DEPTH|FTW_PHYS);
}

static int copyFile(const char *zFrom, const char *zTo){
  FILE *in = fopen(zFrom, "rb"), *out = fopen(zTo, "wb");
  char buf[65536];
  size_t n;
  int rc = in && out ? 0 : 1;
  while( rc==0 && (n = fread(buf, 1, sizeof(buf), in))>0 ){
    if( fwrite(buf, 1, n, out)!=n ) rc = 1;
  }
  if( in ) fclose(in);
  if( out ) fclose(out);
  return rc;
}

/*------------------------------------------------------------------------
** 1. Fault injection.  stream_tier() is several units of work (the move,
** warm retention, the orphan sweep), each a transaction of its own by
** design (ext/tier.c): a failure in a later unit leaves the earlier ones
** done.  For it the check is that every message reads back the same from
** the two tiers and the database passes integrity_check.
*/
static const char *const azCall[] = {
  "SELECT count(*) FROM stream_poll('g', 'm')",
  "SELECT stream_produce('t', 'k', '{\"n\":1}')",
  "SELECT stream_commit_sync('g', 'm')",
  "SELECT stream_tier('w')",
  "SELECT stream_compact('c')",
};

/* The warm store of the fault runs, "<cwd>/hostile_fault.db.stream/warm":
** made (empty) before each run, and named by the template's warm.store
** (without a store nothing tiers). */
static void faultStoreMake(char *zUrl, size_t nUrl){
  char zCwd[4096];
  if( getcwd(zCwd, sizeof(zCwd))==0 ) zCwd[0] = 0;
  mkdir("hostile_fault.db.stream", 0777);
  mkdir("hostile_fault.db.stream/warm", 0777);
  if( zUrl ) snprintf(zUrl, nUrl, "file://%s/hostile_fault.db.stream/warm", zCwd);
}

/* The template: topics t (2 partitions), w (tiered), c (compacted), a
** member m of group g that has polled (so that commit_sync commits). */
static void makeTemplate(const char *zFile, const char *zMode){
  sqlite3 *db;
  char zSql[4300], zUrl[4200];
  int i;
  removeAll(zFile);
  db = openDb(zFile, 0);
  snprintf(zSql, sizeof(zSql), "PRAGMA journal_mode=%s", zMode);
  exec(db, zSql);
  faultStoreMake(zUrl, sizeof(zUrl));
  snprintf(zSql, sizeof(zSql), "SELECT stream_config('warm.store', '%s')", zUrl);
  exec(db, zSql);
  exec(db, "CREATE TABLE unrelated(x);"
      "SELECT stream_create_topic('t', 2);"
      "SELECT stream_create_topic('w', 1, '{\"hot.retention.messages\":2,"
      "\"hot.retention.ms\":-1,\"retention.ms\":-1}');"
      "SELECT stream_create_topic('c', 1, '{\"cleanup.policy\":\"compact\"}');");
  for(i=0; i<12; i++){
    exec(db, "SELECT stream_produce('t', 'k' || random(), '{}'),"
             " stream_produce('w', 'k', '{}'),"
             " stream_produce('c', 'k' || (random() % 3), '{}')");
  }
  exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close(db);
}

static void faultRun(const char *zMode){
  const char *zTpl = "hostile_tpl.db";
  const char *zFile = "hostile_fault.db";
  size_t iCall;
  makeTemplate(zTpl, zMode);
  for(iCall=0; iCall<sizeof(azCall)/sizeof(azCall[0]); iCall++){
    int n, nFailed = 0, bDone = 0;
    int bTier = strstr(azCall[iCall], "stream_tier")!=0;
    char zTest[200];
    snprintf(zTest, sizeof(zTest), "fault %s [%s]", zMode, azCall[iCall]);
    for(n=1; n<5000 && !bDone; n++){
      sqlite3 *db, *db2;
      unsigned long long hBefore;
      char zDetail[300];
      int rc, rc2, bAuto;
      char zStore[100];
      snprintf(zStore, sizeof(zStore), "%s.stream", zFile);
      removeAll(zStore);
      faultStoreMake(0, 0);
      remove("hostile_fault.db-wal");
      remove("hostile_fault.db-shm");
      remove("hostile_fault.db-journal");
      if( copyFile(zTpl, zFile) ){ expect(0, zTest, "copy"); return; }
      db = openDb(zFile, "faulty");
      /* auto.commit.interval.ms 0: the poll under faults has an
      ** auto-commit due, so it writes (a poll with nothing due is a read,
      ** issue #12). */
      exec(db, "SELECT stream_join('g', 'm', '[\"t\"]',"
               " '{\"auto.offset.reset\":\"earliest\","
               "\"auto.commit.interval.ms\":0}');"
               "SELECT count(*) FROM stream_poll('g', 'm', 3);");
      hBefore = bTier ? contentDigest(zFile) : digest(zFile);
      faultArm(n);
      rc = sqlite3_exec(db, azCall[iCall], 0, 0, 0);
      faultDisarm();
      if( nInjected==0 ) bDone = 1;     /* the call ran past every step */
      if( rc!=SQLITE_OK ) nFailed++;
      bAuto = sqlite3_get_autocommit(db);
      db2 = openDb(zFile, 0);
      rc2 = sqlite3_exec(db2, "BEGIN EXCLUSIVE; ROLLBACK", 0, 0, 0);
      sqlite3_close(db2);
      snprintf(zDetail, sizeof(zDetail), "fault at I/O call %d: rc=%d (%s)",
               n, rc, rc ? sqlite3_errmsg(db) : "ok");
      expect(bAuto==1 && rc2==SQLITE_OK && (rc&0xff)!=SQLITE_NOMEM, zTest,
             "%s, autocommit %d, other connection's BEGIN EXCLUSIVE rc=%d",
             zDetail, bAuto, rc2);
      if( rc!=SQLITE_OK ){
        expect((bTier ? contentDigest(zFile) : digest(zFile))==hBefore,
               zTest, "%s: the failed call changed the database", zDetail);
      }
      expect(exec(db, "INSERT INTO unrelated VALUES(1)")==SQLITE_OK, zTest,
             "%s: the next unrelated write failed", zDetail);
      sqlite3_close(db);
    }
    expect(bDone && nFailed>0, zTest, "%d faults injected, %d calls failed:"
           " the run did not end, or never failed", n-1, nFailed);
  }
  removeAll("hostile_fault.db.stream");
  remove(zFile);
  remove(zTpl);
  remove("hostile_fault.db-wal");
  remove("hostile_fault.db-shm");
}

/*------------------------------------------------------------------------
** 2. Interrupts.
*/
typedef struct Interrupter Interrupter;
struct Interrupter {
  sqlite3 *db;
  int nMs;
};
static void *interruptLater(void *pArg){
  Interrupter *p = (Interrupter*)pArg;
  struct timespec ts;
  ts.tv_sec = p->nMs/1000;
  ts.tv_nsec = (long)(p->nMs%1000)*1000000L;
  nanosleep(&ts, 0);
  sqlite3_interrupt(p->db);
  return 0;
}

static long long nowMs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec*1000 + ts.tv_nsec/1000000;
}

static void interruptRun(void){
  const char *zFile = "hostile_intr.db";
  static const char *const azWait[] = {
    "SELECT stream_wait('g', 'm', 20000)",
    "SELECT * FROM stream_poll('g', 'm', 10, 20000)",
    "SELECT stream_produce('bp', 'k', '{}')",
  };
  sqlite3 *db;
  size_t i;
  removeAll("hostile_intr.db.stream");
  remove(zFile);
  remove("hostile_intr.db-wal");
  remove("hostile_intr.db-shm");
  remove("hostile_intr.db-streamwake");
  db = openDb(zFile, 0);
  exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE unrelated(x);"
      "SELECT stream_create_topic('t', 1);"
      "SELECT stream_create_topic('bp', 1, '{\"backpressure.max.lag\":1,"
      "\"backpressure.policy\":\"block\",\"max.block.ms\":60000}');"
      "SELECT stream_join('g', 'm', '[\"t\",\"bp\"]');"
      "SELECT stream_produce('bp', 'k', '{}');"
      "SELECT count(*) FROM stream_poll('g', 'm');");
  for(i=0; i<sizeof(azWait)/sizeof(azWait[0]); i++){
    Interrupter in;
    pthread_t th;
    unsigned long long h = digest(zFile);
    long long t0 = nowMs(), nMs;
    int rc;
    in.db = db;
    in.nMs = 200;
    pthread_create(&th, 0, interruptLater, &in);
    rc = sqlite3_exec(db, azWait[i], 0, 0, 0);
    nMs = nowMs() - t0;
    pthread_join(th, 0);
    expect(rc==SQLITE_INTERRUPT && nMs<5000, "interrupt",
           "%s: rc=%d (%s) after %lld ms", azWait[i], rc, sqlite3_errmsg(db),
           nMs);
    expect(digest(zFile)==h && sqlite3_get_autocommit(db), "interrupt",
           "%s changed the database or left a transaction", azWait[i]);
  }
  sqlite3_close(db);

  /* 3. A stale snapshot: the extended code reaches the caller. */
  {
    sqlite3 *dbA = openDb(zFile, 0), *dbB = openDb(zFile, 0);
    int rc;
    exec(dbA, "SELECT stream_join('g', 'mA', '[\"t\"]');"
              "BEGIN; SELECT count(*) FROM unrelated;");
    exec(dbB, "SELECT stream_produce('t', 'k', '{}')");
    rc = sqlite3_exec(dbA, "SELECT * FROM stream_poll('g', 'mA')", 0, 0, 0);
    expect(rc==SQLITE_BUSY
           && sqlite3_extended_errcode(dbA)==SQLITE_BUSY_SNAPSHOT,
           "busy snapshot", "rc=%d extended=%d (%s)", rc,
           sqlite3_extended_errcode(dbA), sqlite3_errmsg(dbA));
    exec(dbA, "ROLLBACK");
    sqlite3_close(dbA);
    sqlite3_close(dbB);
  }
  removeAll("hostile_intr.db.stream");
  remove(zFile);
  remove("hostile_intr.db-wal");
  remove("hostile_intr.db-shm");
  remove("hostile_intr.db-streamwake");
}

int main(void){
  pBelow = sqlite3_vfs_find(0);
  faultVfs.szOsFile = (int)sizeof(FaultFile);
  faultVfs.mxPathname = pBelow->mxPathname;
  if( sqlite3_vfs_register(&faultVfs, 0)!=SQLITE_OK ){
    expect(0, "register", "cannot register the faulty VFS");
    return 1;
  }
  faultRun("wal");
  faultRun("delete");
  interruptRun();
  printf("%d passed, %d failed\n", aCount[0], aCount[1]);
  return aCount[1] ? 1 : 0;
}
