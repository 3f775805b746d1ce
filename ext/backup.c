/*
** backup.c - stream_backup(dest): a consistent copy of the database and of
** the warm segment files it names, made in one read transaction.
**
**   SELECT stream_backup('/var/backups/app-2024-01-15');
**   -- {"segments":3,"bytes":20455}
**
** dest is a directory that does not exist yet (its parent must) or is
** empty; a relative path is relative to the process's working directory,
** as for VACUUM INTO.  It receives
**
**   dest/<name>        the database (<name>: the main database file's
**                      name), copied with the backup API
**   dest/warm/<key>    the file of every segment row of that copy, under
**                      its key (the db=<id>/ namespace included)
**
** and, when the database has segment rows or a warm.store, the copy's
** warm.store becomes 'file://<dest>/warm': the copy reads its own files and
** never writes into, or sweeps, the original's store.  Segments of topics
** with a warm.store of their own are copied too, from their store, into
** the same directory: in the copy every segment row is in that one store
** and no topic keeps a store of its own (topic config warm.store removed),
** so the copy never writes into any store of the original either.  database.id is
** kept: a backup restored in place of the original continues its
** namespace.  Without segment rows and warm.store, dest holds the
** database file only.  The result: segment files copied and their bytes.
**
** Consistency.  The database copy and the segment rows come from one read
** transaction, held until every file is copied.  A file is immutable once
** a row names it (a compaction rewrite writes a new name) and is deleted
** only after the transaction that drops its row commits (ext/tier.c).  In
** rollback-journal mode the read transaction keeps such a commit out until
** the copy is done; under WAL another connection can commit and delete a
** file the snapshot still names.  So a missing file is taken for that
** race: the attempt is undone and the backup starts again with a new
** snapshot, which no longer names the file.  The same file missing again,
** or missing when the snapshot cannot be renewed (stream_backup() inside
** the caller's transaction), is an error: the store has lost it.  At most
** STREAM_BACKUP_ATTEMPTS attempts.  Each file is written as the store
** writes segments (temporary name, fsync, rename, directory fsync); the
** database by SQLite.
**
** SQLITE_DIRECTONLY: it writes files wherever the process may, so a
** database's triggers and views must not reach it.
*/
#include "streamInt.h"
#include <string.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>

/* Attempts before a file missing in every snapshot is an error. */
#define STREAM_BACKUP_ATTEMPTS 5
/* Bytes copied per read. */
#define STREAM_BACKUP_CHUNK    65536

/* A segment row of the snapshot. */
typedef struct StreamBackupSeg StreamBackupSeg;
struct StreamBackupSeg {
  char *zKey;                  /* location */
  i64 nBytes;                  /* bytes */
  char *zAt;                   /* store ("": the database's warm.store) */
};

typedef struct StreamBackup StreamBackup;
struct StreamBackup {
  StreamCtx *p;                /* Connection backed up */
  char *zDir;                  /* Destination directory, absolute */
  char *zDb;                   /* zDir/<name of the database file> */
  char *zWarm;                 /* zDir/warm */
  int bCreated;                /* zDir made by this call */
  int bRenew;                  /* Each attempt may take a new snapshot */
  StreamBackupSeg *aSeg;       /* Segment rows of this attempt */
  int nSeg;                    /* Used in aSeg */
  int nCopied;                 /* Files of aSeg copied so far */
  i64 nBytes;                  /* Their bytes */
  char *zMissing;              /* Key found missing by an attempt */
  StreamStore *pSrc;           /* The database's store, or NULL */
  int bDb;                     /* Some segment row is in pSrc */
  int bOwn;                    /* Some is in a topic's own store */
  StreamStore *pDst;           /* zWarm as a store, or NULL */
};

#ifdef STREAM_TEST_HOOKS
/* STREAM_BACKUP_PAUSE=F: after the first attempt has copied the database,
** create F.ready and wait (at most 60 s) until F exists; tests race a
** deletion against the copy of the files there. */
static void streamBackupPause(void){
  const char *zF = getenv("STREAM_BACKUP_PAUSE");
  char *zReady;
  int i, fd;
  if( zF==0 || zF[0]==0 ) return;
  zReady = sqlite3_mprintf("%s.ready", zF);
  if( zReady==0 ) return;
  fd = open(zReady, O_WRONLY|O_CREAT|O_CLOEXEC, 0644);
  if( fd>=0 ) close(fd);
  for(i=0; i<6000 && access(zF, F_OK)!=0; i++) usleep(10000);
  sqlite3_free(zReady);
}
#endif

static void streamBackupSegsFree(StreamBackup *pB){
  int i;
  for(i=0; i<pB->nSeg; i++){
    sqlite3_free(pB->aSeg[i].zKey);
    sqlite3_free(pB->aSeg[i].zAt);
  }
  sqlite3_free(pB->aSeg);
  pB->aSeg = 0;
  pB->nSeg = 0;
  pB->nCopied = 0;
  pB->nBytes = 0;
  pB->bDb = pB->bOwn = 0;
}

/* The segment rows of the snapshot (none without storage tables). */
static int streamBackupSegs(StreamBackup *pB, char **pzErr){
  StreamCtx *p = pB->p;
  sqlite3_stmt *pStmt = sqlite3StreamAuxStmt(p, STREAM_AUX_SEG_FILES, pzErr);
  int rc = SQLITE_OK;
  if( pStmt==0 ) return sqlite3StreamAuxNoStorage(p, sqlite3StreamStmtErr(p),
                                                  pzErr);
  while( sqlite3_step(pStmt)==SQLITE_ROW ){
    StreamBackupSeg *aNew = sqlite3_realloc64(pB->aSeg,
                                              sizeof(*aNew)*(pB->nSeg+1));
    if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
    pB->aSeg = aNew;
    aNew[pB->nSeg].zKey = sqlite3_mprintf("%s",
                                          sqlite3_column_text(pStmt, 0));
    aNew[pB->nSeg].nBytes = sqlite3_column_int64(pStmt, 1);
    aNew[pB->nSeg].zAt = sqlite3_mprintf("%s",
        sqlite3_column_type(pStmt, 2)==SQLITE_NULL ? ""
        : (const char*)sqlite3_column_text(pStmt, 2));
    pB->nSeg++;
    if( aNew[pB->nSeg-1].zKey==0 || aNew[pB->nSeg-1].zAt==0 ){
      rc = SQLITE_NOMEM;
      break;
    }
    if( aNew[pB->nSeg-1].zAt[0] ) pB->bOwn = 1;
    else pB->bDb = 1;
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamStorageReset(p, pStmt, pzErr);
    return rc ? sqlite3StreamAuxNoStorage(p, rc, pzErr) : SQLITE_OK;
  }
  sqlite3_reset(pStmt);
  return rc;
}

/* Copy the file of segment row pSeg into the destination store.  A file
** missing for the first time sets *pbRetry (a new snapshot may not name
** it). */
static int streamBackupCopy(StreamBackup *pB, const StreamBackupSeg *pSeg,
                            int *pbRetry, char **pzErr){
  const StreamStoreMethods *pM;
  StreamStore *pSrc = 0;
  StreamStoreFile *pF = 0;
  StreamStoreUpload *pUp = 0;
  StreamStoreId id;
  u8 *aBuf = 0;
  i64 nFile = 0, iOff;
  /* Its store: the database's, or its topic's own. */
  int rc = sqlite3StreamWarmSegStore(pB->p, pB->pSrc, pSeg->zAt, &pSrc,
                                     pzErr);
  if( rc==SQLITE_OK && pSrc==0 ){
    rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "warm segment %s is in the"
        " index but there is no warm store", pSeg->zKey);
  }
  if( rc ) return rc;
  pM = pSrc->pMethods;
  rc = pM->xOpen(pSrc, pSeg->zKey, &pF, &nFile, pzErr);
  if( rc ){
    if( rc!=SQLITE_NOMEM && pB->bRenew && pM->xStat
     && pM->xStat(pSrc, pSeg->zKey, &id)==SQLITE_NOTFOUND
     && (pB->zMissing==0 || strcmp(pB->zMissing, pSeg->zKey)!=0) ){
      sqlite3_free(pB->zMissing);
      pB->zMissing = sqlite3_mprintf("%s", pSeg->zKey);
      *pbRetry = pB->zMissing!=0;
    }
    sqlite3StreamStoreUnref(pSrc);
    return rc;
  }
  if( nFile!=pSeg->nBytes ){
    rc = sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "warm segment %s does not"
        " match its segment row: the file is %lld bytes, the row says %lld",
        pSeg->zKey, nFile, pSeg->nBytes);
    goto out;
  }
  aBuf = sqlite3_malloc64(STREAM_BACKUP_CHUNK);
  if( aBuf==0 ){ rc = SQLITE_NOMEM; goto out; }
  rc = pB->pDst->pMethods->xPutBegin(pB->pDst, pSeg->zKey, &pUp, pzErr);
  for(iOff=0; rc==SQLITE_OK && iOff<nFile; iOff+=STREAM_BACKUP_CHUNK){
    size_t n = (size_t)(nFile-iOff<STREAM_BACKUP_CHUNK ? nFile-iOff
                                                       : STREAM_BACKUP_CHUNK);
    rc = pM->xRead(pF, aBuf, n, iOff);
    if( rc ){
      /* The store's message says why (the file changed or removed under
      ** the backup, ...), else the code does. */
      const char *z = sqlite3StreamStoreFileErr(pSrc, pF, rc);
      rc = sqlite3StreamErr(pzErr, z ? SQLITE_IOERR : rc, "cannot read warm"
                            " segment %s: %s", pSeg->zKey,
                            z ? z : sqlite3_errstr(rc));
    }else{
      rc = pB->pDst->pMethods->xPutWrite(pUp, aBuf, n, pzErr);
    }
  }
  if( rc==SQLITE_OK ){
    rc = pB->pDst->pMethods->xPutCommit(pUp, pzErr);
    pUp = 0;
    if( rc==SQLITE_OK ) pB->nBytes += nFile;
  }
 out:
  if( pUp ) pB->pDst->pMethods->xPutAbort(pUp);
  sqlite3_free(aBuf);
  pM->xClose(pF);
  sqlite3StreamStoreUnref(pSrc);
  return rc;
}

/* Remove what an attempt wrote (the files copied and the directories made
** for them, the database). */
static void streamBackupUndo(StreamBackup *pB){
  int i;
  char *z;
  for(i=0; pB->pDst && i<pB->nSeg; i++){
    pB->pDst->pMethods->xDelete(pB->pDst, pB->aSeg[i].zKey, 0);
  }
  rmdir(pB->zWarm);
  unlink(pB->zDb);
  for(i=0; i<3; i++){
    z = sqlite3_mprintf("%s-%s", pB->zDb, i==0 ? "journal" : i==1 ? "wal"
                                                            : "shm");
    if( z ) unlink(z);
    sqlite3_free(z);
  }
}

/* The copy's warm.store: its own directory. */
static int streamBackupSetStore(StreamBackup *pB, sqlite3 *pDest,
                                char **pzErr){
  char *zUrl;
  int rc;
  if( mkdir(pB->zWarm, 0777)!=0 && errno!=EEXIST ){
    return sqlite3StreamErr(pzErr, SQLITE_CANTOPEN, "cannot create %s: %s",
                            pB->zWarm, strerror(errno));
  }
  zUrl = sqlite3_mprintf("file://%s", pB->zWarm);
  if( zUrl==0 ) return SQLITE_NOMEM;
  rc = sqlite3StreamMetaSetOn(pDest, "warm.store", zUrl, pzErr);
  sqlite3_free(zUrl);
  return rc;
}

/* One attempt: snapshot, database, files, warm.store of the copy. */
static int streamBackupAttempt(StreamBackup *pB, int *pbRetry, char **pzErr){
  StreamCtx *p = pB->p;
  sqlite3 *pDest = 0;
  sqlite3_backup *pBk;
  char *zStore = 0;
  int rc, rc2, i;
  *pbRetry = 0;
  rc = sqlite3_exec(p->db, "SAVEPOINT stream_backup", 0, 0, 0);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  /* The read transaction: its snapshot is what is copied. */
  rc = sqlite3_exec(p->db, "SELECT count(*) FROM sqlite_schema", 0, 0, 0);
  if( rc ) rc = sqlite3StreamDbErr(p->db, pzErr, rc);
  if( rc==SQLITE_OK ) rc = streamBackupSegs(pB, pzErr);
  if( rc==SQLITE_OK ){
    zStore = sqlite3StreamMetaGet(p, "warm.store", &rc);
    if( rc ) rc = sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  if( rc==SQLITE_OK && pB->bDb ){
    rc = sqlite3StreamTierStore(p, &pB->pSrc, pzErr);
    if( rc==SQLITE_OK && pB->pSrc==0 ) rc = SQLITE_INTERNAL;  /* (a file) */
  }
  if( rc==SQLITE_OK && !pB->bOwn ){
    /* Topics with a store of their own but no segment there yet. */
    StreamStrList l;
    memset(&l, 0, sizeof(l));
    rc = sqlite3StreamAuxList(p, STREAM_AUX_STORES, &l, pzErr, "");
    pB->bOwn = l.n>0;
    sqlite3StreamStrListFree(&l);
  }

  /* The database. */
  if( rc==SQLITE_OK ){
    rc = sqlite3_open_v2(pB->zDb, &pDest,
                         SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE, 0);
    if( rc==SQLITE_OK ){
      /* The copy's own schema runs nothing while its setting is written. */
      sqlite3_db_config(pDest, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, (int*)0);
      pBk = sqlite3_backup_init(pDest, "main", p->db, "main");
      if( pBk ){
        sqlite3_backup_step(pBk, -1);
        rc = sqlite3_backup_finish(pBk);
      }else{
        rc = sqlite3_errcode(pDest);
      }
    }
    if( rc ){
      rc = sqlite3StreamErr(pzErr, rc, "cannot write backup database %s: %s",
          pB->zDb, pDest ? sqlite3_errmsg(pDest) : sqlite3_errstr(rc));
    }
  }
#ifdef STREAM_TEST_HOOKS
  if( rc==SQLITE_OK && pB->zMissing==0 ) streamBackupPause();
#endif

  /* The files. */
  if( rc==SQLITE_OK && (pB->nSeg>0 || zStore || pB->bOwn) ){
    char *zUrl = sqlite3_mprintf("file://%s", pB->zWarm);
    rc = zUrl ? sqlite3StreamStoreOpen(zUrl, 1, &pB->pDst, pzErr)
              : SQLITE_NOMEM;
    sqlite3_free(zUrl);
    for(i=0; rc==SQLITE_OK && i<pB->nSeg; i++){
      rc = streamBackupCopy(pB, &pB->aSeg[i], pbRetry, pzErr);
      if( rc==SQLITE_OK ) pB->nCopied++;
    }
    if( rc==SQLITE_OK ) rc = streamBackupSetStore(pB, pDest, pzErr);
    if( rc==SQLITE_OK && pB->bOwn ){
      rc = sqlite3StreamBackupOneStore(pDest, pzErr);
    }
  }
  rc2 = sqlite3_close(pDest);
  if( rc==SQLITE_OK && rc2 ){
    rc = sqlite3StreamErr(pzErr, rc2, "cannot close backup database %s: %s",
                          pB->zDb, sqlite3_errstr(rc2));
  }
  sqlite3_exec(p->db, "RELEASE stream_backup", 0, 0, 0);
  if( rc ) streamBackupUndo(pB);
  sqlite3_free(zStore);
  sqlite3StreamStoreUnref(pB->pSrc);
  sqlite3StreamStoreUnref(pB->pDst);
  pB->pSrc = pB->pDst = 0;
  return rc;
}

/* Check the destination and make it (or check that it is empty). */
static int streamBackupDest(StreamBackup *pB, const char *zArg,
                            char **pzErr){
  const char *zFile = sqlite3_db_filename(pB->p->db, "main");
  const char *zName;
  char *zUrl;
  size_t n;
  int rc;
  if( sqlite3_txn_state(pB->p->db, "main")==SQLITE_TXN_WRITE ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR, "stream_backup() cannot run"
        " in a transaction that has written: commit it first");
  }
  if( zFile==0 || zFile[0]==0 ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR, "stream_backup() needs a"
        " database file: this database is in memory or temporary");
  }
  zName = strrchr(zFile, '/');
  zName = zName ? zName+1 : zFile;
  if( zArg[0]=='/' ){
    pB->zDir = sqlite3_mprintf("%s", zArg);
  }else{
    char *zCwd = getcwd(0, 0);
    if( zCwd==0 ){
      return sqlite3StreamErr(pzErr, SQLITE_CANTOPEN, "cannot resolve backup"
          " destination %s: %s", zArg, strerror(errno));
    }
    pB->zDir = sqlite3_mprintf("%s/%s", zCwd, zArg);
    free(zCwd);
  }
  if( pB->zDir==0 ) return SQLITE_NOMEM;
  n = strlen(pB->zDir);
  while( n>1 && pB->zDir[n-1]=='/' ) pB->zDir[--n] = 0;
  pB->zDb = sqlite3_mprintf("%s/%s", pB->zDir, zName);
  pB->zWarm = sqlite3_mprintf("%s/warm", pB->zDir);
  zUrl = sqlite3_mprintf("file://%s", pB->zWarm);
  if( pB->zDb==0 || pB->zWarm==0 || zUrl==0 ){
    sqlite3_free(zUrl);
    return SQLITE_NOMEM;
  }
  /* The copy's warm.store must be a valid store URL. */
  rc = sqlite3StreamStoreUrlCheck(zUrl, pzErr);
  sqlite3_free(zUrl);
  if( rc ) return rc;
  if( mkdir(pB->zDir, 0777)==0 ){
    pB->bCreated = 1;
  }else if( errno==EEXIST ){
    struct stat st;
    DIR *d = 0;
    struct dirent *pEnt = 0;
    if( stat(pB->zDir, &st)==0 && S_ISDIR(st.st_mode) ){
      d = opendir(pB->zDir);
    }
    if( d==0 ){
      return sqlite3StreamErr(pzErr, SQLITE_CANTOPEN, "backup destination %s"
          " is not a directory", pB->zDir);
    }
    while( (pEnt = readdir(d))!=0
        && (strcmp(pEnt->d_name, ".")==0 || strcmp(pEnt->d_name, "..")==0) ){}
    closedir(d);
    if( pEnt ){
      return sqlite3StreamErr(pzErr, SQLITE_CANTOPEN, "backup destination %s"
          " is not empty", pB->zDir);
    }
  }else{
    return sqlite3StreamErr(pzErr, SQLITE_CANTOPEN, "cannot create backup"
        " destination %s: %s", pB->zDir, strerror(errno));
  }
  return SQLITE_OK;
}

void sqlite3StreamBackupFunc(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv){
  StreamBackup b;
  const char *zArg;
  char *zErr = 0;
  int rc, i, bRetry = 0;
  STREAM_UNUSED(argc);
  if( (zArg = sqlite3StreamArgText(ctx, argv, 0, "backup destination"))==0 ){
    return;
  }
  memset(&b, 0, sizeof(b));
  b.p = (StreamCtx*)sqlite3_user_data(ctx);
  b.bRenew = sqlite3_get_autocommit(b.p->db);
  rc = streamBackupDest(&b, zArg, &zErr);
  for(i=0; rc==SQLITE_OK && i<STREAM_BACKUP_ATTEMPTS; i++){
    streamBackupSegsFree(&b);
    rc = streamBackupAttempt(&b, &bRetry, &zErr);
    if( rc==SQLITE_OK || !bRetry || i+1==STREAM_BACKUP_ATTEMPTS ) break;
    sqlite3_free(zErr);
    zErr = 0;
    rc = SQLITE_OK;
  }
  if( rc && b.bCreated ) rmdir(b.zDir);
  if( rc ){
    sqlite3StreamResultErr(ctx, rc, zErr);
  }else{
    char *zOut = sqlite3_mprintf("{\"segments\":%d,\"bytes\":%lld}",
                                 b.nCopied, b.nBytes);
    if( zOut==0 ){
      sqlite3_result_error_nomem(ctx);
    }else{
      sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
      sqlite3_result_subtype(ctx, 'J');
    }
    sqlite3_free(zErr);
  }
  streamBackupSegsFree(&b);
  sqlite3_free(b.zMissing);
  sqlite3_free(b.zDir);
  sqlite3_free(b.zDb);
  sqlite3_free(b.zWarm);
}
