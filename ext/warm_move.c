/*
** warm_move.c - moving hot messages into the warm tier: which prefix of a
** partition's hot offsets has left the hot window (hot.retention.messages,
** hot.retention.ms), and the crash-ordered move of up to one file of it
** (the steps are listed at the top of ext/warm.c).
**
** stream_tier() and stream_maintain() move everything eligible, one file
** of at most STREAM_WARM_MAX_FILE_ROWS messages after another; the
** after-append hook (ext/tier.c, bHook) moves at most
** STREAM_WARM_HOOK_MAX_ROWS messages (one file), and only when at least
** STREAM_WARM_HOOK_MIN_ROWS are eligible or the oldest is older than twice
** hot.retention.ms.
**
** Chained moves.  To a store whose commit is a network round trip (s3://:
** xPutStart), stream_tier() and stream_maintain() keep the upload of one
** file in flight while the next file is encoded: the file is encoded,
** its upload started (xPutStart); the next one (of the same partition or
** the next) is encoded, the upload in flight pumped every
** STREAM_WARM_PUMP_ROWS rows; then the second upload starts, and only
** then is the first one waited for and checked (xPutCommit, the footer
** check) and its segment recorded, in a savepoint of its own, while the
** second is in flight (if that record fails, the second upload is
** aborted and nothing of it recorded); xMoveEnd
** (sqlite3StreamWarmMoveEnd) finishes the last one.  The rules of
** ext/warm.c hold for each file: its hot rows are deleted only once the
** service acknowledged it (size and ETag checked) and only in the
** statement that records it.  The hot rows read and the records made
** must see the same log, so all of a topic's chained moves run in one
** transaction (opened by the first, ended by xMoveEnd, or before a move
** once it is STREAM_WARM_CHAIN_MS old) under the write lock; a record
** that fails is rolled back alone, the records before it stay and are
** committed, the upload in flight is aborted.
*/
#include "warm.h"
#include <string.h>


/* The after-append hook moves only when at least this many messages are
** eligible (or the oldest eligible one is older than twice
** hot.retention.ms) ... */
#define STREAM_WARM_HOOK_MIN_ROWS  10000
/* ... and then at most this many (one file). */
#define STREAM_WARM_HOOK_MAX_ROWS  50000
/* Largest segment file written by stream_tier(), in messages. */
#define STREAM_WARM_MAX_FILE_ROWS  1000000
/* A chain of moves (see below) that has held its transaction this long
** ends before its next move, so that other writers wait no longer than
** about this plus one file's move. */
#define STREAM_WARM_CHAIN_MS       1000
#ifdef STREAM_TEST_HOOKS
/* (The hooked test library reads it from STREAM_WARM_CHAIN_MS.) */
# include <stdlib.h>
static i64 streamWarmChainMs(void){
  const char *z = getenv("STREAM_WARM_CHAIN_MS");
  return z && z[0] ? atoll(z) : STREAM_WARM_CHAIN_MS;
}
#else
# define streamWarmChainMs() STREAM_WARM_CHAIN_MS
#endif
/* A chained move lets the upload in flight progress every this many
** rows it encodes (the store's xPrefetch with no key). */
#define STREAM_WARM_PUMP_ROWS      1024
/* A UTC day, in ms (files never span one: see streamWarmMoveOne()). */
#define STREAM_WARM_DAY_MS         86400000

/**************************************************************************
** Eligibility: which prefix of a partition's hot offsets leaves the hot
** window.
*/
typedef struct StreamWarmPart StreamWarmPart;
struct StreamWarmPart {
  i64 iHwm;                    /* High watermark */
  i64 iFrom;                   /* First hot offset above the warm tier */
  i64 iCut;                    /* Move hot offsets < iCut */
  i64 iFirstTs;                /* Timestamp of iFrom's message */
};

/* The eligible prefix of (zTopic, iPart) from the end of the warm tier or
** from iAfter if that is beyond it (a chained move of the partition not
** yet recorded ends before iAfter). */
static int streamWarmEligible(StreamCtx *p, const char *zTopic, int iPart,
                              i64 iInc, i64 iAfter,
                              const StreamTopicConfig *pCfg,
                              StreamWarmPart *pP, char **pzErr){
  i64 iWarmEnd, c1 = -1, c2 = -1;
  int rc;
  memset(pP, 0, sizeof(*pP));
  pP->iFrom = -1;
  if( pCfg->hotRetentionMessages<0 && pCfg->hotRetentionMs<0 ) return 0;
  rc = sqlite3StreamHighWatermark(p, zTopic, iPart, &pP->iHwm, pzErr);
  if( rc ) return rc;
  rc = sqlite3StreamStorageInt(p, STREAM_SQL_SEG_END, zTopic, iPart,
      iInc, 0, 0, &iWarmEnd, pzErr);
  if( rc ) return rc;
  if( iAfter>iWarmEnd ) iWarmEnd = iAfter;
  rc = sqlite3StreamStorageInt(p, STREAM_SQL_MSG_FIRST_FROM, zTopic, iPart,
      iWarmEnd, 0, -1, &pP->iFrom, pzErr);
  if( rc || pP->iFrom<0 ) return rc;
  if( pCfg->hotRetentionMessages>=0 ){
    c1 = pP->iHwm - pCfg->hotRetentionMessages;
  }
  if( pCfg->hotRetentionMs>=0 ){
    /* The first message still inside the time window ends the prefix (a
    ** record batch counts as young as its youngest record). */
    i64 iCutoff = sqlite3StreamNow(p) - pCfg->hotRetentionMs;
    rc = sqlite3StreamStorageInt(p, STREAM_SQL_MSG_FIRST_YOUNG, zTopic, iPart,
        pP->iFrom, iCutoff, pP->iHwm, &c2, pzErr);
    if( rc==SQLITE_OK && c2>=pP->iFrom ){
      /* Exact: the batches up to it (the one found included, also when
      ** it is the first row: it may begin with old records) become
      ** single rows, then the first young message is looked up again. */
      rc = sqlite3StreamUnbatchRange(p, zTopic, iPart, pP->iFrom, c2, pzErr);
      if( rc==SQLITE_OK ){
        rc = sqlite3StreamStorageInt(p, STREAM_SQL_MSG_FIRST_YOUNG, zTopic,
            iPart, pP->iFrom, iCutoff, pP->iHwm, &c2, pzErr);
      }
    }
    if( rc ) return rc;
  }
  pP->iCut = c1>c2 ? c1 : c2;
  if( pP->iCut>pP->iFrom ){
    /* The move reads and removes single rows: the record batches it may
    ** take become rows of one message first (ext/produce.c). */
    rc = sqlite3StreamUnbatchRange(p, zTopic, iPart, pP->iFrom, pP->iCut,
                                   pzErr);
    if( rc ) return rc;
  }
  return sqlite3StreamStorageInt(p, STREAM_SQL_MSG_TIMESTAMP, zTopic, iPart,
      pP->iFrom, 0, 0, &pP->iFirstTs, pzErr);
}

/* The object key of a segment, in namespace zNs. */
static char *streamWarmKey(const char *zNs, const char *zTopic, int iPart,
                           i64 iFirstTs, i64 iFirst, i64 iLast){
  char zIso[32];
  int i;
  sqlite3StreamIsoTime(iFirstTs<0 ? 0 : iFirstTs, zIso);
  for(i=0; zIso[i] && zIso[i]!='T'; i++){}
  return sqlite3_mprintf(
      "%s/%s/partition=%d/date=%.*s/%020lld-%020lld.parquet",
      zNs, zTopic, iPart, i, zIso, iFirst, iLast);
}

/**************************************************************************
** Moving one segment.
*/

/* The last hot offset of a file starting at iFrom: the nMax-th hot offset
** >= iFrom, or the last one < iCut if there are fewer; -1 if none.  Offsets
** are distinct integers, so when iCut-iFrom <= nMax the range cannot hold
** more than nMax rows and one seek (max) answers; otherwise the nMax-th row
** is counted out (OFFSET). */
static int streamWarmLastOffset(StreamCtx *p, const char *zTopic, int iPart,
                                i64 iFrom, i64 iCut, i64 nMax, i64 *piLast,
                                char **pzErr){
  i64 iLast = -1;
  int rc = SQLITE_OK;
  if( iCut-iFrom>nMax ){
    rc = sqlite3StreamStorageInt(p, STREAM_SQL_MSG_NTH_FROM, zTopic, iPart,
        iFrom, nMax-1, -1, &iLast, pzErr);
    if( rc ) return rc;
    if( iLast>=iCut ) iLast = -1;
  }
  if( iLast<0 ){
    rc = sqlite3StreamStorageInt(p, STREAM_SQL_MSG_LAST_BELOW, zTopic, iPart,
        iFrom, iCut, -1, &iLast, pzErr);
  }
  *piLast = iLast;
  return rc;
}

/* Make *pzKey (from streamWarmKey()) a key that no segment row names and
** no file held in _stream_warm_deleted is at.  A topic deleted and created
** again under its name moves offsets 0.. again, to the key of a file of
** the deleted topic that a reader's snapshot may still name (held for
** warm.file.delete.delay.ms, or named by a row of the old incarnation not
** yet swept): writing over it would give that reader the new topic's
** messages.  Such a key gets ".i<incarnation>" before ".parquet" (and
** "-<n>" after that while it is taken too).  Other keys stay as they
** are. */
static int streamWarmKeyFree(StreamCtx *p, char **pzKey, i64 iInc,
                             char **pzErr){
  char *zBase = 0;
  int rc = SQLITE_OK, n = 0, bHeld = sqlite3StreamWarmDeferTable(p);
  while( 1 ){
    i64 bTaken = 0;
    rc = sqlite3StreamAuxInt(p, STREAM_AUX_SEG_AT, &bTaken, pzErr, "t",
                             *pzKey);
    if( rc==SQLITE_OK && !bTaken && bHeld ){
      rc = sqlite3StreamAuxInt(p, STREAM_AUX_WARM_DEFER_AT, &bTaken, pzErr,
                               "t", *pzKey);
    }
    if( rc || !bTaken ) break;
    if( zBase==0 ){
      zBase = *pzKey;                  /* ends in ".parquet" (8 bytes) */
      *pzKey = 0;
    }
    sqlite3_free(*pzKey);
    n++;
    *pzKey = n==1
        ? sqlite3_mprintf("%.*s.i%lld.parquet", (int)strlen(zBase)-8, zBase,
                          iInc)
        : sqlite3_mprintf("%.*s.i%lld-%d.parquet", (int)strlen(zBase)-8,
                          zBase, iInc, n);
    if( *pzKey==0 ){ rc = SQLITE_NOMEM; break; }
  }
  sqlite3_free(zBase);
  return rc;
}

/* A key, value or headers column of the hot-row select as bytes.  TEXT of
** a UTF-8 database is read as the record's bytes (sqlite3_value_blob()),
** which spares the terminated copy sqlite3_value_text() makes; other
** encodings go through sqlite3_value_text().  Returns SQLITE_NOMEM if
** SQLite could not materialise the value. */
static int streamWarmColumn(sqlite3_stmt *pSel, int iCol, int bUtf8,
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

/* A segment file written and not yet recorded: its upload (started, if
** the move is chained), and what its segment row will say. */
/* Where a topic's moves go: its store and its rows' store column. */
typedef struct StreamWarmAt StreamWarmAt;
struct StreamWarmAt {
  StreamStore *pStore;         /* The store (a reference) */
  char *zStore;                /* The topic's own warm.store, or NULL */
};

struct StreamWarmMove {
  StreamStore *pStore;         /* Its store (a reference) */
  char *zStore;                /* Its row's store column (owned), or NULL */
  StreamStoreUpload *pUp;      /* The upload (given to xPutCommit once) */
  StreamSegment seg;           /* Its row (zLocation = zKey, zTopic) */
  char *zKey;                  /* Object key (owned) */
  char *zTopic;                /* Topic (owned) */
  i64 iHwm;                    /* High watermark when it was read */
  i64 iTsMin, iTsMax;          /* Timestamp range of its messages */
  int eCodec;                  /* Codec of the file */
};

static void streamWarmMoveFree(StreamWarmMove *pMv){
  if( pMv==0 ) return;
  if( pMv->pUp ) pMv->pStore->pMethods->xPutAbort(pMv->pUp);
  sqlite3StreamWarmStoreFree(pMv->pStore);
  sqlite3_free(pMv->zStore);
  sqlite3_free(pMv->zKey);
  sqlite3_free(pMv->zTopic);
  sqlite3_free(pMv);
}

/* Finish a move (pMv, freed here): the upload made durable and checked
** (xPutCommit: steps 1-4 of ext/warm.c; if xPutStart started it, this
** waits for the answer), the footer read back (step 5), then in a
** savepoint of its own the segment row and the delete of the hot rows
** (step 6).  A file that is not recorded is deleted at once rather than
** left to the sweep. */
static int streamWarmRecord(StreamCtx *p, StreamWarmMove *pMv,
                            StreamTierStats *pStats, char **pzErr){
  StreamStore *pStore = pMv->pStore;
  StreamStoreUpload *pUp = pMv->pUp;
  i64 nBytes = 0;
  int rc, bSp = 0, bFile = 0;
  pMv->pUp = 0;
  rc = pStore->pMethods->xPutCommit(pUp, pzErr);          /* steps 1-4 */
  if( rc==SQLITE_OK ){
    bFile = 1;
    rc = sqlite3StreamWarmVerify(pStore, &pMv->seg, pMv->seg.iFirst,
                                 pMv->seg.iLast, &nBytes, pzErr);
  }
  if( rc==SQLITE_OK ){
    STREAM_TIER_CRASH(5);
    rc = sqlite3StreamWarmBegin(p, &bSp, pzErr);
  }
  if( rc==SQLITE_OK ){
    /* The index row and the delete.  Rows of an earlier topic of the same
    ** name (dead: another incarnation) go first: the sweep would remove
    ** them, and their ranges are not this topic's.  The
    ** _stream_segments_overlap trigger refuses a row overlapping another
    ** of the partition. */
    pMv->seg.nBytes = nBytes;
    rc = sqlite3StreamStorageSegmentAdd(p, &pMv->seg, pMv->iHwm,
        pMv->iTsMin, pMv->iTsMax, pMv->eCodec, pzErr);
    if( rc==SQLITE_OK ){ STREAM_TIER_CRASH(6); }
    rc = sqlite3StreamWarmEnd(p, bSp, rc, pzErr);
  }
  if( rc==SQLITE_OK ){
    pStats->nSegment++;
    pStats->nMessage += pMv->seg.nMessages;
    pStats->nBytes += nBytes;
  }else if( bFile ){
    /* Not recorded: remove it now rather than leave an orphan. */
    pStore->pMethods->xDelete(pStore, pMv->zKey, 0);
  }
  streamWarmMoveFree(pMv);
  return rc;
}

/* Move hot offsets [pP->iFrom, pP->iCut), at most nMax messages, into one
** segment file; *piLast gets the last offset moved, -1 if none.  bChain:
** a chained move (see the top of this file): the transaction is the
** chain's, the move before it (pT->pPend) is recorded once this file is
** encoded, and this one's upload is started and left in pT->pPend.
**
** The hot rows are read once, in offset order, by one statement.  The
** file's name holds its last offset, so that offset is found first
** (streamWarmLastOffset: one seek unless the range is longer than nMax).
** A file never spans UTC days: if the message at the last offset is of
** another day than the first one, the first offset of another day is
** looked up and the file ends before it; while reading, a message of
** another day (timestamps need not grow with offsets) ends the attempt:
** the upload is dropped and the move starts again with the file ending
** before that message (at most once: every message before it has been
** seen to be of the first one's day). */
static int streamWarmMoveOne(StreamCtx *p, StreamWarmTier *pT,
                             const StreamWarmAt *pAt, const char *zTopic, int iPart, i64 iInc,
                             const StreamTopicConfig *pCfg,
                             const StreamWarmPart *pP, i64 nMax, int bChain,
                             StreamTierStats *pStats, i64 *piLast,
                             char **pzErr){
  sqlite3_stmt *pSel = 0;
  StreamPqWriter *pW = 0;
  StreamWarmSink sink;
  StreamSegment seg;
  StreamWarmMove *pMv = 0;
  char *zKey = 0;
  StreamStore *pStore = pAt->pStore;
  i64 iLast = -1, nRow = 0, iTsMin = 0, iTsMax = 0;
  i64 iCut = pP->iCut;
  i64 iDayLo, iDayHi, iFirstTs;
  int nTopic = (int)strlen(zTopic);
  int eCodec, rc, bSp = 0, bUtf8 = 0;

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
    iDay = (iFirstTs<0 ? 0 : iFirstTs) / STREAM_WARM_DAY_MS;
    iDayLo = iDay==0 ? SMALLEST_INT64 : iDay*STREAM_WARM_DAY_MS;
    iDayHi = iDay==STREAM_MAX_TIMESTAMP/STREAM_WARM_DAY_MS
           ? 0x7fffffffffffffffLL : (iDay+1)*STREAM_WARM_DAY_MS - 1;
  }

  *piLast = -1;
  rc = SQLITE_OK;
  if( bChain && pT->bChain
   && sqlite3StreamNow(p) - pT->msChain >= streamWarmChainMs() ){
    /* Long enough: let other writers in before going on. */
    rc = sqlite3StreamWarmMoveEnd(&pT->base, pStats, pzErr);
  }
  if( rc ) return rc;
  if( !bChain ){
    rc = sqlite3StreamWarmBegin(p, &bSp, pzErr);
  }else if( !pT->bChain ){
    rc = sqlite3StreamWarmBegin(p, &pT->bChainSp, pzErr);
    pT->bChain = rc==SQLITE_OK;
    pT->msChain = sqlite3StreamNow(p);
  }
  if( rc ) return rc;
  rc = sqlite3StreamWarmNamespace(p, pStore, 1, pzErr);
  if( rc ) goto out;

  /* TEXT is read without a copy when the database is UTF-8 (see
  ** streamWarmColumn()). */
  {
    sqlite3_stmt *pS = 0;
    rc = sqlite3StreamWarmPrepare(p, &pS, pzErr, "PRAGMA main.encoding");
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
    rc = streamWarmLastOffset(p, zTopic, iPart, pP->iFrom, iCut, nMax,
                              &iLast, pzErr);
    if( rc ) goto out;
    if( iLast<pP->iFrom ) goto out;        /* nothing to move */
    rc = sqlite3StreamStorageInt(p, STREAM_SQL_MSG_TIMESTAMP, zTopic, iPart,
        iLast, 0, 0, &iTsLast, pzErr);
    if( rc ) goto out;
    if( iTsLast<iDayLo || iTsLast>iDayHi ){
      sqlite3_stmt *pS = sqlite3StreamStorageStmt(p, STREAM_SQL_MSG_OTHER_DAY,
                                                  zTopic, iPart, pzErr);
      if( pS==0 ){ rc = sqlite3StreamStmtErr(p); goto out; }
      sqlite3_bind_int64(pS, 3, pP->iFrom);
      sqlite3_bind_int64(pS, 4, iLast);
      sqlite3_bind_int64(pS, 5, iDayLo);
      sqlite3_bind_int64(pS, 6, iDayHi);
      if( sqlite3_step(pS)==SQLITE_ROW ){
        iCut = sqlite3_column_int64(pS, 0);
      }
      rc = sqlite3StreamStorageReset(p, pS, pzErr);
      if( rc ) goto out;
      rc = streamWarmLastOffset(p, zTopic, iPart, pP->iFrom, iCut, nMax,
                                &iLast, pzErr);
      if( rc ) goto out;
      if( iLast<pP->iFrom ) goto out;
    }

    zKey = streamWarmKey(pStore->zNs, zTopic, iPart, iFirstTs, pP->iFrom,
                         iLast);
    if( zKey==0 ){ rc = SQLITE_NOMEM; goto out; }
    rc = streamWarmKeyFree(p, &zKey, iInc, pzErr);
    if( rc ) goto out;
    rc = pStore->pMethods->xPutBegin(pStore, zKey, &sink.pUp, pzErr);
    if( rc ) goto out;
    rc = sqlite3StreamPqWriterOpen(&pW, eCodec, 0,
                                   sqlite3StreamWarmSinkWrite, &sink);
    if( rc ) goto out;

    if( pSel==0 ){
      pSel = sqlite3StreamStorageStmt(p, STREAM_SQL_MSG_RANGE, zTopic, iPart,
                                      pzErr);
      if( pSel==0 ){ rc = sqlite3StreamStmtErr(p); goto out; }
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
      rc = streamWarmColumn(pSel, 1, bUtf8, &r.pKey, &r.nKey, &eT);
      if( rc ) break;
      r.eKeyType = eT==SQLITE_NULL ? STREAM_PQ_NULL
                 : eT==SQLITE_BLOB ? STREAM_PQ_BLOB : STREAM_PQ_TEXT;
      rc = streamWarmColumn(pSel, 2, bUtf8 || eCodecV!=STREAM_CODEC_NONE,
                            &pVal, &nVal, &eT);
      if( rc ) break;
      if( eCodecV!=STREAM_CODEC_NONE && eT!=SQLITE_NULL ){
        int eDec = 0;
        rc = sqlite3StreamRecordDecode(attrs, pVal, nVal, &pDec, &nDec,
                                       &eDec);
        if( rc ){
          rc = sqlite3StreamErr(pzErr, rc, "corrupt compressed value at"
              " %s/%d offset %lld", zTopic, iPart, r.iOffset);
          break;
        }
        r.pValue = pDec ? pDec : (void*)"";
        r.nValue = (int)nDec;
        r.eValueType = eDec==SQLITE_BLOB ? STREAM_PQ_BLOB : STREAM_PQ_TEXT;
      }else{
        r.pValue = pVal;
        r.nValue = nVal;
        r.eValueType = eT==SQLITE_NULL ? STREAM_PQ_NULL
                     : eT==SQLITE_BLOB ? STREAM_PQ_BLOB : STREAM_PQ_TEXT;
      }
      rc = streamWarmColumn(pSel, 3, bUtf8, (const void**)&r.zHeaders,
                            &r.nHeaders, &eT);
      if( rc==SQLITE_OK ){
        if( nRow==0 || r.iTimestampMs<iTsMin ) iTsMin = r.iTimestampMs;
        if( nRow==0 || r.iTimestampMs>iTsMax ) iTsMax = r.iTimestampMs;
        rc = sqlite3StreamPqWriterAdd(pW, &r);
      }
      sqlite3_free(pDec);
      if( rc ) break;
      nRow++;
      if( bChain && (nRow % STREAM_WARM_PUMP_ROWS)==0 ){
        /* The upload in flight (the file before this one) progresses
        ** while this one is encoded, not only when it is waited for. */
        sqlite3StreamStorePrefetch(pStore, 0, -1, 0);
      }
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
    sqlite3StreamWarmWriteMeta(pW, &seg);
    rc = sqlite3StreamPqWriterFinish(pW);
  }
  sqlite3StreamWarmWriteErr(&sink, pW, zKey, rc, pzErr);
  if( rc ) goto out;
  if( nRow==0 || nRow>nMax ){
    rc = sqlite3StreamErr(pzErr, SQLITE_INTERNAL,
        "warm segment %s: %lld rows read, at most %lld expected", zKey, nRow,
        nMax);
    goto out;
  }
  pMv = sqlite3_malloc64(sizeof(*pMv));
  if( pMv==0 ){ rc = SQLITE_NOMEM; goto out; }
  memset(pMv, 0, sizeof(*pMv));
  pMv->pStore = sqlite3StreamStoreRef(pStore);
  if( pAt->zStore ){
    pMv->zStore = sqlite3_mprintf("%s", pAt->zStore);
    if( pMv->zStore==0 ){ rc = SQLITE_NOMEM; goto out; }
  }
  pMv->pUp = sink.pUp;
  sink.pUp = 0;
  pMv->zKey = zKey;
  zKey = 0;
  pMv->zTopic = sqlite3_mprintf("%s", zTopic);
  if( pMv->zTopic==0 ){ rc = SQLITE_NOMEM; goto out; }
  pMv->seg = seg;
  pMv->seg.zLocation = pMv->zKey;
  pMv->seg.zTopic = pMv->zTopic;
  pMv->seg.zStore = pMv->zStore;
  pMv->iHwm = pP->iHwm;
  pMv->iTsMin = iTsMin;
  pMv->iTsMax = iTsMax;
  pMv->eCodec = eCodec;
  *piLast = iLast;
  if( bChain ){
    /* This file's upload starts now that it is encoded, then the move
    ** before it is recorded (its upload waited for and checked) while
    ** this one is in flight; this one is left under way.  If that record
    ** fails, this upload is aborted (freed below): nothing of it is
    ** recorded, whatever reached the store is an orphan for the sweep.
    ** The earlier file's error comes first. */
    StreamWarmMove *pPrev = pT->pPend;
    char *zStartErr = 0;
    int rcStart;
    pT->pPend = 0;
    rcStart = pStore->pMethods->xPutStart(pMv->pUp, &zStartErr);
    if( pPrev ) rc = streamWarmRecord(p, pPrev, pStats, pzErr);
    if( rc==SQLITE_OK && rcStart ){
      rc = rcStart;
      if( pzErr ){ sqlite3_free(*pzErr); *pzErr = zStartErr; zStartErr = 0; }
    }
    sqlite3_free(zStartErr);
    if( rc==SQLITE_OK ){
      pT->pPend = pMv;
      pMv = 0;
    }
  }else{
    StreamWarmMove *pNow = pMv;
    pMv = 0;
    rc = streamWarmRecord(p, pNow, pStats, pzErr);
  }

 out:
  if( !bChain ) rc = sqlite3StreamWarmEnd(p, bSp, rc, pzErr);
  if( rc ) *piLast = -1;
  streamWarmMoveFree(pMv);
  if( sink.pUp ) pStore->pMethods->xPutAbort(sink.pUp);
  if( pSel ) sqlite3_reset(pSel);
  sqlite3StreamPqWriterFree(pW);
  sqlite3_free(sink.zErr);
  sqlite3_free(zKey);
  return rc;
}

/* xMoveIn: move every eligible message of one partition (bHook: at most
** one bounded file, and only when enough is eligible; never an error).
** Moves to a store that can start an upload and finish it later
** (xPutStart) are chained, except in the produce hook. */
int sqlite3StreamWarmMoveIn(StreamTier *pTier, const char *zTopic, int iPart,
                            i64 iInc, const StreamTopicConfig *pCfg,
                            int bHook, StreamTierStats *pStats,
                            char **pzErr){
  StreamCtx *p = pTier->pCtx;
  StreamWarmTier *pT = (StreamWarmTier*)pTier;
  StreamWarmPart part;
  StreamWarmAt at;
  i64 iAfter = -1, iLast = -1;
  int bChain, rc;
  /* The topic's own store, else the database's (never the legacy one). */
  memset(&at, 0, sizeof(at));
  rc = sqlite3StreamWarmTopicStore(p, zTopic, &at.zStore, bHook ? 0 : pzErr);
  if( rc==SQLITE_OK && at.zStore ){
    rc = sqlite3StreamWarmStoreAt(p, at.zStore, &at.pStore,
                                  bHook ? 0 : pzErr);
  }else if( rc==SQLITE_OK && pT->pStore && !pT->pStore->bLegacy ){
    at.pStore = sqlite3StreamStoreRef(pT->pStore);
  }
  if( rc || at.pStore==0 || (bHook && !at.pStore->bLocal) ){
    sqlite3_free(at.zStore);
    sqlite3StreamWarmStoreFree(at.pStore);
    return rc;
  }
  bChain = !bHook && at.pStore->pMethods->xPutStart!=0;
  if( bHook ){
    rc = streamWarmEligible(p, zTopic, iPart, iInc, -1, pCfg, &part, pzErr);
    if( rc==SQLITE_OK && part.iFrom>=0 && part.iCut>part.iFrom
     && (part.iCut-part.iFrom>=STREAM_WARM_HOOK_MIN_ROWS
      || (pCfg->hotRetentionMs>=0
       && part.iFirstTs/2 < sqlite3StreamNow(p)/2 - pCfg->hotRetentionMs)) ){
      rc = streamWarmMoveOne(p, pT, &at, zTopic, iPart, iInc, pCfg, &part,
                             STREAM_WARM_HOOK_MAX_ROWS, 0, pStats, &iLast,
                             pzErr);
    }
  }else{
    if( pT->pPend && pT->pPend->seg.iPartition==iPart
     && strcmp(pT->pPend->zTopic, zTopic)==0 ){
      iAfter = pT->pPend->seg.iLast+1;         /* (Not recorded yet) */
    }
    while( rc==SQLITE_OK ){
      rc = streamWarmEligible(p, zTopic, iPart, iInc, iAfter, pCfg, &part,
                              pzErr);
      if( rc || part.iFrom<0 || part.iCut<=part.iFrom ) break;
      rc = streamWarmMoveOne(p, pT, &at, zTopic, iPart, iInc, pCfg, &part,
                             STREAM_WARM_MAX_FILE_ROWS, bChain, pStats,
                             &iLast, pzErr);
      if( iLast<0 ) break;
      iAfter = iLast+1;
    }
  }
  sqlite3_free(at.zStore);
  sqlite3StreamWarmStoreFree(at.pStore);
  return rc;
}

/* xMoveEnd: record the chained move still under way, and end the chain's
** transaction (the records made are committed even if this last one
** failed: each was complete in its own savepoint). */
int sqlite3StreamWarmMoveEnd(StreamTier *pTier, StreamTierStats *pStats,
                             char **pzErr){
  StreamWarmTier *pT = (StreamWarmTier*)pTier;
  StreamWarmMove *pMv = pT->pPend;
  int rc = SQLITE_OK;
  pT->pPend = 0;
  if( pMv ) rc = streamWarmRecord(pTier->pCtx, pMv, pStats, pzErr);
  if( pT->bChain ){
    char *zErr = 0;
    int rc2;
    pT->bChain = 0;
    rc2 = sqlite3StreamWarmEnd(pTier->pCtx, pT->bChainSp, SQLITE_OK,
                               rc ? &zErr : pzErr);
    sqlite3_free(zErr);
    if( rc==SQLITE_OK ) rc = rc2;
  }
  return rc;
}

/* A chained move left by an error path: its upload aborted, its
** transaction rolled back (xClose). */
void sqlite3StreamWarmMoveDrop(StreamWarmTier *pT){
  streamWarmMoveFree(pT->pPend);
  pT->pPend = 0;
  if( pT->bChain ){
    pT->bChain = 0;
    sqlite3StreamWarmEnd(pT->base.pCtx, pT->bChainSp, SQLITE_ABORT, 0);
  }
}
