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

/**************************************************************************
** Per-connection state, shared by every function and virtual table that
** sqlite3_stream_init() registers on one connection.
*/

/* Cached statements (prepared once with SQLITE_PREPARE_PERSISTENT, reset
** after use).  The SQL of each lives in ext/schema.c, aStmtSql[]. */
enum {
  STREAM_STMT_TOPIC_GET = 0,    /* hot-path columns of one topic */
  STREAM_STMT_HWM,              /* high watermark of one partition */
  STREAM_STMT_MSG_INSERT,       /* append one message */
  STREAM_STMT_OFFSET_UPSERT,    /* commit an offset */
  STREAM_STMT_META_GET,         /* read one _stream_meta value */
  STREAM_STMT_TXN_ENLIST,       /* INSERT INTO stream_txn: see ext/txn.c */
  STREAM_STMT_WRITE_LOCK,       /* no-op write: take the write lock */
  STREAM_STMT_MEMBER_EXPIRE,    /* delete dead members of a group */
  STREAM_STMT_MEMBER_GET,       /* one member's settings */
  STREAM_STMT_MEMBER_BEAT,      /* record a heartbeat (and a poll) */
  STREAM_STMT_GROUP_SNAPSHOT,   /* topic_partitions of a group */
  STREAM_STMT_OWNS,             /* does a member own a partition */
  STREAM_STMT_ASSIGNED,         /* a member's partitions and positions */
  STREAM_STMT_POSITION_SET,     /* set the position of a partition */
  STREAM_STMT_COMMITTED_GET,    /* committed offset of a partition */
  STREAM_STMT_LOG_START,        /* log start offset of a partition */
  STREAM_STMT_FETCH,            /* read messages from a position */
  STREAM_STMT_FETCH_HOT,        /* the same, hot tier only (faster) */
  STREAM_STMT_HOT_MIN,          /* first hot offset of a partition */
  STREAM_STMT_GENERATION,       /* generation of a group */
  STREAM_STMT_PRODUCER_LAST,    /* an idempotent producer's last seq */
  STREAM_STMT_PRODUCER_GET,     /* where one seq was written */
  STREAM_STMT_PRODUCER_PUT,     /* record a seq */
  STREAM_STMT_PRODUCER_TRIM,    /* forget seqs older than the window */
  STREAM_STMT_SLOWEST_GROUP,    /* backpressure: slowest subscribed group */
  STREAM_STMT_COUNT
};

typedef struct StreamCtx StreamCtx;
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

struct StreamCtx {
  sqlite3 *db;                          /* The connection */
  sqlite3_stmt *aStmt[STREAM_STMT_COUNT]; /* Cached statements, or NULL */
  StreamStaticStmt *aStatic;            /* sqlite3StreamStmtStatic() cache */
  int nStatic;                          /* Entries in aStatic */
  StreamSticky *pSticky;                /* Sticky partitions for NULL keys */
  void (*xCdc)(void*, const char*, int);/* C CDC callback, or NULL */
  void *pCdcArg;                        /* First argument of xCdc */
  void (*xCdcDestroy)(void*);           /* Destructor for pCdcArg */
  i64 iClockOffset;                     /* Test hook: added to now (ms) */
  int nAnchor;                          /* stream_topics connections */
  int bLastDup;                         /* Last append was a retry (no-op) */
  int bTxn;                             /* Enlisted in the transaction */
  StreamCacheTopic *pCache;             /* Transaction-scoped topic cache */
  int bCdcCache;                        /* zCdcCache is valid */
  char *zCdcCache;                      /* Cached cdc.topic (or NULL) */
  sqlite3_vfs *pVfs;                    /* Default VFS, for the clock */
  StreamIncarnation *pIncarn;           /* Members joined on this conn */
  sqlite3 *dbAux;                       /* Read connection for long polls */
  int bPollRerun;                       /* Next long poll is a rerun (consume.c) */
  i64 nAutoCommit;                      /* Autocommit calls committed (txn.c) */
  void (*xRebalance)(void*, const char*, int);  /* C rebalance callback */
  void *pRebalanceArg;                  /* First argument of xRebalance */
  void (*xRebalanceDestroy)(void*);     /* Destructor for pRebalanceArg */
};

/**************************************************************************
** Interface to code in ext/schema.c
*/

/* Create the storage tables if they do not exist (in the caller's
** transaction) and check the format version. */
int sqlite3StreamEnsureSchema(StreamCtx *p, char **pzErr);

/* True if the last error on db was "no such table" for a storage table,
** i.e. the database has no sqlite-stream storage yet. */
int sqlite3StreamNoStorage(sqlite3 *db);

/* The cached statement iStmt, prepared on first use, or NULL with an error
** left in *pzErr (which may be NULL).  Reset it after use. */
sqlite3_stmt *sqlite3StreamStmt(StreamCtx *p, int iStmt, char **pzErr);

/* Finalize every cached statement.  Called when the anchor (the eponymous
** stream_topics table, which sqlite3_close() disconnects before it checks
** for unfinalized statements) is disconnected. */
/* A cached statement for SQL text with static storage (its address is the
** key), prepared on first use; reset it after use, never finalize it. */
sqlite3_stmt *sqlite3StreamStmtStatic(StreamCtx*, const char *zSql,
                                      char **pzErr);
void sqlite3StreamStmtFinalizeAll(StreamCtx *p);

/* Current time in ms since the Unix epoch (plus the test clock offset). */
i64 sqlite3StreamNow(StreamCtx *p);

/* Error helpers: a new sqlite3_mprintf() message "stream: ..." in *pzErr
** (freeing the old one), returning rc. */
int sqlite3StreamErr(char **pzErr, int rc, const char *zFmt, ...);
/* Copy db's current error message into *pzErr and return rc. */
int sqlite3StreamDbErr(sqlite3 *db, char **pzErr, int rc);

/* Value of one _stream_meta key as a new sqlite3_malloc'd string, or NULL
** (no such key, or an error: *pRc). */
char *sqlite3StreamMetaGet(StreamCtx *p, const char *zKey, int *pRc);

/**************************************************************************
** Interface to code in ext/txn.c
*/
void sqlite3StreamCacheClear(StreamCtx*);
StreamCacheTopic *sqlite3StreamCacheFind(StreamCtx*, const char *zTopic);
const StreamTopic *sqlite3StreamCacheTopic(StreamCacheTopic*);
void sqlite3StreamCacheAdd(StreamCtx*, const char *zTopic, const StreamTopic*);
/* Cached next offset of a partition, or -1 if unknown. */
i64 sqlite3StreamCacheNext(StreamCtx*, const char *zTopic, int iPart);
void sqlite3StreamCacheSetNext(StreamCtx*, const char *zTopic, int iPart,
                               i64 iNext);
/* Enlist in the current explicit transaction (no-op in autocommit). */
void sqlite3StreamTxnEnlist(StreamCtx*);
/* Run the writes of one autocommit call as one transaction that takes the
** write lock first (no-op inside a transaction); see ext/txn.c. */
int sqlite3StreamAutoBegin(StreamCtx*, const char *zName, int *pbOpen,
                           int *pbStale, char **pzErr);
int sqlite3StreamAutoEnd(StreamCtx*, const char *zName, int bOpen, int rc,
                         char **pzErr);
void sqlite3StreamTxnBegin(StreamCtx*);
void sqlite3StreamTxnEnd(StreamCtx*);
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

/* The full configuration (every key, defaults included) as a JSON object,
** sqlite3_malloc'd, or NULL on OOM. */
char *sqlite3StreamConfigRender(const StreamTopicConfig *pCfg);

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

/* Look a topic up.  Returns SQLITE_OK and fills *pT, or SQLITE_NOTFOUND
** with "stream: no such topic: X" in *pzErr, or another error. */
int sqlite3StreamTopicGet(StreamCtx*, const char *zTopic, StreamTopic *pT,
                          char **pzErr);

/* Check that iPartition is a partition of the topic. */
int sqlite3StreamPartitionCheck(const char *zTopic, const StreamTopic *pT,
                                i64 iPartition, char **pzErr);

int sqlite3StreamTopicCreate(StreamCtx*, const char *zName, i64 nPartition,
                             const char *zConfig, char **pzErr);
/* Apply the config changes zConfig; *pCfg receives the resolved config.*/
int sqlite3StreamTopicAlter(StreamCtx*, const char *zName,
                            const char *zConfig, StreamTopicConfig *pCfg,
                            char **pzErr);

int sqlite3StreamTopicAddPartitions(StreamCtx*, const char *zName,
                                    i64 nTotal, char **pzErr);
int sqlite3StreamTopicDelete(StreamCtx*, const char *zName, char **pzErr);

/* High watermark (next offset to be assigned) of one partition. */
int sqlite3StreamHighWatermark(StreamCtx*, const char *zTopic, int iPart,
                               i64 *piHwm, char **pzErr);

/**************************************************************************
** Interface to code in ext/produce.c
*/

/* "Not given" for StreamMsg.iPartition and .iTimestamp. */
#define STREAM_UNSET ((i64)(-0x7fffffffffffffffLL - 1))

/* Kinds of a key or value. */
#define STREAM_TYPE_NULL 0
#define STREAM_TYPE_TEXT 1
#define STREAM_TYPE_BLOB 2

/* One message to produce.  Bytes are borrowed from the caller. */
typedef struct StreamMsg StreamMsg;
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
};

/* Fill the key (bValue==0) or value (bValue==1) of pMsg from an SQL value;
** an error names zWhat if the type is not TEXT, BLOB or NULL. */
int sqlite3StreamMsgField(StreamMsg *pMsg, int bValue, sqlite3_value *pVal,
                          const char *zWhat, char **pzErr);

/* _stream_messages.attrs bits. */
#define STREAM_ATTR_CODEC_MASK 0x03  /* STREAM_CODEC_* of the stored value */
#define STREAM_ATTR_BLOB       0x04  /* compressed value was a BLOB */

/* Maximum size of a key, value or headers object before any topic limit
** applies (SQLite's own limits are larger). */
#define STREAM_MAX_FIELD_BYTES 1000000000

/* Validate pMsg for topic zTopic (described by *pT): types, JSON, size,
** partition.  Writes nothing.  Resolves pMsg->iPartition when -1. */
int sqlite3StreamMsgCheck(StreamCtx*, const char *zTopic,
                          const StreamTopic *pT, StreamMsg *pMsg,
                          char **pzErr);

/* Append one checked message; *piOffset receives its offset.  Emits the
** CDC event when configured. */
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
** index, or -1 if no member subscribes to that topic. */
void sqlite3StreamAssign(int eStrategy, const StreamAssignInput *pIn,
                         int *aOwner);

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
  i64 autoCommittedAt;         /* Last auto-commit (ms), or -1 */
  i64 pollCursor;              /* Rotation of the partition order */
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
  i64 aVal[7];                 /* Integer value, or offset in zArena */
};
typedef struct StreamPollResult StreamPollResult;
struct StreamPollResult {
  int nRow;                    /* Rows returned */
  int nAlloc;                  /* Allocated slots */
  StreamPollRow *aRow;         /* The rows */
  char *zArena;                /* Bytes of the texts and blobs */
  i64 nArena;                  /* Bytes used in zArena */
  i64 nArenaAlloc;             /* Bytes allocated */
};
void sqlite3StreamPollResultFree(StreamPollResult*);
/* Set ctx to column iCol of row iRow of pRes. */
void sqlite3StreamPollColumn(sqlite3_context *ctx, const StreamPollResult *pRes,
                             int iRow, int iCol);
/* One poll into pRes, whose buffers (zero-initialised the first time) are
** reused; on error pRes holds no rows.  Rows are preallocated for polls of
** up to STREAM_POLL_PREALLOC records. */
#define STREAM_POLL_PREALLOC 4096
/* bMayRerun: the poll may fail with SQLITE_SCHEMA to have sqlite3_step()
** run its statement again with a fresh snapshot (vtab/poll.c). */
int sqlite3StreamPoll(StreamCtx*, const char *zGroup, const char *zMember,
                      i64 nMax, i64 nWaitMs, int bMayRerun,
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
/* Append the event (JSON object text) keyed by zKey to topic zCdc (if not
** NULL) and hand it to the C callback (if any). */
int sqlite3StreamCdcEmit(StreamCtx*, const char *zCdc, const char *zKey,
                         const char *zEvent, char **pzErr);
/* The CDC topic's name if configured (sqlite3_malloc'd), else NULL. */
char *sqlite3StreamCdcTopic(StreamCtx*, int *pRc);
/* Format an ISO-8601 UTC time with milliseconds into z (>= 25 bytes). */
void sqlite3StreamIsoTime(i64 iMs, char *z);

/**************************************************************************
** Interface to code in ext/func.c (scalar SQL functions)
*/
int sqlite3StreamRegisterFunctions(sqlite3 *db, StreamCtx *p);
void sqlite3StreamVersionFunc(sqlite3_context*, int, sqlite3_value**);
/* Report an engine error (rc, message) on ctx; frees zErr. */
void sqlite3StreamResultErr(sqlite3_context *ctx, int rc, char *zErr);
/* Argument iArg as text / as an integer, or NULL / 0 after reporting an
** error that names zWhat. */
const char *sqlite3StreamArgText(sqlite3_context *ctx, sqlite3_value **argv,
                                int iArg, const char *zWhat);
int sqlite3StreamArgInt(sqlite3_context *ctx, sqlite3_value **argv,
                       int iArg, const char *zWhat, i64 *pi);

/**************************************************************************
** Interface to code in ext/func_group.c (consumer group SQL functions)
*/
int sqlite3StreamRegisterGroupFunctions(sqlite3 *db, StreamCtx *p);

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
int sqlite3StreamRegisterPoll(sqlite3 *db, StreamCtx *p);
int sqlite3StreamRegisterGroups(sqlite3 *db, StreamCtx *p);
int sqlite3StreamRegisterLag(sqlite3 *db, StreamCtx *p);

/* Set the error message of a virtual table (frees the old one). */
void sqlite3StreamVtabErr(sqlite3_vtab *pVtab, const char *zFmt, ...);

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
int sqlite3StreamJsonCheck(const char *z, size_t n);

/* Append the JSON string literal for the n bytes at z (UTF-8 text) to the
** sqlite3_str, with quotes and escapes. */
void sqlite3StreamJsonQuote(sqlite3_str *p, const char *z, int n);

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

#endif /* STREAM_INT_H */
