/*
** warm_sweep.c - warm retention (whole segments expire, oldest first), the
** orphan sweep (files of this database's namespace that no segment row
** names, and rows of deleted topics), and dropping a topic's segments.
**
** Files are deleted only after the rows that named them are gone and
** committed: inside an enclosing transaction they are left to a later
** sweep (a ROLLBACK would bring the rows back).  An expiry deletes them
** after its commit under the write lock again, only those no row names
** then (sqlite3StreamWarmKeysDeleteAt(), ext/warm.c).  The orphan sweep
** deletes what it found under the write lock, before its commit (see
** streamWarmSweepStore()): none of those files is named by a committed
** row of a live topic.  With
** warm.file.delete.delay.ms (ext/warm.c), the change that stops naming a
** file records it in _stream_warm_deleted instead, and the sweep deletes
** it once the delay has passed, so that readers whose snapshots still
** name it can finish.
*/
#include "warm.h"
#include <string.h>

int sqlite3StreamWarmExpire(StreamTier *pTier, const char *zTopic, int iPart,
                            const StreamTopicConfig *pCfg, i64 iHold,
                            StreamTierStats *pStats, char **pzErr){
  StreamCtx *p = pTier->pCtx;
  StreamStore *pStore = ((StreamWarmTier*)pTier)->pStore;
  sqlite3_stmt *pSeg = 0;
  StreamStrList keys, ats;     /* Files to delete, the store of each */
  i64 nTotal = 0, iCutoff = 0, iStart = -1;
  int rc, bSp = 0, bDeferred = 0;
  int bTime = pCfg->retentionMs>=0;
  int bSize = pCfg->retentionBytes>=0;
  memset(&keys, 0, sizeof(keys));
  memset(&ats, 0, sizeof(ats));
  if( (pCfg->eCleanup & STREAM_CLEANUP_DELETE)==0 || (!bTime && !bSize) ){
    return SQLITE_OK;
  }
  if( bTime ) iCutoff = sqlite3StreamNow(p) - pCfg->retentionMs;
  if( bSize ){
    i64 nWarm = 0, nHot = 0;
    rc = sqlite3StreamStorageInt(p, STREAM_SQL_SEG_BYTES, zTopic, iPart,
                                 0, 0, 0, &nWarm, pzErr);
    if( rc==SQLITE_OK ){
      rc = sqlite3StreamStorageInt(p, STREAM_SQL_MSG_BYTES, zTopic, iPart,
                                   0, 0, 0, &nHot, pzErr);
    }
    if( rc ) return rc;
    nTotal = nWarm + nHot;
  }
  pSeg = sqlite3StreamStorageStmt(p, STREAM_SQL_SEG_OLDEST, zTopic, iPart,
                                  pzErr);
  if( pSeg==0 ) return SQLITE_ERROR;
  while( sqlite3_step(pSeg)==SQLITE_ROW ){
    i64 nBytes = sqlite3_column_int64(pSeg, 3);
    int bGo = (bTime && sqlite3_column_int64(pSeg, 2)<iCutoff)
           || (bSize && nTotal-nBytes>=pCfg->retentionBytes);
    if( !bGo ) break;
    /* The colder tiers' hold: never expire what they have not taken. */
    if( sqlite3_column_int64(pSeg, 1)>=iHold ) break;
    nTotal -= nBytes;
    iStart = sqlite3StreamOffsetAfter(sqlite3_column_int64(pSeg, 1));
    sqlite3StreamStrListAdd(&keys, (const char*)sqlite3_column_text(pSeg, 4));
    sqlite3StreamStrListAdd(&ats, sqlite3_column_type(pSeg, 5)==SQLITE_NULL
                            ? "" : (const char*)sqlite3_column_text(pSeg, 5));
  }
  rc = sqlite3StreamStorageReset(p, pSeg, pzErr);
  if( rc==SQLITE_OK ) rc = keys.rc ? keys.rc : ats.rc;
  if( rc==SQLITE_OK && keys.n>0 ){
    rc = sqlite3StreamWarmBegin(p, &bSp, pzErr);
    if( rc==SQLITE_OK ){
      rc = sqlite3StreamStorageSegmentsExpire(p, zTopic, iPart, iStart,
                                              pzErr);
      /* (With warm.file.delete.delay.ms, the sweep deletes the files.) */
      if( rc==SQLITE_OK ){
        rc = sqlite3StreamWarmDefer(p, &keys, &ats, &bDeferred, pzErr);
      }
      rc = sqlite3StreamWarmEnd(p, bSp, rc, pzErr);
    }
    if( rc==SQLITE_OK ){
      pStats->nExpired += keys.n;
      /* Committed unless an enclosing transaction is still open; under
      ** the write lock again (another connection's move may have used a
      ** key since, ext/warm.c). */
      sqlite3StreamWarmKeysDeleteAt(p, pStore, &keys, &ats, !bDeferred
                          && sqlite3_txn_state(p->db, 0)!=SQLITE_TXN_WRITE);
    }
  }
  sqlite3StreamStrListFree(&keys);
  sqlite3StreamStrListFree(&ats);
  return rc;
}

typedef struct StreamWarmSweep StreamWarmSweep;
struct StreamWarmSweep {
  StreamCtx *p;                /* Connection */
  sqlite3_stmt *pFind;         /* Is there a row with this location? */
  sqlite3_stmt *pHeld;         /* ... or is it held (the delay)? */
  StreamStrList keys;         /* Orphans found */
};

/* A file of this database's namespace is an orphan if it is a temporary
** file, or a segment file (".parquet") that no row names and that is not
** held in _stream_warm_deleted (warm.file.delete.delay.ms not passed
** since a committed change stopped naming it).  Other files are left
** alone. */
static int streamWarmSweepCb(void *pArg, const char *zKey){
  StreamWarmSweep *pS = (StreamWarmSweep*)pArg;
  int bOrphan = 0;
  size_t n = strlen(zKey);
  if( n>12 && strcmp(zKey+n-12, ".parquet.tmp")==0 ){
    bOrphan = 1;
  }else if( n>8 && strcmp(zKey+n-8, ".parquet")==0 ){
    sqlite3_bind_text(pS->pFind, 1, zKey, -1, SQLITE_STATIC);
    bOrphan = sqlite3_step(pS->pFind)==SQLITE_DONE;
    if( sqlite3_reset(pS->pFind)!=SQLITE_OK ) bOrphan = 0;
    if( bOrphan && pS->pHeld ){
      sqlite3_bind_text(pS->pHeld, 1, zKey, -1, SQLITE_STATIC);
      bOrphan = sqlite3_step(pS->pHeld)==SQLITE_DONE;
      if( sqlite3_reset(pS->pHeld)!=SQLITE_OK ) bOrphan = 0;
    }
  }
  if( bOrphan ) sqlite3StreamStrListAdd(&pS->keys, zKey);
  return pS->keys.rc!=SQLITE_OK;
}

/* Remove segment rows of deleted (or deleted and re-created) topics: rows
** whose incarnation is not their topic's.  Then every orphan file under
** this database's namespace (zTopic/ of it if zTopic is not NULL).  Files
** outside the namespace are never listed, so another database sharing
** the store is never touched. */
static int streamWarmSweepStore(StreamCtx *p, StreamStore *pStore,
                                const char *zTopic, StreamTierStats *pStats,
                                char **pzErr){
  StreamWarmSweep s;
  char *zPrefix = 0;
  int rc, bSp = 0, bHeld, nOrphan;
  i64 ms = 0, iCut = 0;
  /* Under the write lock taken below, only this sweep's own changes are
  ** uncommitted, unless an enclosing transaction already wrote. */
  int bOuter = sqlite3_txn_state(p->db, 0)!=SQLITE_TXN_WRITE;
  memset(&s, 0, sizeof(s));
  s.p = p;
  rc = sqlite3StreamWarmBegin(p, &bSp, pzErr);       /* the write lock */
  if( rc ) return rc;
  /* The rows of deleted topics: their files are held as a topic's delete
  ** holds them (that delete recorded them already, unless the delay was
  ** 0 then, or the rows are of format 1). */
  rc = sqlite3StreamWarmDeferRows(p, 0, pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamAuxRun(p, STREAM_AUX_SEG_DELETE_DEAD, pzErr, "");
  }
  if( rc==SQLITE_OK ) rc = sqlite3StreamWarmDelay(p, &ms, pzErr);
  /* Held: recorded after the cutoff.  A clock stepped back holds files
  ** longer; one stepped forward lets them go sooner, but never a file a
  ** row names (the rows decide that, not the clock). */
  iCut = sqlite3StreamNow(p);
  iCut = iCut<SMALLEST_INT64+ms ? SMALLEST_INT64 : iCut-ms;
  bHeld = rc==SQLITE_OK && sqlite3StreamWarmDeferTable(p);
  if( rc==SQLITE_OK && pStore->zNs ){
    s.pFind = sqlite3StreamAuxStmt(p, STREAM_AUX_SEG_AT, pzErr);
    if( s.pFind==0 ) rc = sqlite3StreamStmtErr(p);
    if( rc==SQLITE_OK && bHeld ){
      s.pHeld = sqlite3StreamAuxStmt(p, STREAM_AUX_WARM_DEFER_HELD, pzErr);
      if( s.pHeld==0 ) rc = sqlite3StreamStmtErr(p);
      else sqlite3_bind_int64(s.pHeld, 2, iCut);
    }
    if( rc==SQLITE_OK ){
      zPrefix = zTopic ? sqlite3_mprintf("%s/%s/", pStore->zNs, zTopic)
                       : sqlite3_mprintf("%s/", pStore->zNs);
      if( zPrefix==0 ) rc = SQLITE_NOMEM;
    }
    if( rc==SQLITE_OK ){
      rc = pStore->pMethods->xList(pStore, zPrefix, streamWarmSweepCb, &s,
                                   pzErr);
      if( rc==SQLITE_OK ) rc = s.keys.rc;
    }
  }
  if( s.pFind ) sqlite3_reset(s.pFind);
  if( s.pHeld ) sqlite3_reset(s.pHeld);
  /* The records of files past the delay go (a file of one that this
  ** sweep did not list, in another store or gone already, is an orphan
  ** now, for the sweep of its store). */
  if( rc==SQLITE_OK && bHeld ){
    rc = sqlite3StreamAuxRun(p, STREAM_AUX_WARM_DEFER_DUE, pzErr, "i", iCut);
  }
  /* The files go now, under the write lock, before the commit: no row of a
  ** live topic and no record names them, and none can while the lock is
  ** held.  Deleted after the commit, a file could be one that another
  ** connection's move had just written under the same key (a move
  ** started again after a crash or a rollback, or of a topic created
  ** again, once the record holding the old file's key was forgotten) and
  ** recorded: its row would name a deleted file.  A commit that fails
  ** after this brings back only records and rows of deleted topics, whose
  ** files were due to go (the next sweep forgets them).  Inside an
  ** enclosing transaction that wrote, they are left to a later sweep. */
  nOrphan = rc==SQLITE_OK ? s.keys.n : 0;
  if( rc==SQLITE_OK ){
    if( s.keys.n>0 && bOuter ){ STREAM_TIER_CRASH(7); }
    sqlite3StreamWarmKeysDelete(pStore, &s.keys, bOuter);
  }
  rc = sqlite3StreamWarmEnd(p, bSp, rc, pzErr);
  if( rc==SQLITE_OK ) pStats->nOrphan += nOrphan;
  sqlite3StreamStrListFree(&s.keys);
  sqlite3_free(zPrefix);
  return rc;
}

/* Sweep the database's store (pDefault, else opened here) and every
** store of a segment row or of a topic's own warm.store: each of them
** even after an error in another (the first error is returned).  A file
** is an orphan only if no row of any store names its location, so a
** store shared by several topics (or the database's store named again as
** a topic's) never loses a file another row names. */
static int streamWarmSweepAll(StreamCtx *p, StreamStore *pDefault,
                              const char *zTopic, StreamTierStats *pStats,
                              char **pzErr){
  StreamStrList l;
  StreamStore *pDb = 0;
  int rc, i;
  memset(&l, 0, sizeof(l));
  rc = sqlite3StreamWarmSegStore(p, pDefault, 0, &pDb, pzErr);
  if( rc==SQLITE_OK && pDb ){
    rc = streamWarmSweepStore(p, pDb, zTopic, pStats, pzErr);
  }
  if( sqlite3StreamWarmStores(p, &l, rc ? 0 : pzErr) && rc==SQLITE_OK ){
    rc = SQLITE_ERROR;
  }
  for(i=0; i<l.n; i++){
    StreamStore *pStore = 0;
    int rc2;
    if( pDb && strcmp(pDb->zUrl, l.az[i])==0 ) continue;   /* (done) */
    rc2 = sqlite3StreamWarmStoreAt(p, l.az[i], &pStore, rc ? 0 : pzErr);
    if( rc2==SQLITE_OK ){
      rc2 = streamWarmSweepStore(p, pStore, zTopic, pStats, rc ? 0 : pzErr);
    }
    sqlite3StreamWarmStoreFree(pStore);
    if( rc==SQLITE_OK ) rc = rc2;
  }
  sqlite3StreamStrListFree(&l);
  sqlite3StreamWarmStoreFree(pDb);
  return rc;
}

/* xSweep */
int sqlite3StreamWarmSweep(StreamTier *pTier, const char *zTopic,
                           StreamTierStats *pStats, char **pzErr){
  return streamWarmSweepAll(pTier->pCtx, ((StreamWarmTier*)pTier)->pStore,
                            zTopic, pStats, pzErr);
}

/* xDropTopic: every segment row of the topic goes, in the caller's
** transaction (with or without a store: a database copied without its
** store can still drop the topic).  Its files go only once that is
** committed: called outside a write transaction, the store is opened and
** the topic's files swept now, best effort; inside one (stream_delete_topic()
** always runs in one), they are orphans for the next sweep of
** stream_tier() / stream_maintain(), and the store is not even opened, so
** deleting a topic needs no store I/O. */
int sqlite3StreamWarmDropTopic(StreamCtx *p, const char *zTopic,
                               char **pzErr){
  StreamTierStats st;
  /* (With warm.file.delete.delay.ms, its files are held first.) */
  int rc = sqlite3StreamWarmDeferRows(p, zTopic, pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamAuxRun(p, STREAM_AUX_SEG_DROP_TOPIC, pzErr, "t",
                             zTopic);
  }
  if( rc ) rc = sqlite3StreamAuxNoStorage(p, rc, pzErr);   /* no index */
  if( rc || sqlite3_txn_state(p->db, 0)==SQLITE_TXN_WRITE ) return rc;
  memset(&st, 0, sizeof(st));
  streamWarmSweepAll(p, 0, zTopic, &st, 0);              /* best effort */
  return SQLITE_OK;
}
