/*
** warm.h - internal interface of the warm tier (ext/warm*.c), the first
** implementation of the tier interface (StreamTierMethods, streamInt.h).
**
** The warm tier keeps messages that left the hot log as Parquet segment
** files in an object store (ext/store.c), indexed by _stream_segments.
** Its files, one concern each:
**
**   ext/warm.c          the store of a database, its namespace, segment
**                       files checked against their rows, the unit of
**                       work (one transaction), the method table
**   ext/warm_move.c     eligibility and the crash-ordered move of hot
**                       messages into one segment file
**   ext/warm_sweep.c    warm retention, the orphan sweep (and the
**                       delayed deletes), dropping a topic's segments
**   ext/warm_read.c     the reader of one segment file, its per-connection
**                       cache, and the scan of a range over the segment
**                       index
**   ext/warm_compact.c  compaction of segment files (the key decisions
**                       are ext/compactor.c's, shared with the hot log)
**
** Only this header's includers see these declarations; everything else
** reaches the warm tier through sqlite3StreamTierWarm.
*/
#ifndef STREAM_WARM_H
#define STREAM_WARM_H
#include "streamInt.h"

#ifndef SMALLEST_INT64
# define SMALLEST_INT64 (-0x7fffffffffffffffLL-1)
#endif

/* The warm tier as a StreamTier. */
typedef struct StreamWarmTier StreamWarmTier;
typedef struct StreamWarmMove StreamWarmMove;
struct StreamWarmTier {
  StreamTier base;             /* Base class - must be first */
  StreamStore *pStore;         /* The database's store (owned), NULL if
                               ** only topics have stores of their own */
  /* Chained moves (ext/warm_move.c) */
  StreamWarmMove *pPend;       /* The move whose upload is in flight */
  int bChain;                  /* The chain's transaction is open */
  int bChainSp;                /* ... its sqlite3StreamWarmBegin() flag */
  i64 msChain;                 /* ... when it began (sqlite3StreamNow()) */
};

/**************************************************************************
** Interface to code in ext/warm.c
*/

/* Prepare zSql into *ppStmt (an error from the database in *pzErr). */
int sqlite3StreamWarmPrepare(StreamCtx*, sqlite3_stmt **ppStmt, char **pzErr,
                             const char *zSql);
/* sqlite3_exec() with the database's error in *pzErr. */
int sqlite3StreamWarmExec(StreamCtx*, const char *zSql, char **pzErr);
/* One unit of work (a move, an expiry, a sweep, a compaction) is one
** transaction under the write lock: Begin sets *pbSp for End. */
int sqlite3StreamWarmBegin(StreamCtx*, int *pbSp, char **pzErr);
int sqlite3StreamWarmEnd(StreamCtx*, int bSp, int rc, char **pzErr);

/* Free a store (NULL: nothing). */
void sqlite3StreamWarmStoreFree(StreamStore*);
/* The store at URL zAt for this database (its namespace set), or with
** zAt NULL the database's (sqlite3StreamTierStore()). */
int sqlite3StreamWarmStoreAt(StreamCtx*, const char *zAt, StreamStore **pp,
                             char **pzErr);
/* A topic's own warm.store (*pzUrl sqlite3_malloc'd; NULL: none, the
** database's applies). */
int sqlite3StreamWarmTopicStore(StreamCtx*, const char *zTopic, char **pzUrl,
                                char **pzErr);
/* Every store other than the database's that segments are in or may be
** written to (segment rows' stores, topics' own warm.store). */
int sqlite3StreamWarmStores(StreamCtx*, StreamStrList *pList, char **pzErr);

/* Set pStore->zNs from database.id (made if missing and bCreate). */
int sqlite3StreamWarmNamespace(StreamCtx*, StreamStore *pStore, int bCreate,
                               char **pzErr);
/* Length of the namespace component of location zLoc, 0 if none. */
size_t sqlite3StreamWarmNsLen(const char *zLoc);
/* May this database delete the file at zLoc? */
int sqlite3StreamWarmOwned(const StreamStore *pStore, const char *zLoc);

/* A row read from a segment file: inside its row group's statistics pI and
** after the previous row's offset *piPrev (updated). */
int sqlite3StreamWarmRowCheck(const char *zLoc, const StreamPqGroupInfo *pI,
                              i64 *piPrev, i64 iOff, char **pzErr);
/* The error for two segment rows of one partition whose ranges overlap. */
int sqlite3StreamWarmOverlapErr(const StreamSegment *pA,
                                const StreamSegment *pB, char **pzErr);
/* Open segment pSeg's file (reader *ppR over *pH) checked against its row;
** *pnFile gets its size. */
int sqlite3StreamWarmOpenSegment(StreamStore*, const StreamSegment *pSeg,
                                 StreamStoreHandle *pH, StreamPqReader **ppR,
                                 i64 *pnFile, char **pzErr);
/* Close what sqlite3StreamWarmOpenSegment() opened. */
void sqlite3StreamWarmCloseSegment(StreamStoreHandle *pH, StreamPqReader *pR);

/* Sink of the Parquet writer: an upload to the store. */
typedef struct StreamWarmSink StreamWarmSink;
struct StreamWarmSink {
  StreamStore *pStore;         /* Store */
  StreamStoreUpload *pUp;      /* Upload in progress */
  char *zErr;                  /* Message of the first failure */
};
int sqlite3StreamWarmSinkWrite(void *pCtx, const void *a, size_t n);
/* The error of a failed write of file zKey: the sink's, else the
** writer's, unless *pzErr already holds one. */
void sqlite3StreamWarmWriteErr(StreamWarmSink*, StreamPqWriter *pW,
                               const char *zKey, int rc, char **pzErr);
/* Footer metadata naming the segment a file belongs to. */
void sqlite3StreamWarmWriteMeta(StreamPqWriter*, const StreamSegment *pSeg);
/* Check a just-written file against the row about to name it; its rows
** must run from iFirst to iLast; *pnBytes gets its size. */
int sqlite3StreamWarmVerify(StreamStore*, const StreamSegment *pSeg,
                            i64 iFirst, i64 iLast, i64 *pnBytes,
                            char **pzErr);

/* Delete every listed key that this database owns (if bDelete: no
** enclosing transaction holds uncommitted changes; else they are left
** for the orphan sweep), and empty the list. */
void sqlite3StreamWarmKeysDelete(StreamStore*, StreamStrList *pK,
                                 int bDelete);
/* The same for keys in several stores: pAt->az[i] is the store column of
** key pK->az[i] ("" for the database's store, pDefault if not NULL); both
** lists are emptied.  If bDelete, under the write lock (a unit of work of
** its own), and only the keys that no segment row names and no record
** holds then. */
void sqlite3StreamWarmKeysDeleteAt(StreamCtx*, StreamStore *pDefault,
                                   StreamStrList *pK, StreamStrList *pAt,
                                   int bDelete);

/* Kafka's file.delete.delay.ms for warm files (ext/warm.c): the
** extension-wide setting STREAM_WARM_DELAY_KEY in *pMs (0: files go as
** soon as the change that stopped naming them is committed). */
#define STREAM_WARM_DELAY_KEY "warm.file.delete.delay.ms"
#define STREAM_WARM_DELAY_DEFAULT 60000
int sqlite3StreamWarmDelay(StreamCtx*, i64 *pMs, char **pzErr);
/* Does _stream_warm_deleted exist? */
int sqlite3StreamWarmDeferTable(StreamCtx*);
/* With a delay, record files pK (pAt: their stores, "" or NULL the
** database's) in _stream_warm_deleted as named by no row from now on, in
** the current transaction, and set *pbDone: the caller then leaves them
** to the sweep (it deletes them once the delay has passed). */
int sqlite3StreamWarmDefer(StreamCtx*, const StreamStrList *pK,
                           const StreamStrList *pAt, int *pbDone,
                           char **pzErr);
/* The same for the files of topic zTopic's rows (NULL: of the rows of
** deleted topics), run just before those rows are deleted. */
int sqlite3StreamWarmDeferRows(StreamCtx*, const char *zTopic, char **pzErr);

/* Error rc of opening the file of a segment row at zLoc: if it is
** missing and the database's latest committed state no longer names it
** (a compaction, an expiry or a topic's delete committed after the
** reader's transaction began), say so in *pzErr, not "deleted outside
** the extension?".  The same if the file does not match the row (iInc
** its incarnation, not 0) and the latest state names it with none of the
** row's: a topic deleted, created again under its name and moved to the
** same key after the delay.  Returns rc. */
int sqlite3StreamWarmGoneErr(StreamCtx*, const char *zLoc, i64 iInc,
                             int rc, char **pzErr);

/**************************************************************************
** Interface to code in ext/warm_move.c, ext/warm_sweep.c,
** ext/warm_compact.c and ext/warm_read.c: the methods.
*/
int sqlite3StreamWarmMoveIn(StreamTier*, const char *zTopic, int iPart,
                            i64 iInc, const StreamTopicConfig*, int bHook,
                            StreamTierStats*, char **pzErr);
int sqlite3StreamWarmMoveEnd(StreamTier*, StreamTierStats*, char **pzErr);
/* Drop a chained move still under way (upload aborted, its transaction
** rolled back): the tier is closed without xMoveEnd. */
void sqlite3StreamWarmMoveDrop(StreamWarmTier*);
int sqlite3StreamWarmExpire(StreamTier*, const char *zTopic, int iPart,
                            const StreamTopicConfig*, i64 iHold,
                            StreamTierStats*, char **pzErr);
int sqlite3StreamWarmSweep(StreamTier*, const char *zTopic,
                           StreamTierStats*, char **pzErr);
int sqlite3StreamWarmDropTopic(StreamCtx*, const char *zTopic, char **pzErr);
int sqlite3StreamWarmCompact(StreamCtx*, const char *zTopic, int iPart,
                             i64 nMaxRewrite, i64 iHold, i64 *pnRemoved,
                             char **pzErr);
int sqlite3StreamWarmReaderNew(StreamCtx*, StreamTierReader **pp);
void sqlite3StreamWarmReaderFree(StreamTierReader*);
int sqlite3StreamWarmScanOpen(StreamTierReader*, const StreamScanRange*,
                              StreamTierScan **pp, char **pzErr);
int sqlite3StreamWarmScanNext(StreamTierScan*, const StreamPqRow **ppRow,
                              char **pzErr);
void sqlite3StreamWarmScanClose(StreamTierScan*);

#endif /* STREAM_WARM_H */
