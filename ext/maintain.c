/*
** maintain.c - scheduling of retention and log compaction, and their SQL
** surface:
**
**   stream_maintain([topic])           -> JSON summary of what was done
**                                         (tiering, retention, compaction)
**   stream_compact(topic [, partition]) -> number of messages removed
**   stream_compaction([topic])         -> JSON array: per compacted
**                                         partition, dirty ratio, clean
**                                         point, ...
**   stream_vfs_default(on)             -> name of the default VFS after
**
** and, through the "stream" shim VFS (ext/vfs.c), PRAGMA stream_compact
** and PRAGMA stream_compaction, which land in sqlite3StreamPragma().
**
** Three ways in, one set of engines (ext/retention.c, ext/compact.c):
**
**   - amortised, inside produce: the after-append hook
**     (sqlite3StreamMaintainAfterAppend()) looks at a partition once every STREAM_MAINTAIN_EVERY messages (when the new
**     offset o has (o+1) % EVERY == 0, so no counter is kept) and then
**     deletes at most STREAM_MAINTAIN_BATCH expired messages and cleans at
**     most as many dirty ones.  Bounded work in 1 produce call in 256.
**     The transaction's pending record batches (ext/produce.c) are held
**     meanwhile, not written, so that they are not cut short
**     (streamMntPending() says why the look decides as it would have
**     with them written).
**   - explicit: stream_maintain() runs every due task completely:
**     retention (exact byte count), and a full compaction of each
**     partition whose dirty ratio or max.compaction.lag.ms says so.
**   - stream_compact() / PRAGMA stream_compact('t') compact now, whatever
**     the dirty ratio (the head and min.compaction.lag.ms still apply).
**
** Atomicity: each partition's work runs inside a SAVEPOINT, so an error
** (or a ROLLBACK of the caller's transaction) leaves the partition as it
** was.  The explicit functions refuse to run inside a statement that
** writes (SQLite cannot open a savepoint there); the produce hook then
** runs without one and returns its errors, so that the enclosing
** statement fails as a whole.
**
** Security: every function here writes or reveals storage details, so all
** are SQLITE_DIRECTONLY (see ext/func.c).
*/
#include "streamInt.h"
#include <string.h>

/* Name of the savepoint wrapping each unit of maintenance. */
#define STREAM_MNT_SAVEPOINT "stream_maintain"

int sqlite3StreamTopicConfig(StreamCtx *p, const char *zTopic,
                             StreamTopicConfig *pCfg, int *pnPart,
                             char **pzErr){
  int nPart = 0;
  int rc;
  /* Within a known transaction the parsed configuration is cached
  ** (ext/txn.c): the amortised maintenance of the append path reads it. */
  if( sqlite3StreamCacheConfig(p, zTopic, pCfg, pnPart) ) return SQLITE_OK;
  rc = sqlite3StreamCatTopicRow(p, zTopic, pCfg, &nPart, 0, pzErr);
  if( pnPart ) *pnPart = nPart;
  if( rc==SQLITE_OK ) sqlite3StreamCacheSetConfig(p, zTopic, pCfg, nPart);
  return rc;
}

/* Does the configuration ask for any maintenance at all? */
static int streamMntWanted(const StreamTopicConfig *pCfg){
  if( pCfg->eCleanup & STREAM_CLEANUP_COMPACT ) return 1;
  return (pCfg->eCleanup & STREAM_CLEANUP_DELETE)
      && (pCfg->retentionMs>=0 || pCfg->retentionBytes>=0);
}

/* A JSON summary being built: the tasks array and the totals. */
typedef struct StreamMntReport StreamMntReport;
struct StreamMntReport {
  StreamTierStats tier;        /* What tiering did (stream_maintain only) */
  sqlite3_str *pTasks;         /* "[{...},{...}" so far (no closing ']') */
  int nTask;                   /* Entries in pTasks */
  i64 nDeleted;                /* Messages deleted by retention */
  i64 nCompacted;              /* Messages removed by compaction */
};

static void streamMntTask(StreamMntReport *pR, const char *zTopic, int iPart,
                          const char *zTask, i64 nRemoved,
                          const char *zField, i64 iValue){
  if( pR==0 || pR->pTasks==0 ) return;
  sqlite3_str_appendall(pR->pTasks, pR->nTask ? "," : "[");
  sqlite3_str_appendall(pR->pTasks, "{\"topic\":");
  sqlite3StreamJsonQuote(pR->pTasks, zTopic, (int)strlen(zTopic));
  sqlite3_str_appendf(pR->pTasks,
      ",\"partition\":%d,\"task\":\"%s\",\"removed\":%lld,\"%s\":%lld}",
      iPart, zTask, nRemoved, zField, iValue);
  pR->nTask++;
}

/*
** Maintain one partition: retention then compaction, inside a savepoint.
** eMode: 0 amortised (bounded), 2 forced compaction (stream_compact, PRAGMA stream_compact('t')),
** 3 compaction where due, no retention (PRAGMA stream_compact),
** 4 retention only (stream_maintain, before and after tiering).
*/
#define STREAM_MNT_AUTO        0
#define STREAM_MNT_COMPACT     2
#define STREAM_MNT_COMPACT_DUE 3
#define STREAM_MNT_RETAIN      4

static int streamMntPartition(StreamCtx *p, const char *zTopic, int iPart,
                              const StreamTopicConfig *pCfg, int eMode,
                              i64 iNow, StreamMntReport *pR, i64 *pnRemoved,
                              int *pbIsolated, char **pzErr){
  StreamCleaner s, s0;
  i64 nDel = 0, nComp = 0, iLogStart = 0;
  int bOpen = 0, bRan = 0;
  int rc;

  rc = sqlite3StreamSavepoint(p, STREAM_MNT_SAVEPOINT, &bOpen, pzErr);
  if( rc ) return rc;
  if( pbIsolated ) *pbIsolated = bOpen;
  if( !bOpen && eMode!=STREAM_MNT_AUTO ){
    return sqlite3StreamErr(pzErr, SQLITE_MISUSE,
        "maintenance cannot run inside a statement that writes"
        " (call it in a statement of its own)");
  }
  rc = sqlite3StreamCleanerGet(p, zTopic, iPart, &s, pzErr);
  if( rc==SQLITE_OK && (pCfg->eCleanup & STREAM_CLEANUP_COMPACT)
   && eMode!=STREAM_MNT_COMPACT ){
    /* A hot tombstone may go only once no warm record of its key is left:
    ** after the unbounded warm pass of stream_compact(), or when the
    ** partition has no warm segments (ext/tier.c). */
    int bWarm = 0;
    rc = sqlite3StreamHasWarm(p, zTopic, iPart, &bWarm, pzErr);
    s.bKeepTombs = bWarm;
  }
  s0 = s;
  if( rc==SQLITE_OK && (eMode==STREAM_MNT_AUTO || eMode==STREAM_MNT_RETAIN) ){
    rc = sqlite3StreamRetention(p, zTopic, iPart, pCfg, iNow,
                                eMode==STREAM_MNT_AUTO ? STREAM_MAINTAIN_BATCH
                                                       : -1,
                                &s, &nDel, &iLogStart, pzErr);
  }
  if( rc==SQLITE_OK && (pCfg->eCleanup & STREAM_CLEANUP_COMPACT)
   && eMode!=STREAM_MNT_RETAIN ){
    if( eMode==STREAM_MNT_AUTO ){
      rc = sqlite3StreamCompactStep(p, zTopic, iPart, pCfg, iNow,
                                    STREAM_MAINTAIN_BATCH, &s, &nComp, pzErr);
    }else{
      int bDue = 1;
      if( eMode!=STREAM_MNT_COMPACT ){
        i64 iHwm = 0, iUpper = 0;
        double r;
        rc = sqlite3StreamHighWatermark(p, zTopic, iPart, &iHwm, pzErr);
        if( rc==SQLITE_OK ){
          rc = sqlite3StreamCompactUpper(p, zTopic, iPart, pCfg, iNow, iHwm,
                                         &iUpper, pzErr);
        }
        if( rc==SQLITE_OK ){
          rc = sqlite3StreamCompactDue(p, zTopic, iPart, pCfg, iNow, &s,
                                       iUpper, &r, &bDue, pzErr);
        }
      }
      if( rc==SQLITE_OK && bDue ){
        rc = sqlite3StreamCompactFull(p, zTopic, iPart, pCfg, iNow, &s,
                                      &nComp, pzErr);
        bRan = 1;
      }
    }
  }
  if( rc==SQLITE_OK && memcmp(&s, &s0, sizeof(s))!=0 ){
    rc = sqlite3StreamCleanerPut(p, zTopic, iPart, &s, pzErr);
  }
  rc = sqlite3StreamSavepointEnd(p, STREAM_MNT_SAVEPOINT, bOpen, rc, pzErr);
  if( rc==SQLITE_OK ){
    if( pR ){
      pR->nDeleted += nDel;
      pR->nCompacted += nComp;
      if( nDel>0 ){
        streamMntTask(pR, zTopic, iPart, "retention", nDel,
                      "log_start_offset", iLogStart);
      }
      if( bRan ){
        streamMntTask(pR, zTopic, iPart, "compaction", nComp,
                      "clean_offset", s.iCleanOffset);
      }
    }
    if( pnRemoved ) *pnRemoved += nDel + nComp;
  }
  return rc;
}

/*
** The amortised look and the transaction's pending record batches
** (ext/produce.c).  Opening the look's savepoint would write them all out,
** and every partition's batch would be cut short at each look.  So they
** are held instead (*pbHold, sqlite3StreamPendingHold()): the look sees
** the log as written, which ends where the batches start (its high
** watermark too: sqlite3StreamCacheNext() gives a held partition's
** batch's first offset, so that retention removing every written message
** moves the log start there, not past the batch).  It decides as
** it would have with them written, except where one of them could change
** its decision; then that one, the looked-at partition's own, is written
** first:
**   - a byte limit (retention.bytes) counts every message;
**   - a message of it that retention.ms has expired may go (the prefix
**     rule: otherwise the written log's end, or the first young message
**     before it, stops retention as the batch's first message would);
**   - a compacted topic (never batched: a safeguard).
** In autocommit mode (a produce call opens its own savepoint first) the
** look's savepoint may be the transaction itself, its RELEASE the commit:
** nothing is held (nor batched: a statement's own transaction makes no
** batches) - unless the connection is enlisted all the same (p->bTxn):
** inside an autocommit INSERT INTO stream_messages, which batches and
** where no savepoint opens (below).  A batch that cannot be found (no transaction cache, so no
** partition id) is not held either: the savepoint writes every batch, as
** before.  Inside a writing statement (INSERT INTO stream_messages) no
** savepoint opens and the look runs in the statement: held all the same.
*/
static int streamMntPending(StreamCtx *p, const char *zTopic, int iPart,
                            const StreamTopicConfig *pCfg, i64 iNow,
                            int *pbHold, char **pzErr){
  i64 iPid = 0, iTsMin = 0;
  *pbHold = 0;
  if( sqlite3_get_autocommit(p->db) && !p->bTxn ) return SQLITE_OK;
  if( sqlite3StreamCacheNext(p, zTopic, iPart, &iPid)<0 ) return SQLITE_OK;
  *pbHold = 1;
  if( !sqlite3StreamPendingInfo(p, iPid, 0, &iTsMin) ) return SQLITE_OK;
  if( (pCfg->eCleanup & STREAM_CLEANUP_COMPACT)
   || ((pCfg->eCleanup & STREAM_CLEANUP_DELETE)
       && (pCfg->retentionBytes>=0
        || (pCfg->retentionMs>=0 && iTsMin<iNow-pCfg->retentionMs))) ){
    return sqlite3StreamPendingFlushPart(p, iPid, pzErr);
  }
  return SQLITE_OK;
}

static int streamMntHook(StreamCtx *p, const char *zTopic, i64 iPart,
                         i64 iOffset, char **pzErr){
  StreamTopicConfig cfg;
  char *zErr = 0;
  int bIsolated = 0;
  int rc;
  if( iOffset>=STREAM_MAX_OFFSET || ((iOffset+1) % STREAM_MAINTAIN_EVERY)!=0 ){
    return SQLITE_OK;
  }
  rc = sqlite3StreamTopicConfig(p, zTopic, &cfg, 0, &zErr);
  if( rc==SQLITE_OK && streamMntWanted(&cfg) ){
    i64 iNow = sqlite3StreamNow(p);
    int bHold = 0;
    rc = streamMntPending(p, zTopic, (int)iPart, &cfg, iNow, &bHold, &zErr);
    if( rc==SQLITE_OK ){
      if( bHold ) sqlite3StreamPendingHold(p, 1);
      rc = streamMntPartition(p, zTopic, (int)iPart, &cfg, STREAM_MNT_AUTO,
                              iNow, 0, 0, &bIsolated, &zErr);
      if( bHold ) sqlite3StreamPendingHold(p, 0);
    }
  }
  if( rc!=SQLITE_OK && bIsolated ){
    /* Isolated and rolled back: the next look (or stream_maintain())
    ** will retry.  The produce itself succeeded. */
    sqlite3_log(rc, "stream: maintenance of %s/%lld failed: %s", zTopic,
                iPart, zErr ? zErr : sqlite3_errstr(rc));
    rc = SQLITE_OK;
  }
  if( rc!=SQLITE_OK ){
    sqlite3_free(*pzErr);
    *pzErr = zErr;
  }else{
    sqlite3_free(zErr);
  }
  return rc;
}

/* The after-append hook: amortised retention and compaction. */
int sqlite3StreamMaintainAfterAppend(StreamCtx *p, const StreamAppended *pA,
                                     char **pzErr){
  return streamMntHook(p, pA->zTopic, pA->pMsg->iPartition, pA->iOffset,
                       pzErr);
}


/* Compaction of the warm segments of a partition: everything for
** stream_compact(), at most STREAM_MNT_WARM_REWRITES segment rewrites
** and only when the partition is due for stream_maintain(). */
#define STREAM_MNT_WARM_REWRITES 8
static int streamMntWarmCompact(StreamCtx *p, const char *zTopic, int iPart,
                                const StreamTopicConfig *pCfg, int eMode,
                                StreamMntReport *pR, i64 *pnRemoved,
                                char **pzErr){
  i64 nWarm = 0;
  int rc = SQLITE_OK;
  if( eMode!=STREAM_MNT_COMPACT ){
    StreamCleaner s;
    i64 iNow = sqlite3StreamNow(p), iHwm = 0, iUpper = 0;
    double r;
    int bDue = 0;
    rc = sqlite3StreamCleanerGet(p, zTopic, iPart, &s, pzErr);
    if( rc==SQLITE_OK ){
      rc = sqlite3StreamHighWatermark(p, zTopic, iPart, &iHwm, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = sqlite3StreamCompactUpper(p, zTopic, iPart, pCfg, iNow, iHwm,
                                     &iUpper, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = sqlite3StreamCompactDue(p, zTopic, iPart, pCfg, iNow, &s, iUpper,
                                   &r, &bDue, pzErr);
    }
    if( rc || !bDue ) return rc;
  }
  rc = sqlite3StreamTierCompact(p, zTopic, iPart,
      eMode==STREAM_MNT_COMPACT ? -1 : STREAM_MNT_WARM_REWRITES,
      &nWarm, pzErr);
  if( rc==SQLITE_OK && nWarm>0 ){
    if( pR ){
      pR->nCompacted += nWarm;
      streamMntTask(pR, zTopic, iPart, "warm compaction", nWarm,
                    "max_rewrites", eMode==STREAM_MNT_COMPACT ? -1
                                    : STREAM_MNT_WARM_REWRITES);
    }
    if( pnRemoved ) *pnRemoved += nWarm;
  }
  return rc;
}

/* Names of the topics to visit: one (checked) or all, in name order,
** collected first (the work on them changes the tables). */
static int streamMntTopics(StreamCtx *p, const char *zTopic,
                           StreamStrList *pList, char **pzErr){
  if( zTopic ){
    StreamTopic t;
    int rc = sqlite3StreamTopicGet(p, zTopic, &t, pzErr);
    if( rc ) return rc;
  }
  return sqlite3StreamCatTopicList(p, zTopic, 0, pList, pzErr);
}

/* Maintenance of topic zName (streamMntRun()): zTopic is the topic the
** caller named, or NULL. */
static int streamMntTopic(StreamCtx *p, const char *zName,
                          const char *zTopic, i64 iPart, int eMode,
                          StreamMntReport *pR, i64 *pnRemoved, char **pzErr){
  StreamTopicConfig cfg;
  int nPart = 0, j;
  int rc = sqlite3StreamTopicConfig(p, zName, &cfg, &nPart, pzErr);
  if( rc ) return rc;
  if( (eMode==STREAM_MNT_COMPACT || eMode==STREAM_MNT_COMPACT_DUE)
   && (cfg.eCleanup & STREAM_CLEANUP_COMPACT)==0 ){
    if( zTopic && eMode==STREAM_MNT_COMPACT ){
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
          "cannot compact topic %s: its cleanup.policy is \"%s\""
          " (compaction needs \"compact\" or \"compact,delete\")",
          zName, sqlite3StreamCleanupName(cfg.eCleanup));
    }
    return rc;
  }
  if( iPart>=0 && iPart>=nPart ){
    return sqlite3StreamErr(pzErr, SQLITE_RANGE,
        "partition %lld out of range for topic %s (0..%d)",
        iPart, zName, nPart-1);
  }
  if( !streamMntWanted(&cfg) ) return SQLITE_OK;
  for(j=0; rc==SQLITE_OK && j<nPart; j++){
    if( iPart>=0 && j!=iPart ) continue;
    if( (eMode==STREAM_MNT_COMPACT || eMode==STREAM_MNT_COMPACT_DUE)
     && (cfg.eCleanup & STREAM_CLEANUP_COMPACT) ){
      /* Warm segments first (ext/tier.c), while the hot tombstones that
      ** supersede warm records are still there. */
      rc = streamMntWarmCompact(p, zName, j, &cfg, eMode, pR, pnRemoved,
                                pzErr);
      if( rc ) break;
    }
    rc = streamMntPartition(p, zName, j, &cfg, eMode, sqlite3StreamNow(p),
                            pR, pnRemoved, 0, pzErr);
  }
  return rc;
}

/*
** Run maintenance over one topic or all of them.  eMode as for
** streamMntPartition; with STREAM_MNT_COMPACT only compacted topics are
** visited (bCheckPolicy: a topic named explicitly must be one).
** iPart>=0 restricts it to one partition of zTopic.  With pErrs, an error
** of one topic is recorded there and the next topic visited
** (sqlite3StreamTopicErr()).
*/
static int streamMntRun(StreamCtx *p, const char *zTopic, i64 iPart,
                        int eMode, StreamMntReport *pR, i64 *pnRemoved,
                        StreamTopicErrs *pErrs, char **pzErr){
  StreamStrList names;
  int i, rc;

  memset(&names, 0, sizeof(names));
  rc = streamMntTopics(p, zTopic, &names, pzErr);
  for(i=0; rc==SQLITE_OK && i<names.n; i++){
    rc = streamMntTopic(p, names.az[i], zTopic, iPart, eMode, pR, pnRemoved,
                        pzErr);
    if( rc ){
      rc = sqlite3StreamTopicErr(p->db, pErrs, names.az[i],
          eMode==STREAM_MNT_RETAIN ? "retention" : "compaction", rc, pzErr);
    }
  }
  sqlite3StreamStrListFree(&names);
  return rc;
}

/* Finish a report as JSON text (sqlite3_malloc'd) or NULL on OOM. */
static char *streamMntReportFinish(StreamMntReport *pR, int bRetention){
  sqlite3_str *pOut = sqlite3_str_new(0);
  char *zTasks = sqlite3_str_finish(pR->pTasks);
  pR->pTasks = 0;
  if( bRetention ){
    sqlite3_str_appendf(pOut, "{\"deleted\":%lld,\"tiered\":{"
        "\"segments\":%lld,\"messages\":%lld,\"expired_segments\":%lld,"
        "\"orphans\":%lld},", pR->nDeleted, pR->tier.nSegment,
        pR->tier.nMessage, pR->tier.nExpired, pR->tier.nOrphan);
  }else{
    sqlite3_str_appendall(pOut, "{");
  }
  sqlite3_str_appendf(pOut, "\"compacted\":%lld,\"tasks\":%s%s}",
      pR->nCompacted, zTasks ? zTasks : "[", "]");
  sqlite3_free(zTasks);
  return sqlite3_str_finish(pOut);
}

/*
** The compaction status of the compacted partitions of one topic (or of
** all), as a JSON array.
*/
static int streamMntStatus(StreamCtx *p, const char *zTopic, char **pzOut,
                           char **pzErr){
  StreamStrList names;
  sqlite3_str *pOut = sqlite3_str_new(0);
  i64 iNow = sqlite3StreamNow(p);
  int n = 0, i, rc;

  *pzOut = 0;
  memset(&names, 0, sizeof(names));
  sqlite3_str_appendall(pOut, "[");
  rc = streamMntTopics(p, zTopic, &names, pzErr);
  for(i=0; rc==SQLITE_OK && i<names.n; i++){
    const char *zName = names.az[i];
    StreamTopicConfig cfg;
    int nPart = 0, j;
    rc = sqlite3StreamTopicConfig(p, zName, &cfg, &nPart, pzErr);
    if( rc || (cfg.eCleanup & STREAM_CLEANUP_COMPACT)==0 ) continue;
    for(j=0; rc==SQLITE_OK && j<nPart; j++){
      StreamCleaner s;
      i64 iHwm = 0, iUpper = 0;
      double r = 0.0;
      int bDue = 0;
      rc = sqlite3StreamCleanerGet(p, zName, j, &s, pzErr);
      if( rc==SQLITE_OK ){
        rc = sqlite3StreamHighWatermark(p, zName, j, &iHwm, pzErr);
      }
      if( rc==SQLITE_OK ){
        rc = sqlite3StreamCompactUpper(p, zName, j, &cfg, iNow, iHwm,
                                       &iUpper, pzErr);
      }
      if( rc==SQLITE_OK ){
        rc = sqlite3StreamCompactDue(p, zName, j, &cfg, iNow, &s, iUpper,
                                     &r, &bDue, pzErr);
      }
      if( rc ) break;
      sqlite3_str_appendall(pOut, n++ ? ",{\"topic\":" : "{\"topic\":");
      sqlite3StreamJsonQuote(pOut, zName, (int)strlen(zName));
      sqlite3_str_appendf(pOut,
          ",\"partition\":%d,\"clean_offset\":%lld,\"head_offset\":%lld,"
          "\"high_watermark\":%lld,\"dirty_ratio\":%.4f,"
          "\"min_cleanable_dirty_ratio\":%!.15g,\"due\":%s,"
          "\"in_progress\":%s,\"cleaned_at\":",
          j, s.iCleanOffset, iUpper, iHwm, r, cfg.minCleanableRatio,
          bDue ? "true" : "false", s.iTarget>=0 ? "true" : "false");
      if( s.iCleanedAt>=0 ){
        sqlite3_str_appendf(pOut, "%lld", s.iCleanedAt);
      }else{
        sqlite3_str_appendall(pOut, "null");
      }
      sqlite3_str_appendf(pOut, ",\"removed\":%lld}", s.nRemoved);
    }
  }
  sqlite3StreamStrListFree(&names);
  sqlite3_str_appendall(pOut, "]");
  if( rc==SQLITE_OK ){
    *pzOut = sqlite3_str_finish(pOut);
    if( *pzOut==0 ) rc = SQLITE_NOMEM;
  }else{
    sqlite3_free(sqlite3_str_finish(pOut));
  }
  return rc;
}

int sqlite3StreamPragma(StreamCtx *p, const char *zPragma, const char *zArg,
                        char **pzOut, char **pzErr){
  int rc;
  *pzOut = 0;
  if( sqlite3_stricmp(zPragma, "stream_compaction")==0 ){
    return streamMntStatus(p, zArg, pzOut, pzErr);
  }else{
    StreamMntReport r;
    memset(&r, 0, sizeof(r));
    r.pTasks = sqlite3_str_new(0);
    /* No argument: every compacted partition that is due.  A topic:
    ** compact it now, as stream_compact(topic) does. */
    rc = streamMntRun(p, zArg, -1,
                      zArg ? STREAM_MNT_COMPACT : STREAM_MNT_COMPACT_DUE,
                      &r, 0, 0, pzErr);
    if( rc==SQLITE_OK ){
      /* Only compaction: PRAGMA stream_compact runs no retention. */
      *pzOut = streamMntReportFinish(&r, 0);
      if( *pzOut==0 ) rc = SQLITE_NOMEM;
    }else{
      sqlite3_free(sqlite3_str_finish(r.pTasks));
    }
    return rc;
  }
}

/**************************************************************************
** SQL functions.
*/

/* Optional topic-name argument: 1 and *pz (NULL for "all") if valid. */
static int streamMntArgTopic(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv, const char **pz){
  *pz = 0;
  if( argc<1 || sqlite3_value_type(argv[0])==SQLITE_NULL ) return 1;
  if( sqlite3_value_type(argv[0])!=SQLITE_TEXT ){
    sqlite3_result_error(ctx, STREAM_ERR "topic name must be text", -1);
    return 0;
  }
  *pz = (const char*)sqlite3_value_text(argv[0]);
  if( *pz==0 ){ sqlite3_result_error_nomem(ctx); return 0; }
  return 1;
}

/* The cold tier's archiving of every cold.enabled topic (zTopic NULL,
** one topic at a time, an error of one recorded in pErrs) or of zTopic. */
static int streamMntCold(StreamCtx *p, const char *zTopic,
                         StreamTopicErrs *pErrs, char **pzErr){
  i64 nMsg = 0, nFile = 0, nOrphan = 0, nExp = 0;
  StreamStrList names;
  int i, rc;
  if( zTopic ){
    return sqlite3StreamColdArchive(p, zTopic, 0, &nMsg, &nFile, &nOrphan,
                                    &nExp, pzErr);
  }
  memset(&names, 0, sizeof(names));
  rc = streamMntTopics(p, 0, &names, pzErr);
  for(i=0; rc==SQLITE_OK && i<names.n; i++){
    const char *zName = names.az[i];
    StreamTopicConfig cfg;
    int nPart;
    rc = sqlite3StreamTopicConfig(p, zName, &cfg, &nPart, pzErr);
    if( rc==SQLITE_OK && cfg.coldEnabled ){
      rc = sqlite3StreamColdArchive(p, zName, 0, &nMsg, &nFile, &nOrphan,
                                    &nExp, pzErr);
    }
    if( rc ) rc = sqlite3StreamTopicErr(p->db, pErrs, zName, "archive", rc,
                                        pzErr);
  }
  sqlite3StreamStrListFree(&names);
  return rc;
}

/*
** stream_maintain([topic]).  Over every topic, an error of one topic
** (its cold archive, its warm store, a damaged row of its own) does not
** stop the others: it is reported in "errors" ([{"topic", "task",
** "error"}], present only when there is one) and the run carries on
** (sqlite3StreamTopicErr() says which errors stop it).  A named topic's
** error is the call's error.
*/
void sqlite3StreamMaintainFunc(sqlite3_context *ctx, int argc,
                               sqlite3_value **argv){
  StreamCtx *p = (StreamCtx*)sqlite3_user_data(ctx);
  StreamMntReport r;
  StreamTopicErrs errs;
  StreamTopicErrs *pErrs;
  const char *zTopic;
  char *zErr = 0, *zOut, *zErrs;
  int rc;
  if( !streamMntArgTopic(ctx, argc, argv, &zTopic) ) return;
  memset(&r, 0, sizeof(r));
  r.pTasks = sqlite3_str_new(0);
  sqlite3StreamTopicErrsInit(p->db, &errs);
  pErrs = zTopic ? 0 : &errs;
  /* Cold tier first (ext/cold.c): due batches are archived before
  ** retention runs, which is held back to the cold watermark anyway.
  ** Then hot retention (an expired hot prefix is not worth tiering), then
  ** tiering (hot -> warm, warm retention, orphan sweep: ext/tier.c), then
  ** hot retention again if warm segments went (the hot prefix may now be
  ** the start of the partition), then compaction where due. */
  rc = streamMntCold(p, zTopic, pErrs, &zErr);
  /* The Pipelines sink (ext/pipeline.c): failures wait for next time. */
  if( rc==SQLITE_OK ) rc = sqlite3StreamPipelineMaintain(p, zTopic);
  if( rc==SQLITE_OK ){
    rc = streamMntRun(p, zTopic, -1, STREAM_MNT_RETAIN, &r, 0, pErrs, &zErr);
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamTierMaintain(p, zTopic, &r.tier, pErrs, &zErr);
  }
  if( rc==SQLITE_OK && r.tier.nExpired>0 ){
    rc = streamMntRun(p, zTopic, -1, STREAM_MNT_RETAIN, &r, 0, pErrs, &zErr);
  }
  if( rc==SQLITE_OK ){
    rc = streamMntRun(p, zTopic, -1, STREAM_MNT_COMPACT_DUE, &r, 0, pErrs,
                      &zErr);
  }
  zErrs = errs.pJson ? sqlite3_str_finish(errs.pJson) : 0;
  if( rc==SQLITE_OK && errs.n && zErrs==0 ) rc = SQLITE_NOMEM;
  if( rc ){
    sqlite3_free(zErrs);
    sqlite3_free(sqlite3_str_finish(r.pTasks));
    sqlite3StreamResultErr(ctx, rc, zErr);
    return;
  }
  zOut = streamMntReportFinish(&r, 1);
  if( zOut && zErrs ){
    /* {...} becomes {...,"errors":[...]} */
    char *z = sqlite3_mprintf("%.*s,\"errors\":%s]}",
                              (int)strlen(zOut)-1, zOut, zErrs);
    sqlite3_free(zOut);
    zOut = z;
  }
  sqlite3_free(zErrs);
  if( zOut==0 ){ sqlite3_result_error_nomem(ctx); return; }
  sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');
}

/* stream_compact(topic [, partition]) */
void sqlite3StreamCompactFunc(sqlite3_context *ctx, int argc,
                                 sqlite3_value **argv){
  StreamCtx *p = (StreamCtx*)sqlite3_user_data(ctx);
  const char *zTopic;
  char *zErr = 0;
  i64 iPart = -1, nRemoved = 0;
  int rc;
  if( sqlite3_value_type(argv[0])!=SQLITE_TEXT ){
    sqlite3_result_error(ctx, STREAM_ERR "topic name must be text", -1);
    return;
  }
  if( !streamMntArgTopic(ctx, argc, argv, &zTopic) ) return;
  if( argc>1 ){
    if( !sqlite3StreamValueInt(argv[1], &iPart) ){
      sqlite3_result_error(ctx, STREAM_ERR "partition must be an integer",
                           -1);
      return;
    }
    if( iPart<0 ){
      StreamTopic t;
      rc = sqlite3StreamTopicGet(p, zTopic, &t, &zErr);
      if( rc==SQLITE_OK ){
        rc = sqlite3StreamPartitionCheck(zTopic, &t, iPart, &zErr);
      }
      sqlite3StreamResultErr(ctx, rc, zErr);
      return;
    }
  }
  rc = streamMntRun(p, zTopic, iPart, STREAM_MNT_COMPACT, 0, &nRemoved, 0,
                    &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_int64(ctx, nRemoved);
}

/* stream_compaction([topic]) */
void sqlite3StreamCompactionFunc(sqlite3_context *ctx, int argc,
                                sqlite3_value **argv){
  StreamCtx *p = (StreamCtx*)sqlite3_user_data(ctx);
  const char *zTopic;
  char *zErr = 0, *zOut = 0;
  int rc;
  if( !streamMntArgTopic(ctx, argc, argv, &zTopic) ) return;
  rc = streamMntStatus(p, zTopic, &zOut, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');
}

/* stream_vfs_default(on): process-wide, like sqlite3_vfs_register(). */
void sqlite3StreamVfsDefaultFunc(sqlite3_context *ctx, int argc,
                                    sqlite3_value **argv){
  const char *zName;
  i64 bOn = 0;
  STREAM_UNUSED(argc);
  if( !sqlite3StreamArgInt(ctx, argv, 0, "stream_vfs_default(on): on", &bOn) ){
    return;
  }
  zName = sqlite3StreamVfsDefault(bOn!=0);
  if( zName==0 ){
    sqlite3_result_error(ctx, STREAM_ERR "the stream VFS is not registered",
                         -1);
    return;
  }
  sqlite3_result_text(ctx, zName, -1, SQLITE_TRANSIENT);
}

int sqlite3StreamRegisterMaintain(sqlite3 *db, StreamCtx *p){
  int rc;
  STREAM_UNUSED(db); STREAM_UNUSED(p);
#ifdef STREAM_VFS_DEFAULT
  rc = sqlite3StreamVfsRegister(1);
#else
  rc = sqlite3StreamVfsRegister(0);
#endif
  return rc;
}
