/*
** tier.c - the warm tier: hot messages move to Parquet segment files in
** the object store (ext/store.c), and the reader that streams them back.
**
**   SELECT stream_tier();            -- every topic
**   SELECT stream_tier('orders');    -- {"segments":2,"messages":20000,...}
**
** The hot window of a topic is hot.retention.messages (the newest N
** offsets of each partition) and hot.retention.ms (messages younger than
** that); a message outside either moves to the warm tier.  Only a prefix
** of a partition's hot offsets ever moves, so for one partition every warm
** offset is below every hot offset.  One move writes one segment file:
**
**   db=<id>/<topic>/partition=<p>/date=<YYYY-MM-DD>/<first>-<last>.parquet
**
** (db=<id>: the database's namespace in the store, see "Identity" below)
** (the UTC date of its messages: a move ends a file before the first
** message whose UTC day differs from the first one's; offsets as 20
** digits) and goes:
**
**   1. take the write lock (so no other connection can move or sweep);
**   2. stream the hot rows into the Parquet writer (values decompressed:
**      a warm value is the bytes that were produced), sink = store upload;
**   3. the store makes the file durable: temporary name, fsync, rename,
**      fsync of the directory (ext/store.c);
**   4. read the footer back: row count and offset range must match;
**   5. in one transaction: raise _stream_partitions.next_offset to the
**      high watermark, INSERT the _stream_segments row, DELETE the hot rows
**      up to the last offset.
**
** A crash before 5 commits leaves a file that no segment row names (an
** orphan), never a lost or doubled message; the sweep (run by
** stream_tier() and stream_maintain() under the write lock) removes
** orphans and ".tmp" files of this database's namespace, and segment rows
** whose incarnation is not their topic's (a topic deleted, or deleted and
** created again): identity, never clocks, decides.  Every file is checked
** against its row whenever it is opened (streamTierCheckFile()).  A move
** inside a transaction that is later rolled back leaves an orphan the
** same way.  Readers only ever open files
** named by a segment row, and merge by (topic, partition, offset) so that
** an offset present in both tiers is returned once.
**
** Only with a configured store (warm.store): without one the database
** file holds everything, stream_tier() moves nothing (for a named topic
** it is an error saying so) and neither do produce and stream_maintain().
** A database whose segments were written when "<db>.stream/warm" was the
** default keeps that directory for them (sqlite3StreamTierStore()).
**
** When: stream_tier() and stream_maintain() move everything eligible; the
** produce path calls sqlite3StreamTierAfterAppend(), which looks at one
** partition every STREAM_TIER_CHECK_EVERY offsets and then moves at most
** STREAM_TIER_HOOK_MAX_ROWS messages (one file) to a local store only.
**
** Warm retention: with cleanup.policy delete, whole segments go (oldest
** first) while their newest message is older than retention.ms, or while
** the partition's size without them is still >= retention.bytes;
** log_start_offset is raised past them.
**
** Codec of warm files: the topic's compression.type when it is gzip or
** zstd, else ZSTD.
*/
#include "streamInt.h"
#include <string.h>
#include <stdlib.h>

#ifdef STREAM_TEST_HOOKS
# include <unistd.h>
#endif

/* The produce hook looks at a partition once per this many offsets. */
#define STREAM_TIER_CHECK_EVERY    1000
/* ... and moves only when at least this many messages are eligible (or
** the oldest eligible one is older than twice hot.retention.ms) ... */
#define STREAM_TIER_HOOK_MIN_ROWS  10000
/* ... and then at most this many (one file). */
#define STREAM_TIER_HOOK_MAX_ROWS  50000
/* A UTC day, in ms (files never span one: see streamTierMoveOne()). */
#define STREAM_TIER_DAY_MS         86400000
#ifndef SMALLEST_INT64
# define SMALLEST_INT64 (-0x7fffffffffffffffLL-1)
#endif
/* Largest segment file written by stream_tier(), in messages. */
#define STREAM_TIER_MAX_FILE_ROWS  1000000

#ifdef STREAM_TEST_HOOKS
void sqlite3StreamTierCrashPoint(int iStep){
  const char *z = getenv("STREAM_TIER_CRASH");
  if( z && z[0]>='0' && z[0]<='9' && atoi(z)==iStep ) _exit(99);
}
#endif

/**************************************************************************
** Small helpers
*/

/* Prepare zSql (printf-style) into *ppStmt. */
static int streamTierPrepare(StreamCtx *p, sqlite3_stmt **ppStmt,
                             char **pzErr, const char *zSql){
  int rc = sqlite3_prepare_v2(p->db, zSql, -1, ppStmt, 0);
  if( rc ){
    *ppStmt = 0;
    return sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  return SQLITE_OK;
}

/* Run a statement with (topic, partition) and up to two i64 bound as
** ?1..?4 and return the first column of the first row as an i64 in
** *piOut (iDefault if no row or NULL). */
static int streamTierInt(StreamCtx *p, const char *zSql, const char *zTopic,
                         int iPart, i64 a3, i64 a4, i64 iDefault, i64 *piOut,
                         char **pzErr){
  /* zSql is always a literal: the statement is cached per connection
  ** (these run per partition in stream_tier() and stream_maintain()). */
  sqlite3_stmt *pStmt = sqlite3StreamStmtStatic(p, zSql, pzErr);
  int rc;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_text(pStmt, 1, zTopic, -1, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 2, iPart);
  if( sqlite3_bind_parameter_count(pStmt)>=3 ) sqlite3_bind_int64(pStmt, 3, a3);
  if( sqlite3_bind_parameter_count(pStmt)>=4 ) sqlite3_bind_int64(pStmt, 4, a4);
  *piOut = iDefault;
  if( sqlite3_step(pStmt)==SQLITE_ROW
   && sqlite3_column_type(pStmt, 0)!=SQLITE_NULL ){
    *piOut = sqlite3_column_int64(pStmt, 0);
  }
  rc = sqlite3_reset(pStmt);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  return SQLITE_OK;
}

static int streamTierExec(StreamCtx *p, const char *zSql, char **pzErr){
  int rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  return SQLITE_OK;
}

/*
** One unit of work (a move, an expiry, a sweep) is one transaction.  In
** autocommit mode, under a read-only statement (SELECT stream_tier()),
** each nested statement would commit on its own, so the unit opens a
** SAVEPOINT (a transaction) and releases it at the end.  Inside an
** explicit transaction the savepoint nests.  Under an active write
** statement (INSERT INTO stream_messages ...) the unit simply joins that
** statement's transaction.  The first statement takes the write lock, so
** that nothing changes between reading the hot rows and deleting them.
*/
static int streamTierBegin(StreamCtx *p, int *pbSp, char **pzErr){
  sqlite3_stmt *pS;
  int rc;
  *pbSp = 0;
  for(pS=sqlite3_next_stmt(p->db, 0); pS; pS=sqlite3_next_stmt(p->db, pS)){
    if( sqlite3_stmt_busy(pS) && !sqlite3_stmt_readonly(pS) ) break;
  }
  if( pS==0 ){
    int bAuto = sqlite3_get_autocommit(p->db);
    rc = streamTierExec(p, "SAVEPOINT stream_tier", pzErr);
    if( rc ) return rc;
    *pbSp = bAuto ? 2 : 1;     /* 2: it began the transaction */
  }
  rc = streamTierExec(p, "DELETE FROM _stream_meta WHERE key IS NULL", pzErr);
  if( rc && *pbSp ){
    sqlite3StreamSavepointAbort(p, "stream_tier", *pbSp);
    *pbSp = 0;
  }
  return rc;
}

static int streamTierEnd(StreamCtx *p, int bSp, int rc, char **pzErr){
  if( !bSp ) return rc;
  if( rc==SQLITE_OK ){
    rc = streamTierExec(p, "RELEASE stream_tier", pzErr);
    if( rc==SQLITE_OK ) return rc;
  }
  sqlite3StreamSavepointAbort(p, "stream_tier", bSp);
  return rc;
}

/* Topic settings from the catalog (config JSON -> StreamTopicConfig),
** partitions and incarnation. */
static int streamTierTopicConfig(StreamCtx *p, const char *zTopic,
                                 StreamTopicConfig *pCfg, int *pnPart,
                                 i64 *piInc, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc = streamTierPrepare(p, &pStmt, pzErr,
      "SELECT config, partitions, incarnation FROM _stream_topics"
      " WHERE name=?1");
  if( rc ) return rc;
  sqlite3_bind_text(pStmt, 1, zTopic, -1, SQLITE_STATIC);
  if( sqlite3_step(pStmt)==SQLITE_ROW ){
    rc = sqlite3StreamPartitionCount(zTopic, pStmt, 1, pnPart, pzErr);
    *piInc = sqlite3_column_int64(pStmt, 2);
    if( rc==SQLITE_OK ) rc = sqlite3StreamConfigParse(pCfg,
        (const char*)sqlite3_column_text(pStmt, 0), 0, pzErr);
  }else{
    rc = sqlite3_reset(pStmt);
    if( rc ) rc = sqlite3StreamDbErr(p->db, pzErr, rc);
    else rc = sqlite3StreamErr(pzErr, SQLITE_NOTFOUND, "no such topic: %s",
                               zTopic);
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/**************************************************************************
** Identity: the database's namespace in the store, and segment files
** checked against their rows.
**
** Every database owns a namespace in a store, "db=<id>/", where <id> is 32
** lowercase hex digits of randomness kept in _stream_meta under
** "database.id" (made with the storage tables, sql/schema.sql).  Moves
** and rewrites write only there; the sweep lists only there; a file is
** deleted (retention, compaction, sweep) only if it is there, or in no
** namespace at all (the layout before namespaces,
** "<topic>/partition=...").  Two databases on
** one store therefore never delete each other's files, whatever their
** rows say.  ('=' cannot occur in a topic name, so "db=..." is never a
** topic's directory.)  A copy of a database file shares the id: see
** docs/tiering.md.
*/

/* Set pStore->zNs from database.id; if there is none and bCreate, make
** one (recorded in the caller's transaction). */
static int streamTierNamespace(StreamCtx *p, StreamStore *pStore, int bCreate,
                               char **pzErr){
  char *zId;
  int rc, i;
  if( pStore->zNs ) return SQLITE_OK;
  zId = sqlite3StreamMetaGet(p, "database.id", &rc);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  if( zId==0 && bCreate ){
    /* (sql/schema.sql makes one with the storage; this is for a database
    ** whose id was removed, e.g. a copy given a namespace of its own.) */
    rc = streamTierExec(p, "INSERT OR IGNORE INTO _stream_meta(key, value)"
        " VALUES('database.id', lower(hex(randomblob(16))))", pzErr);
    if( rc ) return rc;
    zId = sqlite3StreamMetaGet(p, "database.id", &rc);
    if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  if( zId==0 ) return SQLITE_OK;
  for(i=0; zId[i]; i++){
    if( !((zId[i]>='0' && zId[i]<='9') || (zId[i]>='a' && zId[i]<='f')) ){
      break;
    }
  }
  if( i!=32 || zId[i] ){
    rc = sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "invalid database.id \"%s\""
        " in _stream_meta: expected 32 lowercase hex digits", zId);
  }else{
    pStore->zNs = sqlite3_mprintf("db=%s", zId);
    if( pStore->zNs==0 ) rc = SQLITE_NOMEM;
  }
  sqlite3_free(zId);
  return rc;
}

/* Length of the namespace component of location zLoc ("db=<id>"), or 0
** if it has none (the layout before namespaces). */
static size_t streamTierNsLen(const char *zLoc){
  const char *zSlash = strchr(zLoc, '/');
  size_t n = zSlash ? (size_t)(zSlash-zLoc) : 0;
  return (n>0 && memchr(zLoc, '=', n)) ? n : 0;
}

/* True if this database may delete the file at zLoc: it is in its
** namespace, or in none (written before namespaces, by this database). */
static int streamTierOwned(const StreamStore *pStore, const char *zLoc){
  size_t n = streamTierNsLen(zLoc);
  if( n==0 ) return strchr(zLoc, '/')!=0;
  return pStore->zNs && strlen(pStore->zNs)==n
      && memcmp(zLoc, pStore->zNs, n)==0;
}

/* Check the just-opened file of segment pSeg (nFile bytes, footer in pR)
** against its row.  nBytes<0 in pSeg: size not checked. */
static int streamTierCheckFile(StreamPqReader *pR, const StreamSegment *pSeg,
                               i64 nFile, char **pzErr){
  const char *zTopic = sqlite3StreamPqReaderMeta(pR, "stream.topic");
  const char *zPart = sqlite3StreamPqReaderMeta(pR, "stream.partition");
  const char *zFirst = sqlite3StreamPqReaderMeta(pR, "stream.first_offset");
  const char *zLast = sqlite3StreamPqReaderMeta(pR, "stream.last_offset");
  const char *zInc = sqlite3StreamPqReaderMeta(pR, "stream.incarnation");
  char *zWhy = 0;
  i64 iPrevMax = 0;                   /* Largest offset of groups before */
  int g, bPrev = 0, bBad = 1, nG = sqlite3StreamPqReaderGroups(pR);
  char zNum[4][24];
  sqlite3_snprintf(24, zNum[0], "%d", pSeg->iPartition);
  sqlite3_snprintf(24, zNum[1], "%lld", pSeg->iFirst);
  sqlite3_snprintf(24, zNum[2], "%lld", pSeg->iLast);
  sqlite3_snprintf(24, zNum[3], "%lld", pSeg->iIncarnation);
  if( pSeg->nBytes>=0 && nFile!=pSeg->nBytes ){
    zWhy = sqlite3_mprintf("the file is %lld bytes, the row says %lld",
                           nFile, pSeg->nBytes);
  }else if( sqlite3StreamPqReaderRows(pR)!=pSeg->nMessages ){
    zWhy = sqlite3_mprintf("the file has %lld rows, the row says %lld",
                           sqlite3StreamPqReaderRows(pR), pSeg->nMessages);
  }else if( zTopic==0 || strcmp(zTopic, pSeg->zTopic)!=0 ){
    zWhy = sqlite3_mprintf("the file is of topic \"%s\", the row says"
        " \"%s\"", zTopic ? zTopic : "(none)", pSeg->zTopic);
  }else if( zPart==0 || strcmp(zPart, zNum[0])!=0 ){
    zWhy = sqlite3_mprintf("the file is of partition %s, the row says %s",
                           zPart ? zPart : "(none)", zNum[0]);
  }else if( zFirst==0 || zLast==0 || strcmp(zFirst, zNum[1])!=0
         || strcmp(zLast, zNum[2])!=0 ){
    zWhy = sqlite3_mprintf("the file holds offsets %s..%s, the row says"
        " %s..%s", zFirst ? zFirst : "?", zLast ? zLast : "?", zNum[1],
        zNum[2]);
  }else if( zInc && pSeg->iIncarnation!=0 && strcmp(zInc, zNum[3])!=0 ){
    /* (Incarnation 0: a row read from a database not yet upgraded.) */
    zWhy = sqlite3_mprintf("the file is of topic incarnation %s, the row"
        " says %s (a file of another topic of the same name)", zInc, zNum[3]);
  }else{
    bBad = 0;
  }
  for(g=0; !bBad && g<nG; g++){
    const StreamPqGroupInfo *pI = sqlite3StreamPqReaderGroup(pR, g);
    if( pI->nRows==0 ) continue;
    /* (Differences as u64: min <= max is checked first.) */
    bBad = !pI->bStats || pI->iOffsetMin<pSeg->iFirst
        || (bPrev && pI->iOffsetMin<=iPrevMax)
        || pI->iOffsetMax<pI->iOffsetMin || pI->iOffsetMax>pSeg->iLast
        || (u64)pI->iOffsetMax-(u64)pI->iOffsetMin < (u64)(pI->nRows-1);
    if( bBad ){
      zWhy = pI->bStats
        ? sqlite3_mprintf("row group %d holds offsets %lld..%lld (%lld rows),"
              " not inside the row's %s..%s after the groups before it", g,
              pI->iOffsetMin, pI->iOffsetMax, pI->nRows, zNum[1], zNum[2])
        : sqlite3_mprintf("row group %d has no offset statistics", g);
    }else{
      iPrevMax = pI->iOffsetMax;
      bPrev = 1;
    }
  }
  if( !bBad ) return SQLITE_OK;
  if( zWhy==0 ) return SQLITE_NOMEM;
  sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "warm segment %s does not match"
      " its segment row: %s", pSeg->zLocation, zWhy);
  sqlite3_free(zWhy);
  return SQLITE_CORRUPT;
}

/* A row read from segment pSeg's file: its offset must lie inside the
** statistics of its row group pI (checked against the row at open) and
** follow the previous row's (*piPrev, updated). */
static int streamTierRowCheck(const char *zLoc, const StreamPqGroupInfo *pI,
                              i64 *piPrev, i64 iOff, char **pzErr){
  if( pI==0 || iOff<=*piPrev || iOff<pI->iOffsetMin || iOff>pI->iOffsetMax ){
    return sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "warm segment %s does not"
        " match its segment row: offset %lld is out of order or outside its"
        " row group's %lld..%lld", zLoc, iOff, pI ? pI->iOffsetMin : 0,
        pI ? pI->iOffsetMax : 0);
  }
  *piPrev = iOff;
  return SQLITE_OK;
}

/* The error for two segment rows of one partition whose ranges overlap. */
static int streamTierOverlapErr(const StreamSegment *pA,
                                const StreamSegment *pB, char **pzErr){
  return sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "warm segments %s"
      " (offsets %lld..%lld) and %s (offsets %lld..%lld) of %s/%d overlap",
      pA->zLocation, pA->iFirst, pA->iLast, pB->zLocation, pB->iFirst,
      pB->iLast, pA->zTopic, pA->iPartition);
}

/* Open the file of segment pSeg for reading (pR over *pH) and check it
** against its row.  *pnFile gets its size. */
static int streamTierOpenSegment(StreamStore *pStore, const StreamSegment *pSeg,
                                 StreamStoreHandle *pH, StreamPqReader **ppR,
                                 i64 *pnFile, char **pzErr){
  char *zPqErr = 0;
  i64 nFile = 0;
  int rc;
  pH->pStore = pStore;
  pH->pFile = 0;
  *ppR = 0;
  rc = pStore->pMethods->xOpen(pStore, pSeg->zLocation, &pH->pFile, &nFile,
                               pzErr);
  if( rc ) return rc;
  rc = sqlite3StreamPqReaderOpen(ppR, sqlite3StreamStoreReadFn, pH, nFile,
                                 &zPqErr);
  if( rc ){
    sqlite3StreamErr(pzErr, rc==SQLITE_NOMEM ? rc : SQLITE_CORRUPT,
        "warm segment %s is corrupt or truncated: %s", pSeg->zLocation,
        zPqErr ? zPqErr : sqlite3_errstr(rc));
    if( rc!=SQLITE_NOMEM ) rc = SQLITE_CORRUPT;
    sqlite3_free(zPqErr);
  }else{
    sqlite3StreamPqReaderSetMaxValue(*ppR, pSeg->nMaxValue);
    rc = streamTierCheckFile(*ppR, pSeg, nFile, pzErr);
  }
  if( rc ){
    sqlite3StreamPqReaderClose(*ppR);
    *ppR = 0;
    pStore->pMethods->xClose(pH->pFile);
    pH->pFile = 0;
  }
  *pnFile = nFile;
  return rc;
}

/* Does the database have segment rows?  (No storage tables: no.) */
static int streamTierHasSegments(StreamCtx *p, int *pbHas, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(p->db, "SELECT 1 FROM _stream_segments LIMIT 1",
                              -1, &pStmt, 0);
  *pbHas = 0;
  if( rc ){
    return sqlite3StreamNoStorage(p->db) ? SQLITE_OK
                                         : sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  *pbHas = sqlite3_step(pStmt)==SQLITE_ROW;
  rc = sqlite3_finalize(pStmt);
  return rc ? sqlite3StreamDbErr(p->db, pzErr, rc) : SQLITE_OK;
}

/*
** The store: warm.store if it is set.  Without it there is no store (the
** database file holds everything), except for a database that already has
** segment rows written when "<db>.stream/warm" beside the database file was
** the default: that directory is its legacy store (bLegacy), which the
** existing segments are read, expired, compacted and swept in, but
** nothing new is moved to.
*/
int sqlite3StreamTierStore(StreamCtx *p, StreamStore **pp, char **pzErr){
  char *zUrl;
  int rc;
  *pp = 0;
  zUrl = sqlite3StreamMetaGet(p, "warm.store", &rc);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  if( zUrl ){
    rc = sqlite3StreamStoreOpen(zUrl, 0, pp, pzErr);
  }else{
    const char *zFile = sqlite3_db_filename(p->db, "main");
    int bHas = 0;
    if( zFile==0 || zFile[0]==0 ) return SQLITE_OK;   /* :memory:, temp */
    rc = streamTierHasSegments(p, &bHas, pzErr);
    if( rc || !bHas ) return rc;
    zUrl = sqlite3_mprintf("file://%s.stream/warm", zFile);
    if( zUrl==0 ) return SQLITE_NOMEM;
    rc = sqlite3StreamStoreOpen(zUrl, 0, pp, pzErr);
    if( rc==SQLITE_OK ) (*pp)->bLegacy = 1;
  }
  sqlite3_free(zUrl);
  if( rc==SQLITE_OK ) rc = streamTierNamespace(p, *pp, 0, pzErr);
  if( rc ){
    if( *pp ) (*pp)->pMethods->xFree(*pp);
    *pp = 0;
  }
  return rc;
}

static void streamTierStoreFree(StreamStore *pStore){
  if( pStore ) pStore->pMethods->xFree(pStore);
}

/**************************************************************************
** Eligibility: which prefix of a partition's hot offsets leaves the hot
** window.
*/
typedef struct StreamTierPart StreamTierPart;
struct StreamTierPart {
  i64 iHwm;                    /* High watermark */
  i64 iFrom;                   /* First hot offset above the warm tier */
  i64 iCut;                    /* Move hot offsets < iCut */
  i64 iFirstTs;                /* Timestamp of iFrom's message */
};

static int streamTierEligible(StreamCtx *p, const char *zTopic, int iPart,
                              i64 iInc, const StreamTopicConfig *pCfg,
                              StreamTierPart *pP, char **pzErr){
  i64 iWarmEnd, c1 = -1, c2 = -1;
  int rc;
  memset(pP, 0, sizeof(*pP));
  pP->iFrom = -1;
  if( pCfg->hotRetentionMessages<0 && pCfg->hotRetentionMs<0 ) return 0;
  rc = sqlite3StreamHighWatermark(p, zTopic, iPart, &pP->iHwm, pzErr);
  if( rc ) return rc;
  rc = streamTierInt(p, "SELECT max(last_offset)+1 FROM _stream_segments"
      " WHERE topic=?1 AND partition=?2 AND incarnation=?3", zTopic, iPart,
      iInc, 0, 0, &iWarmEnd, pzErr);
  if( rc ) return rc;
  rc = streamTierInt(p, "SELECT offset FROM _stream_messages"
      " WHERE topic=?1 AND partition=?2 AND offset>=?3 ORDER BY offset LIMIT 1",
      zTopic, iPart, iWarmEnd, 0, -1, &pP->iFrom, pzErr);
  if( rc || pP->iFrom<0 ) return rc;
  rc = streamTierInt(p, "SELECT timestamp FROM _stream_messages"
      " WHERE topic=?1 AND partition=?2 AND offset=?3",
      zTopic, iPart, pP->iFrom, 0, 0, &pP->iFirstTs, pzErr);
  if( rc ) return rc;
  if( pCfg->hotRetentionMessages>=0 ){
    c1 = pP->iHwm - pCfg->hotRetentionMessages;
  }
  if( pCfg->hotRetentionMs>=0 ){
    /* The first message still inside the time window ends the prefix
    ** ("+timestamp": walk the primary key, not the timestamp index). */
    i64 iCutoff = sqlite3StreamNow(p) - pCfg->hotRetentionMs;
    rc = streamTierInt(p, "SELECT offset FROM _stream_messages"
        " WHERE topic=?1 AND partition=?2 AND offset>=?3 AND +timestamp>=?4"
        " ORDER BY offset LIMIT 1",
        zTopic, iPart, pP->iFrom, iCutoff, pP->iHwm, &c2, pzErr);
    if( rc ) return rc;
  }
  pP->iCut = c1>c2 ? c1 : c2;
  return SQLITE_OK;
}

/**************************************************************************
** Moving one segment.
*/

/* Sink of the Parquet writer: the store upload. */
typedef struct StreamTierSink StreamTierSink;
struct StreamTierSink {
  StreamStore *pStore;         /* Store */
  StreamStoreUpload *pUp;      /* Upload in progress */
  char *zErr;                  /* Message of the first failure */
};

static int streamTierSinkWrite(void *pCtx, const void *a, size_t n){
  StreamTierSink *pS = (StreamTierSink*)pCtx;
  return pS->pStore->pMethods->xPutWrite(pS->pUp, a, n, &pS->zErr);
}

/* The object key of a segment, in namespace zNs. */
static char *streamTierKey(const char *zNs, const char *zTopic, int iPart,
                           i64 iFirstTs, i64 iFirst, i64 iLast){
  char zIso[32];
  int i;
  sqlite3StreamIsoTime(iFirstTs<0 ? 0 : iFirstTs, zIso);
  for(i=0; zIso[i] && zIso[i]!='T'; i++){}
  return sqlite3_mprintf(
      "%s/%s/partition=%d/date=%.*s/%020lld-%020lld.parquet",
      zNs, zTopic, iPart, i, zIso, iFirst, iLast);
}

/* Footer metadata naming the segment a file belongs to (checked against
** its row whenever it is opened: streamTierCheckFile()). */
static void streamTierWriteMeta(StreamPqWriter *pW, const StreamSegment *pSeg){
  char zNum[24];
  sqlite3StreamPqWriterMeta(pW, "stream.topic", pSeg->zTopic);
  sqlite3_snprintf(sizeof(zNum), zNum, "%d", pSeg->iPartition);
  sqlite3StreamPqWriterMeta(pW, "stream.partition", zNum);
  sqlite3_snprintf(sizeof(zNum), zNum, "%lld", pSeg->iFirst);
  sqlite3StreamPqWriterMeta(pW, "stream.first_offset", zNum);
  sqlite3_snprintf(sizeof(zNum), zNum, "%lld", pSeg->iLast);
  sqlite3StreamPqWriterMeta(pW, "stream.last_offset", zNum);
  sqlite3_snprintf(sizeof(zNum), zNum, "%lld", pSeg->iIncarnation);
  sqlite3StreamPqWriterMeta(pW, "stream.incarnation", zNum);
}

/* Check a just-written file against the row about to name it (pSeg,
** nBytes not yet known), and that its rows start at iFirst and end at
** iLast (the first and last offsets written); *pnBytes gets its size. */
static int streamTierVerify(StreamStore *pStore, const StreamSegment *pSeg,
                            i64 iFirst, i64 iLast, i64 *pnBytes,
                            char **pzErr){
  StreamStoreHandle h;
  StreamPqReader *pR = 0;
  int rc = streamTierOpenSegment(pStore, pSeg, &h, &pR, pnBytes, pzErr);
  if( rc==SQLITE_OK ){
    int nG = sqlite3StreamPqReaderGroups(pR);
    const StreamPqGroupInfo *g0 = sqlite3StreamPqReaderGroup(pR, 0);
    const StreamPqGroupInfo *gN = sqlite3StreamPqReaderGroup(pR, nG-1);
    if( g0==0 || gN==0 || g0->iOffsetMin!=iFirst || gN->iOffsetMax!=iLast ){
      rc = sqlite3StreamErr(pzErr, SQLITE_CORRUPT,
          "warm segment %s failed verification: expected %lld rows, offsets"
          " %lld..%lld", pSeg->zLocation, pSeg->nMessages, iFirst, iLast);
    }
    sqlite3StreamPqReaderClose(pR);
    pStore->pMethods->xClose(h.pFile);
  }
  return rc;
}

/* The last hot offset of a file starting at iFrom: the nMax-th hot offset
** >= iFrom, or the last one < iCut if there are fewer; -1 if none.  Offsets
** are distinct integers, so when iCut-iFrom <= nMax the range cannot hold
** more than nMax rows and one seek (max) answers; otherwise the nMax-th row
** is counted out (OFFSET). */
static int streamTierLastOffset(StreamCtx *p, const char *zTopic, int iPart,
                                i64 iFrom, i64 iCut, i64 nMax, i64 *piLast,
                                char **pzErr){
  i64 iLast = -1;
  int rc = SQLITE_OK;
  if( iCut-iFrom>nMax ){
    rc = streamTierInt(p, "SELECT offset FROM _stream_messages"
        " WHERE topic=?1 AND partition=?2 AND offset>=?3"
        " ORDER BY offset LIMIT 1 OFFSET ?4",
        zTopic, iPart, iFrom, nMax-1, -1, &iLast, pzErr);
    if( rc ) return rc;
    if( iLast>=iCut ) iLast = -1;
  }
  if( iLast<0 ){
    rc = streamTierInt(p, "SELECT max(offset) FROM _stream_messages"
        " WHERE topic=?1 AND partition=?2 AND offset>=?3 AND offset<?4",
        zTopic, iPart, iFrom, iCut, -1, &iLast, pzErr);
  }
  *piLast = iLast;
  return rc;
}

/* A key, value or headers column of the hot-row select as bytes.  TEXT of
** a UTF-8 database is read as the record's bytes (sqlite3_value_blob()),
** which spares the terminated copy sqlite3_value_text() makes; other
** encodings go through sqlite3_value_text().  Returns SQLITE_NOMEM if
** SQLite could not materialise the value. */
static int streamTierColumn(sqlite3_stmt *pSel, int iCol, int bUtf8,
                            const void **ppData, int *pnData, int *peType){
  sqlite3_value *pV = sqlite3_column_value(pSel, iCol);
  int eT = sqlite3_value_type(pV);
  const void *pData;
  *ppData = 0;
  *pnData = 0;
  *peType = eT;
  if( eT==SQLITE_NULL ) return SQLITE_OK;
  if( eT==SQLITE_BLOB || (eT==SQLITE_TEXT && bUtf8) ){
    pData = sqlite3_value_blob(pV);
    *pnData = sqlite3_value_bytes(pV);
    if( pData==0 ){
      if( *pnData>0 ) return SQLITE_NOMEM;
      pData = "";                             /* empty TEXT or BLOB */
    }
  }else{
    pData = sqlite3_value_text(pV);           /* never NULL but on OOM */
    if( pData==0 ) return SQLITE_NOMEM;
    *pnData = sqlite3_value_bytes(pV);
    *peType = SQLITE_TEXT;
  }
  *ppData = pData;
  return SQLITE_OK;
}

/* Move hot offsets [pP->iFrom, pP->iCut), at most nMax messages, into one
** segment file.
**
** The hot rows are read once, in offset order, by one statement.  The
** file's name holds its last offset, so that offset is found first
** (streamTierLastOffset: one seek unless the range is longer than nMax).
** A file never spans UTC days: if the message at the last offset is of
** another day than the first one, the first offset of another day is
** looked up and the file ends before it; while reading, a message of
** another day (timestamps need not grow with offsets) ends the attempt:
** the upload is dropped and the move starts again with the file ending
** before that message (at most once: every message before it has been
** seen to be of the first one's day). */
static int streamTierMoveOne(StreamCtx *p, StreamStore *pStore,
                             const char *zTopic, int iPart, i64 iInc,
                             const StreamTopicConfig *pCfg,
                             const StreamTierPart *pP, i64 nMax,
                             StreamTierStats *pStats, char **pzErr){
  sqlite3_stmt *pSel = 0;
  StreamPqWriter *pW = 0;
  StreamTierSink sink;
  StreamSegment seg;
  char *zKey = 0;
  i64 iLast = -1, nRow = 0, nBytes = 0, iTsMin = 0, iTsMax = 0;
  i64 iCut = pP->iCut;
  i64 iDayLo, iDayHi, iFirstTs;
  int nTopic = (int)strlen(zTopic);
  int eCodec, rc, bSp = 0, bFile = 0, bUtf8 = 0;

  memset(&sink, 0, sizeof(sink));
  sink.pStore = pStore;
  eCodec = (!pCfg->bCompressionProducer
            && pCfg->eCompression!=STREAM_CODEC_NONE)
         ? pCfg->eCompression : STREAM_CODEC_ZSTD;

  /* Every row's UTC day must be that of the first one (the date= of the
  ** path).  Timestamps before the epoch count as 1970-01-01, as in the
  ** path; timestamps after STREAM_MAX_TIMESTAMP (only a crafted row can
  ** have one: producers are refused) as its day, 9999-12-31, and are
  ** written as STREAM_MAX_TIMESTAMP (the segment format holds
  ** microseconds; INT64_MAX ms would overflow it and stop tiering).
  ** iDayHi is the day's last ms, inclusive. */
  {
    i64 iDay;
    iFirstTs = pP->iFirstTs>STREAM_MAX_TIMESTAMP ? STREAM_MAX_TIMESTAMP
                                                 : pP->iFirstTs;
    iDay = (iFirstTs<0 ? 0 : iFirstTs) / STREAM_TIER_DAY_MS;
    iDayLo = iDay==0 ? SMALLEST_INT64 : iDay*STREAM_TIER_DAY_MS;
    iDayHi = iDay==STREAM_MAX_TIMESTAMP/STREAM_TIER_DAY_MS
           ? 0x7fffffffffffffffLL : (iDay+1)*STREAM_TIER_DAY_MS - 1;
  }

  rc = streamTierBegin(p, &bSp, pzErr);
  if( rc ) return rc;
  rc = streamTierNamespace(p, pStore, 1, pzErr);
  if( rc ) goto out;

  /* TEXT is read without a copy when the database is UTF-8 (see
  ** streamTierColumn()). */
  {
    sqlite3_stmt *pS = 0;
    rc = streamTierPrepare(p, &pS, pzErr, "PRAGMA main.encoding");
    if( rc ) goto out;
    if( sqlite3_step(pS)==SQLITE_ROW ){
      const char *zEnc = (const char*)sqlite3_column_text(pS, 0);
      bUtf8 = zEnc && sqlite3_stricmp(zEnc, "UTF-8")==0;
    }
    rc = sqlite3_finalize(pS);
    if( rc ){ rc = sqlite3StreamDbErr(p->db, pzErr, rc); goto out; }
  }

  while( 1 ){
    i64 iTsLast = 0, iOther = -1;

    /* Last offset of this file; if its message is of another UTC day, the
    ** file ends before the first such message. */
    rc = streamTierLastOffset(p, zTopic, iPart, pP->iFrom, iCut, nMax,
                              &iLast, pzErr);
    if( rc ) goto out;
    if( iLast<pP->iFrom ) goto out;        /* nothing to move */
    rc = streamTierInt(p, "SELECT timestamp FROM _stream_messages"
        " WHERE topic=?1 AND partition=?2 AND offset=?3",
        zTopic, iPart, iLast, 0, 0, &iTsLast, pzErr);
    if( rc ) goto out;
    if( iTsLast<iDayLo || iTsLast>iDayHi ){
      sqlite3_stmt *pS = 0;
      rc = streamTierPrepare(p, &pS, pzErr,
          "SELECT offset FROM _stream_messages WHERE topic=?1 AND partition=?2"
          " AND offset>?3 AND offset<=?4 AND (+timestamp<?5 OR +timestamp>?6)"
          " ORDER BY offset LIMIT 1");
      if( rc ) goto out;
      sqlite3_bind_text(pS, 1, zTopic, -1, SQLITE_STATIC);
      sqlite3_bind_int(pS, 2, iPart);
      sqlite3_bind_int64(pS, 3, pP->iFrom);
      sqlite3_bind_int64(pS, 4, iLast);
      sqlite3_bind_int64(pS, 5, iDayLo);
      sqlite3_bind_int64(pS, 6, iDayHi);
      if( sqlite3_step(pS)==SQLITE_ROW ){
        iCut = sqlite3_column_int64(pS, 0);
      }
      rc = sqlite3_finalize(pS);
      if( rc ){ rc = sqlite3StreamDbErr(p->db, pzErr, rc); goto out; }
      rc = streamTierLastOffset(p, zTopic, iPart, pP->iFrom, iCut, nMax,
                                &iLast, pzErr);
      if( rc ) goto out;
      if( iLast<pP->iFrom ) goto out;
    }

    zKey = streamTierKey(pStore->zNs, zTopic, iPart, iFirstTs, pP->iFrom,
                         iLast);
    if( zKey==0 ){ rc = SQLITE_NOMEM; goto out; }
    rc = pStore->pMethods->xPutBegin(pStore, zKey, &sink.pUp, pzErr);
    if( rc ) goto out;
    rc = sqlite3StreamPqWriterOpen(&pW, eCodec, 0, streamTierSinkWrite, &sink);
    if( rc ) goto out;

    if( pSel==0 ){
      rc = streamTierPrepare(p, &pSel, pzErr,
          "SELECT offset, key, value, headers, timestamp, attrs"
          " FROM _stream_messages WHERE topic=?1 AND partition=?2"
          " AND offset>=?3 AND offset<=?4 ORDER BY offset");
      if( rc ) goto out;
      sqlite3_bind_text(pSel, 1, zTopic, -1, SQLITE_STATIC);
      sqlite3_bind_int(pSel, 2, iPart);
      sqlite3_bind_int64(pSel, 3, pP->iFrom);
    }
    sqlite3_bind_int64(pSel, 4, iLast);
    nRow = 0;
    while( sqlite3_step(pSel)==SQLITE_ROW ){
      StreamPqRow r;
      const void *pVal;
      int nVal, eT, attrs, eCodecV;
      void *pDec = 0;
      size_t nDec = 0;
      r.iOffset = sqlite3_column_int64(pSel, 0);
      r.iTimestampMs = sqlite3_column_int64(pSel, 4);
      if( r.iTimestampMs<iDayLo || r.iTimestampMs>iDayHi ){
        iOther = r.iOffset;                 /* another day: end before it */
        break;
      }
      if( r.iTimestampMs>STREAM_MAX_TIMESTAMP ){
        r.iTimestampMs = STREAM_MAX_TIMESTAMP;
      }else if( r.iTimestampMs<-STREAM_MAX_TIMESTAMP ){
        r.iTimestampMs = -STREAM_MAX_TIMESTAMP;
      }
      attrs = sqlite3_column_int(pSel, 5);
      eCodecV = attrs & STREAM_ATTR_CODEC_MASK;
      r.zTopic = zTopic;
      r.nTopic = nTopic;
      r.iPartition = iPart;
      r.mTerm = 0;
      rc = streamTierColumn(pSel, 1, bUtf8, &r.pKey, &r.nKey, &eT);
      if( rc ) break;
      r.eKeyType = eT==SQLITE_NULL ? STREAM_PQ_NULL
                 : eT==SQLITE_BLOB ? STREAM_PQ_BLOB : STREAM_PQ_TEXT;
      rc = streamTierColumn(pSel, 2, bUtf8 || eCodecV!=STREAM_CODEC_NONE,
                            &pVal, &nVal, &eT);
      if( rc ) break;
      if( eCodecV!=STREAM_CODEC_NONE && eT!=SQLITE_NULL ){
        rc = sqlite3StreamDecompress(eCodecV, pVal, (size_t)nVal,
            STREAM_MAX_FIELD_BYTES, &pDec, &nDec);
        if( rc ){
          rc = sqlite3StreamErr(pzErr, rc==SQLITE_NOMEM ? rc : SQLITE_CORRUPT,
              "corrupt compressed value at %s/%d offset %lld", zTopic, iPart,
              r.iOffset);
          break;
        }
        r.pValue = pDec ? pDec : (void*)"";
        r.nValue = (int)nDec;
        r.eValueType = (attrs & STREAM_ATTR_BLOB) ? STREAM_PQ_BLOB
                                                  : STREAM_PQ_TEXT;
      }else{
        r.pValue = pVal;
        r.nValue = nVal;
        r.eValueType = eT==SQLITE_NULL ? STREAM_PQ_NULL
                     : eT==SQLITE_BLOB ? STREAM_PQ_BLOB : STREAM_PQ_TEXT;
      }
      rc = streamTierColumn(pSel, 3, bUtf8, (const void**)&r.zHeaders,
                            &r.nHeaders, &eT);
      if( rc==SQLITE_OK ){
        if( nRow==0 || r.iTimestampMs<iTsMin ) iTsMin = r.iTimestampMs;
        if( nRow==0 || r.iTimestampMs>iTsMax ) iTsMax = r.iTimestampMs;
        rc = sqlite3StreamPqWriterAdd(pW, &r);
      }
      sqlite3_free(pDec);
      if( rc ) break;
      nRow++;
    }
    {
      int rc2 = sqlite3_reset(pSel);
      if( rc==SQLITE_OK && rc2 ) rc = sqlite3StreamDbErr(p->db, pzErr, rc2);
    }
    if( rc || iOther<0 ) break;

    /* A message of another day at iOther: start again, ending before it. */
    pStore->pMethods->xPutAbort(sink.pUp);
    sink.pUp = 0;
    sqlite3StreamPqWriterFree(pW);
    pW = 0;
    sqlite3_free(zKey);
    zKey = 0;
    iCut = iOther;
  }
  memset(&seg, 0, sizeof(seg));
  seg.zLocation = zKey;
  seg.zTopic = zTopic;
  seg.iPartition = iPart;
  seg.iFirst = pP->iFrom;
  seg.iLast = iLast;
  seg.nMessages = nRow;
  seg.nBytes = -1;
  seg.iIncarnation = iInc;
  seg.nMaxValue = -1;
  if( rc==SQLITE_OK ){
    streamTierWriteMeta(pW, &seg);
    rc = sqlite3StreamPqWriterFinish(pW);
  }
  if( rc && rc!=SQLITE_NOMEM && (pzErr==0 || *pzErr==0) ){
    if( sink.zErr ){
      if( pzErr ){ sqlite3_free(*pzErr); *pzErr = sink.zErr; sink.zErr = 0; }
    }else{
      const char *zW = pW ? sqlite3StreamPqWriterErrmsg(pW) : 0;
      sqlite3StreamErr(pzErr, rc, "cannot write warm segment %s: %s", zKey,
                       zW ? zW : sqlite3_errstr(rc));
    }
  }
  if( rc ) goto out;
  if( nRow!=0 && nRow<=nMax ){
    StreamStoreUpload *pUp = sink.pUp;
    sink.pUp = 0;
    rc = pStore->pMethods->xPutCommit(pUp, pzErr);       /* steps 1-4 */
    if( rc ) goto out;
    bFile = 1;
    rc = streamTierVerify(pStore, &seg, pP->iFrom, iLast, &nBytes, pzErr);
    if( rc ) goto out;
    STREAM_TIER_CRASH(5);
  }else{
    rc = sqlite3StreamErr(pzErr, SQLITE_INTERNAL,
        "warm segment %s: %lld rows read, at most %lld expected", zKey, nRow,
        nMax);
    goto out;
  }

  /* The index row and the delete, in the unit's transaction.  Rows of an
  ** earlier topic of the same name (dead: another incarnation) go first:
  ** the sweep would remove them, and their ranges are not this topic's.
  ** The _stream_segments_overlap trigger refuses a row overlapping another
  ** of the partition. */
  {
    char *zSql = sqlite3_mprintf(
        "UPDATE _stream_partitions SET next_offset=max(next_offset, %lld)"
        " WHERE topic=%Q AND partition=%d;"
        "DELETE FROM _stream_segments WHERE topic=%Q AND partition=%d"
        " AND incarnation<>%lld;"
        "INSERT INTO _stream_segments(topic, partition, first_offset,"
        " last_offset, first_timestamp, last_timestamp, messages, bytes,"
        " location, codec, created_at, incarnation)"
        " VALUES(%Q, %d, %lld, %lld, %lld, %lld, %lld, %lld, %Q, %d, %lld,"
        " %lld);"
        "DELETE FROM _stream_messages WHERE topic=%Q AND partition=%d"
        " AND offset<=%lld;",
        pP->iHwm, zTopic, iPart,
        zTopic, iPart, iInc,
        zTopic, iPart, pP->iFrom, iLast, iTsMin, iTsMax, nRow, nBytes, zKey,
        eCodec, sqlite3StreamNow(p), iInc,
        zTopic, iPart, iLast);
    if( zSql==0 ){ rc = SQLITE_NOMEM; goto out; }
    rc = streamTierExec(p, zSql, pzErr);
    sqlite3_free(zSql);
    if( rc ) goto out;
  }
  STREAM_TIER_CRASH(6);
  bFile = 0;
  pStats->nSegment++;
  pStats->nMessage += nRow;
  pStats->nBytes += nBytes;

 out:
  rc = streamTierEnd(p, bSp, rc, pzErr);
  if( rc && bFile ){
    /* Not recorded: remove it now rather than leave an orphan. */
    pStore->pMethods->xDelete(pStore, zKey, 0);
  }
  if( sink.pUp ) pStore->pMethods->xPutAbort(sink.pUp);
  sqlite3_finalize(pSel);
  sqlite3StreamPqWriterFree(pW);
  sqlite3_free(sink.zErr);
  sqlite3_free(zKey);
  return rc;
}

/**************************************************************************
** Warm retention and the orphan sweep.
*/

/* A list of keys to delete after a statement is done. */
typedef struct StreamTierKeys StreamTierKeys;
struct StreamTierKeys {
  char **azKey;                /* Keys (sqlite3_malloc'd) */
  int nKey;                    /* Used */
  int nAlloc;                  /* Allocated */
  int rc;                      /* SQLITE_NOMEM after a failed append */
};

static void streamTierKeysAdd(StreamTierKeys *pK, const char *zKey){
  if( pK->rc ) return;
  if( pK->nKey==pK->nAlloc ){
    int nNew = pK->nAlloc ? pK->nAlloc*2 : 16;
    char **aNew = sqlite3_realloc64(pK->azKey, sizeof(char*)*nNew);
    if( aNew==0 ){ pK->rc = SQLITE_NOMEM; return; }
    pK->azKey = aNew;
    pK->nAlloc = nNew;
  }
  pK->azKey[pK->nKey] = sqlite3_mprintf("%s", zKey);
  if( pK->azKey[pK->nKey]==0 ){ pK->rc = SQLITE_NOMEM; return; }
  pK->nKey++;
}

/* Delete every listed object (failures leave orphans: no error) if
** bDelete, else only forget them.  Callers pass bDelete only when no
** enclosing transaction holds uncommitted changes: inside one (BEGIN ...
** stream_maintain() ... COMMIT, or INSERT ... SELECT stream_tier()) a
** ROLLBACK or a crash would bring back segment rows naming deleted files.
** Files left alone are orphans for a later sweep. */
static void streamTierKeysDelete(StreamStore *pStore, StreamTierKeys *pK,
                                 int bDelete){
  int i;
  for(i=0; i<pK->nKey; i++){
    /* Never a file of another database's namespace, whatever a row says. */
    if( bDelete && streamTierOwned(pStore, pK->azKey[i]) ){
      pStore->pMethods->xDelete(pStore, pK->azKey[i], 0);
    }
    sqlite3_free(pK->azKey[i]);
  }
  sqlite3_free(pK->azKey);
  memset(pK, 0, sizeof(*pK));
}

static int streamTierExpire(StreamCtx *p, StreamStore *pStore,
                            const char *zTopic, int iPart,
                            const StreamTopicConfig *pCfg,
                            StreamTierStats *pStats, char **pzErr){
  sqlite3_stmt *pSeg = 0;
  StreamTierKeys keys;
  i64 nTotal = 0, iCutoff = 0, iStart = -1;
  i64 iColdHold = 0;           /* cold tier: first offset not archived */
  int rc, bSp = 0;
  int bTime = pCfg->retentionMs>=0;
  int bSize = pCfg->retentionBytes>=0;
  memset(&keys, 0, sizeof(keys));
  if( (pCfg->eCleanup & STREAM_CLEANUP_DELETE)==0 || (!bTime && !bSize) ){
    return SQLITE_OK;
  }
  if( bTime ) iCutoff = sqlite3StreamNow(p) - pCfg->retentionMs;
  if( bSize ){
    i64 nWarm = 0, nHot = 0;
    rc = streamTierInt(p, "SELECT sum(bytes) FROM _stream_segments"
        " WHERE topic=?1 AND partition=?2", zTopic, iPart, 0, 0, 0,
        &nWarm, pzErr);
    if( rc==SQLITE_OK ){
      rc = streamTierInt(p, "SELECT sum(coalesce(length(CAST(key AS BLOB)),0)"
          "+coalesce(length(CAST(value AS BLOB)),0)"
          "+coalesce(length(CAST(headers AS BLOB)),0))"
          " FROM _stream_messages WHERE topic=?1 AND partition=?2",
          zTopic, iPart, 0, 0, 0, &nHot, pzErr);
    }
    if( rc ) return rc;
    nTotal = nWarm + nHot;
  }
  pSeg = sqlite3StreamStmtStatic(p,
      "SELECT first_offset, last_offset, last_timestamp, bytes, location"
      " FROM _stream_segments WHERE topic=?1 AND partition=?2"
      " ORDER BY first_offset", pzErr);
  if( pSeg==0 ) return SQLITE_ERROR;
  sqlite3_bind_text(pSeg, 1, zTopic, -1, SQLITE_STATIC);
  sqlite3_bind_int(pSeg, 2, iPart);
  {
    /* Cold tier: never expire what is not archived yet (ext/cold.c). */
    rc = sqlite3StreamColdHold(p, zTopic, iPart, pCfg, &iColdHold, pzErr);
    if( rc ){ sqlite3_reset(pSeg); return rc; }
  }
  while( sqlite3_step(pSeg)==SQLITE_ROW ){
    i64 nBytes = sqlite3_column_int64(pSeg, 3);
    int bGo = (bTime && sqlite3_column_int64(pSeg, 2)<iCutoff)
           || (bSize && nTotal-nBytes>=pCfg->retentionBytes);
    if( !bGo ) break;
    if( sqlite3_column_int64(pSeg, 1)>=iColdHold ) break;   /* cold hold */
    nTotal -= nBytes;
    iStart = sqlite3StreamOffsetAfter(sqlite3_column_int64(pSeg, 1));
    streamTierKeysAdd(&keys, (const char*)sqlite3_column_text(pSeg, 4));
  }
  rc = sqlite3_reset(pSeg);
  if( rc ) rc = sqlite3StreamDbErr(p->db, pzErr, rc);
  if( rc==SQLITE_OK ) rc = keys.rc;
  if( rc==SQLITE_OK && keys.nKey>0 ){
    char *zSql = sqlite3_mprintf(
        "UPDATE _stream_partitions SET"
        " log_start_offset=max(log_start_offset, %lld)"
        " WHERE topic=%Q AND partition=%d;"
        "DELETE FROM _stream_segments WHERE topic=%Q AND partition=%d"
        " AND last_offset<%lld;", iStart, zTopic, iPart, zTopic, iPart, iStart);
    rc = streamTierBegin(p, &bSp, pzErr);
    if( rc==SQLITE_OK ){
      rc = zSql ? streamTierExec(p, zSql, pzErr) : SQLITE_NOMEM;
      rc = streamTierEnd(p, bSp, rc, pzErr);
    }
    sqlite3_free(zSql);
    if( rc==SQLITE_OK ){
      pStats->nExpired += keys.nKey;
      /* Committed unless an enclosing transaction is still open. */
      streamTierKeysDelete(pStore, &keys,
                           sqlite3_txn_state(p->db, 0)!=SQLITE_TXN_WRITE);
    }
  }
  for(; keys.nKey>0; keys.nKey--) sqlite3_free(keys.azKey[keys.nKey-1]);
  sqlite3_free(keys.azKey);
  return rc;
}

typedef struct StreamTierSweep StreamTierSweep;
struct StreamTierSweep {
  StreamCtx *p;                /* Connection */
  sqlite3_stmt *pFind;         /* Is there a row with this location? */
  StreamTierKeys keys;         /* Orphans found */
};

/* A file of this database's namespace is an orphan if it is a temporary
** file, or a segment file (".parquet") that no row names.  Other files are
** left alone. */
static int streamTierSweepCb(void *pArg, const char *zKey){
  StreamTierSweep *pS = (StreamTierSweep*)pArg;
  int bOrphan = 0;
  size_t n = strlen(zKey);
  if( n>12 && strcmp(zKey+n-12, ".parquet.tmp")==0 ){
    bOrphan = 1;
  }else if( n>8 && strcmp(zKey+n-8, ".parquet")==0 ){
    sqlite3_bind_text(pS->pFind, 1, zKey, -1, SQLITE_STATIC);
    bOrphan = sqlite3_step(pS->pFind)==SQLITE_DONE;
    if( sqlite3_reset(pS->pFind)!=SQLITE_OK ) bOrphan = 0;
  }
  if( bOrphan ) streamTierKeysAdd(&pS->keys, zKey);
  return pS->keys.rc!=SQLITE_OK;
}

/* Remove segment rows of deleted (or deleted and re-created) topics: rows
** whose incarnation is not their topic's.  Then every orphan file under
** this database's namespace (zTopic/ of it if zTopic is not NULL).  Files
** outside the namespace are never listed, so another database sharing
** the store is never touched. */
static int streamTierSweep(StreamCtx *p, StreamStore *pStore,
                           const char *zTopic, StreamTierStats *pStats,
                           char **pzErr){
  StreamTierSweep s;
  char *zPrefix = 0;
  int rc, bSp = 0;
  /* Under the write lock taken below, only this sweep's own changes are
  ** uncommitted, unless an enclosing transaction already wrote. */
  int bOuter = sqlite3_txn_state(p->db, 0)!=SQLITE_TXN_WRITE;
  memset(&s, 0, sizeof(s));
  s.p = p;
  rc = streamTierBegin(p, &bSp, pzErr);       /* the write lock */
  if( rc ) return rc;
  rc = streamTierExec(p, "DELETE FROM _stream_segments AS s WHERE NOT EXISTS"
      " (SELECT 1 FROM _stream_topics t WHERE t.name=s.topic"
      "  AND t.incarnation=s.incarnation)", pzErr);
  if( rc==SQLITE_OK && pStore->zNs ){
    rc = streamTierPrepare(p, &s.pFind, pzErr,
        "SELECT 1 FROM _stream_segments WHERE location=?1");
    if( rc==SQLITE_OK ){
      zPrefix = zTopic ? sqlite3_mprintf("%s/%s/", pStore->zNs, zTopic)
                       : sqlite3_mprintf("%s/", pStore->zNs);
      if( zPrefix==0 ) rc = SQLITE_NOMEM;
    }
    if( rc==SQLITE_OK ){
      rc = pStore->pMethods->xList(pStore, zPrefix, streamTierSweepCb, &s,
                                   pzErr);
      if( rc==SQLITE_OK ) rc = s.keys.rc;
    }
  }
  sqlite3_finalize(s.pFind);
  /* Files go only once the row deletions above are committed. */
  rc = streamTierEnd(p, bSp, rc, pzErr);
  if( rc==SQLITE_OK ){
    pStats->nOrphan += s.keys.nKey;
    streamTierKeysDelete(pStore, &s.keys, bOuter);
  }
  for(; s.keys.nKey>0; s.keys.nKey--) sqlite3_free(s.keys.azKey[s.keys.nKey-1]);
  sqlite3_free(s.keys.azKey);
  sqlite3_free(zPrefix);
  return rc;
}

/**************************************************************************
** Entry points.
*/

/* Expire, then move everything eligible, for one topic. */
static int streamTierTopic(StreamCtx *p, StreamStore *pStore,
                           const char *zTopic, StreamTierStats *pStats,
                           char **pzErr){
  StreamTopicConfig cfg;
  int nPart = 0, iPart, rc;
  i64 iInc = 0;
  rc = streamTierTopicConfig(p, zTopic, &cfg, &nPart, &iInc, pzErr);
  for(iPart=0; rc==SQLITE_OK && iPart<nPart; iPart++){
    StreamTierPart part;
    rc = streamTierExpire(p, pStore, zTopic, iPart, &cfg, pStats, pzErr);
    while( rc==SQLITE_OK && !pStore->bLegacy ){
      rc = streamTierEligible(p, zTopic, iPart, iInc, &cfg, &part, pzErr);
      if( rc || part.iFrom<0 || part.iCut<=part.iFrom ) break;
      {
        i64 nBefore = pStats->nMessage;
        rc = streamTierMoveOne(p, pStore, zTopic, iPart, iInc, &cfg, &part,
                               STREAM_TIER_MAX_FILE_ROWS, pStats, pzErr);
        if( pStats->nMessage==nBefore ) break;
      }
    }
  }
  return rc;
}

/* The error of stream_tier(topic) when no store is configured. */
static int streamTierNoStoreErr(const char *zTopic, const StreamStore *pLegacy,
                                char **pzErr){
  if( pLegacy ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR, "cannot tier topic %s: no"
        " warm store is configured; this database's earlier segments are in"
        " %s, adopt it with stream_config('warm.store', '%s')", zTopic,
        pLegacy->zUrl+7, pLegacy->zUrl);
  }
  return sqlite3StreamErr(pzErr, SQLITE_ERROR, "cannot tier topic %s: no warm"
      " store is configured, messages stay in the database file (set one"
      " with stream_config('warm.store', 'file:///path'))", zTopic);
}

/* stream_tier() (bAsked: a topic named without a store is an error) and
** stream_maintain() (it is not: there is nothing to do). */
static int streamTierRun(StreamCtx *p, const char *zTopic, int bAsked,
                         StreamTierStats *pStats, char **pzErr){
  StreamStore *pStore = 0;
  sqlite3_stmt *pList = 0;
  StreamTierKeys topics;
  int rc, i;
  memset(pStats, 0, sizeof(*pStats));
  memset(&topics, 0, sizeof(topics));
  if( zTopic ){
    StreamTopic t;
    rc = sqlite3StreamTopicGet(p, zTopic, &t, pzErr);
    if( rc ) return rc;
  }
  rc = sqlite3StreamTierStore(p, &pStore, pzErr);
  if( rc==SQLITE_OK && bAsked && zTopic && (pStore==0 || pStore->bLegacy) ){
    /* Asked to tier this topic: say why nothing can move. */
    rc = streamTierNoStoreErr(zTopic, pStore, pzErr);
  }
  if( rc || pStore==0 ){
    streamTierStoreFree(pStore);
    return rc;
  }
  rc = sqlite3StreamEnsureSchema(p, pzErr);
  if( rc==SQLITE_OK ) rc = streamTierSweep(p, pStore, zTopic, pStats, pzErr);
  if( rc==SQLITE_OK && zTopic ){
    streamTierKeysAdd(&topics, zTopic);
  }else if( rc==SQLITE_OK ){
    rc = streamTierPrepare(p, &pList, pzErr,
        "SELECT name FROM _stream_topics ORDER BY name");
    while( rc==SQLITE_OK && sqlite3_step(pList)==SQLITE_ROW ){
      streamTierKeysAdd(&topics, (const char*)sqlite3_column_text(pList, 0));
    }
    if( rc==SQLITE_OK ){
      rc = sqlite3_finalize(pList);
      if( rc ) rc = sqlite3StreamDbErr(p->db, pzErr, rc);
    }
  }
  if( rc==SQLITE_OK ) rc = topics.rc;
  for(i=0; rc==SQLITE_OK && i<topics.nKey; i++){
    rc = streamTierTopic(p, pStore, topics.azKey[i], pStats, pzErr);
  }
  for(i=0; i<topics.nKey; i++) sqlite3_free(topics.azKey[i]);
  sqlite3_free(topics.azKey);
  streamTierStoreFree(pStore);
  return rc;
}

int sqlite3StreamTier(StreamCtx *p, const char *zTopic,
                      StreamTierStats *pStats, char **pzErr){
  return streamTierRun(p, zTopic, 1, pStats, pzErr);
}

int sqlite3StreamTierMaintain(StreamCtx *p, const char *zTopic,
                              StreamTierStats *pStats, char **pzErr){
  return streamTierRun(p, zTopic, 0, pStats, pzErr);
}

void sqlite3StreamTierAfterAppend(StreamCtx *p, const char *zTopic, int iPart,
                                  i64 iOffset){
  StreamStore *pStore = 0;
  StreamTopicConfig cfg;
  StreamTierPart part;
  StreamTierStats st;
  int nPart = 0, rc;
  i64 iInc = 0;
  if( iOffset>=STREAM_MAX_OFFSET || (iOffset+1) % STREAM_TIER_CHECK_EVERY ){
    return;
  }
  rc = sqlite3StreamTierStore(p, &pStore, 0);
  if( rc || pStore==0 || !pStore->bLocal || pStore->bLegacy ) goto out;
  rc = sqlite3StreamEnsureSchema(p, 0);
  if( rc ) goto out;
  rc = streamTierTopicConfig(p, zTopic, &cfg, &nPart, &iInc, 0);
  if( rc ) goto out;
  rc = streamTierEligible(p, zTopic, iPart, iInc, &cfg, &part, 0);
  if( rc || part.iFrom<0 || part.iCut<=part.iFrom ) goto out;
  if( part.iCut-part.iFrom<STREAM_TIER_HOOK_MIN_ROWS
   && (cfg.hotRetentionMs<0
       || part.iFirstTs/2 >= sqlite3StreamNow(p)/2 - cfg.hotRetentionMs) ){
    goto out;
  }
  memset(&st, 0, sizeof(st));
  streamTierMoveOne(p, pStore, zTopic, iPart, iInc, &cfg, &part,
                    STREAM_TIER_HOOK_MAX_ROWS, &st, 0);
 out:
  streamTierStoreFree(pStore);
}

int sqlite3StreamTierDropTopic(StreamCtx *p, const char *zTopic,
                               char **pzErr){
  StreamStore *pStore = 0;
  StreamTierStats st;
  char *zSql;
  int rc = sqlite3StreamTierStore(p, &pStore, pzErr);
  if( rc ) return rc;
  zSql = sqlite3_mprintf("DELETE FROM _stream_segments WHERE topic=%Q",
                         zTopic);
  rc = zSql ? sqlite3_exec(p->db, zSql, 0, 0, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if( rc && rc!=SQLITE_NOMEM ){
    if( sqlite3StreamNoStorage(p->db) ) rc = SQLITE_OK;
    else rc = sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  if( rc==SQLITE_OK && pStore ){
    memset(&st, 0, sizeof(st));
    streamTierSweep(p, pStore, zTopic, &st, 0);     /* best effort */
  }
  streamTierStoreFree(pStore);
  return rc;
}

int sqlite3StreamTierSettingCheck(StreamCtx *p, const char *zName,
                                  const char *zValue, char **pzErr){
  STREAM_UNUSED(p);
  /* cold.store (ext/cold.c) takes the same URLs as warm.store. */
  if( (strcmp(zName, "warm.store")!=0 && strcmp(zName, "cold.store")!=0)
   || zValue==0 ) return SQLITE_OK;
  {
    int rc = sqlite3StreamStoreUrlCheck(zValue, pzErr);
    char *z = rc && pzErr && *pzErr ? strstr(*pzErr, "warm.store") : 0;
    if( z && zName[0]=='c' ) memcpy(z, "cold", 4);   /* name the setting */
    return rc;
  }
}

/**************************************************************************
** The warm reader (vtab/messages.c), and its per-connection cache.
**
** A consumer polling a warm backlog runs one short scan per poll (offset
** >= position LIMIT n).  Without a cache every poll opens the segment
** file, reads and parses its footer, then decodes the row group's pages
** from their start only to skip to the position.  The cache keeps the
** last STREAM_WARM_CACHE_SIZE readers a connection closed (LRU), each
** with where it stopped: the next scan of the same file that starts past
** the last row read (or at it: that row is handed back) continues from
** there, with the page already decoded; any other scan reuses the open
** file and the parsed footer and seeks as usual.
**
** An entry is only reused for the same key and store URL and after the
** file's identity (xStat: size, mtime, inode) is checked against the one
** it was opened with, so a file deleted, rewritten (compaction writes a
** new name anyway) or replaced behind our back is never read through a
** stale reader: the entry is dropped and the file opened afresh.  Files
** are immutable once named, and which files a scan reads still comes from
** the segment index in the scan's own transaction, so the cache is safe
** across transactions and connections (each connection has its own).
*/
#define STREAM_WARM_CACHE_SIZE 8

struct StreamWarmCursor {
  StreamStore *pStore;         /* Store (borrowed, or pOwnStore) */
  StreamStore *pOwnStore;      /* Store owned (cached cursors), or NULL */
  StreamWarmCache *pCache;     /* Cache to return the reader to, or NULL */
  StreamStoreHandle h;         /* Open file */
  StreamPqReader *pR;          /* Reader */
  char *zKey;                  /* Object key (messages) */
  StreamSegment seg;           /* The row the file was checked against
                               ** (zLocation = zKey, zTopic = zSegTopic) */
  char *zSegTopic;             /* Topic of seg (owned) */
  i64 iPrev;                   /* Offset of the row read before, or
                               ** SMALLEST_INT64 at a group's start */
  StreamStoreId id;            /* Identity of the open file */
  i64 iLo, iHi;                /* Offset bounds, inclusive */
  i64 iTsLo, iTsHi;            /* Timestamp bounds, inclusive */
  int bDesc;                   /* Descending order */
  int iGroup;                  /* Row group being read / next to read */
  i64 nGroupLeft;              /* Rows of iGroup not yet read (ascending) */
  int bDone;                   /* No more rows */
  unsigned mWant;              /* Columns wanted (0: all) */
  /* Ascending: the last row read from the reader (returned or not). */
  int bLast;                   /* last is valid (its bytes are in the page) */
  StreamPqRow last;            /* The row */
  int iPosGroup;               /* Ascending: group the reader is in, or -1 */
  i64 nPosLeft;                /* ... rows of it the reader has not read */
  int bResume;                 /* First Next() may continue from resume */
  int iResumeGroup;            /* ... the reader is inside this group */
  i64 nResumeLeft;             /* ... with this many rows of it left */
  /* Descending: one row group buffered, returned from the end. */
  StreamPqRow *aRow;           /* Rows (pointers relative to buf.a) */
  int nRow, nRowAlloc;         /* Used/allocated in aRow */
  StreamPqBuf buf;             /* Their bytes */
  StreamPqRow cur;             /* Row returned */
};

/* One cached reader. */
typedef struct StreamWarmEntry StreamWarmEntry;
struct StreamWarmEntry {
  char *zKey;                  /* Object key, or NULL if the slot is free */
  StreamSegment seg;           /* Row the file was checked against */
  char *zSegTopic;             /* Topic of seg (owned) */
  StreamStore *pStore;         /* Store (owned) */
  StreamStoreHandle h;         /* Open file */
  StreamPqReader *pR;          /* Reader */
  StreamStoreId id;            /* Identity of the open file */
  int bResume;                 /* Ascending position below is valid */
  int iGroup;                  /* Group the reader is inside */
  i64 nGroupLeft;              /* Rows of it not read */
  int bLast;                   /* last is valid */
  StreamPqRow last;            /* Last row read */
  u64 iUsed;                   /* LRU clock */
};

struct StreamWarmCache {
  StreamWarmEntry a[STREAM_WARM_CACHE_SIZE];
  u64 iClock;                  /* Ticks at every put */
  i64 nHit, nResume, nMiss;    /* Statistics (tests) */
};

static void streamWarmEntryClear(StreamWarmEntry *pE){
  sqlite3StreamPqReaderClose(pE->pR);
  if( pE->h.pFile ) pE->pStore->pMethods->xClose(pE->h.pFile);
  if( pE->pStore ) pE->pStore->pMethods->xFree(pE->pStore);
  sqlite3_free(pE->zKey);
  sqlite3_free(pE->zSegTopic);
  memset(pE, 0, sizeof(*pE));
}

/* Was the cached file checked against the same row as pSeg? */
static int streamWarmSameRow(const StreamSegment *pA, const StreamSegment *pB){
  return strcmp(pA->zTopic, pB->zTopic)==0 && pA->iPartition==pB->iPartition
      && pA->iFirst==pB->iFirst && pA->iLast==pB->iLast
      && pA->nMessages==pB->nMessages && pA->nBytes==pB->nBytes
      && pA->iIncarnation==pB->iIncarnation && pA->nMaxValue==pB->nMaxValue;
}

int sqlite3StreamWarmCacheNew(StreamWarmCache **pp){
  *pp = sqlite3_malloc64(sizeof(StreamWarmCache));
  if( *pp==0 ) return SQLITE_NOMEM;
  memset(*pp, 0, sizeof(StreamWarmCache));
  return SQLITE_OK;
}

void sqlite3StreamWarmCacheFree(StreamWarmCache *pCache){
  int i;
  if( pCache==0 ) return;
  for(i=0; i<STREAM_WARM_CACHE_SIZE; i++){
    streamWarmEntryClear(&pCache->a[i]);
  }
  sqlite3_free(pCache);
}

void sqlite3StreamWarmCacheStats(StreamWarmCache *pCache, i64 *pnHit,
                                 i64 *pnResume, i64 *pnMiss){
  *pnHit = pCache ? pCache->nHit : 0;
  *pnResume = pCache ? pCache->nResume : 0;
  *pnMiss = pCache ? pCache->nMiss : 0;
}

static int streamWarmErr(StreamWarmCursor *pC, int rc, char **pzErr){
  const char *z = pC->pR ? sqlite3StreamPqReaderErrmsg(pC->pR) : 0;
  return sqlite3StreamErr(pzErr, rc, "warm segment %s: %s", pC->zKey,
                          z ? z : sqlite3_errstr(rc));
}

/* Take the cached reader of pSeg's file (same store URL, same file
** identity, checked against the same row) into pC.  Returns 1 if it did. */
static int streamWarmCacheTake(StreamWarmCache *pCache, StreamStore *pStore,
                               const StreamSegment *pSeg,
                               StreamWarmCursor *pC){
  const char *zKey = pSeg->zLocation;
  int i;
  for(i=0; i<STREAM_WARM_CACHE_SIZE; i++){
    StreamWarmEntry *pE = &pCache->a[i];
    StreamStoreId now;
    if( pE->zKey==0 || strcmp(pE->zKey, zKey)!=0 ) continue;
    if( strcmp(pE->pStore->zUrl, pStore->zUrl)!=0
     || !streamWarmSameRow(&pE->seg, pSeg)
     || pStore->pMethods->xStat==0
     || pStore->pMethods->xStat(pStore, zKey, &now)!=SQLITE_OK
     || memcmp(&now, &pE->id, sizeof(now))!=0
    ){
      streamWarmEntryClear(pE);       /* stale: deleted or replaced */
      return 0;
    }
    pC->pOwnStore = pE->pStore;
    pC->pStore = pE->pStore;
    pC->h = pE->h;
    pC->pR = pE->pR;
    pC->id = pE->id;
    pC->bResume = pE->bResume;
    pC->iResumeGroup = pE->iGroup;
    pC->nResumeLeft = pE->nGroupLeft;
    pC->bLast = pE->bLast;
    pC->last = pE->last;
    sqlite3_free(pE->zKey);
    sqlite3_free(pE->zSegTopic);
    memset(pE, 0, sizeof(*pE));
    pCache->nHit++;
    return 1;
  }
  return 0;
}

/* Hand pC's reader to the cache (evicting the least recently used).
** Returns 1 if the cache took it. */
static int streamWarmCachePut(StreamWarmCursor *pC){
  StreamWarmCache *pCache = pC->pCache;
  StreamWarmEntry *pE = 0;
  int i;
  if( pCache==0 || pC->pR==0 || pC->pOwnStore==0
   || sqlite3StreamPqReaderErrmsg(pC->pR)!=0 ){
    return 0;
  }
  for(i=0; i<STREAM_WARM_CACHE_SIZE; i++){
    StreamWarmEntry *p = &pCache->a[i];
    if( p->zKey==0 ){ pE = p; break; }
    if( pE==0 || p->iUsed<pE->iUsed ) pE = p;
  }
  streamWarmEntryClear(pE);
  pE->zKey = pC->zKey;
  pC->zKey = 0;
  pE->seg = pC->seg;
  pE->seg.zLocation = pE->zKey;
  pE->zSegTopic = pC->zSegTopic;
  pC->zSegTopic = 0;
  pE->pStore = pC->pOwnStore;
  pE->h = pC->h;
  pE->pR = pC->pR;
  pE->id = pC->id;
  pE->bResume = !pC->bDesc && pC->iPosGroup>=0
             && pC->iPosGroup<sqlite3StreamPqReaderGroups(pC->pR)
             && pC->nPosLeft>0;
  pE->iGroup = pC->iPosGroup;
  pE->nGroupLeft = pC->nPosLeft;
  pE->bLast = pE->bResume && pC->bLast;
  if( !pE->bResume ){
    /* Nothing to continue (a file read to its end, a DESC scan): keep
    ** the open file and the footer, not the decoded pages. */
    sqlite3StreamPqReaderRelease(pE->pR);
  }
  pE->last = pC->last;
  pE->iUsed = ++pCache->iClock;
  sqlite3StreamPqReaderSetSource(pE->pR, &pE->h);
  pC->pOwnStore = 0;
  pC->h.pFile = 0;
  pC->pR = 0;
  return 1;
}

int sqlite3StreamWarmOpen(StreamStore *pStore, StreamWarmCache *pCache,
                          const StreamSegment *pSeg, i64 iLo,
                          i64 iHi, i64 iTsLo, i64 iTsHi, int bDesc,
                          StreamWarmCursor **pp, char **pzErr){
  StreamWarmCursor *pC;
  i64 nFile = 0;
  int rc;
  *pp = 0;
  pC = sqlite3_malloc64(sizeof(*pC));
  if( pC==0 ) return SQLITE_NOMEM;
  memset(pC, 0, sizeof(*pC));
  pC->pStore = pStore;
  pC->pCache = pCache;
  pC->iLo = iLo; pC->iHi = iHi; pC->iTsLo = iTsLo; pC->iTsHi = iTsHi;
  pC->bDesc = bDesc;
  pC->iPrev = SMALLEST_INT64;
  pC->zKey = sqlite3_mprintf("%s", pSeg->zLocation);
  pC->zSegTopic = sqlite3_mprintf("%s", pSeg->zTopic);
  if( pC->zKey==0 || pC->zSegTopic==0 ){ rc = SQLITE_NOMEM; goto fail; }
  pC->seg = *pSeg;
  pC->seg.zLocation = pC->zKey;
  pC->seg.zTopic = pC->zSegTopic;
  if( pCache && streamWarmCacheTake(pCache, pStore, pSeg, pC) ){
    pC->h.pStore = pC->pStore;
    if( bDesc ) pC->bResume = 0;
    goto opened;
  }
  if( pCache ){
    /* The cache keeps the reader beyond this statement: its own store. */
    pCache->nMiss++;
    rc = sqlite3StreamStoreOpen(pStore->zUrl, 0, &pC->pOwnStore, pzErr);
    if( rc ) goto fail;
    pC->pStore = pC->pOwnStore;
  }
  rc = streamTierOpenSegment(pC->pStore, &pC->seg, &pC->h, &pC->pR, &nFile,
                             pzErr);
  if( rc ) goto fail;
  if( pC->pStore->pMethods->xFileId ){
    pC->pStore->pMethods->xFileId(pC->h.pFile, &pC->id);
  }
 opened:
  /* The StreamStoreHandle moved: the reader's callback context too. */
  sqlite3StreamPqReaderSetSource(pC->pR, &pC->h);
  pC->iGroup = bDesc ? sqlite3StreamPqReaderGroups(pC->pR)-1 : 0;
  pC->nGroupLeft = -1;
  if( !pC->bResume ) pC->iPosGroup = -1;
  else{
    pC->iPosGroup = pC->iResumeGroup;
    pC->nPosLeft = pC->nResumeLeft;
  }
  *pp = pC;
  return SQLITE_OK;
 fail:
  sqlite3StreamWarmClose(pC);
  return rc;
}

/* Does row group g possibly hold a row inside the bounds?  Sets *pbPast
** when it (and, in the direction of reading, every later group) lies
** beyond the offset bounds. */
static int streamWarmGroupOk(StreamWarmCursor *pC, int g, int *pbPast){
  const StreamPqGroupInfo *pI = sqlite3StreamPqReaderGroup(pC->pR, g);
  *pbPast = 0;
  if( pI==0 || !pI->bStats ) return 1;
  if( pC->bDesc ? pI->iOffsetMax<pC->iLo : pI->iOffsetMin>pC->iHi ){
    *pbPast = 1;
    return 0;
  }
  if( pI->iOffsetMax<pC->iLo || pI->iOffsetMin>pC->iHi ) return 0;
  if( pI->iTimestampMax<pC->iTsLo || pI->iTimestampMin>pC->iTsHi ) return 0;
  return 1;
}

static int streamWarmRowOk(StreamWarmCursor *pC, const StreamPqRow *r){
  return r->iOffset>=pC->iLo && r->iOffset<=pC->iHi
      && r->iTimestampMs>=pC->iTsLo && r->iTimestampMs<=pC->iTsHi;
}

/* Ascending, first call: continue where the cached reader stopped if
** this scan starts at or past the last row it read, inside the same
** group, and the group decodes every column wanted. */
static void streamWarmResume(StreamWarmCursor *pC){
  const StreamPqGroupInfo *pI;
  pC->bResume = 0;
  if( pC->bDesc ) return;
  pI = sqlite3StreamPqReaderGroup(pC->pR, pC->iResumeGroup);
  if( pI==0 || !pI->bStats || pI->iOffsetMax<pC->iLo ) return;
  if( (sqlite3StreamPqReaderColumns(pC->pR) & pC->mWant)!=pC->mWant ) return;
  if( pC->bLast && pC->last.iOffset>=pC->iLo ){
    /* Only the very last row can be handed back. */
    if( pC->last.iOffset!=pC->iLo ) return;
    if( sqlite3StreamPqReaderUnread(pC->pR, &pC->last) ) return;
    pC->nResumeLeft++;
    pC->bLast = 0;
  }else if( !pC->bLast ){
    /* Nothing read yet in that group: a plain seek costs the same. */
    return;
  }
  pC->iGroup = pC->iResumeGroup;
  pC->nGroupLeft = pC->nResumeLeft;
  pC->nPosLeft = pC->nResumeLeft;
  if( pC->pCache ) pC->pCache->nResume++;
}
/* Descending: buffer the rows of group pC->iGroup that pass the bounds. */
static int streamWarmLoadGroup(StreamWarmCursor *pC, char **pzErr){
  const StreamPqGroupInfo *pI = sqlite3StreamPqReaderGroup(pC->pR, pC->iGroup);
  i64 i;
  int rc = sqlite3StreamPqReaderSeekGroup(pC->pR, pC->iGroup);
  if( rc ) return streamWarmErr(pC, rc, pzErr);
  sqlite3StreamPqBufReset(&pC->buf);
  pC->nRow = 0;
  for(i=0; i<pI->nRows; i++){
    StreamPqRow r;
    rc = sqlite3StreamPqReaderNext(pC->pR, &r);
    if( rc!=SQLITE_ROW ){
      if( rc==SQLITE_DONE ) rc = SQLITE_CORRUPT;
      return streamWarmErr(pC, rc, pzErr);
    }
    if( i==0 ) pC->iPrev = SMALLEST_INT64;
    rc = streamTierRowCheck(pC->zKey, pI, &pC->iPrev, r.iOffset, pzErr);
    if( rc ) return rc;
    if( !streamWarmRowOk(pC, &r) ) continue;
    if( pC->nRow==pC->nRowAlloc ){
      int nNew = pC->nRowAlloc ? pC->nRowAlloc*2 : 256;
      StreamPqRow *aNew = sqlite3_realloc64(pC->aRow, sizeof(*aNew)*nNew);
      if( aNew==0 ) return SQLITE_NOMEM;
      pC->aRow = aNew;
      pC->nRowAlloc = nNew;
    }
    /* Store byte offsets; turned into pointers when returned. */
    /* Each field is followed by a 0 byte (see STREAM_PQ_TERM_*). */
#define WARM_KEEP(PTR, NBYTE, BIT) \
    if( PTR ){ size_t o = pC->buf.n; \
      sqlite3StreamPqBufAppend(&pC->buf, PTR, (size_t)(NBYTE)); \
      sqlite3StreamPqBufAppend(&pC->buf, "", 1); \
      PTR = (void*)(o+1); r.mTerm |= (BIT); }
    r.mTerm = 0;
    WARM_KEEP(r.pKey, r.nKey, STREAM_PQ_TERM_KEY);
    WARM_KEEP(r.pValue, r.nValue, STREAM_PQ_TERM_VALUE);
    {
      const void *pH = r.zHeaders;
      WARM_KEEP(pH, r.nHeaders, STREAM_PQ_TERM_HEADERS);
      r.zHeaders = (const char*)pH;
    }
    r.zTopic = 0;
    r.nTopic = 0;
#undef WARM_KEEP
    if( pC->buf.rc ) return SQLITE_NOMEM;
    pC->aRow[pC->nRow++] = r;
  }
  return SQLITE_OK;
}

int sqlite3StreamWarmNext(StreamWarmCursor *pC, const StreamPqRow **ppRow,
                          char **pzErr){
  int rc, bPast;
  if( pC->bDone ) return SQLITE_DONE;
  if( pC->bResume ) streamWarmResume(pC);
  if( pC->bDesc ){
    while( pC->nRow==0 ){
      if( pC->nGroupLeft==0 ) pC->iGroup--;
      pC->nGroupLeft = 0;
      if( pC->iGroup<0 ){ pC->bDone = 1; return SQLITE_DONE; }
      if( !streamWarmGroupOk(pC, pC->iGroup, &bPast) ){
        if( bPast ){ pC->bDone = 1; return SQLITE_DONE; }
        continue;
      }
      rc = streamWarmLoadGroup(pC, pzErr);
      if( rc ) return rc;
    }
    {
      StreamPqRow *r = &pC->aRow[--pC->nRow];
      const u8 *a = pC->buf.a;
      pC->cur = *r;
#define WARM_PTR(ptr) if( ptr ) ptr = (void*)(a + ((size_t)(ptr) - 1));
      WARM_PTR(pC->cur.pKey);
      WARM_PTR(pC->cur.pValue);
      {
        const void *pH = pC->cur.zHeaders;
        WARM_PTR(pH);
        pC->cur.zHeaders = (const char*)pH;
      }
#undef WARM_PTR
      pC->cur.zTopic = "";
      *ppRow = &pC->cur;
      return SQLITE_ROW;
    }
  }
  while( 1 ){
    if( pC->nGroupLeft<=0 ){
      if( pC->nGroupLeft==0 ) pC->iGroup++;
      pC->nGroupLeft = 0;
      if( pC->iGroup>=sqlite3StreamPqReaderGroups(pC->pR) ){
        pC->bDone = 1;
        return SQLITE_DONE;
      }
      if( !streamWarmGroupOk(pC, pC->iGroup, &bPast) ){
        if( bPast ){ pC->bDone = 1; return SQLITE_DONE; }
        continue;
      }
      rc = sqlite3StreamPqReaderSeekGroup(pC->pR, pC->iGroup);
      if( rc ) return streamWarmErr(pC, rc, pzErr);
      pC->bLast = 0;
      pC->iPrev = SMALLEST_INT64;
      pC->nGroupLeft = sqlite3StreamPqReaderGroup(pC->pR, pC->iGroup)->nRows;
      pC->iPosGroup = pC->iGroup;
      pC->nPosLeft = pC->nGroupLeft;
      if( pC->nGroupLeft==0 ) continue;
    }
    pC->bLast = 0;
    rc = sqlite3StreamPqReaderNext(pC->pR, &pC->last);
    if( rc!=SQLITE_ROW ){
      if( rc==SQLITE_DONE ) rc = SQLITE_CORRUPT;
      return streamWarmErr(pC, rc, pzErr);
    }
    pC->bLast = 1;
    pC->nGroupLeft--;
    pC->nPosLeft--;
    rc = streamTierRowCheck(pC->zKey,
        sqlite3StreamPqReaderGroup(pC->pR, pC->iGroup), &pC->iPrev,
        pC->last.iOffset, pzErr);
    if( rc ) return rc;
    if( pC->last.iOffset>pC->iHi ){ pC->bDone = 1; return SQLITE_DONE; }
    if( !streamWarmRowOk(pC, &pC->last) ) continue;
    *ppRow = &pC->last;
    return SQLITE_ROW;
  }
}

void sqlite3StreamWarmColumns(StreamWarmCursor *pC, unsigned mWant){
  pC->mWant = mWant;
  sqlite3StreamPqReaderSetColumns(pC->pR, mWant);
}

void sqlite3StreamWarmClose(StreamWarmCursor *pC){
  if( pC==0 ) return;
  if( !streamWarmCachePut(pC) ){
    sqlite3StreamPqReaderClose(pC->pR);
    if( pC->h.pFile ) pC->pStore->pMethods->xClose(pC->h.pFile);
  }
  if( pC->pOwnStore ) pC->pOwnStore->pMethods->xFree(pC->pOwnStore);
  sqlite3StreamPqBufFree(&pC->buf);
  sqlite3_free(pC->aRow);
  sqlite3_free(pC->zKey);
  sqlite3_free(pC->zSegTopic);
  sqlite3_free(pC);
}


/**************************************************************************
** Compaction of warm segments (cleanup.policy compact, compact,delete).
**
** The hot tier's compactor (ext/compact.c) never sees warm rows, so a
** compacted partition's warm files would keep every version that was
** moved.  sqlite3StreamTierCompact() applies the same rule to them: a
** record is removed when a newer record of its key exists (in a newer
** segment or in the hot tier: every hot offset is above every warm one);
** a tombstone (NULL value) that is the latest of its key goes once it is
** below the cleaner's tombstone horizon (delete.retention.ms, see
** ext/compact.c) and is not the newest message of the partition; records
** with a NULL key go too (Kafka's cleaner drops them), unless newest.
** Keys compare as bytes.  Offsets are kept
** (gaps, as in Kafka).
**
** Segments are visited newest first, with a hash set of the keys seen
** (hot keys first).  A segment that loses records is rewritten as a new
** file beside the old one, "<first>-<last>.<16 hex>.parquet", in the same
** order as a move: temporary name, fsync, rename, directory fsync, footer
** read back (row count, first and last kept offset); then its segment row
** is updated (location, messages, bytes, timestamps).  A segment that
** loses every record has its row deleted.  The segment row keeps the
** offset range the file was cut from (first_offset, last_offset), so the
** ranges of a partition's segments stay contiguous and in order.  The
** whole partition is one transaction under the write lock; old files are
** deleted after it commits (autocommit), else left to the orphan sweep of
** stream_tier() / stream_maintain(), like files of a rolled-back move.  A
** crash at any step loses nothing: before the commit the old rows and
** files are intact and the new file is an orphan.
*/

/* A set of keys (bytes): open addressing over an arena. */
typedef struct StreamTcSet StreamTcSet;
struct StreamTcSet {
  u64 *aSlot;                  /* hash<<32 | 0, or 0: see below */
  i64 *aOff;                   /* Arena offset of the key, per slot */
  int *aLen;                   /* Key length, per slot */
  u64 nSlot, nUsed;            /* Power of 2; used */
  u8 *aArena; i64 nArena, nArenaAlloc;
};

static u64 streamTcHash(const u8 *z, int n){
  u64 h = 0xcbf29ce484222325ULL;
  int i;
  for(i=0; i<n; i++){ h ^= z[i]; h *= 0x100000001b3ULL; }
  h ^= h>>29;
  return h ? h : 1;
}

static void streamTcSetFree(StreamTcSet *pS){
  sqlite3_free(pS->aSlot);
  sqlite3_free(pS->aOff);
  sqlite3_free(pS->aLen);
  sqlite3_free(pS->aArena);
  memset(pS, 0, sizeof(*pS));
}

static int streamTcSetGrow(StreamTcSet *pS){
  u64 nNew = pS->nSlot ? pS->nSlot*2 : 1024, i;
  u64 *aSlot = sqlite3_malloc64(sizeof(u64)*nNew);
  i64 *aOff = sqlite3_malloc64(sizeof(i64)*nNew);
  int *aLen = sqlite3_malloc64(sizeof(int)*nNew);
  if( aSlot==0 || aOff==0 || aLen==0 ){
    sqlite3_free(aSlot); sqlite3_free(aOff); sqlite3_free(aLen);
    return SQLITE_NOMEM;
  }
  memset(aSlot, 0, sizeof(u64)*nNew);
  for(i=0; i<pS->nSlot; i++){
    if( pS->aSlot[i] ){
      u64 j = pS->aSlot[i] & (nNew-1);
      while( aSlot[j] ) j = (j+1) & (nNew-1);
      aSlot[j] = pS->aSlot[i];
      aOff[j] = pS->aOff[i];
      aLen[j] = pS->aLen[i];
    }
  }
  sqlite3_free(pS->aSlot); sqlite3_free(pS->aOff); sqlite3_free(pS->aLen);
  pS->aSlot = aSlot; pS->aOff = aOff; pS->aLen = aLen;
  pS->nSlot = nNew;
  return SQLITE_OK;
}

/* Add key z[n]; *pbNew says whether it was not there. */
static int streamTcSetAdd(StreamTcSet *pS, const u8 *z, int n, int *pbNew){
  u64 h = streamTcHash(z, n), j;
  if( (pS->nUsed+1)*2 > pS->nSlot ){
    int rc = streamTcSetGrow(pS);
    if( rc ) return rc;
  }
  for(j=h & (pS->nSlot-1); pS->aSlot[j]; j=(j+1) & (pS->nSlot-1)){
    if( pS->aSlot[j]==h && pS->aLen[j]==n
     && (n==0 || memcmp(&pS->aArena[pS->aOff[j]], z, n)==0) ){
      *pbNew = 0;
      return SQLITE_OK;
    }
  }
  if( pS->nArena+n > pS->nArenaAlloc ){
    i64 nNew = pS->nArenaAlloc ? pS->nArenaAlloc*2 : 65536;
    u8 *aNew;
    while( nNew<pS->nArena+n ) nNew *= 2;
    aNew = sqlite3_realloc64(pS->aArena, nNew);
    if( aNew==0 ) return SQLITE_NOMEM;
    pS->aArena = aNew;
    pS->nArenaAlloc = nNew;
  }
  if( n>0 ) memcpy(&pS->aArena[pS->nArena], z, n);
  pS->aSlot[j] = h;
  pS->aOff[j] = pS->nArena;
  pS->aLen[j] = n;
  pS->nArena += n;
  pS->nUsed++;
  *pbNew = 1;
  return SQLITE_OK;
}

/* One row of a segment being compacted. */
typedef struct StreamTcRow StreamTcRow;
struct StreamTcRow {
  i64 iOff;                    /* Offset */
  i64 iKey;                    /* Key bytes in the row arena, or -1 */
  int nKey;                    /* Key length */
  u8 bTomb;                    /* Value is NULL */
  u8 bKeep;                    /* Decision */
};

static void streamTcClose(StreamStoreHandle *pH, StreamPqReader *pR){
  sqlite3StreamPqReaderClose(pR);
  if( pH->pFile ) pH->pStore->pMethods->xClose(pH->pFile);
  pH->pFile = 0;
}

/* A segment row. */
typedef struct StreamTcSeg StreamTcSeg;
struct StreamTcSeg {
  StreamSegment seg;           /* The row (zLocation owned: zLoc) */
  char *zLoc;                  /* Location */
  int eCodec;                  /* Codec recorded */
};

/*
** Rewrite segment pSeg keeping the rows flagged in aRow (nRow rows, file
** order), nKeep of them, as a new file; update its segment row.  *pzNew
** gets the new key (to delete if the transaction fails).
*/
static int streamTcRewrite(StreamCtx *p, StreamStore *pStore,
                           const char *zTopic, int iPart,
                           const StreamTcSeg *pSeg, const StreamTcRow *aRow,
                           i64 nRow, i64 nKeep, char **pzNew, char **pzErr){
  StreamStoreHandle h;
  StreamPqReader *pR = 0;
  StreamPqWriter *pW = 0;
  StreamTierSink sink;
  StreamSegment segNew;
  const char *zSlash = strrchr(pSeg->zLoc, '/');
  const char *zRel = pSeg->zLoc + streamTierNsLen(pSeg->zLoc);
  u8 aRand[8];
  i64 i, iFirst = -1, iLast = -1, iTsMin = 0, iTsMax = 0, nBytes = 0, nOut = 0;
  i64 iPrev = SMALLEST_INT64;
  int rc, eCodec = pSeg->eCodec;

  memset(&sink, 0, sizeof(sink));
  sink.pStore = pStore;
  if( zRel[0]=='/' ) zRel++;
  if( zSlash==0 || zSlash<zRel || pStore->zNs==0 ){
    return sqlite3StreamErr(pzErr, SQLITE_CORRUPT,
        "invalid warm segment location \"%s\"", pSeg->zLoc);
  }
  if( eCodec!=STREAM_CODEC_GZIP && eCodec!=STREAM_CODEC_ZSTD
   && eCodec!=STREAM_CODEC_NONE ){
    eCodec = STREAM_CODEC_ZSTD;
  }
  /* The new file goes to this database's namespace, whichever the old
  ** one is in. */
  sqlite3_randomness(sizeof(aRand), aRand);
  *pzNew = sqlite3_mprintf("%s/%.*s/%020lld-%020lld.%02x%02x%02x%02x%02x%02x"
      "%02x%02x.parquet", pStore->zNs, (int)(zSlash-zRel), zRel,
      pSeg->seg.iFirst, pSeg->seg.iLast, aRand[0], aRand[1], aRand[2],
      aRand[3], aRand[4], aRand[5], aRand[6], aRand[7]);
  if( *pzNew==0 ) return SQLITE_NOMEM;

  rc = streamTierOpenSegment(pStore, &pSeg->seg, &h, &pR, &nBytes, pzErr);
  if( rc ) return rc;
  rc = pStore->pMethods->xPutBegin(pStore, *pzNew, &sink.pUp, pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamPqWriterOpen(&pW, eCodec, 0, streamTierSinkWrite,
                                   &sink);
  }
  for(i=0; rc==SQLITE_OK && i<nRow; i++){
    StreamPqRow r;
    rc = sqlite3StreamPqReaderNext(pR, &r);
    if( rc==SQLITE_ROW && r.iOffset>iPrev && r.iOffset==aRow[i].iOff ){
      iPrev = r.iOffset;
    }else{
      if( rc==SQLITE_ROW || rc==SQLITE_DONE ) rc = SQLITE_CORRUPT;
      sqlite3StreamErr(pzErr, rc, "warm segment %s changed while it was"
          " compacted (%s)", pSeg->zLoc,
          sqlite3StreamPqReaderErrmsg(pR) ? sqlite3StreamPqReaderErrmsg(pR)
                                          : "rows differ");
      break;
    }
    rc = SQLITE_OK;
    if( !aRow[i].bKeep ) continue;
    /* Topic and partition as recorded, whatever the file says. */
    r.zTopic = zTopic;
    r.nTopic = (int)strlen(zTopic);
    r.iPartition = iPart;
    if( iFirst<0 ) iFirst = r.iOffset;
    iLast = r.iOffset;
    if( nOut==0 || r.iTimestampMs<iTsMin ) iTsMin = r.iTimestampMs;
    if( nOut==0 || r.iTimestampMs>iTsMax ) iTsMax = r.iTimestampMs;
    rc = sqlite3StreamPqWriterAdd(pW, &r);
    nOut++;
  }
  segNew = pSeg->seg;
  segNew.zLocation = *pzNew;
  segNew.nMessages = nOut;
  segNew.nBytes = -1;
  if( rc==SQLITE_OK ){
    streamTierWriteMeta(pW, &segNew);
    sqlite3StreamPqWriterMeta(pW, "stream.compacted", "true");
    rc = sqlite3StreamPqWriterFinish(pW);
  }
  streamTcClose(&h, pR);
  if( rc && rc!=SQLITE_NOMEM && (pzErr==0 || *pzErr==0) ){
    if( sink.zErr ){
      if( pzErr ){ sqlite3_free(*pzErr); *pzErr = sink.zErr; sink.zErr = 0; }
    }else{
      const char *zW = pW ? sqlite3StreamPqWriterErrmsg(pW) : 0;
      sqlite3StreamErr(pzErr, rc, "cannot write warm segment %s: %s",
                       *pzNew, zW ? zW : sqlite3_errstr(rc));
    }
  }
  if( rc==SQLITE_OK && nOut!=nKeep ){
    rc = sqlite3StreamErr(pzErr, SQLITE_INTERNAL, "warm segment %s: %lld"
        " rows kept, %lld expected", *pzNew, nOut, nKeep);
  }
  if( rc==SQLITE_OK ){
    StreamStoreUpload *pUp = sink.pUp;
    sink.pUp = 0;
    rc = pStore->pMethods->xPutCommit(pUp, pzErr);   /* tmp, sync, rename */
  }
  if( rc==SQLITE_OK ){
    rc = streamTierVerify(pStore, &segNew, iFirst, iLast, &nBytes, pzErr);
  }
  if( rc==SQLITE_OK ){
    char *zSql;
    STREAM_TIER_CRASH(5);
    zSql = sqlite3_mprintf(
        "UPDATE _stream_segments SET location=%Q, messages=%lld, bytes=%lld,"
        " first_timestamp=%lld, last_timestamp=%lld"
        " WHERE topic=%Q AND partition=%d AND first_offset=%lld",
        *pzNew, nOut, nBytes, iTsMin, iTsMax, zTopic, iPart,
        pSeg->seg.iFirst);
    rc = zSql ? streamTierExec(p, zSql, pzErr) : SQLITE_NOMEM;
    sqlite3_free(zSql);
  }
  if( sink.pUp ) pStore->pMethods->xPutAbort(sink.pUp);
  sqlite3StreamPqWriterFree(pW);
  sqlite3_free(sink.zErr);
  return rc;
}

int sqlite3StreamTierCompact(StreamCtx *p, const char *zTopic, int iPart,
                             i64 nMaxRewrite, i64 *pnRemoved, char **pzErr){
  StreamStore *pStore = 0;
  StreamTcSet set;
  StreamTcSeg *aSeg = 0;
  StreamTcRow *aRow = 0;
  StreamTierKeys oldKeys, newKeys;
  StreamCleaner cl;
  u8 *aKey = 0;
  i64 nKeyAlloc = 0, nRowAlloc = 0, iHwm = 0, nRewrite = 0, nRemoved = 0;
  int nSeg = 0, iSeg, rc, bSp = 0, i;
  sqlite3_stmt *pStmt = 0;

  *pnRemoved = 0;
  memset(&set, 0, sizeof(set));
  memset(&oldKeys, 0, sizeof(oldKeys));
  memset(&newKeys, 0, sizeof(newKeys));
  rc = streamTierInt(p, "SELECT count(*) FROM _stream_segments"
      " WHERE topic=?1 AND partition=?2", zTopic, iPart, 0, 0, 0,
      &iHwm, pzErr);
  if( rc || iHwm==0 ){
    if( rc && sqlite3StreamNoStorage(p->db) ) rc = SQLITE_OK;
    return rc;
  }
  {
    /* Cold tier: no warm compaction while a segment holds messages not
    ** archived yet (ext/cold.c). */
    StreamTopicConfig cfgC;
    int nPartC;
    i64 iHold = 0, iMaxLast = 0;
    rc = sqlite3StreamTopicConfig(p, zTopic, &cfgC, &nPartC, pzErr);
    if( rc==SQLITE_OK ){
      rc = sqlite3StreamColdHold(p, zTopic, iPart, &cfgC, &iHold, pzErr);
    }
    if( rc==SQLITE_OK && (cfgC.coldEnabled || cfgC.pipelineEnabled) ){
      rc = streamTierInt(p, "SELECT max(last_offset) FROM _stream_segments"
          " WHERE topic=?1 AND partition=?2", zTopic, iPart, 0, 0, 0,
          &iMaxLast, pzErr);
      if( rc==SQLITE_OK && iMaxLast>=iHold ) return SQLITE_OK;
    }
    if( rc ) return rc;
  }
  rc = sqlite3StreamTierStore(p, &pStore, pzErr);
  if( rc || pStore==0 ) return rc;
  rc = streamTierBegin(p, &bSp, pzErr);         /* the write lock */
  if( rc ){ streamTierStoreFree(pStore); return rc; }
  rc = streamTierNamespace(p, pStore, 1, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamCleanerGet(p, zTopic, iPart, &cl,
                                                   pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamHighWatermark(p, zTopic, iPart, &iHwm, pzErr);
  }

  /* The segments of the topic (its incarnation), newest first. */
  if( rc==SQLITE_OK ){
    rc = streamTierPrepare(p, &pStmt, pzErr,
        "SELECT s.first_offset, s.last_offset, s.location, s.codec,"
        " s.messages, s.bytes, s.incarnation, t.max_message_bytes"
        " FROM _stream_segments s JOIN _stream_topics t ON t.name=s.topic"
        " AND t.incarnation=s.incarnation"
        " WHERE s.topic=?1 AND s.partition=?2"
        " ORDER BY s.first_offset DESC");
  }
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, zTopic, -1, SQLITE_STATIC);
    sqlite3_bind_int(pStmt, 2, iPart);
    while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
      StreamTcSeg *aNew = sqlite3_realloc64(aSeg, sizeof(*aSeg)*(nSeg+1));
      if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
      aSeg = aNew;
      memset(&aSeg[nSeg], 0, sizeof(aSeg[nSeg]));
      aSeg[nSeg].zLoc = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 2));
      if( aSeg[nSeg].zLoc==0 ){ rc = SQLITE_NOMEM; break; }
      aSeg[nSeg].seg.zLocation = aSeg[nSeg].zLoc;
      aSeg[nSeg].seg.zTopic = zTopic;
      aSeg[nSeg].seg.iPartition = iPart;
      aSeg[nSeg].seg.iFirst = sqlite3_column_int64(pStmt, 0);
      aSeg[nSeg].seg.iLast = sqlite3_column_int64(pStmt, 1);
      aSeg[nSeg].eCodec = sqlite3_column_int(pStmt, 3);
      aSeg[nSeg].seg.nMessages = sqlite3_column_int64(pStmt, 4);
      aSeg[nSeg].seg.nBytes = sqlite3_column_int64(pStmt, 5);
      aSeg[nSeg].seg.iIncarnation = sqlite3_column_int64(pStmt, 6);
      aSeg[nSeg].seg.nMaxValue = sqlite3_column_int64(pStmt, 7);
      if( nSeg>0 && aSeg[nSeg].seg.iLast>=aSeg[nSeg-1].seg.iFirst ){
        rc = streamTierOverlapErr(&aSeg[nSeg].seg, &aSeg[nSeg-1].seg, pzErr);
      }
      nSeg++;
    }
    if( rc==SQLITE_OK ){
      rc = sqlite3_finalize(pStmt);
      if( rc ) rc = sqlite3StreamDbErr(p->db, pzErr, rc);
    }else{
      sqlite3_finalize(pStmt);
    }
    pStmt = 0;
  }

  /* Every hot key supersedes every warm record of it. */
  if( rc==SQLITE_OK ){
    rc = streamTierPrepare(p, &pStmt, pzErr,
        "SELECT key FROM _stream_messages WHERE topic=?1 AND partition=?2"
        " AND key IS NOT NULL");
  }
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, zTopic, -1, SQLITE_STATIC);
    sqlite3_bind_int(pStmt, 2, iPart);
    while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
      const u8 *z = (const u8*)sqlite3_column_blob(pStmt, 0);
      int n = sqlite3_column_bytes(pStmt, 0), bNew;
      if( z==0 && n>0 ){ rc = SQLITE_NOMEM; break; }
      rc = streamTcSetAdd(&set, z ? z : (const u8*)"", n, &bNew);
    }
    if( rc==SQLITE_OK ){
      rc = sqlite3_finalize(pStmt);
      if( rc ) rc = sqlite3StreamDbErr(p->db, pzErr, rc);
    }else{
      sqlite3_finalize(pStmt);
    }
    pStmt = 0;
  }

  for(iSeg=0; rc==SQLITE_OK && iSeg<nSeg; iSeg++){
    StreamTcSeg *pSeg = &aSeg[iSeg];
    StreamStoreHandle h;
    StreamPqReader *pR = 0;
    i64 nRow = 0, nKey = 0, nKeep = 0, j, nFile, iPrev = SMALLEST_INT64;
    if( nMaxRewrite>=0 && nRewrite>=nMaxRewrite ) break;

    /* Pass 1: offsets, keys and tombstones of the file. */
    rc = streamTierOpenSegment(pStore, &pSeg->seg, &h, &pR, &nFile, pzErr);
    if( rc ) break;
    sqlite3StreamPqReaderSetColumns(pR, (1u<<3)|(1u<<4));
    while( 1 ){
      StreamPqRow r;
      int rc2 = sqlite3StreamPqReaderNext(pR, &r);
      if( rc2==SQLITE_DONE ) break;
      if( rc2!=SQLITE_ROW ){
        const char *z = sqlite3StreamPqReaderErrmsg(pR);
        rc = sqlite3StreamErr(pzErr, rc2, "warm segment %s: %s", pSeg->zLoc,
                              z ? z : sqlite3_errstr(rc2));
        break;
      }
      if( r.iOffset<=iPrev || r.iOffset<pSeg->seg.iFirst
       || r.iOffset>pSeg->seg.iLast ){
        StreamPqGroupInfo range;
        memset(&range, 0, sizeof(range));
        range.iOffsetMin = pSeg->seg.iFirst;
        range.iOffsetMax = pSeg->seg.iLast;
        rc = streamTierRowCheck(pSeg->zLoc, &range, &iPrev, r.iOffset, pzErr);
        break;
      }
      iPrev = r.iOffset;
      if( nRow==nRowAlloc ){
        i64 nNew = nRowAlloc ? nRowAlloc*2 : 4096;
        StreamTcRow *aNew = sqlite3_realloc64(aRow, sizeof(*aNew)*nNew);
        if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
        aRow = aNew;
        nRowAlloc = nNew;
      }
      aRow[nRow].iOff = r.iOffset;
      aRow[nRow].bTomb = r.eValueType==STREAM_PQ_NULL;
      aRow[nRow].bKeep = 1;
      aRow[nRow].iKey = -1;
      aRow[nRow].nKey = 0;
      if( r.eKeyType!=STREAM_PQ_NULL ){
        if( nKey+r.nKey > nKeyAlloc ){
          i64 nNew = nKeyAlloc ? nKeyAlloc*2 : 65536;
          u8 *aNew;
          while( nNew<nKey+r.nKey ) nNew *= 2;
          aNew = sqlite3_realloc64(aKey, nNew);
          if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
          aKey = aNew;
          nKeyAlloc = nNew;
        }
        if( r.nKey>0 ) memcpy(&aKey[nKey], r.pKey, r.nKey);
        aRow[nRow].iKey = nKey;
        aRow[nRow].nKey = r.nKey;
        nKey += r.nKey;
      }
      nRow++;
    }
    streamTcClose(&h, pR);
    if( rc ) break;

    /* Newest first: superseded records and old tombstones go. */
    for(j=nRow-1; rc==SQLITE_OK && j>=0; j--){
      StreamTcRow *pRow = &aRow[j];
      int bNew = 1;
      if( pRow->iKey<0 ){          /* no key: Kafka's cleaner drops it */
        if( pRow->iOff<iHwm-1 ) pRow->bKeep = 0; else nKeep++;
        continue;
      }
      rc = streamTcSetAdd(&set, aKey ? &aKey[pRow->iKey] : (const u8*)"",
                          pRow->nKey, &bNew);
      if( rc ) break;
      /* A tombstone goes only in an unbounded pass: one cut short could
      ** leave older records of its key in the segments it did not reach,
      ** with nothing newer left to supersede them. */
      if( !bNew
       || (pRow->bTomb && nMaxRewrite<0 && pRow->iOff<cl.iHorizon
           && pRow->iOff<iHwm-1) ){
        pRow->bKeep = 0;
      }else{
        nKeep++;
      }
    }
    if( rc || nKeep==nRow ) continue;

    nRewrite++;
    nRemoved += nRow - nKeep;
    streamTierKeysAdd(&oldKeys, pSeg->zLoc);
    if( oldKeys.rc ){ rc = oldKeys.rc; break; }
    if( nKeep==0 ){
      char *zSql = sqlite3_mprintf("DELETE FROM _stream_segments"
          " WHERE topic=%Q AND partition=%d AND first_offset=%lld",
          zTopic, iPart, pSeg->seg.iFirst);
      rc = zSql ? streamTierExec(p, zSql, pzErr) : SQLITE_NOMEM;
      sqlite3_free(zSql);
    }else{
      char *zNew = 0;
      rc = streamTcRewrite(p, pStore, zTopic, iPart, pSeg, aRow, nRow, nKeep,
                           &zNew, pzErr);
      if( zNew ){
        streamTierKeysAdd(&newKeys, zNew);
        sqlite3_free(zNew);
        if( rc==SQLITE_OK ) rc = newKeys.rc;
      }
    }
    STREAM_TIER_CRASH(6);
  }

  rc = streamTierEnd(p, bSp, rc, pzErr);
  if( rc==SQLITE_OK ){
    *pnRemoved = nRemoved;
    /* Committed (autocommit): the replaced files can go now.  Inside the
    ** caller's transaction they stay until the orphan sweep. */
    streamTierKeysDelete(pStore, &oldKeys, sqlite3_get_autocommit(p->db));
  }else{
    /* Not recorded: the new files go rather than stay as orphans. */
    streamTierKeysDelete(pStore, &newKeys, 1);
  }
  for(i=0; i<oldKeys.nKey; i++) sqlite3_free(oldKeys.azKey[i]);
  sqlite3_free(oldKeys.azKey);
  for(i=0; i<newKeys.nKey; i++) sqlite3_free(newKeys.azKey[i]);
  sqlite3_free(newKeys.azKey);
  for(i=0; i<nSeg; i++) sqlite3_free(aSeg[i].zLoc);
  sqlite3_free(aSeg);
  sqlite3_free(aRow);
  sqlite3_free(aKey);
  streamTcSetFree(&set);
  streamTierStoreFree(pStore);
  return rc;
}

/**************************************************************************
** stream_tier([topic]) and the stream_segments table.
**
** stream_tier is SQLITE_DIRECTONLY: it writes files and deletes hot rows,
** so a hostile database's triggers and views must not reach it.
*/
static void streamTierFunc(sqlite3_context *ctx, int argc,
                           sqlite3_value **argv){
  StreamCtx *p = (StreamCtx*)sqlite3_user_data(ctx);
  const char *zTopic = 0;
  StreamTierStats st;
  char *zErr = 0, *zOut;
  int rc;
  if( argc>0 && sqlite3_value_type(argv[0])!=SQLITE_NULL ){
    if( sqlite3_value_type(argv[0])!=SQLITE_TEXT ){
      sqlite3_result_error(ctx, STREAM_ERR "topic name must be text", -1);
      return;
    }
    zTopic = (const char*)sqlite3_value_text(argv[0]);
    if( zTopic==0 ){ sqlite3_result_error_nomem(ctx); return; }
  }
  rc = sqlite3StreamTier(p, zTopic, &st, &zErr);
  if( rc ){
    if( rc==SQLITE_NOMEM ){
      sqlite3_result_error_nomem(ctx);
    }else{
      sqlite3_result_error(ctx, zErr ? zErr : sqlite3_errstr(rc), -1);
      if( (rc&0xff)==SQLITE_BUSY || rc==SQLITE_FULL
       || (rc&0xff)==SQLITE_IOERR ){
        sqlite3_result_error_code(ctx, rc);
      }
    }
    sqlite3_free(zErr);
    return;
  }
  zOut = sqlite3_mprintf("{\"segments\":%lld,\"messages\":%lld,"
      "\"bytes\":%lld,\"expired\":%lld,\"orphans\":%lld}",
      st.nSegment, st.nMessage, st.nBytes, st.nExpired, st.nOrphan);
  if( zOut==0 ){ sqlite3_result_error_nomem(ctx); return; }
  sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');
}

int sqlite3StreamRegisterSegments(sqlite3 *db, StreamCtx *p);

int sqlite3StreamRegisterTier(sqlite3 *db, StreamCtx *p){
  int rc = sqlite3_create_function(db, "stream_tier", 0,
      SQLITE_UTF8|SQLITE_DIRECTONLY, p, streamTierFunc, 0, 0);
  if( rc==SQLITE_OK ){
    rc = sqlite3_create_function(db, "stream_tier", 1,
        SQLITE_UTF8|SQLITE_DIRECTONLY, p, streamTierFunc, 0, 0);
  }
  if( rc==SQLITE_OK ) rc = sqlite3StreamRegisterSegments(db, p);
  return rc;
}
