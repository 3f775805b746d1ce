/*
** warm_compact.c - compaction of warm segments (cleanup.policy compact,
** compact,delete).
**
** The hot tier's compactor (ext/compact.c) never sees warm rows, so a
** compacted partition's warm files would keep every version that was
** moved.  sqlite3StreamWarmCompact() applies the same rule to them (the
** one compaction engine, ext/compactor.c, over a record source of each
** segment's rows, newest first): a record is removed when a newer record of its key exists (in a newer
** segment or in the hot tier: every hot offset is above every warm one);
** a tombstone (NULL value) that is the latest of its key goes once it is
** below the cleaner's tombstone horizon (delete.retention.ms, see
** ext/compact.c) and is not the newest message of the partition; records
** with a NULL key go too (Kafka's cleaner drops them), unless newest.
** Keys compare as bytes.  Offsets are kept
** (gaps, as in Kafka).
**
** Segments are visited newest first, the engine seeded with the hot
** keys.  A segment that loses records is rewritten as a new
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
#include "warm.h"
#include <string.h>

/* One row of a segment being compacted. */
typedef struct StreamTcRow StreamTcRow;
struct StreamTcRow {
  i64 iOff;                    /* Offset */
  i64 iKey;                    /* Key bytes in the row arena, or -1 */
  int nKey;                    /* Key length */
  u8 bTomb;                    /* Value is NULL */
  u8 bKeep;                    /* Decision */
};

/* The rows of one segment as a record source, newest first. */
typedef struct StreamTcSource StreamTcSource;
struct StreamTcSource {
  StreamRecordSource base;     /* Base class - must be first */
  StreamTcRow *aRow;           /* Rows, in file order */
  const u8 *aKey;              /* Their key bytes */
  i64 iNext;                   /* Row to return next, -1 at the end */
  i64 iCur;                    /* Row returned last */
};

static int streamTcNext(StreamRecordSource *pSrc, StreamRecord *pRec){
  StreamTcSource *pS = (StreamTcSource*)pSrc;
  StreamTcRow *pRow;
  if( pS->iNext<0 ) return SQLITE_DONE;
  pS->iCur = pS->iNext--;
  pRow = &pS->aRow[pS->iCur];
  pRec->iOffset = pRow->iOff;
  pRec->bTomb = pRow->bTomb;
  pRec->bHasKey = pRow->iKey>=0;
  pRec->pKey = pRec->bHasKey && pS->aKey ? &pS->aKey[pRow->iKey] : 0;
  pRec->nKey = pRow->nKey;
  return SQLITE_ROW;
}

/* A segment row. */
typedef struct StreamTcSeg StreamTcSeg;
struct StreamTcSeg {
  StreamSegment seg;           /* The row (zLocation owned: zLoc) */
  char *zLoc;                  /* Location */
  char *zAt;                   /* Its store column ("": the database's) */
  StreamStore *pStore;         /* Its store (a reference) */
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
  StreamWarmSink sink;
  StreamSegment segNew;
  const char *zSlash = strrchr(pSeg->zLoc, '/');
  const char *zRel = pSeg->zLoc + sqlite3StreamWarmNsLen(pSeg->zLoc);
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

  rc = sqlite3StreamWarmOpenSegment(pStore, &pSeg->seg, &h, &pR, &nBytes,
                                    pzErr);
  if( rc ) return rc;
  rc = pStore->pMethods->xPutBegin(pStore, *pzNew, &sink.pUp, pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamPqWriterOpen(&pW, eCodec, 0, sqlite3StreamWarmSinkWrite,
                                   &sink);
  }
  for(i=0; rc==SQLITE_OK && i<nRow; i++){
    StreamPqRow r;
    rc = sqlite3StreamPqReaderNext(pR, &r);
    if( rc==SQLITE_ROW && r.iOffset>iPrev && r.iOffset==aRow[i].iOff ){
      iPrev = r.iOffset;
    }else{
      const char *zStore = rc==SQLITE_NOMEM ? 0
                         : sqlite3StreamStoreReadErr(&h);
      if( rc==SQLITE_ROW || rc==SQLITE_DONE ) rc = SQLITE_CORRUPT;
      if( zStore ){
        /* The store failed to read it: its message says why. */
        rc = sqlite3StreamErr(pzErr, SQLITE_IOERR, "warm segment %s cannot"
                              " be read: %s", pSeg->zLoc, zStore);
      }else{
        sqlite3StreamErr(pzErr, rc, "warm segment %s changed while it was"
            " compacted (%s)", pSeg->zLoc,
            sqlite3StreamPqReaderErrmsg(pR) ? sqlite3StreamPqReaderErrmsg(pR)
                                            : "rows differ");
      }
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
    sqlite3StreamWarmWriteMeta(pW, &segNew);
    sqlite3StreamPqWriterMeta(pW, "stream.compacted", "true");
    rc = sqlite3StreamPqWriterFinish(pW);
  }
  sqlite3StreamWarmCloseSegment(&h, pR);
  sqlite3StreamWarmWriteErr(&sink, pW, *pzNew, rc, pzErr);
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
    rc = sqlite3StreamWarmVerify(pStore, &segNew, iFirst, iLast, &nBytes,
                                 pzErr);
  }
  if( rc==SQLITE_OK ){
    STREAM_TIER_CRASH(5);
    rc = sqlite3StreamStorageSegmentRewrite(p, zTopic, iPart,
        pSeg->seg.iFirst, *pzNew, nOut, nBytes, iTsMin, iTsMax, pzErr);
  }
  if( sink.pUp ) pStore->pMethods->xPutAbort(sink.pUp);
  sqlite3StreamPqWriterFree(pW);
  sqlite3_free(sink.zErr);
  return rc;
}

int sqlite3StreamWarmCompact(StreamCtx *p, const char *zTopic, int iPart,
                             i64 nMaxRewrite, i64 iHold, i64 *pnRemoved,
                             char **pzErr){
  StreamStore *pStore = 0;
  StreamCompactor cmp;
  StreamTcSeg *aSeg = 0;
  StreamTcRow *aRow = 0;
  StreamStrList oldKeys, newKeys;   /* Files replaced, written ... */
  StreamStrList oldAts, newAts;     /* ... and the store of each */
  StreamCleaner cl;
  u8 *aKey = 0;
  i64 nKeyAlloc = 0, nRowAlloc = 0, iHwm = 0, nRewrite = 0, nRemoved = 0;
  int nSeg = 0, iSeg, rc, bSp = 0, i, bDeferred = 0;
  sqlite3_stmt *pStmt = 0;

  *pnRemoved = 0;
  memset(&cmp, 0, sizeof(cmp));
  memset(&oldKeys, 0, sizeof(oldKeys));
  memset(&newKeys, 0, sizeof(newKeys));
  memset(&oldAts, 0, sizeof(oldAts));
  memset(&newAts, 0, sizeof(newAts));
  rc = sqlite3StreamStorageInt(p, STREAM_SQL_SEG_COUNT, zTopic, iPart,
                               0, 0, 0, &iHwm, pzErr);
  if( rc || iHwm==0 ){
    if( rc && sqlite3StreamNoStorage(p->db) ) rc = SQLITE_OK;
    return rc;
  }
  if( iHold<(i64)0x7fffffffffffffffLL ){
    /* The colder tiers' hold (the cold tier, xHold): no warm compaction
    ** while a segment holds messages they have not taken yet. */
    i64 iMaxLast = 0;
    rc = sqlite3StreamStorageInt(p, STREAM_SQL_SEG_LAST, zTopic, iPart,
                                 0, 0, -1, &iMaxLast, pzErr);
    if( rc ) return rc;
    if( iMaxLast>=iHold ) return SQLITE_OK;
  }
  /* The database's store (NULL: the segments are all in topics' own
  ** stores, each segment's is opened below). */
  rc = sqlite3StreamTierStore(p, &pStore, pzErr);
  if( rc ) return rc;
  rc = sqlite3StreamWarmBegin(p, &bSp, pzErr);         /* the write lock */
  if( rc ){ sqlite3StreamWarmStoreFree(pStore); return rc; }
  if( pStore ) rc = sqlite3StreamWarmNamespace(p, pStore, 1, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamCleanerGet(p, zTopic, iPart, &cl,
                                                   pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamHighWatermark(p, zTopic, iPart, &iHwm, pzErr);
  }
  /* A tombstone goes only in an unbounded pass: one cut short could leave
  ** older records of its key in the segments it did not reach, with
  ** nothing newer left to supersede them. */
  sqlite3StreamCompactorInit(&cmp, iHwm, cl.iHorizon, nMaxRewrite<0);

  /* The segments of the topic (its incarnation), newest first. */
  if( rc==SQLITE_OK ){
    pStmt = sqlite3StreamStorageStmt(p, STREAM_SQL_SEG_NEWEST, zTopic, iPart,
                                     pzErr);
    if( pStmt==0 ) rc = sqlite3StreamStmtErr(p);
  }
  if( rc==SQLITE_OK ){
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
      aSeg[nSeg].zAt = sqlite3_mprintf("%s", sqlite3_column_type(pStmt, 8)
          ==SQLITE_NULL ? "" : (const char*)sqlite3_column_text(pStmt, 8));
      if( aSeg[nSeg].zAt==0 ){ rc = SQLITE_NOMEM; nSeg++; break; }
      aSeg[nSeg].seg.zStore = aSeg[nSeg].zAt[0] ? aSeg[nSeg].zAt : 0;
      if( nSeg>0 && aSeg[nSeg].seg.iLast>=aSeg[nSeg-1].seg.iFirst ){
        rc = sqlite3StreamWarmOverlapErr(&aSeg[nSeg].seg, &aSeg[nSeg-1].seg,
                                         pzErr);
      }
      nSeg++;
    }
    if( rc==SQLITE_OK ) rc = sqlite3StreamStorageReset(p, pStmt, pzErr);
    else sqlite3_reset(pStmt);
    pStmt = 0;
  }

  /* Every hot key supersedes every warm record of it. */
  if( rc==SQLITE_OK ){
    pStmt = sqlite3StreamStorageStmt(p, STREAM_SQL_MSG_KEYS, zTopic, iPart,
                                     pzErr);
    if( pStmt==0 ) rc = sqlite3StreamStmtErr(p);
  }
  if( rc==SQLITE_OK ){
    while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
      const u8 *z = (const u8*)sqlite3_column_blob(pStmt, 0);
      int n = sqlite3_column_bytes(pStmt, 0);
      if( z==0 && n>0 ){ rc = SQLITE_NOMEM; break; }
      rc = sqlite3StreamCompactorSeed(&cmp, z, n);
    }
    if( rc==SQLITE_OK ) rc = sqlite3StreamStorageReset(p, pStmt, pzErr);
    else sqlite3_reset(pStmt);
    pStmt = 0;
  }

  for(iSeg=0; rc==SQLITE_OK && iSeg<nSeg; iSeg++){
    StreamTcSeg *pSeg = &aSeg[iSeg];
    StreamStoreHandle h;
    StreamPqReader *pR = 0;
    i64 nRow = 0, nKey = 0, nKeep = 0, nFile, iPrev = SMALLEST_INT64;
    if( nMaxRewrite>=0 && nRewrite>=nMaxRewrite ) break;

    /* Pass 1: offsets, keys and tombstones of the file (in its store). */
    rc = sqlite3StreamWarmSegStore(p, pStore, pSeg->zAt, &pSeg->pStore,
                                   pzErr);
    if( rc==SQLITE_OK && pSeg->pStore==0 ){
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "warm segment %s is in the"
          " index but there is no warm store", pSeg->zLoc);
    }
    if( rc ) break;
    rc = sqlite3StreamWarmOpenSegment(pSeg->pStore, &pSeg->seg, &h, &pR,
                                      &nFile, pzErr);
    if( rc ) break;
    sqlite3StreamPqReaderSetColumns(pR, (1u<<3)|(1u<<4));
    while( 1 ){
      StreamPqRow r;
      int rc2 = sqlite3StreamPqReaderNext(pR, &r);
      if( rc2==SQLITE_DONE ) break;
      if( rc2!=SQLITE_ROW ){
        const char *z = sqlite3StreamPqReaderErrmsg(pR);
        const char *zStore = rc2==SQLITE_NOMEM ? 0
                           : sqlite3StreamStoreReadErr(&h);
        rc = zStore
           ? sqlite3StreamErr(pzErr, SQLITE_IOERR, "warm segment %s cannot"
                              " be read: %s", pSeg->zLoc, zStore)
           : sqlite3StreamErr(pzErr, rc2, "warm segment %s: %s", pSeg->zLoc,
                              z ? z : sqlite3_errstr(rc2));
        break;
      }
      if( r.iOffset<=iPrev || r.iOffset<pSeg->seg.iFirst
       || r.iOffset>pSeg->seg.iLast ){
        StreamPqGroupInfo range;
        memset(&range, 0, sizeof(range));
        range.iOffsetMin = pSeg->seg.iFirst;
        range.iOffsetMax = pSeg->seg.iLast;
        rc = sqlite3StreamWarmRowCheck(pSeg->zLoc, &range, &iPrev, r.iOffset,
                                       pzErr);
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
    sqlite3StreamWarmCloseSegment(&h, pR);
    if( rc ) break;

    /* Newest first: superseded records and old tombstones go. */
    {
      StreamTcSource src;
      StreamRecord rec;
      int bKeep = 1;
      src.base.xNext = streamTcNext;
      src.aRow = aRow;
      src.aKey = aKey;
      src.iNext = nRow-1;
      src.iCur = -1;
      while( (rc = sqlite3StreamCompactorStep(&cmp, &src.base, &rec, &bKeep))
             ==SQLITE_ROW ){
        if( bKeep ) nKeep++;
        else aRow[src.iCur].bKeep = 0;
      }
      if( rc==SQLITE_DONE ) rc = SQLITE_OK;
    }
    if( rc || nKeep==nRow ) continue;

    nRewrite++;
    nRemoved += nRow - nKeep;
    sqlite3StreamStrListAdd(&oldKeys, pSeg->zLoc);
    sqlite3StreamStrListAdd(&oldAts, pSeg->zAt);
    if( oldKeys.rc || oldAts.rc ){ rc = SQLITE_NOMEM; break; }
    if( nKeep==0 ){
      rc = sqlite3StreamStorageRun(p, STREAM_SQL_SEG_DELETE, zTopic, iPart,
                                   pSeg->seg.iFirst, pzErr);
    }else{
      char *zNew = 0;
      rc = streamTcRewrite(p, pSeg->pStore, zTopic, iPart, pSeg, aRow, nRow,
                           nKeep, &zNew, pzErr);
      if( zNew ){
        sqlite3StreamStrListAdd(&newKeys, zNew);
        sqlite3StreamStrListAdd(&newAts, pSeg->zAt);
        sqlite3_free(zNew);
        if( rc==SQLITE_OK && (newKeys.rc || newAts.rc) ) rc = SQLITE_NOMEM;
      }
    }
    STREAM_TIER_CRASH(6);
  }

  /* With warm.file.delete.delay.ms, the replaced files are held (in this
  ** transaction) and the sweep deletes them once the delay has passed. */
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamWarmDefer(p, &oldKeys, &oldAts, &bDeferred, pzErr);
  }
  rc = sqlite3StreamWarmEnd(p, bSp, rc, pzErr);
  if( rc==SQLITE_OK ){
    *pnRemoved = nRemoved;
    /* Committed (autocommit): the replaced files can go now.  Inside the
    ** caller's transaction they stay until the orphan sweep. */
    sqlite3StreamWarmKeysDeleteAt(p, pStore, &oldKeys, &oldAts,
                                  !bDeferred && sqlite3_get_autocommit(p->db));
  }else{
    /* Not recorded: the new files go rather than stay as orphans. */
    sqlite3StreamWarmKeysDeleteAt(p, pStore, &newKeys, &newAts, 1);
  }
  sqlite3StreamStrListFree(&oldKeys);
  sqlite3StreamStrListFree(&newKeys);
  sqlite3StreamStrListFree(&oldAts);
  sqlite3StreamStrListFree(&newAts);
  for(i=0; i<nSeg; i++){
    sqlite3_free(aSeg[i].zLoc);
    sqlite3_free(aSeg[i].zAt);
    sqlite3StreamWarmStoreFree(aSeg[i].pStore);
  }
  sqlite3_free(aSeg);
  sqlite3_free(aRow);
  sqlite3_free(aKey);
  sqlite3StreamCompactorFree(&cmp);
  sqlite3StreamWarmStoreFree(pStore);
  return rc;
}

