/*
** warm.c - the warm tier: hot messages move to Parquet segment files in
** an object store (ext/store.c), indexed by _stream_segments.  This file
** holds what the warm tier's other files share (ext/warm.h): the store of
** a database and its namespace, segment files checked against their rows,
** the unit of work, and the method table (sqlite3StreamTierWarm) through
** which the rest of the engine reaches the tier (ext/tier.c).
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
** digits) and goes (ext/warm_move.c):
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
** orphan), never a lost or doubled message; the sweep (ext/warm_sweep.c,
** run by stream_tier() and stream_maintain() under the write lock)
** removes orphans and ".tmp" files of this database's namespace, and
** segment rows whose incarnation is not their topic's (a topic deleted,
** or deleted and created again): identity, never clocks, decides.  Every
** file is checked against its row whenever it is opened
** (streamWarmCheckFile()).  A move inside a transaction that is later
** rolled back leaves an orphan the same way.  Readers (ext/warm_read.c)
** only ever open files named by a segment row; the engine's scan
** (ext/scan.c) merges the tiers by (topic, partition, offset) so that an
** offset present in two tiers is returned once.
**
** Only with a configured store (warm.store): without one the database
** file holds everything, stream_tier() moves nothing (for a named topic
** it is an error saying so) and neither do produce and stream_maintain().
** A database whose segments were written when "<db>.stream/warm" was the
** default keeps that directory for them (sqlite3StreamTierStore()).
**
** Warm retention: with cleanup.policy delete, whole segments go (oldest
** first) while their newest message is older than retention.ms, or while
** the partition's size without them is still >= retention.bytes;
** log_start_offset is raised past them.
**
** Codec of warm files: the topic's compression.type when it is gzip or
** zstd, else ZSTD.
*/
#include "warm.h"
#include <stdlib.h>
#include <string.h>

/**************************************************************************
** Small helpers
*/

/* Prepare zSql (printf-style) into *ppStmt. */
int sqlite3StreamWarmPrepare(StreamCtx *p, sqlite3_stmt **ppStmt,
                             char **pzErr, const char *zSql){
  int rc = sqlite3_prepare_v2(p->db, zSql, -1, ppStmt, 0);
  if( rc ){
    *ppStmt = 0;
    return sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  return SQLITE_OK;
}

int sqlite3StreamWarmExec(StreamCtx *p, const char *zSql, char **pzErr){
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
int sqlite3StreamWarmBegin(StreamCtx *p, int *pbSp, char **pzErr){
  sqlite3_stmt *pS;
  int rc;
  *pbSp = 0;
  for(pS=sqlite3_next_stmt(p->db, 0); pS; pS=sqlite3_next_stmt(p->db, pS)){
    if( sqlite3_stmt_busy(pS) && !sqlite3_stmt_readonly(pS) ) break;
  }
  if( pS==0 ){
    int bAuto = sqlite3_get_autocommit(p->db);
    rc = sqlite3StreamWarmExec(p, "SAVEPOINT stream_tier", pzErr);
    if( rc ) return rc;
    *pbSp = bAuto ? 2 : 1;     /* 2: it began the transaction */
  }
  rc = sqlite3StreamWriteLock(p, pzErr);
  if( rc && *pbSp ){
    sqlite3StreamSavepointAbort(p, "stream_tier", *pbSp);
    *pbSp = 0;
  }
  return rc;
}

int sqlite3StreamWarmEnd(StreamCtx *p, int bSp, int rc, char **pzErr){
  if( !bSp ) return rc;
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamWarmExec(p, "RELEASE stream_tier", pzErr);
    if( rc==SQLITE_OK ) return rc;
  }
  sqlite3StreamSavepointAbort(p, "stream_tier", bSp);
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
int sqlite3StreamWarmNamespace(StreamCtx *p, StreamStore *pStore, int bCreate,
                               char **pzErr){
  char *zId;
  int rc, i;
  if( pStore->zNs ) return SQLITE_OK;
  rc = sqlite3StreamDbId(p, bCreate, &zId, pzErr);
  if( rc ) return rc;
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
size_t sqlite3StreamWarmNsLen(const char *zLoc){
  const char *zSlash = strchr(zLoc, '/');
  size_t n = zSlash ? (size_t)(zSlash-zLoc) : 0;
  return (n>0 && memchr(zLoc, '=', n)) ? n : 0;
}

/* True if this database may delete the file at zLoc: it is in its
** namespace, or in none (written before namespaces, by this database). */
int sqlite3StreamWarmOwned(const StreamStore *pStore, const char *zLoc){
  size_t n = sqlite3StreamWarmNsLen(zLoc);
  if( n==0 ) return strchr(zLoc, '/')!=0;
  return pStore->zNs && strlen(pStore->zNs)==n
      && memcmp(zLoc, pStore->zNs, n)==0;
}

/* Check the just-opened file of segment pSeg (nFile bytes, footer in pR)
** against its row.  nBytes<0 in pSeg: size not checked. */
static int streamWarmCheckFile(StreamPqReader *pR, const StreamSegment *pSeg,
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
int sqlite3StreamWarmRowCheck(const char *zLoc, const StreamPqGroupInfo *pI,
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
int sqlite3StreamWarmOverlapErr(const StreamSegment *pA,
                                const StreamSegment *pB, char **pzErr){
  return sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "warm segments %s"
      " (offsets %lld..%lld) and %s (offsets %lld..%lld) of %s/%d overlap",
      pA->zLocation, pA->iFirst, pA->iLast, pB->zLocation, pB->iFirst,
      pB->iLast, pA->zTopic, pA->iPartition);
}

/* Open the file of segment pSeg for reading (pR over *pH) and check it
** against its row.  *pnFile gets its size. */
int sqlite3StreamWarmOpenSegment(StreamStore *pStore, const StreamSegment *pSeg,
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
  if( rc && rc!=SQLITE_NOMEM && sqlite3StreamStoreReadErr(pH) ){
    /* The store failed to read it (its message names the object): not
    ** corruption. */
    sqlite3StreamErr(pzErr, SQLITE_IOERR, "warm segment %s cannot be read:"
        " %s", pSeg->zLocation, sqlite3StreamStoreReadErr(pH));
    rc = SQLITE_IOERR;
    sqlite3_free(zPqErr);
  }else if( rc ){
    sqlite3StreamErr(pzErr, rc==SQLITE_NOMEM ? rc : SQLITE_CORRUPT,
        "warm segment %s is corrupt or truncated: %s", pSeg->zLocation,
        zPqErr ? zPqErr : sqlite3_errstr(rc));
    if( rc!=SQLITE_NOMEM ) rc = SQLITE_CORRUPT;
    sqlite3_free(zPqErr);
  }else{
    sqlite3StreamPqReaderSetMaxValue(*ppR, pSeg->nMaxValue);
    rc = streamWarmCheckFile(*ppR, pSeg, nFile, pzErr);
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

/* Does the database have segment rows in its own store (not in a topic's
** own warm.store)?  (No storage tables: no.) */
static int streamWarmHasSegments(StreamCtx *p, int *pbHas, char **pzErr){
  i64 bHas = 0;
  int rc = sqlite3StreamAuxInt(p, STREAM_AUX_SEG_ANY, &bHas, pzErr, "");
  *pbHas = (int)bHas;
  return rc;
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
  return sqlite3StreamWarmStoreAt(p, 0, pp, pzErr);
}

int sqlite3StreamWarmStoreAt(StreamCtx *p, const char *zAt, StreamStore **pp,
                             char **pzErr){
  char *zUrl;
  int rc = SQLITE_OK;
  *pp = 0;
  zUrl = zAt ? sqlite3_mprintf("%s", zAt)
             : sqlite3StreamMetaGet(p, "warm.store", &rc);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  if( zAt && zUrl==0 ) return SQLITE_NOMEM;
  if( zUrl ){
    rc = sqlite3StreamStoreGet(p, zUrl, pp, pzErr);
    if( rc==SQLITE_OK ) (*pp)->bLegacy = 0;
  }else{
    const char *zFile = sqlite3_db_filename(p->db, "main");
    int bHas = 0;
    if( zFile==0 || zFile[0]==0 ) return SQLITE_OK;   /* :memory:, temp */
    rc = streamWarmHasSegments(p, &bHas, pzErr);
    if( rc || !bHas ) return rc;
    zUrl = sqlite3_mprintf("file://%s.stream/warm", zFile);
    if( zUrl==0 ) return SQLITE_NOMEM;
    rc = sqlite3StreamStoreGet(p, zUrl, pp, pzErr);
    if( rc==SQLITE_OK ) (*pp)->bLegacy = 1;
  }
  sqlite3_free(zUrl);
  if( rc==SQLITE_OK && (*pp)->zCacheDir==0 && !(*pp)->bLocal ){
    /* Where a network store may keep a disk cache: beside the database. */
    const char *zFile = sqlite3_db_filename(p->db, "main");
    if( zFile && zFile[0] ){
      (*pp)->zCacheDir = sqlite3_mprintf("%s.stream/cache", zFile);
      if( (*pp)->zCacheDir==0 ) rc = SQLITE_NOMEM;
    }
  }
  if( rc==SQLITE_OK ){
    /* (A cached store: the namespace is read again, database.id may have
    ** changed since.) */
    sqlite3_free((*pp)->zNs);
    (*pp)->zNs = 0;
    rc = sqlite3StreamWarmNamespace(p, *pp, 0, pzErr);
  }
  if( rc ){
    sqlite3StreamStoreUnref(*pp);
    *pp = 0;
  }
  return rc;
}

void sqlite3StreamWarmStoreFree(StreamStore *pStore){
  sqlite3StreamStoreUnref(pStore);
}

int sqlite3StreamWarmTopicStore(StreamCtx *p, const char *zTopic,
                                char **pzUrl, char **pzErr){
  StreamStrList l;
  int rc;
  memset(&l, 0, sizeof(l));
  *pzUrl = 0;
  rc = sqlite3StreamAuxList(p, STREAM_AUX_TOPIC_STORE, &l, pzErr, "t",
                            zTopic);
  if( rc==SQLITE_OK && l.n>0 && l.az[0] && l.az[0][0] ){
    *pzUrl = l.az[0];
    l.az[0] = 0;
  }
  sqlite3StreamStrListFree(&l);
  return rc;
}

int sqlite3StreamWarmStores(StreamCtx *p, StreamStrList *pList,
                            char **pzErr){
  return sqlite3StreamAuxList(p, STREAM_AUX_STORES, pList, pzErr, "");
}

int sqlite3StreamWarmSegStore(StreamCtx *p, StreamStore *pDefault,
                              const char *zAt, StreamStore **pp,
                              char **pzErr){
  if( zAt && zAt[0] ) return sqlite3StreamWarmStoreAt(p, zAt, pp, pzErr);
  *pp = pDefault ? sqlite3StreamStoreRef(pDefault) : 0;
  if( pDefault ) return SQLITE_OK;
  return sqlite3StreamTierStore(p, pp, pzErr);
}

/* Sink of the Parquet writer: the store upload. */
int sqlite3StreamWarmSinkWrite(void *pCtx, const void *a, size_t n){
  StreamWarmSink *pS = (StreamWarmSink*)pCtx;
  return pS->pStore->pMethods->xPutWrite(pS->pUp, a, n, &pS->zErr);
}

/* Footer metadata naming the segment a file belongs to (checked against
** its row whenever it is opened: streamWarmCheckFile()). */
void sqlite3StreamWarmWriteMeta(StreamPqWriter *pW, const StreamSegment *pSeg){
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
int sqlite3StreamWarmVerify(StreamStore *pStore, const StreamSegment *pSeg,
                            i64 iFirst, i64 iLast, i64 *pnBytes,
                            char **pzErr){
  StreamStoreHandle h;
  StreamPqReader *pR = 0;
  int rc = sqlite3StreamWarmOpenSegment(pStore, pSeg, &h, &pR, pnBytes, pzErr);
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

void sqlite3StreamWarmCloseSegment(StreamStoreHandle *pH, StreamPqReader *pR){
  sqlite3StreamPqReaderClose(pR);
  if( pH->pFile ) pH->pStore->pMethods->xClose(pH->pFile);
  pH->pFile = 0;
}


/* The error of a failed write of file zKey, unless *pzErr holds one: the
** sink's message (the store's), else the writer's. */
void sqlite3StreamWarmWriteErr(StreamWarmSink *pSink, StreamPqWriter *pW,
                               const char *zKey, int rc, char **pzErr){
  if( rc==SQLITE_OK || rc==SQLITE_NOMEM || (pzErr && *pzErr) ) return;
  if( pSink->zErr ){
    if( pzErr ){ sqlite3_free(*pzErr); *pzErr = pSink->zErr; pSink->zErr = 0; }
  }else{
    const char *zW = pW ? sqlite3StreamPqWriterErrmsg(pW) : 0;
    sqlite3StreamErr(pzErr, rc, "cannot write warm segment %s: %s", zKey,
                     zW ? zW : sqlite3_errstr(rc));
  }
}

/* Delete every listed object (failures leave orphans: no error) if
** bDelete, else only forget them.  Callers pass bDelete only when no
** enclosing transaction holds uncommitted changes: inside one (BEGIN ...
** stream_maintain() ... COMMIT, or INSERT ... SELECT stream_tier()) a
** ROLLBACK or a crash would bring back segment rows naming deleted files.
** Files left alone are orphans for a later sweep.
**
** The files go in a unit of work of their own, under the write lock, and
** only those that no segment row names and no record holds then, as the
** sweep deletes (ext/warm_sweep.c).  The change that stopped naming them
** has committed and let the lock go: another connection's move may have
** written a file under one of the keys since (a topic deleted and created
** again moves offsets 0.. to the same key once no row or record names
** it) and recorded it.  A move writes its file under the write lock, so
** under it a file that no row names is no other connection's.  Without
** the lock (busy), the files stay, as orphans for the sweep. */
void sqlite3StreamWarmKeysDeleteAt(StreamCtx *p, StreamStore *pDefault,
                                   StreamStrList *pK, StreamStrList *pAt,
                                   int bDelete){
  int i, j, bSp = 0;
  if( bDelete && pK->n>0 ){
    int bHeld = sqlite3StreamWarmDeferTable(p);
    bDelete = sqlite3StreamWarmBegin(p, &bSp, 0)==SQLITE_OK;
    for(i=0; bDelete && i<pAt->n && i<pK->n; i++){
      i64 bTaken = 0;
      int rc = sqlite3StreamAuxInt(p, STREAM_AUX_SEG_AT, &bTaken, 0, "t",
                                   pK->az[i]);
      if( rc==SQLITE_OK && !bTaken && bHeld ){
        rc = sqlite3StreamAuxInt(p, STREAM_AUX_WARM_DEFER_AT, &bTaken, 0,
                                 "t", pK->az[i]);
      }
      if( rc ){
        sqlite3StreamWarmEnd(p, bSp, rc, 0);
        bDelete = 0;
      }else if( bTaken ){
        sqlite3_free(pAt->az[i]);      /* named again: not this one's */
        pAt->az[i] = 0;
      }
    }
  }
  for(i=0; bDelete && i<pAt->n; i++){
    StreamStrList one;
    StreamStore *pStore = 0;
    if( pAt->az[i]==0 ) continue;            /* (done with an earlier) */
    memset(&one, 0, sizeof(one));
    for(j=i; j<pAt->n && j<pK->n; j++){
      if( pAt->az[j] && strcmp(pAt->az[j], pAt->az[i])==0 ){
        if( j>i ){ sqlite3_free(pAt->az[j]); pAt->az[j] = 0; }
        sqlite3StreamStrListAdd(&one, pK->az[j]);
      }
    }
    if( one.rc==SQLITE_OK
     && sqlite3StreamWarmSegStore(p, pDefault, pAt->az[i], &pStore, 0)==0
     && pStore ){
      sqlite3StreamWarmKeysDelete(pStore, &one, 1);
    }
    sqlite3StreamWarmStoreFree(pStore);
    sqlite3StreamStrListFree(&one);
  }
  if( bDelete ) sqlite3StreamWarmEnd(p, bSp, SQLITE_OK, 0);
  sqlite3StreamStrListFree(pK);
  sqlite3StreamStrListFree(pAt);
}

/**************************************************************************
** Kafka's file.delete.delay.ms: a file that a committed change (a
** compaction, an expiry, a topic's delete) stops naming is recorded in
** _stream_warm_deleted in the transaction of that change, and the sweep
** deletes it once warm.file.delete.delay.ms has passed since, so that a
** reader whose snapshot still names it can finish (ext/warm_sweep.c).
*/

int sqlite3StreamWarmDelay(StreamCtx *p, i64 *pMs, char **pzErr){
  int rc = SQLITE_OK;
  char *z = sqlite3StreamMetaGet(p, STREAM_WARM_DELAY_KEY, &rc);
  *pMs = z ? strtoll(z, 0, 10) : STREAM_WARM_DELAY_DEFAULT;
  sqlite3_free(z);
  if( *pMs<0 ) *pMs = 0;
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  return SQLITE_OK;
}

int sqlite3StreamWarmDeferTable(StreamCtx *p){
  return sqlite3_table_column_metadata(p->db, "main", "_stream_warm_deleted",
                                       0, 0, 0, 0, 0, 0)==SQLITE_OK;
}

/* Make _stream_warm_deleted unless it exists. */
static int streamWarmDeferMake(StreamCtx *p, char **pzErr){
  if( sqlite3StreamWarmDeferTable(p) ) return SQLITE_OK;
  return sqlite3StreamAuxExec(p, STREAM_AUX_WARM_DEFER_TABLE, pzErr);
}

int sqlite3StreamWarmDefer(StreamCtx *p, const StreamStrList *pK,
                           const StreamStrList *pAt, int *pbDone,
                           char **pzErr){
  i64 ms = 0, iNow;
  int rc, i;
  *pbDone = 0;
  rc = sqlite3StreamWarmDelay(p, &ms, pzErr);
  if( rc || ms==0 || pK->n==0 ) return rc;
  iNow = sqlite3StreamNow(p);
  rc = streamWarmDeferMake(p, pzErr);
  for(i=0; rc==SQLITE_OK && i<pK->n; i++){
    const char *zAt = i<pAt->n ? pAt->az[i] : 0;
    rc = sqlite3StreamAuxRun(p, STREAM_AUX_WARM_DEFER_PUT, pzErr, "tti",
                             pK->az[i], zAt && zAt[0] ? zAt : 0, iNow);
  }
  if( rc==SQLITE_OK ) *pbDone = 1;
  return rc;
}

int sqlite3StreamWarmDeferRows(StreamCtx *p, const char *zTopic,
                               char **pzErr){
  i64 ms = 0, bAny = 0;
  int rc = sqlite3StreamWarmDelay(p, &ms, pzErr);
  if( rc || ms==0 ) return rc;
  rc = zTopic
     ? sqlite3StreamAuxInt(p, STREAM_AUX_SEG_TOPIC_ANY, &bAny, pzErr, "t",
                           zTopic)
     : sqlite3StreamAuxInt(p, STREAM_AUX_SEG_DEAD_ANY, &bAny, pzErr, "");
  if( rc || !bAny ) return rc;
  rc = streamWarmDeferMake(p, pzErr);
  if( rc==SQLITE_OK ){
    rc = zTopic
       ? sqlite3StreamAuxRun(p, STREAM_AUX_WARM_DEFER_TOPIC, pzErr, "ti",
                             zTopic, sqlite3StreamNow(p))
       : sqlite3StreamAuxRun(p, STREAM_AUX_WARM_DEFER_DEAD, pzErr, "i",
                             sqlite3StreamNow(p));
  }
  return rc;
}

int sqlite3StreamWarmGoneErr(StreamCtx *p, const char *zLoc, i64 iInc,
                             int rc, char **pzErr){
  static const char zOut[] = "deleted outside the extension?";
  static const char zOther[] = "a file of another topic of the same name";
  const char *zDb = sqlite3_db_filename(p->db, "main");
  const char *z = pzErr && *pzErr ? strstr(*pzErr, zOut) : 0;
  sqlite3_vfs *pVfs = 0;
  sqlite3 *db2 = 0;
  sqlite3_stmt *pStmt = 0;
  int bGone = 0, nCut = (int)sizeof(zOut)-1, bInc = 0, bAppend = 0;
  if( z==0 && pzErr && *pzErr && iInc!=0
   && strstr(*pzErr, "does not match its segment row: ") ){
    /* The file may have been replaced by one of a topic created again
    ** under the name (its key free again once the old one's delay had
    ** passed): of another incarnation, or another size first. */
    bInc = 1;
    z = strstr(*pzErr, zOther);
    if( z ){
      nCut = (int)sizeof(zOther)-1;
    }else{
      z = *pzErr + strlen(*pzErr);
      nCut = 0;
      bAppend = 1;
    }
  }
  if( z==0 || zDb==0 || zDb[0]==0 ) return rc;
  /* This connection's snapshot names the file: a connection of its own
  ** reads the latest committed state (best effort: any failure keeps the
  ** message). */
  sqlite3_file_control(p->db, "main", SQLITE_FCNTL_VFS_POINTER, &pVfs);
  if( sqlite3_open_v2(zDb, &db2, SQLITE_OPEN_READONLY,
                      pVfs ? pVfs->zName : 0)==SQLITE_OK
   && sqlite3_prepare_v2(db2, bInc
          ? "SELECT 1 FROM _stream_segments WHERE location=?1"
            " AND incarnation=?2"
          : "SELECT 1 FROM _stream_segments WHERE location=?1",
          -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_bind_text(pStmt, 1, zLoc, -1, SQLITE_STATIC)==SQLITE_OK
   && (!bInc || sqlite3_bind_int64(pStmt, 2, iInc)==SQLITE_OK) ){
    bGone = sqlite3_step(pStmt)==SQLITE_DONE;
  }
  sqlite3_finalize(pStmt);
  sqlite3_close(db2);
  if( bGone ){
    char *zNew = sqlite3_mprintf("%.*s%sremoved by compaction, retention or"
        " a topic's delete after this transaction began; retry it%s%s",
        (int)(z-*pzErr), *pzErr, bAppend ? " (" : "", z+nCut,
        bAppend ? ")" : "");
    if( zNew ){
      sqlite3_free(*pzErr);
      *pzErr = zNew;
    }
  }
  return rc;
}

void sqlite3StreamWarmKeysDelete(StreamStore *pStore, StreamStrList *pK,
                                 int bDelete){
  int i, nDel = 0;
  for(i=0; i<pK->n; i++){
    /* Never a file of another database's namespace, whatever a row says. */
    if( bDelete && sqlite3StreamWarmOwned(pStore, pK->az[i]) ){
      char *z = pK->az[nDel];
      pK->az[nDel++] = pK->az[i];
      pK->az[i] = z;
    }
  }
  sqlite3StreamStoreDeleteMany(pStore, pK->az, nDel, 0);
  sqlite3StreamStrListFree(pK);
}


/**************************************************************************
** The warm tier as a StreamTier.
*/

/* Open the store of this database as a tier.  zAsked: stream_tier(topic)
** asked to move that topic, which is an error without a configured store
** (say why nothing can move). */
static int streamWarmOpen(StreamCtx *p, const char *zAsked, StreamTier **pp,
                          char **pzErr){
  StreamStore *pStore = 0;
  StreamWarmTier *pTier;
  char *zOwn = 0;
  int bOwn = 0;                /* Some topic has (or had) a store of its own */
  int rc = sqlite3StreamTierStore(p, &pStore, pzErr);
  *pp = 0;
  if( rc==SQLITE_OK && (pStore==0 || pStore->bLegacy) ){
    StreamStrList l;
    memset(&l, 0, sizeof(l));
    rc = sqlite3StreamWarmStores(p, &l, pzErr);
    bOwn = l.n>0;
    sqlite3StreamStrListFree(&l);
    if( rc==SQLITE_OK && zAsked ){
      rc = sqlite3StreamWarmTopicStore(p, zAsked, &zOwn, pzErr);
    }
  }
  if( rc==SQLITE_OK && zAsked && zOwn==0 && (pStore==0 || pStore->bLegacy) ){
    if( pStore ){
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "cannot tier topic %s: no"
          " warm store is configured; this database's earlier segments are"
          " in %s, adopt it with stream_config('warm.store', '%s')", zAsked,
          pStore->zUrl+7, pStore->zUrl);
    }else{
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "cannot tier topic %s: no"
          " warm store is configured, messages stay in the database file"
          " (set one with stream_config('warm.store', 'file:///path'))",
          zAsked);
    }
  }
  sqlite3_free(zOwn);
  if( rc || (pStore==0 && !bOwn) ){
    sqlite3StreamWarmStoreFree(pStore);
    return rc;
  }
  pTier = sqlite3_malloc64(sizeof(*pTier));
  if( pTier==0 ){
    sqlite3StreamWarmStoreFree(pStore);
    return SQLITE_NOMEM;
  }
  memset(pTier, 0, sizeof(*pTier));
  pTier->base.pMethods = &sqlite3StreamTierWarm;
  pTier->base.pCtx = p;
  /* A topic of its own store moves there whatever the database's store
  ** (xMoveIn resolves the store of each topic, and in the produce hook
  ** moves only into a local one). */
  pTier->base.bMoveIn = bOwn || !pStore->bLegacy;
  pTier->base.bInline = bOwn || (!pStore->bLegacy && pStore->bLocal);
  pTier->pStore = pStore;
  *pp = &pTier->base;
  return SQLITE_OK;
}

static void streamWarmClose(StreamTier *pTier){
  if( pTier ){
    sqlite3StreamWarmMoveDrop((StreamWarmTier*)pTier);
    sqlite3StreamWarmStoreFree(((StreamWarmTier*)pTier)->pStore);
    sqlite3_free(pTier);
  }
}

const StreamTierMethods sqlite3StreamTierWarm = {
  "warm",                          /* zName */
  streamWarmOpen,                  /* xOpen */
  streamWarmClose,                 /* xClose */
  sqlite3StreamWarmSweep,          /* xSweep */
  sqlite3StreamWarmExpire,         /* xExpire */
  sqlite3StreamWarmMoveIn,         /* xMoveIn */
  sqlite3StreamWarmCompact,        /* xCompact */
  sqlite3StreamWarmDropTopic,      /* xDropTopic */
  sqlite3StreamWarmReaderNew,      /* xReaderNew */
  sqlite3StreamWarmReaderFree,     /* xReaderFree */
  sqlite3StreamWarmScanOpen,       /* xScanOpen */
  sqlite3StreamWarmScanNext,       /* xScanNext */
  sqlite3StreamWarmScanClose,      /* xScanClose */
  0,                               /* xHold: warm moves, holds nothing */
  sqlite3StreamWarmMoveEnd,        /* xMoveEnd */
};
