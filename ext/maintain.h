/*
** maintain.h - internal interfaces of retention, log compaction and the
** "stream" shim VFS that owns PRAGMA stream_compact / stream_compaction.
**
** One banner section per source file, as in streamInt.h (into which this
** header is meant to be merged).  Storage: _stream_cleaner (one row of
** state per partition) and _stream_cleaner_keys (the offset map of the
** clean section of compacted partitions), both in sql/schema.sql and
** described in docs/retention.md.
*/
#ifndef STREAM_MAINTAIN_H
#define STREAM_MAINTAIN_H

#include "streamInt.h"

/* Amortised maintenance inside produce: a partition is looked at when a
** message is appended at an offset o with (o+1) % STREAM_MAINTAIN_EVERY
** == 0 (derived from offsets: no per-produce counter), and then at most
** STREAM_MAINTAIN_BATCH messages are deleted by retention and at most as
** many are fed through the incremental compactor. */
#define STREAM_MAINTAIN_EVERY 256
#define STREAM_MAINTAIN_BATCH 1024

/* Bytes of one stored message, as reported by stream_partitions.bytes. */
#define STREAM_MSG_BYTES_SQL \
  "(coalesce(length(CAST(key AS BLOB)),0)" \
  "+coalesce(length(CAST(value AS BLOB)),0)" \
  "+coalesce(length(CAST(headers AS BLOB)),0))"

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

/* Register stream_maintain(), stream_compact(), stream_compaction(),
** stream_vfs_default() and the shim VFS (once per process). */
int sqlite3StreamRegisterMaintain(sqlite3 *db, StreamCtx *p);

/* Called by sqlite3StreamAppend() after each message is stored at offset
** iOffset of partition iPart.  Does bounded work on one message in
** STREAM_MAINTAIN_EVERY, none otherwise.  Its own failures are rolled back
** and ignored, except when it cannot isolate them in a savepoint (the
** produce runs inside a statement that writes): then the error is
** returned so that the statement fails as a whole. */
int sqlite3StreamMaintainHook(StreamCtx*, const char *zTopic, i64 iPart,
                              i64 iOffset, char **pzErr);

/* The full configuration of a topic and its number of partitions;
** SQLITE_NOTFOUND with "stream: no such topic: X" if there is none. */
int sqlite3StreamTopicConfig(StreamCtx*, const char *zTopic,
                             StreamTopicConfig *pCfg, int *pnPart,
                             char **pzErr);

/* Read the cleaner state of a partition (defaults if it has none yet;
** creates the storage tables of an older database on first use). */
int sqlite3StreamCleanerGet(StreamCtx*, const char *zTopic, int iPart,
                            StreamCleaner *pS, char **pzErr);
/* Store it. */
int sqlite3StreamCleanerPut(StreamCtx*, const char *zTopic, int iPart,
                            const StreamCleaner *pS, char **pzErr);

/* Prepare zSql (no caching: maintenance runs rarely). */
int sqlite3StreamMntPrepare(StreamCtx*, const char *zSql,
                            sqlite3_stmt **ppStmt, char **pzErr);
/* The same, cached per connection (zSql must have static storage): reset
** the statement after use, never finalize it. */
int sqlite3StreamMntStmt(StreamCtx*, const char *zSql,
                         sqlite3_stmt **ppStmt, char **pzErr);

/* Does the partition have warm segments? (ext/retention.c) */
int sqlite3StreamHasWarm(StreamCtx*, const char *zTopic, int iPart,
                         int *pbWarm, char **pzErr);

/* Raise _stream_partitions.next_offset to iHwm: done before any delete so
** that the high watermark never moves back. */
int sqlite3StreamRaiseNext(StreamCtx*, const char *zTopic, int iPart,
                           i64 iHwm, char **pzErr);

/* Open SAVEPOINT zName.  *pbOpen is 0 if it could not be opened because a
** statement that writes is running (then the caller's writes belong to
** that statement). */
int sqlite3StreamSavepoint(StreamCtx*, const char *zName, int *pbOpen,
                           char **pzErr);
/* Release the savepoint (rc==SQLITE_OK) or roll it back and release it. */
int sqlite3StreamSavepointEnd(StreamCtx*, const char *zName, int bOpen,
                              int rc);

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
** Interface to code in ext/compact.c
*/

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

#endif /* STREAM_MAINTAIN_H */
