/*
** test_checkpoint.c - the checkpointer (ext/checkpoint.c,
** stream_checkpointer()): WAL checkpoints by a thread of the connection's
** own, the committer's only once a cycle.
**
** Linked statically against libsqlitestream.a.  Checks:
**
**   0.* what it refuses without threads (SQLite compiled without them, or
**       configured single-thread at run time);
**   1.* what it refuses, changing nothing: a database in memory, a
**       rollback journal, wal_autocheckpoint 0, locking_mode EXCLUSIVE, a
**       bad argument;
**   2.* it checkpoints: one-message transactions with
**       wal_autocheckpoint=100 until the WAL restarted three times (the
**       hook saw it) are all there, gap-free; the thread ran checkpoints;
**       the WAL file holds fewer frames than were committed; PRAGMA wal_autocheckpoint reads 0
**       while the hook is the checkpointer's, and 100 again once it is
**       off; it takes a new wal_autocheckpoint when turned on again;
**   3.* it stops: a thread more while on, none after stream_checkpointer(0)
**       or the connection's close (Linux: /proc/self/task);
**   4.* errors are reported and change no commit: through a VFS that fails
**       every write to the main database file while asked (the
**       checkpoints' copies), every commit still succeeds, the thread's
**       errors are counted with the last one's message, the WAL keeps
**       everything; once writes work again, checkpoints and restarts
**       resume and every message reads back;
**   5.* an attached WAL database keeps SQLite's autocheckpoint.
**
** No timing is asserted.  The last line printed is "N passed, N failed".
*/
#include "sqlite3.h"
#include "stream.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_check.h"

static void checkInt(long long iGot, long long iWant, const char *zTest){
  char zDetail[200];
  snprintf(zDetail, sizeof(zDetail), "got %lld, want %lld", iGot, iWant);
  check(iGot==iWant, zTest, zDetail);
}

/* ---- a VFS that fails writes to main database files while asked ----
** The default VFS with another xOpen: a main database file is the default
** VFS's own, whose methods are a copy of its methods but for xWrite. */
static sqlite3_vfs *pOrig = 0;
static sqlite3_vfs faultVfs;
static sqlite3_io_methods faultMethods;
static const sqlite3_io_methods *pOrigMethods = 0;
static volatile int bFailDbWrites = 0;
static int faultWrite(sqlite3_file *f, const void *p, int n,
                      sqlite3_int64 o){
  if( bFailDbWrites ) return SQLITE_IOERR_WRITE;
  return pOrigMethods->xWrite(f, p, n, o);
}
static int faultOpen(sqlite3_vfs *pVfs, const char *zName, sqlite3_file *f,
                     int flags, int *pOut){
  int rc = pOrig->xOpen(pOrig, zName, f, flags, pOut);
  (void)pVfs;
  if( rc==SQLITE_OK && f->pMethods && (flags & SQLITE_OPEN_MAIN_DB) ){
    if( pOrigMethods==0 ){
      pOrigMethods = f->pMethods;
      faultMethods = *f->pMethods;
      faultMethods.xWrite = faultWrite;
    }
    if( f->pMethods==pOrigMethods ) f->pMethods = &faultMethods;
  }
  return rc;
}
static void faultRegister(void){
  pOrig = sqlite3_vfs_find(0);
  faultVfs = *pOrig;
  faultVfs.zName = "ckfault";
  faultVfs.xOpen = faultOpen;
  faultVfs.pNext = 0;
  sqlite3_vfs_register(&faultVfs, 0);
}

/* ---- helpers ---- */
static void rmDb(const char *z){
  char zBuf[300];
  unlink(z);
  snprintf(zBuf, sizeof(zBuf), "%s-wal", z); unlink(zBuf);
  snprintf(zBuf, sizeof(zBuf), "%s-shm", z); unlink(zBuf);
}

static sqlite3 *openDb(const char *zFile, const char *zVfs){
  sqlite3 *db = 0;
  char *zErr = 0;
  if( sqlite3_open_v2(zFile, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE,
                      zVfs)!=SQLITE_OK
   || sqlite3_stream_init(db, &zErr, 0)!=SQLITE_OK ){
    check(0, "open", zErr ? zErr : sqlite3_errmsg(db));
    sqlite3_free(zErr);
    exit(1);
  }
  sqlite3_busy_timeout(db, 5000);
  return db;
}

/* The first column of the first row of zSql as text (static buffer), or
** "ERROR: message". */
static const char *one(sqlite3 *db, const char *zSql){
  static char zBuf[2000];
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  zBuf[0] = 0;
  if( rc==SQLITE_OK ){
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_ROW ){
      const char *z = (const char*)sqlite3_column_text(pStmt, 0);
      snprintf(zBuf, sizeof(zBuf), "%s", z ? z : "NULL");
      rc = SQLITE_OK;
    }else if( rc==SQLITE_DONE ){
      rc = SQLITE_OK;
    }
  }
  if( rc ) snprintf(zBuf, sizeof(zBuf), "ERROR: %s", sqlite3_errmsg(db));
  sqlite3_finalize(pStmt);
  return zBuf;
}

static long long oneInt(sqlite3 *db, const char *zSql){
  return atoll(one(db, zSql));
}

/* A counter of stream_checkpointer()'s JSON. */
static long long counter(sqlite3 *db, const char *zName){
  char zSql[200];
  snprintf(zSql, sizeof(zSql), "SELECT stream_checkpointer() ->> '$.%s'",
           zName);
  return oneInt(db, zSql);
}

/* Threads of this process (-1 where /proc/self/task is not there). */
static int nThreads(void){
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  int n = 0;
  if( d==0 ) return -1;
  while( (e = readdir(d))!=0 ) if( e->d_name[0]!='.' ) n++;
  closedir(d);
  return n;
}

static long long fileSize(const char *z){
  struct stat st;
  return stat(z, &st)==0 ? (long long)st.st_size : -1;
}

/* n autocommit produces to topic t; the number that failed. */
static int produce(sqlite3 *db, int n){
  sqlite3_stmt *pStmt = 0;
  int i, nErr = 0;
  sqlite3_prepare_v2(db, "SELECT stream_produce('t', NULL, '{\"v\":1}')", -1,
                     &pStmt, 0);
  for(i=0; i<n; i++){
    if( sqlite3_step(pStmt)!=SQLITE_ROW ) nErr++;
    sqlite3_reset(pStmt);
  }
  sqlite3_finalize(pStmt);
  return nErr;
}

/* Autocommit produces in runs of 100 until the checkpointer has seen
** nRestart WAL restarts in all (at most nMax produces: a checkpoint of the
** thread outlasts any number of commits if the disk is slow enough, and
** the WAL restarts only after it).  *pnMsg: produced; returns the
** produces that failed. */
static int produceUntilRestarts(sqlite3 *db, long long nRestart, int nMax,
                                int *pnMsg){
  int nErr = 0;
  *pnMsg = 0;
  while( *pnMsg<nMax && counter(db, "restarts")<nRestart ){
    nErr += produce(db, 100);
    *pnMsg += 100;
  }
  return nErr;
}

static void test1(void){
  sqlite3 *db = openDb(":memory:", 0);
  check(strcmp(one(db, "SELECT stream_checkpointer(1)"),
               "ERROR: stream: the checkpointer needs a database file in WAL "
               "mode: main is in memory or temporary")==0, "1.1", one(db,
               "SELECT stream_checkpointer(1)"));
  check(strcmp(one(db, "SELECT stream_checkpointer()"), "{\"on\":0}")==0,
        "1.2", 0);
  sqlite3_close(db);

  rmDb("ckpt1.db");
  db = openDb("ckpt1.db", 0);
  check(strcmp(one(db, "SELECT stream_checkpointer(1)"),
               "ERROR: stream: the checkpointer needs a database file in WAL "
               "mode: main's journal_mode is delete")==0, "1.3",
        one(db, "SELECT stream_checkpointer(1)"));
  one(db, "PRAGMA journal_mode=WAL");
  one(db, "PRAGMA wal_autocheckpoint=0");
  check(strcmp(one(db, "SELECT stream_checkpointer(1)"),
               "ERROR: stream: the checkpointer takes over wal_autocheckpoint, "
               "which is 0 on this connection (off, or a WAL hook of the "
               "application's): set PRAGMA wal_autocheckpoint first")==0,
        "1.4", one(db, "SELECT stream_checkpointer(1)"));
  checkInt(oneInt(db, "PRAGMA wal_autocheckpoint"), 0, "1.5");
  one(db, "PRAGMA wal_autocheckpoint=1000");
  one(db, "PRAGMA locking_mode=EXCLUSIVE");
  check(strcmp(one(db, "SELECT stream_checkpointer(1)"),
               "ERROR: stream: the checkpointer needs locking_mode NORMAL "
               "(another connection checkpoints): main's is exclusive")==0,
        "1.6", one(db, "SELECT stream_checkpointer(1)"));
  one(db, "PRAGMA locking_mode=NORMAL");
  check(strcmp(one(db, "SELECT stream_checkpointer('x')"),
               "ERROR: stream: on must be an integer, not text")==0, "1.7",
        one(db, "SELECT stream_checkpointer('x')"));
  check(strcmp(one(db, "SELECT stream_checkpointer() ->> '$.on'"), "0")==0,
        "1.8", 0);
  checkInt(oneInt(db, "PRAGMA wal_autocheckpoint"), 1000, "1.9");
  sqlite3_close(db);
  rmDb("ckpt1.db");
}

static void test2and3(void){
  sqlite3 *db;
  int nT0 = nThreads(), nT1;
  long long nWal, nDb0;
  int nMsg = 0;
  rmDb("ckpt2.db");
  db = openDb("ckpt2.db", 0);
  one(db, "PRAGMA journal_mode=WAL");
  one(db, "PRAGMA synchronous=NORMAL");
  one(db, "PRAGMA wal_autocheckpoint=100");
  one(db, "SELECT stream_create_topic('t', 1)");
  check(strcmp(one(db, "SELECT stream_checkpointer(1) ->> '$.on'"), "1")==0,
        "2.1", one(db, "SELECT stream_checkpointer(1)"));
  checkInt(counter(db, "wal_autocheckpoint"), 100, "2.2");
  /* The hook is the checkpointer's, not SQLite's autocheckpoint. */
  checkInt(oneInt(db, "PRAGMA wal_autocheckpoint"), 0, "2.3");
  nT1 = nThreads();
  /* (>: a thread sanitizer starts one of its own with the first.) */
  if( nT0>0 ) check(nT1>nT0, "3.1 a thread more", 0);
  /* Turning it on again changes nothing. */
  one(db, "SELECT stream_checkpointer(1)");
  if( nT0>0 ) checkInt(nThreads(), nT1, "3.2");

  one(db, "PRAGMA wal_checkpoint");
  nDb0 = fileSize("ckpt2.db");
  checkInt(produceUntilRestarts(db, 3, 100000, &nMsg), 0,
           "2.4 every commit succeeds");
  checkInt(oneInt(db, "SELECT count(*) FROM stream_messages WHERE topic='t'"),
           nMsg, "2.5");
  checkInt(oneInt(db, "SELECT max(offset) FROM stream_messages WHERE topic='t'"),
           nMsg-1, "2.6");
  check(counter(db, "checkpoints")>0, "2.7 the thread checkpointed",
        one(db, "SELECT stream_checkpointer()"));
  check(counter(db, "restarts")>=3, "2.8 the WAL restarted",
        one(db, "SELECT stream_checkpointer()"));
  checkInt(counter(db, "errors"), 0, "2.9");
  /* Restarted three times, so reused: its file holds one cycle's frames,
  ** fewer than the commits (a frame or more each). */
  nWal = fileSize("ckpt2.db-wal");
  check(nWal>0 && nWal<(long long)nMsg*(4096+24), "2.10 the WAL was reused",
        one(db, "SELECT stream_checkpointer()"));
  /* The copies are in the database file. */
  check(fileSize("ckpt2.db")>nDb0, "2.11 copied into the file", 0);

  /* Off: SQLite's autocheckpoint back, the thread gone. */
  check(strcmp(one(db, "SELECT stream_checkpointer(0)"), "{\"on\":0}")==0,
        "3.3", 0);
  checkInt(oneInt(db, "PRAGMA wal_autocheckpoint"), 100, "3.4");
  if( nT0>0 ) checkInt(nThreads(), nT1-1, "3.5 the thread is gone");
  one(db, "SELECT stream_checkpointer(0)");             /* off again: no-op */
  checkInt(oneInt(db, "PRAGMA wal_autocheckpoint"), 100, "3.6");

  /* On again takes the connection's wal_autocheckpoint of now; the
  ** PRAGMA while on gives checkpoints back to SQLite until then. */
  one(db, "PRAGMA wal_autocheckpoint=50");
  one(db, "SELECT stream_checkpointer(1)");
  checkInt(counter(db, "wal_autocheckpoint"), 50, "2.12");
  one(db, "PRAGMA wal_autocheckpoint=70");
  checkInt(oneInt(db, "PRAGMA wal_autocheckpoint"), 70, "2.13");
  one(db, "SELECT stream_checkpointer(1)");
  checkInt(counter(db, "wal_autocheckpoint"), 70, "2.14");
  checkInt(oneInt(db, "PRAGMA wal_autocheckpoint"), 0, "2.15");
  checkInt(produce(db, 500), 0, "2.16");
  nMsg += 500;
  checkInt(counter(db, "errors"), 0, "2.17");

  /* The close joins the thread. */
  if( nT0>0 ) checkInt(nThreads(), nT1, "3.6.1 on again: its thread");
  sqlite3_close(db);
  if( nT0>0 ) checkInt(nThreads(), nT1-1, "3.7 closed: no thread left");
  db = openDb("ckpt2.db", 0);
  checkInt(oneInt(db, "SELECT count(*) FROM stream_messages WHERE topic='t'"),
           nMsg, "3.8");
  check(strcmp(one(db, "PRAGMA integrity_check"), "ok")==0, "3.9", 0);
  sqlite3_close(db);
  rmDb("ckpt2.db");
}

static void test4(void){
  sqlite3 *db;
  long long nErr, nRestart;
  int nMsg2 = 0;
  rmDb("ckpt4.db");
  db = openDb("ckpt4.db", "ckfault");
  one(db, "PRAGMA journal_mode=WAL");
  one(db, "PRAGMA wal_autocheckpoint=100");
  one(db, "SELECT stream_create_topic('t', 1)");
  one(db, "SELECT stream_checkpointer(1)");
  bFailDbWrites = 1;
  checkInt(produce(db, 600), 0, "4.1 every commit succeeds");
  bFailDbWrites = 0;
  /* The thread ran into the failing writes (a checkpoint whose copy
  ** failed), and says so; the committer's fallback failed the same way
  ** without failing its commit. */
  nErr = counter(db, "errors");
  check(nErr>0, "4.2 errors counted", one(db, "SELECT stream_checkpointer()"));
  check(strstr(one(db, "SELECT stream_checkpointer() ->> '$.last_error'"),
               "disk I/O error")!=0, "4.3 the last error",
        one(db, "SELECT stream_checkpointer()"));
  checkInt(oneInt(db, "SELECT count(*) FROM stream_messages WHERE topic='t'"),
           600, "4.4");
  nRestart = counter(db, "restarts");
  checkInt(produceUntilRestarts(db, nRestart+1, 100000, &nMsg2), 0, "4.5");
  check(counter(db, "restarts")>nRestart, "4.6 restarts resume",
        one(db, "SELECT stream_checkpointer()"));
  checkInt(counter(db, "errors"), nErr, "4.7 no new error");
  sqlite3_close(db);
  db = openDb("ckpt4.db", 0);
  checkInt(oneInt(db, "SELECT count(*) FROM stream_messages WHERE topic='t'"),
           600+nMsg2, "4.8");
  checkInt(oneInt(db, "SELECT max(offset) FROM stream_messages WHERE topic='t'"),
           599+nMsg2, "4.9");
  check(strcmp(one(db, "PRAGMA integrity_check"), "ok")==0, "4.10", 0);
  sqlite3_close(db);
  rmDb("ckpt4.db");
}

static void test5(void){
  sqlite3 *db;
  int i;
  long long nWal;
  rmDb("ckpt5.db");
  rmDb("ckpt5a.db");
  db = openDb("ckpt5.db", 0);
  one(db, "PRAGMA journal_mode=WAL");
  one(db, "PRAGMA wal_autocheckpoint=100");
  one(db, "ATTACH 'ckpt5a.db' AS a");
  one(db, "PRAGMA a.journal_mode=WAL");
  one(db, "CREATE TABLE a.x(y)");
  one(db, "SELECT stream_checkpointer(1)");
  for(i=0; i<400; i++) one(db, "INSERT INTO a.x VALUES(randomblob(3000))");
  nWal = fileSize("ckpt5a.db-wal");
  check(nWal>0 && nWal<3*100*(4096+24)+32, "5.1 attached: WAL bounded", 0);
  checkInt(oneInt(db, "SELECT count(*) FROM a.x"), 400, "5.2");
  sqlite3_close(db);
  rmDb("ckpt5.db");
  rmDb("ckpt5a.db");
}

/* 0.2: SQLite configured single-thread at run time (compiled with
** threads): refused.  In a child process, whose SQLite is set up anew. */
static void test0(void){
  pid_t pid = fork();
  int st = 0;
  if( pid==0 ){
    sqlite3 *db;
    int bOk;
    sqlite3_shutdown();
    sqlite3_config(SQLITE_CONFIG_SINGLETHREAD);
    rmDb("ckpt0.db");
    db = openDb("ckpt0.db", 0);
    one(db, "PRAGMA journal_mode=WAL");
    bOk = strcmp(one(db, "SELECT stream_checkpointer(1)"), "ERROR: stream: "
                 "the checkpointer needs a SQLite with threads: this one is "
                 "configured single-thread")==0;
    if( !bOk ) printf("0.2: %s\n", one(db, "SELECT stream_checkpointer(1)"));
    sqlite3_close(db);
    rmDb("ckpt0.db");
    _exit(bOk ? 0 : 1);
  }
  check(pid>0 && waitpid(pid, &st, 0)==pid && WIFEXITED(st)
        && WEXITSTATUS(st)==0, "0.2 single-thread at run time: refused", 0);
}

int main(void){
  alarm(300);   /* a hang ends the process: a failure for the runner */
  if( sqlite3_threadsafe()==0 ){
    /* No threads: refused, and nothing else to test. */
    sqlite3 *db;
    rmDb("ckpt0.db");
    db = openDb("ckpt0.db", 0);
    one(db, "PRAGMA journal_mode=WAL");
    check(strcmp(one(db, "SELECT stream_checkpointer(1)"), "ERROR: stream: "
          "the checkpointer needs a SQLite built with threads (this one has "
          "SQLITE_THREADSAFE=0)")==0, "0.1", 0);
    sqlite3_close(db);
    rmDb("ckpt0.db");
  }else{
    test0();
    faultRegister();
    test1();
    test2and3();
    test4();
    test5();
  }
  return checkDone();
}
