/*
** checkpoint.c - the checkpointer: WAL checkpoints taken off the commit
** path of one connection (opt-in: stream_checkpointer(1)).
**
** In WAL mode SQLite checkpoints from the commit that takes the WAL past
** wal_autocheckpoint frames (1,000 by default): that COMMIT syncs the WAL
** (every frame written since the last checkpoint), copies the newest copy
** of each page into the database file and syncs it, before it returns.
** With one message a transaction at 10,000 a second that is 6-9 ms, about
** nine times a second, and every message produced meanwhile waits: the
** p99 latency is the checkpoint's length (BENCHMARKS.md, lat2 and lat3).
**
** With the checkpointer on, a thread of this connection's own, on a
** connection of its own to the same file, runs PASSIVE checkpoints while
** the WAL fills: each time a quarter of wal_autocheckpoint was written
** since the last one.  A PASSIVE checkpoint takes no write lock and never
** waits: the committing connection goes on committing while the thread
** copies.  What the thread cannot do is restart the WAL: SQLite restarts
** it from the beginning only when a writer starts with every frame copied,
** and with commits arriving all the time some frames are always newer
** than the thread's last checkpoint.  So the committer still checkpoints
** once a cycle, at wal_autocheckpoint frames as before, but only when the
** thread is idle (with more than a sixteenth of wal_autocheckpoint left
** to copy, the thread is asked once more first): the frames committed
** while the thread's last checkpoint ran, and the two syncs, instead of
** the whole cycle.  Should the thread fail, the committer checkpoints as
** SQLite would have.  The WAL stays bounded as before: past
** wal_autocheckpoint frames the committer checkpoints at the first commit
** that finds the thread idle, and asks it nothing more in that cycle.  If
** the WAL does not restart after it (a reader was still using the WAL
** when the next commit began), the committer checkpoints again only once
** another sixteenth of wal_autocheckpoint was committed, not at every
** commit as SQLite's autocheckpoint does: each costs the two syncs.
**
** Durability does not change: a checkpoint never makes a commit less
** durable (commits are synced, or not, by the committer's own synchronous
** setting, as before), and the thread's connection checkpoints with
** synchronous=FULL, so that each of its checkpoints syncs the WAL before
** it copies and the database file before SQLite may reuse the WAL: the
** syncs of SQLite's own checkpoint under any setting but OFF (which syncs
** nothing).
**
** The thread lives as long as the setting: stream_checkpointer(0), or the
** connection's close (the StreamCtx's destructor), stops it, waits for a
** checkpoint under way and closes its connection.  The library stays
** loaded while threads could run (SQLITE_OK_LOAD_PERMANENTLY, ext/main.c).
** Errors of the thread's checkpoints are counted and the last one kept
** (stream_checkpointer() shows them) and logged (sqlite3_log): a commit
** that succeeded never reports a checkpoint's error.
**
** The WAL hook is the connection's only one: stream_checkpointer(1)
** replaces SQLite's autocheckpoint hook (whose frame count it takes over)
** and stream_checkpointer(0) puts it back.  PRAGMA wal_autocheckpoint=N or
** sqlite3_wal_hook() afterwards give the checkpoints back to SQLite (or to
** the application) until stream_checkpointer(1) takes them again.
** Attached WAL databases keep SQLite's behaviour (a checkpoint in the
** commit at wal_autocheckpoint frames).
*/
#include "streamInt.h"
#include <stdlib.h>
#include <string.h>

#if !defined(_WIN32)
# include <pthread.h>
# include <time.h>
# define STREAM_CKPT_THREADS 1
#else
# define STREAM_CKPT_THREADS 0
#endif

#if STREAM_CKPT_THREADS

struct StreamCkpt {
  sqlite3 *db;                 /* The committing connection */
  sqlite3 *dbCk;               /* The thread's connection */
  int nAuto;                   /* wal_autocheckpoint taken over (frames) */
  pthread_t thread;            /* The checkpointer thread */
  pthread_mutex_t mu;          /* Guards the fields below it */
  pthread_cond_t cv;           /* Signals bReq or bStop to the thread */
  int bStop;                   /* The thread is to end */
  int bReq;                    /* A checkpoint is asked for */
  int bRun;                    /* The thread is checkpointing */
  i64 iCycle;                  /* WAL restarts seen by the hook */
  i64 iDoneCycle;              /* iCycle of nDone */
  int nDone;                   /* Frames copied by the last checkpoint */
  i64 iInlineCycle;            /* Cycle of the committer's last one */
  int nInlineAt;               /* nFrame then */
  i64 iAskedCycle;             /* Cycle of the thread's last run asked for
                               ** at wal_autocheckpoint frames, or -1 */
  int bFailed;                 /* The thread's last checkpoint failed */
  i64 nRun;                    /* Thread checkpoints that succeeded */
  i64 nBusy;                   /* ... that found another one running */
  i64 nErr;                    /* ... that failed */
  char *zErrLast;              /* Its message (sqlite3_malloc) */
  i64 nInline;                 /* Checkpoints by the committer */
  i64 nInlineUs;               /* Their time, microseconds */
  i64 nInlineMaxUs;            /* The longest */
  /* Used by the hook only (the committing connection's thread): */
  int nFramePrev;              /* nFrame at the previous commit */
  i64 nRestart;                /* WAL restarts seen */
};

/* Fractions of wal_autocheckpoint: the thread checkpoints each time this
** many frames are waiting (STREAM_CKPT_SLICE), the committer once the WAL
** reaches wal_autocheckpoint frames with at most STREAM_CKPT_REST left. */
#define STREAM_CKPT_SLICE(n) ((n)/4>1 ? (n)/4 : 1)
#define STREAM_CKPT_REST(n)  ((n)/16)

static i64 streamCkptUs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (i64)ts.tv_sec*1000000 + ts.tv_nsec/1000;
}

/* The thread: a PASSIVE checkpoint of main each time one is asked for. */
static void *streamCkptMain(void *pArg){
  StreamCkpt *pCk = (StreamCkpt*)pArg;
  pthread_mutex_lock(&pCk->mu);
  for(;;){
    i64 iCycle;
    int rc, nLog = 0, nCkpt = 0;
    while( !pCk->bReq && !pCk->bStop ) pthread_cond_wait(&pCk->cv, &pCk->mu);
    if( pCk->bStop ) break;
    pCk->bReq = 0;
    pCk->bRun = 1;
    iCycle = pCk->iCycle;
    pthread_mutex_unlock(&pCk->mu);
    rc = sqlite3_wal_checkpoint_v2(pCk->dbCk, "main",
                                   SQLITE_CHECKPOINT_PASSIVE, &nLog, &nCkpt);
    pthread_mutex_lock(&pCk->mu);
    pCk->bRun = 0;
    if( rc==SQLITE_OK ){
      pCk->nRun++;
      pCk->bFailed = 0;
      /* A result of the cycle the hook is in (a restart since: 0 done). */
      if( iCycle==pCk->iCycle ){
        pCk->iDoneCycle = iCycle;
        pCk->nDone = nCkpt;
      }
    }else if( rc==SQLITE_BUSY ){
      pCk->nBusy++;
    }else{
      char *z = sqlite3_mprintf("%s", sqlite3_errmsg(pCk->dbCk));
      pCk->nErr++;
      pCk->bFailed = 1;
      sqlite3_free(pCk->zErrLast);
      pCk->zErrLast = z;
      sqlite3_log(rc, "stream: checkpointer: %s", z ? z : sqlite3_errstr(rc));
    }
  }
  pthread_mutex_unlock(&pCk->mu);
  return 0;
}

/* The WAL hook of the committing connection, after each commit. */
static int streamCkptHook(void *pArg, sqlite3 *db, const char *zDb,
                          int nFrame){
  StreamCkpt *pCk = (StreamCkpt*)pArg;
  int n = pCk->nAuto, bInline = 0, nBacklog;
  if( strcmp(zDb, "main")!=0 ){
    /* An attached database: SQLite's own autocheckpoint. */
    if( nFrame>=n ) sqlite3_wal_checkpoint(db, zDb);
    return SQLITE_OK;
  }
  if( nFrame<pCk->nFramePrev ){
    /* The WAL restarted: what the thread copied was of the last cycle. */
    pCk->nRestart++;
    pthread_mutex_lock(&pCk->mu);
    pCk->iCycle++;
    pthread_mutex_unlock(&pCk->mu);
  }
  pCk->nFramePrev = nFrame;
  if( nFrame<STREAM_CKPT_SLICE(n) ) return SQLITE_OK;
  pthread_mutex_lock(&pCk->mu);
  nBacklog = nFrame;
  if( pCk->iDoneCycle==pCk->iCycle && pCk->nDone<=nFrame ){
    nBacklog = nFrame - pCk->nDone;
  }
  if( !pCk->bReq && !pCk->bRun ){
    int bAsk = 0;
    if( nFrame>=n && pCk->iInlineCycle==pCk->iCycle
     && nFrame<pCk->nInlineAt + STREAM_CKPT_REST(n) ){
      /* The committer checkpointed at nInlineAt and the WAL did not
      ** restart (a reader still used it): not again at every commit. */
    }else if( nFrame>=n ){
      /* The committer's turn, once the thread is idle: with more than the
      ** rest left, the thread is asked once more first (once a cycle: its
      ** checkpoint leaves what was committed while it ran). */
      if( nBacklog<=STREAM_CKPT_REST(n) || pCk->bFailed
       || pCk->iAskedCycle==pCk->iCycle ){
        bInline = 1;
      }else{
        pCk->iAskedCycle = pCk->iCycle;
        bAsk = 1;
      }
    }else if( nBacklog>=STREAM_CKPT_SLICE(n) ){
      bAsk = 1;
    }
    if( bAsk ){
      pCk->bReq = 1;
      pthread_cond_signal(&pCk->cv);
    }
  }
  pthread_mutex_unlock(&pCk->mu);
  if( bInline ){
    /* The rest of the cycle, as SQLite's autocheckpoint (its errors are
    ** not the commit's either). */
    int nLog = 0, nCkpt = 0, rc;
    i64 t0 = streamCkptUs(), t;
    rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE,
                                   &nLog, &nCkpt);
    t = streamCkptUs() - t0;
    pthread_mutex_lock(&pCk->mu);
    pCk->iInlineCycle = pCk->iCycle;
    pCk->nInlineAt = nFrame;
    pCk->nInline++;
    pCk->nInlineUs += t;
    if( t>pCk->nInlineMaxUs ) pCk->nInlineMaxUs = t;
    if( rc==SQLITE_OK ){
      pCk->iDoneCycle = pCk->iCycle;
      pCk->nDone = nCkpt;
    }
    pthread_mutex_unlock(&pCk->mu);
  }
  return SQLITE_OK;
}

/* The value of a one-row PRAGMA on db as text, in z[nz] ("" if none). */
static void streamCkptPragma(sqlite3 *db, const char *zSql, char *z, int nz){
  sqlite3_stmt *pStmt = 0;
  z[0] = 0;
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW && sqlite3_column_text(pStmt, 0) ){
    sqlite3_snprintf(nz, z, "%s", (const char*)sqlite3_column_text(pStmt, 0));
  }
  sqlite3_finalize(pStmt);
}

/* Stop and free pCk: the thread joined, its connection closed. */
static void streamCkptFree(StreamCkpt *pCk){
  pthread_mutex_lock(&pCk->mu);
  pCk->bStop = 1;
  pthread_cond_signal(&pCk->cv);
  pthread_mutex_unlock(&pCk->mu);
  pthread_join(pCk->thread, 0);
  pthread_cond_destroy(&pCk->cv);
  pthread_mutex_destroy(&pCk->mu);
  sqlite3_close_v2(pCk->dbCk);
  sqlite3_free(pCk->zErrLast);
  sqlite3_free(pCk);
}

int sqlite3StreamCheckpointerStart(StreamCtx *p, char **pzErr){
  char zMode[32], zAuto[32];
  const char *zFile = sqlite3_db_filename(p->db, "main");
  sqlite3_vfs *pVfs = 0;
  StreamCkpt *pCk;
  int nAuto, rc;
  streamCkptPragma(p->db, "PRAGMA main.wal_autocheckpoint", zAuto,
                   sizeof(zAuto));
  nAuto = atoi(zAuto);
  if( p->pCkpt ){
    /* On already: take wal_autocheckpoint again if it was set since (the
    ** PRAGMA put SQLite's hook back), and the hook. */
    if( nAuto>0 ) p->pCkpt->nAuto = nAuto;
    sqlite3_wal_hook(p->db, streamCkptHook, p->pCkpt);
    return SQLITE_OK;
  }
  if( sqlite3_threadsafe()==0 ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR, "the checkpointer needs a "
        "SQLite built with threads (this one has SQLITE_THREADSAFE=0)");
  }
  if( zFile==0 || zFile[0]==0 ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR, "the checkpointer needs a "
        "database file in WAL mode: main is in memory or temporary");
  }
  if( sqlite3_uri_boolean(zFile, "nolock", 0)
   || sqlite3_uri_boolean(zFile, "immutable", 0)
   || sqlite3_db_readonly(p->db, "main")==1 ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR, "the checkpointer needs a "
        "writable database with locking: main is read-only, immutable or "
        "opened with nolock");
  }
  streamCkptPragma(p->db, "PRAGMA main.journal_mode", zMode, sizeof(zMode));
  if( sqlite3_stricmp(zMode, "wal")!=0 ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR, "the checkpointer needs a "
        "database file in WAL mode: main's journal_mode is %s",
        zMode[0] ? zMode : "unknown");
  }
  streamCkptPragma(p->db, "PRAGMA main.locking_mode", zMode, sizeof(zMode));
  if( sqlite3_stricmp(zMode, "normal")!=0 ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR, "the checkpointer needs "
        "locking_mode NORMAL (another connection checkpoints): main's is %s",
        zMode[0] ? zMode : "unknown");
  }
  if( nAuto<=0 ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR, "the checkpointer takes over "
        "wal_autocheckpoint, which is 0 on this connection (off, or a WAL "
        "hook of the application's): set PRAGMA wal_autocheckpoint first");
  }
  pCk = sqlite3_malloc64(sizeof(*pCk));
  if( pCk==0 ) return SQLITE_NOMEM;
  memset(pCk, 0, sizeof(*pCk));
  pCk->db = p->db;
  pCk->nAuto = nAuto;
  pCk->iAskedCycle = -1;
  pCk->iInlineCycle = -1;
  sqlite3_file_control(p->db, "main", SQLITE_FCNTL_VFS_POINTER, &pVfs);
  rc = sqlite3_open_v2(zFile, &pCk->dbCk,
                       SQLITE_OPEN_READWRITE|SQLITE_OPEN_FULLMUTEX,
                       pVfs ? pVfs->zName : 0);
  if( rc==SQLITE_OK && sqlite3_db_mutex(pCk->dbCk)==0 ){
    /* Asked for a mutex and got none: SQLite was configured single-thread
    ** at run time (SQLITE_CONFIG_SINGLETHREAD), so that its global state
    ** is not guarded either. */
    sqlite3_close_v2(pCk->dbCk);
    sqlite3_free(pCk);
    return sqlite3StreamErr(pzErr, SQLITE_ERROR, "the checkpointer needs a "
        "SQLite with threads: this one is configured single-thread");
  }
  if( rc==SQLITE_OK ){
    /* Both syncs of every checkpoint (see the header comment). */
    rc = sqlite3_exec(pCk->dbCk, "PRAGMA synchronous=FULL", 0, 0, 0);
  }
  if( rc ){
    rc = sqlite3StreamErr(pzErr, rc, "the checkpointer cannot open its "
        "connection: %s", pCk->dbCk ? sqlite3_errmsg(pCk->dbCk)
                                    : sqlite3_errstr(rc));
    sqlite3_close_v2(pCk->dbCk);
    sqlite3_free(pCk);
    return rc;
  }
  if( pthread_mutex_init(&pCk->mu, 0)==0 ){
    if( pthread_cond_init(&pCk->cv, 0)==0 ){
      if( (rc = pthread_create(&pCk->thread, 0, streamCkptMain, pCk))==0 ){
        p->pCkpt = pCk;
        sqlite3_wal_hook(p->db, streamCkptHook, pCk);
        return SQLITE_OK;
      }
      pthread_cond_destroy(&pCk->cv);
    }
    pthread_mutex_destroy(&pCk->mu);
  }
  sqlite3_close_v2(pCk->dbCk);
  sqlite3_free(pCk);
  return sqlite3StreamErr(pzErr, SQLITE_ERROR, "the checkpointer cannot start "
      "its thread");
}

void sqlite3StreamCheckpointerStop(StreamCtx *p, int bClosing){
  StreamCkpt *pCk = p->pCkpt;
  if( pCk==0 ) return;
  p->pCkpt = 0;
  /* SQLite's autocheckpoint again (not while the connection closes: it
  ** commits nothing more, and its API is closed to calls then). */
  if( !bClosing ) sqlite3_wal_autocheckpoint(p->db, pCk->nAuto);
  streamCkptFree(pCk);
}

char *sqlite3StreamCheckpointerStatus(StreamCtx *p){
  StreamCkpt *pCk = p->pCkpt;
  sqlite3_str *pStr;
  if( pCk==0 ) return sqlite3_mprintf("{\"on\":0}");
  pStr = sqlite3_str_new(0);
  pthread_mutex_lock(&pCk->mu);
  sqlite3_str_appendf(pStr, "{\"on\":1,\"wal_autocheckpoint\":%d,"
      "\"checkpoints\":%lld,\"busy\":%lld,\"errors\":%lld,\"last_error\":",
      pCk->nAuto, pCk->nRun, pCk->nBusy, pCk->nErr);
  if( pCk->zErrLast ){
    sqlite3StreamJsonQuote(pStr, pCk->zErrLast, -1);
  }else{
    sqlite3_str_appendall(pStr, "null");
  }
  sqlite3_str_appendf(pStr, ",\"inline\":%lld,\"inline_us\":%lld,"
      "\"inline_max_us\":%lld,\"restarts\":%lld}", pCk->nInline,
      pCk->nInlineUs, pCk->nInlineMaxUs, pCk->nRestart);
  pthread_mutex_unlock(&pCk->mu);
  return sqlite3_str_finish(pStr);
}

#else /* !STREAM_CKPT_THREADS */

int sqlite3StreamCheckpointerStart(StreamCtx *p, char **pzErr){
  STREAM_UNUSED(p);
  return sqlite3StreamErr(pzErr, SQLITE_ERROR, "the checkpointer needs "
                          "POSIX threads, which this build has not");
}
void sqlite3StreamCheckpointerStop(StreamCtx *p, int bClosing){
  STREAM_UNUSED(p); STREAM_UNUSED(bClosing);
}
char *sqlite3StreamCheckpointerStatus(StreamCtx *p){
  STREAM_UNUSED(p);
  return sqlite3_mprintf("{\"on\":0}");
}

#endif /* STREAM_CKPT_THREADS */
