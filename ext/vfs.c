/*
** vfs.c - the "stream" shim VFS, which owns two PRAGMAs:
**
**   PRAGMA stream_compact;               -- every compacted partition due
**   PRAGMA stream_compact('user-profiles');  -- one topic, now
**   PRAGMA stream_compaction;            -- dirty ratio, clean point, ...
**   PRAGMA stream_compaction('user-profiles');
**
** SQLite hands a PRAGMA it does not know to the VFS of the database file
** as SQLITE_FCNTL_PRAGMA (ext/misc/cksumvfs.c in SQLite owns "PRAGMA
** checksum_verification" the same way).  So the PRAGMAs exist only for
** databases whose file was opened through this VFS:
**
**   sqlite3_open_v2("app.db", &db, flags, "stream")  or  file:app.db?vfs=stream
**   SELECT stream_vfs_default(1);  -- then later opens use it by default
**
** and only on connections where the extension is loaded (they need its
** state).  stream_compact() and stream_compaction() are always available.
**
** The shim is registered once per process, over the default VFS of the
** time, when the extension is first loaded; it is not made the default
** unless asked (stream_vfs_default(1), or build with -DSTREAM_VFS_DEFAULT).
** It passes every call straight to the VFS below: journal and WAL files
** are opened by that VFS directly (no shim at all), and the main database
** file gets one indirection per call and no change to its bytes.
**
** How the PRAGMA finds its connection: the VFS has no database handle,
** but SQLite sends SQLITE_FCNTL_PDB to a database file when it opens its
** B-tree, with the address of the B-tree's connection pointer; the shim
** keeps it.  The PRAGMA then runs in that connection, inside its current
** transaction, through a savepoint, and only for the main database (the
** storage tables live there).  Limits, as for any VFS-owned PRAGMA:
**
**   - SQLite calls the VFS while it *prepares* the PRAGMA: the work is
**     done by sqlite3_prepare(), the statement only returns the result.
**     PRAGMA statements run once (SQLite re-prepares them on each later
**     execution), so a cached statement still does the work every time;
**     EXPLAIN PRAGMA stream_compact does it too.
**   - The result is one text value: a JSON object (stream_compact) or
**     array (stream_compaction).
*/
#include "streamInt.h"
#include <string.h>

typedef struct StreamVfsFile StreamVfsFile;
struct StreamVfsFile {
  sqlite3_file base;           /* Base class - must be first */
  sqlite3 **ppDb;              /* From SQLITE_FCNTL_PDB, or NULL */
};

/* The VFS below, and the file object below ours. */
#define STREAM_VFS_ORIG(p)  ((sqlite3_vfs*)((p)->pAppData))
#define STREAM_VFS_SUB(p)   ((sqlite3_file*)(((StreamVfsFile*)(p))+1))

static int streamVfsClose(sqlite3_file *pFile){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  return pSub->pMethods->xClose(pSub);
}
static int streamVfsRead(sqlite3_file *pFile, void *zBuf, int iAmt,
                         sqlite3_int64 iOfst){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  return pSub->pMethods->xRead(pSub, zBuf, iAmt, iOfst);
}
static int streamVfsWrite(sqlite3_file *pFile, const void *zBuf, int iAmt,
                          sqlite3_int64 iOfst){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  return pSub->pMethods->xWrite(pSub, zBuf, iAmt, iOfst);
}
static int streamVfsTruncate(sqlite3_file *pFile, sqlite3_int64 size){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  return pSub->pMethods->xTruncate(pSub, size);
}
static int streamVfsSync(sqlite3_file *pFile, int flags){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  return pSub->pMethods->xSync(pSub, flags);
}
static int streamVfsFileSize(sqlite3_file *pFile, sqlite3_int64 *pSize){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  return pSub->pMethods->xFileSize(pSub, pSize);
}
static int streamVfsLock(sqlite3_file *pFile, int eLock){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  return pSub->pMethods->xLock(pSub, eLock);
}
static int streamVfsUnlock(sqlite3_file *pFile, int eLock){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  return pSub->pMethods->xUnlock(pSub, eLock);
}
static int streamVfsCheckReservedLock(sqlite3_file *pFile, int *pResOut){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  return pSub->pMethods->xCheckReservedLock(pSub, pResOut);
}
static int streamVfsSectorSize(sqlite3_file *pFile){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  return pSub->pMethods->xSectorSize(pSub);
}
static int streamVfsDeviceCharacteristics(sqlite3_file *pFile){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  return pSub->pMethods->xDeviceCharacteristics(pSub);
}
static int streamVfsShmMap(sqlite3_file *pFile, int iPg, int pgsz, int bExtend,
                           void volatile **pp){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  return pSub->pMethods->xShmMap(pSub, iPg, pgsz, bExtend, pp);
}
static int streamVfsShmLock(sqlite3_file *pFile, int offset, int n,
                            int flags){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  return pSub->pMethods->xShmLock(pSub, offset, n, flags);
}
static void streamVfsShmBarrier(sqlite3_file *pFile){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  pSub->pMethods->xShmBarrier(pSub);
}
static int streamVfsShmUnmap(sqlite3_file *pFile, int deleteFlag){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  return pSub->pMethods->xShmUnmap(pSub, deleteFlag);
}
static int streamVfsFetch(sqlite3_file *pFile, sqlite3_int64 iOfst, int iAmt,
                          void **pp){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  if( pSub->pMethods->iVersion>2 && pSub->pMethods->xFetch ){
    return pSub->pMethods->xFetch(pSub, iOfst, iAmt, pp);
  }
  *pp = 0;
  return SQLITE_OK;
}
static int streamVfsUnfetch(sqlite3_file *pFile, sqlite3_int64 iOfst,
                            void *pPage){
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  if( pSub->pMethods->iVersion>2 && pSub->pMethods->xUnfetch ){
    return pSub->pMethods->xUnfetch(pSub, iOfst, pPage);
  }
  return SQLITE_OK;
}

/*
** Run PRAGMA azArg[1] (argument azArg[2] or NULL) for the connection that
** owns file p.  On success azArg[0] is the result text; on error it is
** the message and an error code is returned.
*/
static int streamVfsPragma(StreamVfsFile *p, char **azArg){
  sqlite3 *db = p->ppDb ? *p->ppDb : 0;
  sqlite3_file *pMain = 0;
  sqlite3_stmt *pStmt = 0;
  StreamCtx *pCtx = 0;
  char *zOut = 0, *zErr = 0;
  int rc;
  if( db==0 ){
    azArg[0] = sqlite3_mprintf(STREAM_ERR "PRAGMA %s: no connection known"
                               " for this file", azArg[1]);
    return SQLITE_ERROR;
  }
  sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &pMain);
  if( pMain!=&p->base ){
    azArg[0] = sqlite3_mprintf(STREAM_ERR "PRAGMA %s applies to the main"
                               " database only", azArg[1]);
    return SQLITE_ERROR;
  }
  /* The connection's StreamCtx, if the extension is loaded on it. */
  rc = sqlite3_prepare_v2(db, "SELECT stream_ctx_ptr(?1)", -1, &pStmt, 0);
  if( rc==SQLITE_OK ){
    sqlite3_bind_pointer(pStmt, 1, &pCtx, "stream_ctx_ptr", 0);
    sqlite3_step(pStmt);
  }
  sqlite3_finalize(pStmt);
  if( pCtx==0 ){
    azArg[0] = sqlite3_mprintf(STREAM_ERR "PRAGMA %s needs the sqlite-stream"
                               " extension loaded on this connection",
                               azArg[1]);
    return SQLITE_ERROR;
  }
  rc = sqlite3StreamPragma(pCtx, azArg[1], azArg[2], &zOut, &zErr);
  if( rc!=SQLITE_OK ){
    azArg[0] = zErr ? zErr : sqlite3_mprintf("%s", sqlite3_errstr(rc));
    return rc==SQLITE_NOTFOUND ? SQLITE_ERROR : rc;
  }
  azArg[0] = zOut;
  return SQLITE_OK;
}

static int streamVfsFileControl(sqlite3_file *pFile, int op, void *pArg){
  StreamVfsFile *p = (StreamVfsFile*)pFile;
  sqlite3_file *pSub = STREAM_VFS_SUB(pFile);
  int rc;
  if( op==SQLITE_FCNTL_PDB ){
    p->ppDb = (sqlite3**)pArg;
  }else if( op==SQLITE_FCNTL_PRAGMA ){
    char **azArg = (char**)pArg;
    if( sqlite3_stricmp(azArg[1], "stream_compact")==0
     || sqlite3_stricmp(azArg[1], "stream_compaction")==0 ){
      return streamVfsPragma(p, azArg);
    }
  }
  rc = pSub->pMethods->xFileControl(pSub, op, pArg);
  if( rc==SQLITE_OK && op==SQLITE_FCNTL_VFSNAME ){
    *(char**)pArg = sqlite3_mprintf("stream/%z", *(char**)pArg);
  }
  return rc;
}

static const sqlite3_io_methods streamVfsIoMethods = {
  3,                              /* iVersion */
  streamVfsClose,                 /* xClose */
  streamVfsRead,                  /* xRead */
  streamVfsWrite,                 /* xWrite */
  streamVfsTruncate,              /* xTruncate */
  streamVfsSync,                  /* xSync */
  streamVfsFileSize,              /* xFileSize */
  streamVfsLock,                  /* xLock */
  streamVfsUnlock,                /* xUnlock */
  streamVfsCheckReservedLock,     /* xCheckReservedLock */
  streamVfsFileControl,           /* xFileControl */
  streamVfsSectorSize,            /* xSectorSize */
  streamVfsDeviceCharacteristics, /* xDeviceCharacteristics */
  streamVfsShmMap,                /* xShmMap */
  streamVfsShmLock,               /* xShmLock */
  streamVfsShmBarrier,            /* xShmBarrier */
  streamVfsShmUnmap,              /* xShmUnmap */
  streamVfsFetch,                 /* xFetch */
  streamVfsUnfetch                /* xUnfetch */
};

/* Only main database files get the shim; the rest go straight down. */
static int streamVfsOpen(sqlite3_vfs *pVfs, const char *zName,
                         sqlite3_file *pFile, int flags, int *pOutFlags){
  sqlite3_vfs *pOrig = STREAM_VFS_ORIG(pVfs);
  StreamVfsFile *p = (StreamVfsFile*)pFile;
  int rc;
  if( (flags & SQLITE_OPEN_MAIN_DB)==0 ){
    return pOrig->xOpen(pOrig, zName, pFile, flags, pOutFlags);
  }
  memset(p, 0, sizeof(*p));
  rc = pOrig->xOpen(pOrig, zName, STREAM_VFS_SUB(pFile), flags, pOutFlags);
  pFile->pMethods = rc==SQLITE_OK ? &streamVfsIoMethods : 0;
  return rc;
}

static int streamVfsDelete(sqlite3_vfs *pVfs, const char *zPath, int dirSync){
  return STREAM_VFS_ORIG(pVfs)->xDelete(STREAM_VFS_ORIG(pVfs), zPath, dirSync);
}
static int streamVfsAccess(sqlite3_vfs *pVfs, const char *zPath, int flags,
                           int *pResOut){
  return STREAM_VFS_ORIG(pVfs)->xAccess(STREAM_VFS_ORIG(pVfs), zPath, flags,
                                        pResOut);
}
static int streamVfsFullPathname(sqlite3_vfs *pVfs, const char *zPath,
                                 int nOut, char *zOut){
  return STREAM_VFS_ORIG(pVfs)->xFullPathname(STREAM_VFS_ORIG(pVfs), zPath,
                                              nOut, zOut);
}
static void *streamVfsDlOpen(sqlite3_vfs *pVfs, const char *zPath){
  return STREAM_VFS_ORIG(pVfs)->xDlOpen(STREAM_VFS_ORIG(pVfs), zPath);
}
static void streamVfsDlError(sqlite3_vfs *pVfs, int nByte, char *zErrMsg){
  STREAM_VFS_ORIG(pVfs)->xDlError(STREAM_VFS_ORIG(pVfs), nByte, zErrMsg);
}
static void (*streamVfsDlSym(sqlite3_vfs *pVfs, void *p,
                             const char *zSym))(void){
  return STREAM_VFS_ORIG(pVfs)->xDlSym(STREAM_VFS_ORIG(pVfs), p, zSym);
}
static void streamVfsDlClose(sqlite3_vfs *pVfs, void *pHandle){
  STREAM_VFS_ORIG(pVfs)->xDlClose(STREAM_VFS_ORIG(pVfs), pHandle);
}
static int streamVfsRandomness(sqlite3_vfs *pVfs, int nByte, char *zBufOut){
  return STREAM_VFS_ORIG(pVfs)->xRandomness(STREAM_VFS_ORIG(pVfs), nByte,
                                            zBufOut);
}
static int streamVfsSleep(sqlite3_vfs *pVfs, int nMicro){
  return STREAM_VFS_ORIG(pVfs)->xSleep(STREAM_VFS_ORIG(pVfs), nMicro);
}
static int streamVfsCurrentTime(sqlite3_vfs *pVfs, double *pTimeOut){
  return STREAM_VFS_ORIG(pVfs)->xCurrentTime(STREAM_VFS_ORIG(pVfs), pTimeOut);
}
static int streamVfsGetLastError(sqlite3_vfs *pVfs, int a, char *b){
  return STREAM_VFS_ORIG(pVfs)->xGetLastError(STREAM_VFS_ORIG(pVfs), a, b);
}
static int streamVfsCurrentTimeInt64(sqlite3_vfs *pVfs, sqlite3_int64 *p){
  sqlite3_vfs *pOrig = STREAM_VFS_ORIG(pVfs);
  if( pOrig->iVersion>=2 && pOrig->xCurrentTimeInt64 ){
    return pOrig->xCurrentTimeInt64(pOrig, p);
  }else{
    double r = 0.0;
    int rc = pOrig->xCurrentTime(pOrig, &r);
    *p = (sqlite3_int64)(r*86400000.0);
    return rc;
  }
}
static int streamVfsSetSystemCall(sqlite3_vfs *pVfs, const char *zName,
                                  sqlite3_syscall_ptr pCall){
  return STREAM_VFS_ORIG(pVfs)->xSetSystemCall(STREAM_VFS_ORIG(pVfs), zName,
                                               pCall);
}
static sqlite3_syscall_ptr streamVfsGetSystemCall(sqlite3_vfs *pVfs,
                                                  const char *zName){
  return STREAM_VFS_ORIG(pVfs)->xGetSystemCall(STREAM_VFS_ORIG(pVfs), zName);
}
static const char *streamVfsNextSystemCall(sqlite3_vfs *pVfs,
                                           const char *zName){
  return STREAM_VFS_ORIG(pVfs)->xNextSystemCall(STREAM_VFS_ORIG(pVfs), zName);
}

static sqlite3_vfs streamVfs = {
  3,                            /* iVersion (set when registered) */
  0,                            /* szOsFile (set when registered) */
  1024,                         /* mxPathname (set when registered) */
  0,                            /* pNext */
  "stream",                     /* zName */
  0,                            /* pAppData: the VFS below */
  streamVfsOpen,                /* xOpen */
  streamVfsDelete,              /* xDelete */
  streamVfsAccess,              /* xAccess */
  streamVfsFullPathname,        /* xFullPathname */
  streamVfsDlOpen,              /* xDlOpen */
  streamVfsDlError,             /* xDlError */
  streamVfsDlSym,               /* xDlSym */
  streamVfsDlClose,             /* xDlClose */
  streamVfsRandomness,          /* xRandomness */
  streamVfsSleep,               /* xSleep */
  streamVfsCurrentTime,         /* xCurrentTime */
  streamVfsGetLastError,        /* xGetLastError */
  streamVfsCurrentTimeInt64,    /* xCurrentTimeInt64 */
  streamVfsSetSystemCall,       /* xSetSystemCall */
  streamVfsGetSystemCall,       /* xGetSystemCall */
  streamVfsNextSystemCall       /* xNextSystemCall */
};

int sqlite3StreamVfsRegister(int bDefault){
  sqlite3_vfs *pOrig;
  if( sqlite3_vfs_find("stream")!=0 ){
    return bDefault ? sqlite3_vfs_register(&streamVfs, 1) : SQLITE_OK;
  }
  pOrig = sqlite3_vfs_find(0);
  if( pOrig==0 ) return SQLITE_ERROR;
  streamVfs.iVersion = pOrig->iVersion<3 ? pOrig->iVersion : 3;
  streamVfs.szOsFile = pOrig->szOsFile + (int)sizeof(StreamVfsFile);
  streamVfs.mxPathname = pOrig->mxPathname;
  streamVfs.pAppData = pOrig;
  return sqlite3_vfs_register(&streamVfs, bDefault);
}

const char *sqlite3StreamVfsDefault(int bOn){
  sqlite3_vfs *pVfs = sqlite3_vfs_find("stream");
  sqlite3_vfs *pDef;
  if( pVfs==0 ) return 0;
  /* Another library's "stream" VFS: leave it alone. */
  if( pVfs!=&streamVfs ) return 0;
  sqlite3_vfs_register(bOn ? pVfs : STREAM_VFS_ORIG(pVfs), 1);
  pDef = sqlite3_vfs_find(0);
  return pDef ? pDef->zName : 0;
}
