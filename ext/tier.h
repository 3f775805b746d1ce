/*
** tier.h - internal interface of the warm tier: the object store
** (ext/store.c), tiering of hot messages into Parquet segments
** (ext/tier.c), and the warm-side readers used by vtab/messages.c and
** vtab/segments.c.
**
** To be merged into streamInt.h by the lead (one banner section per file,
** like the rest of that header).  Includes streamInt.h and parquet.h.
*/
#ifndef STREAM_TIER_H
#define STREAM_TIER_H

#include "streamInt.h"
#include "parquet.h"

/**************************************************************************
** Interface to code in ext/store.c: the object store.
**
** A store is a flat namespace of keys ("orders/partition=3/date=2024-01-14/
** 00000000000000000000-00000000000000009999.parquet") holding immutable
** objects.  It is what an S3 / R2 backend (libcurl) will implement next;
** the only backend today is a local directory, "file:///abs/path".
**
**   xPutBegin   start writing object zKey; bytes go through xPutWrite.
**   xPutWrite   append bytes to the upload.
**   xPutCommit  make the object durable and visible under zKey, atomically
**               (local: fsync the temporary file, rename, fsync the
**               directory).  The upload is freed, success or not.
**   xPutAbort   drop the upload (nothing becomes visible); frees it.
**   xOpen       open object zKey for ranged reads; *pnSize gets its size.
**   xRead       read n bytes at iOff ("get a byte range"); short = error.
**   xClose      close an object opened with xOpen.
**   xList       call xCb for every object whose key starts with zPrefix
**               (temporary uploads included: their keys end ".tmp");
**               a non-zero return from xCb stops the walk.
**   xDelete     remove object zKey (missing is not an error).
**   xFree       free the store.
**   xStat       identity of object zKey now (size and version: for the
**               local store mtime and inode); SQLITE_NOTFOUND if missing.
**   xFileId     identity of an object opened with xOpen, as it was opened.
**               Equal identities mean the same immutable bytes (the warm
**               reader cache relies on it).
**
** Every method returns SQLITE_OK or an error code; those that take pzErr
** leave a "stream: ..." message there naming the object.  bLocal is true
** for backends with no network (the produce path tiers only to those).
*/
typedef struct StreamStore StreamStore;
typedef struct StreamStoreMethods StreamStoreMethods;
typedef struct StreamStoreUpload StreamStoreUpload;
typedef struct StreamStoreFile StreamStoreFile;
typedef struct StreamStoreId StreamStoreId;

struct StreamStoreId {
  i64 nSize;                   /* Bytes */
  i64 iVersion;                /* Local: st_mtime in ns */
  i64 iVersion2;               /* Local: st_dev and st_ino mixed */
};

struct StreamStoreMethods {
  int (*xPutBegin)(StreamStore*, const char *zKey, StreamStoreUpload **pp,
                   char **pzErr);
  int (*xPutWrite)(StreamStoreUpload*, const void *p, size_t n,
                   char **pzErr);
  int (*xPutCommit)(StreamStoreUpload*, char **pzErr);
  void (*xPutAbort)(StreamStoreUpload*);
  int (*xOpen)(StreamStore*, const char *zKey, StreamStoreFile **pp,
               i64 *pnSize, char **pzErr);
  int (*xRead)(StreamStoreFile*, void *pBuf, size_t n, i64 iOff);
  void (*xClose)(StreamStoreFile*);
  int (*xList)(StreamStore*, const char *zPrefix,
               int (*xCb)(void *pArg, const char *zKey), void *pArg,
               char **pzErr);
  int (*xDelete)(StreamStore*, const char *zKey, char **pzErr);
  void (*xFree)(StreamStore*);
  int (*xStat)(StreamStore*, const char *zKey, StreamStoreId *pId);
  void (*xFileId)(StreamStoreFile*, StreamStoreId *pId);
};

struct StreamStore {
  const StreamStoreMethods *pMethods; /* Backend */
  int bLocal;                  /* No network: usable inside produce */
  char *zUrl;                  /* The store's URL (for messages) */
};

/* Open the store for URL zUrl ("file:///abs/dir").  bCreate: create the
** directory (with parents) when missing, as for the default store beside
** the database; otherwise a missing directory is an error. */
int sqlite3StreamStoreOpen(const char *zUrl, int bCreate, StreamStore **pp,
                           char **pzErr);

/* SQLITE_OK if zUrl is a store URL this build supports, else an error in
** *pzErr naming the URL and what is accepted. */
int sqlite3StreamStoreUrlCheck(const char *zUrl, char **pzErr);

/* SQLITE_OK if zKey is a safe object key: relative, made of
** [A-Za-z0-9._=-] components separated by single '/', no "." or ".."
** component, at most 1024 bytes.  Keys read from the segment index are
** checked with it before any file is touched, so a crafted row cannot
** reach outside the store. */
int sqlite3StreamStoreKeyCheck(const char *zKey, char **pzErr);

/* An open object and its store: the pCtx of sqlite3StreamStoreReadFn. */
typedef struct StreamStoreHandle StreamStoreHandle;
struct StreamStoreHandle {
  StreamStore *pStore;         /* Store */
  StreamStoreFile *pFile;      /* Object opened with xOpen */
};

/* The Parquet read callback (StreamPqReadFn) over a StreamStoreHandle. */
int sqlite3StreamStoreReadFn(void *pCtx, void *pBuf, size_t n, i64 iOff);

/**************************************************************************
** Interface to code in ext/tier.c: moving hot messages to warm segments.
*/

/* What one call moved (stream_tier() returns it as JSON). */
typedef struct StreamTierStats StreamTierStats;
struct StreamTierStats {
  i64 nSegment;                /* Segment files written */
  i64 nMessage;                /* Messages moved hot -> warm */
  i64 nBytes;                  /* Bytes of Parquet written */
  i64 nExpired;                /* Warm segments deleted by retention */
  i64 nOrphan;                 /* Orphan files removed */
};

/* The store of this database: the warm.store setting, else the default
** beside the main database file ("<db>.stream/warm"), else (":memory:" or
** a temporary database) none: *pp is NULL and SQLITE_OK returned. */
int sqlite3StreamTierStore(StreamCtx*, StreamStore **pp, char **pzErr);

/* Tier every eligible message of topic zTopic (NULL: every topic), then
** apply warm retention and remove orphan files.  Runs inside the caller's
** transaction; files written cannot be rolled back (a rollback leaves
** orphans, which the next call removes). */
int sqlite3StreamTier(StreamCtx*, const char *zTopic, StreamTierStats*,
                      char **pzErr);

/* The amortised hook of the produce path: called after a successful
** append of offset iOffset to (zTopic, iPart).  Does bounded work (one
** segment at most), only every STREAM_TIER_CHECK_EVERY offsets, only
** with a local store, and never fails the produce: errors are dropped
** (the messages simply stay hot). */
void sqlite3StreamTierAfterAppend(StreamCtx*, const char *zTopic, int iPart,
                                  i64 iOffset);

/* For stream_maintain(): the same as sqlite3StreamTier(). */
int sqlite3StreamTierMaintain(StreamCtx*, const char *zTopic,
                              StreamTierStats*, char **pzErr);

/* Delete every warm segment (records and files) of a topic: for
** stream_delete_topic().  Files that cannot be removed become orphans. */
int sqlite3StreamTierDropTopic(StreamCtx*, const char *zTopic, char **pzErr);

/* Compaction of the warm segments of one partition of a compacted topic
** (see ext/tier.c): records superseded by a newer record of their key
** (warm or hot) and tombstones past the cleaner's horizon are removed by
** rewriting the segment files (crash-safe order, as a move); segments
** left empty are dropped.  At most nMaxRewrite segments are rewritten
** (<0: no limit).  *pnRemoved gets the records removed.  One transaction
** under the write lock; replaced files are deleted after it commits
** (autocommit), else by the orphan sweep. */
int sqlite3StreamTierCompact(StreamCtx*, const char *zTopic, int iPart,
                             i64 nMaxRewrite, i64 *pnRemoved, char **pzErr);

/* Register stream_tier() and the stream_segments virtual table. */
int sqlite3StreamRegisterTier(sqlite3 *db, StreamCtx *p);

/* Settings hook for stream_config(): check a new value of an
** extension-wide tier setting ("warm.store").  SQLITE_OK if zName is not a
** tier setting. */
int sqlite3StreamTierSettingCheck(StreamCtx*, const char *zName,
                                  const char *zValue, char **pzErr);

/*
** Warm reader for vtab/messages.c: one segment's rows in offset order
** (or reverse), restricted to [iLo, iHi] and timestamps [iTsLo, iTsHi],
** row groups pruned by their statistics.  Memory: one page per column
** (ascending) or one row group (descending).
*/
typedef struct StreamWarmCursor StreamWarmCursor;
typedef struct StreamWarmCache StreamWarmCache;
/* pCache: NULL, or a cache (one per connection) that the reader is taken
** from if it holds this file and returned to at close (ext/tier.c). */
int sqlite3StreamWarmOpen(StreamStore*, StreamWarmCache *pCache,
                          const char *zKey, i64 iLo, i64 iHi,
                          i64 iTsLo, i64 iTsHi, int bDesc,
                          StreamWarmCursor **pp, char **pzErr);
/* SQLITE_ROW with *ppRow set (valid until the next call), SQLITE_DONE, or
** an error with a message naming the file in *pzErr. */
int sqlite3StreamWarmNext(StreamWarmCursor*, const StreamPqRow **ppRow,
                          char **pzErr);
void sqlite3StreamWarmClose(StreamWarmCursor*);
/* Decode only these Parquet columns (sqlite3StreamPqReaderSetColumns());
** call before the first sqlite3StreamWarmNext(). */
void sqlite3StreamWarmColumns(StreamWarmCursor*, unsigned mWant);

/* The cache of open warm readers: at most 8 files, least recently used
** evicted; every entry is checked against the file's identity (xStat)
** before reuse.  Stats: readers reused, scans continued in place, files
** opened. */
int sqlite3StreamWarmCacheNew(StreamWarmCache **pp);
void sqlite3StreamWarmCacheFree(StreamWarmCache*);
void sqlite3StreamWarmCacheStats(StreamWarmCache*, i64 *pnHit,
                                 i64 *pnResume, i64 *pnMiss);

/* Test hook: with -DSTREAM_TEST_HOOKS, _exit(99) when the environment
** variable STREAM_TIER_CRASH equals iStep (see docs/tiering.md). */
#ifdef STREAM_TEST_HOOKS
void sqlite3StreamTierCrashPoint(int iStep);
# define STREAM_TIER_CRASH(n) sqlite3StreamTierCrashPoint(n)
#else
# define STREAM_TIER_CRASH(n)
#endif

#endif /* STREAM_TIER_H */
