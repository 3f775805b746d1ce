/*
** streamInt.h - the internal header shared by the sqlite-stream engine
** (ext/) and its SQL-facing modules (vtab/).
**
** One banner section per source file, in the manner of fts5Int.h.  Names:
** sqlite3StreamXxx for functions shared across files, streamXxx for
** file-static ones, StreamXxx for types, STREAM_XXX for macros.
*/
#ifndef STREAM_INT_H
#define STREAM_INT_H

#ifndef SQLITE_CORE
# include "sqlite3ext.h"
  SQLITE_EXTENSION_INIT3
#else
# include "sqlite3.h"
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdlib.h>
#include "stream.h"

typedef sqlite3_int64 i64;
typedef sqlite3_uint64 u64;
typedef unsigned char u8;
typedef unsigned int u32;

#define STREAM_UNUSED(x) (void)(x)

/* Fixed prefix of every error message the extension produces. */
#define STREAM_ERR "stream: "
/* Does message z already start with STREAM_ERR (a nested statement's
** error passed on)?  Then it is not prefixed again. */
#define STREAM_HAS_PREFIX(z) ((z)!=0 && strncmp((z), STREAM_ERR, 8)==0)

/**************************************************************************
** Per-connection state, shared by every function and virtual table that
** sqlite3_stream_init() registers on one connection.
*/

/* Cached statements (prepared once with SQLITE_PREPARE_PERSISTENT, reset
** after use).  The SQL of each lives in ext/schema.c, aStmtSql[]. */
enum {
  STREAM_STMT_META_GET = 0,     /* read one _stream_meta value */
  STREAM_STMT_TXN_ENLIST,       /* INSERT INTO stream_txn: see ext/txn.c */
  STREAM_STMT_INTERRUPT,        /* SELECT 1: was sqlite3_interrupt() called? */
  STREAM_STMT_COUNT
};

/* The hot log's statements (on _stream_log, _stream_timeindex,
** _stream_producers): their SQL and typed accessors are ext/storage.c's
** (aHotSql[], sqlite3StreamHot*()); each connection keeps them prepared
** in StreamCtx.aHot[]. */
enum {
  STREAM_HOT_HWM = 0,           /* high watermark and id of a partition */
  STREAM_HOT_APPEND,            /* append one row */
  STREAM_HOT_FIRST,             /* first hot offset of a partition */
  STREAM_HOT_PRODUCER_LAST,     /* an idempotent producer's last seq */
  STREAM_HOT_PRODUCER_GET,      /* where one seq was written */
  STREAM_HOT_PRODUCER_PUT,      /* record a seq */
  STREAM_HOT_PRODUCER_TRIM,     /* forget batches older than the window */
  STREAM_HOT_SLOWEST_GROUP,     /* backpressure: slowest subscribed group */
  STREAM_HOT_TIX_LAST,          /* newest time index entry of a partition */
  STREAM_HOT_TIX_MAX,           /* newest timestamp of a range of the log */
  STREAM_HOT_TIX_PUT,           /* add a time index entry */
  STREAM_HOT_AVAILABLE,         /* the long poll's look: hwm, committed */
  STREAM_HOT_COUNT
};

/* Savepoint names whose statements a connection keeps prepared (ext/txn.c):
** the units of work's, each a string literal. */
#define STREAM_SP_CACHE 8
typedef struct StreamCtx StreamCtx;
typedef struct StreamStore StreamStore;
typedef struct StreamStaticStmt StreamStaticStmt;
struct StreamStaticStmt {
  const char *zSql;            /* SQL text with static storage: the key */
  sqlite3_stmt *pStmt;         /* Its statement */
};
typedef struct StreamTopic StreamTopic;
typedef struct StreamTopicConfig StreamTopicConfig;
typedef struct StreamSticky StreamSticky;
typedef struct StreamCacheTopic StreamCacheTopic;
typedef struct StreamIncarnation StreamIncarnation;
typedef struct StreamPollOpen StreamPollOpen;
typedef struct StreamScanner StreamScanner;
typedef struct StreamMsg StreamMsg;
typedef struct StreamAppended StreamAppended;
typedef struct StreamPending StreamPending;

/* An after-append hook (ext/produce.c): run after each message is stored,
** in the order registered; the first failure fails the append.
** Maintenance and tiering register into the list at load (ext/main.c),
** so the append path calls none of them by name.  A before-append hook
** (CDC) has the same type and runs once the message is checked and its
** offset known, before it is written: what it may refuse then fails the
** append before anything of the message is written. */
typedef int (*StreamAfterAppend)(StreamCtx*, const StreamAppended*,
                                 char **pzErr);
#define STREAM_MAX_AFTER_APPEND 8
typedef struct StreamPosition StreamPosition;
typedef struct StreamLook StreamLook;
typedef struct StreamPollCache StreamPollCache;
typedef struct StreamCkpt StreamCkpt;
typedef struct StreamWake StreamWake;

/* A connection's mapping of the database's wake file (ext/wake.c). */
struct StreamWake {
  unsigned int *aMap;          /* The file's shared words, or NULL */
  int bTried;                  /* Opening it was tried */
  int bCreateTried;            /* ... with creating it (a waiting poll) */
  i64 iTriedAt;                /* When (ms): a producer retries later */
  unsigned int nSince;         /* Commits since, without the file */
};
typedef struct StreamPosUndo StreamPosUndo;

/* An open cursor of a table that reads messages (vtab/messages.c,
** vtab/poll.c, stream_history in ext/cold.c), listed in its connection's
** StreamCtx.pReading while open, so that stream_delete_topic() refuses to
** delete a topic that one of the connection's statements is still reading
** (ext/func.c), as SQLite refuses DROP TABLE while a statement is active. */
typedef struct StreamReading StreamReading;
struct StreamReading {
  StreamReading *pNext;        /* Next open cursor of the connection */
  char *zTopic;                /* The one topic it reads, or NULL: any */
  int (*xActive)(StreamReading*);  /* 1 while it has rows left to return */
};

struct StreamCtx {
  sqlite3 *db;                          /* The connection */
  sqlite3_stmt *aStmt[STREAM_STMT_COUNT]; /* Cached statements, or NULL */
  sqlite3_stmt *aHot[STREAM_HOT_COUNT]; /* The hot log's (ext/storage.c) */
  StreamStaticStmt *aStatic;            /* sqlite3StreamStmtStatic() cache */
  int nStatic;                          /* Entries in aStatic */
  struct StreamSpStmt {                 /* Savepoint statements (txn.c) */
    const char *zName;                  /* Savepoint name (static storage) */
    sqlite3_stmt *ap[5];                /* SAVEPOINT, RELEASE, ROLLBACK TO,
                                        ** BEGIN, COMMIT */
  } aSp[STREAM_SP_CACHE];
  StreamSticky *pSticky;                /* Sticky partitions for NULL keys */
  void (*xCdc)(void*, const char*, int);/* C CDC callback, or NULL */
  void *pCdcArg;                        /* First argument of xCdc */
  void (*xCdcDestroy)(void*);           /* Destructor for pCdcArg */
  char *zCdcEvent;                      /* The stream.produce event of the
                                        ** append under way, for xCdc once
                                        ** the append succeeded (cdc.c) */
  i64 iClockOffset;                     /* Test hook: added to now (ms) */
  int nAnchor;                          /* stream_topics connections */
  int bLastDup;                         /* Last append was a retry (no-op) */
  int bProducerBatchCol;                /* _stream_producers.batch_seq seen */
  int bFormatOk;                        /* storage seen at this format */
  int bFormatBusy;                      /* format check in progress */
  int bTxn;                             /* Enlisted in the transaction */
  StreamCacheTopic *pCache;             /* Transaction-scoped topic cache */
  int bCdcCache;                        /* zCdcCache is valid */
  char *zCdcCache;                      /* Cached cdc.topic (or NULL) */
  int bCacheKept;                       /* Cache kept past a commit (txn.c) */
  int bCacheDirty;                      /* Others wrote: not to be kept */
  unsigned int iCacheDv;                /* main's data version then */
  int bOneMsgTxn;                       /* the produce call is the whole
                                        ** transaction: no pending batch */
  int eTextEnc;                         /* 1: main is UTF-8, 2: not, 0:
                                        ** unknown; cleared with the
                                        ** cache (ext/produce.c) */
  sqlite3_int64 iCacheChanges;          /* Total changes the cache knows */
  sqlite3_vfs *pVfs;                    /* Default VFS, for the clock */
  StreamIncarnation *pIncarn;           /* Members joined on this conn */
  sqlite3 *dbAux;                       /* Read connection for long polls */
  int fdWalWatch;                       /* inotify fd + 1 on the -wal, or 0 */
  StreamWake wake;                      /* The wake file (ext/wake.c) */
  int bWakeSignalled;                   /* consume.c: the last commit a
                                        ** wait saw came with a wake-up:
                                        ** sleep on the wake file, not on
                                        ** the -wal watch */
  StreamCtx *pAux;                      /* The StreamCtx of dbAux */
  StreamReading *pReading;              /* Open cursors reading messages */
  int bAuxFailed;                       /* consume.c: dbAux could not be
                                        ** opened (or its VFS named): not
                                        ** tried again on this connection */
  int eShmPeek;                         /* consume.c: may the WAL-index
                                        ** header be read: 0 not known yet,
                                        ** 1 yes, 2 no (not WAL, or
                                        ** locking_mode EXCLUSIVE) */
  i64 nAutoCommit;                      /* Autocommit calls committed (txn.c) */
  int iLeftOpen;                        /* A call's transaction left open:
                                        ** 1 + total changes then (txn.c) */
  i64 nTxnEnd;                          /* Enlisted transactions ended (txn.c) */
  int bPosTxn;                          /* stream_txn enlisted (consume.c) */
  StreamPosUndo *aUndo;                 /* Position changes of the txn */
  int nUndo, nUndoAlloc;                /* Entries used, allocated */
  int *aUndoMark;                       /* nUndo at each savepoint level */
  int nUndoMark;                        /* Entries in aUndoMark */
  i64 nPosEpoch;                        /* Bumped when positions are freed */
  i64 nPosVer;                          /* Last StreamPosition.iVer given */
  StreamLook *pLook;                    /* A poll's last look (consume.c) */
  i64 iCaughtUpUs;                      /* When a long poll last returned
                                        ** messages and caught up (monotonic
                                        ** us), or 0 (consume.c) */
  void (*xRebalance)(void*, const char*, int);  /* C rebalance callback */
  void *pRebalanceArg;                  /* First argument of xRebalance */
  void (*xRebalanceDestroy)(void*);     /* Destructor for pRebalanceArg */
  int rcStmt;                           /* Code of the last failed prepare */
  StreamScanner *pScanner;              /* Scan state (ext/scan.c), or NULL */
  StreamAfterAppend aAfterAppend[STREAM_MAX_AFTER_APPEND]; /* Hooks */
  int nAfterAppend;                     /* Entries in aAfterAppend */
  StreamAfterAppend aBeforeAppend[STREAM_MAX_AFTER_APPEND]; /* Hooks run
                                        ** before the message is written */
  int nBeforeAppend;                    /* Entries in aBeforeAppend */
  StreamStore *pStoreCache;             /* Open stores (ext/store.c) */
  StreamPending *pPending;              /* Pending record batches of the
                                        ** transaction (ext/produce.c) */
  int bFlushing;                        /* Writing them out now */
  StreamPending *pPendingSpare;         /* A written batch's buffer, for
                                        ** the next (produce.c) */
  int nPendingHold;                     /* Held through amortised
                                        ** maintenance: neither written
                                        ** nor dropped (produce.c) */
  int bBatchOn;                         /* Record batching on (produce.c) */
  int nBatchBig;                        /* The same for large records: a
                                        ** row of STREAM_BATCH_PAGES
                                        ** overflow pages */
  int nBatchBytes;                      /* Largest batch value (bytes) for
                                        ** the page size, 0: not yet read
                                        ** (sqlite3StreamBatchBytes()) */
  StreamCkpt *pCkpt;                    /* The checkpointer, or NULL
                                        ** (ext/checkpoint.c) */
};

/**************************************************************************
** Interface to code in ext/schema.c
*/

/* Create the storage tables if they do not exist (in the caller's
** transaction) and check the format version. */
int sqlite3StreamEnsureSchema(StreamCtx *p, char **pzErr);
/* Check the storage format once per connection, upgrading an earlier
** one (ext/schema.c). */
int sqlite3StreamFormatCheck(StreamCtx *p, char **pzErr);
/* At load: upgrade a database of an earlier format, if it can be now. */
void sqlite3StreamUpgradeAtLoad(StreamCtx *p);

/* True if the last error on db was "no such table" for a storage table,
** i.e. the database has no sqlite-stream storage yet. */
int sqlite3StreamNoStorage(sqlite3 *db);


/* Connect the anchor that finalizes cached statements before the
** connection closes (see ext/schema.c): call before keeping a prepared
** statement beyond the current call. */
int sqlite3StreamAnchor(StreamCtx *p, char **pzErr);

/* Give back a statement taken from a cache of statements with in-use
** flags: reset and flagged free (*piSlot>=0: its slot in abUsed), or
** finalized (-1: a private one).  *ppStmt becomes NULL, *piSlot -1. */
void sqlite3StreamStmtGiveBack(sqlite3_stmt **ppStmt, int *piSlot,
                               int *abUsed);

/* The cached statement iStmt, prepared on first use, or NULL with an error
** left in *pzErr (which may be NULL).  Reset it after use. */
sqlite3_stmt *sqlite3StreamStmt(StreamCtx *p, int iStmt, char **pzErr);
/* The statement of SQL zSql cached in *ppSlot (one of StreamCtx's
** arrays), prepared on first use; bFlush: it may read _stream_log or
** _stream_timeindex, so the transaction's pending record batches are
** written first.  NULL on error, as sqlite3StreamStmt(). */
sqlite3_stmt *sqlite3StreamStmtCached(StreamCtx *p, sqlite3_stmt **ppSlot,
                                      const char *zSql, int bFlush,
                                      char **pzErr);

/* The code to return when sqlite3StreamStmt() or sqlite3StreamStmtStatic()
** returned NULL: the prepare's own (extended) code - SQLITE_BUSY when the
** schema could not be read for a lock, say - or SQLITE_ERROR. */
int sqlite3StreamStmtErr(StreamCtx *p);

/* Finalize every cached statement.  Called when the anchor (the eponymous
** stream_topics table, which sqlite3_close() disconnects before it checks
** for unfinalized statements) is disconnected. */
/* A cached statement for SQL text with static storage (its address is the
** key), prepared on first use, returned with its bindings cleared; reset
** it after use, never finalize it. */
sqlite3_stmt *sqlite3StreamStmtStatic(StreamCtx*, const char *zSql,
                                      char **pzErr);
void sqlite3StreamStmtFinalizeAll(StreamCtx *p);

/* Current time in ms since the Unix epoch (plus the test clock offset). */
i64 sqlite3StreamNow(StreamCtx *p);

/* The one rule for an integer argument: 1 and *pi set if pVal is an
** integer, or a real that is exactly one (5.0, not 5.5, not beyond 2^63);
** else 0.  Text is not an integer ('5' is refused). */
int sqlite3StreamValueInt(sqlite3_value *pVal, i64 *pi);
/* The same for a value written to an INTEGER column (INSERT INTO
** stream_messages, stream_offsets), under the column's affinity as a
** plain table applies it: text that looks like a number is that number
** first (' 5 ', '5.0', '5e0' are 5; '5.5', '0x5', 'five' are refused).
** pVal (an xUpdate argument) is converted in place, as a plain table
** converts the value it stores. */
int sqlite3StreamColumnInt(sqlite3_value *pVal, i64 *pi);
/* The type of a value written to a TEXT column under the column's
** affinity: SQLITE_TEXT for text and for a number (5 is '5', read with
** sqlite3_value_text()), else its own type (NULL, a blob). */
int sqlite3StreamColumnTextType(sqlite3_value *pVal);

/* Error helpers: a new sqlite3_mprintf() message "stream: ..." in *pzErr
** (freeing the old one), returning rc. */
int sqlite3StreamErr(char **pzErr, int rc, const char *zFmt, ...);
/* Copy db's current error message into *pzErr and return rc (as its
** extended code, if db's current error is of the same primary code). */
int sqlite3StreamDbErr(sqlite3 *db, char **pzErr, int rc);

/* The errors of single topics that a run over every topic
** (stream_maintain()) reports and carries on past: a JSON array
** [{"topic":..., "task":..., "error":...}, ...] being built. */
typedef struct StreamTopicErrs StreamTopicErrs;
struct StreamTopicErrs {
  sqlite3_str *pJson;          /* "[{...},{...}" so far, or NULL */
  int n;                       /* Errors recorded */
  int bTxn;                    /* A transaction was open when the run began */
};
/* Begin a run (records whether a transaction is open). */
void sqlite3StreamTopicErrsInit(sqlite3 *db, StreamTopicErrs *pErrs);
/* Error rc of zTopic (NULL: not one topic's) in task zTask: if pErrs is
** not NULL and the error concerns that topic alone, record it with the
** message *pzErr (then freed) and return SQLITE_OK to carry on; else
** return rc.  Not one topic's alone: running out of memory, busy, locked,
** interrupted, a full disk, a read-only database, a misuse (a call from a
** statement that writes), an authorizer's refusal, or an error that
** ended the transaction the run began in. */
int sqlite3StreamTopicErr(sqlite3 *db, StreamTopicErrs *pErrs,
                          const char *zTopic, const char *zTask, int rc,
                          char **pzErr);

/* Arithmetic on values read from storage, which a damaged or hostile
** database may hold at any value: a + b saturating at the i64 limits;
** the offset after iOffset (iOffset + 1, at most INT64_MAX). */
i64 sqlite3StreamAddSat(i64 a, i64 b);
i64 sqlite3StreamSubSat(i64 a, i64 b);

/* Sleep about nUs microseconds inside a wait (a long poll, stream_wait,
** backpressure), then return SQLITE_INTERRUPT if sqlite3_interrupt() was
** called on the connection (before or during the nap), else SQLITE_OK. */
int sqlite3StreamNap(StreamCtx *p, i64 nUs);
i64 sqlite3StreamOffsetAfter(i64 iOffset);

/* Value of one _stream_meta key as a new sqlite3_malloc'd string, or NULL
** (no such key, or an error: *pRc). */
char *sqlite3StreamMetaGet(StreamCtx *p, const char *zKey, int *pRc);

/**************************************************************************
** Interface to code in ext/txn.c
*/

/* The CDC topic's name if configured (sqlite3_malloc'd), else NULL. */
char *sqlite3StreamCdcTopic(StreamCtx*, int *pRc);

/* Open SAVEPOINT zName.  *pbOpen is 0 if it could not be opened because a
** statement that writes is running (then the caller's writes belong to
** that statement), 2 if the savepoint began the transaction (autocommit
** mode), 1 if it nests in the caller's transaction. */
int sqlite3StreamSavepoint(StreamCtx*, const char *zName, int *pbOpen,
                           char **pzErr);
/* Release the savepoint (rc==SQLITE_OK) or roll it back and release it.
** A failed release (SQLITE_BUSY at the commit) rolls back too, with its
** message in *pzErr.  A savepoint that began the transaction (bOpen 2)
** always leaves the connection in autocommit mode: whatever cannot be
** released is rolled back (sqlite3StreamSavepointAbort).  bOpen 3 is an
** autocommit call's own BEGIN (sqlite3StreamAutoBegin): COMMIT, or
** ROLLBACK. */
int sqlite3StreamSavepointEnd(StreamCtx*, const char *zName, int bOpen,
                              int rc, char **pzErr);
/* Finalize the savepoint statements (before sqlite3_close()). */
void sqlite3StreamSavepointFinalize(StreamCtx*);
void sqlite3StreamSavepointAbort(StreamCtx*, const char *zName, int bOpen);
void sqlite3StreamCacheClear(StreamCtx*);
StreamCacheTopic *sqlite3StreamCacheFind(StreamCtx*, const char *zTopic);
const StreamTopic *sqlite3StreamCacheTopic(StreamCacheTopic*);
void sqlite3StreamCacheAdd(StreamCtx*, const char *zTopic, const StreamTopic*);
/* Cached next offset of a partition, or -1 if unknown; *piPid (if not
** NULL) its partition id (0 if unknown). */
i64 sqlite3StreamCacheNext(StreamCtx*, const char *zTopic, int iPart,
                           i64 *piPid);
void sqlite3StreamCacheSetNext(StreamCtx*, const char *zTopic, int iPart,
                               i64 iNext, i64 iPid);
/* Cached largest timestamp of a partition's messages up to its next
** offset, or -1 if unknown (the time index, ext/produce.c). */
i64 sqlite3StreamCacheTsMax(StreamCtx*, const char *zTopic, int iPart);
void sqlite3StreamCacheSetTsMax(StreamCtx*, const char *zTopic, int iPart,
                                i64 iTsMax);
/* A topic's full configuration, cached with its settings while the
** transaction is known (sqlite3StreamTopicConfig()): 1 if it was. */
int sqlite3StreamCacheConfig(StreamCtx*, const char *zTopic,
                             StreamTopicConfig *pCfg, int *pnPart);
void sqlite3StreamCacheSetConfig(StreamCtx*, const char *zTopic,
                                 const StreamTopicConfig *pCfg, int nPart);
/* Enlist in the current explicit transaction (no-op in autocommit). */
void sqlite3StreamTxnEnlist(StreamCtx*);
int sqlite3StreamEnlistStep(StreamCtx*, sqlite3_stmt*);
/* Run the writes of one autocommit call as one transaction that takes the
** write lock first (no-op inside a transaction); see ext/txn.c. */
int sqlite3StreamAutoBegin(StreamCtx*, const char *zName, int *pbOpen,
                           int *pbStale, char **pzErr);
/* The same, the write lock taken by enlisting (ext/txn.c). */
int sqlite3StreamAutoBeginEnlist(StreamCtx*, const char *zName, int *pbOpen,
                                 char **pzErr);
int sqlite3StreamAutoEnd(StreamCtx*, const char *zName, int bOpen, int rc,
                         char **pzErr);
void sqlite3StreamTxnBegin(StreamCtx*);
void sqlite3StreamTxnEnd(StreamCtx*);
void sqlite3StreamCacheMark(StreamCtx*);
void sqlite3StreamCacheCheck(StreamCtx*);
void sqlite3StreamTxnRollbackTo(StreamCtx*);
int sqlite3StreamRegisterTxn(sqlite3 *db, StreamCtx *p);

/* The transaction methods (xBegin .. xRollbackTo) of our transaction-aware
** virtual tables (stream_txn, stream_messages), whose structures start
** with these two fields. */
typedef struct StreamVtabHead StreamVtabHead;
struct StreamVtabHead {
  sqlite3_vtab base;           /* Base class - must be first */
  StreamCtx *pCtx;             /* Connection state - must be second */
};
int sqlite3StreamVtabBegin(sqlite3_vtab*);
int sqlite3StreamVtabSync(sqlite3_vtab*);
int sqlite3StreamVtabEnd(sqlite3_vtab*);
/* xCommit of stream_messages: the end, and the waiting polls woken. */
int sqlite3StreamVtabCommit(sqlite3_vtab*);
int sqlite3StreamVtabSavepoint(sqlite3_vtab*, int);
int sqlite3StreamVtabRollbackTo(sqlite3_vtab*, int);

/**************************************************************************
** Interface to code in ext/config.c
*/

#define STREAM_CLEANUP_DELETE  0x01
#define STREAM_CLEANUP_COMPACT 0x02

#define STREAM_TS_CREATE_TIME     0
#define STREAM_TS_LOG_APPEND_TIME 1

struct StreamTopicConfig {
  i64 retentionMs;             /* retention.ms (-1 = forever) */
  i64 retentionBytes;          /* retention.bytes (-1 = unlimited) */
  int eCleanup;                /* cleanup.policy: STREAM_CLEANUP_* bits */
  double minCleanableRatio;    /* min.cleanable.dirty.ratio */
  i64 minCompactionLagMs;      /* min.compaction.lag.ms */
  i64 maxCompactionLagMs;      /* max.compaction.lag.ms */
  i64 deleteRetentionMs;       /* delete.retention.ms */
  i64 maxMessageBytes;         /* max.message.bytes */
  int eTimestampType;          /* message.timestamp.type */
  int eCompression;            /* compression.type: STREAM_CODEC_* */
  int bCompressionProducer;    /* compression.type is "producer" */
  i64 hotRetentionMs;          /* hot.retention.ms */
  i64 hotRetentionMessages;    /* hot.retention.messages */
  i64 backpressureMaxLag;      /* backpressure.max.lag (-1 = off) */
  int eBackpressurePolicy;     /* backpressure.policy: 0 reject, 1 block */
  i64 maxBlockMs;              /* max.block.ms */
  i64 compactionHeadMessages;  /* compaction.head.messages */
  /* The cold tier (ext/cold.c) */
  i64 coldEnabled;             /* cold.enabled (0 or 1) */
  i64 coldRetentionMs;         /* cold.retention.ms (-1 = forever) */
  i64 coldCommitIntervalMs;    /* cold.commit.interval.ms */
  i64 coldCommitBytes;         /* cold.commit.bytes */
  i64 coldSnapshotRetentionMs; /* cold.snapshot.retention.ms */
  i64 coldSnapshotMin;         /* cold.snapshot.min */
  i64 coldOrphanGraceMs;       /* cold.orphan.grace.ms */
  i64 coldMetadataVersionsMax; /* cold.metadata.versions.max */
  /* The Pipelines sink (ext/pipeline.c) */
  i64 pipelineEnabled;         /* pipeline.enabled (0 or 1) */
  i64 pipelineTimeoutMs;       /* pipeline.timeout.ms */
};

/* Fill *pCfg with the defaults, then apply the overrides in the JSON
** object zJson (may be NULL).  On error *pzErr names the key and the limit.
** If pzNormal is not NULL, *pzNormal receives the normalised JSON object
** of the overrides (sqlite3_malloc'd). */
int sqlite3StreamConfigParse(StreamTopicConfig *pCfg, const char *zJson,
                             char **pzNormal, char **pzErr);

/* Merge: apply zDelta (keys with null values are removed) to the overrides
** zOld; result normalised in *pzNew, and the resolved config in *pCfg. */
int sqlite3StreamConfigMerge(const char *zOld, const char *zDelta,
                             StreamTopicConfig *pCfg, char **pzNew,
                             char **pzErr);

/* cleanup.policy's canonical text for STREAM_CLEANUP_* bits: "delete",
** "compact", "compact,delete", or "" (neither). */
const char *sqlite3StreamCleanupName(int eCleanup);
/* The full configuration (every key, defaults included; warm.store only
** if the overrides zOver set it) as a JSON object, sqlite3_malloc'd, or
** NULL on OOM. */
char *sqlite3StreamConfigRender(const StreamTopicConfig *pCfg,
                                const char *zOver);

/**************************************************************************
** Interface to code in ext/topic.c
*/

/* Maximum length of a topic name (Kafka's rule). */
#define STREAM_MAX_TOPIC_NAME 249
/* Maximum number of partitions of one topic. */
#define STREAM_MAX_PARTITIONS 100000

/* Hot-path view of one topic, as read by sqlite3StreamTopicGet(). */
struct StreamTopic {
  int nPartition;              /* Number of partitions */
  i64 maxMessageBytes;         /* max.message.bytes */
  int eTimestampType;          /* STREAM_TS_* */
  int eCompression;            /* STREAM_CODEC_* */
  int eCleanup;                /* STREAM_CLEANUP_* bits */
  i64 backpressureMaxLag;      /* backpressure.max.lag, -1 = off */
  i64 backpressureBlockMs;     /* max.block.ms with policy block, else -1 */
};

/* SQLITE_OK if zName follows Kafka's topic-name rule, else an error in
** *pzErr naming the rule. */
int sqlite3StreamTopicNameCheck(const char *zName, char **pzErr);

/* SQLITE_NOTFOUND with "no such topic: X" in *pzErr, or, for a name
** longer than any topic can have, an error naming its length and the
** limit instead of echoing it (the one "no such topic" of the catalog). */
int sqlite3StreamTopicMissing(const char *zTopic, char **pzErr);

/* Look a topic up.  Returns SQLITE_OK and fills *pT, or SQLITE_NOTFOUND
** with "stream: no such topic: X" in *pzErr (sqlite3StreamTopicMissing),
** or another error. */
int sqlite3StreamTopicGet(StreamCtx*, const char *zTopic, StreamTopic *pT,
                          char **pzErr);

/* The partition count in column iCol of pStmt (a _stream_topics row)
** into *pnPart, or a "damaged" error if it is not an integer in
** 1..STREAM_MAX_PARTITIONS (loops run over it). */
int sqlite3StreamPartitionCount(const char *zTopic, sqlite3_stmt *pStmt,
                                int iCol, int *pnPart, char **pzErr);
/* Check that iPartition is a partition of the topic. */
int sqlite3StreamPartitionCheck(const char *zTopic, const StreamTopic *pT,
                                i64 iPartition, char **pzErr);

int sqlite3StreamTopicCreate(StreamCtx*, const char *zName, i64 nPartition,
                             const char *zConfig, char **pzErr);
/* Apply the config changes zConfig; *pzOut receives the resolved config,
** rendered (sqlite3StreamConfigRender()). */
int sqlite3StreamTopicAlter(StreamCtx*, const char *zName,
                            const char *zConfig, char **pzOut,
                            char **pzErr);

int sqlite3StreamTopicAddPartitions(StreamCtx*, const char *zName,
                                    i64 nTotal, char **pzErr);
int sqlite3StreamTopicDelete(StreamCtx*, const char *zName, char **pzErr);
/* List pR in p's open cursors reading messages (the caller sets
** its fields), or take it off the list: sqlite3StreamTopicDelete refuses
** a topic one of them still reads. */
void sqlite3StreamReadingAdd(StreamCtx *p, StreamReading *pR);
void sqlite3StreamReadingRemove(StreamCtx *p, StreamReading *pR);


/* The hot log (_stream_log, sql/schema.sql): message (partition id,
** offset) is the row (id << 40) | offset, so offsets of a partition run
** from 0 to STREAM_MAX_LOG_OFFSET; a partition's messages are one range of
** rowids.  STREAM_LOG_M is the mask (2^40-1) as SQL text. */
#define STREAM_LOG_SHIFT 40
#define STREAM_MAX_LOG_OFFSET ((((i64)1)<<STREAM_LOG_SHIFT) - 1)
#define STREAM_LOG_M "1099511627775"
/* Largest partition id: (id << 40) | offset stays a positive int64. */
#define STREAM_MAX_PID ((((i64)1)<<(63-STREAM_LOG_SHIFT)) - 1)
/* The time index (_stream_timeindex) has an entry at every offset o with
** (o+1) % STREAM_TIX_EVERY == 0. */
#define STREAM_TIX_EVERY 64

/* SQL for the statements on partition (?1 topic, ?2 partition): its id;
** the first rowid of its messages; the rowid of offset X (an SQL
** expression) clamped to the partition (X below 0 is 0, X above the
** largest offset is the rowid after it); the last rowid it may hold; the
** offset of the current row. */
#define STREAM_LOG_PID \
  "(SELECT id FROM _stream_partitions WHERE topic=?1 AND partition=?2)"
#define STREAM_LOG_B "(" STREAM_LOG_PID "<<40)"
#define STREAM_LOG_AT(X) \
  "(" STREAM_LOG_B "+min(max(" X ",0)," STREAM_LOG_M "+1))"
#define STREAM_LOG_END "(" STREAM_LOG_B "+" STREAM_LOG_M ")"
#define STREAM_LOG_OFF "(id&" STREAM_LOG_M ")"
/* All of the partition's rows, and those of offsets [LO, HI]. */
#define STREAM_LOG_ALL "id BETWEEN " STREAM_LOG_B " AND " STREAM_LOG_END
#define STREAM_LOG_RANGE(LO, HI) \
  "id BETWEEN " STREAM_LOG_AT(LO) " AND min(" STREAM_LOG_AT(HI) "," \
  STREAM_LOG_END ")"

/* Record batches (storage format 4, ext/record.c): a row of _stream_log
** may hold n >= 2 records of one partition, offsets base..base+delta
** (the row's id is its first offset): attrs has STREAM_ATTR_BATCH, key
** is the integer (bytes << 8) | delta (delta <= 255; bytes: the records'
** stored key + value + headers bytes, as STREAM_MSG_BYTES_SQL counts
** them), value the records (sqlite3StreamBatchNext()), headers NULL,
** timestamp the largest timestamp of the records.  A batch row holds
** every offset of base..base+delta (nothing removes single records from
** it: compacted and tiered topics are not batched).  The offsets after
** a row's first, as SQL, for the row alias M. */
#define STREAM_BATCH_SPAN 256  /* offsets a batch row spans at most */
#define STREAM_BATCH_LAST_SQL(M) \
  "(CASE WHEN " M ".attrs&8 THEN " M ".key&255 ELSE 0 END)"
/* Messages in the current row. */
#define STREAM_BATCH_COUNT_SQL \
  "(CASE WHEN attrs&8 THEN (key&255)+1 ELSE 1 END)"

/* The high watermark rule, the one place it is written: the next offset
** to be assigned is the newest message's offset + 1 (0 if none), or
** _stream_partitions.next_offset if that is larger (messages removed by
** retention, compaction or tiering).  An SQL expression for the partition
** of id PID (an SQL expression) with next_offset NEXT (an SQL
** expression). */
#define STREAM_HWM_SQL(PID, NEXT) \
  "max(coalesce((SELECT (m.id&" STREAM_LOG_M ")+1+" \
  STREAM_BATCH_LAST_SQL("m") " FROM _stream_log m" \
  " WHERE m.id BETWEEN (" PID ")<<40 AND ((" PID ")<<40)+" STREAM_LOG_M \
  " ORDER BY m.id DESC LIMIT 1), 0), " NEXT ")"
/* ... for ?1 and ?2 (0 for a partition that does not exist). */
#define STREAM_HWM_SQL_BOUND \
  "coalesce((SELECT " STREAM_HWM_SQL("p.id", "p.next_offset") \
  " FROM _stream_partitions p WHERE p.topic=?1 AND p.partition=?2), 0)"

/* High watermark (next offset to be assigned) of one partition. */
int sqlite3StreamHighWatermark(StreamCtx*, const char *zTopic, int iPart,
                               i64 *piHwm, char **pzErr);
/* ... and the partition's id in _stream_partitions (the append path). */
int sqlite3StreamLogPosition(StreamCtx*, const char *zTopic, int iPart,
                             i64 *piHwm, i64 *piPid, char **pzErr);

/**************************************************************************
** Interface to code in ext/produce.c
*/

/* "Not given" for StreamMsg.iPartition and .iTimestamp. */
#define STREAM_UNSET ((i64)(-0x7fffffffffffffffLL - 1))

/* Largest timestamp a producer may give: 9999-12-31T23:59:59.999Z in ms
** since the epoch (the last instant of a four-digit year).  Kafka's are ms
** since the epoch too; anything larger cannot be a real time, and bounded
** timestamps keep the time arithmetic of retention and tiering (a
** timestamp plus retention.ms, the UTC day of a segment) in range. */
#define STREAM_MAX_TIMESTAMP ((i64)253402300799999LL)

/* Largest offset: one below INT64_MAX, so that offset + 1 (the next
** offset, a position after it) never overflows.  An offset read from a
** damaged database beyond it is refused with a "damaged" error. */
#define STREAM_MAX_OFFSET ((i64)0x7ffffffffffffffeLL)

/* Largest message count kept in a counter read back from storage (2^53,
** exact as a JSON number): larger values are damage. */
#define STREAM_MAX_COUNT ((i64)1<<53)

/* Largest max.block.ms (backpressure policy block): one hour.  Kafka's
** default is 60000; a longer wait only holds a connection and a thread. */
#define STREAM_MAX_BLOCK_MS 3600000

/* Kinds of a key or value. */
#define STREAM_TYPE_NULL 0
#define STREAM_TYPE_TEXT 1
#define STREAM_TYPE_BLOB 2

/* One message to produce.  Bytes are borrowed from the caller. */
struct StreamMsg {
  const void *pKey;            /* Key bytes (NULL for a NULL key) */
  int nKey;                    /* Bytes in pKey */
  int eKey;                    /* STREAM_TYPE_* */
  const void *pValue;          /* Value bytes: JSON text or raw bytes */
  int nValue;                  /* Bytes in pValue */
  int eValue;                  /* STREAM_TYPE_* (NULL = tombstone) */
  const char *zHeaders;        /* JSON object text, or NULL */
  int nHeaders;                /* Bytes in zHeaders */
  i64 iPartition;              /* Explicit partition, or STREAM_UNSET */
  i64 iTimestamp;              /* CreateTime in ms, or STREAM_UNSET (now) */
  const char *zProducer;       /* Idempotent producer id, or NULL */
  i64 iSeq;                    /* Its sequence number (if zProducer) */
  i64 nBatchPrior;             /* Messages of zProducer written before
                               ** this one in its stream_produce_batch()
                               ** call; 0: the message starts a batch */
};

/* Fill the key (bValue==0) or value (bValue==1) of pMsg from an SQL value;
** an error names zWhat if the type is not TEXT, BLOB or NULL. */
int sqlite3StreamMsgField(StreamMsg *pMsg, int bValue, sqlite3_value *pVal,
                          const char *zWhat, char **pzErr);
/* The same, for a call on connection p: inside a transaction the
** extension knows, TEXT of a UTF-8 database is taken without the
** terminated copy sqlite3_value_text() makes of an unterminated value. */
int sqlite3StreamMsgFieldCtx(StreamCtx *p, StreamMsg *pMsg, int bValue,
                             sqlite3_value *pVal, const char *zWhat,
                             char **pzErr);

/* _stream_messages.attrs bits. */
#define STREAM_ATTR_CODEC_MASK 0x03  /* STREAM_CODEC_* of the stored value */
#define STREAM_ATTR_BLOB       0x04  /* compressed value was a BLOB */
#define STREAM_ATTR_BATCH      0x08  /* a record batch (format 4) */

/* Record batches (ext/record.c).  A batch is written when it holds
** STREAM_BATCH_MAX records or its byte limit, sqlite3StreamBatchBytes(),
** would be passed.  For small records (each at most a quarter of a page)
** the limit keeps the row within one table-leaf page of the database
** (SQLite keeps a row's payload local up to the usable page size - 35
** bytes; no overflow page), so a page holds one batch row (4 KiB pages:
** about 35 messages of 100 bytes).  A large record (more than a quarter of
** that) may join a row of STREAM_BATCH_PAGES full overflow pages (the
** leaf keeps SQLite's smallest local part): one-page rows of 1 KiB
** records (three a row) would leave a fifth of every page empty.  A
** record of more than half of its limit starts no batch (another of its
** size could not join it).  At most STREAM_BATCH_SPAN records a row (the
** row's key holds the last offset's delta in 8 bits). */
#ifndef STREAM_BATCH_PAGES
# define STREAM_BATCH_PAGES 4
#endif
#ifndef STREAM_BATCH_MAX
# define STREAM_BATCH_MAX STREAM_BATCH_SPAN
#endif
/* Batching on in a new connection (stream_log_batching() changes it). */
#ifndef STREAM_BATCH_DEFAULT
# define STREAM_BATCH_DEFAULT 1
#endif
/* Bytes of a batch row's payload besides its value: the record header
** (its size, six serial types, the value's taking 3 bytes up to 64 KiB)
** and the key, timestamp and attrs integers (8 + 8 + 1). */
#define STREAM_BATCH_ROW_OVERHEAD 26
/* The largest batch value (records) that may take a record of nRecord
** bytes (with its framing): for a small record, the value whose row stays
** local in a leaf page of the database's main schema; for a large one (a
** quarter of that or more), the value whose row fills STREAM_BATCH_PAGES
** overflow pages exactly (page size less reserved bytes, read once a
** connection into p->nBatchBytes and p->nBatchBig). */
int sqlite3StreamBatchBytes(StreamCtx*, i64 nRecord);
/* One record of a batch row, pointing into the row's value. */
typedef struct StreamBatchRec StreamBatchRec;
struct StreamBatchRec {
  i64 iOffset;                 /* Offset */
  i64 iTimestamp;              /* Timestamp */
  int attrs;                   /* Attrs of the value (codec, blob) */
  int eKey, eValue;            /* SQLITE_NULL, SQLITE_TEXT or SQLITE_BLOB */
  int eHeaders;                /* SQLITE_NULL or SQLITE_TEXT */
  const u8 *pKey, *pValue, *pHeaders;     /* Bytes */
  int nKey, nValue, nHeaders;  /* Their lengths */
};
/* Append one record to the batch a[*pn] of nMax bytes (being built),
** iDelta its offset after the batch's first: SQLITE_FULL (the batch
** unchanged) if it does not fit. */
int sqlite3StreamBatchAppend(u8 *a, int nMax, int *pn, i64 iDelta, i64 iTs,
                             int attrs, int eKey, const void *pKey, int nKey,
                             int eValue, const void *pValue, int nValue,
                             const char *zHeaders, int nHeaders);
/* Decode the record at *piPos of the batch a[n] of a row whose first
** offset is iBase, advancing *piPos: SQLITE_ROW, SQLITE_DONE at the end,
** SQLITE_CORRUPT. */
int sqlite3StreamBatchNext(const u8 *a, int n, int *piPos, i64 iBase,
                           StreamBatchRec *pRec);
/* Skip the records from *piPos whose offset is below iLo (a scan's lower
** bound: where a poll or a range starts inside a row), advancing *piPos to
** the first that is not, or to the end; the checks of the decode, nothing
** decoded: SQLITE_CORRUPT at a damaged record (*piPos at it). */
int sqlite3StreamBatchSkip(const u8 *a, int n, int *piPos, i64 iBase,
                           i64 iLo);
/* Decode up to nMax records from *piPos into aRec (a row's records in one
** call), advancing *piPos past them: *pnGot records (fewer at the end of
** the batch), *piFirst where the first begins; SQLITE_CORRUPT at a
** damaged record (*pnGot the good ones before it). */
int sqlite3StreamBatchDecode(const u8 *a, int n, int *piPos, i64 iBase,
                             StreamBatchRec *aRec, int nMax, int *pnGot,
                             int *piFirst);
/* Write the pending batches of the transaction as rows (ext/produce.c);
** drop them (a rollback). */
int sqlite3StreamPendingFlush(StreamCtx*, char **pzErr);
void sqlite3StreamPendingDrop(StreamCtx*);
/* Hold them (bHold 1) through a unit of work that neither needs nor may
** see them (the amortised maintenance of ext/maintain.c): they are not
** written, and a ROLLBACK TO of a savepoint opened while they are held
** keeps them (they were produced before it); release (bHold 0). */
void sqlite3StreamPendingHold(StreamCtx*, int bHold);
/* Write out partition iPid's pending batch only; is there one (1: its
** first offset in *piBase, its smallest timestamp in *piTsMin; either may
** be NULL)? */
int sqlite3StreamPendingFlushPart(StreamCtx*, i64 iPid, char **pzErr);
int sqlite3StreamPendingInfo(StreamCtx*, i64 iPid, i64 *piBase,
                             i64 *piTsMin);
/* Rewrite the batch rows of a topic as one row per message (a topic that
** becomes compacted, or archived to the cold tier or a pipeline); ... of
** one partition holding offsets in [iLo, iHi] (the warm move). */
int sqlite3StreamUnbatchRange(StreamCtx*, const char *zTopic, int iPart,
                              i64 iLo, i64 iHi, char **pzErr);
int sqlite3StreamUnbatchTopic(StreamCtx*, const char *zTopic, char **pzErr);

/* The record codec (ext/record.c): the stored form of a value.  Encode:
** the bytes to store for a produced value (bBlob: it is a BLOB) of a topic
** compressed with eCodec: *ppOut NULL (store it as produced, attrs 0) or a
** sqlite3_malloc'd compressed form with its *pAttrs. */
int sqlite3StreamRecordEncode(int eCodec, const void *pValue, int nValue,
                              int bBlob, void **ppOut, size_t *pnOut,
                              int *pAttrs);
/* Decode a stored value with its attrs: *ppOut NULL and *peType 0 if it
** is stored as produced (the stored value is the value); else the
** produced bytes (sqlite3_malloc'd, NULL if empty) and their type
** (SQLITE_TEXT or SQLITE_BLOB).  SQLITE_NOMEM, or SQLITE_CORRUPT if the
** stored bytes do not decode. */
int sqlite3StreamRecordDecode(int attrs, const void *pStored, int nStored,
                              void **ppOut, size_t *pnOut, int *peType);

/* Maximum size of a key, value or headers object before any topic limit
** applies (SQLite's own limits are larger). */
#define STREAM_MAX_FIELD_BYTES 1000000000

/* Validate pMsg for topic zTopic (described by *pT): types, JSON, size,
** partition.  Writes nothing.  Resolves pMsg->iPartition when -1. */
int sqlite3StreamMsgCheck(StreamCtx*, const char *zTopic,
                          const StreamTopic *pT, StreamMsg *pMsg,
                          char **pzErr);

/* What an after-append (or before-append) hook is told: the message
** stored (or about to be: its offset is the one it will get), and the
** CDC topic to write its event to (checked before the append: NULL if
** none, or if the message is itself of the CDC topic). */
struct StreamAppended {
  const char *zTopic;          /* Topic */
  const StreamTopic *pT;       /* Its settings */
  const StreamMsg *pMsg;       /* The message (iPartition resolved) */
  i64 iOffset;                 /* Its offset */
  const char *zCdc;            /* CDC topic for its event, or NULL */
  int bCdcSelf;                /* The message is of the CDC topic */
};

/* Register an after-append hook on this connection; bBefore: a
** before-append hook. */
int sqlite3StreamAfterAppendAdd(StreamCtx*, StreamAfterAppend xHook,
                                int bBefore);

/* Append one checked message; *piOffset receives its offset.  Then the
** after-append hooks run (maintenance, tiering, CDC). */
int sqlite3StreamAppend(StreamCtx*, const char *zTopic,
                        const StreamTopic *pT, const StreamMsg *pMsg,
                        i64 *piOffset, char **pzErr);

/* Check then append (the whole of stream_produce()). */
int sqlite3StreamProduce(StreamCtx*, const char *zTopic, StreamMsg *pMsg,
                         i64 *piPartition, i64 *piOffset, char **pzErr);

/* Produce every element of a JSON array of {key,value,headers,partition}
** objects, all or nothing (validated before anything is written). */
int sqlite3StreamProduceBatch(StreamCtx*, const char *zTopic,
                              const char *zJson, i64 *pnProduced,
                              char **pzErr);

/* Free the sticky-partitioner state. */
void sqlite3StreamStickyFree(StreamCtx*);

/**************************************************************************
** Interface to code in ext/offsets.c
*/

/* Commit offset iOffset (the next offset to read) for a group.  Checks the
** topic, the partition and 0 <= iOffset <= high watermark. */
int sqlite3StreamCommit(StreamCtx*, const char *zGroup, const char *zTopic,
                        i64 iPartition, i64 iOffset, const char *zMeta,
                        const char *zMember, char **pzErr);
/* The commit itself, no membership checks (used by the consume path,
** which has checked already). */
int sqlite3StreamCommitRaw(StreamCtx*, const char *zGroup, const char *zTopic,
                           i64 iPartition, i64 iOffset, const char *zMeta,
                           char **pzErr);
/* Remove the committed offset stored at rowid iRowid of _stream_offsets
** (no error if there is none). */
int sqlite3StreamCommitDelete(StreamCtx*, i64 iRowid, char **pzErr);
/* Replace the committed offset at rowid iRowid with a commit of the given
** values: a commit, then, if the key changed, removal of the old row. */
int sqlite3StreamCommitReplace(StreamCtx*, i64 iRowid, const char *zGroup,
                               const char *zTopic, i64 iPartition,
                               i64 iOffset, const char *zMeta, char **pzErr);

/**************************************************************************
** Interface to code in ext/assign.c: Kafka's range and roundrobin
** assignors, as pure functions.
*/
#define STREAM_ASSIGN_RANGE      0
#define STREAM_ASSIGN_ROUNDROBIN 1

typedef struct StreamAssignInput StreamAssignInput;
struct StreamAssignInput {
  int nMember;                 /* Members, sorted by id */
  int nTopic;                  /* Topics, sorted by name */
  const int *aPartitions;      /* Partition count of each topic */
  const u8 *aSub;              /* aSub[iMember*nTopic+iTopic]: subscribed */
};
/* Assign every partition of every topic to a subscribed member:
** aOwner[k] for the k-th topic-partition (topics in order, partitions in
** order within a topic; sum of aPartitions entries) receives the member
** index, or -1 if no member subscribes to that topic.  SQLITE_OK or
** SQLITE_NOMEM. */
int sqlite3StreamAssign(int eStrategy, const StreamAssignInput *pIn,
                        int *aOwner);
/* Compare two UTF-8 strings in the order of Java's String.compareTo (UTF-16
** code units), the order Kafka's assignors sort member ids and topics in;
** 0 only for equal strings. */
int sqlite3StreamJavaCmp(const char *zA, const char *zB);

/**************************************************************************
** Interface to code in ext/group.c: consumer group membership.
*/
#define STREAM_RESET_EARLIEST 0
#define STREAM_RESET_LATEST   1
#define STREAM_RESET_NONE     2

/* A member as seen by the consume path (ext/consume.c). */
typedef struct StreamMember StreamMember;
struct StreamMember {
  i64 iGeneration;             /* Group generation */
  int bAutoCommit;             /* enable.auto.commit */
  i64 autoCommitIntervalMs;    /* auto.commit.interval.ms */
  i64 maxPollRecords;          /* max.poll.records */
  i64 fetchMaxBytes;           /* fetch.max.bytes */
  int eReset;                  /* auto.offset.reset: STREAM_RESET_* */
  StreamIncarnation *pInc;     /* Its entry on this connection */
  int bWriteDue;               /* sqlite3StreamMemberPeek: an expiry, a
                               ** rebalance or a heartbeat is due */
};

/* Join (or re-join) a group; *pzJson receives the join result JSON. */
int sqlite3StreamJoin(StreamCtx*, const char *zGroup, const char *zMember,
                      const char *zTopics, const char *zOptions,
                      char **pzJson, char **pzErr);
/* Check that zMember is a live, current member of zGroup on this
** connection (expiring dead members and rebalancing as needed), record a
** heartbeat, and fill *pM (may be NULL). */
int sqlite3StreamMemberCheck(StreamCtx*, const char *zGroup,
                             const char *zMember, StreamMember *pM,
                             char **pzErr);
/* The same for a poll: the heartbeat also records the poll (liveness for
** max.poll.interval.ms).  Heartbeats are written only when due: at most
** every min(session.timeout.ms, max.poll.interval.ms)/3. */
int sqlite3StreamMemberPoll(StreamCtx*, const char *zGroup,
                            const char *zMember, StreamMember *pM,
                            char **pzErr);
/* The check of a member's commit: fencing and the heartbeat, no expiry
** and no rebalance (ext/group.c). */
int sqlite3StreamMemberFence(StreamCtx*, const char *zGroup,
                             const char *zMember, StreamMember *pM,
                             char **pzErr);
/* The checks of sqlite3StreamMemberCheck without writing anything: the
** fencing errors, and pM->bWriteDue set when the group has an expired
** member, a subscribed topic changed its partition count, or this
** member's heartbeat is due.  The reads go through pRead: p, or the
** long-poll reader of p (ext/consume.c). */
int sqlite3StreamMemberPeek(StreamCtx *p, StreamCtx *pRead,
                            const char *zGroup, const char *zMember,
                            StreamMember *pM, char **pzErr);
/* The same, and *piUntil (if not NULL) the last millisecond up to which
** its answers hold while the rows it read do not change (no member's
** expiry and none of this member's heartbeats due before). */
int sqlite3StreamMemberPeekUntil(StreamCtx *p, StreamCtx *pRead,
                                 const char *zGroup, const char *zMember,
                                 StreamMember *pM, i64 *piUntil,
                                 char **pzErr);
int sqlite3StreamLeave(StreamCtx*, const char *zGroup, const char *zMember,
                       char **pzErr);
/* The member's assignment as JSON {"topic":[p,...]}, no checks. */
int sqlite3StreamAssignmentJson(StreamCtx*, const char *zGroup,
                                const char *zMember, char **pzJson,
                                char **pzErr);
/* Expire dead members of zGroup; *pnLive receives the live members. */
int sqlite3StreamGroupExpire(StreamCtx*, const char *zGroup, int *pnLive,
                             char **pzErr);
/* Does zMember own (zTopic, iPartition) in zGroup now? */
int sqlite3StreamOwns(StreamCtx*, const char *zGroup, const char *zMember,
                      const char *zTopic, i64 iPartition, int *pbOwns,
                      char **pzErr);
/* Forget this connection's incarnations (connection close). */
void sqlite3StreamGroupFree(StreamCtx*);

/**************************************************************************
** Interface to code in ext/consume.c: polling, positions, seeks.
*/
/* One polled message: columns topic .. timestamp as stream_messages.
** Text and blob bytes live in the result's arena (aVal = their offset). */
typedef struct StreamPollRow StreamPollRow;
struct StreamPollRow {
  u8 aType[7];                 /* SQLITE_INTEGER, _TEXT, _BLOB or _NULL */
  int aLen[7];                 /* Bytes of a text or blob */
  int iPart;                   /* Its partition: index in aPart */
  i64 aVal[7];                 /* Integer value, or offset in zArena */
};
/* One partition a poll returned rows of. */
typedef struct StreamPollPart StreamPollPart;
struct StreamPollPart {
  i64 iTopic;                  /* Topic name: offset in zArena */
  int nTopic;                  /* Its bytes */
  int iPartition;              /* Partition */
  int iOrder;                  /* Rank in (topic, partition) order */
  int iTopicRank;              /* Rank of the topic in topic order */
  i64 iStart;                  /* Position the poll read from */
  StreamPosition *pPos;        /* The member's position, or NULL */
  i64 iVer;                    /* pPos->iVer after this poll's last move */
};
typedef struct StreamPollResult StreamPollResult;
struct StreamPollResult {
  int nRow;                    /* Rows returned */
  int nAlloc;                  /* Allocated slots */
  StreamPollRow *aRow;         /* The rows */
  char *zArena;                /* Bytes of the texts and blobs */
  i64 nArena;                  /* Bytes used in zArena */
  i64 nArenaAlloc;             /* Bytes allocated */
  int nPart;                   /* Partitions in aPart */
  int nPartAlloc;              /* Allocated slots */
  StreamPollPart *aPart;       /* Partitions of the rows */
};
void sqlite3StreamPollResultFree(StreamPollResult*);

/* A member's position on one partition, kept by the connection that
** joined it (as a Kafka client keeps its positions): the next offset a
** poll hands out.  Written to the database only by a commit (ext/consume.c
** has the rules). */
struct StreamPosition {
  char *zTopic;                /* Topic (same allocation) */
  int iPartition;              /* Partition */
  i64 iPos;                    /* Next offset to hand out, or -1: not started */
  i64 iMark;                   /* _stream_assignments.position last read */
  i64 iVer;                    /* Bumped at every change of iPos */
  StreamPosition *pNext;       /* Next position of the member */
  StreamPosition *pHashNext;   /* Next in its bucket of apHash */
};
/* A position change in the open transaction, undone by its rollback. */
struct StreamPosUndo {
  StreamPosition *pPos;        /* Changed position, or NULL */
  StreamIncarnation *pInc;     /* Or: member whose poll cursor moved */
  i64 iPos;                    /* The value before */
  i64 iMark;                   /* The position's mark before */
  i64 iHandedTo;               /* A poll handed out rows up to this offset
                               ** (excluded), or 0: a commit checks that
                               ** the partition was not reassigned since */
};
/* A member joined on this connection: its incarnation (fencing) and its
** client-side state. */
struct StreamIncarnation {
  char *zGroup;                /* Group id (same allocation) */
  char *zMember;               /* Member id (same allocation) */
  i64 iIncarnation;            /* Incarnation joined on this connection */
  StreamPosition *pPos;        /* Positions (ext/consume.c) */
  StreamPosition **apHash;     /* pPos by (topic, partition), or NULL */
  int nHash;                   /* Buckets of apHash */
  int nPos;                    /* Positions in pPos */
  i64 iPollCursor;             /* Polls so far: rotates the partition order */
  i64 iAutoCommitAt;           /* Last auto-commit (ms), or -1 */
  StreamPollCache *pPollCache; /* Membership and assignment of the last
                               ** poll (ext/consume.c), or NULL */
  StreamIncarnation *pNext;    /* Next entry */
};
/* The entry of (zGroup, zMember) joined on this connection, or NULL. */
StreamIncarnation *sqlite3StreamIncarnGet(StreamCtx*, const char *zGroup,
                                          const char *zMember);
/* Close the long polls' watch of the -wal file (connection close). */
void sqlite3StreamWatchClose(StreamCtx*);
/* Free the positions of pInc (leave, re-join, fencing, close). */
void sqlite3StreamPositionsFree(StreamCtx*, StreamIncarnation *pInc);
/* Transaction events of stream_txn (ext/txn.c) for the positions. */
#define STREAM_POSTXN_BEGIN      0
#define STREAM_POSTXN_SAVEPOINT  1
#define STREAM_POSTXN_ROLLBACKTO 2
#define STREAM_POSTXN_COMMIT     3
#define STREAM_POSTXN_ROLLBACK   4
void sqlite3StreamPosTxn(StreamCtx*, int eOp, int iSavepoint);

/* A poll whose rows are being handed out (vtab/poll.c).  The cursor
** counts the rows its caller has been handed (nDelivered); each one moves
** its partition's position one past it at once, in memory
** (sqlite3StreamPollHandOut). */
struct StreamPollOpen {
  StreamPollResult res;        /* The rows, in the order handed out */
  int nDelivered;              /* Rows [0, nDelivered) were handed out */
  char *zGroup;                /* Group (owns the allocation of zMember) */
  char *zMember;               /* Member */
  int bExplicit;               /* Polled inside an explicit transaction */
  i64 nTxnEnd;                 /* StreamCtx.nTxnEnd when polled */
  i64 nEpoch;                  /* StreamCtx.nPosEpoch of the aPart pointers */
};
/* Free pOpen, its rows and names. */
void sqlite3StreamPollOpenFree(StreamPollOpen *pOpen);
/* Load the extension on db, another connection of this process (the long
** poll's reader, ext/consume.c): its StreamCtx, or NULL (ext/main.c). */
StreamCtx *sqlite3StreamCtxLoad(sqlite3 *db);
/* Rows [pOpen->nDelivered, nTo) were handed out: move their positions. */
void sqlite3StreamPollHandOut(StreamCtx*, StreamPollOpen *pOpen, int nTo);
/* The member's position on a partition (its next offset), or -1 if not
** started on this connection. */
int sqlite3StreamPosition(StreamCtx*, const char *zGroup, const char *zMember,
                          const char *zTopic, i64 iPartition, i64 *piPos,
                          char **pzErr);
/* One poll into pRes, whose buffers (zero-initialised the first time) are
** reused; on error pRes holds no rows.  Rows are preallocated for polls of
** up to STREAM_POLL_PREALLOC records. */
#define STREAM_POLL_PREALLOC 4096
/* nCap > 0: return at most nCap rows (a LIMIT pushed down).  The poll
** moves no position over the rows it returns: see StreamPollOpen. */
int sqlite3StreamPoll(StreamCtx*, const char *zGroup, const char *zMember,
                      i64 nMax, i64 nCap, i64 nWaitMs,
                      StreamPollResult *pRes, char **pzErr);
/* Wait until the member has messages to poll or nWaitMs passes; *pnAvail
** receives the number of partitions with messages. */
int sqlite3StreamWait(StreamCtx*, const char *zGroup, const char *zMember,
                      i64 nWaitMs, i64 *pnAvail, char **pzErr);
int sqlite3StreamCommitSync(StreamCtx*, const char *zGroup,
                            const char *zMember, i64 *pnCommitted,
                            char **pzErr);
int sqlite3StreamSeek(StreamCtx*, const char *zGroup, const char *zTopic,
                      i64 iPartition, sqlite3_value *pTarget, i64 *piOffset,
                      char **pzErr);
int sqlite3StreamPause(StreamCtx*, const char *zGroup, const char *zMember,
                       const char *zTopic, i64 iPartition, int bPause,
                       char **pzErr);
int sqlite3StreamOffsetForTime(StreamCtx*, const char *zTopic,
                               i64 iPartition, i64 iTime, i64 *piOffset,
                               char **pzErr);
int sqlite3StreamDeadLetter(StreamCtx*, const char *zGroup,
                            const char *zMember, const char *zTopic,
                            i64 iPartition, i64 iOffset, const char *zReason,
                            i64 *piDlqOffset, char **pzErr);

/**************************************************************************
** Interface to code in ext/cdc.c
*/

/* The CDC topic to write events to for a change of topic zSkipTopic (may
** be NULL): *pzCdc is NULL when CDC is off or zSkipTopic is the CDC topic
** itself, else the name (sqlite3_malloc'd).  Fails, writing nothing, if
** the configured CDC topic does not exist: call it before any write. */
int sqlite3StreamCdcPrepare(StreamCtx*, const char *zSkipTopic,
                            char **pzCdc, char **pzErr);
/* The before-append hook of CDC: the stream.produce event, written
** before the message so that a refusal by the CDC topic fails the append
** with nothing of it written (also where no savepoint can undo it: a
** one-row INSERT INTO stream_messages in a transaction). */
int sqlite3StreamCdcBeforeAppend(StreamCtx*, const StreamAppended*,
                                 char **pzErr);
/* The after-append hook of CDC: the C callback (xCdc) gets the event the
** before-append hook built, once the append succeeded. */
int sqlite3StreamCdcAfterAppend(StreamCtx*, const StreamAppended*,
                                char **pzErr);
/* Append the event (JSON object text) keyed by zKey to topic zCdc (if not
** NULL) and hand it to the C callback (if any): sqlite3StreamCdcWrite,
** then sqlite3StreamCdcNotify. */
int sqlite3StreamCdcEmit(StreamCtx*, const char *zCdc, const char *zKey,
                         const char *zEvent, char **pzErr);
/* The two halves of sqlite3StreamCdcEmit: the event into topic zCdc (if
** not NULL), and to the C callback (if any). */
int sqlite3StreamCdcWrite(StreamCtx*, const char *zCdc, const char *zKey,
                          const char *zEvent, char **pzErr);
void sqlite3StreamCdcNotify(StreamCtx*, const char *zEvent);
/* Format an ISO-8601 UTC time with milliseconds into z (>= 25 bytes). */
void sqlite3StreamIsoTime(i64 iMs, char *z);

/**************************************************************************
** The SQL functions, registered from one table in ext/main.c (aFunc[]):
** ext/func.c (catalog, produce, commit, settings), ext/maintain.c
** (maintenance), ext/func_tier.c (tiering), ext/backup.c (backup).
** Each is an xFunc whose user data is the StreamCtx.
*/
void sqlite3StreamVersionFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamDebugFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamMurmur2Func(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamPartitionFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamLogBatchingFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamCreateTopicFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamAlterTopicFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamAddPartitionsFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamDeleteTopicFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamProduceFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamProduceBatchFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamCommitFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamConfigFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamMaintainFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamCompactFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamCompactionFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamVfsDefaultFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamTierFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamBackupFunc(sqlite3_context*, int, sqlite3_value**);

/**************************************************************************
** Interface to code in ext/checkpoint.c: WAL checkpoints off the commit
** path (stream_checkpointer()).
*/
/* Start the checkpointer of p's connection (its thread and connection),
** or, if it runs, take the WAL hook and wal_autocheckpoint again. */
int sqlite3StreamCheckpointerStart(StreamCtx *p, char **pzErr);
/* Stop it: the thread joined, its connection closed; SQLite's
** autocheckpoint back unless bClosing (the connection is closing). */
void sqlite3StreamCheckpointerStop(StreamCtx *p, int bClosing);
/* Its state and counters as a JSON object (sqlite3_malloc), or NULL. */
char *sqlite3StreamCheckpointerStatus(StreamCtx *p);

/**************************************************************************
** Interface to code in ext/wake.c: the after-commit wake-up of long polls
** ("<db>-streamwake"; Linux only, elsewhere these do nothing).
*/
/* After a commit of p's connection is published: wake the waiting polls
** of the database, if any (no system call when none waits). */
void sqlite3StreamWakeCommitted(StreamCtx *p);
/* Register a waiting poll (creating the file if needed); 1 if the wake
** file serves, 0 if not (then the other calls do nothing).  Every 1 is
** paired with sqlite3StreamWakeEnd(). */
int sqlite3StreamWakeBegin(StreamCtx *p);
void sqlite3StreamWakeEnd(StreamCtx *p);
/* The sequence now: read it before a look, sleep on it after. */
unsigned int sqlite3StreamWakeSeq(StreamCtx *p);
/* Sleep up to nUs microseconds while the sequence is iSeq; 1 if it
** changed (a commit woke it). */
int sqlite3StreamWakeSleep(StreamCtx *p, unsigned int iSeq, i64 nUs);
/* Unmap the file (the connection closes). */
void sqlite3StreamWakeClose(StreamCtx *p);

/**************************************************************************
** Interface to code in ext/func.c: helpers of every SQL function.
*/
/* The one error policy: report an engine error (rc, message) on ctx --
** SQLITE_NOMEM as such, else the message (or the code's text) with
** SQLITE_ERROR, or the code itself for busy, locked, interrupt, I/O,
** full and too-big (sqlite3StreamErrCode()); frees zErr. */
void sqlite3StreamResultErr(sqlite3_context *ctx, int rc, char *zErr);
/* One call, one transaction (ext/func.c): the arguments of xCall. */
typedef struct StreamCallArgs StreamCallArgs;
struct StreamCallArgs {
  const char *az[4];           /* Text arguments */
  i64 ai[2];                   /* Integer arguments */
  sqlite3_value *pVal;         /* A value argument, or NULL */
  i64 iOut;                    /* Integer result of the call */
  void *pOut;                  /* Other output of the call, or NULL */
};
int sqlite3StreamCallTxn(sqlite3_context *ctx,
                         int (*xCall)(StreamCtx*, StreamCallArgs*, char**),
                         StreamCallArgs *pArgs);
/* Argument iArg as text / as an integer, or NULL / 0 after reporting an
** error that names zWhat. */
const char *sqlite3StreamArgText(sqlite3_context *ctx, sqlite3_value **argv,
                                int iArg, const char *zWhat);
int sqlite3StreamArgInt(sqlite3_context *ctx, sqlite3_value **argv,
                       int iArg, const char *zWhat, i64 *pi);
void sqlite3StreamCheckpointerFunc(sqlite3_context*, int, sqlite3_value**);

/**************************************************************************
** Interface to code in ext/func_group.c (consumer group SQL functions),
** registered from ext/main.c's aFunc[]
*/
void sqlite3StreamJoinFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamHeartbeatFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamLeaveFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamAssignmentFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamCommitSyncFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamSeekFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamPauseFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamResumeFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamOffsetForTimeFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamDeadLetterFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamWaitFunc(sqlite3_context*, int, sqlite3_value**);
void sqlite3StreamPositionFunc(sqlite3_context*, int, sqlite3_value**);

/**************************************************************************
** Interface to code in vtab/sqlvtab.c: a read-only (optionally writable)
** eponymous virtual table whose rows are those of one SELECT over the
** storage tables, with "=" constraints on chosen columns pushed down.
*/
typedef struct StreamSqlVtabDef StreamSqlVtabDef;
struct StreamSqlVtabDef {
  const char *zName;           /* Module (and table) name */
  const char *zDecl;           /* Column list for sqlite3_declare_vtab() */
  const char *zSql;            /* SELECT giving the columns, in order */
  unsigned int mEq;            /* Columns (bit i = column i) with = push-down */
  int bDirectOnly;             /* SQLITE_VTAB_DIRECTONLY (else INNOCUOUS) */
  int bAnchor;                 /* Connection count kept in StreamCtx */
  int bRowid;                  /* The column after the last declared one is
                               ** the rowid (xUpdate gets real rowids) */
  /* Optional: compute column iCol of the current row of pStmt. */
  void (*xColumn)(sqlite3_context*, sqlite3_stmt *pStmt, int iCol);
  /* Optional: INSERT/UPDATE/DELETE, as xUpdate; NULL = read-only. */
  int (*xUpdate)(StreamCtx*, int argc, sqlite3_value **argv, char **pzErr);
  /* The columns that identify a row ("c0, c1"), for a table without a
  ** rowid column: it is declared WITHOUT ROWID with a hidden PRIMARY KEY
  ** row_key = json_array(<zKey>) (SQLite needs unique rows: a MULTI-INDEX
  ** OR plan drops a row whose key it has seen). */
  const char *zKey;
};
int sqlite3StreamRegisterSqlVtab(sqlite3 *db, StreamCtx *p,
                                 const StreamSqlVtabDef *pDef);

/**************************************************************************
** Interface to code in vtab/
*/
int sqlite3StreamRegisterMessages(sqlite3 *db, StreamCtx *p);
int sqlite3StreamRegisterOffsets(sqlite3 *db, StreamCtx *p);
int sqlite3StreamRegisterTopics(sqlite3 *db, StreamCtx *p);
int sqlite3StreamRegisterPartitions(sqlite3 *db, StreamCtx *p);
/* stream_log_records(), the messages of one _stream_log row (vtab/records.c) */
int sqlite3StreamRegisterRecords(sqlite3 *db, StreamCtx *p);
int sqlite3StreamRegisterPoll(sqlite3 *db, StreamCtx *p);
/* stream_poll(...) called as a scalar function: says how to call it. */
void sqlite3StreamPollScalarFunc(sqlite3_context*, int, sqlite3_value**);
int sqlite3StreamRegisterGroups(sqlite3 *db, StreamCtx *p);
int sqlite3StreamRegisterLag(sqlite3 *db, StreamCtx *p);

/* Set the error message of a virtual table (frees the old one). */
void sqlite3StreamVtabErr(sqlite3_vtab *pVtab, const char *zFmt, ...);
/* Does constraint i of xBestIndex compare with BINARY, the collation of
** the text columns the tables push down?  (topic = 'x' COLLATE NOCASE
** is left to SQLite.) */
int sqlite3StreamVtabBinary(sqlite3_index_info *pInfo, int i);
/* Does "a = b" hold for a hidden argument column of affinity eAff
** (SQLITE_TEXT, SQLITE_INTEGER) holding a, and a term's value b (an
** argument given twice to a table-valued function)?  1 yes, 0 no, -1 out
** of memory. */
int sqlite3StreamVtabSame(sqlite3_value *a, sqlite3_value *b, int eAff);
/* Pass the extra "=" terms aDup (arguments named by zDup) to xFilter
** after the n values numbered so far; idxStr = zDup. */
int sqlite3StreamVtabDupArgs(sqlite3_index_info *pInfo, int n,
                             const int *aDup, const char *zDup, int nDup);

/* The code an SQL function or a virtual table method reports for engine
** code rc: SQLITE_NOMEM, the busy and lock codes, SQLITE_INTERRUPT, I/O
** errors, SQLITE_FULL and SQLITE_TOOBIG pass unchanged (extended codes
** such as SQLITE_BUSY_SNAPSHOT included), so that callers can retry;
** anything else becomes SQLITE_ERROR.  Never SQLITE_CORRUPT: SQLite takes
** a CORRUPT from any statement inside a transaction for damage of the
** database file itself and refuses every later write of the transaction
** ("database disk image is malformed"), so a damaged warm segment or a
** damaged storage row would poison the connection until ROLLBACK. */
int sqlite3StreamErrCode(int rc);

/**************************************************************************
** Interface to code in ext/murmur2.c
*/

/* Kafka's Utils.murmur2(): seed 0x9747b28c, returns the signed 32-bit hash
** exactly as the Java client does. */
int sqlite3StreamMurmur2(const void *pKey, int nKey);

/* Kafka's default partitioner for a non-null key:
** toPositive(murmur2(key)) % nPartition.  nPartition must be > 0. */
int sqlite3StreamPartitionForKey(const void *pKey, int nKey, int nPartition);

/**************************************************************************
** Interface to code in ext/json.c
*/

/* JSON value kinds reported by sqlite3StreamJsonCheck(). */
#define STREAM_JSON_INVALID 0
#define STREAM_JSON_OBJECT  1
#define STREAM_JSON_ARRAY   2
#define STREAM_JSON_STRING  3
#define STREAM_JSON_NUMBER  4
#define STREAM_JSON_TRUE    5
#define STREAM_JSON_FALSE   6
#define STREAM_JSON_NULL    7

/* Strict RFC 8259 validation of the n bytes at z (not NUL-terminated
** necessarily).  Returns the kind of the single top-level value, or
** STREAM_JSON_INVALID if the text is not exactly one JSON value surrounded
** by optional whitespace (including invalid UTF-8, control characters in
** strings, bad escapes, lone surrogates, nesting deeper than
** STREAM_JSON_MAX_DEPTH).  Allocates nothing. */
#define STREAM_JSON_MAX_DEPTH 1000
#define STREAM_JSON_MAX_DEPTH_TEXT "1000"  /* the same, for messages */
int sqlite3StreamJsonCheck(const char *z, size_t n);
/* Where text that sqlite3StreamJsonCheck() rejects stops being JSON, for
** an error message (sqlite3_mprintf(); NULL when out of memory). */
char *sqlite3StreamJsonErrWhere(const char *z, size_t n);
/* True if z[0..n) is rejected only for nesting deeper than
** STREAM_JSON_MAX_DEPTH. */
int sqlite3StreamJsonTooDeep(const char *z, size_t n);

/* Append the JSON string literal for the n bytes at z (UTF-8 text) to the
** sqlite3_str, with quotes and escapes. */
void sqlite3StreamJsonQuote(sqlite3_str *p, const char *z, int n);

/* The JSON tree.  A node's kind is one of STREAM_JSON_OBJECT..NULL above,
** or RAW (text printed as it is: exact 64-bit integers), or REF (a
** reference to pChild, which it does not own). */
#define STREAM_JSON_RAW     8
#define STREAM_JSON_REF     9
typedef struct StreamJson StreamJson;
struct StreamJson {
  StreamJson *pNext;           /* Next member or item of the parent */
  StreamJson *pChild;          /* First member or item; REF: the target */
  StreamJson *pLast;           /* Last member or item (appends are O(1)) */
  int eType;                   /* STREAM_JSON_* */
  char *zKey;                  /* Name in the parent object, or NULL */
  char *zValue;                /* STRING: unescaped text; RAW: JSON text;
                               ** NUMBER: the literal as parsed, or NULL */
  double rValue;               /* NUMBER */
};
#define STREAM_JSON_FOREACH(pItem, pParent) \
  for((pItem)=(pParent) ? (pParent)->pChild : 0; (pItem); \
      (pItem)=(pItem)->pNext)
/* Parse n bytes at z (n<0: NUL-terminated) into a new tree: NULL if the
** text is not what sqlite3StreamJsonCheck() accepts, or out of memory. */
StreamJson *sqlite3StreamJsonParse(const char *z, i64 n);
/* The text of a tree, compact or (bFormat) one member a line, in a
** sqlite3_malloc() buffer; NULL when out of memory. */
char *sqlite3StreamJsonPrint(const StreamJson*, int bFormat);
void sqlite3StreamJsonFree(StreamJson*);
/* Kafka's white space (Java's String.trim() for a property, "\\s"
** around a list's commas): space, \t \n \v \f \r. */
int sqlite3StreamJsonSpace(char c);
/* A STRING with white space around it (as Kafka's ConfigDef.parseType
** trims every value): 1 and *pTmp a copy of pVal whose zValue is the
** trimmed text (sqlite3_malloc'd: the caller frees pTmp->zValue); 0 if
** pVal is not such a string; -1 out of memory. */
int sqlite3StreamJsonTrimmed(const StreamJson *pVal, StreamJson *pTmp);
/* An integer from a NUMBER (exact: its literal) or a numeric STRING/RAW
** node: 1 and *piOut; 0 if not an integer, with *pbRange set if it is
** one beyond 64 bits or a fraction/exponent form beyond 2^53. */
int sqlite3StreamJsonInt(const StreamJson*, i64 *piOut, int *pbRange);
/* The kind of a node; STREAM_JSON_INVALID for NULL. */
int sqlite3StreamJsonType(const StreamJson*);
#define sqlite3StreamJsonIsObject(p) \
  (sqlite3StreamJsonType(p)==STREAM_JSON_OBJECT)
#define sqlite3StreamJsonIsArray(p) \
  (sqlite3StreamJsonType(p)==STREAM_JSON_ARRAY)
#define sqlite3StreamJsonIsString(p) \
  (sqlite3StreamJsonType(p)==STREAM_JSON_STRING)
#define sqlite3StreamJsonIsNumber(p) \
  (sqlite3StreamJsonType(p)==STREAM_JSON_NUMBER)
#define sqlite3StreamJsonIsTrue(p) (sqlite3StreamJsonType(p)==STREAM_JSON_TRUE)
#define sqlite3StreamJsonIsNull(p) (sqlite3StreamJsonType(p)==STREAM_JSON_NULL)
#define sqlite3StreamJsonIsRaw(p)  (sqlite3StreamJsonType(p)==STREAM_JSON_RAW)
#define sqlite3StreamJsonIsBool(p) \
  ((unsigned)(sqlite3StreamJsonType(p)-STREAM_JSON_TRUE)<2u)
/* New nodes (NULL when out of memory): of a kind (an empty container,
** true, false, null), a copy of text, a number, a reference, an array of
** strings, a deep copy. */
StreamJson *sqlite3StreamJsonNew(int eType);
StreamJson *sqlite3StreamJsonNewString(const char *z);
StreamJson *sqlite3StreamJsonNewRaw(const char *z);
StreamJson *sqlite3StreamJsonNewNumber(double r);
StreamJson *sqlite3StreamJsonNewRef(const StreamJson *pTarget);
StreamJson *sqlite3StreamJsonNewStringArray(const char *const *az, int n);
StreamJson *sqlite3StreamJsonCopy(const StreamJson*);
/* Append pItem to an array / to an object under a copy of zKey.  Append:
** 0 (pItem not taken, not freed) if either is NULL.  Add: 0 if pObj or
** zKey is NULL or out of memory, and pItem is then freed (so a caller
** that ignores the result leaks nothing), unless it is NULL or pObj. */
int sqlite3StreamJsonAppend(StreamJson *pArr, StreamJson *pItem);
int sqlite3StreamJsonAdd(StreamJson *pObj, const char *zKey,
                         StreamJson *pItem);
/* Add a new member and return it; NULL (nothing added) on failure. */
StreamJson *sqlite3StreamJsonAddNew(StreamJson *pObj, const char *zKey,
                                    int eType);
StreamJson *sqlite3StreamJsonAddString(StreamJson *pObj, const char *zKey,
                                       const char *z);
StreamJson *sqlite3StreamJsonAddNumber(StreamJson *pObj, const char *zKey,
                                       double r);
StreamJson *sqlite3StreamJsonAddBool(StreamJson *pObj, const char *zKey,
                                     int b);
#define sqlite3StreamJsonNewObject() sqlite3StreamJsonNew(STREAM_JSON_OBJECT)
#define sqlite3StreamJsonNewArray()  sqlite3StreamJsonNew(STREAM_JSON_ARRAY)
#define sqlite3StreamJsonNewBool(b) \
  sqlite3StreamJsonNew((b) ? STREAM_JSON_TRUE : STREAM_JSON_FALSE)
#define sqlite3StreamJsonAddNull(pObj, zKey) \
  sqlite3StreamJsonAddNew(pObj, zKey, STREAM_JSON_NULL)
#define sqlite3StreamJsonAddFalse(pObj, zKey) \
  sqlite3StreamJsonAddBool(pObj, zKey, 0)
#define sqlite3StreamJsonAddObject(pObj, zKey) \
  sqlite3StreamJsonAddNew(pObj, zKey, STREAM_JSON_OBJECT)
#define sqlite3StreamJsonAddArray(pObj, zKey) \
  sqlite3StreamJsonAddNew(pObj, zKey, STREAM_JSON_ARRAY)
/* The first member named zKey (exactly; or ignoring ASCII case), or
** NULL. */
StreamJson *sqlite3StreamJsonGet(const StreamJson *pObj, const char *zKey);
StreamJson *sqlite3StreamJsonGetNoCase(const StreamJson *pObj,
                                       const char *zKey);
/* Remove (and free) the first member named zKey; replace it by pNew
** (0 if there is none: pNew is then not taken). */
void sqlite3StreamJsonRemove(StreamJson *pObj, const char *zKey);
void sqlite3StreamJsonRemoveFirst(StreamJson *pArr);
int sqlite3StreamJsonReplace(StreamJson *pObj, const char *zKey,
                             StreamJson *pNew);
/* The number of items (or members); item i, or NULL. */
int sqlite3StreamJsonCount(const StreamJson*);
StreamJson *sqlite3StreamJsonAt(const StreamJson*, int i);

/* True if the n bytes at z are valid UTF-8 (NUL bytes allowed).  TEXT
** keys and names are checked with it: they end up in JSON (CDC events,
** join results), which must stay valid. */
int sqlite3StreamUtf8Check(const char *z, size_t n);

/**************************************************************************
** Interface to code in ext/codec.c
*/

#define STREAM_CODEC_NONE 0
#define STREAM_CODEC_GZIP 1
#define STREAM_CODEC_ZSTD 2

/* Compress n bytes at p with eCodec (GZIP = RFC 1952 gzip framing via zlib,
** ZSTD = one zstd frame).  On success *ppOut is a sqlite3_malloc64()
** buffer of *pnOut bytes owned by the caller and SQLITE_OK is returned;
** SQLITE_NOMEM or SQLITE_ERROR otherwise. */
int sqlite3StreamCompress(int eCodec, const void *p, size_t n,
                          void **ppOut, size_t *pnOut);
/* The same at the codec's level iLevel (0: the default: gzip 6, zstd 3). */
int sqlite3StreamCompressLevel(int eCodec, int iLevel, const void *p,
                               size_t n, void **ppOut, size_t *pnOut);

/* Decompress.  nMax bounds the output size (a larger result is an error,
** SQLITE_TOOBIG).  Same ownership as sqlite3StreamCompress(). A corrupt
** input returns SQLITE_CORRUPT, never crashes. */
int sqlite3StreamDecompress(int eCodec, const void *p, size_t n,
                            size_t nMax, void **ppOut, size_t *pnOut);

/**************************************************************************
** The warm tier's Parquet files.
**
** A warm-tier file holds one topic partition's offset range as a Parquet
** file written and read by our own code (Debian has no Parquet library):
**
**   ext/thrift.c         Thrift compact protocol encoder and a bounds-checked
**                        decoder (the footer and page headers use it).
**   ext/parquet_write.c  Incremental writer: rows in, Parquet bytes out to a
**                        caller-supplied sink, one row group at a time.
**   ext/parquet_read.c   Streaming reader: footer, per-row-group statistics
**                        for pruning, and a row iterator that holds at most
**                        one decoded page per column in memory.
**
** The file layout (see docs and /work/shared/notes/formats.md):
**
**   column      physical    repetition  annotation                 field_id
**   topic       BYTE_ARRAY  REQUIRED    STRING / UTF8                     1
**   partition   INT32       REQUIRED    -                                 2
**   offset      INT64       REQUIRED    -  (statistics)                   3
**   key         BYTE_ARRAY  OPTIONAL    -  (keys may be bytes)            4
**   value       BYTE_ARRAY  OPTIONAL    JSON when every value is TEXT     5
**   headers     BYTE_ARRAY  OPTIONAL    JSON                              6
**   timestamp   INT64       REQUIRED    TIMESTAMP(MICROS, UTC)  (stats)   7
**   attributes  INT32       REQUIRED    -  bit0 key BLOB, bit1 value BLOB 8
**
** Data pages v1, PLAIN values, RLE/bit-packed definition levels; codec
** UNCOMPRESSED, GZIP or ZSTD.  Offsets must be strictly increasing within a
** file (the reader's seek relies on it).
*/


/* Fixed prefix of every error message produced by the Parquet code. */
#define STREAM_PQ_ERR "parquet: "

/**************************************************************************
** Interface to code in ext/thrift.c
*/

/* Compact protocol type codes (field headers and list headers). */
#define STREAM_THRIFT_STOP      0
#define STREAM_THRIFT_TRUE      1
#define STREAM_THRIFT_FALSE     2
#define STREAM_THRIFT_I8        3
#define STREAM_THRIFT_I16       4
#define STREAM_THRIFT_I32       5
#define STREAM_THRIFT_I64       6
#define STREAM_THRIFT_DOUBLE    7
#define STREAM_THRIFT_BINARY    8
#define STREAM_THRIFT_LIST      9
#define STREAM_THRIFT_SET      10
#define STREAM_THRIFT_MAP      11
#define STREAM_THRIFT_STRUCT   12
#define STREAM_THRIFT_UUID     13

/* Deepest struct/list/map nesting the decoder accepts. */
#define STREAM_THRIFT_MAX_DEPTH 32

/* A growable output buffer.  rc is sticky: once an allocation fails every
** later append is a no-op and rc stays SQLITE_NOMEM. */
typedef struct StreamPqBuf StreamPqBuf;
struct StreamPqBuf {
  u8 *a;                          /* Bytes (sqlite3_malloc64) */
  size_t n;                       /* Bytes used */
  size_t nAlloc;                  /* Bytes allocated */
  int rc;                         /* SQLITE_OK or SQLITE_NOMEM */
};
void sqlite3StreamPqBufAppend(StreamPqBuf*, const void *p, size_t n);
int sqlite3StreamPqBufReserve(StreamPqBuf*, size_t n); /* room for n more */
void sqlite3StreamPqBufU32(StreamPqBuf*, u32 v);       /* little-endian */
void sqlite3StreamPqBufU64(StreamPqBuf*, u64 v);       /* little-endian */
void sqlite3StreamPqBufVarint(StreamPqBuf*, u64 v);    /* ULEB128 */
void sqlite3StreamPqBufReset(StreamPqBuf*);            /* n = 0, keep a */
void sqlite3StreamPqBufFree(StreamPqBuf*);

/* Encoder.  A struct is written by a sequence of field writes, each
** passing &iLast (the previous field id of that struct, starting at 0),
** ending with sqlite3StreamThriftStructEnd().  Field ids must increase. */
void sqlite3StreamThriftField(StreamPqBuf*, int *piLast, int eType, int iId);
void sqlite3StreamThriftBool(StreamPqBuf*, int *piLast, int iId, int b);
void sqlite3StreamThriftI32(StreamPqBuf*, int *piLast, int iId, int v);
void sqlite3StreamThriftI64(StreamPqBuf*, int *piLast, int iId, i64 v);
void sqlite3StreamThriftBinary(StreamPqBuf*, int *piLast, int iId,
                               const void *p, size_t n);
void sqlite3StreamThriftList(StreamPqBuf*, int *piLast, int iId,
                             int eElem, int nElem);
void sqlite3StreamThriftListHeader(StreamPqBuf*, int eElem, int nElem);
void sqlite3StreamThriftZigzag(StreamPqBuf*, i64 v);   /* bare i32/i64 */
void sqlite3StreamThriftStructEnd(StreamPqBuf*);

/* Decoder over a byte range.  Never reads outside [a, a+n).  Errors are
** sticky: after the first one every read returns 0/empty and rc and zErr
** say what went wrong.  bTruncated is set when the error was running off
** the end of the buffer (a caller holding a prefix may read more). */
typedef struct StreamThriftReader StreamThriftReader;
struct StreamThriftReader {
  const u8 *a;                    /* Buffer */
  size_t n;                       /* Size of buffer */
  size_t i;                       /* Read position */
  int nDepth;                     /* Nesting depth inside Skip() */
  int rc;                         /* SQLITE_OK or SQLITE_CORRUPT */
  int bTruncated;                 /* Error was "ran out of bytes" */
  char zErr[96];                  /* Error message, no prefix */
};
void sqlite3StreamThriftReaderInit(StreamThriftReader*, const void*, size_t);
void sqlite3StreamThriftError(StreamThriftReader*, const char *zMsg);

/* Read the next field header of a struct.  Returns the field type, or
** STREAM_THRIFT_STOP at the end of the struct (or on error).  *piId gets
** the field id; *piLast is the struct's previous field id (start at 0).
** For a bool field the value is in the type (TRUE/FALSE). */
int sqlite3StreamThriftNextField(StreamThriftReader*, int *piLast, int *piId);
i64 sqlite3StreamThriftReadI64(StreamThriftReader*);   /* zigzag varint */
int sqlite3StreamThriftReadI32(StreamThriftReader*);   /* checks range */
const u8 *sqlite3StreamThriftReadBinary(StreamThriftReader*, size_t *pn);
/* List (or set) header: returns the element count (checked against the
** bytes left) and sets *peElem. */
int sqlite3StreamThriftReadList(StreamThriftReader*, int *peElem);
/* Skip one value of type eType (field context: bools have no payload;
** pass bInList=1 for list elements, where a bool is one byte).  Nested
** structs, lists, sets and maps are skipped recursively, at most
** STREAM_THRIFT_MAX_DEPTH deep. */
void sqlite3StreamThriftSkip(StreamThriftReader*, int eType, int bInList);

/**************************************************************************
** Interface to code in ext/parquet_write.c and ext/parquet_read.c
*/

/* Kinds of key and value in a StreamPqRow. */
#define STREAM_PQ_NULL 0
#define STREAM_PQ_TEXT 1
#define STREAM_PQ_BLOB 2

/* Bits of the "attributes" column. */
#define STREAM_PQ_ATTR_KEY_BLOB   0x01
#define STREAM_PQ_ATTR_VALUE_BLOB 0x02

/* Number of columns and default rows per row group. */
#define STREAM_PQ_NCOL 8
#define STREAM_PQ_DEFAULT_GROUP_ROWS 10000

/* Limits.  A row whose key + value + headers exceed STREAM_PQ_MAX_ROW is
** refused by the writer; the reader refuses pages that decompress to more
** than STREAM_PQ_MAX_PAGE bytes and footers larger than
** STREAM_PQ_MAX_FOOTER. */
#define STREAM_PQ_MAX_ROW     (64*1024*1024)
#define STREAM_PQ_MAX_PAGE    (256*1024*1024)
#define STREAM_PQ_MAX_FOOTER  (64*1024*1024)

/* One message.  Pointers are borrowed: the writer copies what it needs
** during sqlite3StreamPqWriterAdd(); the reader's are valid until its next
** call.  Strings are not NUL-terminated; use the lengths. */
typedef struct StreamPqRow StreamPqRow;
struct StreamPqRow {
  const char *zTopic; int nTopic;   /* Topic name (UTF-8) */
  int iPartition;                   /* Partition number */
  sqlite3_int64 iOffset;            /* Offset (strictly increasing) */
  const void *pKey; int nKey;       /* Key bytes */
  int eKeyType;                     /* STREAM_PQ_NULL, _TEXT or _BLOB */
  const void *pValue; int nValue;   /* Value bytes */
  int eValueType;                   /* _NULL (tombstone), _TEXT (JSON), _BLOB*/
  const char *zHeaders; int nHeaders; /* JSON text, or NULL if none */
  sqlite3_int64 iTimestampMs;       /* ms since the epoch */
};

/* Sink and source callbacks.  xWrite must consume all n bytes; xRead must
** fill all n bytes read from file offset iOff.  Both return SQLITE_OK or
** an error code (which the caller passes on). */
typedef int (*StreamPqWriteFn)(void *pCtx, const void *p, size_t n);
typedef int (*StreamPqReadFn)(void *pCtx, void *pBuf, size_t n,
                              sqlite3_int64 iOff);

/* Ready-made sinks and sources: pCtx is a StreamPqBuf* (memory) or a
** FILE* (stdio; the read source seeks with fseek()). */
int sqlite3StreamPqMemWrite(void *pCtx, const void *p, size_t n);
int sqlite3StreamPqMemRead(void *pCtx, void *pBuf, size_t n, i64 iOff);
int sqlite3StreamPqFileWrite(void *pCtx, const void *p, size_t n);
int sqlite3StreamPqFileRead(void *pCtx, void *pBuf, size_t n, i64 iOff);

/*
** Writer.
**
**   sqlite3StreamPqWriterOpen()    eCodec is STREAM_CODEC_*; nGroupRows <= 0
**                                  means STREAM_PQ_DEFAULT_GROUP_ROWS.  The
**                                  leading "PAR1" is written at once.
**   sqlite3StreamPqWriterAdd()     Append a row.  A row group is flushed to
**                                  the sink when it holds nGroupRows rows
**                                  or about 64 MiB.
**   sqlite3StreamPqWriterMeta()    Add a key_value_metadata pair (copied)
**                                  to the footer.  Before Finish.
**   sqlite3StreamPqWriterFinish()  Flush the last row group and write the
**                                  footer.  The file is complete after it.
**   sqlite3StreamPqWriterBytes()   Bytes handed to the sink so far.
**   sqlite3StreamPqWriterErrmsg()  Message for the last error, or NULL.
**   sqlite3StreamPqWriterFree()    Free (does not write anything).
**
** After any error the writer is dead: further calls return the same code.
*/
typedef struct StreamPqWriter StreamPqWriter;
int sqlite3StreamPqWriterOpen(StreamPqWriter **pp, int eCodec, int nGroupRows,
                              StreamPqWriteFn xWrite, void *pCtx);
int sqlite3StreamPqWriterAdd(StreamPqWriter*, const StreamPqRow*);
int sqlite3StreamPqWriterMeta(StreamPqWriter*, const char *zKey,
                              const char *zValue);
int sqlite3StreamPqWriterFinish(StreamPqWriter*);
sqlite3_int64 sqlite3StreamPqWriterBytes(StreamPqWriter*);
const char *sqlite3StreamPqWriterErrmsg(StreamPqWriter*);
void sqlite3StreamPqWriterFree(StreamPqWriter*);
/* Cold tier (Iceberg) files: value annotated as plain binary and headers
** as STRING (Iceberg types binary and string), whatever the values are.
** Call before the first row. */
void sqlite3StreamPqWriterIceberg(StreamPqWriter*);

/* Per-row-group facts from the footer, for pruning.  The min/max fields
** are valid only when bStats is set (files from this writer always). */
typedef struct StreamPqGroupInfo StreamPqGroupInfo;
struct StreamPqGroupInfo {
  sqlite3_int64 nRows;            /* Rows in the group */
  int bStats;                     /* True if the four fields below are set */
  sqlite3_int64 iOffsetMin;       /* Smallest offset */
  sqlite3_int64 iOffsetMax;       /* Largest offset */
  sqlite3_int64 iTimestampMin;    /* Smallest timestamp, ms */
  sqlite3_int64 iTimestampMax;    /* Largest timestamp, ms */
};

/*
** Reader.
**
**   sqlite3StreamPqReaderOpen()    Read and check the footer of the nFile
**                                  byte file behind xRead.  On error *pp is
**                                  NULL and *pzErr (if not NULL) gets a
**                                  sqlite3_mprintf() message to free.
**   sqlite3StreamPqReaderRows()    Total rows (FileMetaData.num_rows).
**   sqlite3StreamPqReaderGroups()  Number of row groups.
**   sqlite3StreamPqReaderGroup()   Facts of row group i (0-based), or NULL.
**   sqlite3StreamPqReaderMeta()    Value of a key_value_metadata key, or
**                                  NULL (NUL-terminated, owned by reader).
**   sqlite3StreamPqReaderSeekGroup() Next row is the first of group i.
**   sqlite3StreamPqReaderSeek()    Next row is the first whose offset is
**                                  >= iOffset (row groups skipped by their
**                                  statistics, then rows).
**   sqlite3StreamPqReaderNext()    SQLITE_ROW and *pRow filled (pointers
**                                  valid until the next call), SQLITE_DONE
**                                  at the end, or an error code.
**   sqlite3StreamPqReaderErrmsg()  Message for the last error, or NULL.
**   sqlite3StreamPqReaderClose()   Free.
**
** Memory is bounded by the footer plus one decoded page per column; every
** size read from the file is checked against the file size and the limits
** above before it is used.
*/
typedef struct StreamPqReader StreamPqReader;
int sqlite3StreamPqReaderOpen(StreamPqReader **pp, StreamPqReadFn xRead,
                              void *pCtx, sqlite3_int64 nFile, char **pzErr);
sqlite3_int64 sqlite3StreamPqReaderRows(StreamPqReader*);
int sqlite3StreamPqReaderGroups(StreamPqReader*);
const StreamPqGroupInfo *sqlite3StreamPqReaderGroup(StreamPqReader*, int i);
const char *sqlite3StreamPqReaderMeta(StreamPqReader*, const char *zKey);
int sqlite3StreamPqReaderSeekGroup(StreamPqReader*, int iGroup);
int sqlite3StreamPqReaderSeek(StreamPqReader*, sqlite3_int64 iOffset);
int sqlite3StreamPqReaderNext(StreamPqReader*, StreamPqRow *pRow);
/* Decode only the columns of mask mWant (bit i: column i of the layout
** above; offset, timestamp and attributes always) from the next row
** group opened (SeekGroup/Seek/Next into a new group): the others are
** not even read, and their StreamPqRow fields stay NULL / 0. */
int sqlite3StreamPqReaderSetColumns(StreamPqReader*, unsigned mWant);
/* Refuse BYTE_ARRAY values (key, value, headers) longer than nMax bytes
** (default and nMax<0: INT32_MAX), and pages claiming more than their
** values of that size can take, before anything is decompressed. */
void sqlite3StreamPqReaderSetMaxValue(StreamPqReader*, sqlite3_int64 nMax);
/* Columns decoded in the row group being read. */
unsigned sqlite3StreamPqReaderColumns(StreamPqReader*);
/* Hand back the row just returned by Next() (its pointers still valid):
** the next Next() returns it again.  SQLITE_MISUSE if a row is already
** handed back. */
int sqlite3StreamPqReaderUnread(StreamPqReader*, const StreamPqRow*);
/* Free the decoded pages (kept: the footer); the next row read must
** follow a SeekGroup() or Seek(). */
void sqlite3StreamPqReaderRelease(StreamPqReader*);
/* Change the read callback's context (the caller moved it). */
void sqlite3StreamPqReaderSetSource(StreamPqReader*, void *pCtx);
const char *sqlite3StreamPqReaderErrmsg(StreamPqReader*);
void sqlite3StreamPqReaderClose(StreamPqReader*);

/**************************************************************************
** The warm tier: the object store
** (ext/store.c), tiering of hot messages into Parquet segments
** (ext/tier.c drives the tiers; ext/warm*.c is the warm tier).
*/


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
**   xPutStart   (NULL if the backend has none) send every byte written so
**               far and start the request that makes the object durable,
**               without waiting for it: the caller works meanwhile (the
**               next segment is encoded) and then calls xPutCommit, which
**               waits for the answer and checks it as usual, or xPutAbort.
**               Nothing counts as durable before xPutCommit returns
**               SQLITE_OK.  On an error the upload must still be given to
**               xPutCommit (which returns the error) or xPutAbort.
**   xReadErr    (NULL if the backend has none) the message of the last
**               xRead of the file that failed, naming the object ("stream:
**               ..."), or NULL: xRead has no pzErr of its own.
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

/* An upload and an open object: each backend extends these (its own
** struct with the base first, as sqlite3_file is extended by a VFS). */
struct StreamStoreUpload {
  StreamStore *pStore;         /* Store written to */
};
struct StreamStoreFile {
  StreamStore *pStore;         /* Store read from */
};

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
  int (*xPutCommitNew)(StreamStoreUpload*, char **pzErr); /* like xPutCommit, but create-only: if the key exists, nothing is written and SQLITE_CONSTRAINT is returned with *pzErr naming the key */
  int (*xPutStart)(StreamStoreUpload*, char **pzErr);
  const char *(*xReadErr)(StreamStoreFile*);
};

/* Capabilities of a backend (StreamStore.mCaps). */
#define STREAM_STORE_ATOMIC_RENAME 0x01  /* Commit renames a finished
                                         ** temporary object (file://) */
#define STREAM_STORE_ETAG          0x02  /* Objects carry a content tag the
                                         ** service computes (S3 ETag),
                                         ** checked at commit */
#define STREAM_STORE_RANGED        0x04  /* Reads are ranged requests over
                                         ** a network (cached, prefetched) */
#define STREAM_STORE_CREATE_ONLY   0x08  /* xPutCommitNew is atomic on the
                                         ** service (else check-then-put) */

/* A URL scheme and its backend (ext/store.c keeps the registry). */
typedef struct StreamStoreScheme StreamStoreScheme;
struct StreamStoreScheme {
  const char *zScheme;         /* "file", "s3" */
  const char *zForm;           /* Accepted form, for messages */
  /* SQLITE_OK if zUrl (of this scheme) is valid, else *pzErr says why. */
  int (*xUrlCheck)(const char *zUrl, char **pzErr);
  /* Open a store for zUrl (checked).  bCreate: see sqlite3StreamStoreOpen. */
  int (*xOpen)(const char *zUrl, int bCreate, StreamStore **pp, char **pzErr);
  /* Delete nKey objects in as few requests as the service allows, or NULL
  ** (sqlite3StreamStoreDeleteMany() then calls xDelete per key). */
  int (*xDeleteMany)(StreamStore*, char **azKey, int nKey, char **pzErr);
  /* A hint that key zKey will be opened soon (a sequential reader's next
  ** segment): start fetching its footer in the background, or NULL.
  ** nSize: the object's size as the caller knows it (the segment index),
  ** or -1; a hint only (the answer is checked), it lets a backend fetch
  ** a small object whole in one request.  bNext: zKey is a later file
  ** than the one the caller opens next (hinted just before, or open), so
  ** nobody waits for its first bytes yet: a backend may fetch all of it
  ** in one request rather than its footer first.  zKey NULL: only let the
  ** transfers under way progress (a reader busy decoding calls it now and
  ** then, so that their answers are taken in while it works, not when it
  ** next opens a file; a chained move encoding the next file, so that the
  ** upload in flight goes out meanwhile). */
  void (*xPrefetch)(StreamStore*, const char *zKey, i64 nSize, int bNext);
};

struct StreamStore {
  const StreamStoreMethods *pMethods; /* Backend */
  const StreamStoreScheme *pScheme;   /* Its scheme */
  unsigned mCaps;              /* STREAM_STORE_* capabilities */
  int nRef;                    /* References (sqlite3StreamStoreUnref()) */
  StreamStore *pNextCached;    /* Next in the connection's store cache */
  int bLocal;                  /* No network: usable inside produce */
  int bLegacy;                 /* Not configured: the directory beside the
                               ** database that older versions used by
                               ** default (sqlite3StreamTierStore()) */
  char *zUrl;                  /* The store's URL (for messages) */
  char *zCacheDir;             /* A directory beside the database for a
                               ** backend's disk cache ("<db>.stream/cache",
                               ** set by sqlite3StreamTierStore() for a
                               ** store that is not bLocal), or NULL.
                               ** Freed by xFree. */
  char *zNs;                   /* This database's namespace in the store,
                               ** "db=<id>" (sqlite3StreamTierStore()), or
                               ** NULL: none yet.  Freed by xFree. */
};

/* Open a new store for URL zUrl ("file:///abs/dir", "s3://bucket/prefix"),
** with one reference.  bCreate: create the directory (with parents) when
** missing, as for a backup's store; otherwise a missing directory is an
** error. */
int sqlite3StreamStoreOpen(const char *zUrl, int bCreate, StreamStore **pp,
                           char **pzErr);

/* The connection's store for zUrl: taken from its cache of open stores
** (so a network store keeps its connections, credentials and read cache
** between statements) or opened and cached.  A new reference: give it back
** with sqlite3StreamStoreUnref(). */
int sqlite3StreamStoreGet(StreamCtx*, const char *zUrl, StreamStore **pp,
                          char **pzErr);
/* Another reference to pStore. */
StreamStore *sqlite3StreamStoreRef(StreamStore *pStore);
/* Drop a reference; the last one frees the store (xFree). */
void sqlite3StreamStoreUnref(StreamStore *pStore);
/* Drop the connection's cache of stores (at close). */
void sqlite3StreamStoreCacheFree(StreamCtx*);
/* Delete nKey objects (failures are reported, the rest still deleted). */
int sqlite3StreamStoreDeleteMany(StreamStore*, char **azKey, int nKey,
                                 char **pzErr);
/* Hint that zKey will be opened soon (xPrefetch; nothing if the backend
** has none), after the file opened next if bNext; zKey NULL: let the
** fetches under way progress. */
void sqlite3StreamStorePrefetch(StreamStore*, const char *zKey, i64 nSize,
                                int bNext);
/* The registry: the scheme of zUrl, or NULL. */
const StreamStoreScheme *sqlite3StreamStoreScheme(const char *zUrl);

/* SQLITE_OK if zUrl is a store URL this build supports, else an error in
** *pzErr naming the URL and what is accepted. */
int sqlite3StreamStoreUrlCheck(const char *zUrl, char **pzErr);

/* SQLITE_OK if zKey is a safe object key: relative, made of
** [A-Za-z0-9._=-] components separated by single '/', no "." or ".."
** component, at most 1024 bytes.  Keys read from the segment index are
** checked with it before any file is touched, so a crafted row cannot
** reach outside the store. */
int sqlite3StreamStoreKeyCheck(const char *zKey, char **pzErr);

/* SQLITE_OK if zPrefix is "" or a key followed by '/' (the xList prefix). */
int sqlite3StreamStorePrefixCheck(const char *zPrefix, char **pzErr);

/* An open object and its store: the pCtx of sqlite3StreamStoreReadFn. */
typedef struct StreamStoreHandle StreamStoreHandle;
struct StreamStoreHandle {
  StreamStore *pStore;         /* Store */
  StreamStoreFile *pFile;      /* Object opened with xOpen */
};

/* The Parquet read callback (StreamPqReadFn) over a StreamStoreHandle. */
int sqlite3StreamStoreReadFn(void *pCtx, void *pBuf, size_t n, i64 iOff);
/* The message of the last failed read of pH's file (xReadErr, without
** its "stream: "), or NULL. */
const char *sqlite3StreamStoreReadErr(const StreamStoreHandle *pH);
/* The same for file pF of pStore after a read that failed with rc (NULL
** for SQLITE_NOMEM: nothing to say beyond it). */
const char *sqlite3StreamStoreFileErr(StreamStore *pStore,
                                      StreamStoreFile *pF, int rc);

/**************************************************************************
** Interface to code in ext/hash.c: SHA-256 and MD5 of request bodies.
*/
typedef struct StreamSha256 StreamSha256;
struct StreamSha256 {
  u32 h[8];                    /* State */
  u64 nByte;                   /* Bytes hashed */
  unsigned char aBuf[64];      /* Partial block */
};
typedef struct StreamMd5 StreamMd5;
struct StreamMd5 {
  u32 h[4];                    /* State */
  u64 nByte;                   /* Bytes hashed */
  unsigned char aBuf[64];      /* Partial block */
};
void sqlite3StreamSha256Init(StreamSha256*);
void sqlite3StreamSha256Update(StreamSha256*, const void*, size_t);
void sqlite3StreamSha256Final(StreamSha256*, unsigned char aOut[32]);
void sqlite3StreamMd5Init(StreamMd5*);
void sqlite3StreamMd5Update(StreamMd5*, const void*, size_t);
void sqlite3StreamMd5Final(StreamMd5*, unsigned char aOut[16]);
/* n bytes as 2n lowercase hex digits / as base64, NUL-terminated. */
void sqlite3StreamHex(const unsigned char *a, int n, char *zOut);
void sqlite3StreamBase64(const unsigned char *a, int n, char *zOut);

#ifdef HAVE_LIBCURL
/**************************************************************************
** Interface to code in ext/http.c: HTTP requests over libcurl, signed
** with CURLOPT_AWS_SIGV4, on a pool of reused connections (one curl multi
** handle per StreamHttp while it has requests in flight, so several can
** run at once; parked process-wide with its connections when it has
** none, for any pool to take).
*/
typedef struct StreamHttp StreamHttp;
typedef struct StreamHttpReq StreamHttpReq;

#define STREAM_HTTP_MAX_HEADER 8

struct StreamHttpReq {
  /* Set by the caller */
  const char *zMethod;         /* "GET", "PUT", "POST", "DELETE", "HEAD" */
  char *zUrl;                  /* URL, query pre-sorted and pre-encoded */
  char *azHeader[STREAM_HTTP_MAX_HEADER]; /* "Name: value" (owned: freed
                               ** by sqlite3StreamHttpReqClear()) */
  int nHeader;                 /* Used entries of azHeader */
  const unsigned char *aBody;  /* Request body (borrowed), or NULL */
  size_t nBody;                /* Its size */
  unsigned char *aOut;         /* GET: body into this buffer, or NULL */
  size_t nOut;                 /* ... of this size */
  i64 iSkip;                   /* GET of a range from this byte: a 200
                               ** answer (the service ignored Range: the
                               ** object from its first byte) has its first
                               ** iSkip bytes dropped before aOut */
  /* Set by the request */
  long iStatus;                /* HTTP status, 0 if no response */
  int eCurl;                   /* CURLcode, 0 if the transfer completed */
  char zErr[160];              /* curl's message for eCurl */
  char zEtag[96];              /* ETag header, quotes included */
  i64 nTotal;                  /* Object size from Content-Range, else
                               ** Content-Length, else -1 */
  size_t nGot;                 /* Body bytes received */
  unsigned char *aResp;        /* Body when aOut is NULL (sqlite3_malloc) */
  int bOverflow;               /* Body longer than aOut / the cap */
  int bSuffix;                 /* A suffix range ("bytes=-N", N = nOut)
                               ** was asked for: a response that is not
                               ** the object's last bytes is stopped, with
                               ** bRangeWrong set (some servers answer
                               ** with the first N bytes instead) */
  int bRangeWrong;             /* ... it was */
  i64 iRangeFirst;             /* First byte of Content-Range, or -1 */
  int bDone;                   /* Finished (successfully or not) */
  /* Private */
  void *pEasy;                 /* CURL* while started */
  void *pList;                 /* struct curl_slist* */
  size_t nSent;                /* Body bytes handed to curl */
  size_t nAlloc;               /* Allocated bytes of aResp */
  i64 nSkipped;                /* Bytes of a 200 answer dropped (iSkip) */
  i64 usStart;                 /* When it was started (monotonic us) */
  i64 usFirst;                 /* ... its first body byte came, or 0 */
  i64 usLast;                  /* ... its last body bytes came */
};

/* A pool.  zSigV4 "aws:amz:<region>:s3"; zUser/zPass the access key and
** secret (copied, wiped at free); zToken a session token or NULL;
** msTimeout the limit of one request. */
int sqlite3StreamHttpNew(StreamHttp **pp, const char *zSigV4,
                         const char *zUser, const char *zPass,
                         const char *zToken, long msTimeout);
void sqlite3StreamHttpFree(StreamHttp*);
/* Start a request (it runs while the pool is waited on). */
int sqlite3StreamHttpStart(StreamHttp*, StreamHttpReq*);
/* Run the pool until pReq is done (NULL: until some request is done, or
** none is running). */
void sqlite3StreamHttpWait(StreamHttp*, StreamHttpReq *pReq);
/* Run the pool until pReq is done or has received nGot body bytes (a
** reader taking a response's first bytes while the rest arrives). */
void sqlite3StreamHttpWaitFor(StreamHttp*, StreamHttpReq *pReq, size_t nGot);
/* Progress without blocking. */
void sqlite3StreamHttpPump(StreamHttp*);
/* Stop a started request (its connection is closed). */
void sqlite3StreamHttpCancel(StreamHttp*, StreamHttpReq*);
/* Start + wait. */
void sqlite3StreamHttpRun(StreamHttp*, StreamHttpReq*);
/* Free what a request holds (headers, response, URL) and reset it for
** reuse; cancels it if it is running. */
void sqlite3StreamHttpReqClear(StreamHttp*, StreamHttpReq*);
/* Add a header ("Name: value", printf-style) to pReq; SQLITE_NOMEM. */
int sqlite3StreamHttpHeader(StreamHttpReq*, const char *zFmt, ...);
/* The process-wide list of parked multi handles (ext/http.c's header
** comment): handles parked and taken since the process started, and
** parked now (for tests). */
void sqlite3StreamHttpParkStats(i64 *pnParked, i64 *pnTaken, int *pnNow);
/* The pace of pReq, a GET running into aOut: the bytes it has still to
** take in (*pnLeft), the rate its body has come at so far (bytes a
** microsecond, *pRate), and the microseconds its answer took to begin
** (*pusBegin: a round trip and the server's start).  Returns 0 if that is
** not known yet (no body bytes, or a single read of them), or if pReq is
** not running. */
int sqlite3StreamHttpPace(const StreamHttpReq *pReq, double *pnLeft,
                          double *pRate, double *pusBegin);
/* x(pArg) is called in every round of a wait (sqlite3StreamHttpWait,
** sqlite3StreamHttpWaitFor), after curl has taken in what arrived: the
** backend may start requests there (never wait). */
void sqlite3StreamHttpOnWait(StreamHttp*, void (*x)(void*), void *pArg);

/**************************************************************************
** Interface to code in ext/store_s3.c: the s3:// backend.
*/
int sqlite3StreamS3UrlCheck(const char *zUrl, char **pzErr);
int sqlite3StreamS3Open(const char *zUrl, int bCreate, StreamStore **pp,
                        char **pzErr);
int sqlite3StreamS3DeleteMany(StreamStore*, char **azKey, int nKey,
                              char **pzErr);
void sqlite3StreamS3Prefetch(StreamStore*, const char *zKey, i64 nSize,
                             int bNext);
/* Bytes held by the read cache of an s3:// store, and its bound (cache_mb
** in bytes): what test/unit/test_store.c checks the bound with. */
void sqlite3StreamS3CacheUsage(StreamStore*, i64 *pnUsed, i64 *pnMax);
#endif /* HAVE_LIBCURL */

/**************************************************************************
** Interface to code in ext/storage.c: the statements the tiers run on the
** internal tables.  ?1 is the topic and ?2 the partition of every one;
** further parameters are listed beside each in ext/storage.c.
*/
enum {
  STREAM_SQL_SEG_END = 0,       /* end of a partition's warm offsets */
  STREAM_SQL_SEG_LAST,          /* last warm offset of a partition */
  STREAM_SQL_SEG_COUNT,         /* segments of a partition */
  STREAM_SQL_SEG_BYTES,         /* their bytes */
  STREAM_SQL_SEG_OLDEST,        /* segments, oldest first (retention) */
  STREAM_SQL_SEG_NEWEST,        /* segments, newest first (compaction) */
  STREAM_SQL_MSG_FIRST_FROM,    /* first hot offset from an offset */
  STREAM_SQL_MSG_TIMESTAMP,     /* timestamp of a hot message */
  STREAM_SQL_MSG_FIRST_YOUNG,   /* first hot offset not older than a time */
  STREAM_SQL_MSG_NTH_FROM,      /* the n-th hot offset from an offset */
  STREAM_SQL_MSG_LAST_BELOW,    /* last hot offset of a range */
  STREAM_SQL_MSG_OTHER_DAY,     /* first offset outside a time range */
  STREAM_SQL_MSG_RANGE,         /* stored rows of a range */
  STREAM_SQL_MSG_BYTES,         /* bytes of the hot messages */
  STREAM_SQL_MSG_BYTES_FROM,    /* ... from an offset (cold tier) */
  STREAM_SQL_SEG_BYTES_FROM,    /* segment bytes from an offset (cold) */
  STREAM_SQL_MSG_KEYS,          /* keys of the hot messages */
  STREAM_SQL_PART_RAISE_NEXT,   /* raise next_offset (max) */
  STREAM_SQL_PART_SET_NEXT,     /* raise next_offset (only if below) */
  STREAM_SQL_CLEANER_PUT,       /* store a partition's cleaner state */
  STREAM_SQL_MSG_SIZES_FROM,    /* offsets and sizes from an offset */
  STREAM_SQL_MSG_OLDEST,        /* the oldest messages */
  STREAM_SQL_MSG_DELETE_BELOW,  /* hot rows below an offset */
  STREAM_SQL_PART_START_AT_HOT, /* log start at the first hot message */
  STREAM_SQL_CMP_YOUNGEST,
  STREAM_SQL_CMP_FIRST_DIRTY,
  STREAM_SQL_CLEANER_KEYS_CLEAR,
  STREAM_SQL_CLEANER_KEYS_ADD,
  STREAM_SQL_CMP_SCAN_DESC_BYTES,
  STREAM_SQL_CMP_SCAN_DESC,
  STREAM_SQL_MSG_DELETE_RANGE,
  STREAM_SQL_CMP_SCAN_DIRTY,
  STREAM_SQL_CLEANER_KEY_GET,
  STREAM_SQL_MSG_DELETE_RANGE_BYTES,
  STREAM_SQL_CLEANER_KEY_PUT,
  STREAM_SQL_CLEANER_TOMBS,
  STREAM_SQL_CLEANER_TOMB_DROP,
  STREAM_SQL_SEG_DELETE_DEAD,   /* segment rows of an earlier incarnation */
  STREAM_SQL_SEG_INSERT,        /* a new segment row */
  STREAM_SQL_MSG_DELETE_TO,     /* hot rows up to an offset */
  STREAM_SQL_SEG_REWRITE,       /* a segment row's rewritten file */
  STREAM_SQL_SEG_DELETE,        /* one segment row */
  STREAM_SQL_PART_RAISE_START,  /* raise log_start_offset */
  STREAM_SQL_SEG_DELETE_BELOW,  /* segment rows below an offset */
  STREAM_SQL_TIX_DELETE_BELOW,  /* time index entries below an offset */
  STREAM_SQL_BATCH_NEXT,        /* next record batch of a range */
  STREAM_SQL_BATCH_AT,          /* the record batch at an offset */
  STREAM_SQL_MSG_DELETE_AT,     /* the row at an offset */
  STREAM_SQL_COUNT
};

typedef struct StreamSegment StreamSegment;

/* Raise _stream_partitions.next_offset to iHwm: done before any delete so
** that the high watermark never moves back. */
int sqlite3StreamRaiseNext(StreamCtx*, const char *zTopic, int iPart,
                           i64 iHwm, char **pzErr);

/* Statement eSql (cached; reset it with sqlite3StreamStorageReset()) with
** ?1 and ?2 bound; NULL on error (sqlite3StreamStmtErr() gives the
** code). */
sqlite3_stmt *sqlite3StreamStorageStmt(StreamCtx*, int eSql,
                                       const char *zTopic, int iPart,
                                       char **pzErr);
/* The same, as *ppStmt and a return code. */
int sqlite3StreamStorageGet(StreamCtx*, int eSql, const char *zTopic,
                            int iPart, sqlite3_stmt **ppStmt, char **pzErr);
/* Reset a statement; its error, if any, in *pzErr. */
int sqlite3StreamStorageReset(StreamCtx*, sqlite3_stmt*, char **pzErr);
/* Run eSql with ?3 = a3 and ?4 = a4 where it has them: *piOut gets the
** first column of the first row, iDefault if none or NULL. */
int sqlite3StreamStorageInt(StreamCtx*, int eSql, const char *zTopic,
                            int iPart, i64 a3, i64 a4, i64 iDefault,
                            i64 *piOut, char **pzErr);
/* Run eSql (a write) with ?3 = a3 where it has it. */
int sqlite3StreamStorageRun(StreamCtx*, int eSql, const char *zTopic,
                            int iPart, i64 a3, char **pzErr);
/* A moved segment recorded: next_offset raised to iHwm, rows of earlier
** incarnations dropped, its row inserted (the _stream_segments_overlap
** trigger refuses an overlap), the hot rows up to its last offset
** deleted. */
int sqlite3StreamStorageSegmentAdd(StreamCtx*, const StreamSegment *pSeg,
                                   i64 iHwm, i64 iTsMin, i64 iTsMax,
                                   int eCodec, char **pzErr);
/* The segment row at iFirst now names a rewritten file. */
int sqlite3StreamStorageSegmentRewrite(StreamCtx*, const char *zTopic,
                                       int iPart, i64 iFirst,
                                       const char *zLocation, i64 nMessages,
                                       i64 nBytes, i64 iTsMin, i64 iTsMax,
                                       char **pzErr);
/* Retention: the log starts at iStart; segment rows wholly below go. */
int sqlite3StreamStorageSegmentsExpire(StreamCtx*, const char *zTopic,
                                       int iPart, i64 iStart, char **pzErr);

/* The catalog and group statements (ext/storage.c, aCatSql[]): on
** _stream_topics, _stream_partitions, _stream_meta, _stream_groups,
** _stream_members, _stream_assignments and _stream_offsets.  Their
** parameters are listed beside each. */
enum {
  STREAM_CAT_TOPIC_GET = 0,     /* hot-path columns of one topic */
  STREAM_CAT_LOG_START,         /* log start offset of a partition */
  STREAM_CAT_META_SET,          /* set one _stream_meta value */
  STREAM_CAT_META_DELETE,       /* remove one _stream_meta value */
  STREAM_CAT_GENERATION,        /* generation of a group */
  STREAM_CAT_MEMBER_EXPIRE,     /* delete dead members of a group */
  STREAM_CAT_OWNS,              /* does a member own a partition */
  STREAM_CAT_ASSIGNED,          /* a member's partitions and marks */
  STREAM_CAT_POSITION_SET,      /* set the mark of a partition */
  STREAM_CAT_COMMITTED_GET,     /* committed offset of a partition */
  STREAM_CAT_TOPIC_INSERT,      /* a new topic's row */
  STREAM_CAT_TOPIC_CONFIG,      /* a topic's stored overrides */
  STREAM_CAT_TOPIC_UPDATE,      /* a topic's new settings */
  STREAM_CAT_TOPIC_GROW,        /* a topic's new partition count */
  STREAM_CAT_PARTITIONS_ADD,    /* partition rows of a range */
  STREAM_CAT_PARTITION_MAX_ID,  /* the largest partition id */
  STREAM_CAT_GROUP_STORE,       /* a rebalance's group row */
  STREAM_CAT_GROUP_ENSURE,      /* the group row of a join */
  STREAM_CAT_MEMBER_UPSERT,     /* a member's row (join) */
  STREAM_CAT_MEMBER_DELETE,     /* a member leaves */
  STREAM_CAT_MARKS_CLEAR,       /* a re-joining member's marks */
  STREAM_CAT_TOPIC_ROW,         /* config, partitions, incarnation */
  STREAM_CAT_MEMBERS,           /* a rebalance's members */
  STREAM_CAT_ASSIGN_ROWS,       /* a rebalance's stored assignment */
  STREAM_CAT_ASSIGN_DELETE,     /* a partition leaves the assignment */
  STREAM_CAT_ASSIGN_MOVE,       /* a partition changes owner */
  STREAM_CAT_ASSIGN_INSERT,     /* a partition gets its first owner */
  STREAM_CAT_GROUP_STRATEGY,    /* a group's strategy, its other members */
  STREAM_CAT_MEMBER_COUNT,      /* members of a group */
  STREAM_CAT_MEMBER_ASSIGNMENT, /* a member's entry of the assignment */
  STREAM_CAT_MEMBER_INCARNATION,/* a member's incarnation */
  STREAM_CAT_JOIN_ANSWER,       /* a join's result */
  STREAM_CAT_MEMBER_READ,       /* the member check */
  STREAM_CAT_MEMBER_PEEK,       /* the same, and the partition counts */
  STREAM_CAT_HEARTBEAT,         /* a member's heartbeat (and poll time) */
  STREAM_CAT_OWNER,             /* the owner of a partition (seek) */
  STREAM_CAT_PAUSE,             /* pause or resume a partition */
  STREAM_CAT_OFFSET_COMMIT,     /* commit an offset */
  STREAM_CAT_OFFSET_DELETE,     /* a committed offset's row goes */
  STREAM_CAT_OFFSET_GROUP,      /* the group of a row of _stream_offsets */
  STREAM_CAT_OFFSET_ROW_IS,     /* is a row of _stream_offsets this one */
  STREAM_CAT_TOPIC_LIST,        /* the topics, in name order */
  STREAM_CAT_TOPIC_COLLIDES,    /* a topic whose name differs by . and _ */
  STREAM_CAT_COUNT
};
/* Statement eCat, cached and unbound (the caller binds, steps and resets
** it with sqlite3StreamStorageReset()); NULL on error
** (sqlite3StreamStmtErr() gives the code). */
sqlite3_stmt *sqlite3StreamCatStmt(StreamCtx*, int eCat, char **pzErr);
/* Log start offset of a partition, committed offset of a group on one;
** *pbFound 0 (and *piOut unchanged) if there is none. */
int sqlite3StreamCatLogStart(StreamCtx*, const char *zTopic, i64 iPart,
                             i64 *piOut, int *pbFound, char **pzErr);
int sqlite3StreamCatCommitted(StreamCtx*, const char *zGroup,
                              const char *zTopic, i64 iPart, i64 *piOut,
                              int *pbFound, char **pzErr);
/* Set (zValue not NULL) or remove a _stream_meta value. */
int sqlite3StreamCatMetaSet(StreamCtx*, const char *zKey, const char *zValue,
                            char **pzErr);
/* A group's generation as stored: its type (SQLITE_NULL when there is no
** row) and value. */
int sqlite3StreamCatGeneration(StreamCtx*, const char *zGroup, int *peType,
                               i64 *piGen, char **pzErr);
/* Delete the members of a group whose session or poll interval expired
** at iNow; *pnDeleted of them (0 without storage). */
int sqlite3StreamCatMembersExpire(StreamCtx*, const char *zGroup, i64 iNow,
                                  int *pnDeleted, char **pzErr);
/* Is (zTopic, iPart) assigned to zMember in zGroup? */
int sqlite3StreamCatOwns(StreamCtx*, const char *zGroup, const char *zMember,
                         const char *zTopic, i64 iPart, int *pbOwns,
                         char **pzErr);
/* The catalog changes of ext/topic.c: a new topic's row (settings from
** *pCfg, overrides zNorm, a fresh incarnation), its stored overrides
** (*pzConfig sqlite3_malloc'd, NULL without a row), new settings, a new
** partition count, partition rows [iFrom, iTo). */
int sqlite3StreamCatTopicInsert(StreamCtx*, const char *zName, i64 nPart,
                                const char *zNorm, const StreamTopicConfig*,
                                i64 iNow, char **pzErr);
int sqlite3StreamCatTopicConfig(StreamCtx*, const char *zName,
                                char **pzConfig, char **pzErr);
/* *pzOther (sqlite3_malloc'd): a topic other than zName whose name is the
** same once '.' and '_' are taken as one character (Kafka's collision
** rule), or NULL. */
int sqlite3StreamCatTopicCollides(StreamCtx*, const char *zName,
                                  char **pzOther, char **pzErr);
int sqlite3StreamCatTopicUpdate(StreamCtx*, const char *zName,
                                const char *zNorm, const StreamTopicConfig*,
                                char **pzErr);
int sqlite3StreamCatTopicGrow(StreamCtx*, const char *zName, i64 nTotal,
                              char **pzErr);
int sqlite3StreamCatPartitionMaxId(StreamCtx*, i64 *piMax, char **pzErr);
int sqlite3StreamCatPartitionsAdd(StreamCtx*, const char *zName, i64 iFrom,
                                  i64 iTo, i64 iId0, char **pzErr);
/* A topic's full configuration (its overrides parsed over the defaults),
** partition count and incarnation (piInc may be NULL);
** SQLITE_NOTFOUND with "stream: no such topic: X" if there is none. */
int sqlite3StreamCatTopicRow(StreamCtx*, const char *zTopic,
                             StreamTopicConfig *pCfg, int *pnPart,
                             i64 *piInc, char **pzErr);
/* Run eCat (a write) with its parameters bound in order from the
** arguments, as zTypes says: 't' a const char* (NULL binds NULL), 'i' an
** i64. */
int sqlite3StreamCatRun(StreamCtx*, int eCat, char **pzErr,
                        const char *zTypes, ...);
/* Store the mark of an assigned partition (ext/consume.c). */
int sqlite3StreamCatPositionSet(StreamCtx*, const char *zGroup,
                                const char *zTopic, i64 iPart, i64 iMark,
                                char **pzErr);
/* The groups' reads (ext/group.c, ext/consume.c): a group's strategy
** (*pzStrategy sqlite3_malloc'd, NULL without a group row) and the number
** of its members other than zMember (which may be NULL); its member count;
** a member's incarnation (*pbFound 0 without a row); the text reads (each
** *pzOut sqlite3_malloc'd, NULL without a row): a member's entry of the
** assignment (NULL too without storage), a join's answer
** ({generation, leader, assignment: zAssign}), a partition's owner. */
int sqlite3StreamCatGroupStrategy(StreamCtx*, const char *zGroup,
                                  const char *zMember, char **pzStrategy,
                                  int *pnOthers, char **pzErr);
int sqlite3StreamCatMemberCount(StreamCtx*, const char *zGroup, int *pn,
                                char **pzErr);
int sqlite3StreamCatMemberIncarnation(StreamCtx*, const char *zGroup,
                                      const char *zMember, i64 *piInc,
                                      int *pbFound, char **pzErr);
int sqlite3StreamCatMemberAssignment(StreamCtx*, const char *zGroup,
                                     const char *zMember, char **pzOut,
                                     char **pzErr);
int sqlite3StreamCatJoinAnswer(StreamCtx*, const char *zGroup,
                               const char *zAssign, char **pzOut,
                               char **pzErr);
int sqlite3StreamCatOwner(StreamCtx*, const char *zGroup, const char *zTopic,
                          i64 iPart, char **pzOut, char **pzErr);
/* The group of row iRowid of _stream_offsets (*pzGroup NULL if none). */
int sqlite3StreamCatOffsetGroup(StreamCtx*, i64 iRowid, char **pzGroup,
                                char **pzErr);
/* Is row iRowid of _stream_offsets the one of (zGroup, zTopic, iPart)? */
int sqlite3StreamCatOffsetRowIs(StreamCtx*, i64 iRowid, const char *zGroup,
                                const char *zTopic, i64 iPart, int *pbSame,
                                char **pzErr);
/* The names of the topics, in name order, appended to *pList: zTopic
** only (if it exists) or all, and of those only the ones whose
** configuration sets zFlag (e.g. "cold.enabled") to true, if zFlag is not
** NULL.  A database without storage has none. */
struct StreamStrList;
int sqlite3StreamCatTopicList(StreamCtx*, const char *zTopic,
                              const char *zFlag, struct StreamStrList *pList,
                              char **pzErr);

/* The tiers' own tables and the one-off writes (ext/storage.c,
** aAuxSql[]): the warm segment index as the warm tier, retention,
** compaction and stream_backup() read it, the cold tier's and the
** Pipelines sink's tables, the _stream_meta writes of the units of work,
** a topic's delete.  Their parameters are listed beside each. */
enum {
  STREAM_AUX_SEG_SCAN = 0,      /* the segment-index scans: +1 topic =, */
  STREAM_AUX_SEG_SCAN_END = 7,  /*   +2 partition =, +4 descending */
  STREAM_AUX_SEG_ANY,           /* segment rows in the database's store */
  STREAM_AUX_SEG_PART_ANY,      /* ... of a partition */
  STREAM_AUX_SEG_DELETE_DEAD,   /* rows of deleted topics (the sweep) */
  STREAM_AUX_SEG_AT,            /* is there a row with this location */
  STREAM_AUX_SEG_DROP_TOPIC,    /* a topic's rows */
  STREAM_AUX_SEG_TOPIC_ANY,     /* ... are there any */
  STREAM_AUX_SEG_DEAD_ANY,      /* are there rows of deleted topics */
  STREAM_AUX_WARM_DEFER_TABLE,  /* DDL of _stream_warm_deleted (exec) */
  STREAM_AUX_WARM_DEFER_PUT,    /* a file no row names from now on */
  STREAM_AUX_WARM_DEFER_TOPIC,  /* ... every file of a topic's rows */
  STREAM_AUX_WARM_DEFER_DEAD,   /* ... of rows of deleted topics */
  STREAM_AUX_WARM_DEFER_HELD,   /* is a file held past its delay */
  STREAM_AUX_WARM_DEFER_DUE,    /* forget the files past their delay */
  STREAM_AUX_WARM_DEFER_AT,     /* is a file held (past its delay or not) */
  STREAM_AUX_SEG_FILES,         /* every segment's location, bytes, store */
  STREAM_AUX_TOPIC_STORE,       /* a topic's own warm.store */
  STREAM_AUX_STORES,            /* stores other than warm.store in use */
  STREAM_AUX_STORE_REMEMBER,    /* record a topic's own warm.store */
  STREAM_AUX_CLEANER_GET,       /* a partition's cleaner state */
  STREAM_AUX_WRITE_LOCK,        /* no-op write: take the write lock */
  STREAM_AUX_DB_ID_MAKE,        /* make database.id if missing */
  STREAM_AUX_TOPIC_DELETE_LOG,  /* a topic's delete, in this order: */
  STREAM_AUX_TOPIC_DELETE_TIX,  /*   hot rows, time index entries, */
  STREAM_AUX_TOPIC_DELETE_PARTS,/*   partitions, committed offsets, */
  STREAM_AUX_TOPIC_DELETE_OFFSETS,
  STREAM_AUX_TOPIC_DELETE_PRODUCERS,/* producer sequences, */
  STREAM_AUX_TOPIC_DELETE_MARKS,/*   marks of the groups' positions, */
  STREAM_AUX_TOPIC_DELETE_TOPIC,/*   the topic's row */
  STREAM_AUX_COLD_TABLES,       /* DDL of the cold tier's tables (exec) */
  STREAM_AUX_COLD_NEXT,         /* cold watermark of a partition */
  STREAM_AUX_COLD_MIRROR_SET,   /* set it */
  STREAM_AUX_COLD_ORPHANS_DUE,  /* orphans past their grace */
  STREAM_AUX_COLD_ORPHAN_DROP,  /* an orphan deleted */
  STREAM_AUX_COLD_ORPHAN_PUT,   /* an orphan (seen_at replaced) */
  STREAM_AUX_COLD_ORPHAN_ADD,   /* a new orphan (seen_at kept) */
  STREAM_AUX_COLD_ORPHAN_COUNT, /* a topic's known orphans */
  STREAM_AUX_COLD_ORPHAN_DUE_COUNT, /* ... past their grace */
  STREAM_AUX_COLD_ORPHANS_KEEP, /* forget those no longer orphans */
  STREAM_AUX_COLD_COMMITTED_AT, /* time of a topic's last cold commit */
  STREAM_AUX_COLD_COMMIT_PUT,   /* record a cold commit */
  STREAM_AUX_PIPE_TABLE,        /* DDL of the Pipelines table (exec) */
  STREAM_AUX_PIPE_NEXT,         /* Pipelines watermark of a partition */
  STREAM_AUX_PIPE_NEXT_SET,     /* advance it after a delivery */
  STREAM_AUX_COUNT
};
/* Statement eAux, cached and unbound (the caller binds, steps and resets
** it with sqlite3StreamStorageReset()); NULL on error
** (sqlite3StreamStmtErr() gives the code). */
sqlite3_stmt *sqlite3StreamAuxStmt(StreamCtx*, int eAux, char **pzErr);
/* A private copy of eAux (sqlite3_prepare_v3() with mFlags), for a
** reader that keeps several open at once (the warm tier's scans); the
** caller finalizes it.  Returns the prepare's code. */
int sqlite3StreamAuxPrepare(StreamCtx*, int eAux, unsigned int mFlags,
                            sqlite3_stmt **ppStmt);
/* Run the DDL eAux (STREAM_AUX_COLD_TABLES, STREAM_AUX_PIPE_TABLE). */
int sqlite3StreamAuxExec(StreamCtx*, int eAux, char **pzErr);
/* Run eAux with its parameters bound in order from the arguments, as
** zTypes says: 't' a const char* (NULL binds NULL), 'i' an i64.  Run: a
** write.  Int: *piOut gets the first column of the first row (left alone
** without a row or if NULL).  List: the text of the first column of
** every row appended to *pList.  Int and List read a table not made yet
** (or a database without storage) as no row. */
int sqlite3StreamAuxRun(StreamCtx*, int eAux, char **pzErr,
                        const char *zTypes, ...);
int sqlite3StreamAuxInt(StreamCtx*, int eAux, i64 *piOut, char **pzErr,
                        const char *zTypes, ...);
int sqlite3StreamAuxList(StreamCtx*, int eAux, struct StreamStrList *pList,
                         char **pzErr, const char *zTypes, ...);
/* Error rc of a statement on a tier's table, or SQLITE_OK (and no
** message) if it failed for want of the table (no storage yet). */
int sqlite3StreamAuxNoStorage(StreamCtx*, int rc, char **pzErr);
/* The write lock, taken by a no-op write (a unit of work's first
** statement). */
int sqlite3StreamWriteLock(StreamCtx*, char **pzErr);
/* This database's id (database.id in _stream_meta), made first if it is
** missing and bCreate (in the caller's transaction): *pzId
** sqlite3_malloc'd, NULL if there is none. */
int sqlite3StreamDbId(StreamCtx*, int bCreate, char **pzId, char **pzErr);
/* A topic's rows: its hot messages, time index entries, partitions,
** committed offsets and its row (the tiers drop their own). */
int sqlite3StreamAuxTopicDelete(StreamCtx*, const char *zName, char **pzErr);
/* next_offset of (zTopic, iPart) in the cold tier's watermark table
** (_stream_cold), or the Pipelines sink's (bPipeline: _stream_pipeline);
** 0 if it has no row (of the topic's incarnation) or the table does not
** exist yet. */
int sqlite3StreamWatermark(StreamCtx*, int bPipeline, const char *zTopic,
                           int iPart, i64 *piNext, char **pzErr);
/* The storage format this build reads and writes (ext/schema.c upgrades
** earlier ones; docs/storage.md). */
#define STREAM_FORMAT 5
/* Set a _stream_meta value in another database connection (the copy
** stream_backup() makes). */
/* In the copy stream_backup() makes (every segment file in its own
** directory): every segment row in the database's store, no topic with a
** store of its own. */
int sqlite3StreamBackupOneStore(sqlite3 *db, char **pzErr);
int sqlite3StreamMetaSetOn(sqlite3 *db, const char *zKey, const char *zValue,
                           char **pzErr);
/* The hot log's statements (ext/storage.c, aHotSql[], STREAM_HOT_*) and
** their accessors, used by ext/produce.c, ext/topic.c and ext/scan.c.  The
** reads write the transaction's pending record batches first. */
/* One row of _stream_log: (partition id << 40) | offset; key, value and
** headers as SQLITE_TEXT, SQLITE_BLOB or SQLITE_NULL (a record batch's
** key: SQLITE_INTEGER, iKey); bound without a copy. */
typedef struct StreamHotRow StreamHotRow;
struct StreamHotRow {
  i64 iId;                     /* Rowid */
  i64 iTimestamp;              /* Timestamp (a batch: its largest) */
  int attrs;                   /* Attrs (codec, blob, batch) */
  int eKey, eValue, eHeaders;  /* Types */
  const void *pKey, *pValue, *pHeaders;  /* Bytes */
  int nKey, nValue, nHeaders;  /* Their lengths */
  i64 iKey;                    /* Key when eKey is SQLITE_INTEGER */
};
/* The cached statement eHot, unbound (bind, step, reset it with
** sqlite3StreamStorageReset()); NULL on error (sqlite3StreamStmtErr()). */
sqlite3_stmt *sqlite3StreamHotStmt(StreamCtx*, int eHot, char **pzErr);
/* Append one row. */
int sqlite3StreamHotAppend(StreamCtx*, const StreamHotRow*, char **pzErr);
/* The stored high watermark of a partition (STREAM_HWM_SQL) and its id,
** both 0 if the partition has no row; the id 0 as well if it is damaged
** (not in 1..STREAM_MAX_PID: the append refuses it);
** SQLITE_CORRUPT if the high watermark is not an offset. */
int sqlite3StreamHotPosition(StreamCtx*, const char *zTopic, int iPart,
                             i64 *piHwm, i64 *piPid, char **pzErr);
/* The first hot offset of a partition; *pbFound 0 if it has none. */
int sqlite3StreamHotFirst(StreamCtx*, const char *zTopic, i64 iPart,
                          i64 *piOffset, int *pbFound, char **pzErr);
/* An idempotent producer's last sequence on a topic (-1 if none, as read:
** the caller checks it); where sequence iSeq was written (*pbFound). */
int sqlite3StreamHotProducerLast(StreamCtx*, const char *zProducer,
                                 const char *zTopic, i64 *piLast,
                                 char **pzErr);
int sqlite3StreamHotProducerGet(StreamCtx*, const char *zProducer,
                                const char *zTopic, i64 iSeq,
                                i64 *piOffset, int *pbFound, char **pzErr);
/* Record a sequence (written at iPart/iOffset, of the batch starting at
** iBatchSeq); forget the batches before the newest nWindow. */
int sqlite3StreamHotProducerPut(StreamCtx*, const char *zProducer,
                                const char *zTopic, i64 iSeq, i64 iPart,
                                i64 iOffset, i64 iBatchSeq, char **pzErr);
int sqlite3StreamHotProducerTrim(StreamCtx*, const char *zProducer,
                                 const char *zTopic, int nWindow,
                                 char **pzErr);
/* Backpressure: the subscribed group furthest behind on a partition
** (*pzGroup sqlite3_malloc'd, NULL if no group subscribes) and its
** committed offset (the log start without a commit). */
int sqlite3StreamHotSlowestGroup(StreamCtx*, const char *zTopic, int iPart,
                                 char **pzGroup, i64 *piCommitted,
                                 char **pzErr);
/* The time index: the newest entry of partition iPid (timestamp, offset;
** *pbFound), the largest timestamp of rowids [iLo, iHi] (from the row
** holding iLo: see aHotSql[]) if any (*pbFound), a new entry. */
int sqlite3StreamHotTixLast(StreamCtx*, i64 iPid, i64 *piTs, i64 *piOffset,
                            int *pbFound, char **pzErr);
int sqlite3StreamHotTixMax(StreamCtx*, i64 iLo, i64 iHi, i64 *piTs,
                           int *pbFound, char **pzErr);
int sqlite3StreamHotTixPut(StreamCtx*, i64 iPid, i64 iTs, i64 iOffset,
                           char **pzErr);
/* The long poll's look at one partition (ext/consume.c): its high
** watermark (0 if it does not exist) and group zGroup's committed offset
** (*pbCommitted 0 when there is none).  Returns sqlite3_reset()'s code
** as it is (SQLITE_BUSY: the caller looks again later), no message. */
int sqlite3StreamHotAvailable(StreamCtx*, const char *zTopic, int iPart,
                              const char *zGroup, i64 *piHwm,
                              i64 *piCommitted, int *pbCommitted);
/* The SQL of the scan's hot query for plan idxNum (STREAM_SCAN_* bits,
** STREAM_SCAN_INT_OFFSETS and STREAM_SCAN_KEY_ARGS included),
** sqlite3_malloc'd, NULL on OOM: columns topic, partition, offset, key,
** value, headers, timestamp, attrs (STREAM_SCAN_COL_*; key and headers
** NULL on rows that are not batches under STREAM_SCAN_NO_KEY and
** STREAM_SCAN_NO_HDRS), one parameter per plan value in order. */
char *sqlite3StreamHotScanSql(int idxNum);

/**************************************************************************
** Interface to code in ext/strlist.c: a growable list of strings.
*/
typedef struct StreamStrList StreamStrList;
struct StreamStrList {
  char **az;                   /* Strings (each sqlite3_malloc'd) */
  int n;                       /* Used */
  int nAlloc;                  /* Allocated */
  int rc;                      /* SQLITE_NOMEM after a failed append */
};
/* Append a copy of z (on failure pList->rc is set, the list unchanged). */
void sqlite3StreamStrListAdd(StreamStrList *pList, const char *z);
/* Free every string and the array; the list is empty again. */
void sqlite3StreamStrListFree(StreamStrList *pList);

/**************************************************************************
** Interface to code in ext/tier.c: tiers behind one interface.
**
** A tier holds messages that left the hot log, below every hot offset of
** their partition.  Each tier is a StreamTierMethods table (warm, ext/warm*.c,
** is the first: sqlite3StreamTierWarm); ext/tier.c drives them all (moves,
** retention, sweep, compaction, dropping a topic) and merges their scans,
** so a new tier (cold) is one more table in its list, not a change to the
** read path or to maintenance.
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

typedef struct StreamTier StreamTier;
typedef struct StreamTierMethods StreamTierMethods;
typedef struct StreamTierReader StreamTierReader;
typedef struct StreamTierScan StreamTierScan;
typedef struct StreamScanRange StreamScanRange;

/* A range to scan: messages of (topic, partition) in order of (topic,
** partition, offset), or its reverse, within inclusive bounds. */
struct StreamScanRange {
  sqlite3_value *pTopic;       /* topic = this (as given), or NULL */
  const char *zTopic;          /* ... or this, or NULL: all topics */
  sqlite3_value *pPartition;   /* partition = this (as given), or NULL */
  int bPartition;              /* ... or iPartition if this is set */
  int iPartition;              /* Partition (bPartition) */
  i64 iLo, iHi;                /* Offset bounds, inclusive */
  i64 iTsLo, iTsHi;            /* Timestamp bounds, inclusive */
  const char *zTopicLo;        /* Without topic =: topics >= this (text,
                               ** BINARY), or NULL: no lower bound */
  const char *zTopicHi;        /* ... and <= this, or NULL (a superset of
                               ** the plan's bounds: SQLite checks them
                               ** again, ext/scan.c streamScanTopicBounds) */
  int bTopicLoX, bTopicHiX;    /* ... each bound itself excluded */
  int bDesc;                   /* Descending order */
  unsigned mCols;              /* Parquet columns of key (1<<3), value
                               ** (1<<4), headers (1<<5) wanted */
};

struct StreamTierMethods {
  const char *zName;           /* "warm" */
  /* Open the tier of this database; *pp NULL if it is not configured.
  ** zAsked: stream_tier(topic) asked to move topic zAsked into it (an
  ** error if it cannot take messages), else NULL. */
  int (*xOpen)(StreamCtx*, const char *zAsked, StreamTier **pp,
               char **pzErr);
  void (*xClose)(StreamTier*);
  /* Remove what no row names, and rows of deleted topics (zTopic: only
  ** that topic's files). */
  int (*xSweep)(StreamTier*, const char *zTopic, StreamTierStats*,
                char **pzErr);
  /* Apply retention (retention.ms/.bytes) to one partition's files,
  ** never removing an offset at or above iHold (the colder tiers' hold,
  ** xHold; INT64_MAX: none). */
  int (*xExpire)(StreamTier*, const char *zTopic, int iPart,
                 const StreamTopicConfig*, i64 iHold, StreamTierStats*,
                 char **pzErr);
  /* Move what left the hot window of one partition in (bHook: the bounded
  ** after-append variant, pzErr NULL). */
  int (*xMoveIn)(StreamTier*, const char *zTopic, int iPart, i64 iInc,
                 const StreamTopicConfig*, int bHook, StreamTierStats*,
                 char **pzErr);
  /* Compact one partition's files (at most nMaxRewrite, <0: no limit),
  ** not while they hold an offset at or above iHold (as xExpire). */
  int (*xCompact)(StreamCtx*, const char *zTopic, int iPart,
                  i64 nMaxRewrite, i64 iHold, i64 *pnRemoved, char **pzErr);
  /* Forget a deleted topic: its rows always, its files best effort. */
  int (*xDropTopic)(StreamCtx*, const char *zTopic, char **pzErr);
  /* Per-connection read state (statements, open files). */
  int (*xReaderNew)(StreamCtx*, StreamTierReader **pp);
  void (*xReaderFree)(StreamTierReader*);
  /* A scan of a range; *pp NULL: no rows.  Next gives SQLITE_ROW with
  ** *ppRow set (topic and partition too; valid until the next call),
  ** SQLITE_DONE, or an error with its message in *pzErr. */
  int (*xScanOpen)(StreamTierReader*, const StreamScanRange*,
                   StreamTierScan **pp, char **pzErr);
  int (*xScanNext)(StreamTierScan*, const StreamPqRow **ppRow, char **pzErr);
  void (*xScanClose)(StreamTierScan*);
  /* The hold: the first offset of (zTopic, iPart) this tier has not taken
  ** yet and still needs from the live log (a tier that copies instead of
  ** moving, as cold).  Retention and compaction of the hot log and of the
  ** tiers before it never remove an offset at or above it.  INT64_MAX:
  ** nothing held.  Works without xOpen (a hold stands even while the
  ** tier's store is not configured). */
  int (*xHold)(StreamCtx*, const char *zTopic, int iPart,
               const StreamTopicConfig*, i64 *piHold, char **pzErr);
  /* After the xMoveIn calls of one topic: finish what they left under way
  ** (a tier over a network store keeps the last upload in flight while
  ** the next file is encoded: it is waited for and recorded here) and
  ** end their transaction.  Called whatever xMoveIn returned; NULL:
  ** nothing is ever left under way. */
  int (*xMoveEnd)(StreamTier*, StreamTierStats*, char **pzErr);
};

/* Optional slots: a tier that never opens (xOpen gives no tier) leaves
** xSweep, xExpire and xMoveIn NULL; one that stream_messages does not read
** leaves xReaderNew, xReaderFree and the scan slots NULL; xCompact,
** xDropTopic, xHold and xMoveEnd may be NULL (nothing to do).  tier.c
** skips NULL slots. */

/* Base classes: each tier's objects start with these. */
struct StreamTier {
  const StreamTierMethods *pMethods; /* Implementation - must be first */
  StreamCtx *pCtx;             /* Connection */
  int bMoveIn;                 /* Messages may move in (0: read-only) */
  int bInline;                 /* Cheap enough to move inside produce */
};
struct StreamTierReader {
  const StreamTierMethods *pMethods; /* Implementation - must be first */
};
struct StreamTierScan {
  const StreamTierMethods *pMethods; /* Implementation - must be first */
};

/* The warm tier (ext/warm.c) and the cold tier (ext/cold.c). */
extern const StreamTierMethods sqlite3StreamTierWarm;
extern const StreamTierMethods sqlite3StreamTierCold;

/* The hold of every tier on (zTopic, iPart): the smallest xHold, INT64_MAX
** if none holds anything.  Retention and compaction of the hot log stop
** below it. */
int sqlite3StreamTierHold(StreamCtx*, const char *zTopic, int iPart,
                          const StreamTopicConfig*, i64 *piHold,
                          char **pzErr);

/* Tier every eligible message of topic zTopic (NULL: every topic), then
** apply retention and remove orphan files, in every tier.  Runs inside the
** caller's transaction; files written cannot be rolled back (a rollback
** leaves orphans, which the next call removes). */
int sqlite3StreamTier(StreamCtx*, const char *zTopic, StreamTierStats*,
                      char **pzErr);

/* For stream_maintain(): the same as sqlite3StreamTier(), but without a
** configured store a named topic is not an error (nothing to do), and
** with pErrs an error of one topic is recorded there and the others go
** on (sqlite3StreamTopicErr()). */
int sqlite3StreamTierMaintain(StreamCtx*, const char *zTopic,
                              StreamTierStats*, StreamTopicErrs *pErrs,
                              char **pzErr);

/* The amortised hook of the produce path: called after a successful
** append of offset iOffset to (zTopic, iPart).  Does bounded work (one
** segment at most), only every STREAM_TIER_CHECK_EVERY offsets, only into
** a tier cheap enough (bInline), and never fails the produce: errors are
** dropped (the messages simply stay hot). */
int sqlite3StreamTierAfterAppend(StreamCtx*, const StreamAppended*,
                                 char **pzErr);

/* Forget every tiered message (records and files) of a topic: for
** stream_delete_topic().  Files that cannot be removed become orphans. */
int sqlite3StreamTierDropTopic(StreamCtx*, const char *zTopic, char **pzErr);

/* Compaction of the tiered messages of one partition of a compacted topic
** (see ext/warm_compact.c): records superseded by a newer record of their
** key (in a tier or hot) and tombstones past the cleaner's horizon are
** removed by rewriting files (crash-safe order, as a move); files left
** empty are dropped.  At most nMaxRewrite files are rewritten (<0: no
** limit).  *pnRemoved gets the records removed.  One transaction under
** the write lock; replaced files are deleted after it commits
** (autocommit), else by the orphan sweep. */
int sqlite3StreamTierCompact(StreamCtx*, const char *zTopic, int iPart,
                             i64 nMaxRewrite, i64 *pnRemoved, char **pzErr);

/* Settings hook for stream_config(): check a new value of an
** extension-wide tier setting ("warm.store").  SQLITE_OK if zName is not a
** tier setting. */
int sqlite3StreamTierSettingCheck(StreamCtx*, const char *zName,
                                  const char *zValue, char **pzErr);

/* Reading every tier: per-connection state, and one scan of a range that
** merges the tiers' scans by (topic, partition, offset) (an offset in two
** tiers, a move interrupted between its steps, is returned once). */
typedef struct StreamTierRead StreamTierRead;
typedef struct StreamTierMerge StreamTierMerge;
int sqlite3StreamTierReadNew(StreamCtx*, StreamTierRead **pp);
void sqlite3StreamTierReadFree(StreamTierRead*);
/* Drop what the read state keeps (statements, open files), before the
** connection's cached statements go (sqlite3StreamStmtFinalizeAll()). */
void sqlite3StreamTierReadFinalize(StreamTierRead*);
/* *pp NULL: no tier has rows in the range. */
int sqlite3StreamTierScanOpen(StreamTierRead*, const StreamScanRange*,
                              StreamTierMerge **pp, char **pzErr);
int sqlite3StreamTierScanNext(StreamTierMerge*, const StreamPqRow **ppRow,
                              char **pzErr);
void sqlite3StreamTierScanClose(StreamTierMerge*);

/* Order of two messages by (topic bytes, partition, offset): <0, 0, >0. */
int sqlite3StreamMsgCompare(const char *zA, int nA, i64 iPartA, i64 iOffA,
                            const char *zB, int nB, i64 iPartB, i64 iOffB);

/**************************************************************************
** Interface to code in ext/scan.c: the scan API.
**
** A plan is a bitmask of the bounds given (vtab/messages.c's idxNum); the
** values come in StreamScanArg order, each present only if its bit is set:
*/
#define STREAM_SCAN_TOPIC     0x0001  /* topic = ?                       */
#define STREAM_SCAN_PART      0x0002  /* partition = ?                   */
#define STREAM_SCAN_OFF_EQ    0x0004  /* offset = ?                      */
#define STREAM_SCAN_OFF_LO    0x0008  /* offset lower bound, >= ?        */
#define STREAM_SCAN_OFF_LO_X  0x0010  /*   ... strict (>), no value      */
#define STREAM_SCAN_OFF_HI    0x0020  /* offset upper bound, <= ?        */
#define STREAM_SCAN_OFF_HI_X  0x0040  /*   ... strict (<), no value      */
#define STREAM_SCAN_TS_LO     0x0080  /* timestamp lower bound, >= ?     */
#define STREAM_SCAN_TS_LO_X   0x0100  /*   ... strict (>), no value      */
#define STREAM_SCAN_TS_HI     0x0200  /* timestamp upper bound, <= ?     */
#define STREAM_SCAN_TS_HI_X   0x0400  /*   ... strict (<), no value      */
#define STREAM_SCAN_LIMIT     0x0800  /* LIMIT ? (the last value)        */
#define STREAM_SCAN_DESC      0x1000  /* descending order, no value      */
#define STREAM_SCAN_NO_KEY    0x2000  /* key not read, no value          */
#define STREAM_SCAN_NO_VALUE  0x4000  /* value not read, no value        */
#define STREAM_SCAN_NO_HDRS   0x8000  /* headers not read, no value      */
#define STREAM_SCAN_HOT_ONLY  0x10000 /* the hot log only, no value      */
#define STREAM_SCAN_TOPIC_LO  0x20000 /* topic lower bound, >= ?         */
#define STREAM_SCAN_TOPIC_LO_X 0x40000 /*   ... strict (>), no value     */
#define STREAM_SCAN_TOPIC_HI  0x80000 /* topic upper bound, <= ?         */
#define STREAM_SCAN_TOPIC_HI_X 0x100000 /*  ... strict (<), no value     */
/* The topic bounds come after the timestamp bounds, before LIMIT.  They
** are a filter of the catalog's topics (BINARY text comparison), which
** may keep more topics than the constraint (the caller re-checks): a
** lower bound that is a number is dropped, an upper bound below 'A' (or
** a number) is raised to 'A', so that a topic SQLite compares as a number
** (a NUMERIC right-hand side) is never dropped (ext/scan.c). */
/* Internal plan bit (never set by xBestIndex, ext/scan.c sets it): every
** offset value is an integer, so the rowid range alone is the exact
** comparison (sqlite3StreamHotScanSql()). */
#define STREAM_SCAN_INT_OFFSETS 0x40000000
/* Internal plan bit (ext/scan.c sets it): topic and partition are given,
** the topic value is text and the partition value an integer, so they are
** the row's topic and partition as stored, and the hot query reads one
** partition's rowid range with no join (sqlite3StreamHotScanSql()). */
#define STREAM_SCAN_KEY_ARGS    0x20000000

/* Columns of a scanned row. */
#define STREAM_SCAN_COL_TOPIC     0
#define STREAM_SCAN_COL_PARTITION 1
#define STREAM_SCAN_COL_OFFSET    2
#define STREAM_SCAN_COL_KEY       3
#define STREAM_SCAN_COL_VALUE     4
#define STREAM_SCAN_COL_HEADERS   5
#define STREAM_SCAN_COL_TIMESTAMP 6
#define STREAM_SCAN_COL_ATTRS     7   /* storage only */

typedef struct StreamScan StreamScan;
typedef struct StreamScanArg StreamScanArg;
typedef struct StreamScanField StreamScanField;

/* One value of a plan: an SQL value as given (compared with SQL's rules),
** else zVal (text) if not NULL, else iVal. */
struct StreamScanArg {
  sqlite3_value *pVal;         /* The value, or NULL */
  const char *zVal;            /* Text, or NULL */
  i64 iVal;                    /* Integer */
};

/* A column of the current row.  pValue: a hot column as stored (decoded
** values excepted), to use as it is; else eType with iVal (INTEGER) or
** p[n] (TEXT, BLOB), valid until the next
** sqlite3StreamScanNext(). */
struct StreamScanField {
  sqlite3_value *pValue;       /* Stored hot value, or NULL */
  int eType;                   /* SQLITE_NULL, _INTEGER, _TEXT, _BLOB... */
  i64 iVal;                    /* INTEGER */
  const void *p;               /* TEXT or BLOB bytes */
  int n;                       /* Their length */
};

/* Per-connection scan state: sqlite3StreamScannerGet() makes it on first
** use; it is finalized with the cached statements and freed with the
** connection's context. */
int sqlite3StreamScannerNew(StreamCtx*, StreamScanner **pp);
int sqlite3StreamScannerGet(StreamCtx*, StreamScanner **pp);
void sqlite3StreamScannerFinalize(StreamScanner*);
void sqlite3StreamScannerFree(StreamScanner*);

/* Open a scan of plan idxNum (nArg values in aArg) on its first row (or
** at its end: sqlite3StreamScanEof()).  *pp is set even on error (close
** it); errors come with a message in *pzErr. */
int sqlite3StreamScanOpen(StreamScanner*, int idxNum, int nArg,
                          const StreamScanArg *aArg, StreamScan **pp,
                          char **pzErr);
int sqlite3StreamScanEof(StreamScan*);
/* Move to the next row (or the end). */
int sqlite3StreamScanNext(StreamScan*, char **pzErr);
/* Column iCol (STREAM_SCAN_COL_*) of the current row; SQLITE_CORRUPT if a
** stored value does not decode, SQLITE_NOMEM. */
int sqlite3StreamScanColumn(StreamScan*, int iCol, StreamScanField *pF);
/* The fast form of sqlite3StreamScanColumn(): column iCol of the current
** row as the hot statement holds it, valid until the next
** sqlite3StreamScanNext(); NULL if the row is not a hot row of its own
** (a tier row, a record of a batch) or iCol is a compressed value. */
sqlite3_value *sqlite3StreamScanHotValue(StreamScan*, int iCol);
/* ... for a record of a batch: the record (its bytes valid until the next
** sqlite3StreamScanNext()), or NULL if the current row is not one or its
** value is compressed (sqlite3StreamScanColumn() decodes it). */
const StreamBatchRec *sqlite3StreamScanRecord(StreamScan*);
/* The stored bytes of the batch row the current record belongs to that
** hold every record the scan takes from the row (from the first record
** in range to the last one the scan decoded: the record's pointers point
** into them; valid until the scan leaves the row) and *piRow, a number
** that changes with every batch row of the scan; 0 if the current row is
** not a record of a batch. */
int sqlite3StreamScanBatch(StreamScan*, const u8 **pp, int *pn, i64 *piRow);
/* The run of records the scan returns next from the current batch row,
** the current one first: *paRec, and how many (a record's bytes valid
** until the scan leaves the row); 0 if the current row is not an
** uncompressed record of a batch, or a tier row may come between (a
** descending scan, a tier being merged).  A run stops at the LIMIT; a
** compressed record in it is the caller's to stop at. */
int sqlite3StreamScanRun(StreamScan*, const StreamBatchRec **paRec);
/* Move past the first k (1..its length) records of the run: k-1 records
** at once, then sqlite3StreamScanNext(). */
int sqlite3StreamScanNextN(StreamScan*, int k, char **pzErr);
void sqlite3StreamScanClose(StreamScan*);
/* Column iCol of the current row as an integer (offset, timestamp...). */
i64 sqlite3StreamScanInt(StreamScan*, int iCol);
/* Open a scan of one partition: plan STREAM_SCAN_TOPIC|STREAM_SCAN_PART
** |mPlan, whose other values are the nInt (0..6) integers aInt; on error
** *pp is NULL (nothing to close). */
int sqlite3StreamScanPartition(StreamCtx*, const char *zTopic, i64 iPart,
                               int mPlan, int nInt, const i64 *aInt,
                               StreamScan **pp, char **pzErr);

/* Test hook: with -DSTREAM_TEST_HOOKS, _exit(99) when the environment
** variable STREAM_TIER_CRASH equals iStep (see docs/tiering.md). */
#ifdef STREAM_TEST_HOOKS
void sqlite3StreamTierCrashPoint(int iStep);
# define STREAM_TIER_CRASH(n) sqlite3StreamTierCrashPoint(n)
#else
# define STREAM_TIER_CRASH(n)
#endif

/**************************************************************************
** Interface to code in ext/warm.c beyond the tier interface.
*/

/* The store of this database: the warm.store setting; else, if the
** database has segment rows (written when older versions tiered by
** default), the legacy directory beside the main database file
** ("<db>.stream/warm", bLegacy set: read, expired, compacted, never moved
** to); else none: *pp is NULL and SQLITE_OK returned. */
int sqlite3StreamTierStore(StreamCtx*, StreamStore **pp, char **pzErr);
/* The store of a segment row whose store column is zAt: that URL (a
** topic's own warm.store), or (NULL or "") the database's store: pDefault
** if not NULL (a new reference), else sqlite3StreamTierStore(). */
int sqlite3StreamWarmSegStore(StreamCtx*, StreamStore *pDefault,
                              const char *zAt, StreamStore **pp,
                              char **pzErr);

/* A segment row: what its file must hold.  Every file is checked against
** its row when it is opened (footer metadata: topic, partition, offset
** range, topic incarnation; row count; size; row-group statistics inside
** the range) and its offsets while it is read (inside the range, strictly
** increasing); a mismatch is an error naming the file, never wrong rows. */
struct StreamSegment {
  const char *zLocation;       /* Key of the file in the store */
  const char *zTopic;          /* Topic */
  int iPartition;              /* Partition */
  i64 iFirst, iLast;           /* Offset range of the row, inclusive */
  i64 nMessages;               /* Rows in the file */
  i64 nBytes;                  /* File size */
  i64 iIncarnation;            /* Incarnation of the topic */
  i64 nMaxValue;               /* Longest key, value or headers accepted
                               ** (the topic's max.message.bytes) */
  const char *zStore;          /* URL of its store (the topic's own
                               ** warm.store), NULL: the database's */
};

/**************************************************************************
** Interface to code in ext/backup.c
*/

/* stream_backup(dest) (sqlite3StreamBackupFunc()): the database and the
** warm segment files it names, copied from one snapshot into directory
** dest. */

/**************************************************************************
** Interface to code in vtab/segments.c
*/

/* Register the stream_segments virtual table. */
int sqlite3StreamRegisterSegments(sqlite3 *db, StreamCtx *p);

/**************************************************************************
** Retention, log compaction and the
** "stream" shim VFS that owns PRAGMA stream_compact / stream_compaction.
** Storage: _stream_cleaner (one row of
** state per partition) and _stream_cleaner_keys (the offset map of the
** clean section of compacted partitions), both in sql/schema.sql and
** described in docs/retention.md.
*/


/* Amortised maintenance inside produce: a partition is looked at when a
** message is appended at an offset o with (o+1) % STREAM_MAINTAIN_EVERY
** == 0 (derived from offsets: no per-produce counter), and then at most
** STREAM_MAINTAIN_BATCH messages are deleted by retention and at most as
** many are fed through the incremental compactor. */
#define STREAM_MAINTAIN_EVERY 256
#define STREAM_MAINTAIN_BATCH 1024

/* Bytes of one stored message, as reported by stream_partitions.bytes. */
#define STREAM_MSG_BYTES_SQL \
  "(CASE WHEN attrs&8 THEN key>>8 ELSE" \
  " coalesce(length(CAST(key AS BLOB)),0)" \
  "+coalesce(length(CAST(value AS BLOB)),0)" \
  "+coalesce(length(CAST(headers AS BLOB)),0) END)"

/* Per-partition state of the cleaner (a row of _stream_cleaner). */
typedef struct StreamCleaner StreamCleaner;
struct StreamCleaner {
  i64 iCleanOffset;            /* Compaction: first offset not yet cleaned */
  i64 nCleanCount;             /* Messages in the clean section */
  i64 iTarget;                 /* Incremental run cleans up to here, or -1 */
  i64 iMarkOffset;             /* High watermark seen at iMarkAt */
  i64 iMarkAt;                 /* Time (ms) of that observation */
  i64 iHorizon;                /* Tombstones below this offset may go */
  i64 iCleanedAt;              /* Time of the last completed run, or -1 */
  i64 nRemoved;                /* Messages removed by compaction, in total */
  i64 iSizeOffset;             /* retention.bytes: bytes counted below, or -1 */
  i64 nSizeBytes;              /* Bytes of messages below iSizeOffset */
  i64 bKeepTombs;              /* Not stored: keep tombstones this pass
                               ** (i64: no padding, the struct is memcmp'd) */
};

/**************************************************************************
** Interface to code in ext/maintain.c
*/

/* Register the shim VFS (once per process); the SQL functions of this
** file are in ext/main.c's table. */
int sqlite3StreamRegisterMaintain(sqlite3 *db, StreamCtx *p);

/* Called by sqlite3StreamAppend() after each message is stored at offset
** iOffset of partition iPart.  Does bounded work on one message in
** STREAM_MAINTAIN_EVERY, none otherwise.  Its own failures are rolled back
** and ignored, except when it cannot isolate them in a savepoint (the
** produce runs inside a statement that writes): then the error is
** returned so that the statement fails as a whole. */
int sqlite3StreamMaintainAfterAppend(StreamCtx*, const StreamAppended*,
                                     char **pzErr);

/* The full configuration of a topic and its number of partitions;
** SQLITE_NOTFOUND with "stream: no such topic: X" if there is none. */
int sqlite3StreamTopicConfig(StreamCtx*, const char *zTopic,
                             StreamTopicConfig *pCfg, int *pnPart,
                             char **pzErr);

/* Does the partition have warm segments? (ext/retention.c) */
int sqlite3StreamHasWarm(StreamCtx*, const char *zTopic, int iPart,
                         int *pbWarm, char **pzErr);


/* PRAGMA stream_compact[(topic)] and PRAGMA stream_compaction[(topic)]
** for the shim VFS: the result text in *pzOut (sqlite3_malloc'd). */
int sqlite3StreamPragma(StreamCtx*, const char *zPragma, const char *zArg,
                        char **pzOut, char **pzErr);

/**************************************************************************
** Interface to code in ext/retention.c
*/

/* Retention of one partition of a topic whose policy includes "delete":
** delete the longest prefix of messages that are older than retention.ms
** or beyond retention.bytes, at most nMax (nMax<0: no limit, and the byte
** count is recomputed exactly).  Raises next_offset first and
** log_start_offset after.  Updates *pS (caller stores it). */
int sqlite3StreamRetention(StreamCtx*, const char *zTopic, int iPart,
                           const StreamTopicConfig *pCfg, i64 iNow,
                           i64 nMax, StreamCleaner *pS, i64 *pnDeleted,
                           i64 *piLogStart, char **pzErr);

/**************************************************************************
** Interface to code in ext/compactor.c: the one compaction engine, shared
** by the hot log (ext/compact.c) and the warm tier (ext/warm_compact.c).
*/

/* A set of keys (bytes) over an arena. */
typedef struct StreamKeySlot StreamKeySlot;
struct StreamKeySlot {
  u64 h;                       /* Hash of the key (0: empty slot) */
  i64 iKey;                    /* Offset of the key's bytes in aArena */
  int nKey;                    /* Bytes in the key */
};
typedef struct StreamKeySet StreamKeySet;
struct StreamKeySet {
  StreamKeySlot *aSlot;        /* Open addressing, nSlot a power of 2 */
  u64 nSlot;                   /* Slots allocated */
  u64 nUsed;                   /* Slots in use */
  u8 *aArena;                  /* Key bytes, back to back */
  i64 nArena;                  /* Bytes used in aArena */
  i64 nArenaAlloc;             /* Bytes allocated */
};
/* Add key z[n]: *pbNew is 1 if it was not there; *piKey gets the offset of
** its bytes in the arena (sqlite3StreamKeySetBytes()). */
int sqlite3StreamKeySetAdd(StreamKeySet*, const u8 *z, int n, int *pbNew,
                           i64 *piKey);
const u8 *sqlite3StreamKeySetBytes(const StreamKeySet*, i64 iKey);
void sqlite3StreamKeySetFree(StreamKeySet*);

/* A record as the compactor sees it. */
typedef struct StreamRecord StreamRecord;
struct StreamRecord {
  i64 iOffset;                 /* Offset */
  const u8 *pKey;              /* Key bytes (if bHasKey) */
  int nKey;                    /* Bytes in the key */
  int bHasKey;                 /* The key is not NULL */
  int bTomb;                   /* The value is NULL: a tombstone */
  i64 iKey;                    /* Set by the engine: the key's bytes in the
                               ** engine's key set, or -1 (no key) */
};

/* A source of records, newest first: xNext gives SQLITE_ROW with *pRec
** filled (pKey valid until the next call), SQLITE_DONE, or an error. */
typedef struct StreamRecordSource StreamRecordSource;
struct StreamRecordSource {
  int (*xNext)(StreamRecordSource*, StreamRecord *pRec);
};

typedef struct StreamCompactor StreamCompactor;
struct StreamCompactor {
  StreamKeySet set;            /* Keys seen (newer records) */
  i64 iHwm;                    /* High watermark: iHwm-1 never goes */
  i64 iHorizon;                /* Tombstones below this offset may go */
  int bDropTombs;              /* Tombstones may go in this pass */
};

void sqlite3StreamCompactorInit(StreamCompactor*, i64 iHwm, i64 iHorizon,
                                int bDropTombs);
/* A key with a newer record outside the source (a hotter tier). */
int sqlite3StreamCompactorSeed(StreamCompactor*, const u8 *pKey, int nKey);
/* The next record of pSrc and whether it stays (*pbKeep): SQLITE_ROW,
** SQLITE_DONE at the end of the source, or an error. */
int sqlite3StreamCompactorStep(StreamCompactor*, StreamRecordSource *pSrc,
                               StreamRecord *pRec, int *pbKeep);
void sqlite3StreamCompactorFree(StreamCompactor*);

/**************************************************************************
** Interface to code in ext/compact.c
*/

/* Read the cleaner state of a partition (defaults if it has none yet;
** creates the storage tables of an older database on first use). */
int sqlite3StreamCleanerGet(StreamCtx*, const char *zTopic, int iPart,
                            StreamCleaner *pS, char **pzErr);
/* Store it. */
int sqlite3StreamCleanerPut(StreamCtx*, const char *zTopic, int iPart,
                            const StreamCleaner *pS, char **pzErr);


/* The offset below which messages may be compacted: the high watermark
** less compaction.head.messages, and below the first message newer than
** min.compaction.lag.ms. */
int sqlite3StreamCompactUpper(StreamCtx*, const char *zTopic, int iPart,
                              const StreamTopicConfig *pCfg, i64 iNow,
                              i64 iHwm, i64 *piUpper, char **pzErr);

/* Dirty ratio of a partition and whether it is due (ratio reached or
** dirty longer than max.compaction.lag.ms). */
int sqlite3StreamCompactDue(StreamCtx*, const char *zTopic, int iPart,
                            const StreamTopicConfig *pCfg, i64 iNow,
                            const StreamCleaner *pS, i64 iUpper,
                            double *pRatio, int *pbDue, char **pzErr);

/* Compact [start, upper) of one partition in one pass (the explicit
** path).  Updates *pS; *pnRemoved receives the messages removed. */
int sqlite3StreamCompactFull(StreamCtx*, const char *zTopic, int iPart,
                             const StreamTopicConfig *pCfg, i64 iNow,
                             StreamCleaner *pS, i64 *pnRemoved,
                             char **pzErr);

/* Incremental compaction (the amortised path): if a run is due or in
** progress, clean at most nMax more messages.  Updates *pS. */
int sqlite3StreamCompactStep(StreamCtx*, const char *zTopic, int iPart,
                             const StreamTopicConfig *pCfg, i64 iNow,
                             i64 nMax, StreamCleaner *pS, i64 *pnRemoved,
                             char **pzErr);

/**************************************************************************
** Interface to code in ext/vfs.c
*/

/* Register the "stream" shim VFS over the current default VFS, once per
** process; it becomes the default only if bDefault. */
int sqlite3StreamVfsRegister(int bDefault);
/* Make the shim the default VFS (bOn) or give the default back to the VFS
** it wraps.  Returns the name of the default VFS afterwards. */
const char *sqlite3StreamVfsDefault(int bOn);

/**************************************************************************
** The cold tier: Avro (ext/avro.c), Iceberg tables (ext/iceberg.c) and
** archiving + stream_history (ext/cold.c).  See docs/tiering.md.
*/

/* Avro binary values and an object container file of one block, codec
** null, header metadata azMeta (key, value, ..., NULL). */
void sqlite3StreamAvroLong(StreamPqBuf*, i64 v);
void sqlite3StreamAvroBytes(StreamPqBuf*, const void *p, size_t n);
void sqlite3StreamAvroString(StreamPqBuf*, const char *z);
int sqlite3StreamAvroContainer(StreamPqBuf *pOut, const char *zSchema,
                               const char *const *azMeta, i64 nRecord,
                               const StreamPqBuf *pRecords);
/* Encode StreamJson value pVal with (parsed) Avro schema pSchema: longs as raw
** or plain JSON numbers, bytes and fixed as hex strings, NULL or JSON null
** for the null branch of a union. */
int sqlite3StreamAvroEncode(StreamPqBuf*, const StreamJson *pSchema,
                            const StreamJson *pVal, char **pzErr);
/* Decode a container file (codec null) into its header metadata (object)
** and its records (array), in the same representation. */
int sqlite3StreamAvroRead(const u8 *a, size_t n, StreamJson **ppMeta,
                          StreamJson **ppRecords, char **pzErr);
/* A JSON integer (number, raw number or numeric string), or iDefault. */
i64 sqlite3StreamJsonI64(const StreamJson *p, i64 iDefault);
/* A little-endian integer from 1..8 bytes of lowercase hex (4 bytes are
** sign-extended); 0 if z is not such a string. */
int sqlite3StreamHexLe(const char *z, i64 *pv);

/* One data file of an Iceberg table. */
typedef struct StreamIceFile StreamIceFile;
struct StreamIceFile {
  const char *zRel;            /* Writing: path below the table location */
  const char *zTopic;          /* Writing: topic (bounds of field 1) */
  char *zKey;                  /* Reading: store key (owned) */
  i64 nBytes, nRecords;        /* Size, rows */
  int iDay;                    /* day(timestamp) partition value */
  int iPartition;              /* Stream partition (every row) */
  i64 iOffLo, iOffHi;          /* Offset bounds */
  i64 iTsLo, iTsHi;            /* Timestamp bounds, microseconds */
  i64 nNullKey, nNullValue, nNullHeaders;  /* NULL counts */
};

typedef struct StreamIceTable StreamIceTable;
/* Open the table under key prefix zPrefix of pStore (not owned): loads the
** newest vN.metadata.json, or none (version 0) if there is no table yet. */
int sqlite3StreamIceOpen(StreamStore *pStore, const char *zPrefix,
                         StreamIceTable **pp, char **pzErr);
void sqlite3StreamIceClose(StreamIceTable*);
int sqlite3StreamIceVersion(StreamIceTable*);
/* Rewrite version-hint.text if it does not name the current version (a
** crash between the metadata commit and the hint).  Best effort. */
void sqlite3StreamIceRepairHint(StreamIceTable*);
/* Walking back from the current snapshot through the parents, the
** summary value zWant of the first snapshot whose summary has zKey equal
** to zValue ("" if it lacks zWant); NULL if there is none.  *pbBroken (if
** not NULL) is set when the walk ended at a parent that is not in the
** metadata (expired): a NULL then does not prove there is no such
** commit. */
const char *sqlite3StreamIceLastCommit(StreamIceTable*, const char *zKey,
                                       const char *zValue, const char *zWant,
                                       int *pbBroken);
/* Previous metadata versions to keep (default 100, Iceberg's
** write.metadata.previous-versions-max): the metadata-log of the next
** commits is that long, and sqlite3StreamIceOrphans() lists the older
** vN.metadata.json files. */
void sqlite3StreamIceSetKeepVersions(StreamIceTable*, int nKeep);
/* Append data files (already uploaded below the table's location) as a new
** snapshot whose summary carries azSummary (key, value, ..., NULL): the
** manifest, the manifest list, then vN+1.metadata.json created with
** xPutCommitNew; on a conflict, reload, xCheck (may refuse), rebase,
** retry; then version-hint.text (best effort).  *piSnap: the snapshot. */
int sqlite3StreamIceAppend(StreamIceTable*, const StreamIceFile *aFile,
                           int nFile, const char *zTopic, i64 iNow,
                           const char *const *azSummary,
                           int (*xCheck)(void*, StreamIceTable*, char**),
                           void *pCheckArg, i64 *piSnap, char **pzErr);
/* The data files of the current snapshot (zKey, bounds, counts set). */
int sqlite3StreamIceDataFiles(StreamIceTable*, StreamIceFile **paFile,
                              int *pnFile, char **pzErr);
void sqlite3StreamIceFreeFiles(StreamIceFile*, int nFile);
/* Orphans: the data files, manifests, manifest lists and temporary
** uploads under the table's prefix that no snapshot of the current
** metadata reaches (left by a commit that crashed or failed before its
** metadata, or by another writer still committing: the caller deletes
** them only after a grace period), into pOrphans; the vN.metadata.json
** files older than the kept versions into pOldMeta.  Cheap when there is
** nothing to do (one listing, counts against the current manifest list). */
int sqlite3StreamIceOrphans(StreamIceTable*, StreamStrList *pOrphans,
                            StreamStrList *pOldMeta, char **pzErr);
/* Snapshot expiry (Iceberg's expire_snapshots): drop from the metadata,
** with a create-only commit, the snapshots older than iOlderThanMs (ms),
** at most nMax of them, the oldest first, keeping always the current
** snapshot, the nMinKeep newest of its ancestry, the snapshots of the
** refs, and every ancestor back to the newest one whose summary has
** zOwnKey = zOwnValue (the exactly-once recovery needs it; without one
** the whole ancestry is kept).  *pnExpired: snapshots dropped; pGone gets
** the files only they reached (manifest lists, manifests, data files), to
** delete.  Nothing if another writer committed first (try again later). */
int sqlite3StreamIceExpireSnapshots(StreamIceTable*, i64 iOlderThanMs,
                                    int nMinKeep, const char *zOwnKey,
                                    const char *zOwnValue, int nMax,
                                    i64 iNow, int *pnExpired,
                                    StreamStrList *pGone, char **pzErr);
/* Expiry: a "delete" snapshot (summary azSummary) without the data files
** whose newest timestamp is below iCutoffUs, replacing every older
** snapshot; *pnExpired files; pGone gets the files nothing reaches any
** more, to delete.  Nothing when none is that old, or if another writer
** committed first (try again later). */
int sqlite3StreamIceExpire(StreamIceTable*, i64 iCutoffUs, i64 iNow,
                           const char *const *azSummary, int *pnExpired,
                           StreamStrList *pGone, char **pzErr);
/* Whole object zKey into *pOut (NUL-terminated), at most 64 MiB. */
int sqlite3StreamIceGet(StreamStore*, const char *zKey, StreamPqBuf *pOut,
                        char **pzErr);

/* Archive the topics (zTopic, or every topic with cold.enabled) whose
** batch is due (bForce: whatever is pending); messages and data files
** committed, orphan files of earlier attempts removed, data files expired
** by cold.retention.ms. */
int sqlite3StreamColdArchive(StreamCtx*, const char *zTopic, int bForce,
                             i64 *pnMessages, i64 *pnFiles, i64 *pnOrphans,
                             i64 *pnExpired, char **pzErr);
/* stream_archive([topic]) (registered from ext/main.c's aFunc[]); the
** stream_history module. */
void sqlite3StreamArchiveFunc(sqlite3_context*, int, sqlite3_value**);
/* The live log as the cold tier and the Pipelines sink read it (the scan
** API, ext/scan.c, in ext/cold.c).  A scan of the offsets [iFrom, iTo) of
** (zTopic, iPart), at most nLimit rows if nLimit > 0 (*pp NULL on error);
** the offset, timestamp or partition (iCol, STREAM_SCAN_COL_*) of its
** current row; its key, value or headers as bytes and a type,
** STREAM_PQ_NULL, _BLOB, or else _TEXT (its text, as stream_messages gives
** it); *ppVal (if not NULL): the
** stored SQL value when there is one, else NULL. */
int sqlite3StreamColdScanRange(StreamCtx*, const char *zTopic, int iPart,
                               i64 iFrom, i64 iTo, int nLimit,
                               StreamScan **pp, char **pzErr);
i64 sqlite3StreamColdScanInt(StreamScan*, int iCol);
int sqlite3StreamColdScanBytes(StreamScan*, int iCol, const void **pp,
                               int *pn, int *peType, sqlite3_value **ppVal);
int sqlite3StreamRegisterCold(sqlite3 *db, StreamCtx *p);

/* The Pipelines sink (ext/pipeline.c).  Check a new value of setting
** pipeline.url or pipeline.token.env; ship from stream_maintain() (delivery
** failures wait for the next run); stream_pipeline_ship([topic]). */
int sqlite3StreamPipelineSettingCheck(const char *zName, const char *zValue,
                                      char **pzErr);
int sqlite3StreamPipelineMaintain(StreamCtx*, const char *zTopic);
void sqlite3StreamPipelineShipFunc(sqlite3_context*, int, sqlite3_value**);

#ifdef STREAM_TEST_HOOKS
void sqlite3StreamColdCrashPoint(int iStep);
# define STREAM_COLD_CRASH(n) sqlite3StreamColdCrashPoint(n)
#else
# define STREAM_COLD_CRASH(n) ((void)0)
#endif

#endif /* STREAM_INT_H */
