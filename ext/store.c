/*
** store.c - the object store behind the warm tier, and its one backend
** today: a local directory.
**
**   stream_config('warm.store', 'file:///var/lib/app/warm')
**
** The interface (StreamStoreMethods in streamInt.h) is what an S3 / R2 backend
** on libcurl will implement next: put an object (streamed, made visible
** atomically at commit), get a byte range, list by prefix, delete.
**
** Local backend.  An object "a/b/c.parquet" is the file ROOT/a/b/c.parquet.
** A put writes ROOT/a/b/c.parquet.tmp, then at commit: fsync the file,
** rename it over the final name, fsync the directory.  A crash before the
** rename leaves only the ".tmp" file; after it, a complete file.  Keys
** are checked (sqlite3StreamStoreKeyCheck) before any path is built, so
** nothing outside ROOT is ever opened, written or removed; a directory
** of a key that is a symbolic link is refused (streamLocalNoLink), the
** last component is never followed (O_NOFOLLOW), and symbolic links met
** while listing are skipped.  Files are opened O_NONBLOCK and must be
** regular (fstat after the open): a FIFO in place of one never blocks.
*/
#ifndef _XOPEN_SOURCE
# define _XOPEN_SOURCE 700
#endif
#ifndef _DEFAULT_SOURCE
# define _DEFAULT_SOURCE
#endif
#include "streamInt.h"
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Longest object key, and deepest directory nesting the list walks. */
#define STREAM_STORE_MAX_KEY   1024
#define STREAM_STORE_MAX_DEPTH 8

typedef struct StreamLocalStore StreamLocalStore;
struct StreamLocalStore {
  StreamStore base;            /* Base class - must be first */
  char *zRoot;                 /* Absolute directory, no trailing '/' */
  int bCreate;                 /* Create the root when first written */
};

typedef struct StreamLocalUpload StreamLocalUpload;
struct StreamLocalUpload {
  StreamStoreUpload base;      /* Base class - must be first */
  StreamLocalStore *pStore;    /* Store written to */
  int fd;                      /* Temporary file */
  char *zTmp;                  /* Its path */
  char *zPath;                 /* Final path */
  int bFirst;                  /* No byte written yet (crash point 0) */
};

typedef struct StreamLocalFile StreamLocalFile;
struct StreamLocalFile {
  StreamStoreFile base;        /* Base class - must be first */
  int fd;                      /* Open file */
  char *zPath;                 /* Its path (for messages) */
  StreamStoreId id;            /* Identity when opened */
};

/* Identity of a file from its stat. */
static void streamLocalId(const struct stat *pSt, StreamStoreId *pId){
  pId->nSize = (i64)pSt->st_size;
  pId->iVersion = (i64)pSt->st_mtim.tv_sec*1000000000 + pSt->st_mtim.tv_nsec;
  pId->iVersion2 = ((i64)pSt->st_dev<<32) ^ (i64)pSt->st_ino;
}

/* The forms the registry accepts, for messages. */
#ifdef HAVE_LIBCURL
# define STREAM_STORE_FORMS "file:///absolute/path or s3://bucket/prefix"
#else
# define STREAM_STORE_FORMS "file:///absolute/path (this build has no s3://)"
#endif

/* The error for a URL that is not of the form zForm, never echoing
** credentials: "s3://KEY:SECRET@host/b" is shown as
** "s3://(credentials removed)@host/b". */
static int streamStoreUrlBad(const char *zUrl, const char *zForm,
                             char **pzErr){
  const char *zAuth = zUrl ? strstr(zUrl, "://") : 0;
  const char *zAt = 0;
  size_t i;
  if( zAuth ){
    size_t nAuth;
    zAuth += 3;
    nAuth = strcspn(zAuth, "/");
    for(i=0; i<nAuth; i++) if( zAuth[i]=='@' ) zAt = &zAuth[i];
  }
  if( zAt ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "invalid warm.store URL \"%.*s(credentials removed)%s\": expected %s",
        (int)(zAuth-zUrl), zUrl, zAt, zForm);
  }
  return sqlite3StreamErr(pzErr, SQLITE_ERROR,
      "invalid warm.store URL \"%s\": expected %s", zUrl ? zUrl : "", zForm);
}

int sqlite3StreamStoreUrlCheck(const char *zUrl, char **pzErr){
  const StreamStoreScheme *pScheme = sqlite3StreamStoreScheme(zUrl);
  if( pScheme ) return pScheme->xUrlCheck(zUrl, pzErr);
  return streamStoreUrlBad(zUrl, STREAM_STORE_FORMS, pzErr);
}

/* file:///absolute/path */
static int streamLocalUrlCheck(const char *zUrl, char **pzErr){
  const char *zPath;
  size_t i;
  if( zUrl[7]!='/' ){
    return streamStoreUrlBad(zUrl, "file:///absolute/path", pzErr);
  }
  zPath = &zUrl[7];
  for(i=0; zPath[i]; i++){
    unsigned char c = (unsigned char)zPath[i];
    if( c<0x20 || c==0x7f || c=='%' || c=='?' || c=='#' ){
      return sqlite3StreamErr(pzErr, SQLITE_ERROR,
          "invalid warm.store URL \"%s\": control characters, '%%', '?' and"
          " '#' are not allowed in the path", zUrl);
    }
    if( c=='.' && zPath[i-1]=='/' && zPath[i+1]=='.'
     && (zPath[i+2]=='/' || zPath[i+2]==0) ){
      return sqlite3StreamErr(pzErr, SQLITE_ERROR,
          "invalid warm.store URL \"%s\": \"..\" is not allowed", zUrl);
    }
  }
  if( i>4096 ){
    return sqlite3StreamErr(pzErr, SQLITE_TOOBIG,
        "invalid warm.store URL: path longer than 4096 bytes");
  }
  return SQLITE_OK;
}

int sqlite3StreamStoreKeyCheck(const char *zKey, char **pzErr){
  size_t i, iComp = 0;
  if( zKey==0 || zKey[0]==0 || zKey[0]=='/' ){
    goto bad;
  }
  for(i=0; ; i++){
    char c = zKey[i];
    if( c=='/' || c==0 ){
      size_t n = i - iComp;
      if( n==0 ) goto bad;
      if( n==1 && zKey[iComp]=='.' ) goto bad;
      if( n==2 && zKey[iComp]=='.' && zKey[iComp+1]=='.' ) goto bad;
      if( c==0 ) break;
      iComp = i+1;
      continue;
    }
    if( !((c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9')
          || c=='.' || c=='_' || c=='-' || c=='=') ){
      goto bad;
    }
    if( i>=STREAM_STORE_MAX_KEY ) goto bad;
  }
  return SQLITE_OK;
 bad:
  return sqlite3StreamErr(pzErr, SQLITE_CORRUPT,
      "invalid warm segment location \"%s\": not a key inside the store",
      zKey ? zKey : "");
}

int sqlite3StreamStorePrefixCheck(const char *zPrefix, char **pzErr){
  size_t n = strlen(zPrefix);
  char *zDir;
  int rc;
  if( n==0 ) return SQLITE_OK;
  /* Only directory prefixes ("topic/") are used. */
  if( zPrefix[n-1]!='/' ) return SQLITE_MISUSE;
  zDir = sqlite3_mprintf("%.*s", (int)n-1, zPrefix);
  if( zDir==0 ) return SQLITE_NOMEM;
  rc = sqlite3StreamStoreKeyCheck(zDir, pzErr);
  sqlite3_free(zDir);
  return rc;
}

/* SQLITE_OK if no directory of zKey below the root (ROOT/a, ROOT/a/b, ...
** for key "a/b/c") is a symbolic link: a link planted
** inside the store must not lead reads, writes or deletes outside it.
** (The key itself is checked with sqlite3StreamStoreKeyCheck() first; its
** last component is opened with O_NOFOLLOW.) */
static int streamLocalNoLink(StreamLocalStore *p, const char *zKey,
                             char **pzErr){
  char *z = sqlite3_mprintf("%s/%s", p->zRoot, zKey);
  char *zSlash;
  int rc = SQLITE_OK;
  struct stat st;
  if( z==0 ) return SQLITE_NOMEM;
  for(zSlash=strchr(z+strlen(p->zRoot)+1, '/'); zSlash;
      zSlash=strchr(zSlash+1, '/')){
    *zSlash = 0;
    if( lstat(z, &st)!=0 ) break;   /* Missing: nothing below it exists */
    if( S_ISLNK(st.st_mode) ){
      rc = sqlite3StreamErr(pzErr, SQLITE_CANTOPEN,
          "warm segment location \"%s\": %s is a symbolic link, not a"
          " directory of the store (refusing to follow it)", zKey, z);
      break;
    }
    *zSlash = '/';
  }
  sqlite3_free(z);
  return rc;
}

/* ROOT/zKey as a new string, or NULL on OOM. */
static char *streamLocalPath(StreamLocalStore *p, const char *zKey){
  return sqlite3_mprintf("%s/%s", p->zRoot, zKey);
}

/* mkdir -p of the directories of zPath below (and including) the root. */
static int streamLocalMkdirs(StreamLocalStore *p, const char *zPath,
                             char **pzErr){
  char *z = sqlite3_mprintf("%s", zPath);
  size_t nRoot = strlen(p->zRoot);
  char *zSlash;
  int rc = SQLITE_OK;
  struct stat st;
  if( z==0 ) return SQLITE_NOMEM;
  if( stat(p->zRoot, &st)!=0 ){
    if( !p->bCreate ){
      rc = sqlite3StreamErr(pzErr, SQLITE_CANTOPEN,
          "warm store directory %s does not exist", p->zRoot);
      goto out;
    }
    zSlash = z;
  }else if( !S_ISDIR(st.st_mode) ){
    rc = sqlite3StreamErr(pzErr, SQLITE_CANTOPEN,
        "warm store %s is not a directory", p->zRoot);
    goto out;
  }else{
    zSlash = z + nRoot;
  }
  for(zSlash=strchr(zSlash+1, '/'); zSlash; zSlash=strchr(zSlash+1, '/')){
    *zSlash = 0;
    if( z[0] && mkdir(z, 0777)!=0 && errno!=EEXIST ){
      rc = sqlite3StreamErr(pzErr, SQLITE_CANTOPEN,
          "cannot create warm store directory %s: %s", z, strerror(errno));
      goto out;
    }
    *zSlash = '/';
  }
 out:
  sqlite3_free(z);
  return rc;
}

static int streamLocalPutBegin(StreamStore *pStore, const char *zKey,
                               StreamStoreUpload **pp, char **pzErr){
  StreamLocalStore *p = (StreamLocalStore*)pStore;
  StreamLocalUpload *pUp;
  int rc;
  *pp = 0;
  rc = sqlite3StreamStoreKeyCheck(zKey, pzErr);
  if( rc==SQLITE_OK ) rc = streamLocalNoLink(p, zKey, pzErr);
  if( rc ) return rc;
  pUp = sqlite3_malloc64(sizeof(*pUp));
  if( pUp==0 ) return SQLITE_NOMEM;
  memset(pUp, 0, sizeof(*pUp));
  pUp->fd = -1;
  pUp->base.pStore = pStore;
  pUp->pStore = p;
  pUp->bFirst = 1;
  pUp->zPath = streamLocalPath(p, zKey);
  {
    /* A temporary name of its own ("a/b.<16 hex>.parquet.tmp"), so that
    ** two uploads of one key never write the same file (the create-only
    ** commit of the cold tier relies on it); it keeps the key's extension
    ** before ".tmp" for the warm tier's sweep. */
    const char *zBase = strrchr(zKey, '/');
    const char *zDot = strrchr(zBase ? zBase : zKey, '.');
    u64 r;
    sqlite3_randomness(sizeof(r), &r);
    if( zDot==0 ) zDot = zKey + strlen(zKey);
    pUp->zTmp = sqlite3_mprintf("%s/%.*s.%016llx%s.tmp", p->zRoot,
                                (int)(zDot-zKey), zKey,
                                (unsigned long long)r, zDot);
  }
  if( pUp->zPath==0 || pUp->zTmp==0 ){ rc = SQLITE_NOMEM; goto fail; }
  rc = streamLocalMkdirs(p, pUp->zPath, pzErr);
  if( rc ) goto fail;
  rc = streamLocalNoLink(p, zKey, pzErr);   /* Again, after the mkdirs */
  if( rc ) goto fail;
  pUp->fd = open(pUp->zTmp, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC|O_NOFOLLOW,
                 0644);
  if( pUp->fd<0 ){
    rc = sqlite3StreamErr(pzErr, SQLITE_CANTOPEN,
        "cannot create warm segment file %s: %s", pUp->zTmp, strerror(errno));
    goto fail;
  }
  *pp = &pUp->base;
  return SQLITE_OK;
 fail:
  sqlite3_free(pUp->zPath);
  sqlite3_free(pUp->zTmp);
  sqlite3_free(pUp);
  return rc;
}

/* An errno from write() or fsync() as an SQLite code. */
static int streamLocalErrCode(int e, int rcDefault){
  return (e==ENOSPC || e==EFBIG || e==EDQUOT) ? SQLITE_FULL : rcDefault;
}

static int streamLocalPutWrite(StreamStoreUpload *pBase, const void *pData,
                               size_t n, char **pzErr){
  StreamLocalUpload *pUp = (StreamLocalUpload*)pBase;
  const char *a = (const char*)pData;
  while( n>0 ){
    ssize_t w = write(pUp->fd, a, n);
    if( w<0 ){
      int e = errno;
      if( e==EINTR ) continue;
      return sqlite3StreamErr(pzErr, streamLocalErrCode(e, SQLITE_IOERR_WRITE),
          "cannot write warm segment file %s: %s", pUp->zTmp, strerror(e));
    }
    a += w;
    n -= (size_t)w;
    if( pUp->bFirst ){
      pUp->bFirst = 0;
      STREAM_TIER_CRASH(0);
    }
  }
  return SQLITE_OK;
}

static void streamLocalPutAbort(StreamStoreUpload *pBase){
  StreamLocalUpload *pUp = (StreamLocalUpload*)pBase;
  if( pUp==0 ) return;
  if( pUp->fd>=0 ){
    close(pUp->fd);
    unlink(pUp->zTmp);
  }
  sqlite3_free(pUp->zPath);
  sqlite3_free(pUp->zTmp);
  sqlite3_free(pUp);
}

/* fsync the directory holding zPath. */
static int streamLocalSyncDir(const char *zPath){
  char *zDir = sqlite3_mprintf("%s", zPath);
  char *zSlash;
  int fd, rc = 0;
  if( zDir==0 ) return ENOMEM;
  zSlash = strrchr(zDir, '/');
  if( zSlash ) zSlash[zSlash==zDir ? 1 : 0] = 0;
  fd = open(zDir, O_RDONLY|O_CLOEXEC);
  if( fd<0 || fsync(fd)!=0 ) rc = errno;
  if( fd>=0 ) close(fd);
  sqlite3_free(zDir);
  return rc;
}

/* Commit: fsync, then rename over the final name (bNew: link() to it
** instead, which fails if it exists: an exclusive create), fsync the
** directory. */
static int streamLocalCommit(StreamStoreUpload *pBase, int bNew,
                             char **pzErr){
  StreamLocalUpload *pUp = (StreamLocalUpload*)pBase;
  int rc = SQLITE_OK, e;
  STREAM_TIER_CRASH(1);
  if( fsync(pUp->fd)!=0 ){
    e = errno;
    rc = sqlite3StreamErr(pzErr, streamLocalErrCode(e, SQLITE_IOERR_FSYNC),
        "cannot sync warm segment file %s: %s", pUp->zTmp, strerror(e));
    goto out;
  }
  STREAM_TIER_CRASH(2);
  if( close(pUp->fd)!=0 ){
    e = errno;
    pUp->fd = -1;
    unlink(pUp->zTmp);
    rc = sqlite3StreamErr(pzErr, streamLocalErrCode(e, SQLITE_IOERR_CLOSE),
        "cannot close warm segment file %s: %s", pUp->zTmp, strerror(e));
    goto out;
  }
  pUp->fd = -1;
  if( bNew ){
    if( link(pUp->zTmp, pUp->zPath)!=0 ){
      e = errno;
      unlink(pUp->zTmp);
      rc = e==EEXIST
        ? sqlite3StreamErr(pzErr, SQLITE_CONSTRAINT, "%s already exists"
              " (create-only put)", pUp->zPath)
        : sqlite3StreamErr(pzErr, SQLITE_IOERR, "cannot link %s to %s: %s",
              pUp->zTmp, pUp->zPath, strerror(e));
      goto out;
    }
    unlink(pUp->zTmp);
  }else if( rename(pUp->zTmp, pUp->zPath)!=0 ){
    e = errno;
    unlink(pUp->zTmp);
    rc = sqlite3StreamErr(pzErr, SQLITE_IOERR,
        "cannot rename %s to %s: %s", pUp->zTmp, pUp->zPath, strerror(e));
    goto out;
  }
  STREAM_TIER_CRASH(3);
  if( (e = streamLocalSyncDir(pUp->zPath))!=0 ){
    unlink(pUp->zPath);
    rc = sqlite3StreamErr(pzErr, SQLITE_IOERR_DIR_FSYNC,
        "cannot sync the directory of %s: %s", pUp->zPath, strerror(e));
    goto out;
  }
  STREAM_TIER_CRASH(4);
 out:
  if( pUp->fd>=0 ){
    close(pUp->fd);
    unlink(pUp->zTmp);
  }
  sqlite3_free(pUp->zPath);
  sqlite3_free(pUp->zTmp);
  sqlite3_free(pUp);
  return rc;
}

static int streamLocalPutCommit(StreamStoreUpload *pUp, char **pzErr){
  return streamLocalCommit(pUp, 0, pzErr);
}

static int streamLocalPutCommitNew(StreamStoreUpload *pUp, char **pzErr){
  return streamLocalCommit(pUp, 1, pzErr);
}

/* A missing file of key zKey (path zPath): if the store's directory, or
** the top directory of the key in it (the database's namespace), is not
** there either, the database was most likely copied or moved without its
** store: SQLITE_CANTOPEN with a message saying so.  SQLITE_OK if that
** directory exists (only the file is missing). */
static int streamLocalGone(StreamLocalStore *p, const char *zKey,
                           const char *zPath, char **pzErr){
  struct stat st;
  char *zDir;
  int rc;
  if( stat(p->zRoot, &st)!=0 ){
    zDir = sqlite3_mprintf("%s", p->zRoot);
  }else{
    zDir = sqlite3_mprintf("%s/%.*s", p->zRoot, (int)strcspn(zKey, "/"),
                           zKey);
    if( zDir && stat(zDir, &st)==0 ){
      sqlite3_free(zDir);
      return SQLITE_OK;
    }
  }
  if( zDir==0 ) return SQLITE_NOMEM;
  rc = sqlite3StreamErr(pzErr, SQLITE_CANTOPEN, "warm segment file %s is"
      " missing: the database refers to warm segments in %s, which is not"
      " there (was the database copied or moved without its warm store?):"
      " restore the store there or set warm.store to where it is (see"
      " docs/operations.md)", zPath, zDir);
  sqlite3_free(zDir);
  return rc;
}

static int streamLocalOpen(StreamStore *pStore, const char *zKey,
                           StreamStoreFile **pp, i64 *pnSize, char **pzErr){
  StreamLocalStore *p = (StreamLocalStore*)pStore;
  StreamLocalFile *pF;
  struct stat st;
  int rc;
  *pp = 0;
  rc = sqlite3StreamStoreKeyCheck(zKey, pzErr);
  if( rc==SQLITE_OK ) rc = streamLocalNoLink(p, zKey, pzErr);
  if( rc ) return rc;
  pF = sqlite3_malloc64(sizeof(*pF));
  if( pF==0 ) return SQLITE_NOMEM;
  pF->base.pStore = pStore;
  pF->zPath = streamLocalPath(p, zKey);
  if( pF->zPath==0 ){ sqlite3_free(pF); return SQLITE_NOMEM; }
  /* O_NONBLOCK: a FIFO (or a device) in place of the file must not block
  ** the open; only a regular file is read (fstat after the open). */
  pF->fd = open(pF->zPath, O_RDONLY|O_CLOEXEC|O_NOFOLLOW|O_NONBLOCK);
  if( pF->fd<0 && errno==ENOENT
   && (rc = streamLocalGone(p, zKey, pF->zPath, pzErr))!=SQLITE_OK ){
    /* the store itself is missing: reported */
  }else if( pF->fd<0 || fstat(pF->fd, &st)!=0 || !S_ISREG(st.st_mode) ){
    int e = pF->fd<0 ? errno : 0;
    rc = sqlite3StreamErr(pzErr, SQLITE_CANTOPEN,
        "warm segment file %s cannot be opened: %s", pF->zPath,
        e==ENOENT ? "it is missing (deleted outside the extension?)"
        : e ? strerror(e)
        : S_ISDIR(st.st_mode) ? "it is a directory, not a regular file"
        : S_ISFIFO(st.st_mode) ? "it is a FIFO, not a regular file"
        : "it is not a regular file");
  }
  if( rc ){
    if( pF->fd>=0 ) close(pF->fd);
    sqlite3_free(pF->zPath);
    sqlite3_free(pF);
    return rc;
  }
  *pnSize = (i64)st.st_size;
  streamLocalId(&st, &pF->id);
  *pp = &pF->base;
  return SQLITE_OK;
}

static int streamLocalStat(StreamStore *pStore, const char *zKey,
                           StreamStoreId *pId){
  StreamLocalStore *p = (StreamLocalStore*)pStore;
  struct stat st;
  char *zPath;
  int rc = SQLITE_OK;
  memset(pId, 0, sizeof(*pId));
  if( sqlite3StreamStoreKeyCheck(zKey, 0) ) return SQLITE_NOTFOUND;
  zPath = streamLocalPath(p, zKey);
  if( zPath==0 ) return SQLITE_NOMEM;
  if( lstat(zPath, &st)!=0 || !S_ISREG(st.st_mode) ){
    rc = SQLITE_NOTFOUND;
  }else{
    streamLocalId(&st, pId);
  }
  sqlite3_free(zPath);
  return rc;
}

static void streamLocalFileId(StreamStoreFile *pBase, StreamStoreId *pId){
  *pId = ((StreamLocalFile*)pBase)->id;
}

static int streamLocalRead(StreamStoreFile *pBase, void *pBuf, size_t n,
                           i64 iOff){
  StreamLocalFile *pF = (StreamLocalFile*)pBase;
  char *a = (char*)pBuf;
  while( n>0 ){
    ssize_t r = pread(pF->fd, a, n, (off_t)iOff);
    if( r<0 ){
      if( errno==EINTR ) continue;
      return SQLITE_IOERR_READ;
    }
    if( r==0 ) return SQLITE_IOERR_SHORT_READ;
    a += r;
    n -= (size_t)r;
    iOff += r;
  }
  return SQLITE_OK;
}

static void streamLocalClose(StreamStoreFile *pBase){
  StreamLocalFile *pF = (StreamLocalFile*)pBase;
  if( pF==0 ) return;
  close(pF->fd);
  sqlite3_free(pF->zPath);
  sqlite3_free(pF);
}

/* Walk directory zDir (key prefix zRel, "" or ending in '/'). */
static int streamLocalWalk(StreamLocalStore *p, const char *zRel, int nDepth,
                           int (*xCb)(void*, const char*), void *pArg,
                           char **pzErr){
  char *zDir = zRel[0] ? sqlite3_mprintf("%s/%s", p->zRoot, zRel)
                       : sqlite3_mprintf("%s", p->zRoot);
  DIR *d;
  struct dirent *pEnt;
  int rc = SQLITE_OK;
  if( zDir==0 ) return SQLITE_NOMEM;
  d = opendir(zDir);
  if( d==0 ){
    if( errno!=ENOENT && errno!=ENOTDIR ){
      rc = sqlite3StreamErr(pzErr, SQLITE_IOERR,
          "cannot list warm store directory %s: %s", zDir, strerror(errno));
    }
    sqlite3_free(zDir);
    return rc;
  }
  while( rc==SQLITE_OK && (pEnt = readdir(d))!=0 ){
    const char *zName = pEnt->d_name;
    char *zKey, *zFull;
    struct stat st;
    if( strcmp(zName, ".")==0 || strcmp(zName, "..")==0 ) continue;
    zKey = sqlite3_mprintf("%s%s", zRel, zName);
    zFull = sqlite3_mprintf("%s/%s", zDir, zName);
    if( zKey==0 || zFull==0 ){
      rc = SQLITE_NOMEM;
    }else if( lstat(zFull, &st)==0 ){
      if( S_ISDIR(st.st_mode) && nDepth<STREAM_STORE_MAX_DEPTH ){
        char *zSub = sqlite3_mprintf("%s/", zKey);
        if( zSub==0 ){
          rc = SQLITE_NOMEM;
        }else{
          rc = streamLocalWalk(p, zSub, nDepth+1, xCb, pArg, pzErr);
          sqlite3_free(zSub);
        }
      }else if( S_ISREG(st.st_mode) ){
        if( xCb(pArg, zKey) ) rc = SQLITE_DONE;
      }
    }
    sqlite3_free(zKey);
    sqlite3_free(zFull);
  }
  closedir(d);
  sqlite3_free(zDir);
  return rc;
}

static int streamLocalList(StreamStore *pStore, const char *zPrefix,
                           int (*xCb)(void*, const char*), void *pArg,
                           char **pzErr){
  StreamLocalStore *p = (StreamLocalStore*)pStore;
  int rc = sqlite3StreamStorePrefixCheck(zPrefix, pzErr);
  if( rc ) return rc;
  rc = streamLocalWalk(p, zPrefix, 0, xCb, pArg, pzErr);
  return rc==SQLITE_DONE ? SQLITE_OK : rc;
}

static int streamLocalDelete(StreamStore *pStore, const char *zKey,
                             char **pzErr){
  StreamLocalStore *p = (StreamLocalStore*)pStore;
  char *zPath, *zSlash;
  int rc = sqlite3StreamStoreKeyCheck(zKey, pzErr);
  if( rc==SQLITE_OK ) rc = streamLocalNoLink(p, zKey, pzErr);
  if( rc ) return rc;
  zPath = streamLocalPath(p, zKey);
  if( zPath==0 ) return SQLITE_NOMEM;
  if( unlink(zPath)!=0 && errno!=ENOENT ){
    rc = sqlite3StreamErr(pzErr, SQLITE_IOERR_DELETE,
        "cannot delete warm segment file %s: %s", zPath, strerror(errno));
  }else{
    /* Remove directories left empty, up to (not including) the root. */
    size_t nRoot = strlen(p->zRoot);
    while( (zSlash = strrchr(zPath, '/'))!=0 && (size_t)(zSlash-zPath)>nRoot ){
      *zSlash = 0;
      if( rmdir(zPath)!=0 ) break;
    }
  }
  sqlite3_free(zPath);
  return rc;
}

static void streamLocalFree(StreamStore *pStore){
  StreamLocalStore *p = (StreamLocalStore*)pStore;
  if( p==0 ) return;
  sqlite3_free(p->base.zUrl);
  sqlite3_free(p->base.zNs);
  sqlite3_free(p->zRoot);
  sqlite3_free(p);
}

static const StreamStoreMethods streamLocalMethods = {
  streamLocalPutBegin,   /* xPutBegin */
  streamLocalPutWrite,   /* xPutWrite */
  streamLocalPutCommit,  /* xPutCommit */
  streamLocalPutAbort,   /* xPutAbort */
  streamLocalOpen,       /* xOpen */
  streamLocalRead,       /* xRead */
  streamLocalClose,      /* xClose */
  streamLocalList,       /* xList */
  streamLocalDelete,     /* xDelete */
  streamLocalFree,       /* xFree */
  streamLocalStat,       /* xStat */
  streamLocalFileId,     /* xFileId */
  streamLocalPutCommitNew, /* xPutCommitNew */
  0,                     /* xPutStart: a local commit is not worth
                         ** overlapping (an fsync and a rename) */
  0                      /* xReadErr: errno codes say enough */
};

static int streamLocalOpenStore(const char *zUrl, int bCreate,
                               StreamStore **pp, char **pzErr){
  StreamLocalStore *p;
  size_t n;
  int rc;
  *pp = 0;
  rc = streamLocalUrlCheck(zUrl, pzErr);
  if( rc ) return rc;
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->base.pMethods = &streamLocalMethods;
  p->base.bLocal = 1;
  p->base.mCaps = STREAM_STORE_ATOMIC_RENAME|STREAM_STORE_CREATE_ONLY;
  p->bCreate = bCreate;
  p->base.zUrl = sqlite3_mprintf("%s", zUrl);
  p->zRoot = sqlite3_mprintf("%s", zUrl+7);
  if( p->base.zUrl==0 || p->zRoot==0 ){
    streamLocalFree(&p->base);
    return SQLITE_NOMEM;
  }
  n = strlen(p->zRoot);
  while( n>1 && p->zRoot[n-1]=='/' ) p->zRoot[--n] = 0;
  *pp = &p->base;
  return SQLITE_OK;
}

/**************************************************************************
** The registry of schemes, and the connection's cache of open stores.
*/

#ifndef HAVE_LIBCURL
/* s3:// in a build without libcurl: refused, saying why. */
static int streamNoCurlUrlCheck(const char *zUrl, char **pzErr){
  STREAM_UNUSED(zUrl);
  return sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid warm.store URL:"
      " s3:// stores need libcurl, and this build has none (it was"
      " configured --without-curl); file:///absolute/path works");
}
static int streamNoCurlOpen(const char *zUrl, int bCreate, StreamStore **pp,
                            char **pzErr){
  STREAM_UNUSED(bCreate);
  *pp = 0;
  return streamNoCurlUrlCheck(zUrl, pzErr);
}
#endif

static const StreamStoreScheme aStreamScheme[] = {
  { "file", "file:///absolute/path", streamLocalUrlCheck,
    streamLocalOpenStore, 0, 0 },
#ifdef HAVE_LIBCURL
  { "s3", "s3://bucket/prefix", sqlite3StreamS3UrlCheck, sqlite3StreamS3Open,
    sqlite3StreamS3DeleteMany, sqlite3StreamS3Prefetch },
#else
  { "s3", "s3://bucket/prefix", streamNoCurlUrlCheck, streamNoCurlOpen, 0, 0 },
#endif
};

const StreamStoreScheme *sqlite3StreamStoreScheme(const char *zUrl){
  size_t i;
  if( zUrl==0 ) return 0;
  for(i=0; i<sizeof(aStreamScheme)/sizeof(aStreamScheme[0]); i++){
    size_t n = strlen(aStreamScheme[i].zScheme);
    if( strncmp(zUrl, aStreamScheme[i].zScheme, n)==0
     && strncmp(&zUrl[n], "://", 3)==0 ){
      return &aStreamScheme[i];
    }
  }
  return 0;
}

int sqlite3StreamStoreOpen(const char *zUrl, int bCreate, StreamStore **pp,
                           char **pzErr){
  const StreamStoreScheme *pScheme = sqlite3StreamStoreScheme(zUrl);
  int rc;
  *pp = 0;
  if( pScheme==0 ) return sqlite3StreamStoreUrlCheck(zUrl, pzErr);
  rc = pScheme->xOpen(zUrl, bCreate, pp, pzErr);
  if( rc==SQLITE_OK ){
    (*pp)->pScheme = pScheme;
    (*pp)->nRef = 1;
  }
  return rc;
}

/* Drop the cache's references to the stores of list pS. */
static void streamStoreDropList(StreamStore *pS){
  while( pS ){
    StreamStore *pNext = pS->pNextCached;
    pS->pNextCached = 0;
    sqlite3StreamStoreUnref(pS);
    pS = pNext;
  }
}

/* Stores a connection keeps open (least recently used dropped). */
#define STREAM_STORE_CACHE 4

int sqlite3StreamStoreGet(StreamCtx *p, const char *zUrl, StreamStore **pp,
                          char **pzErr){
  StreamStore **ppS, *pS;
  int n = 0, rc;
  for(ppS=&p->pStoreCache; (pS = *ppS)!=0; ppS=&pS->pNextCached){
    if( strcmp(pS->zUrl, zUrl)==0 ){
      *ppS = pS->pNextCached;                 /* To the front */
      pS->pNextCached = p->pStoreCache;
      p->pStoreCache = pS;
      *pp = sqlite3StreamStoreRef(pS);
      return SQLITE_OK;
    }
    if( ++n>=STREAM_STORE_CACHE && pS->pNextCached ){
      streamStoreDropList(pS->pNextCached);   /* Drop the rest */
      pS->pNextCached = 0;
      break;
    }
  }
  rc = sqlite3StreamStoreOpen(zUrl, 0, pp, pzErr);
  if( rc==SQLITE_OK ){
    (*pp)->pNextCached = p->pStoreCache;
    p->pStoreCache = sqlite3StreamStoreRef(*pp);
  }
  return rc;
}

StreamStore *sqlite3StreamStoreRef(StreamStore *pStore){
  pStore->nRef++;
  return pStore;
}

void sqlite3StreamStoreUnref(StreamStore *pStore){
  if( pStore && --pStore->nRef<=0 ) pStore->pMethods->xFree(pStore);
}

void sqlite3StreamStoreCacheFree(StreamCtx *p){
  StreamStore *pS = p->pStoreCache;
  p->pStoreCache = 0;
  streamStoreDropList(pS);
}

int sqlite3StreamStoreDeleteMany(StreamStore *pStore, char **azKey, int nKey,
                                 char **pzErr){
  int i, rc = SQLITE_OK;
  if( nKey<=0 ) return SQLITE_OK;
  if( pStore->pScheme && pStore->pScheme->xDeleteMany ){
    return pStore->pScheme->xDeleteMany(pStore, azKey, nKey, pzErr);
  }
  for(i=0; i<nKey; i++){
    int rc2 = pStore->pMethods->xDelete(pStore, azKey[i], pzErr);
    if( rc2 && rc==SQLITE_OK ) rc = rc2;
  }
  return rc;
}

void sqlite3StreamStorePrefetch(StreamStore *pStore, const char *zKey,
                                i64 nSize, int bNext){
  if( pStore->pScheme && pStore->pScheme->xPrefetch ){
    pStore->pScheme->xPrefetch(pStore, zKey, nSize, bNext);
  }
}

int sqlite3StreamStoreReadFn(void *pCtx, void *pBuf, size_t n, i64 iOff){
  StreamStoreHandle *pH = (StreamStoreHandle*)pCtx;
  return pH->pStore->pMethods->xRead(pH->pFile, pBuf, n, iOff);
}

const char *sqlite3StreamStoreFileErr(StreamStore *pStore,
                                      StreamStoreFile *pF, int rc){
  StreamStoreHandle h;
  h.pStore = pStore;
  h.pFile = pF;
  return rc==SQLITE_NOMEM ? 0 : sqlite3StreamStoreReadErr(&h);
}

const char *sqlite3StreamStoreReadErr(const StreamStoreHandle *pH){
  const char *z;
  if( pH->pFile==0 || pH->pStore->pMethods->xReadErr==0 ) return 0;
  z = pH->pStore->pMethods->xReadErr(pH->pFile);
  if( z && strncmp(z, "stream: ", 8)==0 ) z += 8;
  return z;
}
